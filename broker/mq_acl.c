/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mq_acl: topic ACL rules (see mq_acl.h).
 *
 * ACL file, one rule a line, first match wins, no match allows (EMQ's
 * acl_nomatch = allow):
 *
 *     allow|deny  user NAME|client ID|all  publish|subscribe|pubsub  FILTER
 *
 * FILTER is the rest of the line, trimmed: an MQTT topic filter, or
 * "eq TOPIC" for an exact, wildcard-free comparison (EMQ's {eq, T}; e.g.
 * "deny all subscribe eq #" refuses a subscription to "#" itself).
 * "%u" and "%c" in FILTER stand for the username and the client id.
 * Lines whose first non-blank character is '#' are comments ('#' elsewhere
 * is the wildcard).  Malformed lines are logged and skipped.
 *
 * How a rule's filter R meets the topic T of a PUBLISH or the filter S of
 * a SUBSCRIBE:
 *   - an allow rule applies when R covers S: every topic S can match is
 *     one R matches ("a/+" covers "a/b" and "a/+", not "a/#" nor "#");
 *   - a deny rule applies when R and S overlap: some topic matches both
 *     ("a/#" and "+/b" overlap, so "deny all subscribe a/#" refuses "+/b").
 *   For a PUBLISH topic both reduce to ordinary matching.  Rules speak of
 *   access, not delivery: a rule filter "#" covers "$SYS/x" too, while a
 *   subscription starting with a wildcard never reaches a "$" topic, so it
 *   does not overlap a rule for "$SYS/...".
 *   A %u / %c whose value is absent, empty, or holds '+', '#' or '/' would
 *   change the filter's shape; such a rule is skipped when it allows and
 *   applies when it denies (fail closed).
 */
#include "config.h"

#include "broker/mq_acl.h"
#include "broker/mq_file.h"
#include "broker/mq_log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum acl_who { ACL_ALL, ACL_USER, ACL_CLIENT };

#define ACL_BIT(a) (1u << (a))

struct acl_rule {
	bool         allow;
	bool         exact; /* "eq TOPIC" */
	bool         subst; /* filter holds %u or %c */
	enum acl_who who;
	unsigned     access; /* ACL_BIT(enum mq_acl_access) set */
	char        *name;   /* user or client id, for ACL_USER / ACL_CLIENT */
	size_t       name_len;
	char        *filter;
	size_t       filter_len;
};

struct mq_acl {
	struct acl_rule *v;
	size_t           n;
};

/* ---- topic filters ---- */

struct levels {
	const char *p, *end;
	bool        done;
};

/* The next '/'-separated level; false when all were taken. */
static bool
level_next(struct levels *c, const char **lv, size_t *n)
{
	const char *slash;

	if (c->done)
		return false;
	slash = memchr(c->p, '/', (size_t) (c->end - c->p));
	*lv = c->p;
	if (slash != NULL) {
		*n = (size_t) (slash - c->p);
		c->p = slash + 1;
	} else {
		*n = (size_t) (c->end - c->p);
		c->p = c->end;
		c->done = true;
	}
	return true;
}

static bool
level_is(const char *lv, size_t n, char wild)
{
	return n == 1 && lv[0] == wild;
}

static bool
level_wild(const char *lv, size_t n)
{
	return level_is(lv, n, '+') || level_is(lv, n, '#');
}

/* A valid MQTT topic filter: '#' only alone as the last level, '+' only
 * alone in a level (MQTT-4.7.1-2, MQTT-4.7.1-3). */
static bool
filter_valid(const char *f, size_t n)
{
	struct levels c = { f, f + n, false };
	const char   *lv;
	size_t        ln;

	if (n == 0 || memchr(f, '\0', n) != NULL)
		return false;
	while (level_next(&c, &lv, &ln)) {
		bool hash = memchr(lv, '#', ln) != NULL;
		bool plus = memchr(lv, '+', ln) != NULL;

		if ((hash || plus) && ln != 1)
			return false;
		if (hash && !c.done)
			return false;
	}
	return true;
}

