/*
 * spool.h - the flat-file news spool: the only module that writes under
 * the spool directory. Format: docs/spool.md.
 *
 *   data/active         "group high low flag\n", high/low 10 digits
 *   data/active.times   "group created creator\n"
 *   data/newsgroups     "group\tdescription\n"
 *   data/overview.fmt   the overview fields
 *   data/history        "<msgid>\tarrival\tgroup:num[ group:num...]\n"
 *   articles/a/b/N      article N of group a.b, LF line endings
 *   articles/a/b/.overview  NOV lines, ascending number
 *   .newsgate/          lock, txn journal, indexes, private state
 *
 * Writers: one at a time, serialised by an flock on .newsgate/lock that is
 * held from the first spool_add() of a batch to the end of spool_flush().
 * A batch becomes visible and durable at once when spool_flush() renames
 * data/active; a crash before that is rolled back by the next writer (the
 * journal .newsgate/txn records where every file stood).
 *
 * Readers: any number, in any process; spool_refresh() picks up what
 * other processes committed (cheap: one stat of data/active).
 */
#ifndef NG_SPOOL_H
#define NG_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "article.h"
#include "buf.h"

#define SPOOL_GROUP_MAX 128  /* octets in a group name */
#define SPOOL_XPOST_MAX 16   /* groups one article may be crossposted to */
#define SPOOL_BATCH_MAX 16384 /* articles staged before an implicit flush */

struct spool;

struct spool_group {
	char name[SPOOL_GROUP_MAX + 1];
	uint64_t high;		 /* highest number ever assigned (0: none) */
	uint64_t low;		 /* lowest present; high + 1 when empty */
	char flag;		 /* 'y', 'n', 'm' as in active */
	time_t created;		 /* from active.times; 0 when unknown */
	const char *creator;	 /* from active.times; "" when unknown */
	const char *description; /* from newsgroups; "" when none */
};

/* Where an article lives: its first group and number there. */
struct spool_loc {
	char group[SPOOL_GROUP_MAX + 1];
	uint64_t num;
};

enum spool_mode {
	SPOOL_READ = 0,	 /* never writes; the spool must exist */
	SPOOL_WRITE = 1, /* creates the layout when missing */
};

/*
 * Open dir. hostname is the Xref host and Path identity. Returns NULL with
 * errno set (ENOENT: no spool there, in SPOOL_READ mode).
 */
struct spool *spool_open(
    const char *dir, const char *hostname, enum spool_mode mode);
/* Flushes a pending batch first (writers). Accepts NULL. */
void spool_close(struct spool *sp);

const char *spool_dir(const struct spool *sp);
const char *spool_hostname(const struct spool *sp);

/* RFC 3977 §4.1 group name rules, plus: no "..", no leading or trailing
 * dot, no "/", at most SPOOL_GROUP_MAX octets. */
bool spool_group_name_valid(const char *name);

/* --- groups ------------------------------------------------------------ */

/* Re-read data/active (and its companions) and the history tail if another
 * process changed them. Returns 1 when something changed, 0 when not, -1
 * on error. */
int spool_refresh(struct spool *sp) __attribute__((warn_unused_result));
/* All groups, sorted by name; valid until the next refresh or write. */
const struct spool_group *spool_groups(const struct spool *sp, size_t *n);
const struct spool_group *spool_group(const struct spool *sp, const char *name);
/* Add a group (empty: high 0, low 1). EEXIST when present, EINVAL for a
 * bad name. */
int spool_group_add(struct spool *sp, const char *name, const char *desc,
    char flag, const char *creator) __attribute__((warn_unused_result));
/* Remove a group from active, active.times and newsgroups and delete its
 * article directory (crossposted copies stay in the other groups). */
int spool_group_remove(struct spool *sp, const char *name)
    __attribute__((warn_unused_result));

/* --- writing ----------------------------------------------------------- */

/*
 * Stage one article for the groups given (all must exist; at most
 * SPOOL_XPOST_MAX). Assigns the next number in each group, sets Newsgroups
 * when absent, Xref, Lines when absent, writes the file (hard-linked into
 * every group) and queues its overview and history lines. Takes the writer
 * lock if not held. nums[i] receives the number in groups[i].
 * fingerprint is the content fingerprint (0: none) remembered for dedupe.
 * Returns 0, or -1 with errno (EEXIST: Message-ID already in history;
 * EUCLEAN: data/active is behind the article files, so the next number
 * is a stored article; nothing is overwritten, `newsgate check --rebuild`
 * repairs the marks).
 * Nothing staged is visible or durable until spool_flush().
 */
