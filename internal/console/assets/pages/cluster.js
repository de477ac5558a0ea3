// pages/cluster.js: one cluster, live from ?watch=true&name=NAME: phase, conditions, events,
// progress, layers, agent and Kubernetes, pools (day-2 counts), Azure resources, profiles and
// overrides, kubeconfig download, delete.
import { load, dump } from '../vendor/js-yaml.mjs';
import { canI, del, get, put, watch } from '../api.js';
import { age, download, errorBox, field, fill, h } from '../dom.js';
import { phaseOf, typeOf } from './fleet.js';

const portal = (id) => `https://portal.azure.com/#@/resource${id}`;

// table is a table with header cells `heads` and body rows `rows`.
const table = (heads, rows) => h('table', {}, h('thead', {}, h('tr', {}, heads.map((x) => h('th', { scope: 'col' }, x)))), h('tbody', {}, rows));

// newPage makes the page's state: the cluster, its path and the element of each section.
function newPage(name, session) {
  return {
    name, session,
    cluster: null,
    path: `/clusters/${encodeURIComponent(name)}`,
    phase: h('span', { id: 'cluster-phase', class: 'phase' }, '…'),
    summary: h('dl', { class: 'summary' }),
    conditions: h('div'), progress: h('div'), layers: h('div'), agent: h('div'), pools: h('div'),
    resources: h('div'), events: h('div'), profiles: h('div'),
    notice: h('div', { id: 'cluster-notice', role: 'status' }),
    kubeBtn: h('button', { id: 'download-kubeconfig', type: 'button' }, 'Download kubeconfig'),
    kubeReason: h('span', { id: 'download-kubeconfig-reason', class: 'muted' }),
    delBtn: h('button', { id: 'delete-cluster', type: 'button', class: 'danger' }, 'Delete cluster'),
    delArea: h('div'),
    // Editing state: kept across live updates so a change of status never loses an edit.
    poolsDrawn: '', profilesDrawn: '',
    poolsMsg: h('div'), profilesMsg: h('div'),
  };
}

// layout puts the page's header, buttons and section cards into view.
function layout(view, p) {
  const card = (title, el) => h('section', { class: 'card' }, h('h2', {}, title), el);
  fill(view,
    h('p', {}, h('a', { href: '#/clusters' }, '← Clusters')),
    h('div', { class: 'page-head' }, h('h1', {}, p.name, ' ', p.phase), h('div', { class: 'actions' }, p.kubeBtn, ' ', p.delBtn)),
    p.kubeReason, p.notice, p.delArea, p.summary,
    h('div', { class: 'grid' },
      card('Conditions', p.conditions), card('Progress', p.progress), card('Agent and Kubernetes', p.agent), card('Layers', p.layers)),
    card('Node pools', p.pools), card('Profiles and overrides', p.profiles), card('Azure resources', p.resources), card('Events', p.events));
}

// checkPermissions disables kubeconfig and delete for a user who may not use them.
function checkPermissions(p) {
  canI('kubeconfig', 'clusters', p.name).then((r) => {
    if (!r.allowed) { p.kubeBtn.disabled = true; p.kubeReason.textContent = `Kubeconfig: ${r.reason || 'not allowed'}`; }
  });
  canI('delete', 'clusters', p.name).then((r) => {
    if (!r.allowed) { p.delBtn.disabled = true; p.delBtn.title = r.reason || 'not allowed'; }
  });
}

// downloadKubeconfig saves the cluster's kubeconfig as NAME.kubeconfig.
async function downloadKubeconfig(p) {
  fill(p.notice);
  try {
    const text = await get(`${p.path}/kubeconfig`, { accept: 'application/yaml' });
    download(`${p.name}.kubeconfig`, typeof text === 'string' ? text : JSON.stringify(text));
    fill(p.notice, h('p', { class: 'ok' }, `Downloaded ${p.name}.kubeconfig`));
  } catch (e) { fill(p.notice, errorBox(e)); }
}

// deleteDialog asks for the cluster's name, then deletes it and goes back to the fleet.
function deleteDialog(p) {
  const { name, delArea } = p;
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
    try { await del(p.path); p.session.go('#/clusters'); } catch (e) { fill(err, errorBox(e)); submit.disabled = false; }
  });
  fill(delArea, form);
  input.focus();
}

// draw shows the cluster's status; the pools and profiles editors only when their spec changed.
function draw(p) {
  const c = p.cluster;
  const s = c.status || {};
  drawHeader(p, c, s);
  drawConditions(p, s);
  drawProgress(p, s);
  drawAgent(p, s);
  drawLayers(p, s);
  drawResources(p, s);
  const poolsKey = JSON.stringify(c.spec.machinePools);
  if (poolsKey !== p.poolsDrawn) { p.poolsDrawn = poolsKey; drawPools(p); }
  const profKey = JSON.stringify(c.spec.profiles);
  if (profKey !== p.profilesDrawn) { p.profilesDrawn = profKey; drawProfiles(p); }
}

