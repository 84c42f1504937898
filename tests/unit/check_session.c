/*
 * check_session.c - the NNTP session without sockets: the command table,
 * line framing (512/513 octets, NUL, garbage), the dispatcher's generic
 * checks, every handler's reply codes, dot-stuffing and CRLF, streaming
 * under back-pressure, and the exact answers the client traces in
 * ../shared/client-traces/ expect.
 *
 * The fixture is a real spool built through spool.h (spool_add) once for
 * the suite; each test opens it read-only and talks to a fresh session.
 */
#include <check.h>
#include <unistd.h>

#include "common.h"
#include "article.h"
#include "buf.h"
#include "nntp.h"
#include "session.h"
#include "spool.h"

#define HOST "news.example"
#define BIG 300 /* articles in big.group */
/* Long enough for the spool to fold it (article_render). */
#define LONGHDR                                                           \
	"first part of a header value long enough that it has to be "    \
	"folded when the article is rendered, and then the second part"

static char tmpdir[64];
static char spooldir[128];

static struct spool *sp;
static struct session *s;
static struct buf out; /* everything the session wrote for one command */

/* --- the fixture ---------------------------------------------------------- */

static void
add(struct spool *w, const char *id, const char *subject, const char *body,
    const char *const *groups, size_t n, const char *extra_name,
    const char *extra_value)
{
	uint64_t nums[SPOOL_XPOST_MAX];
	struct article *a = article_new();

	article_set(a, "From", "Tester <t@example.invalid>");
	article_set(a, "Subject", subject);
	article_set(a, "Date", "Tue, 03 Jan 2017 10:00:00 +0000");
	article_set(a, "Message-ID", id);
	if (extra_name)
		article_set(a, extra_name, extra_value);
	article_set_body(a, xstrdup(body), strlen(body));
	ck_assert_int_eq(spool_add(w, a, groups, n, 0, nums), 0);
	article_free(a);
}

static void
fixture_up(void)
{
	static const char *const ab[] = {"a.b"}, *const abcd[] = {"a.b", "c.d"},
				 *const big[] = {"big.group"};
	struct spool *w;
	char id[64], subj[64];
	int i;

	(void)str_copy(tmpdir, sizeof(tmpdir), "/tmp/ngsessXXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	ck_assert(str_printf(spooldir, sizeof(spooldir), "%s/spool", tmpdir));
	ck_assert_ptr_nonnull(w = spool_open(spooldir, HOST, SPOOL_WRITE));
	ck_assert_int_eq(spool_group_add(w, "a.b", "Group AB", 'y', "me"), 0);
	ck_assert_int_eq(spool_group_add(w, "c.d", "Group CD", 'n', "me"), 0);
	ck_assert_int_eq(spool_group_add(w, "e.empty", "", 'y', "me"), 0);
	ck_assert_int_eq(spool_group_add(w, "big.group", "Big", 'y', "me"), 0);
	add(w, "<1@test>", "First article", "line one\nline two\n", ab, 1,
	    "X-Custom", "custom value");
	add(w, "<2@test>", "Second article", "a reply\n", abcd, 2,
	    "References", "<1@test>");
	add(w, "<3@test>", "Dots", ".hidden\n..two\n.\nend\n", ab, 1, NULL,
	    NULL);
	add(w, "<4@test>", "Folded", "body four\n", ab, 1, "X-Long", LONGHDR);
	add(w, "<5@test>", "Fifth number 5", "body five\n", ab, 1, NULL, NULL);
	for (i = 1; i <= BIG; i++) {
		ck_assert(str_printf(id, sizeof(id), "<big%d@test>", i));
		ck_assert(str_printf(subj, sizeof(subj), "Big %d", i));
		add(w, id, subj, "x\n", big, 1, NULL, NULL);
	}
	ck_assert_int_eq(spool_flush(w), 0);
	spool_close(w);
}

static void
fixture_down(void)
{
	char cmd[256];

	if (str_printf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir))
		(void)!system(cmd);
}

static struct session_conf conf = {
    "news.example", false, SESSION_OUT_HIGH, false};

static void
setup(void)
{
	ck_assert_ptr_nonnull(sp = spool_open(spooldir, HOST, SPOOL_READ));
	ck_assert_int_ge(spool_refresh(sp), 0);
	conf.out_high = SESSION_OUT_HIGH;
	s = session_new(sp, &conf);
	buf_init(&out, SIZE_MAX);
}

static void
teardown(void)
{
	session_free(s);
	spool_close(sp);
	buf_free(&out);
}

/* Move what the session wrote into out, running it until it is done. */
static void
drain(void)
{
	const char *p;
	size_t len;

	for (;;) {
		p = session_out_data(s, &len);
		buf_append(&out, p, len);
		session_out_consume(s, len);
		if (!session_pending(s))
			break;
		ck_assert_int_eq(session_run(s), 0);
	}
}

/* One command; everything it answered. */
static const char *
cmd(const char *line)
{
	buf_reset(&out);
	session_line(s, line);
	drain();
	return buf_cstr(&out);
}

/* Raw input bytes; everything answered. */
static const char *
input(const char *data, size_t len)
{
	buf_reset(&out);
	ck_assert_int_eq(session_input(s, data, len), 0);
	drain();
	return buf_cstr(&out);
}

/* The reply code of a command. */
static int
code(const char *line)
{
	const char *r = cmd(line);
	uint64_t c;

	ck_assert_int_ge(strlen(r), 5);
	ck_assert_int_eq(parse_u64(r, 3, &c), 0);
	return (int)c;
}

/* Every line of r ends in CRLF, no bare CR or LF anywhere. */
static void
assert_crlf(const char *r)
{
	const char *p;

	for (p = r; *p; p++) {
		if (*p == '\n')
			ck_assert_msg(p > r && p[-1] == '\r', "bare LF in %s",
			    r);
		if (*p == '\r')
			ck_assert_msg(p[1] == '\n', "bare CR in %s", r);
	}
}

