# SPDX-License-Identifier: BSD-2-Clause
"""The scenarios of the usual MQTT interoperability suites (3.1.1 and 5.0),
written here in our own words with paho-mqtt 1.6 clients, plus hand-built
bytes for what paho cannot send: shared subscriptions ($share/...), the
server's topic aliases, and the MQTT 5.0 features the suites walk through
(retained, will, zero-length client id, offline queueing, overlapping
subscriptions, keepalive, redelivery, $-topics, unsubscribe, session
expiry, user properties, payload format, message expiry, subscribe
options, subscription identifiers, request/response, topic aliases both
ways, maximum packet size, will delay, flow control)."""
import socket
import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

import mqtt_raw as m
import test_broker_v5_raw as r5
from broker_fixture import broker, broker_factory, rows  # noqa: F401

T = 5.0


class Cli:
    """A paho client (v5 by default) whose events land in lists."""

    def __init__(self, port, cid, v5=True, clean=True, cprops=None,
                 will=None, keepalive=30, connect=True):
        self.port = port
        self.v5 = v5
        self.msgs, self.subacks, self.unsubacks = [], [], []
        self.connacks, self.disconnects = [], []
        self.lock = threading.Lock()
        proto = mqtt.MQTTv5 if v5 else mqtt.MQTTv311
        if v5:
            self.c = mqtt.Client(client_id=cid, protocol=proto)
        else:
            self.c = mqtt.Client(client_id=cid, protocol=proto,
                                 clean_session=clean)
        self.c.on_message = lambda c, u, msg: self.msgs.append(msg)
        if v5:
            self.c.on_connect = (lambda c, u, f, rc, p=None:
                                 self.connacks.append((f, rc, p)))
            self.c.on_subscribe = (lambda c, u, mid, rcs, p=None:
                                   self.subacks.append(rcs))
            self.c.on_unsubscribe = (lambda c, u, mid, p=None, rcs=None:
                                     self.unsubacks.append(rcs))
            self.c.on_disconnect = (lambda c, u, rc, p=None:
                                    self.disconnects.append(rc))
        else:
            self.c.on_connect = (lambda c, u, f, rc:
                                 self.connacks.append((f, rc, None)))
            self.c.on_subscribe = (lambda c, u, mid, q:
                                   self.subacks.append(q))
            self.c.on_unsubscribe = (lambda c, u, mid:
                                     self.unsubacks.append(mid))
            self.c.on_disconnect = (lambda c, u, rc:
                                    self.disconnects.append(rc))
        if will:
            self.c.will_set(**will)
        if connect:
            self.connect(clean=clean, cprops=cprops, keepalive=keepalive)

    def connect(self, clean=True, cprops=None, keepalive=30):
        kw = {"clean_start": clean, "properties": cprops} if self.v5 else {}
        self.c.connect("127.0.0.1", self.port, keepalive=keepalive, **kw)
        self.c.loop_start()
        self.flags, self.rc, self.props = wait_pop(self.connacks)
        return self

    def sub(self, *topics, props=None, **opts):
        """sub("a", qos=1) or sub(("a", 1), ("b", 2)) -> reason codes."""
        if self.v5:
            if len(topics) == 1 and isinstance(topics[0], str):
                arg = topics[0]
                kw = {"options": SubscribeOptions(**opts)}
            else:
                arg = [(t, SubscribeOptions(qos=q)) for t, q in topics]
                kw = {}
            self.c.subscribe(arg, properties=props, **kw)
            return [int(rc.value) for rc in wait_pop(self.subacks)]
        if len(topics) == 1 and isinstance(topics[0], str):
            self.c.subscribe(topics[0], opts.get("qos", 0))
        else:
            self.c.subscribe(list(topics))
        return list(wait_pop(self.subacks))

    def unsub(self, *topics):
        """-> the UNSUBACK reason codes (v5), as ints."""
        self.c.unsubscribe(list(topics))
        rcs = wait_pop(self.unsubacks)
        if not self.v5:
            return rcs
        if not isinstance(rcs, list):
            rcs = [rcs]
        return [int(rc.value) for rc in rcs]

    def pub(self, topic, payload, qos=0, retain=False, props=None):
        kw = {"properties": props} if self.v5 else {}
        info = self.c.publish(topic, payload, qos=qos, retain=retain, **kw)
        info.wait_for_publish(timeout=T)
        assert info.is_published()

    def wait(self, n, timeout=T):
        """Until n messages arrived (or timeout); returns them all."""
        wait_until(lambda: len(self.msgs) >= n, timeout)
        return list(self.msgs)

    def settle(self, n, extra=0.5):
        """n messages, then no more within `extra` seconds."""
        got = self.wait(n)
        time.sleep(extra)
        assert len(self.msgs) == n, [
            (x.topic, x.payload) for x in self.msgs]
        return got

    def close(self, props=None):
        if self.v5:
            self.c.disconnect(properties=props)
        else:
            self.c.disconnect()
        wait_until(lambda: self.disconnects, 2)
        self.c.loop_stop()

    def abort(self):
        """Drop the TCP connection without DISCONNECT (the will fires)."""
        self.c.loop_stop()
        self.c.socket().shutdown(socket.SHUT_RDWR)
        self.c.socket().close()


def wait_until(pred, timeout=T, step=0.02):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(step)
    return pred()


def wait_pop(lst, timeout=T):
    assert wait_until(lambda: lst, timeout), "no callback within timeout"
    return lst.pop(0)


