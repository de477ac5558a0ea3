// api.js: the REST API of the strata server that serves this page, with the session cookie.
// Every call returns the parsed JSON answer or throws an ApiError carrying the Status body.

export const BASE = '/api/v1alpha1';

// ApiError is a failed request: status is the HTTP code, body the Status object (if any),
// errors its errors[] ({field, rule, message}).
export class ApiError extends Error {
  constructor(status, body, fallback) {
    super((body && body.message) || fallback || `HTTP ${status}`);
    this.status = status;
    this.body = body || null;
    this.errors = (body && Array.isArray(body.errors)) ? body.errors : [];
  }
}

// onUnauthorized is called when the server answers 401 (the session ended).
let unauthorized = () => {};
export function onUnauthorized(fn) { unauthorized = fn; }

async function parse(resp) {
  const text = await resp.text();
  if (!text) return null;
  if ((resp.headers.get('Content-Type') || '').includes('json')) {
    try { return JSON.parse(text); } catch { return text; }
  }
  return text;
}

// request sends method path (under /api/v1alpha1 unless it starts with /console) with a JSON
// body, and returns the answer's JSON (text for YAML answers).
export async function request(method, path, body, opts = {}) {
  const url = path.startsWith('/console') ? path : BASE + path;
  const init = { method, credentials: 'same-origin', headers: { Accept: opts.accept || 'application/json' } };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let resp;
  try {
    resp = await fetch(url, init);
  } catch (e) {
    throw new ApiError(0, null, `cannot reach the server: ${e.message}`);
  }
  const data = await parse(resp);
  if (!resp.ok) {
    if (resp.status === 401 && !opts.quiet401) unauthorized();
    throw new ApiError(resp.status, typeof data === 'object' ? data : null, typeof data === 'string' ? data : '');
  }
  return data;
}

export const get = (path, opts) => request('GET', path, undefined, opts);
export const put = (path, body) => request('PUT', path, body);
export const post = (path, body) => request('POST', path, body);
export const del = (path) => request('DELETE', path);

// key is the path segment of an object: name, or name@version for a profile.
export function keyOf(obj) {
  if (obj.kind === 'ClusterProfile' && obj.spec && obj.spec.version) return `${obj.metadata.name}@${obj.spec.version}`;
  return obj.metadata.name;
}

// canI asks the server whether the signed-in user may do verb on kind (plural), or on name.
export async function canI(verb, kind, name) {
  const q = new URLSearchParams({ verb, kind });
  if (name) q.set('name', name);
  try {
    return await get('/can-i?' + q);
  } catch (e) {
    return { allowed: false, reason: e.message };
  }
}

// watch streams the changes of plural (?watch=true JSON lines) to onEvent({type, object}),
// watching again from the last resourceVersion when the stream ends, and from scratch
// (after onEvent({type: 'RESET'})) when the server answers that it is Expired. It returns a
// function that stops it.
export function watch(plural, onEvent, { name } = {}) {
  const ctrl = new AbortController();
  let rv = '';
  let delay = 500;
  const run = async () => {
    while (!ctrl.signal.aborted) {
      const q = new URLSearchParams({ watch: 'true' });
      if (rv) q.set('resourceVersion', rv);
      if (name) q.set('name', name);
      try {
        const resp = await fetch(`${BASE}/${plural}?${q}`, { credentials: 'same-origin', signal: ctrl.signal });
        if (resp.status === 410) { rv = ''; onEvent({ type: 'RESET' }); continue; }
        if (resp.status === 401) { unauthorized(); return; }
        if (!resp.ok || !resp.body) throw new Error(`watch ${plural}: HTTP ${resp.status}`);
        delay = 500;
        const reader = resp.body.getReader();
        const dec = new TextDecoder();
        let buf = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += dec.decode(value, { stream: true });
          let i;
          while ((i = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, i).trim();
            buf = buf.slice(i + 1);
            if (!line) continue;
            const ev = JSON.parse(line);
            if (ev.type === 'ERROR') {
              if (ev.object && ev.object.code === 410) { rv = ''; onEvent({ type: 'RESET' }); }
              continue;
            }
            if (ev.object && ev.object.metadata && ev.object.metadata.resourceVersion) rv = ev.object.metadata.resourceVersion;
            onEvent(ev);
          }
        }
      } catch (e) {
        if (ctrl.signal.aborted) return;
        onEvent({ type: 'STREAM_ERROR', error: e });
      }
      if (ctrl.signal.aborted) return;
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 10000);
    }
  };
  run();
  return () => ctrl.abort();
}
