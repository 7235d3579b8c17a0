/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mq_creds: auth files, crypt(3) verification and the verified-password
 * cache (see mq_creds.h).
 *
 * Auth file, one entry a line:
 *
 *     NAME:HASH
 *
 * split at the LAST colon (hashes never contain one, so a name may).
 * HASH is a crypt(3) string, "$y$..." (yescrypt) or "$6$..." (SHA-512
 * crypt); anything else (plain text, DES, MD5, bcrypt...) is refused with
 * a log line naming file and line, and that entry does not exist.  Blank
 * lines and lines starting with '#' are skipped; for a name listed twice
 * the first entry wins.  `mqttd-passwd FILE NAME` writes such entries.
 */
#include "config.h"

#include "broker/mq_creds.h"
#include "broker/mq_file.h"
#include "broker/mq_log.h"

#include <crypt.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <sys/random.h>

struct mq_cred {
	char    *name;
	size_t   name_len;
	char    *hash;
	unsigned line; /* first entry wins on duplicates */
	/* HMAC of the last password crypt(3) accepted for this entry (see
	 * mq_creds_check_finish). */
	bool    ok_valid;
	uint8_t ok_mac[32];
};

struct mq_creds {
	struct mq_cred *v;
	size_t          n;
};

struct mq_pwcache {
	bool         on; /* key is random, mac ready */
	EVP_MAC_CTX *mac;
	uint8_t      key[32];
};

/* ---- the table ---- */

static void
creds_clear(struct mq_creds *c)
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

