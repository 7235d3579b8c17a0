/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for broker/mq_store_rec: the records the broker writes into
 * its store and trusts after a restart.  What is written reads back item
 * by item; a record that is not exactly what the encoder writes (a
 * flipped bit, a cut, a newer version, an out-of-range field behind a
 * valid checksum) is refused, never half-read.
 */
#include "config.h"

#include "broker/mq_store_rec.h"
#include "tests/harness/t.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

/* CRC-32C one bit at a time: the definition the fast paths must meet. */
static uint32_t
crc_ref(const uint8_t *p, size_t n)
{
	uint32_t c = 0xffffffffu;

	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
	}
	return ~c;
}

static void
put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t) (v >> (8 * i));
}

/* A header with a valid length and checksum around body. */
static size_t
seal(uint8_t *out, uint8_t version, uint8_t type, const void *body, size_t n)
{
	memset(out, 0, MQ_REC_HDR);
	memcpy(out, "MQR", 3);
	out[3] = version;
	out[4] = type;
	memcpy(out + MQ_REC_HDR, body, n);
	put32(out + 8, (uint32_t) n);
	put32(out + 12, mq_rec_crc32c(0, out + MQ_REC_HDR, n));
	return MQ_REC_HDR + n;
}

static struct mq_rec_msg
msg(const char *topic, const char *payload, uint8_t qos)
{
	static const uint8_t props[] = { 0x02, 0, 0, 0, 60 }; /* expiry 60 */
	struct mq_rec_msg    m = {
		   .topic = topic,
		   .topic_len = (uint16_t) strlen(topic),
		   .payload = (const uint8_t *) payload,
		   .payload_len = (uint32_t) strlen(payload),
		   .props = props,
		   .props_len = sizeof(props),
		   .qos = qos,
		   .retain = true,
		   .expire_wall_ms = 1765000000000ull,
	};
	return m;
}

static void
msg_eq(const struct mq_rec_msg *a, const struct mq_rec_msg *b)
{
	T_EQ(a->topic_len, b->topic_len);
	T_MEMEQ(a->topic, b->topic, a->topic_len);
	T_EQ(a->payload_len, b->payload_len);
	T_MEMEQ(a->payload, b->payload, a->payload_len);
	T_EQ(a->props_len, b->props_len);
	T_MEMEQ(a->props, b->props, a->props_len);
	T_EQ(a->qos, b->qos);
	T_EQ(a->retain, b->retain);
	T_EQ(a->expire_wall_ms, b->expire_wall_ms);
}

/* Every item a session record can hold, in the order the broker writes
 * them. */
static const struct mq_rec_item *
session_items(size_t *n)
{
	static struct mq_rec_item it[8];

	memset(it, 0, sizeof(it));
	it[0] = (struct mq_rec_item) { .tag = MQ_REC_T_SESS,
		.id = "client-1",
		.id_len = 8,
		.v5 = true,
		.expiry_s = 3600,
		.deadline_wall_ms = 1765000123456ull,
		.created_at = 1764999999,
		.next_pid = 65535 };
	it[1] = (struct mq_rec_item) { .tag = MQ_REC_T_SUB,
		.filter = "$share/g/a/+/#",
		.filter_len = 14,
		.qos = 2,
		.opts = 0x80 | 0x04,
		.sub_id = 268435455 };
	it[2] = (struct mq_rec_item) { .tag = MQ_REC_T_INFLIGHT,
		.pid = 7,
		.state = 1,
		.qos = 1,
		.has_msg = true,
		.msg = msg("a/b", "one", 1) };
	it[3] = (struct mq_rec_item) {
		.tag = MQ_REC_T_INFLIGHT, .pid = 8, .state = 3, .qos = 2
	};
	it[4] = (struct mq_rec_item) { .tag = MQ_REC_T_QUEUED,
		.qos = 0,
		.sub_id = 5,
		.msg = msg("a/c", "", 0) };
	it[5] = (struct mq_rec_item) {
		.tag = MQ_REC_T_AWREL, .pid = 9, .msg = msg("x/y", "two", 2)
	};
	it[6] = (struct mq_rec_item) { .tag = MQ_REC_T_WILL,
		.will_at_wall_ms = 1765000000999ull,
		.msg = msg("will/t", "bye", 1) };
	*n = 7;
	return it;
}

