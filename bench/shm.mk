# SPDX-License-Identifier: BSD-2-Clause
# bench/shm.mk: ./dev bench shm (bench/shm.sh) and ./dev bench shm-torture.
# Built with `make`, never part of `make check`.
noinst_PROGRAMS += bench/shm_bench
bench_shm_bench_SOURCES = bench/shm_bench.c
bench_shm_bench_CPPFLAGS = $(AM_CPPFLAGS) $(URCU_CFLAGS)
bench_shm_bench_LDADD = libcol.a libshm.a
EXTRA_DIST += bench/shm.sh bench/shm-torture.sh
