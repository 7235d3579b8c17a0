# SPDX-License-Identifier: BSD-2-Clause
"""Retained messages, wildcard subscriptions, $-topics, SUBACK 0x80 for
invalid filters, UNSUBSCRIBE (MQTT 3.1.1 sections 3.3.1.3, 3.8-3.11 and
4.7), with the segment's subscriptions, routes and stats after each."""
import mqtt_raw as m
from broker_fixture import broker, broker_factory  # noqa: F401
from broker_fixture import flat, rows


def subs_of(view, cid):
    return {s["topic"]: s["qos"] for s in rows(view, "subscriptions")
            if s.get("client_id") == cid}


def route_topics(view):
    return sorted(r["topic"] for r in rows(view, "routes"))


def test_subscribe_listed_in_segment_MQTT_3_8_4_1(broker):
    """MQTT-3.8.4-1/2: SUBACK with the SUBSCRIBE's packet id; the
    segment lists the subscriptions and one route per filter."""
    c = m.Client(broker.port)
    c.connect("lister")
    c.send(m.subscribe(4242, ("a/b", 0), ("a/+/c", 1), ("x/#", 2)))
    p = c.expect(m.SUBACK)
    assert p.pid == 4242 and p.return_codes == [0, 1, 2]  # MQTT-3.9.3-1
    view = broker.wait_segment("subscriptions",
                               lambda v: len(subs_of(v, "lister")) == 3)
    assert subs_of(view, "lister") == {"a/b": 0, "a/+/c": 1, "x/#": 2}
    routes = broker.wait_segment("routes",
                                 lambda v: len(route_topics(v)) == 3)
    assert route_topics(routes) == ["a/+/c", "a/b", "x/#"]
    s = broker.session("lister")
    assert s["subscriptions"] == 3
    assert broker.metrics()["packets/subscribe"] >= 1


def test_resubscribe_replaces_MQTT_3_8_4_3(broker):
    """MQTT-3.8.4-3: an identical filter replaces the subscription (new
    QoS), it does not add a second one."""
    c = m.connected(broker.port, "re")
    assert c.subscribe(("r/t", 0)) == [0]
    assert c.subscribe(("r/t", 2), pid=2) == [2]
    view = broker.wait_segment("subscriptions",
                               lambda v: subs_of(v, "re") == {"r/t": 2})
    assert len([s for s in rows(view, "subscriptions")
                if s["client_id"] == "re"]) == 1
    pub = m.connected(broker.port, "re-pub")
    pub.send(m.publish("r/t", b"x", qos=2, pid=1))
    pub.expect(m.PUBREC)
    pub.send(m.ack(m.PUBREL, 1))
    pub.expect(m.PUBCOMP)
    assert c.expect(m.PUBLISH).qos == 2
    c.expect_nothing(0.3)  # one delivery


def test_invalid_filters_get_0x80_MQTT_3_9_3_2(broker):
    """SUBACK return code 0x80 for filters that break MQTT-4.7.1-2/3
    (misplaced '#' or '+'); valid filters of the same SUBSCRIBE are
    granted, and the invalid ones are not in the segment."""
    c = m.connected(broker.port, "inv")
    rc = c.subscribe(("a/#/b", 0), ("ok/1", 1), ("a/b#", 0), ("+a", 0),
                     ("a/+b/c", 1), ("#/", 0))
    assert rc == [0x80, 1, 0x80, 0x80, 0x80, 0x80]
    view = broker.wait_segment("subscriptions",
                               lambda v: "ok/1" in subs_of(v, "inv"))
    assert subs_of(view, "inv") == {"ok/1": 1}
    c.send(m.pingreq())
    c.expect(m.PINGRESP)  # connection still fine


def test_wildcards_match_MQTT_4_7_1(broker):
    """'+' one level, '#' this level and all below (also the parent,
    MQTT-4.7.1-2)."""
    cases = {
        "sport/+": ["sport/x", "sport/"],
        "sport/#": ["sport", "sport/x", "sport/x/y"],
        "+/+": ["/x", "a/b"],
        "+": ["a"],
        "a/+/c": ["a/b/c", "a//c"],
    }
    never = ["sport/x/y/z/w", "other", "a/b/c/d"]
    subs = {}
    for i, flt in enumerate(cases):
        c = m.connected(broker.port, "w%d" % i)
        assert c.subscribe((flt, 0)) == [0]
        subs[flt] = c
    pub = m.connected(broker.port, "wpub")
    topics = sorted({t for ts in cases.values() for t in ts} | set(never))
    for t in topics:
        pub.send(m.publish(t, t.encode()))
    pub.send(m.publish("end", b""))  # marker: matches "+" only
    for flt, c in subs.items():
        want = [t for t in topics if matches(flt, t)] + \
            (["end"] if matches(flt, "end") else [])
        got = [c.expect(m.PUBLISH).topic for _ in want]
        assert got == want, flt
        c.expect_nothing(0.1)


def matches(flt, topic):
    f, t = flt.split("/"), topic.split("/")
    for i, lv in enumerate(f):
        if lv == "#":
            return True
        if i >= len(t):
            return False
        if lv != "+" and lv != t[i]:
            return False
    return len(f) == len(t)


