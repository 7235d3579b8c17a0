/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * api_fcgi: FastCGI 1.0 records (fastcgi-spec, section 3 and 5), the
 * responder role only.  The parser takes any split of the bytes (a record
 * may arrive in pieces, several records in one read), keeps the PARAMS
 * stream whole until its empty record and then decodes the name-value
 * pairs in place: a pair's two length bytes at least become its two NULs,
 * so the decoded form never outruns the encoded one.
 */
#include "config.h"

#include "fcgi/api_fcgi.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

enum {
	FCGI_VERSION_1 = 1,
	FCGI_BEGIN_REQUEST = 1,
	FCGI_END_REQUEST = 3,
	FCGI_PARAMS = 4,
	FCGI_STDIN = 5,
	FCGI_STDOUT = 6,
	FCGI_RESPONDER = 1,
	FCGI_KEEP_CONN = 1,
	FCGI_REQUEST_COMPLETE = 0,
	FCGI_HEADER_LEN = 8,
	FCGI_MAX_LENGTH = 0xffff,
};

/* Parser states. */
enum { S_HDR, S_CONTENT, S_PAD };

/* What has been seen of the request (bits of state, above S_PAD). */
#define SEEN_BEGIN  0x10u
#define SEEN_PARAMS 0x20u /* the empty PARAMS record */
#define STATE(r)    ((r)->state & 0xfu)

void
api_fcgi_init(struct api_fcgi_req *r)
{
	memset(r, 0, sizeof(*r));
}

void
api_fcgi_reset(struct api_fcgi_req *r)
{
	char  *p = r->params, *b = r->body;
	size_t pc = r->params_cap, bc = r->body_cap;

	memset(r, 0, sizeof(*r));
	r->params = p;
	r->params_cap = pc;
	r->body = b;
	r->body_cap = bc;
}

void
api_fcgi_free(struct api_fcgi_req *r)
{
	free(r->params);
	free(r->body);
	memset(r, 0, sizeof(*r));
}

/* Appends n bytes to *buf (+1 for a NUL kept after them). */
static int
append(char **buf, size_t *len, size_t *cap, const uint8_t *p, size_t n,
    size_t max)
{
	if (*len + n > max)
		return -EMSGSIZE;
	if (*len + n + 1 > *cap) {
		size_t c = *cap ? *cap : 1024;
		char  *nb;

		while (c < *len + n + 1)
			c *= 2;
		nb = realloc(*buf, c);
		if (nb == NULL)
			return -ENOMEM;
		*buf = nb;
		*cap = c;
	}
	memcpy(*buf + *len, p, n);
	*len += n;
	(*buf)[*len] = '\0';
	return 0;
}

/* A pair length at p[*i..n): 1 byte, or 4 with the high bit set. */
static int
pair_len(const uint8_t *p, size_t n, size_t *i, size_t *out)
{
	if (*i >= n)
		return -EPROTO;
	if (p[*i] < 0x80) {
		*out = p[(*i)++];
		return 0;
	}
	if (n - *i < 4)
		return -EPROTO;
	*out = ((size_t) (p[*i] & 0x7f) << 24) | ((size_t) p[*i + 1] << 16)
	    | ((size_t) p[*i + 2] << 8) | p[*i + 3];
	*i += 4;
	return 0;
}

/* The PARAMS stream -> "name\0value\0"..., in place; no NUL inside. */
static int
decode_params(struct api_fcgi_req *r)
{
	uint8_t *p = (uint8_t *) r->params;
	size_t   n = r->params_len, i = 0, o = 0;

	while (i < n) {
		size_t nl, vl;

		if (pair_len(p, n, &i, &nl) != 0
		    || pair_len(p, n, &i, &vl) != 0 || nl > n - i
		    || vl > n - i - nl || nl == 0
		    || memchr(p + i, '\0', nl + vl) != NULL)
			return -EPROTO;
		memmove(p + o, p + i, nl);
		p[o + nl] = '\0';
		memmove(p + o + nl + 1, p + i + nl, vl);
		p[o + nl + 1 + vl] = '\0';
		o += nl + vl + 2;
		i += nl + vl;
	}
	r->params_len = o;
	return 0;
}

