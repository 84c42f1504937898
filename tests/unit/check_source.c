/*
 * check_source.c - the input readers: format names and detection, scraped
 * text (the sample article), one message per file, mbox, JSON Lines, and
 * the bad inputs each must report as FILE:LINE and go on after.
 */
#include <sys/stat.h>

#include <check.h>
#include <fcntl.h>
#include <unistd.h>

#include "common.h"
#include "buf.h"
#include "source.h"

/* --- a sink that records every event ---------------------------------- */

enum ev_kind { EV_ITEM, EV_MESSAGE, EV_ERROR };

struct ev {
	enum ev_kind kind;
	unsigned long line;
	char *a;  /* item title, message data, error reason */
	char *b;  /* item text */
	char *c;  /* item section */
	char *id; /* item id */
	char *src, *url;
	time_t date;
};

struct rec {
	struct ev ev[64];
	size_t n;
	size_t total;	/* events seen, kept or not */
	size_t items;	/* items seen */
	int stop_after; /* return -1 after this many events (0: never) */
};

static char *
dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

static struct ev *
rec_add(struct rec *r, enum ev_kind k, unsigned long line)
{
	struct ev *e;

	r->total++;
	if (r->n == NG_NELEM(r->ev))
		return NULL;
	e = &r->ev[r->n++];
	memset(e, 0, sizeof(*e));
	e->kind = k;
	e->line = line;
	return e;
}

static int
rec_item(void *arg, const struct source_pos *pos, const struct item *it)
{
	struct rec *r = arg;
	struct ev *e = rec_add(r, EV_ITEM, pos->line);

	r->items++;
	if (e) {
		e->a = dup_or_null(it->title);
		e->b = dup_or_null(it->text);
		e->c = dup_or_null(it->section);
		e->id = dup_or_null(it->id);
		e->src = dup_or_null(it->source);
		e->url = dup_or_null(it->url);
		e->date = it->date;
	}
	return r->stop_after && (int)r->total >= r->stop_after ? -1 : 0;
}

static int
rec_message(void *arg, const struct source_pos *pos, const char *data,
    size_t len, time_t mtime)
{
	struct rec *r = arg;
	struct ev *e = rec_add(r, EV_MESSAGE, pos->line);

	if (e) {
		e->a = xstrndup(data, len);
		e->date = mtime;
	}
	return r->stop_after && (int)r->total >= r->stop_after ? -1 : 0;
}

static void
rec_error(void *arg, const struct source_pos *pos, const char *reason)
{
	struct rec *r = arg;
	struct ev *e = rec_add(r, EV_ERROR, pos->line);

	if (e)
		e->a = xstrdup(reason);
}

static void
rec_free(struct rec *r)
{
	size_t i;

	for (i = 0; i < r->n; i++) {
		free(r->ev[i].a);
		free(r->ev[i].b);
		free(r->ev[i].c);
		free(r->ev[i].id);
		free(r->ev[i].src);
		free(r->ev[i].url);
	}
	memset(r, 0, sizeof(*r));
}

static char tmpdir[] = "/tmp/check_source.XXXXXX";

/* Write data (len bytes) to a file in the test directory; returns its
 * path (static buffer). */
static const char *
write_file(const char *name, const void *data, size_t len, time_t mtime)
{
	static char path[256];
	struct timespec ts[2];
	FILE *fp;

	ck_assert(str_printf(path, sizeof(path), "%s/%s", tmpdir, name));
	ck_assert_ptr_nonnull(fp = fopen(path, "wb"));
	ck_assert_uint_eq(fwrite(data, 1, len, fp), len);
	ck_assert_int_eq(fclose(fp), 0);
	if (mtime != (time_t)-1) {
		ts[0].tv_sec = ts[1].tv_sec = mtime;
		ts[0].tv_nsec = ts[1].tv_nsec = 0;
		ck_assert_int_eq(utimensat(AT_FDCWD, path, ts, 0), 0);
	}
	return path;
}

static const char *
write_str(const char *name, const char *s)
{
	return write_file(name, s, strlen(s), 1483437600);
}

/* Read path with fmt into r. */
static int
read_into(const char *path, enum source_format fmt, struct rec *r)
{
	struct source_sink sink = {rec_item, rec_message, rec_error, r};

	return source_read_file(path, fmt, &sink);
}

