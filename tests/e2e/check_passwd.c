/*
 * check_passwd.c - `newsgate passwd` end to end: the real binary
 * ($NEWSGATE_BIN) on a spool in a temporary directory, the password piped
 * on stdin or typed on a real terminal (a private tmux), the result read
 * back through auth_check() as the server would.
 *
 * Without tmux the terminal tests print a note and pass, except under CI,
 * where a missing program fails.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <check.h>
#include <fcntl.h>
#include <limits.h>
#include <unistd.h>

#include "common.h"
#include "auth.h"
#include "tui.h"

#define WAIT_MS 20000 /* for any one screen to appear */

static char topdir[PATH_MAX];
static char spool[PATH_MAX + 16];
static char accounts[PATH_MAX + 64];

static void
setup(void)
{
	if (tui_mkdtemp(topdir, sizeof(topdir), "ng-passwd") == -1)
		fatal("mkdtemp");
	(void)str_printf(spool, sizeof(spool), "%s/spool", topdir);
	(void)auth_default_path(spool, accounts, sizeof(accounts));
}

static void
teardown(void)
{
	char home[PATH_MAX + 16];
	struct tui t;

	if (str_printf(home, sizeof(home), "%s/home", topdir) &&
	    tui_init(&t, topdir, home) == 0)
		tui_stop(&t);
	if (getenv("NEWSGATE_KEEP") == NULL)
		(void)tui_rmrf(topdir);
}

/*
 * Run newsgate with args (NULL-terminated) and input on stdin (a pipe);
 * stdout and stderr into err (cap octets). Returns the exit status.
 */
