# SPDX-License-Identifier: BSD-2-Clause
"""/api/v2 through the real stack (mqttd + mqttd-api + nginx with Basic
auth): every route of EMQ 2.3's doc and the extra forms, with state made by
real MQTT clients, checking values (ports, counts, pagination arithmetic),
every error code path, %-encoded ids and topics.
"""
import os
import re
import time
import urllib.parse

import paho.mqtt.client as mqtt
import pytest

from stack import Stack, err, ok, wait_for

DT = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")
UPTIME = re.compile(r"^(\d+ days, )?\d+ hours, \d+ minutes, \d+ seconds$")
MEM = re.compile(r"^\d+(\.\d\d[KMGTP]|B)$")
LOAD = re.compile(r"^\d+\.\d\d$")

# EMQ 2.3's client fields, then ours: the listener's protocol
CLIENT_KEYS = ["client_id", "username", "ipaddress", "port", "clean_sess",
               "proto_ver", "keepalive", "connected_at", "protocol"]
SESSION_KEYS = ["client_id", "clean_sess", "max_inflight", "inflight_queue",
                "message_queue", "message_dropped", "awaiting_rel",
                "awaiting_ack", "awaiting_comp", "created_at",
                "subscriptions", "inflight_len", "mqueue_len",
                "mqueue_dropped", "awaiting_rel_len", "deliver_msg",
                "enqueue_msg"]
PAGE_KEYS = ["current_page", "page_size", "total_num", "total_page",
             "objects"]
STATS = ["clients/count", "clients/max", "retained/count", "retained/max",
         "routes/count", "routes/max", "sessions/count", "sessions/max",
         "subscribers/count", "subscribers/max", "subscriptions/count",
         "subscriptions/max", "topics/count", "topics/max"]
# Our extras after EMQ's 14: the durable store (issue 11).
STORE = ["store/enabled", "store/size_bytes", "store/last_sync_us",
         "store/transactions", "store/bytes_written", "store/records_loaded",
         "store/corrupt_events", "store/disk_full_errors"]
# The REST doc's order for monitoring/metrics.
METRICS_DOC = """packets/disconnect messages/dropped messages/qos2/received
packets/suback packets/pubcomp/received packets/unsuback packets/pingresp
packets/puback/missed packets/pingreq messages/retained packets/sent
messages/qos2/dropped packets/unsubscribe packets/pubrec/missed
packets/connack messages/received packets/pubrec/sent
packets/publish/received packets/pubcomp/sent bytes/received packets/connect
packets/puback/received messages/sent packets/publish/sent bytes/sent
packets/pubrel/missed packets/puback/sent messages/qos0/received
packets/subscribe packets/pubrel/sent messages/qos2/sent packets/received
packets/pubrel/received messages/qos1/received messages/qos1/sent
packets/pubrec/received packets/pubcomp/missed messages/qos0/sent""".split()


@pytest.fixture(scope="module")
def s():
    with Stack() as st:
        yield st


def q(x):
    return urllib.parse.quote(x, safe="")



class Client:
    """A paho client that remembers its local port and what it got."""

    def __init__(self, s, cid, username=None, clean=True, keepalive=60,
                 proto=mqtt.MQTTv311):
        self.got = []
        self.s, self.cid = s, cid
        self.c = mqtt.Client(client_id=cid, clean_session=clean,
                             protocol=proto)
        if username is not None:
            self.c.username_pw_set(username, "pw")
        self.c.on_message = lambda c, u, m: self.got.append(
            (m.topic, m.payload, m.qos))
        connected = []
        self.c.on_connect = lambda c, u, f, rc: connected.append(rc)
        self.c.connect("127.0.0.1", s.mqtt_port, keepalive=keepalive)
        self.port = self.c.socket().getsockname()[1]
        self.c.loop_start()
        assert wait_for(lambda: connected), cid
        assert connected[0] == 0

    def sub(self, topic, qos=0):
        r = []
        self.c.on_subscribe = lambda c, u, mid, g: r.append(g)
        self.c.subscribe(topic, qos)
        assert wait_for(lambda: r)

    def close(self):
        """Disconnects, and returns once the broker no longer lists this
        connection (the next test counts clients: DISCONNECT is handled
        asynchronously, so a count taken at once raced it)."""
        self.c.disconnect()
        self.c.loop_stop()
        wait_for(lambda: not self.listed())

    def listed(self):
        objs = ok(self.s.get("clients/" + q(self.cid)))["objects"]
        return any(o["port"] == self.port for o in objs)


