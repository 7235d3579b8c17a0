# SPDX-License-Identifier: BSD-2-Clause
"""MQTT 5.0 with independent client libraries: paho-mqtt 1.6
(protocol=MQTTv5) and mosquitto_pub/sub -V mqttv5, and v3 <-> v5 interop
through the same broker."""
import queue
import subprocess
import time

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from broker_fixture import broker, broker_factory  # noqa: F401

T = 5.0


class Paho:
    """A paho client on its own network thread, events as queues."""

    def __init__(self, port, cid, protocol=mqtt.MQTTv5, clean_start=True,
                 props=None, will=None):
        self.msgs = queue.Queue()
        self.connacks = queue.Queue()
        self.subacks = queue.Queue()
        self.disconnects = queue.Queue()
        self.c = mqtt.Client(client_id=cid, protocol=protocol)
        self.c.on_message = lambda c, u, m: self.msgs.put(m)
        self.v5 = protocol == mqtt.MQTTv5
        if self.v5:
            self.c.on_connect = (lambda c, u, f, rc, p=None:
                                 self.connacks.put((f, rc, p)))
            self.c.on_subscribe = (lambda c, u, mid, rcs, p=None:
                                   self.subacks.put(rcs))
            self.c.on_disconnect = (lambda c, u, rc, p=None:
                                    self.disconnects.put(rc))
        else:
            self.c.on_connect = (lambda c, u, f, rc:
                                 self.connacks.put((f, rc, None)))
            self.c.on_subscribe = (lambda c, u, mid, q:
                                   self.subacks.put(q))
        if will:
            self.c.will_set(**will)
        kw = {}
        if self.v5:
            kw = {"clean_start": clean_start, "properties": props}
        self.c.connect("127.0.0.1", port, keepalive=30, **kw)
        self.c.loop_start()
        self.flags, self.rc, self.props = self.connacks.get(timeout=T)

    def sub(self, topic, qos=0, **opts):
        if self.v5:
            self.c.subscribe(topic, options=SubscribeOptions(qos=qos, **opts))
        else:
            self.c.subscribe(topic, qos)
        return self.subacks.get(timeout=T)

    def msg(self, timeout=T):
        return self.msgs.get(timeout=timeout)

    def nothing(self, wait=0.4):
        try:
            m = self.msgs.get(timeout=wait)
        except queue.Empty:
            return
        raise AssertionError("unexpected message %r %r" % (m.topic,
                                                         m.payload))

    def pub(self, topic, payload, qos=0, retain=False, props=None):
        info = self.c.publish(topic, payload, qos=qos, retain=retain,
                              properties=props)
        info.wait_for_publish(timeout=T)
        assert info.is_published()

    def close(self):
        self.c.disconnect()
        self.c.loop_stop()


def test_paho_v5_connect_and_connack_properties(broker):
    c = Paho(broker.port, "pv5")
    assert c.rc == 0
    assert c.props.ReceiveMaximum == 32
    assert c.props.TopicAliasMaximum == 10
    # Shared subscriptions are available: the property is left out.
    assert not hasattr(c.props, "SharedSubscriptionAvailable")
    assert broker.client("pv5")["proto_ver"] == 5
    c.close()


def test_paho_v5_publish_properties_roundtrip(broker):
    s = Paho(broker.port, "pv5s")
    assert [r.getName() for r in s.sub("pp/#", 1)] == ["Granted QoS 1"]
    p = Paho(broker.port, "pv5p")
    pr = Properties(PacketTypes.PUBLISH)
    pr.UserProperty = [("a", "1"), ("b", "2")]
    pr.ContentType = "application/json"
    pr.ResponseTopic = "pp/reply"
    pr.CorrelationData = b"\x01\x02"
    pr.PayloadFormatIndicator = 1
    pr.MessageExpiryInterval = 60
    p.pub("pp/x", b"{}", qos=1, props=pr)
    m = s.msg()
    assert (m.topic, m.payload, m.qos) == ("pp/x", b"{}", 1)
    assert m.properties.UserProperty == [("a", "1"), ("b", "2")]
    assert m.properties.ContentType == "application/json"
    assert m.properties.ResponseTopic == "pp/reply"
    assert m.properties.CorrelationData == b"\x01\x02"
    assert m.properties.PayloadFormatIndicator == 1
    assert 58 <= m.properties.MessageExpiryInterval <= 60
    p.close()
    s.close()


def test_paho_v5_no_local_and_retain_as_published(broker):
    c = Paho(broker.port, "pnl")
    c.sub("nlp/t", 0, noLocal=True)
    c.sub("rapp/t", 0, retainAsPublished=True)
    c.pub("nlp/t", b"self")
    c.nothing()
    c.pub("rapp/t", b"r", retain=True)
    m = c.msg()
    assert m.retain and m.payload == b"r"
    c.close()


