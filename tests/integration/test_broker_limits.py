# SPDX-License-Identifier: BSD-2-Clause
"""Timers and limits (session expiry, retry with DUP, awaiting_rel
timeout, max_packet_size), exact counting (bytes and packets as EMQ 2.3
counts them, stats with high-water marks), $SYS contents, and the
mqttd-passwd tool."""
import os
import stat
import subprocess
import time

import mqtt_raw as m
from broker_fixture import broker, broker_factory  # noqa: F401
from broker_fixture import build_path, flat, rows, shutdown_count


def sess(b, cid):
    return b.session(cid) or {}


def test_session_expiry(broker_factory):
    """An offline persistent session goes after session_expiry seconds:
    gone from the segment, and a reconnect finds no session."""
    b = broker_factory(extra_args=["--session-expiry", "1"])
    c = m.connected(b.port, "exp", clean=False)
    assert c.subscribe(("e/t", 1)) == [1]
    c.send(m.disconnect())
    c.expect_closed()
    b.wait_segment("sessions", lambda v: any(
        s["client_id"] == "exp" and not s["connected"]
        for s in rows(v, "sessions")))
    b.wait_segment("sessions", lambda v: not any(
        s["client_id"] == "exp" for s in rows(v, "sessions")), timeout=4)
    assert not any(s["client_id"] == "exp" for s in b.subscriptions())
    c = m.Client(b.port)
    assert c.connect("exp", clean=False).session_present == 0


def test_session_resumed_before_expiry(broker_factory):
    """A reconnect within session_expiry keeps the session."""
    b = broker_factory(extra_args=["--session-expiry", "2"])
    c = m.connected(b.port, "exp2", clean=False)
    assert c.subscribe(("e2", 0)) == [0]
    c.close()
    time.sleep(0.5)
    c = m.Client(b.port)
    assert c.connect("exp2", clean=False).session_present == 1
    c.close()
    time.sleep(1.0)  # the clock restarts at the second disconnect
    c = m.Client(b.port)
    assert c.connect("exp2", clean=False).session_present == 1


def test_retry_interval_resends_with_dup(broker_factory):
    """An unacknowledged QoS 1 delivery is sent again, DUP=1, same packet
    id, after retry_interval, on the same connection."""
    b = broker_factory(extra_args=["--retry-interval", "1"])
    s = m.connected(b.port, "rt")
    assert s.subscribe(("rt", 1)) == [1]
    p = m.connected(b.port, "rtp")
    p.send(m.publish("rt", b"x", qos=1, pid=1))
    first = s.expect(m.PUBLISH)
    assert not first.dup
    again = s.expect(m.PUBLISH, timeout=3)
    assert again.dup and again.pid == first.pid and again.payload == b"x"
    s.send(m.ack(m.PUBACK, again.pid))
    s.expect_nothing(1.3)


def test_awaiting_rel_timeout(broker_factory):
    """An incoming QoS 2 message whose PUBREL never comes is dropped from
    awaiting_rel after await_rel_timeout; a late PUBREL is then an ack
    for an unknown id (PUBCOMP, counted as packets/pubrel/missed)."""
    b = broker_factory(extra_args=["--await-rel-timeout", "1"])
    c = m.connected(b.port, "arl")
    c.send(m.publish("ar", b"x", qos=2, pid=8))
    c.expect(m.PUBREC)
    b.wait_segment("sessions", lambda v: sess(b, "arl").get(
        "awaiting_rel_len") == 1)
    b.wait_segment("sessions", lambda v: sess(b, "arl").get(
        "awaiting_rel_len") == 0, timeout=4)
    base = b.metrics()["packets/pubrel/missed"]
    c.send(m.ack(m.PUBREL, 8))
    assert c.expect(m.PUBCOMP).pid == 8
    b.wait_metric("packets/pubrel/missed", lambda v: v == base + 1)


def test_max_awaiting_rel(broker_factory):
    """Beyond max_awaiting_rel incoming QoS 2 messages are dropped and
    counted in messages/qos2/dropped."""
    b = broker_factory(extra_args=["--max-awaiting-rel", "2"])
    c = m.connected(b.port, "mar")
    base = b.metrics()["messages/qos2/dropped"]
    for pid in (1, 2, 3):
        c.send(m.publish("mar", b"x", qos=2, pid=pid))
    c.send(m.pingreq())
    while c.recv().type != m.PINGRESP:
        pass
    b.wait_metric("messages/qos2/dropped", lambda v: v == base + 1)
    assert sess(b, "mar")["awaiting_rel_len"] == 2


def test_max_packet_size(broker_factory):
    """A packet above max_packet_size closes the connection (counted as
    malformed); one just below it is fine."""
    b = broker_factory(extra_args=["--max-packet-size", "1024"])
    s = m.connected(b.port, "mps")
    assert s.subscribe(("big", 0)) == [0]
    c = m.connected(b.port, "mpc")
    ok = m.publish("big", b"x" * 1000)
    assert len(ok) <= 1024
    c.send(ok)
    assert len(s.expect(m.PUBLISH).payload) == 1000
    # Only the header of a huge packet: it must be refused on the length
    # alone, before the body arrives.
    c.send(bytes([0x30]) + m.varint(200 * 1024 * 1024))
    assert c.expect_closed() == []
    b.wait_segment("listeners",
                   lambda v: shutdown_count(v, "malformed") == 1)
    s.expect_nothing(0.1)


