/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * lg_x: TLS and WebSocket under the load generator's MQTT (see lg_x.h).
 * The generator must cost little next to the broker: the WebSocket mask
 * is applied eight bytes at a time, and TLS reads ahead.
 */
#include "config.h"

#include "bench/lg_x.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define RAW_CAP (256 * 1024)

struct lg_x {
	int      mode, fd;
	SSL     *ssl;
	bool     tls_done, ws_sent, ws_done;
	uint8_t *raw; /* WebSocket bytes read, not yet unwrapped */
	size_t   raw_off, raw_len;
	uint64_t frame_left; /* payload bytes of the current frame */
	bool     frame_data; /* it is a data frame (else skipped) */
	uint8_t *wire;       /* framed output not yet written */
	size_t   wire_off, wire_len, wire_cap;
};

static SSL_CTX    *ctx;
static const char *path = "/mqtt";

int
lg_x_mode_parse(const char *s)
{
	static const char *const names[] = { "tcp", "tls", "ws", "wss" };

	for (int i = 0; i < 4; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	return -1;
}

void
lg_x_init(int mode, const char *ws_path)
{
	static const unsigned char alpn[] = "\x04mqtt";

	if (ws_path != NULL)
		path = ws_path;
	if (mode != LG_TLS && mode != LG_WSS)
		return;
	ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL) {
		fprintf(stderr, "loadgen: FAIL: SSL_CTX_new\n");
		exit(1);
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	/* every connection pays a full handshake */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_mode(ctx,
	    SSL_MODE_ENABLE_PARTIAL_WRITE
	        | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_read_ahead(ctx, 1);
	if (mode == LG_TLS)
		SSL_CTX_set_alpn_protos(ctx, alpn, sizeof(alpn) - 1);
}

struct lg_x *
lg_x_new(int mode, int fd)
{
	struct lg_x *x;

	if (mode == LG_TCP)
		return NULL;
	x = calloc(1, sizeof(*x));
	if (x == NULL)
		return NULL;
	x->mode = mode;
	x->fd = fd;
	if (mode == LG_TLS || mode == LG_WSS) {
		x->ssl = SSL_new(ctx);
		SSL_set_fd(x->ssl, fd);
		SSL_set_connect_state(x->ssl);
	} else {
		x->tls_done = true;
	}
	if (mode == LG_WS || mode == LG_WSS)
		x->raw = malloc(RAW_CAP);
	else
		x->ws_done = true;
	return x;
}

void
lg_x_free(struct lg_x *x)
{
	if (x == NULL)
		return;
	SSL_free(x->ssl);
	free(x->raw);
	free(x->wire);
	free(x);
}

/* The stream under WebSocket / MQTT. */
static ssize_t
s_err(struct lg_x *x, int r)
{
	int e = SSL_get_error(x->ssl, r);

	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		errno = EAGAIN;
		return -1;
	}
	if (e == SSL_ERROR_ZERO_RETURN)
		return 0;
	if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)
		return errno ? -1 : 0;
	ERR_print_errors_fp(stderr);
	errno = EPROTO;
	return -1;
}

static ssize_t
s_read(struct lg_x *x, void *buf, size_t n)
{
	int r;

	if (x->ssl == NULL)
		return read(x->fd, buf, n);
	errno = 0;
	r = SSL_read(x->ssl, buf, (int) n);
	return r > 0 ? r : s_err(x, r);
}

static ssize_t
s_write(struct lg_x *x, const void *p, size_t n)
{
	int r;

	if (x->ssl == NULL)
		return write(x->fd, p, n);
	errno = 0;
	r = SSL_write(x->ssl, p, (int) n);
	return r > 0 ? r : s_err(x, r);
}

