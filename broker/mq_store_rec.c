/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mq_store_rec: encoder and bound-checked decoder of the store's records
 * (format in mq_store_rec.h).  The writer grows its buffer and keeps the
 * first error; the reader never reads past the record it was given.
 */
#include "config.h"

#include "broker/mq_store_rec.h"

#include "broker/mq_trie.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* ---- CRC-32C (Castagnoli) ----
 *
 * Every record is checked when the store is loaded (a million retained
 * messages at start), so the checksum is on the start's critical path:
 * SSE 4.2's crc32 instruction where the CPU has it (8 bytes a step), a
 * bytewise table elsewhere.  Both give the same values. */

static uint32_t crc_tab[256];
static bool     crc_hw;

static void
crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
		crc_tab[i] = c;
	}
#if defined(__x86_64__)
	__builtin_cpu_init();
	crc_hw = __builtin_cpu_supports("sse4.2");
#endif
}

static uint32_t
crc_sw(uint32_t crc, const uint8_t *b, size_t n)
{
	while (n--)
		crc = crc_tab[(crc ^ *b++) & 0xff] ^ (crc >> 8);
	return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t
crc_hw8(uint32_t crc, const uint8_t *b, size_t n)
{
	uint64_t c = crc;

	for (; n >= 8; n -= 8, b += 8) {
		uint64_t w;

		memcpy(&w, b, 8);
		c = __builtin_ia32_crc32di(c, w);
	}
	crc = (uint32_t) c;
	while (n--)
		crc = __builtin_ia32_crc32qi(crc, *b++);
	return crc;
}
#endif

uint32_t
mq_rec_crc32c(uint32_t crc, const void *p, size_t n)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, crc_init);
#if defined(__x86_64__)
	if (crc_hw)
		return ~crc_hw8(~crc, p, n);
#endif
	return ~crc_sw(~crc, p, n);
}

/* ---- writer ---- */

void
mq_rec_w_init(struct mq_rec_w *w)
{
	memset(w, 0, sizeof(*w));
}

void
mq_rec_w_fini(struct mq_rec_w *w)
{
	free(w->p);
	memset(w, 0, sizeof(*w));
}

static uint8_t *
w_room(struct mq_rec_w *w, size_t n)
{
	if (w->err)
		return NULL;
	if (n > SIZE_MAX / 4 - w->len) {
		w->err = -ENOMEM;
		return NULL;
	}
	if (w->len + n > w->cap) {
		size_t   cap = w->cap ? w->cap : 256;
		uint8_t *p;

		while (cap < w->len + n)
			cap *= 2;
		p = realloc(w->p, cap);
		if (p == NULL) {
			w->err = -ENOMEM;
			return NULL;
		}
		w->p = p;
		w->cap = cap;
	}
	w->len += n;
	return w->p + w->len - n;
}

static void
put_le(uint8_t *d, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		d[i] = (uint8_t) (v >> (8 * i));
}

static void
w_int(struct mq_rec_w *w, uint64_t v, int n)
{
	uint8_t *d = w_room(w, (size_t) n);

	if (d != NULL)
		put_le(d, v, n);
}

static void
w_bytes(struct mq_rec_w *w, const void *p, size_t n)
{
	uint8_t *d = w_room(w, n);

	if (d != NULL && n > 0)
		memcpy(d, p, n);
}

void
mq_rec_begin(struct mq_rec_w *w, enum mq_rec_type type)
{
	uint8_t *h;

	w->start = w->len;
	h = w_room(w, MQ_REC_HDR);
	if (h == NULL)
		return;
	memset(h, 0, MQ_REC_HDR);
	memcpy(h, "MQR", 3);
	h[3] = MQ_REC_VERSION;
	h[4] = (uint8_t) type;
}

static void
w_msg(struct mq_rec_w *w, const struct mq_rec_msg *m)
{
	w_int(w, m->qos, 1);
	w_int(w, m->retain, 1);
	w_int(w, m->expire_wall_ms, 8);
	w_int(w, m->topic_len, 2);
	w_bytes(w, m->topic, m->topic_len);
	w_int(w, m->payload_len, 4);
	w_bytes(w, m->payload, m->payload_len);
	w_int(w, m->props_len, 4);
	w_bytes(w, m->props, m->props_len);
}

