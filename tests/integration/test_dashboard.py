# SPDX-License-Identifier: BSD-2-Clause
"""The dashboard (dashboard/) in a real browser: Debian's chromium, headless,
driven by chromium-driver through python3-selenium, against the real stack
(broker + workers + nginx) with real MQTT clients (paho).

One stack and one browser serve the whole module (tests run in file order
and build on each other: log in, visit every page, kick, toggle, add a user,
stop the broker last).  Every test ends by checking the browser console for
errors.  Screenshots go to BUILDDIR/tests/integration/screenshots/.
"""
import os
import shutil
import tempfile
import threading
import time

import paho.mqtt.client as mqtt
import pytest
from selenium import webdriver
from selenium.common.exceptions import (NoAlertPresentException,
                                        StaleElementReferenceException,
                                        WebDriverException)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from conftest import BUILDDIR
from stack import Stack, ok

XSS_ID = "<img src=x onerror=alert(1)>"
SHOTS = os.path.join(BUILDDIR, "tests", "integration", "screenshots")
CHROME_ARGS = ("--headless=new", "--no-sandbox", "--disable-gpu",
               "--disable-background-networking", "--disable-component-update",
               "--no-first-run", "--disable-sync", "--window-size=1280,900",
               "--ignore-certificate-errors")


@pytest.fixture(scope="module")
def st():
    # with an mqtt:ws listener: the WebSocket tool talks to the real one
    with Stack(ws=True) as s:
        s.clients = []
        yield s
        for c in s.clients:
            c.loop_stop()


@pytest.fixture(scope="module")
def br(st):
    profile = tempfile.mkdtemp(prefix="mqttd-chromium-")
    o = webdriver.ChromeOptions()
    for a in CHROME_ARGS:
        o.add_argument(a)
    o.add_argument("--user-data-dir=" + profile)
    o.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=o)
    d.set_page_load_timeout(20)
    os.makedirs(SHOTS, exist_ok=True)
    try:
        yield d
    finally:
        d.quit()
        shutil.rmtree(profile, ignore_errors=True)


def wait(fn, timeout=10.0, what="condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            v = fn()
            if v:
                return v
        except (StaleElementReferenceException, WebDriverException) as e:
            last = e
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what} ({last})")


def text(d, id_):
    return d.find_element(By.ID, id_).text


def console_errors(d, allow=()):
    """SEVERE console entries, except network errors of expected URLs."""
    bad = []
    for e in d.get_log("browser"):
        if e["level"] != "SEVERE":
            continue
        if any(a in e["message"] for a in allow):
            continue
        bad.append(e["message"])
    return bad


def no_alert(d):
    try:
        a = d.switch_to.alert
        msg = a.text
        a.dismiss()
        raise AssertionError(f"an alert opened: {msg!r}")
    except NoAlertPresentException:
        pass


def shot(d, name):
    d.save_screenshot(os.path.join(SHOTS, name + ".png"))


def goto(d, st, page):
    """Opens page; a browser not logged in yet (a test run alone, -k)
    logs in as the administrator first."""
    d.get(f"{st.http_url}/#/{page}")
    if wait(lambda: d.find_element(By.ID, "page").is_displayed()
            or d.find_element(By.ID, "login").is_displayed(),
            what="page or login") and \
            d.find_element(By.ID, "login").is_displayed():
        login(d, st, "admin", "public")
        wait(lambda: d.find_element(By.ID, "shell").is_displayed(),
             what="logged in")
        d.get(f"{st.http_url}/#/{page}")
    wait(lambda: d.find_element(By.ID, "page").get_attribute("data-page")
         == page, what=f"page {page}")


def login(d, st, user, password):
    if not d.current_url.startswith(st.http_url):
        d.get(st.http_url + "/")
    if d.find_element(By.ID, "login").is_displayed() is False:
        d.find_element(By.ID, "logout").click()
    u = d.find_element(By.ID, "login-user")
    u.clear()
    u.send_keys(user)
    d.find_element(By.ID, "login-pass").send_keys(password)
    d.find_element(By.ID, "login-submit").click()