def pprops(**kw):
    p = Properties(PacketTypes.PUBLISH)
    for k, v in kw.items():
        setattr(p, k, v)
    return p


def cprops(**kw):
    p = Properties(PacketTypes.CONNECT)
    for k, v in kw.items():
        setattr(p, k, v)
    return p


# ---- shared subscriptions (MQTT 5.0 4.8.2) ----

def test_shared_group_delivers_each_message_once(broker):
    """Ten messages to a two-member group: each arrives exactly once in
    all, both members get some (round robin), at the granted QoS."""
    a = Cli(broker.port, "sh-a")
    b = Cli(broker.port, "sh-b")
    assert a.sub("$share/grp/sh/+", qos=1) == [1]
    assert b.sub("$share/grp/sh/+", qos=0) == [0]
    p = Cli(broker.port, "sh-p")
    for i in range(10):
        p.pub("sh/t", b"%d" % i, qos=1)
    wait_until(lambda: len(a.msgs) + len(b.msgs) >= 10)
    time.sleep(0.5)
    got = [x.payload for x in a.msgs + b.msgs]
    assert sorted(got) == sorted(b"%d" % i for i in range(10))
    assert len(a.msgs) == 5 and len(b.msgs) == 5
    assert {x.qos for x in a.msgs} == {1}
    assert {x.qos for x in b.msgs} == {0}


def test_shared_next_to_plain_and_other_groups(broker):
    """A plain subscription of the same members still gets every message;
    each group gets its own single copy (the paho 5.0 suite's check)."""
    a = Cli(broker.port, "shp-a")
    b = Cli(broker.port, "shp-b")
    c = Cli(broker.port, "shp-c")
    assert a.sub(("$share/one/shp/x", 2), ("shp/x", 2)) == [2, 2]
    assert b.sub(("$share/one/shp/x", 2), ("shp/x", 2)) == [2, 2]
    assert c.sub("$share/two/shp/#", qos=1) == [1]
    b.pub("shp/x", b"m", qos=1)
    # a and b: the plain copy each, one of them the group copy too.
    wait_until(lambda: len(a.msgs) + len(b.msgs) >= 3)
    c.settle(1)
    time.sleep(0.3)
    assert len(a.msgs) + len(b.msgs) == 3
    assert sorted([len(a.msgs), len(b.msgs)]) == [1, 2]


def test_shared_from_mqtt311_clients(broker):
    """3.1.1 clients may join groups too (as EMQ and Mosquitto allow)."""
    a = Cli(broker.port, "sh3-a", v5=False)
    b = Cli(broker.port, "sh3-b", v5=False)
    assert a.sub("$share/g3/sh3/t", qos=1) == [1]
    assert b.sub("$share/g3/sh3/t", qos=1) == [1]
    p = Cli(broker.port, "sh3-p", v5=False)
    for i in range(6):
        p.pub("sh3/t", b"%d" % i, qos=1)
    wait_until(lambda: len(a.msgs) + len(b.msgs) >= 6)
    time.sleep(0.3)
    assert len(a.msgs) == 3 and len(b.msgs) == 3
    assert all(x.topic == "sh3/t" for x in a.msgs + b.msgs)


def test_shared_gets_no_retained(broker):
    """Retained messages are not sent on a shared subscribe; a plain
    one of the same client gets them."""
    p = Cli(broker.port, "shr-p")
    p.pub("shr/t", b"kept", qos=1, retain=True)
    a = Cli(broker.port, "shr-a")
    assert a.sub("$share/g/shr/#", qos=1) == [1]
    time.sleep(0.4)
    assert a.msgs == []
    assert a.sub("shr/#", qos=1) == [1]
    assert [x.payload for x in a.settle(1)] == [b"kept"]


def test_shared_in_segment_and_unsubscribe(broker):
    """The subscription row keeps the whole $share string, the route the
    filter; UNSUBSCRIBE takes the $share string and removes both."""
    a = Cli(broker.port, "shs-a")
    assert a.sub("$share/seg/shs/+/x", qos=1) == [1]
    broker.wait_segment("subscriptions", lambda v: [
        (s["client_id"], s["topic"], s["qos"])
        for s in rows(v, "subscriptions")] == [
            ("shs-a", "$share/seg/shs/+/x", 1)])
    assert [r["topic"] for r in rows(broker.segment("routes"),
                                     "routes")] == ["shs/+/x"]
    assert a.unsub("shs/+/x") == [0x11]  # not the subscription's name
    assert a.unsub("$share/seg/shs/+/x") == [0]
    broker.wait_segment("subscriptions",
                        lambda v: rows(v, "subscriptions") == [])
    assert rows(broker.segment("routes"), "routes") == []
    p = Cli(broker.port, "shs-p")
    p.pub("shs/1/x", b"gone", qos=1)
    time.sleep(0.3)
    assert a.msgs == []


def test_shared_prefers_online_then_queues_offline(broker):
    """With one member offline (persistent session), the online one gets
    everything; with none online, the persistent member's session
    queues the message and gets it on resuming."""
    keep = cprops(SessionExpiryInterval=300)
    a = Cli(broker.port, "sho-a", clean=True, cprops=keep)
    assert a.sub("$share/g/sho/t", qos=1) == [1]
    a.close()
    b = Cli(broker.port, "sho-b")
    assert b.sub("$share/g/sho/t", qos=1) == [1]
    p = Cli(broker.port, "sho-p")
    for i in range(4):
        p.pub("sho/t", b"%d" % i, qos=1)
    assert len(b.settle(4)) == 4
    b.close()  # session ends with b: only a's session is left
    p.pub("sho/t", b"queued", qos=1)
    a2 = Cli(broker.port, "sho-a", clean=False, cprops=keep)
    assert a2.flags["session present"]
    assert [x.payload for x in a2.settle(1)] == [b"queued"]


