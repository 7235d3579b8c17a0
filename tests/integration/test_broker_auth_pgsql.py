# SPDX-License-Identifier: BSD-2-Clause
"""mqttd_auth_pgsql against a real PostgreSQL (backends.Postgres, initdb
and pg_ctl as an unprivileged user): EMQ 2.3's mqtt_user / mqtt_acl
tables and queries with %u %c %a bound as parameters, the password
hashes, injection attempts, a server down and back, a slow server while
100 clients connect, a bounded pool."""
import hashlib
import time
import warnings

import pytest

import mqtt_raw as m
from backends import postgres  # noqa: F401
from broker_fixture import broker_factory  # noqa: F401
from test_broker_auth_redis import allow_deny_unknown, hundred_while_slow, \
    rc_of, refused_fast_logged_once, sub_then_pub, wait_login
from test_broker_plugins import switch

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import crypt

SCHEMA = """
create table mqtt_user (
  id serial primary key,
  is_superuser boolean,
  username character varying(100),
  password character varying(100),
  salt character varying(40),
  unique (username)
);
create table mqtt_acl (
  id serial primary key,
  allow integer,
  ipaddr character varying(60),
  username character varying(100),
  clientid character varying(100),
  access integer,
  topic character varying(100)
);
"""


def q(s):
    return "'" + s.replace("'", "''") + "'"


def setup_db(pg):
    pg.sql("create database mqtt")
    pg.sql(SCHEMA, db="mqtt")


def add_user(pg, name, password, salt=None, superuser=False):
    pg.sql("insert into mqtt_user (username, password, salt, is_superuser) "
           "values (%s, %s, %s, %s)" % (
               q(name), q(password), q(salt) if salt else "null",
               "true" if superuser else "false"), db="mqtt")


def pg_broker(broker_factory, pg, *extra, anonymous=False):
    b = broker_factory(extra_args=[
        "--auth-pgsql-conninfo", pg.conninfo("mqtt"),
        "--allow-anonymous", "true" if anonymous else "false", *extra])
    assert switch(b, "mqttd_auth_pgsql", True) == {"code": 0}
    return b


def test_allow_deny_unknown(broker_factory, postgres):
    setup_db(postgres)
    add_user(postgres, "alice", "alice-pw")
    allow_deny_unknown(pg_broker(broker_factory, postgres),
                       pg_broker(broker_factory, postgres, anonymous=True),
                       "mqttd_auth_pgsql")


def test_acl_and_superuser(broker_factory, postgres):
    """EMQ's mqtt_acl rows: allow 1 / deny 0, access 1 sub / 2 pub /
    3 both, who by username, clientid, ipaddr or '$all'; first match
    decides (a deny rule refuses a SUBSCRIBE filter it overlaps); rules
    but no match: acl_nomatch (deny)."""
    setup_db(postgres)
    for u in ("alice", "bob"):
        add_user(postgres, u, "pw")
    add_user(postgres, "root", "pw", superuser=True)
    rows = [
        (0, None, "alice", None, 3, "secret/#"),
        (1, None, "alice", None, 1, "sub/#"),
        (1, None, "alice", None, 2, "pub/%u"),
        (1, None, None, "a1", 3, "cid/%c"),
        (1, "127.0.0.1", None, None, 1, "local/+"),
        (1, None, "$all", None, 1, "everyone"),
        (1, None, "$all", None, 3, "secret/open"),
        (1, None, "bob", None, 3, "bob/#"),
        (1, None, "$all", None, 1, "#"),
    ]
    for r in rows:
        postgres.sql("insert into mqtt_acl (allow, ipaddr, username, "
                     "clientid, access, topic) values (%s)" % ", ".join(
                         "null" if v is None else
                         str(v) if isinstance(v, int) else q(v)
                         for v in r), db="mqtt")
    b = pg_broker(broker_factory, postgres)
    with m.connected(b.port, "a1", username="alice", password="pw") as a:
        assert a.subscribe(("sub/x", 0)) == [0]
        assert a.subscribe(("cid/a1", 0)) == [0]
        assert a.subscribe(("local/x", 0)) == [0]
        assert a.subscribe(("everyone", 0)) == [0]
        assert a.subscribe(("secret/open", 0), pid=2) == [0x80]  # deny 1st
        assert a.subscribe(("+/x", 0), pid=3) == [0x80]  # secret/x
        assert a.subscribe(("bob/x", 0), pid=4) == [0]  # $all #
    with m.connected(b.port, "b1", username="bob", password="pw") as o:
        assert o.subscribe(("cid/a1", 0)) == [0]
        assert o.subscribe(("local/1", 0)) == [0]  # by address
    with m.connected(b.port, "r1", username="root", password="pw") as r:
        assert r.subscribe(("#", 0)) == [0]
    assert sub_then_pub(b, "root", "alice", "pub/alice")
    assert not sub_then_pub(b, "root", "alice", "sub/x")
    assert not sub_then_pub(b, "root", "alice", "secret/x")
    assert sub_then_pub(b, "root", "bob", "bob/1")
    assert not sub_then_pub(b, "root", "bob", "pub/bob")  # nomatch


