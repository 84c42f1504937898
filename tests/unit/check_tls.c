/*
 * check_tls.c - the TLS layer over real sockets (socketpairs and loopback
 * TCP), driven step by step in one process: every socket is non-blocking,
 * so a call that would wait shows up as TLS_WANT_* instead of a hang.
 *
 * The client side is written here with OpenSSL directly (tests may; src/
 * may not outside tls.c). The certificate is made in the test with the
 * OpenSSL API; contrib/scripts/mkcert.sh is tested too when the openssl
 * program is installed.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <netinet/in.h>

#include <arpa/inet.h>
#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "common.h"
#include "tls.h"
#include "tui.h"

#define STEPS_MAX 2000 /* rounds of a driven exchange before giving up */

static char tmpdir[PATH_MAX];
static char cert_path[PATH_MAX + 16], key_path[PATH_MAX + 16];
static char other_key_path[PATH_MAX + 16];

/* --- fixtures ------------------------------------------------------- */

/* For set-up in main(), outside any test: Check's asserts cannot run
 * there. */
#define SETUP(c)                                                    \
	do {                                                        \
		if (!(c)) {                                         \
			fprintf(stderr, "set-up failed: %s\n", #c); \
			ERR_print_errors_fp(stderr);                \
			exit(1);                                    \
		}                                                   \
	} while (0)

static void
write_key(EVP_PKEY *pk, const char *path)
{
	FILE *fp = fopen(path, "w");

	SETUP(fp);
	SETUP(PEM_write_PrivateKey(fp, pk, NULL, NULL, 0, NULL, NULL) == 1);
	fclose(fp);
}

/* A self-signed P-256 certificate for CN=localhost. */
static void
make_cert(void)
{
	EVP_PKEY *pk = EVP_EC_gen("P-256"), *other = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *n;
	FILE *fp;

	SETUP(pk);
	SETUP(other);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400L * 30);
	X509_set_pubkey(x, pk);
	n = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)"localhost", -1, -1, 0);
	X509_set_issuer_name(x, n);
	SETUP(X509_sign(x, pk, EVP_sha256()) > 0);
	(void)str_printf(cert_path, sizeof(cert_path), "%s/cert.pem", tmpdir);
	(void)str_printf(key_path, sizeof(key_path), "%s/key.pem", tmpdir);
	(void)str_printf(other_key_path, sizeof(other_key_path),
	    "%s/other.pem", tmpdir);
	fp = fopen(cert_path, "w");
	SETUP(fp);
	SETUP(PEM_write_X509(fp, x) == 1);
	fclose(fp);
	write_key(pk, key_path);
	write_key(other, other_key_path);
	X509_free(x);
	EVP_PKEY_free(pk);
	EVP_PKEY_free(other);
}

static struct tls_ctx *
server_ctx(void)
{
	struct buf err = BUF_INIT(1024);
	struct tls_ctx *ctx = tls_ctx_new(cert_path, key_path, &err);

	if (ctx == NULL)
		ck_abort_msg("tls_ctx_new: %s", buf_cstr(&err));
	buf_free(&err);
	return ctx;
}

static void
nonblock(int fd)
{
	ck_assert_int_ne(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK),
	    -1);
}

/* sv[0] for the server, sv[1] for the client; both non-blocking. */
static void
sock_pair(int sv[2])
{
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	nonblock(sv[0]);
	nonblock(sv[1]);
}

/* The same over loopback TCP: a listener on 127.0.0.1:0. */
static void
tcp_pair(int sv[2])
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int lfd, one = 1;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_ge(lfd = socket(AF_INET, SOCK_STREAM, 0), 0);
	(void)setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(lfd, 8), 0);
	ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&sin, &len), 0);
	ck_assert_int_ge(sv[1] = socket(AF_INET, SOCK_STREAM, 0), 0);
	ck_assert_int_eq(connect(sv[1], (struct sockaddr *)&sin, sizeof(sin)),
	    0);
	ck_assert_int_ge(sv[0] = accept(lfd, NULL, NULL), 0);
	close(lfd);
	nonblock(sv[0]);
	nonblock(sv[1]);
}

/* A client context: no verification unless ca is given; protocol range
 * min..max (0: library default). */
