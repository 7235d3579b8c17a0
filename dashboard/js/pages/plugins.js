// SPDX-License-Identifier: BSD-2-Clause
// Plugins: the broker's plugins, started or stopped with one button.

import { api, seg } from '../api.js';
import { h, fill } from '../dom.js';
import { every } from '../poll.js';

export function mount(el, ctx) {
  const node = seg(ctx.node);
  const body = h('tbody');
  fill(el, h('h2', null, 'Plugins'),
    h('table', { class: 'list', id: 'plugins-table' },
      h('thead', null, h('tr', null, ['Name', 'Version', 'Description', 'Status', '']
        .map((t) => h('th', null, t)))), body));
  let shown = null;

  async function toggle(p, btn) {
    btn.disabled = true;
    try {
      await api('PUT', `nodes/${node}/plugins/${seg(p.name)}`, { active: !p.active });
    } catch (e) {
      ctx.error(e, `${p.active ? 'stop' : 'start'} ${p.name}`);
    }
    shown = null;
    await load();
  }

  async function load() {
    try {
      const list = await api('GET', `nodes/${node}/plugins`);
      const key = JSON.stringify(list);
      if (key === shown) return;
      shown = key;
      fill(body, list.map((p) => {
        const btn = h('button', { type: 'button', class: p.active ? 'danger toggle' : 'toggle',
          id: `plugin-${p.name}`, onclick: () => toggle(p, btn) }, p.active ? 'Stop' : 'Start');
        return h('tr', { 'data-plugin': p.name },
          h('td', null, p.name), h('td', null, p.version), h('td', null, p.description),
          h('td', { class: p.active ? 'ok' : 'off' }, p.active ? 'running' : 'stopped'),
          h('td', null, ctx.readonly ? null : btn));
      }));
      el.dataset.loaded = String(Date.now());
    } catch (e) {
      ctx.error(e, 'plugins');
    }
  }
  const stop = every(5000, load);
  return { unmount: stop };
}
