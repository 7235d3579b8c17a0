/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * api_body: request bodies.  Every field is checked for presence and
 * type before it is used; the command sent to the broker is built fresh
 * from the checked values, never forwarded, so the broker sees only the
 * fields of the protocol.
 */
#include "config.h"

#include "fcgi/api_body.h"

#include "fcgi/api_utf8.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int
api_err_set(struct api_err *e, int code, const char *fmt, ...)
{
	va_list ap;

	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return code;
}

json_object *
api_body_parse(const char *body, size_t len, struct api_err *e)
{
	json_tokener *tok;
	json_object  *o;

	if (body == NULL || len == 0 || len > (size_t) INT32_MAX) {
		api_err_set(e, API_ENOTJSON, "request body is not JSON");
		return NULL;
	}
	tok = json_tokener_new();
	if (tok == NULL) {
		api_err_set(e, API_EUNKNOWN, "out of memory");
		return NULL;
	}
	o = json_tokener_parse_ex(tok, body, (int) len);
	if (o != NULL && json_tokener_get_parse_end(tok) != len) {
		/* trailing bytes after the object: only whitespace is ok */
		for (size_t i = json_tokener_get_parse_end(tok); i < len; i++)
			if (!strchr(" \t\r\n", body[i]) || body[i] == '\0') {
				json_object_put(o);
				o = NULL;
				break;
			}
	}
	json_tokener_free(tok);
	if (o == NULL || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		api_err_set(
		    e, API_ENOTJSON, "request body is not a JSON object");
		return NULL;
	}
	return o;
}

/* 108 naming key: -EINVAL. */
static int
bad(struct api_err *e, const char *key, const char *what)
{
	api_err_set(e, API_ETYPE, "%s: %s", key, what);
	return -EINVAL;
}

/* The field key of o: 1 present, 0 absent (or null) and not required,
 * -ENOENT absent and required (107). */
static int
field(json_object *o, const char *key, bool required, json_object **v,
    struct api_err *e)
{
	*v = NULL;
	if (json_object_object_get_ex(o, key, v) && *v != NULL)
		return 1;
	if (!required)
		return 0;
	api_err_set(e, API_EMISSING, "%s: missing", key);
	return -ENOENT;
}

int
api_body_string(json_object *o, const char *key, bool required, size_t max,
    const char **out, size_t *len, struct api_err *e)
{
	json_object *v;
	int          rc = field(o, key, required, &v, e);

	if (rc <= 0)
		return rc;
	if (!json_object_is_type(v, json_type_string))
		return bad(e, key, "must be a string");
	*out = json_object_get_string(v);
	*len = (size_t) json_object_get_string_len(v);
	if (memchr(*out, '\0', *len) != NULL)
		return bad(e, key, "contains NUL");
	if (!api_utf8_valid(*out, *len))
		return bad(e, key, "not valid UTF-8");
	if (*len > max) {
		api_err_set(e, API_ETYPE, "%s: at most %zu bytes", key, max);
		return -EINVAL;
	}
	return 1;
}

/* An integer field in [min, max]: 1 present, 0 absent, -EINVAL (108). */
static int
body_int(json_object *o, const char *key, int min, int max, int *out,
    struct api_err *e)
{
	json_object *v;
	int64_t      n;
	int          rc = field(o, key, false, &v, e);

	if (rc <= 0)
		return rc;
	if (!json_object_is_type(v, json_type_int))
		return bad(e, key, "must be an integer");
	n = json_object_get_int64(v);
	if (n < min || n > max) {
		api_err_set(
		    e, API_ETYPE, "%s: must be %d to %d", key, min, max);
		return -EINVAL;
	}
	*out = (int) n;
	return 1;
}

/* A boolean field: 1 present, 0 absent, -ENOENT (107), -EINVAL (108). */
static int
body_bool(json_object *o, const char *key, bool required, bool *out,
    struct api_err *e)
{
	json_object *v;
	int          rc = field(o, key, required, &v, e);

	if (rc <= 0)
		return rc;
	if (!json_object_is_type(v, json_type_boolean))
		return bad(e, key, "must be true or false");
	*out = json_object_get_boolean(v);
	return 1;
}

bool
api_topic_name_valid(const char *t, size_t len)
{
	if (len == 0 || len > 65535 || memchr(t, '\0', len) != NULL)
		return false;
	return memchr(t, '+', len) == NULL && memchr(t, '#', len) == NULL;
}

bool
api_topic_filter_valid(const char *t, size_t len)
{
	if (len == 0 || len > 65535 || memchr(t, '\0', len) != NULL)
		return false;
	for (size_t i = 0; i < len; i++) {
		bool starts = i == 0 || t[i - 1] == '/';
		bool ends = i + 1 == len || t[i + 1] == '/';

		if (t[i] == '+' && !(starts && ends))
			return false;
		if (t[i] == '#' && !(starts && i + 1 == len))
			return false;
	}
	return true;
}

