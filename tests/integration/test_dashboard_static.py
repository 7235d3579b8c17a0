# SPDX-License-Identifier: BSD-2-Clause
"""The dashboard's files and the front's rules for them, without a browser:
security and cache headers, the 401 without a challenge for the dashboard's
requests (and with it for everyone else), what `make install` installs, no
markup built from strings in the JavaScript, and the Grafana dashboard's
PromQL naming only metrics the exporter emits."""
import glob
import json
import os
import re
import subprocess
import tempfile

import pytest

from conftest import BUILDDIR, SRCDIR
from stack import Stack, ok

XHR = {"X-Requested-With": "XMLHttpRequest"}
DASH = os.path.join(SRCDIR, "dashboard")


@pytest.fixture(scope="module")
def s():
    with Stack() as st:
        yield st


def dashboard_files():
    out = []
    for root, _, files in os.walk(DASH):
        for f in files:
            if f != "local.mk":
                out.append(os.path.relpath(os.path.join(root, f), SRCDIR))
    return sorted(out)


def test_index_served_at_root_with_security_headers(s):
    for https in (False, True):
        r = s.get("/", auth=False, https=https)
        assert r.status == 200
        assert r.headers["Content-Type"].startswith("text/html")
        assert '<script type="module" src="/js/app.js">' in r.body
        csp = r.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert r.headers["X-Frame-Options"] == "DENY"
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["Cache-Control"] == "no-cache"
        assert r.headers["ETag"] and r.headers["Last-Modified"]


def test_static_files_revalidate_with_validators(s):
    r = s.get("/js/app.js", auth=False)
    assert r.status == 200
    assert r.headers["Content-Type"] == "application/javascript"
    etag = r.headers["ETag"]
    r2 = s.get("/js/app.js", auth=False, headers={"If-None-Match": etag})
    assert r2.status == 304
    r3 = s.get("/css/app.css", auth=False, headers={
        "If-Modified-Since": r.headers["Last-Modified"]})
    assert r3.status == 304
    assert s.get("/css/app.css", auth=False).headers["Content-Type"] \
        == "text/css"


def test_chart_js_from_debian(s):
    r = s.get("/javascript/chart.js/chart.esm.js", auth=False)
    assert r.status == 200
    assert r.headers["Content-Type"] == "application/javascript"
    with open("/usr/share/javascript/chart.js/chart.esm.js") as f:
        assert r.body == f.read()
    assert s.get("/javascript/jquery/jquery.js", auth=False).status == 404


def test_api_answers_not_cached_and_keep_their_headers(s):
    for p in ("management/nodes", "/metrics", "/status"):
        r = s.get(p)
        assert r.status == 200, p
        assert r.headers["Cache-Control"] == "no-store", p
        assert r.headers["X-Content-Type-Options"] == "nosniff", p
    # The API's own listing still answers at /api/v2/.
    assert any(x["path"] == "/api/v2/nodes/{node}/clients"
               for x in ok(s.get("/api/v2/", auth=False)))


def test_401_challenge_only_for_basic_clients(s):
    for https in (False, True):
        for path in ("management/nodes", "/metrics"):
            r = s.get(path, auth=("admin", "wrong"), https=https)
            assert r.status == 401
            assert r.headers["WWW-Authenticate"] == 'Basic realm="mqttd"'
            assert r.headers["X-Frame-Options"] == "DENY"
            r = s.get(path, auth=("admin", "wrong"), https=https,
                      headers=XHR)
            assert r.status == 401
            assert "WWW-Authenticate" not in r.headers, path
            assert r.headers["Cache-Control"] == "no-store"
        r = s.post("auth", {"username": "admin", "password": "x"},
                   auth=("admin", "wrong"), headers=XHR)
        assert r.status == 401 and "WWW-Authenticate" not in r.headers
    assert s.get("management/nodes", headers=XHR).status == 200


def test_unknown_and_hidden_paths_404_api_paths_untouched(s):
    for p in ("/nope.js", "/.hidden", "/js/.x", "/javascript/", "/../etc/passwd"):
        assert s.get(p, auth=False).status in (400, 404), p
    # A client id starting with a dot still reaches the API.
    r = s.get("clients/.dot")
    assert r.status == 200 and ok(r) == {"objects": []}


