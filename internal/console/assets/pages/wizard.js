// pages/wizard.js: the create-cluster wizard. Steps as in Palette: basics, profiles, layer
// values, cluster config (from the account's lookups), node pools, review. Every step's Next
// and the review run the server's validation (POST ?dryRun=true) and show each error at its
// field; a form/YAML toggle edits the same object.
import { load, dump } from '../vendor/js-yaml.mjs';
import { get, post } from '../api.js';
import { errorBox, field, fill, h } from '../dom.js';
import { lookupField } from './lookup.js';

const STEPS = ['Basics', 'Profiles', 'Layer values', 'Cluster config', 'Node pools', 'Review'];

// stepOf is the step whose inputs hold a field path (-1: none).
export function stepOf(path) {
  if (/^metadata\./.test(path) || /^spec\.(cloudAccount|tags)/.test(path) || path === 'spec.azure.type') return 0;
  if (/^spec\.profiles\[\d+\]\.values/.test(path)) return 2;
  if (/^spec\.profiles/.test(path)) return 1;
  if (/^spec\.azure/.test(path)) return 3;
  if (/^spec\.machinePools/.test(path)) return 4;
  return -1;
}

// parentPath strips the last segment of a field path: a.b[0].c → a.b[0] → a.b → a.
function parentPath(p) {
  const m = p.match(/^(.*)(\.[^.[\]]+|\[\d+\])$/);
  return m ? m[1] : '';
}

function newCluster() {
  return {
    apiVersion: 'strata.dev/v1alpha1', kind: 'Cluster', metadata: { name: '' },
    spec: {
      cloudAccount: '', profiles: [], tags: [],
      azure: { type: 'iaas', subscriptionID: '', resourceGroup: '', location: '', sshPublicKey: '' },
      machinePools: [{ name: 'control-plane', controlPlane: true, count: 1 }, { name: 'workers', count: 1 }],
    },
  };
}

// payload is the object to send: empty optional parts left out.
function payload(obj) {
  const o = JSON.parse(JSON.stringify(obj));
  if (!o.spec.tags || !o.spec.tags.length) delete o.spec.tags;
  const az = o.spec.azure || {};
  if (az.storage && !az.storage.account && !az.storage.container) delete az.storage;
  else if (az.storage && !az.storage.container) delete az.storage.container;
  if (!az.sshPublicKey) delete az.sshPublicKey;
  for (const p of o.spec.profiles || []) if (p.values && !Object.keys(p.values).length) delete p.values;
  for (const p of o.spec.machinePools || []) {
    for (const k of ['instanceType']) if (p[k] === '') delete p[k];
    if (p.zones && !p.zones.length) delete p.zones;
  }
  return o;
}

const subnetOf = (s) => s || { name: '', cidr: '', securityGroup: '' };
const lastSeg = (id) => (id || '').split('/').pop();

// newState makes the wizard's state and its fixed elements (step list, panes, YAML pane, buttons).
function newState(view) {
  return {
    view,
    obj: newCluster(),
    step: 0,
    yamlMode: false,
    errors: [],            // the last dry run's errors ({field, rule, message})
    generalError: null,    // a failure without field errors (403, 409, network)
    validFor: null,        // the payload JSON that the last dry run accepted
    accounts: [],
    profiles: [],
    vnets: new Map(),      // option value "rg/name" → the lookup's item
    storageRG: new Map(),  // storage account name → its resource group
    stepNav: h('ol', { class: 'steps', id: 'wizard-steps' }),
    panes: STEPS.map((_, i) => h('section', { class: 'step hidden', 'data-step': i, 'aria-label': STEPS[i] })),
    general: h('div', { id: 'wizard-errors', role: 'alert' }),
    yamlArea: h('textarea', { id: 'wizard-yaml', rows: 28, spellcheck: 'false', class: 'code' }),
    yamlError: h('div', { id: 'wizard-yaml-error', class: 'error-text', role: 'alert' }),
    toggle: h('button', { id: 'toggle-yaml', type: 'button', class: 'secondary', 'aria-pressed': 'false' }, 'Edit as YAML'),
    back: h('button', { id: 'wizard-back', type: 'button', class: 'secondary' }, 'Back'),
    next: h('button', { id: 'wizard-next', type: 'button' }, 'Next'),
    create: h('button', { id: 'wizard-create', type: 'button', disabled: true }, 'Create cluster'),
    busy: h('span', { id: 'wizard-busy', class: 'muted', role: 'status' }),
  };
}

// layout puts the wizard's fixed elements into the view.
function layout(s) {
  s.yamlPane = h('section', { class: 'hidden', id: 'wizard-yaml-pane' }, field('The cluster as YAML', s.yamlArea), s.yamlError);
  fill(s.view,
    h('p', {}, h('a', { href: '#/clusters' }, '← Clusters')),
    h('div', { class: 'page-head' }, h('h1', {}, 'Create a cluster'), s.toggle),
    s.stepNav, s.general, ...s.panes, s.yamlPane,
    h('div', { class: 'wizard-buttons' }, s.back, ' ', s.next, ' ', s.create, ' ', s.busy));
}

