/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests for fcgi/api_jw: json-c's bytes, structure, sticky errors. */
#include "config.h"

#include "fcgi/api_jw.h"
#include "tests/harness/jw_replay.h"
#include "tests/harness/t.h"

#include <errno.h>
#include <stdlib.h>

static char  *buf;
static size_t cap;

/* Finishes w; returns the text (NULL and *rc set on an error). */
static const char *
finish(struct api_jw *w, int *rc)
{
	size_t len;

	*rc = api_jw_finish(w, &buf, &cap, &len);
	if (*rc != 0)
		return NULL;
	T_EQ(len, strlen(buf));
	return buf;
}

/* The writer, replaying json-c's parse of doc, gives json-c's bytes. */
static void
same_as_json_c(json_object *o)
{
	struct api_jw w;
	size_t        n;
	const char   *want = jw_replay_json_c(o, &n);
	int           rc;

	api_jw_init(&w, buf, cap);
	jw_replay(&w, o);
	T_STREQ(finish(&w, &rc), want);
	T_EQ(rc, 0);
	json_object_put(o);
}

T_TEST(matches_json_c)
{
	static const char *docs[] = {
		"{}",
		"[]",
		"0",
		"\"\"",
		"{\"a\":[1,-2,0,9223372036854775807,-9223372036854775808],"
		"\"b\":{\"c\":null,\"d\":true,\"e\":false},\"f\":[[],{},[{}]]"
		"}",
		"[\"q\\\"uo\\\\te\\/sl\\u0001\\u001f\\b\\f\\n\\r\\t\","
		"\"\\u00e9\\u4e2d\\ud83d\\ude00\\u007f\"]",
		"{\"k\\\"ey\\n\":\"\",\"long string past eight bytes "
		"\\\"\":1}",
	};
	json_object *o = json_object_new_object();
	char raw[] = { 'a', 0, 'b', 0x1b, '"', '/', (char) 0xc3, (char) 0xa9 };

	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		json_object *d = json_tokener_parse(docs[i]);

		T_ASSERT(d != NULL);
		same_as_json_c(d);
	}
	json_object_object_add(o, "s", json_object_new_string_len(raw, 8));
	json_object_object_add(o, "u", json_object_new_uint64(UINT64_MAX));
	same_as_json_c(o);
}

T_TEST(commas_and_colons)
{
	struct api_jw w;
	int           rc;

	api_jw_init(&w, NULL, 0);
	api_jw_object(&w);
	api_jw_key(&w, "a");
	api_jw_array(&w);
	api_jw_u64(&w, 1);
	api_jw_i64(&w, -1);
	api_jw_object(&w);
	api_jw_object_end(&w);
	api_jw_null(&w);
	api_jw_array_end(&w);
	API_JW_KEY(&w, "b");
	api_jw_bool(&w, false);
	api_jw_key(&w, "c");
	api_jw_cstr(&w, "x");
	api_jw_object_end(&w);
	T_STREQ(
	    finish(&w, &rc), "{\"a\":[1,-1,{},null],\"b\":false,\"c\":\"x\"}");
}

/* Reset drops what was written and any open container, keeps the
 * buffer, and writing goes on from an empty document. */
T_TEST(reset)
{
	struct api_jw w;
	int           rc;

	api_jw_init(&w, NULL, 0);
	api_jw_object(&w);
	api_jw_key(&w, "half");
	api_jw_array(&w);
	api_jw_u64(&w, 7);
	api_jw_reset(&w);
	T_EQ(api_jw_len(&w), 0);
	api_jw_array(&w);
	api_jw_array_end(&w);
	T_STREQ(finish(&w, &rc), "[]");
}

static int
misuse(void (*steps)(struct api_jw *w))
{
	struct api_jw w;
	int           rc;

	api_jw_init(&w, buf, cap);
	steps(&w);
	T_ASSERT(finish(&w, &rc) == NULL);
	return rc;
}

static void
value_without_key(struct api_jw *w)
{
	api_jw_object(w);
	api_jw_u64(w, 1);
	api_jw_object_end(w);
}

static void
key_in_array(struct api_jw *w)
{
	api_jw_array(w);
	api_jw_key(w, "k");
	api_jw_u64(w, 1);
	api_jw_array_end(w);
}

static void
literal_key_in_array(struct api_jw *w)
{
	api_jw_array(w);
	API_JW_KEY(w, "k");
	api_jw_u64(w, 1);
	api_jw_array_end(w);
}

static void
key_without_value(struct api_jw *w)
{
	api_jw_object(w);
	api_jw_key(w, "k");
	api_jw_object_end(w);
}

