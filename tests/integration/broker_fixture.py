# SPDX-License-Identifier: BSD-2-Clause
"""Start the real mqttd for an integration test.

    from broker_fixture import Broker          # or use the fixtures below

    b = Broker(extra_args=["--log-level", "debug"])
    b.start()              # waits for "ready port=P" on --ready-fd
    b.port, b.state_dir, b.node
    b.ctl({"cmd": "ping"})           # -> {"code": 0}
    b.segment("clients")             # -> parsed JSON from mqttdctl
    b.restart()                      # same state dir, new port
    b.stop()                         # SIGTERM; fails on sanitizer reports

The broker is started per the command-line contract of docs/architecture.md:
    mqttd --state-dir DIR --node NAME --listen 127.0.0.1:0 --ready-fd N ...
Its stderr goes to DIR/mqttd.stderr (a file, so a chatty broker can never
block on a full pipe); failures quote it.

Fixtures:
    broker          a started Broker, stopped (and checked) after the test
    broker_factory  broker_factory(extra_args=[...], files={...},
                    start=True) -> Broker; all are stopped after the test
"""
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

from conftest import BUILDDIR

READY_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0
SANITIZER_MARKS = ("Sanitizer", "runtime error", "LeakSanitizer")


def build_path(name):
    """Path of a program built in MQTTD_BUILDDIR."""
    return os.path.join(BUILDDIR, name)


class BrokerError(AssertionError):
    pass


def shm_path_for(state_dir):
    """/dev/shm path of a state dir's segment, as its record
    (STATE_DIR/segment, see shm_name_lookup()) names it; None without."""
    try:
        with open(os.path.join(state_dir, "segment")) as f:
            name = f.read().strip()
    except FileNotFoundError:
        return None
    return "/dev/shm" + name