static long
write_session(struct mq_rec_w *w)
{
	size_t                    n;
	const struct mq_rec_item *it = session_items(&n);

	mq_rec_begin(w, MQ_REC_SESSION);
	for (size_t i = 0; i < n; i++)
		mq_rec_put(w, &it[i]);
	return mq_rec_end(w);
}

T_TEST(crc32c_matches_the_definition)
{
	uint8_t buf[300];

	/* The check value of CRC-32C (RFC 3720, B.4). */
	T_EQ(mq_rec_crc32c(0, "123456789", 9), 0xE3069283u);
	T_EQ(mq_rec_crc32c(0, "", 0), 0);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t) (i * 37 + 11);
	/* Every length and alignment (the fast path takes 8 at a time). */
	for (size_t off = 0; off < 8; off++)
		for (size_t n = 0; n + off <= 100; n++)
			T_EQ(mq_rec_crc32c(0, buf + off, n),
			    crc_ref(buf + off, n));
	/* Incremental: crc(a) then b is crc(ab). */
	T_EQ(mq_rec_crc32c(mq_rec_crc32c(0, buf, 123), buf + 123, 177),
	    crc_ref(buf, 300));
}

T_TEST(retained_round_trip)
{
	struct mq_rec_w    w;
	struct mq_rec_rd   r;
	struct mq_rec_item it = { .tag = MQ_REC_T_MSG }, got;
	uint8_t            type = 0;
	long               n;

	it.msg = msg("sensors/1/temp", "21.5", 1);
	mq_rec_w_init(&w);
	mq_rec_begin(&w, MQ_REC_RETAINED);
	mq_rec_put(&w, &it);
	n = mq_rec_end(&w);
	T_ASSERT(n > MQ_REC_HDR);
	T_EQ(n, (long) w.len);
	T_MEMEQ(w.p, "MQR", 3);
	T_EQ(w.p[3], MQ_REC_VERSION);
	T_EQ(mq_rec_check(w.p, (size_t) n, &type), 0);
	T_EQ(type, MQ_REC_RETAINED);
	T_EQ(mq_rec_open(&r, w.p, (size_t) n), 0);
	T_EQ(r.type, MQ_REC_RETAINED);
	T_EQ(mq_rec_next(&r, &got), 1);
	T_EQ(got.tag, MQ_REC_T_MSG);
	msg_eq(&got.msg, &it.msg);
	T_EQ(mq_rec_next(&r, &got), 0);
	mq_rec_w_fini(&w);
}

T_TEST(session_round_trip_every_item)
{
	struct mq_rec_w           w;
	struct mq_rec_rd          r;
	struct mq_rec_item        got;
	size_t                    n;
	const struct mq_rec_item *want;
	long                      len;

	mq_rec_w_init(&w);
	len = write_session(&w);
	want = session_items(&n);
	T_ASSERT(len > 0);
	T_EQ(mq_rec_open(&r, w.p, (size_t) len), 0);
	T_EQ(r.type, MQ_REC_SESSION);
	for (size_t i = 0; i < n; i++) {
		T_EQ(mq_rec_next(&r, &got), 1);
		T_EQ(got.tag, want[i].tag);
		switch (got.tag) {
		case MQ_REC_T_SESS:
			T_EQ(got.id_len, want[i].id_len);
			T_MEMEQ(got.id, want[i].id, got.id_len);
			T_EQ(got.v5, true);
			T_EQ(got.expiry_s, 3600);
			T_EQ(got.deadline_wall_ms, want[i].deadline_wall_ms);
			T_EQ(got.created_at, want[i].created_at);
			T_EQ(got.next_pid, 65535);
			break;
		case MQ_REC_T_SUB:
			T_EQ(got.filter_len, want[i].filter_len);
			T_MEMEQ(got.filter, want[i].filter, got.filter_len);
			T_EQ(got.qos, 2);
			T_EQ(got.opts, want[i].opts);
			T_EQ(got.sub_id, want[i].sub_id);
			break;
		case MQ_REC_T_INFLIGHT:
			T_EQ(got.pid, want[i].pid);
			T_EQ(got.state, want[i].state);
			T_EQ(got.qos, want[i].qos);
			T_EQ(got.has_msg, want[i].has_msg);
			if (got.has_msg)
				msg_eq(&got.msg, &want[i].msg);
			break;
		case MQ_REC_T_QUEUED:
			T_EQ(got.qos, 0);
			T_EQ(got.sub_id, 5);
			msg_eq(&got.msg, &want[i].msg);
			break;
		case MQ_REC_T_AWREL:
			T_EQ(got.pid, 9);
			msg_eq(&got.msg, &want[i].msg);
			break;
		case MQ_REC_T_WILL:
			T_EQ(got.will_at_wall_ms, want[i].will_at_wall_ms);
			msg_eq(&got.msg, &want[i].msg);
			break;
		default:
			T_FAIL_AT("unexpected tag %d", got.tag);
		}
	}
	T_EQ(mq_rec_next(&r, &got), 0);
	mq_rec_w_fini(&w);
}