def test_shared_member_leaving_group(broker):
    """After a member unsubscribes, the remaining one gets everything."""
    a = Cli(broker.port, "shl-a")
    b = Cli(broker.port, "shl-b")
    a.sub("$share/g/shl", qos=0)
    b.sub("$share/g/shl", qos=0)
    a.unsub("$share/g/shl")
    p = Cli(broker.port, "shl-p")
    for i in range(4):
        p.pub("shl", b"%d" % i, qos=1)
    assert len(b.settle(4)) == 4
    assert a.msgs == []


def test_shared_raw_protocol_errors(broker):
    """Bad ShareNames get 0x8F; No Local on a shared subscription is a
    protocol error [MQTT5-3.8.3-4]: DISCONNECT 0x82, no SUBACK.  The
    CONNACK no longer says Shared Subscription Available = 0."""
    c = r5.client5(broker.port, "shraw")
    assert 0x2A not in c.cprops
    assert r5.sub5(c, ("$share//a", 1), ("$share/a+b/x", 1),
                   ("$share/g", 1), ("$share/g/", 1), ("$share/#/x", 1),
                   ("$share/g/a/#/b", 1), ("$share/ok/a", 1)) == [
                       0x8F, 0x8F, 0x8F, 0x8F, 0x8F, 0x8F, 1]
    c.send(r5.subscribe5(2, ("$share/g/nl", 0x04 | 1)))
    got = r5.expect_disconnect(c, 0x82)
    assert not [p for p in got if p.type == m.SUBACK]


def test_shared_raw_mqtt311_invalid_share_0x80(broker):
    c = m.connected(broker.port, "shraw3")
    assert c.subscribe(("$share//a", 1), ("$share/g", 0),
                       ("$share/g/a", 1)) == [0x80, 0x80, 1]


def test_shared_ctl_subscribe(broker):
    """The control socket's subscribe makes shared subscriptions too."""
    a = Cli(broker.port, "shc-a")
    b = Cli(broker.port, "shc-b")
    for cid in ("shc-a", "shc-b"):
        assert broker.ctl({"cmd": "subscribe", "client_id": cid,
                           "topic": "$share/api/shc", "qos": 1}) == {
                               "code": 0}
    assert broker.ctl({"cmd": "subscribe", "client_id": "shc-a",
                       "topic": "$share//shc", "qos": 1})["code"] != 0
    for i in range(4):
        assert broker.ctl({"cmd": "publish", "topic": "shc",
                           "payload": "%d" % i, "qos": 1})["code"] == 0
    wait_until(lambda: len(a.msgs) + len(b.msgs) >= 4)
    time.sleep(0.3)
    assert len(a.msgs) == 2 and len(b.msgs) == 2


# ---- server -> client topic aliases (3.3.2.3.4) ----

def test_server_topic_alias_when_allowed(broker):
    """A client allowing aliases gets the topic and an alias first, then
    the alias with an empty topic, at every QoS."""
    a = Cli(broker.port, "sta-a", cprops=cprops(TopicAliasMaximum=2))
    a.sub("sta/#", qos=2)
    for q in range(3):
        a.pub("sta/x", b"%d" % q, qos=q)
    got = a.settle(3)
    alias = got[0].properties.TopicAlias
    assert got[0].topic == "sta/x" and alias >= 1
    assert [(x.topic, x.properties.TopicAlias) for x in got[1:]] == [
        ("", alias), ("", alias)]
    assert [x.qos for x in got] == [0, 1, 2]


def test_server_topic_alias_reused_when_all_taken(broker):
    """With Topic Alias Maximum 2 and three topics, every alias stays in
    1..2 and a topic after a replaced alias is sent in full again."""
    a = Cli(broker.port, "str-a", cprops=cprops(TopicAliasMaximum=2))
    a.sub("str/#", qos=0)
    order = ["str/1", "str/2", "str/1", "str/3", "str/1", "str/2"]
    for t in order:
        a.pub(t, t.encode(), qos=1)
    got = a.settle(len(order))
    table = {}
    for x in got:
        al = x.properties.TopicAlias
        assert 1 <= al <= 2
        if x.topic:
            table[al] = x.topic
        else:
            assert al in table, "alias %d used before it was set" % al
        assert table[al].encode() == x.payload
    assert got[0].topic == "str/1" and got[2].topic == ""


def test_no_server_topic_alias_when_not_allowed(broker):
    """No Topic Alias Maximum (or 0), or a 3.1.1 client: full topics and
    no alias [MQTT5-3.3.2-10]."""
    a = Cli(broker.port, "sna-a")
    b = Cli(broker.port, "sna-b", cprops=cprops(TopicAliasMaximum=0))
    c = Cli(broker.port, "sna-c", v5=False)
    for x in (a, b, c):
        x.sub("sna/t", qos=1)
    for i in range(3):
        a.pub("sna/t", b"%d" % i, qos=i)
    for x in (a, b):
        got = x.settle(3)
        assert [y.topic for y in got] == ["sna/t"] * 3
        assert not any(hasattr(y.properties, "TopicAlias") for y in got)
    assert [y.topic for y in c.settle(3)] == ["sna/t"] * 3


