/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mq_pwhash: EMQ 2.3's password hashes (see the header), with OpenSSL's
 * digests and PBKDF2, and libcrypt's bcrypt.
 */
#include "config.h"

#include "broker/mq_pwhash.h"
#include "broker/mq_creds.h"
#include "broker/mq_log.h"

#include <crypt.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum alg { A_PLAIN, A_MD5, A_SHA, A_SHA256, A_SHA512, A_BCRYPT, A_PBKDF2 };

static const struct {
	const char *name;
	int         alg;
} algs[] = {
	{ "plain", A_PLAIN },
	{ "md5", A_MD5 },
	{ "sha", A_SHA },
	{ "sha256", A_SHA256 },
	{ "sha512", A_SHA512 },
	{ "bcrypt", A_BCRYPT },
};

/* PBKDF2's MAC names (EMQ's macfun) -> OpenSSL digests. */
static const char *const macs[]
    = { "md5", "sha", "sha224", "sha256", "sha384", "sha512" };

static const EVP_MD *
md_of(int alg_or_mac, bool mac)
{
	static const char *const mac_md[]
	    = { "MD5", "SHA1", "SHA224", "SHA256", "SHA384", "SHA512" };

	if (mac)
		return EVP_get_digestbyname(mac_md[alg_or_mac]);
	switch (alg_or_mac) {
	case A_MD5:
		return EVP_md5();
	case A_SHA:
		return EVP_sha1();
	case A_SHA256:
		return EVP_sha256();
	case A_SHA512:
		return EVP_sha512();
	}
	return NULL;
}

static int
alg_find(const char *s, size_t n)
{
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (strlen(algs[i].name) == n
		    && memcmp(algs[i].name, s, n) == 0)
			return algs[i].alg;
	return -1;
}

int
mq_pwhash_parse(struct mq_pwhash *h, const char *spec)
{
	const char *c = spec != NULL ? strchr(spec, ',') : NULL;
	int         a;

	memset(h, 0, sizeof(*h));
	if (spec == NULL || *spec == 0)
		return 0; /* plain */
	if (strncmp(spec, "pbkdf2,", 7) == 0) {
		char        mac[16];
		unsigned    it, dk;
		int         used = 0;
		const char *p = spec + 7, *q = strchr(p, ',');

		if (q == NULL || (size_t) (q - p) >= sizeof(mac))
			goto bad;
		memcpy(mac, p, (size_t) (q - p));
		mac[q - p] = 0;
		if (sscanf(q + 1, "%u,%u%n", &it, &dk, &used) != 2
		    || q[1 + used] != 0 || it == 0 || it > 10000000 || dk == 0
		    || dk > 256)
			goto bad;
		h->mac = -1;
		for (size_t i = 0; i < sizeof(macs) / sizeof(macs[0]); i++)
			if (strcmp(macs[i], mac) == 0)
				h->mac = (int) i;
		if (h->mac < 0)
			goto bad;
		h->alg = A_PBKDF2;
		h->iterations = it;
		h->dklen = dk;
		h->salt_pos = 1;
		return 0;
	}
	if (c == NULL) {
		a = alg_find(spec, strlen(spec));
		if (a < 0)
			goto bad;
		h->alg = a;
		return 0;
	}
	if (strcmp(spec + (c - spec) + 1, "salt") == 0) { /* sha256,salt */
		a = alg_find(spec, (size_t) (c - spec));
		h->salt_pos = 2;
	} else if ((size_t) (c - spec) == 4 && strncmp(spec, "salt", 4) == 0) {
		a = alg_find(c + 1, strlen(c + 1)); /* salt,sha256 */
		h->salt_pos = 1;
	} else {
		a = -1;
	}
	if (a < 0 || a == A_PLAIN)
		goto bad;
	h->alg = a;
	return 0;
bad:
	mq_err("password_hash '%s': not plain|md5|sha|sha256|sha512|bcrypt, "
	       "salt,ALG, ALG,salt or pbkdf2,MAC,ITERATIONS,DKLEN",
	    spec);
	return -EINVAL;
}

bool
mq_pwhash_offload(const struct mq_pwhash *h, size_t salt_len)
{
	return h->alg == A_BCRYPT && salt_len == 0;
}

bool
mq_pwhash_salted(const struct mq_pwhash *h)
{
	return h->salt_pos != 0 || h->alg == A_BCRYPT;
}

