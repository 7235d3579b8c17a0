/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * api_body: JSON request bodies, validated the way EMQ 2.3 answers them
 * (109 not a JSON object, 107 a required field missing, 108 a field of
 * the wrong type or value), and turned into control-socket commands
 * (docs/architecture.md, "Control socket protocol").  Fuzzed by
 * tests/fuzz/fuzz_api_body.c.
 *
 * Functions returning json_object * give the caller ownership of a new
 * tree (json_object_put it), or return NULL with e set.
 */
#ifndef API_BODY_H
#define API_BODY_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "fcgi/api.h"

/* The whole body must be one JSON object, nothing after it. */
json_object *api_body_parse(const char *body, size_t len, struct api_err *e);

/*
 * A string field of at most max bytes.  Returns 1 if present (out, len
 * set; the string is borrowed from o), 0 if absent or null and not
 * required; -ENOENT if absent but required (e: 107), -EINVAL if not a
 * string, not UTF-8, holding a NUL or longer than max (e: 108).  Every
 * message starts with the field's name.
 */
int api_body_string(json_object *o, const char *key, bool required, size_t max,
    const char **out, size_t *len, struct api_err *e);

/* MQTT topic names (no wildcards) and filters ('+' and '#' whole levels,
 * '#' last); 1 .. 65535 bytes, no NUL. */
bool api_topic_name_valid(const char *t, size_t len);
bool api_topic_filter_valid(const char *t, size_t len);

/* Longest client id the API passes on (MQTT's string limit). */
#define API_CLIENT_ID_MAX 65535

/* POST mqtt/publish: topic required; payload "", qos 0, retain false,
 * client_id "http" by default. */
json_object *api_cmd_publish(const char *body, size_t len, struct api_err *e);
/* POST mqtt/subscribe: client_id and topic required, qos 0 by default. */
json_object *api_cmd_subscribe(
    const char *body, size_t len, struct api_err *e);
/* POST mqtt/unsubscribe: client_id and topic required. */
json_object *api_cmd_unsubscribe(
    const char *body, size_t len, struct api_err *e);
/* PUT nodes/{node}/plugins/{name}: {"active": bool} required. */
json_object *api_cmd_plugin(
    const char *name, const char *body, size_t len, struct api_err *e);
/* DELETE clients/{id}. */
json_object *api_cmd_kick(const char *client_id, size_t len);

#endif