def test_server_topic_alias_reset_on_reconnect_raw(broker):
    """Aliases belong to a connection: an unacked QoS 1 message resent
    after a reconnect carries its topic again (and a fresh alias)."""
    keep = r5.p_u32(0x11, 300) + r5.p_u16(0x22, 4)
    s = r5.client5(broker.port, "star", cprops=keep)
    r5.sub5(s, ("star/t", 1))
    p = r5.client5(broker.port, "star-p")
    p.send(r5.publish5("star/t", b"1", qos=1, pid=1))
    p.send(r5.publish5("star/t", b"2", qos=1, pid=2))
    one, two = r5.Pub5(s.expect(m.PUBLISH)), r5.Pub5(s.expect(m.PUBLISH))
    assert one.topic == "star/t" and one.props[0x23] >= 1
    assert two.topic == "" and two.props[0x23] == one.props[0x23]
    s.close()  # neither acked
    s2 = m.Client(broker.port)
    s2.send(r5.connect5("star", clean=False, cprops=keep))
    assert r5.connack5(s2.expect(m.CONNACK))[0] == 1
    again = [r5.Pub5(s2.expect(m.PUBLISH)) for _ in range(2)]
    assert [x.dup for x in again] == [True, True]
    assert again[0].topic == "star/t" and again[0].props[0x23] >= 1
    assert again[1].payload == b"2"
    assert again[1].topic in ("", "star/t")
    # The same resume without aliases allowed: full topics, no alias.
    s2.close()
    s3 = m.Client(broker.port)
    s3.send(r5.connect5("star", clean=False, cprops=r5.p_u32(0x11, 300)))
    s3.expect(m.CONNACK)
    again = [r5.Pub5(s3.expect(m.PUBLISH)) for _ in range(2)]
    assert [(x.topic, 0x23 in x.props) for x in again] == [
        ("star/t", False), ("star/t", False)]


def test_server_topic_alias_fits_max_packet_size_raw(broker):
    """A client's Maximum Packet Size counts the alias property: a
    message that fits with it is delivered, one over it dropped."""
    lim = 40
    s = r5.client5(broker.port, "stm",
                   cprops=r5.p_u16(0x22, 1) + r5.p_u32(0x27, lim))
    r5.sub5(s, ("stm", 0))
    p = r5.client5(broker.port, "stm-p")
    # 1 + 1 + (2 + 3) + 1 + 3 (alias) = 11 bytes of header.
    p.send(r5.publish5("stm", b"x" * (lim - 11)))
    got = s.recv()
    assert got.type == m.PUBLISH and len(got.body) + 2 == lim
    p.send(r5.publish5("stm", b"y" * (lim - 10)))
    s.expect_nothing(0.4)


# ---- the rest of the 5.0 suite ----

def test_basic_all_qos(broker):
    a = Cli(broker.port, "bas")
    assert a.sub("bas/A", qos=2) == [2]
    for q in range(3):
        a.pub("bas/A", b"qos %d" % q, qos=q)
    assert sorted(x.qos for x in a.settle(3)) == [0, 1, 2]


def test_retained_with_user_properties(broker):
    a = Cli(broker.port, "ret")
    up = pprops(UserProperty=[("a", "2"), ("c", "3")])
    a.pub("ret/A/B", b"0", 0, retain=True, props=up)
    a.pub("ret/C", b"1", 1, retain=True, props=up)
    a.pub("ret/A/C", b"2", 2, retain=True, props=up)
    time.sleep(0.2)
    assert a.sub("ret/+/+", qos=2) == [2]
    assert a.sub("ret/+", qos=2) == [2]
    got = a.settle(3)
    assert sorted(x.qos for x in got) == [0, 1, 2]
    assert all(x.retain for x in got)
    for x in got:
        assert sorted(x.properties.UserProperty) == [("a", "2"), ("c", "3")]
    for t in ("ret/A/B", "ret/C", "ret/A/C"):
        a.pub(t, b"", 1, retain=True)
    b = Cli(broker.port, "ret2")
    b.sub("ret/#", qos=0)
    time.sleep(0.3)
    assert b.msgs == []


def test_will_with_properties_on_keepalive_timeout(broker):
    will = {"topic": "will/t", "payload": b"will message",
            "properties": Properties(PacketTypes.WILLMESSAGE)}
    will["properties"].UserProperty = [("a", "2"), ("c", "3")]
    # Will Delay 0 (the default, sent anyway): a will property that must
    # not reach the PUBLISH, or paho drops the message.
    will["properties"].WillDelayInterval = 0
    a = Cli(broker.port, "wil-a", will=will, keepalive=1)
    b = Cli(broker.port, "wil-b")
    b.sub("will/t", qos=2)
    a.c.loop_stop()  # no more PINGREQ: the keepalive expires
    got = b.wait(1, timeout=5)
    assert got and got[0].payload == b"will message"
    assert got[0].properties.UserProperty == [("a", "2"), ("c", "3")]
    a.c.socket().close()


def test_zero_length_client_id_assigned(broker):
    for clean in (False, True):
        a = Cli(broker.port, "", clean=clean)
        assert a.rc == 0
        assert len(a.props.AssignedClientIdentifier) > 0
        a.close()
    a = Cli(broker.port, "zl-given")
    assert not hasattr(a.props, "AssignedClientIdentifier")


