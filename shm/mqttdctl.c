/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mqttdctl: prints the segment's view of a running broker as JSON.
 *
 *   mqttdctl [--state-dir DIR | --shm NAME] WHAT [--client ID] [--topic T]
 *            [--offset N] [--limit N]
 *
 * WHAT is node, clients, sessions, subscriptions, routes, listeners,
 * plugins, metrics or stats.  Lists print a JSON array, the rest an
 * object; one document on stdout.  It only reads the segment, so it is
 * safe against a live broker and is what integration tests use to check
 * what the broker mirrored.  Exit status 0, or 1 with a message.
 */
#include "config.h"

#include "shm/mqttdctl_store.h"
#include "shm/shm.h"

#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct opts {
	const char *state_dir, *shm, *what, *client, *topic;
	const char *sub; /* store check|dump */
	uint64_t    offset;
	uint32_t    limit;
};

static json_object *
jstr(shm_str s)
{
	return json_object_new_string_len(s.ptr, (int) s.len);
}

static void
add(json_object *o, const char *k, json_object *v)
{
	json_object_object_add(o, k, v);
}

static json_object *
jint(int64_t v)
{
	return json_object_new_int64(v);
}

static json_object *
ju64(uint64_t v)
{
	return json_object_new_uint64(v);
}

static int
on_client(const shm_client *c, void *arg)
{
	json_object *o = json_object_new_object();

	add(o, "client_id", jstr(c->client_id));
	add(o, "username", c->has_username ? jstr(c->username) : NULL);
	add(o, "ipaddress", json_object_new_string(c->ipaddress));
	add(o, "port", jint(c->port));
	add(o, "clean_sess", json_object_new_boolean(c->clean_sess));
	add(o, "proto_ver", jint(c->proto_ver));
	add(o, "keepalive", jint(c->keepalive));
	add(o, "connected_at", jint(c->connected_at));
	add(o, "listener", jint(c->listener));
	json_object_array_add(arg, o);
	return 0;
}

static int
on_session(const shm_session *s, void *arg)
{
	json_object *o = json_object_new_object();

	add(o, "client_id", jstr(s->client_id));
	add(o, "clean_sess", json_object_new_boolean(s->clean_sess));
	add(o, "connected", json_object_new_boolean(s->connected));
	add(o, "created_at", jint(s->created_at));
	add(o, "subscriptions", jint(s->subscriptions));
	add(o, "max_inflight", jint(s->max_inflight));
	add(o, "inflight_len", jint(s->inflight_len));
	add(o, "mqueue_len", jint(s->mqueue_len));
	add(o, "mqueue_dropped", ju64(s->mqueue_dropped));
	add(o, "awaiting_rel_len", jint(s->awaiting_rel_len));
	add(o, "awaiting_ack", jint(s->awaiting_ack));
	add(o, "awaiting_comp", jint(s->awaiting_comp));
	add(o, "deliver_msg", ju64(s->deliver_msg));
	add(o, "enqueue_msg", ju64(s->enqueue_msg));
	json_object_array_add(arg, o);
	return 0;
}

static int
on_sub(const shm_subscription *s, void *arg)
{
	json_object *o = json_object_new_object();

	add(o, "client_id", jstr(s->client_id));
	add(o, "topic", jstr(s->topic));
	add(o, "qos", jint(s->qos));
	json_object_array_add(arg, o);
	return 0;
}

static int
on_route(const shm_route *r, void *arg)
{
	json_object *o = json_object_new_object();

	add(o, "topic", jstr(r->topic));
	add(o, "node", jstr(r->node));
	json_object_array_add(arg, o);
	return 0;
}

static int
on_listener(const shm_listener *l, void *arg)
{
	json_object *o = json_object_new_object(), *sd;

	add(o, "protocol", json_object_new_string(l->protocol));
	add(o, "listen", json_object_new_string(l->listen));
	add(o, "acceptors", jint(l->acceptors));
	add(o, "max_clients", jint(l->max_clients));
	add(o, "current_clients", jint(l->current_clients));
	sd = json_object_new_object();
	for (int i = 0; i < SHM_SHUTDOWN_COUNT; i++)
		add(sd, shm_shutdown_name(i), ju64(l->shutdown[i]));
	add(o, "shutdown_count", sd);
	json_object_array_add(arg, o);
	return 0;
}