void
mq_rec_put(struct mq_rec_w *w, const struct mq_rec_item *it)
{
	w_int(w, it->tag, 1);
	switch (it->tag) {
	case MQ_REC_T_MSG:
		w_msg(w, &it->msg);
		break;
	case MQ_REC_T_SESS:
		w_int(w, it->v5, 1);
		w_int(w, it->expiry_s, 4);
		w_int(w, it->deadline_wall_ms, 8);
		w_int(w, (uint64_t) it->created_at, 8);
		w_int(w, it->next_pid, 2);
		w_int(w, it->id_len, 2);
		w_bytes(w, it->id, it->id_len);
		break;
	case MQ_REC_T_SUB:
		w_int(w, it->qos, 1);
		w_int(w, it->opts, 1);
		w_int(w, it->sub_id, 4);
		w_int(w, it->filter_len, 2);
		w_bytes(w, it->filter, it->filter_len);
		break;
	case MQ_REC_T_INFLIGHT:
		w_int(w, it->pid, 2);
		w_int(w, it->state, 1);
		w_int(w, it->qos, 1);
		w_int(w, it->sub_id, 4);
		w_int(w, it->has_msg, 1);
		if (it->has_msg)
			w_msg(w, &it->msg);
		break;
	case MQ_REC_T_QUEUED:
		w_int(w, it->qos, 1);
		w_int(w, it->sub_id, 4);
		w_msg(w, &it->msg);
		break;
	case MQ_REC_T_AWREL:
		w_int(w, it->pid, 2);
		w_msg(w, &it->msg);
		break;
	case MQ_REC_T_WILL:
		w_int(w, it->will_at_wall_ms, 8);
		w_msg(w, &it->msg);
		break;
	case MQ_REC_T_WINDOW:
		w_int(w, it->pid, 2);
		w_int(w, it->state, 1);
		w_int(w, it->qos, 1);
		w_int(w, it->sub_id, 4);
		w_int(w, it->seq, 8);
		break;
	case MQ_REC_T_QMSG:
		w_int(w, it->id_len, 2);
		w_bytes(w, it->id, it->id_len);
		w_int(w, it->seq, 8);
		w_int(w, it->qos, 1);
		w_int(w, it->sub_id, 4);
		w_msg(w, &it->msg);
		break;
	default:
		if (!w->err)
			w->err = -EINVAL;
	}
}

long
mq_rec_end(struct mq_rec_w *w)
{
	size_t   body;
	uint8_t *h;

	if (w->err)
		return w->err;
	body = w->len - w->start - MQ_REC_HDR;
	if (body > UINT32_MAX)
		return -EINVAL;
	h = w->p + w->start;
	put_le(h + 8, body, 4);
	put_le(h + 12, mq_rec_crc32c(0, h + MQ_REC_HDR, body), 4);
	return (long) (w->len - w->start);
}

/* ---- reader ---- */

