/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for cluster/cl_subject (topic <-> subject) and cluster/
 * cl_frame.  The matching table of test_mq_trie is checked once more
 * through NATS's rules: the encoded filter's subjects (with the parent
 * of "/#") must match the encoded topic exactly when the MQTT filter
 * matches the topic (before the '$' rule, which the receiving broker
 * applies).
 */
#include "config.h"

#include "broker/mq_trie.h"
#include "cluster/cl_frame.h"
#include "cluster/cl_subject.h"
#include "tests/harness/t.h"

#include <errno.h>
#include <string.h>

static const struct {
	const char *topic, *subject;
} codes[] = {
	{ "a", "mq.a" },
	{ "a/b", "mq.a.b" },
	{ "/", "mq.=.=" },
	{ "a//b", "mq.a.=.b" },
	{ "a.b", "mq.a=2Eb" },
	{ "a b", "mq.a=20b" },
	{ "$SYS/x", "mq.=24SYS.x" },
	{ "=", "mq.=3D" },
	{ "*", "mq.=2A" },
	{ ">", "mq.=3E" },
	{ "x/", "mq.x.=" },
	{ "A-z_9", "mq.A-z_9" },
	{ "\xc3\xa9t\xc3\xa9", "mq.=C3=A9t=C3=A9" },
};

T_TEST(topic_round_trip)
{
	char out[256], back[256];

	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		int n = cl_subject_from_topic(
		    out, sizeof(out), codes[i].topic, strlen(codes[i].topic));

		T_ASSERT(n > 0);
		out[n] = '\0';
		T_STREQ(out, codes[i].subject);
		n = cl_subject_to_topic(back, sizeof(back), out, (size_t) n);
		T_EQ(n, strlen(codes[i].topic));
		back[n] = '\0';
		T_STREQ(back, codes[i].topic);
	}
}

T_TEST(bad_subjects)
{
	static const char *bad[] = { "", "mq.", "mq", "xx.a", "mq.a..b",
		"mq.a.", "mq.*", "mq.>", "mq.a=2e", "mq.=41", "mq.a=2F",
		"mq.=2B", "mq.=23", "mq.=00", "mq.a=4", "mq.a b",
		"mq.==", "mq.a=", "mq.=ZZ" };
	char               out[64];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (cl_subject_to_topic(
		        out, sizeof(out), bad[i], strlen(bad[i]))
		    != -EINVAL)
			T_FAIL_AT("accepted %s", bad[i]);
}

T_TEST(filters)
{
	char out[64];
	bool parent;
	int  n;

	n = cl_subject_from_filter(out, sizeof(out), "a/+/c", 5, &parent);
	T_EQ(n, 8);
	T_ASSERT(memcmp(out, "mq.a.*.c", 8) == 0 && !parent);
	n = cl_subject_from_filter(out, sizeof(out), "a/#", 3, &parent);
	T_EQ(n, 6);
	T_ASSERT(memcmp(out, "mq.a.>", 6) == 0 && parent);
	n = cl_subject_from_filter(out, sizeof(out), "#", 1, &parent);
	T_EQ(n, 4);
	T_ASSERT(memcmp(out, "mq.>", 4) == 0 && !parent);
	/* In a topic name, + and # are refused. */
	T_EQ(cl_subject_from_topic(out, sizeof(out), "a/+", 3), -EINVAL);
	T_EQ(cl_subject_from_topic(out, sizeof(out), "a", 0), -EINVAL);
	T_EQ(cl_subject_from_topic(out, 5, "abcdef", 6), -ENOSPC);
}

/* NATS's rules: '*' one token, '>' one or more, at the end. */
static bool
nats_match(const char *f, size_t fl, const char *s, size_t sl)
{
	size_t i = 0, j = 0;

	while (i < fl) {
		size_t fe = i, se = j;

		while (fe < fl && f[fe] != '.')
			fe++;
		if (fe - i == 1 && f[i] == '>')
			return j < sl;
		if (j >= sl)
			return false;
		while (se < sl && s[se] != '.')
			se++;
		if (!(fe - i == 1 && f[i] == '*')
		    && (fe - i != se - j || memcmp(f + i, s + j, fe - i) != 0))
			return false;
		i = fe + 1;
		j = se + 1;
		if ((i > fl) != (j > sl))
			return false;
	}
	return j > sl;
}

