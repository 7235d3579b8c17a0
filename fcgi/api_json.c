/*
 * api_json: the shapes of EMQ 2.3's /api/v2 records.  The only logic
 * here is formatting (fcgi/api_fmt) and key order; values are copied
 * from the segment's records as they are.
 */
#include "config.h"

#include "fcgi/api_json.h"

#include "fcgi/api_fmt.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Keys here are literals or the segment's static names, each added once:
 * json-c then neither copies nor looks them up. */
#define ADD(o, k, v)                                                          \
	json_object_object_add_ex((o), (k), (v),                              \
	    JSON_C_OBJECT_ADD_KEY_IS_NEW | JSON_C_OBJECT_KEY_IS_CONSTANT)

static json_object *
str_len(shm_str s)
{
	return json_object_new_string_len(s.ptr ? s.ptr : "", (int) s.len);
}

static json_object *
datetime(int64_t t)
{
	char buf[32];

	if (api_fmt_datetime(buf, sizeof(buf), (time_t) t) < 0)
		buf[0] = '\0';
	return json_object_new_string(buf);
}

static json_object *
u64(uint64_t v)
{
	return json_object_new_uint64(v);
}

json_object *
api_json_ok(json_object *result)
{
	json_object *o = json_object_new_object();

	ADD(o, "code", json_object_new_int(0));
	ADD(o, "result", result);
	return o;
}

json_object *
api_json_err(const struct api_err *e)
{
	json_object *o = json_object_new_object();

	ADD(o, "code", json_object_new_int(e->code));
	ADD(o, "message", json_object_new_string(e->msg));
	return o;
}

json_object *
api_json_client(const shm_client *c)
{
	json_object *o = json_object_new_object();

	ADD(o, "client_id", str_len(c->client_id));
	ADD(o, "username",
	    c->has_username ? str_len(c->username)
	                    : json_object_new_string("undefined"));
	ADD(o, "ipaddress", json_object_new_string(c->ipaddress));
	ADD(o, "port", json_object_new_int(c->port));
	ADD(o, "clean_sess", json_object_new_boolean(c->clean_sess));
	ADD(o, "proto_ver", json_object_new_int(c->proto_ver));
	ADD(o, "keepalive", json_object_new_int(c->keepalive));
	ADD(o, "connected_at", datetime(c->connected_at));
	return o;
}

json_object *
api_json_session(const shm_session *s)
{
	json_object *o = json_object_new_object();

	/* the REST doc's keys first, then EMQ 2.3.11's own */
	ADD(o, "client_id", str_len(s->client_id));
	ADD(o, "clean_sess", json_object_new_boolean(s->clean_sess));
	ADD(o, "max_inflight", u64(s->max_inflight));
	ADD(o, "inflight_queue", u64(s->inflight_len));
	ADD(o, "message_queue", u64(s->mqueue_len));
	ADD(o, "message_dropped", u64(s->mqueue_dropped));
	ADD(o, "awaiting_rel", u64(s->awaiting_rel_len));
	ADD(o, "awaiting_ack", u64(s->awaiting_ack));
	ADD(o, "awaiting_comp", u64(s->awaiting_comp));
	ADD(o, "created_at", datetime(s->created_at));
	ADD(o, "subscriptions", u64(s->subscriptions));
	ADD(o, "inflight_len", u64(s->inflight_len));
	ADD(o, "mqueue_len", u64(s->mqueue_len));
	ADD(o, "mqueue_dropped", u64(s->mqueue_dropped));
	ADD(o, "awaiting_rel_len", u64(s->awaiting_rel_len));
	ADD(o, "deliver_msg", u64(s->deliver_msg));
	ADD(o, "enqueue_msg", u64(s->enqueue_msg));
	return o;
}

json_object *
api_json_subscription(const shm_subscription *s)
{
	json_object *o = json_object_new_object();

	ADD(o, "client_id", str_len(s->client_id));
	ADD(o, "topic", str_len(s->topic));
	ADD(o, "qos", json_object_new_int(s->qos));
	return o;
}

