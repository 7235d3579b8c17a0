/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target for broker/mq_plugins: arbitrary ACL, auth and state
 * files, then ACL decisions on an arbitrary topic / filter, username and
 * client id.  Input: FILE \0\0 TOPIC \0\0 USERNAME \0\0 CLIENTID, where the
 * first byte of FILE picks which file it is.  Password checks are left
 * out: crypt_r is slow on purpose and not ours to fuzz.  Logging is off
 * (mq_log_level below errors) so that the parser's log lines do not flood
 * the run.
 */
#include "config.h"

#include "broker/mq_log.h"
#include "broker/mq_plugins.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The next \0\0-terminated piece of [*p, end). */
static void
piece(const uint8_t **p, const uint8_t *end, const char **s, size_t *n)
{
	const uint8_t *q = *p;

	while (q + 1 < end && !(q[0] == 0 && q[1] == 0))
		q++;
	if (q + 1 >= end)
		q = end;
	*s = (const char *) *p;
	*n = (size_t) (q - *p);
	*p = q + 1 < end ? q + 2 : end;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t           *p = data, *end = data + size;
	const char              *file, *topic, *user, *cid;
	size_t                   fn, tn, un, cn;
	char                     path[64];
	struct mq_plugins_config cfg = { 0 };
	mq_plugins              *pl = NULL;
	int                      fd, which;

	mq_log_level = MQ_LOG_ERROR - 1;
	if (size < 1)
		return 0;
	which = data[0] % 3;
	p++;
	piece(&p, end, &file, &fn);
	piece(&p, end, &topic, &tn);
	piece(&p, end, &user, &un);
	piece(&p, end, &cid, &cn);

	fd = memfd_create("fuzz", 0);
	if (fd < 0)
		return 0;
	if (write(fd, file, fn) != (ssize_t) fn) {
		close(fd);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (which == 0)
		cfg.acl_file = path;
	else if (which == 1)
		cfg.username_file = path;
	else
		cfg.state_path = path; /* read only: nothing is switched */
	cfg.allow_anonymous = true;
	if (mq_plugins_new(&pl, &cfg) == 0) {
		if (which == 0) {
			/* switching persists nothing: state_path is NULL */
			mq_plugins_set_active(pl, MQ_PLUGIN_ACL_FILE, true);
			for (int a = 0; a < 2; a++) {
				mq_plugins_acl_check(pl, cid, cn, user, un,
				    topic, tn, (enum mq_acl_access) a);
				mq_plugins_acl_check(pl, cid, cn, NULL, 0,
				    topic, tn, (enum mq_acl_access) a);
			}
		}
		for (int i = 0; i < MQ_PLUGIN_COUNT; i++)
			(void) mq_plugins_active(pl, (enum mq_plugin_id) i);
		mq_plugins_reload(pl);
		mq_plugins_free(&pl);
	}
	close(fd);
	return 0;
}
