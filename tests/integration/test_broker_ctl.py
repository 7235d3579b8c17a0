# SPDX-License-Identifier: BSD-2-Clause
"""The control socket (docs/architecture.md, "Control socket protocol")
and the listeners (max_clients, shutdown counts), with the segment's view
after each command."""
import json
import os
import stat

import mqtt_raw as m
from broker_fixture import broker, broker_factory  # noqa: F401
from broker_fixture import read_line, rows, shutdown_count


def test_ctl_socket_mode_and_ping(broker):
    st = os.stat(broker.path("mqttd.ctl"))
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o660
    assert broker.ctl({"cmd": "ping"}) == {"code": 0}


def test_ctl_publish_reaches_subscribers(broker):
    """publish: topic, payload, qos, retain; counted as a message."""
    s = m.connected(broker.port, "cs")
    assert s.subscribe(("ctl/#", 1)) == [1]
    r = broker.ctl({"cmd": "publish", "topic": "ctl/a", "payload": "hello",
                    "qos": 1, "retain": False, "client_id": "http"})
    assert r == {"code": 0}
    p = s.expect(m.PUBLISH)
    assert (p.topic, p.payload, p.qos) == ("ctl/a", b"hello", 1)
    s.send(m.ack(m.PUBACK, p.pid))
    # retain through the API
    assert broker.ctl({"cmd": "publish", "topic": "ctl/r", "payload": "R",
                       "qos": 0, "retain": True})["code"] == 0
    s2 = m.connected(broker.port, "cs2")
    assert s2.subscribe(("ctl/r", 0)) == [0]
    p = s2.expect(m.PUBLISH)
    assert p.payload == b"R" and p.retain


def test_ctl_publish_errors(broker):
    """108 for an invalid topic or qos; 107 for a missing field."""
    bad = [
        ({"cmd": "publish", "topic": "a/+", "payload": "x", "qos": 0}, 108),
        ({"cmd": "publish", "topic": "", "payload": "x", "qos": 0}, 108),
        ({"cmd": "publish", "topic": "a", "payload": "x", "qos": 3}, 108),
        ({"cmd": "publish", "topic": "a", "payload": "x", "qos": "1"}, 108),
        ({"cmd": "publish", "payload": "x", "qos": 0}, 107),
        ({"cmd": "publish", "topic": 5, "payload": "x", "qos": 0}, 108),
    ]
    for req, code in bad:
        r = broker.ctl(req)
        assert r["code"] == code, (req, r)
        assert isinstance(r.get("message"), str) and r["message"]


def test_ctl_subscribe_offline_persistent_session(broker):
    """subscribe on behalf of an offline persistent session (wildcards
    allowed); a message published then is queued and delivered on
    reconnect.  The segment shows the subscription."""
    c = m.connected(broker.port, "off1", clean=False)
    c.send(m.disconnect())
    c.expect_closed()
    r = broker.ctl({"cmd": "subscribe", "client_id": "off1",
                    "topic": "api/+/x", "qos": 1})
    assert r == {"code": 0}
    view = broker.wait_segment(
        "subscriptions",
        lambda v: any(s["client_id"] == "off1" and s["topic"] == "api/+/x"
                      for s in rows(v, "subscriptions")))
    assert [s["qos"] for s in rows(view, "subscriptions")
            if s["client_id"] == "off1"] == [1]
    assert broker.ctl({"cmd": "publish", "topic": "api/7/x",
                       "payload": "queued", "qos": 1})["code"] == 0
    broker.wait_segment(
        "sessions", lambda v: [s.get("mqueue_len") for s in
                               rows(v, "sessions")
                               if s["client_id"] == "off1"] == [1])
    c = m.Client(broker.port)
    assert c.connect("off1", clean=False).session_present == 1
    p = c.expect(m.PUBLISH)
    assert p.payload == b"queued" and p.qos == 1
    c.send(m.ack(m.PUBACK, p.pid))
    # unsubscribe through the API
    assert broker.ctl({"cmd": "unsubscribe", "client_id": "off1",
                       "topic": "api/+/x"}) == {"code": 0}
    broker.wait_segment(
        "subscriptions",
        lambda v: not any(s["client_id"] == "off1"
                          for s in rows(v, "subscriptions")))


