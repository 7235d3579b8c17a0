/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mq_route: one PUBLISH to this node's subscribers.
 *
 * The trie is walked once.  A shared subscription hands the message to one
 * member of its group right away (a member also subscribed without
 * $share gets a second copy, MQTT 5.0 4.8.2).  Every other match is
 * collected per session first, so that a message matching several
 * subscriptions of one session goes out once [MQTT-3.3.5-1]: at the
 * highest QoS of the matching subscriptions, retained when any of them
 * has Retain As Published and the message is retained, carrying every
 * matching Subscription Identifier [MQTT5-3.3.4-3].  A No Local
 * subscription does not match its own session's messages at all
 * [MQTT5-3.8.3-3], so it neither raises the QoS nor adds its identifier.
 *
 * The hits live in one array the broker keeps (grown, never shrunk); a
 * session marks itself with the route sequence number and the index of
 * its first hit, so finding it again is O(1).  Further identifiers of a
 * session are hits with no session, chained from its first one.
 */
#include "config.h"

#include "broker/mq_int.h"

#include <stdlib.h>
#include <string.h>

#define NO_HIT UINT32_MAX

struct mq_hit {
	mq_session *s;      /* NULL: an identifier chained from another */
	uint32_t    sub_id; /* first identifier (0: none), or this one */
	uint32_t    ids;    /* how many identifiers in the chain */
	uint32_t    next;   /* next identifier hit, NO_HIT: none */
	uint8_t     qos;
	bool        retain;
};

struct route {
	mq_broker     *b;
	struct mq_pub *p;
	uint64_t       seq;  /* b->route_seq of this message */
	uint32_t       base; /* this route's first hit (routes may nest) */
};

/* One copy to s carrying at most one Subscription Identifier (0: none);
 * the identifier is the copy's, not the message's. */
static void
deliver_one(
    mq_session *s, struct mq_pub *p, uint32_t sub_id, uint8_t qos, bool retain)
{
	p->sub_id = sub_id;
	mq__deliver(s, p, qos, retain);
	p->sub_id = 0;
}

/* Index of a new hit, NO_HIT when there is no memory. */
static uint32_t
hit_push(mq_broker *b)
{
	if (b->nhits == b->hits_cap) {
		uint32_t       cap = b->hits_cap ? b->hits_cap * 2 : 64;
		struct mq_hit *h = realloc(b->hits, cap * sizeof(*h));

		if (h == NULL)
			return NO_HIT;
		b->hits = h;
		b->hits_cap = cap;
	}
	return b->nhits++;
}

/* Adds sub's identifier to the session's first hit h. */
static void
hit_add_id(mq_broker *b, uint32_t h, uint32_t sub_id)
{
	uint32_t i;

	if (sub_id == 0)
		return;
	if (b->hits[h].ids == 0) {
		b->hits[h].sub_id = sub_id;
		b->hits[h].ids = 1;
		return;
	}
	if ((i = hit_push(b)) == NO_HIT)
		return; /* no memory: the copy goes out with fewer ids */
	b->hits[i]
	    = (struct mq_hit) { .sub_id = sub_id, .next = b->hits[h].next };
	b->hits[h].next = i;
	b->hits[h].ids++;
}

static void
collect(struct route *r, struct mq_sub *sub, uint8_t qos, bool retain)
{
	mq_broker  *b = r->b;
	mq_session *s = sub->s;
	uint32_t    h;

	if (s->route_seq == r->seq && s->route_hit >= r->base
	    && s->route_hit < b->nhits && b->hits[s->route_hit].s == s) {
		h = s->route_hit;
		if (qos > b->hits[h].qos)
			b->hits[h].qos = qos;
		b->hits[h].retain |= retain;
		hit_add_id(b, h, sub->sub_id);
		return;
	}
	if ((h = hit_push(b)) == NO_HIT) { /* no memory: one copy each */
		r->p->matched++;
		deliver_one(s, r->p, sub->sub_id, qos, retain);
		return;
	}
	b->hits[h] = (struct mq_hit) {
		.s = s, .next = NO_HIT, .qos = qos, .retain = retain
	};
	hit_add_id(b, h, sub->sub_id);
	s->route_seq = r->seq;
	s->route_hit = h;
}

