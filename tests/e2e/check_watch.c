/*
 * check_watch.c - `newsgate import --watch DIR` end to end: the real
 * binary watching a temporary drop directory. Files are written the proper
 * way (DIR/tmp/ then rename, or a dot-file renamed later), one is broken,
 * one is written slowly in place; every wait polls with a deadline.
 */
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include "common.h"
#include "buf.h"
#include "ngtest.h"

#define POLL_MS 10

static const char GOOD_EML[] =
    "From: Alice <a@example.org>\n"
    "Subject: Dropped mail\n"
    "Message-ID: <drop1@example.org>\n"
    "Date: Mon, 06 Jan 2014 10:00:00 +0000\n"
    "\n"
    "A message dropped the proper way.\n";

static const char GOOD_JSONL[] =
    "{\"id\":\"j1\",\"date\":\"2014-03-10T00:00:00Z\",\"title\":\"Jsonl "
    "one\",\"text\":\"Body one.\",\"source\":\"Test\"}\n"
    "{\"id\":\"j2\",\"date\":\"2014-03-10T00:00:00Z\",\"title\":\"Jsonl "
    "two\",\"text\":\"Body two.\",\"source\":\"Test\"}\n";

/* Line 1 goes in, line 2 is refused. */
static const char BAD_JSONL[] =
    "{\"id\":\"b1\",\"date\":\"2014-03-10T00:00:00Z\",\"title\":\"Good "
    "line of a bad file\",\"text\":\"\",\"source\":\"Test\"}\n"
    "{\"id\":\"b2\", this is not json\n";

static const char PARTIAL_EML[] =
    "From: Pat <p@example.org>\n"
    "Subject: Renamed from a dot-file\n"
    "Message-ID: <partial@example.org>\n"
    "Date: Mon, 06 Jan 2014 12:00:00 +0000\n"
    "\n"
    "Hidden until renamed.\n";

struct watcher {
	pid_t pid;
	char out[PATH_MAX]; /* its stdout */
	char err[PATH_MAX]; /* its stderr */
};

static struct ngt_dir d;
static char drop[PATH_MAX];

static void
sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static void
setup(void)
{
	ck_assert_int_eq(ngt_dir_new(&d, "ng-watch"), 0);
	str_printf(drop, sizeof(drop), "%s/drop", d.path);
	ck_assert_int_eq(mkdir(drop, 0755), 0);
}

static void
teardown(void)
{
	ngt_dir_free(&d);
}

