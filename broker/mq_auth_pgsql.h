/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mq_auth_pgsql: the mqttd_auth_pgsql plugin's backend.  EMQ 2.3's model
 * over its mqtt_user / mqtt_acl tables (README has the SQL):
 *
 *   auth_query   select password[, salt] from mqtt_user
 *                where username = '%u' limit 1     no row / NULL: not this
 *                                                  plugin's user
 *   super_query  select is_superuser from mqtt_user where username = '%u'
 *   acl_query    select allow, ipaddr, username, clientid, access, topic
 *                from mqtt_acl where ...            rows in order: the
 *                first whose who, access and topic match decides
 *
 * %u %c %a %P in a query (quoted '%u' or bare) become bound parameters
 * $1, $2, ... (PQsendQueryParams): a client's value is never SQL text,
 * so a username like "'; drop table mqtt_user;--" is just a name.
 *
 * A pool of `pool` libpq connections on the broker's loop
 * (PQconnectStart / PQconnectPoll, PQsendQueryParams, PQconsumeInput /
 * PQisBusy on PQsocket), one query at a time each; CONNECTs beyond them
 * wait in a bounded FIFO.  A request that outlives timeout_ms is answered
 * with the failure outcome, and its connection is closed and made again
 * (libpq's cancel is a blocking call).  A connection that fails is made
 * again with backoff (100 ms doubling to 5 s); while none is up,
 * requests are answered at once with the outcome.  Host names in the
 * connection string are resolved by libpq synchronously: give hostaddr=
 * or a socket directory.
 *
 * Errors: int functions return 0 or -errno; the failure is logged once.
 */
#ifndef MQ_AUTH_PGSQL_H
#define MQ_AUTH_PGSQL_H

#include "broker/mq_backend.h"

typedef struct mq_auth_pgsql mq_auth_pgsql;

struct mq_auth_pgsql_config {
	int         plugin;     /* its id (mq_plugins.h), for the ACL */
	const char *conninfo;   /* NULL: "hostaddr=127.0.0.1 dbname=mqtt" */
	unsigned    pool;       /* 0: 4 */
	const char *auth_query; /* NULL: EMQ's defaults; "": not run */
	const char *super_query;
	const char *acl_query;
	const char *password_hash; /* mq_pwhash.h; NULL: plain */
	unsigned    timeout_ms;    /* 0: 5000 */
	const char *on_error;      /* "deny" (NULL) or "ignore" */
	const char *acl_nomatch;   /* "deny" (NULL) or "allow" */
	unsigned    max_pending;   /* waiting requests; 0: 4096 */
};

/* Checks the settings; connects on the first query. */
int mq_auth_pgsql_new(mq_auth_pgsql **out, const struct mq_loop *loop,
    const struct mq_auth_pgsql_config *cfg);
/* Closes the pool; no callback runs from here on. */
void mq_auth_pgsql_free(mq_auth_pgsql **p);

/* As mq_auth_redis_query: 0 and *req (cb later), or 1 and *now. */
int  mq_auth_pgsql_query(mq_auth_pgsql *p, const struct mq_who *who,
     mq_db_cb cb, void *arg, void **req, struct mq_db_answer *now);
void mq_auth_pgsql_cancel(mq_auth_pgsql *p, void *req);

#endif
