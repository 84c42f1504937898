/*
 * check_thread.c - terms (tokenising, folding, stop words, stemming) and
 * the threader: linking by similarity, References, the window, bad input,
 * determinism, save and load.
 */
#include <check.h>
#include <math.h>

#include "common.h"
#include "terms.h"
#include "thread.h"
#include "thread_int.h"

/* --- terms ------------------------------------------------------------- */

struct collect {
	struct buf out; /* terms joined by ' ' */
	unsigned flags[64];
	size_t n;
};

static int
collect_cb(void *arg, const struct term *t)
{
	struct collect *c = arg;

	ck_assert_uint_ge(t->len, 1);
	ck_assert_uint_le(t->len, TERMS_WORD_MAX);
	ck_assert_uint_eq(strlen(t->p), t->len);
	if (c->out.len)
		buf_putc(&c->out, ' ');
	buf_append(&c->out, t->p, t->len);
	if (c->n < NG_NELEM(c->flags))
		c->flags[c->n] = t->flags;
	c->n++;
	return 0;
}

/* The terms of text, space-separated (caller frees). */
static char *
scan(struct terms *tk, const char *text, size_t max, struct collect *c)
{
	memset(c, 0, sizeof(*c));
	buf_init(&c->out, SIZE_MAX);
	ck_assert_uint_eq(terms_scan(tk, text, strlen(text), max, collect_cb,
			      c),
	    c->n);
	return buf_steal(&c->out);
}

static void
expect_terms(const char *text, const char *want)
{
	struct terms *tk = terms_new("english");
	struct collect c;
	char *got = scan(tk, text, 1000, &c);

	ck_assert_msg(strcmp(got, want) == 0, "\"%s\": got \"%s\", want \"%s\"",
	    text, got, want);
	free(got);
	terms_free(tk);
}

START_TEST(test_terms_basic)
{
	expect_terms("Honda Recalls 900,000 Odyssey Minivans",
	    "honda recal 900000 odyssey minivan");
	expect_terms("The cat is on the mat.", "cat mat");
	expect_terms("U.S. stocks rose 3.5% in early trading",
	    "u.s stock rose 3.5 earli trade");
	expect_terms("Assassin's Creed: Unity", "assassin creed uniti");
	expect_terms("Anti-diabetes efforts", "anti diabet effort");
	expect_terms("Beyonc\xc3\xa9 and Beyonce", "beyonc beyonc");
	expect_terms("don\xe2\x80\x99t stop", "stop");
	expect_terms("", "");
	expect_terms("... !!! --- ???", "");
	expect_terms("a b c x y z", "");
	expect_terms("\xff\xfe broken \xc3", "broken");
}
END_TEST

START_TEST(test_terms_scripts)
{
	/* Cyrillic is folded and kept; CJK ideographs are terms each. */
	expect_terms("\xd0\x9c\xd0\xbe\xd1\x81\xd0\xba\xd0\xb2\xd0\xb0",
	    "\xd0\xbc\xd0\xbe\xd1\x81\xd0\xba\xd0\xb2\xd0\xb0");
	expect_terms("\xe6\x9d\xb1\xe4\xba\xac", "\xe6\x9d\xb1 \xe4\xba\xac");
}
END_TEST

START_TEST(test_terms_flags)
{
	struct terms *tk = terms_new("english");
	struct collect c;
	char *got = scan(tk, "Obama met NATO chiefs in Brussels. Talks "
			     "ended on 4 May",
	    100, &c);

	ck_assert_str_eq(got, "obama met nato chief brussel talk end 4 may");
	ck_assert(c.flags[0] & TERM_INITIAL);
	ck_assert(c.flags[0] & TERM_CAP);
	ck_assert(!(c.flags[1] & (TERM_CAP | TERM_INITIAL)));
	ck_assert(c.flags[2] & TERM_ALLCAPS);
	ck_assert(c.flags[4] & TERM_CAP);
	ck_assert(!(c.flags[4] & TERM_INITIAL));
	ck_assert(c.flags[5] & TERM_INITIAL); /* after the full stop */
	free(got);
	got = scan(tk, "4 May 2014", 100, &c);
	ck_assert_str_eq(got, "4 may 2014");
	ck_assert(c.flags[0] & TERM_NUM);
	ck_assert(c.flags[2] & TERM_NUM);
	free(got);
	terms_free(tk);
}
END_TEST

