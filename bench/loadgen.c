/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mqttd-loadgen: the MQTT load generator behind `./dev bench broker`.
 *
 * One process, one epoll loop, any number of connections, packets encoded
 * by hand (bench/lg_pkt.c), so the generator costs little next to the
 * broker it measures.  Subcommands:
 *
 *   run   --port P --pubs N --subs M [--qos 0|1] [--window W] [--rate R]
 *         [--warmup S] [--seconds S] [--payload B]
 *         N publishers publish to bench/<i>, M subscribers hold '#'.
 *         Closed loop: a publisher keeps at most W messages that some
 *         subscriber has not received yet, refilled once --refill N
 *         (W / 8) slots are free.  With --rate R the publishers
 *         send R msgs/s in total (open loop, still capped by W) and the
 *         end-to-end latency of each delivery is sampled.  With --pid
 *         the broker's own CPU use is reported too.
 *   idle  --port P --conns N --pid BROKER_PID [--shm PATH]
 *         Broker memory per idle connection (RssAnon of the broker, and
 *         the allocated blocks of its segment file if given).
 *   handshakes --port P [--conns N] [--seconds S] [--pid PID]
 *         new connections per second: N at a time, each through its
 *         transport's handshake (TLS: full, no resumption), CONNECT,
 *         CONNACK, DISCONNECT, close.
 *   probe --port P [--timeout S]   waits until the broker answers CONNECT
 * --transport tcp|tls|ws|wss (run, handshakes): MQTT over TCP (default),
 *         TLS, WebSocket (--path, /mqtt) or WebSocket over TLS.
 *   freeport                       prints a free TCP port on 127.0.0.1
 *
 * Every payload carries (publisher, sequence number, send time); each
 * subscriber checks it receives every publisher's sequence exactly once
 * and in order, and a lost, duplicated or reordered message, a refused
 * packet or a closed connection fails the run (exit 1, "loadgen: FAIL").
 * Results go to stdout as key=value lines.
 */
#include "config.h"

#include "bench/lg_pkt.h"
#include "bench/lg_x.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define HDR_BYTES   16 /* publisher u32, sequence u32, time u64 */
#define IN_CAP      (256 * 1024)
#define IDLE_IN_CAP 64
#define MAX_OPENING 128 /* connects in flight: stay under the backlog */
#define STALL_NS    (3 * NS)
#define NS          1000000000ull

enum role { R_PUB, R_SUB, R_IDLE };
enum cstate { C_CONNECTING, C_XSTART, C_CONNACK, C_SUBACK, C_READY };

struct buf {
	uint8_t *p;
	size_t   off, len, cap;
};

struct conn {
	int          fd;
	enum role    role;
	enum cstate  st;
	int          idx; /* within its role */
	bool         want_out, dirty;
	struct buf   in, out;
	struct lg_x *x; /* TLS / WebSocket (--transport); NULL: TCP */
};

struct pub {
	struct conn *c;
	uint64_t     sent;    /* messages written */
	uint64_t     done;    /* messages every subscriber has received */
	uint64_t     pubacks; /* QoS 1: PUBACKs from the broker */
	uint16_t    *ring;    /* receipts of in-window message seq % window */
	uint64_t     last_done, t_progress; /* for check_starved() */
	char         topic[32];
	size_t       topic_len;
};

struct sub {
	struct conn *c;
	uint64_t    *next; /* expected sequence number, per publisher */
};

static struct {
	/* options */
	int         port, npubs, nsubs, nidle, qos, window, refill, payload;
	double      rate, warmup, seconds, timeout;
	long        tick_us;
	pid_t       pid;
	const char *shm, *filter, *path;
	int         mode; /* enum lg_x_mode */

	/* state */
	int           ep, tfd, nconns, opened, opening, ready;
	struct conn  *conns;
	struct pub   *pubs;
	struct sub   *subs;
	struct conn **dirty;
	int           ndirty;
	bool          sending, measuring;
	uint64_t      deliveries, t_send0, blocked;
	uint32_t     *lat; /* latency samples, ns */
	size_t        nlat, caplat;
	uint64_t      t_recv; /* time of the read being parsed */
} g = {
	.qos = 0,
	.window = 100,
	.refill = -1, /* -1: window / 8 */
	.payload = HDR_BYTES,
	.warmup = 1,
	.seconds = 5,
	.timeout = 10,
	.tick_us = 200,
	.filter = "#",
	.ep = -1,
	.tfd = -1,
};

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)))
__attribute__((noreturn));

static void
fail(const char *fmt, ...)
{
	va_list ap;

	fputs("loadgen: FAIL: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t) ts.tv_sec * NS + (uint64_t) ts.tv_nsec;
}

static double
cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double) ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6
	    + (double) ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* CPU seconds a process (the broker) has used, from /proc/PID/stat. */