static void
setup(void)
{
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void
teardown(void)
{
	char cmd[300];

	if (str_printf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir))
		ck_assert_int_eq(system(cmd), 0);
	memcpy(tmpdir + strlen(tmpdir) - 6, "XXXXXX", 6);
}

/* --- names and detection ----------------------------------------------- */

START_TEST(test_format_names)
{
	ck_assert_int_eq(source_format_parse(NULL), SOURCE_AUTO);
	ck_assert_int_eq(source_format_parse("jsonl"), SOURCE_JSONL);
	ck_assert_int_eq(source_format_parse("JSON"), SOURCE_JSONL);
	ck_assert_int_eq(source_format_parse("mbox"), SOURCE_MBOX);
	ck_assert_int_eq(source_format_parse("mail"), SOURCE_MAIL);
	ck_assert_int_eq(source_format_parse("text"), SOURCE_TEXT);
	ck_assert_int_eq(source_format_parse("auto"), SOURCE_AUTO);
	ck_assert_int_eq(source_format_parse("rss"), -1);
	ck_assert_str_eq(source_format_name(SOURCE_MBOX), "mbox");
	ck_assert_str_eq(source_format_name(SOURCE_JSONL), "jsonl");
	ck_assert_str_eq(source_format_name((enum source_format)99),
	    "unknown");
}

static enum source_format
detect(const char *s)
{
	return source_detect(s, strlen(s));
}

START_TEST(test_detect)
{
	ck_assert_int_eq(detect("{\"id\": 1}\n"), SOURCE_JSONL);
	ck_assert_int_eq(detect("\xef\xbb\xbf\n  {\"id\": 1}"), SOURCE_JSONL);
	ck_assert_int_eq(detect("From a@b Thu Jan  2 11:09:17 2014\n"),
	    SOURCE_MBOX);
	ck_assert_int_eq(detect("From: a@b.c\nSubject: x\n\nbody\n"),
	    SOURCE_MAIL);
	ck_assert_int_eq(detect("Path: a!b\r\nX-Long: 1\r\n  cont\r\n\r\n"),
	    SOURCE_MAIL);
	ck_assert_int_eq(detect("X-Foo: 1\nNewsgroups: a.b\n"), SOURCE_MAIL);
	ck_assert_int_eq(detect("Pakistan News\n\nHeadline\n"), SOURCE_TEXT);
	/* "Word: text" is a headline style, not a message. */
	ck_assert_int_eq(detect("Update: talks resume\n\nThe talks...\n"),
	    SOURCE_TEXT);
	ck_assert_int_eq(detect("Subject: x\nnot a header line\n"),
	    SOURCE_TEXT);
	ck_assert_int_eq(detect(""), SOURCE_TEXT);
	ck_assert_int_eq(source_detect("\x00\x01\xff", 3), SOURCE_TEXT);
}

/* --- scraped text ------------------------------------------------------ */

START_TEST(test_text_sample)
{
	const char *top = getenv("NEWSGATE_TOP");
	char path[512];
	struct rec r = {0};
	struct stat st;
	struct ev *e;

	ck_assert(str_printf(path, sizeof(path), "%s/%s", top ? top : ".",
	    "contrib/sample/pakistan-news-us-sanctions.txt"));
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(read_into(path, SOURCE_AUTO, &r), 0);
	ck_assert_uint_eq(r.n, 1);
	e = &r.ev[0];
	ck_assert_int_eq(e->kind, EV_ITEM);
	ck_assert_str_eq(e->c, "Pakistan News");
	ck_assert_str_eq(e->a, "United States not considering sanctions on "
			       "Pakistan, assures State Department");
	ck_assert_str_eq(e->id, "pakistan-news-us-sanctions.txt");
	ck_assert_int_eq(e->date, st.st_mtime);
	ck_assert_ptr_null(e->src);
	ck_assert(strncmp(e->b, "ISLAMABAD: The US State Department", 34) ==
	    0);
	/* The headline is not repeated, the navigation is gone. */
	ck_assert_ptr_null(strstr(e->b, "assures State Department"));
	ck_assert_ptr_null(strstr(e->b, "Similar News"));
	ck_assert_ptr_null(strstr(e->b, "Back to top"));
	ck_assert(strstr(e->b, "those efforts continue,\" the spokesman "
			       "said.") != NULL);
	ck_assert_int_eq(e->b[strlen(e->b) - 1], '.');
	ck_assert_ptr_nonnull(strstr(e->b, ".\n\nAccording to"));
	rec_free(&r);
}

