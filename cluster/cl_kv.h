/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cl_kv: the cluster's retained messages, a JetStream KV bucket
 * ("mqttd_retained", key = the topic's subject without "mq.", value = a
 * cl_frame with a wall-clock expiry).  Every node writes the retained
 * messages published on it (put, or a delete marker for an empty
 * payload) and watches the whole bucket into its own retained store, so
 * a SUBSCRIBE matches retained messages locally and a node that joins
 * later gets them all.
 *
 * Writes are core NATS publishes to the bucket's subjects: they never
 * wait for JetStream (a write while JetStream is unavailable is lost, see
 * docs/architecture.md).  The watcher runs on its own thread, which binds
 * (or creates: 3 replicas, or 1 where the cluster is smaller) the bucket,
 * retrying every second, and hands each entry to `deliver` (called on
 * that thread; the callee owns the entry).
 */
#ifndef CL_KV_H
#define CL_KV_H

#include <nats/nats.h>
#include <stddef.h>

#define CL_KV_BUCKET "mqttd_retained"

struct cl_kv;

typedef void (*cl_kv_deliver)(void *arg, kvEntry *e);

/* Starts the watcher thread.  0 or -errno. */
int cl_kv_start(
    struct cl_kv **out, natsConnection *nc, cl_kv_deliver fn, void *arg);
/* Stops and joins the thread (before nc is closed). */
void cl_kv_stop(struct cl_kv **kv);

/* key: a subject without "mq." (NUL-terminated); frame: the value. */
int cl_kv_put(
    struct cl_kv *kv, const char *key, const void *frame, size_t len);
int cl_kv_delete(struct cl_kv *kv, const char *key);

#endif
