/*
 * check_threads_view.c - a story told by four articles, imported without
 * any References, comes out as one thread: newsgate's import links them
 * by similarity (References and X-Newsgate-Thread in the article files,
 * References in .overview and OVER), slrn in spool mode shows them as one
 * thread, and tin over NNTP shows one thread with three responses.
 *
 * The fixture imports contrib/sample/ and eight unrelated Pakistani news
 * items (the background: in a spool of five articles every word of the
 * story is "common", and TF-IDF cannot tell a shared name from a stop
 * word), then the story (four JSON Lines items about one earthquake,
 * worded differently, from three sources) and one more unrelated item.
 * It starts `newsgate serve` on 127.0.0.1 port 0 for tin.
 *
 * The screens are read the way a user reads them: slrn's article list
 * shows the story collapsed to one line with the count 4, and expanded
 * with its tree characters; tin's group index shows one line for the
 * story with 4 in its count column, and its thread listing ("l") the four
 * articles with "->" before each response.
 *
 * Without slrn, tin or tmux the tests that need them print a note and
 * pass, except under CI (CI=true), which installs them: there they fail.
 */
#include <sys/stat.h>

#include <check.h>
#include <limits.h>
#include <signal.h>
#include <strings.h>

#include "common.h"
#include "buf.h"
#include "ngtest.h"
#include "tui.h"

#define WAIT_MS 20000 /* for any one screen to appear */
#define STORY_N 4

/* The background: unrelated articles, one day before the story. */
static const char BACKGROUND[] =
    "{\"id\":\"bg-1\",\"date\":\"2024-03-09T08:00:00Z\","
    "\"title\":\"Lahore Qalandars win PSL match against Karachi Kings\","
    "\"text\":\"Lahore Qalandars beat Karachi Kings by seven wickets at "
    "the Gaddafi Stadium. Fakhar Zaman scored an unbeaten 82 as the "
    "Pakistan Super League side chased 176 with two overs to spare.\","
    "\"source\":\"Geo News\",\"section\":\"Pakistan News\"}\n"
    "{\"id\":\"bg-2\",\"date\":\"2024-03-09T09:00:00Z\","
    "\"title\":\"State Bank of Pakistan keeps policy rate unchanged\","
    "\"text\":\"The State Bank of Pakistan kept its policy rate at 22 "
    "percent, citing inflation that remained high in February. The "
    "governor said the monetary policy committee would review the rate in "
    "April.\",\"source\":\"Business Recorder\","
    "\"section\":\"Pakistan News\"}\n"
    "{\"id\":\"bg-3\",\"date\":\"2024-03-09T10:00:00Z\","
    "\"title\":\"Peshawar bus rapid transit adds new electric buses\","
    "\"text\":\"TransPeshawar added forty electric buses to the bus rapid "
    "transit fleet in Peshawar, the company said. Commuters welcomed the "
    "shorter waiting times at the stations.\",\"source\":\"Dawn\","
    "\"section\":\"Pakistan News\"}\n"
    "{\"id\":\"bg-4\",\"date\":\"2024-03-09T11:00:00Z\","
    "\"title\":\"Karachi University announces admission schedule\","
    "\"text\":\"Karachi University opened admissions for undergraduate "
    "programmes. Forms can be submitted online until the end of the month, "
    "the registrar said.\",\"source\":\"The News\","
    "\"section\":\"Pakistan News\"}\n"
    "{\"id\":\"bg-5\",\"date\":\"2024-03-09T12:00:00Z\","
    "\"title\":\"Wheat procurement drive begins in Punjab\","
    "\"text\":\"The Punjab food department began its wheat procurement "
    "drive, setting a support price for farmers. Officials said storage in "
    "government warehouses was sufficient.\",\"source\":\"Dawn\","
    "\"section\":\"Pakistan News\"}\n"
    "{\"id\":\"bg-6\",\"date\":\"2024-03-09T13:00:00Z\","
    "\"title\":\"Islamabad hosts regional conference on water security\","
    "\"text\":\"Delegates from six countries met in Islamabad to discuss "
    "glacier melt, river sharing and dams. The conference ended with a "
    "joint declaration on water security.\",\"source\":\"APP\","
    "\"section\":\"Pakistan News\"}\n"
    "{\"id\":\"bg-7\",\"date\":\"2024-03-09T14:00:00Z\","
    "\"title\":\"Rawalpindi traffic police launch helmet campaign\","
    "\"text\":\"Rawalpindi traffic police started a campaign to make "
    "motorcyclists wear helmets, issuing warnings before fines begin next "
    "week.\",\"source\":\"The Express Tribune\","
    "\"section\":\"Pakistan News\"}\n"
    "{\"id\":\"bg-8\",\"date\":\"2024-03-09T15:00:00Z\","
    "\"title\":\"Pakistani film wins award at Berlin festival\","
    "\"text\":\"A Pakistani short film about a fisherman's family won a "
    "jury award at the Berlin film festival, its director said from "
    "Germany.\",\"source\":\"Geo News\",\"section\":\"Pakistan News\"}\n";

