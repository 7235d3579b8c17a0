/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mqttd-api: the prefork master and its FastCGI workers.
 *
 * The master binds the unix socket once (non-blocking), then forks N
 * workers that all accept on it; it respawns any worker that dies,
 * replaces them all on SIGHUP (the old ones drain first: they serve their
 * kept connections until nginx closes them) and stops them on
 * SIGTERM/SIGINT.  A worker is one epoll set shared by --threads threads:
 * the listening socket (EPOLLEXCLUSIVE, so one worker wakes per new
 * connection) and every
 * nginx connection it accepted (EPOLLONESHOT: the thread that got the
 * event owns the connection until it re-arms it, after the answer).  A
 * thread reads the next request from the ready connection and answers it
 * (api_fcgi: our own FastCGI records both ways), so one thread serves any
 * number of kept connections.  Only one thread at a time (the
 * leader) waits in epoll_wait and serves; a request that may wait (not a
 * GET) hands the lead to another thread first.  So a busy worker goes
 * from one ready connection to the next without a context switch: 5-6 us
 * of CPU less per request than a thread blocked on each connection
 * (bench/RESULTS.md).  Threads bound how many slow requests (a command
 * waiting for the broker) a worker serves at once, not how many
 * connections nginx may keep.  Each thread has its own segment reader;
 * the process shares only the auth cache.
 */
#include "config.h"

#include "fcgi/api.h"
#include "fcgi/api_auth.h"
#include "fcgi/api_beat.h"
#include "fcgi/api_fcgi.h"
#include "fcgi/api_limits.h"
#include "fcgi/api_log.h"
#include "fcgi/api_route.h"
#include "fcgi/api_users.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_WORKERS 64
#define MAX_SLOTS   (2 * MAX_WORKERS) /* two generations during a reload */
/* A peer that stops in the middle of a record holds a thread this long at
 * most (nginx's fastcgi_send_timeout is 10 s too). */
#define IO_TIMEOUT_S 10

struct opts {
	char state_dir[PATH_MAX];
	char socket[PATH_MAX];
	char node[256];
	char users[PATH_MAX];
	char ctl[PATH_MAX];
	char http_listen[160];
	char https_listen[160];
	char admin_user[128];
	int  workers, threads, ready_fd, ctl_timeout_ms, hang_ms;
};

/* Requests in progress per worker slot, one cache line each, in a shared
 * anonymous mapping so that any worker can report the total. */
struct slot_count {
	_Atomic uint64_t n;
	char             pad[56];
};

static struct slot_count *counts;
static api_beat          *beats;
static int                my_slot;
static int                listen_fd = -1;
static int                epfd = -1;  /* the worker's epoll set */
static _Atomic int        open_conns; /* the worker's nginx connections */
static struct opts        O;

static uint64_t
inflight_total(void)
{
	uint64_t sum = 0;

	for (int i = 0; i < MAX_SLOTS; i++)
		sum += atomic_load_explicit(
		    &counts[i].n, memory_order_relaxed);
	return sum;
}

/* ---- worker ------------------------------------------------------- */

static struct api_config cfg;
static api_auth         *auth;

static const char *
status_text(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	default:
		return "Service Unavailable";
	}
}

/* Answers req; 0, or -errno if the answer could not be written (then the
 * connection is not kept). */
static int
serve(struct api_thread *t, int fd, struct api_fcgi_req *req)
{
	struct api_request  rq = { 0 };
	struct api_response rs;
	const char         *gate;
	char                head[512];
	int                 n, rc;

	rq.method = api_fcgi_param(req, "REQUEST_METHOD");
	rq.uri = api_fcgi_param(req, "REQUEST_URI");
	if (rq.uri == NULL)
		rq.uri = api_fcgi_param(req, "DOCUMENT_URI");
	rq.query = api_fcgi_param(req, "QUERY_STRING");
	rq.authorization = api_fcgi_param(req, "HTTP_AUTHORIZATION");
	gate = api_fcgi_param(req, "MQTTD_AUTH_GATE");
	rq.gate = gate != NULL && gate[0] != '\0';
	if (rq.method == NULL)
		rq.method = "GET";
	if (rq.query == NULL) {
		const char *q = rq.uri ? strchr(rq.uri, '?') : NULL;

		rq.query = q ? q + 1 : "";
	}
	rq.body = req->body_len > 0 ? req->body : NULL;
	rq.body_len = req->body_len;
	api_handle(t, &rq, &rs);
	n = snprintf(head, sizeof(head), "Status: %d %s\r\n%s%s%s%s",
	    rs.status, status_text(rs.status),
	    rs.content_type ? "Content-Type: " : "",
	    rs.content_type ? rs.content_type : "",
	    rs.content_type ? "\r\n" : "",
	    rs.extra_headers ? rs.extra_headers : "");
	n += snprintf(head + n, sizeof(head) - (size_t) n,
	    "Content-Length: %zu\r\n\r\n", rs.len);
	rc = api_fcgi_answer(fd, req, head, (size_t) n, rs.body, rs.len);
	if (rc != 0)
		api_warn("writev(answer) failed: %s", strerror(-rc));
	api_response_release(&rs);
	return rc;
}

