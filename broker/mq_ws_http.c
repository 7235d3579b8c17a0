/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mq_ws_http: the WebSocket opening handshake, server side.  Pure: the
 * caller accumulates bytes and asks again; nothing here reads, writes or
 * allocates.  Anything outside the narrow grammar below is refused:
 * this is a door to the broker, not a general HTTP server.
 */
#include "config.h"

#include "broker/mq_ws_http.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#define MAX_HEADERS 64

static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

static int
refuse(struct mq_ws_http_req *r, int status, const char *why)
{
	r->status = status;
	r->why = why;
	return -EINVAL;
}

static int
lower(int ch)
{
	return ch >= 'A' && ch <= 'Z' ? ch + 32 : ch;
}

static bool
ieq(const uint8_t *a, size_t n, const char *b)
{
	if (strlen(b) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (lower(a[i]) != lower((unsigned char) b[i]))
			return false;
	return true;
}

/* RFC 9110 tchar. */
static bool
tchar(uint8_t ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z')
	    || (ch >= 'A' && ch <= 'Z')
	    || (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

/* The next element of a comma-separated list, OWS trimmed, empty ones
 * skipped: [*s, *e) from *i on; false at the end. */
static bool
list_next(const uint8_t *v, size_t n, size_t *i, size_t *s, size_t *e)
{
	while (*i < n) {
		while (
		    *i < n && (v[*i] == ' ' || v[*i] == '\t' || v[*i] == ','))
			(*i)++;
		*s = *i;
		while (*i < n && v[*i] != ',')
			(*i)++;
		*e = *i;
		while (*e > *s && (v[*e - 1] == ' ' || v[*e - 1] == '\t'))
			(*e)--;
		if (*e > *s)
			return true;
	}
	return false;
}

/* Whether the list holds want, case-insensitively. */
static bool
list_has(const uint8_t *v, size_t n, const char *want)
{
	size_t i = 0, s, e;

	while (list_next(v, n, &i, &s, &e))
		if (ieq(v + s, e - s, want))
			return true;
	return false;
}

/* The first of the client's offers we speak (offers in client order). */
static const char *
pick_subprotocol(const uint8_t *v, size_t n)
{
	static const char *const ours[] = { "mqtt", "mqttv3.1" };
	size_t                   i = 0, s, e;

	while (list_next(v, n, &i, &s, &e))
		for (size_t k = 0; k < 2; k++)
			if (e - s == strlen(ours[k])
			    && !memcmp(v + s, ours[k], e - s))
				return ours[k];
	return NULL;
}

static bool
origin_allowed(const char *list, const uint8_t *v, size_t n)
{
	const char *p = list;

	while (*p) {
		const char *e = strchr(p, ',');
		size_t      l = e ? (size_t) (e - p) : strlen(p);

		while (l > 0 && *p == ' ') {
			p++;
			l--;
		}
		while (l > 0 && p[l - 1] == ' ')
			l--;
		/* scheme and host are case-insensitive, so the whole is */
		if (l == n && n > 0) {
			size_t i = 0;

			while (i < n
			    && lower(v[i]) == lower((unsigned char) p[i]))
				i++;
			if (i == n)
				return true;
		}
		if (e == NULL)
			break;
		p = e + 1;
	}
	return false;
}

static bool
valid_key(const uint8_t *v, size_t n)
{
	uint8_t out[24];

	/* 16 bytes in base64: 22 characters and "==" */
	if (n != 24 || v[22] != '=' || v[23] != '=')
		return false;
	for (size_t i = 0; i < 22; i++)
		if (!((v[i] >= 'A' && v[i] <= 'Z')
		        || (v[i] >= 'a' && v[i] <= 'z')
		        || (v[i] >= '0' && v[i] <= '9') || v[i] == '+'
		        || v[i] == '/'))
			return false;
	return EVP_DecodeBlock(out, v, 24) == 18; /* 16 + 2 pad bytes */
}

static void
make_accept(const uint8_t *key, char *out)
{
	uint8_t buf[24 + sizeof(ws_guid)];
	uint8_t md[SHA_DIGEST_LENGTH];

	memcpy(buf, key, 24);
	memcpy(buf + 24, ws_guid, sizeof(ws_guid) - 1);
	SHA1(buf, 24 + sizeof(ws_guid) - 1, md);
	EVP_EncodeBlock((unsigned char *) out, md, sizeof(md));
}

/* Bytes a head may hold: visible ASCII, SP, HTAB, CR, LF, obs-text. */
static bool
head_byte(uint8_t ch)
{
	return ch >= 0x20 ? ch != 0x7f
	                  : ch == '\r' || ch == '\n' || ch == '\t';
}

int
mq_ws_http_parse(const uint8_t *buf, size_t len,
    const struct mq_ws_http_cfg *cfg, struct mq_ws_http_req *req)
{
	static const char method[] = "GET /";
	size_t            end = 0, i, nhdr = 0;
	const uint8_t    *key = NULL;
	bool              offered = false;
	bool host = false, upgrade = false, conn = false, version = false;
	bool origin = false;
	int  version_bad = 0;

	memset(req, 0, sizeof(*req));
	/* What is known to be wrong is refused without waiting for more. */
	for (i = 0; i < len && i < sizeof(method) - 1; i++)
		if (buf[i] != (uint8_t) method[i])
			return refuse(req, 400, "not a GET request");
	for (i = 0; i < len && i < MQ_WS_HTTP_MAX; i++) {
		if (!head_byte(buf[i]))
			return refuse(req, 400, "bad byte in request head");
		if (buf[i] == '\n' && (i == 0 || buf[i - 1] != '\r'))
			return refuse(req, 400, "bare LF in request head");
		if (i >= 3 && buf[i] == '\n' && buf[i - 2] == '\n') {
			end = i + 1;
			break;
		}
	}
	if (end == 0)
		return len >= MQ_WS_HTTP_MAX
		    ? refuse(req, 400, "request head too large")
		    : 0;

	/* request line: GET SP origin-form SP HTTP/1.1 CRLF */
	{
		size_t t = 4, te, pe;

		while (t < end && buf[t] > 0x20 && buf[t] < 0x7f)
			t++;
		te = t;
		if (te + 11 > end || buf[te] != ' '
		    || memcmp(buf + te + 1, "HTTP/1.1\r\n", 10) != 0)
			return refuse(req, 400, "bad request line");
		pe = 4;
		while (pe < te && buf[pe] != '?')
			pe++;
		if (pe - 4 != strlen(cfg->path)
		    || memcmp(buf + 4, cfg->path, pe - 4) != 0)
			return refuse(req, 404, "no WebSocket at this path");
		i = te + 11;
	}

	/* header fields up to the empty line */
	while (i < end) {
		size_t         ns = i, ne, vs, ve, le;
		const uint8_t *name;

		if (buf[i] == '\r') /* the empty line */
			break;
		if (++nhdr > MAX_HEADERS)
			return refuse(req, 400, "too many header fields");
		while (i < end && tchar(buf[i]))
			i++;
		ne = i;
		if (ne == ns || i >= end || buf[i] != ':')
			return refuse(req, 400, "bad header field");
		i++;
		le = i;
		while (buf[le] != '\r')
			le++;
		vs = i;
		while (vs < le && (buf[vs] == ' ' || buf[vs] == '\t'))
			vs++;
		ve = le;
		while (ve > vs && (buf[ve - 1] == ' ' || buf[ve - 1] == '\t'))
			ve--;
		i = le + 2;
		if (buf[i] == ' ' || buf[i] == '\t')
			return refuse(req, 400, "folded header field");
		name = buf + ns;
		ns = ne - ns;
		if (ieq(name, ns, "host")) {
			if (host || ve == vs)
				return refuse(req, 400, "bad Host");
			host = true;
		} else if (ieq(name, ns, "upgrade")) {
			upgrade = upgrade
			    || list_has(buf + vs, ve - vs, "websocket");
		} else if (ieq(name, ns, "connection")) {
			conn = conn || list_has(buf + vs, ve - vs, "upgrade");
		} else if (ieq(name, ns, "sec-websocket-key")) {
			if (key != NULL || !valid_key(buf + vs, ve - vs))
				return refuse(
				    req, 400, "bad Sec-WebSocket-Key");
			key = buf + vs;
		} else if (ieq(name, ns, "sec-websocket-version")) {
			if (version)
				return refuse(req, 400,
				    "repeated Sec-WebSocket-Version");
			version = true;
			version_bad
			    = !(ve - vs == 2 && !memcmp(buf + vs, "13", 2));
		} else if (ieq(name, ns, "sec-websocket-protocol")) {
			const char *p = pick_subprotocol(buf + vs, ve - vs);

			/* several fields: the first acceptable offer wins */
			offered = true;
			if (req->subprotocol == NULL)
				req->subprotocol = p;
		} else if (ieq(name, ns, "origin")) {
			if (origin)
				return refuse(req, 400, "repeated Origin");
			origin = true;
			if (cfg->origins != NULL
			    && !origin_allowed(
			        cfg->origins, buf + vs, ve - vs))
				return refuse(req, 403, "Origin not allowed");
		} else if (ieq(name, ns, "content-length")) {
			if (ve - vs != 1 || buf[vs] != '0')
				return refuse(
				    req, 400, "a body in an upgrade");
		} else if (ieq(name, ns, "transfer-encoding")) {
			return refuse(req, 400, "a body in an upgrade");
		}
	}
	if (!host)
		return refuse(req, 400, "no Host");
	if (!upgrade || !conn)
		return refuse(req, 400, "not a WebSocket upgrade");
	if (!version || version_bad)
		return refuse(req, 426, "Sec-WebSocket-Version must be 13");
	if (key == NULL)
		return refuse(req, 400, "no Sec-WebSocket-Key");
	if (offered && req->subprotocol == NULL)
		return refuse(req, 400, "no sub-protocol we speak (mqtt)");
	if (cfg->origins != NULL && !origin)
		return refuse(req, 403, "Origin required");
	make_accept(key, req->accept);
	req->status = 101;
	return (int) end;
}

size_t
mq_ws_http_answer(const struct mq_ws_http_req *req, char *out, size_t cap)
{
	int n;

	if (req->status == 101)
		n = snprintf(out, cap,
		    "HTTP/1.1 101 Switching Protocols\r\n"
		    "Upgrade: websocket\r\n"
		    "Connection: Upgrade\r\n"
		    "Sec-WebSocket-Accept: %s\r\n"
		    "%s%s%s\r\n",
		    req->accept,
		    req->subprotocol ? "Sec-WebSocket-Protocol: " : "",
		    req->subprotocol ? req->subprotocol : "",
		    req->subprotocol ? "\r\n" : "");
	else
		n = snprintf(out, cap,
		    "HTTP/1.1 %d %s\r\n"
		    "Connection: close\r\n"
		    "Content-Type: text/plain\r\n"
		    "%s"
		    "Content-Length: %zu\r\n\r\n%s\n",
		    req->status,
		    req->status == 403       ? "Forbidden"
		        : req->status == 404 ? "Not Found"
		        : req->status == 426 ? "Upgrade Required"
		                             : "Bad Request",
		    req->status == 426 ? "Sec-WebSocket-Version: 13\r\n" : "",
		    strlen(req->why ? req->why : "bad request") + 1,
		    req->why ? req->why : "bad request");
	if (n < 0)
		return 0;
	return (size_t) n < cap ? (size_t) n : cap - 1;
}
