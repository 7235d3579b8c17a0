/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mq_transport: a connection's stream (the socket, or TLS over it) and,
 * on it, either MQTT directly or WebSocket frames.  The byte counters
 * count socket bytes, as for TCP (TLS: what the socket BIO moved).
 */
#include "config.h"

#include "broker/mq_transport.h"

#include "broker/mq_int.h"
#include "broker/mq_tls.h"
#include "broker/mq_ws.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct mq_xport {
	mq_conn    *c;
	int         fd;
	mq_tls     *tls; /* NULL: the socket itself */
	mq_ws      *ws;  /* NULL: MQTT straight on the stream */
	const char *why;
};

static void
count_tls(mq_xport *x)
{
	uint64_t rx, tx;

	mq_tls_bytes(x->tls, &rx, &tx);
	x->c->b->metrics[SHM_M_BYTES_RECEIVED] += rx;
	x->c->b->metrics[SHM_M_BYTES_SENT] += tx;
}

/* The stream: > 0 bytes, -EAGAIN, -EPIPE at its end, -errno. */
static ssize_t
stream_read(mq_xport *x, uint8_t *buf, size_t n)
{
	ssize_t r;

	if (x->tls != NULL) {
		r = mq_tls_read(x->tls, buf, n);
		count_tls(x);
		if (r == -EPROTO || r == -EPIPE)
			x->why = mq_tls_error(x->tls);
		return r;
	}
	r = read(x->fd, buf, n);
	if (r > 0) {
		x->c->b->metrics[SHM_M_BYTES_RECEIVED] += (uint64_t) r;
		return r;
	}
	if (r == 0) {
		x->why = "connection closed";
		return -EPIPE;
	}
	return errno == EINTR ? -EAGAIN : -errno;
}

static ssize_t
stream_write(void *arg, const uint8_t *p, size_t n)
{
	mq_xport *x = arg;
	ssize_t   r;

	if (x->tls != NULL) {
		r = mq_tls_write(x->tls, p, n);
		count_tls(x);
		if (r == -EPROTO)
			x->why = mq_tls_error(x->tls);
		return r;
	}
	if (n == 0)
		return 0;
	r = write(x->fd, p, n);
	if (r >= 0) {
		x->c->b->metrics[SHM_M_BYTES_SENT] += (uint64_t) r;
		return r;
	}
	return errno == EINTR ? -EAGAIN : -errno;
}

/*
 * MQTT bytes up to the connection.  One read may carry packets behind a
 * CONNECT whose password check went to the auth threads: those wait in
 * c->in, unparsed, as they would in the kernel for a TCP connection.
 */
static void
deliver(void *arg, const uint8_t *p, size_t n)
{
	mq_xport      *x = arg;
	mq_conn       *c = x->c;
	struct mq_buf *in = &c->in;

	if (c->state == MQ_CS_CLOSING)
		return;
	if (c->state != MQ_CS_AUTH) {
		mq__conn_bytes(c, p, n);
		return;
	}
	if (in->cap - in->len < n) {
		uint8_t *q = realloc(in->p, (size_t) in->len + n);

		if (q == NULL) {
			mq__conn_close(c, SHM_SHUT_ERROR);
			return;
		}
		in->p = q;
		in->cap = in->len + (uint32_t) n;
	}
	memcpy(in->p + in->len, p, n);
	in->len += (uint32_t) n;
}

int
mq_xport_new(
    mq_xport **out, mq_conn *c, int fd, const struct mq_xport_cfg *cfg)
{
	mq_xport *x = calloc(1, sizeof(*x));
	int       rc = 0;

	*out = NULL;
	if (x == NULL)
		return -ENOMEM;
	x->c = c;
	x->fd = fd;
	if (cfg->tls != NULL)
		rc = mq_tls_new(&x->tls, cfg->tls, fd);
	if (rc == 0 && cfg->ws != NULL) {
		struct mq_ws_io io = { stream_write, deliver, x };

		rc = mq_ws_new(&x->ws, cfg->ws, cfg->max_frame, &io);
	}
	if (rc != 0) {
		mq_xport_free(&x);
		return rc;
	}
	*out = x;
	return 0;
}

void
mq_xport_free(mq_xport **xp)
{
	mq_xport *x = *xp;

	if (x == NULL)
		return;
	mq_ws_free(&x->ws);
	mq_tls_free(&x->tls);
	free(x);
	*xp = NULL;
}

int
mq_xport_read(mq_xport *x, uint8_t *buf, size_t cap)
{
	mq_conn *c = x->c;

	/* TLS may hold decrypted bytes beyond what fits: a few more rounds
	 * take them (the socket itself waits for the next event). */
	for (int round = 0; round < 8; round++) {
		ssize_t n = stream_read(x, buf, cap);

		if (n == -EAGAIN)
			break;
		if (n < 0)
			return (int) n;
		c->last_rx = mq_now_ms();
		if (x->ws != NULL) {
			int rc = mq_ws_input(x->ws, buf, (size_t) n, &x->why);

			if (rc < 0)
				return rc;
		} else {
			deliver(x, buf, (size_t) n);
		}
		if (c->state == MQ_CS_CLOSING || x->tls == NULL
		    || !mq_tls_pending(x->tls))
			break;
	}
	return 0;
}

ssize_t
mq_xport_write(mq_xport *x, const uint8_t *p, size_t n)
{
	if (x->ws != NULL)
		return mq_ws_output(x->ws, p, n);
	return stream_write(x, p, n);
}

bool
mq_xport_want_out(const mq_xport *x)
{
	return (x->tls != NULL && mq_tls_want_write(x->tls))
	    || (x->ws != NULL && mq_ws_want_out(x->ws));
}

void
mq_xport_bye(mq_xport *x, uint16_t ws_code, const char *reason)
{
	if (x->ws != NULL)
		mq_ws_close(x->ws, ws_code, reason);
	if (x->tls != NULL) {
		mq_tls_shutdown(x->tls);
		count_tls(x);
	}
}

const char *
mq_xport_error(const mq_xport *x)
{
	return x->why ? x->why : "transport error";
}

const char *
mq_xport_identity(const mq_xport *x)
{
	return x->tls != NULL && mq_tls_ready(x->tls) ? mq_tls_identity(x->tls)
	                                              : NULL;
}
