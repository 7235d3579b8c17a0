/* Unit tests for fcgi/api_body: EMQ's 107/108/109 and the commands. */
#include "config.h"

#include "fcgi/api_body.h"
#include "tests/harness/t.h"

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
		{ "{\"topic\":\"a\",\"client_id\":7}", 108 },
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct api_err e = { 0 };
		json_object   *c
		    = api_cmd_publish(rows[i].body, strlen(rows[i].body), &e);

		if (c != NULL || e.code != rows[i].code)
			T_FAIL_AT("%s: code %d, want %d", rows[i].body, e.code,
			    rows[i].code);
		T_ASSERT(e.msg[0] != '\0');
	}
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
	T_ENTRY(subscribe),
	T_ENTRY(filters),
	T_ENTRY(plugin),
};

T_MAIN(cases)
