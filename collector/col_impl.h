/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * col_impl: the writer's private state, shared by col.c (segment life,
 * header, counters, small tables) and col_tables.c (the indexed tables and
 * the string arena).  Allocator metadata (free lists, occupancy positions)
 * lives here, in the broker's heap, never in the segment: readers must not
 * be able to see, nor a corrupt segment be able to steer, the allocator.
 */
#ifndef COL_IMPL_H
#define COL_IMPL_H

#include "collector/col.h"
#include "shm/shm_atomic.h"
#include "shm/shm_layout.h"

struct col_tab {
	unsigned char  *slots;   /* segment: records */
	uint32_t       *occ;     /* segment: dense live slot indices */
	uint32_t       *buckets; /* segment: chain heads (indexed tables) */
	struct shm_occ *occh;    /* segment: occupancy guard and count */
	uint32_t        cap, rec_size, mask;
	uint32_t        hwm;   /* slots [0, hwm) have been used */
	uint32_t        nfree; /* free[0 .. nfree): reusable slots, LIFO */
	uint32_t       *free;
	uint32_t       *pos;  /* slot -> its position in occ */
	uint32_t       *gen;  /* the writer's copy of each slot's gen */
	uint32_t       *prev; /* chain back links: slot + 1, 0 = bucket */
	uint32_t        wseq; /* section counter: record counts come from it */
};

struct col_arena {
	unsigned char *base;
	uint64_t       size, bump;
	uint32_t      *free[SHM_ARENA_CLASSES]; /* offsets in 8-byte units */
	uint32_t       nfree[SHM_ARENA_CLASSES], capfree[SHM_ARENA_CLASSES];
};

struct col {
	struct shm_hdr  *hdr;
	size_t           size;
	char             name[256];
	char            *dir; /* state dir whose record names us, or NULL */
	col_log_fn      *log; /* NULL: stderr */
	uint64_t         seed;
	struct col_tab   t[SHM_T_COUNT];
	struct col_arena arena;
};

/* Seqcount write sections: the record is unstable between the two. */
static inline void
col__begin(uint32_t *seq)
{
	SHM_ST(seq, *seq + 1);
	/* The odd count is visible before any of the stores that follow:
	 * pairs with the reader's acquire fence before its re-check. */
	shm_fence_rel();
}

static inline void
col__end(uint32_t *seq)
{
	/* Release: every store of the section before the even count; pairs
	 * with the reader's acquire load of the count. */
	SHM_ST_REL(seq, *seq + 1);
}

static inline void *
col__rec(const struct col_tab *t, uint32_t slot)
{
	return t->slots + (size_t) slot * t->rec_size;
}

void col__overflow(col *c, enum shm_overflow o);

/* The writer's own mapping: tests and the thread-variant torture test
 * point in-process readers at it (shm__reader_from_buffer). */
static inline const void *
col__base(const col *c, size_t *size)
{
	*size = c->size;
	return c->hdr;
}

/* Lays out the tables; returns the segment size.  Used by col_open. */
uint64_t col__layout(struct shm_hdr *h, const struct col_config *cfg);
int      col__tabs_init(col *c);
void     col__tabs_fini(col *c);

#endif
