# SPDX-License-Identifier: BSD-2-Clause
"""`./dev run`'s stack (nginx/stack BUILDDIR, which dev's cmd_run execs):
it comes up, serves the live node with admin/public, warns about the
default password, stops cleanly on SIGTERM and SIGINT leaving no process,
restarts a part that dies (kill -9) with a backoff while the others stay
up, and runs beside a second stack with other ports and state dir.
"""
import base64
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

import pytest

from conftest import BUILDDIR, SRCDIR, free_port

STACK = os.path.join(SRCDIR, "nginx", "stack")


class Run:
    def __init__(self, **env):
        self.state = tempfile.mkdtemp(prefix="mqttd-run-")
        self.ports = {"MQTTD_MQTT_PORT": free_port(),
                      "MQTTD_MQTTS_PORT": free_port(),
                      "MQTTD_WS_PORT": free_port(),
                      "MQTTD_WSS_PORT": free_port(),
                      "MQTTD_HTTP_PORT": free_port(),
                      "MQTTD_HTTPS_PORT": free_port()}
        e = dict(os.environ)
        for k in list(e):
            if k.startswith("MQTTD_") and k not in ("MQTTD_SRCDIR",
                                                    "MQTTD_BUILDDIR"):
                del e[k]
        e.update({k: str(v) for k, v in self.ports.items()})
        e["MQTTD_STATE_DIR"] = self.state
        e["MQTTD_NODE"] = env.pop("node", "mqttd@127.0.0.1")
        e.update(env)
        self.node = e["MQTTD_NODE"]
        self.errpath = os.path.join(self.state, "stack.stderr")
        self.err = open(self.errpath, "wb")
        self.proc = subprocess.Popen([STACK, BUILDDIR], env=e,
                                     stdin=subprocess.DEVNULL,
                                     stdout=self.err, stderr=self.err,
                                     start_new_session=True)

    def stderr(self):
        with open(self.errpath, errors="replace") as f:
            return f.read()

    def wait_up(self, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "Ctrl-C stops it" in self.stderr():
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError("stack did not come up:\n" + self.stderr())

    def get(self, path, user="admin", password="public"):
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.ports['MQTTD_HTTP_PORT']}{path}")
        tok = base64.b64encode(f"{user}:{password}".encode()).decode()
        req.add_header("Authorization", "Basic " + tok)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, None

    def processes(self):
        """Every live process that belongs to this stack: the launcher's
        session (it and its children keep it unless they setsid) and any
        process naming the state dir on its command line or inheriting the
        process groups of those."""
        found, groups = {}, set()
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    cmd = f.read().replace(b"\0", b" ").decode(
                        errors="replace")
                with open(f"/proc/{pid}/stat") as f:
                    st = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if st[0] == "Z":
                continue
            pgid, sid = int(st[2]), int(st[3])
            if sid == self.proc.pid or self.state in cmd:
                found[int(pid)] = cmd
                groups.add(pgid)
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open(f"/proc/{pid}/stat") as f:
                    st = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if st[0] != "Z" and int(st[2]) in groups:
                found.setdefault(int(pid), "(group member)")
        return found

    def close(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        for pid in self.processes():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        self.err.close()
        shutil.rmtree(self.state, ignore_errors=True)


@pytest.fixture
def run():
    runs = []

    def start(**env):
        r = Run(**env)
        runs.append(r)
        return r
    yield start
    for r in runs:
        r.close()


def stop_and_check(r, sig):
    procs = r.processes()
    names = " ".join(procs.values())
    assert "mqttd-api" in names and "nginx" in names, procs
    t0 = time.monotonic()
    r.proc.send_signal(sig)
    rc = r.proc.wait(timeout=15)
    took = time.monotonic() - t0
    assert took < 6, f"took {took:.1f} s to stop"
    assert rc == 0, r.stderr()
    # Nothing left, by pid and by process group.
    time.sleep(0.2)
    left = {p: c for p, c in r.processes().items() if p != r.proc.pid}
    assert not left, left
    for pid in procs:
        assert not os.path.exists(f"/proc/{pid}") or \
            open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] \
            == "Z", (pid, procs[pid])
    err = r.stderr()
    for bad in ("Sanitizer", "runtime error"):
        for log in os.listdir(os.path.join(r.state, "logs")):
            text = open(os.path.join(r.state, "logs", log),
                        errors="replace").read()
            assert bad not in text, (log, text[-3000:])
    assert "stopped" in err


