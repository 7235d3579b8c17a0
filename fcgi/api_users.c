/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * api_users: the users file.  A snapshot keeps every line, so comments
 * and lines we cannot parse survive an edit unchanged; only user lines
 * (name:hash[:tags[:role]]) are looked at.
 */
#include "config.h"

#include "fcgi/api_users.h"

#include "fcgi/api_log.h"

#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#define USERS_MAX_LINES 100000

struct line {
	char         *raw;  /* the line as read, without '\n' */
	char         *name; /* NULL for comments and unparsable lines */
	char         *hash;
	char         *tags;
	enum api_role role;
};

struct api_users {
	struct line *lines;
	size_t       n, cap;
	size_t      *users; /* indices of the user lines */
	size_t       nusers;
};

void
api_users_stat(const char *path, struct api_users_sig *sig)
{
	struct stat st;

	memset(sig, 0, sizeof(*sig));
	if (stat(path, &st) != 0)
		return;
	sig->dev = st.st_dev;
	sig->ino = st.st_ino;
	sig->size = st.st_size;
	sig->mtime = st.st_mtim;
}

bool
api_users_sig_eq(const struct api_users_sig *a, const struct api_users_sig *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size
	    && a->mtime.tv_sec == b->mtime.tv_sec
	    && a->mtime.tv_nsec == b->mtime.tv_nsec;
}

static bool
field_ok(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char) s[i] < 0x20 || s[i] == 0x7f || s[i] == ':')
			return false;
	return true;
}

bool
api_users_name_valid(const char *name)
{
	return name[0] != '\0' && name[0] != '#'
	    && field_ok(name, API_USERS_NAME_MAX);
}

bool
api_users_tags_valid(const char *tags)
{
	return field_ok(tags, API_USERS_TAGS_MAX);
}

bool
api_users_password_valid(const char *password)
{
	size_t n = strlen(password);

	return n > 0 && n <= API_USERS_PASSWORD_MAX;
}

const char *
api_role_name(enum api_role role)
{
	return role == API_ROLE_VIEWER ? "viewer" : "admin";
}

int
api_role_parse(const char *s, size_t len)
{
	if (len == 5 && memcmp(s, "admin", 5) == 0)
		return API_ROLE_ADMIN;
	if (len == 6 && memcmp(s, "viewer", 6) == 0)
		return API_ROLE_VIEWER;
	return -EINVAL;
}

/* Splits "tags[:role]": the last field is the role only if it names one,
 * so tags a hand-edited file holds with ':' in them stay tags. */
static char *
tags_and_role(const char *rest, enum api_role *role)
{
	const char *c = strrchr(rest, ':');
	int         r = c ? api_role_parse(c + 1, strlen(c + 1)) : -EINVAL;

	*role = API_ROLE_ADMIN;
	if (r < 0)
		return strdup(rest);
	*role = (enum api_role) r;
	return strndup(rest, (size_t) (c - rest));
}

static void
line_parse(struct line *l)
{
	char *c1 = strchr(l->raw, ':'), *c2;

	l->name = l->hash = l->tags = NULL;
	l->role = API_ROLE_ADMIN;
	if (l->raw[0] == '#' || c1 == NULL || c1 == l->raw)
		return;
	l->name = strndup(l->raw, (size_t) (c1 - l->raw));
	c2 = strchr(c1 + 1, ':');
	l->hash
	    = c2 ? strndup(c1 + 1, (size_t) (c2 - c1 - 1)) : strdup(c1 + 1);
	l->tags = tags_and_role(c2 ? c2 + 1 : "", &l->role);
	if (!l->name || !l->hash || !l->tags) {
		free(l->name);
		free(l->hash);
		free(l->tags);
		l->name = l->hash = l->tags = NULL;
	}
}

static int
add_line(api_users *u, const char *raw)
{
	struct line *l;

	if (u->n == u->cap) {
		size_t       cap = u->cap ? u->cap * 2 : 16;
		struct line *nl;

		if (cap > USERS_MAX_LINES)
			return -EFBIG;
		nl = realloc(u->lines, cap * sizeof(*nl));
		if (nl == NULL)
			return -ENOMEM;
		u->lines = nl;
		u->cap = cap;
	}
	l = &u->lines[u->n];
	l->raw = strdup(raw);
	if (l->raw == NULL)
		return -ENOMEM;
	line_parse(l);
	u->n++;
	return 0;
}

static int
index_users(api_users *u)
{
	free(u->users);
	u->users = calloc(u->n + 1, sizeof(*u->users));
	if (u->users == NULL)
		return -ENOMEM;
	u->nusers = 0;
	for (size_t i = 0; i < u->n; i++)
		if (u->lines[i].name != NULL)
			u->users[u->nusers++] = i;
	return 0;
}

static int
load_fp(api_users *u, FILE *fp)
{
	char   *buf = NULL;
	size_t  cap = 0;
	ssize_t n;
	int     rc = 0;

	while ((n = getline(&buf, &cap, fp)) >= 0) {
		while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
			buf[--n] = '\0';
		if (n == 0)
			continue;
		rc = add_line(u, buf);
		if (rc != 0)
			break;
	}
	free(buf);
	return rc ? rc : index_users(u);
}