static int
on_plugin(const shm_plugin *p, void *arg)
{
	json_object *o = json_object_new_object();

	add(o, "name", json_object_new_string(p->name));
	add(o, "version", json_object_new_string(p->version));
	add(o, "description", json_object_new_string(p->description));
	add(o, "active", json_object_new_boolean(p->active));
	json_object_array_add(arg, o);
	return 0;
}

static int
node(shm_reader *r, json_object **out)
{
	shm_node     n;
	json_object *o, *ov;
	int          rc = shm_node_get(r, &n);

	if (rc < 0)
		return rc;
	o = json_object_new_object();
	add(o, "node", json_object_new_string(n.node));
	add(o, "version", json_object_new_string(n.version));
	add(o, "sysdescr", json_object_new_string(n.sysdescr));
	add(o, "boot_id", ju64(n.boot_id));
	add(o, "pid", jint(n.pid));
	add(o, "started_at", jint(n.started_at));
	add(o, "heartbeat_ms", jint(n.heartbeat_ms));
	add(o, "alive", json_object_new_boolean(n.alive));
	add(o, "mem_total", ju64(n.mem_total));
	add(o, "mem_used", ju64(n.mem_used));
	add(o, "fds_used", ju64(n.fds_used));
	add(o, "fds_max", ju64(n.fds_max));
	add(o, "clients_max_conf", ju64(n.clients_max_conf));
	add(o, "cap_clients", jint(n.cap_clients));
	add(o, "cap_sessions", jint(n.cap_sessions));
	add(o, "cap_subscriptions", jint(n.cap_subscriptions));
	add(o, "cap_routes", jint(n.cap_routes));
	add(o, "clients", jint(shm_clients_total(r)));
	add(o, "sessions", jint(shm_sessions_total(r)));
	add(o, "subscriptions", jint(shm_subscriptions_total(r)));
	add(o, "routes", jint(shm_routes_total(r)));
	ov = json_object_new_object();
	for (int i = 0; i < SHM_OVERFLOW_COUNT; i++)
		add(ov, shm_overflow_name(i), ju64(n.overflow[i]));
	add(o, "overflow", ov);
	*out = o;
	return 0;
}

static int
counters(shm_reader *r, bool stats, json_object **out)
{
	uint64_t v[SHM_METRIC_COUNT];
	int      n = stats ? SHM_STAT_COUNT : SHM_METRIC_COUNT;
	int      rc = stats ? shm_stats_get(r, v) : shm_metrics_get(r, v);

	if (rc < 0)
		return rc;
	*out = json_object_new_object();
	for (int i = 0; i < n; i++)
		add(*out, stats ? shm_stat_name(i) : shm_metric_name(i),
		    ju64(v[i]));
	return 0;
}

static int
store_figs(shm_reader *r, json_object **out)
{
	uint64_t v[SHM_STORE_FIG_COUNT];
	int      rc = shm_store_get(r, v);

	if (rc < 0)
		return rc;
	*out = json_object_new_object();
	for (int i = 0; i < SHM_STORE_FIG_COUNT; i++)
		add(*out, shm_store_fig_name(i), ju64(v[i]));
	return 0;
}

enum table { T_CLIENTS, T_SESSIONS, T_SUBS, T_ROUTES };

static int
page(shm_reader *r, enum table t, uint64_t off, uint32_t n, json_object *a)
{
	switch (t) {
	case T_CLIENTS:
		return shm_clients_page(r, off, n, on_client, a);
	case T_SESSIONS:
		return shm_sessions_page(r, off, n, on_session, a);
	case T_SUBS:
		return shm_subscriptions_page(r, off, n, on_sub, a);
	default:
		return shm_routes_page(r, off, n, on_route, a);
	}
}

/* Pages through a table in chunks so any size prints. */
static int
all_pages(shm_reader *r, enum table t, json_object *a, const struct opts *o)
{
	uint64_t off = o->offset;
	uint32_t left = o->limit;

	while (left > 0) {
		uint32_t want = left < 1000 ? left : 1000;
		int      rc = page(r, t, off, want, a);

		if (rc <= 0)
			return rc;
		off += want;
		left -= want;
	}
	return 0;
}