def test_comes_up_serves_live_node_and_stops_on_sigterm(run):
    r = run()
    r.wait_up()
    err = r.stderr()
    port = r.ports["MQTTD_HTTP_PORT"]
    assert f"http://127.0.0.1:{port}/api/v2/" in err
    assert f"https://127.0.0.1:{r.ports['MQTTD_HTTPS_PORT']}/api/v2/" in err
    assert f":{r.ports['MQTTD_MQTT_PORT']}" in err
    assert "admin, password public" in err
    assert "WARNING" in err and "public" in err
    st, body = r.get("/api/v2/management/nodes")
    assert st == 200 and body["code"] == 0, body
    nodes = body["result"]
    assert [n["name"] for n in nodes] == [r.node]
    assert nodes[0]["node_status"] == "Running"
    assert r.get("/api/v2/management/nodes", password="wrong")[0] == 401
    stop_and_check(r, signal.SIGTERM)


def test_ctrl_c_stops_everything(run):
    r = run()
    r.wait_up()
    stop_and_check(r, signal.SIGINT)


def test_other_password_no_warning(run):
    r = run(MQTTD_ADMIN_USER="root2", MQTTD_ADMIN_PASSWORD="Xk3-long-pw")
    r.wait_up()
    err = r.stderr()
    assert "WARNING" not in err
    assert "root2, password Xk3-long-pw" in err
    assert r.get("/api/v2/management/nodes", "root2", "Xk3-long-pw")[0] == 200
    assert r.get("/api/v2/management/nodes", "admin", "public")[0] == 401
    stop_and_check(r, signal.SIGTERM)


def test_mqttd_conf_used_and_port_variable_wins(run):
    """MQTTD_CONF replaces the broker's defaults; MQTTD_MQTT_PORT still
    decides where it listens (README's settings table)."""
    import paho.mqtt.client as mqtt

    conf_dir = tempfile.mkdtemp(prefix="mqttd-conf-")
    conf = os.path.join(conf_dir, "mqttd.conf")
    ignored_port = free_port()
    with open(conf, "w") as f:
        f.write("# operator's file\n"
                f"listen = 127.0.0.1:{ignored_port}\n"
                "max_inflight = 7\n"
                "max_queue = 11\n")
    try:
        r = run(MQTTD_CONF=conf)
        r.wait_up()
        port = r.ports["MQTTD_MQTT_PORT"]
        c = mqtt.Client(client_id="conf-probe", clean_session=False)
        c.connect("127.0.0.1", port)
        c.loop_start()
        deadline = time.monotonic() + 10
        body = None
        while time.monotonic() < deadline:
            st, body = r.get("/api/v2/sessions/conf-probe")
            if st == 200 and body["result"]["objects"]:
                break
            time.sleep(0.1)
        c.loop_stop()
        c.disconnect()
        sess = body["result"]["objects"][0]
        assert sess["max_inflight"] == 7, sess
        st, body = r.get(f"/api/v2/monitoring/listeners/{r.node}")
        listens = [l["listen"] for l in body["result"]
                   if l["protocol"] == "mqtt:tcp"]
        assert len(listens) == 1 and listens[0].endswith(f":{port}"), listens
        stop_and_check(r, signal.SIGTERM)
    finally:
        shutil.rmtree(conf_dir, ignore_errors=True)


