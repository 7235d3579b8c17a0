/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * api_json: the shapes of EMQ 2.3's /api/v2 records.  The only logic
 * here is formatting (fcgi/api_fmt) and key order; values are copied
 * from the segment's records as they are.
 */
#include "config.h"

#include "fcgi/api_json.h"

#include "fcgi/api_fmt.h"

#include <stdio.h>
#include <string.h>

/* A member whose key is a string literal (see API_JW_KEY), then its
 * value. */
#define KSTR(w, k, s)                                                         \
	do {                                                                  \
		API_JW_KEY(w, k);                                             \
		api_jw_str(w, (s).ptr, (s).len);                              \
	} while (0)
#define KCSTR(w, k, s)                                                        \
	do {                                                                  \
		API_JW_KEY(w, k);                                             \
		api_jw_cstr(w, s);                                            \
	} while (0)
#define KU64(w, k, v)                                                         \
	do {                                                                  \
		API_JW_KEY(w, k);                                             \
		api_jw_u64(w, v);                                             \
	} while (0)
#define KBOOL(w, k, v)                                                        \
	do {                                                                  \
		API_JW_KEY(w, k);                                             \
		api_jw_bool(w, v);                                            \
	} while (0)
#define KDATETIME(w, k, t)                                                    \
	do {                                                                  \
		API_JW_KEY(w, k);                                             \
		datetime(w, t);                                               \
	} while (0)

static void
datetime(struct api_jw *w, int64_t t)
{
	char buf[32];
	int  n = api_fmt_datetime(buf, sizeof(buf), (time_t) t);

	api_jw_str(w, buf, n > 0 ? (size_t) n : 0);
}

/* A member named at run time (metric, stat and reason names). */
static void
named_u64(struct api_jw *w, const char *name, uint64_t v)
{
	api_jw_key(w, name);
	api_jw_u64(w, v);
}

void
api_json_ok_begin(struct api_jw *w)
{
	api_jw_object(w);
	KU64(w, "code", 0);
	API_JW_KEY(w, "result");
}

void
api_json_ok_end(struct api_jw *w)
{
	api_jw_object_end(w);
}

void
api_json_err(struct api_jw *w, const struct api_err *e)
{
	api_jw_object(w);
	API_JW_KEY(w, "code");
	api_jw_i64(w, e->code);
	KCSTR(w, "message", e->msg);
	api_jw_object_end(w);
}

void
api_json_client(struct api_jw *w, const shm_client *c, const char *protocol)
{
	api_jw_object(w);
	KSTR(w, "client_id", c->client_id);
	if (c->has_username)
		KSTR(w, "username", c->username);
	else
		KCSTR(w, "username", "undefined");
	KCSTR(w, "ipaddress", c->ipaddress);
	KU64(w, "port", c->port);
	KBOOL(w, "clean_sess", c->clean_sess);
	KU64(w, "proto_ver", c->proto_ver);
	KU64(w, "keepalive", c->keepalive);
	KDATETIME(w, "connected_at", c->connected_at);
	if (protocol != NULL)
		KCSTR(w, "protocol", protocol);
	api_jw_object_end(w);
}

void
api_json_session(struct api_jw *w, const shm_session *s)
{
	api_jw_object(w);
	/* the REST doc's keys first, then EMQ 2.3.11's own */
	KSTR(w, "client_id", s->client_id);
	KBOOL(w, "clean_sess", s->clean_sess);
	KU64(w, "max_inflight", s->max_inflight);
	KU64(w, "inflight_queue", s->inflight_len);
	KU64(w, "message_queue", s->mqueue_len);
	KU64(w, "message_dropped", s->mqueue_dropped);
	KU64(w, "awaiting_rel", s->awaiting_rel_len);
	KU64(w, "awaiting_ack", s->awaiting_ack);
	KU64(w, "awaiting_comp", s->awaiting_comp);
	KDATETIME(w, "created_at", s->created_at);
	KU64(w, "subscriptions", s->subscriptions);
	KU64(w, "inflight_len", s->inflight_len);
	KU64(w, "mqueue_len", s->mqueue_len);
	KU64(w, "mqueue_dropped", s->mqueue_dropped);
	KU64(w, "awaiting_rel_len", s->awaiting_rel_len);
	KU64(w, "deliver_msg", s->deliver_msg);
	KU64(w, "enqueue_msg", s->enqueue_msg);
	api_jw_object_end(w);
}

