/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for shm/ (reader) and collector/ (writer): every table
 * written through col_* and read back through shm_*, long strings,
 * capacity overflow, slot reuse, paging order, restart detection and
 * corrupt segments (a private copy of a real segment, then damaged).
 */
#include "config.h"

#include "collector/col.h"
#include "shm/shm_impl.h"
#include "tests/harness/t.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

static char seg_name[64];

static const char *
name_new(void)
{
	static int n;

	snprintf(seg_name, sizeof(seg_name), "/mqttd-test-shm.%d.%d",
	    (int) getpid(), n++);
	return seg_name;
}

static col *
open_col(uint32_t cap, uint64_t arena)
{
	struct col_config cfg = {
		.shm_name = name_new(),
		.node = "mqttd@127.0.0.1",
		.version = "0.1.0",
		.sysdescr = "mqttd",
		.max_clients = cap,
		.max_sessions = cap,
		.max_subscriptions = cap * 2,
		.max_routes = cap * 2,
		.string_arena_bytes = arena,
	};
	col *c = NULL;

	T_EQ(col_open(&c, &cfg), 0);
	T_ASSERT(c != NULL);
	return c;
}

static shm_reader *
open_reader(void)
{
	shm_reader *r = NULL;

	T_EQ(shm_reader_open(&r, seg_name), 0);
	return r;
}

static col_ref
connect_v4(col *c, const char *id, const char *user, uint16_t port)
{
	struct sockaddr_in sin
	    = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct col_client cl = {
		.client_id = id,
		.client_id_len = strlen(id),
		.username = user,
		.username_len = user ? strlen(user) : 0,
		.peer = (const struct sockaddr *) &sin,
		.clean_sess = true,
		.proto_ver = 4,
		.keepalive = 60,
		.connected_at = 1492179098,
		.listener = 0,
	};

	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	return col_client_connected(c, &cl);
}

/* Callback sinks: copy what the reader handed over. */
struct got {
	int         n;
	char        id[128], user[128], topic[128], ip[46];
	bool        has_user;
	size_t      id_len, topic_len;
	shm_client  c;
	shm_session s;
	uint8_t     qos;
	char        ids[256][32];
};

static void
cp(char *dst, size_t cap, shm_str s)
{
	size_t n = s.len < cap - 1 ? s.len : cap - 1;

	memcpy(dst, s.ptr, n);
	dst[n] = '\0';
}

static int
on_client(const shm_client *c, void *arg)
{
	struct got *g = arg;

	cp(g->id, sizeof(g->id), c->client_id);
	g->id_len = c->client_id.len;
	g->has_user = c->has_username;
	if (c->has_username)
		cp(g->user, sizeof(g->user), c->username);
	snprintf(g->ip, sizeof(g->ip), "%s", c->ipaddress);
	g->c = *c;
	if (g->n < 256)
		cp(g->ids[g->n], sizeof(g->ids[0]), c->client_id);
	g->n++;
	return 0;
}

static int
on_session(const shm_session *s, void *arg)
{
	struct got *g = arg;

	cp(g->id, sizeof(g->id), s->client_id);
	g->s = *s;
	g->n++;
	return 0;
}

static int
on_sub(const shm_subscription *s, void *arg)
{
	struct got *g = arg;

	cp(g->id, sizeof(g->id), s->client_id);
	cp(g->topic, sizeof(g->topic), s->topic);
	g->topic_len = s->topic.len;
	g->qos = s->qos;
	if (g->n < 256)
		cp(g->ids[g->n], sizeof(g->ids[0]), s->topic);
	g->n++;
	return 0;
}

static int
on_route(const shm_route *rt, void *arg)
{
	struct got *g = arg;

	cp(g->topic, sizeof(g->topic), rt->topic);
	cp(g->id, sizeof(g->id), rt->node);
	g->n++;
	return 0;
}

T_TEST(names)
{
	char buf[64], buf2[64];

	T_STREQ(shm_metric_name(SHM_M_BYTES_RECEIVED), "bytes/received");
	T_STREQ(shm_metric_name(SHM_M_PACKETS_PUBCOMP_MISSED),
	    "packets/pubcomp/missed");
	T_STREQ(shm_metric_name(SHM_M_MESSAGES_DROPPED), "messages/dropped");
	for (int i = 0; i < SHM_METRIC_COUNT; i++)
		T_ASSERT(shm_metric_name(i) != NULL);
	T_EQ(SHM_METRIC_COUNT, 38);
	T_EQ(SHM_STAT_COUNT, 14);
	T_STREQ(shm_stat_name(SHM_S_TOPICS_MAX), "topics/max");
	T_STREQ(shm_shutdown_name(SHM_SHUT_AUTH_FAILED), "auth_failure");
	T_STREQ(shm_overflow_name(SHM_OVF_STRINGS), "strings");
	T_ASSERT(shm_metric_name(SHM_METRIC_COUNT) == NULL);

	/* Segment names are random: nobody can create one in advance. */
	T_EQ(shm_name_random(buf, sizeof(buf)), 0);
	T_EQ(strlen(buf), 39);
	T_ASSERT(strncmp(buf, "/mqttd.", 7) == 0);
	T_EQ(strspn(buf + 7, "0123456789abcdef"), 32);
	T_EQ(shm_name_random(buf2, sizeof(buf2)), 0);
	T_ASSERT(strcmp(buf, buf2) != 0);
	T_EQ(shm_name_random(buf, 39), -ENAMETOOLONG);
}

static char tmpdir[64];

static const char *
dir_new(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/mqttd-test-shm.XXXXXX");
	T_ASSERT(mkdtemp(tmpdir) != NULL);
	return tmpdir;
}

static void
write_file(const char *dir, const char *leaf, const char *text, int mode)
{
	char path[256];
	int  fd;

	snprintf(path, sizeof(path), "%s/%s", dir, leaf);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	T_ASSERT(fd >= 0);
	T_EQ(write(fd, text, strlen(text)), (ssize_t) strlen(text));
	T_EQ(fchmod(fd, (mode_t) mode), 0);
	close(fd);
}

