// dom.js: building elements without innerHTML, so nothing the server sends is read as markup.

// h makes an element: attrs are attributes (on* keys become listeners, class, for, data-*,
// boolean true sets an empty attribute, false/null leaves it out); children are nodes or text.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === false || v === null || v === undefined) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'value') el.value = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

// clear empties el and appends children.
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// age is a short duration since an RFC 3339 time, as kubectl prints it.
export function age(ts) {
  if (!ts) return '';
  const s = Math.max(0, Math.floor((Date.now() - new Date(ts).getTime()) / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 120) return `${m}m`;
  const hh = Math.floor(m / 60);
  if (hh < 48) return `${hh}h`;
  return `${Math.floor(hh / 24)}d`;
}

// field is a labelled input: label text, the input element (whose id the label names), and
// an error slot for the server's messages about path.
export function field(label, input, path, hint) {
  return h('div', { class: 'field' },
    h('label', { for: input.id }, label),
    input,
    hint ? h('small', { class: 'hint' }, hint) : null,
    path ? h('div', { class: 'field-error', 'data-error-for': path, role: 'alert' }) : null);
}

// errorBox shows an error's message, with its errors[] as a list.
export function errorBox(err, id) {
  const box = h('div', { class: 'error', role: 'alert', id: id || null }, err.message || String(err));
  if (err.errors && err.errors.length) {
    box.append(h('ul', {}, err.errors.map((e) => h('li', {}, `${e.field}: ${e.message} (${e.rule})`))));
  }
  return box;
}

// download saves text as a file named name, through a Blob URL.
export function download(name, text, type = 'application/yaml') {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = h('a', { href: url, download: name, class: 'hidden' });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}
