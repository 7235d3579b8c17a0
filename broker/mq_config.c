/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mq_config: one table of settings drives both the file parser and the
 * flag parser, so a key and its flag can never drift apart.  The command
 * line is read twice: first for -c (which file), then, after the file,
 * to override it.
 */
#include "config.h"

#include "broker/mq_config.h"

#include "broker/mq_log.h"

#include <errno.h>
#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

enum kind { K_U32, K_U64, K_BOOL, K_STR, K_LISTEN, K_LOG, K_FD, K_SYNC };

struct key {
	const char *name; /* file key; the flag is "--" + name with '-' */
	enum kind   kind;
	size_t      off;
	const char *help;
};

#define F(m) offsetof(mq_config, m)
static const struct key keys[] = {
	{ "state_dir", K_STR, F(state_dir), "state directory (./run)" },
	{ "node", K_STR, F(node), "node name (mqttd@127.0.0.1)" },
	{ "listen", K_LISTEN, 0,
	    "[tcp|ssl|ws|wss://][ADDR:]PORT[,OPT=V]..., repeatable" },
	{ "listener", K_LISTEN, 0, "the same as listen" },
	{ "max_clients", K_U32, F(max_clients),
	    "per listener (the open-files limit less 64)" },
	{ "ready_fd", K_FD, F(ready_fd), "write 'ready port=P' to fd N" },
	{ "no_segment", K_BOOL, F(no_segment), "run without the segment" },
	{ "max_inflight", K_U32, F(max_inflight), "QoS1/2 window (32)" },
	{ "max_queue", K_U32, F(max_queue), "session queue (1000)" },
	{ "max_awaiting_rel", K_U32, F(max_awaiting_rel), "QoS2 in (100)" },
	{ "session_expiry", K_U32, F(session_expiry), "seconds (7200)" },
	{ "retry_interval", K_U32, F(retry_interval), "seconds (20)" },
	{ "await_rel_timeout", K_U32, F(await_rel_timeout), "seconds (20)" },
	{ "sys_interval", K_U32, F(sys_interval), "seconds (60)" },
	{ "connect_timeout", K_U32, F(connect_timeout), "seconds (30)" },
	{ "max_keepalive", K_U32, F(max_keepalive), "v5 seconds, 0: any (0)" },
	{ "allow_anonymous", K_BOOL, F(allow_anonymous), "(true)" },
	{ "username_file", K_STR, F(username_file), "mqttd_auth_username" },
	{ "clientid_file", K_STR, F(clientid_file), "mqttd_auth_clientid" },
	{ "acl_file", K_STR, F(acl_file), "mqttd_acl_file rules" },
	{ "auth_threads", K_U32, F(auth_threads), "crypt(3) threads 1-2 (2)" },
	{ "auth_queue_max", K_U32, F(auth_queue_max),
	    "pending checks (1024)" },
	{ "max_packet_size", K_U32, F(max_packet_size), "bytes (1048576)" },
	{ "max_outbuf", K_U32, F(max_outbuf), "bytes per socket (8 MiB)" },
	{ "certfile", K_STR, F(certfile), "TLS certificate chain (PEM)" },
	{ "keyfile", K_STR, F(keyfile), "TLS private key (PEM)" },
	{ "cafile", K_STR, F(cafile), "CAs for client certificates" },
	{ "require_certificate", K_BOOL, F(require_certificate),
	    "TLS clients need a certificate (false)" },
	{ "use_identity_as_username", K_BOOL, F(use_identity_as_username),
	    "client certificate CN is the username (false)" },
	{ "ciphers", K_STR, F(ciphers), "TLS 1.2 cipher list" },
	{ "ws_path", K_STR, F(ws_path), "WebSocket path (/mqtt)" },
	{ "ws_origins", K_STR, F(ws_origins), "allowed Origins, a,b (any)" },
	{ "log_level", K_LOG, F(log_level), "error|warn|info|debug" },
	{ "segment_clients", K_U32, F(seg_clients), "segment capacity" },
	{ "segment_sessions", K_U32, F(seg_sessions), "segment capacity" },
	{ "segment_subscriptions", K_U32, F(seg_subscriptions), "capacity" },
	{ "segment_routes", K_U32, F(seg_routes), "segment capacity" },
	{ "segment_string_bytes", K_U64, F(seg_string_bytes), "arena bytes" },
	{ "cluster_nats", K_STR, F(cluster_nats),
	    "nats://HOST:PORT[,...]: join the cluster (--with-cluster)" },
	{ "persistence", K_BOOL, F(persistence), "durable store (false)" },
	{ "persistence_sync", K_SYNC, F(persistence_sync),
	    "commit|interval|off (commit)" },
	{ "persistence_sync_interval", K_U32, F(persistence_sync_interval),
	    "ms (1000)" },
	{ "persistence_dir", K_STR, F(persistence_dir), "(the state dir)" },
	{ "auth_redis_server", K_STR, F(redis_server),
	    "HOST:PORT or socket path (127.0.0.1:6379)" },
	{ "auth_redis_password", K_STR, F(redis_password), "AUTH (none)" },
	{ "auth_redis_database", K_U32, F(redis_database), "SELECT (0)" },
	{ "auth_redis_auth_cmd", K_STR, F(redis_auth_cmd),
	    "(HMGET mqtt_user:%u password)" },
	{ "auth_redis_super_cmd", K_STR, F(redis_super_cmd),
	    "(HGET mqtt_user:%u is_superuser)" },
	{ "auth_redis_acl_cmd", K_STR, F(redis_acl_cmd),
	    "(HGETALL mqtt_acl:%u)" },
	{ "auth_redis_password_hash", K_STR, F(redis_password_hash),
	    "plain|md5|sha|sha256|bcrypt|salt,ALG|pbkdf2,... (plain)" },
	{ "auth_redis_timeout", K_U32, F(redis_timeout), "ms (5000)" },
	{ "auth_redis_max_pending", K_U32, F(redis_max_pending),
	    "requests in flight (4096)" },
	{ "auth_redis_on_error", K_STR, F(redis_on_error),
	    "backend failing: deny|ignore (deny)" },
	{ "auth_redis_acl_nomatch", K_STR, F(redis_acl_nomatch),
	    "rules but no match: deny|allow (deny)" },
	{ "auth_pgsql_conninfo", K_STR, F(pgsql_conninfo),
	    "libpq connection string (hostaddr=127.0.0.1 dbname=mqtt)" },
	{ "auth_pgsql_pool", K_U32, F(pgsql_pool), "connections (4)" },
	{ "auth_pgsql_auth_query", K_STR, F(pgsql_auth_query),
	    "SQL, %u %c %a bound as parameters" },
	{ "auth_pgsql_super_query", K_STR, F(pgsql_super_query), "SQL" },
	{ "auth_pgsql_acl_query", K_STR, F(pgsql_acl_query), "SQL" },
	{ "auth_pgsql_password_hash", K_STR, F(pgsql_password_hash),
	    "as auth_redis_password_hash (plain)" },
	{ "auth_pgsql_timeout", K_U32, F(pgsql_timeout), "ms (5000)" },
	{ "auth_pgsql_max_pending", K_U32, F(pgsql_max_pending),
	    "requests queued (4096)" },
	{ "auth_pgsql_on_error", K_STR, F(pgsql_on_error), "deny|ignore" },
	{ "auth_pgsql_acl_nomatch", K_STR, F(pgsql_acl_nomatch),
	    "deny|allow (deny)" },
	{ "auth_jwt_secret", K_STR, F(jwt_secret), "HS256/384/512 secret" },
	{ "auth_jwt_pubkey", K_STR, F(jwt_pubkey), "RS256/ES256 key (PEM)" },
	{ "auth_jwt_from", K_STR, F(jwt_from),
	    "password|username (password)" },
	{ "auth_jwt_verify_clientid", K_BOOL, F(jwt_verify_clientid),
	    "claim clientid must match (false)" },
	{ "auth_jwt_verify_username", K_BOOL, F(jwt_verify_username),
	    "claim username must match (false)" },
	{ "auth_jwt_leeway", K_U32, F(jwt_leeway), "exp/nbf skew, s (10)" },
	{ "auth_jwt_acl_claim", K_STR, F(jwt_acl_claim),
	    "claim with pub/sub/pubsub filters (none)" },
	{ "auth_http_auth_req", K_STR, F(http_auth_req), "URL (none)" },
	{ "auth_http_auth_req_method", K_STR, F(http_auth_method),
	    "get|post (post)" },
	{ "auth_http_auth_req_params", K_STR, F(http_auth_params),
	    "(clientid=%c,username=%u,password=%P)" },
	{ "auth_http_super_req", K_STR, F(http_super_req), "URL (none)" },
	{ "auth_http_super_req_method", K_STR, F(http_super_method),
	    "get|post (post)" },
	{ "auth_http_super_req_params", K_STR, F(http_super_params),
	    "(clientid=%c,username=%u)" },
	{ "auth_http_acl_req", K_STR, F(http_acl_req), "URL (none)" },
	{ "auth_http_acl_req_method", K_STR, F(http_acl_method),
	    "get|post (get)" },
	{ "auth_http_acl_req_params", K_STR, F(http_acl_params),
	    "(access=%A,username=%u,clientid=%c,ipaddr=%a,topic=%t)" },
	{ "auth_http_timeout", K_U32, F(http_timeout), "ms (5000)" },
	{ "auth_http_max_requests", K_U32, F(http_max_requests),
	    "at once (64)" },
	{ "auth_http_cache_ttl", K_U32, F(http_cache_ttl), "s, 0: off (60)" },
	{ "auth_http_cafile", K_STR, F(http_cafile), "HTTPS CAs (system)" },
	{ "auth_http_on_error", K_STR, F(http_on_error),
	    "backend failing: deny|ignore (deny)" },
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

uint32_t
mq_config_fd_clients(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
		return 102400;
	/* Listeners, epoll, signalfd, eventfds, log, the control socket and
	 * its clients, the reserve fd: 64 is plenty. */
	if (rl.rlim_cur <= MQ_FD_RESERVE + 16)
		return 16;
	return rl.rlim_cur - MQ_FD_RESERVE > UINT32_MAX
	    ? UINT32_MAX
	    : (uint32_t) (rl.rlim_cur - MQ_FD_RESERVE);
}

static void
defaults(mq_config *c)
{
	memset(c, 0, sizeof(*c));
	c->state_dir = strdup("./run");
	c->node = strdup("mqttd@127.0.0.1");
	c->max_clients = mq_config_fd_clients();
	c->ready_fd = -1;
	c->max_inflight = 32;
	c->max_queue = 1000;
	c->max_awaiting_rel = 100;
	c->session_expiry = 7200;
	c->retry_interval = 20;
	c->await_rel_timeout = 20;
	c->sys_interval = 60;
	c->connect_timeout = 30;
	c->allow_anonymous = true;
	c->auth_threads = 2;
	c->auth_queue_max = 1024;
	c->max_packet_size = 1048576;
	c->max_outbuf = 8u << 20;
	c->log_level = MQ_LOG_INFO;
	c->ciphers = strdup("ECDHE+AESGCM:ECDHE+CHACHA20");
	c->ws_path = strdup("/mqtt");
	c->seg_clients = 65536;
	c->seg_sessions = 65536;
	c->seg_subscriptions = 262144;
	c->seg_routes = 262144;
	c->seg_string_bytes = 64u << 20;
	c->persistence_sync_interval = 1000;
	c->jwt_leeway = 10;
	c->http_auth_method = strdup("post");
	c->http_auth_params = strdup("clientid=%c,username=%u,password=%P");
	c->http_super_method = strdup("post");
	c->http_super_params = strdup("clientid=%c,username=%u");
	c->http_acl_method = strdup("get");
	c->http_acl_params
	    = strdup("access=%A,username=%u,clientid=%c,ipaddr=%a,topic=%t");
	c->http_cache_ttl = 60;
}

static const char *const protocols[] = {
	[MQ_LISTEN_TCP] = "mqtt:tcp",
	[MQ_LISTEN_SSL] = "mqtt:ssl",
	[MQ_LISTEN_WS] = "mqtt:ws",
	[MQ_LISTEN_WSS] = "mqtt:wss",
};

const char *
mq_listen_protocol(unsigned kind)
{
	return kind < sizeof(protocols) / sizeof(protocols[0])
	    ? protocols[kind]
	    : "mqtt:?";
}

static int
copy_opt(char *dst, size_t cap, const char *v, size_t n)
{
	if (n == 0 || n >= cap)
		return -EINVAL;
	memcpy(dst, v, n);
	dst[n] = 0;
	return 0;
}

static int
bool_opt(int8_t *dst, const char *v, size_t n)
{
	if ((n == 4 && !memcmp(v, "true", 4)) || (n == 1 && v[0] == '1'))
		*dst = 1;
	else if ((n == 5 && !memcmp(v, "false", 5)) || (n == 1 && v[0] == '0'))
		*dst = 0;
	else
		return -EINVAL;
	return 0;
}

/* One ",NAME=VALUE" of a listener spec (v .. v+n is the value). */
static int
listen_opt(struct mq_listen *l, const char *name, size_t nlen, const char *v,
    size_t n)
{
#define IS(s) (nlen == sizeof(s) - 1 && !memcmp(name, s, nlen))
	if (IS("max_clients")) {
		char          num[16], *end;
		unsigned long x;

		if (copy_opt(num, sizeof(num), v, n) != 0)
			return -EINVAL;
		errno = 0;
		x = strtoul(num, &end, 10);
		if (errno || *end || end == num || x > UINT32_MAX)
			return -EINVAL;
		l->max_clients = (uint32_t) x;
		return 0;
	}
	if (IS("certfile"))
		return copy_opt(l->certfile, sizeof(l->certfile), v, n);
	if (IS("keyfile"))
		return copy_opt(l->keyfile, sizeof(l->keyfile), v, n);
	if (IS("cafile"))
		return copy_opt(l->cafile, sizeof(l->cafile), v, n);
	if (IS("path"))
		return v[0] == '/' ? copy_opt(l->path, sizeof(l->path), v, n)
		                   : -EINVAL;
	if (IS("require_certificate"))
		return bool_opt(&l->require_cert, v, n);
	if (IS("use_identity_as_username"))
		return bool_opt(&l->identity, v, n);
	return -EINVAL;
#undef IS
}

int
mq_config_parse_listen(struct mq_listen *l, const char *s)
{
	static const char *const kinds[]
	    = { "tcp://", "ssl://", "ws://", "wss://" };
	const char   *comma, *colon, *port, *opt;
	char         *end;
	unsigned long p;
	uint32_t      max = l->max_clients;

	memset(l, 0, sizeof(*l));
	l->max_clients = max;
	l->require_cert = l->identity = -1;
	for (unsigned k = 0; k < 4; k++) {
		if (!strncmp(s, kinds[k], strlen(kinds[k]))) {
			l->kind = (uint8_t) k;
			s += strlen(kinds[k]);
			break;
		}
	}
	comma = strchr(s, ',');
	/* the last ':' before the options separates address and port */
	colon = NULL;
	for (const char *q = s; *q && (comma == NULL || q < comma); q++)
		if (*q == ':')
			colon = q;
	port = colon ? colon + 1 : s;
	if (colon) {
		size_t n = (size_t) (colon - s);

		if (n >= sizeof(l->addr))
			return -EINVAL;
		/* "[::1]:1883" */
		if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
			memcpy(l->addr, s + 1, n - 2);
			l->addr[n - 2] = 0;
		} else {
			memcpy(l->addr, s, n);
			l->addr[n] = 0;
		}
	} else {
		strcpy(l->addr, "127.0.0.1");
	}
	errno = 0;
	p = strtoul(port, &end, 10);
	if (errno || end == port || p > 65535 || *port == '-' || *port == '+'
	    || *port == ' ')
		return -EINVAL;
	l->port = (uint16_t) p;
	if (*end != 0 && *end != ',')
		return -EINVAL;
	for (opt = end; *opt == ',';) {
		const char *name = opt + 1, *eq, *oe = strchr(name, ',');

		if (oe == NULL)
			oe = name + strlen(name);
		eq = memchr(name, '=', (size_t) (oe - name));
		if (eq == NULL
		    || listen_opt(l, name, (size_t) (eq - name), eq + 1,
		           (size_t) (oe - eq - 1))
		        != 0)
			return -EINVAL;
		opt = oe;
	}
	return *opt == 0 ? 0 : -EINVAL;
}

