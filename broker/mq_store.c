/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mq_store: LMDB environment, validation at open, the batch hand-over and
 * the store thread (see mq_store.h).
 *
 * A staged operation is [op u8][db u8][klen u16][vlen u32][key][value] in
 * the open batch's bytes; the thread replays them into one transaction.
 * A message's key is [u16 BE length][its session's key][u64 BE seq], so
 * one session's messages are adjacent and in queue order, and OP_DELPFX
 * (a session ended) deletes them all by the prefix.
 * Only the thread writes once it runs; the loop reads LMDB only while
 * loading, before the thread has work.
 */
#include "config.h"

#include "broker/mq_store.h"

#include "broker/mq_log.h"
#include "broker/mq_store_rec.h"

#include <errno.h>
#include <limits.h>
#include <lmdb.h>
#include <openssl/sha.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define STORE_FORMAT   2u
#define KEY_INLINE_MAX 400 /* LMDB's default key limit is 511 */
#define KEY_MAX        (2 + KEY_INLINE_MAX + 8) /* a message's */
#define RETRY_MAX      (256u << 20)

enum { OP_PUT = 1, OP_DEL = 2, OP_DELPFX = 3 };

/* dbi[DB_META] is the format's; not one the callers name. */
#define DB_META MQ_STORE_NDB

static const char *const db_names[MQ_STORE_NDB]
    = { "retained", "sessions", "messages" };
static const uint8_t db_types[MQ_STORE_NDB]
    = { MQ_REC_RETAINED, MQ_REC_SESSION, MQ_REC_MESSAGE };

struct buf {
	uint8_t *p;
	size_t   len, cap;
};

struct mq_store {
	MDB_env           *env;
	MDB_dbi            dbi[MQ_STORE_NDB + 1];
	uint32_t           format; /* as opened */
	char               path[PATH_MAX];
	enum mq_store_sync sync;
	uint32_t           interval_ms;
	uint64_t           map_bytes;
	int                efd;
	pthread_t          th;
	bool               th_started;
	pthread_mutex_t    mu;
	pthread_cond_t     cv, idle_cv;
	/* loop side */
	struct buf open;
	uint64_t   next_id; /* of the open batch */
	/* handed over (under mu) */
	struct buf work;
	uint64_t   work_id;
	bool       busy, stop;
	uint64_t   done_id, seen_id;
	int        done_rc;
	/* thread side */
	struct buf retry;
	bool       unsynced;
	/* figures: the thread's under mu, the loop's copy */
	struct mq_store_stats th_stats, stats;
};

static uint64_t
mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

static int
mdb_errno(int rc)
{
	if (rc == 0)
		return 0;
	if (rc == MDB_MAP_FULL)
		return -ENOSPC;
	if (rc > 0)
		return -rc;
	return -EIO;
}

/* The LMDB key for a topic / client id: itself, or 0xff + SHA-256 (0xff
 * never occurs in UTF-8, so the two kinds cannot meet). */
static size_t
make_key(uint8_t *out, const void *k, size_t n)
{
	if (n <= KEY_INLINE_MAX) {
		memcpy(out, k, n);
		return n;
	}
	out[0] = 0xff;
	SHA256(k, n, out + 1);
	return 1 + SHA256_DIGEST_LENGTH;
}

/* A message's key (seq 0: the prefix of all of the session's). */
static size_t
make_msg_key(uint8_t *out, const void *id, size_t n, uint64_t seq, bool pfx)
{
	size_t kl = make_key(out + 2, id, n);

	out[0] = (uint8_t) (kl >> 8);
	out[1] = (uint8_t) kl;
	if (pfx)
		return 2 + kl;
	for (int i = 0; i < 8; i++)
		out[2 + kl + (size_t) i] = (uint8_t) (seq >> (56 - 8 * i));
	return 2 + kl + 8;
}

static int
buf_add(struct buf *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		size_t   cap = b->cap ? b->cap : 4096;
		uint8_t *q;

		while (cap < b->len + n)
			cap *= 2;
		q = realloc(b->p, cap);
		if (q == NULL)
			return -ENOMEM;
		b->p = q;
		b->cap = cap;
	}
	if (n)
		memcpy(b->p + b->len, p, n);
	b->len += n;
	return 0;
}

