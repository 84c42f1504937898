/*
 * fuzz_overview.c - libFuzzer target for the spool's readers of a group's
 * .overview, its overview index and data/history, through the public API
 * only (spool_open, spool_refresh, spool_over, spool_over_one,
 * spool_lookup, spool_history_since, spool_check): the input becomes those
 * files in a small real spool, so the real parsers in spool.c,
 * spool_over.c and spool_check.c read them.
 *
 * The spool (made once, in /dev/shm when it can be) holds group a.b with
 * articles 1 to 3 and group c.d with a crosspost of article 2. The input,
 * as text:
 *
 *   HIGH LO HI FLAGS HIGH2      first line, decimal, all optional
 *   overview lines...           articles/a/b/.overview
 *   @@index                     optional: the index .newsgate/index/a.b.idx
 *   NUM OFF                       one 16-octet record per line, or
 *   auto [K]                      the right records of the first K lines,
 *   +N                            N extra zero octets (a torn record)
 *   @@history                   optional: data/history (default: the
 *   <id>\tarrival\tgroup:num      spool's own)
 *   @@more                      optional: appended to the .overview, after
 *                               which a.b's high becomes HIGH2
 *
 * FLAGS: bit 0 runs spool_check(rebuild) on a writer, after which a
 * second spool_check must find nothing; bits 8-15 stop each spool_over
 * callback run after that many lines (then it resumes from num + 1).
 *
 * Whatever the input: no crash, no leak; spool_over never fails, only
 * hands out whole lines whose number is in range and at most the high;
 * when the .overview is clean (every line numbered, ascending) and the
 * index is absent or right, spool_over and spool_over_one return exactly
 * the lines a plain scan finds; every history entry can be looked up.
 *
 * clang -fsanitize=fuzzer builds it for libFuzzer (make fuzz); with gcc,
 * replay.c runs the saved corpus (tests/fuzz/corpus/overview/) in
 * `make check`.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <endian.h>
#include <fcntl.h>
#include <ftw.h>
#include <unistd.h>

#include "common.h"
#include "article.h"
#include "spool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_GROUP "a.b"
#define FZ_OV "articles/a/b/.overview"
#define FZ_IDX ".newsgate/index/a.b.idx"
#define FZ_CALLS_MAX 100000 /* spool_over callbacks per input */

/* Files restored before every input, as the fixture made them. */
static const char *const fz_saved_names[] = {"data/history",
    "data/active.times", "data/newsgroups", ".newsgate/fingerprints",
    "articles/c/d/.overview", ".newsgate/index/c.d.idx", FZ_OV, FZ_IDX};

static char fz_base[128], fz_dir[160];
static struct buf fz_saved[NG_NELEM(fz_saved_names)];
static bool fz_present[NG_NELEM(fz_saved_names)];

/* --- the fixture --------------------------------------------------- */

static int
fz_rm(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(path);
}

static void
fz_cleanup(void)
{
	size_t i;

	for (i = 0; i < NG_NELEM(fz_saved); i++)
		buf_free(&fz_saved[i]);
	if (fz_base[0])
		nftw(fz_base, fz_rm, 16, FTW_DEPTH | FTW_PHYS);
}

/* A tmpfs when there is one: the writers call syncfs(). */
static const char *
fz_tmp(void)
{
	const char *t = getenv("TMPDIR");

	if (access("/dev/shm", W_OK) == 0)
		return "/dev/shm";
	return t && *t ? t : "/tmp";
}

static void
fz_path(char *dst, size_t cap, const char *rel)
{
	if (!str_printf(dst, cap, "%s/%s", fz_dir, rel))
		abort();
}

static void
fz_write(const char *rel, const void *p, size_t len, int extra)
{
	char path[512];
	int fd;

	fz_path(path, sizeof(path), rel);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | extra, 0644);
	if (fd == -1 || write_all(fd, p, len) == -1 || close(fd) == -1)
		abort();
}

/* Replace a file by rename, as the writers do (a new inode). */
static void
fz_replace(const char *rel, const void *p, size_t len)
{
	char rtmp[256], path[512], tmp[512];

	if (!str_printf(rtmp, sizeof(rtmp), "%s.fz", rel))
		abort();
	fz_write(rtmp, p, len, O_TRUNC);
	fz_path(tmp, sizeof(tmp), rtmp);
	fz_path(path, sizeof(path), rel);
	if (rename(tmp, path) == -1)
		abort();
}

