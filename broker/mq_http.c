/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mq_http: libcurl multi on the broker's loop (see the header).
 *
 * Sockets: each socket curl wants watched gets a struct sock holding an
 * mq_watch (the epoll tag), attached to curl's socket with
 * curl_multi_assign.  When curl drops a socket its sock is not freed at
 * once: an event for it may still wait in the epoll batch being
 * dispatched, so it goes to a graveyard that the next timer run (after
 * the batch) empties.  Its watch has fd -1 by then, so such an event is
 * ignored (mq_watch_event).
 *
 * Completed transfers are collected after every curl_multi_socket_action
 * (curl_multi_info_read) and their callbacks run there, outside any curl
 * callback, so they may start or cancel requests freely.
 */
#include "config.h"

#include "broker/mq_http.h"
#include "broker/mq_log.h"

#include <curl/curl.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

struct sock {
	mq_watch     w; /* first: the epoll tag */
	mq_http     *h;
	struct sock *next_dead;
};

struct mq_http_req {
	mq_http           *h;
	CURL              *easy;
	mq_http_req       *next, *prev; /* h->queue (waiting) or h->running */
	bool               running;
	mq_http_cb         cb;
	void              *arg;
	char              *body; /* POST body, owned */
	size_t             body_len;
	struct curl_slist *hdrs;
	char               resp[MQ_HTTP_BODY_MAX];
	size_t             resp_len;
};

struct mq_http {
	struct mq_loop loop;
	CURLM         *multi;
	mq_timer       timer;
	unsigned       max_active, max_queue;
	uint32_t       timeout_ms;
	char          *cafile;
	unsigned       nrunning, nwaiting;
	mq_http_req   *running;
	mq_http_req   *qhead, *qtail;
	struct sock   *dead;
	bool           in_action; /* inside curl_multi_socket_action */
};

static void
list_unlink(mq_http_req **head, mq_http_req *r)
{
	if (r->prev != NULL)
		r->prev->next = r->next;
	else
		*head = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
	r->next = r->prev = NULL;
}

static void
req_free(mq_http_req *r)
{
	if (r->easy != NULL)
		curl_easy_cleanup(r->easy);
	curl_slist_free_all(r->hdrs);
	free(r->body);
	free(r);
}

static void
reap(mq_http *h)
{
	while (h->dead != NULL) {
		struct sock *s = h->dead;

		h->dead = s->next_dead;
		free(s);
	}
}

/* ---- what curl asks of the loop ---- */

static void process_done(mq_http *h);
static void start_waiting(mq_http *h);

static void
action(mq_http *h, curl_socket_t fd, int flags)
{
	int running;

	h->in_action = true;
	curl_multi_socket_action(h->multi, fd, flags, &running);
	h->in_action = false;
	process_done(h);
}

static void
sock_event(mq_watch *w, uint32_t events)
{
	struct sock *s = (struct sock *) (void *) w;
	int          flags = 0;

	if (events & EPOLLIN)
		flags |= CURL_CSELECT_IN;
	if (events & EPOLLOUT)
		flags |= CURL_CSELECT_OUT;
	if (events & (EPOLLERR | EPOLLHUP))
		flags |= CURL_CSELECT_ERR;
	action(s->h, w->fd, flags);
}

static int
socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *sockp)
{
	mq_http     *h = userp;
	struct sock *s = sockp;
	uint32_t     ev = 0;

	(void) easy;
	if (what == CURL_POLL_REMOVE) {
		if (s != NULL) {
			mq_watch_clear(&h->loop, &s->w);
			curl_multi_assign(h->multi, fd, NULL);
			s->next_dead = h->dead;
			h->dead = s;
			/* freed after the current epoll batch */
			mq_timer_set(h->loop.timers, &h->timer, mq_now_ms());
		}
		return 0;
	}
	if (s == NULL) {
		s = calloc(1, sizeof(*s));
		if (s == NULL)
			return -1;
		mq_watch_init(&s->w, sock_event);
		s->h = h;
		curl_multi_assign(h->multi, fd, s);
	}
	if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
		ev |= EPOLLIN;
	if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
		ev |= EPOLLOUT;
	return mq_watch_set(&h->loop, &s->w, fd, ev) == 0 ? 0 : -1;
}

