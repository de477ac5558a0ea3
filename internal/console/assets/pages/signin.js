// pages/signin.js: the password sign-in (POST /console/session sets the session cookie).
import { get, post } from '../api.js';
import { field, fill, h } from '../dom.js';

export async function render(view, _params, session) {
  const user = h('input', { id: 'signin-user', name: 'user', autocomplete: 'username', required: true });
  const password = h('input', { id: 'signin-password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const error = h('p', { id: 'signin-error', class: 'error-text', role: 'alert' });
  const submit = h('button', { id: 'signin-submit', type: 'submit' }, 'Sign in');
  const entra = h('p', { class: 'muted', id: 'signin-entra' });
  const form = h('form', { class: 'card signin', novalidate: true },
    h('h1', {}, 'Sign in to strata'),
    field('User name', user), field('Password', password), error, submit, entra);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.textContent = '';
    submit.disabled = true;
    try {
      const s = await post('/console/session', { user: user.value.trim(), password: password.value });
      password.value = '';
      session.signedIn(s.user);
      session.go('#/clusters');
    } catch (e) {
      error.textContent = e.status === 401 ? 'Wrong user name or password.' : e.message;
      submit.disabled = false;
      password.focus();
    }
  });
  fill(view, form);
  user.focus();
  // A sign-in with Entra ID that failed comes back as #/signin?error=...
  const failed = new URLSearchParams(location.hash.split('?')[1] || '').get('error');
  if (failed) error.textContent = failed;
  get('/auth/config', { quiet401: true }).then((cfg) => {
    if (cfg && cfg.entra) {
      // The server runs the sign-in (code flow with PKCE) and sets the session cookie.
      fill(entra, h('a', { id: 'signin-entra-link', class: 'button', href: '/console/entra/login' }, 'Sign in with Entra ID'));
    }
  }).catch(() => {});
}
