# SPDX-License-Identifier: BSD-2-Clause
"""QoS 0/1/2 in both directions, QoS downgrade, retransmission with DUP on
reconnect of a persistent session, and the offline queue (MQTT 3.1.1
sections 3.3-3.7 and 4.3-4.6), with the segment's view after each."""
import time

import mqtt_raw as m
from broker_fixture import broker, broker_factory  # noqa: F401
from broker_fixture import rows


def pub_sub(broker, sub_qos, cid="sub"):
    sub = m.connected(broker.port, cid)
    assert sub.subscribe(("q/t", sub_qos)) == [sub_qos]
    pub = m.connected(broker.port, cid + "-pub")
    return sub, pub


def test_qos0_both_ways(broker):
    """QoS 0: no ack, delivered at most once (MQTT-4.3.1-1)."""
    sub, pub = pub_sub(broker, 0)
    base = broker.metrics()
    pub.send(m.publish("q/t", b"zero"))
    p = sub.expect(m.PUBLISH)
    assert (p.topic, p.payload, p.qos, p.dup, p.retain) == \
        ("q/t", b"zero", 0, False, False)
    pub.expect_nothing(0.2)
    broker.wait_metric("messages/qos0/received",
                       lambda v: v == base["messages/qos0/received"] + 1)
    after = broker.metrics()
    assert after["messages/qos0/sent"] == base["messages/qos0/sent"] + 1
    assert after["messages/received"] == base["messages/received"] + 1


def test_qos1_puback_and_delivery_MQTT_4_3_2_2(broker):
    """MQTT-4.3.2-2: the receiver answers PUBLISH QoS 1 with a PUBACK
    carrying its packet id; the broker sends QoS 1 on with its own
    non-zero id (MQTT-2.3.1-1) and expects our PUBACK."""
    sub, pub = pub_sub(broker, 1)
    pub.send(m.publish("q/t", b"one", qos=1, pid=77))
    assert pub.expect(m.PUBACK).pid == 77
    p = sub.expect(m.PUBLISH)
    assert p.qos == 1 and p.pid and p.payload == b"one" and not p.dup
    sub.send(m.ack(m.PUBACK, p.pid))
    broker.wait_segment("sessions", lambda v: inflight("sub", v) == 0)


def inflight(cid, view):
    for s in rows(view, "sessions"):
        if s.get("client_id") == cid:
            return s.get("inflight_len", s.get("inflight"))
    return None


def test_qos1_ten_publishes_counted(broker):
    """messages/qos1/received +10 and packets/puback/sent +10 after 10
    QoS 1 publishes."""
    pub = m.connected(broker.port, "ten")
    base = broker.metrics()
    for i in range(10):
        pub.send(m.publish("ten/x", b"%d" % i, qos=1, pid=i + 1))
    assert sorted(pub.expect(m.PUBACK).pid for _ in range(10)) == \
        list(range(1, 11))
    broker.wait_metric("messages/qos1/received",
                       lambda v: v == base["messages/qos1/received"] + 10)
    after = broker.metrics()
    assert after["packets/puback/sent"] == base["packets/puback/sent"] + 10
    assert after["packets/publish/received"] == \
        base["packets/publish/received"] + 10
    assert after["messages/received"] == base["messages/received"] + 10
    # no subscriber: each message is dropped
    assert after["messages/dropped"] == base["messages/dropped"] + 10


def test_qos2_inbound_exactly_once_MQTT_4_3_3_2(broker):
    """MQTT-4.3.3-2: PUBLISH QoS 2 -> PUBREC; PUBREL -> PUBCOMP.  A
    re-sent PUBLISH (DUP) before PUBREL is not delivered twice."""
    sub, pub = pub_sub(broker, 2)
    pub.send(m.publish("q/t", b"two", qos=2, pid=9))
    assert pub.expect(m.PUBREC).pid == 9
    pub.send(m.publish("q/t", b"two", qos=2, pid=9, dup=True))
    assert pub.expect(m.PUBREC).pid == 9
    pub.send(m.ack(m.PUBREL, 9))
    assert pub.expect(m.PUBCOMP).pid == 9
    p = sub.expect(m.PUBLISH)
    assert p.qos == 2 and p.payload == b"two"
    sub.send(m.ack(m.PUBREC, p.pid))
    assert sub.expect(m.PUBREL).pid == p.pid
    sub.send(m.ack(m.PUBCOMP, p.pid))
    sub.expect_nothing(0.3)  # only once


