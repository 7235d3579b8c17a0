/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for broker/mq_codec's MQTT 5.0 side: one table row per rule
 * the level-5 decoder enforces (properties allowed per packet, no
 * duplicates, value ranges, reason codes, subscription options), plus the
 * v5 encoders.  Rows hold the first byte and the body; the remaining
 * length is computed, so a row reads like the spec's byte tables.
 */
#include "config.h"

#include "broker/mq_codec.h"
#include "tests/harness/t.h"

#include <string.h>

#define B(...)                                                                \
	(const uint8_t[]) { __VA_ARGS__ }, sizeof((uint8_t[]) { __VA_ARGS__ })

/* CONNECT variable header up to the properties: "MQTT", 5, flags, ka. */
#define CH(flags) 0, 4, 'M', 'Q', 'T', 'T', 5, flags, 0, 60

struct row {
	const char    *name;
	uint8_t        first;
	const uint8_t *body;
	size_t         len;
	enum mq_rc     want;
};

static const struct row rows[] = {
	/* CONNECT */
	{ "connect v5 ok", 0x10, B(CH(2), 0, 0, 1, 'c'), MQ_OK },
	{ "connect v5 no properties length", 0x10, B(CH(2)), MQ_EMALFORMED },
	{ "connect v5 session expiry", 0x10,
	    B(CH(0), 5, 0x11, 0, 0, 0, 60, 0, 1, 'c'), MQ_OK },
	{ "connect v5 duplicate session expiry", 0x10,
	    B(CH(0), 10, 0x11, 0, 0, 0, 60, 0x11, 0, 0, 0, 1, 0, 1, 'c'),
	    MQ_EMALFORMED },
	{ "connect v5 topic alias not allowed", 0x10,
	    B(CH(2), 3, 0x23, 0, 1, 0, 1, 'c'), MQ_EMALFORMED },
	{ "connect v5 unknown property", 0x10, B(CH(2), 2, 0x7f, 0, 0, 1, 'c'),
	    MQ_EMALFORMED },
	{ "connect v5 property id 0", 0x10, B(CH(2), 2, 0x00, 0, 0, 1, 'c'),
	    MQ_EMALFORMED },
	{ "connect v5 receive maximum 0", 0x10,
	    B(CH(2), 3, 0x21, 0, 0, 0, 1, 'c'), MQ_EMALFORMED },
	{ "connect v5 receive maximum 5", 0x10,
	    B(CH(2), 3, 0x21, 0, 5, 0, 1, 'c'), MQ_OK },
	{ "connect v5 maximum packet size 0", 0x10,
	    B(CH(2), 5, 0x27, 0, 0, 0, 0, 0, 1, 'c'), MQ_EMALFORMED },
	{ "connect v5 request problem info 2", 0x10,
	    B(CH(2), 2, 0x17, 2, 0, 1, 'c'), MQ_EMALFORMED },
	{ "connect v5 request response info 1", 0x10,
	    B(CH(2), 2, 0x19, 1, 0, 1, 'c'), MQ_OK },
	{ "connect v5 properties past the end", 0x10, B(CH(2), 9, 0x21, 0, 5),
	    MQ_EMALFORMED },
	{ "connect v5 property value cut", 0x10,
	    B(CH(2), 2, 0x21, 0, 0, 1, 'c'), MQ_EMALFORMED },
	{ "connect v5 overlong properties length", 0x10,
	    B(CH(2), 0x80, 0x00, 0, 1, 'c'), MQ_EMALFORMED },
	{ "connect v5 user property twice", 0x10,
	    B(CH(2), 14, 0x26, 0, 1, 'k', 0, 1, 'v', 0x26, 0, 1, 'k', 0, 1,
	        'w', 0, 1, 'c'),
	    MQ_OK },
	{ "connect v5 user property bad utf-8", 0x10,
	    B(CH(2), 7, 0x26, 0, 1, 0xff, 0, 1, 'v', 0, 1, 'c'),
	    MQ_EMALFORMED },
	{ "connect v5 auth method decodes", 0x10,
	    B(CH(2), 6, 0x15, 0, 3, 'S', 'C', 'R', 0, 1, 'c'), MQ_OK },
	{ "connect v5 will props", 0x10,
	    B(CH(0x06), 0, 0, 1, 'c', 7, 0x18, 0, 0, 0, 5, 0x01, 1, 0, 1, 't',
	        0, 1, 'p'),
	    MQ_OK },
	{ "connect v5 will delay in CONNECT props", 0x10,
	    B(CH(0x06), 5, 0x18, 0, 0, 0, 5, 0, 1, 'c', 0, 0, 1, 't', 0, 1,
	        'p'),
	    MQ_EMALFORMED },
	{ "connect v5 session expiry in will props", 0x10,
	    B(CH(0x06), 0, 0, 1, 'c', 5, 0x11, 0, 0, 0, 5, 0, 1, 't', 0, 1,
	        'p'),
	    MQ_EMALFORMED },
	{ "connect v5 will without will props length", 0x10,
	    B(CH(0x06), 0, 0, 1, 'c'), MQ_EMALFORMED },
	{ "connect v5 password alone", 0x10,
	    B(CH(0x42), 0, 0, 1, 'c', 0, 1, 'p'), MQ_OK },
	{ "connect v5 reserved flag", 0x10, B(CH(3), 0, 0, 1, 'c'),
	    MQ_EMALFORMED },
	/* PUBLISH */
	{ "publish v5 ok", 0x30, B(0, 1, 't', 0, 'x'), MQ_OK },
	{ "publish v5 no properties length", 0x30, B(0, 1, 't'),
	    MQ_EMALFORMED },
	{ "publish v5 qos1 ok", 0x32, B(0, 1, 't', 0, 1, 0, 'x'), MQ_OK },
	{ "publish v5 all message props", 0x30,
	    B(0, 1, 't', 26, 0x01, 1, 0x02, 0, 0, 0, 9, 0x03, 0, 1, 'j', 0x08,
	        0, 1, 'r', 0x09, 0, 2, 0, 1, 0x26, 0, 1, 'k', 0, 0, 'x'),
	    MQ_OK },
	{ "publish v5 topic alias 0", 0x30, B(0, 1, 't', 3, 0x23, 0, 0),
	    MQ_EMALFORMED },
	{ "publish v5 empty topic + alias", 0x30, B(0, 0, 3, 0x23, 0, 1),
	    MQ_OK },
	{ "publish v5 empty topic, no alias", 0x30, B(0, 0, 0),
	    MQ_EMALFORMED },
	{ "publish v5 wildcard topic", 0x30, B(0, 1, '#', 0), MQ_EMALFORMED },
	{ "publish v5 subscription id 3.3.4-6", 0x30, B(0, 1, 't', 2, 0x0b, 1),
	    MQ_EMALFORMED },
	{ "publish v5 payload format 2", 0x30, B(0, 1, 't', 2, 0x01, 2),
	    MQ_EMALFORMED },
	{ "publish v5 duplicate content type", 0x30,
	    B(0, 1, 't', 8, 0x03, 0, 1, 'a', 0x03, 0, 1, 'b'), MQ_EMALFORMED },
	{ "publish v5 session expiry not allowed", 0x30,
	    B(0, 1, 't', 5, 0x11, 0, 0, 0, 1), MQ_EMALFORMED },
	/* acks */
	{ "puback v5 short form", 0x40, B(0, 1), MQ_OK },
	{ "puback v5 reason", 0x40, B(0, 1, 0x10), MQ_OK },
	{ "puback v5 reason + no props", 0x40, B(0, 1, 0x80, 0), MQ_OK },
	{ "puback v5 reason string", 0x40, B(0, 1, 0x80, 4, 0x1f, 0, 1, 'e'),
	    MQ_OK },
	{ "puback v5 topic alias not allowed", 0x40,
	    B(0, 1, 0x80, 3, 0x23, 0, 1), MQ_EMALFORMED },
	{ "puback v5 props past the end", 0x40, B(0, 1, 0, 4, 0x1f),
	    MQ_EMALFORMED },
	{ "puback v5 trailing byte", 0x40, B(0, 1, 0, 0, 0), MQ_EMALFORMED },
	{ "pubrec v5 reason", 0x50, B(0, 1, 0x87), MQ_OK },
	{ "pubrel v5 reason", 0x62, B(0, 1, 0x92, 0), MQ_OK },
	{ "pubrel v5 bad flags", 0x60, B(0, 1), MQ_EMALFORMED },
	{ "pubcomp v5 ok", 0x70, B(0, 1), MQ_OK },
	{ "puback v5 packet id 0", 0x40, B(0, 0), MQ_EMALFORMED },
	/* SUBSCRIBE */
	{ "subscribe v5 ok", 0x82, B(0, 1, 0, 0, 1, 'a', 1), MQ_OK },
	{ "subscribe v5 all options", 0x82, B(0, 1, 0, 0, 1, 'a', 0x2e),
	    MQ_OK },
	{ "subscribe v5 reserved bit 6 3.8.3-5", 0x82,
	    B(0, 1, 0, 0, 1, 'a', 0x41), MQ_EMALFORMED },
	{ "subscribe v5 retain handling 3", 0x82, B(0, 1, 0, 0, 1, 'a', 0x30),
	    MQ_EMALFORMED },
	{ "subscribe v5 qos 3", 0x82, B(0, 1, 0, 0, 1, 'a', 3),
	    MQ_EMALFORMED },
	{ "subscribe v5 subscription id", 0x82,
	    B(0, 1, 2, 0x0b, 7, 0, 1, 'a', 0), MQ_OK },
	{ "subscribe v5 subscription id 0", 0x82,
	    B(0, 1, 2, 0x0b, 0, 0, 1, 'a', 0), MQ_EMALFORMED },
	{ "subscribe v5 no filter", 0x82, B(0, 1, 0), MQ_EMALFORMED },
	{ "subscribe v5 no properties", 0x82, B(0, 1), MQ_EMALFORMED },
	{ "unsubscribe v5 ok", 0xa2, B(0, 1, 0, 0, 1, 'a'), MQ_OK },
	{ "unsubscribe v5 user property", 0xa2,
	    B(0, 1, 7, 0x26, 0, 1, 'k', 0, 1, 'v', 0, 1, 'a'), MQ_OK },
	{ "unsubscribe v5 subscription id", 0xa2,
	    B(0, 1, 2, 0x0b, 1, 0, 1, 'a'), MQ_EMALFORMED },
	/* DISCONNECT, AUTH, the rest */
	{ "disconnect v5 empty", 0xe0, B(), MQ_OK },
	{ "disconnect v5 with will", 0xe0, B(0x04), MQ_OK },
	{ "disconnect v5 session expiry", 0xe0, B(0, 5, 0x11, 0, 0, 0, 0),
	    MQ_OK },
	{ "disconnect v5 props past the end", 0xe0, B(0, 1), MQ_EMALFORMED },
	{ "disconnect v5 flags", 0xe1, B(), MQ_EMALFORMED },
	{ "disconnect v5 receive max not allowed", 0xe0, B(0, 3, 0x21, 0, 1),
	    MQ_EMALFORMED },
	{ "auth v5 ok", 0xf0, B(), MQ_OK },
	{ "auth v5 method", 0xf0, B(0x18, 4, 0x15, 0, 1, 'x'), MQ_OK },
	{ "auth v5 flags", 0xf1, B(), MQ_EMALFORMED },
	{ "pingreq v5", 0xc0, B(), MQ_OK },
	{ "connack from a v5 client", 0x20, B(0, 0, 0), MQ_EMALFORMED },
};

