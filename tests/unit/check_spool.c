/*
 * check_spool.c - the spool: layout, batches and crossposts, numbering,
 * dedupe, group names, overview ranges through the index, readers seeing
 * other processes' commits, crash recovery, check and rebuild, a failed
 * flush. Every test works in its own mkdtemp() directory.
 */
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include "common.h"
#include "spool.h"

#define HOST "news.example"

static char tmpdir[64];
static char spooldir[128];

static void
setup(void)
{
	(void)str_copy(tmpdir, sizeof(tmpdir), "/tmp/ngspoolXXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	ck_assert(str_printf(spooldir, sizeof(spooldir), "%s/spool", tmpdir));
}

static void
teardown(void)
{
	char cmd[256];

	if (str_printf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir))
		(void)!system(cmd);
}

static struct article *
mkart(const char *msgid, const char *subject, const char *body)
{
	struct article *a = article_new();

	article_set(a, "Path", "news.example!not-for-mail");
	article_set(a, "From", "Tester <t@example.invalid>");
	article_set(a, "Subject", subject);
	article_set(a, "Date", "Tue, 03 Jan 2017 10:00:00 +0000");
	article_set(a, "Message-ID", msgid);
	article_set_body(a, xstrdup(body), strlen(body));
	return a;
}

/* Add one article (msgid <N@test>) to the groups; returns its first
 * number. */
static uint64_t
add(struct spool *sp, int n, const char *const *groups, size_t ngroups)
{
	char id[64], subj[64];
	uint64_t nums[SPOOL_XPOST_MAX];
	struct article *a;

	ck_assert(str_printf(id, sizeof(id), "<%d@test>", n));
	ck_assert(str_printf(subj, sizeof(subj), "Subject\tnumber %d", n));
	a = mkart(id, subj, "line one\nline two\n");
	ck_assert_int_eq(spool_add(sp, a, groups, ngroups,
			     article_fingerprint(a), nums),
	    0);
	article_free(a);
	return nums[0];
}

/* The fingerprint add() records for article n. */
static uint64_t
fp_of(int n)
{
	char id[64], subj[64];
	struct article *a;
	uint64_t fp;

	ck_assert(str_printf(id, sizeof(id), "<%d@test>", n));
	ck_assert(str_printf(subj, sizeof(subj), "Subject\tnumber %d", n));
	a = mkart(id, subj, "line one\nline two\n");
	fp = article_fingerprint(a);
	article_free(a);
	return fp;
}

/* Is a batch open (or left by a crash) in the journal? Empty and retired
 * (first octet 'x', docs/spool.md) journals are not. */
static bool
journal_live(void)
{
	char path[512], c;
	bool live;
	int fd;

	ck_assert(str_printf(path, sizeof(path), "%s/.newsgate/txn", spooldir));
	if ((fd = open(path, O_RDONLY)) == -1)
		return false;
	live = pread(fd, &c, 1, 0) == 1 && c != 'x';
	close(fd);
	return live;
}

static struct spool *
mkspool(void)
{
	struct spool *sp = spool_open(spooldir, HOST, SPOOL_WRITE);

	ck_assert_ptr_nonnull(sp);
	ck_assert_int_eq(spool_group_add(sp, "a.b", "Group AB", 'y', "me"), 0);
	ck_assert_int_eq(spool_group_add(sp, "c.d", "Group CD", 'y', "me"), 0);
	return sp;
}

static char *
slurp(const char *rel)
{
	char path[512];
	struct buf b = BUF_INIT(SIZE_MAX);
	char chunk[4096];
	ssize_t n;
	int fd;

	ck_assert(str_printf(path, sizeof(path), "%s/%s", spooldir, rel));
	if ((fd = open(path, O_RDONLY)) == -1)
		return NULL;
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		buf_append(&b, chunk, (size_t)n);
	close(fd);
	return buf_steal(&b);
}

/* a.b:2 and its crosspost c.d:1 are one file (two links); its size. */
static off_t
crosspost_one_inode(void)
{
	char p1[512], p2[512];
	struct stat s1, s2;

	ck_assert(str_printf(p1, sizeof(p1), "%s/articles/a/b/2", spooldir));
	ck_assert(str_printf(p2, sizeof(p2), "%s/articles/c/d/1", spooldir));
	ck_assert_int_eq(stat(p1, &s1), 0);
	ck_assert_int_eq(stat(p2, &s2), 0);
	ck_assert_uint_eq(s1.st_ino, s2.st_ino);
	ck_assert_uint_eq(s1.st_nlink, 2);
	return s1.st_size;
}

static void
spit(const char *rel, const char *text, bool append)
{
	char path[512];
	int fd;

	ck_assert(str_printf(path, sizeof(path), "%s/%s", spooldir, rel));
	fd = open(path, O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC),
	    0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write_all(fd, text, strlen(text)), 0);
	close(fd);
}

static bool
exists(const char *rel)
{
	char path[512];
	struct stat st;

	ck_assert(str_printf(path, sizeof(path), "%s/%s", spooldir, rel));
	return stat(path, &st) == 0;
}

static off_t
fsize(const char *rel)
{
	char path[512];
	struct stat st;

	ck_assert(str_printf(path, sizeof(path), "%s/%s", spooldir, rel));
	return stat(path, &st) == 0 ? st.st_size : -1;
}

/* Can another writer take the lock right now? */
static bool
lock_is_free(void)
{
	char path[512];
	bool ok;
	int fd;

	ck_assert(str_printf(path, sizeof(path), "%s/.newsgate/lock",
	    spooldir));
	ck_assert_int_ge(fd = open(path, O_RDWR), 0);
	ok = flock(fd, LOCK_EX | LOCK_NB) == 0;
	close(fd);
	return ok;
}

struct reports {
	int n;
	char last[512];
	char all[8192];
};

static void
collect(void *arg, const char *problem)
{
	struct reports *r = arg;
	size_t len = strlen(r->all);

	r->n++;
	(void)str_copy(r->last, sizeof(r->last), problem);
	if (len < sizeof(r->all) - 1)
		(void)str_printf(r->all + len, sizeof(r->all) - len, "%s\n",
		    problem);
}

