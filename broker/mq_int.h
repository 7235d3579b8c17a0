/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mq_int.h: the broker's private types, shared by mq_broker.c (routing,
 * retained, $SYS, counters), mq_session.c (sessions, delivery),
 * mq_proto.c (packet handlers), mq_connect.c (CONNECT), mq_net.c
 * (sockets, loop) and mq_ctl.c.
 * Functions shared between them carry the mq__ prefix.
 */
#ifndef MQ_INT_H
#define MQ_INT_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "broker/mq_broker.h"
#include "broker/mq_cluster.h"
#include "broker/mq_codec.h"
#include "broker/mq_hash.h"
#include "broker/mq_log.h"
#include "broker/mq_plugins.h"
#include "broker/mq_timer.h"
#include "broker/mq_transport.h"
#include "broker/mq_trie.h"
#include "broker/mq_ws_http.h"
#include "collector/col.h"

#define container_of(p, type, member)                                         \
	((type *) (void *) ((char *) (p) -offsetof(type, member)))

typedef struct mq_session mq_session;

/* Everything registered with epoll starts with its kind. */
enum mq_kind {
	MQ_K_CONN = 1,
	MQ_K_LISTENER,
	MQ_K_SIGNAL,
	MQ_K_CTL,
	MQ_K_CTL_CONN,
	MQ_K_AUTHQ,
	MQ_K_CLUSTER,
	MQ_K_STORE,
	MQ_K_WATCH /* a backend's socket (mq_backend.h) */
};

/*
 * A message, shared by every queue and inflight window that holds it
 * (refcounted; topic and payload inline, allocated once).
 */
typedef struct mq_msg {
	uint32_t ref;
	uint16_t topic_len;
	uint8_t  qos;
	bool     retain;
	uint32_t payload_len;
	uint32_t props_len; /* MQTT 5.0 properties to forward (v5 only) */
	uint64_t expire_at; /* ms (mq_now_ms), 0: never (Message Expiry) */
	uint8_t  data[];    /* topic, then payload, then properties */
} mq_msg;

static inline const char *
mq_msg_topic(const mq_msg *m)
{
	return (const char *) m->data;
}

static inline const uint8_t *
mq_msg_payload(const mq_msg *m)
{
	return m->data + m->topic_len;
}

static inline const uint8_t *
mq_msg_props(const mq_msg *m)
{
	return m->data + m->topic_len + m->payload_len;
}

/*
 * A message on its way through the router.  It points at the bytes where
 * they are (often the read buffer); `msg` is materialized only when a
 * queue, window or the retained store must keep it (mq__pub_hold).
 */
struct mq_pub {
	const char    *topic;
	const uint8_t *payload;
	uint32_t       payload_len;
	uint16_t       topic_len;
	uint8_t        qos;
	bool           retain;
	mq_msg        *msg;
	uint32_t       matched;
	/* MQTT 5.0: properties forwarded to v5 subscribers (stripped for
	 * v3 ones), Message Expiry as a deadline, and the publisher's
	 * session for No Local.  All zero on the v3 path. */
	const uint8_t    *props;
	uint32_t          props_len;
	uint64_t          expire_at;
	const mq_session *from;
	uint32_t sub_id; /* v5 Subscription Identifier, per delivery */
};

/* A growable byte buffer; allocated lazily, freed when drained. */
struct mq_buf {
	uint8_t *p;
	uint32_t len, cap;
	uint32_t off; /* bytes already consumed / written */
};

struct mq_listener {
	uint8_t  kind;
	uint8_t  proto;    /* enum mq_listen_kind */
	bool     identity; /* use_identity_as_username */
	int      fd;
	uint32_t idx;
	uint32_t max_clients;
	uint32_t nclients;
	col_ref  col;
	uint16_t port;
	char     name[80];
	/* TLS / WebSocket under its connections (mq_transport.h) */
	struct mq_tls_ctx    *tls;
	struct mq_ws_http_cfg ws;
	struct mq_xport_cfg   xcfg;
};