/*
 * The story: one earthquake, four reports from three sources, each with
 * its own headline and wording but the same places and numbers (as real
 * follow-up reports have). Then one unrelated item of the same day.
 */
#define Q1 "Earthquake of magnitude 6.1 strikes Balochistan near Quetta"
#define Q2 "Death toll rises in Balochistan earthquake as rescuers reach Harnai"
#define Q3 "Helicopters fly aid to Harnai and Ziarat after Balochistan earthquake"
#define Q4 "Balochistan earthquake survivors in Harnai spend cold night in tents"
#define UNRELATED "Sialkot football makers ship balls for European league"
#define Q1_BODY "An earthquake of magnitude"
#define Q3_BODY "Army helicopters flew tents"

static const char STORY[] =
    "{\"id\":\"quake-1\",\"date\":\"2024-03-10T06:00:00Z\","
    "\"title\":\"" Q1 "\","
    "\"text\":\"An earthquake of magnitude 6.1 struck Balochistan province "
    "of Pakistan early on Sunday, with its epicentre 40 kilometres east of "
    "Quetta, the Pakistan Meteorological Department said. Houses collapsed "
    "in Harnai and Ziarat districts and rescue teams were sent from "
    "Quetta.\",\"source\":\"Dawn\",\"section\":\"Pakistan News\"}\n"
    "{\"id\":\"quake-2\",\"date\":\"2024-03-10T09:30:00Z\","
    "\"title\":\"" Q2 "\","
    "\"text\":\"Rescuers reached the worst-hit villages of Harnai district "
    "on Sunday after the magnitude 6.1 earthquake near Quetta. Officials in "
    "Balochistan said at least 23 people were killed and hundreds of mud "
    "houses collapsed in Harnai and Ziarat.\",\"source\":\"Geo News\","
    "\"section\":\"Pakistan News\"}\n"
    "{\"id\":\"quake-3\",\"date\":\"2024-03-10T14:00:00Z\","
    "\"title\":\"" Q3 "\","
    "\"text\":\"Army helicopters flew tents, food and medicine from Quetta "
    "to Harnai and Ziarat, the districts of Balochistan hit hardest by the "
    "magnitude 6.1 earthquake on Sunday. The disaster authority said the "
    "earthquake destroyed more than 500 houses.\","
    "\"source\":\"The Express Tribune\",\"section\":\"Pakistan News\"}\n"
    "{\"id\":\"quake-4\",\"date\":\"2024-03-10T20:00:00Z\","
    "\"title\":\"" Q4 "\","
    "\"text\":\"Survivors of the magnitude 6.1 Balochistan earthquake spent "
    "a freezing night in tents in Harnai and Ziarat as aftershocks shook "
    "the area near Quetta. The death toll from the earthquake rose to 31, "
    "the disaster authority said.\",\"source\":\"Dawn\","
    "\"section\":\"Pakistan News\"}\n"
    "{\"id\":\"other-1\",\"date\":\"2024-03-10T12:00:00Z\","
    "\"title\":\"" UNRELATED "\","
    "\"text\":\"Factories in Sialkot shipped thousands of hand-stitched "
    "footballs to Europe this week, the chamber of commerce said.\","
    "\"source\":\"Business Recorder\",\"section\":\"Pakistan News\"}\n";