/* EPOLLONESHOT: the connection's next event goes to one thread, and no
 * other until that thread re-arms it (op EPOLL_CTL_MOD) after answering. */
static int
conn_arm(int fd, int op)
{
	struct epoll_event ev
	    = { .events = EPOLLIN | EPOLLONESHOT, .data.fd = fd };

	return epoll_ctl(epfd, op, fd, &ev) == 0 ? 0 : -errno;
}

static void
conn_close(int fd)
{
	close(fd);
	atomic_fetch_sub(&open_conns, 1);
}

/* One connection per wake-up: the listening socket is level-triggered,
 * so a backlog wakes the next thread or worker, which spreads a burst of
 * new nginx connections over the workers. */
static void
accept_one(void)
{
	struct timeval tv = { .tv_sec = IO_TIMEOUT_S };
	int            fd, rc;

	fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS
		    || errno == ENOMEM) {
			api_err("accept failed: %s", strerror(errno));
			usleep(10000); /* level-triggered: do not spin */
		}
		return; /* EAGAIN: another thread or worker took it */
	}
	/* reads and writes are blocking: bound a stalled peer */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	atomic_fetch_add(&open_conns, 1);
	rc = conn_arm(fd, EPOLL_CTL_ADD);
	if (rc != 0) {
		api_err("epoll_ctl(ADD) failed: %s", strerror(-rc));
		conn_close(fd);
	}
}

/* Leader/followers: one thread per worker (the leader) waits in
 * epoll_wait and serves what it gets; the others wait for the lead.  With
 * every thread in epoll_wait, each newly ready connection woke another
 * idle thread (one context switch more per request: 19-20 us of CPU per
 * request with 8 or 40 threads, 17 with 2, bench/RESULTS.md).  A request
 * that may wait (see serve_conn) hands the lead on first, so it never
 * holds up the worker's other connections. */
static pthread_mutex_t lf_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t  lf_cond = PTHREAD_COND_INITIALIZER;
static bool            lf_led; /* some thread holds the lead */

static void
lf_take_lead(void)
{
	pthread_mutex_lock(&lf_lock);
	while (lf_led)
		pthread_cond_wait(&lf_cond, &lf_lock);
	lf_led = true;
	pthread_mutex_unlock(&lf_lock);
}

static void
lf_hand_on(void)
{
	pthread_mutex_lock(&lf_lock);
	lf_led = false;
	pthread_cond_signal(&lf_cond);
	pthread_mutex_unlock(&lf_lock);
}

/* Every GET reads the segment or the users file and answers at once;
 * the other methods may wait: a command waits for the broker's reply (up
 * to --ctl-timeout-ms), the users routes hash passwords.  (A GET whose
 * credentials are not cached yet hashes too, ~2 ms, behind nginx's
 * per-address limit.) */
static bool
may_wait(const struct api_fcgi_req *req)
{
	const char *m = api_fcgi_param(req, "REQUEST_METHOD");

	return m != NULL && strcmp(m, "GET") != 0 && strcmp(m, "HEAD") != 0;
}

/* Serves the request waiting on fd, then re-arms fd if nginx asked to
 * keep the connection (FCGI_KEEP_CONN) and the exchange went well; else
 * closes it (EOF between requests: nginx closed it; a reset; bytes that
 * are not FastCGI as nginx sends it). */
static void
serve_conn(
    struct api_thread *t, struct api_fcgi_req *req, int fd, bool *leader)
{
	int rc = api_fcgi_read(fd, req);