static void
wire_add(struct lg_x *x, const void *p, size_t n)
{
	if (x->wire_off == x->wire_len)
		x->wire_off = x->wire_len = 0;
	if (x->wire_len + n > x->wire_cap) {
		size_t c = x->wire_cap ? x->wire_cap : 4096;

		while (c < x->wire_len + n)
			c *= 2;
		x->wire = realloc(x->wire, c);
		if (x->wire == NULL) {
			fprintf(stderr, "loadgen: FAIL: out of memory\n");
			exit(1);
		}
		x->wire_cap = c;
	}
	if (p != NULL)
		memcpy(x->wire + x->wire_len, p, n);
	x->wire_len += n;
}

/* 0 when the framed output is all out, -1 (errno) otherwise. */
static int
wire_flush(struct lg_x *x)
{
	while (x->wire_off < x->wire_len) {
		ssize_t r = s_write(
		    x, x->wire + x->wire_off, x->wire_len - x->wire_off);

		if (r <= 0)
			return -1;
		x->wire_off += (size_t) r;
	}
	return 0;
}

int
lg_x_start(struct lg_x *x, bool *want_out)
{
	*want_out = false;
	if (!x->tls_done) {
		int r = SSL_do_handshake(x->ssl);

		if (r != 1) {
			int e = SSL_get_error(x->ssl, r);

			if (e == SSL_ERROR_WANT_READ)
				return 0;
			if (e == SSL_ERROR_WANT_WRITE) {
				*want_out = true;
				return 0;
			}
			fprintf(stderr, "loadgen: TLS handshake failed\n");
			ERR_print_errors_fp(stderr);
			return -1;
		}
		x->tls_done = true;
	}
	if (!x->ws_done) {
		if (!x->ws_sent) {
			char req[512];
			int  n = snprintf(req, sizeof(req),
			     "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
			      "Upgrade: websocket\r\nConnection: Upgrade\r\n"
			      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
			      "Sec-WebSocket-Version: 13\r\n"
			      "Sec-WebSocket-Protocol: mqtt\r\n\r\n",
			     path);

			wire_add(x, req, (size_t) n);
			x->ws_sent = true;
		}
		if (wire_flush(x) < 0) {
			if (errno != EAGAIN)
				return -1;
			*want_out = true;
			return 0;
		}
		for (;;) {
			ssize_t r = s_read(
			    x, x->raw + x->raw_len, RAW_CAP - x->raw_len);
			uint8_t *end;

			if (r == 0 || (r < 0 && errno != EAGAIN)) {
				fprintf(stderr, "loadgen: upgrade failed\n");
				return -1;
			}
			if (r < 0)
				return 0;
			x->raw_len += (size_t) r;
			end = memmem(x->raw, x->raw_len, "\r\n\r\n", 4);
			if (end == NULL)
				continue;
			if (memcmp(x->raw, "HTTP/1.1 101 ", 13) != 0) {
				fprintf(stderr,
				    "loadgen: upgrade refused: %.*s\n",
				    (int) (end - x->raw), (char *) x->raw);
				return -1;
			}
			x->raw_off = (size_t) (end + 4 - x->raw);
			break;
		}
		x->ws_done = true;
	}
	return 1;
}