static int
list(shm_reader *r, const struct opts *o, json_object **out)
{
	json_object *a = json_object_new_array();
	const char  *id = o->client, *w = o->what;
	int          rc;

	*out = a;
	if (strcmp(w, "clients") == 0)
		rc = id ? shm_client_get(r, id, strlen(id), on_client, a)
		        : all_pages(r, T_CLIENTS, a, o);
	else if (strcmp(w, "sessions") == 0)
		rc = id ? shm_session_get(r, id, strlen(id), on_session, a)
		        : all_pages(r, T_SESSIONS, a, o);
	else if (strcmp(w, "subscriptions") == 0)
		rc = id ? shm_subscriptions_of(r, id, strlen(id), on_sub, a)
		        : all_pages(r, T_SUBS, a, o);
	else if (strcmp(w, "routes") == 0)
		rc = o->topic
		    ? shm_routes_of(r, o->topic, strlen(o->topic), on_route, a)
		    : all_pages(r, T_ROUTES, a, o);
	else if (strcmp(w, "listeners") == 0)
		rc = shm_listeners_each(r, on_listener, a);
	else if (strcmp(w, "plugins") == 0)
		rc = shm_plugins_each(r, on_plugin, a);
	else
		rc = -EINVAL;
	return rc < 0 ? rc : 0;
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: mqttdctl [--state-dir DIR | --shm NAME] "
	    "node|clients|sessions|subscriptions|routes|listeners|plugins|"
	    "metrics|stats|store\n"
	    "       mqttdctl [--state-dir DIR] store check|dump   (offline)\n"
	    "                [--client ID] [--topic T] [--offset N] "
	    "[--limit N]\n");
	exit(2);
}

static void
parse(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "state-dir", required_argument, NULL, 'd' },
		{ "shm", required_argument, NULL, 's' },
		{ "client", required_argument, NULL, 'c' },
		{ "topic", required_argument, NULL, 't' },
		{ "offset", required_argument, NULL, 'o' },
		{ "limit", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	o->limit = UINT32_MAX;
	while (
	    (ch = getopt_long(argc, argv, "d:s:c:t:o:l:h", lo, NULL)) != -1) {
		switch (ch) {
		case 'd':
			o->state_dir = optarg;
			break;
		case 's':
			o->shm = optarg;
			break;
		case 'c':
			o->client = optarg;
			break;
		case 't':
			o->topic = optarg;
			break;
		case 'o':
			o->offset = strtoull(optarg, NULL, 10);
			break;
		case 'l':
			o->limit = (uint32_t) strtoul(optarg, NULL, 10);
			break;
		default:
			usage();
		}
	}
	if (optind == argc - 2 && strcmp(argv[optind], "store") == 0)
		o->sub = argv[optind + 1];
	else if (optind != argc - 1)
		usage();
	o->what = argv[optind];
}

int
main(int argc, char **argv)
{
	struct opts  o = { 0 };
	const char  *dir = NULL;
	shm_reader  *r;
	json_object *out = NULL;
	int          rc;

	parse(argc, argv, &o);
	dir = o.state_dir ? o.state_dir : getenv("MQTTD_STATE_DIR");
	if (dir == NULL)
		dir = "run";
	if (o.sub != NULL) {
		rc = mqttdctl_store(dir, o.sub);
		if (rc == 2)
			usage();
		return rc;
	}
	if (o.shm == NULL)
		rc = shm_reader_open_dir(&r, dir);
	else
		rc = shm_reader_open(&r, o.shm);
	if (rc < 0) {
		fprintf(stderr, "mqttdctl: segment of %s: %s\n",
		    o.shm ? o.shm : dir, strerror(-rc));
		return 1;
	}
	if (strcmp(o.what, "node") == 0)
		rc = node(r, &out);
	else if (strcmp(o.what, "metrics") == 0)
		rc = counters(r, false, &out);
	else if (strcmp(o.what, "stats") == 0)
		rc = counters(r, true, &out);
	else if (strcmp(o.what, "store") == 0)
		rc = store_figs(r, &out);
	else
		rc = list(r, &o, &out);
	if (rc == -EINVAL) {
		json_object_put(out);
		shm_reader_close(&r);
		usage();
	}
	if (rc < 0) {
		fprintf(stderr, "mqttdctl: %s: %s\n", o.what, strerror(-rc));
		json_object_put(out);
		shm_reader_close(&r);
		return 1;
	}
	puts(json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN));
	json_object_put(out);
	shm_reader_close(&r);
	return 0;
}
