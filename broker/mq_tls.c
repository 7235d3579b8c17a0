/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mq_tls: OpenSSL on the broker's non-blocking sockets.
 *
 * The SSL object does the socket I/O itself (a socket BIO on the
 * connection's fd): read-ahead lets one read(2) take in every record the
 * kernel holds, and one SSL_write per flush turns the batched output
 * buffer into as few records as its size allows.  SSL_MODE_RELEASE_BUFFERS
 * gives the 16 KiB record buffers back while a connection is idle, so a
 * half-open handshake costs only the SSL object (bounded memory for
 * thousands of them); ACCEPT_MOVING_WRITE_BUFFER because the output
 * buffer may be reallocated between a write that stopped and its retry.
 */
#include "config.h"

#include "broker/mq_tls.h"

#include "broker/mq_config.h"
#include "broker/mq_log.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

struct mq_tls_ctx {
	SSL_CTX *ctx; /* replaced by a reload; live connections keep theirs */
	bool     websocket, require_cert;
	char     certfile[MQ_PATH_MAX], keyfile[MQ_PATH_MAX];
	char     cafile[MQ_PATH_MAX];
	char    *ciphers;
};

struct mq_tls {
	SSL     *ssl;
	bool     ready, want_write;
	uint64_t rx, tx; /* BIO counts already reported */
	char    *identity;
	char     err[120];
};

static void
log_ssl_errors(const char *what, const char *file)
{
	unsigned long e;
	char          buf[256];

	while ((e = ERR_get_error()) != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		mq_err("%s(%s): %s", what, file, buf);
	}
}

/* ALPN: "mqtt" when offered (and "http/1.1" on a wss listener); a client
 * that offers neither goes on without ALPN rather than fail. */
static int
alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg)
{
	const mq_tls_ctx *t = arg;
	const char *want[2] = { "mqtt", t->websocket ? "http/1.1" : NULL };

	(void) ssl;
	for (int w = 0; w < 2 && want[w] != NULL; w++) {
		size_t wl = strlen(want[w]);

		for (unsigned i = 0; i < inlen;) {
			unsigned l = in[i];

			if (i + 1 + l > inlen)
				break;
			if (l == wl && !memcmp(in + i + 1, want[w], wl)) {
				*out = in + i + 1;
				*outlen = (unsigned char) l;
				return SSL_TLSEXT_ERR_OK;
			}
			i += 1 + l;
		}
	}
	return SSL_TLSEXT_ERR_NOACK;
}

