/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mq_acl: the topic ACL of the mqttd_acl_file plugin: a rule file, and
 * the decision for one PUBLISH topic or SUBSCRIBE filter.  First matching
 * rule wins; no match allows (EMQ's acl_nomatch = allow).  The rule
 * format is described in mq_acl.c.
 *
 * Errors: int functions return 0 or -errno; the failure is logged once.
 */
#ifndef MQ_ACL_H
#define MQ_ACL_H

#include <stdbool.h>
#include <stddef.h>

typedef struct mq_acl mq_acl;

enum mq_acl_access { MQ_ACL_SUBSCRIBE, MQ_ACL_PUBLISH };

/*
 * Loads path (NULL: no rules).  Malformed lines are logged and skipped.
 * On -ENOMEM *out is NULL; on any other error (logged) *out holds no
 * rules and the error is returned.
 */
int  mq_acl_load(mq_acl **out, const char *path);
void mq_acl_free(mq_acl **a);

/* Whether the rules allow access to topic (a filter for SUBSCRIBE);
 * username and client_id are NULL when absent. */
bool mq_acl_check(const mq_acl *a, const char *client_id, size_t client_id_len,
    const char *username, size_t username_len, const char *topic,
    size_t topic_len, enum mq_acl_access access);

/* Whether some topic matches both rule filter r and subscription filter
 * s (a deny rule's test for SUBSCRIBE).  A subscription starting with a
 * wildcard never matches a "$" topic (MQTT-4.7.2-1); a rule does. */
bool mq_acl_filter_overlaps(
    const char *r, size_t rn, const char *s, size_t sn);

/* Whether a %u / %c value keeps a filter's shape: not empty, no '+',
 * '#', '/' or NUL (else a rule with it is left out). */
bool mq_acl_value_safe(const char *v, size_t n);

#endif