def test_zero_length_client_id_mqtt311(broker):
    a = Cli(broker.port, "", v5=False, clean=True)
    assert a.rc == 0
    a.close()
    # paho refuses to send this one: an empty id with Clean Session 0
    # is rejected, CONNACK 2 [MQTT-3.1.3-8].
    b = m.Client(broker.port)
    b.send(m.connect("", clean=False))
    assert b.expect(m.CONNACK).rc == 2


def test_offline_queueing_all_qos(broker):
    keep = cprops(SessionExpiryInterval=99999)
    o = Cli(broker.port, "ofl", cprops=keep)
    o.sub("ofl/+/+", qos=2)
    o.close()
    p = Cli(broker.port, "ofl-p")
    p.pub("ofl/A/B", b"0", 0)
    p.pub("ofl/A/C", b"1", 1)
    p.pub("ofl/B/C", b"2", 2)
    time.sleep(0.2)
    o2 = Cli(broker.port, "ofl", clean=False, cprops=keep)
    assert o2.flags["session present"]
    assert len(o2.settle(3)) == 3  # QoS 0 is queued too


def test_overlapping_subscriptions(broker):
    """One message for all matching subscriptions, at the highest of
    their QoS [MQTT-3.3.5-1]."""
    o = Cli(broker.port, "ovl")
    o.sub(("ovl/#", 2), ("ovl/+", 1))
    o.pub("ovl/C", b"x", 2)
    assert [x.qos for x in o.settle(1)] == [2]


def test_keepalive_timeout_closes(broker):
    a = Cli(broker.port, "kal", keepalive=1)
    a.c.loop_stop()
    s = a.c.socket()
    s.settimeout(5)
    end = time.monotonic() + 5
    data = b""
    while time.monotonic() < end:
        chunk = s.recv(100)
        if not chunk:
            break
        data += chunk
    assert time.monotonic() < end, "not closed within 5 s"
    if data[:1] == b"\xd0":  # a PINGRESP paho asked for
        data = data[2:]
    assert data[:1] == b"\xe0" and data[2] == 0x8D  # DISCONNECT 0x8D


def test_redelivery_on_reconnect_raw(broker):
    """Unacked QoS 1 and 2 messages are resent with DUP on resume; a
    PUBREC'd one continues with PUBREL (3.1.1 and 5.0)."""
    for v5 in (False, True):
        cid = "rdl%d" % v5
        if v5:
            s = r5.client5(broker.port, cid, cprops=r5.p_u32(0x11, 60))
            r5.sub5(s, ("rdl/#", 2))
        else:
            s = m.connected(broker.port, cid, clean=False)
            s.subscribe(("rdl/#", 2))
        p = m.connected(broker.port, cid + "p")
        p.send(m.publish("rdl/1", b"one", qos=1, pid=1))
        p.send(m.publish("rdl/2", b"two", qos=2, pid=2))
        p.expect(m.PUBACK)
        p.expect(m.PUBREC)
        p.send(m.ack(m.PUBREL, 2))
        p.expect(m.PUBCOMP)
        q1, q2 = s.expect(m.PUBLISH), s.expect(m.PUBLISH)
        s.send(m.ack(m.PUBREC, q2.pid))
        s.expect(m.PUBREL)
        s.close()
        s2 = m.Client(broker.port)
        if v5:
            s2.send(r5.connect5(cid, clean=False,
                                cprops=r5.p_u32(0x11, 60)))
        else:
            s2.send(m.connect(cid, clean=False))
        assert s2.expect(m.CONNACK).body[0] & 1
        again = s2.expect(m.PUBLISH)
        assert again.dup and again.pid == q1.pid and again.qos == 1
        rel = s2.expect(m.PUBREL)
        assert rel.pid == q2.pid
        s2.send(m.ack(m.PUBACK, q1.pid))
        s2.send(m.ack(m.PUBCOMP, q2.pid))
        s2.expect_nothing(0.3)
        s2.close()
        p.close()


def test_dollar_topics_not_matched_by_wildcards(broker):
    a = Cli(broker.port, "dol")
    a.sub("+/+", qos=0)
    a.sub("#", qos=0)
    b = Cli(broker.port, "dol-b")
    b.pub("$dol/x", b"hidden", 1)
    time.sleep(0.4)
    assert [x for x in a.msgs if x.topic.startswith("$")] == []
    a.sub("$dol/+", qos=0)
    b.pub("$dol/x", b"seen", 1)
    got = a.wait(1)
    assert [x.payload for x in got if x.topic == "$dol/x"] == [b"seen"]


def test_unsubscribe_stops_delivery(broker):
    b = Cli(broker.port, "uns")
    for t in ("uns/0", "uns/1", "uns/2"):
        b.sub(t, qos=2)
    assert b.unsub("uns/0") == [0]
    a = Cli(broker.port, "uns-a")
    for i in range(3):
        a.pub("uns/%d" % i, b"x", 1)
    assert sorted(x.topic for x in b.settle(2)) == ["uns/1", "uns/2"]