static SSL_CTX *
ctx_build(mq_tls_ctx *t)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (ctx == NULL) {
		log_ssl_errors("SSL_CTX_new", "");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
	SSL_CTX_set_options(ctx,
	    SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE
	        | SSL_OP_NO_COMPRESSION | SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_mode(ctx,
	    SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE
	        | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_read_ahead(ctx, 1);
	if (SSL_CTX_set_cipher_list(ctx, t->ciphers) != 1) {
		log_ssl_errors("SSL_CTX_set_cipher_list", t->ciphers);
		goto fail;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, t->certfile) != 1) {
		log_ssl_errors("certfile", t->certfile);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, t->keyfile, SSL_FILETYPE_PEM) != 1
	    || SSL_CTX_check_private_key(ctx) != 1) {
		log_ssl_errors("keyfile", t->keyfile);
		goto fail;
	}
	if (t->cafile[0]) {
		STACK_OF(X509_NAME) * names;

		if (SSL_CTX_load_verify_locations(ctx, t->cafile, NULL) != 1) {
			log_ssl_errors("cafile", t->cafile);
			goto fail;
		}
		names = SSL_load_client_CA_file(t->cafile);
		if (names != NULL)
			SSL_CTX_set_client_CA_list(ctx, names);
		/* With a CA, a certificate is asked for and verified; only
		 * require_certificate makes it mandatory. */
		SSL_CTX_set_verify(ctx,
		    SSL_VERIFY_PEER
		        | (t->require_cert ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT
		                           : 0),
		    NULL);
	}
	SSL_CTX_set_alpn_select_cb(ctx, alpn_select, t);
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

int
mq_tls_ctx_new(mq_tls_ctx **out, const struct mq_listen *l,
    const char *ciphers, bool websocket)
{
	mq_tls_ctx *t = calloc(1, sizeof(*t));

	*out = NULL;
	if (t == NULL || (t->ciphers = strdup(ciphers)) == NULL) {
		free(t);
		return -ENOMEM;
	}
	t->websocket = websocket;
	t->require_cert = l->require_cert > 0;
	memcpy(t->certfile, l->certfile, sizeof(t->certfile));
	memcpy(t->keyfile, l->keyfile, sizeof(t->keyfile));
	memcpy(t->cafile, l->cafile, sizeof(t->cafile));
	t->ctx = ctx_build(t);
	if (t->ctx == NULL) {
		mq_tls_ctx_free(&t);
		return -EINVAL;
	}
	*out = t;
	return 0;
}

void
mq_tls_ctx_free(mq_tls_ctx **tp)
{
	mq_tls_ctx *t = *tp;

	if (t == NULL)
		return;
	SSL_CTX_free(t->ctx);
	free(t->ciphers);
	free(t);
	*tp = NULL;
}

int
mq_tls_ctx_reload(mq_tls_ctx *t)
{
	SSL_CTX *ctx = ctx_build(t);

	if (ctx == NULL) {
		mq_err(
		    "TLS reload of %s failed: keeping the certificate in use",
		    t->certfile);
		return -EINVAL;
	}
	/* Connections up now hold references to the old one. */
	SSL_CTX_free(t->ctx);
	t->ctx = ctx;
	mq_info("TLS certificate %s reloaded", t->certfile);
	return 0;
}

int
mq_tls_new(mq_tls **out, mq_tls_ctx *t, int fd)
{
	mq_tls *s = calloc(1, sizeof(*s));

	*out = NULL;
	if (s == NULL)
		return -ENOMEM;
	s->ssl = SSL_new(t->ctx);
	if (s->ssl == NULL || SSL_set_fd(s->ssl, fd) != 1) {
		log_ssl_errors("SSL_new", "");
		mq_tls_free(&s);
		return -ENOMEM;
	}
	SSL_set_accept_state(s->ssl);
	*out = s;
	return 0;
}

void
mq_tls_free(mq_tls **sp)
{
	mq_tls *s = *sp;

	if (s == NULL)
		return;
	SSL_free(s->ssl);
	free(s->identity);
	free(s);
	*sp = NULL;
}

/* The CN of a verified client certificate, if it is a plain string. */
static void
take_identity(mq_tls *s)
{
	X509          *cert = SSL_get0_peer_certificate(s->ssl);
	X509_NAME     *name;
	int            i;
	unsigned char *utf8 = NULL;
	int            n;

	if (cert == NULL || SSL_get_verify_result(s->ssl) != X509_V_OK)
		return;
	name = X509_get_subject_name(cert);
	i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
	if (i < 0)
		return;
	n = ASN1_STRING_to_UTF8(
	    &utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
	if (n > 0 && n <= 65535 && memchr(utf8, 0, (size_t) n) == NULL) {
		s->identity = malloc((size_t) n + 1);
		if (s->identity != NULL) {
			memcpy(s->identity, utf8, (size_t) n);
			s->identity[n] = 0;
		}
	}
	OPENSSL_free(utf8);
}

/* Maps SSL_get_error() to the module's returns; records why on failure. */
static int
fail(mq_tls *s, int r)
{
	int           e = SSL_get_error(s->ssl, r);
	unsigned long q;

	switch (e) {
	case SSL_ERROR_WANT_READ:
		return -EAGAIN;
	case SSL_ERROR_WANT_WRITE:
		s->want_write = true;
		return -EAGAIN;
	case SSL_ERROR_ZERO_RETURN: /* also a plain EOF: IGNORE_UNEXPECTED_EOF
	                             */
		snprintf(s->err, sizeof(s->err), "connection closed%s",
		    s->ready ? "" : " during the handshake");
		return -EPIPE;
	case SSL_ERROR_SYSCALL:
		if (ERR_peek_error() == 0) {
			if (errno == 0 || errno == ECONNRESET) {
				snprintf(s->err, sizeof(s->err),
				    "connection closed%s",
				    s->ready ? "" : " during the handshake");
				return -EPIPE;
			}
			if (errno == EAGAIN || errno == EINTR)
				return -EAGAIN;
			snprintf(
			    s->err, sizeof(s->err), "%s", strerror(errno));
			return -errno;
		}
		/* fall through */
	default:
		q = ERR_peek_last_error();
		snprintf(s->err, sizeof(s->err), "%s",
		    q ? ERR_reason_error_string(q) : "TLS error");
		if (s->err[0] == 0)
			snprintf(s->err, sizeof(s->err), "TLS error");
		ERR_clear_error();
		return -EPROTO;
	}
}

static int
handshake(mq_tls *s)
{
	int r;

	ERR_clear_error();
	errno = 0;
	r = SSL_do_handshake(s->ssl);
	if (r == 1) {
		s->ready = true;
		take_identity(s);
		return 0;
	}
	return fail(s, r);
}

ssize_t
mq_tls_read(mq_tls *s, void *buf, size_t n)
{
	size_t got = 0;
	int    rc;

	s->want_write = false;
	if (!s->ready && (rc = handshake(s)) < 0)
		return rc;
	while (got < n) {
		size_t want = n - got;
		int    r;

		ERR_clear_error();
		errno = 0;
		r = SSL_read(s->ssl, (char *) buf + got,
		    want > INT_MAX ? INT_MAX : (int) want);
		if (r > 0) {
			got += (size_t) r;
			continue;
		}
		rc = fail(s, r);
		if (got > 0)
			return (ssize_t) got; /* the error comes again */
		return rc;
	}
	return (ssize_t) got;
}

ssize_t
mq_tls_write(mq_tls *s, const void *p, size_t n)
{
	int r, rc;

	s->want_write = false;
	if (!s->ready) {
		if ((rc = handshake(s)) < 0)
			return rc;
	}
	if (n == 0)
		return 0;
	ERR_clear_error();
	errno = 0;
	r = SSL_write(s->ssl, p, n > INT_MAX ? INT_MAX : (int) n);
	if (r > 0)
		return r;
	return fail(s, r);
}

bool
mq_tls_pending(const mq_tls *s)
{
	return SSL_has_pending(s->ssl) != 0;
}

bool
mq_tls_want_write(const mq_tls *s)
{
	return s->want_write;
}

void
mq_tls_shutdown(mq_tls *s)
{
	if (!s->ready)
		return;
	ERR_clear_error();
	/* one try: a peer that does not read gets no close_notify */
	if (SSL_shutdown(s->ssl) < 0)
		ERR_clear_error();
}

void
mq_tls_bytes(mq_tls *s, uint64_t *rx, uint64_t *tx)
{
	uint64_t r = BIO_number_read(SSL_get_rbio(s->ssl));
	uint64_t w = BIO_number_written(SSL_get_wbio(s->ssl));

	*rx = r - s->rx;
	*tx = w - s->tx;
	s->rx = r;
	s->tx = w;
}

bool
mq_tls_ready(const mq_tls *s)
{
	return s->ready;
}

const char *
mq_tls_error(const mq_tls *s)
{
	return s->err[0] ? s->err : "TLS error";
}

const char *
mq_tls_identity(const mq_tls *s)
{
	return s->identity;
}
