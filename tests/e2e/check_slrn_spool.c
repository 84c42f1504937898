/*
 * check_slrn_spool.c - the real slrn reads a newsgate spool offline.
 *
 * `newsgate import` puts contrib/sample/ into a fresh spool; then slrn
 * (the Debian package) runs in spool mode under a private tmux, with
 * spool_inn_root = the spool and spool_root = spool_nov_root = its
 * articles/ and every other spool setting at slrn's default (data/active,
 * data/newsgroups, data/active.times, .overview: DESIGN.md, "The spool").
 * The tests read the screen the way a user would: both groups are listed,
 * pakistan.news shows the sample's subject, the article body displays,
 * and the crosspost reads the same from us.statedept.
 *
 * Without slrn or tmux the tests print a note and pass, except under CI
 * (CI=true), which installs both: there a missing program fails.
 */
#include <sys/stat.h>

#include <check.h>
#include <limits.h>

#include "common.h"
#include "tui.h"

#define WAIT_MS 20000	     /* for any one screen to appear */
#define IMPORT_TIMEOUT_MS 60000 /* newsgate import of the sample */

#define SAMPLE_SUBJECT "United States not considering sanctions on Pakistan"
#define SAMPLE_BODY "ISLAMABAD: The US State Department"

/* The per-run directory: made by setup() in the Check parent process. */
static char topdir[PATH_MAX];

static void
setup(void)
{
	if (tui_mkdtemp(topdir, sizeof(topdir), "ng-slrn-spool") == -1)
		fatal("mkdtemp");
}

static void
teardown(void)
{
	char home[PATH_MAX];
	struct tui t;

	if (topdir[0] == '\0')
		return;
	if (str_printf(home, sizeof(home), "%s/home-teardown", topdir) &&
	    tui_init(&t, topdir, home) == 0)
		tui_stop(&t);
	if (getenv("NEWSGATE_KEEP") == NULL)
		(void)tui_rmrf(topdir);
	topdir[0] = '\0';
}

/* newsgate import --spool SPOOL $NEWSGATE_TOP/contrib/sample/ */
static void
import_sample(const char *spool)
{
	const char *bin = getenv("NEWSGATE_BIN");
	const char *top = getenv("NEWSGATE_TOP");
	char defbin[PATH_MAX], sample[PATH_MAX], out[8192];
	int rc;

	if (top == NULL)
		top = ".";
	if (bin == NULL) {
		ck_assert(str_printf(defbin, sizeof(defbin),
		    "%s/build/newsgate", top));
		bin = defbin;
	}
	ck_assert(str_printf(sample, sizeof(sample), "%s/contrib/sample/",
	    top));
	const char *argv[] = {bin, "import", "--spool", spool, sample, NULL};
	rc = tui_run(argv, NULL, out, sizeof(out), IMPORT_TIMEOUT_MS);
	ck_assert_msg(rc == 0, "%s import exited %d:\n%s", bin, rc, out);
}

/* The slrnrc of a user who reads the spool offline (contrib/slrn/). */
static void
write_slrnrc(const char *home, const char *spool)
{
	char path[PATH_MAX];
	FILE *fp;

	ck_assert(str_printf(path, sizeof(path), "%s/.slrnrc", home));
	ck_assert_ptr_nonnull(fp = fopen(path, "w"));
	fprintf(fp,
	    "set server_object \"spool\"\n"
	    "set spool_inn_root \"%s\"\n"
	    "set spool_root \"%s/articles\"\n"
	    "set spool_nov_root \"%s/articles\"\n"
	    "set hostname \"newsgate.invalid\"\n"
	    "set username \"tester\"\n"
	    "set realname \"Newsgate Tester\"\n",
	    spool, spool, spool);
	ck_assert_int_eq(fclose(fp), 0);
}

/*
 * Import the sample into a fresh spool and start slrn on it with a fresh
 * HOME and newsrc (--create: every group of data/active is listed,
 * unsubscribed). name makes the directories the test's own: the slrn of
 * the test before may still be exiting. Returns false when skipped.
 */