/* ---- opening, validation, moving aside ---- */

static int
env_open(MDB_env **out, const char *path, unsigned flags, uint64_t map)
{
	MDB_env *env;
	int      rc = mdb_env_create(&env);

	if (rc != 0)
		return mdb_errno(rc);
	mdb_env_set_maxdbs(env, 4);
	mdb_env_set_mapsize(env, map ? map : (uint64_t) 64 << 30);
	rc = mdb_env_open(env, path, flags, 0640);
	if (rc != 0) {
		mdb_env_close(env);
		return mdb_errno(rc);
	}
	*out = env;
	return 0;
}

/* The key a record must be stored under. */
static int
record_key(const MDB_val *v, uint8_t *key, size_t *klen)
{
	struct mq_rec_rd   r;
	struct mq_rec_item it;

	if (mq_rec_open(&r, v->mv_data, v->mv_size) < 0
	    || mq_rec_next(&r, &it) <= 0)
		return -EBADMSG;
	if (it.tag == MQ_REC_T_MSG)
		*klen = make_key(key, it.msg.topic, it.msg.topic_len);
	else if (it.tag == MQ_REC_T_QMSG)
		*klen = make_msg_key(key, it.id, it.id_len, it.seq, false);
	else
		*klen = make_key(key, it.id, it.id_len);
	return 0;
}

/* The bytes of v lie inside the file LMDB mapped (a damaged page could
 * give a length that runs past it: reading that would fault). */
static bool
in_map(const MDB_val *v, const uint8_t *map, uint64_t size)
{
	const uint8_t *p = v->mv_data;

	return p >= map && (uint64_t) (p - map) <= size
	    && v->mv_size <= size - (uint64_t) (p - map);
}

/* Where LMDB mapped the file of inode ino (it says only with
 * MDB_FIXEDMAP): from /proc/self/maps.  NULL: not found. */
static const uint8_t *
map_base(ino_t ino)
{
	FILE          *f = fopen("/proc/self/maps", "r");
	char           line[PATH_MAX + 128];
	unsigned long  start, end, off, inode;
	const uint8_t *base = NULL;

	if (f == NULL)
		return NULL;
	while (base == NULL && fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "%lx-%lx %*s %lx %*s %lu", &start, &end, &off,
		        &inode)
		        == 4
		    && inode == (unsigned long) ino && off == 0)
			base = (const uint8_t *) (uintptr_t) start;
	fclose(f);
	return base;
}

/*
 * Child: walk the B-trees.  Exit 0 ok/absent, 10 damaged, 11 future.
 * At start (full false) it checks the structure only: every page LMDB
 * visits, every key and value inside the file.  The records themselves
 * are checked by the one pass that loads them (mq_store_load's callers),
 * which can then touch no byte this walk did not reach safely.  Offline
 * (`mqttdctl store check`, full) it also checks every record.
 */
