# SPDX-License-Identifier: BSD-2-Clause
"""The real stack for one test: mqttd + mqttd-api + nginx, in a temp state dir.

    from stack import stack          # the pytest fixture (import it so
                                     # pytest sees it in your module)
    def test_x(stack):
        status, body, headers = stack.get("/api/v2/management/nodes")
        assert status == 200 and body["code"] == 0

Everything runs on loopback, on free ports (the broker binds port 0 and
reports its port on --ready-fd), with its own state directory, nginx
configuration rendered by nginx/render from nginx/*.conf.in and a fresh
self-signed certificate.  Teardown stops every process (and every process
of their groups) and fails the test if any stderr mentions a sanitizer or
UBSan's "runtime error", or nginx's error log has [alert] or [emerg].

Stack(...) can also be used directly (with ... as s:) for several stacks in
one test, or with other settings (workers=, node=, env=).
"""
import base64
import http.client
import json
import os
import select
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time

import pytest

from conftest import BUILDDIR, SRCDIR, free_port

ADMIN_USER = "admin"
ADMIN_PASSWORD = "public"
NODE = "mqttd@127.0.0.1"
BAD_WORDS = ("Sanitizer", "runtime error")
NGINX_BAD = ("[alert]", "[emerg]")


class StackError(Exception):
    pass


def _binary(name):
    path = os.path.join(BUILDDIR, name)
    if not os.access(path, os.X_OK):
        raise StackError(f"{path} is not built (make {name} in {BUILDDIR})")
    return path


def _read_ready(fd, proc, what, timeout):
    """Reads the line a process writes to its --ready-fd (until EOF)."""
    deadline = time.monotonic() + timeout
    data = b""
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise StackError(f"{what}: not ready after {timeout} s")
            r, _, _ = select.select([fd], [], [], min(left, 0.2))
            if r:
                chunk = os.read(fd, 256)
                if not chunk:
                    break
                data += chunk
                if b"\n" in data:
                    break
            elif proc.poll() is not None:
                raise StackError(f"{what}: exited with {proc.returncode} "
                                 "before it was ready")
    finally:
        os.close(fd)
    line = data.decode(errors="replace").strip()
    if not line.startswith("ready"):
        raise StackError(f"{what}: expected 'ready...' on the ready fd, "
                         f"got {line!r}")
    return line


