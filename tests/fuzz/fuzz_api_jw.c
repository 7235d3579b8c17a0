/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer: fcgi/api_jw against json-c.
 *
 * 1. Input parsed by json-c, written again through the writer: the bytes
 *    must be json-c's own (for a tree whose strings are UTF-8).
 * 2. Input as one string of any bytes: escaped as json-c escapes it if
 *    it is UTF-8; otherwise the text must be UTF-8 and parse whole with
 *    json-c's UTF-8 validation on (bytes that are not UTF-8 become
 *    U+FFFD, so stored data never makes the API emit invalid JSON).
 * 3. Input as a program of writer calls, legal or not: either the writer
 *    refuses (-EINVAL) or its text is one JSON document json-c parses
 *    whole and writes back byte for byte.
 */
#include "config.h"

#include "fcgi/api_jw.h"
#include "fcgi/api_utf8.h"
#include "tests/harness/jw_replay.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char  *buf;
static size_t cap;

/* The writer's text for o is valid UTF-8 JSON that json-c reads whole. */
static void
valid_json(const char *text, size_t len)
{
	json_tokener *tok = json_tokener_new_ex(API_JW_MAX_DEPTH + 1);
	json_object  *o;

	if (tok == NULL || !api_utf8_valid(text, len))
		abort();
	json_tokener_set_flags(tok, JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, text, (int) len + 1);
	if (json_tokener_get_error(tok) != json_tokener_success
	    || json_tokener_get_parse_end(tok) < len)
		abort();
	json_object_put(o);
	json_tokener_free(tok);
}

static void
same_as_json_c(json_object *o)
{
	struct api_jw w;
	size_t        n, len;
	const char   *want = jw_replay_json_c(o, &n);

	api_jw_init(&w, buf, cap);
	jw_replay(&w, o);
	if (api_jw_finish(&w, &buf, &cap, &len) != 0)
		abort();
	/* json-c writes any bytes as they are; the writer only UTF-8 */
	if (!api_utf8_valid(want, n)) {
		valid_json(buf, len);
		return;
	}
	if (len != n || memcmp(buf, want, n) != 0)
		abort();
}

static void
as_document(const char *s, size_t size)
{
	json_tokener *tok = json_tokener_new_ex(API_JW_MAX_DEPTH);
	json_object  *o;

	if (tok == NULL)
		abort();
	o = json_tokener_parse_ex(tok, s, (int) size);
	if (o != NULL && !jw_replay_has_double(o))
		same_as_json_c(o);
	json_object_put(o);
	json_tokener_free(tok);
}

static void
as_string(const char *s, size_t size)
{
	json_object *o = json_object_new_string_len(s, (int) size);

	same_as_json_c(o);
	json_object_put(o);
}

/* The bytes after the op at i: up to 15, as the next byte says. */
static size_t
operand(const uint8_t *p, size_t size, size_t i)
{
	size_t n = i + 1 < size ? p[i + 1] % 16 : 0;

	if (i + 2 > size)
		return 0;
	return n < size - i - 2 ? n : size - i - 2;
}

static void
as_program(const uint8_t *p, size_t size)
{
	struct api_jw w;
	char          key[64];
	size_t        len, n;
	int           rc, k;

	api_jw_init(&w, buf, cap);
	for (size_t i = 0; i < size; i++) {
		switch (p[i] % 10) {
		case 0:
			api_jw_object(&w);
			break;
		case 1:
			api_jw_object_end(&w);
			break;
		case 2:
			api_jw_array(&w);
			break;
		case 3:
			api_jw_array_end(&w);
			break;
		case 4:
			/* "<i>:" first keeps keys unique (json-c keeps one of
			 * equal keys); keys are C strings */
			n = operand(p, size, i);
			k = snprintf(key, sizeof(key), "%zu:", i);
			memcpy(key + k, p + i + 2, n);
			key[(size_t) k + n] = '\0';
			api_jw_key(&w, key);
			i += 1 + n;
			break;
		case 5:
			n = operand(p, size, i);
			api_jw_str(&w, (const char *) p + i + 2, n);
			i += 1 + n;
			break;
		case 6:
			api_jw_u64(&w, (uint64_t) p[i] << 56 | i);
			break;
		case 7:
			api_jw_i64(&w, p[i] == 7 ? INT64_MIN : -(int64_t) i);
			break;
		case 8:
			api_jw_bool(&w, p[i] & 16);
			break;
		default:
			api_jw_null(&w);
		}
	}
	rc = api_jw_finish(&w, &buf, &cap, &len);
	if (rc == -EINVAL)
		return;
	if (rc != 0 || len != strlen(buf))
		abort();
	/* one document json-c reads whole (the NUL ends a bare number) and
	 * writes back as the same bytes */
	{
		json_tokener *tok = json_tokener_new_ex(API_JW_MAX_DEPTH + 1);
		json_object  *o
		    = json_tokener_parse_ex(tok, buf, (int) len + 1);
		size_t      n2;
		const char *again;

		/* (a JSON null parses as NULL) */
		if (json_tokener_get_error(tok) != json_tokener_success
		    || json_tokener_get_parse_end(tok) < len)
			abort();
		again = jw_replay_json_c(o, &n2);
		if (n2 != len || memcmp(again, buf, len) != 0)
			abort();
		json_object_put(o);
		json_tokener_free(tok);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 1 << 16)
		return 0;
	as_document((const char *) data, size);
	as_string((const char *) data, size);
	as_program(data, size);
	return 0;
}
