/*
 * check_normalise.c - items to Netnews articles: UTF-8 checks, format=flowed
 * wrapping (RFC 3676), the headers normalise_item() writes.
 */
#include <check.h>

#include "common.h"
#include "normalise.h"

#define HOST "news.example"

static size_t
ncols(const char *p, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++)
		if (((unsigned char)p[i] & 0xc0) != 0x80)
			n++;
	return n;
}

/*
 * Check flowed text: every line within max octets, soft lines within cols
 * characters (plus the trailing space) unless one word; unflow it (soft
 * breaks joined, stuffing removed) into plain.
 */
static void
check_flowed(const char *t, size_t cols, struct buf *plain)
{
	const char *p = t, *nl;
	size_t len;

	for (; *p; p = nl + 1) {
		nl = strchr(p, '\n');
		ck_assert_ptr_nonnull(nl);
		len = (size_t)(nl - p);
		ck_assert_uint_le(len, ARTICLE_LINE_MAX);
		if (len > 0 && p[0] == ' ') {
			p++;
			len--;
		} else {
			ck_assert_msg(len == 0 || (p[0] != '>' &&
			    strncmp(p, "From ", 5) != 0), "unstuffed line");
		}
		if (len > 0 && p[len - 1] == ' ') {
			/* Soft break: fits, or is one word alone. */
			ck_assert(ncols(p, len - 1) <= cols ||
			    memchr(p, ' ', len - 1) == NULL);
			buf_append(plain, p, len);
		} else {
			buf_append(plain, p, len);
			buf_putc(plain, '\n');
		}
	}
}

START_TEST(test_utf8_valid)
{
	static const char *const good[] = {"", "ascii", "caf\xc3\xa9",
	    "\xe2\x80\x99", "\xf0\x9f\x98\x80", "\xf4\x8f\xbf\xbf"};
	static const char *const bad[] = {"\xc3", "\xc0\x80", "\xe0\x80\x80",
	    "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xff", "\x80", "a\xe2\x80",
	    "\xf8\x88\x80\x80\x80"};
	size_t i;

	for (i = 0; i < NG_NELEM(good); i++)
		ck_assert(normalise_utf8_valid(good[i], strlen(good[i])));
	for (i = 0; i < NG_NELEM(bad); i++)
		ck_assert_msg(!normalise_utf8_valid(bad[i], strlen(bad[i])),
		    "case %zu", i);
	ck_assert(!normalise_utf8_valid("a\0b", 3));
}

START_TEST(test_wrap_flowed_paragraphs)
{
	const char *text =
	    "  ISLAMABAD: The US State Department on Tuesday clarified that "
	    "it was by no means considering the option of putting sanctions "
	    "on Pakistan, however, it wanted Pakistan to go after all the "
	    "terrorist groups.\n\n\n\nSecond \xe2\x80\x9cparagraph\xe2\x80\x9d"
	    "   with   spaces.\nA hard break.\n\n";
	struct buf out = BUF_INIT(SIZE_MAX), plain = BUF_INIT(SIZE_MAX);

	normalise_wrap_flowed(text, 72, &out);
	check_flowed(buf_cstr(&out), 72, &plain);
	ck_assert_str_eq(buf_cstr(&plain),
	    "ISLAMABAD: The US State Department on Tuesday clarified that it "
	    "was by no means considering the option of putting sanctions on "
	    "Pakistan, however, it wanted Pakistan to go after all the "
	    "terrorist groups.\n\nSecond \xe2\x80\x9cparagraph\xe2\x80\x9d "
	    "with spaces.\nA hard break.\n");
	ck_assert_ptr_nonnull(strstr(buf_cstr(&out), " \n"));
	buf_free(&out);
	buf_free(&plain);
}

START_TEST(test_wrap_flowed_stuffing)
{
	struct buf out = BUF_INIT(SIZE_MAX), plain = BUF_INIT(SIZE_MAX);

	normalise_wrap_flowed("> not a quote\nFrom here on\nFrom\n"
			      "Fromage\n",
	    72, &out);
	ck_assert_str_eq(buf_cstr(&out), " > not a quote\n From here on\n"
					 "From\nFromage\n");
	buf_reset(&out);
	/* A soft break right after "From" makes the line start "From ". */
	normalise_wrap_flowed("xxxxxxxxxx From yyyyyyyyyy", 15, &out);
	check_flowed(buf_cstr(&out), 15, &plain);
	ck_assert_str_eq(buf_cstr(&plain), "xxxxxxxxxx From yyyyyyyyyy\n");
	buf_free(&out);
	buf_free(&plain);
}

