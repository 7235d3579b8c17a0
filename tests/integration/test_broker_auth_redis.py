# SPDX-License-Identifier: BSD-2-Clause
"""mqttd_auth_redis against a real redis-server (backends.Redis): EMQ
2.3's model (HMGET mqtt_user:%u password, HGET ... is_superuser, HGETALL
mqtt_acl:%u), the password hashes, injection attempts, a backend down and
back, a slow backend while 100 clients connect."""
import hashlib
import socket
import subprocess
import threading
import time
import warnings

import pytest

import mqtt_raw as m
from backends import Redis, redis  # noqa: F401
from broker_fixture import broker_factory  # noqa: F401
from broker_fixture import build_path
from test_broker_auth_async import hammered_probe_stays_fast
from test_broker_plugins import switch

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import crypt


def redis_broker(broker_factory, redis, *extra, anonymous=False):
    b = broker_factory(extra_args=[
        "--auth-redis-server", "127.0.0.1:%d" % redis.port,
        "--allow-anonymous", "true" if anonymous else "false", *extra])
    assert switch(b, "mqttd_auth_redis", True) == {"code": 0}
    return b


def add_user(redis, name, password, salt=None, superuser=False):
    args = ["HSET", "mqtt_user:" + name, "password", password,
            "is_superuser", "1" if superuser else "0"]
    if salt is not None:
        args += ["salt", salt]
    redis.cli(*args)


def rc_of(b, user, pw, cid="c1", timeout=10.0):
    with m.Client(b.port, timeout=timeout) as c:
        c.send(m.connect(cid, username=user, password=pw))
        return c.expect(m.CONNACK, timeout=timeout).rc


def allow_deny_unknown(b, b_anonymous, plugin):
    """Right password 0, wrong or missing 4, unknown user: not this
    plugin's (allow_anonymous false: 5; true: 0); off: not asked."""
    assert rc_of(b, "alice", "alice-pw") == 0
    assert rc_of(b, "alice", "wrong") == 4
    assert rc_of(b, "alice", None) == 4
    assert rc_of(b, "zed", "x") == 5
    assert rc_of(b_anonymous, "zed", "x") == 0
    assert rc_of(b_anonymous, "alice", "wrong") == 4
    assert switch(b, plugin, False) == {"code": 0}
    assert rc_of(b, "alice", "alice-pw") == 5


def refused_fast_logged_once(b, plugin):
    """The backend is gone: 30 CONNECTs refused (the outcome deny) at
    once, in one to three log lines."""
    t = time.monotonic()
    for i in range(30):
        assert rc_of(b, "alice", "pw", cid="d%d" % i) == 5
    assert time.monotonic() - t < 10
    warns = warn_lines(b, plugin)
    assert 1 <= len(warns) <= 3, warns


def wait_login(b, what="reconnect"):
    deadline = time.monotonic() + 15
    while rc_of(b, "alice", "pw") != 0:
        assert time.monotonic() < deadline, "no " + what
        time.sleep(0.2)


def test_allow_deny_unknown(broker_factory, redis):
    add_user(redis, "alice", "alice-pw")
    allow_deny_unknown(redis_broker(broker_factory, redis),
                       redis_broker(broker_factory, redis, anonymous=True),
                       "mqttd_auth_redis")


def test_plugin_listed_and_persisted(broker_factory, redis):
    b = redis_broker(broker_factory, redis)
    ps = b.plugins()
    assert ps["mqttd_auth_redis"]["active"]
    assert not ps["mqttd_auth_pgsql"]["active"]
    with open(b.path("plugins.state")) as f:
        assert "mqttd_auth_redis on" in f.read()


def sub_then_pub(b, sub_user, pub_user, topic, pw="pw"):
    """Whether pub_user's PUBLISH to topic reaches a superuser's
    subscription."""
    with m.connected(b.port, "watcher", username=sub_user,
                     password=pw) as w, \
            m.connected(b.port, "pub", username=pub_user,
                        password=pw) as p:
        assert w.subscribe(("#", 0)) == [0]
        p.send(m.publish(topic, b"x", qos=1, pid=1))
        p.expect(m.PUBACK)
        try:
            got = w.recv(timeout=0.5)
            return got.type == m.PUBLISH
        except (TimeoutError, socket.timeout):
            return False


