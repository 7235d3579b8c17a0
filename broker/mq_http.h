/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mq_http: HTTP(S) requests on the broker's event loop, through libcurl's
 * multi interface.  curl tells which sockets it wants watched
 * (CURLMOPT_SOCKETFUNCTION: they go into the broker's epoll set as
 * mq_watch tags) and when it next needs the clock (CURLMOPT_TIMERFUNCTION:
 * one mq_timer); the loop hands every event back with
 * curl_multi_socket_action.  Nothing here blocks: name resolution runs
 * on curl's own resolver thread, connects and TLS handshakes are
 * non-blocking.
 *
 * Bounded: at most max_active requests are in curl at once, up to
 * max_queue more wait in order behind them; past that a request is
 * refused (-EBUSY) at once.  Every request has a deadline (timeout_ms,
 * connect included).  HTTPS verifies the peer and its name against the
 * system CAs, or cafile when set.
 *
 * Callbacks: cb runs from the loop (a socket event or the timer), never
 * from inside mq_http_request, exactly once per request unless the
 * request was cancelled first.  It may start or cancel other requests.
 *
 * Errors: int functions return 0 or -errno; a failing transfer reaches
 * cb as status -EIO (refused, reset, TLS) or -ETIMEDOUT.
 */
#ifndef MQ_HTTP_H
#define MQ_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "broker/mq_backend.h"

typedef struct mq_http     mq_http;
typedef struct mq_http_req mq_http_req;

struct mq_http_config {
	unsigned    max_active; /* requests in curl at once (0: 32) */
	unsigned    max_queue;  /* waiting behind them (0: 1024) */
	uint32_t    timeout_ms; /* per request (0: 5000) */
	const char *cafile;     /* NULL: the system's CAs */
};

/* The body of an answer is cut at this many bytes. */
#define MQ_HTTP_BODY_MAX 4096

/* status: the HTTP status, or -errno when there was no answer. */
typedef void (*mq_http_cb)(
    void *arg, int status, const char *body, size_t body_len);

int mq_http_new(mq_http **out, const struct mq_loop *loop,
    const struct mq_http_config *cfg);
/* Drops every request (their callbacks are not called). */
void mq_http_free(mq_http **h);

/*
 * GET url (body NULL) or POST body with content type ctype.  *out, when
 * out is not NULL, is the handle for mq_http_cancel, valid until cb
 * runs.  -EBUSY when the queue is full, -ENOMEM, -EINVAL.
 */
int  mq_http_request(mq_http *h, const char *url, const char *ctype,
     const char *body, size_t body_len, mq_http_cb cb, void *arg,
     mq_http_req **out);
void mq_http_cancel(mq_http *h, mq_http_req *r);

/* Requests in curl now, and waiting behind them. */
unsigned mq_http_active(const mq_http *h);
unsigned mq_http_waiting(const mq_http *h);

/* s[0..n) percent-encoded for a query string or form body, appended at
 * *p (which must have room for 3n bytes); returns the new end. */
char *mq_http_urlencode(char *p, const char *s, size_t n);

#endif