START_TEST(test_wrap_flowed_long_word)
{
	struct buf in = BUF_INIT(SIZE_MAX), out = BUF_INIT(SIZE_MAX);
	struct buf plain = BUF_INIT(SIZE_MAX);
	int i;

	buf_puts(&in, "short ");
	for (i = 0; i < 2500; i++)
		buf_puts(&in, "\xc3\xa9");
	buf_puts(&in, " tail");
	normalise_wrap_flowed(buf_cstr(&in), 72, &out);
	check_flowed(buf_cstr(&out), 72, &plain);
	ck_assert(normalise_utf8_valid(out.data, out.len));
	/* The word is cut into hard lines, nothing is lost. */
	ck_assert_uint_eq(plain.len, in.len + 1 + 5);
	buf_free(&in);
	buf_free(&out);
	buf_free(&plain);
}

static struct item
sample_item(void)
{
	struct item it = {
	    .id = "pakistan-news-us-sanctions.txt",
	    .title = "United States not considering sanctions on Pakistan, "
		     "assures State Department",
	    .text = "ISLAMABAD: The US State Department on Tuesday...\n\n"
		    "Second paragraph.",
	    .section = "Pakistan News",
	    .source = NULL,
	    .url = NULL,
	    .date = -1,
	};

	return it;
}

START_TEST(test_item_headers)
{
	struct item it = sample_item();
	struct buf why = BUF_INIT(256), r = BUF_INIT(SIZE_MAX);
	struct article *a = normalise_item(&it, HOST, 1483437600, &why), *b;
	const char *mid;

	ck_assert_ptr_nonnull(a);
	ck_assert_str_eq(article_get(a, "Path"), HOST "!not-for-mail");
	ck_assert_str_eq(article_get(a, "From"),
	    "Pakistan News <news@" HOST ">");
	ck_assert_str_eq(article_get(a, "Subject"), it.title);
	ck_assert_str_eq(article_get(a, "Date"),
	    "Tue, 03 Jan 2017 10:00:00 +0000");
	ck_assert_str_eq(article_get(a, "Content-Type"),
	    "text/plain; charset=UTF-8; format=flowed");
	ck_assert_str_eq(article_get(a, "Content-Transfer-Encoding"), "8bit");
	ck_assert_str_eq(article_get(a, "MIME-Version"), "1.0");
	ck_assert_str_eq(article_get(a, "X-Newsgate-Source"), it.id);
	ck_assert_ptr_null(article_get(a, "X-Newsgate-URL"));
	ck_assert_ptr_null(article_get(a, "Newsgroups"));
	mid = article_get(a, "Message-ID");
	ck_assert(article_msgid_valid(mid));
	ck_assert_uint_eq(strlen(mid), 1 + 16 + 1 + 8 + 1 + strlen(HOST) + 1);
	ck_assert(article_from_valid(article_get(a, "From")));
	ck_assert_str_eq(a->body, "ISLAMABAD: The US State Department on "
				  "Tuesday...\n\nSecond paragraph.\n");
	/* It renders and parses back. */
	article_render(a, &r);
	ck_assert_int_eq(article_parse(r.data, r.len, &b, &why), 0);
	ck_assert_str_eq(article_get(b, "Message-ID"), mid);
	article_free(a);
	article_free(b);
	buf_free(&why);
	buf_free(&r);
}

START_TEST(test_item_msgid_deterministic)
{
	struct item it = sample_item();
	struct buf why = BUF_INIT(256);
	struct article *a, *b, *c, *d;

	a = normalise_item(&it, HOST, 1, &why);
	b = normalise_item(&it, HOST, 2, &why);
	ck_assert_str_eq(article_get(a, "Message-ID"),
	    article_get(b, "Message-ID"));
	it.id = "other.txt";
	c = normalise_item(&it, HOST, 1, &why);
	ck_assert_str_ne(article_get(a, "Message-ID"),
	    article_get(c, "Message-ID"));
	/* The url wins over the id when known. */
	it.url = "https://example.com/story/1";
	d = normalise_item(&it, HOST, 1, &why);
	ck_assert_str_ne(article_get(c, "Message-ID"),
	    article_get(d, "Message-ID"));
	ck_assert_str_eq(article_get(d, "X-Newsgate-URL"), it.url);
	article_free(d);
	it.id = "changed";
	d = normalise_item(&it, HOST, 1, &why);
	ck_assert_str_eq(article_get(d, "X-Newsgate-URL"), it.url);
	article_free(c);
	c = normalise_item(&it, HOST, 1, &why);
	ck_assert_str_eq(article_get(c, "Message-ID"),
	    article_get(d, "Message-ID"));
	/* Stable across versions: re-imports must find the same id. */
	ck_assert_str_eq(article_get(a, "Message-ID"),
	    "<6d5c7763c752c84f.2854dd00@news.example>");
	article_free(a);
	article_free(b);
	article_free(c);
	article_free(d);
	buf_free(&why);
}