static void
fz_read(const char *rel, struct buf *out, bool *present)
{
	char path[512], chunk[4096];
	ssize_t n;
	int fd;

	fz_path(path, sizeof(path), rel);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno != ENOENT)
			abort();
		*present = false;
		return;
	}
	*present = true;
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		buf_append(out, chunk, (size_t)n);
	if (n == -1)
		abort();
	close(fd);
}

static void
fz_unlink(const char *rel)
{
	char path[512];

	fz_path(path, sizeof(path), rel);
	if (unlink(path) == -1 && errno != ENOENT)
		abort();
}

static void
fz_add(struct spool *w, const char *id, const char *body,
    const char *const *groups, size_t n)
{
	uint64_t nums[SPOOL_XPOST_MAX];
	struct article *a = article_new();

	article_set(a, "From", "Fuzz <f@example.invalid>");
	article_set(a, "Subject", "Overview\tsubject");
	article_set(a, "Date", "Tue, 03 Jan 2017 10:00:00 +0000");
	article_set(a, "Message-ID", id);
	article_set_body(a, xstrdup(body), strlen(body));
	if (spool_add(w, a, groups, n, article_fingerprint(a), nums) == -1)
		abort();
	article_free(a);
}

static void
fz_init(void)
{
	static const char *const ab[] = {"a.b"}, *const both[] = {"a.b", "c.d"};
	struct spool *w;
	size_t i;

	log_init("fuzz_overview", false, -1);
	if (!str_printf(fz_base, sizeof(fz_base), "%s/ngfuzz-ovXXXXXX",
		fz_tmp()) ||
	    mkdtemp(fz_base) == NULL ||
	    !str_printf(fz_dir, sizeof(fz_dir), "%s/spool", fz_base))
		abort();
	atexit(fz_cleanup);
	if ((w = spool_open(fz_dir, "fuzz.example", SPOOL_WRITE)) == NULL ||
	    spool_group_add(w, "a.b", "Group AB", 'y', "fuzz") == -1 ||
	    spool_group_add(w, "c.d", "", 'n', "fuzz") == -1)
		abort();
	fz_add(w, "<1@fuzz>", "one\n", ab, 1);
	fz_add(w, "<2@fuzz>", "two\n", both, 2);
	fz_add(w, "<3@fuzz>", "three\n", ab, 1);
	if (spool_flush(w) == -1)
		abort();
	spool_close(w);
	for (i = 0; i < NG_NELEM(fz_saved); i++) {
		buf_init(&fz_saved[i], SIZE_MAX);
		fz_read(fz_saved_names[i], &fz_saved[i], &fz_present[i]);
	}
}

/* Put every file back as the fixture made it; empty .newsgate/tmp. */
static void
fz_restore(void)
{
	char path[512];
	struct dirent *de;
	size_t i;
	DIR *d;

	for (i = 0; i < NG_NELEM(fz_saved); i++) {
		if (!fz_present[i]) {
			fz_unlink(fz_saved_names[i]);
			continue;
		}
		fz_write(fz_saved_names[i], fz_saved[i].data ? fz_saved[i].data
		    : "", fz_saved[i].len, O_TRUNC);
	}
	fz_path(path, sizeof(path), ".newsgate/tmp");
	if ((d = opendir(path)) == NULL)
		abort();
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			(void)unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
}

static void
fz_active(uint64_t high)
{
	char text[128];

	if (!str_printf(text, sizeof(text),
		"a.b %010" PRIu64 " 0000000001 y\n"
		"c.d 0000000001 0000000001 n\n", high))
		abort();
	fz_replace("data/active", text, strlen(text));
}

/* --- the input ----------------------------------------------------- */

struct fz_input {
	uint64_t high, lo, hi, flags, high2;
	struct str ov, idx, hist, more;
	bool has_idx, has_hist, has_more;
};

static uint64_t
fz_num(const char **p, const char *end, uint64_t dflt)
{
	uint64_t v = 0;
	bool any = false;

	while (*p < end && **p == ' ')
		(*p)++;
	while (*p < end && **p >= '0' && **p <= '9') {
		v = v * 10 + (uint64_t)(**p - '0');
		any = true;
		(*p)++;
	}
	while (*p < end && **p != ' ')
		(*p)++;
	return any ? v : dflt;
}

