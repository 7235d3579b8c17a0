/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cl_link: the NATS connection of one node (cl_link.h).
 *
 * Threads: libnats reads, flushes and delivers on its own threads.  Its
 * one delivery thread (global delivery pool of size 1, so the copies of
 * every subscription come in wire order) only appends each message to
 * `in` under `lock` and writes the eventfd when `in` was empty.  Every
 * other function runs in the broker's loop, which alone touches the
 * broker, the subscription table, the origins and the counters.
 */
#include "config.h"

#include "cluster/cl_link.h"

#include "broker/mq_cluster.h"
#include "broker/mq_hash.h"
#include "broker/mq_log.h"
#include "broker/mq_timer.h"
#include "cluster/cl_frame.h"
#include "cluster/cl_kv.h"
#include "cluster/cl_subject.h"

#include <errno.h>
#include <nats/nats.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/* Payload bytes waiting for the loop before frames are dropped. */
#define CL_IN_MAX_BYTES (64u << 20)
/* Origins (node boots) whose last sequence number is remembered. */
#define CL_ORIGINS 64

struct cl_sub {
	struct mq_hnode   h;
	natsSubscription *ns;
	uint32_t          refs;
	uint32_t          len;
	char              subj[];
};

struct cl_origin {
	uint64_t id, last_seq, seen_ms;
};

struct cl_item {      /* one of the two */
	natsMsg *msg; /* a frame from another node */
	kvEntry *kv;  /* a retained message's update */
};

struct cl_in { /* handed to the loop, in arrival order */
	struct cl_item *m;
	size_t          n, cap, bytes;
};

struct cl_link {
	mq_broker       *b;
	natsConnection  *nc;
	natsOptions     *opts;
	int              efd;
	pthread_mutex_t  lock;
	struct cl_in     in;      /* under lock */
	uint64_t         full;    /* frames dropped, in full (under lock) */
	bool             closing; /* under lock: on_msg keeps nothing */
	mq_hash          subs;    /* struct cl_sub by subject */
	uint64_t         boot, seq;
	struct cl_origin origins[CL_ORIGINS];
	char            *subj;  /* CL_SUBJECT_MAX + 1 */
	char            *topic; /* 65536 */
	uint8_t         *frame;
	size_t           frame_cap;
	struct cl_kv    *kv; /* the retained messages' bucket */
	uint64_t         bad, dups, unsent, routed, retained;
	bool             warned_unsent;
};

/* ---- libnats's threads ---- */

/* Appends it to `in` (under lock), waking the loop when `in` was empty;
 * false when it was not taken (full, or closing). */