int
api_users_load(api_users **out, const char *path)
{
	api_users *u = calloc(1, sizeof(*u));
	FILE      *fp;
	int        rc = 0;

	if (u == NULL)
		return -ENOMEM;
	fp = fopen(path, "re");
	if (fp != NULL) {
		rc = load_fp(u, fp);
		fclose(fp);
	} else if (errno != ENOENT) {
		rc = -errno;
		api_err("fopen(%s) failed: %s", path, strerror(errno));
	} else {
		rc = index_users(u);
	}
	if (rc != 0) {
		api_users_free(&u);
		return rc;
	}
	*out = u;
	return 0;
}

void
api_users_free(api_users **up)
{
	api_users *u = *up;

	if (u == NULL)
		return;
	for (size_t i = 0; i < u->n; i++) {
		free(u->lines[i].raw);
		free(u->lines[i].name);
		free(u->lines[i].hash);
		free(u->lines[i].tags);
	}
	free(u->lines);
	free(u->users);
	free(u);
	*up = NULL;
}

size_t
api_users_count(const api_users *u)
{
	return u->nusers;
}

const char *
api_users_name(const api_users *u, size_t i)
{
	return u->lines[u->users[i]].name;
}

const char *
api_users_tags(const api_users *u, size_t i)
{
	return u->lines[u->users[i]].tags;
}

enum api_role
api_users_role(const api_users *u, size_t i)
{
	return u->lines[u->users[i]].role;
}

long
api_users_find(const api_users *u, const char *name)
{
	for (size_t i = 0; i < u->nusers; i++)
		if (strcmp(u->lines[u->users[i]].name, name) == 0)
			return (long) i;
	return -1;
}

const char *
api_users_hash_of(const api_users *u, size_t i)
{
	return u->lines[u->users[i]].hash;
}

bool
api_users_verify(const api_users *u, size_t i, const char *password)
{
	return api_users_verify_hash(u->lines[u->users[i]].hash, password);
}

bool
api_users_verify_hash(const char *hash, const char *password)
{
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	const char        *out;
	size_t             hlen = strlen(hash);
	unsigned char      diff = 0;

	if (cd == NULL)
		return false;
	out = crypt_r(password, hash, cd);
	if (out == NULL || out[0] == '*' || strlen(out) != hlen || hlen < 13) {
		free(cd);
		return false;
	}
	for (size_t k = 0; k < hlen; k++) /* constant time */
		diff |= (unsigned char) (out[k] ^ hash[k]);
	free(cd);
	return diff == 0;
}

int
api_users_hash(const char *password, char *out, size_t len)
{
	char               salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *cd;
	const char        *h;
	int                rc = 0;

	if (crypt_gensalt_rn("$6$", 0, NULL, 0, salt, sizeof(salt)) == NULL) {
		api_err("crypt_gensalt_rn($6$) failed: %s", strerror(errno));
		return -errno ? -errno : -EINVAL;
	}
	cd = calloc(1, sizeof(*cd));
	if (cd == NULL)
		return -ENOMEM;
	h = crypt_r(password, salt, cd);
	if (h == NULL || h[0] == '*')
		rc = -EINVAL;
	else if (strlen(h) >= len)
		rc = -ENOSPC;
	else
		strcpy(out, h);
	free(cd);
	return rc;
}

/* Writes u to path through path.tmp, fsync and rename. */
static int
users_commit(const api_users *u, const char *path)
{
	char  tmp[4096], dir[4096];
	FILE *fp;
	int   fd, rc = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int) sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0) {
		rc = -errno;
		api_err("open(%s) failed: %s", tmp, strerror(errno));
		return rc;
	}
	fp = fdopen(fd, "w");
	if (fp == NULL) {
		close(fd);
		return -ENOMEM;
	}
	for (size_t i = 0; i < u->n; i++)
		if (u->lines[i].raw != NULL)
			fprintf(fp, "%s\n", u->lines[i].raw);
	if (fflush(fp) != 0 || fsync(fd) != 0) {
		rc = -errno;
		api_err("write/fsync(%s) failed: %s", tmp, strerror(errno));
	}
	fclose(fp);
	if (rc == 0 && rename(tmp, path) != 0) {
		rc = -errno;
		api_err("rename(%s) failed: %s", tmp, strerror(errno));
	}
	if (rc != 0) {
		unlink(tmp);
		return rc;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	fd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd); /* makes the rename itself durable */
		close(fd);
	}
	return 0;
}

/* What an edit sets; NULL / a negative role: keep what the line has. */
struct edit {
	enum edit_op {
		EDIT_ADD,
		EDIT_PASSWORD,
		EDIT_TAGS,
		EDIT_ROLE,
		EDIT_DELETE,
		EDIT_INIT,
	} op;
	const char *name;
	const char *password; /* hashed by users_edit into hash */
	const char *tags;
	int         role;
	char        hash[256];
};