def test_session_expiry_intervals(broker):
    sid = "sexp"
    e = Cli(broker.port, sid, cprops=cprops(SessionExpiryInterval=0))
    assert not e.flags["session present"]
    e.sub("sexp/t", qos=2)
    e.close()
    f = Cli(broker.port, sid, clean=False,
            cprops=cprops(SessionExpiryInterval=0))
    assert not f.flags["session present"]
    f.close()
    e = Cli(broker.port, sid, cprops=cprops(SessionExpiryInterval=2))
    e.sub("sexp/t", qos=2)
    e.close()
    time.sleep(0.5)
    f = Cli(broker.port, sid, clean=False,
            cprops=cprops(SessionExpiryInterval=2))
    assert f.flags["session present"]
    f.close()
    time.sleep(3)
    f = Cli(broker.port, sid, clean=False,
            cprops=cprops(SessionExpiryInterval=2))
    assert not f.flags["session present"]
    f.close()
    # DISCONNECT may lengthen it, then end it.
    e = Cli(broker.port, sid, cprops=cprops(SessionExpiryInterval=1))
    dp = Properties(PacketTypes.DISCONNECT)
    dp.SessionExpiryInterval = 5
    e.close(props=dp)
    time.sleep(2)
    f = Cli(broker.port, sid, clean=False,
            cprops=cprops(SessionExpiryInterval=1))
    assert f.flags["session present"]
    dp.SessionExpiryInterval = 0
    f.close(props=dp)
    f = Cli(broker.port, sid, clean=False,
            cprops=cprops(SessionExpiryInterval=1))
    assert not f.flags["session present"]


def test_user_properties_and_payload_format(broker):
    u = Cli(broker.port, "upf")
    u.sub("upf", qos=2)
    up = pprops(UserProperty=[("a", "2"), ("c", "3")],
                PayloadFormatIndicator=1, ContentType="My name")
    for q in range(3):
        u.pub("upf", b"", q, props=up)
    got = u.settle(3)
    for x in got:
        assert sorted(x.properties.UserProperty) == [("a", "2"), ("c", "3")]
        assert x.properties.PayloadFormatIndicator == 1
        assert x.properties.ContentType == "My name"


def test_message_expiry_offline(broker):
    keep = cprops(SessionExpiryInterval=99999)
    b = Cli(broker.port, "mex-b", cprops=keep)
    b.sub("mex", qos=2)
    b.close()
    a = Cli(broker.port, "mex-a")
    a.pub("mex", b"expire 1", 1, props=pprops(MessageExpiryInterval=1))
    a.pub("mex", b"expire 2", 2, props=pprops(MessageExpiryInterval=1))
    a.pub("mex", b"keep 1", 1, props=pprops(MessageExpiryInterval=6))
    a.pub("mex", b"keep 2", 2, props=pprops(MessageExpiryInterval=6))
    time.sleep(2.2)
    b = Cli(broker.port, "mex-b", clean=False, cprops=keep)
    got = b.settle(2)
    assert sorted(x.payload for x in got) == [b"keep 1", b"keep 2"]
    assert all(x.properties.MessageExpiryInterval < 6 for x in got)


def test_subscribe_options(broker):
    a = Cli(broker.port, "sop-a")
    b = Cli(broker.port, "sop-b")
    a.sub("sop/nl", qos=2, noLocal=True)
    b.sub("sop/nl", qos=2, noLocal=True)
    a.pub("sop/nl", b"noLocal", 1)
    b.settle(1)
    assert a.msgs == []
    c = Cli(broker.port, "sop-c")
    c.sub("sop/rap", qos=2, retainAsPublished=True)
    c.pub("sop/rap", b"f", 1, retain=False)
    c.pub("sop/rap", b"t", 1, retain=True)
    assert [x.retain for x in c.settle(2)] == [False, True]
    c.pub("sop/rap", b"", 0, retain=True)
    d = Cli(broker.port, "sop-d")
    for t in ("sop/rh/1", "sop/rh/2", "sop/rh/3"):
        d.pub(t, b"r", 1, retain=True)
    time.sleep(0.2)
    d.sub("sop/rh/+", qos=2, retainHandling=1)
    d.settle(3)
    d.sub("sop/rh/+", qos=2, retainHandling=1)  # existed: none
    d.settle(3)
    d.unsub("sop/rh/+")
    d.sub("sop/rh/+", qos=2, retainHandling=2)  # never
    d.settle(3)
    d.sub("sop/rh/+", qos=2, retainHandling=0)  # always
    d.settle(6)
    for t in ("sop/rh/1", "sop/rh/2", "sop/rh/3"):
        d.pub(t, b"", 0, retain=True)


def test_subscription_identifiers_per_subscription(broker):
    a = Cli(broker.port, "sid-a")
    sp = Properties(PacketTypes.SUBSCRIBE)
    sp.SubscriptionIdentifier = 456789
    a.sub("sid", qos=2, props=sp)
    b = Cli(broker.port, "sid-b")
    sp = Properties(PacketTypes.SUBSCRIBE)
    sp.SubscriptionIdentifier = 2
    b.sub("sid", qos=2, props=sp)
    sp = Properties(PacketTypes.SUBSCRIBE)
    sp.SubscriptionIdentifier = 3
    b.sub("sid/#", qos=2, props=sp)
    b.pub("sid", b"x", 1)
    assert a.settle(1)[0].properties.SubscriptionIdentifier == [456789]
    got = b.settle(1)  # one copy, both identifiers [MQTT5-3.3.4-3]
    assert sorted(got[0].properties.SubscriptionIdentifier) == [2, 3]


