/*
 * spool.c - the flat-file news spool: opening, the group list (active,
 * active.times, newsgroups), history and fingerprints in memory, article
 * reads, private files. Writing articles is spool_write.c, overview reads
 * spool_over.c, verification and rebuild spool_check.c, rewriting thread
 * headers spool_rethread.c. Only these files write under the spool
 * directory, and they never write outside it: every path is built
 * relative to the spool directory fd from a validated group name or a
 * fixed name.
 *
 * On-disk format (docs/spool.md has it byte by byte):
 *
 *   data/active        "NAME HIGH LOW FLAG\n", HIGH and LOW zero-padded to
 *                      10 digits; an empty group has LOW = HIGH + 1.
 *                      Replaced by rename; the rename is the commit point.
 *   data/active.times  "NAME CREATED CREATOR\n", by creation time
 *   data/newsgroups    "NAME\tDESCRIPTION\n", by name
 *   data/overview.fmt  the eight overview fields, one per line
 *   data/history       "<MSGID>\tARRIVAL\tGROUP:NUM[ GROUP:NUM...]\n",
 *                      append-only, ARRIVAL non-decreasing
 *   articles/A/B/NUM   article NUM of group a.b, LF line endings;
 *                      a crosspost is one file hard-linked in every group;
 *                      replaced whole (rename) only by a rewrite of its
 *                      References (spool_rethread.c)
 *   articles/A/B/.overview  NOV lines, ascending NUM
 *   .newsgate/lock     flock()ed by the one writer; a u64 little-endian
 *                      generation, bumped by each writer as it unlocks
 *   .newsgate/txn      the journal of the open batch (empty when none),
 *                      or the redo log of a rewrite of thread headers
 *                      (spool_rethread.c)
 *   .newsgate/index/GROUP.idx  {u64 num, u64 offset} little-endian per
 *                      overview line, ascending
 *   .newsgate/fingerprints     u64 little-endian per stored article
 *   .newsgate/tmp/     temporary files of replace-by-rename
 *
 * Readers never write. They see only what data/active says is committed:
 * article numbers above a group's high, and history lines that name them,
 * are a batch in flight and are ignored.
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <endian.h>
#include <fcntl.h>
#include <unistd.h>

#include "common.h"
#include "spool_int.h"

/* --- names and paths ----------------------------------------------- */

/*
 * RFC 3977 §4.1: a newsgroup name is wildmat-exact characters: printable
 * ASCII except "!", "*", ",", "?", "[", "\", "]" and space, or UTF-8.
 * We also refuse "/" (it would leave the group directory), a component
 * that is empty (leading, trailing or double dot) and a component of only
 * digits (its directory would collide with an article file; RFC 5536
 * §3.1.4 already says SHOULD NOT).
 */
bool
spool_group_name_valid(const char *name)
{
	size_t i, len, comp = 0;
	bool digits = true;

	if (name == NULL || (len = strlen(name)) == 0 || len > SPOOL_GROUP_MAX)
		return false;
	for (i = 0; i <= len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c == '.' || c == '\0') {
			if (comp == 0 || digits)
				return false;
			comp = 0;
			digits = true;
			continue;
		}
		if (c < 0x21 || c == 0x7f || c == '/' || c == '!' || c == '*' ||
		    c == ',' || c == '?' || c == '[' || c == '\\' || c == ']' ||
		    c == ':')
			return false;
		if (c < '0' || c > '9')
			digits = false;
		comp++;
	}
	return true;
}

int
spool_path_group(char *dst, size_t cap, const char *group, const char *file)
{
	size_t i, n;

	if (!str_printf(dst, cap, "articles/%s%s%s", group, file ? "/" : "",
		file ? file : "")) {
		errno = ENAMETOOLONG;
		return -1;
	}
	n = strlen("articles/") + strlen(group);
	for (i = strlen("articles/"); i < n; i++)
		if (dst[i] == '.')
			dst[i] = '/';
	return 0;
}

