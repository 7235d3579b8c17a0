# SPDX-License-Identifier: BSD-2-Clause
"""Password checks off the event loop: crypt(3) runs on the broker's auth
threads, so a client hammering wrong passwords against a yescrypt entry
(tens of ms of crypt each) must not slow anyone else down; the CONNACKs
are those of the synchronous check; a client gone while its check is
pending costs nothing; a full auth queue answers "server busy"."""
import multiprocessing
import socket
import time

import mqtt_raw as m
from broker_fixture import broker_factory  # noqa: F401
from test_broker_plugins import passwd, switch
from test_broker_v5_raw import connack5, connect5


def auth_broker(broker_factory, *extra):
    """alice: yescrypt (slow), bob: SHA-512 crypt; auth_username on."""
    b = broker_factory(start=False)
    uf = b.path("users.passwd")
    passwd(uf, "alice", "alice-pw", yescrypt=True)
    passwd(uf, "bob", "bob-pw")
    b.extra_args = ["--username-file", uf, *extra]
    b.start()
    assert switch(b, "mqttd_auth_username", True) == {"code": 0}
    return b


def connack_rc(c, timeout=10.0):
    return c.expect(m.CONNACK, timeout=timeout).rc


def hammer(port, stop, count):
    """One connection after another with a wrong password, until stop."""
    while not stop.is_set():
        try:
            c = m.Client(port, timeout=10.0)
            c.send(m.connect("hammer", username="alice", password="wrong"))
            if c.expect(m.CONNACK).rc == 4:
                with count.get_lock():
                    count.value += 1
            c.close()
        except (OSError, m.Closed, TimeoutError):
            pass


def round_trips(c, seconds):
    """PINGREQ and QoS 1 PUBLISH round trips for `seconds`: their times."""
    out, pid = [], 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        t = time.monotonic()
        c.send(m.pingreq())
        c.expect(m.PINGRESP, timeout=5.0)
        out.append(time.monotonic() - t)
        pid = pid % 65535 + 1
        t = time.monotonic()
        c.send(m.publish("probe/t", b"x", qos=1, pid=pid))
        assert c.expect(m.PUBACK, timeout=5.0).pid == pid
        out.append(time.monotonic() - t)
        time.sleep(0.005)
    return out


def test_wrong_password_loop_does_not_stall_others(broker_factory):
    """Six processes loop CONNECT with a wrong password for a yescrypt
    user; an already connected client's round trips stay under 50 ms
    (synchronous crypt in the loop made every one of them tens of ms).
    Judged at the 90th percentile: on a shared 2-core machine one round
    trip may lose the CPU to another process for longer than that, which
    says nothing about the broker; a loop that runs crypt delays them all."""
    b = auth_broker(broker_factory)
    probe = m.connected(b.port, "probe", username="bob", password="bob-pw")
    hammered_probe_stays_fast(b.port, probe)


def hammered_probe_stays_fast(port, probe):
    """Six processes hammer wrong passwords for alice while probe (already
    connected) does round trips for 2 s: the hammers are answered and the
    probe's p90 stays under 50 ms.  Closes probe."""
    ctx = multiprocessing.get_context("fork")
    stop, count = ctx.Event(), ctx.Value("i", 0)
    procs = [ctx.Process(target=hammer, args=(port, stop, count))
             for _ in range(6)]
    for p in procs:
        p.start()
    try:
        # The hammers are at it before measuring.
        deadline = time.monotonic() + 10
        while count.value < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
        before = count.value
        rtts = round_trips(probe, 2.0)
        refused = count.value - before
    finally:
        stop.set()
        for p in procs:
            p.join(15)
    probe.close()
    rtts.sort()
    p90 = rtts[int(len(rtts) * 0.9)]
    print("round trips: %d, p90 %.1f ms, max %.1f ms; wrong passwords "
          "answered: %d" % (len(rtts), p90 * 1000, rtts[-1] * 1000, refused))
    assert refused >= 10, "the hammers were not answered (%d)" % refused
    assert len(rtts) >= 20, "only %d round trips in 2 s" % len(rtts)
    assert p90 < 0.050, "p90 round trip of %.1f ms while crypt ran" % (
        p90 * 1000)


