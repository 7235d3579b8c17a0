/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * api: what every module of mqttd-api shares: the /api/v2 result codes.
 *
 * These are EMQ 2.3's codes (emqttd_http.hrl): an error is HTTP 200 with
 * {"code":N,"message":"..."}.  The REST doc's table stops at 113 and names
 * it "new password mismatch"; EMQ 2.3.11's code uses 113 for "user already
 * exists" and 114 for "old password wrong", and so do we.  115 is ours:
 * EMQ 2.3 had no roles; a viewer's write is HTTP 403 with code 115.
 */
#ifndef API_H
#define API_H

#include <stdint.h>
#include <time.h>

enum api_code {
	API_OK = 0,
	API_EBADRPC = 101,     /* broker down, no reply, unknown node */
	API_EUNKNOWN = 102,    /* unknown error, unknown plugin */
	API_EAUTH = 103,       /* username or password wrong */
	API_EEMPTY = 104,      /* username or password empty */
	API_ENOUSER = 105,     /* no such user */
	API_EADMIN = 106,      /* admin cannot be deleted */
	API_EMISSING = 107,    /* request parameter missing */
	API_ETYPE = 108,       /* request parameter of wrong type or value */
	API_ENOTJSON = 109,    /* body is not a JSON object */
	API_EACTIVE = 110,     /* plugin already active */
	API_EINACTIVE = 111,   /* plugin already inactive */
	API_EOFFLINE = 112,    /* client not connected / no session */
	API_EUSEREXISTS = 113, /* user already exists */
	API_EOLDPWD = 114,     /* old password wrong */
	API_EFORBIDDEN = 115,  /* the user's role may not do this (HTTP 403) */
};

/* An error outcome: a code of enum api_code and its message. */
struct api_err {
	int  code;
	char msg[200];
};

/* Sets e's code and printf-formatted message; returns code. */
int api_err_set(struct api_err *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* clk (CLOCK_MONOTONIC, or _COARSE where a tick is close enough) in ms. */
static inline int64_t
api_clock_ms(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif
