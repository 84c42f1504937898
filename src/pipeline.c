/*
 * pipeline.c - parse -> normalise -> route -> dedupe -> thread -> commit,
 * for every article whatever its source (see pipeline.h). It decides what
 * goes in; only spool.c writes it.
 *
 * Never writes a file itself, never logs a client's mistake (it returns
 * the reason), never lets an article past without a valid Message-ID,
 * From, Subject, Date and Newsgroups.
 */
#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include "common.h"
#include "article.h"
#include "normalise.h"
#include "pipeline.h"
#include "queue.h"
#include "route.h"
#include "thread.h"

/* How often a long import saves the threading state (THREAD_STATE_FILE:
 * derived, rethread rebuilds it). */
#define PIPELINE_THREAD_SAVE_MS 10000

/* Articles handed to the threading worker and not yet threaded: room
 * for what it threads on while this thread commits a batch. */
#define PIPELINE_INFLIGHT 1024
#define PIPELINE_INFLIGHT_BUCKETS 1024 /* in-flight Message-ID index */
#define PIPELINE_HANDOVER 32	       /* jobs handed over at once */
#define PIPELINE_KICK 1000	       /* stored articles between early syncs */

/*
 * An article between dedupe and the spool, in parallel mode: the main
 * thread fills it, the worker threads it (thread_add, References), the
 * main thread stores it. Owns everything it points to.
 */
struct job {
	struct qnode q;	   /* first: in the in or out queue */
	struct job *hnext; /* in the in-flight Message-ID bucket */
	struct article *a;
	char *msgid;	   /* a's Message-ID (dedupe of in-flight ones) */
	char *title;
	char *text;
	uint64_t fp;
	bool no_similar;
	bool threaded; /* set by the worker: linked by similarity */
	bool rendered; /* set by the worker: r holds the article */
	struct spool_rendered r;
	size_t ngroups;
	char groups[SPOOL_XPOST_MAX][SPOOL_GROUP_MAX + 1];
};

/* Message-IDs staged in the current batch, reported at commit. */
struct staged {
	char *msgid; /* owned */
	char *xref;  /* owned: "group:num[ group:num...]" */
};

struct pipeline {
	const struct config *c;
	struct spool *sp;
	char *force_group;	/* owned, or NULL */
	pipeline_commit_fn on_commit;
	void *on_commit_arg;
	struct staged *staged;	/* this batch, in order */
	size_t nstaged;
	size_t capstaged;
	uint64_t batch_start_ms; /* when the first of the batch was staged */
	uint64_t *fps;		/* fingerprints staged this batch (open
				   addressing, 0 = empty), cap fpcap */
	size_t fpcap;
	size_t nfps;
	size_t *fpslot;		/* the nfps slots of fps in use, so that a
				   small batch clears only those */
	struct pipeline_stats st;
	struct threader *thr;	/* NULL when threading is off */
	const struct thread_terms *terms; /* the article pipeline_article()
					     stages, cut already, or NULL */
	bool thr_dirty;		/* articles added since the last save */
	uint64_t thr_saved_ms;	/* now_ms() of the last save */
	/* Group names parsed from a Newsgroups header (scratch). */
	char names[SPOOL_XPOST_MAX][SPOOL_GROUP_MAX + 1];
	/*
	 * Parallel mode (pipeline_parallel): a worker thread does the
	 * threading while this thread dedupes and stores. Only the worker
	 * touches thr while jobs are in flight.
	 */
	bool parallel;
	pthread_t worker;
	struct queue in;    /* jobs to thread, in order (bounded) */
	struct queue out;   /* jobs threaded, in the same order */
	struct qlist pend;  /* submitted, not yet handed over */
	struct qlist ready; /* threaded, taken from out, not yet stored */
	size_t ninflight;   /* submitted and not yet stored */
	struct job *inflight[PIPELINE_INFLIGHT_BUCKETS];
	/* Early writeback: a thread that syncs the file system while the
	 * batch is still being written, so that its commit waits less. */
	pthread_t flusher;
	struct queue kicks; /* one element: a sync is wanted */
	struct qnode kick;
	bool flusher_up;
	int fsfd;	    /* the spool directory, for syncfs */
	size_t since_kick;
	bool store_failed;  /* a stored job failed: why in store_why */
	struct buf store_why;
};

