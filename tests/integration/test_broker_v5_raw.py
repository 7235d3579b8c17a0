# SPDX-License-Identifier: BSD-2-Clause
"""MQTT 5.0 against hand-built bytes: CONNACK reason codes and properties,
malformed packets (DISCONNECT 0x81), topic aliases, reason codes of the
acks, SUBACK / UNSUBACK, server-initiated DISCONNECT, session expiry, and
v3 behaviour untouched.  Packets are built here byte by byte (mqtt_raw's
framing only) so a broker codec bug cannot hide behind a matching one."""
import struct
import time

import mqtt_raw as m
from broker_fixture import broker, broker_factory  # noqa: F401

AUTH = 15


def props(*items):
    body = b"".join(items)
    return m.varint(len(body)) + body


def p_u8(pid, v):
    return bytes([pid, v])


def p_u16(pid, v):
    return bytes([pid]) + struct.pack("!H", v)


def p_u32(pid, v):
    return bytes([pid]) + struct.pack("!I", v)


def p_str(pid, s):
    return bytes([pid]) + m.s16(s)


def p_pair(k, v):
    return bytes([0x26]) + m.s16(k) + m.s16(v)


def connect5(client_id, clean=True, keepalive=60, cprops=b"", will=None,
             username=None, password=None):
    """will = (topic, payload, qos, retain, will_props_bytes)"""
    flags = 0x02 if clean else 0
    payload = m.s16(client_id)
    if will:
        topic, data, qos, retain, wprops = will
        flags |= 0x04 | (qos << 3) | (0x20 if retain else 0)
        payload += props(wprops) + m.s16(topic) + m.s16(data)
    if username is not None:
        flags |= 0x80
        payload += m.s16(username)
    if password is not None:
        flags |= 0x40
        payload += m.s16(password)
    vh = m.s16("MQTT") + bytes([5, flags]) + struct.pack("!H", keepalive)
    return m.fixed(m.CONNECT, 0, vh + props(cprops) + payload)


def publish5(topic, payload=b"", qos=0, retain=False, pid=None, pprops=b""):
    body = m.s16(topic)
    if qos:
        body += struct.pack("!H", pid)
    body += props(pprops) + payload
    return m.fixed(m.PUBLISH, (qos << 1) | (1 if retain else 0), body)


def subscribe5(pid, *filters, sprops=b""):
    body = struct.pack("!H", pid) + props(sprops)
    for f, opts in filters:
        body += m.s16(f) + bytes([opts])
    return m.fixed(m.SUBSCRIBE, 2, body)


def unsubscribe5(pid, *topics):
    body = struct.pack("!H", pid) + props(b"")
    for t in topics:
        body += m.s16(t)
    return m.fixed(m.UNSUBSCRIBE, 2, body)


def read_varint(b, i):
    v, mult = 0, 1
    while True:
        c = b[i]
        i += 1
        v += (c & 0x7F) * mult
        if not c & 0x80:
            return v, i
        mult *= 128


def parse_props(b):
    """-> dict id -> value (list for user properties)"""
    out, i = {}, 0
    while i < len(b):
        pid = b[i]
        i += 1
        if pid in (0x01, 0x17, 0x19, 0x24, 0x25, 0x28, 0x29, 0x2A):
            out[pid] = b[i]
            i += 1
        elif pid in (0x13, 0x21, 0x22, 0x23):
            out[pid] = struct.unpack("!H", b[i:i + 2])[0]
            i += 2
        elif pid in (0x02, 0x11, 0x18, 0x27):
            out[pid] = struct.unpack("!I", b[i:i + 4])[0]
            i += 4
        elif pid == 0x0B:  # may repeat: every one in "sub_ids"
            out[pid], i = read_varint(b, i)
            out.setdefault("sub_ids", []).append(out[pid])
        elif pid == 0x26:
            n = struct.unpack("!H", b[i:i + 2])[0]
            k = b[i + 2:i + 2 + n]
            i += 2 + n
            n = struct.unpack("!H", b[i:i + 2])[0]
            v = b[i + 2:i + 2 + n]
            i += 2 + n
            out.setdefault(0x26, []).append((k.decode(), v.decode()))
        else:
            n = struct.unpack("!H", b[i:i + 2])[0]
            out[pid] = b[i + 2:i + 2 + n]
            i += 2 + n
    return out


