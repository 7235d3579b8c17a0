/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_shm_reader: arbitrary bytes as a segment image.  The input is laid
 * over a valid small segment (so the fuzzer gets past the magic and the
 * layout checks quickly) at an offset taken from its first bytes, or used
 * whole when it is long enough; every read must end in data or an error,
 * never a crash or a hang.
 */
#include "config.h"

#include "collector/col.h"
#include "shm/shm_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static unsigned char *base_img;
static size_t         base_len;

static int
cb(const void *x, void *arg)
{
	(void) x;
	(void) arg;
	return 0;
}

/* A real segment with a few records of each kind, copied once. */
static void
make_base(void)
{
	struct col_config cfg
	    = { .max_clients = 8, .string_arena_bytes = 8192 };
	char        name[64], big[300];
	shm_reader *r;
	col        *c;

	snprintf(name, sizeof(name), "/mqttd-fuzz.%d", (int) getpid());
	cfg.shm_name = name;
	if (col_open(&c, &cfg) != 0)
		abort();
	memset(big, 'q', sizeof(big));
	struct col_client cl = { .client_id = "alice",
		.client_id_len = 5,
		.username = "u",
		.username_len = 1 };
	col_client_connected(c, &cl);
	col_session_created(c, "alice", 5, true, 1);
	col_subscribed(c, "alice", 5, "a/b", 3, 1);
	col_subscribed(c, "alice", 5, big, sizeof(big), 2);
	col_route_added(c, "a/b", 3);
	col_listener_add(c, "mqtt:tcp", "0.0.0.0:1883", 1, 1);
	col_plugin_add(c, "p", "1", "d", true);
	if (shm_reader_open(&r, name) != 0)
		abort();
	base_len = r->size;
	if (posix_memalign((void **) &base_img, 4096, base_len))
		abort();
	memcpy(base_img, r->base, base_len);
	shm_reader_close(&r);
	col_close(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static unsigned char *img;
	shm_reader           *r;
	uint64_t              v[SHM_METRIC_COUNT];
	shm_node              n;

	if (base_img == NULL) {
		make_base();
		if (posix_memalign((void **) &img, 4096, base_len))
			abort();
	}
	memcpy(img, base_img, base_len);
	if (size >= 4) {
		/* Offset into the first 64 KiB (header, small tables and the
		 * first records and indices), then the bytes. */
		size_t at
		    = ((size_t) data[0] | (size_t) data[1] << 8) % base_len;
		size_t n2
		    = size - 2 < base_len - at ? size - 2 : base_len - at;

		memcpy(img + at, data + 2, n2);
	}
	if (shm__reader_from_buffer(&r, img, base_len) != 0)
		return 0;
	shm_node_get(r, &n);
	shm_metrics_get(r, v);
	shm_stats_get(r, v);
	shm_clients_total(r);
	shm_clients_page(r, 0, 50, (shm_client_cb) cb, NULL);
	shm_sessions_page(r, 0, 50, (shm_session_cb) cb, NULL);
	shm_subscriptions_page(r, 0, 50, (shm_subscription_cb) cb, NULL);
	shm_routes_page(r, 0, 50, (shm_route_cb) cb, NULL);
	shm_client_get(r, "alice", 5, (shm_client_cb) cb, NULL);
	shm_session_get(r, "alice", 5, (shm_session_cb) cb, NULL);
	shm_subscriptions_of(r, "alice", 5, (shm_subscription_cb) cb, NULL);
	shm_routes_of(r, "a/b", 3, (shm_route_cb) cb, NULL);
	shm_listeners_each(r, (shm_listener_cb) cb, NULL);
	shm_plugins_each(r, (shm_plugin_cb) cb, NULL);
	shm_reader_close(&r);
	return 0;
}
