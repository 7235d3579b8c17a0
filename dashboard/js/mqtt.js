// SPDX-License-Identifier: BSD-2-Clause
// A small MQTT 3.1.1 client over WebSocket (subprotocol "mqtt"), for the
// dashboard's WebSocket tool: connect, subscribe, unsubscribe, publish
// (QoS 0, 1, 2 both ways), keepalive, disconnect.  No persistence, no
// reconnect: the tool is for trying a topic by hand.
//
// Why our own and not the mqtt npm package: Debian has no browser MQTT
// client, and this is ~300 lines with no build step, against a 400 KB
// bundle pinned and fetched from npm by ./dev.  The codec is pure
// (encode* / Parser) and tested in the browser by
// tests/integration/test_dashboard.py, against byte strings and against the
// real broker.

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true });

export const CONNACK_TEXT = {
  1: 'unacceptable protocol version',
  2: 'client identifier rejected',
  3: 'server unavailable',
  4: 'bad username or password',
  5: 'not authorized',
};

export class MalformedError extends Error {}

function varint(n) {
  if (n < 0 || n > 268435455) throw new RangeError('packet too large');
  const out = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return out;
}

function str(s) {
  const b = typeof s === 'string' ? enc.encode(s) : s;
  if (b.length > 65535) throw new RangeError('string longer than 65535 bytes');
  return [b.length >> 8, b.length & 0xff, ...b];
}

function packet(first, body) {
  return Uint8Array.from([first, ...varint(body.length), ...body]);
}

const u16 = (n) => [n >> 8, n & 0xff];

export function encodeConnect({ clientId, username, password, keepalive = 60, clean = true }) {
  let flags = clean ? 0x02 : 0;
  const payload = [...str(clientId || '')];
  if (username !== undefined && username !== '') {
    flags |= 0x80;
    payload.push(...str(username));
  }
  if (password !== undefined && password !== '') {
    flags |= 0x40;
    payload.push(...str(password));
  }
  return packet(0x10, [...str('MQTT'), 4, flags, ...u16(keepalive), ...payload]);
}

export function encodePublish({ topic, payload, qos = 0, retain = false, id = 0, dup = false }) {
  const body = [...str(topic)];
  if (qos > 0) body.push(...u16(id));
  const p = typeof payload === 'string' ? enc.encode(payload) : payload;
  return packet(0x30 | (dup ? 8 : 0) | (qos << 1) | (retain ? 1 : 0), [...body, ...p]);
}

export function encodeSubscribe(id, filter, qos) {
  return packet(0x82, [...u16(id), ...str(filter), qos]);
}

export function encodeUnsubscribe(id, filter) {
  return packet(0xa2, [...u16(id), ...str(filter)]);
}

export const encodeAck = (type, id) => packet(type, u16(id)); // 0x40, 0x50, 0x62, 0x70
export const PINGREQ = Uint8Array.from([0xc0, 0]);
export const DISCONNECT = Uint8Array.from([0xe0, 0]);

// Splits a byte stream (WebSocket frames need not align with packets)
// into packets: push(bytes) returns [{type, flags, body}], throws
// MalformedError on a length field over 4 bytes.
export class Parser {
  constructor() {
    this.buf = new Uint8Array(0);
  }

  push(bytes) {
    const b = new Uint8Array(this.buf.length + bytes.length);
    b.set(this.buf);
    b.set(bytes, this.buf.length);
    const out = [];
    let off = 0;
    for (;;) {
      if (b.length - off < 2) break;
      let len = 0;
      let mul = 1;
      let i = off + 1;
      let done = false;
      for (let k = 0; k < 4 && i < b.length; k++, i++) {
        len += (b[i] & 0x7f) * mul;
        mul *= 128;
        if (!(b[i] & 0x80)) {
          done = true;
          i++;
          break;
        }
      }
      if (!done) {
        if (i - off - 1 >= 4) throw new MalformedError('remaining length longer than 4 bytes');
        break;   // the length itself is not all here yet
      }
      if (b.length - i < len) break;
      out.push({ type: b[off] >> 4, flags: b[off] & 0x0f, body: b.subarray(i, i + len) });
      off = i + len;
    }
    this.buf = b.slice(off);
    return out;
  }
}

// The fields of a PUBLISH body; throws MalformedError.
export function decodePublish(flags, body) {
  const qos = (flags >> 1) & 3;
  if (qos === 3) throw new MalformedError('PUBLISH with QoS 3');
  if (body.length < 2) throw new MalformedError('PUBLISH too short');
  const tl = (body[0] << 8) | body[1];
  let off = 2 + tl;
  if (body.length < off + (qos ? 2 : 0)) throw new MalformedError('PUBLISH topic past the end');
  let topic;
  try {
    topic = dec.decode(body.subarray(2, off));
  } catch (e) {
    throw new MalformedError('PUBLISH topic is not UTF-8');
  }
  let id = 0;
  if (qos) {
    id = (body[off] << 8) | body[off + 1];
    off += 2;
  }
  return { topic, qos, retain: !!(flags & 1), dup: !!(flags & 8), id, payload: body.slice(off) };
}

function need(body, n, what) {
  if (body.length < n) throw new MalformedError(`${what} too short`);
}