/* The "@@name" line starting at p, if any: which section it opens. */
static struct str *
fz_marker(struct fz_input *in, const char *p, const char *end, size_t *skip)
{
	static const char *const names[] = {"@@index", "@@history", "@@more"};
	size_t i, n;

	for (i = 0; i < NG_NELEM(names); i++) {
		n = strlen(names[i]);
		if ((size_t)(end - p) >= n + 1 && memcmp(p, names[i], n) == 0 &&
		    p[n] == '\n') {
			*skip = n + 1;
			if (i == 0) {
				in->has_idx = true;
				return &in->idx;
			}
			if (i == 1) {
				in->has_hist = true;
				return &in->hist;
			}
			in->has_more = true;
			return &in->more;
		}
	}
	return NULL;
}

static void
fz_parse(struct fz_input *in, const char *data, size_t size)
{
	const char *p = data, *end = data + size, *nl;
	struct str *cur;
	size_t skip;

	memset(in, 0, sizeof(*in));
	nl = memchr(p, '\n', size);
	if (nl == NULL)
		nl = end;
	in->high = fz_num(&p, nl, 3);
	in->lo = fz_num(&p, nl, 0);
	in->hi = fz_num(&p, nl, UINT64_MAX);
	in->flags = fz_num(&p, nl, 0);
	in->high2 = fz_num(&p, nl, in->high + 10);
	p = nl < end ? nl + 1 : end;
	cur = &in->ov;
	cur->p = p;
	while (p < end) {
		struct str *next = fz_marker(in, p, end, &skip);

		if (next != NULL) {
			cur->len = (size_t)(p - cur->p);
			cur = next;
			p += skip;
			cur->p = p;
			continue;
		}
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			break;
		p = nl + 1;
	}
	cur->len = (size_t)(end - cur->p);
}

/* The number at the start of an overview line, 0 when none. */
static uint64_t
fz_line_num(const char *p, size_t len)
{
	const char *tab = memchr(p, '\t', len);
	uint64_t v;

	if (tab == NULL || parse_u64(p, (size_t)(tab - p), &v) == -1)
		return 0;
	return v;
}

/* Is the overview clean: every complete line numbered, ascending? */
static bool
fz_clean(const char *p, size_t len)
{
	const char *end = p + len, *nl;
	uint64_t last = 0, n;

	for (; p < end && (nl = memchr(p, '\n', (size_t)(end - p)));
	     p = nl + 1) {
		if ((n = fz_line_num(p, (size_t)(nl - p))) == 0 || n <= last)
			return false;
		last = n;
	}
	return true;
}

static void
fz_rec(struct buf *out, uint64_t num, uint64_t off)
{
	uint64_t v[2] = {htole64(num), htole64(off)};

	buf_append(out, v, sizeof(v));
}

/* The index file an @@index section describes; *right when it is the
 * true index of the .overview (or a prefix of it). */
static void
fz_index(const struct str *ov, const struct str *spec, struct buf *out,
    bool *right)
{
	const char *p = spec->p, *end = spec->p + spec->len, *nl, *q;
	uint64_t a, b, k;

	*right = true;
	for (; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		q = p;
		if ((size_t)(nl - p) >= 4 && memcmp(p, "auto", 4) == 0) {
			const char *o = ov->p, *oend = ov->p + ov->len, *onl;

			q += 4;
			k = fz_num(&q, nl, UINT64_MAX);
			for (; k > 0 && o < oend &&
			     (onl = memchr(o, '\n', (size_t)(oend - o)));
			     o = onl + 1) {
				if ((a = fz_line_num(o, (size_t)(onl - o))) ==
				    0)
					continue;
				fz_rec(out, a, (uint64_t)(o - ov->p));
				k--;
			}
			continue;
		}
		*right = false;
		if (p < nl && *p == '+') {
			q++;
			for (k = fz_num(&q, nl, 0) % 64; k > 0; k--)
				buf_putc(out, 0);
			continue;
		}
		a = fz_num(&q, nl, 0);
		b = fz_num(&q, nl, 0);
		fz_rec(out, a, b);
	}
}

/* --- checks -------------------------------------------------------- */

struct fz_over {
	uint64_t lo, hi, high; /* the call's range, the group's high */
	uint64_t stop_after;   /* lines per callback run; 0: all */
	uint64_t in_run, last, calls;
	struct buf got;	       /* "num\0line\n" ... */
};

