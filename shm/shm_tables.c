/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * shm_tables: copying records out of the four indexed tables, paging
 * through their occupancy index, and lookups through their hash chains.
 *
 * A record copy is a seqcount read: load the count (acquire), copy the
 * record word by word, fence, re-load the count; the strings come from
 * the copy (inline) or the arena, then the count is checked once more
 * because an arena block may be freed and reused while the record's count
 * is odd.  Every index and every string reference is checked against the
 * bounds validated at attach before it is followed.
 */
#include "config.h"

#include "shm/shm_impl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Where the string references sit in each record type. */
struct rec_strs {
	uint8_t n;
	uint8_t off[2];   /* offsetof the shm_sref */
	uint8_t inl_off;  /* offsetof the inline area */
	uint8_t inl_size; /* its size */
};

static const struct rec_strs rec_strs[SHM_T_COUNT] = {
	[SHM_T_CLIENTS] = { 2,
	    { offsetof(struct shm_rec_client, id),
	        offsetof(struct shm_rec_client, user) },
	    offsetof(struct shm_rec_client, inl), SHM_CLIENT_INLINE },
	[SHM_T_SESSIONS] = { 1, { offsetof(struct shm_rec_session, id), 0 },
	    offsetof(struct shm_rec_session, inl), SHM_SESSION_INLINE },
	[SHM_T_SUBS] = { 2,
	    { offsetof(struct shm_rec_sub, id),
	        offsetof(struct shm_rec_sub, topic) },
	    offsetof(struct shm_rec_sub, inl), SHM_SUB_INLINE },
	[SHM_T_ROUTES] = { 1, { offsetof(struct shm_rec_route, topic), 0 },
	    offsetof(struct shm_rec_route, inl), SHM_ROUTE_INLINE },
};

/* A record image, big enough and aligned for any indexed record. */
union rec_img {
	struct shm_rec_head    h;
	struct shm_rec_client  c;
	struct shm_rec_session s;
	struct shm_rec_sub     u;
	struct shm_rec_route   rt;
	uint64_t               w[16];
};

/*
 * Copies the strings of a stable image into scratch.  Returns 1 if any
 * came from the arena (the caller must re-check the count), 0, or
 * -EBADMSG for a reference out of bounds.
 */
static int
copy_strs(shm_reader *r, int t, const union rec_img *img, shm_str out[2])
{
	const struct rec_strs *rs = &rec_strs[t];
	int                    arena = 0;

	for (int i = 0; i < rs->n; i++) {
		struct shm_sref ref;
		char    *dst = r->scratch + (size_t) i * SHM_SCRATCH_STR;
		uint32_t len;

		memcpy(&ref, (const char *) img + rs->off[i], sizeof(ref));
		if (ref.len & ~(SHM_SREF_ARENA | SHM_SREF_LEN))
			return -EBADMSG;
		len = ref.len & SHM_SREF_LEN;
		if (ref.len & SHM_SREF_ARENA) {
			uint64_t off = (uint64_t) ref.off * 8;

			if (!(off <= r->arena_size
			        && len <= r->arena_size - off))
				return -EBADMSG;
			shm_load_bytes(dst, r->base + r->arena_off + off, len);
			arena = 1;
		} else {
			if (ref.off > rs->inl_size
			    || len > rs->inl_size - ref.off)
				return -EBADMSG;
			memcpy(dst, (const char *) img + rs->inl_off + ref.off,
			    len);
		}
		dst[len] = '\0';
		out[i].ptr = dst;
		out[i].len = len;
	}
	return arena;
}

/*
 * Reads record `slot` of table t into img and its strings into out.
 * Returns 1 (live), 0 (free slot), -EAGAIN or -EBADMSG.
 */
