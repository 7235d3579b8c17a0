/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cl_frame: encode and parse the frame between nodes (cl_frame.h).
 */
#include "config.h"

#include "cluster/cl_frame.h"

#include <errno.h>
#include <string.h>

static void
be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t) v;
}

static uint64_t
get64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

void
cl_frame_write(uint8_t *out, const struct cl_frame *f)
{
	out[0] = CL_FRAME_MAGIC;
	out[1] = CL_FRAME_VERSION;
	out[2] = (uint8_t) ((f->qos & 3) | (f->retain ? 4 : 0)
	    | (f->expire_wall ? 8 : 0));
	be64(out + 3, f->origin);
	be64(out + 11, f->seq);
	out[19] = (uint8_t) (f->props_len >> 24);
	out[20] = (uint8_t) (f->props_len >> 16);
	out[21] = (uint8_t) (f->props_len >> 8);
	out[22] = (uint8_t) f->props_len;
	be64(out + 23, f->expire_in_ms);
	if (f->props_len)
		memcpy(out + CL_FRAME_HDR, f->props, f->props_len);
	if (f->payload_len)
		memcpy(out + CL_FRAME_HDR + f->props_len, f->payload,
		    f->payload_len);
}

int
cl_frame_parse(struct cl_frame *f, const uint8_t *p, size_t len)
{
	uint32_t plen;

	if (len < CL_FRAME_HDR || p[0] != CL_FRAME_MAGIC
	    || p[1] != CL_FRAME_VERSION || (p[2] & ~15u) != 0
	    || (p[2] & 3) == 3)
		return -EBADMSG;
	plen = (uint32_t) p[19] << 24 | (uint32_t) p[20] << 16
	    | (uint32_t) p[21] << 8 | p[22];
	if (plen > len - CL_FRAME_HDR
	    || len - CL_FRAME_HDR - plen > UINT32_MAX)
		return -EBADMSG;
	memset(f, 0, sizeof(*f));
	f->qos = p[2] & 3;
	f->retain = (p[2] & 4) != 0;
	f->expire_wall = (p[2] & 8) != 0;
	f->origin = get64(p + 3);
	f->seq = get64(p + 11);
	f->props_len = plen;
	f->expire_in_ms = get64(p + 23);
	f->props = p + CL_FRAME_HDR;
	f->payload = p + CL_FRAME_HDR + plen;
	f->payload_len = (uint32_t) (len - CL_FRAME_HDR - plen);
	return 0;
}
