/*
 * api_route: the dispatch table of /api/v2 and the handlers.
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

#include "fcgi/api.h"
#include "fcgi/api_body.h"
#include "fcgi/api_ctl.h"
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

enum {
	F_SHM = 1,   /* needs the live segment, else 101 */
	F_FRESH = 2, /* shows the node's state: look at the segment now */
};

struct route {
	const char *method;
	const char *pattern;
	handler_fn *fn;
	unsigned    flags;
};

/* ---- helpers ------------------------------------------------------ */

static int
seg_err(struct hctx *h, int rc)
{
	h->t->checked_ms = INT64_MIN / 2; /* look at the segment again */
	return api_err_set(
	    &h->err, API_EBADRPC, "badrpc: segment read: %s", strerror(-rc));
}

static shm_reader *
R(struct hctx *h)
{
	return h->t->shm;
}

static void
node_view(struct hctx *h, struct api_node_view *v)
{
	memset(v, 0, sizeof(*v));
	v->name = h->node_name;
	v->node = h->up ? &h->node : NULL;
	v->now = time(NULL);
	if (h->up) {
		int64_t n = shm_clients_total(R(h));

		v->clients = n > 0 ? (uint64_t) n : 0;
	}
	if (getloadavg(v->load, 3) != 3)
		v->load[0] = v->load[1] = v->load[2] = 0;
}

/* Wraps result as {"<node>": result}: the cluster form. */
static json_object *
by_node(struct hctx *h, json_object *o)
{
	json_object *m = json_object_new_object();

	json_object_object_add(m, h->node_name, o);
	return m;
}

static int
ctl(struct hctx *h, json_object *cmd)
{
	int rc;

	if (cmd == NULL)
		return h->err.code;
	rc = api_ctl_call(
	    h->t->cfg->ctl_path, cmd, h->t->cfg->ctl_timeout_ms, &h->err);
	json_object_put(cmd);
	if (rc == 0)
		h->result = json_object_new_array();
	return rc;
}

/* ---- nodes -------------------------------------------------------- */

static void
h_mgmt_nodes(struct hctx *h)
{
	struct api_node_view v;

	node_view(h, &v);
	h->result = json_object_new_array();
	json_object_array_add(h->result, api_json_mgmt_node(&v, true));
}

static void
h_mgmt_node(struct hctx *h)
{
	struct api_node_view v;

	node_view(h, &v);
	h->result = api_json_mgmt_node(&v, false);
}

static void
h_mon_nodes(struct hctx *h)
{
	struct api_node_view v;

	node_view(h, &v);
	h->result = json_object_new_array();
	json_object_array_add(h->result, api_json_mon_node(&v));
}

static void
h_mon_node(struct hctx *h)
{
	struct api_node_view v;

	node_view(h, &v);
	h->result = api_json_mon_node(&v);
}

/* ---- listeners ---------------------------------------------------- */

struct lis_vec {
	shm_listener *v;
	size_t        n, cap;
};

static int
lis_cb(const shm_listener *l, void *arg)
{
	struct lis_vec *lv = arg;

	if (lv->n == lv->cap) {
		size_t        cap = lv->cap ? lv->cap * 2 : 8;
		shm_listener *nv = realloc(lv->v, cap * sizeof(*nv));

		if (nv == NULL)
			return -ENOMEM;
		lv->v = nv;
		lv->cap = cap;
	}
	lv->v[lv->n++] = *l;
	return 0;
}

