/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mq_net: sockets and the event loop.
 *
 * One epoll set holds the listeners, the connections, the control socket
 * and a signalfd.  Each iteration: wait (timeout = earliest timer), then
 * dispatch the ready fds, run due timers, tear down connections closed
 * meanwhile, flush every connection that got output (write before
 * sleeping; EPOLLOUT only after EAGAIN), and mirror counters to the
 * segment.  Level-triggered: one read per ready connection per iteration
 * keeps a busy client from starving the others.
 */
#include "config.h"

#include "broker/mq_authq.h"
#include "broker/mq_backend.h"
#include "broker/mq_dbauth.h"
#include "broker/mq_int.h"
#include "broker/mq_plugins.h"
#include "broker/mq_tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define RBUF_SIZE (64 * 1024)

static uint8_t rbuf[RBUF_SIZE];

struct sigsrc {
	uint8_t kind;
	int     fd;
};

void
mq__conn_pending(mq_conn *c)
{
	if (!c->pending) {
		c->pending = true;
		c->next_pending = c->b->pending;
		c->b->pending = c;
	}
}

/* A connection waiting for its password check reads nothing: epoll
 * only tells when the peer hangs up. */
static int
conn_mod(mq_conn *c, bool out)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
	int                rc;

	if (c->state == MQ_CS_AUTH)
		ev.events = EPOLLRDHUP;
	/* Waiting for an HTTP ACL answer: no reads, but a half-closed
	 * peer (PUBLISH, DISCONNECT, close) is no reason to stop. */
	else if (c->http_acl != NULL)
		ev.events = 0;
	if (out)
		ev.events |= EPOLLOUT;
	if (epoll_ctl(c->b->epfd, EPOLL_CTL_MOD, c->fd, &ev) == 0)
		return 0;
	rc = -errno;
	mq_err("epoll_ctl(MOD, %d): %s", c->fd, strerror(-rc));
	return rc;
}

static void
want_out(mq_conn *c, bool on)
{
	if (c->want_out != on && conn_mod(c, on) == 0)
		c->want_out = on;
}

void
mq__conn_watch(mq_conn *c)
{
	if (c->fd >= 0)
		conn_mod(c, c->want_out);
}

static void
out_drained(mq_conn *c)
{
	free(c->out.p);
	memset(&c->out, 0, sizeof(c->out));
}

/* flush() through a transport: one write call per flush, as for TCP. */
static void
flush_x(mq_conn *c)
{
	struct mq_buf *o = &c->out;

	for (;;) {
		ssize_t n
		    = mq_xport_write(c->x, o->p + o->off, o->len - o->off);

		if (n == -EAGAIN) {
			want_out(c, true);
			return;
		}
		if (n < 0) {
			mq_debug("write(%d): %s", c->fd, mq_xport_error(c->x));
			mq__conn_close(c, SHM_SHUT_ERROR);
			return;
		}
		o->off += (uint32_t) n;
		if (n == 0 || o->off == o->len)
			break;
	}
	if (o->off == o->len)
		out_drained(c);
	want_out(c, mq_xport_want_out(c->x));
}

/* Writes what c has queued; arms EPOLLOUT only if the kernel is full. */
static void
flush(mq_conn *c)
{
	struct mq_buf *o = &c->out;

	if (c->x != NULL && c->fd >= 0) {
		flush_x(c);
		return;
	}
	while (o->off < o->len) {
		ssize_t n;

		if (c->fd < 0)
			return; /* virtual: kept for mq_conn_output() */
		n = write(c->fd, o->p + o->off, o->len - o->off);
		if (n > 0) {
			o->off += (uint32_t) n;
			c->b->metrics[SHM_M_BYTES_SENT] += (uint64_t) n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			want_out(c, true);
			return;
		}
		mq_debug("write(%d): %s", c->fd, strerror(errno));
		mq__conn_close(c, SHM_SHUT_ERROR);
		return;
	}
	/* Drained: give the memory back, idle connections hold none. */
	out_drained(c);
	if (c->fd >= 0)
		want_out(c, false);
}