def test_sys_topics_not_matched_by_leading_wildcard_MQTT_4_7_2_1(
        broker_factory):
    """MQTT-4.7.2-1: '#' and '+/...' do not match topics starting with
    '$'; '$SYS/#' does, and the broker publishes there
    ($SYS/brokers/<node>/...)."""
    b = broker_factory(extra_args=["--sys-interval", "1"])
    allc = m.connected(b.port, "all")
    assert allc.subscribe(("#", 0), ("+/brokers/#", 0)) == [0, 0]
    sysc = m.connected(b.port, "sys")
    assert sysc.subscribe(("$SYS/#", 0)) == [0]
    p = sysc.expect(m.PUBLISH, timeout=3)
    assert p.topic.startswith("$SYS/brokers/%s/" % b.node), p.topic
    allc.expect_nothing(1.2)


def test_retained_set_replace_delete_MQTT_3_3_1_5(broker):
    """MQTT-3.3.1-5: RETAIN=1 stores the message, replacing any earlier
    one; MQTT-3.3.1-6: a new subscription gets it with RETAIN=1;
    MQTT-3.3.1-10/11: an empty retained payload deletes it.  The stats
    follow (retained/count)."""
    base = broker.stats()["retained/count"]  # $SYS may retain some too
    pub = m.connected(broker.port, "rpub")
    pub.send(m.publish("ret/a", b"v1", retain=True))
    pub.send(m.publish("ret/a", b"v2", retain=True, qos=1, pid=1))
    pub.expect(m.PUBACK)
    s1 = m.connected(broker.port, "rs1")
    assert s1.subscribe(("ret/+", 1)) == [1]
    p = s1.expect(m.PUBLISH)
    assert p.retain and p.payload == b"v2" and p.qos == 1
    s1.send(m.ack(m.PUBACK, p.pid))
    s1.expect_nothing(0.2)
    st = broker.stats()
    assert st["retained/count"] == base + 1
    assert broker.metrics()["messages/retained"] >= 1

    # Forwarded to an existing subscription: RETAIN=0 (MQTT-3.3.1-9).
    pub.send(m.publish("ret/a", b"v3", retain=True))
    p = s1.expect(m.PUBLISH)
    assert p.payload == b"v3" and not p.retain

    pub.send(m.publish("ret/a", b"", retain=True))
    p = s1.expect(m.PUBLISH)  # the empty message itself is forwarded
    assert p.payload == b""
    broker.wait_segment("stats",
                        lambda v: flat(v)["retained/count"] == base)
    s2 = m.connected(broker.port, "rs2")
    assert s2.subscribe(("ret/#", 0)) == [0]
    s2.expect_nothing(0.3)


def test_retained_wildcard_and_qos(broker):
    """Retained messages matching a wildcard subscription are all sent,
    each at min(stored QoS, granted QoS)."""
    pub = m.connected(broker.port, "rw")
    for i in range(3):
        pub.send(m.publish("rw/%d" % i, b"%d" % i, qos=1, retain=True,
                           pid=i + 1))
        pub.expect(m.PUBACK)
    s = m.connected(broker.port, "rws")
    assert s.subscribe(("rw/#", 0)) == [0]
    got = sorted(s.expect(m.PUBLISH).payload for _ in range(3))
    assert got == [b"0", b"1", b"2"]


def test_retained_non_retained_publish_does_not_replace(broker):
    """MQTT-3.3.1-12: RETAIN=0 must not store or replace."""
    pub = m.connected(broker.port, "nr")
    pub.send(m.publish("nr/t", b"keep", retain=True))
    pub.send(m.publish("nr/t", b"transient"))
    pub.send(m.pingreq())
    pub.expect(m.PINGRESP)
    s = m.connected(broker.port, "nrs")
    assert s.subscribe(("nr/t", 0)) == [0]
    assert s.expect(m.PUBLISH).payload == b"keep"


def test_unsubscribe_MQTT_3_10_4_4(broker):
    """MQTT-3.10.4-4/5: UNSUBACK with the same packet id, even for a
    filter that was not subscribed; after it no new messages
    (MQTT-3.10.4-2); the segment drops the subscription and the route."""
    c = m.connected(broker.port, "uns")
    assert c.subscribe(("u/1", 0), ("u/2", 0)) == [0, 0]
    broker.wait_segment("subscriptions",
                        lambda v: len(subs_of(v, "uns")) == 2)
    c.send(m.unsubscribe(31, "u/1", "never/subscribed"))
    assert c.expect(m.UNSUBACK).pid == 31
    view = broker.wait_segment("subscriptions",
                               lambda v: subs_of(v, "uns") == {"u/2": 0})
    assert subs_of(view, "uns") == {"u/2": 0}
    assert route_topics(broker.segment("routes")) == ["u/2"]
    pub = m.connected(broker.port, "uns-pub")
    pub.send(m.publish("u/1", b"no"))
    pub.send(m.publish("u/2", b"yes"))
    assert c.expect(m.PUBLISH).payload == b"yes"
    c.expect_nothing(0.2)
    assert broker.metrics()["packets/unsubscribe"] >= 1


def test_routes_shared_between_subscribers(broker):
    """Two clients on one filter: one route; it goes when the last
    subscriber goes; the clean session's subscriptions die with it."""
    a = m.connected(broker.port, "ra")
    b = m.connected(broker.port, "rb")
    assert a.subscribe(("shared/t", 0)) == [0]
    assert b.subscribe(("shared/t", 1)) == [1]
    broker.wait_segment("subscriptions",
                        lambda v: len(rows(v, "subscriptions")) == 2)
    assert route_topics(broker.segment("routes")) == ["shared/t"]
    a.send(m.disconnect())
    a.expect_closed()
    broker.wait_segment("subscriptions",
                        lambda v: len(rows(v, "subscriptions")) == 1)
    assert route_topics(broker.segment("routes")) == ["shared/t"]
    b.close()
    broker.wait_segment("routes", lambda v: route_topics(v) == [])