static int
validate_walk(const char *path, bool full)
{
	MDB_env       *env;
	MDB_txn       *txn;
	MDB_dbi        meta, dbi;
	MDB_val        k = { 6, (void *) "format" }, v;
	MDB_cursor    *cur;
	struct stat    fst;
	char           data[PATH_MAX + 16];
	uint32_t       fmt;
	uint64_t       fsize;
	const uint8_t *map;
	int            rc
	    = env_open(&env, path, MDB_RDONLY | MDB_NOLOCK | MDB_NORDAHEAD, 0);

	if (rc == -ENOENT)
		return 0; /* an empty directory: a new store */
	snprintf(data, sizeof(data), "%s/data.mdb", path);
	if (rc < 0 || stat(data, &fst) != 0)
		return 10;
	/* Not a check of me_last_pgno against the size: pages freed in
	 * the transaction that allocated them count but are never
	 * written.  A page past the end faults here (SIGBUS: damaged). */
	fsize = (uint64_t) fst.st_size;
	if ((map = map_base(fst.st_ino)) == NULL)
		return 10;
	if (mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) != 0)
		return 10;
	if (mdb_dbi_open(txn, "meta", 0, &meta) != 0
	    || mdb_get(txn, meta, &k, &v) != 0 || v.mv_size != 4)
		return 10;
	memcpy(&fmt, v.mv_data, 4);
	if (fmt > STORE_FORMAT)
		return 11;
	if (fmt < 1)
		return 10;
	for (int db = 0; db < MQ_STORE_NDB; db++) {
		uint8_t want = db_types[db];

		/* Format 1 had no messages (until a start converts it). */
		rc = mdb_dbi_open(txn, db_names[db], 0, &dbi);
		if (rc == MDB_NOTFOUND && fmt == 1 && db == MQ_STORE_MESSAGES)
			continue;
		if (rc != 0 || mdb_cursor_open(txn, dbi, &cur) != 0)
			return 10;
		while ((rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) == 0) {
			uint8_t key[KEY_MAX], type = 0;
			size_t  klen;

			if (!in_map(&k, map, fsize) || !in_map(&v, map, fsize))
				return 10;
			if (!full)
				continue;
			rc = mq_rec_check(v.mv_data, v.mv_size, &type);
			if (rc == -EPROTO)
				return 11;
			if (rc < 0 || type != want
			    || record_key(&v, key, &klen) != 0
			    || klen != k.mv_size
			    || memcmp(key, k.mv_data, klen) != 0)
				return 10;
		}
		if (rc != MDB_NOTFOUND)
			return 10;
		mdb_cursor_close(cur);
	}
	mdb_txn_abort(txn);
	mdb_env_close(env);
	return 0;
}

/* 0: fine or absent; -EBADMSG damaged, -EPROTO future, -ENOTDIR... */
static int
validate(const char *path, bool full)
{
	struct stat st;
	pid_t       pid;
	int         status;

	if (stat(path, &st) != 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if (access(path, R_OK | W_OK | X_OK) != 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		mq_err("fork (store check): %s", strerror(errno));
		return 0; /* open it unchecked rather than lose it */
	}
	if (pid == 0) {
		/* A damaged file may fault LMDB here: that is an answer
		 * (damaged), not a crash to report. */
		struct sigaction sa = { .sa_handler = SIG_DFL };
		int              devnull = open("/dev/null", O_WRONLY);

		sigaction(SIGBUS, &sa, NULL);
		sigaction(SIGSEGV, &sa, NULL);
		if (devnull >= 0)
			dup2(devnull, 2);
		_exit(validate_walk(path, full));
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 11)
		return -EPROTO;
	return -EBADMSG;
}

static void
move_aside(mq_store *st, const char *why)
{
	char      to[PATH_MAX + 64];
	time_t    now = time(NULL);
	struct tm tm;
	int       n;

	gmtime_r(&now, &tm);
	n = snprintf(to, sizeof(to), "%s.corrupt.%04d%02d%02dT%02d%02d%02dZ",
	    st->path, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec);
	if (access(to, F_OK) == 0)
		snprintf(
		    to + n, sizeof(to) - (size_t) n, ".%d", (int) getpid());
	st->stats.corrupt_events++;
	if (rename(st->path, to) != 0) {
		mq_err("store %s (%s): rename to %s: %s", st->path, why, to,
		    strerror(errno));
		return;
	}
	mq_err("store %s %s: moved aside to %s, starting with an empty store",
	    st->path, why, to);
}

static int
open_env(mq_store *st, uint64_t map)
{
	unsigned flags = MDB_NORDAHEAD;
	MDB_txn *txn;
	MDB_dbi  meta;
	MDB_val  k = { 6, (void *) "format" }, v;
	uint32_t fmt = STORE_FORMAT;
	int      rc;

	st->format = STORE_FORMAT;
	if (st->sync == MQ_STORE_SYNC_INTERVAL)
		flags |= MDB_NOSYNC;
	if (mkdir(st->path, 0750) != 0 && errno != EEXIST)
		return -errno;
	rc = env_open(&st->env, st->path, flags, map);
	if (rc < 0)
		return rc;
	mdb_reader_check(st->env, NULL);
	rc = mdb_txn_begin(st->env, NULL, 0, &txn);
	if (rc == 0)
		rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &meta);
	for (int db = 0; rc == 0 && db < MQ_STORE_NDB; db++)
		rc = mdb_dbi_open(txn, db_names[db], MDB_CREATE, &st->dbi[db]);
	st->dbi[DB_META] = meta;
	if (rc == 0 && (rc = mdb_get(txn, meta, &k, &v)) == MDB_NOTFOUND) {
		v.mv_size = 4;
		v.mv_data = &fmt;
		rc = mdb_put(txn, meta, &k, &v, 0);
	} else if (rc == 0 && v.mv_size == 4) {
		/* The walk at open let only formats 1..STORE_FORMAT in. */
		memcpy(&st->format, v.mv_data, 4);
	}
	if (rc == 0)
		rc = mdb_txn_commit(txn);
	else
		mdb_txn_abort(txn);
	if (rc != 0) {
		mdb_env_close(st->env);
		st->env = NULL;
	}
	return mdb_errno(rc);
}

