# SPDX-License-Identifier: BSD-2-Clause
"""mqttd_auth_http against a real HTTP service (http_auth_service: Python's
http.server on a free port): allow, deny, ignore, superuser, ACL on
PUBLISH and SUBSCRIBE, cache hits counted at the server, the backend down
and back, a slow backend while 100 clients connect and others keep
talking, an injection-looking username, HTTPS with CA verification."""
import threading
import time

import pytest

import mqtt_raw as m
from broker_fixture import broker_factory, wait_until  # noqa: F401
from http_auth_service import AuthService
from test_broker_plugins import switch, try_connect
from tls_certs import make_certs


@pytest.fixture
def svc():
    s = AuthService()
    s.users = {"alice": "a-pw", "bob": "b-pw", "root": "r-pw"}
    s.supers = {"root"}
    s.ignore = {"ign"}
    yield s
    s.stop()


def http_broker(broker_factory, svc, *extra, acl=True, super_=True):
    b = broker_factory(start=False)
    args = ["--allow-anonymous", "false",
            "--auth-http-auth-req", svc.url("/auth")]
    if super_:
        args += ["--auth-http-super-req", svc.url("/super")]
    if acl:
        args += ["--auth-http-acl-req", svc.url("/acl")]
    b.extra_args = args + list(extra)
    b.start()
    assert switch(b, "mqttd_auth_http", True) == {"code": 0}
    return b


def test_http_allow_deny_ignore(broker_factory, svc):
    """200: in; 401: CONNACK 4; 200 "ignore": the next plugin, here
    allow_anonymous false (5).  The params are EMQ's defaults: POST
    clientid, username, password."""
    b = http_broker(broker_factory, svc, "--auth-http-cache-ttl", "0")
    assert try_connect(b, "c1", "alice", "a-pw") == 0
    assert try_connect(b, "c1", "alice", "wrong") == 4
    assert try_connect(b, "c1", "nobody", "x") == 4
    assert try_connect(b, "c1", "ign", "x") == 5
    path, p = svc.requests[0]
    assert path == "/auth"
    assert p == {"clientid": "c1", "username": "alice", "password": "a-pw"}
    # off: the service is not asked
    n = svc.count("/auth")
    assert switch(b, "mqttd_auth_http", False) == {"code": 0}
    assert try_connect(b, "c1", "alice", "a-pw") == 5
    assert svc.count("/auth") == n


def test_http_get_params_and_placeholders(broker_factory, svc):
    """GET with the params in the query string; %a and %p."""
    b = http_broker(broker_factory, svc, "--auth-http-auth-req-method",
                    "get", "--auth-http-auth-req-params",
                    "username=%u,password=%P,ip=%a,port=%p,c=%c",
                    acl=False, super_=False)
    assert try_connect(b, "dev/1", "alice", "a-pw") == 0
    _, p = svc.requests[-1]
    assert p == {"username": "alice", "password": "a-pw",
                 "ip": "127.0.0.1", "port": str(b.port), "c": "dev/1"}


def test_http_injection_looking_username(broker_factory, svc):
    """A username full of &, =, %, quotes and newlines reaches the
    service as one value: no extra parameter, no changed password."""
    b = http_broker(broker_factory, svc, acl=False, super_=False)
    evil = "x&password=a-pw&username=alice%26'; drop table\r\n--"
    assert try_connect(b, "c1", evil, "nope") == 4
    _, p = svc.requests[-1]
    assert p == {"clientid": "c1", "username": evil, "password": "nope"}


def test_http_superuser_skips_acl(broker_factory, svc):
    """super_req 200: root may subscribe to anything, acl_req is never
    asked for it; alice is no superuser and is asked."""
    b = http_broker(broker_factory, svc)
    root = m.connected(b.port, "r1", username="root", password="r-pw")
    assert root.subscribe(("#", 0), ("bob/+", 1)) == [0, 1]
    assert svc.count("/super") == 1
    assert svc.count("/acl") == 0
    a = m.connected(b.port, "a1", username="alice", password="a-pw")
    assert a.subscribe(("#", 0), pid=2) == [0x80]
    assert svc.count("/acl") == 1


def test_http_acl_publish_subscribe_and_cache(broker_factory, svc):
    """acl_req decides: alice/... allowed, bob/... denied, for SUBSCRIBE
    (SUBACK 0x80) and PUBLISH (dropped).  Asked once per topic and access
    while the cache keeps the answer; auth_req once per credentials."""
    b = http_broker(broker_factory, svc)
    a = m.connected(b.port, "a1", username="alice", password="a-pw")
    assert a.subscribe(("alice/+", 1), ("bob/+", 1), ("public", 0)) == \
        [1, 0x80, 0]
    acl = [p for path, p in svc.requests if path == "/acl"]
    assert {(p["topic"], p["access"]) for p in acl} == {
        ("alice/+", "1"), ("bob/+", "1"), ("public", "1")}
    assert acl[0]["username"] == "alice" and acl[0]["clientid"] == "a1"
    for i in range(5):
        a.send(m.publish("alice/x", b"%d" % i, qos=1, pid=10 + i))
        got = sorted([a.recv(5), a.recv(5)], key=lambda p: p.type)
        assert [p.type for p in got] == [m.PUBLISH, m.PUBACK]
        assert got[0].payload == b"%d" % i and got[1].pid == 10 + i
    a.send(m.publish("bob/x", b"no", qos=1, pid=20))
    assert a.expect(m.PUBACK).pid == 20
    a.expect_nothing(0.3)  # not delivered: its own alice/+ does not match
    b2 = m.connected(b.port, "b1", username="bob", password="b-pw")
    assert b2.subscribe(("bob/+", 0)) == [0]
    a.send(m.publish("bob/x", b"no2"))
    b2.expect_nothing(0.5)  # denied for alice
    # one question per (topic, access); one auth per credentials
    assert svc.count("/acl") == 3 + 1 + 1 + 1  # + alice/x, bob/x pub, b1
    assert try_connect(b, "a2", "alice", "a-pw") == 0
    assert try_connect(b, "a2", "alice", "a-pw") == 0
    auth = [p for path, p in svc.requests if path == "/auth"
            and p["clientid"] == "a2"]
    assert len(auth) == 1