static int
check_spool(struct spool *sp, bool rebuild, struct reports *r)
{
	int n;

	memset(r, 0, sizeof(*r));
	n = spool_check(sp, rebuild, collect, r);
	if (n != 0)
		fprintf(stderr, "check found %d:\n%s", n, r->all);
	return n;
}

static const char *const AB[] = {"a.b"};
static const char *const ABCD[] = {"a.b", "c.d"};

START_TEST(test_create_layout)
{
	struct spool *sp = spool_open(spooldir, HOST, SPOOL_WRITE);
	char *fmt;

	ck_assert_ptr_nonnull(sp);
	ck_assert(exists("data/active"));
	ck_assert(exists("data/active.times"));
	ck_assert(exists("data/newsgroups"));
	ck_assert(exists("data/history"));
	ck_assert(exists("articles"));
	ck_assert(exists(".newsgate/lock"));
	fmt = slurp("data/overview.fmt");
	ck_assert_str_eq(fmt, "Subject:\nFrom:\nDate:\nMessage-ID:\n"
			      "References:\nBytes:\nLines:\nXref:full\n");
	free(fmt);
	spool_close(sp);
	/* Reading a spool that is not there. */
	ck_assert_ptr_null(spool_open("/nonexistent/spool", HOST, SPOOL_READ));
	ck_assert_int_eq(errno, ENOENT);
}
END_TEST

/* The number formatting active and the journal use instead of printf. */
START_TEST(test_put_u64w)
{
	struct buf b = BUF_INIT(SIZE_MAX);

	buf_put_u64w(&b, 0, 10);
	buf_putc(&b, ' ');
	buf_put_u64w(&b, 42, 10);
	buf_putc(&b, ' ');
	buf_put_u64w(&b, 12345678901ULL, 10);
	buf_putc(&b, ' ');
	buf_put_u64w(&b, UINT64_MAX, 10);
	buf_putc(&b, ' ');
	buf_put_u64(&b, 0);
	buf_putc(&b, ' ');
	buf_put_u64(&b, 907);
	ck_assert_str_eq(buf_cstr(&b), "0000000000 0000000042 12345678901 "
				       "18446744073709551615 0 907");
	buf_free(&b);
}
END_TEST

START_TEST(test_empty_group_low_is_high_plus_one)
{
	struct spool *sp = mkspool();
	const struct spool_group *g;
	char *active, *times, *ng;

	active = slurp("data/active");
	ck_assert_str_eq(active, "a.b 0000000000 0000000001 y\n"
				 "c.d 0000000000 0000000001 y\n");
	times = slurp("data/active.times");
	ck_assert_ptr_nonnull(strstr(times, "a.b "));
	ck_assert_ptr_nonnull(strstr(times, " me\n"));
	ng = slurp("data/newsgroups");
	ck_assert_str_eq(ng, "a.b\tGroup AB\nc.d\tGroup CD\n");
	g = spool_group(sp, "a.b");
	ck_assert_uint_eq(g->high, 0);
	ck_assert_uint_eq(g->low, 1);
	ck_assert_str_eq(g->description, "Group AB");
	ck_assert_str_eq(g->creator, "me");
	ck_assert(exists("articles/a/b"));
	ck_assert_int_eq(spool_group_add(sp, "a.b", "x", 'y', "me"), -1);
	ck_assert_int_eq(errno, EEXIST);
	free(active);
	free(times);
	free(ng);
	spool_close(sp);
}
END_TEST

START_TEST(test_add_and_flush)
{
	struct spool *sp = mkspool();
	struct spool_loc loc;
	struct buf b = BUF_INIT(SIZE_MAX);
	char *active, *ov, *hist;
	char want[256];

	ck_assert_uint_eq(add(sp, 1, AB, 1), 1);
	ck_assert_uint_eq(spool_pending(sp), 1);
	ck_assert(!lock_is_free());
	/* Staged: in history for dedupe, not yet visible. */
	ck_assert(spool_has_msgid(sp, "<1@test>"));
	ck_assert_uint_eq(spool_group(sp, "a.b")->high, 0);
	ck_assert_int_eq(spool_flush(sp), 0);
	ck_assert_uint_eq(spool_pending(sp), 0);
	ck_assert(lock_is_free());
	ck_assert_uint_eq(spool_group(sp, "a.b")->high, 1);
	active = slurp("data/active");
	ck_assert_str_eq(active, "a.b 0000000001 0000000001 y\n"
				 "c.d 0000000000 0000000001 y\n");
	ck_assert_int_eq(spool_article_read(sp, "a.b", 1, &b), 0);
	ck_assert_ptr_nonnull(strstr(b.data, "\nXref: " HOST " a.b:1\n"));
	ck_assert_ptr_nonnull(strstr(b.data, "\nNewsgroups: a.b\n"));
	ck_assert_ptr_nonnull(strstr(b.data, "\nLines: 2\n"));
	ck_assert_ptr_null(strchr(b.data, '\r'));
	ov = slurp("articles/a/b/.overview");
	ck_assert(str_printf(want, sizeof(want),
	    "1\tSubject number 1\tTester <t@example.invalid>\t"
	    "Tue, 03 Jan 2017 10:00:00 +0000\t<1@test>\t\t%zu\t2\t"
	    "Xref: " HOST " a.b:1\n",
	    b.len));
	ck_assert_str_eq(ov, want);
	ck_assert_int_eq(fsize(".newsgate/index/a.b.idx"), 16);
	hist = slurp("data/history");
	ck_assert_ptr_nonnull(strstr(hist, "<1@test>\t"));
	ck_assert_ptr_nonnull(strstr(hist, "\ta.b:1\n"));
	ck_assert_int_eq(spool_lookup(sp, "<1@test>", &loc), 0);
	ck_assert_str_eq(loc.group, "a.b");
	ck_assert_uint_eq(loc.num, 1);
	ck_assert(spool_has_fingerprint(sp, fp_of(1)));
	ck_assert(!spool_has_fingerprint(sp, fp_of(2)));
	ck_assert(!journal_live());
	free(active);
	free(ov);
	free(hist);
	buf_free(&b);
	spool_close(sp);
}
END_TEST