static int
timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	mq_http *h = userp;

	(void) multi;
	if (timeout_ms < 0) {
		if (h->dead == NULL)
			mq_timer_cancel(h->loop.timers, &h->timer);
		return 0;
	}
	/* 0: as soon as the loop is back (never from inside curl). */
	mq_timer_set(
	    h->loop.timers, &h->timer, mq_now_ms() + (uint64_t) timeout_ms);
	return 0;
}

static void
timer_fire(mq_timer *t)
{
	mq_http *h
	    = (mq_http *) (void *) ((char *) t - offsetof(mq_http, timer));

	reap(h);
	action(h, CURL_SOCKET_TIMEOUT, 0);
}

/* ---- transfers ---- */

static size_t
write_cb(char *p, size_t size, size_t n, void *userp)
{
	mq_http_req *r = userp;
	size_t       len = size * n, room = sizeof(r->resp) - r->resp_len;

	memcpy(r->resp + r->resp_len, p, len < room ? len : room);
	r->resp_len += len < room ? len : room;
	return len; /* the rest is read and dropped */
}

static void
process_done(mq_http *h)
{
	CURLMsg *msg;
	int      left;

	while ((msg = curl_multi_info_read(h->multi, &left)) != NULL) {
		mq_http_req *r = NULL;
		long         code = 0;
		int          status;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &r);
		if (msg->data.result == CURLE_OK) {
			curl_easy_getinfo(
			    r->easy, CURLINFO_RESPONSE_CODE, &code);
			status = (int) code;
		} else {
			status = msg->data.result == CURLE_OPERATION_TIMEDOUT
			    ? -ETIMEDOUT
			    : -EIO;
			mq_debug(
			    "http: %s", curl_easy_strerror(msg->data.result));
		}
		curl_multi_remove_handle(h->multi, r->easy);
		list_unlink(&h->running, r);
		h->nrunning--;
		r->cb(r->arg, status, r->resp, r->resp_len);
		req_free(r);
	}
	start_waiting(h);
}

static int
req_start(mq_http *h, mq_http_req *r)
{
	if (curl_multi_add_handle(h->multi, r->easy) != CURLM_OK)
		return -ENOMEM;
	r->running = true;
	r->next = h->running;
	if (h->running != NULL)
		h->running->prev = r;
	h->running = r;
	h->nrunning++;
	return 0;
}

/* Moves waiting requests into curl while there is room. */
static void
start_waiting(mq_http *h)
{
	while (h->qhead != NULL && h->nrunning < h->max_active) {
		mq_http_req *r = h->qhead;

		h->qhead = r->next;
		if (h->qhead != NULL)
			h->qhead->prev = NULL;
		else
			h->qtail = NULL;
		r->next = r->prev = NULL;
		h->nwaiting--;
		if (req_start(h, r) < 0) {
			/* as a failed transfer, later (from the timer) */
			r->cb(r->arg, -ENOMEM, "", 0);
			req_free(r);
		}
	}
}

static CURL *
easy_new(mq_http *h, mq_http_req *r, const char *url)
{
	CURL *e = curl_easy_init();

	if (e == NULL)
		return NULL;
	if (curl_easy_setopt(e, CURLOPT_URL, url) != CURLE_OK) {
		curl_easy_cleanup(e);
		return NULL;
	}
	curl_easy_setopt(e, CURLOPT_PRIVATE, r);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long) h->timeout_ms);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	if (h->cafile != NULL)
		curl_easy_setopt(e, CURLOPT_CAINFO, h->cafile);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "mqttd/" PACKAGE_VERSION);
	return e;
}

