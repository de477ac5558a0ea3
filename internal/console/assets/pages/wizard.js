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

export async function render(view) {
  let obj = newCluster();
  let step = 0;
  let yamlMode = false;
  let errors = [];            // the last dry run's errors ({field, rule, message})
  let generalError = null;    // a failure without field errors (403, 409, network)
  let validFor = null;        // the payload JSON that the last dry run accepted
  let accounts = [];
  let profiles = [];
  const vnets = new Map();    // option value "rg/name" → the lookup's item
  const storageRG = new Map(); // storage account name → its resource group

  const stepNav = h('ol', { class: 'steps', id: 'wizard-steps' });
  const panes = STEPS.map((_, i) => h('section', { class: 'step hidden', 'data-step': i, 'aria-label': STEPS[i] }));
  const general = h('div', { id: 'wizard-errors', role: 'alert' });
  const yamlArea = h('textarea', { id: 'wizard-yaml', rows: 28, spellcheck: 'false', class: 'code' });
  const yamlError = h('div', { id: 'wizard-yaml-error', class: 'error-text', role: 'alert' });
  const yamlPane = h('section', { class: 'hidden', id: 'wizard-yaml-pane' }, field('The cluster as YAML', yamlArea), yamlError);
  const toggle = h('button', { id: 'toggle-yaml', type: 'button', class: 'secondary', 'aria-pressed': 'false' }, 'Edit as YAML');
  const back = h('button', { id: 'wizard-back', type: 'button', class: 'secondary' }, 'Back');
  const next = h('button', { id: 'wizard-next', type: 'button' }, 'Next');
  const create = h('button', { id: 'wizard-create', type: 'button', disabled: true }, 'Create cluster');
  const busy = h('span', { id: 'wizard-busy', class: 'muted', role: 'status' });

  fill(view,
    h('p', {}, h('a', { href: '#/clusters' }, '← Clusters')),
    h('div', { class: 'page-head' }, h('h1', {}, 'Create a cluster'), toggle),
    stepNav, general, ...panes, yamlPane,
    h('div', { class: 'wizard-buttons' }, back, ' ', next, ' ', create, ' ', busy));

  // An edited field's old message goes until the next check.
  const clearField = (ev) => {
    const f = ev.target.closest && ev.target.closest('.field');
    const slot = f && f.querySelector('.field-error');
    if (slot) slot.replaceChildren();
  };
  view.addEventListener('input', clearField);
  view.addEventListener('change', clearField);

  // ---- validation ----
  const showErrors = () => {
    for (const el of view.querySelectorAll('[data-error-for]')) el.replaceChildren();
    const unplaced = [];
    for (const e of errors) {
      let p = e.field || '';
      let slot = null;
      while (p && !(slot = view.querySelector(`[data-error-for="${CSS.escape(p)}"]`))) p = parentPath(p);
      if (slot) slot.append(h('p', { class: 'error-text' }, `${e.message} (${e.rule})`));
      const s = stepOf(e.field || '');
      if (!slot || step === STEPS.length - 1) { if (!slot || s <= step) unplaced.push(e); }
    }
    fill(general);
    if (generalError) general.append(errorBox(generalError));
    if (unplaced.length && step === STEPS.length - 1) {
      general.append(h('div', { class: 'error' }, h('p', {}, 'Fix these before creating the cluster:'),
        h('ul', {}, unplaced.map((e) => h('li', {}, `${STEPS[stepOf(e.field)] || 'Cluster'} — ${e.field}: ${e.message}`)))));
    } else if (unplaced.filter((e) => stepOf(e.field) < 0).length) {
      general.append(h('ul', { class: 'error' }, unplaced.filter((e) => stepOf(e.field) < 0).map((e) => h('li', {}, `${e.field}: ${e.message}`))));
    }
    updateButtons();
  };

  const validate = async () => {
    const body = payload(obj);
    const key = JSON.stringify(body);
    busy.textContent = 'Checking…';
    try {
      await post('/clusters?dryRun=true', body);
      errors = []; generalError = null; validFor = key;
    } catch (e) {
      validFor = null;
      errors = e.errors || [];
      generalError = errors.length ? null : e;
    } finally {
      busy.textContent = '';
    }
    showErrors();
    return { key };
  };

  // blocking: the errors that keep the user on the current step.
  const blocking = () => generalError || errors.some((e) => { const s = stepOf(e.field || ''); return s >= 0 && s <= step; }) ||
    (step === STEPS.length - 1 && errors.length);

  function updateButtons() {
    back.disabled = step === 0 && !yamlMode;
    next.classList.toggle('hidden', step === STEPS.length - 1);
    create.disabled = !(step === STEPS.length - 1 && !yamlMode && validFor === JSON.stringify(payload(obj)) && !errors.length && !generalError);
  }
  const changed = () => { validFor = null; updateButtons(); };

  // ---- steps ----
  const steps = [basics, profilesStep, valuesStep, config, pools, review];

  function show() {
    fill(stepNav, STEPS.map((s, i) => h('li', { 'aria-current': i === step ? 'step' : null, class: i < step ? 'done' : '' }, `${i + 1}. ${s}`)));
    panes.forEach((p, i) => p.classList.toggle('hidden', yamlMode || i !== step));
    yamlPane.classList.toggle('hidden', !yamlMode);
    showErrors();
  }

  async function go(to) {
    steps[to]();
    step = to;
    show();
    const first = panes[step].querySelector('input, select, textarea, button');
    if (first) first.focus();
    if (step === STEPS.length - 1) await validate();
  }

  next.addEventListener('click', async () => {
    if (yamlMode && !fromYAML()) return;
    next.disabled = true;
    try {
      await validate();
      if (!blocking()) await go(step + 1);
    } finally { next.disabled = false; }
  });
  back.addEventListener('click', () => { if (yamlMode && !fromYAML()) return; if (step > 0) go(step - 1); });
  create.addEventListener('click', async () => {
    create.disabled = true;
    try {
      const c = await post('/clusters', payload(obj));
      location.hash = `#/clusters/${encodeURIComponent(c.metadata.name)}`;
    } catch (e) {
      errors = e.errors || []; generalError = errors.length ? null : e; validFor = null;
      showErrors();
    }
  });

  // ---- YAML ----
  function fromYAML() {
    let parsed;
    try {
      parsed = load(yamlArea.value);
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('the YAML must be one object (a Cluster)');
      if (!parsed.spec || typeof parsed.spec !== 'object') throw new Error('the object has no spec');
    } catch (e) {
      fill(yamlError, `YAML: ${e.message}`);
      return false;
    }
    fill(yamlError);
    parsed.metadata = parsed.metadata || { name: '' };
    parsed.spec.azure = parsed.spec.azure || {};
    parsed.spec.machinePools = parsed.spec.machinePools || [];
    parsed.spec.profiles = parsed.spec.profiles || [];
    obj = parsed;
    yamlMode = false;
    toggle.textContent = 'Edit as YAML';
    toggle.setAttribute('aria-pressed', 'false');
    changed();
    steps[step]();
    show();
    if (step === STEPS.length - 1) validate();
    return true;
  }
  toggle.addEventListener('click', () => {
    if (yamlMode) { fromYAML(); return; }
    yamlArea.value = dump(payload(obj));
    yamlMode = true;
    toggle.textContent = 'Back to the form';
    toggle.setAttribute('aria-pressed', 'true');
    show();
    yamlArea.focus();
  });

  // ---- step 1: basics ----
  function basics() {
    const name = h('input', { id: 'f-name', value: obj.metadata.name || '', autocomplete: 'off', spellcheck: 'false' });
    name.addEventListener('input', () => { obj.metadata.name = name.value.trim(); changed(); });
    const acct = h('select', { id: 'f-account' }, h('option', { value: '' }, '— choose —'),
      accounts.map((a) => h('option', { value: a.metadata.name, selected: a.metadata.name === obj.spec.cloudAccount }, a.metadata.name)));
    if (obj.spec.cloudAccount && !accounts.some((a) => a.metadata.name === obj.spec.cloudAccount)) acct.append(h('option', { value: obj.spec.cloudAccount, selected: true }, obj.spec.cloudAccount));
    acct.addEventListener('change', () => { obj.spec.cloudAccount = acct.value; changed(); });
    const type = h('select', { id: 'f-type' }, h('option', { value: 'iaas', selected: obj.spec.azure.type !== 'aks' }, 'IaaS (self-managed on VMs)'), h('option', { value: 'aks', selected: obj.spec.azure.type === 'aks' }, 'AKS (managed)'));
    type.addEventListener('change', () => {
      obj.spec.azure.type = type.value;
      obj.spec.profiles = [];
      obj.spec.machinePools = type.value === 'aks' ? [{ name: 'system', system: true, count: 1 }] : [{ name: 'control-plane', controlPlane: true, count: 1 }, { name: 'workers', count: 1 }];
      if (type.value === 'aks') delete obj.spec.azure.storage;
      changed();
    });
    const tags = h('textarea', { id: 'f-tags', rows: 3, spellcheck: 'false' }, (obj.spec.tags || []).join('\n'));
    tags.addEventListener('input', () => { obj.spec.tags = tags.value.split('\n').map((t) => t.trim()).filter(Boolean); changed(); });
    fill(panes[0], h('h2', {}, 'Basics'),
      field('Name', name, 'metadata.name', 'Lowercase letters, digits and -, at most 63 characters'),
      field('Cloud account', acct, 'spec.cloudAccount'),
      field('Type', type, 'spec.azure.type'),
      field('Tags (one key:value a line)', tags, 'spec.tags'));
  }

  // ---- step 2: profiles ----
  function fits(p) {
    const cloud = p.spec.cloud;
    return obj.spec.azure.type === 'aks' ? (cloud === 'aks' || cloud === 'all') : (cloud === 'azure' || cloud === 'all');
  }
  function profilesStep() {
    const infra = profiles.filter((p) => fits(p) && p.spec.type !== 'add-on');
    const addons = profiles.filter((p) => fits(p) && p.spec.type === 'add-on');
    const cur = obj.spec.profiles.find((r) => infra.some((p) => p.metadata.name === r.name));
    if (!cur && infra.length) {
      obj.spec.profiles.unshift({ name: infra[0].metadata.name, version: infra[0].spec.version });
    }
    const main = obj.spec.profiles.find((r) => infra.some((p) => p.metadata.name === r.name));
    const layersBox = h('div');
    const sel = h('select', { id: 'f-profile' }, infra.map((p) => {
      const k = `${p.metadata.name}@${p.spec.version}`;
      return h('option', { value: k, selected: main && main.name === p.metadata.name && main.version === p.spec.version }, `${p.metadata.name} ${p.spec.version} (${p.spec.type})`);
    }));
    const drawLayers = () => {
      fill(layersBox, obj.spec.profiles.map((r) => {
        const p = profiles.find((x) => x.metadata.name === r.name && x.spec.version === r.version);
        return h('div', { class: 'layers' }, h('h3', {}, `${r.name} ${r.version}`),
          p ? h('ol', {}, p.spec.layers.map((l) => h('li', {}, `${l.name} — ${l.type} ${l.version || ''}`))) : h('p', { class: 'muted' }, 'Unknown profile version'));
      }));
    };
    sel.addEventListener('change', () => {
      const [n, v] = sel.value.split('@');
      const i = obj.spec.profiles.findIndex((r) => infra.some((p) => p.metadata.name === r.name));
      const ref = { name: n, version: v };
      if (i >= 0) obj.spec.profiles[i] = ref; else obj.spec.profiles.unshift(ref);
      changed(); drawLayers();
    });
    const addonBoxes = [...new Set(addons.map((p) => p.metadata.name))].map((n) => {
      const versions = addons.filter((p) => p.metadata.name === n).map((p) => p.spec.version);
      const on = obj.spec.profiles.find((r) => r.name === n);
      const cb = h('input', { type: 'checkbox', id: `f-addon-${n}`, checked: !!on });
      const ver = h('select', { id: `f-addon-${n}-version`, 'aria-label': `Version of ${n}` }, versions.map((v) => h('option', { value: v, selected: on && on.version === v }, v)));
      const upd = () => {
        obj.spec.profiles = obj.spec.profiles.filter((r) => r.name !== n);
        if (cb.checked) obj.spec.profiles.push({ name: n, version: ver.value });
        changed(); drawLayers();
      };
      cb.addEventListener('change', upd);
      ver.addEventListener('change', upd);
      return h('div', { class: 'check' }, cb, h('label', { for: cb.id }, n), ' ', ver);
    });
    drawLayers();
    fill(panes[1], h('h2', {}, 'Profiles'),
      infra.length ? field('Infrastructure profile', sel, 'spec.profiles') : h('p', { class: 'error-text', 'data-error-for': 'spec.profiles' }, 'No profile fits this cluster type.'),
      addonBoxes.length ? h('fieldset', {}, h('legend', {}, 'Add-on profiles'), addonBoxes) : null,
      h('h3', {}, 'Layers'), layersBox);
  }

  // ---- step 3: layer values ----
  function valuesStep() {
    fill(panes[2], h('h2', {}, 'Layer values'), h('p', { class: 'muted' }, 'YAML merged over each layer\'s values for this cluster only. Leave empty to keep the profile\'s.'),
      obj.spec.profiles.map((r, i) => {
        const p = profiles.find((x) => x.metadata.name === r.name && x.spec.version === r.version);
        return h('fieldset', {}, h('legend', {}, `${r.name} ${r.version}`), h('div', { 'data-error-for': `spec.profiles[${i}].values`, class: 'field-error', role: 'alert' }),
          (p ? p.spec.layers : []).map((l) => {
            const ta = h('textarea', { id: `f-values-${i}-${l.name}`, rows: 4, spellcheck: 'false', class: 'code' }, (r.values && r.values[l.name]) || '');
            ta.addEventListener('input', () => {
              r.values = r.values || {};
              if (ta.value.trim()) r.values[l.name] = ta.value; else delete r.values[l.name];
              changed();
            });
            return h('div', {}, field(`${l.name} (${l.type})`, ta, `spec.profiles[${i}].values.${l.name}`),
              l.values ? h('details', {}, h('summary', {}, 'The profile\'s values'), h('pre', { class: 'code' }, l.values)) : null);
          }));
      }));
  }

  // ---- step 4: cluster config ----
  function config() {
    const az = obj.spec.azure;
    const acct = () => encodeURIComponent(obj.spec.cloudAccount);
    const lk = (what, q) => get(`/cloudaccounts/${acct()}/lookups/${what}?${new URLSearchParams(q)}`).then((r) => (r && r.items) || []);
    const sub = () => ({ subscriptionID: az.subscriptionID });

    if (!obj.spec.cloudAccount) { fill(panes[3], h('h2', {}, 'Cluster config'), h('p', { class: 'error-text' }, 'Pick a cloud account in Basics first.')); return; }
    const subscription = lookupField({ id: 'f-subscription', label: 'Subscription', path: 'spec.azure.subscriptionID', onChange: (v) => { az.subscriptionID = v; changed(); subDependents(); } });
    const loc = lookupField({ id: 'f-location', label: 'Location', path: 'spec.azure.location', onChange: (v) => { az.location = v; changed(); } });
    const rg = lookupField({ id: 'f-resourceGroup', label: 'Resource group (must exist)', path: 'spec.azure.resourceGroup', onChange: (v) => { az.resourceGroup = v; changed(); if (az.type !== 'aks' && az.subscriptionID) sa.reload(loadStorage); } });
    const ssh = h('textarea', { id: 'f-ssh', rows: 3, spellcheck: 'false', class: 'code' }, az.sshPublicKey || '');
    ssh.addEventListener('input', () => { az.sshPublicKey = ssh.value.trim(); changed(); });
    const placement = h('select', { id: 'f-placement' }, h('option', { value: 'dynamic', selected: !az.placement }, 'Dynamic: strata creates the network'), h('option', { value: 'static', selected: !!az.placement }, 'Static: an existing VNet and subnets'));
    const staticBox = h('div', { class: 'static-placement' });
    const storageBox = h('div');
    subscription.set(az.subscriptionID); loc.set(az.location); rg.set(az.resourceGroup);

    // static placement
    const vnet = lookupField({ id: 'f-vnet', label: 'Virtual network', path: 'spec.azure.placement.virtualNetwork', onChange: (v) => pickVNet(v) });
    const cp = lookupField({ id: 'f-cp-subnet', label: 'Control-plane subnet', path: 'spec.azure.placement.controlPlaneSubnet.name', onChange: (v) => pickSubnet('controlPlaneSubnet', v) });
    const wk = lookupField({ id: 'f-worker-subnet', label: 'Worker subnet', path: 'spec.azure.placement.workerSubnet.name', onChange: (v) => pickSubnet('workerSubnet', v) });
    const text = (id, label, path, get0, set0) => {
      const i = h('input', { id, value: get0() || '', autocomplete: 'off', spellcheck: 'false' });
      i.addEventListener('input', () => { set0(i.value.trim()); changed(); });
      return { el: field(label, i, path), input: i };
    };
    const pl = () => az.placement;
    const vnetRG = text('f-vnet-rg', 'VNet resource group', 'spec.azure.placement.resourceGroup', () => pl() && pl().resourceGroup, (v) => { pl().resourceGroup = v; });
    const vnetCIDR = text('f-vnet-cidr', 'VNet CIDR', 'spec.azure.placement.cidr', () => pl() && pl().cidr, (v) => { pl().cidr = v; });
    const cpCIDR = text('f-cp-subnet-cidr', 'Control-plane subnet CIDR', 'spec.azure.placement.controlPlaneSubnet.cidr', () => pl() && pl().controlPlaneSubnet.cidr, (v) => { pl().controlPlaneSubnet.cidr = v; });
    const wkCIDR = text('f-worker-subnet-cidr', 'Worker subnet CIDR', 'spec.azure.placement.workerSubnet.cidr', () => pl() && pl().workerSubnet.cidr, (v) => { pl().workerSubnet.cidr = v; });
    const cpNSG = text('f-cp-nsg', 'Control-plane network security group', 'spec.azure.placement.controlPlaneSubnet.securityGroup', () => pl() && pl().controlPlaneSubnet.securityGroup, (v) => { pl().controlPlaneSubnet.securityGroup = v; });
    const wkNSG = text('f-worker-nsg', 'Worker network security group', 'spec.azure.placement.workerSubnet.securityGroup', () => pl() && pl().workerSubnet.securityGroup, (v) => { pl().workerSubnet.securityGroup = v; });
    const setText = (t, v) => { t.input.value = v || ''; };

    function subnetItems() {
      const v = vnets.get(`${pl().resourceGroup}/${pl().virtualNetwork}`);
      return (v ? v.subnets || [] : []).map((s) => ({ value: s.name, label: `${s.name} (${s.cidr})` }));
    }
    function pickVNet(v) {
      const item = vnets.get(v);
      const [r, n] = v.includes('/') ? v.split('/') : [pl().resourceGroup, v];
      pl().resourceGroup = r || ''; pl().virtualNetwork = n || '';
      if (item) pl().cidr = (item.addressSpaces || [])[0] || pl().cidr;
      setText(vnetRG, pl().resourceGroup); setText(vnetCIDR, pl().cidr);
      changed();
      cp.reload(async () => subnetItems()); wk.reload(async () => subnetItems());
    }
    function pickSubnet(which, name) {
      const v = vnets.get(`${pl().resourceGroup}/${pl().virtualNetwork}`);
      const s = v && (v.subnets || []).find((x) => x.name === name);
      pl()[which].name = name;
      if (s) { pl()[which].cidr = s.cidr || ''; if (s.nsg) pl()[which].securityGroup = lastSeg(s.nsg); }
      const [c, n] = which === 'controlPlaneSubnet' ? [cpCIDR, cpNSG] : [wkCIDR, wkNSG];
      setText(c, pl()[which].cidr); setText(n, pl()[which].securityGroup);
      changed();
    }
    async function loadVNets() {
      let items;
      try {
        items = await lk('virtualnetworks', sub());
        items = items.map((v) => ({ ...v, resourceGroup: v.resourceGroup || (v.id || '').split('/')[4] || '' }));
      } catch (e) {
        if (e.status !== 400) throw e;
        // A server whose VNet lookup needs a resource group: ask each one.
        items = [];
        for (const g of await lk('resourcegroups', sub())) {
          for (const v of await lk('virtualnetworks', { ...sub(), resourceGroup: g.name })) items.push({ ...v, resourceGroup: g.name });
        }
      }
      vnets.clear();
      return items.map((v) => {
        const key = `${v.resourceGroup}/${v.name}`;
        vnets.set(key, v);
        const subs = (v.subnets || []).map((s) => `${s.name} ${s.cidr}`).join(', ');
        return { value: key, group: v.resourceGroup, label: `${v.name} (${(v.addressSpaces || []).join(', ')}) — subnets: ${subs || 'none'}` };
      });
    }
    const drawStatic = () => {
      if (!az.placement) { fill(staticBox); return; }
      az.placement.controlPlaneSubnet = subnetOf(az.placement.controlPlaneSubnet);
      az.placement.workerSubnet = subnetOf(az.placement.workerSubnet);
      vnet.set(az.placement.virtualNetwork ? `${az.placement.resourceGroup}/${az.placement.virtualNetwork}` : '');
      cp.set(az.placement.controlPlaneSubnet.name); wk.set(az.placement.workerSubnet.name);
      fill(staticBox, h('div', { 'data-error-for': 'spec.azure.placement', class: 'field-error', role: 'alert' }),
        vnet.el, vnetRG.el, vnetCIDR.el, h('div', { class: 'two' }, h('div', {}, cp.el, cpCIDR.el, cpNSG.el), h('div', {}, wk.el, wkCIDR.el, wkNSG.el)));
    };
    placement.addEventListener('change', () => {
      if (placement.value === 'static') az.placement = az.placement || { resourceGroup: '', virtualNetwork: '', cidr: '', controlPlaneSubnet: subnetOf(), workerSubnet: subnetOf() };
      else delete az.placement;
      changed(); drawStatic();
      if (az.placement && az.subscriptionID) vnet.reload(loadVNets);
    });

    // custom storage (IaaS)
    const sa = lookupField({ id: 'f-storage-account', label: 'Storage account for the node image (in the cluster\'s resource group)', path: 'spec.azure.storage.account', empty: 'Generated by strata',
      onChange: (v) => { az.storage = { account: v, container: '' }; if (!v) delete az.storage; changed(); reloadContainers(); } });
    const ct = lookupField({ id: 'f-container', label: 'Container', path: 'spec.azure.storage.container', empty: 'Generated by strata',
      onChange: (v) => { if (az.storage) az.storage.container = v; changed(); } });
    sa.set(az.storage && az.storage.account); ct.set(az.storage && az.storage.container);
    async function loadStorage() {
      let items;
      try {
        items = await lk('storageaccounts', sub());
        items = items.map((s) => ({ ...s, resourceGroup: s.resourceGroup || (s.id || '').split('/')[4] || '' }));
      } catch (e) {
        if (e.status !== 400) throw e;
        items = [];
        for (const g of await lk('resourcegroups', sub())) {
          for (const s of await lk('storageaccounts', { ...sub(), resourceGroup: g.name })) items.push({ ...s, resourceGroup: g.name });
        }
      }
      storageRG.clear();
      // strata looks for the account in the cluster's resource group: others are shown, not offered.
      return items.map((s) => {
        storageRG.set(s.name, s.resourceGroup);
        const other = s.resourceGroup !== az.resourceGroup;
        return { value: s.name, group: s.resourceGroup, disabled: other, label: `${s.name} (${s.location || ''})${other ? ' — not in the cluster\'s resource group' : ''}` };
      });
    }
    function reloadContainers() {
      const a = az.storage && az.storage.account;
      if (!a) { ct.idle('Pick a storage account first'); return; }
      ct.reload(async () => {
        const g = storageRG.get(a);
        if (!g) throw new Error('the storage account\'s resource group is unknown: type the container');
        return (await lk('containers', { ...sub(), resourceGroup: g, storageAccount: a })).map((c) => ({ value: c.name }));
      });
    }

    function subDependents() {
      if (!az.subscriptionID || !obj.spec.cloudAccount) {
        for (const f of [loc, rg, vnet, sa]) f.idle('Pick a subscription first');
        return;
      }
      loc.reload(async () => (await lk('locations', sub())).map((l) => ({ value: l.name, label: `${l.displayName || l.name} (${l.name})${(l.zones || []).length ? ' — zones ' + l.zones.join(', ') : ' — no zones'}` })));
      rg.reload(async () => (await lk('resourcegroups', sub())).map((g) => ({ value: g.name })));
      if (az.placement) vnet.reload(loadVNets);
      if (az.type !== 'aks') sa.reload(loadStorage).then(reloadContainers);
    }

    subscription.reload(async () => {
      try {
        return (await get(`/cloudaccounts/${acct()}/lookups/subscriptions`)).items.map((s) => ({ value: s.subscriptionID, label: `${s.displayName || s.subscriptionID} (${s.subscriptionID})${s.state && s.state !== 'Enabled' ? ' — ' + s.state : ''}` }));
      } catch (e) {
        if (e.status !== 400 && e.status !== 404) throw e;
        // A server without the subscriptions lookup: the account's checked subscriptions.
        const a = await get(`/cloudaccounts/${acct()}`);
        const ids = (a.status && a.status.subscriptions) || [];
        if (!az.subscriptionID && ids.length === 1) { az.subscriptionID = ids[0]; subscription.set(ids[0]); changed(); subDependents(); }
        return ids.map((id) => ({ value: id }));
      }
    });
    subDependents();
    drawStatic();
    fill(panes[3], h('h2', {}, 'Cluster config'),
      subscription.el, h('div', { class: 'two' }, loc.el, rg.el),
      field('SSH public key of the nodes', ssh, 'spec.azure.sshPublicKey', 'ssh-rsa …, RSA of at least 2048 bits'),
      h('h3', {}, 'Network'), field('Placement', placement, 'spec.azure.placement'), staticBox,
      az.type === 'aks' ? null : [h('h3', {}, 'Storage'), h('div', { 'data-error-for': 'spec.azure.storage', class: 'field-error', role: 'alert' }), h('div', { class: 'two' }, sa.el, ct.el)], storageBox);
  }

  // ---- step 5: node pools ----
  function pools() {
    const aks = obj.spec.azure.type === 'aks';
    const list = h('div');
    const draw = () => fill(list, obj.spec.machinePools.map((p, i) => {
      const inp = (k, attrs, conv) => {
        const el = h('input', { id: `w-pool-${i}-${k}`, value: p[k] === undefined ? '' : (Array.isArray(p[k]) ? p[k].join(',') : p[k]), autocomplete: 'off', ...attrs });
        el.addEventListener('input', () => { const v = conv(el.value); if (v === undefined) delete p[k]; else p[k] = v; changed(); });
        return el;
      };
      const num = (v) => (v.trim() === '' ? undefined : Number(v));
      const role = h('input', { type: 'checkbox', id: `w-pool-${i}-role`, checked: !!(aks ? p.system : p.controlPlane) });
      role.addEventListener('change', () => { if (aks) p.system = role.checked; else p.controlPlane = role.checked; if (!role.checked) { delete p.system; delete p.controlPlane; } changed(); });
      const remove = h('button', { type: 'button', class: 'secondary', id: `w-pool-${i}-remove` }, 'Remove pool');
      remove.addEventListener('click', () => { obj.spec.machinePools.splice(i, 1); changed(); draw(); showErrors(); });
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
    }));
    const add = h('button', { type: 'button', class: 'secondary', id: 'w-add-pool' }, 'Add pool');
    add.addEventListener('click', () => { obj.spec.machinePools.push({ name: `pool${obj.spec.machinePools.length + 1}`, count: 1 }); changed(); draw(); });
    draw();
    fill(panes[4], h('h2', {}, 'Node pools'), h('div', { 'data-error-for': 'spec.machinePools', class: 'field-error', role: 'alert' }), list, add);
  }

  // ---- step 6: review ----
  function review() {
    const yaml = dump(payload(obj));
    const pre = h('pre', { id: 'review-yaml', class: 'code hidden' }, yaml);
    const cli = h('pre', { id: 'cli-command', class: 'code hidden' }, `cat > cluster.yaml <<'EOF'\n${yaml}EOF\nstrata apply -f cluster.yaml`);
    const showYaml = h('button', { type: 'button', class: 'secondary', id: 'show-yaml', 'aria-expanded': 'false' }, 'Show as YAML');
    const showCli = h('button', { type: 'button', class: 'secondary', id: 'show-cli', 'aria-expanded': 'false' }, 'CLI command');
    const tog = (b, el) => b.addEventListener('click', () => { el.classList.toggle('hidden'); b.setAttribute('aria-expanded', String(!el.classList.contains('hidden'))); });
    tog(showYaml, pre); tog(showCli, cli);
    const az = obj.spec.azure;
    fill(panes[5], h('h2', {}, 'Review'),
      h('dl', { class: 'summary', id: 'review-summary' }, [
        ['Name', obj.metadata.name], ['Account', obj.spec.cloudAccount], ['Type', az.type], ['Tags', (obj.spec.tags || []).join(', ')],
        ['Profiles', obj.spec.profiles.map((p) => `${p.name} ${p.version}`).join(', ')], ['Subscription', az.subscriptionID],
        ['Location', az.location], ['Resource group', az.resourceGroup],
        ['Placement', az.placement ? `${az.placement.resourceGroup}/${az.placement.virtualNetwork}: ${az.placement.controlPlaneSubnet.name}, ${az.placement.workerSubnet.name}` : 'dynamic'],
        ['Storage', az.storage ? `${az.storage.account}/${az.storage.container || ''}` : 'generated'],
        ['Pools', obj.spec.machinePools.map((p) => `${p.name} × ${p.count}`).join(', ')]].map(([k, v]) => [h('dt', {}, k), h('dd', {}, v || '—')])),
      showYaml, ' ', showCli, pre, cli);
  }

  // ---- start ----
  try {
    [accounts, profiles] = await Promise.all([
      get('/cloudaccounts').then((r) => r.items || []).catch(() => []),
      get('/clusterprofiles').then((r) => r.items || []).catch(() => []),
    ]);
  } catch { /* the steps say what is missing */ }
  if (accounts.length === 1) obj.spec.cloudAccount = accounts[0].metadata.name;
  await go(0);
  return undefined;
}
