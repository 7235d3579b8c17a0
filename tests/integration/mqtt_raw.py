# SPDX-License-Identifier: BSD-2-Clause
"""MQTT 3.1/3.1.1 by hand: packets built and parsed byte by byte.

Deliberately shares nothing with the broker's C codec, so a codec bug
cannot hide behind a matching test bug.  Only what the tests need.
"""
import socket
import struct
import time

CONNECT, CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP = 1, 2, 3, 4, 5, 6, 7
SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK = 8, 9, 10, 11
PINGREQ, PINGRESP, DISCONNECT = 12, 13, 14

NAMES = {1: "CONNECT", 2: "CONNACK", 3: "PUBLISH", 4: "PUBACK", 5: "PUBREC",
         6: "PUBREL", 7: "PUBCOMP", 8: "SUBSCRIBE", 9: "SUBACK",
         10: "UNSUBSCRIBE", 11: "UNSUBACK", 12: "PINGREQ", 13: "PINGRESP",
         14: "DISCONNECT"}


def varint(n):
    out = bytearray()
    while True:
        b = n % 128
        n //= 128
        if n:
            b |= 0x80
        out.append(b)
        if not n:
            return bytes(out)


def s16(b):
    if isinstance(b, str):
        b = b.encode()
    return struct.pack("!H", len(b)) + b


def fixed(ptype, flags, body):
    return bytes([(ptype << 4) | flags]) + varint(len(body)) + body


def connect(client_id="", clean=True, keepalive=60, username=None,
            password=None, will=None, proto="MQTT", level=4, flags=None):
    """will: (topic, payload, qos, retain)."""
    f = 0
    payload = s16(client_id)
    if clean:
        f |= 0x02
    if will is not None:
        topic, msg, wq, wr = will
        f |= 0x04 | (wq << 3) | (0x20 if wr else 0)
        payload += s16(topic) + s16(msg)
    if username is not None:
        f |= 0x80
        payload += s16(username)
    if password is not None:
        f |= 0x40
        payload += s16(password)
    if flags is not None:
        f = flags
    body = s16(proto) + bytes([level, f]) + struct.pack("!H", keepalive)
    return fixed(CONNECT, 0, body + payload)


def publish(topic, payload=b"", qos=0, retain=False, dup=False, pid=None):
    if isinstance(payload, str):
        payload = payload.encode()
    flags = (qos << 1) | (1 if retain else 0) | (8 if dup else 0)
    body = s16(topic)
    if qos:
        body += struct.pack("!H", pid)
    return fixed(PUBLISH, flags, body + payload)


def ack(ptype, pid):
    return fixed(ptype, 2 if ptype == PUBREL else 0, struct.pack("!H", pid))


def subscribe(pid, *filters):
    """filters: (topic, qos) pairs."""
    body = struct.pack("!H", pid)
    for t, q in filters:
        body += s16(t) + bytes([q])
    return fixed(SUBSCRIBE, 2, body)


def unsubscribe(pid, *topics):
    body = struct.pack("!H", pid)
    for t in topics:
        body += s16(t)
    return fixed(UNSUBSCRIBE, 2, body)


def pingreq():
    return fixed(PINGREQ, 0, b"")


def disconnect():
    return fixed(DISCONNECT, 0, b"")


class Packet:
    def __init__(self, first, body):
        self.type = first >> 4
        self.flags = first & 0x0F
        self.body = body
        self.qos = (self.flags >> 1) & 3
        self.retain = bool(self.flags & 1)
        self.dup = bool(self.flags & 8)
        self.pid = None
        self.topic = None
        self.payload = None
        if self.type == PUBLISH:
            n = struct.unpack("!H", body[:2])[0]
            self.topic = body[2:2 + n].decode()
            rest = body[2 + n:]
            if self.qos:
                self.pid = struct.unpack("!H", rest[:2])[0]
                rest = rest[2:]
            self.payload = rest
        elif self.type in (PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK, UNSUBACK):
            self.pid = struct.unpack("!H", body[:2])[0]

    @property
    def name(self):
        return NAMES.get(self.type, str(self.type))

    @property
    def return_codes(self):  # SUBACK
        return list(self.body[2:])

    @property
    def rc(self):  # CONNACK
        return self.body[1]

    @property
    def session_present(self):  # CONNACK
        return self.body[0] & 1

    def __repr__(self):
        if self.type == PUBLISH:
            return "PUBLISH(%r q%d r%d d%d pid=%s %r)" % (
                self.topic, self.qos, self.retain, self.dup, self.pid,
                self.payload[:40])
        return "%s(flags=%x %r)" % (self.name, self.flags, self.body[:40])


class Closed(Exception):
    pass


class Client:
    """A raw MQTT connection.  recv() returns Packet, or raises Closed."""

    def __init__(self, port, host="127.0.0.1", timeout=5.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.timeout = timeout

    @property
    def local_port(self):
        return self.sock.getsockname()[1]

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self, n, deadline):
        while len(self.buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no packet within timeout (have %r)" %
                                   self.buf[:40])
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                raise TimeoutError("no packet within timeout (have %r)" %
                                   self.buf[:40])
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                raise Closed("connection closed (have %r)" % self.buf[:40])
            self.buf += chunk

    def recv(self, timeout=None):
        deadline = time.monotonic() + (timeout or self.timeout)
        self._fill(2, deadline)
        mult, length, i = 1, 0, 1
        while True:
            self._fill(i + 1, deadline)
            b = self.buf[i]
            length += (b & 0x7F) * mult
            mult *= 128
            i += 1
            if not b & 0x80:
                break
            if i > 4:
                raise ValueError("bad remaining length from broker")
        self._fill(i + length, deadline)
        first, body = self.buf[0], self.buf[i:i + length]
        self.buf = self.buf[i + length:]
        return Packet(first, body)

    def expect(self, ptype, timeout=None):
        p = self.recv(timeout)
        assert p.type == ptype, "expected %s, got %r" % (NAMES[ptype], p)
        return p

    def expect_nothing(self, wait=0.3):
        """No packet arrives within wait seconds (and no close)."""
        try:
            p = self.recv(wait)
        except TimeoutError:
            return
        raise AssertionError("unexpected packet %r" % p)

    def expect_closed(self, timeout=None):
        """The broker closes the connection (packets before it are
        returned, e.g. a CONNACK)."""
        got = []
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            try:
                got.append(self.recv(max(0.01, deadline - time.monotonic())))
            except Closed:
                return got
            except TimeoutError:
                raise AssertionError("connection not closed; got %r" % got)

    def connect(self, client_id="", expect_rc=0, **kw):
        self.send(connect(client_id, **kw))
        p = self.expect(CONNACK)
        assert p.rc == expect_rc, "CONNACK rc %d, expected %d" % (
            p.rc, expect_rc)
        return p

    def subscribe(self, *filters, pid=1):
        self.send(subscribe(pid, *filters))
        p = self.expect(SUBACK)
        assert p.pid == pid
        return p.return_codes

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()


def connected(port, client_id, **kw):
    c = Client(port)
    c.connect(client_id, **kw)
    return c