int
mq_http_request(mq_http *h, const char *url, const char *ctype,
    const char *body, size_t body_len, mq_http_cb cb, void *arg,
    mq_http_req **out)
{
	mq_http_req *r;
	char         ct[128];

	if (out != NULL)
		*out = NULL;
	if (h->nrunning >= h->max_active && h->nwaiting >= h->max_queue)
		return -EBUSY;
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return -ENOMEM;
	r->h = h;
	r->cb = cb;
	r->arg = arg;
	r->easy = easy_new(h, r, url);
	if (r->easy == NULL) {
		req_free(r);
		return -EINVAL;
	}
	if (body != NULL) {
		if ((r->body = malloc(body_len + 1)) == NULL) {
			req_free(r);
			return -ENOMEM;
		}
		memcpy(r->body, body, body_len);
		r->body[body_len] = 0;
		r->body_len = body_len;
		snprintf(ct, sizeof(ct), "Content-Type: %s",
		    ctype != NULL ? ctype : "application/octet-stream");
		r->hdrs = curl_slist_append(NULL, ct);
		/* no "Expect: 100-continue" round trip */
		r->hdrs
		    = r->hdrs ? curl_slist_append(r->hdrs, "Expect:") : NULL;
		if (r->hdrs == NULL) {
			req_free(r);
			return -ENOMEM;
		}
		curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->hdrs);
		curl_easy_setopt(r->easy, CURLOPT_POSTFIELDS, r->body);
		curl_easy_setopt(
		    r->easy, CURLOPT_POSTFIELDSIZE, (long) r->body_len);
	}
	if (h->nrunning < h->max_active && h->qhead == NULL) {
		if (req_start(h, r) < 0) {
			req_free(r);
			return -ENOMEM;
		}
	} else {
		r->prev = h->qtail;
		if (h->qtail != NULL)
			h->qtail->next = r;
		else
			h->qhead = r;
		h->qtail = r;
		h->nwaiting++;
	}
	if (out != NULL)
		*out = r;
	return 0;
}

void
mq_http_cancel(mq_http *h, mq_http_req *r)
{
	if (r == NULL)
		return;
	if (r->running) {
		curl_multi_remove_handle(h->multi, r->easy);
		list_unlink(&h->running, r);
		h->nrunning--;
	} else {
		if (r == h->qtail)
			h->qtail = r->prev;
		list_unlink(&h->qhead, r);
		h->nwaiting--;
	}
	req_free(r);
	/* room for a waiting one; never from inside curl */
	if (!h->in_action && h->qhead != NULL)
		mq_timer_set(h->loop.timers, &h->timer, mq_now_ms());
}

unsigned
mq_http_active(const mq_http *h)
{
	return h->nrunning;
}

unsigned
mq_http_waiting(const mq_http *h)
{
	return h->nwaiting;
}

char *
mq_http_urlencode(char *p, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char) s[i];

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
		    || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_'
		    || ch == '.' || ch == '~') {
			*p++ = (char) ch;
		} else {
			*p++ = '%';
			*p++ = hex[ch >> 4];
			*p++ = hex[ch & 15];
		}
	}
	return p;
}

/* ---- life cycle ---- */

int
mq_http_new(mq_http **out, const struct mq_loop *loop,
    const struct mq_http_config *cfg)
{
	static bool inited;
	mq_http    *h;

	*out = NULL;
	if (!inited) { /* once, at start-up, before any thread of ours */
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
			mq_err("curl_global_init failed");
			return -ENOMEM;
		}
		inited = true;
	}
	h = calloc(1, sizeof(*h));
	if (h == NULL)
		return -ENOMEM;
	h->loop = *loop;
	h->max_active = cfg->max_active ? cfg->max_active : 32;
	h->max_queue = cfg->max_queue ? cfg->max_queue : 1024;
	h->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : 5000;
	mq_timer_init(&h->timer, timer_fire);
	if ((cfg->cafile != NULL && (h->cafile = strdup(cfg->cafile)) == NULL)
	    || (h->multi = curl_multi_init()) == NULL) {
		free(h->cafile);
		free(h);
		return -ENOMEM;
	}
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
	/* Kept connections per host: as many as may run at once. */
	curl_multi_setopt(
	    h->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long) h->max_active);
	*out = h;
	return 0;
}

void
mq_http_free(mq_http **hp)
{
	mq_http *h = *hp;

	if (h == NULL)
		return;
	while (h->running != NULL)
		mq_http_cancel(h, h->running);
	while (h->qhead != NULL)
		mq_http_cancel(h, h->qhead);
	/* closes the kept connections: socket_cb REMOVE for each */
	curl_multi_cleanup(h->multi);
	mq_timer_cancel(h->loop.timers, &h->timer);
	reap(h);
	free(h->cafile);
	free(h);
	*hp = NULL;
}
