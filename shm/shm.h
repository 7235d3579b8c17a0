/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * shm: the segment that mirrors the broker's state, and its read side.
 *
 * The broker (through collector/) is the single writer of one POSIX
 * shared-memory object per node; any number of reader processes (the API
 * workers, mqttdctl) map it PROT_READ and never write to it.  Records live
 * in type-stable slots guarded by sequence counts: a reader copies a
 * record and retries if the count moved, so a reader never blocks the
 * writer, and a reader that dies or stops costs the writer nothing.
 *
 * Readers treat the segment as untrusted input: every index, offset and
 * length is bound-checked and every loop is bounded.  A corrupt segment
 * makes a call fail with -EBADMSG; it never crashes or hangs the reader.
 *
 * Errors: every int-returning function returns 0 (or a count) on success
 * and a negative errno on failure:
 *   -ENOENT   no segment (broker not running) or no such record
 *   -ESTALE   the broker restarted (boot id changed) or stopped
 *             heartbeating; call shm_reader_refresh()
 *   -EBADMSG  the segment is corrupt or of another layout version
 *   -EAGAIN   a record kept changing under the reader (bounded retries)
 *   -EPERM    the segment's owner or mode is not trusted
 *
 * Strings handed to callbacks are copies in reader-owned scratch memory,
 * valid only for the duration of the callback; they are NOT
 * NUL-terminated, always use the length.  A shm_reader is not thread-safe:
 * use one per thread.
 */
#ifndef SHM_H
#define SHM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The 38 metrics of EMQ 2.3, in the doc's naming; shm_metric_name(). */
enum shm_metric {
	SHM_M_BYTES_RECEIVED,
	SHM_M_BYTES_SENT,
	SHM_M_PACKETS_RECEIVED,
	SHM_M_PACKETS_SENT,
	SHM_M_PACKETS_CONNECT,
	SHM_M_PACKETS_CONNACK,
	SHM_M_PACKETS_PUBLISH_RECEIVED,
	SHM_M_PACKETS_PUBLISH_SENT,
	SHM_M_PACKETS_PUBACK_RECEIVED,
	SHM_M_PACKETS_PUBACK_SENT,
	SHM_M_PACKETS_PUBACK_MISSED,
	SHM_M_PACKETS_PUBREC_RECEIVED,
	SHM_M_PACKETS_PUBREC_SENT,
	SHM_M_PACKETS_PUBREC_MISSED,
	SHM_M_PACKETS_PUBREL_RECEIVED,
	SHM_M_PACKETS_PUBREL_SENT,
	SHM_M_PACKETS_PUBREL_MISSED,
	SHM_M_PACKETS_PUBCOMP_RECEIVED,
	SHM_M_PACKETS_PUBCOMP_SENT,
	SHM_M_PACKETS_PUBCOMP_MISSED,
	SHM_M_PACKETS_SUBSCRIBE,
	SHM_M_PACKETS_SUBACK,
	SHM_M_PACKETS_UNSUBSCRIBE,
	SHM_M_PACKETS_UNSUBACK,
	SHM_M_PACKETS_PINGREQ,
	SHM_M_PACKETS_PINGRESP,
	SHM_M_PACKETS_DISCONNECT,
	SHM_M_MESSAGES_RECEIVED,
	SHM_M_MESSAGES_SENT,
	SHM_M_MESSAGES_QOS0_RECEIVED,
	SHM_M_MESSAGES_QOS0_SENT,
	SHM_M_MESSAGES_QOS1_RECEIVED,
	SHM_M_MESSAGES_QOS1_SENT,
	SHM_M_MESSAGES_QOS2_RECEIVED,
	SHM_M_MESSAGES_QOS2_SENT,
	SHM_M_MESSAGES_QOS2_DROPPED,
	SHM_M_MESSAGES_RETAINED,
	SHM_M_MESSAGES_DROPPED,
	SHM_METRIC_COUNT /* 38 */
};

