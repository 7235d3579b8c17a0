# SPDX-License-Identifier: BSD-2-Clause
"""The segment cannot be squatted or spoofed by another local user.

The test makes an unprivileged user (removed at the end) and, as that
user, does what issue 16 found: creates in /dev/shm the object a broker
would once have used for this state directory (its name was a hash of the
path) with a live pid at offset 48, fills /dev/shm with more would-be
names, and tries to write the state directory's record.  The broker starts
regardless (its name is random, recorded in STATE_DIR/segment) and the
readers (mqttdctl, the API workers) refuse a record or an object owned by
that user; a stale record naming the user's object does not stop the next
broker either.
"""
import os
import pwd
import struct
import subprocess
import uuid

import pytest

from broker_fixture import Broker, build_path, shm_path_for


def fnv_name(state_dir):
    """The old, predictable segment name of a state dir."""
    h = 0xcbf29ce484222325
    for byte in os.path.realpath(state_dir).encode():
        h = ((h ^ byte) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return "/dev/shm/mqttd.%016x" % h


@pytest.fixture
def intruder():
    """A fresh unprivileged user; removed (with its /dev/shm files)."""
    if os.geteuid() != 0:
        pytest.fail("this test makes a user: run the suite as root "
                    "(./dev test does, in CI)")
    name = "mqsquat%d" % (os.getpid() % 100000)
    subprocess.run(["userdel", name], capture_output=True)
    subprocess.run(["useradd", "--system", "--no-create-home",
                    "--shell", "/usr/sbin/nologin", name], check=True)
    pw = pwd.getpwnam(name)
    made = []
    try:
        yield pw, made
    finally:
        for p in made:
            try:
                os.unlink(p)
            except FileNotFoundError:
                pass
        subprocess.run(["userdel", name], check=True)


def as_user(pw, code):
    """Runs python code as the intruder; returns CompletedProcess."""
    return subprocess.run(["/usr/bin/python3", "-c", code],
                          user=pw.pw_uid, group=pw.pw_gid, extra_groups=[],
                          capture_output=True, text=True, timeout=20)


def squat(pw, made, path, pid):
    """The issue's squat: 4096 bytes, a live pid (int32) at offset 48."""
    code = ("import os,struct\n"
            "fd = os.open(%r, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)\n"
            "b = bytearray(4096)\n"
            "b[48:52] = struct.pack('<i', %d)\n"
            "os.write(fd, bytes(b))\n" % (path, pid))
    made.append(path)
    r = as_user(pw, code)
    assert r.returncode == 0, r.stderr
    assert os.stat(path).st_uid == pw.pw_uid


def mqttdctl(state_dir, *args):
    return subprocess.run([build_path("mqttdctl"), "--state-dir", state_dir,
                           *args], capture_output=True, text=True, timeout=10)


def test_squatter_cannot_stop_or_spoof_the_broker(intruder):
    pw, made = intruder
    b = Broker()
    os.chmod(b.state_dir, 0o755)  # the intruder may even look inside
    try:
        # Everything the intruder could know in advance is taken.
        squat(pw, made, fnv_name(b.state_dir), 1)
        for _ in range(8):
            squat(pw, made, "/dev/shm/mqttd.%s" % uuid.uuid4().hex, 1)
        b.start()
        node = b.segment("node")
        assert node["alive"] is True and node["pid"] == b.proc.pid
        seg = shm_path_for(b.state_dir)
        assert seg not in made and os.path.exists(seg)
        st = os.stat(seg)
        assert st.st_uid == os.geteuid() and st.st_mode & 0o777 == 0o640
        rec = os.path.join(b.state_dir, "segment")
        assert os.stat(rec).st_mode & 0o777 == 0o640

        # The record is ours alone to write.
        r = as_user(pw, "open(%r, 'w').write('/mqttd.%s\\n')"
                    % (rec, "0" * 32))
        assert r.returncode != 0 and "Permission denied" in r.stderr
        r = as_user(pw, "import os; os.rename(%r, %r)"
                    % (rec, rec + ".x"))
        assert r.returncode != 0

        # A reader follows only a record and an object of its own user:
        # point the record at the intruder's object...
        fake = "/dev/shm/mqttd.%s" % uuid.uuid4().hex
        squat(pw, made, fake, os.getpid())
        with open(rec) as f:
            real = f.read()
        with open(rec, "w") as f:
            f.write(fake[len("/dev/shm"):] + "\n")
        r = mqttdctl(b.state_dir, "node")
        assert r.returncode == 1 and "Operation not permitted" in r.stderr
        # ... or hand the record itself to the intruder.
        with open(rec, "w") as f:
            f.write(real)
        os.chown(rec, pw.pw_uid, pw.pw_gid)
        r = mqttdctl(b.state_dir, "node")
        assert r.returncode == 1 and "Operation not permitted" in r.stderr
        os.chown(rec, 0, 0)
        assert mqttdctl(b.state_dir, "node").returncode == 0

        # A broker killed with SIGKILL leaves its record; if the intruder's
        # object is what that record names (with a live pid in it), the
        # next broker still starts: a foreign object is never "ours".
        b.proc.kill()
        b.proc.wait(timeout=10)
        b.proc = None
        os.unlink(seg)
        with open(rec, "w") as f:
            f.write(fake[len("/dev/shm"):] + "\n")
        b.start()
        assert b.segment("node")["alive"] is True
        assert shm_path_for(b.state_dir) not in made
        assert os.path.exists(fake)  # left alone, not ours to remove
    finally:
        b.cleanup()
