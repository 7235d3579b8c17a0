/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * api_log: the one logger of mqttd-api (master and workers): leveled
 * lines on stderr, "2026-01-01T00:00:00.000Z mqttd-api[PID] error: ...",
 * the broker's mq_log format with the pid, since several workers write
 * to the same stream.  systemd's journal and ./dev run's log file take
 * stderr as it is.  --log-level (error, warn, info, debug) sets the
 * threshold; the default is info.
 */
#ifndef API_LOG_H
#define API_LOG_H

enum { API_LOG_ERROR, API_LOG_WARN, API_LOG_INFO, API_LOG_DEBUG };

extern int api_log_level;

void api_log(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The level named s, or -EINVAL. */
int api_log_parse_level(const char *s);

#define api_err(...)  api_log(API_LOG_ERROR, __VA_ARGS__)
#define api_warn(...) api_log(API_LOG_WARN, __VA_ARGS__)
#define api_info(...)                                                         \
	do {                                                                  \
		if (api_log_level >= API_LOG_INFO)                            \
			api_log(API_LOG_INFO, __VA_ARGS__);                   \
	} while (0)
#define api_debug(...)                                                        \
	do {                                                                  \
		if (api_log_level >= API_LOG_DEBUG)                           \
			api_log(API_LOG_DEBUG, __VA_ARGS__);                  \
	} while (0)

#endif
