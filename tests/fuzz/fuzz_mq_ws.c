/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target for the WebSocket read path (broker/mq_ws.c): a valid
 * upgrade, then arbitrary bytes as frames, fed in pieces whose sizes the
 * input chooses (wslay keeps partial headers between calls).  Checks:
 * no crash or leak; payload comes out only of binary frames and never
 * more than was fed; after an error nothing more is delivered; output
 * (the 101, pongs, closes) is bounded.  A second run sends the bytes as
 * the upgrade request itself.
 */
#include "config.h"

#include "broker/mq_ws.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t delivered, sent;
static int    sink_full;

static ssize_t
fz_send(void *arg, const uint8_t *p, size_t n)
{
	(void) arg;
	(void) p;
	if (sink_full)
		return -EAGAIN; /* a full socket now and then */
	sent += n;
	return (ssize_t) n;
}

static void
fz_deliver(void *arg, const uint8_t *p, size_t n)
{
	(void) arg;
	if (n > 0 && p == NULL)
		abort();
	delivered += n;
}

static const char upgrade_req[]
    = "GET /mqtt HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
      "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
      "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n";

static void
run(const uint8_t *data, size_t size, bool as_request)
{
	struct mq_ws_http_cfg cfg = { "/mqtt", NULL };
	struct mq_ws_io       io = { fz_send, fz_deliver, NULL };
	mq_ws                *w;
	size_t                off = 0;
	int                   rc = 0;

	delivered = sent = 0;
	sink_full = 0;
	if (mq_ws_new(&w, &cfg, 4096, &io) != 0)
		return;
	if (!as_request
	    && mq_ws_input(w, (const uint8_t *) upgrade_req,
	           sizeof(upgrade_req) - 1, NULL)
	        != 0)
		abort();
	while (off < size) {
		/* the first byte of each piece is its length */
		size_t   n = (size_t) data[off] % 64 + 1, before = delivered;
		uint8_t *p;

		off++;
		if (n > size - off)
			n = size - off;
		p = malloc(n ? n : 1);
		memcpy(p, data + off, n);
		rc = mq_ws_input(w, p, n, NULL);
		free(p);
		if (delivered - before > n)
			abort();
		off += n;
		sink_full = (int) (off & 1);
		mq_ws_output(w, data, off < 32 ? off : 32);
		if (rc != 0)
			break;
	}
	if (rc != 0) {
		size_t d = delivered;

		/* refused or closed: nothing more comes through */
		mq_ws_input(w, data, size, NULL);
		if (delivered != d)
			abort();
	}
	sink_full = 0;
	mq_ws_close(w, 1000, "bye");
	mq_ws_free(&w);
	if (sent > 64 * (size + 64) + 1024)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	run(data, size, false);
	run(data, size, true);
	return 0;
}
