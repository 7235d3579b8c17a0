/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for broker/mq_codec: one table row per MQTT 3.1.1 rule the
 * decoder enforces (the statement's number in the row's name), plus the
 * encoders and the UTF-8 rules.
 */
#include "config.h"

#include "broker/mq_codec.h"
#include "tests/harness/t.h"

#define B(...)                                                                \
	(const uint8_t[]) { __VA_ARGS__ }, sizeof((uint8_t[]) { __VA_ARGS__ })

struct row {
	const char    *name;
	const uint8_t *in;
	size_t         len;
	enum mq_rc     want;
};

static const struct row rows[] = {
	{ "connect ok",
	    B(0x10, 13, 0, 4, 'M', 'Q', 'T', 'T', 4, 2, 0, 60, 0, 1, 'c'),
	    MQ_OK },
	{ "connect 3.1 ok",
	    B(0x10, 15, 0, 6, 'M', 'Q', 'I', 's', 'd', 'p', 3, 2, 0, 60, 0, 1,
	        'c'),
	    MQ_OK },
	{ "connect MQTT level 3 -> version",
	    B(0x10, 13, 0, 4, 'M', 'Q', 'T', 'T', 3, 2, 0, 60, 0, 1, 'c'),
	    MQ_EVERSION },
	{ "connect MQTT level 6 -> version",
	    B(0x10, 13, 0, 4, 'M', 'Q', 'T', 'T', 6, 2, 0, 60, 0, 1, 'c'),
	    MQ_EVERSION },
	{ "connect bad name 3.1.2-1",
	    B(0x10, 13, 0, 4, 'M', 'Q', 'T', 'X', 4, 2, 0, 60, 0, 1, 'c'),
	    MQ_EMALFORMED },
	{ "connect reserved flag 3.1.2-3",
	    B(0x10, 13, 0, 4, 'M', 'Q', 'T', 'T', 4, 3, 0, 60, 0, 1, 'c'),
	    MQ_EMALFORMED },
	{ "connect fixed flags 2.2.2-2",
	    B(0x11, 13, 0, 4, 'M', 'Q', 'T', 'T', 4, 2, 0, 60, 0, 1, 'c'),
	    MQ_EMALFORMED },
	{ "connect will qos w/o will 3.1.2-13",
	    B(0x10, 13, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x0a, 0, 60, 0, 1, 'c'),
	    MQ_EMALFORMED },
	{ "connect will retain w/o will 3.1.2-15",
	    B(0x10, 13, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x22, 0, 60, 0, 1, 'c'),
	    MQ_EMALFORMED },
	{ "connect will qos 3 3.1.2-14",
	    B(0x10, 19, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x1e, 0, 60, 0, 1, 'c', 0,
	        1, 't', 0, 1, 'p'),
	    MQ_EMALFORMED },
	{ "connect will ok",
	    B(0x10, 19, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x2e, 0, 60, 0, 1, 'c', 0,
	        1, 't', 0, 1, 'p'),
	    MQ_OK },
	{ "connect will topic wildcard",
	    B(0x10, 19, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x06, 0, 60, 0, 1, 'c', 0,
	        1, '#', 0, 1, 'p'),
	    MQ_EMALFORMED },
	{ "connect password w/o user 3.1.2-22",
	    B(0x10, 16, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x42, 0, 60, 0, 1, 'c', 0,
	        1, 'p'),
	    MQ_EMALFORMED },
	{ "connect user+pass ok",
	    B(0x10, 19, 0, 4, 'M', 'Q', 'T', 'T', 4, 0xc2, 0, 60, 0, 1, 'c', 0,
	        1, 'u', 0, 1, 0xff),
	    MQ_OK },
	{ "connect trailing bytes",
	    B(0x10, 14, 0, 4, 'M', 'Q', 'T', 'T', 4, 2, 0, 60, 0, 1, 'c', 0),
	    MQ_EMALFORMED },
	{ "connect short id",
	    B(0x10, 13, 0, 4, 'M', 'Q', 'T', 'T', 4, 2, 0, 60, 0, 2, 'c'),
	    MQ_EMALFORMED },
	{ "connect id with U+0000 1.5.3-2",
	    B(0x10, 13, 0, 4, 'M', 'Q', 'T', 'T', 4, 2, 0, 60, 0, 1, 0),
	    MQ_EMALFORMED },
	{ "connect id surrogate 1.5.3-1",
	    B(0x10, 15, 0, 4, 'M', 'Q', 'T', 'T', 4, 2, 0, 60, 0, 3, 0xed,
	        0xa0, 0x80),
	    MQ_EMALFORMED },
	{ "publish qos0 ok", B(0x30, 5, 0, 1, 't', 'h', 'i'), MQ_OK },
	{ "publish qos1 ok", B(0x32, 5, 0, 1, 't', 0, 7), MQ_OK },
	{ "publish qos3 3.3.1-4", B(0x36, 5, 0, 1, 't', 0, 7), MQ_EMALFORMED },
	{ "publish dup qos0 3.3.1-2", B(0x38, 3, 0, 1, 't'), MQ_EMALFORMED },
	{ "publish pid 0 2.3.1-1", B(0x32, 5, 0, 1, 't', 0, 0),
	    MQ_EMALFORMED },
	{ "publish empty topic 4.7.3-1", B(0x30, 2, 0, 0), MQ_EMALFORMED },
	{ "publish wildcard 3.3.2-2", B(0x30, 3, 0, 1, '+'), MQ_EMALFORMED },
	{ "publish topic overruns", B(0x30, 3, 0, 5, 't'), MQ_EMALFORMED },
	{ "puback ok", B(0x40, 2, 0, 1), MQ_OK },
	{ "puback flags", B(0x42, 2, 0, 1), MQ_EMALFORMED },
	{ "puback long", B(0x40, 3, 0, 1, 0), MQ_EMALFORMED },
	{ "pubrel ok 3.6.1-1", B(0x62, 2, 0, 1), MQ_OK },
	{ "pubrel flags 0 3.6.1-1", B(0x60, 2, 0, 1), MQ_EMALFORMED },
	{ "subscribe ok", B(0x82, 6, 0, 1, 0, 1, 'a', 1), MQ_OK },
	{ "subscribe flags 3.8.1-1", B(0x80, 6, 0, 1, 0, 1, 'a', 1),
	    MQ_EMALFORMED },
	{ "subscribe no topic 3.8.3-3", B(0x82, 2, 0, 1), MQ_EMALFORMED },
	{ "subscribe qos 3 3.8.3-4", B(0x82, 6, 0, 1, 0, 1, 'a', 3),
	    MQ_EMALFORMED },
	{ "subscribe reserved bits 3.8.3-4", B(0x82, 6, 0, 1, 0, 1, 'a', 0x81),
	    MQ_EMALFORMED },
	{ "subscribe missing qos", B(0x82, 5, 0, 1, 0, 1, 'a'),
	    MQ_EMALFORMED },
	{ "subscribe pid 0", B(0x82, 6, 0, 0, 0, 1, 'a', 1), MQ_EMALFORMED },
	{ "subscribe bad filter is not malformed",
	    B(0x82, 7, 0, 1, 0, 2, 'a', '#', 1), MQ_OK },
	{ "unsubscribe ok", B(0xa2, 5, 0, 1, 0, 1, 'a'), MQ_OK },
	{ "unsubscribe flags 3.10.1-1", B(0xa0, 5, 0, 1, 0, 1, 'a'),
	    MQ_EMALFORMED },
	{ "unsubscribe empty 3.10.3-2", B(0xa2, 2, 0, 1), MQ_EMALFORMED },
	{ "pingreq ok", B(0xc0, 0), MQ_OK },
	{ "pingreq flags", B(0xc1, 0), MQ_EMALFORMED },
	{ "disconnect ok", B(0xe0, 0), MQ_OK },
	{ "disconnect flags 3.14.1-1", B(0xe2, 0), MQ_EMALFORMED },
	{ "disconnect body", B(0xe0, 1, 0), MQ_EMALFORMED },
	{ "type 0 reserved", B(0x00, 0), MQ_EMALFORMED },
	{ "type 15 reserved", B(0xf0, 0), MQ_EMALFORMED },
	{ "connack from client", B(0x20, 2, 0, 0), MQ_EMALFORMED },
	{ "suback from client", B(0x90, 3, 0, 1, 0), MQ_EMALFORMED },
	{ "pingresp from client", B(0xd0, 0), MQ_EMALFORMED },
	{ "varint 5 bytes", B(0x30, 0xff, 0xff, 0xff, 0xff, 0x01),
	    MQ_EMALFORMED },
	{ "need more: header", B(0x30), MQ_AGAIN },
	{ "need more: varint", B(0x30, 0x80), MQ_AGAIN },
	{ "need more: body", B(0x30, 5, 0, 1, 't'), MQ_AGAIN },
	{ "too big before body", B(0x30, 0xff, 0xff, 0x7f), MQ_ETOOBIG },
};

