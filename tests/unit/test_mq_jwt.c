/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for broker/mq_jwt: tokens signed here with OpenSSL (HS*,
 * RS256, ES256 with keys made for the run), then verified: signatures,
 * algorithm confusion, exp / nbf with leeway, claim checks, ACL claims,
 * and a table of malformed tokens that must be refused.
 */
#include "config.h"

#include "broker/mq_jwt.h"
#include "tests/harness/b64url.h"
#include "broker/mq_trie.h"
#include "tests/harness/t.h"

#include <errno.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <stdbool.h>

#define NOW 1700000000

static char tok[MQ_JWT_MAX * 2];

/* base64url, NUL-terminated */
static size_t
b64z(const unsigned char *in, size_t n, char *out)
{
	size_t k = t_b64url(in, n, out);

	out[k] = 0;
	return k;
}

/* "b64(hdr).b64(payload)" into tok; returns its length. */
static size_t
signing_input(const char *hdr, const char *pl)
{
	size_t n = b64z((const unsigned char *) hdr, strlen(hdr), tok);

	tok[n++] = '.';
	return n + b64z((const unsigned char *) pl, strlen(pl), tok + n);
}

static const char *
hs(const char *alg, const char *secret, const char *pl)
{
	char          hdr[64];
	unsigned char mac[64];
	unsigned      mn = 0;
	const EVP_MD *md = strcmp(alg, "HS384") == 0 ? EVP_sha384()
	    : strcmp(alg, "HS512") == 0              ? EVP_sha512()
	                                             : EVP_sha256();
	size_t        n;

	snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\",\"typ\":\"JWT\"}", alg);
	n = signing_input(hdr, pl);
	HMAC(md, secret, (int) strlen(secret), (unsigned char *) tok, n, mac,
	    &mn);
	tok[n++] = '.';
	b64z(mac, mn, tok + n);
	return tok;
}

static const char *
pk_sign(const char *alg, EVP_PKEY *k, const char *pl)
{
	char           hdr[64];
	unsigned char  sig[1024], raw[64];
	size_t         sn = sizeof(sig), n;
	EVP_MD_CTX    *ctx = EVP_MD_CTX_new();
	const uint8_t *p = sig;

	snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\"}", alg);
	n = signing_input(hdr, pl);
	T_ASSERT(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, k) == 1);
	T_ASSERT(EVP_DigestSign(ctx, sig, &sn, (unsigned char *) tok, n) == 1);
	EVP_MD_CTX_free(ctx);
	tok[n++] = '.';
	if (strcmp(alg, "ES256") == 0) { /* DER -> JOSE r || s */
		ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long) sn);

		T_ASSERT(es != NULL);
		BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, 32);
		BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + 32, 32);
		ECDSA_SIG_free(es);
		b64z(raw, 64, tok + n);
	} else {
		b64z(sig, sn, tok + n);
	}
	return tok;
}

static mq_jwt *
verifier(const struct mq_jwt_config *c)
{
	mq_jwt *j = NULL;

	T_EQ(mq_jwt_new(&j, c), 0);
	return j;
}

static enum mq_jwt_result
check(const mq_jwt *j, const char *t, const char *cid, const char *user)
{
	return mq_jwt_verify(j, t, strlen(t), cid, cid ? strlen(cid) : 0, user,
	    user ? strlen(user) : 0, NOW, NULL);
}

T_TEST(hmac_algorithms)
{
	struct mq_jwt_config c = { .secret = "s3cret" };
	mq_jwt              *j = verifier(&c);
	const char          *algs[] = { "HS256", "HS384", "HS512" };

	for (int i = 0; i < 3; i++) {
		T_EQ(check(j, hs(algs[i], "s3cret", "{\"sub\":\"x\"}"), "c",
		         "u"),
		    MQ_JWT_OK);
		T_EQ(check(j, hs(algs[i], "other", "{}"), "c", "u"),
		    MQ_JWT_BAD_SIGNATURE);
	}
	/* A flipped payload byte breaks the signature. */
	hs("HS256", "s3cret", "{\"a\":1}");
	tok[strchr(tok, '.') - tok + 2] ^= 1;
	T_ASSERT(check(j, tok, "c", "u") != MQ_JWT_OK);
	mq_jwt_free(&j);
	T_ASSERT(j == NULL);
}

