/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mq_store_rec: our own record format inside the values of the LMDB
 * store (mq_store).  Pure functions: no I/O, no allocation, no broker
 * types, so the decoder is fuzzed alone (tests/fuzz/fuzz_mq_store_rec.c).
 *
 * A record is a 16-byte header and a body of items:
 *
 *   "MQR" | version (1) | type (1) | 0 0 0 | body length u32 | CRC-32C u32
 *   item*:  tag (1) | fields of the tag, little endian, lengths first
 *
 * LMDB keeps the bytes crash-safe; the header and checksum say whether
 * they are bytes we wrote (a flipped bit, a record of a future version, a
 * truncated value are refused with -EBADMSG), and every length and value
 * is bound-checked, so a damaged store yields an error, never a crash or
 * a message the broker could not have sent.
 *
 * Times are wall-clock milliseconds (CLOCK_REALTIME): a record outlives
 * the process whose monotonic clock the broker uses in memory.
 */
#ifndef MQ_STORE_REC_H
#define MQ_STORE_REC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MQ_REC_VERSION 1
#define MQ_REC_HDR     16

/*
 * Store format 1 kept a session's queue and window messages inside its
 * SESSION record (QUEUED, INFLIGHT with the message); format 2 keeps one
 * MESSAGE record per queued or in-flight message and in the session only
 * WINDOW entries naming them by sequence number, so a commit writes what
 * changed, not the whole queue.  The decoder reads both; the broker
 * writes format 2 only (mq_persist converts a format-1 store at start).
 */
enum mq_rec_type {
	MQ_REC_RETAINED = 1,
	MQ_REC_SESSION = 2,
	MQ_REC_MESSAGE = 3, /* format 2: one queued / in-flight message */
};

enum mq_rec_tag {
	MQ_REC_T_MSG = 1,  /* retained: the message */
	MQ_REC_T_SESS = 2, /* session: first item */
	MQ_REC_T_SUB = 3,
	MQ_REC_T_INFLIGHT = 4, /* outgoing QoS 1/2 window entry */
	MQ_REC_T_QUEUED = 5,
	MQ_REC_T_AWREL = 6, /* incoming QoS 2 id awaiting PUBREL */
	MQ_REC_T_WILL = 7,  /* v5 delayed will */
	/* format 2 */
	MQ_REC_T_WINDOW = 8, /* window entry; its message by seq (not in
	                        PUBCOMP state: seq 0, no message) */
	MQ_REC_T_QMSG = 9,   /* a MESSAGE record's one item */
};

/* A message as stored: views into the record. */
struct mq_rec_msg {
	const char    *topic;
	const uint8_t *payload, *props;
	uint32_t       payload_len, props_len;
	uint16_t       topic_len;
	uint8_t        qos;
	bool           retain;
	uint64_t       expire_wall_ms; /* 0: never */
};

/* One decoded item; which members mean something depends on tag. */
struct mq_rec_item {
	uint8_t tag;
	/* SESS */
	const char *id;
	uint16_t    id_len;
	bool        v5;
	uint32_t    expiry_s;
	uint64_t deadline_wall_ms; /* offline since: expires then; 0 online */
	int64_t  created_at;       /* seconds */
	uint16_t next_pid;
	/* SUB */
	const char *filter;
	uint16_t    filter_len;
	uint8_t     qos, opts;
	uint32_t    sub_id;
	/* INFLIGHT (state: 1 PUBACK, 2 PUBREC, 3 PUBCOMP), AWREL */
	uint16_t pid;
	uint8_t  state;
	bool     has_msg; /* INFLIGHT in PUBCOMP state has none */
	/* QUEUED, QMSG: retain flag for delivery is in msg.retain */
	/* WINDOW, QMSG (with id, qos, sub_id): the message's number in its
	 * session, > 0, increasing in queue order */
	uint64_t seq;
	/* WILL */
	uint64_t          will_at_wall_ms;
	struct mq_rec_msg msg;
};

/* A writer into a caller's growable buffer. */
struct mq_rec_w {
	uint8_t *p;
	size_t   len, cap;
	size_t   start; /* where the record being written begins */
	int      err;   /* sticky -ENOMEM / -EINVAL */
};

void mq_rec_w_init(struct mq_rec_w *w);
void mq_rec_w_fini(struct mq_rec_w *w);
/* Starts a record at w->len (records may follow each other in w). */
void mq_rec_begin(struct mq_rec_w *w, enum mq_rec_type type);
void mq_rec_put(struct mq_rec_w *w, const struct mq_rec_item *it);
/* Seals the record (length, checksum); returns its size or -errno. */
long mq_rec_end(struct mq_rec_w *w);

/* A reader over one record. */
struct mq_rec_rd {
	const uint8_t *p;
	size_t         len, off;
	uint8_t        type;
};

/*
 * Checks header, version, length and checksum.  0, or -EBADMSG (damaged),
 * -EPROTO (a version newer than ours: written by a later mqttd).
 */
int mq_rec_open(struct mq_rec_rd *r, const void *buf, size_t len);
/*
 * The next item: 1, 0 at the end, -EBADMSG for anything out of bounds or
 * out of range (unknown tag, QoS 3, empty or invalid topic / filter, a
 * session record not starting with SESS, a message record that is not
 * exactly one QMSG, ...).
 */
int mq_rec_next(struct mq_rec_rd *r, struct mq_rec_item *it);
/* Opens and walks a whole record: 0 when every item is valid. */
int mq_rec_check(const void *buf, size_t len, uint8_t *type);

uint32_t mq_rec_crc32c(uint32_t crc, const void *p, size_t n);

#endif