T_TEST(decode_table)
{
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		mq_packet  pkt;
		size_t     used;
		enum mq_rc rc
		    = mq_decode(rows[i].in, rows[i].len, 65536, &pkt, &used);

		if (rc != rows[i].want)
			T_FAIL_AT("row '%s': rc %d, want %d", rows[i].name, rc,
			    rows[i].want);
		if (rc == MQ_OK && used != rows[i].len)
			T_FAIL_AT("row '%s': used %zu of %zu", rows[i].name,
			    used, rows[i].len);
	}
}

T_TEST(decode_connect_fields)
{
	const uint8_t in[] = { 0x10, 19, 0, 4, 'M', 'Q', 'T', 'T', 4, 0xee, 0,
		60, 0, 1, 'c', 0, 1, 't', 0, 1, 'p', 0, 1, 'u', 0, 1, 'w' };
	uint8_t       buf[sizeof(in)];
	mq_packet     pkt;
	size_t        used;

	memcpy(buf, in, sizeof(in));
	buf[1] = (uint8_t) (sizeof(in) - 2);
	T_EQ(mq_decode(buf, sizeof(buf), 1024, &pkt, &used), MQ_OK);
	T_EQ(pkt.type, MQ_CONNECT);
	T_EQ(pkt.u.connect.level, 4);
	T_EQ(pkt.u.connect.keepalive, 60);
	T_ASSERT(pkt.u.connect.clean_session);
	T_ASSERT(pkt.u.connect.will && pkt.u.connect.will_retain);
	T_EQ(pkt.u.connect.will_qos, 1);
	T_EQ(pkt.u.connect.will_topic.len, 1);
	T_EQ(pkt.u.connect.will_topic.ptr[0], 't');
	T_EQ(pkt.u.connect.username.ptr[0], 'u');
	T_EQ(pkt.u.connect.password.ptr[0], 'w');
}