static double
proc_cpu_s(pid_t pid)
{
	char          path[64], line[1024], *p;
	unsigned long utime = 0, stime = 0;
	FILE         *f;

	if (pid <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
	f = fopen(path, "r");
	if (!f)
		fail("fopen(%s): %s (did the broker die?)", path,
		    strerror(errno));
	p = fgets(line, sizeof(line), f) ? strrchr(line, ')') : NULL;
	fclose(f);
	/* after "pid (comm)": state and 10 fields, then utime, stime */
	if (!p
	    || sscanf(p + 2,
	           "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
	           "%lu %lu",
	           &utime, &stime)
	        != 2)
		fail("cannot parse %s", path);
	return (double) (utime + stime) / (double) sysconf(_SC_CLK_TCK);
}

static void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);

	if (!p)
		fail("calloc(%zu, %zu): out of memory", n, size);
	return p;
}

static const char *
conn_name(const struct conn *c)
{
	static char       name[16];
	static const char roles[] = "psi";

	snprintf(name, sizeof(name), "%c%d", roles[c->role], c->idx);
	return name;
}

/* Room for n more bytes at the end of the output buffer. */
static uint8_t *
out_reserve(struct conn *c, size_t n)
{
	struct buf *b = &c->out;

	if (b->off == b->len)
		b->off = b->len = 0;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;

		while (cap < b->len + n)
			cap *= 2;
		b->p = realloc(b->p, cap);
		if (!b->p)
			fail("realloc(%zu): out of memory", cap);
		b->cap = cap;
	}
	return b->p + b->len;
}

static void
mark_dirty(struct conn *c)
{
	if (!c->dirty) {
		c->dirty = true;
		g.dirty[g.ndirty++] = c;
	}
}

static void
set_events(struct conn *c, bool want_out)
{
	struct epoll_event ev = {
		.events = EPOLLIN | (want_out ? EPOLLOUT : 0),
		.data.ptr = c,
	};

	if (c->want_out == want_out)
		return;
	if (epoll_ctl(g.ep, EPOLL_CTL_MOD, c->fd, &ev) < 0)
		fail("epoll_ctl(MOD): %s", strerror(errno));
	c->want_out = want_out;
}

static void
flush(struct conn *c)
{
	struct buf *b = &c->out;

	if (c->x != NULL && b->off == b->len && lg_x_pending_out(c->x)
	    && lg_x_write(c->x, NULL, 0) < 0 && errno != EAGAIN)
		fail("write(%s): %s", conn_name(c), strerror(errno));
	while (b->off < b->len) {
		ssize_t n = c->x
		    ? lg_x_write(c->x, b->p + b->off, b->len - b->off)
		    : write(c->fd, b->p + b->off, b->len - b->off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0)
			fail("write(%s): %s", conn_name(c), strerror(errno));
		b->off += (size_t) n;
	}
	if (b->off == b->len)
		b->off = b->len = 0;
	set_events(c, b->len > 0 || (c->x && lg_x_pending_out(c->x)));
}

static void
flush_dirty(void)
{
	for (int i = 0; i < g.ndirty; i++) {
		g.dirty[i]->dirty = false;
		flush(g.dirty[i]);
	}
	g.ndirty = 0;
}

static void
conn_open(struct conn *c)
{
	struct sockaddr_in sa = {
		.sin_family = AF_INET,
		.sin_port = htons((uint16_t) g.port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = c };
	int                one = 1;

	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		fail("socket: %s (raise the fd limit?)", strerror(errno));
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *) &sa, sizeof(sa)) < 0
	    && errno != EINPROGRESS)
		fail("connect(127.0.0.1:%d): %s", g.port, strerror(errno));
	c->st = C_CONNECTING;
	c->want_out = true;
	if (epoll_ctl(g.ep, EPOLL_CTL_ADD, c->fd, &ev) < 0)
		fail("epoll_ctl(ADD): %s", strerror(errno));
}

static void
open_more(void)
{
	while (g.opened < g.nconns && g.opening < MAX_OPENING) {
		conn_open(&g.conns[g.opened++]);
		g.opening++;
	}
}

static void send_connect(struct conn *c);
static void x_start(struct conn *c);

static void
connected(struct conn *c)
{
	int       err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err)
		fail("connect(%s to 127.0.0.1:%d): %s", conn_name(c), g.port,
		    strerror(err));
	if (g.mode != LG_TCP) {
		c->x = lg_x_new(g.mode, c->fd);
		if (c->x == NULL)
			fail("out of memory");
		c->st = C_XSTART;
		x_start(c);
		return;
	}
	send_connect(c);
}

/* TLS handshake, WebSocket upgrade: then CONNECT. */
static void
x_start(struct conn *c)
{
	bool out;
	int  r = lg_x_start(c->x, &out);

	if (r < 0)
		fail("%s: transport handshake failed", conn_name(c));
	if (r == 0) {
		set_events(c, out);
		return;
	}
	send_connect(c);
}

static void
send_connect(struct conn *c)
{
	char id[48];

	snprintf(id, sizeof(id), "lg%d-%s", (int) getpid(), conn_name(c));
	c->out.len += lg_connect(out_reserve(c, lg_connect_size(id)), id, 60);
	c->st = C_CONNACK;
	flush(c);
}

static void
became_ready(struct conn *c)
{
	c->st = C_READY;
	g.ready++;
	g.opening--;
	open_more();
}