static const char *const story[STORY_N] = {Q1, Q2, Q3, Q4};

/* Made by setup() in the Check parent process. */
static struct ngt_dir dir;
static struct ngt_server server;
static char setup_error[256]; /* why the fixture failed, or "" */

static void
setup(void)
{
	char sample[PATH_MAX];
	const char *why = NULL;

	signal(SIGPIPE, SIG_IGN);
	if (ngt_dir_new(&dir, "ng-threads-view") == -1)
		fatal("mkdtemp");
	if (!str_printf(sample, sizeof(sample), "%s/contrib/sample/",
	    ngt_top()) || ngt_import(&dir, sample) == -1)
		why = "importing the sample failed (see above)";
	else if (ngt_import_text(&dir, "background.jsonl", BACKGROUND) == -1)
		why = "importing the background failed (see above)";
	else if (ngt_import_text(&dir, "story.jsonl", STORY) == -1)
		why = "importing the story failed (see above)";
	else if (ngt_server_start(&server, dir.spool, NULL) == -1)
		why = "newsgate serve did not start (see above)";
	if (why != NULL)
		(void)str_copy(setup_error, sizeof(setup_error), why);
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

/* --- the overview ---------------------------------------------------------- */

struct ov {
	char subject[512];
	char msgid[256];
	char refs[1024];
};

/* Field i (0: the number) of a tab-separated line, into out; false when
 * the line has fewer fields. */
static bool
field(const char *line, int i, char *out, size_t cap)
{
	const char *p = line, *nl = line + strcspn(line, "\n");
	size_t len;

	for (; i > 0 && p != NULL; i--)
		if ((p = memchr(p, '\t', (size_t)(nl - p))) != NULL)
			p++;
	if (p == NULL)
		return false;
	len = strcspn(p, "\t\n");
	ck_assert_uint_lt(len, cap);
	memcpy(out, p, len);
	out[len] = '\0';
	return true;
}

/* The overview entry of the article with this subject, from text (lines of
 * .overview or of an OVER answer). */
static void
ov_find(const char *text, const char *subject, struct ov *o)
{
	const char *line;
	char subj[512];

	memset(o, 0, sizeof(*o));
	for (line = text; *line != '\0';
	     line = strchr(line, '\n') ? strchr(line, '\n') + 1 : "") {
		if (!field(line, 1, subj, sizeof(subj)) ||
		    strcmp(subj, subject) != 0)
			continue;
		ck_assert(str_copy(o->subject, sizeof(o->subject), subj));
		ck_assert(field(line, 4, o->msgid, sizeof(o->msgid)));
		ck_assert(field(line, 5, o->refs, sizeof(o->refs)));
		return;
	}
	ck_abort_msg("no overview line for \"%s\" in:\n%s", subject, text);
}

static char *
read_text(const char *path)
{
	struct buf b = BUF_INIT(16 << 20);
	char chunk[4096];
	size_t n;
	FILE *fp;

	ck_assert_msg((fp = fopen(path, "r")) != NULL, "cannot open %s",
	    path);
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		buf_append(&b, chunk, n);
	fclose(fp);
	buf_putc(&b, '\0');
	return buf_steal(&b);
}

/*
 * The value of header name in an article (folded lines joined, RFC 5322
 * §2.2.3: the line break goes, the white space stays), into out; false
 * when the header block has none.
 */
static bool
header(const char *art, const char *name, char *out, size_t cap)
{
	const char *p = art, *nl;
	size_t nlen = strlen(name), n = 0;

	while (*p != '\0' && *p != '\n') {
		nl = p + strcspn(p, "\n");
		if (strncasecmp(p, name, nlen) == 0 && p[nlen] == ':') {
			for (p += nlen + 1; *p == ' '; p++)
				;
			for (;;) {
				ck_assert_uint_lt(n + (size_t)(nl - p), cap);
				memcpy(out + n, p, (size_t)(nl - p));
				n += (size_t)(nl - p);
				if (*nl == '\0' || (nl[1] != ' ' && nl[1] != '\t'))
					break;
				p = nl + 1;
				nl = p + strcspn(p, "\n");
			}
			out[n] = '\0';
			return true;
		}
		p = *nl ? nl + 1 : nl;
	}
	return false;
}

/* Every Message-ID in refs is one of the story's. */
static bool
refs_in_story(const char *refs, const struct ov *ov)
{
	char *copy = xstrdup(refs), *save = NULL, *id;
	bool ok = true;
	int i;

	for (id = strtok_r(copy, " ", &save); id != NULL && ok;
	     id = strtok_r(NULL, " ", &save)) {
		for (i = 0; i < STORY_N; i++)
			if (strcmp(id, ov[i].msgid) == 0)
				break;
		ok = i < STORY_N;
	}
	free(copy);
	return ok;
}

START_TEST(test_story_linked)
{
	char path[PATH_MAX], hdr[1400], st[NGT_LINE_MAX], *over, *art;
	struct buf nntp = BUF_INIT(1 << 20);
	struct ov ov[STORY_N], o, other;
	struct ngt_conn *c;
	int i;

	ck_assert_msg(setup_error[0] == '\0', "%s", setup_error);
	ck_assert(str_printf(path, sizeof(path),
	    "%s/articles/pakistan/news/.overview", dir.spool));
	over = read_text(path);
	for (i = 0; i < STORY_N; i++)
		ov_find(over, story[i], &ov[i]);
	ov_find(over, UNRELATED, &other);

	/* The first report starts the thread; every later one refers to
	 * it first (References begin at the root) and only to the story. */
	ck_assert_msg(ov[0].refs[0] == '\0', "the root has References: %s",
	    ov[0].refs);
	for (i = 1; i < STORY_N; i++) {
		ck_assert_msg(strncmp(ov[i].refs, ov[0].msgid,
		    strlen(ov[0].msgid)) == 0,
		    "\"%s\" is not linked to the story's root %s: "
		    "References \"%s\"\n%s", story[i], ov[0].msgid,
		    ov[i].refs, over);
		ck_assert_msg(refs_in_story(ov[i].refs, ov),
		    "\"%s\" refers outside the story: %s", story[i],
		    ov[i].refs);
	}
	ck_assert_msg(other.refs[0] == '\0',
	    "the unrelated item joined a thread: %s", other.refs);

	/* The article files carry the same References and say why. */
	for (i = 1; i < STORY_N; i++) {
		uint64_t num = 0;
		const char *line = strstr(over, ov[i].msgid);

		ck_assert_ptr_nonnull(line);
		while (line > over && line[-1] != '\n')
			line--;
		ck_assert_int_eq(parse_u64(line, strcspn(line, "\t"), &num),
		    0);
		ck_assert(str_printf(path, sizeof(path),
		    "%s/articles/pakistan/news/%" PRIu64, dir.spool, num));
		art = read_text(path);
		ck_assert_msg(header(art, "References", hdr, sizeof(hdr)),
		    "article %s has no References:\n%s", path, art);
		ck_assert_str_eq(hdr, ov[i].refs);
		ck_assert_msg(header(art, "X-Newsgate-Thread", hdr,
		    sizeof(hdr)) && strncmp(hdr, ov[0].msgid,
		    strlen(ov[0].msgid)) == 0 &&
		    strncmp(hdr + strlen(ov[0].msgid), " score=", 7) == 0,
		    "article %s has no X-Newsgate-Thread naming the root:\n%s",
		    path, art);
		free(art);
	}

	/* What a newsreader gets: OVER says the same. */
	ck_assert_ptr_nonnull(c = ngt_connect(server.port));
	i = ngt_status(c, st, sizeof(st));
	ck_assert_msg(i == 200 || i == 201, "%s", st);
	ck_assert_int_eq(ngt_cmd(c, st, sizeof(st), "GROUP pakistan.news"),
	    211);
	ck_assert_int_eq(ngt_cmd(c, st, sizeof(st), "OVER 1-"), 224);
	ck_assert_int_gt(ngt_body(c, &nntp), 0);
	for (i = 0; i < STORY_N; i++) {
		ov_find(buf_cstr(&nntp), story[i], &o);
		ck_assert_str_eq(o.msgid, ov[i].msgid);
		ck_assert_str_eq(o.refs, ov[i].refs);
	}
	ngt_close(c);
	buf_free(&nntp);
	free(over);
}
END_TEST

/* --- screens ---------------------------------------------------------------- */

/* The screen line (0-based) that contains text, or -1. Its text into out
 * (may be NULL). */
static int
screen_line(const char *screen, const char *text, char *out, size_t cap)
{
	const char *line = screen, *nl;
	int i = 0;

	for (; *line != '\0'; line = nl + 1, i++) {
		nl = line + strcspn(line, "\n");
		if (memmem(line, (size_t)(nl - line), text, strlen(text))) {
			if (out != NULL) {
				ck_assert_uint_lt((size_t)(nl - line), cap);
				memcpy(out, line, (size_t)(nl - line));
				out[nl - line] = '\0';
			}
			return i;
		}
		if (*nl == '\0')
			break;
	}
	return -1;
}

/*
 * What slrn shows between the author column "[...]" and the subject on the
 * line that has it, white space trimmed: the thread count of a collapsed
 * thread, the tree characters of a response, or nothing.
 */
static void
slrn_before_subject(const char *screen, const char *subject, char *out,
    size_t cap)
{
	char line[1024];
	const char *start, *end;

	ck_assert_msg(screen_line(screen, subject, line, sizeof(line)) >= 0,
	    "\"%s\" is not on the screen:\n%s", subject, screen);
	end = strstr(line, subject);
	start = memchr(line, ']', (size_t)(end - line));
	ck_assert_msg(start != NULL, "no author column in: %s", line);
	for (start++; start < end && *start == ' '; start++)
		;
	while (end > start && end[-1] == ' ')
		end--;
	ck_assert_uint_lt((size_t)(end - start), cap);
	memcpy(out, start, (size_t)(end - start));
	out[end - start] = '\0';
}

/* The slrnrc of a user who reads the spool offline (contrib/slrn/). */
static void
write_slrnrc(const char *home)
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
	    dir.spool, dir.spool, dir.spool);
	ck_assert_int_eq(fclose(fp), 0);
}

