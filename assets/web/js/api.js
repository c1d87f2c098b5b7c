// Talking to this server's APIs: one fetch wrapper that adds the bearer token when one is
// kept, decodes JSON answers and turns the API error shape {"error":{"code","message"}} into
// an ApiError. Every request goes to this page's own origin.

const TOKEN_KEY = 'ownhttp.token';

/** An ApiError carries the HTTP status (0 when the server could not be reached), the API
 * error code and its message. */
export class ApiError extends Error {
  constructor(status, code, message, data = null) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.data = data; // the decoded answer, when it was JSON (an import's report rides on its 400)
  }
}

const unauthorizedListeners = new Set();

/** The token kept for this tab (sessionStorage), and who to tell when an API says 401. */
export const auth = {
  get token() {
    try {
      return sessionStorage.getItem(TOKEN_KEY) || '';
    } catch {
      return '';
    }
  },
  set token(value) {
    try {
      if (value) sessionStorage.setItem(TOKEN_KEY, value);
      else sessionStorage.removeItem(TOKEN_KEY);
    } catch {
      // storage unavailable (private mode policies): the token lives for this call only
    }
  },
  /** onUnauthorized registers fn to run whenever an API answers 401. */
  onUnauthorized(fn) {
    unauthorizedListeners.add(fn);
  },
  unauthorized() {
    for (const fn of unauthorizedListeners) fn();
  },
};

/** authHeaders returns the Authorization header for the kept token, if any. */
export function authHeaders() {
  const t = auth.token;
  return t ? { Authorization: `Bearer ${t}` } : {};
}

/**
 * api sends one request and resolves to {status, data, text, headers, elapsed} for a 2xx
 * answer; any other answer rejects with an ApiError. body: undefined for none, a string sent
 * as it is (pasted JSON), or a value sent as JSON. contentType: the body's media type when it
 * is not JSON (a file sent as it is).
 */
export async function api(method, path, body, contentType = 'application/json') {
  const headers = { Accept: 'application/json', ...authHeaders() };
  let payload;
  if (body !== undefined) {
    headers['Content-Type'] = contentType;
    payload = typeof body === 'string' || body instanceof Blob ? body : JSON.stringify(body);
  }
  const started = performance.now();
  let res;
  try {
    res = await fetch(path, { method, headers, body: payload, cache: 'no-store', credentials: 'same-origin', redirect: 'error' });
  } catch {
    throw new ApiError(0, 'unreachable', 'the server cannot be reached');
  }
  const text = await res.text().catch(() => '');
  const elapsed = performance.now() - started;
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (res.status === 401) auth.unauthorized();
  if (!res.ok) {
    const e = data && typeof data === 'object' ? data.error : null;
    const code = e && typeof e.code === 'string' ? e.code : `http_${res.status}`;
    const message = e && typeof e.message === 'string' ? e.message : text.trim() || res.statusText;
    throw new ApiError(res.status, code, message, data);
  }
  return { status: res.status, data, text, headers: res.headers, elapsed };
}

/** query renders an object as a query string, leaving out empty values. */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && String(v) !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}
