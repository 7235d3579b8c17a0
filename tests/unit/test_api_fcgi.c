/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests for fcgi/api_fcgi: FastCGI records as nginx sends them, in
 * any split, the malformed ones, and the answer's records. */
#include "config.h"

#include "fcgi/api_fcgi.h"
#include "tests/harness/t.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

struct buf {
	uint8_t b[8192];
	size_t  n;
};

static void
record(struct buf *o, int type, int id, const void *p, size_t len, size_t pad)
{
	uint8_t h[8] = { 1, (uint8_t) type, (uint8_t) (id >> 8), (uint8_t) id,
		(uint8_t) (len >> 8), (uint8_t) len, (uint8_t) pad, 0 };

	memcpy(o->b + o->n, h, 8);
	memcpy(o->b + o->n + 8, p, len);
	memset(o->b + o->n + 8 + len, 0xee, pad);
	o->n += 8 + len + pad;
}

/* One name-value pair, with 4-byte lengths when long4. */
static size_t
pair(uint8_t *d, const char *n, const char *v, bool long4)
{
	size_t nl = strlen(n), vl = strlen(v), k = 0;

	if (long4) {
		d[k++] = (uint8_t) (0x80 | nl >> 24),
		d[k++] = (uint8_t) (nl >> 16);
		d[k++] = (uint8_t) (nl >> 8), d[k++] = (uint8_t) nl;
	} else {
		d[k++] = (uint8_t) nl;
	}
	if (vl > 127) {
		d[k++] = (uint8_t) (0x80 | vl >> 24),
		d[k++] = (uint8_t) (vl >> 16);
		d[k++] = (uint8_t) (vl >> 8), d[k++] = (uint8_t) vl;
	} else {
		d[k++] = (uint8_t) vl;
	}
	memcpy(d + k, n, nl);
	memcpy(d + k + nl, v, vl);
	return k + nl + vl;
}

/* A request as nginx sends it: BEGIN (keep-conn), PARAMS in two records
 * (a pair split across them), the empty PARAMS, STDIN, the empty STDIN. */