def node_path(s, rest):
    return f"nodes/{s.node}/{rest}"


def client_ids(s, node_form=True):
    return s.get(node_path(s, "clients?page_size=10000"))


# ---- nodes ----------------------------------------------------------------

def test_management_nodes(s):
    res = ok(s.get("management/nodes"))
    assert len(res) == 1
    n = res[0]
    assert list(n) == ["name", "version", "sysdescr", "uptime", "datetime",
                       "otp_release", "node_status"]
    assert n["name"] == s.node and n["node_status"] == "Running"
    assert UPTIME.match(n["uptime"]) and DT.match(n["datetime"])
    one = ok(s.get("management/nodes/" + s.node))
    assert list(one) == list(n)[1:]
    # %-encoded node name is the same node
    assert ok(s.get("management/nodes/" + q(s.node)))["version"] == \
        n["version"]


def mem_bytes(text):
    """The API's memory figure ("1.50G", "512B") in bytes."""
    if text.endswith("B"):
        return int(text[:-1])
    return float(text[:-1]) * 1024 ** ("KMGTP".index(text[-1]) + 1)


def test_monitoring_nodes(s):
    c = Client(s, "mon-1")
    try:
        res = ok(s.get("monitoring/nodes"))
        n = res[0]
        assert list(n) == ["name", "otp_release", "memory_total",
                           "memory_used", "process_available",
                           "process_used", "max_fds", "clients",
                           "node_status", "load1", "load5", "load15"]
        assert MEM.match(n["memory_total"]) and MEM.match(n["memory_used"])
        # total: what the broker may use (RAM or its cgroup's limit),
        # not its virtual size (terabytes under ASan); used fits in it
        ram = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        assert 0 < mem_bytes(n["memory_used"]) \
            <= mem_bytes(n["memory_total"]) <= ram * 1.01, n
        for k in ("load1", "load5", "load15"):
            assert LOAD.match(n[k])
        total = ok(s.get(node_path(s, "clients")))["total_num"]
        assert n["clients"] == total >= 1
        assert n["max_fds"] > 0 and 0 < n["process_used"] <= n["max_fds"]
        assert ok(s.get("monitoring/nodes/" + s.node)) .keys() == n.keys()
    finally:
        c.close()


PER_NODE = ["management/nodes/{n}", "monitoring/nodes/{n}",
            "monitoring/listeners/{n}", "monitoring/metrics/{n}",
            "monitoring/stats/{n}", "nodes/{n}/clients",
            "nodes/{n}/clients/x", "nodes/{n}/sessions",
            "nodes/{n}/sessions/x", "nodes/{n}/subscriptions",
            "nodes/{n}/subscriptions/x", "nodes/{n}/plugins",
            "nodes/{n}/alarms"]


def test_unknown_node_is_101_naming_it(s):
    for p in PER_NODE:
        msg = err(s.get(p.format(n="other@host")), 101)
        assert "other@host" in msg, (p, msg)
    msg = err(s.put("nodes/other@host/plugins/x", {"active": True}), 101)
    assert "other@host" in msg


def test_alarms_empty(s):
    assert ok(s.get(node_path(s, "alarms"))) == []


# ---- clients --------------------------------------------------------------

