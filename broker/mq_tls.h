/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mq_tls: TLS for the broker's listeners (mqtt:ssl, and under mqtt:wss),
 * with OpenSSL on the broker's own non-blocking sockets.
 *
 * A listener holds an mq_tls_ctx (certificate chain, key, optional CA
 * for client certificates); each connection an mq_tls.  The handshake
 * runs inside mq_tls_read/mq_tls_write as bytes arrive, so it needs no
 * thread and no loop of its own; what it waits for is said by the return
 * value (-EAGAIN) and mq_tls_want_write().  TLS 1.2 and 1.3 only.
 *
 * Errors: 0 / a count, or -errno; a failed handshake is -EPROTO, and
 * mq_tls_error() says why (the caller logs it with the peer's address:
 * a client's mistake is not the broker's error).
 */
#ifndef MQ_TLS_H
#define MQ_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct mq_listen;
typedef struct mq_tls_ctx mq_tls_ctx;
typedef struct mq_tls     mq_tls;

/*
 * Loads l's certfile, keyfile and cafile (require_certificate: a client
 * without a certificate the CA vouches for is refused in the handshake).
 * ciphers: the TLS 1.2 list.  alpn: the protocol to accept when offered
 * ("mqtt"; wss listeners accept "http/1.1" too).
 */
int  mq_tls_ctx_new(mq_tls_ctx **out, const struct mq_listen *l,
     const char *ciphers, bool websocket);
void mq_tls_ctx_free(mq_tls_ctx **t);
/*
 * Reads the certificate and key files again (SIGHUP).  New connections
 * get the new ones; connections already up keep theirs.  On failure the
 * old ones stay in use (-errno, logged).
 */
int mq_tls_ctx_reload(mq_tls_ctx *t);

/* A server-side TLS connection over the non-blocking socket fd. */
int  mq_tls_new(mq_tls **out, mq_tls_ctx *t, int fd);
void mq_tls_free(mq_tls **s);

/*
 * Reads plaintext: > 0 bytes, -EAGAIN nothing now (handshake under way,
 * or a partial record), -EPIPE the peer closed, -EPROTO handshake or
 * record failure, -errno.  Fills buf as far as the socket allows.
 */
ssize_t mq_tls_read(mq_tls *s, void *buf, size_t n);
/*
 * Writes plaintext (one TLS record per 16 KiB): bytes taken, -EAGAIN
 * (socket full, or the handshake waits for the peer), -errno.  A retry
 * after -EAGAIN must offer the same bytes first (it may offer more).
 */
ssize_t mq_tls_write(mq_tls *s, const void *p, size_t n);
/* Plaintext already decrypted and not yet read. */
bool mq_tls_pending(const mq_tls *s);
/* The last call stopped because the socket was full. */
bool mq_tls_want_write(const mq_tls *s);
/* Sends close_notify (best effort, never waits). */
void mq_tls_shutdown(mq_tls *s);
/* Socket bytes moved since the last call (for the byte counters). */
void mq_tls_bytes(mq_tls *s, uint64_t *rx, uint64_t *tx);
/* The handshake is complete. */
bool mq_tls_ready(const mq_tls *s);
/* Why the last call failed with -EPROTO (OpenSSL's reason). */
const char *mq_tls_error(const mq_tls *s);
/* The client certificate's CN once ready; NULL without a certificate. */
const char *mq_tls_identity(const mq_tls *s);

#endif
