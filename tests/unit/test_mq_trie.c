/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for broker/mq_trie (topic rules and the subscription trie)
 * and broker/mq_timer (the deadline heap).  The match table is checked
 * twice: by mq_topic_match and by the trie, which must agree.
 */
#include "config.h"

#include "broker/mq_timer.h"
#include "broker/mq_trie.h"
#include "tests/harness/t.h"

#include <errno.h>
#include <string.h>

static const struct {
	const char *filter, *topic;
	bool        match;
} matches[] = {
	{ "a/b", "a/b", true },
	{ "a/b", "a/c", false },
	{ "a/+", "a/b", true },
	{ "a/+", "a/b/c", false },
	{ "a/+", "a/", true },
	{ "a/+", "a", false },
	{ "a/#", "a", true }, /* 4.7.1-2: the parent level */
	{ "a/#", "a/b/c", true },
	{ "a/#", "ab", false },
	{ "#", "a/b", true },
	{ "#", "/", true },
	{ "+", "a", true },
	{ "+", "a/b", false },
	{ "+/+", "/a", true },
	{ "/+", "/a", true },
	{ "+", "/a", false },
	{ "a//b", "a//b", true },
	{ "a/+/b", "a//b", true },
	{ "+/b/#", "x/b", true },
	{ "#", "$SYS/x", false }, /* 4.7.2-1 */
	{ "+/x", "$SYS/x", false },
	{ "$SYS/#", "$SYS/x", true },
	{ "$SYS/+", "$SYS/x", true },
	{ "a/b/c", "a/b", false },
	{ "a/b", "a/b/c", false },
	{ "sport/tennis/#", "sport/tennis/player1/ranking", true },
};

T_TEST(filter_validity)
{
	static const struct {
		const char *f;
		bool        ok;
	} r[] = {
		{ "a/b", true },
		{ "a/+/c", true },
		{ "+", true },
		{ "#", true },
		{ "a/#", true },
		{ "/", true },
		{ "a//b", true },
		{ "+/+", true },
		{ "", false },
		{ "a/#/b", false },
		{ "a#", false },
		{ "a/b+", false },
		{ "++", false },
		{ "#/", false },
		{ "+a", false },
	};

	for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++)
		if (mq_topic_filter_valid(r[i].f, strlen(r[i].f)) != r[i].ok)
			T_FAIL_AT("filter '%s': want %d", r[i].f, r[i].ok);
	T_ASSERT(mq_topic_name_valid("a/b", 3));
	T_ASSERT(!mq_topic_name_valid("a/+", 3));
	T_ASSERT(!mq_topic_name_valid("", 0));
}

/* MQTT 5.0 4.8.2: "$share/{ShareName}/{filter}" [MQTT-4.8.2-1, -2]. */
T_TEST(share_split)
{
	static const struct {
		const char *f;
		int         rc;
		size_t      off;
	} r[] = {
		{ "a/b", 0, 0 },
		{ "$share", 0, 0 },
		{ "$shared/g/a", 0, 0 },
		{ "$SYS/a", 0, 0 },
		{ "$share/g/a", 1, 9 },
		{ "$share/group/+/x/#", 1, 13 },
		{ "$share/g//", 1, 9 },
		{ "$share/g/#", 1, 9 },
		{ "$share/g", -EINVAL, 0 },
		{ "$share/", -EINVAL, 0 },
		{ "$share//a", -EINVAL, 0 },
		{ "$share/g/", -EINVAL, 0 },
		{ "$share/a+/x", -EINVAL, 0 },
		{ "$share/#/x", -EINVAL, 0 },
		{ "$share/g/a/#/b", -EINVAL, 0 },
		{ "$share/g/a+", -EINVAL, 0 },
	};

	for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++) {
		size_t off = 0;
		int    rc = mq_topic_share(r[i].f, strlen(r[i].f), &off);

		if (rc != r[i].rc || (rc == 1 && off != r[i].off))
			T_FAIL_AT("'%s': rc %d off %zu, want %d %zu", r[i].f,
			    rc, off, r[i].rc, r[i].off);
	}
}

T_TEST(match_table)
{
	for (size_t i = 0; i < sizeof(matches) / sizeof(matches[0]); i++) {
		const char *f = matches[i].filter, *t = matches[i].topic;

		if (mq_topic_match(f, strlen(f), t, strlen(t))
		    != matches[i].match)
			T_FAIL_AT(
			    "'%s' vs '%s': want %d", f, t, matches[i].match);
	}
}

