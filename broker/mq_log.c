/* SPDX-License-Identifier: BSD-2-Clause */
/* mq_log: one line per event on stderr, with a UTC timestamp. */
#include "config.h"

#include "broker/mq_log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

int mq_log_level = MQ_LOG_INFO;

static const char *const names[] = { "error", "warn", "info", "debug" };

void
mq_log(int level, const char *fmt, ...)
{
	char           line[1024], ts[32];
	struct timeval tv;
	struct tm      tm;
	va_list        ap;

	if (level > mq_log_level)
		return;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s.%03dZ mqttd %s: %s\n", ts,
	    (int) (tv.tv_usec / 1000), names[level], line);
}

int
mq_log_parse_level(const char *s)
{
	for (int i = 0; i < 4; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	if (strcmp(s, "warning") == 0)
		return MQ_LOG_WARN;
	return -EINVAL;
}
