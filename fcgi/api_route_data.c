/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * api_route_data: the read and command routes of /api/v2 and the route
 * table.  Handlers read the thread's segment view (h->up, h->node, R(h))
 * that api_route.c refreshed, and write their result with h->w or set
 * h->err.
 */
#include "config.h"

#include "fcgi/api_body.h"
#include "fcgi/api_ctl.h"
#include "fcgi/api_http.h"
#include "fcgi/api_json.h"
#include "fcgi/api_route_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- helpers ------------------------------------------------------ */

int
api__seg_err(struct hctx *h, int rc)
{
	h->t->checked_ms = INT64_MIN / 2; /* look at the segment again */
	return api_err_set(
	    &h->err, API_EBADRPC, "badrpc: segment read: %s", strerror(-rc));
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

/* The cluster form {"<node>": value}: by_node_begin, the value,
 * by_node_end. */
static void
by_node_begin(struct hctx *h)
{
	api_jw_object(h->w);
	api_jw_key(h->w, h->node_name);
}

static void
by_node_end(struct hctx *h)
{
	api_jw_object_end(h->w);
}

/* Sends a command to the broker; its reply decides (ok: []). */
static int
ctl(struct hctx *h, json_object *cmd)
{
	int rc;

	if (cmd == NULL)
		return h->err.code;
	rc = api_ctl_call(
	    h->t->cfg->ctl_path, cmd, h->t->cfg->ctl_timeout_ms, &h->err);
	json_object_put(cmd);
	return rc;
}

/* ---- nodes -------------------------------------------------------- */

static void
h_mgmt_nodes(struct hctx *h)
{
	struct api_node_view v;

	node_view(h, &v);
	api_jw_array(h->w);
	api_json_mgmt_node(h->w, &v, true);
	api_jw_array_end(h->w);
}

static void
h_mgmt_node(struct hctx *h)
{
	struct api_node_view v;

	node_view(h, &v);
	api_json_mgmt_node(h->w, &v, false);
}

static void
h_mon_nodes(struct hctx *h)
{
	struct api_node_view v;

	node_view(h, &v);
	api_jw_array(h->w);
	api_json_mon_node(h->w, &v);
	api_jw_array_end(h->w);
}

static void
h_mon_node(struct hctx *h)
{
	struct api_node_view v;

	node_view(h, &v);
	api_json_mon_node(h->w, &v);
}

/* ---- listeners ---------------------------------------------------- */

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
int
api__listeners_get(struct hctx *h, struct lis_vec *lv)
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

static void
listeners_json(struct hctx *h)
{
	struct lis_vec lv;
	int            rc = api__listeners_get(h, &lv);

	if (rc < 0) {
		api__seg_err(h, rc);
	} else {
		api_jw_array(h->w);
		for (size_t i = 0; i < lv.n; i++)
			api_json_listener(h->w, &lv.v[i]);
		api_jw_array_end(h->w);
	}
	free(lv.v);
}

static void
h_mon_listeners(struct hctx *h)
{
	by_node_begin(h);
	listeners_json(h);
	by_node_end(h);
}

static void
h_mon_listeners_node(struct hctx *h)
{
	listeners_json(h);
}

/* ---- metrics and stats -------------------------------------------- */

static void
metrics_json(struct hctx *h)
{
	uint64_t m[SHM_METRIC_COUNT];
	int      rc = shm_metrics_get(R(h), m);

	if (rc < 0)
		api__seg_err(h, rc);
	else
		api_json_metrics(h->w, m);
}

static void
stats_json(struct hctx *h)
{
	uint64_t s[SHM_STAT_COUNT], st[SHM_STORE_FIG_COUNT];
	int      rc = shm_stats_get(R(h), s);

	if (rc == 0)
		rc = shm_store_get(R(h), st);
	if (rc < 0)
		api__seg_err(h, rc);
	else
		api_json_stats(h->w, s, st);
}

static void
h_mon_metrics(struct hctx *h)
{
	by_node_begin(h);
	metrics_json(h);
	by_node_end(h);
}

static void
h_mon_metrics_node(struct hctx *h)
{
	metrics_json(h);
}

static void
h_mon_stats(struct hctx *h)
{
	by_node_begin(h);
	stats_json(h);
	by_node_end(h);
}

static void
h_mon_stats_node(struct hctx *h)
{
	stats_json(h);
}

/* ---- tables: pages and lookups ------------------------------------ */

enum table { T_CLIENTS, T_SESSIONS, T_SUBS, T_ROUTES };

/* What the row callbacks write with: the answer, and for client rows the
 * listeners, whose protocol names a client's listener index. */
struct rows {
	struct api_jw *w;
	struct lis_vec lv;
};

static int
client_cb(const shm_client *c, void *arg)
{
	struct rows *r = arg;

	api_json_client(r->w, c,
	    c->listener < r->lv.n ? r->lv.v[c->listener].protocol : NULL);
	return 0;
}

static int
session_cb(const shm_session *s, void *arg)
{
	api_json_session(((struct rows *) arg)->w, s);
	return 0;
}

static int
sub_cb(const shm_subscription *s, void *arg)
{
	api_json_subscription(((struct rows *) arg)->w, s);
	return 0;
}

static int
route_cb(const shm_route *rt, void *arg)
{
	api_json_route(((struct rows *) arg)->w, rt);
	return 0;
}

/* Client rows name their listener: read the (small) listeners table
 * once per request.  0 or -errno. */
static int
rows_init(struct hctx *h, enum table t, struct rows *r)
{
	memset(r, 0, sizeof(*r));
	r->w = h->w;
	return t == T_CLIENTS ? api__listeners_get(h, &r->lv) : 0;
}

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
    shm_reader *r, enum table t, uint64_t off, uint32_t n, struct rows *a)
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
    shm_reader *r, enum table t, const char *id, size_t len, struct rows *a)
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
	struct rows     rows;
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
		api__seg_err(h, (int) total);
		return;
	}
	rc = rows_init(h, t, &rows);
	if (rc < 0) {
		api__seg_err(h, rc);
		return;
	}
	api_json_page_begin(h->w, &p, (uint64_t) total);
	off = (p.curr_page - 1) * p.page_size;
	if (off < (uint64_t) total)
		rc = table_page(R(h), t, off, (uint32_t) p.page_size, &rows);
	free(rows.lv.v);
	if (rc < 0) {
		api__seg_err(h, rc);
		return;
	}
	api_json_page_end(h->w);
}

