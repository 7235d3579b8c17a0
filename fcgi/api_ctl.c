/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * api_ctl: a request/reply over a unix stream socket with one deadline
 * for the whole exchange (connect, write, read), so a wedged broker
 * costs a worker thread at most timeout_ms.
 */
#include "config.h"

#include "fcgi/api_ctl.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define CTL_REPLY_MAX 65536

/* Waits for events on fd until the deadline; 0, or -ETIMEDOUT/-errno. */
static int
wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	int64_t       left;
	int           n;

	for (;;) {
		left = deadline - api_clock_ms(CLOCK_MONOTONIC);
		if (left <= 0)
			return -ETIMEDOUT;
		n = poll(&p, 1, (int) left);
		if (n > 0)
			return 0;
		if (n == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

static int
ctl_connect(const char *path, int64_t deadline)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int                fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	while (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) != 0) {
		int rc = -errno;

		/* a full backlog answers EAGAIN on a unix socket: retry */
		if (rc == -EINTR)
			continue;
		if (rc == -EAGAIN && wait_fd(fd, POLLOUT, deadline) == 0)
			continue;
		close(fd);
		return rc;
	}
	return fd;
}

static int
ctl_send(int fd, const char *buf, size_t len, int64_t deadline)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n = send(fd, buf + off, len - off, MSG_NOSIGNAL);

		if (n > 0) {
			off += (size_t) n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN)
			return -errno;
		n = wait_fd(fd, POLLOUT, deadline);
		if (n != 0)
			return (int) n;
	}
	return 0;
}

/* Reads one line into buf (NUL-terminated, without the newline). */
static int
ctl_recv_line(int fd, char *buf, size_t cap, int64_t deadline)
{
	size_t len = 0;

	for (;;) {
		ssize_t n;
		int     rc;

		if (len + 1 >= cap)
			return -EMSGSIZE;
		n = recv(fd, buf + len, cap - 1 - len, 0);
		if (n > 0) {
			char *nl = memchr(buf + len, '\n', (size_t) n);

			len += (size_t) n;
			if (nl != NULL) {
				*nl = '\0';
				return (int) (nl - buf);
			}
			continue;
		}
		if (n == 0)
			return -ECONNRESET;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -errno;
		rc = wait_fd(fd, POLLIN, deadline);
		if (rc != 0)
			return rc;
	}
}

static int
parse_reply(const char *line, struct api_err *e)
{
	json_object *o = json_tokener_parse(line), *c = NULL, *m = NULL;
	int          code;

	if (o == NULL || !json_object_object_get_ex(o, "code", &c)
	    || !json_object_is_type(c, json_type_int)) {
		json_object_put(o);
		return api_err_set(e, API_EBADRPC, "badrpc: bad broker reply");
	}
	code = json_object_get_int(c);
	if (code != 0) {
		json_object_object_get_ex(o, "message", &m);
		api_err_set(e, code, "%s",
		    m && json_object_is_type(m, json_type_string)
		        ? json_object_get_string(m)
		        : "broker error");
	}
	json_object_put(o);
	return code;
}

int
api_ctl_call(
    const char *path, json_object *cmd, int timeout_ms, struct api_err *e)
{
	static __thread char reply[CTL_REPLY_MAX];
	int64_t     deadline = api_clock_ms(CLOCK_MONOTONIC) + timeout_ms;
	const char *req;
	size_t      len;
	char       *line;
	int         fd, rc;

	req = json_object_to_json_string_length(cmd,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	line = malloc(len + 2);
	if (line == NULL)
		return api_err_set(e, API_EUNKNOWN, "out of memory");
	memcpy(line, req, len);
	line[len++] = '\n';
	fd = ctl_connect(path, deadline);
	if (fd < 0) {
		free(line);
		return api_err_set(e, API_EBADRPC,
		    "badrpc: broker control socket: %s", strerror(-fd));
	}
	rc = ctl_send(fd, line, len, deadline);
	free(line);
	if (rc == 0)
		rc = ctl_recv_line(fd, reply, sizeof(reply), deadline);
	close(fd);
	if (rc == -ETIMEDOUT)
		return api_err_set(
		    e, API_EBADRPC, "badrpc: broker did not answer in time");
	if (rc < 0)
		return api_err_set(e, API_EBADRPC,
		    "badrpc: broker control socket: %s", strerror(-rc));
	return parse_reply(reply, e);
}