T_TEST(algorithm_confusion)
{
	struct mq_jwt_config c = { .secret = "k" };
	mq_jwt              *j = verifier(&c);
	char                 t[256];
	size_t               n;

	/* alg none, with or without a signature */
	n = signing_input("{\"alg\":\"none\"}", "{}");
	memcpy(t, tok, n);
	strcpy(t + n, ".");
	T_EQ(check(j, t, "c", "u"), MQ_JWT_MALFORMED);
	strcpy(t + n, ".AAAA");
	T_EQ(check(j, t, "c", "u"), MQ_JWT_BAD_ALG);
	/* RS256 without a public key configured */
	n = signing_input("{\"alg\":\"RS256\"}", "{}");
	memcpy(t, tok, n);
	strcpy(t + n, ".AAAA");
	T_EQ(check(j, t, "c", "u"), MQ_JWT_BAD_ALG);
	mq_jwt_free(&j);
	c.secret = NULL;
	T_EQ(mq_jwt_new(&j, &c), -EINVAL);
}

static char *
write_pub(EVP_PKEY *k, char *path)
{
	FILE *f;
	int   fd = mkstemp(path);

	T_ASSERT(fd >= 0);
	f = fdopen(fd, "w");
	T_ASSERT(PEM_write_PUBKEY(f, k) == 1);
	fclose(f);
	return path;
}

T_TEST(rs256_and_es256)
{
	EVP_PKEY            *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", 2048);
	EVP_PKEY            *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	char                 rp[] = "/tmp/jwt-rsa-XXXXXX";
	char                 ep[] = "/tmp/jwt-ec-XXXXXX";
	struct mq_jwt_config c = { .pubkey_file = write_pub(rsa, rp) };
	mq_jwt              *jr = verifier(&c), *je;

	c.pubkey_file = write_pub(ec, ep);
	je = verifier(&c);
	T_EQ(check(jr, pk_sign("RS256", rsa, "{\"u\":1}"), "c", "u"),
	    MQ_JWT_OK);
	T_EQ(
	    check(je, pk_sign("ES256", ec, "{\"u\":1}"), "c", "u"), MQ_JWT_OK);
	/* each key only for its own algorithm, no HMAC at all */
	T_EQ(check(je, pk_sign("RS256", rsa, "{}"), "c", "u"), MQ_JWT_BAD_ALG);
	T_EQ(check(jr, pk_sign("ES256", ec, "{}"), "c", "u"), MQ_JWT_BAD_ALG);
	T_EQ(check(jr, hs("HS256", "x", "{}"), "c", "u"), MQ_JWT_BAD_ALG);
	/* a token signed by another key of the same kind */
	{
		EVP_PKEY *ec2 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");

		T_EQ(check(je, pk_sign("ES256", ec2, "{}"), "c", "u"),
		    MQ_JWT_BAD_SIGNATURE);
		EVP_PKEY_free(ec2);
	}
	unlink(rp);
	unlink(ep);
	mq_jwt_free(&jr);
	c.pubkey_file = "/nonexistent/key.pem";
	T_EQ(mq_jwt_new(&jr, &c), -ENOENT);
	T_ASSERT(jr == NULL);
	mq_jwt_free(&je);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(ec);
}

