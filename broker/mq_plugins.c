/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mq_plugins: the built-in plugins, their persisted on/off state, and the
 * auth chain and ACL decision of the active ones.
 *
 * State file (STATE_DIR/plugins.state), one plugin a line:
 *
 *     mqttd_retainer on
 *     mqttd_auth_username off
 *
 * Unknown names and malformed lines are logged and ignored; a plugin the
 * file does not name keeps its default (retainer and sys on, the rest
 * off).  It is rewritten whole on every switch: temp file, fsync, rename,
 * fsync of the directory, so a crash leaves the old or the new state.
 *
 * The auth plugins' tables are credentials (mq_creds.c: auth files,
 * crypt(3), the verified-password cache), the ACL plugin's rules are
 * mq_acl.c; this file is the plugin table, its state, and the EMQ 2.3
 * auth chain over them.
 */
#include "config.h"

#include "broker/mq_plugins.h"
#include "broker/mq_acl.h"
#include "broker/mq_creds.h"
#include "broker/mq_file.h"
#include "broker/mq_log.h"

#include <openssl/crypto.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct mq_plugins {
	char       *state_path;
	char       *username_file;
	char       *clientid_file;
	char       *acl_file;
	bool        allow_anonymous;
	bool        active[MQ_PLUGIN_COUNT];
	mq_pwcache *cache;
	mq_creds   *users;
	mq_creds   *clients;
	mq_acl     *acl;
	/* mqttd_auth_jwt: the settings (key file re-read on reload) and
	 * the verifier, NULL when it has no key. */
	struct mq_jwt_config jwt_cfg;
	bool                 jwt_from_username;
	mq_jwt              *jwt;
};

static const struct {
	const char *name;
	const char *description;
	bool        on; /* default */
} plugin_info[MQ_PLUGIN_COUNT] = {
	[MQ_PLUGIN_RETAINER] = { "mqttd_retainer", "Retained messages", true },
	[MQ_PLUGIN_AUTH_USERNAME] = { "mqttd_auth_username",
	    "Authentication with Username/Password", false },
	[MQ_PLUGIN_AUTH_CLIENTID] = { "mqttd_auth_clientid",
	    "Authentication with ClientId/Password", false },
	[MQ_PLUGIN_ACL_FILE] = { "mqttd_acl_file",
	    "Topic ACL per user / client from a rule file", false },
	[MQ_PLUGIN_SYS] = { "mqttd_sys",
	    "$SYS/brokers/<node> uptime, version, metrics and stats", true },
	[MQ_PLUGIN_AUTH_REDIS] = { "mqttd_auth_redis",
	    "Authentication, superuser and ACL with Redis", false },
	[MQ_PLUGIN_AUTH_PGSQL] = { "mqttd_auth_pgsql",
	    "Authentication, superuser and ACL with PostgreSQL", false },
	[MQ_PLUGIN_AUTH_JWT] = { "mqttd_auth_jwt",
	    "Authentication with JSON Web Tokens (HS*, RS256, ES256)", false },
	[MQ_PLUGIN_AUTH_HTTP] = { "mqttd_auth_http",
	    "Authentication, superuser and ACL by HTTP requests", false },
};

const char *
mq_plugin_name(enum mq_plugin_id id)
{
	return (unsigned) id < MQ_PLUGIN_COUNT ? plugin_info[id].name : NULL;
}

const char *
mq_plugin_version(enum mq_plugin_id id)
{
	/* Built in: a plugin is as new as the broker it is part of. */
	return (unsigned) id < MQ_PLUGIN_COUNT ? PACKAGE_VERSION : NULL;
}

const char *
mq_plugin_description(enum mq_plugin_id id)
{
	return (unsigned) id < MQ_PLUGIN_COUNT ? plugin_info[id].description
	                                       : NULL;
}

int
mq_plugin_find(const char *name, size_t len)
{
	if (name == NULL)
		return -ENOENT;
	for (int i = 0; i < MQ_PLUGIN_COUNT; i++)
		if (strlen(plugin_info[i].name) == len
		    && memcmp(plugin_info[i].name, name, len) == 0)
			return i;
	return -ENOENT;
}

bool
mq_plugins_active(const mq_plugins *p, enum mq_plugin_id id)
{
	return p != NULL && (unsigned) id < MQ_PLUGIN_COUNT && p->active[id];
}

/* ---- the auth chain ---- */

