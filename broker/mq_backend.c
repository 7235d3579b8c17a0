/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mq_backend: the loop glue the database auth plugins share (see the
 * header).  A watch's fd is added to the broker's epoll set with the
 * watch itself as the tag; the watch lives as long as its plugin, so an
 * event still queued in the current epoll batch for a socket the library
 * has just closed finds a valid watch (with fd -1 or the next socket),
 * and the library's handlers treat a spurious wake-up as "nothing yet".
 */
#include "config.h"

#include "broker/mq_backend.h"
#include "broker/mq_acl.h"
#include "broker/mq_authz.h"
#include "broker/mq_int.h"
#include "broker/mq_log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

void
mq_watch_init(mq_watch *w, mq_watch_fn fn)
{
	w->kind = MQ_K_WATCH;
	w->fd = -1;
	w->events = 0;
	w->fn = fn;
}

void
mq_watch_clear(const struct mq_loop *l, mq_watch *w)
{
	/* The library may have closed the fd already (epoll dropped it
	 * then): ENOENT / EBADF are what we expect. */
	if (w->fd >= 0 && w->events != 0)
		(void) epoll_ctl(l->epfd, EPOLL_CTL_DEL, w->fd, NULL);
	w->fd = -1;
	w->events = 0;
}

int
mq_watch_set(const struct mq_loop *l, mq_watch *w, int fd, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };
	int                op;

	if (fd != w->fd)
		mq_watch_clear(l, w);
	w->fd = fd;
	if (events == w->events)
		return 0;
	if (events == 0) {
		mq_watch_clear(l, w);
		w->fd = fd;
		return 0;
	}
	op = w->events == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
	if (epoll_ctl(l->epfd, op, fd, &ev) != 0
	    && !(op == EPOLL_CTL_MOD && errno == ENOENT
	        && epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) == 0)) {
		int rc = -errno;

		mq_err("epoll_ctl(backend fd %d): %s", fd, strerror(-rc));
		w->events = 0;
		return rc;
	}
	w->events = events;
	return 0;
}

void
mq_watch_event(void *tag, uint32_t events)
{
	mq_watch *w = tag;

	if (w->fd >= 0)
		w->fn(w, events);
}

int
mq_backend_outcome_parse(const char *s)
{
	if (s == NULL || strcmp(s, "deny") == 0)
		return MQ_BACKEND_DENY;
	if (strcmp(s, "ignore") == 0)
		return MQ_BACKEND_IGNORE;
	return -EINVAL;
}

int
mq_backend_nomatch_parse(const char *s)
{
	if (s == NULL || strcmp(s, "deny") == 0)
		return 0;
	return strcmp(s, "allow") == 0 ? 1 : -EINVAL;
}

