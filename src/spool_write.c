/*
 * spool_write.c - the one write path for articles: batches (group commit),
 * the writer lock, the journal and crash recovery.
 *
 * A batch:
 *   1. spool_lock(): flock .newsgate/lock, bump the generation in it,
 *      re-read active, roll back or finish a crashed batch
 *      (spool_recover), read the history and fingerprint tails another
 *      writer added. A writer whose own commit was the last use of the
 *      lock (the generation is still the one it wrote) skips all of that:
 *      nothing changed since.
 *   2. the journal .newsgate/txn records, for every group, its high and
 *      the sizes of its .overview and index, plus the sizes of
 *      data/history and .newsgate/fingerprints; fdatasync. Nothing of the
 *      batch is written before this.
 *   3. spool_add(): each article file is created under its final name in
 *      its first group (O_EXCL) and hard-linked into the others. It is not
 *      visible: readers ignore numbers above active's high. Overview,
 *      index, history and fingerprint lines are queued in memory.
 *   4. spool_flush(): one positioned write per file appends the queues at
 *      the sizes recorded in the journal; data/active.tmp is written; one
 *      syncfs() makes all of it durable, active.tmp included; active.tmp
 *      is renamed over data/active (the commit point) and data/ fsynced;
 *      the journal is emptied; the lock released.
 *
 * Why active.tmp needs no fsync of its own: the syncfs() put its data on
 * stable storage before the rename was issued, so after a crash
 * data/active is the old file (the journal rolls the batch back) or the
 * new one with all its data, never a new name on lost contents.
 *
 * Without sync (spool_set_sync(sp, false), newsgate.conf [spool] sync =
 * no) the same writes happen in the same order, with no fdatasync, no
 * syncfs, no fsync (and the rename is an exchange plus an unlink, which
 * spares ext4 a writeback). The page cache outlives a crashed or killed
 * process and shows every later reader the writes in the order they were
 * made, so the argument above holds for a process crash unchanged: the
 * journal precedes the batch, the rename follows all of it, the caller
 * reports a commit only after spool_flush() returns. A machine crash can
 * lose what the kernel had not written back (docs/spool.md).
 *
 * Recovery (under the lock): if any group's high in active differs from
 * the journal's, the rename happened and the batch is committed: only the
 * journal is emptied. Otherwise every file above each recorded high is
 * unlinked and every appended file truncated to its recorded size.
 * Recovery is idempotent, so a crash during recovery is harmless. The
 * journal of a rewrite of thread headers (spool_rethread.c) is instead
 * applied again, to the end.
 *
 * Never does: write an article under a number at or below a group's
 * committed high, or touch a file outside the spool directory.
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <endian.h>
#include <fcntl.h>
#include <unistd.h>

#include "common.h"
#include "spool_int.h"

#define RECOVER_MISSES 8 /* absent numbers before recovery stops looking */