def mqtt_client(st, cid, **kw):
    c = mqtt.Client(client_id=cid, **kw)
    c.connect("127.0.0.1", st.mqtt_port)
    c.loop_start()
    st.clients.append(c)
    return c


def test_login_wrong_password_stays_on_the_form(st, br):
    br.get(st.http_url + "/")
    wait(lambda: br.find_element(By.ID, "login").is_displayed(), what="login")
    login(br, st, "admin", "wrong")
    wait(lambda: "Wrong username or password" in text(br, "login-error"),
         what="the error")
    no_alert(br)          # no Basic-auth dialog, no script alert
    assert not br.find_element(By.ID, "shell").is_displayed()
    assert br.execute_script("return sessionStorage.length") == 0
    shot(br, "login-failed")
    # The failed POST is the browser's own network log line, not a script
    # error; anything else is.
    assert console_errors(br, allow=("/api/v2/auth",)) == []


def test_login_and_overview_shows_live_values(st, br):
    subs = [mqtt_client(st, f"ov-{i}") for i in range(3)]
    subs[0].subscribe("ov/topic", 1)
    subs[0].publish("ov/retained", "r", qos=1, retain=True)
    login(br, st, "admin", "public")
    wait(lambda: br.find_element(By.ID, "shell").is_displayed(), what="shell")
    # Only the tab's session storage holds the credentials.
    assert br.execute_script("return sessionStorage.length") == 1
    assert br.execute_script("return localStorage.length") == 0
    assert br.get_cookies() == []
    wait(lambda: text(br, "ov-node") == st.node, what="node")
    wait(lambda: text(br, "ov-connections") == "3", what="connections")
    assert text(br, "ov-status") == "Running"
    assert text(br, "node-status") == "Running"
    assert text(br, "ov-version")
    assert "hours" in text(br, "ov-uptime")
    assert "/" in text(br, "ov-load") and "/" in text(br, "ov-memory")
    assert text(br, "ov-subscriptions") == "1"
    assert text(br, "ov-topics") == "1"
    assert int(text(br, "ov-retained")) >= 1
    before = int(text(br, "ov-msg-in").replace(",", ""))
    for i in range(20):
        subs[1].publish("ov/topic", str(i), qos=1)
    wait(lambda: int(text(br, "ov-msg-in").replace(",", "")) >= before + 20,
         what="messages received rising")
    wait(lambda: br.find_element(By.ID, "page").get_attribute("data-charts")
         == "ready", what="charts")
    # Chart.js drew its three charts with the samples so far.
    n = br.execute_script(
        "return document.querySelectorAll('canvas').length")
    assert n == 3
    time.sleep(3.5)   # one more sample, so the rate charts have a point
    shot(br, "overview")
    assert console_errors(br) == []


