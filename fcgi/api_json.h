/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * api_json: EMQ 2.3's /api/v2 shapes, written from segment records with
 * fcgi/api_jw, keys in the REST doc's order.
 *
 * Each function writes one complete JSON value where the writer stands
 * (after a key, in an array, or as the root).  Strings come from shm_str
 * (not NUL-terminated) and may hold any bytes; api_jw escapes them.
 */
#ifndef API_JSON_H
#define API_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "fcgi/api.h"
#include "fcgi/api_http.h"
#include "fcgi/api_jw.h"
#include "shm/shm.h"

/* {"code":0,"result": ... }: begin writes up to the result's key, the
 * caller writes the result, end closes the envelope. */
void api_json_ok_begin(struct api_jw *w);
void api_json_ok_end(struct api_jw *w);
/* {"code":N,"message":"..."} */
void api_json_err(struct api_jw *w, const struct api_err *e);

/* protocol: the name of the client's listener ("mqtt:ssl"), NULL for
 * none (the field is left out). */
void api_json_client(
    struct api_jw *w, const shm_client *c, const char *protocol);
void api_json_session(struct api_jw *w, const shm_session *s);
void api_json_subscription(struct api_jw *w, const shm_subscription *s);
void api_json_route(struct api_jw *w, const shm_route *rt);
void api_json_plugin(struct api_jw *w, const shm_plugin *p);

/* One listener row; shutdown_count is [] when all counts are zero, else
 * {"reason":count,...} (EMQ encodes an empty proplist as []). */
void api_json_listener(struct api_jw *w, const shm_listener *l);

/* The 38 metrics in the doc's order, the 14 stats in the doc's order. */
void api_json_metrics(struct api_jw *w, const uint64_t m[SHM_METRIC_COUNT]);
/* store: the store's figures, as extras "store/<figure>" after EMQ's
 * 14 (NULL: none). */
void api_json_stats(
    struct api_jw *w, const uint64_t s[SHM_STAT_COUNT], const uint64_t *store);

/* {"current_page","page_size","total_num","total_page","objects":[ ...
 * ]}: begin writes up to the open array, the caller writes the records,
 * end closes both. */
void api_json_page_begin(
    struct api_jw *w, const struct api_page *p, uint64_t total);
void api_json_page_end(struct api_jw *w);

/* What the node routes show; node is NULL while the broker is down. */
struct api_node_view {
	const char     *name;
	const shm_node *node;
	uint64_t        clients;
	double          load[3];
	time_t          now;
};

/* management/nodes: with_name adds "name" first (the list form). */
void api_json_mgmt_node(
    struct api_jw *w, const struct api_node_view *v, bool with_name);
/* monitoring/nodes */
void api_json_mon_node(struct api_jw *w, const struct api_node_view *v);

#endif
