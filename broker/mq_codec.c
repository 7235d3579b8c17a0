/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mq_codec: decoder and encoders for MQTT 3.1 / 3.1.1 / 5.0 (server
 * side).
 *
 * Every read is bounds-checked against the packet's remaining length
 * before it happens; a packet is either wholly valid or rejected.  The
 * rules cited are MQTT 3.1.1's normative statements ([MQTT-x]) and MQTT
 * 5.0's ([MQTT5-x]).  The v5 additions (properties, reason codes,
 * subscription options) are decoded only when the connection's level is
 * 5, so the v3 path does exactly what it did before.
 */
#include "config.h"

#include "broker/mq_codec.h"

#include <string.h>

/* A cursor over one packet's variable header and payload. */
struct rd {
	const uint8_t *p, *end;
};

static bool
rd_u8(struct rd *r, uint8_t *v)
{
	if (r->p >= r->end)
		return false;
	*v = *r->p++;
	return true;
}

static bool
rd_u16(struct rd *r, uint16_t *v)
{
	if (r->end - r->p < 2)
		return false;
	*v = (uint16_t) ((r->p[0] << 8) | r->p[1]);
	r->p += 2;
	return true;
}

/* A length-prefixed field; binary (no UTF-8 check). */
static bool
rd_bin(struct rd *r, mq_str *s)
{
	uint16_t n;

	if (!rd_u16(r, &n) || r->end - r->p < n)
		return false;
	s->ptr = (const char *) r->p;
	s->len = n;
	r->p += n;
	return true;
}

static bool
rd_utf8(struct rd *r, mq_str *s)
{
	return rd_bin(r, s) && mq_utf8_valid((const uint8_t *) s->ptr, s->len);
}

/* A Variable Byte Integer (1..4 bytes, [MQTT5-1.5.5-1] minimal). */
static bool
rd_varint(struct rd *r, uint32_t *v)
{
	uint32_t mult = 1;

	*v = 0;
	for (int i = 0; i < 4; i++) {
		uint8_t b;

		if (!rd_u8(r, &b))
			return false;
		*v += (uint32_t) (b & 0x7f) * mult;
		if (!(b & 0x80))
			return !(i > 0 && b == 0); /* no overlong form */
		mult *= 128;
	}
	return false;
}

/* ---- MQTT 5.0 properties ---- */

enum pty { PT_BYTE = 1, PT_U16, PT_U32, PT_VARINT, PT_UTF8, PT_BIN, PT_PAIR };

