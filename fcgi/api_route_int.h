/*
 * api_route_int.h: what the handler files of api_route share (private to
 * fcgi/, not an API).  A handler reads h->rq and the captures, and sets
 * either h->result (wrapped as {"code":0,"result":...}) or h->err.
 */
#ifndef API_ROUTE_INT_H
#define API_ROUTE_INT_H

#include "fcgi/api.h"
#include "fcgi/api_route.h"

struct hctx {
	struct api_thread        *t;
	const struct api_request *rq;
	bool                      up;   /* broker running, segment mapped */
	shm_node                  node; /* valid when up */
	const char               *node_name;
	char                     *node_param; /* decoded {node} */
	char                     *id; /* decoded {clientid}/{name}/{topic} */
	size_t                    id_len;
	json_object              *result; /* success */
	struct api_err            err;    /* err.code != 0: error */
};

typedef void handler_fn(struct hctx *h);

/* fcgi/api_route_users.c: the users routes of EMQ 2.3's dashboard API. */
handler_fn api__users_list, api__user_add, api__user_get, api__user_put,
    api__user_delete, api__auth, api__change_pwd;

#endif
