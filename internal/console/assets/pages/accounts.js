// pages/accounts.js: cloud accounts. The client secret is write-only: never shown; an empty
// secret field keeps the stored one (the server asks for it again when the target changes).
import { get, post, put } from '../api.js';
import { errorBox, field, fill, h } from '../dom.js';
import { listPage } from './objects.js';

const cond = (o, t) => ((o.status && o.status.conditions) || []).find((c) => c.type === t);

// listAccounts is the accounts list: environment, tenant, validity and gateway.
function listAccounts(view) {
  return listPage(view, { plural: 'cloudaccounts', title: 'Cloud accounts', route: 'accounts', createLabel: 'New account',
    columns: [['Environment', (o) => o.spec.azure.environment || 'AzurePublicCloud'], ['Tenant', (o) => o.spec.azure.tenantID],
      ['Valid', (o) => { const c = cond(o, 'Valid'); return c ? `${c.status}${c.reason ? ' (' + c.reason + ')' : ''}` : '—'; }], ['Gateway', (o) => o.spec.gateway || '']] });
}

// accountInputs makes the form's inputs from the account; the secret input starts empty.
function accountInputs(obj, isNew) {
  const az = obj.spec.azure;
  const ep = az.endpoints || {};
  const inp = (id, v, attrs = {}) => h('input', { id, value: v || '', autocomplete: 'off', spellcheck: 'false', ...attrs });
  return {
    name: inp('a-name', obj.metadata.name, { readonly: !isNew }),
    tenant: inp('a-tenant', az.tenantID), client: inp('a-client', az.clientID),
    secret: inp('a-secret', '', { type: 'password', autocomplete: 'new-password', placeholder: az.clientSecretSet ? 'set: leave empty to keep it' : '' }),
    env: h('select', { id: 'a-env' }, ['AzurePublicCloud', 'AzureUSGovernmentCloud', 'AzureChinaCloud', 'Custom'].map((e) => h('option', { value: e, selected: (az.environment || 'AzurePublicCloud') === e }, e))),
    rm: inp('a-rm', ep.resourceManager), aad: inp('a-aad', ep.activeDirectory), suffix: inp('a-suffix', ep.storageSuffix),
    ca: h('textarea', { id: 'a-ca', rows: 4, class: 'code', spellcheck: 'false' }, ep.caBundle || ''),
    gw: inp('a-gateway', obj.spec.gateway),
  };
}

// accountForm lays the inputs out as a form with each field's error slot.
function accountForm(f, az, save, out) {
  return h('form', { class: 'card', novalidate: true },
    field('Name', f.name, 'metadata.name'), field('Tenant ID', f.tenant, 'spec.azure.tenantID'), field('Client ID', f.client, 'spec.azure.clientID'),
    field('Client secret (write-only)', f.secret, 'spec.azure.clientSecret', az.clientSecretSet ? 'A secret is stored. It is never shown.' : 'Required for a new account.'),
    field('Environment', f.env, 'spec.azure.environment'),
    h('fieldset', {}, h('legend', {}, 'Custom environment'), field('Resource Manager URL', f.rm, 'spec.azure.endpoints.resourceManager'),
      field('Active Directory URL', f.aad, 'spec.azure.endpoints.activeDirectory'), field('Storage suffix', f.suffix, 'spec.azure.endpoints.storageSuffix'),
      field('CA bundle (PEM)', f.ca, 'spec.azure.endpoints.caBundle')),
    field('Private cloud gateway', f.gw, 'spec.gateway'), save, out);
}

// accountFromForm is the object to send; an empty secret is left out (the stored one stays).
function accountFromForm(f, obj) {
  const o = { apiVersion: 'strata.dev/v1alpha1', kind: 'CloudAccount', metadata: { ...obj.metadata, name: f.name.value.trim() }, spec: { azure: { tenantID: f.tenant.value.trim(), clientID: f.client.value.trim(), environment: f.env.value } } };
  delete o.metadata.resourceVersion;
  if (f.secret.value) o.spec.azure.clientSecret = f.secret.value;
  if (f.env.value === 'Custom') {
    o.spec.azure.endpoints = { resourceManager: f.rm.value.trim(), activeDirectory: f.aad.value.trim() };
    o.spec.azure.endpoints.storageSuffix = f.suffix.value.trim();
    if (f.ca.value.trim()) o.spec.azure.endpoints.caBundle = f.ca.value;
  }
  if (f.gw.value.trim()) o.spec.gateway = f.gw.value.trim();
  return o;
}

// saveAccount creates or updates the account and shows each error at its field.
async function saveAccount({ form, f, out, obj, name, isNew }) {
  for (const el of form.querySelectorAll('[data-error-for]')) el.replaceChildren();
  fill(out);
  const o = accountFromForm(f, obj);
  try {
    const r = isNew ? await post('/cloudaccounts', o) : await put(`/cloudaccounts/${encodeURIComponent(name)}`, o);
    f.secret.value = '';
    if (isNew) location.hash = `#/accounts/${encodeURIComponent(r.metadata.name)}`; else fill(out, h('p', { class: 'ok' }, 'Saved.'));
  } catch (e) {
    const rest = [];
    for (const x of e.errors) { const slot = form.querySelector(`[data-error-for="${CSS.escape(x.field)}"]`); if (slot) slot.append(h('p', { class: 'error-text' }, x.message)); else rest.push(x); }
    fill(out, errorBox({ message: e.message, errors: rest }));
  }
}

// statusCard shows whether the account was found valid, and its subscriptions.
function statusCard(obj) {
  const valid = cond(obj, 'Valid');
  return h('section', { class: 'card' }, h('h2', {}, 'Status'),
    h('p', {}, valid ? `Valid: ${valid.status} ${valid.reason || ''} ${valid.message || ''}` : 'Not checked yet.'),
    h('p', {}, `Subscriptions: ${((obj.status && obj.status.subscriptions) || []).join(', ') || '—'}`));
}

// render shows the accounts list (no name), a new account's form ("new") or account `name`.
export async function render(view, [name]) {
  if (!name) return listAccounts(view);
  const back = h('p', {}, h('a', { href: '#/accounts' }, '← Accounts'));
  const isNew = name === 'new';
  let obj = { apiVersion: 'strata.dev/v1alpha1', kind: 'CloudAccount', metadata: { name: '' }, spec: { azure: { tenantID: '', clientID: '', environment: 'AzurePublicCloud' } } };
  if (!isNew) {
    try { obj = await get(`/cloudaccounts/${encodeURIComponent(name)}`); } catch (e) { fill(view, back, errorBox(e)); return undefined; }
  }
  const f = accountInputs(obj, isNew);
  const out = h('div', { role: 'status' });
  const save = h('button', { type: 'submit', id: 'account-save' }, isNew ? 'Create' : 'Save');
  const form = accountForm(f, obj.spec.azure, save, out);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    saveAccount({ form, f, out, obj, name, isNew });
  });
  fill(view, back, h('h1', {}, isNew ? 'New cloud account' : obj.metadata.name), isNew ? null : statusCard(obj), form);
  return undefined;
}
