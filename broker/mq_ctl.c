/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mq_ctl: the control socket (STATE_DIR/mqttd.ctl) of docs/architecture.md
 * "Control socket protocol": newline-delimited JSON requests, one reply
 * line each, in order.  It lives in the broker's loop: non-blocking
 * reads, replies written at once and buffered on EAGAIN.  A bad request
 * gets an error reply; the connection stays open.
 */
#include "config.h"

#include "broker/mq_int.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define CTL_MAX_LINE (4u << 20)
#define CTL_MAX_OUT  (16u << 20)

struct ctl_conn {
	uint8_t          kind;
	int              fd;
	bool             want_out;
	struct mq_buf    in, out;
	struct ctl_conn *next, *prev;
};

struct mq_ctl {
	uint8_t          kind;
	int              fd;
	char             path[4096];
	struct ctl_conn *conns;
};

enum {
	E_OK = 0,
	E_UNKNOWN = 102,
	E_MISSING = 107,
	E_BADPARAM = 108,
	E_NOTJSON = 109,
	E_ACTIVE = 110,
	E_INACTIVE = 111,
	E_NOCLIENT = 112,
};

static void
reply(struct ctl_conn *k, int code, const char *msg)
{
	char   line[256];
	int    n;
	size_t need;

	if (code == 0)
		n = snprintf(line, sizeof(line), "{\"code\":0}\n");
	else
		n = snprintf(line, sizeof(line),
		    "{\"code\":%d,\"message\":\"%s\"}\n", code, msg);
	need = k->out.len + (size_t) n;
	if (need > k->out.cap) {
		size_t   cap = k->out.cap ? (size_t) k->out.cap * 2 : 256;
		uint8_t *p;

		while (cap < need)
			cap *= 2;
		p = realloc(k->out.p, cap);
		if (p == NULL)
			return;
		k->out.p = p;
		k->out.cap = (uint32_t) cap;
	}
	memcpy(k->out.p + k->out.len, line, (size_t) n);
	k->out.len += (uint32_t) n;
}

/* Field lookups: 0, or the error code to reply with. */
static int
get_str(
    json_object *o, const char *key, bool need, const char **s, size_t *len)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return need ? E_MISSING : 0;
	if (!json_object_is_type(v, json_type_string))
		return E_BADPARAM;
	*s = json_object_get_string(v);
	*len = (size_t) json_object_get_string_len(v);
	return 0;
}

static int
get_int(json_object *o, const char *key, bool need, int *out)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return need ? E_MISSING : 0;
	if (!json_object_is_type(v, json_type_int))
		return E_BADPARAM;
	*out = json_object_get_int(v);
	return 0;
}

static int
get_bool(json_object *o, const char *key, bool need, bool *out)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return need ? E_MISSING : 0;
	if (!json_object_is_type(v, json_type_boolean))
		return E_BADPARAM;
	*out = json_object_get_boolean(v);
	return 0;
}

static int
cmd_publish(mq_broker *b, json_object *o)
{
	const char *topic = NULL, *payload = "", *id = "http";
	size_t      tlen = 0, plen = 0, idlen = 4;
	int         qos = 0, rc;
	bool        retain = false;

	if ((rc = get_str(o, "topic", true, &topic, &tlen))
	    || (rc = get_str(o, "payload", false, &payload, &plen))
	    || (rc = get_int(o, "qos", false, &qos))
	    || (rc = get_bool(o, "retain", false, &retain))
	    || (rc = get_str(o, "client_id", false, &id, &idlen)))
		return rc;
	if (qos < 0 || qos > 2)
		return E_BADPARAM;
	rc = mq_broker_publish(
	    b, topic, tlen, payload, plen, (uint8_t) qos, retain, id, idlen);
	return rc == 0 ? 0 : E_BADPARAM;
}

static int
cmd_subscribe(mq_broker *b, json_object *o, bool sub)
{
	const char *topic = NULL, *id = NULL;
	size_t      tlen = 0, idlen = 0;
	int         qos = 0, rc;

	if ((rc = get_str(o, "client_id", true, &id, &idlen))
	    || (rc = get_str(o, "topic", true, &topic, &tlen))
	    || (sub && (rc = get_int(o, "qos", false, &qos))))
		return rc;
	if (qos < 0 || qos > 2)
		return E_BADPARAM;
	if (sub)
		rc = mq_broker_subscribe(
		    b, id, idlen, topic, tlen, (uint8_t) qos);
	else
		rc = mq_broker_unsubscribe(b, id, idlen, topic, tlen);
	if (rc == -ENOENT)
		return E_NOCLIENT;
	return rc == 0 ? 0 : E_BADPARAM;
}

