/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mq_auth_redis: hiredis's async API on the broker's loop (see the
 * header for the model).
 *
 * The adapter: hiredis asks for read / write interest through ev hooks
 * (addRead, delRead, addWrite, delWrite, cleanup), which set the epoll
 * events of one mq_watch; the watch's events call redisAsyncHandleRead /
 * Write.  hiredis 0.14 has no timers: the connect timeout, the backoff
 * and the request deadlines are the broker's mq_timers.
 *
 * hiredis calls reply callbacks from inside HandleRead and from
 * redisAsyncFree (with a NULL reply).  They only record the reply; a
 * request whose replies are all in goes on the done list, which is
 * judged and answered after hiredis has returned (deliver), so nothing
 * the answer sets off (a CONNACK, a client's next packets) runs inside
 * hiredis.
 */
#include "config.h"

#include "broker/mq_auth_redis.h"
#include "broker/mq_authz.h"
#include "broker/mq_creds.h"
#include "broker/mq_file.h"
#include "broker/mq_int.h"
#include "broker/mq_log.h"
#include "broker/mq_pwhash.h"

#include <errno.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#define WHO      "mqttd_auth_redis"
#define MAX_ARGS 16

enum { CMD_AUTH, CMD_SUPER, CMD_ACL, NCMD };

struct cmd {
	int    argc; /* 0: not sent */
	char  *buf;  /* the arguments, NUL-separated */
	char  *argv[MAX_ARGS];
	size_t len[MAX_ARGS];
};

enum state { S_IDLE, S_CONNECTING, S_UP, S_DOWN };

struct rreq {
	struct rreq   *next, *prev; /* r->live, oldest first */
	struct rreq   *dnext;       /* r->done */
	mq_auth_redis *r;
	mq_db_cb       cb; /* NULL: answered or cancelled */
	void          *arg;
	uint64_t       deadline;
	unsigned       wait; /* replies still to come */
	bool           failed;
	bool           found;
	bool           super;
	char          *hash, *salt;
	size_t         hash_len, salt_len;
	struct mq_who *who;
	mq_authz      *acl;
};

struct mq_auth_redis {
	struct mq_loop     loop;
	int                plugin;
	char              *host, *path, *password;
	int                port;
	unsigned           database, timeout_ms, max_pending;
	int                outcome;
	bool               nomatch_allow;
	struct mq_pwhash   hash;
	struct cmd         cmd[NCMD];
	redisAsyncContext *ac;
	enum state         st;
	bool               rd, wr;
	mq_watch           w;
	mq_timer           conn_timer; /* connect timeout / backoff */
	mq_timer           req_timer;
	uint32_t           backoff;
	struct rreq       *live_head, *live_tail, *done;
	unsigned           nlive;
	struct mq_faillog  flog;
};

/* ---- commands ---- */

static int
cmd_parse(struct cmd *c, const char *text, const char *dflt)
{
	char *s;

	if (text == NULL)
		text = dflt;
	c->buf = strdup(text);
	if (c->buf == NULL)
		return -ENOMEM;
	c->argc = 0;
	for (s = strtok(c->buf, " \t"); s != NULL; s = strtok(NULL, " \t")) {
		if (c->argc == MAX_ARGS) {
			mq_err(WHO ": command '%s' has more than %d words",
			    text, MAX_ARGS);
			return -EINVAL;
		}
		c->argv[c->argc] = s;
		c->len[c->argc++] = strlen(s);
	}
	return 0;
}

/* ---- the adapter ---- */

static void
ev_update(mq_auth_redis *r)
{
	uint32_t ev = (r->rd ? EPOLLIN : 0u) | (r->wr ? EPOLLOUT : 0u);

	if (r->ac != NULL)
		(void) mq_watch_set(&r->loop, &r->w, r->ac->c.fd, ev);
}

static void
ev_add_read(void *p)
{
	mq_auth_redis *r = p;

	r->rd = true;
	ev_update(r);
}

static void
ev_del_read(void *p)
{
	mq_auth_redis *r = p;

	r->rd = false;
	ev_update(r);
}

static void
ev_add_write(void *p)
{
	mq_auth_redis *r = p;

	r->wr = true;
	ev_update(r);
}

static void
ev_del_write(void *p)
{
	mq_auth_redis *r = p;

	r->wr = false;
	ev_update(r);
}

static void
ev_cleanup(void *p)
{
	mq_auth_redis *r = p;

	r->rd = r->wr = false;
	mq_watch_clear(&r->loop, &r->w);
}

static void deliver(mq_auth_redis *r);
static void conn_start(mq_auth_redis *r);

static void
on_watch(mq_watch *w, uint32_t events)
{
	mq_auth_redis *r = container_of(w, mq_auth_redis, w);

	if (r->ac != NULL && (events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
		redisAsyncHandleRead(r->ac);
	if (r->ac != NULL && (events & EPOLLOUT))
		redisAsyncHandleWrite(r->ac);
	deliver(r);
}

/* ---- the connection ---- */

static void
conn_down(mq_auth_redis *r)
{
	r->ac = NULL;
	r->st = S_DOWN;
	mq_timer_set(r->loop.timers, &r->conn_timer,
	    mq_now_ms() + mq_backoff_next(&r->backoff));
}

static void
on_connect(const redisAsyncContext *ac, int status)
{
	mq_auth_redis *r = ac->data;

	if (r == NULL || r->ac != ac)
		return;
	mq_timer_cancel(r->loop.timers, &r->conn_timer);
	if (status != REDIS_OK) {
		/* hiredis frees ac when this returns */
		mq_faillog_fail(&r->flog, WHO, "connect to %s: %s",
		    r->path ? r->path : r->host, ac->errstr);
		conn_down(r);
		return;
	}
	r->st = S_UP;
	r->backoff = 0;
}

static void
on_disconnect(const redisAsyncContext *ac, int status)
{
	mq_auth_redis *r = ac->data;

	if (r == NULL || r->ac != ac)
		return;
	if (status != REDIS_OK)
		mq_faillog_fail(
		    &r->flog, WHO, "connection lost: %s", ac->errstr);
	conn_down(r);
}

static void
on_setup(redisAsyncContext *ac, void *reply, void *priv)
{
	redisReply    *rep = reply;
	mq_auth_redis *r = ac->data;

	(void) priv;
	if (r == NULL || rep == NULL || rep->type != REDIS_REPLY_ERROR)
		return;
	mq_faillog_fail(&r->flog, WHO, "AUTH / SELECT: %s", rep->str);
	redisAsyncDisconnect(ac);
}

/* Drops the connection now (from the loop, never inside hiredis). */
static void
conn_drop(mq_auth_redis *r)
{
	redisAsyncContext *ac = r->ac;

	if (ac == NULL)
		return;
	ac->data = NULL; /* its callbacks: not ours any more */
	r->ac = NULL;
	redisAsyncFree(ac);
	conn_down(r);
}

static void
conn_timer_fn(mq_timer *t)
{
	mq_auth_redis *r = container_of(t, mq_auth_redis, conn_timer);

	if (r->st == S_CONNECTING) {
		mq_faillog_fail(&r->flog, WHO, "connect to %s: timed out",
		    r->path ? r->path : r->host);
		conn_drop(r);
		deliver(r);
	} else if (r->st == S_DOWN) {
		conn_start(r);
	}
}

static void
conn_start(mq_auth_redis *r)
{
	redisAsyncContext *ac = r->path ? redisAsyncConnectUnix(r->path)
	                                : redisAsyncConnect(r->host, r->port);
	char               db[16];

	if (ac == NULL || ac->err) {
		mq_faillog_fail(&r->flog, WHO, "connect to %s: %s",
		    r->path ? r->path : r->host,
		    ac ? ac->errstr : strerror(ENOMEM));
		if (ac != NULL)
			redisAsyncFree(ac);
		conn_down(r);
		return;
	}
	ac->data = r;
	ac->ev.data = r;
	ac->ev.addRead = ev_add_read;
	ac->ev.delRead = ev_del_read;
	ac->ev.addWrite = ev_add_write;
	ac->ev.delWrite = ev_del_write;
	ac->ev.cleanup = ev_cleanup;
	r->ac = ac;
	r->st = S_CONNECTING;
	redisAsyncSetConnectCallback(ac, on_connect);
	redisAsyncSetDisconnectCallback(ac, on_disconnect);
	if (r->password != NULL)
		redisAsyncCommandArgv(ac, on_setup, NULL, 2,
		    (const char *[]) { "AUTH", r->password }, NULL);
	if (r->database != 0) {
		snprintf(db, sizeof(db), "%u", r->database);
		redisAsyncCommandArgv(ac, on_setup, NULL, 2,
		    (const char *[]) { "SELECT", db }, NULL);
	}
	mq_timer_set(
	    r->loop.timers, &r->conn_timer, mq_now_ms() + r->timeout_ms);
}

/* ---- requests ---- */

static void
req_free(struct rreq *q)
{
	free(q->hash);
	free(q->salt);
	mq_who_free(q->who);
	mq_authz_free(&q->acl);
	free(q);
}

static void
live_unlink(mq_auth_redis *r, struct rreq *q)
{
	if (q->prev != NULL)
		q->prev->next = q->next;
	else
		r->live_head = q->next;
	if (q->next != NULL)
		q->next->prev = q->prev;
	else
		r->live_tail = q->prev;
	r->nlive--;
}

static void
reply_in(struct rreq *q)
{
	if (--q->wait == 0) {
		q->dnext = q->r->done;
		q->r->done = q;
	}
}

static char *
dup_str(const redisReply *e, size_t *len)
{
	if (e == NULL || e->type != REDIS_REPLY_STRING)
		return NULL;
	*len = e->len;
	return mq_strndup(e->str, e->len);
}

static void
on_auth(redisAsyncContext *ac, void *reply, void *priv)
{
	redisReply  *rep = reply, *pw = rep, *salt = NULL;
	struct rreq *q = priv;

	(void) ac;
	if (rep == NULL || rep->type == REDIS_REPLY_ERROR) {
		q->failed = true;
	} else if (rep->type == REDIS_REPLY_ARRAY) {
		pw = rep->elements > 0 ? rep->element[0] : NULL;
		salt = rep->elements > 1 ? rep->element[1] : NULL;
	}
	if (!q->failed && pw != NULL && pw->type == REDIS_REPLY_STRING) {
		q->found = true;
		q->hash = dup_str(pw, &q->hash_len);
		q->salt = dup_str(salt, &q->salt_len);
		if (q->hash == NULL)
			q->failed = true;
	}
	reply_in(q);
}

static void
on_super(redisAsyncContext *ac, void *reply, void *priv)
{
	redisReply  *rep = reply;
	struct rreq *q = priv;

	(void) ac;
	if (rep != NULL && rep->type == REDIS_REPLY_STRING)
		q->super = (rep->len == 1 && rep->str[0] == '1')
		    || (rep->len == 4 && memcmp(rep->str, "true", 4) == 0);
	else if (rep != NULL && rep->type == REDIS_REPLY_INTEGER)
		q->super = rep->integer == 1;
	reply_in(q);
}

static void
on_acl(redisAsyncContext *ac, void *reply, void *priv)
{
	redisReply  *rep = reply;
	struct rreq *q = priv;

	(void) ac;
	if (rep == NULL || rep->type != REDIS_REPLY_ARRAY) {
		/* lost or refused: no rules means the plugin's nomatch */
		if (rep == NULL || rep->type == REDIS_REPLY_ERROR)
			q->failed = true;
	} else if (q->acl != NULL) {
		for (size_t i = 0; i + 1 < rep->elements; i += 2) {
			redisReply *t = rep->element[i],
			           *a = rep->element[i + 1];
			unsigned acc;

			if (t->type != REDIS_REPLY_STRING
			    || a->type != REDIS_REPLY_STRING || a->len != 1
			    || a->str[0] < '1' || a->str[0] > '3')
				continue;
			acc = (unsigned) (a->str[0] - '0');
			if (mq_who_acl_add(
			        q->acl, q->who, true, acc, t->str, t->len)
			    < 0)
				q->failed = true;
		}
	}
	reply_in(q);
}

static void
answer_outcome(mq_auth_redis *r, struct mq_db_answer *a)
{
	a->v = r->outcome == MQ_BACKEND_IGNORE ? MQ_DB_IGNORE : MQ_DB_DENY;
	a->super = false;
	a->acl = NULL;
	a->ck = NULL;
}

/* q's replies are all in: its answer. */
static void
judge(mq_auth_redis *r, struct rreq *q, struct mq_db_answer *a)
{
	a->super = false;
	a->acl = NULL;
	a->ck = NULL;
	if (q->failed) {
		answer_outcome(r, a);
		return;
	}
	mq_faillog_ok(&r->flog, WHO);
	if (!q->found) {
		a->v = MQ_DB_IGNORE;
		return;
	}
	if (q->who->pw != NULL && mq_pwhash_offload(&r->hash, q->salt_len)) {
		/* bcrypt: the auth threads verify it */
		a->ck = mq_creds_check_hash(r->plugin, q->hash, q->hash_len,
		    q->who->pw, q->who->pw_len);
		if (a->ck == NULL) {
			answer_outcome(r, a);
			return;
		}
		a->v = MQ_DB_CHECK;
	} else if (q->who->pw == NULL
	    || !mq_pwhash_check(&r->hash, q->hash, q->hash_len, q->salt,
	        q->salt_len, q->who->pw, q->who->pw_len)) {
		a->v = MQ_DB_REJECT;
		return;
	} else {
		a->v = MQ_DB_ALLOW;
	}
	a->super = q->super;
	if (q->acl != NULL && (q->super || mq_authz_count(q->acl) > 0)) {
		mq_authz_set_super(q->acl, q->super);
		a->acl = q->acl;
		q->acl = NULL;
	}
}

/* Answers and frees what hiredis is done with. */
static void
deliver(mq_auth_redis *r)
{
	while (r->done != NULL) {
		struct rreq        *q = r->done;
		struct mq_db_answer a;
		mq_db_cb            cb = q->cb;

		r->done = q->dnext;
		live_unlink(r, q);
		if (cb != NULL) {
			judge(r, q, &a);
			q->cb = NULL;
			cb(q->arg, &a);
		}
		req_free(q);
	}
}

static void
req_timer_arm(mq_auth_redis *r)
{
	for (struct rreq *q = r->live_head; q != NULL; q = q->next) {
		if (q->cb != NULL) {
			mq_timer_set(
			    r->loop.timers, &r->req_timer, q->deadline);
			return;
		}
	}
	mq_timer_cancel(r->loop.timers, &r->req_timer);
}

static void
req_timer_fn(mq_timer *t)
{
	mq_auth_redis *r = container_of(t, mq_auth_redis, req_timer);
	uint64_t       now = mq_now_ms();
	unsigned       n = 0;

	for (struct rreq *q = r->live_head; q != NULL; q = q->next) {
		struct mq_db_answer a;
		mq_db_cb            cb = q->cb;

		if (cb == NULL)
			continue;
		if (q->deadline > now)
			break;
		q->cb = NULL;
		answer_outcome(r, &a);
		cb(q->arg, &a);
		n++;
	}
	if (n > 0) {
		/* A backend that sits on a request is not answering: make a
		 * new connection (the old one's requests come back as lost).
		 */
		mq_faillog_fail(&r->flog, WHO,
		    "%u requests timed out after %u ms; reconnecting", n,
		    r->timeout_ms);
		conn_drop(r);
	}
	deliver(r);
	req_timer_arm(r);
}

/* Sends one command of q, its arguments expanded; false on failure. */
static bool
send_cmd(mq_auth_redis *r, struct rreq *q, int i, redisCallbackFn *fn)
{
	const struct cmd *c = &r->cmd[i];
	char             *argv[MAX_ARGS];
	size_t            len[MAX_ARGS] = { 0 }; /* -O2 cannot see n's bound */
	bool              ok = true;
	int               n;

	if (c->argc == 0)
		return true;
	for (n = 0; n < c->argc; n++) {
		argv[n]
		    = mq_who_expand(q->who, c->argv[n], c->len[n], &len[n]);
		if (argv[n] == NULL) {
			ok = false;
			break;
		}
	}
	if (ok)
		ok = redisAsyncCommandArgv(
		         r->ac, fn, q, c->argc, (const char **) argv, len)
		    == REDIS_OK;
	if (ok)
		q->wait++;
	while (n-- > 0) {
		explicit_bzero(argv[n], len[n]);
		free(argv[n]);
	}
	return ok;
}

int
mq_auth_redis_query(mq_auth_redis *r, const struct mq_who *who, mq_db_cb cb,
    void *arg, void **req, struct mq_db_answer *now)
{
	struct rreq *q;

	*req = NULL;
	if (r->st == S_IDLE)
		conn_start(r);
	if (r->ac == NULL) {
		mq_faillog_fail(&r->flog, WHO, "not connected");
		answer_outcome(r, now);
		return 1;
	}
	if (r->nlive >= r->max_pending) {
		mq_faillog_fail(
		    &r->flog, WHO, "%u requests in flight", r->nlive);
		answer_outcome(r, now);
		return 1;
	}
	q = calloc(1, sizeof(*q));
	if (q == NULL || (q->who = mq_who_dup(who)) == NULL
	    || (q->acl = mq_authz_new(r->plugin, r->nomatch_allow)) == NULL) {
		mq_err(WHO ": %s", strerror(ENOMEM));
		if (q != NULL)
			req_free(q);
		answer_outcome(r, now);
		return 1;
	}
	q->r = r;
	q->cb = cb;
	q->arg = arg;
	q->deadline = mq_now_ms() + r->timeout_ms;
	/* Linked before the commands go out: a failing send's NULL reply
	 * finds it live. */
	q->prev = r->live_tail;
	if (r->live_tail != NULL)
		r->live_tail->next = q;
	else
		r->live_head = q;
	r->live_tail = q;
	r->nlive++;
	q->wait = 1; /* ours, until every command is out */
	if (!send_cmd(r, q, CMD_AUTH, on_auth)
	    || !send_cmd(r, q, CMD_SUPER, on_super)
	    || !send_cmd(r, q, CMD_ACL, on_acl))
		q->failed = true;
	if (q->failed) {
		/* Nothing (or not all) went out: answer now. */
		q->cb = NULL;
		answer_outcome(r, now);
		reply_in(q); /* freed with the replies that did go out */
		return 1;
	}
	q->wait--;
	*req = q;
	if (!mq_timer_armed(&r->req_timer))
		mq_timer_set(r->loop.timers, &r->req_timer, q->deadline);
	return 0;
}

void
mq_auth_redis_cancel(mq_auth_redis *r, void *req)
{
	struct rreq *q = req;

	(void) r;
	if (q != NULL)
		q->cb = NULL;
}

/* ---- life cycle ---- */

static int
server_parse(mq_auth_redis *r, const char *s)
{
	const char *colon;
	char       *end;
	long        port;

	if (s == NULL)
		s = "127.0.0.1:6379";
	if (s[0] == '/') {
		r->path = strdup(s);
		return r->path ? 0 : -ENOMEM;
	}
	colon = strrchr(s, ':');
	if (colon == NULL || colon == s)
		goto bad;
	port = strtol(colon + 1, &end, 10);
	if (*end != 0 || port <= 0 || port > 65535)
		goto bad;
	r->host = mq_strndup(s, (size_t) (colon - s));
	r->port = (int) port;
	return r->host ? 0 : -ENOMEM;
bad:
	mq_err(WHO ": server '%s' is not HOST:PORT or a socket path", s);
	return -EINVAL;
}

int
mq_auth_redis_new(mq_auth_redis **out, const struct mq_loop *loop,
    const struct mq_auth_redis_config *cfg)
{
	mq_auth_redis *r = calloc(1, sizeof(*r));
	int            rc;

	*out = NULL;
	if (r == NULL)
		return -ENOMEM;
	r->loop = *loop;
	r->plugin = cfg->plugin;
	r->database = cfg->database;
	r->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : 5000;
	r->max_pending = cfg->max_pending ? cfg->max_pending : 4096;
	rc = mq_backend_nomatch_parse(cfg->acl_nomatch);
	if (rc < 0) {
		mq_err(WHO ": acl_nomatch '%s' is not deny or allow",
		    cfg->acl_nomatch);
		goto fail;
	}
	r->nomatch_allow = rc == 1;
	mq_watch_init(&r->w, on_watch);
	mq_timer_init(&r->conn_timer, conn_timer_fn);
	mq_timer_init(&r->req_timer, req_timer_fn);
	rc = mq_backend_outcome_parse(cfg->on_error);
	if (rc < 0) {
		mq_err(WHO ": on_error '%s' is not deny or ignore",
		    cfg->on_error);
		goto fail;
	}
	r->outcome = rc;
	if ((rc = server_parse(r, cfg->server)) < 0
	    || (rc = mq_pwhash_parse(&r->hash, cfg->password_hash)) < 0
	    || (rc = cmd_parse(&r->cmd[CMD_AUTH], cfg->auth_cmd,
	            "HMGET mqtt_user:%u password"))
	        < 0
	    || (rc = cmd_parse(&r->cmd[CMD_SUPER], cfg->super_cmd,
	            "HGET mqtt_user:%u is_superuser"))
	        < 0
	    || (rc = cmd_parse(
	            &r->cmd[CMD_ACL], cfg->acl_cmd, "HGETALL mqtt_acl:%u"))
	        < 0)
		goto fail;
	if (r->cmd[CMD_AUTH].argc == 0) {
		mq_err(WHO ": auth_cmd is empty");
		rc = -EINVAL;
		goto fail;
	}
	if (cfg->password != NULL && cfg->password[0] != 0
	    && (r->password = strdup(cfg->password)) == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	*out = r;
	return 0;
fail:
	mq_auth_redis_free(&r);
	return rc;
}

void
mq_auth_redis_free(mq_auth_redis **rp)
{
	mq_auth_redis *r = *rp;

	if (r == NULL)
		return;
	for (struct rreq *q = r->live_head; q != NULL; q = q->next)
		q->cb = NULL;
	if (r->ac != NULL) {
		redisAsyncContext *ac = r->ac;

		ac->data = NULL;
		redisAsyncFree(ac); /* every reply comes back NULL */
		r->ac = NULL;
	}
	deliver(r);
	/* Requests whose commands never went out (none, normally). */
	while (r->live_head != NULL) {
		struct rreq *q = r->live_head;

		live_unlink(r, q);
		req_free(q);
	}
	mq_timer_cancel(r->loop.timers, &r->conn_timer);
	mq_timer_cancel(r->loop.timers, &r->req_timer);
	for (int i = 0; i < NCMD; i++)
		free(r->cmd[i].buf);
	free(r->host);
	free(r->path);
	free(r->password);
	free(r);
	*rp = NULL;
}