static SSL_CTX *
client_ctx(int min, int max, const char *ca)
{
	SSL_CTX *c = SSL_CTX_new(TLS_client_method());

	ck_assert_ptr_nonnull(c);
	if (min)
		ck_assert_int_eq(SSL_CTX_set_min_proto_version(c, min), 1);
	if (max)
		ck_assert_int_eq(SSL_CTX_set_max_proto_version(c, max), 1);
	if (min && min < TLS1_2_VERSION)
		ck_assert_int_eq(
		    SSL_CTX_set_cipher_list(c, "DEFAULT:@SECLEVEL=0"), 1);
	if (ca != NULL) {
		ck_assert_int_eq(SSL_CTX_load_verify_locations(c, ca, NULL),
		    1);
		SSL_CTX_set_verify(c, SSL_VERIFY_PEER, NULL);
	}
	return c;
}

static SSL *
client_new(SSL_CTX *cctx, int fd)
{
	SSL *ssl = SSL_new(cctx);

	ck_assert_ptr_nonnull(ssl);
	ck_assert_int_eq(SSL_set_fd(ssl, fd), 1);
	SSL_set_connect_state(ssl);
	return ssl;
}

static bool
client_retry(SSL *ssl, int r)
{
	int e = SSL_get_error(ssl, r);

	return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE;
}

/*
 * Step both handshakes in turn until both finish. Returns the server's
 * final status (TLS_OK, or TLS_ERROR); *client_ok tells the client's.
 */
static int
handshake_both(struct tls_conn *s, SSL *cl, bool *client_ok)
{
	bool sdone = false, cdone = false, cfail = false;
	int i, st = TLS_WANT_READ, r;

	for (i = 0; i < STEPS_MAX && (!sdone || !(cdone || cfail)); i++) {
		if (!sdone) {
			st = tls_handshake(s);
			sdone = st == TLS_OK || st == TLS_ERROR;
			ck_assert(sdone || st == TLS_WANT_READ ||
			    st == TLS_WANT_WRITE);
		}
		if (!cdone && !cfail) {
			if ((r = SSL_do_handshake(cl)) == 1)
				cdone = true;
			else if (!client_retry(cl, r))
				cfail = true;
		}
		if (sdone && st == TLS_ERROR && i > 50)
			break; /* a failed server; the client may hang */
	}
	ck_assert_msg(sdone, "server handshake never finished");
	*client_ok = cdone;
	ERR_clear_error();
	return st;
}

/* Server reads exactly len bytes (client side stepped by nothing: the
 * data must already be on its way). */
static void
server_read_exact(struct tls_conn *s, char *p, size_t len)
{
	size_t got = 0;
	int i, want;

	for (i = 0; i < STEPS_MAX && got < len; i++) {
		ssize_t n = tls_read(s, p + got, len - got, &want);

		if (n > 0)
			got += (size_t)n;
		else
			ck_assert_msg(n == -1 && want == TLS_WANT_READ,
			    "tls_read: %zd want %d: %s", n, want,
			    tls_error(s));
	}
	ck_assert_uint_eq(got, len);
}

static void
client_write_all(SSL *cl, const void *p, size_t len)
{
	size_t n;

	ck_assert_int_eq(SSL_write_ex(cl, p, len, &n), 1);
	ck_assert_uint_eq(n, len);
}

struct conn_pair {
	int sv[2];
	struct tls_ctx *ctx;
	struct tls_conn *s;
	SSL_CTX *cctx;
	SSL *cl;
};

static void
pair_open(struct conn_pair *p, bool tcp, int cmin, int cmax)
{
	if (tcp)
		tcp_pair(p->sv);
	else
		sock_pair(p->sv);
	p->ctx = server_ctx();
	p->s = tls_conn_new(p->ctx, p->sv[0]);
	ck_assert_ptr_nonnull(p->s);
	p->cctx = client_ctx(cmin, cmax, NULL);
	p->cl = client_new(p->cctx, p->sv[1]);
}

static void
pair_close(struct conn_pair *p)
{
	tls_conn_free(p->s);
	tls_ctx_free(p->ctx);
	SSL_free(p->cl);
	SSL_CTX_free(p->cctx);
	close(p->sv[0]);
	close(p->sv[1]);
}

static void
pair_handshake(struct conn_pair *p)
{
	bool cok;

	ck_assert_int_eq(handshake_both(p->s, p->cl, &cok), TLS_OK);
	ck_assert(cok);
}