enum mq_auth_result
mq_plugins_check_finish(const mq_plugins *p, struct mq_auth_check *ck)
{
	int       tag = mq_creds_check_tag(ck);
	mq_creds *c = tag == MQ_PLUGIN_AUTH_USERNAME ? p->users
	    : tag == MQ_PLUGIN_AUTH_CLIENTID         ? p->clients
	                                             : NULL; /* a database's */

	return mq_creds_check_finish(c, ck) ? MQ_AUTH_ALLOW
	                                    : MQ_AUTH_BAD_CREDENTIALS;
}

void
mq_plugins_grant_fini(struct mq_auth_grant *g)
{
	if (g != NULL)
		mq_jwt_acl_free(&g->jwt_acl);
}

/*
 * mqttd_auth_jwt: no token passes the client on; a token that does not
 * verify (or that nothing can verify: no key) is a refusal, as EMQ's
 * emq_auth_jwt answers {error, _} for it.  The token's ACL claim goes
 * to g.
 */
static enum mq_cred_verdict
jwt_check(
    const mq_plugins *p, const struct mq_auth_who *w, struct mq_auth_grant *g)
{
	const char *tok = p->jwt_from_username ? w->username : w->password;
	size_t len = p->jwt_from_username ? w->username_len : w->password_len;
	mq_jwt_acl        *acl = NULL;
	enum mq_jwt_result r;

	if (tok == NULL || len == 0)
		return MQ_CRED_IGNORE;
	if (p->jwt == NULL) {
		mq_info(
		    "client %.*s: token refused: mqttd_auth_jwt has no key",
		    (int) w->client_id_len, w->client_id);
		return MQ_CRED_REJECT;
	}
	r = mq_jwt_verify(p->jwt, tok, len, w->client_id, w->client_id_len,
	    w->username, w->username_len, (int64_t) time(NULL),
	    g != NULL ? &acl : NULL);
	if (r != MQ_JWT_OK) {
		mq_info("client %.*s: token refused: %s",
		    (int) w->client_id_len, w->client_id,
		    mq_jwt_result_str(r));
		return MQ_CRED_REJECT;
	}
	if (g != NULL) {
		mq_jwt_acl_free(&g->jwt_acl);
		g->jwt_acl = acl;
	}
	return MQ_CRED_ACCEPT;
}

enum mq_auth_result
mq_plugins_anonymous(const mq_plugins *p)
{
	return p->allow_anonymous ? MQ_AUTH_ALLOW : MQ_AUTH_NOT_AUTHORIZED;
}

/*
 * EMQ 2.3's chain, its local part: mqttd_auth_username,
 * mqttd_auth_clientid, then mqttd_auth_jwt; the first that knows the
 * client decides.  IGNORE: none does (the backends are next, then
 * allow_anonymous).
 */
enum mq_auth_result
mq_plugins_auth_begin(const mq_plugins *p, const struct mq_auth_who *w,
    struct mq_auth_grant *g, struct mq_auth_check **ck)
{
	enum mq_cred_verdict v = MQ_CRED_IGNORE;

	if (ck != NULL)
		*ck = NULL;
	if (p->active[MQ_PLUGIN_AUTH_USERNAME])
		v = mq_creds_check(p->users, p->cache, MQ_PLUGIN_AUTH_USERNAME,
		    w->username, w->username_len, w->password, w->password_len,
		    ck);
	if (v == MQ_CRED_IGNORE && p->active[MQ_PLUGIN_AUTH_CLIENTID])
		v = mq_creds_check(p->clients, p->cache,
		    MQ_PLUGIN_AUTH_CLIENTID, w->client_id, w->client_id_len,
		    w->password, w->password_len, ck);
	if (v == MQ_CRED_IGNORE && p->active[MQ_PLUGIN_AUTH_JWT])
		v = jwt_check(p, w, g);
	switch (v) {
	case MQ_CRED_ACCEPT:
		return MQ_AUTH_ALLOW;
	case MQ_CRED_REJECT:
		return MQ_AUTH_BAD_CREDENTIALS;
	case MQ_CRED_PENDING:
		return MQ_AUTH_PENDING;
	case MQ_CRED_IGNORE:
		break;
	}
	return MQ_AUTH_IGNORE;
}

enum mq_auth_result
mq_plugins_authenticate_local(const mq_plugins *p, const char *client_id,
    size_t client_id_len, const char *username, size_t username_len,
    const char *password, size_t password_len, struct mq_auth_check **ck)
{
	struct mq_auth_who w = { client_id, username, password, client_id_len,
		username_len, password_len };

	return mq_plugins_auth_begin(p, &w, NULL, ck);
}

