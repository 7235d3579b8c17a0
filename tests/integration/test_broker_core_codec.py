# SPDX-License-Identifier: BSD-2-Clause
"""Codec-level rules of mqttd against hand-built bytes (mqtt_raw shares no
code with broker/mq_codec.c): framing across reads, UTF-8 rules, packet
ids, reserved flags, and that a violation closes only that connection.
Each test then checks the segment's view of the outcome via mqttdctl."""
import socket
import struct
import time

import mqtt_raw as m
from broker_fixture import broker, broker_factory  # noqa: F401
from broker_fixture import rows, shutdown_count


def closed_malformed(broker, c, before):
    c.expect_closed()
    broker.wait_segment(
        "listeners",
        lambda v: shutdown_count(v, "malformed") >= before + 1)


def malformed_count(broker):
    return shutdown_count(broker.segment("listeners"), "malformed")


def test_packets_split_byte_by_byte(broker):
    """A packet may arrive in any number of reads; the broker buffers the
    partial packet and handles it once complete."""
    sub = m.connected(broker.port, "bb-sub")
    assert sub.subscribe(("split/#", 1)) == [1]
    c = m.Client(broker.port)
    data = (m.connect("bb-pub") + m.publish("split/a", b"x" * 300, qos=1,
                                            pid=9))
    for i in range(len(data)):
        c.send(data[i:i + 1])
        if i % 50 == 0:
            time.sleep(0.002)
    assert c.expect(m.CONNACK).rc == 0
    assert c.expect(m.PUBACK).pid == 9
    p = sub.expect(m.PUBLISH)
    assert p.topic == "split/a" and p.payload == b"x" * 300
    # one CONNECT + one PUBLISH, however many reads it took
    assert broker.wait_metric("packets/publish/received",
                              lambda v: v >= 1) == 1


def test_many_packets_in_one_write(broker):
    """Back-to-back packets in one segment are all handled, in order."""
    sub = m.connected(broker.port, "bulk-sub")
    assert sub.subscribe(("bulk", 0)) == [0]
    c = m.Client(broker.port)
    c.send(m.connect("bulk-pub") +
           b"".join(m.publish("bulk", b"%d" % i) for i in range(200)) +
           m.pingreq())
    assert c.expect(m.CONNACK).rc == 0
    assert c.expect(m.PINGRESP)
    got = [sub.expect(m.PUBLISH).payload for _ in range(200)]
    assert got == [b"%d" % i for i in range(200)]
    assert broker.wait_metric("messages/qos0/received",
                              lambda v: v >= 200) >= 200


def test_utf8_surrogate_in_topic_closes_MQTT_1_5_3_1(broker):
    before = malformed_count(broker)
    c = m.connected(broker.port, "utf8-a")
    body = b"\x00\x03\xed\xa0\x80" + b"x"  # U+D800 encoded
    c.send(m.fixed(m.PUBLISH, 0, body))
    closed_malformed(broker, c, before)


def test_utf8_nul_in_client_id_closes_MQTT_1_5_3_2(broker):
    before = malformed_count(broker)
    c = m.Client(broker.port)
    c.send(m.connect("a\x00b"))
    assert c.expect_closed() == []
    broker.wait_segment(
        "listeners", lambda v: shutdown_count(v, "malformed") >= before + 1)


def test_publish_packet_id_zero_closes_MQTT_2_3_1_1(broker):
    before = malformed_count(broker)
    c = m.connected(broker.port, "pid0")
    c.send(m.fixed(m.PUBLISH, 0x02, m.s16("t") + b"\x00\x00" + b"p"))
    closed_malformed(broker, c, before)


def test_publish_qos3_closes_MQTT_3_3_1_4(broker):
    before = malformed_count(broker)
    c = m.connected(broker.port, "q3")
    c.send(m.fixed(m.PUBLISH, 0x06, m.s16("t") + b"\x00\x01"))
    closed_malformed(broker, c, before)


def test_subscribe_reserved_flags_close_MQTT_3_8_1_1(broker):
    before = malformed_count(broker)
    c = m.connected(broker.port, "subflags")
    c.send(m.fixed(m.SUBSCRIBE, 0x00, b"\x00\x01" + m.s16("a") + b"\x00"))
    closed_malformed(broker, c, before)


def test_subscribe_without_filters_closes_MQTT_3_8_3_3(broker):
    before = malformed_count(broker)
    c = m.connected(broker.port, "subnone")
    c.send(m.fixed(m.SUBSCRIBE, 0x02, b"\x00\x01"))
    closed_malformed(broker, c, before)


