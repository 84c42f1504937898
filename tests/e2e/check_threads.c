/*
 * check_threads.c - threads by similarity, end to end: import a small
 * story of four articles among two unrelated ones and the sample article,
 * then `newsgate threads` (tree and --tsv), `newsgate rethread`, and slrn
 * over NNTP showing the story as one thread of four.
 *
 * The slrn test runs slrn (the Debian package) in a private tmux with a
 * fresh HOME; without slrn or tmux it prints a note and passes, except
 * under CI (CI=true), where a missing one fails.
 */
#include <sys/stat.h>

#include <check.h>
#include <limits.h>
#include <signal.h>

#include "common.h"
#include "buf.h"
#include "ngtest.h"
#include "tui.h"

#define WAIT_MS 20000 /* for any one screen or command */
#define GROUP "test.story"
#define ROOT_SUBJECT "Volcano erupts near Grindavik in Iceland"

/* Four articles about one eruption, two about other things, one day. */
static const char story[] =
    "{\"id\": \"s1\", \"date\": \"2024-05-02T08:00:00Z\", \"title\": "
    "\"Volcano erupts near Grindavik in Iceland, town evacuated\", "
    "\"text\": \"A volcano erupted near the fishing town of Grindavik in "
    "southwest Iceland on Thursday, sending lava towards the town. "
    "Residents of Grindavik were evacuated overnight.\", \"source\": "
    "\"Reykjavik Daily\"}\n"
    "{\"id\": \"u1\", \"date\": \"2024-05-02T08:30:00Z\", \"title\": "
    "\"Central bank holds interest rates steady\", \"text\": \"The "
    "central bank kept its key interest rate unchanged on Thursday, "
    "citing easing inflation.\", \"source\": \"Money Wire\"}\n"
    "{\"id\": \"s2\", \"date\": \"2024-05-02T09:10:00Z\", \"title\": "
    "\"Iceland volcano: lava flows reach Grindavik defences\", \"text\": "
    "\"Lava from the eruption near Grindavik reached the earth barriers "
    "built to protect the town, Iceland's civil protection agency "
    "said.\", \"source\": \"Nordic News\"}\n"
    "{\"id\": \"s3\", \"date\": \"2024-05-02T10:45:00Z\", \"title\": "
    "\"Grindavik eruption: Blue Lagoon closed as Iceland volcano spews "
    "lava\", \"text\": \"The Blue Lagoon spa near Grindavik closed after "
    "the volcano erupted again in Iceland's Reykjanes peninsula.\", "
    "\"source\": \"Travel Today\"}\n"
    "{\"id\": \"u2\", \"date\": \"2024-05-02T11:00:00Z\", \"title\": "
    "\"Local team wins the regional chess championship\", \"text\": "
    "\"The under-16 chess team took the regional title after a tense "
    "final round on Thursday.\", \"source\": \"Town Gazette\"}\n"
    "{\"id\": \"s4\", \"date\": \"2024-05-02T12:20:00Z\", \"title\": "
    "\"Flights continue at Keflavik despite Grindavik volcano eruption "
    "in Iceland\", \"text\": \"Keflavik airport stays open while the "
    "volcano near Grindavik erupts, Iceland's airport operator said.\", "
    "\"source\": \"Air Travel News\"}\n";

/* Made by setup() in the Check parent process. */
static struct ngt_dir dir;
static char setup_error[256]; /* why the fixture failed, or "" */

/* newsgate ARGS... --spool SPOOL: exit status, output into out. */
static int
run(struct buf *out, const char *a1, const char *a2, const char *a3,
    const char *a4)
{
	const char *args[] = {a1, "--spool", dir.spool, a2, a3, a4, NULL};

	buf_reset(out);
	return ngt_run(args, out, WAIT_MS);
}

static void
setup(void)
{
	char path[PATH_MAX], sample[PATH_MAX];
	struct buf out = BUF_INIT(1 << 20);

	signal(SIGPIPE, SIG_IGN);
	if (ngt_dir_new(&dir, "ng-threads") == -1)
		fatal("mkdtemp");
	/* A server started as root runs as news (see newsgate(1)). */
	if (chmod(dir.path, 0755) == -1)
		fatal("chmod");
	if (!str_printf(
		sample, sizeof(sample), "%s/contrib/sample/", ngt_top()) ||
	    ngt_import(&dir, sample) == -1 ||
	    ngt_write(dir.path, "story.jsonl", story, path) == -1 ||
	    run(&out, "import", "--group", GROUP, path) != 0)
		(void)str_printf(setup_error, sizeof(setup_error),
		    "import failed: %s", buf_cstr(&out));
	buf_free(&out);
}