static int
run(const char *input, const char *const *args, char *err, size_t cap)
{
	const char *bin = getenv("NEWSGATE_BIN");
	char errp[PATH_MAX + 16];
	const char *argv[16];
	int in[2], st, i, fd;
	ssize_t n;
	pid_t pid;

	ck_assert_msg(bin != NULL, "NEWSGATE_BIN not set (run make check)");
	(void)str_printf(errp, sizeof(errp), "%s/stderr", topdir);
	argv[0] = bin;
	for (i = 0; args[i] != NULL && i < 14; i++)
		argv[i + 1] = args[i];
	argv[i + 1] = NULL;
	ck_assert_int_eq(pipe(in), 0);
	ck_assert_int_ge(pid = fork(), 0);
	if (pid == 0) {
		fd = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(in[0], 0);
		dup2(fd, 1);
		dup2(fd, 2);
		close(in[1]);
		execv(bin, (char *const *)(uintptr_t)argv);
		_exit(127);
	}
	close(in[0]);
	ck_assert_int_eq(write_all(in[1], input, strlen(input)), 0);
	close(in[1]);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	err[0] = '\0';
	if ((fd = open(errp, O_RDONLY)) != -1) {
		n = read(fd, err, cap - 1);
		err[n > 0 ? n : 0] = '\0';
		close(fd);
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static enum auth_result
check(const char *path, const char *user, const char *password)
{
	struct auth *a = auth_new(path);
	enum auth_result r = auth_check(a, user, password);

	auth_free(a);
	return r;
}

START_TEST(test_piped_password)
{
	char err[4096];
	struct stat st;
	int rc;

	rc = run("first secret\n",
	    (const char *[]){"passwd", "--spool", spool, "alice", NULL}, err,
	    sizeof(err));
	ck_assert_msg(rc == 0, "passwd: %d: %s", rc, err);
	ck_assert_ptr_nonnull(strstr(err, "password set for alice"));
	ck_assert_int_eq(stat(accounts, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(check(accounts, "alice", "first secret"), AUTH_OK);
	ck_assert_int_eq(check(accounts, "alice", "first"), AUTH_FAIL);

	/* CRLF and a missing final newline are both one line. */
	rc = run("bobs pw\r\n",
	    (const char *[]){"passwd", "--spool", spool, "bob", NULL}, err,
	    sizeof(err));
	ck_assert_msg(rc == 0, "passwd: %d: %s", rc, err);
	rc = run("changed",
	    (const char *[]){"passwd", "--spool", spool, "alice", NULL}, err,
	    sizeof(err));
	ck_assert_msg(rc == 0, "passwd: %d: %s", rc, err);
	ck_assert_int_eq(check(accounts, "alice", "first secret"), AUTH_FAIL);
	ck_assert_int_eq(check(accounts, "alice", "changed"), AUTH_OK);
	ck_assert_int_eq(check(accounts, "bob", "bobs pw"), AUTH_OK);
	ck_assert_int_eq(stat(accounts, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
}
END_TEST

START_TEST(test_refusals)
{
	char err[4096], longpw[AUTH_PASS_MAX + 3];
	struct stat st;

	ck_assert_int_eq(run("pw\n", (const char *[]){"passwd", NULL}, err,
			     sizeof(err)),
	    2);
	ck_assert_int_eq(run("pw\n",
			     (const char *[]){"passwd", "--spool", spool,
				 "a:b", NULL},
			     err, sizeof(err)),
	    1);
	ck_assert_ptr_nonnull(strstr(err, "bad user name"));
	ck_assert_int_eq(run("pw\n",
			     (const char *[]){"passwd", "--spool", spool,
				 "two words", NULL},
			     err, sizeof(err)),
	    1);
	ck_assert_int_eq(run("",
			     (const char *[]){"passwd", "--spool", spool,
				 "alice", NULL},
			     err, sizeof(err)),
	    1);
	ck_assert_ptr_nonnull(strstr(err, "no password"));
	ck_assert_int_eq(run("\n",
			     (const char *[]){"passwd", "--spool", spool,
				 "alice", NULL},
			     err, sizeof(err)),
	    1);
	ck_assert_ptr_nonnull(strstr(err, "empty"));
	/* One octet over AUTH_PASS_MAX is refused; exactly at it is not. */
	memset(longpw, 'p', AUTH_PASS_MAX + 1);
	longpw[AUTH_PASS_MAX + 1] = '\n';
	longpw[AUTH_PASS_MAX + 2] = '\0';
	ck_assert_int_eq(run(longpw,
			     (const char *[]){"passwd", "--spool", spool,
				 "alice", NULL},
			     err, sizeof(err)),
	    1);
	ck_assert_ptr_nonnull(strstr(err, "over"));
	ck_assert_int_ne(stat(accounts, &st), 0);
	longpw[AUTH_PASS_MAX] = '\n';
	longpw[AUTH_PASS_MAX + 1] = '\0';
	ck_assert_int_eq(run(longpw,
			     (const char *[]){"passwd", "--spool", spool,
				 "alice", NULL},
			     err, sizeof(err)),
	    0);
	longpw[AUTH_PASS_MAX] = '\0';
	ck_assert_int_eq(check(accounts, "alice", longpw), AUTH_OK);
}
END_TEST

/* --file: an accounts file outside the spool. */
START_TEST(test_file_option)
{
	char err[4096], path[PATH_MAX + 16];
	struct stat st;
	int rc;

	(void)str_printf(path, sizeof(path), "%s/accounts.txt", topdir);
	rc = run("pw1\n",
	    (const char *[]){"passwd", "--file", path, "carol", NULL}, err,
	    sizeof(err));
	ck_assert_msg(rc == 0, "passwd: %d: %s", rc, err);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(check(path, "carol", "pw1"), AUTH_OK);
	ck_assert_int_ne(stat(spool, &st), 0); /* no spool was made */
}
END_TEST

/* The accounts setting of newsgate.conf names the file the server reads:
 * passwd writes there too. */
START_TEST(test_config_accounts)
{
	char err[4096], conf[PATH_MAX + 16], path[PATH_MAX + 16];
	FILE *fp;
	int rc;

	(void)str_printf(path, sizeof(path), "%s/conf-accounts", topdir);
	(void)str_printf(conf, sizeof(conf), "%s/newsgate.conf", topdir);
	fp = fopen(conf, "w");
	ck_assert_ptr_nonnull(fp);
	fprintf(fp, "[server]\naccounts = %s\n", path);
	fclose(fp);
	rc = run("dave pw\n",
	    (const char *[]){"passwd", "--config", conf, "--spool", spool,
		"dave", NULL},
	    err, sizeof(err));
	ck_assert_msg(rc == 0, "passwd: %d: %s", rc, err);
	ck_assert_int_eq(check(path, "dave", "dave pw"), AUTH_OK);
	ck_assert_int_ne(access(accounts, F_OK), 0);
}
END_TEST

/* The terminal: asked twice, nothing echoed. */
static bool
start_tty(struct tui *t, const char *user)
{
	const char *bin = getenv("NEWSGATE_BIN");
	char tmux[PATH_MAX], home[PATH_MAX + 16], cmd[3 * PATH_MAX];

	ck_assert_ptr_nonnull(bin);
	if (!tui_which("tmux", tmux, sizeof(tmux))) {
		ck_assert_msg(!tui_in_ci(), "tmux not installed under CI");
		printf("skipped: tmux not installed\n");
		return false;
	}
	(void)str_printf(home, sizeof(home), "%s/home", topdir);
	ck_assert_int_eq(tui_init(t, topdir, home), 0);
	ck_assert(str_printf(cmd, sizeof(cmd),
	    "'%s' passwd --spool '%s' %s; echo \"EXIT=$?\"", bin, spool,
	    user));
	ck_assert_int_eq(tui_start(t, cmd), 0);
	ck_assert(tui_wait(t, "Password for ", WAIT_MS));
	return true;
}

START_TEST(test_terminal)
{
	struct tui t;

	if (!start_tty(&t, "dave"))
		return;
	ck_assert_int_eq(tui_type(&t, "tty secret"), 0);
	ck_assert_int_eq(tui_keys(&t, "Enter"), 0);
	ck_assert(tui_wait(&t, "Again:", WAIT_MS));
	ck_assert_int_eq(tui_type(&t, "tty secret"), 0);
	ck_assert_int_eq(tui_keys(&t, "Enter"), 0);
	ck_assert(tui_wait(&t, "EXIT=0", WAIT_MS));
	ck_assert_msg(strstr(t.screen, "tty secret") == NULL,
	    "the password was echoed:\n%s", t.screen);
	ck_assert_int_eq(check(accounts, "dave", "tty secret"), AUTH_OK);
	tui_stop(&t);
}
END_TEST

START_TEST(test_terminal_mismatch_and_cancel)
{
	struct stat st;
	struct tui t;

	if (!start_tty(&t, "erin"))
		return;
	ck_assert_int_eq(tui_type(&t, "one"), 0);
	ck_assert_int_eq(tui_keys(&t, "Enter"), 0);
	ck_assert(tui_wait(&t, "Again:", WAIT_MS));
	ck_assert_int_eq(tui_type(&t, "two"), 0);
	ck_assert_int_eq(tui_keys(&t, "Enter"), 0);
	ck_assert(tui_wait(&t, "EXIT=1", WAIT_MS));
	ck_assert_ptr_nonnull(strstr(t.screen, "differ"));
	ck_assert_int_ne(stat(accounts, &st), 0);
	tui_stop(&t);

	/* ^C while typing: nothing written, and the program says so. */
	if (!start_tty(&t, "erin"))
		return;
	ck_assert_int_eq(tui_type(&t, "abc"), 0);
	ck_assert_int_eq(tui_keys(&t, "C-c"), 0);
	ck_assert_int_eq(tui_keys(&t, "Enter"), 0);
	ck_assert(tui_wait(&t, "EXIT=1", WAIT_MS));
	ck_assert_ptr_nonnull(strstr(t.screen, "cancelled"));
	ck_assert_int_ne(stat(accounts, &st), 0);
	tui_stop(&t);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("passwd");
	TCase *tc = tcase_create("passwd");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_piped_password);
	tcase_add_test(tc, test_refusals);
	tcase_add_test(tc, test_file_option);
	tcase_add_test(tc, test_config_accounts);
	tcase_add_test(tc, test_terminal);
	tcase_add_test(tc, test_terminal_mismatch_and_cancel);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
