/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cl_frame: the payload of a message between nodes (docs/architecture.md,
 * "The cluster").  Big-endian header, then the MQTT 5.0 properties, then
 * the MQTT payload; the topic travels as the subject (cl_subject).
 *
 *   0  magic 0xC1        1  version 1        2  flags: qos (bits 0-1),
 *   3  origin boot id (8)                       retain (bit 2), expiry
 *   11 sequence number (8)                      is a wall-clock time (3)
 *   19 properties length (4)
 *   23 Message Expiry: milliseconds left, 0 none (8); with flag bit 3,
 *      the CLOCK_REALTIME millisecond it expires at (a stored retained
 *      message: read any time later)
 *   31 properties, payload
 *
 * Pure functions.  cl_frame_parse checks untrusted bytes: -EBADMSG.
 */
#ifndef CL_FRAME_H
#define CL_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CL_FRAME_MAGIC   0xC1
#define CL_FRAME_VERSION 1
#define CL_FRAME_HDR     31

struct cl_frame {
	uint64_t       origin, seq;
	uint8_t        qos;
	bool           retain;
	bool           expire_wall; /* expire_in_ms is a wall-clock time */
	uint64_t       expire_in_ms;
	const uint8_t *props;
	uint32_t       props_len;
	const uint8_t *payload;
	uint32_t       payload_len;
};

static inline size_t
cl_frame_size(const struct cl_frame *f)
{
	return CL_FRAME_HDR + (size_t) f->props_len + f->payload_len;
}

/* Writes cl_frame_size(f) bytes to out. */
void cl_frame_write(uint8_t *out, const struct cl_frame *f);

/* Fills f with views into p[0..len); 0 or -EBADMSG. */
int cl_frame_parse(struct cl_frame *f, const uint8_t *p, size_t len);

#endif