class Pub5:
    """A v5 PUBLISH as received: topic, pid, properties, payload."""

    def __init__(self, p):
        body = p.body
        n = struct.unpack("!H", body[:2])[0]
        self.topic = body[2:2 + n].decode()
        i = 2 + n
        self.pid = None
        if p.qos:
            self.pid = struct.unpack("!H", body[i:i + 2])[0]
            i += 2
        plen, i = read_varint(body, i)
        self.props = parse_props(body[i:i + plen])
        self.payload = body[i + plen:]
        self.qos, self.retain, self.dup = p.qos, p.retain, p.dup


def connack5(p):
    """-> (session_present, reason, props)"""
    plen, i = read_varint(p.body, 2)
    return p.body[0] & 1, p.body[1], parse_props(p.body[i:i + plen])


def client5(port, cid, **kw):
    c = m.Client(port)
    c.send(connect5(cid, **kw))
    sp, rc, pr = connack5(c.expect(m.CONNACK))
    assert rc == 0, "CONNACK reason %#x" % rc
    c.present, c.cprops = sp, pr
    return c


def expect_disconnect(c, reason):
    got = c.expect_closed()
    dis = [p for p in got if p.type == m.DISCONNECT]
    assert dis, "no DISCONNECT before close; got %r" % got
    assert dis[0].body[0] == reason, "DISCONNECT %#x, want %#x" % (
        dis[0].body[0], reason)
    return got


def sub5(c, *filters, pid=1, sprops=b""):
    c.send(subscribe5(pid, *filters, sprops=sprops))
    p = c.expect(m.SUBACK)
    assert p.pid == pid
    assert p.body[2] == 0  # no properties
    return list(p.body[3:])


# ---- CONNECT / CONNACK ----

def test_connack_properties(broker):
    """A v5 CONNACK says what differs from the defaults: Receive Maximum
    (max_inflight), Maximum Packet Size, Topic Alias Maximum 10; shared
    subscriptions and subscription identifiers: the default, yes."""
    c = client5(broker.port, "v5props")
    assert c.present == 0
    assert c.cprops[0x21] == 32
    assert c.cprops[0x27] == 1048576
    assert c.cprops[0x22] == 10
    assert 0x2A not in c.cprops and 0x29 not in c.cprops
    assert 0x12 not in c.cprops and 0x11 not in c.cprops
    assert broker.client("v5props")["proto_ver"] == 5


def test_assigned_client_id(broker):
    """An empty client id gets one, returned as Assigned Client
    Identifier [MQTT5-3.2.2-16], even with Clean Start 0."""
    c = client5(broker.port, "", clean=False)
    cid = c.cprops[0x12].decode()
    assert cid.startswith("mqttd_")
    assert broker.client(cid)["proto_ver"] == 5


def test_auth_method_refused(broker):
    """No enhanced authentication: CONNACK 0x8C, then close."""
    c = m.Client(broker.port)
    c.send(connect5("enh", cprops=p_str(0x15, "SCRAM-SHA-1")))
    got = c.expect_closed()
    assert [connack5(p)[1] for p in got if p.type == m.CONNACK] == [0x8C]


def test_session_expiry_clamped_and_present(broker_factory):
    """Session Expiry Interval replaces Clean Session: expiry > 0 keeps
    the session (session present on return); the server's session_expiry
    caps it and says so in CONNACK."""
    b = broker_factory(extra_args=["--session-expiry", "30"])
    c = client5(b.port, "exp", cprops=p_u32(0x11, 3600))
    assert c.cprops[0x11] == 30
    assert sub5(c, ("exp/t", 1)) == [1]
    c.send(m.disconnect())
    c.expect_closed()
    c = client5(b.port, "exp", clean=False, cprops=p_u32(0x11, 10))
    assert c.present == 1
    assert 0x11 not in c.cprops
    # Clean Start discards it.
    c.send(m.disconnect())
    c.expect_closed()
    c = client5(b.port, "exp", clean=True, cprops=p_u32(0x11, 10))
    assert c.present == 0


