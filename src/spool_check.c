/*
 * spool_check.c - verify every invariant of the spool against the article
 * files, which are the truth, and with rebuild regenerate everything
 * derived from them: each group's .overview and index, data/history,
 * .newsgate/fingerprints and the active marks. Article numbers never
 * change: a high mark only ever grows, and no article file is renamed,
 * rewritten or (except for temporary files) deleted.
 *
 * One pass over the files: each group directory is listed once, each
 * article read and parsed once (a crosspost is parsed in every group, but
 * its history and links are checked once, at its first Xref entry). The
 * expected overview of a group is built in memory and compared with the
 * file as a whole, and diagnosed line by line only when it differs.
 *
 * Problems are reported one line each; past CHECK_SHOW_MAX of one kind the
 * rest are counted and summarised in one line.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <endian.h>
#include <fcntl.h>
#include <unistd.h>

#include "common.h"
#include "spool_int.h"

#define CHECK_SHOW_MAX 50 /* problems reported one by one, per kind */

enum ck_kind {
	CK_ACTIVE,
	CK_FILE,
	CK_OVERVIEW,
	CK_INDEX,
	CK_HISTORY,
	CK_LINK,
	CK_STRAY,
	CK_NKINDS
};

static const char *const ck_kind_names[CK_NKINDS] = {"active", "article",
    "overview", "index", "history", "crosspost", "stray file"};

/* What the files say about one group. */
struct ck_group {
	uint64_t high, low; /* corrected marks */
	struct buf ov;	    /* expected .overview */
};

/*
 * An article copy that a rewrite of thread headers in flight (unlocked,
 * its journal present) is replacing: its copies may be the old file and
 * the new one for a moment, and its overview lines may give the old or
 * the new References and Bytes.
 */
struct ck_moving {
	size_t gi;
	uint64_t num;
};

/* An article's history entry as the files say it should be. */
struct ck_entry {
	size_t hist_i; /* entry in ck.seen */
	ino_t ino;
};

struct ck {
	struct spool *sp;
	bool rebuild;
	spool_report_fn report;
	void *arg;
	int problems;
	unsigned shown[CK_NKINDS];
	unsigned hidden[CK_NKINDS];
	struct ck_group *g;   /* parallel to sp->groups */
	struct hist seen;     /* history built from the files */
	bool relinked;	      /* a rebuild linked a missing copy back */
	bool inflight;	      /* unlocked, and a batch is open or crashed:
				 what lies above a high is not ours to judge */
	struct ck_moving *mv; /* copies a rewrite in flight names, sorted */
	size_t nmv, capmv;
	uint8_t *matched; /* per sp->hist entry: found in the files */
	struct fpset fps; /* fingerprints of the files */
	struct buf file;  /* scratch: one article */
	struct buf msg;	  /* scratch: one report */
};

static void NG_PRINTF(3, 4)
    ck_problem(struct ck *ck, enum ck_kind kind, const char *fmt, ...)
{
	va_list ap;

	ck->problems++;
	if (ck->shown[kind] >= CHECK_SHOW_MAX) {
		ck->hidden[kind]++;
		return;
	}
	ck->shown[kind]++;
	buf_reset(&ck->msg);
	va_start(ap, fmt);
	buf_vprintf(&ck->msg, fmt, ap);
	va_end(ap);
	if (ck->report)
		ck->report(ck->arg, buf_cstr(&ck->msg));
}

static int
ck_moving_cmp(const void *a, const void *b)
{
	const struct ck_moving *x = a, *y = b;

	if (x->gi != y->gi)
		return x->gi < y->gi ? -1 : 1;
	return x->num < y->num ? -1 : x->num > y->num;
}

static void
ck_moving_add(void *arg, const char *group, uint64_t num)
{
	struct ck *ck = arg;
	ssize_t gi;

	if ((gi = spool_group_index(ck->sp, group)) == -1)
		return;
	if (ck->nmv == ck->capmv) {
		ck->capmv = ck->capmv ? 2 * ck->capmv : 64;
		ck->mv = xreallocarray(ck->mv, ck->capmv, sizeof(*ck->mv));
	}
	ck->mv[ck->nmv].gi = (size_t)gi;
	ck->mv[ck->nmv++].num = num;
}

/* Read the journal: is a rewrite of thread headers in flight? */
static void
ck_moving_load(struct ck *ck)
{
	struct buf j = BUF_INIT(SIZE_MAX);

	if (spool_read_file(ck->sp, SPOOL_TXN, &j) == 0 && j.len > 0 &&
	    spool_rewrite_journal(j.data, j.len) &&
	    spool_rewrite_copies(j.data, ck_moving_add, ck) == 0 && ck->nmv > 1)
		qsort(ck->mv, ck->nmv, sizeof(*ck->mv), ck_moving_cmp);
	buf_free(&j);
}