json_object *
api_json_route(const shm_route *rt)
{
	json_object *o = json_object_new_object();

	ADD(o, "topic", str_len(rt->topic));
	ADD(o, "node", str_len(rt->node));
	return o;
}

json_object *
api_json_plugin(const shm_plugin *p)
{
	json_object *o = json_object_new_object();

	ADD(o, "name", json_object_new_string(p->name));
	ADD(o, "version", json_object_new_string(p->version));
	ADD(o, "description", json_object_new_string(p->description));
	ADD(o, "active", json_object_new_boolean(p->active));
	return o;
}

json_object *
api_json_listener(const shm_listener *l)
{
	json_object *o = json_object_new_object(), *sc = NULL;

	ADD(o, "protocol", json_object_new_string(l->protocol));
	ADD(o, "listen", json_object_new_string(l->listen));
	ADD(o, "acceptors", u64(l->acceptors));
	ADD(o, "max_clients", u64(l->max_clients));
	ADD(o, "current_clients", u64(l->current_clients));
	for (int i = 0; i < SHM_SHUTDOWN_COUNT; i++) {
		if (l->shutdown[i] == 0)
			continue;
		if (sc == NULL)
			sc = json_object_new_object();
		ADD(sc, shm_shutdown_name((enum shm_shutdown) i),
		    u64(l->shutdown[i]));
	}
	ADD(o, "shutdown_count", sc ? sc : json_object_new_array());
	return o;
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

json_object *
api_json_metrics(const uint64_t m[SHM_METRIC_COUNT])
{
	json_object *o = json_object_new_object();

	for (int i = 0; i < SHM_METRIC_COUNT; i++) {
		enum shm_metric k = (enum shm_metric) metrics_doc_order[i];

		ADD(o, shm_metric_name(k), u64(m[k]));
	}
	return o;
}

json_object *
api_json_stats(const uint64_t s[SHM_STAT_COUNT])
{
	json_object *o = json_object_new_object();

	for (int i = 0; i < SHM_STAT_COUNT; i++)
		ADD(o, shm_stat_name((enum shm_stat) i), u64(s[i]));
	return o;
}

json_object *
api_json_page(const struct api_page *p, uint64_t total, json_object *objects)
{
	json_object *o = json_object_new_object();

	ADD(o, "current_page", u64(p->curr_page));
	ADD(o, "page_size", u64(p->page_size));
	ADD(o, "total_num", u64(total));
	ADD(o, "total_page", u64((total + p->page_size - 1) / p->page_size));
	ADD(o, "objects", objects);
	return o;
}

static const char *
node_status(const struct api_node_view *v)
{
	return v->node && v->node->alive ? "Running" : "Stopped";
}

static json_object *
otp_release(const struct api_node_view *v)
{
	char buf[128];

	/* There is no OTP here; scripts only display it, so say what runs. */
	snprintf(buf, sizeof(buf), "%s/%s",
	    v->node ? v->node->sysdescr : "mqttd",
	    v->node ? v->node->version : PACKAGE_VERSION);
	return json_object_new_string(buf);
}

json_object *
api_json_mgmt_node(const struct api_node_view *v, bool with_name)
{
	json_object *o = json_object_new_object();
	char         buf[64];
	uint64_t     up = 0;

	if (with_name)
		ADD(o, "name", json_object_new_string(v->name));
	ADD(o, "version",
	    json_object_new_string(
	        v->node ? v->node->version : PACKAGE_VERSION));
	ADD(o, "sysdescr",
	    json_object_new_string(v->node ? v->node->sysdescr : "mqttd"));
	if (v->node && v->node->alive && v->now > v->node->started_at)
		up = (uint64_t) (v->now - v->node->started_at);
	api_fmt_uptime(buf, sizeof(buf), up);
	ADD(o, "uptime", json_object_new_string(buf));
	api_fmt_datetime(buf, sizeof(buf), v->now);
	ADD(o, "datetime", json_object_new_string(buf));
	ADD(o, "otp_release", otp_release(v));
	ADD(o, "node_status", json_object_new_string(node_status(v)));
	return o;
}

json_object *
api_json_mon_node(const struct api_node_view *v)
{
	json_object *o = json_object_new_object();
	const char  *keys[3] = { "load1", "load5", "load15" };
	char         buf[32];
	bool         up = v->node && v->node->alive;

	ADD(o, "name", json_object_new_string(v->name));
	ADD(o, "otp_release", otp_release(v));
	api_fmt_memory(buf, sizeof(buf), up ? v->node->mem_total : 0);
	ADD(o, "memory_total", json_object_new_string(buf));
	api_fmt_memory(buf, sizeof(buf), up ? v->node->mem_used : 0);
	ADD(o, "memory_used", json_object_new_string(buf));
	ADD(o, "process_available", u64(up ? v->node->clients_max_conf : 0));
	ADD(o, "process_used", u64(up ? v->node->fds_used : 0));
	ADD(o, "max_fds", u64(up ? v->node->fds_max : 0));
	ADD(o, "clients", u64(up ? v->clients : 0));
	ADD(o, "node_status", json_object_new_string(node_status(v)));
	for (int i = 0; i < 3; i++) {
		api_fmt_load(buf, sizeof(buf), v->load[i]);
		ADD(o, keys[i], json_object_new_string(buf));
	}
	return o;
}

/* ---- the writer ----------------------------------------------------- */

struct wbuf {
	char  *p;
	size_t len, cap;
	bool   oom;
};

static bool
wgrow(struct wbuf *b, size_t n)
{
	size_t cap = b->cap ? b->cap : 4096;
	char  *np;

	if (b->oom)
		return false;
	while (cap < b->len + n + 1)
		cap *= 2;
	np = realloc(b->p, cap);
	if (np == NULL) {
		b->oom = true;
		return false;
	}
	b->p = np;
	b->cap = cap;
	return true;
}

static inline void
wput(struct wbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap && !wgrow(b, n))
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

/* 1 for the bytes JSON strings must escape: controls, '"' and '\\'. */
static const unsigned char must_escape[256] = {
	[0x00 ... 0x1f] = 1,
	['"'] = 1,
	['\\'] = 1,
};

/* One byte; a capacity check but no memcpy call. */
static inline void
wput1(struct wbuf *b, char c)
{
	if (b->len + 2 > b->cap && !wgrow(b, 1))
		return;
	b->p[b->len++] = c;
}

/* Writes the escape of c at d; returns its length (2 or 6). */
static size_t
wesc(char *d, unsigned char c)
{
	static const char hex[] = "0123456789abcdef";

	d[0] = '\\';
	switch (c) {
	case '"':
	case '\\':
		d[1] = (char) c;
		return 2;
	case '\b':
		d[1] = 'b';
		return 2;
	case '\f':
		d[1] = 'f';
		return 2;
	case '\n':
		d[1] = 'n';
		return 2;
	case '\r':
		d[1] = 'r';
		return 2;
	case '\t':
		d[1] = 't';
		return 2;
	default:
		d[1] = 'u';
		d[2] = '0';
		d[3] = '0';
		d[4] = hex[c >> 4];
		d[5] = hex[c & 15];
		return 6;
	}
}

#define ONES  0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

/* Nonzero if a byte of w is < 0x20, '"' or '\\' (the high bits of w, of
 * w ^ '"' and of w ^ '\\' are the same, so one mask serves all three). */
static inline uint64_t
special8(uint64_t w)
{
	uint64_t q = w ^ (ONES * '"'), s = w ^ (ONES * '\\');

	return ((w - ONES * 0x20) | (q - ONES) | (s - ONES)) & ~w & HIGHS;
}

/*
 * pre, then s quoted and escaped, then post (each '\0' for none): room
 * for the worst case is made once and the bytes are stored one by one.
 * A page is ~250 strings, most of them keys under 10 bytes: a capacity
 * check and a memcpy call per run, per quote, per ',' and ':' cost more
 * than the bytes themselves.
 */
static void
wstr(struct wbuf *b, char pre, const char *s, size_t n, char post)
{
	const unsigned char *u = (const unsigned char *) s;
	char                *d;

	if (n > (SIZE_MAX - 8) / 6
	    || (b->len + 6 * n + 5 > b->cap && !wgrow(b, 6 * n + 4)))
		return;
	d = b->p + b->len;
	if (pre)
		*d++ = pre;
	*d++ = '"';
	for (size_t i = 0; i < n;) {
		uint64_t w;

		/* 8 bytes at once while none needs an escape (fixed-size
		 * memcpy: plain loads and stores) */
		if (n - i >= 8) {
			memcpy(&w, u + i, 8);
			if (!special8(w)) {
				memcpy(d, &w, 8);
				d += 8;
				i += 8;
				continue;
			}
		}
		if (must_escape[u[i]])
			d += wesc(d, u[i]);
		else
			*d++ = (char) u[i];
		i++;
	}
	*d++ = '"';
	if (post)
		*d++ = post;
	b->len = (size_t) (d - b->p);
}

static void
wu64(struct wbuf *b, uint64_t v, bool neg)
{
	size_t nd = 1;
	char  *d;

	for (uint64_t t = v; t >= 10; t /= 10)
		nd++;
	if (b->len + nd + 2 > b->cap && !wgrow(b, nd + 1))
		return;
	d = b->p + b->len;
	if (neg)
		*d++ = '-';
	b->len = (size_t) (d - b->p) + nd;
	do {
		d[--nd] = (char) ('0' + v % 10);
		v /= 10;
	} while (v != 0);
}

static void
wvalue(struct wbuf *b, json_object *o, int depth)
{
	bool first = true;

	if (depth > 64) { /* our trees are shallow; never recurse unbounded */
		wput(b, "null", 4);
		return;
	}
	switch (json_object_get_type(o)) {
	case json_type_null:
		wput(b, "null", 4);
		break;
	case json_type_boolean:
		if (json_object_get_boolean(o))
			wput(b, "true", 4);
		else
			wput(b, "false", 5);
		break;
	case json_type_int: {
		int64_t v = json_object_get_int64(o);

		if (v >= 0)
			wu64(b, json_object_get_uint64(o), false);
		else
			wu64(b, (uint64_t) 0 - (uint64_t) v, true);
		break;
	}
	case json_type_string:
		wstr(b, '\0', json_object_get_string(o),
		    (size_t) json_object_get_string_len(o), '\0');
		break;
	case json_type_array: {
		size_t n = json_object_array_length(o);

		wput1(b, '[');
		for (size_t i = 0; i < n; i++) {
			if (i > 0)
				wput1(b, ',');
			wvalue(b, json_object_array_get_idx(o, i), depth + 1);
		}
		wput1(b, ']');
		break;
	}
	case json_type_object:
		wput1(b, '{');
		json_object_object_foreach(o, k, v)
		{
			wstr(b, first ? '\0' : ',', k, strlen(k), ':');
			first = false;
			wvalue(b, v, depth + 1);
		}
		wput1(b, '}');
		break;
	default: { /* doubles: let json-c say it */
		size_t      n;
		const char *s = json_object_to_json_string_length(
		    o, JSON_C_TO_STRING_PLAIN, &n);

		wput(b, s, n);
	}
	}
}

int
api_json_write(json_object *root, char **buf, size_t *cap, size_t *len)
{
	struct wbuf b = { .p = *buf, .cap = *buf ? *cap : 0 };

	if (b.cap == 0)
		wgrow(&b, 0);
	wvalue(&b, root, 0);
	*buf = b.p;
	*cap = b.cap;
	if (b.oom)
		return -ENOMEM;
	b.p[b.len] = '\0';
	*len = b.len;
	return 0;
}
