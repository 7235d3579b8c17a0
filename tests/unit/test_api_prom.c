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

static const struct t_case cases[] = {
	T_ENTRY(down_is_up_zero),
	T_ENTRY(full),
};

T_MAIN(cases)