void
mq_creds_free(mq_creds **cp)
{
	if (*cp == NULL)
		return;
	creds_clear(*cp);
	free(*cp);
	*cp = NULL;
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
		mq_warn("%s:%u: not NAME:HASH, line ignored", path, lineno);
		return 0;
	}
	hash = mq_strndup(colon + 1, len - (size_t) (colon + 1 - line));
	if (hash == NULL)
		return -ENOMEM;
	if (!hash_acceptable(hash)) {
		mq_warn("%s:%u: hash is not a $y$ (yescrypt) or $6$ (SHA-512) "
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
	v[c->n].name = mq_strndup(line, v[c->n].name_len);
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

/* Sorted by name for bsearch; the first of a name listed twice wins. */
static void
creds_sort(struct mq_creds *c, const char *path)
{
	size_t out = 0;

	if (c->n == 0)
		return;
	qsort(c->v, c->n, sizeof(c->v[0]), cred_cmp);
	for (size_t i = 0; i < c->n; i++) {
		if (out > 0
		    && name_cmp(c->v[out - 1].name, c->v[out - 1].name_len,
		           c->v[i].name, c->v[i].name_len)
		        == 0) {
			mq_warn("%s:%u: '%s' already listed on line %u, entry "
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
}

int
mq_creds_load(mq_creds **out, const char *path)
{
	struct mq_creds *c = calloc(1, sizeof(*c));
	int              rc;

	*out = NULL;
	if (c == NULL)
		return -ENOMEM;
	if (path == NULL) {
		*out = c;
		return 0;
	}
	rc = mq_file_lines(path, false, creds_line, c);
	if (rc == -ENOMEM) {
		mq_creds_free(&c);
		return rc;
	}
	if (rc < 0)
		creds_clear(c); /* unreadable: no entries */
	else
		creds_sort(c, path);
	*out = c;
	return rc;
}

static struct mq_cred *
creds_find(const struct mq_creds *c, const char *name, size_t len)
{
	size_t lo = 0, hi = c != NULL ? c->n : 0;

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

/* ---- crypt(3) ---- */

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
		mq_err("calloc(crypt_data): %s", strerror(ENOMEM));
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

int
mq_creds_hash_password(
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
		mq_err("crypt_gensalt_rn: %s", strerror(-rc));
		return rc;
	}
	cd = calloc(1, sizeof(*cd));
	if (cd == NULL)
		return -ENOMEM;
	h = crypt_r(password, salt, cd);
	if (h == NULL || h[0] == '*') {
		rc = errno ? -errno : -EINVAL;
		mq_err("crypt_r: %s", strerror(-rc));
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

/* ---- the verify cache ---- */

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
		mq_warn("OpenSSL HMAC-SHA-256 unavailable; no password cache");
		EVP_MAC_CTX_free(*out);
		*out = NULL;
		return false;
	}
	return true;
}

int
mq_pwcache_new(mq_pwcache **out)
{
	mq_pwcache *pc = calloc(1, sizeof(*pc));

	*out = pc;
	if (pc == NULL)
		return -ENOMEM;
	/* Without a random key there is no verify cache, only crypt. */
	pc->on = getrandom(pc->key, sizeof(pc->key), 0)
	    == (ssize_t) sizeof(pc->key);
	if (!pc->on)
		mq_warn("getrandom: %s; no password cache", strerror(errno));
	else
		pc->on = mac_new(&pc->mac);
	return 0;
}

void
mq_pwcache_free(mq_pwcache **pcp)
{
	mq_pwcache *pc = *pcp;

	if (pc == NULL)
		return;
	explicit_bzero(pc->key, sizeof(pc->key));
	EVP_MAC_CTX_free(pc->mac);
	free(pc);
	*pcp = NULL;
}

/*
 * crypt(3) is slow on purpose (SHA-512 crypt some ms, yescrypt tens to
 * hundreds), so a password that crypt accepted is remembered as
 * HMAC-SHA-256(random per-process key, hash ++ NUL ++ password): the next
 * CONNECT with the same password costs a microsecond.  A wrong password
 * always pays the full crypt, which the broker runs on its auth threads
 * (struct mq_auth_check), never in its event loop.  The key never leaves
 * memory and a reload forgets every entry.  The MAC context is made once;
 * re-initialising it with the key is cheaper than fetching the algorithm
 * per call.  False when OpenSSL fails: the caller then runs crypt.
 */
static bool
cache_mac(const mq_pwcache *pc, const char *hash, const char *pw,
    size_t pw_len, uint8_t mac[32])
{
	size_t n = 0;

	return pc != NULL && pc->on
	    && EVP_MAC_init(pc->mac, pc->key, 32, NULL) == 1
	    && EVP_MAC_update(
	           pc->mac, (const uint8_t *) hash, strlen(hash) + 1)
	    == 1
	    && EVP_MAC_update(pc->mac, (const uint8_t *) pw, pw_len) == 1
	    && EVP_MAC_final(pc->mac, mac, &n, 32) == 1 && n == 32;
}

static bool
cache_hit(const struct mq_cred *e, const uint8_t mac[32])
{
	uint8_t d = 0;

	for (int i = 0; i < 32; i++)
		d |= (uint8_t) (mac[i] ^ e->ok_mac[i]);
	return e->ok_valid && d == 0;
}

/* ---- checks ---- */

/*
 * One password check that needs crypt(3).  It owns copies of everything
 * it needs, so neither a reload nor the client's going away can pull the
 * hash or the password from under a thread running it.
 */
struct mq_auth_check {
	int     tag; /* whose table (the caller's), for the cache */
	bool    mac_ok;
	bool    ok; /* crypt's answer, once run */
	uint8_t mac[32];
	char   *name; /* the entry's name (username / client id) */
	size_t  name_len;
	char   *hash;
	char   *pw; /* NUL-terminated */
	size_t  pw_len;
};

void
mq_creds_check_free(struct mq_auth_check *ck)
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
check_new(int tag, const struct mq_cred *e, const char *pw, size_t pw_len,
    const uint8_t *mac)
{
	struct mq_auth_check *ck = calloc(1, sizeof(*ck));

	if (ck == NULL)
		return NULL;
	ck->tag = tag;
	ck->name = mq_strndup(e->name, e->name_len);
	ck->name_len = e->name_len;
	ck->hash = strdup(e->hash);
	ck->pw = mq_strndup(pw, pw_len);
	ck->pw_len = pw_len;
	if (mac != NULL) {
		memcpy(ck->mac, mac, 32);
		ck->mac_ok = true;
	}
	if (ck->name == NULL || ck->hash == NULL || ck->pw == NULL) {
		mq_creds_check_free(ck);
		return NULL;
	}
	return ck;
}

struct mq_auth_check *
mq_creds_check_hash(
    int tag, const char *hash, size_t hash_len, const char *pw, size_t pw_len)
{
	struct mq_auth_check *ck = calloc(1, sizeof(*ck));

	if (ck == NULL)
		return NULL;
	ck->tag = tag;
	ck->hash = mq_strndup(hash, hash_len);
	ck->pw = mq_strndup(pw, pw_len);
	ck->pw_len = pw_len;
	if (ck->hash == NULL || ck->pw == NULL) {
		mq_creds_check_free(ck);
		return NULL;
	}
	return ck;
}

void
mq_creds_check_run(struct mq_auth_check *ck)
{
	ck->ok = password_matches(ck->hash, ck->pw, ck->pw_len);
}

int
mq_creds_check_tag(const struct mq_auth_check *ck)
{
	return ck->tag;
}

bool
mq_creds_check_finish(mq_creds *c, struct mq_auth_check *ck)
{
	struct mq_cred *e = c != NULL && ck->name != NULL
	    ? creds_find(c, ck->name, ck->name_len)
	    : NULL;
	bool            ok = ck->ok;

	/* The verdict is the one at submit time; the cache learns it only
	 * if the entry still has the hash that was checked. */
	if (ok && ck->mac_ok && e != NULL && strcmp(e->hash, ck->hash) == 0) {
		memcpy(e->ok_mac, ck->mac, sizeof(ck->mac));
		e->ok_valid = true;
	}
	mq_creds_check_free(ck);
	return ok;
}

enum mq_cred_verdict
mq_creds_check(mq_creds *c, const mq_pwcache *pc, int tag, const char *name,
    size_t name_len, const char *pw, size_t pw_len, struct mq_auth_check **ck)
{
	struct mq_cred       *e;
	struct mq_auth_check *job;
	uint8_t               mac[32];
	bool                  mac_ok;

	if (name == NULL || name_len == 0)
		return MQ_CRED_IGNORE;
	e = creds_find(c, name, name_len);
	if (e == NULL)
		return MQ_CRED_IGNORE;
	if (pw == NULL || pw_len > MQ_PW_MAX
	    || memchr(pw, '\0', pw_len) != NULL)
		return MQ_CRED_REJECT;
	mac_ok = cache_mac(pc, e->hash, pw, pw_len, mac);
	if (mac_ok && cache_hit(e, mac)) {
		explicit_bzero(mac, sizeof(mac));
		return MQ_CRED_ACCEPT;
	}
	job = check_new(tag, e, pw, pw_len, mac_ok ? mac : NULL);
	explicit_bzero(mac, sizeof(mac));
	if (job == NULL) {
		mq_err("calloc(auth check): %s", strerror(ENOMEM));
		return MQ_CRED_REJECT;
	}
	if (ck != NULL) {
		*ck = job;
		return MQ_CRED_PENDING;
	}
	mq_creds_check_run(job);
	return mq_creds_check_finish(c, job) ? MQ_CRED_ACCEPT : MQ_CRED_REJECT;
}