	if (rc != 0) {
		if (rc != -ECONNRESET)
			api_debug(
			    "FastCGI connection closed: %s", strerror(-rc));
		conn_close(fd);
		return;
	}
	if (*leader && may_wait(req)) {
		lf_hand_on();
		*leader = false;
	}
	atomic_fetch_add(&counts[my_slot].n, 1);
	rc = serve(t, fd, req);
	atomic_fetch_sub(&counts[my_slot].n, 1);
	if (rc != 0 || !req->keep_conn) {
		conn_close(fd);
		return;
	}
	rc = conn_arm(fd, EPOLL_CTL_MOD);
	if (rc != 0) {
		api_err("epoll_ctl(MOD) failed: %s", strerror(-rc));
		conn_close(fd);
	}
}

static void *
worker_thread(void *arg)
{
	struct api_thread   t = { .cfg = &cfg, .auth = auth };
	struct epoll_event  ev;
	struct api_fcgi_req req;
	bool                leader = false;
	int                 n;

	(void) arg;
	api_fcgi_init(&req);
	for (;;) {
		if (!leader) {
			lf_take_lead();
			leader = true;
		}
		/* one event at a time: a connection taken here waits for no
		 * other connection's request; a tick when idle, so that the
		 * master sees a turn even when nothing happens */
		api_beat_turn(beats, my_slot);
		n = epoll_wait(epfd, &ev, 1, API_BEAT_TICK_MS);
		if (n < 0 && errno != EINTR) {
			/* not with a valid set: rather than a worker that
			 * serves nothing, one the master respawns */
			api_err("epoll_wait failed: %s", strerror(errno));
			_exit(1);
		}
		if (n <= 0)
			continue;
		if (ev.data.fd == listen_fd)
			accept_one();
		else
			serve_conn(&t, &req, ev.data.fd, &leader);
	}
}

/* A draining worker waits this long at most for nginx to close its kept
 * connections: nginx's upstream keepalive_time (1 s) and keepalive_timeout
 * (3 s, nginx/mqttd-api.conf.in) retire every connection well before. */
#define DRAIN_MAX_MS 10000

/*
 * SIGQUIT (the master replaces the workers, SIGHUP): accept no new
 * connection, but serve the kept ones until nginx has closed them all,
 * then exit.  Closing a kept connection ourselves races with a request
 * nginx may be sending on it at that moment, and nginx does not retry a
 * POST it has sent (502); a connection nginx closes carries no request.
 *
 * SIGTERM (stop): accept no new connection, let requests in progress
 * finish (at most 2 s), then exit; idle kept connections close with the
 * process and nginx reconnects to the other workers, if any.
 */
static void
worker_wait_stop(void)
{
	sigset_t set;
	int      sig;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGQUIT);
	do
		sig = 0, sigwait(&set, &sig);
	while (sig == SIGHUP);
	epoll_ctl(epfd, EPOLL_CTL_DEL, listen_fd, NULL);
	if (sig == SIGQUIT) {
		int64_t until = api_clock_ms(CLOCK_MONOTONIC) + DRAIN_MAX_MS;

		while (atomic_load(&open_conns) > 0
		    && api_clock_ms(CLOCK_MONOTONIC) < until)
			usleep(10000);
		if (atomic_load(&open_conns) > 0)
			api_warn("draining: nginx kept %d connection(s) "
			         "open for %d ms, closing them",
			    atomic_load(&open_conns), DRAIN_MAX_MS);
	}
	for (int i = 0; i < 200; i++) {
		if (atomic_load(&counts[my_slot].n) == 0)
			break;
		usleep(10000);
	}
	_exit(0);
}

static void
worker_main(int slot)
{
	struct epoll_event ev
	    = { .events = EPOLLIN | EPOLLEXCLUSIVE, .data.fd = listen_fd };
	pthread_attr_t attr;

	my_slot = slot;
	prctl(PR_SET_PDEATHSIG, SIGTERM); /* never outlive the master */
	if (getppid() == 1)
		_exit(1);
	signal(SIGPIPE, SIG_IGN);
	/* One malloc arena for all threads: only one of them runs at a time
	 * (a core or two), so the next request reuses the memory the last
	 * one freed while it is still in cache; per-thread arenas spread a
	 * page's ~250 json-c allocations over 16 heaps (-2..3 us per page,
	 * measured in bench/RESULTS.md). */
	mallopt(M_ARENA_MAX, 1);
	if (api_auth_new(&auth, O.users) != 0
	    || api_beat_start(beats, slot) != 0) {
		api_err("worker init failed");
		_exit(1);
	}
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, listen_fd, &ev) != 0) {
		api_err("worker epoll setup failed: %s", strerror(errno));
		_exit(1);
	}
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	for (int i = 0; i < O.threads; i++) {
		pthread_t tid;
		int rc = pthread_create(&tid, &attr, worker_thread, NULL);

		if (rc != 0) {
			api_err("pthread_create failed: %s", strerror(rc));
			_exit(1);
		}
	}
	worker_wait_stop();
}

