# SPDX-License-Identifier: BSD-2-Clause
"""The segment as other processes see it, across the broker's life.

A real mqttd, a real MQTT client (paho), and mqttdctl reading the segment:
what a connection mirrors, that a 65535-byte client id is stored whole,
that a restart gives a new boot id the reader follows, that a SIGKILLed
broker reads as not alive and its leftover segment is replaced by the next
start, and that a clean stop removes the segment.
"""
import os
import signal
import socket
import subprocess
import time

import paho.mqtt.client as mqtt
import pytest

from broker_fixture import Broker, build_path, shm_path_for


def mqttdctl(state_dir, *args):
    p = subprocess.run([build_path("mqttdctl"), "--state-dir", state_dir] +
                       list(args), capture_output=True, text=True,
                       timeout=10)
    return p.returncode, p.stdout, p.stderr


def connect(port, client_id, username=None, subs=()):
    c = mqtt.Client(client_id=client_id, clean_session=True,
                    protocol=mqtt.MQTTv311)
    if username is not None:
        c.username_pw_set(username, None)
    c.connect("127.0.0.1", port, keepalive=30)
    c.loop_start()
    deadline = time.monotonic() + 5
    while not c.is_connected():
        assert time.monotonic() < deadline, "no CONNACK"
        time.sleep(0.02)
    for t in subs:
        c.subscribe(t, qos=1)
    return c


def wait(pred, what, timeout=5.0):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


@pytest.fixture
def broker():
    b = Broker()
    b.start()
    yield b
    b.cleanup()


def test_connection_is_mirrored_and_removed(broker):
    c = connect(broker.port, "seg-client", "alice", ("seg/a", "seg/+/b"))
    local_port = c.socket().getsockname()[1]
    try:
        cl = wait(lambda: broker.client("seg-client"), "client mirrored")
        assert cl["username"] == "alice"
        assert cl["ipaddress"] == "127.0.0.1"
        assert cl["port"] == local_port
        assert cl["proto_ver"] == 4
        assert cl["keepalive"] == 30
        subs = wait(lambda: [s for s in broker.subscriptions()
                             if s["client_id"] == "seg-client"]
                    if len([s for s in broker.subscriptions()
                            if s["client_id"] == "seg-client"]) == 2
                    else None, "two subscriptions")
        assert sorted(s["topic"] for s in subs) == ["seg/+/b", "seg/a"]
        routes = {r["topic"]: r["node"] for r in broker.routes()}
        assert routes.get("seg/a") == broker.node
        rc, out, _ = mqttdctl(broker.state_dir, "subscriptions",
                              "--client", "seg-client")
        assert rc == 0 and out.count('"client_id":"seg-client"') == 2
    finally:
        c.disconnect()
        c.loop_stop()
    wait(lambda: broker.client("seg-client") is None, "client removed")


def test_longest_client_id_is_stored_whole(broker):
    cid = "".join(chr(ord("a") + i % 26) for i in range(65535))
    c = connect(broker.port, cid)
    try:
        cl = wait(lambda: next((x for x in broker.clients()
                                if len(x["client_id"]) > 60000), None),
                  "long client mirrored")
        assert cl["client_id"] == cid
        assert cl["username"] is None  # absent, not empty
    finally:
        c.disconnect()
        c.loop_stop()


def test_restart_gives_new_boot_id(broker):
    n1 = broker.segment("node")
    assert n1["alive"] is True and n1["node"] == broker.node
    broker.restart()
    n2 = broker.segment("node")
    assert n2["alive"] is True
    assert n2["boot_id"] != n1["boot_id"]
    assert n2["pid"] != n1["pid"]


def test_killed_broker_reads_dead_then_is_replaced(broker):
    pid = broker.segment("node")["pid"]
    leftover = shm_path_for(broker.state_dir)
    os.kill(pid, signal.SIGKILL)
    broker.proc.wait(timeout=10)
    broker.proc = None
    # The segment outlives a SIGKILL; its readers see the broker gone.
    node = broker.segment("node")
    assert node["pid"] == pid and node["alive"] is False
    assert os.path.exists(leftover)
    # The next start removes the leftover (its pid is dead) and creates a
    # segment under a new name.
    broker.start()
    node = broker.segment("node")
    assert node["alive"] is True and node["pid"] != pid
    assert node["clients"] == 0
    assert not os.path.exists(leftover)
    assert shm_path_for(broker.state_dir) != leftover


def test_clean_stop_removes_the_segment():
    b = Broker()
    b.start()
    try:
        assert mqttdctl(b.state_dir, "node")[0] == 0
        b.stop()
        rc, _, err = mqttdctl(b.state_dir, "node")
        assert rc == 1 and "No such file" in err
    finally:
        b.cleanup()


def test_second_broker_says_why_through_the_log(broker):
    """One broker per state dir: a second one exits, and the collector's
    reason is a line of the broker's logger (mq_log), not a bare one."""
    p = subprocess.run([build_path("mqttd"), "--state-dir", broker.state_dir,
                        "--listen", "127.0.0.1:0"],
                       capture_output=True, text=True, timeout=20)
    assert p.returncode != 0
    lines = [ln for ln in p.stderr.splitlines() if "still running" in ln]
    assert len(lines) == 1, p.stderr
    assert " mqttd error: col: %s: the broker of segment " % \
        os.path.realpath(broker.state_dir) in lines[0], lines[0]
    assert broker.running()  # and the first one is untouched
