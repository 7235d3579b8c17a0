/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * col_tables: clients, sessions, subscriptions and routes, their hash
 * chains, occupancy index and the string arena.
 *
 * Every change follows one pattern: plan the strings (arena blocks are
 * allocated first, so a full arena leaves nothing half-written), make the
 * record's count odd, store, bump the generation, make the count even,
 * then link the slot into its chain and its occupancy index.  Removal runs
 * the other way round; arena blocks are freed only inside the record's odd
 * section, so a reader that copied a reused block always sees the count
 * move and retries.
 */
#include "config.h"

#include "collector/col_impl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#define NO_SLOT UINT32_MAX

/* ---- layout ---- */

static uint64_t
page_up(uint64_t v)
{
	return (v + SHM_PAGE - 1) & ~(uint64_t) (SHM_PAGE - 1);
}

static uint32_t
pow2_at_least(uint32_t v)
{
	uint32_t p = 16;

	while (p < v && p < 0x80000000u)
		p <<= 1;
	return p;
}

static uint64_t
layout_table(struct shm_table_desc *d, uint64_t off, uint32_t cap,
    uint32_t rec_size, bool indexed)
{
	d->cap = cap;
	d->rec_size = rec_size;
	d->slots_off = off;
	off = page_up(off + (uint64_t) cap * rec_size);
	d->occ_off = off;
	off = page_up(off + (uint64_t) cap * 4);
	d->nbuckets = indexed ? pow2_at_least(cap) : 0;
	d->buckets_off = indexed ? off : 0;
	return page_up(off + (uint64_t) d->nbuckets * 4);
}

static uint32_t
cap_or(uint32_t v, uint32_t dflt)
{
	v = v ? v : dflt;
	return v > SHM_TABLE_CAP_MAX ? SHM_TABLE_CAP_MAX : v;
}

uint64_t
col__layout(struct shm_hdr *h, const struct col_config *cfg)
{
	uint32_t clients = cap_or(cfg->max_clients, 131072);
	uint64_t off = sizeof(*h), arena;

	off = layout_table(&h->tables[SHM_T_LISTENERS], off, SHM_LISTENERS_CAP,
	    sizeof(struct shm_rec_listener), false);
	off = layout_table(&h->tables[SHM_T_PLUGINS], off, SHM_PLUGINS_CAP,
	    sizeof(struct shm_rec_plugin), false);
	off = layout_table(&h->tables[SHM_T_CLIENTS], off, clients,
	    sizeof(struct shm_rec_client), true);
	off = layout_table(&h->tables[SHM_T_SESSIONS], off,
	    cap_or(cfg->max_sessions, clients), sizeof(struct shm_rec_session),
	    true);
	off = layout_table(&h->tables[SHM_T_SUBS], off,
	    cap_or(cfg->max_subscriptions, clients * 4u),
	    sizeof(struct shm_rec_sub), true);
	off = layout_table(&h->tables[SHM_T_ROUTES], off,
	    cap_or(cfg->max_routes, clients * 4u),
	    sizeof(struct shm_rec_route), true);
	arena = cfg->string_arena_bytes ? cfg->string_arena_bytes
	                                : UINT64_C(64) << 20;
	/* Offsets in the arena are 32-bit counts of 8-byte units. */
	if (arena > (UINT64_C(1) << 35) - SHM_PAGE)
		arena = (UINT64_C(1) << 35) - SHM_PAGE;
	h->arena_off = off;
	h->arena_size = page_up(arena);
	return off + h->arena_size;
}

int
col__tabs_init(col *c)
{
	unsigned char *base = (unsigned char *) c->hdr;

	for (int i = 0; i < SHM_T_COUNT; i++) {
		struct shm_table_desc *d = &c->hdr->tables[i];
		struct col_tab        *t = &c->t[i];

		t->slots = base + d->slots_off;
		t->occ = (uint32_t *) (base + d->occ_off);
		t->buckets = d->nbuckets ? (uint32_t *) (base + d->buckets_off)
		                         : NULL;
		t->occh = &c->hdr->occ[i];
		t->cap = d->cap;
		t->rec_size = d->rec_size;
		t->mask = d->nbuckets ? d->nbuckets - 1 : 0;
		/* calloc'd pages stay untouched until used, like the
		 * segment's own. */
		t->free = calloc(d->cap, sizeof(uint32_t));
		t->pos = calloc(d->cap, sizeof(uint32_t));
		t->gen = calloc(d->cap, sizeof(uint32_t));
		t->prev = calloc(d->cap, sizeof(uint32_t));
		if (t->free == NULL || t->pos == NULL || t->gen == NULL
		    || t->prev == NULL)
			return -ENOMEM;
	}
	c->arena.base = base + c->hdr->arena_off;
	c->arena.size = c->hdr->arena_size;
	return 0;
}