/* Compares the digest d (n bytes) with its hex spelling hx. */
static bool
hex_equal(const unsigned char *d, size_t n, const char *hx, size_t hn)
{
	static const char digits[] = "0123456789abcdef";
	unsigned char     diff = 0;

	if (hn != 2 * n)
		return false;
	for (size_t i = 0; i < n; i++) {
		diff |= (unsigned char) ((hx[2 * i] | 0x20)
		    ^ digits[d[i] >> 4]);
		diff |= (unsigned char) ((hx[2 * i + 1] | 0x20)
		    ^ digits[d[i] & 15]);
	}
	return diff == 0;
}

static bool
bytes_equal(const char *a, size_t an, const char *b, size_t bn)
{
	unsigned char d = 0;

	if (an != bn)
		return false;
	for (size_t i = 0; i < an; i++)
		d |= (unsigned char) (a[i] ^ b[i]);
	return d == 0;
}

static bool
digest_check(const EVP_MD *md, int salt_pos, const char *stored, size_t sn,
    const char *salt, size_t saltn, const char *pw, size_t pwn)
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int  dn = 0;
	EVP_MD_CTX   *ctx = EVP_MD_CTX_new();
	bool          ok;

	if (ctx == NULL)
		return false;
	ok = EVP_DigestInit_ex(ctx, md, NULL) == 1
	    && (salt_pos != 1 || EVP_DigestUpdate(ctx, salt, saltn) == 1)
	    && EVP_DigestUpdate(ctx, pw, pwn) == 1
	    && (salt_pos != 2 || EVP_DigestUpdate(ctx, salt, saltn) == 1)
	    && EVP_DigestFinal_ex(ctx, d, &dn) == 1;
	EVP_MD_CTX_free(ctx);
	return ok && hex_equal(d, dn, stored, sn);
}

static bool
bcrypt_check(const char *stored, size_t sn, const char *salt, size_t saltn,
    const char *pw, size_t pwn)
{
	char               buf[MQ_PW_MAX + 1], *setting;
	struct crypt_data *cd;
	const char        *out;
	bool               ok = false;

	if (pwn > MQ_PW_MAX || memchr(pw, 0, pwn) != NULL)
		return false;
	/* The salt column, when fetched, is the setting ("$2b$10$..."). */
	setting = saltn > 0 ? strndup(salt, saltn) : strndup(stored, sn);
	cd = calloc(1, sizeof(*cd));
	if (setting != NULL && cd != NULL
	    && (strncmp(setting, "$2", 2) == 0)) {
		memcpy(buf, pw, pwn);
		buf[pwn] = 0;
		out = crypt_r(buf, setting, cd);
		ok = out != NULL && out[0] != '*'
		    && bytes_equal(out, strlen(out), stored, sn);
		explicit_bzero(buf, sizeof(buf));
	}
	if (cd != NULL)
		explicit_bzero(cd, sizeof(*cd));
	free(cd);
	free(setting);
	return ok;
}

static bool
pbkdf2_check(const struct mq_pwhash *h, const char *stored, size_t sn,
    const char *salt, size_t saltn, const char *pw, size_t pwn)
{
	unsigned char dk[256];
	const EVP_MD *md = md_of(h->mac, true);
	bool          ok;

	if (md == NULL || pwn > INT32_MAX || saltn > INT32_MAX)
		return false;
	ok = PKCS5_PBKDF2_HMAC(pw, (int) pwn, (const unsigned char *) salt,
	         (int) saltn, (int) h->iterations, md, (int) h->dklen, dk)
	        == 1
	    && hex_equal(dk, h->dklen, stored, sn);
	explicit_bzero(dk, sizeof(dk));
	return ok;
}

bool
mq_pwhash_check(const struct mq_pwhash *h, const char *stored, size_t sn,
    const char *salt, size_t saltn, const char *pw, size_t pwn)
{
	if (stored == NULL || pw == NULL)
		return false;
	if (salt == NULL)
		saltn = 0;
	switch (h->alg) {
	case A_PLAIN:
		return bytes_equal(stored, sn, pw, pwn);
	case A_BCRYPT:
		return bcrypt_check(stored, sn, salt, saltn, pw, pwn);
	case A_PBKDF2:
		return pbkdf2_check(
		    h, stored, sn, salt ? salt : "", saltn, pw, pwn);
	default:
		return digest_check(md_of(h->alg, false), h->salt_pos, stored,
		    sn, salt ? salt : "", saltn, pw, pwn);
	}
}