// clearFieldError drops an edited field's old message until the next check.
function clearFieldError(ev) {
  const f = ev.target.closest && ev.target.closest('.field');
  const slot = f && f.querySelector('.field-error');
  if (slot) slot.replaceChildren();
}

// showErrors puts each error at its field (or its nearest parent's slot) and the rest on top.
function showErrors(s) {
  const { view, general, step } = s;
  for (const el of view.querySelectorAll('[data-error-for]')) el.replaceChildren();
  const unplaced = [];
  for (const e of s.errors) {
    let p = e.field || '';
    let slot = null;
    while (p && !(slot = view.querySelector(`[data-error-for="${CSS.escape(p)}"]`))) p = parentPath(p);
    if (slot) slot.append(h('p', { class: 'error-text' }, `${e.message} (${e.rule})`));
    const st = stepOf(e.field || '');
    if (!slot || step === STEPS.length - 1) { if (!slot || st <= step) unplaced.push(e); }
  }
  fill(general);
  if (s.generalError) general.append(errorBox(s.generalError));
  if (unplaced.length && step === STEPS.length - 1) {
    general.append(h('div', { class: 'error' }, h('p', {}, 'Fix these before creating the cluster:'),
      h('ul', {}, unplaced.map((e) => h('li', {}, `${STEPS[stepOf(e.field)] || 'Cluster'} — ${e.field}: ${e.message}`)))));
  } else if (unplaced.filter((e) => stepOf(e.field) < 0).length) {
    general.append(h('ul', { class: 'error' }, unplaced.filter((e) => stepOf(e.field) < 0).map((e) => h('li', {}, `${e.field}: ${e.message}`))));
  }
  updateButtons(s);
}

// validate runs the server's validation (a dry-run create) and shows its errors.
async function validate(s) {
  const body = payload(s.obj);
  const key = JSON.stringify(body);
  s.busy.textContent = 'Checking…';
  try {
    await post('/clusters?dryRun=true', body);
    s.errors = []; s.generalError = null; s.validFor = key;
  } catch (e) {
    s.validFor = null;
    s.errors = e.errors || [];
    s.generalError = s.errors.length ? null : e;
  } finally {
    s.busy.textContent = '';
  }
  showErrors(s);
  return { key };
}

// blocking: the errors that keep the user on the current step.
function blocking(s) {
  return s.generalError || s.errors.some((e) => { const st = stepOf(e.field || ''); return st >= 0 && st <= s.step; }) ||
    (s.step === STEPS.length - 1 && s.errors.length);
}

// updateButtons enables Back, Next and Create for the step and the last check.
function updateButtons(s) {
  s.back.disabled = s.step === 0 && !s.yamlMode;
  s.next.classList.toggle('hidden', s.step === STEPS.length - 1);
  s.create.disabled = !(s.step === STEPS.length - 1 && !s.yamlMode && s.validFor === JSON.stringify(payload(s.obj)) && !s.errors.length && !s.generalError);
}

// changed forgets the last check after an edit.
function changed(s) { s.validFor = null; updateButtons(s); }

// show marks the current step in the list and shows its pane (or the YAML pane).
function show(s) {
  fill(s.stepNav, STEPS.map((name, i) => h('li', { 'aria-current': i === s.step ? 'step' : null, class: i < s.step ? 'done' : '' }, `${i + 1}. ${name}`)));
  s.panes.forEach((p, i) => p.classList.toggle('hidden', s.yamlMode || i !== s.step));
  s.yamlPane.classList.toggle('hidden', !s.yamlMode);
  showErrors(s);
}

// go renders step `to`, shows it, focuses its first input and checks the review.
async function go(s, to) {
  STEP_RENDERERS[to](s);
  s.step = to;
  show(s);
  const first = s.panes[s.step].querySelector('input, select, textarea, button');
  if (first) first.focus();
  if (s.step === STEPS.length - 1) await validate(s);
}

// wireButtons handles Next (check, then move on), Back, Create and the YAML toggle.
function wireButtons(s) {
  s.next.addEventListener('click', async () => {
    if (s.yamlMode && !fromYAML(s)) return;
    s.next.disabled = true;
    try {
      await validate(s);
      if (!blocking(s)) await go(s, s.step + 1);
    } finally { s.next.disabled = false; }
  });
  s.back.addEventListener('click', () => { if (s.yamlMode && !fromYAML(s)) return; if (s.step > 0) go(s, s.step - 1); });
  s.create.addEventListener('click', async () => {
    s.create.disabled = true;
    try {
      const c = await post('/clusters', payload(s.obj));
      location.hash = `#/clusters/${encodeURIComponent(c.metadata.name)}`;
    } catch (e) {
      s.errors = e.errors || []; s.generalError = s.errors.length ? null : e; s.validFor = null;
      showErrors(s);
    }
  });
  s.toggle.addEventListener('click', () => toggleYAML(s));
}

// toggleYAML switches between the form and the YAML text of the same object.
function toggleYAML(s) {
  if (s.yamlMode) { fromYAML(s); return; }
  s.yamlArea.value = dump(payload(s.obj));
  s.yamlMode = true;
  s.toggle.textContent = 'Back to the form';
  s.toggle.setAttribute('aria-pressed', 'true');
  show(s);
  s.yamlArea.focus();
}

