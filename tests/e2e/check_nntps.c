/*
 * check_nntps.c - TLS in the real `newsgate serve`: implicit TLS on the
 * second port (RFC 8143) with libetpan's newsnntp_ssl_* and with
 * `openssl s_client`; STARTTLS (RFC 4642) with `openssl s_client
 * -starttls nntp` and with a small OpenSSL client of our own, then
 * AUTHINFO (which the configuration refuses in plaintext) and POST under
 * TLS; CAPABILITIES before and after; a second STARTTLS (502); plaintext
 * pipelined after STARTTLS never runs as a command under TLS; clients that
 * stall in the handshake or speak plaintext to the TLS port block nobody.
 *
 * The certificate comes from contrib/scripts/mkcert.sh. Without the
 * openssl program the tests print a note and pass, except under CI.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <check.h>
#include <libetpan/libetpan.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include "common.h"
#include "buf.h"
#include "ngtest.h"
#include "tui.h"

#define GROUP_P "pakistan.news"

static struct ngt_dir d;
static struct ngt_server srv;
static char cert[PATH_MAX], key[PATH_MAX], openssl[PATH_MAX];
static int tls_port;

static void
passwd(const char *user, const char *pass)
{
	char cmd[3 * PATH_MAX];

	ck_assert(str_printf(cmd, sizeof(cmd),
	    "printf '%%s\\n' '%s' | '%s' passwd --spool '%s' '%s' "
	    ">/dev/null 2>&1",
	    pass, ngt_bin(), d.spool, user));
	ck_assert_int_eq(system(cmd), 0);
}

/* false: no openssl program (skipped). */
static bool
up(const char *conf_text)
{
	char sample[PATH_MAX], tls[PATH_MAX], cmd[3 * PATH_MAX], pf[PATH_MAX];
	char conf[PATH_MAX], line[64];
	const char *extra[] = {"--tls-cert", cert, "--tls-key", key,
	    "--tls-listen", "127.0.0.1:0", "--config", conf, NULL};
	FILE *fp;

	signal(SIGPIPE, SIG_IGN);
	if (!tui_need("openssl", openssl, sizeof(openssl)))
		return false;
	ck_assert_int_eq(ngt_dir_new(&d, "ng-nntps"), 0);
	ck_assert_int_eq(chmod(d.path, 0755), 0);
	ck_assert(str_printf(sample, sizeof(sample), "%s/contrib/sample/",
	    ngt_top()));
	ck_assert_int_eq(ngt_import(&d, sample), 0);
	passwd("alice", "tls only");
	ck_assert(str_printf(tls, sizeof(tls), "%s/tls", d.path));
	ck_assert(str_printf(cmd, sizeof(cmd),
	    "sh '%s/contrib/scripts/mkcert.sh' '%s' >/dev/null 2>&1",
	    ngt_top(), tls));
	ck_assert_int_eq(system(cmd), 0);
	ck_assert(str_printf(cert, sizeof(cert), "%s/cert.pem", tls));
	ck_assert(str_printf(key, sizeof(key), "%s/key.pem", tls));
	ck_assert_int_eq(ngt_write(d.path, "tls.conf",
			     conf_text ? conf_text : "[server]\n", conf),
	    0);
	ck_assert_int_eq(ngt_server_start(&srv, d.spool, extra), 0);
	/* The port file: the plain listener, then the TLS one. */
	ck_assert(str_printf(pf, sizeof(pf), "%s/port", srv.dir));
	ck_assert_ptr_nonnull(fp = fopen(pf, "r"));
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), fp));
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), fp));
	fclose(fp);
	tls_port = (int)strtol(line, NULL, 10);
	ck_assert_int_gt(tls_port, 0);
	return true;
}

static void
teardown(void)
{
	if (srv.pid > 0)
		(void)ngt_server_stop(&srv);
	ngt_dir_free(&d);
}

/* Run openssl s_client with input; its output in out. */
static void
s_client(const char *args, const char *input, struct buf *out)
{
	char in[PATH_MAX], cmd[4 * PATH_MAX], outp[PATH_MAX];
	FILE *fp;
	char chunk[4096];
	size_t n;

	ck_assert_int_eq(ngt_write(d.path, "s_client.in", input, in), 0);
	ck_assert(str_printf(outp, sizeof(outp), "%s/s_client.out", d.path));
	ck_assert(str_printf(cmd, sizeof(cmd),
	    "timeout 20 '%s' s_client -quiet -ign_eof %s <'%s' >'%s' "
	    "2>/dev/null",
	    openssl, args, in, outp));
	(void)!system(cmd);
	buf_reset(out);
	ck_assert_ptr_nonnull(fp = fopen(outp, "r"));
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		buf_append(out, chunk, n);
	fclose(fp);
}

