/*
 * check_import.c - `newsgate import`, `groups` and `check` end to end: the
 * real binary ($NEWSGATE_BIN) on a spool in a temporary directory.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <check.h>
#include <fcntl.h>
#include <unistd.h>

#include "common.h"
#include "buf.h"
#include "ngtest.h"

static char tmpdir[64];
static char spool[128];

struct run {
	int status;	/* exit status, or -1 when killed */
	struct buf out; /* stdout */
	struct buf err; /* stderr */
};

/* Run newsgate with args (NULL-terminated), stdin from in_path or
 * /dev/null. */
static void
run(struct run *r, const char *in_path, const char *const *args)
{
	const char *bin = getenv("NEWSGATE_BIN");
	char outp[160], errp[160];
	const char *argv[32];
	pid_t pid;
	int st, i;

	ck_assert_ptr_nonnull(bin);
	str_printf(outp, sizeof(outp), "%s/out", tmpdir);
	str_printf(errp, sizeof(errp), "%s/err", tmpdir);
	argv[0] = bin;
	for (i = 0; args[i] && i < 30; i++)
		argv[i + 1] = args[i];
	argv[i + 1] = NULL;
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int in = open(in_path ? in_path : "/dev/null", O_RDONLY);
		int out = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int err = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		dup2(in, 0);
		dup2(out, 1);
		dup2(err, 2);
		execv(bin, (char *const *)(uintptr_t)argv);
		_exit(127);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	buf_init(&r->out, SIZE_MAX);
	buf_init(&r->err, SIZE_MAX);
	(void)ngt_slurp(outp, &r->out);
	(void)ngt_slurp(errp, &r->err);
}

static void
run_free(struct run *r)
{
	buf_free(&r->out);
	buf_free(&r->err);
}

static void
write_file(const char *name, const char *data, size_t len)
{
	char path[256];
	int fd;

	str_printf(path, sizeof(path), "%s/%s", tmpdir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write_all(fd, data, len), 0);
	close(fd);
}

static void
setup(void)
{
	str_copy(tmpdir, sizeof(tmpdir), "/tmp/ngimportXXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	str_printf(spool, sizeof(spool), "%s/spool", tmpdir);
}

static void
teardown(void)
{
	char cmd[256];

	str_printf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

static void
sample_path(char *dst, size_t cap)
{
	const char *top = getenv("NEWSGATE_TOP");

	str_printf(dst, cap, "%s/contrib/sample", top ? top : ".");
}

static bool
contains(struct buf *b, const char *needle)
{
	return strstr(buf_cstr(b), needle) != NULL;
}

START_TEST(test_sample_is_one_crosspost)
{
	char sample[256], a1[256], a2[256], line[512];
	struct stat s1, s2;
	struct run r;
	struct buf art = BUF_INIT(SIZE_MAX);
	FILE *fp;

	sample_path(sample, sizeof(sample));
	run(&r, NULL, (const char *[]){"import", "--spool", spool, sample,
			  NULL});
	ck_assert_msg(r.status == 0, "import failed: %s", buf_cstr(&r.err));
	ck_assert(contains(&r.out, "imported 1, duplicates 0, rejected 0"));
	run_free(&r);

	str_printf(a1, sizeof(a1), "%s/articles/pakistan/news/1", spool);
	str_printf(a2, sizeof(a2), "%s/articles/us/statedept/1", spool);
	ck_assert_int_eq(stat(a1, &s1), 0);
	ck_assert_int_eq(stat(a2, &s2), 0);
	/* ONE file, hard-linked into both groups. */
	ck_assert_uint_eq(s1.st_ino, s2.st_ino);
	ck_assert_uint_eq(s1.st_nlink, 2);
	(void)ngt_slurp(a1, &art);
	ck_assert(contains(&art,
	    "Xref: newsgate.invalid pakistan.news:1 us.statedept:1\n"));
	ck_assert(contains(&art, "Newsgroups: pakistan.news,us.statedept\n"));
	ck_assert(contains(&art, "Subject: United States not considering "
				 "sanctions on Pakistan, assures State"));
	ck_assert(contains(&art, "format=flowed"));
	ck_assert(!contains(&art, "\r"));
	ck_assert(!contains(&art, "Back to top"));
	ck_assert(!contains(&art, "Similar News"));
	buf_free(&art);

	/* active: INN format, both groups at 1..1. */
	str_printf(a1, sizeof(a1), "%s/data/active", spool);
	fp = fopen(a1, "r");
	ck_assert_ptr_nonnull(fp);
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), fp));
	ck_assert_str_eq(line, "pakistan.news 0000000001 0000000001 y\n");
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), fp));
	ck_assert_str_eq(line, "us.statedept 0000000001 0000000001 y\n");
	fclose(fp);

	/* The overview names both numbers in its Xref field. */
	str_printf(a1, sizeof(a1), "%s/articles/pakistan/news/.overview",
	    spool);
	(void)ngt_slurp(a1, &art);
	ck_assert(!strncmp(buf_cstr(&art), "1\tUnited States", 15));
	ck_assert(contains(&art,
	    "\tXref: newsgate.invalid pakistan.news:1 us.statedept:1\n"));
	buf_free(&art);

	/* Re-import is idempotent. */
	run(&r, NULL, (const char *[]){"import", "--spool", spool, sample,
			  NULL});
	ck_assert_int_eq(r.status, 0);
	ck_assert(contains(&r.out, "imported 0, duplicates 1, rejected 0"));
	run_free(&r);

	run(&r, NULL, (const char *[]){"check", "--spool", spool, NULL});
	ck_assert_msg(r.status == 0, "check: %s%s", buf_cstr(&r.out),
	    buf_cstr(&r.err));
	run_free(&r);
}
END_TEST

