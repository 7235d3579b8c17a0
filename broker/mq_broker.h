/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mq_broker: the MQTT broker core: connections, sessions, routing,
 * retained messages, $SYS, and the event loop that drives them.
 *
 * One mq_broker owns all state and is driven by one thread.  The
 * collector (col) and the plugins may be NULL: without col nothing is
 * mirrored (--no-segment); without plugins the defaults apply (retainer
 * and sys on, anonymous clients allowed, no ACL).
 *
 * Errors: int functions return 0 or -errno; failures are logged once.
 */
#ifndef MQ_BROKER_H
#define MQ_BROKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "broker/mq_config.h"

struct col;
struct mq_plugins;
typedef struct mq_broker mq_broker;
typedef struct mq_conn   mq_conn;

/* cfg must outlive the broker. */
int  mq_broker_new(mq_broker **out, const mq_config *cfg, struct col *cl,
     struct mq_plugins *plugins);
void mq_broker_free(mq_broker **b);

/*
 * Binds the listeners and the control socket, reports readiness, and runs
 * the event loop until SIGINT / SIGTERM.  SIGHUP reloads the plugin
 * files.  Returns 0 on a clean stop, -errno if start-up failed.
 */
int mq_broker_run(mq_broker *b);

/* Commands of the control socket (docs/architecture.md). */
/* -EINVAL: bad topic or qos. */
int mq_broker_publish(mq_broker *b, const char *topic, size_t tlen,
    const void *payload, size_t plen, uint8_t qos, bool retain,
    const char *client_id, size_t idlen);
/* -EINVAL: bad filter or qos; -ENOENT: no such client or session. */
int mq_broker_subscribe(mq_broker *b, const char *client_id, size_t idlen,
    const char *filter, size_t flen, uint8_t qos);
int mq_broker_unsubscribe(mq_broker *b, const char *client_id, size_t idlen,
    const char *filter, size_t flen);
/* -ENOENT: not connected. */
int mq_broker_kick(mq_broker *b, const char *client_id, size_t idlen);
/* -ENOENT: unknown plugin; -EALREADY: already in that state. */
int mq_broker_plugin(mq_broker *b, const char *name, size_t len, bool active);

/*
 * Socket-less connections, for the handler fuzzer and unit tests: bytes
 * fed in are handled exactly as if read from a socket; output is kept
 * until read with mq_conn_output.  mq_conn_feed returns 0, or -EPIPE once
 * the connection
 * is closing (it is then freed by mq_broker_sweep or mq_broker_free).
 */
mq_conn *mq_conn_virtual(mq_broker *b);
int      mq_conn_feed(mq_conn *c, const uint8_t *buf, size_t len);
/*
 * Moves up to cap bytes of what the broker sent to a virtual connection
 * into buf; returns the count.  Unread output counts against max_outbuf.
 */
size_t mq_conn_output(mq_conn *c, uint8_t *buf, size_t cap);
/* A counter's current value (enum shm_metric), for tests. */
uint64_t mq_broker_metric(const mq_broker *b, int metric);
void     mq_broker_sweep(mq_broker *b);
/* Runs the timers due at now_ms (CLOCK_MONOTONIC), as the loop would. */
void mq_broker_tick(mq_broker *b, uint64_t now_ms);

#endif