class Broker:
    def __init__(self, extra_args=None, node=None, state_dir=None,
                 files=None, listen="127.0.0.1:0"):
        self.extra_args = list(extra_args or [])
        self.listen = listen
        self._own_dir = state_dir is None
        self.state_dir = state_dir or tempfile.mkdtemp(prefix="mqttd-it-")
        # The node name follows EMQ's name@host shape; unique per broker so
        # parallel brokers never share a $SYS tree by accident.
        self.node = node or "mqttd%d@127.0.0.1" % (os.getpid() % 100000)
        self.proc = None
        self.port = None
        self.ports = []
        self.stderr_path = os.path.join(self.state_dir, "mqttd.stderr")
        self._stderr_seen = 0
        self._shm_path = None
        for name, text in (files or {}).items():
            self.write_file(name, text)

    # -- files in the state dir ------------------------------------------
    def path(self, name):
        return os.path.join(self.state_dir, name)

    def write_file(self, name, text, mode=0o600):
        p = self.path(name)
        with open(p, "w") as f:
            f.write(text)
        os.chmod(p, mode)
        return p

    def stderr(self):
        try:
            with open(self.stderr_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    # -- life cycle ------------------------------------------------------
    def command(self, ready_fd):
        return [build_path("mqttd"), "--state-dir", self.state_dir,
                "--node", self.node, "--listen", self.listen,
                "--ready-fd", str(ready_fd), *self.extra_args]

    def start(self):
        if self.proc is not None:
            raise BrokerError("broker already running")
        if not os.access(build_path("mqttd"), os.X_OK):
            raise BrokerError("no mqttd at %s: build it (make mqttd mqttdctl)"
                              " or set MQTTD_BUILDDIR" % build_path("mqttd"))
        rfd, wfd = os.pipe()
        errf = open(self.stderr_path, "a")
        self._stderr_seen = os.fstat(errf.fileno()).st_size
        try:
            self.proc = subprocess.Popen(
                self.command(wfd), pass_fds=(wfd,), stdin=subprocess.DEVNULL,
                stdout=errf, stderr=errf, cwd=self.state_dir)
        finally:
            os.close(wfd)
            errf.close()
        try:
            line = self._read_ready(rfd)
        finally:
            os.close(rfd)
        if not line.startswith("ready port="):
            self._abort("bad ready line %r" % line)
        self.ports = [int(p) for p in line[len("ready port="):].split(",")
                      if p]
        if not self.ports:
            self._abort("no port in ready line %r" % line)
        self.port = self.ports[0]
        # Where the segment should be, to check that stop() removes it;
        # None (no check) if the naming scheme is not the one we know.
        self._shm_path = shm_path_for(self.state_dir)
        if self._shm_path and not os.path.exists(self._shm_path):
            self._shm_path = None
        return self

    def _read_ready(self, rfd):
        buf = b""
        deadline = time.monotonic() + READY_TIMEOUT
        while b"\n" not in buf:
            left = deadline - time.monotonic()
            if left <= 0:
                self._abort("no ready line within %.0f s" % READY_TIMEOUT)
            r, _, _ = select.select([rfd], [], [], min(left, 0.2))
            if r:
                chunk = os.read(rfd, 256)
                if not chunk:  # closed without a full line
                    if buf:
                        break
                    self._abort("ready fd closed without a line")
                buf += chunk
            elif self.proc.poll() is not None:
                self._abort("exited with %d before ready" %
                            self.proc.returncode)
        return buf.split(b"\n", 1)[0].decode(errors="replace").strip()

    def _abort(self, why):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None
        raise BrokerError("mqttd %s\ncommand: %s\nstderr:\n%s" % (
            why, " ".join(self.command(0)), self.stderr()[-8000:]))

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, check=True):
        """SIGTERM and wait.  With check: fail on a crash, a non-zero exit
        or a sanitizer report in stderr."""
        if self.proc is None:
            return None
        proc, self.proc = self.proc, None
        died_early = proc.poll() is not None
        if not died_early:
            proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            if check:
                raise BrokerError("mqttd did not exit within %.0f s of "
                                  "SIGTERM\nstderr:\n%s" %
                                  (STOP_TIMEOUT, self.stderr()[-8000:]))
            return None
        if check:
            err = self.stderr()[self._stderr_seen:]
            bad = [m for m in SANITIZER_MARKS if m in err]
            if bad or rc != 0 or died_early:
                raise BrokerError(
                    "mqttd %s (rc=%s, %s)\nstderr:\n%s" % (
                        "died before stop" if died_early else "bad exit",
                        rc, ",".join(bad) or "no sanitizer report",
                        err[-8000:]))
            # A clean exit unlinks the segment (else /dev/shm fills up).
            if self._shm_path and os.path.exists(self._shm_path):
                raise BrokerError("mqttd exited but its segment %s is still "
                                  "there" % self._shm_path)
        return rc

    def restart(self, extra_args=None):
        """Stop (checked) and start again with the same state dir."""
        self.stop()
        if extra_args is not None:
            self.extra_args = list(extra_args)
        return self.start()

    def cleanup(self):
        try:
            self.stop(check=False)
        finally:
            if self._own_dir:
                shutil.rmtree(self.state_dir, ignore_errors=True)

    # -- control socket --------------------------------------------------
    def ctl_socket(self, timeout=5.0):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.connect(self.path("mqttd.ctl"))
        return s

    def ctl_raw(self, line, timeout=5.0):
        """Send one raw line (bytes or str, newline added if missing) and
        return the reply line parsed as JSON."""
        if isinstance(line, str):
            line = line.encode()
        if not line.endswith(b"\n"):
            line += b"\n"
        with self.ctl_socket(timeout) as s:
            s.sendall(line)
            return json.loads(read_line(s))

    def ctl(self, req, timeout=5.0):
        """One request dict -> its reply dict."""
        return self.ctl_raw(json.dumps(req), timeout)

    # -- the segment, through mqttdctl ----------------------------------
    def segment_raw(self, what, *args, timeout=10.0):
        return subprocess.run(
            [build_path("mqttdctl"), "--state-dir", self.state_dir, what,
             *map(str, args)], capture_output=True, text=True,
            timeout=timeout)

    def segment(self, what, *args, timeout=10.0):
        r = self.segment_raw(what, *args, timeout=timeout)
        if r.returncode != 0:
            raise BrokerError("mqttdctl %s %s: rc=%d\nstdout:%s\nstderr:%s" %
                              (what, " ".join(map(str, args)), r.returncode,
                               r.stdout, r.stderr))
        try:
            return json.loads(r.stdout)
        except ValueError as e:
            raise BrokerError("mqttdctl %s: not JSON (%s): %r" %
                              (what, e, r.stdout[:2000]))

    # Convenience views.
    def clients(self):
        return rows(self.segment("clients"), "clients")

    def client(self, client_id):
        for c in self.clients():
            if c.get("client_id") == client_id:
                return c
        return None

    def sessions(self):
        return rows(self.segment("sessions"), "sessions")

    def session(self, client_id):
        for s in self.sessions():
            if s.get("client_id") == client_id:
                return s
        return None

    def subscriptions(self):
        return rows(self.segment("subscriptions"), "subscriptions")

    def routes(self):
        return rows(self.segment("routes"), "routes")

    def listeners(self):
        return rows(self.segment("listeners"), "listeners")

    def plugins(self):
        return {p["name"]: p for p in rows(self.segment("plugins"),
                                             "plugins")}

    def metrics(self):
        return flat(self.segment("metrics"))

    def stats(self):
        return flat(self.segment("stats"))

    def wait_metric(self, name, pred, timeout=5.0):
        """Poll the metrics until pred(value of name); return the value."""
        deadline = time.monotonic() + timeout
        while True:
            v = self.metrics().get(name)
            if v is not None and pred(v):
                return v
            if time.monotonic() > deadline:
                raise BrokerError("metric %s = %r never satisfied the "
                                  "condition" % (name, v))
            time.sleep(0.05)

    def wait_segment(self, what, pred, *args, timeout=5.0):
        """Poll mqttdctl until pred(parsed) is true; return the last view.
        Fails with the last view when it never becomes true."""
        deadline = time.monotonic() + timeout
        while True:
            view = self.segment(what, *args)
            if pred(view):
                return view
            if time.monotonic() > deadline:
                raise BrokerError("segment %s never satisfied the condition;"
                                  " last view: %s" %
                                  (what, json.dumps(view)[:4000]))
            time.sleep(0.05)


