/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mq_codec: MQTT 3.1 / 3.1.1 / 5.0 wire format, server side.  Pure: bytes in,
 * packet (or "need more bytes") out; no socket calls, no allocation.
 *
 * mq_decode() validates every normative statement of MQTT 3.1.1 that a
 * server can check on one packet (reserved flags, remaining length, UTF-8
 * rules of section 1.5.3, CONNECT flag rules, non-zero packet ids, ...).
 * The decoded packet points into the caller's buffer: it is valid only as
 * long as those bytes are.  Rules that need broker state (first packet
 * must be CONNECT, client id policy, topic filter wildcards -> SUBACK
 * 0x80) are the broker's.
 *
 * MQTT 5.0 (protocol level 5): mq_decode_v() with level 5 also reads
 * each packet's properties (struct mq_props: every property is checked
 * against the table of MQTT 5.0 section 2.2.2.2 for the packet, for
 * duplicates and for its value range; anything else is MQ_EMALFORMED,
 * which a v5 connection answers with DISCONNECT 0x81).  Level 3/4
 * decoding never touches pkt->props.
 *
 * The encoders write server -> client packets into a caller buffer and
 * return the number of bytes written (buffers sized by the MQ_*_MAX
 * constants below always suffice).
 */
#ifndef MQ_CODEC_H
#define MQ_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Decoder outcomes: a protocol namespace, never mixed with errno. */
enum mq_rc {
	MQ_OK = 0,
	MQ_AGAIN,      /* not a whole packet yet: read more bytes */
	MQ_EMALFORMED, /* protocol violation: close the connection */
	MQ_ETOOBIG,    /* remaining length over the configured maximum */
	MQ_EVERSION,   /* CONNECT with a known name but unknown level:
	                  answer CONNACK 1, then close [MQTT-3.1.2-2] */
};

enum mq_type {
	MQ_CONNECT = 1,
	MQ_CONNACK = 2,
	MQ_PUBLISH = 3,
	MQ_PUBACK = 4,
	MQ_PUBREC = 5,
	MQ_PUBREL = 6,
	MQ_PUBCOMP = 7,
	MQ_SUBSCRIBE = 8,
	MQ_SUBACK = 9,
	MQ_UNSUBSCRIBE = 10,
	MQ_UNSUBACK = 11,
	MQ_PINGREQ = 12,
	MQ_PINGRESP = 13,
	MQ_DISCONNECT = 14,
	MQ_AUTH = 15, /* MQTT 5.0 only */
};

/* MQTT 5.0 property identifiers (section 2.2.2.2). */
enum mq_prop {
	MQ_P_PAYLOAD_FORMAT = 0x01,
	MQ_P_MESSAGE_EXPIRY = 0x02,
	MQ_P_CONTENT_TYPE = 0x03,
	MQ_P_RESPONSE_TOPIC = 0x08,
	MQ_P_CORRELATION_DATA = 0x09,
	MQ_P_SUBSCRIPTION_ID = 0x0b,
	MQ_P_SESSION_EXPIRY = 0x11,
	MQ_P_ASSIGNED_CLIENT_ID = 0x12,
	MQ_P_SERVER_KEEP_ALIVE = 0x13,
	MQ_P_AUTH_METHOD = 0x15,
	MQ_P_AUTH_DATA = 0x16,
	MQ_P_REQUEST_PROBLEM = 0x17,
	MQ_P_WILL_DELAY = 0x18,
	MQ_P_REQUEST_RESPONSE = 0x19,
	MQ_P_RESPONSE_INFO = 0x1a,
	MQ_P_SERVER_REFERENCE = 0x1c,
	MQ_P_REASON_STRING = 0x1f,
	MQ_P_RECEIVE_MAXIMUM = 0x21,
	MQ_P_TOPIC_ALIAS_MAXIMUM = 0x22,
	MQ_P_TOPIC_ALIAS = 0x23,
	MQ_P_MAXIMUM_QOS = 0x24,
	MQ_P_RETAIN_AVAILABLE = 0x25,
	MQ_P_USER_PROPERTY = 0x26,
	MQ_P_MAXIMUM_PACKET_SIZE = 0x27,
	MQ_P_WILDCARD_AVAILABLE = 0x28,
	MQ_P_SUBSCRIPTION_ID_AVAILABLE = 0x29,
	MQ_P_SHARED_AVAILABLE = 0x2a,
};