static int
set(mq_config *c, const struct key *k, const char *v)
{
	char              *end, **sp;
	unsigned long long n;
	int                rc;

	switch (k->kind) {
	case K_U32:
	case K_U64:
	case K_FD:
		errno = 0;
		n = strtoull(v, &end, 10);
		if (errno || end == v || *end
		    || (k->kind != K_U64 && n > UINT32_MAX)
		    || (k->kind == K_FD && n > INT32_MAX))
			return -EINVAL;
		if (k->kind == K_U64)
			*(uint64_t *) ((char *) c + k->off) = n;
		else if (k->kind == K_FD)
			*(int *) ((char *) c + k->off) = (int) n;
		else
			*(uint32_t *) ((char *) c + k->off) = (uint32_t) n;
		return 0;
	case K_BOOL:
		if (!strcmp(v, "true") || !strcmp(v, "on") || !strcmp(v, "1"))
			*(bool *) ((char *) c + k->off) = true;
		else if (!strcmp(v, "false") || !strcmp(v, "off")
		    || !strcmp(v, "0"))
			*(bool *) ((char *) c + k->off) = false;
		else
			return -EINVAL;
		return 0;
	case K_STR:
		sp = (char **) ((char *) c + k->off);
		free(*sp);
		*sp = strdup(v);
		return *sp ? 0 : -ENOMEM;
	case K_LOG:
		rc = mq_log_parse_level(v);
		if (rc < 0)
			return rc;
		c->log_level = rc;
		return 0;
	case K_SYNC:
		if (!strcmp(v, "commit"))
			c->persistence_sync = MQ_PERSIST_COMMIT;
		else if (!strcmp(v, "interval"))
			c->persistence_sync = MQ_PERSIST_INTERVAL;
		else if (!strcmp(v, "off"))
			c->persistence_sync = MQ_PERSIST_OFF;
		else
			return -EINVAL;
		return 0;
	case K_LISTEN:
		if (c->nlisten == MQ_MAX_LISTENERS)
			return -ENOSPC;
		c->listen[c->nlisten].max_clients = 0;
		rc = mq_config_parse_listen(&c->listen[c->nlisten], v);
		if (rc == 0)
			c->nlisten++;
		return rc;
	}
	return -EINVAL;
}