T_TEST(records_follow_each_other_in_one_writer)
{
	struct mq_rec_w    w;
	struct mq_rec_item it = { .tag = MQ_REC_T_MSG };
	long               a, b;

	mq_rec_w_init(&w);
	a = write_session(&w);
	it.msg = msg("t", "p", 0);
	mq_rec_begin(&w, MQ_REC_RETAINED);
	mq_rec_put(&w, &it);
	b = mq_rec_end(&w);
	T_ASSERT(a > 0 && b > 0);
	T_EQ((size_t) (a + b), w.len);
	T_EQ(mq_rec_check(w.p, (size_t) a, NULL), 0);
	T_EQ(mq_rec_check(w.p + a, (size_t) b, NULL), 0);
	/* Two records are not one. */
	T_EQ(mq_rec_check(w.p, w.len, NULL), -EBADMSG);
	mq_rec_w_fini(&w);
}

T_TEST(every_flipped_bit_is_refused)
{
	struct mq_rec_w w;
	long            n;

	mq_rec_w_init(&w);
	n = write_session(&w);
	T_ASSERT(n > 0);
	for (long i = 0; i < n; i++) {
		for (int bit = 0; bit < 8; bit++) {
			int rc;

			w.p[i] ^= (uint8_t) (1u << bit);
			rc = mq_rec_check(w.p, (size_t) n, NULL);
			/* A flip in the version byte may read as newer. */
			if (rc != -EBADMSG && !(i == 3 && rc == -EPROTO))
				T_FAIL_AT(
				    "flip at %ld bit %d: %d", i, bit, rc);
			w.p[i] ^= (uint8_t) (1u << bit);
		}
	}
	T_EQ(mq_rec_check(w.p, (size_t) n, NULL), 0);
	mq_rec_w_fini(&w);
}

T_TEST(every_cut_is_refused)
{
	struct mq_rec_w w;
	long            n;

	mq_rec_w_init(&w);
	n = write_session(&w);
	for (long cut = 0; cut < n; cut++)
		T_EQ(mq_rec_check(w.p, (size_t) cut, NULL), -EBADMSG);
	mq_rec_w_fini(&w);
}

T_TEST(versions)
{
	struct mq_rec_w w;
	long            n;

	mq_rec_w_init(&w);
	n = write_session(&w);
	w.p[3] = MQ_REC_VERSION + 1; /* a later mqttd wrote it */
	T_EQ(mq_rec_check(w.p, (size_t) n, NULL), -EPROTO);
	w.p[3] = 0;
	T_EQ(mq_rec_check(w.p, (size_t) n, NULL), -EBADMSG);
	w.p[3] = MQ_REC_VERSION;
	w.p[4] = 9; /* unknown type */
	T_EQ(mq_rec_check(w.p, (size_t) n, NULL), -EBADMSG);
	w.p[4] = MQ_REC_SESSION;
	w.p[6] = 1; /* reserved */
	T_EQ(mq_rec_check(w.p, (size_t) n, NULL), -EBADMSG);
	mq_rec_w_fini(&w);
}

