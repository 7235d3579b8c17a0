/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mq_cluster: the broker's side of the cluster seam (mq_cluster.h): the
 * registered hooks, and routing of messages that come from other nodes.
 *
 * Messages from other nodes are untrusted bytes (anyone who can publish
 * on the NATS account can send them): the topic must be a valid topic
 * name and the properties must be what a v5 PUBLISH may carry, checked by
 * decoding a PUBLISH made of them with the codec.
 */
#include "config.h"

#include "broker/mq_cluster.h"
#include "broker/mq_int.h"
#include "broker/mq_plugins.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int
mq_broker_cluster_attach(mq_broker *b, const struct mq_cluster_hooks *h)
{
	if (b->cluster.event != NULL)
		return -EBUSY;
	b->cluster = *h;
	/* Routes that exist already (sessions restored before the
	 * cluster): the head entry of each trie node stands for its route. */
	for (uint32_t i = 0; i <= b->sessions.mask; i++)
		for (struct mq_hnode *n = b->sessions.b[i]; n; n = n->next) {
			mq_session *s = (mq_session *) n;

			for (struct mq_sub *sub = s->subs; sub;
			     sub = sub->next)
				if (sub->te.node != NULL
				    && sub->te.prev == NULL)
					mq__cluster_route(b, sub, true);
		}
	return 0;
}

void
mq__cluster_route(mq_broker *b, const struct mq_sub *sub, bool added)
{
	const char *f = sub->filter + sub->foff;
	size_t      len = sub->len - sub->foff;

	if (added && b->cluster.route_added != NULL)
		b->cluster.route_added(b->cluster.ctx, f, len);
	else if (!added && b->cluster.route_removed != NULL)
		b->cluster.route_removed(b->cluster.ctx, f, len);
}

void
mq__cluster_published(mq_broker *b, const struct mq_pub *p)
{
	struct mq_cluster_msg m = {
		.topic = p->topic,
		.topic_len = p->topic_len,
		.qos = p->qos,
		.retain = p->retain,
		.payload = p->payload,
		.payload_len = p->payload_len,
		.props = p->props,
		.props_len = p->props_len,
	};

	if (p->expire_at != 0) {
		uint64_t now = mq_now_ms();

		if (now >= p->expire_at)
			return; /* expired on the way: nobody may get it */
		m.expire_in_ms = p->expire_at - now;
	}
	b->cluster.published(b->cluster.ctx, &m);
}

static size_t
put_varint(uint8_t *out, uint32_t v)
{
	size_t n = 0;

	for (; v >= 128; v >>= 7)
		out[n++] = (uint8_t) (v | 128);
	out[n++] = (uint8_t) v;
	return n;
}

/*
 * Whether props are valid forwarded properties of a v5 PUBLISH: a
 * PUBLISH to "a" carrying them is decoded by the codec, and per-hop
 * properties (the sender strips them) are refused.
 */
static bool
props_valid(const uint8_t *props, uint32_t len)
{
	uint8_t    vl[5], *pkt;
	size_t     n = 0, used;
	size_t     plen_len = put_varint(vl, len);
	uint32_t   rem = (uint32_t) (3 + plen_len + len);
	mq_packet  d;
	enum mq_rc rc;
	bool       ok;

	if (len > 65536)
		return false;
	pkt = malloc(1 + 5 + (size_t) rem);
	if (pkt == NULL)
		return false;
	pkt[n++] = 0x30; /* PUBLISH, QoS 0 */
	n += put_varint(pkt + n, rem);
	memcpy(pkt + n, "\0\1a", 3);
	n += 3;
	memcpy(pkt + n, vl, plen_len);
	n += plen_len;
	memcpy(pkt + n, props, len);
	n += len;
	rc = mq_decode_v(pkt, n, UINT32_MAX, 5, &d, &used);
	ok = rc == MQ_OK && used == n && d.type == MQ_PUBLISH
	    && !mq_props_has(&d.props, MQ_P_TOPIC_ALIAS)
	    && !mq_props_has(&d.props, MQ_P_MESSAGE_EXPIRY)
	    && !mq_props_has(&d.props, MQ_P_SUBSCRIPTION_ID);
	free(pkt);
	return ok;
}

/* m as a mq_pub, or -EINVAL when m is not valid. */
static int
pub_of(struct mq_pub *p, const struct mq_cluster_msg *m)
{
	if (m->qos > 2 || !mq_topic_name_valid(m->topic, m->topic_len)
	    || !mq_utf8_valid((const uint8_t *) m->topic, m->topic_len)
	    || (m->props_len != 0 && !props_valid(m->props, m->props_len)))
		return -EINVAL;
	memset(p, 0, sizeof(*p));
	p->topic = m->topic;
	p->topic_len = m->topic_len;
	p->payload = m->payload;
	p->payload_len = m->payload_len;
	p->qos = m->qos;
	p->retain = m->retain;
	p->props = m->props;
	p->props_len = m->props_len;
	if (m->expire_in_ms != 0)
		p->expire_at = mq_now_ms() + m->expire_in_ms;
	return 0;
}

int
mq_broker_cluster_retain(mq_broker *b, const struct mq_cluster_msg *m)
{
	struct mq_pub p;
	int           rc = pub_of(&p, m);

	if (rc < 0)
		return rc;
	p.retain = true;
	if (mq__plugin_active(b, MQ_PLUGIN_RETAINER))
		mq__retain_store(b, &p);
	if (p.msg != NULL)
		mq__msg_unref(p.msg);
	return 0;
}

int
mq_broker_cluster_route(mq_broker *b, const struct mq_cluster_msg *m)
{
	struct mq_pub p;
	int           rc = pub_of(&p, m);

	if (rc < 0)
		return rc;
	mq__route_local(b, &p);
	return (int) p.matched;
}