static bool
ck_is_moving(const struct ck *ck, size_t gi, uint64_t num)
{
	struct ck_moving k = {gi, num};

	return ck->nmv > 0 &&
	    bsearch(&k, ck->mv, ck->nmv, sizeof(*ck->mv), ck_moving_cmp);
}

/* Does a rewrite in flight name any article of group gi? */
static bool
ck_group_moving(const struct ck *ck, size_t gi)
{
	size_t i;

	for (i = 0; i < ck->nmv; i++)
		if (ck->mv[i].gi == gi)
			return true;
	return false;
}

/* The start of field k of the line [p, nl), or NULL when it has fewer. */
static const char *
ck_field(const char *p, const char *nl, int k)
{
	for (; k > 0 && p != NULL; k--)
		if ((p = memchr(p, '\t', (size_t)(nl - p))) != NULL)
			p++;
	return p;
}

/* A copy of text with the References and Bytes fields (5 and 6) of the
 * lines of moving articles emptied, into out. */
static void
ck_mask(const struct ck *ck, size_t gi, const struct buf *text, struct buf *out)
{
	const char *p = text->data, *end = text->data + text->len, *nl;
	const char *f5, *f7, *tab;
	uint64_t num;

	buf_reset(out);
	for (; p && p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		f5 = ck_field(p, nl, 5);
		f7 = f5 ? ck_field(f5, nl, 2) : NULL;
		tab = memchr(p, '\t', (size_t)(nl - p));
		if (f7 != NULL && tab != NULL &&
		    parse_u64(p, (size_t)(tab - p), &num) == 0 &&
		    ck_is_moving(ck, gi, num)) {
			buf_append(out, p, (size_t)(f5 - p));
			buf_puts(out, "\t");
			buf_append(out, f7 - 1, (size_t)(nl - f7) + 1);
		} else
			buf_append(out, p, (size_t)(nl - p));
		if (nl < end)
			buf_putc(out, '\n');
	}
}

/* Do two indexes hold the same article numbers, in the same order? */
static bool
ck_index_nums_equal(const struct buf *a, const struct buf *b)
{
	size_t i;

	if (a->len != b->len)
		return false;
	for (i = 0; i + SPOOL_IDXREC <= a->len; i += SPOOL_IDXREC)
		if (memcmp(a->data + i, b->data + i, 8) != 0)
			return false;
	return true;
}

/* --- one article --------------------------------------------------- */

/*
 * Check an article's Xref against the files and build its history
 * location: the Xref entries that are this very file, in Xref order
 * ("g:n g2:n2"). Link counts are checked once per file, at its first
 * location (*primary). A copy missing from a group that Xref names, at or
 * above that group's low mark, is linked back by a rebuild.
 */
