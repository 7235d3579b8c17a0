#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# bench/listeners.sh BUILDDIR: mqttd's listeners (mqtt:tcp, mqtt:ssl,
# mqtt:ws) against each other, and mqttd over TLS against Mosquitto 2.0
# over TLS, in one run.
#
# For each of mqttd tcp / tls / ws and mosquitto tls: the broker
# benchmark's QoS 0 fan-in (8 publishers, 1 subscriber), QoS 1 fan-in and
# QoS 0 fan-out (1 publisher, 100 subscribers), deliveries per second,
# median of BENCH_REPS runs, and the same per second of the broker's own
# CPU (KEY_per_cpu_s: the figure to trust on a shared machine, where the
# generator and other load set the throughput); and new connections per second
# (handshakes_per_s: connect, the transport's handshake, TLS a full
# ECDHE one without resumption, WebSocket its upgrade, CONNECT, CONNACK,
# close; 8 at a time).  Debian's Mosquitto has no WebSocket, so WebSocket
# is measured against mqttd's own TCP.  Both brokers get the same P-256
# certificate, made here.  Last line:
#   {"mqttd": {"tls": {...}, "ws": {...}, "tcp": {...}},
#    "mosquitto": {"tls": {...}},
#    "ratio": {"tls_vs_mosquitto": {...}, "ws_vs_tcp": {...},
#              "tls_vs_tcp": {...}}}
# Knobs: BENCH_SECONDS (5), BENCH_WARMUP (1), BENCH_REPS (3), BENCH_PRIO
# (rt | none), BENCH_MQTTD, BENCH_MOSQUITTO, as bench/broker.sh.
set -u

build=${1:?usage: listeners.sh BUILDDIR}
build=$(cd "$build" && pwd) || exit 2
lg=$build/bench/mqttd-loadgen
mqttd=${BENCH_MQTTD:-$build/mqttd}
mosquitto=${BENCH_MOSQUITTO:-/usr/sbin/mosquitto}
secs=${BENCH_SECONDS:-5}
warm=${BENCH_WARMUP:-1}
reps=${BENCH_REPS:-3}
keys="qos0_fanin_mps qos1_fanin_mps fanout_mps handshakes_per_s
	qos0_fanin_per_cpu_s qos1_fanin_per_cpu_s fanout_per_cpu_s"

. "$(dirname "$0")/lib/bench.sh"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mqttd-bench-lis.XXXXXX") || exit 2
res=$tmp/results
mkdir -p "$res"
pids=
failed=0
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; done
	for p in $pids; do wait "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

[ -x "$lg" ] || { log "no load generator: $lg"; exit 2; }
ulimit -n "$(ulimit -Hn)" 2>/dev/null


# One certificate for both brokers.
cert=$tmp/cert.pem
key=$tmp/key.pem
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-days 2 -subj /CN=localhost -keyout "$key" -out "$cert" \
	2> "$tmp/openssl.log" || { cat "$tmp/openssl.log" >&2; exit 2; }

# median_runs NAME KEY FIELD SUBCOMMAND ARGS...: BENCH_REPS runs of the load
# generator's SUBCOMMAND against $port over $tr; the median of FIELD goes
# into NAME.KEY.  For a throughput key (K_mps), the median of the
# deliveries per second of the broker's own CPU goes into K_per_cpu_s: on
# a shared machine the deliveries per second also measure the generator
# and whatever else runs, this measures only what the transport costs
# the broker.
median_runs() {
	name=$1 k=$2 field=$3 sub=$4
	shift 4
	: > "$tmp/vals"
	: > "$tmp/cpuvals"
	r=0
	while [ $r -lt "$reps" ]; do
		if ! $pin_gen "$lg" "$sub" --port "$port" --transport "$tr" \
			--pid "$bpid" --warmup "$warm" --seconds "$secs" \
			"$@" > "$tmp/out" 2> "$tmp/out.err"; then
			cat "$tmp/out.err" >&2
			log "$name $k: FAILED"
			return 1
		fi
		val "$tmp/out" "$field" >> "$tmp/vals"
		val "$tmp/out" deliveries_per_broker_cpu_s >> "$tmp/cpuvals"
		log "$name $k: $(val "$tmp/out" "$field")/s" \
			"(generator $(val "$tmp/out" gen_cpu_pct)%," \
			"broker $(val "$tmp/out" broker_cpu_pct)%)"
		r=$((r + 1))
	done
	put "$name" "$k" "$(median < "$tmp/vals")"
	case $k in
	*_mps) put "$name" "${k%_mps}_per_cpu_s" "$(median < "$tmp/cpuvals")" ;;
	esac
}

# measure NAME PORT TRANSPORT: every key into NAME (mqttd.tls, ...).
measure() {
	name=$1 port=$2 tr=$3
	for t in "qos0_fanin_mps --pubs 8 --subs 1 --qos 0" \
		"qos1_fanin_mps --pubs 8 --subs 1 --qos 1" \
		"fanout_mps --pubs 1 --subs 100 --qos 0"; do
		set -- $t
		k=$1
		shift
		median_runs "$name" "$k" deliveries_per_s run "$@" || return 1
	done
	median_runs "$name" handshakes_per_s handshakes_per_s handshakes || return 1
}

