/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mq_dbauth: the database auth plugins (mqttd_auth_redis,
 * mqttd_auth_pgsql) in the broker's CONNECT.  When no file plugin knows
 * the client, the active database plugins are asked in turn, each on the
 * broker's loop; the CONNECT is parked meanwhile (MQ_CS_AUTH, as for a
 * crypt(3) check) and resumed with the verdict.  The first plugin that
 * knows the client decides; its superuser flag and ACL rules stay with
 * the connection (mq_authz.h, checked by mq__acl).  When none knows it,
 * allow_anonymous decides.
 *
 * Broker-internal (mq_int.h); errors are -errno, logged once.
 */
#ifndef MQ_DBAUTH_H
#define MQ_DBAUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "broker/mq_plugins.h"

struct mq_broker;
struct mq_conn;

/* Makes the backends from the configuration (they connect on first use). */
int  mq__dbauth_open(struct mq_broker *b);
void mq__dbauth_close(struct mq_broker *b);

/*
 * Asks the active database plugins about c's CONNECT (pw NULL: none).
 * MQ_AUTH_PENDING: a plugin is asked, c->dbreq holds the question and
 * mq__connect_resume follows (never from inside this call); the caller
 * parks c.  MQ_AUTH_IGNORE: no active plugin knows the client.  Else the
 * verdict (c->authz set on ALLOW).
 */
enum mq_auth_result mq__dbauth_begin(struct mq_conn *c, const char *id,
    size_t id_len, const char *pw, size_t pw_len);
/* Drops c's question, if any (the connection is going away). */
void mq__dbauth_cancel(struct mq_conn *c);

#endif
