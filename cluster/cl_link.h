/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cl_link: this node's NATS connection (docs/architecture.md, "The
 * cluster"): subscribes one NATS subscription per distinct subject of the
 * local routes (refcounted), publishes the messages published here, and
 * hands what other nodes publish to the broker's loop through an eventfd,
 * dropping the extra copies overlapping subscriptions receive.
 *
 * cl_link_new connects in the background (retrying forever, so a node
 * starts before its nats-server) and registers the broker hooks
 * (mq_cluster.h).  Free it after the broker: the broker's teardown
 * still calls the hooks.
 */
#ifndef CL_LINK_H
#define CL_LINK_H

#include <stdint.h>

#include "broker/mq_broker.h"

struct cl_link;

/* urls: "nats://HOST:PORT[,nats://...]".  0 or -errno. */
int cl_link_new(
    struct cl_link **out, mq_broker *b, const char *urls, const char *node);
void cl_link_free(struct cl_link **l);

#endif
