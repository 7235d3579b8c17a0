/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * col: the segment's life (create, leftover check, close), its header,
 * the heartbeat, counters, stats latch and the two small tables.
 *
 * Creation order matters to readers: pid first (so a crashed half-made
 * segment can be recognised as a leftover), then everything else, then the
 * magic with a release store; a reader that sees the magic sees the rest.
 */
#include "config.h"

#include "collector/col_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

/* One line through the process's logger (or on stderr without one). */
static void __attribute__((format(printf, 3, 4)))
col_log(const col *c, int level, const char *fmt, ...)
{
	char    line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (c->log != NULL)
		c->log(level, "col: %s", line);
	else
		fprintf(stderr, "col: %s: %s\n",
		    level == COL_LOG_ERROR ? "error" : "warn", line);
}

static uint64_t
random64(void)
{
	uint64_t v = 0;

	if (getrandom(&v, sizeof(v), 0) != (ssize_t) sizeof(v)) {
		/* getrandom only fails before the pool is seeded; fall back
		 * to a value that still differs between starts. */
		v = (uint64_t) shm_heartbeat_clock_ms() * 0x9e3779b97f4a7c15ull
		    ^ (uint64_t) getpid();
	}
	return v;
}

/*
 * A segment of our name already exists: remove it if its broker is gone
 * (pid dead, or zero because it died while creating), else -EEXIST.
 * only_ours: an object of another user is none of our business (its pid
 * field could name any live process) and is left alone.
 */
static int
remove_leftover(const col *c, const char *name, bool only_ours)
{
	struct stat st;
	int32_t     pid = 0;
	int         fd;

	fd = shm_open(name, O_RDONLY, 0);
	if (fd < 0)
		return errno == ENOENT || errno == EACCES ? 0 : -errno;
	if (fstat(fd, &st) < 0 || (only_ours && st.st_uid != geteuid())) {
		close(fd);
		return 0;
	}
	if (st.st_size >= (off_t) sizeof(struct shm_hdr)) {
		if (pread(fd, &pid, sizeof(pid), offsetof(struct shm_hdr, pid))
		    != (ssize_t) sizeof(pid))
			pid = 0;
	}
	close(fd);
	if (pid > 0 && (kill(pid, 0) == 0 || errno != ESRCH))
		return -EEXIST;
	if (shm_unlink(name) < 0 && errno != ENOENT) {
		int e = errno;

		col_log(
		    c, COL_LOG_ERROR, "shm_unlink(%s): %s", name, strerror(e));
		return -e;
	}
	return 0;
}

static int
create_fd(const col *c, const char *name)
{
	int fd;

	for (int tries = 0; tries < 2; tries++) {
		fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0640);
		if (fd >= 0)
			return fd;
		if (errno != EEXIST)
			break;
		int rc = remove_leftover(c, name, false);
		if (rc < 0)
			return rc;
	}
	int e = errno;
	col_log(c, COL_LOG_ERROR, "shm_open(%s): %s", name, strerror(e));
	return -e;
}

static void
copy_name(char *dst, size_t n, const char *src)
{
	if (src == NULL)
		src = "";
	snprintf(dst, n, "%s", src);
}

static void
fill_header(col *c, const struct col_config *cfg)
{
	struct shm_hdr *h = c->hdr;

	h->layout_version = SHM_LAYOUT_VERSION;
	h->hdr_size = sizeof(*h);
	h->size = c->size;
	h->boot_id = random64();
	h->hash_seed = c->seed;
	h->started_at = (int64_t) time(NULL);
	copy_name(h->node, sizeof(h->node),
	    cfg->node ? cfg->node : "mqttd@127.0.0.1");
	copy_name(h->version, sizeof(h->version), cfg->version);
	copy_name(h->sysdescr, sizeof(h->sysdescr),
	    cfg->sysdescr ? cfg->sysdescr : "mqttd");
	h->proc.heartbeat_ms = shm_heartbeat_clock_ms();
}

