/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for the broker core through socket-less connections
 * (mq_conn_virtual): CONNECT rules, routing, QoS windows, retained
 * messages, takeover and the counters, without sockets or a segment.
 * Input packets are built here by hand; answers are decoded with
 * mq_codec (tested on its own in test_mq_codec).
 */
#include "config.h"

#include "broker/mq_broker.h"
#include "broker/mq_codec.h"
#include "broker/mq_config.h"
#include "broker/mq_log.h"
#include "shm/shm.h"
#include "tests/harness/t.h"

#include <errno.h>

struct pk {
	uint8_t b[512];
	size_t  n;
};

static void
put(struct pk *p, const void *d, size_t n)
{
	if (n == 0)
		return;
	memcpy(p->b + p->n, d, n);
	p->n += n;
}

static void
put_str(struct pk *p, const char *s)
{
	uint8_t l[2] = { (uint8_t) (strlen(s) >> 8), (uint8_t) strlen(s) };

	put(p, l, 2);
	put(p, s, strlen(s));
}

/* Wraps body (in p) with a fixed header. */
static struct pk
frame(uint8_t first, const struct pk *body)
{
	struct pk out = { .n = 0 };

	out.b[out.n++] = first;
	out.b[out.n++] = (uint8_t) body->n; /* tests keep bodies < 128 */
	put(&out, body->b, body->n);
	return out;
}

static struct pk
connect_pkt(const char *id, bool clean, const char *will_topic)
{
	struct pk     body = { .n = 0 };
	const uint8_t hdr[] = { 0, 4, 'M', 'Q', 'T', 'T', 4 };
	uint8_t flags = (uint8_t) ((clean ? 2 : 0) | (will_topic ? 4 : 0));
	uint8_t ka[2] = { 0, 0 };

	put(&body, hdr, sizeof(hdr));
	put(&body, &flags, 1);
	put(&body, ka, 2);
	put_str(&body, id);
	if (will_topic) {
		put_str(&body, will_topic);
		put_str(&body, "gone");
	}
	return frame(0x10, &body);
}

static struct pk
publish_pkt(const char *topic, const char *payload, uint8_t qos, bool retain,
    uint16_t pid)
{
	struct pk body = { .n = 0 };
	uint8_t   id[2] = { (uint8_t) (pid >> 8), (uint8_t) pid };

	put_str(&body, topic);
	if (qos)
		put(&body, id, 2);
	put(&body, payload, strlen(payload));
	return frame((uint8_t) (0x30 | qos << 1 | (retain ? 1 : 0)), &body);
}

static struct pk
subscribe_pkt(uint16_t pid, const char *filter, uint8_t qos)
{
	struct pk body = { .n = 0 };
	uint8_t   id[2] = { (uint8_t) (pid >> 8), (uint8_t) pid };

	put(&body, id, 2);
	put_str(&body, filter);
	put(&body, &qos, 1);
	return frame(0x82, &body);
}

static struct pk
ack_pkt(uint8_t first, uint16_t pid)
{
	struct pk p = { .b = { first, 2, (uint8_t) (pid >> 8), (uint8_t) pid },
		.n = 4 };

	return p;
}

/* ---- fixture ---- */

static mq_config cfg;

static mq_broker *
broker(void)
{
	char      *argv[] = { (char *) "t", NULL };
	mq_broker *b;

	mq_config_load(&cfg, 1, argv);
	cfg.max_inflight = 2;
	cfg.max_queue = 3;
	mq_log_level = MQ_LOG_ERROR;
	T_EQ(mq_broker_new(&b, &cfg, NULL, NULL), 0);
	return b;
}

static int
feed(mq_conn *c, struct pk p)
{
	return mq_conn_feed(c, p.b, p.n);
}

/* The next packet the broker sent to c (type 0 if none). */
static mq_packet
next(mq_conn *c, uint8_t *store)
{
	static uint8_t  buf[8192];
	static size_t   have;
	static mq_conn *owner;
	mq_packet       pkt = { 0 };
	size_t          used;

	if (owner != c)
		have = 0, owner = c;
	have += mq_conn_output(c, buf + have, sizeof(buf) - have);
	if (have == 0)
		return pkt;
	/* Decoding server packets: flip CONNACK/SUBACK... to a type the
	 * client-side decoder cannot take, so read the header by hand. */
	pkt.type = buf[0] >> 4;
	pkt.flags = buf[0] & 15;
	used = 2 + buf[1];
	T_ASSERT(buf[1] < 128 && used <= have);
	memcpy(store, buf, used);
	pkt.size = (uint32_t) used;
	memmove(buf, buf + used, have - used);
	have -= used;
	return pkt;
}

