# SPDX-License-Identifier: BSD-2-Clause
"""The plugins through the real broker: switched at runtime through the
control socket (effect at once), persisted across a restart, and the
segment's plugins view after each switch."""
import os
import subprocess

import mqtt_raw as m
from broker_fixture import broker, broker_factory  # noqa: F401
from broker_fixture import build_path, rows, shutdown_count, wait_until

# Every plugin and its default state (retainer and sys on).
DEFAULTS = {"mqttd_retainer": True, "mqttd_auth_username": False,
            "mqttd_auth_clientid": False, "mqttd_acl_file": False,
            "mqttd_sys": True, "mqttd_auth_redis": False,
            "mqttd_auth_pgsql": False, "mqttd_auth_jwt": False,
            "mqttd_auth_http": False}
PLUGINS = list(DEFAULTS)


def passwd(path, name, password, yescrypt=False):
    """Adds an entry with the mqttd-passwd tool."""
    args = [build_path("mqttd-passwd")] + (["-y"] if yescrypt else []) + \
        [path, name]
    r = subprocess.run(args, input=password + "\n", capture_output=True,
                       text=True, timeout=10)
    assert r.returncode == 0, r.stderr


def switch(b, name, active):
    return b.ctl({"cmd": "plugin", "name": name, "active": active})


def active_map(b):
    return {n: bool(p["active"]) for n, p in b.plugins().items()}


def test_plugins_listed_with_defaults(broker):
    """All the plugins in the segment, with version and description;
    retainer and sys on, the rest off."""
    ps = broker.plugins()
    assert sorted(ps) == sorted(PLUGINS)
    for p in ps.values():
        assert p["version"] and p["description"]
    assert active_map(broker) == DEFAULTS


def test_plugin_command_codes(broker):
    """110 already active, 111 already inactive, 102 unknown plugin."""
    assert switch(broker, "mqttd_retainer", True)["code"] == 110
    assert switch(broker, "mqttd_acl_file", False)["code"] == 111
    assert switch(broker, "mqttd_nosuch", True)["code"] == 102
    assert switch(broker, "mqttd_acl_file", True) == {"code": 0}
    broker.wait_segment("plugins", lambda v: active_map(broker)[
        "mqttd_acl_file"])


def auth_broker(broker_factory, *extra):
    b = broker_factory(start=False)
    uf = b.path("users.passwd")
    passwd(uf, "alice", "alice-pw", yescrypt=True)
    passwd(uf, "bob", "bob-pw")
    with open(uf, "a") as f:
        f.write("plain:plain-pw\n")  # refused: not a crypt hash
    b.extra_args = ["--username-file", uf, *extra]
    return b.start()


def try_connect(b, cid, user=None, pw=None):
    c = m.Client(b.port)
    c.send(m.connect(cid, username=user, password=pw))
    p = c.expect(m.CONNACK)
    if p.rc != 0:
        c.expect_closed()  # MQTT-3.2.2-5: refused -> close
    c.close()
    return p.rc


def test_auth_username_on_off_at_once(broker_factory):
    """Off: anyone in.  On: a known user with a wrong password gets
    CONNACK 4, the right one 0, an unknown user falls to allow_anonymous
    (true).  Off again: the wrong password is let in again."""
    b = auth_broker(broker_factory)
    assert try_connect(b, "c1", "alice", "wrong") == 0
    early = m.connected(b.port, "early", username="alice", password="bad")
    assert switch(b, "mqttd_auth_username", True) == {"code": 0}
    # a connection made before the switch is not dropped by it
    early.send(m.pingreq())
    early.expect(m.PINGRESP)
    assert try_connect(b, "c1", "alice", "wrong") == 4
    assert try_connect(b, "c1", "alice", None) == 4
    assert try_connect(b, "c1", "alice", "alice-pw") == 0
    assert try_connect(b, "c1", "bob", "bob-pw") == 0
    assert try_connect(b, "c1", "plain", "plain-pw") == 0  # anonymous
    assert try_connect(b, "c1", "zed", "x") == 0
    assert try_connect(b, "c1") == 0
    assert switch(b, "mqttd_auth_username", False) == {"code": 0}
    assert try_connect(b, "c1", "alice", "wrong") == 0


def test_auth_username_no_anonymous(broker_factory):
    """allow_anonymous false: an unknown user or none -> CONNACK 5; the
    refused connections are counted as auth failures."""
    b = auth_broker(broker_factory, "--allow-anonymous", "false")
    assert switch(b, "mqttd_auth_username", True) == {"code": 0}
    assert try_connect(b, "c2", "zed", "x") == 5
    assert try_connect(b, "c2") == 5
    assert try_connect(b, "c2", "plain", "plain-pw") == 5
    assert try_connect(b, "c2", "alice", "alice-pw") == 0
    b.wait_segment("listeners",
                   lambda v: shutdown_count(v, "auth_failure") == 3)
    assert b.client("c2") is None


