/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target for broker/mq_jwt.  Two runs per input:
 *   1. the input as a token, as a client would send it (base64url,
 *      splitting, header JSON, signature paths of every algorithm);
 *   2. the input as HEADER \0\0 PAYLOAD \0\0 CLIENTID \0\0 USERNAME, made
 *      into a token correctly signed with the HS256 secret, so that the
 *      claims, time checks and the ACL claim (with %u / %c) are reached
 *      with arbitrary JSON; the ACL is then asked about the client id as
 *      a topic and a filter.
 * Any result is fine; a crash, a leak or UB is not.
 */
#include "config.h"

#include "broker/mq_jwt.h"
#include "tests/harness/b64url.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static mq_jwt *hs, *es;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct mq_jwt_config c = { .secret = "fuzz",
		.leeway_s = 5,
		.verify_clientid = false,
		.acl_claim = "acl" };
	EVP_PKEY            *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	char                 path[] = "/tmp/fuzz-jwt-XXXXXX";
	int                  fd = mkstemp(path);
	FILE                *f = fd >= 0 ? fdopen(fd, "w") : NULL;

	if (k == NULL || f == NULL || PEM_write_PUBKEY(f, k) != 1)
		abort();
	fclose(f);
	EVP_PKEY_free(k);
	if (mq_jwt_new(&hs, &c) != 0)
		abort();
	c.secret = NULL;
	c.pubkey_file = path;
	c.verify_clientid = true;
	c.verify_username = true;
	if (mq_jwt_new(&es, &c) != 0)
		abort();
	unlink(path);
	return 0;
}

static void
piece(const uint8_t **p, const uint8_t *end, const char **s, size_t *n)
{
	const uint8_t *q = *p;

	while (q + 1 < end && !(q[0] == 0 && q[1] == 0))
		q++;
	if (q + 1 >= end)
		q = end;
	*s = (const char *) *p;
	*n = (size_t) (q - *p);
	*p = q + 1 < end ? q + 2 : end;
}

static void
ask(mq_jwt_acl *a, const char *s, size_t n)
{
	if (a == NULL)
		return;
	mq_jwt_acl_allows(a, s, n, true);
	mq_jwt_acl_allows(a, s, n, false);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size;
	const char    *h, *pl, *cid, *user;
	size_t         hn, pn, cn, un, n;
	static char    tok[4 * MQ_JWT_MAX];
	unsigned char  mac[32];
	unsigned       mn = 0;
	mq_jwt_acl    *a = NULL;

	mq_jwt_verify(
	    hs, (const char *) data, size, "c", 1, "u", 1, 1700000000, &a);
	mq_jwt_acl_free(&a);
	mq_jwt_verify(es, (const char *) data, size, NULL, 0, NULL, 0, 0, &a);
	mq_jwt_acl_free(&a);

	piece(&p, end, &h, &hn);
	piece(&p, end, &pl, &pn);
	piece(&p, end, &cid, &cn);
	piece(&p, end, &user, &un);
	if (hn + pn > MQ_JWT_MAX)
		return 0;
	n = t_b64url((const uint8_t *) h, hn, tok);
	tok[n++] = '.';
	n += t_b64url((const uint8_t *) pl, pn, tok + n);
	HMAC(EVP_sha256(), "fuzz", 4, (unsigned char *) tok, n, mac, &mn);
	tok[n++] = '.';
	n += t_b64url(mac, mn, tok + n);
	mq_jwt_verify(
	    hs, tok, n, cid, cn, un ? user : NULL, un, 1700000000, &a);
	ask(a, cid, cn);
	mq_jwt_acl_free(&a);
	return 0;
}
