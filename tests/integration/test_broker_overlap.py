# SPDX-License-Identifier: BSD-2-Clause
"""One copy per session for a message matching several of its
subscriptions (MQTT-3.3.5-1, MQTT5-3.3.4-2/-3): the highest QoS, every
Subscription Identifier, No Local and Retain As Published per
subscription, shared subscriptions apart (4.8.2)."""
import mqtt_raw as m
from broker_fixture import broker, broker_factory  # noqa: F401
from test_broker_v5_raw import Pub5, client5, p_u32, publish5, sub5

NO_LOCAL, RAP = 0x04, 0x08


def sid(n):
    return bytes([0x0B]) + m.varint(n)


def test_no_local_only_drops_its_own_subscription(broker):
    """A No Local subscription does not match its own session's message,
    so neither its QoS nor its identifier counts; the session's other
    subscription still delivers (once)."""
    c = client5(broker.port, "ovnl")
    assert sub5(c, ("ovnl/#", 1 | NO_LOCAL), sprops=sid(7)) == [1]
    assert sub5(c, ("ovnl/+", 0), sprops=sid(8), pid=2) == [0]
    c.send(publish5("ovnl/a", b"own", qos=1, pid=10))
    got = None
    for _ in range(2):  # PUBACK for ours, PUBLISH of the copy
        p = c.recv()
        if p.type == m.PUBLISH:
            got = Pub5(p)
    assert got is not None and got.payload == b"own"
    assert got.qos == 0 and got.props["sub_ids"] == [8]
    c.expect_nothing()
    # From another session both match: QoS 1, both identifiers.
    o = client5(broker.port, "ovnl-o")
    o.send(publish5("ovnl/b", b"other", qos=1, pid=1))
    got = Pub5(c.expect(m.PUBLISH))
    assert got.qos == 1 and sorted(got.props["sub_ids"]) == [7, 8]
    c.expect_nothing()


def test_retain_as_published_if_any_matching_subscription_has_it(broker):
    c = client5(broker.port, "ovrap")
    assert sub5(c, ("ovrap/#", 0 | RAP)) == [0]
    assert sub5(c, ("ovrap/+", 1), pid=2) == [1]
    # Without RAP anywhere, a live delivery is not retained [MQTT-3.3.1-9].
    d = client5(broker.port, "ovrap-d")
    assert sub5(d, ("ovrap/#", 0), ("ovrap/+", 1)) == [0, 1]
    p = client5(broker.port, "ovrap-p")
    p.send(publish5("ovrap/x", b"r", qos=1, pid=1, retain=True))
    got = Pub5(c.expect(m.PUBLISH))
    assert (got.payload, got.qos, got.retain) == (b"r", 1, True)
    got = Pub5(d.expect(m.PUBLISH))
    assert (got.payload, got.qos, got.retain) == (b"r", 1, False)
    c.expect_nothing()
    d.expect_nothing()
    p.send(publish5("ovrap/x", b"", qos=1, pid=2, retain=True))


def test_shared_subscription_is_a_copy_apart(broker):
    """A session with a shared and a non-shared subscription that both
    match gets a copy for each (MQTT 5.0 4.8.2)."""
    c = client5(broker.port, "ovsh")
    assert sub5(c, ("$share/g/ovsh/#", 1), ("ovsh/+", 1)) == [1, 1]
    p = client5(broker.port, "ovsh-p")
    p.send(publish5("ovsh/x", b"x"))
    assert [Pub5(c.expect(m.PUBLISH)).payload for _ in range(2)] == [
        b"x", b"x"]
    c.expect_nothing()


def test_queued_copy_keeps_every_identifier(broker):
    """Offline, the one queued copy keeps all identifiers (it is a
    message of its own) and the highest QoS."""
    keep = p_u32(0x11, 60)
    c = client5(broker.port, "ovq", clean=False, cprops=keep)
    assert sub5(c, ("ovq/#", 1), sprops=sid(300)) == [1]
    assert sub5(c, ("ovq/+", 2), pid=2) == [2]
    assert sub5(c, ("ovq/a", 0), sprops=sid(4), pid=3) == [0]
    c.send(m.disconnect())
    c.expect_closed()
    p = client5(broker.port, "ovq-p")
    p.send(publish5("ovq/a", b"q", qos=2, pid=1))
    p.expect(m.PUBREC)
    p.send(m.ack(m.PUBREL, 1))
    p.expect(m.PUBCOMP)
    c = client5(broker.port, "ovq", clean=False, cprops=keep)
    got = Pub5(c.expect(m.PUBLISH))
    assert (got.payload, got.qos) == (b"q", 2)
    assert sorted(got.props["sub_ids"]) == [4, 300]
    c.expect_nothing()


def test_v311_one_copy_at_the_highest_qos(broker):
    c = m.connected(broker.port, "ov3")
    assert c.subscribe(("ov3/#", 1), ("ov3/+", 0), ("+/a", 2)) == [1, 0, 2]
    p = m.connected(broker.port, "ov3p")
    p.send(m.publish("ov3/a", b"x", qos=1, pid=1))
    p.expect(m.PUBACK)
    d = c.expect(m.PUBLISH)
    assert (d.payload, d.qos) == (b"x", 1)
    c.expect_nothing()
