/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * api_route: dispatch of /api/v2 (the table and the handlers of the read
 * and command routes are in api_route_data.c, the users routes in
 * api_route_users.c), the auth check in front of it, /status, /metrics
 * and the path listing.
 *
 * Paths are matched on the raw (still %-encoded) REQUEST_URI, segment by
 * segment, so "%2F" inside a client id never splits it; captures are
 * decoded after matching.  {topic} takes the rest of the path, so
 * routes/a/b is topic "a/b".  One trailing '/' is ignored (the doc writes
 * monitoring/metrics/).  An unknown path or method is HTTP 404 with an
 * empty body; everything else is HTTP 200 with EMQ's envelope.
 */
#include "config.h"

#include "fcgi/api_route.h"

#include "fcgi/api_log.h"

#include "fcgi/api_http.h"
#include "fcgi/api_json.h"
#include "fcgi/api_prom.h"
#include "fcgi/api_route_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define API_PREFIX "/api/v2"

/* Decodes raw[0..len) into a new string; NULL on a bad escape. */
static char *
capture(const char *raw, size_t len, size_t *out_len)
{
	char *s = malloc(len + 1);
	int   n;

	if (s == NULL)
		return NULL;
	n = api_pct_decode(s, raw, len, false);
	if (n <= 0) {
		free(s);
		return NULL;
	}
	*out_len = (size_t) n;
	return s;
}

/*
 * Matches the raw path against pattern segment by segment; on success
 * h holds the decoded captures.  {topic} takes the rest of the path.
 */
static bool
match(const char *pattern, const char *path, size_t plen, struct hctx *h)
{
	const char *p = pattern;
	size_t      off = 0;
	bool        more = plen > 0; /* a segment starts at off */

	while (*p) {
		size_t      pl = strcspn(p, "/"), sl, dummy;
		const char *seg = path + off;
		const char *slash;

		if (!more)
			return false;
		if (pl == 7 && memcmp(p, "{topic}", 7) == 0) {
			h->id = capture(seg, plen - off, &h->id_len);
			return p[pl] == '\0' && h->id != NULL;
		}
		slash = memchr(seg, '/', plen - off);
		sl = slash ? (size_t) (slash - seg) : plen - off;
		if (p[0] == '{') {
			bool   node = pl == 6 && memcmp(p, "{node}", 6) == 0;
			char **dst = node ? &h->node_param : &h->id;

			*dst = capture(seg, sl, node ? &dummy : &h->id_len);
			if (*dst == NULL)
				return false;
		} else if (sl != pl || memcmp(p, seg, pl) != 0) {
			return false;
		}
		off += sl;
		more = off < plen;
		if (more)
			off++; /* the '/' */
		p += pl;
		if (*p == '/')
			p++;
	}
	return !more;
}

static void
free_caps(struct hctx *h)
{
	free(h->node_param);
	free(h->id);
	h->node_param = h->id = NULL;
	h->id_len = 0;
}

/*
 * Maps or refreshes this thread's segment view and sets h->up and
 * h->node.  The check (a few system calls) runs at most every
 * API_SEGMENT_CHECK_MS, or at once with fresh (node routes, /status, and
 * after a read failed), so a stopped or restarted broker is noticed within
 * that time.
 */
static void
segment_refresh(struct hctx *h, bool fresh)
{
	struct api_thread *t = h->t;
	int64_t            now = api_clock_ms(CLOCK_MONOTONIC_COARSE);
	int                rc = -ENOENT;

	if (fresh || t->shm == NULL
	    || now - t->checked_ms >= API_SEGMENT_CHECK_MS) {
		t->checked_ms = now;
		t->up = false;
		if (t->shm != NULL
		    || shm_reader_open_dir(&t->shm, t->cfg->state_dir) == 0) {
			rc = shm_reader_refresh(t->shm);
			if (rc == 0)
				rc = shm_node_get(t->shm, &t->node);
		}
		if (rc == -ENOENT || rc == -EBADMSG || rc == -EPERM)
			shm_reader_close(
			    &t->shm); /* look it up again next time */
		t->up = rc == 0 && t->node.alive;
	}
	h->up = t->up;
	if (h->up) {
		h->node = t->node;
		h->node_name = h->node.node;
	}
}

