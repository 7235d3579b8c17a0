# SPDX-License-Identifier: BSD-2-Clause
"""The front through the real stack (mqttd + mqttd-api workers + nginx):
Basic auth and the users routes as a client sees them, the per-address
limit on failed attempts, HTTPS, public routes, no credentials on disk, and
a worker killed under load.
"""
import base64
import http.client
import os
import signal
import threading
import time

from stack import Stack, stack  # noqa: F401  (the fixture)

REALM = 'Basic realm="mqttd"'
AUTH_BURST, AUTH_RATE = 64, 5      # nginx/render's defaults


def ok(resp):
    st, body, _ = resp
    return st == 200 and isinstance(body, dict) and body.get("code") == 0


def test_auth_required(stack):
    for path in ("management/nodes", "/metrics", "users"):
        st, _, h = stack.get(path, auth=False)
        assert st == 401, path
        assert h["WWW-Authenticate"] == REALM
        st, _, h = stack.get(path, auth=("admin", "wrong"))
        assert st == 401, path
        assert h["WWW-Authenticate"] == REALM
        st, _, h = stack.get(path, auth=("nosuchuser", "public"))
        assert st == 401, path
    r = stack.get("management/nodes")
    assert ok(r), r
    assert r.body["result"][0]["name"] == stack.node
    st, text, _ = stack.get("/metrics")
    assert st == 200 and "# TYPE" in text


def test_public_routes(stack):
    st, text, h = stack.get("/status", auth=False)
    assert st == 200
    assert stack.node in str(text)
    st, body, _ = stack.get("/api/v2/", auth=False)
    assert st == 200


def test_https_through_the_real_workers(stack):
    r = stack.get("management/nodes", https=True)
    assert ok(r), r
    st, _, h = stack.get("management/nodes", https=True, auth=False)
    assert st == 401 and h["WWW-Authenticate"] == REALM


def test_new_user_works_on_the_next_request(stack):
    for i in range(6):
        name = f"ops{i}"
        r = stack.post("users", {"username": name, "password": f"pw-{i}",
                                 "tags": "operator"})
        assert ok(r), r
        # Next request, whichever worker gets it.
        for _ in range(4):
            r = stack.get("management/nodes", auth=(name, f"pw-{i}"))
            assert ok(r), (name, r)
    r = stack.get("users")
    assert ok(r)
    names = [u["username"] for u in r.body["result"]]
    assert names[0] == "admin" and set(names) >= {f"ops{i}" for i in range(6)}
    r = stack.post("users", {"username": "ops0", "password": "x"})
    assert r.status == 200 and r.body["code"] == 113


def test_deleted_user_stops_working_within_1s(stack):
    assert ok(stack.post("users", {"username": "gone", "password": "pw"}))
    # Warm every worker's cache with these credentials.
    for _ in range(20):
        assert ok(stack.get("management/nodes", auth=("gone", "pw")))
    assert ok(stack.delete("users/gone"))
    t0 = time.monotonic()
    time.sleep(1.0)
    for _ in range(20):
        st, _, h = stack.get("management/nodes", auth=("gone", "pw"))
        assert st == 401, f"still {st} {time.monotonic() - t0:.2f} s " \
                          "after the delete"
    r = stack.delete("users/gone")
    assert r.status == 200 and r.body["code"] == 105


def test_admin_cannot_be_deleted(stack):
    r = stack.delete("users/admin")
    assert r.status == 200 and r.body["code"] == 106
    assert ok(stack.get("management/nodes"))
    r = stack.get("users/admin")
    assert ok(r)


def test_change_pwd_checks_the_old_password(stack):
    assert ok(stack.post("users", {"username": "u1", "password": "old"}))
    r = stack.put("change_pwd/u1", {"old_pwd": "bad", "new_pwd": "new"})
    assert r.status == 200 and r.body["code"] == 114
    assert ok(stack.get("management/nodes", auth=("u1", "old")))
    r = stack.put("change_pwd/u1", {"old_pwd": "old", "new_pwd": "new"})
    assert ok(r), r
    assert ok(stack.get("management/nodes", auth=("u1", "new")))
    time.sleep(1.0)
    for _ in range(10):
        assert stack.get("management/nodes", auth=("u1", "old"))[0] == 401


def test_post_auth(stack):
    assert ok(stack.post("auth", {"username": "admin", "password": "public"}))
    r = stack.post("auth", {"username": "admin", "password": "nope"})
    assert r.status == 200 and r.body["code"] == 103


def test_failed_attempts_rate_limited():
    # One worker: the cache of verified credentials is per worker process,
    # so "already verified" is only certain with one.
    with Stack(workers=1) as stack:
        _failed_attempts_rate_limited(stack)


