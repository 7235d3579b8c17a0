# SPDX-License-Identifier: BSD-2-Clause
"""Three mqttd nodes on one machine, one broker over NATS (issue 15).

Each test starts its own 3-node cluster (cluster_fixture.Cluster) with
free ports and temp dirs, drives it with real clients (paho,
mosquitto_pub / mosquitto_sub) and checks what a single node would give.
"""
import os
import signal
import subprocess
import threading
import time

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from cluster_fixture import Cluster


def topic_match(f, t):
    """MQTT 3.1.1 4.7 matching, with the '$' rule."""
    if t.startswith("$") and f[:1] in ("+", "#"):
        return False
    fl, tl = f.split("/"), t.split("/")
    for i, lv in enumerate(fl):
        if lv == "#":
            return True
        if i >= len(tl) or (lv != "+" and lv != tl[i]):
            return False
    return len(fl) == len(tl)


class Sub:
    """A paho client subscribed on one node, collecting (topic, payload,
    qos, props) tuples."""

    def __init__(self, port, filters, qos=1, client_id="", clean=True,
                 v5=False):
        self.msgs = []
        self.lock = threading.Lock()
        self.got = threading.Condition(self.lock)
        proto = mqtt.MQTTv5 if v5 else mqtt.MQTTv311
        if v5:
            self.c = mqtt.Client(client_id=client_id, protocol=proto)
        else:
            self.c = mqtt.Client(client_id=client_id, clean_session=clean,
                                 protocol=proto)
        self.c.on_message = self._on_message
        self.subacked = threading.Event()
        self.c.on_subscribe = lambda *a: self.subacked.set()
        self.c.connect("127.0.0.1", port, keepalive=30)
        self.c.loop_start()
        if filters:
            self.c.subscribe([(f, qos) for f in filters])
            assert self.subacked.wait(5), "no SUBACK"

    def _on_message(self, c, u, m):
        with self.lock:
            self.msgs.append((m.topic, m.payload, m.qos,
                              getattr(m, "properties", None)))
            self.got.notify_all()

    def wait(self, n, timeout=10.0):
        deadline = time.monotonic() + timeout
        with self.lock:
            while len(self.msgs) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.got.wait(left)
            return list(self.msgs)

    def take(self):
        """What came so far, without wait_interest's probes."""
        with self.lock:
            m, self.msgs = self.msgs, []
            return [x for x in m if x[1] != b"probe"]

    def close(self):
        self.c.disconnect()
        self.c.loop_stop()


def pub(port, topic, payload, qos=0, retain=False):
    subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(port),
                    "-t", topic, "-m", payload, "-q", str(qos)] +
                   (["-r"] if retain else []), check=True, timeout=10)