static void
ck_xref(struct ck *ck, const char *group, uint64_t num, const struct stat *st,
    const char *xref, struct buf *loc, bool *primary)
{
	struct spool *sp = ck->sp;
	char name[SPOOL_GROUP_MAX + 1], path[SPOOL_PATH_MAX],
	    self[SPOOL_PATH_MAX];
	char nb[24];
	const char *p, *end, *colon;
	uint64_t n, same = 0, links = (uint64_t)st->st_nlink;
	ssize_t self_gi = spool_group_index(sp, group);
	bool named = false, is_same;
	bool moving = self_gi != -1 && ck_is_moving(ck, (size_t)self_gi, num);
	struct stat ost;
	ssize_t gi;

	buf_reset(loc);
	*primary = true;
	(void)str_printf(nb, sizeof(nb), "%" PRIu64, num);
	if (spool_path_group(self, sizeof(self), group, nb) == -1)
		return;
	if (xref == NULL || (p = strchr(xref, ' ')) == NULL)
		p = "";
	while (*p) {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		if ((end = strchr(p, ' ')) == NULL)
			end = p + strlen(p);
		colon = memrchr(p, ':', (size_t)(end - p));
		if (colon == NULL || (size_t)(colon - p) > SPOOL_GROUP_MAX ||
		    parse_u64(colon + 1, (size_t)(end - colon - 1), &n) == -1) {
			ck_problem(ck, CK_LINK, "%s:%" PRIu64 ": bad Xref",
			    group, num);
			break;
		}
		memcpy(name, p, (size_t)(colon - p));
		name[colon - p] = '\0';
		p = end;
		if ((gi = spool_group_index(sp, name)) == -1)
			continue; /* a group removed since */
		if (strcmp(name, group) == 0) {
			named = true;
			if (n != num) {
				ck_problem(ck, CK_LINK,
				    "%s:%" PRIu64 ": Xref says %s:%" PRIu64,
				    group, num, name, n);
				continue;
			}
			is_same = true;
		} else {
			(void)str_printf(nb, sizeof(nb), "%" PRIu64, n);
			if (spool_path_group(path, sizeof(path), name, nb) ==
			    -1)
				continue;
			if (fstatat(sp->dfd, path, &ost, 0) == 0) {
				/* Being rewritten: the old file or the
				 * new one, for a moment. */
				is_same = moving ||
				    (ost.st_ino == st->st_ino &&
					ost.st_dev == st->st_dev);
			} else
				is_same = false;
			if (!is_same && errno == ENOENT &&
			    n < sp->groups[gi].low)
				continue; /* expired from that group */
			if (!is_same) {
				ck_problem(ck, CK_LINK,
				    "%s:%" PRIu64 ": Xref names %s:%" PRIu64
				    ", which is %s",
				    group, num, name, n,
				    errno == ENOENT ? "missing"
						    : "another file");
				if (ck->rebuild && errno == ENOENT &&
				    linkat(sp->dfd, self, sp->dfd, path, 0) ==
					0) {
					ck->relinked = true;
					links++;
					is_same = true;
				}
			}
			if (is_same && same == 0)
				*primary = false;
		}
		if (!is_same)
			continue;
		buf_printf(loc, "%s%s:%" PRIu64, loc->len ? " " : "", name, n);
		same++;
	}
	if (!named) {
		if (xref)
			ck_problem(ck, CK_LINK,
			    "%s:%" PRIu64 ": Xref does not name it", group,
			    num);
		buf_printf(
		    loc, "%s%s:%" PRIu64, loc->len ? " " : "", group, num);
		same++;
	}
	if (*primary && links != same && !moving)
		ck_problem(ck, CK_LINK,
		    "%s:%" PRIu64 ": %" PRIu64 " links, but %" PRIu64
		    " found through Xref",
		    group, num, links, same);
}

/* A history location without the groups removed since, into out. */
static void
ck_live_loc(struct ck *ck, const char *loc, struct buf *out)
{
	char name[SPOOL_GROUP_MAX + 1];
	const char *p = loc, *end, *colon;

	buf_reset(out);
	while (*p) {
		if ((end = strchr(p, ' ')) == NULL)
			end = p + strlen(p);
		colon = memrchr(p, ':', (size_t)(end - p));
		if (colon && (size_t)(colon - p) <= SPOOL_GROUP_MAX) {
			memcpy(name, p, (size_t)(colon - p));
			name[colon - p] = '\0';
			if (spool_group_index(ck->sp, name) != -1)
				buf_printf(out, "%s%.*s", out->len ? " " : "",
				    (int)(end - p), p);
		}
		p = *end ? end + 1 : end;
	}
}

/* History and fingerprint of an article, once per file. */
static void
ck_history(struct ck *ck, const char *group, uint64_t num,
    const struct stat *st, const char *msgid, const char *loc, uint64_t fp)
{
	struct spool *sp = ck->sp;
	const struct hent *e;
	int64_t arrival = (int64_t)st->st_mtime;
	ssize_t i;

	if ((i = spool_hist_find(&ck->seen, msgid, strlen(msgid))) != -1) {
		ck_problem(ck, CK_FILE, "%s:%" PRIu64 ": %s is also in %s",
		    group, num, msgid,
		    ck->seen.text.data + ck->seen.ents[i].off +
			ck->seen.ents[i].idlen + 1);
		return;
	}
	if ((i = spool_hist_find(&sp->hist, msgid, strlen(msgid))) == -1)
		ck_problem(ck, CK_HISTORY, "%s:%" PRIu64 ": %s not in history",
		    group, num, msgid);
	else {
		e = &sp->hist.ents[i];
		ck->matched[i] = 1;
		arrival = e->arrival;
		ck_live_loc(
		    ck, sp->hist.text.data + e->off + e->idlen + 1, &ck->msg);
		if (strcmp(buf_cstr(&ck->msg), loc) != 0)
			ck_problem(ck, CK_HISTORY,
			    "%s: history says %s, the files %s", msgid,
			    sp->hist.text.data + e->off + e->idlen + 1, loc);
	}
	spool_hist_add(
	    &ck->seen, msgid, strlen(msgid), loc, strlen(loc), arrival);
	spool_fps_add(&ck->fps, fp);
	/* Not a problem when absent: a writer may store none (0), and
	 * they are only a dedupe cache, which a rebuild regenerates. */
}