def test_session_expiry_zero_ends_with_connection(broker):
    """Without Session Expiry (0) the session ends with the connection,
    whatever Clean Start says."""
    c = client5(broker.port, "zero", clean=False)
    sub5(c, ("zero/t", 1))
    c.close()
    time.sleep(0.2)
    c = client5(broker.port, "zero", clean=False)
    assert c.present == 0


def test_disconnect_session_expiry_from_zero_is_protocol_error(broker):
    """[MQTT5-3.14.2-2]: DISCONNECT may not set an expiry when CONNECT's
    was 0: DISCONNECT 0x82 back."""
    c = client5(broker.port, "dz")
    c.send(m.fixed(m.DISCONNECT, 0, bytes([0]) + props(p_u32(0x11, 60))))
    expect_disconnect(c, 0x82)


def test_disconnect_session_expiry_to_zero_ends_session(broker):
    c = client5(broker.port, "dz2", clean=False, cprops=p_u32(0x11, 60))
    sub5(c, ("dz2/t", 0))
    c.send(m.fixed(m.DISCONNECT, 0, bytes([0]) + props(p_u32(0x11, 0))))
    c.expect_closed()
    time.sleep(0.1)
    assert broker.session("dz2") is None


# ---- malformed ----

MALFORMED = [
    ("duplicate property", publish5("t", pprops=p_u8(1, 1) + p_u8(1, 1))),
    ("property not for PUBLISH", publish5("t", pprops=p_u32(0x11, 1))),
    ("unknown property", publish5("t", pprops=bytes([0x7F, 0]))),
    ("subscription id in PUBLISH", publish5("t", pprops=bytes([0x0B, 1]))),
    ("payload format 2", publish5("t", pprops=p_u8(1, 2))),
    ("topic alias 0", publish5("t", pprops=p_u16(0x23, 0))),
    ("properties past the end", m.fixed(m.PUBLISH, 0, m.s16("t") + b"\x05")),
    ("subscribe reserved option bits",
     m.fixed(m.SUBSCRIBE, 2, b"\x00\x01\x00" + m.s16("a") + b"\xc0")),
    ("subscribe retain handling 3",
     m.fixed(m.SUBSCRIBE, 2, b"\x00\x01\x00" + m.s16("a") + b"\x30")),
    ("puback with trailing byte", m.fixed(m.PUBACK, 0, b"\x00\x01\x00\x00\x00")),
]


def test_malformed_gets_disconnect_0x81(broker):
    """Every malformed v5 packet earns DISCONNECT 0x81, then close."""
    for name, pkt in MALFORMED:
        c = client5(broker.port, "mal")
        c.send(pkt)
        try:
            expect_disconnect(c, 0x81)
        except AssertionError as e:
            raise AssertionError("%s: %s" % (name, e))


def test_auth_packet_is_protocol_error(broker):
    c = client5(broker.port, "authp")
    c.send(m.fixed(AUTH, 0, b"\x18\x00"))
    expect_disconnect(c, 0x82)


def test_second_connect_is_protocol_error(broker):
    c = client5(broker.port, "twice")
    c.send(connect5("twice"))
    expect_disconnect(c, 0x82)


def test_packet_too_large_0x95(broker_factory):
    b = broker_factory(extra_args=["--max-packet-size", "200"])
    c = client5(b.port, "big")
    assert c.cprops[0x27] == 200
    c.send(publish5("big", b"x" * 300))
    expect_disconnect(c, 0x95)


# ---- server-initiated DISCONNECT ----

def test_takeover_disconnect_0x8e(broker):
    a = client5(broker.port, "tk")
    client5(broker.port, "tk")
    expect_disconnect(a, 0x8E)


