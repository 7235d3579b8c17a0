/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mq_auth_pgsql: libpq's asynchronous API on the broker's loop (see the
 * header for the model).
 *
 * Each pool connection has an mq_watch on PQsocket and a timer (connect
 * deadline, then backoff).  Connecting follows PQconnectPoll's READING /
 * WRITING answers; a query is PQsendQueryParams then PQflush until sent
 * (EPOLLOUT while it says 1), then PQconsumeInput on every readable event
 * until PQisBusy is false and PQgetResult has returned its NULL.  A
 * CONNECT's queries run one after another on the same connection: auth,
 * then (for a known user with the right password) super and ACL.
 *
 * Answers are given from the loop after libpq has returned; the
 * connection is idle (or closed) before the callback runs, so what the
 * answer sets off may ask again.
 */
#include "config.h"

#include "broker/mq_auth_pgsql.h"
#include "broker/mq_authz.h"
#include "broker/mq_creds.h"
#include "broker/mq_int.h"
#include "broker/mq_log.h"
#include "broker/mq_pwhash.h"

#include <errno.h>
#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#define WHO        "mqttd_auth_pgsql"
#define MAX_PARAMS 8
#define MAX_POOL   32

enum { Q_AUTH, Q_SUPER, Q_ACL, NQ };

/* A query with its placeholders made parameters: $i is who's ph[i-1]. */
struct query {
	char *sql; /* NULL: not run */
	int   n;
	char  ph[MAX_PARAMS];
};

struct preq {
	struct preq          *next; /* p->wait */
	mq_db_cb              cb;   /* NULL: answered or cancelled */
	void                 *arg;
	uint64_t              deadline;
	struct mq_who        *who;
	bool                  ok; /* the password was right */
	struct mq_auth_check *ck; /* or is to be checked (bcrypt) */
	bool                  super;
	mq_authz             *acl;
};

enum cstate { C_IDLE_NEVER, C_DOWN, C_CONNECTING, C_READY, C_BUSY };

struct pconn {
	mq_auth_pgsql *p;
	PGconn        *pg;
	enum cstate    st;
	mq_watch       w;
	mq_timer       timer;
	uint32_t       backoff;
	struct preq   *q;
	int            stage;
	PGresult      *res;
};

struct mq_auth_pgsql {
	struct mq_loop    loop;
	int               plugin;
	char             *conninfo;
	unsigned          npool, timeout_ms, max_pending, nwait;
	int               outcome;
	bool              nomatch_allow;
	bool              started;
	struct mq_pwhash  hash;
	struct query      qs[NQ];
	struct pconn      pool[MAX_POOL];
	struct preq      *wait_head, *wait_tail;
	mq_timer          req_timer;
	struct mq_faillog flog;
};

/* ---- queries ---- */

/*
 * Turns '%u' / %u (and %c %a %P) into $n.  The quoted form is EMQ's
 * (its queries spliced the value into a literal); here the literal
 * becomes the parameter.
 */
static int
query_parse(struct query *q, const char *text, const char *dflt)
{
	size_t n, o = 0;

	if (text == NULL)
		text = dflt;
	n = strlen(text);
	q->n = 0;
	q->sql = NULL;
	if (n == 0)
		return 0;
	q->sql = malloc(n * 2 + 1);
	if (q->sql == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const char *s = text + i;
		size_t      skip = 0;
		char        ph = 0;

		if (s[0] == '\'' && s[1] == '%' && s[2] != 0 && s[3] == '\''
		    && strchr("ucaP", s[2]) != NULL) {
			ph = s[2];
			skip = 4;
		} else if (s[0] == '%' && s[1] != 0
		    && strchr("ucaP", s[1]) != NULL) {
			ph = s[1];
			skip = 2;
		}
		if (ph == 0) {
			q->sql[o++] = *s;
			continue;
		}
		if (q->n == MAX_PARAMS) {
			mq_err(WHO
			    ": query '%s' has more than %d placeholders",
			    text, MAX_PARAMS);
			return -EINVAL;
		}
		q->ph[q->n++] = ph;
		o += (size_t) sprintf(q->sql + o, "$%d", q->n);
		i += skip - 1;
	}
	q->sql[o] = 0;
	return 0;
}

/* ---- requests ---- */