struct pipeline *
pipeline_new(const struct config *c, struct spool *sp,
    const char *force_group)
{
	struct pipeline *p;

	if (force_group != NULL) {
		if (!spool_group_name_valid(force_group)) {
			fprintf(stderr, "newsgate: invalid group name: %s\n",
			    force_group);
			return NULL;
		}
		if (spool_group(sp, force_group) == NULL &&
		    spool_group_add(sp, force_group, "", 'y', "newsgate") ==
			-1 &&
		    errno != EEXIST) {
			fprintf(stderr, "newsgate: add group %s: %s\n",
			    force_group, strerror(errno));
			return NULL;
		}
	}
	p = xcalloc(1, sizeof(*p));
	p->c = c;
	p->sp = sp;
	p->force_group = force_group ? xstrdup(force_group) : NULL;
	p->fpcap = 4 * PIPELINE_BATCH;
	p->fps = xcalloc(p->fpcap, sizeof(*p->fps));
	p->fpslot = xcalloc(p->fpcap / 2, sizeof(*p->fpslot));
	if (c->threading.enabled) {
		struct buf st = BUF_INIT((size_t)1 << 31);

		p->thr = thread_new(&c->threading);
		if (spool_private_read(sp, THREAD_STATE_FILE, &st) == 0 &&
		    thread_load(p->thr, st.data, st.len) == -1)
			log_warnx("pipeline: threading state is damaged; "
				  "newsgate rethread rebuilds it");
		buf_free(&st);
		p->thr_saved_ms = now_ms();
	}
	return p;
}

/* Save the threading state (after a commit, so it never names articles
 * that are not in the spool). A failure only costs links to articles
 * added since the last save; rethread rebuilds the state. */
static void
thread_state_save(struct pipeline *p)
{
	struct buf st = BUF_INIT(SIZE_MAX);

	if (p->thr == NULL || !p->thr_dirty)
		return;
	thread_save(p->thr, &st);
	if (spool_private_replace(p->sp, THREAD_STATE_FILE, st.data,
		st.len) == 0) {
		p->thr_dirty = false;
		p->thr_saved_ms = now_ms();
	}
	buf_free(&st);
}

static bool fp_seen(struct pipeline *p, uint64_t fp, bool insert);

static void
staged_clear(struct pipeline *p)
{
	struct job *j;
	size_t i;

	for (i = 0; i < p->nstaged; i++) {
		free(p->staged[i].msgid);
		free(p->staged[i].xref);
	}
	p->nstaged = 0;
	for (i = 0; i < p->nfps; i++)
		p->fps[p->fpslot[i]] = 0;
	p->nfps = 0;
	/* Articles in flight are not in the spool yet: keep theirs. */
	for (i = 0; p->ninflight > 0 && i < PIPELINE_INFLIGHT_BUCKETS; i++)
		for (j = p->inflight[i]; j != NULL; j = j->hnext)
			fp_seen(p, j->fp, true);
}

static void pipeline_collect(struct pipeline *p, bool wait);
static void pipeline_parallel_end(struct pipeline *p);

void
pipeline_free(struct pipeline *p)
{
	if (p == NULL)
		return;
	if (pipeline_flush(p) == -1)
		log_warn("pipeline: final commit");
	pipeline_parallel_end(p);
	thread_state_save(p);
	thread_free(p->thr);
	staged_clear(p);
	free(p->staged);
	free(p->fps);
	free(p->fpslot);
	free(p->force_group);
	free(p);
}

void
pipeline_on_commit(struct pipeline *p, pipeline_commit_fn fn, void *arg)
{
	p->on_commit = fn;
	p->on_commit_arg = arg;
}

const struct pipeline_stats *
pipeline_stats(const struct pipeline *p)
{
	return &p->st;
}

/*
 * Commit what is staged. In parallel mode articles may still be in flight
 * (threaded, not yet staged): they go into the next batch. The threading
 * state is saved only when none is, so that it never names an article
 * that is not in the spool.
 */
