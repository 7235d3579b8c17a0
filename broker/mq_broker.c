/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mq_broker: messages, retained messages, counters, $SYS, and the
 * commands of the control socket (routing: mq_route.c).
 *
 * A message is materialized (one malloc, refcounted) only when someone
 * must keep it; a QoS 0 fan-out to connected subscribers copies the bytes
 * straight from the read buffer into their output buffers.
 *
 * Counters are kept here as plain integers (b->metrics) and mirrored to
 * the segment once per loop iteration (mq__sync), so the per-packet cost
 * is one increment.
 */
#include "config.h"

#include "broker/mq_authz.h"
#include "broker/mq_auth_http.h"
#include "broker/mq_int.h"
#include "broker/mq_plugins.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

struct retained {
	struct mq_hnode h;
	mq_msg         *msg;
};

mq_msg *
mq__msg_new5(const char *topic, uint16_t tlen, const void *payload,
    uint32_t plen, uint8_t qos, bool retain, const uint8_t *props,
    uint32_t props_len, uint64_t expire_at)
{
	mq_msg *m = malloc(sizeof(*m) + tlen + plen + props_len);

	if (m == NULL)
		return NULL;
	m->ref = 1;
	m->topic_len = tlen;
	m->qos = qos;
	m->retain = retain;
	m->payload_len = plen;
	m->props_len = props_len;
	m->expire_at = expire_at;
	memcpy(m->data, topic, tlen);
	if (plen)
		memcpy(m->data + tlen, payload, plen);
	if (props_len)
		memcpy(m->data + tlen + plen, props, props_len);
	return m;
}

mq_msg *
mq__msg_new(const char *topic, uint16_t tlen, const void *payload,
    uint32_t plen, uint8_t qos, bool retain)
{
	return mq__msg_new5(
	    topic, tlen, payload, plen, qos, retain, NULL, 0, 0);
}

void
mq__msg_unref(mq_msg *m)
{
	if (m != NULL && --m->ref == 0)
		free(m);
}

mq_msg *
mq__pub_hold(struct mq_pub *p)
{
	if (p->msg == NULL) {
		p->msg = mq__msg_new5(p->topic, p->topic_len, p->payload,
		    p->payload_len, p->qos, p->retain, p->props, p->props_len,
		    p->expire_at);
		if (p->msg == NULL)
			return NULL;
		/* From now on the bytes live in the message. */
		p->topic = mq_msg_topic(p->msg);
		p->payload = mq_msg_payload(p->msg);
		p->props = mq_msg_props(p->msg);
	}
	return mq__msg_ref(p->msg);
}

void
mq__pub_from_msg(struct mq_pub *p, mq_msg *m)
{
	memset(p, 0, sizeof(*p));
	p->topic = mq_msg_topic(m);
	p->topic_len = m->topic_len;
	p->payload = mq_msg_payload(m);
	p->payload_len = m->payload_len;
	p->qos = m->qos;
	p->retain = m->retain;
	p->props = mq_msg_props(m);
	p->props_len = m->props_len;
	p->expire_at = m->expire_at;
	p->msg = mq__msg_ref(m);
}

bool
mq__plugin_active(const mq_broker *b, int id)
{
	if (b->plugins == NULL)
		return b->plugins_default[id];
	return mq_plugins_active(b->plugins, (enum mq_plugin_id) id);
}

bool
mq__acl(mq_broker *b, mq_conn *c, const char *topic, size_t len, bool pub)
{
	mq_session *s = c ? c->s : NULL;
	int         h;

	if (b->plugins == NULL || c == NULL || s == NULL)
		return true;
	/* A database plugin's rules, fetched at CONNECT (mq_authz.h). */
	if (c->authz != NULL
	    && mq__plugin_active(b, mq_authz_plugin(c->authz))) {
		enum mq_authz_verdict v;

		if (mq_authz_super(c->authz))
			return true;
		v = mq_authz_check(c->authz, topic, len, pub);
		if (v != MQ_AUTHZ_NOMATCH)
			return v == MQ_AUTHZ_ALLOW;
	}
	/* mqttd_auth_http's acl_req: asked before the packet was handled
	 * (mq__http_acl_wait); unknown still (a will at CONNECT): denied. */
	h = mq__http_acl(b, c, topic, len, pub);
	if (h >= 0 || h == -2)
		return h == 1;
	return mq_plugins_acl(b->plugins, &c->grant, s->id, s->id_len,
	    c->username, c->username_len, topic, len,
	    pub ? MQ_ACL_PUBLISH : MQ_ACL_SUBSCRIBE);
}

