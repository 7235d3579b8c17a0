# SPDX-License-Identifier: BSD-2-Clause
# cluster: fragment owned by the cluster module (docs/architecture.md,
# "The cluster").  The pure parts (subject encoding, frames) are built and
# tested in every build; the NATS link only with ./configure --with-cluster.
noinst_LIBRARIES += libcl.a
libcl_a_SOURCES = cluster/cl_subject.c cluster/cl_subject.h \
	cluster/cl_frame.c cluster/cl_frame.h

if CLUSTER
mqttd_SOURCES += cluster/cl_link.c cluster/cl_link.h cluster/cl_kv.c \
	cluster/cl_kv.h
mqttd_CPPFLAGS += $(NATS_CFLAGS)
mqttd_LDADD += libcl.a $(NATS_LIBS)
endif

check_PROGRAMS += tests/unit/test_cl_subject
TESTS += tests/unit/test_cl_subject
tests_unit_test_cl_subject_SOURCES = tests/unit/test_cl_subject.c
tests_unit_test_cl_subject_LDADD = libcl.a libmq.a

FUZZERS += fuzz/fuzz_cl_frame
fuzz/fuzz_cl_frame: tests/fuzz/fuzz_cl_frame.c cluster/cl_subject.c \
	cluster/cl_frame.c
	$(FUZZ_LINK) $^

# Three nodes on one machine (nats-server + mqttd each): tests/cluster.
if CLUSTER
TESTS += tests/cluster/run
endif
EXTRA_DIST += tests/cluster
