"""`./dev run`'s stack (nginx/stack BUILDDIR, which dev's cmd_run execs):
it comes up, serves the live node with admin/public, warns about the
default password, stops cleanly on SIGTERM and SIGINT leaving no process,
stops everything and fails when one part dies, and runs beside a second
stack with other ports and state dir.
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


@pytest.mark.parametrize("victim", ["mqttd", "nginx"])
def test_a_dead_part_stops_the_stack(run, victim):
    r = run()
    r.wait_up()
    procs = r.processes()
    pid = [p for p, c in procs.items()
           if (c.startswith(os.path.join(BUILDDIR, "mqttd") + " ")
               if victim == "mqttd" else c.startswith("nginx: master"))]
    assert len(pid) == 1, procs
    os.kill(pid[0], signal.SIGKILL)
    rc = r.proc.wait(timeout=15)
    assert rc == 1
    assert f"{victim} exited" in r.stderr()
    time.sleep(0.2)
    left = {p: c for p, c in r.processes().items() if p != r.proc.pid}
    assert not left, left
