/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for broker/mq_config: listener specs, defaults, flags over
 * the file, bare boolean flags, and the clamps that keep the broker's
 * 16-bit windows and MQTT's packet limit honest.
 */
#include "config.h"

#include "broker/mq_config.h"
#include "tests/harness/t.h"

#include <errno.h>

T_TEST(listen_specs)
{
	static const struct {
		const char *spec, *addr;
		int         rc;
		unsigned    port, max;
	} r[] = {
		{ "1883", "127.0.0.1", 0, 1883, 0 },
		{ "0", "127.0.0.1", 0, 0, 0 },
		{ "0.0.0.0:1884", "0.0.0.0", 0, 1884, 0 },
		{ "[::1]:1885", "::1", 0, 1885, 0 },
		{ "127.0.0.1:0,max_clients=5", "127.0.0.1", 0, 0, 5 },
		{ "70000", "", -EINVAL, 0, 0 },
		{ "x", "", -EINVAL, 0, 0 },
		{ "1:2,foo=1", "", -EINVAL, 0, 0 },
		{ "1883junk", "", -EINVAL, 0, 0 },
	};

	for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++) {
		struct mq_listen l = { .max_clients = 0 };
		int              rc = mq_config_parse_listen(&l, r[i].spec);

		if (rc != r[i].rc)
			T_FAIL_AT("'%s': rc %d", r[i].spec, rc);
		if (rc != 0)
			continue;
		T_STREQ(l.addr, r[i].addr);
		T_EQ(l.port, r[i].port);
		T_EQ(l.max_clients, r[i].max);
	}
}

T_TEST(defaults)
{
	char     *argv[] = { (char *) "mqttd", NULL };
	mq_config c;

	T_EQ(mq_config_load(&c, 1, argv), 0);
	T_STREQ(c.state_dir, "./run");
	T_STREQ(c.node, "mqttd@127.0.0.1");
	T_EQ(c.nlisten, 1);
	T_EQ(c.listen[0].port, 1883);
	T_EQ(c.listen[0].max_clients, c.max_clients);
	T_EQ(c.max_inflight, 32);
	T_EQ(c.ready_fd, -1);
	T_ASSERT(c.allow_anonymous && !c.no_segment);
	mq_config_fini(&c);
}

T_TEST(flags_over_file)
{
	char      path[] = "/tmp/test_mq_config.XXXXXX";
	int       fd = mkstemp(path);
	FILE     *f = fdopen(fd, "w");
	char     *argv[] = { (char *) "mqttd", (char *) "--max-queue",
		    (char *) "9", (char *) "-c", path, (char *) "--no-segment",
		    (char *) "--listen", (char *) "127.0.0.1:0",
		    (char *) "--node=n1", NULL };
	mq_config c;

	T_ASSERT(f != NULL);
	fprintf(f,
	    "# c\nmax_queue = 3\nmax_inflight=7\nlisten = 1.2.3.4:5\n"
	    "max_awaiting_rel = 100000\nmax_packet_size = 4000000000\n");
	fclose(f);
	T_EQ(mq_config_load(&c, 9, argv), 0);
	unlink(path);
	T_EQ(c.max_queue, 9);    /* the flag wins */
	T_EQ(c.max_inflight, 7); /* from the file */
	T_ASSERT(c.no_segment);  /* bare boolean flag */
	T_STREQ(c.node, "n1");
	T_EQ(c.nlisten, 1); /* flags replace the file's listeners */
	T_STREQ(c.listen[0].addr, "127.0.0.1");
	T_EQ(c.max_awaiting_rel, 65535);
	T_EQ(c.max_packet_size, 268435460);
	mq_config_fini(&c);
}

T_TEST(bad_input)
{
	char     *a1[] = { (char *) "mqttd", (char *) "--nope", NULL };
	char     *a2[] = { (char *) "mqttd", (char *) "--max-queue", NULL };
	char     *a3[] = { (char *) "mqttd", (char *) "--log-level",
		    (char *) "loud", NULL };
	mq_config c;

	T_EQ(mq_config_load(&c, 2, a1), -EINVAL);
	mq_config_fini(&c);
	T_EQ(mq_config_load(&c, 2, a2), -EINVAL);
	mq_config_fini(&c);
	T_EQ(mq_config_load(&c, 3, a3), -EINVAL);
	mq_config_fini(&c);
}

T_TEST(listener_kinds)
{
	struct mq_listen l = { .max_clients = 0 };
	char            *argv[] = { (char *) "mqttd", (char *) "--listener",
		           (char *) "wss://0.0.0.0:8084,path=/ws,require_certificate=1",
		           (char *) "--listen", (char *) "ws://8083",
		           (char *) "--certfile", (char *) "/c.pem", (char *) "--keyfile",
		           (char *) "/k.pem", (char *) "--cafile", (char *) "/ca.pem",
		           NULL };
	char            *bad[] = { (char *) "mqttd", (char *) "--listen",
		           (char *) "ssl://8883", NULL };
	mq_config        c;

	T_EQ(mq_config_parse_listen(&l,
	         "ssl://[::1]:8883,certfile=/a:b,"
	         "keyfile=/k,max_clients=9"),
	    0);
	T_EQ(l.kind, MQ_LISTEN_SSL);
	T_STREQ(l.addr, "::1");
	T_EQ(l.port, 8883);
	T_STREQ(l.certfile, "/a:b");
	T_STREQ(l.keyfile, "/k");
	T_EQ(l.max_clients, 9);
	T_EQ(l.require_cert, -1);
	T_EQ(mq_config_parse_listen(&l, "ws://1883,path=mqtt"), -EINVAL);
	T_EQ(mq_config_parse_listen(&l, "ws://1883,path="), -EINVAL);
	T_EQ(mq_config_parse_listen(&l, "wss://1883,bogus=1"), -EINVAL);
	T_EQ(mq_config_parse_listen(&l, "quic://1883"), -EINVAL);
	T_EQ(
	    mq_config_parse_listen(&l, "ssl://1,use_identity_as_username=yes"),
	    -EINVAL);
	T_STREQ(mq_listen_protocol(MQ_LISTEN_WSS), "mqtt:wss");
	T_STREQ(mq_listen_protocol(MQ_LISTEN_TCP), "mqtt:tcp");

	T_EQ(mq_config_load(&c, 11, argv), 0);
	T_EQ(c.nlisten, 2);
	T_EQ(c.listen[0].kind, MQ_LISTEN_WSS);
	T_STREQ(c.listen[0].path, "/ws");
	T_STREQ(c.listen[0].certfile, "/c.pem");
	T_STREQ(c.listen[0].cafile, "/ca.pem");
	T_EQ(c.listen[0].require_cert, 1);
	T_EQ(c.listen[0].identity, 0);
	T_EQ(c.listen[1].kind, MQ_LISTEN_WS);
	T_STREQ(c.listen[1].path, "/mqtt"); /* the default */
	T_EQ(c.listen[1].max_clients, c.max_clients);
	mq_config_fini(&c);
	/* a TLS listener without certificate and key is refused */
	T_EQ(mq_config_load(&c, 3, bad), -EINVAL);
	mq_config_fini(&c);
}

static const struct t_case cases[] = {
	T_ENTRY(listen_specs),
	T_ENTRY(listener_kinds),
	T_ENTRY(defaults),
	T_ENTRY(flags_over_file),
	T_ENTRY(bad_input),
};

T_MAIN(cases)
