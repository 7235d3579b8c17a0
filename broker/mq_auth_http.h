/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mq_auth_http: the mqttd_auth_http plugin, EMQ 2.3's emq_auth_http.
 * Three requests, each a URL, a method (GET: the params in the query
 * string, POST: as an application/x-www-form-urlencoded body) and params
 * "name=%x,name2=%y" where %u username, %c client id, %P password, %a
 * the client's address, %p the listener's port, %A access (1 subscribe,
 * 2 publish) and %t topic are replaced (percent-encoded: a value never
 * changes the request's shape):
 *
 *   auth_req   at CONNECT: 200 allow (and then super_req), 4xx refuse
 *              (CONNACK 4), 200 with the body "ignore": the next plugin
 *   super_req  200: a superuser (no ACL checks), anything else: not
 *   acl_req    per PUBLISH topic / SUBSCRIBE filter: 200 allow, 4xx
 *              deny, 200 "ignore": the next ACL plugin
 *
 * Another status, no answer or a timeout is a failing backend: the
 * configured outcome (deny, or ignore), logged once per interval.
 * Answers are kept for cache_ttl seconds (keyed by a SHA-256 of what was
 * asked, never the password itself); a failure is not cached.
 *
 * Requests go through mq_http on the broker's loop, at most
 * max_requests at once.  A CONNECT waiting for auth_req is parked by
 * mq_dbauth like a database plugin's; a PUBLISH / SUBSCRIBE waiting for
 * acl_req stops that client's input until the answer is in
 * (mq__http_acl_wait), so its packets are never reordered.
 *
 * Errors: int functions return 0 or -errno; the failure is logged once.
 */
#ifndef MQ_AUTH_HTTP_H
#define MQ_AUTH_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "broker/mq_backend.h"

typedef struct mq_auth_http mq_auth_http;

struct mq_auth_http_config {
	int         plugin; /* MQ_PLUGIN_AUTH_HTTP */
	const char *auth_req, *auth_method, *auth_params;
	const char *super_req, *super_method, *super_params;
	const char *acl_req, *acl_method, *acl_params;
	uint32_t    timeout_ms;   /* 0: 5000 */
	uint32_t    max_requests; /* at once, 0: 64 */
	uint32_t    cache_ttl_s;  /* 0: no cache */
	const char *cafile;       /* HTTPS CAs, NULL: the system's */
	const char *on_error;     /* "deny" (NULL) or "ignore" */
};

/* -EINVAL (logged) for a bad method, params or on_error. */
int  mq_auth_http_new(mq_auth_http **out, const struct mq_loop *loop,
     const struct mq_auth_http_config *cfg);
void mq_auth_http_free(mq_auth_http **a);

/* mq_dbauth's backend contract (mq_backend.h): 0 and cb later, or
 * non-zero with the answer in *now (a cache hit, no auth_req). */
int  mq_auth_http_query(mq_auth_http *a, const struct mq_who *who, mq_db_cb cb,
     void *arg, void **req, struct mq_db_answer *now);
void mq_auth_http_cancel(mq_auth_http *a, void *req);

/* Requests answered by the server / served from the cache (for tests
 * and the log). */
uint64_t mq_auth_http_requests(const mq_auth_http *a);
uint64_t mq_auth_http_cache_hits(const mq_auth_http *a);

/* ---- the broker's side (mq_int.h types) ---- */
struct mq_broker;
struct mq_conn;

/* Makes b's plugin from its configuration (none without auth_req /
 * acl_req); the backend for mq_dbauth, when there is one. */
int  mq__auth_http_open(struct mq_broker *b, mq_auth_http **out);
void mq__auth_http_close(struct mq_broker *b);

/*
 * The ACL verdict of acl_req for c on topic from the cache: 1 allow, 0
 * deny, -1 not this plugin's (off, no acl_req, "ignore") and -2 not
 * known yet.
 */
int mq__http_acl(struct mq_broker *b, struct mq_conn *c, const char *topic,
    size_t len, bool publish);

/*
 * Before c's PUBLISH or SUBSCRIBE pkt is handled: true when acl_req must
 * be asked first (the questions are sent, c reads nothing more, and the
 * packet is handled again from c->in when every answer is in).
 */
struct mq_packet;
bool mq__http_acl_wait(struct mq_conn *c, const struct mq_packet *pkt);
/* Drops c's questions (the connection is going away). */
void mq__http_acl_cancel(struct mq_conn *c);

#endif
