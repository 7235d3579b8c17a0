/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mq_ws_http: the HTTP/1.1 Upgrade request that opens a WebSocket
 * (RFC 6455 4.2.1), parsed strictly and without I/O or allocation: a
 * request line "GET <path> HTTP/1.1", at most MQ_WS_HTTP_MAX bytes of
 * head, at most 64 header lines, no folding, no body, Host, an Upgrade
 * list holding "websocket", a Connection list holding "upgrade",
 * Sec-WebSocket-Version 13, a Sec-WebSocket-Key of 16 bytes, and, when
 * the client offers sub-protocols, one of "mqtt" / "mqttv3.1" (the
 * first the client offers is the answer).  An Origin allow-list, when
 * configured, must hold the request's Origin.
 */
#ifndef MQ_WS_HTTP_H
#define MQ_WS_HTTP_H

#include <stddef.h>
#include <stdint.h>

#define MQ_WS_HTTP_MAX 8192

struct mq_ws_http_cfg {
	const char *path;    /* the one path served, e.g. "/mqtt" */
	const char *origins; /* "https://a,https://b"; NULL: any Origin */
};

struct mq_ws_http_req {
	int         status;      /* 101, or the refusal: 400, 403, 404, 426 */
	const char *why;         /* the refusal in words (static) */
	const char *subprotocol; /* "mqtt", "mqttv3.1", NULL: none asked */
	char        accept[32];  /* Sec-WebSocket-Accept (NUL-terminated) */
};

/*
 * Parses buf[0..len), what the client has sent so far.  Returns the
 * length of the request head (> 0, the bytes after it are WebSocket
 * frames) when it is complete and acceptable (req->status 101); 0 when
 * more bytes are needed; -EINVAL when refused (req->status and why say
 * how), possibly before the head is complete (a byte no request may
 * hold, a head past MQ_WS_HTTP_MAX).
 */
int mq_ws_http_parse(const uint8_t *buf, size_t len,
    const struct mq_ws_http_cfg *cfg, struct mq_ws_http_req *req);

/* Writes the answer to req (101, or the refusal with
 * "Connection: close") into out; returns its length (< cap). */
size_t mq_ws_http_answer(
    const struct mq_ws_http_req *req, char *out, size_t cap);

#endif