static void
wrong_end(struct api_jw *w)
{
	api_jw_object(w);
	api_jw_array_end(w);
}

static void
unclosed(struct api_jw *w)
{
	api_jw_array(w);
}

static void
two_roots(struct api_jw *w)
{
	api_jw_u64(w, 1);
	api_jw_u64(w, 2);
}

static void
end_at_root(struct api_jw *w)
{
	api_jw_array_end(w);
}

static void
nothing(struct api_jw *w)
{
	(void) w;
}

static void
too_deep(struct api_jw *w)
{
	for (int i = 0; i <= API_JW_MAX_DEPTH; i++)
		api_jw_array(w);
	for (int i = 0; i <= API_JW_MAX_DEPTH; i++)
		api_jw_array_end(w);
}

/* Misuse fails the whole document with -EINVAL, never a wrong text. */
T_TEST(misuse_is_sticky)
{
	void (*cases[])(struct api_jw *) = { value_without_key, key_in_array,
		key_without_value, wrong_end, unclosed, two_roots, end_at_root,
		too_deep, nothing, literal_key_in_array };

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		T_EQ(misuse(cases[i]), -EINVAL);
}

T_TEST(deepest_allowed)
{
	struct api_jw w;
	int           rc;

	api_jw_init(&w, NULL, 0);
	for (int i = 0; i < API_JW_MAX_DEPTH; i++)
		api_jw_array(&w);
	for (int i = 0; i < API_JW_MAX_DEPTH; i++)
		api_jw_array_end(&w);
	T_ASSERT(finish(&w, &rc) != NULL);
	T_EQ(strlen(buf), 2 * API_JW_MAX_DEPTH);
}

/* A string far past the initial buffer grows it; every byte value is
 * written as json-c writes it. */
/* Every byte value, 64 times: in this order no byte past 0x7f starts a
 * well-formed sequence, so each becomes U+FFFD. */
T_TEST(all_bytes_grow)
{
	static char   s[256 * 64], fixed[256 * 64 * 3];
	json_object  *o;
	struct api_jw w;
	size_t        n, k = 0;
	int           rc;

	for (size_t i = 0; i < sizeof(s); i++) {
		s[i] = (char) (i % 256);
		if (i % 256 < 0x80)
			fixed[k++] = s[i];
		else
			memcpy(fixed + k, "\xef\xbf\xbd", 3), k += 3;
	}
	o = json_object_new_string_len(fixed, (int) k);
	api_jw_init(&w, NULL, 0);
	api_jw_str(&w, s, sizeof(s));
	T_STREQ(finish(&w, &rc), jw_replay_json_c(o, &n));
	json_object_put(o);
}

/* Whatever a stored string holds, the output is valid JSON in UTF-8:
 * well-formed sequences pass, every other byte becomes U+FFFD. */
T_TEST(invalid_utf8_replaced)
{
	static const struct {
		const char *in, *out;
	} rows[] = {
		{ "a\xff"
		  "b",
		    "\"a\xef\xbf\xbd"
		    "b\"" },
		{ "\xc3\xa9", "\"\xc3\xa9\"" },
		{ "\xc0\xaf", "\"\xef\xbf\xbd\xef\xbf\xbd\"" },
		{ "\xed\xa0\x80x",
		    "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdx\"" },
		{ "\xe2\x82", "\"\xef\xbf\xbd\xef\xbf\xbd\"" },
		{ "12345678\xf0\x9f\x98\x80\x80",
		    "\"12345678\xf0\x9f\x98\x80\xef\xbf\xbd\"" },
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct api_jw w;
		json_tokener *tok = json_tokener_new();
		const char   *got;
		json_object  *o;
		int           rc;

		api_jw_init(&w, NULL, 0);
		api_jw_str(&w, rows[i].in, strlen(rows[i].in));
		got = finish(&w, &rc);
		T_EQ(rc, 0);
		T_STREQ(got, rows[i].out);
		json_tokener_set_flags(tok, JSON_TOKENER_VALIDATE_UTF8);
		o = json_tokener_parse_ex(tok, got, (int) strlen(got));
		T_ASSERT(o != NULL);
		json_object_put(o);
		json_tokener_free(tok);
	}
}

static const struct t_case cases[] = {
	T_ENTRY(matches_json_c),
	T_ENTRY(commas_and_colons),
	T_ENTRY(reset),
	T_ENTRY(misuse_is_sticky),
	T_ENTRY(deepest_allowed),
	T_ENTRY(all_bytes_grow),
	T_ENTRY(invalid_utf8_replaced),
};

T_MAIN(cases)