/* ---- retained store ---- */

static struct retained *
retained_find(mq_broker *b, const char *topic, size_t len, uint32_t *hash)
{
	uint32_t         h = mq_hash_bytes(topic, len, 0);
	struct mq_hnode *n = mq_hash_chain(&b->retained, h);

	*hash = h;
	for (; n != NULL; n = n->next) {
		struct retained *r = (struct retained *) n;

		if (n->hash == h && r->msg->topic_len == len
		    && memcmp(mq_msg_topic(r->msg), topic, len) == 0)
			return r;
	}
	return NULL;
}

void
mq__retain_store(mq_broker *b, struct mq_pub *p)
{
	uint32_t         h;
	struct retained *r = retained_find(b, p->topic, p->topic_len, &h);

	if (p->payload_len == 0) { /* [MQTT-3.3.1-10] delete */
		if (r != NULL) {
			mq_hash_remove(&b->retained, &r->h);
			mq__msg_unref(r->msg);
			free(r);
			b->nretained--;
			mq__persist_retained(b, p->topic, p->topic_len, NULL);
		}
	} else {
		mq_msg *m = mq__pub_hold(p);

		if (m == NULL)
			return;
		mq__persist_retained(b, p->topic, p->topic_len, m);
		if (r != NULL) { /* [MQTT-3.3.1-5] replace */
			mq__msg_unref(r->msg);
			r->msg = m;
		} else if ((r = malloc(sizeof(*r))) != NULL) {
			r->msg = m;
			mq_hash_insert(&b->retained, &r->h, h);
			b->nretained++;
		} else {
			mq__msg_unref(m);
		}
	}
	b->metrics[SHM_M_MESSAGES_RETAINED] = b->nretained;
	b->stats_dirty = true;
}

void
mq__retained_load(mq_broker *b, mq_msg *m)
{
	/* The store has one record per topic and loads before anything
	 * else stores: no lookup, no replace (a million at start). */
	struct retained *r = malloc(sizeof(*r));

	if (r == NULL) {
		mq__msg_unref(m);
		return;
	}
	r->msg = m;
	mq_hash_insert(&b->retained, &r->h,
	    mq_hash_bytes(mq_msg_topic(m), m->topic_len, 0));
	b->nretained++;
	b->metrics[SHM_M_MESSAGES_RETAINED] = b->nretained;
	b->stats_dirty = true;
}

void
mq__retained_reserve(mq_broker *b, uint32_t n)
{
	mq_hash_reserve(&b->retained, n);
}

void
mq__retained_clear(mq_broker *b)
{
	for (uint32_t i = 0; i <= b->retained.mask; i++) {
		struct mq_hnode *n = b->retained.b[i], *next;

		for (; n != NULL; n = next) {
			next = n->next;
			mq__msg_unref(((struct retained *) n)->msg);
			free(n);
		}
		b->retained.b[i] = NULL;
	}
	b->retained.count = 0;
	b->nretained = 0;
	b->metrics[SHM_M_MESSAGES_RETAINED] = 0;
	b->stats_dirty = true;
}

static void
send_retained(mq_broker *b, struct mq_sub *sub, mq_msg *m)
{
	struct mq_pub p;
	uint8_t       q = m->qos < sub->qos ? m->qos : sub->qos;

	if (m->expire_at != 0 && mq_now_ms() > m->expire_at)
		return; /* MQTT 5.0 Message Expiry: no longer to be sent */
	mq__pub_from_msg(&p, m);
	p.sub_id = sub->sub_id;
	mq__deliver(sub->s, &p, q, true); /* [MQTT-3.3.1-8] */
	mq__msg_unref(p.msg);
}

void
mq__retained_deliver(mq_broker *b, struct mq_sub *sub)
{
	/* "Retained messages are not sent to the Session when it is a
	 * Shared Subscription" (MQTT 5.0 3.3.1.3, 4.8.2). */
	if (!mq__plugin_active(b, MQ_PLUGIN_RETAINER) || b->nretained == 0
	    || sub->group != NULL)
		return;
	if (!mq_topic_has_wildcard(sub->filter, sub->len)) {
		uint32_t         h;
		struct retained *r
		    = retained_find(b, sub->filter, sub->len, &h);

		if (r != NULL)
			send_retained(b, sub, r->msg);
		return;
	}
	for (uint32_t i = 0; i <= b->retained.mask; i++) {
		struct mq_hnode *n = b->retained.b[i];

		for (; n != NULL; n = n->next) {
			mq_msg *m = ((struct retained *) n)->msg;

			if (mq_topic_match(sub->filter, sub->len,
			        mq_msg_topic(m), m->topic_len))
				send_retained(b, sub, m);
		}
	}
}

/* ---- publishing (routing: mq_route.c) ---- */

void
mq__publish(mq_broker *b, struct mq_pub *p)
{
	/* First, while p's bytes are still where they came in (routing may
	 * move them into a message it then drops). */
	if (b->cluster.published != NULL)
		mq__cluster_published(b, p);
	if (p->retain && mq__plugin_active(b, MQ_PLUGIN_RETAINER))
		mq__retain_store(b, p);
	mq__route_local(b, p);
}

/* ---- counters and the segment ---- */

static void
stat_set(mq_broker *b, enum shm_stat count, uint64_t v)
{
	b->stats[count] = v;
	if (v > b->stats[count + 1])
		b->stats[count + 1] = v;
}

void
mq__stats_update(mq_broker *b)
{
	stat_set(b, SHM_S_CLIENTS_COUNT, b->nclients);
	stat_set(b, SHM_S_RETAINED_COUNT, b->nretained);
	stat_set(b, SHM_S_ROUTES_COUNT, mq_trie_routes(b->trie));
	stat_set(b, SHM_S_SESSIONS_COUNT, b->nsessions);
	stat_set(b, SHM_S_SUBSCRIBERS_COUNT, b->nsubs);
	stat_set(b, SHM_S_SUBSCRIPTIONS_COUNT, b->nsubs);
	stat_set(b, SHM_S_TOPICS_COUNT, mq_trie_routes(b->trie));
}

static void
session_sync(mq_broker *b, mq_session *s)
{
	struct col_session_counts n = { 0 };

	for (uint16_t i = 0; i < s->if_span; i++) {
		const struct mq_inflight *f
		    = &s->inf[(s->if_head + i) % s->if_cap];

		if (f->state == MQ_IF_PUBREC)
			n.awaiting_ack++;
		else if (f->state == MQ_IF_PUBCOMP)
			n.awaiting_comp++;
		else if (f->state == MQ_IF_PUBACK)
			n.awaiting_ack++;
	}
	n.connected = s->conn != NULL;
	n.subscriptions = s->nsubs;
	n.max_inflight = b->cfg->max_inflight;
	n.inflight_len = s->if_live;
	n.mqueue_len = s->q_len;
	n.mqueue_dropped = s->q_dropped;
	n.awaiting_rel_len = s->aw_len;
	n.deliver_msg = s->deliver_msg;
	n.enqueue_msg = s->enqueue_msg;
	col_session_update(b->col, s->col, &n);
}

