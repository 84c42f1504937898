/*
 * check_article.c - the article module: parsing limits, the header list,
 * rendering and folding, RFC 2047, dates, Message-IDs, From, fingerprint.
 */
#include <check.h>

#include "common.h"
#include "article.h"

static struct article *
parse_ok(const char *text)
{
	struct buf why = BUF_INIT(1024);
	struct article *a = NULL;

	ck_assert_msg(article_parse(text, strlen(text), &a, &why) == 0,
	    "refused: %s", buf_cstr(&why));
	buf_free(&why);
	return a;
}

/* Parse data (len bytes) expecting a refusal whose reason contains want. */
static void
parse_refused(const char *data, size_t len, const char *want)
{
	struct buf why = BUF_INIT(1024);
	struct article *a = NULL;

	ck_assert_int_eq(article_parse(data, len, &a, &why), -1);
	ck_assert_ptr_null(a);
	ck_assert_msg(strstr(buf_cstr(&why), want) != NULL,
	    "reason \"%s\" lacks \"%s\"", buf_cstr(&why), want);
	buf_free(&why);
}

static char *
render(const struct article *a)
{
	struct buf out = BUF_INIT(SIZE_MAX);

	article_render(a, &out);
	ck_assert_int_eq(out.err, 0);
	return buf_steal(&out);
}

static size_t
longest_line(const char *s)
{
	size_t max = 0, n;
	const char *nl;

	for (; *s; s = nl + 1) {
		if ((nl = strchr(s, '\n')) == NULL)
			nl = s + strlen(s) - 1;
		n = (size_t)(nl - s);
		if (n > max)
			max = n;
	}
	return max;
}

/* A header line "X: vvv...", exactly n octets. */
static char *
header_line(size_t n, char fill)
{
	char *s = xmalloc(n + 1);

	memcpy(s, "X: ", 3);
	memset(s + 3, fill, n - 3);
	s[n] = '\0';
	return s;
}

START_TEST(test_parse_basic_lf_and_crlf)
{
	const char *lf = "From: a@b.c\nSubject: Hello\n  world\nX-A: 1\n"
			 "x-a: 2\n\nBody line\n\nlast\n";
	const char *crlf = "From: a@b.c\r\nSubject: Hello\r\n  world\r\n"
			   "X-A: 1\r\nx-a: 2\r\n\r\nBody line\r\n\r\nlast\r\n";
	struct article *a = parse_ok(lf), *b = parse_ok(crlf);

	ck_assert_int_eq(a->nhdrs, 4);
	ck_assert_str_eq(a->hdrs[1].name, "Subject");
	ck_assert_str_eq(a->hdrs[1].value, "Hello  world");
	ck_assert_str_eq(article_get(a, "subject"), "Hello  world");
	ck_assert_str_eq(article_get(a, "X-A"), "1");
	ck_assert_str_eq(a->body, "Body line\n\nlast\n");
	ck_assert_int_eq(b->nhdrs, 4);
	ck_assert_str_eq(b->hdrs[1].value, "Hello  world");
	ck_assert_str_eq(b->body, a->body);
	ck_assert_int_eq(article_body_lines(a), 3);
	article_free(a);
	article_free(b);
}

START_TEST(test_parse_empty_body_and_utf8_header)
{
	struct article *a = parse_ok("Subject: Caf\xc3\xa9\n\n");

	ck_assert_str_eq(article_get(a, "Subject"), "Caf\xc3\xa9");
	ck_assert_int_eq(a->body_len, 0);
	ck_assert_int_eq(article_body_lines(a), 0);
	article_free(a);
	a = parse_ok("Subject: x\n\nno final newline");
	ck_assert_str_eq(a->body, "no final newline\n");
	article_free(a);
}

START_TEST(test_parse_refusals)
{
	static const char nul[] = "Subject: a\0b\n\nbody\n";

	parse_refused(nul, sizeof(nul) - 1, "NUL");
	parse_refused("Subject: x\nno colon here\n\nb\n", 26, "without a colon");
	parse_refused("Subject: x\nFrom: y\n", 19, "No empty line");
	parse_refused("", 0, "Empty");
	parse_refused(" folded: x\n\nb\n", 14, "Continuation");
	parse_refused("Bad Name: x\n\nb\n", 15, "Invalid header name");
}

START_TEST(test_parse_line_limits)
{
	struct buf in = BUF_INIT(SIZE_MAX);
	struct article *a;
	char *h;

	/* Exactly 998 octets passes, with LF or CRLF. */
	h = header_line(ARTICLE_LINE_MAX, 'v');
	buf_printf(&in, "%s\r\n\r\nbody\r\n", h);
	a = parse_ok(buf_cstr(&in));
	ck_assert_int_eq(strlen(article_get(a, "X")), ARTICLE_LINE_MAX - 3);
	article_free(a);
	free(h);
	/* 999 octets is refused. */
	buf_reset(&in);
	h = header_line(ARTICLE_LINE_MAX + 1, 'v');
	buf_printf(&in, "%s\n\nbody\n", h);
	parse_refused(in.data, in.len, "Header line over 998 octets");
	free(h);
	/* A 5,000-byte header line. */
	buf_reset(&in);
	h = header_line(5000, 'v');
	buf_printf(&in, "Subject: s\n%s\n\nbody\n", h);
	parse_refused(in.data, in.len, "Header line over 998 octets");
	free(h);
	/* Body lines. */
	buf_reset(&in);
	buf_puts(&in, "Subject: s\n\n");
	for (int i = 0; i < ARTICLE_LINE_MAX; i++)
		buf_putc(&in, 'b');
	buf_puts(&in, "\n");
	a = parse_ok(buf_cstr(&in));
	article_free(a);
	buf_truncate(&in, in.len - 1);
	buf_puts(&in, "b\n");
	parse_refused(in.data, in.len, "Body line over 998 octets");
	buf_free(&in);
}

START_TEST(test_parse_header_count)
{
	struct buf in = BUF_INIT(SIZE_MAX);
	struct article *a;
	int i;

	for (i = 0; i < ARTICLE_HEADERS_MAX; i++)
		buf_printf(&in, "X-%d: v\n", i);
	buf_puts(&in, "\nbody\n");
	a = parse_ok(buf_cstr(&in));
	ck_assert_int_eq(a->nhdrs, ARTICLE_HEADERS_MAX);
	article_free(a);
	buf_reset(&in);
	for (i = 0; i <= ARTICLE_HEADERS_MAX; i++)
		buf_printf(&in, "X-%d: v\n", i);
	buf_puts(&in, "\nbody\n");
	parse_refused(in.data, in.len, "More than 256 header");
	buf_free(&in);
}

START_TEST(test_header_list_edits)
{
	struct article *a = article_new();

	article_set(a, "Subject", "one");
	article_set(a, "From", "a@b.c");
	article_prepend(a, "Path", "host!not-for-mail");
	article_prepend(a, "Subject", "dup");
	ck_assert_str_eq(a->hdrs[0].name, "Subject");
	article_set(a, "SUBJECT", "two");
	ck_assert_int_eq(a->nhdrs, 3);
	ck_assert_str_eq(a->hdrs[0].value, "two");
	ck_assert_str_eq(a->hdrs[0].name, "Subject");
	article_del(a, "path");
	ck_assert_ptr_null(article_get(a, "Path"));
	ck_assert_int_eq(a->nhdrs, 2);
	article_set_body(a, xstrdup("text\n\n\n"), 7);
	ck_assert_str_eq(a->body, "text\n");
	ck_assert_int_eq(a->body_len, 5);
	article_free(a);
	article_free(NULL);
}

START_TEST(test_render_roundtrip)
{
	const char *in = "Path: h!not-for-mail\nSubject: Hello\n\tthere\n"
			 "From: a@b.c\n\nline 1\n\nline 3\n\n\n";
	struct article *a = parse_ok(in), *b;
	char *out = render(a), *out2;

	ck_assert_str_eq(out, "Path: h!not-for-mail\nSubject: Hello\tthere\n"
			      "From: a@b.c\n\nline 1\n\nline 3\n");
	b = parse_ok(out);
	out2 = render(b);
	ck_assert_str_eq(out, out2);
	free(out);
	free(out2);
	article_free(a);
	article_free(b);
	/* No body: headers, the empty line, nothing more. */
	a = article_new();
	article_set(a, "Subject", "x");
	out = render(a);
	ck_assert_str_eq(out, "Subject: x\n\n");
	free(out);
	article_free(a);
}

START_TEST(test_render_folds_long_headers)
{
	struct buf v = BUF_INIT(SIZE_MAX);
	struct article *a = article_new(), *b;
	char *out, *nows;
	int i;

	for (i = 0; i < 60; i++)
		buf_printf(&v, "<id%d.%d@example.com> ", i, i * 7919);
	buf_truncate(&v, v.len - 1);
	article_set(a, "References", buf_cstr(&v));
	nows = header_line(3000, 'z');
	article_set(a, "X-Long", nows + 3);
	article_set(a, "Newsgroups", "a.b,c.d");
	article_set(a, "X-Evil", "one\r\ntwo\nFrom: forged");
	out = render(a);
	ck_assert_uint_le(longest_line(out), ARTICLE_LINE_MAX);
	/* References folded at white space, lines within 78. */
	ck_assert_ptr_nonnull(strstr(out, "example.com>\n <id"));
	b = parse_ok(out);
	ck_assert_str_eq(article_get(b, "References"), buf_cstr(&v));
	ck_assert_str_eq(article_get(b, "Newsgroups"), "a.b,c.d");
	ck_assert_str_eq(article_get(b, "X-Evil"), "one  two From: forged");
	ck_assert_ptr_null(article_get(b, "From"));
	/* Cut only as the last resort: one line of 998, then the rest. */
	ck_assert_uint_ge(strlen(article_get(b, "X-Long")), 2997);
	free(out);
	free(nows);
	buf_free(&v);
	article_free(a);
	article_free(b);
}

START_TEST(test_render_fold_lines_within_78)
{
	struct article *a = article_new();
	char *out, *s, *nl;

	article_set(a, "Subject",
	    "The quick brown fox jumps over the lazy dog and keeps on "
	    "running through the field until the sun goes down over the "
	    "hills far away");
	out = render(a);
	for (s = out; (nl = strchr(s, '\n')) != NULL && nl > s; s = nl + 1)
		ck_assert_uint_le((size_t)(nl - s), 78);
	ck_assert_ptr_nonnull(strchr(out, '\n') + 1);
	ck_assert_int_eq(out[strlen("Subject: ")], 'T');
	ck_assert_ptr_nonnull(strstr(out, "\n "));
	free(out);
	article_free(a);
}

/* Strict UTF-8: no stray continuation bytes, no cut sequences. */
static bool
utf8_ok(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	int need = 0;

	for (; *p; p++) {
		if (need > 0) {
			if ((*p & 0xc0) != 0x80)
				return false;
			need--;
		} else if (*p >= 0xf0) {
			need = 3;
		} else if (*p >= 0xe0) {
			need = 2;
		} else if (*p >= 0xc0) {
			need = 1;
		} else if (*p >= 0x80) {
			return false;
		}
	}
	return need == 0;
}

/* Every encoded-word of s is at most 75 octets and decodes to valid
 * UTF-8 on its own. */
static void
check_words(const char *s)
{
	const char *p = s, *e;
	struct buf d = BUF_INIT(SIZE_MAX);
	char w[128];

	while ((p = strstr(p, "=?")) != NULL) {
		e = strstr(p + 10, "?=");
		ck_assert_ptr_nonnull(e);
		ck_assert_uint_le((size_t)(e + 2 - p), 75);
		memcpy(w, p, (size_t)(e + 2 - p));
		w[e + 2 - p] = '\0';
		buf_reset(&d);
		article_decode_words(w, &d);
		ck_assert_msg(utf8_ok(buf_cstr(&d)), "bad UTF-8 in %s", w);
		p = e + 2;
	}
	buf_free(&d);
}

START_TEST(test_rfc2047_roundtrip)
{
	static const char *const texts[] = {
	    "Plain ASCII subject",
	    "Caf\xc3\xa9 au lait",
	    "Pakistan\xe2\x80\x99s neighbours and \xe2\x80\x9cquotes\xe2\x80\x9d",
	    "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82 \xd0\xbc\xd0\xb8"
	    "\xd1\x80 \xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82 \xd0\xbc"
	    "\xd0\xb8\xd1\x80 \xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82 "
	    "\xd0\xbc\xd0\xb8\xd1\x80 \xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5",
	    "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe3\x83\x8b\xe3"
	    "\x83\xa5\xe3\x83\xbc\xe3\x82\xb9\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa"
	    "\x9e\xe3\x81\xae\xe3\x83\x8b\xe3\x83\xa5\xe3\x83\xbc\xe3\x82\xb9"
	    "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
	    "Looks =?like?= a word",
	    "a_b=c?d \xc3\xa9\xc3\xa9\xc3\xa9 x=y",
	    "emoji \xf0\x9f\x98\x80 end",
	};
	struct buf enc = BUF_INIT(SIZE_MAX), dec = BUF_INIT(SIZE_MAX);
	size_t i;

	for (i = 0; i < NG_NELEM(texts); i++) {
		buf_reset(&enc);
		buf_reset(&dec);
		article_encode_words(texts[i], &enc);
		for (const char *c = buf_cstr(&enc); *c; c++)
			ck_assert((unsigned char)*c < 0x7f);
		check_words(buf_cstr(&enc));
		article_decode_words(buf_cstr(&enc), &dec);
		ck_assert_str_eq(buf_cstr(&dec), texts[i]);
	}
	buf_reset(&enc);
	article_encode_words("Plain ASCII subject", &enc);
	ck_assert_str_eq(buf_cstr(&enc), "Plain ASCII subject");
	buf_reset(&enc);
	article_encode_words("Caf\xc3\xa9 au lait", &enc);
	ck_assert_str_eq(buf_cstr(&enc), "=?UTF-8?Q?Caf=C3=A9?= au lait");
	buf_free(&enc);
	buf_free(&dec);
}