def test_qos2_awaiting_rel_in_segment(broker):
    """Between PUBREC and PUBREL the session shows awaiting_rel 1."""
    pub = m.connected(broker.port, "arel")
    pub.send(m.publish("x/y", b"a", qos=2, pid=3))
    pub.expect(m.PUBREC)
    broker.wait_segment("sessions",
                        lambda v: sess(v, "arel").get("awaiting_rel_len") == 1)
    pub.send(m.ack(m.PUBREL, 3))
    pub.expect(m.PUBCOMP)
    broker.wait_segment("sessions",
                        lambda v: sess(v, "arel").get("awaiting_rel_len") == 0)


def sess(view, cid):
    for s in rows(view, "sessions"):
        if s.get("client_id") == cid:
            return s
    return {}


def test_pubrel_unknown_id_counts_missed(broker):
    """An ack for an unknown packet id: still answered (PUBCOMP for a
    PUBREL, MQTT-4.3.3-1 allows it) and counted in packets/*/missed."""
    c = m.connected(broker.port, "missed")
    base = broker.metrics()
    c.send(m.ack(m.PUBACK, 444))
    c.send(m.ack(m.PUBREL, 445))
    assert c.expect(m.PUBCOMP).pid == 445
    broker.wait_metric("packets/puback/missed",
                       lambda v: v == base["packets/puback/missed"] + 1)


def test_qos_downgrade_to_subscription_MQTT_3_8_4_6(broker):
    """Delivered QoS = min(publish QoS, granted QoS)."""
    for sub_qos, pub_qos, want in ((0, 2, 0), (1, 2, 1), (2, 1, 1),
                                   (1, 0, 0)):
        sub = m.connected(broker.port, "dg%d%d" % (sub_qos, pub_qos))
        assert sub.subscribe(("dg/%d%d" % (sub_qos, pub_qos),
                              sub_qos)) == [sub_qos]
        pub = m.connected(broker.port, "dgp")
        pub.send(m.publish("dg/%d%d" % (sub_qos, pub_qos), b"x",
                           qos=pub_qos, pid=1))
        if pub_qos == 1:
            pub.expect(m.PUBACK)
        elif pub_qos == 2:
            pub.expect(m.PUBREC)
            pub.send(m.ack(m.PUBREL, 1))
            pub.expect(m.PUBCOMP)
        p = sub.expect(m.PUBLISH)
        assert p.qos == want, (sub_qos, pub_qos, p)
        sub.close()
        pub.close()


def test_order_per_topic_MQTT_4_6_0_5(broker):
    """MQTT-4.6.0-5: ordered topic: messages of one topic and QoS arrive
    in the order they were published."""
    sub, pub = pub_sub(broker, 1)
    for i in range(50):
        pub.send(m.publish("q/t", b"%03d" % i, qos=1, pid=i + 1))
    got = []
    while len(got) < 50:
        p = sub.expect(m.PUBLISH)
        got.append(p.payload)
        sub.send(m.ack(m.PUBACK, p.pid))
    assert got == [b"%03d" % i for i in range(50)]


def test_dup_retransmission_on_reconnect_MQTT_4_4_0_1(broker):
    """MQTT-4.4.0-1 / MQTT-3.3.1-1: on reconnect of a persistent session
    the server re-sends unacknowledged QoS 1 PUBLISH with DUP=1 and the
    same packet id; a PUBREC'd QoS 2 gets its PUBREL again."""
    sub = m.connected(broker.port, "dup", clean=False)
    assert sub.subscribe(("d/1", 1), ("d/2", 2)) == [1, 2]
    pub = m.connected(broker.port, "dup-pub")
    pub.send(m.publish("d/1", b"one", qos=1, pid=1))
    pub.expect(m.PUBACK)
    first = sub.expect(m.PUBLISH)
    assert not first.dup
    broker.wait_segment("sessions",
                        lambda v: sess(v, "dup").get("inflight_len") == 1)
    sub.close()  # no PUBACK
    sub = m.Client(broker.port)
    assert sub.connect("dup", clean=False).session_present == 1
    again = sub.expect(m.PUBLISH)
    assert again.dup and again.pid == first.pid and again.payload == b"one"
    sub.send(m.ack(m.PUBACK, again.pid))

    pub.send(m.publish("d/2", b"two", qos=2, pid=2))
    pub.expect(m.PUBREC)
    pub.send(m.ack(m.PUBREL, 2))
    pub.expect(m.PUBCOMP)
    q2 = sub.expect(m.PUBLISH)
    assert q2.qos == 2
    sub.send(m.ack(m.PUBREC, q2.pid))
    assert sub.expect(m.PUBREL).pid == q2.pid
    sub.close()  # no PUBCOMP
    sub = m.Client(broker.port)
    assert sub.connect("dup", clean=False).session_present == 1
    rel = sub.expect(m.PUBREL)
    assert rel.pid == q2.pid
    sub.send(m.ack(m.PUBCOMP, rel.pid))
    sub.expect_nothing(0.3)
    sub.close()


