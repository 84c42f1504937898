/*
 * check_wildmat.c - RFC 3977 §4 wildmats: single patterns, lists with
 * negation (rightmost match wins), UTF-8 characters, the uwildmat
 * extensions, validity, and that hostile patterns stay cheap.
 */
#include <check.h>

#include "common.h"
#include "wildmat.h"

START_TEST(test_literal_and_star)
{
	ck_assert(wildmat_match("pakistan.news", "pakistan.news"));
	ck_assert(!wildmat_match("pakistan.news", "pakistan.newsx"));
	ck_assert(!wildmat_match("pakistan.news", "pakistan.new"));
	ck_assert(wildmat_match("*", ""));
	ck_assert(wildmat_match("*", "anything.at.all"));
	ck_assert(wildmat_match("pakistan.*", "pakistan.news"));
	ck_assert(!wildmat_match("pakistan.*", "us.statedept"));
	ck_assert(wildmat_match("*.news", "pakistan.news"));
	ck_assert(wildmat_match("*a*b*c*", "xxaxxbxxcxx"));
	ck_assert(!wildmat_match("*a*b*c*", "xxaxxcxxbxx"));
	ck_assert(wildmat_match("a**b", "ab"));
	ck_assert(!wildmat_match("", "a"));
	ck_assert(wildmat_match("", ""));
}
END_TEST

START_TEST(test_question_is_one_character)
{
	ck_assert(wildmat_match("a?c", "abc"));
	ck_assert(!wildmat_match("a?c", "ac"));
	ck_assert(!wildmat_match("a?c", "abbc"));
	/* "é" is two octets, "€" three, "𝄞" four: each is one "?". */
	ck_assert(wildmat_match("caf?", "caf\xc3\xa9"));
	ck_assert(!wildmat_match("caf??", "caf\xc3\xa9"));
	ck_assert(wildmat_match("?", "\xe2\x82\xac"));
	ck_assert(wildmat_match("?", "\xf0\x9d\x84\x9e"));
	ck_assert(wildmat_match("a*?", "a\xf0\x9d\x84\x9e"));
	/* An invalid octet is one character of its own. */
	ck_assert(wildmat_match("a?b", "a\xffz"
				       "b") == false);
	ck_assert(wildmat_match("a?b", "a\xff"
				       "b"));
	/* Literal UTF-8 in the pattern. */
	ck_assert(wildmat_match("d\xc3\xa9j\xc3\xa0.*", "d\xc3\xa9j\xc3\xa0.vu"));
}
END_TEST

START_TEST(test_lists_and_negation)
{
	/* RFC 3977 §4.4 examples. */
	ck_assert(wildmat_match("a*,!*b,*c*", "aaa"));
	ck_assert(!wildmat_match("a*,!*b,*c*", "abb"));
	ck_assert(wildmat_match("a*,!*b,*c*", "ccb"));
	ck_assert(!wildmat_match("a*,!*b,*c*", "xxx"));
	/* Rightmost match decides. */
	ck_assert(!wildmat_match("*,!us.*", "us.statedept"));
	ck_assert(wildmat_match("*,!us.*", "pakistan.news"));
	ck_assert(wildmat_match("!us.*,us.statedept", "us.statedept"));
	/* A lone negation matches nothing. */
	ck_assert(!wildmat_match("!foo", "bar"));
	ck_assert(!wildmat_match("!foo", "foo"));
}
END_TEST

START_TEST(test_classes_and_escapes)
{
	ck_assert(wildmat_match("[abc]x", "bx"));
	ck_assert(!wildmat_match("[abc]x", "dx"));
	ck_assert(wildmat_match("[^abc]x", "dx"));
	ck_assert(wildmat_match("[a-z]*", "news"));
	ck_assert(!wildmat_match("[a-z]*", "News"));
	ck_assert(wildmat_match("[]]", "]"));
	ck_assert(wildmat_match("x[\xc3\xa0-\xc3\xbf]", "x\xc3\xa9"));
	ck_assert(wildmat_match("a\\*", "a*"));
	ck_assert(!wildmat_match("a\\*", "ab"));
	ck_assert(wildmat_match("a\\,b", "a,b"));
	/* An unclosed "[" is literal when matching. */
	ck_assert(wildmat_match("a[", "a["));
}
END_TEST

START_TEST(test_nocase)
{
	ck_assert(wildmat_match_flags("Pakistan*", "pakistan news",
	    WILDMAT_NOCASE));
	ck_assert(!wildmat_match_flags("Pakistan*", "pakistan news", 0));
	ck_assert(wildmat_match_flags("[A-Z]x", "qX", WILDMAT_NOCASE));
}
END_TEST

START_TEST(test_valid)
{
	ck_assert(wildmat_valid("*"));
	ck_assert(wildmat_valid("a.*,!a.b,c?d"));
	ck_assert(wildmat_valid("caf\xc3\xa9.*"));
	ck_assert(wildmat_valid("[a-z]*"));
	ck_assert(!wildmat_valid(""));
	ck_assert(!wildmat_valid("a,,b"));
	ck_assert(!wildmat_valid("a,"));
	ck_assert(!wildmat_valid("!"));
	ck_assert(!wildmat_valid("a!b"));
	ck_assert(!wildmat_valid("a b"));
	ck_assert(!wildmat_valid("a\tb"));
	ck_assert(!wildmat_valid("a["));
	ck_assert(!wildmat_valid("a\\"));
	ck_assert(!wildmat_valid("caf\xc3"));
	ck_assert(!wildmat_valid("\xff"));
}
END_TEST

START_TEST(test_literal)
{
	ck_assert(wildmat_is_literal("pakistan.news"));
	ck_assert(!wildmat_is_literal("pakistan.*"));
	ck_assert(!wildmat_is_literal("a,b"));
	ck_assert(!wildmat_is_literal("!a"));
	ck_assert(!wildmat_is_literal("a?"));
	ck_assert(!wildmat_is_literal("[a]"));
	ck_assert(!wildmat_is_literal(""));
}
END_TEST

/* Patterns that are exponential for a naive recursive matcher. */
START_TEST(test_no_blowup)
{
	char text[4001], pat[600];
	size_t i;

	memset(text, 'a', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	for (i = 0; i + 2 < sizeof(pat); i += 2) {
		pat[i] = '*';
		pat[i + 1] = 'a';
	}
	pat[i] = 'b';
	pat[i + 1] = '\0';
	ck_assert(!wildmat_match(pat, text));
	pat[i] = '*';
	ck_assert(wildmat_match(pat, text));
}
END_TEST

static Suite *
wildmat_suite(void)
{
	Suite *s = suite_create("wildmat");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_literal_and_star);
	tcase_add_test(tc, test_question_is_one_character);
	tcase_add_test(tc, test_lists_and_negation);
	tcase_add_test(tc, test_classes_and_escapes);
	tcase_add_test(tc, test_nocase);
	tcase_add_test(tc, test_valid);
	tcase_add_test(tc, test_literal);
	tcase_add_test(tc, test_no_blowup);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(wildmat_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
