/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cl_subject: MQTT topics and filters <-> NATS subjects, reversibly.
 *
 * subject = "mq." + one token per topic level.  Bytes outside
 * [A-Za-z0-9_-] are written "=XX" (two upper-case hex digits); an empty
 * level is the token "=" alone.  In a filter "+" becomes "*" and "#"
 * becomes ">", and a filter ending in "/#" (which also matches its
 * parent level, [MQTT-4.7.1-2]) needs a second subject, the first one
 * without its last ".>".  The alphabet is also that of JetStream KV keys.
 *
 * Pure functions, no allocation.  Errors: -EINVAL (not a valid topic /
 * filter / encoded subject), -ENOSPC (out too small).
 */
#ifndef CL_SUBJECT_H
#define CL_SUBJECT_H

#include <stdbool.h>
#include <stddef.h>

#define CL_SUBJECT_PREFIX     "mq."
#define CL_SUBJECT_PREFIX_LEN 3
/* Longest subject the cluster sends (nats-server: max_control_line). */
#define CL_SUBJECT_MAX 65536

/* Encodes topic name t (valid) as a subject; returns its length. */
int cl_subject_from_topic(char *out, size_t cap, const char *t, size_t len);

/*
 * Encodes filter f (valid, without "$share/"); returns the length.
 * *parent is set when the filter ends in "/#": the subject minus its
 * last two bytes (".>") must be subscribed too.
 */
int cl_subject_from_filter(
    char *out, size_t cap, const char *f, size_t len, bool *parent);

/*
 * Decodes a subject (untrusted) back into the topic it was made from;
 * returns the topic's length.  Only the canonical encoding is accepted
 * (upper-case hex, only bytes that needed escaping, no "/" "+" "#" or
 * NUL), so decode(encode(t)) == t and encode(decode(s)) == s.
 */
int cl_subject_to_topic(char *out, size_t cap, const char *s, size_t len);

#endif