/* --- tests ---------------------------------------------------------- */

START_TEST(test_ctx_errors)
{
	struct buf err = BUF_INIT(4096);
	char missing[PATH_MAX + 16];

	(void)str_printf(missing, sizeof(missing), "%s/nope.pem", tmpdir);
	ck_assert_ptr_null(tls_ctx_new(missing, key_path, &err));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&err), "certificate"));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&err), missing));
	buf_reset(&err);
	ck_assert_ptr_null(tls_ctx_new(cert_path, missing, &err));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&err), "key"));
	buf_reset(&err);
	/* A key file that is a certificate, not a key. */
	ck_assert_ptr_null(tls_ctx_new(cert_path, cert_path, &err));
	buf_reset(&err);
	ck_assert_ptr_null(tls_ctx_new(cert_path, other_key_path, &err));
	ck_assert_msg(strstr(buf_cstr(&err), "mismatch") != NULL ||
	    strstr(buf_cstr(&err), "does not match") != NULL, "%s",
	    buf_cstr(&err));
	buf_reset(&err);
	tls_ctx_free(server_ctx());
	tls_ctx_free(NULL);
	tls_conn_free(NULL);
	buf_free(&err);
}
END_TEST

START_TEST(test_handshake_and_data)
{
	struct conn_pair p;
	struct buf d = BUF_INIT(256);
	char in[64];

	pair_open(&p, false, 0, 0);
	ck_assert_int_eq(tls_handshake(p.s), TLS_WANT_READ);
	pair_handshake(&p);
	ck_assert_int_eq(tls_handshake(p.s), TLS_OK);
	tls_describe(p.s, &d);
	ck_assert_msg(strncmp(buf_cstr(&d), "TLSv1.3 ", 8) == 0, "%s",
	    buf_cstr(&d));
	ck_assert_str_eq(tls_error(p.s), "");

	client_write_all(p.cl, "CAPABILITIES\r\n", 14);
	server_read_exact(p.s, in, 14);
	ck_assert(memcmp(in, "CAPABILITIES\r\n", 14) == 0);
	{
		int want = 0;
		ssize_t n = tls_read(p.s, in, sizeof(in), &want);

		ck_assert_int_eq(n, -1);
		ck_assert_int_eq(want, TLS_WANT_READ);
		ck_assert(!tls_pending(p.s));
	}
	{
		int want = 0;
		size_t got = 0;
		ssize_t n = tls_write(p.s, "101 Capability list:\r\n", 22,
		    &want);

		ck_assert_int_eq(n, 22);
		ck_assert_int_eq(tls_write(p.s, "x", 0, &want), 0);
		ck_assert_int_eq(SSL_read_ex(p.cl, in, sizeof(in), &got), 1);
		ck_assert_uint_eq(got, 22);
		ck_assert(memcmp(in, "101 Capability list:\r\n", 22) == 0);
	}
	buf_free(&d);
	pair_close(&p);
}
END_TEST

/*
 * One MiB from server to client through a socket that fills up: partial
 * writes, TLS_WANT_WRITE, and retries from a buffer that moved.
 */
START_TEST(test_big_write_partial_and_moving)
{
	struct conn_pair p;
	size_t total = 1 << 20, sent = 0, got = 0, i;
	unsigned char *src = xmalloc(total), *dst = xmalloc(total);
	unsigned char *cur;
	int steps, wants = 0;

	for (i = 0; i < total; i++)
		src[i] = (unsigned char)(i * 7 + i / 251);
	pair_open(&p, false, 0, 0);
	{
		int sz = 16384;

		ck_assert_int_eq(setsockopt(p.sv[0], SOL_SOCKET, SO_SNDBUF,
		    &sz, sizeof(sz)), 0);
	}
	pair_handshake(&p);
	cur = xmalloc(total);
	memcpy(cur, src, total);
	for (steps = 0; steps < 100000 && got < total; steps++) {
		if (sent < total) {
			int want = 0;
			ssize_t n = tls_write(p.s, cur, total - sent, &want);

			if (n > 0) {
				sent += (size_t)n;
			} else {
				ck_assert_int_eq(n, -1);
				ck_assert_int_eq(want, TLS_WANT_WRITE);
				wants++;
			}
			/* The caller's buffer moves (a consumed prefix, a
			 * realloc): the bytes not yet sent, at a new
			 * address. */
			free(cur);
			cur = xmalloc(total - sent);
			memcpy(cur, src + sent, total - sent);
		}
		/* The client drains some, not all, each round. */
		{
			size_t n = 0;
			size_t chunk = total - got < 3000 ? total - got : 3000;

			if (SSL_read_ex(p.cl, dst + got, chunk, &n) == 1)
				got += n;
			else
				ck_assert(client_retry(p.cl, 0));
			ERR_clear_error();
		}
	}
	ck_assert_uint_eq(got, total);
	ck_assert(memcmp(src, dst, total) == 0);
	ck_assert_int_gt(wants, 0);
	free(src);
	free(dst);
	free(cur);
	pair_close(&p);
}
END_TEST

