/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * api_fmt: the value formats of EMQ 2.3's /api/v2, as strings.
 *
 * EMQ renders durations, timestamps and memory sizes as human strings
 * ("1 hours, 17 minutes, 1 seconds", "2017-04-14 14:11:38", "69.19M");
 * scripts parse them, so the shapes are kept exactly.  Every function
 * writes a NUL-terminated string into buf and returns its length, or
 * -ENOSPC when buf is too small (buf then holds a truncated string).
 */
#ifndef API_FMT_H
#define API_FMT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* "H hours, M minutes, S seconds", with "D days, " in front past a day. */
int api_fmt_uptime(char *buf, size_t len, uint64_t seconds);

/* "YYYY-MM-DD HH:MM:SS" in the server's local time zone. */
int api_fmt_datetime(char *buf, size_t len, time_t when);

/* Bytes as EMQ shows memory: "512B", "1.50K", "69.19M", "2.00G". */
int api_fmt_memory(char *buf, size_t len, uint64_t bytes);

/* A load average as "1.93". */
int api_fmt_load(char *buf, size_t len, double load);

#endif
