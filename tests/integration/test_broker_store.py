# SPDX-License-Identifier: BSD-2-Clause
"""The durable store (issue 11): what mqttd acknowledged survives SIGTERM
and kill -9, a damaged store is moved aside and the broker starts anyway,
a full disk refuses persistent QoS 1/2 publishes without stalling anything
else and recovers by itself, and persistence off is today's broker."""
import glob
import json
import os
import shutil
import socket
import struct
import subprocess
import tempfile
import threading
import time

import pytest

import mqtt_raw as m
from broker_fixture import broker_factory  # noqa: F401
from test_broker_v5_raw import connect5, p_u32, publish5

PERSIST = ["--persistence", "--persistence-sync", "commit"]


def drain(c, ack=True, quiet=1.0):
    """Every PUBLISH until quiet seconds pass without one (acking)."""
    got = []
    while True:
        try:
            p = c.recv(quiet)
        except (TimeoutError, socket.timeout):
            return got
        if p.type == m.PUBLISH:
            got.append(p)
            if ack and p.qos == 1:
                c.send(m.ack(m.PUBACK, p.pid))
            elif ack and p.qos == 2:
                c.send(m.ack(m.PUBREC, p.pid))
        elif p.type == m.PUBREL and ack:
            c.send(m.ack(m.PUBCOMP, p.pid))


def kill9(b):
    b.proc.kill()
    b.proc.wait()
    b.proc = None


def test_sigterm_restart_keeps_retained_sessions_queues(broker_factory):
    b = broker_factory(extra_args=PERSIST)
    pub = m.connected(b.port, "p1")
    for i, q in enumerate((0, 1, 2)):
        pid = i + 1
        pub.send(m.publish("ret/%d" % q, b"r%d" % q, qos=q, retain=True,
                           pid=pid if q else None))
        if q == 1:
            assert pub.expect(m.PUBACK).pid == pid
        elif q == 2:
            assert pub.expect(m.PUBREC).pid == pid
            pub.send(m.ack(m.PUBREL, pid))
            assert pub.expect(m.PUBCOMP).pid == pid
    sub = m.connected(b.port, "keep", clean=False)
    assert sub.subscribe(("q/1", 1), ("q/2", 2), ("q/+/w", 1)) == [1, 2, 1]
    sub.send(m.disconnect())
    sub.close()
    for i in range(5):
        pub.send(m.publish("q/1", b"one%d" % i, qos=1, pid=10 + i))
        assert pub.expect(m.PUBACK).pid == 10 + i
        pub.send(m.publish("q/2", b"two%d" % i, qos=2, pid=20 + i))
        assert pub.expect(m.PUBREC).pid == 20 + i
        pub.send(m.ack(m.PUBREL, 20 + i))
        assert pub.expect(m.PUBCOMP).pid == 20 + i
    pub.close()
    b.stop()
    # Offline: the store checks out, and its dump shows what it holds.
    ctl = [os.path.join(os.environ["MQTTD_BUILDDIR"], "mqttdctl"),
           "--state-dir", b.state_dir, "store"]
    r = subprocess.run(ctl + ["check"], capture_output=True, text=True)
    assert r.returncode == 0 and '"result":"ok"' in r.stdout, r
    r = subprocess.run(ctl + ["dump"], capture_output=True, text=True)
    recs = [json.loads(ln) for ln in r.stdout.splitlines()]
    assert r.returncode == 0 and all(x["valid"] for x in recs)
    keep = [x for x in recs if x.get("client_id") == "keep"
            and x["db"] == "sessions"][0]
    assert len(keep["subscriptions"]) == 3
    # Format 2: one record per queued message, in queue order.
    kept = [x for x in recs if x["db"] == "messages"
            and x["client_id"] == "keep"]
    assert [x["seq"] for x in kept] == list(range(1, 11))
    assert [x["topic"] for x in kept] == ["q/1", "q/2"] * 5
    assert sorted(x["topic"] for x in recs if x["db"] == "retained") == [
        "ret/0", "ret/1", "ret/2"]
    b.start()
    assert "3 retained, 1 sessions loaded" in b.stderr()
    fig = b.segment("store")
    # 3 retained, 1 session, its 10 queued messages
    assert fig["enabled"] == 1 and fig["records_loaded"] == 14
    assert fig["size_bytes"] > 0 and fig["corrupt_events"] == 0
    # The segment shows the restored session (offline) and the retained.
    b.wait_segment("sessions", lambda v: b.session("keep") is not None)
    assert b.stats()["retained/count"] >= 3
    assert len([s for s in b.subscriptions()
                if s.get("client_id") == "keep"]) == 3
    sub = m.Client(b.port)
    assert sub.connect("keep", clean=False).session_present == 1
    got = drain(sub)
    assert [p.payload for p in got if p.topic == "q/1"] == [
        b"one%d" % i for i in range(5)]
    assert [p.payload for p in got if p.topic == "q/2"] == [
        b"two%d" % i for i in range(5)]
    assert all(p.qos == 2 for p in got if p.topic == "q/2")
    # Subscriptions came back too: a new message is routed.
    pub = m.connected(b.port, "p2")
    pub.send(m.publish("q/x/w", b"new", qos=1, pid=1))
    pub.expect(m.PUBACK)
    assert sub.expect(m.PUBLISH).payload == b"new"
    r = m.connected(b.port, "r")
    assert r.subscribe(("ret/#", 0)) == [0]
    assert sorted(p.payload for p in drain(r, quiet=0.5)) == [
        b"r0", b"r1", b"r2"]