T_TEST(decode_publish_fields)
{
	const uint8_t in[] = { 0x3b, 8, 0, 3, 'a', '/', 'b', 0x12, 0x34, 'x' };
	mq_packet     pkt;
	size_t        used;

	T_EQ(mq_decode(in, sizeof(in), 1024, &pkt, &used), MQ_OK);
	T_EQ(pkt.u.publish.qos, 1);
	T_ASSERT(pkt.u.publish.dup && pkt.u.publish.retain);
	T_EQ(pkt.u.publish.packet_id, 0x1234);
	T_EQ(pkt.u.publish.payload_len, 1);
	T_EQ(pkt.u.publish.payload[0], 'x');
}

T_TEST(decode_two_packets_back_to_back)
{
	const uint8_t in[] = { 0xc0, 0, 0x30, 3, 0, 1, 't', 0xe0 };
	mq_packet     pkt;
	size_t        used;

	T_EQ(mq_decode(in, sizeof(in), 1024, &pkt, &used), MQ_OK);
	T_EQ(used, 2);
	T_EQ(mq_decode(in + 2, sizeof(in) - 2, 1024, &pkt, &used), MQ_OK);
	T_EQ(used, 5);
	T_EQ(mq_decode(in + 7, 1, 1024, &pkt, &used), MQ_AGAIN);
}

T_TEST(decode_again_reports_size)
{
	const uint8_t in[] = { 0x30, 0x80, 0x01, 0, 1 };
	mq_packet     pkt;
	size_t        used;

	T_EQ(mq_decode(in, sizeof(in), 1024, &pkt, &used), MQ_AGAIN);
	T_EQ(used, 131);
	T_EQ(mq_decode(in, sizeof(in), 100, &pkt, &used), MQ_ETOOBIG);
}