/* The record: only a well-formed name in a file of ours is followed. */
T_TEST(record_trust)
{
	const char *d = dir_new();
	char        name[64], got[64], path[128];
	struct stat st;

	T_EQ(shm_name_lookup(d, got, sizeof(got)), -ENOENT);
	T_EQ(shm_name_random(name, sizeof(name)), 0);
	T_EQ(shm_name_record(d, name), 0);
	snprintf(path, sizeof(path), "%s/segment", d);
	T_EQ(stat(path, &st), 0);
	T_EQ(st.st_mode & 0777, 0640);
	T_EQ(shm_name_lookup(d, got, sizeof(got)), 0);
	T_STREQ(got, name);
	T_EQ(shm_name_lookup(d, got, 20), -ENAMETOOLONG);
	T_EQ(shm_name_record(d, "/mqttd.0123"), -EINVAL);
	T_EQ(shm_name_record(d, "/../../etc/passwd"), -EINVAL);

	/* Group-writable: someone else may have written it. */
	T_EQ(chmod(path, 0660), 0);
	T_EQ(shm_name_lookup(d, got, sizeof(got)), -EPERM);
	/* Not a name, or a name plus anything. */
	write_file(d, "segment", "/mqttd.0123456789abcdef\n", 0640);
	T_EQ(shm_name_lookup(d, got, sizeof(got)), -EBADMSG);
	write_file(
	    d, "segment", "/mqttd.0123456789abcdef0123456789ABCDEF\n", 0640);
	T_EQ(shm_name_lookup(d, got, sizeof(got)), -EBADMSG);
	write_file(d, "segment", "/tmp/x", 0640);
	T_EQ(shm_name_lookup(d, got, sizeof(got)), -EBADMSG);
	/* A symlink is never followed. */
	T_EQ(unlink(path), 0);
	T_EQ(symlink("/etc/passwd", path), 0);
	T_EQ(shm_name_lookup(d, got, sizeof(got)), -EPERM);
	T_EQ(unlink(path), 0);

	/* forget removes only its own record. */
	T_EQ(shm_name_record(d, name), 0);
	T_EQ(shm_name_forget(d, "/mqttd.00000000000000000000000000000000"), 0);
	T_EQ(shm_name_lookup(d, got, sizeof(got)), 0);
	T_EQ(shm_name_forget(d, name), 0);
	T_EQ(shm_name_lookup(d, got, sizeof(got)), -ENOENT);
	T_EQ(rmdir(d), 0);
}

/* col_config.log: the last line col logged, and its level. */
static char last_log[512];
static int  last_level = -1;

static void __attribute__((format(printf, 2, 3)))
capture_log(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_log, sizeof(last_log), fmt, ap);
	va_end(ap);
	last_level = level;
}

/*
 * A broker of a state directory: a new random name each start, found by
 * readers through the record; a leftover of a SIGKILLed broker is removed
 * at the next start; a live one refuses a second broker; readers follow a
 * restart to the new name.
 */
T_TEST(state_dir_segment)
{
	const char       *d = dir_new();
	struct col_config cfg = { .state_dir = d, .max_clients = 8 };
	char              first[64], second[64];
	col              *c = NULL, *c2 = NULL;
	shm_reader       *r = NULL;
	shm_node          n;
	pid_t             pid;
	int               st, fd;

	T_EQ(shm_reader_open_dir(&r, d), -ENOENT);
	pid = fork();
	if (pid == 0) {
		col *cc;
		_exit(col_open(&cc, &cfg) == 0 ? 0 : 1); /* dies: no close */
	}
	T_EQ(waitpid(pid, &st, 0), pid);
	T_EQ(WEXITSTATUS(st), 0);
	T_EQ(shm_name_lookup(d, first, sizeof(first)), 0);
	fd = shm_open(first, O_RDONLY, 0);
	T_ASSERT(fd >= 0); /* the leftover */
	close(fd);
	T_EQ(shm_reader_open_dir(&r, d), 0);
	T_EQ(shm_reader_refresh(r), -ESTALE);

	T_EQ(col_open(&c, &cfg), 0);
	T_EQ(shm_name_lookup(d, second, sizeof(second)), 0);
	T_ASSERT(strcmp(first, second) != 0);
	T_EQ(shm_open(first, O_RDONLY, 0), -1); /* leftover removed */
	T_EQ(errno, ENOENT);
	T_EQ(shm_reader_refresh(r), 0); /* followed the record */
	T_EQ(shm_node_get(r, &n), 0);
	T_EQ(n.pid, getpid());
	T_ASSERT(n.alive);

	cfg.log = capture_log; /* says why, through the process's logger */
	T_EQ(col_open(&c2, &cfg), -EEXIST); /* one broker per state dir */
	T_EQ(last_level, COL_LOG_ERROR);
	T_ASSERT(strstr(last_log, "is still running") != NULL);
	T_ASSERT(strncmp(last_log, "col: ", 5) == 0);
	T_EQ(shm_name_lookup(d, first, sizeof(first)), 0);
	T_STREQ(first, second); /* and it left the record alone */

	col_close(&c);
	T_EQ(shm_name_lookup(d, first, sizeof(first)), -ENOENT);
	T_EQ(shm_open(second, O_RDONLY, 0), -1);
	T_EQ(shm_reader_refresh(r), -ENOENT);
	shm_reader_close(&r);
	T_EQ(rmdir(d), 0);
}

T_TEST(node_and_create)
{
	col              *c = open_col(16, 0), *c2 = NULL;
	shm_reader       *r = open_reader();
	shm_node          n;
	struct col_proc   p = { 100, 50, 7, 1024, 5000 };
	struct col_config cfg = { .shm_name = seg_name };
	struct stat       st;
	int               fd;

	col_heartbeat(c, &p);
	T_EQ(shm_node_get(r, &n), 0);
	T_STREQ(n.node, "mqttd@127.0.0.1");
	T_STREQ(n.version, "0.1.0");
	T_STREQ(n.sysdescr, "mqttd");
	T_EQ(n.pid, getpid());
	T_ASSERT(n.alive);
	T_EQ(n.mem_total, 100);
	T_EQ(n.mem_used, 50);
	T_EQ(n.fds_used, 7);
	T_EQ(n.fds_max, 1024);
	T_EQ(n.clients_max_conf, 5000);
	T_EQ(n.cap_clients, 16);
	T_EQ(n.cap_subscriptions, 32);
	T_EQ(shm_reader_refresh(r), 0);

	/* The name is taken while its broker (us) lives. */
	T_EQ(col_open(&c2, &cfg), -EEXIST);
	/* Mode 0640, owned by us. */
	fd = shm_open(seg_name, O_RDONLY, 0);
	T_ASSERT(fd >= 0);
	T_EQ(fstat(fd, &st), 0);
	T_EQ(st.st_mode & 0777, 0640);
	close(fd);

	col_close(&c);
	T_ASSERT(c == NULL);
	T_EQ(shm_reader_refresh(r), -ENOENT);
	shm_reader_close(&r);
	T_EQ(shm_reader_open(&r, seg_name), -ENOENT);
}