/* --- a blocking TLS client for STARTTLS --------------------------------- */

struct tc {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl; /* NULL before STARTTLS */
	char buf[8192];
	size_t len;
};

static struct tc *
tc_connect(int port)
{
	struct sockaddr_in sin;
	struct tc *t = xcalloc(1, sizeof(*t));

	ck_assert((t->fd = socket(AF_INET, SOCK_STREAM, 0)) != -1);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(connect(t->fd, (struct sockaddr *)&sin, sizeof(sin)),
	    0);
	return t;
}

static void
tc_close(struct tc *t)
{
	if (t->ssl)
		SSL_free(t->ssl);
	if (t->ctx)
		SSL_CTX_free(t->ctx);
	close(t->fd);
	free(t);
}

static int
tc_write(struct tc *t, const char *s)
{
	size_t len = strlen(s);

	if (t->ssl)
		return SSL_write(t->ssl, s, (int)len) == (int)len ? 0 : -1;
	return write(t->fd, s, len) == (ssize_t)len ? 0 : -1;
}

/* One line (CRLF removed); -1 at EOF or error. */
static int
tc_line(struct tc *t, char *line, size_t cap)
{
	char *nl;
	int n;

	while ((nl = memchr(t->buf, '\n', t->len)) == NULL) {
		if (t->len == sizeof(t->buf))
			return -1;
		n = t->ssl ? SSL_read(t->ssl, t->buf + t->len,
				 (int)(sizeof(t->buf) - t->len))
			   : (int)read(t->fd, t->buf + t->len,
				 sizeof(t->buf) - t->len);
		if (n <= 0)
			return -1;
		t->len += (size_t)n;
	}
	*nl = '\0';
	if (nl > t->buf && nl[-1] == '\r')
		nl[-1] = '\0';
	ck_assert(str_copy(line, cap, t->buf));
	t->len -= (size_t)(nl + 1 - t->buf);
	memmove(t->buf, nl + 1, t->len);
	return (int)strtol(line, NULL, 10);
}

static int
tc_cmd(struct tc *t, const char *cmd, char *line, size_t cap)
{
	char l[1024];

	ck_assert(str_printf(l, sizeof(l), "%s\r\n", cmd));
	ck_assert_int_eq(tc_write(t, l), 0);
	return tc_line(t, line, cap);
}

/* The multi-line block after a 1xx/2xx line, joined with LF. */
static void
tc_block(struct tc *t, struct buf *b)
{
	char line[1024];

	buf_reset(b);
	for (;;) {
		ck_assert_int_ge(tc_line(t, line, sizeof(line)), 0);
		if (strcmp(line, ".") == 0)
			return;
		buf_printf(b, "%s\n", line);
	}
}

/* The TLS handshake on the connection (no certificate check: it is
 * self-signed). 0, or -1. */
static int
tc_handshake(struct tc *t)
{
	ck_assert_ptr_nonnull(t->ctx = SSL_CTX_new(TLS_client_method()));
	ck_assert_ptr_nonnull(t->ssl = SSL_new(t->ctx));
	ck_assert_int_eq(SSL_set_fd(t->ssl, t->fd), 1);
	return SSL_connect(t->ssl) == 1 ? 0 : -1;
}

/* --- the tests ------------------------------------------------------------ */

