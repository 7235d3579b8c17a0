/*
 * mq_codec: decoder and encoders for MQTT 3.1 / 3.1.1 (server side).
 *
 * Every read is bounds-checked against the packet's remaining length
 * before it happens; a packet is either wholly valid or rejected.  The
 * rules cited are MQTT 3.1.1's normative statements.
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
		if (c->level != 4)
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
	if (!c->has_username && c->has_password)
		return MQ_EMALFORMED; /* [MQTT-3.1.2-22] */
	if (!rd_utf8(r, &c->client_id))
		return MQ_EMALFORMED;
	if (c->will) {
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
decode_publish(struct rd *r, mq_packet *pkt)
{
	struct mq_publish *p = &pkt->u.publish;

	p->dup = pkt->flags & 0x08;
	p->qos = (pkt->flags >> 1) & 0x03;
	p->retain = pkt->flags & 0x01;
	if (p->qos == 3) /* [MQTT-3.3.1-4] */
		return MQ_EMALFORMED;
	if (p->qos == 0 && p->dup) /* [MQTT-3.3.1-2] */
		return MQ_EMALFORMED;
	if (!rd_utf8(r, &p->topic) || !topic_name_ok(&p->topic))
		return MQ_EMALFORMED;
	p->packet_id = 0;
	if (p->qos > 0 && (!rd_u16(r, &p->packet_id) || p->packet_id == 0))
		return MQ_EMALFORMED; /* [MQTT-2.3.1-1] */
	p->payload = r->p;
	p->payload_len = (uint32_t) (r->end - r->p);
	return MQ_OK;
}

static enum mq_rc
decode_ack(struct rd *r, mq_packet *pkt, uint8_t want_flags)
{
	/* [MQTT-3.6.1-1] PUBREL flags 0010, the others 0000. */
	if (pkt->flags != want_flags || !rd_u16(r, &pkt->u.packet_id)
	    || r->p != r->end || pkt->u.packet_id == 0)
		return MQ_EMALFORMED;
	return MQ_OK;
}

static enum mq_rc
decode_filters(struct rd *r, mq_packet *pkt, bool with_qos)
{
	struct mq_filters *f = &pkt->u.filters;

	/* [MQTT-3.8.1-1], [MQTT-3.10.1-1] */
	if (pkt->flags != 0x02 || !rd_u16(r, &f->packet_id)
	    || f->packet_id == 0)
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
			/* [MQTT-3.8.3-4] reserved bits 0, QoS 0..2 */
			if (!rd_u8(r, &q) || q > 2)
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
decode_body(struct rd *r, mq_packet *pkt)
{
	switch (pkt->type) {
	case MQ_CONNECT:
		return decode_connect(r, pkt);
	case MQ_PUBLISH:
		return decode_publish(r, pkt);
	case MQ_PUBACK:
	case MQ_PUBREC:
	case MQ_PUBCOMP:
		return decode_ack(r, pkt, 0);
	case MQ_PUBREL:
		return decode_ack(r, pkt, 0x02);
	case MQ_SUBSCRIBE:
		return decode_filters(r, pkt, true);
	case MQ_UNSUBSCRIBE:
		return decode_filters(r, pkt, false);
	case MQ_PINGREQ:
	case MQ_DISCONNECT:
		/* [MQTT-3.14.1-1] and reserved flags of PINGREQ */
		return pkt->flags == 0 && r->p == r->end ? MQ_OK
		                                         : MQ_EMALFORMED;
	default:
		/* 0, 15 and the server -> client types. */
		return MQ_EMALFORMED;
	}
}

enum mq_rc
mq_decode(const uint8_t *buf, size_t len, uint32_t max_size, mq_packet *pkt,
    size_t *used)
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
	enum mq_rc rc = decode_body(&r, pkt);
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

size_t
mq_encode_publish_head(uint8_t *out, const char *topic, uint16_t topic_len,
    uint32_t payload_len, uint8_t qos, bool retain, bool dup,
    uint16_t packet_id, size_t *total)
{
	uint32_t rl = 2u + topic_len + (qos ? 2u : 0u) + payload_len;
	size_t   k;

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
	*total = k + payload_len;
	return k;
}
