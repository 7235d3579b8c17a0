/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mq_dbauth: the walk of one CONNECT through the active database auth
 * plugins (see the header).  The backends share one shape (query /
 * cancel, an answer through a callback from the loop), so the walk is a
 * table of them in chain order.
 */
#include "config.h"

#include "broker/mq_dbauth.h"
#include "broker/mq_auth_pgsql.h"
#include "broker/mq_auth_http.h"
#include "broker/mq_auth_redis.h"
#include "broker/mq_authz.h"
#include "broker/mq_backend.h"
#include "broker/mq_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct backend {
	int   plugin;
	void *be;
	int (*query)(void *be, const struct mq_who *who, mq_db_cb cb,
	    void *arg, void **req, struct mq_db_answer *now);
	void (*cancel)(void *be, void *req);
	void (*free)(void **be);
};

#define NBACKENDS 3

struct mq_dbauth {
	struct backend be[NBACKENDS];
	unsigned       n;
};

/* One CONNECT on its way through the backends. */
struct mq_dbreq {
	mq_conn      *c;
	unsigned      step; /* the backend asked now */
	void         *req;  /* its request */
	struct mq_who who;  /* strings: c's username, and below */
	char          peer[INET6_ADDRSTRLEN];
	char         *id, *pw;
};

static int
redis_query(void *be, const struct mq_who *who, mq_db_cb cb, void *arg,
    void **req, struct mq_db_answer *now)
{
	return mq_auth_redis_query(be, who, cb, arg, req, now);
}

static void
redis_cancel(void *be, void *req)
{
	mq_auth_redis_cancel(be, req);
}

static void
redis_free(void **be)
{
	mq_auth_redis_free((mq_auth_redis **) be);
}

static int
pgsql_query(void *be, const struct mq_who *who, mq_db_cb cb, void *arg,
    void **req, struct mq_db_answer *now)
{
	return mq_auth_pgsql_query(be, who, cb, arg, req, now);
}

static void
pgsql_cancel(void *be, void *req)
{
	mq_auth_pgsql_cancel(be, req);
}

static void
pgsql_free(void **be)
{
	mq_auth_pgsql_free((mq_auth_pgsql **) be);
}

static int
http_query(void *be, const struct mq_who *who, mq_db_cb cb, void *arg,
    void **req, struct mq_db_answer *now)
{
	return mq_auth_http_query(be, who, cb, arg, req, now);
}

static void
http_cancel(void *be, void *req)
{
	mq_auth_http_cancel(be, req);
}

/* The broker owns mqttd_auth_http (its ACL side needs it too). */
static void
http_free(void **be)
{
	*be = NULL;
}

int
mq__dbauth_open(mq_broker *b)
{
	const mq_config            *cfg = b->cfg;
	struct mq_loop              loop = { b->epfd, &b->timers };
	struct mq_dbauth           *d;
	struct mq_auth_redis_config rc = {
		.plugin = MQ_PLUGIN_AUTH_REDIS,
		.server = cfg->redis_server,
		.password = cfg->redis_password,
		.database = cfg->redis_database,
		.auth_cmd = cfg->redis_auth_cmd,
		.super_cmd = cfg->redis_super_cmd,
		.acl_cmd = cfg->redis_acl_cmd,
		.password_hash = cfg->redis_password_hash,
		.timeout_ms = cfg->redis_timeout,
		.on_error = cfg->redis_on_error,
		.acl_nomatch = cfg->redis_acl_nomatch,
		.max_pending = cfg->redis_max_pending,
	};
	struct mq_auth_pgsql_config pc = {
		.plugin = MQ_PLUGIN_AUTH_PGSQL,
		.conninfo = cfg->pgsql_conninfo,
		.pool = cfg->pgsql_pool,
		.auth_query = cfg->pgsql_auth_query,
		.super_query = cfg->pgsql_super_query,
		.acl_query = cfg->pgsql_acl_query,
		.password_hash = cfg->pgsql_password_hash,
		.timeout_ms = cfg->pgsql_timeout,
		.on_error = cfg->pgsql_on_error,
		.acl_nomatch = cfg->pgsql_acl_nomatch,
		.max_pending = cfg->pgsql_max_pending,
	};
	mq_auth_redis *redis;
	mq_auth_pgsql *pgsql;
	mq_auth_http  *http;
	int            r;

	if (b->plugins == NULL)
		return 0;
	d = calloc(1, sizeof(*d));
	if (d == NULL)
		return -ENOMEM;
	r = mq_auth_redis_new(&redis, &loop, &rc);
	if (r < 0) {
		free(d);
		return r;
	}
	d->be[d->n++] = (struct backend) { MQ_PLUGIN_AUTH_REDIS, redis,
		redis_query, redis_cancel, redis_free };
	r = mq_auth_pgsql_new(&pgsql, &loop, &pc);
	if (r < 0) {
		mq_auth_redis_free(&redis);
		free(d);
		return r;
	}
	d->be[d->n++] = (struct backend) { MQ_PLUGIN_AUTH_PGSQL, pgsql,
		pgsql_query, pgsql_cancel, pgsql_free };
	b->dbauth = d;
	r = mq__auth_http_open(b, &http);
	if (r < 0)
		return r; /* mq__dbauth_close frees what is made */
	if (http != NULL)
		d->be[d->n++] = (struct backend) { MQ_PLUGIN_AUTH_HTTP, http,
			http_query, http_cancel, http_free };
	return 0;
}

void
mq__dbauth_close(mq_broker *b)
{
	struct mq_dbauth *d = b->dbauth;

	if (d == NULL)
		return;
	for (unsigned i = 0; i < d->n; i++)
		d->be[i].free(&d->be[i].be);
	free(d);
	b->dbauth = NULL;
	mq__auth_http_close(b);
}

