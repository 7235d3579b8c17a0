# SPDX-License-Identifier: BSD-2-Clause
# bench/broker.mk: ./dev bench broker (bench/broker.sh).
# The load generator is built with `make` but is never part of `make check`.
noinst_PROGRAMS += bench/mqttd-loadgen
bench_mqttd_loadgen_SOURCES = bench/loadgen.c bench/lg_pkt.c bench/lg_pkt.h \
	bench/lg_x.c bench/lg_x.h
bench_mqttd_loadgen_LDADD = $(OPENSSL_LIBS)
EXTRA_DIST += bench/broker.sh bench/listeners.sh bench/lib/bench.sh
