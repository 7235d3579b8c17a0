/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * api_limits: process limits of mqttd-api, set by the master before it
 * forks (the workers inherit them).
 */
#ifndef API_LIMITS_H
#define API_LIMITS_H

#include <stdint.h>

/*
 * Raises RLIMIT_NOFILE's soft limit to the hard one (each nginx
 * connection and each control-socket command is a descriptor) and logs
 * (api_log) the limit that results.  Returns that limit, or -errno if
 * getrlimit fails; a refused setrlimit is logged and the old limit kept.
 */
int64_t api_limits_raise_nofile(void);

#endif
