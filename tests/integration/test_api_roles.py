# SPDX-License-Identifier: BSD-2-Clause
"""Roles, UTF-8 and field limits of the API, through the real stack
(mqttd + mqttd-api + nginx): a viewer reads and gets 403 + code 115 for
any write; the role is set at creation, shown by GET users, survives
restarts and htpasswd edits of other lines; admin's role cannot be
lowered.  Every string of a JSON body must be UTF-8 and within its own
limit, and a 108 names the field; whatever the users file holds, the API
answers valid JSON.
"""
import http.client
import json
import os
import shutil
import signal
import subprocess

import pytest

from stack import Stack, err, ok, wait_for


@pytest.fixture(scope="module")
def s():
    with Stack() as st:
        yield st


def forbidden(r):
    """A viewer's write: HTTP 403 with the API's envelope, code 115."""
    assert r.status == 403, r
    assert list(r.body) == ["code", "message"], r.body
    assert r.body["code"] == 115, r.body
    assert "viewer" in r.body["message"], r.body
    return r.body["message"]


def raw_get(s, path):
    """GET as admin; the body as bytes (no lenient decoding)."""
    import base64
    conn = http.client.HTTPConnection("127.0.0.1", s.http_port, timeout=10)
    tok = base64.b64encode(f"{s.user}:{s.password}".encode()).decode()
    try:
        conn.request("GET", "/api/v2/" + path,
                     headers={"Authorization": "Basic " + tok})
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def test_viewer_reads_but_cannot_write(s):
    assert ok(s.post("users", {"username": "vw", "password": "vpw",
                               "tags": "ops", "role": "viewer"})) == []
    assert ok(s.get("users/vw")) == {"username": "vw", "tags": "ops",
                                     "role": "viewer"}
    assert {"username": "vw", "tags": "ops",
            "role": "viewer"} in ok(s.get("users"))
    v = ("vw", "vpw")
    # reads
    assert ok(s.get("management/nodes", auth=v))
    assert ok(s.get("users", auth=v))
    assert s.request("HEAD", "users", auth=v).status == 200
    assert s.get("/metrics", auth=v).status == 200
    # every write
    forbidden(s.post("users", {"username": "evil", "password": "x",
                               "role": "admin"}, auth=v))
    forbidden(s.put("users/vw", {"role": "admin"}, auth=v))
    forbidden(s.put("users/admin", {"tags": "x"}, auth=v))
    forbidden(s.delete("users/admin", auth=v))
    forbidden(s.put("change_pwd/vw", {"old_pwd": "vpw", "new_pwd": "n"},
                    auth=v))
    forbidden(s.post("auth", {"username": "vw", "password": "vpw"},
                     auth=v))
    forbidden(s.post("mqtt/publish", {"topic": "a", "payload": "x"},
                     auth=v))
    forbidden(s.post("mqtt/subscribe", {"topic": "a", "client_id": "c"},
                     auth=v))
    forbidden(s.delete("clients/c", auth=v))
    forbidden(s.put(f"nodes/{s.node}/plugins/mqttd_sys",
                    {"active": False}, auth=v))
    # nothing changed
    names = [u["username"] for u in ok(s.get("users"))]
    assert "evil" not in names
    assert ok(s.get("users/vw"))["role"] == "viewer"
    assert ok(s.get("users/admin"))["tags"] == "administrator"
    # an unknown route is still 404, whoever asks
    assert s.post("nope", {}, auth=v).status == 404
    # promoted by an admin: writes work on the next request
    assert ok(s.put("users/vw", {"role": "admin"})) == []
    assert ok(s.get("users/vw"))["role"] == "admin"
    assert wait_for(lambda: s.post(
        "users", {"username": "byvw", "password": "x"}, auth=v).status
        == 200)
    assert ok(s.delete("users/byvw")) == []
    assert ok(s.put("users/vw", {"role": "viewer", "tags": "t2"})) == []
    assert ok(s.get("users/vw")) == {"username": "vw", "tags": "t2",
                                     "role": "viewer"}
    assert wait_for(lambda: s.delete("users/admin", auth=v).status == 403)
    assert ok(s.delete("users/vw")) == []


def test_role_set_at_creation_and_admin_kept(s):
    assert ok(s.post("users", {"username": "plain", "password": "p"})) == []
    assert ok(s.get("users/plain"))["role"] == "admin"
    assert ok(s.post("users", {"username": "a2", "password": "p",
                               "role": "admin"})) == []
    assert ok(s.get("users/a2"))["role"] == "admin"
    m = err(s.post("users", {"username": "r1", "password": "p",
                             "role": "root"}), 108)
    assert m.startswith("role:"), m
    m = err(s.post("users", {"username": "r1", "password": "p",
                             "role": 1}), 108)
    assert m.startswith("role:"), m
    err(s.get("users/r1"), 105)
    # the administrator's role cannot be lowered
    m = err(s.put("users/admin", {"role": "viewer"}), 106)
    assert "role" in m, m
    assert ok(s.get("users/admin"))["role"] == "admin"
    assert ok(s.put("users/admin", {"role": "admin"})) == []
    err(s.put("users/plain", {"role": "boss"}), 108)
    err(s.put("users/plain", {}), 107)
    err(s.put("users/ghost", {"role": "viewer"}), 105)
    for n in ("plain", "a2"):
        assert ok(s.delete(f"users/{n}")) == []


