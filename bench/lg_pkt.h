/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * lg_pkt: the few MQTT 3.1.1 packets the load generator sends, encoded by
 * hand, and a frame splitter plus a PUBLISH parser for what it receives.
 *
 * Pure functions over byte buffers: no sockets, no allocation.  Encoders
 * write into a caller buffer that holds at least lg_*_size() bytes and
 * return the number of bytes written.
 */
#ifndef LG_PKT_H
#define LG_PKT_H

#include <stddef.h>
#include <stdint.h>

/* Fixed-header packet types (the high nibble of the first byte). */
enum lg_type {
	LG_CONNACK = 2,
	LG_PUBLISH = 3,
	LG_PUBACK = 4,
	LG_SUBACK = 9,
	LG_PINGRESP = 13,
};

/* A received PUBLISH; pointers alias the packet bytes. */
struct lg_publish {
	const uint8_t *topic;
	size_t         topic_len;
	const uint8_t *payload;
	size_t         payload_len;
	uint16_t       packet_id; /* 0 for QoS 0 */
	int            qos;
	int            dup;
	int            retain;
};

/* CONNECT, MQTT 3.1.1, clean session, no will, no credentials. */
size_t lg_connect_size(const char *client_id);
size_t lg_connect(uint8_t *buf, const char *client_id, uint16_t keepalive);

/* SUBSCRIBE with one filter. */
size_t lg_subscribe_size(const char *filter);
size_t lg_subscribe(
    uint8_t *buf, uint16_t packet_id, const char *filter, int qos);

/* PUBLISH; packet_id is ignored for QoS 0. */
size_t lg_publish_size(size_t topic_len, size_t payload_len);
size_t lg_publish(uint8_t *buf, const char *topic, size_t topic_len, int qos,
    uint16_t packet_id, const void *payload, size_t payload_len);

/* PUBACK: always 4 bytes. */
size_t lg_puback(uint8_t *buf, uint16_t packet_id);

/*
 * Splits one packet off the front of buf.  Returns its total length (fixed
 * header included) and sets *hdr_len to the fixed header's length; returns
 * 0 when more bytes are needed and -1 on a malformed remaining length.
 */
long lg_frame(const uint8_t *buf, size_t len, size_t *hdr_len);

/* Parses a complete PUBLISH (as split by lg_frame); 0 or -1 if malformed. */
int lg_parse_publish(
    const uint8_t *pkt, size_t hdr_len, size_t total, struct lg_publish *out);

#endif