/* Where a property may appear: one bit per packet type, bit 0 = will. */
#define IN(t) (1u << (t))
#define WILL  1u
static const struct {
	uint8_t  type;
	uint16_t where;
} prop_table[0x2b] = {
	[MQ_P_PAYLOAD_FORMAT] = { PT_BYTE, IN(MQ_PUBLISH) | WILL },
	[MQ_P_MESSAGE_EXPIRY] = { PT_U32, IN(MQ_PUBLISH) | WILL },
	[MQ_P_CONTENT_TYPE] = { PT_UTF8, IN(MQ_PUBLISH) | WILL },
	[MQ_P_RESPONSE_TOPIC] = { PT_UTF8, IN(MQ_PUBLISH) | WILL },
	[MQ_P_CORRELATION_DATA] = { PT_BIN, IN(MQ_PUBLISH) | WILL },
	/* [MQTT5-3.3.4-6] not in a client's PUBLISH. */
	[MQ_P_SUBSCRIPTION_ID] = { PT_VARINT, IN(MQ_SUBSCRIBE) },
	[MQ_P_SESSION_EXPIRY]
	= { PT_U32, IN(MQ_CONNECT) | IN(MQ_CONNACK) | IN(MQ_DISCONNECT) },
	[MQ_P_ASSIGNED_CLIENT_ID] = { PT_UTF8, IN(MQ_CONNACK) },
	[MQ_P_SERVER_KEEP_ALIVE] = { PT_U16, IN(MQ_CONNACK) },
	[MQ_P_AUTH_METHOD]
	= { PT_UTF8, IN(MQ_CONNECT) | IN(MQ_CONNACK) | IN(MQ_AUTH) },
	[MQ_P_AUTH_DATA]
	= { PT_BIN, IN(MQ_CONNECT) | IN(MQ_CONNACK) | IN(MQ_AUTH) },
	[MQ_P_REQUEST_PROBLEM] = { PT_BYTE, IN(MQ_CONNECT) },
	[MQ_P_WILL_DELAY] = { PT_U32, WILL },
	[MQ_P_REQUEST_RESPONSE] = { PT_BYTE, IN(MQ_CONNECT) },
	[MQ_P_RESPONSE_INFO] = { PT_UTF8, IN(MQ_CONNACK) },
	[MQ_P_SERVER_REFERENCE]
	= { PT_UTF8, IN(MQ_CONNACK) | IN(MQ_DISCONNECT) },
	[MQ_P_REASON_STRING] = { PT_UTF8,
	    IN(MQ_CONNACK) | IN(MQ_PUBACK) | IN(MQ_PUBREC) | IN(MQ_PUBREL)
	        | IN(MQ_PUBCOMP) | IN(MQ_SUBACK) | IN(MQ_UNSUBACK)
	        | IN(MQ_DISCONNECT) | IN(MQ_AUTH) },
	[MQ_P_RECEIVE_MAXIMUM] = { PT_U16, IN(MQ_CONNECT) | IN(MQ_CONNACK) },
	[MQ_P_TOPIC_ALIAS_MAXIMUM]
	= { PT_U16, IN(MQ_CONNECT) | IN(MQ_CONNACK) },
	[MQ_P_TOPIC_ALIAS] = { PT_U16, IN(MQ_PUBLISH) },
	[MQ_P_MAXIMUM_QOS] = { PT_BYTE, IN(MQ_CONNACK) },
	[MQ_P_RETAIN_AVAILABLE] = { PT_BYTE, IN(MQ_CONNACK) },
	[MQ_P_USER_PROPERTY] = { PT_PAIR, 0xffff },
	[MQ_P_MAXIMUM_PACKET_SIZE]
	= { PT_U32, IN(MQ_CONNECT) | IN(MQ_CONNACK) },
	[MQ_P_WILDCARD_AVAILABLE] = { PT_BYTE, IN(MQ_CONNACK) },
	[MQ_P_SUBSCRIPTION_ID_AVAILABLE] = { PT_BYTE, IN(MQ_CONNACK) },
	[MQ_P_SHARED_AVAILABLE] = { PT_BYTE, IN(MQ_CONNACK) },
};

/* Reads one property's value, checking its range; stores known ones. */
static bool
prop_value(struct rd *r, uint8_t id, struct mq_props *p)
{
	uint8_t  b = 0;
	uint16_t h = 0;
	uint32_t w = 0;
	mq_str   s, s2;

	switch (prop_table[id].type) {
	case PT_BYTE:
		if (!rd_u8(r, &b) || b > 1) /* every client byte is 0/1 */
			return false;
		break;
	case PT_U16:
		if (!rd_u16(r, &h))
			return false;
		break;
	case PT_U32:
		if (r->end - r->p < 4)
			return false;
		w = (uint32_t) r->p[0] << 24 | (uint32_t) r->p[1] << 16
		    | (uint32_t) r->p[2] << 8 | r->p[3];
		r->p += 4;
		break;
	case PT_VARINT:
		if (!rd_varint(r, &w))
			return false;
		break;
	case PT_UTF8:
		if (!rd_utf8(r, &s))
			return false;
		if (id == MQ_P_AUTH_METHOD)
			p->auth_method = s;
		return true;
	case PT_BIN:
		return rd_bin(r, &s);
	case PT_PAIR:
		return rd_utf8(r, &s) && rd_utf8(r, &s2);
	default:
		return false;
	}
	switch (id) {
	case MQ_P_PAYLOAD_FORMAT:
		p->payload_format = b;
		break;
	case MQ_P_MESSAGE_EXPIRY:
		p->message_expiry = w;
		break;
	case MQ_P_SESSION_EXPIRY:
		p->session_expiry = w;
		break;
	case MQ_P_WILL_DELAY:
		p->will_delay = w;
		break;
	case MQ_P_MAXIMUM_PACKET_SIZE: /* [MQTT5-3.1.2.26]: not 0 */
		p->max_packet_size = w;
		return w != 0;
	case MQ_P_SUBSCRIPTION_ID: /* [MQTT5-3.8.2.1.2]: 1..268435455 */
		p->subscription_id = w;
		return w != 0;
	case MQ_P_RECEIVE_MAXIMUM: /* [MQTT5-3.1.2.20]: not 0 */
		p->receive_max = h;
		return h != 0;
	case MQ_P_TOPIC_ALIAS_MAXIMUM:
		p->topic_alias_max = h;
		break;
	case MQ_P_TOPIC_ALIAS: /* [MQTT5-3.3.2-8]: not 0 */
		p->topic_alias = h;
		return h != 0;
	default:
		break;
	}
	return true;
}