/* Every topic that s matches, r matches too.  r covers "$" topics. */
static bool
filter_covers(const char *r, size_t rn, const char *s, size_t sn)
{
	struct levels rc = { r, r + rn, false }, sc = { s, s + sn, false };
	const char   *rl, *sl;
	size_t        rln, sln;

	for (;;) {
		bool hr = level_next(&rc, &rl, &rln);
		bool hs = level_next(&sc, &sl, &sln);

		if (hr && level_is(rl, rln, '#'))
			return true; /* "a/#" also matches "a" */
		if (!hr || !hs)
			return !hr && !hs;
		if (level_is(sl, sln, '#'))
			return false; /* s goes deeper than any r but "#" */
		if (level_is(rl, rln, '+'))
			continue; /* any single level of s: literal or '+' */
		if (level_is(sl, sln, '+'))
			return false;
		if (rln != sln || memcmp(rl, sl, rln) != 0)
			return false;
	}
}

bool
mq_acl_filter_overlaps(const char *r, size_t rn, const char *s, size_t sn)
{
	struct levels rc = { r, r + rn, false }, sc = { s, s + sn, false };
	const char   *rl = NULL, *sl = NULL;
	size_t        rln = 0, sln = 0;
	bool          first = true;

	for (;;) {
		bool hr = level_next(&rc, &rl, &rln);
		bool hs = level_next(&sc, &sl, &sln);

		if (first && hr && hs && level_wild(sl, sln) && rln > 0
		    && rl[0] == '$')
			return false;
		first = false;
		if ((hr && level_is(rl, rln, '#'))
		    || (hs && level_is(sl, sln, '#')))
			return true;
		if (!hr || !hs)
			return !hr && !hs;
		if (level_is(rl, rln, '+') || level_is(sl, sln, '+'))
			continue;
		if (rln != sln || memcmp(rl, sl, rln) != 0)
			return false;
	}
}

/* ---- rules ---- */

static void
acl_clear(struct mq_acl *a)
{
	for (size_t i = 0; i < a->n; i++) {
		free(a->v[i].name);
		free(a->v[i].filter);
	}
	free(a->v);
	a->v = NULL;
	a->n = 0;
}

static int
acl_line(
    void *ctx, const char *path, unsigned lineno, const char *line, size_t len)
{
	struct mq_acl   *a = ctx;
	struct acl_rule  r = { 0 };
	const char      *s = line, *end = line + len, *tok, *name = NULL;
	size_t           n, name_len = 0;
	struct acl_rule *v;
	const char      *why;

	why = "expected allow or deny";
	if (!mq_token_next(&s, end, &tok, &n))
		goto bad;
	if (mq_token_is(tok, n, "allow"))
		r.allow = true;
	else if (!mq_token_is(tok, n, "deny"))
		goto bad;

	why = "expected user NAME, client ID or all";
	if (!mq_token_next(&s, end, &tok, &n))
		goto bad;
	if (mq_token_is(tok, n, "all")) {
		r.who = ACL_ALL;
	} else if (mq_token_is(tok, n, "user")
	    || mq_token_is(tok, n, "client")) {
		r.who = mq_token_is(tok, n, "user") ? ACL_USER : ACL_CLIENT;
		if (!mq_token_next(&s, end, &name, &name_len))
			goto bad;
	} else {
		goto bad;
	}

	why = "expected publish, subscribe or pubsub";
	if (!mq_token_next(&s, end, &tok, &n))
		goto bad;
	if (mq_token_is(tok, n, "publish"))
		r.access = ACL_BIT(MQ_ACL_PUBLISH);
	else if (mq_token_is(tok, n, "subscribe"))
		r.access = ACL_BIT(MQ_ACL_SUBSCRIBE);
	else if (mq_token_is(tok, n, "pubsub"))
		r.access = ACL_BIT(MQ_ACL_PUBLISH) | ACL_BIT(MQ_ACL_SUBSCRIBE);
	else
		goto bad;

	why = "expected a topic filter";
	n = (size_t) (end - s);
	mq_trim(&s, &n);
	if (n > 3 && memcmp(s, "eq", 2) == 0 && mq_is_blank(s[2])) {
		r.exact = true;
		s += 3;
		n -= 3;
		mq_trim(&s, &n);
	}
	if (n == 0 || (!r.exact && !filter_valid(s, n)))
		goto bad;
	for (size_t i = 0; i + 1 < n; i++)
		if (s[i] == '%' && (s[i + 1] == 'u' || s[i + 1] == 'c'))
			r.subst = true;

	r.filter = mq_strndup(s, n);
	r.filter_len = n;
	if (name != NULL) {
		r.name = mq_strndup(name, name_len);
		r.name_len = name_len;
	}
	v = reallocarray(a->v, a->n + 1, sizeof(*v));
	if (r.filter == NULL || (name != NULL && r.name == NULL)
	    || v == NULL) {
		free(r.filter);
		free(r.name);
		if (v != NULL)
			a->v = v;
		return -ENOMEM;
	}
	a->v = v;
	a->v[a->n++] = r;
	return 0;
bad:
	mq_warn("%s:%u: %s, rule ignored", path, lineno, why);
	return 0;
}