/*
 * The object is sparse: its pages are allocated on first touch, and a
 * touch that finds tmpfs full is a SIGBUS in the broker.  So refuse a
 * size the filesystem could not hold right now (a container's 64 MiB
 * /dev/shm, say) instead of dying later.
 */
static bool
room_for(int fd, size_t size)
{
	struct statvfs sv;

	if (fstatvfs(fd, &sv) < 0)
		return true; /* cannot tell: let ftruncate decide */
	return (uint64_t) sv.f_bavail * sv.f_frsize >= size;
}

static int
map_segment(col *c, const struct col_config *cfg)
{
	struct shm_hdr layout;
	int            fd;
	void          *p;

	memset(&layout, 0, sizeof(layout));
	c->size = col__layout(&layout, cfg);
	if (c->size == 0)
		return -EINVAL;
	fd = create_fd(c, cfg->shm_name);
	if (fd < 0)
		return fd;
	if (!room_for(fd, c->size)) {
		col_log(c, COL_LOG_ERROR,
		    "%s: %zu bytes do not fit the free space of its "
		    "filesystem (fstatvfs); lower the capacities",
		    cfg->shm_name, c->size);
		close(fd);
		shm_unlink(cfg->shm_name);
		return -ENOSPC;
	}
	/* umask may have cleared group read; the mode is part of the
	 * contract readers check. */
	if (fchmod(fd, 0640) < 0 || ftruncate(fd, (off_t) c->size) < 0) {
		int e = errno;
		col_log(c, COL_LOG_ERROR, "fchmod/ftruncate(%s, %zu): %s",
		    cfg->shm_name, c->size, strerror(e));
		close(fd);
		shm_unlink(cfg->shm_name);
		return -e;
	}
	p = mmap(NULL, c->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		int e = errno;
		col_log(c, COL_LOG_ERROR, "mmap(%s, %zu): %s", cfg->shm_name,
		    c->size, strerror(e));
		shm_unlink(cfg->shm_name);
		return -e;
	}
	c->hdr = p;
	/* No reader trusts the segment before the magic; the pid is only
	 * read by a broker deciding whether this is a leftover. */
	SHM_ST(&c->hdr->pid, (int32_t) getpid());
	memcpy(c->hdr->tables, layout.tables, sizeof(layout.tables));
	c->hdr->arena_off = layout.arena_off;
	c->hdr->arena_size = layout.arena_size;
	return 0;
}

/*
 * The name of a state directory's segment: a fresh random one, after
 * removing the segment of a previous broker that died without cleaning up
 * (its record is the only place its name is known).  A live previous
 * broker is -EEXIST: one broker per state directory.
 */
static int
name_for_dir(col *c, const char *dir)
{
	char old[64];
	int  rc = shm_name_lookup(dir, old, sizeof(old));

	if (rc == 0) {
		rc = remove_leftover(c, old, true);
		if (rc == -EEXIST)
			col_log(c, COL_LOG_ERROR,
			    "%s: the broker of segment %s is still running",
			    dir, old);
	} else if (rc != -ENOENT) {
		/* Not ours or not a name: never followed, replaced below. */
		col_log(c, COL_LOG_WARN, "%s/%s: %s (replacing it)", dir,
		    SHM_RECORD_FILE, strerror(-rc));
		rc = 0;
	} else {
		rc = 0;
	}
	if (rc == 0)
		rc = shm_name_random(c->name, sizeof(c->name));
	if (rc == 0 && (c->dir = strdup(dir)) == NULL)
		rc = -ENOMEM;
	return rc;
}

static void
col_free(col *c)
{
	free(c->dir);
	free(c);
}