enum mq_auth_result
mq_plugins_authenticate_begin(const mq_plugins *p, const char *client_id,
    size_t client_id_len, const char *username, size_t username_len,
    const char *password, size_t password_len, struct mq_auth_check **ck)
{
	enum mq_auth_result r = mq_plugins_authenticate_local(p, client_id,
	    client_id_len, username, username_len, password, password_len, ck);

	return r == MQ_AUTH_IGNORE ? mq_plugins_anonymous(p) : r;
}

enum mq_auth_result
mq_plugins_authenticate(const mq_plugins *p, const char *client_id,
    size_t client_id_len, const char *username, size_t username_len,
    const char *password, size_t password_len)
{
	return mq_plugins_authenticate_begin(p, client_id, client_id_len,
	    username, username_len, password, password_len, NULL);
}

bool
mq_plugins_acl(const mq_plugins *p, const struct mq_auth_grant *g,
    const char *client_id, size_t client_id_len, const char *username,
    size_t username_len, const char *topic, size_t topic_len,
    enum mq_acl_access access)
{
	if (g != NULL && g->jwt_acl != NULL && p->active[MQ_PLUGIN_AUTH_JWT])
		return mq_jwt_acl_allows(
		    g->jwt_acl, topic, topic_len, access == MQ_ACL_PUBLISH);
	return mq_plugins_acl_check(p, client_id, client_id_len, username,
	    username_len, topic, topic_len, access);
}

bool
mq_plugins_acl_check(const mq_plugins *p, const char *client_id,
    size_t client_id_len, const char *username, size_t username_len,
    const char *topic, size_t topic_len, enum mq_acl_access access)
{
	if (!p->active[MQ_PLUGIN_ACL_FILE])
		return true;
	return mq_acl_check(p->acl, client_id, client_id_len, username,
	    username_len, topic, topic_len, access);
}

/* ---- state file ------------------------------------------------------ */

static int
state_line(
    void *ctx, const char *path, unsigned lineno, const char *line, size_t len)
{
	bool       *active = ctx;
	const char *s = line, *end = line + len, *name, *val, *extra;
	size_t      nn, vn, xn;
	int         id;

	if (!mq_token_next(&s, end, &name, &nn)
	    || !mq_token_next(&s, end, &val, &vn)
	    || mq_token_next(&s, end, &extra, &xn)
	    || !(mq_token_is(val, vn, "on") || mq_token_is(val, vn, "off"))) {
		mq_warn(
		    "%s:%u: not 'NAME on|off', line ignored", path, lineno);
		return 0;
	}
	id = mq_plugin_find(name, nn);
	if (id < 0) {
		mq_warn("%s:%u: unknown plugin '%.*s', line ignored", path,
		    lineno, (int) nn, name);
		return 0;
	}
	active[id] = mq_token_is(val, vn, "on");
	return 0;
}

static int
state_save(const mq_plugins *p, const bool *active)
{
	char   buf[512];
	size_t n = 0;

	if (p->state_path == NULL)
		return 0;
	for (int i = 0; i < MQ_PLUGIN_COUNT; i++)
		n += (size_t) snprintf(buf + n, sizeof(buf) - n, "%s %s\n",
		    plugin_info[i].name, active[i] ? "on" : "off");
	return mq_file_replace(p->state_path, buf, n, 0640);
}

int
mq_plugins_set_active(mq_plugins *p, enum mq_plugin_id id, bool active)
{
	bool next[MQ_PLUGIN_COUNT];
	int  rc;

	if ((unsigned) id >= MQ_PLUGIN_COUNT)
		return -EINVAL;
	if (p->active[id] == active)
		return -EALREADY;
	memcpy(next, p->active, sizeof(next));
	next[id] = active;
	rc = state_save(p, next);
	if (rc < 0)
		return rc;
	p->active[id] = active;
	return 0;
}

/* ---- life cycle ------------------------------------------------------ */

static int
dup_opt(char **dst, const char *src)
{
	*dst = NULL;
	if (src == NULL)
		return 0;
	*dst = strdup(src);
	return *dst == NULL ? -ENOMEM : 0;
}