/* The 14 stats, in the doc's order; shm_stat_name(). */
enum shm_stat {
	SHM_S_CLIENTS_COUNT,
	SHM_S_CLIENTS_MAX,
	SHM_S_RETAINED_COUNT,
	SHM_S_RETAINED_MAX,
	SHM_S_ROUTES_COUNT,
	SHM_S_ROUTES_MAX,
	SHM_S_SESSIONS_COUNT,
	SHM_S_SESSIONS_MAX,
	SHM_S_SUBSCRIBERS_COUNT,
	SHM_S_SUBSCRIBERS_MAX,
	SHM_S_SUBSCRIPTIONS_COUNT,
	SHM_S_SUBSCRIPTIONS_MAX,
	SHM_S_TOPICS_COUNT,
	SHM_S_TOPICS_MAX,
	SHM_STAT_COUNT /* 14 */
};

/*
 * The broker's durable store (issue 11), shm_store_fig_name().  All 0
 * when persistence is off (SHM_SF_ENABLED 0).
 */
enum shm_store_fig {
	SHM_SF_ENABLED,        /* "enabled": 1 with persistence on */
	SHM_SF_SIZE_BYTES,     /* "size_bytes": pages in use */
	SHM_SF_LAST_SYNC_US,   /* "last_sync_us": last commit + sync */
	SHM_SF_TXNS,           /* "transactions": committed */
	SHM_SF_BYTES_WRITTEN,  /* "bytes_written": keys + values */
	SHM_SF_RECORDS_LOADED, /* "records_loaded": at start */
	SHM_SF_CORRUPT,        /* "corrupt_events": stores moved aside */
	SHM_SF_DISK_FULL,      /* "disk_full_errors": failed commits */
	SHM_STORE_FIG_COUNT
};

/* Why a listener's connections ended; shm_shutdown_name(). */
enum shm_shutdown {
	SHM_SHUT_CLOSED,            /* "closed": peer closed or DISCONNECT */
	SHM_SHUT_KEEPALIVE_TIMEOUT, /* "keepalive_timeout" */
	SHM_SHUT_MALFORMED,         /* "malformed": protocol violation */
	SHM_SHUT_TAKEOVER,          /* "takeover": same client id elsewhere */
	SHM_SHUT_KICKED,            /* "kicked": through the API */
	SHM_SHUT_AUTH_FAILED,       /* "auth_failure": CONNECT refused */
	SHM_SHUT_MAX_CLIENTS,       /* "max_clients": listener full */
	SHM_SHUT_SLOW_CONSUMER,     /* "slow_consumer": output bound hit */
	SHM_SHUT_ERROR,             /* "error": socket error */
	SHM_SHUTDOWN_COUNT
};

/* Overflow counters: records the segment had no room for. */
enum shm_overflow {
	SHM_OVF_CLIENTS,
	SHM_OVF_SESSIONS,
	SHM_OVF_SUBSCRIPTIONS,
	SHM_OVF_ROUTES,
	SHM_OVF_STRINGS, /* string arena full: record kept out of the mirror */
	SHM_OVERFLOW_COUNT
};

const char *shm_metric_name(enum shm_metric m); /* "packets/connect" */
const char *shm_stat_name(enum shm_stat s);     /* "clients/count" */
const char *shm_shutdown_name(enum shm_shutdown s);
const char *shm_overflow_name(enum shm_overflow o);
const char *shm_store_fig_name(enum shm_store_fig f); /* "size_bytes" */

/* A length-counted string; see the note above on lifetime. */
typedef struct shm_str {
	const char *ptr;
	uint32_t    len;
} shm_str;