T_TEST(leftover_of_dead_broker)
{
	struct col_config cfg = { .shm_name = name_new(), .max_clients = 8 };
	shm_reader       *r;
	shm_node          n;
	pid_t             pid;
	int               st;
	col              *c = NULL;

	pid = fork();
	if (pid == 0) {
		col *cc;
		_exit(col_open(&cc, &cfg) == 0 ? 0 : 1); /* no col_close */
	}
	T_EQ(waitpid(pid, &st, 0), pid);
	T_EQ(WEXITSTATUS(st), 0);
	T_EQ(shm_reader_open(&r, seg_name), 0);
	T_EQ(shm_reader_refresh(r), -ESTALE); /* pid gone */
	T_EQ(shm_node_get(r, &n), 0);
	T_ASSERT(!n.alive);
	uint64_t old_boot = n.boot_id;

	T_EQ(col_open(&c, &cfg), 0);    /* replaces the leftover */
	T_EQ(shm_reader_refresh(r), 0); /* re-attached */
	T_EQ(shm_node_get(r, &n), 0);
	T_ASSERT(n.boot_id != old_boot);
	T_EQ(n.pid, getpid());
	shm_reader_close(&r);
	col_close(&c);
}

/* A segment larger than /dev/shm can hold is refused up front (touching
 * its pages later would be a SIGBUS in the broker). */
T_TEST(no_room)
{
	struct col_config cfg = { .shm_name = name_new(),
		.max_clients = 16,
		.string_arena_bytes = UINT64_C(1) << 40 };
	struct statvfs    sv;
	col              *c = NULL;
	int               rc = col_open(&c, &cfg);

	T_EQ(statvfs("/dev/shm", &sv), 0);
	if ((uint64_t) sv.f_bavail * sv.f_frsize < (UINT64_C(32) << 30)) {
		T_EQ(rc, -ENOSPC);
		T_EQ(shm_open(seg_name, O_RDONLY, 0), -1); /* nothing left */
	} else {
		T_EQ(rc,
		    0); /* a huge /dev/shm: the arena is capped at 32 GiB */
		col_close(&c);
	}
}

T_TEST(untrusted_mode)
{
	col        *c = open_col(8, 0);
	shm_reader *r = NULL;
	int         fd = shm_open(seg_name, O_RDWR, 0);

	T_ASSERT(fd >= 0);
	T_EQ(fchmod(fd, 0666), 0);
	close(fd);
	T_EQ(shm_reader_open(&r, seg_name), -EPERM);
	col_close(&c);
}

T_TEST(clients)
{
	col                *c = open_col(16, 0);
	shm_reader         *r = open_reader();
	struct got          g = { 0 };
	struct sockaddr_in6 s6
	    = { .sin6_family = AF_INET6, .sin6_port = htons(4242) };
	struct col_client cl = { .client_id = "v6",
		.client_id_len = 2,
		.peer = (struct sockaddr *) &s6,
		.proto_ver = 3,
		.keepalive = 30,
		.listener = 1 };
	col_ref           a, b, e;

	inet_pton(AF_INET6, "2001:db8::1", &s6.sin6_addr);
	a = connect_v4(c, "alice", "al", 5555);
	b = connect_v4(c, "bob", NULL, 6666);
	e = connect_v4(c, "eve", "", 7777);
	T_ASSERT(a != COL_NONE && b != COL_NONE && e != COL_NONE);
	T_ASSERT(col_client_connected(c, &cl) != COL_NONE);
	T_EQ(shm_clients_total(r), 4);

	T_EQ(shm_client_get(r, "alice", 5, on_client, &g), 1);
	T_STREQ(g.id, "alice");
	T_ASSERT(g.has_user);
	T_STREQ(g.user, "al");
	T_STREQ(g.ip, "127.0.0.1");
	T_EQ(g.c.port, 5555);
	T_EQ(g.c.proto_ver, 4);
	T_EQ(g.c.keepalive, 60);
	T_ASSERT(g.c.clean_sess);
	T_EQ(g.c.connected_at, 1492179098);

	T_EQ(shm_client_get(r, "bob", 3, on_client, &g), 1);
	T_ASSERT(!g.has_user); /* absent */
	T_EQ(shm_client_get(r, "eve", 3, on_client, &g), 1);
	T_ASSERT(g.has_user); /* present but empty */
	T_EQ(g.c.username.len, 0);
	T_EQ(shm_client_get(r, "v6", 2, on_client, &g), 1);
	T_STREQ(g.ip, "2001:db8::1");
	T_EQ(g.c.port, 4242);
	T_EQ(g.c.listener, 1);
	T_ASSERT(!g.c.clean_sess);

	T_EQ(shm_client_get(r, "nobody", 6, on_client, &g), 0);
	T_EQ(shm_client_get(r, "alic", 4, on_client, &g), 0);
	g.n = 0;
	T_EQ(shm_clients_page(r, 0, 100, on_client, &g), 4);
	T_EQ(g.n, 4);

	col_client_disconnected(c, b);
	T_EQ(shm_clients_total(r), 3);
	T_EQ(shm_client_get(r, "bob", 3, on_client, &g), 0);
	T_EQ(shm_client_get(r, "alice", 5, on_client, &g), 1);
	col_client_disconnected(c, b);        /* stale ref: no-op */
	col_client_disconnected(c, COL_NONE); /* no-op */
	T_EQ(shm_clients_total(r), 3);
	shm_reader_close(&r);
	col_close(&c);
}