/* A property block for packet kind `where` (IN(type) or WILL). */
static bool
rd_props(struct rd *r, uint16_t where, struct mq_props *p)
{
	uint32_t  n;
	struct rd pr;

	memset(p, 0, sizeof(*p));
	if (!rd_varint(r, &n) || (uint32_t) (r->end - r->p) < n)
		return false;
	p->raw = r->p;
	p->len = n;
	pr.p = r->p;
	pr.end = r->p + n;
	r->p += n;
	while (pr.p < pr.end) {
		uint32_t id;

		/* Identifiers are varints; every defined one fits a byte. */
		if (!rd_varint(&pr, &id) || id >= 0x2b
		    || !(prop_table[id].where & where))
			return false;
		/* Only User Property may repeat (MQTT 5.0 2.2.2.2). */
		if (id != MQ_P_USER_PROPERTY && ((p->has >> id) & 1))
			return false;
		p->has |= 1ull << id;
		if (!prop_value(&pr, (uint8_t) id, p))
			return false;
	}
	return true;
}

uint32_t
mq_props_forward(const struct mq_props *p, uint8_t *out)
{
	struct rd r = { p->raw, p->raw + p->len };
	uint32_t  n = 0;

	while (r.p < r.end) {
		const uint8_t  *start = r.p;
		uint32_t        id;
		struct mq_props scratch;

		/* The block was validated by rd_props: this cannot fail. */
		if (!rd_varint(&r, &id) || id >= 0x2b
		    || !prop_value(&r, (uint8_t) id, &scratch))
			break;
		/* Will Delay Interval belongs to the will, not to the
		 * PUBLISH that carries it (2.2.2.2: paho drops a PUBLISH
		 * with it). */
		if (id == MQ_P_TOPIC_ALIAS || id == MQ_P_MESSAGE_EXPIRY
		    || id == MQ_P_SUBSCRIPTION_ID || id == MQ_P_WILL_DELAY)
			continue;
		memcpy(out + n, start, (size_t) (r.p - start));
		n += (uint32_t) (r.p - start);
	}
	return n;
}

bool
mq_utf8_valid(const uint8_t *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		uint8_t  c = s[i];
		uint32_t cp;
		size_t   n;

		if (c == 0) /* [MQTT-1.5.3-2] */
			return false;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return false; /* continuation, overlong lead, >
			                 U+10FFFF */
		}
		if (len - i <= n)
			return false;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		/* Overlong 3/4-byte forms, surrogates [MQTT-1.5.3-1], range.
		 */
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000)
		    || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return false;
		i += n + 1;
	}
	return true;
}

static bool
topic_name_ok(const mq_str *t)
{
	/* [MQTT-4.7.3-1] not empty; [MQTT-3.3.2-2] no wildcards. */
	if (t->len == 0)
		return false;
	return memchr(t->ptr, '+', t->len) == NULL
	    && memchr(t->ptr, '#', t->len) == NULL;
}

