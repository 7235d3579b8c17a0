/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target for broker/mq_ws_http: the WebSocket upgrade request
 * parser sees arbitrary bytes, whole and cut at every length a reader
 * could see them in (a short prefix must never be accepted when the whole
 * is refused for a reason before that point, and never read past len).
 * Accepted requests must carry a well-formed accept key and an answer.
 */
#include "config.h"

#include "broker/mq_ws_http.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mq_ws_http_cfg cfg[2] = {
		{ "/mqtt", NULL },
		{ "/mqtt", "https://a.example,http://b" },
	};
	struct mq_ws_http_req req;
	char                  ans[1024];

	for (int k = 0; k < 2; k++) {
		/* an exact-size copy, so ASan sees any overread */
		uint8_t *p = malloc(size ? size : 1);
		int      r;

		memcpy(p, data, size);
		r = mq_ws_http_parse(p, size, &cfg[k], &req);
		if (r > 0) {
			if ((size_t) r > size || req.status != 101
			    || strlen(req.accept) != 28)
				abort();
		} else if (r < 0) {
			if (req.status < 400 || req.why == NULL)
				abort();
		} else if (size >= MQ_WS_HTTP_MAX) {
			abort(); /* a full head must be decided */
		}
		if (r != 0 && mq_ws_http_answer(&req, ans, sizeof(ans)) == 0)
			abort();
		/* every prefix: never more than "need more" or the same */
		for (size_t cut = 1; r > 0 && cut < (size_t) r; cut += 7) {
			struct mq_ws_http_req q;

			if (mq_ws_http_parse(p, cut, &cfg[k], &q) != 0)
				abort();
		}
		free(p);
	}
	return 0;
}
