/*
 * check_route.c - routing items to groups: wildmats on section and source,
 * whole-word phrases in title and text, configuration order, catch-alls.
 * The configuration is built by hand, as config.c would leave it.
 */
#include <check.h>

#include "common.h"
#include "route.h"

/* The configuration, as text; built into a struct config per test. */
struct rule_def {
	enum route_field field;
	const char *pattern;
};
static const struct rule_def pk_rules[] = {
    {ROUTE_SECTION, "Pakistan*"},
    {ROUTE_KEYWORD, "Pakistan"},
    {ROUTE_KEYWORD, "Islamabad"},
};
static const struct rule_def us_rules[] = {
    {ROUTE_SOURCE, "state.gov"},
    {ROUTE_SOURCE, "*State Department*"},
    {ROUTE_KEYWORD, "State Department"},
    {ROUTE_KEYWORD, "Secretary of State"},
};
static const struct rule_def tech_rules[] = {
    {ROUTE_TITLE, "Xbox One"},
    {ROUTE_SECTION, "tech[-_ ]news"},
    {ROUTE_SOURCE, "?BC"},
};
static const struct {
	const char *name;
	bool catchall;
	const struct rule_def *rules;
	size_t nrules;
} group_defs[] = {
    {"pakistan.news", false, pk_rules, NG_NELEM(pk_rules)},
    {"us.statedept", false, us_rules, NG_NELEM(us_rules)},
    {"misc.tech", false, tech_rules, NG_NELEM(tech_rules)},
    {"misc.other", true, NULL, 0},
    {"misc.rest", true, NULL, 0},
};

/* The first ngroups groups of group_defs, owned as config.c owns them. */
static struct config
make_config(size_t ngroups)
{
	struct config c;
	size_t i, j;

	memset(&c, 0, sizeof(c));
	c.groups = xcalloc(ngroups, sizeof(*c.groups));
	c.ngroups = ngroups;
	for (i = 0; i < ngroups; i++) {
		struct group_conf *g = &c.groups[i];

		g->name = xstrdup(group_defs[i].name);
		g->description = xstrdup("");
		g->flag = 'y';
		g->catchall = group_defs[i].catchall;
		g->nrules = group_defs[i].nrules;
		g->rules = xcalloc(g->nrules, sizeof(*g->rules));
		for (j = 0; j < g->nrules; j++) {
			g->rules[j].field = group_defs[i].rules[j].field;
			g->rules[j].pattern =
			    xstrdup(group_defs[i].rules[j].pattern);
		}
	}
	return c;
}

static void
free_config(struct config *c)
{
	size_t i, j;

	for (i = 0; i < c->ngroups; i++) {
		for (j = 0; j < c->groups[i].nrules; j++)
			free(c->groups[i].rules[j].pattern);
		free(c->groups[i].rules);
		free(c->groups[i].name);
		free(c->groups[i].description);
	}
	free(c->groups);
}

static struct item
make_item(const char *title, const char *text, const char *section,
    const char *source)
{
	struct item it = {"id", title, text, section, source, NULL, -1};

	return it;
}

/* Route and join the names with spaces. */
static const char *
route_str(const struct config *c, const struct item *it, size_t max)
{
	static char out[512];
	const char *names[8];
	size_t n, i;

	n = route_item(c, it, names, max);
	out[0] = '\0';
	for (i = 0; i < n; i++) {
		size_t l = strlen(out);

		snprintf(out + l, sizeof(out) - l, "%s%s", i ? " " : "",
		    names[i]);
	}
	return out;
}

START_TEST(test_sample_crossposts)
{
	struct config c = make_config(NG_NELEM(group_defs));
	struct item it = make_item("United States not considering sanctions on "
				   "Pakistan, assures State Department",
	    "ISLAMABAD: The US ...", "Pakistan News", NULL);

	ck_assert_str_eq(route_str(&c, &it, 8), "pakistan.news us.statedept");
	/* max bounds the count. */
	ck_assert_str_eq(route_str(&c, &it, 1), "pakistan.news");
	free_config(&c);
}

START_TEST(test_section_wildmat)
{
	struct config c = make_config(NG_NELEM(group_defs));
	struct item it = make_item("t", "", "PAKISTAN", NULL);

	ck_assert_str_eq(route_str(&c, &it, 8), "pakistan.news");
	it.section = "Tech News";
	ck_assert_str_eq(route_str(&c, &it, 8), "misc.tech");
	it.section = "tech_news";
	ck_assert_str_eq(route_str(&c, &it, 8), "misc.tech");
	it.section = "technews";
	ck_assert_str_eq(route_str(&c, &it, 8), "misc.other misc.rest");
	/* Whole field: "Pakistan*" does not match "News from Pakistan". */
	it.section = "World News";
	it.title = "Weather";
	ck_assert_str_eq(route_str(&c, &it, 8), "misc.other misc.rest");
	free_config(&c);
}

START_TEST(test_source_wildmat)
{
	struct config c = make_config(NG_NELEM(group_defs));
	struct item it = make_item("t", NULL, NULL, "STATE.GOV");

	ck_assert_str_eq(route_str(&c, &it, 8), "us.statedept");
	it.source = "The U.S. State Department Press Office";
	ck_assert_str_eq(route_str(&c, &it, 8), "us.statedept");
	it.source = "NBC";
	ck_assert_str_eq(route_str(&c, &it, 8), "misc.tech");
	it.source = "MSNBC";
	ck_assert_str_eq(route_str(&c, &it, 8), "misc.other misc.rest");
	free_config(&c);
}

