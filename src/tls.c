/*
 * tls.c - server-side TLS over OpenSSL for the event loop (see tls.h for
 * the contract). The only file of newsgate that includes OpenSSL.
 *
 * It owns the SSL_CTX and SSL objects and nothing else: never the fd,
 * never a timer, never a buffer of the caller's. It must never block, so
 * it never loops on a socket; every SSL call runs once and its outcome is
 * mapped to a tls_status.
 *
 * OpenSSL keeps a per-thread error queue; every SSL call below starts with
 * ERR_clear_error() so SSL_get_error() judges this call alone, and every
 * failure empties the queue into c->err.
 */
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "common.h"
#include "tls.h"

/*
 * TLS 1.2 suites: ECDHE/DHE key exchange (forward secrecy) and AEAD only,
 * as Mozilla's "intermediate" profile and RFC 7525 §4.2. TLS 1.3 keeps
 * OpenSSL's default suites, which are all AEAD.
 */
#define TLS_CIPHERS_12                                                         \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"           \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"           \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"           \
	"DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:"                 \
	"DHE-RSA-CHACHA20-POLY1305"

/* TLS 1.2 sessions kept for resumption (the cache is per context). */
#define TLS_SESSION_CACHE_MAX 1024
#define TLS_ERR_MAX 256 /* bytes of an error description */

struct tls_ctx {
	SSL_CTX *ssl_ctx; /* owned */
};

struct tls_conn {
	SSL *ssl;	       /* owned; its socket BIO does not own fd */
	bool done;	       /* handshake finished */
	bool shut;	       /* close_notify sent */
	char err[TLS_ERR_MAX]; /* last failure, "" when none */
};

/* Append the OpenSSL error queue (emptying it) to b, "; "-separated. */
static void
tls_err_queue(struct buf *b)
{
	char line[TLS_ERR_MAX];
	unsigned long e;
	bool first = true;

	while ((e = ERR_get_error()) != 0) {
		ERR_error_string_n(e, line, sizeof(line));
		buf_printf(b, "%s%s", first ? "" : "; ", line);
		first = false;
	}
}

static void
tls_ctx_fail(struct buf *err, const char *what, const char *file)
{
	buf_printf(
	    err, "tls: %s%s%s: ", what, file ? " " : "", file ? file : "");
	if (ERR_peek_error() != 0)
		tls_err_queue(err);
	else
		buf_puts(err, "failed");
}