static enum mq_rc
decode_connect(struct rd *r, mq_packet *pkt)
{
	struct mq_connect *c = &pkt->u.connect;
	mq_str             name;
	uint8_t            fl;

	memset(c, 0, sizeof(*c));
	if (pkt->flags != 0 || !rd_bin(r, &name) || !rd_u8(r, &c->level))
		return MQ_EMALFORMED;
	if (name.len == 4 && memcmp(name.ptr, "MQTT", 4) == 0) {
		if (c->level != 4 && c->level != 5)
			return MQ_EVERSION;
	} else if (name.len == 6 && memcmp(name.ptr, "MQIsdp", 6) == 0) {
		if (c->level != 3)
			return MQ_EVERSION;
	} else {
		return MQ_EMALFORMED; /* [MQTT-3.1.2-1] */
	}
	if (!rd_u8(r, &fl) || !rd_u16(r, &c->keepalive))
		return MQ_EMALFORMED;
	if (fl & 0x01) /* [MQTT-3.1.2-3] */
		return MQ_EMALFORMED;
	c->clean_session = fl & 0x02;
	c->will = fl & 0x04;
	c->will_qos = (fl >> 3) & 0x03;
	c->will_retain = fl & 0x20;
	c->has_password = fl & 0x40;
	c->has_username = fl & 0x80;
	if (c->will_qos == 3) /* [MQTT-3.1.2-14] */
		return MQ_EMALFORMED;
	if (!c->will && (c->will_qos != 0 || c->will_retain))
		return MQ_EMALFORMED; /* [MQTT-3.1.2-11], -13, -15 */
	/* [MQTT-3.1.2-22]; MQTT 5.0 allows a password alone. */
	if (!c->has_username && c->has_password && c->level != 5)
		return MQ_EMALFORMED;
	if (c->level == 5 && !rd_props(r, IN(MQ_CONNECT), &pkt->props))
		return MQ_EMALFORMED;
	if (!rd_utf8(r, &c->client_id))
		return MQ_EMALFORMED;
	if (c->will) {
		if (c->level == 5 && !rd_props(r, WILL, &c->will_props))
			return MQ_EMALFORMED;
		if (!rd_utf8(r, &c->will_topic)
		    || !topic_name_ok(&c->will_topic)
		    || !rd_bin(r, &c->will_payload))
			return MQ_EMALFORMED;
	}
	if (c->has_username && !rd_utf8(r, &c->username))
		return MQ_EMALFORMED;
	if (c->has_password && !rd_bin(r, &c->password))
		return MQ_EMALFORMED;
	return r->p == r->end ? MQ_OK : MQ_EMALFORMED;
}

static enum mq_rc
decode_publish(struct rd *r, mq_packet *pkt, uint8_t level)
{
	struct mq_publish *p = &pkt->u.publish;

	p->dup = pkt->flags & 0x08;
	p->qos = (pkt->flags >> 1) & 0x03;
	p->retain = pkt->flags & 0x01;
	if (p->qos == 3) /* [MQTT-3.3.1-4] */
		return MQ_EMALFORMED;
	if (p->qos == 0 && p->dup) /* [MQTT-3.3.1-2] */
		return MQ_EMALFORMED;
	if (!rd_utf8(r, &p->topic))
		return MQ_EMALFORMED;
	if (!topic_name_ok(&p->topic) && (level != 5 || p->topic.len != 0))
		return MQ_EMALFORMED;
	p->packet_id = 0;
	if (p->qos > 0 && (!rd_u16(r, &p->packet_id) || p->packet_id == 0))
		return MQ_EMALFORMED; /* [MQTT-2.3.1-1] */
	if (level == 5) {
		if (!rd_props(r, IN(MQ_PUBLISH), &pkt->props))
			return MQ_EMALFORMED;
		/* [MQTT5-3.3.4]: an empty topic needs an alias to name it. */
		if (p->topic.len == 0
		    && !mq_props_has(&pkt->props, MQ_P_TOPIC_ALIAS))
			return MQ_EMALFORMED;
	}
	p->payload = r->p;
	p->payload_len = (uint32_t) (r->end - r->p);
	return MQ_OK;
}

/* Reason code and properties that may end a v5 packet (3.4.2.1). */
static bool
rd_reason_props(struct rd *r, mq_packet *pkt)
{
	pkt->reason = 0;
	memset(&pkt->props, 0, sizeof(pkt->props));
	if (r->p == r->end)
		return true;
	if (!rd_u8(r, &pkt->reason))
		return false;
	if (r->p == r->end)
		return true;
	return rd_props(r, IN(pkt->type), &pkt->props) && r->p == r->end;
}

static enum mq_rc
decode_ack(struct rd *r, mq_packet *pkt, uint8_t want_flags, uint8_t level)
{
	/* [MQTT-3.6.1-1] PUBREL flags 0010, the others 0000. */
	if (pkt->flags != want_flags || !rd_u16(r, &pkt->u.packet_id)
	    || pkt->u.packet_id == 0)
		return MQ_EMALFORMED;
	if (level == 5)
		return rd_reason_props(r, pkt) ? MQ_OK : MQ_EMALFORMED;
	return r->p == r->end ? MQ_OK : MQ_EMALFORMED;
}

