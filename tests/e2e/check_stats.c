/*
 * check_stats.c - `newsgate stats` end to end: the sample (one article
 * crossposted to two groups) and a small thread imported into a temporary
 * spool; the table and the --json output checked against what is known to
 * be there, the size against the files themselves.
 */
#include <sys/stat.h>

#include <check.h>
#include <jansson.h>
#include <unistd.h>

#include "common.h"
#include "buf.h"
#include "ngtest.h"

/* A story of three articles and a story of one. */
static const char THREAD_MBOX[] =
    "From a@example.org Mon Jan  6 10:00:00 2014\n"
    "From: Alice <a@example.org>\n"
    "Subject: Root story\n"
    "Message-ID: <root@example.org>\n"
    "Date: Mon, 06 Jan 2014 10:00:00 +0000\n"
    "\n"
    "Root body.\n"
    "\n"
    "From b@example.org Tue Jan  7 11:00:00 2014\n"
    "From: Bob <b@example.org>\n"
    "Subject: Re: Root story\n"
    "Message-ID: <reply1@example.org>\n"
    "References: <root@example.org>\n"
    "Date: Tue, 07 Jan 2014 11:00:00 +0000\n"
    "\n"
    "Reply one.\n"
    "\n"
    "From d@example.org Thu Jan  9 12:00:00 2014\n"
    "From: Dan <d@example.org>\n"
    "Subject: =?UTF-8?Q?Caf=C3=A9_story?=\n"
    "Message-ID: <other@example.org>\n"
    "Date: Thu, 09 Jan 2014 12:00:00 +0000\n"
    "\n"
    "Unrelated.\n"
    "\n"
    "From c@example.org Wed Jan  8 12:00:00 2014\n"
    "From: Carol <c@example.org>\n"
    "Subject: Re: Root story\n"
    "Message-ID: <reply2@example.org>\n"
    "References: <root@example.org> <reply1@example.org>\n"
    "Date: Wed, 08 Jan 2014 12:00:00 +0000\n"
    "\n"
    "Reply two.\n";

static struct ngt_dir d;

static void
setup(void)
{
	ck_assert_int_eq(ngt_dir_new(&d, "ng-stats"), 0);
}

static void
teardown(void)
{
	ngt_dir_free(&d);
}

static bool
has(struct buf *b, const char *needle)
{
	return strstr(buf_cstr(b), needle) != NULL;
}

static void
import_all(void)
{
	char sample[PATH_MAX], mbox[PATH_MAX];
	struct buf out = BUF_INIT(SIZE_MAX);

	str_printf(sample, sizeof(sample), "%s/contrib/sample", ngt_top());
	ck_assert_int_eq(ngt_import(&d, sample), 0);
	ck_assert_int_eq(ngt_write(d.path, "thread.mbox", THREAD_MBOX, mbox),
	    0);
	ck_assert_msg(ngt_run((const char *[]){"import", "--spool", d.spool,
				  "--group", "test.thread", mbox, NULL},
			  &out, NGT_WAIT_MS) == 0,
	    "%s", buf_cstr(&out));
	buf_free(&out);
}

/* The apparent size of the eight files the spool's articles/ holds. */
static uint64_t
known_bytes(void)
{
	static const char *const files[] = {"pakistan/news/1",
	    "pakistan/news/.overview", "us/statedept/.overview",
	    "test/thread/1", "test/thread/2", "test/thread/3",
	    "test/thread/4", "test/thread/.overview"};
	char path[PATH_MAX];
	uint64_t total = 0;
	struct stat st;
	size_t i;

	for (i = 0; i < NG_NELEM(files); i++) {
		str_printf(path, sizeof(path), "%s/articles/%s", d.spool,
		    files[i]);
		ck_assert_msg(stat(path, &st) == 0, "%s", path);
		total += (uint64_t)st.st_size;
	}
	return total;
}

