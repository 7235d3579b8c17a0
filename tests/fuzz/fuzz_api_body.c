/* SPDX-License-Identifier: BSD-2-Clause */
/* libFuzzer: JSON request bodies through fcgi/api_body's validators. */
#include "config.h"

#include "fcgi/api_body.h"

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
	return 0;
}
