# SPDX-License-Identifier: BSD-2-Clause
# bench/lib/bench.sh: what the load-generator benches share, sourced by
# bench/broker.sh and bench/listeners.sh (not a bench itself: ./dev bench
# runs bench/NAME.sh only).  Needs $res, the results directory, before
# put/get are called.

log() { printf 'bench: %s\n' "$*" >&2; }

# Real-time priority for the generator and the broker under test (see
# bench/broker.sh for why); BENCH_PRIO=none runs at normal priority.
prio=${BENCH_PRIO:-rt}
if [ "$prio" = rt ] && ! chrt -f 10 true 2>/dev/null; then
	log "chrt -f not permitted: running at normal priority (noisy)"
	prio=none
fi
rt_gen=
[ "$prio" = rt ] && rt_gen="chrt -f 10"

# set_prio PID: the broker gets the generator's priority.
set_prio() {
	[ "$prio" = rt ] || return 0
	chrt -a -f -p 10 "$1" > /dev/null 2>&1 ||
		log "chrt -f -p $1 failed: this broker runs at normal priority"
}

# Broker on the last core, generator on the first.
ncpu=$(nproc)
if [ "$ncpu" -ge 2 ]; then
	bcpu=$((ncpu - 1))
	pin_broker="taskset -c $bcpu"
	pin_gen="$rt_gen taskset -c 0"
else
	log "one core only: broker and generator are not pinned apart"
	pin_broker=
	pin_gen=$rt_gen
fi

# put NAME KEY VALUE / get NAME KEY: one figure per file in $res.
put() { printf '%s\n' "${3:-null}" > "$res/$1.$2"; }
get() { cat "$res/$1.$2" 2>/dev/null || echo null; }
# val FILE KEY: KEY's value in the generator's key=value output.
val() { sed -n "s/^$2=//p" "$1"; }
median() { sort -n | awk '{v[NR] = $1} END {if (NR) print v[int((NR + 1) / 2)]}'; }
