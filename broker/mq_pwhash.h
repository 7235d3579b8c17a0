/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mq_pwhash: the password hashes of EMQ 2.3's database auth plugins
 * (emqttd_auth_mod:passwd_hash), as a `password_hash` setting names
 * them:
 *
 *   plain | md5 | sha | sha256 | sha512    hex digest of the password
 *   salt,md5 | salt,sha256 | ...           of salt + password
 *   md5,salt | sha256,salt | ...           of password + salt
 *   bcrypt                                 crypt(3) "$2b$" / "$2a$" /
 *                                          "$2y$": the stored hash is the
 *                                          setting (or the salt column,
 *                                          when one is fetched)
 *   pbkdf2,MAC,ITERATIONS,DKLEN            PBKDF2-HMAC (MAC md5, sha,
 *                                          sha224, sha256, sha384,
 *                                          sha512) over the salt, hex
 *
 * Digests compare in constant time and without regard to hex case.
 * Digests and pbkdf2 run in the caller (the event loop: ~0.5 ms at 1000
 * PBKDF2-SHA256 iterations); bcrypt without a salt column (~55 ms at cost
 * 10) goes to the auth threads (mq_pwhash_offload); with a salt column
 * (EMQ's "salt,bcrypt"), it runs in the caller.
 *
 * Errors: int functions return 0 or -errno.
 */
#ifndef MQ_PWHASH_H
#define MQ_PWHASH_H

#include <stdbool.h>
#include <stddef.h>

struct mq_pwhash {
	int      alg;      /* enum in mq_pwhash.c */
	int      salt_pos; /* 0 none, 1 before the password, 2 after */
	int      mac;      /* pbkdf2 */
	unsigned iterations, dklen;
};

/* Parses a password_hash setting; -EINVAL names what is wrong (logged). */
int mq_pwhash_parse(struct mq_pwhash *h, const char *spec);

/* Whether the hash uses a salt (a salt column / field is worth fetching). */
bool mq_pwhash_salted(const struct mq_pwhash *h);

/*
 * Whether the check is crypt(stored) == stored (bcrypt without a salt
 * column): slow, so the caller hands it to the auth threads
 * (mq_creds_check_hash) instead of mq_pwhash_check.
 */
bool mq_pwhash_offload(const struct mq_pwhash *h, size_t salt_len);

/* Whether pw (pw_len bytes) hashes to stored, with salt (NULL: none). */
bool mq_pwhash_check(const struct mq_pwhash *h, const char *stored,
    size_t stored_len, const char *salt, size_t salt_len, const char *pw,
    size_t pw_len);

#endif