void
mq__flush_all(mq_broker *b)
{
	while (b->pending != NULL) {
		mq_conn *c = b->pending;

		b->pending = c->next_pending;
		c->pending = false;
		c->next_pending = NULL;
		if (c->state != MQ_CS_CLOSING)
			flush(c);
	}
}

/* Why a transport's connection ends. */
static void
xport_readable(mq_conn *c)
{
	int  rc = mq_xport_read(c->x, rbuf, sizeof(rbuf));
	char p[64];

	if (rc == 0) {
		/* a handshake step or a pong to send */
		if (c->state != MQ_CS_CLOSING && mq_xport_want_out(c->x))
			mq__conn_pending(c);
		return;
	}
	if (c->state == MQ_CS_CLOSING)
		return;
	if (rc == -EPROTO)
		mq_info("connection %s (%s): %s",
		    mq__peer_str(c, p, sizeof(p)),
		    mq_listen_protocol(c->b->listeners[c->listener].proto),
		    mq_xport_error(c->x));
	else
		mq_debug("connection %s: %s", mq__peer_str(c, p, sizeof(p)),
		    mq_xport_error(c->x));
	mq__conn_close(c,
	    rc == -EPIPE        ? SHM_SHUT_CLOSED
	        : rc == -EPROTO ? SHM_SHUT_MALFORMED
	                        : SHM_SHUT_ERROR);
}

int
mq__conn_identity(const mq_conn *c, mq_str *name)
{
	const char *cn;
	size_t      n;

	if (c->x == NULL || c->listener >= c->b->nlisteners
	    || !c->b->listeners[c->listener].identity)
		return 0;
	cn = mq_xport_identity(c->x);
	if (cn == NULL || (n = strlen(cn)) == 0 || n > 65535)
		return -ENOENT;
	name->ptr = cn;
	name->len = (uint16_t) n;
	return 1;
}

/* WebSocket close code for a close reason (RFC 6455 7.4.1). */
static uint16_t
ws_code(const mq_conn *c)
{
	if (c->b->stop)
		return 1001; /* going away */
	if (c->why == SHM_SHUT_MALFORMED)
		return 1002;
	if (c->why == SHM_SHUT_ERROR || c->why == SHM_SHUT_SLOW_CONSUMER)
		return 1011;
	if (c->why == SHM_SHUT_KICKED || c->why == SHM_SHUT_TAKEOVER
	    || c->why == SHM_SHUT_AUTH_FAILED)
		return 1008;
	return 1000;
}

void
mq__conn_release(mq_conn *c)
{
	mq_broker *b = c->b;

	if (c->fd < 0)
		return;
	/* Last words (a refusing CONNACK): one try, no waiting. */
	if (c->x != NULL) {
		if (c->out.len > c->out.off)
			(void) mq_xport_write(c->x, c->out.p + c->out.off,
			    c->out.len - c->out.off);
		mq_xport_bye(c->x, ws_code(c), NULL);
		mq_xport_free(&c->x);
	} else if (c->out.len > c->out.off) {
		ssize_t w = write(
		    c->fd, c->out.p + c->out.off, c->out.len - c->out.off);
		if (w > 0)
			b->metrics[SHM_M_BYTES_SENT] += (uint64_t) w;
	}
	close(c->fd);
	c->fd = -1;
}

static void
conn_readable(mq_conn *c)
{
	ssize_t n;

	if (c->state == MQ_CS_CLOSING)
		return;
	if (c->x != NULL) {
		xport_readable(c);
		return;
	}
	n = read(c->fd, rbuf, sizeof(rbuf));
	if (n > 0) {
		c->b->metrics[SHM_M_BYTES_RECEIVED] += (uint64_t) n;
		c->last_rx = mq_now_ms();
		mq__conn_bytes(c, rbuf, (size_t) n);
		return;
	}
	if (n == 0) {
		mq__conn_close(c, SHM_SHUT_CLOSED);
		return;
	}
	if (errno == EAGAIN || errno == EINTR)
		return;
	mq_debug("read(%d): %s", c->fd, strerror(errno));
	mq__conn_close(c, SHM_SHUT_ERROR);
}