/* Bytes decrypted inside OpenSSL are invisible to epoll: tls_pending()
 * must say so while a small reader leaves them there. */
START_TEST(test_pending_drain)
{
	struct conn_pair p;
	char big[10000], small[7];
	struct buf got = BUF_INIT(SIZE_MAX);
	bool saw_pending = false;
	size_t i;
	int want;

	for (i = 0; i < sizeof(big); i++)
		big[i] = (char)('a' + i % 26);
	pair_open(&p, false, 0, 0);
	pair_handshake(&p);
	client_write_all(p.cl, big, sizeof(big));
	/* Read until the socket is empty, 7 bytes at a time. */
	for (i = 0; i < 100000 && got.len < sizeof(big); i++) {
		ssize_t n = tls_read(p.s, small, sizeof(small), &want);

		if (n > 0) {
			buf_append(&got, small, (size_t)n);
			if (tls_pending(p.s))
				saw_pending = true;
			continue;
		}
		ck_assert_int_eq(want, TLS_WANT_READ);
	}
	ck_assert_uint_eq(got.len, sizeof(big));
	ck_assert(memcmp(got.data, big, sizeof(big)) == 0);
	ck_assert(saw_pending);
	ck_assert(!tls_pending(p.s));
	buf_free(&got);
	pair_close(&p);
}
END_TEST

START_TEST(test_tls12_allowed)
{
	struct conn_pair p;
	struct buf d = BUF_INIT(256);

	pair_open(&p, false, TLS1_2_VERSION, TLS1_2_VERSION);
	pair_handshake(&p);
	tls_describe(p.s, &d);
	ck_assert_msg(strncmp(buf_cstr(&d), "TLSv1.2 ECDHE-", 14) == 0, "%s",
	    buf_cstr(&d));
	buf_free(&d);
	pair_close(&p);
}
END_TEST

START_TEST(test_tls11_refused)
{
	struct conn_pair p;
	bool cok = true;

	pair_open(&p, false, TLS1_1_VERSION, TLS1_1_VERSION);
	ck_assert_int_eq(handshake_both(p.s, p.cl, &cok), TLS_ERROR);
	ck_assert(!cok);
	ck_assert_msg(strstr(tls_error(p.s), "protocol") != NULL, "%s",
	    tls_error(p.s));
	pair_close(&p);
}
END_TEST

/* A newsreader speaking plain NNTP to the TLS port. */
START_TEST(test_garbage_instead_of_hello)
{
	int sv[2], st, i;
	struct tls_ctx *ctx = server_ctx();
	struct tls_conn *s;
	const char *junk = "CAPABILITIES\r\nGROUP misc.test\r\n";

	sock_pair(sv);
	ck_assert_ptr_nonnull(s = tls_conn_new(ctx, sv[0]));
	ck_assert_int_eq(write_all(sv[1], junk, strlen(junk)), 0);
	for (i = 0; i < 10 && (st = tls_handshake(s)) == TLS_WANT_READ; i++)
		;
	ck_assert_int_eq(st, TLS_ERROR);
	ck_assert_str_ne(tls_error(s), "");
	ck_assert_int_eq(tls_handshake(s), TLS_ERROR);
	tls_conn_free(s);
	close(sv[0]);
	close(sv[1]);

	/* A peer that hangs up before saying anything. */
	sock_pair(sv);
	ck_assert_ptr_nonnull(s = tls_conn_new(ctx, sv[0]));
	ck_assert_int_eq(tls_handshake(s), TLS_WANT_READ);
	close(sv[1]);
	ck_assert_int_eq(tls_handshake(s), TLS_ERROR);
	ck_assert_str_ne(tls_error(s), "");
	tls_conn_free(s);
	close(sv[0]);
	tls_ctx_free(ctx);
}
END_TEST