/* ---- responses ---------------------------------------------------- */

static __thread char  *spare;
static __thread size_t spare_cap;

void
api_response_release(struct api_response *rs)
{
	if (spare == NULL && rs->body != NULL && rs->cap > 0
	    && rs->cap <= (1u << 20)) {
		spare = rs->body;
		spare_cap = rs->cap;
	} else {
		free(rs->body);
	}
	rs->body = NULL;
	rs->cap = 0;
}

/* A JSON response is written into this thread's spare buffer. */
static void
json_begin(struct api_jw *w)
{
	api_jw_init(w, spare, spare_cap);
	spare = NULL;
	spare_cap = 0;
}

static void
json_end(struct api_jw *w, struct api_response *rs)
{
	int rc = api_jw_finish(w, &rs->body, &rs->cap, &rs->len);

	rs->status = 200;
	rs->content_type = "application/json";
	if (rc != 0) {
		api_err("response JSON: %s", strerror(-rc));
		rs->status = 503;
		rs->content_type = NULL;
		rs->len = 0;
	}
}

static void
respond_text(struct api_response *rs, int status, const char *text)
{
	rs->status = status;
	rs->content_type = "text/plain; charset=utf-8";
	rs->body = strdup(text);
	rs->len = rs->body ? strlen(text) : 0;
}

static void
respond_listing(struct api_response *rs)
{
	struct api_jw w;

	json_begin(&w);
	api_json_ok_begin(&w);
	api_jw_array(&w);
	for (size_t i = 0; i < api__nroutes; i++) {
		char path[128];

		snprintf(path, sizeof(path), API_PREFIX "/%s",
		    api__routes[i].pattern);
		api_jw_object(&w);
		API_JW_KEY(&w, "method");
		api_jw_cstr(&w, api__routes[i].method);
		API_JW_KEY(&w, "path");
		api_jw_cstr(&w, path);
		api_jw_object_end(&w);
	}
	api_jw_array_end(&w);
	api_json_ok_end(&w);
	json_end(&w, rs);
}

static void
respond_status(struct hctx *h, struct api_response *rs)
{
	char buf[512];

	segment_refresh(h, true);
	snprintf(buf, sizeof(buf), "Node %s is %s\nmqttd is %s\n",
	    h->node_name, h->up ? "started" : "stopped",
	    h->up ? "running" : "not running");
	respond_text(rs, h->up ? 200 : 503, buf);
}

static void
respond_prom(struct hctx *h, struct api_response *rs)
{
	struct api_prom_input in = { .node = NULL };
	uint64_t              m[SHM_METRIC_COUNT], s[SHM_STAT_COUNT];
	uint64_t              st[SHM_STORE_FIG_COUNT];
	struct lis_vec        lv = { 0 };

	segment_refresh(h, false);
	in.node = h->node_name;
	in.up = h->up && shm_metrics_get(R(h), m) == 0
	    && shm_stats_get(R(h), s) == 0 && api__listeners_get(h, &lv) == 0;
	if (in.up) {
		int64_t now = time(NULL);

		in.uptime = now > h->node.started_at
		    ? (uint64_t) (now - h->node.started_at)
		    : 0;
		in.metrics = m;
		in.stats = s;
		if (shm_store_get(R(h), st) == 0)
			in.store = st;
		in.listeners = lv.v;
		in.nlisteners = lv.n;
	}
	rs->status = 200;
	rs->content_type = "text/plain; version=0.0.4; charset=utf-8";
	rs->body = spare;
	rs->cap = spare_cap;
	spare = NULL;
	if (api_prom_render_buf(&in, &rs->body, &rs->cap, &rs->len) != 0) {
		rs->status = 503;
		rs->content_type = NULL;
		rs->len = 0;
	}
	free(lv.v);
}

