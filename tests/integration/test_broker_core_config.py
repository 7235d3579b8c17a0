# SPDX-License-Identifier: BSD-2-Clause
"""mqttd's configuration: mqttd.conf keys, flags overriding them, listener
specs, --no-segment and the exit codes of bad command lines.  The running
broker is checked through MQTT and the segment (mqttdctl)."""
import os
import subprocess

import mqtt_raw as m
from broker_fixture import build_path, broker_factory  # noqa: F401
from broker_fixture import rows


def mqttd(*args):
    return subprocess.run([build_path("mqttd"), *args], capture_output=True,
                          text=True, timeout=10)


def test_help_and_bad_options():
    r = mqttd("--help")
    assert r.returncode == 0
    for key in ("--max-inflight", "--session-expiry", "--no-segment",
                "--username-file", "--acl-file", "--ready-fd"):
        assert key in r.stdout, key
    r = mqttd("--no-such-flag")
    assert r.returncode == 2 and "--no-such-flag" in r.stderr
    r = mqttd("--max-inflight", "lots")
    assert r.returncode == 2 and "--max-inflight" in r.stderr


def test_conf_file_and_flag_precedence(broker_factory, tmp_path):
    """Keys come from -c FILE; a flag given too wins over the file."""
    conf = tmp_path / "mqttd.conf"
    conf.write_text("# comment\n"
                    "max_inflight = 7\n"
                    "max_queue = 3\n"
                    "log_level = debug\n")
    b = broker_factory(extra_args=["-c", str(conf), "--max-queue", "5"])
    c = m.connected(b.port, "cfg", clean=False)
    assert c.subscribe(("cfg", 1)) == [1]
    b.wait_segment("sessions", lambda v: (b.session("cfg") or {}).get(
        "max_inflight") == 7)
    pub = m.connected(b.port, "cfg-pub")
    for i in range(20):
        pub.send(m.publish("cfg", b"%d" % i, qos=1, pid=i + 1))
        pub.expect(m.PUBACK)
    # 7 in flight, the queue holds 5 (the flag), the rest were dropped
    b.wait_segment("sessions", lambda v: b.session("cfg").get(
        "mqueue_len") == 5)
    s = b.session("cfg")
    assert s["inflight_len"] == 7 and s["mqueue_dropped"] == 8
    assert "debug" in b.stderr() or "connected" in b.stderr()


def test_bad_conf_file_refuses_to_start(tmp_path):
    conf = tmp_path / "bad.conf"
    conf.write_text("max_inflight = 7\nno_such_key = 1\n")
    r = mqttd("-c", str(conf), "--state-dir", str(tmp_path / "st"))
    assert r.returncode == 2
    assert "bad.conf:2" in r.stderr


def test_listen_specs_and_max_clients(broker_factory):
    """Two listeners from flags, one with its own max_clients; both ports
    are reported, both serve, and the segment lists them."""
    b = broker_factory(extra_args=["--listen", "127.0.0.1:0,max_clients=1"])
    assert len(b.ports) == 2
    a = m.connected(b.ports[0], "l0")
    c1 = m.connected(b.ports[1], "l1")
    extra = m.Client(b.ports[1])
    assert extra.expect_closed() == []  # listener 2 is full
    lst = rows(b.segment("listeners"), "listeners")
    assert len(lst) == 2
    a.close()
    c1.close()


def test_no_segment_still_serves(broker_factory):
    """--no-segment: MQTT works, no segment exists for readers."""
    b = broker_factory(extra_args=["--no-segment"])
    sub = m.connected(b.port, "ns-sub")
    assert sub.subscribe(("ns", 0)) == [0]
    pub = m.connected(b.port, "ns-pub")
    pub.send(m.publish("ns", b"x"))
    assert sub.expect(m.PUBLISH).payload == b"x"
    r = b.segment_raw("clients")
    assert r.returncode != 0
    assert b.ctl({"cmd": "ping"})["code"] == 0


def test_state_dir_created(tmp_path):
    """The state dir is created; the control socket is 0660 and removed
    on a clean SIGTERM exit (exit status 0)."""
    d = tmp_path / "new" / "state"
    os.makedirs(d.parent)
    r = subprocess.Popen([build_path("mqttd"), "--state-dir", str(d),
                          "--listen", "127.0.0.1:0", "--no-segment",
                          "--ready-fd", "1"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        line = r.stdout.readline()
        assert line.startswith("ready port=")
        assert os.path.isdir(d)
        assert oct(os.stat(d / "mqttd.ctl").st_mode & 0o777) == "0o660"
    finally:
        r.terminate()
        r.wait(10)
    assert r.returncode == 0
    assert not os.path.exists(d / "mqttd.ctl")