static void
add_str(json_object *o, const char *key, const char *s, size_t len)
{
	json_object_object_add(
	    o, key, json_object_new_string_len(s, (int) len));
}

json_object *
api_cmd_publish(const char *body, size_t len, struct api_err *e)
{
	json_object *o = api_body_parse(body, len, e), *cmd;
	const char  *topic, *payload = "", *cid = "http";
	size_t       tlen, plen = 0, clen = 4;
	int          qos = 0;
	bool         retain = false;

	if (o == NULL)
		return NULL;
	if (api_body_string(o, "topic", true, 65535, &topic, &tlen, e) < 0)
		goto fail;
	if (!api_topic_name_valid(topic, tlen)) {
		api_err_set(e, API_ETYPE, "topic: invalid topic name");
		goto fail;
	}
	if (api_body_string(o, "payload", false, SIZE_MAX, &payload, &plen, e)
	        < 0
	    || body_int(o, "qos", 0, 2, &qos, e) < 0
	    || body_bool(o, "retain", false, &retain, e) < 0
	    || api_body_string(
	           o, "client_id", false, API_CLIENT_ID_MAX, &cid, &clen, e)
	        < 0)
		goto fail;
	if (clen == 0) {
		api_err_set(e, API_ETYPE, "client_id: must not be empty");
		goto fail;
	}
	cmd = json_object_new_object();
	json_object_object_add(cmd, "cmd", json_object_new_string("publish"));
	add_str(cmd, "topic", topic, tlen);
	add_str(cmd, "payload", payload, plen);
	json_object_object_add(cmd, "qos", json_object_new_int(qos));
	json_object_object_add(cmd, "retain", json_object_new_boolean(retain));
	add_str(cmd, "client_id", cid, clen);
	json_object_put(o);
	return cmd;
fail:
	json_object_put(o);
	return NULL;
}

static json_object *
sub_unsub(const char *body, size_t len, bool sub, struct api_err *e)
{
	json_object *o = api_body_parse(body, len, e), *cmd;
	const char  *topic, *cid;
	size_t       tlen, clen;
	int          qos = 0;

	if (o == NULL)
		return NULL;
	if (api_body_string(
	        o, "client_id", true, API_CLIENT_ID_MAX, &cid, &clen, e)
	        < 0
	    || api_body_string(o, "topic", true, 65535, &topic, &tlen, e) < 0
	    || (sub && body_int(o, "qos", 0, 2, &qos, e) < 0))
		goto fail;
	if (clen == 0) {
		api_err_set(e, API_ETYPE, "client_id: must not be empty");
		goto fail;
	}
	if (!api_topic_filter_valid(topic, tlen)) {
		api_err_set(e, API_ETYPE, "topic: invalid topic filter");
		goto fail;
	}
	cmd = json_object_new_object();
	json_object_object_add(cmd, "cmd",
	    json_object_new_string(sub ? "subscribe" : "unsubscribe"));
	add_str(cmd, "client_id", cid, clen);
	add_str(cmd, "topic", topic, tlen);
	if (sub)
		json_object_object_add(cmd, "qos", json_object_new_int(qos));
	json_object_put(o);
	return cmd;
fail:
	json_object_put(o);
	return NULL;
}

json_object *
api_cmd_subscribe(const char *body, size_t len, struct api_err *e)
{
	return sub_unsub(body, len, true, e);
}

json_object *
api_cmd_unsubscribe(const char *body, size_t len, struct api_err *e)
{
	return sub_unsub(body, len, false, e);
}

json_object *
api_cmd_plugin(
    const char *name, const char *body, size_t len, struct api_err *e)
{
	json_object *o = api_body_parse(body, len, e), *cmd;
	bool         active = false;

	if (o == NULL)
		return NULL;
	if (body_bool(o, "active", true, &active, e) < 0) {
		json_object_put(o);
		return NULL;
	}
	json_object_put(o);
	cmd = json_object_new_object();
	json_object_object_add(cmd, "cmd", json_object_new_string("plugin"));
	json_object_object_add(cmd, "name", json_object_new_string(name));
	json_object_object_add(cmd, "active", json_object_new_boolean(active));
	return cmd;
}

json_object *
api_cmd_kick(const char *client_id, size_t len)
{
	json_object *cmd = json_object_new_object();

	json_object_object_add(cmd, "cmd", json_object_new_string("kick"));
	add_str(cmd, "client_id", client_id, len);
	return cmd;
}
