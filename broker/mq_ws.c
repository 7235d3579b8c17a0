/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mq_ws: WebSocket framing with wslay's event API for input and control
 * frames (ping/pong, close handshake, validation) and wslay's frame
 * encoder for data.  wslay's send callback here never refuses bytes: it
 * appends to our own buffer (tx), which is written to the socket in one
 * go, so wslay never stops in the middle of a frame and our data frames
 * and its control frames can never interleave.  Input is streamed
 * (no_buffering): payload goes to MQTT as it arrives, never assembled
 * into whole messages.
 */
#include "config.h"

#include "broker/mq_ws.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <wslay/wslay.h>

enum { WS_HTTP, WS_OPEN, WS_REFUSED };

struct mq_ws {
	wslay_event_context_ptr ev;
	wslay_frame_context_ptr fo; /* our data frames */
	struct mq_ws_io         io;
	struct mq_ws_http_cfg   cfg;
	uint8_t                 state;
	uint8_t                 op;   /* opcode of the frame being read */
	bool                    text; /* a text frame came: refused */
	uint8_t                *head; /* the upgrade request so far */
	size_t                  head_len, head_cap;
	const uint8_t          *in; /* bytes being fed to wslay */
	size_t                  in_len, in_off;
	uint8_t                *tx; /* bytes waiting for io.send */
	size_t                  tx_len, tx_off, tx_cap;
	bool                    nomem;
};

/* Appends p[0..n) to a buffer that doubles as needed (from min). */
static int
buf_add(uint8_t **buf, size_t *len, size_t *cap, size_t min, const void *p,
    size_t n)
{
	if (n == 0)
		return 0;
	if (*cap - *len < n) {
		size_t   c = *cap ? *cap : min;
		uint8_t *q;

		while (c < *len + n)
			c *= 2;
		q = realloc(*buf, c);
		if (q == NULL)
			return -ENOMEM;
		*buf = q;
		*cap = c;
	}
	memcpy(*buf + *len, p, n);
	*len += n;
	return 0;
}

static int
tx_add(mq_ws *w, const uint8_t *p, size_t n)
{
	if (buf_add(&w->tx, &w->tx_len, &w->tx_cap, 512, p, n) != 0) {
		w->nomem = true;
		return -ENOMEM;
	}
	return 0;
}

/* Writes what waits: 0 when all went, -EAGAIN, -errno. */
static int
push(mq_ws *w)
{
	while (w->tx_off < w->tx_len) {
		ssize_t r = w->io.send(
		    w->io.arg, w->tx + w->tx_off, w->tx_len - w->tx_off);

		if (r < 0)
			return (int) r;
		w->tx_off += (size_t) r;
	}
	/* drained: idle connections hold no buffer */
	free(w->tx);
	w->tx = NULL;
	w->tx_len = w->tx_off = w->tx_cap = 0;
	return 0;
}

/* ---- wslay callbacks ---- */

