/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * api_fcgi: the FastCGI protocol as nginx speaks it to the workers, both
 * directions: a request read from a kept connection (BEGIN_REQUEST, the
 * PARAMS stream, the STDIN stream) and the answer written back (STDOUT
 * records, the empty one that ends the stream, END_REQUEST) in one
 * writev.  Only the responder role and one request at a time per
 * connection (nginx never multiplexes); management records (request id
 * 0) are skipped.  The parser is a pure function over bytes, fuzzed by
 * tests/fuzz/fuzz_api_fcgi.c.  Why our own and not libfcgi's:
 * docs/architecture.md, "The API workers".
 */
#ifndef API_FCGI_H
#define API_FCGI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define API_FCGI_PARAMS_MAX (64u * 1024) /* bytes of name-value pairs */
#define API_FCGI_BODY_MAX   (1u << 20)   /* nginx's client_max_body_size */

/* One request, and the parser's state while it is read.  Reuse one per
 * thread: api_fcgi_reset keeps the buffers. */
struct api_fcgi_req {
	uint16_t id;        /* the request id answers carry */
	bool     keep_conn; /* FCGI_KEEP_CONN: the connection stays open */
	char    *params;    /* "name\0value\0" pairs, after the parse */
	size_t   params_len, params_cap;
	char    *body; /* STDIN, NUL-terminated */
	size_t   body_len, body_cap;
	/* the parser's state, its own */
	unsigned state;    /* where in a record, and what was seen */
	uint8_t  hdr[8];   /* the record header being read */
	size_t   hlen;     /* bytes of hdr read */
	uint8_t  type;     /* of the current record; 0: skipped */
	size_t   clen;     /* its content length */
	size_t   need;     /* bytes of its content still to come */
	size_t   pad;      /* bytes of its padding still to come */
	bool     complete; /* the request ends with this record */
	uint8_t  begin[8]; /* BEGIN_REQUEST's body */
	size_t   blen;
};

void api_fcgi_init(struct api_fcgi_req *r);
void api_fcgi_reset(struct api_fcgi_req *r); /* for the next request */
void api_fcgi_free(struct api_fcgi_req *r);

/*
 * Feeds buf[0..len) to the parser.  Returns the number of bytes used
 * when the request is complete (the rest belongs to no request: nginx
 * sends the next one only after our END_REQUEST), 0 if it needs more,
 * -EPROTO for bytes that are not FastCGI as nginx sends it, -EMSGSIZE
 * past the limits above, -ENOMEM.
 */
long api_fcgi_parse(struct api_fcgi_req *r, const uint8_t *buf, size_t len);

/* The value of a parameter of a complete request, or NULL. */
const char *api_fcgi_param(const struct api_fcgi_req *r, const char *name);

/*
 * Reads one whole request from fd (blocking, bounded by the socket's
 * SO_RCVTIMEO).  0, or -errno: -ECONNRESET when nginx closed the
 * connection between requests, -EPROTO/-EMSGSIZE/-ENOMEM as above, the
 * read's errno.  The connection is not kept after an error.
 */
int api_fcgi_read(int fd, struct api_fcgi_req *r);

/* Writes head and body as the answer to r (STDOUT records of up to 64 KB,
 * the empty one, END_REQUEST).  0 or -errno. */
int api_fcgi_answer(int fd, const struct api_fcgi_req *r, const char *head,
    size_t hlen, const char *body, size_t blen);

#endif
