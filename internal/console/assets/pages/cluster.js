// pages/cluster.js: one cluster, live from ?watch=true&name=NAME: phase, conditions, events,
// progress, layers, agent and Kubernetes, pools (day-2 counts), Azure resources, profiles and
// overrides, kubeconfig download, delete.
import { load, dump } from '../vendor/js-yaml.mjs';
import { canI, del, get, put, watch } from '../api.js';
import { age, download, errorBox, field, fill, h } from '../dom.js';
import { phaseOf, typeOf } from './fleet.js';

const portal = (id) => `https://portal.azure.com/#@/resource${id}`;

export async function render(view, [name], session) {
  let cluster = null;
  const path = `/clusters/${encodeURIComponent(name)}`;
  const phase = h('span', { id: 'cluster-phase', class: 'phase' }, '…');
  const summary = h('dl', { class: 'summary' });
  const conditions = h('div');
  const progress = h('div');
  const layers = h('div');
  const agent = h('div');
  const pools = h('div');
  const resources = h('div');
  const events = h('div');
  const profiles = h('div');
  const notice = h('div', { id: 'cluster-notice', role: 'status' });
  const kubeBtn = h('button', { id: 'download-kubeconfig', type: 'button' }, 'Download kubeconfig');
  const kubeReason = h('span', { id: 'download-kubeconfig-reason', class: 'muted' });
  const delBtn = h('button', { id: 'delete-cluster', type: 'button', class: 'danger' }, 'Delete cluster');
  const delArea = h('div');

  fill(view,
    h('p', {}, h('a', { href: '#/clusters' }, '← Clusters')),
    h('div', { class: 'page-head' }, h('h1', {}, name, ' ', phase), h('div', { class: 'actions' }, kubeBtn, ' ', delBtn)),
    kubeReason, notice, delArea, summary,
    h('div', { class: 'grid' },
      h('section', { class: 'card' }, h('h2', {}, 'Conditions'), conditions),
      h('section', { class: 'card' }, h('h2', {}, 'Progress'), progress),
      h('section', { class: 'card' }, h('h2', {}, 'Agent and Kubernetes'), agent),
      h('section', { class: 'card' }, h('h2', {}, 'Layers'), layers)),
    h('section', { class: 'card' }, h('h2', {}, 'Node pools'), pools),
    h('section', { class: 'card' }, h('h2', {}, 'Profiles and overrides'), profiles),
    h('section', { class: 'card' }, h('h2', {}, 'Azure resources'), resources),
    h('section', { class: 'card' }, h('h2', {}, 'Events'), events));

  canI('kubeconfig', 'clusters', name).then((r) => {
    if (!r.allowed) { kubeBtn.disabled = true; kubeReason.textContent = `Kubeconfig: ${r.reason || 'not allowed'}`; }
  });
  canI('delete', 'clusters', name).then((r) => {
    if (!r.allowed) { delBtn.disabled = true; delBtn.title = r.reason || 'not allowed'; }
  });

  kubeBtn.addEventListener('click', async () => {
    fill(notice);
    try {
      const text = await get(`${path}/kubeconfig`, { accept: 'application/yaml' });
      download(`${name}.kubeconfig`, typeof text === 'string' ? text : JSON.stringify(text));
      fill(notice, h('p', { class: 'ok' }, `Downloaded ${name}.kubeconfig`));
    } catch (e) { fill(notice, errorBox(e)); }
  });

  delBtn.addEventListener('click', () => {
    const input = h('input', { id: 'delete-confirm', autocomplete: 'off' });
    const submit = h('button', { id: 'delete-confirm-submit', type: 'submit', class: 'danger', disabled: true }, 'Delete');
    const cancel = h('button', { type: 'button', class: 'secondary', onclick: () => fill(delArea) }, 'Cancel');
    const err = h('div');
    input.addEventListener('input', () => { submit.disabled = input.value !== name; });
    const form = h('form', { class: 'card confirm', role: 'dialog', 'aria-label': 'Delete cluster' },
      h('p', {}, 'This deletes the cluster and the Azure resources strata created for it. Type ', h('strong', {}, name), ' to confirm.'),
      field('Cluster name', input), submit, ' ', cancel, err);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      if (input.value !== name) return;
      submit.disabled = true;
      try { await del(path); session.go('#/clusters'); } catch (e) { fill(err, errorBox(e)); submit.disabled = false; }
    });
    fill(delArea, form);
    input.focus();
  });

  // Editing state: kept across live updates so a change of status never loses an edit.
  let poolsDrawn = '';
  let profilesDrawn = '';

  const draw = () => {
    const c = cluster;
    const s = c.status || {};
    phase.textContent = c.metadata.deletionTimestamp ? 'Deleting' : phaseOf(c);
    phase.className = `phase phase-${phase.textContent.toLowerCase()}`;
    const az = c.spec.azure || {};
    fill(summary,
      ...[['Type', typeOf(c)], ['Account', c.spec.cloudAccount], ['Subscription', az.subscriptionID], ['Resource group', az.resourceGroup],
        ['Location', az.location], ['Placement', az.placement ? `static: ${az.placement.resourceGroup}/${az.placement.virtualNetwork}` : 'dynamic'],
        ['Tags', (c.spec.tags || []).join(', ')], ['Age', age(c.metadata.creationTimestamp)],
        ['API server', s.controlPlaneEndpoint || '']].map(([k, v]) => [h('dt', {}, k), h('dd', {}, v || '—')]));
    fill(conditions, (s.conditions || []).length ? h('table', {}, h('thead', {}, h('tr', {}, ['Type', 'Status', 'Reason', 'Message', 'Since'].map((x) => h('th', { scope: 'col' }, x)))),
      h('tbody', {}, s.conditions.map((x) => h('tr', { 'data-condition': x.type }, h('td', {}, x.type), h('td', {}, x.status), h('td', {}, x.reason || ''), h('td', {}, x.message || ''), h('td', {}, age(x.lastTransitionTime))))))
      : h('p', { class: 'muted' }, 'None yet.'));
    const p = s.progress;
    const inv = s.inventory || [];
    fill(progress, p ? [h('progress', { max: p.total || 1, value: p.done, 'aria-label': 'Provisioning progress' }), h('p', { id: 'cluster-progress' }, `${p.done}/${p.total} ${p.step || ''}`)] : h('p', { class: 'muted' }, 'Not started.'),
      inv.length ? h('ul', { class: 'plain' }, inv.map((r) => h('li', {}, `${r.ready ? '✓' : '…'} ${r.kind} ${r.key}`))) : null);
    const k = s.kubernetes; const a = s.agent;
    fill(agent, h('dl', { class: 'summary' },
      h('dt', {}, 'Kubernetes'), h('dd', { id: 'cluster-kubernetes' }, k ? `${k.version || ''} — nodes ready ${k.nodesReady}/${k.nodesTotal}` : '—'),
      h('dt', {}, 'Agent'), h('dd', {}, a ? `${a.connected ? 'connected' : 'not connected'}${a.version ? ', ' + a.version : ''}${a.lastHeartbeat ? ', heartbeat ' + age(a.lastHeartbeat) + ' ago' : ''}` : '—')));
    fill(layers, (s.layers || []).length ? h('table', {}, h('thead', {}, h('tr', {}, ['Profile', 'Layer', 'Version', 'Phase', 'Objects', 'Message'].map((x) => h('th', { scope: 'col' }, x)))),
      h('tbody', {}, s.layers.map((l) => h('tr', {}, h('td', {}, l.profile || ''), h('td', {}, l.name), h('td', {}, l.version || ''), h('td', {}, l.phase), h('td', {}, `${l.available}/${l.objects}`), h('td', {}, l.message || '')))))
      : h('p', { class: 'muted' }, 'No layer applied yet.'));
    fill(resources, inv.length ? h('ul', { class: 'plain' }, inv.map((r) => h('li', {}, h('a', { href: portal(r.id), target: '_blank', rel: 'noopener noreferrer' }, `${r.kind} ${r.id.split('/').pop()}`), r.managed ? '' : ' (adopted)')))
      : h('p', { class: 'muted' }, 'None yet.'));
    const poolsKey = JSON.stringify(c.spec.machinePools);
    if (poolsKey !== poolsDrawn) { poolsDrawn = poolsKey; drawPools(); }
    const profKey = JSON.stringify(c.spec.profiles);
    if (profKey !== profilesDrawn) { profilesDrawn = profKey; drawProfiles(); }
  };

  const poolsMsg = h('div');
  const profilesMsg = h('div');
  const drawPools = () => {
    const err = poolsMsg;
    const inputs = cluster.spec.machinePools.map((p) => h('input', { id: `pool-${p.name}-count`, type: 'number', min: 0, max: 1000, value: p.count, 'data-pool': p.name }));
    const save = h('button', { id: 'save-pools', type: 'button' }, 'Save pool counts');
    save.addEventListener('click', async () => {
      fill(err);
      save.disabled = true;
      try {
        const cur = await get(path);
        for (const inp of inputs) {
          const pool = cur.spec.machinePools.find((x) => x.name === inp.dataset.pool);
          if (!pool) continue;
          const n = Number(inp.value);
          pool.count = n;
          if (pool.min !== undefined && pool.min > n) pool.min = n;
          if (pool.max !== undefined && pool.max < n) pool.max = n;
        }
        delete cur.status;
        cluster = await put(path, cur);
        fill(err, h('p', { class: 'ok', role: 'status', id: 'save-pools-done' }, 'Saved.'));
        poolsDrawn = JSON.stringify(cluster.spec.machinePools);
        draw();
      } catch (e) { fill(err, errorBox(e)); } finally { save.disabled = false; }
    });
    fill(pools, h('table', {}, h('thead', {}, h('tr', {}, ['Pool', 'Role', 'Instance type', 'Zones', 'Count', 'Min–max'].map((x) => h('th', { scope: 'col' }, x)))),
      h('tbody', {}, cluster.spec.machinePools.map((p, i) => h('tr', { 'data-pool': p.name },
        h('td', {}, p.name), h('td', {}, p.controlPlane ? 'control plane' : p.system ? 'system' : 'worker'),
        h('td', {}, p.instanceType || ''), h('td', {}, (p.zones || []).join(', ')),
        h('td', {}, h('label', { for: inputs[i].id, class: 'sr-only' }, `Count of ${p.name}`), inputs[i]),
        h('td', {}, `${p.min ?? p.count}–${p.max ?? p.count}`))))), save, err);
  };

  const drawProfiles = async () => {
    const err = profilesMsg;
    let all = [];
    try { all = (await get('/clusterprofiles')).items || []; } catch { /* versions stay as they are */ }
    const rows = cluster.spec.profiles.map((p, i) => {
      const versions = [...new Set(all.filter((x) => x.metadata.name === p.name).map((x) => x.spec.version).concat([p.version]))].sort();
      const sel = h('select', { id: `profile-${i}-version` }, versions.map((v) => h('option', { value: v, selected: v === p.version }, v)));
      const ta = h('textarea', { id: `profile-${i}-overrides`, rows: 6, spellcheck: 'false', class: 'code' }, p.values ? dump(p.values) : '');
      return { p, sel, ta };
    });
    const save = h('button', { id: 'save-profiles', type: 'button' }, 'Save profiles');
    save.addEventListener('click', async () => {
      fill(err);
      try {
        const cur = await get(path);
        rows.forEach((r, i) => {
          cur.spec.profiles[i].version = r.sel.value;
          const v = r.ta.value.trim() ? load(r.ta.value) : null;
          if (v !== null && (typeof v !== 'object' || Array.isArray(v))) throw new Error('overrides: a mapping of layer name to YAML text');
          if (v) cur.spec.profiles[i].values = Object.fromEntries(Object.entries(v).map(([k, x]) => [k, typeof x === 'string' ? x : dump(x)]));
          else delete cur.spec.profiles[i].values;
        });
        delete cur.status;
        cluster = await put(path, cur);
        fill(err, h('p', { class: 'ok', role: 'status' }, 'Saved.'));
      } catch (e) { fill(err, errorBox(e)); }
    });
    fill(profiles, rows.map((r, i) => h('fieldset', {}, h('legend', {}, r.p.name),
      field('Version', r.sel, `spec.profiles[${i}].version`),
      field('Overrides (layer name: YAML text)', r.ta, `spec.profiles[${i}].values`))), save, err);
  };

  const loadEvents = async () => {
    try {
      const ev = await get(`${path}/events`);
      const items = (ev && ev.items) || [];
      fill(events, items.length ? h('table', {}, h('thead', {}, h('tr', {}, ['Type', 'Reason', 'Age', 'Message'].map((x) => h('th', { scope: 'col' }, x)))),
        h('tbody', {}, items.slice().reverse().map((e) => h('tr', {}, h('td', {}, e.type || ''), h('td', {}, e.reason || ''),
          h('td', {}, age(e.time || e.timestamp || e.lastTimestamp || e.firstTimestamp || (e.metadata && e.metadata.creationTimestamp))), h('td', {}, e.message || '')))))
        : h('p', { class: 'muted' }, 'No events.'));
    } catch (e) { if (e.status !== 404) fill(events, errorBox(e)); }
  };

  try {
    cluster = await get(path);
  } catch (e) {
    fill(view, h('p', {}, h('a', { href: '#/clusters' }, '← Clusters')), errorBox(e));
    return undefined;
  }
  draw();
  loadEvents();
  let evTimer = null;
  const stop = watch('clusters', (ev) => {
    if (!ev.object || ev.object.metadata.name !== name) return;
    if (ev.type === 'DELETED') { phase.textContent = 'Deleted'; fill(notice, h('p', {}, 'This cluster was deleted.')); return; }
    cluster = ev.object;
    draw();
    clearTimeout(evTimer);
    evTimer = setTimeout(loadEvents, 500);
  }, { name });
  return () => { clearTimeout(evTimer); stop(); };
}
