# SPDX-License-Identifier: BSD-2-Clause
"""nginx's side of the front (nginx/mqttd-api.conf.in), through the real
nginx in front of a test FastCGI responder (fcgi_fake.py) that speaks the
workers' auth protocol and counts what reaches it: the 401 and its realm,
the two-pass auth gate and its per-address limit, the login limit, the body
limit, TLS versions, no version leak, only the needed FastCGI parameters.
The same behaviours through the real workers: test_nginx_auth.py.
"""
import base64
import os
import socket
import ssl
import subprocess
import time

import pytest

from fcgi_fake import FakeApi
from stack import Stack, children, wait_for

REALM = 'Basic realm="mqttd"'
AUTH_BURST, AUTH_RATE = 64, 5      # nginx/render's defaults


@pytest.fixture
def front():
    s = Stack()
    s.prepare()
    s.fake = FakeApi(s.api_socket)
    try:
        s.start_nginx()
        yield s
    finally:
        s.fake.close()
        s.stop()


def test_no_credentials_gets_401_with_realm(front):
    st, body, h = front.get("management/nodes", auth=False)
    assert st == 401
    assert h["WWW-Authenticate"] == REALM


def test_wrong_password_401_right_one_200(front):
    st, _, h = front.get("management/nodes", auth=("admin", "nope"))
    assert st == 401 and h["WWW-Authenticate"] == REALM
    st, _, h = front.get("management/nodes", auth=("nobody", "public"))
    assert st == 401 and h["WWW-Authenticate"] == REALM
    st, _, h = front.get("management/nodes", auth="Basic !!notbase64")
    assert st == 401 and h["WWW-Authenticate"] == REALM
    st, body, h = front.get("management/nodes")
    assert st == 200 and body["code"] == 0
    assert "WWW-Authenticate" not in h


def test_gate_passes_method_and_body_on_the_second_pass(front):
    # First sight of the credentials: the worker redirects to
    # @mqttd_verify; the second pass must carry the method and the body.
    for method in ("POST", "PUT", "DELETE"):
        front.fake.verified.clear()
        st, body, _ = front.request(method, "mqtt/publish",
                                    body={"topic": "a", "payload": "x" * 1000})
        assert st == 200, body
        r = body["result"]
        assert r["method"] == method
        assert r["body_len"] > 1000
        assert "MQTTD_AUTH_GATE" not in r["params"]   # the verifying pass
    # Verified now: one pass, with the gate.
    st, body, _ = front.post("mqtt/publish", body={"topic": "a"})
    assert st == 200 and body["result"]["method"] == "POST"
    assert "MQTTD_AUTH_GATE" in body["result"]["params"]


def test_failed_attempts_limited_per_address_before_any_check(front):
    n = AUTH_BURST + 40
    t0 = time.monotonic()
    codes = [front.get("management/nodes", auth=("admin", f"guess{i}"))[0]
             for i in range(n)]
    elapsed = time.monotonic() - t0
    assert set(codes) == {401, 429}, codes
    assert codes[:10] == [401] * 10          # a few mistakes are fine
    # A guesser is stopped: what reached a worker's slow check is the
    # burst + the refill, and nothing else.
    allowed = AUTH_BURST + AUTH_RATE * elapsed + 1
    assert codes.count(401) <= allowed, (codes.count(401), elapsed)
    assert front.fake.verifications == codes.count(401)
    assert 429 in codes
    # Verified credentials from the same address are not held back.
    front.fake.verified.add("Basic " + base64.b64encode(
        b"admin:public").decode())
    for _ in range(20):
        assert front.get("management/nodes")[0] == 200
    # No credentials at all: a plain 401 (nothing for a worker to check).
    n = front.fake.verifications
    st, _, h = front.get("management/nodes", auth=False)
    assert st == 401 and h["WWW-Authenticate"] == REALM
    assert front.fake.verifications == n


def test_public_routes_not_limited(front):
    codes = [front.get("management/nodes", auth=("admin", "bad"))[0]
             for _ in range(AUTH_BURST + 20)]
    assert 429 in codes
    for path in ("/status", "/api/v2/"):
        st, body, _ = front.get(path, auth=False)
        assert st == 200, path


def test_login_route_rate_limited(front):
    t0 = time.monotonic()
    codes = [front.post("auth", body={"username": "admin",
                                      "password": f"p{i}"})[0]
             for i in range(30)]
    elapsed = time.monotonic() - t0
    assert codes[:5] == [200] * 5
    assert 429 in codes
    seen = [p for p, _ in front.fake.seen
            if p.get("DOCUMENT_URI") == "/api/v2/auth"]
    # burst 10 + 1, + 5/s of refill
    assert len(seen) <= 11 + 5 * elapsed + 1, (len(seen), elapsed)
    assert len(seen) == codes.count(200)


def test_body_limit_1mib(front):
    st, body, _ = front.post("mqtt/publish", body=b"x" * (1 << 20))
    assert st == 200 and body["result"]["body_len"] == 1 << 20
    st, body, h = front.post("mqtt/publish", body=b"x" * ((1 << 20) + 1))
    assert st == 413
    assert h["Server"] == "nginx"


def test_no_version_leak(front):
    for st_want, kw in ((200, {}), (401, {"auth": False}),
                        (404, {"path": "/nope"}), (404, {"path": "/nope.html"})):
        path = kw.pop("path", "management/nodes")
        st, body, h = front.get(path, **kw)
        assert st == st_want
        assert h["Server"] == "nginx", h["Server"]
        assert "nginx/" not in str(body)
        assert "X-Powered-By" not in h


