/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * api_utf8: UTF-8 as JSON needs it (RFC 3629 / RFC 8259): well-formed
 * sequences only (no overlong forms, no surrogates, nothing past
 * U+10FFFF).  Request bodies are checked with it (108 naming the field)
 * and api_jw replaces what is not UTF-8 in stored data, so the API never
 * emits invalid JSON.  (The broker's mq_utf8_valid is MQTT's stricter
 * rule: it also refuses U+0000.)
 */
#ifndef API_UTF8_H
#define API_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* Length (1-4) of the well-formed sequence at s[0..n), n > 0; 0 if the
 * bytes there do not start one. */
size_t api_utf8_seq(const unsigned char *s, size_t n);

/* True if all of s[0..n) is well-formed UTF-8. */
bool api_utf8_valid(const char *s, size_t n);

#endif