T_TEST(ipv4_text)
{
	static const char *const addrs[] = { "0.0.0.0", "255.255.255.255",
		"10.100.9.200", "1.20.199.99", "192.168.0.1" };
	col                     *c = open_col(16, 0);
	shm_reader              *r = open_reader();
	struct got               g = { 0 };

	for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		struct sockaddr_in sin = { .sin_family = AF_INET };
		char               id[8];
		struct col_client  cl
		    = { .client_id = id, .peer = (struct sockaddr *) &sin };

		snprintf(id, sizeof(id), "ip%zu", i);
		cl.client_id_len = strlen(id);
		T_EQ(inet_pton(AF_INET, addrs[i], &sin.sin_addr), 1);
		T_ASSERT(col_client_connected(c, &cl) != COL_NONE);
		T_EQ(shm_client_get(r, id, strlen(id), on_client, &g), 1);
		T_STREQ(g.ip, addrs[i]);
	}
	shm_reader_close(&r);
	col_close(&c);
}

T_TEST(sessions)
{
	col                      *c = open_col(16, 0);
	shm_reader               *r = open_reader();
	struct got                g = { 0 };
	struct col_session_counts n
	    = { true, 3, 32, 2, 5, 9, 1, 4, 6, 100, 200 };
	col_ref s;

	s = col_session_created(c, "sess1", 5, false, 1700000000);
	T_ASSERT(s != COL_NONE);
	col_session_update(c, s, &n);
	T_EQ(shm_session_get(r, "sess1", 5, on_session, &g), 1);
	T_STREQ(g.id, "sess1");
	T_ASSERT(!g.s.clean_sess);
	T_ASSERT(g.s.connected);
	T_EQ(g.s.created_at, 1700000000);
	T_EQ(g.s.subscriptions, 3);
	T_EQ(g.s.max_inflight, 32);
	T_EQ(g.s.inflight_len, 2);
	T_EQ(g.s.mqueue_len, 5);
	T_EQ(g.s.mqueue_dropped, 9);
	T_EQ(g.s.awaiting_rel_len, 1);
	T_EQ(g.s.awaiting_ack, 4);
	T_EQ(g.s.awaiting_comp, 6);
	T_EQ(g.s.deliver_msg, 100);
	T_EQ(g.s.enqueue_msg, 200);
	T_EQ(shm_sessions_total(r), 1);
	g.n = 0;
	T_EQ(shm_sessions_page(r, 0, 20, on_session, &g), 1);
	col_session_removed(c, s);
	T_EQ(shm_sessions_total(r), 0);
	T_EQ(shm_session_get(r, "sess1", 5, on_session, &g), 0);
	shm_reader_close(&r);
	col_close(&c);
}

T_TEST(subscriptions_and_routes)
{
	col        *c = open_col(16, 0);
	shm_reader *r = open_reader();
	struct got  g = { 0 };
	col_ref     s1, s2, s3, rt;

	s1 = col_subscribed(c, "cli", 3, "a/b", 3, 1);
	s2 = col_subscribed(c, "cli", 3, "c/#", 3, 0);
	s3 = col_subscribed(c, "other", 5, "a/b", 3, 2);
	T_ASSERT(s1 && s2 && s3);
	T_EQ(shm_subscriptions_total(r), 3);
	T_EQ(shm_subscriptions_of(r, "cli", 3, on_sub, &g), 2);
	T_EQ(g.n, 2);
	T_EQ(shm_subscriptions_of(r, "other", 5, on_sub, &g), 1);
	T_STREQ(g.topic, "a/b");
	T_EQ(g.qos, 2);
	col_subscription_qos(c, s3, 1);
	T_EQ(shm_subscriptions_of(r, "other", 5, on_sub, &g), 1);
	T_EQ(g.qos, 1);
	col_unsubscribed(c, s1);
	g.n = 0;
	T_EQ(shm_subscriptions_of(r, "cli", 3, on_sub, &g), 1);
	T_STREQ(g.topic, "c/#");
	g.n = 0;
	T_EQ(shm_subscriptions_page(r, 0, 10, on_sub, &g), 2);

	rt = col_route_added(c, "a/b", 3);
	T_ASSERT(rt != COL_NONE);
	T_ASSERT(col_route_added(c, "c/#", 3) != COL_NONE);
	T_EQ(shm_routes_total(r), 2);
	T_EQ(shm_routes_of(r, "a/b", 3, on_route, &g), 1);
	T_STREQ(g.topic, "a/b");
	T_STREQ(g.id, "mqttd@127.0.0.1");
	T_EQ(shm_routes_of(r, "x", 1, on_route, &g), 0);
	g.n = 0;
	T_EQ(shm_routes_page(r, 0, 10, on_route, &g), 2);
	col_route_removed(c, rt);
	T_EQ(shm_routes_of(r, "a/b", 3, on_route, &g), 0);
	T_EQ(shm_routes_total(r), 1);
	shm_reader_close(&r);
	col_close(&c);
}

struct small {
	int          n;
	shm_listener l[4];
	shm_plugin   p[4];
};

static int
on_listener(const shm_listener *l, void *arg)
{
	struct small *s = arg;

	s->l[s->n++ % 4] = *l;
	return 0;
}

static int
on_plugin(const shm_plugin *p, void *arg)
{
	struct small *s = arg;

	s->p[s->n++ % 4] = *p;
	return 0;
}

