/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cl_subject: the reversible topic <-> subject encoding (cl_subject.h).
 */
#include "config.h"

#include "cluster/cl_subject.h"

#include <errno.h>
#include <string.h>

static const char hex[] = "0123456789ABCDEF";

static bool
plain(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
	    || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/* Appends n bytes to out at *at; -ENOSPC if they do not fit. */
static int
put(char *out, size_t cap, size_t *at, const char *p, size_t n)
{
	if (cap - *at < n)
		return -ENOSPC;
	memcpy(out + *at, p, n);
	*at += n;
	return 0;
}

/* One level (no '/'); wild: '+' and '#' are wildcards when alone. */
static int
put_level(
    char *out, size_t cap, size_t *at, const char *l, size_t n, bool wild)
{
	int rc = 0;

	if (n == 0)
		return put(out, cap, at, "=", 1);
	if (wild && n == 1 && (l[0] == '+' || l[0] == '#'))
		return put(out, cap, at, l[0] == '+' ? "*" : ">", 1);
	for (size_t i = 0; i < n && rc == 0; i++) {
		unsigned char c = (unsigned char) l[i];
		char          e[3] = { '=', hex[c >> 4], hex[c & 15] };

		if (!wild && (c == '+' || c == '#'))
			return -EINVAL;
		if (c == 0)
			return -EINVAL;
		rc = plain(c) ? put(out, cap, at, l + i, 1)
		              : put(out, cap, at, e, 3);
	}
	return rc;
}

static int
encode(char *out, size_t cap, const char *t, size_t len, bool wild)
{
	size_t at = 0;
	size_t start = 0;
	int    rc;

	if (len == 0)
		return -EINVAL;
	rc = put(out, cap, &at, CL_SUBJECT_PREFIX, CL_SUBJECT_PREFIX_LEN);
	for (size_t i = 0; rc == 0 && i <= len; i++) {
		if (i < len && t[i] != '/')
			continue;
		if (start > 0)
			rc = put(out, cap, &at, ".", 1);
		if (rc == 0)
			rc = put_level(
			    out, cap, &at, t + start, i - start, wild);
		start = i + 1;
	}
	if (rc < 0)
		return rc;
	if (at > CL_SUBJECT_MAX || at > (size_t) 0x7fffffff)
		return -ENOSPC;
	return (int) at;
}

int
cl_subject_from_topic(char *out, size_t cap, const char *t, size_t len)
{
	return encode(out, cap, t, len, false);
}

int
cl_subject_from_filter(
    char *out, size_t cap, const char *f, size_t len, bool *parent)
{
	int rc = encode(out, cap, f, len, true);

	/* "a/#" also matches "a"; "#" alone has no parent level. */
	*parent = rc > 0 && len >= 2 && f[len - 1] == '#' && f[len - 2] == '/';
	return rc;
}

static int
unhex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
cl_subject_to_topic(char *out, size_t cap, const char *s, size_t len)
{
	size_t at = 0, i = CL_SUBJECT_PREFIX_LEN;
	bool   tok_start = true;

	if (len <= CL_SUBJECT_PREFIX_LEN
	    || memcmp(s, CL_SUBJECT_PREFIX, CL_SUBJECT_PREFIX_LEN) != 0)
		return -EINVAL;
	while (i < len) {
		unsigned char c = (unsigned char) s[i];

		if (c == '.') {
			if (tok_start) /* empty token */
				return -EINVAL;
			if (at == cap)
				return -ENOSPC;
			out[at++] = '/';
			tok_start = true;
			i++;
			continue;
		}
		if (c == '=') {
			int hi, lo, b;

			/* "=" alone is an empty level. */
			if (tok_start && (i + 1 == len || s[i + 1] == '.')) {
				tok_start = false;
				i++;
				continue;
			}
			if (len - i < 3)
				return -EINVAL;
			hi = unhex(s[i + 1]);
			lo = unhex(s[i + 2]);
			if (hi < 0 || lo < 0)
				return -EINVAL;
			b = hi << 4 | lo;
			/* Canonical only: plain bytes are never escaped,
			 * and no topic level holds / + # or NUL. */
			if (plain((unsigned char) b) || b == '/' || b == '+'
			    || b == '#' || b == 0)
				return -EINVAL;
			if (at == cap)
				return -ENOSPC;
			out[at++] = (char) b;
			tok_start = false;
			i += 3;
			continue;
		}
		if (!plain(c))
			return -EINVAL;
		if (at == cap)
			return -ENOSPC;
		out[at++] = (char) c;
		tok_start = false;
		i++;
	}
	if (tok_start) /* trailing '.' */
		return -EINVAL;
	if (at > 65535)
		return -EINVAL;
	return (int) at;
}
