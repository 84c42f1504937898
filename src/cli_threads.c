/*
 * cli_threads.c - `newsgate threads`: the thread trees of a group as a
 * newsreader shows them (or one TSV line per article), and `newsgate
 * rethread`: recompute every similarity link in arrival order with the
 * current settings (docs/threading.md).
 *
 * A thread is the set of articles sharing the first Message-ID of their
 * References (the root), or their own Message-ID when they have none; the
 * same definition as `newsgate stats`. Inside a thread an article hangs
 * under the last of its References that is in the group.
 *
 * Reads through spool.h only. rethread saves the threading state
 * (spool_private_replace()) and then has the spool rewrite the
 * References and X-Newsgate-Thread of every article whose link changed
 * (spool_relink(): atomic, numbers unchanged); only articles carrying
 * X-Newsgate-Thread, or no References at all, are ever changed. With
 * --dry-run it only says how many links would change.
 */
#include <getopt.h>
#include <signal.h>
#include <strings.h>

#include "common.h"
#include "article.h"
#include "cli.h"
#include "progress.h"
#include "spool.h"
#include "thread.h"

#define THREADS_USAGE                                                          \
	"threads [--spool DIR] [--config FILE] [--group G] [--tsv]"
#define RETHREAD_USAGE                                                         \
	"rethread [--spool DIR] [--config FILE] [--threshold X] [--dry-run]"
#define THREADS_DEPTH_MAX 24	      /* indentation levels shown */
#define THREADS_HEAD_MAX 65536	      /* octets of an article's header read */
#define THREADS_ARTICLE_MAX (1 << 24) /* octets of an article read */
#define THREADS_SUBJECT_COLS 64

/* One article of the group being shown. */
struct tart {
	uint64_t num;
	char *msgid;	/* owned */
	char *subject;	/* owned, decoded */
	char *refs;	/* owned, as in the overview ("" when none) */
	char *source;	/* owned: X-Newsgate-Source, "" when none */
	char *score;	/* owned: score from X-Newsgate-Thread, or NULL */
	size_t parent;	/* index of the parent here, SIZE_MAX: top */
	size_t child;	/* first child, SIZE_MAX: none */
	size_t sibling; /* next sibling, SIZE_MAX: none */
};

/* Message-ID -> index, open addressing over the records' strings. */
struct tmap {
	size_t *slot; /* index + 1; 0: empty */
	size_t cap;   /* a power of two, above twice the count */
};

struct tgroup {
	struct spool *sp;
	const char *group;
	struct tart *a;
	size_t n;
	size_t cap;
	struct tmap map;
	struct buf art; /* scratch: one article */
};

static uint64_t
tmap_hash(const char *p, size_t len)
{
	return hash64(p, len, 0x7468726561647321ULL);
}

static size_t
tmap_get(const struct tgroup *g, const char *p, size_t len)
{
	size_t i, k;

	if (g->map.cap == 0)
		return SIZE_MAX;
	for (i = tmap_hash(p, len) & (g->map.cap - 1);
	     (k = g->map.slot[i]) != 0; i = (i + 1) & (g->map.cap - 1)) {
		const char *id = g->a[k - 1].msgid;

		if (strncmp(id, p, len) == 0 && id[len] == '\0')
			return k - 1;
	}
	return SIZE_MAX;
}

static void
tmap_put(struct tgroup *g, size_t idx)
{
	const char *id = g->a[idx].msgid;
	size_t i, j;

	if ((idx + 1) * 2 >= g->map.cap) {
		free(g->map.slot);
		g->map.cap = g->map.cap ? g->map.cap * 2 : 1024;
		while ((idx + 1) * 2 >= g->map.cap)
			g->map.cap *= 2;
		g->map.slot = xcalloc(g->map.cap, sizeof(*g->map.slot));
		for (j = 0; j < idx; j++)
			tmap_put(g, j);
	}
	for (i = tmap_hash(id, strlen(id)) & (g->map.cap - 1);
	     g->map.slot[i] != 0; i = (i + 1) & (g->map.cap - 1))
		;
	g->map.slot[i] = idx + 1;
}

/*
 * The value of header name in the header block of an article (unfolded,
 * leading blanks dropped) into out; false when absent.
 */
