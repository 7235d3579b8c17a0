// SPDX-License-Identifier: BSD-2-Clause
// Overview: the node, the OS view, the stats and live charts of the last
// 15 minutes (connections; messages and bytes in/out per second).  The
// numbers come from the app's sampler; Chart.js (Debian's libjs-chart.js)
// is loaded after the numbers are on screen, so first paint never waits
// for it.

import { h, fill, fmtNum, fmtBytes } from '../dom.js';

const CARDS = [
  ['node', 'Node'],
  ['status', 'Status'],
  ['version', 'Version'],
  ['uptime', 'Uptime'],
  ['load', 'Load (1/5/15 min)'],
  ['memory', 'Memory used / total'],
  ['connections', 'Connections'],
  ['sessions', 'Sessions'],
  ['subscriptions', 'Subscriptions'],
  ['retained', 'Retained'],
  ['topics', 'Topics'],
  ['msg-in', 'Messages received'],
  ['msg-out', 'Messages sent'],
  ['bytes-in', 'Bytes received'],
  ['bytes-out', 'Bytes sent'],
  ['dropped', 'Messages dropped'],
];

const CHARTS = [
  ['chart-connections', 'Connections', [['connections', 'connections']], fmtNum],
  ['chart-messages', 'Messages per second', [['msgIn', 'in'], ['msgOut', 'out']], fmtNum],
  ['chart-bytes', 'Bytes per second', [['bytesIn', 'in'], ['bytesOut', 'out']], fmtBytes],
];

const COLORS = ['#1f77b4', '#d62728'];

function values(s, nodeName) {
  const v = {};
  if (s.node) {
    v.node = nodeName;
    v.status = s.node.node_status;
    v.version = s.node.version;
    v.uptime = s.node.uptime;
  }
  if (s.os) {
    v.load = `${s.os.load1} / ${s.os.load5} / ${s.os.load15}`;
    v.memory = `${s.os.memory_used} / ${s.os.memory_total}`;
  }
  if (s.stats) {
    const st = s.stats;
    v.connections = fmtNum(st['clients/count']);
    v.sessions = fmtNum(st['sessions/count']);
    v.subscriptions = fmtNum(st['subscriptions/count']);
    v.retained = fmtNum(st['retained/count']);
    v.topics = fmtNum(st['topics/count']);
  }
  if (s.metrics) {
    const m = s.metrics;
    v['msg-in'] = fmtNum(m['messages/received']);
    v['msg-out'] = fmtNum(m['messages/sent']);
    v['bytes-in'] = fmtBytes(m['bytes/received']);
    v['bytes-out'] = fmtBytes(m['bytes/sent']);
    v.dropped = fmtNum(m['messages/dropped']);
  }
  return v;
}

function clock(t) {
  return new Date(t).toLocaleTimeString('en-GB');
}

export function mount(el, ctx) {
  const cells = {};
  const grid = h('div', { class: 'cards' }, CARDS.map(([k, label]) => {
    cells[k] = h('div', { class: 'value', id: `ov-${k}` }, '-');
    return h('div', { class: 'card' }, h('div', { class: 'label' }, label), cells[k]);
  }));
  const canvases = {};
  const charts = h('div', { class: 'charts' }, CHARTS.map(([id, title]) => {
    canvases[id] = h('canvas', { id, role: 'img', 'aria-label': title });
    return h('figure', { class: 'chart' }, h('figcaption', null, title),
      h('div', { class: 'chart-box' }, canvases[id]));
  }));
  fill(el, h('h2', null, 'Overview'), grid, charts);

  let gone = false;
  let built = null;   // the Chart objects, once Chart.js is loaded

  const draw = () => {
    if (!built) return;
    const pts = ctx.sampler.points;
    const labels = pts.map((p) => clock(p.t));
    CHARTS.forEach(([id, , series], i) => {
      const c = built[i];
      c.data.labels = labels;
      series.forEach(([k], j) => {
        c.data.datasets[j].data = pts.map((p) => p[k]);
      });
      c.update('none');
    });
  };

  const update = (s) => {
    const v = values(s, ctx.node);
    for (const [k] of CARDS) {
      if (k in v) cells[k].textContent = v[k];
      else if (s.error || k === 'status') cells[k].textContent = k === 'status' ? (v.status || '-') : '-';
    }
    cells.status.className = `value ${v.status === 'Running' ? 'ok' : 'bad'}`;
    el.dataset.sampled = String(s.t);
    draw();
  };
  const unsubscribe = ctx.sampler.subscribe(update);

  import('/javascript/chart.js/chart.esm.js').then(({ Chart, registerables }) => {
    if (gone) return;
    Chart.register(...registerables);
    built = CHARTS.map(([id, , series, fmt]) => new Chart(canvases[id], {
      type: 'line',
      data: {
        labels: [],
        datasets: series.map(([, label], j) => ({
          label, data: [], borderColor: COLORS[j], backgroundColor: COLORS[j],
          borderWidth: 1.5, pointRadius: 0, spanGaps: false, tension: 0.2,
        })),
      },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        interaction: { mode: 'index', intersect: false },
        scales: {
          x: { ticks: { maxTicksLimit: 8, maxRotation: 0 } },
          y: { beginAtZero: true, ticks: { callback: (v) => fmt(v) } },
        },
        plugins: { legend: { display: series.length > 1 } },
      },
    }));
    el.dataset.charts = 'ready';
    draw();
  }).catch((e) => ctx.error(e, 'charts'));

  return {
    unmount() {
      gone = true;
      unsubscribe();
      if (built) built.forEach((c) => c.destroy());
    },
  };
}
