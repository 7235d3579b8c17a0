// SPDX-License-Identifier: BSD-2-Clause
// The overview's numbers, sampled every few seconds for as long as the
// user is logged in (so the charts keep their last 15 minutes while other
// pages are shown).  One sample is four O(1) reads of the API: the node
// (status, uptime), the OS view (load, memory), the stats and the counters.
// Rates per second are the counters' differences over the time between
// samples; a counter that goes back (broker restarted) gives a gap.

import { api } from './api.js';

export const INTERVAL_MS = 3000;
export const WINDOW_MS = 15 * 60 * 1000;

const RATES = [
  ['msgIn', 'messages/received'],
  ['msgOut', 'messages/sent'],
  ['bytesIn', 'bytes/received'],
  ['bytesOut', 'bytes/sent'],
  ['dropped', 'messages/dropped'],
];

export class Sampler {
  constructor(node, { onStatus, onError }) {
    this.node = node;
    this.onStatus = onStatus;
    this.onError = onError;
    this.points = [];       // { t, connections, msgIn, msgOut, bytesIn, bytesOut, dropped }
    this.last = null;       // the latest full sample (objects as the API gave them)
    this.prevMetrics = null;
    this.prevT = 0;
    this.listeners = new Set();
    this.timer = null;
    this.busy = false;
  }

  start() {
    this.tick();
    this.timer = setInterval(() => this.tick(), INTERVAL_MS);
  }

  stop() {
    clearInterval(this.timer);
    this.timer = null;
    this.listeners.clear();
  }

  // fn(sample) after every sample; returns the function that removes it.
  subscribe(fn) {
    this.listeners.add(fn);
    if (this.last) fn(this.last);
    return () => this.listeners.delete(fn);
  }

  async tick() {
    if (this.busy || !this.node) return;
    this.busy = true;
    const n = encodeURIComponent(this.node);
    const t = Date.now();
    const sample = { t, node: null, os: null, stats: null, metrics: null, error: null };
    try {
      const [node, os] = await Promise.all([
        api('GET', `management/nodes/${n}`),
        api('GET', `monitoring/nodes/${n}`),
      ]);
      sample.node = node;
      sample.os = os;
      this.onStatus(node.node_status);
      if (node.node_status === 'Running') {
        const [stats, metrics] = await Promise.all([
          api('GET', `monitoring/stats/${n}`),
          api('GET', `monitoring/metrics/${n}`),
        ]);
        sample.stats = stats[this.node] || stats;
        sample.metrics = metrics[this.node] || metrics;
      }
    } catch (e) {
      sample.error = e;
      if (this.timer !== null) this.onError(e);
    } finally {
      this.busy = false;
    }
    if (this.timer === null) return;   // stopped while we waited
    this.record(sample);
    this.last = sample;
    for (const fn of this.listeners) fn(sample);
  }

  record(s) {
    const p = { t: s.t, connections: null };
    if (s.stats) p.connections = s.stats['clients/count'];
    if (s.metrics && this.prevMetrics) {
      const dt = (s.t - this.prevT) / 1000;
      for (const [k, name] of RATES) {
        const d = s.metrics[name] - this.prevMetrics[name];
        p[k] = dt > 0 && d >= 0 ? d / dt : null;
      }
    } else {
      for (const [k] of RATES) p[k] = null;
    }
    this.prevMetrics = s.metrics;
    this.prevT = s.t;
    this.points.push(p);
    while (this.points.length && this.points[0].t < s.t - WINDOW_MS) this.points.shift();
  }
}