START_TEST(test_bad_input_reported_rest_goes_in)
{
	struct buf b = BUF_INIT(SIZE_MAX);
	char jsonl[256], mbox[256], garbage[256], missing[256], mail[256];
	struct run r;
	int i;

	buf_puts(&b, "{\"id\":\"1\",\"date\":\"2014-03-10T00:00:00Z\","
		     "\"title\":\"First good headline\",\"text\":\"\","
		     "\"source\":\"Test\"}\n");
	buf_puts(&b, "{\"id\":\"2\", this is not json\n");
	buf_puts(&b, "{\"id\":\"3\",\"title\":\"Bad \xff\xfe utf8\"}\n");
	buf_puts(&b, "{\"id\":\"4\",\"date\":\"2014-03-10T00:00:00Z\","
		     "\"title\":\"Second good headline\",\"text\":\"Body.\","
		     "\"source\":\"Test\"}\n");
	write_file("a.jsonl", b.data, b.len);
	buf_reset(&b);

	/* A truncated mbox: the second message has no body separator and
	 * ends mid-header. */
	buf_puts(&b, "From a@example.org Mon Jan  6 10:00:00 2014\n"
		     "From: A <a@example.org>\nSubject: mbox one\n"
		     "Message-ID: <one@example.org>\n"
		     "Date: Mon, 06 Jan 2014 10:00:00 +0000\n\nbody one\n\n"
		     "From b@example.org Mon Jan  6 11:00:00 2014\n"
		     "From: B <b@example.org>\nSubject: mbox tw");
	write_file("b.mbox", b.data, b.len);
	buf_reset(&b);

	/* A single message with a 5,000-byte header line. */
	buf_puts(&b, "From: C <c@example.org>\nSubject: long header\n"
		     "Message-ID: <long@example.org>\nX-Long: ");
	for (i = 0; i < 5000; i++)
		buf_putc(&b, 'x');
	buf_puts(&b, "\n\nbody\n");
	write_file("c.eml", b.data, b.len);
	buf_reset(&b);

	for (i = 0; i < 3000; i++)
		buf_putc(&b, (char)(i * 7 + 1));
	write_file("d.bin", b.data, b.len);
	buf_free(&b);

	str_printf(jsonl, sizeof(jsonl), "%s/a.jsonl", tmpdir);
	str_printf(mbox, sizeof(mbox), "%s/b.mbox", tmpdir);
	str_printf(mail, sizeof(mail), "%s/c.eml", tmpdir);
	str_printf(garbage, sizeof(garbage), "%s/d.bin", tmpdir);
	str_printf(missing, sizeof(missing), "%s/missing.txt", tmpdir);
	run(&r, NULL, (const char *[]){"import", "--spool", spool, "--group",
			  "test.bad", jsonl, mbox, mail, garbage, missing,
			  NULL});
	ck_assert_int_ne(r.status, 0);
	ck_assert_msg(contains(&r.err, "a.jsonl:2: "), "%s", r.err.data);
	ck_assert_msg(contains(&r.err, "a.jsonl:3: "), "%s", r.err.data);
	ck_assert_msg(contains(&r.err, "b.mbox:"), "%s", r.err.data);
	ck_assert_msg(contains(&r.err, "c.eml:"), "%s", r.err.data);
	ck_assert_msg(contains(&r.err, "d.bin:"), "%s", r.err.data);
	ck_assert_msg(contains(&r.err, "missing.txt:"), "%s", r.err.data);
	/* The good records went in: 2 JSON lines and the first mbox
	 * message. */
	ck_assert_msg(contains(&r.out, "imported 3, duplicates 0"), "%s",
	    r.out.data);
	run_free(&r);

	run(&r, NULL, (const char *[]){"check", "--spool", spool, NULL});
	ck_assert_msg(r.status == 0, "check: %s", buf_cstr(&r.out));
	run_free(&r);
}
END_TEST