export class Client {
  // handlers: onmessage({topic, payload, qos, retain}), onclose(reason)
  constructor(handlers) {
    this.h = handlers || {};
    this.ws = null;
    this.nextId = 1;
    this.pending = new Map();    // packet id -> {resolve, reject, kind}
    this.qos2in = new Set();     // ids of QoS 2 messages received, PUBREL not yet
    this.ping = null;
    this.connected = false;
  }

  connect(url, opts) {
    return new Promise((resolve, reject) => {
      let settled = false;
      const fail = (why) => {
        if (!settled) {
          settled = true;
          reject(new Error(why));
        }
      };
      const parser = new Parser();
      let ws;
      try {
        ws = new WebSocket(url, ['mqtt']);
      } catch (e) {
        fail(`bad URL: ${e.message}`);
        return;
      }
      this.ws = ws;
      ws.binaryType = 'arraybuffer';
      ws.onopen = () => ws.send(encodeConnect(opts));
      ws.onerror = () => fail(`cannot connect to ${url}`);
      ws.onclose = (ev) => {
        const why = this.closing || (ev.reason ? ev.reason : `connection closed (${ev.code})`);
        fail(why);
        this.closed(why);
      };
      ws.onmessage = (ev) => {
        if (!(ev.data instanceof ArrayBuffer)) {
          this.abort('the broker sent a text frame');
          return;
        }
        try {
          for (const p of parser.push(new Uint8Array(ev.data))) {
            if (!this.connected) {
              if (p.type !== 2) throw new MalformedError('first packet is not CONNACK');
              need(p.body, 2, 'CONNACK');
              if (p.body[1] !== 0) {
                const why = CONNACK_TEXT[p.body[1]] || `CONNACK code ${p.body[1]}`;
                fail(`refused: ${why}`);
                this.abort(`refused: ${why}`);
                return;
              }
              this.connected = true;
              const ka = (opts.keepalive || 60) * 1000;
              this.ping = setInterval(() => this.send(PINGREQ), ka / 2);
              settled = true;
              resolve();
            } else {
              this.handle(p);
            }
          }
        } catch (e) {
          this.abort(e instanceof MalformedError ? `malformed packet: ${e.message}` : String(e));
        }
      };
    });
  }

  handle(p) {
    switch (p.type) {
    case 3: {
      const m = decodePublish(p.flags, p.body);
      if (m.qos === 1) this.send(encodeAck(0x40, m.id));
      if (m.qos === 2) {
        this.send(encodeAck(0x50, m.id));
        if (this.qos2in.has(m.id)) return;   // a resend: delivered already
        this.qos2in.add(m.id);
      }
      if (this.h.onmessage) this.h.onmessage(m);
      break;
    }
    case 4: case 7: case 9: case 11: {
      need(p.body, 2, 'ack');
      const id = (p.body[0] << 8) | p.body[1];
      const w = this.pending.get(id);
      if (!w) return;
      this.pending.delete(id);
      if (p.type === 9 && (p.body.length < 3 || p.body[2] === 0x80)) {
        w.reject(new Error('subscription refused by the broker'));
      } else {
        w.resolve(p.type === 9 ? p.body[2] : undefined);
      }
      break;
    }
    case 5: {   // PUBREC of our QoS 2 publish: release it
      need(p.body, 2, 'PUBREC');
      this.send(encodeAck(0x62, (p.body[0] << 8) | p.body[1]));
      break;
    }
    case 6: {   // PUBREL of a QoS 2 message we received
      need(p.body, 2, 'PUBREL');
      const id = (p.body[0] << 8) | p.body[1];
      this.qos2in.delete(id);
      this.send(encodeAck(0x70, id));
      break;
    }
    case 13: break;   // PINGRESP
    default:
      throw new MalformedError(`unexpected packet type ${p.type}`);
    }
  }

  id() {
    for (let n = 0; n < 65535; n++) {
      const id = this.nextId;
      this.nextId = id === 65535 ? 1 : id + 1;
      if (!this.pending.has(id)) return id;
    }
    throw new Error('no free packet id');
  }

  wait(id) {
    return new Promise((resolve, reject) => this.pending.set(id, { resolve, reject }));
  }

  send(bytes) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(bytes);
  }

  subscribe(filter, qos) {
    const id = this.id();
    const w = this.wait(id);
    this.send(encodeSubscribe(id, filter, qos));
    return w;
  }

  unsubscribe(filter) {
    const id = this.id();
    const w = this.wait(id);
    this.send(encodeUnsubscribe(id, filter));
    return w;
  }

  publish(topic, payload, qos, retain) {
    if (!topic || /[+#]/.test(topic)) return Promise.reject(new Error('a topic name cannot be empty or hold + or #'));
    if (qos === 0) {
      this.send(encodePublish({ topic, payload, qos, retain }));
      return Promise.resolve();
    }
    const id = this.id();
    const w = this.wait(id);
    this.send(encodePublish({ topic, payload, qos, retain, id }));
    return w;
  }

  end() {
    this.closing = 'disconnected';
    this.send(DISCONNECT);
    if (this.ws) this.ws.close(1000);
  }

  abort(why) {
    this.closing = why;
    if (this.ws) this.ws.close(1000);
    this.closed(why);
  }

  closed(why) {
    clearInterval(this.ping);
    this.ping = null;
    const was = this.ws;
    this.ws = null;
    this.connected = false;
    for (const w of this.pending.values()) w.reject(new Error(why));
    this.pending.clear();
    if (was && this.h.onclose) this.h.onclose(why);
  }
}
