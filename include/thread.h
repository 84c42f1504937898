/*
 * thread.h - threads by similarity: for each incoming article, find the
 * most similar earlier article about the same story and make the new one
 * a follow-up of it (docs/threading.md).
 *
 * A threader sees articles in arrival order and keeps, for the threads
 * that are still live (their articles within thread_conf.window_s of the
 * article being added, by article date), a centroid of TF-IDF term
 * vectors, an inverted index from terms to live threads and the members'
 * vectors. Document frequencies are kept over every article ever added.
 * An article joins the live thread with the best score (centroid and
 * closest-member cosines) when it reaches the threshold, which rises with
 * the length of the article; the parent is the closest member. Threads
 * that fall out of the window are forgotten, so memory and time per
 * article stay flat as the spool grows.
 *
 * Deterministic: the same articles in the same order, with the same
 * configuration, give the same links, also across thread_save() and
 * thread_load() at any point.
 *
 * SECURITY: titles, texts and References are attacker-controlled. Each
 * article contributes at most thread_conf.max_terms terms from at most
 * TERMS_SCAN_MAX octets of text; References are parsed with a bounded
 * number of ids; saved state is checked before it is trusted.
 */
#ifndef NG_THREAD_H
#define NG_THREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "buf.h"
#include "config.h"

#define THREAD_REFS_MAX 21		  /* ids in a References we build */
#define THREAD_REFS_OCTETS 900		  /* octets in a References we build */
#define THREAD_STATE_FILE "threads.state" /* under spool/.newsgate/ */

struct threader;

/* One article to thread. Strings are only read during thread_add(). */
struct thread_item {
	const char *msgid;	/* "<...>", required, unique */
	const char *title;	/* decoded Subject (UTF-8), or NULL */
	const char *text;	/* body text (UTF-8), or NULL */
	size_t text_len;	/* octets of text */
	time_t date;		/* article date (seconds, UTC) */
	const char *references; /* the article's own References, or NULL */
	bool no_similar;	/* never link it by similarity (a post when
				   thread_conf.posts is off): it starts a
				   thread, later articles may follow it */
	const struct thread_terms *terms; /* thread_prescan() of this title
					     and text, or NULL */
};

enum thread_how {
	THREAD_NEW,	/* starts a thread of its own */
	THREAD_SIMILAR, /* follows up its most similar earlier article */
	THREAD_REFS,	/* follows its own References */
};

/* Where an article went. Pointers stay valid until the next call that
 * changes the threader (thread_add, thread_load, thread_free). */
struct thread_link {
	enum thread_how how;
	const char *parent;  /* Message-ID of the parent; NULL for THREAD_NEW */
	const char *root;    /* Message-ID of the thread root (the article
				itself for THREAD_NEW) */
	double score;	     /* THREAD_SIMILAR: the score that chose the
				thread, at least the article's threshold,
				at most 1; THREAD_NEW: the best score
				found, below it (0: no candidate);
				THREAD_REFS: 0. Never NaN. */
	const char *nearest; /* THREAD_NEW: the most similar article found
				(below the threshold), or NULL */
};

/*
 * The stateless half of thread_add(): a title and text cut into terms
 * (tokenised, stemmed), by another thread with a tokeniser of its own
 * (terms_new("english")), so that the threader's thread only weighs them.
 * thread_add() of an item with these terms gives exactly what it gives for
 * the same title and text without them. Never fails.
 */
struct thread_terms;
struct terms;
struct thread_terms *thread_prescan(
    struct terms *tk, const char *title, const char *text, size_t text_len);
void thread_terms_free(struct thread_terms *tt);

/* A threader with the given settings (copied). Never fails. */
struct threader *thread_new(const struct thread_conf *tc);
void thread_free(struct threader *t);

/* The defaults tuned on the corpora (docs/threading.md). */
void thread_conf_default(struct thread_conf *tc);

/*
 * Thread one article. An article with References joins the thread of its
 * nearest known ancestor (else a thread rooted at its first reference)
 * and keeps them; any other article joins the live thread it is most
 * similar to, when the score reaches the threshold, or starts a thread.
 * The caller then gives a THREAD_SIMILAR article the References of
 * thread_references(t, out->parent). Returns 0, or -1 with errno EINVAL
 * (no Message-ID, or one over 250 octets) or EEXIST (already added; *out
 * is then where it went before).
 */
int thread_add(struct threader *t, const struct thread_item *it,
    struct thread_link *out) __attribute__((warn_unused_result));

/*
 * The References header for a follow-up of msgid (an article added
 * earlier and still live): msgid's own References plus msgid, shortened as
 * RFC 5537 §3.4.4 allows (the first id and the most recent ones kept,
 * within THREAD_REFS_MAX ids and THREAD_REFS_OCTETS octets). Appends to
 * out; returns 0, or -1 (ENOENT) when msgid is not known.
 */
int thread_references(struct threader *t, const char *msgid, struct buf *out)
    __attribute__((warn_unused_result));

/* Articles and threads currently live, and bytes of memory held
 * (counted with malloc's overhead per block). */
struct thread_stats {
	size_t articles;      /* articles added in all */
	size_t live_articles; /* articles in live threads */
	size_t live_threads;
	size_t terms;	    /* distinct terms with a document frequency */
	size_t index_bytes; /* heap held for the live threads and articles:
			       vectors, centroids, postings, Message-IDs */
	size_t vocab_bytes; /* heap held for the terms: document
			       frequencies over every article ever added */
};
void thread_stats(const struct threader *t, struct thread_stats *st);

/*
 * The whole state as bytes (appended to out), and back. thread_load()
 * replaces the state of t (made with the same or a compatible
 * configuration); on damaged or foreign data it returns -1 (EINVAL) and t
 * is left empty, as from thread_new(): rebuild by adding the articles.
 */
void thread_save(const struct threader *t, struct buf *out);
int thread_load(struct threader *t, const void *data, size_t len)
    __attribute__((warn_unused_result));

/*
 * Tuning hook for tests/bench/thread_eval.c: set one of the internal
 * weights by name. Returns -1 for an unknown name. Not for newsgate
 * itself: its settings come from thread_conf.
 */
int thread_tune_set(struct threader *t, const char *name, double v);

#endif