/* Returns true if the request may go on; else rs is the answer. */
static bool
authorized(struct hctx *h, struct api_response *rs)
{
	const char *hdr = h->rq->authorization;
	int         rc;

	if (hdr != NULL && hdr[0] != '\0') {
		rc = api_auth_check(h->t->auth, hdr, !h->rq->gate, &h->role);
		if (rc == 0)
			return true;
		if (rc == -EAGAIN) {
			/* nginx re-sends this through its per-address limit */
			rs->status = 200;
			rs->extra_headers
			    = "X-Accel-Redirect: @mqttd_verify\r\n";
			return false;
		}
	}
	/* No WWW-Authenticate: nginx owns the challenge (its map sends it to
	 * Basic clients, not to the dashboard's requests).  nginx copies an
	 * intercepted 401's WWW-Authenticate past fastcgi_hide_header, so a
	 * header here would reach the dashboard and open the browser's
	 * password dialog. */
	rs->status = 401;
	return false;
}

static void
dispatch(
    struct hctx *h, const char *path, size_t plen, struct api_response *rs)
{
	const struct route *r = NULL;
	struct api_jw       w;
	size_t              mark;
	const char         *method
	    = strcmp(h->rq->method, "HEAD") == 0 ? "GET" : h->rq->method;

	for (size_t i = 0; i < api__nroutes && r == NULL; i++) {
		if (!match(api__routes[i].pattern, path, plen, h)) {
			free_caps(h);
			continue;
		}
		if (strcmp(api__routes[i].method, method) == 0)
			r = &api__routes[i];
		else
			free_caps(h);
	}
	if (r == NULL) {
		rs->status = 404;
		return;
	}
	json_begin(&w);
	h->w = &w;
	api_json_ok_begin(&w);
	mark = api_jw_len(&w);
	if (r->flags & (F_SHM | F_FRESH) || h->node_param != NULL)
		segment_refresh(h, r->flags & F_FRESH);
	if (h->role != API_ROLE_ADMIN && strcmp(r->method, "GET") != 0)
		api_err_set(&h->err, API_EFORBIDDEN,
		    "forbidden: role %s may only read (GET, HEAD)",
		    api_role_name(h->role));
	else if (h->node_param != NULL
	    && strcmp(h->node_param, h->node_name) != 0)
		api_err_set(&h->err, API_EBADRPC, "badrpc: unknown node %s",
		    h->node_param);
	else if ((r->flags & F_SHM) && !h->up)
		api_err_set(&h->err, API_EBADRPC,
		    "badrpc: broker not running on %s", h->node_name);
	else
		r->fn(h);
	if (h->err.code != 0) {
		api_jw_reset(&w); /* what the handler wrote is dropped */
		api_json_err(&w, &h->err);
	} else {
		if (api_jw_len(&w) == mark) { /* nothing to say: [] */
			api_jw_array(&w);
			api_jw_array_end(&w);
		}
		api_json_ok_end(&w);
	}
	json_end(&w, rs);
	if (h->err.code == API_EFORBIDDEN && rs->status == 200)
		rs->status = 403;
}

void
api_handle(struct api_thread *t, const struct api_request *rq,
    struct api_response *rs)
{
	struct hctx h = { .t = t, .rq = rq, .node_name = t->cfg->node };
	const char *uri = rq->uri ? rq->uri : "/";
	size_t      len = strcspn(uri, "?");
	/* HEAD is GET without the body, which nginx drops */
	bool get = strcmp(rq->method, "GET") == 0
	    || strcmp(rq->method, "HEAD") == 0;

	memset(rs, 0, sizeof(*rs));
	if (len > 1 && uri[len - 1] == '/')
		len--; /* one trailing slash is not part of the route */
	if (get
	    && (len == 1
	        || (len == strlen(API_PREFIX)
	            && memcmp(uri, API_PREFIX, len) == 0))) {
		respond_listing(rs);
	} else if (get && len == 7 && memcmp(uri, "/status", 7) == 0) {
		respond_status(&h, rs);
	} else if (get && len == 8 && memcmp(uri, "/metrics", 8) == 0) {
		if (authorized(&h, rs))
			respond_prom(&h, rs);
	} else if (len > strlen(API_PREFIX "/")
	    && memcmp(uri, API_PREFIX "/", strlen(API_PREFIX "/")) == 0) {
		size_t skip = strlen(API_PREFIX "/");

		if (authorized(&h, rs))
			dispatch(&h, uri + skip, len - skip, rs);
	} else {
		rs->status = 404;
	}
	free_caps(&h);
}