T_TEST(nats_agrees_with_mqtt)
{
	static const char *filters[]
	    = { "a/b", "a/+", "a/#", "#", "+", "+/+", "/+", "a//b", "a/+/b",
		      "+/b/#", "$SYS/#", "a/b/#", "+/#", "/#", "x.y/#" };
	static const char *topics[]
	    = { "a/b", "a/c", "a/b/c", "a/", "a", "ab", "/", "/a", "a//b",
		      "x/b", "x/b/c", "$SYS/x", "a/b/", "x.y", "x.y/z", "b" };
	char f[64], t[64];

	for (size_t i = 0; i < sizeof(filters) / sizeof(filters[0]); i++)
		for (size_t j = 0; j < sizeof(topics) / sizeof(topics[0]);
		     j++) {
			const char *fi = filters[i], *tj = topics[j];
			bool        parent, mqtt, nats;
			int         fl, tl;

			fl = cl_subject_from_filter(
			    f, sizeof(f), fi, strlen(fi), &parent);
			tl = cl_subject_from_topic(
			    t, sizeof(t), tj, strlen(tj));
			T_ASSERT(fl > 0 && tl > 0);
			nats = nats_match(f, (size_t) fl, t, (size_t) tl)
			    || (parent
			        && nats_match(
			            f, (size_t) fl - 2, t, (size_t) tl));
			/* Without the '$' rule (the broker applies it). */
			mqtt = mq_topic_match(fi, strlen(fi), tj, strlen(tj))
			    || (tj[0] == '$' && (fi[0] == '#' || fi[0] == '+')
			        && nats);
			if (mqtt != nats)
				T_FAIL_AT("%s vs %s: mqtt %d nats %d", fi, tj,
				    mqtt, nats);
		}
}

T_TEST(frame_round_trip)
{
	uint8_t         buf[128];
	struct cl_frame f = { .origin = 0x0102030405060708ull,
		.seq = 42,
		.qos = 2,
		.retain = true,
		.expire_in_ms = 1500,
		.props = (const uint8_t *) "\x26\0\1k\0\1v",
		.props_len = 7,
		.payload = (const uint8_t *) "hello",
		.payload_len = 5 },
	                g;

	T_EQ(cl_frame_size(&f), CL_FRAME_HDR + 12);
	cl_frame_write(buf, &f);
	T_EQ(cl_frame_parse(&g, buf, cl_frame_size(&f)), 0);
	T_ASSERT(g.origin == f.origin && g.seq == 42 && g.qos == 2 && g.retain
	    && g.expire_in_ms == 1500 && g.props_len == 7 && g.payload_len == 5
	    && memcmp(g.payload, "hello", 5) == 0
	    && memcmp(g.props, f.props, 7) == 0);
	/* Short, wrong magic, QoS 3, unknown flag, properties too long. */
	T_EQ(cl_frame_parse(&g, buf, CL_FRAME_HDR - 1), -EBADMSG);
	buf[0] = 0;
	T_EQ(cl_frame_parse(&g, buf, 40), -EBADMSG);
	buf[0] = CL_FRAME_MAGIC;
	buf[2] = 3;
	T_EQ(cl_frame_parse(&g, buf, 40), -EBADMSG);
	buf[2] = 16;
	T_EQ(cl_frame_parse(&g, buf, 40), -EBADMSG);
	buf[2] = 0;
	buf[22] = 100;
	T_EQ(cl_frame_parse(&g, buf, cl_frame_size(&f)), -EBADMSG);
}

static const struct t_case cases[] = {
	T_ENTRY(topic_round_trip),
	T_ENTRY(bad_subjects),
	T_ENTRY(filters),
	T_ENTRY(nats_agrees_with_mqtt),
	T_ENTRY(frame_round_trip),
};

T_MAIN(cases)
