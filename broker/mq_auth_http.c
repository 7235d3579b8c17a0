/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mq_auth_http: the mqttd_auth_http plugin (see the header).  Requests
 * are built from the configured params, sent through mq_http, and their
 * answers judged by EMQ 2.3's rules; a small cache keeps answers for
 * cache_ttl.  The broker's side (parking a client's input while its ACL
 * question is out) is at the end.
 */
#include "config.h"

#include "broker/mq_auth_http.h"
#include "broker/mq_authz.h"
#include "broker/mq_http.h"
#include "broker/mq_int.h"
#include "broker/mq_log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- one configured request ---- */

struct req_tmpl {
	char *url; /* NULL: not configured */
	bool  post;
	char *params; /* "a=%u,b=%c" */
};

/* ---- the cache: open addressing over SHA-256 keys ---- */

#define CACHE_SLOTS 16384 /* power of two */
#define CACHE_PROBE 8

struct centry {
	uint8_t  key[32];
	uint64_t expires; /* ms; 0: empty */
	uint8_t  verdict; /* enum mq_db_verdict, or 1/0/-1 for ACL */
	bool     super;
};

struct mq_auth_http {
	int                     plugin;
	mq_http                *http;
	struct req_tmpl         auth, super, acl;
	uint32_t                ttl_ms;
	enum mq_backend_outcome on_error;
	struct mq_faillog       fail;
	struct centry          *cache; /* NULL: no cache */
	uint64_t                requests, hits;
};

static struct centry *
cache_find(mq_auth_http *a, const uint8_t key[32], bool for_insert)
{
	uint64_t       now = mq_now_ms();
	uint32_t       h;
	struct centry *victim = NULL;

	if (a->cache == NULL)
		return NULL;
	memcpy(&h, key, sizeof(h));
	for (unsigned i = 0; i < CACHE_PROBE; i++) {
		struct centry *e = &a->cache[(h + i) & (CACHE_SLOTS - 1)];

		if (e->expires > now && memcmp(e->key, key, 32) == 0)
			return e;
		if (for_insert && victim == NULL && e->expires <= now)
			victim = e;
	}
	/* full neighbourhood: the first slot gives way */
	return for_insert
	    ? (victim ? victim : &a->cache[h & (CACHE_SLOTS - 1)])
	    : NULL;
}

static void
cache_put(mq_auth_http *a, const uint8_t key[32], uint8_t verdict, bool super,
    uint32_t ttl_ms)
{
	struct centry *e = cache_find(a, key, true);

	if (e == NULL || ttl_ms == 0)
		return;
	memcpy(e->key, key, 32);
	e->expires = mq_now_ms() + ttl_ms;
	e->verdict = verdict;
	e->super = super;
}

/* The cache key of a question: kind, then every value it depends on
 * (the password only through the digest). */
static void
make_key(uint8_t out[32], char kind, const struct mq_who *w, const char *topic,
    size_t tlen, bool pub)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned    n = 32;
	uint8_t     sep = 0, acc = pub ? 2 : 1;

	memset(out, 0, 32);
	if (ctx == NULL)
		return;
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	EVP_DigestUpdate(ctx, &kind, 1);
#define PART(p, l)                                                            \
	do {                                                                  \
		uint64_t len_ = (p) != NULL ? (uint64_t) (l) : UINT64_MAX;    \
		EVP_DigestUpdate(ctx, &len_, sizeof(len_));                   \
		if ((p) != NULL)                                              \
			EVP_DigestUpdate(ctx, (p), (l));                      \
	} while (0)
	PART(w->client, w->client_len);
	PART(w->user, w->user_len);
	PART(w->peer, w->peer ? strlen(w->peer) : 0);
	if (kind == 'A')
		PART(w->pw, w->pw_len);
	else
		PART(topic, tlen);
	EVP_DigestUpdate(ctx, &acc, 1);
	EVP_DigestUpdate(ctx, &sep, 1);