static int
cmd_kick(mq_broker *b, json_object *o)
{
	const char *id = NULL;
	size_t      idlen = 0;
	int         rc;

	if ((rc = get_str(o, "client_id", true, &id, &idlen)))
		return rc;
	return mq_broker_kick(b, id, idlen) == 0 ? 0 : E_NOCLIENT;
}

static int
cmd_plugin(mq_broker *b, json_object *o)
{
	const char *name = NULL;
	size_t      len = 0;
	bool        active = false;
	int         rc;

	if ((rc = get_str(o, "name", true, &name, &len))
	    || (rc = get_bool(o, "active", true, &active)))
		return rc;
	rc = mq_broker_plugin(b, name, len, active);
	if (rc == -ENOENT)
		return E_UNKNOWN;
	if (rc == -EALREADY)
		return active ? E_ACTIVE : E_INACTIVE;
	return rc == 0 ? 0 : E_BADPARAM;
}

static const char *
message(int code)
{
	switch (code) {
	case E_UNKNOWN:
		return "unknown command or plugin";
	case E_MISSING:
		return "missing field";
	case E_BADPARAM:
		return "invalid field";
	case E_NOTJSON:
		return "not a JSON object";
	case E_ACTIVE:
		return "plugin already active";
	case E_INACTIVE:
		return "plugin already inactive";
	case E_NOCLIENT:
		return "no such client or session";
	default:
		return "error";
	}
}

static void
request(mq_broker *b, struct ctl_conn *k, const char *line, size_t len)
{
	json_tokener *tok = json_tokener_new();
	json_object  *o = NULL, *cmdv;
	const char   *cmd;
	int           code;

	if (tok != NULL)
		o = json_tokener_parse_ex(tok, line, (int) len);
	if (o == NULL || !json_object_is_type(o, json_type_object)
	    || json_tokener_get_parse_end(tok) != len) {
		code = E_NOTJSON;
		goto out;
	}
	if (!json_object_object_get_ex(o, "cmd", &cmdv)) {
		code = E_MISSING;
		goto out;
	}
	if (!json_object_is_type(cmdv, json_type_string)) {
		code = E_BADPARAM;
		goto out;
	}
	cmd = json_object_get_string(cmdv);
	if (!strcmp(cmd, "publish"))
		code = cmd_publish(b, o);
	else if (!strcmp(cmd, "subscribe"))
		code = cmd_subscribe(b, o, true);
	else if (!strcmp(cmd, "unsubscribe"))
		code = cmd_subscribe(b, o, false);
	else if (!strcmp(cmd, "kick"))
		code = cmd_kick(b, o);
	else if (!strcmp(cmd, "plugin"))
		code = cmd_plugin(b, o);
	else if (!strcmp(cmd, "ping"))
		code = 0;
	else
		code = E_UNKNOWN;
out:
	reply(k, code, message(code));
	json_object_put(o);
	if (tok != NULL)
		json_tokener_free(tok);
}

static void
conn_close(mq_broker *b, struct ctl_conn *k)
{
	if (k->prev)
		k->prev->next = k->next;
	else
		b->ctl->conns = k->next;
	if (k->next)
		k->next->prev = k->prev;
	close(k->fd);
	free(k->in.p);
	free(k->out.p);
	free(k);
}

/* Returns false when the connection had to be closed. */
static bool
conn_flush(mq_broker *b, struct ctl_conn *k)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = k };

	while (k->out.off < k->out.len) {
		ssize_t n = write(
		    k->fd, k->out.p + k->out.off, k->out.len - k->out.off);

		if (n > 0) {
			k->out.off += (uint32_t) n;
		} else if (n < 0 && errno == EAGAIN) {
			if (!k->want_out) {
				ev.events |= EPOLLOUT;
				epoll_ctl(b->epfd, EPOLL_CTL_MOD, k->fd, &ev);
				k->want_out = true;
			}
			return true;
		} else if (!(n < 0 && errno == EINTR)) {
			conn_close(b, k);
			return false;
		}
	}
	k->out.off = k->out.len = 0;
	if (k->want_out) {
		epoll_ctl(b->epfd, EPOLL_CTL_MOD, k->fd, &ev);
		k->want_out = false;
	}
	return true;
}