static void
dbreq_free(struct mq_dbreq *q)
{
	if (q->pw != NULL) {
		explicit_bzero(q->pw, q->who.pw_len);
		free(q->pw);
	}
	free(q->id);
	free(q);
}

static enum mq_auth_result
verdict(mq_conn *c, struct mq_db_answer *a)
{
	switch (a->v) {
	case MQ_DB_ALLOW:
		mq_authz_free(&c->authz);
		c->authz = a->acl;
		a->acl = NULL;
		return MQ_AUTH_ALLOW;
	case MQ_DB_REJECT:
		return MQ_AUTH_BAD_CREDENTIALS;
	case MQ_DB_DENY:
		return MQ_AUTH_NOT_AUTHORIZED;
	case MQ_DB_CHECK:
		/* Known user, bcrypt: the auth threads judge the password
		 * and mq__connect_resume follows from there. */
		mq_authz_free(&c->authz);
		c->authz = a->acl;
		a->acl = NULL;
		if (mq__connect_check(c, a->ck) < 0) {
			a->ck = NULL;
			return MQ_AUTH_NOT_AUTHORIZED;
		}
		a->ck = NULL;
		return MQ_AUTH_PENDING;
	case MQ_DB_IGNORE:
		break;
	}
	return MQ_AUTH_IGNORE;
}

static void on_answer(void *arg, struct mq_db_answer *a);

/* Asks the next active backend from q->step on: PENDING, or a verdict
 * (IGNORE when none knows the client). */
static enum mq_auth_result
walk(struct mq_dbreq *q)
{
	mq_conn          *c = q->c;
	struct mq_dbauth *d = c->b->dbauth;

	for (; q->step < d->n; q->step++) {
		struct backend     *be = &d->be[q->step];
		struct mq_db_answer now = { 0 };
		enum mq_auth_result r;

		if (!mq__plugin_active(c->b, be->plugin))
			continue;
		if (be->query(be->be, &q->who, on_answer, q, &q->req, &now)
		    == 0)
			return MQ_AUTH_PENDING;
		r = verdict(c, &now);
		mq_authz_free(&now.acl);
		q->req = NULL;
		if (r != MQ_AUTH_IGNORE)
			return r;
	}
	return MQ_AUTH_IGNORE;
}

static void
on_answer(void *arg, struct mq_db_answer *a)
{
	struct mq_dbreq    *q = arg;
	mq_conn            *c = q->c;
	enum mq_auth_result r;

	q->req = NULL;
	r = verdict(c, a);
	mq_authz_free(&a->acl);
	if (r == MQ_AUTH_IGNORE) {
		q->step++;
		r = walk(q);
		if (r == MQ_AUTH_PENDING)
			return;
	}
	c->dbreq = NULL;
	dbreq_free(q);
	if (r == MQ_AUTH_PENDING) /* on the auth threads now */
		return;
	if (r == MQ_AUTH_IGNORE)
		r = mq_plugins_anonymous(c->b->plugins);
	mq__connect_resume(c, (int) r);
}

enum mq_auth_result
mq__dbauth_begin(
    mq_conn *c, const char *id, size_t id_len, const char *pw, size_t pw_len)
{
	struct mq_dbauth   *d = c->b->dbauth;
	struct mq_dbreq    *q;
	enum mq_auth_result r;
	bool                any = false;

	if (d == NULL)
		return MQ_AUTH_IGNORE;
	for (unsigned i = 0; i < d->n; i++)
		any |= mq__plugin_active(c->b, d->be[i].plugin);
	if (!any)
		return MQ_AUTH_IGNORE;
	q = calloc(1, sizeof(*q));
	if (q == NULL || (q->id = malloc(id_len + 1)) == NULL
	    || (pw != NULL && (q->pw = malloc(pw_len + 1)) == NULL)) {
		if (q != NULL)
			dbreq_free(q);
		return MQ_AUTH_NOT_AUTHORIZED;
	}
	memcpy(q->id, id, id_len);
	q->id[id_len] = 0;
	if (pw != NULL) {
		memcpy(q->pw, pw, pw_len);
		q->pw[pw_len] = 0;
	}
	q->c = c;
	q->who = (struct mq_who) { .port = c->listener < c->b->nlisteners
		    ? c->b->listeners[c->listener].port
		    : 0,
		.user = c->username,
		.user_len = c->username_len,
		.client = q->id,
		.client_len = id_len,
		.pw = q->pw,
		.pw_len = pw != NULL ? pw_len : 0,
		.peer = q->peer };
	if (c->peer.sin6_family == AF_INET)
		inet_ntop(AF_INET,
		    &((const struct sockaddr_in *) (void *) &c->peer)
		         ->sin_addr,
		    q->peer, sizeof(q->peer));
	else if (c->peer.sin6_family == AF_INET6)
		inet_ntop(
		    AF_INET6, &c->peer.sin6_addr, q->peer, sizeof(q->peer));
	r = walk(q);
	if (r == MQ_AUTH_PENDING && q->req != NULL)
		c->dbreq = q;
	else
		dbreq_free(q); /* answered, or on the auth threads */
	return r;
}

void
mq__dbauth_cancel(mq_conn *c)
{
	struct mq_dbreq *q = c->dbreq;

	if (q == NULL)
		return;
	if (q->req != NULL) {
		struct backend *be = &c->b->dbauth->be[q->step];

		be->cancel(be->be, q->req);
	}
	c->dbreq = NULL;
	dbreq_free(q);
}
