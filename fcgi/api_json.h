/*
 * api_json: segment records -> json-c objects in EMQ 2.3's shapes, keys
 * in the REST doc's order (json-c keeps insertion order).
 *
 * Every function returns a new object owned by the caller; adding it to a
 * parent with json_object_object_add/json_object_array_add passes that
 * ownership on, so a response is one tree and only its root is put.
 * Strings come from shm_str (not NUL-terminated) and may hold any bytes;
 * json-c escapes quotes, backslashes and control characters.
 */
#ifndef API_JSON_H
#define API_JSON_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "fcgi/api.h"
#include "fcgi/api_http.h"
#include "shm/shm.h"

/*
 * Serializes a tree as json-c's JSON_C_TO_STRING_PLAIN |
 * JSON_C_TO_STRING_NOSLASHESCAPE would (same bytes; doubles excepted,
 * which these shapes never hold), but into one malloc'd buffer with plain
 * memcpy: json-c's printbuf and its snprintf per integer were half the
 * cost of a page of clients.  *buf (of *cap bytes, may be NULL/0) is
 * reused and grown with realloc, so a thread can keep one buffer across
 * responses; the text is NUL-terminated.  Returns 0 (*buf, *cap, *len
 * set) or -ENOMEM (*buf still the caller's to free).
 */
int api_json_write(json_object *root, char **buf, size_t *cap, size_t *len);

/* {"code":0,"result":result}; takes ownership of result. */
json_object *api_json_ok(json_object *result);
/* {"code":N,"message":"..."} */
json_object *api_json_err(const struct api_err *e);

json_object *api_json_client(const shm_client *c);
json_object *api_json_session(const shm_session *s);
json_object *api_json_subscription(const shm_subscription *s);
json_object *api_json_route(const shm_route *rt);
json_object *api_json_plugin(const shm_plugin *p);

/* One listener row; shutdown_count is [] when all counts are zero, else
 * {"reason":count,...} (EMQ encodes an empty proplist as []). */
json_object *api_json_listener(const shm_listener *l);

/* The 38 metrics in the doc's order, the 14 stats in the doc's order. */
json_object *api_json_metrics(const uint64_t m[SHM_METRIC_COUNT]);
json_object *api_json_stats(const uint64_t s[SHM_STAT_COUNT]);

/* {"current_page","page_size","total_num","total_page","objects"};
 * takes ownership of objects. */
json_object *api_json_page(
    const struct api_page *p, uint64_t total, json_object *objects);

/* What the node routes show; node is NULL while the broker is down. */
struct api_node_view {
	const char     *name;
	const shm_node *node;
	uint64_t        clients;
	double          load[3];
	time_t          now;
};

/* management/nodes: with_name adds "name" first (the list form). */
json_object *api_json_mgmt_node(const struct api_node_view *v, bool with_name);
/* monitoring/nodes */
json_object *api_json_mon_node(const struct api_node_view *v);

#endif