/*
 * MQ_CS_AUTH: CONNECT is waiting for its password check on the auth
 * threads (mq_authq); the connection reads nothing (epoll watches only
 * for the peer's hang-up) and sends nothing until the check is back.
 */
enum mq_conn_state { MQ_CS_NEW, MQ_CS_CONNECTED, MQ_CS_CLOSING, MQ_CS_AUTH };

struct mq_conn {
	uint8_t       kind;
	uint8_t       state;
	uint8_t       proto;
	bool          want_out; /* EPOLLOUT armed */
	bool          pending;  /* on b->pending */
	bool          was_connected;
	uint8_t       why; /* enum shm_shutdown once closing */
	bool          send_will;
	uint16_t      oalias_max; /* v5: min(client's Topic Alias Max, ours) */
	int           fd;
	uint32_t      listener; /* index, UINT32_MAX if virtual */
	uint16_t      keepalive;
	uint16_t      username_len;
	mq_broker    *b;
	mq_xport     *x; /* TLS / WebSocket; NULL: plain TCP */
	mq_session   *s;
	char         *username; /* NULL when absent */
	mq_msg       *will;     /* qos and retain inside */
	col_ref       col;
	struct mq_buf in, out;
	uint64_t      last_rx;
	mq_timer      ka;
	mq_conn      *next_pending, *next_closing;
	mq_conn      *all_next, *all_prev; /* b->conns */
	struct sockaddr_in6 peer;          /* AF_INET or AF_INET6 */
	/* MQTT 5.0 only (proto == 5). */
	uint32_t           max_out; /* client's Maximum Packet Size, 0: none */
	uint32_t           will_delay; /* seconds */
	struct mq_aliases *aliases;    /* client -> server topic aliases */
	struct mq_oalias  *oalias;     /* server -> client, when allowed */
	/* A CONNECT whose password check is on the auth threads: the
	 * check, and the request as decoded, to go on with when the
	 * verdict is back (MQ_CS_AUTH, mq__connect_resume). */
	struct mq_auth_job *auth;
	struct mq_connreq  *creq;
	uint32_t acks_waiting; /* acks held for a store commit (mq_persist) */
	/* A database plugin's question in flight (mq_dbauth.h), and what
	 * the plugin that authenticated the client said of it. */
	struct mq_dbreq     *dbreq;
	struct mq_authz     *authz;
	struct mq_auth_grant grant; /* what the auth chain granted */
	/* mqttd_auth_http's ACL questions in flight: while there are any,
	 * the connection reads nothing (mq_auth_http.h). */
	struct mq_http_aclq *http_acl;
};

/*
 * Server -> client topic aliases (3.3.2.3.4), per connection: aliases
 * 1..oalias_max are given to topics as they are sent, the oldest
 * assignment replaced once all are used.  Applied when a PUBLISH is
 * written, never stored in a (shared) message; a new connection starts
 * with none, so a message resent after a reconnect carries its topic.
 */
#define MQ_OUT_ALIAS_MAX 16
struct mq_oalias {
	uint16_t used, next; /* assigned; slot to replace when all are */
	uint16_t len[MQ_OUT_ALIAS_MAX];
	char    *topic[MQ_OUT_ALIAS_MAX]; /* alias = slot + 1 */
};

/* Topic Alias Maximum the server announces (client -> server aliases). */
#define MQ_TOPIC_ALIAS_MAX 10
struct mq_aliases {
	char    *topic[MQ_TOPIC_ALIAS_MAX + 1]; /* [1..MAX] */
	uint16_t len[MQ_TOPIC_ALIAS_MAX + 1];
};

/*
 * A subscription.  filter[] is what the client sent: for a shared one
 * "$share/{name}/{filter}", and the trie holds it under the filter part
 * (filter + foff), next to the other members of its group.
 */
