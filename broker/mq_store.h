/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mq_store: the broker's durable store, an LMDB environment in
 * DIR/store/ (data.mdb, lock.mdb), written by one store thread.
 *
 * The event loop stages puts and deletes into the open batch; once per
 * iteration, when the thread is idle, it hands the batch over
 * (mq_store_submit) and goes on serving.  The thread applies the whole
 * batch as one write transaction, commits it (with
 * MQ_STORE_SYNC_COMMIT the commit is on disk when it returns; with
 * MQ_STORE_SYNC_INTERVAL it is written to the page cache and synced every
 * interval_ms) and signals an eventfd; the loop then learns which batch
 * is durable (mq_store_done) and releases what waited for it.  The loop
 * never waits for fsync.
 *
 * A batch that fails (disk full, map full) is kept by the thread and
 * applied again, in order, before the next one, so the store catches up
 * by itself once space returns.
 *
 * Opening never fails for a damaged store: a store that cannot be opened,
 * whose B-tree is damaged, or that a future version wrote is renamed to
 * DIR/store.corrupt.<time>, counted, logged, and an empty one created.
 * The walk that checks the B-tree runs in a child process, so even a
 * store whose pages LMDB cannot read safely costs a failed child, not the
 * broker; records are checked by the one pass that loads them, and a bad
 * one has the store moved aside the same way (mq_store_discard).
 *
 * Errors: 0 or -errno; failures are logged once (mq_log).
 */
#ifndef MQ_STORE_H
#define MQ_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct mq_store mq_store;

enum mq_store_sync { MQ_STORE_SYNC_COMMIT, MQ_STORE_SYNC_INTERVAL };

/* MESSAGES (format 2): one record per queued / in-flight message of a
 * persistent session, keyed by the session's client id and the message's
 * sequence number in it (mq_store_put_msg), in queue order. */
enum mq_store_db {
	MQ_STORE_RETAINED,
	MQ_STORE_SESSIONS,
	MQ_STORE_MESSAGES,
	MQ_STORE_NDB
};

struct mq_store_config {
	const char        *dir; /* the store is DIR/store */
	enum mq_store_sync sync;
	uint32_t           interval_ms; /* MQ_STORE_SYNC_INTERVAL */
	uint64_t           map_bytes;   /* 0: 64 GiB of address space */
};

/* What the segment, monitoring/stats and /metrics show. */
struct mq_store_stats {
	uint64_t size_bytes;     /* pages in use x page size */
	uint64_t last_sync_us;   /* the last commit (and sync) took */
	uint64_t txns;           /* committed */
	uint64_t bytes_written;  /* keys + values put */
	uint64_t records_loaded; /* at start */
	uint64_t corrupt_events; /* stores moved aside at start */
	uint64_t disk_full;      /* failed commits (no space) */
	uint64_t failed_txns;    /* failed commits, any cause */
};

/*
 * Opens (creating, or moving a damaged store aside first) and starts the
 * thread.  -errno only when not even an empty store can be made.
 */
int  mq_store_open(mq_store **out, const struct mq_store_config *cfg);
void mq_store_close(mq_store **st); /* commits what is staged first */

/* The eventfd the loop polls for finished batches. */
int mq_store_fd(const mq_store *st);

/*
 * Calls fn for every record of db, in key order, before the thread has
 * anything to do (at start).  A non-zero return from fn stops the walk and
 * is returned; else the number of records.  The walk at open checked the
 * B-tree (every key and value lies in the file); fn checks the record
 * (mq_store_rec, mq_store_key_is) as it loads it, so the store is read
 * once.  -EBADMSG from fn (or a cursor error): the store is damaged.
 */
typedef int (*mq_store_fn)(
    void *arg, const void *key, size_t klen, const void *val, size_t len);
long mq_store_load(
    mq_store *st, enum mq_store_db db, mq_store_fn fn, void *arg);
/* Records in db (to size tables before a load), or -errno. */
long mq_store_count(mq_store *st, enum mq_store_db db);
/* key (as stored) is the one a record named name must have. */
bool mq_store_key_is(
    const void *key, size_t klen, const void *name, size_t nlen);
/*
 * A load found a damaged record (why: -EBADMSG, or -EPROTO for a newer
 * version): the store is moved aside (counted, logged) and an empty one
 * opened in its place.  Only while loading.  0 or -errno (no store).
 */
int mq_store_discard(mq_store *st, int why);

/*
 * The format the store had when it was opened: 2 (ours), or 1, whose
 * sessions hold their messages (mq_store_rec.h); the loader converts a
 * format-1 store and then stages mq_store_upgrade (format = 2) in the
 * same batch, so the store is one or the other, never half.
 */
int mq_store_format(const mq_store *st);
int mq_store_upgrade(mq_store *st);

/*
 * Stage a put or a delete in the open batch (RETAINED, SESSIONS).  Keys
 * of any length: one longer than LMDB's limit is stored under its
 * SHA-256.
 */
int mq_store_put(mq_store *st, enum mq_store_db db, const void *key,
    size_t klen, const void *val, size_t vlen);
int mq_store_del(
    mq_store *st, enum mq_store_db db, const void *key, size_t klen);
/* MESSAGES: message seq of the session of client id; _msgs: all of it. */
int mq_store_put_msg(mq_store *st, const void *id, size_t idlen, uint64_t seq,
    const void *val, size_t vlen);
int mq_store_del_msg(mq_store *st, const void *id, size_t idlen, uint64_t seq);
int mq_store_del_msgs(mq_store *st, const void *id, size_t idlen);
/* key (as stored in MESSAGES) is the one of message seq of client id. */
bool mq_store_msg_key_is(
    const void *key, size_t klen, const void *id, size_t idlen, uint64_t seq);

/* The number the open batch will carry. */
uint64_t mq_store_next_id(const mq_store *st);
bool     mq_store_staged(const mq_store *st); /* open batch not empty */
/* The thread has nothing, and its last result was taken: a submit now
 * would be accepted. */
bool mq_store_idle(const mq_store *st);
/* Hands the open batch to the thread if it is idle: 1, else 0. */
int mq_store_submit(mq_store *st);
/*
 * After the eventfd fired: *id is the last finished batch and the result
 * its commit's, 0 or -errno (-ENOSPC: disk or map full).  1: nothing new.
 */
int mq_store_done(mq_store *st, uint64_t *id);
/* Waits until everything staged is committed (shutdown, tests). */
int  mq_store_flush(mq_store *st);
void mq_store_stats(const mq_store *st, struct mq_store_stats *out);

/*
 * Offline, for `mqttdctl store check|dump`: DIR/store, read only, nothing
 * started.  mq_store_check walks it as the broker does before opening (in
 * a child): 0 valid (or absent), -EBADMSG damaged, -EPROTO newer format,
 * -ENOTDIR / -errno not openable.  mq_store_dump calls fn for every record
 * with its check result (0 or -EBADMSG); returns the number of records or
 * -errno.
 */
int mq_store_check(const char *dir);
typedef int (*mq_store_dump_fn)(
    void *arg, enum mq_store_db db, const void *val, size_t len, int valid);
long mq_store_dump(const char *dir, mq_store_dump_fn fn, void *arg);

#endif
