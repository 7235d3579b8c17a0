# SPDX-License-Identifier: BSD-2-Clause
"""CONNECT, session takeover, keepalive and will: MQTT 3.1.1 section 3.1
statements that bind a server, checked with hand-built packets, then the
segment's view of the result (via mqttdctl)."""
import socket
import time

import mqtt_raw as m
from broker_fixture import broker, broker_factory  # noqa: F401
from broker_fixture import rows, shutdown_count


def broker_rows(view):
    return rows(view, "clients")


def shutdown(view, reason):
    return shutdown_count(view, reason)


def test_connect_accepted_and_listed_MQTT_3_2_0_1(broker):
    """MQTT-3.2.0-1: the first packet from the server is CONNACK; the
    client then shows in the segment with its port, username and
    clean_sess."""
    c = m.Client(broker.port)
    c.send(m.connect("cid-a", clean=True, keepalive=30, username="ann"))
    p = c.expect(m.CONNACK)
    assert p.rc == 0 and p.session_present == 0  # MQTT-3.2.2-1
    before = broker.metrics()
    view = broker.wait_segment(
        "clients", lambda v: any(x.get("client_id") == "cid-a"
                                 for x in broker_rows(v)))
    cl = [x for x in broker_rows(view) if x["client_id"] == "cid-a"][0]
    assert cl["port"] == c.local_port
    assert cl["username"] == "ann"
    assert cl["clean_sess"] in (True, 1)
    assert cl["keepalive"] == 30
    assert cl["proto_ver"] == 4
    assert before["packets/connect"] >= 1
    assert before["packets/connack"] >= 1
    # no username: null, not ""
    d = m.connected(broker.port, "cid-b", clean=False)
    view = broker.wait_segment(
        "clients", lambda v: any(x.get("client_id") == "cid-b"
                                 for x in broker_rows(v)))
    cl = [x for x in broker_rows(view) if x["client_id"] == "cid-b"][0]
    assert cl["username"] is None and cl["clean_sess"] in (False, 0)
    assert cl["port"] == d.local_port
    c.close()
    d.close()


def test_connect_counts_in_metrics(broker):
    """packets/connect +1 per CONNECT, packets/connack +1 per CONNACK."""
    base = broker.metrics()
    for i in range(3):
        with m.connected(broker.port, "cnt%d" % i) as c:
            c.send(m.disconnect())
    broker.wait_metric("packets/connect",
                       lambda v: v == base["packets/connect"] + 3)
    assert broker.metrics()["packets/connack"] == base["packets/connack"] + 3


def test_mqtt31_MQIsdp_level3_accepted(broker):
    """MQTT 3.1 clients (protocol name MQIsdp, level 3) are served."""
    c = m.Client(broker.port)
    c.send(m.connect("old-client", proto="MQIsdp", level=3))
    assert c.expect(m.CONNACK).rc == 0
    assert c.subscribe(("t/31", 1)) == [1]
    c.send(m.publish("t/31", b"hi", qos=1, pid=5))
    got = {c.recv().type, c.recv().type}
    assert got == {m.PUBACK, m.PUBLISH}
    cl = broker.wait_segment(
        "clients", lambda v: any(x.get("client_id") == "old-client"
                                 for x in broker_rows(v)))
    assert [x for x in broker_rows(cl)
            if x["client_id"] == "old-client"][0]["proto_ver"] == 3
    c.close()


def test_bad_protocol_level_gets_connack_1_MQTT_3_1_2_2(broker):
    """MQTT-3.1.2-2: unsupported protocol level -> CONNACK 0x01, then the
    server disconnects."""
    c = m.Client(broker.port)
    c.send(m.connect("lvl", level=7))
    got = c.expect_closed()
    assert len(got) == 1 and got[0].type == m.CONNACK and got[0].rc == 1


def test_empty_id_persistent_refused_MQTT_3_1_3_8(broker):
    """MQTT-3.1.3-8: zero-byte client id with CleanSession=0 -> CONNACK
    0x02 (identifier rejected), then close."""
    c = m.Client(broker.port)
    c.send(m.connect("", clean=False))
    got = c.expect_closed()
    assert len(got) == 1 and got[0].type == m.CONNACK and got[0].rc == 2


