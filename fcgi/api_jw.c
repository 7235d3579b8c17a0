/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * api_jw: JSON text straight into one buffer.  The bytes are json-c's
 * (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE): the same
 * escapes, no spaces, integers in decimal.
 */
#include "config.h"

#include "fcgi/api_jw.h"

#include "fcgi/api_utf8.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define BIT(d) (1ull << (d))

static bool
grow(struct api_jw *w, size_t n)
{
	size_t cap = w->cap ? w->cap : 4096;
	char  *np;

	if (w->err)
		return false;
	while (cap < w->len + n + 1) {
		if (cap > SIZE_MAX / 2) {
			w->err = -ENOMEM;
			return false;
		}
		cap *= 2;
	}
	np = realloc(w->p, cap);
	if (np == NULL) {
		w->err = -ENOMEM;
		return false;
	}
	w->p = np;
	w->cap = cap;
	return true;
}

/* Room for n more bytes and the final NUL. */
static inline bool
room(struct api_jw *w, size_t n)
{
	return w->len + n + 1 <= w->cap || grow(w, n);
}

static void
misuse(struct api_jw *w)
{
	if (w->err == 0)
		w->err = -EINVAL;
}

void
api_jw_init(struct api_jw *w, char *buf, size_t cap)
{
	memset(w, 0, sizeof(*w));
	w->p = buf;
	w->cap = buf ? cap : 0;
}

void
api_jw_reset(struct api_jw *w)
{
	char  *p = w->p;
	size_t cap = w->cap;

	api_jw_init(w, p, cap);
}

int
api_jw_finish(struct api_jw *w, char **buf, size_t *cap, size_t *len)
{
	if (w->err == 0 && (w->len == 0 || w->depth != 0 || w->after_key))
		misuse(w);
	if (w->err == 0 && room(w, 0))
		w->p[w->len] = '\0';
	*buf = w->p;
	*cap = w->cap;
	*len = w->err ? 0 : w->len;
	return w->err;
}

size_t
api_jw_len(const struct api_jw *w)
{
	return w->len;
}

/*
 * What goes before a value: ',' after a sibling, '\0' first or after a
 * key.  Returns -1 (and fails the writer) where no value may go: in an
 * object without a key, or after a complete root value.
 */
static int
before_value(struct api_jw *w)
{
	uint64_t b = BIT(w->depth);

	if (w->err)
		return -1;
	if (w->after_key) {
		w->after_key = false;
		return '\0';
	}
	if (w->depth == 0) {
		if (w->len == 0)
			return '\0';
	} else if (!(w->is_object & b)) {
		int c = (w->nonempty & b) ? ',' : '\0';

		w->nonempty |= b;
		return c;
	}
	misuse(w);
	return -1;
}

/* The escape of c at d; returns its length (2 or 6). */
static size_t
escape(char *d, unsigned char c)
{
	static const char hex[] = "0123456789abcdef";

	d[0] = '\\';
	switch (c) {
	case '"':
	case '\\':
		d[1] = (char) c;
		return 2;
	case '\b':
		d[1] = 'b';
		return 2;
	case '\f':
		d[1] = 'f';
		return 2;
	case '\n':
		d[1] = 'n';
		return 2;
	case '\r':
		d[1] = 'r';
		return 2;
	case '\t':
		d[1] = 't';
		return 2;
	default:
		d[1] = 'u';
		d[2] = '0';
		d[3] = '0';
		d[4] = hex[c >> 4];
		d[5] = hex[c & 15];
		return 6;
	}
}

/* 1 for the bytes JSON strings must escape: controls, '"' and '\\'. */
static const unsigned char must_escape[256] = {
	[0x00 ... 0x1f] = 1,
	['"'] = 1,
	['\\'] = 1,
};

#define ONES  0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

/* Nonzero if a byte of x is < 0x20, '"' or '\\' (the high bits of x, of
 * x ^ '"' and of x ^ '\\' are the same, so one mask serves all three). */
static inline uint64_t
special8(uint64_t x)
{
	uint64_t q = x ^ (ONES * '"'), s = x ^ (ONES * '\\');

	return ((x - ONES * 0x20) | (q - ONES) | (s - ONES)) & ~x & HIGHS;
}

/*
 * pre, then s quoted and escaped, then post (each '\0' for none).  Room
 * for the worst case is made once and the bytes are stored one by one:
 * most strings are keys under 10 bytes, for which a capacity check and a
 * memcpy call per piece cost more than the bytes themselves.  Bytes that
 * are not well-formed UTF-8 become U+FFFD each, so no stored value (a
 * hand-edited users file, a client id) makes the document invalid JSON.
 */
