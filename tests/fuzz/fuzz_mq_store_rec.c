/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target for broker/mq_store_rec: the records the broker reads
 * back from its store.  Any input is opened and walked (no crash, no read
 * past it); one that is accepted whole must re-encode to the same bytes,
 * so the decoder accepts exactly what the encoder can write.  The input
 * is also sealed as a record (a valid header and checksum over the fuzzed
 * body), so the item decoder is reached past the checksum.
 */
#include "config.h"

#include "broker/mq_store_rec.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
roundtrip(const uint8_t *data, size_t size)
{
	struct mq_rec_rd   r;
	struct mq_rec_item it;
	struct mq_rec_w    w;
	int                rc;
	long               n;

	if (mq_rec_open(&r, data, size) < 0)
		return;
	mq_rec_w_init(&w);
	mq_rec_begin(&w, (enum mq_rec_type) r.type);
	while ((rc = mq_rec_next(&r, &it)) == 1)
		mq_rec_put(&w, &it);
	if (rc == 0) {
		n = mq_rec_end(&w);
		if (n < 0 || (size_t) n != size
		    || memcmp(w.p, data, size) != 0)
			abort(); /* accepted, yet not what we would write */
		if (mq_rec_check(data, size, NULL) != 0)
			abort();
	}
	mq_rec_w_fini(&w);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *rec;

	roundtrip(data, size);
	/* First byte: the type; the rest: the body, sealed. */
	if (size < 1 || (rec = malloc(MQ_REC_HDR + size)) == NULL)
		return 0;
	memset(rec, 0, MQ_REC_HDR);
	memcpy(rec, "MQR", 3);
	rec[3] = MQ_REC_VERSION;
	rec[4] = (uint8_t) (data[0] % 3 + 1); /* retained, session, message */
	memcpy(rec + MQ_REC_HDR, data + 1, size - 1);
	{
		uint32_t body = (uint32_t) (size - 1);
		uint32_t crc = mq_rec_crc32c(0, rec + MQ_REC_HDR, body);

		for (int i = 0; i < 4; i++) {
			rec[8 + i] = (uint8_t) (body >> (8 * i));
			rec[12 + i] = (uint8_t) (crc >> (8 * i));
		}
	}
	roundtrip(rec, MQ_REC_HDR + size - 1);
	free(rec);
	return 0;
}