def wait_interest(c, from_node, sub, topic, timeout=10.0):
    """Publishes probes on `topic` from from_node until `sub` gets one
    (the subscription has reached every nats-server), then forgets them."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pub(c.nodes[from_node].port, topic, "probe")
        if any(m[1] == b"probe" for m in sub.wait(1, 0.3)):
            time.sleep(0.2)
            sub.take()
            return
    raise AssertionError("interest in %s never reached node %d" %
                         (topic, from_node + 1))


@pytest.fixture
def cluster():
    # A queue long enough for a burst of 10,000 QoS 1 messages to a
    # subscriber that acks slower than the publisher sends (one node
    # drops the oldest past max_queue alike).
    with Cluster(3, extra_args=["--max-queue", "20000"]) as c:
        yield c


FILTERS = ["w/a/b", "w/+/b", "w/#", "w/a/#", "+/a/b", "w/+", "#", "+/+/+",
           "w//b", "w/a.b c/#"]
TOPICS = ["w/a/b", "w/x/b", "w/a", "w", "w/a/b/c", "v/a/b", "w//b",
          "w/a.b c/d", "w/a.b c", "$w/a/b", "w/=/b", "w/é/b"]


def test_every_wildcard_form_across_nodes(cluster):
    """Each filter on node 2 or 3 gets exactly the topics it matches,
    published on node 1, once each."""
    subs = [Sub(cluster.nodes[1 + i % 2].port, [f])
            for i, f in enumerate(FILTERS)]
    for f, s in zip(FILTERS, subs):
        wait_interest(cluster, 0, s, next(
            t for t in TOPICS if topic_match(f, t)))
    for t in TOPICS:
        pub(cluster.nodes[0].port, t, "m:" + t, qos=1)
    pub(cluster.nodes[0].port, "w/end", "end", qos=1)
    time.sleep(1.0)
    for f, s in zip(FILTERS, subs):
        got = sorted(m[0] for m in s.take()
                     if m[1] not in (b"end", b"probe"))
        want = sorted(t for t in TOPICS if topic_match(f, t))
        assert got == want, (f, got, want)
        s.close()


def test_overlapping_filters_one_copy(cluster):
    """a/+ and a/# on node 2 are two NATS subscriptions, so node 2
    receives every message twice; each client still gets one copy, and a
    client with both filters gets what a publish on its own node gives."""
    n2 = cluster.nodes[1].port
    s1 = Sub(n2, ["ov/+"])
    s2 = Sub(n2, ["ov/#"])
    both = Sub(n2, ["ov/+", "ov/#"])
    wait_interest(cluster, 0, s1, "ov/x")
    wait_interest(cluster, 0, s2, "ov/x")
    both.take()
    assert sorted(cluster.subs_of(1)) == ["mq.ov", "mq.ov.*", "mq.ov.>"]
    for i in range(20):
        pub(cluster.nodes[0].port, "ov/x", str(i), qos=1)
    pub(n2, "ov/local", "local", qos=1)  # the reference: same node
    s1.wait(21)
    s2.wait(21)
    time.sleep(0.5)
    assert [m[1] for m in s1.take()] == [b"%d" % i for i in range(20)] + \
        [b"local"]
    assert [m[1] for m in s2.take()] == [b"%d" % i for i in range(20)] + \
        [b"local"]
    got = both.take()
    local = sum(1 for m in got if m[1] == b"local")
    assert local >= 1
    for i in range(20):
        assert sum(1 for m in got if m[1] == b"%d" % i) == local
    for s in (s1, s2, both):
        s.close()


def test_10000_numbered_messages_in_order(cluster):
    """10,000 QoS 1 messages from one publisher on node 1 reach two
    subscribers on node 2 (overlapping filters, so two NATS copies each)
    complete and in order."""
    n2 = cluster.nodes[1].port
    subs = []
    for f in ("seq/#", "seq/+"):
        p = subprocess.Popen(
            ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(n2), "-t", f,
             "-q", "1", "-C", "10001"], stdout=subprocess.PIPE, text=True)
        subs.append(p)
    probe = Sub(n2, ["seq/#"])
    wait_interest(cluster, 0, probe, "seq/probe")
    probe.close()
    # The subscribers have the probes too: they start counting after them.
    seq = "\n".join(str(i) for i in range(1, 10001)) + "\nend\n"
    subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p",
                    str(cluster.nodes[0].port), "-t", "seq/n", "-q", "1",
                    "-l"], input=seq, text=True, check=True, timeout=60)
    for p in subs:
        try:
            out, _ = p.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
            out, _ = p.communicate()
        lines = [ln for ln in out.split("\n") if ln and ln != "probe"]
        nums = [ln for ln in lines if ln != "end"]
        assert nums == [str(i) for i in range(1, 10001)][:len(nums)], \
            "out of order or duplicated"
        assert len(nums) == 10000, "lost %d" % (10000 - len(nums))


def test_refcounted_subscriptions(cluster):
    """One NATS subscription per distinct subject, however many local
    subscribers; gone with the last one.  a/# and a share mq.a."""
    n2 = cluster.nodes[1].port
    base = cluster.subs_of(1)
    s1 = Sub(n2, ["rc/x"])
    s2 = Sub(n2, ["rc/x", "rc/#"])
    time.sleep(0.3)
    assert sorted(cluster.subs_of(1)) == sorted(base + ["mq.rc.>",
                                                       "mq.rc.x"] +
                                                ["mq.rc"])
    wait_interest(cluster, 0, s1, "rc/x")
    s2.take()
    s1.c.unsubscribe("rc/x")
    time.sleep(0.3)
    # s2 still holds rc/x: the subject stays, and messages still come.
    assert "mq.rc.x" in cluster.subs_of(1)
    pub(cluster.nodes[0].port, "rc/x", "still", qos=1)
    assert [m[1] for m in s2.wait(1)] == [b"still"]
    time.sleep(0.3)  # one copy for both filters (issue 12, 8b)
    assert [m[1] for m in s2.take()] == [b"still"]
    s2.c.unsubscribe(["rc/x", "rc/#"])
    time.sleep(0.3)
    assert cluster.subs_of(1) == base
    s1.close()
    s2.close()