def test_keepalive_disconnect_0x8d(broker):
    c = client5(broker.port, "ka", keepalive=1)
    t0 = time.monotonic()
    expect_disconnect(c, 0x8D)
    assert time.monotonic() - t0 >= 1.0


def test_kick_disconnect_0x98(broker):
    c = client5(broker.port, "kick5")
    assert broker.ctl({"cmd": "kick", "client_id": "kick5"})["code"] == 0
    expect_disconnect(c, 0x98)


def test_v3_gets_no_disconnect_on_takeover(broker):
    a = m.connected(broker.port, "tk3")
    m.connected(broker.port, "tk3")
    assert all(p.type != m.DISCONNECT for p in a.expect_closed())


# ---- PUBLISH, acks, properties ----

def test_puback_no_matching_subscribers_0x10(broker):
    c = client5(broker.port, "nomatch")
    c.send(publish5("nobody/here", b"x", qos=1, pid=5))
    p = c.expect(m.PUBACK)
    assert p.pid == 5 and p.body[2:3] == b"\x10"
    sub5(c, ("nobody/here", 0))
    c.send(publish5("nobody/here", b"x", qos=1, pid=6))
    got = [c.recv(), c.recv()]
    ack = [p for p in got if p.type == m.PUBACK][0]
    assert ack.pid == 6 and ack.body == b"\x00\x06"


def test_properties_forwarded_to_v5_stripped_for_v3(broker):
    """User Property, Content Type, Response Topic, Correlation Data and
    Payload Format reach a v5 subscriber unchanged; a v3 subscriber gets
    the plain 3.1.1 PUBLISH."""
    s5 = client5(broker.port, "s5")
    sub5(s5, ("fw/#", 1))
    s3 = m.connected(broker.port, "s3")
    assert s3.subscribe(("fw/#", 1)) == [1]
    pub = client5(broker.port, "pub5")
    pp = (p_u8(1, 1) + p_str(3, "text/plain") + p_str(8, "fw/reply") +
          bytes([9]) + m.s16(b"\x00\x01") + p_pair("k", "v") +
          p_pair("k", "w"))
    pub.send(publish5("fw/a", b"hello", qos=1, pid=1, pprops=pp))
    pub.expect(m.PUBACK)
    got = Pub5(s5.expect(m.PUBLISH))
    assert got.topic == "fw/a" and got.payload == b"hello"
    assert got.props[1] == 1
    assert got.props[3] == b"text/plain"
    assert got.props[8] == b"fw/reply"
    assert got.props[9] == b"\x00\x01"
    assert got.props[0x26] == [("k", "v"), ("k", "w")]
    p3 = s3.expect(m.PUBLISH)
    assert p3.topic == "fw/a" and p3.payload == b"hello"


def test_v3_publisher_to_v5_subscriber(broker):
    s5 = client5(broker.port, "s5b")
    sub5(s5, ("v3/t", 2))
    p3 = m.connected(broker.port, "p3")
    p3.send(m.publish("v3/t", b"abc", qos=1, pid=3))
    p3.expect(m.PUBACK)
    got = Pub5(s5.expect(m.PUBLISH))
    assert got.payload == b"abc" and got.props == {} and got.qos == 1


def test_topic_alias(broker):
    """A client sets alias 3 with a topic, then publishes with an empty
    topic; subscribers see the full topic and no alias."""
    s = client5(broker.port, "als")
    sub5(s, ("alias/#", 0))
    p = client5(broker.port, "alp")
    p.send(publish5("alias/one", b"1", pprops=p_u16(0x23, 3)))
    p.send(publish5("", b"2", pprops=p_u16(0x23, 3)))
    a, b2 = Pub5(s.expect(m.PUBLISH)), Pub5(s.expect(m.PUBLISH))
    assert (a.topic, a.payload, b2.topic, b2.payload) == (
        "alias/one", b"1", "alias/one", b"2")
    assert 0x23 not in a.props and 0x23 not in b2.props
    # Re-pointing the alias.
    p.send(publish5("alias/two", b"3", pprops=p_u16(0x23, 3)))
    p.send(publish5("", b"4", pprops=p_u16(0x23, 3)))
    assert Pub5(s.expect(m.PUBLISH)).topic == "alias/two"
    assert Pub5(s.expect(m.PUBLISH)).topic == "alias/two"


