// SPDX-License-Identifier: BSD-2-Clause
// Sessions: the paged list, search by exact client id.

import { api, seg } from '../api.js';
import { h, fill } from '../dom.js';
import { pagedTable } from '../table.js';

export function mount(el, ctx) {
  const node = seg(ctx.node);
  const table = pagedTable({
    id: 'sessions',
    columns: [
      ['Client id', (o) => o.client_id],
      ['Clean', (o) => (o.clean_sess ? 'yes' : 'no')],
      ['Subscriptions', (o) => o.subscriptions, 'num'],
      ['Inflight', (o) => `${o.inflight_len} / ${o.max_inflight}`, 'num'],
      ['Queued', (o) => o.mqueue_len, 'num'],
      ['Dropped', (o) => o.mqueue_dropped, 'num'],
      ['Awaiting PUBREL', (o) => o.awaiting_rel_len, 'num'],
      ['Delivered', (o) => o.deliver_msg, 'num'],
      ['Enqueued', (o) => o.enqueue_msg, 'num'],
      ['Created at', (o) => o.created_at],
    ],
    page: (p, n) => api('GET', `nodes/${node}/sessions?curr_page=${p}&page_size=${n}`),
    search: async (id) => (await api('GET', `sessions/${seg(id)}`)).objects,
    searchLabel: 'exact client id',
    empty: 'No sessions.',
    onError: (e) => ctx.error(e, 'sessions'),
  });
  fill(el, h('h2', null, 'Sessions'), table.el);
  table.start();
  return { unmount: () => table.stop() };
}