void
col__tabs_fini(col *c)
{
	for (int i = 0; i < SHM_T_COUNT; i++) {
		free(c->t[i].free);
		free(c->t[i].pos);
		free(c->t[i].gen);
		free(c->t[i].prev);
	}
	for (int k = 0; k < SHM_ARENA_CLASSES; k++)
		free(c->arena.free[k]);
}

/* ---- string arena ---- */

static int
arena_class(size_t len)
{
	int k = 0;

	while ((SHM_ARENA_MIN << k) < len)
		k++;
	return k;
}

/* Returns the block's offset in 8-byte units, or NO_SLOT when full. */
static uint32_t
arena_alloc(struct col_arena *a, size_t len)
{
	int      k = arena_class(len);
	uint64_t sz = (uint64_t) SHM_ARENA_MIN << k;
	uint32_t off;

	if (a->nfree[k] > 0)
		return a->free[k][--a->nfree[k]];
	if (a->bump + sz > a->size)
		return NO_SLOT;
	off = (uint32_t) (a->bump / 8);
	a->bump += sz;
	return off;
}

static void
arena_free(struct col_arena *a, uint32_t off, size_t len)
{
	int k = arena_class(len);

	if (a->nfree[k] == a->capfree[k]) {
		uint32_t  n = a->capfree[k] ? a->capfree[k] * 2 : 64;
		uint32_t *p = realloc(a->free[k], n * sizeof(*p));

		if (p == NULL)
			return; /* the block is lost, nothing worse */
		a->free[k] = p;
		a->capfree[k] = n;
	}
	a->free[k][a->nfree[k]++] = off;
}

/*
 * Places a string: inline in the record's local copy `inl` when it fits
 * after *used bytes, else in a fresh arena block.  Returns 0 or -ENOSPC.
 */
static int
str_plan(col *c, struct shm_sref *ref, void *inl, size_t inl_size,
    size_t *used, const char *s, size_t len)
{
	uint32_t off;

	if (len > SHM_STR_MAX)
		return -ENOSPC;
	if (len <= inl_size - *used) {
		ref->len = (uint32_t) len;
		ref->off = (uint32_t) *used;
		if (len)
			memcpy((char *) inl + *used, s, len);
		*used += (len + 7) & ~(size_t) 7;
		return 0;
	}
	off = arena_alloc(&c->arena, len);
	if (off == NO_SLOT)
		return -ENOSPC;
	ref->len = (uint32_t) len | SHM_SREF_ARENA;
	ref->off = off;
	return 0;
}

/* Inside the odd section: the bytes of an arena string. */
static void
str_store(col *c, const struct shm_sref *ref, const char *s)
{
	if (ref->len & SHM_SREF_ARENA)
		shm_store_bytes(c->arena.base + (uint64_t) ref->off * 8, s,
		    ref->len & SHM_SREF_LEN);
}

/* Inside the odd section (or undoing a failed plan). */
static void
str_release(col *c, const struct shm_sref *ref)
{
	if (ref->len & SHM_SREF_ARENA)
		arena_free(&c->arena, ref->off, ref->len & SHM_SREF_LEN);
}

/* ---- slots, chains, occupancy ---- */

static uint32_t
slot_alloc(struct col_tab *t)
{
	if (t->nfree > 0)
		return t->free[--t->nfree];
	if (t->hwm < t->cap)
		return t->hwm++;
	return NO_SLOT;
}

static void
slot_free(struct col_tab *t, uint32_t slot)
{
	t->free[t->nfree++] = slot;
}

/* The live slot a ref names, or NO_SLOT (COL_NONE, stale, out of range). */
static uint32_t
slot_of(const struct col_tab *t, col_ref ref)
{
	if (ref == COL_NONE || ref > t->hwm)
		return NO_SLOT;
	return (t->gen[ref - 1] & 1) ? ref - 1 : NO_SLOT;
}

/*
 * The slot an update names, checked against the used range only: its
 * generation lives in a writer array whose load would be the one cache
 * miss of an update.  A stale ref is a broker bug; its update lands in a
 * free slot (readers skip it) or a reused one (wrong counters, no harm
 * to the segment's structure).
 */
static uint32_t
slot_fast(const struct col_tab *t, col_ref ref)
{
	return ref != COL_NONE && ref <= t->hwm ? ref - 1 : NO_SLOT;
}

