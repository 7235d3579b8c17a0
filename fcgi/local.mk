# fcgi/: mqttd-api, the FastCGI workers serving /api/v2 from the segment.
noinst_LIBRARIES += libapi.a
libapi_a_SOURCES = fcgi/api_fmt.c fcgi/api_fmt.h

check_PROGRAMS += tests/unit/test_api_fmt
TESTS += tests/unit/test_api_fmt
tests_unit_test_api_fmt_SOURCES = tests/unit/test_api_fmt.c
tests_unit_test_api_fmt_LDADD = libapi.a
