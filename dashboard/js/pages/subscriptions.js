// SPDX-License-Identifier: BSD-2-Clause
// Subscriptions: the paged list, search by exact client id.

import { api, seg } from '../api.js';
import { h, fill } from '../dom.js';
import { pagedTable } from '../table.js';

export function mount(el, ctx) {
  const node = seg(ctx.node);
  const table = pagedTable({
    id: 'subscriptions',
    columns: [
      ['Client id', (o) => o.client_id],
      ['Topic filter', (o) => o.topic],
      ['QoS', (o) => o.qos, 'num'],
    ],
    page: (p, n) => api('GET', `nodes/${node}/subscriptions?curr_page=${p}&page_size=${n}`),
    search: async (id) => (await api('GET', `subscriptions/${seg(id)}`)).objects,
    searchLabel: 'exact client id',
    empty: 'No subscriptions.',
    onError: (e) => ctx.error(e, 'subscriptions'),
  });
  fill(el, h('h2', null, 'Subscriptions'), table.el);
  table.start();
  return { unmount: () => table.stop() };
}