T_TEST(listeners_plugins_counters)
{
	col         *c = open_col(16, 0);
	shm_reader  *r = open_reader();
	struct small s = { 0 };
	uint64_t m[SHM_METRIC_COUNT], st[SHM_STAT_COUNT], in[SHM_STAT_COUNT];
	col_ref  l, p;

	l = col_listener_add(c, "mqtt:tcp", "127.0.0.1:1883", 8, 1000);
	T_EQ(l, 1);
	col_listener_clients(c, l, 12);
	col_listener_shutdown(c, l, SHM_SHUT_KICKED);
	col_listener_shutdown(c, l, SHM_SHUT_KICKED);
	T_EQ(shm_listeners_each(r, on_listener, &s), 1);
	T_STREQ(s.l[0].protocol, "mqtt:tcp");
	T_STREQ(s.l[0].listen, "127.0.0.1:1883");
	T_EQ(s.l[0].acceptors, 8);
	T_EQ(s.l[0].max_clients, 1000);
	T_EQ(s.l[0].current_clients, 12);
	T_EQ(s.l[0].shutdown[SHM_SHUT_KICKED], 2);
	T_EQ(s.l[0].shutdown[SHM_SHUT_CLOSED], 0);

	s.n = 0;
	p = col_plugin_add(c, "mqttd_auth_username", "0.1.0", "Auth", false);
	T_ASSERT(col_plugin_add(c, "mqttd_retainer", "0.1.0", "Retain", true));
	col_plugin_active(c, p, true);
	T_EQ(shm_plugins_each(r, on_plugin, &s), 2);
	T_STREQ(s.p[0].name, "mqttd_auth_username");
	T_STREQ(s.p[0].description, "Auth");
	T_ASSERT(s.p[0].active);
	T_STREQ(s.p[1].version, "0.1.0");

	col_metric_add(c, SHM_M_BYTES_SENT, 10);
	col_metric_add(c, SHM_M_BYTES_SENT, 5);
	col_metric_set(c, SHM_M_MESSAGES_RETAINED, 3);
	T_EQ(shm_metrics_get(r, m), 0);
	T_EQ(m[SHM_M_BYTES_SENT], 15);
	T_EQ(m[SHM_M_MESSAGES_RETAINED], 3);
	T_EQ(m[SHM_M_BYTES_RECEIVED], 0);
	for (int i = 0; i < SHM_STAT_COUNT; i++)
		in[i] = (uint64_t) i * 11 + 1;
	col_stats_set(c, in);
	T_EQ(shm_stats_get(r, st), 0);
	T_MEMEQ(st, in, sizeof(in));
	in[0] = 99;
	col_stats_set(c, in);
	T_EQ(shm_stats_get(r, st), 0);
	T_EQ(st[0], 99);
	shm_reader_close(&r);
	col_close(&c);
}

T_TEST(long_strings)
{
	col        *c = open_col(16, 1 << 20);
	shm_reader *r = open_reader();
	size_t      L = 65535;
	char       *id = malloc(L), *topic = malloc(L);
	struct got  g = { 0 };
	col_ref     a, s, rt;

	for (size_t i = 0; i < L; i++) {
		id[i] = (char) ('a' + i % 26);
		topic[i] = (char) ('A' + i % 23);
	}
	struct col_client cl = { .client_id = id,
		.client_id_len = L,
		.username = topic,
		.username_len = 1000 };
	a = col_client_connected(c, &cl);
	T_ASSERT(a != COL_NONE);
	T_EQ(shm_client_get(r, id, L, on_client, &g), 1);
	T_EQ(g.id_len, L);
	T_EQ(g.c.client_id.len, 65535);
	T_EQ(g.c.username.len, 1000);
	T_EQ(shm_client_get(r, id, L - 1, on_client, &g), 0);

	s = col_subscribed(c, id, L, topic, L, 1);
	T_ASSERT(s != COL_NONE);
	T_EQ(shm_subscriptions_of(r, id, L, on_sub, &g), 1);
	T_EQ(g.topic_len, L);
	rt = col_route_added(c, topic, L);
	T_ASSERT(rt != COL_NONE);
	T_EQ(shm_routes_of(r, topic, L, on_route, &g), 1);
	T_ASSERT(col_session_created(c, id, L, true, 1) != COL_NONE);
	T_EQ(shm_session_get(r, id, L, on_session, &g), 1);

	/* Too long for MQTT: refused, counted, never truncated. */
	struct col_client big = { .client_id = id, .client_id_len = L + 1 };
	char             *id2 = malloc(L + 1);
	memset(id2, 'x', L + 1);
	big.client_id = id2;
	T_EQ(col_client_connected(c, &big), COL_NONE);

	/* Freed blocks are reused: churn far past the arena's size. */
	for (int i = 0; i < 200; i++) {
		col_client_disconnected(c, a);
		id[0] = (char) ('a' + i % 26);
		a = col_client_connected(c, &cl);
		T_ASSERT(a != COL_NONE);
	}
	T_EQ(shm_client_get(r, id, L, on_client, &g), 1);
	shm_node n;
	T_EQ(shm_node_get(r, &n), 0);
	T_EQ(n.overflow[SHM_OVF_STRINGS], 1);
	free(id);
	free(id2);
	free(topic);
	shm_reader_close(&r);
	col_close(&c);
}

T_TEST(capacity_overflow)
{
	col        *c = open_col(4, 4096);
	shm_reader *r = open_reader();
	shm_node    n;
	char        id[16], big[300];
	col_ref     refs[4];

	for (int i = 0; i < 4; i++) {
		snprintf(id, sizeof(id), "c%d", i);
		refs[i] = connect_v4(c, id, NULL, 1);
		T_ASSERT(refs[i] != COL_NONE);
	}
	T_EQ(connect_v4(c, "c4", NULL, 1), COL_NONE);
	T_EQ(connect_v4(c, "c5", NULL, 1), COL_NONE);
	for (int i = 0; i < 8; i++)
		T_ASSERT(col_subscribed(c, "c", 1, "t", 1, 0) != COL_NONE);
	T_EQ(col_subscribed(c, "c", 1, "t", 1, 0), COL_NONE);
	col_session_update(c, COL_NONE, NULL);
	col_client_disconnected(c, COL_NONE);
	/* The arena (4 KiB): long strings fill it, then overflow. */
	memset(big, 'b', sizeof(big));
	int ok = 0;
	for (int i = 0; i < 8; i++) {
		big[0] = (char) ('0' + i);
		if (col_route_added(c, big, sizeof(big)) != COL_NONE)
			ok++;
	}
	T_EQ(ok, 8); /* 8 routes of 512-byte blocks = 4 KiB */
	T_EQ(col_route_added(c, "short", 5), COL_NONE); /* table full */
	T_EQ(shm_node_get(r, &n), 0);
	T_EQ(n.overflow[SHM_OVF_CLIENTS], 2);
	T_EQ(n.overflow[SHM_OVF_SUBSCRIPTIONS], 1);
	T_EQ(n.overflow[SHM_OVF_ROUTES], 1);
	T_EQ(shm_clients_total(r), 4);

	/* Removing one frees one slot. */
	col_client_disconnected(c, refs[2]);
	T_ASSERT(connect_v4(c, "c6", NULL, 1) != COL_NONE);
	struct got g = { 0 };
	T_EQ(shm_client_get(r, "c6", 2, on_client, &g), 1);
	T_EQ(shm_client_get(r, "c2", 2, on_client, &g), 0);
	shm_reader_close(&r);
	col_close(&c);
}

