// pages/fleet.js: the clusters the user may see, live from the watch, with filters.
import { canI, watch } from '../api.js';
import { age, field, fill, h } from '../dom.js';

export function typeOf(c) { return ((c.spec && c.spec.azure && c.spec.azure.type) || '') === 'aks' ? 'AKS' : 'IaaS'; }
export function phaseOf(c) { return (c.status && c.status.phase) || 'Pending'; }
export function progressOf(c) {
  const p = c.status && c.status.progress;
  return p ? `${p.done}/${p.total}${p.step ? ' ' + p.step : ''}` : '';
}

export async function render(view) {
  const clusters = new Map();
  const tag = h('input', { id: 'filter-tag', placeholder: 'key:value', autocomplete: 'off' });
  const type = h('select', { id: 'filter-type' }, h('option', { value: '' }, 'Any'), h('option', { value: 'IaaS' }, 'IaaS'), h('option', { value: 'AKS' }, 'AKS'));
  const phase = h('select', { id: 'filter-phase' }, ['', 'Pending', 'Provisioning', 'Running', 'Updating', 'Deleting', 'Failed'].map((p) => h('option', { value: p }, p || 'Any')));
  const body = h('tbody');
  const status = h('p', { class: 'muted', id: 'fleet-status' }, 'Loading…');
  const create = h('a', { id: 'create-cluster', class: 'button', href: '#/create', role: 'button' }, 'Create cluster');
  const reason = h('span', { id: 'create-cluster-reason', class: 'muted' });
  fill(view,
    h('div', { class: 'page-head' }, h('h1', {}, 'Clusters'), h('div', {}, create, ' ', reason)),
    h('div', { class: 'filters' }, field('Tag', tag), field('Type', type), field('Phase', phase)),
    h('div', { class: 'table-wrap' }, h('table', { id: 'fleet' },
      h('caption', { class: 'sr-only' }, 'Clusters'),
      h('thead', {}, h('tr', {}, ['Name', 'Type', 'Phase', 'Progress', 'Location', 'Tags', 'Age'].map((c) => h('th', { scope: 'col' }, c)))),
      body)),
    status);

  canI('create', 'clusters').then((r) => {
    if (!r.allowed) {
      create.setAttribute('aria-disabled', 'true');
      create.classList.add('disabled');
      create.removeAttribute('href');
      create.setAttribute('tabindex', '0');
      reason.textContent = `You may not create clusters: ${r.reason || 'no binding allows it'}`;
    }
  });

  const draw = () => {
    const t = tag.value.trim().toLowerCase();
    const rows = [...clusters.values()]
      .filter((c) => !type.value || typeOf(c) === type.value)
      .filter((c) => !phase.value || phaseOf(c) === phase.value)
      .filter((c) => !t || (c.spec.tags || []).some((x) => x.toLowerCase().includes(t)))
      .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
    fill(body, rows.map((c) => h('tr', { 'data-cluster': c.metadata.name },
      h('th', { scope: 'row' }, h('a', { href: `#/clusters/${encodeURIComponent(c.metadata.name)}` }, c.metadata.name)),
      h('td', { 'data-field': 'type' }, typeOf(c)),
      h('td', { 'data-field': 'phase' }, h('span', { class: `phase phase-${phaseOf(c).toLowerCase()}` }, phaseOf(c))),
      h('td', { 'data-field': 'progress' }, progressOf(c)),
      h('td', { 'data-field': 'location' }, c.spec.azure.location || ''),
      h('td', { 'data-field': 'tags' }, (c.spec.tags || []).map((x) => [h('span', { class: 'tag' }, x), ' '])),
      h('td', { 'data-field': 'age' }, age(c.metadata.creationTimestamp)))));
    status.textContent = rows.length ? `${rows.length} of ${clusters.size} clusters` : (clusters.size ? 'No cluster matches the filters.' : 'No clusters yet.');
  };
  for (const el of [tag, type, phase]) el.addEventListener('input', draw);

  let seen = false;
  const stop = watch('clusters', (ev) => {
    if (ev.type === 'RESET') clusters.clear();
    else if (ev.type === 'DELETED') clusters.delete(ev.object.metadata.name);
    else if (ev.type === 'ADDED' || ev.type === 'MODIFIED') clusters.set(ev.object.metadata.name, ev.object);
    else if (ev.type === 'STREAM_ERROR') { status.textContent = `Reconnecting: ${ev.error.message}`; return; }
    seen = true;
    draw();
  });
  // An empty fleet sends no event: say so once the watch is open.
  const timer = setTimeout(() => { if (!seen) draw(); }, 1500);
  return () => { clearTimeout(timer); stop(); };
}
