// SPDX-License-Identifier: BSD-2-Clause
// Users of the API (and of this dashboard): add, delete, change password.

import { api, seg } from '../api.js';
import { h, fill, confirmDialog } from '../dom.js';

export function mount(el, ctx) {
  const body = h('tbody');
  const msg = h('p', { class: 'note', id: 'users-msg', role: 'status' });
  const say = (t) => { msg.textContent = t; };
  let roles = false;   // the API reports roles (admin / viewer)

  async function load() {
    try {
      const list = await api('GET', 'users');
      roles = list.some((u) => 'role' in u);
      head.hidden = !roles;
      roleField.hidden = !roles;
      fill(body, list.map((u) => h('tr', { 'data-user': u.username },
        h('td', null, u.username), h('td', null, u.tags || ''),
        roles ? h('td', null, u.role || '') : null,
        h('td', null, ctx.readonly ? null : h('button', { type: 'button', class: 'danger',
          'data-delete': u.username, onclick: () => del(u.username) }, 'Delete')))));
      fill(pwUser, list.map((u) => h('option', { value: u.username,
        selected: u.username === ctx.user }, u.username)));
      el.dataset.loaded = String(Date.now());
    } catch (e) {
      ctx.error(e, 'users');
    }
  }

  async function del(name) {
    if (!await confirmDialog(`Delete user \u201c${name}\u201d?`, 'Delete')) return;
    try {
      await api('DELETE', `users/${seg(name)}`);
      say(`User \u201c${name}\u201d deleted.`);
    } catch (e) {
      ctx.error(e, `delete ${name}`);
    }
    load();
  }

  const addUser = h('input', { id: 'user-add-name', required: true, autocomplete: 'off' });
  const addPass = h('input', { id: 'user-add-pass', type: 'password', required: true, autocomplete: 'new-password' });
  const addTags = h('input', { id: 'user-add-tags', autocomplete: 'off' });
  const addRole = h('select', { id: 'user-add-role' },
    h('option', { value: 'admin' }, 'admin'), h('option', { value: 'viewer' }, 'viewer (read-only)'));
  const roleField = h('label', { hidden: true }, 'Role ', addRole);
  const addForm = h('form', { id: 'user-add', class: 'form',
    onsubmit: async (ev) => {
      ev.preventDefault();
      const u = { username: addUser.value, password: addPass.value, tags: addTags.value };
      if (roles) u.role = addRole.value;
      try {
        await api('POST', 'users', u);
        say(`User \u201c${u.username}\u201d added.`);
        addForm.reset();
      } catch (e) {
        ctx.error(e, `add ${u.username}`);
      }
      load();
    } },
  h('h3', null, 'Add a user'),
  h('label', null, 'Username ', addUser), h('label', null, 'Password ', addPass),
  h('label', null, 'Tags ', addTags), roleField,
  h('button', { type: 'submit', id: 'user-add-go' }, 'Add'));

  const pwUser = h('select', { id: 'user-pw-name' });
  const pwOld = h('input', { id: 'user-pw-old', type: 'password', required: true, autocomplete: 'current-password' });
  const pwNew = h('input', { id: 'user-pw-new', type: 'password', required: true, autocomplete: 'new-password' });
  const pwForm = h('form', { id: 'user-pw', class: 'form',
    onsubmit: async (ev) => {
      ev.preventDefault();
      const name = pwUser.value;
      try {
        await api('PUT', `change_pwd/${seg(name)}`, { old_pwd: pwOld.value, new_pwd: pwNew.value });
        pwForm.reset();
        say(`Password of \u201c${name}\u201d changed.`);
        if (name === ctx.user) ctx.logout('Password changed: log in with the new one.');
      } catch (e) {
        ctx.error(e, `change password of ${name}`);
      }
    } },
  h('h3', null, 'Change a password'),
  h('label', null, 'User ', pwUser), h('label', null, 'Old password ', pwOld),
  h('label', null, 'New password ', pwNew),
  h('button', { type: 'submit', id: 'user-pw-go' }, 'Change'));

  const head = h('th', { hidden: true }, 'Role');
  fill(el, h('h2', null, 'Users'), msg,
    h('table', { class: 'list', id: 'users-table' },
      h('thead', null, h('tr', null, h('th', null, 'Username'), h('th', null, 'Tags'), head, h('th', null, ''))),
      body),
    ctx.readonly ? null : h('div', { class: 'forms' }, addForm, pwForm));
  load();
  return { unmount() {} };
}