static bool
exists(const char *dir, const char *name)
{
	char path[PATH_MAX];

	str_printf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

/* Poll for drop/rel to exist, up to the deadline. */
static bool
wait_for(const char *rel)
{
	uint64_t deadline = now_ms() + NGT_WAIT_MS;

	while (now_ms() < deadline) {
		if (exists(drop, rel))
			return true;
		sleep_ms(POLL_MS);
	}
	return exists(drop, rel);
}

/* Write content to drop/tmp/name, then rename it into drop/. */
static void
drop_file(const char *name, const char *content)
{
	char dir[PATH_MAX], tmp[PATH_MAX], final[PATH_MAX];

	str_printf(dir, sizeof(dir), "%s/tmp", drop);
	ck_assert_int_eq(ngt_write(dir, name, content, tmp), 0);
	str_printf(final, sizeof(final), "%s/%s", drop, name);
	ck_assert_int_eq(rename(tmp, final), 0);
}

/* Start `newsgate import --spool SPOOL --group test.drop --watch DROP`. */
static void
watcher_start(struct watcher *w)
{
	const char *argv[] = {ngt_bin(), "import", "--spool", d.spool,
	    "--group", "test.drop", "--watch", drop, "--interval-ms", "50",
	    NULL};
	int fd;

	str_printf(w->out, sizeof(w->out), "%s/watch.out", d.path);
	str_printf(w->err, sizeof(w->err), "%s/watch.err", d.path);
	ck_assert_int_ge(w->pid = fork(), 0);
	if (w->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if ((fd = open("/dev/null", O_RDONLY)) != -1)
			dup2(fd, 0);
		if ((fd = open(w->out, O_WRONLY | O_CREAT | O_TRUNC, 0644)) !=
		    -1)
			dup2(fd, 1);
		if ((fd = open(w->err, O_WRONLY | O_CREAT | O_TRUNC, 0644)) !=
		    -1)
			dup2(fd, 2);
		execv(argv[0], (char *const *)(void *)argv);
		_exit(127);
	}
	/* It is watching once it has made tmp/, done/ and failed/. */
	ck_assert_msg(wait_for("failed"), "the watcher never started");
}

/* Send sig and wait for the exit: its status, 128 + signal when killed. */
static int
watcher_stop(struct watcher *w, int sig)
{
	uint64_t deadline = now_ms() + NGT_WAIT_MS;
	int st;
	pid_t r;

	ck_assert_int_eq(kill(w->pid, sig), 0);
	while ((r = waitpid(w->pid, &st, WNOHANG)) == 0 &&
	    now_ms() < deadline)
		sleep_ms(POLL_MS);
	if (r == 0) {
		kill(w->pid, SIGKILL);
		waitpid(w->pid, &st, 0);
		return 128 + SIGKILL;
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* The count column of `newsgate groups list` for group, or -1. */
static long
group_count(const char *group)
{
	struct buf out = BUF_INIT(SIZE_MAX);
	unsigned long lo, hi, count;
	char name[128];
	const char *p;
	long n = -1;

	ck_assert_int_eq(ngt_run((const char *[]){"groups", "--spool",
				     d.spool, "list", NULL},
			     &out, NGT_WAIT_MS),
	    0);
	for (p = buf_cstr(&out); p != NULL && *p != '\0';
	     p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (sscanf(p, "%127s %lu %lu %lu", name, &lo, &hi, &count) ==
			4 &&
		    strcmp(name, group) == 0)
			n = (long)count;
	buf_free(&out);
	return n;
}

static void
put(int fd, const char *s)
{
	ck_assert_int_eq(write_all(fd, s, strlen(s)), 0);
}

static bool
has(struct buf *b, const char *needle)
{
	return strstr(buf_cstr(b), needle) != NULL;
}

START_TEST(test_drop_directory)
{
	struct buf b = BUF_INIT(SIZE_MAX);
	char path[PATH_MAX], dotp[PATH_MAX], line[128];
	struct watcher w;
	uint64_t deadline;
	int fd, i;

	watcher_start(&w);
	drop_file("good1.eml", GOOD_EML);
	drop_file("good2.jsonl", GOOD_JSONL);
	drop_file("bad.jsonl", BAD_JSONL);
	/* A dot-file is never taken, however old: a writer's work file. */
	ck_assert_int_eq(ngt_write(drop, ".partial.eml", PARTIAL_EML, dotp),
	    0);

	/* Written in place, slowly: never taken half-written. */
	str_printf(path, sizeof(path), "%s/slow.eml", drop);
	ck_assert_int_ge(fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644),
	    0);
	put(fd, "From: Sam <s@example.org>\nSubject: Written slowly\n");
	deadline = now_ms() + NGT_WAIT_MS;
	for (i = 0; now_ms() < deadline; i++) {
		/* Still being written: must still be where it is. */
		ck_assert_msg(exists(drop, "slow.eml"), "taken half-written");
		ck_assert(!exists(drop, "done/slow.eml"));
		ck_assert(!exists(drop, "failed/slow.eml"));
		if (i >= 40 && exists(drop, "done/good1.eml") &&
		    exists(drop, "done/good2.jsonl") &&
		    exists(drop, "failed/bad.jsonl"))
			break;
		if (i == 0)
			put(fd, "Message-ID: <slow@example.org>\n"
				"Date: Mon, 06 Jan 2014 11:00:00 +0000\n\n");
		else {
			str_printf(line, sizeof(line), "Slow line %d.\n", i);
			put(fd, line);
		}
		sleep_ms(50);
	}
	put(fd, "The end of the slow file.\n");
	ck_assert_int_eq(close(fd), 0);

	/* The others went their ways meanwhile; the dot-file stayed. */
	ck_assert(exists(drop, "done/good1.eml"));
	ck_assert(exists(drop, "done/good2.jsonl"));
	ck_assert(exists(drop, "failed/bad.jsonl"));
	ck_assert(!exists(drop, "good1.eml"));
	ck_assert(!exists(drop, "bad.jsonl"));
	ck_assert(exists(drop, ".partial.eml"));
	str_printf(path, sizeof(path), "%s/failed/bad.jsonl.reason", drop);
	(void)ngt_slurp(path, &b);
	ck_assert_msg(has(&b, "bad.jsonl:2: "), "reason: %s", buf_cstr(&b));
	ck_assert_msg(!has(&b, "bad.jsonl:1: "), "reason: %s", buf_cstr(&b));

	/* Renamed in: taken. */
	str_printf(path, sizeof(path), "%s/partial.eml", drop);
	ck_assert_int_eq(rename(dotp, path), 0);
	ck_assert_msg(wait_for("done/slow.eml"), "slow.eml never taken");
	ck_assert_msg(wait_for("done/partial.eml"), "partial.eml never taken");

	/* The same file again: all duplicates, done/ under a new name. */
	drop_file("good1.eml", GOOD_EML);
	ck_assert_msg(wait_for("done/good1.eml.1"), "second good1.eml");

	/* good1 1, good2 2, the good line of bad 1, slow 1, partial 1. */
	ck_assert_int_eq(group_count("test.drop"), 6);
	/* The slow article went in whole. */
	buf_reset(&b);
	ck_assert_int_eq(ngt_run((const char *[]){"export", "--spool", d.spool,
				     "--mbox", "test.drop", "--thread",
				     "<slow@example.org>", NULL},
			     &b, NGT_WAIT_MS),
	    0);
	ck_assert_msg(has(&b, "\nSlow line 1.\n"), "%s", buf_cstr(&b));
	ck_assert_msg(has(&b, "\nThe end of the slow file.\n"), "%s",
	    buf_cstr(&b));

	ck_assert_int_eq(watcher_stop(&w, SIGTERM), 0);
	(void)ngt_slurp(w.out, &b);
	ck_assert_msg(has(&b, "done/good1.eml: imported 1, duplicates 0"),
	    "%s", buf_cstr(&b));
	ck_assert_msg(has(&b, "done/good2.jsonl: imported 2, duplicates 0"),
	    "%s", buf_cstr(&b));
	ck_assert_msg(has(&b, "failed/bad.jsonl: imported 1, duplicates 0, "
			      "rejected 1"),
	    "%s", buf_cstr(&b));
	ck_assert_msg(has(&b, "done/good1.eml.1: imported 0, duplicates 1"),
	    "%s", buf_cstr(&b));
	ck_assert_msg(!has(&b, "failed/slow.eml"), "%s", buf_cstr(&b));
	ck_assert_int_eq(ngt_run((const char *[]){"check", "--spool", d.spool,
				     NULL},
			     NULL, NGT_WAIT_MS),
	    0);
	buf_free(&b);
}
END_TEST

START_TEST(test_one_watcher_and_stop)
{
	struct buf out = BUF_INIT(SIZE_MAX);
	char missing[PATH_MAX];
	struct watcher w;

	str_printf(missing, sizeof(missing), "%s/no-such-dir", d.path);
	ck_assert_int_ne(ngt_run((const char *[]){"import", "--spool",
				     d.spool, "--watch", missing, NULL},
			     &out, NGT_WAIT_MS),
	    0);
	/* --watch takes no files, and a sane interval. */
	ck_assert_int_eq(ngt_run((const char *[]){"import", "--spool",
				     d.spool, "--watch", drop, "x.eml", NULL},
			     NULL, NGT_WAIT_MS),
	    2);
	ck_assert_int_eq(ngt_run((const char *[]){"import", "--spool",
				     d.spool, "--watch", drop,
				     "--interval-ms", "0", NULL},
			     NULL, NGT_WAIT_MS),
	    2);

	watcher_start(&w);
	buf_reset(&out);
	ck_assert_int_ne(ngt_run((const char *[]){"import", "--spool",
				     d.spool, "--watch", drop, NULL},
			     &out, NGT_WAIT_MS),
	    0);
	ck_assert_msg(has(&out, "another watcher"), "%s", buf_cstr(&out));
	drop_file("one.eml", GOOD_EML);
	ck_assert(wait_for("done/one.eml"));
	/* SIGINT stops it as cleanly as SIGTERM. */
	ck_assert_int_eq(watcher_stop(&w, SIGINT), 0);
	ck_assert_int_eq(group_count("test.drop"), 1);
	buf_free(&out);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("watch");
	TCase *tc = tcase_create("watch");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_drop_directory);
	tcase_add_test(tc, test_one_watcher_and_stop);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
