# SPDX-License-Identifier: BSD-2-Clause
"""mqttd-api as a process and as a front for users and Prometheus, through
the real stack: the users routes and their codes, credentials changing
under live workers, the exporter checked by a parser and line by line, a
broker that stops and comes back, workers killed and reloaded.
"""
import math
import os
import re
import signal
import socket
import threading
import time

import paho.mqtt.client as mqtt
import pytest
from prometheus_client.parser import text_string_to_metric_families

from stack import Stack, _binary, err, ok, wait_for


@pytest.fixture(scope="module")
def s():
    with Stack() as st:
        yield st



# ---- users ----------------------------------------------------------------

def test_users_routes_and_codes(s):
    users = ok(s.get("users"))
    assert {"username": "admin", "tags": "administrator",
            "role": "admin"} in users
    assert ok(s.post("users", {"username": "u1", "password": "p1",
                               "tags": "viewer"})) == []
    # tags are free text; the role is its own field, admin by default
    assert ok(s.get("users/u1")) == {"username": "u1", "tags": "viewer",
                                     "role": "admin"}
    assert {"username": "u1", "tags": "viewer",
            "role": "admin"} in ok(s.get("users"))
    err(s.post("users", {"username": "u1", "password": "x"}), 113)
    err(s.post("users", {"username": "", "password": "x"}), 104)
    err(s.post("users", {"username": "u2", "password": ""}), 104)
    err(s.post("users", {"username": "u2"}), 107)
    err(s.post("users", {"password": "x"}), 107)
    err(s.post("users", {"username": 3, "password": "x"}), 108)
    err(s.post("users", {"username": "a:b", "password": "x"}), 108)
    err(s.post("users", "nope"), 109)
    assert ok(s.put("users/u1", {"tags": "ops"})) == []
    assert ok(s.get("users/u1"))["tags"] == "ops"
    err(s.put("users/u1", {}), 107)
    err(s.put("users/u1", {"tags": 1}), 108)
    err(s.put("users/ghost", {"tags": "x"}), 105)
    err(s.get("users/ghost"), 105)
    # POST auth checks a password from the body
    assert ok(s.post("auth", {"username": "u1", "password": "p1"})) == []
    err(s.post("auth", {"username": "u1", "password": "bad"}), 103)
    err(s.post("auth", {"username": "ghost", "password": "p1"}), 103)
    err(s.post("auth", {"username": "u1", "password": ""}), 104)
    err(s.post("auth", {"username": "u1"}), 107)
    # change_pwd
    err(s.put("change_pwd/u1", {"old_pwd": "bad", "new_pwd": "p2"}), 114)
    err(s.put("change_pwd/ghost", {"old_pwd": "p1", "new_pwd": "p2"}), 105)
    err(s.put("change_pwd/u1", {"old_pwd": "p1"}), 107)
    err(s.put("change_pwd/u1", {"old_pwd": "p1", "new_pwd": ""}), 104)
    err(s.put("change_pwd/u1", {"old_pwd": 1, "new_pwd": "p2"}), 108)
    assert ok(s.put("change_pwd/u1", {"old_pwd": "p1",
                                      "new_pwd": "p2"})) == []
    err(s.post("auth", {"username": "u1", "password": "p1"}), 103)
    assert ok(s.post("auth", {"username": "u1", "password": "p2"})) == []
    # delete
    err(s.delete("users/admin"), 106)
    err(s.delete("users/ghost"), 105)
    assert ok(s.delete("users/u1")) == []
    err(s.get("users/u1"), 105)
    # the file stays htpasswd with SHA-512 crypt hashes
    with open(os.path.join(s.state_dir, "users")) as f:
        lines = f.read().splitlines()
    assert lines and all(re.match(r"^[^:]+:\$6\$[^:]+(:.*)?$", ln)
                         for ln in lines), lines


def test_credentials_change_under_live_workers(s):
    name = "live1"
    assert ok(s.post("users", {"username": name, "password": "a"})) == []
    # works on the next request, on whichever worker takes it
    for _ in range(6):
        assert s.get("management/nodes", auth=(name, "a")).status == 200
    assert ok(s.put(f"change_pwd/{name}", {"old_pwd": "a",
                                           "new_pwd": "b"})) == []
    assert s.get("management/nodes", auth=(name, "b")).status == 200
    t0 = time.monotonic()
    assert wait_for(lambda: s.get("management/nodes",
                                  auth=(name, "a")).status == 401, 2)
    assert time.monotonic() - t0 < 1.0
    assert ok(s.delete(f"users/{name}")) == []
    t0 = time.monotonic()
    assert wait_for(lambda: s.get("management/nodes",
                                  auth=(name, "b")).status == 401, 2)
    assert time.monotonic() - t0 < 1.0


