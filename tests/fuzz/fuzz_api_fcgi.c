/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer: fcgi/api_fcgi's request parser on any bytes, in any split:
 * the input's first byte chooses where it is cut; the parse must give
 * the same verdict whole and in two pieces, and a complete request's
 * parameters must be NUL-terminated pairs inside the buffer.
 */
#include "config.h"

#include "fcgi/api_fcgi.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_complete(const struct api_fcgi_req *r)
{
	const char *p = r->params, *end = p ? p + r->params_len : NULL;

	while (p != NULL && p < end) {
		const char *v = p + strlen(p) + 1;

		if (v >= end || api_fcgi_param(r, p) == NULL)
			abort();
		p = v + strlen(v) + 1;
	}
	if (p != NULL && p != end)
		abort();
	if (r->body_len > API_FCGI_BODY_MAX
	    || (r->body_len > 0 && r->body[r->body_len] != '\0'))
		abort();
	(void) api_fcgi_param(r, "REQUEST_METHOD");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct api_fcgi_req a, b;
	long                ra, rb;
	size_t              cut;

	if (size < 1)
		return 0;
	cut = data[0] % size;
	data++, size--;
	cut = cut < size ? cut : size;
	api_fcgi_init(&a);
	api_fcgi_init(&b);
	ra = api_fcgi_parse(&a, data, size);
	rb = api_fcgi_parse(&b, data, cut);
	if (rb == 0 && cut < size) {
		rb = api_fcgi_parse(&b, data + cut, size - cut);
		if (rb > 0)
			rb += (long) cut;
	}
	if (ra != rb)
		abort();
	if (ra > 0) {
		check_complete(&a);
		if (a.params_len != b.params_len || a.body_len != b.body_len
		    || a.id != b.id || a.keep_conn != b.keep_conn)
			abort();
		if (a.params_len > 0
		    && memcmp(a.params, b.params, a.params_len) != 0)
			abort();
	}
	api_fcgi_free(&a);
	api_fcgi_free(&b);
	return 0;
}