def test_bytes_and_packets_counted_exactly(broker):
    """bytes/received counts socket bytes, packets/received +1 per
    parsed packet of any type; the sent side likewise."""
    base = broker.metrics()
    c = m.Client(broker.port)
    out = [m.connect("exact"), m.subscribe(1, ("ex", 0)), m.pingreq(),
           m.publish("ex", b"12345"), m.pingreq()]
    c.send(out[0])
    replies = [c.expect(m.CONNACK)]
    for pkt in out[1:]:
        c.send(pkt)
    replies.append(c.expect(m.SUBACK))
    replies.append(c.expect(m.PINGRESP))
    replies.append(c.expect(m.PUBLISH))
    replies.append(c.expect(m.PINGRESP))
    sent = sum(len(p) for p in out)
    # reply sizes: CONNACK 4, SUBACK 5, PINGRESP 2, PUBLISH 2+2+2+5, 2
    rbytes = 4 + 5 + 2 + (2 + 4 + 5) + 2
    after = broker.wait_metric(
        "packets/received",
        lambda v: v == base["packets/received"] + len(out))
    assert after == base["packets/received"] + 5
    mt = broker.metrics()
    assert mt["bytes/received"] == base["bytes/received"] + sent
    assert mt["bytes/sent"] == base["bytes/sent"] + rbytes
    assert mt["packets/sent"] == base["packets/sent"] + 5
    assert mt["packets/pingreq"] == base["packets/pingreq"] + 2
    assert mt["packets/pingresp"] == base["packets/pingresp"] + 2
    assert mt["packets/subscribe"] == base["packets/subscribe"] + 1
    assert mt["packets/suback"] == base["packets/suback"] + 1
    assert mt["packets/publish/received"] == \
        base["packets/publish/received"] + 1
    assert mt["packets/publish/sent"] == base["packets/publish/sent"] + 1
    assert mt["messages/sent"] == base["messages/sent"] + 1
    c.close()


def test_stats_high_water_marks(broker):
    """clients/count and clients/max, subscriptions and topics follow the
    broker; max keeps the peak."""
    cs = [m.connected(broker.port, "hw%d" % i) for i in range(4)]
    for i, c in enumerate(cs):
        assert c.subscribe(("hw/%d" % i, 0)) == [0]
    v = broker.wait_segment("stats",
                            lambda v: flat(v)["subscriptions/count"] == 4)
    st = flat(v)
    assert st["clients/count"] == 4 and st["clients/max"] >= 4
    assert st["sessions/count"] == 4
    assert st["routes/count"] >= 4 and st["topics/count"] >= 4
    for c in cs[:3]:
        c.send(m.disconnect())
        c.expect_closed()
    v = broker.wait_segment("stats",
                            lambda v: flat(v)["clients/count"] == 1)
    st = flat(v)
    assert st["clients/max"] >= 4
    assert st["subscriptions/count"] == 1
    assert st["subscriptions/max"] >= 4
    assert st["sessions/count"] == 1 and st["sessions/max"] >= 4


def test_sys_topics_content(broker_factory):
    """$SYS/brokers/<node>/version and /uptime are published; version is
    the broker's (as the segment's node view says)."""
    b = broker_factory(extra_args=["--sys-interval", "1"])
    s = m.connected(b.port, "sysc")
    assert s.subscribe(("$SYS/brokers/+/version", 0),
                       ("$SYS/brokers/+/uptime", 0),
                       ("$SYS/brokers/+/metrics/#", 0)) == [0, 0, 0]
    seen = {}
    deadline = time.monotonic() + 4
    while len(seen) < 3 and time.monotonic() < deadline:
        p = s.recv(4)
        kind = p.topic.split("/")[3]
        seen[kind] = p
    assert set(seen) == {"version", "uptime", "metrics"}, sorted(seen)
    node = b.segment("node")
    assert seen["version"].topic == "$SYS/brokers/%s/version" % b.node
    assert seen["version"].payload.decode() == node["version"]
    assert seen["uptime"].payload


def test_mqttd_passwd_tool(tmp_path):
    """mqttd-passwd: adds SHA-512 crypt entries (yescrypt with -y), replaces
    an entry, deletes with -D, keeps other lines, mode 0600."""
    f = str(tmp_path / "users")
    tool = build_path("mqttd-passwd")

    def run(*args, pw=None):
        return subprocess.run([tool, *args], input=pw, text=True,
                              capture_output=True, timeout=10)

    with open(f, "w") as fh:
        fh.write("# keep me\n")
    os.chmod(f, 0o600)
    assert run(f, "a", pw="pa\n").returncode == 0
    assert run("-y", f, "b", pw="pb\n").returncode == 0
    lines = open(f).read().splitlines()
    assert lines[0] == "# keep me"
    ents = dict(x.split(":", 1) for x in lines[1:])
    assert ents["a"].startswith("$6$") and ents["b"].startswith("$y$")
    old_a = ents["a"]
    assert run(f, "a", pw="pa2\n").returncode == 0
    ents = dict(x.split(":", 1) for x in open(f).read().splitlines()[1:])
    assert ents["a"] != old_a and len(ents) == 2
    assert run("-D", f, "b").returncode == 0
    assert run("-D", f, "b").returncode != 0
    assert run(f, "c", pw="").returncode != 0  # no password
    assert run(f, "#x", pw="p\n").returncode != 0
    assert [x.split(":")[0] for x in
            open(f).read().splitlines()] == ["# keep me", "a"]
    assert stat.S_IMODE(os.stat(f).st_mode) == 0o600
    assert not os.path.exists(f + ".tmp")
