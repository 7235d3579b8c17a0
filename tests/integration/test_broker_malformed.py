# SPDX-License-Identifier: BSD-2-Clause
"""Protocol violations a server must answer by closing the connection
(MQTT 3.1.1 sections 1.5.3, 2.2.2, 2.3.1, 3.1.2, 3.3.1, 3.8.3, 3.10.3,
4.7.3, 4.8), each on its own connection, after a valid CONNECT; every one
is counted as 'malformed' on the listener and leaves others untouched.
One broker serves the whole module (the cases are independent
connections), which keeps the suite fast; it is checked at the end like
any other."""
import pytest

import mqtt_raw as m
from broker_fixture import Broker, shutdown_count


@pytest.fixture(scope="module")
def shared():
    b = Broker().start()
    yield b
    try:
        b.stop()
    finally:
        b.cleanup()


def malformed(b):
    return shutdown_count(b.segment("listeners"), "malformed")

# (statement, bytes sent after CONNECT)
AFTER_CONNECT = [
    ("MQTT-1.5.3-1 invalid UTF-8 in topic",
     m.fixed(m.PUBLISH, 0, b"\x00\x02\xff\xfe" + b"x")),
    ("MQTT-1.5.3-2 U+0000 in topic",
     m.fixed(m.PUBLISH, 0, b"\x00\x03a\x00b" + b"x")),
    ("MQTT-2.3.1-1 QoS 1 PUBLISH with packet id 0",
     m.fixed(m.PUBLISH, 2, m.s16("t") + b"\x00\x00x")),
    ("MQTT-2.3.1-1 SUBSCRIBE with packet id 0",
     m.fixed(m.SUBSCRIBE, 2, b"\x00\x00" + m.s16("t") + b"\x00")),
    ("MQTT-3.3.1-4 PUBLISH with QoS 3",
     m.fixed(m.PUBLISH, 6, m.s16("t") + b"\x00\x01x")),
    ("MQTT-4.7.3-1 PUBLISH with empty topic",
     m.fixed(m.PUBLISH, 0, m.s16("") + b"x")),
    ("MQTT-3.8.1-1 SUBSCRIBE with flags 0000",
     m.fixed(m.SUBSCRIBE, 0, b"\x00\x01" + m.s16("t") + b"\x00")),
    ("MQTT-3.8.3-3 SUBSCRIBE with no topic filter",
     m.fixed(m.SUBSCRIBE, 2, b"\x00\x01")),
    ("MQTT-3.8.3-4 SUBSCRIBE with requested QoS 3",
     m.fixed(m.SUBSCRIBE, 2, b"\x00\x01" + m.s16("t") + b"\x03")),
    ("MQTT-3.8.3-4 SUBSCRIBE with reserved bits in the QoS byte",
     m.fixed(m.SUBSCRIBE, 2, b"\x00\x01" + m.s16("t") + b"\x41")),
    ("MQTT-3.10.1-1 UNSUBSCRIBE with flags 0000",
     m.fixed(m.UNSUBSCRIBE, 0, b"\x00\x01" + m.s16("t"))),
    ("MQTT-3.10.3-2 UNSUBSCRIBE with no topic filter",
     m.fixed(m.UNSUBSCRIBE, 2, b"\x00\x01")),
    ("MQTT-3.6.1-1 PUBREL with flags 0000",
     m.fixed(m.PUBREL, 0, b"\x00\x01")),
    ("MQTT-2.2.2-2 PINGREQ with flags set",
     m.fixed(m.PINGREQ, 1, b"")),
    ("MQTT-2.2.1 reserved packet type 0", m.fixed(0, 0, b"")),
    ("MQTT-2.2.1 reserved packet type 15", m.fixed(15, 0, b"")),
    ("server-only packet CONNACK from a client",
     m.fixed(m.CONNACK, 0, b"\x00\x00")),
    ("SUBACK from a client", m.fixed(m.SUBACK, 0, b"\x00\x01\x00")),
    ("string length beyond the packet",
     m.fixed(m.PUBLISH, 0, b"\x00\x40ab")),
]

BAD_CONNECT = [
    ("MQTT-3.1.2-11 will QoS without will flag",
     m.connect("w1", flags=0x02 | 0x08)),
    ("MQTT-3.1.2-15 will retain without will flag",
     m.connect("w2", flags=0x02 | 0x20)),
    ("MQTT-3.1.2-14 will QoS 3",
     m.connect("w3", will=("t", b"x", 3, False))),
    ("MQTT-3.1.2-22 password without username",
     m.connect("w4", password="p")),
    ("MQTT-3.1.3 username flag but no username in payload",
     m.connect("w5", flags=0x82)),
]


@pytest.mark.parametrize("why,data", AFTER_CONNECT,
                         ids=[x[0].split(" ")[0] + "_" + str(i)
                              for i, x in enumerate(AFTER_CONNECT)])
def test_violation_closes(shared, why, data):
    base = malformed(shared)
    other = m.connected(shared.port, "bystander")
    c = m.connected(shared.port, "violator")
    c.send(data)
    got = c.expect_closed()
    assert got == [], "%s: got %r before the close" % (why, got)
    shared.wait_segment("listeners",
                        lambda v: shutdown_count(v, "malformed") == base + 1)
    other.send(m.pingreq())
    other.expect(m.PINGRESP)
    other.close()


@pytest.mark.parametrize("why,data", BAD_CONNECT,
                         ids=[x[0].split(" ")[0] + "_" + str(i)
                              for i, x in enumerate(BAD_CONNECT)])
def test_bad_connect_closes(shared, why, data):
    c = m.Client(shared.port)
    c.send(data)
    got = c.expect_closed()
    assert not any(p.type == m.CONNACK and p.rc == 0 for p in got), why
    shared.wait_segment("clients", lambda v: v == [])
