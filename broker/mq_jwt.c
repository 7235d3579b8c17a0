/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mq_jwt: JWS compact tokens, verified with OpenSSL, claims read with
 * json-c.  Everything from the token is untrusted: lengths are checked
 * before decoding, JSON is parsed with a depth limit and must be one
 * object filling its part exactly, numbers must be numbers.
 *
 * ES256 signatures are JOSE's raw r || s (64 bytes, RFC 7518 3.4);
 * OpenSSL verifies DER, so they are re-encoded as an ECDSA-Sig-Value.
 */
#include "config.h"

#include "broker/mq_jwt.h"

#include "broker/mq_log.h"
#include "broker/mq_trie.h"

#include <errno.h>
#include <json-c/json.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum alg { A_HS256, A_HS384, A_HS512, A_RS256, A_ES256, A_COUNT };

static const char *const alg_names[A_COUNT]
    = { "HS256", "HS384", "HS512", "RS256", "ES256" };

struct mq_jwt {
	char     *secret;
	size_t    secret_len;
	EVP_PKEY *pkey;
	bool      rsa; /* pkey is RSA (RS256), else EC P-256 (ES256) */
	uint32_t  leeway_s;
	bool      verify_clientid, verify_username;
	char     *acl_claim;
};

struct jwt_filter {
	uint16_t len;
	char    *f;
};

struct mq_jwt_acl {
	struct jwt_filter *pub, *sub;
	size_t             npub, nsub;
};

const char *
mq_jwt_result_str(enum mq_jwt_result r)
{
	switch (r) {
	case MQ_JWT_OK:
		return "ok";
	case MQ_JWT_MALFORMED:
		return "malformed token";
	case MQ_JWT_BAD_ALG:
		return "algorithm refused";
	case MQ_JWT_BAD_SIGNATURE:
		return "bad signature";
	case MQ_JWT_EXPIRED:
		return "expired";
	case MQ_JWT_NOT_YET:
		return "not valid yet";
	case MQ_JWT_CLAIM:
		return "claim mismatch";
	case MQ_JWT_NOMEM:
		return "out of memory";
	}
	return "?";
}

/* ---- base64url ------------------------------------------------------- */

static int
b64url_val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

/*
 * Decodes unpadded base64url (RFC 7515 2) into out (room for len * 3 / 4
 * bytes).  Returns the length, or -1 for a byte outside the alphabet or
 * an impossible length (len % 4 == 1) or stray low bits in the last
 * character (a token has one spelling).
 */
static long
b64url_decode(const char *s, size_t len, unsigned char *out)
{
	unsigned acc = 0, bits = 0;
	size_t   n = 0;

	if (len % 4 == 1)
		return -1;
	for (size_t i = 0; i < len; i++) {
		int v = b64url_val((unsigned char) s[i]);

		if (v < 0)
			return -1;
		acc = (acc << 6) | (unsigned) v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (unsigned char) (acc >> bits);
		}
		acc &= (1u << bits) - 1;
	}
	if (acc != 0)
		return -1;
	return (long) n;
}

/* ---- JSON ------------------------------------------------------------ */

/* One JSON object filling buf[0..len) exactly, else NULL. */
static json_object *
json_object_of(const unsigned char *buf, long len)
{
	json_tokener *tk = json_tokener_new_ex(16);
	json_object  *o;

	if (tk == NULL)
		return NULL;
	o = json_tokener_parse_ex(tk, (const char *) buf, (int) len);
	if (o != NULL
	    && (json_tokener_get_error(tk) != json_tokener_success
	        || json_tokener_get_parse_end(tk) != (size_t) len
	        || !json_object_is_type(o, json_type_object))) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tk);
	return o;
}

static bool
str_is(json_object *o, const char *s, size_t n)
{
	return json_object_is_type(o, json_type_string)
	    && (size_t) json_object_get_string_len(o) == n
	    && (n == 0 || memcmp(json_object_get_string(o), s, n) == 0);
}