static int
pipeline_commit(struct pipeline *p)
{
	size_t i;

	if (spool_pending(p->sp) == 0 && p->nstaged == 0)
		return 0;
	if (spool_flush(p->sp) == -1) {
		/* The spool rolled the batch back: none of it is stored. */
		p->st.staged -= p->nstaged;
		p->st.rejected += p->nstaged;
		staged_clear(p);
		return -1;
	}
	if (p->ninflight == 0 &&
	    now_ms() - p->thr_saved_ms >= PIPELINE_THREAD_SAVE_MS)
		thread_state_save(p);
	for (i = 0; i < p->nstaged; i++) {
		p->st.committed++;
		if (p->on_commit)
			p->on_commit(p->on_commit_arg, p->staged[i].msgid,
			    p->staged[i].xref);
	}
	staged_clear(p);
	return 0;
}

int
pipeline_flush(struct pipeline *p)
{
	/* Parallel mode: every article submitted is stored first. */
	if (p->parallel)
		pipeline_collect(p, true);
	return pipeline_commit(p);
}

/* Fingerprints staged in this batch (the spool knows the committed). */
static bool
fp_seen(struct pipeline *p, uint64_t fp, bool insert)
{
	size_t i = (size_t)(fp % p->fpcap);

	if (fp == 0)
		return false;
	while (p->fps[i] != 0) {
		if (p->fps[i] == fp)
			return true;
		i = (i + 1) % p->fpcap;
	}
	if (insert && p->nfps < p->fpcap / 2) {
		p->fps[i] = fp;
		p->fpslot[p->nfps++] = i;
	}
	return false;
}

/* Does the Newsgroups header name groups we carry? Fills out[]. */
static size_t
groups_from_header(struct pipeline *p, const char *ng, const char **out,
    char names[][SPOOL_GROUP_MAX + 1], size_t max)
{
	size_t n = 0, len;
	const char *s = ng, *e;

	while (*s && n < max) {
		while (*s == ',' || *s == ' ' || *s == '\t')
			s++;
		e = s;
		while (*e && *e != ',' && *e != ' ' && *e != '\t')
			e++;
		len = (size_t)(e - s);
		if (len > 0 && len <= SPOOL_GROUP_MAX) {
			memcpy(names[n], s, len);
			names[n][len] = '\0';
			if (spool_group(p->sp, names[n]) != NULL) {
				size_t i;

				for (i = 0; i < n; i++)
					if (!strcmp(out[i], names[n]))
						break;
				if (i == n) {
					out[n] = names[n];
					n++;
				}
			}
		}
		s = e;
	}
	return n;
}

/*
 * Threading of one article: an article with References keeps them (and
 * joins its parent's thread); any other gets References to its most
 * similar earlier article, and X-Newsgate-Thread naming the thread root
 * and the score, so a reader can see why (docs/threading.md). Returns
 * whether it linked the article by similarity. Touches only p->thr and
 * p->thr_dirty (the worker calls it in parallel mode).
 */
static bool
pipeline_thread(struct pipeline *p, struct article *a, const char *title,
    const char *text, bool no_similar, const struct thread_terms *terms)
{
	struct thread_item it = {0};
	struct thread_link l;
	struct buf refs = BUF_INIT(THREAD_REFS_OCTETS + 1024);
	struct buf hdr = BUF_INIT(2048);
	const char *d;
	bool linked = false;

	if (p->thr == NULL)
		return false;
	it.msgid = article_get(a, "Message-ID");
	it.title = title;
	it.text = text;
	it.text_len = text ? strlen(text) : 0;
	it.terms = terms;
	d = article_get(a, "Date");
	if (d == NULL || (it.date = article_parse_date(d)) == (time_t)-1)
		it.date = time(NULL);
	it.references = article_get(a, "References");
	it.no_similar = no_similar;
	if (thread_add(p->thr, &it, &l) == -1)
		return false;
	p->thr_dirty = true;
	if (l.how == THREAD_SIMILAR &&
	    thread_references(p->thr, l.parent, &refs) == 0 && !refs.err) {
		buf_printf(&hdr, "%s score=%.2f", l.root, l.score);
		if (!hdr.err) {
			article_set(a, "References", buf_cstr(&refs));
			article_set(a, "X-Newsgate-Thread", buf_cstr(&hdr));
			linked = true;
		}
	}
	buf_free(&refs);
	buf_free(&hdr);
	return linked;
}

