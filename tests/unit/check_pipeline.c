/*
 * check_pipeline.c - the pipeline in parallel mode (threading in a worker
 * thread, items prepared apart from staging) stores exactly what the
 * serial pipeline stores: the same article files, overview, active and
 * threading state byte for byte, the same counts, for items that thread
 * into stories, repeat a Message-ID within the hand-over window, repeat
 * content under another id, are refused or are unrouted.
 */
#include <sys/stat.h>

#include <check.h>
#include <dirent.h>
#include <stdlib.h>
#include <unistd.h>

#include "common.h"
#include "config.h"
#include "ngtest.h"
#include "pipeline.h"
#include "spool.h"

#define NITEMS (PIPELINE_BATCH + 1000) /* more than one commit */

static char tmpdir[64];

static void
setup(void)
{
	(void)str_copy(tmpdir, sizeof(tmpdir), "/tmp/ngpipeXXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void
teardown(void)
{
	char cmd[256];

	if (str_printf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir))
		(void)!system(cmd);
}

static const char *const words[] = {"flood", "election", "budget", "strike",
    "court", "vaccine", "border", "storm", "summit", "tariff", "protest",
    "satellite", "merger", "drought", "reactor", "treaty"};
static const char *const places[] = {"Karachi", "Lahore", "Ohio", "Geneva",
    "Quetta", "Texas", "Oslo", "Peshawar"};

struct counts {
	enum pipeline_result r[5];
	uint64_t n[5];
};

/*
 * Item i of the test input. Stories are word+place pairs, so items of a
 * story share title words and thread together; some repeat an earlier
 * id (a few items back: inside the hand-over window), some repeat an
 * earlier item's title and text under a new id, some have no title.
 */
static void
make_item(int i, struct item *it, char *id, char *title, char *text, size_t cap)
{
	int story = (i * 7) % 61, src = i;

	if (i % 97 == 5)
		src = i - 3; /* the same id as three items back */
	(void)str_printf(id, cap, "item-%d", src);
	(void)str_printf(title, cap, "%s %s: %s report %d", words[story % 16],
	    places[story % 8], words[(story / 16 + 3) % 16], src % 5);
	if (i % 89 == 7 && i > 40) {
		src = i - 40; /* same content, another id */
		story = (src * 7) % 61;
		(void)str_printf(title, cap, "%s %s: %s report %d",
		    words[story % 16], places[story % 8],
		    words[(story / 16 + 3) % 16], src % 5);
	}
	(void)str_printf(text, cap,
	    "Officials in %s said on day %d that the %s would go on. "
	    "More on the %s later (dispatch %d).",
	    places[story % 8], src % 11, words[story % 16],
	    words[(story + 5) % 16], src);
	memset(it, 0, sizeof(*it));
	it->id = id;
	it->title = i % 211 == 9 ? NULL : title; /* refused: no title */
	it->text = text;
	it->section = "World";
	it->source = "Test Wire";
	it->url = NULL;
	it->date = 1400000000 + (time_t)(i / 3) * 60;
}

/* Import NITEMS items into dir/spool; parallel or not. */
static void
run(const char *dir, bool parallel, struct pipeline_stats *out)
{
	struct config c;
	struct buf err = BUF_INIT(4096), why = BUF_INIT(4096);
	struct spool *sp;
	struct pipeline *p;
	char path[256], id[256], title[256], text[256];
	struct item it;
	int i;

	ck_assert_int_eq(config_load(&c, NULL, &err), 0);
	ck_assert(str_printf(path, sizeof(path), "%s/spool", dir));
	ck_assert_ptr_nonnull(sp = spool_open(path, "news.test", SPOOL_WRITE));
	ck_assert_ptr_nonnull(p = pipeline_new(&c, sp, "test.pipe"));
	if (parallel)
		pipeline_parallel(p);
	for (i = 0; i < NITEMS; i++) {
		enum pipeline_result r;

		make_item(i, &it, id, title, text, sizeof(id));
		buf_reset(&why);
		r = pipeline_item(p, &it, it.date, &why);
		ck_assert_msg(
		    r != PIPE_FAILED, "item %d: %s", i, buf_cstr(&why));
		/* A refusal is known at once in both modes. */
		if (it.title == NULL)
			ck_assert_int_eq(r, PIPE_REJECTED);
	}
	ck_assert_int_eq(pipeline_flush(p), 0);
	*out = *pipeline_stats(p);
	pipeline_free(p);
	spool_close(sp);
	config_fini(&c);
	buf_free(&err);
	buf_free(&why);
}

/* Every regular file under rel in both trees is the same; returns how
 * many were compared. */
static size_t
compare_tree(const char *a, const char *b, const char *rel)
{
	char pa[512], pb[512], sub[512];
	struct buf ba = BUF_INIT(SIZE_MAX), bb = BUF_INIT(SIZE_MAX);
	struct dirent *de;
	struct stat st;
	size_t n = 0;
	DIR *d;

	ck_assert(str_printf(pa, sizeof(pa), "%s/%s", a, rel));
	ck_assert_ptr_nonnull(d = opendir(pa));
	while ((de = readdir(d)) != NULL) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		ck_assert(
		    str_printf(sub, sizeof(sub), "%s/%s", rel, de->d_name));
		ck_assert(str_printf(pa, sizeof(pa), "%s/%s", a, sub));
		ck_assert(str_printf(pb, sizeof(pb), "%s/%s", b, sub));
		ck_assert_int_eq(stat(pa, &st), 0);
		if (S_ISDIR(st.st_mode)) {
			n += compare_tree(a, b, sub);
			continue;
		}
		ck_assert_int_eq(ngt_slurp(pa, &ba), 0);
		ck_assert_int_eq(ngt_slurp(pb, &bb), 0);
		ck_assert_msg(ba.len == bb.len &&
			(ba.len == 0 || !memcmp(ba.data, bb.data, ba.len)),
		    "%s differs", sub);
		n++;
	}
	closedir(d);
	buf_free(&ba);
	buf_free(&bb);
	return n;
}