/* A NumericDate (RFC 7519 2): a JSON number, integer or not. */
static bool
numeric_date(json_object *o, double *out)
{
	if (json_object_is_type(o, json_type_int)) {
		*out = (double) json_object_get_int64(o);
		return true;
	}
	if (json_object_is_type(o, json_type_double)) {
		*out = json_object_get_double(o);
		return *out == *out; /* not NaN */
	}
	return false;
}

/* ---- signatures ------------------------------------------------------ */

static bool
hmac_ok(const mq_jwt *j, enum alg a, const char *in, size_t in_len,
    const unsigned char *sig, long sig_len)
{
	const EVP_MD *md = a == A_HS256 ? EVP_sha256()
	    : a == A_HS384              ? EVP_sha384()
	                                : EVP_sha512();
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int  mac_len = 0;

	if (HMAC(md, j->secret, (int) j->secret_len,
	        (const unsigned char *) in, in_len, mac, &mac_len)
	    == NULL)
		return false;
	return sig_len == (long) mac_len
	    && CRYPTO_memcmp(mac, sig, mac_len) == 0;
}

/* JOSE's r || s as DER; *der is OpenSSL's (OPENSSL_free). */
static int
es256_der(const unsigned char *sig, long sig_len, unsigned char **der)
{
	ECDSA_SIG *es;
	BIGNUM    *r, *s;
	int        n;

	*der = NULL;
	if (sig_len != 64)
		return -1;
	es = ECDSA_SIG_new();
	r = BN_bin2bn(sig, 32, NULL);
	s = BN_bin2bn(sig + 32, 32, NULL);
	if (es == NULL || r == NULL || s == NULL
	    || ECDSA_SIG_set0(es, r, s) != 1) {
		BN_free(r);
		BN_free(s);
		ECDSA_SIG_free(es);
		return -1;
	}
	n = i2d_ECDSA_SIG(es, der);
	ECDSA_SIG_free(es);
	return n;
}

static bool
pkey_ok(const mq_jwt *j, enum alg a, const char *in, size_t in_len,
    const unsigned char *sig, long sig_len)
{
	EVP_MD_CTX          *ctx = EVP_MD_CTX_new();
	unsigned char       *der = NULL;
	const unsigned char *s = sig;
	size_t               n = (size_t) sig_len;
	bool                 ok = false;

	if (ctx == NULL)
		return false;
	if (a == A_ES256) {
		int dn = es256_der(sig, sig_len, &der);

		if (dn <= 0)
			goto out;
		s = der;
		n = (size_t) dn;
	}
	ok = EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, j->pkey) == 1
	    && EVP_DigestVerify(ctx, s, n, (const unsigned char *) in, in_len)
	        == 1;
out:
	OPENSSL_free(der);
	EVP_MD_CTX_free(ctx);
	return ok;
}

/* The algorithm of the header, if the configured keys allow it. */
static enum mq_jwt_result
header_alg(const mq_jwt *j, json_object *hdr, enum alg *a)
{
	json_object *v;

	if (!json_object_object_get_ex(hdr, "alg", &v)
	    || !json_object_is_type(v, json_type_string))
		return MQ_JWT_MALFORMED;
	for (int i = 0; i < A_COUNT; i++) {
		if (strcmp(json_object_get_string(v), alg_names[i]) != 0)
			continue;
		*a = (enum alg) i;
		if (i <= A_HS512)
			return j->secret != NULL ? MQ_JWT_OK : MQ_JWT_BAD_ALG;
		if (j->pkey == NULL || j->rsa != (i == A_RS256))
			return MQ_JWT_BAD_ALG;
		return MQ_JWT_OK;
	}
	return MQ_JWT_BAD_ALG;
}

/* ---- claims ---------------------------------------------------------- */