# ---- Prometheus -----------------------------------------------------------

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL_VALUE = r'"(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE = re.compile(rf"^({NAME})(\{{(?:{NAME}={LABEL_VALUE})"
                    rf"(?:,{NAME}={LABEL_VALUE})*\}})? "
                    r"(-?[0-9.eE+-]+|NaN|[+-]Inf)$")
HELP = re.compile(rf"^# HELP ({NAME}) .*$")
TYPE = re.compile(rf"^# TYPE ({NAME}) (counter|gauge|histogram|summary|"
                  r"untyped)$")


def strict_check(text):
    """Line by line: the text format 0.0.4 as Prometheus parses it."""
    assert text.endswith("\n")
    typed, sampled = {}, set()
    for ln in text.splitlines():
        if ln.startswith("# HELP"):
            assert HELP.match(ln), ln
        elif ln.startswith("# TYPE"):
            m = TYPE.match(ln)
            assert m, ln
            assert m.group(1) not in typed, "TYPE twice: " + ln
            assert m.group(1) not in sampled, "TYPE after samples: " + ln
            typed[m.group(1)] = m.group(2)
        else:
            m = SAMPLE.match(ln)
            assert m, "bad sample line: " + repr(ln)
            assert m.group(1) in typed, "sample without TYPE: " + ln
            float(m.group(3))
            sampled.add(m.group(1))
    return typed


def prom(s):
    r = s.get("/metrics")
    assert r.status == 200
    assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return r.body


def test_prometheus_exporter(s):
    c = mqtt.Client(client_id="prom-1")
    c.connect("127.0.0.1", s.mqtt_port)
    c.loop_start()
    try:
        for _ in range(10):
            c.publish("p/t", b"x", qos=1).wait_for_publish()
        assert wait_for(lambda: 'mqttd_messages_qos1_received_total' in
                        prom(s))
        text = prom(s)
        typed = strict_check(text)
        fams = {f.name: f for f in text_string_to_metric_families(text)}
        counters = [n for n, t in typed.items() if t == "counter"]
        gauges = [n for n, t in typed.items() if t == "gauge"]
        # 38 metrics + the store's 4 counters
        assert len(counters) == 38 + 4
        assert all(n.startswith("mqttd_") and n.endswith("_total")
                   for n in counters)
        # 14 stats + up + uptime + listener connections + 4 store gauges
        assert len(gauges) == 14 + 3 + 4
        samples = {}
        for f in fams.values():
            for smp in f.samples:
                assert smp.labels["node"] == s.node
                samples.setdefault(smp.name, []).append(smp)
        assert samples["mqttd_up"][0].value == 1
        assert samples["mqttd_uptime_seconds"][0].value >= 0
        metrics = ok(s.get("monitoring/metrics/" + s.node))
        # values agree with the JSON view (counters only grow in between)
        for k, v in metrics.items():
            name = "mqttd_" + k.replace("/", "_") + "_total"
            assert samples[name][0].value >= v, name
        assert samples["mqttd_messages_qos1_received_total"][0].value >= 10
        lis = samples["mqttd_listener_connections"]
        tcp = [x for x in lis if x.labels["protocol"] == "mqtt:tcp"]
        assert tcp and tcp[0].value >= 1
        assert tcp[0].labels["listen"].endswith(f":{s.mqtt_port}")
        assert not any(math.isnan(x.value) for x in lis)
    finally:
        c.disconnect()
        c.loop_stop()


# ---- processes ------------------------------------------------------------

def children(pid):
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            out.append(int(d))
    return sorted(out)


def test_worker_respawn_and_reload():
    with Stack(workers=2) as st:
        master = st.pid("mqttd-api")
        ws = wait_for(lambda: len(children(master)) == 2 and
                      children(master))
        assert ws
        os.kill(ws[0], signal.SIGKILL)
        assert wait_for(lambda: len(children(master)) == 2 and
                        ws[0] not in children(master))
        for _ in range(10):
            assert ok(st.get("management/nodes"))[0]["name"] == st.node
        before = set(children(master))
        os.kill(master, signal.SIGHUP)
        # the old workers drain (nginx closes their kept connections)
        assert wait_for(lambda: len(children(master)) == 2 and
                        not (set(children(master)) & before), 15)
        for _ in range(10):
            assert ok(st.get("management/nodes"))[0]["name"] == st.node


