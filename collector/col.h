/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * col: the broker's writer into the shared-memory segment.
 *
 * The broker calls these as its state changes; each call updates the
 * mirror in place, in O(1) expected time, without a system call and
 * without ever waiting for a reader.  Records are addressed by the
 * col_ref the insert returned, so an update never searches.
 *
 * Not thread-safe: the broker's event loop is the only caller.
 *
 * Capacity: the segment is sized at col_open() from col_config; when a
 * table (or the string arena) is full, an insert returns COL_NONE, counts
 * the overflow (visible to readers in shm_node.overflow), and the broker
 * carries on: every other col_* call accepts COL_NONE and does nothing.
 *
 * Errors: col_open() returns 0 or -errno and logs the failing syscall
 * through col_config.log, the process's logger.  Nothing else can fail.
 */
#ifndef COL_H
#define COL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "shm/shm.h"

typedef struct col col;

/*
 * A record's slot; COL_NONE when the record is not mirrored (overflow).
 * A ref is valid until its removal call.  Removals ignore a stale ref;
 * updates (col_session_update, col_subscription_qos) only range-check it,
 * so that they never load from the segment: a stale ref there writes
 * counters into a free or reused slot.
 */
typedef uint32_t col_ref;
#define COL_NONE ((col_ref) 0)

/*
 * A leveled printf-style logger.  The levels are mq_log's (the broker's
 * logger is passed as it is): col logs errors and warnings only.
 */
enum { COL_LOG_ERROR, COL_LOG_WARN };
typedef void col_log_fn(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

struct col_config {
	/* Either state_dir: a random name, recorded in STATE_DIR/segment
	 * (shm_name_lookup), or shm_name: that name (tests, benchmarks). */
	const char *state_dir;
	const char *shm_name;
	const char *node;        /* "mqttd@127.0.0.1" */
	const char *version;     /* broker version */
	const char *sysdescr;    /* "mqttd" */
	uint32_t    max_clients; /* table capacities */
	uint32_t    max_sessions;
	uint32_t    max_subscriptions;
	uint32_t    max_routes;
	uint64_t    string_arena_bytes; /* for strings past the inline cap */
	/* The process's logger (the broker's mq_log), for what col_open
	 * reports; NULL: "col: LEVEL: ..." lines on stderr. */
	col_log_fn *log;
};
/*
 * Zero capacities take defaults: 131072 clients, sessions = clients,
 * subscriptions and routes = 4 x clients, a 64 MiB arena (at most 32 GiB).
 * Each client with a session and 2 subscriptions costs about 550 bytes of
 * segment (680 with a route of its own); see docs/architecture.md.
 */

/*
 * Creates the segment (O_EXCL, mode 0640, memory committed lazily).  A
 * leftover segment of the same name (with state_dir: the one the state
 * directory's record names, left by a broker killed with SIGKILL) whose
 * broker pid is dead is removed first; one whose broker is alive makes
 * this fail with -EEXIST.  With state_dir the new name is recorded once
 * the segment is complete.  A size
 * the filesystem (/dev/shm) has no room for fails with -ENOSPC: pages are
 * only allocated when first touched, and a failed touch would be SIGBUS.
 */
int col_open(col **out, const struct col_config *cfg);

/* Unlinks and unmaps the segment (and removes the state directory's
 * record of it); readers see a stopped broker. */
void col_close(col **c);

/* Process figures the broker samples on its heartbeat timer. */
struct col_proc {
	uint64_t mem_total, mem_used;
	uint64_t fds_used, fds_max;
	uint64_t clients_max_conf;
};

/*
 * Refreshes the heartbeat and process figures; call about once a second:
 * readers report a broker whose heartbeat is older than 3 s as stopped
 * (shm_reader_refresh() gives -ESTALE).  p may be NULL (beat only).
 */
void col_heartbeat(col *c, const struct col_proc *p);

/* Clients: one per live connection. */
struct col_client {
	const char            *client_id;
	size_t                 client_id_len;
	const char            *username; /* NULL when absent */
	size_t                 username_len;
	const struct sockaddr *peer; /* AF_INET or AF_INET6 */
	bool                   clean_sess;
	uint8_t                proto_ver;
	uint16_t               keepalive;
	int64_t                connected_at;
	uint32_t listener; /* 0-based index in col_listener_add() order,
	                      i.e. that call's col_ref - 1 */
};
col_ref col_client_connected(col *c, const struct col_client *cl);
void    col_client_disconnected(col *c, col_ref ref);

/* Sessions: outlive their connection when clean_sess is false. */
struct col_session_counts {
	bool     connected;
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
};
col_ref col_session_created(col *c, const char *client_id, size_t len,
    bool clean_sess, int64_t created_at);
void    col_session_update(
       col *c, col_ref ref, const struct col_session_counts *n);
void col_session_removed(col *c, col_ref ref);

/* Subscriptions: one per (client, filter). */
col_ref col_subscribed(col *c, const char *client_id, size_t id_len,
    const char *topic, size_t topic_len, uint8_t qos);
void    col_subscription_qos(col *c, col_ref ref, uint8_t qos);
void    col_unsubscribed(col *c, col_ref ref);

/* Routes: one per topic filter with at least one subscriber here. */
col_ref col_route_added(col *c, const char *topic, size_t len);
void    col_route_removed(col *c, col_ref ref);

/* Listeners and plugins: small tables filled at start-up. */
col_ref col_listener_add(col *c, const char *protocol, const char *listen,
    uint32_t acceptors, uint32_t max_clients);
void    col_listener_clients(col *c, col_ref ref, uint32_t current);
void    col_listener_shutdown(col *c, col_ref ref, enum shm_shutdown why);

col_ref col_plugin_add(col *c, const char *name, const char *version,
    const char *description, bool active);
void    col_plugin_active(col *c, col_ref ref, bool active);

/* Counters.  col_metric_add is a single relaxed store: call it per packet. */
void col_metric_add(col *c, enum shm_metric m, uint64_t n);
void col_metric_set(col *c, enum shm_metric m, uint64_t v);

/* Publishes all 14 stats at once; readers see them as one snapshot. */
void col_stats_set(col *c, const uint64_t stats[SHM_STAT_COUNT]);
/* One figure of the store (enum shm_store_fig). */
void col_store_set(col *c, enum shm_store_fig f, uint64_t v);

#endif