def test_auth_clientid(broker_factory):
    """mqttd_auth_clientid: client id + password from its file."""
    b = broker_factory(start=False)
    cf = b.path("clients.passwd")
    passwd(cf, "dev-1", "dev-pw")
    b.extra_args = ["--clientid-file", cf, "--allow-anonymous", "false"]
    b.start()
    # A password needs a username in 3.1.1 (MQTT-3.1.2-22).
    assert try_connect(b, "dev-1", "u", "dev-pw") == 5  # plugin off
    assert switch(b, "mqttd_auth_clientid", True) == {"code": 0}
    assert try_connect(b, "dev-1", "u", "dev-pw") == 0
    assert try_connect(b, "dev-1", "u", "bad") == 4
    assert try_connect(b, "dev-1", "u", None) == 4
    assert try_connect(b, "dev-2", "u", "dev-pw") == 5


def test_password_without_username_closes_MQTT_3_1_2_22(broker):
    """MQTT-3.1.2-22: password flag set, username flag clear: the
    CONNECT is malformed and the connection closed."""
    c = m.Client(broker.port)
    c.send(m.connect("nouser", password="pw"))
    assert all(p.rc != 0 for p in c.expect_closed())


def test_sighup_reloads_auth_file(broker_factory):
    """SIGHUP re-reads the plugin files."""
    b = auth_broker(broker_factory)
    assert switch(b, "mqttd_auth_username", True) == {"code": 0}
    passwd(b.path("users.passwd"), "carol", "carol-pw")
    b.proc.send_signal(1)
    assert wait_until(
        lambda: try_connect(b, "c3", "carol", "wrong") == 4, timeout=3)


def acl_broker(broker_factory, rules):
    b = broker_factory(start=False)
    af = b.write_file("acl.conf", rules)
    b.extra_args = ["--acl-file", af]
    return b.start()


def test_acl_subscribe_denied_gets_0x80(broker_factory):
    """mqttd_acl_file on: a denied subscription gets SUBACK 0x80 and is
    not in the segment; off again: granted."""
    b = acl_broker(broker_factory,
                   "# test\n"
                   "allow user admin subscribe secret/#\n"
                   "deny all subscribe secret/#\n"
                   "allow all subscribe users/%u/#\n"
                   "deny all subscribe users/#\n")
    c = m.connected(b.port, "acl1", username="ann")
    assert c.subscribe(("secret/x", 0)) == [0]  # plugin off
    assert switch(b, "mqttd_acl_file", True) == {"code": 0}
    assert c.subscribe(("secret/y", 1), ("public/z", 1), ("+/x", 0),
                       ("users/ann/in", 1), ("users/bob/in", 1),
                       pid=2) == [0x80, 1, 0x80, 1, 0x80]
    adm = m.connected(b.port, "acl2", username="admin")
    assert adm.subscribe(("secret/#", 2)) == [2]
    view = b.wait_segment(
        "subscriptions",
        lambda v: any(s["client_id"] == "acl2" for s in
                      rows(v)))
    mine = {s["topic"] for s in rows(view)
            if s["client_id"] == "acl1"}
    assert mine == {"secret/x", "public/z", "users/ann/in"}
    assert switch(b, "mqttd_acl_file", False) == {"code": 0}
    assert c.subscribe(("secret/y", 1), pid=3) == [1]


def test_acl_publish_denied_not_delivered(broker_factory):
    """A denied PUBLISH reaches no subscriber (the publisher still gets
    its PUBACK, as in EMQ 2.3)."""
    b = acl_broker(broker_factory, "deny client badpub publish alarms/#\n")
    assert switch(b, "mqttd_acl_file", True) == {"code": 0}
    sub = m.connected(b.port, "asub")
    assert sub.subscribe(("alarms/#", 1)) == [1]
    bad = m.connected(b.port, "badpub")
    bad.send(m.publish("alarms/fire", b"x", qos=1, pid=1))
    assert bad.expect(m.PUBACK).pid == 1
    sub.expect_nothing(0.3)
    good = m.connected(b.port, "goodpub")
    good.send(m.publish("alarms/fire", b"y", qos=1, pid=1))
    good.expect(m.PUBACK)
    assert sub.expect(m.PUBLISH).payload == b"y"


