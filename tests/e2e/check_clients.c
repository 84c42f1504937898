/*
 * check_clients.c - the real slrn and tin read newsgate over NNTP.
 *
 * The fixture imports contrib/sample/ (one article, crossposted to
 * pakistan.news and us.statedept) and starts `newsgate serve` on
 * 127.0.0.1 port 0. Each test runs a newsreader (the Debian package) in
 * a private tmux with a fresh HOME and reads the screen as a user would:
 * the group list shows both groups, pakistan.news shows the sample's
 * subject, the article's body displays.
 *
 * Without a newsreader or tmux the tests print a note and pass, except
 * under CI (CI=true), which installs them: there a missing one fails.
 */
#include <sys/stat.h>

#include <check.h>
#include <limits.h>
#include <signal.h>

#include "common.h"
#include "ngtest.h"
#include "tui.h"

#define WAIT_MS 20000 /* for any one screen to appear */

#define SAMPLE_SUBJECT "United States not considering sanctions on Pakistan"
#define SAMPLE_BODY "ISLAMABAD: The US State Department"

/* Made by setup() in the Check parent process. */
static struct ngt_dir dir;
static struct ngt_server server;
static char setup_error[256]; /* why the fixture failed, or "" */

static void
setup(void)
{
	char sample[PATH_MAX];

	signal(SIGPIPE, SIG_IGN);
	if (ngt_dir_new(&dir, "ng-clients") == -1)
		fatal("mkdtemp");
	if (!str_printf(sample, sizeof(sample), "%s/contrib/sample/",
	    ngt_top()) || ngt_import(&dir, sample) == -1)
		(void)str_copy(setup_error, sizeof(setup_error),
		    "importing the sample failed (see above)");
	else if (ngt_server_start(&server, dir.spool, NULL) == -1)
		(void)str_copy(setup_error, sizeof(setup_error),
		    "newsgate serve did not start (see above)");
}

static void
teardown(void)
{
	char home[PATH_MAX];
	struct tui t;

	if (str_printf(home, sizeof(home), "%s/home-teardown", dir.path) &&
	    tui_init(&t, dir.path, home) == 0)
		tui_stop(&t);
	if (server.pid > 0)
		(void)ngt_server_stop(&server);
	ngt_dir_free(&dir);
}

/* A fresh HOME and tmux for one newsreader; false when skipped. */
static bool
start_reader(struct tui *t, const char *prog, char *path, size_t cap,
    char *home, size_t homecap)
{
	char tmux[PATH_MAX];

	ck_assert_msg(setup_error[0] == '\0', "%s", setup_error);
	if (!tui_need("tmux", tmux, sizeof(tmux)) ||
	    !tui_need(prog, path, cap))
		return false;
	/* A HOME per reader: the last one may still be exiting. */
	ck_assert(str_printf(home, homecap, "%s/home-%s", dir.path, prog));
	ck_assert_int_eq(tui_init(t, dir.path, home), 0);
	return true;
}

/* Write text to home/name. */
static void
write_file(const char *home, const char *name, const char *text)
{
	char path[PATH_MAX];
	FILE *fp;

	ck_assert(str_printf(path, sizeof(path), "%s/%s", home, name));
	ck_assert_ptr_nonnull(fp = fopen(path, "w"));
	fputs(text, fp);
	ck_assert_int_eq(fclose(fp), 0);
}

/* The article is on the screen: body, whole subject, no CR. */
static void
assert_article_shown(struct tui *t)
{
	ck_assert_msg(tui_wait(t, SAMPLE_BODY, WAIT_MS),
	    "the article body did not display");
	ck_assert_msg(strstr(t->screen, "^M") == NULL,
	    "CR in the article:\n%s", t->screen);
	ck_assert_msg(strstr(t->screen, SAMPLE_SUBJECT) != NULL,
	    "no subject with the article:\n%s", t->screen);
}