static int
spool_pwrite_all(int fd, const void *p, size_t len, uint64_t off)
{
	const char *c = p;
	ssize_t n;

	while (len > 0) {
		if ((n = pwrite(fd, c, len, (off_t)off)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		c += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

/* Truncate rel to size when it is longer. */
static int
spool_truncate_to(struct spool *sp, const char *rel, uint64_t size)
{
	struct stat st;
	int fd, rc = 0;

	if ((fd = openat(sp->dfd, rel, O_WRONLY | O_CLOEXEC)) == -1)
		return errno == ENOENT ? 0 : -1;
	if (fstat(fd, &st) == -1)
		rc = -1;
	else if ((uint64_t)st.st_size > size &&
	    ftruncate(fd, (off_t)size) == -1)
		rc = -1;
	close(fd);
	if (rc == -1)
		log_warn("spool: truncate %s/%s", sp->dir, rel);
	return rc;
}

/*
 * Unlink the article files of a group above high (a batch not committed).
 * A batch numbers its files in order, so they run from high + 1 without
 * a gap: find the top, then unlink downwards, so that a recovery that is
 * itself interrupted still leaves a run without a gap for the next one.
 */
static int
spool_unlink_above(struct spool *sp, const char *group, uint64_t high)
{
	char path[SPOOL_PATH_MAX], name[24];
	unsigned misses = 0;
	uint64_t num, top = high;

	for (num = high + 1; misses < RECOVER_MISSES; num++) {
		if (!str_printf(name, sizeof(name), "%" PRIu64, num) ||
		    spool_path_group(path, sizeof(path), group, name) == -1)
			return -1;
		if (faccessat(sp->dfd, path, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
			top = num;
			misses = 0;
		} else
			misses++;
	}
	for (num = top; num > high; num--) {
		(void)str_printf(name, sizeof(name), "%" PRIu64, num);
		if (spool_path_group(path, sizeof(path), group, name) == -1)
			return -1;
		if (unlinkat(sp->dfd, path, 0) == -1 && errno != ENOENT) {
			log_warn("spool: unlink %s/%s", sp->dir, path);
			return -1;
		}
	}
	return 0;
}

/*
 * Retire the journal of a committed batch: its first octet overwritten
 * (one write into the page cache, where an ftruncate() costs a journaled
 * inode change in every commit). A retired journal is as good as an
 * empty one; the next batch writes its own over it.
 */
static int
spool_txn_retire(struct spool *sp)
{
	static const char mark = SPOOL_TXN_RETIRED;

	if (pwrite(sp->txnfd, &mark, 1, 0) != 1) {
		log_warn("spool: clear %s/%s", sp->dir, SPOOL_TXN);
		return -1;
	}
	return 0;
}

bool
spool_txn_live(struct spool *sp)
{
	char c;
	int fd = sp->txnfd;
	bool live;

	if (fd == -1 &&
	    (fd = openat(sp->dfd, SPOOL_TXN, O_RDONLY | O_CLOEXEC)) == -1)
		return false;
	live = pread(fd, &c, 1, 0) == 1 && c != SPOOL_TXN_RETIRED;
	if (fd != sp->txnfd)
		close(fd);
	return live;
}

static int
spool_txn_clear(struct spool *sp)
{
	if (ftruncate(sp->txnfd, 0) == -1 || fdatasync(sp->txnfd) == -1) {
		log_warn("spool: clear %s/%s", sp->dir, SPOOL_TXN);
		return -1;
	}
	return 0;
}

/* Undo one group of a batch that did not commit. */
static int
spool_rollback_group(struct spool *sp, const char *name, uint64_t high,
    uint64_t ov_size, uint64_t idx_size)
{
	char path[SPOOL_PATH_MAX];

	if (spool_unlink_above(sp, name, high) == -1)
		return -1;
	if (spool_path_group(path, sizeof(path), name, SPOOL_OVERVIEW) == -1 ||
	    spool_truncate_to(sp, path, ov_size) == -1)
		return -1;
	if (spool_path_index(path, sizeof(path), name) == -1 ||
	    spool_truncate_to(sp, path, idx_size) == -1)
		return -1;
	return 0;
}

/* One group line of the journal. */
struct txn_group {
	char name[SPOOL_GROUP_MAX + 1];
	uint64_t high, ov_size, idx_size;
};

/* Parse the journal text; -1 when it is torn (no end line) or bad. */
static int
spool_txn_parse(char *text, uint64_t *hsize, uint64_t *fsize,
    struct txn_group **out, size_t *nout)
{
	struct txn_group *gs = NULL;
	char *line, *next, *f[4];
	size_t n = 0;
	int k;

	*out = NULL;
	*nout = 0;
	if (strncmp(text, SPOOL_TXN_MAGIC " ", strlen(SPOOL_TXN_MAGIC) + 1))
		return -1;
	for (line = text; line && *line; line = next) {
		if ((next = strchr(line, '\n')) == NULL)
			break;
		*next++ = '\0';
		if (line == text) {
			line += strlen(SPOOL_TXN_MAGIC) + 1;
			if ((f[1] = strchr(line, ' ')) == NULL)
				break;
			*f[1]++ = '\0';
			if (parse_u64(line, strlen(line), hsize) == -1 ||
			    parse_u64(f[1], strlen(f[1]), fsize) == -1)
				break;
			continue;
		}
		if (strcmp(line, "end") == 0) {
			*out = gs;
			*nout = n;
			return 0;
		}
		f[0] = line;
		for (k = 1; k < 4; k++) {
			if ((f[k] = strchr(f[k - 1], ' ')) == NULL)
				break;
			*f[k]++ = '\0';
		}
		gs = xreallocarray(gs, n + 1, sizeof(*gs));
		if (k < 4 || !str_copy(gs[n].name, sizeof(gs[n].name), f[0]) ||
		    parse_u64(f[1], strlen(f[1]), &gs[n].high) == -1 ||
		    parse_u64(f[2], strlen(f[2]), &gs[n].ov_size) == -1 ||
		    parse_u64(f[3], strlen(f[3]), &gs[n].idx_size) == -1 ||
		    !spool_group_name_valid(gs[n].name))
			break;
		n++;
	}
	free(gs);
	return -1;
}

/*
 * Apply the journal, if any, against data/active as loaded in sp->groups.
 * Returns 0 when there was nothing, 1 when the batch had committed (the
 * journal is dropped), 2 when it was rolled back, -1 on error (the journal
 * stays, to be applied by the next writer).
 */
int
spool_recover(struct spool *sp)
{
	struct buf j = BUF_INIT(SIZE_MAX);
	struct txn_group *gs = NULL;
	uint64_t hsize = 0, fsize = 0;
	bool committed = false;
	size_t n = 0, k;
	ssize_t gi;
	int rc = -1;

	if (lseek(sp->txnfd, 0, SEEK_SET) == -1)
		goto out;
	for (;;) {
		char *w = buf_reserve(&j, 4096);
		ssize_t got = w ? read(sp->txnfd, w, 4096) : -1;

		if (got == -1 && errno == EINTR)
			continue;
		if (got == -1)
			goto out;
		if (got == 0)
			break;
		j.len += (size_t)got;
		j.data[j.len] = '\0';
	}
	if (j.len == 0) {
		rc = 0;
		goto out;
	}
	/* Retired: emptied here, where a cold writer pays for it once. */
	if (j.data[0] == SPOOL_TXN_RETIRED) {
		if (ftruncate(sp->txnfd, 0) == -1)
			goto out;
		rc = 0;
		goto out;
	}
	/* A rewrite of thread headers (spool_rethread.c) is a redo log:
	 * applied again to the end. */
	if (spool_rewrite_journal(j.data, j.len)) {
		if (spool_rewrite_recover(sp, j.data) == -1)
			goto out;
		rc = spool_txn_clear(sp) == -1 ? -1 : 1;
		goto out;
	}
	/* A journal without its end line was torn while being written:
	 * nothing of its batch was written yet. */
	if (spool_txn_parse(j.data, &hsize, &fsize, &gs, &n) == -1) {
		rc = spool_txn_clear(sp) == -1 ? -1 : 0;
		goto out;
	}
	for (k = 0; k < n; k++)
		if ((gi = spool_group_index(sp, gs[k].name)) != -1 &&
		    sp->groups[gi].high != gs[k].high)
			committed = true;
	if (!committed) {
		for (k = 0; k < n; k++)
			if (spool_group_index(sp, gs[k].name) != -1 &&
			    spool_rollback_group(sp, gs[k].name, gs[k].high,
				gs[k].ov_size, gs[k].idx_size) == -1)
				goto out;
		if (spool_truncate_to(sp, SPOOL_HISTORY, hsize) == -1 ||
		    spool_truncate_to(sp, SPOOL_FPS, fsize) == -1)
			goto out;
		if (syncfs(sp->dfd) == -1) {
			log_warn("spool: syncfs %s", sp->dir);
			goto out;
		}
		log_warnx("spool: %s: rolled back a batch that did not commit",
		    sp->dir);
	}
	rc = committed ? 1 : 2;
	if (spool_txn_clear(sp) == -1)
		rc = -1;
out:
	if (rc == -1)
		log_warn("spool: recover %s", sp->dir);
	free(gs);
	buf_free(&j);
	return rc;
}

/* Close the files kept open between batches; forget the sizes. */
void
spool_cold(struct spool *sp)
{
	size_t i;

	for (i = 0; i < sp->ngroups; i++) {
		spool_grp_close(&sp->gp[i]);
		sp->gp[i].verified = false;
	}
	if (sp->histfd != -1)
		close(sp->histfd);
	if (sp->fpsfd != -1)
		close(sp->fpsfd);
	sp->histfd = sp->fpsfd = -1;
	sp->warm = false;
}

/* The generation in the lock file (0 when it has none yet). */
static uint64_t
spool_lock_gen(struct spool *sp)
{
	uint64_t v = 0;

	if (pread(sp->lockfd, &v, sizeof(v), 0) != (ssize_t)sizeof(v))
		return 0;
	return le64toh(v);
}

/* Bump the lock file's generation (locked). */
static int
spool_lock_bump(struct spool *sp, uint64_t gen)
{
	uint64_t v = htole64(gen + 1);

	/* No sync: the generation only tells live processes apart. */
	if (pwrite(sp->lockfd, &v, sizeof(v), 0) != (ssize_t)sizeof(v)) {
		log_warn("spool: write %s/%s", sp->dir, SPOOL_LOCK);
		return -1;
	}
	sp->gen = gen + 1;
	return 0;
}

/*
 * The history as our last commit left it, by the descriptor kept open
 * (one fstat(), no path lookup): it still has its name and our size.
 */
static bool
spool_history_kept(struct spool *sp)
{
	struct stat st;

	return sp->histfd != -1 && fstat(sp->histfd, &st) == 0 &&
	    st.st_nlink > 0 && (uint64_t)st.st_size == sp->hist.file_off;
}

/*
 * Take the writer lock. Every writer bumps the generation in the lock
 * file as soon as it holds the lock, before it changes anything, so one
 * killed in the middle of a batch has bumped it too. Our own generation
 * still there, and our last lock ended in a commit (sp->warm), means no
 * other writer has held the lock since: active, history, fingerprints,
 * the sizes of the appended files and the index checks in memory are
 * right, and the files kept open are the ones under those names (only a
 * writer holding the lock replaces them). Then nothing is read again.
 */
int
spool_lock(struct spool *sp)
{
	uint64_t gen;
	bool warm;

	if (sp->locked)
		return 0;
	if (sp->mode != SPOOL_WRITE || sp->lockfd == -1) {
		errno = EROFS;
		return -1;
	}
	while (flock(sp->lockfd, LOCK_EX) == -1)
		if (errno != EINTR) {
			log_warn("spool: lock %s", sp->dir);
			return -1;
		}
	sp->locked = true;
	gen = spool_lock_gen(sp);
	warm = sp->warm && gen == sp->gen && spool_history_kept(sp);
	/* Stays warm past the unlock only if this lock ends in a commit
	 * (spool_flush() sets keep_warm). */
	sp->keep_warm = false;
	if (spool_lock_bump(sp, gen) == -1) {
		sp->warm = false;
		spool_unlock(sp);
		return -1;
	}
	if (warm)
		return 0;
	spool_cold(sp);
	if (spool_load_active(sp) == -1 || spool_recover(sp) == -1 ||
	    spool_hist_load(sp, true) == -1 || spool_fps_load(sp) == -1) {
		spool_unlock(sp);
		return -1;
	}
	return 0;
}

void
spool_unlock(struct spool *sp)
{
	if (!sp->locked)
		return;
	if (!sp->keep_warm)
		spool_cold(sp);
	sp->keep_warm = false;
	flock(sp->lockfd, LOCK_UN);
	sp->locked = false;
}

/*
 * The size of an appended file now: through the fd kept open while it
 * still has a name (cheaper than a path lookup), else by its name.
 */
static uint64_t
spool_size_now(struct spool *sp, int *fd, const char *rel)
{
	struct stat st;

	if (*fd != -1) {
		if (fstat(*fd, &st) == 0 && st.st_nlink > 0)
			return (uint64_t)st.st_size;
		close(*fd); /* replaced or removed under us */
		*fd = -1;
	}
	return spool_file_size(sp, rel);
}

/* Write the journal of the batch from the sizes in memory (locked). */
static int
spool_txn_write(struct spool *sp)
{
	struct buf j = BUF_INIT(SIZE_MAX);
	size_t i;
	int rc = 0;

	buf_printf(&j, "%s %" PRIu64 " %" PRIu64 "\n", SPOOL_TXN_MAGIC,
	    sp->hist_size0, sp->fps_size0);
	for (i = 0; i < sp->ngroups; i++) {
		buf_puts(&j, sp->groups[i].name);
		buf_putc(&j, ' ');
		buf_put_u64(&j, sp->groups[i].high);
		buf_putc(&j, ' ');
		buf_put_u64(&j, sp->gp[i].ov_size0);
		buf_putc(&j, ' ');
		buf_put_u64(&j, sp->gp[i].idx_size0);
		buf_putc(&j, '\n');
	}
	buf_puts(&j, "end\n");
	/* Over an empty or retired journal, or one of this batch (a longer
	 * file still ends at our "end" line). */
	if (j.err || spool_pwrite_all(sp->txnfd, j.data, j.len, 0) == -1 ||
	    (sp->sync && fdatasync(sp->txnfd) == -1)) {
		log_warn("spool: write %s/%s", sp->dir, SPOOL_TXN);
		rc = -1;
	}
	buf_free(&j);
	return rc;
}

/* The sizes of a group's .overview and index now, from the files. */
static int
spool_group_sizes(struct spool *sp, size_t gi, uint64_t *ov, uint64_t *idx)
{
	char path[SPOOL_PATH_MAX];
	struct grp *g = &sp->gp[gi];

	if (spool_path_group(
		path, sizeof(path), sp->groups[gi].name, SPOOL_OVERVIEW) == -1)
		return -1;
	*ov = spool_size_now(sp, &g->ovfd, path);
	if (spool_path_index(path, sizeof(path), sp->groups[gi].name) == -1)
		return -1;
	*idx = spool_size_now(sp, &g->idxfd, path);
	return 0;
}

/*
 * Begin a batch (lock, journal). Cold, every size is read from the files;
 * warm, from memory: a group's own files are looked at only when the batch
 * first touches it (spool_touch()), so a commit costs the same whatever
 * the number of groups.
 */
static int
spool_begin(struct spool *sp)
{
	size_t i;

	if (spool_lock(sp) == -1)
		return -1;
	if (!sp->warm) {
		sp->hist_size0 = spool_size_now(sp, &sp->histfd, SPOOL_HISTORY);
		sp->fps_size0 =
		    spool_size_now(sp, &sp->fpsfd, SPOOL_FPS) & ~(uint64_t)7;
	}
	for (i = 0; i < sp->ngroups; i++) {
		struct grp *g = &sp->gp[i];

		if (!sp->warm &&
		    spool_group_sizes(sp, i, &g->ov_size0, &g->idx_size0) ==
			-1)
			goto fail;
		g->next = sp->groups[i].high;
		g->touched = false;
	}
	/* The journal is empty or retired: spool_lock() applied or emptied
	 * any other. */
	if (spool_txn_write(sp) == -1)
		goto fail;
	sp->in_batch = true;
	sp->pending = 0;
	buf_reset(&sp->hist_stage);
	return 0;
fail:
	(void)spool_txn_clear(sp);
	spool_unlock(sp);
	return -1;
}

/* Close group dirs, empty the queues, release the lock. */
static void
spool_end(struct spool *sp)
{
	size_t i;

	for (i = 0; i < sp->ngroups; i++) {
		struct grp *g = &sp->gp[i];

		g->touched = false;
		g->nrecs = 0;
		g->next = sp->groups[i].high;
		buf_free(&g->ov);
		buf_init(&g->ov, SIZE_MAX);
	}
	buf_reset(&sp->hist_stage);
	sp->pending = 0;
	sp->in_batch = false;
	spool_unlock(sp);
}

/*
 * After a failed flush or an abort: apply the journal from disk (which
 * knows whether the rename of active happened) and make memory agree.
 */
static void
spool_undo(struct spool *sp)
{
	int e = errno, rc;

	sp->in_batch = false;
	if (spool_load_active(sp) == -1 || (rc = spool_recover(sp)) == -1) {
		log_warnx("spool: %s: batch left for the next writer to roll "
			  "back",
		    sp->dir);
		rc = 2;
	}
	(void)rc;
	/* Re-read history and fingerprints as they now are on disk. */
	spool_hist_clear(&sp->hist);
	spool_fps_clear(&sp->fps);
	if (spool_hist_load(sp, true) == -1 || spool_fps_load(sp) == -1)
		log_warnx("spool: %s: history reload failed", sp->dir);
	spool_end(sp);
	errno = e;
}

static int
spool_group_dfd(struct spool *sp, size_t gi)
{
	char path[SPOOL_PATH_MAX];
	struct grp *g = &sp->gp[gi];

	if (g->dfd != -1)
		return g->dfd;
	if (spool_path_group(path, sizeof(path), sp->groups[gi].name, NULL) ==
	    -1)
		return -1;
	g->dfd = openat(sp->dfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (g->dfd == -1 && errno == ENOENT && spool_mkdirs(sp, path) == 0)
		g->dfd =
		    openat(sp->dfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (g->dfd == -1)
		log_warn("spool: open %s/%s", sp->dir, path);
	return g->dfd;
}

/*
 * A file already under a number we are about to use (above the committed
 * high): a leftover of a batch that never committed (its journal lost),
 * which we replace, unless its Message-ID is committed in history. Then
 * active is behind the files (damaged or edited): refuse with EUCLEAN
 * rather than overwrite an article; `newsgate check --rebuild` repairs
 * the marks.
 */
static bool
spool_is_leftover(struct spool *sp, size_t gi, int dfd, const char *name)
{
	char head[8192], *p, *nl, *v, *end;
	ssize_t n, i;
	int fd;

	if ((fd = openat(dfd, name, O_RDONLY | O_CLOEXEC)) == -1)
		return true;
	n = read(fd, head, sizeof(head) - 1);
	close(fd);
	if (n <= 0)
		return true;
	head[n] = '\0';
	for (p = head; *p != '\n' && (nl = strchr(p, '\n')) != NULL;
	     p = nl + 1) {
		if (strncasecmp(p, "Message-ID:", 11) != 0)
			continue;
		for (v = p + 11; *v == ' ' || *v == '\t'; v++)
			;
		for (end = nl; end > v && (end[-1] == ' ' || end[-1] == '\t');)
			end--;
		i = spool_hist_find(&sp->hist, v, (size_t)(end - v));
		if (i == -1 || (size_t)i >= sp->hist.ncommitted)
			return true;
		log_warnx("spool: %s: %s:%s is a stored article above the high "
			  "mark; run newsgate check --rebuild",
		    sp->dir, sp->groups[gi].name, name);
		errno = EUCLEAN;
		return false;
	}
	return true;
}

/*
 * Create the article file in its first group and link it into the others.
 * A file already there under a number above the committed high is a
 * leftover of a batch that never committed: replace it.
 */
static int
spool_put_files(struct spool *sp, const size_t *gi, const uint64_t *nums,
    size_t n, const struct buf *art)
{
	char name[24], name0[24];
	size_t k;
	int fd = -1, dfd0, dfd, tries, e;

	if ((dfd0 = spool_group_dfd(sp, gi[0])) == -1)
		return -1;
	(void)str_printf(name0, sizeof(name0), "%" PRIu64, nums[0]);
	for (tries = 0; tries < 2; tries++) {
		fd = openat(
		    dfd0, name0, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd != -1 || errno != EEXIST)
			break;
		if (!spool_is_leftover(sp, gi[0], dfd0, name0))
			return -1;
		(void)unlinkat(dfd0, name0, 0);
	}
	if (fd == -1)
		goto fail0;
	if (write_all(fd, art->data, art->len) == -1) {
		close(fd);
		goto fail;
	}
	if (close(fd) == -1)
		goto fail;
	for (k = 1; k < n; k++) {
		if ((dfd = spool_group_dfd(sp, gi[k])) == -1)
			goto fail_links;
		(void)str_printf(name, sizeof(name), "%" PRIu64, nums[k]);
		for (tries = 0; tries < 2; tries++) {
			if (linkat(dfd0, name0, dfd, name, 0) == 0)
				break;
			if (errno != EEXIST ||
			    !spool_is_leftover(sp, gi[k], dfd, name))
				goto fail_links;
			(void)unlinkat(dfd, name, 0);
		}
		if (tries == 2)
			goto fail_links;
	}
	return 0;
fail_links:
	e = errno;
	log_warn("spool: link %s:%" PRIu64, sp->groups[gi[k]].name, nums[k]);
	while (k-- > 1) {
		(void)str_printf(name, sizeof(name), "%" PRIu64, nums[k]);
		(void)unlinkat(sp->gp[gi[k]].dfd, name, 0);
	}
	(void)unlinkat(dfd0, name0, 0);
	errno = e;
	return -1;
fail:
	e = errno;
	(void)unlinkat(dfd0, name0, 0);
	errno = e;
fail0:
	log_warn("spool: write %s:%" PRIu64, sp->groups[gi[0]].name, nums[0]);
	return -1;
}

/* Resolve and check the group list of spool_add. */
static int
spool_add_groups(
    struct spool *sp, const char *const *groups, size_t n, size_t *gi)
{
	size_t k, m;
	ssize_t i;

	if (n == 0 || n > SPOOL_XPOST_MAX) {
		errno = EINVAL;
		return -1;
	}
	for (k = 0; k < n; k++) {
		if (groups[k] == NULL || !spool_group_name_valid(groups[k])) {
			errno = EINVAL;
			return -1;
		}
		if ((i = spool_group_index(sp, groups[k])) == -1) {
			errno = ENOENT;
			return -1;
		}
		gi[k] = (size_t)i;
		for (m = 0; m < k; m++)
			if (gi[m] == gi[k]) {
				errno = EINVAL;
				return -1;
			}
	}
	return 0;
}

/* Queue the overview line (one per group), index record and history. */
static void
spool_queue(struct spool *sp, const struct spool_rendered *r,
    const char *msgid, const size_t *gi, const uint64_t *nums, size_t n,
    const char *xref, const char *loc, uint64_t fp)
{
	const char *rest;
	int64_t now = (int64_t)time(NULL);
	size_t k;

	/* The line after its number, the same for every group. */
	buf_reset(&sp->line);
	buf_append(&sp->line, r->text.data + r->head + r->body,
	    r->text.len - r->head - r->body);
	spool_format_over_rest(&sp->line, sp->render.len, r->lines, xref);
	rest = buf_cstr(&sp->line);
	for (k = 0; k < n; k++) {
		struct grp *g = &sp->gp[gi[k]];

		if (g->nrecs == g->caprecs) {
			g->caprecs = g->caprecs ? g->caprecs * 2 : 64;
			g->recs = xreallocarray(
			    g->recs, g->caprecs, sizeof(*g->recs));
		}
		g->recs[g->nrecs].num = nums[k];
		g->recs[g->nrecs++].off = g->ov.len;
		buf_put_u64(&g->ov, nums[k]);
		buf_puts(&g->ov, rest);
		g->next = nums[k];
	}
	if (now < sp->hist.last_arrival)
		now = sp->hist.last_arrival; /* arrivals never decrease */
	if (now < 0)
		now = 0;
	buf_puts(&sp->hist_stage, msgid);
	buf_putc(&sp->hist_stage, '\t');
	buf_put_u64(&sp->hist_stage, (uint64_t)now);
	buf_putc(&sp->hist_stage, '\t');
	buf_puts(&sp->hist_stage, loc);
	buf_putc(&sp->hist_stage, '\n');
	spool_hist_add(&sp->hist, msgid, strlen(msgid), loc, strlen(loc), now);
	spool_fps_add(&sp->fps, fp);
}

/* First article of a group in this batch: make sure its index is whole. */
static int
spool_touch(struct spool *sp, size_t gi)
{
	struct grp *g = &sp->gp[gi];

	if (g->touched)
		return 0;
	/*
	 * Warm, the sizes came from memory: the files must still be the ones
	 * we appended to, at those sizes. One changed without the lock (an
	 * index deleted, say) is taken as it now is, and the journal written
	 * again with its sizes, before anything of this group is written.
	 */
	if (sp->warm) {
		uint64_t ov, idx;

		if (spool_group_sizes(sp, gi, &ov, &idx) == -1)
			return -1;
		if (ov != g->ov_size0 || idx != g->idx_size0) {
			g->verified = false;
			g->ov_size0 = ov;
			g->idx_size0 = idx;
			if (spool_txn_write(sp) == -1)
				return -1;
		}
	}
	/* Checked once while warm: since then only we appended to both. */
	if (!g->verified && g->idxfd != -1) {
		close(g->idxfd); /* the check may replace the file */
		g->idxfd = -1;
	}
	if (!g->verified &&
	    spool_index_verify(
		sp, sp->groups[gi].name, g->ov_size0, &g->idx_size0) == -1)
		return -1;
	g->verified = true;
	g->touched = true;
	return 0;
}

void
spool_rendered_init(struct spool_rendered *r)
{
	buf_init(&r->text, SIZE_MAX);
	r->head = r->body = 0;
	r->lines = 0;
}

void
spool_rendered_free(struct spool_rendered *r)
{
	buf_free(&r->text);
}

int
spool_render(struct article *a, const char *const *groups, size_t ngroups,
    struct spool_rendered *r)
{
	char lines[24];
	size_t k, need;

	buf_reset(&r->text);
	if (article_get(a, "Newsgroups") == NULL)
		article_set_newsgroups(a, groups, ngroups);
	r->lines = article_body_lines(a);
	if (article_get(a, "Lines") == NULL) {
		(void)str_printf(lines, sizeof(lines), "%" PRIu64, r->lines);
		article_set(a, "Lines", lines);
	}
	article_del(a, "Xref");
	/* One allocation of about the right size: headers (folding adds a
	 * little), body, overview fields (at most the headers again). */
	need = a->body_len + 2;
	for (k = 0; k < a->nhdrs; k++)
		need += 2 * (strlen(a->hdrs[k].name) + strlen(a->hdrs[k].value)) +
		    8;
	(void)buf_reserve(&r->text, need);
	article_render_head(a, &r->text);
	r->head = r->text.len;
	article_render_body(a, &r->text);
	r->body = r->text.len - r->head;
	spool_format_over_fields(&r->text, a);
	if (r->text.err) {
		errno = r->text.err;
		return -1;
	}
	return 0;
}

int
spool_add(struct spool *sp, struct article *a, const char *const *groups,
    size_t ngroups, uint64_t fingerprint, uint64_t *nums)
{
	if (sp->mode != SPOOL_WRITE) {
		errno = EROFS;
		return -1;
	}
	if (spool_render(a, groups, ngroups, &sp->rendered) == -1)
		return -1;
	return spool_add_rendered(sp, &sp->rendered,
	    article_get(a, "Message-ID"), groups, ngroups, fingerprint, nums);
}

int
spool_add_rendered(struct spool *sp, const struct spool_rendered *r,
    const char *msgid, const char *const *groups, size_t ngroups,
    uint64_t fingerprint, uint64_t *nums)
{
	struct buf xref = BUF_INIT(SIZE_MAX), loc = BUF_INIT(SIZE_MAX);
	size_t gi[SPOOL_XPOST_MAX], k;
	int rc = -1;

	if (sp->mode != SPOOL_WRITE) {
		errno = EROFS;
		return -1;
	}
	if (msgid == NULL || !article_msgid_valid(msgid)) {
		errno = EINVAL;
		return -1;
	}
	if (!sp->in_batch && spool_begin(sp) == -1)
		return -1;
	if (spool_add_groups(sp, groups, ngroups, gi) == -1)
		goto out;
	if (spool_has_msgid(sp, msgid)) {
		errno = EEXIST;
		goto out;
	}
	buf_puts(&xref, sp->host);
	for (k = 0; k < ngroups; k++) {
		nums[k] = sp->gp[gi[k]].next + 1;
		buf_putc(&xref, ' ');
		buf_puts(&xref, sp->groups[gi[k]].name);
		buf_putc(&xref, ':');
		buf_put_u64(&xref, nums[k]);
		if (k)
			buf_putc(&loc, ' ');
		buf_puts(&loc, sp->groups[gi[k]].name);
		buf_putc(&loc, ':');
		buf_put_u64(&loc, nums[k]);
		if (spool_touch(sp, gi[k]) == -1)
			goto out;
	}
	/* The file: the rendered headers, Xref last, the body. */
	buf_reset(&sp->render);
	buf_append(&sp->render, r->text.data, r->head);
	article_render_field("Xref", buf_cstr(&xref), &sp->render);
	buf_append(&sp->render, r->text.data + r->head, r->body);
	if (sp->render.err) {
		errno = sp->render.err;
		goto out;
	}
	if (spool_put_files(sp, gi, nums, ngroups, &sp->render) == -1)
		goto out;
	spool_queue(sp, r, msgid, gi, nums, ngroups, buf_cstr(&xref),
	    buf_cstr(&loc), fingerprint);
	sp->pending++;
	rc = 0;
	if (sp->pending >= SPOOL_BATCH_MAX)
		rc = spool_flush(sp);
out:
	buf_free(&xref);
	buf_free(&loc);
	/* Refused with nothing staged: do not keep the writer lock. */
	if (rc == -1 && sp->in_batch && sp->pending == 0) {
		int e = errno;

		if (spool_flush(sp) == -1)
			log_warnx(
			    "spool: %s: cannot end an empty batch", sp->dir);
		errno = e;
	}
	return rc;
}

size_t
spool_pending(const struct spool *sp)
{
	return sp->pending;
}

/* *fd, opened for appending when it is not yet (kept between batches
 * while the spool is warm). */
static int
spool_append_fd(struct spool *sp, int *fd, const char *rel)
{
	if (*fd == -1)
		*fd =
		    openat(sp->dfd, rel, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	return *fd;
}

/* Append the queued lines of one group: overview, then index. */
static int
spool_flush_group(struct spool *sp, size_t gi)
{
	struct grp *g = &sp->gp[gi];
	char path[SPOOL_PATH_MAX];
	uint64_t *recs;
	size_t k;
	int rc;

	if (spool_path_group(
		path, sizeof(path), sp->groups[gi].name, SPOOL_OVERVIEW) == -1)
		return -1;
	if (spool_append_fd(sp, &g->ovfd, path) == -1 ||
	    spool_pwrite_all(g->ovfd, g->ov.data, g->ov.len, g->ov_size0) == -1)
		goto fail;
	if (spool_path_index(path, sizeof(path), sp->groups[gi].name) == -1)
		return -1;
	recs = xcalloc(g->nrecs, 2 * sizeof(uint64_t));
	for (k = 0; k < g->nrecs; k++) {
		recs[2 * k] = htole64(g->recs[k].num);
		recs[2 * k + 1] = htole64(g->ov_size0 + g->recs[k].off);
	}
	rc = spool_append_fd(sp, &g->idxfd, path) == -1
	    ? -1
	    : spool_pwrite_all(
		  g->idxfd, recs, g->nrecs * SPOOL_IDXREC, g->idx_size0);
	free(recs);
	if (rc == -1)
		goto fail;
	return 0;
fail:
	log_warn("spool: append %s/%s", sp->dir, path);
	return -1;
}

/* Append the queued history lines and fingerprints. */
static int
spool_flush_history(struct spool *sp)
{
	const struct fpset *f = &sp->fps;
	uint64_t *vals;
	size_t k, n = f->n - f->ncommitted;
	int rc;

	if (spool_append_fd(sp, &sp->histfd, SPOOL_HISTORY) == -1 ||
	    spool_pwrite_all(sp->histfd, sp->hist_stage.data,
		sp->hist_stage.len, sp->hist_size0) == -1)
		goto fail;
	if (n == 0)
		return 0;
	if (spool_append_fd(sp, &sp->fpsfd, SPOOL_FPS) == -1)
		goto fail;
	vals = xcalloc(n, sizeof(*vals));
	for (k = 0; k < n; k++)
		vals[k] = htole64(f->vals[f->ncommitted + k]);
	rc =
	    spool_pwrite_all(sp->fpsfd, vals, n * sizeof(*vals), sp->fps_size0);
	free(vals);
	if (rc == -1)
		goto fail;
	return 0;
fail:
	log_warn("spool: append %s history", sp->dir);
	return -1;
}

int
spool_flush(struct spool *sp)
{
	size_t i;

	if (!sp->in_batch)
		return 0;
	if (sp->pending == 0) {
		/* Nothing was written: a journal that survives a crash rolls
		 * back nothing, so it needs no sync when commits have none. */
		if (sp->sync ? spool_txn_clear(sp) == -1
			     : spool_txn_retire(sp) == -1) {
			spool_undo(sp);
			return -1;
		}
		sp->warm = sp->keep_warm = true; /* nothing changed */
		spool_end(sp);
		return 0;
	}
	for (i = 0; i < sp->ngroups; i++)
		if (sp->gp[i].touched && spool_flush_group(sp, i) == -1)
			goto fail;
	if (spool_flush_history(sp) == -1)
		goto fail;
	/*
	 * data/active.tmp is written before the syncfs, so that the one
	 * syncfs makes its contents durable together with every file of the
	 * batch: the rename then switches data/active to an inode whose data
	 * is already on stable storage, and the fsync of data/ makes the
	 * switch itself durable (one device flush fewer than an fsync of
	 * active.tmp of its own). A crash before the rename leaves the old
	 * active and the journal: rolled back; after it: committed.
	 */
	if (spool_active_write_tmp(sp, true, false) == -1)
		goto fail;
	/* One sync for every file of the batch: group commit. */
	if (sp->sync && syncfs(sp->dfd) == -1) {
		log_warn("spool: syncfs %s", sp->dir);
		goto fail;
	}
	if (spool_active_install(sp, sp->sync) == -1)
		goto fail;
	if (!sp->sync)
		sp->unsynced = true;
	/* Committed. */
	for (i = 0; i < sp->ngroups; i++) {
		struct grp *g = &sp->gp[i];

		sp->groups[i].high = g->next;
		if (g->touched) {
			g->ov_size0 += g->ov.len;
			g->idx_size0 += g->nrecs * SPOOL_IDXREC;
		}
	}
	sp->hist.ncommitted = sp->hist.n;
	sp->hist.file_off = sp->hist_size0 + sp->hist_stage.len;
	sp->fps.file_off =
	    sp->fps_size0 + (sp->fps.n - sp->fps.ncommitted) * sizeof(uint64_t);
	sp->fps.ncommitted = sp->fps.n;
	sp->hist_size0 = sp->hist.file_off;
	sp->fps_size0 = sp->fps.file_off;
	spool_note_commit(sp); /* for a reader in this process (spool.h) */
	/* Every size in memory is the file's now: the next batch under the
	 * next lock may skip re-reading them if nobody else writes first. */
	sp->warm = sp->keep_warm = true;
	/* No sync needed: a journal that survives a crash unretired is seen
	 * as committed, since active's highs moved. */
	(void)spool_txn_retire(sp);
	spool_end(sp);
	return 0;
fail:
	spool_undo(sp);
	return -1;
}

void
spool_set_sync(struct spool *sp, bool sync)
{
	sp->sync = sync;
}

int
spool_sync(struct spool *sp)
{
	if (!sp->unsynced)
		return 0;
	if (syncfs(sp->dfd) == -1) {
		log_warn("spool: syncfs %s", sp->dir);
		return -1;
	}
	sp->unsynced = false;
	return 0;
}

bool
spool_unsynced(const struct spool *sp)
{
	return sp->unsynced;
}

void
spool_abort(struct spool *sp)
{
	if (sp->in_batch)
		spool_undo(sp);
}