int
mq_acl_load(mq_acl **out, const char *path)
{
	struct mq_acl *a = calloc(1, sizeof(*a));
	int            rc;

	*out = NULL;
	if (a == NULL)
		return -ENOMEM;
	rc = path != NULL ? mq_file_lines(path, false, acl_line, a) : 0;
	if (rc == -ENOMEM) {
		mq_acl_free(&a);
		return rc;
	}
	if (rc < 0)
		acl_clear(a); /* unreadable: no rules */
	*out = a;
	return rc;
}

void
mq_acl_free(mq_acl **ap)
{
	if (*ap == NULL)
		return;
	acl_clear(*ap);
	free(*ap);
	*ap = NULL;
}

static bool
acl_who_matches(const struct acl_rule *r, const char *client_id,
    size_t client_id_len, const char *username, size_t username_len)
{
	switch (r->who) {
	case ACL_ALL:
		return true;
	case ACL_USER:
		return username != NULL && username_len == r->name_len
		    && memcmp(username, r->name, username_len) == 0;
	case ACL_CLIENT:
		return client_id != NULL && client_id_len == r->name_len
		    && memcmp(client_id, r->name, client_id_len) == 0;
	}
	return false;
}

bool
mq_acl_value_safe(const char *v, size_t n)
{
	if (v == NULL || n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (v[i] == '+' || v[i] == '#' || v[i] == '/' || v[i] == '\0')
			return false;
	return true;
}

static bool
acl_filter_matches(const struct acl_rule *r, const char *f, size_t fn,
    const char *topic, size_t topic_len)
{
	if (r->exact)
		return fn == topic_len && memcmp(f, topic, fn) == 0;
	return r->allow ? filter_covers(f, fn, topic, topic_len)
	                : mq_acl_filter_overlaps(f, fn, topic, topic_len);
}

/* Whether rule r applies to this topic / filter, with %u and %c
 * substituted.  An unsafe substitution fails closed: the rule applies iff
 * it denies. */
static bool
acl_rule_applies(const struct acl_rule *r, const char *client_id,
    size_t client_id_len, const char *username, size_t username_len,
    const char *topic, size_t topic_len)
{
	size_t cap = r->filter_len, n = 0;
	char  *buf;
	bool   hit;

	if (!r->subst)
		return acl_filter_matches(
		    r, r->filter, r->filter_len, topic, topic_len);
	for (size_t i = 0; i + 1 < r->filter_len; i++) {
		if (r->filter[i] != '%')
			continue;
		if (r->filter[i + 1] == 'u') {
			if (!mq_acl_value_safe(username, username_len))
				return !r->allow;
			cap += username_len;
		} else if (r->filter[i + 1] == 'c') {
			if (!mq_acl_value_safe(client_id, client_id_len))
				return !r->allow;
			cap += client_id_len;
		}
	}
	buf = malloc(cap);
	if (buf == NULL) {
		mq_err("malloc(%zu): %s", cap, strerror(ENOMEM));
		return !r->allow;
	}
	for (size_t i = 0; i < r->filter_len; i++) {
		char next = i + 1 < r->filter_len ? r->filter[i + 1] : 0;

		if (r->filter[i] == '%' && next == 'u') {
			memcpy(buf + n, username, username_len);
			n += username_len;
			i++;
		} else if (r->filter[i] == '%' && next == 'c') {
			memcpy(buf + n, client_id, client_id_len);
			n += client_id_len;
			i++;
		} else {
			buf[n++] = r->filter[i];
		}
	}
	hit = acl_filter_matches(r, buf, n, topic, topic_len);
	free(buf);
	return hit;
}

bool
mq_acl_check(const mq_acl *a, const char *client_id, size_t client_id_len,
    const char *username, size_t username_len, const char *topic,
    size_t topic_len, enum mq_acl_access access)
{
	for (size_t i = 0; a != NULL && i < a->n; i++) {
		const struct acl_rule *r = &a->v[i];

		if (!(r->access & ACL_BIT(access)))
			continue;
		if (!acl_who_matches(
		        r, client_id, client_id_len, username, username_len))
			continue;
		if (acl_rule_applies(r, client_id, client_id_len, username,
		        username_len, topic, topic_len))
			return r->allow;
	}
	return true;
}