static void
nginx_request(struct buf *o, int id, const char *body)
{
	static const uint8_t begin[8] = { 0, 1, 1 };
	uint8_t              p[1024];
	char                 big[300];
	size_t               n = 0;

	memset(big, 'q', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	n += pair(p + n, "REQUEST_METHOD", "POST", false);
	n += pair(p + n, "REQUEST_URI", "/api/v2/users", true);
	n += pair(p + n, "QUERY_STRING", big, false);
	n += pair(p + n, "EMPTY", "", false);
	o->n = 0;
	record(o, 1, id, begin, 8, 0);
	record(o, 4, id, p, 10, 3);
	record(o, 4, id, p + 10, n - 10, 0);
	record(o, 4, id, "", 0, 0);
	record(o, 5, id, body, strlen(body), 5);
	record(o, 5, id, "", 0, 0);
}

static void
check_request(const struct api_fcgi_req *r, int id, const char *body)
{
	const char *q = api_fcgi_param(r, "QUERY_STRING");

	T_EQ(r->id, id);
	T_ASSERT(r->keep_conn);
	T_STREQ(api_fcgi_param(r, "REQUEST_METHOD"), "POST");
	T_STREQ(api_fcgi_param(r, "REQUEST_URI"), "/api/v2/users");
	T_STREQ(api_fcgi_param(r, "EMPTY"), "");
	T_ASSERT(q != NULL && strlen(q) == 299 && q[298] == 'q');
	T_ASSERT(api_fcgi_param(r, "HTTP_AUTHORIZATION") == NULL);
	T_EQ(r->body_len, strlen(body));
	T_ASSERT(memcmp(r->body, body, r->body_len) == 0);
}

T_TEST(every_split)
{
	struct buf          o;
	struct api_fcgi_req r;

	nginx_request(&o, 7, "{\"username\":\"a\"}");
	api_fcgi_init(&r);
	/* in one piece */
	T_EQ(api_fcgi_parse(&r, o.b, o.n), (long) o.n);
	check_request(&r, 7, "{\"username\":\"a\"}");
	/* cut in two at every byte, and byte by byte */
	for (size_t cut = 0; cut <= o.n; cut++) {
		api_fcgi_reset(&r);
		T_EQ(
		    api_fcgi_parse(&r, o.b, cut), cut == o.n ? (long) o.n : 0);
		if (cut < o.n)
			T_EQ(api_fcgi_parse(&r, o.b + cut, o.n - cut),
			    (long) (o.n - cut));
		check_request(&r, 7, "{\"username\":\"a\"}");
	}
	api_fcgi_reset(&r);
	for (size_t i = 0; i < o.n; i++)
		T_EQ(api_fcgi_parse(&r, o.b + i, 1), i + 1 == o.n ? 1 : 0);
	check_request(&r, 7, "{\"username\":\"a\"}");
	/* a management record (id 0) before the request is skipped */
	{
		struct buf m = { .n = 0 };

		record(&m, 9, 0, "\x01\x00x", 3, 1);
		memcpy(m.b + m.n, o.b, o.n);
		api_fcgi_reset(&r);
		T_EQ(api_fcgi_parse(&r, m.b, m.n + o.n), (long) (m.n + o.n));
		check_request(&r, 7, "{\"username\":\"a\"}");
	}
	api_fcgi_free(&r);
}

/* What nginx never sends is refused, never half-read. */
T_TEST(malformed)
{
	static const uint8_t begin[8] = { 0, 1, 1 }, auth[8] = { 0, 2 };
	struct api_fcgi_req  r;
	struct buf           o;
	uint8_t              p[64];
	size_t               n;

	api_fcgi_init(&r);
	/* version 2 */
	nginx_request(&o, 1, "");
	o.b[0] = 2;
	T_EQ(api_fcgi_parse(&r, o.b, o.n), -EPROTO);
	/* PARAMS before BEGIN */
	api_fcgi_reset(&r);
	o.n = 0;
	record(&o, 4, 1, "", 0, 0);
	T_EQ(api_fcgi_parse(&r, o.b, o.n), -EPROTO);
	/* a role other than responder */
	api_fcgi_reset(&r);
	o.n = 0;
	record(&o, 1, 1, auth, 8, 0);
	T_EQ(api_fcgi_parse(&r, o.b, o.n), -EPROTO);
	/* another request id on the same connection */
	api_fcgi_reset(&r);
	o.n = 0;
	record(&o, 1, 1, begin, 8, 0);
	record(&o, 4, 2, "", 0, 0);
	T_EQ(api_fcgi_parse(&r, o.b, o.n), -EPROTO);
	/* STDIN before the PARAMS stream ended */
	api_fcgi_reset(&r);
	o.n = 0;
	record(&o, 1, 1, begin, 8, 0);
	record(&o, 5, 1, "x", 1, 0);
	T_EQ(api_fcgi_parse(&r, o.b, o.n), -EPROTO);
	/* a pair whose value runs past the stream */
	api_fcgi_reset(&r);
	o.n = 0;
	n = pair(p, "A", "bcd", false);
	p[1] = 40;
	record(&o, 1, 1, begin, 8, 0);
	record(&o, 4, 1, p, n, 0);
	record(&o, 4, 1, "", 0, 0);
	T_EQ(api_fcgi_parse(&r, o.b, o.n), -EPROTO);
	/* a NUL inside a value */
	api_fcgi_reset(&r);
	o.n = 0;
	n = pair(p, "A", "bcd", false);
	p[n - 2] = '\0';
	record(&o, 1, 1, begin, 8, 0);
	record(&o, 4, 1, p, n, 0);
	record(&o, 4, 1, "", 0, 0);
	T_EQ(api_fcgi_parse(&r, o.b, o.n), -EPROTO);
	/* ABORT_REQUEST */
	api_fcgi_reset(&r);
	o.n = 0;
	record(&o, 1, 1, begin, 8, 0);
	record(&o, 2, 1, "", 0, 0);
	T_EQ(api_fcgi_parse(&r, o.b, o.n), -EPROTO);
	api_fcgi_free(&r);
}

T_TEST(limits)
{
	static const uint8_t begin[8] = { 0, 1, 0 };
	static uint8_t       chunk[65535];
	struct api_fcgi_req  r;
	struct buf           o;
	long                 rc = 0;

	api_fcgi_init(&r);
	o.n = 0;
	record(&o, 1, 1, begin, 8, 0);
	record(&o, 4, 1, "", 0, 0);
	T_EQ(api_fcgi_parse(&r, o.b, o.n), 0);
	/* 17 full STDIN records: past 1 MiB */
	for (int i = 0; i < 17 && rc == 0; i++) {
		uint8_t h[8] = { 1, 5, 0, 1, 0xff, 0xff, 0, 0 };

		rc = api_fcgi_parse(&r, h, 8);
		if (rc == 0)
			rc = api_fcgi_parse(&r, chunk, sizeof(chunk));
	}
	T_EQ(rc, -EMSGSIZE);
	T_ASSERT(!r.keep_conn);
	api_fcgi_free(&r);
}

/* read and answer over a socket pair, as a worker does */
T_TEST(read_and_answer)
{
	struct api_fcgi_req r;
	struct buf          o;
	static char         body[70000], got[80000];
	size_t              n = 0;
	int                 sv[2];
	ssize_t             k;

	T_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	nginx_request(&o, 300, "x");
	T_EQ(write(sv[0], o.b, o.n), (ssize_t) o.n);
	api_fcgi_init(&r);
	T_EQ(api_fcgi_read(sv[1], &r), 0);
	check_request(&r, 300, "x");
	memset(body, 'b', sizeof(body));
	T_EQ(api_fcgi_answer(
	         sv[1], &r, "Status: 200\r\n\r\n", 15, body, sizeof(body)),
	    0);
	shutdown(sv[1], SHUT_WR);
	while ((k = read(sv[0], got + n, sizeof(got) - n)) > 0)
		n += (size_t) k;
	/* STDOUT 65535, STDOUT rest, empty STDOUT, END_REQUEST */
	T_EQ(n, 8 + 65535 + 8 + (15 + sizeof(body) - 65535) + 8 + 16);
	T_EQ((uint8_t) got[1], 6);
	T_EQ((uint8_t) got[2] << 8 | (uint8_t) got[3], 300);
	T_ASSERT(memcmp(got + 8, "Status: 200\r\n\r\nbbb", 18) == 0);
	T_EQ((uint8_t) got[n - 16 + 1], 3); /* END_REQUEST */
	T_EQ((uint8_t) got[n - 24 + 5], 0); /* the empty STDOUT */
	/* bytes past the request: not FastCGI as nginx sends it */
	nginx_request(&o, 1, "");
	T_EQ(write(sv[0], o.b, o.n), (ssize_t) o.n);
	T_EQ(write(sv[0], "junk", 4), 4);
	usleep(10000);
	T_EQ(api_fcgi_read(sv[1], &r), -EPROTO);
	/* EOF between requests */
	close(sv[0]);
	T_EQ(api_fcgi_read(sv[1], &r), -ECONNRESET);
	close(sv[1]);
	api_fcgi_free(&r);
}

static const struct t_case cases[] = {
	T_ENTRY(every_split),
	T_ENTRY(malformed),
	T_ENTRY(limits),
	T_ENTRY(read_and_answer),
};

T_MAIN(cases)
