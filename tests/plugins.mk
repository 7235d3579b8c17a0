# Broker plugins: unit tests and the mqttd-passwd tool (owned by the
# plugins engineer; broker/mq_plugins.c itself is linked into mqttd by
# broker/local.mk, with $(CRYPT_LIBS)).
check_PROGRAMS += tests/unit/test_mq_plugins
TESTS += tests/unit/test_mq_plugins
tests_unit_test_mq_plugins_SOURCES = tests/unit/test_mq_plugins.c \
	broker/mq_plugins.c broker/mq_plugins.h
tests_unit_test_mq_plugins_LDADD = $(CRYPT_LIBS) $(OPENSSL_LIBS)

bin_PROGRAMS += mqttd-passwd
mqttd_passwd_SOURCES = broker/mq_passwd_main.c broker/mq_plugins.c \
	broker/mq_plugins.h
mqttd_passwd_LDADD = $(CRYPT_LIBS) $(OPENSSL_LIBS)

# libFuzzer: the plugin files and the ACL decisions over them.
FUZZERS += fuzz/fuzz_mq_plugins
fuzz/fuzz_mq_plugins: tests/fuzz/fuzz_mq_plugins.c broker/mq_plugins.c
	$(FUZZ_LINK) -DMQ_PLUGINS_QUIET $^ $(CRYPT_LIBS) $(OPENSSL_LIBS)