/* ---- master ------------------------------------------------------- */

static pid_t    slots[MAX_SLOTS];
static unsigned gen_of[MAX_SLOTS];
static time_t   born[MAX_SLOTS];
static bool     condemned[MAX_SLOTS]; /* SIGKILLed for a stale beat */
static unsigned generation;

/* A worker starting up (fork, users file, threads) gets this long before
 * its first stamp is due; an ASan build on a loaded machine takes ~0.1 s. */
#define BEAT_GRACE_MS 2000

static int
spawn(void)
{
	sigset_t none;
	pid_t    pid;
	int      s;

	for (s = 0; s < MAX_SLOTS && slots[s] != 0; s++)
		;
	if (s == MAX_SLOTS)
		return -EAGAIN;
	atomic_store(&counts[s].n, 0);
	api_beat_arm(beats, s, BEAT_GRACE_MS);
	condemned[s] = false;
	pid = fork();
	if (pid < 0) {
		api_err("fork failed: %s", strerror(errno));
		return -errno;
	}
	if (pid == 0) {
		/* the worker's threads inherit this mask; its waiter takes
		 * the signals */
		sigemptyset(&none);
		sigaddset(&none, SIGTERM);
		sigaddset(&none, SIGINT);
		sigaddset(&none, SIGHUP);
		sigaddset(&none, SIGQUIT);
		pthread_sigmask(SIG_SETMASK, &none, NULL);
		worker_main(s);
	}
	slots[s] = pid;
	gen_of[s] = generation;
	born[s] = time(NULL);
	return 0;
}

static void
signal_gen(unsigned gen, int sig, bool all)
{
	for (int s = 0; s < MAX_SLOTS; s++)
		if (slots[s] != 0 && (all || gen_of[s] == gen))
			kill(slots[s], sig);
}

static int
live_workers(void)
{
	int n = 0;

	for (int s = 0; s < MAX_SLOTS; s++)
		n += slots[s] != 0;
	return n;
}

/* Reaps dead workers; respawns those of the current generation. */
static void
reap(bool respawn)
{
	pid_t pid;
	int   st;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		for (int s = 0; s < MAX_SLOTS; s++) {
			bool current;

			if (slots[s] != pid)
				continue;
			current = gen_of[s] == generation;
			slots[s] = 0;
			atomic_store(&counts[s].n, 0);
			if (current && respawn) {
				/* a worker that cannot start must not make
				 * the master fork in a tight loop */
				if (time(NULL) - born[s] < 1)
					usleep(200 * 1000);
				if (WIFSIGNALED(st))
					api_warn(
					    "worker %d killed by signal %d, "
					    "respawning",
					    (int) pid, WTERMSIG(st));
				spawn();
			}
		}
	}
}

static void
stop_all(void)
{
	struct timespec ts = { 0, 50 * 1000000 };
	sigset_t        set;

	signal_gen(0, SIGTERM, true);
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	for (int i = 0; i < 60 && live_workers() > 0; i++) {
		sigtimedwait(&set, NULL, &ts);
		reap(false);
	}
	signal_gen(0, SIGKILL, true);
	while (live_workers() > 0 && waitpid(-1, NULL, 0) > 0)
		reap(false);
	reap(false);
}

/*
 * Kills (SIGKILL) a worker whose heartbeat is stale: its kept connections
 * close, nginx retries the idempotent requests it had sent over them on
 * another worker (and answers 502 to the others), and reap() respawns it.
 * Not judged in a round that comes late: a master that did not run for a
 * while (a loaded machine, the VM paused) most likely was not alone, and
 * the workers' stamps may be as late as its own look.
 */
static void
watch(void)
{
	static int64_t last;
	int64_t        now = api_clock_ms(CLOCK_MONOTONIC);
	int            turn_limit = O.ctl_timeout_ms + 2000;

	if (now - last < API_BEAT_TICK_MS)
		return;
	if (now - last > O.hang_ms / 2 + API_BEAT_TICK_MS) {
		last = now;
		return;
	}
	last = now;
	for (int s = 0; s < MAX_SLOTS; s++) {
		const char *what = "";
		int64_t     age;

		if (slots[s] == 0 || condemned[s])
			continue;
		age = api_beat_stale(beats, s, O.hang_ms, turn_limit, &what);
		if (age == 0)
			continue;
		api_warn(
		    "worker %d made no progress for %lld ms (%s), killing it",
		    (int) slots[s], (long long) age, what);
		condemned[s] = true;
		kill(slots[s], SIGKILL);
	}
}