/* ---- the thread ---- */

/* Every record whose key starts with pfx (a session's messages). */
static int
del_prefix(MDB_txn *txn, MDB_dbi dbi, const MDB_val *pfx)
{
	MDB_cursor *cur;
	MDB_val     k = *pfx, v;
	int         rc = mdb_cursor_open(txn, dbi, &cur);

	if (rc != 0)
		return rc;
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	while (rc == 0 && k.mv_size >= pfx->mv_size
	    && memcmp(k.mv_data, pfx->mv_data, pfx->mv_size) == 0) {
		rc = mdb_cursor_del(cur, 0);
		if (rc == 0)
			rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

static int
apply(mq_store *st, MDB_txn *txn, const struct buf *b, uint64_t *bytes)
{
	size_t off = 0;

	while (off + 8 <= b->len) {
		const uint8_t *h = b->p + off;
		uint16_t       klen;
		uint32_t       vlen;
		MDB_val        k, v;
		int            rc;

		memcpy(&klen, h + 2, 2);
		memcpy(&vlen, h + 4, 4);
		k.mv_size = klen;
		k.mv_data = (void *) (h + 8);
		v.mv_size = vlen;
		v.mv_data = (void *) (h + 8 + klen);
		if (h[0] == OP_PUT) {
			rc = mdb_put(txn, st->dbi[h[1]], &k, &v, 0);
			*bytes += klen + vlen;
		} else if (h[0] == OP_DELPFX) {
			rc = del_prefix(txn, st->dbi[h[1]], &k);
		} else {
			rc = mdb_del(txn, st->dbi[h[1]], &k, NULL);
			if (rc == MDB_NOTFOUND)
				rc = 0;
		}
		if (rc != 0)
			return rc;
		off += 8 + (size_t) klen + vlen;
	}
	return 0;
}

static int
commit(mq_store *st, uint64_t *bytes)
{
	MDB_txn *txn;
	int      rc = mdb_txn_begin(st->env, NULL, 0, &txn);

	if (rc != 0)
		return mdb_errno(rc);
	rc = apply(st, txn, &st->retry, bytes);
	if (rc == 0)
		rc = apply(st, txn, &st->work, bytes);
	if (rc != 0) {
		mdb_txn_abort(txn);
		return mdb_errno(rc);
	}
	return mdb_errno(mdb_txn_commit(txn)); /* frees txn either way */
}

static uint64_t
store_size(mq_store *st)
{
	MDB_envinfo info;
	MDB_stat    s;

	if (mdb_env_info(st->env, &info) != 0
	    || mdb_env_stat(st->env, &s) != 0)
		return 0;
	return (uint64_t) (info.me_last_pgno + 1) * s.ms_psize;
}

static void
deadline_in(struct timespec *ts, uint32_t ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long) (ms % 1000) * 1000000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

static void
interval_sync(mq_store *st)
{
	uint64_t t0 = mono_us();
	int      rc;

	st->unsynced = false;
	pthread_mutex_unlock(&st->mu);
	rc = mdb_env_sync(st->env, 1);
	pthread_mutex_lock(&st->mu);
	if (rc != 0)
		mq_err("store sync: %s", strerror(-mdb_errno(rc)));
	st->th_stats.last_sync_us = mono_us() - t0;
}

static void *
thread_main(void *arg)
{
	mq_store       *st = arg;
	struct timespec next;

	deadline_in(&next, st->interval_ms);
	pthread_mutex_lock(&st->mu);
	for (;;) {
		uint64_t bytes = 0, t0, one = 1;
		int      rc;

		while (!st->busy && !st->stop) {
			if (st->sync != MQ_STORE_SYNC_INTERVAL) {
				pthread_cond_wait(&st->cv, &st->mu);
				continue;
			}
			if (pthread_cond_timedwait(&st->cv, &st->mu, &next)
			    == ETIMEDOUT) {
				if (st->unsynced)
					interval_sync(st);
				deadline_in(&next, st->interval_ms);
			}
		}
		if (!st->busy)
			break;
		pthread_mutex_unlock(&st->mu);
		t0 = mono_us();
		rc = commit(st, &bytes);
		if (rc == 0) {
			st->retry.len = 0;
		} else if (st->retry.len + st->work.len > RETRY_MAX
		    || buf_add(&st->retry, st->work.p, st->work.len) != 0) {
			/* Too much kept back: what memory holds is newer
			 * anyway for sessions; retained writes are lost. */
			mq_err("store: %zu bytes of failed writes dropped",
			    st->retry.len + st->work.len);
			st->retry.len = 0;
		}
		pthread_mutex_lock(&st->mu);
		if (rc == 0) {
			st->th_stats.txns++;
			st->th_stats.bytes_written += bytes;
			st->th_stats.size_bytes = store_size(st);
			if (st->sync == MQ_STORE_SYNC_COMMIT)
				st->th_stats.last_sync_us = mono_us() - t0;
			else
				st->unsynced = true;
		} else {
			st->th_stats.failed_txns++;
			if (rc == -ENOSPC)
				st->th_stats.disk_full++;
		}
		st->work.len = 0;
		st->done_id = st->work_id;
		st->done_rc = rc;
		st->busy = false;
		pthread_cond_broadcast(&st->idle_cv);
		/* Cannot fail but by overflow, and then the loop wakes. */
		(void) !write(st->efd, &one, sizeof(one));
	}
	if (st->unsynced)
		interval_sync(st);
	pthread_mutex_unlock(&st->mu);
	return NULL;
}

/* ---- public ---- */

int
mq_store_open(mq_store **out, const struct mq_store_config *cfg)
{
	mq_store          *st = calloc(1, sizeof(*st));
	pthread_condattr_t ca;
	int                rc;

	if (st == NULL)
		return -ENOMEM;
	st->efd = -1;
	st->sync = cfg->sync;
	st->interval_ms = cfg->interval_ms ? cfg->interval_ms : 1000;
	st->next_id = 1;
	st->map_bytes = cfg->map_bytes;
	if ((size_t) snprintf(st->path, sizeof(st->path), "%s/store", cfg->dir)
	    >= sizeof(st->path)) {
		free(st);
		return -ENAMETOOLONG;
	}
	rc = validate(st->path, false);
	if (rc < 0)
		move_aside(st,
		    rc == -EPROTO        ? "was written by a newer version"
		        : rc == -EBADMSG ? "failed validation"
		                         : "cannot be opened");
	rc = open_env(st, cfg->map_bytes);
	if (rc < 0) {
		mq_err("store %s: %s", st->path, strerror(-rc));
		move_aside(st, "cannot be opened");
		rc = open_env(st, cfg->map_bytes);
	}
	if (rc < 0) {
		mq_err("store %s: %s", st->path, strerror(-rc));
		free(st);
		return rc;
	}
	st->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (st->efd < 0) {
		rc = -errno;
		mq_err("eventfd (store): %s", strerror(-rc));
		mq_store_close(&st);
		return rc;
	}
	pthread_mutex_init(&st->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&st->cv, &ca);
	pthread_condattr_destroy(&ca);
	pthread_cond_init(&st->idle_cv, NULL);
	rc = pthread_create(&st->th, NULL, thread_main, st);
	if (rc != 0) {
		mq_err("pthread_create (store): %s", strerror(rc));
		mq_store_close(&st);
		return -rc;
	}
	st->th_started = true;
	st->stats.size_bytes = store_size(st);
	st->th_stats.size_bytes = st->stats.size_bytes;
	*out = st;
	return 0;
}

void
mq_store_close(mq_store **stp)
{
	mq_store *st = *stp;

	if (st == NULL)
		return;
	if (st->th_started) {
		mq_store_flush(st);
		pthread_mutex_lock(&st->mu);
		st->stop = true;
		pthread_cond_signal(&st->cv);
		pthread_mutex_unlock(&st->mu);
		pthread_join(st->th, NULL);
		pthread_mutex_destroy(&st->mu);
		pthread_cond_destroy(&st->cv);
		pthread_cond_destroy(&st->idle_cv);
	}
	if (st->env != NULL)
		mdb_env_close(st->env);
	if (st->efd >= 0)
		close(st->efd);
	free(st->open.p);
	free(st->work.p);
	free(st->retry.p);
	free(st);
	*stp = NULL;
}

int
mq_store_fd(const mq_store *st)
{
	return st->efd;
}

long
mq_store_count(mq_store *st, enum mq_store_db db)
{
	MDB_txn *txn;
	MDB_stat ms;
	int      rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn);

	if (rc != 0)
		return mdb_errno(rc);
	rc = mdb_stat(txn, st->dbi[db], &ms);
	mdb_txn_abort(txn);
	return rc != 0 ? mdb_errno(rc) : (long) ms.ms_entries;
}

long
mq_store_load(mq_store *st, enum mq_store_db db, mq_store_fn fn, void *arg)
{
	MDB_txn    *txn = NULL;
	MDB_cursor *cur;
	MDB_val     k, v;
	long        n = 0;
	int         rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn);

	if (rc == 0)
		rc = mdb_cursor_open(txn, st->dbi[db], &cur);
	if (rc != 0) {
		if (txn != NULL)
			mdb_txn_abort(txn);
		return mdb_errno(rc);
	}
	while ((rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) == 0) {
		int r = fn(arg, k.mv_data, k.mv_size, v.mv_data, v.mv_size);

		if (r != 0) {
			n = r;
			break;
		}
		n++;
	}
	/* The walk at open went through the same pages: a cursor error
	 * here is a store changed under us, treated as damage. */
	if (rc != 0 && rc != MDB_NOTFOUND && n >= 0)
		n = -EBADMSG;
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	if (n >= 0)
		st->stats.records_loaded += (uint64_t) n;
	return n;
}