/* Read and check one article file; append its overview line. */
static void
ck_article(struct ck *ck, size_t gi, int dfd, uint64_t num, struct buf *loc)
{
	const char *group = ck->sp->groups[gi].name;
	struct buf why = BUF_INIT(256);
	struct article *a = NULL;
	const char *msgid, *xref;
	char name[24];
	struct stat st;
	bool primary;
	int fd;

	(void)str_printf(name, sizeof(name), "%" PRIu64, num);
	buf_reset(&ck->file);
	if ((fd = openat(dfd, name, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &st) == -1 ||
	    (buf_reserve(&ck->file, (size_t)st.st_size) == NULL) ||
	    read(fd, ck->file.data, (size_t)st.st_size) != st.st_size) {
		ck_problem(ck, CK_FILE, "%s:%" PRIu64 ": unreadable: %s", group,
		    num, strerror(errno ? errno : EIO));
		if (fd != -1)
			close(fd);
		return;
	}
	close(fd);
	ck->file.len = (size_t)st.st_size;
	ck->file.data[ck->file.len] = '\0';
	if (article_parse(ck->file.data, ck->file.len, &a, &why) == -1) {
		ck_problem(ck, CK_FILE, "%s:%" PRIu64 ": cannot parse: %s",
		    group, num, buf_cstr(&why));
		buf_free(&why);
		return;
	}
	buf_free(&why);
	if ((msgid = article_get(a, "Message-ID")) == NULL ||
	    !article_msgid_valid(msgid)) {
		ck_problem(ck, CK_FILE, "%s:%" PRIu64 ": no valid Message-ID",
		    group, num);
		article_free(a);
		return;
	}
	xref = article_get(a, "Xref");
	ck_xref(ck, group, num, &st, xref, loc, &primary);
	if (xref == NULL) {
		struct buf x = BUF_INIT(SIZE_MAX);

		buf_printf(&x, "%s %s:%" PRIu64, ck->sp->host, group, num);
		spool_format_over(
		    &ck->g[gi].ov, num, a, ck->file.len, buf_cstr(&x));
		buf_free(&x);
	} else
		spool_format_over(&ck->g[gi].ov, num, a, ck->file.len, xref);
	if (primary)
		ck_history(ck, group, num, &st, msgid, buf_cstr(loc),
		    article_fingerprint(a));
	article_free(a);
}

/* --- one group ----------------------------------------------------- */

static int
ck_num_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The numbered files of a group directory, sorted; strays reported. */
static uint64_t *
ck_list(struct ck *ck, size_t gi, int dfd, size_t *np)
{
	const char *group = ck->sp->groups[gi].name;
	uint64_t *nums = NULL, v;
	size_t n = 0, cap = 0;
	struct dirent *de;
	struct stat st;
	DIR *d;
	int fd;

	*np = 0;
	if ((fd = dup(dfd)) == -1 || (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return NULL;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' &&
		    (strcmp(de->d_name, ".") == 0 ||
			strcmp(de->d_name, "..") == 0 ||
			strcmp(de->d_name, SPOOL_OVERVIEW) == 0))
			continue;
		if (parse_u64(de->d_name, strlen(de->d_name), &v) == 0 &&
		    v > 0 && de->d_type != DT_DIR) {
			if (n == cap) {
				cap = cap ? cap * 2 : 256;
				nums = xreallocarray(nums, cap, sizeof(*nums));
			}
			nums[n++] = v;
			continue;
		}
		if (de->d_type == DT_DIR ||
		    (de->d_type == DT_UNKNOWN &&
			fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) ==
			    0 &&
			S_ISDIR(st.st_mode)))
			continue; /* a subgroup */
		ck_problem(
		    ck, CK_STRAY, "%s: stray file %s", group, de->d_name);
	}
	closedir(d);
	if (n > 0)
		qsort(nums, n, sizeof(*nums), ck_num_cmp);
	*np = n;
	return nums;
}

struct ck_line {
	uint64_t num;
	const char *p;
	size_t len;
};

static int
ck_line_cmp(const void *a, const void *b)
{
	const struct ck_line *x = a, *y = b;

	if (x->num != y->num)
		return x->num < y->num ? -1 : 1;
	return x->p < y->p ? -1 : x->p > y->p;
}

static struct ck_line *
ck_lines(const char *text, size_t len, size_t *np)
{
	const char *p = text, *end = text + len, *nl, *tab;
	struct ck_line *l = NULL;
	size_t n = 0, cap = 0;

	for (; p && p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			l = xreallocarray(l, cap, sizeof(*l));
		}
		l[n].p = p;
		l[n].len = (size_t)(nl - p);
		tab = memchr(p, '\t', l[n].len);
		if (tab == NULL ||
		    parse_u64(p, (size_t)(tab - p), &l[n].num) == -1)
			l[n].num = 0;
		n++;
	}
	*np = n;
	return l;
}

