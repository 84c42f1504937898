/*
 * check_session.c - the NNTP session without sockets: the command table,
 * line framing (512/513 octets, NUL, garbage), the dispatcher's generic
 * checks, every handler's reply codes, dot-stuffing and CRLF, streaming
 * under back-pressure, and the exact answers the client traces in
 * ../shared/client-traces/ expect. Then POST (article framing split at
 * every byte, the size ceiling exactly at and one over, every 441 reason,
 * the headers injected, policy and rate limit), AUTHINFO and STARTTLS,
 * against a fake server (struct session_ops) that records what it is
 * asked and answers now or later.
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

/* --- a fake server for POST, AUTHINFO, STARTTLS ----------------------------- */

static struct {
	bool later;	    /* do not answer now: the test does */
	int posts, auths, tls;
	struct buf text;    /* the last article handed over */
	char msgid[256];
	char user[128], pass[512];
} fk;

static void
fake_post(void *arg, struct session *ss, struct article *a, const char *msgid)
{
	char line[300];

	fk.posts++;
	buf_reset(&fk.text);
	article_render(a, &fk.text); /* as it is to be stored */
	article_free(a);
	(void)str_copy(fk.msgid, sizeof(fk.msgid), msgid);
	if (fk.later)
		return;
	(void)str_printf(line, sizeof(line), "Article received %s", msgid);
	session_post_done(ss, NNTP_OK_POSTED, line);
}

static void
fake_auth(void *arg, struct session *ss, const char *user, const char *pass)
{
	bool ok = strcmp(user, "alice") == 0 && strcmp(pass, "pw with space") == 0;

	fk.auths++;
	(void)str_copy(fk.user, sizeof(fk.user), user);
	(void)str_copy(fk.pass, sizeof(fk.pass), pass);
	if (fk.later)
		return;
	session_auth_done(ss, ok ? NNTP_OK_AUTH : NNTP_FAIL_AUTH,
	    ok ? "Authentication accepted" : "Authentication failed", false);
}

static void
fake_starttls(void *arg, struct session *ss)
{
	fk.tls++;
}

static const struct session_ops fops = {fake_post, fake_auth,
    fake_starttls};
static struct session_server fsrv;

/* A session of a server that takes posts, from a loopback client. */
static void
poster(void)
{
	conf.posting = true;
	memset(&fsrv, 0, sizeof(fsrv));
	fsrv.ops = &fops;
	fsrv.post_policy = SESSION_POST_LOOPBACK;
	fsrv.auth_plaintext = SESSION_PLAIN_LOOPBACK;
	s->srv = &fsrv;
	s->loopback = true;
	(void)str_copy(s->peer, sizeof(s->peer), "127.0.0.1");
	memset(&fk, 0, sizeof(fk));
	buf_init(&fk.text, SIZE_MAX);
}

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
	conf.posting = false;
	buf_free(&fk.text);
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
	ck_assert_ptr_nonnull(session_cmd_find(t, n, "POST"));
	ck_assert_ptr_nonnull(session_cmd_find(t, n, "authinfo"));
	ck_assert_ptr_nonnull(session_cmd_find(t, n, "StartTLS"));
	ck_assert_ptr_null(session_cmd_find(t, n, "IHAVE"));
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
	/* Posting needs a server that takes posts, and the policy. */
	conf.posting = true;
	ck_assert_str_eq(cmd("MODE READER"), "201 Posting prohibited\r\n");
	poster();
	ck_assert_str_eq(cmd("MODE READER"), "200 Posting allowed\r\n");
	buf_reset(&out);
	session_greet(s);
	drain();
	ck_assert_str_eq(buf_cstr(&out),
	    "200 news.example newsgate ready (posting ok)\r\n");
	s->loopback = false;
	ck_assert_str_eq(cmd("MODE READER"), "201 Posting prohibited\r\n");
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
	ck_assert_str_eq(cmd("IHAVE <x@y>"), "500 Unknown command\r\n");
	/* No server to post to (tests, the fuzzer). */
	ck_assert_str_eq(cmd("POST"), "440 Posting not permitted\r\n");
	ck_assert_str_eq(cmd("AUTHINFO USER a"), "502 No accounts here\r\n");
	ck_assert_str_eq(cmd("STARTTLS"), "580 TLS not available\r\n");
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


