/*
 * check_crash.c - crash safety of the spool, end to end: the real
 * `newsgate import --verbose` is killed with SIGKILL at random moments,
 * over and over, into one spool. After every kill:
 *
 *   - `newsgate check` (which rolls back an interrupted batch first) must
 *     find the spool consistent: exit status 0;
 *   - every article the importer reported committed ("committed <id>
 *     group:num ...", printed only after the batch's commit) in this or
 *     any earlier round is readable under each reported group:num, with
 *     its own Message-ID, and the number is at or below the group's high;
 *   - every article file at or below a group's high is a whole article;
 *     files above it (the killed batch, invisible) exist only while the
 *     journal is there for the next writer, which rolls them back: after
 *     a last, unkilled import none is left.
 *
 * Each round imports a few hundred new JSON Lines items (half of the
 * rounds through routing, which crossposts every third item, half with
 * --group), until CRASH_KILLS imports have been killed (an import may
 * finish before its kill). The kill moments are drawn from a seeded generator
 * (NEWSGATE_CRASH_SEED), half anywhere in the time one import takes and
 * half around its end, where the commit is; that time is estimated from
 * the imports that finished (and moved later after each kill that came
 * before any commit), never asserted.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include "common.h"
#include "ngtest.h"

#define CRASH_KILLS 55	  /* kills wanted (the issue asks for at least 50) */
#define CRASH_ROUNDS 150  /* rounds at most, killed or not */
#define CRASH_ITEMS 300	  /* items per round */
#define CRASH_MAX_REPORTS 40000

struct committed {
	char msgid[128];
	char group[64];
	uint64_t num;
};

static struct committed *reports;
static size_t nreports;

/* Write round r's items to dir/round-r.jsonl; path into out. */
static void
write_items(const char *dir, int r, char *out)
{
	struct buf b = BUF_INIT(SIZE_MAX);
	char name[64];
	int i;

	for (i = 0; i < CRASH_ITEMS; i++)
		buf_printf(&b,
		    "{\"id\": \"r%d-%d\", \"date\": \"2024-01-02T03:04:05Z\", "
		    "\"title\": \"Crash round %d story %d code%d\", "
		    "\"text\": \"Paragraph about item %d of round %d, marker "
		    "q%dx%d, in Islamabad.%s\\n\\nA second paragraph, %d.\", "
		    "\"source\": \"crashtest\", "
		    "\"url\": \"https://example.invalid/%d/%d\", "
		    "\"section\": \"Pakistan News\"}\n",
		    r, i, r, i, r * 7919 + i, i, r, r, i,
		    i % 3 == 0 ? " The State Department said so." : "", i, r,
		    i);
	ck_assert(str_printf(name, sizeof(name), "round-%d.jsonl", r));
	ck_assert_int_eq(ngt_write(dir, name, buf_cstr(&b), out), 0);
	buf_free(&b);
}

/* Parse "committed <id> [host] g:n [g:n...]" lines into reports. */
static void
parse_reports(const char *out)
{
	const char *line, *nl, *p, *sp, *colon;

	for (line = out; line && *line; line = nl ? nl + 1 : NULL) {
		char id[128];

		nl = strchr(line, '\n');
		if (nl == NULL)
			break; /* cut by the kill: not a whole report */
		if (strncmp(line, "committed <", 11) != 0)
			continue;
		p = line + 10;
		sp = memchr(p, ' ', (size_t)(nl - p));
		ck_assert_ptr_nonnull(sp);
		ck_assert_uint_lt((size_t)(sp - p), sizeof(id));
		memcpy(id, p, (size_t)(sp - p));
		id[sp - p] = '\0';
		for (p = sp + 1; p < nl; p = sp + 1) {
			struct committed *c;

			if ((sp = memchr(p, ' ', (size_t)(nl - p))) == NULL)
				sp = nl;
			colon = memrchr(p, ':', (size_t)(sp - p));
			if (colon == NULL)
				continue; /* the Xref host */
			ck_assert_uint_lt(nreports, CRASH_MAX_REPORTS);
			c = &reports[nreports++];
			(void)str_copy(c->msgid, sizeof(c->msgid), id);
			ck_assert_uint_lt((size_t)(colon - p), sizeof(c->group));
			memcpy(c->group, p, (size_t)(colon - p));
			c->group[colon - p] = '\0';
			ck_assert_int_eq(parse_u64(colon + 1,
					     (size_t)(sp - colon - 1), &c->num),
			    0);
		}
	}
}

/*
 * Run import on file with stdout to a pipe; after delay_us (0: never)
 * kill it. Returns the exit status or 128 + signal; the output in out.
 */
