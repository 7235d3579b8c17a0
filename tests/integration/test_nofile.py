# SPDX-License-Identifier: BSD-2-Clause
"""Issue 16 item 8: the open-files limit is raised to the hard limit at
start, the capacity is logged, and max_clients defaults from it.

The broker and mqttd-api are started with a soft limit of 256 under a hard
limit of 4096 (prlimit), as a service manager or a shell might leave them.
"""
import os
import subprocess

from broker_fixture import Broker
from stack import Stack, children, wait_for


class LimitedBroker(Broker):
    def command(self, ready_fd):
        return ["prlimit", "--nofile=256:4096", "--"] + \
            super().command(ready_fd)


def soft_nofile(pid):
    with open("/proc/%d/limits" % pid) as f:
        for line in f:
            if line.startswith("Max open files"):
                return int(line.split()[3])
    raise AssertionError("no open-files line")


def test_broker_raises_nofile_and_sizes_max_clients():
    b = LimitedBroker()
    try:
        b.start()
        assert soft_nofile(b.proc.pid) == 4096
        assert "open files: limit 4096 (hard 4096): room for 4032 " \
               "clients" in b.stderr()
        assert [l["max_clients"] for l in b.listeners()] == [4032]
        assert b.segment("node")["fds_max"] == 4096
    finally:
        b.cleanup()


def test_explicit_max_clients_wins_and_excess_is_told():
    b = LimitedBroker(extra_args=["--max-clients", "100000"])
    try:
        b.start()
        assert [l["max_clients"] for l in b.listeners()] == [100000]
        assert "exceed what the open-files limit allows (4032)" in b.stderr()
    finally:
        b.cleanup()


def test_api_master_and_workers_raise_nofile():
    st = Stack()
    orig = st._spawn

    def spawn(name, argv, ready_fd=None):
        if name == "mqttd-api":
            argv = ["prlimit", "--nofile=256:4096", "--"] + list(argv)
        return orig(name, argv, ready_fd)
    st._spawn = spawn
    with st:
        master = st.pid("mqttd-api")
        assert soft_nofile(master) == 4096
        ws = wait_for(lambda: len(children(master)) == 2 and
                      children(master))
        assert ws and all(soft_nofile(w) == 4096 for w in ws)
        assert "open files: limit 4096 per process (hard 4096)" in \
            st.log("mqttd-api")
