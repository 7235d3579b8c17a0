# SPDX-License-Identifier: BSD-2-Clause
"""Data flow edge cases: pipelining before CONNACK, nothing processed
after a refused CONNECT, overlapping subscriptions, large payloads, a slow
consumer, and many connections, with the segment's view of each."""
import socket
import time

import mqtt_raw as m
from broker_fixture import broker, broker_factory  # noqa: F401
from broker_fixture import flat, rows, shutdown_count


def test_pipelined_before_connack(broker):
    """A client may send packets before it sees CONNACK (MQTT 3.1.4):
    CONNECT + SUBSCRIBE + PUBLISH in one write are handled in order."""
    c = m.Client(broker.port)
    c.send(m.connect("pipe") + m.subscribe(1, ("pipe/t", 1)) +
           m.publish("pipe/t", b"self", qos=1, pid=2))
    assert c.expect(m.CONNACK).rc == 0
    assert c.expect(m.SUBACK).return_codes == [1]
    got = {}
    for _ in range(2):
        p = c.recv()
        got[p.type] = p
    assert got[m.PUBACK].pid == 2
    assert got[m.PUBLISH].payload == b"self"


def test_nothing_processed_after_refused_connect_MQTT_3_1_4_5(broker):
    """MQTT-3.1.4-5: when the server rejects a CONNECT it must not process
    data the client sent after it (here: a PUBLISH in the same write)."""
    s = m.connected(broker.port, "watch")
    assert s.subscribe(("after/#", 0)) == [0]
    base = flat(broker.segment("metrics"))["messages/received"]
    c = m.Client(broker.port)
    c.send(m.connect("refused", level=9) + m.publish("after/x", b"no"))
    got = c.expect_closed()
    assert [p.rc for p in got if p.type == m.CONNACK] == [1]
    c = m.Client(broker.port)
    c.send(m.connect("", clean=False) + m.publish("after/y", b"no"))
    c.expect_closed()
    s.expect_nothing(0.3)
    assert flat(broker.segment("metrics"))["messages/received"] == base


def test_overlapping_subscriptions_MQTT_3_3_5_1(broker):
    """MQTT-3.3.5-1: with overlapping subscriptions the message goes out
    respecting the maximum QoS of the matching ones."""
    c = m.connected(broker.port, "ovl")
    assert c.subscribe(("ov/#", 0), ("ov/t", 2), ("+/t", 1)) == [0, 2, 1]
    p = m.connected(broker.port, "ovp")
    p.send(m.publish("ov/t", b"x", qos=2, pid=1))
    p.expect(m.PUBREC)
    p.send(m.ack(m.PUBREL, 1))
    p.expect(m.PUBCOMP)
    qos = []
    while True:
        try:
            d = c.recv(0.4)
        except TimeoutError:
            break
        if d.type == m.PUBLISH:
            qos.append(d.qos)
            if d.qos == 1:
                c.send(m.ack(m.PUBACK, d.pid))
            elif d.qos == 2:
                c.send(m.ack(m.PUBREC, d.pid))
        elif d.type == m.PUBREL:
            c.send(m.ack(m.PUBCOMP, d.pid))
    assert qos and max(qos) == 2, qos


def test_large_payload_intact(broker):
    """A 900 KB payload (below the 1 MiB default limit) arrives intact,
    whatever the socket writes split it into."""
    s = m.connected(broker.port, "bigs")
    assert s.subscribe(("big/t", 1)) == [1]
    p = m.connected(broker.port, "bigp")
    payload = bytes(range(256)) * (900 * 1024 // 256)
    p.send(m.publish("big/t", payload, qos=1, pid=1))
    assert p.expect(m.PUBACK, timeout=10).pid == 1
    d = s.expect(m.PUBLISH, timeout=10)
    assert d.payload == payload


def test_slow_consumer_disconnected(broker_factory):
    """A subscriber that stops reading is cut off once max_outbuf bytes
    wait for it (shutdown reason slow_consumer); the publisher and the
    broker carry on."""
    b = broker_factory(extra_args=["--max-outbuf", "65536"])
    slow = socket.socket()
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    slow.connect(("127.0.0.1", b.port))
    slow.sendall(m.connect("slow") + m.subscribe(1, ("flood", 0)))
    time.sleep(0.2)  # CONNACK and SUBACK sit unread: fine
    p = m.connected(b.port, "flooder")
    chunk = m.publish("flood", b"x" * 16000)
    for _ in range(400):  # 6.4 MB
        p.send(chunk)
    p.send(m.pingreq())
    p.expect(m.PINGRESP, timeout=10)
    b.wait_segment("listeners",
                   lambda v: shutdown_count(v, "slow_consumer") == 1,
                   timeout=10)
    assert b.client("slow") is None
    slow.close()


def test_many_connections(broker):
    """300 clients at once: all in the segment, clients/count 300; all
    gone after they close."""
    cs = []
    for i in range(300):
        c = m.Client(broker.port)
        c.send(m.connect("many%03d" % i))
        cs.append(c)
    for c in cs:
        assert c.expect(m.CONNACK).rc == 0
    v = broker.wait_segment("clients",
                            lambda v: len(rows(v, "clients")) == 300)
    assert {x["client_id"] for x in rows(v, "clients")} == \
        {"many%03d" % i for i in range(300)}
    assert broker.stats()["clients/count"] == 300
    for c in cs:
        c.close()
    broker.wait_segment("clients", lambda v: rows(v, "clients") == [])
    st = broker.stats()
    assert st["clients/count"] == 0 and st["clients/max"] >= 300