#undef PART
	EVP_DigestFinal_ex(ctx, out, &n);
	EVP_MD_CTX_free(ctx);
}

/* ---- building a request ---- */

struct ask {
	const struct mq_who *w;
	const char          *topic;
	size_t               tlen;
	bool                 pub;
};

static bool
value_of(const struct ask *q, char ch, const char **v, size_t *n, char *tmp)
{
	switch (ch) {
	case 'A':
		tmp[0] = q->pub ? '2' : '1';
		*v = tmp;
		*n = 1;
		return true;
	case 't':
		*v = q->topic;
		*n = q->topic ? q->tlen : 0;
		return true;
	case 'p':
		*n = (size_t) snprintf(tmp, 8, "%u", q->w->port);
		*v = tmp;
		return true;
	default:
		return mq_who_value(q->w, ch, v, n);
	}
}

/*
 * "a=%u,b=%c" -> "a=alice&b=dev%2F1" (malloc'd): every value
 * percent-encoded, the names as configured.
 */
static char *
encode_params(const char *params, const struct ask *q, size_t *out_len)
{
	size_t cap = 1, n = 0;
	char  *out, *p, tmp[8];

	/* worst case: every byte of every value as %XX */
	for (const char *s = params; *s; s++) {
		const char *v;
		size_t      vn;

		cap += 3;
		if (s[0] == '%' && s[1] && value_of(q, s[1], &v, &vn, tmp))
			cap += 3 * vn;
	}
	out = p = malloc(cap);
	if (out == NULL)
		return NULL;
	for (const char *s = params; *s; s++) {
		const char *v;
		size_t      vn;

		if (*s == ',') {
			*p++ = '&';
		} else if (s[0] == '%' && s[1]
		    && value_of(q, s[1], &v, &vn, tmp)) {
			p = mq_http_urlencode(p, v != NULL ? v : "", vn);
			s++;
		} else if (*s == '=') {
			*p++ = '=';
		} else {
			p = mq_http_urlencode(p, s, 1);
		}
	}
	*p = 0;
	n = (size_t) (p - out);
	*out_len = n;
	return out;
}

/* mq_http_request for template t about q. */
static int
send_req(mq_auth_http *a, const struct req_tmpl *t, const struct ask *q,
    mq_http_cb cb, void *arg, mq_http_req **out)
{
	size_t plen = 0;
	char  *params = encode_params(t->params ? t->params : "", q, &plen);
	int    rc;

	if (params == NULL)
		return -ENOMEM;
	if (t->post) {
		rc = mq_http_request(a->http, t->url,
		    "application/x-www-form-urlencoded", params, plen, cb, arg,
		    out);
	} else {
		size_t ulen = strlen(t->url);
		char  *url = malloc(ulen + plen + 2);

		if (url == NULL) {
			free(params);
			return -ENOMEM;
		}
		memcpy(url, t->url, ulen);
		url[ulen] = strchr(t->url, '?') ? '&' : '?';
		memcpy(url + ulen + 1, params, plen + 1);
		rc = mq_http_request(
		    a->http, url, NULL, NULL, 0, cb, arg, out);
		free(url);
	}
	free(params);
	if (rc == 0)
		a->requests++;
	return rc;
}

/* EMQ 2.3's reading of an answer: 1 allow, 0 deny, -1 ignore, -2 the
 * backend failed. */
static int
judge(
    mq_auth_http *a, const char *what, int status, const char *body, size_t n)
{
	if (status == 200) {
		mq_faillog_ok(&a->fail, "mqttd_auth_http");
		return n == 6 && memcmp(body, "ignore", 6) == 0 ? -1 : 1;
	}
	if (status >= 400 && status < 500) {
		mq_faillog_ok(&a->fail, "mqttd_auth_http");
		return 0;
	}
	if (status < 0)
		mq_faillog_fail(&a->fail, "mqttd_auth_http", "%s: %s", what,
		    strerror(-status));
	else
		mq_faillog_fail(&a->fail, "mqttd_auth_http",
		    "%s: HTTP status %d", what, status);
	return -2;
}

