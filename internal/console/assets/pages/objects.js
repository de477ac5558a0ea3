// pages/objects.js: what the profile, account and gateway pages share: a list of a kind and
// an editor of one object as YAML (create, or edit with PUT).
import { load, dump } from '../vendor/js-yaml.mjs';
import { canI, get, keyOf, post, put } from '../api.js';
import { age, errorBox, field, fill, h } from '../dom.js';

// listPage shows the objects of plural in a table: columns are [title, obj → text].
export async function listPage(view, { plural, title, route, columns, createLabel }) {
  const body = h('tbody');
  const createBtn = h('a', { class: 'button', id: `create-${plural}`, href: `#/${route}/new` }, createLabel);
  fill(view, h('div', { class: 'page-head' }, h('h1', {}, title), createBtn),
    h('div', { class: 'table-wrap' }, h('table', { id: `list-${plural}` },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Name'), columns.map(([t]) => h('th', { scope: 'col' }, t)), h('th', { scope: 'col' }, 'Age'))),
      body)));
  canI('create', plural).then((r) => { if (!r.allowed) { createBtn.removeAttribute('href'); createBtn.classList.add('disabled'); createBtn.setAttribute('aria-disabled', 'true'); createBtn.title = r.reason || 'not allowed'; } });
  try {
    const items = (await get(`/${plural}`)).items || [];
    fill(body, items.map((o) => h('tr', { 'data-name': keyOf(o) },
      h('th', { scope: 'row' }, h('a', { href: `#/${route}/${encodeURIComponent(keyOf(o))}` }, keyOf(o))),
      columns.map(([, f]) => h('td', {}, f(o))), h('td', {}, age(o.metadata.creationTimestamp)))));
    if (!items.length) body.append(h('tr', {}, h('td', { colspan: columns.length + 2, class: 'muted' }, 'None yet.')));
  } catch (e) {
    view.append(errorBox(e));
  }
}

// strip removes what the server owns, for an editor.
export function strip(o) {
  const c = JSON.parse(JSON.stringify(o));
  delete c.status;
  for (const k of ['uid', 'generation', 'creationTimestamp', 'deletionTimestamp', 'finalizers', 'resourceVersion']) delete c.metadata[k];
  return c;
}

// yamlEditor edits obj (null: a new one from template) as YAML; save PUTs it (POST when new)
// and calls done with the answer. prepare(parsed) may change the object before it is sent.
export function yamlEditor({ plural, obj, template, done, prepare, id = 'object-yaml' }) {
  const ta = h('textarea', { id, rows: 24, spellcheck: 'false', class: 'code' }, dump(obj ? strip(obj) : template));
  const out = h('div', { role: 'status' });
  const save = h('button', { type: 'button', id: `${id}-save` }, obj ? 'Save' : 'Create');
  const check = h('button', { type: 'button', class: 'secondary', id: `${id}-check` }, 'Validate');
  const send = async (dry) => {
    fill(out);
    let o;
    try { o = load(ta.value); } catch (e) { fill(out, h('p', { class: 'error-text', role: 'alert' }, `YAML: ${e.message}`)); return; }
    if (prepare) o = prepare(o);
    try {
      const q = dry ? '?dryRun=true' : '';
      const r = obj ? await put(`/${plural}/${encodeURIComponent(keyOf(obj))}${q}`, o) : await post(`/${plural}${q}`, o);
      if (dry) fill(out, h('p', { class: 'ok' }, 'Valid.')); else done(r);
    } catch (e) { fill(out, errorBox(e)); }
  };
  save.addEventListener('click', () => send(false));
  check.addEventListener('click', () => send(true));
  return h('div', {}, field('YAML', ta), check, ' ', save, out);
}