static void
teardown(void)
{
	ngt_dir_free(&dir);
}

/* The TSV line of the article imported with source id src. */
static void
tsv_line(const char *tsv, const char *src, char *id, char *root)
{
	char want[32];
	const char *p, *tab;

	ck_assert(str_printf(want, sizeof(want), "\t%s\n", src));
	ck_assert_ptr_nonnull(p = strstr(tsv, want));
	while (p > tsv && p[-1] != '\n')
		p--;
	ck_assert(sscanf(p, "%255s\t%255s\t", id, root) == 2);
	ck_assert_ptr_nonnull(tab = strchr(p, '\t'));
}

START_TEST(test_threads_tsv)
{
	struct buf out = BUF_INIT(1 << 20);
	char id[6][256], root[6][256];
	const char *src[] = {"s1", "s2", "s3", "s4", "u1", "u2"};
	int i;

	ck_assert_msg(setup_error[0] == '\0', "%s", setup_error);
	ck_assert_int_eq(run(&out, "threads", "--group", GROUP, "--tsv"), 0);
	for (i = 0; i < 6; i++)
		tsv_line(buf_cstr(&out), src[i], id[i], root[i]);
	/* The story: one thread rooted at its first article. */
	ck_assert_str_eq(root[0], id[0]);
	for (i = 1; i < 4; i++)
		ck_assert_msg(strcmp(root[i], id[0]) == 0,
		    "%s is not in the story's thread:\n%s", src[i],
		    buf_cstr(&out));
	/* The others: threads of their own. */
	ck_assert_str_eq(root[4], id[4]);
	ck_assert_str_eq(root[5], id[5]);
	buf_free(&out);
}
END_TEST

START_TEST(test_threads_tree)
{
	struct buf out = BUF_INIT(1 << 20);
	const char *p;
	int kids = 0;

	ck_assert_msg(setup_error[0] == '\0', "%s", setup_error);
	ck_assert_int_eq(run(&out, "threads", "--group", GROUP, NULL), 0);
	ck_assert_msg(
	    strstr(buf_cstr(&out), GROUP ": 6 articles in 3 threads\n") != NULL,
	    "%s", buf_cstr(&out));
	/* Three follow-ups under the root, each with its score. */
	for (p = buf_cstr(&out); (p = strstr(p, "\\_ ")) != NULL; p++) {
		const char *eol = strchr(p, '\n');
		const char *sc = strstr(p, "  [0.");

		ck_assert_msg(sc != NULL && (eol == NULL || sc < eol),
		    "no score:\n%s", buf_cstr(&out));
		kids++;
	}
	ck_assert_int_eq(kids, 3);
	/* Every group when none is named; a missing group is an error. */
	ck_assert_int_eq(run(&out, "threads", NULL, NULL, NULL), 0);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&out), "pakistan.news: 1 "));
	ck_assert_int_eq(run(&out, "threads", "--group", "no.such", NULL), 1);
	ck_assert_int_eq(run(&out, "threads", "--bogus", NULL, NULL), 2);
	buf_free(&out);
}
END_TEST

START_TEST(test_rethread)
{
	struct buf out = BUF_INIT(1 << 20);
	char state[PATH_MAX];
	struct stat st;

	ck_assert_msg(setup_error[0] == '\0', "%s", setup_error);
	/* Same settings, same articles: nothing moves. */
	ck_assert_int_eq(run(&out, "rethread", "--dry-run", NULL, NULL), 0);
	ck_assert_msg(strstr(buf_cstr(&out),
			  "7 articles threaded: 7 links "
			  "unchanged, 0 to another "
			  "parent, 0 new, 0 removed") != NULL,
	    "%s", buf_cstr(&out));
	/* A threshold nobody reaches: the three links would go. */
	ck_assert_int_eq(
	    run(&out, "rethread", "--dry-run", "--threshold", "0.99"), 0);
	ck_assert_msg(
	    strstr(buf_cstr(&out), "3 removed") != NULL, "%s", buf_cstr(&out));
	ck_assert_int_eq(run(&out, "rethread", "--threshold", "1.5", NULL), 2);
	ck_assert_int_eq(run(&out, "rethread", "--threshold", "x", NULL), 2);
	/* A real run with nothing to change rebuilds the state. */
	ck_assert(str_printf(
	    state, sizeof(state), "%s/.newsgate/threads.state", dir.spool));
	ck_assert_int_eq(unlink(state), 0);
	ck_assert_int_eq(run(&out, "rethread", NULL, NULL, NULL), 0);
	ck_assert_int_eq(stat(state, &st), 0);
	ck_assert_int_gt(st.st_size, 0);
	buf_free(&out);
}
END_TEST