/* ---- auth_req and super_req ---- */

struct authq {
	mq_auth_http *a;
	mq_db_cb      cb;
	void         *arg;
	mq_http_req  *req;
	struct mq_who w; /* the caller's strings, alive until cb */
	uint8_t       key[32];
};

static void
auth_answer(struct authq *q, enum mq_db_verdict v, bool super)
{
	struct mq_db_answer ans = { .v = v, .super = super };

	if (v == MQ_DB_ALLOW && super) {
		ans.acl = mq_authz_new(q->a->plugin, false);
		if (ans.acl != NULL)
			mq_authz_set_super(ans.acl, true);
	}
	q->cb(q->arg, &ans);
	mq_authz_free(&ans.acl);
	free(q);
}

static void
super_done(void *arg, int status, const char *body, size_t n)
{
	struct authq *q = arg;

	(void) body;
	(void) n;
	q->req = NULL;
	cache_put(q->a, q->key, MQ_DB_ALLOW, status == 200, q->a->ttl_ms);
	auth_answer(q, MQ_DB_ALLOW, status == 200);
}

static void
auth_done(void *arg, int status, const char *body, size_t n)
{
	struct authq *q = arg;
	mq_auth_http *a = q->a;
	int           j = judge(a, "auth_req", status, body, n);
	struct ask    k = { &q->w, NULL, 0, false };

	q->req = NULL;
	if (j == -2) {
		auth_answer(q,
		    a->on_error == MQ_BACKEND_IGNORE ? MQ_DB_IGNORE
		                                     : MQ_DB_DENY,
		    false);
		return;
	}
	if (j == 1 && a->super.url != NULL
	    && send_req(a, &a->super, &k, super_done, q, &q->req) == 0)
		return; /* the verdict waits for super_req */
	cache_put(a, q->key,
	    j == 1       ? MQ_DB_ALLOW
	        : j == 0 ? MQ_DB_REJECT
	                 : MQ_DB_IGNORE,
	    false, a->ttl_ms);
	auth_answer(q,
	    j == 1       ? MQ_DB_ALLOW
	        : j == 0 ? MQ_DB_REJECT
	                 : MQ_DB_IGNORE,
	    false);
}

int
mq_auth_http_query(mq_auth_http *a, const struct mq_who *who, mq_db_cb cb,
    void *arg, void **req, struct mq_db_answer *now)
{
	struct authq  *q;
	struct centry *e;
	struct ask     k = { who, NULL, 0, false };
	uint8_t        key[32];
	int            rc;

	*req = NULL;
	memset(now, 0, sizeof(*now));
	if (a->auth.url == NULL) {
		now->v = MQ_DB_IGNORE;
		return 1;
	}
	make_key(key, 'A', who, NULL, 0, false);
	if ((e = cache_find(a, key, false)) != NULL) {
		a->hits++;
		now->v = (enum mq_db_verdict) e->verdict;
		if (now->v == MQ_DB_ALLOW && e->super
		    && (now->acl = mq_authz_new(a->plugin, false)) != NULL)
			mq_authz_set_super(now->acl, true);
		now->super = e->super;
		return 1;
	}
	q = calloc(1, sizeof(*q));
	if (q == NULL) {
		now->v = MQ_DB_DENY;
		return 1;
	}
	*q = (struct authq) { a, cb, arg, NULL, *who, { 0 } };
	memcpy(q->key, key, 32);
	rc = send_req(a, &a->auth, &k, auth_done, q, &q->req);
	if (rc < 0) {
		free(q);
		mq_faillog_fail(&a->fail, "mqttd_auth_http", "auth_req: %s",
		    rc == -EBUSY ? "too many requests waiting"
		                 : strerror(-rc));
		now->v = a->on_error == MQ_BACKEND_IGNORE ? MQ_DB_IGNORE
		                                          : MQ_DB_DENY;
		return 1;
	}
	*req = q;
	return 0;
}