void
mq__sync(mq_broker *b)
{
	while (b->dirty != NULL) {
		mq_session *s = b->dirty;

		b->dirty = s->next_dirty;
		s->dirty = false;
		s->next_dirty = NULL;
		if (b->col != NULL)
			session_sync(b, s);
	}
	if (b->stats_dirty) {
		b->stats_dirty = false;
		mq__stats_update(b);
		if (b->col != NULL)
			col_stats_set(b->col, b->stats);
	}
	if (b->col == NULL)
		return;
	for (int i = 0; i < SHM_METRIC_COUNT; i++) {
		if (b->metrics[i] != b->metrics_synced[i]) {
			b->metrics_synced[i] = b->metrics[i];
			col_metric_set(
			    b->col, (enum shm_metric) i, b->metrics[i]);
		}
	}
}

/* ---- $SYS and the heartbeat ---- */

static void
sys_pub(mq_broker *b, const char *suffix, const char *value, bool retain)
{
	char topic[512];
	int  n = snprintf(
	     topic, sizeof(topic), "$SYS/brokers/%s/%s", b->cfg->node, suffix);
	struct mq_pub p = { 0 };

	if (n <= 0 || (size_t) n >= sizeof(topic))
		return;
	p.topic = topic;
	p.topic_len = (uint16_t) n;
	p.payload = (const uint8_t *) value;
	p.payload_len = (uint32_t) strlen(value);
	p.retain = retain;
	mq__publish(b, &p);
}

static void
fmt_uptime(char *buf, size_t len, uint64_t s)
{
	uint64_t d = s / 86400, h = s / 3600 % 24, m = s / 60 % 60;

	if (d)
		snprintf(buf, len,
		    "%llu days, %llu hours, %llu minutes, %llu "
		    "seconds",
		    (unsigned long long) d, (unsigned long long) h,
		    (unsigned long long) m, (unsigned long long) (s % 60));
	else
		snprintf(buf, len, "%llu hours, %llu minutes, %llu seconds",
		    (unsigned long long) h, (unsigned long long) m,
		    (unsigned long long) (s % 60));
}