/* The line of the table that starts with word, or NULL. */
static const char *
line_of(struct buf *b, const char *word)
{
	const char *p = buf_cstr(b);
	size_t len = strlen(word);

	for (; p != NULL; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (strncmp(p, word, len) == 0 && p[len] == ' ')
			return p;
	return NULL;
}

START_TEST(test_text)
{
	struct buf out = BUF_INIT(SIZE_MAX);
	unsigned long arts, threads;
	char expect[128], name[64];
	const char *l;

	import_all();
	ck_assert_int_eq(ngt_run((const char *[]){"stats", "--spool", d.spool,
				     NULL},
			     &out, NGT_WAIT_MS),
	    0);
	/* The crosspost counts once in the totals. */
	ck_assert_msg(has(&out, ": 3 groups, 5 articles, 3 threads, "), "%s",
	    buf_cstr(&out));
	str_printf(expect, sizeof(expect), "(%" PRIu64 " bytes, 8 files)",
	    known_bytes());
	ck_assert_msg(has(&out, expect), "%s\nwanted %s", buf_cstr(&out),
	    expect);
	/* Per group; and once in each group it is posted to. */
	ck_assert_ptr_nonnull(l = line_of(&out, "test.thread"));
	ck_assert_int_eq(sscanf(l, "%63s %lu %lu", name, &arts, &threads), 3);
	ck_assert_uint_eq(arts, 4);
	ck_assert_uint_eq(threads, 2);
	ck_assert_ptr_nonnull(l = line_of(&out, "us.statedept"));
	ck_assert_int_eq(sscanf(l, "%63s %lu %lu", name, &arts, &threads), 3);
	ck_assert_uint_eq(arts, 1);
	ck_assert_uint_eq(threads, 1);
	/* The biggest story first, named by its root, dated by its newest
	 * article; encoded subjects decoded. */
	ck_assert_msg(has(&out, "biggest stories\n"), "%s", buf_cstr(&out));
	ck_assert_msg(has(&out, "\n        3  2014-01-08 12:00  test.thread"
				"               Root story\n"),
	    "%s", buf_cstr(&out));
	ck_assert_msg(has(&out, "Caf\xc3\xa9 story\n"), "%s", buf_cstr(&out));
	/* The newest arrival: the last article imported. */
	ck_assert_msg(has(&out, "newest articles\n"), "%s", buf_cstr(&out));
	l = strstr(buf_cstr(&out), "newest articles\n");
	l = strchr(strchr(l, '\n') + 1, '\n') + 1;
	ck_assert_msg(strstr(l, "test.thread:4 ") != NULL &&
		strstr(l, "test.thread:4 ") < strchr(l, '\n'),
	    "%s", l);
	buf_free(&out);
}
END_TEST

static json_int_t
jint(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	ck_assert_msg(json_is_integer(v), "%s is not an integer", key);
	return json_integer_value(v);
}

static const char *
jstr(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	ck_assert_msg(json_is_string(v), "%s is not a string", key);
	return json_string_value(v);
}

START_TEST(test_json)
{
	struct buf out = BUF_INIT(SIZE_MAX);
	json_t *root, *groups, *g, *big, *newest;
	json_error_t err;
	size_t i;
	bool seen = false;

	import_all();
	ck_assert_int_eq(ngt_run((const char *[]){"stats", "--spool", d.spool,
				     "--json", NULL},
			     &out, NGT_WAIT_MS),
	    0);
	root = json_loads(buf_cstr(&out), 0, &err);
	ck_assert_msg(root != NULL, "%s: %s", err.text, buf_cstr(&out));
	ck_assert_int_eq(jint(root, "articles"), 5);
	ck_assert_int_eq(jint(root, "threads"), 3);
	ck_assert_int_eq(jint(json_object_get(root, "size"), "bytes"),
	    (json_int_t)known_bytes());
	ck_assert_int_eq(jint(json_object_get(root, "size"), "files"), 8);

	groups = json_object_get(root, "groups");
	ck_assert(json_is_array(groups));
	ck_assert_uint_eq(json_array_size(groups), 3);
	json_array_foreach (groups, i, g) {
		if (strcmp(jstr(g, "name"), "test.thread") == 0) {
			ck_assert_int_eq(jint(g, "articles"), 4);
			ck_assert_int_eq(jint(g, "threads"), 2);
			ck_assert_int_eq(jint(g, "high"), 4);
			seen = true;
		} else {
			ck_assert_int_eq(jint(g, "articles"), 1);
			ck_assert_int_eq(jint(g, "threads"), 1);
		}
	}
	ck_assert(seen);

	big = json_object_get(root, "biggest");
	ck_assert_uint_eq(json_array_size(big), 3);
	g = json_array_get(big, 0);
	ck_assert_int_eq(jint(g, "articles"), 3);
	ck_assert_str_eq(jstr(g, "subject"), "Root story");
	ck_assert_str_eq(jstr(g, "root"), "<root@example.org>");
	ck_assert_str_eq(jstr(g, "group"), "test.thread");
	ck_assert_str_eq(jstr(g, "latest"), "2014-01-08T12:00:00Z");
	ck_assert_int_eq(jint(json_array_get(big, 1), "articles"), 1);

	newest = json_object_get(root, "newest");
	ck_assert_uint_eq(json_array_size(newest), 5);
	g = json_array_get(newest, 0);
	ck_assert_str_eq(jstr(g, "message_id"), "<reply2@example.org>");
	ck_assert_str_eq(jstr(g, "group"), "test.thread");
	ck_assert_int_eq(jint(g, "number"), 4);
	ck_assert_str_eq(jstr(g, "date"), "2014-01-08T12:00:00Z");
	ck_assert_str_eq(jstr(json_array_get(newest, 1), "subject"),
	    "Caf\xc3\xa9 story");
	g = json_array_get(newest, 4);
	ck_assert_str_eq(jstr(g, "group"), "pakistan.news");
	json_decref(root);
	buf_free(&out);
}
END_TEST

START_TEST(test_empty_and_missing)
{
	struct buf out = BUF_INIT(SIZE_MAX);
	json_error_t err;
	json_t *root;

	/* No spool there. */
	ck_assert_int_ne(ngt_run((const char *[]){"stats", "--spool", d.spool,
				     NULL},
			     &out, NGT_WAIT_MS),
	    0);
	ck_assert_int_eq(ngt_run((const char *[]){"stats", "--spool", d.spool,
				     "extra", NULL},
			     NULL, NGT_WAIT_MS),
	    2);
	/* A spool with groups and no articles. */
	ck_assert_int_eq(ngt_run((const char *[]){"groups", "--spool",
				     d.spool, "add", "local.empty", "Nothing",
				     NULL},
			     NULL, NGT_WAIT_MS),
	    0);
	buf_reset(&out);
	ck_assert_int_eq(ngt_run((const char *[]){"stats", "--spool", d.spool,
				     NULL},
			     &out, NGT_WAIT_MS),
	    0);
	ck_assert_msg(has(&out, " 0 articles, 0 threads"), "%s",
	    buf_cstr(&out));
	ck_assert(line_of(&out, "local.empty") != NULL);
	ck_assert(!has(&out, "biggest stories"));
	buf_reset(&out);
	ck_assert_int_eq(ngt_run((const char *[]){"stats", "--spool", d.spool,
				     "--json", NULL},
			     &out, NGT_WAIT_MS),
	    0);
	root = json_loads(buf_cstr(&out), 0, &err);
	ck_assert_msg(root != NULL, "%s: %s", err.text, buf_cstr(&out));
	ck_assert_int_eq(jint(root, "articles"), 0);
	ck_assert_uint_eq(json_array_size(json_object_get(root, "biggest")),
	    0);
	ck_assert_uint_eq(json_array_size(json_object_get(root, "newest")), 0);
	json_decref(root);
	buf_free(&out);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("stats");
	TCase *tc = tcase_create("stats");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_text);
	tcase_add_test(tc, test_json);
	tcase_add_test(tc, test_empty_and_missing);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