def test_ctl_subscribe_errors(broker):
    assert broker.ctl({"cmd": "subscribe", "client_id": "nobody",
                       "topic": "a", "qos": 0})["code"] == 112
    m.connected(broker.port, "here")
    assert broker.ctl({"cmd": "subscribe", "client_id": "here",
                       "topic": "a/#/b", "qos": 0})["code"] == 108
    assert broker.ctl({"cmd": "subscribe", "client_id": "here",
                       "topic": "a", "qos": 5})["code"] == 108
    assert broker.ctl({"cmd": "unsubscribe", "client_id": "nobody",
                       "topic": "a"})["code"] == 112


def test_ctl_kick(broker):
    """kick closes the connection, counts 'kicked' on the listener and
    removes the client from the segment; 112 when not connected."""
    c = m.connected(broker.port, "kickme")
    broker.wait_segment("clients", lambda v: any(
        x["client_id"] == "kickme" for x in rows(v, "clients")))
    assert broker.ctl({"cmd": "kick", "client_id": "kickme"}) == \
        {"code": 0}
    c.expect_closed()
    broker.wait_segment("clients", lambda v: not any(
        x["client_id"] == "kickme" for x in rows(v, "clients")))
    broker.wait_segment("listeners",
                        lambda v: shutdown_count(v, "kicked") == 1)
    assert broker.ctl({"cmd": "kick", "client_id": "kickme"})["code"] == 112
    assert broker.ctl({"cmd": "kick", "client_id": "never"})["code"] == 112


def test_ctl_malformed_requests_never_crash(broker):
    """109 not JSON, 107 missing field, 108 wrong type, 102 unknown cmd;
    all on one connection, which stays open; the broker stays up."""
    cases = [
        (b"not json", 109),
        (b"{", 109),
        (b"[1,2,3]", 109),
        (b'"string"', 109),
        (b"{}", 107),
        (b'{"cmd":7}', 108),
        (b'{"cmd":"nosuch"}', 102),
        (b'{"cmd":"kick"}', 107),
        (b'{"cmd":"kick","client_id":null}', 108),
        (b'{"cmd":"plugin","name":"mqttd_sys"}', 107),
        (b'{"cmd":"plugin","name":"mqttd_sys","active":"yes"}', 108),
        (b'{"cmd":"publish","topic":"a","payload":"x","qos":0,'
         b'"retain":"no"}', 108),
        (b'\xff\xfe\x00garbage', 109),
        (b'{"cmd":"ping"} trailing', 109),
    ]
    with broker.ctl_socket() as s:
        for line, code in cases:
            s.sendall(line + b"\n")
            r = json.loads(read_line(s))
            assert r["code"] == code, (line, r)
        # pipelined: replies in request order
        s.sendall(b'{"cmd":"ping"}\nnope\n{"cmd":"ping"}\n')
        assert [json.loads(read_line_buffered(s))["code"]
                for _ in range(3)] == [0, 109, 0]
    assert broker.ctl({"cmd": "ping"}) == {"code": 0}
    assert broker.running()


_pending = {}


def read_line_buffered(s):
    """Like read_line, but keeps bytes past the newline for the next call
    (several replies may arrive in one recv)."""
    buf = _pending.pop(s.fileno(), b"")
    while b"\n" not in buf:
        chunk = s.recv(65536)
        assert chunk, "control socket closed"
        buf += chunk
    line, rest = buf.split(b"\n", 1)
    _pending[s.fileno()] = rest
    return line


def test_ctl_big_and_abrupt_clients(broker):
    """A 1 MiB junk line gets 109; a client that disconnects mid-line or
    before reading its reply harms nothing."""
    with broker.ctl_socket() as s:
        s.sendall(b"x" * (1 << 20) + b"\n")
        assert json.loads(read_line(s))["code"] == 109
    for _ in range(20):
        s = broker.ctl_socket()
        s.sendall(b'{"cmd":"pi')
        s.close()
        s = broker.ctl_socket()
        s.sendall(b'{"cmd":"ping"}\n')
        s.close()
    assert broker.ctl({"cmd": "ping"}) == {"code": 0}


def test_listener_max_clients(broker_factory):
    """A listener with max_clients=2 refuses the third connection; the
    segment's listener shows 2 current clients, its limit and the
    refusal."""
    b = broker_factory(listen="127.0.0.1:0,max_clients=2")
    a = m.connected(b.port, "l1")
    c = m.connected(b.port, "l2")
    third = m.Client(b.port)
    try:
        third.send(m.connect("l3"))
        got = third.expect_closed()
        assert not any(p.type == m.CONNACK and p.rc == 0 for p in got)
    except (ConnectionResetError, BrokenPipeError):
        pass
    view = b.wait_segment(
        "listeners", lambda v: shutdown_count(v, "max_clients") == 1)
    lst = rows(view, "listeners")[0]
    assert lst["max_clients"] == 2
    assert lst["current_clients"] == 2
    assert lst["protocol"] == "mqtt:tcp"
    assert lst["listen"].endswith(":%d" % b.port)
    a.close()
    b.wait_segment("listeners", lambda v: rows(v, "listeners")[0][
        "current_clients"] == 1)
    d = m.connected(b.port, "l4")  # room again
    d.close()
    c.close()