// drawHeader shows the phase and the summary of the spec and endpoint.
function drawHeader(p, c, s) {
  const { phase } = p;
  phase.textContent = c.metadata.deletionTimestamp ? 'Deleting' : phaseOf(c);
  phase.className = `phase phase-${phase.textContent.toLowerCase()}`;
  const az = c.spec.azure || {};
  fill(p.summary,
    ...[['Type', typeOf(c)], ['Account', c.spec.cloudAccount], ['Subscription', az.subscriptionID], ['Resource group', az.resourceGroup],
      ['Location', az.location], ['Placement', az.placement ? `static: ${az.placement.resourceGroup}/${az.placement.virtualNetwork}` : 'dynamic'],
      ['Tags', (c.spec.tags || []).join(', ')], ['Age', age(c.metadata.creationTimestamp)],
      ['API server', s.controlPlaneEndpoint || '']].map(([k, v]) => [h('dt', {}, k), h('dd', {}, v || '—')]));
}

// drawConditions is the table of the status conditions.
function drawConditions(p, s) {
  fill(p.conditions, (s.conditions || []).length ? table(['Type', 'Status', 'Reason', 'Message', 'Since'],
    s.conditions.map((x) => h('tr', { 'data-condition': x.type }, h('td', {}, x.type), h('td', {}, x.status), h('td', {}, x.reason || ''), h('td', {}, x.message || ''), h('td', {}, age(x.lastTransitionTime)))))
    : h('p', { class: 'muted' }, 'None yet.'));
}

// drawProgress is the provisioning progress bar and the inventory's readiness.
function drawProgress(p, s) {
  const pr = s.progress;
  const inv = s.inventory || [];
  fill(p.progress, pr ? [h('progress', { max: pr.total || 1, value: pr.done, 'aria-label': 'Provisioning progress' }), h('p', { id: 'cluster-progress' }, `${pr.done}/${pr.total} ${pr.step || ''}`)] : h('p', { class: 'muted' }, 'Not started.'),
    inv.length ? h('ul', { class: 'plain' }, inv.map((r) => h('li', {}, `${r.ready ? '✓' : '…'} ${r.kind} ${r.key}`))) : null);
}

// drawAgent shows the Kubernetes version and nodes, and the agent's connection.
function drawAgent(p, s) {
  const k = s.kubernetes; const a = s.agent;
  fill(p.agent, h('dl', { class: 'summary' },
    h('dt', {}, 'Kubernetes'), h('dd', { id: 'cluster-kubernetes' }, k ? `${k.version || ''} — nodes ready ${k.nodesReady}/${k.nodesTotal}` : '—'),
    h('dt', {}, 'Agent'), h('dd', {}, a ? `${a.connected ? 'connected' : 'not connected'}${a.version ? ', ' + a.version : ''}${a.lastHeartbeat ? ', heartbeat ' + age(a.lastHeartbeat) + ' ago' : ''}` : '—')));
}

// drawLayers is the table of the applied layers.
function drawLayers(p, s) {
  fill(p.layers, (s.layers || []).length ? table(['Profile', 'Layer', 'Version', 'Phase', 'Objects', 'Message'],
    s.layers.map((l) => h('tr', {}, h('td', {}, l.profile || ''), h('td', {}, l.name), h('td', {}, l.version || ''), h('td', {}, l.phase), h('td', {}, `${l.available}/${l.objects}`), h('td', {}, l.message || ''))))
    : h('p', { class: 'muted' }, 'No layer applied yet.'));
}

// drawResources links each Azure resource of the inventory to the portal.
function drawResources(p, s) {
  const inv = s.inventory || [];
  fill(p.resources, inv.length ? h('ul', { class: 'plain' }, inv.map((r) => h('li', {}, h('a', { href: portal(r.id), target: '_blank', rel: 'noopener noreferrer' }, `${r.kind} ${r.id.split('/').pop()}`), r.managed ? '' : ' (adopted)')))
    : h('p', { class: 'muted' }, 'None yet.'));
}

// drawPools is the pools table with a count input per pool and Save pool counts.
function drawPools(p) {
  const pools = p.cluster.spec.machinePools;
  const inputs = pools.map((x) => h('input', { id: `pool-${x.name}-count`, type: 'number', min: 0, max: 1000, value: x.count, 'data-pool': x.name }));
  const save = h('button', { id: 'save-pools', type: 'button' }, 'Save pool counts');
  save.addEventListener('click', () => savePools(p, inputs, save));
  fill(p.pools, table(['Pool', 'Role', 'Instance type', 'Zones', 'Count', 'Min–max'],
    pools.map((x, i) => h('tr', { 'data-pool': x.name },
      h('td', {}, x.name), h('td', {}, x.controlPlane ? 'control plane' : x.system ? 'system' : 'worker'),
      h('td', {}, x.instanceType || ''), h('td', {}, (x.zones || []).join(', ')),
      h('td', {}, h('label', { for: inputs[i].id, class: 'sr-only' }, `Count of ${x.name}`), inputs[i]),
      h('td', {}, `${x.min ?? x.count}–${x.max ?? x.count}`)))), save, p.poolsMsg);
}

