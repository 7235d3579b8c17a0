/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * shm_locate: where a state directory's segment is.
 *
 * The name of the segment is drawn at random on every broker start and
 * recorded in STATE_DIR/segment, a file only the broker's user can write.
 * A name derived from the state directory (as it once was) is known in
 * advance, so any local user could create that object in /dev/shm first
 * and keep the broker from starting; a random name cannot be squatted,
 * and a reader trusts the record only if its owner is the reader's own
 * user (or root) and nobody else may write it.  See docs/architecture.md,
 * "Attach and trust".
 */
#include "config.h"

#include "shm/shm_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#define NAME_PREFIX "/mqttd."
#define NAME_HEX    32 /* 128 random bits */
#define NAME_LEN    (sizeof(NAME_PREFIX) - 1 + NAME_HEX)

static int
record_path(char *buf, size_t len, const char *state_dir, const char *leaf)
{
	int n;

	if (state_dir == NULL)
		return -EINVAL;
	n = snprintf(buf, len, "%s/%s", state_dir, leaf);
	if (n < 0 || (size_t) n >= len)
		return -ENAMETOOLONG;
	return 0;
}

int
shm_name_random(char *buf, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char     rnd[NAME_HEX / 2];
	size_t            got = 0;

	if (len < NAME_LEN + 1)
		return -ENAMETOOLONG;
	while (got < sizeof(rnd)) {
		ssize_t n = getrandom(rnd + got, sizeof(rnd) - got, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		got += (size_t) n;
	}
	memcpy(buf, NAME_PREFIX, sizeof(NAME_PREFIX) - 1);
	for (size_t i = 0; i < sizeof(rnd); i++) {
		buf[sizeof(NAME_PREFIX) - 1 + 2 * i] = hex[rnd[i] >> 4];
		buf[sizeof(NAME_PREFIX) - 1 + 2 * i + 1] = hex[rnd[i] & 15];
	}
	buf[NAME_LEN] = '\0';
	return 0;
}

/* Exactly "/mqttd." and 32 lower-case hex digits. */
static bool
name_valid(const char *s, size_t n)
{
	if (n != NAME_LEN || memcmp(s, NAME_PREFIX, sizeof(NAME_PREFIX) - 1))
		return false;
	for (size_t i = sizeof(NAME_PREFIX) - 1; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9')
		        || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

int
shm_name_lookup(const char *state_dir, char *buf, size_t len)
{
	char        path[4096], text[NAME_LEN + 2];
	struct stat st;
	ssize_t     n;
	int         fd, rc;

	rc = record_path(path, sizeof(path), state_dir, SHM_RECORD_FILE);
	if (rc < 0)
		return rc;
	if (len < NAME_LEN + 1)
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return errno == ELOOP ? -EPERM : -errno;
	/* The same trust rule as the segment itself: only our user (or
	 * root) may have written what we are about to map. */
	rc = shm__fd_trusted(fd, &st);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	n = read(fd, text, sizeof(text));
	rc = n < 0 ? -errno : 0;
	close(fd);
	if (rc < 0)
		return rc;
	if (n > 0 && text[n - 1] == '\n')
		n--;
	if (!name_valid(text, (size_t) n))
		return -EBADMSG;
	memcpy(buf, text, (size_t) n);
	buf[n] = '\0';
	return 0;
}

int
shm_name_record(const char *state_dir, const char *name)
{
	char path[4096], tmp[4096], line[NAME_LEN + 2];
	int  fd, rc;

	if (name == NULL || !name_valid(name, strlen(name)))
		return -EINVAL;
	rc = record_path(path, sizeof(path), state_dir, SHM_RECORD_FILE);
	if (rc == 0)
		rc = record_path(
		    tmp, sizeof(tmp), state_dir, SHM_RECORD_FILE ".tmp");
	if (rc < 0)
		return rc;
	snprintf(line, sizeof(line), "%s\n", name);
	(void) unlink(tmp);
	fd = open(
	    tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
	if (fd < 0)
		return -errno;
	/* fchmod: the umask must not make it group-writable or hide it
	 * from the group (the workers' nginx group reads nothing here, but
	 * mqttdctl run by an operator of the group does). */
	if (fchmod(fd, 0640) < 0
	    || write(fd, line, NAME_LEN + 1) != (ssize_t) (NAME_LEN + 1)) {
		rc = errno ? -errno : -EIO;
		close(fd);
		unlink(tmp);
		return rc;
	}
	if (close(fd) < 0 || rename(tmp, path) < 0) {
		rc = -errno;
		unlink(tmp);
		return rc;
	}
	return 0;
}

int
shm_name_forget(const char *state_dir, const char *name)
{
	char cur[NAME_LEN + 1], path[4096];
	int  rc = record_path(path, sizeof(path), state_dir, SHM_RECORD_FILE);

	if (rc < 0)
		return rc;
	/* Only our own record: a newer broker may have replaced it. */
	rc = shm_name_lookup(state_dir, cur, sizeof(cur));
	if (rc < 0)
		return rc;
	if (strcmp(cur, name) != 0)
		return 0;
	return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
}