static void
pub_advance(struct pub *p)
{
	uint16_t want = (uint16_t) g.nsubs;

	while (p->done < p->sent && p->ring[p->done % g.window] == want) {
		p->ring[p->done % g.window] = 0;
		p->done++;
	}
}

static uint32_t
get_u32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static void
on_publish(struct conn *c, const struct lg_publish *m)
{
	struct sub *s = &g.subs[c->idx];
	uint32_t    from, seq;
	uint64_t    sent_at;
	struct pub *p;

	if (m->topic_len && m->topic[0] == '$')
		return; /* $SYS: never matches '#', but be lenient */
	if (m->payload_len != (size_t) g.payload)
		fail("%s: payload of %zu bytes, sent %d", conn_name(c),
		    m->payload_len, g.payload);
	if (m->qos != g.qos)
		fail("%s: delivered at QoS %d, subscribed and published at %d",
		    conn_name(c), m->qos, g.qos);
	if (m->dup)
		fail("%s: DUP delivery on a live session", conn_name(c));
	from = get_u32(m->payload);
	seq = get_u32(m->payload + 4);
	memcpy(&sent_at, m->payload + 8, sizeof(sent_at));
	if (from >= (uint32_t) g.npubs)
		fail("%s: message from unknown publisher %u", conn_name(c),
		    from);
	p = &g.pubs[from];
	if (m->topic_len != p->topic_len
	    || memcmp(m->topic, p->topic, p->topic_len) != 0)
		fail("%s: message of p%u on topic '%.*s'", conn_name(c), from,
		    (int) m->topic_len, (const char *) m->topic);
	if (seq != (uint32_t) s->next[from])
		fail("%s: from p%u got seq %u, expected %llu "
		     "(lost, duplicated or reordered)",
		    conn_name(c), from, seq,
		    (unsigned long long) s->next[from]);
	s->next[from]++;
	g.deliveries++;
	if (g.measuring && g.rate > 0) {
		uint64_t d = g.t_recv > sent_at ? g.t_recv - sent_at : 0;

		if (g.nlat == g.caplat) {
			g.caplat = g.caplat ? 2 * g.caplat : 65536;
			g.lat = realloc(g.lat, g.caplat * sizeof(*g.lat));
			if (!g.lat)
				fail("realloc: out of memory");
		}
		g.lat[g.nlat++] = d > UINT32_MAX ? UINT32_MAX : (uint32_t) d;
	}
	if (m->qos == 1) {
		c->out.len += lg_puback(out_reserve(c, 4), m->packet_id);
		mark_dirty(c);
	}
	p->ring[seq % (uint32_t) g.window]++;
	pub_advance(p);
}

static void
on_packet(struct conn *c, const uint8_t *pkt, size_t hl, size_t total)
{
	struct lg_publish m;
	int               type = pkt[0] >> 4;

	switch (type) {
	case LG_CONNACK:
		if (c->st != C_CONNACK || total != 4)
			fail("%s: unexpected CONNACK", conn_name(c));
		if (pkt[3] != 0)
			fail("%s: CONNACK refused, return code %d",
			    conn_name(c), pkt[3]);
		if (c->role != R_SUB) {
			became_ready(c);
			break;
		}
		c->out.len += lg_subscribe(
		    out_reserve(c, lg_subscribe_size(g.filter)), 1, g.filter,
		    g.qos);
		c->st = C_SUBACK;
		mark_dirty(c);
		break;
	case LG_SUBACK:
		if (c->st != C_SUBACK || total != 5)
			fail("%s: unexpected SUBACK", conn_name(c));
		if (pkt[4] != g.qos)
			fail("%s: SUBACK granted 0x%02x for QoS %d",
			    conn_name(c), pkt[4], g.qos);
		became_ready(c);
		break;
	case LG_PUBLISH:
		if (c->role != R_SUB || c->st != C_READY)
			fail("%s: unexpected PUBLISH", conn_name(c));
		if (lg_parse_publish(pkt, hl, total, &m) < 0)
			fail("%s: malformed PUBLISH", conn_name(c));
		on_publish(c, &m);
		break;
	case LG_PUBACK: {
		struct pub *p = &g.pubs[c->idx];
		uint16_t    id, want;

		if (c->role != R_PUB || total != 4)
			fail("%s: unexpected PUBACK", conn_name(c));
		id = (uint16_t) (pkt[2] << 8 | pkt[3]);
		want = (uint16_t) (p->pubacks % 65535 + 1);
		if (id != want || p->pubacks >= p->sent)
			fail("%s: PUBACK for id %u, expected %u "
			     "(MQTT-4.6.0-2: in order)",
			    conn_name(c), id, want);
		p->pubacks++;
		break;
	}
	case LG_PINGRESP:
		break;
	default:
		fail("%s: unexpected packet type %d", conn_name(c), type);
	}
}