/* Does r start with prefix? */
static bool
starts(const char *r, const char *prefix)
{
	return strncmp(r, prefix, strlen(prefix)) == 0;
}

static size_t
count_lines(const char *r)
{
	size_t n = 0;

	for (; *r; r++)
		n += *r == '\n';
	return n;
}

/* --- the tables ------------------------------------------------------------ */

static void
assert_table(const struct cmd *t, size_t n, const char *help_prefix)
{
	size_t i, plen = strlen(help_prefix);

	for (i = 0; i < n; i++) {
		const char *c;

		if (i > 0)
			ck_assert_msg(strcmp(t[i - 1].name, t[i].name) < 0,
			    "%s before %s: not sorted", t[i - 1].name,
			    t[i].name);
		for (c = t[i].name; *c; c++)
			ck_assert(!(*c >= 'a' && *c <= 'z'));
		ck_assert_ptr_nonnull(t[i].fn);
		ck_assert_int_le(t[i].min_args, t[i].max_args);
		ck_assert_int_le(t[i].max_args, SESSION_ARGS_MAX);
		ck_assert(t[i].spec < (int)t[i].max_args);
		ck_assert_ptr_nonnull(t[i].help);
		ck_assert_msg(strncmp(t[i].help, help_prefix, plen) == 0 &&
			strncmp(t[i].help + plen, t[i].name,
			    strlen(t[i].name)) == 0,
		    "help of %s", t[i].name);
		ck_assert_ptr_eq(session_cmd_find(t, n, t[i].name), &t[i]);
	}
}

START_TEST(test_tables_sorted)
{
	const struct cmd *t;
	size_t n;

	t = session_cmds(&n);
	assert_table(t, n, "");
	ck_assert_ptr_nonnull(session_cmd_find(t, n, "xover"));
	ck_assert_ptr_null(session_cmd_find(t, n, "POST"));
	t = session_list_cmds(&n);
	assert_table(t, n, "LIST ");
}
END_TEST

START_TEST(test_capabilities_from_table)
{
	ck_assert_str_eq(cmd("CAPABILITIES"),
	    "101 Capability list:\r\n"
	    "VERSION 2\r\n"
	    "HDR\r\n"
	    "LIST ACTIVE ACTIVE.TIMES COUNTS DISTRIB.PATS HEADERS "
	    "NEWSGROUPS OVERVIEW.FMT SUBSCRIPTIONS\r\n"
	    "READER\r\n"
	    "NEWNEWS\r\n"
	    "OVER MSGID\r\n"
	    "XPAT\r\n"
	    "IMPLEMENTATION newsgate 0.1\r\n"
	    ".\r\n");
	ck_assert(s->rfc3977);
}
END_TEST

START_TEST(test_help_lists_every_command)
{
	const struct cmd *t;
	const char *r;
	size_t n, i;

	r = cmd("HELP");
	ck_assert(starts(r, "100 "));
	assert_crlf(r);
	t = session_cmds(&n);
	for (i = 0; i < n; i++)
		if (t[i].fn != cmd_list)
			ck_assert_msg(strstr(r, t[i].help), "%s", t[i].name);
	t = session_list_cmds(&n);
	for (i = 0; i < n; i++)
		ck_assert_msg(strstr(r, t[i].help), "%s", t[i].name);
	ck_assert(strcmp(r + strlen(r) - 5, "\r\n.\r\n") == 0);
}
END_TEST

/* --- greeting, MODE, DATE, QUIT ------------------------------------------- */

START_TEST(test_greeting_and_mode_reader)
{
	buf_reset(&out);
	session_greet(s);
	drain();
	ck_assert_str_eq(buf_cstr(&out),
	    "201 news.example newsgate ready (no posting)\r\n");
	ck_assert_str_eq(cmd("MODE READER"), "201 Posting prohibited\r\n");
	ck_assert_str_eq(cmd("mode reader"), "201 Posting prohibited\r\n");
	ck_assert_int_eq(code("MODE"), NNTP_ERR_SYNTAX);
	ck_assert_int_eq(code("MODE STREAM"), NNTP_ERR_SYNTAX);
	conf.posting = true;
	ck_assert_str_eq(cmd("MODE READER"), "200 Posting allowed\r\n");
	conf.posting = false;
}
END_TEST

START_TEST(test_date)
{
	const char *r = cmd("DATE");
	size_t i;

	ck_assert_int_eq(strlen(r), 4 + 14 + 2);
	ck_assert(starts(r, "111 "));
	for (i = 4; i < 18; i++)
		ck_assert(r[i] >= '0' && r[i] <= '9');
	ck_assert_int_eq(code("DATE now"), NNTP_ERR_SYNTAX);
}
END_TEST

START_TEST(test_quit_closes)
{
	ck_assert_int_eq(session_line(s, "QUIT"), -1);
	drain();
	ck_assert_str_eq(buf_cstr(&out), "205 Bye\r\n");
	ck_assert(s->closing);
	ck_assert_str_eq(input("DATE\r\n", 6), "");
	ck_assert_int_eq(session_input_room(s), 0);
}
END_TEST

/* --- framing and the dispatcher -------------------------------------------- */

