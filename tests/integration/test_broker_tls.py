# SPDX-License-Identifier: BSD-2-Clause
"""MQTT over TLS (mqtt:ssl listeners) with real clients: mosquitto_pub/sub
with CA verification, with and without client certificates, paho with
tls_set, openssl s_client for the versions and ALPN, raw sockets for
plaintext and half-open handshakes, SIGHUP certificate reload, and the
listener / client records in the segment."""
import os
import queue
import resource
import signal
import socket
import ssl
import subprocess
import time

import paho.mqtt.client as mqtt
import pytest

from broker_fixture import broker_factory  # noqa: F401
from tls_certs import make_certs, server_cert

T = 5.0


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return make_certs(str(tmp_path_factory.mktemp("certs")))


def tls_args(certs, *more):
    """tcp (port 0), ssl (port 1), ssl with client certificates required
    and the CN as username (port 2)."""
    return ["--listen", "ssl://127.0.0.1:0",
            "--listen", "ssl://127.0.0.1:0,require_certificate=true,"
            "use_identity_as_username=true",
            "--certfile", certs["server"], "--keyfile", certs["server_key"],
            "--cafile", certs["ca"], *more]


@pytest.fixture
def tb(broker_factory, certs):
    return broker_factory(extra_args=tls_args(certs))


def wait_for(pred, timeout=T):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.02)
    return pred()


class Paho:
    def __init__(self, port, cid, ca=None, cert=None, key=None,
                 transport="tcp"):
        self.msgs = queue.Queue()
        connected = queue.Queue()
        self.c = mqtt.Client(client_id=cid, transport=transport)
        if ca:
            self.c.tls_set(ca_certs=ca, certfile=cert, keyfile=key)
        self.c.on_message = lambda c, u, m: self.msgs.put(m)
        self.c.on_connect = lambda c, u, f, rc: connected.put(rc)
        self.c.connect("127.0.0.1", port, keepalive=30)
        self.c.loop_start()
        assert connected.get(timeout=T) == 0

    def sub(self, topic, qos=1):
        done = queue.Queue()
        self.c.on_subscribe = lambda c, u, mid, q: done.put(q)
        self.c.subscribe(topic, qos)
        return done.get(timeout=T)

    def pub(self, topic, payload, qos=1):
        self.c.publish(topic, payload, qos).wait_for_publish()

    def close(self):
        self.c.disconnect()
        self.c.loop_stop()


def mosq(tool, port, certs, *args, cert=None, ca="ca", timeout=10):
    argv = [tool, "-h", "127.0.0.1", "-p", str(port), "--cafile", certs[ca]]
    if cert:
        argv += ["--cert", certs[cert], "--key", certs[cert + "_key"]]
    return subprocess.run(argv + list(args), capture_output=True, text=True,
                          timeout=timeout)


def subscriber(b, port, certs, topic, **kw):
    """A mosquitto_sub waiting for one message, once it is subscribed."""
    argv = ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(port),
            "--cafile", certs["ca"], "-t", topic, "-C", "1", "-W", "8",
            "-i", "sub-" + topic.replace("/", "-")]
    if kw.get("cert"):
        argv += ["--cert", certs[kw["cert"]],
                 "--key", certs[kw["cert"] + "_key"]]
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    assert wait_for(lambda: any(x.get("topic") == topic for x in subs(b))), \
        p.stderr
    return p


def subs(b):
    from broker_fixture import rows
    return rows(b.segment("subscriptions"), "subscriptions")


def test_mosquitto_over_tls_with_ca_verification(tb, certs):
    p = subscriber(tb, tb.ports[1], certs, "tls/1")
    r = mosq("mosquitto_pub", tb.ports[1], certs, "-t", "tls/1", "-q", "1",
             "-m", "over-tls")
    assert r.returncode == 0, r.stderr
    out, err = p.communicate(timeout=10)
    assert out.strip() == "over-tls", err
    # the client does check the server: another CA does not vouch for it
    r = mosq("mosquitto_pub", tb.ports[1], certs, "-t", "x", "-m", "y",
             ca="foreign")
    assert r.returncode != 0


def test_client_certificate_required_and_cn_is_username(tb, certs):
    port = tb.ports[2]
    # no certificate: refused in the handshake
    r = mosq("mosquitto_pub", port, certs, "-t", "a", "-m", "b")
    assert r.returncode != 0
    # a certificate from a CA the broker does not trust: refused
    r = mosq("mosquitto_pub", port, certs, "-t", "a", "-m", "b",
             cert="foreign")
    assert r.returncode != 0
    # the right one: in, and its CN is the username everyone sees
    p = subscriber(tb, port, certs, "cert/1", cert="client")
    c = [x for x in tb.clients() if x["client_id"] == "sub-cert-1"]
    assert c and c[0]["username"] == "device42", c
    r = mosq("mosquitto_pub", port, certs, "-t", "cert/1", "-m", "signed",
             "-u", "someone-else", cert="client")
    assert r.returncode == 0, r.stderr
    out, err = p.communicate(timeout=10)
    assert out.strip() == "signed", err
    log = tb.stderr()
    assert "certificate" in log


