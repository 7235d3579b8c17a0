// SPDX-License-Identifier: BSD-2-Clause
// Listeners: every kind (mqtt:tcp, mqtt:ssl, mqtt:ws, mqtt:wss, the API's
// own), with current / max clients.

import { api, seg } from '../api.js';
import { h, fill, fmtNum } from '../dom.js';
import { every } from '../poll.js';

export function mount(el, ctx) {
  const body = h('tbody');
  fill(el, h('h2', null, 'Listeners'),
    h('table', { class: 'list', id: 'listeners-table' },
      h('thead', null, h('tr', null, ['Protocol', 'Listen', 'Acceptors', 'Clients (current / max)', '']
        .map((t) => h('th', null, t)))), body));
  const stop = every(5000, async () => {
    try {
      const r = await api('GET', `monitoring/listeners/${seg(ctx.node)}`);
      const list = Array.isArray(r) ? r : (r[ctx.node] || []);
      fill(body, list.map((l) => {
        const pct = l.max_clients > 0 ? Math.min(100, (100 * l.current_clients) / l.max_clients) : 0;
        return h('tr', null,
          h('td', null, l.protocol), h('td', null, l.listen),
          h('td', { class: 'num' }, l.acceptors),
          h('td', { class: 'num' }, `${fmtNum(l.current_clients)} / ${fmtNum(l.max_clients)}`),
          h('td', null, h('meter', { min: '0', max: '100', value: String(pct) })));
      }));
      el.dataset.loaded = String(Date.now());
    } catch (e) {
      ctx.error(e, 'listeners');
    }
  });
  return { unmount: stop };
}
