/*
 * check_authinfo.c - AUTHINFO USER/PASS (RFC 4643) against the real
 * `newsgate serve` and accounts made by the real `newsgate passwd`:
 * success (281, then 502 and no AUTHINFO in CAPABILITIES), the codes out
 * of order (482), a wrong password (481, delayed by the throttle while
 * every other client is served at once), the lockout after repeated
 * failures (disconnect, and the address refused on a new connection),
 * posting that needs an account (480, then 240 with posting-account in
 * Injection-Info), and plaintext refused by configuration (483).
 * (AUTHINFO over TLS is in check_nntps.c.)
 *
 * Each test has its own spool, accounts and server.
 */
#include <sys/stat.h>

#include <check.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include "common.h"
#include "buf.h"
#include "ngtest.h"

#define GROUP_P "pakistan.news"

static struct ngt_dir d;
static struct ngt_server srv;

/*
 * newsgate passwd USER, the password on stdin; as the owner of the spool
 * (a server started as root runs as that user and must read the file).
 */
static void
passwd(const char *user, const char *pass)
{
	char cmd[3 * PATH_MAX], as[128] = "";
	struct passwd *pw;
	struct stat sb;

	if (stat(d.spool, &sb) == 0 && sb.st_uid != geteuid() &&
	    (pw = getpwuid(sb.st_uid)) != NULL)
		ck_assert(str_printf(as, sizeof(as), "runuser -u %s -- ",
		    pw->pw_name));
	ck_assert(str_printf(cmd, sizeof(cmd),
	    "printf '%%s\\n' '%s' | %s'%s' passwd --spool '%s' '%s' "
	    ">/dev/null 2>&1",
	    pass, as, ngt_bin(), d.spool, user));
	ck_assert_int_eq(system(cmd), 0);
}

static void
setup(void)
{
	char sample[PATH_MAX];

	signal(SIGPIPE, SIG_IGN);
	ck_assert_int_eq(ngt_dir_new(&d, "ng-auth"), 0);
	/* A server started as root runs as news: it must reach the
	 * accounts and configurations in here. */
	ck_assert_int_eq(chmod(d.path, 0755), 0);
	ck_assert(str_printf(sample, sizeof(sample), "%s/contrib/sample/",
	    ngt_top()));
	ck_assert_int_eq(ngt_import(&d, sample), 0);
	/* Before the first start: a root-owned spool is handed to the
	 * server's user with everything in it. */
	passwd("alice", "correct horse");
}

static void
teardown(void)
{
	if (srv.pid > 0)
		(void)ngt_server_stop(&srv);
	ngt_dir_free(&d);
}

static void
start(const char *conf_text)
{
	char conf[PATH_MAX];
	const char *extra[] = {"--config", conf, NULL};

	if (conf_text == NULL) {
		ck_assert_int_eq(ngt_server_start(&srv, d.spool, NULL), 0);
		return;
	}
	ck_assert_int_eq(ngt_write(d.path, "auth.conf", conf_text, conf), 0);
	ck_assert_int_eq(ngt_server_start(&srv, d.spool, extra), 0);
}

static struct ngt_conn *
client(int want)
{
	struct ngt_conn *c = ngt_connect(srv.port);
	char st[NGT_LINE_MAX];

	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(ngt_status(c, st, sizeof(st)), want);
	return c;
}

static bool
caps_have(struct ngt_conn *c, const char *line)
{
	struct buf b = BUF_INIT(1 << 16);
	char st[NGT_LINE_MAX], want[128];
	bool found;

	ck_assert_int_eq(ngt_cmd(c, st, sizeof(st), "CAPABILITIES"), 101);
	ck_assert_int_ge(ngt_body(c, &b), 1);
	ck_assert(str_printf(want, sizeof(want), "\n%s\n", line));
	found = strstr(buf_cstr(&b), want) != NULL ||
	    strncmp(buf_cstr(&b), want + 1, strlen(want + 1)) == 0;
	buf_free(&b);
	return found;
}

START_TEST(test_auth_success)
{
	char st[NGT_LINE_MAX];
	struct ngt_conn *c;

	start(NULL);
	c = client(200);
	ck_assert(caps_have(c, "AUTHINFO USER"));
	ck_assert_int_eq(ngt_cmd(c, st, sizeof(st), "AUTHINFO PASS x"), 482);
	ck_assert_int_eq(ngt_cmd(c, st, sizeof(st), "AUTHINFO USER alice"),
	    381);
	ck_assert_int_eq(ngt_cmd(c, st, sizeof(st),
			     "AUTHINFO PASS correct horse"),
	    281);
	ck_assert(!caps_have(c, "AUTHINFO USER"));
	ck_assert_int_eq(ngt_cmd(c, st, sizeof(st), "AUTHINFO USER alice"),
	    502);
	ck_assert_int_eq(ngt_cmd(c, st, sizeof(st), "MODE READER"), 200);
	ngt_close(c);
	/* A password changed while the server runs counts at once. */
	passwd("alice", "new secret");
	c = client(200);
	ck_assert_int_eq(ngt_cmd(c, st, sizeof(st), "AUTHINFO USER alice"),
	    381);
	ck_assert_int_eq(ngt_cmd(c, st, sizeof(st), "AUTHINFO PASS new secret"),
	    281);
	ngt_close(c);
}
END_TEST

/* A wrong password: 481 after a delay, during which the server answers
 * everybody else at once (it never sleeps). */