static void
sys_tick(mq_timer *t)
{
	mq_broker *b = container_of(t, mq_broker, sys_timer);
	char       buf[128], name[128];
	time_t     now = time(NULL);
	struct tm  tm;

	mq_timer_set(&b->timers, t,
	    mq_now_ms() + (uint64_t) b->cfg->sys_interval * 1000);
	if (!mq__plugin_active(b, MQ_PLUGIN_SYS))
		return;
	fmt_uptime(buf, sizeof(buf), (mq_now_ms() - b->started_ms) / 1000);
	sys_pub(b, "uptime", buf, false);
	localtime_r(&now, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
	sys_pub(b, "datetime", buf, false);
	mq__stats_update(b);
	for (int i = 0; i < SHM_METRIC_COUNT; i++) {
		snprintf(name, sizeof(name), "metrics/%s",
		    shm_metric_name((enum shm_metric) i));
		snprintf(buf, sizeof(buf), "%llu",
		    (unsigned long long) b->metrics[i]);
		sys_pub(b, name, buf, false);
	}
	for (int i = 0; i < SHM_STAT_COUNT; i++) {
		snprintf(name, sizeof(name), "stats/%s",
		    shm_stat_name((enum shm_stat) i));
		snprintf(buf, sizeof(buf), "%llu",
		    (unsigned long long) b->stats[i]);
		sys_pub(b, name, buf, false);
	}
}

/*
 * The memory the broker may use: the machine's RAM, or less if its cgroup
 * (v2) sets memory.max.  The API's memory_total is this, so that
 * memory_used (resident) reads as a share of it; the process's virtual
 * size is no measure (LMDB's map, and under ASan its shadow: "20.00T").
 * Read once: neither changes while the broker runs, as a rule.
 */
static uint64_t
memory_limit(void)
{
	uint64_t total = (uint64_t) sysconf(_SC_PHYS_PAGES)
	    * (uint64_t) sysconf(_SC_PAGESIZE);
	char               line[512], path[600];
	FILE              *f = fopen("/proc/self/cgroup", "r");
	unsigned long long max;

	if (f == NULL)
		return total;
	while (fgets(line, sizeof(line), f) != NULL) {
		FILE *m;

		if (strncmp(line, "0::", 3) != 0)
			continue;
		line[strcspn(line, "\n")] = '\0';
		snprintf(path, sizeof(path), "/sys/fs/cgroup%s/memory.max",
		    line + 3);
		m = fopen(path, "r");
		if (m != NULL) {
			/* "max" (no limit) does not scan */
			if (fscanf(m, "%llu", &max) == 1 && max < total)
				total = max;
			fclose(m);
		}
	}
	fclose(f);
	return total;
}

static void
beat(mq_timer *t)
{
	mq_broker      *b = container_of(t, mq_broker, beat_timer);
	struct col_proc pr = { 0 };
	struct rlimit   rl;
	FILE           *f;
	unsigned long   size = 0, rss = 0;

	if (b->col == NULL)
		return; /* nobody to tell: no wake-ups either */
	mq_timer_set(&b->timers, t, mq_now_ms() + 1000);
	f = fopen("/proc/self/statm", "r");
	if (f != NULL) {
		if (fscanf(f, "%lu %lu", &size, &rss) != 2)
			size = rss = 0;
		fclose(f);
	}
	if (b->mem_limit == 0)
		b->mem_limit = memory_limit();
	pr.mem_total = b->mem_limit;
	pr.mem_used = (uint64_t) rss * (uint64_t) sysconf(_SC_PAGESIZE);
	pr.fds_used = b->nconns + b->nlisteners + 8;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		pr.fds_max = rl.rlim_cur;
	for (unsigned i = 0; i < b->nlisteners; i++)
		pr.clients_max_conf += b->listeners[i].max_clients;
	col_heartbeat(b->col, &pr);
}

/* The retained facts of $SYS/brokers/<node>/: version and description. */
static void
sys_announce(mq_broker *b)
{
	if (!mq__plugin_active(b, MQ_PLUGIN_SYS))
		return;
	sys_pub(b, "version", PACKAGE_VERSION, true);
	sys_pub(b, "sysdescr", "mqttd", true);
}

int
mq__sys_start(mq_broker *b)
{
	sys_announce(b);
	mq_timer_set(&b->timers, &b->sys_timer,
	    mq_now_ms() + (uint64_t) b->cfg->sys_interval * 1000);
	beat(&b->beat_timer);
	return 0;
}

/* ---- lifecycle ---- */

int
mq_broker_new(mq_broker **out, const mq_config *cfg, struct col *cl,
    struct mq_plugins *plugins)
{
	mq_broker *b = calloc(1, sizeof(*b));

	if (b == NULL)
		return -ENOMEM;
	b->cfg = cfg;
	b->col = cl;
	b->plugins = plugins;
	b->epfd = -1;
	b->plugins_default[MQ_PLUGIN_RETAINER] = true;
	b->plugins_default[MQ_PLUGIN_SYS] = true;
	b->started_ms = mq_now_ms();
	b->started_at = time(NULL);
	mq_timer_init(&b->sys_timer, sys_tick);
	mq_timer_init(&b->beat_timer, beat);
	if (mq_trie_new(&b->trie) != 0 || mq_hash_init(&b->sessions, 1024) != 0
	    || mq_hash_init(&b->retained, 256) != 0
	    || mq_hash_init(&b->groups, 64) != 0) {
		mq_broker_free(&b);
		return -ENOMEM;
	}
	b->stats_dirty = true;
	*out = b;
	return 0;
}

void
mq_broker_free(mq_broker **bp)
{
	mq_broker *b = *bp;

	if (b == NULL)
		return;
	for (mq_conn *c = b->conns; c != NULL; c = c->all_next) {
		mq__conn_close_rc(c, SHM_SHUT_CLOSED,
		    MQ_RC_SERVER_SHUTTING_DOWN); /* v5 only */
	}
	mq_broker_sweep(b);
	for (uint32_t i = 0; b->sessions.b != NULL && i <= b->sessions.mask;
	     i++)
		while (b->sessions.b[i] != NULL)
			mq__session_free((mq_session *) b->sessions.b[i]);
	if (b->retained.b != NULL)
		mq__retained_clear(b);
	mq_hash_fini(&b->retained);
	mq_hash_fini(&b->sessions);
	mq_hash_fini(&b->groups); /* emptied with the sessions */
	mq_trie_free(&b->trie);
	mq__route_fini(b);
	mq_timers_fini(&b->timers);
	free(b);
	*bp = NULL;
}

uint64_t
mq_broker_metric(const mq_broker *b, int metric)
{
	return metric >= 0 && metric < SHM_METRIC_COUNT ? b->metrics[metric]
	                                                : 0;
}

void
mq_broker_tick(mq_broker *b, uint64_t now_ms)
{
	mq_timers_expire(&b->timers, now_ms);
	mq_broker_sweep(b);
}

/* ---- control-socket commands ---- */

int
mq_broker_publish(mq_broker *b, const char *topic, size_t tlen,
    const void *payload, size_t plen, uint8_t qos, bool retain,
    const char *client_id, size_t idlen)
{
	struct mq_pub p = { 0 };

	(void) client_id;
	(void) idlen;
	if (qos > 2 || !mq_topic_name_valid(topic, tlen)
	    || !mq_utf8_valid((const uint8_t *) topic, tlen)
	    || plen > b->cfg->max_packet_size)
		return -EINVAL;
	p.topic = topic;
	p.topic_len = (uint16_t) tlen;
	p.payload = payload;
	p.payload_len = (uint32_t) plen;
	p.qos = qos;
	p.retain = retain;
	/* Not a client's PUBLISH: messages/received is not counted. */
	mq__publish(b, &p);
	return 0;
}

int
mq_broker_subscribe(mq_broker *b, const char *client_id, size_t idlen,
    const char *filter, size_t flen, uint8_t qos)
{
	mq_session    *s;
	struct mq_sub *sub;
	int            rc;

	if (qos > 2 || !mq_topic_filter_valid(filter, flen)
	    || !mq_utf8_valid((const uint8_t *) filter, flen))
		return -EINVAL;
	s = mq__session_find(b, client_id, idlen);
	if (s == NULL)
		return -ENOENT;
	rc = mq__subscribe(s, filter, flen, qos, &sub);
	if (rc < 0)
		return rc;
	mq__retained_deliver(b, sub);
	return 0;
}

int
mq_broker_unsubscribe(mq_broker *b, const char *client_id, size_t idlen,
    const char *filter, size_t flen)
{
	mq_session *s = mq__session_find(b, client_id, idlen);

	if (s == NULL)
		return -ENOENT;
	mq__unsubscribe(s, filter, flen);
	return 0;
}

int
mq_broker_kick(mq_broker *b, const char *client_id, size_t idlen)
{
	mq_session *s = mq__session_find(b, client_id, idlen);

	if (s == NULL || s->conn == NULL || s->conn->state == MQ_CS_CLOSING)
		return -ENOENT;
	mq_info("client %.*s kicked", (int) idlen, client_id);
	mq__conn_close(s->conn, SHM_SHUT_KICKED);
	return 0;
}

int
mq_broker_plugin(mq_broker *b, const char *name, size_t len, bool active)
{
	int id = mq_plugin_find(name, len), rc;

	if (id < 0)
		return -ENOENT;
	if (b->plugins == NULL) {
		if (b->plugins_default[id] == active)
			return -EALREADY;
		b->plugins_default[id] = active;
		return 0;
	}
	rc = mq_plugins_set_active(b->plugins, (enum mq_plugin_id) id, active);
	if (rc == 0) {
		mq_info("plugin %s %s", mq_plugin_name((enum mq_plugin_id) id),
		    active ? "loaded" : "unloaded");
		if (b->col != NULL)
			col_plugin_active(b->col, b->plugin_col[id], active);
		if (id == MQ_PLUGIN_SYS && active)
			sys_announce(b);
	}
	return rc;
}