def test_topic_alias_over_maximum_0x94(broker):
    p = client5(broker.port, "al11")
    p.send(publish5("a", b"1", pprops=p_u16(0x23, 11)))
    expect_disconnect(p, 0x94)


def test_topic_alias_unknown_is_protocol_error(broker):
    p = client5(broker.port, "alunk")
    p.send(publish5("", b"1", pprops=p_u16(0x23, 2)))
    expect_disconnect(p, 0x82)


def test_message_expiry_decremented_and_expired_dropped(broker):
    """Message Expiry: the receiver sees the remaining time; a queued
    message whose time is up is dropped."""
    s = client5(broker.port, "mx", clean=False, cprops=p_u32(0x11, 60))
    sub5(s, ("mx/#", 1))
    s.send(m.disconnect())
    s.expect_closed()
    p = client5(broker.port, "mxp")
    p.send(publish5("mx/short", b"s", qos=1, pid=1, pprops=p_u32(2, 1)))
    p.send(publish5("mx/long", b"l", qos=1, pid=2, pprops=p_u32(2, 100)))
    p.expect(m.PUBACK)
    p.expect(m.PUBACK)
    time.sleep(2.2)
    s = client5(broker.port, "mx", clean=False, cprops=p_u32(0x11, 60))
    assert s.present == 1
    got = Pub5(s.expect(m.PUBLISH))
    assert got.topic == "mx/long"
    assert 95 <= got.props[2] <= 98
    s.send(m.ack(m.PUBACK, got.pid))
    s.expect_nothing(0.3)


def test_receive_maximum_limits_window(broker):
    """The client's Receive Maximum 2: only two unacknowledged QoS 1
    messages at a time [MQTT5-3.3.4-9]."""
    s = client5(broker.port, "rm", cprops=p_u16(0x21, 2))
    sub5(s, ("rm/t", 1))
    p = m.connected(broker.port, "rmp")
    for i in range(5):
        p.send(m.publish("rm/t", b"%d" % i, qos=1, pid=i + 1))
    first = [Pub5(s.expect(m.PUBLISH)) for _ in range(2)]
    s.expect_nothing(0.3)
    s.send(m.ack(m.PUBACK, first[0].pid))
    assert Pub5(s.expect(m.PUBLISH)).payload == b"2"
    s.expect_nothing(0.3)


def test_maximum_packet_size_drops_for_that_client(broker):
    """A message bigger than the client's Maximum Packet Size is not sent
    to it [MQTT5-3.1.2-24]; smaller ones are."""
    s = client5(broker.port, "mps", cprops=p_u32(0x27, 64))
    sub5(s, ("mps/t", 0))
    p = m.connected(broker.port, "mpsp")
    p.send(m.publish("mps/t", b"x" * 100))
    p.send(m.publish("mps/t", b"small"))
    assert Pub5(s.expect(m.PUBLISH)).payload == b"small"


def test_acl_denied_publish_0x87(broker_factory):
    """ACL denies a publish: v5 gets PUBACK/PUBREC 0x87, v3 a plain ack
    (and the message is dropped either way); a denied subscription gets
    SUBACK 0x87."""
    b = broker_factory(start=False)
    af = b.write_file("acl.conf", "deny all publish secret/#\n"
                      "deny all subscribe secret/#\n")
    b.extra_args = ["--acl-file", af]
    b.start()
    assert b.ctl({"cmd": "plugin", "name": "mqttd_acl_file",
                  "active": True}) == {"code": 0}
    c = client5(b.port, "aclp")
    c.send(publish5("secret/x", b"x", qos=1, pid=9))
    p = c.expect(m.PUBACK)
    assert p.pid == 9 and p.body[2] == 0x87
    c.send(publish5("secret/x", b"x", qos=2, pid=10))
    p = c.expect(m.PUBREC)
    assert p.pid == 10 and p.body[2] == 0x87
    assert sub5(c, ("secret/#", 1), ("open/#", 1), pid=3) == [0x87, 1]
    c3 = m.connected(b.port, "aclp3")
    c3.send(m.publish("secret/x", b"x", qos=1, pid=9))
    assert c3.expect(m.PUBACK).body == b"\x00\x09"