def test_qos2_exactly_once_across_restart(broker_factory):
    """Incoming: PUBREC'd before the stop, PUBREL after it: delivered once.
    Outgoing: PUBREC'd by the subscriber before the stop: after it the
    broker resumes with PUBREL, never the PUBLISH again."""
    b = broker_factory(extra_args=PERSIST)
    sub = m.connected(b.port, "s2", clean=False)
    assert sub.subscribe(("x2", 2)) == [2]
    sub.send(m.disconnect())
    sub.close()
    pub = m.connected(b.port, "p2", clean=False)
    pub.send(m.publish("x2", b"once", qos=2, pid=7))
    assert pub.expect(m.PUBREC).pid == 7
    pub.close()
    b.restart()
    pub = m.Client(b.port)
    assert pub.connect("p2", clean=False).session_present == 1
    # A retry of the PUBLISH (DUP) is still known: acked, not routed.
    pub.send(m.publish("x2", b"once", qos=2, pid=7, dup=True))
    assert pub.expect(m.PUBREC).pid == 7
    pub.send(m.ack(m.PUBREL, 7))
    assert pub.expect(m.PUBCOMP).pid == 7
    sub = m.Client(b.port)
    sub.connect("s2", clean=False)
    p = sub.expect(m.PUBLISH)
    assert (p.payload, p.qos) == (b"once", 2)
    sub.send(m.ack(m.PUBREC, p.pid))
    assert sub.expect(m.PUBREL).pid == p.pid
    sub.close()  # PUBREC sent, PUBCOMP not: outgoing state is PUBCOMP
    time.sleep(0.3)
    b.restart()
    sub = m.Client(b.port)
    sub.connect("s2", clean=False)
    rel = sub.expect(m.PUBREL)
    assert rel.pid == p.pid
    sub.send(m.ack(m.PUBCOMP, rel.pid))
    assert drain(sub, quiet=0.5) == []


class Publisher(threading.Thread):
    """QoS 1 with up to `window` PUBLISHes in flight; records the sequence
    numbers the broker acknowledged, until the connection dies."""

    def __init__(self, port, n, topic, retain=False, window=32):
        super().__init__(daemon=True)
        self.port, self.n, self.topic = port, n, topic
        self.retain, self.window = retain, window
        self.acked = []
        self.sent = {}

    def run(self):
        try:
            c = m.connected(self.port, "kpub%d" % self.n)
            seq, pid = 0, 0
            while True:
                while len(self.sent) < self.window:
                    seq += 1
                    pid = pid % 65535 + 1
                    self.sent[pid] = seq
                    c.send(m.publish(self.topic, b"%d:%d" % (self.n, seq),
                                     qos=1, pid=pid, retain=self.retain))
                p = c.recv(5)
                if p.type == m.PUBACK:
                    self.acked.append(self.sent.pop(p.pid))
        except Exception:
            return