/* The .overview differs from what the files say: say how. */
static void
ck_overview_diff(struct ck *ck, const char *group, const struct buf *have,
    const struct buf *want)
{
	struct ck_line *h, *w;
	size_t nh, nw, i, j;
	int before = ck->problems;

	h = ck_lines(have->data, have->len, &nh);
	w = ck_lines(want->data, want->len, &nw);
	for (i = 0; i < nh; i++) {
		if (h[i].num == 0) {
			ck_problem(ck, CK_OVERVIEW,
			    "%s: .overview line %zu "
			    "has no article number",
			    group, i + 1);
		} else if (i > 0 && h[i].num <= h[i - 1].num) {
			ck_problem(ck, CK_OVERVIEW,
			    "%s: .overview not sorted "
			    "at line %zu (%" PRIu64 " after %" PRIu64 ")",
			    group, i + 1, h[i].num, h[i - 1].num);
			break;
		}
	}
	if (have->len && have->data[have->len - 1] != '\n')
		ck_problem(ck, CK_OVERVIEW,
		    "%s: .overview ends in a partial "
		    "line",
		    group);
	if (nh > 0)
		qsort(h, nh, sizeof(*h), ck_line_cmp);
	for (i = j = 0; i < nh || j < nw;) {
		if (i < nh && h[i].num == 0) {
			i++;
		} else if (j == nw || (i < nh && h[i].num < w[j].num)) {
			ck_problem(ck, CK_OVERVIEW,
			    "%s: .overview has %" PRIu64
			    " but there is no such article",
			    group, h[i].num);
			i++;
		} else if (i == nh || w[j].num < h[i].num) {
			ck_problem(ck, CK_OVERVIEW,
			    "%s:%" PRIu64 ": no "
			    ".overview line",
			    group, w[j].num);
			j++;
		} else {
			if (i + 1 < nh && h[i + 1].num == h[i].num)
				ck_problem(ck, CK_OVERVIEW,
				    "%s:%" PRIu64 ": "
				    "two .overview lines",
				    group, h[i].num);
			else if (h[i].len != w[j].len ||
			    memcmp(h[i].p, w[j].p, h[i].len) != 0)
				ck_problem(ck, CK_OVERVIEW,
				    "%s:%" PRIu64 ": "
				    ".overview line differs from the article",
				    group, h[i].num);
			while (i + 1 < nh && h[i + 1].num == h[i].num)
				i++;
			i++;
			j++;
		}
	}
	if (ck->problems == before)
		ck_problem(ck, CK_OVERVIEW,
		    "%s: .overview differs from the "
		    "articles",
		    group);
	free(h);
	free(w);
}

/* Drop the lines of a batch in flight: from the first number above high
 * (or a last line still being written) to the end. */
static void
ck_cut_inflight(struct buf *have, uint64_t high)
{
	const char *p = have->data, *end = have->data + have->len, *nl, *tab;
	uint64_t num;

	for (; p && p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			break;
		tab = memchr(p, '\t', (size_t)(nl - p));
		if (tab && parse_u64(p, (size_t)(tab - p), &num) == 0 &&
		    num > high)
			break;
	}
	if (p && p < end)
		buf_truncate(have, (size_t)(p - have->data));
}

