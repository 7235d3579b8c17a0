/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mq_config: mqttd's settings, from defaults, mqttd.conf and the command
 * line (in that order of precedence, lowest first).  Every file key is
 * also a flag: key "max_inflight" is "--max-inflight".  See
 * broker/mqttd.conf.example for the keys and their meaning.
 */
#ifndef MQ_CONFIG_H
#define MQ_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#define MQ_MAX_LISTENERS 16

/* What a listener speaks: MQTT over TCP, TLS, WebSocket, or both. */
enum mq_listen_kind {
	MQ_LISTEN_TCP,
	MQ_LISTEN_SSL,
	MQ_LISTEN_WS,
	MQ_LISTEN_WSS,
};

#define MQ_PATH_MAX 256

/*
 * One listener: "[KIND://][ADDR:]PORT[,OPT=VALUE]..." with KIND tcp (the
 * default), ssl, ws or wss, and OPT one of max_clients, certfile,
 * keyfile, cafile, require_certificate, use_identity_as_username, path.
 * Options left out take the global keys of the same names
 * (mq_config_load fills them in).
 */
struct mq_listen {
	char     addr[64];     /* numeric IPv4/IPv6 address */
	uint16_t port;         /* 0: any free port */
	uint8_t  kind;         /* enum mq_listen_kind */
	int8_t   require_cert; /* -1: the global require_certificate */
	int8_t   identity;     /* -1: the global use_identity_as_username */
	uint32_t max_clients;
	char     certfile[MQ_PATH_MAX], keyfile[MQ_PATH_MAX];
	char     cafile[MQ_PATH_MAX];
	char     path[128]; /* WebSocket request path */
};

/* "mqtt:tcp", "mqtt:ssl", "mqtt:ws", "mqtt:wss" (the API's names). */
const char *mq_listen_protocol(unsigned kind);

typedef struct mq_config {
	char            *conf_file;
	char            *state_dir;
	char            *node;
	struct mq_listen listen[MQ_MAX_LISTENERS];
	unsigned         nlisten;
	uint32_t         max_clients; /* default for listeners */
	int              ready_fd;
	bool             no_segment;
	uint32_t         max_inflight;
	uint32_t         max_queue;
	uint32_t         max_awaiting_rel;
	uint32_t         session_expiry; /* seconds */
	uint32_t         retry_interval; /* seconds */
	uint32_t         await_rel_timeout;
	uint32_t         sys_interval;
	uint32_t         connect_timeout;
	uint32_t         max_keepalive; /* v5 Server Keep Alive cap, 0: none */
	bool             allow_anonymous;
	char            *username_file, *clientid_file, *acl_file;
	uint32_t         auth_threads;   /* crypt(3) off the loop, 1..2 */
	uint32_t         auth_queue_max; /* pending checks before busy */
	uint32_t         max_packet_size;
	uint32_t         max_outbuf; /* bytes queued to one socket */
	/* TLS and WebSocket listeners: defaults for the listener options */
	char    *certfile, *keyfile, *cafile;
	bool     require_certificate, use_identity_as_username;
	char    *ciphers;    /* TLS 1.2 cipher list (1.3 uses OpenSSL's) */
	char    *ws_path;    /* default /mqtt */
	char    *ws_origins; /* comma-separated allowed Origins, NULL: any */
	int      log_level;  /* MQ_LOG_* */
	uint32_t seg_clients, seg_sessions, seg_subscriptions;
	uint32_t seg_routes;
	uint64_t seg_string_bytes;
	char    *cluster_nats; /* NATS URLs; NULL: single node */
	/* The store (mq_store): off unless persistence is on and
	 * persistence_sync is not MQ_PERSIST_OFF. */
	bool     persistence;
	int      persistence_sync;          /* enum mq_persist_sync */
	uint32_t persistence_sync_interval; /* ms, MQ_PERSIST_INTERVAL */
	char    *persistence_dir;           /* NULL: the state dir */
	/* mqttd_auth_redis / mqttd_auth_pgsql (mq_auth_redis.h,
	 * mq_auth_pgsql.h; NULL / 0: their defaults) */
	char    *redis_server, *redis_password;
	uint32_t redis_database, redis_timeout, redis_max_pending;
	char    *redis_auth_cmd, *redis_super_cmd, *redis_acl_cmd;
	char    *redis_password_hash, *redis_on_error, *redis_acl_nomatch;
	char    *pgsql_conninfo;
	uint32_t pgsql_pool, pgsql_timeout, pgsql_max_pending;
	char    *pgsql_auth_query, *pgsql_super_query, *pgsql_acl_query;
	char    *pgsql_password_hash, *pgsql_on_error, *pgsql_acl_nomatch;
	/* mqttd_auth_jwt (mq_jwt.h): HMAC secret, PEM public key file,
	 * where the token is ("password" or "username"), claim checks */
	char    *jwt_secret, *jwt_pubkey, *jwt_from, *jwt_acl_claim;
	bool     jwt_verify_clientid, jwt_verify_username;
	uint32_t jwt_leeway; /* seconds of clock skew on exp / nbf */
	/* mqttd_auth_http (mq_auth_http.h): EMQ 2.3's auth_req, super_req,
	 * acl_req (URL, get|post, params) */
	char    *http_auth_req, *http_auth_method, *http_auth_params;
	char    *http_super_req, *http_super_method, *http_super_params;
	char    *http_acl_req, *http_acl_method, *http_acl_params;
	uint32_t http_timeout, http_max_requests, http_cache_ttl;
	char    *http_cafile, *http_on_error;
} mq_config;

enum mq_persist_sync {
	MQ_PERSIST_COMMIT,
	MQ_PERSIST_INTERVAL,
	MQ_PERSIST_OFF
};

/*
 * Fills *cfg from defaults, the file named by -c (if any) and argv.
 * Returns 0, 1 when --help was printed, or -EINVAL after printing what
 * was wrong.
 */
int  mq_config_load(mq_config *cfg, int argc, char **argv);
void mq_config_fini(mq_config *cfg);

/*
 * The default max_clients: what the open-files limit (RLIMIT_NOFILE, soft)
 * leaves after MQ_FD_RESERVE descriptors for everything but clients.
 * mqttd raises the soft limit to the hard one before loading its
 * configuration, so this is sized from the hard limit.
 */
#define MQ_FD_RESERVE 64
uint32_t mq_config_fd_clients(void);

/* Parses a listener spec (see struct mq_listen) into l; l's max_clients
 * is kept unless the spec sets it. */
int mq_config_parse_listen(struct mq_listen *l, const char *s);

#endif