static mq_conn *
client(mq_broker *b, const char *id, bool clean)
{
	mq_conn  *c = mq_conn_virtual(b);
	uint8_t   s[256];
	mq_packet p;

	T_EQ(feed(c, connect_pkt(id, clean, NULL)), 0);
	p = next(c, s);
	T_EQ(p.type, MQ_CONNACK);
	T_EQ(s[3], 0);
	return c;
}

static void
subscribe(mq_conn *c, const char *f, uint8_t qos, uint8_t want)
{
	uint8_t   s[256];
	mq_packet p;

	T_EQ(feed(c, subscribe_pkt(1, f, qos)), 0);
	p = next(c, s);
	T_EQ(p.type, MQ_SUBACK);
	T_EQ(s[4], want);
}

/* Payload of a PUBLISH in s (as a string), and its qos/pid. */
static const char *
payload(const uint8_t *s, uint8_t *qos, uint16_t *pid)
{
	static char out[256];
	size_t      tl = (size_t) (s[2] << 8 | s[3]), off = 4 + tl;
	size_t      end = 2 + s[1];

	*qos = (s[0] >> 1) & 3;
	*pid = 0;
	if (*qos) {
		*pid = (uint16_t) (s[off] << 8 | s[off + 1]);
		off += 2;
	}
	memcpy(out, s + off, end - off);
	out[end - off] = 0;
	return out;
}

/* ---- tests ---- */

T_TEST(connect_and_route_qos0)
{
	mq_broker *b = broker();
	mq_conn   *sub = client(b, "sub", true), *pub = client(b, "pub", true);
	uint8_t    s[256], q;
	uint16_t   pid;

	subscribe(sub, "a/+", 0, 0);
	T_EQ(feed(pub, publish_pkt("a/b", "hi", 0, false, 0)), 0);
	T_EQ(next(sub, s).type, MQ_PUBLISH);
	T_STREQ(payload(s, &q, &pid), "hi");
	T_EQ(feed(pub, publish_pkt("x", "nobody", 0, false, 0)), 0);
	T_EQ(next(sub, s).type, 0);
	T_EQ(mq_broker_metric(b, SHM_M_MESSAGES_RECEIVED), 2);
	T_EQ(mq_broker_metric(b, SHM_M_MESSAGES_DROPPED), 1);
	T_EQ(mq_broker_metric(b, SHM_M_MESSAGES_QOS0_SENT), 1);
	mq_broker_free(&b);
}

T_TEST(empty_id_rules)
{
	mq_broker *b = broker();
	mq_conn   *c = mq_conn_virtual(b);
	uint8_t    s[256];

	/* [MQTT-3.1.3-8] empty id + persistent: CONNACK 2, closed. */
	T_EQ(feed(c, connect_pkt("", false, NULL)), -EPIPE);
	T_EQ(next(c, s).type, MQ_CONNACK);
	T_EQ(s[3], 2);
	mq_broker_sweep(b);
	/* [MQTT-3.1.3-6] empty id + clean: accepted. */
	c = mq_conn_virtual(b);
	T_EQ(feed(c, connect_pkt("", true, NULL)), 0);
	T_EQ(next(c, s).type, MQ_CONNACK);
	T_EQ(s[3], 0);
	mq_broker_free(&b);
}

T_TEST(first_packet_must_be_connect)
{
	mq_broker *b = broker();
	mq_conn   *c = mq_conn_virtual(b);

	T_EQ(feed(c, publish_pkt("a", "x", 0, false, 0)), -EPIPE);
	mq_broker_free(&b);
}