bool
mq_store_key_is(const void *key, size_t klen, const void *name, size_t nlen)
{
	uint8_t k[KEY_INLINE_MAX + 1];

	return make_key(k, name, nlen) == klen && memcmp(k, key, klen) == 0;
}

bool
mq_store_msg_key_is(
    const void *key, size_t klen, const void *id, size_t idlen, uint64_t seq)
{
	uint8_t k[KEY_MAX];

	return make_msg_key(k, id, idlen, seq, false) == klen
	    && memcmp(k, key, klen) == 0;
}

int
mq_store_format(const mq_store *st)
{
	return (int) st->format;
}

int
mq_store_discard(mq_store *st, int why)
{
	uint64_t map;
	int      rc;

	/* Nothing was handed to the thread yet (we are loading): only the
	 * open batch (deletes of expired records) goes with the store. */
	st->open.len = 0;
	st->stats.records_loaded = 0;
	map = st->map_bytes;
	mdb_env_close(st->env);
	st->env = NULL;
	move_aside(st,
	    why == -EPROTO ? "was written by a newer version"
	                   : "failed validation");
	rc = open_env(st, map);
	if (rc < 0)
		mq_err("store %s: %s", st->path, strerror(-rc));
	else
		st->stats.size_bytes = st->th_stats.size_bytes
		    = store_size(st);
	return rc;
}