T_TEST(decode5_table)
{
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		uint8_t    buf[512];
		mq_packet  pkt;
		size_t     used, n = 1;
		enum mq_rc rc;

		buf[0] = rows[i].first;
		n += mq_encode_varint(buf + 1, (uint32_t) rows[i].len);
		memcpy(buf + n, rows[i].body, rows[i].len);
		n += rows[i].len;
		/* CONNECT is decoded before the level is known. */
		rc = mq_decode_v(
		    buf, n, 65536, rows[i].first == 0x10 ? 0 : 5, &pkt, &used);
		if (rc != rows[i].want)
			T_FAIL_AT("row '%s': rc %d, want %d", rows[i].name, rc,
			    rows[i].want);
		if (rc == MQ_OK && used != n)
			T_FAIL_AT("row '%s': used %zu of %zu", rows[i].name,
			    used, n);
	}
}

/* The same bytes read as v3 must not change meaning. */
T_TEST(v3_unchanged_by_level)
{
	const uint8_t pub[] = { 0x30, 4, 0, 1, 't', 0 };
	const uint8_t ack3[] = { 0x40, 3, 0, 1, 0 };
	mq_packet     pkt;
	size_t        used;

	T_EQ(mq_decode_v(pub, sizeof(pub), 1024, 4, &pkt, &used), MQ_OK);
	T_EQ(pkt.u.publish.payload_len, 1);
	/* v5 reads the 0 as an empty properties block. */
	T_EQ(mq_decode_v(pub, sizeof(pub), 1024, 5, &pkt, &used), MQ_OK);
	T_EQ(pkt.u.publish.payload_len, 0);
	T_EQ(mq_decode_v(ack3, sizeof(ack3), 1024, 4, &pkt, &used),
	    MQ_EMALFORMED);
	T_EQ(mq_decode_v(ack3, sizeof(ack3), 1024, 5, &pkt, &used), MQ_OK);
	T_EQ(mq_decode((const uint8_t[]) { 0xf0, 0 }, 2, 1024, &pkt, &used),
	    MQ_EMALFORMED);
}

