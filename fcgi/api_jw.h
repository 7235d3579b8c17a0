/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * api_jw: a streaming JSON writer, the one way mqttd-api writes JSON.
 *
 * Responses are written straight from the segment's records into one
 * growing buffer: building a json-c tree first cost ~250 allocations and
 * 60% of the CPU of a page of 20 clients (bench/RESULTS.md, "## api").
 * The writer keeps the structure right by itself: it puts the ',' and ':'
 * (the caller only says key, value, begin, end), escapes every string
 * (quotes, backslashes, control characters; other UTF-8 passes as it
 * is, as json-c passes it, and each byte that is not well-formed UTF-8
 * becomes U+FFFD, so the output is valid JSON whatever a string holds)
 * and refuses to nest deeper
 * than API_JW_MAX_DEPTH.  json-c still parses what comes in (request
 * bodies, the broker's replies) and is the oracle the writer is tested
 * and fuzzed against (tests/unit/test_api_jw.c, tests/fuzz/fuzz_api_jw.c).
 *
 * Errors are sticky, as with stdio streams: after an allocation failure
 * or a misuse (a key outside an object, an end without a begin, too deep)
 * every call does nothing and api_jw_finish() reports it.  The struct is
 * public only so that a writer can live on its caller's stack; its fields
 * are the writer's own.
 */
#ifndef API_JW_H
#define API_JW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define API_JW_MAX_DEPTH 32

struct api_jw {
	char    *p;
	size_t   len, cap;
	int      err;       /* 0, -ENOMEM or -EINVAL (misuse) */
	unsigned depth;     /* open containers */
	uint64_t nonempty;  /* bit d: the container at depth d has a member */
	uint64_t is_object; /* bit d: the container at depth d is an object */
	bool     after_key; /* a key was written; its value comes next */
};

/* Starts writing into buf (cap bytes, malloc'd, may be NULL/0), which the
 * writer grows with realloc and finally hands back. */
void api_jw_init(struct api_jw *w, char *buf, size_t cap);

/* Forgets everything written; keeps the buffer. */
void api_jw_reset(struct api_jw *w);

/* Ends writing: *buf, *cap, *len describe the text (NUL-terminated) and
 * the buffer is the caller's to free or reuse, whatever is returned.
 * Returns 0, -ENOMEM, or -EINVAL if no value was written, a container is
 * still open, or the writer was misused. */
int api_jw_finish(struct api_jw *w, char **buf, size_t *cap, size_t *len);

/* Bytes written so far. */
size_t api_jw_len(const struct api_jw *w);

void api_jw_object(struct api_jw *w);
void api_jw_object_end(struct api_jw *w);
void api_jw_array(struct api_jw *w);
void api_jw_array_end(struct api_jw *w);

/* A member's key (escaped like any string); its value comes next. */
void api_jw_key(struct api_jw *w, const char *k);

/* A key given as a string literal: API_JW_KEY(w, "port").  The text
 * "\"port\":" is made by the compiler (a non-literal does not compile), so
 * nothing is measured or escaped at run time; the literal must need no
 * escape, which every key of the API's shapes is. */
#define API_JW_KEY(w, lit)                                                    \
	api_jw_key_quoted((w), "\"" lit "\":", sizeof("\"" lit "\":") - 1)
void api_jw_key_quoted(struct api_jw *w, const char *quoted, size_t n);

/* Values. */
void api_jw_str(struct api_jw *w, const char *s, size_t n);
void api_jw_cstr(struct api_jw *w, const char *s); /* NUL-terminated */
void api_jw_u64(struct api_jw *w, uint64_t v);
void api_jw_i64(struct api_jw *w, int64_t v);
void api_jw_bool(struct api_jw *w, bool v);
void api_jw_null(struct api_jw *w);

#endif