def test_clients_values(s):
    a = Client(s, "cv-a", username="alice", clean=True, keepalive=30)
    b = Client(s, "cv-b", clean=False, keepalive=90, proto=mqtt.MQTTv31)
    try:
        for c, user, clean, ka, ver in ((a, "alice", True, 30, 4),
                                        (b, "undefined", False, 90, 3)):
            cid = c.c._client_id.decode()
            for path in ("clients/" + cid,
                         node_path(s, "clients/" + cid)):
                objs = ok(s.get(path))["objects"]
                assert len(objs) == 1, path
                o = objs[0]
                assert list(o) == CLIENT_KEYS
                assert o["client_id"] == cid
                assert o["username"] == user
                assert o["ipaddress"] == "127.0.0.1"
                assert o["port"] == c.port
                assert o["clean_sess"] is clean
                assert o["keepalive"] == ka
                assert o["proto_ver"] == ver
                assert DT.match(o["connected_at"])
                assert o["protocol"] == "mqtt:tcp"
        page = ok(s.get(node_path(s, "clients?page_size=10000")))
        ids = {o["client_id"]: o["port"] for o in page["objects"]}
        assert ids["cv-a"] == a.port and ids["cv-b"] == b.port
    finally:
        a.close()
        b.close()


def test_unknown_client_is_empty_objects(s):
    for p in ("clients/nobody", node_path(s, "clients/nobody"),
              "sessions/nobody", node_path(s, "sessions/nobody"),
              "subscriptions/nobody", node_path(s, "subscriptions/nobody"),
              "routes/no/such/topic"):
        assert ok(s.get(p)) == {"objects": []}, p


def test_strange_client_ids_are_escaped_and_decoded(s):
    weird = ['q"uo\\te', "sp ace/sl%ash", "\u00e9\u4e2d\U0001f600", "a+b"]
    cs = [Client(s, w) for w in weird]
    try:
        for w in weird:
            objs = ok(s.get("clients/" + q(w)))["objects"]
            assert [o["client_id"] for o in objs] == [w]
        r = s.get(node_path(s, "clients?page_size=10000"))
        got = {o["client_id"] for o in ok(r)["objects"]}
        assert set(weird) <= got
    finally:
        for c in cs:
            c.close()


def test_pagination_over_45_clients(s):
    before = ok(s.get(node_path(s, "clients")))["total_num"]
    cs = [Client(s, f"page-{i:02d}") for i in range(45)]
    try:
        total = before + 45
        p1 = ok(s.get(node_path(s, "clients?curr_page=1&page_size=20")))
        assert list(p1) == PAGE_KEYS
        assert p1["total_num"] == total
        assert p1["total_page"] == (total + 19) // 20
        assert p1["current_page"] == 1 and p1["page_size"] == 20
        seen = []
        for page in range(1, p1["total_page"] + 1):
            r = ok(s.get(node_path(
                s, f"clients?curr_page={page}&page_size=20")))
            assert r["current_page"] == page
            want = min(20, total - (page - 1) * 20)
            assert len(r["objects"]) == want
            seen += [o["client_id"] for o in r["objects"]]
        assert len(seen) == len(set(seen)) == total
        assert {f"page-{i:02d}" for i in range(45)} <= set(seen)
        past = ok(s.get(node_path(
            s, f"clients?curr_page={p1['total_page'] + 1}")))
        assert past["objects"] == [] and past["total_num"] == total
        r = ok(s.get(node_path(s, "clients?page_size=7")))
        assert r["total_page"] == (total + 6) // 7 and len(r["objects"]) == 7
        # defaults
        r = ok(s.get(node_path(s, "clients")))
        assert r["current_page"] == 1 and r["page_size"] == 20
    finally:
        for c in cs:
            c.close()


@pytest.mark.parametrize("qs", ["curr_page=0", "curr_page=-1",
                                "curr_page=abc", "curr_page=",
                                "page_size=0", "page_size=-5",
                                "page_size=x1", "page_size=1.5",
                                "page_size=100000"])
def test_bad_pagination_is_108(s, qs):
    for t in ("clients", "sessions", "subscriptions"):
        msg = err(s.get(node_path(s, f"{t}?{qs}")), 108)
        assert qs.split("=")[0] in msg
    err(s.get("routes?" + qs), 108)


