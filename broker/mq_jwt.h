/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mq_jwt: JSON Web Tokens (RFC 7519) as credentials, the core of the
 * mqttd_auth_jwt plugin.  Pure: bytes and a clock in, a verdict out; no
 * I/O after mq_jwt_new, no shared state, so any thread may verify.
 *
 * A token is accepted when it is three base64url parts (JWS compact, no
 * padding, at most MQ_JWT_MAX bytes), its header names an algorithm the
 * configured key is for, the signature verifies, and its claims pass:
 *
 *   HS256 / HS384 / HS512   with the shared secret
 *   RS256                   with an RSA public key (PEM)
 *   ES256                   with an EC P-256 public key (PEM)
 *
 *   "exp"      a number: refused once now > exp + leeway
 *   "nbf"      a number: refused while now + leeway < nbf
 *   "clientid" must equal the client id   (verify_clientid)
 *   "username" must equal the username    (verify_username)
 *
 * "alg": "none", an algorithm without a configured key, and RS/ES with
 * the wrong kind of key are refused (no algorithm confusion: an RSA
 * public key is never used as an HMAC secret).  Anything malformed is a
 * refusal with a reason, never a crash: the parser is fuzzed
 * (tests/fuzz/fuzz_mq_jwt.c).
 *
 * ACL from a claim (acl_claim, e.g. "acl"):
 *
 *   "acl": {"pub": ["devices/%c/#"], "sub": ["cmd/%u/+"], "pubsub": [..]}
 *
 * When the token carries that claim, its filters are all the access the
 * client has: a PUBLISH topic must match one, a SUBSCRIBE filter must be
 * covered by one (mq_topic_covers).  %u and %c are the username and the
 * client id; a filter whose substitution is empty or holds '+', '#' or
 * '/' is dropped (it grants nothing), as are invalid filters.  Without
 * the claim the token grants no ACL of its own (mq_jwt_verify gives NULL).
 *
 * Errors: mq_jwt_new returns 0 or -errno (and logs why); mq_jwt_verify
 * returns an enum mq_jwt_result.
 */
#ifndef MQ_JWT_H
#define MQ_JWT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longer tokens are refused before any decoding. */
#define MQ_JWT_MAX 8192

typedef struct mq_jwt     mq_jwt;
typedef struct mq_jwt_acl mq_jwt_acl;

struct mq_jwt_config {
	const char *secret;      /* HS*; NULL or "": no HMAC algorithms */
	const char *pubkey_file; /* PEM; NULL or "": no RS256 / ES256 */
	uint32_t    leeway_s;    /* clock skew allowed on exp / nbf */
	bool        verify_clientid;
	bool        verify_username;
	const char *acl_claim; /* NULL or "": no ACL from tokens */
};

enum mq_jwt_result {
	MQ_JWT_OK,
	MQ_JWT_MALFORMED,     /* not a JWS, bad base64url or JSON */
	MQ_JWT_BAD_ALG,       /* none, unknown, or no key for it */
	MQ_JWT_BAD_SIGNATURE, /* does not verify */
	MQ_JWT_EXPIRED,       /* exp + leeway passed */
	MQ_JWT_NOT_YET,       /* nbf - leeway not reached */
	MQ_JWT_CLAIM,         /* clientid / username claim mismatch */
	MQ_JWT_NOMEM,
};

/*
 * A verifier for cfg (the key is read and parsed now).  Returns 0,
 * -EINVAL when no key is configured or the PEM is not an RSA or P-256
 * public key, -errno when the file cannot be read, -ENOMEM.
 */
int  mq_jwt_new(mq_jwt **out, const struct mq_jwt_config *cfg);
void mq_jwt_free(mq_jwt **j);

/*
 * Verifies token tok (len bytes, not NUL-terminated) for this client at
 * now_s (seconds since the epoch).  client_id / username may be NULL
 * (absent).  On MQ_JWT_OK and acl != NULL, *acl is the token's ACL (the
 * caller's, free with mq_jwt_acl_free) or NULL when it has none; on any
 * other result *acl is NULL.
 */
enum mq_jwt_result mq_jwt_verify(const mq_jwt *j, const char *tok, size_t len,
    const char *client_id, size_t client_id_len, const char *username,
    size_t username_len, int64_t now_s, mq_jwt_acl **acl);

/* "expired", "bad signature", ...: for log lines. */
const char *mq_jwt_result_str(enum mq_jwt_result r);

/* Whether a's filters allow this PUBLISH topic / SUBSCRIBE filter. */
bool mq_jwt_acl_allows(
    const mq_jwt_acl *a, const char *topic, size_t len, bool publish);
void mq_jwt_acl_free(mq_jwt_acl **a);

#endif