/* h: 8 bytes of room, then the LMDB key (kl bytes). */
static int
stage_raw(mq_store *st, int op, int db, uint8_t *h, size_t kl, const void *val,
    size_t vlen)
{
	uint16_t k16 = (uint16_t) kl;
	uint32_t v32 = (uint32_t) vlen;
	size_t   mark = st->open.len;

	if (vlen > UINT32_MAX)
		return -EINVAL;
	h[0] = (uint8_t) op;
	h[1] = (uint8_t) db;
	memcpy(h + 2, &k16, 2);
	memcpy(h + 4, &v32, 4);
	if (buf_add(&st->open, h, 8 + kl) != 0
	    || buf_add(&st->open, val, vlen) != 0) {
		st->open.len = mark;
		return -ENOMEM;
	}
	return 0;
}

static int
stage(mq_store *st, int op, enum mq_store_db db, const void *key, size_t klen,
    const void *val, size_t vlen)
{
	uint8_t h[8 + KEY_MAX];

	return stage_raw(
	    st, op, (int) db, h, make_key(h + 8, key, klen), val, vlen);
}

int
mq_store_put(mq_store *st, enum mq_store_db db, const void *key, size_t klen,
    const void *val, size_t vlen)
{
	return stage(st, OP_PUT, db, key, klen, val, vlen);
}

