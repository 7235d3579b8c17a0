/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mq_file: line-oriented reading and durable replacement of the broker's
 * small text files (see mq_file.h).
 */
#include "config.h"

#include "broker/mq_file.h"
#include "broker/mq_log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

bool
mq_is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

void
mq_trim(const char **s, size_t *n)
{
	while (*n > 0 && mq_is_blank(**s))
		(*s)++, (*n)--;
	while (*n > 0 && mq_is_blank((*s)[*n - 1]))
		(*n)--;
}

bool
mq_token_next(const char **s, const char *end, const char **tok, size_t *n)
{
	while (*s < end && mq_is_blank(**s))
		(*s)++;
	if (*s == end)
		return false;
	*tok = *s;
	while (*s < end && !mq_is_blank(**s))
		(*s)++;
	*n = (size_t) (*s - *tok);
	return true;
}

bool
mq_token_is(const char *tok, size_t n, const char *word)
{
	return strlen(word) == n && memcmp(tok, word, n) == 0;
}

char *
mq_strndup(const char *s, size_t n)
{
	char *d = malloc(n + 1);

	if (d != NULL) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

int
mq_file_lines(const char *path, bool quiet_enoent, mq_line_fn fn, void *ctx)
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
			mq_err("fopen(%s): %s", path, strerror(-rc));
		return rc;
	}
	while (rc == 0 && (got = getline(&line, &cap, f)) >= 0) {
		const char *s = line;
		size_t      n = (size_t) got;

		lineno++;
		mq_trim(&s, &n);
		if (n == 0 || s[0] == '#')
			continue;
		if (memchr(s, '\0', n) != NULL) {
			mq_warn("%s:%u: NUL byte, line ignored", path, lineno);
			continue;
		}
		rc = fn(ctx, path, lineno, s, n);
	}
	if (rc == 0 && ferror(f)) {
		rc = -EIO;
		mq_err("getline(%s): read error", path);
	}
	free(line);
	fclose(f);
	return rc;
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
	char *dir = slash ? mq_strndup(path, (size_t) (slash - path)) : NULL;
	const char *d = slash == NULL ? "." : (slash == path ? "/" : dir);
	int         fd, rc = 0;

	if (slash != NULL && dir == NULL)
		return -ENOMEM;
	fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0) {
		rc = -errno;
		mq_err(
		    "%s(%s): %s", fd < 0 ? "open" : "fsync", d, strerror(-rc));
	}
	if (fd >= 0)
		close(fd);
	free(dir);
	return rc;
}

int
mq_file_replace(const char *path, const char *data, size_t len, unsigned mode)
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
		mq_err("open(%s): %s", tmp, strerror(-rc));
		free(tmp);
		return rc;
	}
	rc = write_all(fd, data, len);
	if (rc < 0)
		mq_err("write(%s): %s", tmp, strerror(-rc));
	if (rc == 0 && fsync(fd) < 0) {
		rc = -errno;
		mq_err("fsync(%s): %s", tmp, strerror(-rc));
	}
	if (close(fd) < 0 && rc == 0) {
		rc = -errno;
		mq_err("close(%s): %s", tmp, strerror(-rc));
	}
	if (rc == 0 && rename(tmp, path) < 0) {
		rc = -errno;
		mq_err("rename(%s, %s): %s", tmp, path, strerror(-rc));
	}
	if (rc < 0)
		unlink(tmp);
	else
		rc = fsync_dir_of(path);
	free(tmp);
	return rc;
}
