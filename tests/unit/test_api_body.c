/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests for fcgi/api_body: EMQ's 107/108/109 and the commands. */
#include "config.h"

#include "fcgi/api_body.h"
#include "fcgi/api_utf8.h"
#include "tests/harness/t.h"

#include <stdlib.h>

static const char *
cmd_str(json_object *cmd)
{
	return json_object_to_json_string_ext(
	    cmd, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

T_TEST(publish_defaults)
{
	struct api_err e = { 0 };
	const char    *b = "{\"topic\":\"a/b\"}";
	json_object   *c = api_cmd_publish(b, strlen(b), &e);

	T_ASSERT(c != NULL);
	T_STREQ(cmd_str(c),
	    "{\"cmd\":\"publish\",\"topic\":\"a/b\","
	    "\"payload\":\"\",\"qos\":0,\"retain\":false,"
	    "\"client_id\":\"http\"}");
	json_object_put(c);
}

T_TEST(publish_full)
{
	struct api_err e = { 0 };
	const char    *b = "{\"topic\":\"t\",\"payload\":\"h\\u00e9\\\"\","
	                   "\"qos\":2,\"retain\":true,\"client_id\":\"c1\"} ";
	json_object   *c = api_cmd_publish(b, strlen(b), &e);

	T_ASSERT(c != NULL);
	T_STREQ(cmd_str(c),
	    "{\"cmd\":\"publish\",\"topic\":\"t\","
	    "\"payload\":\"h\xc3\xa9\\\"\",\"qos\":2,"
	    "\"retain\":true,\"client_id\":\"c1\"}");
	json_object_put(c);
}

T_TEST(publish_errors)
{
	static const struct {
		const char *body;
		int         code;
		const char *field; /* the message starts with it */
	} rows[] = {
		{ "", 109 },
		{ "not json", 109 },
		{ "[1,2]", 109 },
		{ "{\"topic\":\"a\"} x", 109 },
		{ "{\"topic\":\"a\"", 109 },
		{ "{}", 107 },
		{ "{\"payload\":\"x\"}", 107 },
		{ "{\"topic\":null}", 107 },
		{ "{\"topic\":1}", 108 },
		{ "{\"topic\":\"\"}", 108 },
		{ "{\"topic\":\"a/+\"}", 108 },
		{ "{\"topic\":\"a/#\"}", 108 },
		{ "{\"topic\":\"a\\u0000b\"}", 108 },
		{ "{\"topic\":\"a\",\"qos\":3}", 108 },
		{ "{\"topic\":\"a\",\"qos\":-1}", 108 },
		{ "{\"topic\":\"a\",\"qos\":\"1\"}", 108 },
		{ "{\"topic\":\"a\",\"qos\":1.0}", 108 },
		{ "{\"topic\":\"a\",\"retain\":1}", 108 },
		{ "{\"topic\":\"a\",\"payload\":5}", 108 },
		{ "{\"topic\":\"a\",\"client_id\":\"\"}", 108 },
		{ "{\"topic\":\"a\",\"client_id\":7}", 108, "client_id: " },
		/* every string must be UTF-8, and the 108 names its field */
		{ "{\"topic\":\"a\xff\"}", 108, "topic: not valid UTF-8" },
		{ "{\"topic\":\"a\",\"payload\":\"\xc0\x80\"}", 108,
		    "payload: not valid UTF-8" },
		{ "{\"topic\":\"a\",\"client_id\":\"c\xed\xa0\x80\"}", 108,
		    "client_id: not valid UTF-8" },
		{ "{\"topic\":\"a\",\"client_id\":\"\xf4\x90\x80\x80\"}", 108,
		    "client_id: not valid UTF-8" },
		{ "{\"topic\":\"a\",\"qos\":3}", 108, "qos: must be 0 to 2" },
		{ "{\"topic\":\"a\",\"retain\":1}", 108, "retain: " },
		{ "{}", 107, "topic: missing" },
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct api_err e = { 0 };
		json_object   *c
		    = api_cmd_publish(rows[i].body, strlen(rows[i].body), &e);

		if (c != NULL || e.code != rows[i].code)
			T_FAIL_AT("%s: code %d, want %d", rows[i].body, e.code,
			    rows[i].code);
		T_ASSERT(e.msg[0] != '\0');
		if (rows[i].field != NULL
		    && strncmp(e.msg, rows[i].field, strlen(rows[i].field))
		        != 0)
			T_FAIL_AT("%s: message %s", rows[i].body, e.msg);
	}
}

T_TEST(utf8_accepted_and_limits)
{
	struct api_err e = { 0 };
	const char    *b
	    = "{\"topic\":\"t/\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\","
	      "\"client_id\":\"\xe6\x97\xa5\"}";
	json_object *c = api_cmd_publish(b, strlen(b), &e);
	char        *big;
	size_t       n = API_CLIENT_ID_MAX + 1;

	T_ASSERT(c != NULL);
	json_object_put(c);
	/* a client id past the limit: 108 naming client_id */
	big = malloc(n + 64);
	T_ASSERT(big != NULL);
	strcpy(big, "{\"topic\":\"a\",\"client_id\":\"");
	memset(big + strlen(big), 'x', n);
	strcpy(big + 26 + n, "\"}");
	T_ASSERT(api_cmd_publish(big, strlen(big), &e) == NULL);
	T_EQ(e.code, 108);
	T_ASSERT(strncmp(e.msg, "client_id: at most 65535 bytes", 30) == 0);
	free(big);
	b = "{\"client_id\":\"\x80\",\"topic\":\"a\"}";
	T_ASSERT(api_cmd_subscribe(b, strlen(b), &e) == NULL);
	T_EQ(e.code, 108);
	T_ASSERT(strncmp(e.msg, "client_id: not valid UTF-8", 26) == 0);
	b = "{\"client_id\":\"c\",\"topic\":\"a/\xfe\"}";
	T_ASSERT(api_cmd_unsubscribe(b, strlen(b), &e) == NULL);
	T_ASSERT(strncmp(e.msg, "topic: not valid UTF-8", 22) == 0);
}

T_TEST(utf8_decoder)
{
	static const struct {
		const char *s;
		bool        ok;
	} rows[] = {
		{ "", true }, { "plain", true },
		{ "\xc2\x80", true },          /* U+0080 */
		{ "\xdf\xbf", true },          /* U+07FF */
		{ "\xe0\xa0\x80", true },      /* U+0800 */
		{ "\xed\x9f\xbf", true },      /* U+D7FF */
		{ "\xee\x80\x80", true },      /* U+E000 */
		{ "\xef\xbf\xbd", true },      /* U+FFFD */
		{ "\xf0\x90\x80\x80", true },  /* U+10000 */
		{ "\xf4\x8f\xbf\xbf", true },  /* U+10FFFF */
		{ "\x80", false },             /* lone continuation */
		{ "\xc0\xaf", false },         /* overlong '/' */
		{ "\xc1\xbf", false },         /* overlong */
		{ "\xe0\x9f\xbf", false },     /* overlong */
		{ "\xed\xa0\x80", false },     /* surrogate D800 */
		{ "\xed\xbf\xbf", false },     /* surrogate DFFF */
		{ "\xf0\x8f\xbf\xbf", false }, /* overlong */
		{ "\xf4\x90\x80\x80", false }, /* U+110000 */
		{ "\xf5\x80\x80\x80", false }, { "\xff", false },
		{ "\xe2\x82", false }, /* truncated */
		{ "a\xc3", false },    /* truncated at the end */
		{ "\xc3\x28", false }, /* bad continuation */
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		if (api_utf8_valid(rows[i].s, strlen(rows[i].s)) != rows[i].ok)
			T_FAIL_AT("row %zu", i);
}

T_TEST(subscribe)
{
	struct api_err e = { 0 };
	const char  *b = "{\"topic\":\"a/+/#\",\"qos\":1,\"client_id\":\"c\"}";
	json_object *c = api_cmd_subscribe(b, strlen(b), &e);

	T_ASSERT(c != NULL);
	T_STREQ(cmd_str(c),
	    "{\"cmd\":\"subscribe\",\"client_id\":\"c\","
	    "\"topic\":\"a/+/#\",\"qos\":1}");
	json_object_put(c);
	b = "{\"topic\":\"a\"}";
	T_ASSERT(api_cmd_subscribe(b, strlen(b), &e) == NULL);
	T_EQ(e.code, 107);
	b = "{\"topic\":\"a/b#\",\"client_id\":\"c\"}";
	T_ASSERT(api_cmd_subscribe(b, strlen(b), &e) == NULL);
	T_EQ(e.code, 108);
	b = "{\"topic\":\"a\",\"client_id\":\"c\"}";
	c = api_cmd_unsubscribe(b, strlen(b), &e);
	T_STREQ(cmd_str(c),
	    "{\"cmd\":\"unsubscribe\",\"client_id\":\"c\","
	    "\"topic\":\"a\"}");
	json_object_put(c);
}

T_TEST(filters)
{
	static const struct {
		const char *t;
		bool        filter, name;
	} rows[] = {
		{ "a/b", true, true },
		{ "#", true, false },
		{ "a/#", true, false },
		{ "a/#/b", false, false },
		{ "a#", false, false },
		{ "+", true, false },
		{ "+/a/+", true, false },
		{ "a+", false, false },
		{ "/", true, true },
		{ "$SYS/x", true, true },
		{ "", false, false },
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		size_t n = strlen(rows[i].t);

		T_EQ(api_topic_filter_valid(rows[i].t, n), rows[i].filter);
		T_EQ(api_topic_name_valid(rows[i].t, n), rows[i].name);
	}
}

T_TEST(plugin)
{
	struct api_err e = { 0 };
	const char    *b = "{\"active\":true}";
	json_object   *c = api_cmd_plugin("emq_recon", b, strlen(b), &e);

	T_STREQ(cmd_str(c),
	    "{\"cmd\":\"plugin\",\"name\":\"emq_recon\","
	    "\"active\":true}");
	json_object_put(c);
	b = "{}";
	T_ASSERT(api_cmd_plugin("p", b, strlen(b), &e) == NULL);
	T_EQ(e.code, 107);
	b = "{\"active\":\"yes\"}";
	T_ASSERT(api_cmd_plugin("p", b, strlen(b), &e) == NULL);
	T_EQ(e.code, 108);
}

static const struct t_case cases[] = {
	T_ENTRY(publish_defaults),
	T_ENTRY(publish_full),
	T_ENTRY(publish_errors),
	T_ENTRY(utf8_accepted_and_limits),
	T_ENTRY(utf8_decoder),
	T_ENTRY(subscribe),
	T_ENTRY(filters),
	T_ENTRY(plugin),
};

T_MAIN(cases)
