/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * shm_reader: attaching to the segment, validating it, noticing a
 * restarted or dead broker, and the header-level reads (node, counters,
 * stats, totals, listeners, plugins).
 *
 * Validation happens once per attach: the table descriptors are copied
 * into the reader and checked against the mapped size, so later reads
 * never follow a descriptor the writer (or a corruption) could change.
 */
#include "config.h"

#include "shm/shm_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

bool
shm__backoff(shm_reader *r, unsigned n)
{
	struct timespec ts;
	uint64_t        now;

	if (n >= SHM_TRIES)
		return false;
	r->retries++;
	if (n < SHM_SPIN_TRIES) {
		caa_cpu_relax();
		return true;
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
	if (r->deadline_ns == 0)
		r->deadline_ns = now + SHM_BUDGET_NS;
	else if (now > r->deadline_ns)
		return false;
	sched_yield(); /* the writer may be preempted mid-section */
	return true;
}

uint64_t
shm__reader_retries(const shm_reader *r)
{
	return r->retries;
}

/* True if [off, off + len) lies within size, without overflow. */
static bool
in_range(uint64_t off, uint64_t len, uint64_t size)
{
	return off <= size && len <= size - off;
}

static const uint32_t rec_sizes[SHM_T_COUNT] = {
	[SHM_T_LISTENERS] = sizeof(struct shm_rec_listener),
	[SHM_T_PLUGINS] = sizeof(struct shm_rec_plugin),
	[SHM_T_CLIENTS] = sizeof(struct shm_rec_client),
	[SHM_T_SESSIONS] = sizeof(struct shm_rec_session),
	[SHM_T_SUBS] = sizeof(struct shm_rec_sub),
	[SHM_T_ROUTES] = sizeof(struct shm_rec_route),
};

static int
check_table(const struct shm_table_desc *d, int i, uint64_t size)
{
	bool indexed = i >= SHM_T_CLIENTS;

	if (d->rec_size != rec_sizes[i] || d->cap > SHM_TABLE_CAP_MAX)
		return -EBADMSG;
	if (i == SHM_T_LISTENERS && d->cap > SHM_LISTENERS_CAP)
		return -EBADMSG;
	if (i == SHM_T_PLUGINS && d->cap > SHM_PLUGINS_CAP)
		return -EBADMSG;
	if ((d->slots_off | d->occ_off | d->buckets_off) & 7)
		return -EBADMSG;
	if (!in_range(d->slots_off, (uint64_t) d->cap * d->rec_size, size)
	    || !in_range(d->occ_off, (uint64_t) d->cap * 4, size))
		return -EBADMSG;
	if (!indexed)
		return d->nbuckets == 0 ? 0 : -EBADMSG;
	if (d->nbuckets == 0 || (d->nbuckets & (d->nbuckets - 1))
	    || d->nbuckets > 0x80000000u)
		return -EBADMSG;
	if (!in_range(d->buckets_off, (uint64_t) d->nbuckets * 4, size))
		return -EBADMSG;
	return 0;
}

static void
copy_cstr(char *dst, size_t cap, const char *src, size_t srccap)
{
	size_t n = strnlen(src, srccap);

	if (n >= cap)
		n = cap - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* Validates the segment image at base/size and fills r's copies. */
static int
attach(shm_reader *r, const unsigned char *base, size_t size)
{
	const struct shm_hdr *h = (const void *) base;
	int                   rc;

	if (size < sizeof(*h) || ((uintptr_t) base & 7))
		return -EBADMSG;
	/* Acquire: the header and layout were stored before the magic
	 * (writer's release store in col_open). */
	uint64_t magic = SHM_LD_ACQ(&h->magic);
	if (magic == 0)
		return -EAGAIN; /* the broker is still creating it */
	if (magic != SHM_MAGIC || h->layout_version != SHM_LAYOUT_VERSION
	    || h->hdr_size != sizeof(*h) || h->size != size)
		return -EBADMSG;
	for (int i = 0; i < SHM_T_COUNT; i++) {
		rc = check_table(&h->tables[i], i, size);
		if (rc < 0)
			return rc;
	}
	if ((h->arena_off & 7) || (h->arena_size & 7)
	    || !in_range(h->arena_off, h->arena_size, size))
		return -EBADMSG;
	memcpy(r->tab, h->tables, sizeof(r->tab));
	r->arena_off = h->arena_off;
	r->arena_size = h->arena_size;
	r->seed = h->hash_seed;
	r->boot_id = h->boot_id;
	r->pid = h->pid;
	r->started_at = h->started_at;
	copy_cstr(r->node, sizeof(r->node), h->node, sizeof(h->node));
	r->node_len = (uint32_t) strlen(r->node);
	copy_cstr(
	    r->version, sizeof(r->version), h->version, sizeof(h->version));
	copy_cstr(r->sysdescr, sizeof(r->sysdescr), h->sysdescr,
	    sizeof(h->sysdescr));
	r->base = base;
	r->size = size;
	return 0;
}

static shm_reader *
reader_new(void)
{
	shm_reader *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->scratch = malloc(2 * SHM_SCRATCH_STR);
	if (r->scratch == NULL) {
		free(r);
		return NULL;
	}
	return r;
}

static void
reader_free(shm_reader *r)
{
	if (r->mapped && r->base)
		munmap((void *) r->base, r->size);
	free(r->scratch);
	free(r->seen);
	free(r->dir);
	free(r);
}

int
shm__reader_from_buffer(shm_reader **out, const void *buf, size_t len)
{
	shm_reader *r;
	int         rc;

	*out = NULL;
	r = reader_new();
	if (r == NULL)
		return -ENOMEM;
	rc = attach(r, buf, len);
	if (rc < 0) {
		reader_free(r);
		return rc;
	}
	*out = r;
	return 0;
}

/* Opens, checks trust, maps and validates; on success fills r. */
static int
map_named(shm_reader *r, const char *name)
{
	struct stat st;
	void       *p;
	int         fd, rc;

	fd = shm_open(name, O_RDONLY, 0);
	if (fd < 0)
		return -errno;
	rc = shm__fd_trusted(fd, &st);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	if (st.st_size < (off_t) sizeof(struct shm_hdr)) {
		close(fd);
		return st.st_size == 0 ? -EAGAIN : -EBADMSG;
	}
	p = mmap(NULL, (size_t) st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	rc = p == MAP_FAILED ? -errno : 0;
	close(fd);
	if (rc < 0)
		return rc;
	rc = attach(r, p, (size_t) st.st_size);
	if (rc < 0) {
		munmap(p, (size_t) st.st_size);
		return rc;
	}
	r->mapped = true;
	r->dev = st.st_dev;
	r->ino = st.st_ino;
	return 0;
}

int
shm_reader_open(shm_reader **out, const char *name)
{
	shm_reader *r;
	int         rc;

	*out = NULL;
	if (name == NULL || strlen(name) >= sizeof(r->name))
		return -EINVAL;
	r = reader_new();
	if (r == NULL)
		return -ENOMEM;
	strcpy(r->name, name);
	rc = map_named(r, name);
	if (rc < 0) {
		reader_free(r);
		return rc;
	}
	*out = r;
	return 0;
}

int
shm__fd_trusted(int fd, struct stat *st)
{
	if (fstat(fd, st) < 0)
		return -errno;
	if (!S_ISREG(st->st_mode)
	    || (st->st_uid != getuid() && st->st_uid != 0)
	    || (st->st_mode & (S_IWGRP | S_IWOTH)))
		return -EPERM;
	return 0;
}

int
shm_reader_open_dir(shm_reader **out, const char *state_dir)
{
	char name[64];
	int  rc;

	*out = NULL;
	rc = shm_name_lookup(state_dir, name, sizeof(name));
	if (rc < 0)
		return rc;
	rc = shm_reader_open(out, name);
	if (rc < 0)
		return rc;
	(*out)->dir = strdup(state_dir);
	if ((*out)->dir == NULL) {
		shm_reader_close(out);
		return -ENOMEM;
	}
	return 0;
}

void
shm_reader_close(shm_reader **rp)
{
	if (rp == NULL || *rp == NULL)
		return;
	reader_free(*rp);
	*rp = NULL;
}

/* Reads the heartbeat block consistently. */
static int
read_proc(shm_reader *r, struct shm_proc *out)
{
	const struct shm_proc *p = &shm__hdr(r)->proc;

	for (unsigned n = 0;; n++) {
		/* Acquire: the block's stores before its even count. */
		uint32_t s = SHM_LD_ACQ(&p->seq);

		if (!(s & 1)) {
			out->heartbeat_ms = SHM_LD(&p->heartbeat_ms);
			out->mem_total = SHM_LD(&p->mem_total);
			out->mem_used = SHM_LD(&p->mem_used);
			out->fds_used = SHM_LD(&p->fds_used);
			out->fds_max = SHM_LD(&p->fds_max);
			out->clients_max_conf = SHM_LD(&p->clients_max_conf);
			/* The loads above before the re-check. */
			shm_fence_acq();
			if (SHM_LD(&p->seq) == s)
				return 0;
		}
		if (!shm__backoff(r, n))
			return -EAGAIN;
	}
}

static bool
is_alive(shm_reader *r, const struct shm_proc *p)
{
	int64_t now = shm_heartbeat_clock_ms();

	if (SHM_LD(&shm__hdr(r)->closed))
		return false;
	/* The beat comes from the segment, so any value is possible: compare
	 * without subtracting it, which could overflow. */
	if (p->heartbeat_ms < now - SHM_STALE_MS
	    || p->heartbeat_ms > now + SHM_STALE_MS)
		return false;
	if (r->pid <= 0 || (kill(r->pid, 0) < 0 && errno == ESRCH))
		return false;
	return true;
}

int
shm_reader_refresh(shm_reader *r)
{
	struct shm_proc p;
	struct stat     st;
	int             fd, rc;

	if (r == NULL)
		return -EINVAL;
	shm__call(r);
	if (r->mapped) {
		char cur[sizeof(r->name)];

		/* A restarted broker records a new name. */
		if (r->dir != NULL) {
			rc = shm_name_lookup(r->dir, cur, sizeof(cur));
			if (rc < 0)
				return rc;
		} else {
			memcpy(cur, r->name, sizeof(cur));
		}
		fd = shm_open(cur, O_RDONLY, 0);
		if (fd < 0)
			return errno == ENOENT ? -ENOENT : -errno;
		rc = fstat(fd, &st) < 0 ? -errno : 0;
		close(fd);
		if (rc < 0)
			return rc;
		if (strcmp(cur, r->name) != 0 || st.st_ino != r->ino
		    || st.st_dev != r->dev
		    || SHM_LD(&shm__hdr(r)->boot_id) != r->boot_id) {
			/* A new broker: map its segment, then drop ours. */
			shm_reader           tmp = *r;
			const unsigned char *old = r->base;
			size_t               oldsz = r->size;

			rc = map_named(&tmp, cur);
			if (rc < 0)
				return rc;
			memcpy(r->name, cur, sizeof(r->name));
			memcpy(r->tab, tmp.tab, sizeof(r->tab));
			r->arena_off = tmp.arena_off;
			r->arena_size = tmp.arena_size;
			r->seed = tmp.seed;
			r->boot_id = tmp.boot_id;
			r->pid = tmp.pid;
			r->started_at = tmp.started_at;
			memcpy(r->node, tmp.node, sizeof(r->node));
			r->node_len = tmp.node_len;
			memcpy(r->version, tmp.version, sizeof(r->version));
			memcpy(r->sysdescr, tmp.sysdescr, sizeof(r->sysdescr));
			r->base = tmp.base;
			r->size = tmp.size;
			r->dev = tmp.dev;
			r->ino = tmp.ino;
			munmap((void *) old, oldsz);
		}
	}
	rc = read_proc(r, &p);
	if (rc < 0)
		return rc;
	return is_alive(r, &p) ? 0 : -ESTALE;
}

int
shm_node_get(shm_reader *r, shm_node *out)
{
	const struct shm_hdr *h;
	struct shm_proc       p;
	int                   rc;

	if (r == NULL || out == NULL)
		return -EINVAL;
	shm__call(r);
	h = shm__hdr(r);
	rc = read_proc(r, &p);
	if (rc < 0)
		return rc;
	memset(out, 0, sizeof(*out));
	memcpy(out->node, r->node, sizeof(out->node));
	memcpy(out->version, r->version, sizeof(out->version));
	memcpy(out->sysdescr, r->sysdescr, sizeof(out->sysdescr));
	out->boot_id = r->boot_id;
	out->pid = r->pid;
	out->started_at = r->started_at;
	out->heartbeat_ms = p.heartbeat_ms;
	out->alive = is_alive(r, &p);
	out->mem_total = p.mem_total;
	out->mem_used = p.mem_used;
	out->fds_used = p.fds_used;
	out->fds_max = p.fds_max;
	out->clients_max_conf = p.clients_max_conf;
	out->cap_clients = r->tab[SHM_T_CLIENTS].cap;
	out->cap_sessions = r->tab[SHM_T_SESSIONS].cap;
	out->cap_subscriptions = r->tab[SHM_T_SUBS].cap;
	out->cap_routes = r->tab[SHM_T_ROUTES].cap;
	for (int i = 0; i < SHM_OVERFLOW_COUNT; i++)
		out->overflow[i] = SHM_LD(&h->overflow[i]);
	return 0;
}

int
shm_metrics_get(shm_reader *r, uint64_t out[SHM_METRIC_COUNT])
{
	if (r == NULL)
		return -EINVAL;
	/* Independent monotonic counters: each load stands alone. */
	for (int i = 0; i < SHM_METRIC_COUNT; i++)
		out[i] = SHM_LD(&shm__hdr(r)->metrics[i]);
	return 0;
}

int
shm_store_get(shm_reader *r, uint64_t out[SHM_STORE_FIG_COUNT])
{
	if (r == NULL)
		return -EINVAL;
	for (int i = 0; i < SHM_STORE_FIG_COUNT; i++)
		out[i] = SHM_LD(&shm__hdr(r)->store[i]);
	return 0;
}

int
shm_stats_get(shm_reader *r, uint64_t out[SHM_STAT_COUNT])
{
	const struct shm_stats_latch *l;

	if (r == NULL)
		return -EINVAL;
	shm__call(r);
	l = &shm__hdr(r)->stats;
	for (unsigned n = 0;; n++) {
		/* Acquire: pairs with the writer's release of the count; the
		 * copy it selects is not being written. */
		uint32_t s = SHM_LD_ACQ(&l->seq);

		for (int i = 0; i < SHM_STAT_COUNT; i++)
			out[i] = SHM_LD(&l->copy[s & 1][i]);
		/* The copy's loads before the re-check of the count. */
		shm_fence_acq();
		if (SHM_LD(&l->seq) == s)
			return 0;
		if (!shm__backoff(r, n))
			return -EAGAIN;
	}
}

static int64_t
total(shm_reader *r, int t)
{
	uint32_t n;

	if (r == NULL)
		return -EINVAL;
	n = SHM_LD(&shm__hdr(r)->occ[t].count);
	return n <= r->tab[t].cap ? (int64_t) n : -EBADMSG;
}

int64_t
shm_clients_total(shm_reader *r)
{
	return total(r, SHM_T_CLIENTS);
}

int64_t
shm_sessions_total(shm_reader *r)
{
	return total(r, SHM_T_SESSIONS);
}

int64_t
shm_subscriptions_total(shm_reader *r)
{
	return total(r, SHM_T_SUBS);
}

int64_t
shm_routes_total(shm_reader *r)
{
	return total(r, SHM_T_ROUTES);
}

/* Copies a small record (listener, plugin) under its count. */
static int
read_small(shm_reader *r, int t, uint32_t i, void *img)
{
	const unsigned char *rec = shm__rec_at(r, t, i);
	const uint32_t      *seq = (const uint32_t *) rec;

	for (unsigned n = 0;; n++) {
		/* Acquire: pairs with the writer's release of the count. */
		uint32_t s = SHM_LD_ACQ(seq);

		if (!(s & 1)) {
			shm_copy_in(img, rec, r->tab[t].rec_size);
			/* The copy before the re-check. */
			shm_fence_acq();
			if (SHM_LD(seq) == s)
				return 0;
		}
		if (!shm__backoff(r, n))
			return -EAGAIN;
	}
}

static int
small_count(shm_reader *r, int t, uint32_t *n)
{
	/* Acquire: the records before the count (append-only tables). */
	*n = SHM_LD_ACQ(&shm__hdr(r)->occ[t].count);
	return *n <= r->tab[t].cap ? 0 : -EBADMSG;
}

int
shm_listeners_each(shm_reader *r, shm_listener_cb cb, void *arg)
{
	struct shm_rec_listener img;
	shm_listener            l;
	uint32_t                n;
	int                     rc;

	if (r == NULL || cb == NULL)
		return -EINVAL;
	shm__call(r);
	rc = small_count(r, SHM_T_LISTENERS, &n);
	if (rc < 0)
		return rc;
	for (uint32_t i = 0; i < n; i++) {
		rc = read_small(r, SHM_T_LISTENERS, i, &img);
		if (rc < 0)
			return rc;
		memset(&l, 0, sizeof(l));
		copy_cstr(l.protocol, sizeof(l.protocol), img.protocol,
		    sizeof(img.protocol));
		copy_cstr(l.listen, sizeof(l.listen), img.listen,
		    sizeof(img.listen));
		l.acceptors = img.acceptors;
		l.max_clients = img.max_clients;
		l.current_clients = img.current_clients;
		memcpy(l.shutdown, img.shutdown, sizeof(l.shutdown));
		rc = cb(&l, arg);
		if (rc)
			return rc;
	}
	return (int) n;
}

int
shm_plugins_each(shm_reader *r, shm_plugin_cb cb, void *arg)
{
	struct shm_rec_plugin img;
	shm_plugin            p;
	uint32_t              n;
	int                   rc;

	if (r == NULL || cb == NULL)
		return -EINVAL;
	shm__call(r);
	rc = small_count(r, SHM_T_PLUGINS, &n);
	if (rc < 0)
		return rc;
	for (uint32_t i = 0; i < n; i++) {
		rc = read_small(r, SHM_T_PLUGINS, i, &img);
		if (rc < 0)
			return rc;
		memset(&p, 0, sizeof(p));
		copy_cstr(p.name, sizeof(p.name), img.name, sizeof(img.name));
		copy_cstr(p.version, sizeof(p.version), img.version,
		    sizeof(img.version));
		copy_cstr(p.description, sizeof(p.description),
		    img.description, sizeof(img.description));
		p.active = img.active != 0;
		rc = cb(&p, arg);
		if (rc)
			return rc;
	}
	return (int) n;
}
