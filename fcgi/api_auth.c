/*
 * api_auth: the verified-credential cache.  A direct-mapped table of
 * digests under a rwlock: a hit is one HMAC and a shared lock; only a
 * miss pays crypt(3), outside any lock.  The users snapshot is reloaded
 * by whichever thread first notices the file changed.
 */
#include "config.h"

#include "fcgi/api_auth.h"

#include "fcgi/api_log.h"

#include "fcgi/api.h"
#include "fcgi/api_http.h"
#include "fcgi/api_users.h"

#include <errno.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define AUTH_SLOTS      4096 /* power of two */
#define AUTH_HEADER_MAX 1024

struct slot {
	unsigned char digest[32];
	uint64_t      gen;  /* 0: empty */
	enum api_role role; /* of the user the header names */
};

struct api_auth {
	char                *path;
	uint64_t             serial; /* tells thread caches apart */
	EVP_MAC             *mac;
	unsigned char        key[32];
	pthread_rwlock_t     lock;   /* guards users, gen, slots */
	pthread_mutex_t      reload; /* one reloader at a time */
	api_users           *users;
	struct api_users_sig sig;
	uint64_t             gen;
	_Atomic int64_t      checked_ms;
	struct slot          slots[AUTH_SLOTS];
};

enum refresh_mode {
	REFRESH_RATE,  /* stat at most every API_AUTH_CHECK_MS */
	REFRESH_NOW,   /* stat now, reload if the file changed */
	REFRESH_FORCE, /* reload now */
};

static void refresh(api_auth *a, enum refresh_mode mode);

static _Atomic uint64_t serials;

int
api_auth_new(api_auth **out, const char *users_path)
{
	api_auth *a = calloc(1, sizeof(*a));

	if (a == NULL)
		return -ENOMEM;
	a->path = strdup(users_path);
	if (a->path == NULL || RAND_bytes(a->key, sizeof(a->key)) != 1) {
		api_err("RAND_bytes failed");
		free(a->path);
		free(a);
		return -EIO;
	}
	a->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (a->mac == NULL) {
		api_err("EVP_MAC_fetch(HMAC) failed");
		free(a->path);
		free(a);
		return -EIO;
	}
	a->serial = atomic_fetch_add(&serials, 1) + 1;
	pthread_rwlock_init(&a->lock, NULL);
	pthread_mutex_init(&a->reload, NULL);
	a->gen = 1;
	atomic_store(&a->checked_ms, INT64_MIN / 2);
	refresh(a, REFRESH_FORCE);
	*out = a;
	return 0;
}

void
api_auth_free(api_auth **ap)
{
	api_auth *a = *ap;

	if (a == NULL)
		return;
	api_users_free(&a->users);
	pthread_rwlock_destroy(&a->lock);
	pthread_mutex_destroy(&a->reload);
	OPENSSL_cleanse(a->key, sizeof(a->key));
	EVP_MAC_free(a->mac);
	free(a->path);
	free(a);
	*ap = NULL;
}

/* Reloads the snapshot if the file changed (see enum refresh_mode). */
static void
refresh(api_auth *a, enum refresh_mode mode)
{
	int64_t              now = api_clock_ms(CLOCK_MONOTONIC);
	struct api_users_sig sig;
	api_users           *u = NULL, *old;

	if (mode == REFRESH_RATE
	    && now - atomic_load_explicit(&a->checked_ms, memory_order_relaxed)
	        < API_AUTH_CHECK_MS)
		return;
	if (mode != REFRESH_RATE)
		pthread_mutex_lock(&a->reload);
	else if (pthread_mutex_trylock(&a->reload) != 0)
		return; /* another thread is at it */
	atomic_store_explicit(&a->checked_ms, now, memory_order_relaxed);
	api_users_stat(a->path, &sig);
	if ((mode == REFRESH_FORCE || !api_users_sig_eq(&sig, &a->sig)
	        || a->users == NULL)
	    && api_users_load(&u, a->path) == 0) {
		pthread_rwlock_wrlock(&a->lock);
		old = a->users;
		a->users = u;
		a->sig = sig;
		a->gen++; /* every cached entry is now stale */
		pthread_rwlock_unlock(&a->lock);
		api_users_free(&old);
	}
	pthread_mutex_unlock(&a->reload);
}

void
api_auth_invalidate(api_auth *a)
{
	refresh(a, REFRESH_FORCE);
}

