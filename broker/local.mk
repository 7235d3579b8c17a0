# SPDX-License-Identifier: BSD-2-Clause
# broker: fragment owned by the broker module.

# mqttd: the broker.  libmq.a holds everything but the mains, so the unit
# tests, mqttd-passwd and the fuzzers link (or compile) the same sources.
# MQ_PLUGIN_SRCS: the plugins and what they need, no more (fuzz_mq_plugins).
MQ_PLUGIN_SRCS = broker/mq_plugins.c broker/mq_plugins.h \
	broker/mq_creds.c broker/mq_creds.h broker/mq_acl.c broker/mq_acl.h \
	broker/mq_file.c broker/mq_file.h broker/mq_log.c broker/mq_log.h \
	broker/mq_jwt.c broker/mq_jwt.h broker/mq_trie.c broker/mq_trie.h \
	broker/mq_hash.c broker/mq_hash.h
noinst_LIBRARIES += libmq.a
libmq_a_SOURCES = broker/mq_codec.c broker/mq_codec.h \
	broker/mq_timer.c broker/mq_timer.h broker/mq_config.c \
	broker/mq_config.h \
	broker/mq_broker.c broker/mq_broker.h broker/mq_int.h broker/mq_route.c \
	broker/mq_session.c broker/mq_proto.c broker/mq_connect.c \
	broker/mq_net.c broker/mq_ctl.c $(MQ_PLUGIN_SRCS) \
	broker/mq_authq.c broker/mq_authq.h broker/mq_cluster.c \
	broker/mq_cluster.h \
	broker/mq_store.c broker/mq_store.h broker/mq_store_rec.c \
	broker/mq_store_rec.h broker/mq_persist.c \
	broker/mq_transport.c broker/mq_transport.h \
	broker/mq_tls.c broker/mq_tls.h broker/mq_ws.c broker/mq_ws.h \
	broker/mq_ws_http.c broker/mq_ws_http.h \
	broker/mq_backend.c broker/mq_backend.h \
	broker/mq_authz.c broker/mq_authz.h \
	broker/mq_pwhash.c broker/mq_pwhash.h \
	broker/mq_dbauth.c broker/mq_dbauth.h \
	broker/mq_auth_redis.c broker/mq_auth_redis.h \
	broker/mq_auth_pgsql.c broker/mq_auth_pgsql.h \
	broker/mq_http.c broker/mq_http.h broker/mq_auth_http.c \
	broker/mq_auth_http.h
libmq_a_CPPFLAGS = $(AM_CPPFLAGS) $(JSONC_CFLAGS) $(URCU_CFLAGS) \
	$(HIREDIS_CFLAGS) $(PQ_CFLAGS) $(CURL_CFLAGS)
libmq_a_CFLAGS = $(AM_CFLAGS) -Wpedantic
MQ_LIBS = libmq.a libcol.a libshm.a $(JSONC_LIBS) $(CRYPT_LIBS) \
	$(WSLAY_LIBS) $(OPENSSL_LIBS) $(LMDB_LIBS) $(HIREDIS_LIBS) $(PQ_LIBS) \
	$(CURL_LIBS) $(PTHREAD_LIBS)

bin_PROGRAMS += mqttd mqttd-passwd
mqttd_SOURCES = broker/mq_main.c
mqttd_CPPFLAGS = $(AM_CPPFLAGS) $(URCU_CFLAGS)
mqttd_CFLAGS = $(AM_CFLAGS) -Wpedantic
mqttd_LDADD = $(MQ_LIBS)
# Auth file entries (mq_creds, mq_file).
mqttd_passwd_SOURCES = broker/mq_passwd_main.c
mqttd_passwd_CFLAGS = $(AM_CFLAGS) -Wpedantic
mqttd_passwd_LDADD = libmq.a $(CRYPT_LIBS) $(OPENSSL_LIBS) $(LMDB_LIBS)
EXTRA_DIST += broker/mqttd.conf.example

# Unit tests.
MQ_TESTS = tests/unit/test_mq_codec tests/unit/test_mq_trie \
	tests/unit/test_mq_broker tests/unit/test_mq_config \
	tests/unit/test_mq_codec5 tests/unit/test_mq_plugins \
	tests/unit/test_mq_store_rec tests/unit/test_mq_ws_http