HASHES = [
    ("sha256", lambda pw, s: hashlib.sha256(pw.encode()).hexdigest(), None),
    ("md5", lambda pw, s: hashlib.md5(pw.encode()).hexdigest(), None),
    ("salt,sha256",
     lambda pw, s: hashlib.sha256((s + pw).encode()).hexdigest(), "NaCl"),
    ("sha,salt",
     lambda pw, s: hashlib.sha1((pw + s).encode()).hexdigest(), "x"),
    ("bcrypt",
     lambda pw, s: crypt.crypt(pw, crypt.mksalt(crypt.METHOD_BLOWFISH,
                                                rounds=16)), None),
    ("pbkdf2,sha256,1000,20",
     lambda pw, s: hashlib.pbkdf2_hmac("sha256", pw.encode(), s.encode(),
                                       1000, 20).hex(), "pepper"),
]


@pytest.mark.parametrize("spec,fn,salt", HASHES,
                         ids=[h[0] for h in HASHES])
def test_password_hashes(broker_factory, postgres, spec, fn, salt):
    setup_db(postgres)
    stored = fn("s3cret", salt or "")
    add_user(postgres, "u", stored, salt=salt)
    b = pg_broker(broker_factory, postgres, "--auth-pgsql-password-hash",
                  spec, "--auth-pgsql-auth-query",
                  "select password, salt from mqtt_user where "
                  "username = %u limit 1")
    assert rc_of(b, "u", "s3cret") == 0
    assert rc_of(b, "u", "s3cret ") == 4
    assert rc_of(b, "u", stored) == 4


INJECTIONS = ["'; drop table mqtt_user;--", "' or '1'='1",
              "x' union select 'pw' --", "alice'--", "$1", "%u",
              "alice\\", "' or 1=1; delete from mqtt_acl; --"]


def test_injection_is_just_a_name(broker_factory, postgres):
    setup_db(postgres)
    add_user(postgres, "alice", "pw")
    postgres.sql("insert into mqtt_acl (allow, username, access, topic) "
                 "values (1, 'alice', 3, 'a')", db="mqtt")
    b = pg_broker(broker_factory, postgres)
    for name in INJECTIONS:
        assert rc_of(b, name, "pw") == 5, repr(name)
        assert rc_of(b, "alice", name) == 4, repr(name)
        with m.Client(b.port) as c:
            c.send(m.connect(name, username="zed", password="pw"))
            assert c.expect(m.CONNACK).rc == 5
    assert postgres.sql("select count(*) from mqtt_user", db="mqtt") == "1"
    assert postgres.sql("select count(*) from mqtt_acl", db="mqtt") == "1"
    assert rc_of(b, "alice", "pw") == 0


def test_server_down_then_back(broker_factory, postgres):
    setup_db(postgres)
    add_user(postgres, "alice", "pw")
    b = pg_broker(broker_factory, postgres)
    assert rc_of(b, "alice", "pw") == 0
    postgres.stop()
    refused_fast_logged_once(b, "mqttd_auth_pgsql")
    postgres.start()
    wait_login(b)


def test_slow_server_bounded_pool(broker_factory, postgres):
    """mqtt_user locked for 2 s while 100 clients connect: they get
    CONNACK 0 once it is free, through at most `pool` connections, and
    an already connected client's traffic keeps flowing."""
    setup_db(postgres)
    add_user(postgres, "alice", "pw")
    b = pg_broker(broker_factory, postgres, "--auth-pgsql-pool", "3")
    rcs, waited, rtts, conns = hundred_while_slow(
        b, lambda: postgres.sql_async(
            "begin; lock table mqtt_user in access exclusive mode; "
            "select pg_sleep(2); commit;", db="mqtt"),
        during=lambda: postgres.sql(
            "select count(*) from pg_stat_activity where datname = "
            "'mqtt' and application_name = ''"), seconds=1.2)
    assert rcs == [0] * 100
    assert waited > 1.0
    assert conns == "3", "broker connections: " + conns
    assert rtts[int(len(rtts) * .9)] < 0.05


def test_query_timeout(broker_factory, postgres):
    """A query past the timeout: the client gets the outcome (deny) in
    time, and the broker is back to normal once the table is free."""
    setup_db(postgres)
    add_user(postgres, "alice", "pw")
    b = pg_broker(broker_factory, postgres, "--auth-pgsql-timeout", "500")
    assert rc_of(b, "alice", "pw") == 0
    locker = postgres.sql_async(
        "begin; lock table mqtt_user in access exclusive mode; "
        "select pg_sleep(2); commit;", db="mqtt")
    time.sleep(0.3)
    t = time.monotonic()
    assert rc_of(b, "alice", "pw") == 5
    assert time.monotonic() - t < 2
    locker.wait(10)
    wait_login(b, "recovery")


def test_failing_acl_query_is_a_failing_backend(broker_factory, postgres):
    """An ACL that cannot be read is not an empty ACL: a right password
    with a failing acl_query gets the failure outcome (deny), and the
    log names the query's error."""
    setup_db(postgres)
    add_user(postgres, "alice", "pw")
    b = pg_broker(broker_factory, postgres, "--auth-pgsql-acl-query",
                  "select * from no_such_table where username = %u")
    assert rc_of(b, "alice", "pw") == 5
    assert "no_such_table" in b.stderr()
    b2 = pg_broker(broker_factory, postgres, "--auth-pgsql-acl-query", "")
    assert rc_of(b2, "alice", "pw") == 0  # empty: not asked
