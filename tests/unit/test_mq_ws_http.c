/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for broker/mq_ws_http: RFC 6455's own example key, each
 * refusal with its status, requests cut at every length, and the
 * sub-protocol the answer names.
 */
#include "config.h"

#include "broker/mq_ws_http.h"
#include "tests/harness/t.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define KEY  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
#define VER  "Sec-WebSocket-Version: 13\r\n"
#define UPG  "Upgrade: websocket\r\nConnection: Upgrade\r\n"
#define GOOD "GET /mqtt HTTP/1.1\r\nHost: h\r\n" UPG KEY VER

static const struct mq_ws_http_cfg any = { "/mqtt", NULL };

static int
parse(
    const char *s, const struct mq_ws_http_cfg *cfg, struct mq_ws_http_req *r)
{
	return mq_ws_http_parse((const uint8_t *) s, strlen(s), cfg, r);
}

T_TEST(rfc_example)
{
	struct mq_ws_http_req r;
	const char *req = GOOD "Sec-WebSocket-Protocol: mqtt\r\n\r\n";
	char        ans[512];

	T_EQ(parse(req, &any, &r), (int) strlen(req));
	T_EQ(r.status, 101);
	/* RFC 6455 1.3 */
	T_STREQ(r.accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
	T_STREQ(r.subprotocol, "mqtt");
	mq_ws_http_answer(&r, ans, sizeof(ans));
	T_ASSERT(strstr(ans, "HTTP/1.1 101 Switching Protocols\r\n") == ans);
	T_ASSERT(strstr(ans, "Sec-WebSocket-Protocol: mqtt\r\n") != NULL);
	T_ASSERT(strstr(ans, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n") != NULL);
	/* every prefix wants more, never a verdict */
	for (size_t n = 0; n < strlen(req); n++)
		if (mq_ws_http_parse((const uint8_t *) req, n, &any, &r) != 0)
			T_FAIL_AT("prefix %zu decided", n);
	/* frames right behind the head are not the head's */
	{
		char buf[1024];

		snprintf(buf, sizeof(buf), "%s\x82\x80", req);
		T_EQ(parse(buf, &any, &r), (int) strlen(req));
	}
}

T_TEST(refusals)
{
	static const struct {
		const char *req;
		int         status;
	} t[] = {
		{ "GET /x HTTP/1.1\r\nHost: h\r\n" UPG KEY VER "\r\n", 404 },
		{ "GET /mqtt?a=b HTTP/1.1\r\nHost: h\r\n" UPG KEY VER "\r\n",
		    101 },
		{ "GET /mqtt HTTP/1.1\r\n" UPG KEY VER "\r\n", 400 },
		{ "GET /mqtt HTTP/1.1\r\nHost: h\r\nHost: i\r\n" UPG KEY VER
		  "\r\n",
		    400 },
		{ "GET /mqtt HTTP/1.1\r\nHost: h\r\n" KEY VER "\r\n", 400 },
		{ "GET /mqtt HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n" KEY
		        VER "\r\n",
		    400 },
		{ "GET /mqtt HTTP/1.1\r\nHost: h\r\nUpgrade: h2c, "
		  "WebSocket\r\n"
		  "Connection: keep-alive, Upgrade\r\n" KEY VER "\r\n",
		    101 },
		{ "GET /mqtt HTTP/1.1\r\nHost: h\r\n" UPG KEY "\r\n", 426 },
		{ "GET /mqtt HTTP/1.1\r\nHost: h\r\n" UPG KEY
		  "Sec-WebSocket-Version: 8\r\n\r\n",
		    426 },
		{ "GET /mqtt HTTP/1.1\r\nHost: h\r\n" UPG VER "\r\n", 400 },
		{ "GET /mqtt HTTP/1.1\r\nHost: h\r\n" UPG VER
		  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ\r\n\r\n",
		    400 },
		{ "GET /mqtt HTTP/1.1\r\nHost: h\r\n" UPG KEY KEY VER "\r\n",
		    400 },
		{ GOOD "Sec-WebSocket-Protocol: chat\r\n\r\n", 400 },
		{ GOOD "Sec-WebSocket-Protocol: chat\r\n"
		       "Sec-WebSocket-Protocol: mqttv3.1\r\n\r\n",
		    101 },
		{ GOOD "Content-Length: 3\r\n\r\n", 400 },
		{ GOOD "Transfer-Encoding: chunked\r\n\r\n", 400 },
		{ GOOD "X: a\r\n b\r\n\r\n", 400 },
		{ GOOD "Bad Name: x\r\n\r\n", 400 },
		{ GOOD ": x\r\n\r\n", 400 },
		{ "GET /mqtt HTTP/1.0\r\nHost: h\r\n" UPG KEY VER "\r\n",
		    400 },
		{ "GET  /mqtt HTTP/1.1\r\nHost: h\r\n" UPG KEY VER "\r\n",
		    400 },
		{ "PUT /mqtt", 400 },
		{ "\x10\x0c\x00\x04MQTT", 400 },
		{ "GET /mqtt HTTP/1.1\nHost: h\n", 400 },
		{ "GET /mqtt HTTP/1.1\r\nHost: \x01\r\n", 400 },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct mq_ws_http_req r;
		int                   rc = parse(t[i].req, &any, &r);

		if (t[i].status == 101 ? rc <= 0 : rc != -EINVAL)
			T_FAIL_AT("case %zu: rc %d", i, rc);
		if (r.status != t[i].status)
			T_FAIL_AT("case %zu: status %d", i, r.status);
	}
}

T_TEST(bounds_and_origins)
{
	static char                 big[MQ_WS_HTTP_MAX + 64];
	struct mq_ws_http_req       r;
	const struct mq_ws_http_cfg o = { "/mqtt", "https://a.example, b" };
	char                        ans[512];

	memcpy(big, "GET /mqtt HTTP/1.1\r\nX: ", 23);
	memset(big + 23, 'a', sizeof(big) - 24);
	T_EQ(mq_ws_http_parse(
	         (const uint8_t *) big, MQ_WS_HTTP_MAX - 1, &any, &r),
	    0);
	T_EQ(
	    mq_ws_http_parse((const uint8_t *) big, sizeof(big) - 1, &any, &r),
	    -EINVAL);
	T_EQ(r.status, 400);
	T_ASSERT(parse(GOOD "Origin: HTTPS://A.example\r\n\r\n", &o, &r) > 0);
	T_EQ(parse(GOOD "Origin: https://c.example\r\n\r\n", &o, &r), -EINVAL);
	T_EQ(r.status, 403);
	T_EQ(parse(GOOD "\r\n", &o, &r), -EINVAL);
	T_EQ(r.status, 403);
	mq_ws_http_answer(&r, ans, sizeof(ans));
	T_ASSERT(strstr(ans, "HTTP/1.1 403 Forbidden\r\n") == ans);
	T_ASSERT(strstr(ans, "Connection: close\r\n") != NULL);
	T_ASSERT(parse(GOOD "\r\n", &any, &r) > 0);
	T_ASSERT(r.subprotocol == NULL);
}

static const struct t_case cases[] = {
	T_ENTRY(rfc_example),
	T_ENTRY(refusals),
	T_ENTRY(bounds_and_origins),
};

T_MAIN(cases)
