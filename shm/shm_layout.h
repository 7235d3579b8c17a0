/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * shm_layout: the bytes of the segment, shared by the writer (collector/)
 * and the readers (shm/).  Not a public API: only these two modules
 * include it.  Every field is pinned with _Static_assert so that a change
 * of layout is a conscious bump of SHM_LAYOUT_VERSION.
 *
 *  offset 0
 *  +------------------------------------------------------------------+
 *  | shm_hdr (4 KiB)                                                  |
 *  |   line 0..: magic, version, size, boot id, hash seed, pid, node,  |
 *  |             version, sysdescr, table descriptors (immutable)     |
 *  |   proc line:    seqcount + heartbeat + process figures           |
 *  |   overflow line: 5 x u64                                         |
 *  |   occ lines:    per table {seq, count} (one 128-byte line each)  |
 *  |   stats latch:  seq + 2 x 14 x u64                               |
 *  |   metrics:      38 x u64 (own lines, writer-hot)                 |
 *  +------------------------------------------------------------------+
 *  | listeners  [cap 32]  x 256 B  seqcount records                   |
 *  | plugins    [cap 64]  x 256 B                                     |
 *  | clients    [cap C]   x 128 B  | occ u32[C] | buckets u32[2^k>=C] |
 *  | sessions   [cap S]   x 128 B  | occ u32[S] | buckets u32[..]     |
 *  | subs       [cap U]   x 128 B  | occ u32[U] | buckets u32[..]     |
 *  | routes     [cap R]   x 128 B  | occ u32[R] | buckets u32[..]     |
 *  | string arena (size-class blocks 64 B .. 64 KiB)                  |
 *  +------------------------------------------------------------------+
 *
 * Each region starts on a 4 KiB boundary; the file is ftruncate()d to the
 * full size and pages are only touched as slots are first used.
 *
 * Records: word 0 is {seq, gen}.  seq is odd while the writer changes
 * the record; gen is odd while the slot is live and is bumped on every
 * allocation and every free, so a reader holding (slot, gen) notices reuse.
 * Hash chains link slots through `next` (slot + 1); a chain ends with a
 * "nulls" marker naming its bucket, so a reader that followed a slot which
 * was freed and reused into another chain ends on a foreign marker and
 * restarts (the hlist_nulls idea of SLAB_TYPESAFE_BY_RCU caches).
 */
#ifndef SHM_LAYOUT_H
#define SHM_LAYOUT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "shm/shm.h"

#define SHM_MAGIC          UINT64_C(0x314745534454514d) /* "MQTDSEG1" */
#define SHM_LAYOUT_VERSION 1u
#define SHM_LINE           128 /* x86 pairs 64-byte lines: urcu uses 128 */
#define SHM_PAGE           4096u
#define SHM_STR_MAX        65535u /* MQTT's longest string */

/* Tables, in descriptor order. */
enum shm_table {
	SHM_T_LISTENERS,
	SHM_T_PLUGINS,
	SHM_T_CLIENTS,
	SHM_T_SESSIONS,
	SHM_T_SUBS,
	SHM_T_ROUTES,
	SHM_T_COUNT
};

#define SHM_LISTENERS_CAP 32u
#define SHM_PLUGINS_CAP   64u
#define SHM_TABLE_CAP_MAX 0x7ffffffeu /* indices and nulls share 32 bits */

/* Immutable after creation; readers copy and validate it once. */
struct shm_table_desc {
	uint64_t slots_off;   /* byte offset of the record array */
	uint64_t occ_off;     /* u32[cap]: live slot indices, dense */
	uint64_t buckets_off; /* u32[nbuckets]: chain heads; 0 if none */
	uint32_t cap;         /* number of record slots */
	uint32_t rec_size;    /* bytes per record */
	uint32_t nbuckets;    /* power of two, or 0 (listeners, plugins) */
	uint32_t pad;
};
_Static_assert(sizeof(struct shm_table_desc) == 40, "table desc size");

/* One per table, each on its own line: the occupancy index's guard. */
struct shm_occ {
	uint32_t seq;   /* odd while the writer swap-removes */
	uint32_t count; /* live records = occ[0 .. count) */
	uint8_t  pad[SHM_LINE - 8];
};

/* Heartbeat and process figures, one seqcount block. */
struct shm_proc {
	uint32_t seq;
	uint32_t pad;
	int64_t  heartbeat_ms; /* CLOCK_REALTIME */
	uint64_t mem_total, mem_used, fds_used, fds_max, clients_max_conf;
	uint8_t  pad2[SHM_LINE - 56];
};

/* Two-copy latch: readers read copy[seq & 1], which is never the one
 * being written (Linux's seqcount_latch). */
