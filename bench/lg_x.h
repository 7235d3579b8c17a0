/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * lg_x: the load generator's transports under MQTT: plain TCP (no
 * object: the generator reads and writes the socket itself), TLS
 * (OpenSSL, no certificate check, no session reuse: every connection is
 * a full ECDHE handshake), WebSocket (hand-made client framing: one
 * masked binary frame per flush, the server's frames unwrapped as they
 * stream in) and WebSocket over TLS.  Calls follow read(2)/write(2):
 * -1 with errno EAGAIN when the socket has nothing / no room.
 */
#ifndef LG_X_H
#define LG_X_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum lg_x_mode { LG_TCP, LG_TLS, LG_WS, LG_WSS };

/* "tcp", "tls", "ws", "wss"; -1 if none. */
int lg_x_mode_parse(const char *s);
/* Once per process (TLS context). */
void lg_x_init(int mode, const char *ws_path);

struct lg_x;
/* NULL for LG_TCP. */
struct lg_x *lg_x_new(int mode, int fd);
void         lg_x_free(struct lg_x *x);

/* Handshake / upgrade: 1 done, 0 under way (*want_out: wait for
 * EPOLLOUT too), -1 failed (message on stderr). */
int lg_x_start(struct lg_x *x, bool *want_out);

/* MQTT bytes in: > 0, 0 at the end, -1 (errno). */
ssize_t lg_x_read(struct lg_x *x, uint8_t *buf, size_t cap);
/* MQTT bytes out: taken (all of them for WebSocket, framed), -1 (errno). */
ssize_t lg_x_write(struct lg_x *x, const uint8_t *p, size_t n);
/* Bytes held here: more to read without a readable event, or framed
 * output still waiting for the socket. */
bool lg_x_pending_in(const struct lg_x *x);
bool lg_x_pending_out(const struct lg_x *x);

#endif
