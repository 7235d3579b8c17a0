/*
 * api_prom: renders with open_memstream; one HELP and one TYPE line per
 * family, families never repeated (the parser rejects that).
 */
#include "config.h"

#include "fcgi/api_prom.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

void
api_prom_label(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", f);
		else if (*s == '"')
			fputs("\\\"", f);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

/* "packets/pubrec/missed" -> "packets_pubrec_missed" */
static void
metric_name(FILE *f, const char *s)
{
	for (; *s; s++)
		fputc(*s == '/' ? '_' : *s, f);
}

static void
family(FILE *f, const char *name, const char *suffix, const char *type,
    const char *help)
{
	fputs("# HELP mqttd_", f);
	metric_name(f, name);
	fprintf(f, "%s %s\n# TYPE mqttd_", suffix, help);
	metric_name(f, name);
	fprintf(f, "%s %s\n", suffix, type);
}

static void
sample(FILE *f, const char *name, const char *suffix, const char *node,
    uint64_t v)
{
	fputs("mqttd_", f);
	metric_name(f, name);
	fprintf(f, "%s{node=\"", suffix);
	api_prom_label(f, node);
	fprintf(f, "\"} %" PRIu64 "\n", v);
}

static void
listeners(FILE *f, const struct api_prom_input *in)
{
	fputs("# HELP mqttd_listener_connections Current connections of a "
	      "listener.\n# TYPE mqttd_listener_connections gauge\n",
	    f);
	for (size_t i = 0; i < in->nlisteners; i++) {
		const shm_listener *l = &in->listeners[i];

		fputs("mqttd_listener_connections{node=\"", f);
		api_prom_label(f, in->node);
		fputs("\",protocol=\"", f);
		api_prom_label(f, l->protocol);
		fputs("\",listen=\"", f);
		api_prom_label(f, l->listen);
		fprintf(f, "\"} %" PRIu32 "\n", l->current_clients);
	}
}

int
api_prom_render(const struct api_prom_input *in, char **out, size_t *len)
{
	FILE *f = open_memstream(out, len);

	if (f == NULL)
		return -ENOMEM;
	family(f, "up", "", "gauge", "1 if the broker is running.");
	sample(f, "up", "", in->node, in->up ? 1 : 0);
	if (in->up) {
		family(f, "uptime", "_seconds", "gauge",
		    "Seconds since the broker started.");
		sample(f, "uptime", "_seconds", in->node, in->uptime);
		for (int i = 0; i < SHM_METRIC_COUNT; i++) {
			const char *n = shm_metric_name((enum shm_metric) i);

			family(f, n, "_total", "counter", n);
			sample(f, n, "_total", in->node, in->metrics[i]);
		}
		for (int i = 0; i < SHM_STAT_COUNT; i++) {
			const char *n = shm_stat_name((enum shm_stat) i);

			family(f, n, "", "gauge", n);
			sample(f, n, "", in->node, in->stats[i]);
		}
		listeners(f, in);
	}
	if (fclose(f) != 0) {
		free(*out);
		*out = NULL;
		return -ENOMEM;
	}
	return 0;
}
