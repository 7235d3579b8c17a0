/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * b64url.h: unpadded base64url (RFC 7515 2) for tests and fuzzers that
 * build JSON Web Tokens.  Writes ceil(n * 4 / 3) characters, no NUL;
 * returns how many.
 */
#ifndef T_B64URL_H
#define T_B64URL_H

#include <stddef.h>
#include <stdint.h>

static inline size_t
t_b64url(const uint8_t *in, size_t n, char *out)
{
	static const char a[]
	    = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrst"
	      "uvwxyz0123456789-_";
	size_t   k = 0;
	unsigned acc = 0, bits = 0;

	for (size_t i = 0; i < n; i++) {
		acc = ((acc << 8) | in[i]) & 0xffff;
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			out[k++] = a[(acc >> bits) & 63];
		}
	}
	if (bits > 0)
		out[k++] = a[(acc << (6 - bits)) & 63];
	return k;
}

#endif
