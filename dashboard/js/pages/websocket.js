// SPDX-License-Identifier: BSD-2-Clause
// WebSocket tool: an MQTT client in the page, on the broker's mqtt:ws (or,
// from an HTTPS page, mqtt:wss) listener: connect, subscribe, publish, and
// see what arrives.  Without such a listener the page says so.

import { api, seg } from '../api.js';
import { h, fill } from '../dom.js';
import { Client } from '../mqtt.js';

const MAX_MESSAGES = 200;
const dec = new TextDecoder();

// The URL a browser on this page reaches a listener at: the page's host
// name, the listener's port, path /mqtt.
function wsUrl(l) {
  const port = String(l.listen).split(':').pop();
  const scheme = l.protocol === 'mqtt:wss' ? 'wss' : 'ws';
  const host = location.hostname.includes(':') ? `[${location.hostname}]` : location.hostname;
  return `${scheme}://${host}:${port}/mqtt`;
}

function pickListener(list) {
  const wss = list.find((l) => l.protocol === 'mqtt:wss');
  const ws = list.find((l) => l.protocol === 'mqtt:ws');
  // An HTTPS page may not open ws:// (mixed content).
  if (location.protocol === 'https:') return wss || null;
  return ws || wss || null;
}

export function mount(el, ctx) {
  let client = null;
  const status = h('span', { id: 'ws-status', class: 'status off' }, 'not connected');
  const url = h('input', { id: 'ws-url', size: '40' });
  const cid = h('input', { id: 'ws-client-id',
    value: `dashboard-${Math.random().toString(16).slice(2, 10)}` });
  const user = h('input', { id: 'ws-username', autocomplete: 'off' });
  const pass = h('input', { id: 'ws-password', type: 'password', autocomplete: 'off' });
  const connectBtn = h('button', { type: 'submit', id: 'ws-connect' }, 'Connect');
  const subTopic = h('input', { id: 'ws-sub-topic', value: 'dashboard/#' });
  const subQos = qosSelect('ws-sub-qos');
  const pubTopic = h('input', { id: 'ws-pub-topic', value: 'dashboard/test' });
  const pubPayload = h('textarea', { id: 'ws-pub-payload', rows: '3' }, 'hello from the dashboard');
  const pubQos = qosSelect('ws-pub-qos');
  const pubRetain = h('input', { id: 'ws-pub-retain', type: 'checkbox' });
  const subs = h('ul', { id: 'ws-subs', class: 'subs' });
  const msgs = h('tbody', { id: 'ws-messages' });
  const note = h('p', { id: 'ws-note', class: 'note' });

  function qosSelect(id) {
    return h('select', { id }, [0, 1, 2].map((q) => h('option', { value: String(q) }, `QoS ${q}`)));
  }

  function setStatus(text, ok) {
    status.textContent = text;
    status.className = `status ${ok ? 'ok' : 'off'}`;
    connectBtn.textContent = ok ? 'Disconnect' : 'Connect';
    for (const b of el.querySelectorAll('.needs-conn')) b.disabled = !ok;
  }

  const tool = h('div', { class: 'wstool', id: 'ws-tool', hidden: true },
    h('form', { class: 'form', id: 'ws-conn-form', onsubmit: (ev) => { ev.preventDefault(); toggle(); } },
      h('h3', null, 'Connection ', status),
      h('label', null, 'URL ', url), h('label', null, 'Client id ', cid),
      h('label', null, 'Username ', user), h('label', null, 'Password ', pass),
      connectBtn),
    h('form', { class: 'form', id: 'ws-sub-form', onsubmit: (ev) => { ev.preventDefault(); subscribe(); } },
      h('h3', null, 'Subscribe'),
      h('label', null, 'Topic filter ', subTopic), subQos,
      h('button', { type: 'submit', id: 'ws-subscribe', class: 'needs-conn', disabled: true }, 'Subscribe'),
      subs),
    h('form', { class: 'form', id: 'ws-pub-form', onsubmit: (ev) => { ev.preventDefault(); publish(); } },
      h('h3', null, 'Publish'),
      h('label', null, 'Topic ', pubTopic), h('label', null, 'Payload ', pubPayload),
      pubQos, h('label', null, pubRetain, ' retain'),
      h('button', { type: 'submit', id: 'ws-publish', class: 'needs-conn', disabled: true }, 'Publish')),
    h('h3', null, 'Messages'),
    h('table', { class: 'list', id: 'ws-messages-table' },
      h('thead', null, h('tr', null, ['Time', 'Topic', 'QoS', 'Retained', 'Payload'].map((t) => h('th', null, t)))),
      msgs));
  fill(el, h('h2', null, 'WebSocket'), note, tool);

  async function toggle() {
    if (client) {
      client.end();
      return;
    }
    const c = new Client({
      onmessage: (m) => {
        let text;
        try {
          text = dec.decode(m.payload);
        } catch (e) {
          text = `(${m.payload.length} bytes)`;
        }
        msgs.prepend(h('tr', null, h('td', null, new Date().toLocaleTimeString('en-GB')),
          h('td', { class: 'topic' }, m.topic), h('td', { class: 'num' }, m.qos),
          h('td', null, m.retain ? 'yes' : ''), h('td', { class: 'payload' }, text)));
        while (msgs.children.length > MAX_MESSAGES) msgs.lastChild.remove();
      },
      onclose: (why) => {
        if (client === c) client = null;
        setStatus(`not connected: ${why}`, false);
        fill(subs);
      },
    });
    client = c;
    setStatus('connecting\u2026', false);
    try {
      await c.connect(url.value, { clientId: cid.value, username: user.value,
        password: pass.value, keepalive: 60, clean: true });
      setStatus('connected', true);
    } catch (e) {
      if (client === c) client = null;
      setStatus(`not connected: ${e.message}`, false);
    }
  }

  async function subscribe() {
    const f = subTopic.value;
    const q = Number(subQos.value);
    try {
      const granted = await client.subscribe(f, q);
      subs.append(h('li', null, h('code', null, f), ` (QoS ${granted})`));
    } catch (e) {
      setStatus(`subscribe ${f}: ${e.message}`, !!client);
    }
  }

  async function publish() {
    try {
      await client.publish(pubTopic.value, pubPayload.value, Number(pubQos.value), pubRetain.checked);
      note.textContent = `Published to ${pubTopic.value}.`;
    } catch (e) {
      note.textContent = `Publish failed: ${e.message}`;
    }
  }

  (async () => {
    try {
      const r = await api('GET', `monitoring/listeners/${seg(ctx.node)}`);
      const list = Array.isArray(r) ? r : (r[ctx.node] || []);
      const l = pickListener(list);
      if (!l) {
        const https = location.protocol === 'https:';
        note.textContent = https
          ? 'This broker has no mqtt:wss listener, which a page opened over HTTPS needs: the WebSocket tool is unavailable.'
          : 'This broker has no mqtt:ws listener (MQTT over WebSocket): the WebSocket tool is unavailable.';
        note.className = 'note missing';
        el.dataset.ws = 'missing';
        return;
      }
      url.value = wsUrl(l);
      note.textContent = `Listener ${l.protocol} on ${l.listen}.`;
      tool.hidden = false;
      el.dataset.ws = 'ready';
    } catch (e) {
      ctx.error(e, 'listeners');
    }
  })();

  return {
    unmount() {
      if (client) client.end();
      client = null;
    },
  };
}
