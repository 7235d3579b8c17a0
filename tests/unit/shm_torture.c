/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * shm_torture: one writer churning the segment while readers copy and
 * verify records.  Every record the writer stores carries a checksum of
 * its own fields (in the username, the session counters, the topic), so
 * a reader can tell a torn copy from a consistent one.
 *
 *   shm_torture [--seconds S] [--readers N] [--clients K] [--threads]
 *
 * Process mode (default): the writer and N readers are processes; the
 * parent SIGKILLs (and respawns) and SIGSTOPs/SIGCONTs readers at random,
 * and in alternate phases stops all of them to compare the writer's op
 * latency with and without readers.  Thread mode: the readers are threads
 * reading the writer's own mapping, so ThreadSanitizer (make tsan-shm)
 * sees both sides of every access.
 *
 * Prints one JSON line of results, then "N passed, M failed": it passes
 * when no torn read and no -EBADMSG was seen and records were checked.
 */
#include "config.h"

#include "collector/col_impl.h"
#include "shm/shm_impl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_READERS 16
#define HIST_NS     10    /* bucket width */
#define HIST_N      20000 /* up to 200 us, then the overflow bucket */
#define N_ROUTES    512
#define NODE        "torture@127.0.0.1"

enum phase { PH_RUN, PH_STOPPED, PH_CHAOS, PH_COUNT };

/* Shared between all processes (MAP_SHARED | MAP_ANONYMOUS). */
struct ctl {
	int      ready, stop, phase;
	char     name[64];
	uint64_t checked, torn, retries, eagain, badmsg, other;
	uint64_t lookups, pages, kills, stops;
	uint64_t wr_ops[PH_COUNT], wr_max[PH_COUNT];
	uint64_t hist[PH_COUNT][HIST_N + 1];
	int      torn_named;
	char     torn_what[256];
};

static struct ctl *ctl;
static uint32_t    n_clients = 2000;
static const void *wr_base; /* thread mode: the writer's mapping */
static size_t      wr_size;

static uint64_t
fnv(const void *p, size_t n)
{
	const unsigned char *s = p;
	uint64_t             h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ s[i]) * 0x100000001b3ull;
	return h;
}