static int
run_import(const char *spool, const char *file, bool routed,
    long delay_us, struct buf *out)
{
	const char *argv[10];
	int p[2], status, argc = 0;
	uint64_t deadline;
	bool killed = false;
	pid_t pid;

	argv[argc++] = ngt_bin();
	argv[argc++] = "import";
	argv[argc++] = "--spool";
	argv[argc++] = spool;
	argv[argc++] = "--verbose";
	if (!routed) {
		argv[argc++] = "--group";
		argv[argc++] = "pakistan.news";
	}
	argv[argc++] = file;
	argv[argc] = NULL;
	ck_assert_int_eq(pipe(p), 0);
	if ((pid = fork()) == 0) {
		int devnull = open("/dev/null", O_RDWR);

		dup2(devnull, 0);
		dup2(p[1], 1);
		dup2(devnull, 2);
		close(p[0]);
		execv(argv[0], (char *const *)(uintptr_t)argv);
		_exit(127);
	}
	ck_assert_int_gt(pid, 0);
	close(p[1]);
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	deadline = now_ms() + (uint64_t)(delay_us / 1000);
	for (;;) {
		struct pollfd pfd = {p[0], POLLIN, 0};
		char chunk[4096];
		int wait_ms = -1;
		ssize_t n;

		if (delay_us > 0 && !killed) {
			uint64_t now = now_ms();

			if (now >= deadline) {
				if (delay_us % 1000)
					usleep((useconds_t)(delay_us % 1000));
				kill(pid, SIGKILL);
				killed = true;
			} else
				wait_ms = (int)(deadline - now);
		}
		if (poll(&pfd, 1, wait_ms) == -1 && errno != EINTR)
			break;
		n = read(p[0], chunk, sizeof(chunk));
		if (n > 0)
			buf_append(out, chunk, (size_t)n);
		else if (n == 0)
			break;
		else if (errno != EAGAIN && errno != EINTR)
			break;
	}
	close(p[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

/* The high mark of group in spool's data/active, or 0. */
static uint64_t
active_high(const char *spool, const char *group)
{
	char path[PATH_MAX], line[256];
	uint64_t high = 0;
	size_t glen = strlen(group);
	FILE *fp;

	ck_assert(str_printf(path, sizeof(path), "%s/data/active", spool));
	ck_assert_ptr_nonnull(fp = fopen(path, "r"));
	while (fgets(line, sizeof(line), fp))
		if (strncmp(line, group, glen) == 0 && line[glen] == ' ')
			ck_assert_int_eq(parse_u64(line + glen + 1, 10, &high),
			    0);
	fclose(fp);
	return high;
}

/* Reports [from, nreports) are there, whole, under each reported number. */
static void
verify_reports(const char *spool, size_t from)
{
	char dir[PATH_MAX], path[PATH_MAX + 32], want[160];
	struct buf b = BUF_INIT(SIZE_MAX);
	uint64_t high_pk = active_high(spool, "pakistan.news");
	uint64_t high_us = active_high(spool, "us.statedept");
	size_t i;

	for (i = from; i < nreports; i++) {
		const struct committed *c = &reports[i];
		char chunk[4096];
		ssize_t n;
		int fd;

		ck_assert_uint_le(c->num, strcmp(c->group, "us.statedept") == 0 ?
			high_us : high_pk);
		ngt_group_dir(spool, c->group, dir, sizeof(dir));
		ck_assert(str_printf(path, sizeof(path), "%s/%" PRIu64, dir,
		    c->num));
		fd = open(path, O_RDONLY);
		if (fd == -1)
			ck_abort_msg("committed %s %s:%" PRIu64 " is gone",
			    c->msgid, c->group, c->num);
		buf_reset(&b);
		while ((n = read(fd, chunk, sizeof(chunk))) > 0)
			buf_append(&b, chunk, (size_t)n);
		close(fd);
		ck_assert(str_printf(want, sizeof(want), "\nMessage-ID: %s\n",
		    c->msgid));
		if (strstr(buf_cstr(&b), want) == NULL)
			ck_abort_msg("%s is not %s", path, c->msgid);
		ck_assert_ptr_nonnull(strstr(buf_cstr(&b), "\n\n"));
		ck_assert(b.len > 0 && b.data[b.len - 1] == '\n');
	}
	buf_free(&b);
}

/* Size of the spool's journal (0: no batch open or left by a crash; a
 * retired journal, first octet 'x', counts as empty: docs/spool.md). */
static off_t
journal_size(const char *spool)
{
	char path[PATH_MAX], c;
	struct stat st;
	off_t size = 0;
	int fd;

	ck_assert(str_printf(path, sizeof(path), "%s/.newsgate/txn", spool));
	if ((fd = open(path, O_RDONLY)) == -1)
		return 0;
	if (fstat(fd, &st) == 0 && pread(fd, &c, 1, 0) == 1 && c != 'x')
		size = st.st_size;
	close(fd);
	return size;
}

/*
 * Every file at or below high is a whole article. Files above high belong
 * to the killed batch: invisible, and allowed only while its journal is
 * there for the next writer to roll back (strict: not at all).
 */
static void
verify_group(const char *spool, const char *group, bool strict)
{
	char dir[PATH_MAX], path[PATH_MAX + 32];
	uint64_t high = active_high(spool, group), v;
	struct dirent *de;
	struct stat st;
	DIR *d;

	ngt_group_dir(spool, group, dir, sizeof(dir));
	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (parse_u64(de->d_name, strlen(de->d_name), &v) == -1)
			continue;
		if (v > high && (strict || journal_size(spool) == 0))
			ck_abort_msg("%s:%" PRIu64 " above high %" PRIu64
				     " and no batch to roll back",
			    group, v, high);
		if (v > high)
			continue;
		ck_assert(str_printf(path, sizeof(path), "%s/%s", dir,
		    de->d_name));
		ck_assert_int_eq(stat(path, &st), 0);
		ck_assert_int_gt(st.st_size, 0);
	}
	closedir(d);
}

START_TEST(test_sigkill_import)
{
	struct ngt_dir d;
	struct buf out = BUF_INIT(SIZE_MAX);
	char file[PATH_MAX];
	const char *seed_env = getenv("NEWSGATE_CRASH_SEED");
	long seed = seed_env ? strtol(seed_env, NULL, 10) : 20240102;
	long full_us;
	uint64_t t0;
	int r, rc, killed = 0, late = 0;

	reports = xcalloc(CRASH_MAX_REPORTS, sizeof(*reports));
	nreports = 0;
	srand48(seed);
	ck_assert_int_eq(ngt_dir_new(&d, "ng-crash"), 0);
	/* Round 0 runs to the end: the spool exists, and we learn how long
	 * one import takes (only to spread the kills over it). */
	write_items(d.path, 0, file);
	t0 = now_ms();
	rc = run_import(d.spool, file, true, 0, &out);
	full_us = (long)(now_ms() - t0) * 1000;
	ck_assert_int_eq(rc, 0);
	parse_reports(buf_cstr(&out));
	ck_assert_uint_ge(nreports, CRASH_ITEMS);
	if (full_us < 20000)
		full_us = 20000;
	for (r = 1; r <= CRASH_ROUNDS && killed < CRASH_KILLS; r++) {
		const char *check[] = {"check", "--spool", d.spool, NULL};
		/* Half the kills anywhere, half around the commit at the end
		 * (the flush: appends, syncfs, the rename of active). */
		double at = drand48() < 0.5 ? drand48() : 0.6 + 0.6 * drand48();
		long delay = 1 + (long)(at * (double)full_us);
		size_t from = nreports;

		write_items(d.path, r, file);
		buf_reset(&out);
		t0 = now_ms();
		rc = run_import(d.spool, file, r % 2 == 0, delay, &out);
		if (rc == 128 + SIGKILL) {
			killed++;
			if (strstr(buf_cstr(&out), "committed <"))
				late++;
			else
				full_us += full_us / 10; /* aim later */
		}
		else {
			ck_assert_int_eq(rc, 0);
			/* Finished before its kill: aim within this time. */
			full_us = (long)(now_ms() - t0) * 1000;
			if (full_us < 20000)
				full_us = 20000;
		}
		parse_reports(buf_cstr(&out));
		buf_reset(&out);
		rc = ngt_run(check, &out, NGT_WAIT_MS);
		if (rc != 0) {
			fprintf(stderr, "%s", buf_cstr(&out));
			ck_abort_msg("round %d (seed %ld, kill after %ld us): "
				     "check failed (%d), %s kept",
			    r, seed, delay, rc, d.path);
		}
		verify_group(d.spool, "pakistan.news", false);
		verify_group(d.spool, "us.statedept", false);
		verify_reports(d.spool, from);
	}
	/* The next writer rolls back whatever the last kill left. */
	write_items(d.path, r, file);
	buf_reset(&out);
	ck_assert_int_eq(run_import(d.spool, file, true, 0, &out), 0);
	parse_reports(buf_cstr(&out));
	ck_assert_int_eq(journal_size(d.spool), 0);
	verify_group(d.spool, "pakistan.news", true);
	verify_group(d.spool, "us.statedept", true);
	verify_reports(d.spool, 0); /* every round's, once more */
	{
		const char *check[] = {"check", "--spool", d.spool, NULL};

		buf_reset(&out);
		ck_assert_int_eq(ngt_run(check, &out, NGT_WAIT_MS), 0);
	}
	fprintf(stderr, "crash: seed %ld, %d of %d imports killed (%d after "
			"a commit), %zu committed articles verified\n",
	    seed, killed, r - 1, late, nreports);
	ck_assert_int_ge(killed, 50);
	buf_free(&out);
	free(reports);
	ngt_dir_free(&d);
}
END_TEST

static Suite *
crash_suite(void)
{
	Suite *s = suite_create("crash");
	TCase *tc = tcase_create("sigkill");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_sigkill_import);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(crash_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