static void
on_readable(struct conn *c)
{
	struct buf *b = &c->in;
	size_t      off = 0, hl = 0;
	ssize_t     n;
	long        total;

again:
	if (b->len == b->cap)
		fail("%s: packet larger than %zu bytes", conn_name(c), b->cap);
	n = c->x ? lg_x_read(c->x, b->p + b->len, b->cap - b->len)
	         : read(c->fd, b->p + b->len, b->cap - b->len);
	if (n == 0)
		fail("%s: the broker closed the connection", conn_name(c));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0)
		fail("read(%s): %s", conn_name(c), strerror(errno));
	b->len += (size_t) n;
	if (g.rate > 0)
		g.t_recv = now_ns();
	while ((total = lg_frame(b->p + off, b->len - off, &hl)) > 0) {
		on_packet(c, b->p + off, hl, (size_t) total);
		off += (size_t) total;
	}
	if (total < 0)
		fail("%s: malformed remaining length", conn_name(c));
	memmove(b->p, b->p + off, b->len - off);
	b->len -= off;
	/* TLS or WebSocket may hold more than one read returned */
	if (c->x != NULL && lg_x_pending_in(c->x)) {
		off = 0;
		goto again;
	}
}

static void
publish(struct pub *p, uint64_t now)
{
	static uint8_t payload[4096]; /* bytes past the header stay zero */
	uint32_t       from = (uint32_t) (p - g.pubs);
	uint32_t       seq = (uint32_t) p->sent;
	size_t         size = lg_publish_size(p->topic_len, g.payload);
	uint16_t       id = (uint16_t) (p->sent % 65535 + 1);

	memcpy(payload, &from, 4);
	memcpy(payload + 4, &seq, 4);
	memcpy(payload + 8, &now, 8);
	p->c->out.len += lg_publish(out_reserve(p->c, size), p->topic,
	    p->topic_len, g.qos, id, payload, (size_t) g.payload);
	p->sent++;
	mark_dirty(p->c);
}

/*
 * Closed loop: refill a publisher's window once at least g.refill slots are
 * free, so that a broker that answers one message at a time does not make
 * the generator write one message at a time (its CPU would then measure
 * itself); the window's bound is unchanged.
 */
static void
top_up(void)
{
	uint64_t now = now_ns();

	for (int i = 0; i < g.npubs; i++) {
		struct pub *p = &g.pubs[i];

		if (p->sent - p->done > (uint64_t) (g.window - g.refill))
			continue;
		while (p->sent - p->done < (uint64_t) g.window)
			publish(p, now);
	}
}

/* Open loop: send what the schedule says is due, within the window. */
static void
on_tick(void)
{
	uint64_t ticks, now = now_ns();
	double   per_pub = g.rate / g.npubs;
	uint64_t due = (uint64_t) (per_pub * (double) (now - g.t_send0) / NS);

	if (read(g.tfd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
		fail("read(timerfd): %s", strerror(errno));
	if (!g.sending)
		return;
	for (int i = 0; i < g.npubs; i++) {
		struct pub *p = &g.pubs[i];

		while (p->sent < due) {
			if (p->sent - p->done >= (uint64_t) g.window) {
				g.blocked++;
				break;
			}
			publish(p, now);
		}
	}
}

static void
loop_once(int timeout_ms)
{
	struct epoll_event evs[256];
	int                n = epoll_wait(g.ep, evs, 256, timeout_ms);

	if (n < 0 && errno != EINTR)
		fail("epoll_wait: %s", strerror(errno));
	for (int i = 0; i < n; i++) {
		struct conn *c = evs[i].data.ptr;
		uint32_t     e = evs[i].events;

		if (!c) {
			on_tick();
			continue;
		}
		if (c->st == C_CONNECTING) {
			connected(c);
			continue;
		}
		if (c->st == C_XSTART) {
			x_start(c);
			continue;
		}
		if (e & (EPOLLIN | EPOLLERR | EPOLLHUP))
			on_readable(c);
		if (e & EPOLLOUT)
			flush(c);
	}
	if (g.sending && g.rate <= 0)
		top_up();
	flush_dirty();
}

static void
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void
setup(int npubs, int nsubs, int nidle)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };

	g.npubs = npubs;
	g.nsubs = nsubs;
	g.nidle = nidle;
	g.nconns = npubs + nsubs + nidle;
	g.conns = xcalloc((size_t) g.nconns, sizeof(*g.conns));
	g.dirty = xcalloc((size_t) g.nconns, sizeof(*g.dirty));
	g.pubs = xcalloc((size_t) npubs, sizeof(*g.pubs));
	g.subs = xcalloc((size_t) nsubs, sizeof(*g.subs));
	g.ep = epoll_create1(EPOLL_CLOEXEC);
	if (g.ep < 0)
		fail("epoll_create1: %s", strerror(errno));
	g.tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (g.tfd < 0 || epoll_ctl(g.ep, EPOLL_CTL_ADD, g.tfd, &ev) < 0)
		fail("timerfd: %s", strerror(errno));

	/* Subscribers connect first so that no message precedes them. */
	for (int i = 0; i < g.nconns; i++) {
		struct conn *c = &g.conns[i];

		c->fd = -1;
		if (i < nsubs) {
			c->role = R_SUB;
			c->idx = i;
			g.subs[i].c = c;
			g.subs[i].next = xcalloc((size_t) npubs, 8);
		} else if (i < nsubs + npubs) {
			struct pub *p = &g.pubs[i - nsubs];

			c->role = R_PUB;
			c->idx = i - nsubs;
			p->c = c;
			p->ring = xcalloc((size_t) g.window, 2);
			p->topic_len = (size_t) snprintf(
			    p->topic, sizeof(p->topic), "bench/%d", c->idx);
		} else {
			c->role = R_IDLE;
			c->idx = i - nsubs - npubs;
		}
		c->in.cap = c->role == R_IDLE ? IDLE_IN_CAP : IN_CAP;
		c->in.p = xcalloc(1, c->in.cap);
	}
}