static void
conn_event(mq_conn *c, uint32_t ev)
{
	if (c->state == MQ_CS_AUTH) {
		/* Gone before its check came back: the check is dropped. */
		if (ev & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
			mq__conn_close(c, SHM_SHUT_CLOSED);
		return;
	}
	if (ev & EPOLLOUT && c->state != MQ_CS_CLOSING)
		flush(c);
	if (c->http_acl != NULL) {
		if (ev & (EPOLLHUP | EPOLLERR)) /* reset: gone for good */
			mq__conn_close(c, SHM_SHUT_ERROR);
		return;
	}
	if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR))
		conn_readable(c);
}

/* ---- listeners ---- */

static void
accept_one(mq_broker *b, struct mq_listener *l, int fd,
    const struct sockaddr_in6 *peer)
{
	struct epoll_event ev;
	mq_conn           *c;
	int                one = 1;

	if (l->nclients >= l->max_clients) {
		close(fd);
		if (b->col != NULL)
			col_listener_shutdown(
			    b->col, l->col, SHM_SHUT_MAX_CLIENTS);
		mq_info("listener %s full (%u clients): connection refused",
		    l->name, l->max_clients);
		return;
	}
	c = malloc(sizeof(*c));
	if (c == NULL) {
		close(fd);
		return;
	}
	mq__conn_init(c, b, fd, l->idx);
	c->peer = *peer;
	if (l->proto != MQ_LISTEN_TCP
	    && mq_xport_new(&c->x, c, fd, &l->xcfg) != 0) {
		mq_err("listener %s: no memory for a connection", l->name);
		mq__conn_close(c, SHM_SHUT_ERROR);
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	ev.events = EPOLLIN;
	ev.data.ptr = c;
	if (epoll_ctl(b->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
		mq_err("epoll_ctl(ADD, %d): %s", fd, strerror(errno));
		c->fd = -1;
		close(fd);
		mq__conn_close(c, SHM_SHUT_ERROR);
	}
	l->nclients++;
	if (b->col != NULL)
		col_listener_clients(b->col, l->col, l->nclients);
}

/*
 * Out of fds: a level-triggered listener would wake us forever.  Spend
 * the reserve fd to accept and close the oldest pending connection, then
 * take the reserve back (libev / nginx do the same).
 */
static int reserve_fd = -1;

static void
shed(mq_broker *b, struct mq_listener *l)
{
	int fd;

	mq_err("accept4(%s): %s: closing a new connection", l->name,
	    strerror(errno));
	if (reserve_fd >= 0) {
		close(reserve_fd);
		fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0)
			close(fd);
		reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	}
	if (b->col != NULL)
		col_listener_shutdown(b->col, l->col, SHM_SHUT_ERROR);
}

static void
listener_event(mq_broker *b, struct mq_listener *l)
{
	/* Bounded, so a connection storm cannot starve the clients. */
	for (int i = 0; i < 64; i++) {
		struct sockaddr_in6 peer;
		socklen_t           len = sizeof(peer);
		int                 fd;

		memset(&peer, 0, sizeof(peer));
		fd = accept4(l->fd, (struct sockaddr *) &peer, &len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0 && (errno == EMFILE || errno == ENFILE)) {
			shed(b, l);
			return;
		}
		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR
			    && errno != ECONNABORTED)
				mq_err("accept4(%s): %s", l->name,
				    strerror(errno));
			return;
		}
		accept_one(b, l, fd, &peer);
	}
}