START_TEST(test_unknown_and_empty)
{
	ck_assert_str_eq(cmd("FROBNICATE"), "500 Unknown command\r\n");
	ck_assert_str_eq(cmd("POST"), "500 Unknown command\r\n");
	ck_assert_str_eq(cmd(""), "500 Empty command\r\n");
	ck_assert_str_eq(cmd("   \t "), "500 Empty command\r\n");
	ck_assert_int_eq(code("\xff\xfe garbage"), NNTP_ERR_COMMAND);
	ck_assert_int_eq(code("GROUP"), NNTP_ERR_SYNTAX);
	ck_assert_int_eq(code("GROUP a.b c.d"), NNTP_ERR_SYNTAX);
	ck_assert_str_eq(cmd("GROUP"), "501 Syntax: GROUP newsgroup\r\n");
	/* Verbs are case-insensitive, arguments split on SP and TAB. */
	ck_assert_str_eq(cmd("group\ta.b"), "211 5 1 5 a.b\r\n");
	ck_assert_str_eq(cmd("  GrOuP   a.b  "), "211 5 1 5 a.b\r\n");
}
END_TEST

/* RFC 3977 §3.1: 512 octets with CRLF is the limit, 513 is 501, and the
 * session goes on. */
START_TEST(test_line_512_ok_513_refused)
{
	char line[1200];
	size_t n;

	/* 512 octets, CRLF included, arguments under 497 each: runs
	 * (412: XPAT needs a group). */
	memcpy(line, "XPAT Subject 1- ", 16);
	memset(line + 16, 'a', 494);
	line[16 + 240] = ' ';
	memcpy(line + 510, "\r\n", 2);
	ck_assert_str_eq(input(line, 512), "412 No newsgroup selected\r\n");
	/* 513 octets. */
	memset(line + 16 + 241, 'b', 254);
	memcpy(line + 511, "\r\n", 2);
	ck_assert_str_eq(input(line, 513),
	    "501 Command line over 512 octets\r\n");
	ck_assert_str_eq(cmd("GROUP a.b"), "211 5 1 5 a.b\r\n");
	/* A long line arriving in pieces is answered once, then the
	 * next command runs. */
	memset(line, 'x', sizeof(line));
	buf_reset(&out);
	for (n = 0; n < 3; n++)
		ck_assert_int_eq(session_input(s, line, 400), 0);
	ck_assert_int_eq(session_input(s, "yyy\r\nDATE\r\n", 11), 0);
	drain();
	ck_assert(starts(buf_cstr(&out),
		      "501 Command line over 512 octets\r\n111 "));
	/* session_line() applies the same bound. */
	memset(line, 'a', 511);
	line[511] = '\0';
	ck_assert_int_eq(code(line), NNTP_ERR_SYNTAX);
	/* A bare LF ends a line too; a CR alone does not. */
	ck_assert_str_eq(input("GROUP c.d\n", 10), "211 1 1 1 c.d\r\n");
	ck_assert_str_eq(input("GROUP c.d\rX\r\n", 13),
	    "501 Invalid character in command\r\n");
}
END_TEST

START_TEST(test_nul_and_controls)
{
	ck_assert_str_eq(input("GROUP a\0.b\r\n", 12),
	    "501 Invalid character in command\r\n");
	ck_assert_str_eq(input("\x01\x02\x03\r\n", 5),
	    "501 Invalid character in command\r\n");
	ck_assert_str_eq(input("GROUP a.b\r\n", 11), "211 5 1 5 a.b\r\n");
}
END_TEST

START_TEST(test_binary_garbage)
{
	unsigned char junk[4096];
	unsigned x = 12345;
	size_t i;
	const char *r;

	for (i = 0; i < sizeof(junk); i++) {
		x = x * 1103515245 + 12345;
		junk[i] = (unsigned char)(x >> 16);
	}
	buf_reset(&out);
	for (i = 0; i < sizeof(junk); i += 512)
		ck_assert_int_eq(session_input(s, (char *)junk + i, 512), 0);
	ck_assert_int_eq(session_input(s, "\r\nDATE\r\n", 8), 0);
	drain();
	r = buf_cstr(&out);
	assert_crlf(r);
	ck_assert_ptr_nonnull(strstr(r, "111 "));
	ck_assert(!s->closing);
}
END_TEST

START_TEST(test_pipelining_in_order)
{
	const char *in = "GROUP a.b\r\nSTAT 2\r\nNEXT\r\nDATE x\r\nQUIT\r\n"
			 "GROUP c.d\r\n";
	ck_assert_str_eq(input(in, strlen(in)),
	    "211 5 1 5 a.b\r\n"
	    "223 2 <2@test>\r\n"
	    "223 3 <3@test> Article found\r\n"
	    "501 Syntax: DATE\r\n"
	    "205 Bye\r\n");
	ck_assert(s->closing);
}
END_TEST

/* --- groups ----------------------------------------------------------------- */

START_TEST(test_group)
{
	ck_assert_str_eq(cmd("GROUP a.b"), "211 5 1 5 a.b\r\n");
	ck_assert_int_eq(s->cur, 1);
	ck_assert_str_eq(cmd("GROUP no.such"), "411 No such newsgroup\r\n");
	/* The failed GROUP keeps the selection (RFC 3977 §6.1.1.2). */
	ck_assert_str_eq(s->group, "a.b");
	ck_assert_str_eq(cmd("GROUP ../a.b"), "411 No such newsgroup\r\n");
	ck_assert_str_eq(cmd("GROUP a/../a.b"), "411 No such newsgroup\r\n");
	ck_assert_str_eq(cmd("GROUP ."), "411 No such newsgroup\r\n");
	ck_assert_str_eq(cmd("GROUP .."), "411 No such newsgroup\r\n");
	/* Empty group: 0 high+1 high, never low 0. */
	ck_assert_str_eq(cmd("GROUP e.empty"), "211 0 1 0 e.empty\r\n");
	ck_assert_int_eq(s->cur, 0);
	ck_assert_int_eq(code("ARTICLE"), NNTP_FAIL_NO_CURRENT);
	ck_assert_int_eq(code("NEXT"), NNTP_FAIL_NO_CURRENT);
	ck_assert_int_eq(code("ARTICLE 1"), NNTP_FAIL_NO_ARTNUM);
	ck_assert_int_eq(code("OVER 1-10"), NNTP_FAIL_NO_ARTNUM);
}
END_TEST

