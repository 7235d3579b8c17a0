# SPDX-License-Identifier: BSD-2-Clause
# fcgi/: mqttd-api, the FastCGI workers serving /api/v2 from the segment.
noinst_LIBRARIES += libapi.a
libapi_a_SOURCES = fcgi/api.h fcgi/api_fmt.c fcgi/api_fmt.h \
	fcgi/api_utf8.c fcgi/api_utf8.h fcgi/api_log.c fcgi/api_log.h \
	fcgi/api_fcgi.c fcgi/api_fcgi.h \
	fcgi/api_http.c fcgi/api_http.h fcgi/api_body.c fcgi/api_body.h \
	fcgi/api_jw.c fcgi/api_jw.h fcgi/api_json.c fcgi/api_json.h fcgi/api_ctl.c fcgi/api_ctl.h \
	fcgi/api_users.c fcgi/api_users.h fcgi/api_auth.c fcgi/api_auth.h \
	fcgi/api_prom.c fcgi/api_prom.h fcgi/api_route.c fcgi/api_route.h \
	fcgi/api_route_int.h fcgi/api_route_data.c fcgi/api_route_users.c \
	fcgi/api_limits.c fcgi/api_limits.h \
	fcgi/api_beat.c fcgi/api_beat.h
libapi_a_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS) $(OPENSSL_CFLAGS) \
	$(URCU_MEMB_CFLAGS)
API_LIBS = libapi.a libshm.a $(JSONC_LIBS) $(OPENSSL_LIBS) $(CRYPT_LIBS) \
	$(URCU_MEMB_LIBS) $(PTHREAD_LIBS)

bin_PROGRAMS += mqttd-api
mqttd_api_SOURCES = fcgi/api_main.c
mqttd_api_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS)
mqttd_api_LDADD = $(API_LIBS)

API_UNIT = tests/unit/test_api_fmt tests/unit/test_api_http \
	tests/unit/test_api_body tests/unit/test_api_json \
	tests/unit/test_api_users tests/unit/test_api_prom \
	tests/unit/test_api_auth tests/unit/test_api_jw \
	tests/unit/test_api_fcgi
check_PROGRAMS += $(API_UNIT)
TESTS += $(API_UNIT)
tests_unit_test_api_fmt_SOURCES = tests/unit/test_api_fmt.c
tests_unit_test_api_fmt_LDADD = libapi.a
tests_unit_test_api_http_SOURCES = tests/unit/test_api_http.c
tests_unit_test_api_http_LDADD = libapi.a
tests_unit_test_api_body_SOURCES = tests/unit/test_api_body.c
tests_unit_test_api_body_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS)
tests_unit_test_api_body_LDADD = $(API_LIBS)
tests_unit_test_api_json_SOURCES = tests/unit/test_api_json.c
tests_unit_test_api_json_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS)
tests_unit_test_api_json_LDADD = $(API_LIBS)
tests_unit_test_api_jw_SOURCES = tests/unit/test_api_jw.c \
	tests/harness/jw_replay.h
tests_unit_test_api_jw_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS)
tests_unit_test_api_jw_LDADD = $(API_LIBS)
tests_unit_test_api_users_SOURCES = tests/unit/test_api_users.c
tests_unit_test_api_users_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS)
tests_unit_test_api_users_LDADD = $(API_LIBS)
tests_unit_test_api_auth_SOURCES = tests/unit/test_api_auth.c
tests_unit_test_api_auth_LDADD = $(API_LIBS)
tests_unit_test_api_fcgi_SOURCES = tests/unit/test_api_fcgi.c
tests_unit_test_api_fcgi_LDADD = $(API_LIBS)
tests_unit_test_api_prom_SOURCES = tests/unit/test_api_prom.c
tests_unit_test_api_prom_LDADD = $(API_LIBS)

FUZZERS += fuzz/fuzz_api_query fuzz/fuzz_api_body fuzz/fuzz_api_jw \
	fuzz/fuzz_api_fcgi
fuzz/fuzz_api_query: tests/fuzz/fuzz_api_query.c fcgi/api_http.c
	$(FUZZ_LINK) $^
fuzz/fuzz_api_body: tests/fuzz/fuzz_api_body.c fcgi/api_body.c \
	fcgi/api_utf8.c
	$(FUZZ_LINK) $^ $(JSONC_LIBS)
fuzz/fuzz_api_jw: tests/fuzz/fuzz_api_jw.c fcgi/api_jw.c fcgi/api_utf8.c
	$(FUZZ_LINK) $^ $(JSONC_LIBS)
fuzz/fuzz_api_fcgi: tests/fuzz/fuzz_api_fcgi.c fcgi/api_fcgi.c
	$(FUZZ_LINK) $^