START_TEST(test_terms_bounds)
{
	struct terms *tk = terms_new("english");
	struct collect c;
	char word[TERMS_WORD_MAX + 2], *got, *big;
	size_t i, n = TERMS_SCAN_MAX + 4096;

	/* A word of exactly TERMS_WORD_MAX octets is kept, one more is not. */
	memset(word, 'q', sizeof(word));
	word[TERMS_WORD_MAX] = '\0';
	got = scan(tk, word, 10, &c);
	ck_assert_uint_eq(c.n, 1);
	free(got);
	word[TERMS_WORD_MAX] = 'q';
	word[TERMS_WORD_MAX + 1] = '\0';
	got = scan(tk, word, 10, &c);
	ck_assert_uint_eq(c.n, 0);
	free(got);
	/* max terms, and nothing past TERMS_SCAN_MAX octets. */
	got = scan(tk, "alpha beta gamma delta", 2, &c);
	ck_assert_str_eq(got, "alpha beta");
	free(got);
	big = xmalloc(n + 1);
	for (i = 0; i < n; i++)
		big[i] = i < TERMS_SCAN_MAX ? '.' : 'z';
	big[n] = '\0';
	got = scan(tk, big, 10, &c);
	ck_assert_uint_eq(c.n, 0);
	free(got);
	free(big);
	ck_assert(terms_is_stop("the", 3));
	ck_assert(terms_is_stop("don't", 5));
	ck_assert(terms_is_stop("them", 4));
	ck_assert(!terms_is_stop("theme", 5));
	ck_assert(!terms_is_stop("honda", 5));
	terms_free(tk);
}
END_TEST

/* --- threader ------------------------------------------------------------ */

static struct threader *
threader(void)
{
	struct thread_conf tc;

	thread_conf_default(&tc);
	return thread_new(&tc);
}

static void
add(struct threader *t, const char *id, const char *title, const char *text,
    time_t date, const char *refs, struct thread_link *out)
{
	struct thread_item it;

	memset(&it, 0, sizeof(it));
	it.msgid = id;
	it.title = title;
	it.text = text;
	it.text_len = text ? strlen(text) : 0;
	it.date = date;
	it.references = refs;
	ck_assert_int_eq(thread_add(t, &it, out), 0);
	ck_assert(isfinite(out->score));
	ck_assert(out->score >= 0 && out->score <= 1);
	ck_assert_ptr_nonnull(out->root);
}

/* A small newsroom day: two stories, interleaved, plus noise. */
static const char *const day[][2] = {
	{"<a1@t>", "Honda recalls 900,000 Odyssey minivans over fire risk"},
	{"<b1@t>", "Malaysia Airlines flight MH370 search widens to Indian Ocean"},
	{"<a2@t>", "Honda Recalls 886K Odyssey Minivans Due To Fire Hazard"},
	{"<c1@t>", "Stocks close higher as investors shrug off Ukraine worries"},
	{"<b2@t>", "MH370: search for missing Malaysia Airlines jet moves to "
		   "Indian Ocean"},
	{"<a3@t>", "Honda to recall Odyssey minivans, fire risk from fuel leak"},
	{"<d1@t>", "Scientists find water ice on a distant dwarf planet"},
	{"<b3@t>", "Indian Ocean search for Malaysia Airlines MH370 intensifies"},
};
#define T0 1395000000

static void
add_day(struct threader *t, struct thread_link *links)
{
	size_t i;

	for (i = 0; i < NG_NELEM(day); i++)
		add(t, day[i][0], day[i][1], NULL, T0 + (time_t)i * 60, NULL,
		    &links[i]);
}