int spool_add(struct spool *sp, struct article *a, const char *const *groups,
    size_t ngroups, uint64_t fingerprint, uint64_t *nums)
    __attribute__((warn_unused_result));

/*
 * spool_add() in two steps, so that the first can run on another thread:
 * spool_render() touches nothing but a and r (no spool state). It sets
 * Newsgroups (from groups) and Lines when absent, drops any Xref (the
 * writer adds it last, numbered) and renders the rest: the header lines,
 * the empty line and body, the overview fields that do not depend on the
 * numbers. spool_add_rendered() then stages it exactly as spool_add()
 * would have staged a (same checks, same errors). Returns -1 with errno
 * when the article cannot be rendered.
 */
struct spool_rendered {
	struct buf text; /* header lines (Xref excepted), the empty line and
			    the body, the overview fields "\tSubject\tFrom
			    \tDate\tMessage-ID\tReferences", in one piece */
	size_t head;	 /* octets of the header lines */
	size_t body;	 /* octets of the empty line and the body */
	uint64_t lines;	 /* body lines (the overview's Lines) */
};
void spool_rendered_init(struct spool_rendered *r);
void spool_rendered_free(struct spool_rendered *r);
int spool_render(struct article *a, const char *const *groups, size_t ngroups,
    struct spool_rendered *r) __attribute__((warn_unused_result));
int spool_add_rendered(struct spool *sp, const struct spool_rendered *r,
    const char *msgid, const char *const *groups, size_t ngroups,
    uint64_t fingerprint, uint64_t *nums) __attribute__((warn_unused_result));
/* Number of articles staged and not yet flushed. */
size_t spool_pending(const struct spool *sp);
/*
 * Commit every staged article durably (one syncfs for the whole batch,
 * then the rename of data/active), release the writer lock. Returns 0, or
 * -1 with errno; on failure the batch is rolled back and nothing of it is
 * visible.
 */
int spool_flush(struct spool *sp) __attribute__((warn_unused_result));
/*
 * Durability of spool_flush() (newsgate.conf [spool] sync; docs/spool.md).
 * On (the default): a batch is on stable storage when spool_flush()
 * returns 0. Off: the same writes in the same order (journal, files,
 * appends, then the rename of data/active), but no fsync and no syncfs:
 * a committed batch is in the page cache, so a crash of the process
 * (kill -9 included) loses nothing committed and shows nothing half
 * written, while a crash of the machine can lose the batches committed
 * since the last spool_sync() (and roll back with them).
 */
void spool_set_sync(struct spool *sp, bool sync);
/* Sync off: make every commit so far durable (one syncfs) when there was
 * one since the last call. 0, or -1 with errno. spool_close() calls it. */
int spool_sync(struct spool *sp) __attribute__((warn_unused_result));
/* Sync off: has a batch been committed since the last spool_sync()? */
bool spool_unsynced(const struct spool *sp);
/*
 * What one commit changed (the highs, the history lines), for a reader
 * handle of the same spool in the same process to catch up without
 * re-reading data/active and the history tail: a server's writer thread
 * records its commits, its event loop applies them to its own handle.
 * spool_record_commits(wr) makes spool_flush() keep a record of each
 * commit; spool_take_commits() hands over those made since the last call
 * (oldest first, linked by next; NULL when none; the caller frees them
 * with spool_commit_free()). spool_apply_commit(rd, c) returns 1 when rd
 * was exactly as the spool was before c and is now as after it, 0 when
 * it was not (rd is unchanged: spool_refresh() it instead).
 */
struct spool_commit;
void spool_record_commits(struct spool *wr);
struct spool_commit *spool_take_commits(struct spool *wr);
struct spool_commit *spool_commit_next(const struct spool_commit *c);
/* List a, then list b (either may be NULL). */
struct spool_commit *spool_commit_chain(
    struct spool_commit *a, struct spool_commit *b);
int spool_apply_commit(struct spool *rd, const struct spool_commit *c);
void spool_commit_free(struct spool_commit *c);
/* Discard every staged article (rolled back) and release the lock. */
void spool_abort(struct spool *sp);

/* Private derived state under .newsgate/ (threading index, caches):
 * replaced atomically (tmp, fsync, rename). name is a plain file name. */
int spool_private_replace(struct spool *sp, const char *name, const void *data,
    size_t len) __attribute__((warn_unused_result));
/* Read a private file into out; -1 with ENOENT when absent. */
int spool_private_read(struct spool *sp, const char *name, struct buf *out)
    __attribute__((warn_unused_result));