def _failed_attempts_rate_limited(stack):
    for _ in range(3):
        assert ok(stack.get("management/nodes"))
    t0 = time.monotonic()
    codes = [stack.get("management/nodes", auth=("admin", f"g{i}"))[0]
             for i in range(AUTH_BURST + 30)]
    elapsed = time.monotonic() - t0
    assert set(codes) == {401, 429}, codes
    assert codes[:10] == [401] * 10
    # the burst (+1), then the rate
    allowed = AUTH_BURST + 1 + AUTH_RATE * elapsed
    assert codes.count(401) <= allowed, (codes, elapsed)
    # Verified credentials from the same address are not held back.
    for _ in range(20):
        assert ok(stack.get("management/nodes"))


def test_credentials_never_reach_disk(stack):
    assert ok(stack.post("users", {"username": "disk", "password":
                                   "Very-Secret-pw-1"}))
    for auth in (("disk", "Very-Secret-pw-1"), ("disk", "Wrong-pw-2")):
        stack.get("management/nodes", auth=auth)
        stack.get("management/nodes", auth=auth, https=True)
    needles = [b"Very-Secret-pw-1", b"Wrong-pw-2"]
    for user, pw in (("disk", "Very-Secret-pw-1"), ("disk", "Wrong-pw-2"),
                     ("admin", "public")):
        needles.append(base64.b64encode(f"{user}:{pw}".encode()))
    time.sleep(1.2)   # access log flush
    for root, _, files in os.walk(stack.state_dir):
        for f in files:
            path = os.path.join(root, f)
            try:
                data = open(path, "rb").read()
            except OSError:
                continue
            for n in needles:
                assert n not in data, (path, n)


def _workers(stack):
    master = stack.pid("mqttd-api")
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            st = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(st[1]) == master and st[0] != "Z":
            out.append(int(pid))
    return sorted(out)


def test_worker_killed_under_load_is_respawned(stack):
    assert len(_workers(stack)) == stack.workers
    tok = base64.b64encode(b"admin:public").decode()
    stop = threading.Event()
    counts = {"ok": 0, "bad": 0}
    lock = threading.Lock()
    conc = 8

    def load():
        conn = None
        while not stop.is_set():
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(
                        "127.0.0.1", stack.http_port, timeout=10)
                conn.request("GET", "/api/v2/management/nodes",
                             headers={"Authorization": "Basic " + tok})
                r = conn.getresponse()
                r.read()
                good = r.status == 200
            except (OSError, http.client.HTTPException):
                good = False
                conn = None
            with lock:
                counts["ok" if good else "bad"] += 1

    threads = [threading.Thread(target=load) for _ in range(conc)]
    for t in threads:
        t.start()
    try:
        time.sleep(1.0)
        victim = _workers(stack)[0]
        os.kill(victim, signal.SIGKILL)
        time.sleep(2.0)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=15)
    print("worker kill under load:", counts)
    # At most the requests the victim was serving (<= one per connection).
    assert counts["bad"] <= conc, counts
    assert counts["ok"] > 100, counts
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        w = _workers(stack)
        if len(w) == stack.workers and victim not in w:
            break
        time.sleep(0.1)
    w = _workers(stack)
    assert len(w) == stack.workers and victim not in w, w
    for _ in range(10):
        assert ok(stack.get("management/nodes"))


def test_sockets_and_secrets_not_exposed(stack):
    import stat
    st = os.stat(stack.api_socket)
    assert stat.S_ISSOCK(st.st_mode)
    assert st.st_mode & 0o777 == 0o660, oct(st.st_mode)
    users = os.stat(os.path.join(stack.state_dir, "users"))
    assert users.st_mode & 0o007 == 0, oct(users.st_mode)
    key = os.stat(os.path.join(stack.state_dir, "tls", "key.pem"))
    assert key.st_mode & 0o077 == 0, oct(key.st_mode)
    # The users file holds salted SHA-512 crypt hashes, nothing weaker.
    with open(os.path.join(stack.state_dir, "users")) as f:
        lines = [ln for ln in f.read().splitlines() if ln.strip()]
    assert lines and all(ln.split(":")[1].startswith("$6$") for ln in lines)
    # nginx listens on the two loopback ports only; the workers on no TCP
    # port at all (their pids own no listening inet socket).
    conf = open(os.path.join(stack.state_dir, "mqttd-api.conf")).read()
    listens = [ln.strip() for ln in conf.splitlines()
               if ln.strip().startswith("listen ")]
    assert listens == [f"listen 127.0.0.1:{stack.http_port};",
                       f"listen 127.0.0.1:{stack.https_port} ssl;"]
    inodes = set()
    for tbl in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(tbl) as f:
            for ln in f.readlines()[1:]:
                parts = ln.split()
                if parts[3] == "0A":          # LISTEN
                    inodes.add(parts[9])
    master = stack.pid("mqttd-api")
    for pid in [master] + _workers(stack):
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                assert target[8:-1] not in inodes, (pid, target)