T_TEST(generation_and_reuse)
{
	col                         *c = open_col(4, 0);
	shm_reader                  *r = open_reader();
	const struct shm_table_desc *d = &r->tab[SHM_T_CLIENTS];
	const struct shm_rec_head   *h;
	col_ref                      a, b;

	a = connect_v4(c, "first", NULL, 1);
	h = (const void *) (r->base + d->slots_off
	    + (size_t) (a - 1) * d->rec_size);
	T_EQ(h->gen, 1);
	T_EQ(h->seq % 2, 0);
	col_client_disconnected(c, a);
	T_EQ(h->gen, 2); /* free: even */
	b = connect_v4(c, "second", NULL, 1);
	T_EQ(b, a); /* LIFO reuse of the freed slot */
	T_EQ(h->gen, 3);
	struct got g = { 0 };
	T_EQ(shm_client_get(r, "first", 5, on_client, &g), 0);
	T_EQ(shm_client_get(r, "second", 6, on_client, &g), 1);
	shm_reader_close(&r);
	col_close(&c);
}

T_TEST(paging_stable_order)
{
	col        *c = open_col(256, 0);
	shm_reader *r = open_reader();
	struct got *all = calloc(1, sizeof(*all));
	struct got *pg = calloc(1, sizeof(*pg));
	char        id[32];
	col_ref     refs[200];

	for (int i = 0; i < 200; i++) {
		snprintf(id, sizeof(id), "client-%03d", i);
		refs[i] = connect_v4(c, id, NULL, (uint16_t) i);
	}
	T_EQ(shm_clients_page(r, 0, 1000, on_client, all), 200);
	/* Pages of 20 at every offset give the same order as one sweep. */
	for (int off = 0; off < 200; off += 20) {
		pg->n = 0;
		T_EQ(shm_clients_page(r, (uint64_t) off, 20, on_client, pg),
		    20);
		for (int i = 0; i < 20; i++)
			T_STREQ(pg->ids[i], all->ids[off + i]);
	}
	pg->n = 0;
	T_EQ(shm_clients_page(r, 190, 20, on_client, pg), 10);
	T_EQ(shm_clients_page(r, 200, 20, on_client, pg), 0);
	T_EQ(shm_clients_page(r, UINT64_MAX, 20, on_client, pg), 0);
	/* Stable while nothing changes. */
	pg->n = 0;
	T_EQ(shm_clients_page(r, 0, 1000, on_client, pg), 200);
	for (int i = 0; i < 200; i++)
		T_STREQ(pg->ids[i], all->ids[i]);
	/* After removals, still every live record exactly once. */
	for (int i = 0; i < 200; i += 3)
		col_client_disconnected(c, refs[i]);
	pg->n = 0;
	T_EQ(shm_clients_page(r, 0, 1000, on_client, pg), 133);
	for (int i = 0; i < 133; i++)
		for (int j = i + 1; j < 133; j++)
			T_ASSERT(strcmp(pg->ids[i], pg->ids[j]) != 0);
	free(all);
	free(pg);
	shm_reader_close(&r);
	col_close(&c);
}

static int
stop_cb(const shm_client *cl, void *arg)
{
	(void) cl;
	return ++*(int *) arg == 3 ? 42 : 0;
}

T_TEST(callback_stops)
{
	col        *c = open_col(16, 0);
	shm_reader *r = open_reader();
	int         n = 0;

	for (int i = 0; i < 5; i++) {
		char id[8];
		snprintf(id, sizeof(id), "c%d", i & 7);
		connect_v4(c, id, NULL, 1);
	}
	T_EQ(shm_clients_page(r, 0, 20, stop_cb, &n), 42);
	T_EQ(n, 3);
	shm_reader_close(&r);
	col_close(&c);
}

/* ---- corrupt segments: a private copy of a real one, damaged ---- */

static void *
snapshot(col *c, size_t *len)
{
	shm_reader *r = open_reader();
	void       *buf;

	*len = r->size;
	T_ASSERT(posix_memalign(&buf, 4096, *len) == 0);
	memcpy(buf, r->base, *len);
	shm_reader_close(&r);
	(void) c;
	return buf;
}

static int
on_any(const void *x, void *arg)
{
	(void) x;
	(void) arg;
	return 0;
}

/* Runs every read; returns the first error (or 0). */
static int
read_all(shm_reader *r)
{
	struct got g = { 0 };
	shm_node   n;
	uint64_t   m[SHM_METRIC_COUNT];
	int        rc, first = 0;

#define TRY(x)                                                                \
	do {                                                                  \
		rc = (x);                                                     \
		if (rc < 0 && first == 0)                                     \
			first = rc;                                           \
	} while (0)
	TRY(shm_node_get(r, &n));
	TRY(shm_metrics_get(r, m));
	TRY(shm_stats_get(r, m));
	TRY((int) shm_clients_total(r));
	TRY(shm_clients_page(r, 0, 100, on_client, &g));
	TRY(shm_sessions_page(r, 0, 100, on_session, &g));
	TRY(shm_subscriptions_page(r, 0, 100, on_sub, &g));
	TRY(shm_routes_page(r, 0, 100, on_route, &g));
	TRY(shm_client_get(r, "alice", 5, on_client, &g));
	TRY(shm_session_get(r, "alice", 5, on_session, &g));
	TRY(shm_subscriptions_of(r, "alice", 5, on_sub, &g));
	TRY(shm_routes_of(r, "a/b", 3, on_route, &g));
	TRY(shm_listeners_each(r, (shm_listener_cb) on_any, NULL));
	TRY(shm_plugins_each(r, (shm_plugin_cb) on_any, NULL));
#undef TRY
	return first;
}

static col *
populated(void)
{
	col *c = open_col(16, 1 << 16);
	char big[200];

	memset(big, 'z', sizeof(big));
	connect_v4(c, "alice", "al", 1);
	col_session_created(c, "alice", 5, true, 1);
	col_subscribed(c, "alice", 5, "a/b", 3, 1);
	col_subscribed(c, "alice", 5, big, sizeof(big), 1);
	col_route_added(c, "a/b", 3);
	col_listener_add(c, "mqtt:tcp", "0.0.0.0:1883", 1, 10);
	col_plugin_add(c, "p", "1", "d", true);
	return c;
}