T_TEST(filters_iterate)
{
	const uint8_t in[]
	    = { 0x82, 12, 0, 9, 0, 1, 'a', 1, 0, 3, 'b', '/', '#', 2 };
	mq_packet             pkt;
	size_t                used;
	struct mq_filter_iter it;
	mq_str                f;
	uint8_t               q;

	T_EQ(mq_decode(in, sizeof(in), 1024, &pkt, &used), MQ_OK);
	T_EQ(pkt.u.filters.count, 2);
	T_EQ(pkt.u.filters.packet_id, 9);
	mq_filters_begin(&it, &pkt);
	T_ASSERT(mq_filters_next(&it, &f, &q));
	T_EQ(f.len, 1);
	T_EQ(q, 1);
	T_ASSERT(mq_filters_next(&it, &f, &q));
	T_EQ(f.len, 3);
	T_EQ(q, 2);
	T_ASSERT(!mq_filters_next(&it, &f, &q));
}

T_TEST(utf8_rules)
{
	static const struct {
		const char *s;
		size_t      n;
		bool        ok;
	} r[] = {
		{ "abc", 3, true },
		{ "\xc3\xa9", 2, true },          /* é */
		{ "\xe2\x82\xac", 3, true },      /* € */
		{ "\xf0\x9f\x98\x80", 4, true },  /* emoji */
		{ "\xef\xbb\xbf", 3, true },      /* BOM: allowed */
		{ "a\0b", 3, false },             /* U+0000 */
		{ "\xc0\xaf", 2, false },         /* overlong */
		{ "\xe0\x80\xaf", 3, false },     /* overlong */
		{ "\xed\xa0\x80", 3, false },     /* surrogate */
		{ "\xf4\x90\x80\x80", 4, false }, /* > U+10FFFF */
		{ "\x80", 1, false },             /* lone continuation */
		{ "\xc3", 1, false },             /* truncated */
		{ "\xff", 1, false },
	};

	for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++)
		if (mq_utf8_valid((const uint8_t *) r[i].s, r[i].n) != r[i].ok)
			T_FAIL_AT("row %zu: want %d", i, r[i].ok);
}

T_TEST(encoders)
{
	uint8_t b[300];
	size_t  total;
	uint8_t codes[] = { 0, 1, 0x80 };

	T_EQ(mq_encode_connack(b, true, 0), 4);
	T_MEMEQ(b, ((uint8_t[]) { 0x20, 2, 1, 0 }), 4);
	T_EQ(mq_encode_ack(b, MQ_PUBREL, 0x0102), 4);
	T_MEMEQ(b, ((uint8_t[]) { 0x62, 2, 1, 2 }), 4);
	T_EQ(mq_encode_ack(b, MQ_PUBACK, 7), 4);
	T_MEMEQ(b, ((uint8_t[]) { 0x40, 2, 0, 7 }), 4);
	T_EQ(mq_encode_pingresp(b), 2);
	T_MEMEQ(b, ((uint8_t[]) { 0xd0, 0 }), 2);
	T_EQ(mq_encode_suback(b, 5, codes, 3), 7);
	T_MEMEQ(b, ((uint8_t[]) { 0x90, 5, 0, 5, 0, 1, 0x80 }), 7);
	T_EQ(
	    mq_encode_publish_head(b, "a/b", 3, 200, 1, true, true, 9, &total),
	    10);
	T_MEMEQ(
	    b, ((uint8_t[]) { 0x3b, 207, 1, 0, 3, 'a', '/', 'b', 0, 9 }), 10);
	T_EQ(total, 210);
	T_EQ(mq_encode_varint(b, 268435455), 4);
	T_EQ(mq_encode_varint(b, 268435456), 0);
}

T_TEST(encode_then_decode_publish)
{
	uint8_t   b[64];
	size_t    total, h;
	mq_packet pkt;
	size_t    used;

	h = mq_encode_publish_head(
	    b, "x/y", 3, 2, 2, false, false, 300, &total);
	b[h] = 'h';
	b[h + 1] = 'i';
	T_EQ(mq_decode(b, total, 1024, &pkt, &used), MQ_OK);
	T_EQ(pkt.u.publish.packet_id, 300);
	T_EQ(pkt.u.publish.qos, 2);
	T_EQ(pkt.u.publish.payload_len, 2);
}

static const struct t_case cases[] = {
	T_ENTRY(decode_table),
	T_ENTRY(decode_connect_fields),
	T_ENTRY(decode_publish_fields),
	T_ENTRY(decode_two_packets_back_to_back),
	T_ENTRY(decode_again_reports_size),
	T_ENTRY(filters_iterate),
	T_ENTRY(utf8_rules),
	T_ENTRY(encoders),
	T_ENTRY(encode_then_decode_publish),
};

T_MAIN(cases)