static int
read_rec(
    shm_reader *r, int t, uint32_t slot, union rec_img *img, shm_str out[2])
{
	const unsigned char *rec;
	const uint32_t      *seq;

	if (slot >= r->tab[t].cap)
		return -EBADMSG;
	rec = shm__rec_at(r, t, slot);
	seq = (const uint32_t *) rec;
	for (unsigned n = 0;; n++) {
		/* Acquire: pairs with the writer's release store of the even
		 * count, so the copy sees every store of that section. */
		uint32_t s = SHM_LD_ACQ(seq);
		int      rc;

		if (s & 1)
			goto retry;
		shm_copy_in(img, rec, r->tab[t].rec_size);
		/* The copy's loads before the re-check (pairs with the
		 * writer's release fence after the odd count). */
		shm_fence_acq();
		if (SHM_LD(seq) != s)
			goto retry;
		if (!(img->h.gen & 1))
			return 0;
		rc = copy_strs(r, t, img, out);
		if (rc < 0)
			return rc; /* a stable image with a bad reference */
		if (rc == 0)
			return 1;
		/* Arena loads before the re-check: a block is only reused
		 * after its owner's count moved. */
		shm_fence_acq();
		if (SHM_LD(seq) == s)
			return 1;
	retry:
		if (!shm__backoff(r, n))
			return -EAGAIN;
	}
}

/* Dotted quad without inet_ntop's locale-free but general-purpose cost:
 * a page formats twenty of these. */
static void
fmt_ipv4(const uint8_t ip[4], char *out)
{
	for (int i = 0; i < 4; i++) {
		unsigned v = ip[i];

		if (v >= 100)
			*out++ = (char) ('0' + v / 100);
		if (v >= 10)
			*out++ = (char) ('0' + v / 10 % 10);
		*out++ = (char) ('0' + v % 10);
		*out++ = i < 3 ? '.' : '\0';
	}
}

static void
to_client(const union rec_img *img, const shm_str s[2], shm_client *c)
{
	const struct shm_rec_client *rc = &img->c;

	memset(c, 0, sizeof(*c));
	c->client_id = s[0];
	c->has_username = (rc->flags & SHM_CF_HAS_USER) != 0;
	if (c->has_username)
		c->username = s[1];
	if (rc->family == 4)
		fmt_ipv4(rc->ip, c->ipaddress);
	else if (rc->family == 6)
		inet_ntop(
		    AF_INET6, rc->ip, c->ipaddress, sizeof(c->ipaddress));
	c->port = rc->port;
	c->clean_sess = (rc->flags & SHM_CF_CLEAN) != 0;
	c->proto_ver = rc->proto_ver;
	c->keepalive = rc->keepalive;
	c->connected_at = rc->connected_at;
	c->listener = rc->listener;
}

static void
to_session(const union rec_img *img, const shm_str s[2], shm_session *o)
{
	const struct shm_rec_session *rs = &img->s;

	memset(o, 0, sizeof(*o));
	o->client_id = s[0];
	o->clean_sess = rs->clean != 0;
	o->connected = rs->connected != 0;
	o->created_at = rs->created_at;
	o->subscriptions = rs->subscriptions;
	o->max_inflight = rs->max_inflight;
	o->inflight_len = rs->inflight_len;
	o->mqueue_len = rs->mqueue_len;
	o->mqueue_dropped = rs->mqueue_dropped;
	o->awaiting_rel_len = rs->awaiting_rel_len;
	o->awaiting_ack = rs->awaiting_ack;
	o->awaiting_comp = rs->awaiting_comp;
	o->deliver_msg = rs->deliver_msg;
	o->enqueue_msg = rs->enqueue_msg;
}

/* One callback shape for all four tables, dispatched on t. */
struct visit {
	int   t;
	void *cb;
	void *arg;
};

static int
deliver(shm_reader *r, const struct visit *v, const union rec_img *img,
    const shm_str s[2])
{
	switch (v->t) {
	case SHM_T_CLIENTS: {
		shm_client c;

		to_client(img, s, &c);
		return ((shm_client_cb) v->cb)(&c, v->arg);
	}
	case SHM_T_SESSIONS: {
		shm_session o;

		to_session(img, s, &o);
		return ((shm_session_cb) v->cb)(&o, v->arg);
	}
	case SHM_T_SUBS: {
		shm_subscription o = { s[0], s[1], img->u.qos };

		return ((shm_subscription_cb) v->cb)(&o, v->arg);
	}
	default: {
		shm_route o = { s[0], { r->node, r->node_len } };

		return ((shm_route_cb) v->cb)(&o, v->arg);
	}
	}
}

/*
 * Copies up to `want` slot indices from position `pos` of the occupancy
 * index.  Returns how many, or -errno.
 */