# ---- SUBSCRIBE options and reason codes ----

def test_suback_reason_codes(broker):
    c = client5(broker.port, "sbrc")
    assert sub5(c, ("a/#", 2), ("a/#/b", 0), ("$share/g/t", 1),
                ("ok/+", 1)) == [2, 0x8F, 1, 1]


def test_subscription_identifiers(broker):
    """3.8.2.1.2 / 3.3.4: a delivery carries the identifiers of the
    subscriptions it matched (one copy with all of them [MQTT5-3.3.4-3]),
    queued and retained deliveries too; re-subscribing without one
    removes it; v3 subscribers never see one."""
    c = client5(broker.port, "sid", clean=False, cprops=p_u32(0x11, 60))
    assert sub5(c, ("sid/#", 1), sprops=bytes([0x0B, 5])) == [1]
    assert sub5(c, ("sid/+", 1), sprops=bytes([0x0B, 0xC8, 0x01]),
                pid=2) == [1]
    s3 = m.connected(broker.port, "sid3")
    s3.subscribe(("sid/#", 0))
    p = client5(broker.port, "sidp")
    p.send(publish5("sid/a", b"1"))
    assert sorted(Pub5(c.expect(m.PUBLISH)).props["sub_ids"]) == [5, 200]
    c.expect_nothing()
    assert s3.expect(m.PUBLISH).payload == b"1"
    # Retained: sent on subscribe with the new subscription's id.
    p.send(publish5("sid/r", b"kept", retain=True))
    assert sorted(Pub5(c.expect(m.PUBLISH)).props["sub_ids"]) == [5, 200]
    assert sub5(c, ("sid/r", 0), sprops=bytes([0x0B, 9]), pid=3) == [0]
    assert Pub5(c.expect(m.PUBLISH)).props[0x0B] == 9
    # Offline: the queued message keeps the id.
    c.send(m.disconnect())
    c.expect_closed()
    p.send(publish5("sid/x/y", b"q", qos=1, pid=4))
    p.expect(m.PUBACK)
    c = client5(broker.port, "sid", clean=False, cprops=p_u32(0x11, 60))
    q = Pub5(c.expect(m.PUBLISH))
    assert q.payload == b"q" and q.props[0x0B] == 5
    c.send(m.ack(m.PUBACK, q.pid))
    # Re-subscribing without an identifier removes it.
    assert sub5(c, ("sid/#", 0), pid=5) == [0]
    r = Pub5(c.expect(m.PUBLISH))  # Retain Handling 0: retained again
    assert r.topic == "sid/r" and 0x0B not in r.props
    c.send(unsubscribe5(6, "sid/+", "sid/r"))
    c.expect(m.UNSUBACK)
    p.send(publish5("sid/b", b"2"))
    got = Pub5(c.expect(m.PUBLISH))
    assert got.payload == b"2" and 0x0B not in got.props


def test_unsuback_reason_codes(broker):
    c = client5(broker.port, "usrc")
    sub5(c, ("u/1", 0))
    c.send(unsubscribe5(4, "u/1", "u/2"))
    p = c.expect(m.UNSUBACK)
    assert p.pid == 4 and p.body[2:] == b"\x00\x00\x11"


def test_no_local(broker):
    c = client5(broker.port, "nl")
    sub5(c, ("nl/t", 0x04))
    other = client5(broker.port, "nlo")
    sub5(other, ("nl/t", 0))
    c.send(publish5("nl/t", b"mine"))
    assert Pub5(other.expect(m.PUBLISH)).payload == b"mine"
    c.expect_nothing(0.3)
    other.send(publish5("nl/t", b"theirs"))
    assert Pub5(c.expect(m.PUBLISH)).payload == b"theirs"


