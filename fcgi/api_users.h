/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * api_users: the API users file, htpasswd format, one
 * "name:hash[:tags[:role]]" per line (nginx's auth_basic_user_file and
 * Apache read the same lines, they stop at the hash, and operators can
 * edit it with htpasswd).  Hashes are SHA-512 crypt ("$6$", libxcrypt);
 * other crypt(3) formats found in the file still verify.  The role is
 * written only for viewers ("name:hash:tags:viewer"): a line without one
 * is an administrator, so files written before roles existed, and lines
 * htpasswd adds, keep full rights (EMQ 2.3 had no roles).
 *
 * Reading: api_users_load() parses the file into an immutable snapshot
 * that any number of threads may read.  Writing: every edit takes an
 * exclusive flock on "<path>.lock", re-reads the file, writes the new
 * content to "<path>.tmp", fsyncs it, renames it over the file and fsyncs
 * the directory, so readers see either the old or the new file, never a
 * torn one, and a crash at any point loses no committed edit.  Edits
 * return 0 or -errno (-EEXIST user exists, -ENOENT no such user,
 * -EINVAL a field out of its limits); I/O failures are logged once with the
 * syscall.
 */
#ifndef API_USERS_H
#define API_USERS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

typedef struct api_users api_users;

/* What a user may do: an administrator everything, a viewer only read
 * (GET and HEAD). */
enum api_role {
	API_ROLE_ADMIN = 0,
	API_ROLE_VIEWER = 1,
};

/* "admin" or "viewer". */
const char *api_role_name(enum api_role role);
/* The role named s[0..len), or -EINVAL. */
int api_role_parse(const char *s, size_t len);

/* Limits of the fields, in bytes (docs: README "Users"). */
#define API_USERS_NAME_MAX     64
#define API_USERS_PASSWORD_MAX 256
#define API_USERS_TAGS_MAX     256

/* Identity of one version of the file: a rename makes a new inode. */
struct api_users_sig {
	dev_t           dev;
	ino_t           ino;
	off_t           size;
	struct timespec mtime;
};

/* Fills sig from stat(path); a missing file gives an all-zero sig. */
void api_users_stat(const char *path, struct api_users_sig *sig);
bool api_users_sig_eq(
    const struct api_users_sig *a, const struct api_users_sig *b);

/* A snapshot of path (empty if the file does not exist). */
int  api_users_load(api_users **out, const char *path);
void api_users_free(api_users **u);

size_t        api_users_count(const api_users *u);
const char   *api_users_name(const api_users *u, size_t i);
const char   *api_users_tags(const api_users *u, size_t i); /* "" if none */
enum api_role api_users_role(const api_users *u, size_t i);
/* Index of name, or -1. */
long api_users_find(const api_users *u, const char *name);
/* True if password matches the stored hash of user i (slow: crypt). */
bool api_users_verify(const api_users *u, size_t i, const char *password);
const char *api_users_hash_of(const api_users *u, size_t i);
/* True if password matches hash (crypt(3) format); constant-time compare. */
bool api_users_verify_hash(const char *hash, const char *password);

/* A user name fits the file: 1..64 bytes, no ':' and no control bytes,
 * not starting with '#'. */
bool api_users_name_valid(const char *name);
/* Tags: up to 256 bytes, no ':' and no control bytes. */
bool api_users_tags_valid(const char *tags);
/* A password: 1..256 bytes (crypt(3) takes up to 511). */
bool api_users_password_valid(const char *password);

/* SHA-512 crypt of password with a fresh random salt. */
int api_users_hash(const char *password, char *out, size_t len);

int api_users_add(const char *path, const char *name, const char *password,
    const char *tags, enum api_role role);
int api_users_set_password(
    const char *path, const char *name, const char *password);
int api_users_set_tags(const char *path, const char *name, const char *tags);
int api_users_set_role(const char *path, const char *name, enum api_role role);
int api_users_delete(const char *path, const char *name);

/* Creates the file with one administrator unless it exists (then
 * -EEXIST). */
int api_users_init(const char *path, const char *name, const char *password,
    const char *tags);

#endif