START_TEST(test_thread_stories)
{
	struct threader *t = threader();
	struct thread_link l[NG_NELEM(day)];
	struct buf refs = BUF_INIT(SIZE_MAX);

	add_day(t, l);
	ck_assert_int_eq(l[0].how, THREAD_NEW);
	ck_assert_str_eq(l[0].root, "<a1@t>");
	ck_assert_ptr_null(l[0].parent);
	ck_assert_int_eq(l[1].how, THREAD_NEW);
	ck_assert_int_eq(l[2].how, THREAD_SIMILAR);
	ck_assert_str_eq(l[2].root, "<a1@t>");
	ck_assert_str_eq(l[2].parent, "<a1@t>");
	ck_assert(l[2].score >= 0.30);
	ck_assert_int_eq(l[3].how, THREAD_NEW);
	ck_assert_str_eq(l[4].root, "<b1@t>");
	ck_assert_str_eq(l[5].root, "<a1@t>");
	ck_assert_int_eq(l[6].how, THREAD_NEW);
	ck_assert_str_eq(l[7].root, "<b1@t>");
	/* References: the parent's References plus the parent. */
	ck_assert_int_eq(thread_references(t, "<a1@t>", &refs), 0);
	ck_assert_str_eq(buf_cstr(&refs), "<a1@t>");
	buf_reset(&refs);
	ck_assert_int_eq(thread_references(t, "<a3@t>", &refs), 0);
	ck_assert(strncmp(buf_cstr(&refs), "<a1@t>", 6) == 0);
	ck_assert(strstr(buf_cstr(&refs), "<a3@t>") != NULL);
	buf_reset(&refs);
	ck_assert_int_eq(thread_references(t, "<zz@t>", &refs), -1);
	ck_assert_int_eq(errno, ENOENT);
	buf_free(&refs);
	thread_free(t);
}
END_TEST

START_TEST(test_thread_references_kept)
{
	struct threader *t = threader();
	struct thread_link l;
	struct buf refs = BUF_INIT(SIZE_MAX);

	add(t, "<p@t>", "Release 4.1 of the parser is out", NULL, T0, NULL,
	    &l);
	/* A reply to a known article joins its thread, whatever it says. */
	add(t, "<r1@t>", "Completely unrelated words here", NULL, T0 + 1,
	    "<p@t>", &l);
	ck_assert_int_eq(l.how, THREAD_REFS);
	ck_assert_str_eq(l.parent, "<p@t>");
	ck_assert_str_eq(l.root, "<p@t>");
	/* A reply whose parent is unknown but an ancestor is known. */
	add(t, "<r2@t>", "More words", NULL, T0 + 2, "<p@t> <gone@t>", &l);
	ck_assert_int_eq(l.how, THREAD_REFS);
	ck_assert_str_eq(l.parent, "<gone@t>");
	ck_assert_str_eq(l.root, "<p@t>");
	/* Nothing known: a thread rooted at the first reference. */
	add(t, "<r3@t>", "Even more", NULL, T0 + 3, "<x@t> <y@t>", &l);
	ck_assert_int_eq(l.how, THREAD_REFS);
	ck_assert_str_eq(l.root, "<x@t>");
	ck_assert_str_eq(l.parent, "<y@t>");
	/* A similarity follow-up of a reply extends the reply's References. */
	ck_assert_int_eq(thread_references(t, "<r3@t>", &refs), 0);
	ck_assert_str_eq(buf_cstr(&refs), "<x@t> <y@t> <r3@t>");
	buf_free(&refs);
	/* Garbage References: threaded by similarity instead. */
	add(t, "<r4@t>", "Release 4.1 of the parser is out now", NULL, T0 + 4,
	    "no ids here", &l);
	ck_assert_int_ne(l.how, THREAD_REFS);
	thread_free(t);
}
END_TEST