def test_kill9_under_qos1_load_loses_nothing_acked(broker_factory):
    b = broker_factory(extra_args=PERSIST + ["--max-queue", "1000000"])
    sub = m.connected(b.port, "ksub", clean=False)
    assert sub.subscribe(("load/#", 1)) == [1]
    sub.send(m.disconnect())
    sub.close()
    pubs = [Publisher(b.port, i, "load/%d" % i) for i in range(4)]
    rets = [Publisher(b.port, 10 + i, "ret/%d" % i, retain=True)
            for i in range(2)]
    for p in pubs + rets:
        p.start()
    time.sleep(1.5)
    kill9(b)
    for p in pubs + rets:
        p.join(10)
    assert all(len(p.acked) > 50 for p in pubs + rets), [
        len(p.acked) for p in pubs + rets]
    b.start()
    sub = m.Client(b.port, timeout=10)
    assert sub.connect("ksub", clean=False).session_present == 1
    got = drain(sub, quiet=2.0)
    seen = {}
    for p in got:
        n, seq = p.payload.split(b":")
        seen.setdefault(int(n), set()).add(int(seq))
    for p in pubs:
        missing = set(p.acked) - seen.get(p.n, set())
        assert not missing, "publisher %d: %d acked, %d missing (%s...)" % (
            p.n, len(p.acked), len(missing), sorted(missing)[:5])
    # Retained: at least the last acknowledged value of each topic.
    r = m.connected(b.port, "kret")
    assert r.subscribe(("ret/#", 0)) == [0]
    last = {int(p.payload.split(b":")[0]): int(p.payload.split(b":")[1])
            for p in drain(r, quiet=0.5)}
    for p in rets:
        assert last.get(p.n, 0) >= max(p.acked), (p.n, last, max(p.acked))


def store_with_data(broker_factory):
    b = broker_factory(extra_args=PERSIST)
    pub = m.connected(b.port, "cp")
    pub.send(m.publish("damage/me", b"MARKERMARKERMARKER", qos=1, pid=1,
                       retain=True))
    pub.expect(m.PUBACK)
    pub.close()
    b.stop()
    return b, os.path.join(b.state_dir, "store")


def assert_moved_aside(b, why):
    r = subprocess.run([os.path.join(os.environ["MQTTD_BUILDDIR"],
                                     "mqttdctl"), "--state-dir", b.state_dir,
                        "store", "check"], capture_output=True, text=True)
    assert r.returncode == 1 and '"result":"ok"' not in r.stdout, r
    b.start()
    assert b.segment("store")["corrupt_events"] == 1
    err = b.stderr()
    assert "moved aside to" in err and why in err, err[-2000:]
    assert glob.glob(os.path.join(b.state_dir, "store.corrupt.*"))
    # Started empty, and works: retained is gone, new ones persist.
    r = m.connected(b.port, "after")
    assert r.subscribe(("damage/#", 0)) == [0]
    assert drain(r, quiet=0.3) == []
    w = m.connected(b.port, "writer")
    w.send(m.publish("damage/new", b"x", qos=1, pid=3, retain=True))
    w.expect(m.PUBACK)
    b.restart()
    r = m.connected(b.port, "after2")
    r.subscribe(("damage/#", 0))
    assert [p.payload for p in drain(r, quiet=0.3)] == [b"x"]