START_TEST(test_text_shapes)
{
	struct rec r = {0};

	/* CRLF, repeated headline, short real lines kept, nav block cut. */
	read_into(write_str("a.txt", "\r\nWorld\r\n\r\nHeadline\r\nHeadline\r\n"
				     "\r\nPara one\r\nstill one.\r\n\r\n\r\n"
				     "Comments are closed.\r\n\r\nShort end."
				     "\r\n\r\nRelated News:\r\nSome link\r\n"
				     "Back to top\r\n"),
	    SOURCE_TEXT, &r);
	ck_assert_uint_eq(r.n, 1);
	ck_assert_str_eq(r.ev[0].c, "World");
	ck_assert_str_eq(r.ev[0].a, "Headline");
	ck_assert_str_eq(r.ev[0].b, "Para one\nstill one.\n\nComments are "
				    "closed.\n\nShort end.");
	ck_assert_uint_eq(r.ev[0].line, 2);
	rec_free(&r);
	/* One line alone: a headline without a section. */
	read_into(write_str("b.txt", "Only a headline\n"), SOURCE_TEXT, &r);
	ck_assert_str_eq(r.ev[0].a, "Only a headline");
	ck_assert_ptr_null(r.ev[0].c);
	ck_assert_str_eq(r.ev[0].b, "");
	rec_free(&r);
}

START_TEST(test_text_bad)
{
	static const char bin[] = "Sec\nTitle\n\ntext\0more\n";
	struct rec r = {0};
	char garbage[2048];
	size_t i;

	read_into(write_str("u.txt", "Section\nTitle\n\nok\nbad \xc3\x28 here\n"),
	    SOURCE_AUTO, &r);
	ck_assert_uint_eq(r.n, 1);
	ck_assert_int_eq(r.ev[0].kind, EV_ERROR);
	ck_assert_uint_eq(r.ev[0].line, 5);
	ck_assert_str_eq(r.ev[0].a, "invalid UTF-8 in article text");
	rec_free(&r);
	read_into(write_file("n.txt", bin, sizeof(bin) - 1, 1), SOURCE_AUTO,
	    &r);
	ck_assert_int_eq(r.ev[0].kind, EV_ERROR);
	ck_assert_uint_eq(r.ev[0].line, 4);
	ck_assert_str_eq(r.ev[0].a, "NUL byte in article text");
	rec_free(&r);
	read_into(write_str("e.txt", "\n \n"), SOURCE_AUTO, &r);
	ck_assert_int_eq(r.ev[0].kind, EV_ERROR);
	rec_free(&r);
	/* Binary garbage: detected as text, refused, nothing crashes. */
	for (i = 0; i < sizeof(garbage); i++)
		garbage[i] = (char)((i * 7919 + 13) % 256);
	read_into(write_file("g.bin", garbage, sizeof(garbage), 1),
	    SOURCE_AUTO, &r);
	ck_assert_uint_eq(r.n, 1);
	ck_assert_int_eq(r.ev[0].kind, EV_ERROR);
	rec_free(&r);
}

START_TEST(test_unreadable)
{
	struct rec r = {0};

	ck_assert_int_eq(read_into("/nonexistent/file.txt", SOURCE_AUTO, &r),
	    0);
	ck_assert_uint_eq(r.n, 1);
	ck_assert_int_eq(r.ev[0].kind, EV_ERROR);
	ck_assert_ptr_nonnull(strstr(r.ev[0].a, "cannot open"));
	rec_free(&r);
	ck_assert_int_eq(read_into(tmpdir, SOURCE_AUTO, &r), 0);
	ck_assert_str_eq(r.ev[0].a, "is a directory");
	rec_free(&r);
}

/* --- one message per file ------------------------------------------- */

START_TEST(test_mail)
{
	const char *msg = "From: a@b.c\nSubject: Hi\nMessage-ID: <x@y>\n\nBody\n";
	struct rec r = {0};

	read_into(write_str("m.eml", msg), SOURCE_AUTO, &r);
	ck_assert_uint_eq(r.n, 1);
	ck_assert_int_eq(r.ev[0].kind, EV_MESSAGE);
	ck_assert_str_eq(r.ev[0].a, msg);
	ck_assert_uint_eq(r.ev[0].line, 1);
	ck_assert_int_eq(r.ev[0].date, 1483437600);
	rec_free(&r);
}