/* Decodes "Basic xxx" and checks it against the snapshot (slow). */
static bool
verify_header(api_auth *a, const char *h, uint64_t *gen, enum api_role *role)
{
	unsigned char buf[AUTH_HEADER_MAX];
	char         *colon, *hash = NULL;
	long          i;
	int           n;
	bool          ok;

	if (strncasecmp(h, "Basic ", 6) != 0)
		return false;
	h += 6;
	while (*h == ' ')
		h++;
	n = api_base64_decode(h, strlen(h), buf, sizeof(buf) - 1);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	colon = memchr(buf, ':', (size_t) n);
	if (colon == NULL || colon == (char *) buf
	    || memchr(buf, '\0', (size_t) n) != NULL)
		return false;
	*colon = '\0';
	pthread_rwlock_rdlock(&a->lock);
	*gen = a->gen;
	i = a->users ? api_users_find(a->users, (char *) buf) : -1;
	if (i >= 0) {
		hash = strdup(api_users_hash_of(a->users, (size_t) i));
		*role = api_users_role(a->users, (size_t) i);
	}
	pthread_rwlock_unlock(&a->lock);
	ok = hash != NULL && api_users_verify_hash(hash, colon + 1);
	free(hash);
	OPENSSL_cleanse(buf, sizeof(buf));
	return ok;
}

/*
 * HMAC-SHA256 of s under a's key.  Each thread keeps an initialised
 * context (one-shot HMAC() fetches the algorithm, under a lock, on every
 * call in OpenSSL 3); re-initialising with a NULL key reuses the key.
 */
static int
digest_of(api_auth *a, const char *s, size_t len, unsigned char out[32])
{
	static __thread EVP_MAC_CTX *ctx;
	static __thread uint64_t     ctx_serial;
	size_t                       n = 0;

	if (ctx == NULL || ctx_serial != a->serial) {
		OSSL_PARAM p[] = {
			OSSL_PARAM_construct_utf8_string(
			    "digest", (char *) "SHA256", 0),
			OSSL_PARAM_construct_end(),
		};

		EVP_MAC_CTX_free(ctx);
		ctx = EVP_MAC_CTX_new(a->mac);
		if (ctx == NULL
		    || !EVP_MAC_init(ctx, a->key, sizeof(a->key), p)) {
			EVP_MAC_CTX_free(ctx);
			ctx = NULL;
			return -EIO;
		}
		ctx_serial = a->serial;
	} else if (!EVP_MAC_init(ctx, NULL, 0, NULL)) {
		return -EIO;
	}
	if (!EVP_MAC_update(ctx, (const unsigned char *) s, len)
	    || !EVP_MAC_final(ctx, out, &n, 32) || n != 32)
		return -EIO;
	return 0;
}

int
api_auth_check(
    api_auth *a, const char *header, bool may_hash, enum api_role *role)
{
	unsigned char digest[32];
	uint64_t      gen = 0, idx;
	struct slot  *s;
	bool          hit;
	enum api_role r = API_ROLE_VIEWER;

	if (header == NULL || strlen(header) > AUTH_HEADER_MAX)
		return -EACCES;
	refresh(a, REFRESH_RATE);
	if (digest_of(a, header, strlen(header), digest) != 0)
		return -EACCES;
	memcpy(&idx, digest, sizeof(idx));
	s = &a->slots[idx & (AUTH_SLOTS - 1)];
	pthread_rwlock_rdlock(&a->lock);
	hit = s->gen == a->gen && memcmp(s->digest, digest, 32) == 0;
	if (hit)
		r = s->role;
	pthread_rwlock_unlock(&a->lock);
	if (hit) {
		if (role)
			*role = r;
		return 0;
	}
	if (!may_hash)
		return -EAGAIN;
	if (!verify_header(a, header, &gen, &r)) {
		uint64_t seen = gen;

		/* A user added or a password changed a moment ago (by another
		 * worker) must work on the next request: look at the file now
		 * and, if it changed, check once more. */
		refresh(a, REFRESH_NOW);
		pthread_rwlock_rdlock(&a->lock);
		gen = a->gen;
		pthread_rwlock_unlock(&a->lock);
		if (gen == seen || !verify_header(a, header, &gen, &r))
			return -EACCES;
	}
	pthread_rwlock_wrlock(&a->lock);
	if (gen == a->gen) { /* not verified against a superseded file */
		memcpy(s->digest, digest, 32);
		s->gen = gen;
		s->role = r;
	}
	pthread_rwlock_unlock(&a->lock);
	if (role)
		*role = r;
	return 0;
}
