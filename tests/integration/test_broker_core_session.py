# SPDX-License-Identifier: BSD-2-Clause
"""Session mechanics of mqttd beyond the basic QoS flows: the inflight
window with acks out of order, queue order behind a full window, QoS 2
outbound state carried across a takeover, and the session figures the
segment shows meanwhile (via mqttdctl)."""
import time

import paho.mqtt.client as paho

import mqtt_raw as m
from broker_fixture import broker, broker_factory  # noqa: F401


def sess(b, cid):
    s = b.session(cid)
    assert s is not None, "no session %s in %r" % (cid, b.sessions())
    return s


def test_window_acks_out_of_order(broker_factory):
    """max_inflight 3: three deliveries, then nothing until the window
    head is acked; acking the tail first frees nothing, acking the head
    then frees all three slots at once; ids stay distinct and the queue
    drains in publish order."""
    b = broker_factory(extra_args=["--max-inflight", "3"])
    sub = m.connected(b.port, "win", clean=False)
    assert sub.subscribe(("w", 1)) == [1]
    pub = m.connected(b.port, "win-pub")
    for i in range(8):
        pub.send(m.publish("w", b"%d" % i, qos=1, pid=i + 1))
        pub.expect(m.PUBACK)
    first = [sub.expect(m.PUBLISH) for _ in range(3)]
    assert [p.payload for p in first] == [b"0", b"1", b"2"]
    assert len({p.pid for p in first}) == 3
    sub.expect_nothing(0.3)
    v = b.wait_segment("sessions", lambda v: sess(b, "win").get(
        "mqueue_len") == 5)
    assert sess(b, "win")["inflight_len"] == 3
    sub.send(m.ack(m.PUBACK, first[2].pid) + m.ack(m.PUBACK, first[1].pid))
    sub.expect_nothing(0.3)  # the head is still unacked: span is full
    sub.send(m.ack(m.PUBACK, first[0].pid))
    nxt = [sub.expect(m.PUBLISH) for _ in range(3)]
    assert [p.payload for p in nxt] == [b"3", b"4", b"5"]
    for p in nxt:
        sub.send(m.ack(m.PUBACK, p.pid))
    last = [sub.expect(m.PUBLISH) for _ in range(2)]
    assert [p.payload for p in last] == [b"6", b"7"]
    for p in last:
        sub.send(m.ack(m.PUBACK, p.pid))
    b.wait_segment("sessions", lambda v: sess(b, "win").get(
        "inflight_len") == 0 and sess(b, "win").get("mqueue_len") == 0)
    assert b.metrics()["packets/puback/missed"] == 0
    assert v is not None


def test_qos2_outbound_state_survives_takeover(broker):
    """A QoS 2 delivery PUBREC'd on one connection is completed on the
    connection that takes the session over: the new one gets PUBREL (not
    the PUBLISH again), and the old one is closed as takeover."""
    sub = m.connected(broker.port, "q2t", clean=False)
    assert sub.subscribe(("q2t", 2)) == [2]
    pub = m.connected(broker.port, "q2t-pub")
    pub.send(m.publish("q2t", b"once", qos=2, pid=7))
    pub.expect(m.PUBREC)
    pub.send(m.ack(m.PUBREL, 7))
    pub.expect(m.PUBCOMP)
    p = sub.expect(m.PUBLISH)
    assert p.qos == 2 and p.payload == b"once"
    sub.send(m.ack(m.PUBREC, p.pid))
    assert sub.expect(m.PUBREL).pid == p.pid
    broker.wait_segment("sessions", lambda v: sess(
        broker, "q2t").get("awaiting_comp") == 1)
    new = m.Client(broker.port)
    assert new.connect("q2t", clean=False).session_present == 1
    sub.expect_closed()
    rel = new.expect(m.PUBREL)
    assert rel.pid == p.pid and rel.flags == 0x2
    new.send(m.ack(m.PUBCOMP, p.pid))
    new.expect_nothing(0.3)
    broker.wait_segment("sessions", lambda v: sess(
        broker, "q2t").get("awaiting_comp") == 0)
    assert broker.metrics()["packets/pubcomp/missed"] == 0


def test_pubcomp_for_unknown_id_is_missed(broker):
    c = m.connected(broker.port, "miss")
    before = broker.metrics()
    c.send(m.ack(m.PUBCOMP, 4242) + m.ack(m.PUBACK, 4243) +
           m.ack(m.PUBREC, 4244))
    broker.wait_metric("packets/pubcomp/missed",
                       lambda v: v == before["packets/pubcomp/missed"] + 1)
    after = broker.metrics()
    assert after["packets/puback/missed"] == \
        before["packets/puback/missed"] + 1
    assert after["packets/pubrec/missed"] == \
        before["packets/pubrec/missed"] + 1


def test_clean_session_discards_persistent_MQTT_3_1_2_6(broker):
    """Connecting with clean_session 1 discards the stored session: its
    subscriptions stop receiving and the segment drops them."""
    c = m.connected(broker.port, "cs", clean=False)
    assert c.subscribe(("cs/#", 1)) == [1]
    c.send(m.disconnect())
    c.expect_closed()
    c = m.Client(broker.port)
    assert c.connect("cs", clean=True).session_present == 0
    broker.wait_segment("subscriptions", lambda v: not any(
        s.get("client_id") == "cs" for s in broker.subscriptions()))
    pub = m.connected(broker.port, "cs-pub")
    pub.send(m.publish("cs/x", b"gone", qos=1, pid=1))
    pub.expect(m.PUBACK)
    c.expect_nothing(0.3)


def test_paho_qos2_exactly_once_under_window_pressure(broker_factory):
    """300 QoS 2 messages through a window of 4 and a queue big enough:
    each arrives exactly once, in order (paho does the client side)."""
    b = broker_factory(extra_args=["--max-inflight", "4"])
    got = []
    sub = paho.Client(client_id="p2sub", clean_session=True)
    sub.on_message = lambda c, u, msg: got.append(msg.payload)
    sub.connect("127.0.0.1", b.port)
    sub.subscribe("p2/#", qos=2)
    sub.loop_start()
    time.sleep(0.3)
    pub = paho.Client(client_id="p2pub")
    pub.max_inflight_messages_set(50)
    pub.connect("127.0.0.1", b.port)
    pub.loop_start()
    infos = [pub.publish("p2/t", b"%03d" % i, qos=2) for i in range(300)]
    for i in infos:
        i.wait_for_publish()
    deadline = time.time() + 15
    while len(got) < 300 and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    pub.loop_stop()
    sub.loop_stop()
    assert got == [b"%03d" % i for i in range(300)]
    assert b.wait_metric("messages/qos2/received", lambda v: v >= 300) == 300
    assert b.metrics()["messages/qos2/dropped"] == 0