// fromYAML takes the edited YAML as the object and goes back to the form (false: it does not parse).
function fromYAML(s) {
  let parsed;
  try {
    parsed = load(s.yamlArea.value);
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('the YAML must be one object (a Cluster)');
    if (!parsed.spec || typeof parsed.spec !== 'object') throw new Error('the object has no spec');
  } catch (e) {
    fill(s.yamlError, `YAML: ${e.message}`);
    return false;
  }
  fill(s.yamlError);
  parsed.metadata = parsed.metadata || { name: '' };
  parsed.spec.azure = parsed.spec.azure || {};
  parsed.spec.machinePools = parsed.spec.machinePools || [];
  parsed.spec.profiles = parsed.spec.profiles || [];
  s.obj = parsed;
  s.yamlMode = false;
  s.toggle.textContent = 'Edit as YAML';
  s.toggle.setAttribute('aria-pressed', 'false');
  changed(s);
  STEP_RENDERERS[s.step](s);
  show(s);
  if (s.step === STEPS.length - 1) validate(s);
  return true;
}

// ---- step 1: basics ----

// basicsStep renders step 1: name, cloud account, type and tags.
function basicsStep(s) {
  const { obj, accounts } = s;
  const name = h('input', { id: 'f-name', value: obj.metadata.name || '', autocomplete: 'off', spellcheck: 'false' });
  name.addEventListener('input', () => { s.obj.metadata.name = name.value.trim(); changed(s); });
  const acct = h('select', { id: 'f-account' }, h('option', { value: '' }, '— choose —'),
    accounts.map((a) => h('option', { value: a.metadata.name, selected: a.metadata.name === obj.spec.cloudAccount }, a.metadata.name)));
  if (obj.spec.cloudAccount && !accounts.some((a) => a.metadata.name === obj.spec.cloudAccount)) acct.append(h('option', { value: obj.spec.cloudAccount, selected: true }, obj.spec.cloudAccount));
  acct.addEventListener('change', () => { s.obj.spec.cloudAccount = acct.value; changed(s); });
  const type = h('select', { id: 'f-type' }, h('option', { value: 'iaas', selected: obj.spec.azure.type !== 'aks' }, 'IaaS (self-managed on VMs)'), h('option', { value: 'aks', selected: obj.spec.azure.type === 'aks' }, 'AKS (managed)'));
  type.addEventListener('change', () => setType(s, type.value));
  const tags = h('textarea', { id: 'f-tags', rows: 3, spellcheck: 'false' }, (obj.spec.tags || []).join('\n'));
  tags.addEventListener('input', () => { s.obj.spec.tags = tags.value.split('\n').map((t) => t.trim()).filter(Boolean); changed(s); });
  fill(s.panes[0], h('h2', {}, 'Basics'),
    field('Name', name, 'metadata.name', 'Lowercase letters, digits and -, at most 63 characters'),
    field('Cloud account', acct, 'spec.cloudAccount'),
    field('Type', type, 'spec.azure.type'),
    field('Tags (one key:value a line)', tags, 'spec.tags'));
}

// setType changes the cluster type: the profiles go, and the pools become the type's defaults.
function setType(s, value) {
  const { obj } = s;
  obj.spec.azure.type = value;
  obj.spec.profiles = [];
  obj.spec.machinePools = value === 'aks' ? [{ name: 'system', system: true, count: 1 }] : [{ name: 'control-plane', controlPlane: true, count: 1 }, { name: 'workers', count: 1 }];
  if (value === 'aks') delete obj.spec.azure.storage;
  changed(s);
}

// ---- step 2: profiles ----

// fits says whether profile p is for the cluster's type.
function fits(obj, p) {
  const cloud = p.spec.cloud;
  return obj.spec.azure.type === 'aks' ? (cloud === 'aks' || cloud === 'all') : (cloud === 'azure' || cloud === 'all');
}

// profilesStep renders step 2: the infrastructure profile, the add-ons and their layers.
function profilesStep(s) {
  const { obj, profiles } = s;
  const infra = profiles.filter((p) => fits(obj, p) && p.spec.type !== 'add-on');
  const addons = profiles.filter((p) => fits(obj, p) && p.spec.type === 'add-on');
  const cur = obj.spec.profiles.find((r) => infra.some((p) => p.metadata.name === r.name));
  if (!cur && infra.length) {
    obj.spec.profiles.unshift({ name: infra[0].metadata.name, version: infra[0].spec.version });
  }
  const layersBox = h('div');
  const drawLayers = () => drawProfileLayers(s, layersBox);
  const sel = infraSelect(s, infra, drawLayers);
  const addonBoxes = [...new Set(addons.map((p) => p.metadata.name))].map((n) => addonBox(s, addons, n, drawLayers));
  drawLayers();
  fill(s.panes[1], h('h2', {}, 'Profiles'),
    infra.length ? field('Infrastructure profile', sel, 'spec.profiles') : h('p', { class: 'error-text', 'data-error-for': 'spec.profiles' }, 'No profile fits this cluster type.'),
    addonBoxes.length ? h('fieldset', {}, h('legend', {}, 'Add-on profiles'), addonBoxes) : null,
    h('h3', {}, 'Layers'), layersBox);
}

