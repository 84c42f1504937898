/*
 * pipeline.h - the one path every article takes into the spool, whatever
 * its source: parse -> normalise -> route -> dedupe -> thread -> commit.
 * Imports (cli_import.c) and, later, POST and IHAVE feed it; there is no
 * second write path.
 *
 * SECURITY: messages handed to pipeline_message() are attacker-controlled
 * (POST, IHAVE, imported files); they are bounded by the caller's size
 * limit and parsed by article_parse() (see article.h).
 */
#ifndef NG_PIPELINE_H
#define NG_PIPELINE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"
#include "config.h"
#include "source.h"
#include "spool.h"

#define PIPELINE_BATCH 16000	 /* articles per group commit (fewer, larger
				    commits: docs/performance.md) */
#define PIPELINE_BATCH_MS 1000	 /* oldest staged article waits at most */

enum pipeline_origin {
	PIPE_IMPORT, /* newsgate import */
	PIPE_POST,   /* NNTP POST, checked by the caller (cmd_post.c) */
	PIPE_PEER,   /* NNTP IHAVE / TAKETHIS */
};

enum pipeline_result {
	PIPE_STAGED,	/* accepted; durable after the next flush */
	PIPE_DUPLICATE, /* Message-ID or content already stored */
	PIPE_REJECTED,	/* malformed; why says how */
	PIPE_UNROUTED,	/* matches no group and there is no catch-all */
	PIPE_FAILED,	/* the spool failed (disk full...); why says how */
};

/* Called once per article after the batch holding it is durable. */
typedef void (*pipeline_commit_fn)(void *arg, const char *msgid,
    const char *xref);

struct pipeline_stats {
	uint64_t staged;     /* accepted, including not yet flushed */
	uint64_t committed;  /* durable */
	uint64_t duplicates;
	uint64_t rejected;
	uint64_t unrouted;
	uint64_t threaded;   /* linked to an earlier article by similarity */
};

struct pipeline;

/*
 * A pipeline writing into sp (opened SPOOL_WRITE) with configuration c
 * (both must outlive it). force_group (may be NULL) bypasses routing; it
 * is created when missing. Returns NULL with a message on stderr when the
 * forced group name is invalid or cannot be created.
 */
struct pipeline *pipeline_new(const struct config *c, struct spool *sp,
    const char *force_group);
/* Flushes what is staged (see pipeline_flush), then frees. Accepts NULL. */
void pipeline_free(struct pipeline *p);

/*
 * Thread in a second thread (when threading is on): the caller's thread
 * dedupes and stores while a worker threads the articles in the same
 * order, so the result is the same as without it; a full batch commits
 * while the worker goes on (a third thread starts the writeback early).
 * For bulk imports: an article's result is then known only when it is
 * stored, so a PIPE_FAILED may concern an article submitted earlier (why
 * names its Message-ID).
 */
void pipeline_parallel(struct pipeline *p);

void pipeline_on_commit(struct pipeline *p, pipeline_commit_fn fn,
    void *arg);

/* A source item (scraped text, JSON Lines). fallback_date: file mtime. */
enum pipeline_result pipeline_item(struct pipeline *p, const struct item *it,
    time_t fallback_date, struct buf *why);

/*
 * pipeline_item() in two steps, for a reader in another thread: the first
 * routes and normalises and reads only the configuration (safe in any
 * thread while the pipeline is used elsewhere); the second, in the
 * pipeline's thread, counts, dedupes, threads and stages it, and frees pp.
 */
struct pipeline_prep;
struct pipeline_prep *pipeline_prepare_item(struct pipeline *p,
    const struct item *it, time_t fallback_date);
enum pipeline_result pipeline_stage_prepared(struct pipeline *p,
    struct pipeline_prep *pp, struct buf *why);
void pipeline_prep_free(struct pipeline_prep *pp);

/*
 * An RFC 5322 / Netnews message. msgid (at least 256 bytes, may be NULL)
 * receives its Message-ID when staged or a duplicate.
 */
enum pipeline_result pipeline_message(struct pipeline *p, const char *data,
    size_t len, time_t fallback_date, enum pipeline_origin origin,
    struct buf *why, char *msgid);

/*
 * pipeline_message() of an article parsed already (POST: the event loop
 * parsed and checked it; the writer thread need not parse it again). a is
 * consumed. It must have a Message-ID (pipeline_message() makes one).
 * terms: pipeline_prescan() of a, or NULL (cut here, if threading is on).
 */
struct article;
struct thread_terms;
enum pipeline_result pipeline_article(struct pipeline *p, struct article *a,
    time_t fallback_date, enum pipeline_origin origin,
    const struct thread_terms *terms, struct buf *why, char *msgid);

/*
 * The terms a's title and text give for threading, cut with tk (a
 * tokeniser of the calling thread's own), for pipeline_article() on
 * another thread: the event loop cuts a posted article's terms, so that
 * the writer thread only weighs them. Never fails; free with
 * thread_terms_free().
 */
struct terms;
struct thread_terms *pipeline_prescan(struct terms *tk, const struct article *a);

/* Commit what is staged: 0, or -1 (the batch is rolled back). */
int pipeline_flush(struct pipeline *p) __attribute__((warn_unused_result));

const struct pipeline_stats *pipeline_stats(const struct pipeline *p);

#endif