/* Unwraps what raw holds into buf: bytes copied. */
static size_t
unwrap(struct lg_x *x, uint8_t *buf, size_t cap)
{
	size_t out = 0;

	while (out < cap) {
		size_t avail = x->raw_len - x->raw_off;

		if (x->frame_left > 0) {
			size_t take
			    = avail < x->frame_left ? avail : x->frame_left;

			if (take > cap - out)
				take = cap - out;
			if (take == 0)
				break;
			if (x->frame_data)
				memcpy(buf + out, x->raw + x->raw_off, take);
			out += x->frame_data ? take : 0;
			x->raw_off += take;
			x->frame_left -= take;
			continue;
		}
		{
			const uint8_t *h = x->raw + x->raw_off;
			size_t         hl = 2;
			uint64_t       len;
			uint8_t        op;

			if (avail < 2)
				break;
			len = h[1] & 0x7f;
			if (len == 126)
				hl = 4;
			else if (len == 127)
				hl = 10;
			if (avail < hl)
				break;
			if (len == 126)
				len = (uint64_t) h[2] << 8 | h[3];
			else if (len == 127) {
				len = 0;
				for (int i = 0; i < 8; i++)
					len = len << 8 | h[2 + i];
			}
			op = h[0] & 0x0f;
			if (op == 8) {
				fprintf(stderr, "loadgen: WebSocket closed\n");
				x->raw_off = x->raw_len;
				return out;
			}
			x->frame_data = op == 0 || op == 2;
			x->frame_left = len;
			x->raw_off += hl;
		}
	}
	if (x->raw_off == x->raw_len)
		x->raw_off = x->raw_len = 0;
	else if (x->raw_off > RAW_CAP / 2) {
		memmove(x->raw, x->raw + x->raw_off, x->raw_len - x->raw_off);
		x->raw_len -= x->raw_off;
		x->raw_off = 0;
	}
	return out;
}

ssize_t
lg_x_read(struct lg_x *x, uint8_t *buf, size_t cap)
{
	ssize_t r;
	size_t  out;

	if (x->raw == NULL)
		return s_read(x, buf, cap);
	out = unwrap(x, buf, cap);
	if (out > 0)
		return (ssize_t) out;
	r = s_read(x, x->raw + x->raw_len, RAW_CAP - x->raw_len);
	if (r <= 0)
		return r;
	x->raw_len += (size_t) r;
	out = unwrap(x, buf, cap);
	if (out == 0) {
		errno = EAGAIN;
		return -1;
	}
	return (ssize_t) out;
}

ssize_t
lg_x_write(struct lg_x *x, const uint8_t *p, size_t n)
{
	uint8_t  hdr[14];
	size_t   hl = 2;
	uint8_t *d;
	/* a fixed key: the server's cost does not depend on it */
	static const uint8_t key[4] = { 0x5a, 0xc3, 0x3c, 0xa5 };
	uint64_t             k8;

	if (x->raw == NULL)
		return s_write(x, p, n);
	if (wire_flush(x) < 0)
		return -1;
	if (n == 0)
		return 0;
	hdr[0] = 0x82;
	if (n < 126) {
		hdr[1] = (uint8_t) (0x80 | n);
	} else if (n < 65536) {
		hdr[1] = 0x80 | 126;
		hdr[2] = (uint8_t) (n >> 8);
		hdr[3] = (uint8_t) n;
		hl = 4;
	} else {
		hdr[1] = 0x80 | 127;
		for (int i = 0; i < 8; i++)
			hdr[2 + i] = (uint8_t) ((uint64_t) n >> (56 - 8 * i));
		hl = 10;
	}
	memcpy(hdr + hl, key, 4);
	wire_add(x, hdr, hl + 4);
	wire_add(x, NULL, n);
	d = x->wire + x->wire_len - n;
	memcpy(&k8, key, 4);
	memcpy((uint8_t *) &k8 + 4, key, 4);
	{
		size_t i = 0;

		for (; i + 8 <= n; i += 8) {
			uint64_t v;

			memcpy(&v, p + i, 8);
			v ^= k8;
			memcpy(d + i, &v, 8);
		}
		for (; i < n; i++)
			d[i] = p[i] ^ key[i % 4];
	}
	if (wire_flush(x) < 0 && errno != EAGAIN)
		return -1;
	return (ssize_t) n;
}

bool
lg_x_pending_in(const struct lg_x *x)
{
	if (x->ssl != NULL && SSL_has_pending(x->ssl))
		return true;
	if (x->raw == NULL)
		return false;
	/* a whole frame header or data of the current frame is there */
	return x->raw_len - x->raw_off >= (x->frame_left > 0 ? 1u : 2u);
}

bool
lg_x_pending_out(const struct lg_x *x)
{
	return x->wire_off < x->wire_len;
}