/* A whole header has arrived: check it against what came before. */
static int
on_header(struct api_fcgi_req *r)
{
	const uint8_t *h = r->hdr;
	uint16_t       id = (uint16_t) (h[2] << 8 | h[3]);

	if (h[0] != FCGI_VERSION_1)
		return -EPROTO;
	r->type = h[1];
	r->need = (size_t) (h[4] << 8 | h[5]);
	r->pad = h[6];
	if (id == 0) { /* a management record: skipped */
		r->type = 0;
		return 0;
	}
	if (!(r->state & SEEN_BEGIN)) {
		if (r->type != FCGI_BEGIN_REQUEST || r->need != 8)
			return -EPROTO;
		r->id = id;
		return 0;
	}
	if (id != r->id)
		return -EPROTO; /* nginx never multiplexes a connection */
	if (r->type == FCGI_PARAMS && !(r->state & SEEN_PARAMS))
		return 0;
	if (r->type == FCGI_STDIN && (r->state & SEEN_PARAMS))
		return 0;
	return -EPROTO; /* a second BEGIN, ABORT, DATA, out of order */
}

/* The record's content is complete; returns 1 when the request is. */
static int
on_record(struct api_fcgi_req *r, size_t clen)
{
	switch (r->type) {
	case FCGI_BEGIN_REQUEST:
		if ((r->state & SEEN_BEGIN) || r->blen != 8)
			return -EPROTO;
		if ((r->begin[0] << 8 | r->begin[1]) != FCGI_RESPONDER)
			return -EPROTO;
		r->keep_conn = r->begin[2] & FCGI_KEEP_CONN;
		r->state |= SEEN_BEGIN;
		return 0;
	case FCGI_PARAMS:
		if (clen > 0)
			return 0;
		r->state |= SEEN_PARAMS;
		return decode_params(r);
	case FCGI_STDIN:
		return clen == 0 ? 1 : 0;
	default:
		return 0;
	}
}

/* n bytes of content of the current record. */
static int
on_content(struct api_fcgi_req *r, const uint8_t *p, size_t n)
{
	switch (r->type) {
	case FCGI_BEGIN_REQUEST:
		if (n > sizeof(r->begin) - r->blen)
			return -EPROTO;
		memcpy(r->begin + r->blen, p, n);
		r->blen += n;
		return 0;
	case FCGI_PARAMS:
		return append(&r->params, &r->params_len, &r->params_cap, p, n,
		    API_FCGI_PARAMS_MAX);
	case FCGI_STDIN:
		return append(&r->body, &r->body_len, &r->body_cap, p, n,
		    API_FCGI_BODY_MAX);
	default:
		return 0;
	}
}

/* Moves to state st, keeping the bits of what was seen. */
static void
go(struct api_fcgi_req *r, unsigned st)
{
	r->state = (r->state & ~0xfu) | st;
}

/* The current record's content is all in: on to its padding or the next
 * header.  1 if the request is complete and nothing more is to come. */
static int
content_done(struct api_fcgi_req *r)
{
	int rc = on_record(r, r->clen);

	if (rc < 0)
		return rc;
	r->complete = rc == 1;
	go(r, r->pad > 0 ? S_PAD : S_HDR);
	return r->complete && r->pad == 0;
}

long
api_fcgi_parse(struct api_fcgi_req *r, const uint8_t *buf, size_t len)
{
	size_t i = 0;
	int    rc;

	while (i < len) {
		size_t take;

		switch (STATE(r)) {
		case S_HDR:
			take = FCGI_HEADER_LEN - r->hlen;
			take = take < len - i ? take : len - i;
			memcpy(r->hdr + r->hlen, buf + i, take);
			r->hlen += take;
			i += take;
			if (r->hlen < FCGI_HEADER_LEN)
				break;
			r->hlen = 0;
			rc = on_header(r);
			if (rc < 0)
				return rc;
			r->clen = r->need;
			go(r, S_CONTENT);
			if (r->need == 0 && (rc = content_done(r)) != 0)
				return rc < 0 ? rc : (long) i;
			break;
		case S_CONTENT:
			take = r->need < len - i ? r->need : len - i;
			rc = on_content(r, buf + i, take);
			if (rc < 0)
				return rc;
			r->need -= take;
			i += take;
			if (r->need == 0 && (rc = content_done(r)) != 0)
				return rc < 0 ? rc : (long) i;
			break;
		default: /* S_PAD */
			take = r->pad < len - i ? r->pad : len - i;
			r->pad -= take;
			i += take;
			if (r->pad > 0)
				break;
			if (r->complete)
				return (long) i;
			go(r, S_HDR);
		}
	}
	return 0;
}