int
col_open(col **out, const struct col_config *cfg)
{
	struct col_config named;
	col              *c;
	int               rc;

	*out = NULL;
	if (cfg == NULL
	    || (cfg->state_dir == NULL
	        && (cfg->shm_name == NULL || cfg->shm_name[0] != '/')))
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return -ENOMEM;
	c->log = cfg->log;
	if (cfg->state_dir != NULL) {
		rc = name_for_dir(c, cfg->state_dir);
		if (rc < 0) {
			col_free(c);
			return rc;
		}
	} else {
		copy_name(c->name, sizeof(c->name), cfg->shm_name);
	}
	named = *cfg;
	named.shm_name = c->name;
	cfg = &named;
	c->seed = random64();
	rc = map_segment(c, cfg);
	if (rc < 0) {
		col_free(c);
		return rc;
	}
	fill_header(c, cfg);
	rc = col__tabs_init(c);
	if (rc < 0)
		goto fail;
	/* Release: the whole header and layout before the magic that makes
	 * readers trust them (pairs with the reader's acquire load). */
	SHM_ST_REL(&c->hdr->magic, SHM_MAGIC);
	if (c->dir != NULL) {
		rc = shm_name_record(c->dir, c->name);
		if (rc < 0) {
			col_log(c, COL_LOG_ERROR, "recording %s in %s/%s: %s",
			    c->name, c->dir, SHM_RECORD_FILE, strerror(-rc));
			goto fail;
		}
	}
	*out = c;
	return 0;
fail:
	munmap(c->hdr, c->size);
	shm_unlink(c->name);
	col__tabs_fini(c);
	col_free(c);
	return rc;
}

void
col_close(col **cp)
{
	col *c = cp ? *cp : NULL;

	if (c == NULL)
		return;
	/* Readers still mapping the unlinked object see a stopped broker. */
	SHM_ST(&c->hdr->closed, 1u);
	if (c->dir != NULL)
		(void) shm_name_forget(c->dir, c->name);
	shm_unlink(c->name);
	munmap(c->hdr, c->size);
	col__tabs_fini(c);
	col_free(c);
	*cp = NULL;
}

void
col_heartbeat(col *c, const struct col_proc *p)
{
	struct shm_proc *pr;

	if (c == NULL)
		return;
	pr = &c->hdr->proc;
	col__begin(&pr->seq);
	SHM_ST(&pr->heartbeat_ms, shm_heartbeat_clock_ms());
	if (p != NULL) {
		SHM_ST(&pr->mem_total, p->mem_total);
		SHM_ST(&pr->mem_used, p->mem_used);
		SHM_ST(&pr->fds_used, p->fds_used);
		SHM_ST(&pr->fds_max, p->fds_max);
		SHM_ST(&pr->clients_max_conf, p->clients_max_conf);
	}
	col__end(&pr->seq);
}

void
col__overflow(col *c, enum shm_overflow o)
{
	/* Single writer: a relaxed load-add-store is exact. */
	SHM_ST(&c->hdr->overflow[o], c->hdr->overflow[o] + 1);
}

void
col_metric_add(col *c, enum shm_metric m, uint64_t n)
{
	if (c == NULL || (unsigned) m >= SHM_METRIC_COUNT)
		return;
	/* Single writer: readers load each counter on its own, so no
	 * ordering is needed, only an untorn 64-bit store. */
	SHM_ST(&c->hdr->metrics[m], c->hdr->metrics[m] + n);
}

void
col_metric_set(col *c, enum shm_metric m, uint64_t v)
{
	if (c == NULL || (unsigned) m >= SHM_METRIC_COUNT)
		return;
	SHM_ST(&c->hdr->metrics[m], v);
}

void
col_store_set(col *c, enum shm_store_fig f, uint64_t v)
{
	if (c == NULL || (unsigned) f >= SHM_STORE_FIG_COUNT)
		return;
	SHM_ST(&c->hdr->store[f], v);
}

void
col_stats_set(col *c, const uint64_t stats[SHM_STAT_COUNT])
{
	struct shm_stats_latch *l;

	if (c == NULL)
		return;
	l = &c->hdr->stats;
	/* Latch: the odd count steers readers to copy[1] while copy[0] is
	 * written, the even count back to copy[0] while copy[1] is.  Each
	 * fence orders the count store against the copy stores after it
	 * (pairs with the reader's acquire load and acquire fence). */
	SHM_ST(&l->seq, l->seq + 1);
	shm_fence_rel(); /* odd count before the copy[0] stores */
	for (int i = 0; i < SHM_STAT_COUNT; i++)
		SHM_ST(&l->copy[0][i], stats[i]);
	/* Release: copy[0] complete before the count points readers at it. */
	SHM_ST_REL(&l->seq, l->seq + 1);
	shm_fence_rel(); /* even count before the copy[1] stores */
	for (int i = 0; i < SHM_STAT_COUNT; i++)
		SHM_ST(&l->copy[1][i], stats[i]);
}

