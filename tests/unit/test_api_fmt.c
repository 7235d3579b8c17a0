/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests for fcgi/api_fmt: EMQ's string formats, table-driven. */
#include "config.h"

#include "fcgi/api_fmt.h"
#include "tests/harness/t.h"

#include <errno.h>

T_TEST(uptime_table)
{
	static const struct {
		uint64_t    secs;
		const char *want;
	} rows[] = {
		{ 0, "0 hours, 0 minutes, 0 seconds" },
		{ 59, "0 hours, 0 minutes, 59 seconds" },
		{ 4621, "1 hours, 17 minutes, 1 seconds" },
		{ 86399, "23 hours, 59 minutes, 59 seconds" },
		{ 86400, "1 days, 0 hours, 0 minutes, 0 seconds" },
		{ 3 * 86400 + 3661, "3 days, 1 hours, 1 minutes, 1 seconds" },
	};
	char buf[64];

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		T_ASSERT(api_fmt_uptime(buf, sizeof(buf), rows[i].secs) > 0);
		T_STREQ(buf, rows[i].want);
	}
}

T_TEST(uptime_too_small)
{
	char buf[8];

	T_EQ(api_fmt_uptime(buf, sizeof(buf), 4621), -ENOSPC);
}

T_TEST(datetime_utc)
{
	char buf[32];

	setenv("TZ", "UTC", 1);
	tzset();
	T_EQ(api_fmt_datetime(buf, sizeof(buf), 1492179098), 19);
	T_STREQ(buf, "2017-04-14 14:11:38");
}

/* The per-hour cache agrees with localtime_r + strftime everywhere,
 * DST transitions and half-hour zones included. */
static void
datetime_agrees(const char *tz)
{
	char   got[32], want[32];
	time_t t0 = 1700000000;

	setenv("TZ", tz, 1);
	tzset();
	for (time_t t = t0; t < t0 + 366 * 86400; t += 977) {
		struct tm tm;

		localtime_r(&t, &tm);
		strftime(want, sizeof(want), "%Y-%m-%d %H:%M:%S", &tm);
		T_EQ(api_fmt_datetime(got, sizeof(got), t), 19);
		if (strcmp(got, want) != 0)
			T_FAIL_AT("%s at %lld: %s != %s", tz, (long long) t,
			    got, want);
	}
}

T_TEST(datetime_berlin)
{
	datetime_agrees("Europe/Berlin");
}

T_TEST(datetime_kolkata)
{
	datetime_agrees("Asia/Kolkata");
}

T_TEST(datetime_too_small)
{
	char buf[19];

	T_EQ(api_fmt_datetime(buf, sizeof(buf), 0), -ENOSPC);
}

T_TEST(memory_table)
{
	static const struct {
		uint64_t    bytes;
		const char *want;
	} rows[] = {
		{ 0, "0B" },
		{ 1023, "1023B" },
		{ 1024, "1.00K" },
		{ 1536, "1.50K" },
		{ 72551874, "69.19M" },
		{ 2147483648ULL, "2.00G" },
	};
	char buf[32];

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		T_ASSERT(api_fmt_memory(buf, sizeof(buf), rows[i].bytes) > 0);
		T_STREQ(buf, rows[i].want);
	}
}

T_TEST(load)
{
	char buf[16];

	T_EQ(api_fmt_load(buf, sizeof(buf), 1.934), 4);
	T_STREQ(buf, "1.93");
}

static const struct t_case cases[] = {
	T_ENTRY(uptime_table),
	T_ENTRY(uptime_too_small),
	T_ENTRY(datetime_utc),
	T_ENTRY(datetime_berlin),
	T_ENTRY(datetime_kolkata),
	T_ENTRY(datetime_too_small),
	T_ENTRY(memory_table),
	T_ENTRY(load),
};

T_MAIN(cases)
