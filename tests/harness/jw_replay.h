/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * jw_replay.h: writes a json-c tree through fcgi/api_jw, so that tests
 * and the fuzzer can hold the writer's bytes against json-c's own
 * (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE) for the same
 * document.  Doubles are not part of the writer; callers skip trees that
 * hold one (jw_replay_has_double).
 */
#ifndef JW_REPLAY_H
#define JW_REPLAY_H

#include <json-c/json.h>
#include <stdbool.h>
#include <string.h>

#include "fcgi/api_jw.h"

static inline bool
jw_replay_has_double(json_object *o)
{
	switch (json_object_get_type(o)) {
	case json_type_double:
		return true;
	case json_type_array:
		for (size_t i = 0; i < json_object_array_length(o); i++)
			if (jw_replay_has_double(
			        json_object_array_get_idx(o, i)))
				return true;
		return false;
	case json_type_object: {
		json_object_object_foreach(o, k, v)
		{
			(void) k;
			if (jw_replay_has_double(v))
				return true;
		}
		return false;
	}
	default:
		return false;
	}
}

static inline void
jw_replay(struct api_jw *w, json_object *o)
{
	switch (json_object_get_type(o)) {
	case json_type_null:
		api_jw_null(w);
		break;
	case json_type_boolean:
		api_jw_bool(w, json_object_get_boolean(o));
		break;
	case json_type_int:
		if (json_object_get_int64(o) < 0)
			api_jw_i64(w, json_object_get_int64(o));
		else
			api_jw_u64(w, json_object_get_uint64(o));
		break;
	case json_type_string:
		api_jw_str(w, json_object_get_string(o),
		    (size_t) json_object_get_string_len(o));
		break;
	case json_type_array:
		api_jw_array(w);
		for (size_t i = 0; i < json_object_array_length(o); i++)
			jw_replay(w, json_object_array_get_idx(o, i));
		api_jw_array_end(w);
		break;
	case json_type_object: {
		api_jw_object(w);
		json_object_object_foreach(o, k, v)
		{
			api_jw_key(w, k);
			jw_replay(w, v);
		}
		api_jw_object_end(w);
		break;
	}
	default:
		break;
	}
}

/* json-c's text for o. */
static inline const char *
jw_replay_json_c(json_object *o, size_t *len)
{
	return json_object_to_json_string_length(
	    o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, len);
}

#endif