/* --- POST ------------------------------------------------------------------- */

#define ART_OK                                                              \
	"From: Poster <p@example.invalid>\r\n"                              \
	"Newsgroups: a.b\r\n"                                               \
	"Subject: A follow-up\r\n"                                          \
	"References: <1@test>\r\n"                                          \
	"\r\n"                                                              \
	"First line.\r\n"                                                   \
	"..leading dot\r\n"                                                 \
	"...\r\n"                                                           \
	".\r\n"

/* The Message-ID a 340 reply offers. */
static void
offered(const char *r, char *id, size_t cap)
{
	const char *lt = strrchr(r, '<');

	ck_assert_ptr_nonnull(lt);
	ck_assert(str_copy(id, cap, lt));
	id[strcspn(id, "\r")] = '\0';
}

START_TEST(test_post_flow)
{
	char id[256], want[300];
	const char *r, *t;

	poster();
	r = cmd("POST");
	ck_assert_msg(starts(r, "340 Ok, recommended Message-ID <"), "%s", r);
	offered(r, id, sizeof(id));
	ck_assert_msg(article_msgid_valid(id), "%s", id);
	r = input(ART_OK, strlen(ART_OK));
	ck_assert(str_printf(want, sizeof(want), "240 Article received %s\r\n",
	    id));
	ck_assert_str_eq(r, want);
	ck_assert_int_eq(fk.posts, 1);
	ck_assert_str_eq(fk.msgid, id);
	t = buf_cstr(&fk.text);
	/* Unstuffed, LF line ends, what the client wrote kept. */
	ck_assert_ptr_nonnull(strstr(t, "\n\nFirst line.\n.leading dot\n..\n"));
	ck_assert_ptr_null(strchr(t, '\r'));
	ck_assert(starts(t, "Path: .POSTED.127.0.0.1!not-for-mail\n"));
	ck_assert_ptr_nonnull(strstr(t, "\nReferences: <1@test>\n"));
	ck_assert(str_printf(want, sizeof(want), "\nMessage-ID: %s\n", id));
	ck_assert_ptr_nonnull(strstr(t, want));
	ck_assert_ptr_nonnull(strstr(t, "\nDate: "));
	ck_assert_ptr_nonnull(strstr(t, "\nInjection-Date: "));
	ck_assert_ptr_nonnull(strstr(t, "\nInjection-Info: " HOST
					"; posting-host=\"127.0.0.1\"\n"));
	/* The session goes on; each POST offers a new id. */
	r = cmd("POST");
	ck_assert_msg(strstr(r, id) == NULL, "%s", r);
	/* A valid id of the client's is kept (tin copies the offered one). */
	r = input("Message-ID: <mine@example.invalid>\r\n" ART_OK,
	    strlen("Message-ID: <mine@example.invalid>\r\n" ART_OK));
	ck_assert_str_eq(r, "240 Article received <mine@example.invalid>\r\n");
	ck_assert_str_eq(cmd("GROUP a.b"), "211 5 1 5 a.b\r\n");
	ck_assert_int_eq(s->stats.posts, 2);
}
END_TEST

/* Every split of the input: the "." line and dot-stuffing are found
 * across reads, whatever the boundaries; a bare LF ends lines too. */
START_TEST(test_post_framing_any_split)
{
	static const char art[] = "From: p@example.invalid\r\n"
				  "Newsgroups: a.b\r\n"
				  "Subject: split\r\n"
				  "\r\n"
				  ".\r.x\r\n"
				  "..\n"
				  ".\r\n"
				  "DATE\r\n";
	size_t cut, len = strlen(art);
	const char *r;

	poster();
	for (cut = 0; cut <= len; cut++) {
		ck_assert(starts(cmd("POST"), "340 "));
		r = input(art, cut);
		ck_assert_msg(cut < len - 6 || starts(r, "240 "), "cut %zu: %s",
		    cut, r);
		r = input(art + cut, len - cut);
		ck_assert_int_eq(fk.posts, (int)cut + 1);
		ck_assert_msg(strstr(buf_cstr(&fk.text),
				  "\n\n\r.x\n.\n") != NULL,
		    "cut %zu: %s", cut, buf_cstr(&fk.text));
		ck_assert_msg(strstr(r, "111 ") != NULL || cut == len,
		    "cut %zu: %s", cut, r);
		ck_assert(!s->post.reading);
	}
}
END_TEST