T_TEST(decode5_connect_fields)
{
	const uint8_t in[] = { 0x10, 0, CH(0xce), 16, 0x11, 0, 0, 0x0e, 0x10,
		0x21, 0, 4, 0x27, 0, 0, 0x10, 0, 0x22, 0, 3, 0, 1, 'c', 12,
		0x18, 0, 0, 0, 30, 0x01, 1, 0x02, 0, 0, 0, 0, 0, 1, 't', 0, 1,
		'p', 0, 1, 'u', 0, 1, 'w' };
	uint8_t       buf[sizeof(in)];
	mq_packet     pkt;
	size_t        used;

	memcpy(buf, in, sizeof(in));
	buf[1] = (uint8_t) (sizeof(in) - 2);
	T_EQ(mq_decode_v(buf, sizeof(buf), 1024, 0, &pkt, &used), MQ_OK);
	T_EQ(pkt.u.connect.level, 5);
	T_EQ(pkt.props.session_expiry, 3600);
	T_EQ(pkt.props.receive_max, 4);
	T_EQ(pkt.props.max_packet_size, 4096);
	T_EQ(pkt.props.topic_alias_max, 3);
	T_ASSERT(mq_props_has(&pkt.props, MQ_P_SESSION_EXPIRY));
	T_ASSERT(!mq_props_has(&pkt.props, MQ_P_AUTH_METHOD));
	T_ASSERT(pkt.u.connect.will && pkt.u.connect.will_qos == 1);
	T_EQ(pkt.u.connect.will_props.will_delay, 30);
	T_EQ(pkt.u.connect.will_props.payload_format, 1);
	T_EQ(pkt.u.connect.will_props.len, 12);
	T_EQ(pkt.u.connect.will_topic.ptr[0], 't');
	T_EQ(pkt.u.connect.username.ptr[0], 'u');
	T_EQ(pkt.u.connect.password.ptr[0], 'w');
}

