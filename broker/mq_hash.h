/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mq_hash: an intrusive chained hash table.  Callers embed struct
 * mq_hnode in their records and compare keys themselves while walking a
 * bucket, so one table type serves sessions, retained messages and trie
 * children without a node allocation per entry.
 *
 * The table grows (doubling) when its load passes 1; it never shrinks.
 * Errors: -ENOMEM (or getrandom's -errno) from mq_hash_init.  mq_hash_insert
 * always links the entry: a table that cannot grow keeps longer chains, still
 * correct.
 */
#ifndef MQ_HASH_H
#define MQ_HASH_H

#include <stddef.h>
#include <stdint.h>

struct mq_hnode {
	struct mq_hnode *next;
	uint32_t         hash;
};

typedef struct mq_hash {
	struct mq_hnode **b;
	uint32_t          mask; /* buckets - 1 */
	uint32_t          count;
} mq_hash;

/* SipHash-1-3 of p under a key drawn (getrandom) by the process's first
 * mq_hash_init; seed tells tables apart. */
uint32_t mq_hash_bytes(const void *p, size_t len, uint32_t seed);

int  mq_hash_init(mq_hash *h, uint32_t buckets); /* power of two */
void mq_hash_fini(mq_hash *h);
void mq_hash_insert(mq_hash *h, struct mq_hnode *n, uint32_t hash);
void mq_hash_remove(mq_hash *h, struct mq_hnode *n);
/* Grows at once to hold count entries at load 1 (a bulk load: one
 * rehash, not one per doubling).  No memory: stays as it is. */
void mq_hash_reserve(mq_hash *h, uint32_t count);

/* The chain that may hold `hash`; compare n->hash, then the key. */
static inline struct mq_hnode *
mq_hash_chain(const mq_hash *h, uint32_t hash)
{
	return h->b[hash & h->mask];
}

#endif