T_TEST(qos1_window_and_queue)
{
	mq_broker *b = broker(); /* max_inflight 2, max_queue 3 */
	mq_conn   *sub = client(b, "s", false), *pub = client(b, "p", true);
	uint8_t    s[256], q;
	uint16_t   pid[6];

	subscribe(sub, "t", 1, 1);
	for (int i = 0; i < 6; i++) {
		char msg[16];

		snprintf(msg, sizeof(msg), "%d", i);
		T_EQ(feed(pub,
		         publish_pkt("t", msg, 1, false, (uint16_t) (i + 1))),
		    0);
		T_EQ(next(pub, s).type, MQ_PUBACK);
	}
	/* Two in flight; the queue of 3 dropped the oldest queued ("2"). */
	T_EQ(next(sub, s).type, MQ_PUBLISH);
	T_STREQ(payload(s, &q, &pid[0]), "0");
	T_EQ(next(sub, s).type, MQ_PUBLISH);
	T_STREQ(payload(s, &q, &pid[1]), "1");
	T_EQ(next(sub, s).type, 0);
	T_ASSERT(pid[0] != pid[1]);
	T_EQ(feed(sub, ack_pkt(0x40, pid[0])), 0);
	T_EQ(next(sub, s).type, MQ_PUBLISH);
	T_STREQ(payload(s, &q, &pid[2]), "3");
	T_EQ(feed(sub, ack_pkt(0x40, 999)), 0);
	T_EQ(mq_broker_metric(b, SHM_M_PACKETS_PUBACK_MISSED), 1);
	mq_broker_free(&b);
}

T_TEST(qos2_inbound_released_on_pubrel)
{
	mq_broker *b = broker();
	mq_conn   *sub = client(b, "s", true), *pub = client(b, "p", true);
	uint8_t    s[256];

	subscribe(sub, "#", 0, 0);
	T_EQ(feed(pub, publish_pkt("q2", "x", 2, false, 5)), 0);
	T_EQ(next(pub, s).type, MQ_PUBREC);
	T_EQ(next(sub, s).type, 0); /* not before PUBREL */
	/* A retry of the PUBLISH does not duplicate it. */
	T_EQ(feed(pub, publish_pkt("q2", "x", 2, false, 5)), 0);
	T_EQ(next(pub, s).type, MQ_PUBREC);
	T_EQ(feed(pub, ack_pkt(0x62, 5)), 0);
	T_EQ(next(pub, s).type, MQ_PUBCOMP);
	T_EQ(next(sub, s).type, MQ_PUBLISH);
	T_EQ(next(sub, s).type, 0);
	T_EQ(
	    feed(pub, ack_pkt(0x62, 6)), 0); /* unknown: missed, still acked */
	T_EQ(next(pub, s).type, MQ_PUBCOMP);
	T_EQ(mq_broker_metric(b, SHM_M_PACKETS_PUBREL_MISSED), 1);
	mq_broker_free(&b);
}

T_TEST(retained_set_replace_delete)
{
	mq_broker *b = broker();
	mq_conn   *pub = client(b, "p", true), *sub;
	uint8_t    s[256], q;
	uint16_t   pid;

	T_EQ(feed(pub, publish_pkt("r/1", "one", 1, true, 1)), 0);
	T_EQ(feed(pub, publish_pkt("r/1", "two", 0, true, 0)), 0);
	T_EQ(feed(pub, publish_pkt("r/2", "x", 0, true, 0)), 0);
	T_EQ(feed(pub, publish_pkt("r/2", "", 0, true, 0)), 0);
	T_EQ(mq_broker_metric(b, SHM_M_MESSAGES_RETAINED), 1);
	sub = client(b, "s", true);
	subscribe(sub, "r/#", 1, 1);
	T_EQ(next(sub, s).type, MQ_PUBLISH);
	T_STREQ(payload(s, &q, &pid), "two");
	T_ASSERT(s[0] & 1); /* retain flag on a subscribe delivery */
	T_EQ(q, 0);
	T_EQ(next(sub, s).type, 0);
	mq_broker_free(&b);
}

T_TEST(takeover_keeps_persistent_session)
{
	mq_broker *b = broker();
	mq_conn   *old = client(b, "dev", false), *pub = client(b, "p", true);
	mq_conn   *neu;
	uint8_t    s[256], q;
	uint16_t   pid;

	subscribe(old, "d", 1, 1);
	T_EQ(feed(pub, publish_pkt("d", "m", 1, false, 1)), 0);
	T_EQ(next(old, s).type, MQ_PUBLISH);
	neu = mq_conn_virtual(b);
	T_EQ(feed(neu, connect_pkt("dev", false, NULL)), 0);
	T_EQ(next(neu, s).type, MQ_CONNACK);
	T_EQ(s[2], 1);                       /* session present */
	T_EQ(next(neu, s).type, MQ_PUBLISH); /* resent with DUP */
	T_ASSERT(s[0] & 0x08);
	T_STREQ(payload(s, &q, &pid), "m");
	T_EQ(mq_conn_feed(old, ack_pkt(0xc0, 0).b, 2), -EPIPE);
	mq_broker_sweep(b);
	mq_broker_free(&b);
}

