// SPDX-License-Identifier: BSD-2-Clause
// The dashboard's shell: login, navigation (#/page), the error line, and
// the node status in the header.  Each page is a module in pages/ with
// mount(el, ctx) -> { unmount() }.

import { api, credentials, login, setUnauthorizedHandler, ApiError } from './api.js';
import { h, fill } from './dom.js';
import { Sampler } from './sampler.js';

const PAGES = [
  ['overview', 'Overview'],
  ['clients', 'Clients'],
  ['sessions', 'Sessions'],
  ['subscriptions', 'Subscriptions'],
  ['topics', 'Topics'],
  ['listeners', 'Listeners'],
  ['plugins', 'Plugins'],
  ['users', 'Users'],
  ['alarms', 'Alarms'],
  ['metrics', 'Metrics'],
  ['websocket', 'WebSocket'],
];

const $ = (id) => document.getElementById(id);

const state = {
  node: null,        // node name, from management/nodes
  role: 'admin',     // 'admin' or 'viewer' (read-only), from users/{name}
  page: null,        // the mounted page: { name, handle }
  sampler: null,
  seq: 0,            // bumps on every navigation: late answers are dropped
};

// The error line: the API's own message, newest first, a few kept.
function showError(err, what) {
  const msg = err instanceof ApiError
    ? (err.code >= 100 && err.code < 200 ? `API error ${err.code}: ${err.message}` : err.message)
    : String(err && err.message ? err.message : err);
  const box = $('errors');
  const line = h('div', { class: 'err' }, what ? `${what}: ${msg}` : msg,
    h('button', { type: 'button', class: 'x', title: 'dismiss',
      onclick: () => line.remove() }, '\u00d7'));
  box.prepend(line);
  while (box.children.length > 4) box.lastChild.remove();
  setTimeout(() => line.remove(), 15000);
}

function clearErrors() {
  fill($('errors'));
}

function setStatus(status) {
  const el = $('node-status');
  el.textContent = status || '';
  el.className = `status ${status === 'Running' ? 'ok' : 'bad'}`;
}

function ctx() {
  return {
    node: state.node,
    readonly: state.role === 'viewer',
    user: credentials.get().user,
    error: showError,
    sampler: state.sampler,
    logout,
  };
}

async function showPage(name) {
  if (!PAGES.some(([p]) => p === name)) name = 'overview';
  if (state.page) {
    state.page.handle.unmount();
    state.page = null;
  }
  const seq = ++state.seq;
  for (const a of $('nav').querySelectorAll('a')) {
    a.classList.toggle('active', a.dataset.page === name);
  }
  const el = fill($('page'));
  el.dataset.page = '';
  let mod;
  try {
    mod = await import(`./pages/${name}.js`);
  } catch (e) {
    showError(e, `loading ${name}`);
    return;
  }
  if (seq !== state.seq) return;
  state.page = { name, handle: mod.mount(el, ctx()) };
  el.dataset.page = name;   // mounted (the tests wait for this)
}

function route() {
  if (!credentials.get()) return;
  showPage((location.hash.replace(/^#\/?/, '') || 'overview').split('/')[0]);
}

function buildNav() {
  fill($('nav'), PAGES.map(([p, title]) =>
    h('a', { href: `#/${p}`, 'data-page': p, id: `nav-${p}` }, title)));
}

async function start() {
  const c = credentials.get();
  let nodes;
  try {
    nodes = await api('GET', 'management/nodes');
  } catch (e) {
    if (e.code === 401) return;      // handled: back to the login form
    showError(e, 'node');
    nodes = [];
  }
  state.node = nodes.length ? nodes[0].name : null;
  setStatus(nodes.length ? nodes[0].node_status : 'Unknown');
  state.role = 'admin';
  try {
    const u = await api('GET', `users/${encodeURIComponent(c.user)}`);
    if (u && u.role === 'viewer') state.role = 'viewer';
  } catch (e) {
    if (e.code === 401) return;
  }
  fill($('node-name'), state.node || '');
  fill($('whoami'), c.user, state.role === 'viewer' ? ' (viewer)' : '');
  document.body.classList.toggle('readonly', state.role === 'viewer');
  $('login').hidden = true;
  $('shell').hidden = false;
  state.sampler = new Sampler(state.node, {
    onStatus: setStatus,
    onError: (e) => {
      if (e.code !== 401) showError(e);
    },
  });
  state.sampler.start();
  buildNav();
  route();
}

function stop() {
  if (state.page) state.page.handle.unmount();
  state.page = null;
  state.seq++;
  if (state.sampler) state.sampler.stop();
  state.sampler = null;
  fill($('page'));
  clearErrors();
}

function logout(message) {
  credentials.clear();
  stop();
  $('shell').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = message || '';
  $('login-pass').value = '';
  $('login-user').focus();
}

async function onLogin(ev) {
  ev.preventDefault();
  const user = $('login-user').value;
  const pass = $('login-pass').value;
  const btn = $('login-submit');
  $('login-error').textContent = '';
  btn.disabled = true;
  try {
    await login(user, pass);
  } catch (e) {
    $('login-error').textContent = e.code === 401 || e.code === 103
      ? 'Wrong username or password.'
      : `Login failed: ${e.message}`;
    $('login-pass').value = '';
    return;
  } finally {
    btn.disabled = false;
  }
  $('login-pass').value = '';
  start();
}

setUnauthorizedHandler(() => logout('Your session has ended: log in again.'));
$('login').addEventListener('submit', onLogin);
$('logout').addEventListener('click', () => logout());
window.addEventListener('hashchange', route);
if (credentials.get()) start();
else logout();