/* Opens every connection; subscribers and publishers in that order. */
static void
connect_all(double timeout_s)
{
	uint64_t deadline = now_ns() + (uint64_t) (timeout_s * NS);

	open_more();
	while (g.ready < g.nconns) {
		loop_once(100);
		if (now_ns() > deadline)
			fail("only %d of %d connections ready after %.0f s",
			    g.ready, g.nconns, timeout_s);
	}
}

static void
start_timer(void)
{
	struct itimerspec it = {
		.it_interval = { 0, g.tick_us * 1000 },
		.it_value = { 0, g.tick_us * 1000 },
	};

	if (timerfd_settime(g.tfd, 0, &it, NULL) < 0)
		fail("timerfd_settime: %s", strerror(errno));
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;

	return x < y ? -1 : x > y;
}

static double
percentile_us(double q)
{
	size_t i = (size_t) (q * (double) (g.nlat - 1) + 0.5);

	return g.lat[i] / 1e3;
}

/* Waits until every sent message has been delivered (and acked). */
static void
drain(void)
{
	uint64_t deadline = now_ns() + 5 * NS;

	for (;;) {
		bool all = true;

		for (int i = 0; i < g.npubs; i++) {
			struct pub *p = &g.pubs[i];

			if (p->done < p->sent
			    || (g.qos && p->pubacks < p->sent))
				all = false;
		}
		if (all)
			break;
		if (now_ns() > deadline) {
			for (int i = 0; i < g.npubs; i++)
				fprintf(stderr,
				    "loadgen: p%d sent %llu, delivered to "
				    "all %llu, acked %llu\n",
				    i, (unsigned long long) g.pubs[i].sent,
				    (unsigned long long) g.pubs[i].done,
				    (unsigned long long) g.pubs[i].pubacks);
			fail("messages not delivered within 5 s of the end");
		}
		loop_once(10);
	}
	for (int s = 0; s < g.nsubs; s++)
		for (int p = 0; p < g.npubs; p++)
			if (g.subs[s].next[p] != g.pubs[p].sent)
				fail("s%d received %llu of p%d's %llu", s,
				    (unsigned long long) g.subs[s].next[p], p,
				    (unsigned long long) g.pubs[p].sent);
}

static void
disconnect_all(void)
{
	static const uint8_t disconnect[2] = { 0xe0, 0 };

	for (int i = 0; i < g.nconns; i++) {
		if (g.conns[i].fd < 0)
			continue;
		if ((g.conns[i].x ? lg_x_write(g.conns[i].x, disconnect, 2)
		                  : write(g.conns[i].fd, disconnect, 2))
		    < 0) {
			/* best effort: the broker may be gone already */
		}
		lg_x_free(g.conns[i].x);
		g.conns[i].x = NULL;
		close(g.conns[i].fd);
	}
}

/*
 * A publisher whose window stays full while others flow lost a message:
 * say so now rather than after the run.
 */
static void
check_starved(uint64_t now)
{
	for (int i = 0; i < g.npubs; i++) {
		struct pub *p = &g.pubs[i];

		if (p->done != p->last_done) {
			p->last_done = p->done;
			p->t_progress = now;
		} else if (now - p->t_progress > STALL_NS) {
			fail("p%d: %llu sent, %llu delivered to every "
			     "subscriber, no progress for 3 s (message lost?)",
			    i, (unsigned long long) p->sent,
			    (unsigned long long) p->done);
		}
	}
}

