# SPDX-License-Identifier: BSD-2-Clause
"""./dev bench durability (issue 11): what durability costs.

QoS 1 fan-in 8 -> 1: eight mosquitto_pub -l publishers (QoS 1, 32 in
flight each) send N messages each to bench/<i>; the subscriber holds a
persistent session (mosquitto_sub -c) that is online 1 s, offline 1 s
while they run, so queued messages must persist.  Run against mqttd with
persistence_sync = commit, interval and off, and Mosquitto 2.0 with
`persistence true` (its autosave), in this one invocation.  Then the
restart time with 1,000,000 retained messages of 100 bytes: filled over
one connection, SIGTERM (each broker writes its store), started again, and
timed from exec to the first retained message delivered.

Last line: the JSON object of the issue.  Usage: durability.py BUILDDIR
(env: DUR_MSGS per publisher, DUR_RETAINED).
"""
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

BUILD = sys.argv[1] if len(sys.argv) > 1 else "build"
MQTTD = os.path.join(BUILD, "mqttd")
MOSQ = os.environ.get("BENCH_MOSQUITTO", "/usr/sbin/mosquitto")
PUBS = 8
MSGS = int(os.environ.get("DUR_MSGS", "10000"))
RETAINED = int(os.environ.get("DUR_RETAINED", "1000000"))


def log(*a):
    print("durability:", *a, file=sys.stderr, flush=True)


def freeport():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def s16(b):
    if isinstance(b, str):
        b = b.encode()
    return struct.pack("!H", len(b)) + b


def varint(n):
    out = b""
    while True:
        d, n = n % 128, n // 128
        out += bytes([d | (0x80 if n else 0)])
        if not n:
            return out


def pkt(first, body):
    return bytes([first]) + varint(len(body)) + body


def mqtt_connect(port, cid, timeout=0.5):
    c = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    c.sendall(pkt(0x10, s16("MQTT") + bytes([4, 2]) + struct.pack("!H", 600)
                  + s16(cid)))
    h = c.recv(4)
    if len(h) < 4 or h[0] != 0x20 or h[3] != 0:
        raise OSError("no CONNACK")
    return c


def recv_exact(c, n):
    b = b""
    while len(b) < n:
        x = c.recv(n - len(b))
        if not x:
            raise OSError("closed")
        b += x
    return b


def wait_up(port, proc, limit=120):
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit:
        if proc.poll() is not None:
            raise RuntimeError("broker exited with %d" % proc.returncode)
        try:
            mqtt_connect(port, "probe").close()
            return
        except OSError:
            time.sleep(0.005)
    raise RuntimeError("broker not up within %d s" % limit)