static int
fz_over_cb(void *arg, uint64_t num, const char *line, size_t len)
{
	struct fz_over *o = arg;

	if (num < o->lo || num > o->hi || num > o->high || num == 0 ||
	    memchr(line, '\n', len) != NULL ||
	    fz_line_num(line, len) != num)
		abort();
	if (++o->calls > FZ_CALLS_MAX)
		abort(); /* more lines than the input can hold */
	buf_printf(&o->got, "%" PRIu64 "\t", num);
	buf_append(&o->got, line, len);
	buf_putc(&o->got, '\n');
	o->last = num;
	if (o->stop_after && ++o->in_run >= o->stop_after)
		return 1;
	return 0;
}

/* The lines a plain scan of the .overview finds, in the same form. */
static void
fz_over_ref(const char *p, size_t len, uint64_t lo, uint64_t hi,
    struct buf *out)
{
	const char *end = p + len, *nl;
	uint64_t n;

	if (lo == 0)
		lo = 1;
	for (; p < end && (nl = memchr(p, '\n', (size_t)(end - p)));
	     p = nl + 1) {
		if ((n = fz_line_num(p, (size_t)(nl - p))) == 0 || n < lo)
			continue;
		if (n > hi)
			break;
		buf_printf(out, "%" PRIu64 "\t", n);
		buf_append(out, p, (size_t)(nl - p));
		buf_putc(out, '\n');
	}
}

/* oracle: compare with a plain scan. right: the index is absent or true
 * (a corrupt one may make spool_over fail: an offset past 2^63 is an
 * EINVAL from pread). */
static void
fz_over_range(struct spool *sp, const char *ov, size_t ovlen, uint64_t high,
    uint64_t lo, uint64_t hi, uint64_t stop_after, bool oracle, bool right)
{
	struct fz_over o;
	struct buf ref = BUF_INIT(SIZE_MAX);
	uint64_t cur = lo;
	int rc, rounds;

	memset(&o, 0, sizeof(o));
	buf_init(&o.got, SIZE_MAX);
	o.hi = hi;
	o.high = high;
	o.stop_after = stop_after;
	for (rounds = 0; rounds < FZ_CALLS_MAX; rounds++) {
		o.lo = cur ? cur : 1;
		o.in_run = 0;
		if ((rc = spool_over(sp, FZ_GROUP, cur, hi, fz_over_cb, &o)) ==
		    -1 && right)
			abort();
		if (rc != 1)
			break;
		if (o.last == UINT64_MAX || o.last + 1 <= cur)
			break;
		cur = o.last + 1;
	}
	if (oracle) {
		fz_over_ref(ov, ovlen, lo, hi < high ? hi : high, &ref);
		if (ref.len != o.got.len ||
		    (ref.len && memcmp(ref.data, o.got.data, ref.len) != 0)) {
			fprintf(stderr, "spool_over(%" PRIu64 ", %" PRIu64
			    ") high %" PRIu64 ":\n--- want\n%.*s--- got\n%.*s",
			    lo, hi, high, (int)ref.len, ref.data ? ref.data :
			    "", (int)o.got.len, o.got.data ? o.got.data : "");
			abort();
		}
	}
	buf_free(&ref);
	buf_free(&o.got);
}

/* spool_over_one for the numbers of the first lines, and around them. */
static void
fz_over_ones(struct spool *sp, const char *p, size_t len, uint64_t high,
    bool oracle, bool right)
{
	const char *end = p + len, *nl;
	struct buf line = BUF_INIT(SIZE_MAX);
	uint64_t n, want;
	int i, d, rc;

	for (i = 0; i < 16 && p < end &&
	     (nl = memchr(p, '\n', (size_t)(end - p)));
	     i++, p = nl + 1) {
		n = fz_line_num(p, (size_t)(nl - p));
		for (d = -1; d <= 1; d++) {
			if ((d == -1 && n == 0) || (d == 1 && n == UINT64_MAX))
				continue;
			want = n + (uint64_t)(int64_t)d;
			buf_reset(&line);
			rc = spool_over_one(sp, FZ_GROUP, want, &line);
			if (rc == -1 && right && errno != ENOENT)
				abort();
			if (rc == 0 && (line.len == 0 ||
			    fz_line_num(line.data, line.len) != want ||
			    want > high))
				abort();
			if (oracle && d == 0 && n != 0) {
				bool there = n <= high;

				if ((rc == 0) != there ||
				    (there && (line.len != (size_t)(nl - p) ||
				    memcmp(line.data, p, line.len) != 0)))
					abort();
			}
		}
	}
	buf_free(&line);
}

