// pages/gateways.js: private cloud gateways, their editor and the registration token (shown
// once: the server keeps only what checks it).
import { get, post } from '../api.js';
import { errorBox, fill, h } from '../dom.js';
import { listPage, yamlEditor } from './objects.js';

const TEMPLATE = { apiVersion: 'strata.dev/v1alpha1', kind: 'PrivateCloudGateway', metadata: { name: 'my-gateway' },
  spec: { proxy: { httpProxy: 'http://proxy.example:3128', noProxy: ['.svc', '.cluster.local'] } } };

export async function render(view, [name]) {
  if (!name) {
    return listPage(view, { plural: 'privatecloudgateways', title: 'Private cloud gateways', route: 'gateways', createLabel: 'New gateway',
      columns: [['Proxy', (o) => (o.spec.proxy && (o.spec.proxy.httpProxy || o.spec.proxy.httpsProxy)) || ''], ['Phase', (o) => (o.status && o.status.phase) || '']] });
  }
  const back = h('p', {}, h('a', { href: '#/gateways' }, '← Gateways'));
  if (name === 'new') {
    fill(view, back, h('h1', {}, 'New gateway'), yamlEditor({ plural: 'privatecloudgateways', template: TEMPLATE, done: (o) => { location.hash = `#/gateways/${o.metadata.name}`; } }));
    return undefined;
  }
  let obj;
  try { obj = await get(`/privatecloudgateways/${encodeURIComponent(name)}`); } catch (e) { fill(view, back, errorBox(e)); return undefined; }
  const tokenOut = h('div', { role: 'status' });
  const tokenBtn = h('button', { type: 'button', id: 'gateway-token-create' }, 'Create a registration token');
  tokenBtn.addEventListener('click', async () => {
    try {
      const r = await post(`/privatecloudgateways/${encodeURIComponent(name)}/token`);
      const token = (r && (r.token || r.registrationToken)) || JSON.stringify(r);
      fill(tokenOut, h('p', {}, 'Shown once: copy it now.'), h('pre', { class: 'code', id: 'gateway-token' }, token));
    } catch (e) { fill(tokenOut, errorBox(e)); }
  });
  fill(view, back, h('h1', {}, obj.metadata.name),
    h('section', { class: 'card' }, h('h2', {}, 'Status'), h('p', {}, `Phase: ${(obj.status && obj.status.phase) || '—'}`),
      h('ul', {}, ((obj.status && obj.status.conditions) || []).map((c) => h('li', {}, `${c.type}: ${c.status} ${c.reason || ''} ${c.message || ''}`)))),
    h('section', { class: 'card' }, h('h2', {}, 'Registration'), tokenBtn, tokenOut),
    h('section', { class: 'card' }, h('h2', {}, 'Edit'), yamlEditor({ plural: 'privatecloudgateways', obj, done: () => { location.reload(); } })));
  return undefined;
}