void
mq_auth_http_cancel(mq_auth_http *a, void *req)
{
	struct authq *q = req;

	if (q == NULL)
		return;
	mq_http_cancel(a->http, q->req);
	free(q);
}

uint64_t
mq_auth_http_requests(const mq_auth_http *a)
{
	return a->requests;
}

uint64_t
mq_auth_http_cache_hits(const mq_auth_http *a)
{
	return a->hits;
}

/* ---- life cycle ---- */

static int
tmpl_init(struct req_tmpl *t, const char *name, const char *url,
    const char *method, const char *params)
{
	memset(t, 0, sizeof(*t));
	if (url == NULL || url[0] == 0)
		return 0;
	if (method != NULL && strcasecmp(method, "post") == 0) {
		t->post = true;
	} else if (method != NULL && strcasecmp(method, "get") != 0) {
		mq_err("mqttd_auth_http: %s method must be get or post", name);
		return -EINVAL;
	}
	t->url = strdup(url);
	t->params = params != NULL ? strdup(params) : NULL;
	return t->url == NULL || (params != NULL && t->params == NULL)
	    ? -ENOMEM
	    : 0;
}

static void
tmpl_fini(struct req_tmpl *t)
{
	free(t->url);
	free(t->params);
}

int
mq_auth_http_new(mq_auth_http **out, const struct mq_loop *loop,
    const struct mq_auth_http_config *cfg)
{
	struct mq_http_config hc = {
		.max_active = cfg->max_requests ? cfg->max_requests : 64,
		.max_queue = 4096,
		.timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : 5000,
		.cafile = cfg->cafile,
	};
	mq_auth_http *a = calloc(1, sizeof(*a));
	int           rc, oe = mq_backend_outcome_parse(cfg->on_error);

	*out = NULL;
	if (a == NULL)
		return -ENOMEM;
	a->plugin = cfg->plugin;
	rc = oe < 0 ? -EINVAL : 0;
	if (oe < 0)
		mq_err("mqttd_auth_http: on_error must be deny or ignore");
	a->on_error = oe < 0 ? MQ_BACKEND_DENY : (enum mq_backend_outcome) oe;
	a->ttl_ms = cfg->cache_ttl_s * 1000u;
	if (rc == 0)
		rc = tmpl_init(&a->auth, "auth_req", cfg->auth_req,
		    cfg->auth_method, cfg->auth_params);
	if (rc == 0)
		rc = tmpl_init(&a->super, "super_req", cfg->super_req,
		    cfg->super_method, cfg->super_params);
	if (rc == 0)
		rc = tmpl_init(&a->acl, "acl_req", cfg->acl_req,
		    cfg->acl_method, cfg->acl_params);
	/* The cache is also where an ACL answer waits for the packet it
	 * was asked for: it exists even with cache_ttl 0. */
	if (rc == 0
	    && (a->cache = calloc(CACHE_SLOTS, sizeof(*a->cache))) == NULL)
		rc = -ENOMEM;
	if (rc == 0)
		rc = mq_http_new(&a->http, loop, &hc);
	if (rc < 0) {
		mq_auth_http_free(&a);
		return rc;
	}
	*out = a;
	return 0;
}

void
mq_auth_http_free(mq_auth_http **ap)
{
	mq_auth_http *a = *ap;

	if (a == NULL)
		return;
	mq_http_free(&a->http);
	tmpl_fini(&a->auth);
	tmpl_fini(&a->super);
	tmpl_fini(&a->acl);
	free(a->cache);
	free(a);
	*ap = NULL;
}

/* ---- the broker's side: acl_req ---- */

/* One ACL question of one connection. */
struct mq_http_aclq {
	struct mq_http_aclq *next; /* c->http_acl */
	mq_conn             *c;
	mq_http_req         *req;
	uint8_t              key[32];
};