struct shm_stats_latch {
	uint32_t seq;
	uint32_t pad;
	uint64_t copy[2][SHM_STAT_COUNT];
	uint8_t  pad2[256 - 8 - 2 * 8 * SHM_STAT_COUNT];
};

struct shm_hdr {
	uint64_t magic;          /* stored last at creation, with release */
	uint32_t layout_version; /* SHM_LAYOUT_VERSION */
	uint32_t hdr_size;       /* sizeof(struct shm_hdr) */
	uint64_t size;           /* bytes of the whole segment */
	uint64_t boot_id;        /* random per broker start */
	uint64_t hash_seed;      /* random per broker start */
	int64_t  started_at;     /* unix seconds */
	int32_t  pid;            /* written first, for leftover detection */
	uint32_t closed;         /* 1 once col_close() ran */
	char     node[256];
	char     version[32];
	char     sysdescr[64];
	struct shm_table_desc tables[SHM_T_COUNT];
	uint64_t              arena_off;  /* string arena */
	uint64_t              arena_size; /* bytes, multiple of 8 */
	uint8_t               pad0[768 - 664];

	struct shm_proc proc __attribute__((aligned(SHM_LINE)));
	uint64_t        overflow[SHM_OVERFLOW_COUNT]
	    __attribute__((aligned(SHM_LINE)));
	struct shm_occ occ[SHM_T_COUNT] __attribute__((aligned(SHM_LINE)));
	struct shm_stats_latch stats __attribute__((aligned(SHM_LINE)));
	/* Written on every packet: kept away from everything readers poll. */
	uint64_t metrics[SHM_METRIC_COUNT] __attribute__((aligned(SHM_LINE)));
	/* The store's figures (once per commit); zero in a segment of a
	 * broker without them, so the layout version did not change. */
	uint64_t store[SHM_STORE_FIG_COUNT] __attribute__((aligned(SHM_LINE)));
	uint8_t  tail_pad[4096 - 2432 - 8 * SHM_STORE_FIG_COUNT];
};

_Static_assert(offsetof(struct shm_hdr, magic) == 0, "hdr layout");
_Static_assert(offsetof(struct shm_hdr, layout_version) == 8, "hdr layout");
_Static_assert(offsetof(struct shm_hdr, size) == 16, "hdr layout");
_Static_assert(offsetof(struct shm_hdr, boot_id) == 24, "hdr layout");
_Static_assert(offsetof(struct shm_hdr, hash_seed) == 32, "hdr layout");
_Static_assert(offsetof(struct shm_hdr, started_at) == 40, "hdr layout");
_Static_assert(offsetof(struct shm_hdr, pid) == 48, "hdr layout");
_Static_assert(offsetof(struct shm_hdr, closed) == 52, "hdr layout");
_Static_assert(offsetof(struct shm_hdr, node) == 56, "hdr layout");
_Static_assert(offsetof(struct shm_hdr, version) == 312, "hdr layout");
_Static_assert(offsetof(struct shm_hdr, sysdescr) == 344, "hdr layout");
_Static_assert(offsetof(struct shm_hdr, tables) == 408, "hdr layout");
_Static_assert(offsetof(struct shm_hdr, arena_off) == 648, "hdr layout");
_Static_assert(offsetof(struct shm_hdr, proc) == 768, "hdr layout");
_Static_assert(offsetof(struct shm_hdr, overflow) == 896, "hdr layout");
_Static_assert(offsetof(struct shm_hdr, occ) == 1024, "hdr layout");
_Static_assert(offsetof(struct shm_hdr, stats) == 1792, "hdr layout");
_Static_assert(offsetof(struct shm_hdr, metrics) == 2048, "hdr layout");
_Static_assert(offsetof(struct shm_hdr, store) == 2432, "hdr layout");
_Static_assert(sizeof(struct shm_hdr) == 4096, "hdr size");

/*
 * A string: len (bit 31 set: in the arena) and off (inline: byte offset in
 * the record's inline area; arena: offset in 8-byte units).
 */
struct shm_sref {
	uint32_t len;
	uint32_t off;
};
#define SHM_SREF_ARENA 0x80000000u
#define SHM_SREF_LEN   0x0000ffffu

/* Chain links: 0 = empty head, slot + 1, or a nulls marker. */
#define SHM_NULLS        0x80000000u
#define SHM_NULLS_OF(b)  (SHM_NULLS | (uint32_t) (b))
#define SHM_IS_NULLS(v)  (((v) &SHM_NULLS) != 0)
#define SHM_NULLS_BKT(v) ((v) & ~SHM_NULLS)