T_TEST(decode5_ack_fields)
{
	mq_packet pkt;
	size_t    used;

	T_EQ(mq_decode_v((const uint8_t[]) { 0x50, 3, 0, 9, 0x87 }, 5, 1024, 5,
	         &pkt, &used),
	    MQ_OK);
	T_EQ(pkt.u.packet_id, 9);
	T_EQ(pkt.reason, 0x87);
	T_EQ(mq_decode_v(
	         (const uint8_t[]) { 0x40, 2, 0, 9 }, 4, 1024, 5, &pkt, &used),
	    MQ_OK);
	T_EQ(pkt.reason, 0);
	T_EQ(mq_decode_v(
	         (const uint8_t[]) { 0xe0, 1, 0x04 }, 3, 1024, 5, &pkt, &used),
	    MQ_OK);
	T_EQ(pkt.reason, 4);
}

T_TEST(decode5_subscribe_options)
{
	const uint8_t in[]
	    = { 0x82, 11, 0, 3, 0, 0, 1, 'a', 0x2d, 0, 1, 'b', 0x02 };
	mq_packet             pkt;
	size_t                used;
	struct mq_filter_iter it;
	mq_str                f;
	uint8_t               o;

	T_EQ(mq_decode_v(in, sizeof(in), 1024, 5, &pkt, &used), MQ_OK);
	T_EQ(pkt.u.filters.count, 2);
	mq_filters_begin(&it, &pkt);
	T_ASSERT(mq_filters_next(&it, &f, &o));
	T_EQ(f.ptr[0], 'a');
	T_EQ(MQ_SUBOPT_QOS(o), 1);
	T_ASSERT(o & MQ_SUBOPT_NO_LOCAL);
	T_ASSERT(o & MQ_SUBOPT_RAP);
	T_EQ(MQ_SUBOPT_RH(o), 2);
	T_ASSERT(mq_filters_next(&it, &f, &o));
	T_EQ(o, 2);
	T_ASSERT(!mq_filters_next(&it, &f, &o));
}