/* A body behind a valid header and checksum: only the item checks can
 * refuse it. */
static int
check_body(uint8_t type, const uint8_t *body, size_t n)
{
	uint8_t rec[256];

	T_ASSERT(MQ_REC_HDR + n <= sizeof(rec));
	return mq_rec_check(
	    rec, seal(rec, MQ_REC_VERSION, type, body, n), NULL);
}

T_TEST(sealed_garbage_is_refused_by_the_items)
{
	/* MSG: qos, retain, expiry u64, topic u16+bytes, payload u32+bytes,
	 * props u32+bytes. */
	static const uint8_t good[] = { 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0,
		't', 1, 0, 0, 0, 'p', 0, 0, 0, 0 };
	uint8_t              body[64];

	T_EQ(check_body(MQ_REC_RETAINED, good, sizeof(good)), 0);
	memcpy(body, good, sizeof(good));
	body[1] = 3; /* QoS 3 */
	T_EQ(check_body(MQ_REC_RETAINED, body, sizeof(good)), -EBADMSG);
	memcpy(body, good, sizeof(good));
	body[2] = 2; /* retain flag is 0 or 1 */
	T_EQ(check_body(MQ_REC_RETAINED, body, sizeof(good)), -EBADMSG);
	memcpy(body, good, sizeof(good));
	body[13] = '+'; /* a topic name has no wildcards */
	T_EQ(check_body(MQ_REC_RETAINED, body, sizeof(good)), -EBADMSG);
	memcpy(body, good, sizeof(good));
	body[14] = 200; /* payload length past the end */
	T_EQ(check_body(MQ_REC_RETAINED, body, sizeof(good)), -EBADMSG);
	memcpy(body, good, sizeof(good));
	body[0] = 99; /* unknown tag */
	T_EQ(check_body(MQ_REC_RETAINED, body, sizeof(good)), -EBADMSG);
	/* A retained record is one MSG: not two, not a trailing byte. */
	memcpy(body, good, sizeof(good));
	memcpy(body + sizeof(good), good, sizeof(good));
	T_EQ(check_body(MQ_REC_RETAINED, body, 2 * sizeof(good)), -EBADMSG);
	T_EQ(check_body(MQ_REC_RETAINED, body, sizeof(good) + 1), -EBADMSG);
	/* A session record must start with SESS. */
	T_EQ(check_body(MQ_REC_SESSION, good, sizeof(good)), -EBADMSG);
	/* Nothing is empty. */
	T_EQ(check_body(MQ_REC_RETAINED, body, 0), -EBADMSG);
}

T_TEST(sealed_session_fields_out_of_range)
{
	/* SESS: v5, expiry u32, deadline u64, created u64, next_pid u16,
	 * id u16+bytes. */
	static const uint8_t sess[] = { 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 'c' };
	/* INFLIGHT in PUBCOMP state: pid u16, state, qos, sub_id u32,
	 * has_msg. */
	static const uint8_t comp[] = { 4, 5, 0, 3, 2, 0, 0, 0, 0, 0 };
	uint8_t              body[64];
	size_t               n = sizeof(sess);

	T_EQ(check_body(MQ_REC_SESSION, sess, n), 0);
	memcpy(body, sess, n);
	memcpy(body + n, comp, sizeof(comp));
	T_EQ(check_body(MQ_REC_SESSION, body, n + sizeof(comp)), 0);
	body[n + 1] = 0; /* packet id 0 */
	body[n + 2] = 0;
	T_EQ(check_body(MQ_REC_SESSION, body, n + sizeof(comp)), -EBADMSG);
	memcpy(body + n, comp, sizeof(comp));
	body[n + 3] = 4; /* no state 4 */
	T_EQ(check_body(MQ_REC_SESSION, body, n + sizeof(comp)), -EBADMSG);
	memcpy(body + n, comp, sizeof(comp));
	body[n + 9] = 1; /* PUBCOMP keeps no message */
	T_EQ(check_body(MQ_REC_SESSION, body, n + sizeof(comp)), -EBADMSG);
	/* Two SESS items. */
	memcpy(body, sess, n);
	memcpy(body + n, sess, n);
	T_EQ(check_body(MQ_REC_SESSION, body, 2 * n), -EBADMSG);
	memcpy(body, sess, n);
	body[22] = 0; /* next packet id 0 */
	T_EQ(check_body(MQ_REC_SESSION, body, n), -EBADMSG);
	memcpy(body, sess, n);
	body[24] = 0; /* empty client id */
	T_EQ(check_body(MQ_REC_SESSION, body, n - 1), -EBADMSG);
}