/* Is this Message-ID or content already stored, staged or in flight? */
static bool
pipeline_is_duplicate(struct pipeline *p, const char *msgid, uint64_t fp,
    bool content_dedupe, struct buf *why)
{
	struct job *j;

	if (spool_has_msgid(p->sp, msgid)) {
		buf_printf(why, "Duplicate Message-ID %s", msgid);
		return true;
	}
	for (j = p->inflight[hash64(msgid, strlen(msgid), 0) %
		 PIPELINE_INFLIGHT_BUCKETS];
	     j != NULL; j = j->hnext)
		if (strcmp(j->msgid, msgid) == 0) {
			buf_printf(why, "Duplicate Message-ID %s", msgid);
			return true;
		}
	if (content_dedupe &&
	    (spool_has_fingerprint(p->sp, fp) || fp_seen(p, fp, false))) {
		buf_printf(why, "Duplicate content (same title and text as "
				"an article already stored)");
		return true;
	}
	return false;
}

/* Store a deduped, threaded article, rendered (r) or not (NULL); commit
 * when the batch is full (unless in parallel mode, where pipeline_submit
 * decides). a is consumed. */
static enum pipeline_result
pipeline_store(struct pipeline *p, struct article *a,
    const struct spool_rendered *r, const char **groups, size_t ngroups,
    uint64_t fp, struct buf *why)
{
	const char *msgid = article_get(a, "Message-ID");
	uint64_t nums[SPOOL_XPOST_MAX];
	struct buf xref = BUF_INIT(SIZE_MAX);
	struct staged *s;
	size_t i;

	if ((r != NULL ? spool_add_rendered(p->sp, r, msgid, groups, ngroups,
			     fp, nums)
		       : spool_add(p->sp, a, groups, ngroups, fp, nums)) ==
	    -1) {
		if (errno == EEXIST) {
			buf_printf(why, "Duplicate Message-ID %s", msgid);
			article_free(a);
			p->st.duplicates++;
			return PIPE_DUPLICATE;
		}
		buf_printf(why, "cannot store article %s: %s", msgid,
		    strerror(errno));
		article_free(a);
		return PIPE_FAILED;
	}
	fp_seen(p, fp, true);
	for (i = 0; i < ngroups; i++) {
		if (i)
			buf_putc(&xref, ' ');
		buf_puts(&xref, groups[i]);
		buf_putc(&xref, ':');
		buf_put_u64(&xref, nums[i]);
	}
	if (p->nstaged == p->capstaged) {
		p->capstaged = p->capstaged ? 2 * p->capstaged : 64;
		p->staged = xreallocarray(p->staged, p->capstaged,
		    sizeof(*p->staged));
	}
	s = &p->staged[p->nstaged++];
	s->msgid = xstrdup(msgid);
	s->xref = buf_steal(&xref);
	article_free(a);
	p->st.staged++;
	if (p->nstaged == 1)
		p->batch_start_ms = now_ms();
	if (!p->parallel && (p->nstaged >= PIPELINE_BATCH ||
				now_ms() - p->batch_start_ms >=
				    PIPELINE_BATCH_MS)) {
		if (pipeline_flush(p) == -1) {
			buf_printf(why, "commit failed: %s", strerror(errno));
			return PIPE_FAILED;
		}
	}
	return PIPE_STAGED;
}

/* --- parallel mode ---------------------------------------------------- */

static void
job_free(struct job *j)
{
	spool_rendered_free(&j->r);
	article_free(j->a);
	free(j->msgid);
	free(j->title);
	free(j->text);
	free(j);
}

static void *
pipeline_worker(void *arg)
{
	struct pipeline *p = arg;
	struct qlist l;
	struct qnode *n;

	pthread_setname_np(pthread_self(), "newsgate-thread");
	while (queue_pop_all(&p->in, &l, true) > 0) {
		for (n = l.head; n != NULL; n = n->next) {
			struct job *j = (struct job *)n;
			const char *groups[SPOOL_XPOST_MAX];
			size_t k;

			j->threaded = pipeline_thread(
			    p, j->a, j->title, j->text, j->no_similar, NULL);
			/* Render here too, so that the main thread only
			 * numbers and writes it (spool_add_rendered). */
			for (k = 0; k < j->ngroups; k++)
				groups[k] = j->groups[k];
			j->rendered = spool_render(
			    j->a, groups, j->ngroups, &j->r) == 0;
		}
		(void)queue_push(&p->out, &l);
	}
	return NULL;
}

