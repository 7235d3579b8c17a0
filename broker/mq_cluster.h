/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mq_cluster: the broker's whole interface to the cluster (cluster/,
 * optional, docs/architecture.md "The cluster").
 *
 * The cluster registers a table of hooks; the broker calls them from its
 * loop, and only then: when a filter gets its first local subscriber or
 * loses its last one (a route), after it routed a message published on
 * this node, and when the cluster's fd is readable.  The cluster hands
 * messages from other nodes back with mq_broker_cluster_route, from the
 * loop (its event hook).  Without a registered table (the single-node
 * build, unit tests) none of this costs more than one NULL test.
 */
#ifndef MQ_CLUSTER_H
#define MQ_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "broker/mq_broker.h"

/* A message as it crosses the cluster seam (views, valid for the call). */
struct mq_cluster_msg {
	const char    *topic;
	uint16_t       topic_len;
	uint8_t        qos;
	bool           retain;
	const uint8_t *payload;
	uint32_t       payload_len;
	const uint8_t *props; /* MQTT 5.0 properties to forward */
	uint32_t       props_len;
	uint64_t       expire_in_ms; /* Message Expiry left, 0: none */
};

struct mq_cluster_hooks {
	void *ctx;
	/* Readable by the loop: event() is called (epoll, level-triggered). */
	int fd;
	void (*event)(void *ctx);
	/* filter: the trie's filter (for "$share/g/f" the f part). */
	void (*route_added)(void *ctx, const char *filter, size_t len);
	void (*route_removed)(void *ctx, const char *filter, size_t len);
	/* A message published on this node (client, will, API), routed
	 * locally already. */
	void (*published)(void *ctx, const struct mq_cluster_msg *m);
};

/*
 * Registers h (copied) before mq_broker_run; calls route_added for every
 * route the broker already has.  0, or -EBUSY if one is registered.
 */
int mq_broker_cluster_attach(mq_broker *b, const struct mq_cluster_hooks *h);

/*
 * Routes a message from another node to this node's subscribers only
 * (never back to the cluster, never into the retained store).  Returns the
 * number of deliveries, or -EINVAL when the topic is not a valid topic name or
 * the properties would not be valid in a v5 PUBLISH (the message is then
 * dropped).
 */
int mq_broker_cluster_route(mq_broker *b, const struct mq_cluster_msg *m);

/*
 * Stores m as its topic's retained message, or deletes it (empty
 * payload), without routing it: the cluster's retained store is the
 * source of truth for retained messages, its updates come in its order.
 * 0 or -EINVAL as above; a no-op while mqttd_retainer is off.
 */
int mq_broker_cluster_retain(mq_broker *b, const struct mq_cluster_msg *m);

#endif
