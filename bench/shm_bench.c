/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * shm_bench: the segment at scale.  Fills it with N clients (default
 * 1,000,000), each with a session, 2 subscriptions and a route, then
 * times the writer's inserts and updates, a reader's lookups by id and
 * pages of 20 at the start, middle and end, against a plain memcpy of
 * the same records.  Last line: one JSON object.
 *
 *   shm_bench [--clients N] [--samples K]
 *
 * Every op is timed on its own with CLOCK_MONOTONIC; the clock's own cost
 * (median of back-to-back reads) is subtracted.
 */
#include "config.h"

#include "collector/col_impl.h"
#include "shm/shm_impl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

static uint64_t
rnd(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;

	return x < y ? -1 : x > y;
}

static double
median(uint32_t *v, size_t n, uint32_t overhead)
{
	qsort(v, n, sizeof(*v), cmp_u32);
	return v[n / 2] > overhead ? v[n / 2] - overhead : 0;
}

static double
pctl(const uint32_t *sorted, size_t n, double p, uint32_t overhead)
{
	uint32_t v = sorted[(size_t) (n * p)];

	return v > overhead ? v - overhead : 0;
}

static uint32_t
clock_cost(void)
{
	static uint32_t v[10001];

	for (int i = 0; i < 10001; i++) {
		uint64_t t0 = now_ns();
		v[i] = (uint32_t) (now_ns() - t0);
	}
	qsort(v, 10001, sizeof(v[0]), cmp_u32);
	return v[5000];
}

/* "client-000123456": 16 bytes, MQTT-3.1-sized ids. */
static size_t
cid(uint32_t i, char *buf)
{
	return (size_t) sprintf(buf, "client-%09u", i);
}

static int
sink(const shm_client *c, void *arg)
{
	/* Touch what an API worker formats: the id and the address. */
	*(uint64_t *) arg
	    += c->client_id.len + (unsigned char) c->ipaddress[0];
	return 0;
}

static uint64_t acc_global;

struct res {
	double insert, insert_p99, update, update_p99, lookup;
	double update_spaced, update_hot, miss;
	double page0, pagemid, pageend, memcpy_us;
	double fill_s;
};

static void
fill(col *c, uint32_t n, uint32_t *ins, col_ref *sess, uint32_t oh)
{
	char               id[32], topic[64];
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct col_client  cl = { .client_id = id,
		 .peer = (void *) &sin,
		 .clean_sess = true,
		 .proto_ver = 4,
		 .keepalive = 60 };

	inet_pton(AF_INET, "10.1.2.3", &sin.sin_addr);
	for (uint32_t i = 0; i < n; i++) {
		size_t   len = cid(i, id), tl;
		uint64_t t0;

		cl.client_id_len = len;
		cl.username = id;
		cl.username_len = 6;
		sin.sin_port = htons((uint16_t) (i | 1024));
		cl.connected_at = 1700000000 + i;
		t0 = now_ns();
		col_ref r = col_client_connected(c, &cl);
		ins[i] = (uint32_t) (now_ns() - t0);
		if (r == COL_NONE) {
			fprintf(
			    stderr, "shm_bench: insert %u overflowed\n", i);
			exit(1);
		}
		sess[i] = col_session_created(c, id, len, true, 1700000000);
		tl = (size_t) sprintf(topic, "devices/%s/cmd", id);
		col_subscribed(c, id, len, topic, tl, 1);
		col_route_added(c, topic, tl);
		tl = (size_t) sprintf(topic, "broadcast/%u", i % 1000);
		col_subscribed(c, id, len, topic, tl, 0);
		if (i < 1000)
			col_route_added(c, topic, tl);
	}
	(void) oh;
}

static double
time_pages(shm_reader *r, uint64_t at, uint32_t span, int reps, uint32_t oh,
    uint64_t *x)
{
	uint32_t *v = malloc(sizeof(uint32_t) * (size_t) reps);
	uint64_t  acc = 0;
	double    m;

	for (int k = 0; k < reps; k++) {
		uint64_t off = at + (span ? rnd(x) % span : 0), t0 = now_ns();
		int      rc = shm_clients_page(r, off, 20, sink, &acc);

		v[k] = (uint32_t) (now_ns() - t0);
		if (rc != 20) {
			fprintf(stderr, "shm_bench: page at %" PRIu64 ": %d\n",
			    off, rc);
			exit(1);
		}
	}
	m = median(v, (size_t) reps, oh) / 1000.0;
	free(v);
	return m;
}