def test_retainer_off_stops_retained_delivery(broker):
    """mqttd_retainer off: retained messages are neither stored nor
    delivered; on again: new retained messages work."""
    pub = m.connected(broker.port, "rp")
    assert switch(broker, "mqttd_retainer", False) == {"code": 0}
    pub.send(m.publish("rt/a", b"x", retain=True))
    pub.send(m.pingreq())
    pub.expect(m.PINGRESP)
    s = m.connected(broker.port, "rs")
    assert s.subscribe(("rt/#", 0)) == [0]
    s.expect_nothing(0.3)
    assert switch(broker, "mqttd_retainer", True) == {"code": 0}
    pub.send(m.publish("rt/b", b"y", retain=True))
    pub.send(m.pingreq())
    pub.expect(m.PINGRESP)
    s2 = m.connected(broker.port, "rs2")
    assert s2.subscribe(("rt/#", 0)) == [0]
    p = s2.expect(m.PUBLISH)
    assert p.topic == "rt/b" and p.retain
    s2.expect_nothing(0.2)


def test_sys_off_stops_sys_publishing(broker_factory):
    """mqttd_sys off: nothing more on $SYS."""
    b = broker_factory(extra_args=["--sys-interval", "1"])
    s = m.connected(b.port, "sysw")
    assert s.subscribe(("$SYS/#", 0)) == [0]
    s.expect(m.PUBLISH, timeout=3)
    assert switch(b, "mqttd_sys", False) == {"code": 0}
    s.sock.settimeout(0.1)
    # drain what was already on its way, then silence for > 1 interval
    try:
        while True:
            s.recv(0.3)
    except TimeoutError:
        pass
    s.expect_nothing(1.5)


def test_plugin_state_persists_across_restart(broker):
    """The switches survive a restart (plugins.state in the state dir)."""
    assert switch(broker, "mqttd_retainer", False) == {"code": 0}
    assert switch(broker, "mqttd_acl_file", True) == {"code": 0}
    with open(os.path.join(broker.state_dir, "plugins.state")) as f:
        text = f.read()
    assert "mqttd_retainer off" in text and "mqttd_acl_file on" in text
    broker.restart()
    assert active_map(broker) == dict(
        DEFAULTS, mqttd_retainer=False, mqttd_acl_file=True)
    assert switch(broker, "mqttd_retainer", False)["code"] == 111
    # and the behaviour follows the persisted state
    pub = m.connected(broker.port, "pp")
    pub.send(m.publish("p/r", b"x", retain=True))
    pub.send(m.pingreq())
    pub.expect(m.PINGRESP)
    s = m.connected(broker.port, "ps")
    assert s.subscribe(("p/r", 0)) == [0]
    s.expect_nothing(0.3)


def test_acl_per_client_publish_with_c(broker_factory):
    """%c in a rule: each device may publish only under its own id."""
    b = acl_broker(broker_factory,
                   "allow all publish devices/%c/#\n"
                   "deny all publish devices/#\n")
    assert switch(b, "mqttd_acl_file", True) == {"code": 0}
    sub = m.connected(b.port, "watch")
    assert sub.subscribe(("devices/#", 0)) == [0]
    d1 = m.connected(b.port, "d1")
    d1.send(m.publish("devices/d1/temp", b"ok"))
    d1.send(m.publish("devices/d2/temp", b"spoof"))
    d1.send(m.publish("other/x", b"free"))
    assert sub.expect(m.PUBLISH).payload == b"ok"
    sub.expect_nothing(0.3)
    # the broker's own publish through the API is not subject to the ACL
    assert b.ctl({"cmd": "publish", "topic": "devices/d2/temp",
                  "payload": "api", "qos": 0})["code"] == 0
    assert sub.expect(m.PUBLISH).payload == b"api"


def test_plugin_files_from_config_file(broker_factory):
    """The plugin settings work from mqttd.conf (-c) as well as flags."""
    b = broker_factory(start=False)
    uf = b.path("users.passwd")
    passwd(uf, "cfg", "cfg-pw")
    conf = b.write_file("mqttd.conf",
                        "# test\nusername_file = %s\n"
                        "allow_anonymous = false\n" % uf)
    b.extra_args = ["-c", conf]
    b.start()
    assert switch(b, "mqttd_auth_username", True) == {"code": 0}
    assert try_connect(b, "k1", "cfg", "cfg-pw") == 0
    assert try_connect(b, "k1", "cfg", "nope") == 4
    assert try_connect(b, "k1") == 5


def test_corrupt_state_file_means_defaults(broker_factory):
    """A garbled plugins.state does not stop the broker: bad lines are
    ignored (logged), good ones apply, the rest keep their defaults."""
    b = broker_factory(start=False, files={
        "plugins.state": "\x00\xff garbage\nmqttd_sys off\nmqttd_acl_file"
                         " maybe\nmqttd_nosuch on\n"})
    b.start()
    assert active_map(b) == dict(DEFAULTS, mqttd_sys=False)
    assert "plugins.state" in b.stderr()