static int
occ_snapshot(shm_reader *r, int t, uint64_t pos, uint32_t want)
{
	const struct shm_occ *oh = &shm__hdr(r)->occ[t];
	const uint32_t *occ = (const uint32_t *) (r->base + r->tab[t].occ_off);

	for (unsigned n = 0;; n++) {
		/* Acquire: pairs with the writer's release of the even count
		 * after a swap-remove and of `count` after an append. */
		uint32_t s = SHM_LD_ACQ(&oh->seq);
		uint32_t cnt = 0, total;

		if (s & 1)
			goto retry;
		/* Acquire: an appended entry before the count that exposes
		 * it (occ_add's release store). */
		total = SHM_LD_ACQ(&oh->count);
		if (total > r->tab[t].cap) {
			/* Is the bad count stable?  Loads before re-check. */
			shm_fence_acq();
			if (SHM_LD(&oh->seq) == s)
				return -EBADMSG;
			goto retry;
		}
		if (pos < total)
			cnt = total - pos < want ? (uint32_t) (total - pos)
			                         : want;
		for (uint32_t i = 0; i < cnt; i++)
			r->idx[i] = SHM_LD(&occ[pos + i]);
		/* The index loads before the re-check. */
		shm_fence_acq();
		if (SHM_LD(&oh->seq) == s)
			return (int) cnt;
	retry:
		if (!shm__backoff(r, n))
			return -EAGAIN;
	}
}

static int
page(shm_reader *r, const struct visit *v, uint64_t offset, uint32_t limit)
{
	union rec_img img;
	shm_str       s[2];
	int           visited = 0;

	if (r == NULL || v->cb == NULL)
		return -EINVAL;
	shm__call(r);
	while (limit > 0) {
		uint32_t want
		    = limit < SHM_PAGE_CHUNK ? limit : SHM_PAGE_CHUNK;
		int cnt = occ_snapshot(r, v->t, offset, want);

		if (cnt <= 0)
			return cnt < 0 ? cnt : visited;
		for (int i = 0; i < cnt; i++) {
			int rc = read_rec(r, v->t, r->idx[i], &img, s);

			if (rc < 0)
				return rc;
			if (rc == 0)
				continue; /* removed since the snapshot */
			rc = deliver(r, v, &img, s);
			if (rc)
				return rc;
			if (visited < INT32_MAX)
				visited++;
		}
		offset += (uint32_t) cnt;
		limit -= (uint32_t) cnt;
	}
	return visited;
}

int
shm_clients_page(shm_reader *r, uint64_t offset, uint32_t limit,
    shm_client_cb cb, void *arg)
{
	struct visit v = { SHM_T_CLIENTS, (void *) cb, arg };

	return page(r, &v, offset, limit);
}

int
shm_sessions_page(shm_reader *r, uint64_t offset, uint32_t limit,
    shm_session_cb cb, void *arg)
{
	struct visit v = { SHM_T_SESSIONS, (void *) cb, arg };

	return page(r, &v, offset, limit);
}

int
shm_subscriptions_page(shm_reader *r, uint64_t offset, uint32_t limit,
    shm_subscription_cb cb, void *arg)
{
	struct visit v = { SHM_T_SUBS, (void *) cb, arg };

	return page(r, &v, offset, limit);
}

int
shm_routes_page(
    shm_reader *r, uint64_t offset, uint32_t limit, shm_route_cb cb, void *arg)
{
	struct visit v = { SHM_T_ROUTES, (void *) cb, arg };

	return page(r, &v, offset, limit);
}

/*
 * Remembers (slot, gen) delivered by a multi-record lookup: an open-
 * addressing set whose entries carry the lookup's epoch, so starting a
 * new lookup clears it in O(1).  Returns 1 if new, 0 if seen, -ENOMEM.
 */
static int
seen_grow(shm_reader *r)
{
	size_t           n = r->capseen ? r->capseen * 2 : 64;
	struct shm_seen *p = calloc(n, sizeof(*p)), *old = r->seen;
	size_t           oldcap = r->capseen;

	if (p == NULL)
		return -ENOMEM;
	r->seen = p;
	r->capseen = n;
	r->nseen = 0;
	for (size_t i = 0; i < oldcap; i++) {
		struct shm_seen *e = &old[i];

		if (e->epoch == r->seen_epoch) {
			size_t k = (e->slot * 2654435761u) & (n - 1);

			while (p[k].epoch == r->seen_epoch)
				k = (k + 1) & (n - 1);
			p[k] = *e;
			r->nseen++;
		}
	}
	free(old);
	return 0;
}

