/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mqttd-passwd: adds, replaces or deletes one NAME:HASH entry of an auth
 * file of mqttd_auth_username / mqttd_auth_clientid.
 *
 *     mqttd-passwd [-6|-y] FILE NAME  password: first line of stdin
 *     mqttd-passwd -D FILE NAME       delete NAME
 *
 * The hash is SHA-512 crypt ("$6$", 5000 rounds), or yescrypt ("$y$")
 * with -y.  SHA-512 is the default because a first login and every wrong
 * password cost the broker one crypt on its auth threads, some ms for
 * SHA-512 and about 20 times that for yescrypt (the broker then
 * remembers a good password; see mq_creds.c).  The file is rewritten
 * atomically (mq_file_replace) and created with mode 0600; other lines,
 * comments included, are kept as they are.
 * Send the broker SIGHUP to re-read it.
 */
#include "config.h"

#include "broker/mq_creds.h"
#include "broker/mq_file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The broker refuses longer passwords (MQ_PW_MAX in mq_plugins.c). */
#define MQ_PASSWD_MAX 1024

static void
usage(void)
{
	fprintf(stderr,
	    "usage: mqttd-passwd [-6|-y] FILE NAME  (password on "
	    "stdin)\n       mqttd-passwd -D FILE NAME\n");
	exit(2);
}

/* Whether line is NAME's entry: NAME, then a colon, then no other colon. */
static bool
is_entry_of(const char *line, size_t len, const char *name)
{
	const char *colon = NULL;
	size_t      nl = strlen(name);

	for (size_t i = 0; i < len; i++)
		if (line[i] == ':')
			colon = line + i;
	return colon != NULL && (size_t) (colon - line) == nl
	    && memcmp(line, name, nl) == 0;
}

struct buf {
	char  *p;
	size_t n, cap;
};

static int
buf_add(struct buf *b, const char *s, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		size_t cap = (b->n + n + 1) * 2;
		char  *p = realloc(b->p, cap);

		if (p == NULL)
			return -ENOMEM;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	return 0;
}

/* The file without NAME's entries; *found tells whether there were any. */
static int
read_others(const char *path, const char *name, struct buf *out, bool *found)
{
	FILE   *f = fopen(path, "re");
	char   *line = NULL;
	size_t  cap = 0;
	ssize_t got;
	int     rc = 0;

	*found = false;
	if (f == NULL) {
		if (errno == ENOENT)
			return 0;
		rc = -errno;
		fprintf(stderr, "mqttd-passwd: fopen(%s): %s\n", path,
		    strerror(errno));
		return rc;
	}
	while (rc == 0 && (got = getline(&line, &cap, f)) > 0) {
		size_t n = (size_t) got;

		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			n--;
		if (line[0] != '#' && is_entry_of(line, n, name)) {
			*found = true;
			continue;
		}
		rc = buf_add(out, line, n);
		if (rc == 0)
			rc = buf_add(out, "\n", 1);
	}
	free(line);
	fclose(f);
	return rc;
}

/* The first line of stdin, without its line end. */
static int
read_password(char *pw, size_t size)
{
	size_t n;

	if (fgets(pw, (int) size, stdin) == NULL)
		return -EINVAL;
	n = strcspn(pw, "\r\n");
	if (pw[n] == '\0' && n == size - 1)
		return -E2BIG;
	pw[n] = '\0';
	return n == 0 ? -EINVAL : 0;
}

/* Appends NAME:HASH with the password read from stdin. */
static int
add_entry(struct buf *b, const char *name, bool sha512)
{
	char pw[MQ_PASSWD_MAX + 2], hash[256];
	int  rc = read_password(pw, sizeof(pw));

	if (rc < 0) {
		fprintf(stderr, "mqttd-passwd: %s password on stdin\n",
		    rc == -E2BIG ? "over-long" : "no");
		return -EINVAL;
	}
	rc = mq_creds_hash_password(hash, sizeof(hash), pw, sha512);
	explicit_bzero(pw, sizeof(pw));
	if (rc < 0)
		return rc;
	if (buf_add(b, name, strlen(name)) < 0 || buf_add(b, ":", 1) < 0
	    || buf_add(b, hash, strlen(hash)) < 0 || buf_add(b, "\n", 1) < 0)
		return -ENOMEM;
	return 0;
}

int
main(int argc, char **argv)
{
	bool        sha512 = true, del = false, found;
	struct buf  b = { 0 };
	const char *path, *name;
	struct stat st;
	unsigned    mode = 0600;
	int         opt, rc;

	while ((opt = getopt(argc, argv, "6yD")) != -1) {
		if (opt == '6')
			sha512 = true;
		else if (opt == 'y')
			sha512 = false;
		else if (opt == 'D')
			del = true;
		else
			usage();
	}
	if (argc - optind != 2)
		usage();
	path = argv[optind];
	name = argv[optind + 1];
	/* The broker trims blanks and skips '#' lines: such names would
	 * never match. */
	if (name[0] == '\0' || name[0] == '#' || strpbrk(name, "\r\n")
	    || strchr(" \t", name[0])
	    || strchr(" \t", name[strlen(name) - 1])) {
		fprintf(stderr, "mqttd-passwd: bad name '%s'\n", name);
		return 2;
	}
	rc = read_others(path, name, &b, &found);
	if (rc == 0 && del && !found) {
		fprintf(stderr, "mqttd-passwd: %s: no entry for '%s'\n", path,
		    name);
		rc = -ENOENT;
	}
	if (rc == 0 && !del)
		rc = add_entry(&b, name, sha512);
	if (rc < 0) {
		free(b.p);
		return rc == -EINVAL ? 2 : 1;
	}
	if (stat(path, &st) == 0)
		mode = st.st_mode & 07777;
	rc = mq_file_replace(path, b.p ? b.p : "", b.n, mode);
	free(b.p);
	return rc < 0 ? 1 : 0;
}