START_TEST(test_threads_deep_and_cyclic)
{
	struct buf mbox = BUF_INIT(SIZE_MAX), out = BUF_INIT(SIZE_MAX);
	char path[PATH_MAX];
	const char *p;
	int i, lines = 0;

	ck_assert_msg(setup_error[0] == '\0', "%s", setup_error);
	/* Two posts whose References name each other, and a discussion
	 * 3,000 replies deep. */
	for (i = 0; i < 3002; i++) {
		buf_printf(&mbox,
		    "From x@example.org Thu Jan  2 12:09:17 2014\n"
		    "From: x@example.org\n"
		    "Date: Thu, 2 Jan 2014 12:09:17 +0000\n"
		    "Subject: deep %d\nMessage-ID: <deep%d@t>\n",
		    i, i);
		if (i < 2)
			buf_printf(&mbox, "References: <deep%d@t>\n", 1 - i);
		else if (i > 2)
			buf_printf(
			    &mbox, "References: <deep2@t> <deep%d@t>\n", i - 1);
		buf_printf(&mbox, "\nbody %d\n\n", i);
	}
	ck_assert_int_eq(mbox.err, 0);
	ck_assert_int_eq(
	    ngt_write(dir.path, "deep.mbox", buf_cstr(&mbox), path), 0);
	ck_assert_int_eq(run(&out, "import", "--group", "test.deep", path), 0);
	ck_assert_int_eq(run(&out, "threads", "--group", "test.deep", NULL), 0);
	ck_assert_msg(
	    strncmp(buf_cstr(&out), "test.deep: 3002 articles in ", 28) == 0,
	    "%.200s", buf_cstr(&out));
	/* Every article once: the header and 3,002 lines. */
	for (p = buf_cstr(&out); (p = strchr(p, '\n')) != NULL; p++)
		lines++;
	ck_assert_int_eq(lines, 3003);
	buf_free(&mbox);
	buf_free(&out);
}
END_TEST

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

START_TEST(test_slrn_shows_one_thread)
{
	char slrn[PATH_MAX], tmux[PATH_MAX], home[PATH_MAX];
	char cmd[3 * PATH_MAX];
	struct ngt_server srv;
	struct tui t;

	ck_assert_msg(setup_error[0] == '\0', "%s", setup_error);
	if (!tui_need("tmux", tmux, sizeof(tmux)) ||
	    !tui_need("slrn", slrn, sizeof(slrn)))
		return;
	ck_assert_int_eq(ngt_server_start(&srv, dir.spool, NULL), 0);
	ck_assert(str_printf(home, sizeof(home), "%s/home-slrn", dir.path));
	ck_assert_int_eq(tui_init(&t, dir.path, home), 0);
	write_file(home, ".slrnrc",
	    "set hostname \"newsgate.invalid\"\n"
	    "set username \"tester\"\n"
	    "set realname \"Newsgate Tester\"\n");
	ck_assert(str_printf(cmd, sizeof(cmd),
	    "exec '%s' --nntp -h 127.0.0.1:%d -f '%s/.jnewsrc' --create", slrn,
	    srv.port, home));
	ck_assert_int_eq(tui_start(&t, cmd), 0);
	ck_assert_msg(tui_wait(&t, "News Groups:", WAIT_MS),
	    "slrn did not show its group list");
	ck_assert_msg(tui_cursor_to(&t, "->", GROUP, 10, WAIT_MS),
	    "cannot select " GROUP);
	ck_assert_int_eq(tui_keys(&t, "Enter"), 0);
	ck_assert_msg(
	    tui_wait(&t, "Group: " GROUP, WAIT_MS), GROUP " did not open");
	/* Collapsed, the story is one line counting four articles. */
	ck_assert_msg(tui_wait(&t, "4 " ROOT_SUBJECT, WAIT_MS),
	    "the story is not one thread of four:\n%s", t.screen);
	ck_assert_msg(strstr(t.screen, "Central bank holds") != NULL &&
		strstr(t.screen, "chess championship") != NULL,
	    "the unrelated articles are missing:\n%s", t.screen);
	tui_stop(&t);
	ck_assert_int_eq(ngt_server_stop(&srv), 0);
}
END_TEST

static Suite *
threads_suite(void)
{
	Suite *s = suite_create("threads");
	TCase *tc = tcase_create("similarity");

	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_threads_tsv);
	tcase_add_test(tc, test_threads_tree);
	tcase_add_test(tc, test_rethread);
	tcase_add_test(tc, test_threads_deep_and_cyclic);
	tcase_add_test(tc, test_slrn_shows_one_thread);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(threads_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