/* max_article_bytes: exactly at the ceiling is taken; one octet over is
 * 441, nothing over the ceiling is ever held, and the session goes on. */
START_TEST(test_post_size_limit)
{
	static const char head[] = "From: p@example.invalid\r\n"
				   "Newsgroups: a.b\r\n"
				   "Subject: big\r\n"
				   "\r\n";
	struct buf art = BUF_INIT(SIZE_MAX);
	const char *r;
	size_t i;

	poster();
	fsrv.max_article_bytes = 4096;
	buf_puts(&art, head);
	while (art.len + 81 <= 4096)
		buf_puts(&art, "0123456789012345678901234567890123456789"
			       "012345678901234567890123456789012345678\r\n");
	while (art.len < 4094)
		buf_putc(&art, 'x');
	buf_puts(&art, "\r\n");
	ck_assert_int_eq(art.len, 4096);
	ck_assert(starts(cmd("POST"), "340 "));
	for (i = 0; i < art.len; i += 100)
		input(art.data + i, art.len - i < 100 ? art.len - i : 100);
	r = input(".\r\n", 3);
	ck_assert_msg(starts(r, "240 "), "%s", r);
	/* One more octet. */
	buf_truncate(&art, art.len - 2);
	buf_puts(&art, "y\r\n");
	ck_assert(starts(cmd("POST"), "340 "));
	for (i = 0; i < art.len; i += 100) {
		input(art.data + i, art.len - i < 100 ? art.len - i : 100);
		ck_assert_int_le(s->post.art.len, 4096);
	}
	ck_assert_ptr_null(s->post.art.data);
	r = input(".\r\nDATE\r\n", 9);
	ck_assert_msg(starts(r, "441 Article too large (max 4096 bytes)\r\n"
				"111 "),
	    "%s", r);
	ck_assert_int_eq(fk.posts, 1);
	buf_free(&art);
}
END_TEST

/* POST an article (without its "." line); the reply. */
static const char *
post(const char *art)
{
	static struct buf b = BUF_INIT(SIZE_MAX);

	ck_assert(starts(cmd("POST"), "340 "));
	buf_reset(&b);
	buf_puts(&b, art);
	buf_puts(&b, ".\r\n");
	return input(b.data, b.len);
}

#define H_FROM "From: p@example.invalid\r\n"
#define H_NG "Newsgroups: a.b\r\n"
#define H_SUBJ "Subject: s\r\n"
#define BODY "\r\nbody\r\n"