/* c's client as a query sees it; peer points into buf. */
static void
conn_who(mq_conn *c, struct mq_who *w, char *buf, size_t cap)
{
	memset(w, 0, sizeof(*w));
	buf[0] = 0;
	if (c->peer.sin6_family == AF_INET)
		inet_ntop(AF_INET,
		    &((const struct sockaddr_in *) (void *) &c->peer)
		         ->sin_addr,
		    buf, (socklen_t) cap);
	else if (c->peer.sin6_family == AF_INET6)
		inet_ntop(AF_INET6, &c->peer.sin6_addr, buf, (socklen_t) cap);
	w->peer = buf;
	w->user = c->username;
	w->user_len = c->username_len;
	if (c->s != NULL) {
		w->client = c->s->id;
		w->client_len = c->s->id_len;
	}
	if (c->listener < c->b->nlisteners)
		w->port = c->b->listeners[c->listener].port;
}

static bool
acl_in_use(mq_broker *b, mq_conn *c)
{
	mq_auth_http *a = b->auth_http;

	if (a == NULL || a->acl.url == NULL
	    || !mq__plugin_active(b, a->plugin))
		return false;
	/* a superuser (super_req said so) is never asked about */
	return !(c->authz != NULL && mq_authz_plugin(c->authz) == a->plugin
	    && mq_authz_super(c->authz));
}

int
mq__http_acl(
    mq_broker *b, mq_conn *c, const char *topic, size_t len, bool publish)
{
	mq_auth_http  *a = b->auth_http;
	struct mq_who  w;
	struct centry *e;
	uint8_t        key[32];
	char           peer[INET6_ADDRSTRLEN];

	if (!acl_in_use(b, c))
		return -1;
	conn_who(c, &w, peer, sizeof(peer));
	make_key(key, 'T', &w, topic, len, publish);
	e = cache_find(a, key, false);
	if (e == NULL)
		return -2;
	a->hits++;
	return (int8_t) e->verdict;
}

static void
acl_done(void *arg, int status, const char *body, size_t n)
{
	struct mq_http_aclq *q = arg, **pp;
	mq_conn             *c = q->c;
	mq_auth_http        *a = c->b->auth_http;
	int                  j = judge(a, "acl_req", status, body, n);

	if (j == -2) /* the configured outcome, for this packet only */
		j = a->on_error == MQ_BACKEND_IGNORE ? -1 : 0;
	/* kept at least a second: the packet that asked reads it next */
	cache_put(a, q->key, (uint8_t) (int8_t) j, false,
	    status > 0 && a->ttl_ms > 1000 ? a->ttl_ms : 1000);
	for (pp = &c->http_acl; *pp != NULL; pp = &(*pp)->next)
		if (*pp == q) {
			*pp = q->next;
			break;
		}
	free(q);
	if (c->http_acl != NULL || c->state == MQ_CS_CLOSING)
		return;
	/* every answer is in: the packet again, and what followed it */
	mq__conn_watch(c);
	mq__conn_input_buffered(c);
}

/* Asks about topic unless the cache knows; false on a failure to ask
 * (then the packet goes on and meets the configured outcome). */
static void
acl_ask(mq_conn *c, const struct mq_who *w, const char *topic, size_t len,
    bool pub)
{
	mq_auth_http        *a = c->b->auth_http;
	struct mq_http_aclq *q;
	struct ask           k = { w, topic, len, pub };
	uint8_t              key[32];

	make_key(key, 'T', w, topic, len, pub);
	if (cache_find(a, key, false) != NULL)
		return;
	for (q = c->http_acl; q != NULL; q = q->next)
		if (memcmp(q->key, key, 32) == 0)
			return; /* the same filter twice in one SUBSCRIBE */
	q = calloc(1, sizeof(*q));
	if (q == NULL)
		return;
	q->c = c;
	memcpy(q->key, key, 32);
	if (send_req(a, &a->acl, &k, acl_done, q, &q->req) < 0) {
		mq_faillog_fail(&a->fail, "mqttd_auth_http",
		    "acl_req: too many requests waiting");
		cache_put(a, key,
		    (uint8_t) (int8_t) (a->on_error == MQ_BACKEND_IGNORE ? -1
		                                                         : 0),
		    false, 1000);
		free(q);
		return;
	}
	q->next = c->http_acl;
	c->http_acl = q;
}