class Broker:
    def __init__(self, kind, mode=None):
        self.kind, self.mode = kind, mode
        self.dir = tempfile.mkdtemp(prefix="dur-%s-" % kind)
        self.port = freeport()
        self.proc = None

    def cmd(self):
        if self.kind == "mqttd":
            args = [MQTTD, "--state-dir", self.dir, "--listen",
                    "127.0.0.1:%d" % self.port, "--max-queue", "10000000",
                    "--max-inflight", "32", "--log-level", "warn",
                    "--persistence", "true", "--persistence-sync", self.mode]
            return args
        conf = os.path.join(self.dir, "mosquitto.conf")
        with open(conf, "w") as f:
            # user root: as root, Mosquitto drops to user mosquitto,
            # which cannot write its database into our temp dir.
            f.write("user root\nlistener %d 127.0.0.1\nallow_anonymous true\n"
                    "persistence true\npersistence_location %s/\n"
                    "max_inflight_messages 32\nmax_queued_messages 0\n"
                    "log_dest none\n" % (self.port, self.dir))
        return [MOSQ, "-c", conf]

    def start(self):
        t0 = time.monotonic()
        self.proc = subprocess.Popen(self.cmd(), stdout=subprocess.DEVNULL,
                                     stderr=open(os.path.join(
                                         self.dir, "log"), "a"))
        wait_up(self.port, self.proc)
        return time.monotonic() - t0

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(300)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def sub_online(port):
    """mosquitto_sub -c for about 1 s (libmosquitto 2.0.11's -W can hang
    once the broker has closed the socket: a hard limit too)."""
    try:
        subprocess.run(["mosquitto_sub", "-p", str(port), "-c", "-i",
                        "dursub", "-q", "1", "-t", "bench/#", "-W", "1"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=3)
    except subprocess.TimeoutExpired:
        pass


def sub_cycle(port, stop):
    """The persistent subscriber: online 1 s, offline 1 s."""
    while not stop.is_set():
        sub_online(port)
        stop.wait(1.0)


def fan_in(b):
    lines = os.path.join(b.dir, "lines")
    with open(lines, "w") as f:
        for i in range(MSGS):
            f.write("m%015d\n" % i)
    # The session exists (offline) before the load starts.
    sub_online(b.port)
    stop = threading.Event()
    th = threading.Thread(target=sub_cycle, args=(b.port, stop))
    th.start()
    t0 = time.monotonic()
    pubs = [subprocess.Popen(["mosquitto_pub", "-p", str(b.port), "-q", "1",
                              "-M", "32", "-t", "bench/%d" % i, "-l"],
                             stdin=open(lines), stderr=subprocess.PIPE)
            for i in range(PUBS)]
    bad = [p.wait() for p in pubs]
    dt = time.monotonic() - t0
    stop.set()
    th.join()
    if any(bad):
        raise RuntimeError("a publisher failed: %r" % bad)
    return round(PUBS * MSGS / dt)


def fill_retained(b, n):
    c = mqtt_connect(b.port, "filler", timeout=600)
    payload = b"x" * 100
    chunk = []
    for i in range(n):
        chunk.append(pkt(0x31, s16("ret/%07d" % i) + payload))
        if len(chunk) == 20000:
            c.sendall(b"".join(chunk))
            chunk = []
    # A QoS 1 PUBLISH after them: its PUBACK says they were handled.
    chunk.append(pkt(0x32, s16("ret/done") + struct.pack("!H", 1) + b"d"))
    c.sendall(b"".join(chunk))
    while True:
        h = recv_exact(c, 2)
        body = recv_exact(c, h[1])
        if h[0] >> 4 == 4:
            break
    c.close()


def restart_time(b):
    """exec -> the first retained message delivered."""
    t0 = time.monotonic()
    b.proc = subprocess.Popen(b.cmd(), stdout=subprocess.DEVNULL,
                              stderr=open(os.path.join(b.dir, "log"), "a"))
    wait_up(b.port, b.proc, 600)
    c = mqtt_connect(b.port, "check", timeout=60)
    c.sendall(pkt(0x82, struct.pack("!H", 1) + s16("ret/%07d" % (RETAINED - 1))
                  + b"\0"))
    while True:
        h = recv_exact(c, 2)
        n, shift, i = h[1] & 0x7F, 7, 1
        hb = h
        while hb[-1] & 0x80:
            hb = recv_exact(c, 1)
            n |= (hb[0] & 0x7F) << shift
            shift += 7
        recv_exact(c, n)
        if h[0] >> 4 == 3:
            break
    dt = time.monotonic() - t0
    c.close()
    return round(dt, 3)


def main():
    out = {"mqttd": {}, "mosquitto": {}}
    for mode in ("commit", "interval", "off"):
        b = Broker("mqttd", mode)
        try:
            b.start()
            out["mqttd"][mode] = {"qos1_mps": fan_in(b)}
            log("mqttd %s: %s" % (mode, out["mqttd"][mode]))
        finally:
            b.cleanup()
    b = Broker("mosquitto")
    try:
        b.start()
        out["mosquitto"]["qos1_mps"] = fan_in(b)
        log("mosquitto: %s" % out["mosquitto"])
    finally:
        b.cleanup()
    for kind in ("mqttd", "mosquitto"):
        b = Broker(kind, "commit")
        try:
            b.start()
            t0 = time.monotonic()
            fill_retained(b, RETAINED)
            log("%s: %d retained filled in %.1f s" % (
                kind, RETAINED, time.monotonic() - t0))
            t0 = time.monotonic()
            b.stop()
            log("%s: stopped (store written) in %.1f s" % (
                kind, time.monotonic() - t0))
            key = "restart_s_1m_retained"
            out[kind][key] = restart_time(b)
            log("%s: restart %.3f s" % (kind, out[kind][key]))
        finally:
            b.cleanup()
    m, q = out["mqttd"], out["mosquitto"]
    out["ratio"] = {
        "commit_vs_mosquitto": round(
            m["commit"]["qos1_mps"] / q["qos1_mps"], 2),
        "interval_vs_off": round(
            m["interval"]["qos1_mps"] / m["off"]["qos1_mps"], 2),
        "restart_vs_mosquitto": round(
            q["restart_s_1m_retained"] / m["restart_s_1m_retained"], 2),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
