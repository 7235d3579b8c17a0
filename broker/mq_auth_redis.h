/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mq_auth_redis: the mqttd_auth_redis plugin's backend.  EMQ 2.3's model:
 *
 *   auth_cmd   HMGET mqtt_user:%u password [salt]   the stored hash (and
 *              salt); nil: not this plugin's user
 *   super_cmd  HGET mqtt_user:%u is_superuser       "1" / "true": superuser
 *   acl_cmd    HGETALL mqtt_acl:%u                  topic -> 1 subscribe,
 *                                                   2 publish, 3 both
 *
 * Each command is split on spaces into arguments, and %u %c %a expand
 * inside one argument: a client's value is always one argument of its
 * own (redisAsyncCommandArgv), never command text, so a username like
 * "x \r\n FLUSHALL" is just a key that does not exist.
 *
 * One hiredis async connection on the broker's loop, pipelined: Redis
 * runs commands one at a time on one thread, so a pool would add sockets,
 * not answers.  The three commands of a CONNECT go out together (one
 * round trip).  A request that outlives timeout_ms is answered with the
 * failure outcome and the connection is dropped and made again (with
 * backoff: 100 ms doubling to 5 s); while it is down, requests are
 * answered at once with the outcome.  At most max_pending requests are
 * in flight; more are answered with the outcome.
 *
 * Errors: int functions return 0 or -errno; the failure is logged once.
 */
#ifndef MQ_AUTH_REDIS_H
#define MQ_AUTH_REDIS_H

#include "broker/mq_backend.h"

typedef struct mq_auth_redis mq_auth_redis;

struct mq_auth_redis_config {
	int         plugin; /* its id (mq_plugins.h), for the ACL */
	const char *server; /* "HOST:PORT" (an IP address) or a socket path */
	const char *password; /* AUTH on connect; NULL: none */
	unsigned    database; /* SELECT on connect when not 0 */
	const char *auth_cmd; /* NULL: EMQ's defaults; "": not sent */
	const char *super_cmd;
	const char *acl_cmd;
	const char *password_hash; /* mq_pwhash.h; NULL: plain */
	unsigned    timeout_ms;    /* 0: 5000 */
	const char *on_error;      /* "deny" (NULL) or "ignore" */
	const char *acl_nomatch;   /* "deny" (NULL) or "allow" */
	unsigned    max_pending;   /* 0: 4096 */
};

/* Checks the settings; connects on the first query. */
int mq_auth_redis_new(mq_auth_redis **out, const struct mq_loop *loop,
    const struct mq_auth_redis_config *cfg);
/* Drops the connection; no callback runs from here on. */
void mq_auth_redis_free(mq_auth_redis **r);

/*
 * Asks about who: 0 and *req, cb(arg, answer) to come from the loop; or
 * 1 and the answer in *now (the backend is down, or full).
 */
int mq_auth_redis_query(mq_auth_redis *r, const struct mq_who *who,
    mq_db_cb cb, void *arg, void **req, struct mq_db_answer *now);
/* Its asker is gone: cb will not run. */
void mq_auth_redis_cancel(mq_auth_redis *r, void *req);

#endif