def test_qos_and_offline_session(cluster):
    """QoS 2 published on node 1 reaches a QoS 2 subscriber on node 3 with
    QoS 2; QoS 1 messages for an offline persistent session on node 3 are
    queued there and delivered with QoS 1 when it comes back."""
    n3 = cluster.nodes[2].port
    s = Sub(n3, ["q/#"], qos=2)
    wait_interest(cluster, 0, s, "q/probe")
    pub(cluster.nodes[0].port, "q/two", "two", qos=2)
    pub(cluster.nodes[0].port, "q/zero", "zero", qos=0)
    got = s.wait(2)
    assert sorted((m[0], m[2]) for m in got) == [("q/two", 2),
                                                  ("q/zero", 0)]
    s.close()
    p = Sub(n3, ["off/#"], qos=1, client_id="persist", clean=False)
    wait_interest(cluster, 0, p, "off/probe")
    p.close()
    time.sleep(0.3)
    for i in range(5):
        pub(cluster.nodes[0].port, "off/m", str(i), qos=1)
    time.sleep(0.5)
    p = Sub(n3, None, client_id="persist", clean=False)
    got = p.wait(5)
    assert [(m[1], m[2]) for m in got] == [(b"%d" % i, 1) for i in range(5)]
    p.close()


def test_v5_properties_cross_node(cluster):
    """User properties and the content type travel with the message; the
    Message Expiry left is forwarded."""
    s = Sub(cluster.nodes[1].port, ["v5/#"], v5=True)
    wait_interest(cluster, 0, s, "v5/probe")
    c = mqtt.Client(client_id="", protocol=mqtt.MQTTv5)
    c.connect("127.0.0.1", cluster.nodes[0].port)
    c.loop_start()
    props = Properties(PacketTypes.PUBLISH)
    props.UserProperty = [("k", "v")]
    props.ContentType = "text/x"
    props.MessageExpiryInterval = 60
    c.publish("v5/x", b"p", qos=1, properties=props).wait_for_publish(5)
    got = s.wait(1)
    c.disconnect()
    c.loop_stop()
    assert len(got) == 1
    p = got[0][3]
    assert p.UserProperty == [("k", "v")]
    assert p.ContentType == "text/x"
    assert 55 <= p.MessageExpiryInterval <= 60
    s.close()