T_TEST(props_forward_strips_per_hop)
{
	/* alias 5, content type "j", expiry 9, user property k=v */
	const uint8_t in[] = { 0x30, 24, 0, 1, 't', 19, 0x23, 0, 5, 0x03, 0, 1,
		'j', 0x02, 0, 0, 0, 9, 0x26, 0, 1, 'k', 0, 1, 'v', 'x' };
	const uint8_t want[] = { 0x03, 0, 1, 'j', 0x26, 0, 1, 'k', 0, 1, 'v' };
	mq_packet     pkt;
	size_t        used;
	uint8_t       out[32];

	T_EQ(mq_decode_v(in, sizeof(in), 1024, 5, &pkt, &used), MQ_OK);
	T_EQ(pkt.props.topic_alias, 5);
	T_EQ(pkt.props.message_expiry, 9);
	T_EQ(pkt.u.publish.payload_len, 1);
	T_EQ(mq_props_forward(&pkt.props, out), sizeof(want));
	T_MEMEQ(out, want, sizeof(want));
}

T_TEST(encoders5)
{
	uint8_t b[64], pr[16];
	size_t  n, total, h;
	uint8_t codes[] = { 0, 0x8f, 0x87 };

	n = mq_prop_u16(pr, MQ_P_TOPIC_ALIAS_MAXIMUM, 10);
	n += mq_prop_u8(pr + n, MQ_P_SHARED_AVAILABLE, 0);
	T_EQ(mq_encode_connack5(b, true, 0, pr, (uint32_t) n), 10);
	T_MEMEQ(
	    b, ((uint8_t[]) { 0x20, 8, 1, 0, 5, 0x22, 0, 10, 0x2a, 0 }), 10);
	T_EQ(mq_encode_connack5(b, false, 0x8c, NULL, 0), 5);
	T_MEMEQ(b, ((uint8_t[]) { 0x20, 3, 0, 0x8c, 0 }), 5);
	T_EQ(mq_encode_ack5(b, MQ_PUBACK, 7, 0), 4);
	T_MEMEQ(b, ((uint8_t[]) { 0x40, 2, 0, 7 }), 4);
	T_EQ(mq_encode_ack5(b, MQ_PUBACK, 7, 0x10), 5);
	T_MEMEQ(b, ((uint8_t[]) { 0x40, 3, 0, 7, 0x10 }), 5);
	T_EQ(mq_encode_ack5(b, MQ_PUBREL, 7, 0x92), 5);
	T_MEMEQ(b, ((uint8_t[]) { 0x62, 3, 0, 7, 0x92 }), 5);
	T_EQ(mq_encode_suback5(b, MQ_SUBACK, 5, codes, 3), 8);
	T_MEMEQ(b, ((uint8_t[]) { 0x90, 6, 0, 5, 0, 0, 0x8f, 0x87 }), 8);
	T_EQ(mq_encode_suback5(b, MQ_UNSUBACK, 5, codes, 1), 6);
	T_MEMEQ(b, ((uint8_t[]) { 0xb0, 4, 0, 5, 0, 0 }), 6);
	T_EQ(mq_encode_disconnect5(b, 0x8e, NULL, 0), 3);
	T_MEMEQ(b, ((uint8_t[]) { 0xe0, 1, 0x8e }), 3);
	T_EQ(mq_encode_disconnect5(b, 0x8d, "ka", 2), 9);
	T_MEMEQ(
	    b, ((uint8_t[]) { 0xe0, 7, 0x8d, 5, 0x1f, 0, 2, 'k', 'a' }), 9);
	h = mq_encode_publish_head5(
	    b, "a", 1, 1, 1, false, false, 3, true, 60, 0, 0, pr, 3, &total);
	T_EQ(h, 1 + 1 + 3 + 2 + 1 + 5 + 3);
	T_MEMEQ(b,
	    ((uint8_t[]) { 0x32, 15, 0, 1, 'a', 0, 3, 8, 0x02, 0, 0, 0, 60,
	        0x22, 0, 10 }),
	    h);
	T_EQ(total, h + 1);
	/* Subscription Identifier 200: a two-byte varint after the expiry. */
	h = mq_encode_publish_head5(b, "a", 1, 0, 0, false, false, 0, false, 0,
	    200, 0, NULL, 0, &total);
	T_EQ(h, 1 + 1 + 3 + 1 + 3);
	T_MEMEQ(
	    b, ((uint8_t[]) { 0x30, 7, 0, 1, 'a', 3, 0x0b, 0xc8, 0x01 }), h);
	/* Topic Alias 2 with an empty topic (3.3.2.3.4): first property. */
	h = mq_encode_publish_head5(
	    b, "", 0, 0, 1, false, false, 9, false, 0, 0, 2, NULL, 0, &total);
	T_EQ(h, 1 + 1 + 2 + 2 + 1 + 3);
	T_MEMEQ(b, ((uint8_t[]) { 0x32, 8, 0, 0, 0, 9, 3, 0x23, 0, 2 }), h);
}