def test_request_response(broker):
    a = Cli(broker.port, "rr-a")
    b = Cli(broker.port, "rr-b")
    a.sub("rr/req", qos=2, noLocal=True)
    b.sub("rr/req", qos=2, noLocal=True)
    a.sub("rr/resp", qos=2)
    a.pub("rr/req", b"request", 1,
          props=pprops(ResponseTopic="rr/resp", CorrelationData=b"334"))
    req = b.settle(1)[0]
    assert req.properties.ResponseTopic == "rr/resp"
    assert req.properties.CorrelationData == b"334"
    b.pub(req.properties.ResponseTopic, b"response", 1,
          props=pprops(CorrelationData=req.properties.CorrelationData))
    resp = a.settle(1)[0]
    assert (resp.payload, resp.properties.CorrelationData) == (
        b"response", b"334")


def test_client_topic_alias_per_connection(broker):
    keep = cprops(SessionExpiryInterval=99999, TopicAliasMaximum=0)
    a = Cli(broker.port, "cta", cprops=keep)
    assert a.props.TopicAliasMaximum > 0
    a.sub("cta", qos=2)
    al = pprops(TopicAlias=1)
    a.pub("cta", b"1", 1, props=al)
    a.pub("", b"2", 1, props=al)
    assert [x.topic for x in a.settle(2)] == ["cta", "cta"]
    a.close()
    a = Cli(broker.port, "cta", clean=False, cprops=keep)
    a.pub("cta", b"3", 1)
    a.settle(1)
    a.c.publish("", b"4", 1, properties=al)
    assert wait_until(lambda: a.disconnects, T)
    a.c.loop_stop()
    assert a.disconnects[0] == 0x82  # alias unknown on this connection


def test_maximum_packet_size_both_ways(broker_factory):
    br = broker_factory(extra_args=["--max-packet-size", "1000"])
    a = Cli(br.port, "mps")
    assert a.props.MaximumPacketSize == 1000
    a.c.publish("mps", b"." * 1000, 0)
    assert wait_until(lambda: a.disconnects, T)
    assert a.disconnects[0] == 0x95
    a.c.loop_stop()
    c = Cli(br.port, "mps-c", cprops=cprops(MaximumPacketSize=64))
    c.sub("mps", qos=2)
    c.pub("mps", b"." * 32, 0)
    c.pub("mps", b"." * 64, 1)
    assert [len(x.payload) for x in c.settle(1, extra=0.8)] == [32]


def test_will_delay(broker):
    """The will waits for its delay, or for the session's end when that
    comes first (session expiry 0: at once) [MQTT5-3.1.3-9]."""
    b = Cli(broker.port, "wdl-b")
    b.sub("wdl/#", qos=2)
    for n, (delay, expiry, lo, hi) in enumerate(((2, 4, 1.5, 3.0),
                                                 (5, 0, 0.0, 0.8),
                                                 (5, 2, 1.5, 3.0))):
        wp = Properties(PacketTypes.WILLMESSAGE)
        wp.WillDelayInterval = delay
        a = Cli(broker.port, "wdl-a%d" % n,
                will={"topic": "wdl/%d" % n, "payload": b"late",
                      "properties": wp},
                cprops=cprops(SessionExpiryInterval=expiry))
        a.c.loop_stop()
        start = time.monotonic()
        a.c.socket().close()
        assert b.wait(n + 1, timeout=6)
        took = time.monotonic() - start
        assert lo <= took <= hi, (delay, expiry, took)
        assert (b.msgs[n].topic, b.msgs[n].payload) == ("wdl/%d" % n,
                                                        b"late")
        assert not hasattr(b.msgs[n].properties, "WillDelayInterval")


def test_server_keep_alive(broker_factory):
    """With max_keepalive 60, a v5 client asking for 120 (or 0) is told
    60 in CONNACK (Server Keep Alive) and held to it; one asking for 30
    keeps 30 and is told nothing; 3.1.1 clients keep theirs."""
    br = broker_factory(extra_args=["--max-keepalive", "60"])
    a = Cli(br.port, "ska-a", keepalive=120)
    assert a.props.ServerKeepAlive == 60
    assert br.client("ska-a")["keepalive"] == 60
    b = Cli(br.port, "ska-b", keepalive=30)
    assert not hasattr(b.props, "ServerKeepAlive")
    c = Cli(br.port, "ska-c", v5=False, keepalive=120)
    assert br.client("ska-c")["keepalive"] == 120
    r = r5.client5(br.port, "ska-r", keepalive=0)
    assert r.cprops[0x13] == 60
    br2 = broker_factory()
    d = Cli(br2.port, "ska-d", keepalive=120)
    assert not hasattr(d.props, "ServerKeepAlive")


def test_no_timed_resend_in_v5_raw(broker_factory):
    """MQTT 5.0 resends unacknowledged messages only on reconnect
    [MQTT5-4.4.0-1]; 3.1.1 sessions keep retry_interval."""
    br = broker_factory(extra_args=["--retry-interval", "1"])
    v5 = r5.client5(br.port, "ntr5")
    r5.sub5(v5, ("ntr", 1))
    v3 = m.connected(br.port, "ntr3")
    v3.subscribe(("ntr", 1))
    p = m.connected(br.port, "ntr-p")
    p.send(m.publish("ntr", b"x", qos=1, pid=1))
    p.expect(m.PUBACK)
    first = v5.expect(m.PUBLISH)
    assert not first.dup
    v3.expect(m.PUBLISH)
    again = v3.expect(m.PUBLISH, timeout=3)
    assert again.dup
    v5.expect_nothing(1.5)
    v5.send(m.ack(m.PUBACK, first.pid))


