/*
 * check_clients.c - the real slrn and tin read newsgate over NNTP, and
 * slrn posts a follow-up through it.
 *
 * The fixture imports contrib/sample/ (one article, crossposted to
 * pakistan.news and us.statedept) and starts `newsgate serve` on
 * 127.0.0.1 port 0. Each test runs a newsreader (the Debian package) in
 * a private tmux with a fresh HOME and reads the screen as a user would:
 * the group list shows both groups, pakistan.news shows the sample's
 * subject, the article's body displays. Then slrn follows up to the
 * story (f, its editor a script that writes the reply, y to post), the
 * server has it with References to the story, and a fresh slrn shows it
 * threaded under the story. That test runs last: it adds an article.
 *
 * Without a newsreader or tmux the tests print a note and pass, except
 * under CI (CI=true), which installs them: there a missing one fails.
 */
#include <sys/stat.h>

#include <check.h>
#include <limits.h>
#include <signal.h>

#include "common.h"
#include "buf.h"
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
	/* A server started as root runs as news (see newsgate(1)). */
	if (chmod(dir.path, 0755) == -1)
		fatal("chmod");
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

/* slrn in a fresh HOME whose editor is a script adding the reply. */
static bool
start_slrn(struct tui *t, const char *name, char *home, size_t homecap)
{
	char slrn[PATH_MAX], tmux[PATH_MAX], cmd[3 * PATH_MAX], rc[PATH_MAX];

	ck_assert_msg(setup_error[0] == '\0', "%s", setup_error);
	if (!tui_need("tmux", tmux, sizeof(tmux)) ||
	    !tui_need("slrn", slrn, sizeof(slrn)))
		return false;
	ck_assert(str_printf(home, homecap, "%s/home-%s", dir.path, name));
	ck_assert_int_eq(tui_init(t, dir.path, home), 0);
	write_file(home, "edit.sh",
	    "#!/bin/sh\n"
	    "printf '\\nA follow-up posted by slrn through newsgate.\\n' "
	    ">>\"$1\"\n");
	ck_assert(str_printf(rc, sizeof(rc),
	    "set hostname \"newsgate.invalid\"\n"
	    "set username \"tester\"\n"
	    "set realname \"Slrn Tester\"\n"
	    "set editor_command \"/bin/sh '%s/edit.sh' '%%s'\"\n",
	    home));
	write_file(home, ".slrnrc", rc);
	ck_assert(str_printf(cmd, sizeof(cmd),
	    "exec '%s' --nntp -h 127.0.0.1:%d -f '%s/.jnewsrc' --create",
	    slrn, server.port, home));
	ck_assert_int_eq(tui_start(t, cmd), 0);
	ck_assert_msg(tui_wait(t, "News Groups:", WAIT_MS),
	    "slrn did not show its group list");
	ck_assert_msg(tui_cursor_to(t, "->", "pakistan.news", 10, WAIT_MS),
	    "cannot select pakistan.news");
	ck_assert_int_eq(tui_keys(t, "Enter"), 0);
	ck_assert_msg(tui_wait(t, "Group: pakistan.news", WAIT_MS),
	    "pakistan.news did not open");
	return true;
}

/* The article numbered n of pakistan.news, over NNTP. */
static void
fetch(int n, struct buf *art)
{
	struct ngt_conn *c = ngt_connect(server.port);
	char st[NGT_LINE_MAX];

	ck_assert_ptr_nonnull(c);
	ck_assert_int_ge(ngt_status(c, st, sizeof(st)), 200);
	ck_assert_int_eq(ngt_cmd(c, st, sizeof(st), "GROUP pakistan.news"),
	    211);
	buf_reset(art);
	ck_assert_int_eq(ngt_cmd(c, st, sizeof(st), "ARTICLE %d", n), 220);
	ck_assert_int_ge(ngt_body(c, art), 1);
	ngt_close(c);
}

START_TEST(test_slrn_posts_follow_up)
{
	struct buf root = BUF_INIT(1 << 20), reply = BUF_INIT(1 << 20);
	char home[PATH_MAX], id[256], refs[300];
	const char *p, *tree;
	struct tui t;

	if (!start_slrn(&t, "slrn-post", home, sizeof(home)))
		return;
	ck_assert_msg(tui_wait(&t, SAMPLE_SUBJECT, WAIT_MS),
	    "no sample subject in pakistan.news");
	ck_assert_int_eq(tui_keys(&t, "Space"), 0);
	assert_article_shown(&t);
	/* f: follow up; the sample is crossposted, so slrn asks where
	 * to: (T)his group; the editor script writes; y: post. */
	ck_assert_int_eq(tui_keys(&t, "f"), 0);
	ck_assert_msg(tui_wait(&t, "want to followup", WAIT_MS),
	    "no follow-up prompt");
	ck_assert_int_eq(tui_keys(&t, "y"), 0);
	ck_assert_msg(tui_wait(&t, "Crosspost using", WAIT_MS),
	    "no crosspost prompt");
	ck_assert_int_eq(tui_keys(&t, "t"), 0);
	ck_assert_msg(tui_wait(&t, "Post the message?", WAIT_MS),
	    "slrn did not offer to post");
	ck_assert_int_eq(tui_keys(&t, "y"), 0);
	ck_assert_msg(tui_wait(&t, "Posting...done", WAIT_MS),
	    "slrn did not post");
	tui_stop(&t);

	/* On the server: a follow-up of the story. */
	fetch(1, &root);
	p = strstr(buf_cstr(&root), "\nMessage-ID: ");
	ck_assert_ptr_nonnull(p);
	ck_assert(sscanf(p + 13, "%255s", id) == 1);
	fetch(2, &reply);
	ck_assert(str_printf(refs, sizeof(refs), "\nReferences: %s\n", id));
	ck_assert_msg(strstr(buf_cstr(&reply), refs) != NULL, "%s",
	    buf_cstr(&reply));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&reply),
	    "Subject: Re: " SAMPLE_SUBJECT));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&reply),
	    "A follow-up posted by slrn through newsgate."));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&reply), "User-Agent: slrn/"));
	buf_free(&root);
	buf_free(&reply);

	/* A reader that comes later sees it threaded under the story:
	 * one thread of two; expanded (Esc t), the reply hangs under it. */
	if (!start_slrn(&t, "slrn-later", home, sizeof(home)))
		return;
	ck_assert_msg(tui_wait(&t, "2 " SAMPLE_SUBJECT, WAIT_MS),
	    "the story is not a thread of two");
	ck_assert_int_eq(tui_keys(&t, "Escape"), 0);
	ck_assert_int_eq(tui_keys(&t, "t"), 0);
	ck_assert_msg(tui_wait(&t, "Slrn Tester", WAIT_MS),
	    "the follow-up is not shown");
	/* The reply's line comes after the story's and carries the tree
	 * arrow ("`->" in ASCII, "\u2514\u2500>" in UTF-8). */
	p = strstr(t.screen, SAMPLE_SUBJECT);
	tree = strstr(t.screen, "Slrn Tester");
	ck_assert_msg(p != NULL && tree > p, "order:\n%s", t.screen);
	{
		const char *eol = strchr(tree, '\n');
		const char *a = strstr(tree, "->"), *u = strstr(tree,
			"\xe2\x94\x80>");

		ck_assert_msg((a != NULL && (eol == NULL || a < eol)) ||
			(u != NULL && (eol == NULL || u < eol)),
		    "not threaded under the story:\n%s", t.screen);
	}
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
	tcase_add_test(tc, test_slrn_posts_follow_up);
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
