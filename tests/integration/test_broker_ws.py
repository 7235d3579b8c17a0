# SPDX-License-Identifier: BSD-2-Clause
"""MQTT over WebSocket (mqtt:ws) and secure WebSocket (mqtt:wss): paho with
transport="websockets" (plain, and over TLS with CA verification), and a
hand-made WebSocket client for what libraries never send: bad upgrades,
fragmented frames, several packets per frame, one packet over many
frames, pings, text and oversized and unmasked frames, close codes."""
import socket
import ssl
import struct
import time

import pytest

from broker_fixture import broker_factory  # noqa: F401
from test_broker_tls import Paho, wait_for
from tls_certs import make_certs
from ws_raw import WsRaw, frame, request

T = 5.0
CONNECT = bytes([0x10, 14, 0, 4]) + b"MQTT" + bytes([4, 2, 0, 60, 0, 2]) + \
    b"ws"
CONNACK = bytes([0x20, 2, 0, 0])


def connect_pkt(cid):
    body = b"\x00\x04MQTT\x04\x02\x00\x3c" + struct.pack("!H", len(cid)) + \
        cid.encode()
    return bytes([0x10, len(body)]) + body


def subscribe_pkt(topic, pid=1, qos=0):
    body = struct.pack("!H", pid) + struct.pack("!H", len(topic)) + \
        topic.encode() + bytes([qos])
    return bytes([0x82, len(body)]) + body


def publish_pkt(topic, payload):
    body = struct.pack("!H", len(topic)) + topic.encode() + payload
    n = len(body)
    rl = b""
    while True:
        d, n = n % 128, n // 128
        rl += bytes([d | (0x80 if n else 0)])
        if not n:
            break
    return b"\x30" + rl + body


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return make_certs(str(tmp_path_factory.mktemp("certs")))


@pytest.fixture
def wb(broker_factory, certs):
    """tcp (port 0), ws (1), wss (2)."""
    return broker_factory(extra_args=[
        "--listen", "ws://127.0.0.1:0", "--listen", "wss://127.0.0.1:0",
        "--certfile", certs["server"], "--keyfile", certs["server_key"],
        "--max-packet-size", "65536", "--connect-timeout", "2"])


def test_paho_websockets_and_secure_websockets(wb, certs):
    w = Paho(wb.ports[1], "paho-ws", transport="websockets")
    s = Paho(wb.ports[2], "paho-wss", ca=certs["ca"], transport="websockets")
    t = Paho(wb.port, "paho-tcp")
    try:
        for c in (w, s, t):
            assert c.sub("web/#") == (1,)
        big = bytes(range(256)) * 200  # 50 KiB: frames of many reads
        w.pub("web/ws", big)
        s.pub("web/wss", b"secure")
        t.pub("web/tcp", b"plain")
        want = sorted([big, b"secure", b"plain"])
        for c in (w, s, t):
            got = sorted(c.msgs.get(timeout=T).payload for _ in range(3))
            assert got == want
        lis = wb.listeners()
        assert [x["protocol"] for x in lis] == ["mqtt:tcp", "mqtt:ws",
                                                 "mqtt:wss"]
        assert [x["current_clients"] for x in lis] == [1, 1, 1]
        by_id = {c["client_id"]: c["listener"] for c in wb.clients()}
        assert by_id == {"paho-tcp": 0, "paho-ws": 1, "paho-wss": 2}
    finally:
        for c in (w, s, t):
            c.close()


def bad_upgrade(port, raw):
    s = socket.create_connection(("127.0.0.1", port), timeout=T)
    s.sendall(raw)
    data = b""
    try:
        while True:
            d = s.recv(4096)
            if not d:
                break
            data += d
    except ConnectionResetError:
        pass
    s.close()
    return data


