/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * api_prom: renders into a growing buffer with memcpy (stdio's
 * per-character locking was most of the cost); one HELP and one TYPE line
 * per family, families never repeated (the parser rejects that).
 */
#include "config.h"

#include "fcgi/api_prom.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct buf {
	char  *p;
	size_t len, cap;
	bool   oom;
};

static void
put(struct buf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char  *np;

		while (cap < b->len + n + 1)
			cap *= 2;
		np = realloc(b->p, cap);
		if (np == NULL) {
			b->oom = true;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void
puts_(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

static void
put_u64(struct buf *b, uint64_t v)
{
	char d[24];
	int  i = sizeof(d);

	do {
		d[--i] = (char) ('0' + v % 10);
		v /= 10;
	} while (v != 0);
	put(b, d + i, sizeof(d) - (size_t) i);
}

static void
put_label(struct buf *b, const char *s)
{
	for (const char *p = s;; p++) {
		size_t run = strcspn(p, "\\\"\n");

		put(b, p, run);
		p += run;
		if (*p == '\0')
			return;
		put(b, *p == '\\' ? "\\\\" : *p == '"' ? "\\\"" : "\\n", 2);
	}
}

void
api_prom_label(FILE *f, const char *s)
{
	struct buf b = { 0 };

	put_label(&b, s);
	put(&b, "", 1);
	if (b.p)
		fputs(b.p, f);
	free(b.p);
}

/* "packets/pubrec/missed" -> "mqttd_packets_pubrec_missed" + suffix */
static void
put_name(struct buf *b, const char *s, const char *suffix)
{
	size_t at;

	puts_(b, "mqttd_");
	at = b->len;
	puts_(b, s);
	if (!b->oom)
		for (char *p = b->p + at; p < b->p + b->len; p++)
			if (*p == '/')
				*p = '_';
	puts_(b, suffix);
}

static void
family(struct buf *b, const char *name, const char *suffix, const char *type,
    const char *help)
{
	puts_(b, "# HELP ");
	put_name(b, name, suffix);
	put(b, " ", 1);
	puts_(b, help);
	puts_(b, "\n# TYPE ");
	put_name(b, name, suffix);
	put(b, " ", 1);
	puts_(b, type);
	put(b, "\n", 1);
}

static void
sample(struct buf *b, const char *name, const char *suffix, const char *node,
    uint64_t v)
{
	put_name(b, name, suffix);
	puts_(b, "{node=\"");
	put_label(b, node);
	puts_(b, "\"} ");
	put_u64(b, v);
	put(b, "\n", 1);
}

/* The durable store: mqttd_store_<figure>, counters for the ones that
 * only grow. */
static void
store(struct buf *b, const struct api_prom_input *in)
{
	char name[64];

	for (int i = 0; in->store != NULL && i < SHM_STORE_FIG_COUNT; i++) {
		const char *f = shm_store_fig_name((enum shm_store_fig) i);
		bool counter = i == SHM_SF_TXNS || i == SHM_SF_BYTES_WRITTEN
		    || i == SHM_SF_CORRUPT || i == SHM_SF_DISK_FULL;

		snprintf(name, sizeof(name), "store/%s", f);
		family(b, name, counter ? "_total" : "",
		    counter ? "counter" : "gauge", name);
		sample(
		    b, name, counter ? "_total" : "", in->node, in->store[i]);
	}
}

static void
listeners(struct buf *b, const struct api_prom_input *in)
{
	family(b, "listener_connections", "", "gauge",
	    "Current connections of a listener.");
	for (size_t i = 0; i < in->nlisteners; i++) {
		const shm_listener *l = &in->listeners[i];

		puts_(b, "mqttd_listener_connections{node=\"");
		put_label(b, in->node);
		puts_(b, "\",protocol=\"");
		put_label(b, l->protocol);
		puts_(b, "\",listen=\"");
		put_label(b, l->listen);
		puts_(b, "\"} ");
		put_u64(b, l->current_clients);
		put(b, "\n", 1);
	}
}

/* Family headers and sample names do not depend on the request: each
 * metric's "# HELP ..\n# TYPE ..\nmqttd_<name>{node=\"" is rendered once
 * per process, so a scrape is ~4 copies and a number per metric (the
 * name mangling and the small puts were most of an 11 us render). */
static struct {
	char  *text; /* the prefixes, back to back */
	size_t off[SHM_METRIC_COUNT + SHM_STAT_COUNT + 1];
	bool   ok;
} pre;
static pthread_once_t pre_once = PTHREAD_ONCE_INIT;

static void
prefix(struct buf *b, const char *name, const char *suffix, const char *type)
{
	family(b, name, suffix, type, name);
	put_name(b, name, suffix);
	puts_(b, "{node=\"");
}

static void
pre_build(void)
{
	struct buf b = { 0 };
	int        k = 0;

	for (int i = 0; i < SHM_METRIC_COUNT; i++, k++) {
		pre.off[k] = b.len;
		prefix(&b, shm_metric_name((enum shm_metric) i), "_total",
		    "counter");
	}
	for (int i = 0; i < SHM_STAT_COUNT; i++, k++) {
		pre.off[k] = b.len;
		prefix(&b, shm_stat_name((enum shm_stat) i), "", "gauge");
	}
	pre.off[k] = b.len;
	if (b.oom) {
		free(b.p);
		return;
	}
	pre.text = b.p;
	pre.ok = true;
}

/* The metrics and stats samples, from the prebuilt prefixes when there
 * are (else as family() and sample() would write them: same bytes). */
static void
counters(struct buf *b, const struct api_prom_input *in)
{
	struct buf node = { 0 };
	int        k = 0;

	pthread_once(&pre_once, pre_build);
	if (!pre.ok) {
		for (int i = 0; i < SHM_METRIC_COUNT; i++) {
			const char *n = shm_metric_name((enum shm_metric) i);

			family(b, n, "_total", "counter", n);
			sample(b, n, "_total", in->node, in->metrics[i]);
		}
		for (int i = 0; i < SHM_STAT_COUNT; i++) {
			const char *n = shm_stat_name((enum shm_stat) i);

			family(b, n, "", "gauge", n);
			sample(b, n, "", in->node, in->stats[i]);
		}
		return;
	}
	put_label(&node, in->node);
	put(&node, "\"} ", 3);
	if (node.oom) {
		b->oom = true;
		free(node.p);
		return;
	}
	for (; k < SHM_METRIC_COUNT + SHM_STAT_COUNT; k++) {
		put(b, pre.text + pre.off[k], pre.off[k + 1] - pre.off[k]);
		put(b, node.p, node.len);
		put_u64(b,
		    k < SHM_METRIC_COUNT ? in->metrics[k]
		                         : in->stats[k - SHM_METRIC_COUNT]);
		put(b, "\n", 1);
	}
	free(node.p);
}

int
api_prom_render_buf(
    const struct api_prom_input *in, char **buf, size_t *cap, size_t *len)
{
	struct buf b = { .p = *buf, .cap = *buf ? *cap : 0 };

	family(&b, "up", "", "gauge", "1 if the broker is running.");
	sample(&b, "up", "", in->node, in->up ? 1 : 0);
	if (in->up) {
		family(&b, "uptime", "_seconds", "gauge",
		    "Seconds since the broker started.");
		sample(&b, "uptime", "_seconds", in->node, in->uptime);
		counters(&b, in);
		store(&b, in);
		listeners(&b, in);
	}
	put(&b, "", 1); /* the NUL, not counted in len */
	*buf = b.p;
	*cap = b.cap;
	if (b.oom)
		return -ENOMEM;
	*len = b.len - 1;
	return 0;
}

int
api_prom_render(const struct api_prom_input *in, char **out, size_t *len)
{
	char  *p = NULL;
	size_t cap = 0;
	int    rc = api_prom_render_buf(in, &p, &cap, len);

	if (rc != 0) {
		free(p);
		return rc;
	}
	*out = p;
	return 0;
}