/* ---- listeners and plugins: append-only small tables ---- */

static void
store_cstr(char *dst, size_t cap, const char *src)
{
	char buf[256];

	memset(buf, 0, sizeof(buf));
	copy_name(buf, cap < sizeof(buf) ? cap : sizeof(buf), src);
	shm_store_bytes(dst, buf, cap);
}

col_ref
col_listener_add(col *c, const char *protocol, const char *listen,
    uint32_t acceptors, uint32_t max_clients)
{
	struct col_tab          *t;
	struct shm_rec_listener *r;
	uint32_t                 n;

	if (c == NULL)
		return COL_NONE;
	t = &c->t[SHM_T_LISTENERS];
	n = t->occh->count;
	if (n >= t->cap)
		return COL_NONE;
	r = col__rec(t, n);
	col__begin(&r->seq);
	store_cstr(r->protocol, sizeof(r->protocol), protocol);
	store_cstr(r->listen, sizeof(r->listen), listen);
	SHM_ST(&r->acceptors, acceptors);
	SHM_ST(&r->max_clients, max_clients);
	SHM_ST(&r->current_clients, 0u);
	SHM_ST(&r->gen, r->gen + 1);
	col__end(&r->seq);
	/* Release: the record before the count that exposes it. */
	SHM_ST_REL(&t->occh->count, n + 1);
	return n + 1;
}

static struct shm_rec_listener *
listener_of(col *c, col_ref ref)
{
	struct col_tab *t;

	if (c == NULL || ref == COL_NONE)
		return NULL;
	t = &c->t[SHM_T_LISTENERS];
	if (ref > t->occh->count)
		return NULL;
	return col__rec(t, ref - 1);
}

void
col_listener_clients(col *c, col_ref ref, uint32_t current)
{
	struct shm_rec_listener *r = listener_of(c, ref);

	if (r == NULL)
		return;
	col__begin(&r->seq);
	SHM_ST(&r->current_clients, current);
	col__end(&r->seq);
}

void
col_listener_shutdown(col *c, col_ref ref, enum shm_shutdown why)
{
	struct shm_rec_listener *r = listener_of(c, ref);

	if (r == NULL || (unsigned) why >= SHM_SHUTDOWN_COUNT)
		return;
	col__begin(&r->seq);
	SHM_ST(&r->shutdown[why], r->shutdown[why] + 1);
	col__end(&r->seq);
}

col_ref
col_plugin_add(col *c, const char *name, const char *version,
    const char *description, bool active)
{
	struct col_tab        *t;
	struct shm_rec_plugin *r;
	uint32_t               n;

	if (c == NULL)
		return COL_NONE;
	t = &c->t[SHM_T_PLUGINS];
	n = t->occh->count;
	if (n >= t->cap)
		return COL_NONE;
	r = col__rec(t, n);
	col__begin(&r->seq);
	store_cstr(r->name, sizeof(r->name), name);
	store_cstr(r->version, sizeof(r->version), version);
	store_cstr(r->description, sizeof(r->description), description);
	SHM_ST(&r->active, (uint32_t) active);
	SHM_ST(&r->gen, r->gen + 1);
	col__end(&r->seq);
	/* Release: the record before the count that exposes it. */
	SHM_ST_REL(&t->occh->count, n + 1);
	return n + 1;
}

void
col_plugin_active(col *c, col_ref ref, bool active)
{
	struct col_tab        *t;
	struct shm_rec_plugin *r;

	if (c == NULL || ref == COL_NONE)
		return;
	t = &c->t[SHM_T_PLUGINS];
	if (ref > t->occh->count)
		return;
	r = col__rec(t, ref - 1);
	col__begin(&r->seq);
	SHM_ST(&r->active, (uint32_t) active);
	col__end(&r->seq);
}