T_TEST(encode5_then_decode_publish)
{
	uint8_t       b[64];
	const uint8_t pr[] = { 0x03, 0, 1, 'j' };
	size_t        total, h, used;
	mq_packet     pkt;

	h = mq_encode_publish_head5(b, "x/y", 3, 2, 2, true, false, 300, false,
	    0, 0, 0, pr, sizeof(pr), &total);
	b[h] = 'h';
	b[h + 1] = 'i';
	T_EQ(mq_decode_v(b, total, 1024, 5, &pkt, &used), MQ_OK);
	T_EQ(pkt.u.publish.packet_id, 300);
	T_EQ(pkt.u.publish.payload_len, 2);
	T_EQ(pkt.props.len, sizeof(pr));
	T_ASSERT(mq_props_has(&pkt.props, MQ_P_CONTENT_TYPE));
	T_ASSERT(!mq_props_has(&pkt.props, MQ_P_MESSAGE_EXPIRY));
}

static const struct t_case cases[] = {
	T_ENTRY(decode5_table),
	T_ENTRY(v3_unchanged_by_level),
	T_ENTRY(decode5_connect_fields),
	T_ENTRY(decode5_ack_fields),
	T_ENTRY(decode5_subscribe_options),
	T_ENTRY(props_forward_strips_per_hop),
	T_ENTRY(encoders5),
	T_ENTRY(encode5_then_decode_publish),
};

T_MAIN(cases)