def test_two_stacks_side_by_side(run):
    a = run(node="mqttd@a")
    b = run(node="mqttd@b")
    a.wait_up()
    b.wait_up()
    for r in (a, b):
        st, body = r.get("/api/v2/management/nodes")
        assert st == 200 and body["result"][0]["name"] == r.node
    # The same state dir twice is refused.
    env = dict(os.environ, MQTTD_STATE_DIR=a.state,
               MQTTD_MQTT_PORT=str(free_port()),
               MQTTD_HTTP_PORT=str(free_port()),
               MQTTD_HTTPS_PORT=str(free_port()))
    p = subprocess.run([STACK, BUILDDIR], env=env, capture_output=True,
                       text=True, timeout=20)
    assert p.returncode != 0
    assert "another stack" in p.stderr
    stop_and_check(a, signal.SIGTERM)
    st, body = b.get("/api/v2/management/nodes")
    assert st == 200 and body["result"][0]["name"] == "mqttd@b"
    stop_and_check(b, signal.SIGTERM)


def ppid(pid):
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


def part(r, name):
    """The pid of the stack's own child NAME (the leader: nginx's master,
    the API's master), or None."""
    for p, c in r.processes().items():
        try:
            if ppid(p) != r.proc.pid:
                continue
        except OSError:
            continue
        if name == "nginx" and c.startswith("nginx: master"):
            return p
        if c.startswith(os.path.join(BUILDDIR, name) + " "):
            return p
    return None


def node_status(r):
    try:
        st, body = r.get("/api/v2/management/nodes")
    except OSError:
        return None
    if st != 200:
        return None
    return body["result"][0]["node_status"]


@pytest.mark.parametrize("victim", ["mqttd", "mqttd-api", "nginx"])
def test_a_dead_part_is_restarted(run, victim):
    """kill -9 of any part: the stack goes on, the others stay up, the
    part comes back (logged), the API serves the live node again, and
    only SIGTERM stops it all."""
    r = run()
    r.wait_up()
    before = {n: part(r, n) for n in ("mqttd", "mqttd-api", "nginx")}
    assert all(before.values()), before
    os.kill(before[victim], signal.SIGKILL)
    t0 = time.monotonic()
    if victim == "mqttd":
        # While it is down the API, still up, says so.
        seen = None
        while time.monotonic() - t0 < 3 and seen != "Stopped":
            seen = node_status(r)
            time.sleep(0.05)
        assert seen == "Stopped"
    new = None
    while time.monotonic() - t0 < 15:
        new = part(r, victim)
        # The supervisor logs the restart once the part serves.
        if new and new != before[victim] and node_status(r) == "Running" \
                and f"{victim} restarted (pid {new})" in r.stderr():
            break
        time.sleep(0.1)
    took = time.monotonic() - t0
    assert r.proc.poll() is None, r.stderr()
    assert new and new != before[victim], r.stderr()
    assert node_status(r) == "Running"
    assert took < 5, f"{victim} back after {took:.1f} s"
    for other in before:
        if other != victim:
            assert part(r, other) == before[other], other
    err = r.stderr()
    assert f"{victim} exited (status 137, signal 9)" in err, err
    assert f"{victim} restarted (pid {new})" in err, err
    with open(os.path.join(r.state, "logs", "stack.log")) as f:
        assert f"{victim} restarted (pid {new})" in f.read()
    stop_and_check(r, signal.SIGTERM)


def test_restarts_back_off(run):
    """A broker that keeps dying soon after its start is restarted after
    0.5 s, then 1 s (then 2 s...): it cannot make the stack spin."""
    r = run()
    r.wait_up()
    for _ in range(3):
        pid = part(r, "mqttd")
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            new = part(r, "mqttd")
            if new and new != pid and "mqttd restarted (pid %d)" % new \
                    in r.stderr():
                break
            time.sleep(0.05)
    # (on a loaded machine a start may take long enough to reset the
    # backoff once, so only the doubling itself is asserted)
    for want in ("0.5", "1.0"):
        assert f"mqttd: next start in {want} s" in r.stderr(), r.stderr()
    assert r.proc.poll() is None
    stop_and_check(r, signal.SIGTERM)


