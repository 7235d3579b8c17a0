/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mqttd-api-fill: fills a segment through the collector API, the way the
 * broker would, with no sockets: N clients, their sessions and one
 * subscription each, a listener, plugins, metrics and stats.  Then it
 * heartbeats (so readers see a live broker) until SIGTERM/SIGINT, and
 * removes the segment.  For bench/api.sh.
 *
 *   mqttd-api-fill --state-dir DIR [--clients N] [--node NAME]
 *
 * Prints "ready" on stdout once the segment is full.
 */
#include "config.h"

#include "collector/col.h"

#include <arpa/inet.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void) sig;
	stop = 1;
}

static void
fill(col *c, uint32_t n, col_ref lis)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int64_t            now = time(NULL);
	char               id[64], user[32], topic[64];

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (uint32_t i = 0; i < n; i++) {
		struct col_client         cl = { 0 };
		struct col_session_counts sc = { .connected = true,
			.subscriptions = 1,
			.max_inflight = 32 };
		int il = snprintf(id, sizeof(id), "bench-client-%06u", i);
		int tl = snprintf(topic, sizeof(topic), "bench/%u/state", i);
		col_ref s;

		snprintf(user, sizeof(user), "user%u", i % 100);
		sa.sin_port = htons((uint16_t) (10000 + i % 50000));
		cl.client_id = id;
		cl.client_id_len = (size_t) il;
		cl.username = i % 3 ? user : NULL;
		cl.username_len = strlen(user);
		cl.peer = (const struct sockaddr *) &sa;
		cl.clean_sess = i % 2;
		cl.proto_ver = 4;
		cl.keepalive = 60;
		cl.connected_at = now;
		cl.listener = 0;
		col_client_connected(c, &cl);
		s = col_session_created(c, id, (size_t) il, i % 2, now);
		col_session_update(c, s, &sc);
		col_subscribed(c, id, (size_t) il, topic, (size_t) tl, 1);
		if (i < 1000)
			col_route_added(c, topic, (size_t) tl);
	}
	col_listener_clients(c, lis, n);
}

int
main(int argc, char **argv)
{
	static const struct option lo[]
	    = { { "state-dir", 1, NULL, 's' }, { "clients", 1, NULL, 'c' },
		      { "node", 1, NULL, 'n' }, { NULL, 0, NULL, 0 } };
	const char     *dir = NULL, *node = "mqttd@127.0.0.1";
	uint32_t        n = 100000;
	col            *c = NULL;
	col_ref         lis;
	uint64_t        stats[SHM_STAT_COUNT] = { 0 };
	struct col_proc proc = { 64 << 20, 32 << 20, 10, 65536, 200000 };
	int             o;

	while ((o = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (o == 's')
			dir = optarg;
		else if (o == 'c')
			n = (uint32_t) strtoul(optarg, NULL, 10);
		else if (o == 'n')
			node = optarg;
		else
			return 2;
	}
	if (dir == NULL) {
		fprintf(stderr,
		    "usage: mqttd-api-fill --state-dir DIR "
		    "[--clients N] [--node NAME]\n");
		return 2;
	}
	struct col_config cfg = { .state_dir = dir,
		.node = node,
		.version = PACKAGE_VERSION,
		.sysdescr = "mqttd",
		.max_clients = n + 1024,
		.max_sessions = n + 1024,
		.max_subscriptions = n + 1024,
		.max_routes = 4096,
		.string_arena_bytes = 64u << 20 };
	if (col_open(&c, &cfg) != 0)
		return 1;
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	lis = col_listener_add(c, "mqtt:tcp", "127.0.0.1:1883", 4, n + 1024);
	col_plugin_add(c, "mqttd_retainer", PACKAGE_VERSION, "Retainer", true);
	fill(c, n, lis);
	for (int m = 0; m < SHM_METRIC_COUNT; m++)
		col_metric_set(c, (enum shm_metric) m, 1000u + (uint64_t) m);
	stats[SHM_S_CLIENTS_COUNT] = stats[SHM_S_CLIENTS_MAX] = n;
	stats[SHM_S_SESSIONS_COUNT] = stats[SHM_S_SESSIONS_MAX] = n;
	stats[SHM_S_SUBSCRIPTIONS_COUNT] = stats[SHM_S_SUBSCRIPTIONS_MAX] = n;
	col_stats_set(c, stats);
	col_heartbeat(c, &proc);
	printf("ready\n");
	fflush(stdout);
	while (!stop) {
		usleep(200 * 1000);
		col_heartbeat(c, &proc);
	}
	col_close(&c);
	return 0;
}