static int
listener_open(mq_broker *b, const struct mq_listen *cfg)
{
	struct mq_listener *l = &b->listeners[b->nlisteners];
	struct sockaddr_in6 sa6;
	struct sockaddr_in  sa4;
	struct sockaddr    *sa;
	socklen_t           len;
	int                 fd, one = 1, family;
	struct epoll_event  ev;

	memset(&sa6, 0, sizeof(sa6));
	memset(&sa4, 0, sizeof(sa4));
	if (inet_pton(AF_INET, cfg->addr, &sa4.sin_addr) == 1) {
		family = AF_INET;
		sa4.sin_family = AF_INET;
		sa4.sin_port = htons(cfg->port);
		sa = (struct sockaddr *) &sa4;
		len = sizeof(sa4);
	} else if (inet_pton(AF_INET6, cfg->addr, &sa6.sin6_addr) == 1) {
		family = AF_INET6;
		sa6.sin6_family = AF_INET6;
		sa6.sin6_port = htons(cfg->port);
		sa = (struct sockaddr *) &sa6;
		len = sizeof(sa6);
	} else {
		mq_err("listen address %s: not a numeric address", cfg->addr);
		return -EINVAL;
	}
	fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		mq_err("socket(): %s", strerror(errno));
		return -errno;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, sa, len) != 0 || listen(fd, 1024) != 0
	    || getsockname(fd, sa, &len) != 0) {
		int e = errno;

		mq_err("bind/listen(%s:%u): %s", cfg->addr, cfg->port,
		    strerror(e));
		close(fd);
		return -e;
	}
	l->kind = MQ_K_LISTENER;
	l->proto = cfg->kind;
	l->identity = cfg->identity > 0;
	if (cfg->kind == MQ_LISTEN_SSL || cfg->kind == MQ_LISTEN_WSS) {
		int rc = mq_tls_ctx_new(
		    &l->tls, cfg, b->cfg->ciphers, cfg->kind == MQ_LISTEN_WSS);

		if (rc != 0) {
			close(fd);
			return rc;
		}
		l->xcfg.tls = l->tls;
	}
	if (cfg->kind == MQ_LISTEN_WS || cfg->kind == MQ_LISTEN_WSS) {
		l->ws.path = cfg->path;
		l->ws.origins = b->cfg->ws_origins;
		l->xcfg.ws = &l->ws;
		l->xcfg.max_frame = b->cfg->max_packet_size;
	}
	l->fd = fd;
	l->idx = b->nlisteners;
	l->max_clients = cfg->max_clients;
	l->port = ntohs(family == AF_INET ? sa4.sin_port : sa6.sin6_port);
	snprintf(l->name, sizeof(l->name),
	    family == AF_INET ? "%s:%u" : "[%s]:%u", cfg->addr, l->port);
	ev.events = EPOLLIN;
	ev.data.ptr = l;
	if (epoll_ctl(b->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
		mq_err("epoll_ctl(ADD listener): %s", strerror(errno));
		close(fd);
		return -errno;
	}
	if (b->col != NULL)
		l->col = col_listener_add(b->col, mq_listen_protocol(l->proto),
		    l->name, 1, l->max_clients);
	b->nlisteners++;
	mq_info("listening on %s (%s, max_clients %u)", l->name,
	    mq_listen_protocol(l->proto), l->max_clients);
	return 0;
}

/* ---- signals ---- */

static int
signals_open(mq_broker *b, struct sigsrc *s)
{
	sigset_t           set;
	struct epoll_event ev;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) != 0) {
		mq_err("sigprocmask: %s", strerror(errno));
		return -errno;
	}
	s->kind = MQ_K_SIGNAL;
	s->fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (s->fd < 0) {
		mq_err("signalfd: %s", strerror(errno));
		return -errno;
	}
	ev.events = EPOLLIN;
	ev.data.ptr = s;
	if (epoll_ctl(b->epfd, EPOLL_CTL_ADD, s->fd, &ev) != 0) {
		mq_err("epoll_ctl(ADD signalfd): %s", strerror(errno));
		return -errno;
	}
	return 0;
}

static void
signal_event(mq_broker *b, struct sigsrc *s)
{
	struct signalfd_siginfo si;

	while (read(s->fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			mq_info("SIGHUP: reloading plugin files and TLS "
			        "certificates");
			if (b->plugins != NULL)
				mq_plugins_reload(b->plugins);
			/* new connections get the new certificate, those up
			 * keep theirs */
			for (unsigned i = 0; i < b->nlisteners; i++)
				if (b->listeners[i].tls != NULL)
					mq_tls_ctx_reload(b->listeners[i].tls);
		} else {
			mq_info("signal %u: shutting down", si.ssi_signo);
			b->stop = true;
		}
	}
}