// drawProfileLayers lists the layers of each chosen profile version.
function drawProfileLayers(s, box) {
  fill(box, s.obj.spec.profiles.map((r) => {
    const p = s.profiles.find((x) => x.metadata.name === r.name && x.spec.version === r.version);
    return h('div', { class: 'layers' }, h('h3', {}, `${r.name} ${r.version}`),
      p ? h('ol', {}, p.spec.layers.map((l) => h('li', {}, `${l.name} — ${l.type} ${l.version || ''}`))) : h('p', { class: 'muted' }, 'Unknown profile version'));
  }));
}

// infraSelect is the select of infrastructure profile versions; a pick replaces the current one.
function infraSelect(s, infra, drawLayers) {
  const main = s.obj.spec.profiles.find((r) => infra.some((p) => p.metadata.name === r.name));
  const sel = h('select', { id: 'f-profile' }, infra.map((p) => {
    const k = `${p.metadata.name}@${p.spec.version}`;
    return h('option', { value: k, selected: main && main.name === p.metadata.name && main.version === p.spec.version }, `${p.metadata.name} ${p.spec.version} (${p.spec.type})`);
  }));
  sel.addEventListener('change', () => {
    const [n, v] = sel.value.split('@');
    const i = s.obj.spec.profiles.findIndex((r) => infra.some((p) => p.metadata.name === r.name));
    const ref = { name: n, version: v };
    if (i >= 0) s.obj.spec.profiles[i] = ref; else s.obj.spec.profiles.unshift(ref);
    changed(s); drawLayers();
  });
  return sel;
}

// addonBox is add-on profile n's checkbox and version select.
function addonBox(s, addons, n, drawLayers) {
  const versions = addons.filter((p) => p.metadata.name === n).map((p) => p.spec.version);
  const on = s.obj.spec.profiles.find((r) => r.name === n);
  const cb = h('input', { type: 'checkbox', id: `f-addon-${n}`, checked: !!on });
  const ver = h('select', { id: `f-addon-${n}-version`, 'aria-label': `Version of ${n}` }, versions.map((v) => h('option', { value: v, selected: on && on.version === v }, v)));
  const upd = () => {
    s.obj.spec.profiles = s.obj.spec.profiles.filter((r) => r.name !== n);
    if (cb.checked) s.obj.spec.profiles.push({ name: n, version: ver.value });
    changed(s); drawLayers();
  };
  cb.addEventListener('change', upd);
  ver.addEventListener('change', upd);
  return h('div', { class: 'check' }, cb, h('label', { for: cb.id }, n), ' ', ver);
}

// ---- step 3: layer values ----

// valuesStep renders step 3: per chosen profile, a YAML override box per layer.
function valuesStep(s) {
  fill(s.panes[2], h('h2', {}, 'Layer values'), h('p', { class: 'muted' }, 'YAML merged over each layer\'s values for this cluster only. Leave empty to keep the profile\'s.'),
    s.obj.spec.profiles.map((r, i) => {
      const p = s.profiles.find((x) => x.metadata.name === r.name && x.spec.version === r.version);
      return h('fieldset', {}, h('legend', {}, `${r.name} ${r.version}`), h('div', { 'data-error-for': `spec.profiles[${i}].values`, class: 'field-error', role: 'alert' }),
        (p ? p.spec.layers : []).map((l) => layerValues(s, r, i, l)));
    }));
}

// layerValues is the override box of layer l of profile reference r (the i-th).
function layerValues(s, r, i, l) {
  const ta = h('textarea', { id: `f-values-${i}-${l.name}`, rows: 4, spellcheck: 'false', class: 'code' }, (r.values && r.values[l.name]) || '');
  ta.addEventListener('input', () => {
    r.values = r.values || {};
    if (ta.value.trim()) r.values[l.name] = ta.value; else delete r.values[l.name];
    changed(s);
  });
  return h('div', {}, field(`${l.name} (${l.type})`, ta, `spec.profiles[${i}].values.${l.name}`),
    l.values ? h('details', {}, h('summary', {}, 'The profile\'s values'), h('pre', { class: 'code' }, l.values)) : null);
}

// ---- step 4: cluster config ----
// The step's pieces share a context c: {s, az, acct, lk, sub} and the fields made so far.

// configContext makes step 4's context: the lookups of the chosen account.
function configContext(s) {
  const az = s.obj.spec.azure;
  const acct = () => encodeURIComponent(s.obj.spec.cloudAccount);
  const lk = (what, q) => get(`/cloudaccounts/${acct()}/lookups/${what}?${new URLSearchParams(q)}`).then((r) => (r && r.items) || []);
  const sub = () => ({ subscriptionID: az.subscriptionID });
  return { s, az, acct, lk, sub };
}

