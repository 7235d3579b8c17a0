// SPDX-License-Identifier: BSD-2-Clause
// Metrics: the Prometheus exporter's text, as a scrape sees it, and the
// address to point Prometheus at.

import { text } from '../api.js';
import { h, fill } from '../dom.js';
import { every } from '../poll.js';

export function mount(el, ctx) {
  const pre = h('pre', { id: 'metrics-text', class: 'metrics' });
  fill(el, h('h2', null, 'Metrics'),
    h('p', null, 'Prometheus scrapes ',
      h('a', { href: '/metrics', id: 'metrics-link', target: '_blank', rel: 'noopener' },
        `${location.origin}/metrics`),
      ' with Basic auth (an API user). A Grafana dashboard over these metrics ships in ',
      h('code', null, 'deploy/grafana/mqttd.json'), '.'),
    pre);
  const stop = every(10000, async () => {
    try {
      pre.textContent = await text('/metrics');
      el.dataset.loaded = String(Date.now());
    } catch (e) {
      ctx.error(e, 'metrics');
    }
  });
  return { unmount: stop };
}