def test_four_mqtt_listeners_with_the_fronts_certificate(run):
    """./dev run opens mqtt:tcp, mqtt:ssl, mqtt:ws and mqtt:wss, TLS with
    the certificate nginx uses; the API lists them (and /metrics), and
    clients on each are counted on their own listener."""
    import paho.mqtt.client as mqtt
    r = run()
    r.wait_up()
    err = r.stderr()
    p = r.ports
    cert = os.path.join(r.state, "tls", "cert.pem")
    for url in (f"mqtts://127.0.0.1:{p['MQTTD_MQTTS_PORT']}",
                f"ws://127.0.0.1:{p['MQTTD_WS_PORT']}/mqtt",
                f"wss://127.0.0.1:{p['MQTTD_WSS_PORT']}/mqtt"):
        assert url in err, err
    sub = subprocess.Popen(
        ["mosquitto_sub", "-h", "127.0.0.1", "-p",
         str(p["MQTTD_MQTTS_PORT"]), "--cafile", cert, "-t", "dr/1",
         "-C", "1", "-W", "10"], stdout=subprocess.PIPE, text=True)
    clients = []
    for port, tls in ((p["MQTTD_WS_PORT"], False),
                      (p["MQTTD_WSS_PORT"], True)):
        c = mqtt.Client(client_id="dr-%d" % port, transport="websockets")
        if tls:
            c.tls_set(ca_certs=cert)
        c.connect("127.0.0.1", port)
        c.loop_start()
        clients.append(c)
    want = {"mqtt:tcp": (p["MQTTD_MQTT_PORT"], 0),
            "mqtt:ssl": (p["MQTTD_MQTTS_PORT"], 1),
            "mqtt:ws": (p["MQTTD_WS_PORT"], 1),
            "mqtt:wss": (p["MQTTD_WSS_PORT"], 1)}
    try:
        deadline = time.monotonic() + 10
        while True:
            st, body = r.get("/api/v2/monitoring/listeners")
            assert st == 200, body
            rows = {x["protocol"]: x for x in body["result"][r.node]
                    if x["protocol"].startswith("mqtt:")
                    and x["protocol"] != "mqtt:api"}
            got = {k: (int(v["listen"].rsplit(":", 1)[1]),
                       v["current_clients"]) for k, v in rows.items()}
            if got == want or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert got == want
        # connected is not yet subscribed: publish until it has one
        deadline = time.monotonic() + 10
        while sub.poll() is None and time.monotonic() < deadline:
            clients[1].publish("dr/1", b"through-wss",
                               qos=1).wait_for_publish()
            time.sleep(0.2)
        out, _ = sub.communicate(timeout=15)
        assert out.strip() == "through-wss"
        req = urllib.request.Request(
            f"http://127.0.0.1:{p['MQTTD_HTTP_PORT']}/metrics")
        req.add_header("Authorization", "Basic " + base64.b64encode(
            b"admin:public").decode())
        with urllib.request.urlopen(req, timeout=10) as m:
            text = m.read().decode()
        for proto in want:
            assert 'protocol="%s"' % proto in text
        # a client's record names the listener it came in on
        for port, proto in ((p["MQTTD_WS_PORT"], "mqtt:ws"),
                            (p["MQTTD_WSS_PORT"], "mqtt:wss")):
            st, body = r.get("/api/v2/clients/dr-%d" % port)
            assert st == 200, body
            objs = body["result"]["objects"]
            assert [o["protocol"] for o in objs] == [proto], body
    finally:
        sub.kill()
        for c in clients:
            c.loop_stop()
            c.disconnect()