static void
report_ready(mq_broker *b)
{
	char   line[32 + 8 * MQ_MAX_LISTENERS];
	size_t n = (size_t) snprintf(line, sizeof(line), "ready port=");

	for (unsigned i = 0; i < b->nlisteners; i++)
		n += (size_t) snprintf(line + n, sizeof(line) - n, "%s%u",
		    i ? "," : "", b->listeners[i].port);
	n += (size_t) snprintf(line + n, sizeof(line) - n, "\n");
	mq_info("%.*s", (int) n - 1, line);
	if (b->cfg->ready_fd < 0)
		return;
	if (write(b->cfg->ready_fd, line, n) != (ssize_t) n)
		mq_err("write(ready fd %d): %s", b->cfg->ready_fd,
		    strerror(errno));
	close(b->cfg->ready_fd);
}

/* ---- auth threads ---- */

/* Checks done by the auth threads: each finishes its CONNECT, or is
 * dropped when its connection went away meanwhile. */
static void
authq_event(mq_broker *b)
{
	struct mq_auth_job *j = mq_authq_done(b->authq);

	while (j != NULL) {
		struct mq_auth_job *next = j->next;
		mq_conn            *c = j->owner;

		if (j->cancelled || c == NULL) {
			mq_creds_check_free(j->ck);
			free(j);
		} else {
			/* Judged now, against the tables of now (a reload
			 * meanwhile only keeps the cache from learning). */
			int r
			    = (int) mq_plugins_check_finish(b->plugins, j->ck);

			free(j);
			mq__connect_resume(c, r);
		}
		j = next;
	}
}

static int
authq_open(mq_broker *b)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int                rc;

	if (b->plugins == NULL)
		return 0;
	rc = mq_authq_new(
	    &b->authq, b->cfg->auth_threads, b->cfg->auth_queue_max);
	if (rc < 0)
		return rc;
	b->authq_kind = MQ_K_AUTHQ;
	ev.data.ptr = &b->authq_kind;
	if (epoll_ctl(b->epfd, EPOLL_CTL_ADD, mq_authq_fd(b->authq), &ev)
	    != 0) {
		rc = -errno;
		mq_err("epoll_ctl(ADD auth eventfd): %s", strerror(-rc));
		mq_authq_free(&b->authq);
		return rc;
	}
	return 0;
}

/* The cluster's fd, when one is registered (mq_cluster.h). */
static int
cluster_open(mq_broker *b)
{
	struct epoll_event ev = { .events = EPOLLIN };

	if (b->cluster.event == NULL)
		return 0;
	b->cluster_kind = MQ_K_CLUSTER;
	ev.data.ptr = &b->cluster_kind;
	if (epoll_ctl(b->epfd, EPOLL_CTL_ADD, b->cluster.fd, &ev) != 0) {
		mq_err("epoll_ctl(ADD cluster fd): %s", strerror(errno));
		return -errno;
	}
	return 0;
}

static void
dispatch(mq_broker *b, struct epoll_event *ev)
{
	uint8_t kind = *(uint8_t *) ev->data.ptr;

	switch (kind) {
	case MQ_K_CONN:
		conn_event(ev->data.ptr, ev->events);
		break;
	case MQ_K_LISTENER:
		listener_event(b, ev->data.ptr);
		break;
	case MQ_K_SIGNAL:
		signal_event(b, ev->data.ptr);
		break;
	case MQ_K_AUTHQ:
		authq_event(b);
		break;
	case MQ_K_CLUSTER:
		b->cluster.event(b->cluster.ctx);
		break;
	case MQ_K_STORE:
		mq__persist_event(b);
		break;
	case MQ_K_WATCH:
		mq_watch_event(ev->data.ptr, ev->events);
		break;
	default:
		mq__ctl_event(b, ev->data.ptr, ev->events);
		break;
	}
}