def test_role_survives_restart_and_htpasswd(s):
    path = os.path.join(s.state_dir, "users")
    assert ok(s.post("users", {"username": "keep", "password": "kpw",
                               "role": "viewer"})) == []
    with open(path) as f:
        line = [ln for ln in f.read().splitlines()
                if ln.startswith("keep:")][0]
    assert line.endswith(":viewer"), line
    # htpasswd (apache2-utils) edits another user: our lines stay as
    # they are, and the user it adds is an administrator
    htpasswd = shutil.which("htpasswd")
    assert htpasswd, "apache2-utils (./dev PKGS_TEST) provides htpasswd"
    subprocess.run([htpasswd, "-5", "-b", path, "htp", "hpw"], check=True,
                   capture_output=True)
    with open(path) as f:
        assert line in f.read().splitlines()
    assert wait_for(lambda: s.get("users/htp", auth=("htp", "hpw")).status
                    == 200)
    assert ok(s.get("users/htp"))["role"] == "admin"
    # new workers (SIGHUP replaces them all) read the role from the file
    os.kill(s.pid("mqttd-api"), signal.SIGHUP)
    assert wait_for(lambda: s.get("users", auth=("keep", "kpw")).status
                    == 200)
    forbidden(s.post("users", {"username": "x", "password": "y"},
                     auth=("keep", "kpw")))
    for n in ("keep", "htp"):
        assert ok(s.delete(f"users/{n}")) == []


@pytest.mark.parametrize("path,body,field", [
    ("users", b'{"username":"u\xff","password":"p"}', "username"),
    ("users", b'{"username":"u","password":"p\xc0\xaf"}', "password"),
    ("users", b'{"username":"u","password":"p","tags":"\xed\xa0\x80"}',
     "tags"),
    ("users", b'{"username":"u","password":"p","role":"\xff"}', "role"),
    ("auth", b'{"username":"admin","password":"\x80"}', "password"),
    ("mqtt/publish", b'{"topic":"a","client_id":"c\xff"}', "client_id"),
    ("mqtt/publish", b'{"topic":"a\xfe"}', "topic"),
    ("mqtt/publish", b'{"topic":"a","payload":"\xf4\x90\x80\x80"}',
     "payload"),
    ("mqtt/subscribe", b'{"topic":"a","client_id":"\xe2\x82"}',
     "client_id"),
    ("mqtt/unsubscribe", b'{"topic":"a/\xff","client_id":"c"}', "topic"),
])
def test_bodies_must_be_utf8(s, path, body, field):
    m = err(s.post(path, body), 108)
    assert m.startswith(field + ": not valid UTF-8"), m


def test_change_pwd_utf8(s):
    m = err(s.put("change_pwd/admin",
                  b'{"old_pwd":"public","new_pwd":"\xff"}'), 108)
    assert m.startswith("new_pwd:"), m


def test_utf8_accepted(s):
    name = "j\u00f6rg-\u65e5\u672c"
    assert ok(s.post("users", {"username": name, "password": "p\u00e9",
                               "tags": "\U0001F600"})) == []
    assert ok(s.get("users"))
    assert {"username": name, "tags": "\U0001F600",
            "role": "admin"} in ok(s.get("users"))
    assert s.get("users", auth=(name, "p\u00e9")).status == 200
    r = s.delete("users/" + "".join(f"%{b:02X}" for b in name.encode()))
    assert ok(r) == []


@pytest.mark.parametrize("body,field,limit", [
    ({"username": "u", "password": "p" * 512}, "password", 256),
    ({"username": "u" * 65, "password": "p"}, "username", 64),
    ({"username": "u" * 300, "password": "p"}, "username", 64),
    ({"username": "u", "password": "p", "tags": "t" * 257}, "tags", 256),
])
def test_limits_name_their_field(s, body, field, limit):
    m = err(s.post("users", body), 108)
    assert m.startswith(field + ":"), m
    assert str(limit) in m, m


def test_limits_at_the_edge_work(s):
    pw = "p" * 256
    assert ok(s.post("users", {"username": "e" * 64, "password": pw,
                               "tags": "t" * 256})) == []
    assert s.get("users", auth=("e" * 64, pw)).status == 200
    m = err(s.put("change_pwd/" + "e" * 64,
                  {"old_pwd": pw, "new_pwd": "n" * 257}), 108)
    assert m.startswith("new_pwd:") and "256" in m, m
    m = err(s.post("mqtt/publish", {"topic": "a",
                                    "client_id": "c" * 65536}), 108)
    assert m.startswith("client_id:") and "65535" in m, m
    assert ok(s.delete("users/" + "e" * 64)) == []


def test_stored_bytes_never_break_the_json(s):
    path = os.path.join(s.state_dir, "users")
    with open(path, "ab") as f:   # a hand edit with bytes that are not UTF-8
        f.write(b"bad\xff\xc0:$6$x$y:t\xfe\xed\xa0\x80\n")

    def listed():
        st, body = raw_get(s, "users")
        assert st == 200
        text = body.decode("utf-8")          # strict: raises if not UTF-8
        return json.loads(text)["result"]
    assert wait_for(lambda: any(u["username"].startswith("bad")
                                for u in listed()))
    u = [u for u in listed() if u["username"].startswith("bad")][0]
    assert u["username"] == "bad\ufffd\ufffd"
    assert u["tags"] == "t\ufffd\ufffd\ufffd\ufffd"
    with open(path, "rb") as f:
        lines = f.read().splitlines(keepends=True)
    with open(path + ".new", "wb") as f:
        f.writelines(ln for ln in lines if not ln.startswith(b"bad"))
    os.rename(path + ".new", path)