def test_acl_and_superuser(broker_factory, redis):
    """HGETALL mqtt_acl:%u: 1 subscribe, 2 publish, 3 both, %u / %c in
    the filter; a client with rules and no match is denied
    (acl_nomatch); a superuser passes everything; a user without rules
    falls to the next ACL (none: allowed)."""
    add_user(redis, "alice", "pw")
    add_user(redis, "root", "pw", superuser=True)
    add_user(redis, "free", "pw")
    redis.cli("HSET", "mqtt_acl:alice", "sub/#", "1", "pub/%u", "2",
              "both/+", "3", "cid/%c/x", "3")
    redis.cli("HSET", "mqtt_acl:root", "nothing", "1")
    b = redis_broker(broker_factory, redis)
    with m.connected(b.port, "a1", username="alice", password="pw") as a:
        assert a.subscribe(("sub/x/y", 0)) == [0]
        assert a.subscribe(("both/z", 1)) == [1]
        assert a.subscribe(("cid/a1/x", 0)) == [0]
        assert a.subscribe(("pub/alice", 0), pid=2) == [0x80]
        assert a.subscribe(("other", 0), pid=3) == [0x80]
        assert a.subscribe(("#", 0), pid=4) == [0x80]
    with m.connected(b.port, "r1", username="root", password="pw") as r:
        assert r.subscribe(("#", 0)) == [0]
    with m.connected(b.port, "f1", username="free", password="pw") as f:
        assert f.subscribe(("any/thing", 0)) == [0]
    assert sub_then_pub(b, "root", "alice", "pub/alice")
    assert sub_then_pub(b, "root", "alice", "both/q")
    assert not sub_then_pub(b, "root", "alice", "sub/x")
    assert not sub_then_pub(b, "root", "alice", "pub/bob")


def pbkdf2_hex(pw, salt, it, dklen, mac="sha256"):
    return hashlib.pbkdf2_hmac(mac, pw.encode(), salt.encode(), it,
                               dklen).hex()


HASHES = [
    ("md5", lambda pw, s: hashlib.md5(pw.encode()).hexdigest(), None),
    ("sha", lambda pw, s: hashlib.sha1(pw.encode()).hexdigest(), None),
    ("sha256", lambda pw, s: hashlib.sha256(pw.encode()).hexdigest(),
     None),
    ("salt,sha256",
     lambda pw, s: hashlib.sha256((s + pw).encode()).hexdigest(), "NaCl"),
    ("sha256,salt",
     lambda pw, s: hashlib.sha256((pw + s).encode()).hexdigest(), "NaCl"),
    ("salt,md5",
     lambda pw, s: hashlib.md5((s + pw).encode()).hexdigest().upper(),
     "s4lt"),
    ("bcrypt",
     lambda pw, s: crypt.crypt(pw, crypt.mksalt(crypt.METHOD_BLOWFISH,
                                                rounds=16)), None),
    ("pbkdf2,sha256,1000,20",
     lambda pw, s: pbkdf2_hex(pw, s, 1000, 20), "pepper"),
]


@pytest.mark.parametrize("spec,fn,salt", HASHES,
                         ids=[h[0] for h in HASHES])
def test_password_hashes(broker_factory, redis, spec, fn, salt):
    """Each password_hash of EMQ 2.3: the right password passes, a wrong
    one (and the stored hash itself as a password) does not."""
    stored = fn("s3cret", salt or "")
    add_user(redis, "u", stored, salt=salt)
    cmd = ["--auth-redis-auth-cmd", "HMGET mqtt_user:%u password salt"] \
        if salt else []
    b = redis_broker(broker_factory, redis, "--auth-redis-password-hash",
                     spec, *cmd)
    assert rc_of(b, "u", "s3cret") == 0
    assert rc_of(b, "u", "s3cret!") == 4
    assert rc_of(b, "u", stored) == 4


# (A NUL is not valid in an MQTT string: such a CONNECT is malformed.)
INJECTIONS = ["* \r\n FLUSHALL", "alice\r\nFLUSHALL\r\n", "*", "alice x",
              "*\r\n$8\r\nFLUSHALL\r\n", "mqtt_user:alice", "%u",
              "alice password", "alice*"]


