/*
 * spool_over.c - reading a group's overview through its index, so that no
 * command scans a group: a binary search in .newsgate/index/GROUP.idx
 * (fixed 16-octet records {u64 num, u64 offset}, little-endian, ascending)
 * finds the first line, then .overview is read sequentially from there.
 *
 * The index may be shorter than the .overview (lost, or a writer died
 * between the two appends and nobody has written since). Readers never
 * write, so the unindexed tail is indexed in memory (struct ovtail) once,
 * and extended as the file grows. Writers verify the index of every group
 * they append to and rebuild it when it does not end exactly where the
 * .overview ends.
 *
 * Only lines with numbers up to the group's committed high are ever
 * returned: the rest belongs to a batch in flight.
 *
 * A rewrite of thread headers (spool_rethread.c) replaces the .overview
 * and then the index, each by rename, so a reader may for a moment hold
 * an index of the other .overview. A record is therefore trusted only
 * when its offset starts a line (offset 0, or an LF just before) that
 * carries its number; numbers are unique in a .overview, so such a line
 * is the right one. Otherwise the .overview is read from its start.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <endian.h>
#include <fcntl.h>
#include <unistd.h>

#include "common.h"
#include "spool_int.h"

#define OVER_CHUNK 65536	/* bytes read at a time */
#define OVER_LINE_MAX (1 << 20) /* longest overview line accepted */

void
spool_tail_free(struct ovtail *t)
{
	free(t->recs);
	memset(t, 0, sizeof(*t));
}

static void
spool_rec_get(const unsigned char *p, struct ovrec *r)
{
	uint64_t v;

	memcpy(&v, p, 8);
	r->num = le64toh(v);
	memcpy(&v, p + 8, 8);
	r->off = le64toh(v);
}

static int
spool_rec_read(int fd, uint64_t i, struct ovrec *r)
{
	unsigned char rec[SPOOL_IDXREC];
	ssize_t n;

	do
		n = pread(fd, rec, sizeof(rec), (off_t)(i * SPOOL_IDXREC));
	while (n == -1 && errno == EINTR);
	if (n != (ssize_t)sizeof(rec)) {
		if (n >= 0)
			errno = EIO;
		return -1;
	}
	spool_rec_get(rec, r);
	return 0;
}

/* The number at the start of an overview line, or 0 when it has none. */
static uint64_t
spool_line_num(const char *p, size_t len)
{
	const char *tab = memchr(p, '\t', len);
	uint64_t v;

	if (tab == NULL || parse_u64(p, (size_t)(tab - p), &v) == -1)
		return 0;
	return v;
}

/*
 * Build index records for the overview text in data, appending them to
 * out. Lines without a number are not indexed.
 */
int
spool_index_build(struct spool *sp, const char *group, const char *data,
    size_t len, struct buf *out)
{
	const char *p = data, *end = data + len, *nl;
	uint64_t v[2];

	(void)sp;
	(void)group;
	for (; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			break;
		if ((v[0] = spool_line_num(p, (size_t)(nl - p))) == 0)
			continue;
		v[0] = htole64(v[0]);
		v[1] = htole64((uint64_t)(p - data));
		buf_append(out, v, sizeof(v));
	}
	return out->err ? -1 : 0;
}

/* Rebuild a group's index from its .overview (writer, locked). */
static int
spool_index_rebuild(struct spool *sp, const char *group, uint64_t *idx_size)
{
	char ov[SPOOL_PATH_MAX], idx[SPOOL_PATH_MAX], tmp[SPOOL_PATH_MAX];
	struct buf text = BUF_INIT(SIZE_MAX), recs = BUF_INIT(SIZE_MAX);
	int rc = -1;

	if (spool_path_group(ov, sizeof(ov), group, SPOOL_OVERVIEW) == -1 ||
	    spool_path_index(idx, sizeof(idx), group) == -1 ||
	    !str_printf(tmp, sizeof(tmp), "%s/%s.idx", SPOOL_TMPDIR, group))
		goto out;
	if (spool_read_file(sp, ov, &text) == -1 && errno != ENOENT) {
		log_warn("spool: read %s/%s", sp->dir, ov);
		goto out;
	}
	if (spool_index_build(sp, group, text.data, text.len, &recs) == -1 ||
	    spool_replace_file(sp, idx, tmp, recs.data ? recs.data : "",
		recs.len, false) == -1)
		goto out;
	*idx_size = recs.len;
	log_info("spool: rebuilt the overview index of %s", group);
	rc = 0;
out:
	buf_free(&text);
	buf_free(&recs);
	return rc;
}

/*
 * Writer, before appending to a group: does the index cover exactly the
 * ov_size bytes of its .overview? If not, rebuild it. *idx_size is its
 * size on return.
 */
int
spool_index_verify(
    struct spool *sp, const char *group, uint64_t ov_size, uint64_t *idx_size)
{
	char ov[SPOOL_PATH_MAX];
	struct ovrec last;
	uint64_t n, len;
	char *line = NULL;
	int fd = -1, ovfd = -1;
	bool ok = false;
	ssize_t got;

