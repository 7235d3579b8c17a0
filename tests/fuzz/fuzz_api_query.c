/* SPDX-License-Identifier: BSD-2-Clause */
/* libFuzzer: the query string and path decoding of fcgi/api_http. */
#include "config.h"

#include "fcgi/api_http.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char           *q = malloc(size + 1), buf[64], msg[128];
	unsigned char   b[64];
	struct api_page p;
	uint64_t        v;

	if (q == NULL)
		return 0;
	memcpy(q, data, size);
	q[size] = '\0';
	if (api_page_parse(q, size, &p, msg, sizeof(msg)) == 0) {
		if (p.curr_page < 1 || p.page_size < 1
		    || p.page_size > API_PAGE_SIZE_MAX)
			abort();
	}
	api_query_get(q, size, "curr_page", buf, sizeof(buf));
	api_parse_u64(q, UINT64_MAX, &v);
	api_base64_decode(q, size, b, sizeof(b));
	{
		char *d = malloc(size + 1);
		int   n = api_pct_decode(d, q, size, false);

		if (n > (int) size || (n >= 0 && strlen(d) != (size_t) n))
			abort();
		free(d);
	}
	free(q);
	return 0;
}
