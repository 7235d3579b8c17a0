/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mq_trie: topic rules and the subscription trie (rules in mq_trie.h).
 *
 * Nodes form a tree of levels; '+' and '#' children hang off direct
 * pointers (they are tried on every match), literal children live in one
 * hash table keyed by (parent pointer, level bytes).  A node is freed as
 * soon as it has neither entries nor children, so the trie holds only
 * live filters.
 */
#include "config.h"

#include "broker/mq_trie.h"

#include "broker/mq_hash.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct mq_trie_node {
	struct mq_hnode       h; /* in trie->children, unless wildcard */
	mq_trie_node         *parent;
	mq_trie_node         *plus, *hash;
	struct mq_trie_entry *entries;
	uint32_t              nchildren;
	uint32_t              user;
	uint16_t              len;
	char                  level[];
};

struct mq_trie {
	mq_trie_node *root; /* apart: nodes end in a flexible array */
	mq_hash       children;
	uint32_t      routes;
};

bool
mq_topic_name_valid(const char *t, size_t len)
{
	return len > 0 && len <= UINT16_MAX && memchr(t, '+', len) == NULL
	    && memchr(t, '#', len) == NULL && memchr(t, 0, len) == NULL;
}

bool
mq_topic_has_wildcard(const char *f, size_t len)
{
	return memchr(f, '+', len) != NULL || memchr(f, '#', len) != NULL;
}

bool
mq_topic_filter_valid(const char *f, size_t len)
{
	if (len == 0 || len > UINT16_MAX || memchr(f, 0, len) != NULL)
		return false;
	for (size_t i = 0; i < len; i++) {
		bool starts = i == 0 || f[i - 1] == '/';
		bool ends = i + 1 == len || f[i + 1] == '/';

		if (f[i] == '+' && !(starts && ends))
			return false; /* [MQTT-4.7.1-3] */
		if (f[i] == '#' && !(starts && i + 1 == len))
			return false; /* [MQTT-4.7.1-2] */
	}
	return true;
}

int
mq_topic_share(const char *f, size_t len, size_t *off)
{
	const char *slash;
	size_t      name_len;

	if (len < 7 || memcmp(f, "$share/", 7) != 0)
		return 0;
	slash = memchr(f + 7, '/', len - 7);
	if (slash == NULL)
		return -EINVAL;
	name_len = (size_t) (slash - (f + 7));
	if (name_len == 0 || memchr(f + 7, '+', name_len) != NULL
	    || memchr(f + 7, '#', name_len) != NULL)
		return -EINVAL;
	*off = 7 + name_len + 1;
	if (!mq_topic_filter_valid(f + *off, len - *off))
		return -EINVAL;
	return 1;
}

bool
mq_topic_match(const char *f, size_t flen, const char *t, size_t tlen)
{
	size_t i = 0, j = 0;

	if (tlen > 0 && t[0] == '$' && flen > 0
	    && (f[0] == '+' || f[0] == '#'))
		return false;
	for (;;) {
		size_t fe = i, te = j;

		while (fe < flen && f[fe] != '/')
			fe++;
		if (fe - i == 1 && f[i] == '#')
			return true;
		while (te < tlen && t[te] != '/')
			te++;
		if (!(fe - i == 1 && f[i] == '+')
		    && (fe - i != te - j || memcmp(f + i, t + j, fe - i) != 0))
			return false;
		if (fe >= flen)
			return te >= tlen;
		if (te >= tlen) /* "a/#" matches "a" */
			return flen - fe == 2 && f[fe + 1] == '#';
		i = fe + 1;
		j = te + 1;
	}
}

/* Like mq_topic_match, level by level, but s may hold wildcards too: a
 * '+' or '#' of s is covered only by a '+' or '#' (a '#') of r. */
bool
mq_topic_covers(const char *r, size_t rlen, const char *s, size_t slen)
{
	size_t i = 0, j = 0;

	for (;;) {
		size_t re = i, se = j;

		while (re < rlen && r[re] != '/')
			re++;
		if (re - i == 1 && r[i] == '#')
			return true;
		while (se < slen && s[se] != '/')
			se++;
		if (se - j == 1 && s[j] == '#')
			return false;
		if (!(re - i == 1 && r[i] == '+')
		    && ((se - j == 1 && s[j] == '+') || re - i != se - j
		        || memcmp(r + i, s + j, re - i) != 0))
			return false;
		if (re >= rlen)
			return se >= slen;
		if (se >= slen) /* "a/#" covers "a" */
			return rlen - re == 2 && r[re + 1] == '#';
		i = re + 1;
		j = se + 1;
	}
}

static uint32_t
child_hash(const mq_trie_node *parent, const char *lvl, size_t len)
{
	uintptr_t p = (uintptr_t) parent;

	return mq_hash_bytes(lvl, len, (uint32_t) (p ^ (p >> 32)));
}

static mq_trie_node *
child_find(
    const mq_trie *t, const mq_trie_node *parent, const char *lvl, size_t len)
{
	uint32_t         h = child_hash(parent, lvl, len);
	struct mq_hnode *n = mq_hash_chain(&t->children, h);

	for (; n != NULL; n = n->next) {
		mq_trie_node *c = (mq_trie_node *) n;

		if (n->hash == h && c->parent == parent && c->len == len
		    && memcmp(c->level, lvl, len) == 0)
			return c;
	}
	return NULL;
}

