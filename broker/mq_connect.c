/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mq_connect: CONNECT, in phases (as Mosquitto's handle__connect and
 * connect__on_authorised):
 *
 *   decode        the packet -> struct mq_connreq: the client id (an
 *                 empty one is assigned here, once), the will, the
 *                 options the later phases need;
 *   authenticate  the auth chain judges that id; a password that needs
 *                 crypt(3) parks the connection (MQ_CS_AUTH) with the
 *                 request saved and the check on the auth threads;
 *   authorised    (now, or in mq__connect_resume when the verdict is
 *                 back) refuse, or attach the session under the id the
 *                 chain judged, then CONNACK.
 *
 * Every phase returns an enum mq_hs; mq__conn_end (mq_proto.c) is what
 * closes a refused connection.
 */
#include "config.h"

#include "broker/mq_authq.h"
#include "broker/mq_dbauth.h"
#include "broker/mq_int.h"
#include "broker/mq_plugins.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/*
 * A decoded CONNECT: what authenticate and authorised need.  On the
 * synchronous path it lives on the stack and id points into the packet
 * (or gen); a parked request is copied whole (connreq_save), id included,
 * and never decoded again.
 */
struct mq_connreq {
	mq_msg     *will; /* until the session takes it */
	const char *id;
	const char *user; /* NULL: none; the CN on an identity listener */
	uint16_t    id_len;
	uint16_t    user_len;
	bool        assigned; /* the server made the id up */
	bool        clean;    /* Clean Session / Clean Start */
	uint8_t     level;
	uint16_t    keepalive;
	uint16_t    receive_max;     /* v5, 0: none */
	uint16_t    topic_alias_max; /* v5 */
	uint32_t    expiry;          /* v5 Session Expiry Interval */
	uint32_t    max_packet_size; /* v5, 0: none */
	uint32_t    will_delay;      /* v5 */
	char        gen[40];         /* an assigned id */
	char        own[];           /* a saved request's id */
};

static void
connreq_free(struct mq_connreq *rq)
{
	if (rq == NULL)
		return;
	mq__msg_unref(rq->will);
	free(rq);
}

/* ---- CONNACK ---- */

static void
send_connack(mq_conn *c, bool present, uint8_t rc)
{
	uint8_t a[MQ_ACK_SIZE];

	mq__send(c, a, mq_encode_connack(a, present, rc));
	c->b->metrics[SHM_M_PACKETS_CONNACK]++;
}

/* v3 CONNACK return code -> v5 CONNACK reason code. */
static const uint8_t connack5[] = {
	[MQ_CONNACK_ACCEPTED] = MQ_RC_SUCCESS,
	[MQ_CONNACK_BAD_VERSION] = 0x84,
	[MQ_CONNACK_BAD_CLIENT_ID] = MQ_RC_CLIENT_ID_NOT_VALID,
	[MQ_CONNACK_UNAVAILABLE] = MQ_RC_SERVER_UNAVAILABLE,
	[MQ_CONNACK_BAD_CREDENTIAL] = MQ_RC_BAD_USER_OR_PASSWORD,
	[MQ_CONNACK_NOT_AUTHORIZED] = MQ_RC_NOT_AUTHORIZED,
};

enum mq_hs
mq__connect_refuse(mq_conn *c, uint8_t rc, uint8_t rc5, enum mq_hs hs)
{
	uint8_t a[8];

	if (c->proto != 5) {
		send_connack(c, false, rc);
		return hs;
	}
	if (rc5 == 0)
		rc5 = rc < sizeof(connack5) ? connack5[rc] : rc;
	mq__send(c, a, mq_encode_connack5(a, false, rc5, NULL, 0));
	c->b->metrics[SHM_M_PACKETS_CONNACK]++;
	return hs;
}

/*
 * The v5 CONNACK (3.2.2.3): what this server does differently from the
 * defaults a client assumes.
 */