def test_subscribe_qos_reserved_bits_close_MQTT_3_8_3_4(broker):
    before = malformed_count(broker)
    c = m.connected(broker.port, "subres")
    c.send(m.fixed(m.SUBSCRIBE, 0x02, b"\x00\x01" + m.s16("a") + b"\x41"))
    closed_malformed(broker, c, before)


def test_pubrel_wrong_flags_close_MQTT_3_6_1_1(broker):
    before = malformed_count(broker)
    c = m.connected(broker.port, "relflags")
    c.send(m.fixed(m.PUBREL, 0x00, b"\x00\x01"))
    closed_malformed(broker, c, before)


def test_unsubscribe_without_topics_closes_MQTT_3_10_3_2(broker):
    before = malformed_count(broker)
    c = m.connected(broker.port, "unsnone")
    c.send(m.fixed(m.UNSUBSCRIBE, 0x02, b"\x00\x01"))
    closed_malformed(broker, c, before)


def test_will_flags_without_will_close_MQTT_3_1_2_11(broker):
    """Will QoS set while the will flag is 0."""
    before = malformed_count(broker)
    c = m.Client(broker.port)
    c.send(m.connect("wq", flags=0x02 | 0x08))
    assert c.expect_closed() == []
    broker.wait_segment(
        "listeners", lambda v: shutdown_count(v, "malformed") >= before + 1)


def test_mqtt31_client_id_over_23_refused(broker):
    """MQTT 3.1 allows 1..23 characters: CONNACK 2 beyond."""
    c = m.Client(broker.port)
    c.send(m.connect("x" * 24, proto="MQIsdp", level=3))
    got = c.expect_closed()
    assert len(got) == 1 and got[0].type == m.CONNACK and got[0].rc == 2
    assert not any(x.get("client_id") == "x" * 24
                   for x in rows(broker.segment("clients"), "clients"))


def test_violation_closes_only_that_connection(broker):
    """A peer subscribed and idle keeps working after another one is cut
    off for garbage; an undecodable packet is not a parsed packet, so
    packets/received does not count it."""
    ok = m.connected(broker.port, "survivor")
    assert ok.subscribe(("alive", 0)) == [0]
    before = broker.metrics()["packets/received"]
    bad = m.Client(broker.port)
    bad.send(b"\xf0\x00")  # reserved type 15
    assert bad.expect_closed() == []
    p = m.connected(broker.port, "pub-after")
    p.send(m.publish("alive", b"yes"))
    assert ok.expect(m.PUBLISH).payload == b"yes"
    broker.wait_metric("packets/received", lambda v: v >= before + 2)
    time.sleep(0.2)
    # pub-after's CONNECT and PUBLISH; not the garbage
    assert broker.metrics()["packets/received"] == before + 2


def test_slow_consumer_disconnected_and_counted(broker_factory):
    """A subscriber that never reads is cut off once its output passes
    max_outbuf (reason slow_consumer), and the publisher carries on."""
    b = broker_factory(extra_args=["--max-outbuf", "65536"])
    sub = socket.create_connection(("127.0.0.1", b.port))
    sub.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sub.sendall(m.connect("slow") + m.subscribe(1, ("slow/#", 0)))
    time.sleep(0.2)
    pub = m.connected(b.port, "fast")
    payload = b"z" * 1000
    for _ in range(20):
        pub.send(b"".join(m.publish("slow/t", payload) for _ in range(100)))
    pub.send(m.pingreq())
    assert pub.expect(m.PINGRESP)
    b.wait_segment("listeners",
                   lambda v: shutdown_count(v, "slow_consumer") >= 1)
    assert not any(x.get("client_id") == "slow"
                   for x in rows(b.segment("clients"), "clients"))
    sub.close()


def test_remaining_length_four_bytes_accepted_under_limit(broker_factory):
    """A 4-byte remaining length is legal; the packet is then refused only
    by max_packet_size, before the broker buffers it."""
    b = broker_factory(extra_args=["--max-packet-size", "1000"])
    before = shutdown_count(b.segment("listeners"), "malformed")
    c = m.connected(b.port, "big")
    # Header claims 2 MiB; nothing more is sent: the broker must not wait.
    c.send(bytes([0x30]) + m.varint(2 * 1024 * 1024))
    assert c.expect_closed(timeout=3) == []
    b.wait_segment("listeners",
                   lambda v: shutdown_count(v, "malformed") >= before + 1)