START_TEST(test_listgroup)
{
	ck_assert_str_eq(cmd("LISTGROUP"), "412 No newsgroup selected\r\n");
	ck_assert_str_eq(cmd("LISTGROUP a.b"),
	    "211 5 1 5 a.b\r\n1\r\n2\r\n3\r\n4\r\n5\r\n.\r\n");
	ck_assert_str_eq(cmd("LISTGROUP a.b 2-3"),
	    "211 5 1 5 a.b\r\n2\r\n3\r\n.\r\n");
	ck_assert_str_eq(cmd("LISTGROUP a.b 4-"),
	    "211 5 1 5 a.b\r\n4\r\n5\r\n.\r\n");
	ck_assert_str_eq(cmd("LISTGROUP a.b 9-3"), "211 5 1 5 a.b\r\n.\r\n");
	ck_assert_str_eq(cmd("LISTGROUP c.d"), "211 1 1 1 c.d\r\n1\r\n.\r\n");
	ck_assert_str_eq(cmd("LISTGROUP"), "211 1 1 1 c.d\r\n1\r\n.\r\n");
	ck_assert_str_eq(cmd("LISTGROUP e.empty"),
	    "211 0 1 0 e.empty\r\n.\r\n");
	ck_assert_str_eq(cmd("LISTGROUP no.such"), "411 No such newsgroup\r\n");
	ck_assert_int_eq(code("LISTGROUP a.b x-y"), NNTP_ERR_SYNTAX);
	ck_assert_str_eq(s->group, "e.empty");
}
END_TEST

START_TEST(test_next_last)
{
	ck_assert_int_eq(code("NEXT"), NNTP_FAIL_NO_SELECTED);
	ck_assert_int_eq(code("LAST"), NNTP_FAIL_NO_SELECTED);
	cmd("GROUP a.b");
	ck_assert_str_eq(cmd("LAST"),
	    "422 No previous article in this group\r\n");
	ck_assert_str_eq(cmd("NEXT"), "223 2 <2@test> Article found\r\n");
	ck_assert_str_eq(cmd("NEXT"), "223 3 <3@test> Article found\r\n");
	ck_assert_str_eq(cmd("LAST"), "223 2 <2@test> Article found\r\n");
	ck_assert_str_eq(cmd("STAT 5"), "223 5 <5@test>\r\n");
	ck_assert_str_eq(cmd("NEXT"), "421 No next article in this group\r\n");
	ck_assert_int_eq(s->cur, 5);
	ck_assert_str_eq(cmd("LAST"), "223 4 <4@test> Article found\r\n");
	/* Far back through the growing windows. */
	cmd("GROUP big.group");
	ck_assert_str_eq(cmd("STAT 300"), "223 300 <big300@test>\r\n");
	ck_assert_str_eq(cmd("LAST"), "223 299 <big299@test> Article found\r\n");
}
END_TEST

/* --- articles ---------------------------------------------------------------- */

START_TEST(test_article_codes)
{
	/* Outside a group: numbers and the current article need one. */
	ck_assert_int_eq(code("ARTICLE"), NNTP_FAIL_NO_SELECTED);
	ck_assert_int_eq(code("ARTICLE 1"), NNTP_FAIL_NO_SELECTED);
	ck_assert_int_eq(code("HEAD 1"), NNTP_FAIL_NO_SELECTED);
	ck_assert_int_eq(code("BODY"), NNTP_FAIL_NO_SELECTED);
	ck_assert_int_eq(code("STAT"), NNTP_FAIL_NO_SELECTED);
	/* By message-id no group is needed; the number is 0. */
	ck_assert_str_eq(cmd("STAT <2@test>"), "223 0 <2@test>\r\n");
	ck_assert(starts(cmd("HEAD <2@test>"), "221 0 <2@test> head\r\n"));
	ck_assert_str_eq(cmd("STAT <nope@test>"),
	    "430 No article with that message-id\r\n");
	ck_assert_str_eq(cmd("ARTICLE <../../etc/passwd>"),
	    "430 No article with that message-id\r\n");
	ck_assert_int_eq(code("ARTICLE <bad"), NNTP_ERR_SYNTAX);
	ck_assert_int_eq(code("ARTICLE <a b>"), NNTP_ERR_SYNTAX);
	ck_assert_int_eq(code("ARTICLE <>"), NNTP_ERR_SYNTAX);
	cmd("GROUP a.b");
	ck_assert_int_eq(code("ARTICLE 0"), NNTP_FAIL_NO_ARTNUM);
	ck_assert_int_eq(code("ARTICLE 6"), NNTP_FAIL_NO_ARTNUM);
	ck_assert_int_eq(code("ARTICLE 99999999999999999"), NNTP_ERR_SYNTAX);
	ck_assert_int_eq(code("ARTICLE -1"), NNTP_ERR_SYNTAX);
	ck_assert_int_eq(code("ARTICLE 1x"), NNTP_ERR_SYNTAX);
	ck_assert_int_eq(code("ARTICLE 1 2"), NNTP_ERR_SYNTAX);
	/* By message-id the current article does not move. */
	cmd("STAT 3");
	cmd("STAT <5@test>");
	ck_assert_int_eq(s->cur, 3);
	ck_assert_str_eq(cmd("STAT"), "223 3 <3@test>\r\n");
}
END_TEST