/* --- mbox ------------------------------------------------------------ */

START_TEST(test_mbox)
{
	const char *mbox =
	    "From alice@example.com Thu Jan  2 11:09:17 2014\n"
	    "From: alice@example.com\n"
	    "Subject: one\n"
	    "\n"
	    "Hello\n"
	    ">From the quoted line\n"
	    ">>From twice quoted\n"
	    "From inside a paragraph is not a separator\n"
	    "\n"
	    "From bob@example.com Fri Jan  3 12:00:00 2014\n"
	    "From: bob@example.com\n"
	    "Subject: headers only\n"
	    "\n"
	    "From carol@example.com Sat Jan  4 00:00:00 2014\n"
	    "From: carol@example.com\n"
	    "Subject: three\n"
	    "\n"
	    "Last\n";
	struct rec r = {0};

	ck_assert_int_eq(read_into(write_str("box", mbox), SOURCE_AUTO, &r), 0);
	ck_assert_uint_eq(r.n, 3);
	ck_assert_int_eq(r.ev[0].kind, EV_MESSAGE);
	ck_assert_uint_eq(r.ev[0].line, 1);
	ck_assert_str_eq(r.ev[0].a, "From: alice@example.com\nSubject: one\n\n"
				    "Hello\nFrom the quoted line\n>From twice "
				    "quoted\nFrom inside a paragraph is not a "
				    "separator\n");
	ck_assert_int_eq(r.ev[0].date, 1388660957);
	ck_assert_uint_eq(r.ev[1].line, 10);
	ck_assert_str_eq(r.ev[1].a, "From: bob@example.com\nSubject: headers "
				    "only\n\n");
	ck_assert_uint_eq(r.ev[2].line, 14);
	ck_assert_str_eq(r.ev[2].a, "From: carol@example.com\nSubject: three\n"
				    "\nLast\n");
	rec_free(&r);
}

START_TEST(test_mbox_truncated)
{
	const char *mbox = "From a Thu Jan  2 11:09:17 2014\n"
			   "Subject: ok\n\nbody\n\n"
			   "From b Thu Jan  2 11:09:17 2014\n"
			   "Subject: cut\n"
			   "From: b@exa";
	struct rec r = {0};

	read_into(write_str("cut", mbox), SOURCE_MBOX, &r);
	ck_assert_uint_eq(r.n, 2);
	ck_assert_int_eq(r.ev[0].kind, EV_MESSAGE);
	ck_assert_int_eq(r.ev[1].kind, EV_ERROR);
	ck_assert_uint_eq(r.ev[1].line, 6);
	ck_assert_str_eq(r.ev[1].a, "truncated message: no empty line after "
				    "the headers");
	rec_free(&r);
	/* Forced mbox on something else: the junk is reported once. */
	read_into(write_str("junk", "hello\nworld\n"), SOURCE_MBOX, &r);
	ck_assert_uint_eq(r.n, 1);
	ck_assert_int_eq(r.ev[0].kind, EV_ERROR);
	ck_assert_uint_eq(r.ev[0].line, 1);
	rec_free(&r);
}

START_TEST(test_mbox_stop)
{
	const char *mbox = "From a Thu Jan  2 11:09:17 2014\nS: 1\n\nb\n\n"
			   "From a Thu Jan  2 11:09:17 2014\nS: 2\n\nb\n\n"
			   "From a Thu Jan  2 11:09:17 2014\nS: 3\n\nb\n";
	struct rec r = {0};

	r.stop_after = 2;
	ck_assert_int_eq(read_into(write_str("s", mbox), SOURCE_MBOX, &r), -1);
	ck_assert_uint_eq(r.n, 2);
	rec_free(&r);
}

/* --- JSON Lines ------------------------------------------------------- */