static uint64_t
get_le(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

int
mq_rec_open(struct mq_rec_rd *r, const void *buf, size_t len)
{
	const uint8_t *h = buf;
	uint64_t       body;

	memset(r, 0, sizeof(*r));
	if (len < MQ_REC_HDR || memcmp(h, "MQR", 3) != 0)
		return -EBADMSG;
	if (h[3] > MQ_REC_VERSION)
		return -EPROTO;
	if (h[3] == 0 || h[5] || h[6] || h[7]
	    || (h[4] != MQ_REC_RETAINED && h[4] != MQ_REC_SESSION
	        && h[4] != MQ_REC_MESSAGE))
		return -EBADMSG;
	body = get_le(h + 8, 4);
	if (body != len - MQ_REC_HDR
	    || mq_rec_crc32c(0, h + MQ_REC_HDR, body) != get_le(h + 12, 4))
		return -EBADMSG;
	r->p = h + MQ_REC_HDR;
	r->len = body;
	r->type = h[4];
	return 0;
}

/* Reads n bytes little endian; false past the end. */
static bool
r_int(struct mq_rec_rd *r, uint64_t *v, int n)
{
	if (r->len - r->off < (size_t) n)
		return false;
	*v = get_le(r->p + r->off, n);
	r->off += (size_t) n;
	return true;
}

static bool
r_u8(struct mq_rec_rd *r, uint8_t *v)
{
	uint64_t x;

	if (!r_int(r, &x, 1))
		return false;
	*v = (uint8_t) x;
	return true;
}

static bool
r_bool(struct mq_rec_rd *r, bool *v)
{
	uint8_t x;

	if (!r_u8(r, &x) || x > 1)
		return false;
	*v = x;
	return true;
}

static bool
r_u16(struct mq_rec_rd *r, uint16_t *v)
{
	uint64_t x;

	if (!r_int(r, &x, 2))
		return false;
	*v = (uint16_t) x;
	return true;
}

static bool
r_u32(struct mq_rec_rd *r, uint32_t *v)
{
	uint64_t x;

	if (!r_int(r, &x, 4))
		return false;
	*v = (uint32_t) x;
	return true;
}

static bool
r_view(struct mq_rec_rd *r, const void **p, size_t n)
{
	if (r->len - r->off < n)
		return false;
	*p = r->p + r->off;
	r->off += n;
	return true;
}

static bool
r_msg(struct mq_rec_rd *r, struct mq_rec_msg *m)
{
	const void *t, *pl, *pr;

	if (!r_u8(r, &m->qos) || m->qos > 2 || !r_bool(r, &m->retain)
	    || !r_int(r, &m->expire_wall_ms, 8) || !r_u16(r, &m->topic_len)
	    || !r_view(r, &t, m->topic_len) || !r_u32(r, &m->payload_len)
	    || !r_view(r, &pl, m->payload_len) || !r_u32(r, &m->props_len)
	    || !r_view(r, &pr, m->props_len))
		return false;
	m->topic = t;
	m->payload = pl;
	m->props = pr;
	/* A message the broker accepted had a valid topic name. */
	return mq_topic_name_valid(m->topic, m->topic_len);
}

static bool
r_item(struct mq_rec_rd *r, struct mq_rec_item *it)
{
	const void *v;
	uint64_t    x;
	size_t      off;

	switch (it->tag) {
	case MQ_REC_T_MSG:
		return r_msg(r, &it->msg);
	case MQ_REC_T_SESS:
		if (!r_bool(r, &it->v5) || !r_u32(r, &it->expiry_s)
		    || !r_int(r, &it->deadline_wall_ms, 8) || !r_int(r, &x, 8)
		    || !r_u16(r, &it->next_pid) || it->next_pid == 0
		    || !r_u16(r, &it->id_len) || it->id_len == 0
		    || !r_view(r, &v, it->id_len))
			return false;
		it->created_at = (int64_t) x;
		it->id = v;
		return true;
	case MQ_REC_T_SUB:
		if (!r_u8(r, &it->qos) || it->qos > 2 || !r_u8(r, &it->opts)
		    || !r_u32(r, &it->sub_id) || !r_u16(r, &it->filter_len)
		    || !r_view(r, &v, it->filter_len))
			return false;
		it->filter = v;
		return mq_topic_share(it->filter, it->filter_len, &off) >= 0;
	case MQ_REC_T_INFLIGHT:
		if (!r_u16(r, &it->pid) || it->pid == 0 || !r_u8(r, &it->state)
		    || it->state < 1 || it->state > 3 || !r_u8(r, &it->qos)
		    || it->qos < 1 || it->qos > 2 || !r_u32(r, &it->sub_id)
		    || !r_bool(r, &it->has_msg))
			return false;
		/* PUBCOMP keeps only the id [MQTT-4.3.3-1]; the others the
		 * message to resend. */
		if (it->has_msg != (it->state != 3))
			return false;
		return !it->has_msg || r_msg(r, &it->msg);
	case MQ_REC_T_QUEUED:
		return r_u8(r, &it->qos) && it->qos <= 2
		    && r_u32(r, &it->sub_id) && r_msg(r, &it->msg);
	case MQ_REC_T_AWREL:
		return r_u16(r, &it->pid) && it->pid != 0
		    && r_msg(r, &it->msg);
	case MQ_REC_T_WILL:
		return r_int(r, &it->will_at_wall_ms, 8) && r_msg(r, &it->msg);
	case MQ_REC_T_WINDOW:
		if (!r_u16(r, &it->pid) || it->pid == 0 || !r_u8(r, &it->state)
		    || it->state < 1 || it->state > 3 || !r_u8(r, &it->qos)
		    || it->qos < 1 || it->qos > 2 || !r_u32(r, &it->sub_id)
		    || !r_int(r, &it->seq, 8))
			return false;
		/* PUBCOMP keeps only the id; the others name their message. */
		return (it->seq == 0) == (it->state == 3);
	case MQ_REC_T_QMSG:
		if (!r_u16(r, &it->id_len) || it->id_len == 0
		    || !r_view(r, &v, it->id_len) || !r_int(r, &it->seq, 8)
		    || it->seq == 0 || !r_u8(r, &it->qos) || it->qos > 2
		    || !r_u32(r, &it->sub_id))
			return false;
		it->id = v;
		return r_msg(r, &it->msg);
	default:
		return false;
	}
}

int
mq_rec_next(struct mq_rec_rd *r, struct mq_rec_item *it)
{
	bool first = r->off == 0;

	memset(it, 0, sizeof(*it));
	if (r->off == r->len)
		return first ? -EBADMSG : 0; /* no record is empty */
	if (!r_u8(r, &it->tag) || !r_item(r, it))
		return -EBADMSG;
	/* A retained record is one MSG, a message record one QMSG; a
	 * session starts with SESS, once. */
	if (r->type == MQ_REC_RETAINED)
		return it->tag == MQ_REC_T_MSG && r->off == r->len ? 1
		                                                   : -EBADMSG;
	if (r->type == MQ_REC_MESSAGE)
		return it->tag == MQ_REC_T_QMSG && r->off == r->len ? 1
		                                                    : -EBADMSG;
	if (first != (it->tag == MQ_REC_T_SESS) || it->tag == MQ_REC_T_MSG
	    || it->tag == MQ_REC_T_QMSG)
		return -EBADMSG;
	return 1;
}

int
mq_rec_check(const void *buf, size_t len, uint8_t *type)
{
	struct mq_rec_rd   r;
	struct mq_rec_item it;
	int                rc = mq_rec_open(&r, buf, len);

	if (rc < 0)
		return rc;
	if (type != NULL)
		*type = r.type;
	while ((rc = mq_rec_next(&r, &it)) > 0)
		;
	return rc;
}