START_TEST(test_implicit_tls_libetpan)
{
	static const char msg[] = "From: Tls <tls@example.invalid>\r\n"
				  "Newsgroups: " GROUP_P "\r\n"
				  "Subject: Posted over TLS\r\n"
				  "\r\n"
				  "Sent through newsnntp_ssl.\r\n";
	struct newsnntp_group_info *gi;
	newsnntp *nn;
	char *art;
	size_t len;

	if (!up(NULL))
		return;
	ck_assert_ptr_nonnull(nn = newsnntp_new(0, NULL));
	ck_assert_int_eq(newsnntp_ssl_connect(nn, "127.0.0.1",
			     (uint16_t)tls_port),
	    NEWSNNTP_NO_ERROR);
	ck_assert_int_eq(newsnntp_mode_reader(nn), NEWSNNTP_NO_ERROR);
	ck_assert_int_eq(newsnntp_group(nn, GROUP_P, &gi), NEWSNNTP_NO_ERROR);
	ck_assert_int_eq(gi->grp_last, 1);
	newsnntp_group_free(gi);
	ck_assert_int_eq(newsnntp_article(nn, 1, &art, &len),
	    NEWSNNTP_NO_ERROR);
	ck_assert_ptr_nonnull(strstr(art, "ISLAMABAD"));
	newsnntp_article_free(art);
	ck_assert_int_eq(newsnntp_post(nn, msg, sizeof(msg) - 1),
	    NEWSNNTP_NO_ERROR);
	ck_assert_int_eq(newsnntp_group(nn, GROUP_P, &gi), NEWSNNTP_NO_ERROR);
	ck_assert_int_eq(gi->grp_last, 2);
	newsnntp_group_free(gi);
	newsnntp_quit(nn);
	newsnntp_free(nn);
}
END_TEST

START_TEST(test_implicit_tls_s_client)
{
	struct buf out = BUF_INIT(1 << 20);
	char args[128];

	if (!up(NULL))
		return;
	ck_assert(str_printf(args, sizeof(args), "-connect 127.0.0.1:%d",
	    tls_port));
	s_client(args, "CAPABILITIES\r\nGROUP " GROUP_P "\r\nQUIT\r\n", &out);
	ck_assert_msg(strncmp(buf_cstr(&out), "200 ", 4) == 0, "%s",
	    buf_cstr(&out));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&out), "\r\n101 "));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&out), "\r\nAUTHINFO USER\r\n"));
	/* Under TLS already: no STARTTLS. */
	ck_assert_ptr_null(strstr(buf_cstr(&out), "STARTTLS"));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&out), "\r\n211 1 1 1 " GROUP_P
						      "\r\n"));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&out), "\r\n205 "));
	buf_free(&out);
}
END_TEST

START_TEST(test_starttls_s_client)
{
	struct buf out = BUF_INIT(1 << 20);
	char args[128];

	if (!up(NULL))
		return;
	ck_assert(str_printf(args, sizeof(args),
	    "-starttls nntp -connect 127.0.0.1:%d", srv.port));
	/* s_client has read the greeting and the 382 itself. */
	s_client(args, "CAPABILITIES\r\nSTARTTLS\r\nDATE\r\nQUIT\r\n", &out);
	ck_assert_msg(strncmp(buf_cstr(&out), "101 ", 4) == 0, "%s",
	    buf_cstr(&out));
	ck_assert_ptr_null(strstr(buf_cstr(&out), "\r\nSTARTTLS\r\n"));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&out), "\r\n502 "));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&out), "\r\n111 "));
	buf_free(&out);
}
END_TEST

/* auth_plaintext = no: AUTHINFO needs STARTTLS; then it posts. */
START_TEST(test_starttls_authinfo_post)
{
	struct buf b = BUF_INIT(1 << 16);
	char line[1024], id[256];
	struct tc *t;

	if (!up("[server]\nauth_plaintext = no\npost_policy = "
		"authenticated\n"))
		return;
	t = tc_connect(srv.port);
	ck_assert_int_eq(tc_line(t, line, sizeof(line)), 201);
	ck_assert_int_eq(tc_cmd(t, "CAPABILITIES", line, sizeof(line)), 101);
	tc_block(t, &b);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&b), "\nSTARTTLS\n"));
	ck_assert_ptr_null(strstr(buf_cstr(&b), "AUTHINFO"));
	ck_assert_int_eq(tc_cmd(t, "AUTHINFO USER alice", line, sizeof(line)),
	    483);
	ck_assert_int_eq(tc_cmd(t, "POST", line, sizeof(line)), 480);
	ck_assert_int_eq(tc_cmd(t, "STARTTLS", line, sizeof(line)), 382);
	ck_assert_int_eq(tc_handshake(t), 0);
	ck_assert_int_eq(tc_cmd(t, "CAPABILITIES", line, sizeof(line)), 101);
	tc_block(t, &b);
	ck_assert_ptr_null(strstr(buf_cstr(&b), "STARTTLS"));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&b), "\nAUTHINFO USER\n"));
	ck_assert_int_eq(tc_cmd(t, "STARTTLS", line, sizeof(line)), 502);
	ck_assert_int_eq(tc_cmd(t, "AUTHINFO USER alice", line, sizeof(line)),
	    381);
	ck_assert_int_eq(tc_cmd(t, "AUTHINFO PASS tls only", line,
			     sizeof(line)),
	    281);
	ck_assert_int_eq(tc_cmd(t, "POST", line, sizeof(line)), 340);
	ck_assert(sscanf(strrchr(line, '<'), "%255s", id) == 1);
	ck_assert_int_eq(tc_write(t, "From: Alice <alice@example.invalid>\r\n"
				     "Newsgroups: " GROUP_P "\r\n"
				     "Subject: after STARTTLS\r\n\r\n"
				     "encrypted all the way\r\n.\r\n"),
	    0);
	ck_assert_int_eq(tc_line(t, line, sizeof(line)), 240);
	ck_assert_int_eq(tc_cmd(t, "GROUP " GROUP_P, line, sizeof(line)), 211);
	ck_assert_str_eq(line, "211 2 1 2 " GROUP_P);
	ck_assert_int_eq(tc_cmd(t, "QUIT", line, sizeof(line)), 205);
	tc_close(t);
	buf_free(&b);
}
END_TEST