/* The node as the broker last described it in the segment header. */
typedef struct shm_node {
	char     node[256];        /* node name, NUL-terminated */
	char     version[32];      /* broker version, e.g. "0.1.0" */
	char     sysdescr[64];     /* e.g. "mqttd" */
	uint64_t boot_id;          /* new random value on every broker start */
	pid_t    pid;              /* broker pid */
	int64_t  started_at;       /* unix seconds */
	int64_t  heartbeat_ms;     /* CLOCK_REALTIME ms of the last beat */
	bool     alive;            /* heartbeat fresher than the stale limit */
	uint64_t mem_total;        /* bytes the broker may use (RAM, cgroup) */
	uint64_t mem_used;         /* bytes: broker VmRSS */
	uint64_t fds_used;         /* open fds of the broker */
	uint64_t fds_max;          /* RLIMIT_NOFILE soft limit */
	uint64_t clients_max_conf; /* process_available: configured limit */
	/* capacity of each table, as configured */
	uint32_t cap_clients, cap_sessions, cap_subscriptions, cap_routes;
	uint64_t overflow[SHM_OVERFLOW_COUNT];
} shm_node;

typedef struct shm_client {
	shm_str  client_id;
	shm_str  username;     /* valid only if has_username */
	bool     has_username; /* absent is distinct from empty */
	char     ipaddress[46];
	uint16_t port;
	bool     clean_sess;
	uint8_t  proto_ver; /* 3, 4 or 5 */
	uint16_t keepalive;
	int64_t  connected_at; /* unix seconds */
	uint32_t listener;     /* index into the listeners table */
} shm_client;

typedef struct shm_session {
	shm_str  client_id;
	bool     clean_sess;
	bool     connected;
	int64_t  created_at; /* unix seconds */
	uint32_t subscriptions;
	uint32_t max_inflight;
	uint32_t inflight_len;
	uint32_t mqueue_len;
	uint64_t mqueue_dropped;
	uint32_t awaiting_rel_len;
	uint32_t awaiting_ack;
	uint32_t awaiting_comp;
	uint64_t deliver_msg;
	uint64_t enqueue_msg;
} shm_session;

typedef struct shm_subscription {
	shm_str client_id;
	shm_str topic;
	uint8_t qos;
} shm_subscription;

typedef struct shm_route {
	shm_str topic;
	shm_str node;
} shm_route;

typedef struct shm_listener {
	char     protocol[32]; /* "mqtt:tcp" */
	char     listen[128];  /* "127.0.0.1:1883" */
	uint32_t acceptors;
	uint32_t max_clients;
	uint32_t current_clients;
	uint64_t shutdown[SHM_SHUTDOWN_COUNT];
} shm_listener;

typedef struct shm_plugin {
	char name[64];
	char version[16];
	char description[128];
	bool active;
} shm_plugin;

typedef struct shm_reader shm_reader;

/*
 * Where a state directory's segment is.  The broker draws a new random
 * name ("/mqttd." and 32 hex digits, 128 bits of getrandom) on every start
 * and records it in STATE_DIR/segment (SHM_RECORD_FILE, mode 0640, written
 * to a temporary file and renamed): a name nobody can know in advance
 * cannot be taken first by another local user.
 *
 * shm_name_random: a fresh name into buf (at least 40 bytes).
 * shm_name_lookup: the recorded name; -ENOENT without a record, -EPERM
 *   if the record is not a regular file owned by our uid (or root) and
 *   writable by nobody else, -EBADMSG if it holds anything but a name.
 * shm_name_record: records name (atomically replacing any record).
 * shm_name_forget: removes the record if it still names `name`.
 */
#define SHM_RECORD_FILE "segment"
int shm_name_random(char *buf, size_t len);
int shm_name_lookup(const char *state_dir, char *buf, size_t len);
int shm_name_record(const char *state_dir, const char *name);
int shm_name_forget(const char *state_dir, const char *name);

/*
 * Maps the segment `name` read-only after checking with fstat that it is
 * owned by the current uid (or root) and not writable by others, and that
 * magic and layout version match.  On success *out owns the mapping.
 */