/* Compare the .overview and the index with the files; rewrite both. */
static int
ck_overview(struct ck *ck, size_t gi)
{
	struct spool *sp = ck->sp;
	const char *group = sp->groups[gi].name;
	struct buf have = BUF_INIT(SIZE_MAX), idx = BUF_INIT(SIZE_MAX),
		   want_idx = BUF_INIT(SIZE_MAX);
	struct buf *want = &ck->g[gi].ov;
	struct buf hm = BUF_INIT(SIZE_MAX), wm = BUF_INIT(SIZE_MAX);
	char ov[SPOOL_PATH_MAX], ip[SPOOL_PATH_MAX], tmp[SPOOL_PATH_MAX];
	bool ov_ok, idx_ok, moving;
	int rc = -1;

	if (spool_path_group(ov, sizeof(ov), group, SPOOL_OVERVIEW) == -1 ||
	    spool_path_index(ip, sizeof(ip), group) == -1)
		goto out;
	if (spool_read_file(sp, ov, &have) == -1 && errno != ENOENT)
		goto out;
	if (ck->inflight)
		ck_cut_inflight(&have, sp->groups[gi].high);
	moving = ck_group_moving(ck, gi);
	if (moving) {
		/* A rewrite in flight: its lines may be old or new. */
		ck_mask(ck, gi, &have, &hm);
		ck_mask(ck, gi, want, &wm);
	}
	ov_ok = moving ? hm.len == wm.len &&
		(wm.len == 0 || memcmp(hm.data, wm.data, wm.len) == 0)
		       : have.len == want->len &&
		(want->len == 0 ||
		    memcmp(have.data, want->data, want->len) == 0);
	if (!ov_ok)
		ck_overview_diff(
		    ck, group, moving ? &hm : &have, moving ? &wm : want);
	/* The index must describe the .overview as it is. */
	if (spool_read_file(sp, ip, &idx) == -1 && errno != ENOENT)
		goto out;
	if (spool_index_build(sp, group, have.data, have.len, &want_idx) == -1)
		goto out;
	if (ck->inflight && idx.len > want_idx.len &&
	    memcmp(idx.data, want_idx.data ? want_idx.data : "",
		want_idx.len) == 0)
		idx.len = want_idx.len; /* the rest indexes the batch */
	/* While a rewrite is in flight the index may still give the
	 * offsets of the previous .overview (readers check each one). */
	idx_ok = moving ? ck_index_nums_equal(&idx, &want_idx)
			: idx.len == want_idx.len &&
		(idx.len == 0 || memcmp(idx.data, want_idx.data, idx.len) == 0);
	if (!idx_ok)
		ck_problem(ck, CK_INDEX,
		    "%s: overview index does not match "
		    "the .overview (%zu of %zu records)",
		    group, idx.len / SPOOL_IDXREC, want_idx.len / SPOOL_IDXREC);
	rc = 0;
	if (!ck->rebuild)
		goto out;
	if (!ov_ok &&
	    (!str_printf(
		 tmp, sizeof(tmp), "%s/%s.overview", SPOOL_TMPDIR, group) ||
		spool_replace_file(sp, ov, tmp, want->data ? want->data : "",
		    want->len, false) == -1))
		rc = -1;
	if (!ov_ok) {
		buf_reset(&want_idx);
		if (spool_index_build(
			sp, group, want->data, want->len, &want_idx) == -1)
			rc = -1;
	}
	if (rc == 0 && (!ov_ok || !idx_ok) &&
	    (!str_printf(tmp, sizeof(tmp), "%s/%s.idx", SPOOL_TMPDIR, group) ||
		spool_replace_file(sp, ip, tmp,
		    want_idx.data ? want_idx.data : "", want_idx.len,
		    false) == -1))
		rc = -1;
out:
	if (rc == -1)
		log_warn("spool: check %s", group);
	buf_free(&have);
	buf_free(&idx);
	buf_free(&want_idx);
	buf_free(&hm);
	buf_free(&wm);
	return rc;
}

static int
ck_group(struct ck *ck, size_t gi)
{
	struct spool *sp = ck->sp;
	struct spool_group *g = &sp->groups[gi];
	struct ck_group *cg = &ck->g[gi];
	struct buf loc = BUF_INIT(SIZE_MAX);
	char path[SPOOL_PATH_MAX];
	uint64_t *nums = NULL;
	size_t n = 0, i;
	int dfd;

	buf_init(&cg->ov, SIZE_MAX);
	if (spool_path_group(path, sizeof(path), g->name, NULL) == -1)
		return -1;
	dfd = openat(sp->dfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd == -1 && errno != ENOENT) {
		log_warn("spool: open %s/%s", sp->dir, path);
		return -1;
	}
	if (dfd == -1) {
		ck_problem(ck, CK_STRAY, "%s: no directory %s", g->name, path);
		if (ck->rebuild && spool_mkdirs(sp, path) == -1)
			return -1;
	} else {
		nums = ck_list(ck, gi, dfd, &n);
		/* A batch in flight (or crashed, for the next writer to roll
		 * back): its files are above the high and invisible. */
		while (
		    ck->inflight && nums != NULL && n && nums[n - 1] > g->high)
			n--;
		for (i = 0; i < n; i++)
			ck_article(ck, gi, dfd, nums[i], &loc);
		close(dfd);
	}
	buf_free(&loc);
	cg->high = g->high;
	if (nums != NULL && n && nums[n - 1] > g->high) {
		ck_problem(ck, CK_ACTIVE,
		    "%s: high is %" PRIu64 " but "
		    "article %" PRIu64 " exists",
		    g->name, g->high, nums[n - 1]);
		cg->high = nums[n - 1];
	}
	cg->low = nums != NULL && n ? nums[0] : cg->high + 1;
	if (g->low != cg->low)
		ck_problem(ck, CK_ACTIVE,
		    "%s: low is %" PRIu64 ", should be "
		    "%" PRIu64,
		    g->name, g->low, cg->low);
	free(nums);
	return ck_overview(ck, gi);
}

