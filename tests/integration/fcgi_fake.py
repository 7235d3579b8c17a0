# SPDX-License-Identifier: BSD-2-Clause
"""A tiny threaded FastCGI responder on a unix socket, for testing nginx's
side of the front without the real workers: it speaks the same auth
protocol as mqttd-api (MQTTD_AUTH_GATE -> X-Accel-Redirect: @mqttd_verify
for credentials it has not verified yet; 401 + realm for wrong ones) and
counts what reaches it, so a test can tell what nginx let through.
"""
import base64
import json
import os
import socket
import struct
import threading

BEGIN, ABORT, END, PARAMS, STDIN, STDOUT = 1, 2, 3, 4, 5, 6


def _records(sock):
    buf = b""
    while True:
        while len(buf) < 8:
            chunk = sock.recv(65536)
            if not chunk:
                return
            buf += chunk
        _, typ, rid, clen, plen, _ = struct.unpack("!BBHHBB", buf[:8])
        need = 8 + clen + plen
        while len(buf) < need:
            chunk = sock.recv(65536)
            if not chunk:
                return
            buf += chunk
        yield typ, rid, buf[8:8 + clen]
        buf = buf[need:]


def _params(data):
    out, i = {}, 0

    def length():
        nonlocal i
        b = data[i]
        if b < 128:
            i += 1
            return b
        n = struct.unpack("!I", data[i:i + 4])[0] & 0x7FFFFFFF
        i += 4
        return n
    while i < len(data):
        n, v = length(), length()
        out[data[i:i + n].decode()] = data[i + n:i + n + v].decode(
            errors="replace")
        i += n + v
    return out


def _record(typ, rid, content):
    return struct.pack("!BBHHBB", 1, typ, rid, len(content), 0, 0) + content


class FakeApi:
    def __init__(self, path, users=None):
        self.path = path
        self.users = dict(users or {"admin": "public"})
        self.verified = set()      # headers verified (the worker's cache)
        self.lock = threading.Lock()
        self.seen = []             # (params, body length) per request
        self.verifications = 0     # slow checks done
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        os.chmod(path, 0o660)
        self.sock.listen(64)
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def close(self):
        self.sock.close()

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,),
                             daemon=True).start()

    def _serve(self, c):
        params, body, keep = b"", b"", False
        try:
            for typ, rid, content in _records(c):
                if typ == BEGIN:
                    keep = bool(content[2] & 1)
                    params, body = b"", b""
                elif typ == PARAMS:
                    params += content
                elif typ == STDIN and content:
                    body += content
                elif typ == STDIN:
                    out = self.handle(_params(params), body)
                    for i in range(0, len(out), 32768):
                        c.sendall(_record(STDOUT, rid, out[i:i + 32768]))
                    c.sendall(_record(STDOUT, rid, b"") + _record(
                        END, rid, b"\0" * 8))
                    if not keep:
                        break
        except OSError:
            pass
        finally:
            c.close()

    def _check(self, header):
        if not header.startswith("Basic "):
            return False
        try:
            user, _, pw = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        return self.users.get(user) == pw

    def handle(self, p, body):
        with self.lock:
            self.seen.append((p, len(body)))
        uri = p.get("DOCUMENT_URI", "")
        hdr = p.get("HTTP_AUTHORIZATION", "")
        public = uri in ("/status", "/api/v2/", "/")
        if not public:
            with self.lock:
                cached = hdr in self.verified
            if not hdr:
                return (b"Status: 401\r\nWWW-Authenticate: Basic "
                        b"realm=\"mqttd\"\r\n\r\n")
            if not cached and p.get("MQTTD_AUTH_GATE"):
                return b"Status: 200\r\nX-Accel-Redirect: @mqttd_verify\r\n\r\n"
            if not cached:
                with self.lock:
                    self.verifications += 1
                if not self._check(hdr):
                    return (b"Status: 401\r\nWWW-Authenticate: Basic "
                            b"realm=\"mqttd\"\r\n\r\n")
                with self.lock:
                    self.verified.add(hdr)
        out = json.dumps({"code": 0, "result": {
            "method": p.get("REQUEST_METHOD"), "uri": p.get("REQUEST_URI"),
            "body_len": len(body), "params": sorted(p)}}).encode()
        return (b"Status: 200\r\nContent-Type: application/json\r\n\r\n"
                + out)
