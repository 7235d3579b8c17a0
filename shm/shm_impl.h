/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * shm_impl: the reader's private state, shared by shm_reader.c (attach,
 * validation, header, counters) and shm_tables.c (records, pages,
 * lookups), plus two internal entry points for tests, fuzzing and
 * benchmarks.
 */
#ifndef SHM_IMPL_H
#define SHM_IMPL_H

#include "shm/shm.h"
#include "shm/shm_atomic.h"
#include "shm/shm_layout.h"

#include <sys/types.h>

/*
 * Bounded retries: a record that keeps moving gives -EAGAIN.  A few spins
 * cover a writer inside a section (tens of ns); past them the reader
 * yields (the writer may be preempted mid-section) until the call's
 * budget is spent, so one public call never waits much more than
 * SHM_BUDGET_NS (10 ms) however many records are stuck (a broker that died
 * inside a section leaves its count odd for good).
 */
#define SHM_TRIES      4096
#define SHM_SPIN_TRIES 64
#ifndef SHM_BUDGET_NS          /* the fuzzer lowers it to run faster */
#define SHM_BUDGET_NS 10000000 /* a scheduler slice or two */
#endif
#define SHM_STALE_MS 3000

#define SHM_SCRATCH_STR (SHM_STR_MAX + 9) /* one string + NUL, 8-rounded */
#define SHM_PAGE_CHUNK  64

struct shm_seen {
	uint32_t slot, gen, epoch; /* valid while epoch == seen_epoch */
};

struct shm_reader {
	const unsigned char *base;
	size_t               size;
	bool                 mapped; /* false: shm__reader_from_buffer */
	char                 name[256];
	char                *dir; /* shm_reader_open_dir: follow its record */
	dev_t                dev;
	ino_t                ino;
	/* Validated at attach; never re-read from the segment. */
	struct shm_table_desc tab[SHM_T_COUNT];
	uint64_t              arena_off, arena_size;
	uint64_t              seed, boot_id;
	char                  node[256];
	uint32_t              node_len;
	char                  version[32], sysdescr[64];
	int32_t               pid;
	int64_t               started_at;
	/* Scratch: strings handed to callbacks, page indices, dedup. */
	char            *scratch; /* 2 * SHM_SCRATCH_STR */
	uint32_t         idx[SHM_PAGE_CHUNK];
	struct shm_seen *seen;
	size_t           nseen, capseen; /* capseen: 0 or a power of 2 */
	uint32_t         seen_epoch;
	uint64_t         retries;     /* for tests and benchmarks */
	uint64_t         deadline_ns; /* of the current call; 0: not set */
};

/*
 * fstat's fd into st and checks that only our uid (or root) can have
 * written it: a regular file of ours or root's, not group- or
 * other-writable.  0, -errno, or -EPERM.
 */
struct stat;
int shm__fd_trusted(int fd, struct stat *st);

/* Every public entry starts a new retry budget. */
static inline void
shm__call(shm_reader *r)
{
	r->deadline_ns = 0;
}

static inline const struct shm_hdr *
shm__hdr(const shm_reader *r)
{
	return (const struct shm_hdr *) r->base;
}

/* Record `slot` of table t: the caller checks slot against the table's
 * cap (validated at attach, like every offset it is computed from). */
static inline const unsigned char *
shm__rec_at(const shm_reader *r, int t, uint32_t slot)
{
	const struct shm_table_desc *d = &r->tab[t];

	return r->base + d->slots_off + (size_t) slot * d->rec_size;
}

/* Waits a little before retry `n`; false once the budget is spent. */
bool shm__backoff(shm_reader *r, unsigned n);

/*
 * A reader over an in-memory image of a segment (tests, fuzzing, the
 * thread-variant torture test reading the writer's own mapping).  The
 * buffer must be 8-aligned and outlive the reader; refresh only checks
 * the heartbeat.
 */
int shm__reader_from_buffer(shm_reader **out, const void *buf, size_t len);

/* How many times this reader retried a read since it was opened. */
uint64_t shm__reader_retries(const shm_reader *r);

#endif
