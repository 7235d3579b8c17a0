/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mq_session: sessions, their subscriptions, and message delivery.
 *
 * Outgoing QoS 1/2 messages sit in a ring (the inflight window) whose
 * entries carry consecutive packet ids from the head, so an ack finds its
 * entry by arithmetic: idx = (pid - head pid) mod 65535.  An entry acked
 * out of order is marked done and popped when it reaches the head; the
 * ring's span, not just the live count, is bounded by max_inflight, which
 * keeps the ids of a window distinct.  Past the window, messages wait in
 * the queue ring (max_queue, oldest dropped first, as EMQ 2.3 does).
 *
 * A clean session dies with its connection; a persistent one goes
 * offline, keeps queueing (QoS 0 too, like EMQ's queue_qos0) and expires
 * after session_expiry seconds unless a client resumes it.
 */
#include "config.h"

#include "broker/mq_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void expiry_fire(mq_timer *t);
static void retry_fire(mq_timer *t);
static void will_fire(mq_timer *t);

mq_session *
mq__session_find(mq_broker *b, const char *id, size_t len)
{
	uint32_t         h = mq_hash_bytes(id, len, 1);
	struct mq_hnode *n = mq_hash_chain(&b->sessions, h);

	for (; n != NULL; n = n->next) {
		mq_session *s = (mq_session *) n;

		if (n->hash == h && s->id_len == len
		    && memcmp(s->id, id, len) == 0)
			return s;
	}
	return NULL;
}

mq_session *
mq__session_new(mq_broker *b, const char *id, size_t len, bool clean)
{
	mq_session *s = calloc(1, sizeof(*s) + len + 1);

	if (s == NULL)
		return NULL;
	s->b = b;
	s->clean = clean;
	s->id_len = (uint16_t) len;
	memcpy(s->id, id, len);
	s->next_pid = 1;
	s->win_max = (uint16_t) b->cfg->max_inflight;
	s->created_at = time(NULL);
	mq_timer_init(&s->expiry, expiry_fire);
	mq_timer_init(&s->retry, retry_fire);
	mq_timer_init(&s->will_timer, will_fire);
	mq_hash_insert(&b->sessions, &s->h, mq_hash_bytes(id, len, 1));
	b->nsessions++;
	b->stats_dirty = true;
	if (b->col != NULL)
		s->col = col_session_created(
		    b->col, id, len, clean, s->created_at);
	mq__session_dirty(s);
	mq__persist_session(s);
	return s;
}

void
mq__session_dirty(mq_session *s)
{
	if (!s->dirty) {
		s->dirty = true;
		s->next_dirty = s->b->dirty;
		s->b->dirty = s;
	}
}

/* ---- shared subscription groups ---- */

static struct mq_group *
group_find(mq_broker *b, const char *share, size_t len, uint32_t h)
{
	struct mq_hnode *n = mq_hash_chain(&b->groups, h);

	for (; n != NULL; n = n->next) {
		struct mq_group *g = (struct mq_group *) n;

		if (n->hash == h && g->len == len
		    && memcmp(g->share, share, len) == 0)
			return g;
	}
	return NULL;
}

/* Adds sub to the group of its $share string (created on first use). */
static int
group_join(mq_broker *b, struct mq_sub *sub)
{
	uint32_t         h = mq_hash_bytes(sub->filter, sub->len, 3);
	struct mq_group *g = group_find(b, sub->filter, sub->len, h);

	if (g == NULL) {
		g = calloc(1, sizeof(*g) + sub->len);
		if (g == NULL)
			return -ENOMEM;
		memcpy(g->share, sub->filter, sub->len);
		g->len = sub->len;
		mq_hash_insert(&b->groups, &g->h, h);
	}
	if (g->n == g->cap) {
		uint32_t        cap = g->cap ? g->cap * 2 : 4;
		struct mq_sub **m = realloc(g->m, cap * sizeof(*m));

		if (m == NULL) {
			if (g->n == 0) {
				mq_hash_remove(&b->groups, &g->h);
				free(g);
			}
			return -ENOMEM;
		}
		g->m = m;
		g->cap = cap;
	}
	g->m[g->n++] = sub;
	sub->group = g;
	return 0;
}

static void
group_leave(mq_broker *b, struct mq_sub *sub)
{
	struct mq_group *g = sub->group;
	uint32_t         i = 0;

	while (i < g->n && g->m[i] != sub)
		i++;
	if (i < g->n) {
		memmove(
		    &g->m[i], &g->m[i + 1], (g->n - i - 1) * sizeof(*g->m));
		g->n--;
		if (g->next > i) /* the same member stays next in turn */
			g->next--;
	}
	sub->group = NULL;
	if (g->n > 0)
		return;
	mq_hash_remove(&b->groups, &g->h);
	free(g->m);
	free(g);
}

static bool
online(const mq_session *s)
{
	return s->conn != NULL && s->conn->state == MQ_CS_CONNECTED;
}

/*
 * Round robin over the connected members; with none connected, the
 * next persistent member queues it (4.8.2 lets the server pick any);
 * members whose sessions die with their connection are skipped then.
 */
struct mq_sub *
mq__group_pick(struct mq_group *g, uint64_t seq)
{
	struct mq_sub *spare = NULL;
	uint32_t       spare_at = 0;

	if (g->seq == seq)
		return NULL;
	g->seq = seq;
	for (uint32_t i = 0; i < g->n; i++) {
		uint32_t       k = (g->next + i) % g->n;
		struct mq_sub *sub = g->m[k];

		if (online(sub->s)) {
			g->next = (k + 1) % g->n;
			return sub;
		}
		if (spare == NULL && !sub->s->clean) {
			spare = sub;
			spare_at = k;
		}
	}
	if (spare != NULL)
		g->next = (spare_at + 1) % g->n;
	return spare;
}

static void
sub_unlink(mq_session *s, struct mq_sub *sub)
{
	mq_broker    *b = s->b;
	uint32_t     *route;
	mq_trie_node *node = sub->te.node;

	route = mq_trie_node_user(node);
	if (b->col != NULL) {
		col_unsubscribed(b->col, sub->col);
		/* The node dies with its last entry: drop the route first. */
		if (node != NULL && sub->te.next == NULL
		    && sub->te.prev == NULL)
			col_route_removed(b->col, *route);
	}
	if (mq_trie_remove(b->trie, &sub->te) == 1 && b->cluster.event)
		mq__cluster_route(b, sub, false);
	if (sub->group != NULL)
		group_leave(b, sub);
	s->nsubs--;
	b->nsubs--;
	b->stats_dirty = true;
	free(sub);
}

static void
dirty_unlink(mq_session *s)
{
	mq_session **pp = &s->b->dirty;

	if (!s->dirty)
		return;
	for (; *pp != NULL; pp = &(*pp)->next_dirty) {
		if (*pp == s) {
			*pp = s->next_dirty;
			break;
		}
	}
}

/* Publishes (and drops) the session's delayed v5 will, if any. */
static void
will_publish(mq_session *s)
{
	mq_msg       *m = s->will;
	struct mq_pub p;

	if (m == NULL)
		return;
	s->will = NULL;
	mq_timer_cancel(&s->b->timers, &s->will_timer);
	mq__persist_session(s);
	mq__will_pub(&p, m);
	mq__msg_unref(m);
	mq__publish(s->b, &p);
}

static void
will_fire(mq_timer *t)
{
	will_publish(container_of(t, mq_session, will_timer));
}

void
mq__will_pub(struct mq_pub *p, mq_msg *will)
{
	if (will->expire_at != 0) /* Message Expiry starts now */
		will->expire_at = mq_now_ms() + (will->expire_at - 1) * 1000;
	mq__pub_from_msg(p, will);
}

void
mq__session_will(mq_session *s, mq_msg *will, uint32_t delay_s)
{
	mq__msg_unref(s->will);
	s->will = will;
	mq_timer_set(&s->b->timers, &s->will_timer,
	    mq_now_ms() + (uint64_t) delay_s * 1000);
	mq__persist_session(s);
}

void
mq__session_free(mq_session *s)
{
	mq_broker *b = s->b;
	mq_msg    *will = s->will;

	while (s->subs != NULL) {
		struct mq_sub *sub = s->subs;

		s->subs = sub->next;
		sub_unlink(s, sub);
	}
	for (uint16_t i = 0; i < s->if_span; i++)
		mq__msg_unref(s->inf[(s->if_head + i) % s->if_cap].msg);
	for (uint32_t i = 0; i < s->q_len; i++)
		mq__msg_unref(s->q[(s->q_head + i) % s->q_cap].msg);
	for (uint16_t i = 0; i < s->aw_len; i++)
		mq__msg_unref(s->aw[i].msg);
	free(s->inf);
	free(s->q);
	free(s->aw);
	mq_timer_cancel(&b->timers, &s->expiry);
	mq_timer_cancel(&b->timers, &s->retry);
	mq_timer_cancel(&b->timers, &s->will_timer);
	dirty_unlink(s);
	mq__persist_session_gone(s);
	mq_hash_remove(&b->sessions, &s->h);
	if (b->col != NULL)
		col_session_removed(b->col, s->col);
	b->nsessions--;
	b->stats_dirty = true;
	free(s);
	/* [MQTT5-3.1.3.2.2] the session ended before the will delay. */
	if (will != NULL) {
		struct mq_pub p;

		mq__will_pub(&p, will);
		mq__msg_unref(will);
		mq__publish(b, &p);
	}
}

static void
expiry_fire(mq_timer *t)
{
	mq_session *s = container_of(t, mq_session, expiry);

	if (s->conn == NULL) {
		mq_info("session %.*s expired", (int) s->id_len, s->id);
		mq__session_free(s);
	}
}

void
mq__session_attach(mq_session *s, mq_conn *c)
{
	s->conn = c;
	c->s = s;
	mq_timer_cancel(&s->b->timers, &s->expiry);
	if (s->will != NULL) { /* resumed within the will delay */
		mq_timer_cancel(&s->b->timers, &s->will_timer);
		mq__msg_unref(s->will);
		s->will = NULL;
	}
	mq__session_dirty(s);
	mq__persist_session(s);
}

void
mq__session_detach(mq_session *s)
{
	mq_broker *b = s->b;

	if (s->conn != NULL)
		s->conn->s = NULL;
	s->conn = NULL;
	if (s->clean) {
		mq__session_free(s);
		return;
	}
	mq_timer_set(&b->timers, &s->expiry,
	    mq_now_ms()
	        + (uint64_t) (s->v5 ? s->expiry_s : b->cfg->session_expiry)
	            * 1000);
	mq__session_dirty(s);
	mq__persist_session(s);
}

/* ---- subscriptions ---- */

struct mq_sub *
mq__sub_find(mq_session *s, const char *f, size_t len)
{
	for (struct mq_sub *sub = s->subs; sub != NULL; sub = sub->next)
		if (sub->len == len && memcmp(sub->filter, f, len) == 0)
			return sub;
	return NULL;
}

int
mq__subscribe(
    mq_session *s, const char *f, size_t len, uint8_t qos, struct mq_sub **out)
{
	mq_broker     *b = s->b;
	struct mq_sub *sub;
	size_t         off = 0;
	int            rc, shared;

	for (sub = s->subs; sub != NULL; sub = sub->next) {
		if (sub->len == len && memcmp(sub->filter, f, len) == 0) {
			/* [MQTT-3.8.4-3] replace: same entry, new QoS. */
			sub->qos = qos;
			if (b->col != NULL)
				col_subscription_qos(b->col, sub->col, qos);
			mq__persist_session(s);
			*out = sub;
			return qos;
		}
	}
	shared = mq_topic_share(f, len, &off);
	if (shared < 0)
		return shared;
	sub = calloc(1, sizeof(*sub) + len + 1);
	if (sub == NULL)
		return -ENOMEM;
	memcpy(sub->filter, f, len);
	sub->len = (uint16_t) len;
	sub->foff = (uint16_t) off;
	sub->qos = qos;
	sub->s = s;
	if (shared && group_join(b, sub) != 0) {
		free(sub);
		return -ENOMEM;
	}
	/* The trie and the routes hold the filter; the segment's
	 * subscription record the whole $share string. */
	rc = mq_trie_insert(b->trie, f + off, len - off, &sub->te);
	if (rc < 0) {
		if (sub->group != NULL)
			group_leave(b, sub);
		free(sub);
		return rc;
	}
	if (rc == 1 && b->cluster.event)
		mq__cluster_route(b, sub, true);
	if (b->col != NULL) {
		if (rc == 1)
			*mq_trie_node_user(sub->te.node)
			    = col_route_added(b->col, f + off, len - off);
		sub->col
		    = col_subscribed(b->col, s->id, s->id_len, f, len, qos);
	}
	sub->next = s->subs;
	s->subs = sub;
	s->nsubs++;
	b->nsubs++;
	b->stats_dirty = true;
	mq__session_dirty(s);
	mq__persist_session(s);
	*out = sub;
	return qos;
}

int
mq__unsubscribe(mq_session *s, const char *f, size_t len)
{
	struct mq_sub **pp = &s->subs;

	for (; *pp != NULL; pp = &(*pp)->next) {
		struct mq_sub *sub = *pp;

		if (sub->len == len && memcmp(sub->filter, f, len) == 0) {
			*pp = sub->next;
			sub_unlink(s, sub);
			mq__session_dirty(s);
			mq__persist_session(s);
			return 0;
		}
	}
	return -ENOENT;
}

/* ---- outgoing ---- */

/* seq: the message's record in the store, 0: a new message (stored now
 * if the session is persistent). */
static void
enqueue(mq_session *s, mq_msg *m, uint8_t qos, bool retain, uint32_t sub_id,
    uint64_t seq)
{
	const mq_config *cfg = s->b->cfg;
	struct mq_qent  *e;

	if (cfg->max_queue == 0) {
		mq__msg_unref(m);
		mq__persist_msg_gone(s, seq);
		s->q_dropped++;
		return;
	}
	if (s->q_len == s->q_cap) {
		if (s->q_cap >= cfg->max_queue) {
			/* Full: drop the oldest, as EMQ 2.3's mqueue does. */
			e = &s->q[s->q_head];
			mq__msg_unref(e->msg);
			mq__persist_msg_gone(s, e->seq);
			s->q_head = (s->q_head + 1) % s->q_cap;
			s->q_len--;
			s->q_dropped++;
		} else {
			uint32_t        cap = s->q_cap ? s->q_cap * 2 : 16;
			struct mq_qent *q;

			if (cap > cfg->max_queue)
				cap = cfg->max_queue;
			q = malloc(cap * sizeof(*q));
			if (q == NULL) {
				mq__msg_unref(m);
				mq__persist_msg_gone(s, seq);
				s->q_dropped++;
				return;
			}
			for (uint32_t i = 0; i < s->q_len; i++)
				q[i] = s->q[(s->q_head + i) % s->q_cap];
			free(s->q);
			s->q = q;
			s->q_cap = cap;
			s->q_head = 0;
		}
	}
	e = &s->q[(s->q_head + s->q_len) % s->q_cap];
	e->msg = m;
	e->qos = qos;
	e->retain = retain;
	e->sub_id = sub_id;
	/* One record per message: the session's own record is untouched. */
	e->seq = seq != 0 ? seq : mq__persist_msg(s, m, qos, retain, sub_id);
	s->q_len++;
	s->enqueue_msg++;
	mq__session_dirty(s);
}

static bool
window_full(const mq_session *s)
{
	/* win_max: max_inflight, or less when a v5 client's Receive
	 * Maximum says so [MQTT5-3.3.4-9]. */
	return s->if_span >= s->win_max;
}

static bool
expired(const mq_msg *m)
{
	return m->expire_at != 0 && mq_now_ms() > m->expire_at;
}

static uint16_t
pid_next(uint16_t pid)
{
	return pid == 65535 ? 1 : (uint16_t) (pid + 1);
}

static void
retry_arm(mq_session *s, uint64_t at)
{
	mq_timers *ts = &s->b->timers;

	if (!mq_timer_armed(&s->retry) || s->retry.deadline > at)
		mq_timer_set(ts, &s->retry, at);
}

/* The window ring, allocated on first use; false: no memory. */
static bool
inf_alloc(mq_session *s)
{
	uint32_t cap = s->b->cfg->max_inflight;

	if (s->inf != NULL)
		return true;
	s->inf = malloc(cap * sizeof(*s->inf));
	if (s->inf == NULL)
		return false;
	s->if_cap = (uint16_t) cap;
	return true;
}

/* A held message on its way to one receiver (not retained, not DUP, no
 * packet id: the caller sets those). */
static struct mq_wpub
msg_wpub(const mq_msg *m, uint8_t qos, uint32_t sub_id)
{
	return (struct mq_wpub) {
		.topic = mq_msg_topic(m),
		.topic_len = m->topic_len,
		.payload = mq_msg_payload(m),
		.payload_len = m->payload_len,
		.props = mq_msg_props(m),
		.props_len = m->props_len,
		.expire_at = m->expire_at,
		.qos = qos,
		.sub_id = sub_id,
	};
}

/* A publish delivered at QoS 0 straight from the publisher's packet
 * (the v5 fields are the caller's to add). */
static struct mq_wpub
pub_wpub(const struct mq_pub *p, bool retain)
{
	return (struct mq_wpub) {
		.topic = p->topic,
		.topic_len = p->topic_len,
		.payload = p->payload,
		.payload_len = p->payload_len,
		.retain = retain,
	};
}

/* Puts m in the window (taking the reference) and sends it; seq: its
 * record from the queue, 0: a new message. */
static void
send_inflight(mq_session *s, mq_msg *m, uint8_t qos, bool retain,
    uint32_t sub_id, uint64_t seq)
{
	mq_conn            *c = s->conn;
	struct mq_inflight *f;
	struct mq_wpub      w;
	uint16_t            pid;

	if (!inf_alloc(s)) {
		mq__msg_unref(m);
		mq__persist_msg_gone(s, seq);
		return;
	}
	if (s->if_span == 0)
		pid = s->next_pid;
	else
		pid = pid_next(
		    s->inf[(s->if_head + s->if_span - 1) % s->if_cap].pid);
	f = &s->inf[(s->if_head + s->if_span) % s->if_cap];
	f->msg = m;
	f->pid = pid;
	f->qos = qos;
	f->sub_id = sub_id;
	f->seq = seq != 0 ? seq : mq__persist_msg(s, m, qos, retain, sub_id);
	f->state = qos == 1 ? MQ_IF_PUBACK : MQ_IF_PUBREC;
	f->sent_at = mq_now_ms();
	s->if_span++;
	s->if_live++;
	s->next_pid = pid_next(pid);
	w = msg_wpub(m, qos, sub_id);
	w.retain = retain;
	w.pid = pid;
	mq__send_publish5(c, &w);
	s->deliver_msg++;
	/* MQTT 5.0 resends only on reconnect [MQTT5-4.4.0-1]. */
	if (!s->v5)
		retry_arm(s,
		    f->sent_at + (uint64_t) s->b->cfg->retry_interval * 1000);
	mq__session_dirty(s);
	mq__persist_session(s);
}

/* Moves queued messages into the window while it has room. */
static void
pump(mq_session *s)
{
	while (s->q_len > 0 && online(s)) {
		struct mq_qent *e = &s->q[s->q_head];

		if (e->qos > 0 && window_full(s))
			break;
		s->q_head = (s->q_head + 1) % s->q_cap;
		s->q_len--;
		if (expired(e->msg)
		    || !mq__pub_fits(s->conn, e->msg->topic_len,
		        e->msg->payload_len, e->msg->props_len,
		        e->msg->expire_at, e->qos, e->sub_id)) {
			mq__msg_unref(e->msg); /* v5: expired or too big */
			mq__persist_msg_gone(s, e->seq);
			s->q_dropped++;
			continue;
		}
		if (e->qos == 0) {
			mq_msg        *m = e->msg;
			struct mq_wpub w = msg_wpub(m, 0, e->sub_id);

			w.retain = e->retain;
			mq__send_publish5(s->conn, &w);
			s->deliver_msg++;
			mq__msg_unref(m);
			mq__persist_msg_gone(s, e->seq);
		} else {
			send_inflight(
			    s, e->msg, e->qos, e->retain, e->sub_id, e->seq);
		}
	}
	if (s->q_len == 0 && s->q_cap > 16) {
		free(s->q); /* shrink once drained */
		s->q = NULL;
		s->q_cap = s->q_head = 0;
	}
	mq__session_dirty(s);
}

/* The v5 part of mq__deliver: true when it is done with p. */
static bool
deliver5(mq_session *s, struct mq_pub *p, uint8_t qos, bool retain)
{
	mq_conn       *c = s->conn;
	struct mq_wpub w;

	if (c->max_out != 0
	    && !mq__pub_fits(c, p->topic_len, p->payload_len, p->props_len,
	        p->expire_at, qos, p->sub_id))
		return true; /* [MQTT5-3.1.2-24]: too big for this client */
	if (qos > 0)
		return false;
	w = pub_wpub(p, retain);
	w.props = p->props;
	w.props_len = p->props_len;
	w.expire_at = p->expire_at;
	w.sub_id = p->sub_id;
	mq__send_publish_v5(c, &w);
	s->deliver_msg++;
	mq__session_dirty(s);
	return true;
}

void
mq__deliver(mq_session *s, struct mq_pub *p, uint8_t qos, bool retain)
{
	mq_msg *m;

	if (online(s)) {
		if (s->conn->proto == 5) {
			if (deliver5(s, p, qos, retain))
				return;
		} else if (qos == 0) { /* v3: exactly the pre-v5 path */
			struct mq_wpub w = pub_wpub(p, retain);

			mq__send_publish(s->conn, &w);
			s->deliver_msg++;
			mq__session_dirty(s);
			return;
		}
		if (s->q_len == 0 && !window_full(s)) {
			m = mq__pub_hold(p);
			if (m != NULL)
				send_inflight(s, m, qos, retain, p->sub_id, 0);
			return;
		}
	} else if (s->clean) {
		return; /* closing clean session: nothing to keep */
	}
	m = mq__pub_hold(p);
	if (m != NULL)
		enqueue(s, m, qos, retain, p->sub_id, 0);
}

static struct mq_inflight *
inflight_find(mq_session *s, uint16_t pid)
{
	uint32_t            d;
	struct mq_inflight *f;

	if (s->if_span == 0)
		return NULL;
	d = ((uint32_t) pid + 65535 - s->inf[s->if_head].pid) % 65535;
	if (d >= s->if_span)
		return NULL;
	f = &s->inf[(s->if_head + d) % s->if_cap];
	return f->pid == pid && f->state != MQ_IF_DONE ? f : NULL;
}

/* Pops the done entries at the window's head. */
static void
window_trim(mq_session *s)
{
	while (s->if_span > 0 && s->inf[s->if_head].state == MQ_IF_DONE) {
		s->if_head = (uint16_t) ((s->if_head + 1) % s->if_cap);
		s->if_span--;
	}
	if (s->if_span == 0)
		s->if_head = 0;
}

static void
inflight_done(mq_session *s, struct mq_inflight *f)
{
	mq__msg_unref(f->msg);
	f->msg = NULL;
	mq__persist_msg_gone(s, f->seq);
	f->seq = 0;
	f->state = MQ_IF_DONE;
	s->if_live--;
	window_trim(s);
	mq__persist_session(s);
	pump(s);
}

void
mq__on_puback(mq_session *s, uint16_t pid)
{
	struct mq_inflight *f = inflight_find(s, pid);

	if (f == NULL || f->state != MQ_IF_PUBACK) {
		mq__metric(s->b, SHM_M_PACKETS_PUBACK_MISSED, 1);
		return;
	}
	inflight_done(s, f);
}

void
mq__on_pubrec(mq_session *s, uint16_t pid)
{
	struct mq_inflight *f = inflight_find(s, pid);

	if (f == NULL || f->state == MQ_IF_PUBACK) {
		mq__metric(s->b, SHM_M_PACKETS_PUBREC_MISSED, 1);
		return;
	}
	/* [MQTT-4.3.3-1] the message is no longer needed, only the id. */
	if (f->msg != NULL) {
		mq__msg_unref(f->msg);
		f->msg = NULL;
	}
	mq__persist_msg_gone(s, f->seq);
	f->seq = 0;
	f->state = MQ_IF_PUBCOMP;
	f->sent_at = mq_now_ms();
	mq__persist_session(s);
	mq__send_ack(s->conn, MQ_PUBREL, pid);
	mq__session_dirty(s);
}

void
mq__on_pubrec_failed(mq_session *s, uint16_t pid)
{
	struct mq_inflight *f = inflight_find(s, pid);

	if (f == NULL || f->state != MQ_IF_PUBREC) {
		mq__metric(s->b, SHM_M_PACKETS_PUBREC_MISSED, 1);
		return;
	}
	inflight_done(s, f);
}

void
mq__on_pubcomp(mq_session *s, uint16_t pid)
{
	struct mq_inflight *f = inflight_find(s, pid);

	if (f == NULL || f->state != MQ_IF_PUBCOMP) {
		mq__metric(s->b, SHM_M_PACKETS_PUBCOMP_MISSED, 1);
		return;
	}
	inflight_done(s, f);
}

/* ---- incoming QoS 2 ---- */

/* The next free awaiting_rel entry (grown as needed); NULL: no room. */
static struct mq_awrel *
aw_slot(mq_session *s)
{
	struct mq_awrel *a;

	if (s->aw_len == s->aw_cap) {
		uint32_t cap = s->aw_cap ? s->aw_cap * 2u : 4u;

		if (cap > 65535)
			cap = 65535;
		if (cap == s->aw_cap
		    || (a = realloc(s->aw, cap * sizeof(*a))) == NULL)
			return NULL;
		s->aw = a;
		s->aw_cap = (uint16_t) cap;
	}
	return &s->aw[s->aw_len];
}

void
mq__on_qos2_publish(mq_session *s, struct mq_pub *p, uint16_t pid, uint8_t rc)
{
	mq_broker       *b = s->b;
	struct mq_awrel *a;

	for (uint16_t i = 0; i < s->aw_len; i++) {
		if (s->aw[i].pid == pid) { /* a retry: ack again, once only */
			mq__send_ack(s->conn, MQ_PUBREC, pid);
			return;
		}
	}
	if (s->aw_len >= b->cfg->max_awaiting_rel) {
		mq__metric(b, SHM_M_MESSAGES_QOS2_DROPPED, 1);
		return;
	}
	if ((a = aw_slot(s)) == NULL)
		return;
	a->msg = mq__pub_hold(p);
	if (a->msg == NULL)
		return;
	a->pid = pid;
	a->at = mq_now_ms();
	s->aw_len++;
	retry_arm(s, a->at + (uint64_t) b->cfg->await_rel_timeout * 1000);
	mq__persist_session(s); /* before the PUBREC: it may wait */
	mq__send_ack5(s->conn, MQ_PUBREC, pid, rc);
	mq__session_dirty(s);
}

void
mq__on_pubrel(mq_session *s, uint16_t pid)
{
	for (uint16_t i = 0; i < s->aw_len; i++) {
		if (s->aw[i].pid == pid) {
			mq_msg       *m = s->aw[i].msg;
			struct mq_pub p;

			s->aw[i] = s->aw[--s->aw_len];
			mq__persist_session(s);
			mq__pub_from_msg(&p, m);
			mq__msg_unref(m); /* p holds its own reference */
			mq__publish(s->b, &p);
			/* After routing: a PUBCOMP whose message went to a
			 * persistent session waits for its commit. */
			mq__send_ack(s->conn, MQ_PUBCOMP, pid);
			mq__session_dirty(s);
			return;
		}
	}
	mq__metric(s->b, SHM_M_PACKETS_PUBREL_MISSED, 1);
	/* [MQTT-4.3.3-2]: still complete the flow (v5 says 0x92). */
	mq__send_ack5(s->conn, MQ_PUBCOMP, pid, MQ_RC_PACKET_ID_NOT_FOUND);
}

/* ---- retransmission ---- */

static void
resend(mq_session *s, struct mq_inflight *f)
{
	if (f->state == MQ_IF_PUBCOMP) {
		mq__send_ack(s->conn, MQ_PUBREL, f->pid);
	} else {
		struct mq_wpub w = msg_wpub(f->msg, f->qos, f->sub_id);

		/* [MQTT-4.4.0-1] the same id, with DUP set. */
		w.dup = true;
		w.pid = f->pid;
		mq__send_publish5(s->conn, &w);
	}
	f->sent_at = mq_now_ms();
}

void
mq__session_resume(mq_session *s)
{
	for (uint16_t i = 0; i < s->if_span; i++) {
		struct mq_inflight *f = &s->inf[(s->if_head + i) % s->if_cap];

		if (f->state != MQ_IF_DONE)
			resend(s, f);
	}
	if (s->if_span > 0 && !s->v5)
		retry_arm(s,
		    mq_now_ms() + (uint64_t) s->b->cfg->retry_interval * 1000);
	pump(s);
}

static void
retry_fire(mq_timer *t)
{
	mq_session      *s = container_of(t, mq_session, retry);
	const mq_config *cfg = s->b->cfg;
	uint64_t         now = mq_now_ms(), next = UINT64_MAX;
	uint64_t         rwin = (uint64_t) cfg->retry_interval * 1000;
	uint64_t         awin = (uint64_t) cfg->await_rel_timeout * 1000;

	for (uint16_t i = 0; i < s->aw_len;) {
		if (s->aw[i].at + awin <= now) {
			mq__msg_unref(s->aw[i].msg);
			s->aw[i] = s->aw[--s->aw_len];
			mq__metric(s->b, SHM_M_MESSAGES_QOS2_DROPPED, 1);
			mq__session_dirty(s);
			mq__persist_session(s);
			continue;
		}
		if (s->aw[i].at + awin < next)
			next = s->aw[i].at + awin;
		i++;
	}
	for (uint16_t i = 0; i < s->if_span && !s->v5; i++) {
		struct mq_inflight *f = &s->inf[(s->if_head + i) % s->if_cap];

		if (f->state == MQ_IF_DONE)
			continue;
		if (online(s) && f->sent_at + rwin <= now)
			resend(s, f);
		if (online(s) && f->sent_at + rwin < next)
			next = f->sent_at + rwin;
	}
	if (next != UINT64_MAX)
		mq_timer_set(&s->b->timers, t, next);
}

/* ---- loading from the store (mq_persist) ---- */

static void
seq_seen(mq_session *s, uint64_t seq)
{
	if (seq >= s->next_seq)
		s->next_seq = seq + 1;
}

void
mq__session_restore_inflight(mq_session *s, uint16_t pid, uint8_t state,
    uint8_t qos, uint32_t sub_id, mq_msg *m, uint64_t seq)
{
	struct mq_inflight *f;
	uint32_t            gap = 0;

	seq_seen(s, seq);
	if (!inf_alloc(s)) {
		mq__msg_unref(m);
		return;
	}
	/* Ids stay consecutive from the head: the ids acked before the
	 * stop come back as done entries. */
	if (s->if_span > 0)
		gap = ((uint32_t) pid + 65535
		          - s->inf[(s->if_head + s->if_span - 1) % s->if_cap]
		                .pid)
		        % 65535
		    - 1;
	if (s->if_span + gap + 1 > s->if_cap) {
		/* A smaller max_inflight than before: queue the rest (a
		 * message still to come is queued when it comes). */
		if (m != NULL)
			enqueue(s, m, qos, false, sub_id, seq);
		return;
	}
	for (uint32_t i = 0; i < gap; i++) {
		f = &s->inf[(s->if_head + s->if_span) % s->if_cap];
		memset(f, 0, sizeof(*f));
		f->pid
		    = pid_next(s->inf[(s->if_head + s->if_span + s->if_cap - 1)
		                    % s->if_cap]
		                   .pid);
		f->state = MQ_IF_DONE;
		s->if_span++;
	}
	f = &s->inf[(s->if_head + s->if_span) % s->if_cap];
	f->msg = m;
	f->pid = pid;
	f->qos = qos;
	f->sub_id = sub_id;
	f->seq = seq;
	f->state = state;
	f->sent_at = mq_now_ms();
	s->if_span++;
	s->if_live++;
	s->next_pid = pid_next(pid);
	if (m == NULL && state != MQ_IF_PUBCOMP)
		s->if_wait++;
}

void
mq__session_restore_queued(mq_session *s, mq_msg *m, uint8_t qos, bool retain,
    uint32_t sub_id, uint64_t seq)
{
	seq_seen(s, seq);
	enqueue(s, m, qos, retain, sub_id, seq);
}

void
mq__session_restore_msg(mq_session *s, uint64_t seq, mq_msg *m, uint8_t qos,
    bool retain, uint32_t sub_id)
{
	/* Messages come in seq order, the window's first (they left the
	 * queue's head): once none waits, the rest is the queue. */
	for (uint16_t i = 0; s->if_wait > 0 && i < s->if_span; i++) {
		struct mq_inflight *f = &s->inf[(s->if_head + i) % s->if_cap];

		if (f->seq == seq && f->msg == NULL
		    && f->state != MQ_IF_PUBCOMP && f->state != MQ_IF_DONE) {
			f->msg = m;
			s->if_wait--;
			return;
		}
	}
	mq__session_restore_queued(s, m, qos, retain, sub_id, seq);
}

int
mq__session_restore_end(mq_session *s)
{
	int n = 0;

	for (uint16_t i = 0; s->if_wait > 0 && i < s->if_span; i++) {
		struct mq_inflight *f = &s->inf[(s->if_head + i) % s->if_cap];

		if (f->msg == NULL && f->state != MQ_IF_PUBCOMP
		    && f->state != MQ_IF_DONE) {
			f->seq = 0;
			f->state = MQ_IF_DONE;
			s->if_live--;
			s->if_wait--;
			n++;
		}
	}
	window_trim(s);
	return n;
}

void
mq__session_restore_awrel(mq_session *s, uint16_t pid, mq_msg *m)
{
	struct mq_awrel *a = aw_slot(s);

	if (a == NULL) {
		mq__msg_unref(m);
		return;
	}
	s->aw_len++;
	a->msg = m;
	a->pid = pid;
	a->at = mq_now_ms();
	retry_arm(s, a->at + (uint64_t) s->b->cfg->await_rel_timeout * 1000);
}
