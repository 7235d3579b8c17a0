/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mq_plugins: the broker's plugins, their on/off state, and the auth and
 * ACL decisions that the active ones make.
 *
 * The plugins are built in and switched at runtime (through the control
 * socket, from the API); every switch takes effect on the next decision
 * and is persisted to the state file, so it survives a restart.
 *
 *   mqttd_retainer       retained messages (broker core asks
 *                        mq_plugins_active() before storing or delivering)
 *   mqttd_auth_username  username + password against a file of
 *                        "username:$6$salt$hash" lines (crypt(3) hashes)
 *   mqttd_auth_clientid  client id + password, same file format
 *   mqttd_acl_file       topic ACL rules per user / client (see
 *                        mq_acl.c for the rule format)
 *   mqttd_sys            $SYS/brokers/<node>/... publishing (broker core)
 *   mqttd_auth_redis     users, superusers and ACL in Redis, and
 *   mqttd_auth_pgsql     in PostgreSQL: asked on the broker's loop when
 *                        no file plugin knows the client (mq_dbauth.h);
 *                        this table only holds their on/off state
 *   mqttd_auth_jwt       the password (or the username) is a JWT, checked
 *                        by mq_jwt; its ACL claim, if any, is the
 *                        client's ACL (struct mq_auth_grant)
 *   mqttd_auth_http      auth, superuser and ACL by HTTP requests
 *                        (mq_auth_http.h; asked after the databases)
 *
 * Authentication follows EMQ 2.3's chain: each active auth plugin either
 * accepts, rejects, or ignores (it does not know the user / client); when
 * all ignore, allow_anonymous decides.  ACL: the first matching rule wins;
 * no match allows (EMQ's acl_nomatch = allow).
 *
 * Errors: int functions return 0 or -errno; the failure is logged once.
 */
#ifndef MQ_PLUGINS_H
#define MQ_PLUGINS_H

#include <stdbool.h>
#include <stddef.h>

#include "broker/mq_acl.h"
#include "broker/mq_creds.h"
#include "broker/mq_jwt.h"

typedef struct mq_plugins mq_plugins;

enum mq_plugin_id {
	MQ_PLUGIN_RETAINER,
	MQ_PLUGIN_AUTH_USERNAME,
	MQ_PLUGIN_AUTH_CLIENTID,
	MQ_PLUGIN_ACL_FILE,
	MQ_PLUGIN_SYS,
	MQ_PLUGIN_AUTH_REDIS, /* backends: mq_dbauth.h */
	MQ_PLUGIN_AUTH_PGSQL,
	MQ_PLUGIN_AUTH_JWT,
	MQ_PLUGIN_AUTH_HTTP, /* mq_auth_http.h */
	MQ_PLUGIN_COUNT
};

struct mq_plugins_config {
	const char *state_path;    /* e.g. STATE_DIR/plugins.state */
	const char *username_file; /* NULL: plugin has no users */
	const char *clientid_file; /* NULL: plugin has no clients */
	const char *acl_file;      /* NULL: plugin has no rules */
	bool        allow_anonymous;
	/* mqttd_auth_jwt: NULL or no key, tokens are refused. */
	const struct mq_jwt_config *jwt;
	bool jwt_from_username; /* the token is the username */
};

/*
 * What the chain granted a client besides the yes, kept with its
 * connection for the ACL decisions (zeroed: nothing).
 */
struct mq_auth_grant {
	mq_jwt_acl *jwt_acl; /* its token's ACL claim, NULL: none */
};
void mq_plugins_grant_fini(struct mq_auth_grant *g);

/* A CONNECT's credentials; username / password NULL when absent. */
struct mq_auth_who {
	const char *client_id;
	const char *username;
	const char *password;
	size_t      client_id_len, username_len, password_len;
};

enum mq_auth_result {
	MQ_AUTH_ALLOW,
	MQ_AUTH_BAD_CREDENTIALS, /* CONNACK 4 */
	MQ_AUTH_NOT_AUTHORIZED,  /* CONNACK 5 */
	MQ_AUTH_PENDING,         /* _begin only: a crypt(3) check to run */
	MQ_AUTH_IGNORE,          /* _local only: no file plugin knows it */
};

/*
 * Loads the state file (missing: the defaults, retainer and sys on, the
 * rest off) and the plugin files.  A plugin file that cannot be read is
 * logged and leaves that plugin with no entries; it does not fail start-up.
 */
int  mq_plugins_new(mq_plugins **out, const struct mq_plugins_config *cfg);
void mq_plugins_free(mq_plugins **p);

/* Re-reads the plugin files (SIGHUP). */
int mq_plugins_reload(mq_plugins *p);

const char *mq_plugin_name(enum mq_plugin_id id); /* "mqttd_retainer" */
const char *mq_plugin_version(enum mq_plugin_id id);
const char *mq_plugin_description(enum mq_plugin_id id);

/* The id of a plugin name, or -ENOENT. */
int mq_plugin_find(const char *name, size_t len);

bool mq_plugins_active(const mq_plugins *p, enum mq_plugin_id id);

/*
 * Switches a plugin and persists the state (temp file, fsync, rename).
 * Returns 0, -EALREADY when it already was in that state, or -errno when
 * the state could not be saved (the switch is then not made).
 */
int mq_plugins_set_active(mq_plugins *p, enum mq_plugin_id id, bool active);

/*
 * username / password are NULL when absent from CONNECT.  Runs crypt(3)
 * in the caller when the password is not in the cache (milliseconds):
 * for tools, tests and the fuzzers; the broker uses _begin.
 */
enum mq_auth_result mq_plugins_authenticate(const mq_plugins *p,
    const char *client_id, size_t client_id_len, const char *username,
    size_t username_len, const char *password, size_t password_len);

/*
 * The same decision, minus the slow part: when it needs crypt(3) (a
 * password the cache has not accepted before), returns MQ_AUTH_PENDING
 * and *ck, a check that owns copies of the hash and the password.  Run
 * it on any thread with mq_creds_check_run (it touches nothing but
 * *ck), then judge it on the caller's thread with
 * mq_plugins_check_finish, which frees it: ALLOW or BAD_CREDENTIALS, as
 * the plugin state was when the check began (a later reload or switch
 * does not change it; the cache learns the password only if the entry
 * still has the same hash).  mq_creds_check_free drops a check unjudged.
 */
struct mq_auth_check;
enum mq_auth_result mq_plugins_authenticate_begin(const mq_plugins *p,
    const char *client_id, size_t client_id_len, const char *username,
    size_t username_len, const char *password, size_t password_len,
    struct mq_auth_check **ck);
/*
 * The same, without the allow_anonymous step: MQ_AUTH_IGNORE when no
 * local plugin knows the client, for the database plugins to be asked
 * (mq_dbauth.h) before mq_plugins_anonymous decides.
 */
enum mq_auth_result mq_plugins_authenticate_local(const mq_plugins *p,
    const char *client_id, size_t client_id_len, const char *username,
    size_t username_len, const char *password, size_t password_len,
    struct mq_auth_check **ck);
/* The verdict for a client no plugin knows (allow_anonymous). */
enum mq_auth_result mq_plugins_anonymous(const mq_plugins *p);
/*
 * _local with *g filled (g may be NULL): what mqttd_auth_jwt grants
 * (the token's ACL claim) is set when it accepts.  MQ_AUTH_IGNORE when
 * no local plugin (files, JWT) knows the client.
 */
enum mq_auth_result mq_plugins_auth_begin(const mq_plugins *p,
    const struct mq_auth_who *w, struct mq_auth_grant *g,
    struct mq_auth_check **ck);
enum mq_auth_result mq_plugins_check_finish(
    const mq_plugins *p, struct mq_auth_check *ck);

bool mq_plugins_acl_check(const mq_plugins *p, const char *client_id,
    size_t client_id_len, const char *username, size_t username_len,
    const char *topic, size_t topic_len, enum mq_acl_access access);

/*
 * The same for a client with grant g (may be NULL): a token's ACL claim,
 * while mqttd_auth_jwt is on, is all the access that client has; then
 * mqttd_acl_file's rules.
 */
bool mq_plugins_acl(const mq_plugins *p, const struct mq_auth_grant *g,
    const char *client_id, size_t client_id_len, const char *username,
    size_t username_len, const char *topic, size_t topic_len,
    enum mq_acl_access access);

#endif
