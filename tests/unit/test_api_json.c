/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests for fcgi/api_json: EMQ's shapes, key order, escaping. */
#include "config.h"

#include "fcgi/api_json.h"
#include "tests/harness/t.h"

#include <json-c/json.h>

static struct api_jw w;
static char         *buf;
static size_t        cap;

/* RENDER(call): the text api_json's call writes as a whole document. */
#define RENDER(call) (api_jw_init(&w, buf, cap), (call), text())

static const char *
text(void)
{
	size_t len;

	T_EQ(api_jw_finish(&w, &buf, &cap, &len), 0);
	return buf;
}

T_TEST(client_escaped)
{
	static const char id[] = "a\"b\\c\n\x01/\xe4\xb8\xad";
	shm_client        c = {
		       .client_id = { id, sizeof(id) - 1 },
		       .ipaddress = "127.0.0.1",
		       .port = 50953,
		       .clean_sess = true,
		       .proto_ver = 4,
		       .keepalive = 60,
		       .connected_at = 0,
	};

	setenv("TZ", "UTC", 1);
	tzset();
	T_STREQ(RENDER(api_json_client(&w, &c, NULL)),
	    "{\"client_id\":\"a\\\"b\\\\c\\n\\u0001/\xe4\xb8\xad\","
	    "\"username\":\"undefined\",\"ipaddress\":\"127.0.0.1\","
	    "\"port\":50953,\"clean_sess\":true,\"proto_ver\":4,"
	    "\"keepalive\":60,\"connected_at\":\"1970-01-01 00:00:00\"}");
	c.has_username = true;
	c.username = (shm_str) { "", 0 };
	T_ASSERT(
	    strstr(RENDER(api_json_client(&w, &c, NULL)), "\"username\":\"\"")
	    != NULL);
	T_ASSERT(strstr(RENDER(api_json_client(&w, &c, "mqtt:wss")),
	             "\"connected_at\":\"1970-01-01 00:00:00\","
	             "\"protocol\":\"mqtt:wss\"}")
	    != NULL);
}

T_TEST(session_both_key_sets)
{
	shm_session s = { .client_id = { "c", 1 },
		.max_inflight = 32,
		.inflight_len = 1,
		.mqueue_len = 2,
		.mqueue_dropped = 3,
		.awaiting_rel_len = 4,
		.awaiting_ack = 5,
		.awaiting_comp = 6,
		.subscriptions = 7,
		.deliver_msg = 8,
		.enqueue_msg = 9 };

	setenv("TZ", "UTC", 1);
	tzset();
	T_STREQ(RENDER(api_json_session(&w, &s)),
	    "{\"client_id\":\"c\",\"clean_sess\":false,\"max_inflight\":32,"
	    "\"inflight_queue\":1,\"message_queue\":2,\"message_dropped\":3,"
	    "\"awaiting_rel\":4,\"awaiting_ack\":5,\"awaiting_comp\":6,"
	    "\"created_at\":\"1970-01-01 00:00:00\",\"subscriptions\":7,"
	    "\"inflight_len\":1,\"mqueue_len\":2,\"mqueue_dropped\":3,"
	    "\"awaiting_rel_len\":4,\"deliver_msg\":8,\"enqueue_msg\":9}");
}

T_TEST(listener_shutdown_count)
{
	shm_listener l = { .protocol = "mqtt:tcp",
		.listen = "127.0.0.1:1883",
		.acceptors = 1,
		.max_clients = 100,
		.current_clients = 2 };

	T_STREQ(RENDER(api_json_listener(&w, &l)),
	    "{\"protocol\":\"mqtt:tcp\",\"listen\":\"127.0.0.1:1883\","
	    "\"acceptors\":1,\"max_clients\":100,\"current_clients\":2,"
	    "\"shutdown_count\":[]}");
	l.shutdown[SHM_SHUT_CLOSED] = 3;
	l.shutdown[SHM_SHUT_KICKED] = 1;
	T_ASSERT(strstr(RENDER(api_json_listener(&w, &l)),
	             "\"shutdown_count\":{\"closed\":3,\"kicked\":1}")
	    != NULL);
}

T_TEST(metrics_doc_order)
{
	uint64_t     m[SHM_METRIC_COUNT] = { 0 };
	json_object *o;
	int          n = 0;

	m[SHM_M_MESSAGES_QOS1_RECEIVED] = 10;
	o = json_tokener_parse(RENDER(api_json_metrics(&w, m)));
	T_ASSERT(o != NULL);
	json_object_object_foreach(o, k, v)
	{
		if (n == 0)
			T_STREQ(k, "packets/disconnect");
		if (strcmp(k, "messages/qos1/received") == 0)
			T_EQ(json_object_get_int(v), 10);
		n++;
	}
	T_EQ(n, 38);
	json_object_put(o);
}

T_TEST(page_arithmetic)
{
	static const struct {
		uint64_t total, size, pages;
	} rows[] = { { 0, 20, 0 }, { 1, 20, 1 }, { 20, 20, 1 }, { 21, 20, 2 },
		{ 45, 20, 3 }, { 45, 1, 45 } };

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct api_page p = { 2, rows[i].size };
		json_object    *o = json_tokener_parse(
		       RENDER((api_json_page_begin(&w, &p, rows[i].total),
                        api_json_page_end(&w))));
		json_object *tp = json_object_object_get(o, "total_page");

		T_EQ(json_object_get_int64(tp), rows[i].pages);
		T_EQ(json_object_array_length(
		         json_object_object_get(o, "objects")),
		    0);
		json_object_put(o);
	}
}

T_TEST(envelope)
{
	struct api_err e = { 108, "curr_page must be an integer" };

	T_STREQ(RENDER((api_json_ok_begin(&w), api_jw_array(&w),
	            api_jw_array_end(&w), api_json_ok_end(&w))),
	    "{\"code\":0,\"result\":[]}");
	T_STREQ(RENDER(api_json_err(&w, &e)),
	    "{\"code\":108,\"message\":\"curr_page must be an integer\"}");
}

T_TEST(node_stopped)
{
	struct api_node_view v = { .name = "n@h", .node = NULL, .now = 0 };

	T_ASSERT(strstr(RENDER(api_json_mgmt_node(&w, &v, true)),
	             "\"node_status\":\"Stopped\"")
	    != NULL);
	T_ASSERT(strstr(RENDER(api_json_mon_node(&w, &v)), "\"name\":\"n@h\"")
	    != NULL);
}

static const struct t_case cases[] = {
	T_ENTRY(client_escaped),
	T_ENTRY(session_both_key_sets),
	T_ENTRY(listener_shutdown_count),
	T_ENTRY(metrics_doc_order),
	T_ENTRY(page_arithmetic),
	T_ENTRY(envelope),
	T_ENTRY(node_stopped),
};

T_MAIN(cases)