int
spool_path_index(char *dst, size_t cap, const char *group)
{
	if (!str_printf(dst, cap, "%s/%s.idx", SPOOL_INDEXDIR, group)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

static int
spool_group_cmp(const void *k, const void *e)
{
	return strcmp(k, ((const struct spool_group *)e)->name);
}

ssize_t
spool_group_index(const struct spool *sp, const char *name)
{
	const struct spool_group *g;

	if (sp->ngroups == 0)
		return -1;
	g = bsearch(name, sp->groups, sp->ngroups, sizeof(*sp->groups),
	    spool_group_cmp);
	return g ? g - sp->groups : -1;
}

const char *
spool_dir(const struct spool *sp)
{
	return sp->dir;
}

const char *
spool_hostname(const struct spool *sp)
{
	return sp->host;
}

/* --- small file helpers -------------------------------------------- */

/* Read the rest of fd into out (bounded by out->max: EMSGSIZE). */
static int
spool_read_fd(int fd, struct buf *out)
{
	ssize_t n;
	char *w;

	for (;;) {
		if ((w = buf_reserve(out, 65536)) == NULL) {
			errno = out->err;
			return -1;
		}
		if ((n = read(fd, w, 65536)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			return 0;
		out->len += (size_t)n;
		out->data[out->len] = '\0';
	}
}

int
spool_read_file(struct spool *sp, const char *rel, struct buf *out)
{
	int fd, rc, e;

	if ((fd = openat(sp->dfd, rel, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	rc = spool_read_fd(fd, out);
	e = errno;
	close(fd);
	errno = e;
	return rc;
}

uint64_t
spool_file_size(struct spool *sp, const char *rel)
{
	struct stat st;

	if (fstatat(sp->dfd, rel, &st, 0) == -1)
		return 0;
	return (uint64_t)st.st_size;
}

int
spool_fsync_dir(struct spool *sp, const char *rel)
{
	int fd, rc;

	if ((fd = openat(sp->dfd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

int
spool_mkdirs(struct spool *sp, const char *rel)
{
	char path[SPOOL_PATH_MAX];
	char *p;

	if (!str_copy(path, sizeof(path), rel)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (p = path;; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;

			*p = '\0';
			if (mkdirat(sp->dfd, path, 0755) == -1 &&
			    errno != EEXIST)
				return -1;
			if ((*p = c) == '\0')
				break;
		}
	}
	return 0;
}

/*
 * Replace rel by a new file holding data: write tmp (a name in the same
 * directory or under .newsgate/tmp), optionally fsync it, rename it over
 * rel. The caller fsyncs the directory when it needs the rename durable.
 */
int
spool_replace_file(struct spool *sp, const char *rel, const char *tmp,
    const void *data, size_t len, bool sync)
{
	int fd;

	fd = openat(
	    sp->dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd == -1)
		goto fail;
	if (write_all(fd, data, len) == -1 || (sync && fsync(fd) == -1)) {
		close(fd);
		goto fail_unlink;
	}
	if (close(fd) == -1 || renameat(sp->dfd, tmp, sp->dfd, rel) == -1)
		goto fail_unlink;
	return 0;
fail_unlink:
	unlinkat(sp->dfd, tmp, 0);
fail:
	log_warn("spool: replace %s/%s", sp->dir, rel);
	return -1;
}

/* --- the group list ------------------------------------------------ */

/* Close the descriptors a group keeps open between batches. */
void
spool_grp_close(struct grp *g)
{
	if (g->dfd != -1)
		close(g->dfd);
	if (g->ovfd != -1)
		close(g->ovfd);
	if (g->idxfd != -1)
		close(g->idxfd);
	g->dfd = g->ovfd = g->idxfd = -1;
}

static void
spool_grp_fini(struct grp *g)
{
	spool_grp_close(g);
	buf_free(&g->ov);
	free(g->recs);
	g->recs = NULL;
	spool_tail_free(&g->tail);
}

static void
spool_grp_init(struct grp *g, uint64_t high)
{
	memset(g, 0, sizeof(*g));
	g->dfd = g->ovfd = g->idxfd = -1;
	g->next = high;
	buf_init(&g->ov, SIZE_MAX);
}

static void
spool_strs_free(char **strs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(strs[i]);
	free(strs);
}

static int
spool_group_sort_cmp(const void *a, const void *b)
{
	return strcmp(((const struct spool_group *)a)->name,
	    ((const struct spool_group *)b)->name);
}

/* Split s at the first c: returns the rest (after c), or NULL. */
static char *
spool_split(char *s, int c)
{
	char *p = strchr(s, c);

	if (p == NULL)
		return NULL;
	*p = '\0';
	return p + 1;
}

/* Parse active text into a new, sorted group array. */
static struct spool_group *
spool_parse_active(char *text, size_t *np)
{
	struct spool_group *gs = NULL;
	size_t n = 0, cap = 0;
	char *line, *next, *f[4];
	int i;

	for (line = text; line && *line; line = next) {
		next = spool_split(line, '\n');
		f[0] = line;
		for (i = 1; i < 4; i++)
			if ((f[i] = spool_split(f[i - 1], ' ')) == NULL)
				break;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			gs = xreallocarray(gs, cap, sizeof(*gs));
		}
		memset(&gs[n], 0, sizeof(gs[n]));
		if (i < 4 || !spool_group_name_valid(f[0]) ||
		    parse_u64(f[1], strlen(f[1]), &gs[n].high) == -1 ||
		    parse_u64(f[2], strlen(f[2]), &gs[n].low) == -1 ||
		    strlen(f[3]) != 1 ||
		    !str_copy(gs[n].name, sizeof(gs[n].name), f[0])) {
			log_warnx("spool: bad line in active ignored");
			continue;
		}
		if (gs[n].low == 0)
			gs[n].low = 1;
		gs[n].flag = f[3][0];
		gs[n].creator = gs[n].description = "";
		n++;
	}
	if (n > 1)
		qsort(gs, n, sizeof(*gs), spool_group_sort_cmp);
	*np = n;
	return gs;
}

static void
spool_keep_str(struct spool *sp, char *s)
{
	sp->strs = xreallocarray(sp->strs, sp->nstrs + 1, sizeof(*sp->strs));
	sp->strs[sp->nstrs++] = s;
}

static void
spool_parse_times(struct spool *sp, char *text)
{
	char *line, *next, *t, *who;
	ssize_t i;
	uint64_t v;

	for (line = text; line && *line; line = next) {
		next = spool_split(line, '\n');
		if ((t = spool_split(line, ' ')) == NULL)
			continue;
		if ((who = spool_split(t, ' ')) == NULL)
			who = t + strlen(t);
		if ((i = spool_group_index(sp, line)) == -1 ||
		    parse_u64(t, strlen(t), &v) == -1)
			continue;
		sp->groups[i].created = (time_t)v;
		spool_keep_str(sp, xstrdup(who));
		sp->groups[i].creator = sp->strs[sp->nstrs - 1];
	}
}

static void
spool_parse_newsgroups(struct spool *sp, char *text)
{
	char *line, *next, *desc;
	ssize_t i;

	for (line = text; line && *line; line = next) {
		next = spool_split(line, '\n');
		if ((desc = spool_split(line, '\t')) == NULL)
			continue;
		while (*desc == '\t')
			desc++;
		if ((i = spool_group_index(sp, line)) == -1)
			continue;
		spool_keep_str(sp, xstrdup(desc));
		sp->groups[i].description = sp->strs[sp->nstrs - 1];
	}
}

/* Is st the same file, unchanged, as was? (inode, size, times) */
static bool
spool_same_stat(const struct stat *st, const struct stat *was)
{
	return st->st_ino == was->st_ino && st->st_dev == was->st_dev &&
	    st->st_size == was->st_size &&
	    st->st_mtim.tv_sec == was->st_mtim.tv_sec &&
	    st->st_mtim.tv_nsec == was->st_mtim.tv_nsec &&
	    st->st_ctim.tv_sec == was->st_ctim.tv_sec &&
	    st->st_ctim.tv_nsec == was->st_ctim.tv_nsec;
}

/*
 * The text of active.times or newsgroups, read again only when the file
 * changed: they change with the group list, while active changes with
 * every commit, and a server re-reads active after each one.
 */
static void
spool_companion(struct spool *sp, const char *rel, struct companion *c)
{
	struct stat st;

	if (fstatat(sp->dfd, rel, &st, 0) == -1) {
		buf_reset(&c->text);
		c->have = false;
		return;
	}
	if (c->have && spool_same_stat(&st, &c->st))
		return;
	buf_reset(&c->text);
	c->have = false;
	/* Replaced between the stat and the read: read again next time,
	 * since the stat kept is the older one. */
	if (spool_read_file(sp, rel, &c->text) == -1 || c->text.err) {
		buf_reset(&c->text);
		return;
	}
	c->st = st;
	c->have = true;
}

/*
 * (Re)read data/active and its companions. Private per-group state moves
 * to the new array by name; state of vanished groups is freed.
 */
int
spool_load_active(struct spool *sp)
{
	struct buf b = BUF_INIT(SIZE_MAX);
	struct spool_group *gs;
	struct grp *gp;
	struct stat st;
	size_t n, i;
	ssize_t j;
	int fd;

	if ((fd = openat(sp->dfd, SPOOL_ACTIVE, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &st) == -1 || spool_read_fd(fd, &b) == -1) {
		log_warn("spool: read %s/%s", sp->dir, SPOOL_ACTIVE);
		if (fd != -1)
			close(fd);
		buf_free(&b);
		return -1;
	}
	close(fd);
	buf_putc(&b, '\0'); /* data is never NULL below */
	gs = spool_parse_active(b.data, &n);
	gp = xcalloc(n ? n : 1, sizeof(*gp));
	for (i = 0; i < n; i++) {
		if ((j = spool_group_index(sp, gs[i].name)) != -1) {
			gp[i] = sp->gp[j];
			spool_grp_init(&sp->gp[j], 0);
			if (!sp->in_batch)
				gp[i].next = gs[i].high;
		} else
			spool_grp_init(&gp[i], gs[i].high);
	}
	for (i = 0; i < sp->ngroups; i++)
		spool_grp_fini(&sp->gp[i]);
	free(sp->gp);
	free(sp->groups);
	spool_strs_free(sp->strs, sp->nstrs);
	sp->strs = NULL;
	sp->nstrs = 0;
	sp->groups = gs;
	sp->gp = gp;
	sp->ngroups = n;
	sp->active_st = st;
	sp->have_active = true;

	/* Parsed from copies: the parsers cut the text where they go. */
	spool_companion(sp, SPOOL_TIMES, &sp->times);
	buf_reset(&b);
	buf_append(&b, sp->times.text.data, sp->times.text.len);
	if (b.len)
		spool_parse_times(sp, b.data);
	spool_companion(sp, SPOOL_NEWSGROUPS, &sp->newsgroups);
	buf_reset(&b);
	buf_append(&b, sp->newsgroups.text.data, sp->newsgroups.text.len);
	if (b.len)
		spool_parse_newsgroups(sp, b.data);
	buf_free(&b);
	return 0;
}

/*
 * Write data/active.tmp from memory (staged: the staged highs), fsynced
 * when sync. The writer holds the lock.
 */
int
spool_active_write_tmp(struct spool *sp, bool staged, bool sync)
{
	struct buf *b = &sp->active_text;
	size_t i;
	int fd;

	buf_reset(b);
	for (i = 0; i < sp->ngroups; i++) {
		const struct spool_group *g = &sp->groups[i];
		uint64_t high = staged ? sp->gp[i].next : g->high;

		/* "%s %010" PRIu64 " %010" PRIu64 " %c\n", without printf:
		 * written in every commit. */
		buf_puts(b, g->name);
		buf_putc(b, ' ');
		buf_put_u64w(b, high, 10);
		buf_putc(b, ' ');
		buf_put_u64w(b, g->low, 10);
		buf_putc(b, ' ');
		buf_putc(b, g->flag);
		buf_putc(b, '\n');
	}
	if (b->err) {
		errno = b->err;
		goto fail;
	}
	fd = openat(sp->dfd, SPOOL_ACTIVE_TMP,
	    O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd == -1)
		goto fail;
	if (write_all(fd, b->data ? b->data : "", b->len) == -1 ||
	    (sync && fsync(fd) == -1)) {
		close(fd);
		goto fail_unlink;
	}
	if (close(fd) == -1)
		goto fail_unlink;
	return 0;
fail_unlink:
	unlinkat(sp->dfd, SPOOL_ACTIVE_TMP, 0);
fail:
	log_warn("spool: write %s/%s", sp->dir, SPOOL_ACTIVE_TMP);
	return -1;
}

/*
 * Rename data/active.tmp over data/active: the commit point. With sync,
 * fsync data/ so that the rename is on stable storage. Then remember
 * active's identity (spool_refresh() compares it).
 */
int
spool_active_install(struct spool *sp, bool sync)
{
	/*
	 * Without sync, active.tmp still has delayed-allocation blocks, and
	 * ext4 (auto_da_alloc) starts the writeback of a file renamed over
	 * another: an I/O submission in every commit. Exchanging the two
	 * names is the same atomic switch of data/active without it; the old
	 * file, now active.tmp, is unlinked (a reader that has it open keeps
	 * reading it whole). A file system without RENAME_EXCHANGE renames.
	 */
	if (!sync &&
	    renameat2(sp->dfd, SPOOL_ACTIVE_TMP, sp->dfd, SPOOL_ACTIVE,
		RENAME_EXCHANGE) == 0) {
		(void)unlinkat(sp->dfd, SPOOL_ACTIVE_TMP, 0);
		goto done;
	}
	if (renameat(sp->dfd, SPOOL_ACTIVE_TMP, sp->dfd, SPOOL_ACTIVE) == -1) {
		log_warn("spool: rename %s/%s", sp->dir, SPOOL_ACTIVE_TMP);
		unlinkat(sp->dfd, SPOOL_ACTIVE_TMP, 0);
		return -1;
	}
	if (sync && spool_fsync_dir(sp, "data") == -1) {
		log_warn("spool: fsync %s/data", sp->dir);
		return -1;
	}
done:
	sp->active_was = sp->active_st;
	if (fstatat(sp->dfd, SPOOL_ACTIVE, &sp->active_st, 0) == 0)
		sp->have_active = true;
	return 0;
}

/*
 * Write data/active from memory (staged: the staged highs) through
 * data/active.tmp, fsync, rename, fsync data/. The writer holds the lock.
 */
int
spool_write_active(struct spool *sp, bool staged)
{
	if (spool_active_write_tmp(sp, staged, true) == -1)
		return -1;
	return spool_active_install(sp, true);
}

static int
spool_time_cmp(const void *a, const void *b)
{
	const struct spool_group *x = *(const struct spool_group *const *)a;
	const struct spool_group *y = *(const struct spool_group *const *)b;

	if (x->created != y->created)
		return x->created < y->created ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* Rewrite active.times and newsgroups from memory (under the lock). */
static int
spool_write_companions(struct spool *sp)
{
	struct buf b = BUF_INIT(SIZE_MAX);
	const struct spool_group **byt;
	size_t i;
	int rc;

	byt = xcalloc(sp->ngroups ? sp->ngroups : 1, sizeof(*byt));
	for (i = 0; i < sp->ngroups; i++)
		byt[i] = &sp->groups[i];
	if (sp->ngroups > 0)
		qsort(byt, sp->ngroups, sizeof(*byt), spool_time_cmp);
	for (i = 0; i < sp->ngroups; i++)
		if (byt[i]->created)
			buf_printf(&b, "%s %lld %s\n", byt[i]->name,
			    (long long)byt[i]->created, byt[i]->creator);
	free(byt);
	rc = spool_replace_file(sp, SPOOL_TIMES, SPOOL_TIMES ".tmp",
	    b.data ? b.data : "", b.len, true);
	buf_reset(&b);
	for (i = 0; rc == 0 && i < sp->ngroups; i++)
		if (sp->groups[i].description[0])
			buf_printf(&b, "%s\t%s\n", sp->groups[i].name,
			    sp->groups[i].description);
	if (rc == 0)
		rc = spool_replace_file(sp, SPOOL_NEWSGROUPS,
		    SPOOL_NEWSGROUPS ".tmp", b.data ? b.data : "", b.len, true);
	buf_free(&b);
	return rc;
}

int
spool_refresh(struct spool *sp)
{
	struct stat st;

	if (sp->in_batch)
		return 0; /* we hold the lock: nobody else wrote */
	if (fstatat(sp->dfd, SPOOL_ACTIVE, &st, 0) == -1) {
		log_warn("spool: stat %s/%s", sp->dir, SPOOL_ACTIVE);
		return -1;
	}
	if (sp->have_active && spool_same_stat(&st, &sp->active_st))
		return 0;
	/* Another process wrote: what a writer kept in memory is stale. */
	if (sp->warm && !sp->locked)
		spool_cold(sp);
	if (spool_load_active(sp) == -1 ||
	    spool_hist_load(sp, sp->locked) == -1)
		return -1;
	if (sp->fps.loaded && spool_fps_load(sp) == -1)
		return -1;
	return 1;
}

const struct spool_group *
spool_groups(const struct spool *sp, size_t *n)
{
	*n = sp->ngroups;
	return sp->groups;
}

const struct spool_group *
spool_group(const struct spool *sp, const char *name)
{
	ssize_t i;

	if (name == NULL || (i = spool_group_index(sp, name)) == -1)
		return NULL;
	return &sp->groups[i];
}

int
spool_group_add(struct spool *sp, const char *name, const char *desc, char flag,
    const char *creator)
{
	char path[SPOOL_PATH_MAX];
	struct spool_group *g;
	bool took;
	size_t i;
	int rc = -1;

	if (sp->mode != SPOOL_WRITE) {
		errno = EROFS;
		return -1;
	}
	if (!spool_group_name_valid(name) ||
	    (flag != 'y' && flag != 'n' && flag != 'm') ||
	    (desc && strpbrk(desc, "\t\r\n")) ||
	    (creator && strpbrk(creator, " \t\r\n"))) {
		errno = EINVAL;
		return -1;
	}
	if (sp->pending && spool_flush(sp) == -1)
		return -1;
	if ((took = !sp->locked) && spool_lock(sp) == -1)
		return -1;
	if (spool_group_index(sp, name) != -1) {
		errno = EEXIST;
		goto out;
	}
	if (spool_path_group(path, sizeof(path), name, NULL) == -1 ||
	    spool_mkdirs(sp, path) == -1 || syncfs(sp->dfd) == -1) {
		log_warn("spool: create %s/%s", sp->dir, path);
		goto out;
	}
	sp->groups =
	    xreallocarray(sp->groups, sp->ngroups + 1, sizeof(*sp->groups));
	sp->gp = xreallocarray(sp->gp, sp->ngroups + 1, sizeof(*sp->gp));
	for (i = 0; i < sp->ngroups; i++)
		if (strcmp(sp->groups[i].name, name) > 0)
			break;
	memmove(&sp->groups[i + 1], &sp->groups[i],
	    (sp->ngroups - i) * sizeof(*sp->groups));
	memmove(
	    &sp->gp[i + 1], &sp->gp[i], (sp->ngroups - i) * sizeof(*sp->gp));
	sp->ngroups++;
	g = &sp->groups[i];
	memset(g, 0, sizeof(*g));
	(void)str_copy(g->name, sizeof(g->name), name);
	g->high = 0;
	g->low = 1;
	g->flag = flag;
	g->created = time(NULL);
	spool_keep_str(sp, xstrdup(creator ? creator : ""));
	g->creator = sp->strs[sp->nstrs - 1];
	spool_keep_str(sp, xstrdup(desc ? desc : ""));
	g->description = sp->strs[sp->nstrs - 1];
	spool_grp_init(&sp->gp[i], 0);
	/* Companions first: active is what makes the group exist. */
	if (spool_write_companions(sp) == -1 ||
	    spool_write_active(sp, false) == -1)
		goto out;
	rc = 0;
out:
	if (took)
		spool_unlock(sp);
	return rc;
}

/* Delete the numbered files and .overview of one group directory; the
 * directory itself goes when empty (subgroups keep theirs). */
static void
spool_group_rmdir(struct spool *sp, const char *name)
{
	char path[SPOOL_PATH_MAX], *slash;
	struct dirent *de;
	uint64_t v;
	DIR *d;
	int fd;

	if (spool_path_group(path, sizeof(path), name, NULL) == -1)
		return;
	if ((fd = openat(sp->dfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1)
		return;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, SPOOL_OVERVIEW) == 0 ||
		    parse_u64(de->d_name, strlen(de->d_name), &v) == 0)
			unlinkat(fd, de->d_name, 0);
	closedir(d);
	/* Remove now-empty directories up to articles/. */
	while (unlinkat(sp->dfd, path, AT_REMOVEDIR) == 0 &&
	    (slash = strrchr(path, '/')) != NULL &&
	    strcmp(path, "articles") != 0) {
		*slash = '\0';
		if (strcmp(path, "articles") == 0)
			break;
	}
}

int
spool_group_remove(struct spool *sp, const char *name)
{
	char path[SPOOL_PATH_MAX];
	bool took;
	ssize_t i;
	int rc = -1;

	if (sp->mode != SPOOL_WRITE) {
		errno = EROFS;
		return -1;
	}
	if (!spool_group_name_valid(name)) {
		errno = EINVAL;
		return -1;
	}
	if (sp->pending && spool_flush(sp) == -1)
		return -1;
	if ((took = !sp->locked) && spool_lock(sp) == -1)
		return -1;
	if ((i = spool_group_index(sp, name)) == -1) {
		errno = ENOENT;
		goto out;
	}
	spool_grp_fini(&sp->gp[i]);
	memmove(&sp->groups[i], &sp->groups[i + 1],
	    (sp->ngroups - (size_t)i - 1) * sizeof(*sp->groups));
	memmove(&sp->gp[i], &sp->gp[i + 1],
	    (sp->ngroups - (size_t)i - 1) * sizeof(*sp->gp));
	sp->ngroups--;
	/* Active first: once the group is gone from it, its files are not
	 * visible and may be deleted at leisure. */
	if (spool_write_active(sp, false) == -1 ||
	    spool_write_companions(sp) == -1)
		goto out;
	spool_group_rmdir(sp, name);
	if (spool_path_index(path, sizeof(path), name) == 0)
		unlinkat(sp->dfd, path, 0);
	rc = 0;
out:
	if (took)
		spool_unlock(sp);
	return rc;
}

/* --- private files ------------------------------------------------- */

static bool
spool_private_name_ok(const char *name)
{
	static const char *const reserved[] = {
	    "lock", "txn", "tmp", "index", "fingerprints"};
	size_t i;

	if (name == NULL || name[0] == '\0' || name[0] == '.' ||
	    strchr(name, '/') != NULL || strlen(name) > 64)
		return false;
	for (i = 0; i < NG_NELEM(reserved); i++)
		if (strcmp(name, reserved[i]) == 0)
			return false;
	return true;
}

int
spool_private_replace(
    struct spool *sp, const char *name, const void *data, size_t len)
{
	char rel[SPOOL_PATH_MAX], tmp[SPOOL_PATH_MAX];

	if (sp->mode != SPOOL_WRITE) {
		errno = EROFS;
		return -1;
	}
	if (!spool_private_name_ok(name)) {
		errno = EINVAL;
		return -1;
	}
	if (!str_printf(rel, sizeof(rel), "%s/%s", SPOOL_PRIV, name) ||
	    !str_printf(tmp, sizeof(tmp), "%s/%s.%ld", SPOOL_TMPDIR, name,
		(long)getpid())) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (spool_replace_file(sp, rel, tmp, data, len, true) == -1)
		return -1;
	if (spool_fsync_dir(sp, SPOOL_PRIV) == -1) {
		log_warn("spool: fsync %s/%s", sp->dir, SPOOL_PRIV);
		return -1;
	}
	return 0;
}

int
spool_private_read(struct spool *sp, const char *name, struct buf *out)
{
	char rel[SPOOL_PATH_MAX];

	if (!spool_private_name_ok(name)) {
		errno = EINVAL;
		return -1;
	}
	if (!str_printf(rel, sizeof(rel), "%s/%s", SPOOL_PRIV, name)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return spool_read_file(sp, rel, out);
}

/* --- history ------------------------------------------------------- */

static uint64_t
spool_id_hash(const char *id, size_t len)
{
	return hash64(id, len, 0);
}

static void
spool_hist_insert(struct hist *h, size_t idx)
{
	const struct hent *e = &h->ents[idx];
	size_t mask = h->tabcap - 1, i;

	i = spool_id_hash(h->text.data + e->off, e->idlen) & mask;
	while (h->tab[i] != 0)
		i = (i + 1) & mask;
	h->tab[i] = (uint32_t)idx + 1;
}

static void
spool_hist_rehash(struct hist *h, size_t cap)
{
	size_t i;

	free(h->tab);
	h->tabcap = cap;
	h->tab = xcalloc(cap, sizeof(*h->tab));
	for (i = 0; i < h->n; i++)
		spool_hist_insert(h, i);
}

void
spool_hist_add(struct hist *h, const char *id, size_t idlen, const char *loc,
    size_t loclen, int64_t arrival)
{
	struct hent *e;

	if (h->n == h->cap) {
		h->cap = h->cap ? h->cap * 2 : 1024;
		h->ents = xreallocarray(h->ents, h->cap, sizeof(*h->ents));
	}
	if ((h->n + 1) * 2 > h->tabcap)
		spool_hist_rehash(h, h->tabcap ? h->tabcap * 2 : 2048);
	e = &h->ents[h->n];
	e->off = h->text.len;
	e->idlen = (uint32_t)idlen;
	e->loclen = (uint32_t)loclen;
	e->arrival = arrival;
	buf_append(&h->text, id, idlen);
	buf_putc(&h->text, '\0');
	buf_append(&h->text, loc, loclen);
	buf_putc(&h->text, '\0');
	spool_hist_insert(h, h->n);
	h->n++;
	if (arrival > h->last_arrival)
		h->last_arrival = arrival;
}

void
spool_hist_truncate(struct hist *h, size_t n)
{
	if (n >= h->n)
		return;
	buf_truncate(&h->text, h->ents[n].off);
	h->n = n;
	if (h->ncommitted > n)
		h->ncommitted = n;
	h->last_arrival = n ? h->ents[n - 1].arrival : 0;
	spool_hist_rehash(h, h->tabcap);
}

void
spool_hist_clear(struct hist *h)
{
	buf_free(&h->text);
	free(h->ents);
	free(h->tab);
	memset(h, 0, sizeof(*h));
	buf_init(&h->text, SIZE_MAX);
}

ssize_t
spool_hist_find(const struct hist *h, const char *id, size_t idlen)
{
	size_t mask, i;

	if (h->tabcap == 0)
		return -1;
	mask = h->tabcap - 1;
	for (i = spool_id_hash(id, idlen) & mask; h->tab[i];
	     i = (i + 1) & mask) {
		const struct hent *e = &h->ents[h->tab[i] - 1];

		if (e->idlen == idlen &&
		    memcmp(h->text.data + e->off, id, idlen) == 0)
			return h->tab[i] - 1;
	}
	return -1;
}

/*
 * Is a history line's article committed, as far as this handle knows?
 * Its first location must be at or below its group's high (a group we do
 * not know is taken as committed: it was removed since).
 */
static bool
spool_hist_committed(const struct spool *sp, const char *loc, size_t len)
{
	char name[SPOOL_GROUP_MAX + 1];
	const char *colon, *end = memchr(loc, ' ', len);
	uint64_t num;
	ssize_t i;

	if (end == NULL)
		end = loc + len;
	for (colon = end; colon > loc && colon[-1] != ':'; colon--)
		;
	if (colon == loc || (size_t)(colon - 1 - loc) > SPOOL_GROUP_MAX ||
	    parse_u64(colon, (size_t)(end - colon), &num) == -1)
		return true;
	memcpy(name, loc, (size_t)(colon - 1 - loc));
	name[colon - 1 - loc] = '\0';
	if ((i = spool_group_index(sp, name)) == -1)
		return true;
	return num <= sp->groups[i].high;
}

/* Parse history lines in [p, p + len); returns bytes consumed. */
static size_t
spool_hist_parse(struct spool *sp, const char *p, size_t len, bool all)
{
	const char *line = p, *end = p + len, *nl, *t1, *t2;
	uint64_t arrival;
	size_t bad = 0;

	for (; line < end; line = nl + 1) {
		if ((nl = memchr(line, '\n', (size_t)(end - line))) == NULL)
			break; /* a line still being written */
		if ((t1 = memchr(line, '\t', (size_t)(nl - line))) == NULL ||
		    (t2 = memchr(t1 + 1, '\t', (size_t)(nl - t1 - 1))) ==
			NULL ||
		    parse_u64(t1 + 1, (size_t)(t2 - t1 - 1), &arrival) == -1) {
			bad++;
			continue;
		}
		if (!all &&
		    !spool_hist_committed(sp, t2 + 1, (size_t)(nl - t2 - 1)))
			break;
		spool_hist_add(&sp->hist, line, (size_t)(t1 - line), t2 + 1,
		    (size_t)(nl - t2 - 1), (int64_t)arrival);
	}
	if (bad)
		log_warnx("spool: %zu bad lines in %s/%s ignored", bad, sp->dir,
		    SPOOL_HISTORY);
	sp->hist.ncommitted = sp->hist.n;
	return (size_t)(line - p);
}

/*
 * Read the part of data/history not read yet (all of it when the file was
 * replaced). all: take every complete line (a writer holding the lock);
 * else stop at the first line of a batch not yet committed.
 */
int
spool_hist_load(struct spool *sp, bool all)
{
	struct buf b = BUF_INIT(SIZE_MAX);
	struct stat st;
	ssize_t n;
	char *w;
	int fd;

	if ((fd = openat(sp->dfd, SPOOL_HISTORY, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return 0;
		log_warn("spool: open %s/%s", sp->dir, SPOOL_HISTORY);
		return -1;
	}
	if (fstat(fd, &st) == -1)
		goto fail;
	if (st.st_ino != sp->hist.ino || st.st_dev != sp->hist.dev ||
	    (uint64_t)st.st_size < sp->hist.file_off) {
		spool_hist_clear(&sp->hist);
		sp->hist.ino = st.st_ino;
		sp->hist.dev = st.st_dev;
	}
	while ((uint64_t)st.st_size > sp->hist.file_off + b.len) {
		size_t want =
		    (size_t)((uint64_t)st.st_size - sp->hist.file_off - b.len);

		if ((w = buf_reserve(&b, want)) == NULL)
			goto fail;
		n = pread(fd, w, want, (off_t)(sp->hist.file_off + b.len));
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		b.len += (size_t)n;
	}
	close(fd);
	if (b.len)
		sp->hist.file_off += spool_hist_parse(sp, b.data, b.len, all);
	buf_free(&b);
	return 0;
fail:
	log_warn("spool: read %s/%s", sp->dir, SPOOL_HISTORY);
	close(fd);
	buf_free(&b);
	return -1;
}

/* --- commits handed from a writer to a reader (spool.h) --------------- */

void
spool_record_commits(struct spool *wr)
{
	wr->record = true;
}

/*
 * spool_flush(), committed, before spool_end(): what the commit changed.
 * The touched groups' staged highs are their highs now; the history
 * lines are hist_stage, which ends where hist.file_off is now.
 */
void
spool_note_commit(struct spool *sp)
{
	struct spool_commit *c;
	struct stat st;
	size_t i, n = 0;

	if (!sp->record)
		return;
	/* A history file created by this batch: name it for the reader. */
	if (sp->hist.ino == 0 && sp->histfd != -1 &&
	    fstat(sp->histfd, &st) == 0) {
		sp->hist.dev = st.st_dev;
		sp->hist.ino = st.st_ino;
	}
	c = xcalloc(1, sizeof(*c));
	c->was = sp->active_was;
	c->now = sp->active_st;
	c->ngroups = sp->ngroups;
	c->hist_dev = sp->hist.dev;
	c->hist_ino = sp->hist.ino;
	c->hist_len = sp->hist_stage.len;
	c->hist_off = sp->hist.file_off - c->hist_len;
	c->hist = xmalloc(c->hist_len + 1);
	memcpy(c->hist, sp->hist_stage.data ? sp->hist_stage.data : "",
	    c->hist_len);
	for (i = 0; i < sp->ngroups; i++)
		if (sp->gp[i].touched)
			n++;
	c->gi = xcalloc(n ? n : 1, sizeof(*c->gi));
	c->high = xcalloc(n ? n : 1, sizeof(*c->high));
	for (i = 0; i < sp->ngroups; i++)
		if (sp->gp[i].touched) {
			c->gi[c->n] = i;
			c->high[c->n++] = sp->groups[i].high;
		}
	*sp->commits_tail = c;
	sp->commits_tail = &c->next;
}

struct spool_commit *
spool_take_commits(struct spool *wr)
{
	struct spool_commit *c = wr->commits;

	wr->commits = NULL;
	wr->commits_tail = &wr->commits;
	return c;
}

struct spool_commit *
spool_commit_next(const struct spool_commit *c)
{
	return c->next;
}

struct spool_commit *
spool_commit_chain(struct spool_commit *a, struct spool_commit *b)
{
	struct spool_commit *t = a;

	if (a == NULL)
		return b;
	while (t->next != NULL)
		t = t->next;
	t->next = b;
	return a;
}

int
spool_apply_commit(struct spool *rd, const struct spool_commit *c)
{
	size_t i;

	/* Exactly the state the commit started from: the same active file
	 * (so the same groups, in the same order) and the same history,
	 * read up to where the commit's lines begin. */
	if (!rd->have_active || rd->locked || rd->in_batch || rd->fps.loaded ||
	    !spool_same_stat(&rd->active_st, &c->was) ||
	    rd->ngroups != c->ngroups || rd->hist.dev != c->hist_dev ||
	    rd->hist.ino != c->hist_ino || rd->hist.file_off != c->hist_off)
		return 0;
	for (i = 0; i < c->n; i++) {
		rd->groups[c->gi[i]].high = c->high[i];
		rd->gp[c->gi[i]].next = c->high[i];
	}
	if (c->hist_len > 0)
		rd->hist.file_off +=
		    spool_hist_parse(rd, c->hist, c->hist_len, true);
	rd->active_st = c->now;
	return 1;
}

void
spool_commit_free(struct spool_commit *c)
{
	struct spool_commit *next;

	for (; c != NULL; c = next) {
		next = c->next;
		free(c->hist);
		free(c->gi);
		free(c->high);
		free(c);
	}
}

bool
spool_has_msgid(struct spool *sp, const char *msgid)
{
	return spool_hist_find(&sp->hist, msgid, strlen(msgid)) != -1;
}

int
spool_lookup(struct spool *sp, const char *msgid, struct spool_loc *loc)
{
	const char *l, *end, *colon;
	const struct hent *e;
	ssize_t i;

	if ((i = spool_hist_find(&sp->hist, msgid, strlen(msgid))) == -1)
		goto none;
	e = &sp->hist.ents[i];
	l = sp->hist.text.data + e->off + e->idlen + 1;
	if ((end = memchr(l, ' ', e->loclen)) == NULL)
		end = l + e->loclen;
	for (colon = end; colon > l && colon[-1] != ':'; colon--)
		;
	if (colon == l || (size_t)(colon - 1 - l) > SPOOL_GROUP_MAX ||
	    parse_u64(colon, (size_t)(end - colon), &loc->num) == -1)
		goto none;
	memcpy(loc->group, l, (size_t)(colon - 1 - l));
	loc->group[colon - 1 - l] = '\0';
	return 0;
none:
	errno = ENOENT;
	return -1;
}

int
spool_history_since(struct spool *sp, time_t since, spool_hist_fn cb, void *arg)
{
	const struct hist *h = &sp->hist;
	size_t lo = 0, hi = h->ncommitted, mid;
	struct spool_hist e;
	int rc;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (h->ents[mid].arrival < (int64_t)since)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < h->ncommitted; lo++) {
		e.msgid = h->text.data + h->ents[lo].off;
		e.arrival = (time_t)h->ents[lo].arrival;
		e.location = e.msgid + h->ents[lo].idlen + 1;
		if ((rc = cb(arg, &e)) != 0)
			return rc;
	}
	return 0;
}

/* --- fingerprints -------------------------------------------------- */

static uint64_t
spool_fp_mix(uint64_t fp)
{
	fp ^= fp >> 33;
	fp *= 0xff51afd7ed558ccdULL;
	fp ^= fp >> 33;
	return fp;
}

static void
spool_fps_insert(struct fpset *f, uint64_t fp)
{
	size_t mask = f->tabcap - 1, i;

	for (i = spool_fp_mix(fp) & mask; f->tab[i]; i = (i + 1) & mask)
		if (f->tab[i] == fp)
			return;
	f->tab[i] = fp;
}

static void
spool_fps_rehash(struct fpset *f, size_t cap)
{
	size_t i;

	free(f->tab);
	f->tabcap = cap;
	f->tab = xcalloc(cap, sizeof(*f->tab));
	for (i = 0; i < f->n; i++)
		spool_fps_insert(f, f->vals[i]);
}

void
spool_fps_add(struct fpset *f, uint64_t fp)
{
	if (fp == 0)
		return;
	if (f->n == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 1024;
		f->vals = xreallocarray(f->vals, f->cap, sizeof(*f->vals));
	}
	if ((f->n + 1) * 2 > f->tabcap)
		spool_fps_rehash(f, f->tabcap ? f->tabcap * 2 : 2048);
	f->vals[f->n++] = fp;
	spool_fps_insert(f, fp);
}

void
spool_fps_truncate(struct fpset *f, size_t n)
{
	if (n >= f->n)
		return;
	f->n = n;
	if (f->ncommitted > n)
		f->ncommitted = n;
	spool_fps_rehash(f, f->tabcap);
}

void
spool_fps_clear(struct fpset *f)
{
	free(f->vals);
	free(f->tab);
	memset(f, 0, sizeof(*f));
}

int
spool_fps_load(struct spool *sp)
{
	struct fpset *f = &sp->fps;
	unsigned char chunk[8192];
	struct stat st;
	uint64_t v, end;
	ssize_t n, k;
	int fd;

	f->loaded = true;
	if ((fd = openat(sp->dfd, SPOOL_FPS, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return 0;
		log_warn("spool: open %s/%s", sp->dir, SPOOL_FPS);
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		close(fd);
		return -1;
	}
	if (st.st_ino != f->ino || st.st_dev != f->dev ||
	    (uint64_t)st.st_size < f->file_off) {
		spool_fps_clear(f);
		f->loaded = true;
		f->ino = st.st_ino;
		f->dev = st.st_dev;
	}
	end = (uint64_t)st.st_size & ~(uint64_t)7;
	while (f->file_off < end) {
		size_t want = sizeof(chunk);

		if (end - f->file_off < want)
			want = (size_t)(end - f->file_off);
		if ((n = pread(fd, chunk, want, (off_t)f->file_off)) <= 0) {
			if (n == -1 && errno == EINTR)
				continue;
			break;
		}
		n &= ~(ssize_t)7;
		for (k = 0; k < n; k += 8) {
			memcpy(&v, chunk + k, 8);
			spool_fps_add(f, le64toh(v));
		}
		f->file_off += (uint64_t)n;
	}
	f->ncommitted = f->n;
	close(fd);
	return 0;
}

bool
spool_has_fingerprint(struct spool *sp, uint64_t fp)
{
	struct fpset *f = &sp->fps;
	size_t mask, i;

	if (fp == 0)
		return false;
	if (!f->loaded && spool_fps_load(sp) == -1)
		return false;
	if (f->tabcap == 0)
		return false;
	mask = f->tabcap - 1;
	for (i = spool_fp_mix(fp) & mask; f->tab[i]; i = (i + 1) & mask)
		if (f->tab[i] == fp)
			return true;
	return false;
}

/* --- articles ------------------------------------------------------ */

int
spool_article_open(struct spool *sp, const char *group, uint64_t num)
{
	char path[SPOOL_PATH_MAX], name[24];
	const struct spool_group *g;

	if (!spool_group_name_valid(group)) {
		errno = EINVAL;
		return -1;
	}
	/* Above high is a batch in flight: not visible yet. */
	if ((g = spool_group(sp, group)) == NULL || num == 0 || num > g->high) {
		errno = ENOENT;
		return -1;
	}
	if (!str_printf(name, sizeof(name), "%" PRIu64, num) ||
	    spool_path_group(path, sizeof(path), group, name) == -1)
		return -1;
	return openat(sp->dfd, path, O_RDONLY | O_CLOEXEC);
}

int
spool_article_read(
    struct spool *sp, const char *group, uint64_t num, struct buf *out)
{
	struct stat st;
	ssize_t n;
	char *w;
	int fd;

	if ((fd = spool_article_open(sp, group, num)) == -1)
		return -1;
	if (fstat(fd, &st) == -1)
		goto fail;
	if ((w = buf_reserve(out, (size_t)st.st_size)) == NULL) {
		errno = out->err;
		goto fail;
	}
	while ((size_t)st.st_size > 0) {
		if ((n = read(fd, w, (size_t)st.st_size)) == -1) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		if (n == 0)
			break;
		out->len += (size_t)n;
		w += n;
		st.st_size -= n;
	}
	out->data[out->len] = '\0';
	close(fd);
	return 0;
fail:
	close(fd);
	return -1;
}

/* --- overview lines ------------------------------------------------ */

/* Append a header value with TAB, CR and LF as spaces (RFC 3977 §8.3). */
void
spool_clean_value(struct buf *out, const char *v)
{
	const char *p;

	size_t n;

	if (v == NULL)
		return;
	for (p = v; *p; p += n) {
		if ((n = strcspn(p, "\t\r\n")) > 0)
			buf_append(out, p, n);
		if (p[n] != '\0') {
			buf_putc(out, ' ');
			n++;
		}
	}
}

void
spool_format_over_fields(struct buf *out, const struct article *a)
{
	static const char *const fields[] = {
	    "Subject", "From", "Date", "Message-ID", "References"};
	size_t i;

	for (i = 0; i < NG_NELEM(fields); i++) {
		buf_putc(out, '\t');
		spool_clean_value(out, article_get(a, fields[i]));
	}
}

void
spool_format_over_rest(
    struct buf *out, size_t bytes, uint64_t lines, const char *xref)
{
	buf_putc(out, '\t');
	buf_put_u64(out, bytes);
	buf_putc(out, '\t');
	buf_put_u64(out, lines);
	buf_puts(out, "\tXref: ");
	spool_clean_value(out, xref);
	buf_putc(out, '\n');
}

void
spool_format_over(struct buf *out, uint64_t num, const struct article *a,
    size_t bytes, const char *xref)
{
	buf_put_u64(out, num);
	spool_format_over_fields(out, a);
	spool_format_over_rest(out, bytes, article_body_lines(a), xref);
}

/* --- open and close ------------------------------------------------ */

static int
spool_mkdir_p(const char *dir)
{
	char path[PATH_MAX];
	char *p;

	if (!str_copy(path, sizeof(path), dir)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (p = path + 1;; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;

			*p = '\0';
			if (mkdir(path, 0755) == -1 && errno != EEXIST)
				return -1;
			if ((*p = c) == '\0')
				break;
		}
	}
	return 0;
}

/* Create whatever part of the layout is missing (writer, locked). */
static int
spool_layout(struct spool *sp)
{
	static const char *const files[] = {
	    SPOOL_ACTIVE, SPOOL_TIMES, SPOOL_NEWSGROUPS, SPOOL_HISTORY};
	bool made = false;
	struct buf fmt = BUF_INIT(SIZE_MAX);
	size_t i;
	int fd;

	for (i = 0; i < NG_NELEM(files); i++) {
		fd = openat(sp->dfd, files[i],
		    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd == -1 && errno != EEXIST) {
			log_warn("spool: create %s/%s", sp->dir, files[i]);
			return -1;
		}
		if (fd != -1) {
			made = true;
			close(fd);
		}
	}
	if (spool_read_file(sp, SPOOL_OVERFMT, &fmt) == -1 ||
	    fmt.len != strlen(SPOOL_OVERFMT_TEXT) ||
	    memcmp(fmt.data, SPOOL_OVERFMT_TEXT, fmt.len) != 0) {
		made = true;
		if (spool_replace_file(sp, SPOOL_OVERFMT, SPOOL_OVERFMT ".tmp",
			SPOOL_OVERFMT_TEXT, strlen(SPOOL_OVERFMT_TEXT),
			false) == -1) {
			buf_free(&fmt);
			return -1;
		}
	}
	buf_free(&fmt);
	if (made && syncfs(sp->dfd) == -1) {
		log_warn("spool: syncfs %s", sp->dir);
		return -1;
	}
	return 0;
}

static int
spool_open_writer(struct spool *sp)
{
	static const char *const dirs[] = {
	    "data", "articles", SPOOL_PRIV, SPOOL_TMPDIR, SPOOL_INDEXDIR};
	size_t i;

	for (i = 0; i < NG_NELEM(dirs); i++)
		if (spool_mkdirs(sp, dirs[i]) == -1) {
			log_warn("spool: mkdir %s/%s", sp->dir, dirs[i]);
			return -1;
		}
	sp->lockfd =
	    openat(sp->dfd, SPOOL_LOCK, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	sp->txnfd =
	    openat(sp->dfd, SPOOL_TXN, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (sp->lockfd == -1 || sp->txnfd == -1) {
		log_warn("spool: open %s/%s", sp->dir, SPOOL_PRIV);
		return -1;
	}
	while (flock(sp->lockfd, LOCK_EX) == -1)
		if (errno != EINTR)
			return -1;
	if (spool_layout(sp) == -1) {
		flock(sp->lockfd, LOCK_UN);
		return -1;
	}
	flock(sp->lockfd, LOCK_UN);
	/* The full lock: loads everything and rolls back a crashed batch. */
	if (spool_lock(sp) == -1)
		return -1;
	spool_unlock(sp);
	return 0;
}

struct spool *
spool_open(const char *dir, const char *hostname, enum spool_mode mode)
{
	struct spool *sp;
	int e;

	sp = xcalloc(1, sizeof(*sp));
	sp->dir = xstrdup(dir);
	sp->host = xstrdup(hostname && *hostname ? hostname : "localhost");
	sp->mode = mode;
	sp->lockfd = sp->txnfd = sp->dfd = sp->histfd = sp->fpsfd = -1;
	sp->commits_tail = &sp->commits;
	buf_init(&sp->hist.text, SIZE_MAX);
	buf_init(&sp->hist_stage, SIZE_MAX);
	buf_init(&sp->render, SIZE_MAX);
	spool_rendered_init(&sp->rendered);
	buf_init(&sp->line, SIZE_MAX);
	buf_init(&sp->active_text, SIZE_MAX);
	buf_init(&sp->times.text, SIZE_MAX);
	buf_init(&sp->newsgroups.text, SIZE_MAX);
	sp->sync = true;
	if (mode == SPOOL_WRITE && spool_mkdir_p(dir) == -1)
		goto fail;
	if ((sp->dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		goto fail;
	if (mode == SPOOL_WRITE) {
		if (spool_open_writer(sp) == -1)
			goto fail;
	} else if (spool_load_active(sp) == -1 ||
	    spool_hist_load(sp, false) == -1)
		goto fail;
	return sp;
fail:
	e = errno;
	spool_close(sp);
	errno = e;
	return NULL;
}

void
spool_close(struct spool *sp)
{
	size_t i;

	if (sp == NULL)
		return;
	if (sp->in_batch && spool_flush(sp) == -1)
		log_warnx("spool: %s: last batch not committed", sp->dir);
	if (spool_sync(sp) == -1) {
		/* Logged; the commits stay in the page cache. */
	}
	if (sp->locked)
		spool_unlock(sp);
	spool_cold(sp);
	spool_commit_free(sp->commits);
	for (i = 0; i < sp->ngroups; i++)
		spool_grp_fini(&sp->gp[i]);
	free(sp->gp);
	free(sp->groups);
	spool_strs_free(sp->strs, sp->nstrs);
	spool_hist_clear(&sp->hist);
	buf_free(&sp->hist.text);
	spool_fps_clear(&sp->fps);
	buf_free(&sp->hist_stage);
	buf_free(&sp->render);
	spool_rendered_free(&sp->rendered);
	buf_free(&sp->line);
	buf_free(&sp->active_text);
	buf_free(&sp->times.text);
	buf_free(&sp->newsgroups.text);
	if (sp->lockfd != -1)
		close(sp->lockfd);
	if (sp->txnfd != -1)
		close(sp->txnfd);
	if (sp->dfd != -1)
		close(sp->dfd);
	free(sp->dir);
	free(sp->host);
	free(sp);
}
