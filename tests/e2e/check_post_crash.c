/*
 * check_post_crash.c - a POST answered 240 survives kill -9 of the server
 * when commits do not sync ([spool] sync = no, newsgate.conf(5)): the
 * commit order alone (journal, files, appends, the rename of data/active,
 * then the answer) must make it so, since the page cache outlives the
 * process.
 *
 * Each round starts `newsgate serve` on the same spool with sync = no and
 * POST_CONNS connections, and posts in waves: POST on every connection,
 * the 340s, every article, then the answers. At a moment drawn from a
 * seeded generator (NEWSGATE_CRASH_SEED) -- between two articles sent,
 * or between two answers read, of a random wave -- the server gets
 * SIGKILL. Then:
 *
 *   - `newsgate check` (which rolls back an interrupted batch) must find
 *     the spool consistent: exit status 0;
 *   - the next round's server must serve every article that was answered
 *     240 in this or any earlier round: ARTICLE <message-id> gives 220 and
 *     the article's own body;
 *   - an article sent but not answered may be there or not, but whole.
 *
 * Nothing here depends on time: the kill moments are counted in protocol
 * steps, never in milliseconds.
 */
#include <sys/wait.h>

#include <check.h>
#include <signal.h>
#include <unistd.h>

#include "common.h"
#include "ngtest.h"

#define POST_ROUNDS 12 /* servers killed */
#define POST_CONNS 4   /* posting connections */
#define POST_WAVES 40  /* waves at most per round (one post per conn) */
#define POST_MAX (POST_ROUNDS * POST_WAVES * POST_CONNS)

static const char conf_text[] = "[spool]\n"
				"sync = no\n"
				"[server]\n"
				"post_policy = anyone\n"
				"[group crash.post]\n"
				"description = posts killed in flight\n"
				"posting = yes\n";

struct post {
	char msgid[64];
	bool answered; /* 240 read before the kill */
	bool sent;     /* the article went out */
};

static struct post posts[POST_MAX];
static size_t nposts;

static uint64_t rng_state;

static uint32_t
rng(void)
{
	rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
	return (uint32_t)(rng_state >> 33);
}

static void
post_text(struct buf *b, const struct post *p)
{
	buf_reset(b);
	buf_printf(b,
	    "From: Crash Test <crash@example.invalid>\r\n"
	    "Newsgroups: crash.post\r\n"
	    "Subject: killed in flight %s\r\n"
	    "Message-ID: %s\r\n"
	    "\r\n"
	    "Body of %s.\r\n"
	    "A second line.\r\n"
	    ".\r\n",
	    p->msgid, p->msgid, p->msgid);
}

/* Is the article there, whole (220 and its own body), or not (430)?
 * Returns 1, 0, or fails the test for anything else. */
static int
article_state(struct ngt_conn *c, const struct post *p)
{
	char st[NGT_LINE_MAX], want[128];
	struct buf body = BUF_INIT(SIZE_MAX);
	int code;

	code = ngt_cmd(c, st, sizeof(st), "ARTICLE %s", p->msgid);
	if (code == 430)
		return 0;
	ck_assert_msg(code == 220, "ARTICLE %s: %s", p->msgid, st);
	ck_assert_int_gt(ngt_body(c, &body), 0);
	ck_assert(str_printf(want, sizeof(want),
	    "\n\nBody of %s.\nA second "
	    "line.\n",
	    p->msgid));
	ck_assert_msg(strstr(buf_cstr(&body), want) != NULL,
	    "ARTICLE %s is not whole:\n%s", p->msgid, buf_cstr(&body));
	buf_free(&body);
	return 1;
}

/* Every answered post so far is served; every sent one is whole or
 * absent. */
static void
verify(int port, size_t *lost_unanswered)
{
	struct ngt_conn *c = ngt_connect(port);
	char st[NGT_LINE_MAX];
	size_t i;

	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(ngt_status(c, st, sizeof(st)) / 100, 2);
	for (i = 0; i < nposts; i++) {
		int there;

		if (!posts[i].sent)
			continue;
		there = article_state(c, &posts[i]);
		ck_assert_msg(there || !posts[i].answered,
		    "%s was answered 240 but is lost", posts[i].msgid);
		if (!there)
			(*lost_unanswered)++;
	}
	ngt_close(c);
}

