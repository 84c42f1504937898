/*
 * check_export.c - `newsgate export --mbox` end to end: the sample and a
 * small thread imported into a temporary spool, exported, checked line by
 * line (separators, >From quoting) and imported back with --format mbox
 * into a second spool, where every article must come out as it went in.
 */
#include <sys/stat.h>

#include <check.h>
#include <fcntl.h>
#include <unistd.h>

#include "common.h"
#include "buf.h"
#include "ngtest.h"

/* Four messages: a thread of three (the second reply's References trimmed
 * to the root, RFC 5537 §3.4.4, and numbered before its parent) and one
 * unrelated. Bodies with lines an mbox must quote (this input is an mbox
 * itself, so its quoted line is stored with one '>' less). */
static const char THREAD_MBOX[] =
    "From a@example.org Mon Jan  6 10:00:00 2014\n"
    "From: Alice <a@example.org>\n"
    "Subject: Root story\n"
    "Message-ID: <root@example.org>\n"
    "Date: Mon, 06 Jan 2014 10:00:00 +0000\n"
    "\n"
    "Root body.\n"
    ">>From here on, said the quoted line.\n" /* stored with one '>' */
    "From here on, things change.\n"
    "\n"
    "From c@example.org Mon Jan  6 12:00:00 2014\n"
    "From: Carol <c@example.org>\n"
    "Subject: Re: Root story\n"
    "Message-ID: <reply2@example.org>\n"
    "References: <reply1@example.org>\n"
    "Date: Wed, 08 Jan 2014 12:00:00 +0000\n"
    "\n"
    "Reply two, to reply one, References trimmed.\n"
    "\n"
    "From d@example.org Thu Jan  9 12:00:00 2014\n"
    "From: Dan <d@example.org>\n"
    "Subject: Other story\n"
    "Message-ID: <other@example.org>\n"
    "Date: Thu, 09 Jan 2014 12:00:00 +0000\n"
    "\n"
    "Unrelated.\n";

/* A separate mail file: the reply both others hang on. */
static const char REPLY1_EML[] =
    "From: Bob <b@example.org>\n"
    "Subject: Re: Root story\n"
    "Message-ID: <reply1@example.org>\n"
    "References: <root@example.org>\n"
    "Date: Tue, 07 Jan 2014 11:00:00 +0000\n"
    "\n"
    "Reply one.\n"
    "From the start it was clear.\n";

static struct ngt_dir d;

static void
setup(void)
{
	ck_assert_int_eq(ngt_dir_new(&d, "ng-export"), 0);
}

static void
teardown(void)
{
	ngt_dir_free(&d);
}

/* Run newsgate; output (stdout and stderr) into out when not NULL. */
static int
run(struct buf *out, const char *const *args)
{
	if (out)
		buf_reset(out);
	return ngt_run(args, out, NGT_WAIT_MS);
}

/* The mbox "From " separators: at the start or after an empty line. */
static int
separators(const struct buf *mbox)
{
	const char *p = mbox->data, *end = mbox->data + mbox->len;
	bool prev_empty = true;
	int n = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		if (nl == NULL)
			nl = end;
		if (prev_empty && nl - p >= 5 && memcmp(p, "From ", 5) == 0)
			n++;
		prev_empty = nl == p;
		p = nl + 1;
	}
	return n;
}

static bool
has(struct buf *b, const char *needle)
{
	return strstr(buf_cstr(b), needle) != NULL;
}

/* Import the thread: the mbox and the mail file into test.thread. */
static void
import_thread(void)
{
	char mbox[PATH_MAX], eml[PATH_MAX];
	struct buf out = BUF_INIT(SIZE_MAX);

	ck_assert_int_eq(ngt_write(d.path, "thread.mbox", THREAD_MBOX, mbox),
	    0);
	ck_assert_int_eq(ngt_write(d.path, "reply1.eml", REPLY1_EML, eml), 0);
	ck_assert_msg(run(&out, (const char *[]){"import", "--spool", d.spool,
			      "--group", "test.thread", mbox, eml, NULL}) == 0,
	    "%s", buf_cstr(&out));
	ck_assert_msg(has(&out, "imported 4, duplicates 0"), "%s",
	    buf_cstr(&out));
	buf_free(&out);
}

/* Import an mbox into a second spool under group; the import's output. */
static void
reimport(const char *mbox, const char *group, struct buf *out)
{
	char spool2[PATH_MAX];

	str_printf(spool2, sizeof(spool2), "%s/spool2", d.path);
	ck_assert_msg(run(out, (const char *[]){"import", "--spool", spool2,
			      "--group", group, "--format", "mbox", mbox,
			      NULL}) == 0,
	    "%s", buf_cstr(out));
}

