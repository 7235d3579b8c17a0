/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mq_proto: one connection's MQTT conversation: splitting bytes into
 * packets (mq_codec), the handler of each packet type but CONNECT
 * (mq_connect.c), the output buffer, and the connection's end.
 *
 * Handlers return an enum mq_hs; mq__conn_end is the one place that
 * turns an end into the close (and a v5 client's DISCONNECT).
 *
 * A connection is never freed while one of its packets is handled:
 * mq__conn_close() only marks it and links it on b->closing; the loop's
 * sweep (mq_broker_sweep) tears it down (will, session, counters) and
 * frees it once the current dispatch is over.
 */
#include "config.h"

#include "broker/mq_authq.h"
#include "broker/mq_auth_http.h"
#include "broker/mq_authz.h"
#include "broker/mq_int.h"
#include "broker/mq_plugins.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void ka_fire(mq_timer *t);

void
mq__conn_init(mq_conn *c, mq_broker *b, int fd, uint32_t listener)
{
	memset(c, 0, sizeof(*c));
	c->kind = MQ_K_CONN;
	c->state = MQ_CS_NEW;
	c->fd = fd;
	c->listener = listener;
	c->b = b;
	c->last_rx = mq_now_ms();
	mq_timer_init(&c->ka, ka_fire);
	/* [MQTT-3.1.0-1] CONNECT must come first, and soon. */
	mq_timer_set(&b->timers, &c->ka,
	    c->last_rx + (uint64_t) b->cfg->connect_timeout * 1000);
	b->nconns++;
	c->all_next = b->conns;
	if (b->conns)
		b->conns->all_prev = c;
	b->conns = c;
}

const char *
mq__peer_str(const mq_conn *c, char *buf, size_t len)
{
	const struct sockaddr_in  *in4 = (const void *) &c->peer;
	const struct sockaddr_in6 *in6 = &c->peer;
	char                       a[INET6_ADDRSTRLEN] = "?";

	if (c->peer.sin6_family == AF_INET) {
		inet_ntop(AF_INET, &in4->sin_addr, a, sizeof(a));
		snprintf(buf, len, "%s:%u", a, ntohs(in4->sin_port));
	} else if (c->peer.sin6_family == AF_INET6) {
		inet_ntop(AF_INET6, &in6->sin6_addr, a, sizeof(a));
		snprintf(buf, len, "[%s]:%u", a, ntohs(in6->sin6_port));
	} else {
		snprintf(buf, len, "local");
	}
	return buf;
}

/* ---- output ---- */

static uint8_t *
out_reserve(mq_conn *c, size_t n)
{
	struct mq_buf *o = &c->out;

	if (o->cap - o->len < n) {
		size_t want = (size_t) o->len + n, cap = o->cap ? o->cap : 256;
		uint8_t *p;

		if (o->off > 0 && o->off == o->len)
			o->len = o->off = 0;
		want = (size_t) o->len + n;
		while (cap < want)
			cap *= 2;
		if (cap > UINT32_MAX)
			return NULL;
		p = realloc(o->p, cap);
		if (p == NULL)
			return NULL;
		o->p = p;
		o->cap = (uint32_t) cap;
	}
	return o->p + o->len;
}

static inline bool
out_room(mq_conn *c, size_t n)
{
	mq_broker *b = c->b;

	if (c->state == MQ_CS_CLOSING)
		return false;
	if (c->out.len - c->out.off + n > b->cfg->max_outbuf) {
		char p[64];

		mq_warn("client %.*s (%s): output over %u bytes, disconnected",
		    c->s ? (int) c->s->id_len : 0, c->s ? c->s->id : "",
		    mq__peer_str(c, p, sizeof(p)), b->cfg->max_outbuf);
		mq__conn_close(c, SHM_SHUT_SLOW_CONSUMER);
		return false;
	}
	return true;
}

static void
out_commit(mq_conn *c, size_t n)
{
	c->out.len += (uint32_t) n;
	c->b->metrics[SHM_M_PACKETS_SENT]++;
	mq__conn_pending(c);
}

void
mq__send(mq_conn *c, const void *p, size_t n)
{
	uint8_t *d;

	if (!out_room(c, n) || (d = out_reserve(c, n)) == NULL)
		return;
	memcpy(d, p, n);
	out_commit(c, n);
}

/* The end of writing any PUBLISH whose head (h bytes, total in all) is
 * at d: the payload after the head, the commit, and what a sent PUBLISH
 * counts. */
static void
publish_commit(mq_conn *c, uint8_t *d, size_t h, const uint8_t *payload,
    uint32_t plen, size_t total, uint8_t qos)
{
	static const enum shm_metric sent[3] = { SHM_M_MESSAGES_QOS0_SENT,
		SHM_M_MESSAGES_QOS1_SENT, SHM_M_MESSAGES_QOS2_SENT };

	if (plen)
		memcpy(d + h, payload, plen);
	out_commit(c, total);
	c->b->metrics[SHM_M_PACKETS_PUBLISH_SENT]++;
	c->b->metrics[SHM_M_MESSAGES_SENT]++;
	c->b->metrics[sent[qos]]++;
}

void
mq__send_publish(mq_conn *c, const struct mq_wpub *w)
{
	size_t need
	    = MQ_PUBLISH_HDR_MAX + (size_t) w->topic_len + w->payload_len;
	size_t   total, h;
	uint8_t *d;

	if (!out_room(c, need) || (d = out_reserve(c, need)) == NULL)
		return;
	h = mq_encode_publish_head(d, w->topic, w->topic_len, w->payload_len,
	    w->qos, w->retain, w->dup, w->pid, &total);
	publish_commit(c, d, h, w->payload, w->payload_len, total, w->qos);
}

/* Remaining Message Expiry in whole seconds, rounded up. */
static uint32_t
expiry_left(uint64_t expire_at)
{
	uint64_t now = mq_now_ms();

	return now >= expire_at ? 0
	                        : (uint32_t) ((expire_at - now + 999) / 1000);
}

static uint32_t
varint_size(uint32_t v)
{
	return v < 128 ? 1 : v < 16384 ? 2 : v < 2097152 ? 3 : 4;
}

bool
mq__pub_fits(const mq_conn *c, uint16_t tlen, uint32_t plen,
    uint32_t props_len, uint64_t expire_at, uint8_t qos, uint32_t sub_id)
{
	uint64_t pl, rl;

	if (c == NULL || c->max_out == 0)
		return true;
	/* The packet's size as mq__send_publish_v5 would write it, with
	 * the topic in full (an alias only ever makes it shorter). */
	pl = (uint64_t) props_len + (expire_at ? 5 : 0)
	    + (sub_id ? 1 + varint_size(sub_id) : 0) + (c->oalias_max ? 3 : 0);
	rl = 2u + tlen + (qos ? 2u : 0u) + varint_size((uint32_t) pl) + pl
	    + plen;
	return 1 + varint_size((uint32_t) rl) + rl <= c->max_out;
}

/*
 * The alias for topic on c: found (*known: send an empty topic), or the
 * slot it takes (the next free one, else the oldest assignment); 0 when
 * c allows none or the table cannot be allocated.
 */
static uint16_t
oalias_find(mq_conn *c, const char *topic, uint16_t tlen, bool *known)
{
	struct mq_oalias *oa = c->oalias;

	*known = false;
	if (oa == NULL && (oa = c->oalias = calloc(1, sizeof(*oa))) == NULL)
		return 0;
	for (uint16_t i = 0; i < oa->used; i++) {
		if (oa->len[i] == tlen
		    && memcmp(oa->topic[i], topic, tlen) == 0) {
			*known = true;
			return (uint16_t) (i + 1);
		}
	}
	if (oa->used < c->oalias_max)
		return (uint16_t) (oa->used + 1);
	return (uint16_t) (oa->next + 1);
}

/* Records alias a (a slot from oalias_find) for topic; false on ENOMEM. */
static bool
oalias_set(mq_conn *c, uint16_t a, const char *topic, uint16_t tlen)
{
	struct mq_oalias *oa = c->oalias;
	uint16_t          i = (uint16_t) (a - 1);
	char             *t = realloc(oa->topic[i], tlen ? tlen : 1);

	if (t == NULL)
		return false;
	memcpy(t, topic, tlen);
	oa->topic[i] = t;
	oa->len[i] = tlen;
	if (i == oa->used)
		oa->used++;
	else
		oa->next = (uint16_t) ((i + 1) % c->oalias_max);
	return true;
}

void
mq__send_publish_v5(mq_conn *c, const struct mq_wpub *w)
{
	size_t   need, total, h;
	uint8_t *d;
	uint16_t alias = 0, tlen = w->topic_len;
	bool     known = false;

	need = MQ_PUBLISH5_HDR_MAX + (size_t) tlen + w->props_len
	    + w->payload_len;
	if (!out_room(c, need) || (d = out_reserve(c, need)) == NULL)
		return;
	if (c->oalias_max != 0) {
		alias = oalias_find(c, w->topic, tlen, &known);
		if (alias != 0 && !known
		    && !oalias_set(c, alias, w->topic, tlen))
			alias = 0; /* ENOMEM: the full topic, no alias */
	}
	h = mq_encode_publish_head5(d, w->topic, known ? 0 : tlen,
	    w->payload_len, w->qos, w->retain, w->dup, w->pid,
	    w->expire_at != 0, w->expire_at ? expiry_left(w->expire_at) : 0,
	    w->sub_id, alias, w->props, w->props_len, &total);
	publish_commit(c, d, h, w->payload, w->payload_len, total, w->qos);
}

static const enum shm_metric ack_metric[] = {
	[MQ_PUBACK] = SHM_M_PACKETS_PUBACK_SENT,
	[MQ_PUBREC] = SHM_M_PACKETS_PUBREC_SENT,
	[MQ_PUBREL] = SHM_M_PACKETS_PUBREL_SENT,
	[MQ_PUBCOMP] = SHM_M_PACKETS_PUBCOMP_SENT,
	[MQ_UNSUBACK] = SHM_M_PACKETS_UNSUBACK,
};

void
mq__send_ack5(mq_conn *c, enum mq_type type, uint16_t pid, uint8_t rc)
{
	uint8_t a[MQ_ACK5_SIZE];

	if (c == NULL || c->state == MQ_CS_CLOSING)
		return;
	if (c->b->persist != NULL && type != MQ_PUBREL && type != MQ_UNSUBACK
	    && mq__persist_defer_ack(c, type, pid, rc))
		return; /* sent once the store has what it acknowledges */
	if (c->proto != 5)
		rc = 0;
	mq__send(c, a, mq_encode_ack5(a, type, pid, rc));
	c->b->metrics[ack_metric[type]]++;
}

void
mq__send_ack(mq_conn *c, enum mq_type type, uint16_t pid)
{
	uint8_t                      a[MQ_ACK_SIZE];
	static const enum shm_metric m[] = {
		[MQ_PUBACK] = SHM_M_PACKETS_PUBACK_SENT,
		[MQ_PUBREC] = SHM_M_PACKETS_PUBREC_SENT,
		[MQ_PUBREL] = SHM_M_PACKETS_PUBREL_SENT,
		[MQ_PUBCOMP] = SHM_M_PACKETS_PUBCOMP_SENT,
		[MQ_UNSUBACK] = SHM_M_PACKETS_UNSUBACK,
	};

	if (c == NULL || c->state == MQ_CS_CLOSING)
		return;
	if (c->b->persist != NULL && type != MQ_PUBREL && type != MQ_UNSUBACK
	    && mq__persist_defer_ack(c, type, pid, 0))
		return;
	mq__send(c, a, mq_encode_ack(a, type, pid));
	c->b->metrics[m[type]]++;
}

/* ---- closing ---- */

static const char *const why_text[] = {
	[SHM_SHUT_CLOSED] = "closed",
	[SHM_SHUT_KEEPALIVE_TIMEOUT] = "keepalive timeout",
	[SHM_SHUT_MALFORMED] = "protocol error",
	[SHM_SHUT_TAKEOVER] = "taken over",
	[SHM_SHUT_KICKED] = "kicked",
	[SHM_SHUT_AUTH_FAILED] = "not authorized",
	[SHM_SHUT_MAX_CLIENTS] = "listener full",
	[SHM_SHUT_SLOW_CONSUMER] = "slow consumer",
	[SHM_SHUT_ERROR] = "socket error",
};

/* The v5 DISCONNECT reason the server sends for a close (0: none). */
static const uint8_t why_reason[] = {
	[SHM_SHUT_KEEPALIVE_TIMEOUT] = MQ_RC_KEEP_ALIVE_TIMEOUT,
	[SHM_SHUT_MALFORMED] = MQ_RC_MALFORMED,
	[SHM_SHUT_TAKEOVER] = MQ_RC_SESSION_TAKEN_OVER,
	[SHM_SHUT_KICKED] = MQ_RC_ADMINISTRATIVE_ACTION,
	[SHM_SHUT_ERROR] = 0,
};

void
mq__conn_close_rc(mq_conn *c, enum shm_shutdown why, uint8_t rc)
{
	if (c->state == MQ_CS_CLOSING)
		return;
	/* [MQTT5-4.13.1]: tell a v5 client why before closing (the sweep
	 * makes one last write).  A slow consumer gets nothing: its
	 * buffer is what is full. */
	if (c->proto == 5 && c->state == MQ_CS_CONNECTED) {
		uint8_t     d[MQ_DISCONNECT5_MAX];
		const char *t = why_text[why];

		if (rc == 0 && (size_t) why < sizeof(why_reason))
			rc = why_reason[why];
		if (rc != 0 && why != SHM_SHUT_SLOW_CONSUMER) {
			mq__send(c, d,
			    mq_encode_disconnect5(
			        d, rc, t, (uint16_t) strlen(t)));
			c->b->metrics[SHM_M_PACKETS_DISCONNECT]++;
		}
		if (c->state == MQ_CS_CLOSING) /* the send overflowed */
			return;
	}
	mq__connect_cancel(c); /* its crypt(3) is of no use now */
	c->was_connected = c->state == MQ_CS_CONNECTED;
	c->state = MQ_CS_CLOSING;
	c->why = (uint8_t) why;
	mq_timer_cancel(&c->b->timers, &c->ka);
	c->next_closing = c->b->closing;
	c->b->closing = c;
}

void
mq__conn_close(mq_conn *c, enum shm_shutdown why)
{
	mq__conn_close_rc(c, why, 0);
}

/* Why each end of a handler closes, and the v5 DISCONNECT reason it
 * sends (0: the one of why, if any). */
static const struct {
	uint8_t why, rc;
} hs_end[] = {
	[MQ_HS_CLOSED] = { SHM_SHUT_CLOSED, 0 },
	[MQ_HS_MALFORMED] = { SHM_SHUT_MALFORMED, MQ_RC_MALFORMED },
	[MQ_HS_PROTOCOL] = { SHM_SHUT_MALFORMED, MQ_RC_PROTOCOL_ERROR },
	[MQ_HS_TOO_LARGE] = { SHM_SHUT_MALFORMED, MQ_RC_PACKET_TOO_LARGE },
	[MQ_HS_RECEIVE_MAX]
	= { SHM_SHUT_MALFORMED, MQ_RC_RECEIVE_MAXIMUM_EXCEEDED },
	[MQ_HS_TOPIC_ALIAS]
	= { SHM_SHUT_MALFORMED, MQ_RC_TOPIC_ALIAS_INVALID },
	[MQ_HS_RETAIN] = { SHM_SHUT_MALFORMED, MQ_RC_RETAIN_NOT_SUPPORTED },
	[MQ_HS_REFUSED] = { SHM_SHUT_AUTH_FAILED, 0 },
	[MQ_HS_BAD_VERSION] = { SHM_SHUT_MALFORMED, 0 },
	[MQ_HS_ERROR] = { SHM_SHUT_ERROR, 0 },
};

void
mq__conn_end(mq_conn *c, enum mq_hs hs)
{
	if (hs == MQ_HS_OK || hs == MQ_HS_PARKED
	    || (size_t) hs >= sizeof(hs_end) / sizeof(hs_end[0]))
		return;
	mq__conn_close_rc(
	    c, (enum shm_shutdown) hs_end[hs].why, hs_end[hs].rc);
}

static void
publish_will(mq_conn *c)
{
	mq_broker    *b = c->b;
	mq_msg       *m = c->will;
	struct mq_pub p;

	c->will = NULL;
	if (!c->send_will) {
		mq__msg_unref(m);
		return;
	}
	mq__will_pub(&p, m);
	mq__msg_unref(m);
	mq__publish(b, &p);
}

/* The logical end: will, session, counters.  Memory goes in conn_free. */
void
mq__conn_teardown(mq_conn *c)
{
	mq_broker *b = c->b;
	char       p[64];

	if (c->was_connected) {
		mq_info("client %.*s (%s) disconnected: %s",
		    c->s ? (int) c->s->id_len : 0, c->s ? c->s->id : "",
		    mq__peer_str(c, p, sizeof(p)), why_text[c->why]);
		b->nclients--;
		b->stats_dirty = true;
		if (b->col != NULL)
			col_client_disconnected(b->col, c->col);
	} else {
		mq_debug("connection %s closed: %s",
		    mq__peer_str(c, p, sizeof(p)), why_text[c->why]);
	}
	/* v5 Will Delay: the session holds the will until the delay passes
	 * or the session ends, and drops it if resumed [MQTT5-3.1.3-9]. */
	if (c->will != NULL && c->send_will && c->will_delay != 0
	    && c->s != NULL && !c->s->clean) {
		mq__session_will(c->s, c->will, c->will_delay);
		c->will = NULL;
	}
	if (c->s != NULL)
		mq__session_detach(c->s);
	if (c->will != NULL)
		publish_will(c);
	if (c->listener < b->nlisteners) {
		struct mq_listener *l = &b->listeners[c->listener];

		l->nclients--;
		if (b->col != NULL) {
			col_listener_clients(b->col, l->col, l->nclients);
			col_listener_shutdown(
			    b->col, l->col, (enum shm_shutdown) c->why);
		}
	}
}

void
mq_broker_sweep(mq_broker *b)
{
	while (b->closing != NULL) {
		mq_conn *c = b->closing;

		b->closing = c->next_closing;
		mq__conn_teardown(c);
		mq__conn_free(c);
	}
}

/* ---- keepalive ---- */

static void
ka_fire(mq_timer *t)
{
	mq_conn   *c = container_of(t, mq_conn, ka);
	mq_broker *b = c->b;
	uint64_t   now = mq_now_ms(), limit;

	if (c->state == MQ_CS_NEW || c->state == MQ_CS_AUTH) {
		mq__conn_close(c, SHM_SHUT_KEEPALIVE_TIMEOUT);
		return;
	}
	/* [MQTT-3.1.2-24] one and a half keepalive periods. */
	limit = (uint64_t) c->keepalive * 1500;
	if (now - c->last_rx >= limit) {
		mq__conn_close(c, SHM_SHUT_KEEPALIVE_TIMEOUT);
		return;
	}
	mq_timer_set(&b->timers, t, c->last_rx + limit);
}

/* ---- PUBLISH and acks ---- */

/*
 * Topic Alias (3.3.2.3.4): a PUBLISH with a topic and an alias sets the
 * alias; one with an empty topic uses it.
 */
static enum mq_hs
topic_alias(mq_conn *c, const struct mq_props *pr, struct mq_pub *p)
{
	uint16_t           a = pr->topic_alias;
	struct mq_aliases *al = c->aliases;

	if (a > MQ_TOPIC_ALIAS_MAX) /* [MQTT5-3.3.2-9] */
		return MQ_HS_TOPIC_ALIAS;
	if (p->topic_len == 0) {
		if (al == NULL || al->topic[a] == NULL)
			return MQ_HS_PROTOCOL;
		p->topic = al->topic[a];
		p->topic_len = al->len[a];
		return MQ_HS_OK;
	}
	if (al == NULL && (al = c->aliases = calloc(1, sizeof(*al))) == NULL)
		return MQ_HS_OK;
	if (al->len[a] < p->topic_len || al->topic[a] == NULL) {
		char *t = realloc(al->topic[a], p->topic_len);

		if (t == NULL)
			return MQ_HS_OK;
		al->topic[a] = t;
	}
	memcpy(al->topic[a], p->topic, p->topic_len);
	al->len[a] = p->topic_len;
	return MQ_HS_OK;
}

/*
 * The v5 parts of a PUBLISH: alias, properties to forward (per-hop ones
 * left out, copied into fw only when there are such), expiry deadline.
 */
static enum mq_hs
publish5(mq_conn *c, const mq_packet *pkt, struct mq_pub *p, uint8_t **fw)
{
	const struct mq_props *pr = &pkt->props;
	enum mq_hs             hs;

	p->from = c->s;
	if (mq_props_has(pr, MQ_P_TOPIC_ALIAS)
	    && (hs = topic_alias(c, pr, p)) != MQ_HS_OK)
		return hs;
	if (pkt->u.publish.retain
	    && !mq__plugin_active(c->b, MQ_PLUGIN_RETAINER))
		return MQ_HS_RETAIN; /* Retain Available was 0
		                        [MQTT5-3.3.1-17] */
	if (mq_props_has(pr, MQ_P_MESSAGE_EXPIRY))
		p->expire_at
		    = mq_now_ms() + (uint64_t) pr->message_expiry * 1000;
	if (pr->len == 0)
		return MQ_HS_OK;
	if (!mq_props_has(pr, MQ_P_TOPIC_ALIAS)
	    && !mq_props_has(pr, MQ_P_MESSAGE_EXPIRY)) {
		p->props = pr->raw; /* as they came: no copy */
		p->props_len = pr->len;
		return MQ_HS_OK;
	}
	if ((*fw = malloc(pr->len)) == NULL)
		return MQ_HS_OK;
	p->props = *fw;
	p->props_len = mq_props_forward(pr, *fw);
	return MQ_HS_OK;
}

static void
count_one(struct mq_trie_entry *e, void *arg)
{
	(void) e;
	++*(uint32_t *) arg;
}

/* v5 flow control: QoS 2 messages not yet released [MQTT5-3.3.4-7]. */
static bool
receive_max_exceeded(mq_conn *c, uint16_t pid)
{
	mq_session *s = c->s;

	if (s->aw_len < c->b->cfg->max_inflight)
		return false;
	for (uint16_t i = 0; i < s->aw_len; i++)
		if (s->aw[i].pid == pid)
			return false;
	return true;
}

static enum mq_hs
on_publish(mq_conn *c, const mq_packet *pkt)
{
	static const enum shm_metric recv[3] = { SHM_M_MESSAGES_QOS0_RECEIVED,
		SHM_M_MESSAGES_QOS1_RECEIVED, SHM_M_MESSAGES_QOS2_RECEIVED };
	const struct mq_publish     *pp = &pkt->u.publish;
	mq_broker                   *b = c->b;
	struct mq_pub                p = {
		               .topic = pp->topic.ptr,
		               .topic_len = pp->topic.len,
		               .payload = pp->payload,
		               .payload_len = pp->payload_len,
		               .qos = pp->qos,
		               .retain = pp->retain,
	};

	uint8_t   *fw = NULL;
	enum mq_hs hs = MQ_HS_OK;

	b->metrics[SHM_M_PACKETS_PUBLISH_RECEIVED]++;
	b->metrics[SHM_M_MESSAGES_RECEIVED]++;
	b->metrics[recv[pp->qos]]++;
	if (c->proto == 5) {
		if ((hs = publish5(c, pkt, &p, &fw)) != MQ_HS_OK)
			goto out;
		if (pp->qos == 2 && receive_max_exceeded(c, pp->packet_id)) {
			hs = MQ_HS_RECEIVE_MAX;
			goto out;
		}
	}
	if (!mq__acl(b, c, p.topic, p.topic_len, true)) {
		mq_info("client %.*s: publish to %.*s denied by ACL",
		    (int) c->s->id_len, c->s->id, (int) p.topic_len, p.topic);
		/* v3: acked anyway, so the client does not retry forever;
		 * v5 says why (0x87). */
		if (pp->qos > 0)
			mq__send_ack5(c, pp->qos == 1 ? MQ_PUBACK : MQ_PUBREC,
			    pp->packet_id, MQ_RC_NOT_AUTHORIZED);
		goto out;
	}
	if (pp->qos == 2) {
		uint32_t n = 0;

		/* v5 PUBREC says 0x10 when nobody would get it (routing
		 * waits for PUBREL). */
		if (c->proto == 5)
			mq_trie_match(
			    b->trie, p.topic, p.topic_len, count_one, &n);
		mq__on_qos2_publish(c->s, &p, pp->packet_id,
		    c->proto == 5 && n == 0 ? MQ_RC_NO_MATCHING_SUBSCRIBERS
		                            : 0);
		mq__msg_unref(p.msg); /* the window holds its own reference */
		goto out;
	}
	mq__publish(b, &p);
	if (pp->qos == 1)
		mq__send_ack5(c, MQ_PUBACK, pp->packet_id,
		    p.matched == 0 ? MQ_RC_NO_MATCHING_SUBSCRIBERS : 0);
out:
	if (fw != NULL) /* v5 only: the v3 path makes no call here */
		free(fw);
	return hs;
}

/* ---- SUBSCRIBE / UNSUBSCRIBE ---- */

/*
 * One v5 subscription: its reason code (3.9.3); *out is set when
 * retained messages are to follow (Retain Handling 0, or 1 and new).
 * MQ_RC_PROTOCOL_ERROR is never a SUBACK code: the connection ends.
 */
static uint8_t
subscribe5(mq_conn *c, const mq_packet *pkt, const mq_str *f, uint8_t opts,
    struct mq_sub **out)
{
	struct mq_sub *sub;
	bool           existed;
	size_t         off = 0;
	int            rc, shared;

	*out = NULL;
	shared = mq_topic_share(f->ptr, f->len, &off);
	if (shared < 0 || !mq_topic_filter_valid(f->ptr, f->len))
		return MQ_RC_TOPIC_FILTER_INVALID;
	if (shared && (opts & MQ_SUBOPT_NO_LOCAL))
		return MQ_RC_PROTOCOL_ERROR; /* [MQTT5-3.8.3-4] */
	/* The ACL judges what is read: the filter, not the group. */
	if (!mq__acl(c->b, c, f->ptr + off, f->len - off, false))
		return MQ_RC_NOT_AUTHORIZED;
	existed = mq__sub_find(c->s, f->ptr, f->len) != NULL;
	rc = mq__subscribe(c->s, f->ptr, f->len, MQ_SUBOPT_QOS(opts), &sub);
	if (rc < 0)
		return MQ_RC_UNSPECIFIED;
	sub->opts = opts & (MQ_SUBOPT_NO_LOCAL | MQ_SUBOPT_RAP);
	/* 3.8.2.1.2: the identifier replaces the one of an existing
	 * subscription (none: removed). */
	sub->sub_id = pkt->props.subscription_id;
	if (sub->sub_id != 0)
		sub->opts |= MQ_SUB_HAS_ID;
	if (MQ_SUBOPT_RH(opts) == 0 || (MQ_SUBOPT_RH(opts) == 1 && !existed))
		*out = sub;
	return (uint8_t) rc;
}

static enum mq_hs
on_subscribe(mq_conn *c, const mq_packet *pkt)
{
	mq_broker            *b = c->b;
	struct mq_filter_iter it;
	uint8_t               codes_buf[64], *codes = codes_buf;
	struct mq_sub        *subs_buf[64], **subs = subs_buf;
	uint8_t              *ack;
	size_t                n = 0, count = pkt->u.filters.count;
	mq_str                f;
	uint8_t               qos;
	enum mq_hs            hs = MQ_HS_OK;

	b->metrics[SHM_M_PACKETS_SUBSCRIBE]++;
	if (count > 64) {
		codes = malloc(count);
		subs = malloc(count * sizeof(*subs));
		if (codes == NULL || subs == NULL)
			goto out;
	}
	mq_filters_begin(&it, pkt);
	while (n < count && mq_filters_next(&it, &f, &qos)) {
		int    rc = -EINVAL;
		size_t off = 0;

		subs[n] = NULL;
		if (c->proto == 5) {
			codes[n] = subscribe5(c, pkt, &f, qos, &subs[n]);
			if (codes[n] == MQ_RC_PROTOCOL_ERROR) {
				hs = MQ_HS_PROTOCOL; /* and no SUBACK */
				goto out;
			}
			n++;
			continue;
		}
		if (mq_topic_filter_valid(f.ptr, f.len)
		    && mq_topic_share(f.ptr, f.len, &off) >= 0
		    && mq__acl(b, c, f.ptr + off, f.len - off, false))
			rc = mq__subscribe(c->s, f.ptr, f.len, qos, &subs[n]);
		codes[n] = rc < 0 ? 0x80 : (uint8_t) rc;
		if (rc < 0)
			subs[n] = NULL;
		n++;
	}
	ack = malloc(5 + 3 + n);
	if (ack == NULL)
		goto out;
	if (c->proto == 5)
		mq__send(c, ack,
		    mq_encode_suback5(
		        ack, MQ_SUBACK, pkt->u.filters.packet_id, codes, n));
	else
		mq__send(c, ack,
		    mq_encode_suback(ack, pkt->u.filters.packet_id, codes, n));
	free(ack);
	b->metrics[SHM_M_PACKETS_SUBACK]++;
	/* [MQTT-3.8.4-3] retained messages follow the SUBACK. */
	for (size_t i = 0; i < n; i++)
		if (subs[i] != NULL)
			mq__retained_deliver(b, subs[i]);
out:
	if (codes != codes_buf)
		free(codes);
	if (subs != subs_buf)
		free(subs);
	return hs;
}

static enum mq_hs
on_unsubscribe(mq_conn *c, const mq_packet *pkt)
{
	struct mq_filter_iter it;
	mq_str                f;
	uint8_t               qos;

	c->b->metrics[SHM_M_PACKETS_UNSUBSCRIBE]++;
	if (c->proto == 5) {
		uint8_t *codes = malloc(5 + 3 + 2u * pkt->u.filters.count);
		uint8_t *ack = codes + pkt->u.filters.count;
		size_t   n = 0;

		if (codes == NULL)
			return MQ_HS_OK;
		mq_filters_begin(&it, pkt);
		while (
		    n < pkt->u.filters.count && mq_filters_next(&it, &f, &qos))
			codes[n++] = mq__unsubscribe(c->s, f.ptr, f.len) < 0
			    ? MQ_RC_NO_SUBSCRIPTION_EXISTED
			    : MQ_RC_SUCCESS;
		mq__send(c, ack,
		    mq_encode_suback5(
		        ack, MQ_UNSUBACK, pkt->u.filters.packet_id, codes, n));
		c->b->metrics[SHM_M_PACKETS_UNSUBACK]++;
		free(codes);
		return MQ_HS_OK;
	}
	mq_filters_begin(&it, pkt);
	while (mq_filters_next(&it, &f, &qos))
		mq__unsubscribe(c->s, f.ptr, f.len);
	/* [MQTT-3.10.4-4] even when nothing matched. */
	mq__send_ack(c, MQ_UNSUBACK, pkt->u.filters.packet_id);
	return MQ_HS_OK;
}

/* DISCONNECT (3.14): v5 reason 0x04 keeps the will; Session Expiry may
 * change, but not from 0 [MQTT5-3.14.2-2]. */
static enum mq_hs
on_disconnect(mq_conn *c, const mq_packet *pkt)
{
	mq_session *s = c->s;

	if (c->proto != 5) {
		c->send_will = false; /* [MQTT-3.14.4-3] */
		return MQ_HS_CLOSED;
	}
	c->send_will = pkt->reason == 0x04 && c->will != NULL;
	if (mq_props_has(&pkt->props, MQ_P_SESSION_EXPIRY)) {
		uint32_t e = pkt->props.session_expiry;

		if (s->expiry_s == 0 && e != 0)
			return MQ_HS_PROTOCOL;
		if (e > c->b->cfg->session_expiry)
			e = c->b->cfg->session_expiry;
		s->expiry_s = e;
		s->clean = e == 0;
	}
	return MQ_HS_CLOSED;
}

/* The acks of QoS 1/2 flows: no reply that could end the connection. */
static enum mq_hs
on_ack(mq_conn *c, const mq_packet *pkt)
{
	mq_broker *b = c->b;
	uint16_t   pid = pkt->u.packet_id;

	switch (pkt->type) {
	case MQ_PUBACK:
		b->metrics[SHM_M_PACKETS_PUBACK_RECEIVED]++;
		mq__on_puback(c->s, pid);
		break;
	case MQ_PUBREC:
		b->metrics[SHM_M_PACKETS_PUBREC_RECEIVED]++;
		/* [MQTT5-4.3.3]: a failing PUBREC ends the flow. */
		if (c->proto == 5 && pkt->reason >= 0x80)
			mq__on_pubrec_failed(c->s, pid);
		else
			mq__on_pubrec(c->s, pid);
		break;
	case MQ_PUBREL:
		b->metrics[SHM_M_PACKETS_PUBREL_RECEIVED]++;
		mq__on_pubrel(c->s, pid);
		break;
	default: /* MQ_PUBCOMP */
		b->metrics[SHM_M_PACKETS_PUBCOMP_RECEIVED]++;
		mq__on_pubcomp(c->s, pid);
		break;
	}
	return MQ_HS_OK;
}

static enum mq_hs
handle(mq_conn *c, const mq_packet *pkt)
{
	mq_broker *b = c->b;
	uint8_t    pong[2];

	b->metrics[SHM_M_PACKETS_RECEIVED]++;
	b->store_mark = b->store_changes; /* mq_persist: acks after changes */
	if (pkt->type == MQ_CONNECT) {
		b->metrics[SHM_M_PACKETS_CONNECT]++;
		return mq__on_connect(c, pkt);
	}
	if (c->state != MQ_CS_CONNECTED) /* [MQTT-3.1.0-1] */
		return MQ_HS_MALFORMED;
	switch (pkt->type) {
	case MQ_PUBLISH:
		return on_publish(c, pkt);
	case MQ_PUBACK:
	case MQ_PUBREC:
	case MQ_PUBREL:
	case MQ_PUBCOMP:
		return on_ack(c, pkt);
	case MQ_SUBSCRIBE:
		return on_subscribe(c, pkt);
	case MQ_UNSUBSCRIBE:
		return on_unsubscribe(c, pkt);
	case MQ_PINGREQ:
		b->metrics[SHM_M_PACKETS_PINGREQ]++;
		mq__send(c, pong, mq_encode_pingresp(pong));
		b->metrics[SHM_M_PACKETS_PINGRESP]++;
		return MQ_HS_OK;
	case MQ_DISCONNECT:
		b->metrics[SHM_M_PACKETS_DISCONNECT]++;
		return on_disconnect(c, pkt);
	case MQ_AUTH: /* no enhanced authentication was started */
		return MQ_HS_PROTOCOL;
	default:
		return MQ_HS_MALFORMED;
	}
}

/*
 * Decodes and handles whole packets from buf; *used is what was consumed,
 * and the return value the size of the next packet when known (0 if not).
 */
int
mq__conn_input(mq_conn *c, const uint8_t *buf, size_t len, size_t *used)
{
	mq_broker *b = c->b;
	size_t     off = 0, n;
	mq_packet  pkt;
	char       p[64];

	/* A handler may also close c as a side effect of what it sends
	 * (its output passed max_outbuf): hence the state check. */
	while (off < len && c->state != MQ_CS_CLOSING) {
		enum mq_rc rc = mq_decode_v(buf + off, len - off,
		    b->cfg->max_packet_size, c->proto, &pkt, &n);
		enum mq_hs hs;

		if (rc == MQ_AGAIN) {
			*used = off;
			return (int) n;
		}
		if (rc == MQ_EVERSION) {
			b->metrics[SHM_M_PACKETS_RECEIVED]++;
			b->metrics[SHM_M_PACKETS_CONNECT]++;
			mq_info("connection %s: unsupported protocol level",
			    mq__peer_str(c, p, sizeof(p)));
			mq__conn_end(c,
			    mq__connect_refuse(c, MQ_CONNACK_BAD_VERSION, 0,
			        MQ_HS_BAD_VERSION));
			break;
		}
		if (rc != MQ_OK) {
			mq_info("client %.*s (%s): %s packet, disconnected",
			    c->s ? (int) c->s->id_len : 0,
			    c->s ? c->s->id : "",
			    mq__peer_str(c, p, sizeof(p)),
			    rc == MQ_ETOOBIG ? "oversized" : "malformed");
			/* v5: 0x95, else 0x81 */
			mq__conn_end(c,
			    rc == MQ_ETOOBIG ? MQ_HS_TOO_LARGE
			                     : MQ_HS_MALFORMED);
			break;
		}
		/* mqttd_auth_http: an ACL question first; the packet stays
		 * in c->in and comes back with the answer. */
		if (c->b->auth_http != NULL && c->state == MQ_CS_CONNECTED
		    && mq__http_acl_wait(c, &pkt)) {
			*used = off;
			return 0;
		}
		off += n;
		hs = handle(c, &pkt);
		if (hs == MQ_HS_PARKED) {
			/* Nothing more until the CONNECT is answered: the
			 * rest waits in c->in. */
			*used = off;
			return 0;
		}
		if (hs != MQ_HS_OK) {
			mq__conn_end(c, hs);
			break;
		}
	}
	*used = len;
	return 0;
}

/* Keeps a partial packet in c->in, sized for the whole packet if known. */
static void
keep_partial(mq_conn *c, const uint8_t *p, size_t n, size_t need)
{
	struct mq_buf *in = &c->in;
	size_t         cap = need > n ? need : n;

	if (cap < 64)
		cap = 64;
	if (in->cap < cap) {
		uint8_t *q = realloc(in->p, cap);

		if (q == NULL) {
			mq__conn_end(c, MQ_HS_ERROR);
			return;
		}
		in->p = q;
		in->cap = (uint32_t) cap;
	}
	memmove(in->p, p, n);
	in->len = (uint32_t) n;
}

/* Handles the packets held in c->in and keeps only what is left of a
 * partial one. */
void
mq__conn_input_buffered(mq_conn *c)
{
	struct mq_buf *in = &c->in;
	size_t         used;

	if (in->len == 0)
		return;
	mq__conn_input(c, in->p, in->len, &used);
	if (used == in->len || c->state == MQ_CS_CLOSING) {
		free(in->p);
		memset(in, 0, sizeof(*in));
	} else if (used > 0) {
		memmove(in->p, in->p + used, in->len - used);
		in->len -= (uint32_t) used;
	}
}

int
mq__conn_bytes(mq_conn *c, const uint8_t *data, size_t n)
{
	struct mq_buf *in = &c->in;
	size_t         used;
	int            need;

	if (in->len == 0) {
		need = mq__conn_input(c, data, n, &used);
		if (used < n && c->state != MQ_CS_CLOSING)
			keep_partial(c, data + used, n - used, (size_t) need);
		return 0;
	}
	if (in->cap - in->len < n) {
		size_t   cap = (size_t) in->len + n;
		uint8_t *q = realloc(in->p, cap);

		if (q == NULL) {
			mq__conn_end(c, MQ_HS_ERROR);
			return -ENOMEM;
		}
		in->p = q;
		in->cap = (uint32_t) cap;
	}
	memcpy(in->p + in->len, data, n);
	in->len += (uint32_t) n;
	mq__conn_input_buffered(c);
	return 0;
}

void
mq__conn_free(mq_conn *c)
{
	mq_broker *b = c->b;

	if (c->pending) {
		mq_conn **pp = &b->pending;

		for (; *pp != NULL; pp = &(*pp)->next_pending) {
			if (*pp == c) {
				*pp = c->next_pending;
				break;
			}
		}
	}
	mq__conn_release(c);
	mq_timer_cancel(&b->timers, &c->ka);
	mq__connect_cancel(c);
	mq_plugins_grant_fini(&c->grant);
	mq__http_acl_cancel(c);
	if (c->acks_waiting != 0)
		mq__persist_conn_gone(c);
	mq__msg_unref(c->will);
	if (c->oalias != NULL) {
		for (int i = 0; i < MQ_OUT_ALIAS_MAX; i++)
			free(c->oalias->topic[i]);
		free(c->oalias);
	}
	if (c->aliases != NULL) {
		for (int i = 0; i <= MQ_TOPIC_ALIAS_MAX; i++)
			free(c->aliases->topic[i]);
		free(c->aliases);
	}
	mq_authz_free(&c->authz);
	free(c->username);
	free(c->in.p);
	free(c->out.p);
	b->nconns--;
	if (c->all_prev)
		c->all_prev->all_next = c->all_next;
	else
		b->conns = c->all_next;
	if (c->all_next)
		c->all_next->all_prev = c->all_prev;
	free(c);
}

mq_conn *
mq_conn_virtual(mq_broker *b)
{
	mq_conn *c = malloc(sizeof(*c));

	if (c != NULL)
		mq__conn_init(c, b, -1, UINT32_MAX);
	return c;
}

int
mq_conn_feed(mq_conn *c, const uint8_t *buf, size_t len)
{
	if (c->state == MQ_CS_CLOSING)
		return -EPIPE;
	c->b->metrics[SHM_M_BYTES_RECEIVED] += len;
	c->last_rx = mq_now_ms();
	mq__conn_bytes(c, buf, len);
	mq__flush_all(c->b);
	return c->state == MQ_CS_CLOSING ? -EPIPE : 0;
}

size_t
mq_conn_output(mq_conn *c, uint8_t *buf, size_t cap)
{
	struct mq_buf *o = &c->out;
	size_t         n = o->len - o->off;

	if (n > cap)
		n = cap;
	if (n == 0)
		return 0;
	memcpy(buf, o->p + o->off, n);
	o->off += (uint32_t) n;
	c->b->metrics[SHM_M_BYTES_SENT] += n;
	if (o->off == o->len) {
		free(o->p);
		memset(o, 0, sizeof(*o));
	}
	return n;
}