static void
fz_over_all(struct spool *sp, const char *ov, size_t len, uint64_t high,
    const struct fz_input *in, bool right)
{
	uint64_t stop = (in->flags >> 8) & 0xff;
	bool oracle = right && fz_clean(ov, len);

	fz_over_range(sp, ov, len, high, in->lo, in->hi, stop, oracle, right);
	fz_over_range(sp, ov, len, high, 0, UINT64_MAX, stop, oracle, right);
	fz_over_range(sp, ov, len, high, 2, 2, 0, oracle, right);
	fz_over_range(sp, ov, len, high, high, UINT64_MAX, 1, oracle, right);
	fz_over_ones(sp, ov, len, high, oracle, right);
}

static int
fz_hist_cb(void *arg, const struct spool_hist *h)
{
	struct spool *sp = arg;
	struct spool_loc loc;
	size_t idlen;

	if (h->msgid == NULL || h->location == NULL ||
	    h->location <= h->msgid)
		abort();
	idlen = (size_t)(h->location - h->msgid) - 1;
	if (strlen(h->msgid) == idlen && !spool_has_msgid(sp, h->msgid))
		abort();
	if (spool_lookup(sp, h->msgid, &loc) == 0 &&
	    strnlen(loc.group, sizeof(loc.group)) == sizeof(loc.group))
		abort();
	return 0;
}

struct fz_report {
	unsigned lines;
	bool show;
};

static void
fz_report(void *arg, const char *problem)
{
	struct fz_report *r = arg;

	if (problem == NULL || *problem == '\0' || strchr(problem, '\n'))
		abort();
	if (r->show)
		fprintf(stderr, "check: %s\n", problem);
	r->lines++;
}

static void
fz_check(struct spool *sp, bool want_clean)
{
	struct fz_report r = {0, want_clean};
	int rc;

	if ((rc = spool_check(sp, false, fz_report, &r)) == -1)
		abort();
	if ((rc == 0) != (r.lines == 0) || (want_clean && rc != 0))
		abort();
}

/* Rebuild, then nothing may be left to find. */
static void
fz_rebuild(void)
{
	struct spool *w;

	if ((w = spool_open(fz_dir, "fuzz.example", SPOOL_WRITE)) == NULL ||
	    spool_check(w, true, NULL, NULL) == -1)
		abort();
	fz_check(w, true);
	spool_close(w);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_input in;
	struct buf idx = BUF_INIT(SIZE_MAX), all = BUF_INIT(SIZE_MAX);
	struct spool *sp;
	bool right = true;

	if (fz_dir[0] == '\0')
		fz_init();
	fz_parse(&in, (const char *)data, size);
	fz_restore();
	fz_write(FZ_OV, in.ov.p, in.ov.len, O_TRUNC);
	if (in.has_idx) {
		fz_index(&in.ov, &in.idx, &idx, &right);
		fz_write(FZ_IDX, idx.data ? idx.data : "", idx.len, O_TRUNC);
	} else
		fz_unlink(FZ_IDX);
	if (in.has_hist)
		fz_write("data/history", in.hist.p, in.hist.len, O_TRUNC);
	fz_active(in.high);

	if ((sp = spool_open(fz_dir, "fuzz.example", SPOOL_READ)) == NULL)
		abort();
	fz_over_all(sp, in.ov.p, in.ov.len, in.high, &in, right);
	if (spool_history_since(sp, 0, fz_hist_cb, sp) != 0 ||
	    spool_history_since(sp, 1400000000, fz_hist_cb, sp) != 0)
		abort();
	if (in.has_more) {
		fz_write(FZ_OV, in.more.p, in.more.len, O_APPEND);
		fz_active(in.high2);
		if (spool_refresh(sp) == -1)
			abort();
		buf_append(&all, in.ov.p, in.ov.len);
		buf_append(&all, in.more.p, in.more.len);
		fz_over_all(sp, all.data ? all.data : "", all.len, in.high2,
		    &in, right);
	}
	/* The fixture as it was: nothing to report. */
	fz_check(sp, !in.has_more && !in.has_hist && in.high == 3 &&
	    in.has_idx && right && in.ov.len == fz_saved[6].len &&
	    memcmp(in.ov.p, fz_saved[6].data, in.ov.len) == 0 &&
	    idx.len == fz_saved[7].len &&
	    memcmp(idx.data ? idx.data : "", fz_saved[7].data, idx.len) == 0);
	spool_close(sp);
	if (in.flags & 1)
		fz_rebuild();
	buf_free(&idx);
	buf_free(&all);
	return 0;
}