def test_kick(s):
    c = Client(s, "kick-me")
    gone = []
    c.c.on_disconnect = lambda cl, u, rc: gone.append(rc)
    before = shutdown_kicked(s)
    assert ok(s.delete("clients/kick-me")) == []
    assert wait_for(lambda: gone)
    assert wait_for(lambda: ok(s.get("clients/kick-me"))["objects"] == [])
    assert wait_for(lambda: shutdown_kicked(s) == before + 1)
    err(s.delete("clients/kick-me"), 112)
    c.c.loop_stop()


def shutdown_kicked(s):
    rows = ok(s.get("monitoring/listeners/" + s.node))
    n = 0
    for r in rows:
        if isinstance(r["shutdown_count"], dict):
            n += r["shutdown_count"].get("kicked", 0)
    return n


# ---- sessions -------------------------------------------------------------

def test_sessions_both_key_sets_and_offline_queue(s):
    c = Client(s, "sess-p", clean=False)
    c.sub("sess/t", 1)
    c.close()
    pub = Client(s, "sess-pub")
    try:
        for i in range(3):
            pub.c.publish("sess/t", b"m%d" % i, qos=1).wait_for_publish()

        def one():
            objs = ok(s.get("sessions/sess-p"))["objects"]
            return objs and objs[0]["mqueue_len"] == 3 and objs[0]
        o = wait_for(one)
        assert o, ok(s.get("sessions/sess-p"))
        assert list(o) == SESSION_KEYS
        assert o["clean_sess"] is False
        assert o["message_queue"] == o["mqueue_len"] == 3
        assert o["subscriptions"] == 1
        assert o["max_inflight"] > 0
        assert DT.match(o["created_at"])
        objs = ok(s.get(node_path(s, "sessions/sess-p")))["objects"]
        assert objs[0]["client_id"] == "sess-p"
        page = ok(s.get(node_path(s, "sessions?page_size=10000")))
        assert "sess-p" in [x["client_id"] for x in page["objects"]]
        assert page["total_num"] == len(page["objects"])
    finally:
        pub.close()


# ---- subscriptions and routes ----------------------------------------------

def test_subscriptions_and_routes(s):
    c = Client(s, "subr")
    topics = {"r/a/b": 0, "r/+/x": 1, "r/sp ace/\u00e9": 2, "r/#": 1}
    try:
        for t, qos in topics.items():
            c.sub(t, qos)
        for path in ("subscriptions/subr", node_path(s, "subscriptions/subr")):
            objs = ok(s.get(path))["objects"]
            assert {(o["topic"], o["qos"]) for o in objs} == \
                set(topics.items())
            assert all(list(o) == ["client_id", "topic", "qos"] and
                       o["client_id"] == "subr" for o in objs)
        page = ok(s.get(node_path(s, "subscriptions?page_size=10000")))
        mine = [o for o in page["objects"] if o["client_id"] == "subr"]
        assert len(mine) == 4 and page["total_num"] == len(page["objects"])
        # a topic may contain '/', raw or %-encoded; wildcards %-encoded
        for t in topics:
            for path in ("routes/" + q(t),
                         "routes/" + urllib.parse.quote(t, safe="/")):
                objs = ok(s.get(path))["objects"]
                assert objs == [{"topic": t, "node": s.node}], (path, objs)
        routes = ok(s.get("routes?page_size=10000"))
        assert set(topics) <= {o["topic"] for o in routes["objects"]}
        assert routes["total_num"] == len(routes["objects"])
    finally:
        c.close()


# ---- publish / subscribe / unsubscribe -------------------------------------

def metric(s, name):
    return ok(s.get("monitoring/metrics/" + s.node))[name]


def test_qos1_publishes_count(s):
    c = Client(s, "q1-pub")
    try:
        before = metric(s, "messages/qos1/received")
        for i in range(10):
            c.c.publish("q1/t", b"x", qos=1).wait_for_publish()
        assert wait_for(
            lambda: metric(s, "messages/qos1/received") == before + 10)
    finally:
        c.close()