static const struct key *
find(const char *name, size_t len)
{
	for (size_t i = 0; i < NKEYS; i++) {
		const char *k = keys[i].name;
		size_t      j;

		if (strlen(k) != len)
			continue;
		for (j = 0; j < len; j++) {
			char a = name[j] == '-' ? '_' : name[j];

			if (a != k[j])
				break;
		}
		if (j == len)
			return &keys[i];
	}
	return NULL;
}

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s
	    && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n'
	        || e[-1] == '\r'))
		*--e = 0;
	return s;
}

static int
load_file(mq_config *c, const char *path)
{
	FILE *f = fopen(path, "r");
	char  line[4096];
	int   lineno = 0, rc = 0;

	if (f == NULL) {
		rc = -errno;
		fprintf(
		    stderr, "mqttd: fopen(%s): %s\n", path, strerror(errno));
		return rc;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		char             *s = trim(line), *eq, *k, *v;
		const struct key *key;

		lineno++;
		if (*s == 0 || *s == '#')
			continue;
		eq = strchr(s, '=');
		if (eq == NULL) {
			fprintf(stderr, "mqttd: %s:%d: expected key = value\n",
			    path, lineno);
			rc = -EINVAL;
			break;
		}
		*eq = 0;
		k = trim(s);
		v = trim(eq + 1);
		key = find(k, strlen(k));
		if (key == NULL || set(c, key, v) != 0) {
			fprintf(stderr, "mqttd: %s:%d: bad %s '%s'\n", path,
			    lineno, key ? "value for" : "key", key ? k : k);
			rc = -EINVAL;
			break;
		}
	}
	fclose(f);
	return rc;
}