static void
send_connack5(mq_conn *c, bool present, const struct mq_connreq *rq,
    bool expiry_clamped, bool server_ka)
{
	mq_broker *b = c->b;
	uint8_t    pr[128], a[8 + sizeof(pr)];
	size_t     n = 0;

	if (expiry_clamped)
		n += mq_prop_u32(pr + n, MQ_P_SESSION_EXPIRY, c->s->expiry_s);
	if (b->cfg->max_inflight < 65535)
		n += mq_prop_u16(pr + n, MQ_P_RECEIVE_MAXIMUM,
		    (uint16_t) b->cfg->max_inflight);
	if (b->cfg->max_packet_size < 268435460u)
		n += mq_prop_u32(
		    pr + n, MQ_P_MAXIMUM_PACKET_SIZE, b->cfg->max_packet_size);
	n += mq_prop_u16(pr + n, MQ_P_TOPIC_ALIAS_MAXIMUM, MQ_TOPIC_ALIAS_MAX);
	if (!mq__plugin_active(b, MQ_PLUGIN_RETAINER))
		n += mq_prop_u8(pr + n, MQ_P_RETAIN_AVAILABLE, 0);
	/* Shared Subscription Available: left out, i.e. 1 (4.8.2). */
	if (server_ka) /* [MQTT5-3.2.2-21]: the client must use it */
		n += mq_prop_u16(pr + n, MQ_P_SERVER_KEEP_ALIVE, c->keepalive);
	if (rq->assigned) /* [MQTT5-3.2.2-16] */
		n += mq_prop_str(
		    pr + n, MQ_P_ASSIGNED_CLIENT_ID, rq->id, rq->id_len);
	mq__send(c, a, mq_encode_connack5(a, present, 0, pr, (uint32_t) n));
	b->metrics[SHM_M_PACKETS_CONNACK]++;
}

/* ---- decode ---- */

/* The will as a message (3.1.3.2: v5 will properties travel with it). */
static void
decode_will(struct mq_connreq *rq, const struct mq_connect *k)
{
	uint8_t  buf[256], *fw = buf;
	uint32_t n = 0;

	if (!k->will)
		return;
	if (k->level == 5 && k->will_props.len > 0) {
		if (k->will_props.len > sizeof(buf)
		    && (fw = malloc(k->will_props.len)) == NULL)
			return;
		n = mq_props_forward(&k->will_props, fw);
		rq->will_delay = k->will_props.will_delay;
	}
	/* Until published, a will's expire_at holds its Message Expiry
	 * Interval + 1 in seconds (0: none); mq__will_pub makes it a
	 * deadline. */
	rq->will = mq__msg_new5(k->will_topic.ptr, k->will_topic.len,
	    k->will_payload.ptr, k->will_payload.len, k->will_qos,
	    k->will_retain, fw, n,
	    k->level == 5 && mq_props_has(&k->will_props, MQ_P_MESSAGE_EXPIRY)
	        ? (uint64_t) k->will_props.message_expiry + 1
	        : 0);
	if (fw != buf)
		free(fw);
}

/*
 * The username: the packet's or, on a use_identity_as_username listener,
 * the client certificate's CN, so that the auth chain, the ACL and the
 * segment all see the CN.  Refuses such a client without a certificate.
 */
static enum mq_hs
decode_user(mq_conn *c, const struct mq_connect *k, struct mq_connreq *rq)
{
	mq_str name = k->username;
	char   p[64];
	int    rc = mq__conn_identity(c, &name);

	if (rc < 0) {
		mq_info("connection %s: no client certificate to take the "
		        "username from",
		    mq__peer_str(c, p, sizeof(p)));
		return mq__connect_refuse(
		    c, MQ_CONNACK_NOT_AUTHORIZED, 0, MQ_HS_REFUSED);
	}
	if (rc == 0 && !k->has_username)
		return MQ_HS_OK;
	rq->user = name.ptr;
	rq->user_len = name.len;
	c->username = malloc(name.len + 1u);
	if (c->username == NULL)
		return MQ_HS_OK;
	memcpy(c->username, name.ptr, name.len);
	c->username[name.len] = 0;
	c->username_len = name.len;
	return MQ_HS_OK;
}