/* RFC 4642 §2.2.2 / CVE-2011-0411: what follows STARTTLS in plaintext is
 * never taken as a command under TLS. */
START_TEST(test_starttls_injection)
{
	char line[1024];
	struct tc *t;

	if (!up(NULL))
		return;
	t = tc_connect(srv.port);
	ck_assert_int_ge(tc_line(t, line, sizeof(line)), 200);
	ck_assert_int_eq(tc_write(t, "STARTTLS\r\nHELP\r\n"), 0);
	ck_assert_int_eq(tc_line(t, line, sizeof(line)), 382);
	/* Either the injected bytes were dropped and the handshake works,
	 * or they reached the handshake and broke it: never a 100. */
	if (tc_handshake(t) == 0)
		ck_assert_int_eq(tc_cmd(t, "DATE", line, sizeof(line)), 111);
	tc_close(t);
	ck_assert(ngt_server_alive(&srv));
}
END_TEST

/* Clients stuck in the handshake, or talking plaintext to the TLS port,
 * hold nobody up. */
START_TEST(test_stalled_handshakes)
{
	struct ngt_conn *stall[4], *plain;
	struct buf out = BUF_INIT(1 << 16);
	char args[128], st[NGT_LINE_MAX];
	int i;

	if (!up(NULL))
		return;
	for (i = 0; i < 4; i++)
		ck_assert_ptr_nonnull(stall[i] = ngt_connect(tls_port));
	/* Half a ClientHello, and plaintext NNTP. */
	ck_assert_int_eq(ngt_send_raw(stall[0], "\x16\x03\x01\x02\x00\x01", 6),
	    0);
	ck_assert_int_eq(ngt_send(stall[1], "MODE READER"), 0);
	ck_assert(ngt_eof(stall[1], NGT_WAIT_MS));
	/* Meanwhile a full TLS session and a plaintext one are served. */
	ck_assert(str_printf(args, sizeof(args), "-connect 127.0.0.1:%d",
	    tls_port));
	s_client(args, "DATE\r\nQUIT\r\n", &out);
	ck_assert_msg(strstr(buf_cstr(&out), "\r\n111 ") != NULL, "%s",
	    buf_cstr(&out));
	ck_assert_ptr_nonnull(plain = ngt_connect(srv.port));
	ck_assert_int_eq(ngt_status(plain, st, sizeof(st)), 200);
	ck_assert_int_eq(ngt_cmd(plain, st, sizeof(st), "DATE"), 111);
	ngt_close(plain);
	for (i = 0; i < 4; i++)
		ngt_close(stall[i]);
	buf_free(&out);
}
END_TEST

static Suite *
nntps_suite(void)
{
	Suite *s = suite_create("nntps");
	TCase *tc = tcase_create("e2e");

	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_implicit_tls_libetpan);
	tcase_add_test(tc, test_implicit_tls_s_client);
	tcase_add_test(tc, test_starttls_s_client);
	tcase_add_test(tc, test_starttls_authinfo_post);
	tcase_add_test(tc, test_starttls_injection);
	tcase_add_test(tc, test_stalled_handshakes);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(nntps_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