/* --- history, fingerprints, the rest -------------------------------- */

/* History lines that no article accounts for. */
static void
ck_history_left(struct ck *ck)
{
	struct spool *sp = ck->sp;
	struct spool_loc loc;
	size_t i;
	ssize_t gi, j;

	for (i = 0; i < sp->hist.ncommitted; i++) {
		const struct hent *e = &sp->hist.ents[i];
		const char *id = sp->hist.text.data + e->off;

		if (ck->matched[i])
			continue;
		if ((j = spool_hist_find(&ck->seen, id, e->idlen)) != -1) {
			ck_problem(ck, CK_HISTORY,
			    "%s: more than one history "
			    "line",
			    id);
			continue;
		}
		if (spool_lookup(sp, id, &loc) == -1 ||
		    (gi = spool_group_index(sp, loc.group)) == -1)
			continue; /* its group is gone: kept for dedupe */
		if (loc.num >= ck->g[gi].low && loc.num <= ck->g[gi].high)
			ck_problem(ck, CK_HISTORY,
			    "%s: history points to "
			    "%s:%" PRIu64 ", which is missing",
			    id, loc.group, loc.num);
		else {
			/* Expired (below low): kept so it is not taken
			 * again. */
			ck->matched[i] = 2;
		}
	}
}

struct ck_hline {
	int64_t arrival;
	size_t seq; /* for a stable order */
	const struct hist *h;
	size_t i;
};