def test_empty_id_clean_gets_unique_id_MQTT_3_1_3_6(broker):
    """MQTT-3.1.3-6/7: zero-byte client id with CleanSession=1 is accepted
    and the server assigns a unique id (visible in the segment)."""
    a = m.connected(broker.port, "")
    b = m.connected(broker.port, "")
    view = broker.wait_segment("clients",
                               lambda v: len(broker_rows(v)) == 2)
    ids = {x["client_id"] for x in broker_rows(view)}
    assert len(ids) == 2 and "" not in ids
    ports = {x["port"] for x in broker_rows(view)}
    assert ports == {a.local_port, b.local_port}
    a.close()
    b.close()


def test_first_packet_not_connect_closes_MQTT_3_1_0_1(broker):
    """MQTT-3.1.0-1: a first packet other than CONNECT closes the
    connection, and nothing is sent back."""
    c = m.Client(broker.port)
    c.send(m.subscribe(1, ("a", 0)))
    assert c.expect_closed() == []
    c = m.Client(broker.port)
    c.send(m.pingreq())
    assert c.expect_closed() == []


def test_second_connect_closes_MQTT_3_1_0_2(broker):
    """MQTT-3.1.0-2: a second CONNECT is a protocol violation: close."""
    c = m.connected(broker.port, "twice")
    c.send(m.connect("twice"))
    assert c.expect_closed() == []
    # the shutdown is counted as malformed on the listener
    broker.wait_segment(
        "listeners",
        lambda v: shutdown(v, "malformed") >= 1)


def test_reserved_connect_flag_closes_MQTT_3_1_2_3(broker):
    """MQTT-3.1.2-3: the reserved flag bit of CONNECT must be 0, else
    the server disconnects."""
    c = m.Client(broker.port)
    c.send(m.connect("resv", flags=0x03))
    assert all(p.type != m.CONNACK or p.rc != 0 for p in c.expect_closed())


def test_malformed_packet_closes_only_that_connection(broker):
    """A malformed packet closes its own connection; others stay."""
    good = m.connected(broker.port, "good")
    bad = m.connected(broker.port, "bad")
    # SUBSCRIBE with the wrong fixed-header flags (MQTT-3.8.1-1)
    bad.send(bytes([0x80, 6, 0, 1, 0, 1, ord("a"), 0]))
    assert bad.expect_closed() == []
    good.send(m.pingreq())
    good.expect(m.PINGRESP)
    good.close()


def test_publish_topic_with_wildcard_closes_MQTT_3_3_2_2(broker):
    """MQTT-3.3.2-2: a PUBLISH topic name must not contain wildcards;
    the server closes the connection."""
    c = m.connected(broker.port, "wild")
    c.send(m.publish("a/+", b"x"))
    assert c.expect_closed() == []


def test_overlong_remaining_length_closes(broker):
    """A 5-byte remaining length is malformed (MQTT 2.2.3)."""
    c = m.connected(broker.port, "varint")
    c.send(bytes([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]))
    assert c.expect_closed() == []


def test_pingreq_gets_pingresp_MQTT_3_12_4_1(broker):
    c = m.connected(broker.port, "ping")
    for _ in range(3):
        c.send(m.pingreq())
        c.expect(m.PINGRESP)
    c.close()


def test_takeover_closes_old_connection_MQTT_3_1_4_2(broker):
    """MQTT-3.1.4-2: a second client with the same id: the server
    disconnects the existing one.  The segment lists the new connection
    and the listener counts a takeover."""
    old = m.connected(broker.port, "same")
    new = m.connected(broker.port, "same")
    assert old.expect_closed() == []
    view = broker.wait_segment(
        "clients", lambda v: [x["port"] for x in broker_rows(v)
                              if x["client_id"] == "same"] ==
        [new.local_port])
    assert len([x for x in broker_rows(view)
                if x["client_id"] == "same"]) == 1
    broker.wait_segment("listeners",
                        lambda v: shutdown(v, "takeover") == 1)
    new.send(m.pingreq())
    new.expect(m.PINGRESP)
    new.close()


def test_session_present_on_resume_MQTT_3_2_2_2(broker):
    """MQTT-3.2.2-2/3: CleanSession=0 with a stored session -> session
    present 1; CleanSession=1 -> 0 and the session is discarded
    (MQTT-3.1.2-6)."""
    c = m.connected(broker.port, "sp", clean=False)
    assert c.subscribe(("sp/t", 1)) == [1]
    c.send(m.disconnect())
    c.expect_closed()
    c = m.Client(broker.port)
    assert c.connect("sp", clean=False).session_present == 1
    c.send(m.disconnect())
    c.expect_closed()
    c = m.Client(broker.port)
    assert c.connect("sp", clean=True).session_present == 0
    c.send(m.disconnect())
    c.expect_closed()
    c = m.Client(broker.port)
    assert c.connect("sp", clean=False).session_present == 0
    c.close()