START_TEST(test_rfc2047_decode)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
	    {"=?ISO-8859-1?Q?caf=E9?= noir", "caf\xc3\xa9 noir"},
	    {"=?utf-8?B?w6k=?= =?utf-8?B?w6k=?=", "\xc3\xa9\xc3\xa9"},
	    {"Re: =?utf-8?q?a_b?=  tail", "Re: a b  tail"},
	    {"broken =?utf-8?X?abc?= word", "broken =?utf-8?X?abc?= word"},
	    {"unterminated =?utf-8?q?abc", "unterminated =?utf-8?q?abc"},
	    {"raw caf\xc3\xa9 stays", "raw caf\xc3\xa9 stays"},
	    {"=?utf-8?q?line=0Abreak?=", "line break"},
	};
	struct buf dec = BUF_INIT(SIZE_MAX);
	size_t i;

	for (i = 0; i < NG_NELEM(cases); i++) {
		buf_reset(&dec);
		article_decode_words(cases[i].in, &dec);
		ck_assert_str_eq(buf_cstr(&dec), cases[i].out);
	}
	buf_free(&dec);
}

START_TEST(test_encode_phrase)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
	    {"Pakistan News", "Pakistan News"},
	    {"Dawn.com", "\"Dawn.com\""},
	    {"Say \"hi\"", "\"Say \\\"hi\\\"\""},
	    {"Caf\xc3\xa9 Society", "=?UTF-8?Q?Caf=C3=A9_Society?="},
	    {"", "\"\""},
	};
	struct buf out = BUF_INIT(SIZE_MAX);
	size_t i;

	for (i = 0; i < NG_NELEM(cases); i++) {
		buf_reset(&out);
		article_encode_phrase(cases[i].in, &out);
		ck_assert_str_eq(buf_cstr(&out), cases[i].out);
		buf_puts(&out, " <a@b.c>");
		ck_assert(i == 4 || article_from_valid(buf_cstr(&out)));
	}
	buf_free(&out);
}

START_TEST(test_dates)
{
	char d[40];

	ck_assert_int_eq(article_parse_date("Tue, 03 Jan 2017 10:00:00 +0000"),
	    1483437600);
	ck_assert_int_eq(article_parse_date("Tue, 03 Jan 2017 11:30:00 +0130"),
	    1483437600);
	ck_assert_int_eq(article_parse_date("3 Jan 2017 05:00:00 -0500"),
	    1483437600);
	ck_assert_int_eq(
	    article_parse_date("Tue, 3 Jan 2017 10:00:00 +0000 (UTC)"),
	    1483437600);
	ck_assert_int_eq(article_parse_date("3 Jan 17 10:00:00 GMT"),
	    1483437600);
	ck_assert_int_eq(article_parse_date("yesterday"), -1);
	ck_assert_int_eq(article_parse_date(""), -1);
	ck_assert_int_eq(article_parse_date("3 Foo 2017 10:00:00 +0000"), -1);
	article_format_date(1483437600, d, sizeof(d));
	ck_assert_str_eq(d, "Tue, 03 Jan 2017 10:00:00 +0000");
	ck_assert_int_eq(article_parse_date(d), 1483437600);
	article_format_date(0, d, sizeof(d));
	ck_assert_str_eq(d, "Thu, 01 Jan 1970 00:00:00 +0000");
}

