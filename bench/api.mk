# SPDX-License-Identifier: BSD-2-Clause
# bench/api.mk: ./dev bench api (bench/api.sh).
# The segment filler is built with `make` but is never part of `make check`.
noinst_PROGRAMS += bench/mqttd-api-fill
bench_mqttd_api_fill_SOURCES = bench/api_fill.c
bench_mqttd_api_fill_LDADD = libcol.a libshm.a $(URCU_LIBS) $(PTHREAD_LIBS)
EXTRA_DIST += bench/api.sh bench/dashboard.sh bench/dashboard.py \
	bench/lib/api_stack.sh