static void
usage(void)
{
	printf("usage: mqttd [-c FILE] [--KEY VALUE]...\n");
	for (size_t i = 0; i < NKEYS; i++) {
		char   flag[64];
		size_t j;

		for (j = 0; keys[i].name[j] && j < sizeof(flag) - 1; j++)
			flag[j]
			    = keys[i].name[j] == '_' ? '-' : keys[i].name[j];
		flag[j] = 0;
		printf("  --%-24s %s\n", flag, keys[i].help);
	}
}

/* One pass over argv; only_conf picks out -c, else everything but -c. */
static int
parse_args(mq_config *c, int argc, char **argv, bool only_conf)
{
	for (int i = 1; i < argc; i++) {
		const char       *a = argv[i], *v = NULL, *eq;
		const struct key *k;

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			if (!only_conf)
				usage();
			return 1;
		}
		if (!strcmp(a, "-c") || !strcmp(a, "--conf")) {
			if (++i >= argc)
				goto missing;
			if (only_conf) {
				free(c->conf_file);
				c->conf_file = strdup(argv[i]);
			}
			continue;
		}
		if (strncmp(a, "--", 2) != 0) {
			fprintf(stderr,
			    "mqttd: unknown option %s (see --help)\n", a);
			return -EINVAL;
		}
		eq = strchr(a + 2, '=');
		k = find(a + 2, eq ? (size_t) (eq - a - 2) : strlen(a + 2));
		if (k == NULL) {
			fprintf(stderr,
			    "mqttd: unknown option %s (see --help)\n", a);
			return -EINVAL;
		}
		if (eq)
			v = eq + 1;
		else if (k->kind == K_BOOL
		    && (i + 1 >= argc || !strncmp(argv[i + 1], "--", 2)
		        || (strcmp(argv[i + 1], "true")
		            && strcmp(argv[i + 1], "false"))))
			v = "true"; /* a bare boolean flag */
		else if (++i < argc)
			v = argv[i];
		else
			goto missing;
		if (!only_conf && set(c, k, v) != 0) {
			fprintf(
			    stderr, "mqttd: bad value for %s: '%s'\n", a, v);
			return -EINVAL;
		}
	}
	return 0;