def test_clients_page_escapes_search_detail_kick(st, br):
    xss = mqtt_client(st, XSS_ID)
    xss.subscribe("xss/#", 0)
    victim = mqtt_client(st, "kick-me")
    gone = threading.Event()
    victim.on_disconnect = lambda c, u, rc: gone.set()
    for i in range(25):
        mqtt_client(st, f"many-{i:02d}")
    goto(br, st, "clients")
    wait(lambda: "30 in all" in text(br, "clients-info"), what="30 clients")
    # Default page size 20; choosing 50 shows all 30.
    rows = lambda: br.find_elements(By.CSS_SELECTOR,
                                    "#clients-table tbody tr")
    assert len(rows()) == 20
    Select(br.find_element(By.ID, "clients-size")).select_by_value("50")
    wait(lambda: len(rows()) == 30, what="50 per page")
    Select(br.find_element(By.ID, "clients-size")).select_by_value("10")
    wait(lambda: len(rows()) == 10, what="10 per page")
    assert "page 1 of 3" in text(br, "clients-info")
    br.find_element(By.ID, "clients-next").click()
    wait(lambda: "page 2 of 3" in text(br, "clients-info"), what="page 2")
    # Search by exact id: the XSS id, shown as text, no alert, no <img>.
    box = br.find_element(By.ID, "clients-search")
    box.send_keys(XSS_ID)
    br.find_element(By.ID, "clients-search-go").click()
    wait(lambda: len(rows()) == 1 and XSS_ID in rows()[0].text,
         what="search result")
    no_alert(br)
    assert br.execute_script(
        "return document.querySelectorAll('#page img').length") == 0
    shot(br, "clients-xss")
    # Its detail: the session and the subscription.
    br.find_element(By.CSS_SELECTOR, "#clients-table a.cid").click()
    wait(lambda: "xss/#" in text(br, "client-detail-subs"), what="detail")
    assert XSS_ID in text(br, "client-detail")
    assert "Subscriptions" in text(br, "client-detail-session")
    # Search for one that does not exist.
    box.clear()
    box.send_keys("nobody-here")
    br.find_element(By.ID, "clients-search-go").click()
    wait(lambda: "no match" in text(br, "clients-info"), what="no match")
    # Kick, with a confirmation; Cancel first keeps the client.
    box.clear()
    box.send_keys("kick-me")
    br.find_element(By.ID, "clients-search-go").click()
    wait(lambda: len(rows()) == 1 and "kick-me" in rows()[0].text,
         what="kick-me")
    br.find_element(By.CSS_SELECTOR, "button.kick").click()
    wait(lambda: br.find_element(By.ID, "confirm").is_displayed(),
         what="confirmation")
    shot(br, "clients-kick-confirm")
    br.find_element(By.ID, "confirm-no").click()
    time.sleep(0.5)
    assert not gone.is_set()
    br.find_element(By.CSS_SELECTOR, "button.kick").click()
    wait(lambda: br.find_element(By.ID, "confirm").is_displayed(),
         what="confirmation")
    br.find_element(By.ID, "confirm-yes").click()
    assert gone.wait(5), "the kicked client was not disconnected"
    victim.reconnect_delay_set(3600, 3600)
    victim.loop_stop()
    st.clients.remove(victim)
    wait(lambda: "no match" in text(br, "clients-info"), what="kicked gone")
    assert ok(st.get("clients/kick-me"))["objects"] == []
    assert console_errors(br) == []


def test_sessions_subscriptions_topics_pages(st, br):
    c = mqtt_client(st, "lists-1")
    c.subscribe("lists/a/+", 2)
    wait(lambda: ok(st.get("subscriptions/lists-1"))["objects"],
         what="subscribed")
    goto(br, st, "sessions")
    br.find_element(By.ID, "sessions-search").send_keys("lists-1")
    br.find_element(By.ID, "sessions-search-go").click()
    wait(lambda: "lists-1" in text(br, "sessions-table"), what="session")
    shot(br, "sessions")
    goto(br, st, "subscriptions")
    wait(lambda: "lists/a/+" in text(br, "subscriptions-table"),
         what="subscription")
    shot(br, "subscriptions")
    goto(br, st, "topics")
    wait(lambda: "lists/a/+" in text(br, "topics-table"), what="route")
    br.find_element(By.ID, "topics-search").send_keys("lists/a/+")
    br.find_element(By.ID, "topics-search-go").click()
    wait(lambda: "1 found" in text(br, "topics-info"), what="route search")
    shot(br, "topics")
    assert console_errors(br) == []


def test_listeners_page(st, br):
    goto(br, st, "listeners")
    tcp = f"127.0.0.1:{st.mqtt_port}"
    wait(lambda: tcp in text(br, "listeners-table"), what="tcp listener")
    t = text(br, "listeners-table")
    assert "mqtt:tcp" in t and "mqtt:api" in t
    row = [r for r in t.splitlines() if tcp in r][0]
    n = len([c for c in st.clients if c.is_connected()])
    assert f"{n} / " in row, row
    shot(br, "listeners")
    assert console_errors(br) == []