static int
cmd_run(void)
{
	uint64_t t_start, t_end, t_last, last_deliveries = 0, d0 = 0,
	                                 done0 = 0;
	uint64_t done1 = 0, measure_ns = (uint64_t) (g.seconds * NS);
	double   cpu0 = 0, bcpu0 = 0;

	if (g.npubs < 1 || g.nsubs < 1 || g.window < 1 || g.window > 65535)
		fail("run needs --pubs >= 1, --subs >= 1, 1 <= --window");
	if (g.qos < 0 || g.qos > 1)
		fail("--qos must be 0 or 1");
	if (g.refill < 0)
		g.refill = g.window / 8 > 1 ? g.window / 8 : 1;
	if (g.refill < 1 || g.refill > g.window)
		fail("--refill must be 1..window");
	setup(g.npubs, g.nsubs, 0);
	connect_all(g.timeout);

	g.sending = true;
	g.t_send0 = now_ns();
	if (g.rate > 0)
		start_timer();
	t_start = g.t_send0 + (uint64_t) (g.warmup * NS);
	t_end = t_start + measure_ns;
	t_last = g.t_send0;
	for (int i = 0; i < g.npubs; i++)
		g.pubs[i].t_progress = g.t_send0;
	for (;;) {
		uint64_t now = now_ns();

		if (!g.measuring && now >= t_start) {
			g.measuring = true;
			d0 = g.deliveries;
			for (int i = 0; i < g.npubs; i++)
				done0 += g.pubs[i].done;
			cpu0 = cpu_s();
			bcpu0 = proc_cpu_s(g.pid);
			t_start = now;
			t_end = now + measure_ns;
		}
		if (g.measuring && now >= t_end)
			break;
		if (g.deliveries != last_deliveries) {
			last_deliveries = g.deliveries;
			t_last = now;
		} else if (now - t_last > STALL_NS) {
			fail("no delivery for 3 s (%llu delivered so far)",
			    (unsigned long long) g.deliveries);
		}
		check_starved(now);
		loop_once(g.rate > 0 ? 1 : 10);
	}
	t_end = now_ns();
	{
		double   secs = (double) (t_end - t_start) / NS;
		double   cpu = cpu_s() - cpu0;
		double   bcpu = proc_cpu_s(g.pid) - bcpu0;
		uint64_t deliveries = g.deliveries - d0;

		for (int i = 0; i < g.npubs; i++)
			done1 += g.pubs[i].done;
		g.measuring = false;
		g.sending = false;
		drain();
		printf("seconds=%.3f\n", secs);
		printf("deliveries=%llu\n", (unsigned long long) deliveries);
		printf("deliveries_per_s=%.0f\n", (double) deliveries / secs);
		printf("msgs_per_s=%.0f\n", (double) (done1 - done0) / secs);
		printf("gen_cpu_pct=%.1f\n", 100 * cpu / secs);
		if (g.pid > 0)
			printf("broker_cpu_pct=%.1f\n"
			       "deliveries_per_broker_cpu_s=%.0f\n",
			    100 * bcpu / secs,
			    bcpu > 0 ? (double) deliveries / bcpu : 0);
	}
	if (g.rate > 0) {
		if (g.nlat == 0)
			fail("no latency sample");
		qsort(g.lat, g.nlat, sizeof(*g.lat), cmp_u32);
		printf("samples=%zu\n", g.nlat);
		printf("p50_us=%.1f\n", percentile_us(0.50));
		printf("p99_us=%.1f\n", percentile_us(0.99));
		printf("max_us=%.1f\n", percentile_us(1.0));
		printf(
		    "window_blocked=%llu\n", (unsigned long long) g.blocked);
	}
	disconnect_all();
	return 0;
}

/*
 * handshakes: --conns N connections at a time, each opened, through its
 * transport's handshake (TLS: a full ECDHE one, no session reuse), MQTT
 * CONNECT and CONNACK, DISCONNECT and closed, then opened again.
 */
struct hs {
	int          fd, st; /* 0 connecting, 1 transport, 2 CONNACK */
	struct lg_x *x;
	size_t       got;
};