START_TEST(test_msgid_valid)
{
	static const char *const good[] = {"<a@b>", "<abc.def@example.com>",
	    "<CAK9jXVUkF2bodVVJ+WHoDt5=QAuzRwYdoPPxDiE6A4FX9FAyaQ@mail.gmail.com>",
	    "<\"quoted@left\"@host>", "<x@[127.0.0.1]>",
	    "<0123456789abcdef.01234567@news.example>"};
	static const char *const bad[] = {"", "a@b", "<a@b", "<ab>", "<@b>",
	    "<a@>", "<a b@c>", "<a..b@c>", "<.a@c>", "<a@b>x", "<a@b@c>",
	    "<a>b@c>", "<caf\xc3\xa9@b>", "<a@[b]c>", "<a@b\t>"};
	char big[300];
	size_t i;

	for (i = 0; i < NG_NELEM(good); i++)
		ck_assert_msg(article_msgid_valid(good[i]), "%s", good[i]);
	for (i = 0; i < NG_NELEM(bad); i++)
		ck_assert_msg(!article_msgid_valid(bad[i]), "%s", bad[i]);
	/* 250 octets is the maximum. */
	memset(big, 'a', sizeof(big));
	big[0] = '<';
	memcpy(big + 244, "@b.cd>", 6);
	big[250] = '\0';
	ck_assert(article_msgid_valid(big));
	memset(big, 'a', sizeof(big));
	big[0] = '<';
	memcpy(big + 245, "@b.cd>", 6);
	big[251] = '\0';
	ck_assert(!article_msgid_valid(big));
}

START_TEST(test_from_valid)
{
	ck_assert(article_from_valid("a@b.c"));
	ck_assert(article_from_valid("Pakistan News <news@host.example>"));
	ck_assert(article_from_valid("\"Doe, J.\" <j@d.example>"));
	ck_assert(article_from_valid("=?UTF-8?Q?Caf=C3=A9?= <c@d.e>"));
	ck_assert(article_from_valid("j@d.example (Jane Doe)"));
	ck_assert(!article_from_valid(""));
	ck_assert(!article_from_valid("nobody"));
	ck_assert(!article_from_valid("Name <>"));
	ck_assert(!article_from_valid(
	    "barthelemy at geovariances.com (Olivier BARTHELEMY)"));
	ck_assert(!article_from_valid("a@b.c <junk"));
}

START_TEST(test_fingerprint)
{
	struct article *a = parse_ok("Subject: Hello, World\n\nSome text,"
				     " wrapped\nhere.\n");
	struct article *b = parse_ok("Subject: hello world\nX: y\n\nsome  "
				     "TEXT wrapped here\n\n");
	struct article *c = parse_ok("Subject: Re: hello world\n\nsome text"
				     " wrapped here\n");
	struct article *d = parse_ok("Subject: =?utf-8?q?Hello_World?=\n\n"
				     "Some text wrapped here.\n");
	struct article *e = parse_ok("Subject: hello\n\nworld some text "
				     "wrapped here\n");

	ck_assert_uint_eq(article_fingerprint(a), article_fingerprint(b));
	ck_assert_uint_eq(article_fingerprint(a), article_fingerprint(d));
	ck_assert_uint_ne(article_fingerprint(a), article_fingerprint(c));
	ck_assert_uint_ne(article_fingerprint(a), article_fingerprint(e));
	ck_assert_uint_ne(article_fingerprint(a), 0);
	/* Stored in the spool: the value must never change. */
	ck_assert_uint_eq(article_fingerprint(a), 0xcb6ebd74a36c76a7ULL);
	article_free(a);
	article_free(b);
	article_free(c);
	article_free(d);
	article_free(e);
}

static Suite *
article_suite(void)
{
	Suite *s = suite_create("article");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_parse_basic_lf_and_crlf);
	tcase_add_test(tc, test_parse_empty_body_and_utf8_header);
	tcase_add_test(tc, test_parse_refusals);
	tcase_add_test(tc, test_parse_line_limits);
	tcase_add_test(tc, test_parse_header_count);
	tcase_add_test(tc, test_header_list_edits);
	tcase_add_test(tc, test_render_roundtrip);
	tcase_add_test(tc, test_render_folds_long_headers);
	tcase_add_test(tc, test_render_fold_lines_within_78);
	tcase_add_test(tc, test_rfc2047_roundtrip);
	tcase_add_test(tc, test_rfc2047_decode);
	tcase_add_test(tc, test_encode_phrase);
	tcase_add_test(tc, test_dates);
	tcase_add_test(tc, test_msgid_valid);
	tcase_add_test(tc, test_from_valid);
	tcase_add_test(tc, test_fingerprint);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(article_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
