/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * api_auth: HTTP Basic verification in the worker, with a cache.
 *
 * Checking a salted SHA-512 crypt costs about a millisecond, which would
 * cap the API near 1k req/s; so a header that verified once is
 * remembered, keyed by HMAC-SHA256 of the raw header value under a key
 * drawn at random when the process starts.  The cache holds digests
 * only: neither the password nor base64(user:pass) is kept, and the key
 * never leaves the process.  Entries carry the generation of the users
 * file they were verified against; the file is stat()ed at most every
 * API_AUTH_CHECK_MS, and any change (an edit renames a new inode in)
 * drops every entry, so a deleted user or a changed password stops
 * working within that time.  Failures are never cached.
 *
 * One api_auth per process, shared by its threads (thread-safe): readers
 * take no lock (liburcu, memb flavour; a thread registers on its first
 * check and unregisters when it ends), a reload or a fill waits for a
 * grace period before it frees what it replaced.
 */
#ifndef API_AUTH_H
#define API_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "fcgi/api_users.h"

#define API_AUTH_CHECK_MS 200

typedef struct api_auth api_auth;

/* Creates the cache for users_path; draws the HMAC key.  0 or -errno. */
int  api_auth_new(api_auth **out, const char *users_path);
void api_auth_free(api_auth **a);

/*
 * Verifies an Authorization header value ("Basic base64(user:pass)"), NULL
 * for none.  Returns 0 if valid (then *role is the user's role), -EACCES
 * if not.  With may_hash false a header that is not in the cache returns
 * -EAGAIN instead of being checked (nginx's two-pass gate: the slow check
 * runs only after nginx's per-address limit, see docs/architecture.md).
 * A role changed in the file is seen as soon as a password change would
 * be (the cache is keyed by the file's generation).
 */
int api_auth_check(
    api_auth *a, const char *header, bool may_hash, enum api_role *role);

/* Drops every entry now (this process just edited the users file). */
void api_auth_invalidate(api_auth *a);

#endif