int shm_reader_open(shm_reader **out, const char *name);
/*
 * The same for the segment a state directory records (shm_name_lookup);
 * shm_reader_refresh then follows the record, so a restarted broker's new
 * segment is found under its new name.
 */
int  shm_reader_open_dir(shm_reader **out, const char *state_dir);
void shm_reader_close(shm_reader **r);

/*
 * Checks boot id and heartbeat; if the broker restarted, re-maps the new
 * segment (for a reader of a state directory: the one its record names,
 * read again on every call).  Returns 0 when the mapping is current and
 * the broker alive, -ESTALE when the broker is not heartbeating, -ENOENT
 * when no segment (or no record) exists.  Cheap enough to call once per
 * request (one shm_open + fstat, plus open/read of the record).
 * The other calls read the mapping as of the last open or refresh and do
 * not check liveness themselves; after -ENOENT/-ESTALE they still serve
 * the old mapping's last state.
 */
int shm_reader_refresh(shm_reader *r);

int shm_node_get(shm_reader *r, shm_node *out);

/*
 * Counters.  shm_stats_get returns all 14 stats as one snapshot (a
 * two-copy latch).  shm_metrics_get loads each of the 38 monotonic
 * counters atomically (never torn) but not all at one instant: the
 * broker adds to them per packet without any section around them.
 */
int shm_metrics_get(shm_reader *r, uint64_t out[SHM_METRIC_COUNT]);
int shm_stats_get(shm_reader *r, uint64_t out[SHM_STAT_COUNT]);
/* The store's figures, each loaded atomically (as the metrics). */
int shm_store_get(shm_reader *r, uint64_t out[SHM_STORE_FIG_COUNT]);

/* Totals, O(1). */
int64_t shm_clients_total(shm_reader *r);
int64_t shm_sessions_total(shm_reader *r);
int64_t shm_subscriptions_total(shm_reader *r);
int64_t shm_routes_total(shm_reader *r);

/*
 * Page callbacks return 0 to go on, non-zero to stop (that value is then
 * returned by the page call).  Pages visit records in a stable order while
 * nothing changes; the order is the occupancy index order, so the page at
 * offset k costs O(page size), not O(k).  Return: number of records
 * visited, or -errno.
 */
typedef int (*shm_client_cb)(const shm_client *c, void *arg);
typedef int (*shm_session_cb)(const shm_session *s, void *arg);
typedef int (*shm_subscription_cb)(const shm_subscription *s, void *arg);
typedef int (*shm_route_cb)(const shm_route *rt, void *arg);
typedef int (*shm_listener_cb)(const shm_listener *l, void *arg);
typedef int (*shm_plugin_cb)(const shm_plugin *p, void *arg);

int shm_clients_page(shm_reader *r, uint64_t offset, uint32_t limit,
    shm_client_cb cb, void *arg);
int shm_sessions_page(shm_reader *r, uint64_t offset, uint32_t limit,
    shm_session_cb cb, void *arg);
int shm_subscriptions_page(shm_reader *r, uint64_t offset, uint32_t limit,
    shm_subscription_cb cb, void *arg);
int shm_routes_page(shm_reader *r, uint64_t offset, uint32_t limit,
    shm_route_cb cb, void *arg);

/* Lookups, O(1) expected.  Return records visited (0 if none) or -errno. */
int shm_client_get(
    shm_reader *r, const char *id, size_t id_len, shm_client_cb cb, void *arg);
int shm_session_get(shm_reader *r, const char *id, size_t id_len,
    shm_session_cb cb, void *arg);
int shm_subscriptions_of(shm_reader *r, const char *id, size_t id_len,
    shm_subscription_cb cb, void *arg);
int shm_routes_of(shm_reader *r, const char *topic, size_t topic_len,
    shm_route_cb cb, void *arg);

/* The small tables, all records in configured order. */
int shm_listeners_each(shm_reader *r, shm_listener_cb cb, void *arg);
int shm_plugins_each(shm_reader *r, shm_plugin_cb cb, void *arg);

#endif
