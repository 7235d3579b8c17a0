/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cl_kv: the retained-messages bucket (cl_kv.h).
 */
#include "config.h"

#include "cluster/cl_kv.h"

#include "broker/mq_log.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cl_kv {
	natsConnection *nc;
	cl_kv_deliver   fn;
	void           *arg;
	pthread_t       thread;
	atomic_bool     stop;
	pthread_mutex_t lock; /* w, while the thread and stop share it */
	kvWatcher      *w;
	char            subj[65536 + 64];
};

/* Binds the bucket, creating it if it does not exist yet. */
static natsStatus
bind(jsCtx *js, kvStore **kv)
{
	kvConfig   cfg;
	natsStatus st = js_KeyValue(kv, js, CL_KV_BUCKET);

	if (st != NATS_NOT_FOUND)
		return st;
	kvConfig_Init(&cfg);
	cfg.Bucket = CL_KV_BUCKET;
	cfg.History = 1;
	cfg.Replicas = 3;
	st = js_CreateKeyValue(kv, js, &cfg);
	if (st != NATS_OK) { /* fewer than 3 servers */
		cfg.Replicas = 1;
		st = js_CreateKeyValue(kv, js, &cfg);
	}
	return st;
}

static void *
watch(void *arg)
{
	struct cl_kv *k = arg;
	natsStatus    last = NATS_ERR;

	while (!atomic_load(&k->stop)) {
		jsCtx     *js = NULL;
		kvStore   *kv = NULL;
		kvWatcher *w = NULL;
		natsStatus st = natsConnection_JetStream(&js, k->nc, NULL);

		if (st == NATS_OK)
			st = bind(js, &kv);
		if (st == NATS_OK)
			st = kvStore_WatchAll(&w, kv, NULL);
		if (st == NATS_OK) {
			pthread_mutex_lock(&k->lock);
			k->w = atomic_load(&k->stop) ? NULL : w;
			pthread_mutex_unlock(&k->lock);
			mq_info("cluster: retained messages: bucket "
			        "%s bound",
			    CL_KV_BUCKET);
			last = NATS_OK;
		}
		while (st == NATS_OK && !atomic_load(&k->stop)) {
			kvEntry *e = NULL;

			st = kvWatcher_Next(&e, w, 500);
			if (st == NATS_TIMEOUT) {
				st = NATS_OK;
				continue;
			}
			if (st == NATS_OK && e != NULL)
				k->fn(k->arg,
				    e); /* NULL: the initial ones end */
		}
		if (st != NATS_OK && st != last && !atomic_load(&k->stop))
			mq_warn("cluster: retained messages: %s (retrying)",
			    natsStatus_GetText(st));
		last = st;
		pthread_mutex_lock(&k->lock);
		k->w = NULL;
		pthread_mutex_unlock(&k->lock);
		kvWatcher_Destroy(w);
		kvStore_Destroy(kv);
		jsCtx_Destroy(js);
		for (int i = 0; i < 10 && !atomic_load(&k->stop); i++)
			nats_Sleep(100);
	}
	return NULL;
}

int
cl_kv_start(
    struct cl_kv **out, natsConnection *nc, cl_kv_deliver fn, void *arg)
{
	struct cl_kv *k = calloc(1, sizeof(*k));
	int           rc;

	*out = NULL;
	if (k == NULL)
		return -ENOMEM;
	k->nc = nc;
	k->fn = fn;
	k->arg = arg;
	atomic_init(&k->stop, false);
	pthread_mutex_init(&k->lock, NULL);
	rc = pthread_create(&k->thread, NULL, watch, k);
	if (rc != 0) {
		mq_err("cluster: pthread_create: %s", strerror(rc));
		pthread_mutex_destroy(&k->lock);
		free(k);
		return -rc;
	}
	*out = k;
	return 0;
}

void
cl_kv_stop(struct cl_kv **kp)
{
	struct cl_kv *k = *kp;

	if (k == NULL)
		return;
	*kp = NULL;
	atomic_store(&k->stop, true);
	pthread_mutex_lock(&k->lock);
	if (k->w != NULL)
		kvWatcher_Stop(k->w); /* wakes kvWatcher_Next */
	pthread_mutex_unlock(&k->lock);
	pthread_join(k->thread, NULL);
	pthread_mutex_destroy(&k->lock);
	free(k);
}

static int
publish(
    struct cl_kv *k, const char *key, const void *data, size_t len, bool del)
{
	natsMsg   *m = NULL;
	natsStatus st;
	int        n = snprintf(
	           k->subj, sizeof(k->subj), "$KV.%s.%s", CL_KV_BUCKET, key);

	if (n < 0 || (size_t) n >= sizeof(k->subj) || len > INT32_MAX)
		return -ENOSPC;
	st = natsMsg_Create(&m, k->subj, NULL, data, (int) len);
	if (st == NATS_OK && del)
		st = natsMsgHeader_Set(m, "KV-Operation", "DEL");
	if (st == NATS_OK)
		st = natsConnection_PublishMsg(k->nc, m);
	natsMsg_Destroy(m);
	return st == NATS_OK ? 0 : -EIO;
}

int
cl_kv_put(struct cl_kv *k, const char *key, const void *frame, size_t len)
{
	return publish(k, key, frame, len, false);
}

int
cl_kv_delete(struct cl_kv *k, const char *key)
{
	return publish(k, key, NULL, 0, true);
}