static void *
pipeline_flusher(void *arg)
{
	struct pipeline *p = arg;
	struct qlist l;

	pthread_setname_np(pthread_self(), "newsgate-sync");
	while (queue_pop_all(&p->kicks, &l, true) > 0)
		(void)syncfs(p->fsfd);
	return NULL;
}

/* Ask the flusher for a sync of the file system, unless one is queued. */
static void
pipeline_kick(struct pipeline *p)
{
	struct qlist l = {0};

	if (!p->flusher_up || ++p->since_kick < PIPELINE_KICK)
		return;
	p->since_kick = 0;
	/* One kick node: queue it only when the flusher has taken it (only
	 * this thread pushes, so it cannot be queued meanwhile). */
	if (queue_len(&p->kicks) == 0) {
		qlist_add(&l, &p->kick);
		(void)queue_push(&p->kicks, &l);
	}
}

/* Unlink a job from the in-flight Message-ID index. */
static void
inflight_remove(struct pipeline *p, struct job *j)
{
	struct job **pp = &p->inflight[hash64(j->msgid, strlen(j->msgid), 0) %
	    PIPELINE_INFLIGHT_BUCKETS];

	while (*pp != j)
		pp = &(*pp)->hnext;
	*pp = j->hnext;
}

/* Store one job the worker finished. A failure is kept in store_why for
 * the caller to report. */
static void
pipeline_store_job(struct pipeline *p, struct job *j, struct buf *why)
{
	const char *groups[SPOOL_XPOST_MAX];
	size_t k;

	inflight_remove(p, j);
	p->ninflight--;
	for (k = 0; k < j->ngroups; k++)
		groups[k] = j->groups[k];
	if (j->threaded)
		p->st.threaded++;
	buf_reset(why);
	switch (pipeline_store(p, j->a, j->rendered ? &j->r : NULL, groups,
	    j->ngroups, j->fp, why)) {
	case PIPE_STAGED:
	case PIPE_DUPLICATE:
		break;
	default:
		if (!p->store_failed) {
			buf_reset(&p->store_why);
			buf_puts(&p->store_why, buf_cstr(why));
		}
		p->store_failed = true;
		break;
	}
	j->a = NULL;
	job_free(j);
	pipeline_kick(p);
}

/*
 * Store the jobs the worker finished, in order. Without wait, stops at a
 * full batch (the caller commits it) and when nothing more is finished;
 * with wait, commits full batches itself and goes on until nothing is in
 * flight.
 */
static void
pipeline_collect(struct pipeline *p, bool wait)
{
	struct buf why = BUF_INIT(4096);
	struct qnode *n;

	if (wait)
		(void)queue_push(&p->in, &p->pend);
	for (;;) {
		if (p->ready.head == NULL &&
		    (p->ninflight == 0 ||
			queue_pop_all(&p->out, &p->ready, wait) == 0))
			break;
		while ((n = p->ready.head) != NULL) {
			if (p->nstaged >= PIPELINE_BATCH) {
				if (!wait)
					goto out;
				if (pipeline_commit(p) == -1 &&
				    !p->store_failed) {
					p->store_failed = true;
					buf_reset(&p->store_why);
					buf_printf(&p->store_why,
					    "commit failed: %s",
					    strerror(errno));
				}
			}
			if ((p->ready.head = n->next) == NULL)
				p->ready.tail = NULL;
			p->ready.n--;
			pipeline_store_job(p, (struct job *)n, &why);
		}
	}
out:
	buf_free(&why);
}