static ssize_t
ev_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags,
    void *user)
{
	mq_ws *w = user;
	size_t n = w->in_len - w->in_off;

	(void) flags;
	if (n == 0) {
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	if (n > len)
		n = len;
	memcpy(buf, w->in + w->in_off, n);
	w->in_off += n;
	return (ssize_t) n;
}

static ssize_t
ev_send(wslay_event_context_ptr ctx, const uint8_t *data, size_t len,
    int flags, void *user)
{
	(void) flags;
	if (tx_add(user, data, len) != 0) {
		wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
		return -1;
	}
	return (ssize_t) len;
}

static void
ev_frame_start(wslay_event_context_ptr                ctx,
    const struct wslay_event_on_frame_recv_start_arg *arg, void *user)
{
	mq_ws            *w = user;
	static const char why[] = "binary frames only";

	w->op = arg->opcode;
	if (arg->opcode == WSLAY_TEXT_FRAME && !w->text) {
		w->text = true;
		wslay_event_queue_close(ctx, WSLAY_CODE_UNSUPPORTED_DATA,
		    (const uint8_t *) why, sizeof(why) - 1);
		wslay_event_shutdown_read(ctx);
	}
}

static void
ev_frame_chunk(wslay_event_context_ptr                ctx,
    const struct wslay_event_on_frame_recv_chunk_arg *arg, void *user)
{
	mq_ws *w = user;

	(void) ctx;
	/* Continuations follow a binary start (a text start is refused). */
	if (!w->text
	    && (w->op == WSLAY_BINARY_FRAME
	        || w->op == WSLAY_CONTINUATION_FRAME)
	    && arg->data_length > 0)
		w->io.deliver(w->io.arg, arg->data, arg->data_length);
}

static ssize_t
fo_send(const uint8_t *data, size_t len, int flags, void *user)
{
	(void) flags;
	return tx_add(user, data, len) == 0 ? (ssize_t) len
	                                    : WSLAY_ERR_CALLBACK_FAILURE;
}

static ssize_t
fo_recv(uint8_t *buf, size_t len, int flags, void *user)
{
	(void) buf;
	(void) len;
	(void) flags;
	(void) user;
	return WSLAY_ERR_WANT_READ; /* output only */
}

int
mq_ws_new(mq_ws **out, const struct mq_ws_http_cfg *cfg, uint64_t max_frame,
    const struct mq_ws_io *io)
{
	struct wslay_event_callbacks ecb = {
		.recv_callback = ev_recv,
		.send_callback = ev_send,
		.on_frame_recv_start_callback = ev_frame_start,
		.on_frame_recv_chunk_callback = ev_frame_chunk,
	};
	struct wslay_frame_callbacks fcb = {
		.send_callback = fo_send,
		.recv_callback = fo_recv,
	};
	mq_ws *w = calloc(1, sizeof(*w));

	*out = NULL;
	if (w == NULL)
		return -ENOMEM;
	w->io = *io;
	w->cfg = *cfg;
	if (wslay_event_context_server_init(&w->ev, &ecb, w) != 0) {
		free(w);
		return -ENOMEM;
	}
	if (wslay_frame_context_init(&w->fo, &fcb, w) != 0) {
		wslay_event_context_free(w->ev);
		free(w);
		return -ENOMEM;
	}
	wslay_event_config_set_no_buffering(w->ev, 1);
	/* with no_buffering wslay checks each frame's length, from its
	 * header, before a byte of payload */
	wslay_event_config_set_max_recv_msg_length(w->ev, max_frame);
	*out = w;
	return 0;
}

void
mq_ws_free(mq_ws **wp)
{
	mq_ws *w = *wp;

	if (w == NULL)
		return;
	wslay_event_context_free(w->ev);
	wslay_frame_context_free(w->fo);
	free(w->head);
	free(w->tx);
	free(w);
	*wp = NULL;
}

/* Frames from the client. */
static int
feed(mq_ws *w, const uint8_t *p, size_t n, const char **why)
{
	int r;

	if (n == 0)
		return 0;
	w->in = p;
	w->in_len = n;
	w->in_off = 0;
	r = wslay_event_recv(w->ev);
	w->in = NULL;
	w->in_len = w->in_off = 0;
	/* Answers (pong, close) are queued in wslay: into tx with them. */
	if (wslay_event_want_write(w->ev) && wslay_event_send(w->ev) != 0)
		r = -1;
	if (r != 0 || w->nomem) {
		*why = w->nomem ? "out of memory" : "broken frame";
		return w->nomem ? -ENOMEM : -EPROTO;
	}
	if (!wslay_event_get_read_enabled(w->ev)) {
		if (w->text) {
			*why = "text frame";
			return -EPROTO;
		}
		if (wslay_event_get_close_received(w->ev)) {
			*why = "WebSocket closed by the client";
			return -EPIPE;
		}
		/* wslay refused a frame and queued the close saying why */
		*why = wslay_event_get_status_code_sent(w->ev)
		        == WSLAY_CODE_MESSAGE_TOO_BIG
		    ? "frame too large"
		    : "WebSocket protocol error";
		return -EPROTO;
	}
	return 0;
}

static int
upgrade(mq_ws *w, const uint8_t *p, size_t n, const char **why)
{
	struct mq_ws_http_req req;
	char                  ans[512];
	size_t                take = MQ_WS_HTTP_MAX - w->head_len, alen;
	int                   r;

	if (take > n)
		take = n;
	if (buf_add(&w->head, &w->head_len, &w->head_cap, 1024, p, take)
	    != 0) {
		*why = "out of memory";
		return -ENOMEM;
	}
	r = mq_ws_http_parse(w->head, w->head_len, &w->cfg, &req);
	if (r == 0)
		return 0;
	alen = mq_ws_http_answer(&req, ans, sizeof(ans));
	if (tx_add(w, (const uint8_t *) ans, alen) != 0) {
		*why = "out of memory";
		return -ENOMEM;
	}
	if (r < 0) {
		w->state = WS_REFUSED;
		*why = req.why;
		return -EPROTO;
	}
	w->state = WS_OPEN;
	/* Frames the client sent right behind its request. */
	r = feed(w, w->head + r, w->head_len - (size_t) r, why);
	free(w->head);
	w->head = NULL;
	w->head_len = w->head_cap = 0;
	if (r == 0)
		r = feed(w, p + take, n - take, why);
	return r;
}

int
mq_ws_input(mq_ws *w, const uint8_t *p, size_t n, const char **why)
{
	const char *dummy;

	if (why == NULL)
		why = &dummy;
	if (w->state == WS_HTTP)
		return upgrade(w, p, n, why);
	if (w->state == WS_OPEN)
		return feed(w, p, n, why);
	*why = "refused";
	return -EPROTO;
}

ssize_t
mq_ws_output(mq_ws *w, const uint8_t *p, size_t n)
{
	int r = push(w);

	if (r == -EAGAIN)
		return n > 0 ? -EAGAIN : 0;
	if (r < 0)
		return r;
	if (w->state != WS_OPEN)
		return (ssize_t) n; /* nobody to frame it for */
	if (wslay_event_want_write(w->ev) && wslay_event_send(w->ev) != 0)
		return -EPROTO;
	if (n > 0) {
		struct wslay_frame_iocb f = {
			.fin = 1,
			.opcode = WSLAY_BINARY_FRAME,
			.payload_length = n,
			.data = p,
			.data_length = n,
		};

		if (wslay_frame_send(w->fo, &f) != (ssize_t) n || w->nomem)
			return -ENOMEM;
	}
	r = push(w);
	if (r < 0 && r != -EAGAIN)
		return r;
	return (ssize_t) n;
}

bool
mq_ws_want_out(const mq_ws *w)
{
	return w->tx_len > w->tx_off
	    || (w->state == WS_OPEN && wslay_event_want_write(w->ev));
}

bool
mq_ws_open(const mq_ws *w)
{
	return w->state == WS_OPEN;
}

void
mq_ws_close(mq_ws *w, uint16_t code, const char *reason)
{
	if (w->state == WS_OPEN) {
		/* after a close was queued or sent wslay says NO_MORE_MSG */
		wslay_event_queue_close(w->ev, code, (const uint8_t *) reason,
		    reason ? strlen(reason) : 0);
		if (wslay_event_want_write(w->ev))
			wslay_event_send(w->ev);
	}
	push(w);
}