def test_offline_queue_delivered_on_reconnect(broker):
    """A persistent session keeps QoS 1 messages while offline
    (MQTT-3.1.2-5) and delivers them in order on reconnect; the segment
    shows the queue length while it waits."""
    sub = m.connected(broker.port, "offq", clean=False)
    assert sub.subscribe(("oq/#", 1)) == [1]
    sub.send(m.disconnect())
    sub.expect_closed()
    pub = m.connected(broker.port, "offq-pub")
    for i in range(5):
        pub.send(m.publish("oq/x", b"m%d" % i, qos=1, pid=i + 1))
        pub.expect(m.PUBACK)
    view = broker.wait_segment(
        "sessions", lambda v: sess(v, "offq").get("mqueue_len") == 5)
    s = sess(view, "offq")
    assert s["connected"] in (False, 0) and s["clean_sess"] in (False, 0)
    sub = m.Client(broker.port)
    assert sub.connect("offq", clean=False).session_present == 1
    got = []
    for _ in range(5):
        p = sub.expect(m.PUBLISH)
        got.append(p.payload)
        sub.send(m.ack(m.PUBACK, p.pid))
    assert got == [b"m%d" % i for i in range(5)]
    broker.wait_segment("sessions",
                        lambda v: sess(v, "offq").get("mqueue_len") == 0)


def test_offline_queue_max_queue_drops(broker_factory):
    """max_queue bounds the offline queue; drops are counted in the
    session's mqueue_dropped."""
    b = broker_factory(extra_args=["--max-queue", "3"])
    sub = m.connected(b.port, "mq3", clean=False)
    assert sub.subscribe(("mq/x", 1)) == [1]
    sub.close()
    time.sleep(0.1)
    pub = m.connected(b.port, "mq3-pub")
    for i in range(8):
        pub.send(m.publish("mq/x", b"m%d" % i, qos=1, pid=i + 1))
        pub.expect(m.PUBACK)
    view = b.wait_segment("sessions",
                          lambda v: sess(v, "mq3").get("mqueue_len") == 3)
    assert sess(view, "mq3")["mqueue_dropped"] == 5
    sub = m.Client(b.port)
    sub.connect("mq3", clean=False)
    got = []
    for _ in range(3):
        p = sub.expect(m.PUBLISH)
        got.append(p.payload)
        sub.send(m.ack(m.PUBACK, p.pid))
    sub.expect_nothing(0.3)
    assert len(got) == 3


def test_max_inflight_window(broker_factory):
    """max_inflight bounds unacked QoS 1 deliveries; the rest wait in the
    queue and flow as acks come back."""
    b = broker_factory(extra_args=["--max-inflight", "2"])
    sub = m.connected(b.port, "win")
    assert sub.subscribe(("w", 1)) == [1]
    pub = m.connected(b.port, "win-pub")
    for i in range(5):
        pub.send(m.publish("w", b"%d" % i, qos=1, pid=i + 1))
        pub.expect(m.PUBACK)
    a, c = sub.expect(m.PUBLISH), sub.expect(m.PUBLISH)
    sub.expect_nothing(0.3)
    view = b.wait_segment("sessions",
                          lambda v: sess(v, "win").get("inflight_len") == 2)
    assert sess(view, "win")["mqueue_len"] == 3
    got = [a.payload, c.payload]
    sub.send(m.ack(m.PUBACK, a.pid))
    sub.send(m.ack(m.PUBACK, c.pid))
    while len(got) < 5:
        p = sub.expect(m.PUBLISH)
        got.append(p.payload)
        sub.send(m.ack(m.PUBACK, p.pid))
    assert got == [b"%d" % i for i in range(5)]