struct mq_sub {
	struct mq_trie_entry te;
	mq_session          *s;
	struct mq_sub       *next;  /* in s->subs */
	struct mq_group     *group; /* shared subscription, else NULL */
	col_ref              col;
	uint8_t              qos;
	uint8_t              opts;   /* v5 No Local, RAP, MQ_SUB_HAS_ID */
	uint32_t             sub_id; /* v5 Subscription Identifier, 0: none */
	uint16_t             len;
	uint16_t             foff; /* shared: where the filter starts */
	char                 filter[];
};

/*
 * A shared subscription group (MQTT 5.0 4.8.2), one per "$share/..."
 * string: its members are ordinary subscriptions in the trie; the first
 * one a message meets hands it to one member, round robin from `next`
 * (mq__group_pick), and the others skip it (seq).
 */
struct mq_group {
	struct mq_hnode h; /* in b->groups, by the $share string */
	struct mq_sub **m;
	uint32_t        n, cap, next;
	uint64_t        seq; /* b->route_seq of the last message served */
	uint16_t        len;
	char            share[];
};

/* Outgoing QoS 1/2 window entry. */
enum { MQ_IF_DONE, MQ_IF_PUBACK, MQ_IF_PUBREC, MQ_IF_PUBCOMP };
struct mq_inflight {
	mq_msg  *msg;
	uint64_t sent_at;
	uint64_t seq; /* its record in the store (mq_persist), 0: none */
	uint16_t pid;
	uint8_t  state;
	uint8_t  qos;
	uint32_t sub_id; /* v5; in what was padding */
};

struct mq_qent {
	mq_msg  *msg;
	uint64_t seq; /* its record in the store (mq_persist), 0: none */
	uint8_t  qos;
	bool     retain;
	uint32_t sub_id; /* v5; in what was padding */
};

/* mq_sub.opts bit (never on the wire: bits 6-7 are reserved there). */
#define MQ_SUB_HAS_ID 0x80

struct mq_awrel {
	mq_msg  *msg;
	uint64_t at;
	uint16_t pid;
};

struct mq_session {
	struct mq_hnode h;
	mq_broker      *b;
	mq_conn        *conn; /* NULL when offline */
	struct mq_sub  *subs;
	uint32_t        nsubs;
	bool            clean; /* dies with its connection */
	bool            dirty; /* on b->dirty */
	bool            v5;
	uint16_t        win_max; /* window bound: max_inflight, or a v5
	                            client's smaller Receive Maximum */
	uint32_t expiry_s;       /* v5 Session Expiry Interval (clamped) */
	mq_msg  *will;           /* v5 will waiting for its delay */
	mq_timer will_timer;
	uint16_t id_len;
	col_ref  col;
	/* inflight ring: consecutive packet ids from if_head */
	struct mq_inflight *inf;
	uint16_t            if_cap, if_head, if_span, if_live;
	uint16_t            if_wait; /* loading: entries awaiting their
	                                message (mq__session_restore_msg) */
	uint16_t next_pid;
	/* queue ring */
	struct mq_qent *q;
	uint32_t        q_cap, q_head, q_len;
	/* incoming QoS 2 awaiting PUBREL */
	struct mq_awrel *aw;
	uint16_t         aw_len, aw_cap;
	uint64_t         q_dropped, deliver_msg, enqueue_msg;
	int64_t          created_at;
	mq_session      *next_dirty;
	mq_timer         expiry;    /* offline persistent session */
	mq_timer         retry;     /* inflight retry, awaiting_rel expiry */
	uint64_t         route_seq; /* mq_route: the message it last matched */
	uint32_t         route_hit; /* and its hit for that message */
	bool             sdirty;    /* to be written to the store */
	bool             stored;    /* has records in the store */
	uint64_t         next_seq;  /* of its next message record, from 1 */
	mq_session      *next_sdirty;
	char             id[];
};

struct mq_ctl;
struct mq_authq;
struct mq_hit;