def test_keepalive_timeout_1_5x_MQTT_3_1_2_24(broker):
    """MQTT-3.1.2-24: no packet within 1.5 x keepalive -> the server
    disconnects.  With keepalive 1 s: not before ~1 s, and by ~2.5 s."""
    c = m.connected(broker.port, "ka", keepalive=1)
    t0 = time.monotonic()
    c.expect_closed(timeout=4)
    dt = time.monotonic() - t0
    assert 1.0 <= dt <= 2.6, "closed after %.2f s" % dt
    broker.wait_segment("listeners",
                        lambda v: shutdown(v, "keepalive_timeout") == 1)


def test_keepalive_pings_keep_connection(broker):
    """Activity within the keepalive keeps the connection open."""
    c = m.connected(broker.port, "ka2", keepalive=1)
    for _ in range(4):
        time.sleep(0.45)
        c.send(m.pingreq())
        c.expect(m.PINGRESP)
    c.close()


def test_will_published_on_abnormal_close_MQTT_3_1_2_8(broker):
    """MQTT-3.1.2-8: the will is published when the network connection
    closes without DISCONNECT."""
    sub = m.connected(broker.port, "will-sub")
    assert sub.subscribe(("will/t", 1)) == [1]
    w = m.connected(broker.port, "will-pub",
                    will=("will/t", b"gone", 1, False))
    w.sock.shutdown(socket.SHUT_RDWR)
    w.close()
    p = sub.expect(m.PUBLISH)
    assert p.topic == "will/t" and p.payload == b"gone" and p.qos == 1
    sub.send(m.ack(m.PUBACK, p.pid))
    sub.close()


def test_will_on_keepalive_timeout(broker):
    """A keepalive timeout is an abnormal close: the will goes out."""
    sub = m.connected(broker.port, "will-sub2")
    assert sub.subscribe(("will/ka", 0)) == [0]
    m.connected(broker.port, "will-ka", keepalive=1,
                will=("will/ka", b"timeout", 0, False))
    p = sub.expect(m.PUBLISH, timeout=4)
    assert p.payload == b"timeout"
    sub.close()


def test_will_not_published_on_disconnect_MQTT_3_1_2_10(broker):
    """MQTT-3.1.2-10: DISCONNECT deletes the will."""
    sub = m.connected(broker.port, "will-sub3")
    assert sub.subscribe(("will/d", 0)) == [0]
    w = m.connected(broker.port, "will-d",
                    will=("will/d", b"should-not", 0, False))
    w.send(m.disconnect())
    w.expect_closed()
    sub.expect_nothing(0.5)
    sub.close()


def test_will_retained_MQTT_3_1_2_17(broker):
    """MQTT-3.1.2-17: will retain=1 -> published as a retained message."""
    w = m.connected(broker.port, "will-r",
                    will=("will/r", b"last", 0, True))
    w.close()
    time.sleep(0.2)
    sub = m.connected(broker.port, "will-rsub")
    assert sub.subscribe(("will/r", 0)) == [0]
    p = sub.expect(m.PUBLISH)
    assert p.payload == b"last" and p.retain
    sub.close()


def test_connect_timeout_without_connect(broker_factory):
    """A socket that never sends CONNECT is closed after connect_timeout."""
    b = broker_factory(extra_args=["--connect-timeout", "1"])
    c = m.Client(b.port)
    t0 = time.monotonic()
    assert c.expect_closed(timeout=4) == []
    assert time.monotonic() - t0 < 3



def test_random_garbage_never_crashes(broker):
    """200 connections sending random bytes (some after a valid CONNECT):
    each is closed or ignored, the broker stays up and serves, and stop()
    finds no sanitizer report."""
    import random
    rnd = random.Random(1234)
    for i in range(200):
        c = m.Client(broker.port)
        try:
            if i % 2:
                c.send(m.connect("g%d" % i))
            c.send(bytes(rnd.randrange(256)
                         for _ in range(rnd.randrange(1, 64))))
        except OSError:
            pass
        c.close()
    ok = m.connected(broker.port, "after-garbage")
    ok.send(m.pingreq())
    ok.expect(m.PINGRESP)
    assert broker.running()
