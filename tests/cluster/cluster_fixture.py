# SPDX-License-Identifier: BSD-2-Clause
"""N cluster nodes on one machine: nats-server + mqttd each.

    from cluster_fixture import Cluster
    with Cluster(3) as c:
        c.nodes[0].port            # MQTT port of node 1 (127.0.0.1)
        c.nats_kill(1)             # the nats-server of node 2 goes
        c.subs_of(1)               # subjects node 2's mqttd subscribes

Each nats-server listens on free loopback ports (client, route, monitor),
knows every other one by its route port and runs JetStream in its own
temp directory; `start` waits until every server has a route to every
other one, then starts each mqttd (broker_fixture.Broker) with
`--cluster-nats` naming its own server first and the others after it.
Stopping checks each mqttd's exit (sanitizers) as Broker.stop does.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

from broker_fixture import Broker  # noqa: E402
from conftest import free_port  # noqa: E402

NATS_SERVER = shutil.which("nats-server") or "/usr/bin/nats-server"

_handed_out = set()


def unique_port():
    """free_port(), never one this process handed out before: each pick
    closes its socket, so two picks can return the same port (seen: one
    server's route port was another's client port, and it could not
    bind)."""
    while True:
        p = free_port()
        if p not in _handed_out:
            _handed_out.add(p)
            return p


class NatsServer:
    def __init__(self, idx, base):
        self.idx = idx
        self.dir = os.path.join(base, "nats%d" % idx)
        os.makedirs(self.dir)
        self.port = unique_port()
        self.route_port = unique_port()
        self.http_port = unique_port()
        self.proc = None

    @property
    def url(self):
        return "nats://127.0.0.1:%d" % self.port

    def write_conf(self, peers):
        routes = ", ".join("nats-route://127.0.0.1:%d" % p.route_port
                           for p in peers if p is not self)
        with open(os.path.join(self.dir, "nats.conf"), "w") as f:
            f.write("""
listen: 127.0.0.1:%d
http: 127.0.0.1:%d
server_name: n%d
max_control_line: 98304
jetstream { store_dir: "%s/js", max_memory_store: 64MB, max_file_store: 256MB }
cluster {
  name: mqttd-test
  listen: 127.0.0.1:%d
  routes: [ %s ]
}
""" % (self.port, self.http_port, self.idx, self.dir, self.route_port,
                routes))

    def start(self):
        log = open(os.path.join(self.dir, "nats.log"), "a")
        self.proc = subprocess.Popen(
            [NATS_SERVER, "-c", os.path.join(self.dir, "nats.conf")],
            stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        log.close()

    def monitor(self, path):
        with urllib.request.urlopen("http://127.0.0.1:%d/%s" % (
                self.http_port, path), timeout=2) as r:
            return json.loads(r.read())

    def stop(self, sig=signal.SIGTERM):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


class Cluster:
    def __init__(self, n, extra_args=None):
        self.base = tempfile.mkdtemp(prefix="mqttd-cluster-")
        self.nats = [NatsServer(i + 1, self.base) for i in range(n)]
        for s in self.nats:
            s.write_conf(self.nats)
        self.nodes = []
        self.extra_args = list(extra_args or [])

    def urls_for(self, i):
        order = [self.nats[i]] + [s for s in self.nats if s is not
                                  self.nats[i]]
        return ",".join(s.url for s in order)

    def start(self):
        for s in self.nats:
            s.start()
        self.wait_routes()
        for i in range(len(self.nats)):
            d = os.path.join(self.base, "node%d" % (i + 1))
            os.makedirs(d)
            b = Broker(node="mqttd%d@127.0.0.1" % (i + 1), state_dir=d,
                       extra_args=["--cluster-nats", self.urls_for(i),
                                   *self.extra_args])
            self.nodes.append(b)
            b.start()
        for i in range(len(self.nodes)):
            self.wait_connected(i)
            self.wait_bucket(i)
        return self

    def wait_bucket(self, i, timeout=30.0):
        """Until node i has bound the retained messages' bucket (a new
        JetStream cluster elects its leader first: seconds)."""
        deadline = time.monotonic() + timeout
        while "bucket mqttd_retained bound" not in self.nodes[i].stderr():
            if time.monotonic() > deadline:
                raise AssertionError("node %d never bound the bucket:\n%s"
                                     % (i + 1, self.nodes[i].stderr()))
            time.sleep(0.1)

    def wait_routes(self, timeout=20.0):
        want = len(self.nats) - 1
        deadline = time.monotonic() + timeout
        while True:
            try:
                if all(s.proc is None or
                       s.monitor("routez")["num_routes"] >= want
                       for s in self.nats):
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("nats-servers did not route: %s" % [
                    open(os.path.join(s.dir, "nats.log")).read()[-2000:]
                    for s in self.nats])
            time.sleep(0.1)

    def mqttd_conns(self, i):
        """The client connections of nats-server i named like an mqttd."""
        conns = self.nats[i].monitor("connz?subs=1")["connections"] or []
        return [c for c in conns if c.get("name", "").startswith("mqttd")]

    def wait_connected(self, i, timeout=10.0):
        """Until node i's mqttd has a connection on some nats-server."""
        name = self.nodes[i].node
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for j, s in enumerate(self.nats):
                if s.proc is None:
                    continue
                try:
                    if any(c.get("name") == name
                           for c in self.mqttd_conns(j)):
                        return j
                except OSError:
                    pass
            time.sleep(0.05)
        raise AssertionError("%s never connected to NATS:\n%s" % (
            name, self.nodes[i].stderr()[-3000:]))

    def subs_of(self, i):
        """Message subjects (mq.*) node i's mqttd subscribes, as its
        nats-server says (with repeats, if it subscribed one twice)."""
        name = self.nodes[i].node
        for j, s in enumerate(self.nats):
            if s.proc is None:
                continue
            for c in self.mqttd_conns(j):
                if c.get("name") == name:
                    return sorted(x for x in c.get("subscriptions_list")
                                  or [] if x.startswith("mq."))
        return None

    def stop(self, check=True):
        errors = []
        for b in self.nodes:
            try:
                b.stop(check=check)
            except AssertionError as e:
                errors.append(str(e))
        for s in self.nats:
            s.stop()
        if errors:
            raise AssertionError("\n".join(errors))

    def cleanup(self):
        try:
            self.stop(check=False)
        finally:
            shutil.rmtree(self.base, ignore_errors=True)

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.cleanup()
            raise

    def __exit__(self, *exc):
        try:
            if exc[0] is None:
                self.stop()
        finally:
            self.cleanup()