T_TEST(will_on_abnormal_close_only)
{
	mq_broker    *b = broker();
	mq_conn      *sub = client(b, "s", true), *w = mq_conn_virtual(b);
	mq_conn      *w2 = mq_conn_virtual(b);
	uint8_t       s[256], q;
	uint16_t      pid;
	const uint8_t disc[] = { 0xe0, 0 }, bad[] = { 0xf0, 0 };

	subscribe(sub, "will/#", 0, 0);
	T_EQ(feed(w, connect_pkt("w", true, "will/a")), 0);
	T_EQ(mq_conn_feed(w, disc, 2), -EPIPE);
	mq_broker_sweep(b);
	T_EQ(next(sub, s).type, 0); /* [MQTT-3.1.2-10] */
	T_EQ(feed(w2, connect_pkt("w2", true, "will/b")), 0);
	T_EQ(mq_conn_feed(w2, bad, 2), -EPIPE);
	mq_broker_sweep(b);
	T_EQ(next(sub, s).type, MQ_PUBLISH); /* [MQTT-3.1.2-8] */
	T_STREQ(payload(s, &q, &pid), "gone");
	mq_broker_free(&b);
}

T_TEST(api_commands)
{
	mq_broker *b = broker();
	mq_conn   *sub = client(b, "s", false);
	uint8_t    s[256], q;
	uint16_t   pid;

	T_EQ(mq_broker_subscribe(b, "s", 1, "api/#", 5, 0), 0);
	T_EQ(mq_broker_subscribe(b, "nobody", 6, "x", 1, 0), -ENOENT);
	T_EQ(mq_broker_subscribe(b, "s", 1, "a/#/b", 5, 0), -EINVAL);
	T_EQ(mq_broker_publish(b, "api/x", 5, "hey", 3, 0, false, "http", 4),
	    0);
	T_EQ(mq_broker_publish(b, "api/+", 5, "x", 1, 0, false, "http", 4),
	    -EINVAL);
	T_EQ(next(sub, s).type, MQ_PUBLISH);
	T_STREQ(payload(s, &q, &pid), "hey");
	T_EQ(mq_broker_metric(b, SHM_M_MESSAGES_RECEIVED), 0);
	T_EQ(mq_broker_unsubscribe(b, "s", 1, "api/#", 5), 0);
	T_EQ(mq_broker_publish(b, "api/x", 5, "hey", 3, 0, false, "http", 4),
	    0);
	T_EQ(next(sub, s).type, 0);
	T_EQ(mq_broker_plugin(b, "mqttd_retainer", 14, true), -EALREADY);
	T_EQ(mq_broker_plugin(b, "nope", 4, true), -ENOENT);
	T_EQ(mq_broker_kick(b, "s", 1), 0);
	T_EQ(mq_broker_kick(b, "s", 1), -ENOENT);
	mq_broker_sweep(b);
	/* The persistent session outlives the kick: still subscribable. */
	T_EQ(mq_broker_subscribe(b, "s", 1, "later", 5, 1), 0);
	mq_broker_free(&b);
}

/* ---- MQTT 5.0 ---- */

/* A v5 CONNECT: props are the already-encoded property block. */
static struct pk
connect5_pkt(const char *id, uint8_t flags, const uint8_t *props, uint8_t pl)
{
	struct pk     body = { .n = 0 };
	const uint8_t hdr[] = { 0, 4, 'M', 'Q', 'T', 'T', 5 };
	uint8_t       ka[2] = { 0, 0 };

	put(&body, hdr, sizeof(hdr));
	put(&body, &flags, 1);
	put(&body, ka, 2);
	put(&body, &pl, 1);
	put(&body, props, pl);
	put_str(&body, id);
	return frame(0x10, &body);
}

static mq_conn *
client5(mq_broker *b, const char *id, const uint8_t *props, uint8_t pl)
{
	mq_conn  *c = mq_conn_virtual(b);
	uint8_t   s[256];
	mq_packet p;

	T_EQ(feed(c, connect5_pkt(id, 2, props, pl)), 0);
	p = next(c, s);
	T_EQ(p.type, MQ_CONNACK);
	T_EQ(s[3], 0);
	return c;
}

