/*
 * pipeline.c - parse -> normalise -> route -> dedupe -> thread -> commit,
 * for every article whatever its source (see pipeline.h). It decides what
 * goes in; only spool.c writes it.
 *
 * Never writes a file itself, never logs a client's mistake (it returns
 * the reason), never lets an article past without a valid Message-ID,
 * From, Subject, Date and Newsgroups.
 */
#include "common.h"
#include "article.h"
#include "normalise.h"
#include "pipeline.h"
#include "route.h"
#include "thread.h"

/* The threading state under spool/.newsgate/ (derived: rethread rebuilds
 * it), and how often a long import saves it. */
#define PIPELINE_THREAD_STATE "threads.state"
#define PIPELINE_THREAD_SAVE_MS 10000

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
	bool thr_dirty;		/* articles added since the last save */
	uint64_t thr_saved_ms;	/* now_ms() of the last save */
	/* Group names parsed from a Newsgroups header (scratch). */
	char names[SPOOL_XPOST_MAX][SPOOL_GROUP_MAX + 1];
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
		if (spool_private_read(sp, PIPELINE_THREAD_STATE, &st) == 0 &&
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
	if (spool_private_replace(p->sp, PIPELINE_THREAD_STATE, st.data,
		st.len) == 0) {
		p->thr_dirty = false;
		p->thr_saved_ms = now_ms();
	}
	buf_free(&st);
}

static void
staged_clear(struct pipeline *p)
{
	size_t i;

	for (i = 0; i < p->nstaged; i++) {
		free(p->staged[i].msgid);
		free(p->staged[i].xref);
	}
	p->nstaged = 0;
	for (i = 0; i < p->nfps; i++)
		p->fps[p->fpslot[i]] = 0;
	p->nfps = 0;
}