def test_connack_codes_and_cache(broker_factory):
    """3.1.1 and 5.0 answers as with the synchronous check; packets sent
    behind a pending CONNECT are handled after it; the accepted password
    is cached (later logins skip crypt)."""
    b = auth_broker(broker_factory, "--allow-anonymous", "false")
    cases = [("alice", "wrong", 4, 0x86), ("alice", None, 4, 0x86),
             ("bob", "nope", 4, 0x86), ("zed", "x", 5, 0x87),
             ("bob", "bob-pw", 0, 0)]
    for user, pw, rc3, rc5 in cases:
        c = m.Client(b.port)
        c.send(m.connect("c3", username=user, password=pw))
        assert connack_rc(c) == rc3, (user, pw)
        if rc3:
            c.expect_closed()
        c.close()
        c = m.Client(b.port)
        c.send(connect5("c5", username=user, password=pw))
        assert connack5(c.expect(m.CONNACK))[1] == rc5, (user, pw)
        if rc5:
            c.expect_closed()
        c.close()

    # First right login: crypt on the auth threads; SUBSCRIBE and PINGREQ
    # in the same write wait behind it and are answered in order.
    c = m.Client(b.port)
    t = time.monotonic()
    c.send(m.connect("a1", username="alice", password="alice-pw") +
           m.subscribe(1, ("t/#", 1)) + m.pingreq())
    assert connack_rc(c) == 0
    first = time.monotonic() - t
    assert c.expect(m.SUBACK).return_codes == [1]
    c.expect(m.PINGRESP)
    # Later logins hit the cache: no crypt.
    later = []
    for i in range(5):
        t = time.monotonic()
        d = m.connected(b.port, "a2-%d" % i, username="alice",
                        password="alice-pw")
        later.append(time.monotonic() - t)
        d.close()
    print("first login %.1f ms, cached max %.1f ms" %
          (first * 1000, max(later) * 1000))
    assert max(later) < first / 2

    # Takeover and will after a pending check, v5 included.
    w = m.Client(b.port)
    w.send(m.connect("a1", username="alice", password="wrong-again"))
    assert connack_rc(w) == 4
    w.close()
    c.send(m.pingreq())
    c.expect(m.PINGRESP)  # a refused login took nothing over
    w = m.Client(b.port)
    w.send(connect5("a1", username="alice", password="alice-pw",
                    will=("t/will", b"gone", 1, False, b"")))
    assert connack5(w.expect(m.CONNACK))[1] == 0
    c.expect_closed()  # taken over
    s = m.connected(b.port, "watcher", username="bob", password="bob-pw")
    s.subscribe(("t/will", 1))
    w.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                      b"\x01\x00\x00\x00\x00\x00\x00\x00")
    w.close()  # abnormal end: the will goes out
    p = s.expect(m.PUBLISH)
    assert p.body.endswith(b"gone")
    s.close()
    assert b.client("a1") is None or wait_gone(b, "a1")


def wait_gone(b, cid, timeout=5.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if b.client(cid) is None:
            return True
        time.sleep(0.02)
    return False


def test_gone_while_pending_costs_nothing(broker_factory):
    """Clients that send a CONNECT and leave before its check is back:
    no CONNACK reaches the sockets that reuse their fds, their checks are
    skipped (a later check is answered at once, not after all of theirs),
    and the broker exits clean (ASan/LSan, fixture)."""
    b = auth_broker(broker_factory, "--auth-threads", "1")
    gone = []
    for i in range(100):
        c = m.Client(b.port)
        c.send(m.connect("g%d" % i, username="alice", password="wrong"))
        gone.append(c)
    for c in gone:
        c.close()
    # New sockets, likely on the fds just freed: they must hear nothing.
    fresh = [m.Client(b.port) for _ in range(20)]
    for c in fresh:
        c.expect_nothing(0.02)
    for i, c in enumerate(fresh):
        c.connect("f%d" % i, username="bob", password="bob-pw")
        c.expect_nothing(0.01)
    # 100 checks one after the other would take 100 times one check: the
    # skipped ones cost none.  Judged against one check timed on the same
    # machine now (a fixed limit failed when the machine was loaded).
    def one_check(cid):
        t = time.monotonic()
        c = m.Client(b.port)
        c.send(m.connect(cid, username="alice", password="wrong"))
        assert connack_rc(c) == 4
        c.close()
        return time.monotonic() - t

    took = one_check("late")
    alone = sorted(one_check("alone%d" % i) for i in range(3))[1]
    print("check after 100 abandoned ones answered in %.0f ms, "
          "one alone %.0f ms" % (took * 1000, alone * 1000))
    assert took < max(0.5, 20 * alone)
    for f in fresh:
        f.send(m.pingreq())
        f.expect(m.PINGRESP)
        f.close()
    assert b.running()


def test_full_queue_answers_server_busy(broker_factory):
    """auth_queue_max 2, one thread: of a burst of wrong-password
    CONNECTs, those past the bound get CONNACK 3 (v5: 0x89 Server busy)
    at once; the rest their 4; the burst is logged once."""
    b = auth_broker(broker_factory, "--auth-threads", "1",
                    "--auth-queue-max", "2")
    # All connected first, then the CONNECTs back to back: one burst.
    cs = [m.Client(b.port) for _ in range(10)]
    for i, c in enumerate(cs):
        c.send(m.connect("b%d" % i, username="alice", password="wrong"))
    rcs = [connack_rc(c) for c in cs]
    for c in cs:
        c.close()
    assert set(rcs) <= {3, 4}, rcs
    assert rcs.count(3) >= 5 and rcs.count(4) >= 2, rcs
    busy = rcs.count(3)
    # v5: Server busy.
    cs = [m.Client(b.port) for _ in range(10)]
    for i, c in enumerate(cs):
        c.send(connect5("v%d" % i, username="alice", password="wrong"))
    rcs = [connack5(c.expect(m.CONNACK, timeout=10))[1] for c in cs]
    for c in cs:
        c.close()
    assert set(rcs) <= {0x89, 0x86}, rcs
    assert rcs.count(0x89) >= 5 and rcs.count(0x86) >= 2, rcs
    busy += rcs.count(0x89)
    # Room again: an ordinary login works, and the burst's end is logged.
    m.connected(b.port, "ok", username="alice", password="alice-pw").close()
    err = b.stderr()
    # Logged when the queue fills, not per refusal (a slot freed in the
    # middle of a burst may start a new one).
    full = err.count("auth queue full")
    assert 2 <= full < busy, (full, busy, err[-3000:])
    assert "has room again" in err