static void
req_free(struct preq *q)
{
	mq_who_free(q->who);
	mq_authz_free(&q->acl);
	mq_creds_check_free(q->ck);
	free(q);
}

static void
outcome(mq_auth_pgsql *p, struct mq_db_answer *a)
{
	a->v = p->outcome == MQ_BACKEND_IGNORE ? MQ_DB_IGNORE : MQ_DB_DENY;
	a->super = false;
	a->acl = NULL;
	a->ck = NULL;
}

/* Answers q (unless cancelled) and frees it. */
static void
req_answer(struct preq *q, struct mq_db_answer *a)
{
	mq_db_cb cb = q->cb;

	q->cb = NULL;
	if (cb != NULL)
		cb(q->arg, a);
	mq_authz_free(&a->acl);
	mq_creds_check_free(a->ck);
	req_free(q);
}

static void
req_fail(mq_auth_pgsql *p, struct preq *q)
{
	struct mq_db_answer a;

	outcome(p, &a);
	req_answer(q, &a);
}

static void req_timer_arm(mq_auth_pgsql *p);
static void kick(mq_auth_pgsql *p);
static void conn_start(struct pconn *c);

/* ---- connections ---- */

static bool
any_up(const mq_auth_pgsql *p)
{
	for (unsigned i = 0; i < p->npool; i++)
		if (p->pool[i].st >= C_CONNECTING)
			return true;
	return false;
}

static void
conn_close(struct pconn *c)
{
	mq_watch_clear(&c->p->loop, &c->w);
	if (c->res != NULL)
		PQclear(c->res);
	c->res = NULL;
	if (c->pg != NULL)
		PQfinish(c->pg);
	c->pg = NULL;
}

/*
 * c failed (why, logged once per interval): its request gets the
 * outcome, and it is made again after a backoff (0: at once).  When no
 * connection is left, the waiting requests get the outcome too.
 */
static void
conn_fail(struct pconn *c, const char *why, bool now)
{
	mq_auth_pgsql *p = c->p;
	struct preq   *q = c->q;

	mq_faillog_fail(&p->flog, WHO, "%s", why);
	conn_close(c);
	c->q = NULL;
	c->st = C_DOWN;
	mq_timer_set(p->loop.timers, &c->timer,
	    mq_now_ms() + (now ? 0 : mq_backoff_next(&c->backoff)));
	if (q != NULL)
		req_fail(p, q);
	if (!any_up(p)) {
		while (p->wait_head != NULL) {
			struct preq *w = p->wait_head;

			p->wait_head = w->next;
			p->nwait--;
			req_fail(p, w);
		}
		p->wait_tail = NULL;
	}
	req_timer_arm(p);
}

static void
conn_failed_pq(struct pconn *c, const char *what)
{
	char        msg[200];
	const char *e
	    = c->pg != NULL ? PQerrorMessage(c->pg) : "out of memory";
	size_t n;

	snprintf(msg, sizeof(msg), "%s: %s", what, e);
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		msg[--n] = 0;
	conn_fail(c, msg, false);
}

/* (An epoll failure is logged; the request's deadline ends it.) */
static void
conn_watch(struct pconn *c, uint32_t ev)
{
	(void) mq_watch_set(&c->p->loop, &c->w, PQsocket(c->pg), ev);
}

/* Sends stage c->stage of c->q; false when there is nothing to send. */
static bool
send_stage(struct pconn *c)
{
	mq_auth_pgsql      *p = c->p;
	const struct query *qq = &p->qs[c->stage];
	const char         *val[MAX_PARAMS];
	int                 len[MAX_PARAMS], fmt[MAX_PARAMS], rc;

	if (qq->sql == NULL)
		return false;
	for (int i = 0; i < qq->n; i++) {
		size_t n;

		mq_who_value(c->q->who, qq->ph[i], &val[i], &n);
		len[i] = (int) n;
		fmt[i] = 0; /* text; NUL-terminated by mq_who_dup */
	}
	if (PQsendQueryParams(c->pg, qq->sql, qq->n, NULL, val, len, fmt, 0)
	    != 1) {
		conn_failed_pq(c, "query");
		return true;
	}
	c->st = C_BUSY;
	rc = PQflush(c->pg);
	if (rc < 0)
		conn_failed_pq(c, "send");
	else
		conn_watch(c, EPOLLIN | (rc == 1 ? EPOLLOUT : 0u));
	return true;
}