def _wait_port(port, proc, what, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise StackError(f"{what}: exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise StackError(f"{what}: port {port} not open after {timeout} s")


class Response(tuple):
    """(status, body, headers): body is parsed JSON when it parses,
    else text; headers is an http.client.HTTPMessage (case-insensitive)."""

    @property
    def status(self):
        return self[0]

    @property
    def body(self):
        return self[1]

    @property
    def headers(self):
        return self[2]


class Stack:
    def __init__(self, workers=2, node=NODE, admin_user=ADMIN_USER,
                 admin_password=ADMIN_PASSWORD, env=None, timeout=20,
                 ws=False):
        self.workers = workers
        self.ws = ws             # an mqtt:ws listener too (ws_port)
        self.ws_port = None
        self.node = node
        self.user = admin_user
        self.password = admin_password
        self.timeout = timeout
        self.extra_env = dict(env or {})
        self.state_dir = None
        self.procs = {}          # name -> Popen
        self.stderr = {}         # name -> path
        self.mqtt_port = None
        self.http_port = None
        self.https_port = None

    # --- lifecycle --------------------------------------------------------

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.stop(check=False)
            raise
        return self

    def __exit__(self, *exc):
        self.stop(check=exc[0] is None)
        return False

    def _env(self):
        env = dict(os.environ)
        env.update({
            "MQTTD_ADMIN_USER": self.user,
            "MQTTD_ADMIN_PASSWORD": self.password,
            "MQTTD_NODE": self.node,
            "MQTTD_STATE_DIR": self.state_dir,
            "MQTTD_HTTP_PORT": str(self.http_port),
            "MQTTD_HTTPS_PORT": str(self.https_port),
            "MQTTD_WORKERS": str(self.workers),
        })
        if self.mqtt_port:
            env["MQTTD_MQTT_PORT"] = str(self.mqtt_port)
        env.update(self.extra_env)
        return env

    def _spawn(self, name, argv, ready_fd=None):
        errpath = os.path.join(self.state_dir, "logs", name + ".stderr")
        self.stderr[name] = errpath
        err = open(errpath, "wb")
        kw = {}
        if ready_fd is not None:
            kw["pass_fds"] = (ready_fd,)
        try:
            p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=err,
                                 stderr=err, env=self._env(),
                                 start_new_session=True, **kw)
        finally:
            err.close()
        self.procs[name] = p
        return p

    def _start_ready(self, name, argv_fn):
        r, w = os.pipe()
        try:
            p = self._spawn(name, argv_fn(w), ready_fd=w)
        finally:
            os.close(w)
        return _read_ready(r, p, name, self.timeout)

    def prepare(self):
        """The state dir and the HTTP(S) ports, nothing started."""
        # Short path: unix socket paths are limited to 108 bytes.
        self.state_dir = tempfile.mkdtemp(prefix="mqttd-")
        os.makedirs(os.path.join(self.state_dir, "logs"), exist_ok=True)
        self.http_port = free_port()
        self.https_port = free_port()
        while self.https_port == self.http_port:
            self.https_port = free_port()

    def start(self):
        self.prepare()
        extra = ["--listen", "ws://127.0.0.1:0"] if self.ws else []
        line = self._start_ready("mqttd", lambda fd: [
            _binary("mqttd"), "--state-dir", self.state_dir,
            "--node", self.node, "--listen", "127.0.0.1:0", *extra,
            "--ready-fd", str(fd)])
        ports = [p.strip() for p in
                 line.partition("port=")[2].split(",")]
        if len(ports) < 1 + self.ws or not all(p.isdigit() for p in ports):
            raise StackError(f"mqttd: no port in ready line {line!r}")
        self.mqtt_port = int(ports[0])
        if self.ws:
            self.ws_port = int(ports[1])

        self._start_ready("mqttd-api", lambda fd: [
            _binary("mqttd-api"), "--state-dir", self.state_dir,
            "--socket", self.api_socket, "--workers", str(self.workers),
            "--node", self.node, "--ready-fd", str(fd)])

        self.start_nginx()

    def start_nginx(self):
        r = subprocess.run([os.path.join(SRCDIR, "nginx", "render"),
                            self.state_dir], env=self._env(),
                           capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            raise StackError(f"nginx/render failed: {r.stderr}")
        p = self._spawn("nginx", self.nginx_argv())
        _wait_port(self.http_port, p, "nginx", self.timeout)
        _wait_port(self.https_port, p, "nginx", self.timeout)

    def nginx_argv(self):
        d = self.state_dir
        return ["/usr/sbin/nginx", "-p", d + "/", "-c", d + "/nginx.conf",
                "-e", d + "/logs/error.log", "-g", "daemon off;"]

    def stop(self, check=True):
        problems = []
        # Front first, broker last: the reverse of start.
        for name in ("nginx", "mqttd-api", "mqttd"):
            p = self.procs.get(name)
            if p is None:
                continue
            if p.poll() is None:
                # The leader stops its own children (signalling the whole
                # group races nginx's master, which logs an [alert] when
                # a worker it signals is already gone).
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    problems.append(f"{name} did not stop within 5 s "
                                    "of SIGTERM")
            # Anything left in its group (workers) goes too.
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            if p.poll() is None:
                p.kill()
                p.wait(timeout=5)
        for name, path in self.stderr.items():
            text = self._read(path)
            for w in BAD_WORDS:
                if w in text:
                    problems.append(f"{name} stderr has {w!r}:\n"
                                    + text[-4000:])
                    break
        if self.state_dir:
            log = self._read(os.path.join(self.state_dir, "logs",
                                          "error.log"))
            for w in NGINX_BAD:
                if w in log:
                    problems.append(f"nginx error.log has {w}:\n"
                                    + log[-4000:])
                    break
        if check and problems:
            raise StackError("\n".join(problems))
        if self.state_dir and not problems:
            shutil.rmtree(self.state_dir, ignore_errors=True)
        elif self.state_dir:
            print(f"stack: state dir kept: {self.state_dir}")

    @staticmethod
    def _read(path):
        try:
            with open(path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def log(self, name):
        """The stderr of 'mqttd', 'mqttd-api' or 'nginx' so far (for
        nginx, its error.log)."""
        if name == "nginx":
            return self._read(os.path.join(self.state_dir, "logs",
                                           "error.log"))
        return self._read(self.stderr[name])

    # --- addresses --------------------------------------------------------

    @property
    def api_socket(self):
        return os.path.join(self.state_dir, "api.sock")

    @property
    def ctl_socket(self):
        return os.path.join(self.state_dir, "mqttd.ctl")

    @property
    def cert(self):
        return os.path.join(self.state_dir, "tls", "cert.pem")

    @property
    def http_url(self):
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def https_url(self):
        return f"https://127.0.0.1:{self.https_port}"

    @property
    def api_url(self):
        return self.http_url + "/api/v2/"

    @property
    def credentials(self):
        return (self.user, self.password)

    def pid(self, name):
        return self.procs[name].pid

    def alive(self, name):
        return self.procs[name].poll() is None

    # --- HTTP -------------------------------------------------------------

    def ssl_context(self, **kw):
        """A client context trusting this stack's certificate; kw are
        attributes to set on it (e.g. maximum_version=...)."""
        ctx = ssl.create_default_context(cafile=self.cert)
        for k, v in kw.items():
            setattr(ctx, k, v)
        return ctx

    def request(self, method, path, body=None, auth=True, https=False,
                headers=None, timeout=10):
        """One request on a new connection.  path is relative to /api/v2/
        unless it starts with '/'.  auth: True (the admin), a (user,
        password) pair, a raw Authorization header value (str), or
        False/None for none.  body: dict/list (sent as JSON), str or bytes.
        Returns Response (status, parsed JSON or text, headers)."""
        if not path.startswith("/"):
            path = "/api/v2/" + path
        hdrs = dict(headers or {})
        if auth is True:
            auth = self.credentials
        if isinstance(auth, tuple):
            tok = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            hdrs["Authorization"] = "Basic " + tok
        elif isinstance(auth, str):
            hdrs["Authorization"] = auth
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
            hdrs.setdefault("Content-Type", "application/json")
        if isinstance(body, str):
            body = body.encode()
        if https:
            conn = http.client.HTTPSConnection(
                "127.0.0.1", self.https_port, timeout=timeout,
                context=self.ssl_context())
        else:
            conn = http.client.HTTPConnection("127.0.0.1", self.http_port,
                                              timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=hdrs)
            resp = conn.getresponse()
            raw = resp.read()
            text = raw.decode(errors="replace")
            try:
                parsed = json.loads(text)
            except ValueError:
                parsed = text
            return Response((resp.status, parsed, resp.headers))
        finally:
            conn.close()

    def get(self, path, auth=True, **kw):
        return self.request("GET", path, auth=auth, **kw)

    def post(self, path, body=None, auth=True, **kw):
        return self.request("POST", path, body=body, auth=auth, **kw)

    def put(self, path, body=None, auth=True, **kw):
        return self.request("PUT", path, body=body, auth=auth, **kw)

    def delete(self, path, auth=True, **kw):
        return self.request("DELETE", path, auth=auth, **kw)

    # --- the broker -------------------------------------------------------

    def ctl(self, obj, timeout=5):
        """One request on the broker's control socket; returns the reply
        (parsed).  obj: dict (sent as JSON) or a raw line (str)."""
        line = obj if isinstance(obj, str) else json.dumps(obj)
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(self.ctl_socket)
            s.sendall(line.encode() + b"\n")
            data = b""
            while not data.endswith(b"\n"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        return json.loads(data)

    def mqttdctl(self, *args, timeout=10):
        """Runs mqttdctl --state-dir D ARGS; returns CompletedProcess."""
        return subprocess.run([_binary("mqttdctl"), "--state-dir",
                               self.state_dir, *args], capture_output=True,
                              text=True, timeout=timeout)

    def mqtt_client(self, client_id, **kw):
        """A connected paho client (loop started); caller disconnects."""
        import paho.mqtt.client as mqtt
        c = mqtt.Client(client_id=client_id, **kw)
        c.connect("127.0.0.1", self.mqtt_port)
        c.loop_start()
        return c


# Assertions on the API envelope, shared by the API tests.
def ok(r):
    """The result of a {"code":0,...} answer."""
    assert r.status == 200, r
    assert isinstance(r.body, dict) and r.body.get("code") == 0, r.body
    return r.body["result"]


def err(r, code):
    """An error answer: HTTP 200, exactly code and message."""
    assert r.status == 200, r
    assert r.body["code"] == code, r.body
    assert list(r.body) == ["code", "message"], r.body
    assert r.body["message"], r.body
    return r.body["message"]


def children(pid):
    """The pids of pid's live (not zombie) children."""
    kids = set()
    for d in os.listdir("/proc"):
        try:
            with open(f"/proc/{d}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (OSError, ValueError):
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            kids.add(int(d))
    return kids


def get_loop(st, stop, errors, took=None):
    """GET management/nodes until stop is set, as one of several loaded
    clients: a non-200 status or a failed request goes into errors, and
    (start, seconds) of each request into took when given."""
    while not stop.is_set():
        t0 = time.monotonic()
        try:
            r = st.get("management/nodes")
            if r.status != 200:
                errors.append(r.status)
        except OSError as e:  # e.g. the request a killed worker had
            errors.append(repr(e))
        if took is not None:
            took.append((t0, time.monotonic() - t0))


def wait_for(fn, timeout=5.0):
    """fn() once it is truthy, or its last value after timeout s."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v or time.monotonic() > deadline:
            return v
        time.sleep(0.05)


@pytest.fixture
def stack():
    with Stack() as s:
        yield s
