# SPDX-License-Identifier: BSD-2-Clause
"""A hand-made WebSocket client for the tests: upgrade requests byte for
byte, frames with any opcode, FIN bit, mask (or none) and split, and a
frame reader, so that the tests can say exactly what goes on the wire.

    w = WsRaw(port)                      # upgrade done, "mqtt" asked
    w.send(b"...", opcode=2, fin=True)   # one masked frame
    op, fin, payload = w.frame()
"""
import base64
import os
import socket
import ssl
import struct

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def request(path="/mqtt", key=None, proto="mqtt", extra="", version="13"):
    key = key or base64.b64encode(os.urandom(16)).decode()
    lines = ["GET %s HTTP/1.1" % path, "Host: 127.0.0.1",
             "Upgrade: websocket", "Connection: Upgrade",
             "Sec-WebSocket-Key: " + key,
             "Sec-WebSocket-Version: " + version]
    if proto:
        lines.append("Sec-WebSocket-Protocol: " + proto)
    return ("\r\n".join(lines) + "\r\n" + extra + "\r\n").encode(), key


def frame(payload, opcode=2, fin=True, mask=True, rsv=0):
    b0 = (0x80 if fin else 0) | (rsv << 4) | opcode
    n = len(payload)
    m = 0x80 if mask else 0
    if n < 126:
        hdr = struct.pack("!BB", b0, m | n)
    elif n < 65536:
        hdr = struct.pack("!BBH", b0, m | 126, n)
    else:
        hdr = struct.pack("!BBQ", b0, m | 127, n)
    if not mask:
        return hdr + payload
    key = os.urandom(4)
    return hdr + key + bytes(c ^ key[i % 4] for i, c in enumerate(payload))


class WsRaw:
    def __init__(self, port, proto="mqtt", tls_ctx=None, timeout=5.0,
                 upgrade=True):
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        if tls_ctx is not None:
            s = tls_ctx.wrap_socket(s, server_hostname="localhost")
        self.s = s
        self.buf = b""
        self.status = None
        self.headers = {}
        if upgrade:
            req, key = request(proto=proto)
            s.sendall(req)
            self.status, self.headers = self.http_answer()
            assert self.status == 101, (self.status, self.headers)
            want = base64.b64encode(__import__("hashlib").sha1(
                key.encode() + GUID).digest()).decode()
            assert self.headers["sec-websocket-accept"] == want

    def _more(self):
        d = self.s.recv(65536)
        if not d:
            raise EOFError("closed")
        self.buf += d

    def http_answer(self):
        while b"\r\n\r\n" not in self.buf:
            self._more()
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        status = int(lines[0].split()[1])
        hdrs = {}
        for ln in lines[1:]:
            k, _, v = ln.partition(":")
            hdrs[k.strip().lower()] = v.strip()
        return status, hdrs

    def send(self, payload, **kw):
        self.s.sendall(frame(payload, **kw))

    def frame(self):
        """(opcode, fin, payload) of the next frame (server: unmasked)."""
        while len(self.buf) < 2:
            self._more()
        b0, b1 = self.buf[0], self.buf[1]
        assert not b1 & 0x80, "server frames are never masked"
        n, off = b1 & 0x7f, 2
        if n == 126:
            while len(self.buf) < 4:
                self._more()
            n, off = struct.unpack("!H", self.buf[2:4])[0], 4
        elif n == 127:
            while len(self.buf) < 10:
                self._more()
            n, off = struct.unpack("!Q", self.buf[2:10])[0], 10
        while len(self.buf) < off + n:
            self._more()
        p = self.buf[off:off + n]
        self.buf = self.buf[off + n:]
        return b0 & 0x0f, bool(b0 & 0x80), p

    def mqtt(self, n):
        """n bytes of the MQTT stream, across binary frames."""
        out = b""
        while len(out) < n:
            op, fin, p = self.frame()
            assert op in (0, 2), (op, p)
            out += p
        return out

    def close_code(self):
        """Reads frames up to the server's close; its status code."""
        while True:
            op, fin, p = self.frame()
            if op == 8:
                return struct.unpack("!H", p[:2])[0] if len(p) >= 2 else None

    def eof(self, timeout=5.0):
        """True once the server has closed the TCP connection."""
        self.s.settimeout(timeout)
        try:
            while True:
                d = self.s.recv(65536)
                if not d:
                    return True
        except (ConnectionResetError, ssl.SSLError):
            return True
        except socket.timeout:
            return False

    def close(self):
        self.s.close()
