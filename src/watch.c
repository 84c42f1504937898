/*
 * watch.c - the drop directory of `newsgate import --watch DIR` (see
 * watch.h): scan, take what is ready, let the caller import and commit it,
 * then move each file to done/ or failed/.
 *
 * A round: list DIR (sorted by name, so writers can order their drops),
 * import every ready file up to WATCH_ROUND_MAX, commit once, move them.
 * Nothing is moved before the commit returns, and nothing at all when the
 * spool failed; those files are simply taken again in a later round (with
 * a growing pause), when their articles are either stored anew or found to
 * be duplicates.
 *
 * Ready means: a regular file (no symbolic link, checked on the open
 * descriptor too) whose name does not start with '.', whose status did
 * not change for WATCH_QUIET_MS (ctime: writes and the rename into DIR set
 * it, and unlike mtime nobody can set it back), and that nobody holds open
 * for writing. The last is asked of the kernel with a read lease, which
 * fcntl(F_SETLEASE) refuses with EAGAIN while any writer has the file
 * open; the lease is dropped at once. Leases need the file to be ours
 * (or CAP_LEASE) and a file system that has them; without, the quiet
 * time alone decides. SIGIO, the lease-break signal, is ignored while
 * watching so a writer opening the file in that instant costs nothing.
 *
 * Stopping: SIGTERM and SIGINT are blocked and waited for with
 * sigtimedwait() (the pause between rounds) or polled between two files,
 * so no handler and no global flag are needed; the round in progress ends
 * normally (commit, moves) and watch_run() returns.
 *
 * One watcher per directory: an flock on DIR/.newsgate.lock.
 *
 * Never reads or writes outside DIR except through the caller's import.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "common.h"
#include "watch.h"

#define WATCH_LOCK ".newsgate.lock"
#define WATCH_REASON_TMP ".reason.tmp"
#define WATCH_SUFFIX_MAX 1000 /* NAME, NAME.1 ... NAME.999 in done/ */

struct watch {
	const char *dir;	     /* as given, for messages */
	int dfd;		     /* DIR */
	int donefd;		     /* DIR/done */
	int failfd;		     /* DIR/failed */
	int lockfd;		     /* DIR/.newsgate.lock, flocked */
	const struct watch_ops *ops; /* the caller's import and commit */
	sigset_t stopset;	     /* SIGTERM, SIGINT: blocked */
	bool stop;		     /* a stop signal was taken */
};

/* A file imported in this round, waiting for the commit to be moved. */
struct taken {
	char *name;	      /* owned */
	enum watch_verdict v; /* where it goes */
	struct buf reasons;   /* for failed/NAME.reason */
	char summary[160];    /* counts, from the import */
};