missing:
	fprintf(stderr, "mqttd: %s needs a value\n", argv[argc - 1]);
	return -EINVAL;
}

/* Fills a listener's unset options from the global keys; a TLS listener
 * without certificate or key is an error. */
static int
listen_defaults(mq_config *c, struct mq_listen *l)
{
	struct {
		char       *dst;
		const char *global;
	} s[] = {
		{ l->certfile, c->certfile },
		{ l->keyfile, c->keyfile },
		{ l->cafile, c->cafile },
		{ l->path, c->ws_path },
	};
	bool tls = l->kind == MQ_LISTEN_SSL || l->kind == MQ_LISTEN_WSS;

	if (l->max_clients == 0)
		l->max_clients = c->max_clients;
	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
		size_t cap = i == 3 ? sizeof(l->path) : MQ_PATH_MAX;

		if (s[i].dst[0] || s[i].global == NULL)
			continue;
		if (strlen(s[i].global) >= cap) {
			fprintf(
			    stderr, "mqttd: %s is too long\n", s[i].global);
			return -EINVAL;
		}
		strcpy(s[i].dst, s[i].global);
	}
	if (l->require_cert < 0)
		l->require_cert = c->require_certificate;
	if (l->identity < 0)
		l->identity = c->use_identity_as_username;
	if (tls && (!l->certfile[0] || !l->keyfile[0])) {
		fprintf(stderr,
		    "mqttd: listener %s %s:%u needs certfile and keyfile\n",
		    mq_listen_protocol(l->kind), l->addr, l->port);
		return -EINVAL;
	}
	if (l->require_cert && tls && !l->cafile[0]) {
		fprintf(stderr,
		    "mqttd: listener %s %s:%u: require_certificate needs a "
		    "cafile\n",
		    mq_listen_protocol(l->kind), l->addr, l->port);
		return -EINVAL;
	}
	if (l->path[0] != '/') {
		fprintf(stderr, "mqttd: ws_path must start with '/'\n");
		return -EINVAL;
	}
	return 0;
}