def test_publish_reaches_subscriber_and_is_not_received(s):
    c = Client(s, "pub-sub")
    try:
        c.sub("api/t", 1)
        before = metric(s, "messages/received")
        r = s.post("mqtt/publish", {"topic": "api/t", "payload": "h\u00e9",
                                    "qos": 1, "client_id": "api-pub"})
        assert ok(r) == []
        assert wait_for(lambda: c.got)
        assert c.got[0] == ("api/t", "h\u00e9".encode(), 1)
        assert ok(s.post("mqtt/publish", {"topic": "api/t"})) == []
        assert wait_for(lambda: len(c.got) == 2)
        assert c.got[1] == ("api/t", b"", 0)
        time.sleep(0.3)
        assert metric(s, "messages/received") == before
    finally:
        c.close()


@pytest.mark.parametrize("body,code", [
    ("not json", 109), ("[1]", 109), ('{"topic":"a"} x', 109),
    ({}, 107), ({"payload": "x"}, 107),
    ({"topic": 5}, 108), ({"topic": ""}, 108), ({"topic": "a/+"}, 108),
    ({"topic": "a/#"}, 108), ({"topic": "a", "qos": 3}, 108),
    ({"topic": "a", "qos": "1"}, 108), ({"topic": "a", "retain": "no"}, 108),
    ({"topic": "a", "payload": 1}, 108),
])
def test_publish_errors(s, body, code):
    err(s.post("mqtt/publish", body), code)


def test_subscribe_unsubscribe_via_api(s):
    c = Client(s, "api-subbed")
    try:
        r = s.post("mqtt/subscribe",
                   {"client_id": "api-subbed", "topic": "w/+", "qos": 1})
        assert ok(r) == []
        objs = ok(s.get("subscriptions/api-subbed"))["objects"]
        assert objs == [{"client_id": "api-subbed", "topic": "w/+", "qos": 1}]
        assert ok(s.post("mqtt/publish", {"topic": "w/1", "payload": "p",
                                          "qos": 1})) == []
        assert wait_for(lambda: c.got)
        assert c.got[0][0] == "w/1"
        r = s.post("mqtt/unsubscribe",
                   {"client_id": "api-subbed", "topic": "w/+"})
        assert ok(r) == []
        assert ok(s.get("subscriptions/api-subbed"))["objects"] == []
    finally:
        c.close()
    # an offline persistent session takes subscriptions too
    p = Client(s, "api-offline", clean=False)
    p.close()
    assert ok(s.post("mqtt/subscribe", {"client_id": "api-offline",
                                        "topic": "off/#"})) == []
    objs = ok(s.get("subscriptions/api-offline"))["objects"]
    assert [o["topic"] for o in objs] == ["off/#"]
    err(s.post("mqtt/subscribe", {"client_id": "ghost", "topic": "a"}), 112)
    err(s.post("mqtt/unsubscribe", {"client_id": "ghost", "topic": "a"}),
        112)


@pytest.mark.parametrize("path", ["mqtt/subscribe", "mqtt/unsubscribe"])
@pytest.mark.parametrize("body,code", [
    ("{", 109), ({"topic": "a"}, 107), ({"client_id": "c"}, 107),
    ({"client_id": 1, "topic": "a"}, 108),
    ({"client_id": "c", "topic": "a/#/b"}, 108),
    ({"client_id": "c", "topic": 7}, 108),
])
def test_subscribe_errors(s, path, body, code):
    err(s.post(path, body), code)


def test_subscribe_bad_qos(s):
    err(s.post("mqtt/subscribe", {"client_id": "c", "topic": "a",
                                  "qos": 9}), 108)


# ---- plugins --------------------------------------------------------------

def test_plugins(s):
    path = node_path(s, "plugins")
    ps = ok(s.get(path))
    assert ps and all(list(p) == ["name", "version", "description",
                                  "active"] for p in ps)
    p = next(x for x in ps if not x["active"])
    name = p["name"]
    assert ok(s.put(f"{path}/{name}", {"active": True})) == []
    now = {x["name"]: x["active"] for x in ok(s.get(path))}
    assert now[name] is True
    err(s.put(f"{path}/{name}", {"active": True}), 110)
    assert ok(s.put(f"{path}/{name}", {"active": False})) == []
    err(s.put(f"{path}/{name}", {"active": False}), 111)
    assert {x["name"]: x["active"] for x in ok(s.get(path))}[name] is False
    err(s.put(f"{path}/no_such_plugin", {"active": True}), 102)
    err(s.put(f"{path}/{name}", "nope"), 109)
    err(s.put(f"{path}/{name}", {}), 107)
    err(s.put(f"{path}/{name}", {"active": "yes"}), 108)