void
mq_faillog_fail(struct mq_faillog *f, const char *who, const char *fmt, ...)
{
	uint64_t now = mq_now_ms();
	char     msg[256];
	va_list  ap;

	f->failing = true;
	if (now < f->next_ms) {
		f->missed++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (f->missed > 0)
		mq_warn("%s: %s (%llu more failures in the last %u s)", who,
		    msg, (unsigned long long) f->missed,
		    MQ_FAILLOG_INTERVAL_MS / 1000);
	else
		mq_warn("%s: %s", who, msg);
	f->missed = 0;
	f->next_ms = now + MQ_FAILLOG_INTERVAL_MS;
}

void
mq_faillog_ok(struct mq_faillog *f, const char *who)
{
	if (!f->failing)
		return;
	mq_info("%s: backend answers again (%llu failures not logged)", who,
	    (unsigned long long) f->missed);
	f->failing = false;
	f->missed = 0;
	f->next_ms = 0;
}

uint32_t
mq_backoff_next(uint32_t *cur)
{
	uint32_t d = *cur < MQ_BACKOFF_MIN_MS ? MQ_BACKOFF_MIN_MS : *cur;

	*cur = d >= MQ_BACKOFF_MAX_MS / 2 ? MQ_BACKOFF_MAX_MS : d * 2;
	return d;
}

struct mq_who *
mq_who_dup(const struct mq_who *w)
{
	size_t         pl = w->peer ? strlen(w->peer) : 0;
	struct mq_who *d = malloc(
	    sizeof(*d) + w->user_len + w->client_len + w->pw_len + pl + 4);
	char *p;

	if (d == NULL)
		return NULL;
	*d = *w;
	p = (char *) (d + 1);
#define COPY(f, l)                                                            \
	if (w->f != NULL) {                                                   \
		memcpy(p, w->f, l);                                           \
		p[l] = 0;                                                     \
		d->f = p;                                                     \
		p += (l) + 1;                                                 \
	}
	COPY(user, w->user_len)
	COPY(client, w->client_len)
	COPY(pw, w->pw_len)
	COPY(peer, pl)
#undef COPY
	return d;
}

void
mq_who_free(struct mq_who *w)
{
	if (w == NULL)
		return;
	if (w->pw != NULL)
		explicit_bzero((char *) w->pw, w->pw_len);
	free(w);
}

bool
mq_who_value(const struct mq_who *w, char ch, const char **v, size_t *n)
{
	switch (ch) {
	case 'u':
		*v = w->user;
		*n = w->user_len;
		break;
	case 'c':
		*v = w->client;
		*n = w->client_len;
		break;
	case 'P':
		*v = w->pw;
		*n = w->pw_len;
		break;
	case 'a':
		*v = w->peer;
		*n = w->peer != NULL ? strlen(w->peer) : 0;
		break;
	default:
		return false;
	}
	if (*v == NULL) {
		*v = "";
		*n = 0;
	}
	return true;
}

char *
mq_who_expand(const struct mq_who *w, const char *t, size_t n, size_t *out_len)
{
	size_t      len = 0, vn;
	const char *v;
	char       *out;

	for (size_t i = 0; i < n; i++) {
		if (t[i] == '%' && i + 1 < n
		    && mq_who_value(w, t[i + 1], &v, &vn)) {
			len += vn;
			i++;
		} else {
			len++;
		}
	}
	out = malloc(len + 1);
	if (out == NULL)
		return NULL;
	len = 0;
	for (size_t i = 0; i < n; i++) {
		if (t[i] == '%' && i + 1 < n
		    && mq_who_value(w, t[i + 1], &v, &vn)) {
			memcpy(out + len, v, vn);
			len += vn;
			i++;
		} else {
			out[len++] = t[i];
		}
	}
	out[len] = 0;
	*out_len = len;
	return out;
}

int
mq_who_acl_add(struct mq_authz *z, const struct mq_who *w, bool allow,
    unsigned access, const char *t, size_t n)
{
	const char *v;
	size_t      vn, len;
	char       *f;
	int         rc;

	if (n > 3 && memcmp(t, "eq ", 3) == 0)
		return mq_authz_add(z, allow, access, t + 3, n - 3, true)
		        == -ENOMEM
		    ? -ENOMEM
		    : 0;
	for (size_t i = 0; i + 1 < n; i++)
		if (t[i] == '%' && (t[i + 1] == 'u' || t[i + 1] == 'c')) {
			mq_who_value(w, t[i + 1], &v, &vn);
			if (!mq_acl_value_safe(v, vn))
				return 0;
		}
	/* Only %u and %c mean something in a topic (EMQ's feed_var). */
	f = mq_who_expand(&(struct mq_who) { .user = w->user,
	                      .user_len = w->user_len,
	                      .client = w->client,
	                      .client_len = w->client_len },
	    t, n, &len);
	if (f == NULL)
		return -ENOMEM;
	rc = mq_authz_add(z, allow, access, f, len, false);
	free(f);
	return rc == -ENOMEM ? -ENOMEM : 0;
}