/* Stored with LF; sent with CRLF and dot-stuffed (RFC 3977 §3.1.1). */
START_TEST(test_body_dot_stuffed_crlf)
{
	cmd("GROUP a.b");
	ck_assert_str_eq(cmd("BODY 3"),
	    "222 3 <3@test> body\r\n"
	    "..hidden\r\n"
	    "...two\r\n"
	    "..\r\n"
	    "end\r\n"
	    ".\r\n");
	ck_assert_int_eq(s->cur, 3);
	ck_assert_str_eq(cmd("BODY <1@test>"),
	    "222 0 <1@test> body\r\nline one\r\nline two\r\n.\r\n");
	ck_assert_int_eq(s->stats.articles, 2);
}
END_TEST

START_TEST(test_head_and_article)
{
	const char *r;

	cmd("GROUP a.b");
	r = cmd("HEAD 1");
	assert_crlf(r);
	ck_assert(starts(r, "221 1 <1@test> head\r\n"));
	ck_assert_ptr_nonnull(strstr(r, "\r\nSubject: First article\r\n"));
	ck_assert_ptr_nonnull(strstr(r, "\r\nX-Custom: custom value\r\n"));
	ck_assert_ptr_null(strstr(r, "\r\n\r\n"));
	ck_assert_ptr_null(strstr(r, "line one"));
	ck_assert(strcmp(r + strlen(r) - 5, "\r\n.\r\n") == 0);
	r = cmd("ARTICLE");
	assert_crlf(r);
	ck_assert(starts(r, "220 1 <1@test> article\r\n"));
	ck_assert_ptr_nonnull(strstr(r, "\r\n\r\nline one\r\nline two\r\n.\r\n"));
	/* A folded header keeps its fold on the wire. */
	r = cmd("HEAD 4");
	ck_assert_ptr_nonnull(strstr(r, "X-Long: first part"));
	ck_assert_ptr_nonnull(strstr(strstr(r, "X-Long: "), "\r\n "));
}
END_TEST

/* --- overview and headers ------------------------------------------------------ */

START_TEST(test_over)
{
	const char *r;

	/* slrn and tin probe XOVER outside a group: 412, not 500. */
	ck_assert_str_eq(cmd("XOVER"), "412 No newsgroup selected\r\n");
	ck_assert_str_eq(cmd("OVER 1-2"), "412 No newsgroup selected\r\n");
	cmd("GROUP a.b");
	r = cmd("XOVER 1-2");
	assert_crlf(r);
	ck_assert(starts(r, "224 Overview information follows\r\n1\tFirst "
			     "article\tTester <t@example.invalid>\t"));
	ck_assert_int_eq(count_lines(r), 4);
	ck_assert_ptr_nonnull(strstr(r, "\r\n2\tSecond article\t"));
	ck_assert_ptr_nonnull(strstr(r, "\t<2@test>\t<1@test>\t"));
	ck_assert_ptr_nonnull(strstr(r, "\tXref: " HOST " a.b:2 c.d:1\r\n"));
	ck_assert_int_eq(count_lines(cmd("OVER 1-")), 7);
	ck_assert_int_eq(count_lines(cmd("OVER")), 3); /* current: 1 */
	ck_assert_str_eq(cmd("OVER 6-9"),
	    "423 No articles in that range\r\n");
	ck_assert_str_eq(cmd("OVER 3-1"),
	    "423 No articles in that range\r\n");
	ck_assert_int_eq(code("OVER x"), NNTP_ERR_SYNTAX);
	ck_assert_int_eq(code("OVER 1-x"), NNTP_ERR_SYNTAX);
	ck_assert_int_eq(code("OVER -5"), NNTP_ERR_SYNTAX);
	/* By message-id, outside any group too, the number is 0. */
	session_free(s);
	s = session_new(sp, &conf);
	r = cmd("OVER <2@test>");
	ck_assert(starts(r, "224 Overview information follows\r\n0\tSecond "
			     "article\t"));
	ck_assert_int_eq(count_lines(r), 3);
	ck_assert_str_eq(cmd("OVER <x@y>"),
	    "430 No article with that message-id\r\n");
}
END_TEST

START_TEST(test_hdr_xhdr)
{
	/* tin's probe without CAPABILITIES: XHDR alone is 501; slrn's
	 * "XHDR Path" outside a group is 412. */
	ck_assert_str_eq(cmd("XHDR"),
	    "501 Syntax: XHDR header [message-ID|range]\r\n");
	ck_assert_str_eq(cmd("XHDR Path"), "412 No newsgroup selected\r\n");
	ck_assert_str_eq(cmd("HDR Subject 1-2"), "412 No newsgroup selected\r\n");
	ck_assert_str_eq(cmd("HDR Subject <2@test>"),
	    "225 Headers follow\r\n0 Second article\r\n.\r\n");
	ck_assert_str_eq(cmd("XHDR subject <2@test>"),
	    "221 subject header follows\r\n<2@test> Second article\r\n.\r\n");
	cmd("GROUP a.b");
	ck_assert_str_eq(cmd("HDR Subject 1-2"),
	    "225 Headers follow\r\n1 First article\r\n2 Second article\r\n"
	    ".\r\n");
	ck_assert_str_eq(cmd("HDR References 1-2"),
	    "225 Headers follow\r\n1 \r\n2 <1@test>\r\n.\r\n");
	ck_assert_str_eq(cmd("HDR Xref 2"),
	    "225 Headers follow\r\n2 " HOST " a.b:2 c.d:1\r\n.\r\n");
	ck_assert_str_eq(cmd("HDR :lines 3"),
	    "225 Headers follow\r\n3 4\r\n.\r\n");
	ck_assert(starts(cmd("HDR :bytes"), "225 Headers follow\r\n1 "));
	ck_assert_str_eq(cmd("HDR :nosuch 1"), "503 No such metadata item\r\n");
	/* A header outside the overview: read from the articles. */
	ck_assert_str_eq(cmd("HDR X-Custom 1-3"),
	    "225 Headers follow\r\n1 custom value\r\n2 \r\n3 \r\n.\r\n");
	ck_assert_str_eq(cmd("XHDR X-Custom 1-2"),
	    "221 X-Custom header follows\r\n1 custom value\r\n2 (none)\r\n"
	    ".\r\n");
	/* ... and is unfolded in HDR/XHDR (RFC 5322 §2.2.3). */
	ck_assert_str_eq(cmd("XHDR X-Long 4"),
	    "221 X-Long header follows\r\n4 " LONGHDR "\r\n.\r\n");
	ck_assert_str_eq(cmd("HDR X-Custom <1@test>"),
	    "225 Headers follow\r\n0 custom value\r\n.\r\n");
	ck_assert_str_eq(cmd("HDR Subject 7-9"),
	    "423 No articles in that range\r\n");
	ck_assert_int_eq(code("HDR Subject 1-z"), NNTP_ERR_SYNTAX);
	ck_assert_str_eq(cmd("HDR Subject <no@such>"),
	    "430 No article with that message-id\r\n");
}
END_TEST

