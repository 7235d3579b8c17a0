/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests for fcgi/api_prom: the exporter's text format. */
#include "config.h"

#include "fcgi/api_prom.h"
#include "tests/harness/t.h"

T_TEST(down_is_up_zero)
{
	struct api_prom_input in = { .node = "n@h", .up = false };
	char                 *s;
	size_t                n;

	T_EQ(api_prom_render(&in, &s, &n), 0);
	T_STREQ(s,
	    "# HELP mqttd_up 1 if the broker is running.\n"
	    "# TYPE mqttd_up gauge\nmqttd_up{node=\"n@h\"} 0\n");
	free(s);
}

T_TEST(full)
{
	uint64_t              m[SHM_METRIC_COUNT] = { 0 }, st[SHM_STAT_COUNT];
	shm_listener          l = { .protocol = "mqtt:tcp",
		         .listen = "a\"b\\c\nd",
		         .current_clients = 3 };
	struct api_prom_input in = { .node = "n\"1",
		.up = true,
		.uptime = 5,
		.metrics = m,
		.stats = st,
		.listeners = &l,
		.nlisteners = 1 };
	char                 *s;
	size_t                n;

	memset(st, 0, sizeof(st));
	m[SHM_M_MESSAGES_QOS1_RECEIVED] = 10;
	st[SHM_S_CLIENTS_COUNT] = 4;
	T_EQ(api_prom_render(&in, &s, &n), 0);
	T_EQ(strlen(s), n);
	T_ASSERT(strstr(s,
	             "# TYPE mqttd_messages_qos1_received_total "
	             "counter\nmqttd_messages_qos1_received_total{node="
	             "\"n\\\"1\"} 10\n")
	    != NULL);
	T_ASSERT(strstr(s, "mqttd_clients_count{node=\"n\\\"1\"} 4\n"));
	T_ASSERT(strstr(s, "mqttd_uptime_seconds{node=\"n\\\"1\"} 5\n"));
	T_ASSERT(strstr(s, "listen=\"a\\\"b\\\\c\\nd\"} 3\n"));
	free(s);
}

/* A reused buffer (what a worker thread keeps) renders the same bytes,
 * whatever it held before, and whether the node is up or down. */
T_TEST(reused_buffer)
{
	uint64_t              m[SHM_METRIC_COUNT], st[SHM_STAT_COUNT];
	struct api_prom_input in = { .node = "n@h\\",
		.up = true,
		.uptime = 7,
		.metrics = m,
		.stats = st };
	char                 *fresh, *buf = malloc(16);
	size_t                n, cap = 16, len;

	for (int i = 0; i < SHM_METRIC_COUNT; i++)
		m[i] = (uint64_t) i * 1000003u;
	for (int i = 0; i < SHM_STAT_COUNT; i++)
		st[i] = (uint64_t) i;
	T_ASSERT(buf != NULL);
	memset(buf, 'x', cap);
	for (int round = 0; round < 3; round++) {
		in.up = round != 1;
		T_EQ(api_prom_render(&in, &fresh, &n), 0);
		T_EQ(api_prom_render_buf(&in, &buf, &cap, &len), 0);
		T_EQ(len, n);
		T_ASSERT(cap > len);
		T_EQ(memcmp(buf, fresh, n), 0);
		T_EQ(buf[len], '\0');
		free(fresh);
	}
	T_ASSERT(strstr(buf, "mqttd_packets_connect_total{node=\"n@h\\\\\"} ")
	    != NULL);
	free(buf);
}

static const struct t_case cases[] = {
	T_ENTRY(down_is_up_zero),
	T_ENTRY(full),
	T_ENTRY(reused_buffer),
};

T_MAIN(cases)