check_PROGRAMS += $(MQ_TESTS)
TESTS += $(MQ_TESTS)
tests_unit_test_mq_codec_SOURCES = tests/unit/test_mq_codec.c
tests_unit_test_mq_codec_LDADD = libmq.a
tests_unit_test_mq_codec5_SOURCES = tests/unit/test_mq_codec5.c
tests_unit_test_mq_codec5_LDADD = libmq.a
tests_unit_test_mq_trie_SOURCES = tests/unit/test_mq_trie.c
tests_unit_test_mq_trie_LDADD = libmq.a
tests_unit_test_mq_config_SOURCES = tests/unit/test_mq_config.c
tests_unit_test_mq_config_LDADD = libmq.a
tests_unit_test_mq_ws_http_SOURCES = tests/unit/test_mq_ws_http.c
tests_unit_test_mq_ws_http_LDADD = libmq.a $(OPENSSL_LIBS)
tests_unit_test_mq_broker_SOURCES = tests/unit/test_mq_broker.c
tests_unit_test_mq_broker_LDADD = $(MQ_LIBS)
tests_unit_test_mq_plugins_SOURCES = tests/unit/test_mq_plugins.c
tests_unit_test_mq_plugins_LDADD = $(MQ_LIBS)
tests_unit_test_mq_store_rec_SOURCES = tests/unit/test_mq_store_rec.c
tests_unit_test_mq_store_rec_LDADD = libmq.a

# Fuzzers: the codec alone, the handlers over socket-less connections,
# and the plugin files with the ACL decisions over them.  Their sources
# are the libraries' own lists.
MQ_FUZZ_SRCS = $(filter %.c,$(libmq_a_SOURCES) $(libcol_a_SOURCES) \
	$(libshm_a_SOURCES))
FUZZERS += fuzz/fuzz_mq_codec fuzz/fuzz_mq_handlers fuzz/fuzz_mq_plugins \
	fuzz/fuzz_mq_store_rec
fuzz/fuzz_mq_codec: tests/fuzz/fuzz_mq_codec.c broker/mq_codec.c
	$(FUZZ_LINK) $^
fuzz/fuzz_mq_handlers: tests/fuzz/fuzz_mq_handlers.c $(MQ_FUZZ_SRCS)
	$(FUZZ_LINK) $(HIREDIS_CFLAGS) $(PQ_CFLAGS) $(CURL_CFLAGS) $^ \
	    $(JSONC_LIBS) \
	    $(CRYPT_LIBS) $(WSLAY_LIBS) $(OPENSSL_LIBS) $(LMDB_LIBS) \
	    $(HIREDIS_LIBS) $(PQ_LIBS) $(CURL_LIBS) -lrt -lpthread
fuzz/fuzz_mq_plugins: tests/fuzz/fuzz_mq_plugins.c \
		$(filter %.c,$(MQ_PLUGIN_SRCS))
	$(FUZZ_LINK) $^ $(CRYPT_LIBS) $(JSONC_LIBS) $(OPENSSL_LIBS)
fuzz/fuzz_mq_store_rec: tests/fuzz/fuzz_mq_store_rec.c broker/mq_store_rec.c \
	    broker/mq_trie.c broker/mq_hash.c
	$(FUZZ_LINK) $^ -lpthread
# The WebSocket upgrade parser alone, and the WebSocket read path (upgrade,
# then frames through wslay up to the MQTT byte stream).
FUZZERS += fuzz/fuzz_mq_ws_http fuzz/fuzz_mq_ws
fuzz/fuzz_mq_ws_http: tests/fuzz/fuzz_mq_ws_http.c broker/mq_ws_http.c
	$(FUZZ_LINK) $^ $(OPENSSL_LIBS)
fuzz/fuzz_mq_ws: tests/fuzz/fuzz_mq_ws.c broker/mq_ws.c broker/mq_ws_http.c
	$(FUZZ_LINK) $^ $(WSLAY_LIBS) $(OPENSSL_LIBS)

# mqttd_auth_jwt: the token verifier (pure), its tests and its fuzzer.
check_PROGRAMS += tests/unit/test_mq_jwt
TESTS += tests/unit/test_mq_jwt
tests_unit_test_mq_jwt_SOURCES = tests/unit/test_mq_jwt.c
tests_unit_test_mq_jwt_LDADD = libmq.a $(JSONC_LIBS) $(OPENSSL_LIBS)
FUZZERS += fuzz/fuzz_mq_jwt
fuzz/fuzz_mq_jwt: tests/fuzz/fuzz_mq_jwt.c broker/mq_jwt.c broker/mq_trie.c \
	    broker/mq_hash.c broker/mq_log.c
	$(FUZZ_LINK) $^ $(JSONC_LIBS) $(OPENSSL_LIBS)