START_TEST(test_xpat)
{
	ck_assert_int_eq(code("XPAT Subject 1-5"), NNTP_ERR_SYNTAX);
	ck_assert_int_eq(code("XPAT Subject 1-5 *"), NNTP_FAIL_NO_SELECTED);
	cmd("GROUP a.b");
	ck_assert_str_eq(cmd("XPAT Subject 1-5 *article"),
	    "221 Subject header follows\r\n1 First article\r\n"
	    "2 Second article\r\n.\r\n");
	/* Patterns are joined with spaces, as INN does. */
	ck_assert_str_eq(cmd("XPAT Subject 1- Fifth number *"),
	    "221 Subject header follows\r\n5 Fifth number 5\r\n.\r\n");
	ck_assert_str_eq(cmd("XPAT Subject 1-5 nomatch"),
	    "221 Subject header follows\r\n.\r\n");
	ck_assert_str_eq(cmd("XPAT Subject <1@test> F*"),
	    "221 Subject header follows\r\n<1@test> First article\r\n.\r\n");
	ck_assert_int_eq(code("XPAT Subject 1-5 a[b"), NNTP_ERR_SYNTAX);
}
END_TEST

/* --- LIST ----------------------------------------------------------------------- */

START_TEST(test_list_active)
{
	const char *all = "215 Newsgroups in form \"group high low status\"\r\n"
			  "a.b 5 1 y\r\n"
			  "big.group 300 1 y\r\n"
			  "c.d 1 1 n\r\n"
			  "e.empty 0 1 y\r\n"
			  ".\r\n";

	ck_assert_str_eq(cmd("LIST"), all);
	ck_assert_str_eq(cmd("LIST ACTIVE"), all);
	ck_assert_str_eq(cmd("list active *"), all);
	ck_assert_str_eq(cmd("LIST ACTIVE a.*,e.*"),
	    "215 Newsgroups in form \"group high low status\"\r\n"
	    "a.b 5 1 y\r\ne.empty 0 1 y\r\n.\r\n");
	ck_assert_str_eq(cmd("LIST ACTIVE *,!*.b,!big.*"),
	    "215 Newsgroups in form \"group high low status\"\r\n"
	    "c.d 1 1 n\r\ne.empty 0 1 y\r\n.\r\n");
	ck_assert_str_eq(cmd("LIST ACTIVE c.d"),
	    "215 Newsgroups in form \"group high low status\"\r\n"
	    "c.d 1 1 n\r\n.\r\n");
	ck_assert_str_eq(cmd("LIST ACTIVE no.such"),
	    "215 Newsgroups in form \"group high low status\"\r\n.\r\n");
	ck_assert_str_eq(cmd("LIST ACTIVE ../x"),
	    "215 Newsgroups in form \"group high low status\"\r\n.\r\n");
	ck_assert_int_eq(code("LIST ACTIVE a,,b"), NNTP_ERR_SYNTAX);
	ck_assert_int_eq(code("LIST ACTIVE a b"), NNTP_ERR_SYNTAX);
	ck_assert_str_eq(cmd("LIST NOSUCH"), "501 Unknown LIST keyword\r\n");
}
END_TEST

START_TEST(test_list_others)
{
	ck_assert_str_eq(cmd("LIST NEWSGROUPS"),
	    "215 Newsgroup descriptions in form \"group description\"\r\n"
	    "a.b\tGroup AB\r\nbig.group\tBig\r\nc.d\tGroup CD\r\n.\r\n");
	ck_assert_str_eq(cmd("LIST NEWSGROUPS c.*"),
	    "215 Newsgroup descriptions in form \"group description\"\r\n"
	    "c.d\tGroup CD\r\n.\r\n");
	ck_assert_str_eq(cmd("LIST COUNTS"),
	    "215 Newsgroups in form \"group high low count status\"\r\n"
	    "a.b 5 1 5 y\r\nbig.group 300 1 300 y\r\nc.d 1 1 1 n\r\n"
	    "e.empty 0 1 0 y\r\n.\r\n");
	ck_assert(starts(cmd("LIST ACTIVE.TIMES a.b"),
		      "215 Newsgroup creation times in form \"group time "
		      "who\"\r\na.b "));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&out), " me\r\n.\r\n"));
	ck_assert_str_eq(cmd("LIST HEADERS"),
	    "215 Headers and metadata items supported\r\n:\r\n:bytes\r\n"
	    ":lines\r\n.\r\n");
	ck_assert_int_eq(code("LIST HEADERS RANGE"), NNTP_OK_LIST);
	ck_assert_int_eq(code("LIST HEADERS msgid"), NNTP_OK_LIST);
	ck_assert_int_eq(code("LIST HEADERS FOO"), NNTP_ERR_SYNTAX);
	ck_assert_str_eq(cmd("LIST MOTD"),
	    "503 No message of the day available\r\n");
	ck_assert_str_eq(cmd("LIST SUBSCRIPTIONS"),
	    "215 Recommended subscriptions in form \"group\"\r\n.\r\n");
	ck_assert_str_eq(cmd("LIST DISTRIB.PATS"),
	    "215 Default distributions in form \"weight:wildmat:value\"\r\n"
	    ".\r\n");
	ck_assert_int_eq(code("LIST DISTRIB.PATS x"), NNTP_ERR_SYNTAX);
	ck_assert_int_eq(code("LIST OVERVIEW.FMT x"), NNTP_ERR_SYNTAX);
}
END_TEST

