// SPDX-License-Identifier: BSD-2-Clause
// Topics: the routing table (one row per topic filter subscribed on the
// node), paged; search by exact topic filter.

import { api, seg } from '../api.js';
import { h, fill } from '../dom.js';
import { pagedTable } from '../table.js';

export function mount(el, ctx) {
  const table = pagedTable({
    id: 'topics',
    columns: [
      ['Topic filter', (o) => o.topic],
      ['Node', (o) => o.node],
    ],
    page: (p, n) => api('GET', `routes?curr_page=${p}&page_size=${n}`),
    search: async (t) => {
      const r = await api('GET', `routes/${seg(t)}`);
      return Array.isArray(r) ? r : r.objects;
    },
    searchLabel: 'exact topic filter',
    empty: 'No routes: nobody is subscribed.',
    onError: (e) => ctx.error(e, 'topics'),
  });
  fill(el, h('h2', null, 'Topics'), table.el);
  table.start();
  return { unmount: () => table.stop() };
}