START_TEST(test_thread_bad_input)
{
	struct threader *t = threader();
	struct thread_link l;
	struct thread_item it;
	struct thread_stats st0, st1;
	char *huge;
	size_t i, n = 8 * 1024 * 1024;

	memset(&it, 0, sizeof(it));
	ck_assert_int_eq(thread_add(t, &it, &l), -1);
	ck_assert_int_eq(errno, EINVAL);
	it.msgid = "";
	ck_assert_int_eq(thread_add(t, &it, &l), -1);
	/* No usable words: own thread, score 0, no NaN. */
	add(t, "<e1@t>", NULL, NULL, T0, NULL, &l);
	ck_assert_int_eq(l.how, THREAD_NEW);
	ck_assert(l.score == 0);
	add(t, "<e2@t>", "!!! ... ???", "\xff\xfe", T0, NULL, &l);
	ck_assert_int_eq(l.how, THREAD_NEW);
	add(t, "<e3@t>", "", "", T0, NULL, &l);
	ck_assert_int_eq(l.how, THREAD_NEW);
	/* Twice the same Message-ID. */
	memset(&it, 0, sizeof(it));
	it.msgid = "<e1@t>";
	ck_assert_int_eq(thread_add(t, &it, &l), -1);
	ck_assert_int_eq(errno, EEXIST);
	ck_assert_str_eq(l.root, "<e1@t>");
	/* A huge article costs a bounded amount. */
	huge = xmalloc(n + 1);
	for (i = 0; i + 6 <= n; i += 6) { /* 1.4 million different words */
		size_t k = i / 6, j;

		for (j = 0; j < 5; j++, k /= 26)
			huge[i + j] = (char)('a' + k % 26);
		huge[i + 5] = ' ';
	}
	memset(huge + i, ' ', n - i);
	huge[n] = '\0';
	thread_stats(t, &st0);
	add(t, "<huge@t>", "A huge article", huge, T0, NULL, &l);
	add(t, "<huge2@t>", "A huge article", huge, T0, NULL, &l);
	thread_stats(t, &st1);
	ck_assert_int_eq(l.how, THREAD_SIMILAR);
	/* 8 MiB of text each, yet bounded terms and index memory (the time
	 * it takes is measured in tests/bench/, never asserted here). */
	ck_assert_uint_le(st1.terms - st0.terms, THREAD_TOKENS_MAX);
	ck_assert_uint_lt(st1.index_bytes - st0.index_bytes, 64 * 1024);
	free(huge);
	/* Dates far out do not break anything. */
	add(t, "<f1@t>", "Far future article", NULL, (time_t)INT64_MAX / 2,
	    NULL, &l);
	add(t, "<f2@t>", "Far past article", NULL, -(time_t)INT64_MAX / 2,
	    NULL, &l);
	thread_free(t);
}
END_TEST

START_TEST(test_thread_window)
{
	struct threader *t = threader();
	struct thread_link l;
	struct thread_stats st;
	struct buf refs = BUF_INIT(SIZE_MAX);
	char id[64];
	int i;

	add(t, "<w1@t>", "Volcano erupts on Iceland, flights grounded", NULL,
	    T0, NULL, &l);
	add(t, "<w2@t>", "Iceland volcano eruption grounds flights", NULL,
	    T0 + 3600, NULL, &l);
	ck_assert_str_eq(l.root, "<w1@t>");
	/* Thirty days later the same words start a new thread. */
	add(t, "<w3@t>", "Iceland volcano eruption grounds flights again",
	    NULL, T0 + 30 * 86400, NULL, &l);
	ck_assert_int_eq(l.how, THREAD_NEW);
	/* Old threads are forgotten as later articles arrive. */
	for (i = 0; i < 100; i++) {
		ck_assert(str_printf(id, sizeof(id), "<n%d@t>", i));
		add(t, id, "filler text number", NULL, T0 + 30 * 86400 + i,
		    NULL, &l);
	}
	ck_assert_int_eq(thread_references(t, "<w1@t>", &refs), -1);
	thread_stats(t, &st);
	ck_assert_uint_eq(st.articles, 103);
	ck_assert_uint_le(st.live_articles, 101);
	ck_assert_uint_gt(st.index_bytes, 0);
	ck_assert_uint_gt(st.vocab_bytes, 0);
	buf_free(&refs);
	thread_free(t);
}
END_TEST

START_TEST(test_thread_dates_out_of_order)
{
	struct threader *t = threader();
	struct thread_link l[NG_NELEM(day)], x;
	size_t i;

	/* An article of next year first, then an older day: the older
	 * day's stories still come together. */
	add(t, "<next@t>", "Elections next year in a faraway land", NULL,
	    T0 + 365 * 86400, NULL, &x);
	add_day(t, l);
	ck_assert_str_eq(l[2].root, "<a1@t>");
	ck_assert_str_eq(l[4].root, "<b1@t>");
	ck_assert_str_eq(l[7].root, "<b1@t>");
	/* One article dated far in the future expires nothing. */
	add(t, "<far@t>", "Something else entirely", NULL,
	    T0 + 1000 * 86400, NULL, &x);
	add(t, "<a4@t>", "Honda Odyssey minivan recall over fire risk", NULL,
	    T0 + 3600, NULL, &x);
	ck_assert_str_eq(x.root, "<a1@t>");
	/* Nor does it join a thread of another time. */
	add(t, "<far2@t>", "Honda recalls Odyssey minivans, fire risk", NULL,
	    T0 + 1000 * 86400, NULL, &x);
	ck_assert_int_eq(x.how, THREAD_NEW);
	for (i = 0; i < NG_NELEM(day); i++)
		ck_assert(l[i].score >= 0 && l[i].score <= 1);
	thread_free(t);
}
END_TEST

