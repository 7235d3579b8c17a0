# SPDX-License-Identifier: BSD-2-Clause
"""`./dev cluster N` (cluster/dev-cluster BUILDDIR N): N nodes on
127.0.1.1..N, each with its nats-server and its whole stack, print their
URLs, carry messages between them, and all stop on SIGTERM."""
import base64
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request

import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "integration"))
from conftest import BUILDDIR, SRCDIR  # noqa: E402
from cluster_fixture import unique_port  # noqa: E402

SCRIPT = os.path.join(SRCDIR, "cluster", "dev-cluster")


def port_open(host, port):
    import socket
    try:
        socket.create_connection((host, port), timeout=0.5).close()
        return True
    except OSError:
        return False


def test_dev_cluster_two_nodes():
    state = tempfile.mkdtemp(prefix="mqttd-devcluster-")
    ports = {k: unique_port() for k in (
        "MQTTD_MQTT_PORT", "MQTTD_HTTP_PORT", "MQTTD_HTTPS_PORT",
        "MQTTD_NATS_PORT", "MQTTD_NATS_ROUTE_PORT", "MQTTD_NATS_HTTP_PORT")}
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("MQTTD_") or k in ("MQTTD_SRCDIR",
                                                  "MQTTD_BUILDDIR")}
    env.update({k: str(v) for k, v in ports.items()})
    env["MQTTD_STATE_DIR"] = state
    errpath = os.path.join(state, "out")
    err = open(errpath, "wb")
    proc = subprocess.Popen([SCRIPT, BUILDDIR, "2"], env=env,
                            stdin=subprocess.DEVNULL, stdout=err,
                            stderr=err, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        out = ""
        while time.monotonic() < deadline and "Ctrl-C stops" not in out:
            assert proc.poll() is None, open(errpath).read()
            time.sleep(0.2)
            out = open(errpath, errors="replace").read()
        assert "Ctrl-C stops" in out, out
        mqtt = ports["MQTTD_MQTT_PORT"]
        for k in (1, 2):
            a = "127.0.1.%d" % k
            assert "mqtt://%s:%d" % (a, mqtt) in out
            assert "http://%s:%d/api/v2/" % (
                a, ports["MQTTD_HTTP_PORT"]) in out
            req = urllib.request.Request(
                "http://%s:%d/api/v2/management/nodes" % (
                    a, ports["MQTTD_HTTP_PORT"]),
                headers={"Authorization": "Basic " + base64.b64encode(
                    b"admin:public").decode()})
            with urllib.request.urlopen(req, timeout=5) as r:
                assert b'"mqttd@%s"' % a.encode() in r.read()
        # A subscriber on node 2 gets what node 1 publishes.
        sub = subprocess.Popen(
            ["mosquitto_sub", "-h", "127.0.1.2", "-p", str(mqtt), "-t",
             "dev/#", "-C", "1", "-W", "20"], stdout=subprocess.PIPE,
            text=True)
        got = None
        for _ in range(100):
            subprocess.run(["mosquitto_pub", "-h", "127.0.1.1", "-p",
                            str(mqtt), "-t", "dev/x", "-m", "across"],
                           check=True, timeout=10)
            try:
                got, _ = sub.communicate(timeout=0.2)
                break
            except subprocess.TimeoutExpired:
                pass
        assert got == "across\n"
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise
        err.close()
    out = open(errpath, errors="replace").read()
    assert proc.returncode == 0, out
    assert "stopped" in out
    for k in (1, 2):
        for p in ("MQTTD_MQTT_PORT", "MQTTD_HTTP_PORT", "MQTTD_NATS_PORT"):
            assert not port_open("127.0.1.%d" % k, ports[p]), (k, p)
    for k in (1, 2):
        log = os.path.join(state, "node%d" % k, "logs", "mqttd.log")
        text = open(log, errors="replace").read()
        assert "Sanitizer" not in text and "runtime error" not in text
    shutil.rmtree(state, ignore_errors=True)