def test_identity_username_meets_the_acl(broker_factory, certs):
    """The CN is what the auth plugins see: an ACL for user device42."""
    b = broker_factory(extra_args=tls_args(
        certs, "--acl-file", "acl"), files={
        "acl": "allow user device42 pubsub dev/device42/#\n"
               "deny all pubsub #\n"})
    assert b.ctl({"cmd": "plugin", "name": "mqttd_acl_file",
                  "active": True})["code"] == 0
    c = Paho(b.ports[2], "acl-dev", ca=certs["ca"], cert=certs["client"],
             key=certs["client_key"])
    try:
        assert c.sub("dev/device42/x") == (1,)
        assert c.sub("dev/other/x") == (128,)
    finally:
        c.close()


def test_paho_tls_round_trip_and_records(tb, certs):
    a = Paho(tb.ports[1], "paho-tls-a", ca=certs["ca"])
    t = Paho(tb.port, "paho-tcp-b")
    try:
        assert a.sub("mix/#") == (1,)
        assert t.sub("mix/#") == (1,)
        big = bytes(range(256)) * 400  # 100 KiB: many TLS records
        t.pub("mix/1", big)
        a.pub("mix/2", b"from-tls")
        got_a = sorted(m.payload for m in (a.msgs.get(timeout=T),
                                           a.msgs.get(timeout=T)))
        got_t = sorted(m.payload for m in (t.msgs.get(timeout=T),
                                           t.msgs.get(timeout=T)))
        assert got_a == got_t == sorted([big, b"from-tls"])
        lis = tb.listeners()
        assert [x["protocol"] for x in lis] == ["mqtt:tcp", "mqtt:ssl",
                                                 "mqtt:ssl"]
        assert lis[1]["listen"].endswith(":%d" % tb.ports[1])
        assert lis[1]["current_clients"] == 1
        assert lis[0]["current_clients"] == 1
        by_id = {c["client_id"]: c for c in tb.clients()}
        assert by_id["paho-tls-a"]["listener"] == 1
        assert by_id["paho-tcp-b"]["listener"] == 0
    finally:
        a.close()
        t.close()
    assert wait_for(lambda: tb.listeners()[1]["current_clients"] == 0)


def s_client(port, *args, timeout=10):
    return subprocess.run(
        ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port,
         "-servername", "localhost", *args],
        stdin=subprocess.DEVNULL, capture_output=True, text=True,
        timeout=timeout)


@pytest.mark.parametrize("version", ["-tls1", "-tls1_1"])
def test_old_tls_versions_refused(tb, version):
    # SECLEVEL=0 so that the client does offer the old version: the
    # refusal must come from the broker (alert 70, protocol_version)
    r = s_client(tb.ports[1], version, "-cipher", "DEFAULT@SECLEVEL=0")
    assert r.returncode != 0
    assert "alert protocol version" in r.stdout + r.stderr
    assert "Cipher is (NONE)" in r.stdout


@pytest.mark.parametrize("version,name", [("-tls1_2", "TLSv1.2"),
                                          ("-tls1_3", "TLSv1.3")])
def test_tls12_and_13_with_alpn(tb, certs, version, name):
    r = s_client(tb.ports[1], version, "-alpn", "mqtt", "-CAfile",
                 certs["ca"])
    assert r.returncode == 0, r.stderr
    assert "New, %s" % name in r.stdout
    assert "ALPN protocol: mqtt" in r.stdout
    assert "Verify return code: 0 (ok)" in r.stdout


def test_plaintext_client_on_tls_port(tb):
    s = socket.create_connection(("127.0.0.1", tb.ports[1]), timeout=T)
    # an MQTT 3.1.1 CONNECT in clear
    s.sendall(bytes([0x10, 12, 0, 4]) + b"MQTT" + bytes([4, 2, 0, 60, 0, 0]))
    data = b""
    try:
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    except ConnectionResetError:
        pass
    s.close()
    # at most a TLS alert record, never a CONNACK
    assert data[:1] in (b"", b"\x15"), data
    assert "connection 127.0.0.1" in tb.stderr()
    assert tb.running()