/* --- rewriting thread headers ---------------------------------------- */

/*
 * One article whose References and X-Newsgate-Thread are to be replaced
 * (`newsgate rethread`). The article is named by msgid, or when that is
 * NULL by group and num; every copy of a crosspost changes.
 */
struct spool_relink {
	const char *msgid; /* "<...>", or NULL */
	const char *group; /* with num, when msgid is NULL */
	uint64_t num;
	const char *references; /* new References; NULL or "": none */
	const char *thread;	/* new X-Newsgate-Thread; NULL or "": none */
};

struct spool_relink_stats {
	size_t rewritten; /* articles whose files changed */
	size_t unchanged; /* already as asked */
	size_t missing;	  /* not in the spool (expired, never stored) */
	size_t refused;	  /* References of their own (no
			     X-Newsgate-Thread): never changed */
};

typedef void (*spool_progress_fn)(void *arg, size_t done, size_t total);

/*
 * Replace the thread headers of n articles, in batches of at most
 * SPOOL_BATCH_MAX, each under the writer lock and atomic for readers: an
 * article file is replaced by rename (in every group at once, one file
 * again), then each group's .overview (References, Bytes) and its index.
 * The new fields are rendered as import renders them, before the Lines
 * and Xref the spool set; body, numbers, Xref and Lines never change.
 * Articles with References but no X-Newsgate-Thread are never touched.
 * A crash is finished by the next writer (the journal is a redo log;
 * docs/spool.md). Values must hold no TAB, CR or LF and at most 4096
 * octets (EINVAL). progress (may be NULL) is called after each batch.
 * Returns 0, or -1 with errno.
 */
int spool_relink(struct spool *sp, const struct spool_relink *req, size_t n,
    struct spool_relink_stats *stats, spool_progress_fn progress, void *arg)
    __attribute__((warn_unused_result));

/* --- reading ----------------------------------------------------------- */

/* Is this Message-ID in history (committed or staged)? */
bool spool_has_msgid(struct spool *sp, const char *msgid);
/* Has an article with this content fingerprint been stored? */
bool spool_has_fingerprint(struct spool *sp, uint64_t fp);
/* Location of a Message-ID: 0, or -1 (ENOENT). */
int spool_lookup(struct spool *sp, const char *msgid, struct spool_loc *loc)
    __attribute__((warn_unused_result));

/* Open article num of group for reading: an fd, or -1 (ENOENT when the
 * number is not there). The name is validated. */
int spool_article_open(struct spool *sp, const char *group, uint64_t num);
/* Read a whole article into out (bounded by out->max). */
int spool_article_read(struct spool *sp, const char *group, uint64_t num,
    struct buf *out) __attribute__((warn_unused_result));

/*
 * Overview lines of group with lo <= number <= hi, ascending, found through
 * the per-group index (no scan of the group). cb gets each line without
 * its LF (fields as in data/overview.fmt, Xref last); it returns 0 to go
 * on, 1 to stop early (the caller resumes later from num + 1), -1 on
 * error. Returns 0, 1 (stopped by cb) or -1.
 */
typedef int (*spool_over_fn)(
    void *arg, uint64_t num, const char *line, size_t len);
int spool_over(struct spool *sp, const char *group, uint64_t lo, uint64_t hi,
    spool_over_fn cb, void *arg) __attribute__((warn_unused_result));

/* Overview line of one article (by group and number): 0, or -1. */
int spool_over_one(struct spool *sp, const char *group, uint64_t num,
    struct buf *line) __attribute__((warn_unused_result));

/* History entries that arrived at or after since, in arrival order. */
struct spool_hist {
	const char *msgid; /* "<...>" */
	time_t arrival;
	const char *location; /* "group:num[ group:num...]" */
};
typedef int (*spool_hist_fn)(void *arg, const struct spool_hist *h);
int spool_history_since(struct spool *sp, time_t since, spool_hist_fn cb,
    void *arg) __attribute__((warn_unused_result));

/* --- checking ---------------------------------------------------------- */

/*
 * Verify every invariant (active vs files vs overview vs history, crosspost
 * link counts, sorted overview, no stray temporary files); report each
 * problem as one line through report. With rebuild, regenerate overview,
 * history, indexes and active counts from the article files (numbers never
 * change). Returns the number of problems found (before repair), -1 on
 * error.
 */
typedef void (*spool_report_fn)(void *arg, const char *problem);
int spool_check(
    struct spool *sp, bool rebuild, spool_report_fn report, void *arg);

#endif