def test_bad_frames_are_dropped(cluster):
    """Bytes on a mq.* subject that are not our frame (anyone on the NATS
    account can publish) are dropped; the node keeps serving."""
    import socket
    s = Sub(cluster.nodes[1].port, ["bad/#"])
    wait_interest(cluster, 0, s, "bad/probe")
    with socket.create_connection(("127.0.0.1",
                                   cluster.nats[0].port)) as n:
        n.recv(4096)  # INFO
        n.sendall(b'CONNECT {"verbose":false}\r\n')
        for subj, data in ((b"mq.bad.x", b"junk"),
                           (b"mq.bad.x", b"\xc1\x01\x03" + b"\0" * 28),
                           (b"mq.bad..x", b"\xc1\x01\x00" + b"\0" * 28),
                           (b"mq.bad.=2F", b"\xc1\x01\x00" + b"\0" * 28)):
            n.sendall(b"PUB %s %d\r\n%s\r\n" % (subj, len(data), data))
        n.sendall(b"PING\r\n")
        n.recv(4096)
    pub(cluster.nodes[0].port, "bad/ok", "ok")
    got = s.wait(1)
    time.sleep(0.3)
    assert [m[0] for m in s.take()] == ["bad/ok"]
    s.close()
    assert cluster.nodes[1].running()


def test_nats_server_down_node_moves(cluster):
    """The nats-server of node 2 dies: node 2's mqttd reconnects to
    another one and cross-node messages flow again."""
    s = Sub(cluster.nodes[1].port, ["fail/#"])
    wait_interest(cluster, 0, s, "fail/probe")
    cluster.nats[1].stop(signal.SIGKILL)
    j = cluster.wait_connected(1)
    assert j != 1
    wait_interest(cluster, 0, s, "fail/probe", timeout=15)
    pub(cluster.nodes[0].port, "fail/after", "after", qos=1)
    assert [m[1] for m in s.wait(1)] == [b"after"]
    s.close()


def test_node_killed_others_keep_serving(cluster):
    """mqttd of node 3 is killed with -9: nodes 1 and 2 go on."""
    s = Sub(cluster.nodes[1].port, ["k/#"])
    wait_interest(cluster, 0, s, "k/probe")
    os.kill(cluster.nodes[2].proc.pid, signal.SIGKILL)
    cluster.nodes[2].proc.wait()
    cluster.nodes[2].proc = None
    pub(cluster.nodes[0].port, "k/x", "x", qos=1)
    assert [m[1] for m in s.wait(1)] == [b"x"]
    s.close()


def wait_retained(port, topic, want, timeout=15.0):
    """Subscribes on port until the retained message of topic is `want`
    (None: none), each try a fresh client; returns what came last."""
    deadline = time.monotonic() + timeout
    got = "never"
    while time.monotonic() < deadline:
        r = subprocess.run(["mosquitto_sub", "-h", "127.0.0.1", "-p",
                            str(port), "-t", topic, "-C", "1", "-W", "1",
                            "--retained-only"],
                           capture_output=True, text=True, timeout=10)
        got = r.stdout.rstrip("\n") if r.stdout else None
        if got == want:
            return got
        time.sleep(0.2)
    return got


def test_retained_across_nodes(cluster):
    """A retained message published on node 1 is served by every node to
    a later subscriber, also by a node restarted afterwards (it reads the
    bucket); an empty payload deletes it everywhere; the last of two
    publishes from two nodes wins everywhere."""
    n1, n2, n3 = (n.port for n in cluster.nodes)
    pub(n1, "ret/a", "first", qos=1, retain=True)
    assert wait_retained(n2, "ret/a", "first") == "first"
    assert wait_retained(n3, "ret/a", "first") == "first"
    # Wildcard subscribe matches it locally too.
    assert wait_retained(n3, "ret/+", "first") == "first"
    pub(n3, "ret/a", "second", qos=1, retain=True)
    for p in (n1, n2, n3):
        assert wait_retained(p, "ret/a", "second") == "second"
    # A node that was down while it changed.
    cluster.nodes[1].stop()
    pub(n1, "ret/b", "while-down", qos=1, retain=True)
    cluster.nodes[1].start()
    cluster.wait_connected(1)
    assert wait_retained(cluster.nodes[1].port, "ret/b",
                         "while-down") == "while-down"
    # Deleted by an empty payload, everywhere.
    subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(n1),
                    "-t", "ret/a", "-r", "-n"], check=True, timeout=10)
    for n in cluster.nodes:
        assert wait_retained(n.port, "ret/a", None) is None