/* Hand a deduped article to the worker, then store what it finished. */
static enum pipeline_result
pipeline_submit(struct pipeline *p, struct article *a, const char **groups,
    size_t ngroups, uint64_t fp, bool no_similar, const char *title,
    const char *text, char **owned, struct buf *why)
{
	struct job *j = xcalloc(1, sizeof(*j));
	size_t k, b;

	spool_rendered_init(&j->r);
	j->a = a;
	j->msgid = xstrdup(article_get(a, "Message-ID"));
	if (owned != NULL) { /* the caller's copies: take them */
		j->title = owned[0];
		j->text = owned[1];
		owned[0] = owned[1] = NULL;
	} else {
		j->title = xstrdup(title ? title : "");
		j->text = xstrdup(text ? text : "");
	}
	j->fp = fp;
	j->no_similar = no_similar;
	j->ngroups = ngroups;
	for (k = 0; k < ngroups; k++)
		(void)str_copy(j->groups[k], sizeof(j->groups[k]), groups[k]);
	b = hash64(j->msgid, strlen(j->msgid), 0) % PIPELINE_INFLIGHT_BUCKETS;
	j->hnext = p->inflight[b];
	p->inflight[b] = j;
	fp_seen(p, fp, true);
	p->ninflight++;
	qlist_add(&p->pend, &j->q);
	if (p->pend.n >= PIPELINE_HANDOVER) {
		(void)queue_push(&p->in, &p->pend);
		pipeline_collect(p, false);
	}
	/* Commit without waiting for the articles in flight, so that the
	 * worker threads on while the batch is made durable; except every
	 * PIPELINE_THREAD_SAVE_MS, when the state is saved with none. */
	if (p->nstaged >= PIPELINE_BATCH ||
	    (p->nstaged > 0 &&
		now_ms() - p->batch_start_ms >= PIPELINE_BATCH_MS)) {
		int rc = now_ms() - p->thr_saved_ms >= PIPELINE_THREAD_SAVE_MS
		    ? pipeline_flush(p)
		    : pipeline_commit(p);

		if (rc == -1 && !p->store_failed) {
			buf_printf(why, "commit failed: %s", strerror(errno));
			return PIPE_FAILED;
		}
	}
	if (p->store_failed) {
		buf_puts(why, buf_cstr(&p->store_why));
		return PIPE_FAILED;
	}
	return PIPE_STAGED;
}