/* MQTT 5.0 reason codes the server uses. */
enum mq_reason {
	MQ_RC_SUCCESS = 0x00,
	MQ_RC_NO_MATCHING_SUBSCRIBERS = 0x10,
	MQ_RC_NO_SUBSCRIPTION_EXISTED = 0x11,
	MQ_RC_UNSPECIFIED = 0x80,
	MQ_RC_MALFORMED = 0x81,
	MQ_RC_PROTOCOL_ERROR = 0x82,
	MQ_RC_IMPLEMENTATION_SPECIFIC = 0x83,
	MQ_RC_CLIENT_ID_NOT_VALID = 0x85,
	MQ_RC_BAD_USER_OR_PASSWORD = 0x86,
	MQ_RC_NOT_AUTHORIZED = 0x87,
	MQ_RC_SERVER_UNAVAILABLE = 0x88,
	MQ_RC_SERVER_BUSY = 0x89,
	MQ_RC_SERVER_SHUTTING_DOWN = 0x8b,
	MQ_RC_BAD_AUTH_METHOD = 0x8c,
	MQ_RC_KEEP_ALIVE_TIMEOUT = 0x8d,
	MQ_RC_SESSION_TAKEN_OVER = 0x8e,
	MQ_RC_TOPIC_FILTER_INVALID = 0x8f,
	MQ_RC_PACKET_ID_NOT_FOUND = 0x92,
	MQ_RC_RECEIVE_MAXIMUM_EXCEEDED = 0x93,
	MQ_RC_TOPIC_ALIAS_INVALID = 0x94,
	MQ_RC_PACKET_TOO_LARGE = 0x95,
	MQ_RC_QUOTA_EXCEEDED = 0x97,
	MQ_RC_ADMINISTRATIVE_ACTION = 0x98,
	MQ_RC_RETAIN_NOT_SUPPORTED = 0x9a,
	MQ_RC_SHARED_NOT_SUPPORTED = 0x9e,
	MQ_RC_SUBSCRIPTION_ID_NOT_SUPPORTED = 0xa1,
	MQ_RC_WILDCARD_NOT_SUPPORTED = 0xa2,
};

/* SUBSCRIBE options byte (MQTT 5.0 3.8.3.1); v3 uses only the QoS. */
#define MQ_SUBOPT_QOS(o)   ((o) &0x03)
#define MQ_SUBOPT_NO_LOCAL 0x04
#define MQ_SUBOPT_RAP      0x08                /* Retain As Published */
#define MQ_SUBOPT_RH(o)    (((o) >> 4) & 0x03) /* Retain Handling */

/* CONNACK return codes (wire level). */
enum mq_connack {
	MQ_CONNACK_ACCEPTED = 0,
	MQ_CONNACK_BAD_VERSION = 1,
	MQ_CONNACK_BAD_CLIENT_ID = 2,
	MQ_CONNACK_UNAVAILABLE = 3,
	MQ_CONNACK_BAD_CREDENTIAL = 4,
	MQ_CONNACK_NOT_AUTHORIZED = 5,
};

/* A length-counted view into the input; not NUL-terminated. */
typedef struct mq_str {
	const char *ptr;
	uint16_t    len;
} mq_str;

/*
 * MQTT 5.0 properties of one packet (or of a will).  `has` has bit N set
 * when property N was present; raw/len are the property bytes (without
 * the length), for forwarding.  Views into the input, like mq_str.
 */
struct mq_props {
	const uint8_t *raw;
	uint32_t       len;
	uint64_t       has;
	uint32_t       session_expiry, message_expiry, will_delay;
	uint32_t       max_packet_size, subscription_id;
	uint16_t       receive_max, topic_alias_max, topic_alias;
	uint8_t        payload_format;
	mq_str         auth_method;
};