static void
check_spool(const char *spool)
{
	const char *args[] = {"check", "--spool", spool, NULL};
	struct buf out = BUF_INIT(SIZE_MAX);

	ck_assert_msg(ngt_run(args, &out, NGT_WAIT_MS) == 0,
	    "newsgate check after a kill:\n%s", buf_cstr(&out));
	buf_free(&out);
}

/*
 * One round: post in waves on conns; SIGKILL the server at step kill_at
 * of wave kill_wave (steps 0..POST_CONNS-1: before sending the article
 * of that connection; POST_CONNS..2*POST_CONNS-1: before reading that
 * connection's answer). Returns the posts answered in this round.
 */
static size_t
post_round(struct ngt_server *srv, int round, int kill_wave, int kill_at)
{
	struct ngt_conn *c[POST_CONNS];
	struct post *wave[POST_CONNS];
	struct buf text = BUF_INIT(SIZE_MAX);
	char st[NGT_LINE_MAX];
	size_t answered = 0;
	int w, k, code;

	for (k = 0; k < POST_CONNS; k++) {
		ck_assert_ptr_nonnull(c[k] = ngt_connect(srv->port));
		ck_assert_int_eq(ngt_status(c[k], st, sizeof(st)), 200);
	}
	for (w = 0; w <= kill_wave; w++) {
		for (k = 0; k < POST_CONNS; k++) {
			ck_assert_uint_lt(nposts, POST_MAX);
			wave[k] = &posts[nposts++];
			ck_assert(
			    str_printf(wave[k]->msgid, sizeof(wave[k]->msgid),
				"<pc%d.%d.%d@crash.invalid>", round, w, k));
			ck_assert_int_eq(
			    ngt_cmd(c[k], st, sizeof(st), "POST"), 340);
		}
		for (k = 0; k < POST_CONNS; k++) {
			if (w == kill_wave && k == kill_at)
				goto kill;
			post_text(&text, wave[k]);
			ck_assert_int_eq(
			    ngt_send_raw(c[k], text.data, text.len), 0);
			wave[k]->sent = true;
		}
		for (k = 0; k < POST_CONNS; k++) {
			if (w == kill_wave && POST_CONNS + k == kill_at)
				goto kill;
			code = ngt_status(c[k], st, sizeof(st));
			ck_assert_msg(
			    code == 240, "post %s: %s", wave[k]->msgid, st);
			wave[k]->answered = true;
			answered++;
		}
	}
kill:
	ck_assert_int_eq(ngt_server_signal(srv, SIGKILL), 0);
	ck_assert_int_eq(ngt_server_stop(srv), 128 + SIGKILL);
	for (k = 0; k < POST_CONNS; k++)
		ngt_close(c[k]);
	buf_free(&text);
	return answered;
}

START_TEST(test_answered_posts_survive_kill)
{
	struct ngt_dir d;
	struct ngt_server srv;
	char conf[PATH_MAX];
	const char *extra[] = {"--config", conf, NULL};
	const char *seed = getenv("NEWSGATE_CRASH_SEED");
	size_t answered = 0, lost = 0;
	int r;

	rng_state = seed ? strtoull(seed, NULL, 10) : 20261128;
	nposts = 0;
	ck_assert_int_eq(ngt_dir_new(&d, "ng-postcrash"), 0);
	ck_assert_int_eq(
	    ngt_write(d.path, "newsgate.conf", conf_text, conf), 0);
	for (r = 0; r < POST_ROUNDS; r++) {
		int wave = (int)(rng() % POST_WAVES);
		int at = (int)(rng() % (2 * POST_CONNS));

		ck_assert_int_eq(ngt_server_start(&srv, d.spool, extra), 0);
		if (r > 0) /* what the killed rounds answered */
			verify(srv.port, &lost);
		answered += post_round(&srv, r, wave, at);
		check_spool(d.spool);
	}
	lost = 0;
	ck_assert_int_eq(ngt_server_start(&srv, d.spool, extra), 0);
	verify(srv.port, &lost);
	ck_assert_int_eq(ngt_server_stop(&srv), 0);
	check_spool(d.spool);
	fprintf(stderr,
	    "post crash: %d kills, %zu posts answered and all served, %zu "
	    "sent but unanswered and not stored\n",
	    POST_ROUNDS, answered, lost);
	ck_assert_uint_gt(answered, 0);
	ngt_dir_free(&d);
}
END_TEST

static Suite *
post_crash_suite(void)
{
	Suite *s = suite_create("post_crash");
	TCase *tc = tcase_create("kill");

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_answered_posts_survive_kill);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(post_crash_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