START_TEST(test_parallel_same_as_serial)
{
	char sa[128], sb[128], pa[256], pb[256];
	struct pipeline_stats s1, s2;
	struct buf ba = BUF_INIT(SIZE_MAX), bb = BUF_INIT(SIZE_MAX);
	size_t files;

	ck_assert(str_printf(sa, sizeof(sa), "%s/serial", tmpdir));
	ck_assert(str_printf(sb, sizeof(sb), "%s/parallel", tmpdir));
	ck_assert_int_eq(mkdir(sa, 0755), 0);
	ck_assert_int_eq(mkdir(sb, 0755), 0);
	run(sa, false, &s1);
	run(sb, true, &s2);
	/* The input has every case in it. */
	ck_assert_uint_gt(s1.committed, NITEMS / 2);
	ck_assert_uint_gt(s1.threaded, NITEMS / 4);
	ck_assert_uint_gt(s1.duplicates, 100);
	ck_assert_uint_gt(s1.rejected, 10);
	ck_assert_uint_eq(s1.committed, s2.committed);
	ck_assert_uint_eq(s1.staged, s2.staged);
	ck_assert_uint_eq(s1.duplicates, s2.duplicates);
	ck_assert_uint_eq(s1.rejected, s2.rejected);
	ck_assert_uint_eq(s1.unrouted, s2.unrouted);
	ck_assert_uint_eq(s1.threaded, s2.threaded);
	/* Article files (References, X-Newsgate-Thread, Xref) and overview. */
	ck_assert(str_printf(sa, sizeof(sa), "%s/serial/spool", tmpdir));
	ck_assert(str_printf(sb, sizeof(sb), "%s/parallel/spool", tmpdir));
	files = compare_tree(sa, sb, "articles");
	ck_assert_uint_eq(files, s1.committed + 1); /* + .overview */
	ck_assert(str_printf(pa, sizeof(pa), "%s/data/active", sa));
	ck_assert(str_printf(pb, sizeof(pb), "%s/data/active", sb));
	ck_assert_int_eq(ngt_slurp(pa, &ba), 0);
	ck_assert_int_eq(ngt_slurp(pb, &bb), 0);
	ck_assert_str_eq(buf_cstr(&ba), buf_cstr(&bb));
	ck_assert(str_printf(pa, sizeof(pa), "%s/.newsgate/threads.state", sa));
	ck_assert(str_printf(pb, sizeof(pb), "%s/.newsgate/threads.state", sb));
	ck_assert_int_eq(ngt_slurp(pa, &ba), 0);
	ck_assert_int_eq(ngt_slurp(pb, &bb), 0);
	ck_assert_uint_gt(ba.len, 0);
	ck_assert(ba.len == bb.len && !memcmp(ba.data, bb.data, ba.len));
	buf_free(&ba);
	buf_free(&bb);
}
END_TEST

static Suite *
pipeline_suite(void)
{
	Suite *s = suite_create("pipeline");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_parallel_same_as_serial);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(pipeline_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