static enum mq_jwt_result
time_claims(const mq_jwt *j, json_object *pl, int64_t now_s)
{
	json_object *v;
	double       t, now = (double) now_s, lw = (double) j->leeway_s;

	if (json_object_object_get_ex(pl, "exp", &v)) {
		if (!numeric_date(v, &t))
			return MQ_JWT_MALFORMED;
		if (now > t + lw)
			return MQ_JWT_EXPIRED;
	}
	if (json_object_object_get_ex(pl, "nbf", &v)) {
		if (!numeric_date(v, &t))
			return MQ_JWT_MALFORMED;
		if (now + lw < t)
			return MQ_JWT_NOT_YET;
	}
	return MQ_JWT_OK;
}

static bool
claim_is(json_object *pl, const char *name, const char *want, size_t n)
{
	json_object *v;

	return want != NULL && json_object_object_get_ex(pl, name, &v)
	    && str_is(v, want, n);
}

/* ---- ACL ------------------------------------------------------------- */

void
mq_jwt_acl_free(mq_jwt_acl **ap)
{
	mq_jwt_acl *a = *ap;

	if (a == NULL)
		return;
	for (size_t i = 0; i < a->npub; i++)
		free(a->pub[i].f);
	for (size_t i = 0; i < a->nsub; i++)
		free(a->sub[i].f);
	free(a->pub);
	free(a->sub);
	free(a);
	*ap = NULL;
}

struct who {
	const char *cid, *user;
	size_t      cid_len, user_len;
};

/* A %u / %c value that keeps the filter's shape. */
static bool
subst_safe(const char *v, size_t n)
{
	if (v == NULL || n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (v[i] == '+' || v[i] == '#' || v[i] == '/' || v[i] == '\0')
			return false;
	return true;
}

/*
 * f with %u / %c substituted, as a new string (*out), 0 when the filter
 * is to be dropped (unsafe value, invalid filter), -ENOMEM.
 */
static int
expand(const char *f, size_t n, const struct who *w, struct jwt_filter *out)
{
	size_t cap = n + 1, k = 0;
	char  *buf;

	for (size_t i = 0; i + 1 < n; i++) {
		if (f[i] != '%' || (f[i + 1] != 'u' && f[i + 1] != 'c'))
			continue;
		if (f[i + 1] == 'u' ? !subst_safe(w->user, w->user_len)
		                    : !subst_safe(w->cid, w->cid_len))
			return 0;
		cap += f[i + 1] == 'u' ? w->user_len : w->cid_len;
	}
	buf = malloc(cap);
	if (buf == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		char next = i + 1 < n ? f[i + 1] : 0;

		if (f[i] == '%' && (next == 'u' || next == 'c')) {
			memcpy(buf + k, next == 'u' ? w->user : w->cid,
			    next == 'u' ? w->user_len : w->cid_len);
			k += next == 'u' ? w->user_len : w->cid_len;
			i++;
		} else {
			buf[k++] = f[i];
		}
	}
	buf[k] = 0;
	if (k > UINT16_MAX || !mq_topic_filter_valid(buf, k)) {
		free(buf);
		return 0;
	}
	out->f = buf;
	out->len = (uint16_t) k;
	return 1;
}

/* Adds the filters of array arr to *v; MQ_JWT_MALFORMED if not an array
 * of strings. */
static enum mq_jwt_result
acl_add(
    json_object *arr, const struct who *w, struct jwt_filter **v, size_t *nv)
{
	size_t             n;
	struct jwt_filter *nvv;

	if (!json_object_is_type(arr, json_type_array))
		return MQ_JWT_MALFORMED;
	n = json_object_array_length(arr);
	if (n == 0)
		return MQ_JWT_OK;
	nvv = reallocarray(*v, *nv + n, sizeof(**v));
	if (nvv == NULL)
		return MQ_JWT_NOMEM;
	*v = nvv;
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(arr, i);
		int          rc;

		if (!json_object_is_type(e, json_type_string))
			return MQ_JWT_MALFORMED;
		rc = expand(json_object_get_string(e),
		    (size_t) json_object_get_string_len(e), w, &nvv[*nv]);
		if (rc < 0)
			return MQ_JWT_NOMEM;
		*nv += (size_t) rc;
	}
	return MQ_JWT_OK;
}