def test_injection_is_just_a_name(broker_factory, redis):
    """Client values are single arguments: names built to split or extend
    a command are names that do not exist, and the data is untouched."""
    add_user(redis, "alice", "pw")
    b = redis_broker(broker_factory, redis)
    for name in INJECTIONS:
        assert rc_of(b, name, "pw") == 5, repr(name)
        assert rc_of(b, "alice", name) == 4, repr(name)
        assert rc_of(b, "alice", "pw\x00" + name) == 4, repr(name)
        with m.Client(b.port) as c:  # in the client id, for %c
            c.send(m.connect(name, username="zed", password="pw"))
            assert c.expect(m.CONNACK).rc == 5
    assert redis.cli("DBSIZE") == "1"
    assert rc_of(b, "alice", "pw") == 0


def warn_lines(b, what="mqttd_auth_redis"):
    return [ln for ln in b.stderr().splitlines()
            if what in ln and "warn" in ln]


def test_backend_down_then_back(broker_factory, redis):
    """Redis gone: CONNECTs get the failure outcome at once (deny: 5),
    logged once per interval, not per client; Redis back on the same
    port: the broker reconnects by itself and users log in again."""
    add_user(redis, "alice", "pw")
    b = redis_broker(broker_factory, redis)
    assert rc_of(b, "alice", "pw") == 0
    redis.stop()
    refused_fast_logged_once(b, "mqttd_auth_redis")
    redis.start()
    add_user(redis, "alice", "pw")  # no persistence: the data is new
    wait_login(b)
    assert "answers again" in b.stderr()


def test_backend_down_outcome_ignore(broker_factory, redis):
    """on_error ignore: a failing Redis passes the client on
    (allow_anonymous decides)."""
    b = redis_broker(broker_factory, redis, "--auth-redis-on-error",
                     "ignore", anonymous=True)
    redis.stop()
    assert rc_of(b, "alice", "pw") == 0


def test_hung_backend_times_out(broker_factory, redis):
    """A Redis that stops answering (SIGSTOP): the CONNECT is answered
    with the outcome after the timeout, and when Redis resumes the
    broker is back in business."""
    add_user(redis, "alice", "pw")
    b = redis_broker(broker_factory, redis, "--auth-redis-timeout", "500")
    assert rc_of(b, "alice", "pw") == 0
    redis.pause(True)
    try:
        t = time.monotonic()
        assert rc_of(b, "alice", "pw") == 5
        assert 0.3 < time.monotonic() - t < 3
    finally:
        redis.pause(False)
    wait_login(b, "recovery")


def hundred_while_slow(b, slow, during=None, seconds=1.5):
    """slow() makes the backend sit for ~2 s; meanwhile 100 clients send
    CONNECT and an already connected probe does QoS 1 round trips.
    Returns (the CONNACK codes, seconds until the last, the round trips
    sorted, what during() said halfway)."""
    probe = m.connected(b.port, "probe", username="alice", password="pw")
    clients = [m.Client(b.port, timeout=15) for _ in range(100)]
    waiter = slow()
    time.sleep(0.3)
    t0 = time.monotonic()
    for i, c in enumerate(clients):
        c.send(m.connect("slow%d" % i, username="alice", password="pw"))
    rtts, pid, seen = [], 0, None
    while time.monotonic() - t0 < seconds:
        pid += 1
        t = time.monotonic()
        probe.send(m.publish("probe/t", b"x", qos=1, pid=pid))
        assert probe.expect(m.PUBACK, timeout=5).pid == pid
        rtts.append(time.monotonic() - t)
        time.sleep(0.01)
    if during is not None:
        seen = during()
    rcs = [c.expect(m.CONNACK, timeout=15).rc for c in clients]
    waited = time.monotonic() - t0
    waiter.wait(10)
    for c in clients:
        c.close()
    probe.close()
    rtts.sort()
    print("probe round trips %d, p90 %.1f ms, max %.1f ms; CONNACKs "
          "after %.2f s" % (len(rtts), rtts[int(len(rtts) * .9)] * 1000,
                            rtts[-1] * 1000, waited))
    assert len(rtts) >= 20
    return rcs, waited, rtts, seen