@pytest.mark.parametrize("raw,status", [
    (request(path="/other")[0], 404),
    (request(version="8")[0], 426),
    (request(proto="foo, bar")[0], 400),
    (request(key="short")[0], 400),
    (b"POST /mqtt HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    (b"GET /mqtt HTTP/1.0\r\nHost: x\r\n\r\n", 400),
    (b"GET /mqtt HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    (b"GET /mqtt HTTP/1.1\nHost: x\n\n", 400),
    (request(extra=" folded\r\n")[0], 400),
    (request(extra="Content-Length: 5\r\n")[0], 400),
    (CONNECT, 400),  # MQTT in clear on a WebSocket port
    (b"GET /mqtt HTTP/1.1\r\n" + b"X-Pad: " + b"a" * 9000, 400),
])
def test_bad_upgrades_get_an_http_error_and_a_close(wb, raw, status):
    data = bad_upgrade(wb.ports[1], raw)
    assert data.startswith(b"HTTP/1.1 %d " % status), data[:200]
    assert b"Connection: close" in data
    if status == 426:
        assert b"Sec-WebSocket-Version: 13" in data
    assert wb.running()
    # and the listener still serves
    WsRaw(wb.ports[1]).close()


def test_subprotocol_answer_is_the_clients_choice(wb):
    for offer, answer in (("mqttv3.1", "mqttv3.1"), ("foo, mqtt", "mqtt"),
                          ("mqtt, mqttv3.1", "mqtt")):
        w = WsRaw(wb.ports[1], proto=offer)
        assert w.headers["sec-websocket-protocol"] == answer
        w.close()
    w = WsRaw(wb.ports[1], proto=None)  # none offered: none answered
    assert "sec-websocket-protocol" not in w.headers
    w.close()


def test_origin_allow_list(broker_factory):
    b = broker_factory(extra_args=[
        "--listen", "ws://127.0.0.1:0",
        "--ws-origins", "https://ok.example, http://also.example"])
    for origin, status in (("https://OK.example", 101), (None, 403),
                           ("https://evil.example", 403)):
        extra = "Origin: %s\r\n" % origin if origin else ""
        data = bad_upgrade(b.ports[1], request(extra=extra)[0]) \
            if status != 101 else None
        if status == 101:
            s = socket.create_connection(("127.0.0.1", b.ports[1]),
                                         timeout=T)
            s.sendall(request(extra=extra)[0])
            data = s.recv(4096)
            s.close()
        assert data.startswith(b"HTTP/1.1 %d " % status), data


def test_fragmented_frames_and_packets_across_frames(wb):
    w = WsRaw(wb.ports[1])
    # CONNECT in three frames: binary (no FIN), continuation, continuation
    w.send(CONNECT[:3], fin=False)
    w.send(CONNECT[3:9], opcode=0, fin=False)
    w.send(CONNECT[9:], opcode=0)
    assert w.mqtt(4) == CONNACK
    # a control frame between fragments is allowed (RFC 6455 5.4)
    sub = subscribe_pkt("frag/#")
    w.send(sub[:2], fin=False)
    w.send(b"hi", opcode=9)
    w.send(sub[2:], opcode=0)
    op, fin, p = w.frame()
    assert (op, p) == (10, b"hi")  # pong, same payload
    assert w.mqtt(5) == bytes([0x90, 3, 0, 1, 0])
    # one PUBLISH of 3000 bytes over 3000 one-byte frames
    pub = publish_pkt("frag/1", b"z" * 2990)
    w.s.sendall(b"".join(frame(pub[i:i + 1]) for i in range(len(pub))))
    assert w.mqtt(len(pub)) == pub
    w.close()


def test_several_packets_in_one_frame(wb):
    w = WsRaw(wb.ports[1])
    pkts = connect_pkt("many") + subscribe_pkt("many/1") + \
        publish_pkt("many/1", b"a") + publish_pkt("many/1", b"b") + \
        bytes([0xc0, 0])  # PINGREQ
    w.send(pkts)
    want = CONNACK + bytes([0x90, 3, 0, 1, 0]) + \
        publish_pkt("many/1", b"a") + publish_pkt("many/1", b"b") + \
        bytes([0xd0, 0])
    assert w.mqtt(len(want)) == want
    w.close()


def test_close_handshake_from_client(wb):
    w = WsRaw(wb.ports[1])
    w.send(connect_pkt("closer"))
    assert w.mqtt(4) == CONNACK
    w.send(struct.pack("!H", 1000) + b"bye", opcode=8)
    assert w.close_code() == 1000
    assert w.eof()
    assert wait_for(lambda: wb.listeners()[1]["current_clients"] == 0)


@pytest.mark.parametrize("what,code", [
    ("text", 1003), ("big", 1009), ("unmasked", 1002), ("mqtt", 1002),
    ("kick", 1008), ("bad_close", 1002)])
def test_close_codes(wb, what, code):
    w = WsRaw(wb.ports[1])
    w.send(connect_pkt("c-" + what))
    assert w.mqtt(4) == CONNACK
    if what == "text":
        w.send(b"hello", opcode=1)
    elif what == "big":  # bigger than max_packet_size (64 KiB)
        w.s.sendall(frame(b"\0" * 70000)[:4096])
    elif what == "unmasked":
        w.send(bytes([0xc0, 0]), mask=False)
    elif what == "mqtt":  # a reserved packet type: MQTT protocol error
        w.send(bytes([0xf0, 0]))
    elif what == "kick":
        assert wb.ctl({"cmd": "kick", "client_id": "c-kick"})["code"] == 0
    elif what == "bad_close":  # 1005 may never be sent
        w.send(struct.pack("!H", 1005), opcode=8)
    assert w.close_code() == code
    assert w.eof()
    assert wb.running()


def test_slow_upgrade_closed_after_connect_timeout(wb):
    s = socket.create_connection(("127.0.0.1", wb.ports[1]), timeout=T)
    s.sendall(request()[0][:30])  # and never the rest
    t0 = time.monotonic()
    assert s.recv(4096) == b""
    assert 1.5 < time.monotonic() - t0 < 4.5
    s.close()


def test_wss_raw_frames(wb, certs):
    ctx = ssl.create_default_context(cafile=certs["ca"])
    w = WsRaw(wb.ports[2], tls_ctx=ctx)
    w.send(connect_pkt("wss-raw")[:5], fin=False)
    w.send(connect_pkt("wss-raw")[5:] + subscribe_pkt("wr/1"), opcode=0)
    assert w.mqtt(9) == CONNACK + bytes([0x90, 3, 0, 1, 0])
    w.send(struct.pack("!H", 1001), opcode=8)
    assert w.close_code() == 1001
    w.close()
