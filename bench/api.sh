#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# bench/api.sh BUILDDIR: the /api/v2 workers through nginx with Basic auth.
#
# Fills a segment with BENCH_CLIENTS (100000) clients through the collector
# API (bench/mqttd-api-fill, no sockets), runs mqttd-api (MQTTD_WORKERS
# workers) behind the nginx of nginx/render with Basic auth, and measures
# with wrk (keep-alive, BENCH_CONNS=32 connections, 1 thread,
# BENCH_SECONDS=10 s each) the routes first_page, deep_page
# (curr_page=2500), client_by_id, metrics (monitoring/metrics) and
# prometheus (/metrics); then the same nginx serving a static file of the
# same byte size as each response, to the same request (same Authorization
# header; the static location itself checks nothing).  nginx and the
# workers share core 0, wrk runs on core 1 (taskset).  With BENCH_REPS=N
# (1) the API and static runs alternate N times and the best of each
# counts (a shared machine only ever makes a run slower).  Besides req/s,
# the CPU time nginx + workers spent per request (utime + stime from /proc,
# 10 ms ticks) is reported: it does not depend on what else the machine
# runs, so cpu_ratio (static CPU/request over API CPU/request) is the
# number to trust on a busy machine.  Prints, last line:
#   {"routes": {NAME: {"rps","p50_us","p99_us","static_rps","ratio",
#    "cpu_us","static_cpu_us","cpu_ratio"}}, "deep_vs_first": F,
#    "workers": N}
set -u

build=${1:?usage: api.sh BUILDDIR}
build=$(cd "$build" && pwd) || exit 2
src=$(cd "$(dirname "$0")/.." && pwd)
secs=${BENCH_SECONDS:-10}
conns=${BENCH_CONNS:-32}
clients=${BENCH_CLIENTS:-100000}
reps=${BENCH_REPS:-1}
workers=${MQTTD_WORKERS:-2}
node=mqttd@127.0.0.1
auth="Basic $(printf 'admin:public' | base64)"

. "$(dirname "$0")/lib/api_stack.sh"

# wrk_run URL -> "rps p50_us p99_us cpu_us_per_request"
wrk_run() {
	(on_core 1 wrk -t1 -c"$conns" -d1s -H "Authorization: $auth" "$1") \
		>/dev/null 2>&1
	c0=$(cpu_ticks)
	(on_core 1 wrk -t1 -c"$conns" -d"${secs}s" --latency \
		-H "Authorization: $auth" "$1") 2>/dev/null > "$tmp/wrk.out"
	c1=$(cpu_ticks)
	awk -v ticks=$((c1 - c0)) -v hz="$hz" '
	function us(v) {
		if (v ~ /us$/) return v + 0
		if (v ~ /ms$/) return v * 1000
		if (v ~ /s$/) return v * 1000000
		return v
	}
	/Requests\/sec/ { rps = $2 }
	/requests in/ { n = $1 }
	/^ +50%/ { p50 = us($2) }
	/^ +99%/ { p99 = us($2) }
	/Non-2xx/ { bad = $NF }
	END {
		if (bad > 0) rps = 0
		printf "%.0f %.0f %.0f %.2f\n", rps, p50, p99,
		    (n > 0 ? ticks * 1000000 / hz / n : 0)
	}' "$tmp/wrk.out"
}

# best RUN1 RUN2: the run with more req/s
best() {
	awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " ");
		print (y[1] + 0 > x[1] + 0 ? b : a) }'
}

routes="first_page=/api/v2/nodes/$node/clients?curr_page=1&page_size=20
deep_page=/api/v2/nodes/$node/clients?curr_page=2500&page_size=20
client_by_id=/api/v2/clients/bench-client-050000
metrics=/api/v2/monitoring/metrics
prometheus=/metrics"

json=
first=0
deep=0
fail=0
echo "$routes" > "$tmp/routes"
while IFS= read -r line; do
	name=${line%%=*}
	path=${line#*=}
	code=$(curl -s -o "$tmp/static/$name" -w '%{http_code}' \
		-H "Authorization: $auth" "$base$path")
	size=$(wc -c < "$tmp/static/$name")
	if [ "$code" != 200 ] || [ "$size" -lt 20 ]; then
		log "$name: HTTP $code, $size bytes"; fail=1
	fi
	api="0 0 0 0" st="0 0 0 0"
	for _ in $(seq "$reps"); do
		api=$(best "$api" "$(wrk_run "$base$path")")
		st=$(best "$st" "$(wrk_run "$base/bench-static/$name")")
	done
	set -- $api
	rps=$1 p50=$2 p99=$3 cpu=$4
	set -- $st
	srps=$1 scpu=$4
	ratio=$(awk -v a="$rps" -v b="$srps" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }')
	cratio=$(awk -v a="$cpu" -v b="$scpu" 'BEGIN { printf "%.3f", (a > 0 ? b / a : 0) }')
	log "$(printf '%-13s %5s B %7s req/s p50 %6s us p99 %7s us cpu %6s us | static %7s req/s cpu %6s us | ratio %s cpu_ratio %s' \
		"$name" "$size" "$rps" "$p50" "$p99" "$cpu" "$srps" "$scpu" "$ratio" "$cratio")"
	[ "$name" = first_page ] && first=$rps
	[ "$name" = deep_page ] && deep=$rps
	[ "$rps" -gt 0 ] || fail=1
	json="$json${json:+, }\"$name\": {\"rps\": $rps, \"p50_us\": $p50, \"p99_us\": $p99, \"static_rps\": $srps, \"ratio\": $ratio, \"cpu_us\": $cpu, \"static_cpu_us\": $scpu, \"cpu_ratio\": $cratio}"
done < "$tmp/routes"
dvf=$(awk -v a="$first" -v b="$deep" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }')
echo "{\"routes\": {$json}, \"deep_vs_first\": $dvf, \"workers\": $workers}"
exit $fail