	if (spool_path_index(ov, sizeof(ov), group) == -1)
		return -1;
	if ((fd = openat(sp->dfd, ov, O_RDONLY | O_CLOEXEC)) == -1 &&
	    errno != ENOENT)
		return -1;
	n = *idx_size / SPOOL_IDXREC;
	if (*idx_size % SPOOL_IDXREC != 0)
		goto done;
	if (n == 0) {
		ok = ov_size == 0;
		goto done;
	}
	if (fd == -1 || spool_rec_read(fd, n - 1, &last) == -1 ||
	    last.off >= ov_size || ov_size - last.off > OVER_LINE_MAX)
		goto done;
	if (spool_path_group(ov, sizeof(ov), group, SPOOL_OVERVIEW) == -1 ||
	    (ovfd = openat(sp->dfd, ov, O_RDONLY | O_CLOEXEC)) == -1)
		goto done;
	len = ov_size - last.off;
	line = xmalloc((size_t)len);
	got = pread(ovfd, line, (size_t)len, (off_t)last.off);
	ok = got == (ssize_t)len && line[len - 1] == '\n' &&
	    memchr(line, '\n', (size_t)len - 1) == NULL &&
	    spool_line_num(line, (size_t)len) == last.num;
done:
	free(line);
	if (fd != -1)
		close(fd);
	if (ovfd != -1)
		close(ovfd);
	if (ok)
		return 0;
	return spool_index_rebuild(sp, group, idx_size);
}

/* --- readers ------------------------------------------------------- */

/* Does r point at the start of its own line in the .overview ovfd? */
static bool
spool_rec_valid(int ovfd, const struct ovrec *r)
{
	char b[24]; /* LF, 20 digits, TAB */
	size_t skip = r->off > 0;
	ssize_t n;

	do
		n = pread(ovfd, b, sizeof(b), (off_t)(r->off - skip));
	while (n == -1 && errno == EINTR);
	if (n <= (ssize_t)skip || (skip && b[0] != '\n'))
		return false;
	return spool_line_num(b + skip, (size_t)n - skip) == r->num;
}