static void
loop(mq_broker *b)
{
	struct epoll_event evs[256];
	uint64_t           synced = 0;

	while (!b->stop) {
		int      n, timeout;
		uint64_t now;
		bool     lag = false;

		/*
		 * Mirror to the segment before the replies leave, so a client
		 * that got its CONNACK / SUBACK finds itself counted. Counters
		 * that move per message are mirrored at most once per
		 * millisecond (an iteration under load takes microseconds); a
		 * skipped mirror caps the sleep at 1 ms.  Stats move only on
		 * connect, subscribe and the like: they go at once.
		 */
		mq_broker_sweep(b);
		mq__persist_tick(b); /* this iteration's changes: one commit */
		now = mq_now_ms();
		if (now != synced || b->stats_dirty) {
			mq__sync(b);
			synced = now;
		} else {
			lag = true;
		}
		/* Teardowns publish wills, flushes find dead peers: repeat
		 * until nothing is left to close or to write. */
		while (b->pending != NULL) {
			mq__flush_all(b);
			mq_broker_sweep(b);
		}
		if (b->stats_dirty)
			mq__sync(b);
		/* Bytes written just now reach the segment within 1 ms too
		 * ("readers see figures at most ~1 ms old"), not with the
		 * next event. */
		if (b->col != NULL
		    && b->metrics[SHM_M_BYTES_SENT]
		        != b->metrics_synced[SHM_M_BYTES_SENT])
			lag = true;
		timeout = mq_timers_next(&b->timers, now);
		if (lag && (timeout < 0 || timeout > 1))
			timeout = 1;
		n = epoll_wait(b->epfd, evs, 256, timeout);
		if (n < 0 && errno != EINTR) {
			mq_err("epoll_wait: %s", strerror(errno));
			break;
		}
		for (int i = 0; i < n; i++)
			dispatch(b, &evs[i]);
		mq_timers_expire(&b->timers, mq_now_ms());
	}
}

int
mq_broker_run(mq_broker *b)
{
	struct sigsrc sig = { MQ_K_SIGNAL, -1 };
	char          path[4096];
	int           rc = 0;

	reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	b->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (b->epfd < 0) {
		mq_err("epoll_create1: %s", strerror(errno));
		return -errno;
	}
	rc = signals_open(b, &sig);
	if (rc == 0) /* retained and sessions are back before anyone comes */
		rc = mq__persist_open(b);
	if (rc == 0)
		rc = authq_open(b);
	if (rc == 0)
		rc = mq__dbauth_open(b);
	if (rc == 0)
		rc = cluster_open(b);
	for (unsigned i = 0; rc == 0 && i < b->cfg->nlisten; i++)
		rc = listener_open(b, &b->cfg->listen[i]);
	snprintf(path, sizeof(path), "%s/mqttd.ctl", b->cfg->state_dir);
	if (rc == 0)
		rc = mq__ctl_open(b, path);
	if (rc == 0) {
		if (b->col != NULL)
			for (int i = 0; i < MQ_PLUGIN_COUNT; i++)
				b->plugin_col[i] = col_plugin_add(b->col,
				    mq_plugin_name((enum mq_plugin_id) i),
				    mq_plugin_version((enum mq_plugin_id) i),
				    mq_plugin_description(
				        (enum mq_plugin_id) i),
				    mq__plugin_active(b, i));
		mq__sys_start(b);
		report_ready(b);
		loop(b);
	}
	/* Close every client (wills of abnormal ends still go out; v5
	 * clients are told why). */
	for (mq_conn *c = b->conns; c != NULL; c = c->all_next) {
		mq__conn_close_rc(
		    c, SHM_SHUT_CLOSED, MQ_RC_SERVER_SHUTTING_DOWN);
	}
	mq_broker_sweep(b);
	mq__persist_close(b); /* the sessions just detached, then close */
	/* Every connection is gone, so every job is cancelled: this only
	 * waits for the checks that are running. */
	mq_authq_free(&b->authq);
	mq__dbauth_close(b);
	mq__ctl_close(b);
	for (unsigned i = 0; i < b->nlisteners; i++) {
		close(b->listeners[i].fd);
		mq_tls_ctx_free(&b->listeners[i].tls);
	}
	if (sig.fd >= 0)
		close(sig.fd);
	close(b->epfd);
	b->epfd = -1;
	if (reserve_fd >= 0)
		close(reserve_fd);
	reserve_fd = -1;
	return rc;
}
