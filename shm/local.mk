# SPDX-License-Identifier: BSD-2-Clause
# shm: fragment owned by the shm module.
# libshm.a: the segment reader, the enum names and the segment naming.
noinst_LIBRARIES += libshm.a
libshm_a_SOURCES = shm/shm.h shm/shm_layout.h shm/shm_atomic.h \
	shm/shm_impl.h shm/shm_names.c shm/shm_locate.c shm/shm_reader.c \
	shm/shm_tables.c
libshm_a_CPPFLAGS = $(AM_CPPFLAGS) $(URCU_CFLAGS)

check_PROGRAMS += tests/unit/test_shm
TESTS += tests/unit/test_shm
tests_unit_test_shm_SOURCES = tests/unit/test_shm.c
tests_unit_test_shm_CPPFLAGS = $(AM_CPPFLAGS) $(URCU_CFLAGS)
tests_unit_test_shm_LDADD = libcol.a libshm.a

# mqttdctl: the segment as JSON, for people and integration tests.
bin_PROGRAMS += mqttdctl
mqttdctl_SOURCES = shm/mqttdctl.c shm/mqttdctl_store.c shm/mqttdctl_store.h
mqttdctl_CPPFLAGS = $(AM_CPPFLAGS) $(JSONC_CFLAGS)
# libmq.a for the store's offline walk (mq_store, mq_store_rec).
mqttdctl_LDADD = libshm.a libmq.a $(JSONC_LIBS) $(LMDB_LIBS) \
	$(OPENSSL_LIBS) $(PTHREAD_LIBS)

# Fuzz the reader with arbitrary segment bytes.
FUZZERS += fuzz/fuzz_shm_reader
EXTRA_DIST += tests/fuzz/fuzz_shm_reader.c
fuzz/fuzz_shm_reader: tests/fuzz/fuzz_shm_reader.c shm/shm_names.c shm/shm_locate.c \
		shm/shm_reader.c shm/shm_tables.c collector/col.c \
		collector/col_tables.c
	$(FUZZ_LINK) -DSHM_BUDGET_NS=200000 $^ $(LIBS)

# The torture test: a writer churning, 4 readers verifying checksums while
# being SIGKILLed and SIGSTOPped (3 s here; ./dev bench shm-torture runs
# it longer).
check_PROGRAMS += tests/unit/shm_torture
TESTS += tests/unit/shm_torture
tests_unit_shm_torture_SOURCES = tests/unit/shm_torture.c
tests_unit_shm_torture_CPPFLAGS = $(AM_CPPFLAGS) $(URCU_CFLAGS)
tests_unit_shm_torture_LDADD = libcol.a libshm.a $(PTHREAD_LIBS)

# The same torture, readers as threads over the writer's own mapping,
# under ThreadSanitizer (its own compile: TSAN cannot mix with ASan).
# -Wno-tsan: TSAN does not model atomic_thread_fence; every racing access
# is itself atomic, so it still has every access it needs to judge.
SHM_TSAN_SRCS = tests/unit/shm_torture.c shm/shm_names.c shm/shm_locate.c \
	shm/shm_reader.c \
	shm/shm_tables.c collector/col.c collector/col_tables.c
tests/unit/test_shm_tsan: $(SHM_TSAN_SRCS:%=$(srcdir)/%)
	@mkdir -p tests/unit
	$(AM_V_CC)$(CC) -std=gnu11 -O1 -g -fsanitize=thread -Wno-tsan \
		-fno-omit-frame-pointer \
		-I$(srcdir) -I$(builddir) $(URCU_CFLAGS) -o $@ \
		$(SHM_TSAN_SRCS:%=$(srcdir)/%) -lpthread $(LIBS)
check_SCRIPTS = tests/unit/test_shm_tsan
TESTS += tests/unit/test_shm_tsan.sh
EXTRA_DIST += tests/unit/test_shm_tsan.sh
CLEANFILES += tests/unit/test_shm_tsan

tsan-shm: tests/unit/test_shm_tsan
	TSAN_OPTIONS='halt_on_error=1:exitcode=66' \
		./tests/unit/test_shm_tsan --threads --seconds 5 --readers 3
.PHONY: tsan-shm