static enum mq_rc
decode_filters(struct rd *r, mq_packet *pkt, bool with_qos, uint8_t level)
{
	struct mq_filters *f = &pkt->u.filters;

	/* [MQTT-3.8.1-1], [MQTT-3.10.1-1] */
	if (pkt->flags != 0x02 || !rd_u16(r, &f->packet_id)
	    || f->packet_id == 0)
		return MQ_EMALFORMED;
	if (level == 5 && !rd_props(r, IN(pkt->type), &pkt->props))
		return MQ_EMALFORMED;
	f->p = r->p;
	f->len = (uint32_t) (r->end - r->p);
	f->count = 0;
	while (r->p < r->end) {
		mq_str  s;
		uint8_t q;

		if (!rd_utf8(r, &s))
			return MQ_EMALFORMED;
		if (with_qos) {
			/* [MQTT-3.8.3-4] reserved bits 0, QoS 0..2; v5:
			 * [MQTT5-3.8.3-5] bits 6-7 zero, Retain Handling
			 * 0..2, QoS 0..2. */
			if (!rd_u8(r, &q))
				return MQ_EMALFORMED;
			if (level != 5 ? q > 2
			               : (q & 0xc0) || MQ_SUBOPT_QOS(q) == 3
			            || MQ_SUBOPT_RH(q) == 3)
				return MQ_EMALFORMED;
		}
		if (f->count == UINT16_MAX)
			return MQ_EMALFORMED;
		f->count++;
	}
	/* [MQTT-3.8.3-3], [MQTT-3.10.3-2]: at least one filter. */
	return f->count > 0 ? MQ_OK : MQ_EMALFORMED;
}

static enum mq_rc
decode_body(struct rd *r, mq_packet *pkt, uint8_t level)
{
	switch (pkt->type) {
	case MQ_CONNECT:
		return decode_connect(r, pkt);
	case MQ_PUBLISH:
		return decode_publish(r, pkt, level);
	case MQ_PUBACK:
	case MQ_PUBREC:
	case MQ_PUBCOMP:
		return decode_ack(r, pkt, 0, level);
	case MQ_PUBREL:
		return decode_ack(r, pkt, 0x02, level);
	case MQ_SUBSCRIBE:
		return decode_filters(r, pkt, true, level);
	case MQ_UNSUBSCRIBE:
		return decode_filters(r, pkt, false, level);
	case MQ_PINGREQ:
		/* reserved flags of PINGREQ */
		return pkt->flags == 0 && r->p == r->end ? MQ_OK
		                                         : MQ_EMALFORMED;
	case MQ_DISCONNECT:
		/* [MQTT-3.14.1-1]; v5 adds a reason and properties. */
		if (pkt->flags != 0)
			return MQ_EMALFORMED;
		if (level == 5)
			return rd_reason_props(r, pkt) ? MQ_OK : MQ_EMALFORMED;
		return r->p == r->end ? MQ_OK : MQ_EMALFORMED;
	case MQ_AUTH:
		if (level != 5 || pkt->flags != 0)
			return MQ_EMALFORMED;
		return rd_reason_props(r, pkt) ? MQ_OK : MQ_EMALFORMED;
	default:
		/* 0 and the server -> client types. */
		return MQ_EMALFORMED;
	}
}

enum mq_rc
mq_decode(const uint8_t *buf, size_t len, uint32_t max_size, mq_packet *pkt,
    size_t *used)
{
	return mq_decode_v(buf, len, max_size, 0, pkt, used);
}

enum mq_rc
mq_decode_v(const uint8_t *buf, size_t len, uint32_t max_size, uint8_t level,
    mq_packet *pkt, size_t *used)
{
	uint32_t  rl = 0, mult = 1;
	size_t    i = 1;
	struct rd r;

	*used = 0;
	if (len < 2)
		return MQ_AGAIN;
	for (;;) {
		uint8_t b;

		if (i >= len)
			return MQ_AGAIN;
		b = buf[i++];
		rl += (uint32_t) (b & 0x7f) * mult;
		if (!(b & 0x80))
			break;
		if (i == 5) /* at most 4 bytes of remaining length */
			return MQ_EMALFORMED;
		mult *= 128;
	}
	if ((uint64_t) rl + i > max_size)
		return MQ_ETOOBIG;
	pkt->type = buf[0] >> 4;
	pkt->flags = buf[0] & 0x0f;
	pkt->size = (uint32_t) (rl + i);
	if (len < pkt->size) {
		*used = pkt->size;
		return MQ_AGAIN;
	}
	r.p = buf + i;
	r.end = buf + pkt->size;
	*used = pkt->size;
	enum mq_rc rc = decode_body(&r, pkt, level);
	if (rc != MQ_OK && rc != MQ_EVERSION)
		*used = 0;
	return rc;
}