def _retained_seen(st, topic):
    got = threading.Event()
    c = mqtt.Client(client_id="ret-check")
    c.on_message = lambda *a: got.set()
    c.connect("127.0.0.1", st.mqtt_port)
    c.loop_start()
    c.subscribe(topic, 0)
    seen = got.wait(1.5)
    c.disconnect()
    c.loop_stop()
    return seen


def test_plugin_toggle_changes_behaviour(st, br):
    p = mqtt_client(st, "ret-pub")
    p.publish("plug/r", "kept", qos=1, retain=True).wait_for_publish()
    assert _retained_seen(st, "plug/r")
    goto(br, st, "plugins")
    btn = wait(lambda: br.find_element(By.ID, "plugin-mqttd_retainer"),
               what="retainer row")
    assert btn.text == "Stop"
    btn.click()
    wait(lambda: br.find_element(By.ID, "plugin-mqttd_retainer").text
         == "Start", what="stopped")
    shot(br, "plugins")
    assert not _retained_seen(st, "plug/r")     # retained not delivered
    br.find_element(By.ID, "plugin-mqttd_retainer").click()
    wait(lambda: br.find_element(By.ID, "plugin-mqttd_retainer").text
         == "Stop", what="started")
    p.publish("plug/r2", "kept", qos=1, retain=True).wait_for_publish()
    assert _retained_seen(st, "plug/r2")
    assert console_errors(br) == []


def test_users_add_change_password_login_delete(st, br):
    goto(br, st, "users")
    wait(lambda: "admin" in text(br, "users-table"), what="users")
    br.find_element(By.ID, "user-add-name").send_keys("ops<b>")
    br.find_element(By.ID, "user-add-pass").send_keys("s3cret")
    br.find_element(By.ID, "user-add-tags").send_keys("operator")
    br.find_element(By.ID, "user-add-go").click()
    wait(lambda: "ops<b>" in text(br, "users-table"), what="user added")
    shot(br, "users")
    # Change its password from the form.
    Select(br.find_element(By.ID, "user-pw-name")).select_by_value("ops<b>")
    br.find_element(By.ID, "user-pw-old").send_keys("s3cret")
    br.find_element(By.ID, "user-pw-new").send_keys("n3w")
    br.find_element(By.ID, "user-pw-go").click()
    wait(lambda: "changed" in text(br, "users-msg"), what="changed")
    # Log out, log in as the new user.
    br.find_element(By.ID, "logout").click()
    wait(lambda: br.find_element(By.ID, "login").is_displayed(), what="out")
    assert br.execute_script("return sessionStorage.length") == 0
    login(br, st, "ops<b>", "n3w")
    wait(lambda: br.find_element(By.ID, "shell").is_displayed(), what="in")
    wait(lambda: text(br, "whoami").startswith("ops<b>"), what="whoami")
    br.find_element(By.ID, "logout").click()
    login(br, st, "admin", "public")
    wait(lambda: br.find_element(By.ID, "shell").is_displayed(), what="in")
    goto(br, st, "users")
    wait(lambda: "ops<b>" in text(br, "users-table"), what="users")
    br.find_element(By.CSS_SELECTOR, "button[data-delete='ops<b>']").click()
    br.find_element(By.ID, "confirm-yes").click()
    wait(lambda: "ops<b>" not in text(br, "users-table"), what="deleted")
    assert console_errors(br) == []


def test_viewer_sees_no_write_controls(st, br):
    ok(st.post("users", {"username": "watch", "password": "w",
                         "role": "viewer"}))
    br.find_element(By.ID, "logout").click()
    login(br, st, "watch", "w")
    wait(lambda: "(viewer)" in text(br, "whoami"), what="viewer")
    goto(br, st, "clients")
    wait(lambda: "in all" in text(br, "clients-info"), what="list")
    assert br.find_elements(By.CSS_SELECTOR, "button.kick") == []
    goto(br, st, "plugins")
    wait(lambda: "mqttd_retainer" in text(br, "plugins-table"), what="rows")
    assert br.find_elements(By.CSS_SELECTOR, "button.toggle") == []
    goto(br, st, "users")
    wait(lambda: "watch" in text(br, "users-table"), what="users")
    assert br.find_elements(By.ID, "user-add") == []
    br.find_element(By.ID, "logout").click()
    login(br, st, "admin", "public")
    wait(lambda: br.find_element(By.ID, "shell").is_displayed(), what="in")
    # The viewer's login POST answers 403 (by design): the browser logs it.
    assert console_errors(br, allow=("/api/v2/auth",)) == []