/* Format 2: window entries name their message; a message record is one
 * QMSG. */
T_TEST(format2_window_and_message_round_trip)
{
	struct mq_rec_w    w;
	struct mq_rec_rd   r;
	struct mq_rec_item it[3], got;
	long               len;

	memset(it, 0, sizeof(it));
	it[0] = (struct mq_rec_item) {
		.tag = MQ_REC_T_SESS, .id = "c", .id_len = 1, .next_pid = 3
	};
	it[1] = (struct mq_rec_item) { .tag = MQ_REC_T_WINDOW,
		.pid = 1,
		.state = 1,
		.qos = 1,
		.sub_id = 9,
		.seq = 0x0102030405060708ull };
	it[2] = (struct mq_rec_item) {
		.tag = MQ_REC_T_WINDOW, .pid = 2, .state = 3, .qos = 2
	};
	mq_rec_w_init(&w);
	mq_rec_begin(&w, MQ_REC_SESSION);
	for (int i = 0; i < 3; i++)
		mq_rec_put(&w, &it[i]);
	len = mq_rec_end(&w);
	T_ASSERT(len > 0);
	T_EQ(mq_rec_open(&r, w.p, (size_t) len), 0);
	T_EQ(mq_rec_next(&r, &got), 1);
	for (int i = 1; i < 3; i++) {
		T_EQ(mq_rec_next(&r, &got), 1);
		T_EQ(got.tag, MQ_REC_T_WINDOW);
		T_EQ(got.pid, it[i].pid);
		T_EQ(got.state, it[i].state);
		T_EQ(got.qos, it[i].qos);
		T_EQ(got.sub_id, it[i].sub_id);
		T_EQ(got.seq, it[i].seq);
	}
	T_EQ(mq_rec_next(&r, &got), 0);

	w.len = 0;
	it[0] = (struct mq_rec_item) { .tag = MQ_REC_T_QMSG,
		.id = "client-1",
		.id_len = 8,
		.seq = 42,
		.qos = 1,
		.sub_id = 7,
		.msg = msg("a/b", "payload", 2) };
	it[0].msg.retain = true;
	mq_rec_begin(&w, MQ_REC_MESSAGE);
	mq_rec_put(&w, &it[0]);
	len = mq_rec_end(&w);
	T_ASSERT(len > 0);
	T_EQ(mq_rec_open(&r, w.p, (size_t) len), 0);
	T_EQ(r.type, MQ_REC_MESSAGE);
	T_EQ(mq_rec_next(&r, &got), 1);
	T_EQ(got.tag, MQ_REC_T_QMSG);
	T_EQ(got.id_len, 8);
	T_MEMEQ(got.id, "client-1", 8);
	T_EQ(got.seq, 42);
	T_EQ(got.qos, 1);
	T_EQ(got.sub_id, 7);
	msg_eq(&got.msg, &it[0].msg);
	T_EQ(mq_rec_next(&r, &got), 0);
	/* A message record holds exactly one QMSG, nothing else. */
	w.len = 0;
	mq_rec_begin(&w, MQ_REC_MESSAGE);
	mq_rec_put(&w, &it[0]);
	mq_rec_put(&w, &it[0]);
	len = mq_rec_end(&w);
	T_EQ(mq_rec_check(w.p, (size_t) len, NULL), -EBADMSG);
	w.len = 0;
	mq_rec_begin(&w, MQ_REC_SESSION); /* nor in a session */
	mq_rec_put(&w, &it[0]);
	len = mq_rec_end(&w);
	T_EQ(mq_rec_check(w.p, (size_t) len, NULL), -EBADMSG);
	mq_rec_w_fini(&w);
}