START_TEST(test_item_non_ascii)
{
	struct item it = sample_item();
	struct buf why = BUF_INIT(256), dec = BUF_INIT(SIZE_MAX);
	struct article *a;

	it.title = "Pakistan\xe2\x80\x99s \xe2\x80\x9c" "frank\xe2\x80\x9d talks";
	it.source = "Caf\xc3\xa9 Daily";
	it.date = 0;
	a = normalise_item(&it, HOST, 1483437600, &why);
	ck_assert_ptr_nonnull(a);
	for (const char *c = article_get(a, "Subject"); *c; c++)
		ck_assert((unsigned char)*c < 0x80);
	article_decode_words(article_get(a, "Subject"), &dec);
	ck_assert_str_eq(buf_cstr(&dec), it.title);
	ck_assert_str_eq(article_get(a, "From"),
	    "=?UTF-8?Q?Caf=C3=A9_Daily?= <news@" HOST ">");
	ck_assert(article_from_valid(article_get(a, "From")));
	ck_assert_str_eq(article_get(a, "Date"),
	    "Thu, 01 Jan 1970 00:00:00 +0000");
	article_free(a);
	buf_free(&why);
	buf_free(&dec);
}

START_TEST(test_item_refused)
{
	struct item it = sample_item();
	struct buf why = BUF_INIT(256);

	it.title = "   ";
	ck_assert_ptr_null(normalise_item(&it, HOST, 1, &why));
	ck_assert_str_eq(buf_cstr(&why), "Item has no title");
	buf_reset(&why);
	it.title = NULL;
	ck_assert_ptr_null(normalise_item(&it, HOST, 1, &why));
	buf_reset(&why);
	it = sample_item();
	it.text = "bad \xff byte";
	ck_assert_ptr_null(normalise_item(&it, HOST, 1, &why));
	ck_assert_str_eq(buf_cstr(&why), "Invalid UTF-8 in text");
	buf_reset(&why);
	it = sample_item();
	ck_assert_ptr_null(normalise_item(&it, "bad host", 1, &why));
	buf_free(&why);
}

START_TEST(test_item_title_only_and_huge)
{
	struct item it = sample_item();
	struct buf why = BUF_INIT(256), r = BUF_INIT(SIZE_MAX), t;
	struct article *a, *b;
	int i;

	it.text = "";
	it.url = "http://example.com/a";
	a = normalise_item(&it, HOST, 1, &why);
	ck_assert_str_eq(a->body, "United States not considering sanctions on "
				  "Pakistan, assures State \nDepartment\n\n"
				  "http://example.com/a\n");
	article_free(a);
	/* A 5,000-byte title without spaces and a 5,000-byte word. */
	buf_init(&t, SIZE_MAX);
	for (i = 0; i < 5000; i++)
		buf_putc(&t, 'x');
	it.title = buf_cstr(&t);
	it.text = buf_cstr(&t);
	a = normalise_item(&it, HOST, 1, &why);
	ck_assert_ptr_nonnull(a);
	article_render(a, &r);
	ck_assert_int_eq(article_parse(r.data, r.len, &b, &why), 0);
	ck_assert_uint_le(strlen(article_get(a, "Subject")), 1000);
	article_free(a);
	article_free(b);
	buf_free(&t);
	buf_free(&r);
	buf_free(&why);
}

START_TEST(test_item_repeat)
{
	struct item it = sample_item();
	struct buf why = BUF_INIT(256), r = BUF_INIT(SIZE_MAX);
	struct buf first = BUF_INIT(SIZE_MAX);
	int i;

	it.text = "A paragraph of some length that needs to be wrapped, as "
		  "articles in the corpus are, at seventy-two columns, and "
		  "then another sentence or two to make it longer.\n\nMore.";
	/* The same item always gives the same article, byte for byte (the
	 * rate is measured in tests/bench/, never asserted here). */
	for (i = 0; i < 20000; i++) {
		struct article *a = normalise_item(&it, HOST, 1, &why);

		ck_assert_ptr_nonnull(a);
		buf_reset(&r);
		article_render(a, &r);
		article_free(a);
		if (i == 0)
			buf_append(&first, r.data, r.len);
		ck_assert(r.len == first.len &&
		    memcmp(r.data, first.data, r.len) == 0);
	}
	buf_free(&why);
	buf_free(&r);
	buf_free(&first);
}

static Suite *
normalise_suite(void)
{
	Suite *s = suite_create("normalise");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_utf8_valid);
	tcase_add_test(tc, test_wrap_flowed_paragraphs);
	tcase_add_test(tc, test_wrap_flowed_stuffing);
	tcase_add_test(tc, test_wrap_flowed_long_word);
	tcase_add_test(tc, test_item_headers);
	tcase_add_test(tc, test_item_msgid_deterministic);
	tcase_add_test(tc, test_item_non_ascii);
	tcase_add_test(tc, test_item_refused);
	tcase_add_test(tc, test_item_title_only_and_huge);
	tcase_add_test(tc, test_item_repeat);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(normalise_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
