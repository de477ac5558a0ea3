// pages/profiles.js: cluster profiles, their versions side by side with a line diff, and an
// editor that publishes a new version.
import { dump } from '../vendor/js-yaml.mjs';
import { get } from '../api.js';
import { errorBox, fill, h } from '../dom.js';
import { listPage, strip, yamlEditor } from './objects.js';

// diff is a line diff by longest common subsequence: [{op: ' '|'-'|'+', line}].
export function diff(a, b) {
  const x = a.split('\n'); const y = b.split('\n');
  const n = x.length; const m = y.length;
  const L = Array.from({ length: n + 1 }, () => new Int32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) L[i][j] = x[i] === y[j] ? L[i + 1][j + 1] + 1 : Math.max(L[i + 1][j], L[i][j + 1]);
  const out = [];
  let i = 0; let j = 0;
  while (i < n && j < m) {
    if (x[i] === y[j]) { out.push({ op: ' ', line: x[i] }); i++; j++; } else if (L[i + 1][j] >= L[i][j + 1]) out.push({ op: '-', line: x[i++] }); else out.push({ op: '+', line: y[j++] });
  }
  while (i < n) out.push({ op: '-', line: x[i++] });
  while (j < m) out.push({ op: '+', line: y[j++] });
  return out;
}

const TEMPLATE = { apiVersion: 'strata.dev/v1alpha1', kind: 'ClusterProfile', metadata: { name: 'my-profile' },
  spec: { version: '1.0.0', cloud: 'azure', type: 'add-on', layers: [{ name: 'my-addon', type: 'addon', version: '1.0.0', values: 'key: value\n' }] } };

export async function render(view, [key]) {
  if (!key) {
    return listPage(view, { plural: 'clusterprofiles', title: 'Cluster profiles', route: 'profiles', createLabel: 'New profile',
      columns: [['Version', (o) => o.spec.version], ['Cloud', (o) => o.spec.cloud], ['Type', (o) => o.spec.type], ['Layers', (o) => o.spec.layers.map((l) => l.name).join(', ')]] });
  }
  const back = h('p', {}, h('a', { href: '#/profiles' }, '← Profiles'));
  if (key === 'new') {
    fill(view, back, h('h1', {}, 'New profile'), yamlEditor({ plural: 'clusterprofiles', template: TEMPLATE, done: (o) => { location.hash = `#/profiles/${o.metadata.name}@${o.spec.version}`; } }));
    return undefined;
  }
  const [name] = key.split('@');
  let obj; let versions;
  try {
    obj = await get(`/clusterprofiles/${encodeURIComponent(key)}`);
    versions = ((await get('/clusterprofiles')).items || []).filter((p) => p.metadata.name === name);
  } catch (e) { fill(view, back, errorBox(e)); return undefined; }
  const other = h('select', { id: 'diff-version' }, versions.map((v) => h('option', { value: v.spec.version, selected: v.spec.version === obj.spec.version }, v.spec.version)));
  const sides = h('div', { class: 'diff', id: 'profile-diff' });
  const drawDiff = () => {
    const b = versions.find((v) => v.spec.version === other.value) || obj;
    const d = diff(dump(strip(obj).spec), dump(strip(b).spec));
    fill(sides, h('pre', { class: 'code' }, d.map((l) => h('span', { class: `d${l.op === ' ' ? 'same' : l.op === '-' ? 'del' : 'add'}` }, `${l.op} ${l.line}\n`))));
  };
  other.addEventListener('change', drawDiff);
  const next = strip(obj);
  fill(view, back, h('h1', {}, `${obj.metadata.name} ${obj.spec.version}`),
    h('section', { class: 'card' }, h('h2', {}, 'Layers'), h('ol', {}, obj.spec.layers.map((l) => h('li', {}, `${l.name} — ${l.type} ${l.version || ''}`)))),
    h('section', { class: 'card' }, h('h2', {}, 'Compare versions'),
      h('label', { for: 'diff-version' }, `${obj.spec.version} against `), other, sides),
    h('section', { class: 'card' }, h('h2', {}, 'Publish a new version'),
      h('p', { class: 'muted' }, 'A version that clusters pin cannot change: give the copy a new spec.version.'),
      yamlEditor({ plural: 'clusterprofiles', template: next, done: (o) => { location.hash = `#/profiles/${o.metadata.name}@${o.spec.version}`; } })));
  drawDiff();
  return undefined;
}
