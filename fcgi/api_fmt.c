/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * api_fmt: EMQ 2.3's string formats for durations, times and sizes.
 * The unit steps of api_fmt_memory are powers of 1024, as in EMQ's
 * emq_dashboard (it divides by 1024 and prints two decimals).
 */
#include "config.h"

#include "fcgi/api_fmt.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
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

static void
digits(char *p, int v, int n)
{
	while (n-- > 0) {
		p[n] = (char) ('0' + v % 10);
		v /= 10;
	}
}

/*
 * localtime_r takes glibc's time zone lock on every call, and a page of
 * clients formats twenty timestamps: each thread keeps the broken-down
 * start of the last hour it converted and adds minutes and seconds to it.
 * Zone offsets change on hour boundaries (DST), so within an hour the
 * sum is exact; a sum that crosses midnight goes the slow way.
 */
static bool
tm_from_hour_cache(time_t when, struct tm *tm)
{
	static __thread time_t    hour = -1;
	static __thread struct tm base;
	time_t                    h = when - when % 3600;
	long                      secs;

	if (when < 0)
		return localtime_r(&when, tm) != NULL;
	if (h != hour) {
		if (localtime_r(&h, &base) == NULL)
			return false;
		hour = h;
	}
	secs = base.tm_hour * 3600L + base.tm_min * 60L + base.tm_sec
	    + (long) (when - h);
	if (secs >= 86400)
		return localtime_r(&when, tm) != NULL;
	*tm = base;
	tm->tm_hour = (int) (secs / 3600);
	tm->tm_min = (int) (secs / 60 % 60);
	tm->tm_sec = (int) (secs % 60);
	return true;
}

int
api_fmt_datetime(char *buf, size_t len, time_t when)
{
	struct tm tm;
	int       n;

	if (!tm_from_hour_cache(when, &tm))
		return -EINVAL;
	if (tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 0) {
		n = snprintf(buf, len, "%04d-%02d-%02d %02d:%02d:%02d",
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		    tm.tm_min, tm.tm_sec);
		return fmt_result(n, len);
	}
	if (len < 20) {
		if (len > 0)
			buf[0] = '\0';
		return -ENOSPC;
	}
	/* digits by hand: snprintf is most of the cost here */
	digits(buf, tm.tm_year + 1900, 4);
	buf[4] = '-';
	digits(buf + 5, tm.tm_mon + 1, 2);
	buf[7] = '-';
	digits(buf + 8, tm.tm_mday, 2);
	buf[10] = ' ';
	digits(buf + 11, tm.tm_hour, 2);
	buf[13] = ':';
	digits(buf + 14, tm.tm_min, 2);
	buf[16] = ':';
	digits(buf + 17, tm.tm_sec, 2);
	buf[19] = '\0';
	return 19;
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