START_TEST(test_sample_round_trip)
{
	struct buf out = BUF_INIT(SIZE_MAX), mbox = BUF_INIT(SIZE_MAX);
	struct buf a1 = BUF_INIT(SIZE_MAX), a2 = BUF_INIT(SIZE_MAX);
	char sample[PATH_MAX], file[PATH_MAX], path[PATH_MAX];
	const char *body1, *body2;

	str_printf(sample, sizeof(sample), "%s/contrib/sample", ngt_top());
	ck_assert_int_eq(ngt_import(&d, sample), 0);
	str_printf(file, sizeof(file), "%s/sample.mbox", d.path);
	ck_assert_msg(run(&out, (const char *[]){"export", "--spool", d.spool,
			      "--mbox", "pakistan.news", "-o", file,
			      NULL}) == 0,
	    "%s", buf_cstr(&out));
	ck_assert_msg(has(&out, "exported 1 article to"), "%s",
	    buf_cstr(&out));
	ck_assert_int_eq(ngt_slurp(file, &mbox), 0);
	ck_assert_int_eq(separators(&mbox), 1);
	/* The envelope sender is the address of From, the date asctime. */
	ck_assert_msg(strncmp(mbox.data, "From news@newsgate.invalid ", 27) ==
		0,
	    "%.80s", mbox.data);
	ck_assert(has(&mbox, "\nSubject: United States not considering "
			     "sanctions on Pakistan"));
	/* One empty line after the message, none missing. */
	ck_assert(mbox.len > 2 && mbox.data[mbox.len - 1] == '\n' &&
	    mbox.data[mbox.len - 2] == '\n' && mbox.data[mbox.len - 3] != '\n');

	/* Back in through the mbox reader: the same article text. */
	reimport(file, "copy.sample", &out);
	ck_assert_msg(has(&out, "imported 1, duplicates 0, rejected 0"), "%s",
	    buf_cstr(&out));
	str_printf(path, sizeof(path), "%s/articles/pakistan/news/1", d.spool);
	ck_assert_int_eq(ngt_slurp(path, &a1), 0);
	str_printf(path, sizeof(path), "%s/spool2/articles/copy/sample/1",
	    d.path);
	ck_assert_int_eq(ngt_slurp(path, &a2), 0);
	body1 = strstr(buf_cstr(&a1), "\n\n");
	body2 = strstr(buf_cstr(&a2), "\n\n");
	ck_assert_ptr_nonnull(body1);
	ck_assert_ptr_nonnull(body2);
	ck_assert_str_eq(body1, body2);
	ck_assert(has(&a2, "Message-ID: <6d5c7763c752c84f.2854dd00@newsgate."
			   "invalid>\n"));

	/* To standard output when there is no -o: the same bytes. */
	ck_assert_int_eq(run(&out, (const char *[]){"export", "--spool",
				 d.spool, "--mbox", "pakistan.news", NULL}),
	    0);
	ck_assert_uint_eq(out.len, mbox.len);
	ck_assert(memcmp(out.data, mbox.data, mbox.len) == 0);
	buf_free(&out);
	buf_free(&mbox);
	buf_free(&a1);
	buf_free(&a2);
}
END_TEST

START_TEST(test_thread_and_from_quoting)
{
	struct buf out = BUF_INIT(SIZE_MAX), mbox = BUF_INIT(SIZE_MAX);
	struct buf art = BUF_INIT(SIZE_MAX);
	char file[PATH_MAX], path[PATH_MAX];
	int i, n;

	import_thread();
	str_printf(file, sizeof(file), "%s/thread.out", d.path);
	ck_assert_msg(run(&out, (const char *[]){"export", "--spool", d.spool,
			      "--mbox", "test.thread", "--thread",
			      "<root@example.org>", "-o", file, NULL}) == 0,
	    "%s", buf_cstr(&out));
	ck_assert_int_eq(ngt_slurp(file, &mbox), 0);
	/* Root, reply one, and reply two (found through reply one). */
	ck_assert_int_eq(separators(&mbox), 3);
	ck_assert(has(&mbox, "Message-ID: <root@example.org>"));
	ck_assert(has(&mbox, "Message-ID: <reply1@example.org>"));
	ck_assert(has(&mbox, "Message-ID: <reply2@example.org>"));
	ck_assert(!has(&mbox, "<other@example.org>"));
	/* mboxrd: every ^>*From  line gets one more '>'. */
	ck_assert(has(&mbox, "\n>From here on, things change.\n"));
	ck_assert(has(&mbox, "\n>>From here on, said the quoted line.\n"));
	ck_assert(has(&mbox, "\n>From the start it was clear.\n"));
	ck_assert(!has(&mbox, "\nFrom here on"));
	ck_assert(has(&mbox, "\nFrom b@example.org Tue Jan  7 11:00:00 2014\n"));

	/* Read back: three articles, the quoting undone exactly. */
	reimport(file, "copy.thread", &out);
	ck_assert_msg(has(&out, "imported 3, duplicates 0, rejected 0"), "%s",
	    buf_cstr(&out));
	for (i = 1, n = 0; i <= 3; i++) {
		str_printf(path, sizeof(path),
		    "%s/spool2/articles/copy/thread/%d", d.path, i);
		ck_assert_int_eq(ngt_slurp(path, &art), 0);
		if (has(&art, "Message-ID: <root@example.org>\n")) {
			ck_assert(has(&art, "\n\nRoot body.\n>From here on, "
					    "said the quoted line.\nFrom "
					    "here on, things change.\n"));
			n++;
		}
		if (has(&art, "Message-ID: <reply1@example.org>\n")) {
			ck_assert(has(&art, "\nFrom the start it was "
					    "clear.\n"));
			ck_assert(has(&art, "References: <root@example.org>"));
			n++;
		}
	}
	ck_assert_int_eq(n, 2);

	/* The id without brackets, from the middle of the thread. */
	ck_assert_int_eq(run(&out, (const char *[]){"export", "--spool",
				 d.spool, "--mbox", "test.thread", "--thread",
				 "reply1@example.org", NULL}),
	    0);
	ck_assert_int_eq(separators(&out), 2);
	ck_assert(!has(&out, "Message-ID: <root@example.org>"));
	buf_free(&out);
	buf_free(&mbox);
	buf_free(&art);
}
END_TEST

