/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * api_utf8: the decoder follows the table of well-formed byte sequences
 * in the Unicode standard (ch. 3, table 3-7): the second byte's range
 * depends on the first, which rules out overlong forms, surrogates and
 * code points past U+10FFFF without computing the code point.
 */
#include "config.h"

#include "fcgi/api_utf8.h"

static bool
cont(unsigned char c, unsigned char lo, unsigned char hi)
{
	return c >= lo && c <= hi;
}

size_t
api_utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t        len;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4;
	else
		return 0; /* a continuation byte, C0/C1, F5..FF */
	if (n < len)
		return 0;
	if (c == 0xe0)
		lo = 0xa0; /* overlong */
	else if (c == 0xed)
		hi = 0x9f; /* surrogates */
	else if (c == 0xf0)
		lo = 0x90; /* overlong */
	else if (c == 0xf4)
		hi = 0x8f; /* past U+10FFFF */
	if (!cont(s[1], lo, hi))
		return 0;
	for (size_t i = 2; i < len; i++)
		if (!cont(s[i], 0x80, 0xbf))
			return 0;
	return len;
}

bool
api_utf8_valid(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *) s;
	size_t               i = 0;

	while (i < n) {
		size_t k;

		if (u[i] < 0x80) {
			i++;
			continue;
		}
		k = api_utf8_seq(u + i, n - i);
		if (k == 0)
			return false;
		i += k;
	}
	return true;
}
