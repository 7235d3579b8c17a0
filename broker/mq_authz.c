/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mq_authz: a connection's rules from a database auth plugin (see the
 * header).  A handful of rules per client: an array, tried in order.
 */
#include "config.h"

#include "broker/mq_authz.h"
#include "broker/mq_acl.h"
#include "broker/mq_trie.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct rule {
	bool     allow;
	bool     eq;
	uint8_t  access;
	uint16_t len;
	char    *filter;
};

struct mq_authz {
	int          plugin;
	bool         super;
	bool         nomatch_allow;
	unsigned     n, cap;
	struct rule *r;
};

mq_authz *
mq_authz_new(int plugin, bool nomatch_allow)
{
	mq_authz *z = calloc(1, sizeof(*z));

	if (z == NULL)
		return NULL;
	z->plugin = plugin;
	z->nomatch_allow = nomatch_allow;
	return z;
}

void
mq_authz_free(mq_authz **zp)
{
	mq_authz *z = *zp;

	if (z == NULL)
		return;
	for (unsigned i = 0; i < z->n; i++)
		free(z->r[i].filter);
	free(z->r);
	free(z);
	*zp = NULL;
}

void
mq_authz_set_super(mq_authz *z, bool super)
{
	z->super = super;
}

bool
mq_authz_super(const mq_authz *z)
{
	return z->super;
}

int
mq_authz_plugin(const mq_authz *z)
{
	return z->plugin;
}

unsigned
mq_authz_count(const mq_authz *z)
{
	return z->n;
}

int
mq_authz_add(mq_authz *z, bool allow, unsigned access, const char *f,
    size_t len, bool eq)
{
	struct rule *r;

	if (len == 0 || len > UINT16_MAX || (access & 3u) == 0
	    || (!eq && !mq_topic_filter_valid(f, len)))
		return -EINVAL;
	if (z->n == z->cap) {
		unsigned cap = z->cap ? z->cap * 2 : 4;
		void    *p = realloc(z->r, cap * sizeof(*z->r));

		if (p == NULL)
			return -ENOMEM;
		z->r = p;
		z->cap = cap;
	}
	r = &z->r[z->n];
	r->filter = malloc(len);
	if (r->filter == NULL)
		return -ENOMEM;
	memcpy(r->filter, f, len);
	r->len = (uint16_t) len;
	r->allow = allow;
	r->eq = eq;
	r->access = (uint8_t) (access & 3u);
	z->n++;
	return 0;
}

enum mq_authz_verdict
mq_authz_check(const mq_authz *z, const char *t, size_t len, bool publish)
{
	unsigned want = publish ? MQ_AUTHZ_PUB : MQ_AUTHZ_SUB;

	if (z->n == 0)
		return MQ_AUTHZ_NOMATCH;
	for (unsigned i = 0; i < z->n; i++) {
		const struct rule *r = &z->r[i];
		bool               hit;

		if ((r->access & want) == 0)
			continue;
		if (r->eq)
			hit = r->len == len && memcmp(r->filter, t, len) == 0;
		else if (publish)
			hit = mq_topic_match(r->filter, r->len, t, len);
		else if (r->allow) /* as mq_acl: allow covers, deny overlaps */
			hit = mq_topic_covers(r->filter, r->len, t, len);
		else
			hit = mq_acl_filter_overlaps(
			    r->filter, r->len, t, len);
		if (hit)
			return r->allow ? MQ_AUTHZ_ALLOW : MQ_AUTHZ_DENY;
	}
	return z->nomatch_allow ? MQ_AUTHZ_ALLOW : MQ_AUTHZ_DENY;
}