def test_half_open_handshakes_are_bounded(broker_factory, certs):
    """Hundreds of connections that never finish their handshake cost
    little memory, do not slow a real client, and are closed after
    connect_timeout."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    n = min(800, hard - 100)
    if soft < n + 100:
        resource.setrlimit(resource.RLIMIT_NOFILE, (n + 100, hard))
    b = broker_factory(extra_args=tls_args(certs, "--connect-timeout", "2"))
    rss0 = rss_anon(b.proc.pid)
    socks = []
    try:
        for i in range(n):
            s = socket.create_connection(("127.0.0.1", b.ports[1]),
                                         timeout=T)
            if i % 2:
                s.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
            socks.append(s)
        assert wait_for(
            lambda: b.listeners()[1]["current_clients"] >= n, timeout=10)
        grown = rss_anon(b.proc.pid) - rss0
        # an idle SSL object, not its 16 KiB record buffers (ASan's
        # redzones included)
        assert grown / n < 48 * 1024, grown
        t0 = time.monotonic()
        c = Paho(b.ports[1], "busy-but-fine", ca=certs["ca"])
        c.sub("ho/1")
        c.pub("ho/1", b"x")
        assert c.msgs.get(timeout=T).payload == b"x"
        assert time.monotonic() - t0 < 2.0
        c.close()
        # every half-open one ends at connect_timeout
        deadline = time.monotonic() + 6
        for s in socks:
            s.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                while s.recv(4096):
                    pass
            except ConnectionResetError:
                pass
        assert time.monotonic() < deadline
        assert wait_for(lambda: b.listeners()[1]["current_clients"] == 0)
        shut = b.listeners()[1].get("shutdown_count") or {}
        assert shut.get("keepalive_timeout", 0) >= n, shut
    finally:
        for s in socks:
            s.close()


def rss_anon(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) * 1024
    return 0


def peer_subject(port, ca):
    r = s_client(port, "-CAfile", ca)
    for line in r.stdout.splitlines():
        if line.startswith("subject="):
            return line
    return r.stdout


def test_sighup_reloads_certificate_keeping_connections(broker_factory,
                                                        certs, tmp_path):
    d = str(tmp_path)
    cert, key = os.path.join(d, "c.pem"), os.path.join(d, "c.key")
    for src, dst in ((certs["server"], cert), (certs["server_key"], key)):
        with open(src, "rb") as f, open(dst, "wb") as g:
            g.write(f.read())
    b = broker_factory(extra_args=[
        "--listen", "ssl://127.0.0.1:0", "--certfile", cert,
        "--keyfile", key])
    assert "CN = localhost" in peer_subject(b.ports[1], certs["ca"])
    old = Paho(b.ports[1], "kept", ca=certs["ca"])
    old.sub("rel/1")
    pem, k = server_cert(d, "renewed", certs["ca"], certs["ca_key"],
                         cn="renewed")
    os.replace(pem, cert)
    os.replace(k, key)
    b.proc.send_signal(signal.SIGHUP)
    assert wait_for(lambda: "CN = renewed" in peer_subject(
        b.ports[1], certs["ca"]))
    # the connection made before goes on over its own session
    old.pub("rel/1", b"still-here")
    assert old.msgs.get(timeout=T).payload == b"still-here"
    old.close()
    # a broken file keeps the certificate in use
    with open(cert, "w") as f:
        f.write("not a certificate\n")
    b.proc.send_signal(signal.SIGHUP)
    assert wait_for(lambda: "keeping the certificate" in b.stderr())
    assert "CN = renewed" in peer_subject(b.ports[1], certs["ca"])


def test_tls_listener_needs_cert_and_key(tmp_path):
    from broker_fixture import build_path
    r = subprocess.run([build_path("mqttd"), "--state-dir", str(tmp_path),
                        "--no-segment", "--listen", "ssl://127.0.0.1:0"],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 2
    assert "needs certfile and keyfile" in r.stderr
    r = subprocess.run([build_path("mqttd"), "--state-dir", str(tmp_path),
                        "--no-segment", "--listen", "ssl://127.0.0.1:0",
                        "--certfile", "/nonexistent.pem", "--keyfile",
                        "/nonexistent.key"],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode != 0
    assert "/nonexistent.pem" in r.stderr


def test_tls_context_of_python_too(tb, certs):
    """A bare ssl socket (no MQTT library): CONNECT -> CONNACK."""
    ctx = ssl.create_default_context(cafile=certs["ca"])
    ctx.set_alpn_protocols(["mqtt"])
    with socket.create_connection(("127.0.0.1", tb.ports[1]),
                                  timeout=T) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            assert s.selected_alpn_protocol() == "mqtt"
            assert s.version() in ("TLSv1.2", "TLSv1.3")
            s.sendall(bytes([0x10, 13, 0, 4]) + b"MQTT" +
                      bytes([4, 2, 0, 60, 0, 1]) + b"r")
            assert s.recv(4) == bytes([0x20, 2, 0, 0])
