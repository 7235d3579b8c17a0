/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target for broker/mq_codec: decode a stream of packets, walk
 * every SUBSCRIBE / UNSUBSCRIBE filter, and re-encode what a broker would
 * send back.  Any crash, overread or UB is a codec bug.  The stream is
 * decoded as the level its first CONNECT says (3/4 or 5), and then once
 * more as level 5 from the start, so v5 properties are always exercised.
 */
#include "config.h"

#include "broker/mq_codec.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
run(const uint8_t *data, size_t size, uint8_t level)
{
	size_t off = 0;

	while (off < size) {
		mq_packet             pkt;
		size_t                used;
		enum mq_rc            rc;
		struct mq_filter_iter it;
		mq_str                f;
		uint8_t               q, out[MQ_PUBLISH_HDR_MAX + 65536];
		size_t                total;

		rc = mq_decode_v(
		    data + off, size - off, 4096, level, &pkt, &used);
		if (rc != MQ_OK)
			break;
		if (pkt.type == MQ_CONNECT && level == 0)
			level = pkt.u.connect.level;
		if (level == 5 && pkt.props.len > 4096)
			abort(); /* a view past the packet */
		if (level == 5 && pkt.type == MQ_PUBLISH) {
			uint32_t n = mq_props_forward(&pkt.props, out);

			if (n > pkt.props.len)
				abort();
			mq_encode_publish_head5(out, pkt.u.publish.topic.ptr,
			    pkt.u.publish.topic.len, pkt.u.publish.payload_len,
			    pkt.u.publish.qos, pkt.u.publish.retain, false,
			    pkt.u.publish.packet_id, true, 5,
			    pkt.props.len + 1, (uint16_t) (pkt.props.len & 3),
			    out + 8192, 0, &total);
		}
		if (pkt.type == MQ_SUBSCRIBE || pkt.type == MQ_UNSUBSCRIBE) {
			mq_filters_begin(&it, &pkt);
			while (mq_filters_next(&it, &f, &q))
				if (!mq_utf8_valid(
				        (const uint8_t *) f.ptr, f.len))
					abort();
		}
		if (pkt.type == MQ_PUBLISH)
			mq_encode_publish_head(out, pkt.u.publish.topic.ptr,
			    pkt.u.publish.topic.len, pkt.u.publish.payload_len,
			    pkt.u.publish.qos, pkt.u.publish.retain,
			    pkt.u.publish.dup, pkt.u.publish.packet_id,
			    &total);
		off += used;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	run(data, size, 0);
	run(data, size, 5);
	return 0;
}