static bool
start_slrn(struct tui *t, const char *name)
{
	char slrn[PATH_MAX], tmux[PATH_MAX], spool[PATH_MAX], home[PATH_MAX];
	char cmd[4 * PATH_MAX];

	if (!tui_need("tmux", tmux, sizeof(tmux)) ||
	    !tui_need("slrn", slrn, sizeof(slrn)))
		return false;
	ck_assert(str_printf(spool, sizeof(spool), "%s/spool-%s", topdir,
	    name));
	ck_assert(str_printf(home, sizeof(home), "%s/home-%s", topdir, name));
	import_sample(spool);
	ck_assert_int_eq(tui_init(t, topdir, home), 0);
	write_slrnrc(home, spool);
	ck_assert(str_printf(cmd, sizeof(cmd),
	    "exec '%s' --spool -f '%s/.jnewsrc' --create", slrn, home));
	ck_assert_int_eq(tui_start(t, cmd), 0);
	ck_assert_msg(tui_wait(t, "News Groups:", WAIT_MS),
	    "slrn did not show its group list");
	return true;
}

/* Open group from the group list and read its first article. */
static void
read_first_article(struct tui *t, const char *group)
{
	char status[128];

	ck_assert_msg(tui_cursor_to(t, "->", group, 10, WAIT_MS),
	    "cannot select %s in the group list", group);
	ck_assert_int_eq(tui_keys(t, "Enter"), 0);
	ck_assert(str_printf(status, sizeof(status), "Group: %s", group));
	ck_assert_msg(tui_wait(t, status, WAIT_MS), "%s did not open",
	    group);
	ck_assert_msg(tui_wait(t, SAMPLE_SUBJECT, WAIT_MS),
	    "the sample's subject is not in %s", group);

	ck_assert_int_eq(tui_keys(t, "Space"), 0);
	ck_assert_msg(tui_wait(t, SAMPLE_BODY, WAIT_MS),
	    "the article body did not display");
	/* CR in an article file shows as ^M and empties the body. */
	ck_assert_msg(strstr(t->screen, "^M") == NULL,
	    "CR in the article:\n%s", t->screen);
	ck_assert_msg(strstr(t->screen, "Subject: " SAMPLE_SUBJECT) != NULL,
	    "no Subject header shown:\n%s", t->screen);
}

START_TEST(test_slrn_lists_both_groups)
{
	struct tui t;

	if (!start_slrn(&t, "list"))
		return;
	ck_assert_msg(strstr(t.screen, "pakistan.news") != NULL,
	    "pakistan.news not listed:\n%s", t.screen);
	ck_assert_msg(strstr(t.screen, "us.statedept") != NULL,
	    "us.statedept not listed:\n%s", t.screen);
	tui_stop(&t);
}
END_TEST

START_TEST(test_slrn_reads_pakistan_news)
{
	struct tui t;

	if (!start_slrn(&t, "pakistan"))
		return;
	read_first_article(&t, "pakistan.news");
	/* One article, crossposted: both groups on its Newsgroups line. */
	ck_assert_msg(strstr(t.screen, "us.statedept") != NULL,
	    "the article does not name us.statedept:\n%s", t.screen);
	tui_stop(&t);
}
END_TEST

START_TEST(test_slrn_reads_crosspost_in_statedept)
{
	struct tui t;

	if (!start_slrn(&t, "statedept"))
		return;
	read_first_article(&t, "us.statedept");
	tui_stop(&t);
}
END_TEST

static Suite *
slrn_spool_suite(void)
{
	Suite *s = suite_create("slrn_spool");
	TCase *tc = tcase_create("slrn");

	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_slrn_lists_both_groups);
	tcase_add_test(tc, test_slrn_reads_pakistan_news);
	tcase_add_test(tc, test_slrn_reads_crosspost_in_statedept);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(slrn_spool_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
