#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# bench/dashboard.sh BUILDDIR: what one dashboard tab costs the API, and
# how fast the overview paints, with BENCH_CLIENTS (100000) clients in
# the segment (the stack of bench/lib/api_stack.sh: mqttd-api-fill,
# MQTTD_WORKERS workers, nginx with Basic auth and the dashboard).  One
# headless Chromium tab (bench/dashboard.py) loads the overview 3 times
# (first-contentful-paint and the time until its numbers are in, best of
# 3), then stays BENCH_SECONDS (30) on the overview and as long on the
# clients page; the workers' CPU over those windows, minus the same window
# with no tab, is the tab's cost in % of one core.  Reference in the same
# run: the first paint of a static page from the same nginx.  Targets
# (issue 13): tab < 1% of a core in the workers; overview < 1 s.
# Last line:
#   {"first_paint_ms": {"overview": F, "static": F}, "overview_numbers_ms": F,
#    "tab_api_cpu_pct": {"overview": F, "clients": F}, "idle_api_cpu_pct": F,
#    "ratio": {"first_paint_vs_static": R}, "clients": N}
set -u

build=${1:?usage: dashboard.sh BUILDDIR}
build=$(cd "$build" && pwd) || exit 2
src=$(cd "$(dirname "$0")/.." && pwd)
secs=${BENCH_SECONDS:-30}
clients=${BENCH_CLIENTS:-100000}
workers=${MQTTD_WORKERS:-2}
node=mqttd@127.0.0.1

. "$(dirname "$0")/lib/api_stack.sh"

# the reference page: about the size of the dashboard's index.html
{
	echo '<!doctype html><html><head><title>static</title></head><body>'
	echo '<h1>mqttd</h1>'
	i=0
	while [ $i -lt 20 ]; do echo "<p>reference line $i</p>"; i=$((i + 1)); done
	echo '</body></html>'
} > "$tmp/static/page.html"

out=$(on_core 1 /usr/bin/python3 "$src/bench/dashboard.py" "$base" \
	"$api_pid" "$nginx_pid" "$secs" "$clients") || die "dashboard.py failed"
log "$out"
echo "$out" | /usr/bin/python3 -c '
import json, sys
r = json.load(sys.stdin)
idle = r["idle_api_cpu_pct"]
print(json.dumps({
    "first_paint_ms": {"overview": r["overview_first_paint_ms"],
                       "static": r["static_first_paint_ms"]},
    "overview_numbers_ms": r["overview_numbers_ms"],
    "tab_api_cpu_pct": {
        "overview": round(r["overview_api_cpu_pct"] - idle, 3),
        "clients": round(r["clients_api_cpu_pct"] - idle, 3)},
    "idle_api_cpu_pct": idle,
    "tab_nginx_cpu_pct": {
        "overview": round(r["overview_nginx_cpu_pct"]
                          - r["idle_nginx_cpu_pct"], 3),
        "clients": round(r["clients_nginx_cpu_pct"]
                         - r["idle_nginx_cpu_pct"], 3)},
    "ratio": {"first_paint_vs_static": round(
        r["overview_first_paint_ms"] / r["static_first_paint_ms"], 2)},
    "clients": '"$clients"'}))'
