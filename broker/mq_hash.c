/* SPDX-License-Identifier: BSD-2-Clause */
/* mq_hash: intrusive chained hash table (see mq_hash.h). */
#include "config.h"

#include "broker/mq_hash.h"

#include <assert.h>
#include <endian.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

/*
 * SipHash-1-3 (Aumasson and Bernstein; Redis keys its dicts the same way)
 * under a key drawn per process: client ids and topics are chosen by
 * clients, and with a fixed function (the FNV-1a this replaced) anyone
 * can compute keys that share a bucket and turn every lookup into a walk
 * of one long chain.  The caller's seed only separates tables.
 */
static uint64_t hash_key[2];
static bool     hash_keyed;

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND(v0, v1, v2, v3)                                              \
	do {                                                                  \
		v0 += v1;                                                     \
		v1 = ROTL(v1, 13);                                            \
		v1 ^= v0;                                                     \
		v0 = ROTL(v0, 32);                                            \
		v2 += v3;                                                     \
		v3 = ROTL(v3, 16);                                            \
		v3 ^= v2;                                                     \
		v0 += v3;                                                     \
		v3 = ROTL(v3, 21);                                            \
		v3 ^= v0;                                                     \
		v2 += v1;                                                     \
		v1 = ROTL(v1, 17);                                            \
		v1 ^= v2;                                                     \
		v2 = ROTL(v2, 32);                                            \
	} while (0)

static int
hash_seed(void)
{
	size_t got = 0;

	while (got < sizeof(hash_key)) {
		ssize_t n = getrandom(
		    (char *) hash_key + got, sizeof(hash_key) - got, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		got += (size_t) n;
	}
	hash_keyed = true;
	return 0;
}

uint32_t
mq_hash_bytes(const void *p, size_t len, uint32_t seed)
{
	const uint8_t *s = p;
	uint64_t       k0 = hash_key[0] ^ seed, k1 = hash_key[1];
	uint64_t       v0 = 0x736f6d6570736575ULL ^ k0;
	uint64_t       v1 = 0x646f72616e646f6dULL ^ k1;
	uint64_t       v2 = 0x6c7967656e657261ULL ^ k0;
	uint64_t       v3 = 0x7465646279746573ULL ^ k1;
	uint64_t       b = (uint64_t) len << 56, m;
	size_t         i, tail = len & 7;

	assert(hash_keyed);
	for (i = 0; i + 8 <= len; i += 8) {
		memcpy(&m, s + i, 8);
		m = le64toh(m);
		v3 ^= m;
		SIPROUND(v0, v1, v2, v3);
		v0 ^= m;
	}
	for (size_t j = 0; j < tail; j++)
		b |= (uint64_t) s[i + j] << (8 * j);
	v3 ^= b;
	SIPROUND(v0, v1, v2, v3);
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	b = v0 ^ v1 ^ v2 ^ v3;
	return (uint32_t) (b ^ (b >> 32));
}

int
mq_hash_init(mq_hash *h, uint32_t buckets)
{
	/* every table is made before any key is hashed: the first one
	 * draws the key (tables live in the broker's loop thread only) */
	if (!hash_keyed) {
		int rc = hash_seed();

		if (rc != 0)
			return rc;
	}
	h->b = calloc(buckets, sizeof(*h->b));
	if (h->b == NULL)
		return -ENOMEM;
	h->mask = buckets - 1;
	h->count = 0;
	return 0;
}

void
mq_hash_fini(mq_hash *h)
{
	free(h->b);
	h->b = NULL;
}

/* Rehashes into n buckets (a power of two). */
static void
rehash(mq_hash *h, uint32_t n)
{
	struct mq_hnode **b = calloc(n, sizeof(*b));

	if (b == NULL)
		return; /* keep the longer chains; still correct */
	for (uint32_t i = 0; i <= h->mask; i++) {
		struct mq_hnode *e = h->b[i], *next;

		for (; e != NULL; e = next) {
			next = e->next;
			e->next = b[e->hash & (n - 1)];
			b[e->hash & (n - 1)] = e;
		}
	}
	free(h->b);
	h->b = b;
	h->mask = n - 1;
}

static void
grow(mq_hash *h)
{
	rehash(h, (h->mask + 1) * 2);
}

void
mq_hash_reserve(mq_hash *h, uint32_t count)
{
	uint32_t n = h->mask + 1;

	while (n < count && n < (1u << 31))
		n *= 2;
	if (n != h->mask + 1)
		rehash(h, n);
}

void
mq_hash_insert(mq_hash *h, struct mq_hnode *n, uint32_t hash)
{
	struct mq_hnode **slot;

	if (h->count > h->mask)
		grow(h);
	n->hash = hash;
	slot = &h->b[hash & h->mask];
	n->next = *slot;
	*slot = n;
	h->count++;
}

void
mq_hash_remove(mq_hash *h, struct mq_hnode *n)
{
	struct mq_hnode **pp = &h->b[n->hash & h->mask];

	for (; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == n) {
			*pp = n->next;
			h->count--;
			return;
		}
	}
}