def rows(view, key=None):
    """The list of records in a mqttdctl view: the view itself if it is a
    list, else its one list-valued member (or view[key])."""
    if isinstance(view, list):
        return view
    if isinstance(view, dict):
        for k in (key, "items", "data", "objects", "rows"):
            if k and isinstance(view.get(k), list):
                return view[k]
        lists = [v for v in view.values() if isinstance(v, list)]
        if len(lists) == 1:
            return lists[0]
    raise BrokerError("no record list in mqttdctl view: %r" % (view,))


def flat(view):
    """A {name: number} dict from a metrics / stats view, whether it is
    flat, wrapped, or a list of {"name":..,"value":..} records."""
    if isinstance(view, list):
        out = {}
        for r in view:
            if isinstance(r, dict) and "name" in r and "value" in r:
                out[r["name"]] = r["value"]
            elif isinstance(r, dict):
                out.update(flat(r))
        return out
    if isinstance(view, dict):
        if all(not isinstance(v, (dict, list)) for v in view.values()):
            return view
        out = {}
        for k, v in view.items():
            if isinstance(v, (dict, list)):
                out.update(flat(v))
            else:
                out[k] = v
        return out
    raise BrokerError("not a metrics view: %r" % (view,))


def shutdown_count(view, reason):
    """Sum of one shutdown reason ("takeover", ...) over the listeners of
    a mqttdctl listeners view."""
    total = 0
    for lst in rows(view, "listeners"):
        sd = lst.get("shutdown", lst.get("shutdown_count", {}))
        if isinstance(sd, dict):
            total += sd.get(reason, 0)
        elif isinstance(sd, list):
            for e in sd:
                if reason in (e.get("reason"), e.get("name")):
                    total += e.get("count", e.get("value", 0))
    return total


def read_line(s, limit=4 << 20):
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = s.recv(65536)
        if not chunk:
            raise BrokerError("control socket closed before a reply; got %r"
                              % buf[:200])
        buf += chunk
        if len(buf) > limit:
            raise BrokerError("reply longer than %d bytes" % limit)
    return buf.split(b"\n", 1)[0]


def wait_until(pred, timeout=5.0, step=0.02):
    """Poll pred() until true; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() > deadline:
            return v
        time.sleep(step)


@pytest.fixture
def broker_factory():
    made = []

    def make(extra_args=None, files=None, start=True, **kw):
        b = Broker(extra_args=extra_args, files=files, **kw)
        made.append(b)
        if start:
            b.start()
        return b

    yield make
    errors = []
    for b in made:
        try:
            b.stop()
        except BrokerError as e:
            errors.append(str(e))
        finally:
            b.cleanup()
    if errors:
        pytest.fail("\n\n".join(errors))


@pytest.fixture
def broker(broker_factory):
    return broker_factory()