/*
 * The request, or the refusal: a second CONNECT, an authentication
 * method, a client id this level does not allow.  An empty id gets its
 * assigned one here, once.
 */
static enum mq_hs
connect_decode(mq_conn *c, const mq_packet *pkt, struct mq_connreq *rq)
{
	mq_broker               *b = c->b;
	const struct mq_connect *k = &pkt->u.connect;
	char                     p[64];

	if (c->state != MQ_CS_NEW) /* [MQTT-3.1.0-2] */
		return MQ_HS_PROTOCOL;
	c->proto = k->level;
	if (k->level == 5 && mq_props_has(&pkt->props, MQ_P_AUTH_METHOD)) {
		/* No enhanced authentication (4.12). */
		mq_info("connection %s: authentication method %.*s refused",
		    mq__peer_str(c, p, sizeof(p)),
		    (int) pkt->props.auth_method.len,
		    pkt->props.auth_method.ptr);
		return mq__connect_refuse(
		    c, 0, MQ_RC_BAD_AUTH_METHOD, MQ_HS_REFUSED);
	}
	rq->id = k->client_id.ptr;
	rq->id_len = k->client_id.len;
	if (rq->id_len == 0) {
		/* [MQTT-3.1.3-8]; MQTT 3.1 needs 1..23 characters; MQTT
		 * 5.0 assigns one whatever Clean Start says. */
		if ((!k->clean_session && k->level == 4) || k->level == 3)
			return mq__connect_refuse(
			    c, MQ_CONNACK_BAD_CLIENT_ID, 0, MQ_HS_REFUSED);
		rq->id_len = (uint16_t) snprintf(rq->gen, sizeof(rq->gen),
		    "mqttd_%llx%05x", (unsigned long long) b->started_at,
		    ++b->id_seq & 0xfffff);
		rq->id = rq->gen;
		rq->assigned = true;
	} else if (k->level == 3 && rq->id_len > 23) {
		return mq__connect_refuse(
		    c, MQ_CONNACK_BAD_CLIENT_ID, 0, MQ_HS_REFUSED);
	}
	rq->level = k->level;
	rq->clean = k->clean_session;
	rq->keepalive = k->keepalive;
	if (k->level == 5) {
		rq->expiry = pkt->props.session_expiry;
		rq->receive_max = pkt->props.receive_max;
		rq->max_packet_size = pkt->props.max_packet_size;
		rq->topic_alias_max = pkt->props.topic_alias_max;
	}
	if (decode_user(c, k, rq) != MQ_HS_OK)
		return MQ_HS_REFUSED;
	decode_will(rq, k);
	return MQ_HS_OK;
}

/* ---- authenticate ---- */

void
mq__connect_cancel(mq_conn *c)
{
	connreq_free(c->creq);
	c->creq = NULL;
	mq__dbauth_cancel(c);
	if (c->auth == NULL)
		return;
	mq_authq_cancel(c->b->authq, c->auth);
	c->auth->owner = NULL;
	c->auth = NULL;
}

/* A copy of rq that owns its id (the packet's bytes will be gone). */
static struct mq_connreq *
connreq_save(struct mq_connreq *rq)
{
	struct mq_connreq *s = malloc(sizeof(*s) + rq->id_len);

	if (s == NULL)
		return NULL;
	*s = *rq;
	memcpy(s->own, rq->id, rq->id_len);
	s->id = s->own;
	s->user = NULL; /* judged already; it pointed into the packet */
	s->user_len = 0;
	rq->will = NULL; /* the copy has it now */
	return s;
}

