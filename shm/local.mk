# shm: fragment owned by the shm module.
# libshm.a: the segment reader, the enum names and the segment naming.
noinst_LIBRARIES += libshm.a
libshm_a_SOURCES = shm/shm.h shm/shm_layout.h shm/shm_atomic.h \
	shm/shm_impl.h shm/shm_names.c shm/shm_reader.c shm/shm_tables.c
libshm_a_CPPFLAGS = $(AM_CPPFLAGS) $(URCU_CFLAGS)

check_PROGRAMS += tests/unit/test_shm
TESTS += tests/unit/test_shm
tests_unit_test_shm_SOURCES = tests/unit/test_shm.c
tests_unit_test_shm_CPPFLAGS = $(AM_CPPFLAGS) $(URCU_CFLAGS)
tests_unit_test_shm_LDADD = libcol.a libshm.a

# mqttdctl: the segment as JSON, for people and integration tests.
bin_PROGRAMS += mqttdctl
mqttdctl_SOURCES = shm/mqttdctl.c
mqttdctl_CPPFLAGS = $(AM_CPPFLAGS) $(JSONC_CFLAGS)
mqttdctl_LDADD = libshm.a $(JSONC_LIBS)

# Fuzz the reader with arbitrary segment bytes.
FUZZERS += fuzz/fuzz_shm_reader
EXTRA_DIST += tests/fuzz/fuzz_shm_reader.c
fuzz/fuzz_shm_reader: tests/fuzz/fuzz_shm_reader.c shm/shm_names.c \
		shm/shm_reader.c shm/shm_tables.c collector/col.c \
		collector/col_tables.c
	$(FUZZ_LINK) $^ $(LIBS)