def test_alarms_and_metrics_pages(st, br):
    goto(br, st, "alarms")
    wait(lambda: "No alarms." in text(br, "alarms-list"), what="alarms")
    goto(br, st, "metrics")
    wait(lambda: "mqttd_up{" in text(br, "metrics-text"), what="metrics")
    assert br.find_element(By.ID, "metrics-link").get_attribute(
        "href").endswith("/metrics")
    shot(br, "metrics")
    assert console_errors(br) == []


def test_websocket_tool(st, br):
    ls = ok(st.get(f"monitoring/listeners/{st.node}"))
    assert [x["listen"] for x in ls if x["protocol"] == "mqtt:ws"] == \
        [f"127.0.0.1:{st.ws_port}"]
    goto(br, st, "websocket")
    wait(lambda: br.find_element(By.ID, "page").get_attribute("data-ws")
         == "ready", what="listener lookup")
    assert br.find_element(By.ID, "ws-url").get_attribute("value") == \
        f"ws://127.0.0.1:{st.ws_port}/mqtt"
    shot(br, "websocket")
    got = []
    sub = mqtt_client(st, "ws-receiver")
    sub.on_message = lambda c, u, m: got.append((m.topic, m.payload))
    sub.subscribe("dash/ws/#", 1)
    br.find_element(By.ID, "ws-connect").click()
    wait(lambda: text(br, "ws-status") == "connected", what="ws connect")
    sub_topic = br.find_element(By.ID, "ws-sub-topic")
    sub_topic.clear()
    sub_topic.send_keys("dash/ws/#")
    br.find_element(By.ID, "ws-subscribe").click()
    wait(lambda: "dash/ws/#" in text(br, "ws-subs"), what="subscribed")
    t = br.find_element(By.ID, "ws-pub-topic")
    t.clear()
    t.send_keys("dash/ws/x")
    pl = br.find_element(By.ID, "ws-pub-payload")
    pl.clear()
    pl.send_keys("from <b>chromium</b>")
    Select(br.find_element(By.ID, "ws-pub-qos")).select_by_value("1")
    br.find_element(By.ID, "ws-publish").click()
    wait(lambda: ("dash/ws/x", b"from <b>chromium</b>") in got,
         what="paho received the browser's message")
    sub.publish("dash/ws/y", "from paho", qos=2)
    wait(lambda: "from paho" in text(br, "ws-messages"), what="in browser")
    shot(br, "websocket")
    br.find_element(By.ID, "ws-connect").click()
    wait(lambda: "not connected" in text(br, "ws-status"), what="ws closed")
    assert console_errors(br) == []


def test_mqtt_codec_in_the_browser(st, br):
    r = br.execute_async_script(CODEC_JS)
    assert "error" not in r, r
    assert r["connect"] == "100d00044d5154540402001e000163"
    assert r["connectAuth"] == "101300044d51545404c2003c000163000175000170"
    assert r["pub0"] == "3007000361" + "2f62" + "6869"
    assert r["pub1"] == "3306000161000778"
    assert r["sub"] == "820800010003612f2302"
    assert r["unsub"] == "a20700020003612f23"
    assert r["big"] == "30cb010001"          # 203 = 0xcb 0x01
    assert r["parsed"] == [[2, 0, "0000"], [3, 0, "0001746869"], [13, 0, ""]]
    assert r["pub"] == ["t", 0, "6869"]
    assert r["longlen"] is True and r["short"] is True and r["qos3"] is True
    assert console_errors(br) == []


