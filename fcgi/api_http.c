/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * api_http: decoding of the parts of a request a client controls.
 * Every loop is bounded by the input length and every write by the
 * output length; nothing here allocates, logs or asserts.
 */
#include "config.h"

#include "fcgi/api_http.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int
hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
api_pct_decode(char *dst, const char *src, size_t len, bool plus_space)
{
	size_t i = 0, o = 0;

	while (i < len) {
		unsigned char c = (unsigned char) src[i];

		if (c == '%') {
			int hi, lo;

			if (len - i < 3)
				return -EINVAL;
			hi = hexval((unsigned char) src[i + 1]);
			lo = hexval((unsigned char) src[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return -EINVAL;
			dst[o++] = (char) (hi << 4 | lo);
			i += 3;
			continue;
		}
		if (c == '\0')
			return -EINVAL;
		dst[o++] = (plus_space && c == '+') ? ' ' : (char) c;
		i++;
	}
	dst[o] = '\0';
	return (int) o;
}

int
api_query_get(
    const char *query, size_t qlen, const char *name, char *buf, size_t len)
{
	size_t nlen = strlen(name);
	size_t i = 0;

	if (query == NULL)
		return -ENOENT;
	while (i < qlen) {
		const char *p = query + i;
		const char *amp = memchr(p, '&', qlen - i);
		size_t      plen = amp ? (size_t) (amp - p) : qlen - i;
		const char *eq = memchr(p, '=', plen);
		size_t      klen = eq ? (size_t) (eq - p) : plen;

		if (klen == nlen && memcmp(p, name, nlen) == 0) {
			size_t vlen = eq ? plen - klen - 1 : 0;

			if (vlen + 1 > len)
				return -ENOSPC;
			return api_pct_decode(
			    buf, eq ? eq + 1 : p, vlen, true);
		}
		i += plen + 1;
	}
	return -ENOENT;
}

int
api_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	size_t   n = 0;

	if (s == NULL || *s == '\0')
		return -EINVAL;
	for (; s[n] != '\0'; n++) {
		if (s[n] < '0' || s[n] > '9' || n >= 19)
			return -EINVAL;
		v = v * 10 + (uint64_t) (s[n] - '0');
	}
	if (v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

static int
page_param(const char *query, size_t qlen, const char *name, uint64_t max,
    uint64_t *out, char *msg, size_t msglen)
{
	char     buf[32];
	uint64_t v;
	int      rc = api_query_get(query, qlen, name, buf, sizeof(buf));

	if (rc == -ENOENT)
		return 0;
	if (rc >= 0)
		rc = api_parse_u64(buf, max, &v);
	if (rc == 0 && v == 0)
		rc = -EINVAL;
	if (rc != 0) {
		snprintf(msg, msglen, "%s must be an integer from 1 to %llu",
		    name, (unsigned long long) max);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

int
api_page_parse(const char *query, size_t qlen, struct api_page *p, char *msg,
    size_t msglen)
{
	int rc;

	p->curr_page = 1;
	p->page_size = 20;
	rc = page_param(
	    query, qlen, "curr_page", UINT32_MAX, &p->curr_page, msg, msglen);
	if (rc != 0)
		return rc;
	return page_param(query, qlen, "page_size", API_PAGE_SIZE_MAX,
	    &p->page_size, msg, msglen);
}

static int
b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int
api_base64_decode(
    const char *in, size_t len, unsigned char *out, size_t outlen)
{
	uint32_t acc = 0;
	int      bits = 0;
	size_t   o = 0;

	while (len > 0 && in[len - 1] == '=')
		len--;
	if (len % 4 == 1)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		int v = b64val((unsigned char) in[i]);

		if (v < 0)
			return -EINVAL;
		acc = (acc << 6) | (uint32_t) v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= outlen)
				return -ENOSPC;
			out[o++] = (unsigned char) (acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	return (int) o;
}
