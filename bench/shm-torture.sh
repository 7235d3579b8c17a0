#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# ./dev bench shm-torture: the segment torture test for longer than
# make check runs it (processes: 4 readers SIGKILLed/SIGSTOPped at random),
# then the thread variant under ThreadSanitizer.
# Usage: bench/shm-torture.sh BUILDDIR [SECONDS]
set -eu
build=${1:?usage: bench/shm-torture.sh BUILDDIR [SECONDS]}
secs=${2:-60}
make -C "$build" tests/unit/shm_torture tests/unit/test_shm_tsan >&2
TSAN_OPTIONS='halt_on_error=1:exitcode=66' \
	"$build/tests/unit/test_shm_tsan" --threads --seconds 10 --readers 3 >&2
rc=0
out=$("$build/tests/unit/shm_torture" --seconds "$secs" --readers 4 \
	--clients 20000) || rc=$?
printf '%s\n' "$out" >&2
printf '%s\n' "$out" | grep '^{' | tail -n 1
exit $rc