START_TEST(test_post_refusals)
{
	struct buf b = BUF_INIT(SIZE_MAX);
	int i;

	poster();
	ck_assert_str_eq(post(H_NG H_SUBJ BODY),
	    "441 Missing From header\r\n");
	ck_assert_str_eq(post(H_FROM H_NG BODY),
	    "441 Missing Subject header\r\n");
	ck_assert_str_eq(post(H_FROM H_SUBJ BODY),
	    "441 Missing Newsgroups header\r\n");
	ck_assert_str_eq(post(H_FROM "Newsgroups: , \r\n" H_SUBJ BODY),
	    "441 Missing Newsgroups header\r\n");
	ck_assert_str_eq(post("From: Nobody\r\n" H_NG H_SUBJ BODY),
	    "441 From: has no address\r\n");
	ck_assert_str_eq(post(H_FROM "Newsgroups: a.b,foo.bar\r\n" H_SUBJ BODY),
	    "441 No such newsgroup: foo.bar\r\n");
	ck_assert_str_eq(post(H_FROM "Newsgroups: ../etc\r\n" H_SUBJ BODY),
	    "441 No such newsgroup: ../etc\r\n");
	ck_assert_str_eq(post(H_FROM "Newsgroups: a.b, c.d\r\n" H_SUBJ BODY),
	    "441 Posting to c.d is not allowed (read-only group)\r\n");
	ck_assert_str_eq(post(H_FROM H_NG H_SUBJ "Message-ID: <no-at>\r\n" BODY),
	    "441 Invalid Message-ID: <no-at>\r\n");
	ck_assert_str_eq(post(H_FROM H_NG H_SUBJ "Date: yesterday\r\n" BODY),
	    "441 Unparseable Date header: yesterday\r\n");
	ck_assert_str_eq(post(H_FROM H_NG H_SUBJ
			     "Date: Fri, 01 Jan 2100 00:00:00 +0000\r\n" BODY),
	    "441 Date header is more than a day in the future\r\n");
	ck_assert_str_eq(post(H_FROM H_NG H_SUBJ
			     "Injection-Info: elsewhere.example\r\n" BODY),
	    "441 Article was already injected (it has an Injection-Info "
	    "header)\r\n");
	ck_assert_str_eq(post(H_FROM H_NG H_SUBJ "Control: cancel <1@test>\r\n"
			     BODY),
	    "441 Control messages are not accepted here\r\n");
	ck_assert_str_eq(post(""), "441 Empty article\r\n");
	/* The parser's reasons (article.c). */
	ck_assert(starts(post(H_FROM H_NG "no colon here\r\n" BODY),
	    "441 Header line without a colon"));
	buf_puts(&b, H_FROM H_NG "Subject: ");
	for (i = 0; i < 1000; i++)
		buf_putc(&b, 'x');
	buf_puts(&b, "\r\n" BODY);
	ck_assert(starts(post(buf_cstr(&b)), "441 Header line over 998 "
					       "octets"));
	buf_reset(&b);
	buf_puts(&b, H_FROM H_NG H_SUBJ);
	for (i = 0; i < ARTICLE_HEADERS_MAX; i++)
		buf_printf(&b, "X-H%d: v\r\n", i);
	buf_puts(&b, BODY);
	ck_assert(starts(post(buf_cstr(&b)), "441 More than 256 header "
					       "fields"));
	ck_assert(starts(cmd("POST"), "340 "));
	ck_assert_str_eq(input(H_FROM H_NG H_SUBJ "\r\nnul \0 byte\r\n.\r\n",
			     sizeof(H_FROM H_NG H_SUBJ) - 1 + 17),
	    "441 NUL byte in article\r\n");
	/* None reached the server; the session goes on. */
	ck_assert_int_eq(fk.posts, 0);
	ck_assert_str_eq(cmd("GROUP a.b"), "211 5 1 5 a.b\r\n");
	/* Headers only (no body, no empty line) and raw UTF-8: fine. */
	ck_assert_msg(starts(post(H_FROM H_NG "Subject: caf\xc3\xa9\r\n"),
			  "240 "),
	    "%s", buf_cstr(&out));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&fk.text), "Subject: caf\xc3\xa9\n"));
	buf_free(&b);
}
END_TEST

/* post_policy, 480 vs 440, and the rate limit. */
START_TEST(test_post_policy_and_rate)
{
	poster();
	fsrv.post_policy = SESSION_POST_NOBODY;
	ck_assert_str_eq(cmd("POST"), "440 Posting not permitted\r\n");
	ck_assert_ptr_null(strstr(cmd("CAPABILITIES"), "POST"));
	fsrv.post_policy = SESSION_POST_AUTHENTICATED;
	ck_assert_str_eq(cmd("POST"),
	    "480 Authentication required for posting\r\n");
	s->authenticated = true;
	ck_assert(starts(cmd("POST"), "340 "));
	ck_assert(starts(input(".\r\n", 3), "441 Empty article"));
	s->authenticated = false;
	fsrv.post_policy = SESSION_POST_LOOPBACK;
	s->loopback = false;
	ck_assert_str_eq(cmd("POST"),
	    "480 Authentication required for posting\r\n");
	s->loopback = true;
	ck_assert_ptr_nonnull(strstr(cmd("CAPABILITIES"), "\r\nPOST\r\n"));
	fsrv.post_policy = SESSION_POST_ANYONE;
	s->loopback = false;
	/* Two per minute: a burst of two, then wait. */
	fsrv.post_rate = 2;
	ck_assert(starts(post(H_FROM H_NG H_SUBJ BODY), "240 "));
	ck_assert(starts(post(H_FROM H_NG H_SUBJ BODY), "240 "));
	ck_assert_msg(starts(cmd("POST"), "440 Posting rate limit reached "
					  "(2 per minute): try again in "),
	    "%s", buf_cstr(&out));
}
END_TEST