START_TEST(test_slrn_nntp)
{
	char slrn[PATH_MAX], home[PATH_MAX], cmd[3 * PATH_MAX];
	struct tui t;

	if (!start_reader(&t, "slrn", slrn, sizeof(slrn), home,
	    sizeof(home)))
		return;
	/* slrn refuses to start without a hostname for the From line. */
	write_file(home, ".slrnrc",
	    "set hostname \"newsgate.invalid\"\n"
	    "set username \"tester\"\n"
	    "set realname \"Newsgate Tester\"\n");
	/* --create: every group of LIST, unsubscribed, in the group list. */
	ck_assert(str_printf(cmd, sizeof(cmd),
	    "exec '%s' --nntp -h 127.0.0.1:%d -f '%s/.jnewsrc' --create",
	    slrn, server.port, home));
	ck_assert_int_eq(tui_start(&t, cmd), 0);
	ck_assert_msg(tui_wait(&t, "News Groups:", WAIT_MS),
	    "slrn did not show its group list");
	ck_assert_msg(tui_wait(&t, "pakistan.news", WAIT_MS) &&
	    tui_wait(&t, "us.statedept", WAIT_MS), "a group is missing");

	ck_assert_msg(tui_cursor_to(&t, "->", "pakistan.news", 10, WAIT_MS),
	    "cannot select pakistan.news");
	ck_assert_int_eq(tui_keys(&t, "Enter"), 0);
	ck_assert_msg(tui_wait(&t, "Group: pakistan.news", WAIT_MS),
	    "pakistan.news did not open");
	ck_assert_msg(tui_wait(&t, SAMPLE_SUBJECT, WAIT_MS),
	    "no sample subject in pakistan.news");

	ck_assert_int_eq(tui_keys(&t, "Space"), 0);
	assert_article_shown(&t);
	ck_assert_msg(strstr(t.screen, "Newsgroups: pakistan.news,"
	    "us.statedept") != NULL, "not crossposted:\n%s", t.screen);
	tui_stop(&t);
}
END_TEST

START_TEST(test_tin_nntp)
{
	char tin[PATH_MAX], home[PATH_MAX], cmd[3 * PATH_MAX];
	struct tui t;

	if (!start_reader(&t, "tin", tin, sizeof(tin), home, sizeof(home)))
		return;
	/* A tinrc of our own: no first-start welcome page. */
	ck_assert(str_printf(cmd, sizeof(cmd), "%s/.tin", home));
	ck_assert_int_eq(mkdir(cmd, 0700), 0);
	write_file(home, ".tin/tinrc", "thread_articles=2\n");
	ck_assert(str_printf(cmd, sizeof(cmd),
	    "NNTPSERVER=127.0.0.1 NNTPPORT=%d exec '%s' -r", server.port,
	    tin));
	ck_assert_int_eq(tui_start(&t, cmd), 0);
	ck_assert_msg(tui_wait(&t, "Group Selection", WAIT_MS),
	    "tin did not show its group selection");

	/* Nothing subscribed yet: y shows every group the server has, with
	 * the descriptions of LIST NEWSGROUPS. */
	ck_assert_int_eq(tui_keys(&t, "y"), 0);
	ck_assert_msg(tui_wait(&t, "News from and about Pakistan", WAIT_MS),
	    "pakistan.news (with its description) not listed");
	ck_assert_msg(tui_wait(&t, "us.statedept", WAIT_MS),
	    "us.statedept not listed");

	/* g: go to a group by name; Enter opens it (LISTGROUP, OVER). */
	ck_assert_int_eq(tui_keys(&t, "g"), 0);
	ck_assert_msg(tui_wait(&t, "Go to newsgroup", WAIT_MS),
	    "no group prompt");
	ck_assert_int_eq(tui_type(&t, "pakistan.news"), 0);
	ck_assert_int_eq(tui_keys(&t, "Enter"), 0);
	ck_assert_int_eq(tui_keys(&t, "Enter"), 0);
	ck_assert_msg(tui_wait(&t, "pakistan.news (", WAIT_MS),
	    "pakistan.news did not open");
	ck_assert_msg(tui_wait(&t, SAMPLE_SUBJECT, WAIT_MS),
	    "no sample subject in pakistan.news");

	ck_assert_int_eq(tui_keys(&t, "Enter"), 0);
	assert_article_shown(&t);
	tui_stop(&t);
}
END_TEST

static Suite *
clients_suite(void)
{
	Suite *s = suite_create("clients");
	TCase *tc = tcase_create("nntp");

	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_slrn_nntp);
	tcase_add_test(tc, test_tin_nntp);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(clients_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