/* Classic names for clients that did not send CAPABILITIES (slrn
 * matches them literally), RFC 3977 names after it (docs/protocol.md). */
START_TEST(test_overview_fmt)
{
	ck_assert_str_eq(cmd("LIST OVERVIEW.FMT"),
	    "215 Order of fields in overview database\r\n"
	    "Subject:\r\nFrom:\r\nDate:\r\nMessage-ID:\r\nReferences:\r\n"
	    "Bytes:\r\nLines:\r\nXref:full\r\n.\r\n");
	cmd("CAPABILITIES");
	ck_assert_str_eq(cmd("LIST OVERVIEW.FMT"),
	    "215 Order of fields in overview database\r\n"
	    "Subject:\r\nFrom:\r\nDate:\r\nMessage-ID:\r\nReferences:\r\n"
	    ":bytes\r\n:lines\r\nXref:full\r\n.\r\n");
}
END_TEST

/* --- NEWGROUPS, NEWNEWS, dates --------------------------------------------------- */

START_TEST(test_parse_datetime)
{
	time_t t, now = time(NULL);
	struct tm tm;
	int yy;

	ck_assert_int_eq(session_parse_datetime("20170103", "100000", "GMT",
			     &t),
	    0);
	ck_assert_int_eq(t, 1483437600);
	ck_assert_int_eq(session_parse_datetime("170103", "100000", "gmt", &t),
	    0);
	ck_assert_int_eq(t, 1483437600);
	/* RFC 3977 §7.3.2: a two-digit year after this year is in the
	 * previous century. */
	gmtime_r(&now, &tm);
	yy = (tm.tm_year + 1900) % 100;
	if (yy < 99) {
		char d[8];

		ck_assert(str_printf(d, sizeof(d), "%02d0101", yy + 1));
		ck_assert_int_eq(session_parse_datetime(d, "000000", "GMT", &t),
		    0);
		gmtime_r(&t, &tm);
		ck_assert_int_eq((tm.tm_year + 1900) % 100, yy + 1);
		ck_assert_int_lt(t, now);
	}
	ck_assert_int_eq(session_parse_datetime("991231", "235959", "GMT", &t),
	    0);
	ck_assert_int_eq(t, 946684799);
	ck_assert_int_eq(session_parse_datetime("2017013", "100000", NULL, &t),
	    -1);
	ck_assert_int_eq(session_parse_datetime("20171301", "100000", NULL,
			     &t),
	    -1);
	ck_assert_int_eq(session_parse_datetime("20170132", "100000", NULL,
			     &t),
	    -1);
	ck_assert_int_eq(session_parse_datetime("20170101", "240000", NULL,
			     &t),
	    -1);
	ck_assert_int_eq(session_parse_datetime("20170101", "10000a", NULL,
			     &t),
	    -1);
	ck_assert_int_eq(session_parse_datetime("20170101", "100000", "UTC",
			     &t),
	    -1);
	ck_assert_int_eq(session_parse_datetime("20170101", "100000", NULL,
			     &t),
	    0);
}
END_TEST

START_TEST(test_newgroups)
{
	const char *r;

	/* slrn sends a two-digit year (client trace). */
	r = cmd("NEWGROUPS 000101 000000 GMT");
	ck_assert(starts(r, "231 New newsgroups follow\r\n"));
	ck_assert_int_eq(count_lines(r), 6);
	ck_assert_ptr_nonnull(strstr(r, "\r\na.b 5 1 y\r\n"));
	ck_assert_str_eq(cmd("NEWGROUPS 20991231 000000"),
	    "231 New newsgroups follow\r\n.\r\n");
	ck_assert_int_eq(code("NEWGROUPS 20991231"), NNTP_ERR_SYNTAX);
	ck_assert_int_eq(code("NEWGROUPS 20991231 000000 EST"), NNTP_ERR_SYNTAX);
	ck_assert_int_eq(code("NEWGROUPS 209912 000000 GMT"), NNTP_ERR_SYNTAX);
}
END_TEST

START_TEST(test_newnews)
{
	const char *r;

	r = cmd("NEWNEWS * 19700101 000000 GMT");
	ck_assert(starts(r, "230 List of new articles follows\r\n<1@test>\r\n"
			     "<2@test>\r\n"));
	ck_assert_int_eq(count_lines(r), 2 + 5 + BIG);
	ck_assert_str_eq(cmd("NEWNEWS c.* 19700101 000000 GMT"),
	    "230 List of new articles follows\r\n<2@test>\r\n.\r\n");
	ck_assert_str_eq(cmd("NEWNEWS a.*,!a.b 19700101 000000 GMT"),
	    "230 List of new articles follows\r\n.\r\n");
	ck_assert_str_eq(cmd("NEWNEWS * 20991231 000000 GMT"),
	    "230 List of new articles follows\r\n.\r\n");
	ck_assert_int_eq(code("NEWNEWS a,,b 19700101 000000 GMT"),
	    NNTP_ERR_SYNTAX);
	ck_assert_int_eq(code("NEWNEWS * 19700101"), NNTP_ERR_SYNTAX);
}
END_TEST

/* --- streaming and back-pressure ------------------------------------------------------ */

