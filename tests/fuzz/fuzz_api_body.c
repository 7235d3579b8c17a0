/* libFuzzer: JSON request bodies through fcgi/api_body's validators. */
#include "config.h"

#include "fcgi/api_body.h"
#include "fcgi/api_json.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(json_object *cmd, const struct api_err *e)
{
	/* exactly one of: a command, or an error code of EMQ's table */
	if ((cmd == NULL) == (e->code == 0))
		abort();
	if (cmd == NULL && (e->code < 107 || e->code > 109))
		abort();
	json_object_put(cmd);
}

static bool
has_double(json_object *o)
{
	if (json_object_is_type(o, json_type_double))
		return true;
	if (json_object_is_type(o, json_type_array))
		for (size_t i = 0; i < json_object_array_length(o); i++)
			if (has_double(json_object_array_get_idx(o, i)))
				return true;
	if (json_object_is_type(o, json_type_object)) {
		json_object_object_foreach(o, k, v)
		{
			(void) k;
			if (has_double(v))
				return true;
		}
	}
	return false;
}

/* api_json_write must give exactly json-c's bytes. */
static void
check_writer(const char *b, size_t size)
{
	struct api_err e = { 0 };
	json_object   *o = api_body_parse(b, size, &e);
	char          *got = NULL;
	size_t         cap = 0;
	size_t         n;

	if (o == NULL || has_double(o)) {
		json_object_put(o);
		return;
	}
	const char *want = json_object_to_json_string_ext(
	    o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (api_json_write(o, &got, &cap, &n) != 0)
		abort();
	if (n != strlen(want) || memcmp(got, want, n) != 0)
		abort();
	free(got);
	json_object_put(o);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char    *b = (const char *) data;
	struct api_err e = { 0 };

	check(api_cmd_publish(b, size, &e), &e);
	e.code = 0;
	check(api_cmd_subscribe(b, size, &e), &e);
	e.code = 0;
	check(api_cmd_unsubscribe(b, size, &e), &e);
	e.code = 0;
	check(api_cmd_plugin("p", b, size, &e), &e);
	check_writer(b, size);
	return 0;
}