def test_http_acl_keeps_order(broker_factory, svc):
    """While a PUBLISH waits for its ACL answer (the service takes 0.3 s)
    the client's later packets wait too: a subscriber sees alice's
    messages in the order she sent them, the first one included."""
    b = http_broker(broker_factory, svc, super_=False)
    sub = m.connected(b.port, "s1", username="alice", password="a-pw")
    assert sub.subscribe(("alice/#", 0)) == [0]
    pub = m.connected(b.port, "p1", username="alice", password="a-pw")
    svc.slow = 0.3
    topics = ["alice/a", "alice/b", "alice/a", "alice/c", "alice/b"]
    for i, t in enumerate(topics):
        pub.send(m.publish(t, b"%d" % i))
    got = [sub.expect(m.PUBLISH, timeout=10).payload for _ in topics]
    assert got == [b"%d" % i for i in range(len(topics))]


def test_http_backend_down_and_back(broker_factory, svc):
    """The service down: CONNECT refused (5, outcome deny), the failure
    logged once per interval, not per client; back: clients get in."""
    b = http_broker(broker_factory, svc, "--auth-http-timeout", "1000",
                    acl=False, super_=False)
    svc.stop()
    for i in range(5):
        assert try_connect(b, "c%d" % i, "alice", "a-pw") == 5
    assert b.stderr().count("mqttd_auth_http: auth_req") == 1
    svc.start()
    assert try_connect(b, "c9", "alice", "a-pw") == 0


def test_http_backend_errors_outcome_ignore(broker_factory, svc):
    """on_error ignore: a 500 passes the client on (allow_anonymous
    true here: in); with deny it would be CONNACK 5."""
    b = http_broker(broker_factory, svc, "--auth-http-on-error", "ignore",
                    "--allow-anonymous", "true", acl=False, super_=False)
    svc.status = 500
    assert try_connect(b, "c1", "alice", "wrong") == 0
    svc.status = None
    assert try_connect(b, "c1", "alice", "wrong") == 4


def test_http_slow_backend_does_not_stall_others(broker_factory, svc):
    """The service answers after 2 s; 100 clients connect at once (each
    its own user: no cache).  A client already connected keeps its round
    trips fast meanwhile, and every one of the 100 gets in."""
    b = http_broker(broker_factory, svc, "--auth-http-timeout", "10000",
                    acl=False, super_=False)
    probe = m.connected(b.port, "probe", username="alice", password="a-pw")
    for i in range(100):
        svc.users["u%d" % i] = "pw"
    svc.slow = 2.0
    results = [None] * 100

    def one(i):
        try:
            c = m.Client(b.port, timeout=30)
            c.send(m.connect("u%d" % i, username="u%d" % i, password="pw"))
            results[i] = c.expect(m.CONNACK, timeout=30).rc
            c.close()
        except Exception as e:  # noqa: BLE001 - reported below
            results[i] = repr(e)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(100)]
    for t in threads:
        t.start()
    rtts = []
    end = time.monotonic() + 2.5
    while time.monotonic() < end:
        t0 = time.monotonic()
        probe.send(m.pingreq())
        probe.expect(m.PINGRESP, timeout=5)
        rtts.append(time.monotonic() - t0)
        time.sleep(0.02)
    for t in threads:
        t.join(60)
    assert results == [0] * 100
    rtts.sort()
    assert rtts[int(len(rtts) * 0.9)] < 0.1, rtts[-5:]


def test_http_https_ca_verification(broker_factory, tmp_path):
    """HTTPS: with the service's CA (auth_http_cafile) the answers count;
    without it the certificate is not trusted: a failing backend (5)."""
    certs = make_certs(str(tmp_path))
    s = AuthService(certfile=certs["server"], keyfile=certs["server_key"])
    s.users = {"alice": "a-pw"}
    try:
        b = http_broker(broker_factory, s, "--auth-http-cafile",
                        certs["ca"], acl=False, super_=False)
        assert try_connect(b, "c1", "alice", "a-pw") == 0
        assert try_connect(b, "c1", "alice", "bad") == 4
        b2 = http_broker(broker_factory, s, acl=False, super_=False)
        assert try_connect(b2, "c1", "alice", "a-pw") == 5
        assert "mqttd_auth_http" in b2.stderr()
    finally:
        s.stop()
