// SPDX-License-Identifier: BSD-2-Clause
// Alarms: what the node raises (none, when all is well).

import { api, seg } from '../api.js';
import { h, fill } from '../dom.js';
import { every } from '../poll.js';

export function mount(el, ctx) {
  const box = h('div', { id: 'alarms-list' });
  fill(el, h('h2', null, 'Alarms'), box);
  const stop = every(5000, async () => {
    try {
      const list = await api('GET', `nodes/${seg(ctx.node)}/alarms`);
      fill(box, list.length
        ? h('table', { class: 'list' },
          h('thead', null, h('tr', null, h('th', null, 'Id'), h('th', null, 'Description'))),
          h('tbody', null, list.map((a) => h('tr', null,
            h('td', null, a.id || a.alarm_id || ''),
            h('td', null, a.desc || a.description || a.message || JSON.stringify(a))))))
        : h('p', { class: 'quiet' }, 'No alarms.'));
      el.dataset.loaded = String(Date.now());
    } catch (e) {
      ctx.error(e, 'alarms');
    }
  });
  return { unmount: stop };
}
