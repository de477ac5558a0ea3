// pages/lookup.js: a dropdown filled from a lookup, with its own loading and error state and
// a free-text fallback (used when the lookup fails, or when the user prefers to type).
import { h } from '../dom.js';

// lookupField makes a labelled select #id whose options come from load() (a promise of
// [{value, label, group}]), and a text input #id-text used instead in text mode. onChange(value)
// is called when the user picks or types. path is the spec field its errors belong to.
export function lookupField({ id, label, path, empty, onChange }) {
  const select = h('select', { id, 'aria-describedby': `${id}-state` });
  const text = h('input', { id: `${id}-text`, class: 'hidden', autocomplete: 'off', 'aria-label': `${label} (typed)` });
  const state = h('span', { id: `${id}-state`, class: 'lookup-state muted', role: 'status' });
  const toggle = h('button', { type: 'button', class: 'link', id: `${id}-toggle` }, 'Type it instead');
  let manual = false;
  let current = '';
  let seq = 0;
  const setManual = (on) => {
    manual = on;
    select.classList.toggle('hidden', on);
    text.classList.toggle('hidden', !on);
    toggle.textContent = on ? 'Pick from the list' : 'Type it instead';
  };
  toggle.addEventListener('click', () => {
    setManual(!manual);
    if (manual) { text.value = current; text.focus(); } else { select.focus(); }
  });
  select.addEventListener('change', () => { current = select.value; onChange(current); });
  text.addEventListener('input', () => { current = text.value.trim(); onChange(current); });
  const el = h('div', { class: 'field lookup' },
    h('label', { for: id }, label),
    h('div', { class: 'lookup-row' }, select, text, toggle),
    state,
    path ? h('div', { class: 'field-error', 'data-error-for': path, role: 'alert' }) : null);

  const options = (items) => {
    select.replaceChildren(h('option', { value: '' }, empty || '— choose —'));
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
  };

  return {
    el, select, text,
    get value() { return current; },
    set(v) { current = v || ''; text.value = current; select.value = current; },
    // reload fills the list from load(); a failure shows its message and turns on text mode.
    async reload(load) {
      const mine = ++seq;
      state.textContent = 'Loading…';
      select.setAttribute('aria-busy', 'true');
      select.disabled = true;
      try {
        const items = await load();
        if (mine !== seq) return;
        options(items);
        state.textContent = items.length ? `${items.length} found` : 'None found: type a name instead';
        el.dataset.state = 'loaded';
        if (!items.length) setManual(true);
      } catch (e) {
        if (mine !== seq) return;
        options([]);
        state.textContent = `Could not list: ${e.message}`;
        el.dataset.state = 'error';
        setManual(true);
      } finally {
        if (mine === seq) { select.disabled = false; select.removeAttribute('aria-busy'); }
      }
    },
    idle(message) { seq++; options([]); state.textContent = message || ''; el.dataset.state = 'idle'; },
  };
}
