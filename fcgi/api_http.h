/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * api_http: the untrusted-input side of HTTP: percent-decoding of path
 * segments and query values, query-string lookup, strict numbers and the
 * curr_page/page_size pair.  Pure functions, no allocation: fuzzed by
 * tests/fuzz/fuzz_api_query.c.
 */
#ifndef API_HTTP_H
#define API_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Decodes %XX escapes of src[0..len) into dst, which needs len + 1 bytes
 * (dst may equal src) and is NUL-terminated.  With plus_space, '+' becomes
 * ' ' (query strings); in paths '+' is literal.  Returns the decoded
 * length, or -EINVAL for a malformed escape or an encoded NUL byte (no
 * MQTT string may contain U+0000).
 */
int api_pct_decode(char *dst, const char *src, size_t len, bool plus_space);

/*
 * Finds the first parameter `name` in query[0..qlen) ("a=1&b=2") and
 * decodes its value into buf (NUL-terminated).  Returns the value's
 * length, -ENOENT if absent, -EINVAL if malformed, -ENOSPC if longer than
 * len - 1.
 */
int api_query_get(
    const char *query, size_t qlen, const char *name, char *buf, size_t len);

/* Strict decimal: 1 to 19 digits, no sign, no space; value <= max.
 * Returns 0, -EINVAL (not a number) or -ERANGE (> max). */
int api_parse_u64(const char *s, uint64_t max, uint64_t *out);

#define API_PAGE_SIZE_MAX 10000u

struct api_page {
	uint64_t curr_page; /* >= 1 */
	uint64_t page_size; /* 1 .. API_PAGE_SIZE_MAX */
};

/*
 * Reads curr_page (default 1) and page_size (default 20).  A value that is
 * empty, 0, negative, not a number or too large returns -EINVAL with a
 * message naming the parameter in msg.
 */
int api_page_parse(const char *query, size_t qlen, struct api_page *p,
    char *msg, size_t msglen);

/* Decodes one base64 (RFC 4648, padding optional) string into out.
 * Returns the decoded length, -EINVAL or -ENOSPC. */
int api_base64_decode(
    const char *in, size_t len, unsigned char *out, size_t outlen);

#endif