static uint64_t
rnd(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

/* Client i's id: fixed per i; some inline, some in the arena. */
static size_t
client_id(uint32_t i, char *buf, size_t cap)
{
	size_t n = (size_t) snprintf(buf, cap, "c%u-", i);
	size_t pad = i % 97 == 0 ? 3000 : (i * 37u) % 120;

	if (n + pad > cap)
		pad = cap - n;
	memset(buf + n, 'a' + (int) (i % 26), pad);
	return n + pad;
}

static size_t
route_topic(uint32_t k, char *buf, size_t cap)
{
	size_t   n = (size_t) snprintf(buf, cap, "r/%u/", k);
	uint64_t h = fnv(buf, n);
	size_t   pad = k % 50 == 0 ? 700 : k % 40;

	n += (size_t) snprintf(buf + n, cap - n, "%016" PRIx64, h);
	if (n + pad > cap)
		pad = cap - n;
	memset(buf + n, 'z', pad);
	return n + pad;
}

static size_t
sub_topic(const char *id, size_t id_len, uint32_t k, char *buf, size_t cap)
{
	size_t n = (size_t) snprintf(
	    buf, cap, "t/%016" PRIx64 "/%u/", fnv(id, id_len) + k, k);
	size_t pad = (id_len + k * 13) % 90;

	if (n + pad > cap)
		pad = cap - n;
	memset(buf + n, 'q', pad);
	return n + pad;
}

/* ---- writer ---- */

struct wclient {
	bool    on;
	col_ref cl, ss, sub[2];
};

static void
lat(int ph, uint64_t t0)
{
	uint64_t d = now_ns() - t0, b = d / HIST_NS;

	ctl->hist[ph][b < HIST_N ? b : HIST_N]++;
	ctl->wr_ops[ph]++;
	if (d > ctl->wr_max[ph])
		ctl->wr_max[ph] = d;
}

static void
session_counts(uint64_t hid, uint32_t x, struct col_session_counts *n)
{
	n->connected = x & 1;
	n->subscriptions = x & 0xffff;
	n->max_inflight = x * 3;
	n->inflight_len = x ^ 0x1234;
	n->mqueue_len = x + 7;
	n->mqueue_dropped = (uint64_t) x << 20;
	n->awaiting_rel_len = x >> 3;
	n->awaiting_ack = x * 5;
	n->awaiting_comp = ~x;
	n->deliver_msg = hid + x;
	n->enqueue_msg = hid ^ x;
}

static void
w_connect(col *c, struct wclient *w, uint32_t i, uint64_t *x, int ph)
{
	static char        id[4096], topic[4096];
	char               user[17];
	size_t             len = client_id(i, id, sizeof(id)), tl;
	uint64_t           hid = fnv(id, len), t0;
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct col_client  cl = { .client_id = id,
		 .client_id_len = len,
		 .peer = (struct sockaddr *) &sin,
		 .proto_ver = 4 };
	uint16_t           port = (uint16_t) rnd(x);
	uint16_t           ka = (uint16_t) rnd(x);
	uint32_t           at = (uint32_t) rnd(x);

	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(0x7f000001);
	cl.connected_at = at;
	if (i % 8 == 0) { /* no username: the checksum sits in keepalive */
		ka = (uint16_t) ((hid ^ port) & 0xffff);
	} else {
		snprintf(user, sizeof(user), "%016" PRIx64,
		    hid ^ port ^ ((uint64_t) ka << 16)
		        ^ ((uint64_t) at << 32));
		cl.username = user;
		cl.username_len = 16;
	}
	cl.keepalive = ka;
	t0 = now_ns();
	w->cl = col_client_connected(c, &cl);
	lat(ph, t0);
	t0 = now_ns();
	w->ss = col_session_created(
	    c, id, len, i & 1, (int64_t) (hid & 0xffffff));
	lat(ph, t0);
	for (uint32_t k = 0; k < 2; k++) {
		tl = sub_topic(id, len, k, topic, sizeof(topic));
		t0 = now_ns();
		w->sub[k] = col_subscribed(c, id, len, topic, tl, (uint8_t) k);
		lat(ph, t0);
	}
	w->on = true;
}

static void
w_disconnect(col *c, struct wclient *w, int ph)
{
	uint64_t t0 = now_ns();

	col_unsubscribed(c, w->sub[0]);
	col_unsubscribed(c, w->sub[1]);
	col_session_removed(c, w->ss);
	col_client_disconnected(c, w->cl);
	lat(ph, t0); /* four ops: counted as one sample */
	w->on = false;
}

static void
w_update(col *c, struct wclient *w, uint32_t i, uint64_t *x, int ph)
{
	static char               id[4096];
	size_t                    len = client_id(i, id, sizeof(id));
	struct col_session_counts n;
	uint64_t                  t0;

	session_counts(fnv(id, len), (uint32_t) rnd(x), &n);
	t0 = now_ns();
	col_session_update(c, w->ss, &n);
	lat(ph, t0);
	t0 = now_ns();
	col_subscription_qos(c, w->sub[rnd(x) & 1], (uint8_t) (rnd(x) % 3));
	lat(ph, t0);
}

static void
w_route(col *c, col_ref *routes, uint32_t k, int ph)
{
	static char topic[4096];
	uint64_t    t0 = now_ns();

	if (routes[k]) {
		col_route_removed(c, routes[k]);
		routes[k] = COL_NONE;
	} else {
		size_t n = route_topic(k, topic, sizeof(topic));
		routes[k] = col_route_added(c, topic, n);
	}
	lat(ph, t0);
}

static col *
w_open(void)
{
	struct col_config cfg = {
		.shm_name = ctl->name,
		.node = NODE,
		.max_clients = n_clients,
		.max_sessions = n_clients,
		.max_subscriptions = n_clients * 2,
		.max_routes = N_ROUTES,
		.string_arena_bytes = 16u << 20,
	};
	col *c;
	int  rc = col_open(&c, &cfg);

	if (rc < 0) {
		fprintf(stderr, "torture: col_open: %s\n", strerror(-rc));
		exit(1);
	}
	return c;
}

static void
writer_loop(col *c)
{
	struct wclient *w = calloc(n_clients, sizeof(*w));
	col_ref         routes[N_ROUTES] = { 0 };
	uint64_t x = 0x9e3779b97f4a7c15ull ^ (uint64_t) getpid(), ops = 0;
	uint64_t stats[SHM_STAT_COUNT];

	while (!__atomic_load_n(&ctl->stop, __ATOMIC_RELAXED)) {
		int      ph = __atomic_load_n(&ctl->phase, __ATOMIC_RELAXED);
		uint32_t i = (uint32_t) (rnd(&x) % n_clients);
		uint64_t r = rnd(&x) % 100;

		if (!w[i].on)
			w_connect(c, &w[i], i, &x, ph);
		else if (r < 60)
			w_update(c, &w[i], i, &x, ph);
		else
			w_disconnect(c, &w[i], ph);
		if (rnd(&x) % 4 == 0)
			w_route(
			    c, routes, (uint32_t) (rnd(&x) % N_ROUTES), ph);
		col_metric_add(c, SHM_M_PACKETS_RECEIVED, 1);
		if (++ops % 64 == 0) {
			for (int s = 0; s < SHM_STAT_COUNT; s++)
				stats[s] = ops;
			col_stats_set(c, stats);
			col_heartbeat(c, NULL);
		}
	}
	free(w);
}

/* ---- readers ---- */

struct rstate {
	shm_reader *r;
	uint64_t    checked, torn, eagain, badmsg, other, lookups, pages;
	uint64_t    last_metric, retries_flushed;
};

static void
torn(struct rstate *s, const char *what)
{
	s->torn++;
	/* the first one names itself; later ones only count */
	if (__atomic_exchange_n(&ctl->torn_named, 1, __ATOMIC_RELAXED) == 0)
		snprintf(ctl->torn_what, sizeof(ctl->torn_what), "%s", what);
}

static bool
hex_is(shm_str s, uint64_t v)
{
	char buf[17];

	snprintf(buf, sizeof(buf), "%016" PRIx64, v);
	return s.len == 16 && memcmp(s.ptr, buf, 16) == 0;
}

/* The id must be client_id(i) for the i it names. */
static bool
id_ok(shm_str id)
{
	char     buf[4096];
	unsigned i;

	if (id.len < 3 || sscanf(id.ptr, "c%u-", &i) != 1 || i >= n_clients)
		return false;
	return client_id(i, buf, sizeof(buf)) == id.len
	    && memcmp(buf, id.ptr, id.len) == 0;
}

static int
v_client(const shm_client *c, void *arg)
{
	struct rstate *s = arg;
	uint64_t       hid = fnv(c->client_id.ptr, c->client_id.len);

	s->checked++;
	if (!id_ok(c->client_id) || strcmp(c->ipaddress, "127.0.0.1") != 0
	    || c->proto_ver != 4)
		torn(s, "client id/ip");
	else if (!c->has_username) {
		if (c->keepalive != ((hid ^ c->port) & 0xffff))
			torn(s, "client keepalive sum");
	} else if (!hex_is(c->username,
	               hid ^ c->port ^ ((uint64_t) c->keepalive << 16)
	                   ^ ((uint64_t) c->connected_at << 32)))
		torn(s, "client username sum");
	return 0;
}

static int
v_session(const shm_session *ss, void *arg)
{
	struct rstate *s = arg;
	uint64_t       hid = fnv(ss->client_id.ptr, ss->client_id.len);
	struct col_session_counts n;

	s->checked++;
	if (!id_ok(ss->client_id)
	    || ss->created_at != (int64_t) (hid & 0xffffff)) {
		torn(s, "session id");
		return 0;
	}
	if (ss->deliver_msg == 0 && ss->enqueue_msg == 0
	    && ss->mqueue_len == 0)
		return 0; /* never updated */
	session_counts(hid, (uint32_t) (ss->deliver_msg - hid), &n);
	if (n.connected != ss->connected
	    || n.subscriptions != ss->subscriptions
	    || n.max_inflight != ss->max_inflight
	    || n.inflight_len != ss->inflight_len
	    || n.mqueue_len != ss->mqueue_len
	    || n.mqueue_dropped != ss->mqueue_dropped
	    || n.awaiting_rel_len != ss->awaiting_rel_len
	    || n.awaiting_ack != ss->awaiting_ack
	    || n.awaiting_comp != ss->awaiting_comp
	    || n.enqueue_msg != ss->enqueue_msg)
		torn(s, "session counters");
	return 0;
}

static int
v_sub(const shm_subscription *sb, void *arg)
{
	struct rstate *s = arg;
	char           buf[4096];
	unsigned       k;
	size_t         n;

	s->checked++;
	if (!id_ok(sb->client_id) || sb->qos > 2 || sb->topic.len < 20
	    || sscanf(sb->topic.ptr + 18, "/%u/", &k) != 1 || k > 1) {
		torn(s, "sub shape");
		return 0;
	}
	n = sub_topic(
	    sb->client_id.ptr, sb->client_id.len, k, buf, sizeof(buf));
	if (n != sb->topic.len || memcmp(buf, sb->topic.ptr, n) != 0)
		torn(s, "sub topic sum");
	return 0;
}

static int
v_route(const shm_route *rt, void *arg)
{
	struct rstate *s = arg;
	char           buf[4096];
	unsigned       k;
	size_t         n;

	s->checked++;
	if (rt->topic.len < 3 || sscanf(rt->topic.ptr, "r/%u/", &k) != 1
	    || k >= N_ROUTES) {
		torn(s, "route shape");
		return 0;
	}
	n = route_topic(k, buf, sizeof(buf));
	if (n != rt->topic.len || memcmp(buf, rt->topic.ptr, n) != 0
	    || rt->node.len != strlen(NODE)
	    || memcmp(rt->node.ptr, NODE, rt->node.len))
		torn(s, "route topic sum");
	return 0;
}

static void
tally(struct rstate *s, int rc)
{
	if (rc == -EAGAIN)
		s->eagain++;
	else if (rc == -EBADMSG)
		s->badmsg++;
	else if (rc < 0)
		s->other++;
}

static void
reader_op(struct rstate *s, uint64_t *x)
{
	char     id[4096];
	uint32_t i = (uint32_t) (rnd(x) % n_clients);
	size_t   len;
	int      rc = 0;

	switch (rnd(x) % 9) {
	case 0:
		rc = shm_clients_page(
		    s->r, rnd(x) % n_clients, 20, v_client, s);
		break;
	case 1:
		rc = shm_sessions_page(
		    s->r, rnd(x) % n_clients, 20, v_session, s);
		break;
	case 2:
		rc = shm_subscriptions_page(
		    s->r, rnd(x) % (2 * n_clients), 20, v_sub, s);
		break;
	case 3:
		rc = shm_routes_page(s->r, rnd(x) % N_ROUTES, 20, v_route, s);
		break;
	case 4:
		len = client_id(i, id, sizeof(id));
		rc = shm_client_get(s->r, id, len, v_client, s);
		s->lookups++;
		break;
	case 5:
		len = client_id(i, id, sizeof(id));
		rc = shm_session_get(s->r, id, len, v_session, s);
		s->lookups++;
		break;
	case 6:
		len = client_id(i, id, sizeof(id));
		/* More than 2 is legal: a walk may meet both a removed
		 * subscription and its re-added successor. */
		rc = shm_subscriptions_of(s->r, id, len, v_sub, s);
		s->lookups++;
		break;
	case 7:
		len = route_topic(i % N_ROUTES, id, sizeof(id));
		rc = shm_routes_of(s->r, id, len, v_route, s);
		s->lookups++;
		break;
	default: {
		uint64_t st[SHM_STAT_COUNT], m[SHM_METRIC_COUNT];

		rc = shm_stats_get(s->r, st);
		for (int k = 1; rc == 0 && k < SHM_STAT_COUNT; k++)
			if (st[k] != st[0])
				torn(s, "stats latch");
		if (rc == 0)
			rc = shm_metrics_get(s->r, m);
		if (rc == 0 && m[SHM_M_PACKETS_RECEIVED] < s->last_metric)
			torn(s, "metric went back");
		if (rc == 0)
			s->last_metric = m[SHM_M_PACKETS_RECEIVED];
		s->checked++;
	}
	}
	s->pages++;
	tally(s, rc);
}

static void
flush(struct rstate *s)
{
	uint64_t r = shm__reader_retries(s->r);

#define ADD(f, v) __atomic_fetch_add(&ctl->f, (v), __ATOMIC_RELAXED)
	ADD(checked, s->checked);
	ADD(torn, s->torn);
	ADD(eagain, s->eagain);
	ADD(badmsg, s->badmsg);
	ADD(other, s->other);
	ADD(lookups, s->lookups);
	ADD(pages, s->pages);
	ADD(retries, r - s->retries_flushed);
#undef ADD
	s->retries_flushed = r;
	s->checked = s->torn = s->eagain = s->badmsg = s->other = 0;
	s->lookups = s->pages = 0;
}

static void
reader_loop(uint64_t seed)
{
	struct rstate s = { 0 };
	uint64_t      x = seed | 1, n = 0;
	int           rc;

	rc = wr_base ? shm__reader_from_buffer(&s.r, wr_base, wr_size)
	             : shm_reader_open(&s.r, ctl->name);
	if (rc < 0) {
		fprintf(stderr, "torture: reader open: %s\n", strerror(-rc));
		__atomic_fetch_add(&ctl->other, 1, __ATOMIC_RELAXED);
		return;
	}
	while (!__atomic_load_n(&ctl->stop, __ATOMIC_RELAXED)) {
		reader_op(&s, &x);
		if (++n % 128 == 0)
			flush(&s);
	}
	flush(&s);
	shm_reader_close(&s.r);
}

/* ---- orchestration ---- */

/* A test harness that kills the parent must not leave a writer churning
 * (or stopped readers) behind. */
static void
die_with_parent(void)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() == 1)
		_exit(1);
}

