/*
 * spool_rethread.c - rewriting the thread headers (References and
 * X-Newsgate-Thread) of stored articles, for `newsgate rethread`. Article
 * numbers, Xref, Lines and the body never change; Bytes follows the new
 * header length.
 *
 * A rewrite batch, under the writer lock:
 *   1. the journal .newsgate/txn says, for each article, where its copies
 *      are and its new header values (a redo log), and is fdatasynced
 *      before anything else is written:
 *          "newsgate-rewrite 1" LF
 *          GROUP:N[ GROUP:N...] TAB REFERENCES TAB THREAD LF  (per article)
 *          "end" LF
 *      (an empty value: the header is removed);
 *   2. each article's new text is written to .newsgate/tmp/rewrite.K,
 *      linked there once more per further copy, and each name is renamed
 *      over the article's number in one group: every copy switches from
 *      the old file to the new one at once, and a crosspost ends as one
 *      file again;
 *   3. each group touched gets a new .overview (the article's lines
 *      replaced) and a new index, each written aside and renamed;
 *   4. one syncfs(); the journal is emptied.
 *
 * Recovery (spool_recover, by the next writer): a complete rewrite journal
 * is simply applied again. Every step is idempotent: the new text is made
 * from whichever copy is there, old or new, by the same edit (both headers
 * removed, the new ones put where import puts them), and the overview
 * lines are made from the new text.
 *
 * Readers meanwhile see each article old or new, never half written; an
 * index may for a moment describe the previous .overview, which
 * spool_over.c detects (a record must point at the start of its own line)
 * and then reads the .overview from its start.
 *
 * Never does: create an article file under a number that has none, change
 * an article's body or any header but those two, or change the References
 * of an article that has no X-Newsgate-Thread (its References are the
 * poster's, not ours).
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <fcntl.h>
#include <strings.h>
#include <unistd.h>

#include "common.h"
#include "spool_int.h"

#define RW_VALUE_MAX 4096	  /* octets in a header value we write */
#define RW_ARTICLE_MAX (1u << 26) /* octets of an article read */
#define RW_TMP_PREFIX "rewrite."

/* One article of a batch. In a parsed journal the strings point into its
 * text; otherwise they are owned. */
struct rw_ent {
	char *loc;  /* "GROUP:N[ GROUP:N...]": the copies */
	char *refs; /* new References, "" for none */
	char *thr;  /* new X-Newsgate-Thread, "" for none */
};

/* A new overview line for one group. */
struct rw_line {
	size_t gi;
	uint64_t num;
	char *line; /* owned, with its LF */
};

struct rw_batch {
	struct rw_line *lines;
	size_t nlines, caplines;
	struct buf art;	 /* scratch: the article as it is */
	struct buf next; /* scratch: the article as it will be */
};

/* --- locations --------------------------------------------------------- */

/*
 * The next "GROUP:N" of a location list at *p, advancing *p. Returns 1,
 * 0 at the end, -1 when malformed.
 */
int
spool_loc_next(const char **p, char *group, uint64_t *num)
{
	const char *s = *p, *end, *colon;

	while (*s == ' ')
		s++;
	if (*s == '\0') {
		*p = s;
		return 0;
	}
	end = s + strcspn(s, " \t\n");
	colon = memrchr(s, ':', (size_t)(end - s));
	if (colon == NULL || colon == s ||
	    (size_t)(colon - s) > SPOOL_GROUP_MAX ||
	    parse_u64(colon + 1, (size_t)(end - colon - 1), num) == -1 ||
	    *num == 0)
		return -1;
	memcpy(group, s, (size_t)(colon - s));
	group[colon - s] = '\0';
	if (!spool_group_name_valid(group))
		return -1;
	*p = end;
	return 1;
}

static int
rw_path(char *dst, size_t cap, const char *group, uint64_t num)
{
	char name[24];

	(void)str_printf(name, sizeof(name), "%" PRIu64, num);
	return spool_path_group(dst, cap, group, name);
}

/* --- the edit ---------------------------------------------------------- */

/* A header field of a text: [start, end) includes its continuation lines
 * and the final LF. */
struct rw_field {
	size_t start, end;
	bool thread_hdr; /* References or X-Newsgate-Thread */
	bool is_refs;
	bool is_lines, is_xref;
};