/* The broker's listeners, then the API's own (nginx's) listeners. */
static int
listeners_get(struct hctx *h, struct lis_vec *lv)
{
	const struct api_config *cfg = h->t->cfg;
	const char *addrs[2] = { cfg->http_listen, cfg->https_listen };
	int         rc;

	memset(lv, 0, sizeof(*lv));
	rc = shm_listeners_each(R(h), lis_cb, lv);
	if (rc < 0)
		return rc;
	for (int i = 0; i < 2; i++) {
		shm_listener l = { .acceptors = (uint32_t) cfg->workers };

		if (addrs[i] == NULL || addrs[i][0] == '\0')
			continue;
		snprintf(l.protocol, sizeof(l.protocol), "mqtt:api");
		snprintf(l.listen, sizeof(l.listen), "%s", addrs[i]);
		l.max_clients = (uint32_t) (cfg->workers * cfg->threads);
		l.current_clients
		    = cfg->inflight ? (uint32_t) cfg->inflight() : 0;
		rc = lis_cb(&l, lv);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static json_object *
listeners_json(struct hctx *h)
{
	struct lis_vec lv;
	json_object   *a;
	int            rc = listeners_get(h, &lv);

	if (rc < 0) {
		free(lv.v);
		seg_err(h, rc);
		return NULL;
	}
	a = json_object_new_array();
	for (size_t i = 0; i < lv.n; i++)
		json_object_array_add(a, api_json_listener(&lv.v[i]));
	free(lv.v);
	return a;
}

static void
h_mon_listeners(struct hctx *h)
{
	json_object *a = listeners_json(h);

	if (a != NULL)
		h->result = by_node(h, a);
}

static void
h_mon_listeners_node(struct hctx *h)
{
	h->result = listeners_json(h);
}

/* ---- metrics and stats -------------------------------------------- */

static json_object *
metrics_json(struct hctx *h)
{
	uint64_t m[SHM_METRIC_COUNT];
	int      rc = shm_metrics_get(R(h), m);

	if (rc < 0) {
		seg_err(h, rc);
		return NULL;
	}
	return api_json_metrics(m);
}

static json_object *
stats_json(struct hctx *h)
{
	uint64_t s[SHM_STAT_COUNT];
	int      rc = shm_stats_get(R(h), s);

	if (rc < 0) {
		seg_err(h, rc);
		return NULL;
	}
	return api_json_stats(s);
}

static void
h_mon_metrics(struct hctx *h)
{
	json_object *o = metrics_json(h);

	if (o != NULL)
		h->result = by_node(h, o);
}

static void
h_mon_metrics_node(struct hctx *h)
{
	h->result = metrics_json(h);
}

static void
h_mon_stats(struct hctx *h)
{
	json_object *o = stats_json(h);

	if (o != NULL)
		h->result = by_node(h, o);
}

static void
h_mon_stats_node(struct hctx *h)
{
	h->result = stats_json(h);
}

/* ---- tables: pages and lookups ------------------------------------ */

static int
client_cb(const shm_client *c, void *arg)
{
	return json_object_array_add(arg, api_json_client(c));
}

static int
session_cb(const shm_session *s, void *arg)
{
	return json_object_array_add(arg, api_json_session(s));
}

static int
sub_cb(const shm_subscription *s, void *arg)
{
	return json_object_array_add(arg, api_json_subscription(s));
}

static int
route_cb(const shm_route *rt, void *arg)
{
	return json_object_array_add(arg, api_json_route(rt));
}

enum table { T_CLIENTS, T_SESSIONS, T_SUBS, T_ROUTES };

static int64_t
table_total(shm_reader *r, enum table t)
{
	switch (t) {
	case T_CLIENTS:
		return shm_clients_total(r);
	case T_SESSIONS:
		return shm_sessions_total(r);
	case T_SUBS:
		return shm_subscriptions_total(r);
	default:
		return shm_routes_total(r);
	}
}

static int
table_page(
    shm_reader *r, enum table t, uint64_t off, uint32_t n, json_object *a)
{
	switch (t) {
	case T_CLIENTS:
		return shm_clients_page(r, off, n, client_cb, a);
	case T_SESSIONS:
		return shm_sessions_page(r, off, n, session_cb, a);
	case T_SUBS:
		return shm_subscriptions_page(r, off, n, sub_cb, a);
	default:
		return shm_routes_page(r, off, n, route_cb, a);
	}
}

static int
table_get(
    shm_reader *r, enum table t, const char *id, size_t len, json_object *a)
{
	switch (t) {
	case T_CLIENTS:
		return shm_client_get(r, id, len, client_cb, a);
	case T_SESSIONS:
		return shm_session_get(r, id, len, session_cb, a);
	case T_SUBS:
		return shm_subscriptions_of(r, id, len, sub_cb, a);
	default:
		return shm_routes_of(r, id, len, route_cb, a);
	}
}

static void
page(struct hctx *h, enum table t)
{
	const char     *q = h->rq->query ? h->rq->query : "";
	struct api_page p;
	json_object    *a;
	int64_t         total;
	uint64_t        off;
	int             rc;

	if (api_page_parse(q, strlen(q), &p, h->err.msg, sizeof(h->err.msg))
	    != 0) {
		h->err.code = API_ETYPE;
		return;
	}
	total = table_total(R(h), t);
	if (total < 0) {
		seg_err(h, (int) total);
		return;
	}
	a = json_object_new_array();
	off = (p.curr_page - 1) * p.page_size;
	if (off < (uint64_t) total) {
		rc = table_page(R(h), t, off, (uint32_t) p.page_size, a);
		if (rc < 0) {
			json_object_put(a);
			seg_err(h, rc);
			return;
		}
	}
	h->result = api_json_page(&p, (uint64_t) total, a);
}

static void
lookup(struct hctx *h, enum table t)
{
	json_object *a = json_object_new_array();
	int          rc = table_get(R(h), t, h->id, h->id_len, a);

	if (rc < 0 && rc != -ENOENT) {
		json_object_put(a);
		seg_err(h, rc);
		return;
	}
	h->result = json_object_new_object();
	json_object_object_add(h->result, "objects", a);
}

static void
h_clients(struct hctx *h)
{
	page(h, T_CLIENTS);
}

static void
h_client(struct hctx *h)
{
	lookup(h, T_CLIENTS);
}

static void
h_sessions(struct hctx *h)
{
	page(h, T_SESSIONS);
}

static void
h_session(struct hctx *h)
{
	lookup(h, T_SESSIONS);
}

static void
h_subs(struct hctx *h)
{
	page(h, T_SUBS);
}

static void
h_subs_of(struct hctx *h)
{
	lookup(h, T_SUBS);
}

static void
h_routes(struct hctx *h)
{
	page(h, T_ROUTES);
}

static void
h_routes_of(struct hctx *h)
{
	lookup(h, T_ROUTES);
}

/* ---- commands ----------------------------------------------------- */

static void
h_kick(struct hctx *h)
{
	ctl(h, api_cmd_kick(h->id, h->id_len));
}

static void
h_publish(struct hctx *h)
{
	ctl(h, api_cmd_publish(h->rq->body, h->rq->body_len, &h->err));
}

static void
h_subscribe(struct hctx *h)
{
	ctl(h, api_cmd_subscribe(h->rq->body, h->rq->body_len, &h->err));
}

static void
h_unsubscribe(struct hctx *h)
{
	ctl(h, api_cmd_unsubscribe(h->rq->body, h->rq->body_len, &h->err));
}

static int
plugin_cb(const shm_plugin *p, void *arg)
{
	return json_object_array_add(arg, api_json_plugin(p));
}

static void
h_plugins(struct hctx *h)
{
	json_object *a = json_object_new_array();
	int          rc = shm_plugins_each(R(h), plugin_cb, a);

	if (rc < 0) {
		json_object_put(a);
		seg_err(h, rc);
		return;
	}
	h->result = a;
}

static void
h_plugin_put(struct hctx *h)
{
	ctl(h, api_cmd_plugin(h->id, h->rq->body, h->rq->body_len, &h->err));
}

static void
h_alarms(struct hctx *h)
{
	h->result = json_object_new_array();
}

/* ---- the table ---------------------------------------------------- */

static const struct route routes[] = {
	{ "GET", "management/nodes", h_mgmt_nodes, F_FRESH },
	{ "GET", "management/nodes/{node}", h_mgmt_node, F_FRESH },
	{ "GET", "monitoring/nodes", h_mon_nodes, F_FRESH },
	{ "GET", "monitoring/nodes/{node}", h_mon_node, F_FRESH },
	{ "GET", "monitoring/listeners", h_mon_listeners, F_SHM },
	{ "GET", "monitoring/listeners/{node}", h_mon_listeners_node, F_SHM },
	{ "GET", "monitoring/metrics", h_mon_metrics, F_SHM },
	{ "GET", "monitoring/metrics/{node}", h_mon_metrics_node, F_SHM },
	{ "GET", "monitoring/stats", h_mon_stats, F_SHM },
	{ "GET", "monitoring/stats/{node}", h_mon_stats_node, F_SHM },
	{ "GET", "nodes/{node}/clients", h_clients, F_SHM },
	{ "GET", "nodes/{node}/clients/{clientid}", h_client, F_SHM },
	{ "GET", "clients/{clientid}", h_client, F_SHM },
	{ "DELETE", "clients/{clientid}", h_kick, 0 },
	{ "DELETE", "nodes/{node}/clients/{clientid}", h_kick, 0 },
	{ "GET", "nodes/{node}/sessions", h_sessions, F_SHM },
	{ "GET", "nodes/{node}/sessions/{clientid}", h_session, F_SHM },
	{ "GET", "sessions/{clientid}", h_session, F_SHM },
	{ "GET", "nodes/{node}/subscriptions", h_subs, F_SHM },
	{ "GET", "nodes/{node}/subscriptions/{clientid}", h_subs_of, F_SHM },
	{ "GET", "subscriptions/{clientid}", h_subs_of, F_SHM },
	{ "GET", "routes", h_routes, F_SHM },
	{ "GET", "routes/{topic}", h_routes_of, F_SHM },
	{ "POST", "mqtt/publish", h_publish, 0 },
	{ "POST", "mqtt/subscribe", h_subscribe, 0 },
	{ "POST", "mqtt/unsubscribe", h_unsubscribe, 0 },
	{ "GET", "nodes/{node}/plugins", h_plugins, F_SHM },
	{ "PUT", "nodes/{node}/plugins/{name}", h_plugin_put, 0 },
	{ "GET", "nodes/{node}/alarms", h_alarms, 0 },
	{ "GET", "users", api__users_list, 0 },
	{ "POST", "users", api__user_add, 0 },
	{ "GET", "users/{name}", api__user_get, 0 },
	{ "PUT", "users/{name}", api__user_put, 0 },
	{ "DELETE", "users/{name}", api__user_delete, 0 },
	{ "POST", "auth", api__auth, 0 },
	{ "PUT", "change_pwd/{name}", api__change_pwd, 0 },
};

#define NROUTES (sizeof(routes) / sizeof(routes[0]))

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

static int64_t
coarse_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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
	int64_t            now = coarse_ms();
	int                rc = -ENOENT;

	if (fresh || t->shm == NULL
	    || now - t->checked_ms >= API_SEGMENT_CHECK_MS) {
		t->checked_ms = now;
		t->up = false;
		if (t->shm != NULL
		    || shm_reader_open(&t->shm, t->cfg->shm_name) == 0) {
			rc = shm_reader_refresh(t->shm);
			if (rc == 0)
				rc = shm_node_get(t->shm, &t->node);
		}
		if (rc == -ENOENT || rc == -EBADMSG || rc == -EPERM)
			shm_reader_close(
			    &t->shm); /* reopen by name next time */
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

static void
respond_json(struct api_response *rs, json_object *root)
{
	rs->status = 200;
	rs->content_type = "application/json";
	rs->body = spare;
	rs->cap = spare_cap;
	spare = NULL;
	if (api_json_write(root, &rs->body, &rs->cap, &rs->len) != 0) {
		rs->status = 503;
		rs->content_type = NULL;
		rs->len = 0;
	}
	json_object_put(root);
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
	json_object *a = json_object_new_array();

	for (size_t i = 0; i < NROUTES; i++) {
		json_object *o = json_object_new_object();
		char         path[128];

		snprintf(
		    path, sizeof(path), API_PREFIX "/%s", routes[i].pattern);
		json_object_object_add(
		    o, "method", json_object_new_string(routes[i].method));
		json_object_object_add(
		    o, "path", json_object_new_string(path));
		json_object_array_add(a, o);
	}
	respond_json(rs, api_json_ok(a));
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
	struct lis_vec        lv = { 0 };

	segment_refresh(h, false);
	in.node = h->node_name;
	in.up = h->up && shm_metrics_get(R(h), m) == 0
	    && shm_stats_get(R(h), s) == 0 && listeners_get(h, &lv) == 0;
	if (in.up) {
		int64_t now = time(NULL);

		in.uptime = now > h->node.started_at
		    ? (uint64_t) (now - h->node.started_at)
		    : 0;
		in.metrics = m;
		in.stats = s;
		in.listeners = lv.v;
		in.nlisteners = lv.n;
	}
	rs->status = 200;
	rs->content_type = "text/plain; version=0.0.4; charset=utf-8";
	if (api_prom_render(&in, &rs->body, &rs->len) != 0)
		rs->status = 503;
	free(lv.v);
}

/* Returns true if the request may go on; else rs is the answer. */
static bool
authorized(struct hctx *h, struct api_response *rs)
{
	const char *hdr = h->rq->authorization;
	int         rc;

	if (hdr != NULL && hdr[0] != '\0') {
		rc = api_auth_check(h->t->auth, hdr, !h->rq->gate);
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
	rs->status = 401;
	rs->extra_headers = "WWW-Authenticate: Basic realm=\"mqttd\"\r\n";
	return false;
}

static void
dispatch(
    struct hctx *h, const char *path, size_t plen, struct api_response *rs)
{
	const struct route *r = NULL;

	for (size_t i = 0; i < NROUTES && r == NULL; i++) {
		if (!match(routes[i].pattern, path, plen, h)) {
			free_caps(h);
			continue;
		}
		if (strcmp(routes[i].method, h->rq->method) == 0)
			r = &routes[i];
		else
			free_caps(h);
	}
	if (r == NULL) {
		rs->status = 404;
		return;
	}
	if (r->flags & (F_SHM | F_FRESH) || h->node_param != NULL)
		segment_refresh(h, r->flags & F_FRESH);
	if (h->node_param != NULL && strcmp(h->node_param, h->node_name) != 0)
		api_err_set(&h->err, API_EBADRPC, "badrpc: unknown node %s",
		    h->node_param);
	else if ((r->flags & F_SHM) && !h->up)
		api_err_set(&h->err, API_EBADRPC,
		    "badrpc: broker not running on %s", h->node_name);
	else
		r->fn(h);
	if (h->err.code != 0) {
		json_object_put(h->result);
		respond_json(rs, api_json_err(&h->err));
	} else {
		respond_json(rs,
		    api_json_ok(
		        h->result ? h->result : json_object_new_array()));
	}
}

void
api_handle(struct api_thread *t, const struct api_request *rq,
    struct api_response *rs)
{
	struct hctx h = { .t = t, .rq = rq, .node_name = t->cfg->node };
	const char *uri = rq->uri ? rq->uri : "/";
	size_t      len = strcspn(uri, "?");
	bool        get = strcmp(rq->method, "GET") == 0;

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
