/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target for the broker's packet handlers (CONNECT, SUBSCRIBE,
 * PUBLISH, acks...): the input is fed, in chunks whose sizes come from
 * the first byte, to a socket-less connection of a real mq_broker (no
 * segment, default plugins); what the broker answers is read and dropped.  A
 * second connection is subscribed to "#" so that routing, queues and windows
 * are exercised too, and a third, MQTT 5.0 one (Receive Maximum 2, Maximum
 * Packet Size 300, Topic Alias Maximum 2, No Local + Retain As Published,
 * a Subscription Identifier) so the v5 delivery path is, server topic
 * aliases included.  Both also share "$share/g/#", so every message
 * picks one of them as well (shared subscription groups).
 */
#include "config.h"

#include "broker/mq_broker.h"
#include "broker/mq_config.h"
#include "broker/mq_log.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t sub_connect[]
    = { 0x10, 15, 0, 4, 'M', 'Q', 'T', 'T', 4, 0, 0, 0, 0, 3, 's', 'u', 'b' };
static const uint8_t sub_subscribe[] = { 0x82, 6, 0, 1, 0, 1, '#', 2 };
static const uint8_t sub5_connect[]
    = { 0x10, 27, 0, 4, 'M', 'Q', 'T', 'T', 5, 0, 0, 0, 11, 0x21, 0, 2, 0x27,
	      0, 0, 1, 0x2c, 0x22, 0, 2, 0, 3, 's', 'u', '5' };
/* Subscription Identifier 7, QoS 2, No Local, Retain As Published. */
static const uint8_t sub5_subscribe[]
    = { 0x82, 9, 0, 1, 2, 0x0b, 7, 0, 1, '#', 0x0e };
static const uint8_t sub_share[] = { 0x82, 15, 0, 2, 0, 10, '$', 's', 'h', 'a',
	'r', 'e', '/', 'g', '/', '#', 1 };
static const uint8_t sub5_share[] = { 0x82, 16, 0, 2, 0, 0, 10, '$', 's', 'h',
	'a', 'r', 'e', '/', 'g', '/', '#', 2 };

static void
drain(mq_conn *c)
{
	static uint8_t sink[65536];

	while (mq_conn_output(c, sink, sizeof(sink)) > 0)
		;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static mq_config cfg;
	static int       ready;
	mq_broker       *b;
	mq_conn         *c, *s, *s5;
	size_t           chunk, off = 1;
	char            *argv[] = { (char *) "fuzz", NULL };

	if (!ready) {
		mq_config_load(&cfg, 1, argv);
		cfg.max_inflight = 4;
		cfg.max_queue = 8;
		mq_log_level = MQ_LOG_ERROR;
		ready = 1;
	}
	if (size < 1 || mq_broker_new(&b, &cfg, NULL, NULL) != 0)
		return 0;
	chunk = (size_t) (data[0] % 32) + 1;
	s = mq_conn_virtual(b);
	s5 = mq_conn_virtual(b);
	c = mq_conn_virtual(b);
	if (s != NULL && s5 != NULL && c != NULL) {
		mq_conn_feed(s, sub_connect, sizeof(sub_connect));
		mq_conn_feed(s, sub_subscribe, sizeof(sub_subscribe));
		mq_conn_feed(s5, sub5_connect, sizeof(sub5_connect));
		mq_conn_feed(s5, sub5_subscribe, sizeof(sub5_subscribe));
		mq_conn_feed(s, sub_share, sizeof(sub_share));
		mq_conn_feed(s5, sub5_share, sizeof(sub5_share));
		while (off < size) {
			size_t n = size - off < chunk ? size - off : chunk;

			int rc = mq_conn_feed(c, data + off, n);

			drain(s);
			drain(s5);
			drain(c);
			if (rc != 0)
				break;
			off += n;
		}
	}
	mq_broker_sweep(b);
	mq_broker_free(&b);
	return 0;
}