// savePools writes the counts into the current cluster (min/max widened to fit) and saves it.
async function savePools(p, inputs, save) {
  const err = p.poolsMsg;
  fill(err);
  save.disabled = true;
  try {
    const cur = await get(p.path);
    for (const inp of inputs) {
      const pool = cur.spec.machinePools.find((x) => x.name === inp.dataset.pool);
      if (!pool) continue;
      const n = Number(inp.value);
      pool.count = n;
      if (pool.min !== undefined && pool.min > n) pool.min = n;
      if (pool.max !== undefined && pool.max < n) pool.max = n;
    }
    delete cur.status;
    p.cluster = await put(p.path, cur);
    fill(err, h('p', { class: 'ok', role: 'status', id: 'save-pools-done' }, 'Saved.'));
    p.poolsDrawn = JSON.stringify(p.cluster.spec.machinePools);
    draw(p);
  } catch (e) { fill(err, errorBox(e)); } finally { save.disabled = false; }
}

// drawProfiles is the profiles editor: a version select and an overrides box per profile.
async function drawProfiles(p) {
  let all = [];
  try { all = (await get('/clusterprofiles')).items || []; } catch { /* versions stay as they are */ }
  const rows = p.cluster.spec.profiles.map((r, i) => {
    const versions = [...new Set(all.filter((x) => x.metadata.name === r.name).map((x) => x.spec.version).concat([r.version]))].sort();
    const sel = h('select', { id: `profile-${i}-version` }, versions.map((v) => h('option', { value: v, selected: v === r.version }, v)));
    const ta = h('textarea', { id: `profile-${i}-overrides`, rows: 6, spellcheck: 'false', class: 'code' }, r.values ? dump(r.values) : '');
    return { p: r, sel, ta };
  });
  const save = h('button', { id: 'save-profiles', type: 'button' }, 'Save profiles');
  save.addEventListener('click', () => saveProfiles(p, rows));
  fill(p.profiles, rows.map((r, i) => h('fieldset', {}, h('legend', {}, r.p.name),
    field('Version', r.sel, `spec.profiles[${i}].version`),
    field('Overrides (layer name: YAML text)', r.ta, `spec.profiles[${i}].values`))), save, p.profilesMsg);
}

// saveProfiles writes the versions and parsed overrides into the current cluster and saves it.
async function saveProfiles(p, rows) {
  const err = p.profilesMsg;
  fill(err);
  try {
    const cur = await get(p.path);
    rows.forEach((r, i) => {
      cur.spec.profiles[i].version = r.sel.value;
      const v = r.ta.value.trim() ? load(r.ta.value) : null;
      if (v !== null && (typeof v !== 'object' || Array.isArray(v))) throw new Error('overrides: a mapping of layer name to YAML text');
      if (v) cur.spec.profiles[i].values = Object.fromEntries(Object.entries(v).map(([k, x]) => [k, typeof x === 'string' ? x : dump(x)]));
      else delete cur.spec.profiles[i].values;
    });
    delete cur.status;
    p.cluster = await put(p.path, cur);
    fill(err, h('p', { class: 'ok', role: 'status' }, 'Saved.'));
  } catch (e) { fill(err, errorBox(e)); }
}

// loadEvents shows the cluster's events, newest first (a server without them: left as is).
async function loadEvents(p) {
  try {
    const ev = await get(`${p.path}/events`);
    const items = (ev && ev.items) || [];
    fill(p.events, items.length ? table(['Type', 'Reason', 'Age', 'Message'],
      items.slice().reverse().map((e) => h('tr', {}, h('td', {}, e.type || ''), h('td', {}, e.reason || ''),
        h('td', {}, age(e.time || e.timestamp || e.lastTimestamp || e.firstTimestamp || (e.metadata && e.metadata.creationTimestamp))), h('td', {}, e.message || ''))))
      : h('p', { class: 'muted' }, 'No events.'));
  } catch (e) { if (e.status !== 404) fill(p.events, errorBox(e)); }
}

// render shows cluster `name` and follows it live; it returns the function that stops watching.
export async function render(view, [name], session) {
  const p = newPage(name, session);
  layout(view, p);
  checkPermissions(p);
  p.kubeBtn.addEventListener('click', () => downloadKubeconfig(p));
  p.delBtn.addEventListener('click', () => deleteDialog(p));
  try {
    p.cluster = await get(p.path);
  } catch (e) {
    fill(view, h('p', {}, h('a', { href: '#/clusters' }, '← Clusters')), errorBox(e));
    return undefined;
  }
  draw(p);
  loadEvents(p);
  let evTimer = null;
  const stop = watch('clusters', (ev) => {
    if (!ev.object || ev.object.metadata.name !== name) return;
    if (ev.type === 'DELETED') { p.phase.textContent = 'Deleted'; fill(p.notice, h('p', {}, 'This cluster was deleted.')); return; }
    p.cluster = ev.object;
    draw(p);
    clearTimeout(evTimer);
    evTimer = setTimeout(loadEvents, 500, p);
  }, { name });
  return () => { clearTimeout(evTimer); stop(); };
}