START_TEST(test_auth_failure_delays_only_that_client)
{
	struct ngt_conn *bad, *good;
	char st[NGT_LINE_MAX];
	struct pollfd pf;

	start(NULL);
	bad = client(200);
	good = client(200);
	ck_assert_int_eq(ngt_cmd(bad, st, sizeof(st), "AUTHINFO USER alice"),
	    381);
	ck_assert_int_eq(ngt_send(bad, "AUTHINFO PASS wrong"), 0);
	/* The other client is served while bad's 481 is still held back. */
	ck_assert_int_eq(ngt_cmd(good, st, sizeof(st), "DATE"), 111);
	ck_assert_int_eq(ngt_cmd(good, st, sizeof(st), "GROUP " GROUP_P), 211);
	pf.fd = bad->fd;
	pf.events = POLLIN;
	ck_assert_int_eq(poll(&pf, 1, 0), 0);
	ck_assert_int_eq(ngt_status(bad, st, sizeof(st)), 481);
	/* bad goes on afterwards. */
	ck_assert_int_eq(ngt_cmd(bad, st, sizeof(st), "DATE"), 111);
	ngt_close(bad);
	ngt_close(good);
}
END_TEST

/* Five failures: disconnected, and the address stays locked out, even
 * with the right password, on a new connection. */
START_TEST(test_auth_lockout)
{
	char st[NGT_LINE_MAX];
	struct ngt_conn *c;
	int i;

	start(NULL);
	c = client(200);
	for (i = 1; i <= 5; i++) {
		ck_assert_int_eq(ngt_cmd(c, st, sizeof(st),
				     "AUTHINFO USER alice"),
		    381);
		ck_assert_int_eq(ngt_cmd(c, st, sizeof(st),
				     "AUTHINFO PASS guess%d", i),
		    481);
	}
	ck_assert(ngt_eof(c, NGT_WAIT_MS));
	ngt_close(c);
	c = client(200);
	ck_assert_int_eq(ngt_cmd(c, st, sizeof(st), "AUTHINFO USER alice"),
	    381);
	ck_assert_int_eq(ngt_cmd(c, st, sizeof(st),
			     "AUTHINFO PASS correct horse"),
	    481);
	ck_assert(ngt_eof(c, NGT_WAIT_MS));
	ngt_close(c);
	ck_assert(ngt_server_alive(&srv));
}
END_TEST

/* post_policy = authenticated: 480 first, then the account posts. */
START_TEST(test_auth_then_post)
{
	struct buf b = BUF_INIT(1 << 16);
	char st[NGT_LINE_MAX], id[256];
	struct ngt_conn *c;

	start("[server]\npost_policy = authenticated\n");
	c = client(201);
	ck_assert(!caps_have(c, "POST"));
	ck_assert_int_eq(ngt_cmd(c, st, sizeof(st), "POST"), 480);
	ck_assert_int_eq(ngt_cmd(c, st, sizeof(st), "AUTHINFO USER alice"),
	    381);
	ck_assert_int_eq(ngt_cmd(c, st, sizeof(st),
			     "AUTHINFO PASS correct horse"),
	    281);
	ck_assert_int_eq(ngt_cmd(c, st, sizeof(st), "MODE READER"), 200);
	ck_assert(caps_have(c, "POST"));
	ck_assert_int_eq(ngt_cmd(c, st, sizeof(st), "POST"), 340);
	ck_assert(sscanf(strrchr(st, '<'), "%255s", id) == 1);
	ck_assert_int_eq(ngt_send(c, "From: Alice <alice@example.invalid>\r\n"
				     "Newsgroups: " GROUP_P "\r\n"
				     "Subject: with an account\r\n\r\nhello\r\n."),
	    0);
	ck_assert_int_eq(ngt_status(c, st, sizeof(st)), 240);
	ck_assert_int_eq(ngt_cmd(c, st, sizeof(st), "HEAD %s", id), 221);
	ck_assert_int_ge(ngt_body(c, &b), 1);
	ck_assert_msg(strstr(buf_cstr(&b), "posting-account=\"alice\"") !=
		NULL,
	    "%s", buf_cstr(&b));
	ngt_close(c);
	buf_free(&b);
}
END_TEST

/* auth_plaintext = no: even on loopback, TLS first (483). */
START_TEST(test_auth_plaintext_refused)
{
	char st[NGT_LINE_MAX];
	struct ngt_conn *c;

	start("[server]\nauth_plaintext = no\n");
	c = client(200);
	ck_assert(!caps_have(c, "AUTHINFO USER"));
	ck_assert_int_eq(ngt_cmd(c, st, sizeof(st), "AUTHINFO USER alice"),
	    483);
	ck_assert_int_eq(ngt_cmd(c, st, sizeof(st),
			     "AUTHINFO PASS correct horse"),
	    483);
	ngt_close(c);
}
END_TEST

static Suite *
auth_suite(void)
{
	Suite *s = suite_create("authinfo");
	TCase *tc = tcase_create("e2e");

	/* The lockout waits out the throttle: 1 + 2 + 4 + 8 s. */
	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_auth_success);
	tcase_add_test(tc, test_auth_failure_delays_only_that_client);
	tcase_add_test(tc, test_auth_lockout);
	tcase_add_test(tc, test_auth_then_post);
	tcase_add_test(tc, test_auth_plaintext_refused);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(auth_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
