/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mq_creds: credentials.  One auth file's entries (NAME:HASH, crypt(3)
 * yescrypt or SHA-512 hashes), password verification against them, and
 * the cache of passwords crypt(3) has accepted (HMAC-SHA-256 under a
 * random per-process key), so that only first logins and wrong passwords
 * pay for the slow hash.
 *
 * A check that needs crypt(3) becomes a struct mq_auth_check that owns
 * copies of everything it needs: run it on any thread
 * (mq_creds_check_run), judge it on the caller's (mq_creds_check_finish).
 *
 * Errors: int functions return 0 or -errno; the failure is logged once.
 */
#ifndef MQ_CREDS_H
#define MQ_CREDS_H

#include <stdbool.h>
#include <stddef.h>

typedef struct mq_creds   mq_creds;
typedef struct mq_pwcache mq_pwcache;
struct mq_auth_check;

/* Longer passwords are refused: hashing cost grows with them. */
#define MQ_PW_MAX 1024

/*
 * The cache's key and MAC context.  Without a random key or OpenSSL's
 * HMAC the cache is off (logged) and every check runs crypt(3); only
 * -ENOMEM fails.
 */
int  mq_pwcache_new(mq_pwcache **out);
void mq_pwcache_free(mq_pwcache **pc);

/*
 * Loads path (NULL: no entries).  Bad lines are logged and skipped.  On
 * -ENOMEM *out is NULL; on any other error (logged) *out is an empty
 * table and the error is returned.
 */
int  mq_creds_load(mq_creds **out, const char *path);
void mq_creds_free(mq_creds **c);

enum mq_cred_verdict {
	MQ_CRED_IGNORE,  /* no such name: the next plugin decides */
	MQ_CRED_ACCEPT,  /* known name, right password */
	MQ_CRED_REJECT,  /* known name, wrong or missing password */
	MQ_CRED_PENDING, /* *ck: a crypt(3) check to run */
};

/*
 * Checks name / pw (pw NULL: absent) against c.  A password the cache
 * does not know becomes *ck (PENDING, tagged with tag for the caller),
 * or, when ck is NULL, is checked here and now (milliseconds).
 */
enum mq_cred_verdict mq_creds_check(mq_creds *c, const mq_pwcache *pc, int tag,
    const char *name, size_t name_len, const char *pw, size_t pw_len,
    struct mq_auth_check **ck);

/*
 * A check of pw against a crypt(3) hash from elsewhere (a database row:
 * mq_dbauth), for the auth threads; the cache never learns it.  NULL on
 * ENOMEM.  Judge it with mq_creds_check_finish(NULL, ck).
 */
struct mq_auth_check *mq_creds_check_hash(
    int tag, const char *hash, size_t hash_len, const char *pw, size_t pw_len);

/* Runs crypt(3) for ck; touches nothing but ck (any thread). */
void mq_creds_check_run(struct mq_auth_check *ck);
/* The tag given to mq_creds_check. */
int mq_creds_check_tag(const struct mq_auth_check *ck);
/*
 * crypt's answer for ck, which it frees.  c learns the password (cache)
 * only if its entry still has the hash that was checked (c NULL: none).
 */
bool mq_creds_check_finish(mq_creds *c, struct mq_auth_check *ck);
/* Drops ck unjudged (NULL: nothing). */
void mq_creds_check_free(struct mq_auth_check *ck);

/*
 * Hashes password for the auth files: yescrypt ("$y$...") by default,
 * SHA-512 crypt ("$6$...") with sha512, with a fresh random salt.
 * Returns the hash's length (written NUL-terminated to out) or -errno.
 */
int mq_creds_hash_password(
    char *out, size_t out_size, const char *password, bool sha512);

#endif