static inline bool
mq_props_has(const struct mq_props *p, enum mq_prop id)
{
	return (p->has >> id) & 1;
}

struct mq_connect {
	uint8_t         level; /* 3 (MQIsdp), 4 (MQTT) or 5 (MQTT 5.0) */
	bool            clean_session;
	bool            will, will_retain;
	uint8_t         will_qos;
	bool            has_username, has_password;
	uint16_t        keepalive;
	mq_str          client_id;
	mq_str          will_topic;
	mq_str          will_payload; /* binary */
	mq_str          username;
	mq_str          password;   /* binary */
	struct mq_props will_props; /* level 5; CONNECT's own in pkt->props */
};

struct mq_publish {
	/* Valid topic name: no wildcards; empty only in v5 with a Topic
	 * Alias (the broker resolves it). */
	mq_str         topic;
	uint16_t       packet_id; /* 0 for QoS 0 */
	uint8_t        qos;
	bool           dup, retain;
	const uint8_t *payload;
	uint32_t       payload_len;
};

/*
 * SUBSCRIBE / UNSUBSCRIBE payloads; walk them with mq_filters_next().
 * Each filter is valid UTF-8 (its wildcard placement is NOT checked here:
 * an invalid filter earns SUBACK 0x80, not a disconnect).
 */
struct mq_filters {
	uint16_t       packet_id;
	uint16_t       count;
	const uint8_t *p; /* the payload */
	uint32_t       len;
};

typedef struct mq_packet {
	uint8_t  type; /* enum mq_type */
	uint8_t  flags;
	uint32_t size; /* whole packet on the wire */
	union {
		struct mq_connect connect;
		struct mq_publish publish;
		uint16_t packet_id; /* PUBACK, PUBREC, PUBREL, PUBCOMP */
		struct mq_filters filters; /* SUBSCRIBE, UNSUBSCRIBE */
	} u;
	/* Level 5 only: acks, DISCONNECT, AUTH reason code (0 when
	 * absent) and every packet's properties. */
	uint8_t         reason;
	struct mq_props props;
} mq_packet;

struct mq_filter_iter {
	const uint8_t *p, *end;
	bool           with_qos;
};

/*
 * Decodes one packet from buf[0..len).  On MQ_OK (and MQ_EVERSION) *used
 * is the packet's size.  max_size bounds the whole packet: it is checked
 * as soon as the fixed header is complete, before the caller buffers the
 * body.  On MQ_AGAIN, *used may hold the total size when already known
 * (0 otherwise) so the caller can size its buffer.
 */
enum mq_rc mq_decode(const uint8_t *buf, size_t len, uint32_t max_size,
    mq_packet *pkt, size_t *used);
/*
 * The same for a connection whose CONNECT had protocol `level` (0 before
 * CONNECT: only the CONNECT itself says; 3 and 4 decode as mq_decode;
 * 5 reads MQTT 5.0 packets).  mq_decode() is mq_decode_v(..., 0, ...).
 */
enum mq_rc mq_decode_v(const uint8_t *buf, size_t len, uint32_t max_size,
    uint8_t level, mq_packet *pkt, size_t *used);

/*
 * Iterates SUBSCRIBE (with_qos) or UNSUBSCRIBE filters of a decoded
 * packet; for SUBSCRIBE *qos is the whole options byte (v3: the QoS).
 */
void mq_filters_begin(struct mq_filter_iter *it, const mq_packet *pkt);
bool mq_filters_next(struct mq_filter_iter *it, mq_str *filter, uint8_t *qos);

/* UTF-8 of MQTT-1.5.3: well formed, no U+0000, no surrogates. */
bool mq_utf8_valid(const uint8_t *s, size_t len);

/* Encoders; each returns the bytes written. */
#define MQ_ACK_SIZE 4
size_t mq_encode_connack(
    uint8_t out[MQ_ACK_SIZE], bool session_present, uint8_t rc);
/* PUBACK, PUBREC, PUBREL (flags 0x2 added), PUBCOMP, UNSUBACK. */
size_t mq_encode_ack(
    uint8_t out[MQ_ACK_SIZE], enum mq_type type, uint16_t packet_id);