def test_unknown_paths_404_from_nginx(front):
    n = len(front.fake.seen)
    for path in ("/nope", "/api/v1/x", "/etc/passwd", "/.git", "/api/v22"):
        assert front.get(path)[0] == 404, path
    st, _, h = front.get("/api/v2")
    assert st == 301 and h["Location"].endswith("/api/v2/")
    assert len(front.fake.seen) == n


def test_only_needed_fastcgi_params(front):
    st, body, _ = front.get("management/nodes?x=1",
                            headers={"X-Evil": "1", "Cookie": "a=b",
                                     "MQTTD_AUTH_GATE": "0",
                                     "Proxy": "http://evil"})
    assert st == 200
    # Verifying pass: no gate, and nothing from the client but the header.
    assert sorted(body["result"]["params"]) == sorted([
        "CONTENT_LENGTH", "CONTENT_TYPE", "DOCUMENT_URI",
        "HTTP_AUTHORIZATION", "QUERY_STRING", "REMOTE_ADDR",
        "REQUEST_METHOD", "REQUEST_URI", "SERVER_PORT"])
    p, _ = front.fake.seen[-1]
    assert p["QUERY_STRING"] == "x=1"
    assert p["REQUEST_URI"] == "/api/v2/management/nodes?x=1"
    assert p["REMOTE_ADDR"] == "127.0.0.1"
    assert p["SERVER_PORT"] == str(front.http_port)
    front.get("management/nodes", https=True)
    p, _ = front.fake.seen[-1]
    assert p["HTTPS"] == "on"
    assert p["SERVER_PORT"] == str(front.https_port)


def _handshake(front, version):
    """Handshakes with the HTTPS listener allowing only `version` on the
    client side, at a security level that lets the client offer old
    versions at all (so that a refusal is the server's)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(front.cert)
    ctx.set_ciphers("ALL:@SECLEVEL=0")
    ctx.minimum_version = version
    ctx.maximum_version = version
    with socket.create_connection(("127.0.0.1", front.https_port), 5) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
            return s.version()


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_tls_12_and_13_only(front):
    assert _handshake(front, ssl.TLSVersion.TLSv1_2) == "TLSv1.2"
    assert _handshake(front, ssl.TLSVersion.TLSv1_3) == "TLSv1.3"
    for old in (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1):
        with pytest.raises(ssl.SSLError):
            _handshake(front, old)
    # Independently of python's build: openssl's own client, TLS 1.1.
    r = subprocess.run(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{front.https_port}",
         "-tls1_1", "-cipher", "ALL:@SECLEVEL=0"],
        input="", capture_output=True, text=True, timeout=10)
    assert r.returncode != 0
    assert "Cipher is (NONE)" in r.stdout or "alert" in r.stderr


def test_https_with_generated_cert(front):
    # Verified against the generated certificate, hostname 127.0.0.1.
    st, body, _ = front.get("management/nodes", https=True)
    assert st == 200 and body["code"] == 0
    st, _, h = front.get("management/nodes", https=True, auth=False)
    assert st == 401 and h["WWW-Authenticate"] == REALM
    key = os.path.join(front.state_dir, "tls", "key.pem")
    assert os.stat(key).st_mode & 0o077 == 0


def test_listens_on_loopback_only(front):
    conf = open(os.path.join(front.state_dir, "mqttd-api.conf")).read()
    assert f"listen 127.0.0.1:{front.http_port};" in conf
    assert f"listen 127.0.0.1:{front.https_port} ssl;" in conf
    assert "server unix:" + front.api_socket in conf


def _served_cert(front):
    pem = ssl.get_server_certificate(("127.0.0.1", front.https_port))
    return ssl.PEM_cert_to_DER_cert(pem)


def _nginx_workers(front):
    """The pids of the nginx master's children."""
    with open(os.path.join(front.state_dir, "nginx.pid")) as f:
        return children(int(f.read()))


def _file_cert(front):
    with open(front.cert) as f:
        return ssl.PEM_cert_to_DER_cert(f.read())


def test_certificate_kept_then_rotated_by_reload(front):
    """README's rotation: new files + reload; a re-render keeps a cert."""
    render = os.path.join(os.path.dirname(__file__), "..", "..", "nginx",
                          "render")
    first = _file_cert(front)
    assert _served_cert(front) == first
    env = front._env()
    subprocess.run([render, front.state_dir], env=env, check=True,
                   timeout=30)
    assert _file_cert(front) == first          # not regenerated
    for f in ("cert.pem", "key.pem"):
        os.unlink(os.path.join(front.state_dir, "tls", f))
    subprocess.run([render, front.state_dir], env=env, check=True,
                   timeout=30)
    second = _file_cert(front)
    assert second != first
    old = _nginx_workers(front)
    assert old
    subprocess.run(["/usr/sbin/nginx", "-p", front.state_dir + "/", "-c",
                    front.state_dir + "/nginx.conf", "-e",
                    front.state_dir + "/logs/error.log", "-s", "reload"],
                   check=True, timeout=10, capture_output=True)
    # Until the old workers have taken their QUIT they still accept, with
    # the old certificate: one handshake with the new one proves nothing
    # about the next.  Once they are gone, every connection is new.
    assert wait_for(lambda: not (old & _nginx_workers(front)), timeout=10)
    assert _served_cert(front) == second
    st, body, _ = front.get("management/nodes", https=True)
    assert st == 200