/* While the server commits, the session reads and runs nothing more;
 * the pipelined commands follow the 240, in order. */
START_TEST(test_post_waits_for_the_server)
{
	static const char in[] = H_FROM H_NG H_SUBJ BODY ".\r\nDATE\r\n"
				 "GROUP a.b\r\n";
	const char *r;

	poster();
	fk.later = true;
	ck_assert(starts(cmd("POST"), "340 "));
	r = input(in, strlen(in));
	ck_assert_str_eq(r, "");
	ck_assert_int_eq(s->wait, SESSION_WAIT_POST);
	ck_assert_int_eq(session_input_room(s), 0);
	ck_assert(!session_pending(s));
	session_post_done(s, NNTP_FAIL_POST, "Posting failed: disk full");
	ck_assert(session_pending(s));
	drain();
	r = buf_cstr(&out);
	ck_assert_msg(starts(r, "441 Posting failed: disk full\r\n111 "),
	    "%s", r);
	ck_assert_ptr_nonnull(strstr(r, "\r\n211 5 1 5 a.b\r\n"));
}
END_TEST

/* --- AUTHINFO (RFC 4643) ------------------------------------------------------ */

START_TEST(test_authinfo)
{
	poster();
	ck_assert_ptr_nonnull(strstr(cmd("CAPABILITIES"),
	    "\r\nAUTHINFO USER\r\n"));
	ck_assert_str_eq(cmd("AUTHINFO PASS x"),
	    "482 AUTHINFO USER must come first\r\n");
	ck_assert_int_eq(code("AUTHINFO"), NNTP_ERR_SYNTAX);
	ck_assert_int_eq(code("AUTHINFO SASL PLAIN"), NNTP_ERR_SYNTAX);
	ck_assert_str_eq(cmd("AUTHINFO USER alice"), "381 Password required\r\n");
	ck_assert_str_eq(cmd("AUTHINFO PASS wrong"),
	    "481 Authentication failed\r\n");
	/* The password is the rest of the line, spaces and all. */
	ck_assert_str_eq(cmd("authinfo user alice"), "381 Password required\r\n");
	ck_assert_str_eq(cmd("AUTHINFO PASS pw with space"),
	    "281 Authentication accepted\r\n");
	ck_assert_str_eq(fk.pass, "pw with space");
	ck_assert(s->authenticated);
	ck_assert(s->secret_seen);
	/* §2.2: not listed any more, and 502 from now on. */
	ck_assert_ptr_null(strstr(cmd("CAPABILITIES"), "AUTHINFO"));
	ck_assert_str_eq(cmd("AUTHINFO USER bob"), "502 Already authenticated\r\n");
	ck_assert_str_eq(cmd("AUTHINFO PASS x"), "502 Already authenticated\r\n");
	ck_assert_int_eq(fk.auths, 2);
}
END_TEST