/* The link a new head stores in its `next`: old head or the nulls end. */
static uint32_t
chain_first(const struct col_tab *t, uint32_t b)
{
	uint32_t v = t->buckets[b];

	return v && !SHM_IS_NULLS(v) ? v : SHM_NULLS_OF(b);
}

static void
chain_publish(struct col_tab *t, uint32_t slot, uint32_t b)
{
	uint32_t old = t->buckets[b];

	t->prev[slot] = 0; /* the head: its predecessor is the bucket */
	if (old && !SHM_IS_NULLS(old))
		t->prev[old - 1] = slot + 1;
	/* Release: the record (already stable, even count) and its `next`
	 * before the head that makes it reachable; pairs with the reader's
	 * acquire load of the head. */
	SHM_ST_REL(&t->buckets[b], slot + 1);
}

/* O(1) with the writer's private back links (t->prev). */
static void
chain_unlink(struct col_tab *t, uint32_t slot)
{
	struct shm_rec_head *h = col__rec(t, slot);
	uint32_t             p = t->prev[slot], nxt = h->next;

	/* Relaxed: the successor was published by its own insertion; the
	 * unlinked slot keeps its `next`, so a reader standing on it still
	 * reaches the rest of the chain. */
	if (p == 0)
		SHM_ST(&t->buckets[h->hash & t->mask], nxt);
	else
		SHM_ST(
		    &((struct shm_rec_head *) col__rec(t, p - 1))->next, nxt);
	if (nxt && !SHM_IS_NULLS(nxt))
		t->prev[nxt - 1] = p;
}

static void
occ_add(struct col_tab *t, uint32_t slot)
{
	uint32_t n = t->occh->count;

	SHM_ST(&t->occ[n], slot);
	t->pos[slot] = n;
	/* Release: the new entry before the count that exposes it. */
	SHM_ST_REL(&t->occh->count, n + 1);
}

static void
occ_del(struct col_tab *t, uint32_t slot)
{
	uint32_t p = t->pos[slot], n = t->occh->count - 1;
	uint32_t last = t->occ[n];

	/* Swap-remove under the occupancy count: a reader copying a range
	 * of indices retries instead of seeing the move half done. */
	col__begin(&t->occh->seq);
	SHM_ST(&t->occ[p], last);
	SHM_ST(&t->occh->count, n);
	col__end(&t->occh->seq);
	t->pos[last] = p;
}

/*
 * A record's write section.  Its count comes from a per-table section
 * counter, not from the record: the writer stores into the segment
 * without loading from it, so an update never stalls the broker on a
 * cache miss in the segment (the stores drain from the store buffer).
 * Each section gets values no other section of the table had, so a
 * reader's re-check still sees any write; a false match would need the
 * 32-bit counter to wrap (2^31 sections) while one reader is stopped in
 * the middle of copying one record and then this very record to be
 * written at that exact count.
 */
static inline void
rec_begin(struct col_tab *t, uint32_t slot)
{
	struct shm_rec_head *h = col__rec(t, slot);

	t->wseq += 2;
	SHM_ST(&h->seq, t->wseq - 1);
	/* The odd count before the section's stores; pairs with the
	 * reader's acquire fence before its re-check. */
	shm_fence_rel();
}

static inline void
rec_end(struct col_tab *t, uint32_t slot)
{
	struct shm_rec_head *h = col__rec(t, slot);

	/* Release: the section's stores before the even count; pairs with
	 * the reader's acquire load of the count. */
	SHM_ST_REL(&h->seq, t->wseq);
}

/*
 * Stores a fully built record image (after its {seq, gen} word), makes
 * it live and links it.  `img` must have hash and next filled in.
 */
static void
rec_commit(struct col_tab *t, uint32_t slot, const void *img)
{
	struct shm_rec_head *h = col__rec(t, slot);

	shm_copy_out((char *) h + 8, (const char *) img + 8, t->rec_size - 8);
	/* odd generation: live (still inside the odd section) */
	SHM_ST(&h->gen, ++t->gen[slot]);
}

static void
rec_retire(col *c, struct col_tab *t, uint32_t slot, struct shm_sref *s1,
    struct shm_sref *s2)
{
	struct shm_rec_head *h = col__rec(t, slot);

	chain_unlink(t, slot);
	occ_del(t, slot);
	rec_begin(t, slot);
	if (s1)
		str_release(c, s1);
	if (s2)
		str_release(c, s2);
	/* even generation: free; readers holding (slot, gen) see the bump */
	SHM_ST(&h->gen, ++t->gen[slot]);
	rec_end(t, slot);
	slot_free(t, slot);
}

/* ---- keyed records: the one insert and the lookups of a ref ---- */