static void
hs_open(struct hs *h, int slot)
{
	struct sockaddr_in sa = {
		.sin_family = AF_INET,
		.sin_port = htons((uint16_t) g.port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	struct epoll_event ev
	    = { .events = EPOLLOUT, .data.u32 = (uint32_t) slot };
	int one = 1;

	h->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (h->fd < 0)
		fail("socket: %s", strerror(errno));
	setsockopt(h->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(h->fd, (struct sockaddr *) &sa, sizeof(sa)) < 0
	    && errno != EINPROGRESS)
		fail("connect(127.0.0.1:%d): %s", g.port, strerror(errno));
	h->st = 0;
	h->got = 0;
	if (epoll_ctl(g.ep, EPOLL_CTL_ADD, h->fd, &ev) < 0)
		fail("epoll_ctl(ADD): %s", strerror(errno));
}

static void
hs_events(struct hs *h, int slot, bool out)
{
	struct epoll_event ev = { .events = EPOLLIN | (out ? EPOLLOUT : 0),
		.data.u32 = (uint32_t) slot };

	if (epoll_ctl(g.ep, EPOLL_CTL_MOD, h->fd, &ev) < 0)
		fail("epoll_ctl(MOD): %s", strerror(errno));
}

/* Advances one connection; true when it completed a round. */
static bool
hs_step(struct hs *h, int slot, uint64_t *seq)
{
	static const uint8_t disconnect[2] = { 0xe0, 0 };
	uint8_t              pkt[64], in[16];
	char                 id[40];
	bool                 out = false;
	ssize_t              n;

	if (h->st == 0) {
		int       err = 0;
		socklen_t len = sizeof(err);

		getsockopt(h->fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err)
			fail("connect: %s", strerror(err));
		h->x = lg_x_new(g.mode, h->fd);
		h->st = 1;
	}
	if (h->st == 1) {
		int r = h->x ? lg_x_start(h->x, &out) : 1;

		if (r < 0)
			fail("handshake failed");
		if (r == 0) {
			hs_events(h, slot, out);
			return false;
		}
		snprintf(id, sizeof(id), "hs%d-%llu", (int) getpid(),
		    (unsigned long long) (*seq)++);
		n = (ssize_t) lg_connect(pkt, id, 60);
		if ((h->x ? lg_x_write(h->x, pkt, (size_t) n)
		          : write(h->fd, pkt, (size_t) n))
		    != n)
			fail("CONNECT not written at once");
		h->st = 2;
		hs_events(h, slot, false);
	}
	n = h->x ? lg_x_read(h->x, in, 4 - h->got)
	         : read(h->fd, in, 4 - h->got);
	if (n < 0 && errno == EAGAIN)
		return false;
	if (n <= 0)
		fail("no CONNACK: %s", n ? strerror(errno) : "closed");
	h->got += (size_t) n;
	if (h->got < 4)
		return false;
	if ((h->x ? lg_x_write(h->x, disconnect, 2)
	          : write(h->fd, disconnect, 2))
	    < 0) {
		/* best effort */
	}
	lg_x_free(h->x);
	h->x = NULL;
	close(h->fd);
	hs_open(h, slot);
	return true;
}

static int
cmd_handshakes(void)
{
	int                n = g.nidle > 0 ? g.nidle : 8;
	struct hs         *h = xcalloc((size_t) n, sizeof(*h));
	uint64_t           seq = 0, done = 0, t0, t_start, t_end;
	double             cpu0 = 0, bcpu0 = 0;
	bool               measuring = false;
	struct epoll_event evs[64];

	g.ep = epoll_create1(EPOLL_CLOEXEC);
	if (g.ep < 0)
		fail("epoll_create1: %s", strerror(errno));
	for (int i = 0; i < n; i++)
		hs_open(&h[i], i);
	t0 = now_ns();
	t_start = t0 + (uint64_t) (g.warmup * NS);
	t_end = t_start + (uint64_t) (g.seconds * NS);
	for (;;) {
		uint64_t now = now_ns();
		int      k;

		if (!measuring && now >= t_start) {
			measuring = true;
			done = 0;
			cpu0 = cpu_s();
			bcpu0 = proc_cpu_s(g.pid);
			t_start = now;
			t_end = now + (uint64_t) (g.seconds * NS);
		}
		if (measuring && now >= t_end)
			break;
		k = epoll_wait(g.ep, evs, 64, 100);
		if (k < 0 && errno != EINTR)
			fail("epoll_wait: %s", strerror(errno));
		for (int i = 0; i < k; i++) {
			int slot = (int) evs[i].data.u32;

			if (hs_step(&h[slot], slot, &seq))
				done++;
		}
	}
	{
		double secs = (double) (now_ns() - t_start) / NS;
		double cpu = cpu_s() - cpu0, bcpu = proc_cpu_s(g.pid) - bcpu0;

		printf("seconds=%.3f\n", secs);
		printf("handshakes=%llu\n", (unsigned long long) done);
		printf("handshakes_per_s=%.0f\n", (double) done / secs);
		printf("gen_cpu_pct=%.1f\n", 100 * cpu / secs);
		if (g.pid > 0)
			printf("broker_cpu_pct=%.1f\n", 100 * bcpu / secs);
	}
	return 0;
}

/* RssAnon of a process, in kB. */
static long
rss_anon_kb(pid_t pid)
{
	char  path[64], line[256];
	long  kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int) pid);
	f = fopen(path, "r");
	if (!f)
		fail("fopen(%s): %s (is the broker running?)", path,
		    strerror(errno));
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "RssAnon: %ld kB", &kb) == 1)
			break;
	fclose(f);
	if (kb < 0)
		fail("no RssAnon in %s", path);
	return kb;
}

/* Allocated bytes of the segment file (tmpfs allocates on first touch). */
static long long
shm_bytes(void)
{
	struct stat st;

	if (!g.shm)
		return 0;
	if (stat(g.shm, &st) < 0)
		fail("stat(%s): %s", g.shm, strerror(errno));
	return (long long) st.st_blocks * 512;
}

static int
cmd_idle(void)
{
	long      rss0, rss1;
	long long seg0, seg1;
	uint64_t  settle;

	if (g.nidle < 1 || g.pid <= 0)
		fail("idle needs --conns N and --pid BROKER_PID");
	setup(0, 0, g.nidle);
	rss0 = rss_anon_kb(g.pid);
	seg0 = shm_bytes();
	connect_all(60);
	settle = now_ns() + NS;
	while (now_ns() < settle)
		loop_once(100);
	rss1 = rss_anon_kb(g.pid);
	seg1 = shm_bytes();
	printf("conns=%d\n", g.nidle);
	printf("rss_before_kb=%ld\nrss_after_kb=%ld\n", rss0, rss1);
	printf("idle_kb_per_conn=%.3f\n", (double) (rss1 - rss0) / g.nidle);
	if (g.shm)
		printf("segment_kb_per_conn=%.3f\n",
		    (double) (seg1 - seg0) / 1024 / g.nidle);
	disconnect_all();
	return 0;
}