START_TEST(test_crosspost_is_one_file)
{
	struct spool *sp = mkspool();
	char *ov1, *ov2;

	add(sp, 1, AB, 1);
	add(sp, 2, ABCD, 2);
	ck_assert_int_eq(spool_flush(sp), 0);
	(void)crosspost_one_inode();
	ov1 = slurp("articles/a/b/.overview");
	ov2 = slurp("articles/c/d/.overview");
	ck_assert_ptr_nonnull(
	    strstr(ov1, "\n2\tSubject number 2\t"));
	ck_assert_ptr_nonnull(strstr(ov1, "Xref: " HOST " a.b:2 c.d:1\n"));
	ck_assert(strncmp(ov2, "1\tSubject number 2\t", 19) == 0);
	ck_assert_ptr_nonnull(strstr(ov2, "Xref: " HOST " a.b:2 c.d:1\n"));
	free(ov1);
	free(ov2);
	spool_close(sp);
}
END_TEST

START_TEST(test_numbers_monotonic_across_reopen)
{
	struct spool *sp = mkspool();

	ck_assert_uint_eq(add(sp, 1, AB, 1), 1);
	ck_assert_uint_eq(add(sp, 2, AB, 1), 2);
	spool_close(sp); /* flushes */
	sp = spool_open(spooldir, HOST, SPOOL_WRITE);
	ck_assert_ptr_nonnull(sp);
	ck_assert_uint_eq(spool_group(sp, "a.b")->high, 2);
	ck_assert_uint_eq(add(sp, 3, AB, 1), 3);
	spool_abort(sp);
	/* An aborted number is free again, never a committed one. */
	ck_assert_uint_eq(add(sp, 4, AB, 1), 3);
	ck_assert_int_eq(spool_flush(sp), 0);
	ck_assert(!spool_has_msgid(sp, "<3@test>"));
	ck_assert_uint_eq(add(sp, 5, AB, 1), 4);
	spool_close(sp);
}
END_TEST

START_TEST(test_dedupe_eexist)
{
	struct spool *sp = mkspool();
	struct article *a;
	uint64_t nums[2];

	add(sp, 1, AB, 1);
	a = mkart("<1@test>", "again", "x\n");
	/* Staged. */
	ck_assert_int_eq(spool_add(sp, a, AB, 1, 0, nums), -1);
	ck_assert_int_eq(errno, EEXIST);
	ck_assert_int_eq(spool_flush(sp), 0);
	/* Committed, and from another handle. */
	spool_close(sp);
	sp = spool_open(spooldir, HOST, SPOOL_WRITE);
	ck_assert_int_eq(spool_add(sp, a, ABCD, 2, 0, nums), -1);
	ck_assert_int_eq(errno, EEXIST);
	/* Refused with nothing staged: the writer lock is not kept. */
	ck_assert(lock_is_free());
	article_free(a);
	/* Bad requests. */
	a = mkart("no-angle-brackets", "bad", "x\n");
	ck_assert_int_eq(spool_add(sp, a, AB, 1, 0, nums), -1);
	ck_assert_int_eq(errno, EINVAL);
	article_free(a);
	a = mkart("<2@test>", "s", "x\n");
	{
		const char *const nosuch[] = {"no.such"};
		const char *const twice[] = {"a.b", "a.b"};

		ck_assert_int_eq(spool_add(sp, a, nosuch, 1, 0, nums), -1);
		ck_assert_int_eq(errno, ENOENT);
		ck_assert_int_eq(spool_add(sp, a, twice, 2, 0, nums), -1);
		ck_assert_int_eq(errno, EINVAL);
	}
	article_free(a);
	spool_close(sp);
}
END_TEST