/* A string of a record being inserted: where its reference goes in the
 * image, and its bytes. */
struct rec_str {
	struct shm_sref *ref;
	const char      *s;
	size_t           len;
};

/*
 * Inserts a keyed record into table `tab`.  `img` (the table's record
 * type) has its type's own fields filled in and all else zero; `inl` is
 * its inline string buffer.  str[0] is the key the record is chained by;
 * the nstr strings are planned in order, so a full arena releases what
 * was planned before it and leaves nothing half-written.  Returns the
 * new record's ref, or COL_NONE after counting the overflow (`ovf`: the
 * table full; SHM_OVF_STRINGS: the arena).  Inlined into each typed
 * insert, which then loops over a known array: out of line, it cost
 * col_client_connected ~5 ns (2-3 %) in bench/shm.sh.
 */
static inline __attribute__((always_inline)) col_ref
keyed_insert(col *c, int tab, enum shm_overflow ovf, void *img, void *inl,
    size_t inl_size, const struct rec_str *str, int nstr)
{
	struct col_tab      *t = &c->t[tab];
	struct shm_rec_head *h = img;
	size_t               used = 0;
	uint32_t             slot, b;

	slot = slot_alloc(t);
	if (slot == NO_SLOT) {
		col__overflow(c, ovf);
		return COL_NONE;
	}
	for (int i = 0; i < nstr; i++)
		if (str_plan(c, str[i].ref, inl, inl_size, &used, str[i].s,
		        str[i].len)
		    < 0) {
			while (i-- > 0)
				str_release(c, str[i].ref);
			slot_free(t, slot);
			col__overflow(c, SHM_OVF_STRINGS);
			return COL_NONE;
		}
	h->hash = shm_hash32(shm_hash(c->seed, str[0].s, str[0].len));
	b = h->hash & t->mask;
	h->next = chain_first(t, b);

	rec_begin(t, slot);
	rec_commit(t, slot, img);
	for (int i = 0; i < nstr; i++)
		str_store(c, str[i].ref, str[i].s);
	rec_end(t, slot);
	chain_publish(t, slot, b);
	occ_add(t, slot);
	return slot + 1;
}

/* The live record a ref names (its slot in *slot), or NULL: removals. */
static void *
rec_live(col *c, int tab, col_ref ref, uint32_t *slot)
{
	if (c == NULL)
		return NULL;
	*slot = slot_of(&c->t[tab], ref);
	return *slot == NO_SLOT ? NULL : col__rec(&c->t[tab], *slot);
}

/* The record an update names (see slot_fast), or NULL. */
static inline void *
rec_fast(col *c, int tab, col_ref ref, uint32_t *slot)
{
	*slot = slot_fast(&c->t[tab], ref);
	return *slot == NO_SLOT ? NULL : col__rec(&c->t[tab], *slot);
}

/* ---- clients ---- */

static void
fill_peer(struct shm_rec_client *img, const struct sockaddr *sa)
{
	if (sa == NULL)
		return;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *) sa;

		img->family = 4;
		memcpy(img->ip, &in->sin_addr, 4);
		img->port = ntohs(in->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *) sa;

		img->family = 6;
		memcpy(img->ip, &in6->sin6_addr, 16);
		img->port = ntohs(in6->sin6_port);
	}
}

col_ref
col_client_connected(col *c, const struct col_client *cl)
{
	struct shm_rec_client img;

	if (c == NULL || cl == NULL)
		return COL_NONE;
	memset(&img, 0, sizeof(img));
	img.connected_at = cl->connected_at;
	fill_peer(&img, cl->peer);
	img.keepalive = cl->keepalive;
	img.proto_ver = cl->proto_ver;
	img.flags = (cl->clean_sess ? SHM_CF_CLEAN : 0)
	    | (cl->username ? SHM_CF_HAS_USER : 0);
	img.listener = cl->listener;
	/* The username is planned and stored only when there is one. */
	return keyed_insert(c, SHM_T_CLIENTS, SHM_OVF_CLIENTS, &img, img.inl,
	    sizeof(img.inl),
	    (const struct rec_str[]) {
	        { &img.id, cl->client_id, cl->client_id_len },
	        { &img.user, cl->username, cl->username_len } },
	    cl->username ? 2 : 1);
}

void
col_client_disconnected(col *c, col_ref ref)
{
	uint32_t               slot;
	struct shm_rec_client *r = rec_live(c, SHM_T_CLIENTS, ref, &slot);

	if (r != NULL)
		rec_retire(c, &c->t[SHM_T_CLIENTS], slot, &r->id,
		    (r->flags & SHM_CF_HAS_USER) ? &r->user : NULL);
}