void
pipeline_free(struct pipeline *p)
{
	if (p == NULL)
		return;
	if (pipeline_flush(p) == -1)
		log_warn("pipeline: final commit");
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

int
pipeline_flush(struct pipeline *p)
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
	if (now_ms() - p->thr_saved_ms >= PIPELINE_THREAD_SAVE_MS)
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

static void
set_newsgroups(struct article *a, const char **groups, size_t n)
{
	struct buf b = BUF_INIT(SIZE_MAX);
	size_t i;

	for (i = 0; i < n; i++) {
		if (i)
			buf_putc(&b, ',');
		buf_puts(&b, groups[i]);
	}
	article_set(a, "Newsgroups", buf_cstr(&b));
	buf_free(&b);
}

/*
 * Threading of one article: an article with References keeps them (and
 * joins its parent's thread); any other gets References to its most
 * similar earlier article, and X-Newsgate-Thread naming the thread root
 * and the score, so a reader can see why (docs/threading.md).
 */
static void
pipeline_thread(struct pipeline *p, struct article *a, const char *title,
    const char *text, bool no_similar)
{
	struct thread_item it = {0};
	struct thread_link l;
	struct buf refs = BUF_INIT(THREAD_REFS_OCTETS + 1024);
	struct buf hdr = BUF_INIT(2048);
	const char *d;

	if (p->thr == NULL)
		return;
	it.msgid = article_get(a, "Message-ID");
	it.title = title;
	it.text = text;
	it.text_len = text ? strlen(text) : 0;
	d = article_get(a, "Date");
	if (d == NULL || (it.date = article_parse_date(d)) == (time_t)-1)
		it.date = time(NULL);
	it.references = article_get(a, "References");
	it.no_similar = no_similar;
	if (thread_add(p->thr, &it, &l) == -1)
		return;
	p->thr_dirty = true;
	if (l.how == THREAD_SIMILAR &&
	    thread_references(p->thr, l.parent, &refs) == 0 && !refs.err) {
		buf_printf(&hdr, "%s score=%.2f", l.root, l.score);
		if (!hdr.err) {
			article_set(a, "References", buf_cstr(&refs));
			article_set(a, "X-Newsgate-Thread", buf_cstr(&hdr));
			p->st.threaded++;
		}
	}
	buf_free(&refs);
	buf_free(&hdr);
}

/* Dedupe, thread, stage. a is consumed. */
static enum pipeline_result
pipeline_stage(struct pipeline *p, struct article *a, const char **groups,
    size_t ngroups, bool content_dedupe, bool no_similar, const char *title,
    const char *text, struct buf *why, char *msgid_out)
{
	const char *msgid = article_get(a, "Message-ID");
	uint64_t nums[SPOOL_XPOST_MAX], fp;
	struct buf xref = BUF_INIT(SIZE_MAX);
	struct staged *s;
	size_t i;

	if (msgid_out)
		(void)str_copy(msgid_out, 256, msgid);
	if (spool_has_msgid(p->sp, msgid)) {
		buf_printf(why, "Duplicate Message-ID %s", msgid);
		article_free(a);
		p->st.duplicates++;
		return PIPE_DUPLICATE;
	}
	fp = article_fingerprint(a);
	if (content_dedupe &&
	    (spool_has_fingerprint(p->sp, fp) || fp_seen(p, fp, false))) {
		buf_printf(why, "Duplicate content (same title and text as "
				"an article already stored)");
		article_free(a);
		p->st.duplicates++;
		return PIPE_DUPLICATE;
	}
	pipeline_thread(p, a, title, text, no_similar);
	if (spool_add(p->sp, a, groups, ngroups, fp, nums) == -1) {
		if (errno == EEXIST) {
			buf_printf(why, "Duplicate Message-ID %s", msgid);
			article_free(a);
			p->st.duplicates++;
			return PIPE_DUPLICATE;
		}
		buf_printf(why, "cannot store article: %s", strerror(errno));
		article_free(a);
		return PIPE_FAILED;
	}
	fp_seen(p, fp, true);
	for (i = 0; i < ngroups; i++)
		buf_printf(&xref, "%s%s:%" PRIu64, i ? " " : "", groups[i],
		    nums[i]);
	if (p->nstaged == p->capstaged) {
		p->capstaged = p->capstaged ? 2 * p->capstaged : 64;
		p->staged = xreallocarray(p->staged, p->capstaged,
		    sizeof(*p->staged));
	}
	s = &p->staged[p->nstaged++];
	s->msgid = xstrdup(article_get(a, "Message-ID"));
	s->xref = buf_steal(&xref);
	article_free(a);
	p->st.staged++;
	if (p->nstaged == 1)
		p->batch_start_ms = now_ms();
	if (p->nstaged >= PIPELINE_BATCH ||
	    now_ms() - p->batch_start_ms >= PIPELINE_BATCH_MS) {
		if (pipeline_flush(p) == -1) {
			buf_printf(why, "commit failed: %s", strerror(errno));
			return PIPE_FAILED;
		}
	}
	return PIPE_STAGED;
}

enum pipeline_result
pipeline_item(struct pipeline *p, const struct item *it, time_t fallback,
    struct buf *why)
{
	const char *groups[SPOOL_XPOST_MAX];
	struct article *a;
	size_t n;

	if (p->force_group) {
		groups[0] = p->force_group;
		n = 1;
	} else if ((n = route_item(p->c, it, groups,
			SPOOL_XPOST_MAX)) == 0) {
		buf_printf(why, "unrouted: no group's rules match \"%.60s\"",
		    it->title ? it->title : "");
		p->st.unrouted++;
		return PIPE_UNROUTED;
	}
	if ((a = normalise_item(it, p->c->hostname, fallback, why)) == NULL) {
		p->st.rejected++;
		return PIPE_REJECTED;
	}
	set_newsgroups(a, groups, n);
	/*
	 * Content dedupe needs text: a bare headline is no evidence of the
	 * same article (outlets run one wire headline over their own text,
	 * and the headline corpus holds thousands of such pairs).
	 */
	return pipeline_stage(p, a, groups, n, it->text && *it->text, false,
	    it->title, it->text ? it->text : "", why, NULL);
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
	const char *groups[SPOOL_XPOST_MAX], *v;
	struct buf tmp = BUF_INIT(SIZE_MAX), subj = BUF_INIT(4096);
	struct article *a;
	char date[64];
	size_t n = 0;
	enum pipeline_result r;

	if (article_parse(data, len, &a, why) == -1) {
		p->st.rejected++;
		return PIPE_REJECTED;
	}
	if ((v = article_get(a, "From")) == NULL)
		return reject(p, a, why, "Missing From header");
	if (origin != PIPE_IMPORT && !article_from_valid(v))
		return reject(p, a, why, "From: has no address");
	if (article_get(a, "Subject") == NULL)
		return reject(p, a, why, "Missing Subject header");
	if ((v = article_get(a, "Message-ID")) != NULL) {
		if (!article_msgid_valid(v))
			return reject(p, a, why, "Invalid Message-ID");
	} else {
		char id[128];

		if (!str_printf(id, sizeof(id), "<%016" PRIx64 "@%s>",
			hash64(data, len, 0x6e657773), p->c->hostname))
			return reject(p, a, why, "hostname too long");
		article_set(a, "Message-ID", id);
	}
	if ((v = article_get(a, "Date")) == NULL ||
	    article_parse_date(v) == (time_t)-1) {
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

		article_decode_words(article_get(a, "Subject"), &subj);
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
	set_newsgroups(a, groups, n);
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
		article_decode_words(article_get(a, "Subject"), &subj);
	r = pipeline_stage(p, a, groups, n,
	    origin == PIPE_IMPORT && article_get(a, "References") == NULL,
	    origin == PIPE_POST && !p->c->threading.posts, buf_cstr(&subj),
	    a->body, why, msgid_out);
	buf_free(&tmp);
	buf_free(&subj);
	return r;
}