START_TEST(test_since)
{
	struct buf out = BUF_INIT(SIZE_MAX);

	import_thread();
	ck_assert_int_eq(run(&out, (const char *[]){"export", "--spool",
				 d.spool, "--mbox", "test.thread", "--since",
				 "2014-01-08", NULL}),
	    0);
	ck_assert_int_eq(separators(&out), 2);
	ck_assert(has(&out, "<reply2@example.org>"));
	ck_assert(has(&out, "<other@example.org>"));
	/* 12:00 at +01:00 is 11:00 UTC: reply one is in. */
	ck_assert_int_eq(run(&out, (const char *[]){"export", "--spool",
				 d.spool, "--mbox", "test.thread", "--since",
				 "2014-01-07T12:00:00+01:00", NULL}),
	    0);
	ck_assert_int_eq(separators(&out), 3);
	ck_assert_int_eq(run(&out, (const char *[]){"export", "--spool",
				 d.spool, "--mbox", "test.thread", "--since",
				 "2014-01-07T11:00:01Z", "--thread",
				 "<root@example.org>", NULL}),
	    0);
	ck_assert_int_eq(separators(&out), 1);
	ck_assert(has(&out, "<reply2@example.org>"));
	/* Nothing that new: an empty mbox, and that is no error. */
	ck_assert_int_eq(run(&out, (const char *[]){"export", "--spool",
				 d.spool, "--mbox", "test.thread", "--since",
				 "2030-01-01", NULL}),
	    0);
	ck_assert_uint_eq(out.len, 0);
	buf_free(&out);
}
END_TEST

START_TEST(test_errors)
{
	struct buf out = BUF_INIT(SIZE_MAX);
	char file[PATH_MAX];

	/* No spool yet. */
	ck_assert_int_ne(run(&out, (const char *[]){"export", "--spool",
				 d.spool, "--mbox", "test.thread", NULL}),
	    0);
	import_thread();
	ck_assert_int_eq(run(&out, (const char *[]){"export", "--spool",
				 d.spool, NULL}),
	    2);
	ck_assert_int_eq(run(&out, (const char *[]){"export", "--spool",
				 d.spool, "--mbox", "no.such.group", NULL}),
	    1);
	ck_assert(has(&out, "no such group"));
	ck_assert_int_eq(run(&out, (const char *[]){"export", "--spool",
				 d.spool, "--mbox", "test.thread", "--since",
				 "last tuesday", NULL}),
	    2);
	ck_assert_int_eq(run(&out, (const char *[]){"export", "--spool",
				 d.spool, "--mbox", "test.thread", "--since",
				 "2014-13-01", NULL}),
	    2);
	ck_assert_int_eq(run(&out, (const char *[]){"export", "--spool",
				 d.spool, "--mbox", "test.thread", "--thread",
				 "not an id", NULL}),
	    2);
	/* A thread the group does not have: an error, and no file. */
	str_printf(file, sizeof(file), "%s/none.mbox", d.path);
	ck_assert_int_eq(run(&out, (const char *[]){"export", "--spool",
				 d.spool, "--mbox", "test.thread", "--thread",
				 "<nobody@example.org>", "-o", file, NULL}),
	    1);
	ck_assert_int_ne(access(file, F_OK), 0);
	/* An output directory that does not exist. */
	str_printf(file, sizeof(file), "%s/no/such/dir/x.mbox", d.path);
	ck_assert_int_eq(run(&out, (const char *[]){"export", "--spool",
				 d.spool, "--mbox", "test.thread", "-o", file,
				 NULL}),
	    1);
	buf_free(&out);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("export");
	TCase *tc = tcase_create("export");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_sample_round_trip);
	tcase_add_test(tc, test_thread_and_from_quoting);
	tcase_add_test(tc, test_since);
	tcase_add_test(tc, test_errors);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