static void
put_str(struct api_jw *w, char pre, const char *s, size_t n, char post)
{
	const unsigned char *u = (const unsigned char *) s;
	char                *d;

	if (n > (SIZE_MAX - 8) / 6) {
		w->err = -ENOMEM;
		return;
	}
	if (!room(w, 6 * n + 4))
		return;
	d = w->p + w->len;
	if (pre)
		*d++ = pre;
	*d++ = '"';
	for (size_t i = 0; i < n;) {
		uint64_t x;
		size_t   k;

		/* 8 bytes at once while all are ASCII and none needs an
		 * escape */
		if (n - i >= 8) {
			memcpy(&x, u + i, 8);
			if (!special8(x) && !(x & HIGHS)) {
				memcpy(d, &x, 8);
				d += 8;
				i += 8;
				continue;
			}
		}
		if (u[i] < 0x80) {
			if (must_escape[u[i]])
				d += escape(d, u[i]);
			else
				*d++ = (char) u[i];
			i++;
		} else if ((k = api_utf8_seq(u + i, n - i)) != 0) {
			memcpy(d, u + i, k);
			d += k;
			i += k;
		} else {
			memcpy(d, "\xef\xbf\xbd", 3); /* U+FFFD */
			d += 3;
			i++;
		}
	}
	*d++ = '"';
	if (post)
		*d++ = post;
	w->len = (size_t) (d - w->p);
}

/* pre, an optional '-', then v in decimal. */
static void
put_num(struct api_jw *w, char pre, uint64_t v, bool neg)
{
	size_t nd = 1;
	char  *d;

	for (uint64_t t = v; t >= 10; t /= 10)
		nd++;
	if (!room(w, nd + 2))
		return;
	d = w->p + w->len;
	if (pre)
		*d++ = pre;
	if (neg)
		*d++ = '-';
	w->len = (size_t) (d - w->p) + nd;
	do {
		d[--nd] = (char) ('0' + v % 10);
		v /= 10;
	} while (v != 0);
}

/* pre, then the n bytes of a literal. */
static void
put_raw(struct api_jw *w, char pre, const char *s, size_t n)
{
	char *d;

	if (!room(w, n + 1))
		return;
	d = w->p + w->len;
	if (pre)
		*d++ = pre;
	memcpy(d, s, n);
	w->len = (size_t) (d - w->p) + n;
}

static void
begin(struct api_jw *w, char bracket, bool object)
{
	int pre = before_value(w);

	if (pre < 0)
		return;
	if (w->depth + 1 > API_JW_MAX_DEPTH) {
		misuse(w);
		return;
	}
	put_raw(w, (char) pre, &bracket, 1);
	w->depth++;
	w->nonempty &= ~BIT(w->depth);
	if (object)
		w->is_object |= BIT(w->depth);
	else
		w->is_object &= ~BIT(w->depth);
}

static void
end(struct api_jw *w, char bracket, bool object)
{
	if (w->err)
		return;
	if (w->depth == 0 || w->after_key
	    || !(w->is_object & BIT(w->depth)) != !object) {
		misuse(w);
		return;
	}
	put_raw(w, '\0', &bracket, 1);
	w->depth--;
}

void
api_jw_object(struct api_jw *w)
{
	begin(w, '{', true);
}

void
api_jw_object_end(struct api_jw *w)
{
	end(w, '}', true);
}

void
api_jw_array(struct api_jw *w)
{
	begin(w, '[', false);
}

void
api_jw_array_end(struct api_jw *w)
{
	end(w, ']', false);
}

/*
 * What goes before a key: ',' after a sibling, else '\0'; the key's value
 * comes next.  Returns -1 (and fails the writer) outside an object or
 * where a value is due.
 */
static int
before_key(struct api_jw *w)
{
	uint64_t b = BIT(w->depth);
	int      c;

	if (w->err)
		return -1;
	if (w->depth == 0 || w->after_key || !(w->is_object & b)) {
		misuse(w);
		return -1;
	}
	c = (w->nonempty & b) ? ',' : '\0';
	w->nonempty |= b;
	w->after_key = true;
	return c;
}

void
api_jw_key(struct api_jw *w, const char *k)
{
	int pre = before_key(w);

	if (pre >= 0)
		put_str(w, (char) pre, k, strlen(k), ':');
}

void
api_jw_key_quoted(struct api_jw *w, const char *quoted, size_t n)
{
	int pre = before_key(w);

	if (pre >= 0)
		put_raw(w, (char) pre, quoted, n);
}

void
api_jw_str(struct api_jw *w, const char *s, size_t n)
{
	int pre = before_value(w);

	if (pre >= 0)
		put_str(w, (char) pre, n ? s : "", n, '\0');
}

void
api_jw_cstr(struct api_jw *w, const char *s)
{
	api_jw_str(w, s, strlen(s));
}

void
api_jw_u64(struct api_jw *w, uint64_t v)
{
	int pre = before_value(w);

	if (pre >= 0)
		put_num(w, (char) pre, v, false);
}

void
api_jw_i64(struct api_jw *w, int64_t v)
{
	int pre = before_value(w);

	if (pre >= 0)
		put_num(w, (char) pre,
		    v < 0 ? (uint64_t) 0 - (uint64_t) v : (uint64_t) v, v < 0);
}

void
api_jw_bool(struct api_jw *w, bool v)
{
	int pre = before_value(w);

	if (pre >= 0)
		put_raw(w, (char) pre, v ? "true" : "false", v ? 4 : 5);
}

void
api_jw_null(struct api_jw *w)
{
	int pre = before_value(w);

	if (pre >= 0)
		put_raw(w, (char) pre, "null", 4);
}