struct tls_ctx *
tls_ctx_new(const char *cert, const char *key, struct buf *err)
{
	struct tls_ctx *ctx;
	SSL_CTX *s;

	ERR_clear_error();
	if ((s = SSL_CTX_new(TLS_server_method())) == NULL) {
		tls_ctx_fail(err, "context", NULL);
		return NULL;
	}
	/* RFC 8143 §3 / RFC 7525 §3.1.1: nothing older than TLS 1.2. */
	if (SSL_CTX_set_min_proto_version(s, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_cipher_list(s, TLS_CIPHERS_12) != 1) {
		tls_ctx_fail(err, "context", NULL);
		goto fail;
	}
	/*
	 * No compression (CRIME, RFC 7525 §3.3); no renegotiation in TLS 1.2
	 * (it lets a client restart the expensive part at will); our cipher
	 * order wins; an EOF without close_notify is a plain EOF (NNTP frames
	 * its own data).
	 */
	SSL_CTX_set_options(s,
	    SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
		SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_IGNORE_UNEXPECTED_EOF);
	/*
	 * Partial writes and a moving buffer fit the caller's struct buf
	 * output queue; released buffers keep an idle connection at a few
	 * hundred bytes instead of ~34 KiB.
	 */
	SSL_CTX_set_mode(s,
	    SSL_MODE_ENABLE_PARTIAL_WRITE |
		SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_dh_auto(s, 1);
	SSL_CTX_sess_set_cache_size(s, TLS_SESSION_CACHE_MAX);
	(void)SSL_CTX_set_session_id_context(
	    s, (const unsigned char *)"newsgate", 8);
	if (SSL_CTX_use_certificate_chain_file(s, cert) != 1) {
		tls_ctx_fail(err, "certificate", cert);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(s, key, SSL_FILETYPE_PEM) != 1) {
		tls_ctx_fail(err, "key", key);
		goto fail;
	}
	if (SSL_CTX_check_private_key(s) != 1) {
		tls_ctx_fail(err, "key does not match certificate", cert);
		goto fail;
	}
	ctx = xcalloc(1, sizeof(*ctx));
	ctx->ssl_ctx = s;
	return ctx;
fail:
	ERR_clear_error();
	SSL_CTX_free(s);
	return NULL;
}

void
tls_ctx_free(struct tls_ctx *ctx)
{
	if (ctx == NULL)
		return;
	SSL_CTX_free(ctx->ssl_ctx);
	free(ctx);
}

struct tls_conn *
tls_conn_new(struct tls_ctx *ctx, int fd)
{
	struct tls_conn *c;
	SSL *ssl;

	ERR_clear_error();
	if ((ssl = SSL_new(ctx->ssl_ctx)) == NULL) {
		ERR_clear_error();
		errno = ENOMEM;
		return NULL;
	}
	/* A socket BIO without BIO_CLOSE: the fd stays the caller's. */
	if (SSL_set_fd(ssl, fd) != 1) {
		ERR_clear_error();
		SSL_free(ssl);
		errno = ENOMEM;
		return NULL;
	}
	SSL_set_accept_state(ssl);
	c = xcalloc(1, sizeof(*c));
	c->ssl = ssl;
	return c;
}

void
tls_conn_free(struct tls_conn *c)
{
	if (c == NULL)
		return;
	SSL_free(c->ssl);
	free(c);
}

/*
 * Map the result r of an SSL call to a status, recording why it failed.
 * errno is that of the failed system call (saved by the caller).
 */
static int
tls_status(struct tls_conn *c, int r, int saved_errno)
{
	struct buf b = BUF_INIT(TLS_ERR_MAX - 1);

	switch (SSL_get_error(c->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		return TLS_WANT_READ;
	case SSL_ERROR_WANT_WRITE:
		return TLS_WANT_WRITE;
	case SSL_ERROR_ZERO_RETURN:
		(void)str_copy(c->err, sizeof(c->err), "closed by peer");
		break;
	case SSL_ERROR_SYSCALL:
		if (ERR_peek_error() != 0)
			tls_err_queue(&b);
		else if (saved_errno != 0)
			buf_printf(&b, "%s", strerror(saved_errno));
		else
			buf_puts(&b, "connection closed");
		(void)str_copy(c->err, sizeof(c->err), buf_cstr(&b));
		break;
	default:
		tls_err_queue(&b);
		(void)str_copy(c->err, sizeof(c->err),
		    b.len ? buf_cstr(&b) : "protocol error");
		break;
	}
	buf_free(&b);
	ERR_clear_error();
	return TLS_ERROR;
}

int
tls_handshake(struct tls_conn *c)
{
	int r;

	if (c->done)
		return TLS_OK;
	c->err[0] = '\0';
	ERR_clear_error();
	errno = 0;
	if ((r = SSL_do_handshake(c->ssl)) == 1) {
		c->done = true;
		return TLS_OK;
	}
	return tls_status(c, r, errno);
}

ssize_t
tls_read(struct tls_conn *c, void *p, size_t len, int *want)
{
	size_t n = 0;
	int r;

	c->err[0] = '\0';
	if (NG_NEVER(!c->done)) {
		*want = TLS_ERROR;
		return -1;
	}
	if (len == 0)
		return 0;
	ERR_clear_error();
	errno = 0;
	if ((r = SSL_read_ex(c->ssl, p, len, &n)) == 1)
		return (ssize_t)n;
	/* close_notify, or (SSL_OP_IGNORE_UNEXPECTED_EOF) a bare EOF. */
	if (SSL_get_error(c->ssl, r) == SSL_ERROR_ZERO_RETURN) {
		ERR_clear_error();
		return 0;
	}
	*want = tls_status(c, r, errno);
	return -1;
}

ssize_t
tls_write(struct tls_conn *c, const void *p, size_t len, int *want)
{
	size_t n = 0;
	int r;

	c->err[0] = '\0';
	if (NG_NEVER(!c->done)) {
		*want = TLS_ERROR;
		return -1;
	}
	if (len == 0)
		return 0;
	ERR_clear_error();
	errno = 0;
	if ((r = SSL_write_ex(c->ssl, p, len, &n)) == 1)
		return (ssize_t)n;
	*want = tls_status(c, r, errno);
	return -1;
}

bool
tls_pending(const struct tls_conn *c)
{
	return SSL_has_pending(c->ssl) == 1;
}

int
tls_shutdown(struct tls_conn *c)
{
	int r;

	c->err[0] = '\0';
	if (c->shut || !c->done)
		return TLS_OK;
	ERR_clear_error();
	errno = 0;
	/* 0: our close_notify went out and the peer's has not come; fine. */
	if ((r = SSL_shutdown(c->ssl)) >= 0) {
		c->shut = true;
		return TLS_OK;
	}
	return tls_status(c, r, errno);
}

const char *
tls_error(const struct tls_conn *c)
{
	return c->err;
}

void
tls_describe(const struct tls_conn *c, struct buf *out)
{
	if (!c->done)
		return;
	buf_printf(
	    out, "%s %s", SSL_get_version(c->ssl), SSL_get_cipher_name(c->ssl));
}
