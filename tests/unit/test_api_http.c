/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests for fcgi/api_http: decoding of paths, queries, pages. */
#include "config.h"

#include "fcgi/api_http.h"
#include "tests/harness/t.h"

#include <errno.h>

T_TEST(pct_decode_table)
{
	static const struct {
		const char *in;
		bool        plus;
		int         rc;
		const char *want;
	} rows[] = {
		{ "abc", false, 3, "abc" },
		{ "a%2Fb", false, 3, "a/b" },
		{ "a%2fb", false, 3, "a/b" },
		{ "a+b", false, 3, "a+b" },
		{ "a+b", true, 3, "a b" },
		{ "%E4%B8%AD", false, 3, "\xe4\xb8\xad" },
		{ "%22%5C", false, 2, "\"\\" },
		{ "%", false, -EINVAL, NULL },
		{ "%2", false, -EINVAL, NULL },
		{ "%zz", false, -EINVAL, NULL },
		{ "a%00b", false, -EINVAL, NULL },
		{ "", false, 0, "" },
	};
	char buf[32];

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		int rc = api_pct_decode(
		    buf, rows[i].in, strlen(rows[i].in), rows[i].plus);

		T_EQ(rc, rows[i].rc);
		if (rows[i].want)
			T_STREQ(buf, rows[i].want);
	}
}

T_TEST(query_get)
{
	const char *q = "a=1&curr_page=2&x&page_size=&b=%41+c&a=9";
	char        buf[16];

	T_EQ(api_query_get(q, strlen(q), "a", buf, sizeof(buf)), 1);
	T_STREQ(buf, "1"); /* the first one wins */
	T_EQ(api_query_get(q, strlen(q), "curr_page", buf, sizeof(buf)), 1);
	T_STREQ(buf, "2");
	T_EQ(api_query_get(q, strlen(q), "x", buf, sizeof(buf)), 0);
	T_EQ(api_query_get(q, strlen(q), "page_size", buf, sizeof(buf)), 0);
	T_EQ(api_query_get(q, strlen(q), "b", buf, sizeof(buf)), 3);
	T_STREQ(buf, "A c");
	T_EQ(api_query_get(q, strlen(q), "curr", buf, sizeof(buf)), -ENOENT);
	T_EQ(api_query_get(q, strlen(q), "b", buf, 3), -ENOSPC);
	T_EQ(api_query_get("", 0, "a", buf, sizeof(buf)), -ENOENT);
}

T_TEST(parse_u64)
{
	uint64_t v = 0;

	T_EQ(api_parse_u64("0", 10, &v), 0);
	T_EQ(v, 0);
	T_EQ(api_parse_u64("2500", 10000, &v), 0);
	T_EQ(v, 2500);
	T_EQ(api_parse_u64("10001", 10000, &v), -ERANGE);
	T_EQ(api_parse_u64("-1", 10, &v), -EINVAL);
	T_EQ(api_parse_u64("1a", 10, &v), -EINVAL);
	T_EQ(api_parse_u64(" 1", 10, &v), -EINVAL);
	T_EQ(api_parse_u64("", 10, &v), -EINVAL);
	T_EQ(api_parse_u64("99999999999999999999", UINT64_MAX, &v), -EINVAL);
}

T_TEST(page_parse)
{
	static const struct {
		const char *q;
		int         rc;
		uint64_t    page, size;
	} rows[] = {
		{ "", 0, 1, 20 },
		{ "curr_page=3&page_size=7", 0, 3, 7 },
		{ "page_size=10000", 0, 1, 10000 },
		{ "curr_page=0", -EINVAL, 0, 0 },
		{ "curr_page=-1", -EINVAL, 0, 0 },
		{ "curr_page=abc", -EINVAL, 0, 0 },
		{ "curr_page=", -EINVAL, 0, 0 },
		{ "page_size=0", -EINVAL, 0, 0 },
		{ "page_size=10001", -EINVAL, 0, 0 },
		{ "page_size=1.5", -EINVAL, 0, 0 },
	};
	char msg[128];

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct api_page p;
		int             rc = api_page_parse(
		                rows[i].q, strlen(rows[i].q), &p, msg, sizeof(msg));

		T_EQ(rc, rows[i].rc);
		if (rc == 0) {
			T_EQ(p.curr_page, rows[i].page);
			T_EQ(p.page_size, rows[i].size);
		} else {
			T_ASSERT(strstr(msg, "must be an integer") != NULL);
		}
	}
}

T_TEST(base64)
{
	unsigned char out[32];

	T_EQ(api_base64_decode("YWRtaW46cHVibGlj", 16, out, sizeof(out)), 12);
	T_MEMEQ(out, "admin:public", 12);
	T_EQ(api_base64_decode("YQ==", 4, out, sizeof(out)), 1);
	T_EQ(api_base64_decode("YQ", 2, out, sizeof(out)), 1);
	T_EQ(api_base64_decode("Y", 1, out, sizeof(out)), -EINVAL);
	T_EQ(api_base64_decode("Y!==", 4, out, sizeof(out)), -EINVAL);
	T_EQ(api_base64_decode("YWRtaW46cHVibGlj", 16, out, 4), -ENOSPC);
}

static const struct t_case cases[] = {
	T_ENTRY(pct_decode_table),
	T_ENTRY(query_get),
	T_ENTRY(parse_u64),
	T_ENTRY(page_parse),
	T_ENTRY(base64),
};

T_MAIN(cases)