def post_loop(st, stop, answers):
    """POST a body the worker rejects itself (108) until stop is set;
    each answer's status (or the error) goes into answers."""
    while not stop.is_set():
        try:
            r = st.post("mqtt/publish", b'{"topic":"a\xfe"}')
            answers.append(r.status if r.status != 200
                           else r.body.get("code"))
        except OSError as e:
            answers.append(repr(e))


def test_posts_are_answered_across_reloads():
    """nginx never retries a POST it has sent; a worker replaced on
    SIGHUP must not close a kept connection a POST may be on (502)."""
    with Stack(workers=2) as st:
        master = st.pid("mqttd-api")
        stop, answers = threading.Event(), []
        loops = [threading.Thread(target=post_loop,
                                  args=(st, stop, answers))
                 for _ in range(4)]
        for t in loops:
            t.start()
        try:
            for _ in range(6):
                time.sleep(0.6)
                os.kill(master, signal.SIGHUP)
            time.sleep(1)
        finally:
            stop.set()
            for t in loops:
                t.join()
        assert len(answers) > 100, len(answers)
        bad = [a for a in answers if a != 108]
        assert not bad, (len(bad), len(answers), bad[:5])
        # the drained generations are gone, the last one serves
        assert wait_for(lambda: len(children(master)) == 2, 20)


def test_broker_down_then_back():
    with Stack() as st:
        # a plugin switched through the API stays switched after a restart
        plugins = f"nodes/{st.node}/plugins"
        name = next(x["name"] for x in ok(st.get(plugins)) if not x["active"])
        assert ok(st.put(f"{plugins}/{name}", {"active": True})) == []
        p = st.procs["mqttd"]
        os.killpg(p.pid, signal.SIGTERM)
        p.wait(timeout=10)
        n = ok(st.get("management/nodes"))[0]
        assert n["node_status"] == "Stopped" and n["name"] == st.node
        assert ok(st.get("monitoring/nodes"))[0]["node_status"] == "Stopped"
        r = st.get(f"nodes/{st.node}/clients")
        assert r.body["code"] == 101 and "not running" in r.body["message"]
        for path in ("monitoring/metrics", "monitoring/stats",
                     "monitoring/listeners", "routes", "clients/x"):
            assert st.get(path).body["code"] == 101, path
        assert st.post("mqtt/publish", {"topic": "a"}).body["code"] == 101
        r = st.get("/status", auth=False)
        assert r.status == 503 and "not running" in r.body
        assert "mqttd_up{" in prom(st) and \
            f'mqttd_up{{node="{st.node}"}} 0' in prom(st)
        # a control socket that accepts but never answers: 101 in time
        ctl = os.path.join(st.state_dir, "mqttd.ctl")
        if os.path.exists(ctl):
            os.unlink(ctl)
        silent = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        silent.bind(ctl)
        silent.listen(16)
        try:
            t0 = time.monotonic()
            r = st.post("mqtt/publish", {"topic": "a"})
            assert r.body["code"] == 101 and "in time" in r.body["message"]
            assert 2.5 < time.monotonic() - t0 < 6
        finally:
            silent.close()
            os.unlink(ctl)
        # the broker comes back: the workers re-attach to the new segment
        line = st._start_ready("mqttd", lambda fd: [
            _binary("mqttd"), "--state-dir", st.state_dir,
            "--node", st.node, "--listen", "127.0.0.1:0",
            "--ready-fd", str(fd)])
        port = int(line.partition("port=")[2].split(",")[0])
        c = mqtt.Client(client_id="back-1")
        c.connect("127.0.0.1", port)
        c.loop_start()
        try:
            def seen():
                r = st.get("clients/back-1")
                return r.body.get("code") == 0 and r.body["result"]["objects"]
            objs = wait_for(seen)
            assert objs and objs[0]["port"] == c.socket().getsockname()[1]
            assert ok(st.get("management/nodes"))[0]["node_status"] == \
                "Running"
            assert st.get("/status", auth=False).status == 200
            now = {x["name"]: x["active"] for x in ok(st.get(plugins))}
            assert now[name] is True
        finally:
            c.disconnect()
            c.loop_stop()