T_TEST(corrupt_header)
{
	col            *c = populated();
	size_t          len;
	unsigned char  *buf = snapshot(c, &len), *copy = malloc(len);
	shm_reader     *r;
	struct shm_hdr *h = (struct shm_hdr *) copy;

	memcpy(copy, buf, len);
	T_EQ(shm__reader_from_buffer(&r, copy, len), 0);
	T_EQ(read_all(r), 0);
	shm_reader_close(&r);

	h->magic ^= 1;
	T_EQ(shm__reader_from_buffer(&r, copy, len), -EBADMSG);
	memcpy(copy, buf, len);
	h->layout_version = 99;
	T_EQ(shm__reader_from_buffer(&r, copy, len), -EBADMSG);
	memcpy(copy, buf, len);
	T_EQ(shm__reader_from_buffer(&r, copy, len - 4096), -EBADMSG);
	h->tables[SHM_T_CLIENTS].cap = 0x7ffffff0u;
	T_EQ(shm__reader_from_buffer(&r, copy, len), -EBADMSG);
	memcpy(copy, buf, len);
	h->tables[SHM_T_SUBS].nbuckets = 3;
	T_EQ(shm__reader_from_buffer(&r, copy, len), -EBADMSG);
	memcpy(copy, buf, len);
	h->tables[SHM_T_ROUTES].buckets_off = len - 4;
	T_EQ(shm__reader_from_buffer(&r, copy, len), -EBADMSG);
	memcpy(copy, buf, len);
	h->arena_size = len;
	T_EQ(shm__reader_from_buffer(&r, copy, len), -EBADMSG);
	memcpy(copy, buf, len);
	h->magic = 0;
	T_EQ(shm__reader_from_buffer(&r, copy, len), -EAGAIN);
	free(buf);
	free(copy);
	col_close(&c);
}

T_TEST(corrupt_records)
{
	col            *c = populated();
	size_t          len;
	unsigned char  *buf = snapshot(c, &len);
	struct shm_hdr *h = (struct shm_hdr *) buf;
	shm_reader     *r;
	struct got      g = { 0 };

	T_EQ(shm__reader_from_buffer(&r, buf, len), 0);
	struct shm_table_desc  d = h->tables[SHM_T_CLIENTS];
	struct shm_rec_client *cr = (void *) (buf + d.slots_off);
	struct shm_table_desc  ds = h->tables[SHM_T_SUBS];
	struct shm_rec_sub    *sr = (void *) (buf + ds.slots_off);
	uint32_t              *cb = (void *) (buf + d.buckets_off);

	/* String reference past the inline area / the arena. */
	cr->id.len = 57;
	T_EQ(shm_client_get(r, "alice", 5, on_client, &g), -EBADMSG);
	T_EQ(shm_clients_page(r, 0, 10, on_client, &g), -EBADMSG);
	cr->id.len = 5;
	cr->id.off = 54;
	T_EQ(shm_clients_page(r, 0, 10, on_client, &g), -EBADMSG);
	cr->id.off = 0;
	sr[1].topic.off = (uint32_t) (h->arena_size / 8);
	T_EQ(shm_subscriptions_page(r, 0, 10, on_sub, &g), -EBADMSG);
	sr[1].topic.off = 0;
	sr[1].topic.len = 0x40000000u;
	T_EQ(shm_subscriptions_page(r, 0, 10, on_sub, &g), -EBADMSG);

	/* Occupancy count past capacity, index past capacity. */
	h->occ[SHM_T_CLIENTS].count = d.cap + 1;
	T_EQ(shm_clients_total(r), -EBADMSG);
	T_EQ(shm_clients_page(r, 0, 10, on_client, &g), -EBADMSG);
	h->occ[SHM_T_CLIENTS].count = 1;
	((uint32_t *) (buf + d.occ_off))[0] = d.cap;
	T_EQ(shm_clients_page(r, 0, 10, on_client, &g), -EBADMSG);
	((uint32_t *) (buf + d.occ_off))[0] = 0;

	/* A chain that loops forever, a chain into nowhere. */
	for (uint32_t b = 0; b < d.nbuckets; b++)
		cb[b] = 1;
	cr->next = 1;
	T_EQ(shm_client_get(r, "zzz", 3, on_client, &g), -EBADMSG);
	cr->next = d.cap + 5;
	T_EQ(shm_client_get(r, "zzz", 3, on_client, &g), -EBADMSG);

	/* A record whose count stays odd: bounded retries. */
	cr->seq = 1;
	T_EQ(shm_clients_page(r, 0, 10, on_client, &g), -EAGAIN);
	h->stats.seq = 7;
	uint64_t st[SHM_STAT_COUNT];
	T_EQ(shm_stats_get(r, st), 0); /* latch: odd is fine */
	h->proc.seq = 1;
	shm_node n;
	T_EQ(shm_node_get(r, &n), -EAGAIN);
	shm_reader_close(&r);
	free(buf);
	col_close(&c);
}

T_TEST(random_garbage)
{
	col           *c = populated();
	size_t         len;
	unsigned char *buf = snapshot(c, &len);
	unsigned char *copy = malloc(len);
	uint64_t       x = 88172645463325252ull;

	for (int round = 0; round < 200; round++) {
		shm_reader *r;

		memcpy(copy, buf, len);
		/* Flip bytes in the header and the first pages of data. */
		for (int k = 0; k < 64; k++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			size_t at = (size_t) (x % (round % 2 ? 4096 : 65536));
			copy[at] = (unsigned char) (x >> 32);
		}
		if (shm__reader_from_buffer(&r, copy, len) == 0) {
			int rc = read_all(r);
			T_ASSERT(rc == 0 || rc == -EBADMSG || rc == -EAGAIN);
			shm_reader_close(&r);
		}
	}
	free(buf);
	free(copy);
	col_close(&c);
}

T_TEST(heartbeat_stale)
{
	col            *c = populated();
	size_t          len;
	unsigned char  *buf = snapshot(c, &len);
	struct shm_hdr *h = (struct shm_hdr *) buf;
	shm_reader     *r;

	T_EQ(shm__reader_from_buffer(&r, buf, len), 0);
	T_EQ(shm_reader_refresh(r), 0);
	h->proc.heartbeat_ms -= 4000;
	T_EQ(shm_reader_refresh(r), -ESTALE);
	h->proc.heartbeat_ms += 4000;
	/* a corrupt beat at either end is stale, never an overflow (UBSan) */
	h->proc.heartbeat_ms = INT64_MIN;
	T_EQ(shm_reader_refresh(r), -ESTALE);
	h->proc.heartbeat_ms = INT64_MAX;
	T_EQ(shm_reader_refresh(r), -ESTALE);
	h->proc.heartbeat_ms = 0;
	T_EQ(shm_reader_refresh(r), -ESTALE);
	h->closed = 1;
	T_EQ(shm_reader_refresh(r), -ESTALE);
	shm_reader_close(&r);
	free(buf);
	col_close(&c);
}

