/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mq_backend: what the database auth plugins (mq_auth_redis,
 * mq_auth_pgsql) share to live on the broker's event loop.
 *
 *   mq_watch      one socket of a client library in the broker's epoll
 *                 set: the library says which events it wants, the loop
 *                 calls fn when they come (the adapter hiredis and libpq
 *                 both need);
 *   mq_faillog    a failing backend is logged once per interval with the
 *                 count of failures since, never once per client;
 *   mq_who        the client a query is about, and the expansion of EMQ's
 *                 %u %c %a %P placeholders;
 *   the contract  a backend answers one CONNECT's question (password,
 *                 superuser, ACL) through a callback, later, from the
 *                 loop; never from inside the call that asked.
 *
 * Errors: int functions return 0 or -errno; the failure is logged once.
 */
#ifndef MQ_BACKEND_H
#define MQ_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "broker/mq_timer.h"

struct mq_authz;

/* The broker's loop as a backend sees it. */
struct mq_loop {
	int        epfd;
	mq_timers *timers;
};

typedef struct mq_watch mq_watch;
typedef void (*mq_watch_fn)(mq_watch *w, uint32_t events);

/* Embedded in its owner, which outlives every event of its fd. */
struct mq_watch {
	uint8_t     kind; /* the broker's epoll tag; first */
	int         fd;   /* -1: none */
	uint32_t    events;
	mq_watch_fn fn;
};

void mq_watch_init(mq_watch *w, mq_watch_fn fn);
/*
 * Watches fd for events (EPOLLIN / EPOLLOUT; 0: none, the fd leaves the
 * set, since epoll would still report errors for it).  A different fd
 * than before replaces it.
 */
int  mq_watch_set(const struct mq_loop *l, mq_watch *w, int fd, uint32_t ev);
void mq_watch_clear(const struct mq_loop *l, mq_watch *w);
/* The broker's dispatch for an MQ_K_WATCH tag. */
void mq_watch_event(void *tag, uint32_t events);

/* What a failing backend means for the client: refuse it, or let the
 * next plugin decide. */
enum mq_backend_outcome { MQ_BACKEND_DENY, MQ_BACKEND_IGNORE };
/* "deny" / "ignore" -> the outcome, or -EINVAL. */
int mq_backend_outcome_parse(const char *s);
/* acl_nomatch: "deny" (NULL) 0, "allow" 1, else -EINVAL. */
int mq_backend_nomatch_parse(const char *s);

#define MQ_FAILLOG_INTERVAL_MS 10000

struct mq_faillog {
	uint64_t next_ms; /* no log line before */
	uint64_t missed;  /* failures not logged since the last line */
	bool     failing;
};
/* A failure of backend `who`: logged now, or counted for the next line. */
void mq_faillog_fail(struct mq_faillog *f, const char *who, const char *fmt,
    ...) __attribute__((format(printf, 3, 4)));
/* Success: "back" is logged once after failures. */
void mq_faillog_ok(struct mq_faillog *f, const char *who);

/* Reconnect delays: 100 ms doubling to 5 s; reset on success. */
#define MQ_BACKOFF_MIN_MS 100
#define MQ_BACKOFF_MAX_MS 5000
uint32_t mq_backoff_next(uint32_t *cur_ms);

/* The client of one CONNECT.  NULL / 0: absent. */
struct mq_who {
	const char *user;
	size_t      user_len;
	const char *client;
	size_t      client_len;
	const char *pw;
	size_t      pw_len;
	const char *peer; /* the address, no port, NUL-terminated */
	uint16_t    port; /* the listener's (%p), 0: unknown */
};

/* A copy of w owning its strings (one allocation); NULL on ENOMEM.
 * mq_who_free wipes the password. */
struct mq_who *mq_who_dup(const struct mq_who *w);
void           mq_who_free(struct mq_who *w);

/* The value of placeholder ch ('u', 'c', 'a', 'P'); false if unknown. */
bool mq_who_value(const struct mq_who *w, char ch, const char **v, size_t *n);
/*
 * tmpl[0..n) with %u %c %a %P replaced, NUL-terminated, malloc'd;
 * *out_len its length.  NULL on ENOMEM.  A % before anything else is
 * kept as it is.
 */
char *mq_who_expand(
    const struct mq_who *w, const char *tmpl, size_t n, size_t *out_len);

/*
 * Appends an ACL row to z (mq_authz.h): topic "eq T" is T exactly, else a
 * filter where %u and %c expand, as EMQ's feed_var does; a rule whose
 * value is absent or would change the filter's shape (holds '+', '#' or
 * '/') is left out.  -ENOMEM; other skips are 0.
 */
int mq_who_acl_add(struct mq_authz *z, const struct mq_who *w, bool allow,
    unsigned access, const char *topic, size_t n);

/*
 * The answer of a backend auth plugin for one CONNECT.  acl: the rules
 * the backend has for this client (NULL: none), owned by the receiver.
 */
enum mq_db_verdict {
	MQ_DB_ALLOW,  /* known, right password */
	MQ_DB_REJECT, /* known, wrong or missing password */
	MQ_DB_IGNORE, /* unknown (or failing with outcome ignore) */
	MQ_DB_DENY,   /* failing with outcome deny */
	MQ_DB_CHECK,  /* known; ck: the password to verify (auth threads) */
};
struct mq_auth_check;
struct mq_db_answer {
	enum mq_db_verdict    v;
	bool                  super;
	struct mq_authz      *acl; /* for ALLOW and CHECK */
	struct mq_auth_check *ck;  /* CHECK: owned by the receiver */
};
typedef void (*mq_db_cb)(void *arg, struct mq_db_answer *a);

#endif