/* ---- sessions ---- */

col_ref
col_session_created(col *c, const char *client_id, size_t len, bool clean_sess,
    int64_t created_at)
{
	struct shm_rec_session img;

	if (c == NULL || (client_id == NULL && len))
		return COL_NONE;
	memset(&img, 0, sizeof(img));
	img.created_at = created_at;
	img.clean = clean_sess;
	return keyed_insert(c, SHM_T_SESSIONS, SHM_OVF_SESSIONS, &img, img.inl,
	    sizeof(img.inl),
	    (const struct rec_str[]) { { &img.id, client_id, len } }, 1);
}

void
col_session_update(col *c, col_ref ref, const struct col_session_counts *n)
{
	struct shm_rec_session *r;
	uint32_t                slot;

	if (c == NULL || n == NULL)
		return;
	r = rec_fast(c, SHM_T_SESSIONS, ref, &slot);
	if (r == NULL)
		return;
	rec_begin(&c->t[SHM_T_SESSIONS], slot);
	SHM_ST(&r->connected, (uint8_t) n->connected);
	SHM_ST(&r->subscriptions, n->subscriptions);
	SHM_ST(&r->max_inflight, n->max_inflight);
	SHM_ST(&r->inflight_len, n->inflight_len);
	SHM_ST(&r->mqueue_len, n->mqueue_len);
	SHM_ST(&r->mqueue_dropped, n->mqueue_dropped);
	SHM_ST(&r->awaiting_rel_len, n->awaiting_rel_len);
	SHM_ST(&r->awaiting_ack, n->awaiting_ack);
	SHM_ST(&r->awaiting_comp, n->awaiting_comp);
	SHM_ST(&r->deliver_msg, n->deliver_msg);
	SHM_ST(&r->enqueue_msg, n->enqueue_msg);
	rec_end(&c->t[SHM_T_SESSIONS], slot);
}

void
col_session_removed(col *c, col_ref ref)
{
	uint32_t                slot;
	struct shm_rec_session *r = rec_live(c, SHM_T_SESSIONS, ref, &slot);

	if (r != NULL)
		rec_retire(c, &c->t[SHM_T_SESSIONS], slot, &r->id, NULL);
}

/* ---- subscriptions ---- */

col_ref
col_subscribed(col *c, const char *client_id, size_t id_len, const char *topic,
    size_t topic_len, uint8_t qos)
{
	struct shm_rec_sub img;

	if (c == NULL || (client_id == NULL && id_len)
	    || (topic == NULL && topic_len))
		return COL_NONE;
	memset(&img, 0, sizeof(img));
	img.qos = qos;
	return keyed_insert(c, SHM_T_SUBS, SHM_OVF_SUBSCRIPTIONS, &img,
	    img.inl, sizeof(img.inl),
	    (const struct rec_str[]) { { &img.id, client_id, id_len },
	        { &img.topic, topic, topic_len } },
	    2);
}

void
col_subscription_qos(col *c, col_ref ref, uint8_t qos)
{
	struct shm_rec_sub *r;
	uint32_t            slot;

	if (c == NULL)
		return;
	r = rec_fast(c, SHM_T_SUBS, ref, &slot);
	if (r == NULL)
		return;
	rec_begin(&c->t[SHM_T_SUBS], slot);
	SHM_ST(&r->qos, qos);
	rec_end(&c->t[SHM_T_SUBS], slot);
}

void
col_unsubscribed(col *c, col_ref ref)
{
	uint32_t            slot;
	struct shm_rec_sub *r = rec_live(c, SHM_T_SUBS, ref, &slot);

	if (r != NULL)
		rec_retire(c, &c->t[SHM_T_SUBS], slot, &r->id, &r->topic);
}

/* ---- routes ---- */

col_ref
col_route_added(col *c, const char *topic, size_t len)
{
	struct shm_rec_route img;

	if (c == NULL || (topic == NULL && len))
		return COL_NONE;
	memset(&img, 0, sizeof(img));
	return keyed_insert(c, SHM_T_ROUTES, SHM_OVF_ROUTES, &img, img.inl,
	    sizeof(img.inl),
	    (const struct rec_str[]) { { &img.topic, topic, len } }, 1);
}

void
col_route_removed(col *c, col_ref ref)
{
	uint32_t              slot;
	struct shm_rec_route *r = rec_live(c, SHM_T_ROUTES, ref, &slot);

	if (r != NULL)
		rec_retire(c, &c->t[SHM_T_ROUTES], slot, &r->topic, NULL);
}