static void
lookup(struct hctx *h, enum table t)
{
	struct rows rows;
	int         rc = rows_init(h, t, &rows);

	if (rc < 0) {
		api__seg_err(h, rc);
		return;
	}
	api_jw_object(h->w);
	API_JW_KEY(h->w, "objects");
	api_jw_array(h->w);
	rc = table_get(R(h), t, h->id, h->id_len, &rows);
	free(rows.lv.v);
	if (rc < 0 && rc != -ENOENT) {
		api__seg_err(h, rc);
		return;
	}
	api_jw_array_end(h->w);
	api_jw_object_end(h->w);
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
	api_json_plugin(arg, p);
	return 0;
}

static void
h_plugins(struct hctx *h)
{
	int rc;

	api_jw_array(h->w);
	rc = shm_plugins_each(R(h), plugin_cb, h->w);
	if (rc < 0)
		api__seg_err(h, rc);
	else
		api_jw_array_end(h->w);
}

static void
h_plugin_put(struct hctx *h)
{
	ctl(h, api_cmd_plugin(h->id, h->rq->body, h->rq->body_len, &h->err));
}

static void
h_alarms(struct hctx *h)
{
	(void) h; /* no alarms are raised: [] */
}

/* ---- the table ---------------------------------------------------- */

const struct route api__routes[] = {
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

const size_t api__nroutes = sizeof(api__routes) / sizeof(api__routes[0]);
