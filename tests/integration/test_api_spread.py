# SPDX-License-Identifier: BSD-2-Clause
"""Issue 16 item 3: after a worker is respawned, nginx's load reaches it
again within seconds.

nginx keeps connections to the workers' one socket; a new connection goes
to whichever worker accepts it.  When a worker dies, nginx reconnects its
kept connections to the survivors, and without recycling they stay there:
the respawned worker got nothing (0 connections 8 s later in 4 of 5 runs).
The upstream's keepalive_time closes a kept connection after a bounded time
(at the end of a request), so nginx reconnects, and the workers' accept
(one per wake-up, EPOLLEXCLUSIVE) spreads the new connections again.
"""
import os
import re
import signal
import subprocess
import threading
import time

from stack import Stack, children, get_loop, ok, wait_for


def conns_by_pid(sock_path):
    """Connected unix stream sockets of the workers' listening path, by
    the pid holding them (ss: the local address is the socket's path)."""
    out = subprocess.run(["ss", "-xpnH", "state", "connected"],
                         capture_output=True, text=True, timeout=10).stdout
    n = {}
    for line in out.splitlines():
        if sock_path not in line:
            continue
        for pid in set(re.findall(r"pid=(\d+)", line)):
            n[int(pid)] = n.get(int(pid), 0) + 1
    return n


def test_respawned_worker_gets_load_again():
    with Stack(workers=2) as st:
        ok(st.get("management/nodes"))
        master = st.pid("mqttd-api")
        ws = wait_for(lambda: len(children(master)) == 2 and
                      children(master))
        stop, errors = threading.Event(), []
        threads = [threading.Thread(target=get_loop, args=(st, stop, errors))
                   for _ in range(8)]
        for t in threads:
            t.start()
        try:
            time.sleep(1.5)
            victim = sorted(ws)[0]
            os.kill(victim, signal.SIGKILL)
            new = wait_for(lambda: [w for w in children(master)
                                    if w not in ws], timeout=5)
            assert new
            t0 = time.monotonic()
            got = 0
            while time.monotonic() - t0 < 6 and not got:
                got = conns_by_pid(st.api_socket).get(new[0], 0)
                time.sleep(0.2)
            took = time.monotonic() - t0
        finally:
            stop.set()
            for t in threads:
                t.join()
        print("new worker's first kept connection after %.1f s" % took)
        assert got > 0, conns_by_pid(st.api_socket)
        assert took < 4
        assert len(errors) <= 8, errors  # at most what the dead one held