void
pipeline_parallel(struct pipeline *p)
{
	if (p->parallel || p->thr == NULL)
		return;
	queue_init(&p->in, PIPELINE_INFLIGHT);
	queue_init(&p->out, 0);
	queue_init(&p->kicks, 0);
	buf_init(&p->store_why, 4096);
	if (pthread_create(&p->worker, NULL, pipeline_worker, p) != 0) {
		log_warn("pipeline: cannot start the threading worker");
		queue_fini(&p->in);
		queue_fini(&p->out);
		queue_fini(&p->kicks);
		return;
	}
	p->parallel = true;
	p->fsfd = open(spool_dir(p->sp), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (p->fsfd != -1 &&
	    pthread_create(&p->flusher, NULL, pipeline_flusher, p) == 0)
		p->flusher_up = true;
}

/* Stop the worker (after pipeline_flush: nothing in flight). */
static void
pipeline_parallel_end(struct pipeline *p)
{
	if (!p->parallel)
		return;
	queue_close(&p->in);
	queue_close(&p->kicks);
	pthread_join(p->worker, NULL);
	if (p->flusher_up)
		pthread_join(p->flusher, NULL);
	if (p->fsfd != -1)
		close(p->fsfd);
	queue_fini(&p->in);
	queue_fini(&p->out);
	queue_fini(&p->kicks);
	buf_free(&p->store_why);
	p->parallel = false;
	p->flusher_up = false;
}

/* Dedupe, thread, stage. a is consumed. fp: its article_fingerprint(),
 * or 0 to compute it here. owned (may be NULL): heap copies {title, text}
 * that parallel mode takes instead of copying them (the pointers it took
 * are set to NULL; the caller frees what is left). */
static enum pipeline_result
pipeline_stage(struct pipeline *p, struct article *a, const char **groups,
    size_t ngroups, uint64_t fp, bool content_dedupe, bool no_similar,
    const char *title, const char *text, char **owned, struct buf *why,
    char *msgid_out)
{
	const char *msgid = article_get(a, "Message-ID");

	if (fp == 0)
		fp = article_fingerprint(a);

	if (msgid_out)
		(void)str_copy(msgid_out, 256, msgid);
	if (pipeline_is_duplicate(p, msgid, fp, content_dedupe, why)) {
		article_free(a);
		p->st.duplicates++;
		return PIPE_DUPLICATE;
	}
	if (p->parallel)
		return pipeline_submit(p, a, groups, ngroups, fp, no_similar,
		    title, text, owned, why);
	if (pipeline_thread(p, a, title, text, no_similar, p->terms))
		p->st.threaded++;
	return pipeline_store(p, a, NULL, groups, ngroups, fp, why);
}

/* A routed, normalised item, made ready off the main thread. */
struct pipeline_prep {
	enum pipeline_result res; /* PIPE_STAGED: ready to stage */
	struct buf why;		  /* the reason, when refused */
	struct article *a;
	const char *groups[SPOOL_XPOST_MAX]; /* the configuration's names */
	size_t ngroups;
	uint64_t fp; /* article_fingerprint(a), never 0 */
	bool content_dedupe;
	char *own[2]; /* title, text (heap) */
};

struct pipeline_prep *
pipeline_prepare_item(struct pipeline *p, const struct item *it,
    time_t fallback)
{
	struct pipeline_prep *pp = xcalloc(1, sizeof(*pp));

	buf_init(&pp->why, 4096);
	pp->res = PIPE_STAGED;
	if (p->force_group) {
		pp->groups[0] = p->force_group;
		pp->ngroups = 1;
	} else if ((pp->ngroups = route_item(p->c, it, pp->groups,
			SPOOL_XPOST_MAX)) == 0) {
		buf_printf(&pp->why,
		    "unrouted: no group's rules match \"%.60s\"",
		    it->title ? it->title : "");
		pp->res = PIPE_UNROUTED;
		return pp;
	}
	if ((pp->a = normalise_item(it, p->c->hostname, fallback,
		 &pp->why)) == NULL) {
		pp->res = PIPE_REJECTED;
		return pp;
	}
	article_set_newsgroups(pp->a, pp->groups, pp->ngroups);
	pp->fp = article_fingerprint(pp->a);
	/*
	 * Content dedupe needs text: a bare headline is no evidence of the
	 * same article (outlets run one wire headline over their own text,
	 * and the headline corpus holds thousands of such pairs).
	 */
	pp->content_dedupe = it->text && *it->text;
	pp->own[0] = xstrdup(it->title ? it->title : "");
	pp->own[1] = xstrdup(it->text ? it->text : "");
	return pp;
}

void
pipeline_prep_free(struct pipeline_prep *pp)
{
	if (pp == NULL)
		return;
	article_free(pp->a);
	buf_free(&pp->why);
	free(pp->own[0]);
	free(pp->own[1]);
	free(pp);
}

enum pipeline_result
pipeline_stage_prepared(
    struct pipeline *p, struct pipeline_prep *pp, struct buf *why)
{
	enum pipeline_result r = pp->res;

	switch (r) {
	case PIPE_STAGED:
		r = pipeline_stage(p, pp->a, pp->groups, pp->ngroups, pp->fp,
		    pp->content_dedupe, false, pp->own[0], pp->own[1], pp->own,
		    why, NULL);
		pp->a = NULL;
		break;
	case PIPE_UNROUTED:
		p->st.unrouted++;
		buf_puts(why, buf_cstr(&pp->why));
		break;
	default:
		p->st.rejected++;
		buf_puts(why, buf_cstr(&pp->why));
		break;
	}
	pipeline_prep_free(pp);
	return r;
}

enum pipeline_result
pipeline_item(struct pipeline *p, const struct item *it, time_t fallback,
    struct buf *why)
{
	return pipeline_stage_prepared(
	    p, pipeline_prepare_item(p, it, fallback), why);
}

/* Reject with a reason: frees a. */
static enum pipeline_result
reject(struct pipeline *p, struct article *a, struct buf *why,
    const char *reason)
{
	buf_puts(why, reason);
	article_free(a);
	p->st.rejected++;
	return PIPE_REJECTED;
}

enum pipeline_result
pipeline_message(struct pipeline *p, const char *data, size_t len,
    time_t fallback, enum pipeline_origin origin, struct buf *why,
    char *msgid_out)
{
	struct article *a;
	char id[128];

	if (article_parse(data, len, &a, why) == -1) {
		p->st.rejected++;
		return PIPE_REJECTED;
	}
	if (article_get(a, "Message-ID") == NULL) {
		if (!str_printf(id, sizeof(id), "<%016" PRIx64 "@%s>",
			hash64(data, len, 0x6e657773), p->c->hostname))
			return reject(p, a, why, "hostname too long");
		article_set(a, "Message-ID", id);
	}
	return pipeline_article(p, a, fallback, origin, NULL, why, msgid_out);
}

/* The title and text an article is threaded by (pipeline_article()). */
static void
thread_title(const struct article *a, struct buf *subj)
{
	article_decode_words(article_get(a, "Subject"), subj);
}

struct thread_terms *
pipeline_prescan(struct terms *tk, const struct article *a)
{
	struct buf subj = BUF_INIT(4096);
	struct thread_terms *tt;

	thread_title(a, &subj);
	tt = thread_prescan(
	    tk, buf_cstr(&subj), a->body, a->body ? strlen(a->body) : 0);
	buf_free(&subj);
	return tt;
}

enum pipeline_result
pipeline_article(struct pipeline *p, struct article *a, time_t fallback,
    enum pipeline_origin origin, const struct thread_terms *terms,
    struct buf *why, char *msgid_out)
{
	const char *groups[SPOOL_XPOST_MAX], *v;
	struct buf tmp = BUF_INIT(SIZE_MAX), subj = BUF_INIT(4096);
	char date[64];
	size_t n = 0;
	enum pipeline_result r;
	/* A post was checked by the event loop (cmd_post.c: From with an
	 * address, a valid Message-ID, a Date that parses), and is not
	 * parsed again on the writer thread: only what is there is. */
	bool checked = origin == PIPE_POST;

	if ((v = article_get(a, "From")) == NULL)
		return reject(p, a, why, "Missing From header");
	if (origin == PIPE_PEER && !article_from_valid(v))
		return reject(p, a, why, "From: has no address");
	if (article_get(a, "Subject") == NULL)
		return reject(p, a, why, "Missing Subject header");
	if ((v = article_get(a, "Message-ID")) == NULL)
		return reject(p, a, why, "Missing Message-ID header");
	if (!checked && !article_msgid_valid(v))
		return reject(p, a, why, "Invalid Message-ID");
	if ((v = article_get(a, "Date")) == NULL ||
	    (!checked && article_parse_date(v) == (time_t)-1)) {
		if (v != NULL && origin != PIPE_IMPORT)
			return reject(p, a, why, "Unparseable Date header");
		article_format_date(fallback, date, sizeof(date));
		article_set(a, "Date", date);
	}
	if (p->force_group) {
		groups[0] = p->force_group;
		n = 1;
	} else if ((v = article_get(a, "Newsgroups")) != NULL) {
		n = groups_from_header(p, v, groups, p->names,
		    SPOOL_XPOST_MAX);
	}
	if (n == 0) {
		struct item it = {0};

		thread_title(a, &subj);
		it.title = buf_cstr(&subj);
		it.text = a->body;
		it.source = article_get(a, "From");
		n = route_item(p->c, &it, groups, SPOOL_XPOST_MAX);
	}
	if (n == 0) {
		buf_printf(why, "unrouted: no group for %s",
		    article_get(a, "Message-ID"));
		article_free(a);
		buf_free(&subj);
		p->st.unrouted++;
		return PIPE_UNROUTED;
	}
	article_set_newsgroups(a, groups, n);
	/* RFC 5537 3.2.1: prepend our path identity. */
	if ((v = article_get(a, "Path")) != NULL) {
		buf_printf(&tmp, "%s!%s", p->c->hostname, v);
		article_set(a, "Path", buf_cstr(&tmp));
	} else {
		buf_printf(&tmp, "%s!not-for-mail", p->c->hostname);
		article_prepend(a, "Path", buf_cstr(&tmp));
	}
	article_del(a, "Xref");
	article_del(a, "Lines");
	if (!subj.len)
		thread_title(a, &subj);
	p->terms = terms;
	r = pipeline_stage(p, a, groups, n, 0,
	    origin == PIPE_IMPORT && article_get(a, "References") == NULL,
	    origin == PIPE_POST && !p->c->threading.posts, buf_cstr(&subj),
	    a->body, NULL, why, msgid_out);
	p->terms = NULL;
	buf_free(&tmp);
	buf_free(&subj);
	return r;
}