/* The client's ClientHello, captured through memory BIOs; the client then
 * continues on fd. */
static SSL *
client_hello(SSL_CTX *cctx, struct buf *hello)
{
	SSL *ssl = SSL_new(cctx);
	BIO *rb = BIO_new(BIO_s_mem()), *wb = BIO_new(BIO_s_mem());
	char *p;
	long n;

	ck_assert_ptr_nonnull(ssl);
	SSL_set_bio(ssl, rb, wb);
	SSL_set_connect_state(ssl);
	ck_assert_int_eq(SSL_do_handshake(ssl), -1);
	ck_assert(client_retry(ssl, -1));
	n = BIO_get_mem_data(wb, &p);
	ck_assert_int_gt(n, 10);
	buf_append(hello, p, (size_t)n);
	return ssl;
}

/*
 * A client that sends half a ClientHello and stops blocks nobody: the
 * server's handshake returns at once, another client on the same context
 * completes, and the first finishes later when it resumes.
 */
START_TEST(test_stalled_client_blocks_nobody)
{
	struct tls_ctx *ctx = server_ctx();
	SSL_CTX *cctx = client_ctx(0, 0, NULL);
	struct buf hello = BUF_INIT(SIZE_MAX);
	int a[2], b[2], want;
	struct tls_conn *sa, *sb;
	SSL *ca, *cb;
	size_t half;
	bool cok;
	char in[16];

	tcp_pair(a);
	tcp_pair(b);
	ca = client_hello(cctx, &hello);
	half = hello.len / 2;
	ck_assert_int_eq(write_all(a[1], hello.data, half), 0);
	ck_assert_ptr_nonnull(sa = tls_conn_new(ctx, a[0]));
	ck_assert_int_eq(tls_handshake(sa), TLS_WANT_READ);
	ck_assert_int_eq(tls_handshake(sa), TLS_WANT_READ);

	ck_assert_ptr_nonnull(sb = tls_conn_new(ctx, b[0]));
	cb = client_new(cctx, b[1]);
	ck_assert_int_eq(handshake_both(sb, cb, &cok), TLS_OK);
	ck_assert(cok);
	client_write_all(cb, "DATE\r\n", 6);
	server_read_exact(sb, in, 6);
	ck_assert_int_eq(tls_write(sb, "111 20240101000000\r\n", 20, &want),
	    20);
	ck_assert_int_eq(tls_handshake(sa), TLS_WANT_READ);

	/* The stalled one resumes where it stopped. */
	ck_assert_int_eq(write_all(a[1], hello.data + half, hello.len - half),
	    0);
	ck_assert_int_eq(SSL_set_fd(ca, a[1]), 1);
	ck_assert_int_eq(handshake_both(sa, ca, &cok), TLS_OK);
	ck_assert(cok);
	client_write_all(ca, "QUIT\r\n", 6);
	server_read_exact(sa, in, 6);
	ck_assert(memcmp(in, "QUIT\r\n", 6) == 0);

	SSL_free(ca);
	SSL_free(cb);
	tls_conn_free(sa);
	tls_conn_free(sb);
	SSL_CTX_free(cctx);
	tls_ctx_free(ctx);
	buf_free(&hello);
	close(a[0]);
	close(a[1]);
	close(b[0]);
	close(b[1]);
}
END_TEST

/* Read what plaintext is there, as a server's input buffer would. */
static size_t
plain_read(int fd, char *p, size_t cap)
{
	ssize_t n = read(fd, p, cap - 1);

	ck_assert_int_gt(n, 0);
	p[n] = '\0';
	return (size_t)n;
}

/*
 * STARTTLS (RFC 4642 §2.2.2): a command pipelined after STARTTLS arrives
 * in plaintext. The server discards what it buffered; only what came
 * through TLS is read as commands.
 */