// configStep renders step 4: subscription, location, resource group, SSH key, network, storage.
function configStep(s) {
  if (!s.obj.spec.cloudAccount) { fill(s.panes[3], h('h2', {}, 'Cluster config'), h('p', { class: 'error-text' }, 'Pick a cloud account in Basics first.')); return; }
  const c = configContext(s);
  const az = c.az;
  subscriptionFields(c);
  const ssh = h('textarea', { id: 'f-ssh', rows: 3, spellcheck: 'false', class: 'code' }, az.sshPublicKey || '');
  ssh.addEventListener('input', () => { az.sshPublicKey = ssh.value.trim(); changed(s); });
  const placement = placementFields(c);
  const storageBox = h('div');
  storageFields(c);
  c.subscription.reload(() => loadSubscriptions(c));
  subDependents(c);
  drawStatic(c);
  fill(s.panes[3], h('h2', {}, 'Cluster config'),
    c.subscription.el, h('div', { class: 'two' }, c.loc.el, c.rg.el),
    field('SSH public key of the nodes', ssh, 'spec.azure.sshPublicKey', 'ssh-rsa …, RSA of at least 2048 bits'),
    h('h3', {}, 'Network'), field('Placement', placement, 'spec.azure.placement'), c.staticBox,
    az.type === 'aks' ? null : [h('h3', {}, 'Storage'), h('div', { 'data-error-for': 'spec.azure.storage', class: 'field-error', role: 'alert' }), h('div', { class: 'two' }, c.sa.el, c.ct.el)], storageBox);
}

// subscriptionFields makes the subscription, location and resource group pickers.
function subscriptionFields(c) {
  const { s, az } = c;
  c.subscription = lookupField({ id: 'f-subscription', label: 'Subscription', path: 'spec.azure.subscriptionID', onChange: (v) => { az.subscriptionID = v; changed(s); subDependents(c); } });
  c.loc = lookupField({ id: 'f-location', label: 'Location', path: 'spec.azure.location', onChange: (v) => { az.location = v; changed(s); } });
  c.rg = lookupField({ id: 'f-resourceGroup', label: 'Resource group (must exist)', path: 'spec.azure.resourceGroup',
    onChange: (v) => { az.resourceGroup = v; changed(s); if (az.type !== 'aks' && az.subscriptionID) c.sa.reload(() => loadStorage(c)); } });
  c.subscription.set(az.subscriptionID); c.loc.set(az.location); c.rg.set(az.resourceGroup);
}

// loadSubscriptions lists the account's subscriptions (or, on an older server, its checked ones).
async function loadSubscriptions(c) {
  const { az, acct } = c;
  try {
    return (await get(`/cloudaccounts/${acct()}/lookups/subscriptions`)).items.map((x) => ({ value: x.subscriptionID, label: `${x.displayName || x.subscriptionID} (${x.subscriptionID})${x.state && x.state !== 'Enabled' ? ' — ' + x.state : ''}` }));
  } catch (e) {
    if (e.status !== 400 && e.status !== 404) throw e;
    // A server without the subscriptions lookup: the account's checked subscriptions.
    const a = await get(`/cloudaccounts/${acct()}`);
    const ids = (a.status && a.status.subscriptions) || [];
    if (!az.subscriptionID && ids.length === 1) { az.subscriptionID = ids[0]; c.subscription.set(ids[0]); changed(c.s); subDependents(c); }
    return ids.map((id) => ({ value: id }));
  }
}

// subDependents reloads the lists that depend on the subscription.
function subDependents(c) {
  const { s, az, lk, sub } = c;
  if (!az.subscriptionID || !s.obj.spec.cloudAccount) {
    for (const f of [c.loc, c.rg, c.vnet, c.sa]) f.idle('Pick a subscription first');
    return;
  }
  c.loc.reload(async () => (await lk('locations', sub())).map((l) => ({ value: l.name, label: `${l.displayName || l.name} (${l.name})${(l.zones || []).length ? ' — zones ' + l.zones.join(', ') : ' — no zones'}` })));
  c.rg.reload(async () => (await lk('resourcegroups', sub())).map((g) => ({ value: g.name })));
  if (az.placement) c.vnet.reload(() => loadVNets(c));
  if (az.type !== 'aks') c.sa.reload(() => loadStorage(c)).then(() => reloadContainers(c));
}

// textField is a labelled text input that writes its trimmed value with set0.
function textField(s, id, label, path, get0, set0) {
  const i = h('input', { id, value: get0() || '', autocomplete: 'off', spellcheck: 'false' });
  i.addEventListener('input', () => { set0(i.value.trim()); changed(s); });
  return { el: field(label, i, path), input: i };
}

const setText = (t, v) => { t.input.value = v || ''; };