/*
 * With a small high-water mark, a long response comes in steps: the
 * queue never holds much more than the mark, commands behind it wait
 * (answered in order), and the whole response arrives intact.
 */
static void
check_streamed(const char *command, size_t want_lines)
{
	const char *p;
	size_t len, most = 0, steps = 0;
	char in[128];

	conf.out_high = 512;
	buf_reset(&out);
	ck_assert(str_printf(in, sizeof(in), "%s\r\nDATE\r\n", command));
	ck_assert_int_eq(session_input(s, in, strlen(in)), 0);
	for (;;) {
		p = session_out_data(s, &len);
		if (len > most)
			most = len;
		buf_append(&out, p, len);
		session_out_consume(s, len);
		if (!session_pending(s))
			break;
		steps++;
		ck_assert_int_eq(session_run(s), 0);
	}
	conf.out_high = SESSION_OUT_HIGH;
	ck_assert_int_ge(steps, 2);
	ck_assert_int_lt(most, 512 + 16 * 1024 * 3);
	assert_crlf(buf_cstr(&out));
	ck_assert_int_eq(count_lines(buf_cstr(&out)), want_lines);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&out), "\r\n.\r\n111 "));
}

START_TEST(test_streaming_over)
{
	cmd("GROUP big.group");
	check_streamed("OVER 1-300", 1 + BIG + 1 + 1);
	check_streamed("XHDR Subject 1-", 1 + BIG + 1 + 1);
	check_streamed("HDR X-Nothing 1-", 1 + BIG + 1 + 1);
	check_streamed("LISTGROUP big.group", 1 + BIG + 1 + 1);
	check_streamed("NEWNEWS big.* 19700101 000000 GMT", 1 + BIG + 1 + 1);
}
END_TEST

START_TEST(test_streaming_while_spool_refreshes)
{
	/* A refresh between steps (another session's command) must not
	 * break a group list in progress. */
	const char *p;
	size_t len;
	int i;

	conf.out_high = 16;
	buf_reset(&out);
	session_line(s, "LIST ACTIVE");
	for (i = 0; session_pending(s); i++) {
		p = session_out_data(s, &len);
		buf_append(&out, p, len);
		session_out_consume(s, len);
		ck_assert_int_ge(spool_refresh(sp), 0);
		ck_assert_int_eq(session_run(s), 0);
	}
	drain();
	conf.out_high = SESSION_OUT_HIGH;
	ck_assert_int_gt(i, 2);
	ck_assert_int_eq(count_lines(buf_cstr(&out)), 6);
}
END_TEST

START_TEST(test_idle_session_has_no_buffers)
{
	cmd("GROUP a.b");
	cmd("ARTICLE 1");
	ck_assert_int_eq(session_input(s, "DAT", 3), 0);
	session_trim(s);
	ck_assert_ptr_nonnull(s->in.data);
	ck_assert_int_eq(session_input(s, "E\r\n", 3), 0);
	drain();
	session_trim(s);
	ck_assert_ptr_null(s->in.data);
	ck_assert_ptr_null(s->out.data);
	ck_assert_int_lt(sizeof(struct session), 1024);
}
END_TEST

START_TEST(test_stop)
{
	session_stop(s, "Idle timeout");
	drain();
	ck_assert_str_eq(buf_cstr(&out), "400 Idle timeout\r\n");
	ck_assert(s->closing);
	/* In the middle of a response: it finishes, without the 400. */
	session_free(s);
	s = session_new(sp, &conf);
	conf.out_high = 64;
	buf_reset(&out);
	session_line(s, "LIST ACTIVE");
	session_stop(s, "Server shutting down");
	drain();
	conf.out_high = SESSION_OUT_HIGH;
	ck_assert_int_eq(count_lines(buf_cstr(&out)), 6);
	ck_assert_ptr_null(strstr(buf_cstr(&out), "400"));
}
END_TEST

static Suite *
session_suite(void)
{
	Suite *su = suite_create("session");
	TCase *tc = tcase_create("core");

	tcase_add_unchecked_fixture(tc, fixture_up, fixture_down);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_tables_sorted);
	tcase_add_test(tc, test_capabilities_from_table);
	tcase_add_test(tc, test_help_lists_every_command);
	tcase_add_test(tc, test_greeting_and_mode_reader);
	tcase_add_test(tc, test_date);
	tcase_add_test(tc, test_quit_closes);
	tcase_add_test(tc, test_unknown_and_empty);
	tcase_add_test(tc, test_line_512_ok_513_refused);
	tcase_add_test(tc, test_nul_and_controls);
	tcase_add_test(tc, test_binary_garbage);
	tcase_add_test(tc, test_pipelining_in_order);
	tcase_add_test(tc, test_group);
	tcase_add_test(tc, test_listgroup);
	tcase_add_test(tc, test_next_last);
	tcase_add_test(tc, test_article_codes);
	tcase_add_test(tc, test_body_dot_stuffed_crlf);
	tcase_add_test(tc, test_head_and_article);
	tcase_add_test(tc, test_over);
	tcase_add_test(tc, test_hdr_xhdr);
	tcase_add_test(tc, test_xpat);
	tcase_add_test(tc, test_list_active);
	tcase_add_test(tc, test_list_others);
	tcase_add_test(tc, test_overview_fmt);
	tcase_add_test(tc, test_parse_datetime);
	tcase_add_test(tc, test_newgroups);
	tcase_add_test(tc, test_newnews);
	tcase_add_test(tc, test_streaming_over);
	tcase_add_test(tc, test_streaming_while_spool_refreshes);
	tcase_add_test(tc, test_idle_session_has_no_buffers);
	tcase_add_test(tc, test_stop);
	suite_add_tcase(su, tc);
	return su;
}

int
main(void)
{
	SRunner *sr = srunner_create(session_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
