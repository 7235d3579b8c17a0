# SPDX-License-Identifier: BSD-2-Clause
"""Real database servers for the auth plugin tests, each on a free port in
a temporary directory, stopped (and removed) afterwards.

    r = Redis(); r.start(); r.cli("HSET", "k", "f", "v"); r.stop()
    p = Postgres(); p.start(); p.sql("select 1"); p.stop()

PostgreSQL refuses to run as root: as root, the cluster belongs to
`nobody` and every server command runs through `runuser -u nobody`.
"""
import os
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

from conftest import free_port

PG_BIN = "/usr/lib/postgresql/15/bin"


class Redis:
    def __init__(self, password=None):
        self.dir = tempfile.mkdtemp(prefix="mqttd-redis-")
        self.port = free_port()
        self.proc = None
        self.password = password
        self.sock = os.path.join(self.dir, "redis.sock")

    def start(self):
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind",
             "127.0.0.1", "--save", "", "--appendonly", "no", "--dir",
             self.dir, "--enable-debug-command", "yes", "--unixsocket",
             self.sock, *(["--requirepass", self.password]
                          if self.password else [])],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            r = subprocess.run(["redis-cli", *self._auth(), "-p",
                                str(self.port), "PING"],
                               capture_output=True, text=True)
            if r.stdout.strip() == "PONG":
                return self
            time.sleep(0.05)
        raise AssertionError("redis-server did not start")

    def _auth(self):
        return ["--no-auth-warning", "-a", self.password] \
            if self.password else []

    def cli(self, *args, wait=True, db=0):
        argv = ["redis-cli", *self._auth(), "-p", str(self.port), "-n",
                str(db), *args]
        if not wait:
            return subprocess.Popen(argv, stdout=subprocess.DEVNULL)
        r = subprocess.run(argv, capture_output=True, text=True, check=True)
        return r.stdout.strip()

    def stop(self):
        if self.proc is not None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None

    def pause(self, on):
        self.proc.send_signal(signal.SIGSTOP if on else signal.SIGCONT)

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class Postgres:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="mqttd-pg-")
        os.chmod(self.dir, 0o755)
        self.data = os.path.join(self.dir, "data")
        self.sock = os.path.join(self.dir, "sock")
        os.mkdir(self.sock)
        self.port = free_port()
        self.user = "nobody" if os.geteuid() == 0 else None
        if self.user:
            shutil.chown(self.dir, self.user)
            shutil.chown(self.sock, self.user)
        self.started = False

    def _run(self, argv, **kw):
        if self.user:
            argv = ["runuser", "-u", self.user, "--", *argv]
        return subprocess.run(argv, capture_output=True, text=True, **kw)

    def start(self):
        if not os.path.exists(self.data):
            r = self._run([PG_BIN + "/initdb", "-D", self.data, "-U",
                           "mqtt", "-A", "trust", "--no-sync"])
            assert r.returncode == 0, r.stderr
        r = self._run([PG_BIN + "/pg_ctl", "-D", self.data, "-w", "-l",
                       os.path.join(self.dir, "log"), "-o",
                       "-p %d -k %s -c listen_addresses=127.0.0.1 "
                       "-c fsync=off" % (self.port, self.sock), "start"])
        assert r.returncode == 0, r.stderr + self.log()
        self.started = True
        return self

    def log(self):
        try:
            with open(os.path.join(self.dir, "log")) as f:
                return f.read()
        except OSError:
            return ""

    def sql(self, text, db="postgres"):
        r = self._run(["psql", "-h", self.sock, "-p", str(self.port), "-U",
                       "mqtt", "-d", db, "-v", "ON_ERROR_STOP=1", "-qAt",
                       "-c", text])
        assert r.returncode == 0, r.stderr
        return r.stdout.strip()

    def sql_async(self, text, db="postgres"):
        argv = ["psql", "-h", self.sock, "-p", str(self.port), "-U", "mqtt",
                "-d", db, "-qAt", "-c", text]
        if self.user:
            argv = ["runuser", "-u", self.user, "--", *argv]
        return subprocess.Popen(argv, stdout=subprocess.DEVNULL)

    def conninfo(self, db="postgres"):
        return "hostaddr=127.0.0.1 port=%d user=mqtt dbname=%s" % (
            self.port, db)

    def stop(self, mode="fast"):
        if self.started:
            self._run([PG_BIN + "/pg_ctl", "-D", self.data, "-w", "-m",
                       mode, "stop"])
            self.started = False

    def cleanup(self):
        self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def redis():
    r = Redis().start()
    yield r
    r.cleanup()


@pytest.fixture
def postgres():
    p = Postgres().start()
    yield p
    p.cleanup()