/* A v5 PUBLISH with a property block. */
static struct pk
publish5_pkt(const char *topic, const char *payload, uint8_t qos, uint16_t pid,
    const uint8_t *props, uint8_t pl)
{
	struct pk body = { .n = 0 };
	uint8_t   id[2] = { (uint8_t) (pid >> 8), (uint8_t) pid };

	put_str(&body, topic);
	if (qos)
		put(&body, id, 2);
	put(&body, &pl, 1);
	put(&body, props, pl);
	put(&body, payload, strlen(payload));
	return frame((uint8_t) (0x30 | qos << 1), &body);
}

T_TEST(v5_connack_properties)
{
	mq_broker *b = broker();
	mq_conn   *c = mq_conn_virtual(b);
	uint8_t    s[256];
	mq_packet  p;
	bool       alias_max = false, recv_max = false;

	T_EQ(feed(c, connect5_pkt("", 0, NULL, 0)), 0);
	p = next(c, s);
	T_EQ(p.type, MQ_CONNACK);
	T_EQ(s[2], 0); /* no session present */
	T_EQ(s[3], 0); /* success */
	for (size_t i = 5; i < 5u + s[4]; i++) {
		if (s[i] == 0x22 && s[i + 1] == 0 && s[i + 2] == 10)
			alias_max = true;
		if (s[i] == 0x21 && s[i + 1] == 0 && s[i + 2] == 2)
			recv_max = true; /* max_inflight 2 */
	}
	T_ASSERT(alias_max && recv_max);
	T_ASSERT(memmem(s + 5, s[4], "\x12\0", 2) != NULL); /* assigned */
	mq_broker_free(&b);
}

T_TEST(v5_malformed_gets_disconnect_0x81)
{
	mq_broker    *b = broker();
	mq_conn      *c = client5(b, "m5", NULL, 0);
	const uint8_t dup[] = { 0x01, 1, 0x01, 1 };
	uint8_t       s[256];

	T_EQ(feed(c, publish5_pkt("t", "x", 0, 0, dup, sizeof(dup))), -EPIPE);
	T_EQ(next(c, s).type, MQ_DISCONNECT);
	T_EQ(s[2], 0x81);
	mq_broker_sweep(b);
	mq_broker_free(&b);
}

T_TEST(v5_alias_and_properties_to_v3_and_v5)
{
	mq_broker *b = broker();
	mq_conn   *s3 = client(b, "s3", true), *s5 = client5(b, "s5", NULL, 0);
	mq_conn   *pub = client5(b, "p5", NULL, 0);
	const uint8_t al[] = { 0x23, 0, 1, 0x03, 0, 1, 'j' };
	uint8_t       s[256], q;
	uint16_t      pid;

	subscribe(s3, "al/#", 0, 0);
	/* v5 SUBSCRIBE: packet id, no properties, filter, options. */
	T_EQ(feed(s5,
	         frame(0x82,
	             &(struct pk) {
	                 .b = { 0, 1, 0, 0, 4, 'a', 'l', '/', '#', 0 },
	                 .n = 10 })),
	    0);
	T_EQ(next(s5, s).type, MQ_SUBACK);
	T_EQ(s[5], 0);
	T_EQ(feed(pub, publish5_pkt("al/x", "1", 0, 0, al, sizeof(al))), 0);
	T_EQ(feed(pub, publish5_pkt("", "2", 0, 0, al, 3)), 0);
	/* next() keeps one connection's bytes at a time: s3 first. */
	for (int i = 0; i < 2; i++) {
		T_EQ(next(s3, s).type, MQ_PUBLISH);
		T_EQ(s[3], 4); /* the full topic, no properties */
		T_STREQ(payload(s, &q, &pid), i ? "2" : "1");
	}
	for (int i = 0; i < 2; i++) {
		T_EQ(next(s5, s).type, MQ_PUBLISH);
		/* topic "al/x", then the properties: the first one's
		 * content type (the alias is per hop), none for the second */
		T_EQ(s[3], 4);
		if (i == 0) {
			T_EQ(s[8], 4);
			T_MEMEQ(s + 9, ((uint8_t[]) { 0x03, 0, 1, 'j' }), 4);
			T_EQ(s[13], '1');
		} else {
			T_EQ(s[8], 0);
			T_EQ(s[9], '2');
		}
	}
	mq_broker_free(&b);
}