/* Parks c in MQ_CS_AUTH with its request saved, for mq__connect_resume. */
static enum mq_hs
connect_hold(mq_conn *c, struct mq_connreq *rq)
{
	c->creq = connreq_save(rq);
	if (c->creq == NULL) {
		mq_err("auth check: %s", strerror(ENOMEM));
		mq__dbauth_cancel(c);
		return mq__connect_refuse(
		    c, MQ_CONNACK_UNAVAILABLE, 0, MQ_HS_REFUSED);
	}
	c->state = MQ_CS_AUTH;
	mq__conn_watch(c);
	return MQ_HS_PARKED;
}

/*
 * Hands ck to the auth threads for c (c->auth).  A full queue is
 * -EBUSY, logged once per burst; ck is freed on failure.
 */
int
mq__connect_check(mq_conn *c, struct mq_auth_check *ck)
{
	mq_broker          *b = c->b;
	struct mq_auth_job *j = malloc(sizeof(*j));

	if (j == NULL) {
		mq_err("auth check: %s", strerror(ENOMEM));
		mq_creds_check_free(ck);
		return -ENOMEM;
	}
	j->ck = ck;
	j->owner = c;
	if (mq_authq_submit(b->authq, j) < 0) {
		if (!b->auth_busy)
			mq_warn("auth queue full (%u checks waiting): "
			        "refusing CONNECTs with server busy",
			    b->cfg->auth_queue_max);
		b->auth_busy = true;
		b->auth_busy_refused++;
		mq_creds_check_free(ck);
		free(j);
		return -EBUSY;
	}
	if (b->auth_busy) {
		mq_info("auth queue has room again: %llu CONNECTs were "
		        "refused with server busy",
		    (unsigned long long) b->auth_busy_refused);
		b->auth_busy = false;
		b->auth_busy_refused = 0;
	}
	c->auth = j;
	return 0;
}

/*
 * Hands ck to the auth threads and parks c in MQ_CS_AUTH with its
 * request saved, for mq__connect_resume.  A full queue refuses the
 * client (server busy).
 */
static enum mq_hs
connect_park(mq_conn *c, struct mq_connreq *rq, struct mq_auth_check *ck)
{
	int rc = mq__connect_check(c, ck);

	if (rc < 0)
		return mq__connect_refuse(c, MQ_CONNACK_UNAVAILABLE,
		    rc == -EBUSY ? MQ_RC_SERVER_BUSY : 0, MQ_HS_REFUSED);
	/* (Should saving fail, the end of c cancels the job.) */
	return connect_hold(c, rq);
}

/* ---- authorised: session and CONNACK ---- */

/*
 * Finds, takes over or creates the session; sets *present.  clean: drop
 * an existing session (Clean Session / Clean Start); dies: a new one
 * ends with its connection.
 */
static mq_session *
connect_session(mq_conn *c, const char *id, size_t idlen, bool clean,
    bool dies, bool *present)
{
	mq_broker  *b = c->b;
	mq_session *s = mq__session_find(b, id, idlen);

	*present = false;
	if (s != NULL && s->conn != NULL) {
		mq_conn *old = s->conn;
		char     p[64];

		mq_info("client %.*s: taken over by %s", (int) idlen, id,
		    mq__peer_str(c, p, sizeof(p)));
		/* v5: a will with a delay waits for the session, which
		 * goes on here [MQTT5-3.1.3-9]. */
		if (old->proto == 5 && old->will_delay != 0 && !clean)
			old->send_will = false;
		mq__conn_close(old, SHM_SHUT_TAKEOVER);
		old->s = NULL;
		s->conn = NULL;
		/* Readers never see the id twice: the old record goes now. */
		if (b->col != NULL) {
			col_client_disconnected(b->col, old->col);
			old->col = COL_NONE;
		}
	}
	if (s != NULL && (clean || s->clean)) {
		mq__session_free(s); /* [MQTT-3.1.2-6] */
		s = NULL;
	}
	if (s != NULL) {
		*present = true; /* [MQTT-3.2.2-2] */
		return s;
	}
	return mq__session_new(b, id, idlen, dies);
}

