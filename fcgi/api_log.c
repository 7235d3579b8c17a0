/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * api_log: one write(2) per line, so lines of concurrent threads and
 * worker processes sharing stderr never interleave within a line.
 */
#include "config.h"

#include "fcgi/api_log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

int api_log_level = API_LOG_INFO;

static const char *const names[] = { "error", "warn", "info", "debug" };

void
api_log(int level, const char *fmt, ...)
{
	char           line[1200], ts[32];
	struct timeval tv;
	struct tm      tm;
	va_list        ap;
	int            n, e = errno; /* callers log errno after this */

	if (level > api_log_level || level < 0)
		return;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(line, sizeof(line), "%s.%03dZ mqttd-api[%d] %s: ", ts,
	    (int) (tv.tv_usec / 1000), (int) getpid(), names[level]);
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - (size_t) n - 1, fmt, ap);
	va_end(ap);
	if (n > (int) sizeof(line) - 2)
		n = (int) sizeof(line) - 2;
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, (size_t) n) < 0) {
		/* nowhere left to say it */
	}
	errno = e;
}

int
api_log_parse_level(const char *s)
{
	for (int i = 0; i < 4; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	if (strcmp(s, "warning") == 0)
		return API_LOG_WARN;
	return -EINVAL;
}