T_TEST(time_claims_with_leeway)
{
	struct mq_jwt_config c = { .secret = "k", .leeway_s = 5 };
	mq_jwt              *j = verifier(&c);
	char                 pl[128];
	/* {"NAME":PRE(NOW + d)POST} */
	static const struct {
		const char        *name, *pre, *post;
		long               d;
		enum mq_jwt_result r;
	} rows[] = {
		{ "exp", "", "", 100, MQ_JWT_OK },
		{ "exp", "", "", -5, MQ_JWT_OK }, /* within leeway */
		{ "exp", "", "", -6, MQ_JWT_EXPIRED },
		{ "exp", "", ".5", -5, MQ_JWT_OK },      /* -4.5 */
		{ "exp", "", ".5", -6, MQ_JWT_EXPIRED }, /* -5.5 */
		{ "nbf", "", "", 5, MQ_JWT_OK },
		{ "nbf", "", "", 6, MQ_JWT_NOT_YET },
		{ "exp", "\"", "\"", 100, MQ_JWT_MALFORMED },
		{ "nbf", "[", "]", 0, MQ_JWT_MALFORMED },
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		snprintf(pl, sizeof(pl), "{\"%s\":%s%ld%s}", rows[i].name,
		    rows[i].pre, NOW + rows[i].d, rows[i].post);
		if (check(j, hs("HS256", "k", pl), "c", "u") != rows[i].r)
			T_FAIL_AT("row %zu: %s", i, pl);
	}
	mq_jwt_free(&j);
}

T_TEST(claim_checks)
{
	struct mq_jwt_config c = {
		.secret = "k", .verify_clientid = true, .verify_username = true
	};
	mq_jwt     *j = verifier(&c);
	const char *pl = "{\"clientid\":\"dev1\",\"username\":\"ann\"}";

	T_EQ(check(j, hs("HS256", "k", pl), "dev1", "ann"), MQ_JWT_OK);
	T_EQ(check(j, hs("HS256", "k", pl), "dev2", "ann"), MQ_JWT_CLAIM);
	T_EQ(check(j, hs("HS256", "k", pl), "dev1", "bob"), MQ_JWT_CLAIM);
	T_EQ(check(j, hs("HS256", "k", pl), "dev1", NULL), MQ_JWT_CLAIM);
	T_EQ(check(j, hs("HS256", "k", "{\"clientid\":\"dev1\"}"), "dev1",
	         "ann"),
	    MQ_JWT_CLAIM);
	mq_jwt_free(&j);
}

T_TEST(acl_claim)
{
	struct mq_jwt_config c = { .secret = "k", .acl_claim = "acl" };
	mq_jwt              *j = verifier(&c);
	mq_jwt_acl          *a = NULL;
	const char          *t;

	t = hs("HS256", "k",
	    "{\"acl\":{\"pub\":[\"up/%c/#\",\"bad/#/x\"],"
	    "\"sub\":[\"down/%u/+\"],\"pubsub\":[\"both\"]}}");
	T_EQ(mq_jwt_verify(j, t, strlen(t), "d1", 2, "ann", 3, NOW, &a),
	    MQ_JWT_OK);
	T_ASSERT(a != NULL);
	T_ASSERT(mq_jwt_acl_allows(a, "up/d1/x/y", 9, true));
	T_ASSERT(!mq_jwt_acl_allows(a, "up/d2/x", 7, true));
	T_ASSERT(mq_jwt_acl_allows(a, "both", 4, true));
	T_ASSERT(mq_jwt_acl_allows(a, "both", 4, false));
	T_ASSERT(mq_jwt_acl_allows(a, "down/ann/+", 10, false));
	T_ASSERT(mq_jwt_acl_allows(a, "down/ann/x", 10, false));
	T_ASSERT(!mq_jwt_acl_allows(a, "down/ann/#", 10, false));
	T_ASSERT(!mq_jwt_acl_allows(a, "down/ann/x", 10, true));
	mq_jwt_acl_free(&a);
	T_ASSERT(a == NULL);
	/* an unsafe %u drops its filter: it grants nothing */
	t = hs("HS256", "k", "{\"acl\":{\"sub\":[\"down/%u\"]}}");
	T_EQ(mq_jwt_verify(j, t, strlen(t), "d1", 2, "a/#", 3, NOW, &a),
	    MQ_JWT_OK);
	T_ASSERT(!mq_jwt_acl_allows(a, "down/a/#", 8, false));
	mq_jwt_acl_free(&a);
	/* no claim, no ACL; a claim of the wrong shape is a refusal */
	t = hs("HS256", "k", "{}");
	T_EQ(mq_jwt_verify(j, t, strlen(t), "d1", 2, "u", 1, NOW, &a),
	    MQ_JWT_OK);
	T_ASSERT(a == NULL);
	t = hs("HS256", "k", "{\"acl\":{\"pub\":\"a/b\"}}");
	T_EQ(mq_jwt_verify(j, t, strlen(t), "d1", 2, "u", 1, NOW, &a),
	    MQ_JWT_MALFORMED);
	T_ASSERT(a == NULL);
	mq_jwt_free(&j);
}