int
mq_store_del(mq_store *st, enum mq_store_db db, const void *key, size_t klen)
{
	return stage(st, OP_DEL, db, key, klen, NULL, 0);
}

int
mq_store_put_msg(mq_store *st, const void *id, size_t idlen, uint64_t seq,
    const void *val, size_t vlen)
{
	uint8_t h[8 + KEY_MAX];

	return stage_raw(st, OP_PUT, MQ_STORE_MESSAGES, h,
	    make_msg_key(h + 8, id, idlen, seq, false), val, vlen);
}

int
mq_store_del_msg(mq_store *st, const void *id, size_t idlen, uint64_t seq)
{
	uint8_t h[8 + KEY_MAX];

	return stage_raw(st, OP_DEL, MQ_STORE_MESSAGES, h,
	    make_msg_key(h + 8, id, idlen, seq, false), NULL, 0);
}

int
mq_store_del_msgs(mq_store *st, const void *id, size_t idlen)
{
	uint8_t h[8 + KEY_MAX];

	return stage_raw(st, OP_DELPFX, MQ_STORE_MESSAGES, h,
	    make_msg_key(h + 8, id, idlen, 0, true), NULL, 0);
}

int
mq_store_upgrade(mq_store *st)
{
	uint8_t  h[8 + 6];
	uint32_t fmt = STORE_FORMAT;
	int      rc;

	memcpy(h + 8, "format", 6);
	rc = stage_raw(st, OP_PUT, DB_META, h, 6, &fmt, sizeof(fmt));
	if (rc == 0)
		st->format = STORE_FORMAT;
	return rc;
}

uint64_t
mq_store_next_id(const mq_store *st)
{
	return st->next_id;
}

bool
mq_store_staged(const mq_store *st)
{
	return st->open.len > 0;
}

bool
mq_store_idle(const mq_store *st)
{
	bool idle;

	pthread_mutex_lock((pthread_mutex_t *) &st->mu);
	idle = !st->busy && st->seen_id == st->done_id;
	pthread_mutex_unlock((pthread_mutex_t *) &st->mu);
	return idle;
}

int
mq_store_submit(mq_store *st)
{
	struct buf t;

	if (st->open.len == 0)
		return 0;
	pthread_mutex_lock(&st->mu);
	/* One batch at a time, and only once the loop has seen how the
	 * last one ended (its waiters get that batch's result). */
	if (st->busy || st->seen_id != st->done_id) {
		pthread_mutex_unlock(&st->mu);
		return 0;
	}
	/* Swap buffers: the thread gets the bytes, the loop the old
	 * (emptied) allocation to fill next. */
	t = st->work;
	st->work = st->open;
	st->open = t;
	st->open.len = 0;
	st->work_id = st->next_id++;
	st->busy = true;
	pthread_cond_signal(&st->cv);
	pthread_mutex_unlock(&st->mu);
	return 1;
}