static pid_t
spawn_reader(int k)
{
	pid_t pid = fork();

	if (pid == 0) {
		die_with_parent();
		reader_loop(now_ns() * 2654435761u + (uint64_t) k);
		_exit(0);
	}
	return pid;
}

static void
sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long) (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void
set_phase(int ph)
{
	__atomic_store_n(&ctl->phase, ph, __ATOMIC_RELAXED);
}

static void
run_processes(unsigned seconds, int nreaders)
{
	pid_t    wpid, rp[MAX_READERS];
	bool     stopped[MAX_READERS] = { false };
	uint64_t x = now_ns() | 1, end = now_ns() + seconds * 1000000000ull;

	wpid = fork();
	if (wpid == 0) {
		die_with_parent();
		col *c = w_open();

		__atomic_store_n(&ctl->ready, 1, __ATOMIC_RELEASE);
		writer_loop(c);
		col_close(&c);
		_exit(0);
	}
	while (!__atomic_load_n(&ctl->ready, __ATOMIC_ACQUIRE))
		sleep_ms(1);
	for (int k = 0; k < nreaders; k++)
		rp[k] = spawn_reader(k);
	while (now_ns() < end) {
		/* chaos: kill, stop, continue readers at random */
		set_phase(PH_CHAOS);
		for (int t = 0; t < 20; t++) {
			int k = (int) (rnd(&x) % (uint64_t) nreaders);

			switch (rnd(&x) % 3) {
			case 0:
				kill(rp[k], SIGKILL);
				waitpid(rp[k], NULL, 0);
				rp[k] = spawn_reader(k);
				stopped[k] = false;
				ctl->kills++;
				break;
			case 1:
				kill(rp[k], SIGSTOP);
				stopped[k] = true;
				ctl->stops++;
				break;
			default:
				kill(rp[k], SIGCONT);
				stopped[k] = false;
			}
			sleep_ms(20);
		}
		/* all readers running vs all stopped, same duration */
		for (int k = 0; k < nreaders; k++)
			if (stopped[k]) {
				kill(rp[k], SIGCONT);
				stopped[k] = false;
			}
		set_phase(PH_RUN);
		sleep_ms(300);
		for (int k = 0; k < nreaders; k++) {
			kill(rp[k], SIGSTOP);
			stopped[k] = true;
		}
		set_phase(PH_STOPPED);
		sleep_ms(300);
	}
	__atomic_store_n(&ctl->stop, 1, __ATOMIC_RELAXED);
	for (int k = 0; k < nreaders; k++) {
		kill(rp[k], SIGCONT);
		waitpid(rp[k], NULL, 0);
	}
	waitpid(wpid, NULL, 0);
}

static void *
reader_thread(void *arg)
{
	reader_loop((uint64_t) (uintptr_t) arg * 0x9e3779b97f4a7c15ull);
	return NULL;
}

static void
run_threads(unsigned seconds, int nreaders)
{
	pthread_t t[MAX_READERS];
	col      *c = w_open();

	wr_base = col__base(c, &wr_size);
	for (int k = 0; k < nreaders; k++)
		pthread_create(
		    &t[k], NULL, reader_thread, (void *) (uintptr_t) (k + 1));
	uint64_t end = now_ns() + seconds * 1000000000ull;
	/* The writer runs on this thread; it checks the clock every op. */
	struct wclient *w = calloc(n_clients, sizeof(*w));
	col_ref         routes[N_ROUTES] = { 0 };
	uint64_t        x = 12345, ops = 0, st[SHM_STAT_COUNT];

	while (now_ns() < end) {
		uint32_t i = (uint32_t) (rnd(&x) % n_clients);

		if (!w[i].on)
			w_connect(c, &w[i], i, &x, PH_RUN);
		else if (rnd(&x) % 100 < 60)
			w_update(c, &w[i], i, &x, PH_RUN);
		else
			w_disconnect(c, &w[i], PH_RUN);
		if (rnd(&x) % 4 == 0)
			w_route(c, routes, (uint32_t) (rnd(&x) % N_ROUTES),
			    PH_RUN);
		col_metric_add(c, SHM_M_PACKETS_RECEIVED, 1);
		if (++ops % 64 == 0) {
			for (int s = 0; s < SHM_STAT_COUNT; s++)
				st[s] = ops;
			col_stats_set(c, st);
		}
	}
	__atomic_store_n(&ctl->stop, 1, __ATOMIC_RELAXED);
	for (int k = 0; k < nreaders; k++)
		pthread_join(t[k], NULL);
	free(w);
	col_close(&c);
}

static uint64_t
pct(const uint64_t *h, uint64_t total, double p)
{
	uint64_t want = (uint64_t) (total * p), acc = 0;

	for (int b = 0; b <= HIST_N; b++) {
		acc += h[b];
		if (acc > want)
			return (uint64_t) b * HIST_NS + HIST_NS / 2;
	}
	return (uint64_t) HIST_N * HIST_NS;
}

int
main(int argc, char **argv)
{
	unsigned seconds = 3;
	int      nreaders = 4;
	bool     threads = false;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
			seconds = (unsigned) atoi(argv[++i]);
		else if (strcmp(argv[i], "--readers") == 0 && i + 1 < argc)
			nreaders = atoi(argv[++i]);
		else if (strcmp(argv[i], "--clients") == 0 && i + 1 < argc)
			n_clients = (uint32_t) atoi(argv[++i]);
		else if (strcmp(argv[i], "--threads") == 0)
			threads = true;
		else {
			fprintf(stderr,
			    "usage: shm_torture [--seconds S] "
			    "[--readers N] [--clients K] [--threads]\n");
			return 2;
		}
	}
	if (nreaders < 1 || nreaders > MAX_READERS || n_clients < 10)
		return 2;
	ctl = mmap(NULL, sizeof(*ctl), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (ctl == MAP_FAILED)
		return 1;
	snprintf(
	    ctl->name, sizeof(ctl->name), "/mqttd-torture.%d", (int) getpid());
	if (threads)
		run_threads(seconds, nreaders);
	else
		run_processes(seconds, nreaders);

	printf("{\"mode\":\"%s\",\"seconds\":%u,\"readers\":%d,"
	       "\"checked\":%" PRIu64 ",\"torn\":%" PRIu64
	       ",\"retries\":%" PRIu64 ",\"eagain\":%" PRIu64
	       ",\"badmsg\":%" PRIu64 ",\"other_errors\":%" PRIu64
	       ",\"lookups\":%" PRIu64 ",\"kills\":%" PRIu64
	       ",\"stops\":%" PRIu64,
	    threads ? "threads" : "processes", seconds, nreaders, ctl->checked,
	    ctl->torn, ctl->retries, ctl->eagain, ctl->badmsg, ctl->other,
	    ctl->lookups, ctl->kills, ctl->stops);
	static const char *pn[PH_COUNT] = { "running", "stopped", "chaos" };
	for (int p = 0; p < PH_COUNT; p++) {
		if (ctl->wr_ops[p] == 0)
			continue;
		printf(",\"writer_%s\":{\"ops\":%" PRIu64
		       ",\"p50_ns\":%" PRIu64 ",\"p99_ns\":%" PRIu64
		       ",\"max_ns\":%" PRIu64 "}",
		    pn[p], ctl->wr_ops[p],
		    pct(ctl->hist[p], ctl->wr_ops[p], 0.5),
		    pct(ctl->hist[p], ctl->wr_ops[p], 0.99), ctl->wr_max[p]);
	}
	printf("}\n");
	if (ctl->torn)
		printf("first torn read: %s\n", ctl->torn_what);
	bool ok = ctl->torn == 0 && ctl->badmsg == 0 && ctl->other == 0
	    && ctl->checked > 0;
	printf("%d passed, %d failed\n", ok ? 1 : 0, ok ? 0 : 1);
	return ok ? 0 : 1;
}