def test_dashboard_code_builds_no_markup_from_strings():
    bad = re.compile(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write"
                     r"|\beval\(|new Function|setTimeout\(['\"]")
    for f in glob.glob(os.path.join(DASH, "js", "**", "*.js"), recursive=True):
        with open(f) as fh:
            for n, line in enumerate(fh, 1):
                assert not bad.search(line), f"{f}:{n}: {line.strip()}"
    with open(os.path.join(DASH, "index.html")) as fh:
        html = fh.read()
    assert not re.search(r"<script(?![^>]*\bsrc=)", html), "inline script"
    assert not re.search(r"\son[a-z]+=|\sstyle=|<style", html)


def test_make_install_installs_every_dashboard_file():
    dest = tempfile.mkdtemp(prefix="mqttd-install-")
    try:
        # install-data installs the render script too (pkgdata_SCRIPTS).
        r = subprocess.run(["make", "-C", BUILDDIR, "install-data",
                            f"DESTDIR={dest}", "prefix=/usr/local"],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr[-2000:]
        share = os.path.join(dest, "usr/local/share/mqttd")
        for f in dashboard_files():
            assert os.path.isfile(os.path.join(share, f)), f
        assert os.access(os.path.join(share, "nginx/render"), os.X_OK)
        # The installed render finds the installed dashboard.
        state = os.path.join(dest, "state")
        env = dict(os.environ, MQTTD_HTTP_PORT="18080",
                   MQTTD_HTTPS_PORT="18443")
        env.pop("MQTTD_DASHBOARD_DIR", None)
        r = subprocess.run([os.path.join(share, "nginx/render"), state],
                           env=env, capture_output=True, text=True,
                           timeout=60)
        assert r.returncode == 0, r.stderr
        with open(os.path.join(state, "mqttd-api.conf")) as f:
            assert f'root "{share}/dashboard";' in f.read()
    finally:
        subprocess.run(["rm", "-rf", dest])


# PromQL: identifiers that are not functions, keywords, labels or
# Grafana variables are metric names.
PROMQL_WORDS = {"rate", "irate", "sum", "by", "without", "avg", "max", "min",
                "increase", "count", "on", "ignoring", "group_left",
                "group_right", "and", "or", "unless", "offset", "bool",
                "label_values", "topk", "bottomk", "histogram_quantile",
                "delta", "deriv", "abs", "clamp_min", "time"}


def promql_metrics(expr):
    expr = re.sub(r'"[^"]*"', '""', expr)          # label values
    expr = re.sub(r"\{[^}]*\}", "", expr)           # matchers
    expr = re.sub(r"\[[^\]]*\]", "", expr)          # ranges
    expr = re.sub(r"\$\w+", "", expr)               # Grafana variables
    # label_values(metric, label): the label is not a metric
    expr = re.sub(r"(label_values\([^,()]*),\s*\w+\s*\)", r"\1)", expr)
    # by (a, b) (: one way to match each label list (a pattern with
    # nested repetition like (\s*\w+\s*,?)+ backtracks exponentially).
    expr = re.sub(r"\(\s*\w+(?:\s*,\s*\w+)*\s*\)\s*\(", "(", expr)
    words = re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", expr)
    return {w for w in words if w not in PROMQL_WORDS}


def test_grafana_dashboard_names_only_emitted_metrics(s):
    with open(os.path.join(SRCDIR, "deploy", "grafana", "mqttd.json")) as f:
        d = json.load(f)
    emitted = set()
    for line in s.get("/metrics").body.splitlines():
        if line and not line.startswith("#"):
            emitted.add(re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line).group(0))
    exprs = [t["expr"] for p in d["panels"] for t in p["targets"]]
    exprs += [v["query"] for v in d["templating"]["list"]
              if v["type"] == "query"]
    assert len(exprs) >= 10
    named = set()
    for e in exprs:
        m = promql_metrics(e)
        assert m, e
        assert m <= emitted, (e, m - emitted)
        named |= m
    # The panels an operator looks at first.
    for need in ("mqttd_clients_count", "mqttd_messages_received_total",
                 "mqttd_messages_sent_total", "mqttd_messages_dropped_total",
                 "mqttd_bytes_received_total", "mqttd_listener_connections"):
        assert need in named, need
    # The parser itself: it finds a misspelt name.
    assert promql_metrics('rate(mqttd_nope_total{node=~"$node"}[5m])') \
        == {"mqttd_nope_total"}