static void
route_one(struct mq_trie_entry *e, void *arg)
{
	struct route  *r = arg;
	struct mq_sub *sub = (struct mq_sub *) e;
	struct mq_pub *p = r->p;
	uint8_t        qos;

	/* A shared subscription: one member of the group gets it. */
	if (sub->group != NULL) {
		if ((sub = mq__group_pick(sub->group, r->seq)) == NULL)
			return;
		if ((sub->opts & MQ_SUBOPT_NO_LOCAL) && sub->s == p->from)
			return;
		p->matched++;
		deliver_one(sub->s, p, sub->sub_id,
		    p->qos < sub->qos ? p->qos : sub->qos,
		    (sub->opts & MQ_SUBOPT_RAP) ? p->retain : false);
		return;
	}
	/* v5 No Local [MQTT5-3.8.3-3], Retain As Published (3.8.3.1);
	 * v3 subscriptions have no opts. */
	if ((sub->opts & MQ_SUBOPT_NO_LOCAL) && sub->s == p->from)
		return;
	qos = p->qos < sub->qos ? p->qos : sub->qos;
	collect(r, sub, qos, (sub->opts & MQ_SUBOPT_RAP) ? p->retain : false);
}

/*
 * One copy with several Subscription Identifiers: the identifiers go
 * after the message's own properties (which never hold one: a PUBLISH
 * from a client may not [MQTT5-3.3.4-6]), in a message of its own.
 */
static void
deliver_ids(mq_broker *b, uint32_t h, struct mq_pub *p)
{
	struct mq_hit hit = b->hits[h];
	struct mq_pub q = *p;
	uint8_t      *props = malloc(p->props_len + (size_t) hit.ids * 5);
	size_t        n = p->props_len;

	if (props == NULL) { /* no memory: the first identifier only */
		deliver_one(hit.s, p, hit.sub_id, hit.qos, hit.retain);
		return;
	}
	if (p->props_len != 0)
		memcpy(props, p->props, p->props_len);
	props[n++] = MQ_P_SUBSCRIPTION_ID;
	n += mq_encode_varint(props + n, hit.sub_id);
	for (uint32_t i = hit.next; i != NO_HIT; i = b->hits[i].next) {
		props[n++] = MQ_P_SUBSCRIPTION_ID;
		n += mq_encode_varint(props + n, b->hits[i].sub_id);
	}
	q.props = props;
	q.props_len = (uint32_t) n;
	q.msg = NULL; /* the copy of this session, made if it is kept */
	q.sub_id = 0;
	mq__deliver(hit.s, &q, hit.qos, hit.retain);
	if (q.msg != NULL)
		mq__msg_unref(q.msg);
	free(props);
}

/* Hands every collected hit of r to its session (deliveries may route
 * again, a will for instance: hits are read by index). */
static void
deliver_hits(struct route *r)
{
	mq_broker     *b = r->b;
	struct mq_pub *p = r->p;
	uint32_t       end = b->nhits;

	for (uint32_t h = r->base; h < end; h++) {
		struct mq_hit hit = b->hits[h];

		if (hit.s == NULL)
			continue;
		p->matched++;
		if (hit.ids > 1) {
			deliver_ids(b, h, p);
			continue;
		}
		deliver_one(hit.s, p, hit.sub_id, hit.qos, hit.retain);
	}
	b->nhits = r->base;
}

void
mq__route_local(mq_broker *b, struct mq_pub *p)
{
	struct route r
	    = { .b = b, .p = p, .seq = ++b->route_seq, .base = b->nhits };

	p->matched = 0;
	mq_trie_match(b->trie, p->topic, p->topic_len, route_one, &r);
	deliver_hits(&r);
	/* EMQ counts a message nobody receives, except its own $SYS. */
	if (p->matched == 0
	    && !(p->topic_len >= 5 && memcmp(p->topic, "$SYS/", 5) == 0))
		mq__metric(b, SHM_M_MESSAGES_DROPPED, 1);
	if (p->msg != NULL) {
		mq__msg_unref(p->msg);
		p->msg = NULL;
	}
}

void
mq__route_fini(mq_broker *b)
{
	free(b->hits);
	b->hits = NULL;
	b->nhits = b->hits_cap = 0;
}