START_TEST(test_thread_body_repeats_title)
{
	struct threader *a = threader(), *b = threader();
	struct thread_link la[NG_NELEM(day)], lb;
	size_t i;

	/* A stored article without text has its title as body: it threads
	 * as the item did at import, whatever the blanks. */
	add_day(a, la);
	for (i = 0; i < NG_NELEM(day); i++) {
		char body[256];

		ck_assert(str_printf(body, sizeof(body), "  %s\n", day[i][1]));
		add(b, day[i][0], day[i][1], body, T0 + (time_t)i * 60, NULL,
		    &lb);
		ck_assert_str_eq(lb.root, la[i].root);
		ck_assert(lb.score == la[i].score);
	}
	thread_free(a);
	thread_free(b);
}
END_TEST

/* Links of the day as "how root parent score" lines. */
static void
describe(const struct thread_link *l, size_t n, struct buf *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		buf_printf(out, "%d %s %s %.6f\n", l[i].how, l[i].root,
		    l[i].parent ? l[i].parent : "-", l[i].score);
}

START_TEST(test_thread_deterministic_and_saved)
{
	struct threader *a = threader(), *b = threader();
	struct thread_link la[NG_NELEM(day)], lb[NG_NELEM(day)];
	struct buf da = BUF_INIT(SIZE_MAX), db = BUF_INIT(SIZE_MAX);
	struct buf state = BUF_INIT(SIZE_MAX), state2 = BUF_INIT(SIZE_MAX);
	size_t i, half = NG_NELEM(day) / 2;

	add_day(a, la);
	/* b: the first half, then save, load into a fresh threader, rest. */
	for (i = 0; i < half; i++)
		add(b, day[i][0], day[i][1], NULL, T0 + (time_t)i * 60, NULL,
		    &lb[i]);
	thread_save(b, &state);
	ck_assert_int_eq(state.err, 0);
	thread_free(b);
	b = threader();
	ck_assert_int_eq(thread_load(b, state.data, state.len), 0);
	thread_save(b, &state2);
	ck_assert_uint_eq(state.len, state2.len);
	ck_assert(memcmp(state.data, state2.data, state.len) == 0);
	for (i = half; i < NG_NELEM(day); i++)
		add(b, day[i][0], day[i][1], NULL, T0 + (time_t)i * 60, NULL,
		    &lb[i]);
	describe(la + half, NG_NELEM(day) - half, &da);
	describe(lb + half, NG_NELEM(day) - half, &db);
	ck_assert_str_eq(buf_cstr(&da), buf_cstr(&db));
	buf_free(&da);
	buf_free(&db);
	buf_free(&state);
	buf_free(&state2);
	thread_free(a);
	thread_free(b);
}
END_TEST

/*
 * Terms cut on another thread (thread_prescan) thread exactly as the
 * threader's own scan does: the same links and the same saved state, for
 * titles with and without texts, a text that repeats its title, sentence
 * case (names learnt), no title, and a text longer than the threader looks
 * at.
 */