static bool
header_get(const char *data, size_t len, const char *name, struct buf *out)
{
	size_t nlen = strlen(name), i = 0, e;
	bool found = false;

	buf_reset(out);
	while (i < len && data[i] != '\n') {
		for (e = i; e < len && data[e] != '\n'; e++)
			;
		if (found && (data[i] == ' ' || data[i] == '\t')) {
			buf_append(out, data + i, e - i); /* folded */
		} else if (found) {
			break;
		} else if (e - i > nlen && data[i + nlen] == ':' &&
		    strncasecmp(data + i, name, nlen) == 0) {
			found = true;
			i += nlen + 1;
			while (i < e && (data[i] == ' ' || data[i] == '\t'))
				i++;
			buf_append(out, data + i, e - i);
		}
		i = e + 1;
	}
	return found;
}

static char *
str_dup(struct str s)
{
	return xstrndup(s.p, s.len);
}

/* Read the headers of article num for its source and score. */
static void
tart_headers(struct tgroup *g, struct tart *a)
{
	struct buf v = BUF_INIT(THREADS_HEAD_MAX);
	const char *sc;

	a->source = xstrdup("");
	buf_reset(&g->art);
	if (spool_article_read(g->sp, g->group, a->num, &g->art) == -1)
		return;
	if (header_get(g->art.data, g->art.len, "X-Newsgate-Source", &v)) {
		free(a->source);
		a->source = xstrdup(buf_cstr(&v));
	}
	if (header_get(g->art.data, g->art.len, "X-Newsgate-Thread", &v) &&
	    (sc = strstr(buf_cstr(&v), "score=")) != NULL)
		a->score = xstrndup(sc + 6, strcspn(sc + 6, " \t;"));
	buf_free(&v);
}

static int
tgroup_over(void *arg, uint64_t num, const char *line, size_t len)
{
	struct tgroup *g = arg;
	struct str id = cli_over_field(line, len, 4);
	struct buf subj = BUF_INIT(SIZE_MAX);
	struct tart *a;
	char *raw;

	if (id.len == 0 || tmap_get(g, id.p, id.len) != SIZE_MAX)
		return 0;
	if (g->n == g->cap) {
		g->cap = g->cap ? g->cap * 2 : 256;
		g->a = xreallocarray(g->a, g->cap, sizeof(*g->a));
	}
	a = &g->a[g->n];
	memset(a, 0, sizeof(*a));
	a->num = num;
	a->msgid = str_dup(id);
	a->refs = str_dup(cli_over_field(line, len, 5));
	raw = str_dup(cli_over_field(line, len, 1));
	article_decode_words(raw, &subj);
	free(raw);
	a->subject = buf_steal(&subj);
	a->parent = a->child = a->sibling = SIZE_MAX;
	tart_headers(g, a);
	tmap_put(g, g->n++);
	return 0;
}

/* The n-th Message-ID of a References value, counting from the end
 * (0: the last), as a slice; len 0 when there are fewer. */
static struct str
refs_id(const char *refs, size_t from_end)
{
	const char *p = refs + strlen(refs), *e;

	for (;;) {
		while (p > refs && (p[-1] == ' ' || p[-1] == '\t'))
			p--;
		if (p == refs)
			return (struct str){"", 0};
		e = p;
		while (p > refs && p[-1] != ' ' && p[-1] != '\t')
			p--;
		if (from_end-- == 0)
			return (struct str){p, (size_t)(e - p)};
	}
}

/* The root of an article: the first id of its References, or itself. */
static struct str
tart_root(const struct tart *a)
{
	const char *p = a->refs;
	size_t n;

	p += strspn(p, " \t");
	n = strcspn(p, " \t");
	if (n == 0)
		return (struct str){a->msgid, strlen(a->msgid)};
	return (struct str){p, n};
}

/* Hang every article under its nearest ancestor in the group. */
static void
tgroup_link(struct tgroup *g)
{
	size_t i, k, p;
	struct str id;

	for (i = g->n; i > 0; i--) {
		struct tart *a = &g->a[i - 1];

		for (k = 0; (id = refs_id(a->refs, k)).len > 0; k++) {
			p = tmap_get(g, id.p, id.len);
			if (p != SIZE_MAX && p != i - 1) {
				a->parent = p;
				break;
			}
		}
		if (a->parent == SIZE_MAX)
			continue;
		/* Children in number order: i goes down, so prepend. */
		a->sibling = g->a[a->parent].child;
		g->a[a->parent].child = i - 1;
	}
}