# ---- monitoring -----------------------------------------------------------

def test_listeners(s):
    c = Client(s, "lis-1")
    try:
        cl = ok(s.get("monitoring/listeners"))
        assert list(cl) == [s.node]
        rows = cl[s.node]
        assert rows == ok(s.get("monitoring/listeners/" + s.node)) or \
            len(rows) == len(ok(s.get("monitoring/listeners/" + s.node)))
        for r in rows:
            assert list(r) == ["protocol", "listen", "acceptors",
                               "max_clients", "current_clients",
                               "shutdown_count"]
            assert r["shutdown_count"] == [] or \
                isinstance(r["shutdown_count"], dict)
        tcp = [r for r in rows if r["protocol"] == "mqtt:tcp"]
        assert tcp[0]["listen"].endswith(f":{s.mqtt_port}")
        total = ok(s.get(node_path(s, "clients")))["total_num"]
        assert sum(r["current_clients"] for r in tcp) == total
        api = {r["listen"] for r in rows if r["protocol"] == "mqtt:api"}
        assert api == {f"127.0.0.1:{s.http_port}",
                       f"127.0.0.1:{s.https_port}"}
        # this very request is being served
        assert all(r["current_clients"] >= 1
                   for r in rows if r["protocol"] == "mqtt:api")
    finally:
        c.close()


def test_metrics_and_stats(s):
    m = ok(s.get("monitoring/metrics"))
    assert list(m) == [s.node]
    assert list(m[s.node]) == METRICS_DOC
    assert all(isinstance(v, int) and v >= 0 for v in m[s.node].values())
    one = ok(s.get("monitoring/metrics/" + s.node))
    assert list(one) == METRICS_DOC
    # trailing slash as the doc writes it
    assert list(ok(s.get("monitoring/metrics/"))) == [s.node]
    st = ok(s.get("monitoring/stats"))
    assert list(st[s.node]) == STATS + STORE
    c = Client(s, "stats-1")
    try:
        one = ok(s.get("monitoring/stats/" + s.node))
        total = ok(s.get(node_path(s, "clients")))["total_num"]
        assert one["clients/count"] == total
        assert one["clients/max"] >= total
    finally:
        c.close()


# ---- HTTP-level rules -----------------------------------------------------

def test_unknown_route_or_method_is_empty_404(s):
    for method, path in (("GET", "nosuch"), ("GET", "clients"),
                         ("POST", "management/nodes"),
                         ("DELETE", "routes"), ("PUT", "mqtt/publish"),
                         ("GET", "mqtt/publish"),
                         ("GET", "nodes/" + s.node + "/clients/a/b")):
        r = s.request(method, path)
        assert r.status == 404 and r.body == "", (method, path, r)


def test_head_is_get_without_body(s):
    r = s.request("HEAD", "management/nodes")
    assert r.status == 200 and r.body == ""
    assert r.headers["Content-Type"] == "application/json"


def test_status_and_listing_need_no_auth(s):
    r = s.get("/status", auth=False)
    assert r.status == 200
    assert r.body == f"Node {s.node} is started\nmqttd is running\n"
    for p in ("/api/v2/",):   # / is the dashboard now
        res = ok(s.get(p, auth=False))
        paths = {(x["method"], x["path"]) for x in res}
        assert ("GET", "/api/v2/nodes/{node}/clients") in paths
        assert ("POST", "/api/v2/mqtt/publish") in paths
    r = s.get("management/nodes", auth=False)
    assert r.status == 401
    assert r.headers["WWW-Authenticate"] == 'Basic realm="mqttd"'