def test_two_listeners(broker_factory):
    """Any number of listeners: --listen twice, both ports reported on
    the ready line, both serve, each counts its own clients."""
    b = broker_factory(extra_args=["--listen", "127.0.0.1:0"])
    assert len(b.ports) == 2 and b.ports[0] != b.ports[1]
    x = m.connected(b.ports[0], "p0")
    y = m.connected(b.ports[1], "p1")
    assert y.subscribe(("two", 0)) == [0]
    x.send(m.publish("two", b"across"))
    assert y.expect(m.PUBLISH).payload == b"across"
    view = b.wait_segment("listeners", lambda v: sorted(
        lst["current_clients"] for lst in rows(v, "listeners")) == [1, 1])
    assert len(rows(view, "listeners")) == 2


def test_node_view(broker):
    """mqttdctl node: the node name we gave and a live heartbeat."""
    n = broker.segment("node")
    if isinstance(n, dict) and isinstance(n.get("node"), dict):
        n = n["node"]
    assert n["node"] == broker.node
    assert n.get("alive", True) in (True, 1)


def test_closed_shutdown_reason(broker):
    """A DISCONNECT counts as 'closed'."""
    c = m.connected(broker.port, "bye")
    c.send(m.disconnect())
    c.expect_closed()
    broker.wait_segment("listeners",
                        lambda v: shutdown_count(v, "closed") == 1)



def test_ctl_random_lines_never_crash(broker):
    """300 random lines (bytes, JSON-ish fragments, deep nesting): each
    gets one reply with an integer code; the broker stays up."""
    import random
    rnd = random.Random(99)
    pieces = [b'{"cmd":', b'"publish"', b'"topic":', b'"a/b"', b',', b'}',
              b'{', b'[', b']', b'null', b'1e999', b'"\\u0000"', b'-1',
              b'"qos":', b'99999999999999999999', b'true', b'"kick"',
              b'"client_id":', b'"plugin"', b'"name":', b'"active":']
    with broker.ctl_socket() as s:
        for i in range(300):
            if i % 3 == 0:
                line = bytes(rnd.randrange(1, 256) for _ in
                             range(rnd.randrange(1, 80))).replace(b"\n", b"x")
            elif i % 3 == 1:
                line = b"".join(rnd.choice(pieces)
                                for _ in range(rnd.randrange(1, 12)))
            else:
                line = b"[" * rnd.randrange(1, 5000)
            s.sendall(line + b"\n")
            r = json.loads(read_line_buffered(s))
            assert isinstance(r.get("code"), int), (line, r)
    assert broker.ctl({"cmd": "ping"}) == {"code": 0}


def test_ctl_empty_line_gets_109(broker):
    """An empty line is a line that is not JSON: per the contract it gets
    109 (and so a client never waits forever for its reply)."""
    assert broker.ctl_raw(b"\n", timeout=2)["code"] == 109


def test_ctl_subscribe_connected_client(broker):
    """subscribe on behalf of a connected client: it starts receiving at
    once (no SUBACK on the wire: the client did not ask), and the segment
    lists the subscription; unsubscribe stops it."""
    c = m.connected(broker.port, "on1")
    assert broker.ctl({"cmd": "subscribe", "client_id": "on1",
                       "topic": "live/#", "qos": 0}) == {"code": 0}
    broker.wait_segment("subscriptions", lambda v: [
        (s["topic"], s["qos"]) for s in rows(v, "subscriptions")
        if s["client_id"] == "on1"] == [("live/#", 0)])
    assert broker.ctl({"cmd": "publish", "topic": "live/a",
                       "payload": "1", "qos": 0})["code"] == 0
    p = c.expect(m.PUBLISH)
    assert (p.topic, p.payload) == ("live/a", b"1")
    assert broker.ctl({"cmd": "unsubscribe", "client_id": "on1",
                       "topic": "live/#"}) == {"code": 0}
    assert broker.ctl({"cmd": "publish", "topic": "live/a",
                       "payload": "2", "qos": 0})["code"] == 0
    c.expect_nothing(0.3)