START_TEST(test_jsonl)
{
	const char *in =
	    "{\"id\": \"351\", \"date\": \"2014-03-10T00:00:00Z\", \"title\": "
	    "\"Metro-North employee killed\", \"text\": \"\", \"source\": "
	    "\"WFSB\", \"lang\": \"en\", \"story\": \"dEMA\", \"category\": "
	    "\"b\"}\n"
	    "\n"
	    "{\"id\": 7, \"title\": \"Caf\\u00e9\", \"text\": \"a\\n\\nb\", "
	    "\"url\": \"http://x/1\", \"section\": \"World\", \"date\": "
	    "\"2014-03-10T05:30:00+05:30\"}\r\n"
	    "{\"title\": \"no date\", \"date\": null}\n"
	    "{\"title\": \"t\", \"date\": \"2014-03-10 01:02:03.5\"}\n"
	    "{\"title\": \"t\", \"date\": \"Mon, 10 Mar 2014 00:00:00 "
	    "+0000\"}";
	struct rec r = {0};

	ck_assert_int_eq(read_into(write_str("a.jsonl", in), SOURCE_AUTO, &r),
	    0);
	ck_assert_uint_eq(r.n, 5);
	ck_assert_int_eq(r.ev[0].kind, EV_ITEM);
	ck_assert_str_eq(r.ev[0].id, "351");
	ck_assert_str_eq(r.ev[0].a, "Metro-North employee killed");
	ck_assert_str_eq(r.ev[0].b, "");
	ck_assert_str_eq(r.ev[0].src, "WFSB");
	ck_assert_ptr_null(r.ev[0].url);
	ck_assert_int_eq(r.ev[0].date, 1394409600);
	ck_assert_uint_eq(r.ev[0].line, 1);
	ck_assert_str_eq(r.ev[1].id, "7");
	ck_assert_str_eq(r.ev[1].a, "Caf\xc3\xa9");
	ck_assert_str_eq(r.ev[1].b, "a\n\nb");
	ck_assert_str_eq(r.ev[1].url, "http://x/1");
	ck_assert_str_eq(r.ev[1].c, "World");
	ck_assert_int_eq(r.ev[1].date, 1394409600);
	ck_assert_uint_eq(r.ev[1].line, 3);
	/* No date: the file's mtime. */
	ck_assert_int_eq(r.ev[2].date, 1483437600);
	ck_assert_int_eq(r.ev[3].date, 1394413323);
	ck_assert_int_eq(r.ev[4].date, 1394409600);
	rec_free(&r);
}

START_TEST(test_jsonl_bad_lines)
{
	struct buf in = BUF_INIT(SIZE_MAX);
	struct rec r = {0};
	size_t i;

	buf_puts(&in, "{\"title\": \"ok 1\"}\n");
	buf_puts(&in, "{\"title\": \"broken\n");	      /* 2: bad JSON */
	buf_puts(&in, "[1, 2]\n");		      /* 3: not an object */
	buf_puts(&in, "{\"title\": \"bad \xff utf8\"}\n"); /* 4 */
	buf_puts(&in, "{\"title\": 42}\n");	      /* 5: wrong type */
	buf_puts(&in, "{\"title\": \"x\", \"date\": \"soon\"}\n"); /* 6 */
	buf_puts(&in, "{\"title\": \"a\", \"title\": \"b\"}\n");    /* 7 */
	buf_puts(&in, "{\"title\": \"");			       /* 8 */
	for (i = 0; i < SOURCE_RECORD_MAX; i++)
		buf_putc(&in, 'x');
	buf_puts(&in, "\"}\n");
	buf_puts(&in, "{\"title\": \"nul\\u0000\"}\n"); /* 9 */
	buf_puts(&in, "{\"title\": \"ok 2\"}\n");       /* 10 */
	read_into(write_file("bad.jsonl", in.data, in.len, 1), SOURCE_AUTO,
	    &r);
	ck_assert_uint_eq(r.n, 10);
	ck_assert_int_eq(r.ev[0].kind, EV_ITEM);
	for (i = 1; i < 9; i++) {
		ck_assert_int_eq(r.ev[i].kind, EV_ERROR);
		ck_assert_uint_eq(r.ev[i].line, i + 1);
	}
	ck_assert(strncmp(r.ev[1].a, "bad JSON: ", 10) == 0);
	ck_assert_str_eq(r.ev[2].a, "not a JSON object");
	ck_assert_str_eq(r.ev[3].a, "invalid UTF-8");
	ck_assert_str_eq(r.ev[4].a, "title: not a string");
	ck_assert_str_eq(r.ev[5].a, "date: cannot parse \"soon\"");
	ck_assert_str_eq(r.ev[7].a, "line over 1048576 octets");
	ck_assert_int_eq(r.ev[9].kind, EV_ITEM);
	ck_assert_str_eq(r.ev[9].a, "ok 2");
	ck_assert_uint_eq(r.ev[9].line, 10);
	buf_free(&in);
	rec_free(&r);
}

