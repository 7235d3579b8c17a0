/*
 * api_fmt: EMQ 2.3's string formats for durations, times and sizes.
 * The unit steps of api_fmt_memory are powers of 1024, as in EMQ's
 * emq_dashboard (it divides by 1024 and prints two decimals).
 */
#include "config.h"

#include "fcgi/api_fmt.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

static int
fmt_result(int n, size_t len)
{
	if (n < 0)
		return -EINVAL;
	if ((size_t) n >= len)
		return -ENOSPC;
	return n;
}

int
api_fmt_uptime(char *buf, size_t len, uint64_t seconds)
{
	uint64_t days = seconds / 86400;
	uint64_t hours = seconds / 3600 % 24;
	uint64_t minutes = seconds / 60 % 60;
	uint64_t secs = seconds % 60;
	int      n;

	if (days > 0)
		n = snprintf(buf, len,
		    "%" PRIu64 " days, %" PRIu64 " hours, %" PRIu64
		    " minutes, %" PRIu64 " seconds",
		    days, hours, minutes, secs);
	else
		n = snprintf(buf, len,
		    "%" PRIu64 " hours, %" PRIu64 " minutes, %" PRIu64
		    " seconds",
		    hours, minutes, secs);
	return fmt_result(n, len);
}

int
api_fmt_datetime(char *buf, size_t len, time_t when)
{
	struct tm tm;
	size_t    n;

	if (localtime_r(&when, &tm) == NULL)
		return -EINVAL;
	n = strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
	if (n == 0)
		return -ENOSPC;
	return (int) n;
}

int
api_fmt_memory(char *buf, size_t len, uint64_t bytes)
{
	static const char units[] = "KMGTP";
	double            v = (double) bytes;
	int               u = -1;

	if (bytes < 1024)
		return fmt_result(
		    snprintf(buf, len, "%" PRIu64 "B", bytes), len);
	while (v >= 1024.0 && u < (int) sizeof(units) - 2) {
		v /= 1024.0;
		u++;
	}
	return fmt_result(snprintf(buf, len, "%.2f%c", v, units[u]), len);
}

int
api_fmt_load(char *buf, size_t len, double load)
{
	return fmt_result(snprintf(buf, len, "%.2f", load), len);
}
