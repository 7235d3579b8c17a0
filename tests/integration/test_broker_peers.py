# SPDX-License-Identifier: BSD-2-Clause
"""Independent peers: paho-mqtt (Python) and mosquitto_pub / mosquitto_sub
(libmosquitto) against mqttd, for the same behaviours the raw-socket
tests check byte by byte."""
import queue
import subprocess
import time

import paho.mqtt.client as paho
import pytest

import mqtt_raw as m
from broker_fixture import broker, broker_factory  # noqa: F401
from broker_fixture import build_path, rows


class Paho:
    """A paho client with a message queue and blocking helpers."""

    def __init__(self, port, client_id, clean=True, proto=paho.MQTTv311,
                 username=None, password=None, will=None, keepalive=30):
        self.msgs = queue.Queue()
        self.connack = queue.Queue()
        self.c = paho.Client(client_id=client_id, clean_session=clean,
                             protocol=proto)
        if username is not None:
            self.c.username_pw_set(username, password)
        if will:
            self.c.will_set(*will)
        self.c.on_message = lambda c, u, msg: self.msgs.put(msg)
        self.c.on_connect = lambda c, u, f, rc: self.connack.put((f, rc))
        self.c.connect("127.0.0.1", port, keepalive)
        self.c.loop_start()

    def wait_connack(self, timeout=5):
        return self.connack.get(timeout=timeout)

    def sub(self, topic, qos):
        res, mid = self.c.subscribe(topic, qos)
        assert res == paho.MQTT_ERR_SUCCESS

    def pub(self, topic, payload, qos=0, retain=False):
        info = self.c.publish(topic, payload, qos=qos, retain=retain)
        info.wait_for_publish()

    def get(self, timeout=5):
        return self.msgs.get(timeout=timeout)

    def stop(self):
        self.c.disconnect()
        self.c.loop_stop()


@pytest.fixture
def pahos():
    made = []
    yield made
    for p in made:
        try:
            p.stop()
        except Exception:
            pass


def mk(pahos, *a, **kw):
    p = Paho(*a, **kw)
    pahos.append(p)
    f, rc = p.wait_connack()
    assert rc == 0
    return p


def test_paho_qos_matrix(broker, pahos):
    """paho publisher and subscriber, QoS 0/1/2 each way: every message
    arrives once, at min(pub, sub) QoS."""
    subs = {q: mk(pahos, broker.port, "psub%d" % q) for q in (0, 1, 2)}
    for q, s in subs.items():
        s.sub("pm/#", q)
    time.sleep(0.2)
    pub = mk(pahos, broker.port, "ppub")
    for q in (0, 1, 2):
        pub.pub("pm/%d" % q, b"q%d" % q, qos=q)
    for sq, s in subs.items():
        got = sorted((msg.topic, msg.qos) for msg in
                     (s.get() for _ in range(3)))
        assert got == [("pm/%d" % q, min(q, sq)) for q in (0, 1, 2)]
        with pytest.raises(queue.Empty):
            s.get(timeout=0.2)


def test_paho_mqtt31(broker, pahos):
    """paho speaking MQTT 3.1 (MQIsdp)."""
    s = mk(pahos, broker.port, "p31", proto=paho.MQTTv31)
    s.sub("p31/t", 1)
    time.sleep(0.1)
    s.pub("p31/t", b"x", qos=1)
    assert s.get().payload == b"x"


def test_paho_persistent_session_offline(broker, pahos):
    """paho clean_session=False: messages published while it is away
    arrive when it comes back."""
    s = mk(pahos, broker.port, "ppers", clean=False)
    s.sub("pp/t", 1)
    time.sleep(0.2)
    s.stop()
    pahos.remove(s)
    pub = mk(pahos, broker.port, "ppers-pub")
    for i in range(3):
        pub.pub("pp/t", b"%d" % i, qos=1)
    s = Paho(broker.port, "ppers", clean=False)
    pahos.append(s)
    flags, rc = s.wait_connack()
    assert rc == 0 and flags.get("session present") == 1
    assert [s.get().payload for _ in range(3)] == [b"0", b"1", b"2"]


def test_paho_will(broker, pahos):
    """A paho will, fired by an abnormal close of a raw connection with
    the same will, seen by paho."""
    s = mk(pahos, broker.port, "pwsub")
    s.sub("pw/#", 0)
    time.sleep(0.1)
    w = m.connected(broker.port, "pwill", will=("pw/x", b"bye", 0, False))
    w.close()
    assert s.get().payload == b"bye"


def mosq_sub(port, *args, count=1):
    return subprocess.Popen(
        ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(port), "-C",
         str(count), "-W", "10", *args], stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)


