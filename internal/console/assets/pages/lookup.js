// pages/lookup.js: a dropdown filled from a lookup, with its own loading and error state and
// a free-text fallback (used when the lookup fails, or when the user prefers to type).
import { h } from '../dom.js';

// lookupParts makes a lookup's elements and its state (f): manual (text mode), current value, seq.
function lookupParts({ id, label, path, empty }) {
  const select = h('select', { id, 'aria-describedby': `${id}-state` });
  const text = h('input', { id: `${id}-text`, class: 'hidden', autocomplete: 'off', 'aria-label': `${label} (typed)` });
  const state = h('span', { id: `${id}-state`, class: 'lookup-state muted', role: 'status' });
  const toggle = h('button', { type: 'button', class: 'link', id: `${id}-toggle` }, 'Type it instead');
  const el = h('div', { class: 'field lookup' },
    h('label', { for: id }, label),
    h('div', { class: 'lookup-row' }, select, text, toggle),
    state,
    path ? h('div', { class: 'field-error', 'data-error-for': path, role: 'alert' }) : null);
  return { select, text, state, toggle, el, empty, manual: false, current: '', seq: 0 };
}

// setManual turns text mode on (the typed input) or off (the select).
function setManual(f, on) {
  f.manual = on;
  f.select.classList.toggle('hidden', on);
  f.text.classList.toggle('hidden', !on);
  f.toggle.textContent = on ? 'Pick from the list' : 'Type it instead';
}

// fillOptions replaces the select's options with items, grouped; a current value not listed stays.
function fillOptions(f, items) {
  const { select, current } = f;
  select.replaceChildren(h('option', { value: '' }, f.empty || '— choose —'));
  const groups = new Map();
  for (const it of items) {
    const opt = h('option', { value: it.value, selected: it.value === current, disabled: !!it.disabled }, it.label || it.value);
    if (it.group) {
      if (!groups.has(it.group)) { const g = h('optgroup', { label: it.group }); groups.set(it.group, g); select.append(g); }
      groups.get(it.group).append(opt);
    } else select.append(opt);
  }
  if (current && !items.some((i) => i.value === current)) {
    select.append(h('option', { value: current, selected: true }, `${current} (not listed)`));
  }
}

// reloadLookup fills the list from load(); a failure shows its message and turns on text mode.
// A reload overtaken by a newer one (or by idle) leaves no trace.
async function reloadLookup(f, load) {
  const { select, state, el } = f;
  const mine = ++f.seq;
  state.textContent = 'Loading…';
  select.setAttribute('aria-busy', 'true');
  select.disabled = true;
  try {
    const items = await load();
    if (mine !== f.seq) return;
    fillOptions(f, items);
    state.textContent = items.length ? `${items.length} found` : 'None found: type a name instead';
    el.dataset.state = 'loaded';
    if (!items.length) setManual(f, true);
  } catch (e) {
    if (mine !== f.seq) return;
    fillOptions(f, []);
    state.textContent = `Could not list: ${e.message}`;
    el.dataset.state = 'error';
    setManual(f, true);
  } finally {
    if (mine === f.seq) { select.disabled = false; select.removeAttribute('aria-busy'); }
  }
}

// lookupField makes a labelled select #id whose options come from load() (a promise of
// [{value, label, group}]), and a text input #id-text used instead in text mode. onChange(value)
// is called when the user picks or types. path is the spec field its errors belong to.
export function lookupField({ id, label, path, empty, onChange }) {
  const f = lookupParts({ id, label, path, empty });
  const { select, text, el } = f;
  f.toggle.addEventListener('click', () => {
    setManual(f, !f.manual);
    if (f.manual) { text.value = f.current; text.focus(); } else { select.focus(); }
  });
  select.addEventListener('change', () => { f.current = select.value; onChange(f.current); });
  text.addEventListener('input', () => { f.current = text.value.trim(); onChange(f.current); });
  return {
    el, select, text,
    get value() { return f.current; },
    set(v) { f.current = v || ''; text.value = f.current; select.value = f.current; },
    // reload fills the list from load(); a failure shows its message and turns on text mode.
    reload(load) { return reloadLookup(f, load); },
    idle(message) { f.seq++; fillOptions(f, []); f.state.textContent = message || ''; el.dataset.state = 'idle'; },
  };
}