struct mq_broker {
	const mq_config   *cfg;
	struct col        *col;
	struct mq_plugins *plugins;
	mq_timers          timers;
	mq_trie           *trie;
	mq_hash            sessions;
	mq_hash            retained;
	mq_hash            groups;    /* struct mq_group by $share string */
	uint64_t           route_seq; /* one per mq__publish */
	struct mq_hit     *hits;      /* mq_route's per-session matches */
	uint32_t           nhits, hits_cap;
	mq_conn           *conns;   /* every open connection */
	mq_conn           *pending; /* output to flush before sleeping */
	mq_conn           *closing; /* to tear down after dispatch */
	mq_session        *dirty;   /* session figures to mirror */
	int                epfd;
	bool               stop;
	bool               stats_dirty;
	struct mq_listener listeners[MQ_MAX_LISTENERS];
	unsigned           nlisteners;
	struct mq_ctl     *ctl;
	col_ref            plugin_col[MQ_PLUGIN_COUNT];
	uint32_t           nclients, nsessions, nsubs, nretained;
	uint32_t           nconns; /* open sockets, for fds_used */
	uint64_t           metrics[SHM_METRIC_COUNT];
	uint64_t           metrics_synced[SHM_METRIC_COUNT];
	uint64_t           stats[SHM_STAT_COUNT];
	uint64_t           started_ms;
	uint64_t mem_limit; /* memory_limit(), read at the first beat */
	int64_t  started_at;
	uint32_t id_seq;
	mq_timer sys_timer, beat_timer;
	bool     plugins_default[MQ_PLUGIN_COUNT]; /* when plugins == NULL */
	/* Auth threads (NULL: checks run in the caller, as in the fuzzers
	 * and unit tests, which have no loop). */
	struct mq_authq *authq;
	uint8_t          authq_kind; /* MQ_K_AUTHQ: its epoll tag */
	bool             auth_busy;  /* a server-busy burst is on */
	uint64_t         auth_busy_refused;
	/* The cluster's hooks (all NULL without one, mq_cluster.h). */
	struct mq_cluster_hooks cluster;
	uint8_t                 cluster_kind; /* MQ_K_CLUSTER: epoll tag */
	/* The store (mq_persist.c; NULL: persistence off).  store_changes
	 * counts durable changes; handle() copies it to store_mark, so an
	 * ack written after a change waits for the commit. */
	struct mq_persist   *persist;
	uint8_t              persist_kind; /* MQ_K_STORE: its epoll tag */
	uint64_t             store_changes, store_mark;
	struct mq_dbauth    *dbauth; /* database auth plugins (mq_dbauth.h) */
	struct mq_auth_http *auth_http; /* mqttd_auth_http, NULL: none */
};

static inline void
mq__metric(mq_broker *b, enum shm_metric m, uint64_t n)
{
	b->metrics[m] += n;
}

/* mq_broker.c */
mq_msg *mq__msg_new(const char *topic, uint16_t tlen, const void *payload,
    uint32_t plen, uint8_t qos, bool retain);
mq_msg *mq__msg_new5(const char *topic, uint16_t tlen, const void *payload,
    uint32_t plen, uint8_t qos, bool retain, const uint8_t *props,
    uint32_t props_len, uint64_t expire_at);
static inline mq_msg *
mq__msg_ref(mq_msg *m)
{
	m->ref++;
	return m;
}
void    mq__msg_unref(mq_msg *m);
mq_msg *mq__pub_hold(struct mq_pub *p); /* NULL on ENOMEM */
void    mq__pub_from_msg(struct mq_pub *p, mq_msg *m);
/* Stores retained (if the retainer is on), routes to subscribers, and
 * hands the message to the cluster, if any. */
void mq__publish(mq_broker *b, struct mq_pub *p);
/* mq_route.c */
/* Routes p to this node's subscribers only (no retained store, no
 * cluster): mq__publish's last step, and a message from another node.
 * One copy per session (mq_route.c says which QoS, flags and ids). */
