/*
 * mq_plugins: the built-in plugins, their persisted on/off state, and the
 * auth and ACL decisions of the active ones.
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
 * Auth files (mqttd_auth_username, mqttd_auth_clientid), one entry a line:
 *
 *     NAME:HASH
 *
 * split at the LAST colon (hashes never contain one, so a name may).
 * HASH is a crypt(3) string, "$y$..." (yescrypt) or "$6$..." (SHA-512
 * crypt); anything else (plain text, DES, MD5, bcrypt...) is refused with
 * a log line naming file and line, and that entry does not exist.  Blank
 * lines and lines starting with '#' are skipped; for a name listed twice
 * the first entry wins.  `mqttd-passwd FILE NAME` writes such entries.
 * A password crypt(3) accepted is then remembered (cache_mac), so only
 * a user's first login and wrong passwords pay for the slow hash, and
 * the broker pays it on its auth threads (mq_plugins_authenticate_begin).
 *
 * ACL file (mqttd_acl_file), one rule a line, first match wins, no match
 * allows (EMQ's acl_nomatch = allow):
 *
 *     allow|deny  user NAME|client ID|all  publish|subscribe|pubsub  FILTER
 *
 * FILTER is the rest of the line, trimmed: an MQTT topic filter, or
 * "eq TOPIC" for an exact, wildcard-free comparison (EMQ's {eq, T}; e.g.
 * "deny all subscribe eq #" refuses a subscription to "#" itself).
 * "%u" and "%c" in FILTER stand for the username and the client id.
 * Lines whose first non-blank character is '#' are comments ('#' elsewhere
 * is the wildcard).  Malformed lines are logged and skipped.
 *
 * How a rule's filter R meets the topic T of a PUBLISH or the filter S of
 * a SUBSCRIBE:
 *   - an allow rule applies when R covers S: every topic S can match is
 *     one R matches ("a/+" covers "a/b" and "a/+", not "a/#" nor "#");
 *   - a deny rule applies when R and S overlap: some topic matches both
 *     ("a/#" and "+/b" overlap, so "deny all subscribe a/#" refuses "+/b").
 *   For a PUBLISH topic both reduce to ordinary matching.  Rules speak of
 *   access, not delivery: a rule filter "#" covers "$SYS/x" too, while a
 *   subscription starting with a wildcard never reaches a "$" topic, so it
 *   does not overlap a rule for "$SYS/...".
 *   A %u / %c whose value is absent, empty, or holds '+', '#' or '/' would
 *   change the filter's shape; such a rule is skipped when it allows and
 *   applies when it denies (fail closed).
 */
#include "config.h"

#include "broker/mq_plugins.h"

#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

/* Longer passwords are refused: hashing cost grows with them. */
#define MQ_PW_MAX 1024

struct mq_cred {
	char    *name;
	size_t   name_len;
	char    *hash;
	unsigned line; /* first entry wins on duplicates */
	/* HMAC of the last password crypt(3) accepted for this entry (see
	 * mq_plugins_check_finish); mutable through a const mq_plugins: a
	 * cache. */
	bool    ok_valid;
	uint8_t ok_mac[32];
};

struct mq_creds {
	struct mq_cred *v;
	size_t          n;
};

enum acl_who { ACL_ALL, ACL_USER, ACL_CLIENT };

#define ACL_BIT(a) (1u << (a))

struct acl_rule {
	bool         allow;
	bool         exact; /* "eq TOPIC" */
	bool         subst; /* filter holds %u or %c */
	enum acl_who who;
	unsigned     access; /* ACL_BIT(enum mq_acl_access) set */
	char        *name;   /* user or client id, for ACL_USER / ACL_CLIENT */
	size_t       name_len;
	char        *filter;
	size_t       filter_len;
};

struct acl_rules {
	struct acl_rule *v;
	size_t           n;
};

struct mq_plugins {
	char            *state_path;
	char            *username_file;
	char            *clientid_file;
	char            *acl_file;
	bool             allow_anonymous;
	bool             active[MQ_PLUGIN_COUNT];
	bool             cache_on; /* cache_key is random, mac ready */
	EVP_MAC_CTX     *mac;
	uint8_t          cache_key[32];
	struct mq_creds  users;
	struct mq_creds  clients;
	struct acl_rules acl;
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
};