static int
ck_hline_cmp(const void *a, const void *b)
{
	const struct ck_hline *x = a, *y = b;

	if (x->arrival != y->arrival)
		return x->arrival < y->arrival ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Write the rebuilt history (expired lines kept) and fingerprints. */
static int
ck_write_history(struct ck *ck)
{
	struct spool *sp = ck->sp;
	struct ck_hline *l;
	struct buf out = BUF_INIT(SIZE_MAX);
	size_t n = 0, i;
	uint64_t v;
	int rc;

	l = xcalloc(sp->hist.ncommitted + ck->seen.n + 1, sizeof(*l));
	for (i = 0; i < sp->hist.ncommitted; i++)
		if (ck->matched[i] == 2) {
			l[n] = (struct ck_hline){
			    sp->hist.ents[i].arrival, n, &sp->hist, i};
			n++;
		}
	for (i = 0; i < ck->seen.n; i++) {
		l[n] = (struct ck_hline){
		    ck->seen.ents[i].arrival, n, &ck->seen, i};
		n++;
	}
	if (n > 0)
		qsort(l, n, sizeof(*l), ck_hline_cmp);
	for (i = 0; i < n; i++) {
		const struct hent *e = &l[i].h->ents[l[i].i];
		const char *id = l[i].h->text.data + e->off;

		buf_printf(&out, "%s\t%lld\t%s\n", id, (long long)e->arrival,
		    id + e->idlen + 1);
	}
	free(l);
	rc = spool_replace_file(sp, SPOOL_HISTORY, SPOOL_TMPDIR "/history",
	    out.data ? out.data : "", out.len, false);
	buf_reset(&out);
	/* Fingerprints: the files' and every one recorded before (expired
	 * articles stay known). */
	for (i = 0; i < sp->fps.n; i++)
		spool_fps_add(&ck->fps, sp->fps.vals[i]);
	for (i = 0; i < ck->fps.n; i++) {
		v = htole64(ck->fps.vals[i]);
		buf_append(&out, &v, sizeof(v));
	}
	if (rc == 0)
		rc = spool_replace_file(sp, SPOOL_FPS,
		    SPOOL_TMPDIR "/fingerprints", out.data ? out.data : "",
		    out.len, false);
	buf_free(&out);
	return rc;
}

static void
ck_tmpdir(struct ck *ck)
{
	struct dirent *de;
	DIR *d;
	int fd;

	if ((fd = openat(ck->sp->dfd, SPOOL_TMPDIR,
		 O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		/*
		 * A temporary file left by a killed writer is invisible to
		 * readers and to every index: not an inconsistency. A
		 * rebuild (which holds the writer lock) sweeps it away.
		 */
		if (ck->rebuild)
			(void)unlinkat(fd, de->d_name, 0);
	}
	closedir(d);
}

static void
ck_overview_fmt(struct ck *ck)
{
	struct buf b = BUF_INIT(SIZE_MAX);

	if (spool_read_file(ck->sp, SPOOL_OVERFMT, &b) == -1 ||
	    strcmp(buf_cstr(&b), SPOOL_OVERFMT_TEXT) != 0) {
		ck_problem(ck, CK_ACTIVE,
		    "%s is not the standard overview "
		    "format",
		    SPOOL_OVERFMT);
		if (ck->rebuild &&
		    spool_replace_file(ck->sp, SPOOL_OVERFMT,
			SPOOL_OVERFMT ".tmp", SPOOL_OVERFMT_TEXT,
			strlen(SPOOL_OVERFMT_TEXT), false) == -1)
			log_warnx("spool: cannot rewrite %s", SPOOL_OVERFMT);
	}
	buf_free(&b);
}

/* Make the rebuilt files durable, the marks too, and reload. */
static int
ck_commit(struct ck *ck)
{
	struct spool *sp = ck->sp;
	size_t i;

	if (ck_write_history(ck) == -1)
		return -1;
	for (i = 0; i < sp->ngroups; i++) {
		sp->groups[i].high = ck->g[i].high;
		sp->groups[i].low = ck->g[i].low;
		sp->gp[i].next = ck->g[i].high;
		spool_tail_free(&sp->gp[i].tail);
	}
	if (syncfs(sp->dfd) == -1) {
		log_warn("spool: syncfs %s", sp->dir);
		return -1;
	}
	if (spool_write_active(sp, false) == -1)
		return -1;
	spool_hist_clear(&sp->hist);
	spool_fps_clear(&sp->fps);
	if (spool_hist_load(sp, true) == -1 || spool_fps_load(sp) == -1)
		return -1;
	return 0;
}

/* One full pass; *relinked when a rebuild restored crosspost links, in
 * which case nothing was committed and the caller runs again. */
static int
ck_run(struct spool *sp, bool rebuild, bool inflight, spool_report_fn report,
    void *arg, bool *relinked)
{
	struct ck ck;
	size_t i;
	int rc = -1;

	memset(&ck, 0, sizeof(ck));
	ck.sp = sp;
	ck.rebuild = rebuild;
	ck.inflight = inflight;
	ck.report = report;
	ck.arg = arg;
	buf_init(&ck.seen.text, SIZE_MAX);
	buf_init(&ck.file, SIZE_MAX);
	buf_init(&ck.msg, 4096);
	ck.g = xcalloc(sp->ngroups ? sp->ngroups : 1, sizeof(*ck.g));
	ck.matched = xcalloc(sp->hist.n ? sp->hist.n : 1, 1);
	if (inflight)
		ck_moving_load(&ck);
	ck_overview_fmt(&ck);
	for (i = 0; i < sp->ngroups; i++)
		if (ck_group(&ck, i) == -1)
			goto done;
	ck_history_left(&ck);
	ck_tmpdir(&ck);
	*relinked = ck.relinked;
	if (rebuild && !ck.relinked && ck_commit(&ck) == -1)
		goto done;
	for (i = 0; i < CK_NKINDS; i++)
		if (ck.hidden[i] && report) {
			buf_reset(&ck.msg);
			buf_printf(&ck.msg, "... and %u more %s problems",
			    ck.hidden[i], ck_kind_names[i]);
			report(arg, buf_cstr(&ck.msg));
		}
	rc = ck.problems;
done:
	for (i = 0; i < sp->ngroups; i++)
		buf_free(&ck.g[i].ov);
	free(ck.g);
	free(ck.matched);
	free(ck.mv);
	spool_hist_clear(&ck.seen);
	buf_free(&ck.seen.text);
	spool_fps_clear(&ck.fps);
	buf_free(&ck.file);
	buf_free(&ck.msg);
	return rc;
}

int
spool_check(struct spool *sp, bool rebuild, spool_report_fn report, void *arg)
{
	bool took = false, relinked = false, inflight;
	int rc = -1, again;

	if (rebuild && sp->mode != SPOOL_WRITE) {
		errno = EROFS;
		return -1;
	}
	if (sp->in_batch && spool_flush(sp) == -1)
		return -1;
	if (sp->mode == SPOOL_WRITE) {
		if (spool_lock(sp) == -1)
			return -1;
		took = true;
	} else if (spool_refresh(sp) == -1)
		return -1;
	if (!sp->fps.loaded && spool_fps_load(sp) == -1)
		goto out;
	inflight = !took && spool_txn_live(sp);
	rc = ck_run(sp, rebuild, inflight, report, arg, &relinked);
	/* Links restored: the groups seen before them need another pass. */
	if (rc > 0 && rebuild && relinked &&
	    ((again = ck_run(sp, true, false, NULL, NULL, &relinked)) == -1 ||
		relinked))
		rc = -1;
out:
	if (took)
		spool_unlock(sp);
	return rc;
}