/* Owned copies of the JWT settings (src NULL: none). */
static int
jwt_cfg_copy(struct mq_jwt_config *dst, const struct mq_jwt_config *src)
{
	char *sec = NULL, *key = NULL, *claim = NULL;

	memset(dst, 0, sizeof(*dst));
	if (src == NULL)
		return 0;
	if (dup_opt(&sec, src->secret) < 0
	    || dup_opt(&key, src->pubkey_file) < 0
	    || dup_opt(&claim, src->acl_claim) < 0) {
		free(sec);
		free(key);
		free(claim);
		return -ENOMEM;
	}
	*dst = *src;
	dst->secret = sec;
	dst->pubkey_file = key;
	dst->acl_claim = claim;
	return 0;
}

static void
jwt_cfg_free(struct mq_jwt_config *c)
{
	if (c->secret != NULL) /* a secret does not linger in the heap */
		OPENSSL_cleanse((char *) c->secret, strlen(c->secret));
	free((char *) c->secret);
	free((char *) c->pubkey_file);
	free((char *) c->acl_claim);
	memset(c, 0, sizeof(*c));
}

int
mq_plugins_reload(mq_plugins *p)
{
	mq_creds *users, *clients;
	mq_acl   *acl;
	mq_jwt   *jwt = NULL;
	int       ru, rcl, ra, rj = 0;

	if ((p->jwt_cfg.secret != NULL && p->jwt_cfg.secret[0])
	    || (p->jwt_cfg.pubkey_file != NULL && p->jwt_cfg.pubkey_file[0])) {
		rj = mq_jwt_new(&jwt, &p->jwt_cfg);
		if (rj == -ENOMEM)
			return rj;
		if (rj < 0) /* logged; tokens are refused until fixed */
			mq_warn(
			    "mqttd_auth_jwt: no usable key, tokens will be "
			    "refused");
	}
	mq_jwt_free(&p->jwt);
	p->jwt = jwt;
	ru = mq_creds_load(&users, p->username_file);
	rcl = mq_creds_load(&clients, p->clientid_file);
	ra = mq_acl_load(&acl, p->acl_file);
	if (ru == -ENOMEM || rcl == -ENOMEM || ra == -ENOMEM) {
		mq_creds_free(&users);
		mq_creds_free(&clients);
		mq_acl_free(&acl);
		return -ENOMEM; /* keep the tables we have */
	}
	/* An unreadable file (logged) leaves that plugin with no entries. */
	mq_creds_free(&p->users);
	mq_creds_free(&p->clients);
	mq_acl_free(&p->acl);
	p->users = users;
	p->clients = clients;
	p->acl = acl;
	return ru < 0 ? ru : rcl < 0 ? rcl : ra < 0 ? ra : rj < 0 ? rj : 0;
}

int
mq_plugins_new(mq_plugins **out, const struct mq_plugins_config *cfg)
{
	mq_plugins *p = calloc(1, sizeof(*p));
	int         rc;

	*out = NULL;
	if (p == NULL)
		return -ENOMEM;
	if (dup_opt(&p->state_path, cfg->state_path) < 0
	    || dup_opt(&p->username_file, cfg->username_file) < 0
	    || dup_opt(&p->clientid_file, cfg->clientid_file) < 0
	    || dup_opt(&p->acl_file, cfg->acl_file) < 0
	    || jwt_cfg_copy(&p->jwt_cfg, cfg->jwt) < 0
	    || mq_pwcache_new(&p->cache) < 0) {
		mq_plugins_free(&p);
		return -ENOMEM;
	}
	p->allow_anonymous = cfg->allow_anonymous;
	p->jwt_from_username = cfg->jwt_from_username;
	for (int i = 0; i < MQ_PLUGIN_COUNT; i++)
		p->active[i] = plugin_info[i].on;
	if (p->state_path != NULL) {
		rc = mq_file_lines(p->state_path, true, state_line, p->active);
		if (rc == -ENOMEM) {
			mq_plugins_free(&p);
			return rc;
		}
	}
	rc = mq_plugins_reload(p);
	if (rc == -ENOMEM) {
		mq_plugins_free(&p);
		return rc;
	}
	*out = p;
	return 0;
}

void
mq_plugins_free(mq_plugins **pp)
{
	mq_plugins *p = *pp;

	if (p == NULL)
		return;
	mq_creds_free(&p->users);
	mq_creds_free(&p->clients);
	mq_acl_free(&p->acl);
	mq_jwt_free(&p->jwt);
	jwt_cfg_free(&p->jwt_cfg);
	free(p->state_path);
	free(p->username_file);
	free(p->clientid_file);
	free(p->acl_file);
	mq_pwcache_free(&p->cache);
	free(p);
	*pp = NULL;
}