int
mq_config_load(mq_config *c, int argc, char **argv)
{
	int      rc;
	unsigned file_listen;

	defaults(c);
	rc = parse_args(c, argc, argv, true);
	if (rc != 0)
		return rc == 1 ? (usage(), 1) : rc;
	if (c->conf_file && (rc = load_file(c, c->conf_file)) != 0)
		return rc;
	/* Listeners on the command line replace those of the file. */
	file_listen = c->nlisten;
	rc = parse_args(c, argc, argv, false);
	if (rc != 0)
		return rc;
	if (c->nlisten > file_listen && file_listen > 0) {
		memmove(c->listen, c->listen + file_listen,
		    (c->nlisten - file_listen) * sizeof(c->listen[0]));
		c->nlisten -= file_listen;
	}
	if (c->nlisten == 0) {
		strcpy(c->listen[0].addr, "127.0.0.1");
		c->listen[0].port = 1883;
		c->nlisten = 1;
	}
	for (unsigned i = 0; i < c->nlisten; i++) {
		rc = listen_defaults(c, &c->listen[i]);
		if (rc != 0)
			return rc;
	}
	if (c->max_inflight == 0 || c->max_inflight > 65535)
		c->max_inflight = 65535;
	if (c->max_awaiting_rel > 65535)
		c->max_awaiting_rel = 65535;
	if (c->max_packet_size > 268435460) /* MQTT's own maximum */
		c->max_packet_size = 268435460;
	if (c->max_packet_size < 16)
		c->max_packet_size = 16;
	if (c->sys_interval == 0)
		c->sys_interval = 1;
	if (c->jwt_from != NULL && strcmp(c->jwt_from, "password") != 0
	    && strcmp(c->jwt_from, "username") != 0) {
		fprintf(stderr,
		    "mqttd: auth_jwt_from must be password or username\n");
		return -EINVAL;
	}
	return 0;
}