static bool
hand_over(struct cl_link *l, struct cl_item it, size_t len)
{
	bool wake = false, taken = false;

	pthread_mutex_lock(&l->lock);
	if (l->closing) {
		/* cl_link_free took what was left */
	} else if (l->in.bytes + len > CL_IN_MAX_BYTES) {
		l->full++;
	} else if (l->in.n == l->in.cap) {
		size_t          cap = l->in.cap ? l->in.cap * 2 : 256;
		struct cl_item *m = realloc(l->in.m, cap * sizeof(*m));

		if (m == NULL) {
			l->full++;
		} else {
			l->in.m = m;
			l->in.cap = cap;
		}
	}
	if (!l->closing && l->in.n < l->in.cap
	    && l->in.bytes + len <= CL_IN_MAX_BYTES) {
		wake = l->in.n == 0;
		l->in.m[l->in.n++] = it;
		l->in.bytes += len;
		taken = true;
	}
	pthread_mutex_unlock(&l->lock);
	if (wake) {
		uint64_t one = 1;

		if (write(l->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
			mq_err("cluster: write(eventfd): %s", strerror(errno));
	}
	return taken;
}

static void
on_msg(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *arg)
{
	struct cl_item it = { .msg = msg };

	(void) nc;
	(void) sub;
	if (!hand_over(arg, it, (size_t) natsMsg_GetDataLength(msg)))
		natsMsg_Destroy(msg);
}

/* The retained bucket's watcher thread. */
static void
on_kv(void *arg, kvEntry *e)
{
	struct cl_item it = { .kv = e };

	if (!hand_over(arg, it, (size_t) kvEntry_ValueLen(e)))
		kvEntry_Destroy(e);
}

static void
on_disconnected(natsConnection *nc, void *arg)
{
	(void) nc;
	(void) arg;
	mq_warn("cluster: disconnected from NATS, reconnecting");
}

static void
on_connected(natsConnection *nc, void *arg)
{
	char url[256];

	(void) arg;
	if (natsConnection_GetConnectedUrl(nc, url, sizeof(url)) != NATS_OK)
		snprintf(url, sizeof(url), "?");
	mq_info("cluster: connected to %s", url);
}

static void
on_error(natsConnection *nc, natsSubscription *sub, natsStatus s, void *arg)
{
	(void) nc;
	(void) sub;
	(void) arg;
	mq_warn("cluster: NATS: %s", natsStatus_GetText(s));
}

/* ---- the loop ---- */

/* Whether (origin, seq) is new; remembers it.  Copies from overlapping
 * subscriptions come right after each other in sequence order. */
static bool
first_copy(struct cl_link *l, uint64_t origin, uint64_t seq)
{
	struct cl_origin *o = NULL, *oldest = &l->origins[0];
	uint64_t          now = mq_now_ms();

	for (int i = 0; i < CL_ORIGINS; i++) {
		if (l->origins[i].id == origin && l->origins[i].seen_ms) {
			o = &l->origins[i];
			break;
		}
		if (l->origins[i].seen_ms < oldest->seen_ms)
			oldest = &l->origins[i];
	}
	if (o == NULL) { /* a node we have not heard from (or forgot) */
		o = oldest;
		o->id = origin;
		o->last_seq = seq;
		o->seen_ms = now;
		return true;
	}
	o->seen_ms = now;
	if (seq <= o->last_seq)
		return false;
	o->last_seq = seq;
	return true;
}

static void
handle(struct cl_link *l, natsMsg *msg)
{
	const char           *subj = natsMsg_GetSubject(msg);
	struct cl_frame       f;
	struct mq_cluster_msg m;
	int                   tl;

	if (cl_frame_parse(&f, (const uint8_t *) natsMsg_GetData(msg),
	        (size_t) natsMsg_GetDataLength(msg))
	    != 0) {
		l->bad++;
		return;
	}
	if (f.origin == l->boot || !first_copy(l, f.origin, f.seq)) {
		l->dups++;
		return;
	}
	tl = cl_subject_to_topic(l->topic, 65535, subj, strlen(subj));
	if (tl <= 0) {
		l->bad++;
		return;
	}
	m = (struct mq_cluster_msg) {
		.topic = l->topic,
		.topic_len = (uint16_t) tl,
		.qos = f.qos,
		.retain = f.retain,
		.payload = f.payload,
		.payload_len = f.payload_len,
		.props = f.props,
		.props_len = f.props_len,
		.expire_in_ms = f.expire_in_ms,
	};
	if (mq_broker_cluster_route(l->b, &m) < 0)
		l->bad++;
	else
		l->routed++;
}

static uint64_t
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

/* An update of the retained bucket: into the local retained store. */
static void
handle_kv(struct cl_link *l, kvEntry *e)
{
	const char           *key = kvEntry_Key(e);
	struct cl_frame       f = { 0 };
	struct mq_cluster_msg m = { 0 };
	int                   tl, n;

	n = snprintf(l->subj, CL_SUBJECT_MAX, CL_SUBJECT_PREFIX "%s", key);
	tl = n > 0 && n < CL_SUBJECT_MAX
	    ? cl_subject_to_topic(l->topic, 65535, l->subj, (size_t) n)
	    : -EINVAL;
	if (tl <= 0) {
		l->bad++;
		return;
	}
	m.topic = l->topic;
	m.topic_len = (uint16_t) tl;
	if (kvEntry_Operation(e) == kvOp_Put) {
		if (cl_frame_parse(
		        &f, kvEntry_Value(e), (size_t) kvEntry_ValueLen(e))
		    != 0) {
			l->bad++;
			return;
		}
		m.qos = f.qos;
		m.payload = f.payload;
		m.payload_len = f.payload_len;
		m.props = f.props;
		m.props_len = f.props_len;
		if (f.expire_in_ms != 0) {
			uint64_t now = wall_ms();

			/* Expired meanwhile: as good as deleted. */
			if (!f.expire_wall || f.expire_in_ms <= now)
				m.payload_len = 0;
			else
				m.expire_in_ms = f.expire_in_ms - now;
		}
	} /* else a delete or purge: an empty payload deletes */
	if (mq_broker_cluster_retain(l->b, &m) < 0)
		l->bad++;
	else
		l->retained++;
}

static void
hook_event(void *arg)
{
	struct cl_link *l = arg;
	struct cl_in    in;
	uint64_t        n, full;

	if (read(l->efd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		mq_err("cluster: read(eventfd): %s", strerror(errno));
	pthread_mutex_lock(&l->lock);
	in = l->in;
	l->in = (struct cl_in) { 0 };
	full = l->full;
	l->full = 0;
	pthread_mutex_unlock(&l->lock);
	if (full)
		mq_warn("cluster: loop behind: %llu frames dropped",
		    (unsigned long long) full);
	for (size_t i = 0; i < in.n; i++) {
		if (in.m[i].msg != NULL) {
			handle(l, in.m[i].msg);
			natsMsg_Destroy(in.m[i].msg);
		} else {
			handle_kv(l, in.m[i].kv);
			kvEntry_Destroy(in.m[i].kv);
		}
	}
	free(in.m);
}

static struct cl_sub *
sub_find(struct cl_link *l, const char *s, size_t len, uint32_t *hash)
{
	uint32_t h = mq_hash_bytes(s, len, 0);

	*hash = h;
	for (struct mq_hnode *n = mq_hash_chain(&l->subs, h); n; n = n->next) {
		struct cl_sub *c = (struct cl_sub *) n;

		if (n->hash == h && c->len == len
		    && memcmp(c->subj, s, len) == 0)
			return c;
	}
	return NULL;
}

static void
subject_ref(struct cl_link *l, const char *s, size_t len, bool add)
{
	uint32_t       h;
	struct cl_sub *c = sub_find(l, s, len, &h);
	natsStatus     st;

	if (!add) {
		if (c == NULL || --c->refs > 0)
			return;
		mq_hash_remove(&l->subs, &c->h);
		natsSubscription_Unsubscribe(c->ns);
		natsSubscription_Destroy(c->ns);
		free(c);
		return;
	}
	if (c != NULL) {
		c->refs++;
		return;
	}
	c = calloc(1, sizeof(*c) + len + 1);
	if (c == NULL) {
		mq_err("cluster: no memory to subscribe %.*s", (int) len, s);
		return;
	}
	memcpy(c->subj, s, len);
	c->len = (uint32_t) len;
	c->refs = 1;
	st = natsConnection_Subscribe(&c->ns, l->nc, c->subj, on_msg, l);
	if (st != NATS_OK) {
		mq_err("cluster: subscribe %s: %s", c->subj,
		    natsStatus_GetText(st));
		free(c);
		return;
	}
	mq_hash_insert(&l->subs, &c->h, h);
}

static void
route(struct cl_link *l, const char *f, size_t len, bool add)
{
	bool parent;
	int  n
	    = cl_subject_from_filter(l->subj, CL_SUBJECT_MAX, f, len, &parent);

	if (n < 0) {
		/* Same filter, same outcome on add and on remove. */
		mq_warn("cluster: filter of %zu bytes not shared with the "
		        "cluster (%s)",
		    len, strerror(-n));
		return;
	}
	subject_ref(l, l->subj, (size_t) n, add);
	if (parent)
		subject_ref(l, l->subj, (size_t) n - 2, add);
}

static void
hook_route_added(void *arg, const char *f, size_t len)
{
	route(arg, f, len, true);
}

static void
hook_route_removed(void *arg, const char *f, size_t len)
{
	route(arg, f, len, false);
}

static void
hook_published(void *arg, const struct mq_cluster_msg *m)
{
	struct cl_link *l = arg;
	struct cl_frame f = {
		.origin = l->boot,
		.seq = ++l->seq,
		.qos = m->qos,
		.retain = m->retain,
		.expire_in_ms = m->expire_in_ms,
		.props = m->props,
		.props_len = m->props_len,
		.payload = m->payload,
		.payload_len = m->payload_len,
	};
	size_t     size = cl_frame_size(&f);
	int        n;
	natsStatus st;

	n = cl_subject_from_topic(
	    l->subj, CL_SUBJECT_MAX, m->topic, m->topic_len);
	if (n < 0 || size > INT32_MAX) {
		if (!l->warned_unsent)
			mq_warn("cluster: a message to a topic of %u bytes is "
			        "not sent to the cluster (subject too long)",
			    (unsigned) m->topic_len);
		l->warned_unsent = true;
		l->unsent++;
		return;
	}
	l->subj[n] = '\0';
	if (size > l->frame_cap) {
		uint8_t *p = realloc(l->frame, size);

		if (p == NULL) {
			l->unsent++;
			return;
		}
		l->frame = p;
		l->frame_cap = size;
	}
	cl_frame_write(l->frame, &f);
	st = natsConnection_Publish(l->nc, l->subj, l->frame, (int) size);
	if (m->retain && l->kv != NULL) {
		const char *key = l->subj + CL_SUBJECT_PREFIX_LEN;

		if (m->payload_len == 0) {
			if (st == NATS_OK && cl_kv_delete(l->kv, key) < 0)
				st = NATS_ERR;
		} else {
			/* Stored: the expiry becomes a wall-clock time. */
			if (f.expire_in_ms != 0) {
				f.expire_wall = true;
				f.expire_in_ms += wall_ms();
				cl_frame_write(l->frame, &f);
			}
			if (st == NATS_OK
			    && cl_kv_put(l->kv, key, l->frame, size) < 0)
				st = NATS_ERR;
		}
	}
	if (st != NATS_OK) {
		l->unsent++;
		if (!l->warned_unsent)
			mq_warn("cluster: publish: %s (further failures are "
			        "counted, not logged)",
			    natsStatus_GetText(st));
		l->warned_unsent = true;
	}
}

/* ---- set-up ---- */

static int
nats_rc(natsStatus st, const char *what)
{
	if (st == NATS_OK)
		return 0;
	mq_err("cluster: %s: %s", what, natsStatus_GetText(st));
	return -EIO;
}

/* "u1,u2,...": natsOptions_SetServers wants an array. */
static natsStatus
set_servers(natsOptions *o, const char *urls)
{
	char       *copy = strdup(urls), *save = NULL, *u;
	const char *list[16];
	int         n = 0;
	natsStatus  st;

	if (copy == NULL)
		return NATS_NO_MEMORY;
	for (u = strtok_r(copy, ", ", &save); u != NULL && n < 16;
	     u = strtok_r(NULL, ", ", &save))
		list[n++] = u;
	st = n > 0 ? natsOptions_SetServers(o, list, n) : NATS_INVALID_ARG;
	free(copy);
	return st;
}

static int
connect_nats(struct cl_link *l, const char *urls, const char *node)
{
	natsStatus st;

	st = nats_SetMessageDeliveryPoolSize(1);
	if (st == NATS_OK)
		st = natsOptions_Create(&l->opts);
	if (st == NATS_OK)
		st = set_servers(l->opts, urls);
	/* Our own server first: the others are for failover. */
	if (st == NATS_OK)
		st = natsOptions_SetNoRandomize(l->opts, true);
	if (st == NATS_OK)
		st = natsOptions_SetName(l->opts, node);
	/* Our own frames never come back: we routed them locally. */
	if (st == NATS_OK)
		st = natsOptions_SetNoEcho(l->opts, true);
	/* One delivery thread for every subscription: wire order. */
	if (st == NATS_OK)
		st = natsOptions_UseGlobalMessageDelivery(l->opts, true);
	if (st == NATS_OK)
		st = natsOptions_SetMaxReconnect(l->opts, -1);
	if (st == NATS_OK)
		st = natsOptions_SetReconnectWait(l->opts, 250);
	if (st == NATS_OK)
		st = natsOptions_SetReconnectBufSize(l->opts, 8 << 20);
	if (st == NATS_OK)
		st = natsOptions_SetDisconnectedCB(
		    l->opts, on_disconnected, l);
	if (st == NATS_OK)
		st = natsOptions_SetReconnectedCB(l->opts, on_connected, l);
	if (st == NATS_OK)
		st = natsOptions_SetErrorHandler(l->opts, on_error, l);
	if (st == NATS_OK)
		st = natsOptions_SetRetryOnFailedConnect(
		    l->opts, true, on_connected, l);
	if (st != NATS_OK)
		return nats_rc(st, "options");
	st = natsConnection_Connect(&l->nc, l->opts);
	if (st == NATS_OK) {
		on_connected(l->nc, l);
		return 0;
	}
	if (st == NATS_NOT_YET_CONNECTED) {
		mq_warn("cluster: %s not reachable yet, retrying", urls);
		return 0;
	}
	return nats_rc(st, "connect");
}

int
cl_link_new(
    struct cl_link **out, mq_broker *b, const char *urls, const char *node)
{
	struct cl_link         *l = calloc(1, sizeof(*l));
	struct mq_cluster_hooks h;
	sigset_t                all, old;
	int                     rc;

	*out = NULL;
	if (l == NULL)
		return -ENOMEM;
	l->b = b;
	l->efd = -1;
	pthread_mutex_init(&l->lock, NULL);
	if (getrandom(&l->boot, sizeof(l->boot), 0) != sizeof(l->boot)) {
		rc = -errno;
		mq_err("cluster: getrandom: %s", strerror(errno));
		goto fail;
	}
	l->subj = malloc(CL_SUBJECT_MAX + 1);
	l->topic = malloc(65536);
	if (l->subj == NULL || l->topic == NULL
	    || mq_hash_init(&l->subs, 64) != 0) {
		rc = -ENOMEM;
		goto fail;
	}
	l->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (l->efd < 0) {
		rc = -errno;
		mq_err("cluster: eventfd: %s", strerror(errno));
		goto fail;
	}
	/* libnats's threads (and the ones they start) inherit this mask:
	 * SIGTERM and the like are the loop's (signalfd), never theirs. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = connect_nats(l, urls, node);
	if (rc == 0)
		rc = cl_kv_start(&l->kv, l->nc, on_kv, l);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc < 0)
		goto fail;
	h = (struct mq_cluster_hooks) {
		.ctx = l,
		.fd = l->efd,
		.event = hook_event,
		.route_added = hook_route_added,
		.route_removed = hook_route_removed,
		.published = hook_published,
	};
	rc = mq_broker_cluster_attach(b, &h);
	if (rc < 0)
		goto fail;
	mq_info("cluster: node %s joins over %s", node, urls);
	*out = l;
	return 0;
fail:
	cl_link_free(&l);
	return rc;
}

void
cl_link_free(struct cl_link **lp)
{
	struct cl_link *l = *lp;

	if (l == NULL)
		return;
	*lp = NULL;
	if (l->routed || l->dups || l->bad || l->unsent || l->retained)
		mq_info("cluster: %llu frames routed, %llu copies dropped, "
		        "%llu bad, %llu not sent, %llu retained updates",
		    (unsigned long long) l->routed,
		    (unsigned long long) l->dups, (unsigned long long) l->bad,
		    (unsigned long long) l->unsent,
		    (unsigned long long) l->retained);
	cl_kv_stop(&l->kv);
	/* Closing the connection closes its subscriptions: no delivery
	 * starts after it. */
	if (l->nc != NULL)
		natsConnection_Close(l->nc);
	for (uint32_t i = 0; l->subs.b != NULL && i <= l->subs.mask; i++) {
		struct mq_hnode *n = l->subs.b[i];

		while (n != NULL) {
			struct cl_sub *c = (struct cl_sub *) n;

			n = n->next;
			natsSubscription_Destroy(c->ns);
			free(c);
		}
	}
	if (l->subs.b != NULL)
		mq_hash_fini(&l->subs);
	pthread_mutex_lock(&l->lock);
	for (size_t i = 0; i < l->in.n; i++) {
		natsMsg_Destroy(l->in.m[i].msg);
		kvEntry_Destroy(l->in.m[i].kv);
	}
	free(l->in.m);
	l->in = (struct cl_in) { 0 };
	l->closing = true;
	pthread_mutex_unlock(&l->lock);
	if (l->nc != NULL)
		natsConnection_Destroy(l->nc);
	natsOptions_Destroy(l->opts);
	/* libnats's threads and memory (ASan checks for leaks). */
	nats_CloseAndWait(2000);
	if (l->efd >= 0)
		close(l->efd);
	pthread_mutex_destroy(&l->lock);
	free(l->subj);
	free(l->topic);
	free(l->frame);
	free(l);
}