static bool
rw_name_is(const char *p, size_t len, const char *name)
{
	return len == strlen(name) && strncasecmp(p, name, len) == 0;
}

/*
 * Make the text of article text (len octets) with its References and
 * X-Newsgate-Thread replaced by refs and thr ("" removes one) into out:
 * both old fields are removed wherever they are, and the new ones go
 * where import puts them, just before the Lines and Xref that the spool
 * appends last (before Xref alone when Lines is elsewhere, at the end of
 * the header when there is no Xref). *ours is false when the article has
 * References and no X-Newsgate-Thread. Returns -1 when text has no header
 * block.
 */
static int
rw_edit(const char *text, size_t len, const char *refs, const char *thr,
    struct buf *out, bool *ours)
{
	struct rw_field *f = NULL;
	struct buf hdr = BUF_INIT(SIZE_MAX);
	struct article *a;
	size_t nf = 0, capf = 0, i, at, kept_last = SIZE_MAX,
	       kept_prev = SIZE_MAX;
	size_t body, p = 0, e, colon;
	const char *c;
	bool has_refs = false, has_thr = false;

	while (p < len && text[p] != '\n') {
		e = p;
		do {
			const char *nl = memchr(text + e, '\n', len - e);

			if (nl == NULL)
				goto bad;
			e = (size_t)(nl - text) + 1;
		} while (e < len && (text[e] == ' ' || text[e] == '\t'));
		if (nf == capf) {
			capf = capf ? 2 * capf : 32;
			f = xreallocarray(f, capf, sizeof(*f));
		}
		c = memchr(text + p, ':', e - p);
		colon = c ? (size_t)(c - text) : e;
		f[nf].start = p;
		f[nf].end = e;
		f[nf].is_refs = rw_name_is(text + p, colon - p, "References");
		f[nf].thread_hdr = f[nf].is_refs ||
		    rw_name_is(text + p, colon - p, "X-Newsgate-Thread");
		f[nf].is_lines = rw_name_is(text + p, colon - p, "Lines");
		f[nf].is_xref = rw_name_is(text + p, colon - p, "Xref");
		has_refs |= f[nf].is_refs;
		has_thr |= f[nf].thread_hdr && !f[nf].is_refs;
		if (!f[nf].thread_hdr) {
			kept_prev = kept_last;
			kept_last = nf;
		}
		nf++;
		p = e;
	}
	if (p >= len)
		goto bad; /* no empty line after the header */
	body = p;
	*ours = !has_refs || has_thr;
	/* Where the new fields go. */
	at = body;
	if (kept_last != SIZE_MAX && f[kept_last].is_xref) {
		at = f[kept_last].start;
		if (kept_prev != SIZE_MAX && f[kept_prev].is_lines)
			at = f[kept_prev].start;
	}
	/* Rendered exactly as article_render() renders them at import. */
	a = article_new();
	if (refs[0] != '\0')
		article_set(a, "References", refs);
	if (thr[0] != '\0')
		article_set(a, "X-Newsgate-Thread", thr);
	article_render(a, &hdr);
	article_free(a);
	buf_truncate(&hdr, hdr.len - 1); /* the empty line */
	buf_reset(out);
	for (i = 0; i < nf; i++) {
		if (f[i].start == at)
			buf_append(out, hdr.data, hdr.len);
		if (!f[i].thread_hdr)
			buf_append(
			    out, text + f[i].start, f[i].end - f[i].start);
	}
	if (at == body)
		buf_append(out, hdr.data, hdr.len);
	buf_append(out, text + body, len - body);
	buf_free(&hdr);
	free(f);
	return out->err ? -1 : 0;
bad:
	free(f);
	return -1;
}

/* --- one article --------------------------------------------------------- */