const char *
api_fcgi_param(const struct api_fcgi_req *r, const char *name)
{
	const char *p = r->params, *end;

	if (p == NULL || !(r->state & SEEN_PARAMS))
		return NULL;
	end = p + r->params_len;
	while (p < end) {
		const char *v = p + strlen(p) + 1;

		if (strcmp(p, name) == 0)
			return v;
		p = v + strlen(v) + 1;
	}
	return NULL;
}

int
api_fcgi_read(int fd, struct api_fcgi_req *r)
{
	uint8_t buf[16384];
	size_t  total = 0;

	api_fcgi_reset(r);
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		long    used;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		}
		if (n == 0)
			return total == 0 ? -ECONNRESET : -EPROTO;
		total += (size_t) n;
		used = api_fcgi_parse(r, buf, (size_t) n);
		if (used < 0)
			return (int) used;
		if (used > 0) /* bytes past the request: not nginx's FastCGI */
			return used == n ? 0 : -EPROTO;
	}
}

static void
record_header(uint8_t h[FCGI_HEADER_LEN], int type, uint16_t id, size_t len)
{
	h[0] = FCGI_VERSION_1;
	h[1] = (uint8_t) type;
	h[2] = (uint8_t) (id >> 8);
	h[3] = (uint8_t) id;
	h[4] = (uint8_t) (len >> 8);
	h[5] = (uint8_t) len;
	h[6] = 0; /* no padding */
	h[7] = 0;
}

/* Writes iov[0..n) whole; returns 0 or -errno. */
static int
writev_all(int fd, struct iovec *iov, int n)
{
	while (n > 0) {
		ssize_t w = writev(fd, iov, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (; n > 0 && (size_t) w >= iov->iov_len; iov++, n--)
			w -= (ssize_t) iov->iov_len;
		if (n > 0) {
			iov->iov_base = (char *) iov->iov_base + w;
			iov->iov_len -= (size_t) w;
		}
	}
	return 0;
}

/*
 * Head and body as STDOUT records of up to 64 KB, the empty record that
 * ends the stream and END_REQUEST, in as few writev calls as the records
 * take iovecs (through libfcgi's FCGX_PutStr an answer went out in one
 * write per 8 KB of its buffer: /metrics, past 8 KB, cost nginx and the
 * worker a second round).
 */
int
api_fcgi_answer(int fd, const struct api_fcgi_req *r, const char *head,
    size_t hlen, const char *body, size_t blen)
{
	enum { BATCH = 48 }; /* records per writev; 3 iovecs each at most */
	struct iovec iov[3 * BATCH + 2];
	uint8_t      hdr[BATCH + 1][FCGI_HEADER_LEN];
	uint8_t      end[16] = { 0 };
	const char  *part[2] = { head, body };
	size_t       left[2] = { hlen, blen };
	int          p = 0, rc = 0;

	record_header(end, FCGI_END_REQUEST, r->id, 8);
	end[8 + 4] = FCGI_REQUEST_COMPLETE; /* appStatus 0, then status */
	while (rc == 0) {
		int ni = 0, nh = 0;

		while (nh < BATCH && (left[0] + left[1]) > 0) {
			size_t room = FCGI_MAX_LENGTH, len = 0;

			iov[ni++]
			    = (struct iovec) { hdr[nh], FCGI_HEADER_LEN };
			while (room > 0 && p < 2) {
				size_t take = left[p] < room ? left[p] : room;

				if (take > 0)
					iov[ni++] = (struct iovec) {
						(char *) part[p], take
					};
				part[p] += take;
				left[p] -= take;
				room -= take;
				len += take;
				if (left[p] == 0)
					p++;
			}
			record_header(hdr[nh], FCGI_STDOUT, r->id, len);
			nh++;
		}
		if (left[0] + left[1] == 0) {
			record_header(hdr[nh], FCGI_STDOUT, r->id, 0);
			iov[ni++]
			    = (struct iovec) { hdr[nh], FCGI_HEADER_LEN };
			iov[ni++] = (struct iovec) { end, sizeof(end) };
			return writev_all(fd, iov, ni);
		}
		rc = writev_all(fd, iov, ni);
	}
	return rc;
}