void
mq_filters_begin(struct mq_filter_iter *it, const mq_packet *pkt)
{
	it->p = pkt->u.filters.p;
	it->end = it->p + pkt->u.filters.len;
	it->with_qos = pkt->type == MQ_SUBSCRIBE;
}

bool
mq_filters_next(struct mq_filter_iter *it, mq_str *filter, uint8_t *qos)
{
	struct rd r = { it->p, it->end };

	*qos = 0;
	if (!rd_bin(&r, filter))
		return false;
	if (it->with_qos && !rd_u8(&r, qos))
		return false;
	it->p = r.p;
	return true;
}

size_t
mq_encode_varint(uint8_t *out, uint32_t v)
{
	size_t n = 0;

	if (v > 268435455u)
		return 0;
	do {
		uint8_t b = v % 128;

		v /= 128;
		out[n++] = (uint8_t) (v ? b | 0x80 : b);
	} while (v);
	return n;
}

size_t
mq_encode_connack(uint8_t out[MQ_ACK_SIZE], bool session_present, uint8_t rc)
{
	out[0] = MQ_CONNACK << 4;
	out[1] = 2;
	out[2] = session_present ? 1 : 0;
	out[3] = rc;
	return 4;
}

size_t
mq_encode_ack(uint8_t out[MQ_ACK_SIZE], enum mq_type type, uint16_t packet_id)
{
	out[0] = (uint8_t) ((type << 4) | (type == MQ_PUBREL ? 0x02 : 0));
	out[1] = 2;
	out[2] = (uint8_t) (packet_id >> 8);
	out[3] = (uint8_t) packet_id;
	return 4;
}

size_t
mq_encode_pingresp(uint8_t out[2])
{
	out[0] = MQ_PINGRESP << 4;
	out[1] = 0;
	return 2;
}

size_t
mq_encode_suback(
    uint8_t *out, uint16_t packet_id, const uint8_t *codes, size_t n)
{
	size_t k;

	out[0] = MQ_SUBACK << 4;
	k = 1 + mq_encode_varint(out + 1, (uint32_t) (2 + n));
	out[k++] = (uint8_t) (packet_id >> 8);
	out[k++] = (uint8_t) packet_id;
	memcpy(out + k, codes, n);
	return k + n;
}

/*
 * The part of a PUBLISH head that 3.1.1 and 5.0 share: fixed header with
 * remaining length rl, topic, and the packet id when qos > 0.  Returns the
 * bytes written.
 */
static inline size_t
publish_head(uint8_t *out, uint32_t rl, const char *topic, uint16_t topic_len,
    uint8_t qos, bool retain, bool dup, uint16_t packet_id)
{
	size_t k;

	out[0] = (uint8_t) ((MQ_PUBLISH << 4) | (dup ? 0x08 : 0) | (qos << 1)
	    | (retain ? 1 : 0));
	k = 1 + mq_encode_varint(out + 1, rl);
	out[k++] = (uint8_t) (topic_len >> 8);
	out[k++] = (uint8_t) topic_len;
	memcpy(out + k, topic, topic_len);
	k += topic_len;
	if (qos) {
		out[k++] = (uint8_t) (packet_id >> 8);
		out[k++] = (uint8_t) packet_id;
	}
	return k;
}

size_t
mq_encode_publish_head(uint8_t *out, const char *topic, uint16_t topic_len,
    uint32_t payload_len, uint8_t qos, bool retain, bool dup,
    uint16_t packet_id, size_t *total)
{
	uint32_t rl = 2u + topic_len + (qos ? 2u : 0u) + payload_len;
	size_t   k = publish_head(
	      out, rl, topic, topic_len, qos, retain, dup, packet_id);

	*total = k + payload_len;
	return k;
}

/* ---- MQTT 5.0 encoders ---- */

size_t
mq_prop_u8(uint8_t *out, enum mq_prop id, uint8_t v)
{
	out[0] = (uint8_t) id;
	out[1] = v;
	return 2;
}

size_t
mq_prop_u16(uint8_t *out, enum mq_prop id, uint16_t v)
{
	out[0] = (uint8_t) id;
	out[1] = (uint8_t) (v >> 8);
	out[2] = (uint8_t) v;
	return 3;
}