static void
count(struct mq_trie_entry *e, void *arg)
{
	(void) e;
	(*(int *) arg)++;
}

T_TEST(trie_agrees_with_match)
{
	for (size_t i = 0; i < sizeof(matches) / sizeof(matches[0]); i++) {
		mq_trie             *t;
		struct mq_trie_entry e;
		const char *f = matches[i].filter, *tp = matches[i].topic;
		int         n = 0;

		T_EQ(mq_trie_new(&t), 0);
		T_EQ(mq_trie_insert(t, f, strlen(f), &e), 1);
		mq_trie_match(t, tp, strlen(tp), count, &n);
		if (n != (matches[i].match ? 1 : 0))
			T_FAIL_AT("trie '%s' vs '%s': %d matches", f, tp, n);
		T_EQ(mq_trie_remove(t, &e), 1);
		T_EQ(mq_trie_routes(t), 0);
		mq_trie_free(&t);
	}
}

T_TEST(trie_many)
{
	mq_trie             *t;
	struct mq_trie_entry e[6];
	const char          *f[] = { "a/b", "a/b", "a/+", "#", "a/#", "b" };
	int                  n = 0;

	T_EQ(mq_trie_new(&t), 0);
	for (int i = 0; i < 6; i++)
		T_ASSERT(mq_trie_insert(t, f[i], strlen(f[i]), &e[i]) >= 0);
	T_EQ(mq_trie_routes(t), 5);
	mq_trie_match(t, "a/b", 3, count, &n);
	T_EQ(n, 5);
	T_EQ(mq_trie_remove(t, &e[0]), 0); /* "a/b" still has e[1] */
	T_EQ(mq_trie_remove(t, &e[1]), 1);
	n = 0;
	mq_trie_match(t, "a/b", 3, count, &n);
	T_EQ(n, 3);
	for (int i = 2; i < 6; i++)
		mq_trie_remove(t, &e[i]);
	T_EQ(mq_trie_routes(t), 0);
	mq_trie_free(&t);
}

T_TEST(trie_free_with_entries)
{
	mq_trie             *t;
	struct mq_trie_entry e[3];

	T_EQ(mq_trie_new(&t), 0);
	mq_trie_insert(t, "x/y/z", 5, &e[0]);
	mq_trie_insert(t, "+/#", 3, &e[1]);
	mq_trie_insert(t, "x/+", 3, &e[2]);
	mq_trie_free(&t); /* ASan checks nothing leaks */
	T_ASSERT(t == NULL);
}

static int fired[8], nfired;

static void
on_timer(mq_timer *t)
{
	fired[nfired++] = (int) t->deadline;
}

T_TEST(timer_heap_order)
{
	mq_timers ts = { 0 };
	mq_timer  t[6];
	uint64_t  d[6] = { 50, 10, 40, 20, 30, 60 };

	for (int i = 0; i < 6; i++) {
		mq_timer_init(&t[i], on_timer);
		T_EQ(mq_timer_set(&ts, &t[i], d[i]), 0);
	}
	mq_timer_cancel(&ts, &t[2]);          /* 40 */
	T_EQ(mq_timer_set(&ts, &t[5], 5), 0); /* 60 -> 5 */
	T_EQ(mq_timers_next(&ts, 0), 5);
	mq_timers_expire(&ts, 35);
	T_EQ(nfired, 4);
	T_EQ(fired[0], 5);
	T_EQ(fired[1], 10);
	T_EQ(fired[2], 20);
	T_EQ(fired[3], 30);
	T_EQ(mq_timers_next(&ts, 35), 15);
	T_ASSERT(!mq_timer_armed(&t[2]));
	mq_timers_expire(&ts, 100);
	T_EQ(nfired, 5);
	T_EQ(mq_timers_next(&ts, 100), -1);
	mq_timers_fini(&ts);
}

static const struct t_case cases[] = {
	T_ENTRY(filter_validity),
	T_ENTRY(share_split),
	T_ENTRY(match_table),
	T_ENTRY(trie_agrees_with_match),
	T_ENTRY(trie_many),
	T_ENTRY(trie_free_with_entries),
	T_ENTRY(timer_heap_order),
};

T_MAIN(cases)
