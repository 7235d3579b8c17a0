/*
 * mq_codec: MQTT 3.1 / 3.1.1 wire format, server side.  Pure: bytes in,
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
};

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

struct mq_connect {
	uint8_t  level; /* 3 (MQIsdp) or 4 (MQTT) */
	bool     clean_session;
	bool     will, will_retain;
	uint8_t  will_qos;
	bool     has_username, has_password;
	uint16_t keepalive;
	mq_str   client_id;
	mq_str   will_topic;
	mq_str   will_payload; /* binary */
	mq_str   username;
	mq_str   password; /* binary */
};

struct mq_publish {
	mq_str         topic; /* valid topic name: no wildcards, not empty */
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

/* Iterates SUBSCRIBE (with_qos) or UNSUBSCRIBE filters of a decoded packet. */
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

#endif