def test_truncated_store_is_moved_aside(broker_factory):
    b, store = store_with_data(broker_factory)
    data = os.path.join(store, "data.mdb")
    with open(data, "r+b") as f:
        f.truncate(os.path.getsize(data) // 2)
    assert_moved_aside(b, "failed validation")


def test_flipped_byte_is_moved_aside(broker_factory):
    b, store = store_with_data(broker_factory)
    data = os.path.join(store, "data.mdb")
    raw = bytearray(open(data, "rb").read())
    at = raw.find(b"MARKERMARKER")
    assert at > 0
    raw[at + 3] ^= 0x01
    open(data, "wb").write(raw)
    assert_moved_aside(b, "failed validation")


def test_future_version_is_moved_aside(broker_factory):
    b, store = store_with_data(broker_factory)
    data = os.path.join(store, "data.mdb")
    raw = open(data, "rb").read()
    assert b"format\x02\x00\x00\x00" in raw
    open(data, "wb").write(raw.replace(b"format\x02\x00\x00\x00",
                                       b"format\x07\x00\x00\x00"))
    assert_moved_aside(b, "newer version")


def test_unopenable_store_is_moved_aside(broker_factory):
    b, store = store_with_data(broker_factory)
    shutil.rmtree(store)
    with open(store, "w") as f:  # a file where the directory should be
        f.write("not a store\n")
    assert_moved_aside(b, "cannot be opened")


def test_persistence_off_is_todays_broker(broker_factory):
    b = broker_factory(extra_args=["--persistence", "--persistence-sync",
                                   "off"])
    pub = m.connected(b.port, "p")
    pub.send(m.publish("t", b"v", qos=1, pid=1, retain=True))
    pub.expect(m.PUBACK)
    b.restart()
    assert not os.path.exists(os.path.join(b.state_dir, "store"))
    r = m.connected(b.port, "r")
    r.subscribe(("t", 0))
    assert drain(r, quiet=0.3) == []
    b.restart(extra_args=[])  # no flag at all: the same
    assert not os.path.exists(os.path.join(b.state_dir, "store"))


@pytest.fixture
def small_fs():
    d = tempfile.mkdtemp(prefix="mqttd-full-")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", d],
                       capture_output=True, text=True)
    assert r.returncode == 0, "mount tmpfs: %s" % r.stderr
    yield d
    subprocess.run(["umount", "-l", d])
    os.rmdir(d)