START_TEST(test_thread_prescan_same)
{
	struct threader *a = threader(), *b = threader();
	struct terms *tk = terms_new("english");
	struct thread_link la, lb;
	struct thread_item it;
	struct thread_terms *tt;
	struct buf text = BUF_INIT(SIZE_MAX), long_text = BUF_INIT(SIZE_MAX);
	struct buf da = BUF_INIT(SIZE_MAX), db = BUF_INIT(SIZE_MAX);
	struct buf sa = BUF_INIT(SIZE_MAX), sb = BUF_INIT(SIZE_MAX);
	char id[32];
	size_t i, k;

	for (k = 0; k < 6000; k++)
		buf_printf(&long_text, "Minister Okafor %zu visited Lagos port "
				       "again. ",
		    k);
	for (i = 0; i < 4 * NG_NELEM(day); i++) {
		const char *title = day[i % NG_NELEM(day)][1];

		buf_reset(&text);
		switch (i % 4) {
		case 0:
			break; /* title only */
		case 1:
			buf_printf(&text, "Officials in Kuala Lumpur said on "
					  "Monday that %s. The Ministry "
					  "would say More later.\n\n%s",
			    title, title);
			break;
		case 2:
			buf_puts(&text, title); /* the body repeats it */
			break;
		case 3:
			buf_append(&text, long_text.data, long_text.len);
			if (i % 8 == 7)
				title = NULL;
			break;
		}
		ck_assert(str_printf(id, sizeof(id), "<p%zu@t>", i));
		memset(&it, 0, sizeof(it));
		it.msgid = id;
		it.title = title;
		it.text = text.len ? text.data : NULL;
		it.text_len = text.len;
		it.date = T0 + (time_t)i * 60;
		ck_assert_int_eq(thread_add(a, &it, &la), 0);
		describe(&la, 1, &da);
		tt = thread_prescan(tk, it.title, it.text, it.text_len);
		it.terms = tt;
		ck_assert_int_eq(thread_add(b, &it, &lb), 0);
		thread_terms_free(tt);
		describe(&lb, 1, &db);
	}
	ck_assert_str_eq(buf_cstr(&da), buf_cstr(&db));
	thread_save(a, &sa);
	thread_save(b, &sb);
	ck_assert_uint_eq(sa.len, sb.len);
	ck_assert(memcmp(sa.data, sb.data, sa.len) == 0);
	buf_free(&text);
	buf_free(&long_text);
	buf_free(&da);
	buf_free(&db);
	buf_free(&sa);
	buf_free(&sb);
	terms_free(tk);
	thread_free(a);
	thread_free(b);
}
END_TEST

START_TEST(test_thread_load_damaged)
{
	struct threader *t = threader();
	struct thread_link l[NG_NELEM(day)];
	struct thread_stats st;
	struct buf state = BUF_INIT(SIZE_MAX);
	char *copy;
	size_t i;

	add_day(t, l);
	thread_save(t, &state);
	copy = xmalloc(state.len);
	/* Every truncation and a flipped bit anywhere are refused. */
	for (i = 0; i < state.len; i += 7) {
		ck_assert_int_eq(thread_load(t, state.data, i), -1);
		ck_assert_int_eq(errno, EINVAL);
		memcpy(copy, state.data, state.len);
		copy[i] ^= 0x10;
		ck_assert_int_eq(thread_load(t, copy, state.len), -1);
	}
	thread_stats(t, &st);
	ck_assert_uint_eq(st.live_articles, 0);
	ck_assert_uint_eq(st.articles, 0);
	/* After a refusal the threader works as a fresh one. */
	add_day(t, l);
	ck_assert_str_eq(l[2].root, "<a1@t>");
	ck_assert_int_eq(thread_load(t, state.data, state.len), 0);
	free(copy);
	buf_free(&state);
	thread_free(t);
}
END_TEST

/* Store the FNV-1a checksum of the first len - 8 bytes in the last 8. */
static void
reseal(char *p, size_t len)
{
	uint64_t h = hash64(p, len - 8, 0);
	int i;

	for (i = 0; i < 8; i++)
		p[len - 8 + i] = (char)(h >> (8 * i));
}

START_TEST(test_thread_load_forged)
{
	struct threader *t = threader(), *u;
	struct thread_link l[NG_NELEM(day)], x;
	struct buf state = BUF_INIT(SIZE_MAX);
	char *copy;
	size_t i, bit;
	int ok = 0;

	add_day(t, l);
	thread_save(t, &state);
	copy = xmalloc(state.len);
	/* A flipped bit with a valid checksum: refused or loaded, never a
	 * crash, and the threader keeps working (under ASan in
	 * make check-asan). */
	for (i = 8; i + 8 < state.len; i++) {
		bit = (i * 7) % 8;
		memcpy(copy, state.data, state.len);
		copy[i] ^= (char)(1 << bit);
		reseal(copy, state.len);
		u = threader();
		if (thread_load(u, copy, state.len) == 0)
			ok++;
		add(u, "<after@t>", "Honda recalls Odyssey minivans", NULL, T0,
		    NULL, &x);
		thread_free(u);
	}
	ck_assert_int_lt(ok, (int)state.len);
	free(copy);
	buf_free(&state);
	thread_free(t);
}
END_TEST