/* c's request is judged: c is ready again, then the answer. */
static void
finish(struct pconn *c, enum mq_db_verdict v)
{
	struct preq        *q = c->q;
	struct mq_db_answer a = { .v = v };

	c->q = NULL;
	c->st = C_READY;
	conn_watch(c, EPOLLIN);
	if (v == MQ_DB_ALLOW && q->ck != NULL) {
		a.v = MQ_DB_CHECK; /* bcrypt: the auth threads verify it */
		a.ck = q->ck;
		q->ck = NULL;
	}
	if (v == MQ_DB_ALLOW) {
		a.super = q->super;
		if (q->acl != NULL
		    && (q->super || mq_authz_count(q->acl) > 0)) {
			mq_authz_set_super(q->acl, q->super);
			a.acl = q->acl;
			q->acl = NULL;
		}
	}
	req_answer(q, &a);
	req_timer_arm(c->p);
	kick(c->p);
}

/* Goes on with the stage after `stage`, or finishes allowed. */
static void
next_stage(struct pconn *c)
{
	while (++c->stage < NQ)
		if (send_stage(c))
			return;
	finish(c, MQ_DB_ALLOW);
}

static const char *
cell(const PGresult *r, int row, int k, int *len)
{
	if (row >= PQntuples(r) || k >= PQnfields(r) || PQgetisnull(r, row, k))
		return NULL;
	*len = PQgetlength(r, row, k);
	return PQgetvalue(r, row, k);
}

static bool
cell_eq(const PGresult *r, int row, int k, const char *v, size_t n)
{
	int         len;
	const char *s = cell(r, row, k, &len);

	return s != NULL && (size_t) len == n && v != NULL
	    && memcmp(s, v, n) == 0;
}

static bool
cell_empty(const PGresult *r, int row, int k)
{
	int len = 0;

	return cell(r, row, k, &len) == NULL || len == 0;
}

/*
 * EMQ's mqtt_acl row: allow, ipaddr, username, clientid, access, topic.
 * Its who is username '$all', or every one of ipaddr / username /
 * clientid that is set must be the client's.
 */