/* One client with many subscriptions: one long chain, removed in a
 * scattered order; the rest of the chain stays reachable every step. */
T_TEST(many_subscriptions_one_client)
{
	col        *c = open_col(512, 0);
	shm_reader *r = open_reader();
	struct got *g = calloc(1, sizeof(*g));
	col_ref     refs[300];
	char        topic[32];
	int         live = 300;

	for (int i = 0; i < 300; i++) {
		snprintf(topic, sizeof(topic), "t/%d", i);
		refs[i]
		    = col_subscribed(c, "many", 4, topic, strlen(topic), 1);
		T_ASSERT(refs[i] != COL_NONE);
	}
	T_ASSERT(col_subscribed(c, "few", 3, "x", 1, 0) != COL_NONE);
	T_EQ(shm_subscriptions_of(r, "many", 4, on_sub, g), 300);
	for (int k = 0; k < 300; k++) {
		int i = (k * 7) % 300; /* 7 and 300 are coprime */

		col_unsubscribed(c, refs[i]);
		live--;
		if (k % 25 == 0 || live < 5) {
			g->n = 0;
			T_EQ(shm_subscriptions_of(r, "many", 4, on_sub, g),
			    live);
			T_EQ(shm_subscriptions_of(r, "few", 3, on_sub, g), 1);
		}
	}
	T_EQ(shm_subscriptions_total(r), 1);
	free(g);
	shm_reader_close(&r);
	col_close(&c);
}

/* Random churn in a small table against a model of what is live. */
T_TEST(churn_against_model)
{
	col        *c = open_col(64, 1 << 16);
	shm_reader *r = open_reader();
	col_ref     refs[96] = { 0 };
	char        id[160];
	uint64_t    x = 0x2545f4914f6cdd1dull;
	int         live = 0;

	for (int op = 0; op < 20000; op++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		int i = (int) (x % 96);

		/* some ids long enough for the arena */
		snprintf(id, sizeof(id), "id-%d-%0*d", i, (i % 5) * 30, i);
		if (refs[i]) {
			col_client_disconnected(c, refs[i]);
			refs[i] = COL_NONE;
			live--;
		} else {
			refs[i] = connect_v4(c, id, NULL, (uint16_t) i);
			if (refs[i] != COL_NONE)
				live++;
			else
				T_EQ(live, 64); /* full */
		}
		if (op % 97 == 0) {
			struct got g = { 0 };

			T_EQ(shm_clients_total(r), live);
			for (int k = 0; k < 96; k++) {
				snprintf(id, sizeof(id), "id-%d-%0*d", k,
				    (k % 5) * 30, k);
				T_EQ(shm_client_get(
				         r, id, strlen(id), on_client, &g),
				    refs[k] ? 1 : 0);
				if (refs[k])
					T_EQ(g.c.port, k);
			}
		}
	}
	shm_reader_close(&r);
	col_close(&c);
}

/* mqttdctl prints what the segment holds (integration tests rely on it). */
T_TEST(mqttdctl_json)
{
	col        *c = populated();
	const char *bd = getenv("MQTTD_BUILDDIR");
	char        cmd[512], out[8192];
	const char *what[] = { "node", "clients", "sessions", "subscriptions",
		"routes", "listeners", "plugins", "metrics", "stats" };
	const char *want[] = { "\"node\":\"mqttd@127.0.0.1\"",
		"\"client_id\":\"alice\",\"username\":\"al\"",
		"\"client_id\":\"alice\"", "\"topic\":\"a\\/b\"",
		"\"node\":\"mqttd@127.0.0.1\"", "\"listen\":\"0.0.0.0:1883\"",
		"\"name\":\"p\"", "\"bytes\\/received\":0",
		"\"topics\\/max\":0" };

	for (size_t i = 0; i < sizeof(what) / sizeof(what[0]); i++) {
		FILE  *f;
		size_t n;

		snprintf(cmd, sizeof(cmd), "%s/mqttdctl --shm %s %s",
		    bd ? bd : ".", seg_name, what[i]);
		f = popen(cmd, "r");
		T_ASSERT(f != NULL);
		n = fread(out, 1, sizeof(out) - 1, f);
		out[n] = '\0';
		T_EQ(pclose(f), 0);
		if (strstr(out, want[i]) == NULL)
			T_FAIL_AT("%s: %s lacks %s", what[i], out, want[i]);
	}
	snprintf(cmd, sizeof(cmd),
	    "%s/mqttdctl --shm %s subscriptions --client alice | "
	    "grep -c '\"qos\":1' >/dev/null",
	    bd ? bd : ".", seg_name);
	T_EQ(system(cmd), 0);
	col_close(&c);
}

static const struct t_case cases[] = {
	T_ENTRY(names),
	T_ENTRY(record_trust),
	T_ENTRY(state_dir_segment),
	T_ENTRY(node_and_create),
	T_ENTRY(leftover_of_dead_broker),
	T_ENTRY(no_room),
	T_ENTRY(untrusted_mode),
	T_ENTRY(clients),
	T_ENTRY(ipv4_text),
	T_ENTRY(sessions),
	T_ENTRY(subscriptions_and_routes),
	T_ENTRY(listeners_plugins_counters),
	T_ENTRY(long_strings),
	T_ENTRY(capacity_overflow),
	T_ENTRY(generation_and_reuse),
	T_ENTRY(paging_stable_order),
	T_ENTRY(callback_stops),
	T_ENTRY(corrupt_header),
	T_ENTRY(corrupt_records),
	T_ENTRY(random_garbage),
	T_ENTRY(heartbeat_stale),
	T_ENTRY(many_subscriptions_one_client),
	T_ENTRY(churn_against_model),
	T_ENTRY(mqttdctl_json),
};

T_MAIN(cases)