START_TEST(test_thread_garbage_text)
{
	struct threader *t = threader();
	struct thread_link l;
	char id[64], text[512];
	uint64_t x = 88172645463325252ULL;
	size_t i, k;

	/* Random octets as titles and texts: no crash, no NaN. */
	for (k = 0; k < 2000; k++) {
		for (i = 0; i < sizeof(text) - 1; i++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			text[i] = (char)(x % 255 + 1);
		}
		text[sizeof(text) - 1] = '\0';
		ck_assert(str_printf(id, sizeof(id), "<g%zu@t>", k));
		add(t, id, text + 400, text, T0 + (time_t)k, NULL, &l);
	}
	thread_free(t);
}
END_TEST

START_TEST(test_thread_refs_shortened)
{
	struct threader *t = threader();
	struct thread_link l;
	struct buf refs = BUF_INIT(SIZE_MAX), chain = BUF_INIT(SIZE_MAX);
	char id[64];
	int i, n = 0;
	const char *p;

	/* A long discussion: each reply carries the whole chain. */
	for (i = 0; i < 60; i++) {
		ck_assert(str_printf(id, sizeof(id), "<chain%02d@t>", i));
		add(t, id, "Parliament votes on the budget bill tonight", NULL,
		    T0 + i, i ? buf_cstr(&chain) : NULL, &l);
		buf_printf(&chain, "%s%s", i ? " " : "", id);
	}
	ck_assert_int_eq(thread_references(t, "<chain59@t>", &refs), 0);
	ck_assert(strncmp(buf_cstr(&refs), "<chain00@t>", 11) == 0);
	ck_assert_uint_le(refs.len, THREAD_REFS_OCTETS);
	for (p = buf_cstr(&refs); (p = strchr(p, '<')) != NULL; p++)
		n++;
	ck_assert_int_le(n, THREAD_REFS_MAX);
	ck_assert(strstr(buf_cstr(&refs), "<chain58@t> <chain59@t>") != NULL);
	/* A similarity follow-up of the last one gets the same. */
	add(t, "<sim@t>", "Parliament votes on the budget bill tonight", NULL,
	    T0 + 100, NULL, &l);
	ck_assert_int_eq(l.how, THREAD_SIMILAR);
	ck_assert_str_eq(l.root, "<chain00@t>");
	buf_reset(&refs);
	ck_assert_int_eq(thread_references(t, "<sim@t>", &refs), 0);
	ck_assert(strncmp(buf_cstr(&refs), "<chain00@t>", 11) == 0);
	ck_assert_uint_le(refs.len, THREAD_REFS_OCTETS);
	buf_free(&refs);
	buf_free(&chain);
	thread_free(t);
}
END_TEST

static Suite *
thread_suite(void)
{
	Suite *s = suite_create("thread");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_terms_basic);
	tcase_add_test(tc, test_terms_scripts);
	tcase_add_test(tc, test_terms_flags);
	tcase_add_test(tc, test_terms_bounds);
	tcase_add_test(tc, test_thread_stories);
	tcase_add_test(tc, test_thread_references_kept);
	tcase_add_test(tc, test_thread_bad_input);
	tcase_add_test(tc, test_thread_window);
	tcase_add_test(tc, test_thread_dates_out_of_order);
	tcase_add_test(tc, test_thread_body_repeats_title);
	tcase_add_test(tc, test_thread_deterministic_and_saved);
	tcase_add_test(tc, test_thread_prescan_same);
	tcase_add_test(tc, test_thread_load_damaged);
	tcase_add_test(tc, test_thread_load_forged);
	tcase_add_test(tc, test_thread_garbage_text);
	tcase_add_test(tc, test_thread_refs_shortened);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(thread_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
