// SPDX-License-Identifier: BSD-2-Clause
// The /api/v2 client of the dashboard.
//
// Credentials live only in this tab's sessionStorage (gone when the tab
// closes; other tabs and the disk never see them) and go out as a Basic
// header on each request.  Every request says X-Requested-With:
// XMLHttpRequest, on which nginx answers a 401 without the Basic challenge,
// so a wrong password never opens the browser's password dialog.

const KEY = 'mqttd.credentials';

export class ApiError extends Error {
  // code: the API's code (101, 102, ...), or the HTTP status when the
  // answer was not the API's envelope (401, 429, 5xx), or 0 when the API
  // could not be reached at all.
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

function b64utf8(s) {
  const bytes = new TextEncoder().encode(s);
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}

export const credentials = {
  get() {
    try {
      const v = JSON.parse(sessionStorage.getItem(KEY));
      return v && typeof v.user === 'string' && typeof v.token === 'string' ? v : null;
    } catch (e) {
      return null;
    }
  },
  set(user, password) {
    sessionStorage.setItem(KEY, JSON.stringify({
      user, token: b64utf8(`${user}:${password}`) }));
  },
  clear() {
    sessionStorage.removeItem(KEY);
  },
};

// Called on a 401 with stored credentials (password changed, user
// deleted): the app goes back to its login form.
let onUnauthorized = () => {};
export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

const HTTP_TEXT = {
  401: 'wrong username or password',
  403: 'not allowed for this user',
  429: 'too many attempts: wait a few seconds and try again',
  413: 'request too large',
};

// raw(method, path, body, auth): the fetch, with the headers and the
// error mapping; path is absolute ('/metrics') or below /api/v2/.
async function raw(method, path, body, auth) {
  const headers = { 'X-Requested-With': 'XMLHttpRequest' };
  const c = auth || credentials.get();
  if (c) headers.Authorization = `Basic ${c.token}`;
  const init = { method, headers, cache: 'no-store', credentials: 'omit' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const url = path.startsWith('/') ? path : `/api/v2/${path}`;
  let r;
  try {
    r = await fetch(url, init);
  } catch (e) {
    throw new ApiError(0, 'cannot reach the API');
  }
  if (r.status === 401 && !auth && c) onUnauthorized();
  if (!r.ok) {
    // The API's envelope when there is one (403 is {"code":115,...}).
    let j = null;
    try {
      j = await r.json();
    } catch (e) {
      j = null;
    }
    if (j && typeof j.code === 'number' && j.message) throw new ApiError(j.code, j.message);
    throw new ApiError(r.status, HTTP_TEXT[r.status] || `HTTP ${r.status} ${r.statusText}`);
  }
  return r;
}

// api('GET', 'monitoring/stats'): the result of a {"code":0} answer, or
// an ApiError carrying the API's own code and message.
export async function api(method, path, body, auth) {
  const r = await raw(method, path, body, auth);
  let j;
  try {
    j = await r.json();
  } catch (e) {
    throw new ApiError(r.status, 'the API answered something that is not JSON');
  }
  if (j.code !== 0) throw new ApiError(j.code, j.message || `error ${j.code}`);
  return j.result;
}

export async function text(path) {
  const r = await raw('GET', path);
  return r.text();
}

// Checks user/password with POST /api/v2/auth (the same pair as the
// Basic header and as the body); stores them when they are right.
export const FORBIDDEN = 115;   // a viewer's write (HTTP 403)

export async function login(user, password) {
  const token = { user, token: b64utf8(`${user}:${password}`) };
  try {
    await api('POST', 'auth', { username: user, password }, token);
  } catch (e) {
    // A viewer may not POST: its 403 comes after nginx and the worker
    // accepted the Basic header, so the password is right.
    if (e.code !== FORBIDDEN) throw e;
  }
  credentials.set(user, password);
}

// A path segment: every byte but unreserved ones %-encoded (client ids and
// topics may hold '/', '#', '?', '%').
export function seg(s) {
  return encodeURIComponent(s);
}