T_TEST(v5_receive_maximum_bounds_window)
{
	mq_broker    *b = broker(); /* max_inflight 2 */
	const uint8_t rm[] = { 0x21, 0, 1 };
	mq_conn      *sub = client5(b, "rm", rm, sizeof(rm));
	mq_conn      *pub = client(b, "rmp", true);
	uint8_t       s[256];

	T_EQ(feed(sub,
	         frame(0x82,
	             &(struct pk) { .b = { 0, 1, 0, 0, 1, 'r', 1 }, .n = 7 })),
	    0);
	T_EQ(next(sub, s).type, MQ_SUBACK);
	T_EQ(feed(pub, publish_pkt("r", "a", 1, false, 1)), 0);
	T_EQ(feed(pub, publish_pkt("r", "b", 1, false, 2)), 0);
	T_EQ(next(sub, s).type, MQ_PUBLISH);
	T_EQ(next(sub, s).type, 0); /* Receive Maximum 1 */
	T_EQ(feed(sub, ack_pkt(0x40, (uint16_t) (s[5] << 8 | s[6]))), 0);
	T_EQ(next(sub, s).type, MQ_PUBLISH);
	mq_broker_free(&b);
}

/* Counts the PUBLISHes c got (draining it). */
static int
count_publish(mq_conn *c)
{
	uint8_t s[256];
	int     n = 0;

	while (next(c, s).type == MQ_PUBLISH)
		n++;
	return n;
}

/* MQTT 5.0 4.8.2, also for 3.1.1 clients: one member per message, round
 * robin; leaving the group; no retained messages; bad ShareNames. */
T_TEST(shared_group_round_robin)
{
	mq_broker *b = broker();
	mq_conn   *x = client(b, "x", true), *y = client(b, "y", true);
	mq_conn   *z = client(b, "z", true), *pub = client(b, "p", true);

	T_EQ(feed(pub, publish_pkt("t", "kept", 0, true, 0)), 0);
	subscribe(x, "$share/g/t", 0, 0);
	subscribe(y, "$share/g/t", 1, 1);
	subscribe(z, "$share//t", 0, 0x80);
	subscribe(z, "$share/g", 0, 0x80);
	subscribe(z, "$share/g+/t", 0, 0x80);
	T_EQ(count_publish(x), 0); /* no retained on a shared subscribe */
	T_EQ(count_publish(y), 0);
	for (int i = 0; i < 4; i++)
		T_EQ(feed(pub, publish_pkt("t", "m", 0, false, 0)), 0);
	T_EQ(count_publish(x), 2);
	T_EQ(count_publish(y), 2);
	T_EQ(mq_broker_unsubscribe(b, "x", 1, "$share/g/t", 10), 0);
	T_EQ(mq_broker_subscribe(b, "z", 1, "$share/g", 8, 0), -EINVAL);
	T_EQ(mq_broker_subscribe(b, "z", 1, "$share/h/t", 10, 0), 0);
	for (int i = 0; i < 3; i++)
		T_EQ(feed(pub, publish_pkt("t", "m", 0, false, 0)), 0);
	T_EQ(count_publish(x), 0);
	T_EQ(count_publish(y), 3);
	T_EQ(count_publish(z), 3); /* its own group h */
	/* Only the retained one, published before anyone subscribed. */
	T_EQ(mq_broker_metric(b, SHM_M_MESSAGES_DROPPED), 1);
	mq_broker_free(&b);
}

static const struct t_case cases[] = {
	T_ENTRY(connect_and_route_qos0),
	T_ENTRY(empty_id_rules),
	T_ENTRY(first_packet_must_be_connect),
	T_ENTRY(qos1_window_and_queue),
	T_ENTRY(qos2_inbound_released_on_pubrel),
	T_ENTRY(retained_set_replace_delete),
	T_ENTRY(takeover_keeps_persistent_session),
	T_ENTRY(will_on_abnormal_close_only),
	T_ENTRY(api_commands),
	T_ENTRY(v5_connack_properties),
	T_ENTRY(v5_malformed_gets_disconnect_0x81),
	T_ENTRY(v5_alias_and_properties_to_v3_and_v5),
	T_ENTRY(v5_receive_maximum_bounds_window),
	T_ENTRY(shared_group_round_robin),
};

T_MAIN(cases)
