#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# ./dev bench shm: the segment at 1,000,000 clients (each with a session,
# 2 subscriptions and a route).  Usage: bench/shm.sh BUILDDIR [CLIENTS]
# Last line: one JSON object (see bench/shm_bench.c for the fields).
set -eu
build=${1:?usage: bench/shm.sh BUILDDIR [CLIENTS]}
clients=${2:-1000000}
make -C "$build" bench/shm_bench >&2
echo "shm bench: $clients clients, $(nproc) cores, $(uname -r)" >&2
exec "$build/bench/shm_bench" --clients "$clients"