void mq__route_local(mq_broker *b, struct mq_pub *p);
void mq__route_fini(mq_broker *b);
/* Stores p as the topic's retained message (empty payload: deletes). */
void mq__retain_store(mq_broker *b, struct mq_pub *p);
void mq__retained_deliver(mq_broker *b, struct mq_sub *sub);
bool mq__plugin_active(const mq_broker *b, int id);
void mq__stats_update(mq_broker *b);
void mq__sync(mq_broker *b); /* metrics, stats, sessions -> segment */
int  mq__sys_start(mq_broker *b);
bool mq__acl(
    mq_broker *b, mq_conn *c, const char *topic, size_t len, bool publish);

/* Loads a retained message at start (takes the reference): the topic
 * must not be stored yet (the store holds one record per topic). */
void mq__retained_load(mq_broker *b, mq_msg *m);
void mq__retained_reserve(mq_broker *b, uint32_t n); /* before a load */
void mq__retained_clear(mq_broker *b); /* a load found damage: undo */

/* mq_session.c */
mq_session *mq__session_find(mq_broker *b, const char *id, size_t len);
mq_session *mq__session_new(
    mq_broker *b, const char *id, size_t len, bool clean);
/* v5 will: published after delay_s unless the session resumes first. */
void mq__session_will(mq_session *s, mq_msg *will, uint32_t delay_s);
/* A will about to be published (its Message Expiry starts now). */
void mq__will_pub(struct mq_pub *p, mq_msg *will);
void mq__session_free(mq_session *s);
void mq__session_dirty(mq_session *s);
void mq__session_attach(mq_session *s, mq_conn *c);
void mq__session_detach(mq_session *s);
/* 0x00..0x02 granted, or -errno (then SUBACK 0x80). */
int mq__subscribe(mq_session *s, const char *f, size_t len, uint8_t qos,
    struct mq_sub **out);
struct mq_sub *mq__sub_find(mq_session *s, const char *f, size_t len);
int            mq__unsubscribe(mq_session *s, const char *f, size_t len);
/* The member of g to get the message numbered seq; NULL when g already
 * has it, or no member can take it (none online, none persistent). */
struct mq_sub *mq__group_pick(struct mq_group *g, uint64_t seq);
void mq__deliver(mq_session *s, struct mq_pub *p, uint8_t qos, bool retain);
void mq__on_puback(mq_session *s, uint16_t pid);
void mq__on_pubrec(mq_session *s, uint16_t pid);
void mq__on_pubcomp(mq_session *s, uint16_t pid);
void mq__on_pubrec_failed(mq_session *s, uint16_t pid); /* v5 rc>=0x80 */
/* rc: the v5 PUBREC reason (ignored for v3). */
void mq__on_qos2_publish(
    mq_session *s, struct mq_pub *p, uint16_t pid, uint8_t rc);
void mq__on_pubrel(mq_session *s, uint16_t pid);
void mq__session_resume(mq_session *s);
/*
 * Loading a session from the store (each takes m's reference).  A window
 * entry of a format-2 store comes with m NULL and the seq of its message
 * record, which mq__session_restore_msg then attaches (or queues, when
 * no window entry waits for it); mq__session_restore_end drops the
 * entries whose message never came (expired: nothing to resend).
 */
void mq__session_restore_inflight(mq_session *s, uint16_t pid, uint8_t state,
    uint8_t qos, uint32_t sub_id, mq_msg *m, uint64_t seq);
void mq__session_restore_queued(mq_session *s, mq_msg *m, uint8_t qos,
    bool retain, uint32_t sub_id, uint64_t seq);
void mq__session_restore_msg(mq_session *s, uint64_t seq, mq_msg *m,
    uint8_t qos, bool retain, uint32_t sub_id);
int  mq__session_restore_end(mq_session *s); /* entries dropped */
void mq__session_restore_awrel(mq_session *s, uint16_t pid, mq_msg *m);