def mosq_pub(port, *args):
    r = subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(port),
                        *args], capture_output=True, text=True, timeout=10)
    return r


def wait_subscribed(b, cid, topic):
    b.wait_segment("subscriptions", lambda v: any(
        s["client_id"] == cid and s["topic"] == topic
        for s in rows(v, "subscriptions")))


def test_mosquitto_pub_sub(broker):
    """mosquitto_sub sees what mosquitto_pub sends, QoS 0/1/2, and the
    segment counts the messages."""
    base = broker.metrics()
    sub = mosq_sub(broker.port, "-t", "mq/#", "-q", "2", "-i", "msub",
                   "-v", count=3)
    wait_subscribed(broker, "msub", "mq/#")
    for q in (0, 1, 2):
        r = mosq_pub(broker.port, "-t", "mq/%d" % q, "-m", "hello%d" % q,
                     "-q", str(q))
        assert r.returncode == 0, r.stderr
    out, err = sub.communicate(timeout=10)
    assert sub.returncode == 0, err
    assert sorted(out.split("\n")[:3]) == ["mq/0 hello0", "mq/1 hello1",
                                           "mq/2 hello2"]
    after = broker.wait_metric(
        "messages/received", lambda v: v >= base["messages/received"] + 3)
    assert after == base["messages/received"] + 3
    m2 = broker.metrics()
    for q in (0, 1, 2):
        k = "messages/qos%d/received" % q
        assert m2[k] == base[k] + 1, k


def test_mosquitto_retained(broker):
    """mosquitto_pub -r, then mosquitto_sub gets the retained message;
    -r -n deletes it."""
    assert mosq_pub(broker.port, "-t", "mr/t", "-m", "kept", "-r",
                    "-q", "1").returncode == 0
    sub = mosq_sub(broker.port, "-t", "mr/t", "-v")
    out, _ = sub.communicate(timeout=10)
    assert out.strip() == "mr/t kept"
    assert mosq_pub(broker.port, "-t", "mr/t", "-r", "-n").returncode == 0
    sub = mosq_sub(broker.port, "-t", "mr/t", "-v", "--retained-only",
                   "-W", "1")
    out, _ = sub.communicate(timeout=10)
    assert out.strip() == ""


def test_mosquitto_auth(broker_factory):
    """mosquitto_pub -u/-P against mqttd_auth_username: the right
    password publishes, a wrong one is refused (exit status != 0)."""
    b = broker_factory(start=False)
    uf = b.path("users.passwd")
    r = subprocess.run([build_path("mqttd-passwd"), uf, "mu"],
                       input="mu-pw\n", text=True, capture_output=True)
    assert r.returncode == 0, r.stderr
    b.extra_args = ["--username-file", uf]
    b.start()
    assert b.ctl({"cmd": "plugin", "name": "mqttd_auth_username",
                  "active": True}) == {"code": 0}
    ok = mosq_pub(b.port, "-t", "a", "-m", "x", "-u", "mu", "-P", "mu-pw")
    assert ok.returncode == 0, ok.stderr
    bad = mosq_pub(b.port, "-t", "a", "-m", "x", "-u", "mu", "-P", "nope")
    assert bad.returncode != 0


def test_mosquitto_sub_sees_ctl_publish(broker):
    """An API publish (control socket) reaches a mosquitto_sub."""
    sub = mosq_sub(broker.port, "-t", "api/t", "-i", "ms2")
    wait_subscribed(broker, "ms2", "api/t")
    assert broker.ctl({"cmd": "publish", "topic": "api/t",
                       "payload": "from-api", "qos": 1,
                       "retain": False})["code"] == 0
    out, _ = sub.communicate(timeout=10)
    assert out.strip() == "from-api"


def test_many_paho_clients_fanout(broker, pahos):
    """20 paho subscribers, 1 publisher, 20 QoS 1 messages: 400
    deliveries, messages/qos1/sent +400."""
    subs = [mk(pahos, broker.port, "fan%d" % i) for i in range(20)]
    for s in subs:
        s.sub("fan/t", 1)
    broker.wait_segment("subscriptions", lambda v: len(
        rows(v, "subscriptions")) == 20)
    base = broker.metrics()
    pub = mk(pahos, broker.port, "fanpub")
    for i in range(20):
        pub.pub("fan/t", b"%d" % i, qos=1)
    for s in subs:
        assert [s.get().payload for _ in range(20)] == \
            [b"%d" % i for i in range(20)]
    broker.wait_metric("messages/qos1/sent",
                       lambda v: v == base["messages/qos1/sent"] + 400)

