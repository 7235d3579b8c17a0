/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * api_limits: the open-files limit of mqttd-api (see api_limits.h).
 */
#include "config.h"

#include "fcgi/api_limits.h"

#include "fcgi/api_log.h"

#include <errno.h>
#include <string.h>
#include <sys/resource.h>

int64_t
api_limits_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return -errno;
	if (rl.rlim_cur < rl.rlim_max) {
		struct rlimit want = { rl.rlim_max, rl.rlim_max };

		if (setrlimit(RLIMIT_NOFILE, &want) == 0)
			rl = want;
		else
			api_warn("setrlimit(NOFILE, %llu): %s; keeping %llu",
			    (unsigned long long) rl.rlim_max, strerror(errno),
			    (unsigned long long) rl.rlim_cur);
	}
	api_info("open files: limit %llu per process (hard %llu)",
	    (unsigned long long) rl.rlim_cur,
	    (unsigned long long) rl.rlim_max);
	return rl.rlim_cur > INT64_MAX ? INT64_MAX : (int64_t) rl.rlim_cur;
}