static enum mq_jwt_result
acl_of(json_object *claim, const struct who *w, mq_jwt_acl **out)
{
	mq_jwt_acl        *a;
	enum mq_jwt_result r = MQ_JWT_OK;

	if (!json_object_is_type(claim, json_type_object))
		return MQ_JWT_MALFORMED;
	a = calloc(1, sizeof(*a));
	if (a == NULL)
		return MQ_JWT_NOMEM;
	json_object_object_foreach(claim, key, val)
	{
		bool pub
		    = strcmp(key, "pub") == 0 || strcmp(key, "pubsub") == 0;
		bool sub
		    = strcmp(key, "sub") == 0 || strcmp(key, "pubsub") == 0;

		if (r == MQ_JWT_OK && pub)
			r = acl_add(val, w, &a->pub, &a->npub);
		if (r == MQ_JWT_OK && sub)
			r = acl_add(val, w, &a->sub, &a->nsub);
	}
	if (r != MQ_JWT_OK) {
		mq_jwt_acl_free(&a);
		return r;
	}
	*out = a;
	return MQ_JWT_OK;
}

bool
mq_jwt_acl_allows(
    const mq_jwt_acl *a, const char *topic, size_t len, bool publish)
{
	const struct jwt_filter *v = publish ? a->pub : a->sub;
	size_t                   n = publish ? a->npub : a->nsub;

	for (size_t i = 0; i < n; i++) {
		if (publish ? mq_topic_match(v[i].f, v[i].len, topic, len)
		            : mq_topic_covers(v[i].f, v[i].len, topic, len))
			return true;
	}
	return false;
}

/* ---- verification ---------------------------------------------------- */

static enum mq_jwt_result
claims(const mq_jwt *j, json_object *pl, const struct who *w, int64_t now_s,
    mq_jwt_acl **acl)
{
	enum mq_jwt_result r = time_claims(j, pl, now_s);
	json_object       *v;

	if (r != MQ_JWT_OK)
		return r;
	if (j->verify_clientid
	    && !claim_is(pl, "clientid", w->cid, w->cid_len))
		return MQ_JWT_CLAIM;
	if (j->verify_username
	    && !claim_is(pl, "username", w->user, w->user_len))
		return MQ_JWT_CLAIM;
	if (acl == NULL || j->acl_claim == NULL
	    || !json_object_object_get_ex(pl, j->acl_claim, &v))
		return MQ_JWT_OK;
	return acl_of(v, w, acl);
}

/* Splits tok at its two dots; false unless there are exactly two. */
static bool
split3(const char *tok, size_t len, size_t *d1, size_t *d2)
{
	const char *a = memchr(tok, '.', len), *b;

	if (a == NULL)
		return false;
	b = memchr(a + 1, '.', len - (size_t) (a + 1 - tok));
	if (b == NULL || memchr(b + 1, '.', len - (size_t) (b + 1 - tok)))
		return false;
	*d1 = (size_t) (a - tok);
	*d2 = (size_t) (b - tok);
	return true;
}