/* A fresh HOME (and tmux) for one newsreader; false when skipped. */
static bool
start_reader(struct tui *t, const char *prog, char *path, size_t cap,
    char *home, size_t homecap)
{
	char tmux[PATH_MAX];

	ck_assert_msg(setup_error[0] == '\0', "%s", setup_error);
	if (!tui_need("tmux", tmux, sizeof(tmux)) ||
	    !tui_need(prog, path, cap))
		return false;
	ck_assert(str_printf(home, homecap, "%s/home-%s", dir.path, prog));
	ck_assert_int_eq(tui_init(t, dir.path, home), 0);
	return true;
}

START_TEST(test_slrn_spool_shows_one_thread)
{
	char slrn[PATH_MAX], home[PATH_MAX], cmd[3 * PATH_MAX], pre[256];
	int root, i, row;
	struct tui t;

	if (!start_reader(&t, "slrn", slrn, sizeof(slrn), home,
	    sizeof(home)))
		return;
	write_slrnrc(home);
	ck_assert(str_printf(cmd, sizeof(cmd),
	    "exec '%s' --spool -f '%s/.jnewsrc' --create", slrn, home));
	ck_assert_int_eq(tui_start(&t, cmd), 0);
	ck_assert_msg(tui_wait(&t, "News Groups:", WAIT_MS),
	    "slrn did not show its group list");
	ck_assert_msg(tui_cursor_to(&t, "->", "pakistan.news", 10, WAIT_MS),
	    "cannot select pakistan.news");
	ck_assert_int_eq(tui_keys(&t, "Enter"), 0);
	ck_assert_msg(tui_wait(&t, "Group: pakistan.news", WAIT_MS),
	    "pakistan.news did not open");
	ck_assert_msg(tui_wait(&t, Q1, WAIT_MS), "the story is not listed");
	ck_assert_msg(tui_wait(&t, UNRELATED, WAIT_MS),
	    "the unrelated item is not listed");

	/* Collapsed (slrn's default): one line for the story, its count 4
	 * before the subject; the responses are hidden in it. */
	slrn_before_subject(t.screen, Q1, pre, sizeof(pre));
	ck_assert_msg(strcmp(pre, "4") == 0,
	    "the story's line shows \"%s\", not the count 4:\n%s", pre,
	    t.screen);
	for (i = 1; i < STORY_N; i++)
		ck_assert_msg(strstr(t.screen, story[i]) == NULL,
		    "\"%s\" is outside the collapsed thread:\n%s", story[i],
		    t.screen);
	slrn_before_subject(t.screen, UNRELATED, pre, sizeof(pre));
	ck_assert_msg(pre[0] == '\0', "the unrelated item shows \"%s\":\n%s",
	    pre, t.screen);

	/* ESC t: every thread expanded. The three responses follow the
	 * root, each drawn under it with tree characters. */
	ck_assert_int_eq(tui_keys(&t, "Escape"), 0);
	ck_assert_int_eq(tui_keys(&t, "t"), 0);
	for (i = 1; i < STORY_N; i++)
		ck_assert_msg(tui_wait(&t, story[i], WAIT_MS),
		    "the thread did not expand");
	root = screen_line(t.screen, Q1, NULL, 0);
	slrn_before_subject(t.screen, Q1, pre, sizeof(pre));
	ck_assert_msg(pre[0] == '\0', "the root shows \"%s\":\n%s", pre,
	    t.screen);
	for (i = 1; i < STORY_N; i++) {
		row = screen_line(t.screen, story[i], NULL, 0);
		ck_assert_msg(row > root && row <= root + STORY_N - 1,
		    "\"%s\" is not under the root:\n%s", story[i], t.screen);
		slrn_before_subject(t.screen, story[i], pre, sizeof(pre));
		ck_assert_msg(strstr(pre, "\u2500") != NULL ||
		    strchr(pre, '-') != NULL,
		    "no tree characters before \"%s\" (\"%s\"):\n%s",
		    story[i], pre, t.screen);
	}

	/* Read a response of the thread. */
	ck_assert_msg(tui_cursor_to(&t, "->", Q3, 10, WAIT_MS),
	    "cannot select \"%s\"", Q3);
	ck_assert_int_eq(tui_keys(&t, "Space"), 0);
	ck_assert_msg(tui_wait(&t, Q3_BODY, WAIT_MS),
	    "the response's body did not display");
	tui_stop(&t);
}
END_TEST

