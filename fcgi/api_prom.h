/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * api_prom: the Prometheus exporter's text (format 0.0.4): the 38 metrics
 * as counters (mqttd_<name>_total, '/' -> '_'), the 14 stats as gauges,
 * one connection gauge per listener, mqttd_up and mqttd_uptime_seconds,
 * every sample labelled with the node.  Label values are escaped
 * (backslash, double quote, newline) as the format requires.
 */
#ifndef API_PROM_H
#define API_PROM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "shm/shm.h"

struct api_prom_input {
	const char         *node;
	bool                up; /* false: only mqttd_up 0 is rendered */
	uint64_t            uptime;
	const uint64_t     *metrics; /* SHM_METRIC_COUNT */
	const uint64_t     *stats;   /* SHM_STAT_COUNT */
	const uint64_t     *store;   /* SHM_STORE_FIG_COUNT, or NULL */
	const shm_listener *listeners;
	size_t              nlisteners;
};

/* Renders into a new malloc'd buffer *out of *len bytes.  0 or -ENOMEM. */
int api_prom_render(const struct api_prom_input *in, char **out, size_t *len);

/* The same into *buf (of *cap bytes; NULL/0 allowed), reused and grown
 * with realloc so that a thread can keep one buffer across scrapes (an
 * 8-16 KB malloc per request makes glibc consolidate its fast bins).
 * 0 (*buf, *cap, *len set; NUL-terminated) or -ENOMEM (*buf still the
 * caller's to free). */
int api_prom_render_buf(
    const struct api_prom_input *in, char **buf, size_t *cap, size_t *len);

/* Writes s as an escaped label value into f. */
void api_prom_label(FILE *f, const char *s);

#endif
