/* SPDX-License-Identifier: BSD-2-Clause */
/* lg_pkt: hand-encoded MQTT 3.1.1 packets for the load generator. */
#include "bench/lg_pkt.h"

#include <string.h>

/* Bytes needed by the variable-length "remaining length" field. */
static size_t
varint_size(size_t n)
{
	size_t k = 1;

	while (n >= 128) {
		n /= 128;
		k++;
	}
	return k;
}

static uint8_t *
put_varint(uint8_t *p, size_t n)
{
	do {
		uint8_t b = (uint8_t) (n % 128);

		n /= 128;
		*p++ = (uint8_t) (n ? b | 0x80 : b);
	} while (n);
	return p;
}

static uint8_t *
put_u16(uint8_t *p, uint16_t v)
{
	*p++ = (uint8_t) (v >> 8);
	*p++ = (uint8_t) v;
	return p;
}

static uint8_t *
put_str(uint8_t *p, const char *s, size_t len)
{
	p = put_u16(p, (uint16_t) len);
	memcpy(p, s, len);
	return p + len;
}

static size_t
connect_rem(const char *client_id)
{
	/* "MQTT" name, level, flags, keepalive, then the client id. */
	return 2 + 4 + 1 + 1 + 2 + 2 + strlen(client_id);
}

size_t
lg_connect_size(const char *client_id)
{
	size_t rem = connect_rem(client_id);

	return 1 + varint_size(rem) + rem;
}

size_t
lg_connect(uint8_t *buf, const char *client_id, uint16_t keepalive)
{
	uint8_t *p = buf;

	*p++ = 0x10;
	p = put_varint(p, connect_rem(client_id));
	p = put_str(p, "MQTT", 4);
	*p++ = 4;    /* protocol level: 3.1.1 */
	*p++ = 0x02; /* clean session */
	p = put_u16(p, keepalive);
	p = put_str(p, client_id, strlen(client_id));
	return (size_t) (p - buf);
}

size_t
lg_subscribe_size(const char *filter)
{
	size_t rem = 2 + 2 + strlen(filter) + 1;

	return 1 + varint_size(rem) + rem;
}

size_t
lg_subscribe(uint8_t *buf, uint16_t packet_id, const char *filter, int qos)
{
	size_t   flen = strlen(filter);
	uint8_t *p = buf;

	*p++ = 0x82; /* SUBSCRIBE: reserved flags must be 0010 */
	p = put_varint(p, 2 + 2 + flen + 1);
	p = put_u16(p, packet_id);
	p = put_str(p, filter, flen);
	*p++ = (uint8_t) qos;
	return (size_t) (p - buf);
}

size_t
lg_publish_size(size_t topic_len, size_t payload_len)
{
	size_t rem = 2 + topic_len + 2 + payload_len;

	return 1 + varint_size(rem) + rem;
}

size_t
lg_publish(uint8_t *buf, const char *topic, size_t topic_len, int qos,
    uint16_t packet_id, const void *payload, size_t payload_len)
{
	size_t   rem = 2 + topic_len + (qos ? 2 : 0) + payload_len;
	uint8_t *p = buf;

	*p++ = (uint8_t) (0x30 | (qos << 1));
	p = put_varint(p, rem);
	p = put_str(p, topic, topic_len);
	if (qos)
		p = put_u16(p, packet_id);
	memcpy(p, payload, payload_len);
	return (size_t) (p + payload_len - buf);
}

size_t
lg_puback(uint8_t *buf, uint16_t packet_id)
{
	buf[0] = 0x40;
	buf[1] = 2;
	put_u16(buf + 2, packet_id);
	return 4;
}

long
lg_frame(const uint8_t *buf, size_t len, size_t *hdr_len)
{
	size_t rem = 0, mult = 1;

	for (size_t i = 1; i < 5; i++) {
		if (i >= len)
			return 0;
		rem += (size_t) (buf[i] & 0x7f) * mult;
		mult *= 128;
		if (!(buf[i] & 0x80)) {
			*hdr_len = i + 1;
			if (len < i + 1 + rem)
				return 0;
			return (long) (i + 1 + rem);
		}
	}
	return -1; /* a fifth length byte: malformed */
}

int
lg_parse_publish(
    const uint8_t *pkt, size_t hdr_len, size_t total, struct lg_publish *out)
{
	const uint8_t *p = pkt + hdr_len;
	const uint8_t *end = pkt + total;

	out->qos = (pkt[0] >> 1) & 3;
	out->dup = (pkt[0] >> 3) & 1;
	out->retain = pkt[0] & 1;
	if (out->qos == 3 || end - p < 2)
		return -1;
	out->topic_len = (size_t) (p[0] << 8 | p[1]);
	p += 2;
	if ((size_t) (end - p) < out->topic_len)
		return -1;
	out->topic = p;
	p += out->topic_len;
	out->packet_id = 0;
	if (out->qos) {
		if (end - p < 2)
			return -1;
		out->packet_id = (uint16_t) (p[0] << 8 | p[1]);
		p += 2;
	}
	out->payload = p;
	out->payload_len = (size_t) (end - p);
	return 0;
}
