/*
 * tls.h - server-side TLS for a non-blocking event loop: implicit TLS on a
 * second port (NNTPS, RFC 8143 §2) and STARTTLS on the plain port (RFC
 * 4642 as updated by RFC 8143). tls.c is the only file that includes
 * OpenSSL.
 *
 * Every call returns at once: nothing here ever waits on a socket. A call
 * that cannot make progress reports TLS_WANT_READ or TLS_WANT_WRITE, and
 * the caller calls it again, with the same arguments, once epoll says the
 * fd is readable or writable. A client that stalls mid-handshake therefore
 * costs one idle connection and blocks nobody; the caller's own timer
 * bounds how long it may stall (tls.c keeps no clock).
 *
 * SECURITY: every byte read from the fd is attacker-controlled. OpenSSL
 * parses it, bounded by the TLS record limit (16 KiB + overhead per
 * record); data reaches the caller only through tls_read(), into the
 * caller's buffer of the caller's size. Protocol floor TLS 1.2, AEAD
 * ciphers with forward secrecy only (TLS 1.2), no compression (CRIME), no
 * renegotiation (RFC 8143 §3, RFC 7525).
 *
 * Integration contract for an epoll server:
 *
 * - The fd is the caller's: non-blocking, opened and closed by the caller.
 *   tls_conn_free() does not close it.
 * - Ignore SIGPIPE (OpenSSL writes with write(2)); EPIPE then comes back
 *   as TLS_ERROR.
 * - Implicit TLS: accept, tls_conn_new(), drive tls_handshake() to TLS_OK,
 *   then send the banner with tls_write().
 * - STARTTLS (RFC 4642 §2.2.2): reply 382 in plaintext and flush it
 *   completely (nothing of it may be left in the output buffer), then
 *   DISCARD EVERYTHING LEFT IN THE INPUT BUFFER, then call tls_conn_new()
 *   on the same fd. Bytes the client sent after the STARTTLS line arrived
 *   in plaintext: treating them as commands received under TLS is the
 *   command-injection bug of CVE-2011-0411. (Bytes still in the kernel are
 *   safe: OpenSSL reads them as TLS records, and plaintext there fails the
 *   handshake.) After TLS_OK, forget everything learned from the client
 *   (an AUTHINFO USER name given before), stop advertising STARTTLS, and
 *   answer a second STARTTLS, or one after authentication, with 502. A
 *   failed handshake leaves the connection unusable: close it.
 * - Reading: after tls_read() returns data, OpenSSL may hold more
 *   decrypted bytes that epoll cannot see. Keep calling tls_read() until it
 *   reports TLS_WANT_READ; when the input buffer is full and you stop
 *   early, tls_pending() tells you to come back without waiting for
 *   EPOLLIN.
 * - tls_read() can report TLS_WANT_WRITE (TLS 1.3 KeyUpdate reply on a
 *   full socket) and tls_write() TLS_WANT_READ: wait for the event asked
 *   for, then repeat the same call.
 * - Writing: tls_write() may write less than asked (partial writes are
 *   on). After TLS_WANT_*, call it again with the same bytes at the front
 *   of the buffer and at least as many of them; the buffer may have moved
 *   (struct buf reallocs) in between.
 * - Closing: tls_shutdown() once (best effort close_notify), then
 *   tls_conn_free() and close(fd).
 */
#ifndef NG_TLS_H
#define NG_TLS_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/* Status of a call; tls_read/tls_write put one in *want when they return
 * -1. */
enum tls_status {
	TLS_ERROR = -1,	    /* fatal for the connection; see tls_error() */
	TLS_OK = 0,	    /* done */
	TLS_WANT_READ = 1,  /* call again when the fd is readable */
	TLS_WANT_WRITE = 2, /* call again when the fd is writable */
};

struct tls_ctx;	 /* one per certificate; shared by every connection */
struct tls_conn; /* one per connection */

/*
 * A server context from a PEM certificate chain file (the server's
 * certificate first) and a PEM private key file. Returns NULL with a reason
 * naming the file in err ("tls: key /x/key.pem: ...") when a file is
 * missing, does not parse, or the key does not match the certificate.
 */
struct tls_ctx *tls_ctx_new(const char *cert, const char *key, struct buf *err)
    __attribute__((warn_unused_result));
/* Accepts NULL. Connections made from ctx must be freed first. */
void tls_ctx_free(struct tls_ctx *ctx);

/*
 * Server side of a connection on fd (non-blocking, already connected). No
 * I/O happens until tls_handshake(). Returns NULL (errno ENOMEM) when
 * OpenSSL cannot allocate; the caller closes the connection.
 */
struct tls_conn *tls_conn_new(struct tls_ctx *ctx, int fd)
    __attribute__((warn_unused_result));
/* Frees the TLS state only: the fd stays open. Accepts NULL. */
void tls_conn_free(struct tls_conn *c);

/* Drive the handshake: TLS_OK (done; further calls return TLS_OK),
 * TLS_WANT_READ, TLS_WANT_WRITE or TLS_ERROR. */
int tls_handshake(struct tls_conn *c) __attribute__((warn_unused_result));

/*
 * Read up to len decrypted bytes into p. Returns the count (> 0); 0 when
 * the peer closed (with or without close_notify: NNTP frames its own data,
 * so truncation cannot go unnoticed); or -1 with *want set to
 * TLS_WANT_READ, TLS_WANT_WRITE or TLS_ERROR. Call only after the
 * handshake returned TLS_OK.
 */
ssize_t tls_read(struct tls_conn *c, void *p, size_t len, int *want)
    __attribute__((warn_unused_result));
/*
 * Write up to len bytes from p. Returns the count written (> 0, maybe less
 * than len), 0 when len is 0, or -1 with *want as for tls_read().
 */
ssize_t tls_write(struct tls_conn *c, const void *p, size_t len, int *want)
    __attribute__((warn_unused_result));
/* Are decrypted or received-but-unprocessed bytes buffered inside the TLS
 * layer, invisible to epoll? */
bool tls_pending(const struct tls_conn *c);

/*
 * Send close_notify once, without waiting for the peer's (RFC 8446 §6.1
 * allows it). Returns TLS_OK, TLS_WANT_WRITE (socket full: call again when
 * writable, or just close) or TLS_ERROR. Calling it again after TLS_OK
 * does nothing.
 */
int tls_shutdown(struct tls_conn *c);

/* Why the last call on c failed, for the caller's log line; "" when it did
 * not. Valid until the next call on c. */
const char *tls_error(const struct tls_conn *c);
/* Negotiated protocol and cipher ("TLSv1.3 TLS_AES_256_GCM_SHA384"), for
 * logs and Injection-Info; "" before the handshake is done. */
void tls_describe(const struct tls_conn *c, struct buf *out);

#endif