/* The topic a PUBLISH names, its alias resolved (nothing is changed:
 * the handler sets aliases when it runs). */
static bool
publish_topic(const mq_conn *c, const mq_packet *pkt, mq_str *t)
{
	t->ptr = pkt->u.publish.topic.ptr;
	t->len = pkt->u.publish.topic.len;
	if (t->len > 0 || c->proto != 5
	    || !mq_props_has(&pkt->props, MQ_P_TOPIC_ALIAS))
		return t->len > 0;
	if (c->aliases == NULL || pkt->props.topic_alias > MQ_TOPIC_ALIAS_MAX
	    || c->aliases->topic[pkt->props.topic_alias] == NULL)
		return false; /* the handler says what is wrong */
	t->ptr = c->aliases->topic[pkt->props.topic_alias];
	t->len = c->aliases->len[pkt->props.topic_alias];
	return true;
}

bool
mq__http_acl_wait(mq_conn *c, const mq_packet *pkt)
{
	struct mq_who w;
	char          peer[INET6_ADDRSTRLEN];

	if (c->http_acl != NULL)
		return true; /* still waiting: later bytes stay behind */
	if ((pkt->type != MQ_PUBLISH && pkt->type != MQ_SUBSCRIBE)
	    || !acl_in_use(c->b, c))
		return false;
	conn_who(c, &w, peer, sizeof(peer));
	if (pkt->type == MQ_PUBLISH) {
		mq_str t;

		if (publish_topic(c, pkt, &t))
			acl_ask(c, &w, t.ptr, t.len, true);
	} else {
		struct mq_filter_iter it;
		mq_str                f;
		uint8_t               qos;
		size_t                off;

		mq_filters_begin(&it, pkt);
		while (mq_filters_next(&it, &f, &qos)) {
			off = 0;
			if (mq_topic_share(f.ptr, f.len, &off) < 0)
				continue;
			acl_ask(c, &w, f.ptr + off, f.len - off, false);
		}
	}
	if (c->http_acl == NULL)
		return false;
	mq__conn_watch(c); /* reads nothing until the answers are in */
	return true;
}

void
mq__http_acl_cancel(mq_conn *c)
{
	while (c->http_acl != NULL) {
		struct mq_http_aclq *q = c->http_acl;

		c->http_acl = q->next;
		if (c->b->auth_http != NULL) /* else freed with it */
			mq_http_cancel(c->b->auth_http->http, q->req);
		free(q);
	}
}

int
mq__auth_http_open(mq_broker *b, mq_auth_http **out)
{
	const mq_config           *cfg = b->cfg;
	struct mq_loop             loop = { b->epfd, &b->timers };
	struct mq_auth_http_config hc = {
		.plugin = MQ_PLUGIN_AUTH_HTTP,
		.auth_req = cfg->http_auth_req,
		.auth_method = cfg->http_auth_method,
		.auth_params = cfg->http_auth_params,
		.super_req = cfg->http_super_req,
		.super_method = cfg->http_super_method,
		.super_params = cfg->http_super_params,
		.acl_req = cfg->http_acl_req,
		.acl_method = cfg->http_acl_method,
		.acl_params = cfg->http_acl_params,
		.timeout_ms = cfg->http_timeout,
		.max_requests = cfg->http_max_requests,
		.cache_ttl_s = cfg->http_cache_ttl,
		.cafile = cfg->http_cafile,
		.on_error = cfg->http_on_error,
	};
	int rc;

	*out = NULL;
	if (b->plugins == NULL
	    || (cfg->http_auth_req == NULL && cfg->http_acl_req == NULL))
		return 0;
	rc = mq_auth_http_new(&b->auth_http, &loop, &hc);
	*out = b->auth_http;
	return rc;
}

void
mq__auth_http_close(mq_broker *b)
{
	mq_auth_http_free(&b->auth_http);
}