size_t
mq_prop_u32(uint8_t *out, enum mq_prop id, uint32_t v)
{
	out[0] = (uint8_t) id;
	out[1] = (uint8_t) (v >> 24);
	out[2] = (uint8_t) (v >> 16);
	out[3] = (uint8_t) (v >> 8);
	out[4] = (uint8_t) v;
	return 5;
}

size_t
mq_prop_str(uint8_t *out, enum mq_prop id, const char *s, uint16_t n)
{
	out[0] = (uint8_t) id;
	out[1] = (uint8_t) (n >> 8);
	out[2] = (uint8_t) n;
	memcpy(out + 3, s, n);
	return 3u + n;
}

size_t
mq_encode_connack5(uint8_t *out, bool session_present, uint8_t rc,
    const uint8_t *props, uint32_t props_len)
{
	uint8_t pl[4];
	size_t  pn = mq_encode_varint(pl, props_len), k;

	out[0] = MQ_CONNACK << 4;
	k = 1 + mq_encode_varint(out + 1, (uint32_t) (2 + pn + props_len));
	out[k++] = session_present ? 1 : 0;
	out[k++] = rc;
	memcpy(out + k, pl, pn);
	k += pn;
	if (props_len)
		memcpy(out + k, props, props_len);
	return k + props_len;
}

size_t
mq_encode_ack5(uint8_t out[MQ_ACK5_SIZE], enum mq_type type,
    uint16_t packet_id, uint8_t reason)
{
	if (reason == 0) /* [MQTT5-3.4.2.1]: success may be left out */
		return mq_encode_ack(out, type, packet_id);
	mq_encode_ack(out, type, packet_id);
	out[1] = 3;
	out[4] = reason;
	return 5;
}

size_t
mq_encode_suback5(uint8_t *out, enum mq_type type, uint16_t packet_id,
    const uint8_t *codes, size_t n)
{
	size_t k;

	out[0] = (uint8_t) (type << 4);
	k = 1 + mq_encode_varint(out + 1, (uint32_t) (3 + n));
	out[k++] = (uint8_t) (packet_id >> 8);
	out[k++] = (uint8_t) packet_id;
	out[k++] = 0; /* no properties */
	memcpy(out + k, codes, n);
	return k + n;
}

size_t
mq_encode_disconnect5(
    uint8_t *out, uint8_t reason, const char *why, uint16_t why_len)
{
	out[0] = MQ_DISCONNECT << 4;
	out[2] = reason;
	if (why == NULL) {
		out[1] = 1; /* [MQTT5-3.14.2.2]: no properties when < 2 */
		return 3;
	}
	if (why_len > 100)
		why_len = 100;
	out[1] = (uint8_t) (2 + 3 + why_len);
	out[3] = (uint8_t) (3 + why_len);
	return 4 + mq_prop_str(out + 4, MQ_P_REASON_STRING, why, why_len);
}

size_t
mq_encode_publish_head5(uint8_t *out, const char *topic, uint16_t topic_len,
    uint32_t payload_len, uint8_t qos, bool retain, bool dup,
    uint16_t packet_id, bool has_expiry, uint32_t expiry, uint32_t sub_id,
    uint16_t topic_alias, const uint8_t *props, uint32_t props_len,
    size_t *total)
{
	uint8_t  plv[4], sid[4];
	size_t   sn = sub_id ? mq_encode_varint(sid, sub_id) : 0;
	uint32_t pl = props_len + (has_expiry ? 5u : 0u)
	    + (sn ? 1u + (uint32_t) sn : 0u) + (topic_alias ? 3u : 0u);
	size_t   pn = mq_encode_varint(plv, pl), k;
	uint32_t rl = 2u + topic_len + (qos ? 2u : 0u) + (uint32_t) pn + pl
	    + payload_len;

	k = publish_head(
	    out, rl, topic, topic_len, qos, retain, dup, packet_id);
	memcpy(out + k, plv, pn);
	k += pn;
	if (topic_alias)
		k += mq_prop_u16(out + k, MQ_P_TOPIC_ALIAS, topic_alias);
	if (has_expiry)
		k += mq_prop_u32(out + k, MQ_P_MESSAGE_EXPIRY, expiry);
	if (sn) {
		out[k++] = MQ_P_SUBSCRIPTION_ID;
		memcpy(out + k, sid, sn);
		k += sn;
	}
	if (props_len)
		memcpy(out + k, props, props_len);
	k += props_len;
	*total = k + payload_len;
	return k;
}