static int
acl_rows(struct preq *q, const PGresult *r)
{
	const struct mq_who *w = q->who;

	if (PQnfields(r) < 6)
		return -EINVAL;
	for (int i = 0; i < PQntuples(r); i++) {
		int         n, rc;
		const char *allow = cell(r, i, 0, &n),
		           *acc = cell(r, i, 4, &n);
		const char *topic = cell(r, i, 5, &n);
		bool        all = cell_eq(r, i, 2, "$all", 4);

		if (allow == NULL || acc == NULL || topic == NULL)
			continue;
		if (!all
		    && ((!cell_empty(r, i, 1)
		            && !cell_eq(r, i, 1, w->peer,
		                w->peer ? strlen(w->peer) : 0))
		        || (!cell_empty(r, i, 2)
		            && !cell_eq(r, i, 2, w->user, w->user_len))
		        || (!cell_empty(r, i, 3)
		            && !cell_eq(r, i, 3, w->client, w->client_len))
		        || (cell_empty(r, i, 1) && cell_empty(r, i, 2)
		            && cell_empty(r, i, 3))))
			continue;
		rc = mq_who_acl_add(q->acl, w, atoi(allow) == 1,
		    (unsigned) atoi(acc), topic, (size_t) n);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* The result of stage c->stage is in (c->res). */
static void
stage_done(struct pconn *c)
{
	mq_auth_pgsql *p = c->p;
	struct preq   *q = c->q;
	PGresult      *r = c->res;
	int            st = r ? (int) PQresultStatus(r) : -1, n = 0, sn = 0;
	const char    *pw, *salt;
	struct mq_db_answer a;

	c->res = NULL;
	if (st != PGRES_TUPLES_OK) {
		char msg[160];

		snprintf(msg, sizeof(msg), "query failed: %s",
		    r ? PQresultErrorMessage(r) : "no result");
		msg[strcspn(msg, "\n")] = 0;
		mq_faillog_fail(&p->flog, WHO, "%s", msg);
		if (r != NULL)
			PQclear(r);
		/* Any of the three: the backend is failing (as with Redis;
		 * an ACL that cannot be read must not mean no ACL). */
		outcome(p, &a);
		finish(c, a.v);
		return;
	}
	mq_faillog_ok(&p->flog, WHO);
	if (q->cb == NULL) { /* cancelled: no more stages */
		PQclear(r);
		finish(c, MQ_DB_IGNORE);
		return;
	}
	switch (c->stage) {
	case Q_AUTH:
		pw = cell(r, 0, 0, &n);
		salt = cell(r, 0, 1, &sn);
		if (pw == NULL) {
			PQclear(r);
			finish(c, MQ_DB_IGNORE);
			return;
		}
		if (q->who->pw != NULL
		    && mq_pwhash_offload(&p->hash, salt ? (size_t) sn : 0)) {
			q->ck = mq_creds_check_hash(p->plugin, pw, (size_t) n,
			    q->who->pw, q->who->pw_len);
			q->ok = q->ck != NULL;
		} else {
			q->ok = q->who->pw != NULL
			    && mq_pwhash_check(&p->hash, pw, (size_t) n, salt,
			        (size_t) sn, q->who->pw, q->who->pw_len);
		}
		PQclear(r);
		if (!q->ok) {
			finish(c, MQ_DB_REJECT);
			return;
		}
		break;
	case Q_SUPER:
		pw = cell(r, 0, 0, &n);
		q->super = pw != NULL
		    && (strcmp(pw, "t") == 0 || strcmp(pw, "1") == 0
		        || strcmp(pw, "true") == 0);
		PQclear(r);
		break;
	case Q_ACL:
		if (acl_rows(q, r) == -ENOMEM)
			mq_err(WHO ": %s", strerror(ENOMEM));
		PQclear(r);
		break;
	}
	next_stage(c);
}

static void
conn_ready(struct pconn *c)
{
	c->st = C_READY;
	c->backoff = 0;
	mq_timer_cancel(c->p->loop.timers, &c->timer);
	mq_faillog_ok(&c->p->flog, WHO);
	conn_watch(c, EPOLLIN);
}

static void
on_connecting(struct pconn *c)
{
	switch (PQconnectPoll(c->pg)) {
	case PGRES_POLLING_READING:
		conn_watch(c, EPOLLIN);
		break;
	case PGRES_POLLING_WRITING:
		conn_watch(c, EPOLLOUT);
		break;
	case PGRES_POLLING_OK:
		if (PQsetnonblocking(c->pg, 1) != 0) {
			conn_failed_pq(c, "nonblocking");
			return;
		}
		conn_ready(c);
		kick(c->p);
		break;
	default:
		conn_failed_pq(c, "connect");
		break;
	}
}

static void
on_watch(mq_watch *w, uint32_t ev)
{
	struct pconn *c = container_of(w, struct pconn, w);

	if (c->st == C_CONNECTING) {
		on_connecting(c);
		return;
	}
	if (c->pg == NULL)
		return;
	if ((ev & EPOLLOUT) && c->st == C_BUSY) {
		int rc = PQflush(c->pg);

		if (rc < 0) {
			conn_failed_pq(c, "send");
			return;
		}
		conn_watch(c, EPOLLIN | (rc == 1 ? EPOLLOUT : 0u));
	}
	if (!(ev & (EPOLLIN | EPOLLERR | EPOLLHUP)))
		return;
	if (PQconsumeInput(c->pg) != 1) {
		conn_failed_pq(c, "connection lost");
		return;
	}
	if (c->st != C_BUSY) {
		/* Idle: a notice, or the server going away (next time). */
		PGresult *r;

		while (!PQisBusy(c->pg) && (r = PQgetResult(c->pg)) != NULL)
			PQclear(r);
		if (PQstatus(c->pg) == CONNECTION_BAD)
			conn_failed_pq(c, "connection lost");
		return;
	}
	while (!PQisBusy(c->pg)) {
		PGresult *r = PQgetResult(c->pg);

		if (r == NULL) {
			stage_done(c);
			return;
		}
		if (c->res == NULL)
			c->res = r;
		else
			PQclear(r);
	}
}

static void
conn_timer_fn(mq_timer *t)
{
	struct pconn *c = container_of(t, struct pconn, timer);

	if (c->st == C_CONNECTING)
		conn_fail(c, "connect: timed out", false);
	else if (c->st == C_DOWN)
		conn_start(c);
}

static void
conn_start(struct pconn *c)
{
	mq_auth_pgsql *p = c->p;

	c->pg = PQconnectStart(p->conninfo);
	if (c->pg == NULL || PQstatus(c->pg) == CONNECTION_BAD) {
		conn_failed_pq(c, "connect");
		return;
	}
	c->st = C_CONNECTING;
	mq_timer_set(p->loop.timers, &c->timer, mq_now_ms() + p->timeout_ms);
	conn_watch(c, EPOLLOUT); /* as if PQconnectPoll said WRITING */
}

/* Hands waiting requests to ready connections. */
static void
kick(mq_auth_pgsql *p)
{
	for (unsigned i = 0; i < p->npool && p->wait_head != NULL; i++) {
		struct pconn *c = &p->pool[i];
		struct preq  *q;

		if (c->st != C_READY)
			continue;
		q = p->wait_head;
		p->wait_head = q->next;
		if (p->wait_head == NULL)
			p->wait_tail = NULL;
		p->nwait--;
		q->next = NULL;
		c->q = q;
		c->stage = -1;
		next_stage(c);
	}
}

/* ---- deadlines ---- */

static void
req_timer_arm(mq_auth_pgsql *p)
{
	uint64_t d = p->wait_head ? p->wait_head->deadline : UINT64_MAX;

	for (unsigned i = 0; i < p->npool; i++)
		if (p->pool[i].q != NULL && p->pool[i].q->deadline < d)
			d = p->pool[i].q->deadline;
	if (d == UINT64_MAX)
		mq_timer_cancel(p->loop.timers, &p->req_timer);
	else
		mq_timer_set(p->loop.timers, &p->req_timer, d);
}

static void
req_timer_fn(mq_timer *t)
{
	mq_auth_pgsql *p = container_of(t, mq_auth_pgsql, req_timer);
	uint64_t       now = mq_now_ms();
	unsigned       n = 0;

	kick(p); /* new requests and ready connections (query()) */
	while (p->wait_head != NULL && p->wait_head->deadline <= now) {
		struct preq *q = p->wait_head;

		p->wait_head = q->next;
		if (p->wait_head == NULL)
			p->wait_tail = NULL;
		p->nwait--;
		req_fail(p, q);
		n++;
	}
	for (unsigned i = 0; i < p->npool; i++) {
		struct pconn *c = &p->pool[i];

		if (c->q != NULL && c->q->deadline <= now) {
			/* The query may run on: drop the connection (the
			 * server ends the query when it notices). */
			conn_fail(c, "query timed out; reconnecting", true);
			n++;
		}
	}
	if (n > 0)
		mq_faillog_fail(&p->flog, WHO,
		    "%u requests timed out after "
		    "%u ms",
		    n, p->timeout_ms);
	req_timer_arm(p);
}

/* ---- the API ---- */

int
mq_auth_pgsql_query(mq_auth_pgsql *p, const struct mq_who *who, mq_db_cb cb,
    void *arg, void **req, struct mq_db_answer *now)
{
	struct preq *q;

	*req = NULL;
	if (!p->started) {
		p->started = true;
		for (unsigned i = 0; i < p->npool; i++)
			conn_start(&p->pool[i]);
	}
	if (!any_up(p)) {
		mq_faillog_fail(&p->flog, WHO, "not connected");
		outcome(p, now);
		return 1;
	}
	if (p->nwait >= p->max_pending) {
		mq_faillog_fail(
		    &p->flog, WHO, "%u requests waiting", p->nwait);
		outcome(p, now);
		return 1;
	}
	q = calloc(1, sizeof(*q));
	if (q == NULL || (q->who = mq_who_dup(who)) == NULL
	    || (q->acl = mq_authz_new(p->plugin, p->nomatch_allow)) == NULL) {
		mq_err(WHO ": %s", strerror(ENOMEM));
		if (q != NULL)
			req_free(q);
		outcome(p, now);
		return 1;
	}
	q->cb = cb;
	q->arg = arg;
	q->deadline = mq_now_ms() + p->timeout_ms;
	if (p->wait_tail != NULL)
		p->wait_tail->next = q;
	else
		p->wait_head = q;
	p->wait_tail = q;
	p->nwait++;
	*req = q;
	/* Not kick(): an answer must not come from inside this call, and a
	 * ready connection is woken by its timer at once. */
	for (unsigned i = 0; i < p->npool; i++)
		if (p->pool[i].st == C_READY) {
			mq_timer_set(p->loop.timers, &p->req_timer, 0);
			return 0;
		}
	req_timer_arm(p);
	return 0;
}

void
mq_auth_pgsql_cancel(mq_auth_pgsql *p, void *req)
{
	struct preq *q = req, **pp;

	if (q == NULL)
		return;
	for (pp = &p->wait_head; *pp != NULL; pp = &(*pp)->next) {
		if (*pp != q)
			continue;
		*pp = q->next;
		if (p->wait_tail == q) {
			p->wait_tail = NULL;
			for (struct preq *w = p->wait_head; w != NULL;
			     w = w->next)
				p->wait_tail = w;
		}
		p->nwait--;
		req_free(q);
		return;
	}
	q->cb = NULL; /* running: dropped when its query ends */
}

int
mq_auth_pgsql_new(mq_auth_pgsql **out, const struct mq_loop *loop,
    const struct mq_auth_pgsql_config *cfg)
{
	mq_auth_pgsql *p = calloc(1, sizeof(*p));
	int            rc;

	*out = NULL;
	if (p == NULL)
		return -ENOMEM;
	p->loop = *loop;
	p->plugin = cfg->plugin;
	p->npool = cfg->pool ? cfg->pool : 4;
	if (p->npool > MAX_POOL)
		p->npool = MAX_POOL;
	p->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : 5000;
	p->max_pending = cfg->max_pending ? cfg->max_pending : 4096;
	mq_timer_init(&p->req_timer, req_timer_fn);
	for (unsigned i = 0; i < MAX_POOL; i++) {
		p->pool[i].p = p;
		mq_watch_init(&p->pool[i].w, on_watch);
		mq_timer_init(&p->pool[i].timer, conn_timer_fn);
	}
	rc = mq_backend_outcome_parse(cfg->on_error);
	if (rc < 0) {
		mq_err(WHO ": on_error '%s' is not deny or ignore",
		    cfg->on_error);
		goto fail;
	}
	p->outcome = rc;
	rc = mq_backend_nomatch_parse(cfg->acl_nomatch);
	if (rc < 0) {
		mq_err(WHO ": acl_nomatch '%s' is not deny or allow",
		    cfg->acl_nomatch);
		goto fail;
	}
	p->nomatch_allow = rc == 1;
	p->conninfo = strdup(
	    cfg->conninfo ? cfg->conninfo : "hostaddr=127.0.0.1 dbname=mqtt");
	if (p->conninfo == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	if ((rc = mq_pwhash_parse(&p->hash, cfg->password_hash)) < 0
	    || (rc = query_parse(&p->qs[Q_AUTH], cfg->auth_query,
	            "select password from mqtt_user where username = '%u' "
	            "limit 1"))
	        < 0
	    || (rc = query_parse(&p->qs[Q_SUPER], cfg->super_query,
	            "select is_superuser from mqtt_user where username = "
	            "'%u' limit 1"))
	        < 0
	    || (rc = query_parse(&p->qs[Q_ACL], cfg->acl_query,
	            "select allow, ipaddr, username, clientid, access, topic "
	            "from mqtt_acl where ipaddr = '%a' or username = '%u' or "
	            "username = '$all' or clientid = '%c'"))
	        < 0)
		goto fail;
	if (p->qs[Q_AUTH].sql == NULL) {
		mq_err(WHO ": auth_query is empty");
		rc = -EINVAL;
		goto fail;
	}
	*out = p;
	return 0;
fail:
	mq_auth_pgsql_free(&p);
	return rc;
}

void
mq_auth_pgsql_free(mq_auth_pgsql **pp)
{
	mq_auth_pgsql *p = *pp;

	if (p == NULL)
		return;
	for (unsigned i = 0; i < MAX_POOL; i++) {
		struct pconn *c = &p->pool[i];

		conn_close(c);
		if (c->q != NULL)
			req_free(c->q);
		mq_timer_cancel(p->loop.timers, &c->timer);
	}
	while (p->wait_head != NULL) {
		struct preq *q = p->wait_head;

		p->wait_head = q->next;
		req_free(q);
	}
	mq_timer_cancel(p->loop.timers, &p->req_timer);
	for (int i = 0; i < NQ; i++)
		free(p->qs[i].sql);
	free(p->conninfo);
	free(p);
	*pp = NULL;
}