int
mq_store_done(mq_store *st, uint64_t *id)
{
	uint64_t n;
	int      rc;

	if (read(st->efd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		mq_err("read (store eventfd): %s", strerror(errno));
	pthread_mutex_lock(&st->mu);
	if (st->done_id == st->seen_id) {
		pthread_mutex_unlock(&st->mu);
		return 1;
	}
	st->seen_id = st->done_id;
	*id = st->done_id;
	rc = st->done_rc;
	st->stats.size_bytes = st->th_stats.size_bytes;
	st->stats.last_sync_us = st->th_stats.last_sync_us;
	st->stats.txns = st->th_stats.txns;
	st->stats.bytes_written = st->th_stats.bytes_written;
	st->stats.disk_full = st->th_stats.disk_full;
	st->stats.failed_txns = st->th_stats.failed_txns;
	pthread_mutex_unlock(&st->mu);
	return rc;
}

int
mq_store_flush(mq_store *st)
{
	int rc;

	pthread_mutex_lock(&st->mu);
	while (st->busy)
		pthread_cond_wait(&st->idle_cv, &st->mu);
	st->seen_id = st->done_id;
	pthread_mutex_unlock(&st->mu);
	if (mq_store_submit(st) == 0)
		return 0;
	pthread_mutex_lock(&st->mu);
	while (st->busy)
		pthread_cond_wait(&st->idle_cv, &st->mu);
	rc = st->done_rc;
	pthread_mutex_unlock(&st->mu);
	return rc;
}

void
mq_store_stats(const mq_store *st, struct mq_store_stats *out)
{
	*out = st->stats;
}

/* ---- offline ---- */

int
mq_store_check(const char *dir)
{
	char path[PATH_MAX];

	if ((size_t) snprintf(path, sizeof(path), "%s/store", dir)
	    >= sizeof(path))
		return -ENAMETOOLONG;
	if (access(path, F_OK) != 0)
		return -errno;
	return validate(path, true);
}

long
mq_store_dump(const char *dir, mq_store_dump_fn fn, void *arg)
{
	char        path[PATH_MAX];
	MDB_env    *env;
	MDB_txn    *txn = NULL;
	MDB_dbi     dbi;
	MDB_cursor *cur;
	MDB_val     k, v;
	long        n = 0;
	int         rc;

	if ((size_t) snprintf(path, sizeof(path), "%s/store", dir)
	    >= sizeof(path))
		return -ENAMETOOLONG;
	rc = env_open(&env, path, MDB_RDONLY | MDB_NOLOCK, 0);
	if (rc < 0)
		return rc;
	rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
	for (int db = 0; rc == 0 && db < MQ_STORE_NDB; db++) {
		rc = mdb_dbi_open(txn, db_names[db], 0, &dbi);
		if (rc == MDB_NOTFOUND && db == MQ_STORE_MESSAGES) {
			rc = 0; /* format 1 */
			continue;
		}
		if (rc == 0)
			rc = mdb_cursor_open(txn, dbi, &cur);
		if (rc != 0)
			break;
		while ((rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) == 0) {
			uint8_t type = 0;
			int     ok = mq_rec_check(v.mv_data, v.mv_size, &type);

			if (ok == 0 && type != db_types[db])
				ok = -EBADMSG;
			n++;
			if (fn((void *) arg, (enum mq_store_db) db, v.mv_data,
			        v.mv_size, ok)
			    != 0)
				break;
		}
		mdb_cursor_close(cur);
		rc = rc == MDB_NOTFOUND ? 0 : rc;
	}
	if (txn != NULL)
		mdb_txn_abort(txn);
	mdb_env_close(env);
	return rc != 0 ? mdb_errno(rc) : n;
}