static int
seen_add(shm_reader *r, uint32_t slot, uint32_t gen)
{
	size_t k;

	if ((r->nseen + 1) * 2 > r->capseen && seen_grow(r) < 0)
		return -ENOMEM;
	k = (slot * 2654435761u) & (r->capseen - 1);
	while (r->seen[k].epoch == r->seen_epoch) {
		if (r->seen[k].slot == slot && r->seen[k].gen == gen)
			return 0;
		k = (k + 1) & (r->capseen - 1);
	}
	r->seen[k].slot = slot;
	r->seen[k].gen = gen;
	r->seen[k].epoch = r->seen_epoch;
	r->nseen++;
	return 1;
}

/*
 * Walks the chain of `key` in table t and delivers every live record
 * whose first string equals the key (all of them if `multi`, else the
 * first).  A walk that ends on another bucket's nulls marker followed a
 * reused slot and restarts; `seen` keeps restarts from delivering twice.
 */
static int
lookup(shm_reader *r, const struct visit *v, const char *key, size_t len,
    bool multi)
{
	const struct shm_table_desc *d;
	const uint32_t              *buckets;
	uint32_t                     h32, b;
	int                          found = 0;

	if (r == NULL || v->cb == NULL || (key == NULL && len))
		return -EINVAL;
	if (len > SHM_STR_MAX)
		return 0;
	shm__call(r);
	d = &r->tab[v->t];
	buckets = (const uint32_t *) (r->base + d->buckets_off);
	h32 = shm_hash32(shm_hash(r->seed, key, len));
	b = h32 & (d->nbuckets - 1);
	if (++r->seen_epoch == 0) { /* wrapped: forget every old entry */
		if (r->seen)
			memset(r->seen, 0, r->capseen * sizeof(*r->seen));
		r->seen_epoch = 1;
	}
	r->nseen = 0;
	for (unsigned n = 0;; n++) {
		/* Acquire: pairs with the release store that published the
		 * head record (chain_publish). */
		uint32_t link = SHM_LD_ACQ(&buckets[b]);
		uint64_t steps = 0;

		while (link != 0 && !SHM_IS_NULLS(link)) {
			union rec_img img;
			shm_str       s[2];
			uint32_t      slot = link - 1;
			int           rc;

			if (slot >= d->cap || ++steps > (uint64_t) d->cap + 1)
				return -EBADMSG;
			const struct shm_rec_head *rh
			    = (const void *) shm__rec_at(r, v->t, slot);
			if (SHM_LD(&rh->hash) == h32) {
				rc = read_rec(r, v->t, slot, &img, s);
				if (rc < 0)
					return rc;
				if (rc == 1 && s[0].len == len
				    && memcmp(s[0].ptr, key, len) == 0
				    && (!multi
				        || (rc = seen_add(r, slot, img.h.gen))
				            != 0)) {
					if (rc < 0)
						return rc;
					rc = deliver(r, v, &img, s);
					if (rc)
						return rc;
					found++;
					if (!multi)
						return found;
				}
			}
			/* Acquire: the next record's publication. */
			link = SHM_LD_ACQ(&rh->next);
		}
		if (link == 0 || SHM_NULLS_BKT(link) == b)
			return found;
		if (!shm__backoff(r, n))
			return -EAGAIN;
	}
}

int
shm_client_get(
    shm_reader *r, const char *id, size_t id_len, shm_client_cb cb, void *arg)
{
	struct visit v = { SHM_T_CLIENTS, (void *) cb, arg };

	return lookup(r, &v, id, id_len, false);
}

int
shm_session_get(
    shm_reader *r, const char *id, size_t id_len, shm_session_cb cb, void *arg)
{
	struct visit v = { SHM_T_SESSIONS, (void *) cb, arg };

	return lookup(r, &v, id, id_len, false);
}

int
shm_subscriptions_of(shm_reader *r, const char *id, size_t id_len,
    shm_subscription_cb cb, void *arg)
{
	struct visit v = { SHM_T_SUBS, (void *) cb, arg };

	return lookup(r, &v, id, id_len, true);
}

int
shm_routes_of(shm_reader *r, const char *topic, size_t topic_len,
    shm_route_cb cb, void *arg)
{
	struct visit v = { SHM_T_ROUTES, (void *) cb, arg };

	return lookup(r, &v, topic, topic_len, false);
}