void
api_json_subscription(struct api_jw *w, const shm_subscription *s)
{
	api_jw_object(w);
	KSTR(w, "client_id", s->client_id);
	KSTR(w, "topic", s->topic);
	KU64(w, "qos", s->qos);
	api_jw_object_end(w);
}

void
api_json_route(struct api_jw *w, const shm_route *rt)
{
	api_jw_object(w);
	KSTR(w, "topic", rt->topic);
	KSTR(w, "node", rt->node);
	api_jw_object_end(w);
}

void
api_json_plugin(struct api_jw *w, const shm_plugin *p)
{
	api_jw_object(w);
	KCSTR(w, "name", p->name);
	KCSTR(w, "version", p->version);
	KCSTR(w, "description", p->description);
	KBOOL(w, "active", p->active);
	api_jw_object_end(w);
}

void
api_json_listener(struct api_jw *w, const shm_listener *l)
{
	bool any = false;

	api_jw_object(w);
	KCSTR(w, "protocol", l->protocol);
	KCSTR(w, "listen", l->listen);
	KU64(w, "acceptors", l->acceptors);
	KU64(w, "max_clients", l->max_clients);
	KU64(w, "current_clients", l->current_clients);
	API_JW_KEY(w, "shutdown_count");
	for (int i = 0; i < SHM_SHUTDOWN_COUNT; i++) {
		if (l->shutdown[i] == 0)
			continue;
		if (!any)
			api_jw_object(w);
		any = true;
		named_u64(w, shm_shutdown_name((enum shm_shutdown) i),
		    l->shutdown[i]);
	}
	if (any) {
		api_jw_object_end(w);
	} else {
		api_jw_array(w);
		api_jw_array_end(w);
	}
	api_jw_object_end(w);
}

/* The order of the REST doc's example (an Erlang map's order). */
static const unsigned char metrics_doc_order[SHM_METRIC_COUNT] = {
	SHM_M_PACKETS_DISCONNECT,
	SHM_M_MESSAGES_DROPPED,
	SHM_M_MESSAGES_QOS2_RECEIVED,
	SHM_M_PACKETS_SUBACK,
	SHM_M_PACKETS_PUBCOMP_RECEIVED,
	SHM_M_PACKETS_UNSUBACK,
	SHM_M_PACKETS_PINGRESP,
	SHM_M_PACKETS_PUBACK_MISSED,
	SHM_M_PACKETS_PINGREQ,
	SHM_M_MESSAGES_RETAINED,
	SHM_M_PACKETS_SENT,
	SHM_M_MESSAGES_QOS2_DROPPED,
	SHM_M_PACKETS_UNSUBSCRIBE,
	SHM_M_PACKETS_PUBREC_MISSED,
	SHM_M_PACKETS_CONNACK,
	SHM_M_MESSAGES_RECEIVED,
	SHM_M_PACKETS_PUBREC_SENT,
	SHM_M_PACKETS_PUBLISH_RECEIVED,
	SHM_M_PACKETS_PUBCOMP_SENT,
	SHM_M_BYTES_RECEIVED,
	SHM_M_PACKETS_CONNECT,
	SHM_M_PACKETS_PUBACK_RECEIVED,
	SHM_M_MESSAGES_SENT,
	SHM_M_PACKETS_PUBLISH_SENT,
	SHM_M_BYTES_SENT,
	SHM_M_PACKETS_PUBREL_MISSED,
	SHM_M_PACKETS_PUBACK_SENT,
	SHM_M_MESSAGES_QOS0_RECEIVED,
	SHM_M_PACKETS_SUBSCRIBE,
	SHM_M_PACKETS_PUBREL_SENT,
	SHM_M_MESSAGES_QOS2_SENT,
	SHM_M_PACKETS_RECEIVED,
	SHM_M_PACKETS_PUBREL_RECEIVED,
	SHM_M_MESSAGES_QOS1_RECEIVED,
	SHM_M_MESSAGES_QOS1_SENT,
	SHM_M_PACKETS_PUBREC_RECEIVED,
	SHM_M_PACKETS_PUBCOMP_MISSED,
	SHM_M_MESSAGES_QOS0_SENT,
};