/* The client's record in the segment (one per live connection). */
static void
mirror_client(mq_conn *c, const struct mq_connreq *rq)
{
	mq_broker        *b = c->b;
	struct col_client cl = {
		.client_id = c->s->id,
		.client_id_len = c->s->id_len,
		.username = c->username,
		.username_len = c->username_len,
		.peer = (const struct sockaddr *) &c->peer,
		.clean_sess = rq->clean,
		.proto_ver = rq->level,
		.keepalive = c->keepalive, /* v5: maybe the server's */
		.connected_at = time(NULL),
		.listener = c->listener,
	};

	if (b->col == NULL)
		return;
	if (c->peer.sin6_family == 0)
		cl.peer = NULL;
	c->col = col_client_connected(b->col, &cl);
}

/* The connection's v5 limits and the keepalive in force (maybe the
 * server's, *server_ka). */
static void
connect_limits(mq_conn *c, const struct mq_connreq *rq, bool *server_ka)
{
	const mq_config *cfg = c->b->cfg;

	*server_ka = false;
	c->keepalive = rq->keepalive;
	if (rq->level != 5)
		return;
	c->max_out = rq->max_packet_size;
	/* Server -> client aliases only when the client allows them
	 * [MQTT5-3.3.2-10]; none for a v3 client. */
	c->oalias_max = rq->topic_alias_max < MQ_OUT_ALIAS_MAX
	    ? rq->topic_alias_max
	    : MQ_OUT_ALIAS_MAX;
	if (cfg->max_keepalive != 0
	    && (rq->keepalive == 0 || rq->keepalive > cfg->max_keepalive)) {
		c->keepalive = cfg->max_keepalive < 65535
		    ? (uint16_t) cfg->max_keepalive
		    : 65535;
		*server_ka = true;
	}
}

/*
 * After the auth chain's verdict r on rq (Mosquitto's
 * connect__on_authorised): refuse, or attach the session of the id the
 * chain judged and send CONNACK.
 */
static enum mq_hs
connect_authorised(mq_conn *c, struct mq_connreq *rq, enum mq_auth_result r)
{
	mq_broker  *b = c->b;
	mq_session *s;
	char        p[64];
	bool        present, v5 = rq->level == 5, clamped = false, server_ka;
	uint32_t    expiry = 0;

	if (r != MQ_AUTH_ALLOW) {
		uint8_t rc = r == MQ_AUTH_NOT_AUTHORIZED
		    ? MQ_CONNACK_NOT_AUTHORIZED
		    : MQ_CONNACK_BAD_CREDENTIAL;

		mq_info("client %.*s (%s) refused: CONNACK %d",
		    (int) rq->id_len, rq->id, mq__peer_str(c, p, sizeof(p)),
		    rc);
		return mq__connect_refuse(c, rc, 0, MQ_HS_REFUSED);
	}
	if (v5) {
		/* Session Expiry replaces Clean Session (3.1.2.11.2); the
		 * server's session_expiry caps it. */
		expiry = rq->expiry;
		if (expiry > b->cfg->session_expiry) {
			expiry = b->cfg->session_expiry;
			clamped = true;
		}
	}
	s = connect_session(c, rq->id, rq->id_len, rq->clean,
	    v5 ? expiry == 0 : rq->clean, &present);
	if (s == NULL)
		return mq__connect_refuse(
		    c, MQ_CONNACK_UNAVAILABLE, 0, MQ_HS_ERROR);
	s->v5 = v5;
	s->clean = v5 ? expiry == 0 : rq->clean;
	s->expiry_s = expiry;
	s->win_max = (uint16_t) b->cfg->max_inflight;
	if (v5 && rq->receive_max != 0 && rq->receive_max < s->win_max)
		s->win_max = rq->receive_max;
	connect_limits(c, rq, &server_ka);
	mq__session_attach(s, c);
	c->will = rq->will;
	c->will_delay = rq->will_delay;
	c->send_will = c->will != NULL;
	rq->will = NULL;
	/* The will is checked against the ACL now, while the client is
	 * known; a denied will is dropped like a denied PUBLISH. */
	if (c->will != NULL
	    && !mq__acl(b, c, mq_msg_topic(c->will), c->will->topic_len, true))
		c->send_will = false;
	if (v5)
		send_connack5(c, present, rq, clamped, server_ka);
	else
		send_connack(c, present, MQ_CONNACK_ACCEPTED);
	c->state = MQ_CS_CONNECTED;
	b->nclients++;
	b->stats_dirty = true;
	mq_timer_cancel(&b->timers, &c->ka);
	if (c->keepalive)
		mq_timer_set(&b->timers, &c->ka,
		    mq_now_ms() + (uint64_t) c->keepalive * 1500);
	mirror_client(c, rq);
	mq_info(
	    "client %.*s (%s) connected: MQTT %s, clean %d, keepalive %u%s",
	    (int) s->id_len, s->id, mq__peer_str(c, p, sizeof(p)),
	    v5                   ? "5.0"
	        : rq->level == 4 ? "3.1.1"
	                         : "3.1",
	    rq->clean, c->keepalive, present ? ", session resumed" : "");
	if (present)
		mq__session_resume(s);
	return MQ_HS_OK;
}