/* RFC 4643 §2.2: 483 where plaintext is not allowed. */
START_TEST(test_authinfo_needs_tls)
{
	poster();
	s->loopback = false;
	ck_assert_str_eq(cmd("AUTHINFO USER alice"),
	    "483 Encryption required: use STARTTLS or the TLS port first\r\n");
	ck_assert_ptr_null(strstr(cmd("CAPABILITIES"), "AUTHINFO"));
	fsrv.auth_plaintext = SESSION_PLAIN_YES;
	ck_assert_str_eq(cmd("AUTHINFO USER alice"), "381 Password required\r\n");
	fsrv.auth_plaintext = SESSION_PLAIN_NO;
	s->loopback = true;
	ck_assert_int_eq(code("AUTHINFO PASS pw with space"),
	    NNTP_FAIL_TLS_NEEDED);
	s->tls = true;
	ck_assert_str_eq(cmd("AUTHINFO PASS pw with space"),
	    "281 Authentication accepted\r\n");
}
END_TEST

/* The delayed 481: nothing is read meanwhile. */
START_TEST(test_authinfo_waits_for_the_server)
{
	poster();
	fk.later = true;
	static const char in[] = "AUTHINFO USER alice\r\nAUTHINFO PASS bad\r\n"
				 "DATE\r\n";

	ck_assert_str_eq(input(in, sizeof(in) - 1), "381 Password required\r\n");
	ck_assert_int_eq(s->wait, SESSION_WAIT_AUTH);
	ck_assert_int_eq(session_input_room(s), 0);
	buf_reset(&out);
	session_auth_done(s, NNTP_FAIL_AUTH, "Authentication failed", true);
	drain();
	/* Too many failures: the connection closes after the 481. */
	ck_assert_str_eq(buf_cstr(&out), "481 Authentication failed\r\n");
	ck_assert(s->closing);
}
END_TEST

/* --- STARTTLS (RFC 4642) ------------------------------------------------------ */

START_TEST(test_starttls)
{
	static const char inj[] = "STARTTLS\r\nAUTHINFO PASS pw with space\r\n"
				  "DATE\r\n";
	const char *r;

	poster();
	ck_assert_str_eq(cmd("STARTTLS"), "580 TLS not available\r\n");
	fsrv.tls = true;
	ck_assert_ptr_nonnull(strstr(cmd("CAPABILITIES"), "\r\nSTARTTLS\r\n"));
	ck_assert_str_eq(cmd("AUTHINFO USER alice"), "381 Password required\r\n");
	ck_assert_str_eq(cmd("GROUP a.b"), "211 5 1 5 a.b\r\n");
	/* What follows STARTTLS in the same plaintext is dropped. */
	r = input(inj, sizeof(inj) - 1);
	ck_assert_str_eq(r, "382 Continue with TLS negotiation\r\n");
	ck_assert_int_eq(fk.tls, 1);
	ck_assert_int_eq(s->wait, SESSION_WAIT_TLS);
	ck_assert_int_eq(s->in.len, 0);
	ck_assert_int_eq(session_input_room(s), 0);
	session_tls_done(s);
	ck_assert(s->tls);
	/* Forgotten: the USER, the group. */
	ck_assert_str_eq(cmd("AUTHINFO PASS pw with space"),
	    "482 AUTHINFO USER must come first\r\n");
	ck_assert_int_eq(code("NEXT"), NNTP_FAIL_NO_SELECTED);
	ck_assert_ptr_null(strstr(cmd("CAPABILITIES"), "STARTTLS"));
	ck_assert_str_eq(cmd("STARTTLS"), "502 Already using TLS\r\n");
	ck_assert_int_eq(fk.auths, 0);
	/* After authentication, no STARTTLS either. */
	s->tls = false;
	s->authenticated = true;
	ck_assert_str_eq(cmd("STARTTLS"), "502 Already authenticated\r\n");
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
	tcase_add_test(tc, test_post_flow);
	tcase_add_test(tc, test_post_framing_any_split);
	tcase_add_test(tc, test_post_size_limit);
	tcase_add_test(tc, test_post_refusals);
	tcase_add_test(tc, test_post_policy_and_rate);
	tcase_add_test(tc, test_post_waits_for_the_server);
	tcase_add_test(tc, test_authinfo);
	tcase_add_test(tc, test_authinfo_needs_tls);
	tcase_add_test(tc, test_authinfo_waits_for_the_server);
	tcase_add_test(tc, test_starttls);
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
