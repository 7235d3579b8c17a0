/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mq_trie: topic names, topic filters, and the subscription trie.
 *
 * Filters (MQTT 3.1.1 section 4.7):
 *   "a/b", "a/+/c", "+", "#", "a/#", "/", "a//b", "+/+"   valid
 *   "", "a/#/b", "a#", "a/b+", "++", "#/"                  invalid
 * "a/#" also matches "a" (the parent level) [MQTT-4.7.1-2]; "+" matches
 * one whole level, including an empty one.  Topics starting with '$' are
 * not matched by a filter starting with a wildcard [MQTT-4.7.2-1]:
 * "#" and "+/x" do not match "$SYS/x"; "$SYS/#" does.
 *
 * The trie stores subscribers intrusively: the caller embeds a struct
 * mq_trie_entry in its subscription record, so matching a PUBLISH walks
 * nodes and lists without allocating.  Children are found through one
 * hash table keyed by (parent, level), so a level with many children is
 * still O(1) per step.  A node with at least one entry is a "route".
 */
#ifndef MQ_TRIE_H
#define MQ_TRIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct mq_trie      mq_trie;
typedef struct mq_trie_node mq_trie_node;

struct mq_trie_entry {
	struct mq_trie_entry *next, *prev;
	mq_trie_node         *node;
};

bool mq_topic_name_valid(const char *t, size_t len);
bool mq_topic_filter_valid(const char *f, size_t len);
bool mq_topic_has_wildcard(const char *f, size_t len);
/*
 * MQTT 5.0 shared subscriptions (4.8.2): "$share/{ShareName}/{filter}".
 * Returns 0 when f is not one (no "$share/" prefix), 1 when it is and is
 * valid (*off: where the filter starts), -EINVAL when the ShareName is
 * empty or holds '+' or '#', or no valid filter follows
 * [MQTT-4.8.2-1, -2].
 */
int mq_topic_share(const char *f, size_t len, size_t *off);
/* Whether filter f matches topic name t (both assumed valid). */
bool mq_topic_match(const char *f, size_t flen, const char *t, size_t tlen);
/*
 * Whether filter r covers filter s: every topic s matches, r matches
 * ("a/+" covers "a/b" and "a/+", not "a/#" nor "#").  Both assumed valid;
 * unlike matching, r covers "$" topics ("#" covers "$SYS/#"): for rules
 * that grant access, not for delivery.
 */
bool mq_topic_covers(const char *r, size_t rlen, const char *s, size_t slen);

int  mq_trie_new(mq_trie **out);
void mq_trie_free(mq_trie **t);

/*
 * Links e under `filter` (valid).  Returns 1 when the filter's node had
 * no entry before (a new route), 0 otherwise, -ENOMEM (e not linked).
 */
int mq_trie_insert(
    mq_trie *t, const char *filter, size_t len, struct mq_trie_entry *e);

/* Unlinks e; returns 1 when its node has no entry left (route gone). */
int mq_trie_remove(mq_trie *t, struct mq_trie_entry *e);

/* Per-route scratch the caller may use (the broker keeps a col_ref). */
uint32_t *mq_trie_node_user(mq_trie_node *n);
/* Number of nodes with at least one entry. */
uint32_t mq_trie_routes(const mq_trie *t);

/*
 * Calls fn for every entry whose filter matches `topic`.  fn must not
 * insert into or remove from the trie.
 */
typedef void (*mq_trie_fn)(struct mq_trie_entry *e, void *arg);
void mq_trie_match(
    const mq_trie *t, const char *topic, size_t len, mq_trie_fn fn, void *arg);

#endif
