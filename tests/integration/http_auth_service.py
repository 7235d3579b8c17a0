# SPDX-License-Identifier: BSD-2-Clause
"""A small HTTP auth service for the mqttd_auth_http and web hook tests:
Python's http.server on a free port, in a thread of the test process,
answering as EMQ 2.3's emq_auth_http expects and recording every request
it gets.

    svc = AuthService()          # started; svc.port, svc.url(path)
    svc.users = {"alice": "pw"}  # auth: 200 right password, 401 else
    svc.requests                 # [(path, {param: value}), ...]
    svc.stop(); svc.start()      # down and back on the same port
"""
import http.server
import json
import ssl
import threading
import time
import urllib.parse


class AuthService:
    def __init__(self, certfile=None, keyfile=None):
        self.users = {}
        self.supers = set()
        self.ignore = set()     # users answered 200 "ignore"
        self.slow = 0.0         # seconds each answer waits
        self.status = None      # force this status on every answer
        self.requests = []
        self.events = []        # web hook bodies (parsed JSON)
        self.lock = threading.Lock()
        self.certfile, self.keyfile = certfile, keyfile
        self.port = 0
        self.httpd = None
        self.start()

    def url(self, path):
        scheme = "https" if self.certfile else "http"
        return "%s://127.0.0.1:%d%s" % (scheme, self.port, path)

    def count(self, path):
        with self.lock:
            return sum(1 for p, _ in self.requests if p == path)

    def start(self):
        svc = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def _params(self):
                u = urllib.parse.urlsplit(self.path)
                q = urllib.parse.parse_qs(u.query, keep_blank_values=True)
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                if self.command == "POST" and self.headers.get(
                        "Content-Type", "").startswith(
                            "application/x-www-form-urlencoded"):
                    q.update(urllib.parse.parse_qs(
                        body.decode(), keep_blank_values=True))
                return u.path, {k: v[0] if len(v) == 1 else v
                                for k, v in q.items()}, body

            def _answer(self, code, text=""):
                b = text.encode()
                self.send_response(code)
                self.send_header("Content-Length", str(len(b)))
                self.end_headers()
                self.wfile.write(b)

            def _handle(self):
                path, p, body = self._params()
                with svc.lock:
                    svc.requests.append((path, p))
                if svc.slow:
                    time.sleep(svc.slow)
                if svc.status is not None:
                    return self._answer(svc.status)
                if path == "/hook":
                    with svc.lock:
                        svc.events.append(json.loads(body))
                    return self._answer(200)
                user = p.get("username", "")
                if path == "/auth":
                    if user in svc.ignore:
                        return self._answer(200, "ignore")
                    if svc.users.get(user) == p.get("password"):
                        return self._answer(200)
                    return self._answer(401)
                if path == "/super":
                    return self._answer(200 if user in svc.supers else 403)
                if path == "/acl":
                    if user in svc.ignore:
                        return self._answer(200, "ignore")
                    t = p.get("topic", "")
                    ok = t.startswith(user + "/") or t == "public"
                    return self._answer(200 if ok else 403)
                return self._answer(404)

            do_GET = _handle
            do_POST = _handle

        self.httpd = http.server.ThreadingHTTPServer(
            ("127.0.0.1", self.port), Handler)
        self.httpd.daemon_threads = True
        if self.certfile:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(self.certfile, self.keyfile)
            self.httpd.socket = ctx.wrap_socket(self.httpd.socket,
                                                server_side=True)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever,
                         daemon=True).start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
