/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * api_route: one HTTP request in, one response out.  Owns the route
 * table of /api/v2 (EMQ 2.3's routes plus the per-node forms), the auth
 * check in front of it, /status, /metrics and the path listing.
 *
 * A worker thread keeps one api_thread (its own segment reader, because a
 * shm_reader is not thread-safe) and calls api_handle() per request;
 * nothing else is shared between threads except the process's api_auth.
 */
#ifndef API_ROUTE_H
#define API_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fcgi/api_auth.h"
#include "shm/shm.h"

struct api_config {
	const char *state_dir;    /* its record names the segment */
	const char *node;         /* configured node name */
	const char *users_path;   /* STATE_DIR/users */
	const char *ctl_path;     /* STATE_DIR/mqttd.ctl */
	const char *admin_user;   /* cannot be deleted (besides "admin") */
	const char *http_listen;  /* nginx's listeners, for mqtt:api rows */
	const char *https_listen; /* NULL or "" when none */
	int         workers, threads;
	int         ctl_timeout_ms;
	/* requests being served by all workers right now (NULL: 0) */
	uint64_t (*inflight)(void);
};

struct api_thread {
	const struct api_config *cfg;
	api_auth                *auth;
	shm_reader              *shm; /* NULL until the segment exists */
	/* api_route's view of the broker, re-checked every
	 * API_SEGMENT_CHECK_MS: shm_reader_refresh and shm_node_get cost
	 * system calls (shm_open, fstat, kill), too many for every request. */
	int64_t  checked_ms;
	bool     up;
	shm_node node;
};

#define API_SEGMENT_CHECK_MS 100

struct api_request {
	const char *method;
	const char *uri; /* REQUEST_URI as sent: %-encoded, may hold '?' */
	const char *query;
	const char *authorization; /* NULL if none */
	bool        gate;          /* MQTTD_AUTH_GATE: never hash, redirect */
	const char *body;
	size_t      body_len;
};

struct api_response {
	int         status;        /* 200, 401, 404, 503 */
	const char *content_type;  /* NULL: no body */
	const char *extra_headers; /* "Name: value\r\n"... or NULL */
	char       *body;          /* malloc'd, or NULL */
	size_t      cap;           /* bytes allocated at body */
	size_t      len;
};

/* Fills rs; give it back with api_response_release().  Never fails:
 * errors are responses. */
void api_handle(struct api_thread *t, const struct api_request *rq,
    struct api_response *rs);

/* Frees rs->body, or keeps it as this thread's buffer for the next
 * response (a 4 KB malloc per request made glibc consolidate its fast
 * bins every time). */
void api_response_release(struct api_response *rs);

#endif