def fill(path):
    """Writes a file until the filesystem is full."""
    with open(path, "wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass
        try:
            os.fsync(f.fileno())
        except OSError:
            pass


def test_disk_full_refuses_then_recovers(broker_factory, small_fs):
    b = broker_factory(extra_args=PERSIST + ["--persistence-dir", small_fs,
                                             "--max-queue", "100000"])
    sub = m.connected(b.port, "full-sub", clean=False)
    assert sub.subscribe(("big/#", 1)) == [1]
    sub.send(m.disconnect())
    sub.close()
    live = m.connected(b.port, "live")  # clean, online: QoS 0 flows
    assert live.subscribe(("zero", 0)) == [0]
    fill(os.path.join(small_fs, "filler"))
    p5 = m.Client(b.port)
    p5.send(connect5("p5"))
    assert p5.expect(m.CONNACK).body[1] == 0
    payload = b"B" * 65536
    codes = []
    for i in range(8):
        p5.send(publish5("big/5", payload, qos=1, pid=i + 1))
        a = p5.expect(m.PUBACK, timeout=10)
        codes.append(a.body[2] if len(a.body) > 2 else 0)
    assert 0x97 in codes, codes
    # QoS 0 to an online client and the control socket do not stall.
    t0 = time.monotonic()
    q0 = m.connected(b.port, "q0")
    q0.send(m.publish("zero", b"z"))
    assert live.expect(m.PUBLISH).payload == b"z"
    assert b.ctl({"cmd": "ping"})["code"] == 0
    assert time.monotonic() - t0 < 2
    # v3: a persistent QoS 1 publish that cannot be stored closes it.
    p3 = m.connected(b.port, "p3")
    p3.send(m.publish("big/3", payload, qos=1, pid=1))
    p3.expect_closed(timeout=10)
    assert "commit failed" in b.stderr()
    # Space returns: the next publishes are stored and acknowledged.
    os.unlink(os.path.join(small_fs, "filler"))
    p5.send(publish5("big/5", b"small", qos=1, pid=100))
    a = p5.expect(m.PUBACK, timeout=10)
    assert len(a.body) == 2 or a.body[2] == 0, a
    assert "commits succeed again" in b.stderr()
    assert b.segment("store")["disk_full_errors"] >= 1
    b.restart()
    sub = m.Client(b.port, timeout=10)
    sub.connect("full-sub", clean=False)
    got = drain(sub)
    assert got and got[-1].payload == b"small", b.stderr()[-3000:]


def test_v5_session_expiry_and_will_survive(broker_factory):
    """A v5 session with Session Expiry and a delayed will: both come
    back; the will is published when its delay passes after the restart."""
    b = broker_factory(extra_args=PERSIST)
    w = m.connected(b.port, "wsub")
    assert w.subscribe(("will/t", 0)) == [0]
    c = m.Client(b.port)
    c.send(connect5("v5s", clean=True, cprops=p_u32(0x11, 300),
                    will=("will/t", b"gone", 0, False, p_u32(0x18, 2))))
    assert c.expect(m.CONNACK).body[1] == 0
    c.close()  # abnormal end: the will waits 2 s
    time.sleep(0.3)
    b.restart()
    w = m.connected(b.port, "wsub")
    assert w.subscribe(("will/t", 0)) == [0]
    assert w.expect(m.PUBLISH, timeout=5).payload == b"gone"


def publish_all(port, cid, topic, n, window=100):
    """QoS 1, payloads b"0".."n-1", up to window in flight; returns once
    every one was PUBACKed (so each is on disk)."""
    c = m.connected(port, cid)
    sent = acked = 0
    while acked < n:
        while sent < n and sent - acked < window:
            c.send(m.publish(topic, b"%d" % sent, qos=1,
                             pid=sent % 65535 + 1))
            sent += 1
        assert c.expect(m.PUBACK, timeout=30).pid is not None
        acked += 1
    c.close()


def test_kill9_queue_of_20000_survives_in_order(broker_factory):
    b = broker_factory(extra_args=PERSIST + ["--max-queue", "100000"])
    sub = m.connected(b.port, "q20k", clean=False)
    assert sub.subscribe(("big/#", 1)) == [1]
    sub.send(m.disconnect())
    sub.close()
    publish_all(b.port, "p20k", "big/t", 20000)
    kill9(b)
    b.start()
    assert "20000 queued messages" in b.stderr()
    sub = m.Client(b.port, timeout=10)
    assert sub.connect("q20k", clean=False).session_present == 1
    got = [int(p.payload) for p in drain(sub, quiet=2.0)]
    assert got == list(range(20000)), (len(got), got[:3], got[-3:])


def test_kill9_after_partial_delivery_redelivers_exactly_the_rest(
        broker_factory):
    b = broker_factory(extra_args=PERSIST + ["--max-queue", "100000"])
    sub = m.connected(b.port, "part", clean=False)
    assert sub.subscribe(("part/#", 1)) == [1]
    sub.send(m.disconnect())
    sub.close()
    publish_all(b.port, "ppart", "part/t", 1000)
    sub = m.Client(b.port, timeout=10)
    assert sub.connect("part", clean=False).session_present == 1
    seen = []
    while len(seen) < 300:  # ack 300; the window holds more, unacked
        p = sub.expect(m.PUBLISH)
        seen.append(int(p.payload))
        sub.send(m.ack(m.PUBACK, p.pid))
    assert seen == list(range(300))
    time.sleep(1.0)  # the acks' deletes are committed
    kill9(b)
    sub.close()
    b.start()
    sub = m.Client(b.port, timeout=10)
    assert sub.connect("part", clean=False).session_present == 1
    got = drain(sub, quiet=2.0)
    assert [int(p.payload) for p in got] == list(range(300, 1000))
    # Those that were in flight come back as resends (DUP), the rest new.
    assert got[0].dup and not got[-1].dup


def crc32c(data):
    crc = 0xFFFFFFFF
    for x in data:
        crc ^= x
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF


def rec(rtype, body):
    """A record of mq_store_rec.h: header, CRC-32C of the body."""
    return (b"MQR\x01" + bytes([rtype, 0, 0, 0])
            + struct.pack("<II", len(body), crc32c(body)) + body)


def rmsg(topic, payload, qos, retain=False):
    t = topic.encode()
    return (struct.pack("<BBQH", qos, retain, 0, len(t)) + t
            + struct.pack("<I", len(payload)) + payload
            + struct.pack("<I", 0))


def test_format1_store_is_converted(broker_factory):
    """A store the format-1 broker wrote (a session's queue and window
    inside its record), built here byte by byte: loaded, converted to
    one record per message in one transaction, delivered in order."""
    import lmdb
    b = broker_factory(extra_args=PERSIST)
    b.stop()
    store = os.path.join(b.state_dir, "store")
    shutil.rmtree(store)
    os.mkdir(store)
    env = lmdb.open(store, max_dbs=4, map_size=1 << 24)
    cid = b"old1"
    sess = (bytes([2]) + struct.pack("<BIQqHH", 0, 0, 0, 1764999999, 6,
                                     len(cid)) + cid
            + bytes([3]) + struct.pack("<BBIH", 1, 0, 0, 5) + b"old/#"
            # INFLIGHT pid 4 after PUBREC (PUBCOMP state): no message
            + bytes([4]) + struct.pack("<HBBIB", 4, 3, 2, 0, 0)
            # INFLIGHT pid 5, PUBACK state, QoS 1, with its message
            + bytes([4]) + struct.pack("<HBBIB", 5, 1, 1, 0, 1)
            + rmsg("old/a", b"w1", 1))
    for i in range(3):
        sess += bytes([5]) + struct.pack("<BI", 1, 0) + rmsg(
            "old/q", b"q%d" % i, 1)
    with env.begin(write=True) as txn:
        meta = env.open_db(b"meta", txn=txn)
        ret = env.open_db(b"retained", txn=txn)
        ses = env.open_db(b"sessions", txn=txn)
        txn.put(b"format", struct.pack("<I", 1), db=meta)
        txn.put(b"old/ret", rec(1, bytes([1]) + rmsg("old/ret", b"R", 0,
                                                     True)), db=ret)
        txn.put(cid, rec(2, sess), db=ses)
    env.close()
    b.start()
    err = b.stderr()
    assert "converted from format 1" in err, err[-2000:]
    assert "1 retained, 1 sessions loaded" in err
    b.stop()
    env = lmdb.open(store, max_dbs=4, readonly=True, lock=False)
    with env.begin() as txn:
        fmt = txn.get(b"format", db=env.open_db(b"meta", txn=txn,
                                                 create=False))
        assert struct.unpack("<I", fmt)[0] == 2
    env.close()
    ctl = [os.path.join(os.environ["MQTTD_BUILDDIR"], "mqttdctl"),
           "--state-dir", b.state_dir, "store"]
    r = subprocess.run(ctl + ["check"], capture_output=True, text=True)
    assert r.returncode == 0 and '"result":"ok"' in r.stdout, r
    r = subprocess.run(ctl + ["dump"], capture_output=True, text=True)
    recs = [json.loads(ln) for ln in r.stdout.splitlines()]
    s = [x for x in recs if x["db"] == "sessions"][0]
    assert (s["client_id"], s["inflight"], s["queued"]) == ("old1", 2, 0)
    assert [x["topic"] for x in recs if x["db"] == "messages"] == [
        "old/a", "old/q", "old/q", "old/q"]
    b.start()
    sub = m.Client(b.port)
    assert sub.connect("old1", clean=False).session_present == 1
    rel = sub.expect(m.PUBREL)  # pid 4 had its PUBREC
    assert rel.pid == 4
    sub.send(m.ack(m.PUBCOMP, 4))
    got = drain(sub)
    assert [(p.payload, p.dup) for p in got] == [
        (b"w1", True), (b"q0", False), (b"q1", False), (b"q2", False)]
    r = m.connected(b.port, "r")
    assert r.subscribe(("old/ret", 0)) == [0]
    assert [p.payload for p in drain(r, quiet=0.5)] == [b"R"]