START_TEST(test_starttls_discards_plaintext)
{
	struct conn_pair p;
	char in[64];
	int want;
	static const char reply[] = "382 Continue with TLS negotiation\r\n";

	pair_open(&p, true, 0, 0);
	ck_assert_int_eq(write_all(p.sv[1], "STARTTLS\r\nAUTHINFO USER a\r\n",
	    27), 0);
	/* The server's input buffer gets both lines; it acts on the first,
	 * replies 382, and discards the rest (the contract in tls.h). */
	ck_assert_uint_eq(plain_read(p.sv[0], in, sizeof(in)), 27);
	ck_assert_int_eq(write_all(p.sv[0], reply, strlen(reply)), 0);
	ck_assert_uint_eq(plain_read(p.sv[1], in, sizeof(in)), strlen(reply));
	pair_handshake(&p);
	client_write_all(p.cl, "CAPABILITIES\r\n", 14);
	server_read_exact(p.s, in, 14);
	ck_assert(memcmp(in, "CAPABILITIES\r\n", 14) == 0);
	ck_assert_int_eq(tls_read(p.s, in, sizeof(in), &want), -1);
	ck_assert_int_eq(want, TLS_WANT_READ);
	pair_close(&p);
}
END_TEST

/* Plaintext that is still in the kernel when the handshake starts is read
 * as a TLS record: the handshake fails; nothing is injected. */
START_TEST(test_starttls_plaintext_in_kernel_fails)
{
	struct conn_pair p;
	char in[64];
	bool cok;

	pair_open(&p, true, 0, 0);
	ck_assert_int_eq(write_all(p.sv[1], "STARTTLS\r\n", 10), 0);
	ck_assert_uint_eq(plain_read(p.sv[0], in, sizeof(in)), 10);
	ck_assert_int_eq(write_all(p.sv[1], "AUTHINFO USER a\r\n", 17), 0);
	ck_assert_int_eq(handshake_both(p.s, p.cl, &cok), TLS_ERROR);
	ck_assert(!cok);
	pair_close(&p);
}
END_TEST

START_TEST(test_shutdown_and_eof)
{
	struct conn_pair p;
	char in[16];
	size_t n;
	int want;

	/* Server closes: the client sees close_notify. */
	pair_open(&p, false, 0, 0);
	pair_handshake(&p);
	ck_assert_int_eq(tls_shutdown(p.s), TLS_OK);
	ck_assert_int_eq(tls_shutdown(p.s), TLS_OK);
	ck_assert_int_eq(SSL_read_ex(p.cl, in, sizeof(in), &n), 0);
	ck_assert_int_eq(SSL_get_error(p.cl, 0), SSL_ERROR_ZERO_RETURN);
	pair_close(&p);

	/* Client closes cleanly: tls_read returns 0. */
	pair_open(&p, false, 0, 0);
	pair_handshake(&p);
	ck_assert_int_ge(SSL_shutdown(p.cl), 0);
	ck_assert_int_eq(tls_read(p.s, in, sizeof(in), &want), 0);
	pair_close(&p);

	/* Client just hangs up (after reading what was sent, the TLS 1.3
	 * session tickets): a plain EOF too. */
	pair_open(&p, false, 0, 0);
	pair_handshake(&p);
	ck_assert_int_eq(SSL_read_ex(p.cl, in, sizeof(in), &n), 0);
	ck_assert(client_retry(p.cl, 0));
	close(p.sv[1]);
	p.sv[1] = open("/dev/null", O_RDONLY);
	ck_assert_int_eq(tls_read(p.s, in, sizeof(in), &want), 0);
	pair_close(&p);

	/* Hanging up with data unread is a reset: an error, and says so. */
	pair_open(&p, false, 0, 0);
	pair_handshake(&p);
	close(p.sv[1]);
	p.sv[1] = open("/dev/null", O_RDONLY);
	ck_assert_int_eq(tls_read(p.s, in, sizeof(in), &want), -1);
	ck_assert_int_eq(want, TLS_ERROR);
	ck_assert_msg(strstr(tls_error(p.s), "reset") != NULL, "%s",
	    tls_error(p.s));
	pair_close(&p);
}
END_TEST