/* Rewrites l as name:hash[:tags[:role]]; the role is written only for a
 * viewer (see api_users.h). */
static int
set_line(struct line *l, const char *name, const char *hash, const char *tags,
    enum api_role role)
{
	size_t n = strlen(name) + strlen(hash) + strlen(tags) + 12;
	char  *raw = malloc(n);

	if (raw == NULL)
		return -ENOMEM;
	if (role != API_ROLE_ADMIN)
		snprintf(raw, n, "%s:%s:%s:%s", name, hash, tags,
		    api_role_name(role));
	else if (tags[0] != '\0')
		snprintf(raw, n, "%s:%s:%s", name, hash, tags);
	else
		snprintf(raw, n, "%s:%s", name, hash);
	free(l->raw);
	free(l->name);
	free(l->hash);
	free(l->tags);
	l->raw = raw;
	line_parse(l);
	return l->name ? 0 : -ENOMEM;
}

static int
edit_apply(api_users *u, const struct edit *e)
{
	long         i = api_users_find(u, e->name);
	struct line *l;

	if (e->op == EDIT_INIT && u->nusers > 0)
		return -EEXIST;
	if ((e->op == EDIT_ADD || e->op == EDIT_INIT) && i >= 0)
		return -EEXIST;
	if (e->op == EDIT_ADD || e->op == EDIT_INIT) {
		int rc = add_line(u, "#");

		if (rc != 0)
			return rc;
		return set_line(&u->lines[u->n - 1], e->name, e->hash,
		    e->tags ? e->tags : "",
		    e->role < 0 ? API_ROLE_ADMIN : (enum api_role) e->role);
	}
	if (i < 0)
		return -ENOENT;
	l = &u->lines[u->users[i]];
	if (e->op == EDIT_DELETE) {
		free(l->raw);
		free(l->name);
		free(l->hash);
		free(l->tags);
		memset(l, 0, sizeof(*l));
		return 0;
	}
	return set_line(l, e->name, e->password ? e->hash : l->hash,
	    e->tags ? e->tags : l->tags,
	    e->role < 0 ? l->role : (enum api_role) e->role);
}

static int
users_edit(const char *path, struct edit *e)
{
	char       lock[4096];
	api_users *u = NULL;
	int        lfd, rc;

	if (!api_users_name_valid(e->name)
	    || (e->tags && !api_users_tags_valid(e->tags))
	    || (e->password && !api_users_password_valid(e->password)))
		return -EINVAL;
	/* hash before taking the lock: crypt is the slow part */
	if (e->password != NULL) {
		rc = api_users_hash(e->password, e->hash, sizeof(e->hash));
		if (rc != 0)
			return rc;
	}
	if (snprintf(lock, sizeof(lock), "%s.lock", path)
	    >= (int) sizeof(lock))
		return -ENAMETOOLONG;
	lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (lfd < 0) {
		rc = -errno;
		api_err("open(%s) failed: %s", lock, strerror(errno));
		return rc;
	}
	while ((rc = flock(lfd, LOCK_EX)) != 0 && errno == EINTR)
		;
	if (rc != 0) {
		rc = -errno;
		api_err("flock(%s) failed: %s", lock, strerror(errno));
		close(lfd);
		return rc;
	}
	if (e->op == EDIT_INIT && access(path, F_OK) == 0)
		rc = -EEXIST;
	else
		rc = api_users_load(&u, path);
	if (rc == 0)
		rc = edit_apply(u, e);
	if (rc == 0)
		rc = users_commit(u, path);
	api_users_free(&u);
	close(lfd); /* releases the lock */
	return rc;
}

int
api_users_add(const char *path, const char *name, const char *password,
    const char *tags, enum api_role role)
{
	struct edit e
	    = { EDIT_ADD, name, password, tags ? tags : "", (int) role, "" };

	return users_edit(path, &e);
}

int
api_users_set_password(
    const char *path, const char *name, const char *password)
{
	struct edit e = { EDIT_PASSWORD, name, password, NULL, -1, "" };

	return users_edit(path, &e);
}

int
api_users_set_tags(const char *path, const char *name, const char *tags)
{
	struct edit e = { EDIT_TAGS, name, NULL, tags, -1, "" };

	return users_edit(path, &e);
}

int
api_users_set_role(const char *path, const char *name, enum api_role role)
{
	struct edit e = { EDIT_ROLE, name, NULL, NULL, (int) role, "" };

	return users_edit(path, &e);
}

int
api_users_delete(const char *path, const char *name)
{
	struct edit e = { EDIT_DELETE, name, NULL, NULL, -1, "" };

	return users_edit(path, &e);
}

int
api_users_init(
    const char *path, const char *name, const char *password, const char *tags)
{
	struct edit e = { EDIT_INIT, name, password, tags ? tags : "",
		API_ROLE_ADMIN, "" };

	return users_edit(path, &e);
}