START_TEST(test_keywords_whole_words)
{
	struct config c = make_config(NG_NELEM(group_defs));
	struct item it = make_item("Pakistani cricket", "nothing here", NULL,
	    NULL);

	/* "Pakistani" is not the word "Pakistan". */
	ck_assert_str_eq(route_str(&c, &it, 8), "misc.other misc.rest");
	it.text = "A story about\npakistan's economy.";
	ck_assert_str_eq(route_str(&c, &it, 8), "pakistan.news");
	it.text = "Pakistan\xe2\x80\x99s neighbours";
	ck_assert_str_eq(route_str(&c, &it, 8), "pakistan.news");
	it.text = "\xe2\x80\x9cIslamabad\xe2\x80\x9d";
	ck_assert_str_eq(route_str(&c, &it, 8), "pakistan.news");
	/* Phrases match across any white space and punctuation, whole. */
	it.text = "the secretary\n  of STATE said";
	ck_assert_str_eq(route_str(&c, &it, 8), "us.statedept");
	it.text = "the secretary of statecraft";
	ck_assert_str_eq(route_str(&c, &it, 8), "misc.other misc.rest");
	free_config(&c);
}

START_TEST(test_title_rules)
{
	struct config c = make_config(NG_NELEM(group_defs));
	struct item it = make_item("Titanfall Xbox One May Be Bumped Up", "",
	    NULL, NULL);

	ck_assert_str_eq(route_str(&c, &it, 8), "misc.tech");
	/* Title rules look at the title only. */
	it.title = "Games";
	it.text = "on the xbox one";
	ck_assert_str_eq(route_str(&c, &it, 8), "misc.other misc.rest");
	free_config(&c);
}

START_TEST(test_unrouted)
{
	struct config c = make_config(3); /* no catch-all groups */
	struct item it = make_item("Weather", "Sunny", "World", "AP");
	const char *names[4];

	ck_assert_uint_eq(route_item(&c, &it, names, 4), 0);
	it.title = NULL;
	it.text = NULL;
	it.section = NULL;
	it.source = NULL;
	ck_assert_uint_eq(route_item(&c, &it, names, 4), 0);
	free_config(&c);
}

START_TEST(test_wildmat_edges)
{
	struct route_rule r[1];
	struct group_conf g;
	struct config c;
	struct item it = make_item("t", NULL, "", NULL);
	const char *names[1];
	static const struct {
		const char *pat, *s;
		bool match;
	} cases[] = {
	    {"", "", true},
	    {"*", "", true},
	    {"*", "anything", true},
	    {"a*b*c", "aXXbYYc", true},
	    {"a*b*c", "aXXbYYcd", false},
	    {"**a**", "xxa", true},
	    {"?", "\xc3\xa9", true},
	    {"caf?", "caf\xc3\xa9", true},
	    {"[!a-c]x", "dx", true},
	    {"[!a-c]x", "bx", false},
	    {"[^A-C]x", "bx", false},
	    {"[]]", "]", true},
	    {"[", "[", true},
	    {"a[", "a[", true},
	    {"\\*", "*", true},
	    {"\\*", "a", false},
	    {"*a*a*a*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false},
	};
	size_t i;

	memset(&c, 0, sizeof(c));
	memset(&g, 0, sizeof(g));
	g.name = xstrdup("g");
	g.rules = r;
	g.nrules = 1;
	r[0].field = ROUTE_SECTION;
	c.groups = &g;
	c.ngroups = 1;
	for (i = 0; i < NG_NELEM(cases); i++) {
		r[0].pattern = xstrdup(cases[i].pat);
		it.section = cases[i].s;
		ck_assert_msg((route_item(&c, &it, names, 1) == 1) ==
			cases[i].match,
		    "%s vs %s", cases[i].pat, cases[i].s);
		free(r[0].pattern);
	}
	free(g.name);
}

START_TEST(test_long_text)
{
	struct config c = make_config(NG_NELEM(group_defs));
	struct buf text = BUF_INIT(SIZE_MAX);
	struct item it;
	const char *names[8];
	size_t n, k;
	int i;

	/* 9 KB of text with no keyword of any rule, then one at the very
	 * end: found, every time (the rate is measured in tests/bench/,
	 * never asserted here). */
	for (i = 0; i < 200; i++)
		buf_puts(&text, "Some words of news text, and more of them. ");
	it = make_item("A title", buf_cstr(&text), "World", "AP");
	n = route_item(&c, &it, names, 8);
	for (k = 0; k < n; k++)
		ck_assert_str_ne(names[k], "pakistan.news");
	buf_puts(&text, "Islamabad");
	it = make_item("A title", buf_cstr(&text), "World", "AP");
	for (i = 0; i < 500; i++) {
		n = route_item(&c, &it, names, 8);
		ck_assert_uint_eq(n, 1);
		ck_assert_str_eq(names[0], "pakistan.news");
	}
	buf_free(&text);
	free_config(&c);
}
END_TEST

static Suite *
route_suite(void)
{
	Suite *s = suite_create("route");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_sample_crossposts);
	tcase_add_test(tc, test_section_wildmat);
	tcase_add_test(tc, test_source_wildmat);
	tcase_add_test(tc, test_keywords_whole_words);
	tcase_add_test(tc, test_title_rules);
	tcase_add_test(tc, test_unrouted);
	tcase_add_test(tc, test_wildmat_edges);
	tcase_add_test(tc, test_long_text);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(route_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