static int
master_loop(void)
{
	const struct timespec tick = { 0, API_BEAT_TICK_MS * 1000000L };
	sigset_t              set;
	int                   sig;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	for (;;) {
		sig = sigtimedwait(&set, NULL, &tick);
		watch();
		if (sig == SIGCHLD) {
			reap(true);
		} else if (sig == SIGHUP) {
			unsigned old = generation++;

			api_info("SIGHUP: replacing the workers");
			for (int i = 0; i < O.workers; i++)
				spawn();
			/* drain: the old ones serve their kept connections
			 * until nginx closes them (worker_wait_stop) */
			signal_gen(old, SIGQUIT, false);
		} else if (sig == SIGTERM || sig == SIGINT) {
			stop_all();
			unlink(O.socket);
			return 0;
		}
	}
}

/* Binds the FastCGI socket, mode 0660.  A leftover socket file nobody
 * listens on is replaced; a live one makes this fail. */
static int
open_socket(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int                fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		api_err("socket path too long: %s", path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0) {
		api_err("%s is in use", path);
		close(fd);
		return -EADDRINUSE;
	}
	close(fd);
	unlink(path);
	/* non-blocking: a thread woken for a connection that another thread
	 * or worker took finds nothing to accept and must not block */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *) &sa, sizeof(sa)) != 0
	    || chmod(path, 0660) != 0 || listen(fd, 1024) != 0) {
		int rc = -errno;

		api_err("bind/listen(%s) failed: %s", path, strerror(-rc));
		if (fd >= 0)
			close(fd);
		return rc;
	}
	return fd;
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: mqttd-api [--state-dir DIR] [--socket PATH] [--workers "
	    "N]\n"
	    "                 [--threads N] [--node NAME] [--ready-fd N]\n"
	    "                 [--http-listen ADDR] [--https-listen ADDR]\n"
	    "                 [--ctl-timeout-ms MS] [--hang-ms MS]\n"
	    "                 [--log-level LEVEL]\n");
	exit(2);
}

static const char *
env_or(const char *name, const char *def)
{
	const char *v = getenv(name);

	return v && *v ? v : def;
}

/* "ADDR:PORT" from MQTTD_<P>_LISTEN, else MQTTD_<P>_ADDR + _PORT. */
static void
listen_default(char *buf, size_t len, const char *proto)
{
	char        k[64];
	const char *v, *port;

	snprintf(k, sizeof(k), "MQTTD_%s_LISTEN", proto);
	v = getenv(k);
	if (v && *v) {
		snprintf(buf, len, "%s", v);
		return;
	}
	snprintf(k, sizeof(k), "MQTTD_%s_PORT", proto);
	port = getenv(k);
	snprintf(k, sizeof(k), "MQTTD_%s_ADDR", proto);
	if (port && *port)
		snprintf(buf, len, "%s:%s", env_or(k, "127.0.0.1"), port);
}