// placementFields makes the placement select and the static placement's VNet and subnet fields.
function placementFields(c) {
  const { s, az } = c;
  const placement = h('select', { id: 'f-placement' }, h('option', { value: 'dynamic', selected: !az.placement }, 'Dynamic: strata creates the network'), h('option', { value: 'static', selected: !!az.placement }, 'Static: an existing VNet and subnets'));
  c.staticBox = h('div', { class: 'static-placement' });
  c.vnet = lookupField({ id: 'f-vnet', label: 'Virtual network', path: 'spec.azure.placement.virtualNetwork', onChange: (v) => pickVNet(c, v) });
  c.cp = lookupField({ id: 'f-cp-subnet', label: 'Control-plane subnet', path: 'spec.azure.placement.controlPlaneSubnet.name', onChange: (v) => pickSubnet(c, 'controlPlaneSubnet', v) });
  c.wk = lookupField({ id: 'f-worker-subnet', label: 'Worker subnet', path: 'spec.azure.placement.workerSubnet.name', onChange: (v) => pickSubnet(c, 'workerSubnet', v) });
  const pl = () => az.placement;
  c.vnetRG = textField(s, 'f-vnet-rg', 'VNet resource group', 'spec.azure.placement.resourceGroup', () => pl() && pl().resourceGroup, (v) => { pl().resourceGroup = v; });
  c.vnetCIDR = textField(s, 'f-vnet-cidr', 'VNet CIDR', 'spec.azure.placement.cidr', () => pl() && pl().cidr, (v) => { pl().cidr = v; });
  c.cpCIDR = textField(s, 'f-cp-subnet-cidr', 'Control-plane subnet CIDR', 'spec.azure.placement.controlPlaneSubnet.cidr', () => pl() && pl().controlPlaneSubnet.cidr, (v) => { pl().controlPlaneSubnet.cidr = v; });
  c.wkCIDR = textField(s, 'f-worker-subnet-cidr', 'Worker subnet CIDR', 'spec.azure.placement.workerSubnet.cidr', () => pl() && pl().workerSubnet.cidr, (v) => { pl().workerSubnet.cidr = v; });
  c.cpNSG = textField(s, 'f-cp-nsg', 'Control-plane network security group', 'spec.azure.placement.controlPlaneSubnet.securityGroup', () => pl() && pl().controlPlaneSubnet.securityGroup, (v) => { pl().controlPlaneSubnet.securityGroup = v; });
  c.wkNSG = textField(s, 'f-worker-nsg', 'Worker network security group', 'spec.azure.placement.workerSubnet.securityGroup', () => pl() && pl().workerSubnet.securityGroup, (v) => { pl().workerSubnet.securityGroup = v; });
  placement.addEventListener('change', () => {
    if (placement.value === 'static') az.placement = az.placement || { resourceGroup: '', virtualNetwork: '', cidr: '', controlPlaneSubnet: subnetOf(), workerSubnet: subnetOf() };
    else delete az.placement;
    changed(s); drawStatic(c);
    if (az.placement && az.subscriptionID) c.vnet.reload(() => loadVNets(c));
  });
  return placement;
}

// drawStatic shows the static placement's fields (none for dynamic placement).
function drawStatic(c) {
  const { az } = c;
  if (!az.placement) { fill(c.staticBox); return; }
  az.placement.controlPlaneSubnet = subnetOf(az.placement.controlPlaneSubnet);
  az.placement.workerSubnet = subnetOf(az.placement.workerSubnet);
  c.vnet.set(az.placement.virtualNetwork ? `${az.placement.resourceGroup}/${az.placement.virtualNetwork}` : '');
  c.cp.set(az.placement.controlPlaneSubnet.name); c.wk.set(az.placement.workerSubnet.name);
  fill(c.staticBox, h('div', { 'data-error-for': 'spec.azure.placement', class: 'field-error', role: 'alert' }),
    c.vnet.el, c.vnetRG.el, c.vnetCIDR.el, h('div', { class: 'two' }, h('div', {}, c.cp.el, c.cpCIDR.el, c.cpNSG.el), h('div', {}, c.wk.el, c.wkCIDR.el, c.wkNSG.el)));
}

// subnetItems are the picked VNet's subnets as options.
function subnetItems(c) {
  const pl = c.az.placement;
  const v = c.s.vnets.get(`${pl.resourceGroup}/${pl.virtualNetwork}`);
  return (v ? v.subnets || [] : []).map((x) => ({ value: x.name, label: `${x.name} (${x.cidr})` }));
}

// pickVNet takes a VNet ("rg/name" or a typed name): its group and CIDR, then its subnets.
function pickVNet(c, v) {
  const item = c.s.vnets.get(v);
  const pl = c.az.placement;
  const [r, n] = v.includes('/') ? v.split('/') : [pl.resourceGroup, v];
  pl.resourceGroup = r || ''; pl.virtualNetwork = n || '';
  if (item) pl.cidr = (item.addressSpaces || [])[0] || pl.cidr;
  setText(c.vnetRG, pl.resourceGroup); setText(c.vnetCIDR, pl.cidr);
  changed(c.s);
  c.cp.reload(async () => subnetItems(c)); c.wk.reload(async () => subnetItems(c));
}

// pickSubnet takes a subnet for `which` (controlPlaneSubnet, workerSubnet): its CIDR and NSG.
function pickSubnet(c, which, name) {
  const pl = c.az.placement;
  const v = c.s.vnets.get(`${pl.resourceGroup}/${pl.virtualNetwork}`);
  const sn = v && (v.subnets || []).find((x) => x.name === name);
  pl[which].name = name;
  if (sn) { pl[which].cidr = sn.cidr || ''; if (sn.nsg) pl[which].securityGroup = lastSeg(sn.nsg); }
  const [cidr, nsg] = which === 'controlPlaneSubnet' ? [c.cpCIDR, c.cpNSG] : [c.wkCIDR, c.wkNSG];
  setText(cidr, pl[which].cidr); setText(nsg, pl[which].securityGroup);
  changed(c.s);
}