size_t mq_encode_pingresp(uint8_t out[2]);

/* SUBACK for n codes: needs 5 + 2 + n bytes. */
size_t mq_encode_suback(
    uint8_t *out, uint16_t packet_id, const uint8_t *codes, size_t n);

/*
 * The PUBLISH header up to and including the packet id (so the caller can
 * write the topic and payload without copying them twice):
 *   fixed header, remaining length, topic length + topic, [packet id].
 * MQ_PUBLISH_HDR_MAX bytes plus the topic length always suffice.
 * Returns the header size, and *total the whole packet size.
 */
#define MQ_PUBLISH_HDR_MAX (1 + 4 + 2 + 2)
size_t mq_encode_publish_head(uint8_t *out, const char *topic,
    uint16_t topic_len, uint32_t payload_len, uint8_t qos, bool retain,
    bool dup, uint16_t packet_id, size_t *total);

/* Remaining-length varint; returns bytes written (1..4), 0 if too big. */
size_t mq_encode_varint(uint8_t *out, uint32_t v);

/* ---- MQTT 5.0 encoders ---- */

/* One property into out; return the bytes written. */
size_t mq_prop_u8(uint8_t *out, enum mq_prop id, uint8_t v);
size_t mq_prop_u16(uint8_t *out, enum mq_prop id, uint16_t v);
size_t mq_prop_u32(uint8_t *out, enum mq_prop id, uint32_t v);
size_t mq_prop_str(uint8_t *out, enum mq_prop id, const char *s, uint16_t n);

/* CONNACK with properties: needs 6 + 4 + props_len bytes. */
size_t mq_encode_connack5(uint8_t *out, bool session_present, uint8_t rc,
    const uint8_t *props, uint32_t props_len);
/* PUBACK..PUBCOMP with a reason (reason 0: the 4-byte v3 form). */
#define MQ_ACK5_SIZE 5
size_t mq_encode_ack5(uint8_t out[MQ_ACK5_SIZE], enum mq_type type,
    uint16_t packet_id, uint8_t reason);
/* SUBACK / UNSUBACK (type) with n reason codes: 5 + 3 + n bytes. */
size_t mq_encode_suback5(uint8_t *out, enum mq_type type, uint16_t packet_id,
    const uint8_t *codes, size_t n);
/*
 * DISCONNECT with a reason code and, when why != NULL, a Reason String
 * (at most 100 bytes; then MQ_DISCONNECT5_MAX bytes suffice).  Clients
 * such as paho 1.6 read the reason code only when properties follow.
 */
#define MQ_DISCONNECT5_MAX (2 + 2 + 3 + 100)
size_t mq_encode_disconnect5(
    uint8_t *out, uint8_t reason, const char *why, uint16_t why_len);
/*
 * PUBLISH header for a v5 receiver: as mq_encode_publish_head, then the
 * properties: Topic Alias (when topic_alias != 0; topic_len may then be
 * 0), Message Expiry Interval (when has_expiry), Subscription
 * Identifier (when sub_id != 0), then
 * props[0..props_len) (already-encoded properties, forwarded as they
 * came).  MQ_PUBLISH5_HDR_MAX + topic_len + props_len bytes suffice.
 */
#define MQ_PUBLISH5_HDR_MAX (MQ_PUBLISH_HDR_MAX + 4 + 5 + 5 + 3)
size_t mq_encode_publish_head5(uint8_t *out, const char *topic,
    uint16_t topic_len, uint32_t payload_len, uint8_t qos, bool retain,
    bool dup, uint16_t packet_id, bool has_expiry, uint32_t expiry,
    uint32_t sub_id, uint16_t topic_alias, const uint8_t *props,
    uint32_t props_len, size_t *total);

/*
 * Copies p's properties into out (at most p->len bytes) leaving out those
 * that are per-hop (Topic Alias, Message Expiry Interval, Subscription
 * Identifier) or the will's own (Will Delay Interval); returns the bytes
 * written.
 */
uint32_t mq_props_forward(const struct mq_props *p, uint8_t *out);

#endif