def test_paho_v5_retain_handling_never(broker):
    p = Paho(broker.port, "prh")
    p.pub("prh/t", b"old", qos=1, retain=True)
    s = Paho(broker.port, "prhs")
    s.sub("prh/t", 0, retainHandling=SubscribeOptions.RETAIN_DO_NOT_SEND)
    s.nothing()
    s.sub("prh/u", 0)
    p.pub("prh/t", b"new", qos=1)
    assert s.msg().payload == b"new"
    p.close()
    s.close()


def test_paho_v5_session_expiry_resume(broker):
    pr = Properties(PacketTypes.CONNECT)
    pr.SessionExpiryInterval = 300
    c = Paho(broker.port, "pse", clean_start=True, props=pr)
    c.sub("pse/t", 1)
    c.close()
    p = Paho(broker.port, "psep")
    p.pub("pse/t", b"while away", qos=1)
    c = Paho(broker.port, "pse", clean_start=False, props=pr)
    assert c.flags["session present"] == 1
    assert c.msg().payload == b"while away"
    c.close()
    p.close()


def test_paho_v5_takeover_reason(broker):
    a = Paho(broker.port, "ptk")
    Paho(broker.port, "ptk")
    rc = a.disconnects.get(timeout=T)
    assert rc == 0x8E or getattr(rc, "value", None) == 0x8E


def test_interop_v5_publisher_v3_subscriber(broker):
    s3 = Paho(broker.port, "i3s", protocol=mqtt.MQTTv311)
    assert s3.sub("io/a", 2) == (2,)
    p5 = Paho(broker.port, "i5p")
    pr = Properties(PacketTypes.PUBLISH)
    pr.UserProperty = [("k", "v")]
    p5.pub("io/a", b"five to three", qos=2, props=pr)
    m = s3.msg()
    assert (m.topic, m.payload, m.qos) == ("io/a", b"five to three", 2)
    s3.close()
    p5.close()


def test_interop_v3_publisher_v5_subscriber(broker):
    s5 = Paho(broker.port, "i5s")
    s5.sub("io/b", 1)
    p3 = Paho(broker.port, "i3p", protocol=mqtt.MQTTv311)
    p3.pub("io/b", b"three to five", qos=1, retain=True)
    m = s5.msg()
    assert (m.topic, m.payload, m.qos) == ("io/b", b"three to five", 1)
    assert not m.retain
    s5.close()
    p3.close()


def mosq(tool, port, *args):
    return [tool, "-V", "mqttv5", "-h", "127.0.0.1", "-p", str(port)] + \
        list(args)


def test_mosquitto_v5_pub_sub(broker):
    sub = subprocess.Popen(
        mosq("mosquitto_sub", broker.port, "-t", "mq5/#", "-C", "1",
             "-W", "10", "-F", "%t|%p|%C|%R|%P"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + T
    while not any(s["topic"] == "mq5/#" for s in broker.subscriptions()):
        assert time.monotonic() < deadline, "mosquitto_sub not subscribed"
        time.sleep(0.05)
    subprocess.run(
        mosq("mosquitto_pub", broker.port, "-t", "mq5/x", "-m", "hi",
             "-q", "1", "-D", "publish", "content-type", "text/plain",
             "-D", "publish", "response-topic", "mq5/r",
             "-D", "publish", "user-property", "k", "v"),
        check=True, timeout=10)
    out, err = sub.communicate(timeout=15)
    assert sub.returncode == 0, err
    assert out.strip() == "mq5/x|hi|text/plain|mq5/r|k:v"


def test_mosquitto_v5_will_delay_and_paho_observer(broker):
    """A mosquitto_sub v5 client with a will (delay 0) killed hard: the
    will reaches a paho v5 subscriber."""
    w = Paho(broker.port, "mwobs")
    w.sub("mw/will", 0)
    sub = subprocess.Popen(
        mosq("mosquitto_sub", broker.port, "-t", "mw/none", "-i", "mwc",
             "--will-topic", "mw/will", "--will-payload", "dead"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + T
    while broker.client("mwc") is None:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert broker.client("mwc")["proto_ver"] == 5
    sub.kill()
    sub.wait()
    assert w.msg().payload == b"dead"
    w.close()


def test_paho_v5_subscription_identifier(broker):
    c = Paho(broker.port, "psid")
    sp = Properties(PacketTypes.SUBSCRIBE)
    sp.SubscriptionIdentifier = 42
    c.c.subscribe("psid/t", options=SubscribeOptions(qos=1), properties=sp)
    c.subacks.get(timeout=T)
    c.pub("psid/t", b"x", qos=1)
    m = c.msg()
    assert m.properties.SubscriptionIdentifier == [42]
    c.close()
