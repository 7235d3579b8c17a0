/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * api_route_int.h: what the handler files of api_route share (private to
 * fcgi/, not an API).  A handler reads h->rq and the captures, and either
 * writes its result (one JSON value) with h->w, which dispatch has put
 * inside {"code":0,"result": ... } (nothing written means []), or sets
 * h->err, and then whatever it wrote is dropped for the error's envelope.
 */
#ifndef API_ROUTE_INT_H
#define API_ROUTE_INT_H

#include "fcgi/api.h"
#include "fcgi/api_jw.h"
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
	enum api_role             role; /* of the authenticated user */
	struct api_jw            *w;    /* the response, at "result": */
	struct api_err            err;  /* err.code != 0: error */
};

typedef void handler_fn(struct hctx *h);

enum {
	F_SHM = 1,   /* needs the live segment, else 101 */
	F_FRESH = 2, /* shows the node's state: look at the segment now */
};

struct route {
	const char *method;
	const char
	    *pattern; /* segments; {node}, {clientid}, {name}, {topic} */
	handler_fn *fn;
	unsigned    flags;
};

/* fcgi/api_route_data.c: the table, in the order the listing shows. */
extern const struct route api__routes[];
extern const size_t       api__nroutes;

static inline shm_reader *
R(struct hctx *h)
{
	return h->t->shm;
}

/* Answers 101 for a failed segment read and re-checks the segment on the
 * next request; returns 101. */
int api__seg_err(struct hctx *h, int rc);

/* The broker's listeners and then the API's own (nginx's). */
struct lis_vec {
	shm_listener *v;
	size_t        n, cap;
};
int api__listeners_get(struct hctx *h, struct lis_vec *lv);

/* fcgi/api_route_users.c: the users routes of EMQ 2.3's dashboard API. */
handler_fn api__users_list, api__user_add, api__user_get, api__user_put,
    api__user_delete, api__auth, api__change_pwd;

#endif