// listInGroups lists `what` in the subscription, each with its resource group.
async function listInGroups(c, what) {
  const { lk, sub } = c;
  let items;
  try {
    items = await lk(what, sub());
    items = items.map((x) => ({ ...x, resourceGroup: x.resourceGroup || (x.id || '').split('/')[4] || '' }));
  } catch (e) {
    if (e.status !== 400) throw e;
    // A server whose lookup needs a resource group: ask each one.
    items = [];
    for (const g of await lk('resourcegroups', sub())) {
      for (const x of await lk(what, { ...sub(), resourceGroup: g.name })) items.push({ ...x, resourceGroup: g.name });
    }
  }
  return items;
}

// loadVNets lists the subscription's VNets as options "rg/name" and remembers each.
async function loadVNets(c) {
  const items = await listInGroups(c, 'virtualnetworks');
  const { vnets } = c.s;
  vnets.clear();
  return items.map((v) => {
    const key = `${v.resourceGroup}/${v.name}`;
    vnets.set(key, v);
    const subs = (v.subnets || []).map((x) => `${x.name} ${x.cidr}`).join(', ');
    return { value: key, group: v.resourceGroup, label: `${v.name} (${(v.addressSpaces || []).join(', ')}) — subnets: ${subs || 'none'}` };
  });
}

// storageFields makes the custom storage (IaaS) pickers: the account and its container.
function storageFields(c) {
  const { s, az } = c;
  c.sa = lookupField({ id: 'f-storage-account', label: 'Storage account for the node image (in the cluster\'s resource group)', path: 'spec.azure.storage.account', empty: 'Generated by strata',
    onChange: (v) => { az.storage = { account: v, container: '' }; if (!v) delete az.storage; changed(s); reloadContainers(c); } });
  c.ct = lookupField({ id: 'f-container', label: 'Container', path: 'spec.azure.storage.container', empty: 'Generated by strata',
    onChange: (v) => { if (az.storage) az.storage.container = v; changed(s); } });
  c.sa.set(az.storage && az.storage.account); c.ct.set(az.storage && az.storage.container);
}

// loadStorage lists the storage accounts; only those in the cluster's resource group can be picked.
async function loadStorage(c) {
  const items = await listInGroups(c, 'storageaccounts');
  const { storageRG } = c.s;
  storageRG.clear();
  // strata looks for the account in the cluster's resource group: others are shown, not offered.
  return items.map((x) => {
    storageRG.set(x.name, x.resourceGroup);
    const other = x.resourceGroup !== c.az.resourceGroup;
    return { value: x.name, group: x.resourceGroup, disabled: other, label: `${x.name} (${x.location || ''})${other ? ' — not in the cluster\'s resource group' : ''}` };
  });
}

// reloadContainers lists the picked storage account's containers.
function reloadContainers(c) {
  const { az, lk, sub } = c;
  const a = az.storage && az.storage.account;
  if (!a) { c.ct.idle('Pick a storage account first'); return; }
  c.ct.reload(async () => {
    const g = c.s.storageRG.get(a);
    if (!g) throw new Error('the storage account\'s resource group is unknown: type the container');
    return (await lk('containers', { ...sub(), resourceGroup: g, storageAccount: a })).map((x) => ({ value: x.name }));
  });
}

// ---- step 5: node pools ----

// poolsStep renders step 5: a fieldset per machine pool, and Add pool.
function poolsStep(s) {
  const aks = s.obj.spec.azure.type === 'aks';
  const list = h('div');
  const draw = () => fill(list, s.obj.spec.machinePools.map((p, i) => poolFieldset(s, p, i, aks, draw)));
  const add = h('button', { type: 'button', class: 'secondary', id: 'w-add-pool' }, 'Add pool');
  add.addEventListener('click', () => { s.obj.spec.machinePools.push({ name: `pool${s.obj.spec.machinePools.length + 1}`, count: 1 }); changed(s); draw(); });
  draw();
  fill(s.panes[4], h('h2', {}, 'Node pools'), h('div', { 'data-error-for': 'spec.machinePools', class: 'field-error', role: 'alert' }), list, add);
}