START_TEST(test_tin_shows_thread_view)
{
	char tin[PATH_MAX], home[PATH_MAX], cmd[3 * PATH_MAX], line[1024];
	char flag[8], num[16];
	int idx, count, lines, n, i;
	struct tui t;
	FILE *fp;

	if (!start_reader(&t, "tin", tin, sizeof(tin), home, sizeof(home)))
		return;
	/* Thread by References only (thread_articles=2): what links the
	 * story is newsgate's References, not similar subjects. */
	ck_assert(str_printf(cmd, sizeof(cmd), "%s/.tin", home));
	ck_assert_int_eq(mkdir(cmd, 0700), 0);
	ck_assert(str_printf(cmd, sizeof(cmd), "%s/.tin/tinrc", home));
	ck_assert_ptr_nonnull(fp = fopen(cmd, "w"));
	fputs("thread_articles=2\n", fp);
	ck_assert_int_eq(fclose(fp), 0);

	ck_assert(str_printf(cmd, sizeof(cmd),
	    "NNTPSERVER=127.0.0.1 NNTPPORT=%d exec '%s' -r", server.port,
	    tin));
	ck_assert_int_eq(tui_start(&t, cmd), 0);
	ck_assert_msg(tui_wait(&t, "Group Selection", WAIT_MS),
	    "tin did not show its group selection");
	ck_assert_int_eq(tui_keys(&t, "g"), 0);
	ck_assert_msg(tui_wait(&t, "Go to newsgroup", WAIT_MS),
	    "no group prompt");
	ck_assert_int_eq(tui_type(&t, "pakistan.news"), 0);
	ck_assert_int_eq(tui_keys(&t, "Enter"), 0);
	ck_assert_int_eq(tui_keys(&t, "Enter"), 0);
	ck_assert_msg(tui_wait(&t, "pakistan.news (", WAIT_MS),
	    "pakistan.news did not open");
	ck_assert_msg(tui_wait(&t, Q1, WAIT_MS) &&
	    tui_wait(&t, UNRELATED, WAIT_MS), "the group index is incomplete");

	/* The group index: one line per thread. The story's line has the
	 * number of its articles (4) before the line count; a lone article
	 * has only its line count. The responses have no line of their
	 * own. */
	ck_assert(screen_line(t.screen, Q1, line, sizeof(line)) >= 0);
	n = sscanf(line, "%d %7s %d %d", &idx, flag, &count, &lines);
	ck_assert_msg(n == 4 && count == STORY_N,
	    "the story's line has no count %d: %s\n%s", STORY_N, line,
	    t.screen);
	for (i = 1; i < STORY_N; i++)
		ck_assert_msg(strstr(t.screen, story[i]) == NULL,
		    "\"%s\" has a line of its own:\n%s", story[i], t.screen);
	ck_assert(screen_line(t.screen, UNRELATED, cmd, sizeof(cmd)) >= 0);
	ck_assert_msg(sscanf(cmd, "%d %7s %d %d", &n, flag, &count,
	    &lines) == 3, "the unrelated item is a thread: %s", cmd);

	/* Select the story by its number, list the thread (l). */
	ck_assert(str_printf(num, sizeof(num), "%d", idx));
	ck_assert_int_eq(tui_type(&t, num), 0);
	ck_assert_int_eq(tui_keys(&t, "Enter"), 0);
	ck_assert_int_eq(tui_keys(&t, "l"), 0);
	ck_assert_msg(tui_wait(&t, "List Thread", WAIT_MS),
	    "tin did not list the thread");
	for (i = 0; i < STORY_N; i++)
		ck_assert_msg(tui_wait(&t, story[i], WAIT_MS),
		    "\"%s\" is not in the thread", story[i]);
	ck_assert_msg(strstr(t.screen, UNRELATED) == NULL,
	    "the unrelated item is in the thread:\n%s", t.screen);
	ck_assert(screen_line(t.screen, Q1, line, sizeof(line)) >= 0);
	ck_assert_msg(strstr(line, "->") == NULL, "the root is a response: %s",
	    line);
	for (i = 1; i < STORY_N; i++) {
		char want[600];

		ck_assert(str_printf(want, sizeof(want), "->%s", story[i]));
		ck_assert_msg(strstr(t.screen, want) != NULL,
		    "\"%s\" is not drawn as a response:\n%s", story[i],
		    t.screen);
	}

	/* Read the thread's first article. */
	ck_assert_int_eq(tui_keys(&t, "Enter"), 0);
	ck_assert_msg(tui_wait(&t, Q1_BODY, WAIT_MS),
	    "the root's body did not display");
	tui_stop(&t);
}
END_TEST

static Suite *
threads_view_suite(void)
{
	Suite *s = suite_create("threads_view");
	TCase *tc = tcase_create("story");

	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_story_linked);
	tcase_add_test(tc, test_slrn_spool_shows_one_thread);
	tcase_add_test(tc, test_tin_shows_thread_view);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(threads_view_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