/* One blocking CONNECT/CONNACK exchange; 0 once the broker accepts. */
static int
probe_once(void)
{
	struct sockaddr_in sa = {
		.sin_family = AF_INET,
		.sin_port = htons((uint16_t) g.port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	struct timeval tv = { .tv_sec = 1 };
	uint8_t        pkt[64], ack[4];
	size_t         n = lg_connect(pkt, "lg-probe", 10);
	int            fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int            ok = -1;

	if (fd < 0)
		fail("socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0
	    && write(fd, pkt, n) == (ssize_t) n
	    && recv(fd, ack, 4, MSG_WAITALL) == 4 && ack[0] == 0x20
	    && ack[3] == 0) {
		ok = 0;
		if (write(fd, "\xe0\x00", 2) < 0) {
			/* best effort */
		}
	}
	close(fd);
	return ok;
}

static int
cmd_probe(void)
{
	uint64_t deadline = now_ns() + (uint64_t) (g.timeout * NS);

	while (probe_once() < 0) {
		if (now_ns() > deadline)
			fail("no CONNACK from 127.0.0.1:%d within %.0f s",
			    g.port, g.timeout);
		usleep(50000);
	}
	return 0;
}

static int
cmd_freeport(void)
{
	struct sockaddr_in sa = {
		.sin_family = AF_INET,
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	socklen_t len = sizeof(sa);
	int       fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *) &sa, len) < 0
	    || getsockname(fd, (struct sockaddr *) &sa, &len) < 0)
		fail("bind(127.0.0.1:0): %s", strerror(errno));
	printf("%d\n", ntohs(sa.sin_port));
	close(fd);
	return 0;
}

static void
usage(void)
{
	fputs("usage: mqttd-loadgen run --port P --pubs N --subs M [--qos Q]\n"
	      "           [--window W] [--refill N] [--rate R] [--warmup S]\n"
	      "           [--seconds S] [--payload B] [--tick-us U] [--filter "
	      "F]\n"
	      "           [--pid PID]\n"
	      "       mqttd-loadgen idle --port P --conns N --pid PID "
	      "[--shm PATH]\n"
	      "       mqttd-loadgen probe --port P [--timeout S]\n"
	      "       mqttd-loadgen handshakes --port P [--conns N] "
	      "[--seconds S] [--pid PID]\n"
	      "       (run, handshakes: [--transport tcp|tls|ws|wss] "
	      "[--path /mqtt])\n"
	      "       mqttd-loadgen freeport\n",
	    stderr);
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "port", required_argument, NULL, 'P' },
		{ "pubs", required_argument, NULL, 'p' },
		{ "subs", required_argument, NULL, 's' },
		{ "conns", required_argument, NULL, 'n' },
		{ "qos", required_argument, NULL, 'q' },
		{ "window", required_argument, NULL, 'w' },
		{ "refill", required_argument, NULL, 'R' },
		{ "rate", required_argument, NULL, 'r' },
		{ "warmup", required_argument, NULL, 'W' },
		{ "seconds", required_argument, NULL, 'S' },
		{ "payload", required_argument, NULL, 'b' },
		{ "tick-us", required_argument, NULL, 't' },
		{ "filter", required_argument, NULL, 'f' },
		{ "pid", required_argument, NULL, 'i' },
		{ "shm", required_argument, NULL, 'm' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "transport", required_argument, NULL, 'x' },
		{ "path", required_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cmd;
	int         opt;

	if (argc < 2)
		usage();
	cmd = argv[1];
	optind++;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'P':
			g.port = atoi(optarg);
			break;
		case 'p':
			g.npubs = atoi(optarg);
			break;
		case 's':
			g.nsubs = atoi(optarg);
			break;
		case 'n':
			g.nidle = atoi(optarg);
			break;
		case 'q':
			g.qos = atoi(optarg);
			break;
		case 'w':
			g.window = atoi(optarg);
			break;
		case 'R':
			g.refill = atoi(optarg);
			break;
		case 'r':
			g.rate = atof(optarg);
			break;
		case 'W':
			g.warmup = atof(optarg);
			break;
		case 'S':
			g.seconds = atof(optarg);
			break;
		case 'b':
			g.payload = atoi(optarg);
			break;
		case 't':
			g.tick_us = atol(optarg);
			break;
		case 'f':
			g.filter = optarg;
			break;
		case 'i':
			g.pid = (pid_t) atoi(optarg);
			break;
		case 'm':
			g.shm = optarg;
			break;
		case 'T':
			g.timeout = atof(optarg);
			break;
		case 'x':
			g.mode = lg_x_mode_parse(optarg);
			if (g.mode < 0)
				fail(
				    "--transport must be tcp, tls, ws or wss");
			break;
		case 'a':
			g.path = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if (g.payload < HDR_BYTES || g.payload > 4096)
		fail("--payload must be %d..4096 bytes", HDR_BYTES);
	if (g.tick_us < 1 || g.tick_us >= 1000000)
		fail("--tick-us must be 1..999999");
	signal(SIGPIPE, SIG_IGN);
	raise_nofile();
	lg_x_init(g.mode, g.path);
	if (strcmp(cmd, "freeport") == 0)
		return cmd_freeport();
	if (g.port <= 0 || g.port > 65535)
		fail("--port is required");
	if (strcmp(cmd, "run") == 0)
		return cmd_run();
	if (strcmp(cmd, "idle") == 0)
		return cmd_idle();
	if (strcmp(cmd, "probe") == 0)
		return cmd_probe();
	if (strcmp(cmd, "handshakes") == 0)
		return cmd_handshakes();
	usage();
}