def test_retain_as_published(broker):
    c = client5(broker.port, "rap")
    sub5(c, ("rap/a", 0x08), ("rap/b", 0))
    p = client5(broker.port, "rapp")
    p.send(publish5("rap/a", b"1", retain=True))
    p.send(publish5("rap/b", b"2", retain=True))
    a, b2 = Pub5(c.expect(m.PUBLISH)), Pub5(c.expect(m.PUBLISH))
    assert (a.retain, b2.retain) == (True, False)


def test_retain_handling(broker):
    p = client5(broker.port, "rhp")
    p.send(publish5("rh/t", b"kept", qos=1, pid=1, retain=True))
    p.expect(m.PUBACK)
    c = client5(broker.port, "rh")
    assert sub5(c, ("rh/t", 0x20)) == [0]  # 2: never
    c.expect_nothing(0.3)
    c2 = client5(broker.port, "rh1")
    assert sub5(c2, ("rh/t", 0x10)) == [0]  # 1: only when new
    assert Pub5(c2.expect(m.PUBLISH)).payload == b"kept"
    assert sub5(c2, ("rh/t", 0x10), pid=2) == [0]
    c2.expect_nothing(0.3)
    assert sub5(c2, ("rh/t", 0x00), pid=3) == [0]  # 0: always
    assert Pub5(c2.expect(m.PUBLISH)).retain


# ---- will ----

def test_will_delay_cancelled_by_resume(broker):
    w = client5(broker.port, "wd")
    sub5(w, ("wd/will", 0))
    c = m.Client(broker.port)
    c.send(connect5("wdc", clean=False, cprops=p_u32(0x11, 60),
                    will=("wd/will", b"gone", 0, False, p_u32(0x18, 2))))
    c.expect(m.CONNACK)
    c.close()
    time.sleep(0.5)
    c = client5(broker.port, "wdc", clean=False, cprops=p_u32(0x11, 60))
    assert c.present == 1
    w.expect_nothing(2.5)


def test_will_delay_published_after_delay(broker):
    w = client5(broker.port, "wd2")
    sub5(w, ("wd2/will", 0))
    c = m.Client(broker.port)
    c.send(connect5("wd2c", clean=False, cprops=p_u32(0x11, 60),
                    will=("wd2/will", b"gone", 0, False,
                          p_u32(0x18, 1) + p_str(3, "text/x"))))
    c.expect(m.CONNACK)
    t0 = time.monotonic()
    c.close()
    got = Pub5(w.expect(m.PUBLISH, timeout=4))
    assert time.monotonic() - t0 >= 0.9
    assert got.payload == b"gone" and got.props[3] == b"text/x"


def test_disconnect_with_will_0x04(broker):
    w = client5(broker.port, "dw")
    sub5(w, ("dw/will", 0))
    c = m.Client(broker.port)
    c.send(connect5("dwc", will=("dw/will", b"bye", 0, False, b"")))
    c.expect(m.CONNACK)
    c.send(m.fixed(m.DISCONNECT, 0, b"\x04"))
    assert Pub5(w.expect(m.PUBLISH)).payload == b"bye"
    c2 = m.Client(broker.port)
    c2.send(connect5("dwc2", will=("dw/will", b"no", 0, False, b"")))
    c2.expect(m.CONNACK)
    c2.send(m.fixed(m.DISCONNECT, 0, b""))
    w.expect_nothing(0.3)


def test_receive_maximum_exceeded_0x93(broker_factory):
    b = broker_factory(extra_args=["--max-inflight", "2"])
    c = client5(b.port, "rmx")
    assert c.cprops[0x21] == 2
    for pid in (1, 2):
        c.send(publish5("rmx/t", b"x", qos=2, pid=pid))
        c.expect(m.PUBREC)
    c.send(publish5("rmx/t", b"x", qos=2, pid=3))
    expect_disconnect(c, 0x93)


