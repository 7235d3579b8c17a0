// SPDX-License-Identifier: BSD-2-Clause
// Clients: the paged list, search by exact client id, a client's detail
// (its session and subscriptions) and kick, after a confirmation.

import { api, seg } from '../api.js';
import { h, fill, kvTable, confirmDialog } from '../dom.js';
import { pagedTable } from '../table.js';

const yes = (b) => (b ? 'yes' : 'no');

export function mount(el, ctx) {
  const node = seg(ctx.node);
  const detail = h('section', { class: 'detail', id: 'client-detail', hidden: true });

  async function kick(id) {
    if (!await confirmDialog(`Disconnect client \u201c${id}\u201d?`, 'Kick')) return;
    try {
      await api('DELETE', `clients/${seg(id)}`);
      if (detail.dataset.client === id) detail.hidden = true;
      table.reload();
    } catch (e) {
      ctx.error(e, `kick ${id}`);
    }
  }

  async function show(id) {
    detail.hidden = false;
    detail.dataset.client = id;
    fill(detail, h('h3', null, 'Client ', h('code', null, id)), h('p', null, 'Loading\u2026'));
    try {
      const [c, s, subs] = await Promise.all([
        api('GET', `clients/${seg(id)}`),
        api('GET', `sessions/${seg(id)}`),
        api('GET', `subscriptions/${seg(id)}`),
      ]);
      if (detail.dataset.client !== id) return;
      const cl = c.objects[0];
      const se = s.objects[0];
      fill(detail,
        h('h3', null, 'Client ', h('code', null, id),
          h('button', { type: 'button', class: 'close', id: 'client-detail-close',
            onclick: () => { detail.hidden = true; detail.dataset.client = ''; } }, 'Close')),
        cl ? kvTable([
          ['Username', cl.username], ['Address', `${cl.ipaddress}:${cl.port}`],
          ['Protocol', `MQTT ${cl.proto_ver}`], ['Listener', cl.protocol || ''],
          ['Clean session', yes(cl.clean_sess)],
          ['Keepalive', `${cl.keepalive} s`], ['Connected at', cl.connected_at],
        ], { id: 'client-detail-client' }) : h('p', null, 'Not connected.'),
        h('h4', null, 'Session'),
        se ? kvTable([
          ['Created at', se.created_at], ['Subscriptions', se.subscriptions],
          ['Max inflight', se.max_inflight], ['Inflight', se.inflight_len],
          ['Queued', se.mqueue_len], ['Dropped from queue', se.mqueue_dropped],
          ['Awaiting PUBREL', se.awaiting_rel_len], ['Delivered', se.deliver_msg],
          ['Enqueued', se.enqueue_msg],
        ], { id: 'client-detail-session' }) : h('p', null, 'No session.'),
        h('h4', null, 'Subscriptions'),
        subs.objects && subs.objects.length
          ? h('table', { class: 'list', id: 'client-detail-subs' },
            h('thead', null, h('tr', null, h('th', null, 'Topic'), h('th', null, 'QoS'))),
            h('tbody', null, subs.objects.map((x) =>
              h('tr', null, h('td', null, x.topic), h('td', null, x.qos)))))
          : h('p', null, 'None.'),
        ctx.readonly ? null : h('button', { type: 'button', class: 'danger', id: 'client-detail-kick',
          onclick: () => kick(id) }, 'Kick'));
    } catch (e) {
      fill(detail, h('p', { class: 'error' }, e.message));
      ctx.error(e, `client ${id}`);
    }
  }

  const table = pagedTable({
    id: 'clients',
    columns: [
      ['Client id', (o) => h('a', { href: '#/clients', class: 'cid',
        onclick: (ev) => { ev.preventDefault(); show(o.client_id); } }, o.client_id)],
      ['Username', (o) => o.username],
      ['Address', (o) => `${o.ipaddress}:${o.port}`],
      ['Protocol', (o) => o.proto_ver, 'num'],
      ['Listener', (o) => o.protocol || ''],
      ['Clean', (o) => yes(o.clean_sess)],
      ['Keepalive', (o) => o.keepalive, 'num'],
      ['Connected at', (o) => o.connected_at],
      ['', (o) => (ctx.readonly ? null : h('button', { type: 'button', class: 'danger kick',
        'data-client': o.client_id, onclick: () => kick(o.client_id) }, 'Kick'))],
    ],
    page: (p, n) => api('GET', `nodes/${node}/clients?curr_page=${p}&page_size=${n}`),
    search: async (id) => (await api('GET', `clients/${seg(id)}`)).objects,
    searchLabel: 'exact client id',
    empty: 'No clients connected.',
    onError: (e) => ctx.error(e, 'clients'),
  });
  fill(el, h('h2', null, 'Clients'), table.el, detail);
  table.start();
  return { unmount: () => table.stop() };
}