def test_slow_backend_others_keep_flowing(broker_factory, redis):
    """DEBUG SLEEP 2 while 100 clients connect: they all get CONNACK 0
    once Redis answers, and meanwhile an already connected client's
    round trips stay fast (the loop never waits for Redis)."""
    add_user(redis, "alice", "pw")
    b = redis_broker(broker_factory, redis)
    rcs, waited, rtts, _ = hundred_while_slow(
        b, lambda: redis.cli("DEBUG", "SLEEP", "2", wait=False))
    assert rcs == [0] * 100
    assert waited > 1.0  # they really waited for Redis
    assert rtts[int(len(rtts) * .9)] < 0.05


def test_client_gone_while_waiting(broker_factory, redis):
    """Clients that hang up while their CONNECT waits for Redis cost
    nothing: the broker stays up and answers the next one."""
    add_user(redis, "alice", "pw")
    b = redis_broker(broker_factory, redis)
    sleeper = redis.cli("DEBUG", "SLEEP", "1", wait=False)
    time.sleep(0.2)
    for i in range(20):
        c = m.Client(b.port)
        c.send(m.connect("gone%d" % i, username="alice", password="pw"))
        c.close()
    sleeper.wait(10)
    assert rc_of(b, "alice", "pw") == 0


def test_bcrypt_off_the_loop(broker_factory, redis):
    """bcrypt at cost 10 (~55 ms a check) runs on the auth threads: six
    processes looping wrong passwords for a bcrypt user do not slow an
    already connected client's round trips."""
    add_user(redis, "alice", crypt.crypt(
        "pw", crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1024)))
    add_user(redis, "bob", "bob-pw")
    b = redis_broker(broker_factory, redis, "--auth-redis-password-hash",
                     "bcrypt")
    assert rc_of(b, "alice", "pw") == 0
    probe = m.connected(b.port, "probe", username="alice", password="pw")
    hammered_probe_stays_fast(b.port, probe)


@pytest.mark.parametrize("args,says", [
    (["--auth-redis-password-hash", "rot13"], "password_hash 'rot13'"),
    (["--auth-pgsql-password-hash", "pbkdf2,sha256,0,20"],
     "password_hash 'pbkdf2,sha256,0,20'"),
    (["--auth-redis-on-error", "maybe"], "on_error 'maybe'"),
    (["--auth-pgsql-acl-nomatch", "perhaps"], "acl_nomatch 'perhaps'"),
    (["--auth-redis-server", "nohost"], "server 'nohost'"),
    (["--auth-redis-auth-cmd", ""], "auth_cmd is empty"),
])
def test_bad_settings_refuse_to_start(tmp_path, args, says):
    """A database plugin setting that cannot work stops the start with a
    message naming it (not a broker that refuses every client later)."""
    r = subprocess.run([build_path("mqttd"), "--state-dir",
                        str(tmp_path), "--listen", "127.0.0.1:0", *args],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode != 0
    assert says in r.stderr, r.stderr


def test_password_database_and_unix_socket(broker_factory):
    """AUTH and SELECT on connect (a Redis with requirepass, users in
    database 3), over the unix socket; a wrong AUTH is a failing backend
    (logged, the outcome)."""
    r = Redis(password="s3cret").start()
    try:
        r.cli("HSET", "mqtt_user:alice", "password", "pw", db=3)
        b = broker_factory(extra_args=[
            "--auth-redis-server", r.sock, "--auth-redis-password",
            "s3cret", "--auth-redis-database", "3",
            "--allow-anonymous", "false"])
        assert switch(b, "mqttd_auth_redis", True) == {"code": 0}
        assert rc_of(b, "alice", "pw") == 0
        assert rc_of(b, "alice", "nope") == 4
        bad = broker_factory(extra_args=[
            "--auth-redis-server", "127.0.0.1:%d" % r.port,
            "--auth-redis-password", "wrong", "--auth-redis-database", "3",
            "--allow-anonymous", "false"])
        assert switch(bad, "mqttd_auth_redis", True) == {"code": 0}
        assert rc_of(bad, "alice", "pw") == 5
        assert "AUTH / SELECT" in bad.stderr()
    finally:
        r.cleanup()
