/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * api_auth: the verified-credential cache.  Readers take no lock and
 * write no shared memory: the users snapshot and each cache slot are
 * pointers to immutable objects read under liburcu (memb flavour), and
 * a writer replaces a pointer and frees what it replaced after a grace
 * period.  Writers are rare: a reload (the file changed, at most every
 * API_AUTH_CHECK_MS) and a fill (after a miss, which paid crypt(3), ~2
 * ms, anyway).  Before, every hit took a pthread_rwlock for reading, so
 * every request of every thread wrote the lock's cache line.  liburcu's
 * grace periods see only this process's threads: the segment between
 * processes keeps its seqcount protocol (docs/architecture.md).
 */
#include "config.h"

#include "fcgi/api_auth.h"

#include "fcgi/api_log.h"

#include "fcgi/api.h"
#include "fcgi/api_http.h"
#include "fcgi/api_users.h"

#include <errno.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <urcu/urcu-memb.h>

#define AUTH_SLOTS      4096 /* power of two */
#define AUTH_HEADER_MAX 1024

/* One version of the users file; immutable once published. */
struct version {
	api_users           *users;
	struct api_users_sig sig;
	uint64_t             gen; /* bumped by every reload */
};

/* A verified header; immutable once published. */
struct entry {
	unsigned char digest[32];
	uint64_t      gen;  /* of the version it was verified against */
	enum api_role role; /* of the user the header names */
};

struct api_auth {
	char           *path;
	uint64_t        serial; /* tells thread caches apart */
	EVP_MAC        *mac;
	unsigned char   key[32];
	pthread_mutex_t reload;  /* one reloader at a time */
	struct version *current; /* RCU */
	_Atomic int64_t checked_ms;
	struct entry   *slots[AUTH_SLOTS]; /* RCU; NULL: empty */
};

enum refresh_mode {
	REFRESH_RATE,  /* stat at most every API_AUTH_CHECK_MS */
	REFRESH_NOW,   /* stat now, reload if the file changed */
	REFRESH_FORCE, /* reload now */
};

static void refresh(api_auth *a, enum refresh_mode mode);

static _Atomic uint64_t serials;

/* ---- readers: each thread registers with liburcu on first use and
 * unregisters when it ends (a thread that ended registered would leave
 * the grace-period code a dangling entry). */

static pthread_key_t  rcu_key;
static pthread_once_t rcu_once = PTHREAD_ONCE_INIT;

static void
rcu_thread_end(void *arg)
{
	(void) arg;
	urcu_memb_unregister_thread();
}

static void
rcu_key_init(void)
{
	if (pthread_key_create(&rcu_key, rcu_thread_end) != 0)
		abort(); /* only at start-up, out of keys */
}

static void
read_lock(void)
{
	static __thread bool registered;

	if (!registered) {
		pthread_once(&rcu_once, rcu_key_init);
		urcu_memb_register_thread();
		pthread_setspecific(rcu_key, &registered);
		registered = true;
	}
	urcu_memb_read_lock();
}

static void
read_unlock(void)
{
	urcu_memb_read_unlock();
}

/* Publishes v in *slot; frees what it replaces once no reader can hold
 * it.  Never called inside a read-side section. */
static void *
replace(void **slot, void *v)
{
	void *old = rcu_xchg_pointer(slot, v);

	if (old != NULL)
		urcu_memb_synchronize_rcu();
	return old;
}

static void
version_free(struct version *v)
{
	if (v != NULL)
		api_users_free(&v->users);
	free(v);
}

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
	pthread_mutex_init(&a->reload, NULL);
	atomic_store(&a->checked_ms, INT64_MIN / 2);
	refresh(a, REFRESH_FORCE);
	*out = a;
	return 0;
}

/* No thread may be using a. */
void
api_auth_free(api_auth **ap)
{
	api_auth *a = *ap;

	if (a == NULL)
		return;
	version_free(a->current);
	for (size_t i = 0; i < AUTH_SLOTS; i++)
		free(a->slots[i]);
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
	struct version      *cur, *v;

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
	cur = a->current; /* only reloaders, under the mutex, change it */
	if (mode == REFRESH_FORCE || cur == NULL
	    || !api_users_sig_eq(&sig, &cur->sig)) {
		v = calloc(1, sizeof(*v));
		if (v != NULL && api_users_load(&v->users, a->path) == 0) {
			v->sig = sig;
			/* every cached entry is now stale */
			v->gen = (cur ? cur->gen : 0) + 1;
			version_free(replace((void **) &a->current, v));
		} else {
			free(v);
		}
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
	unsigned char   buf[AUTH_HEADER_MAX];
	struct version *v;
	char           *colon, *hash = NULL;
	long            i;
	int             n;
	bool            ok;

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
	read_lock();
	v = rcu_dereference(a->current);
	*gen = v ? v->gen : 0;
	i = v ? api_users_find(v->users, (char *) buf) : -1;
	if (i >= 0) {
		hash = strdup(api_users_hash_of(v->users, (size_t) i));
		*role = api_users_role(v->users, (size_t) i);
	}
	read_unlock();
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

/* The generation of the current version (0 before the first load). */
static uint64_t
current_gen(api_auth *a)
{
	struct version *v;
	uint64_t        gen;

	read_lock();
	v = rcu_dereference(a->current);
	gen = v ? v->gen : 0;
	read_unlock();
	return gen;
}

int
api_auth_check(
    api_auth *a, const char *header, bool may_hash, enum api_role *role)
{
	unsigned char   digest[32];
	uint64_t        gen = 0, idx;
	struct entry  **s, *e;
	struct version *v;
	bool            hit;
	enum api_role   r = API_ROLE_VIEWER;

	if (header == NULL || strlen(header) > AUTH_HEADER_MAX)
		return -EACCES;
	refresh(a, REFRESH_RATE);
	if (digest_of(a, header, strlen(header), digest) != 0)
		return -EACCES;
	memcpy(&idx, digest, sizeof(idx));
	s = &a->slots[idx & (AUTH_SLOTS - 1)];
	read_lock();
	v = rcu_dereference(a->current);
	e = rcu_dereference(*s);
	hit = v != NULL && e != NULL && e->gen == v->gen
	    && memcmp(e->digest, digest, 32) == 0;
	if (hit)
		r = e->role;
	read_unlock();
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
		if (current_gen(a) == seen
		    || !verify_header(a, header, &gen, &r))
			return -EACCES;
	}
	/* not cached if verified against a superseded file (a reader would
	 * drop it anyway) */
	if (gen == current_gen(a) && (e = malloc(sizeof(*e))) != NULL) {
		memcpy(e->digest, digest, 32);
		e->gen = gen;
		e->role = r;
		free(replace((void **) s, e));
	}
	if (role)
		*role = r;
	return 0;
}