#define SHM_CLIENT_INLINE 56
struct shm_rec_client {
	uint32_t        seq, gen;
	uint32_t        hash, next;
	struct shm_sref id, user;
	int64_t         connected_at;
	uint8_t         ip[16];
	uint16_t        port, keepalive;
	uint8_t         family; /* 4 or 6 */
	uint8_t         proto_ver;
	uint8_t         flags; /* SHM_CF_* */
	uint8_t         pad;
	uint32_t        listener;
	uint32_t        pad2;
	uint64_t        inl[SHM_CLIENT_INLINE / 8];
};
#define SHM_CF_CLEAN    1u
#define SHM_CF_HAS_USER 2u
_Static_assert(sizeof(struct shm_rec_client) == 128, "client rec");
_Static_assert(offsetof(struct shm_rec_client, inl) == 72, "client rec");

#define SHM_SESSION_INLINE 40
struct shm_rec_session {
	uint32_t        seq, gen;
	uint32_t        hash, next;
	struct shm_sref id;
	int64_t         created_at;
	uint8_t         clean, connected, pad[2];
	uint32_t        subscriptions;
	uint32_t        max_inflight, inflight_len, mqueue_len;
	uint32_t        awaiting_rel_len, awaiting_ack, awaiting_comp;
	uint64_t        mqueue_dropped, deliver_msg, enqueue_msg;
	uint64_t        inl[SHM_SESSION_INLINE / 8];
};
_Static_assert(sizeof(struct shm_rec_session) == 128, "session rec");
_Static_assert(offsetof(struct shm_rec_session, inl) == 88, "session rec");

#define SHM_SUB_INLINE 88
struct shm_rec_sub {
	uint32_t        seq, gen;
	uint32_t        hash, next; /* chained by client id */
	struct shm_sref id, topic;
	uint8_t         qos, pad[7];
	uint64_t        inl[SHM_SUB_INLINE / 8];
};
_Static_assert(sizeof(struct shm_rec_sub) == 128, "sub rec");
_Static_assert(offsetof(struct shm_rec_sub, inl) == 40, "sub rec");

#define SHM_ROUTE_INLINE 104
struct shm_rec_route {
	uint32_t        seq, gen;
	uint32_t        hash, next; /* chained by topic */
	struct shm_sref topic;
	uint64_t        inl[SHM_ROUTE_INLINE / 8];
};
_Static_assert(sizeof(struct shm_rec_route) == 128, "route rec");
_Static_assert(offsetof(struct shm_rec_route, inl) == 24, "route rec");

struct shm_rec_listener {
	uint32_t seq, gen;
	char     protocol[32];
	char     listen[128];
	uint32_t acceptors, max_clients, current_clients, pad;
	uint64_t shutdown[SHM_SHUTDOWN_COUNT];
};
_Static_assert(sizeof(struct shm_rec_listener) == 256, "listener rec");
_Static_assert(offsetof(struct shm_rec_listener, shutdown) == 184, "lsn");

struct shm_rec_plugin {
	uint32_t seq, gen;
	char     name[64];
	char     version[16];
	char     description[128];
	uint32_t active, pad;
	uint8_t  pad2[256 - 224];
};
_Static_assert(sizeof(struct shm_rec_plugin) == 256, "plugin rec");
_Static_assert(offsetof(struct shm_rec_plugin, active) == 216, "plugin rec");

/* String arena size classes: 64 B << k, k = 0 .. 10 (64 KiB). */
#define SHM_ARENA_MIN     64u
#define SHM_ARENA_CLASSES 11

/*
 * The key hash, shared by writer and readers: FNV-1a 64 started from the
 * per-boot seed, so client ids cannot be chosen to collide in advance.
 */
static inline uint64_t
shm_hash(uint64_t seed, const void *p, size_t len)
{
	const unsigned char *s = p;
	uint64_t             h = UINT64_C(0xcbf29ce484222325) ^ seed;

	for (size_t i = 0; i < len; i++) {
		h ^= s[i];
		h *= UINT64_C(0x100000001b3);
	}
	return h ^ (h >> 29);
}

/*
 * A record stores the low 32 bits of its key's hash; the bucket is
 * hash & (nbuckets - 1), so readers filter a chain on the remaining bits.
 */
static inline uint32_t
shm_hash32(uint64_t h)
{
	return (uint32_t) h;
}

/* The prefix shared by the four indexed record types. */
struct shm_rec_head {
	uint32_t seq, gen;
	uint32_t hash, next;
};

/*
 * The clock of shm_proc.heartbeat_ms, for the writer that stamps it and the
 * readers that judge its age: CLOCK_REALTIME in milliseconds.
 */
static inline int64_t
shm_heartbeat_clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif
