/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mq_authz: what a database auth plugin said about one client, kept with
 * its connection: superuser or not, and its ACL rules as fetched at
 * CONNECT (EMQ 2.3's mqtt_acl rows / Redis acl_cmd hash), so that PUBLISH
 * and SUBSCRIBE are judged without a round trip.  A change in the
 * database applies to the client's next connection.
 *
 * Rules are tried in order; the first whose access and filter match
 * decides (for a SUBSCRIBE filter as in mq_acl: an allow rule must
 * cover it, a deny rule need only overlap it); a client with rules and no
 * match gets the plugin's acl_nomatch; a client without rules is not this
 * plugin's to judge.
 *
 * Errors: int functions return 0 or -errno.
 */
#ifndef MQ_AUTHZ_H
#define MQ_AUTHZ_H

#include <stdbool.h>
#include <stddef.h>

typedef struct mq_authz mq_authz;

/* Access bits, as EMQ stores them: 1 subscribe, 2 publish, 3 both. */
#define MQ_AUTHZ_SUB 1u
#define MQ_AUTHZ_PUB 2u

enum mq_authz_verdict { MQ_AUTHZ_NOMATCH, MQ_AUTHZ_ALLOW, MQ_AUTHZ_DENY };

/* plugin: the id of the plugin it came from (mq_plugins.h). */
mq_authz *mq_authz_new(int plugin, bool nomatch_allow);
void      mq_authz_free(mq_authz **z);

void     mq_authz_set_super(mq_authz *z, bool super);
bool     mq_authz_super(const mq_authz *z);
int      mq_authz_plugin(const mq_authz *z);
unsigned mq_authz_count(const mq_authz *z);

/*
 * Appends a rule: filter (a topic filter, or with eq an exact string)
 * for the access bits.  A filter that is not a valid MQTT filter is
 * skipped (-EINVAL); -ENOMEM.
 */
int mq_authz_add(mq_authz *z, bool allow, unsigned access, const char *filter,
    size_t len, bool eq);

/* topic: a PUBLISH topic, or a SUBSCRIBE filter (which the rule's filter
 * must cover). */
enum mq_authz_verdict mq_authz_check(
    const mq_authz *z, const char *topic, size_t len, bool publish);

#endif