def test_flow_control_receive_maximum_raw(broker):
    """Receive Maximum 2: two QoS 1 messages in flight, the third only
    after an ack (3.3.4, the suites' flow-control check)."""
    s = r5.client5(broker.port, "flw", cprops=r5.p_u16(0x21, 2))
    r5.sub5(s, ("flw", 1))
    p = r5.client5(broker.port, "flw-p")
    for i in range(4):
        p.send(r5.publish5("flw", b"%d" % i, qos=1, pid=i + 1))
    first = [r5.Pub5(s.expect(m.PUBLISH)) for _ in range(2)]
    s.expect_nothing(0.3)
    s.send(m.ack(m.PUBACK, first[0].pid))
    nxt = r5.Pub5(s.expect(m.PUBLISH))
    assert nxt.payload == b"2"
    s.expect_nothing(0.3)


# ---- the 3.1.1 suite (paho MQTTv311 clients) ----

def test_v311_basic_and_retained(broker):
    a = Cli(broker.port, "v3bas", v5=False)
    assert a.sub("v3/A", qos=2) == [2]
    for q in range(3):
        a.pub("v3/A", b"q%d" % q, qos=q)
    assert sorted(x.qos for x in a.settle(3)) == [0, 1, 2]
    for i, t in enumerate(("v3r/A/B", "v3r/C", "v3r/A/C")):
        a.pub(t, b"r%d" % i, qos=i, retain=True)
    time.sleep(0.2)
    b = Cli(broker.port, "v3ret", v5=False)
    assert b.sub("v3r/+/+", qos=2) == [2]
    got = b.settle(2)
    assert sorted((x.topic, x.qos, x.retain) for x in got) == [
        ("v3r/A/B", 0, True), ("v3r/A/C", 2, True)]
    for t in ("v3r/A/B", "v3r/C", "v3r/A/C"):
        a.pub(t, b"", qos=1, retain=True)  # acked: stored before c
    c = Cli(broker.port, "v3ret2", v5=False)
    c.sub("v3r/#", qos=0)
    time.sleep(0.3)
    assert [(x.topic, x.payload, x.retain) for x in c.msgs] == []


def test_v311_offline_queueing_and_overlap(broker):
    o = Cli(broker.port, "v3off", v5=False, clean=False)
    o.sub(("v3o/#", 2), ("v3o/+", 1))
    o.close()
    p = Cli(broker.port, "v3off-p", v5=False)
    p.pub("v3o/A", b"0", 0)
    p.pub("v3o/A", b"1", 1)
    p.pub("v3o/A", b"2", 2)
    o = Cli(broker.port, "v3off", v5=False, clean=False)
    assert o.flags["session present"]
    got = o.settle(3)  # one each, at the highest matching QoS
    assert sorted((x.payload, x.qos) for x in got) == [
        (b"0", 0), (b"1", 1), (b"2", 2)]


def test_v311_will_on_abort_and_keepalive(broker):
    b = Cli(broker.port, "v3wil-b", v5=False)
    b.sub("v3w/#", qos=2)
    a = Cli(broker.port, "v3wil-a", v5=False,
            will={"topic": "v3w/abort", "payload": b"gone", "qos": 1})
    a.abort()
    got = b.wait(1)
    assert [(x.topic, x.payload) for x in got] == [("v3w/abort", b"gone")]
    k = Cli(broker.port, "v3wil-k", v5=False, keepalive=1,
            will={"topic": "v3w/ka", "payload": b"silent", "qos": 1})
    k.c.loop_stop()  # no PINGREQ from here on
    got = b.wait(2, timeout=4)
    assert [x.topic for x in got] == ["v3w/abort", "v3w/ka"]
    k.c.socket().close()
    # A clean DISCONNECT discards the will.
    d = Cli(broker.port, "v3wil-d", v5=False,
            will={"topic": "v3w/bye", "payload": b"no", "qos": 1})
    d.close()
    b.settle(2)


def test_v311_dollar_topics_and_unsubscribe(broker):
    a = Cli(broker.port, "v3dol", v5=False)
    a.sub("+/+", qos=1)
    a.sub("v3u/0", qos=1)
    a.unsub("v3u/0")
    a.pub("$v3/x", b"hidden", 1)
    a.pub("v3u/0", b"unsubscribed but +/+", 1)
    got = a.settle(1)
    assert [x.topic for x in got] == ["v3u/0"]


def test_subscribe_failure_with_acl(broker_factory):
    """The suites' subscribe-failure check needs a broker that refuses
    "test/nosubscribe": an ACL rule does it.  3.1.1 gets 0x80; 5.0 gets
    0x87 (Not authorized), where the 5.0 suite expects 0x80."""
    b = broker_factory(start=False)
    af = b.write_file("acl.conf", "deny all subscribe test/nosubscribe\n")
    b.extra_args = ["--acl-file", af]
    b.start()
    assert b.ctl({"cmd": "plugin", "name": "mqttd_acl_file",
                  "active": True}) == {"code": 0}
    v3 = Cli(b.port, "sf3", v5=False)
    assert v3.sub("test/nosubscribe", qos=2) == [0x80]
    v5 = Cli(b.port, "sf5")
    assert v5.sub("test/nosubscribe", qos=2) == [0x87]
    assert v5.sub("$share/g/test/nosubscribe", qos=2) == [0x87]