/* Records [0, n) with num <= high: the committed part of the index. */
static uint64_t
spool_idx_committed(int fd, uint64_t n, uint64_t high)
{
	uint64_t lo = 0, hi = n, mid;
	struct ovrec r;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (spool_rec_read(fd, mid, &r) == -1 || r.num == 0 ||
		    r.num > high)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/* First record in [0, n) with num >= want, or n. */
static uint64_t
spool_idx_search(int fd, uint64_t n, uint64_t want)
{
	uint64_t lo = 0, hi = n, mid;
	struct ovrec r;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (spool_rec_read(fd, mid, &r) == -1)
			return n;
		if (r.num < want)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * Index, in memory, the committed lines of the .overview after the last
 * indexed one. base_off: offset of the last indexed line (its own number
 * is base_num), or 0 with base_num 0 when the index is empty.
 */
static int
spool_tail_extend(
    struct ovtail *t, int ovfd, uint64_t size, uint64_t high, uint64_t base_num)
{
	struct buf b = BUF_INIT(OVER_LINE_MAX + OVER_CHUNK);
	uint64_t last = t->n ? t->recs[t->n - 1].num : base_num;
	const char *p, *nl, *end;
	ssize_t got;
	char *w;

	while (t->scan_off < size) {
		size_t want = OVER_CHUNK;

		if ((w = buf_reserve(&b, want)) == NULL)
			break; /* a line longer than any real one: stop */
		got = pread(ovfd, w, want, (off_t)(t->scan_off + b.len));
		if (got == -1 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		b.len += (size_t)got;
		end = b.data + b.len;
		for (p = b.data; (nl = memchr(p, '\n', (size_t)(end - p)));
		     p = nl + 1) {
			uint64_t num = spool_line_num(p, (size_t)(nl - p));

			if (num > high)
				goto out;
			if (num > last) {
				if (t->n == t->cap) {
					t->cap = t->cap ? t->cap * 2 : 256;
					t->recs = xreallocarray(
					    t->recs, t->cap, sizeof(*t->recs));
				}
				t->recs[t->n].num = num;
				t->recs[t->n++].off =
				    t->scan_off + (uint64_t)(p - b.data);
				last = num;
			}
		}
		t->scan_off += (uint64_t)(p - b.data);
		buf_consume(&b, (size_t)(p - b.data));
	}
	buf_free(&b);
	return 0;
out:
	t->scan_off += (uint64_t)(p - b.data);
	buf_free(&b);
	return 0;
}

/*
 * Offset of the first committed line with number >= lo, in *off. Returns
 * 1 when found, 0 when there is none, -1 on error.
 */
static int
spool_over_seek(struct spool *sp, size_t gi, int ovfd, const struct stat *ovst,
    uint64_t lo, uint64_t *off)
{
	const struct spool_group *g = &sp->groups[gi];
	struct ovtail *t = &sp->gp[gi].tail;
	char path[SPOOL_PATH_MAX];
	struct ovrec r = {0, 0};
	uint64_t n = 0, i, a, b;
	struct stat st;
	int fd;

	if (spool_path_index(path, sizeof(path), g->name) == -1)
		return -1;
	if ((fd = openat(sp->dfd, path, O_RDONLY | O_CLOEXEC)) != -1) {
		if (fstat(fd, &st) == 0)
			n = spool_idx_committed(
			    fd, (uint64_t)st.st_size / SPOOL_IDXREC, g->high);
		if (n > 0 && (i = spool_idx_search(fd, n, lo)) < n &&
		    spool_rec_read(fd, i, &r) == 0) {
			close(fd);
			/* A stale index: read from the start. */
			*off = spool_rec_valid(ovfd, &r) ? r.off : 0;
			return 1;
		}
		if (n > 0 &&
		    (spool_rec_read(fd, n - 1, &r) == -1 ||
			!spool_rec_valid(ovfd, &r)))
			n = 0;
		close(fd);
	}
	if (n > 0 && r.num >= g->high)
		return 0; /* the index covers every committed line */
	if (t->ino != ovst->st_ino || t->dev != ovst->st_dev || t->idx_n != n ||
	    t->scan_off > (uint64_t)ovst->st_size) {
		spool_tail_free(t);
		t->ino = ovst->st_ino;
		t->dev = ovst->st_dev;
		t->idx_n = n;
		t->scan_off = n ? r.off : 0;
	}
	if (spool_tail_extend(
		t, ovfd, (uint64_t)ovst->st_size, g->high, n ? r.num : 0) == -1)
		return -1;
	for (a = 0, b = t->n; a < b;) {
		i = a + (b - a) / 2;
		if (t->recs[i].num < lo)
			a = i + 1;
		else
			b = i;
	}
	if (a == t->n)
		return 0;
	*off = t->recs[a].off;
	return 1;
}

int
spool_over(struct spool *sp, const char *group, uint64_t lo, uint64_t hi,
    spool_over_fn cb, void *arg)
{
	struct buf b = BUF_INIT(OVER_LINE_MAX + OVER_CHUNK);
	char path[SPOOL_PATH_MAX];
	const char *p, *nl, *end;
	uint64_t off, num;
	struct stat st;
	ssize_t i, got;
	int fd, rc;
	char *w;

	if ((i = spool_group_index(sp, group)) == -1) {
		errno = ENOENT;
		return -1;
	}
	if (hi > sp->groups[i].high)
		hi = sp->groups[i].high;
	if (lo == 0)
		lo = 1;
	if (lo > hi)
		return 0;
	if (spool_path_group(path, sizeof(path), group, SPOOL_OVERVIEW) == -1)
		return -1;
	if ((fd = openat(sp->dfd, path, O_RDONLY | O_CLOEXEC)) == -1)
		return errno == ENOENT ? 0 : -1;
	if (fstat(fd, &st) == -1 ||
	    (rc = spool_over_seek(sp, (size_t)i, fd, &st, lo, &off)) == -1) {
		close(fd);
		return -1;
	}
	if (rc == 0) {
		close(fd);
		return 0;
	}
	rc = 0;
	for (;;) {
		if ((w = buf_reserve(&b, OVER_CHUNK)) == NULL)
			break;
		got = pread(fd, w, OVER_CHUNK, (off_t)(off + b.len));
		if (got == -1 && errno == EINTR)
			continue;
		if (got <= 0) {
			rc = got == -1 ? -1 : 0;
			break;
		}
		b.len += (size_t)got;
		end = b.data + b.len;
		for (p = b.data; (nl = memchr(p, '\n', (size_t)(end - p)));
		     p = nl + 1) {
			if ((num = spool_line_num(p, (size_t)(nl - p))) == 0 ||
			    num < lo)
				continue;
			if (num > hi)
				goto done;
			if ((rc = cb(arg, num, p, (size_t)(nl - p))) != 0)
				goto done;
		}
		off += (uint64_t)(p - b.data);
		buf_consume(&b, (size_t)(p - b.data));
	}
done:
	close(fd);
	buf_free(&b);
	return rc;
}

static int
spool_over_copy(void *arg, uint64_t num, const char *line, size_t len)
{
	struct buf *out = arg;

	(void)num;
	buf_append(out, line, len);
	return 1;
}

int
spool_over_one(
    struct spool *sp, const char *group, uint64_t num, struct buf *line)
{
	size_t before = line->len;
	int rc;

	if ((rc = spool_over(sp, group, num, num, spool_over_copy, line)) == -1)
		return -1;
	if (rc == 0 || line->err) {
		buf_truncate(line, before);
		errno = line->err ? line->err : ENOENT;
		return -1;
	}
	return 0;
}