static void __attribute__((format(printf, 1, 2))) plog(const char *fmt, ...)
{
	va_list ap;

#ifdef MQ_PLUGINS_QUIET /* the fuzzer: every bad line would be logged */
	if (fmt != NULL)
		return;
#endif
	va_start(ap, fmt);
	fputs("mqttd: plugins: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

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

/* ---- small text helpers ---------------------------------------------- */

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Trims blanks at both ends of [*s, *s + *n). */
static void
trim(const char **s, size_t *n)
{
	while (*n > 0 && is_blank(**s))
		(*s)++, (*n)--;
	while (*n > 0 && is_blank((*s)[*n - 1]))
		(*n)--;
}

/* The next blank-separated token of [*s, end); false when there is none. */
static bool
next_token(const char **s, const char *end, const char **tok, size_t *n)
{
	while (*s < end && is_blank(**s))
		(*s)++;
	if (*s == end)
		return false;
	*tok = *s;
	while (*s < end && !is_blank(**s))
		(*s)++;
	*n = (size_t) (*s - *tok);
	return true;
}

static bool
tok_is(const char *tok, size_t n, const char *word)
{
	return strlen(word) == n && memcmp(tok, word, n) == 0;
}

static char *
dup_n(const char *s, size_t n)
{
	char *d = malloc(n + 1);

	if (d != NULL) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

typedef int (*line_fn)(void *ctx, const char *path, unsigned lineno,
    const char *line, size_t len);

/*
 * Calls fn for each line of path, without its newline, skipping blank lines
 * and comments.  Returns 0, -errno when the file cannot be read (logged
 * unless quiet_enoent and it does not exist), or fn's first error.
 */
static int
for_each_line(const char *path, bool quiet_enoent, line_fn fn, void *ctx)
{
	FILE    *f = fopen(path, "re");
	char    *line = NULL;
	size_t   cap = 0;
	ssize_t  got;
	unsigned lineno = 0;
	int      rc = 0;

	if (f == NULL) {
		rc = -errno;
		if (!(quiet_enoent && rc == -ENOENT))
			plog("fopen(%s): %s", path, strerror(-rc));
		return rc;
	}
	while (rc == 0 && (got = getline(&line, &cap, f)) >= 0) {
		const char *s = line;
		size_t      n = (size_t) got;

		lineno++;
		trim(&s, &n);
		if (n == 0 || s[0] == '#')
			continue;
		if (memchr(s, '\0', n) != NULL) {
			plog("%s:%u: NUL byte, line ignored", path, lineno);
			continue;
		}
		rc = fn(ctx, path, lineno, s, n);
	}
	if (rc == 0 && ferror(f)) {
		rc = -EIO;
		plog("getline(%s): read error", path);
	}
	free(line);
	fclose(f);
	return rc;
}

/* ---- auth files ------------------------------------------------------ */

static void
creds_free(struct mq_creds *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->v[i].name);
		if (c->v[i].hash != NULL) {
			explicit_bzero(c->v[i].hash, strlen(c->v[i].hash));
			free(c->v[i].hash);
		}
	}
	free(c->v);
	c->v = NULL;
	c->n = 0;
}

/* A strong crypt(3) hash this libcrypt can verify: yescrypt or SHA-512. */
static bool
hash_acceptable(const char *h)
{
	if (strncmp(h, "$y$", 3) != 0 && strncmp(h, "$6$", 3) != 0)
		return false;
	if (strspn(h,
	        "$./0123456789=,abcdefghijklmnopqrstuvwxyz"
	        "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
	    != strlen(h))
		return false;
	if (crypt_checksalt(h) != CRYPT_SALT_OK)
		return false;
	/* The whole hash, not just a setting: the checksum after the last
	 * '$' has the method's fixed length. */
	return strlen(strrchr(h, '$') + 1) == (h[1] == 'y' ? 43 : 86);
}

static int
creds_line(
    void *ctx, const char *path, unsigned lineno, const char *line, size_t len)
{
	struct mq_creds *c = ctx;
	const char      *colon = NULL;
	struct mq_cred  *v;
	char            *hash;

	for (size_t i = 0; i < len; i++)
		if (line[i] == ':')
			colon = line + i;
	if (colon == NULL || colon == line) {
		plog("%s:%u: not NAME:HASH, line ignored", path, lineno);
		return 0;
	}
	hash = dup_n(colon + 1, len - (size_t) (colon + 1 - line));
	if (hash == NULL)
		return -ENOMEM;
	if (!hash_acceptable(hash)) {
		plog("%s:%u: hash is not a $y$ (yescrypt) or $6$ (SHA-512) "
		     "crypt(3) string, entry ignored",
		    path, lineno);
		explicit_bzero(hash, strlen(hash));
		free(hash);
		return 0;
	}
	v = reallocarray(c->v, c->n + 1, sizeof(*v));
	if (v == NULL) {
		free(hash);
		return -ENOMEM;
	}
	c->v = v;
	v[c->n].name_len = (size_t) (colon - line);
	v[c->n].name = dup_n(line, v[c->n].name_len);
	v[c->n].hash = hash;
	v[c->n].line = lineno;
	v[c->n].ok_valid = false;
	if (v[c->n].name == NULL) {
		free(hash);
		return -ENOMEM;
	}
	c->n++;
	return 0;
}

static int
name_cmp(const char *a, size_t an, const char *b, size_t bn)
{
	int r = memcmp(a, b, an < bn ? an : bn);

	if (r != 0)
		return r;
	return an < bn ? -1 : an > bn;
}

static int
cred_cmp(const void *a, const void *b)
{
	const struct mq_cred *x = a, *y = b;
	int r = name_cmp(x->name, x->name_len, y->name, y->name_len);

	if (r != 0)
		return r;
	return x->line < y->line ? -1 : x->line > y->line;
}

/* Loads path (NULL: no entries) into c, sorted by name for bsearch. */
static int
creds_load(struct mq_creds *c, const char *path)
{
	size_t out = 0;
	int    rc;

	c->v = NULL;
	c->n = 0;
	if (path == NULL)
		return 0;
	rc = for_each_line(path, false, creds_line, c);
	if (rc < 0) {
		creds_free(c);
		return rc;
	}
	if (c->n == 0)
		return 0;
	qsort(c->v, c->n, sizeof(c->v[0]), cred_cmp);
	for (size_t i = 0; i < c->n; i++) {
		if (out > 0
		    && name_cmp(c->v[out - 1].name, c->v[out - 1].name_len,
		           c->v[i].name, c->v[i].name_len)
		        == 0) {
			plog("%s:%u: '%s' already listed on line %u, entry "
			     "ignored",
			    path, c->v[i].line, c->v[i].name,
			    c->v[out - 1].line);
			free(c->v[i].name);
			free(c->v[i].hash);
			continue;
		}
		c->v[out++] = c->v[i];
	}
	c->n = out;
	return 0;
}

static struct mq_cred *
creds_find(const struct mq_creds *c, const char *name, size_t len)
{
	size_t lo = 0, hi = c->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int    r
		    = name_cmp(name, len, c->v[mid].name, c->v[mid].name_len);

		if (r == 0)
			return &c->v[mid];
		if (r < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* ---- HMAC-SHA-256 (OpenSSL), for the verify cache ---- */

/*
 * HMAC-SHA-256 over a ++ b ++ c under the per-process key.  The MAC
 * context is made once in mq_plugins_new(); re-initialising it with the
 * key is cheaper than fetching the algorithm per call.  Returns false
 * when OpenSSL fails, and the caller then falls back to crypt.
 */
static bool
hmac3(EVP_MAC_CTX *ctx, const uint8_t key[32], const void *a, size_t an,
    const void *b, size_t bn, const void *c, size_t cn, uint8_t out[32])
{
	size_t n = 0;

	return EVP_MAC_init(ctx, key, 32, NULL) == 1
	    && EVP_MAC_update(ctx, a, an) == 1
	    && EVP_MAC_update(ctx, b, bn) == 1
	    && EVP_MAC_update(ctx, c, cn) == 1
	    && EVP_MAC_final(ctx, out, &n, 32) == 1 && n == 32;
}

/* Compares in time independent of where the strings first differ. */
static bool
ct_equal(const char *a, const char *b)
{
	size_t        an = strlen(a), bn = strlen(b);
	unsigned char d = 0;

	if (an != bn) /* lengths are public: fixed per hash method */
		return false;
	for (size_t i = 0; i < an; i++)
		d |= (unsigned char) (a[i] ^ b[i]);
	return d == 0;
}

static bool
password_matches(const char *hash, const char *pw, size_t pw_len)
{
	char               buf[MQ_PW_MAX + 1];
	struct crypt_data *cd;
	const char        *out;
	bool               ok;

	if (pw_len > MQ_PW_MAX || memchr(pw, '\0', pw_len) != NULL)
		return false;
	/* ~32 KiB of scratch: too much for an event loop's stack. */
	cd = calloc(1, sizeof(*cd));
	if (cd == NULL) {
		plog("calloc(crypt_data): %s", strerror(ENOMEM));
		return false;
	}
	memcpy(buf, pw, pw_len);
	buf[pw_len] = '\0';
	out = crypt_r(buf, hash, cd);
	ok = out != NULL && out[0] != '*' && ct_equal(out, hash);
	explicit_bzero(buf, sizeof(buf));
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return ok;
}

/*
 * crypt(3) is slow on purpose (SHA-512 crypt some ms, yescrypt tens to
 * hundreds), so a password that crypt accepted is remembered as
 * HMAC-SHA-256(random per-process key, hash ++ NUL ++ password): the next
 * CONNECT with the same password costs a microsecond.  A wrong password
 * always pays the full crypt, which the broker runs on its auth threads
 * (struct mq_auth_check), never in its event loop.  The key never leaves
 * memory and a reload forgets every entry.
 */
static bool
cache_mac(const mq_plugins *p, const char *hash, const char *pw, size_t pw_len,
    uint8_t mac[32])
{
	return p->cache_on
	    && hmac3(p->mac, p->cache_key, hash, strlen(hash), "", 1, pw,
	        pw_len, mac);
}

static bool
cache_hit(const struct mq_cred *e, const uint8_t mac[32])
{
	uint8_t d = 0;

	for (int i = 0; i < 32; i++)
		d |= (uint8_t) (mac[i] ^ e->ok_mac[i]);
	return e->ok_valid && d == 0;
}

/*
 * One password check that needs crypt(3).  It owns copies of everything
 * it needs, so neither a reload nor the client's going away can pull the
 * hash or the password from under a thread running it.
 */
struct mq_auth_check {
	enum mq_plugin_id plugin; /* whose entry, for the cache */
	bool              mac_ok;
	bool              ok; /* crypt's answer, once run */
	uint8_t           mac[32];
	char             *name; /* the entry's name (username / client id) */
	size_t            name_len;
	char             *hash;
	char             *pw; /* NUL-terminated */
	size_t            pw_len;
};

void
mq_plugins_check_free(struct mq_auth_check *ck)
{
	if (ck == NULL)
		return;
	free(ck->name);
	if (ck->hash != NULL) {
		explicit_bzero(ck->hash, strlen(ck->hash));
		free(ck->hash);
	}
	if (ck->pw != NULL) {
		explicit_bzero(ck->pw, ck->pw_len);
		free(ck->pw);
	}
	explicit_bzero(ck->mac, sizeof(ck->mac));
	free(ck);
}

static struct mq_auth_check *
check_new(enum mq_plugin_id plugin, const struct mq_cred *e, const char *pw,
    size_t pw_len, const uint8_t *mac)
{
	struct mq_auth_check *ck = calloc(1, sizeof(*ck));

	if (ck == NULL)
		return NULL;
	ck->plugin = plugin;
	ck->name = dup_n(e->name, e->name_len);
	ck->name_len = e->name_len;
	ck->hash = strdup(e->hash);
	ck->pw = dup_n(pw, pw_len);
	ck->pw_len = pw_len;
	if (mac != NULL) {
		memcpy(ck->mac, mac, 32);
		ck->mac_ok = true;
	}
	if (ck->name == NULL || ck->hash == NULL || ck->pw == NULL) {
		mq_plugins_check_free(ck);
		return NULL;
	}
	return ck;
}

void
mq_plugins_check_run(struct mq_auth_check *ck)
{
	ck->ok = password_matches(ck->hash, ck->pw, ck->pw_len);
}

enum mq_auth_result
mq_plugins_check_finish(const mq_plugins *p, struct mq_auth_check *ck)
{
	const struct mq_creds *c
	    = ck->plugin == MQ_PLUGIN_AUTH_USERNAME ? &p->users : &p->clients;
	struct mq_cred *e = creds_find(c, ck->name, ck->name_len);
	bool            ok = ck->ok;

	/* The verdict is the chain's at submit time; the cache learns it
	 * only if the entry still has the hash that was checked. */
	if (ok && ck->mac_ok && e != NULL && strcmp(e->hash, ck->hash) == 0) {
		memcpy(e->ok_mac, ck->mac, sizeof(ck->mac));
		e->ok_valid = true;
	}
	mq_plugins_check_free(ck);
	return ok ? MQ_AUTH_ALLOW : MQ_AUTH_BAD_CREDENTIALS;
}

enum verdict { V_IGNORE, V_ACCEPT, V_REJECT, V_PENDING };

/*
 * One auth plugin of the chain, as EMQ 2.3's emq_auth_username does it.
 * A password the cache does not know becomes *ck (V_PENDING), or, when
 * ck is NULL, is checked here and now.
 */
static enum verdict
creds_check(const mq_plugins *p, enum mq_plugin_id plugin,
    const struct mq_creds *c, const char *key, size_t key_len, const char *pw,
    size_t pw_len, struct mq_auth_check **ck)
{
	struct mq_cred       *e;
	struct mq_auth_check *job;
	uint8_t               mac[32];
	bool                  mac_ok;

	if (key == NULL || key_len == 0)
		return V_IGNORE;
	e = creds_find(c, key, key_len);
	if (e == NULL)
		return V_IGNORE;
	if (pw == NULL || pw_len > MQ_PW_MAX
	    || memchr(pw, '\0', pw_len) != NULL)
		return V_REJECT;
	mac_ok = cache_mac(p, e->hash, pw, pw_len, mac);
	if (mac_ok && cache_hit(e, mac)) {
		explicit_bzero(mac, sizeof(mac));
		return V_ACCEPT;
	}
	job = check_new(plugin, e, pw, pw_len, mac_ok ? mac : NULL);
	explicit_bzero(mac, sizeof(mac));
	if (job == NULL) {
		plog("calloc(auth check): %s", strerror(ENOMEM));
		return V_REJECT;
	}
	if (ck != NULL) {
		*ck = job;
		return V_PENDING;
	}
	mq_plugins_check_run(job);
	return mq_plugins_check_finish(p, job) == MQ_AUTH_ALLOW ? V_ACCEPT
	                                                        : V_REJECT;
}

enum mq_auth_result
mq_plugins_authenticate_begin(const mq_plugins *p, const char *client_id,
    size_t client_id_len, const char *username, size_t username_len,
    const char *password, size_t password_len, struct mq_auth_check **ck)
{
	enum verdict v = V_IGNORE;

	if (ck != NULL)
		*ck = NULL;
	if (p->active[MQ_PLUGIN_AUTH_USERNAME])
		v = creds_check(p, MQ_PLUGIN_AUTH_USERNAME, &p->users,
		    username, username_len, password, password_len, ck);
	if (v == V_IGNORE && p->active[MQ_PLUGIN_AUTH_CLIENTID])
		v = creds_check(p, MQ_PLUGIN_AUTH_CLIENTID, &p->clients,
		    client_id, client_id_len, password, password_len, ck);
	switch (v) {
	case V_ACCEPT:
		return MQ_AUTH_ALLOW;
	case V_REJECT:
		return MQ_AUTH_BAD_CREDENTIALS;
	case V_PENDING:
		return MQ_AUTH_PENDING;
	case V_IGNORE:
		break;
	}
	return p->allow_anonymous ? MQ_AUTH_ALLOW : MQ_AUTH_NOT_AUTHORIZED;
}

enum mq_auth_result
mq_plugins_authenticate(const mq_plugins *p, const char *client_id,
    size_t client_id_len, const char *username, size_t username_len,
    const char *password, size_t password_len)
{
	return mq_plugins_authenticate_begin(p, client_id, client_id_len,
	    username, username_len, password, password_len, NULL);
}

int
mq_plugins_hash_password(
    char *out, size_t out_size, const char *password, bool sha512)
{
	char               salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *cd;
	const char        *h;
	int                rc = 0;

	if (crypt_gensalt_rn(
	        sha512 ? "$6$" : "$y$", 0, NULL, 0, salt, sizeof(salt))
	    == NULL) {
		rc = -errno;
		plog("crypt_gensalt_rn: %s", strerror(-rc));
		return rc;
	}
	cd = calloc(1, sizeof(*cd));
	if (cd == NULL)
		return -ENOMEM;
	h = crypt_r(password, salt, cd);
	if (h == NULL || h[0] == '*') {
		rc = errno ? -errno : -EINVAL;
		plog("crypt_r: %s", strerror(-rc));
	} else if (strlen(h) >= out_size) {
		rc = -ENOSPC;
	} else {
		strcpy(out, h);
		rc = (int) strlen(h);
	}
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return rc;
}

/* ---- topic filters --------------------------------------------------- */

struct levels {
	const char *p, *end;
	bool        done;
};

/* The next '/'-separated level; false when all were taken. */
static bool
level_next(struct levels *c, const char **lv, size_t *n)
{
	const char *slash;

	if (c->done)
		return false;
	slash = memchr(c->p, '/', (size_t) (c->end - c->p));
	*lv = c->p;
	if (slash != NULL) {
		*n = (size_t) (slash - c->p);
		c->p = slash + 1;
	} else {
		*n = (size_t) (c->end - c->p);
		c->p = c->end;
		c->done = true;
	}
	return true;
}

static bool
level_is(const char *lv, size_t n, char wild)
{
	return n == 1 && lv[0] == wild;
}

static bool
level_wild(const char *lv, size_t n)
{
	return level_is(lv, n, '+') || level_is(lv, n, '#');
}

/* A valid MQTT topic filter: '#' only alone as the last level, '+' only
 * alone in a level (MQTT-4.7.1-2, MQTT-4.7.1-3). */
static bool
filter_valid(const char *f, size_t n)
{
	struct levels c = { f, f + n, false };
	const char   *lv;
	size_t        ln;

	if (n == 0 || memchr(f, '\0', n) != NULL)
		return false;
	while (level_next(&c, &lv, &ln)) {
		bool hash = memchr(lv, '#', ln) != NULL;
		bool plus = memchr(lv, '+', ln) != NULL;

		if ((hash || plus) && ln != 1)
			return false;
		if (hash && !c.done)
			return false;
	}
	return true;
}

/* Every topic that s matches, r matches too.  r covers "$" topics. */
static bool
filter_covers(const char *r, size_t rn, const char *s, size_t sn)
{
	struct levels rc = { r, r + rn, false }, sc = { s, s + sn, false };
	const char   *rl, *sl;
	size_t        rln, sln;

	for (;;) {
		bool hr = level_next(&rc, &rl, &rln);
		bool hs = level_next(&sc, &sl, &sln);

		if (hr && level_is(rl, rln, '#'))
			return true; /* "a/#" also matches "a" */
		if (!hr || !hs)
			return !hr && !hs;
		if (level_is(sl, sln, '#'))
			return false; /* s goes deeper than any r but "#" */
		if (level_is(rl, rln, '+'))
			continue; /* any single level of s: literal or '+' */
		if (level_is(sl, sln, '+'))
			return false;
		if (rln != sln || memcmp(rl, sl, rln) != 0)
			return false;
	}
}

/* Some topic matches both.  A subscription starting with a wildcard never
 * matches a "$" topic (MQTT-4.7.2-1); a rule does. */
static bool
filter_overlaps(const char *r, size_t rn, const char *s, size_t sn)
{
	struct levels rc = { r, r + rn, false }, sc = { s, s + sn, false };
	const char   *rl = NULL, *sl = NULL;
	size_t        rln = 0, sln = 0;
	bool          first = true;

	for (;;) {
		bool hr = level_next(&rc, &rl, &rln);
		bool hs = level_next(&sc, &sl, &sln);

		if (first && hr && hs && level_wild(sl, sln) && rln > 0
		    && rl[0] == '$')
			return false;
		first = false;
		if ((hr && level_is(rl, rln, '#'))
		    || (hs && level_is(sl, sln, '#')))
			return true;
		if (!hr || !hs)
			return !hr && !hs;
		if (level_is(rl, rln, '+') || level_is(sl, sln, '+'))
			continue;
		if (rln != sln || memcmp(rl, sl, rln) != 0)
			return false;
	}
}

/* ---- ACL ------------------------------------------------------------- */

static void
acl_free(struct acl_rules *a)
{
	for (size_t i = 0; i < a->n; i++) {
		free(a->v[i].name);
		free(a->v[i].filter);
	}
	free(a->v);
	a->v = NULL;
	a->n = 0;
}

static int
acl_line(
    void *ctx, const char *path, unsigned lineno, const char *line, size_t len)
{
	struct acl_rules *a = ctx;
	struct acl_rule   r = { 0 };
	const char       *s = line, *end = line + len, *tok, *name = NULL;
	size_t            n, name_len = 0;
	struct acl_rule  *v;
	const char       *why;

	why = "expected allow or deny";
	if (!next_token(&s, end, &tok, &n))
		goto bad;
	if (tok_is(tok, n, "allow"))
		r.allow = true;
	else if (!tok_is(tok, n, "deny"))
		goto bad;

	why = "expected user NAME, client ID or all";
	if (!next_token(&s, end, &tok, &n))
		goto bad;
	if (tok_is(tok, n, "all")) {
		r.who = ACL_ALL;
	} else if (tok_is(tok, n, "user") || tok_is(tok, n, "client")) {
		r.who = tok_is(tok, n, "user") ? ACL_USER : ACL_CLIENT;
		if (!next_token(&s, end, &name, &name_len))
			goto bad;
	} else {
		goto bad;
	}

	why = "expected publish, subscribe or pubsub";
	if (!next_token(&s, end, &tok, &n))
		goto bad;
	if (tok_is(tok, n, "publish"))
		r.access = ACL_BIT(MQ_ACL_PUBLISH);
	else if (tok_is(tok, n, "subscribe"))
		r.access = ACL_BIT(MQ_ACL_SUBSCRIBE);
	else if (tok_is(tok, n, "pubsub"))
		r.access = ACL_BIT(MQ_ACL_PUBLISH) | ACL_BIT(MQ_ACL_SUBSCRIBE);
	else
		goto bad;

	why = "expected a topic filter";
	n = (size_t) (end - s);
	trim(&s, &n);
	if (n > 3 && memcmp(s, "eq", 2) == 0 && is_blank(s[2])) {
		r.exact = true;
		s += 3;
		n -= 3;
		trim(&s, &n);
	}
	if (n == 0 || (!r.exact && !filter_valid(s, n)))
		goto bad;
	for (size_t i = 0; i + 1 < n; i++)
		if (s[i] == '%' && (s[i + 1] == 'u' || s[i + 1] == 'c'))
			r.subst = true;

	r.filter = dup_n(s, n);
	r.filter_len = n;
	if (name != NULL) {
		r.name = dup_n(name, name_len);
		r.name_len = name_len;
	}
	v = reallocarray(a->v, a->n + 1, sizeof(*v));
	if (r.filter == NULL || (name != NULL && r.name == NULL)
	    || v == NULL) {
		free(r.filter);
		free(r.name);
		if (v != NULL)
			a->v = v;
		return -ENOMEM;
	}
	a->v = v;
	a->v[a->n++] = r;
	return 0;
bad:
	plog("%s:%u: %s, rule ignored", path, lineno, why);
	return 0;
}

static int
acl_load(struct acl_rules *a, const char *path)
{
	int rc;

	a->v = NULL;
	a->n = 0;
	if (path == NULL)
		return 0;
	rc = for_each_line(path, false, acl_line, a);
	if (rc < 0)
		acl_free(a);
	return rc;
}

static bool
acl_who_matches(const struct acl_rule *r, const char *client_id,
    size_t client_id_len, const char *username, size_t username_len)
{
	switch (r->who) {
	case ACL_ALL:
		return true;
	case ACL_USER:
		return username != NULL && username_len == r->name_len
		    && memcmp(username, r->name, username_len) == 0;
	case ACL_CLIENT:
		return client_id != NULL && client_id_len == r->name_len
		    && memcmp(client_id, r->name, client_id_len) == 0;
	}
	return false;
}

/* A %u / %c value that keeps the filter's shape. */
static bool
subst_value_safe(const char *v, size_t n)
{
	if (v == NULL || n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (v[i] == '+' || v[i] == '#' || v[i] == '/' || v[i] == '\0')
			return false;
	return true;
}

static bool
acl_filter_matches(const struct acl_rule *r, const char *f, size_t fn,
    const char *topic, size_t topic_len)
{
	if (r->exact)
		return fn == topic_len && memcmp(f, topic, fn) == 0;
	return r->allow ? filter_covers(f, fn, topic, topic_len)
	                : filter_overlaps(f, fn, topic, topic_len);
}

/* Whether rule r applies to this topic / filter, with %u and %c
 * substituted.  An unsafe substitution fails closed: the rule applies iff
 * it denies. */
static bool
acl_rule_applies(const struct acl_rule *r, const char *client_id,
    size_t client_id_len, const char *username, size_t username_len,
    const char *topic, size_t topic_len)
{
	size_t cap = r->filter_len, n = 0;
	char  *buf;
	bool   hit;

	if (!r->subst)
		return acl_filter_matches(
		    r, r->filter, r->filter_len, topic, topic_len);
	for (size_t i = 0; i + 1 < r->filter_len; i++) {
		if (r->filter[i] != '%')
			continue;
		if (r->filter[i + 1] == 'u') {
			if (!subst_value_safe(username, username_len))
				return !r->allow;
			cap += username_len;
		} else if (r->filter[i + 1] == 'c') {
			if (!subst_value_safe(client_id, client_id_len))
				return !r->allow;
			cap += client_id_len;
		}
	}
	buf = malloc(cap);
	if (buf == NULL) {
		plog("malloc(%zu): %s", cap, strerror(ENOMEM));
		return !r->allow;
	}
	for (size_t i = 0; i < r->filter_len; i++) {
		char next = i + 1 < r->filter_len ? r->filter[i + 1] : 0;

		if (r->filter[i] == '%' && next == 'u') {
			memcpy(buf + n, username, username_len);
			n += username_len;
			i++;
		} else if (r->filter[i] == '%' && next == 'c') {
			memcpy(buf + n, client_id, client_id_len);
			n += client_id_len;
			i++;
		} else {
			buf[n++] = r->filter[i];
		}
	}
	hit = acl_filter_matches(r, buf, n, topic, topic_len);
	free(buf);
	return hit;
}

bool
mq_plugins_acl_check(const mq_plugins *p, const char *client_id,
    size_t client_id_len, const char *username, size_t username_len,
    const char *topic, size_t topic_len, enum mq_acl_access access)
{
	if (!p->active[MQ_PLUGIN_ACL_FILE])
		return true;
	for (size_t i = 0; i < p->acl.n; i++) {
		const struct acl_rule *r = &p->acl.v[i];

		if (!(r->access & ACL_BIT(access)))
			continue;
		if (!acl_who_matches(
		        r, client_id, client_id_len, username, username_len))
			continue;
		if (acl_rule_applies(r, client_id, client_id_len, username,
		        username_len, topic, topic_len))
			return r->allow;
	}
	return true;
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

	if (!next_token(&s, end, &name, &nn) || !next_token(&s, end, &val, &vn)
	    || next_token(&s, end, &extra, &xn)
	    || !(tok_is(val, vn, "on") || tok_is(val, vn, "off"))) {
		plog("%s:%u: not 'NAME on|off', line ignored", path, lineno);
		return 0;
	}
	id = mq_plugin_find(name, nn);
	if (id < 0) {
		plog("%s:%u: unknown plugin '%.*s', line ignored", path,
		    lineno, (int) nn, name);
		return 0;
	}
	active[id] = tok_is(val, vn, "on");
	return 0;
}

static int
write_all(int fd, const char *buf, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, buf, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		buf += w;
		n -= (size_t) w;
	}
	return 0;
}

/* fsync of the directory holding path, so a rename into it is durable. */
static int
fsync_dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	char       *dir = slash ? dup_n(path, (size_t) (slash - path)) : NULL;
	const char *d = slash == NULL ? "." : (slash == path ? "/" : dir);
	int         fd, rc = 0;

	if (slash != NULL && dir == NULL)
		return -ENOMEM;
	fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0) {
		rc = -errno;
		plog(
		    "%s(%s): %s", fd < 0 ? "open" : "fsync", d, strerror(-rc));
	}
	if (fd >= 0)
		close(fd);
	free(dir);
	return rc;
}

int
mq_plugins_write_file(
    const char *path, const char *data, size_t len, unsigned mode)
{
	size_t plen = strlen(path);
	char  *tmp = malloc(plen + 5);
	int    fd, rc = 0;

	if (tmp == NULL)
		return -ENOMEM;
	memcpy(tmp, path, plen);
	memcpy(tmp + plen, ".tmp", 5);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0) {
		rc = -errno;
		plog("open(%s): %s", tmp, strerror(-rc));
		free(tmp);
		return rc;
	}
	rc = write_all(fd, data, len);
	if (rc < 0)
		plog("write(%s): %s", tmp, strerror(-rc));
	if (rc == 0 && fsync(fd) < 0) {
		rc = -errno;
		plog("fsync(%s): %s", tmp, strerror(-rc));
	}
	if (close(fd) < 0 && rc == 0) {
		rc = -errno;
		plog("close(%s): %s", tmp, strerror(-rc));
	}
	if (rc == 0 && rename(tmp, path) < 0) {
		rc = -errno;
		plog("rename(%s, %s): %s", tmp, path, strerror(-rc));
	}
	if (rc < 0)
		unlink(tmp);
	else
		rc = fsync_dir_of(path);
	free(tmp);
	return rc;
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
	return mq_plugins_write_file(p->state_path, buf, n, 0640);
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

int
mq_plugins_reload(mq_plugins *p)
{
	struct mq_creds  users, clients;
	struct acl_rules acl;
	int              ru, rcl, ra;

	ru = creds_load(&users, p->username_file);
	rcl = creds_load(&clients, p->clientid_file);
	ra = acl_load(&acl, p->acl_file);
	if (ru == -ENOMEM || rcl == -ENOMEM || ra == -ENOMEM) {
		creds_free(&users);
		creds_free(&clients);
		acl_free(&acl);
		return -ENOMEM; /* keep the tables we have */
	}
	/* An unreadable file (logged) leaves that plugin with no entries. */
	creds_free(&p->users);
	creds_free(&p->clients);
	acl_free(&p->acl);
	p->users = users;
	p->clients = clients;
	p->acl = acl;
	return ru < 0 ? ru : rcl < 0 ? rcl : ra < 0 ? ra : 0;
}

/* One HMAC-SHA-256 context for the cache; false (no cache) on failure. */
static bool
mac_new(EVP_MAC_CTX **out)
{
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(
		    OSSL_MAC_PARAM_DIGEST, (char *) "SHA256", 0),
		OSSL_PARAM_construct_end(),
	};
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);

	*out = mac != NULL ? EVP_MAC_CTX_new(mac) : NULL;
	EVP_MAC_free(mac); /* the context keeps its own reference */
	if (*out == NULL || EVP_MAC_CTX_set_params(*out, params) != 1) {
		plog("OpenSSL HMAC-SHA-256 unavailable; no password cache");
		EVP_MAC_CTX_free(*out);
		*out = NULL;
		return false;
	}
	return true;
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
	    || dup_opt(&p->acl_file, cfg->acl_file) < 0) {
		mq_plugins_free(&p);
		return -ENOMEM;
	}
	p->allow_anonymous = cfg->allow_anonymous;
	for (int i = 0; i < MQ_PLUGIN_COUNT; i++)
		p->active[i] = plugin_info[i].on;
	/* Without a random key there is no verify cache, only crypt. */
	p->cache_on = getrandom(p->cache_key, sizeof(p->cache_key), 0)
	    == (ssize_t) sizeof(p->cache_key);
	if (!p->cache_on)
		plog("getrandom: %s; no password cache", strerror(errno));
	else
		p->cache_on = mac_new(&p->mac);
	if (p->state_path != NULL) {
		rc = for_each_line(p->state_path, true, state_line, p->active);
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
	creds_free(&p->users);
	creds_free(&p->clients);
	acl_free(&p->acl);
	free(p->state_path);
	free(p->username_file);
	free(p->clientid_file);
	free(p->acl_file);
	explicit_bzero(p->cache_key, sizeof(p->cache_key));
	EVP_MAC_CTX_free(p->mac);
	free(p);
	*pp = NULL;
}
