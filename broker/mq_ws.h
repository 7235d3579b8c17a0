/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mq_ws: MQTT over WebSocket (RFC 6455), server side, on libwslay.
 *
 * wslay does no I/O: bytes the connection read are pushed in with
 * mq_ws_input (first the HTTP Upgrade, parsed by mq_ws_http, then
 * frames), and the payload of binary frames comes out through
 * io->deliver as a plain byte stream, so an MQTT packet may span frames
 * and a frame may hold several packets.  Output: each mq_ws_output call
 * (one per flush of the batched output buffer) is one binary frame.
 * Text frames are refused (close 1003), frames over max_frame too (1009,
 * checked from the frame header, before any payload is kept), unmasked
 * ones (1002); pings are answered, a close is answered and ends input.
 *
 * Everything this layer has to say (the 101 or the refusal, frames,
 * pongs, closes) waits in its own buffer for io->send; mq_ws_want_out()
 * says whether some does.
 */
#ifndef MQ_WS_H
#define MQ_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "broker/mq_ws_http.h"

typedef struct mq_ws mq_ws;

struct mq_ws_io {
	/* the layer below (socket or TLS): bytes taken, -EAGAIN, -errno */
	ssize_t (*send)(void *arg, const uint8_t *p, size_t n);
	/* MQTT bytes, in order */
	void (*deliver)(void *arg, const uint8_t *p, size_t n);
	void *arg;
};

/* cfg's strings must outlive w. */
int  mq_ws_new(mq_ws **out, const struct mq_ws_http_cfg *cfg,
     uint64_t max_frame, const struct mq_ws_io *io);
void mq_ws_free(mq_ws **w);

/*
 * Bytes from the client.  0: go on; -EPROTO: refused (a bad upgrade: its
 * HTTP answer waits; a bad frame: its close waits) and the connection
 * must end; -EPIPE: the client closed (the answer waits); -ENOMEM.
 * why (may be NULL) gets the reason in words.
 */
int mq_ws_input(mq_ws *w, const uint8_t *p, size_t n, const char **why);

/*
 * Sends what waits, then frames p[0..n) (n may be 0) as one binary
 * message: n when taken (some may still wait for the socket),
 * -EAGAIN when earlier bytes still wait (nothing taken), -errno.
 */
ssize_t mq_ws_output(mq_ws *w, const uint8_t *p, size_t n);

bool mq_ws_want_out(const mq_ws *w);
/* The upgrade is done (frames flow). */
bool mq_ws_open(const mq_ws *w);

/* Queues a close frame with code (once) and tries to send what waits. */
void mq_ws_close(mq_ws *w, uint16_t code, const char *reason);

#endif
