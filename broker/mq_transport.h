/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mq_transport: the layers between a connection's socket and the MQTT
 * codec for listeners other than plain TCP: TLS (mqtt:ssl), WebSocket
 * (mqtt:ws), or WebSocket over TLS (mqtt:wss).
 *
 * A plain TCP connection has no transport (mq_conn.x == NULL) and mq_net
 * reads and writes its socket directly, exactly as before: the seam costs
 * it one pointer test per read and per flush.  Other connections go
 * through the three operations below, once per readable event and once
 * per flush of the batched output buffer, as TCP does.
 *
 * Errors: 0 / a count, or -errno: -EPIPE the peer closed, -EPROTO it
 * broke the protocol (TLS handshake, HTTP upgrade, WebSocket frame);
 * mq_xport_error() says why.
 */
#ifndef MQ_TRANSPORT_H
#define MQ_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct mq_conn;
struct mq_tls_ctx;
struct mq_ws_http_cfg;

typedef struct mq_xport mq_xport;

/* What a listener puts under its connections. */
struct mq_xport_cfg {
	struct mq_tls_ctx           *tls; /* NULL: no TLS */
	const struct mq_ws_http_cfg *ws;  /* NULL: no WebSocket */
	uint64_t                     max_frame;
};

int mq_xport_new(
    mq_xport **out, struct mq_conn *c, int fd, const struct mq_xport_cfg *cfg);
void mq_xport_free(mq_xport **x);

/*
 * read: the socket is readable.  Reads (up to cap bytes of buf per
 * round, more rounds only for what TLS already decrypted) and hands the
 * MQTT bytes to the connection.  0, or -errno: end the connection.
 */
int mq_xport_read(mq_xport *x, uint8_t *buf, size_t cap);

/*
 * write: sends up to n bytes of MQTT output (n may be 0: only what the
 * transport itself has to say: handshake, pong, close).  Bytes taken,
 * -EAGAIN when the socket is full (arm EPOLLOUT), -errno.
 */
ssize_t mq_xport_write(mq_xport *x, const uint8_t *p, size_t n);

/* flush: the transport has bytes of its own waiting for the socket. */
bool mq_xport_want_out(const mq_xport *x);

/* Last words before close(2), never waiting: the WebSocket close frame
 * with ws_code, TLS close_notify. */
void mq_xport_bye(mq_xport *x, uint16_t ws_code, const char *reason);

const char *mq_xport_error(const mq_xport *x);
/* The TLS client certificate's CN (use_identity_as_username), or NULL. */
const char *mq_xport_identity(const mq_xport *x);

#endif