// poolFieldset is pool p's (the i-th) inputs, role checkbox and Remove; draw redraws the list.
function poolFieldset(s, p, i, aks, draw) {
  const inp = (k, attrs, conv) => {
    const el = h('input', { id: `w-pool-${i}-${k}`, value: p[k] === undefined ? '' : (Array.isArray(p[k]) ? p[k].join(',') : p[k]), autocomplete: 'off', ...attrs });
    el.addEventListener('input', () => { const v = conv(el.value); if (v === undefined) delete p[k]; else p[k] = v; changed(s); });
    return el;
  };
  const num = (v) => (v.trim() === '' ? undefined : Number(v));
  const role = h('input', { type: 'checkbox', id: `w-pool-${i}-role`, checked: !!(aks ? p.system : p.controlPlane) });
  role.addEventListener('change', () => { if (aks) p.system = role.checked; else p.controlPlane = role.checked; if (!role.checked) { delete p.system; delete p.controlPlane; } changed(s); });
  const remove = h('button', { type: 'button', class: 'secondary', id: `w-pool-${i}-remove` }, 'Remove pool');
  remove.addEventListener('click', () => { s.obj.spec.machinePools.splice(i, 1); changed(s); draw(); showErrors(s); });
  const base = `spec.machinePools[${i}]`;
  return h('fieldset', { 'data-pool-index': i }, h('legend', {}, p.name || `pool ${i + 1}`),
    h('div', { 'data-error-for': base, class: 'field-error', role: 'alert' }),
    h('div', { class: 'two' },
      field('Name', inp('name', {}, (v) => v.trim()), `${base}.name`),
      field('Count', inp('count', { type: 'number', min: 0 }, (v) => Number(v)), `${base}.count`),
      field('Min (autoscaler)', inp('min', { type: 'number', min: 0 }, num), `${base}.min`),
      field('Max (autoscaler)', inp('max', { type: 'number', min: 0 }, num), `${base}.max`),
      field('Instance type', inp('instanceType', { placeholder: 'Standard_D2s_v3' }, (v) => v.trim() || undefined), `${base}.instanceType`),
      field('Zones (comma-separated)', inp('zones', { placeholder: 'every zone' }, (v) => { const z = v.split(',').map((x) => x.trim()).filter(Boolean); return z.length ? z : undefined; }), `${base}.zones`)),
    h('div', { class: 'check' }, role, h('label', { for: role.id }, aks ? 'System pool' : 'Control plane')),
    remove);
}

// ---- step 6: review ----

// reviewStep renders step 6: the summary, and the object as YAML and as a CLI command.
function reviewStep(s) {
  const yaml = dump(payload(s.obj));
  const pre = h('pre', { id: 'review-yaml', class: 'code hidden' }, yaml);
  const cli = h('pre', { id: 'cli-command', class: 'code hidden' }, `cat > cluster.yaml <<'EOF'\n${yaml}EOF\nstrata apply -f cluster.yaml`);
  const showYaml = h('button', { type: 'button', class: 'secondary', id: 'show-yaml', 'aria-expanded': 'false' }, 'Show as YAML');
  const showCli = h('button', { type: 'button', class: 'secondary', id: 'show-cli', 'aria-expanded': 'false' }, 'CLI command');
  const tog = (b, el) => b.addEventListener('click', () => { el.classList.toggle('hidden'); b.setAttribute('aria-expanded', String(!el.classList.contains('hidden'))); });
  tog(showYaml, pre); tog(showCli, cli);
  fill(s.panes[5], h('h2', {}, 'Review'),
    h('dl', { class: 'summary', id: 'review-summary' }, reviewRows(s.obj).map(([k, v]) => [h('dt', {}, k), h('dd', {}, v || '—')])),
    showYaml, ' ', showCli, pre, cli);
}

// reviewRows are the review's [label, value] pairs.
function reviewRows(obj) {
  const az = obj.spec.azure;
  return [
    ['Name', obj.metadata.name], ['Account', obj.spec.cloudAccount], ['Type', az.type], ['Tags', (obj.spec.tags || []).join(', ')],
    ['Profiles', obj.spec.profiles.map((p) => `${p.name} ${p.version}`).join(', ')], ['Subscription', az.subscriptionID],
    ['Location', az.location], ['Resource group', az.resourceGroup],
    ['Placement', az.placement ? `${az.placement.resourceGroup}/${az.placement.virtualNetwork}: ${az.placement.controlPlaneSubnet.name}, ${az.placement.workerSubnet.name}` : 'dynamic'],
    ['Storage', az.storage ? `${az.storage.account}/${az.storage.container || ''}` : 'generated'],
    ['Pools', obj.spec.machinePools.map((p) => `${p.name} × ${p.count}`).join(', ')]];
}

// STEP_RENDERERS draw each step's pane from the state, in the order of STEPS.
const STEP_RENDERERS = [basicsStep, profilesStep, valuesStep, configStep, poolsStep, reviewStep];

// loadLists fetches the cloud accounts and profiles the steps offer (none on a failure).
async function loadLists(s) {
  try {
    [s.accounts, s.profiles] = await Promise.all([
      get('/cloudaccounts').then((r) => r.items || []).catch(() => []),
      get('/clusterprofiles').then((r) => r.items || []).catch(() => []),
    ]);
  } catch { /* the steps say what is missing */ }
  if (s.accounts.length === 1) s.obj.spec.cloudAccount = s.accounts[0].metadata.name;
}

// render draws the wizard into view and opens its first step.
export async function render(view) {
  const s = newState(view);
  layout(s);
  view.addEventListener('input', clearFieldError);
  view.addEventListener('change', clearFieldError);
  wireButtons(s);
  await loadLists(s);
  await go(s, 0);
  return undefined;
}