def test_qos2_reason_codes(broker):
    """PUBREC 0x10 when nobody subscribes; PUBCOMP 0x92 for an unknown
    packet id; a PUBREC >= 0x80 from the client ends that flow."""
    c = client5(broker.port, "q2rc")
    c.send(publish5("q2/none", b"x", qos=2, pid=7))
    p = c.expect(m.PUBREC)
    assert p.pid == 7 and p.body[2] == 0x10
    c.send(m.fixed(m.PUBREL, 2, b"\x00\x07"))
    assert c.expect(m.PUBCOMP).body == b"\x00\x07"
    c.send(m.fixed(m.PUBREL, 2, b"\x00\x63"))
    assert c.expect(m.PUBCOMP).body == b"\x00\x63\x92"
    sub5(c, ("q2/in", 2))
    p3 = m.connected(broker.port, "q2rcp")
    p3.send(m.publish("q2/in", b"y", qos=1, pid=1))
    got = Pub5(c.expect(m.PUBLISH))
    c.send(m.fixed(m.PUBREC, 0, struct.pack("!HB", got.pid, 0x80)))
    c.expect_nothing(0.3)  # no PUBREL: the flow is over
    p3.send(m.publish("q2/in", b"z", qos=1, pid=2))
    assert Pub5(c.expect(m.PUBLISH)).payload == b"z"


def test_v3_pubcomp_unknown_id_unchanged(broker):
    c = m.connected(broker.port, "q2v3")
    c.send(m.ack(m.PUBREL, 99))
    assert c.expect(m.PUBCOMP).body == b"\x00\x63"


def test_will_message_expiry_starts_at_publication(broker):
    """The will's Message Expiry Interval travels with it and counts from
    when the will is published, not from CONNECT."""
    w = client5(broker.port, "wx")
    sub5(w, ("wx/will", 0))
    c = m.Client(broker.port)
    c.send(connect5("wxc", will=("wx/will", b"gone", 0, False,
                                 p_u32(0x02, 30))))
    c.expect(m.CONNACK)
    time.sleep(1.2)
    c.close()
    got = Pub5(w.expect(m.PUBLISH))
    assert got.payload == b"gone" and got.props[2] == 30


def test_server_shutdown_disconnect_0x8b(broker):
    """On SIGTERM a v5 client gets DISCONNECT 0x8B (server shutting
    down); a v3 client just sees the close."""
    c = client5(broker.port, "down5")
    c3 = m.connected(broker.port, "down3")
    broker.stop()
    expect_disconnect(c, 0x8B)
    assert all(p.type != m.DISCONNECT for p in c3.expect_closed())


def test_connack_auth_reason_codes(broker_factory):
    """v5 refusals use v5 reason codes: 0x86 bad user name or password,
    0x87 not authorized (a v3 client keeps 4 and 5)."""
    import subprocess
    from broker_fixture import build_path
    b = broker_factory(start=False)
    uf = b.path("users.passwd")
    r = subprocess.run([build_path("mqttd-passwd"), uf, "alice"],
                       input="alice-pw\n", capture_output=True, text=True,
                       timeout=10)
    assert r.returncode == 0, r.stderr
    b.extra_args = ["--username-file", uf, "--allow-anonymous", "false"]
    b.start()
    assert b.ctl({"cmd": "plugin", "name": "mqttd_auth_username",
                  "active": True}) == {"code": 0}

    def refused(**kw):
        c = m.Client(b.port)
        c.send(connect5("ar", **kw))
        got = c.expect_closed()
        return [connack5(p)[1] for p in got if p.type == m.CONNACK]

    assert refused(username="alice", password="wrong") == [0x86]
    assert refused(username="zed", password="x") == [0x87]
    assert refused() == [0x87]
    ok = client5(b.port, "ar", username="alice", password="alice-pw")
    assert b.client("ar")["proto_ver"] == 5
    ok.close()
    c3 = m.Client(b.port)
    c3.send(m.connect("ar3", username="alice", password="wrong"))
    assert c3.expect(m.CONNACK).body == b"\x00\x04"