static void
parse_opts(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "state-dir", 1, NULL, 's' },
		{ "socket", 1, NULL, 'S' },
		{ "workers", 1, NULL, 'w' },
		{ "threads", 1, NULL, 't' },
		{ "node", 1, NULL, 'n' },
		{ "ready-fd", 1, NULL, 'r' },
		{ "http-listen", 1, NULL, 'h' },
		{ "https-listen", 1, NULL, 'H' },
		{ "ctl-timeout-ms", 1, NULL, 'c' },
		{ "log-level", 1, NULL, 'l' },
		{ "hang-ms", 1, NULL, 'g' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	snprintf(O.state_dir, sizeof(O.state_dir), "%s",
	    env_or("MQTTD_STATE_DIR", "./run"));
	snprintf(O.node, sizeof(O.node), "%s",
	    env_or("MQTTD_NODE", "mqttd@127.0.0.1"));
	snprintf(O.admin_user, sizeof(O.admin_user), "%s",
	    env_or("MQTTD_ADMIN_USER", "admin"));
	O.workers = atoi(env_or("MQTTD_WORKERS", "2"));
	O.threads = atoi(env_or("MQTTD_API_THREADS", "8"));
	O.ready_fd = -1;
	O.ctl_timeout_ms = 3000;
	/* A stopped worker is killed after this: the bound on the wait of a
	 * request nginx had sent it (with the master's look, ~0.6 s). */
	O.hang_ms = atoi(env_or("MQTTD_API_HANG_MS", "500"));
	listen_default(O.http_listen, sizeof(O.http_listen), "HTTP");
	listen_default(O.https_listen, sizeof(O.https_listen), "HTTPS");
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 's':
			snprintf(
			    O.state_dir, sizeof(O.state_dir), "%s", optarg);
			break;
		case 'S':
			snprintf(O.socket, sizeof(O.socket), "%s", optarg);
			break;
		case 'w':
			O.workers = atoi(optarg);
			break;
		case 't':
			O.threads = atoi(optarg);
			break;
		case 'n':
			snprintf(O.node, sizeof(O.node), "%s", optarg);
			break;
		case 'r':
			O.ready_fd = atoi(optarg);
			break;
		case 'h':
			snprintf(O.http_listen, sizeof(O.http_listen), "%s",
			    optarg);
			break;
		case 'H':
			snprintf(O.https_listen, sizeof(O.https_listen), "%s",
			    optarg);
			break;
		case 'c':
			O.ctl_timeout_ms = atoi(optarg);
			break;
		case 'l':
			api_log_level = api_log_parse_level(optarg);
			if (api_log_level < 0)
				usage();
			break;
		case 'g':
			O.hang_ms = atoi(optarg);
			break;
		default:
			usage();
		}
	}
	if (optind != argc || O.workers < 1 || O.workers > MAX_WORKERS
	    || O.threads < 1 || O.threads > 1024 || O.ctl_timeout_ms < 1
	    || O.ctl_timeout_ms > 600000 || O.hang_ms < 3 * API_BEAT_TICK_MS
	    || O.hang_ms > 600000)
		usage();
}

static int
setup_paths(void)
{
	char real[PATH_MAX];

	if (mkdir(O.state_dir, 0750) != 0 && errno != EEXIST) {
		api_err("mkdir(%s): %s", O.state_dir, strerror(errno));
		return -1;
	}
	if (realpath(O.state_dir, real) == NULL) {
		api_err("realpath(%s): %s", O.state_dir, strerror(errno));
		return -1;
	}
	snprintf(O.state_dir, sizeof(O.state_dir), "%s", real);
	if (O.socket[0] == '\0')
		snprintf(O.socket, sizeof(O.socket), "%.4000s/api.sock", real);
	snprintf(O.users, sizeof(O.users), "%.4000s/users", real);
	snprintf(O.ctl, sizeof(O.ctl), "%.4000s/mqttd.ctl", real);
	return 0;
}

/* First run only: the users file with the default administrator. */
static int
init_users(void)
{
	const char *pw = env_or("MQTTD_ADMIN_PASSWORD", "public");
	int rc = api_users_init(O.users, O.admin_user, pw, "administrator");

	if (rc == -EEXIST)
		return 0;
	if (rc != 0) {
		api_err("cannot create %s: %s", O.users, strerror(-rc));
		return -1;
	}
	api_info("created %s with user %s", O.users, O.admin_user);
	return 0;
}

int
main(int argc, char **argv)
{
	sigset_t set;

	parse_opts(argc, argv);
	if (setup_paths() != 0 || init_users() != 0)
		return 1;
	(void) api_limits_raise_nofile(); /* inherited by the workers */
	cfg = (struct api_config) {
		.state_dir = O.state_dir,
		.node = O.node,
		.users_path = O.users,
		.ctl_path = O.ctl,
		.admin_user = O.admin_user,
		.http_listen = O.http_listen,
		.https_listen = O.https_listen,
		.workers = O.workers,
		.threads = O.threads,
		.ctl_timeout_ms = O.ctl_timeout_ms,
		.inflight = inflight_total,
	};
	if (api_beat_new(&beats, MAX_SLOTS) != 0)
		return 1;
	counts = mmap(NULL, sizeof(*counts) * MAX_SLOTS,
	    PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (counts == MAP_FAILED) {
		api_err("mmap(MAP_SHARED|MAP_ANONYMOUS) failed: %s",
		    strerror(errno));
		return 1;
	}
	listen_fd = open_socket(O.socket);
	if (listen_fd < 0)
		return 1;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	for (int i = 0; i < O.workers; i++)
		if (spawn() != 0)
			return 1;
	if (O.ready_fd >= 0) {
		if (write(O.ready_fd, "ready\n", 6) != 6)
			api_warn(
			    "write(ready-fd) failed: %s", strerror(errno));
		close(O.ready_fd);
	}
	return master_loop();
}