START_TEST(test_jsonl_mailing_list)
{
	const char *in =
	    "{\"id\": \"52C5.4010504@gmail.com\", \"date\": "
	    "\"2014-01-02T12:00:40Z\", \"subject\": \"[Rd] Symlinks\", "
	    "\"from\": \"murdoch.duncan at gmail.com (Duncan Murdoch)\", "
	    "\"body\": \"On 14-01-02 wrote:\\n> quoted\\n\\nreply\", "
	    "\"thread\": \"x\", \"parent\": \"CAK9@mail.gmail.com\"}\n"
	    "{\"id\": \"root@x\", \"subject\": \"Caf\\u00e9\", \"from\": "
	    "\"a@b.c\", \"body\": \"b\", \"parent\": null}\n";
	struct rec r = {0};

	read_into(write_str("ml.jsonl", in), SOURCE_AUTO, &r);
	ck_assert_uint_eq(r.n, 2);
	ck_assert_int_eq(r.ev[0].kind, EV_MESSAGE);
	ck_assert_str_eq(r.ev[0].a,
	    "Message-ID: <52C5.4010504@gmail.com>\n"
	    "From: Duncan Murdoch <murdoch.duncan@gmail.com>\n"
	    "Subject: [Rd] Symlinks\n"
	    "Date: Thu, 02 Jan 2014 12:00:40 +0000\n"
	    "References: <CAK9@mail.gmail.com>\n"
	    "MIME-Version: 1.0\n"
	    "Content-Type: text/plain; charset=UTF-8\n"
	    "Content-Transfer-Encoding: 8bit\n\n"
	    "On 14-01-02 wrote:\n> quoted\n\nreply");
	ck_assert_int_eq(r.ev[0].date, 1388664040);
	ck_assert_ptr_nonnull(strstr(r.ev[1].a, "Message-ID: <root@x>\n"
						"From: a@b.c\nSubject: "
						"=?UTF-8?Q?Caf=C3=A9?=\nDate: "));
	ck_assert_ptr_null(strstr(r.ev[1].a, "References"));
	ck_assert_uint_eq(r.ev[1].line, 2);
	rec_free(&r);
}

/* The real corpus, when this machine has it (it is never copied into the
 * project): every line becomes an item. */
START_TEST(test_jsonl_corpus)
{
	const char *top = getenv("NEWSGATE_TOP");
	char path[4096];
	struct rec r = {0};
	size_t errors = 0, i;

	/* shared/ sits beside the project, in CI too. */
	str_printf(path, sizeof(path), "%s/../shared/corpus/stories-dev.jsonl",
	    top ? top : ".");
	if (access(path, R_OK) != 0) {
		printf("test_jsonl_corpus: skipped, no %s\n", path);
		return;
	}
	ck_assert_int_eq(read_into(path, SOURCE_AUTO, &r), 0);
	for (i = 0; i < r.n; i++)
		errors += r.ev[i].kind == EV_ERROR;
	ck_assert_uint_eq(errors, 0);
	ck_assert_uint_eq(r.items, 142358);
	rec_free(&r);
}

static Suite *
source_suite(void)
{
	Suite *s = suite_create("source");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_format_names);
	tcase_add_test(tc, test_detect);
	tcase_add_test(tc, test_text_sample);
	tcase_add_test(tc, test_text_shapes);
	tcase_add_test(tc, test_text_bad);
	tcase_add_test(tc, test_unreadable);
	tcase_add_test(tc, test_mail);
	tcase_add_test(tc, test_mbox);
	tcase_add_test(tc, test_mbox_truncated);
	tcase_add_test(tc, test_mbox_stop);
	tcase_add_test(tc, test_jsonl);
	tcase_add_test(tc, test_jsonl_bad_lines);
	tcase_add_test(tc, test_jsonl_mailing_list);
	suite_add_tcase(s, tc);
	/* Slow under sanitizers: 142,358 lines. */
	tc = tcase_create("corpus");
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_jsonl_corpus);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(source_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