START_TEST(test_group_names)
{
	char name[200];
	struct spool *sp;

	ck_assert(spool_group_name_valid("pakistan.news"));
	ck_assert(spool_group_name_valid("a"));
	ck_assert(spool_group_name_valid("comp.lang.c++"));
	ck_assert(!spool_group_name_valid(""));
	ck_assert(!spool_group_name_valid(".."));
	ck_assert(!spool_group_name_valid("."));
	ck_assert(!spool_group_name_valid("a..b"));
	ck_assert(!spool_group_name_valid("a/b"));
	ck_assert(!spool_group_name_valid("../etc"));
	ck_assert(!spool_group_name_valid(".a"));
	ck_assert(!spool_group_name_valid("a."));
	ck_assert(!spool_group_name_valid("a b"));
	ck_assert(!spool_group_name_valid("a*b"));
	ck_assert(!spool_group_name_valid("a.1"));
	ck_assert(!spool_group_name_valid("a\tb"));
	memset(name, 'x', 128);
	name[128] = '\0';
	ck_assert(spool_group_name_valid(name));
	name[128] = 'x';
	name[129] = '\0';
	ck_assert(!spool_group_name_valid(name));
	sp = spool_open(spooldir, HOST, SPOOL_WRITE);
	ck_assert_int_eq(spool_group_add(sp, "../x", "", 'y', "me"), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(spool_group_add(sp, name, "", 'y', "me"), -1);
	ck_assert_int_eq(errno, EINVAL);
	name[128] = '\0';
	ck_assert_int_eq(spool_group_add(sp, name, "", 'y', "me"), 0);
	ck_assert_int_eq(spool_article_open(sp, "../x", 1), -1);
	ck_assert_int_eq(errno, EINVAL);
	spool_close(sp);
}
END_TEST

struct lines {
	int n;
	uint64_t nums[64];
};

static int
over_cb(void *arg, uint64_t num, const char *line, size_t len)
{
	struct lines *l = arg;
	uint64_t v;
	const char *tab = memchr(line, '\t', len);

	ck_assert_ptr_nonnull(tab);
	ck_assert_int_eq(parse_u64(line, (size_t)(tab - line), &v), 0);
	ck_assert_uint_eq(v, num);
	ck_assert_ptr_null(memchr(line, '\n', len));
	if (l->n < 64)
		l->nums[l->n] = num;
	l->n++;
	return 0;
}

static int
over_count(struct spool *sp, const char *g, uint64_t lo, uint64_t hi,
    struct lines *l)
{
	memset(l, 0, sizeof(*l));
	ck_assert_int_eq(spool_over(sp, g, lo, hi, over_cb, l), 0);
	return l->n;
}

static void
over_ranges(struct spool *sp)
{
	struct buf line = BUF_INIT(SIZE_MAX);
	struct lines l;

	ck_assert_int_eq(over_count(sp, "a.b", 3, 5, &l), 3);
	ck_assert_uint_eq(l.nums[0], 3);
	ck_assert_uint_eq(l.nums[2], 5);
	ck_assert_int_eq(over_count(sp, "a.b", 0, 1000, &l), 20);
	ck_assert_int_eq(over_count(sp, "a.b", 20, 20, &l), 1);
	ck_assert_int_eq(over_count(sp, "a.b", 21, 30, &l), 0);
	ck_assert_int_eq(over_count(sp, "a.b", 5, 3, &l), 0);
	ck_assert_int_eq(over_count(sp, "a.b", 19, UINT64_MAX, &l), 2);
	ck_assert_int_eq(over_count(sp, "c.d", 1, 100, &l), 0);
	ck_assert_int_eq(spool_over_one(sp, "a.b", 7, &line), 0);
	ck_assert(strncmp(line.data, "7\tSubject number 7\t", 19) == 0);
	buf_reset(&line);
	ck_assert_int_eq(spool_over_one(sp, "a.b", 21, &line), -1);
	ck_assert_int_eq(spool_over_one(sp, "a.b", 0, &line), -1);
	ck_assert_int_eq(spool_over(sp, "no.such", 1, 2, over_cb, &l), -1);
	buf_free(&line);
}

START_TEST(test_over_ranges)
{
	struct spool *sp = mkspool(), *rd;
	int i;

	for (i = 1; i <= 12; i++)
		add(sp, i, AB, 1);
	ck_assert_int_eq(spool_flush(sp), 0);
	for (i = 13; i <= 20; i++)
		add(sp, i, AB, 1);
	ck_assert_int_eq(spool_flush(sp), 0);
	ck_assert_int_eq(fsize(".newsgate/index/a.b.idx"), 20 * 16);
	over_ranges(sp);
	/* A lost index: readers index the tail in memory. */
	{
		char p[512];

		ck_assert(str_printf(p, sizeof(p),
		    "%s/.newsgate/index/a.b.idx", spooldir));
		ck_assert_int_eq(truncate(p, 7 * 16), 0);
		rd = spool_open(spooldir, HOST, SPOOL_READ);
		over_ranges(rd);
		ck_assert_int_eq(unlink(p), 0);
		spool_close(rd);
		rd = spool_open(spooldir, HOST, SPOOL_READ);
		over_ranges(rd);
		spool_close(rd);
	}
	/* The next writer to touch the group rebuilds the index. */
	add(sp, 21, AB, 1);
	ck_assert_int_eq(spool_flush(sp), 0);
	ck_assert_int_eq(fsize(".newsgate/index/a.b.idx"), 21 * 16);
	spool_close(sp);
}
END_TEST

START_TEST(test_refresh_sees_other_commit)
{
	struct spool *sp = mkspool(), *rd;
	struct buf b = BUF_INIT(SIZE_MAX);
	struct lines l;
	size_t n;

	add(sp, 1, AB, 1);
	ck_assert_int_eq(spool_flush(sp), 0);
	rd = spool_open(spooldir, HOST, SPOOL_READ);
	ck_assert_ptr_nonnull(rd);
	ck_assert_uint_eq(spool_group(rd, "a.b")->high, 1);
	ck_assert_int_eq(spool_refresh(rd), 0);
	add(sp, 2, ABCD, 2);
	/* Staged and written, not committed: the reader sees nothing. */
	ck_assert_int_eq(spool_refresh(rd), 0);
	ck_assert_int_eq(spool_article_open(rd, "a.b", 2), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_eq(over_count(rd, "a.b", 1, 10, &l), 1);
	ck_assert_int_eq(spool_flush(sp), 0);
	ck_assert_int_eq(spool_refresh(rd), 1);
	ck_assert_uint_eq(spool_group(rd, "a.b")->high, 2);
	ck_assert_uint_eq(spool_group(rd, "c.d")->high, 1);
	ck_assert(spool_has_msgid(rd, "<2@test>"));
	ck_assert_int_eq(spool_article_read(rd, "c.d", 1, &b), 0);
	ck_assert_int_eq(over_count(rd, "a.b", 1, 10, &l), 2);
	/* A group added by another process. */
	ck_assert_int_eq(spool_group_add(sp, "e.f", "EF", 'n', "me"), 0);
	ck_assert_int_eq(spool_refresh(rd), 1);
	spool_groups(rd, &n);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(spool_group(rd, "e.f")->flag, 'n');
	ck_assert_int_eq(spool_refresh(rd), 0);
	/* Readers never write. */
	ck_assert_int_eq(spool_group_add(rd, "g.h", "", 'y', "me"), -1);
	ck_assert_int_eq(errno, EROFS);
	buf_free(&b);
	spool_close(rd);
	spool_close(sp);
}
END_TEST

static int
since_cb(void *arg, const struct spool_hist *h)
{
	int *n = arg;

	ck_assert(h->msgid[0] == '<');
	ck_assert_ptr_nonnull(strchr(h->location, ':'));
	(*n)++;
	return 0;
}

/* A writer's recorded commits bring a reader of the same spool up to date
 * without reading the files; a reader that is not exactly where a commit
 * began is left alone (it refreshes instead). */
START_TEST(test_apply_commit)
{
	struct spool *sp = mkspool(), *rd, *stale;
	struct spool_commit *cs, *k;
	struct buf b = BUF_INIT(SIZE_MAX);

	spool_record_commits(sp);
	add(sp, 1, AB, 1);
	ck_assert_int_eq(spool_flush(sp), 0);
	spool_commit_free(spool_take_commits(sp));
	ck_assert_ptr_null(spool_take_commits(sp));
	rd = spool_open(spooldir, HOST, SPOOL_READ);
	stale = spool_open(spooldir, HOST, SPOOL_READ);
	ck_assert_ptr_nonnull(rd);
	ck_assert_ptr_nonnull(stale);
	/* Two commits, applied in order. */
	add(sp, 2, ABCD, 2);
	ck_assert_int_eq(spool_flush(sp), 0);
	add(sp, 3, AB, 1);
	ck_assert_int_eq(spool_flush(sp), 0);
	cs = spool_take_commits(sp);
	ck_assert_ptr_nonnull(cs);
	ck_assert_ptr_nonnull(spool_commit_next(cs));
	ck_assert_ptr_null(spool_commit_next(spool_commit_next(cs)));
	for (k = cs; k != NULL; k = spool_commit_next(k))
		ck_assert_int_eq(spool_apply_commit(rd, k), 1);
	ck_assert_uint_eq(spool_group(rd, "a.b")->high, 3);
	ck_assert_uint_eq(spool_group(rd, "c.d")->high, 1);
	ck_assert(spool_has_msgid(rd, "<2@test>"));
	ck_assert(spool_has_msgid(rd, "<3@test>"));
	ck_assert_int_eq(spool_article_read(rd, "c.d", 1, &b), 0);
	/* Applied means up to date: nothing left for a refresh. */
	ck_assert_int_eq(spool_refresh(rd), 0);
	/* The second commit does not begin where stale is. */
	ck_assert_int_eq(spool_apply_commit(stale, spool_commit_next(cs)), 0);
	ck_assert_uint_eq(spool_group(stale, "a.b")->high, 1);
	ck_assert(!spool_has_msgid(stale, "<3@test>"));
	/* Nor, once applied, where rd is now. */
	ck_assert_int_eq(spool_apply_commit(rd, cs), 0);
	ck_assert_int_eq(spool_refresh(stale), 1);
	ck_assert_uint_eq(spool_group(stale, "a.b")->high, 3);
	spool_commit_free(cs);
	/* Another writer's change is not a recorded commit: refresh. */
	ck_assert_int_eq(spool_group_add(sp, "e.f", "EF", 'y', "me"), 0);
	add(sp, 4, AB, 1);
	ck_assert_int_eq(spool_flush(sp), 0);
	cs = spool_take_commits(sp);
	ck_assert_int_eq(spool_apply_commit(rd, cs), 0);
	ck_assert_uint_eq(spool_group(rd, "a.b")->high, 3);
	ck_assert_int_eq(spool_refresh(rd), 1);
	ck_assert_uint_eq(spool_group(rd, "a.b")->high, 4);
	spool_commit_free(cs);
	buf_free(&b);
	spool_close(stale);
	spool_close(rd);
	spool_close(sp);
}
END_TEST

START_TEST(test_history_since)
{
	struct spool *sp = mkspool();
	int n = 0;

	add(sp, 1, AB, 1);
	add(sp, 2, ABCD, 2);
	ck_assert_int_eq(spool_flush(sp), 0);
	ck_assert_int_eq(spool_history_since(sp, 0, since_cb, &n), 0);
	ck_assert_int_eq(n, 2);
	n = 0;
	ck_assert_int_eq(
	    spool_history_since(sp, time(NULL) + 3600, since_cb, &n), 0);
	ck_assert_int_eq(n, 0);
	spool_close(sp);
}
END_TEST

START_TEST(test_private_files)
{
	struct spool *sp = mkspool();
	struct buf b = BUF_INIT(SIZE_MAX);

	ck_assert_int_eq(spool_private_replace(sp, "threads", "abc", 3), 0);
	ck_assert_int_eq(spool_private_replace(sp, "threads", "xy", 2), 0);
	ck_assert_int_eq(spool_private_read(sp, "threads", &b), 0);
	ck_assert_uint_eq(b.len, 2);
	ck_assert(memcmp(b.data, "xy", 2) == 0);
	ck_assert_int_eq(spool_private_read(sp, "nothing", &b), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_eq(spool_private_replace(sp, "../x", "a", 1), -1);
	ck_assert_int_eq(spool_private_replace(sp, "lock", "a", 1), -1);
	ck_assert_int_eq(spool_private_replace(sp, ".hidden", "a", 1), -1);
	buf_free(&b);
	spool_close(sp);
}
END_TEST

START_TEST(test_group_remove)
{
	struct spool *sp = mkspool();
	struct reports r;
	char p[512];
	struct stat st;

	ck_assert_int_eq(spool_group_add(sp, "a.b.c", "sub", 'y', "me"), 0);
	add(sp, 1, ABCD, 2);
	ck_assert_int_eq(spool_flush(sp), 0);
	ck_assert_int_eq(spool_group_remove(sp, "a.b"), 0);
	ck_assert_ptr_null(spool_group(sp, "a.b"));
	ck_assert(!exists("articles/a/b/1"));
	ck_assert(exists("articles/a/b/c")); /* the subgroup stays */
	ck_assert(str_printf(p, sizeof(p), "%s/articles/c/d/1", spooldir));
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_uint_eq(st.st_nlink, 1);
	ck_assert_int_eq(spool_group_remove(sp, "a.b"), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_eq(check_spool(sp, false, &r), 0);
	spool_close(sp);
}
END_TEST

/* A writer that dies after writing files, before the commit. */
static void
crash_child(bool partial_flush)
{
	struct spool *sp;
	pid_t pid;
	int status, i;

	if ((pid = fork()) == 0) {
		sp = spool_open(spooldir, HOST, SPOOL_WRITE);
		if (sp == NULL)
			_exit(2);
		for (i = 100; i < 105; i++)
			add(sp, i, ABCD, 2);
		if (partial_flush) {
			/* What a flush writes before the rename. */
			spit("articles/a/b/.overview", "99\tpartial", true);
			spit("data/history", "<100@test>\t1\ta.b:3 c.d:1\n",
			    true);
			spit(".newsgate/fingerprints", "12345678", true);
		}
		_exit(0);
	}
	ck_assert_int_gt(pid, 0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

START_TEST(test_crash_recovery)
{
	struct spool *sp = mkspool(), *rd;
	struct reports r;
	off_t ov, hist, idx;
	int partial;

	add(sp, 1, AB, 1);
	add(sp, 2, AB, 1);
	ck_assert_int_eq(spool_flush(sp), 0);
	spool_close(sp);
	ov = fsize("articles/a/b/.overview");
	hist = fsize("data/history");
	idx = fsize(".newsgate/index/a.b.idx");
	for (partial = 0; partial < 2; partial++) {
		crash_child(partial);
		ck_assert(exists("articles/a/b/3"));
		ck_assert(exists("articles/c/d/1"));
		ck_assert(journal_live());
		/* A reader sees none of it, and does not repair. */
		rd = spool_open(spooldir, HOST, SPOOL_READ);
		ck_assert_uint_eq(spool_group(rd, "a.b")->high, 2);
		ck_assert(!spool_has_msgid(rd, "<100@test>"));
		ck_assert_int_eq(spool_article_open(rd, "a.b", 3), -1);
		spool_close(rd);
		ck_assert(exists("articles/a/b/3"));
		/* The next writer rolls back. */
		sp = spool_open(spooldir, HOST, SPOOL_WRITE);
		ck_assert_ptr_nonnull(sp);
		ck_assert(!exists("articles/a/b/3"));
		ck_assert(!exists("articles/a/b/7"));
		ck_assert(!exists("articles/c/d/1"));
		ck_assert_int_eq(fsize("articles/a/b/.overview"), ov);
		ck_assert_int_eq(fsize("data/history"), hist);
		ck_assert_int_eq(fsize(".newsgate/index/a.b.idx"), idx);
		ck_assert(!journal_live());
		ck_assert(!spool_has_msgid(sp, "<100@test>"));
		ck_assert_int_eq(check_spool(sp, false, &r), 0);
		spool_close(sp);
	}
	/* Stray files above high (a lost journal) are replaced. */
	spit("articles/a/b/3", "junk", false);
	sp = spool_open(spooldir, HOST, SPOOL_WRITE);
	ck_assert_uint_eq(add(sp, 100, AB, 1), 3);
	ck_assert_int_eq(spool_flush(sp), 0);
	ck_assert_int_eq(check_spool(sp, false, &r), 0);
	spool_close(sp);
}
END_TEST

/*
 * A writer that keeps its spool open between batches (the server's) skips
 * re-reading the spool at its next lock only when nobody else has held
 * the lock since: another writer's commit, and one killed in the middle
 * of a batch, are both seen.
 */
START_TEST(test_warm_writer_sees_other_writers)
{
	struct spool *sp = mkspool(), *other;
	struct reports r;

	ck_assert_uint_eq(add(sp, 1, AB, 1), 1);
	ck_assert_int_eq(spool_flush(sp), 0);
	ck_assert_uint_eq(add(sp, 2, AB, 1), 2);
	ck_assert_int_eq(spool_flush(sp), 0);
	/* Another process commits. */
	other = spool_open(spooldir, HOST, SPOOL_WRITE);
	ck_assert_ptr_nonnull(other);
	ck_assert_uint_eq(add(other, 3, ABCD, 2), 3);
	ck_assert_int_eq(spool_flush(other), 0);
	spool_close(other);
	ck_assert_uint_eq(add(sp, 4, ABCD, 2), 4);
	ck_assert_int_eq(spool_flush(sp), 0);
	ck_assert_uint_eq(spool_group(sp, "c.d")->high, 2);
	/* Another adds a group (active changes, the history does not): our
	 * next commit keeps it. */
	other = spool_open(spooldir, HOST, SPOOL_WRITE);
	ck_assert_ptr_nonnull(other);
	ck_assert_int_eq(spool_group_add(other, "e.f", "EF", 'y', "me"), 0);
	spool_close(other);
	ck_assert_uint_eq(add(sp, 6, AB, 1), 5);
	ck_assert_int_eq(spool_flush(sp), 0);
	ck_assert_ptr_nonnull(spool_group(sp, "e.f"));
	/* Another dies with its batch written, not committed. */
	crash_child(true);
	ck_assert(exists("articles/a/b/6"));
	ck_assert_uint_eq(add(sp, 5, AB, 1), 6);
	ck_assert_int_eq(spool_flush(sp), 0);
	ck_assert(!exists("articles/c/d/3"));
	ck_assert(!spool_has_msgid(sp, "<100@test>"));
	ck_assert(spool_has_msgid(sp, "<5@test>"));
	ck_assert(!journal_live());
	ck_assert_int_eq(check_spool(sp, false, &r), 0);
	/* Every file appended to at the right place: a fresh look agrees. */
	spool_close(sp);
	sp = spool_open(spooldir, HOST, SPOOL_WRITE);
	ck_assert_int_eq(check_spool(sp, false, &r), 0);
	ck_assert_uint_eq(spool_group(sp, "a.b")->high, 6);
	ck_assert_ptr_nonnull(spool_group(sp, "e.f"));
	spool_close(sp);
}
END_TEST

START_TEST(test_crash_after_commit)
{
	struct spool *sp = mkspool();
	struct reports r;
	char *journal;

	add(sp, 1, AB, 1);
	ck_assert_int_eq(spool_flush(sp), 0);
	/* Leave a journal as if the process died after the rename. */
	journal = xstrdup("newsgate-txn 1 0 0\na.b 0 0 0\nc.d 0 0 0\nend\n");
	spit(".newsgate/txn", journal, false);
	spool_close(sp);
	sp = spool_open(spooldir, HOST, SPOOL_WRITE);
	ck_assert(exists("articles/a/b/1"));
	ck_assert(!journal_live());
	ck_assert_int_eq(check_spool(sp, false, &r), 0);
	/* A torn journal (no end line) means nothing was written. */
	spit(".newsgate/txn", "newsgate-txn 1 0 0\na.b 0", false);
	spool_close(sp);
	sp = spool_open(spooldir, HOST, SPOOL_WRITE);
	ck_assert(exists("articles/a/b/1"));
	ck_assert(!journal_live());
	free(journal);
	spool_close(sp);
}
END_TEST

START_TEST(test_check_and_rebuild)
{
	struct spool *sp = mkspool();
	struct reports r;
	char *ov, *fixed_ov, *fixed_hist, *nl1, *nl2, *swapped;
	char p[512];
	size_t a1, a2;
	int i;

	/* a.b: 1-6; c.d: 1 (= a.b:1), 2 (= a.b:3), 3 (= a.b:5). */
	for (i = 1; i <= 6; i++)
		add(sp, i, i % 2 ? ABCD : AB, i % 2 ? 2 : 1);
	ck_assert_int_eq(spool_flush(sp), 0);
	ck_assert_int_eq(check_spool(sp, false, &r), 0);
	ov = slurp("articles/a/b/.overview");
	/* Plant: missing files (one a crosspost copy), an unsorted
	 * overview, wrong active marks. */
	ck_assert(str_printf(p, sizeof(p), "%s/articles/c/d/2", spooldir));
	ck_assert_int_eq(unlink(p), 0);
	ck_assert(str_printf(p, sizeof(p), "%s/articles/a/b/2", spooldir));
	ck_assert_int_eq(unlink(p), 0);
	nl1 = strchr(ov, '\n');
	nl2 = strchr(nl1 + 1, '\n');
	a1 = (size_t)(nl1 + 1 - ov);
	a2 = (size_t)(nl2 - nl1);
	swapped = xmalloc(strlen(ov) + 1);
	memcpy(swapped, nl1 + 1, a2);
	memcpy(swapped + a2, ov, a1);
	(void)str_copy(swapped + a1 + a2, strlen(ov) + 1 - a1 - a2, nl2 + 1);
	spit("articles/a/b/.overview", swapped, false);
	free(swapped);
	spit("data/active", "a.b 0000000009 0000000001 y\n"
			    "c.d 0000000001 0000000001 y\n",
	    false);
	ck_assert_int_eq(spool_refresh(sp), 1);
	ck_assert_int_ge(check_spool(sp, false, &r), 4);
	ck_assert_ptr_nonnull(strstr(r.all, "c.d:2"));
	ck_assert_ptr_nonnull(strstr(r.all, "not sorted"));
	ck_assert_ptr_nonnull(strstr(r.all, "a.b:2"));
	ck_assert_ptr_nonnull(strstr(r.all, "c.d: high is 1"));
	ck_assert_int_ge(check_spool(sp, true, &r), 4);
	ck_assert_int_eq(check_spool(sp, false, &r), 0);
	/* Numbers never change: a.b keeps its high of 9 (never reused). */
	ck_assert_uint_eq(spool_group(sp, "a.b")->high, 9);
	ck_assert_uint_eq(spool_group(sp, "c.d")->high, 3);
	ck_assert(exists("articles/c/d/2")); /* linked back, by Xref */
	fixed_ov = slurp("articles/a/b/.overview");
	ck_assert(strncmp(fixed_ov, "1\t", 2) == 0);
	ck_assert_ptr_null(strstr(fixed_ov, "\n2\t"));
	ck_assert_ptr_nonnull(strstr(fixed_ov, "\n3\t"));
	fixed_hist = slurp("data/history");
	ck_assert_ptr_null(strstr(fixed_hist, "<2@test>"));
	ck_assert_ptr_nonnull(strstr(fixed_hist, "\ta.b:3 c.d:2\n"));
	ck_assert_uint_eq(add(sp, 7, AB, 1), 10);
	ck_assert_int_eq(spool_flush(sp), 0);
	ck_assert_int_eq(check_spool(sp, false, &r), 0);
	/* Active behind the files again: a stored article is never
	 * overwritten; the add is refused until a rebuild. */
	spit("data/active", "a.b 0000000010 0000000001 y\n"
			    "c.d 0000000002 0000000001 y\n",
	    false);
	{
		struct article *a = mkart("<8@test>", "s", "x\n");
		uint64_t nums[2];
		char *before = slurp("articles/c/d/3"), *after;

		ck_assert_int_eq(spool_add(sp, a, ABCD, 2, 0, nums), -1);
		ck_assert_int_eq(errno, EUCLEAN);
		after = slurp("articles/c/d/3");
		ck_assert_str_eq(after, before);
		ck_assert(!exists("articles/a/b/11"));
		ck_assert(lock_is_free());
		ck_assert_int_eq(check_spool(sp, true, &r), 1);
		ck_assert_int_eq(spool_add(sp, a, ABCD, 2, 0, nums), 0);
		ck_assert_uint_eq(nums[0], 11);
		ck_assert_uint_eq(nums[1], 4);
		ck_assert_int_eq(spool_flush(sp), 0);
		ck_assert_int_eq(check_spool(sp, false, &r), 0);
		article_free(a);
		free(before);
		free(after);
	}
	free(ov);
	free(fixed_ov);
	free(fixed_hist);
	spool_close(sp);
}
END_TEST

START_TEST(test_check_rebuilds_lost_derived_files)
{
	struct spool *sp = mkspool();
	struct reports r;
	char *ov, *hist, *ov2, *hist2;
	int i;

	for (i = 1; i <= 5; i++)
		add(sp, i, ABCD, 2);
	ck_assert_int_eq(spool_flush(sp), 0);
	ov = slurp("articles/c/d/.overview");
	hist = slurp("data/history");
	spit("articles/c/d/.overview", "", false);
	spit("data/history", "", false);
	spit(".newsgate/index/a.b.idx", "short", false);
	ck_assert_int_ge(check_spool(sp, false, &r), 3);
	ck_assert_int_ge(check_spool(sp, true, &r), 3);
	ck_assert_int_eq(check_spool(sp, false, &r), 0);
	ov2 = slurp("articles/c/d/.overview");
	hist2 = slurp("data/history");
	ck_assert_str_eq(ov2, ov);
	ck_assert_uint_eq(strlen(hist2), strlen(hist));
	ck_assert(spool_has_msgid(sp, "<3@test>"));
	ck_assert(spool_has_fingerprint(sp, fp_of(3)));
	free(ov);
	free(hist);
	free(ov2);
	free(hist2);
	spool_close(sp);
}
END_TEST

START_TEST(test_failed_flush_rolls_back)
{
	struct spool *sp = mkspool();
	struct reports r;
	pid_t pid;
	int status, i;
	off_t ov;

	for (i = 1; i <= 20; i++)
		add(sp, i, AB, 1);
	ck_assert_int_eq(spool_flush(sp), 0);
	spool_close(sp);
	ov = fsize("articles/a/b/.overview");
	if ((pid = fork()) == 0) {
		/* Files may not grow past their size now: like a full disk
		 * for the appends of the flush (EFBIG instead of ENOSPC). */
		struct rlimit rl = {(rlim_t)ov, (rlim_t)ov};

		signal(SIGXFSZ, SIG_IGN);
		sp = spool_open(spooldir, HOST, SPOOL_WRITE);
		if (sp == NULL)
			_exit(2);
		if (setrlimit(RLIMIT_FSIZE, &rl) == -1)
			_exit(3);
		for (i = 21; i <= 25; i++)
			add(sp, i, AB, 1);
		if (spool_flush(sp) != -1)
			_exit(4);
		if (spool_group(sp, "a.b")->high != 20 ||
		    spool_has_msgid(sp, "<21@test>"))
			_exit(5);
		spool_close(sp);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	ck_assert_int_eq(fsize("articles/a/b/.overview"), ov);
	ck_assert(!exists("articles/a/b/21"));
	ck_assert(!journal_live());
	sp = spool_open(spooldir, HOST, SPOOL_WRITE);
	ck_assert_uint_eq(spool_group(sp, "a.b")->high, 20);
	ck_assert_int_eq(check_spool(sp, false, &r), 0);
	ck_assert_uint_eq(add(sp, 21, AB, 1), 21);
	ck_assert_int_eq(spool_flush(sp), 0);
	spool_close(sp);
}
END_TEST

START_TEST(test_implicit_flush_at_batch_max)
{
	struct spool *sp = mkspool(), *rd;
	int i;

	for (i = 1; i <= SPOOL_BATCH_MAX; i++)
		add(sp, i, AB, 1);
	ck_assert_uint_eq(spool_pending(sp), 0);
	rd = spool_open(spooldir, HOST, SPOOL_READ);
	ck_assert_uint_eq(spool_group(rd, "a.b")->high, SPOOL_BATCH_MAX);
	spool_close(rd);
	spool_close(sp);
}
END_TEST

/*
 * spool_relink: the thread headers of a crosspost change in both groups
 * (one file still), where import puts them, with the overview's
 * References and Bytes; a poster's References are refused; an absent
 * article is counted; going back restores the bytes; check is clean.
 */
START_TEST(test_relink)
{
	struct spool *sp = mkspool();
	struct spool_relink req[4];
	struct spool_relink_stats st;
	struct buf line = BUF_INIT(SIZE_MAX);
	struct reports r;
	struct article *a;
	uint64_t nums[SPOOL_XPOST_MAX];
	char *before, *after, *own, bytes[32];

	add(sp, 1, AB, 1);
	add(sp, 2, ABCD, 2);
	a = mkart("<3@test>", "Re: Subject", "a reply\n");
	article_set(a, "References", "<elsewhere@test>");
	ck_assert_int_eq(spool_add(sp, a, AB, 1, 0, nums), 0);
	article_free(a);
	ck_assert_int_eq(spool_flush(sp), 0);
	before = slurp("articles/a/b/2");
	own = slurp("articles/a/b/3");
	memset(req, 0, sizeof(req));
	req[0].msgid = "<2@test>";
	req[0].references = "<1@test>";
	req[0].thread = "<1@test> score=0.50";
	req[1].group = "a.b"; /* by number: the poster's References */
	req[1].num = 3;
	req[1].references = "<1@test>";
	req[1].thread = "<1@test> score=0.90";
	req[2].msgid = "<nowhere@test>";
	req[3].msgid = "<1@test>"; /* none, and none asked */
	ck_assert_int_eq(spool_relink(sp, req, 4, &st, NULL, NULL), 0);
	ck_assert_uint_eq(st.rewritten, 1);
	ck_assert_uint_eq(st.refused, 1);
	ck_assert_uint_eq(st.missing, 1);
	ck_assert_uint_eq(st.unchanged, 1);
	after = slurp("articles/a/b/2");
	ck_assert_ptr_nonnull(strstr(after,
	    "\nReferences: <1@test>\nX-Newsgate-Thread: <1@test> "
	    "score=0.50\nLines: 2\nXref: " HOST " a.b:2 c.d:1\n\nline one\n"));
	ck_assert_uint_eq((uint64_t)crosspost_one_inode(), strlen(after));
	ck_assert(str_printf(
	    bytes, sizeof(bytes), "\t<1@test>\t%zu\t2\t", strlen(after)));
	ck_assert_int_eq(spool_over_one(sp, "a.b", 2, &line), 0);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&line), bytes));
	buf_reset(&line);
	ck_assert_int_eq(spool_over_one(sp, "c.d", 1, &line), 0);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&line), bytes));
	free(after);
	after = slurp("articles/a/b/3");
	ck_assert_str_eq(after, own);
	free(after);
	ck_assert_int_eq(check_spool(sp, false, &r), 0);
	/* Values that would break the journal or the header. */
	req[0].references = "<1@test>\t<x@y>";
	ck_assert_int_eq(spool_relink(sp, req, 1, &st, NULL, NULL), -1);
	ck_assert_int_eq(errno, EINVAL);
	/* Back: the very bytes spool_add wrote. */
	req[0].references = req[0].thread = NULL;
	ck_assert_int_eq(spool_relink(sp, req, 1, &st, NULL, NULL), 0);
	ck_assert_uint_eq(st.rewritten, 1);
	after = slurp("articles/a/b/2");
	ck_assert_str_eq(after, before);
	ck_assert_int_eq(check_spool(sp, false, &r), 0);
	free(after);
	free(before);
	free(own);
	buf_free(&line);
	spool_close(sp);
}
END_TEST

static Suite *
spool_suite(void)
{
	Suite *s = suite_create("spool");
	TCase *tc = tcase_create("spool");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_create_layout);
	tcase_add_test(tc, test_put_u64w);
	tcase_add_test(tc, test_empty_group_low_is_high_plus_one);
	tcase_add_test(tc, test_add_and_flush);
	tcase_add_test(tc, test_crosspost_is_one_file);
	tcase_add_test(tc, test_numbers_monotonic_across_reopen);
	tcase_add_test(tc, test_dedupe_eexist);
	tcase_add_test(tc, test_group_names);
	tcase_add_test(tc, test_over_ranges);
	tcase_add_test(tc, test_refresh_sees_other_commit);
	tcase_add_test(tc, test_apply_commit);
	tcase_add_test(tc, test_history_since);
	tcase_add_test(tc, test_private_files);
	tcase_add_test(tc, test_group_remove);
	tcase_add_test(tc, test_crash_recovery);
	tcase_add_test(tc, test_crash_after_commit);
	tcase_add_test(tc, test_warm_writer_sees_other_writers);
	tcase_add_test(tc, test_check_and_rebuild);
	tcase_add_test(tc, test_check_rebuilds_lost_derived_files);
	tcase_add_test(tc, test_failed_flush_rolls_back);
	tcase_add_test(tc, test_implicit_flush_at_batch_max);
	tcase_add_test(tc, test_relink);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(spool_suite());
	int failed;

	log_init("check_spool", false, -1);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