void
api_json_metrics(struct api_jw *w, const uint64_t m[SHM_METRIC_COUNT])
{
	api_jw_object(w);
	for (int i = 0; i < SHM_METRIC_COUNT; i++) {
		enum shm_metric k = (enum shm_metric) metrics_doc_order[i];

		named_u64(w, shm_metric_name(k), m[k]);
	}
	api_jw_object_end(w);
}

void
api_json_stats(
    struct api_jw *w, const uint64_t s[SHM_STAT_COUNT], const uint64_t *store)
{
	char name[64];

	api_jw_object(w);
	for (int i = 0; i < SHM_STAT_COUNT; i++)
		named_u64(w, shm_stat_name((enum shm_stat) i), s[i]);
	for (int i = 0; store != NULL && i < SHM_STORE_FIG_COUNT; i++) {
		snprintf(name, sizeof(name), "store/%s",
		    shm_store_fig_name((enum shm_store_fig) i));
		named_u64(w, name, store[i]);
	}
	api_jw_object_end(w);
}

void
api_json_page_begin(struct api_jw *w, const struct api_page *p, uint64_t total)
{
	api_jw_object(w);
	KU64(w, "current_page", p->curr_page);
	KU64(w, "page_size", p->page_size);
	KU64(w, "total_num", total);
	KU64(w, "total_page", (total + p->page_size - 1) / p->page_size);
	API_JW_KEY(w, "objects");
	api_jw_array(w);
}

void
api_json_page_end(struct api_jw *w)
{
	api_jw_array_end(w);
	api_jw_object_end(w);
}

static const char *
node_status(const struct api_node_view *v)
{
	return v->node && v->node->alive ? "Running" : "Stopped";
}

static void
kotp_release(struct api_jw *w, const struct api_node_view *v)
{
	char buf[128];

	/* There is no OTP here; scripts only display it, so say what runs. */
	snprintf(buf, sizeof(buf), "%s/%s",
	    v->node ? v->node->sysdescr : "mqttd",
	    v->node ? v->node->version : PACKAGE_VERSION);
	KCSTR(w, "otp_release", buf);
}

void
api_json_mgmt_node(
    struct api_jw *w, const struct api_node_view *v, bool with_name)
{
	char     buf[64];
	uint64_t up = 0;

	api_jw_object(w);
	if (with_name)
		KCSTR(w, "name", v->name);
	KCSTR(w, "version", v->node ? v->node->version : PACKAGE_VERSION);
	KCSTR(w, "sysdescr", v->node ? v->node->sysdescr : "mqttd");
	if (v->node && v->node->alive && v->now > v->node->started_at)
		up = (uint64_t) (v->now - v->node->started_at);
	api_fmt_uptime(buf, sizeof(buf), up);
	KCSTR(w, "uptime", buf);
	api_fmt_datetime(buf, sizeof(buf), v->now);
	KCSTR(w, "datetime", buf);
	kotp_release(w, v);
	KCSTR(w, "node_status", node_status(v));
	api_jw_object_end(w);
}

void
api_json_mon_node(struct api_jw *w, const struct api_node_view *v)
{
	const char *keys[3] = { "load1", "load5", "load15" };
	char        buf[32];
	bool        up = v->node && v->node->alive;

	api_jw_object(w);
	KCSTR(w, "name", v->name);
	kotp_release(w, v);
	api_fmt_memory(buf, sizeof(buf), up ? v->node->mem_total : 0);
	KCSTR(w, "memory_total", buf);
	api_fmt_memory(buf, sizeof(buf), up ? v->node->mem_used : 0);
	KCSTR(w, "memory_used", buf);
	KU64(w, "process_available", up ? v->node->clients_max_conf : 0);
	KU64(w, "process_used", up ? v->node->fds_used : 0);
	KU64(w, "max_fds", up ? v->node->fds_max : 0);
	KU64(w, "clients", up ? v->clients : 0);
	KCSTR(w, "node_status", node_status(v));
	for (int i = 0; i < 3; i++) {
		api_fmt_load(buf, sizeof(buf), v->load[i]);
		api_jw_key(w, keys[i]);
		api_jw_cstr(w, buf);
	}
	api_jw_object_end(w);
}
