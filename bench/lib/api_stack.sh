# SPDX-License-Identifier: BSD-2-Clause
# bench/lib/api_stack.sh: the API stack the API benches measure, sourced
# by bench/api.sh and bench/dashboard.sh (not a bench itself).  Expects
# $build, $src, $clients, $workers, $node set; starts a segment filled with
# $clients clients (bench/mqttd-api-fill, no sockets), mqttd-api and the
# nginx of nginx/render (Basic auth, the dashboard, and /bench-static/
# serving $tmp/static/), all on core 0, and stops them all on exit.
# Defines log, die, descendants, free_port, on_core, cpu_ticks (CPU ticks
# of nginx + mqttd-api), api_ticks (of mqttd-api alone), hz; sets $tmp,
# $state, $base, $api_pid, $nginx_pid.

log() { printf 'bench: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

tmp=$(mktemp -d /tmp/mqttd-bapi.XXXXXX) || exit 2
state=$tmp/s
mkdir -p "$state/logs" "$state/tmp" "$tmp/static"
descendants() {
	ps -e -o pid=,ppid= | awk -v roots="$*" '
	BEGIN { n = split(roots, r, " "); for (i = 1; i <= n; i++) keep[r[i]] = 1 }
	{ parent[$1] = $2 }
	END {
		do {
			more = 0
			for (p in parent)
				if (!(p in keep) && (parent[p] in keep)) { keep[p] = 1; more = 1 }
		} while (more)
		for (p in keep) print p
	}'
}
pids=
cleanup() {
	all=$(descendants $pids)
	for p in $pids; do kill "$p" 2>/dev/null; done
	sleep 1
	for p in $all; do kill -9 "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
	/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
# on_core N CMD...: exec CMD pinned to core N (when taskset and the core
# exist).  It execs, so call it in a subshell or in the background: $! is
# then the command itself and the cleanup can stop it.
on_core() {
	c=$1; shift
	if command -v taskset >/dev/null && [ "$(nproc)" -gt "$c" ]; then
		exec taskset -c "$c" "$@"
	fi
	exec "$@"
}

log "filling the segment with $clients clients"
on_core 0 "$build/bench/mqttd-api-fill" --state-dir "$state" \
	--clients "$clients" --node "$node" >"$tmp/fill.out" 2>&1 &
pids="$pids $!"
for _ in $(seq 600); do grep -q ready "$tmp/fill.out" && break; sleep 0.1; done
grep -q ready "$tmp/fill.out" || die "filler not ready: $(cat "$tmp/fill.out")"

on_core 0 env MQTTD_ADMIN_USER=admin MQTTD_ADMIN_PASSWORD=public \
	"$build/mqttd-api" --state-dir "$state" --workers "$workers" \
	--node "$node" >"$state/logs/api.log" 2>&1 &
api_pid=$!
pids="$pids $!"
for _ in $(seq 100); do [ -S "$state/api.sock" ] && break; sleep 0.1; done
[ -S "$state/api.sock" ] || die "mqttd-api did not start: $(cat "$state/logs/api.log")"

http_port=$(free_port)
https_port=$(free_port)
MQTTD_HTTP_PORT=$http_port MQTTD_HTTPS_PORT=$https_port \
	"$src/nginx/render" "$state" >/dev/null 2>&1 || die "nginx/render failed"
# The static twin of each route, in the same server block.
sed -i "s|server_tokens off;|server_tokens off;\n    location /bench-static/ { alias $tmp/static/; }|" \
	"$state/mqttd-api.conf"
on_core 0 /usr/sbin/nginx -p "$state/" -c "$state/nginx.conf" \
	-e "$state/logs/error.log" -g 'daemon off;' >/dev/null 2>&1 &
nginx_pid=$!
pids="$pids $!"
base=http://127.0.0.1:$http_port
for _ in $(seq 100); do
	curl -s -o /dev/null "$base/status" && break
	sleep 0.1
done

# CPU ticks (utime + stime) of the processes under the given roots.
ticks_of() {
	t=0
	for p in $(descendants "$@"); do
		set -- $(sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null)
		t=$((t + ${12:-0} + ${13:-0}))
	done
	echo "$t"
}
# of nginx and mqttd-api, masters and workers
cpu_ticks() { ticks_of "$nginx_pid" "$api_pid"; }
# of mqttd-api alone
api_ticks() { ticks_of "$api_pid"; }
hz=$(getconf CLK_TCK)