/* mq_persist.c: the store's side of the broker (NULL persist: no-ops). */
struct mq_store_stats;
int  mq__persist_open(mq_broker *b);  /* loads; before the listeners */
void mq__persist_close(mq_broker *b); /* writes what is left, waits */
void mq__persist_tick(mq_broker *b);  /* once per loop iteration */
void mq__persist_event(mq_broker *b); /* the store's eventfd */
void mq__persist_stats(const mq_broker *b, struct mq_store_stats *out);
/* m NULL: the retained message of topic was deleted. */
void mq__persist_retained(
    mq_broker *b, const char *topic, uint16_t len, const mq_msg *m);
void mq__persist_session_mark(mq_session *s);
/* A persistent session's durable state changed. */
static inline void
mq__persist_session(mq_session *s)
{
	if (s->b->persist != NULL && !s->clean)
		mq__persist_session_mark(s);
}
void mq__persist_session_gone(mq_session *s);
/*
 * A message entered a persistent session's queue or window: its record
 * is staged; returns its seq (0: nothing stored, the session is clean or
 * there is no store).  _gone: it left (delivered, acked, dropped).
 */
uint64_t mq__persist_msg_put(
    mq_session *s, const mq_msg *m, uint8_t qos, bool retain, uint32_t sub_id);
void mq__persist_msg_del(mq_session *s, uint64_t seq);
static inline uint64_t
mq__persist_msg(
    mq_session *s, const mq_msg *m, uint8_t qos, bool retain, uint32_t sub_id)
{
	if (s->b->persist == NULL || s->clean)
		return 0;
	return mq__persist_msg_put(s, m, qos, retain, sub_id);
}
static inline void
mq__persist_msg_gone(mq_session *s, uint64_t seq)
{
	if (seq != 0 && s->b->persist != NULL)
		mq__persist_msg_del(s, seq);
}
/* True when the ack must wait for a commit (it is then sent later). */
bool mq__persist_defer_ack(
    mq_conn *c, enum mq_type type, uint16_t pid, uint8_t rc);
void mq__persist_conn_gone(mq_conn *c);

/*
 * What a packet handler tells its caller: go on, wait, or end the
 * connection, and why.  One place, mq__conn_end, turns an end into the
 * close and, for a v5 client, the DISCONNECT that says why (as
 * Mosquitto's handle__packet hands its result to do_disconnect);
 * handlers never close their own connection.
 */
enum mq_hs {
	MQ_HS_OK,          /* next packet */
	MQ_HS_PARKED,      /* CONNECT waits for its auth check: read no more */
	MQ_HS_CLOSED,      /* the client's DISCONNECT: a normal end */
	MQ_HS_MALFORMED,   /* v5 DISCONNECT 0x81 */
	MQ_HS_PROTOCOL,    /* 0x82 */
	MQ_HS_TOO_LARGE,   /* 0x95 */
	MQ_HS_RECEIVE_MAX, /* 0x93 */
	MQ_HS_TOPIC_ALIAS, /* 0x94 */
	MQ_HS_RETAIN,      /* 0x9A */
	MQ_HS_REFUSED,     /* a refusing CONNACK was sent (auth, client id) */
	MQ_HS_BAD_VERSION, /* a refusing CONNACK: unsupported protocol */
	MQ_HS_ERROR,       /* out of memory */
};