static void
line_print(const struct tgroup *g, size_t i, size_t depth)
{
	const struct tart *a = &g->a[i];
	int ind = depth < THREADS_DEPTH_MAX ? (int)depth : THREADS_DEPTH_MAX;

	printf("%8" PRIu64 "  %*s%s%.*s", a->num, 2 * ind, "",
	    depth ? "\\_ " : "", THREADS_SUBJECT_COLS, a->subject);
	if (a->score != NULL)
		printf("  [%s]", a->score);
	printf("  %s\n", a->msgid);
}

/* The first of c and its later siblings not printed yet. */
static size_t
first_fresh(const struct tgroup *g, size_t c, const uint8_t *done)
{
	while (c != SIZE_MAX && done[c])
		c = g->a[c].sibling;
	return c;
}

/*
 * Print the tree under top, depth first, without recursion: a chain of
 * follow-ups can be as deep as the group is large. Forged References can
 * make a cycle; what is printed is marked, so nothing prints twice.
 */
static void
tree_print(const struct tgroup *g, size_t top, uint8_t *done, bool print)
{
	size_t node = top, c, depth = 0;

	for (;;) {
		if (print)
			line_print(g, node, depth);
		done[node] = 1;
		if ((c = first_fresh(g, g->a[node].child, done)) != SIZE_MAX) {
			node = c;
			depth++;
			continue;
		}
		for (;;) {
			if (node == top)
				return;
			c = first_fresh(g, g->a[node].sibling, done);
			if (c != SIZE_MAX) {
				node = c;
				break;
			}
			node = g->a[node].parent;
			depth--;
		}
	}
}

static void
tgroup_print(const struct tgroup *g, bool tsv)
{
	size_t i, threads = 0;
	uint8_t *done;
	struct str r;
	int pass;

	if (tsv) {
		for (i = 0; i < g->n; i++) {
			r = tart_root(&g->a[i]);
			printf("%s\t%.*s\t%s\n", g->a[i].msgid, (int)r.len, r.p,
			    g->a[i].source);
		}
		return;
	}
	/* Threads from their tops, then articles in a References cycle
	 * (forged), each cycle from its first article: counted, then
	 * printed. */
	done = xcalloc(g->n ? g->n : 1, 1);
	for (pass = 0; pass < 2; pass++) {
		memset(done, 0, g->n);
		if (pass == 1)
			printf("%s: %zu article%s in %zu thread%s\n", g->group,
			    g->n, g->n == 1 ? "" : "s", threads,
			    threads == 1 ? "" : "s");
		for (i = 0; i < g->n; i++)
			if (g->a[i].parent == SIZE_MAX) {
				tree_print(g, i, done, pass == 1);
				threads += pass == 0;
			}
		for (i = 0; i < g->n; i++)
			if (!done[i]) {
				tree_print(g, i, done, pass == 1);
				threads += pass == 0;
			}
	}
	free(done);
}

static void
tgroup_fini(struct tgroup *g)
{
	size_t i;

	for (i = 0; i < g->n; i++) {
		free(g->a[i].msgid);
		free(g->a[i].subject);
		free(g->a[i].refs);
		free(g->a[i].source);
		free(g->a[i].score);
	}
	free(g->a);
	free(g->map.slot);
	buf_free(&g->art);
}

static int
threads_group(struct spool *sp, const struct spool_group *sg, bool tsv)
{
	struct tgroup g;

	memset(&g, 0, sizeof(g));
	g.sp = sp;
	g.group = sg->name;
	buf_init(&g.art, THREADS_ARTICLE_MAX);
	if (sg->high >= sg->low &&
	    spool_over(sp, sg->name, sg->low, sg->high, tgroup_over, &g) ==
		-1 &&
	    errno != ENOENT) {
		fprintf(stderr, "newsgate: overview of %s: %s\n", sg->name,
		    strerror(errno));
		tgroup_fini(&g);
		return -1;
	}
	tgroup_link(&g);
	tgroup_print(&g, tsv);
	tgroup_fini(&g);
	return 0;
}