int
mq_trie_new(mq_trie **out)
{
	mq_trie *t = calloc(1, sizeof(*t));

	if (t == NULL || (t->root = calloc(1, sizeof(*t->root))) == NULL
	    || mq_hash_init(&t->children, 256) != 0) {
		if (t != NULL)
			free(t->root);
		free(t);
		return -ENOMEM;
	}
	*out = t;
	return 0;
}

static void
free_subtree(mq_trie_node *n, bool is_root)
{
	if (n->plus)
		free_subtree(n->plus, false);
	if (n->hash)
		free_subtree(n->hash, false);
	if (!is_root)
		free(n);
}

void
mq_trie_free(mq_trie **tp)
{
	mq_trie *t = *tp;

	if (t == NULL)
		return;
	/* Literal children are reachable only through the hash. */
	for (uint32_t i = 0; i <= t->children.mask; i++) {
		struct mq_hnode *n = t->children.b[i], *next;

		for (; n != NULL; n = next) {
			next = n->next;
			free_subtree((mq_trie_node *) n, false);
		}
	}
	free_subtree(t->root, true);
	free(t->root);
	mq_hash_fini(&t->children);
	free(t);
	*tp = NULL;
}

static mq_trie_node *
child_get(mq_trie *t, mq_trie_node *parent, const char *lvl, size_t len)
{
	mq_trie_node *c;

	if (len == 1 && lvl[0] == '+' && parent->plus)
		return parent->plus;
	if (len == 1 && lvl[0] == '#' && parent->hash)
		return parent->hash;
	if (!(len == 1 && (lvl[0] == '+' || lvl[0] == '#'))) {
		c = child_find(t, parent, lvl, len);
		if (c != NULL)
			return c;
	}
	c = calloc(1, sizeof(*c) + len);
	if (c == NULL)
		return NULL;
	memcpy(c->level, lvl, len);
	c->len = (uint16_t) len;
	c->parent = parent;
	parent->nchildren++;
	if (len == 1 && lvl[0] == '+')
		parent->plus = c;
	else if (len == 1 && lvl[0] == '#')
		parent->hash = c;
	else
		mq_hash_insert(
		    &t->children, &c->h, child_hash(parent, lvl, len));
	return c;
}

/* Frees n and its empty ancestors. */
static void
prune(mq_trie *t, mq_trie_node *n)
{
	while (n != t->root && n->entries == NULL && n->nchildren == 0) {
		mq_trie_node *p = n->parent;

		if (p->plus == n)
			p->plus = NULL;
		else if (p->hash == n)
			p->hash = NULL;
		else
			mq_hash_remove(&t->children, &n->h);
		p->nchildren--;
		free(n);
		n = p;
	}
}

int
mq_trie_insert(
    mq_trie *t, const char *filter, size_t len, struct mq_trie_entry *e)
{
	mq_trie_node *n = t->root;
	size_t        i = 0;

	for (;;) {
		size_t end = i;

		while (end < len && filter[end] != '/')
			end++;
		mq_trie_node *c = child_get(t, n, filter + i, end - i);
		if (c == NULL) {
			prune(t, n);
			return -ENOMEM;
		}
		n = c;
		if (end >= len)
			break;
		i = end + 1;
	}
	e->node = n;
	e->prev = NULL;
	e->next = n->entries;
	if (n->entries)
		n->entries->prev = e;
	n->entries = e;
	if (e->next == NULL) {
		t->routes++;
		return 1;
	}
	return 0;
}

int
mq_trie_remove(mq_trie *t, struct mq_trie_entry *e)
{
	mq_trie_node *n = e->node;

	if (n == NULL)
		return 0;
	if (e->prev)
		e->prev->next = e->next;
	else
		n->entries = e->next;
	if (e->next)
		e->next->prev = e->prev;
	e->node = NULL;
	if (n->entries != NULL)
		return 0;
	t->routes--;
	prune(t, n);
	return 1;
}

uint32_t *
mq_trie_node_user(mq_trie_node *n)
{
	return &n->user;
}

uint32_t
mq_trie_routes(const mq_trie *t)
{
	return t->routes;
}

static void
emit(const mq_trie_node *n, mq_trie_fn fn, void *arg)
{
	struct mq_trie_entry *e = n->entries, *next;

	for (; e != NULL; e = next) {
		next = e->next;
		fn(e, arg);
	}
}

static void
match(const mq_trie *t, const mq_trie_node *n, const char *topic, size_t len,
    size_t i, bool first, mq_trie_fn fn, void *arg)
{
	size_t              end = i;
	const mq_trie_node *c;
	bool                dollar = first && len > 0 && topic[0] == '$';

	while (end < len && topic[end] != '/')
		end++;
	/* "a/#" matches "a/b/c" and "a" itself (checked by the caller). */
	if (n->hash && !dollar)
		emit(n->hash, fn, arg);
	if (n->plus && !dollar) {
		if (end < len) {
			match(t, n->plus, topic, len, end + 1, false, fn, arg);
		} else {
			emit(n->plus, fn, arg);
			if (n->plus->hash)
				emit(n->plus->hash, fn, arg);
		}
	}
	c = child_find(t, n, topic + i, end - i);
	if (c == NULL)
		return;
	if (end >= len) {
		emit(c, fn, arg);
		if (c->hash)
			emit(c->hash, fn, arg);
	} else {
		match(t, c, topic, len, end + 1, false, fn, arg);
	}
}

void
mq_trie_match(
    const mq_trie *t, const char *topic, size_t len, mq_trie_fn fn, void *arg)
{
	match(t, t->root, topic, len, 0, true, fn, arg);
}