bench_mqttd() {
	dir=$tmp/mqttd
	mkdir -p "$dir"
	$pin_broker "$mqttd" --state-dir "$dir" --ready-fd 3 --log-level warn \
		--max-inflight 32 --max-queue 1000 \
		--listen 127.0.0.1:0 --listen ssl://127.0.0.1:0 \
		--listen ws://127.0.0.1:0 --certfile "$cert" --keyfile "$key" \
		3> "$dir/ready" 2> "$dir/log" &
	bpid=$!
	pids="$pids $bpid"
	i=0
	while ! grep -q '^ready port=' "$dir/ready" 2>/dev/null; do
		if ! kill -0 "$bpid" 2>/dev/null || [ $i -ge 100 ]; then
			log "mqttd did not start:"
			tail -n 20 "$dir/log" >&2
			return 1
		fi
		sleep 0.1
		i=$((i + 1))
	done
	ports=$(sed -n 's/^ready port=//p' "$dir/ready")
	p_tcp=${ports%%,*}
	rest=${ports#*,}
	p_tls=${rest%%,*}
	p_ws=${rest#*,}
	set_prio "$bpid"
	measure mqttd.tcp "$p_tcp" tcp || return 1
	measure mqttd.tls "$p_tls" tls || return 1
	measure mqttd.ws "$p_ws" ws || return 1
	kill "$bpid"
	wait "$bpid" 2>/dev/null
}

bench_mosquitto() {
	dir=$tmp/mosquitto
	mkdir -p "$dir"
	port=$("$lg" freeport) || return 1
	log "mosquitto: $("$mosquitto" -h 2>/dev/null | head -n 1)"
	# the same limits as bench/broker.sh (see there why no queue limit)
	cat > "$dir/mosquitto.conf" <<EOF
listener $port 127.0.0.1
certfile $cert
keyfile $key
allow_anonymous true
persistence false
max_inflight_messages 32
max_queued_messages 0
user $(id -un)
log_dest stderr
log_type error
log_type warning
EOF
	$pin_broker "$mosquitto" -c "$dir/mosquitto.conf" 2> "$dir/log" &
	bpid=$!
	pids="$pids $bpid"
	i=0
	while ! openssl s_client -connect "127.0.0.1:$port" < /dev/null \
		> /dev/null 2>&1; do
		if ! kill -0 "$bpid" 2>/dev/null || [ $i -ge 100 ]; then
			log "mosquitto did not start:"
			cat "$dir/log" >&2
			return 1
		fi
		sleep 0.1
		i=$((i + 1))
	done
	set_prio "$bpid"
	measure mosquitto.tls "$port" tls || return 1
	kill "$bpid"
	wait "$bpid" 2>/dev/null
}

log "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), kernel $(uname -r)"
log "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
log "priority: $prio; each run ${warm} s warm-up + ${secs} s, median of ${reps}"
bench_mosquitto || { failed=1; log "FAILED: mosquitto"; }
bench_mqttd || { failed=1; log "FAILED: mqttd"; }

obj() {
	sep=
	printf '{'
	for k in $keys; do
		printf '%s"%s": %s' "$sep" "$k" "$(get "$1" "$k")"
		sep=', '
	done
	printf '}'
}
ratio() {
	sep=
	printf '{'
	for k in $keys; do
		r=$(awk -v a="$(get "$1" "$k")" -v b="$(get "$2" "$k")" 'BEGIN {
			if (a == "null" || b == "null" || b + 0 == 0) print "null";
			else printf "%.3f", a / b }')
		printf '%s"%s": %s' "$sep" "$k" "$r"
		sep=', '
	done
	printf '}'
}
log "key                    mqttd tcp    mqttd tls     mqttd ws  mosquitto tls"
for k in $keys; do
	printf 'bench: %-18s %12s %12s %12s %12s\n' "$k" "$(get mqttd.tcp "$k")" \
		"$(get mqttd.tls "$k")" "$(get mqttd.ws "$k")" \
		"$(get mosquitto.tls "$k")" >&2
done
printf '{"mqttd": {"tls": %s, "ws": %s, "tcp": %s}, "mosquitto": {"tls": %s}, "ratio": {"tls_vs_mosquitto": %s, "ws_vs_tcp": %s, "tls_vs_tcp": %s}}\n' \
	"$(obj mqttd.tls)" "$(obj mqttd.ws)" "$(obj mqttd.tcp)" \
	"$(obj mosquitto.tls)" "$(ratio mqttd.tls mosquitto.tls)" \
	"$(ratio mqttd.ws mqttd.tcp)" "$(ratio mqttd.tls mqttd.tcp)"
exit $failed