static void
conn_read(mq_broker *b, struct ctl_conn *k)
{
	char    buf[65536];
	ssize_t n = read(k->fd, buf, sizeof(buf));
	size_t  start = 0;

	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		conn_close(b, k);
		return;
	}
	if (n < 0)
		return;
	if (k->in.len + (size_t) n > CTL_MAX_LINE + 1) {
		reply(k, E_NOTJSON, "request line too long");
		k->in.len = 0; /* resynchronize at the next newline */
		conn_flush(b, k);
		return;
	}
	if (k->in.cap < k->in.len + (size_t) n) {
		uint8_t *p = realloc(k->in.p, k->in.len + (size_t) n);

		if (p == NULL)
			return;
		k->in.p = p;
		k->in.cap = k->in.len + (uint32_t) n;
	}
	memcpy(k->in.p + k->in.len, buf, (size_t) n);
	k->in.len += (uint32_t) n;
	for (size_t i = 0; i < k->in.len; i++) {
		if (k->in.p[i] != '\n')
			continue;
		/* An empty line is not JSON either: it gets 109. */
		request(b, k, (const char *) k->in.p + start, i - start);
		start = i + 1;
	}
	memmove(k->in.p, k->in.p + start, k->in.len - start);
	k->in.len -= (uint32_t) start;
	/* A client that sends and never reads cannot grow us forever. */
	if (k->out.len - k->out.off > CTL_MAX_OUT) {
		mq_warn("control socket client does not read its replies: "
		        "closed");
		conn_close(b, k);
		return;
	}
	conn_flush(b, k);
}

static void
accept_ctl(mq_broker *b)
{
	for (int i = 0; i < 16; i++) {
		int fd = accept4(
		    b->ctl->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct ctl_conn   *k;
		struct epoll_event ev;

		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR)
				mq_err("accept4(control socket): %s",
				    strerror(errno));
			return;
		}
		k = calloc(1, sizeof(*k));
		if (k == NULL) {
			close(fd);
			return;
		}
		k->kind = MQ_K_CTL_CONN;
		k->fd = fd;
		ev.events = EPOLLIN;
		ev.data.ptr = k;
		if (epoll_ctl(b->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
			close(fd);
			free(k);
			continue;
		}
		k->next = b->ctl->conns;
		if (k->next)
			k->next->prev = k;
		b->ctl->conns = k;
	}
}

void
mq__ctl_event(mq_broker *b, void *ptr, uint32_t events)
{
	struct ctl_conn *k = ptr;

	if (k->kind == MQ_K_CTL) {
		accept_ctl(b);
		return;
	}
	if (events & EPOLLOUT && !conn_flush(b, k))
		return;
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		conn_read(b, k);
}

int
mq__ctl_open(mq_broker *b, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct epoll_event ev;
	struct mq_ctl     *ctl;
	int                fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		mq_err("control socket path too long: %s", path);
		return -ENAMETOOLONG;
	}
	ctl = calloc(1, sizeof(*ctl));
	if (ctl == NULL)
		return -ENOMEM;
	strcpy(sa.sun_path, path);
	snprintf(ctl->path, sizeof(ctl->path), "%s", path);
	ctl->kind = MQ_K_CTL;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		mq_err("socket(AF_UNIX): %s", strerror(errno));
		free(ctl);
		return -errno;
	}
	unlink(path); /* a leftover of a dead broker */
	if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) != 0
	    || chmod(path, 0660) != 0 || listen(fd, 64) != 0) {
		int e = errno;

		mq_err("bind/chmod/listen(%s): %s", path, strerror(e));
		close(fd);
		free(ctl);
		return -e;
	}
	ctl->fd = fd;
	ev.events = EPOLLIN;
	ev.data.ptr = ctl;
	if (epoll_ctl(b->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
		int e = errno;

		mq_err("epoll_ctl(ADD control socket): %s", strerror(e));
		close(fd);
		free(ctl);
		return -e;
	}
	b->ctl = ctl;
	return 0;
}

void
mq__ctl_close(mq_broker *b)
{
	if (b->ctl == NULL)
		return;
	while (b->ctl->conns != NULL)
		conn_close(b, b->ctl->conns);
	close(b->ctl->fd);
	unlink(b->ctl->path);
	free(b->ctl);
	b->ctl = NULL;
}
