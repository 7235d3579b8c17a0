/* mq_hash: intrusive chained hash table (see mq_hash.h). */
#include "config.h"

#include "broker/mq_hash.h"

#include <errno.h>
#include <stdlib.h>

uint32_t
mq_hash_bytes(const void *p, size_t len, uint32_t seed)
{
	const uint8_t *s = p;
	uint32_t       h = 2166136261u ^ seed;

	for (size_t i = 0; i < len; i++) {
		h ^= s[i];
		h *= 16777619u;
	}
	return h ^ (h >> 15);
}

int
mq_hash_init(mq_hash *h, uint32_t buckets)
{
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

int
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
	return 0;
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