def test_https_serves_the_dashboard(st, br):
    br.get(st.https_url + "/#/overview")
    # Same origin policy: a new origin has its own session storage.
    wait(lambda: br.find_element(By.ID, "login").is_displayed(), what="login")
    login(br, st, "admin", "public")
    wait(lambda: text(br, "ov-node") == st.node, what="overview over TLS")
    assert console_errors(br) == []
    br.get(st.http_url + "/#/overview")
    wait(lambda: text(br, "ov-node") == st.node, what="back on HTTP")


def test_stopped_broker_shows_stopped_and_the_api_message(st, br):
    goto(br, st, "overview")
    wait(lambda: text(br, "node-status") == "Running", what="running")
    p = st.procs["mqttd"]
    p.terminate()
    p.wait(timeout=10)
    wait(lambda: text(br, "node-status") == "Stopped", timeout=15,
         what="Stopped in the header")
    wait(lambda: text(br, "ov-status") == "Stopped", what="Stopped")
    goto(br, st, "clients")
    wait(lambda: "broker not running" in text(br, "errors"),
         what="the API's message")
    assert "101" in text(br, "errors")
    shot(br, "stopped")
    assert console_errors(br) == []


def test_websocket_tool_without_a_ws_listener(br):
    """A broker with no mqtt:ws listener: the page says so."""
    with Stack() as other:
        goto(br, other, "websocket")
        wait(lambda: br.find_element(By.ID, "page").get_attribute("data-ws")
             == "missing", what="listener lookup")
        assert "no mqtt:ws listener" in text(br, "ws-note")
        assert console_errors(br) == []


# The MQTT codec of the WebSocket tool (dashboard/js/mqtt.js), run in the
# browser: byte strings of each packet, the stream parser on split and
# joined input, malformed input.
CODEC_JS = """
const done = arguments[arguments.length - 1];
import('/js/mqtt.js').then((m) => {
  const hex = (u) => Array.from(u, (b) => b.toString(16).padStart(2, '0')).join('');
  const r = {};
  r.connect = hex(m.encodeConnect({clientId: 'c', keepalive: 30, clean: true}));
  r.connectAuth = hex(m.encodeConnect({clientId: 'c', username: 'u', password: 'p', keepalive: 60}));
  r.pub0 = hex(m.encodePublish({topic: 'a/b', payload: 'hi'}));
  r.pub1 = hex(m.encodePublish({topic: 'a', payload: 'x', qos: 1, retain: true, id: 7}));
  r.sub = hex(m.encodeSubscribe(1, 'a/#', 2));
  r.unsub = hex(m.encodeUnsubscribe(2, 'a/#'));
  r.big = hex(m.encodePublish({topic: 't', payload: new Uint8Array(200)})).slice(0, 10);
  const p = new m.Parser();
  const stream = Uint8Array.from([0x20, 2, 0, 0, 0x30, 5, 0, 1, 0x74, 0x68, 0x69, 0xd0, 0]);
  const got = [];
  for (const b of stream) got.push(...p.push(Uint8Array.of(b)));
  r.parsed = got.map((x) => [x.type, x.flags, hex(x.body)]);
  const pub = m.decodePublish(got[1].flags, got[1].body);
  r.pub = [pub.topic, pub.qos, hex(pub.payload)];
  try { new m.Parser().push(Uint8Array.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01])); r.longlen = 'accepted'; }
  catch (e) { r.longlen = e instanceof m.MalformedError; }
  try { m.decodePublish(0, Uint8Array.from([0, 9, 0x61])); r.short = 'accepted'; }
  catch (e) { r.short = e instanceof m.MalformedError; }
  try { m.decodePublish(6, Uint8Array.from([0, 1, 0x61, 0])); r.qos3 = 'accepted'; }
  catch (e) { r.qos3 = e instanceof m.MalformedError; }
  done(r);
}).catch((e) => done({error: String(e)}));
"""