static int
watch_subdir(struct watch *w, const char *name)
{
	int fd;

	if (mkdirat(w->dfd, name, 0755) == -1 && errno != EEXIST) {
		fprintf(stderr, "newsgate: watch: mkdir %s/%s: %s\n", w->dir,
		    name, strerror(errno));
		return -1;
	}
	if ((fd = openat(w->dfd, name,
		 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		fprintf(stderr, "newsgate: watch: %s/%s: %s\n", w->dir, name,
		    strerror(errno));
	return fd;
}

static void
watch_close(struct watch *w)
{
	if (w->donefd != -1)
		close(w->donefd);
	if (w->failfd != -1)
		close(w->failfd);
	if (w->lockfd != -1)
		close(w->lockfd); /* releases the flock */
	if (w->dfd != -1)
		close(w->dfd);
}

static int
watch_open(struct watch *w)
{
	int tmpfd;

	w->dfd = w->donefd = w->failfd = w->lockfd = -1;
	if ((w->dfd = open(w->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		fprintf(stderr, "newsgate: watch: %s: %s\n", w->dir,
		    strerror(errno));
		return -1;
	}
	if ((w->lockfd = openat(w->dfd, WATCH_LOCK,
		 O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644)) == -1) {
		fprintf(stderr, "newsgate: watch: %s/%s: %s\n", w->dir,
		    WATCH_LOCK, strerror(errno));
		return -1;
	}
	if (flock(w->lockfd, LOCK_EX | LOCK_NB) == -1) {
		fprintf(stderr, "newsgate: watch: %s: %s\n", w->dir,
		    errno == EWOULDBLOCK ? "another watcher runs on it"
					 : strerror(errno));
		return -1;
	}
	/* tmp/ is the writers'; it is only made, never read. */
	if ((tmpfd = watch_subdir(w, "tmp")) == -1)
		return -1;
	close(tmpfd);
	if ((w->donefd = watch_subdir(w, "done")) == -1 ||
	    (w->failfd = watch_subdir(w, "failed")) == -1)
		return -1;
	return 0;
}

/* Take a pending stop signal, if any, without waiting. */
static bool
watch_stopping(struct watch *w)
{
	const struct timespec zero = {0, 0};

	if (!w->stop && sigtimedwait(&w->stopset, NULL, &zero) > 0)
		w->stop = true;
	return w->stop;
}

/* Pause ms, or less when a stop signal comes: true when it did. */
static bool
watch_wait(struct watch *w, uint64_t ms)
{
	uint64_t end = now_ms() + ms, now;
	struct timespec ts;

	while (!watch_stopping(w) && (now = now_ms()) < end) {
		ts.tv_sec = (time_t)((end - now) / 1000);
		ts.tv_nsec = (long)((end - now) % 1000) * 1000000L;
		if (sigtimedwait(&w->stopset, NULL, &ts) > 0)
			w->stop = true;
	}
	return w->stop;
}

/* Is nobody writing the open regular file fd? (See the header.) */
static bool
watch_no_writer(int fd)
{
	if (fcntl(fd, F_SETLEASE, F_RDLCK) == -1)
		return errno != EAGAIN; /* EAGAIN: open for writing */
	(void)fcntl(fd, F_SETLEASE, F_UNLCK);
	return true;
}

static bool
watch_ready(struct watch *w, const char *name)
{
	struct timespec now;
	struct stat st;
	int64_t age_ms;
	bool ready;
	int fd;

	if (fstatat(w->dfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
	    !S_ISREG(st.st_mode))
		return false;
	if (clock_gettime(CLOCK_REALTIME, &now) == -1)
		return false;
	age_ms = ((int64_t)now.tv_sec - (int64_t)st.st_ctim.tv_sec) * 1000 +
	    (now.tv_nsec - st.st_ctim.tv_nsec) / 1000000;
	if (age_ms < WATCH_QUIET_MS)
		return false;
	/* O_NONBLOCK: a FIFO swapped in since the stat must not hang us. */
	if ((fd = openat(w->dfd, name,
		 O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) == -1)
		return false;
	ready =
	    fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && watch_no_writer(fd);
	close(fd);
	return ready;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in DIR that may be files to take, sorted; -1 on error. */
static int
watch_list(struct watch *w, char ***names, size_t *n)
{
	struct dirent *de;
	DIR *d;
	int fd;

	*names = NULL;
	*n = 0;
	if ((fd = openat(w->dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1)
		return -1;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' ||
		    (de->d_type != DT_REG && de->d_type != DT_UNKNOWN))
			continue;
		*names = xreallocarray(*names, *n + 1, sizeof(**names));
		(*names)[(*n)++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (*n > 0)
		qsort(*names, *n, sizeof(**names), name_cmp);
	return 0;
}

/* Write failed/DEST.reason (tmp, fsync, rename). */
static int
watch_write_reason(struct watch *w, const char *dest, struct buf *r)
{
	static const char more[] = "... more reasons not kept\n";
	char path[NAME_MAX + 1];
	int fd;

	if (!str_printf(path, sizeof(path), "%s.reason", dest)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = openat(w->failfd, WATCH_REASON_TMP,
		 O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
		 0644)) == -1)
		return -1;
	if (write_all(fd, r->data ? r->data : "", r->len) == -1 ||
	    (r->err && write_all(fd, more, sizeof(more) - 1) == -1) ||
	    fsync(fd) == -1) {
		close(fd);
		(void)unlinkat(w->failfd, WATCH_REASON_TMP, 0);
		return -1;
	}
	if (close(fd) == -1 ||
	    renameat(w->failfd, WATCH_REASON_TMP, w->failfd, path) == -1) {
		(void)unlinkat(w->failfd, WATCH_REASON_TMP, 0);
		return -1;
	}
	return 0;
}

/* Move DIR/src to todir/dst unless dst exists there. */
static int
watch_rename(struct watch *w, const char *src, int todir, const char *dst)
{
	if (renameat2(w->dfd, src, todir, dst, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	/* No RENAME_NOREPLACE on this file system: link refuses too. */
	if (linkat(w->dfd, src, todir, dst, 0) == -1)
		return -1;
	return unlinkat(w->dfd, src, 0);
}

/* Move a committed file to done/ or failed/, under a free name. */
static void
watch_move(struct watch *w, struct taken *t)
{
	bool ok = t->v == WATCH_OK;
	int todir = ok ? w->donefd : w->failfd;
	char dest[NAME_MAX + 1];
	struct stat st;
	unsigned i;

	for (i = 0; i < WATCH_SUFFIX_MAX; i++) {
		if (!(i == 0 ? str_copy(dest, sizeof(dest), t->name)
			     : str_printf(
				   dest, sizeof(dest), "%s.%u", t->name, i)))
			break;
		if (fstatat(todir, dest, &st, AT_SYMLINK_NOFOLLOW) == 0)
			continue;
		if (!ok && watch_write_reason(w, dest, &t->reasons) == -1)
			log_warn("watch: %s/failed/%s.reason", w->dir, dest);
		if (watch_rename(w, t->name, todir, dest) == 0) {
			printf("%s/%s%s%s\n", ok ? "done" : "failed", dest,
			    t->summary[0] ? ": " : "", t->summary);
			fflush(stdout);
			return;
		}
		if (errno != EEXIST)
			break;
	}
	log_warn("watch: cannot move %s/%s to %s/", w->dir, t->name,
	    ok ? "done" : "failed");
}

/*
 * One round: import what is ready (at most WATCH_ROUND_MAX), commit, move.
 * *more is set when ready files were left for the next round. Returns the
 * number of files moved, or -1 when the spool failed.
 */
static int
watch_round(struct watch *w, bool *more)
{
	const struct watch_ops *ops = w->ops;
	struct taken *t = NULL;
	size_t nnames = 0, nt = 0, i;
	char **names;
	bool failed = false;

	*more = false;
	if (watch_list(w, &names, &nnames) == -1) {
		log_warn("watch: read %s", w->dir);
		return 0;
	}
	for (i = 0; i < nnames && !failed && !watch_stopping(w); i++) {
		struct buf path = BUF_INIT(SIZE_MAX);
		struct watch_file f;

		if (!watch_ready(w, names[i]))
			continue;
		if (nt == WATCH_ROUND_MAX) {
			*more = true;
			break;
		}
		if (t == NULL)
			t = xcalloc(WATCH_ROUND_MAX, sizeof(*t));
		t[nt].name = xstrdup(names[i]);
		buf_init(&t[nt].reasons, WATCH_REASONS_MAX);
		buf_printf(&path, "%s/%s", w->dir, names[i]);
		f.path = buf_cstr(&path);
		f.name = names[i];
		f.reasons = &t[nt].reasons;
		f.summary[0] = '\0';
		t[nt].v = ops->import(ops->arg, &f);
		str_copy(t[nt].summary, sizeof(t[nt].summary), f.summary);
		failed = t[nt].v == WATCH_STOP;
		nt++;
		buf_free(&path);
	}
	if (nt > 0 && ops->commit(ops->arg) == -1)
		failed = true;
	if (failed)
		log_warnx("watch: the spool failed; the files stay in %s "
			  "and are taken again later",
		    w->dir);
	for (i = 0; i < nt; i++) {
		if (!failed)
			watch_move(w, &t[i]);
		free(t[i].name);
		buf_free(&t[i].reasons);
	}
	for (i = 0; i < nnames; i++)
		free(names[i]);
	free(names);
	free(t);
	return failed ? -1 : (int)nt;
}

int
watch_run(const char *dir, uint32_t interval_ms, const struct watch_ops *ops)
{
	struct sigaction ign, oldio;
	struct watch w;
	sigset_t oldmask;
	uint64_t pause_ms;
	unsigned fails = 0;
	bool more;

	memset(&w, 0, sizeof(w));
	w.dir = dir;
	w.ops = ops;
	if (watch_open(&w) == -1) {
		watch_close(&w);
		return -1;
	}
	sigemptyset(&w.stopset);
	sigaddset(&w.stopset, SIGTERM);
	sigaddset(&w.stopset, SIGINT);
	sigprocmask(SIG_BLOCK, &w.stopset, &oldmask);
	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	sigaction(SIGIO, &ign, &oldio);
	printf("watching %s\n", dir);
	fflush(stdout);
	for (;;) {
		if (watch_round(&w, &more) == -1) {
			pause_ms = (uint64_t)interval_ms
			    << (fails < 16 ? fails : 16);
			if (pause_ms > WATCH_BACKOFF_MAX_MS)
				pause_ms = WATCH_BACKOFF_MAX_MS;
			fails++;
		} else {
			pause_ms = more ? 0 : interval_ms;
			fails = 0;
		}
		if (watch_stopping(&w) || watch_wait(&w, pause_ms))
			break;
	}
	sigaction(SIGIO, &oldio, NULL);
	sigprocmask(SIG_SETMASK, &oldmask, NULL);
	watch_close(&w);
	return 0;
}