enum mq_jwt_result
mq_jwt_verify(const mq_jwt *j, const char *tok, size_t len,
    const char *client_id, size_t client_id_len, const char *username,
    size_t username_len, int64_t now_s, mq_jwt_acl **acl)
{
	struct who    w = { client_id, username, client_id_len, username_len };
	unsigned char buf[MQ_JWT_MAX];
	json_object  *hdr = NULL, *pl = NULL;
	long          hn, pn, sn;
	size_t        d1, d2;
	enum alg      a = A_HS256;
	enum mq_jwt_result r = MQ_JWT_MALFORMED;
	bool               sig_ok;

	if (acl != NULL)
		*acl = NULL;
	if (tok == NULL || len == 0 || len > MQ_JWT_MAX
	    || !split3(tok, len, &d1, &d2))
		return MQ_JWT_MALFORMED;
	/* One buffer for the three decoded parts: each is shorter than
	 * its text, so together they fit in len bytes. */
	hn = b64url_decode(tok, d1, buf);
	pn = hn < 0 ? -1 : b64url_decode(tok + d1 + 1, d2 - d1 - 1, buf + hn);
	sn = pn < 0 ? -1
	            : b64url_decode(tok + d2 + 1, len - d2 - 1, buf + hn + pn);
	if (sn <= 0 || hn <= 0 || pn <= 0)
		return MQ_JWT_MALFORMED;
	hdr = json_object_of(buf, hn);
	if (hdr == NULL)
		goto out;
	r = header_alg(j, hdr, &a);
	if (r != MQ_JWT_OK)
		goto out;
	/* The signature covers the text "header.payload" as sent. */
	sig_ok = a <= A_HS512 ? hmac_ok(j, a, tok, d2, buf + hn + pn, sn)
	                      : pkey_ok(j, a, tok, d2, buf + hn + pn, sn);
	r = MQ_JWT_BAD_SIGNATURE;
	if (!sig_ok)
		goto out;
	r = MQ_JWT_MALFORMED;
	pl = json_object_of(buf + hn, pn);
	if (pl == NULL)
		goto out;
	r = claims(j, pl, &w, now_s, acl);
out:
	json_object_put(hdr);
	json_object_put(pl);
	return r;
}

/* ---- life cycle ------------------------------------------------------ */

static int
load_pubkey(mq_jwt *j, const char *path)
{
	FILE *f = fopen(path, "re");
	int   rc;

	if (f == NULL) {
		rc = -errno;
		mq_err("jwt: open(%s): %s", path, strerror(-rc));
		return rc;
	}
	j->pkey = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	if (j->pkey == NULL) {
		mq_err("jwt: %s: not a PEM public key", path);
		return -EINVAL;
	}
	if (EVP_PKEY_is_a(j->pkey, "RSA")) {
		j->rsa = true;
		return 0;
	}
	if (EVP_PKEY_is_a(j->pkey, "EC")) {
		char   group[32];
		size_t gn = 0;

		if (EVP_PKEY_get_group_name(j->pkey, group, sizeof(group), &gn)
		        == 1
		    && strcmp(group, "prime256v1") == 0)
			return 0;
	}
	mq_err("jwt: %s: neither an RSA nor a P-256 key", path);
	return -EINVAL;
}

int
mq_jwt_new(mq_jwt **out, const struct mq_jwt_config *cfg)
{
	mq_jwt *j = calloc(1, sizeof(*j));
	int     rc = 0;

	*out = NULL;
	if (j == NULL)
		return -ENOMEM;
	j->leeway_s = cfg->leeway_s;
	j->verify_clientid = cfg->verify_clientid;
	j->verify_username = cfg->verify_username;
	if (cfg->secret != NULL && cfg->secret[0] != 0) {
		j->secret = strdup(cfg->secret);
		j->secret_len = strlen(cfg->secret);
		if (j->secret == NULL)
			rc = -ENOMEM;
	}
	if (rc == 0 && cfg->acl_claim != NULL && cfg->acl_claim[0] != 0) {
		j->acl_claim = strdup(cfg->acl_claim);
		if (j->acl_claim == NULL)
			rc = -ENOMEM;
	}
	if (rc == 0 && cfg->pubkey_file != NULL && cfg->pubkey_file[0] != 0)
		rc = load_pubkey(j, cfg->pubkey_file);
	if (rc == 0 && j->secret == NULL && j->pkey == NULL) {
		mq_err("jwt: neither jwt_secret nor jwt_pubkey is set");
		rc = -EINVAL;
	}
	if (rc < 0) {
		mq_jwt_free(&j);
		return rc;
	}
	*out = j;
	return 0;
}

void
mq_jwt_free(mq_jwt **jp)
{
	mq_jwt *j = *jp;

	if (j == NULL)
		return;
	if (j->secret != NULL) {
		explicit_bzero(j->secret, j->secret_len);
		free(j->secret);
	}
	EVP_PKEY_free(j->pkey);
	free(j->acl_claim);
	free(j);
	*jp = NULL;
}
