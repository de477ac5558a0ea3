// app.js: the console's shell and router. Routes are location.hash paths; each page module
// exports render(view, params) and may return a function that stops what it started
// (watches) when the user leaves the page.
import { get, del, onUnauthorized } from './api.js';
import { fill, h } from './dom.js';

const routes = [
  [/^#\/signin(?:\?.*)?$/, () => import('./pages/signin.js'), 'signin'],
  [/^#\/clusters$/, () => import('./pages/fleet.js'), 'clusters'],
  [/^#\/clusters\/([^/]+)$/, () => import('./pages/cluster.js'), 'clusters'],
  [/^#\/create$/, () => import('./pages/wizard.js'), 'clusters'],
  [/^#\/profiles$/, () => import('./pages/profiles.js'), 'profiles'],
  [/^#\/profiles\/([^/]+)$/, () => import('./pages/profiles.js'), 'profiles'],
  [/^#\/accounts$/, () => import('./pages/accounts.js'), 'accounts'],
  [/^#\/accounts\/([^/]+)$/, () => import('./pages/accounts.js'), 'accounts'],
  [/^#\/gateways$/, () => import('./pages/gateways.js'), 'gateways'],
  [/^#\/gateways\/([^/]+)$/, () => import('./pages/gateways.js'), 'gateways'],
];

const view = document.getElementById('view');
const shell = document.getElementById('shell');
let cleanup = null;
let user = null; // who is signed in, from /whoami

// session is what the pages share: who is signed in, and how to go to a route.
export const session = {
  get user() { return user; },
  signedIn(name) { user = name; showShell(); },
  go(hash) { if (location.hash === hash) route(); else location.hash = hash; },
};

function showShell() {
  document.getElementById('whoami').textContent = user || '';
  shell.classList.toggle('hidden', !user);
}

onUnauthorized(() => {
  user = null;
  showShell();
  if (!location.hash.startsWith('#/signin')) location.hash = '#/signin';
});

document.getElementById('signout').addEventListener('click', async () => {
  try { await del('/console/session'); } catch { /* the cookie is cleared anyway */ }
  user = null;
  showShell();
  location.hash = '#/signin';
});

async function route() {
  if (cleanup) { try { cleanup(); } catch { /* ignore */ } cleanup = null; }
  let hash = location.hash || '#/clusters';
  if (!user && !hash.startsWith('#/signin')) {
    try {
      const who = await get('/whoami', { quiet401: true });
      user = who.user || 'anonymous';
      showShell();
    } catch {
      location.hash = '#/signin';
      return;
    }
  }
  if (hash === '#/' || hash === '#') hash = '#/clusters';
  const found = routes.find(([re]) => re.test(hash));
  for (const a of document.querySelectorAll('[data-nav]')) {
    const cur = found && a.dataset.nav === found[2];
    if (cur) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  if (!found) { fill(view, h('h1', {}, 'Not found'), h('p', {}, h('a', { href: '#/clusters' }, 'Go to the clusters'))); return; }
  const params = hash.match(found[0]).slice(1).map(decodeURIComponent);
  const token = {};
  route.current = token;
  fill(view, h('p', { class: 'muted' }, 'Loading…'));
  try {
    const mod = await found[1]();
    if (route.current !== token) return;
    const c = await mod.render(view, params, session);
    if (route.current !== token) { if (c) c(); return; }
    cleanup = c || null;
  } catch (e) {
    fill(view, h('div', { class: 'error', role: 'alert' }, e.message || String(e)));
  }
}

window.addEventListener('hashchange', route);
route();