T_TEST(malformed_tokens)
{
	struct mq_jwt_config c = { .secret = "k" };
	mq_jwt              *j = verifier(&c);
	static const char   *bad[] = {
		  "", "abc", "a.b", "a.b.c.d", "..", "eyJhbGciOiJIUzI1NiJ9..",
		  "eyJhbGciOiJIUzI1NiJ9.e30.",
		  "eyJhbGciOiJIUzI1NiJ9.e30.a",      /* len % 4 == 1 */
		  "eyJhbGciOiJIUzI1NiJ9.e30=.AAAA",  /* padding */
		  "eyJhbGciOiJIUzI1NiJ9.e31.AAAA",   /* stray bits */
		  "e30.e30.AAAA",                    /* no alg */
		  "WzFd.e30.AAAA",                   /* header [1] */
		  "eyJhbGciOjF9.e30.AAAA",           /* alg 1 */
		  "eyJhbGciOiJIUzI1NiJ9IA.e30.AAAA", /* trailing space */
	};
	char big[MQ_JWT_MAX + 2];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (check(j, bad[i], "c", "u") == MQ_JWT_OK)
			T_FAIL_AT("accepted %s", bad[i]);
	/* the payload must be one object, not an array or two values */
	T_EQ(check(j, hs("HS256", "k", "[1]"), "c", "u"), MQ_JWT_MALFORMED);
	T_EQ(check(j, hs("HS256", "k", "{}{}"), "c", "u"), MQ_JWT_MALFORMED);
	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	big[10] = '.';
	big[20] = '.';
	T_EQ(check(j, big, "c", "u"), MQ_JWT_MALFORMED);
	T_STREQ(mq_jwt_result_str(MQ_JWT_EXPIRED), "expired");
	mq_jwt_free(&j);
}

T_TEST(topic_covers)
{
	T_ASSERT(mq_topic_covers("a/+", 3, "a/b", 3));
	T_ASSERT(mq_topic_covers("a/+", 3, "a/+", 3));
	T_ASSERT(!mq_topic_covers("a/+", 3, "a/#", 3));
	T_ASSERT(mq_topic_covers("a/#", 3, "a", 1));
	T_ASSERT(mq_topic_covers("a/#", 3, "a/+/c", 5));
	T_ASSERT(mq_topic_covers("#", 1, "$SYS/#", 6));
	T_ASSERT(!mq_topic_covers("a/b", 3, "a/+", 3));
	T_ASSERT(!mq_topic_covers("a/b", 3, "a/b/c", 5));
}

static const struct t_case cases[] = {
	T_ENTRY(hmac_algorithms),
	T_ENTRY(algorithm_confusion),
	T_ENTRY(rs256_and_es256),
	T_ENTRY(time_claims_with_leeway),
	T_ENTRY(claim_checks),
	T_ENTRY(acl_claim),
	T_ENTRY(malformed_tokens),
	T_ENTRY(topic_covers),
};

T_MAIN(cases)