int
cli_threads(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"spool", required_argument, NULL, 's'},
	    {"config", required_argument, NULL, 'c'},
	    {"group", required_argument, NULL, 'g'},
	    {"tsv", no_argument, NULL, 't'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *spool = NULL, *conf = NULL, *group = NULL;
	const struct spool_group *gs;
	struct config c;
	struct spool *sp;
	bool tsv = false;
	size_t i, n;
	int ch, rc = 0;

	while ((ch = getopt_long(argc, argv, "s:c:g:th", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			spool = optarg;
			break;
		case 'c':
			conf = optarg;
			break;
		case 'g':
			group = optarg;
			break;
		case 't':
			tsv = true;
			break;
		default:
			return cli_usage(THREADS_USAGE);
		}
	}
	if (optind != argc)
		return cli_usage(THREADS_USAGE);
	signal(SIGPIPE, SIG_IGN);
	if (cli_config(&c, conf, spool) == -1)
		return 1;
	if ((sp = cli_spool_open(&c, SPOOL_READ)) == NULL) {
		config_fini(&c);
		return 1;
	}
	if (group != NULL) {
		if ((gs = spool_group(sp, group)) == NULL) {
			fprintf(stderr, "newsgate: no group %s\n", group);
			rc = 1;
		} else if (threads_group(sp, gs, tsv) == -1) {
			rc = 1;
		}
	} else {
		gs = spool_groups(sp, &n);
		for (i = 0; i < n && rc == 0; i++)
			if (threads_group(sp, &gs[i], tsv) == -1)
				rc = 1;
	}
	if (fflush(stdout) == EOF)
		rc = 1;
	spool_close(sp);
	config_fini(&c);
	return rc;
}

/* --- rethread ---------------------------------------------------------- */

/* New thread headers of one article (NULL: none). */
struct rchange {
	char *msgid; /* owned */
	char *refs;  /* owned */
	char *thr;   /* owned */
};

struct rethread {
	struct spool *sp;
	struct threader *thr;
	const struct config *c;
	const struct thread_conf *tc;
	struct progress prog;
	uint64_t total;	     /* history entries to look at */
	struct buf art;	     /* scratch: the article */
	uint64_t seen;	     /* history entries looked at */
	uint64_t done;	     /* articles threaded */
	uint64_t same;	     /* links unchanged */
	uint64_t moved;	     /* linked before and now, to another parent */
	uint64_t gained;     /* linked now, not before */
	uint64_t lost;	     /* linked before, not now */
	struct rchange *chg; /* articles whose thread headers change */
	size_t nchg, capchg;
};

/*
 * The References and X-Newsgate-Thread the article would have now, into
 * refs and hdr: exactly what import writes (pipeline.c pipeline_thread,
 * with its bounds), or its own References when it carries them.
 */
static void
rethread_links(struct rethread *r, const struct thread_link *l, const char *own,
    struct buf *refs, struct buf *hdr)
{
	buf_reset(refs);
	buf_reset(hdr);
	if (l->how == THREAD_SIMILAR &&
	    thread_references(r->thr, l->parent, refs) == 0 && !refs->err) {
		buf_printf(hdr, "%s score=%.2f", l->root, l->score);
		if (hdr->err) {
			buf_reset(refs);
			buf_reset(hdr);
		}
	} else if (l->how == THREAD_REFS && own != NULL)
		buf_puts(refs, own);
}

static void
rethread_count(struct rethread *r, const char *old_refs, bool old_linked,
    const struct buf *refs, const struct buf *hdr)
{
	bool now = hdr->len > 0;

	if (!old_linked && !now)
		r->same++;
	else if (old_linked && !now)
		r->lost++;
	else if (!old_linked && now)
		r->gained++;
	else if (strcmp(old_refs ? old_refs : "",
		     refs->data ? refs->data : "") == 0)
		r->same++;
	else
		r->moved++;
}

/*
 * Was the article posted to this server? cmd_post.c sets Injection-Info
 * to our hostname first; import does not thread such a post by
 * similarity unless [threading] posts is on, and neither does rethread.
 */
static bool
rethread_posted_here(const struct article *a, const char *host)
{
	const char *v = article_get(a, "Injection-Info");
	size_t n;

	if (v == NULL || host == NULL)
		return false;
	n = strcspn(v, "; \t");
	return n == strlen(host) && strncasecmp(v, host, n) == 0;
}

/* Remember an article whose thread headers must change. */
static void
rethread_change(struct rethread *r, const char *msgid, const struct buf *refs,
    const struct buf *hdr)
{
	struct rchange *c;

	if (r->nchg == r->capchg) {
		r->capchg = r->capchg ? 2 * r->capchg : 256;
		r->chg = xreallocarray(r->chg, r->capchg, sizeof(*r->chg));
	}
	c = &r->chg[r->nchg++];
	c->msgid = xstrdup(msgid);
	c->refs = refs->len ? xstrndup(refs->data, refs->len) : NULL;
	c->thr = hdr->len ? xstrndup(hdr->data, hdr->len) : NULL;
}

static bool
rethread_same(const char *old, const struct buf *now)
{
	return strcmp(old ? old : "", now->len ? now->data : "") == 0;
}

/* Thread one stored article as import did. */
static void
rethread_article(struct rethread *r, const char *msgid, const struct article *a)
{
	struct buf subj = BUF_INIT(SIZE_MAX);
	struct buf refs = BUF_INIT(THREAD_REFS_OCTETS + 1024);
	struct buf hdr = BUF_INIT(2048);
	const char *s, *old_refs = article_get(a, "References");
	const char *old_thr = article_get(a, "X-Newsgate-Thread");
	bool ours = old_thr != NULL;
	struct thread_item it;
	struct thread_link l;

	memset(&it, 0, sizeof(it));
	it.msgid = msgid;
	if ((s = article_get(a, "Subject")) != NULL)
		article_decode_words(s, &subj);
	it.title = buf_cstr(&subj);
	it.text = a->body;
	it.text_len = a->body_len;
	s = article_get(a, "Date");
	if (s == NULL || (it.date = article_parse_date(s)) == (time_t)-1)
		it.date = 0;
	/* References we wrote are recomputed; anyone else's are kept. */
	it.references = ours ? NULL : old_refs;
	it.no_similar =
	    !r->tc->posts && rethread_posted_here(a, r->c->hostname);
	if (thread_add(r->thr, &it, &l) == 0) {
		r->done++;
		rethread_links(r, &l, it.references, &refs, &hdr);
		rethread_count(r, old_refs, ours, &refs, &hdr);
		/* Only headers we added may change (old_refs NULL or ours). */
		if (it.references == NULL &&
		    (!rethread_same(old_refs, &refs) ||
			!rethread_same(old_thr, &hdr)))
			rethread_change(r, msgid, &refs, &hdr);
	}
	buf_free(&subj);
	buf_free(&refs);
	buf_free(&hdr);
}

static int
rethread_hist(void *arg, const struct spool_hist *h)
{
	struct rethread *r = arg;
	struct buf why = BUF_INIT(1024);
	struct article *a = NULL;
	struct spool_loc loc;
	const char *colon;
	uint64_t num;

	r->seen++;
	progress_update(&r->prog, r->seen, r->seen);
	colon = strchr(h->location, ':');
	if (colon == NULL || (size_t)(colon - h->location) > SPOOL_GROUP_MAX ||
	    parse_u64(colon + 1, strcspn(colon + 1, " "), &num) == -1)
		return 0;
	memcpy(loc.group, h->location, (size_t)(colon - h->location));
	loc.group[colon - h->location] = '\0';
	buf_reset(&r->art);
	if (spool_article_read(r->sp, loc.group, num, &r->art) == -1)
		return 0; /* expired or cancelled */
	if (article_parse(r->art.data, r->art.len, &a, &why) == 0) {
		rethread_article(r, h->msgid, a);
		article_free(a);
	}
	buf_free(&why);
	return 0;
}

static int
rethread_total(void *arg, const struct spool_hist *h)
{
	(void)h;
	((struct rethread *)arg)->total++;
	return 0;
}

static void
rethread_progress(void *arg, size_t done, size_t total)
{
	struct rethread *r = arg;

	(void)total;
	progress_update(&r->prog, done, done);
}

/* Rewrite the References of the articles whose links changed. */
static int
rethread_apply(struct rethread *r)
{
	struct spool_relink *req;
	struct spool_relink_stats st;
	size_t i;
	int rc;

	req = xcalloc(r->nchg ? r->nchg : 1, sizeof(*req));
	for (i = 0; i < r->nchg; i++) {
		req[i].msgid = r->chg[i].msgid;
		req[i].references = r->chg[i].refs;
		req[i].thread = r->chg[i].thr;
	}
	progress_start(&r->prog, "rewrite", r->nchg);
	rc = spool_relink(r->sp, req, r->nchg, &st, rethread_progress, r);
	progress_end(&r->prog);
	free(req);
	printf("%zu articles rewritten", st.rewritten);
	if (st.missing)
		printf(", %zu gone meanwhile", st.missing);
	if (st.refused)
		printf(", %zu with References of their own left alone",
		    st.refused);
	printf("\n");
	if (rc == -1) {
		fprintf(stderr,
		    "newsgate: rewrite References: %s (run rethread again "
		    "to finish)\n",
		    strerror(errno));
		return -1;
	}
	return 0;
}

static int
rethread_run(const struct config *c, struct thread_conf *tc, bool dry)
{
	struct rethread r;
	struct buf st = BUF_INIT(SIZE_MAX);
	size_t i;
	int rc = 0;

	memset(&r, 0, sizeof(r));
	if ((r.sp = cli_spool_open(c, dry ? SPOOL_READ : SPOOL_WRITE)) == NULL)
		return 1;
	r.c = c;
	r.tc = tc;
	r.thr = thread_new(tc);
	buf_init(&r.art, THREADS_ARTICLE_MAX);
	progress_start(&r.prog, "rethread", 0);
	if (spool_history_since(r.sp, 0, rethread_total, &r) == 0)
		r.prog.total = r.total;
	if (spool_history_since(r.sp, 0, rethread_hist, &r) == -1) {
		fprintf(stderr, "newsgate: history: %s\n", strerror(errno));
		rc = 1;
	}
	progress_end(&r.prog);
	printf("%" PRIu64 " articles threaded: %" PRIu64 " links unchanged, "
	       "%" PRIu64 " to another parent, %" PRIu64 " new, %" PRIu64
	       " removed\n",
	    r.done, r.same, r.moved, r.gained, r.lost);
	if (rc == 0 && !dry) {
		thread_save(r.thr, &st);
		if (st.err != 0 ||
		    spool_private_replace(
			r.sp, THREAD_STATE_FILE, st.data, st.len) == -1) {
			fprintf(stderr, "newsgate: save threading state: %s\n",
			    strerror(st.err ? st.err : errno));
			rc = 1;
		} else if (rethread_apply(&r) == -1)
			rc = 1;
	}
	for (i = 0; i < r.nchg; i++) {
		free(r.chg[i].msgid);
		free(r.chg[i].refs);
		free(r.chg[i].thr);
	}
	free(r.chg);
	buf_free(&st);
	buf_free(&r.art);
	thread_free(r.thr);
	spool_close(r.sp);
	return rc;
}

int
cli_rethread(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"spool", required_argument, NULL, 's'},
	    {"config", required_argument, NULL, 'c'},
	    {"threshold", required_argument, NULL, 't'},
	    {"dry-run", no_argument, NULL, 'n'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *spool = NULL, *conf = NULL, *thr = NULL;
	struct thread_conf tc;
	struct config c;
	bool dry = false;
	char *end;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, "s:c:t:nh", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			spool = optarg;
			break;
		case 'c':
			conf = optarg;
			break;
		case 't':
			thr = optarg;
			break;
		case 'n':
			dry = true;
			break;
		default:
			return cli_usage(RETHREAD_USAGE);
		}
	}
	if (optind != argc)
		return cli_usage(RETHREAD_USAGE);
	if (cli_config(&c, conf, spool) == -1)
		return 1;
	tc = c.threading;
	if (thr != NULL) {
		errno = 0;
		tc.threshold = strtod(thr, &end);
		if (errno != 0 || *end != '\0' || !(tc.threshold >= 0) ||
		    tc.threshold > 1) {
			fprintf(stderr,
			    "newsgate: --threshold wants a number "
			    "from 0 to 1\n");
			config_fini(&c);
			return 2;
		}
	}
	rc = rethread_run(&c, &tc, dry);
	config_fini(&c);
	return rc;
}