T_TEST(sealed_format2_fields_out_of_range)
{
	static const uint8_t sess[] = { 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 'c' };
	/* WINDOW: pid u16, state, qos, sub_id u32, seq u64. */
	static const uint8_t win[]
	    = { 8, 5, 0, 1, 1, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0 };
	/* QMSG: id u16+bytes, seq u64, qos, sub_id u32, MSG. */
	static const uint8_t qm[]
	    = { 9, 1, 0, 'c', 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0,
		      0, 0, 0, 0, 0, 0, 0, 1, 0, 't', 0, 0, 0, 0, 0, 0, 0, 0 };
	uint8_t body[96];
	size_t  n = sizeof(sess);

	memcpy(body, sess, n);
	memcpy(body + n, win, sizeof(win));
	T_EQ(check_body(MQ_REC_SESSION, body, n + sizeof(win)), 0);
	body[n + 9] = 0; /* PUBACK state names a message: seq 0 is none */
	T_EQ(check_body(MQ_REC_SESSION, body, n + sizeof(win)), -EBADMSG);
	body[n + 3] = 3; /* PUBCOMP with seq 0: fine */
	T_EQ(check_body(MQ_REC_SESSION, body, n + sizeof(win)), 0);
	body[n + 9] = 3; /* PUBCOMP naming a message */
	T_EQ(check_body(MQ_REC_SESSION, body, n + sizeof(win)), -EBADMSG);
	memcpy(body + n, win, sizeof(win));
	body[n + 4] = 0; /* window entries are QoS 1 or 2 */
	T_EQ(check_body(MQ_REC_SESSION, body, n + sizeof(win)), -EBADMSG);

	T_EQ(check_body(MQ_REC_MESSAGE, qm, sizeof(qm)), 0);
	memcpy(body, qm, sizeof(qm));
	body[4] = 0; /* seq 0 */
	T_EQ(check_body(MQ_REC_MESSAGE, body, sizeof(qm)), -EBADMSG);
	memcpy(body, qm, sizeof(qm));
	body[12] = 3; /* delivery QoS 3 */
	T_EQ(check_body(MQ_REC_MESSAGE, body, sizeof(qm)), -EBADMSG);
	memcpy(body, qm, sizeof(qm));
	body[1] = 0; /* empty client id */
	T_EQ(check_body(MQ_REC_MESSAGE, body, sizeof(qm)), -EBADMSG);
	/* A message record does not start with SESS. */
	T_EQ(check_body(MQ_REC_MESSAGE, sess, n), -EBADMSG);
}

T_TEST(writer_refuses_an_unknown_item)
{
	struct mq_rec_w    w;
	struct mq_rec_item it = { .tag = 42 };

	mq_rec_w_init(&w);
	mq_rec_begin(&w, MQ_REC_RETAINED);
	mq_rec_put(&w, &it);
	T_EQ(mq_rec_end(&w), -EINVAL);
	mq_rec_w_fini(&w);
}

static const struct t_case cases[] = {
	T_ENTRY(crc32c_matches_the_definition),
	T_ENTRY(retained_round_trip),
	T_ENTRY(session_round_trip_every_item),
	T_ENTRY(records_follow_each_other_in_one_writer),
	T_ENTRY(every_flipped_bit_is_refused),
	T_ENTRY(every_cut_is_refused),
	T_ENTRY(versions),
	T_ENTRY(sealed_garbage_is_refused_by_the_items),
	T_ENTRY(sealed_session_fields_out_of_range),
	T_ENTRY(format2_window_and_message_round_trip),
	T_ENTRY(sealed_format2_fields_out_of_range),
	T_ENTRY(writer_refuses_an_unknown_item),
};

T_MAIN(cases)