static int
rw_read(struct spool *sp, const char *path, struct buf *out, struct stat *st)
{
	int fd, rc = -1;
	ssize_t n;
	char *w;

	buf_reset(out);
	if ((fd = openat(sp->dfd, path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	if (fstat(fd, st) == -1)
		goto out;
	if ((uint64_t)st->st_size > RW_ARTICLE_MAX) {
		errno = EFBIG;
		goto out;
	}
	if ((w = buf_reserve(out, (size_t)st->st_size)) == NULL) {
		errno = out->err;
		goto out;
	}
	while (out->len < (size_t)st->st_size) {
		n = read(
		    fd, out->data + out->len, (size_t)st->st_size - out->len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		out->len += (size_t)n;
	}
	out->data[out->len] = '\0';
	if (out->len == (size_t)st->st_size)
		rc = 0;
	else
		errno = EIO;
out:
	close(fd);
	return rc;
}

/*
 * The first copy of loc that is there: its group and number, its path and
 * its text. Returns 0, or -1 (ENOENT: no copy).
 */
static int
rw_first_copy(struct spool *sp, const char *loc, struct buf *text,
    struct stat *st, size_t *gi, uint64_t *num)
{
	char group[SPOOL_GROUP_MAX + 1], path[SPOOL_PATH_MAX];
	const char *p = loc;
	ssize_t i;
	int r;

	while ((r = spool_loc_next(&p, group, num)) == 1) {
		if ((i = spool_group_index(sp, group)) == -1 ||
		    *num > sp->groups[i].high ||
		    rw_path(path, sizeof(path), group, *num) == -1)
			continue;
		if (rw_read(sp, path, text, st) == 0) {
			*gi = (size_t)i;
			return 0;
		}
		if (errno != ENOENT)
			return -1;
	}
	errno = r == -1 ? EINVAL : ENOENT;
	return -1;
}

static void
rw_add_line(
    struct rw_batch *b, size_t gi, uint64_t num, const char *line, size_t len)
{
	struct rw_line *l;

	if (b->nlines == b->caplines) {
		b->caplines = b->caplines ? 2 * b->caplines : 64;
		b->lines =
		    xreallocarray(b->lines, b->caplines, sizeof(*b->lines));
	}
	l = &b->lines[b->nlines++];
	l->gi = gi;
	l->num = num;
	l->line = xstrndup(line, len);
}

/* Queue the overview line of the new text for every copy in loc. */
static int
rw_queue_lines(struct spool *sp, struct rw_batch *b, const char *loc)
{
	char group[SPOOL_GROUP_MAX + 1];
	struct buf why = BUF_INIT(256), line = BUF_INIT(SIZE_MAX);
	struct article *a = NULL;
	const char *p = loc, *xref;
	uint64_t num;
	ssize_t gi;
	int r, rc = -1;

	if (article_parse(b->next.data, b->next.len, &a, &why) == -1) {
		log_warnx("spool: rewritten article %s does not parse: %s", loc,
		    buf_cstr(&why));
		errno = EINVAL;
		goto out;
	}
	xref = article_get(a, "Xref");
	while ((r = spool_loc_next(&p, group, &num)) == 1) {
		if ((gi = spool_group_index(sp, group)) == -1)
			continue;
		buf_reset(&line);
		if (xref == NULL) {
			struct buf x = BUF_INIT(SIZE_MAX);

			buf_printf(&x, "%s %s:%" PRIu64, sp->host, group, num);
			spool_format_over(
			    &line, num, a, b->next.len, buf_cstr(&x));
			buf_free(&x);
		} else
			spool_format_over(&line, num, a, b->next.len, xref);
		rw_add_line(b, (size_t)gi, num, line.data, line.len);
	}
	rc = 0;
out:
	article_free(a);
	buf_free(&why);
	buf_free(&line);
	return rc;
}

/*
 * Replace every copy of article k of the batch by its new text: written
 * once under .newsgate/tmp, linked there once per further copy, each name
 * renamed over one copy. A copy that is not there is not created.
 */
static int
rw_article(
    struct spool *sp, struct rw_batch *b, size_t k, const struct rw_ent *e)
{
	char group[SPOOL_GROUP_MAX + 1], path[SPOOL_PATH_MAX],
	    first[SPOOL_PATH_MAX], tmp[SPOOL_PATH_MAX], tmp0[SPOOL_PATH_MAX];
	const char *p = e->loc;
	struct timespec ts[2];
	struct stat st;
	uint64_t num;
	size_t gi, copy = 0;
	bool ours;
	int fd, r;

	if (rw_first_copy(sp, e->loc, &b->art, &st, &gi, &num) == -1) {
		if (errno == ENOENT)
			return 0; /* expired meanwhile: nothing to do */
		log_warn("spool: rewrite %s", e->loc);
		return -1;
	}
	if (rw_edit(b->art.data, b->art.len, e->refs, e->thr, &b->next,
		&ours) == -1) {
		log_warnx("spool: rewrite %s: not an article", e->loc);
		errno = EINVAL;
		return -1;
	}
	if (!ours)
		return 0; /* never the poster's References */
	if (!str_printf(tmp0, sizeof(tmp0), "%s/" RW_TMP_PREFIX "%zu",
		SPOOL_TMPDIR, k)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = openat(
	    sp->dfd, tmp0, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd == -1)
		goto fail;
	/* Keep the arrival time: a rebuild takes it from the mtime when
	 * history lacks the article. */
	ts[0] = st.st_atim;
	ts[1] = st.st_mtim;
	if (write_all(fd, b->next.data, b->next.len) == -1 ||
	    futimens(fd, ts) == -1) {
		close(fd);
		goto fail;
	}
	if (close(fd) == -1)
		goto fail;
	while ((r = spool_loc_next(&p, group, &num)) == 1) {
		if (spool_group_index(sp, group) == -1 ||
		    rw_path(path, sizeof(path), group, num) == -1 ||
		    faccessat(sp->dfd, path, F_OK, AT_SYMLINK_NOFOLLOW) == -1)
			continue;
		/* The first copy gets tmp0 itself; each further one a link
		 * to the new file, made under .newsgate/tmp and renamed. */
		if (copy++ == 0) {
			(void)str_copy(tmp, sizeof(tmp), tmp0);
			(void)str_copy(first, sizeof(first), path);
		} else {
			if (!str_printf(
				tmp, sizeof(tmp), "%s.%zu", tmp0, copy)) {
				errno = ENAMETOOLONG;
				goto fail;
			}
			(void)unlinkat(sp->dfd, tmp, 0);
			if (linkat(sp->dfd, first, sp->dfd, tmp, 0) == -1)
				goto fail;
		}
		if (renameat(sp->dfd, tmp, sp->dfd, path) == -1)
			goto fail;
	}
	if (r == -1) {
		errno = EINVAL;
		goto fail;
	}
	/* No copy left to replace (all expired): drop the new file. */
	if (copy == 0)
		(void)unlinkat(sp->dfd, tmp0, 0);
	return rw_queue_lines(sp, b, e->loc);
fail:
	log_warn("spool: rewrite %s", e->loc);
	return -1;
}

/* --- overview and index ----------------------------------------------------
 */

static int
rw_line_cmp(const void *x, const void *y)
{
	const struct rw_line *a = x, *b = y;

	if (a->gi != b->gi)
		return a->gi < b->gi ? -1 : 1;
	return a->num < b->num ? -1 : a->num > b->num;
}

/*
 * Replace the lines [l, l + n) (one group, ascending) in its .overview:
 * the new .overview and then the new index are written aside and renamed.
 */
static int
rw_overview(struct spool *sp, const struct rw_line *l, size_t n)
{
	const char *group = sp->groups[l->gi].name;
	char ov[SPOOL_PATH_MAX], ip[SPOOL_PATH_MAX], tmp[SPOOL_PATH_MAX];
	struct buf old = BUF_INIT(SIZE_MAX), out = BUF_INIT(SIZE_MAX),
		   idx = BUF_INIT(SIZE_MAX);
	const char *p, *end, *nl, *tab;
	uint64_t num;
	size_t k = 0;
	int rc = -1;

	if (spool_path_group(ov, sizeof(ov), group, SPOOL_OVERVIEW) == -1 ||
	    spool_path_index(ip, sizeof(ip), group) == -1)
		goto out;
	if (spool_read_file(sp, ov, &old) == -1) {
		if (errno == ENOENT)
			rc = 0; /* nothing to correct; check will say */
		else
			log_warn("spool: read %s/%s", sp->dir, ov);
		goto out;
	}
	end = old.data + old.len;
	for (p = old.data; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end - 1; /* a partial last line: kept as is */
		tab = memchr(p, '\t', (size_t)(nl - p));
		if (tab == NULL || parse_u64(p, (size_t)(tab - p), &num) == -1)
			num = 0;
		while (k < n && l[k].num < num)
			k++;
		if (num != 0 && k < n && l[k].num == num)
			buf_puts(&out, l[k].line);
		else
			buf_append(&out, p, (size_t)(nl - p) + 1);
	}
	if (out.err) {
		errno = out.err;
		goto out;
	}
	if (!str_printf(
		tmp, sizeof(tmp), "%s/%s.overview", SPOOL_TMPDIR, group) ||
	    spool_replace_file(
		sp, ov, tmp, out.data ? out.data : "", out.len, false) == -1)
		goto out;
	if (spool_index_build(sp, group, out.data, out.len, &idx) == -1 ||
	    !str_printf(tmp, sizeof(tmp), "%s/%s.idx", SPOOL_TMPDIR, group) ||
	    spool_replace_file(
		sp, ip, tmp, idx.data ? idx.data : "", idx.len, false) == -1)
		goto out;
	spool_tail_free(&sp->gp[l->gi].tail);
	rc = 0;
out:
	buf_free(&old);
	buf_free(&out);
	buf_free(&idx);
	return rc;
}

/* Remove temporary files a killed rewrite left. */
static void
rw_sweep(struct spool *sp)
{
	struct dirent *de;
	DIR *d;
	int fd;

	if ((fd = openat(sp->dfd, SPOOL_TMPDIR,
		 O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, RW_TMP_PREFIX, strlen(RW_TMP_PREFIX)) ==
		    0)
			(void)unlinkat(fd, de->d_name, 0);
	closedir(d);
}

/*
 * Steps 2 to 4 of a batch whose journal is written: used by both the
 * rewrite and the recovery. The journal is emptied only on success.
 */
static int
rw_apply(struct spool *sp, const struct rw_ent *v, size_t n)
{
	struct rw_batch b;
	size_t k, from;
	int rc = -1;

	memset(&b, 0, sizeof(b));
	buf_init(&b.art, SIZE_MAX);
	buf_init(&b.next, SIZE_MAX);
	for (k = 0; k < n; k++)
		if (rw_article(sp, &b, k, &v[k]) == -1)
			goto out;
	if (b.nlines > 1)
		qsort(b.lines, b.nlines, sizeof(*b.lines), rw_line_cmp);
	for (from = 0; from < b.nlines; from = k) {
		for (k = from + 1;
		     k < b.nlines && b.lines[k].gi == b.lines[from].gi; k++)
			;
		if (rw_overview(sp, &b.lines[from], k - from) == -1)
			goto out;
	}
	if (syncfs(sp->dfd) == -1) {
		log_warn("spool: syncfs %s", sp->dir);
		goto out;
	}
	/* Not synced: a journal that comes back is applied again, which
	 * changes nothing. */
	if (ftruncate(sp->txnfd, 0) == -1) {
		log_warn("spool: clear %s/%s", sp->dir, SPOOL_TXN);
		goto out;
	}
	rc = 0;
out:
	for (k = 0; k < b.nlines; k++)
		free(b.lines[k].line);
	free(b.lines);
	buf_free(&b.art);
	buf_free(&b.next);
	return rc;
}

/* --- the journal ---------------------------------------------------------- */

bool
spool_rewrite_journal(const char *text, size_t len)
{
	size_t m = strlen(SPOOL_RW_MAGIC);

	return len > m && memcmp(text, SPOOL_RW_MAGIC, m) == 0 &&
	    text[m] == '\n';
}

/*
 * Parse a rewrite journal in place (text is NUL-terminated and changed).
 * *out (caller frees) points into text. -1 when torn (no end line) or
 * malformed: then nothing of its batch was written.
 */
int
spool_rewrite_parse(char *text, struct rw_ent **out, size_t *nout)
{
	struct rw_ent *v = NULL;
	char *line, *next, *t1, *t2;
	size_t n = 0, cap = 0;

	*out = NULL;
	*nout = 0;
	if (!spool_rewrite_journal(text, strlen(text)))
		return -1;
	for (line = strchr(text, '\n') + 1; *line; line = next) {
		if ((next = strchr(line, '\n')) == NULL)
			break;
		*next++ = '\0';
		if (strcmp(line, "end") == 0) {
			*out = v;
			*nout = n;
			return 0;
		}
		if ((t1 = strchr(line, '\t')) == NULL ||
		    (t2 = strchr(t1 + 1, '\t')) == NULL)
			break;
		*t1++ = '\0';
		*t2++ = '\0';
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			v = xreallocarray(v, cap, sizeof(*v));
		}
		v[n].loc = line;
		v[n].refs = t1;
		v[n].thr = t2;
		n++;
	}
	free(v);
	return -1;
}

/* Apply a complete rewrite journal again (recovery, locked). */
int
spool_rewrite_recover(struct spool *sp, char *text)
{
	struct rw_ent *v;
	size_t n;
	int rc;

	if (spool_rewrite_parse(text, &v, &n) == -1)
		return 0; /* torn: nothing was written; the caller clears */
	rc = rw_apply(sp, v, n);
	free(v);
	if (rc == 0) {
		rw_sweep(sp);
		log_warnx("spool: %s: finished an interrupted rewrite of %zu "
			  "articles",
		    sp->dir, n);
	}
	return rc;
}

static int
rw_journal_write(struct spool *sp, const struct rw_ent *v, size_t n)
{
	struct buf j = BUF_INIT(SIZE_MAX);
	size_t k;
	int rc = 0;

	buf_puts(&j, SPOOL_RW_MAGIC "\n");
	for (k = 0; k < n; k++)
		buf_printf(&j, "%s\t%s\t%s\n", v[k].loc, v[k].refs, v[k].thr);
	buf_puts(&j, "end\n");
	if (j.err || ftruncate(sp->txnfd, 0) == -1 ||
	    pwrite(sp->txnfd, j.data, j.len, 0) != (ssize_t)j.len ||
	    fdatasync(sp->txnfd) == -1) {
		log_warn("spool: write %s/%s", sp->dir, SPOOL_TXN);
		(void)ftruncate(sp->txnfd, 0);
		rc = -1;
	}
	buf_free(&j);
	return rc;
}

/* --- the public call ------------------------------------------------------ */

static bool
rw_value_ok(const char *v)
{
	return v == NULL ||
	    (strlen(v) <= RW_VALUE_MAX && strpbrk(v, "\t\r\n") == NULL);
}

/*
 * The location (the copies there now) of one request into loc; 0, or 1
 * when the article is not there (expired, or never stored).
 */
static int
rw_locate(struct spool *sp, const struct spool_relink *r, struct buf *loc)
{
	char group[SPOOL_GROUP_MAX + 1], path[SPOOL_PATH_MAX];
	const char *msgid = r->msgid, *p;
	struct buf text = BUF_INIT(RW_ARTICLE_MAX), v = BUF_INIT(SIZE_MAX);
	const struct hent *e;
	struct article *a = NULL;
	struct stat st;
	uint64_t num;
	ssize_t i;
	int rc = 1;

	buf_reset(loc);
	if (msgid == NULL) {
		/* By group and number: the Message-ID from the file. */
		if (r->group == NULL || !spool_group_name_valid(r->group) ||
		    rw_path(path, sizeof(path), r->group, r->num) == -1 ||
		    spool_group(sp, r->group) == NULL ||
		    r->num > spool_group(sp, r->group)->high ||
		    rw_read(sp, path, &text, &st) == -1 ||
		    article_parse(text.data, text.len, &a, &v) == -1 ||
		    (msgid = article_get(a, "Message-ID")) == NULL)
			goto out;
	}
	if ((i = spool_hist_find(&sp->hist, msgid, strlen(msgid))) == -1 ||
	    (size_t)i >= sp->hist.ncommitted)
		goto out;
	e = &sp->hist.ents[i];
	p = sp->hist.text.data + e->off + e->idlen + 1;
	while (spool_loc_next(&p, group, &num) == 1) {
		if ((i = spool_group_index(sp, group)) == -1 ||
		    num > sp->groups[i].high ||
		    rw_path(path, sizeof(path), group, num) == -1 ||
		    faccessat(sp->dfd, path, F_OK, AT_SYMLINK_NOFOLLOW) == -1)
			continue;
		buf_printf(
		    loc, "%s%s:%" PRIu64, loc->len ? " " : "", group, num);
	}
	rc = loc->len ? 0 : 1;
out:
	article_free(a);
	buf_free(&text);
	buf_free(&v);
	return rc;
}

/* One batch of requests [0, n): look, journal, apply (locked). */
static int
rw_batch(struct spool *sp, const struct spool_relink *req, size_t n,
    struct spool_relink_stats *stats)
{
	struct rw_ent *v = xcalloc(n ? n : 1, sizeof(*v));
	struct buf loc = BUF_INIT(SIZE_MAX), text = BUF_INIT(SIZE_MAX),
		   next = BUF_INIT(SIZE_MAX);
	struct stat st;
	size_t k, nv = 0, gi;
	uint64_t num;
	bool ours;
	int rc = -1;

	for (k = 0; k < n; k++) {
		const char *refs = req[k].references ? req[k].references : "";
		const char *thr = req[k].thread ? req[k].thread : "";

		if (rw_locate(sp, &req[k], &loc) != 0 ||
		    rw_first_copy(sp, buf_cstr(&loc), &text, &st, &gi, &num) ==
			-1) {
			stats->missing++;
			continue;
		}
		if (rw_edit(text.data, text.len, refs, thr, &next, &ours) ==
		    -1) {
			stats->missing++;
			continue;
		}
		if (!ours) {
			stats->refused++;
			continue;
		}
		if (next.len == text.len &&
		    memcmp(next.data, text.data, text.len) == 0) {
			stats->unchanged++;
			continue;
		}
		v[nv].loc = buf_steal(&loc);
		v[nv].refs = xstrdup(refs);
		v[nv].thr = xstrdup(thr);
		nv++;
	}
	if (nv == 0) {
		rc = 0;
		goto out;
	}
	if (rw_journal_write(sp, v, nv) == -1)
		goto out;
	if (rw_apply(sp, v, nv) == -1) {
		/* The journal stays: the next writer finishes the batch. */
		goto out;
	}
	stats->rewritten += nv;
	rc = 0;
out:
	for (k = 0; k < nv; k++) {
		free(v[k].loc);
		free(v[k].refs);
		free(v[k].thr);
	}
	free(v);
	buf_free(&loc);
	buf_free(&text);
	buf_free(&next);
	return rc;
}

int
spool_relink(struct spool *sp, const struct spool_relink *req, size_t n,
    struct spool_relink_stats *stats, spool_progress_fn progress, void *arg)
{
	size_t k, m;
	bool took;
	int rc = 0;

	memset(stats, 0, sizeof(*stats));
	if (sp->mode != SPOOL_WRITE) {
		errno = EROFS;
		return -1;
	}
	for (k = 0; k < n; k++)
		if (!rw_value_ok(req[k].references) ||
		    !rw_value_ok(req[k].thread) ||
		    (req[k].msgid == NULL && req[k].group == NULL)) {
			errno = EINVAL;
			return -1;
		}
	if (sp->in_batch && spool_flush(sp) == -1)
		return -1;
	/* The lock is taken per batch, so posts and imports go on between. */
	for (k = 0; k < n && rc == 0; k += m) {
		m = n - k < SPOOL_BATCH_MAX ? n - k : SPOOL_BATCH_MAX;
		if ((took = !sp->locked) && spool_lock(sp) == -1)
			return -1;
		rc = rw_batch(sp, req + k, m, stats);
		if (took)
			spool_unlock(sp);
		if (progress)
			progress(arg, k + m, n);
	}
	return rc;
}

/* Each copy named by the rewrite journal text (changed in place). */
int
spool_rewrite_copies(char *text, spool_rewrite_fn cb, void *arg)
{
	char group[SPOOL_GROUP_MAX + 1];
	struct rw_ent *v;
	const char *p;
	uint64_t num;
	size_t n, k;

	if (spool_rewrite_parse(text, &v, &n) == -1)
		return -1;
	for (k = 0; k < n; k++)
		for (p = v[k].loc; spool_loc_next(&p, group, &num) == 1;)
			cb(arg, group, num);
	free(v);
	return 0;
}