/* The same 20 records, copied with memcpy from their slots. */
static double
time_memcpy(shm_reader *r, uint64_t at, uint32_t span, int reps, uint32_t oh,
    uint64_t *x)
{
	const struct shm_table_desc *d = &r->tab[SHM_T_CLIENTS];
	const uint32_t *occ = (const uint32_t *) (r->base + d->occ_off);
	uint32_t       *v = malloc(sizeof(uint32_t) * (size_t) reps);
	static char     buf[20 * 128];
	double          m;

	for (int k = 0; k < reps; k++) {
		uint64_t off = at + (span ? rnd(x) % span : 0), t0 = now_ns();

		for (int j = 0; j < 20; j++)
			memcpy(buf + j * 128,
			    r->base + d->slots_off
			        + (size_t) occ[off + j] * 128,
			    128);
		__asm__ volatile("" : : "r"(buf) : "memory");
		v[k] = (uint32_t) (now_ns() - t0);
	}
	m = median(v, (size_t) reps, oh) / 1000.0;
	free(v);
	return m;
}

int
main(int argc, char **argv)
{
	uint32_t n = 1000000, samples = 200000;
	char     name[64], id[32];
	uint64_t x = 0x12345678abcdefull;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--clients") == 0)
			n = (uint32_t) strtoul(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--samples") == 0)
			samples = (uint32_t) strtoul(argv[i + 1], NULL, 10);
	}
	if (n < 1000)
		n = 1000;
	snprintf(name, sizeof(name), "/mqttd-bench.%d", (int) getpid());
	struct col_config cfg = {
		.shm_name = name,
		.node = "bench@127.0.0.1",
		.max_clients = n,
		.max_sessions = n,
		.max_subscriptions = 2 * n,
		.max_routes = n + 1000,
		.string_arena_bytes = 1 << 20,
	};
	col        *c;
	shm_reader *r;
	int         rc = col_open(&c, &cfg);

	if (rc < 0) {
		fprintf(stderr, "shm_bench: col_open: %s\n", strerror(-rc));
		return 1;
	}
	uint32_t   oh = clock_cost();
	uint32_t  *ins = malloc(sizeof(uint32_t) * n);
	col_ref   *sess = malloc(sizeof(col_ref) * n);
	uint32_t  *v = malloc(sizeof(uint32_t) * samples);
	struct res res;

	uint64_t t0 = now_ns();
	fill(c, n, ins, sess, oh);
	res.fill_s = (double) (now_ns() - t0) / 1e9;
	res.insert = median(ins, n, oh);
	res.insert_p99 = pctl(ins, n, 0.99, oh);

	/* Writer: session counters of random sessions (what the broker
	 * does on every delivery). */
	struct col_session_counts sc = { true, 2, 32, 1, 0, 0, 0, 1, 0, 5, 5 };
	for (uint32_t k = 0; k < samples; k++) {
		col_ref s = sess[rnd(&x) % n];

		sc.deliver_msg++;
		t0 = now_ns();
		col_session_update(c, s, &sc);
		v[k] = (uint32_t) (now_ns() - t0);
	}
	res.update = median(v, samples, oh);
	res.update_p99 = pctl(v, samples, 0.99, oh);

	/* The same with ~1 us of other work between updates, as in a broker
	 * that parses a packet before it mirrors its effect: the stores of
	 * one update drain before the next. */
	for (uint32_t k = 0; k < samples; k++) {
		col_ref  s = sess[rnd(&x) % n];
		uint64_t until = now_ns() + 1000;

		while (now_ns() < until)
			;
		sc.deliver_msg++;
		t0 = now_ns();
		col_session_update(c, s, &sc);
		v[k] = (uint32_t) (now_ns() - t0);
	}
	res.update_spaced = median(v, samples, oh);

	/* A working set of 10,000 sessions: the cost of the code itself. */
	for (uint32_t k = 0; k < samples; k++) {
		col_ref s = sess[rnd(&x) % 10000];

		sc.deliver_msg++;
		t0 = now_ns();
		col_session_update(c, s, &sc);
		v[k] = (uint32_t) (now_ns() - t0);
	}
	res.update_hot = median(v, samples, oh);

	/* One random cache miss in memory the size of the sessions table,
	 * on this machine in this run: the floor of a cold update. */
	{
		const struct shm_table_desc *d
		    = &c->hdr->tables[SHM_T_SESSIONS];
		const volatile unsigned char *base
		    = (const unsigned char *) c->hdr + d->slots_off;
		uint64_t sum = 0;

		for (uint32_t k = 0; k < samples; k++) {
			size_t off = (size_t) (rnd(&x) % n) * d->rec_size;

			t0 = now_ns();
			sum += base[off + 40];
			v[k] = (uint32_t) (now_ns() - t0);
		}
		res.miss = median(v, samples, oh);
		acc_global += sum;
	}

	rc = shm_reader_open(&r, name);
	if (rc < 0) {
		fprintf(stderr, "shm_bench: reader: %s\n", strerror(-rc));
		return 1;
	}
	uint64_t acc = 0;
	for (uint32_t k = 0; k < samples; k++) {
		size_t len = cid((uint32_t) (rnd(&x) % n), id);

		t0 = now_ns();
		rc = shm_client_get(r, id, len, sink, &acc);
		v[k] = (uint32_t) (now_ns() - t0);
		if (rc != 1) {
			fprintf(stderr, "shm_bench: lookup %s: %d\n", id, rc);
			return 1;
		}
	}
	res.lookup = median(v, samples, oh);

	/* Pages of 20 around the start, middle and end (offsets vary over
	 * 10,000 positions so the caches do not hold one page). */
	res.page0 = time_pages(r, 0, 10000, 2000, oh, &x);
	res.pagemid = time_pages(r, n / 2, 10000, 2000, oh, &x);
	res.pageend = time_pages(r, n - 10020, 10000, 2000, oh, &x);
	res.memcpy_us = time_memcpy(r, n / 2, 10000, 2000, oh, &x);

	/* Segment cost: committed pages (tmpfs st_blocks) and mapped size. */
	struct stat st;
	int         fd = shm_open(name, O_RDONLY, 0);
	fstat(fd, &st);
	close(fd);
	double committed = (double) st.st_blocks * 512.0 / n;
	double mapped = (double) st.st_size / n;

	printf(
	    "fill %.2f s; insert median %.0f ns p99 %.0f ns; update median "
	    "%.0f ns p99 %.0f ns (spaced %.0f, hot %.0f, one DRAM miss %.0f); "
	    "clock cost %u ns subtracted\n",
	    res.fill_s, res.insert, res.insert_p99, res.update, res.update_p99,
	    res.update_spaced, res.update_hot, res.miss, oh);
	printf("{\"clients\":%u,\"sessions\":%" PRId64
	       ",\"subscriptions\":%" PRId64 ",\"routes\":%" PRId64
	       ",\"insert_ns_median\":%.0f,"
	       "\"insert_ns_p99\":%.0f,\"update_ns_median\":%.0f,"
	       "\"update_ns_p99\":%.0f,\"update_ns_median_spaced\":%.0f,"
	       "\"update_ns_median_hot\":%.0f,\"dram_miss_ns_median\":%.0f,"
	       "\"lookup_ns_median\":%.0f,"
	       "\"page20_us_at_0\":%.2f,\"page20_us_at_mid\":%.2f,"
	       "\"page20_us_at_end\":%.2f,\"memcpy20_us\":%.2f,"
	       "\"memcpy_ratio\":%.1f,\"bytes_per_client\":%.0f,"
	       "\"mapped_bytes_per_client\":%.0f,\"segment_bytes\":%" PRIu64
	       "}\n",
	    n, shm_sessions_total(r), shm_subscriptions_total(r),
	    shm_routes_total(r), res.insert, res.insert_p99, res.update,
	    res.update_p99, res.update_spaced, res.update_hot, res.miss,
	    res.lookup, res.page0, res.pagemid, res.pageend, res.memcpy_us,
	    res.memcpy_us > 0 ? res.pagemid / res.memcpy_us : 0.0, committed,
	    mapped, (uint64_t) st.st_size);
	shm_reader_close(&r);
	col_close(&c);
	free(ins);
	free(sess);
	free(v);
	return acc + acc_global == 42 ? 2 : 0;
}
