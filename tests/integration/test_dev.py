# SPDX-License-Identifier: BSD-2-Clause
"""The ./dev entry point: its usage and its refusals."""
import os
import subprocess

from conftest import SRCDIR

DEV = os.path.join(SRCDIR, "dev")


def run_dev(*args):
    return subprocess.run([DEV, *args], capture_output=True, text=True,
                          timeout=60)


def test_usage_on_unknown_command():
    r = run_dev("no-such-command")
    assert r.returncode == 2
    assert "usage" in r.stderr.lower()
    for cmd in ("run", "test", "bench"):
        assert cmd in r.stderr


def test_bench_unknown_name_fails_clearly():
    r = run_dev("bench", "no-such-bench")
    assert r.returncode != 0
    assert "no-such-bench" in r.stderr