void
mq_config_fini(mq_config *c)
{
	free(c->conf_file);
	free(c->state_dir);
	free(c->node);
	free(c->username_file);
	free(c->clientid_file);
	free(c->acl_file);
	free(c->cluster_nats);
	free(c->persistence_dir);
	free(c->redis_server);
	free(c->redis_password);
	free(c->redis_auth_cmd);
	free(c->redis_super_cmd);
	free(c->redis_acl_cmd);
	free(c->redis_password_hash);
	free(c->redis_on_error);
	free(c->redis_acl_nomatch);
	free(c->pgsql_conninfo);
	free(c->pgsql_auth_query);
	free(c->pgsql_super_query);
	free(c->pgsql_acl_query);
	free(c->pgsql_password_hash);
	free(c->pgsql_on_error);
	free(c->pgsql_acl_nomatch);
	free(c->certfile);
	free(c->keyfile);
	free(c->cafile);
	free(c->ciphers);
	free(c->ws_path);
	free(c->ws_origins);
	free(c->jwt_secret);
	free(c->jwt_pubkey);
	free(c->jwt_from);
	free(c->jwt_acl_claim);
	free(c->http_auth_req);
	free(c->http_auth_method);
	free(c->http_auth_params);
	free(c->http_super_req);
	free(c->http_super_method);
	free(c->http_super_params);
	free(c->http_acl_req);
	free(c->http_acl_method);
	free(c->http_acl_params);
	free(c->http_cafile);
	free(c->http_on_error);
	memset(c, 0, sizeof(*c));
}