/* ---- the phases in order ---- */

enum mq_hs
mq__on_connect(mq_conn *c, const mq_packet *pkt)
{
	const struct mq_connect *k = &pkt->u.connect;
	struct mq_connreq        rq = { 0 };
	struct mq_auth_check    *ck = NULL;
	enum mq_auth_result      r = MQ_AUTH_ALLOW;
	enum mq_hs               hs;

	hs = connect_decode(c, pkt, &rq);
	if (hs == MQ_HS_OK && c->b->plugins != NULL) {
		struct mq_auth_who w = { rq.id, rq.user,
			k->has_password ? k->password.ptr : NULL, rq.id_len,
			rq.user_len, k->password.len };

		r = mq_plugins_auth_begin(c->b->plugins, &w, &c->grant,
		    c->b->authq != NULL ? &ck : NULL);
	}
	/* No local plugin knows the client: the database plugins. */
	if (hs == MQ_HS_OK && r == MQ_AUTH_IGNORE) {
		r = mq__dbauth_begin(c, rq.id, rq.id_len,
		    k->has_password ? k->password.ptr : NULL, k->password.len);
		if (r == MQ_AUTH_IGNORE)
			r = mq_plugins_anonymous(c->b->plugins);
		else if (r == MQ_AUTH_PENDING)
			hs = connect_hold(c, &rq);
	}
	if (hs == MQ_HS_OK && r == MQ_AUTH_PENDING)
		hs = connect_park(c, &rq, ck);
	else if (hs == MQ_HS_OK)
		hs = connect_authorised(c, &rq, r);
	mq__msg_unref(rq.will); /* refused, or parked with a copy */
	return hs;
}

void
mq__connect_resume(mq_conn *c, int auth_result)
{
	struct mq_connreq *rq = c->creq;
	enum mq_hs         hs;

	c->auth = NULL;
	if (c->state != MQ_CS_AUTH || rq == NULL)
		return;
	c->creq = NULL;
	c->state = MQ_CS_NEW;
	hs = connect_authorised(c, rq, (enum mq_auth_result) auth_result);
	connreq_free(rq);
	if (hs != MQ_HS_OK) {
		mq__conn_end(c, hs);
		return;
	}
	if (c->state == MQ_CS_CLOSING) /* its CONNACK overflowed */
		return;
	mq__conn_watch(c);
	/* What the client sent behind its CONNECT. */
	mq__conn_input_buffered(c);
}