START_TEST(test_group_names_stay_inside_spool)
{
	const char *bad[] = {"../evil", "a/b", ".hidden", "trailing.",
	    "a..b", "", "UPPER CASE", NULL};
	struct run r;
	char path[256];
	int i;

	for (i = 0; bad[i]; i++) {
		run(&r, NULL, (const char *[]){"groups", "--spool", spool,
				  "add", bad[i], "x", NULL});
		ck_assert_msg(r.status != 0, "group '%s' accepted", bad[i]);
		run_free(&r);
		run(&r, NULL, (const char *[]){"import", "--spool", spool,
				  "--group", bad[i], "-", NULL});
		ck_assert_msg(r.status != 0, "import --group '%s' accepted",
		    bad[i]);
		run_free(&r);
	}
	str_printf(path, sizeof(path), "%s/evil", tmpdir);
	ck_assert_int_ne(access(path, F_OK), 0);
}
END_TEST

START_TEST(test_groups_add_list_remove)
{
	struct run r;

	run(&r, NULL, (const char *[]){"groups", "--spool", spool, "add",
			  "local.talk", "Local chatter", NULL});
	ck_assert_int_eq(r.status, 0);
	run_free(&r);
	run(&r, NULL, (const char *[]){"groups", "--spool", spool, "add",
			  "local.talk", "again", NULL});
	ck_assert_int_ne(r.status, 0);
	run_free(&r);
	run(&r, NULL, (const char *[]){"groups", "--spool", spool, "list",
			  NULL});
	ck_assert_int_eq(r.status, 0);
	ck_assert(contains(&r.out, "local.talk"));
	ck_assert(contains(&r.out, "Local chatter"));
	ck_assert(contains(&r.out, "pakistan.news"));
	run_free(&r);
	run(&r, NULL, (const char *[]){"groups", "--spool", spool, "remove",
			  "local.talk", NULL});
	ck_assert_int_eq(r.status, 0);
	run_free(&r);
	run(&r, NULL, (const char *[]){"groups", "--spool", spool, "list",
			  NULL});
	ck_assert(!contains(&r.out, "local.talk"));
	run_free(&r);
}
END_TEST

START_TEST(test_stdin_and_unrouted)
{
	char in[256];
	struct run r;
	const char *jl =
	    "{\"id\":\"u1\",\"date\":\"2014-03-10T00:00:00Z\","
	    "\"title\":\"Cricket scores from Lahore\",\"text\":\"\","
	    "\"source\":\"Dawn\"}\n"
	    "{\"id\":\"u2\",\"date\":\"2014-03-10T00:00:00Z\","
	    "\"title\":\"Knitting patterns for winter\",\"text\":\"\","
	    "\"source\":\"Crafts\"}\n";

	write_file("in.jsonl", jl, strlen(jl));
	str_printf(in, sizeof(in), "%s/in.jsonl", tmpdir);
	run(&r, in, (const char *[]){"import", "--spool", spool, "-", NULL});
	/* The knitting article matches no group: reported, not dropped
	 * silently, and the exit status says so. */
	ck_assert_int_ne(r.status, 0);
	ck_assert_msg(contains(&r.err, "-:2: unrouted"), "%s", r.err.data);
	ck_assert_msg(contains(&r.out, "imported 1, duplicates 0, rejected "
				       "0, unrouted 1"),
	    "%s", r.out.data);
	run_free(&r);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("import");
	TCase *tc = tcase_create("import");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_sample_is_one_crosspost);
	tcase_add_test(tc, test_bad_input_reported_rest_goes_in);
	tcase_add_test(tc, test_group_names_stay_inside_spool);
	tcase_add_test(tc, test_groups_add_list_remove);
	tcase_add_test(tc, test_stdin_and_unrouted);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