/* mq_proto.c */
int mq__conn_input(mq_conn *c, const uint8_t *buf, size_t len, size_t *used);
/* Handles what waits in c->in (bytes behind a parked CONNECT). */
void mq__conn_input_buffered(mq_conn *c);
/* Ends c for hs (anything but MQ_HS_OK / MQ_HS_PARKED). */
void        mq__conn_end(mq_conn *c, enum mq_hs hs);
const char *mq__peer_str(const mq_conn *c, char *buf, size_t len);
void        mq__send(mq_conn *c, const void *p, size_t n);
/* One PUBLISH as it goes on the wire to one receiver. */
struct mq_wpub {
	const char    *topic;
	const uint8_t *payload;
	const uint8_t *props;     /* v5 receivers only */
	uint64_t       expire_at; /* v5: Message Expiry deadline, 0: none */
	uint32_t       payload_len, props_len;
	uint32_t       sub_id; /* v5 Subscription Identifier, 0: none */
	uint16_t       topic_len, pid;
	uint8_t        qos;
	bool           retain, dup;
};
/* w as a v3 receiver gets it (no properties). */
void mq__send_publish(mq_conn *c, const struct mq_wpub *w);
/* v5 receivers get props and the remaining Message Expiry. */
void mq__send_publish_v5(mq_conn *c, const struct mq_wpub *w);
/* Inline so that a v3 receiver costs one compare over mq__send_publish. */
static inline void
mq__send_publish5(mq_conn *c, const struct mq_wpub *w)
{
	if (c != NULL && c->proto == 5)
		mq__send_publish_v5(c, w);
	else
		mq__send_publish(c, w);
}
/* False when c (v5) announced a Maximum Packet Size this would pass. */
bool mq__pub_fits(const mq_conn *c, uint16_t tlen, uint32_t plen,
    uint32_t props_len, uint64_t expire_at, uint8_t qos, uint32_t sub_id);
void mq__send_ack(mq_conn *c, enum mq_type type, uint16_t pid);
void mq__send_ack5(mq_conn *c, enum mq_type type, uint16_t pid, uint8_t rc);
void mq__conn_close(mq_conn *c, enum shm_shutdown why);
/* The same, with the v5 DISCONNECT reason rc (0: the one of why). */
void mq__conn_close_rc(mq_conn *c, enum shm_shutdown why, uint8_t rc);
void mq__conn_teardown(mq_conn *c);
void mq__conn_free(mq_conn *c);
int  mq__conn_bytes(mq_conn *c, const uint8_t *data, size_t n);
void mq__conn_init(mq_conn *c, mq_broker *b, int fd, uint32_t listener);

/* mq_connect.c */
/* CONNECT: decode, authenticate, attach the session, CONNACK. */
enum mq_hs mq__on_connect(mq_conn *c, const mq_packet *pkt);
/* Refuses a CONNECT with v3 return code rc (mapped for v5) or, rc5 != 0,
 * that v5 reason. */
enum mq_hs mq__connect_refuse(
    mq_conn *c, uint8_t rc, uint8_t rc5, enum mq_hs hs);
/* The auth threads handed back c's check (mq_net.c's authq_event). */
void mq__connect_resume(mq_conn *c, int auth_result);
/* Hands a password check to the auth threads for c, parked or about to
 * be (mq_dbauth's bcrypt): 0, -EBUSY (queue full) or -ENOMEM. */
int mq__connect_check(mq_conn *c, struct mq_auth_check *ck);
/* Drops c's parked CONNECT, if any (the connection is going away). */
void mq__connect_cancel(mq_conn *c);

/* mq_net.c */
void mq__conn_pending(mq_conn *c);
/* Re-arms c's epoll events for its state (MQ_CS_AUTH: hang-up only). */
void mq__conn_watch(mq_conn *c);
void mq__flush_all(mq_broker *b);
/* On a use_identity_as_username listener: 1 and the client
 * certificate's CN in *name, or -ENOENT when there is none; 0
 * elsewhere. */
int mq__conn_identity(const mq_conn *c, mq_str *name);
/* Last words (pending output, WebSocket close, TLS close_notify) and
 * close(2); once, from mq__conn_free. */
void mq__conn_release(mq_conn *c);

/* mq_cluster.c: the hooks, called only when registered. */
void mq__cluster_route(mq_broker *b, const struct mq_sub *sub, bool added);
void mq__cluster_published(mq_broker *b, const struct mq_pub *p);

/* mq_ctl.c */
int  mq__ctl_open(mq_broker *b, const char *path);
void mq__ctl_event(mq_broker *b, void *ptr, uint32_t events);
void mq__ctl_close(mq_broker *b);

#endif