/* TLS 1.2 renegotiation asked by the client is refused. */
START_TEST(test_renegotiation_refused)
{
	struct conn_pair p;
	char in[16];
	int i, want, r;
	bool client_failed = false;

	pair_open(&p, false, TLS1_2_VERSION, TLS1_2_VERSION);
	pair_handshake(&p);
	ck_assert_int_eq(SSL_renegotiate(p.cl), 1);
	for (i = 0; i < 200 && !client_failed; i++) {
		ssize_t n = tls_read(p.s, in, sizeof(in), &want);

		ck_assert(n == -1 || n == 0);
		if (n == -1)
			ck_assert(want == TLS_WANT_READ ||
			    want == TLS_WANT_WRITE || want == TLS_ERROR);
		if ((r = SSL_do_handshake(p.cl)) != 1 &&
		    !client_retry(p.cl, r))
			client_failed = true;
		ERR_clear_error();
		if (r == 1 && SSL_renegotiate_pending(p.cl) == 0)
			ck_abort_msg("renegotiation completed");
	}
	ck_assert(client_failed);
	pair_close(&p);
}
END_TEST

/* contrib/scripts/mkcert.sh makes a certificate a client can verify for
 * "localhost", and a key only its owner can read. */
START_TEST(test_mkcert_script)
{
	const char *top = getenv("NEWSGATE_TOP");
	char sh[PATH_MAX], script[PATH_MAX], dir[PATH_MAX + 8];
	char cert[PATH_MAX + 16], key[PATH_MAX + 16], out[4096];
	struct buf err = BUF_INIT(1024);
	struct conn_pair p;
	struct stat st;
	bool cok;
	int rc;

	if (!tui_which("openssl", out, sizeof(out))) {
		ck_assert_msg(!tui_in_ci(), "openssl program missing in CI");
		return;
	}
	ck_assert(tui_which("sh", sh, sizeof(sh)));
	(void)str_printf(script, sizeof(script),
	    "%s/contrib/scripts/mkcert.sh", top ? top : ".");
	(void)str_printf(dir, sizeof(dir), "%s/mk/tls", tmpdir);
	{
		const char *argv[] = {sh, script, dir, NULL};

		rc = tui_run(argv, NULL, out, sizeof(out), 60000);
		ck_assert_msg(rc == 0, "mkcert.sh: %d: %s", rc, out);
		/* A second run keeps what is there. */
		rc = tui_run(argv, NULL, out, sizeof(out), 60000);
		ck_assert_msg(rc == 0, "mkcert.sh again: %d: %s", rc, out);
	}
	(void)str_printf(cert, sizeof(cert), "%s/cert.pem", dir);
	(void)str_printf(key, sizeof(key), "%s/key.pem", dir);
	ck_assert_int_eq(stat(key, &st), 0);
	ck_assert_int_eq(st.st_mode & 077, 0);

	sock_pair(p.sv);
	p.ctx = tls_ctx_new(cert, key, &err);
	ck_assert_msg(p.ctx != NULL, "%s", buf_cstr(&err));
	ck_assert_ptr_nonnull(p.s = tls_conn_new(p.ctx, p.sv[0]));
	p.cctx = client_ctx(0, 0, cert);
	p.cl = client_new(p.cctx, p.sv[1]);
	ck_assert_int_eq(SSL_set1_host(p.cl, "localhost"), 1);
	ck_assert_int_eq(handshake_both(p.s, p.cl, &cok), TLS_OK);
	ck_assert_msg(cok, "client did not verify the certificate");
	ck_assert_int_eq(SSL_get_verify_result(p.cl), X509_V_OK);
	pair_close(&p);
	buf_free(&err);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("tls");
	TCase *tc = tcase_create("tls");
	SRunner *sr;
	int failed;

	signal(SIGPIPE, SIG_IGN);
	if (tui_mkdtemp(tmpdir, sizeof(tmpdir), "ngtls") == -1) {
		perror("mkdtemp");
		return 1;
	}
	make_cert();
	tcase_add_test(tc, test_ctx_errors);
	tcase_add_test(tc, test_handshake_and_data);
	tcase_add_test(tc, test_big_write_partial_and_moving);
	tcase_add_test(tc, test_pending_drain);
	tcase_add_test(tc, test_tls12_allowed);
	tcase_add_test(tc, test_tls11_refused);
	tcase_add_test(tc, test_garbage_instead_of_hello);
	tcase_add_test(tc, test_stalled_client_blocks_nobody);
	tcase_add_test(tc, test_starttls_discards_plaintext);
	tcase_add_test(tc, test_starttls_plaintext_in_kernel_fails);
	tcase_add_test(tc, test_shutdown_and_eof);
	tcase_add_test(tc, test_renegotiation_refused);
	tcase_add_test(tc, test_mkcert_script);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	(void)tui_rmrf(tmpdir);
	return failed ? 1 : 0;
}
