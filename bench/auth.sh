#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# bench/auth.sh BUILDDIR: what Basic auth costs through the front.
#
# One user hammering GET /api/v2/management/nodes through nginx with
# keep-alive (wrk -t1 -c32), against two stacks that differ only in the
# workers' credential check: the real mqttd-api, and a copy of it whose
# call to api_auth_check is redirected (objcopy --redefine-sym) to a function
# that accepts everything.  Rounds alternate between the two; the medians
# are compared.  Last line: {"auth_rps": A, "noauth_rps": N, "ratio": A/N,
# "auth_cpu_us_per_req": .., "noauth_cpu_us_per_req": .., "cpu_ratio":
# noauth/auth CPU per request, "check_cpu_us": the cached check alone,
# "check_share": it over the CPU a request costs without auth,
# "check2_cpu_us": the cached check on each of two threads at once,
# "rounds": R,
# "seconds": S, "workers": W}.
# Target: ratio >= 0.90.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:?usage: bench/auth.sh BUILDDIR}" && pwd)
secs=${BENCH_SECONDS:-5}
rounds=${BENCH_ROUNDS:-3}
workers=${MQTTD_WORKERS:-2}
py=/usr/bin/python3

say() { printf 'bench/auth: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }
command -v wrk >/dev/null || die "wrk is not installed"
command -v objcopy >/dev/null || die "objcopy (binutils) is not installed"

tmp=$(mktemp -d /tmp/mqttd-bench-auth.XXXXXX)
pids=
cleanup() {
	for p in $pids; do
		kill -TERM "$p" 2>/dev/null || true
	done
	for p in $pids; do
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# The no-auth twin: same objects, api_route's reference to api_auth_check
# bound to a stub instead.
for b in mqttd mqttd-api libapi.a; do
	[ -e "$build/$b" ] || die "$build/$b is not built"
done
ar t "$build/libapi.a" | grep -q 'api_route\.o$' ||
	die "libapi.a has no api_route object: update bench/auth.sh"
mkdir -p "$tmp/noauth" "$tmp/obj"
(cd "$tmp/obj" && ar x "$build/libapi.a")
route=$(ls "$tmp/obj"/*api_route.o)
objcopy --redefine-sym api_auth_check=bench_auth_pass "$route"
cat >"$tmp/pass.c" <<'EOF'
#include <stdbool.h>
int bench_auth_pass(void *a, const char *header, bool may_hash, int *role);
int bench_auth_pass(void *a, const char *header, bool may_hash, int *role)
{
	(void) a; (void) header; (void) may_hash;
	if (role)
		*role = 0; /* API_ROLE_ADMIN */
	return 0;
}
EOF
flags=$(make -s -C "$build" --eval 'bench-pv: ; @echo $(AM_CFLAGS) $(CFLAGS) $(AM_LDFLAGS) $(LDFLAGS)' bench-pv | tail -n 1)
libs=$(make -s -C "$build" --eval 'bench-pv: ; @echo $(mqttd_api_LDADD) $(LIBS)' bench-pv | tail -n 1 |
	sed "s|libapi.a||; s|libshm.a|$build/libshm.a|")
main=$(ls "$build"/fcgi/mqttd_api-api_main.o) || die "no api_main object"
# shellcheck disable=SC2086
gcc $flags -o "$tmp/noauth/mqttd-api" "$main" "$tmp/obj"/*.o "$tmp/pass.c" \
	$libs || die "could not link the no-auth twin"
ln -s "$build/mqttd" "$tmp/noauth/mqttd"

# The cached check alone, in CPU time (what a request with verified
# credentials pays in the worker): api_auth_check in a loop, on one thread
# and on two at once (a worker's threads share the cache: what one reader
# writes to shared memory, the other pays for).
printf 'admin:%s\n' "$(openssl passwd -6 public)" >"$tmp/users"
cat >"$tmp/check.c" <<'EOF'
#include "fcgi/api_auth.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
static api_auth   *a;
static const char *h = "Basic YWRtaW46cHVibGlj";
static int         n = 200000;
static double cpu_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return t.tv_sec * 1e9 + t.tv_nsec;
}
static void *loop(void *arg)
{
	for (int i = 0; i < n; i++)
		if (api_auth_check(a, h, 0, NULL) != 0)
			exit(1);
	return arg;
}
int main(int argc, char **argv)
{
	pthread_t th[8];
	int       threads = argc > 2 ? atoi(argv[2]) : 1;
	double    t0;
	if (argc < 2 || threads < 1 || threads > 8 ||
	    api_auth_new(&a, argv[1]) != 0 ||
	    api_auth_check(a, h, 1, NULL) != 0)
		return 1;
	t0 = cpu_ns();
	for (int i = 0; i < threads; i++)
		if (pthread_create(&th[i], NULL, loop, NULL) != 0)
			return 1;
	for (int i = 0; i < threads; i++)
		pthread_join(th[i], NULL);
	printf("%.2f\n", (cpu_ns() - t0) / n / threads / 1e3);
	api_auth_free(&a);
	return 0;
}
EOF
# shellcheck disable=SC2086
gcc $flags -I"$top" -I"$build" -o "$tmp/check" "$tmp/check.c" \
	"$build/libapi.a" $libs || die "could not build the check loop"
check_us=$("$tmp/check" "$tmp/users") || die "the check loop failed"
check2_us=$("$tmp/check" "$tmp/users" 2) || die "the check loop failed"
say "cached check: $check_us us CPU; $check2_us us each on two threads at once"

freeport() { $py -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start NAME BINDIR: a whole stack (nginx/stack) in the background; sets
# port_NAME.
start() {
	name=$1 dir=$2
	http=$(freeport)
	MQTTD_STATE_DIR=$tmp/state-$name MQTTD_MQTT_PORT=$(freeport) \
		MQTTD_HTTP_PORT=$http MQTTD_HTTPS_PORT=$(freeport) \
		MQTTD_WORKERS=$workers MQTTD_ADMIN_USER=admin \
		MQTTD_ADMIN_PASSWORD=public \
		setsid "$top/nginx/stack" "$dir" 2>"$tmp/$name.log" &
	pids="$pids $!"
	eval "sid_$name=$!"
	i=0
	until grep -q 'Ctrl-C stops it' "$tmp/$name.log"; do
		i=$((i + 1))
		[ $i -lt 300 ] || { cat "$tmp/$name.log" >&2; die "$name stack did not start"; }
		sleep 0.1
	done
	eval "port_$name=$http"
}
start auth "$build"
start noauth "$tmp/noauth"
# The twin really skips the check; the real one really checks.
code=$(curl -s -o /dev/null -w '%{http_code}' -u admin:wrong \
	"http://127.0.0.1:$port_noauth/api/v2/management/nodes")
[ "$code" = 200 ] || die "the no-auth twin still checks ($code)"
code=$(curl -s -o /dev/null -w '%{http_code}' -u admin:wrong \
	"http://127.0.0.1:$port_auth/api/v2/management/nodes")
[ "$code" = 401 ] || die "the real stack does not check ($code)"

hdr="Authorization: Basic $(printf 'admin:public' | base64)"
hz=$(getconf CLK_TCK)
# CPU ticks used so far by every process of a stack (its session).
cpu() {
	cat /proc/[0-9]*/stat 2>/dev/null | awk -v s="$1" '
		{ sub(/^.*\) /, ""); if ($4 == s) t += $12 + $13 }
		END { print t + 0 }'
}
# run PORT SID: prints "REQ_PER_S CPU_US_PER_REQ" (or "bad").  CPU time per
# request says the same as req/s on a quiet machine and much more than it
# on a busy one.
run() {
	c0=$(cpu "$2")
	wrk -t1 -c32 -d"${secs}s" -H "$hdr" \
		"http://127.0.0.1:$1/api/v2/management/nodes" >"$tmp/wrk.out" 2>&1
	c1=$(cpu "$2")
	cat "$tmp/wrk.out" >>"$tmp/wrk.log"
	awk -v c="$((c1 - c0))" -v hz="$hz" '
		/Non-2xx/ { bad = 1 }
		/requests in/ { n = $1 }
		/Requests\/sec/ { r = $2 }
		END { if (bad || !n) print "bad"; else printf "%s %.1f\n", r, c * 1e6 / hz / n }' "$tmp/wrk.out"
}
# Warm up: every worker meets the credentials (first sight goes through
# nginx's per-address limit; 32 connections at once stay within its burst).
wrk -t1 -c32 -d1s -H "$hdr" "http://127.0.0.1:$port_auth/api/v2/management/nodes" >/dev/null 2>&1
wrk -t1 -c32 -d1s -H "$hdr" "http://127.0.0.1:$port_noauth/api/v2/management/nodes" >/dev/null 2>&1
a_all= n_all= ac_all= nc_all=
r=0
while [ $r -lt "$rounds" ]; do
	r=$((r + 1))
	# Alternate which goes first, so that neither always follows the other.
	if [ $((r % 2)) -eq 1 ]; then
		a=$(run "$port_auth" "$sid_auth")
		n=$(run "$port_noauth" "$sid_noauth")
	else
		n=$(run "$port_noauth" "$sid_noauth")
		a=$(run "$port_auth" "$sid_auth")
	fi
	[ "$a" != bad ] && [ "$n" != bad ] || { cat "$tmp/wrk.log" >&2; die "non-2xx answers"; }
	say "round $r: auth ${a% *} req/s ${a#* } us CPU/req, no auth ${n% *} req/s ${n#* } us CPU/req"
	a_all="$a_all ${a% *}" n_all="$n_all ${n% *}"
	ac_all="$ac_all ${a#* }" nc_all="$nc_all ${n#* }"
done
median() { printf '%s\n' $1 | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
a=$(median "$a_all")
n=$(median "$n_all")
ac=$(median "$ac_all")
nc=$(median "$nc_all")
printf '{"auth_rps": %s, "noauth_rps": %s, "ratio": %s, "auth_cpu_us_per_req": %s, "noauth_cpu_us_per_req": %s, "cpu_ratio": %s, "check_cpu_us": %s, "check_share": %s, "check2_cpu_us": %s, "rounds": %s, "seconds": %s, "workers": %s}\n' \
	"$a" "$n" "$(awk -v a="$a" -v n="$n" 'BEGIN {printf "%.3f", a / n}')" \
	"$ac" "$nc" "$(awk -v a="$ac" -v n="$nc" 'BEGIN {printf "%.3f", n / a}')" \
	"$check_us" "$(awk -v c="$check_us" -v n="$nc" 'BEGIN {printf "%.3f", c / n}')" \
	"$check2_us" "$rounds" "$secs" "$workers"
