/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mq_persist: what the broker keeps in its store (mq_store) and when it
 * may say so.
 *
 * Retained messages are staged as they change (one record per topic).
 * A persistent session's queued and in-flight messages are one record
 * each (store format 2), staged when the message enters the queue or the
 * window and deleted when it leaves (delivered at QoS 0, acked, dropped),
 * so a commit writes what changed, not a queue of tens of thousands.
 * The session's own record (subscriptions, expiry, window entries naming
 * their messages by seq, awaiting PUBREL, will) is marked when that state
 * changes and written once per batch handed to the store thread.  Clean
 * sessions are never stored.
 *
 * Acknowledgement follows durability: while a connection's packet is
 * handled (mq_proto's handle() sets b->store_mark), any durable change
 * bumps b->store_changes; a PUBACK / PUBREC / PUBCOMP written after such a
 * change waits, tagged with the batch that will hold the change, and so
 * does every later ack of that connection (acks keep their order).  When
 * the batch is committed they go out; when it failed (disk full) a v5
 * client gets 0x97 (quota exceeded) in its PUBACK / PUBREC and any other
 * waiter is disconnected.
 */
#include "config.h"

#include "broker/mq_int.h"
#include "broker/mq_store.h"
#include "broker/mq_store_rec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>

struct dack {
	mq_conn *c; /* NULL once the connection is gone */
	uint64_t batch;
	uint16_t pid;
	uint8_t  type, rc;
};

struct mq_persist {
	mq_store       *st;
	struct mq_rec_w w;
	mq_session     *dirty; /* by next_sdirty */
	struct dack    *q;     /* FIFO ring of waiting acks */
	size_t          head, len, cap;
	bool            releasing, loading;
	int             format; /* of the store being loaded */
	uint64_t        full_logged_ms, full_since_log;
	uint64_t        sessions_loaded, retained_loaded, messages_loaded;
	uint64_t        expired, orphans;
	mq_session     *last; /* loading messages: the session of the last */
};

static void mirror(mq_broker *b);

static int64_t
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Monotonic deadline <-> wall clock, for records that outlive us. */
static uint64_t
to_wall(uint64_t mono)
{
	int64_t w = wall_ms() + ((int64_t) mono - (int64_t) mq_now_ms());

	return w > 0 ? (uint64_t) w : 1;
}

static uint64_t
to_mono(uint64_t wall)
{
	int64_t m = (int64_t) mq_now_ms() + ((int64_t) wall - wall_ms());

	return m > 0 ? (uint64_t) m : 1;
}

static struct mq_rec_msg
rec_msg(const mq_msg *m, bool retain, bool raw_expiry)
{
	struct mq_rec_msg r = {
		.topic = mq_msg_topic(m),
		.topic_len = m->topic_len,
		.payload = mq_msg_payload(m),
		.payload_len = m->payload_len,
		.props = mq_msg_props(m),
		.props_len = m->props_len,
		.qos = m->qos,
		.retain = retain,
		.expire_wall_ms = m->expire_at == 0 || raw_expiry
		    ? m->expire_at
		    : to_wall(m->expire_at),
	};
	return r;
}

/* NULL when it expired (or no memory: then it is lost, and logged). */
static mq_msg *
msg_from(const struct mq_rec_msg *r, bool raw_expiry)
{
	uint64_t exp = r->expire_wall_ms;
	mq_msg  *m;

	if (exp != 0 && !raw_expiry) {
		if ((int64_t) exp <= wall_ms())
			return NULL;
		exp = to_mono(exp);
	}
	m = mq__msg_new5(r->topic, r->topic_len, r->payload, r->payload_len,
	    r->qos, r->retain, r->props, r->props_len, exp);
	if (m == NULL)
		mq_err("store: out of memory loading a message");
	return m;
}

/* ---- writing ---- */

void
mq__persist_retained(
    mq_broker *b, const char *topic, uint16_t len, const mq_msg *m)
{
	struct mq_persist *P = b->persist;
	struct mq_rec_item it = { .tag = MQ_REC_T_MSG };
	long               n;

	/* $SYS is published again by every broker that starts. */
	if (P == NULL || P->loading
	    || (len >= 5 && memcmp(topic, "$SYS/", 5) == 0))
		return;
	b->store_changes++;
	if (m == NULL) {
		mq_store_del(P->st, MQ_STORE_RETAINED, topic, len);
		return;
	}
	it.msg = rec_msg(m, true, false);
	P->w.len = 0;
	mq_rec_begin(&P->w, MQ_REC_RETAINED);
	mq_rec_put(&P->w, &it);
	n = mq_rec_end(&P->w);
	if (n > 0)
		mq_store_put(
		    P->st, MQ_STORE_RETAINED, topic, len, P->w.p, (size_t) n);
}

void
mq__persist_session_mark(mq_session *s)
{
	struct mq_persist *P = s->b->persist;

	if (P->loading)
		return;
	s->b->store_changes++;
	if (!s->sdirty) {
		s->sdirty = true;
		s->next_sdirty = P->dirty;
		P->dirty = s;
	}
}

static void
dirty_unlink(struct mq_persist *P, mq_session *s)
{
	mq_session **pp = &P->dirty;

	for (; *pp != NULL; pp = &(*pp)->next_sdirty) {
		if (*pp == s) {
			*pp = s->next_sdirty;
			break;
		}
	}
	s->sdirty = false;
}

void
mq__persist_session_gone(mq_session *s)
{
	struct mq_persist *P = s->b->persist;

	if (P == NULL)
		return;
	if (s->sdirty)
		dirty_unlink(P, s);
	if (s->stored) {
		s->b->store_changes++;
		mq_store_del(P->st, MQ_STORE_SESSIONS, s->id, s->id_len);
		mq_store_del_msgs(P->st, s->id, s->id_len);
	}
}

/* The record of a queued / in-flight message (retain: its delivery's). */
static int
msg_write(struct mq_persist *P, mq_session *s, uint64_t seq, const mq_msg *m,
    uint8_t qos, bool retain, uint32_t sub_id)
{
	struct mq_rec_item it = { .tag = MQ_REC_T_QMSG,
		.id = s->id,
		.id_len = s->id_len,
		.seq = seq,
		.qos = qos,
		.sub_id = sub_id,
		.msg = rec_msg(m, retain, false) };
	long               n;

	P->w.len = 0;
	mq_rec_begin(&P->w, MQ_REC_MESSAGE);
	mq_rec_put(&P->w, &it);
	n = mq_rec_end(&P->w);
	if (n < 0)
		return (int) n;
	return mq_store_put_msg(
	    P->st, s->id, s->id_len, seq, P->w.p, (size_t) n);
}

uint64_t
mq__persist_msg_put(
    mq_session *s, const mq_msg *m, uint8_t qos, bool retain, uint32_t sub_id)
{
	struct mq_persist *P = s->b->persist;
	uint64_t           seq;
	int                rc;

	if (P->loading)
		return 0; /* a format-1 store: numbered once loaded */
	if (s->next_seq == 0)
		s->next_seq = 1;
	seq = s->next_seq++;
	rc = msg_write(P, s, seq, m, qos, retain, sub_id);
	if (rc < 0) {
		mq_err("store: a message of session %.*s not written: %s",
		    (int) s->id_len, s->id, strerror(-rc));
		return 0;
	}
	s->b->store_changes++;
	s->stored = true;
	return seq;
}

void
mq__persist_msg_del(mq_session *s, uint64_t seq)
{
	mq_store_del_msg(s->b->persist->st, s->id, s->id_len, seq);
}

static void
put_msg_item(
    struct mq_rec_w *w, struct mq_rec_item *it, const mq_msg *m, bool retain)
{
	it->msg = rec_msg(m, retain, false);
	mq_rec_put(w, it);
}

/* The session's own state; its messages are records of their own. */
static void
session_write(struct mq_persist *P, mq_session *s)
{
	struct mq_rec_w   *w = &P->w;
	mq_broker         *b = s->b;
	struct mq_rec_item it = {
		.tag = MQ_REC_T_SESS,
		.id = s->id,
		.id_len = s->id_len,
		.v5 = s->v5,
		.expiry_s = s->expiry_s,
		.created_at = s->created_at,
		.next_pid = s->next_pid,
	};
	long n;

	if (s->clean) /* became clean (v5 DISCONNECT with expiry 0) */
		return;
	if (s->conn == NULL && mq_timer_armed(&s->expiry))
		it.deadline_wall_ms = to_wall(s->expiry.deadline);
	w->len = 0;
	mq_rec_begin(w, MQ_REC_SESSION);
	mq_rec_put(w, &it);
	for (struct mq_sub *sub = s->subs; sub != NULL; sub = sub->next) {
		it = (struct mq_rec_item) { .tag = MQ_REC_T_SUB,
			.qos = sub->qos,
			.opts = sub->opts,
			.sub_id = sub->sub_id,
			.filter = sub->filter,
			.filter_len = sub->len };
		mq_rec_put(w, &it);
	}
	for (uint16_t i = 0; i < s->if_span; i++) {
		const struct mq_inflight *f
		    = &s->inf[(s->if_head + i) % s->if_cap];

		/* An entry whose message has no record (none could be
		 * written) is not kept: after a restart it is gone. */
		if (f->state == MQ_IF_DONE
		    || (f->state != MQ_IF_PUBCOMP && f->seq == 0))
			continue;
		it = (struct mq_rec_item) { .tag = MQ_REC_T_WINDOW,
			.pid = f->pid,
			.state = f->state,
			.qos = f->qos,
			.sub_id = f->sub_id,
			.seq = f->state == MQ_IF_PUBCOMP ? 0 : f->seq };
		mq_rec_put(w, &it);
	}
	for (uint16_t i = 0; i < s->aw_len; i++) {
		it = (struct mq_rec_item) { .tag = MQ_REC_T_AWREL,
			.pid = s->aw[i].pid };
		put_msg_item(w, &it, s->aw[i].msg, s->aw[i].msg->retain);
	}
	if (s->will != NULL) {
		/* A will's expire_at is its Message Expiry + 1 in seconds
		 * until it is published (mq__will_pub): kept as it is. */
		it = (struct mq_rec_item) { .tag = MQ_REC_T_WILL,
			.will_at_wall_ms = to_wall(s->will_timer.deadline) };
		it.msg = rec_msg(s->will, s->will->retain, true);
		mq_rec_put(w, &it);
	}
	n = mq_rec_end(w);
	if (n < 0) {
		mq_err("store: session %.*s not written: %s", (int) s->id_len,
		    s->id, strerror((int) -n));
		return;
	}
	if (mq_store_put(
	        P->st, MQ_STORE_SESSIONS, s->id, s->id_len, w->p, (size_t) n)
	    == 0)
		s->stored = true;
	(void) b;
}

/* Every marked session into the open batch. */
static void
sessions_write(struct mq_persist *P)
{
	while (P->dirty != NULL) {
		mq_session *s = P->dirty;

		P->dirty = s->next_sdirty;
		s->sdirty = false;
		s->next_sdirty = NULL;
		session_write(P, s);
	}
}

/* Once per loop iteration: hand what is staged to an idle thread. */
void
mq__persist_tick(mq_broker *b)
{
	struct mq_persist *P = b->persist;

	if (P == NULL || (P->dirty == NULL && !mq_store_staged(P->st))
	    || !mq_store_idle(P->st))
		return;
	sessions_write(P);
	mq_store_submit(P->st);
}

/* ---- acknowledgements ---- */

bool
mq__persist_defer_ack(mq_conn *c, enum mq_type type, uint16_t pid, uint8_t rc)
{
	mq_broker         *b = c->b;
	struct mq_persist *P = b->persist;
	struct dack       *d;

	if (P->releasing
	    || (c->acks_waiting == 0 && b->store_changes == b->store_mark))
		return false;
	if (P->len == P->cap) {
		size_t       cap = P->cap ? P->cap * 2 : 256;
		struct dack *q = malloc(cap * sizeof(*q));

		if (q == NULL)
			return false; /* no memory: ack now rather than never
			               */
		for (size_t i = 0; i < P->len; i++)
			q[i] = P->q[(P->head + i) % P->cap];
		free(P->q);
		P->q = q;
		P->cap = cap;
		P->head = 0;
	}
	d = &P->q[(P->head + P->len) % P->cap];
	d->c = c;
	d->batch = mq_store_next_id(P->st);
	d->pid = pid;
	d->type = (uint8_t) type;
	d->rc = rc;
	P->len++;
	c->acks_waiting++;
	return true;
}

void
mq__persist_conn_gone(mq_conn *c)
{
	struct mq_persist *P = c->b->persist;

	for (size_t i = 0; P != NULL && i < P->len && c->acks_waiting; i++) {
		struct dack *d = &P->q[(P->head + i) % P->cap];

		if (d->c == c) {
			d->c = NULL;
			c->acks_waiting--;
		}
	}
}

static void
release(mq_broker *b, uint64_t id, int rc)
{
	struct mq_persist *P = b->persist;

	P->releasing = true;
	while (P->len > 0 && P->q[P->head].batch <= id) {
		struct dack d = P->q[P->head];

		P->head = (P->head + 1) % P->cap;
		P->len--;
		if (d.c == NULL)
			continue;
		d.c->acks_waiting--;
		if (rc == 0)
			mq__send_ack5(d.c, (enum mq_type) d.type, d.pid, d.rc);
		else if (d.c->proto == 5 && d.type != MQ_PUBCOMP)
			mq__send_ack5(d.c, (enum mq_type) d.type, d.pid,
			    MQ_RC_QUOTA_EXCEEDED);
		else
			mq__conn_close(d.c, SHM_SHUT_ERROR);
	}
	P->releasing = false;
}

void
mq__persist_event(mq_broker *b)
{
	struct mq_persist *P = b->persist;
	uint64_t           id = 0, now;
	int                rc = mq_store_done(P->st, &id);

	if (rc == 1)
		return;
	release(b, id, rc);
	mirror(b);
	if (rc < 0) {
		P->full_since_log++;
		now = mq_now_ms();
		if (P->full_logged_ms == 0
		    || now - P->full_logged_ms >= 60000) {
			mq_err("store: commit failed: %s (%llu failures in "
			       "the last minute); persistent QoS 1/2 "
			       "publishes are refused until it succeeds",
			    strerror(-rc),
			    (unsigned long long) P->full_since_log);
			P->full_logged_ms = now;
			P->full_since_log = 0;
		}
	} else if (P->full_logged_ms != 0) {
		mq_info("store: commits succeed again");
		P->full_logged_ms = 0;
		P->full_since_log = 0;
	}
	mq__persist_tick(b);
}

/* The store's figures into the segment (once per commit). */
static void
mirror(mq_broker *b)
{
	struct mq_store_stats s;

	if (b->col == NULL)
		return;
	mq_store_stats(b->persist->st, &s);
	col_store_set(b->col, SHM_SF_ENABLED, 1);
	col_store_set(b->col, SHM_SF_SIZE_BYTES, s.size_bytes);
	col_store_set(b->col, SHM_SF_LAST_SYNC_US, s.last_sync_us);
	col_store_set(b->col, SHM_SF_TXNS, s.txns);
	col_store_set(b->col, SHM_SF_BYTES_WRITTEN, s.bytes_written);
	col_store_set(b->col, SHM_SF_RECORDS_LOADED, s.records_loaded);
	col_store_set(b->col, SHM_SF_CORRUPT, s.corrupt_events);
	col_store_set(b->col, SHM_SF_DISK_FULL, s.disk_full);
}

/* ---- loading ---- */

/* One retained record: checked (header, checksum, item, key) as it is
 * loaded; -EBADMSG / -EPROTO stop the load (mq_store_discard). */
static int
load_retained(void *arg, const void *k, size_t klen, const void *v, size_t n)
{
	mq_broker         *b = arg;
	struct mq_rec_rd   r;
	struct mq_rec_item it;
	mq_msg            *m;
	int                rc = mq_rec_open(&r, v, n);

	if (rc < 0)
		return rc;
	if (r.type != MQ_REC_RETAINED || mq_rec_next(&r, &it) != 1
	    || !mq_store_key_is(k, klen, it.msg.topic, it.msg.topic_len))
		return -EBADMSG;
	if (it.msg.expire_wall_ms != 0
	    && (int64_t) it.msg.expire_wall_ms <= wall_ms()) {
		b->persist->expired++;
		mq_store_del(b->persist->st, MQ_STORE_RETAINED, it.msg.topic,
		    it.msg.topic_len);
		return 0;
	}
	m = msg_from(&it.msg, false);
	if (m == NULL)
		return 0; /* no memory: logged by msg_from */
	mq__retained_load(b, m);
	b->persist->retained_loaded++;
	return 0;
}

/* -EBADMSG: an item the store's format does not have. */
static int
load_item(mq_session *s, const struct mq_rec_item *it, int format)
{
	mq_msg        *m = NULL;
	struct mq_sub *sub;
	uint64_t       now;

	if (it->tag == MQ_REC_T_WINDOW ? format == 1
	                               : format != 1
	            && (it->tag == MQ_REC_T_INFLIGHT
	                || it->tag == MQ_REC_T_QUEUED))
		return -EBADMSG;
	switch (it->tag) {
	case MQ_REC_T_SUB:
		if (mq__subscribe(s, it->filter, it->filter_len, it->qos, &sub)
		    >= 0) {
			sub->opts = it->opts;
			sub->sub_id = it->sub_id;
		}
		return 0;
	case MQ_REC_T_INFLIGHT: /* format 1: with its message */
		if (it->has_msg && (m = msg_from(&it->msg, false)) == NULL)
			return 0;
		mq__session_restore_inflight(
		    s, it->pid, it->state, it->qos, it->sub_id, m, 0);
		return 0;
	case MQ_REC_T_WINDOW: /* format 2: its message comes later */
		mq__session_restore_inflight(
		    s, it->pid, it->state, it->qos, it->sub_id, NULL, it->seq);
		return 0;
	case MQ_REC_T_QUEUED: /* format 1 */
		if ((m = msg_from(&it->msg, false)) != NULL)
			mq__session_restore_queued(
			    s, m, it->qos, it->msg.retain, it->sub_id, 0);
		return 0;
	case MQ_REC_T_AWREL:
		if ((m = msg_from(&it->msg, false)) != NULL)
			mq__session_restore_awrel(s, it->pid, m);
		return 0;
	case MQ_REC_T_WILL:
		if ((m = msg_from(&it->msg, true)) == NULL)
			return 0;
		now = (uint64_t) wall_ms();
		mq__session_will(s, m,
		    it->will_at_wall_ms > now
		        ? (uint32_t) ((it->will_at_wall_ms - now + 999) / 1000)
		        : 0);
		return 0;
	default:
		return -EBADMSG;
	}
}

static int
load_session(void *arg, const void *k, size_t klen, const void *v, size_t n)
{
	mq_broker         *b = arg;
	struct mq_persist *P = b->persist;
	struct mq_rec_rd   r;
	struct mq_rec_item it;
	mq_session        *s;
	int64_t            now = wall_ms();
	uint64_t           deadline;
	int                rc = mq_rec_open(&r, v, n);

	if (rc < 0)
		return rc;
	if (r.type != MQ_REC_SESSION || mq_rec_next(&r, &it) != 1
	    || !mq_store_key_is(k, klen, it.id, it.id_len))
		return -EBADMSG;
	if (it.deadline_wall_ms != 0 && (int64_t) it.deadline_wall_ms <= now) {
		P->expired++;
		mq_store_del(P->st, MQ_STORE_SESSIONS, it.id, it.id_len);
		return 0;
	}
	if (mq__session_find(b, it.id, it.id_len) != NULL)
		return -EBADMSG; /* one record per client id */
	s = mq__session_new(b, it.id, it.id_len, false);
	if (s == NULL)
		return -ENOMEM;
	s->v5 = it.v5;
	s->expiry_s = it.expiry_s;
	s->created_at = it.created_at;
	s->next_pid = it.next_pid;
	s->stored = true;
	/* Online when we stopped: offline from now on. */
	deadline = it.deadline_wall_ms != 0 ? it.deadline_wall_ms
	                                    : (uint64_t) now
	        + (uint64_t) (s->v5 ? s->expiry_s : b->cfg->session_expiry)
	            * 1000;
	mq_timer_set(&b->timers, &s->expiry, to_mono(deadline));
	while ((rc = mq_rec_next(&r, &it)) == 1)
		if ((rc = load_item(s, &it, P->format)) < 0)
			break;
	mq__session_dirty(s);
	P->sessions_loaded++;
	return rc < 0 ? rc : 0;
}

/*
 * One message record (format 2), in key order: a session's messages one
 * after the other, by seq.  Its session was loaded before (else it is an
 * orphan: the session expired, and its messages are deleted with it).
 */
static int
load_message(void *arg, const void *k, size_t klen, const void *v, size_t n)
{
	mq_broker         *b = arg;
	struct mq_persist *P = b->persist;
	struct mq_rec_rd   r;
	struct mq_rec_item it;
	mq_session        *s = P->last;
	mq_msg            *m;
	int                rc = mq_rec_open(&r, v, n);

	if (rc < 0)
		return rc;
	if (r.type != MQ_REC_MESSAGE || mq_rec_next(&r, &it) != 1
	    || !mq_store_msg_key_is(k, klen, it.id, it.id_len, it.seq))
		return -EBADMSG;
	if (s == NULL || s->id_len != it.id_len
	    || memcmp(s->id, it.id, it.id_len) != 0)
		s = P->last = mq__session_find(b, it.id, it.id_len);
	if (s == NULL || s->clean) {
		P->orphans++;
		mq_store_del_msg(P->st, it.id, it.id_len, it.seq);
		return 0;
	}
	m = msg_from(&it.msg, false);
	if (m == NULL) { /* expired (or no memory, logged) */
		P->expired++;
		mq_store_del_msg(P->st, it.id, it.id_len, it.seq);
		return 0;
	}
	mq__session_restore_msg(
	    s, it.seq, m, it.qos, it.msg.retain, it.sub_id);
	P->messages_loaded++;
	return 0;
}

/*
 * After the messages: window entries whose message did not come (it
 * expired) are done; a format-1 store's messages get their own records
 * (the sessions are rewritten without them).  Both only once loading is
 * over, as they write.
 */
static void
load_finish(mq_broker *b)
{
	struct mq_persist *P = b->persist;

	for (uint32_t i = 0; i <= b->sessions.mask; i++)
		for (struct mq_hnode *n = b->sessions.b[i]; n != NULL;
		     n = n->next) {
			mq_session *s = (mq_session *) n;

			if (mq__session_restore_end(s) > 0)
				mq__persist_session(s);
			if (P->format != 1)
				continue;
			for (uint16_t j = 0; j < s->if_span; j++) {
				struct mq_inflight *f
				    = &s->inf[(s->if_head + j) % s->if_cap];

				if (f->msg != NULL)
					f->seq = mq__persist_msg(s, f->msg,
					    f->qos, false, f->sub_id);
			}
			for (uint32_t j = 0; j < s->q_len; j++) {
				struct mq_qent *e
				    = &s->q[(s->q_head + j) % s->q_cap];

				e->seq = mq__persist_msg(
				    s, e->msg, e->qos, e->retain, e->sub_id);
			}
			mq__persist_session(s);
		}
}

/* A load found damage: forget what it loaded (the store goes aside). */
static void
load_undo(mq_broker *b)
{
	struct mq_persist *P = b->persist;

	mq__retained_clear(b);
	for (uint32_t i = 0; i <= b->sessions.mask; i++)
		while (b->sessions.b[i] != NULL) {
			mq_session *s = (mq_session *) b->sessions.b[i];

			/* A restored will is not a session ending now. */
			mq__msg_unref(s->will);
			s->will = NULL;
			s->stored = false;
			mq__session_free(s);
		}
	P->retained_loaded = P->sessions_loaded = P->expired = 0;
	P->messages_loaded = P->orphans = 0;
	P->last = NULL;
}

/* Loads retained messages, then sessions; a damaged record moves the
 * store aside and leaves the broker empty.  -errno: no store left. */
static int
load(mq_broker *b)
{
	struct mq_persist *P = b->persist;
	long               n = mq_store_count(P->st, MQ_STORE_RETAINED);

	if (n > 0)
		mq__retained_reserve(b, (uint32_t) n);
	P->format = mq_store_format(P->st);
	P->loading = true;
	n = mq_store_load(P->st, MQ_STORE_RETAINED, load_retained, b);
	if (n >= 0)
		n = mq_store_load(P->st, MQ_STORE_SESSIONS, load_session, b);
	if (n >= 0 && P->format != 1)
		n = mq_store_load(P->st, MQ_STORE_MESSAGES, load_message, b);
	P->loading = false;
	P->last = NULL;
	if (n == -EBADMSG || n == -EPROTO) {
		mq_err("store: a record failed validation (%s) after %llu "
		       "retained and %llu sessions",
		    n == -EPROTO ? "a newer version" : "damaged",
		    (unsigned long long) P->retained_loaded,
		    (unsigned long long) P->sessions_loaded);
		load_undo(b);
		return mq_store_discard(P->st, (int) n);
	}
	if (n < 0)
		mq_err("store: loading stopped: %s", strerror((int) -n));
	load_finish(b);
	if (P->format == 1) {
		/* One transaction: the store is format 1 or 2, never half. */
		sessions_write(P);
		n = mq_store_upgrade(P->st);
		if (n == 0)
			n = mq_store_flush(P->st);
		if (n < 0)
			mq_err("store: converting to format 2 failed: %s",
			    strerror((int) -n));
		else
			mq_info("store: converted from format 1 (one record "
			        "per queued message)");
	}
	return 0;
}

int
mq__persist_open(mq_broker *b)
{
	const mq_config       *cfg = b->cfg;
	struct mq_persist     *P;
	struct mq_store_config sc = {
		.dir
		= cfg->persistence_dir ? cfg->persistence_dir : cfg->state_dir,
		.sync = cfg->persistence_sync == MQ_PERSIST_INTERVAL
		    ? MQ_STORE_SYNC_INTERVAL
		    : MQ_STORE_SYNC_COMMIT,
		.interval_ms = cfg->persistence_sync_interval,
	};
	struct epoll_event ev = { .events = EPOLLIN };
	uint64_t           t0 = mq_now_ms();
	int                rc;

	if (!cfg->persistence || cfg->persistence_sync == MQ_PERSIST_OFF)
		return 0;
	P = calloc(1, sizeof(*P));
	if (P == NULL)
		return -ENOMEM;
	mq_rec_w_init(&P->w);
	rc = mq_store_open(&P->st, &sc);
	if (rc < 0) {
		/* Not even an empty store: run as without persistence
		 * rather than not at all, and say so. */
		mq_err("store: running without persistence");
		free(P);
		return 0;
	}
	b->persist = P;
	if (load(b) < 0) {
		mq_err("store: running without persistence");
		b->persist = NULL;
		mq_store_close(&P->st);
		mq_rec_w_fini(&P->w);
		free(P);
		return 0;
	}
	mq_info("store %s/store: %llu retained, %llu sessions loaded, %llu "
	        "queued messages, %llu expired, %llu orphaned, in %llu ms",
	    sc.dir, (unsigned long long) P->retained_loaded,
	    (unsigned long long) P->sessions_loaded,
	    (unsigned long long) P->messages_loaded,
	    (unsigned long long) P->expired, (unsigned long long) P->orphans,
	    (unsigned long long) (mq_now_ms() - t0));
	mirror(b);
	b->persist_kind = MQ_K_STORE;
	ev.data.ptr = &b->persist_kind;
	if (epoll_ctl(b->epfd, EPOLL_CTL_ADD, mq_store_fd(P->st), &ev) != 0) {
		rc = -errno;
		mq_err("epoll_ctl(ADD store eventfd): %s", strerror(-rc));
		mq__persist_close(b);
		return rc;
	}
	return 0;
}

void
mq__persist_close(mq_broker *b)
{
	struct mq_persist *P = b->persist;
	int                rc;

	if (P == NULL)
		return;
	/* Last words: every session as it is now (offline, deadlines). */
	sessions_write(P);
	rc = mq_store_flush(P->st);
	if (rc < 0)
		mq_err("store: last commit failed: %s", strerror(-rc));
	mq_store_close(&P->st);
	mq_rec_w_fini(&P->w);
	for (size_t i = 0; i < P->len; i++) {
		mq_conn *c = P->q[(P->head + i) % P->cap].c;

		if (c != NULL)
			c->acks_waiting--;
	}
	free(P->q);
	free(P);
	b->persist = NULL;
}

void
mq__persist_stats(const mq_broker *b, struct mq_store_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (b->persist != NULL)
		mq_store_stats(b->persist->st, out);
}
