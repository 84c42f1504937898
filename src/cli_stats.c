/*
 * cli_stats.c - `newsgate stats`: what is in the spool. Groups with their
 * article and thread counts, the biggest stories, the size of articles/,
 * the newest arrivals; a table for people, or --json for programs.
 *
 * Definitions (docs/spool.md has the files):
 *   - an article is a Message-ID: a crosspost counts once in the totals
 *     and once in each of its groups;
 *   - a thread is the set of articles sharing the first Message-ID of
 *     their References (the root), or their own Message-ID when they have
 *     none; the root's Subject names it, or, when the root is gone
 *     (expired, never here), the Subject of the thread's oldest article;
 *   - the size is the apparent size of every file under articles/ (the
 *     overview files too), each hard-linked crosspost counted once;
 *   - the newest articles are the last ones in history (arrival order)
 *     that are still in the spool.
 *
 * Reads everything through spool.h, except the size, which walks the
 * articles/ tree itself (without following symbolic links). Never writes.
 * Memory: one record per article and per thread, so the whole spool's
 * overview is summarised in one pass.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <strings.h>
#include <unistd.h>

#include "common.h"
#include "article.h"
#include "cli.h"

#define STATS_USAGE "stats [--spool DIR] [--config FILE] [--json]"
#define STATS_TOP 10	   /* biggest stories shown */
#define STATS_NEWEST 10	   /* newest articles shown */
#define STATS_DEPTH_MAX 64 /* directories below articles/ */
#define STATS_SUBJECT_COLS 60

struct sart {
	char *msgid;	   /* owned */
	char *subject;	   /* owned, RFC 2047 decoded, valid UTF-8 */
	const char *group; /* first group seen (spool_groups storage) */
	uint64_t num;	   /* in that group */
	time_t date;	   /* Date header; -1 when it does not parse */
	size_t thread;	   /* index in stats.threads */
};

struct sthread {
	char *root;	/* owned: the root Message-ID */
	uint64_t count; /* articles */
	size_t rootart; /* index of the root article, SIZE_MAX: not here */
	size_t oldest;	/* index of its oldest article */
	time_t last;	/* newest Date */
};

/* One of the newest articles. */
struct snew {
	size_t art;	/* index in stats.arts */
	time_t arrived; /* from history */
};

struct sgroup {
	const struct spool_group *g;
	uint64_t articles;
	uint64_t threads;
};

struct stats {
	struct spool *sp;
	struct sart *arts;
	size_t narts, capart;
	struct sthread *threads;
	size_t nthreads, capthread;
	struct cli_idmap byid;     /* Message-ID -> arts */
	struct cli_idmap bythread; /* root -> threads */
	struct sgroup *groups;
	size_t ngroups;
	struct cli_idmap grouproots; /* scratch: the roots seen in one group */
	struct sgroup *cur;	 /* the group being read */
	uint64_t bytes;		 /* under articles/ */
	uint64_t files;
	struct snew newest[STATS_NEWEST]; /* ring, by arrival */
	size_t nnewest;			  /* entries ever pushed */
};

/* Hard-linked files seen in the size walk. */
struct inode {
	dev_t dev;
	ino_t ino;
	off_t size;
};

struct walk {
	struct inode *links;
	size_t nlinks, caplinks;
	uint64_t bytes; /* files with one link */
	uint64_t files;
};

/* --- reading the overview ------------------------------------------- */

/* Copy s as valid UTF-8: each byte of an invalid sequence becomes '?'. */
static char *
utf8_clean(const char *s, size_t len)
{
	char *out = xmalloc(len + 1), *w = out;
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n, k;
	uint32_t cp;

	while (i < len) {
		if (p[i] < 0x80) {
			*w++ = (char)p[i++];
			continue;
		}
		n = p[i] >= 0xf0 && p[i] < 0xf5	  ? 4
		    : p[i] >= 0xe0		  ? 3
		    : p[i] >= 0xc2 && p[i] < 0xe0 ? 2
						  : 0;
		if (p[i] >= 0xf5)
			n = 0;
		cp = n == 4 ? p[i] & 0x07 : n == 3 ? p[i] & 0x0f : p[i] & 0x1f;
		for (k = 1; n > 0 && k < n; k++) {
			if (i + k >= len || (p[i + k] & 0xc0) != 0x80) {
				n = 0;
				break;
			}
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		if (n == 0 || (n == 3 && cp < 0x800) ||
		    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff)) {
			*w++ = '?';
			i++;
			continue;
		}
		memcpy(w, p + i, n);
		w += n;
		i += n;
	}
	*w = '\0';
	return out;
}

static char *
decode_subject(struct str raw)
{
	struct buf text = BUF_INIT(SIZE_MAX);
	char *copy = xstrndup(raw.p, raw.len), *s;

	article_decode_words(copy, &text);
	s = utf8_clean(text.data ? text.data : "", text.len);
	buf_free(&text);
	free(copy);
	return s;
}

static size_t
stats_thread(struct stats *st, struct str root)
{
	struct sthread *t;
	size_t i;

	if ((i = cli_idmap_get(&st->bythread, root.p, root.len)) != SIZE_MAX)
		return i;
	if (st->nthreads == st->capthread) {
		st->capthread = st->capthread ? 2 * st->capthread : 256;
		st->threads = xreallocarray(
		    st->threads, st->capthread, sizeof(*st->threads));
	}
	i = st->nthreads++;
	t = &st->threads[i];
	memset(t, 0, sizeof(*t));
	t->root = xstrndup(root.p, root.len);
	t->rootart = SIZE_MAX;
	t->oldest = SIZE_MAX;
	t->last = -1;
	cli_idmap_put(&st->bythread, t->root, root.len, i);
	return i;
}

/* A new article: its record, its thread. */
static void
stats_article(struct stats *st, uint64_t num, const char *line, size_t len,
    struct str msgid, struct str root)
{
	struct str date = cli_over_field(line, len, 3);
	struct sthread *t;
	struct sart *a;
	char *d;
	size_t i;

	if (st->narts == st->capart) {
		st->capart = st->capart ? 2 * st->capart : 256;
		st->arts =
		    xreallocarray(st->arts, st->capart, sizeof(*st->arts));
	}
	i = st->narts++;
	a = &st->arts[i];
	a->msgid = xstrndup(msgid.p, msgid.len);
	a->subject = decode_subject(cli_over_field(line, len, 1));
	a->group = st->cur->g->name;
	a->num = num;
	d = xstrndup(date.p, date.len);
	a->date = article_parse_date(d);
	free(d);
	cli_idmap_put(&st->byid, a->msgid, msgid.len, i);
	a->thread = stats_thread(st, root);
	t = &st->threads[a->thread];
	t->count++;
	if (msgid.len == root.len && memcmp(msgid.p, root.p, root.len) == 0)
		t->rootart = i;
	if (t->oldest == SIZE_MAX ||
	    (a->date != -1 &&
		(st->arts[t->oldest].date == -1 ||
		    a->date < st->arts[t->oldest].date)))
		t->oldest = i;
	if (a->date > t->last)
		t->last = a->date;
}

static int
stats_over(void *arg, uint64_t num, const char *line, size_t len)
{
	struct stats *st = arg;
	struct str msgid = cli_over_field(line, len, 4);
	struct str refs = cli_over_field(line, len, 5);
	struct str root = msgid;
	size_t i;

	if (msgid.len == 0)
		return 0; /* not an article line */
	/* The root: the first Message-ID of References. */
	for (i = 0; i < refs.len && (refs.p[i] == ' ' || refs.p[i] == '\t');
	     i++)
		;
	if (i < refs.len) {
		root.p = refs.p + i;
		for (root.len = 0;
		     i < refs.len && refs.p[i] != ' ' && refs.p[i] != '\t'; i++)
			root.len++;
	}
	st->cur->articles++;
	if (cli_idmap_get(&st->byid, msgid.p, msgid.len) == SIZE_MAX)
		stats_article(st, num, line, len, msgid, root);
	/* Per group: distinct roots. The thread record owns the key. */
	i = cli_idmap_get(&st->bythread, root.p, root.len);
	if (cli_idmap_get(&st->grouproots, root.p, root.len) == SIZE_MAX) {
		cli_idmap_put(&st->grouproots, st->threads[i].root, root.len, i);
		st->cur->threads++;
	}
	return 0;
}

static int
stats_read_groups(struct stats *st)
{
	const struct spool_group *g;
	size_t i, n;

	g = spool_groups(st->sp, &n);
	st->groups = xcalloc(n ? n : 1, sizeof(*st->groups));
	st->ngroups = n;
	for (i = 0; i < n; i++) {
		st->cur = &st->groups[i];
		st->cur->g = &g[i];
		cli_idmap_init(&st->grouproots);
		if (spool_over(st->sp, g[i].name, g[i].low, g[i].high,
			stats_over, st) == -1 &&
		    errno != ENOENT) {
			fprintf(stderr, "newsgate: overview of %s: %s\n",
			    g[i].name, strerror(errno));
			cli_idmap_free(&st->grouproots);
			return -1;
		}
		cli_idmap_free(&st->grouproots);
	}
	st->cur = NULL;
	return 0;
}

/* --- history: the newest articles ------------------------------------- */

static int
stats_hist(void *arg, const struct spool_hist *h)
{
	struct stats *st = arg;
	size_t i = cli_idmap_get(&st->byid, h->msgid, strlen(h->msgid));

	if (i != SIZE_MAX) {
		st->newest[st->nnewest % STATS_NEWEST].art = i;
		st->newest[st->nnewest % STATS_NEWEST].arrived = h->arrival;
		st->nnewest++;
	}
	return 0;
}

/* The k-th newest (0: the newest), or NULL. */
static const struct snew *
stats_newest(const struct stats *st, size_t k)
{
	if (k >= st->nnewest || k >= STATS_NEWEST)
		return NULL;
	return &st->newest[(st->nnewest - 1 - k) % STATS_NEWEST];
}

/* --- size of articles/ ------------------------------------------------ */

static void
walk_dir(struct walk *w, int dfd, int depth)
{
	struct dirent *de;
	struct stat st;
	DIR *d;
	int fd;

	if ((d = fdopendir(dfd)) == NULL) {
		close(dfd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) ==
		    -1)
			continue;
		if (S_ISDIR(st.st_mode) && depth < STATS_DEPTH_MAX) {
			if ((fd = openat(dirfd(d), de->d_name,
				 O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
				     O_CLOEXEC)) != -1)
				walk_dir(w, fd, depth + 1);
			continue;
		}
		if (!S_ISREG(st.st_mode))
			continue;
		if (st.st_nlink == 1) {
			w->bytes += (uint64_t)st.st_size;
			w->files++;
			continue;
		}
		if (w->nlinks == w->caplinks) {
			w->caplinks = w->caplinks ? 2 * w->caplinks : 64;
			w->links = xreallocarray(
			    w->links, w->caplinks, sizeof(*w->links));
		}
		w->links[w->nlinks].dev = st.st_dev;
		w->links[w->nlinks].ino = st.st_ino;
		w->links[w->nlinks].size = st.st_size;
		w->nlinks++;
	}
	closedir(d);
}

static int
inode_cmp(const void *a, const void *b)
{
	const struct inode *x = a, *y = b;

	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	return 0;
}

static void
stats_size(struct stats *st)
{
	struct buf path = BUF_INIT(SIZE_MAX);
	struct walk w = {0};
	size_t i;
	int fd;

	buf_printf(&path, "%s/articles", spool_dir(st->sp));
	if ((fd = open(buf_cstr(&path), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) !=
	    -1)
		walk_dir(&w, fd, 0);
	buf_free(&path);
	if (w.nlinks > 0)
		qsort(w.links, w.nlinks, sizeof(*w.links), inode_cmp);
	for (i = 0; i < w.nlinks; i++) {
		if (i > 0 && inode_cmp(&w.links[i - 1], &w.links[i]) == 0)
			continue;
		w.bytes += (uint64_t)w.links[i].size;
		w.files++;
	}
	free(w.links);
	st->bytes = w.bytes;
	st->files = w.files;
}

/* --- the biggest stories ---------------------------------------------- */

static int
thread_cmp(const void *a, const void *b)
{
	const struct sthread *x = a, *y = b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	if (x->last != y->last)
		return x->last > y->last ? -1 : 1;
	return strcmp(x->root, y->root);
}

/* The subject naming a thread (valid as long as st). */
static const char *
thread_subject(const struct stats *st, const struct sthread *t)
{
	const char *s;

	if (t->rootart != SIZE_MAX)
		return st->arts[t->rootart].subject;
	s = st->arts[t->oldest].subject;
	while (strncasecmp(s, "Re: ", 4) == 0)
		s += 4;
	return s;
}

/* --- output ------------------------------------------------------------ */

static void
fmt_time(time_t t, char *dst, size_t cap, bool iso)
{
	struct tm tm;

	if (t == -1 || gmtime_r(&t, &tm) == NULL ||
	    strftime(dst, cap, iso ? "%Y-%m-%dT%H:%M:%SZ" : "%Y-%m-%d %H:%M",
		&tm) == 0)
		str_copy(dst, cap, iso ? "" : "-");
}

static void
fmt_size(uint64_t bytes, char *dst, size_t cap)
{
	static const char units[][4] = {"KiB", "MiB", "GiB", "TiB"};
	double v = (double)bytes;
	size_t u = 0;

	if (bytes < 1024) {
		str_printf(dst, cap, "%" PRIu64 " bytes", bytes);
		return;
	}
	v /= 1024;
	while (v >= 1024 && u + 1 < NG_NELEM(units)) {
		v /= 1024;
		u++;
	}
	str_printf(dst, cap, "%.1f %s", v, units[u]);
}

/* A subject cut to cols characters (UTF-8 aware), "..." when cut. */
static void
fmt_subject(const char *s, char *dst, size_t cap, size_t cols)
{
	size_t i = 0, chars = 0;

	while (s[i] != '\0' && chars < cols) {
		i++;
		while (((unsigned char)s[i] & 0xc0) == 0x80)
			i++;
		chars++;
	}
	if (s[i] == '\0' || i + 4 > cap) {
		str_copy(dst, cap, s);
		return;
	}
	memcpy(dst, s, i);
	str_copy(dst + i, cap - i, "...");
}

static void
print_text(struct stats *st)
{
	char size[32], when[32], subj[256], loc[SPOOL_GROUP_MAX + 24];
	uint64_t narts = st->narts, nthreads = st->nthreads;
	const struct sthread *t;
	const struct snew *nw;
	const struct sart *a;
	size_t i, k;

	fmt_size(st->bytes, size, sizeof(size));
	printf("spool %s: %zu group%s, %" PRIu64 " article%s, %" PRIu64
	       " thread%s, %s in articles/ (%" PRIu64 " bytes, %" PRIu64
	       " files)\n",
	    spool_dir(st->sp), st->ngroups, st->ngroups == 1 ? "" : "s", narts,
	    narts == 1 ? "" : "s", nthreads, nthreads == 1 ? "" : "s", size,
	    st->bytes, st->files);
	printf("\n%-30s %9s %8s  %s\n", "group", "articles", "threads",
	    "description");
	for (i = 0; i < st->ngroups; i++)
		printf("%-30s %9" PRIu64 " %8" PRIu64 "  %s\n",
		    st->groups[i].g->name, st->groups[i].articles,
		    st->groups[i].threads, st->groups[i].g->description);
	if (st->nthreads > 0)
		printf("\nbiggest stories\n%9s  %-16s  %-24s  %s\n", "articles",
		    "latest", "group", "subject");
	for (i = 0; i < st->nthreads && i < STATS_TOP; i++) {
		t = &st->threads[i];
		a = &st->arts[t->rootart != SIZE_MAX ? t->rootart : t->oldest];
		fmt_time(t->last, when, sizeof(when), false);
		fmt_subject(thread_subject(st, t), subj, sizeof(subj),
		    STATS_SUBJECT_COLS);
		printf("%9" PRIu64 "  %-16s  %-24s  %s\n", t->count, when,
		    a->group, subj);
	}
	if (stats_newest(st, 0) != NULL)
		printf("\nnewest articles\n%-16s  %-30s  %s\n", "arrived",
		    "article", "subject");
	for (k = 0; (nw = stats_newest(st, k)) != NULL; k++) {
		a = &st->arts[nw->art];
		fmt_time(nw->arrived, when, sizeof(when), false);
		str_printf(loc, sizeof(loc), "%s:%" PRIu64, a->group, a->num);
		fmt_subject(a->subject, subj, sizeof(subj), STATS_SUBJECT_COLS);
		printf("%-16s  %-30s  %s\n", when, loc, subj);
	}
}

static json_t *
json_time(time_t t)
{
	char iso[32];

	if (t == -1)
		return json_null();
	fmt_time(t, iso, sizeof(iso), true);
	return json_string(iso);
}

/* Strings here are valid UTF-8 (utf8_clean, or ASCII from the spool);
 * a string jansson still refuses becomes null rather than a crash. */
static json_t *
json_str(const char *s)
{
	json_t *j = json_string(s);

	return j ? j : json_null();
}

static int
print_json(struct stats *st)
{
	json_t *root = json_object(), *groups = json_array(),
	       *big = json_array(), *newest = json_array(), *o;
	const struct sthread *t;
	const struct snew *nw;
	const struct sart *a;
	size_t i, k;
	char *text;

	json_object_set_new(root, "spool", json_str(spool_dir(st->sp)));
	for (i = 0; i < st->ngroups; i++) {
		o = json_object();
		json_object_set_new(o, "name", json_str(st->groups[i].g->name));
		json_object_set_new(
		    o, "description", json_str(st->groups[i].g->description));
		json_object_set_new(o, "articles",
		    json_integer((json_int_t)st->groups[i].articles));
		json_object_set_new(o, "threads",
		    json_integer((json_int_t)st->groups[i].threads));
		json_object_set_new(
		    o, "low", json_integer((json_int_t)st->groups[i].g->low));
		json_object_set_new(
		    o, "high", json_integer((json_int_t)st->groups[i].g->high));
		json_array_append_new(groups, o);
	}
	json_object_set_new(root, "groups", groups);
	json_object_set_new(
	    root, "articles", json_integer((json_int_t)st->narts));
	json_object_set_new(
	    root, "threads", json_integer((json_int_t)st->nthreads));
	o = json_object();
	json_object_set_new(o, "bytes", json_integer((json_int_t)st->bytes));
	json_object_set_new(o, "files", json_integer((json_int_t)st->files));
	json_object_set_new(root, "size", o);
	for (i = 0; i < st->nthreads && i < STATS_TOP; i++) {
		t = &st->threads[i];
		a = &st->arts[t->rootart != SIZE_MAX ? t->rootart : t->oldest];
		o = json_object();
		json_object_set_new(
		    o, "articles", json_integer((json_int_t)t->count));
		json_object_set_new(
		    o, "subject", json_str(thread_subject(st, t)));
		json_object_set_new(o, "root", json_str(t->root));
		json_object_set_new(o, "group", json_str(a->group));
		json_object_set_new(o, "latest", json_time(t->last));
		json_array_append_new(big, o);
	}
	json_object_set_new(root, "biggest", big);
	for (k = 0; (nw = stats_newest(st, k)) != NULL; k++) {
		a = &st->arts[nw->art];
		o = json_object();
		json_object_set_new(o, "message_id", json_str(a->msgid));
		json_object_set_new(o, "arrived", json_time(nw->arrived));
		json_object_set_new(o, "group", json_str(a->group));
		json_object_set_new(
		    o, "number", json_integer((json_int_t)a->num));
		json_object_set_new(o, "subject", json_str(a->subject));
		json_object_set_new(o, "date", json_time(a->date));
		json_array_append_new(newest, o);
	}
	json_object_set_new(root, "newest", newest);
	text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(root);
	if (text == NULL)
		return -1;
	printf("%s\n", text);
	free(text);
	return 0;
}

static void
stats_free(struct stats *st)
{
	size_t i;

	for (i = 0; i < st->narts; i++) {
		free(st->arts[i].msgid);
		free(st->arts[i].subject);
	}
	for (i = 0; i < st->nthreads; i++)
		free(st->threads[i].root);
	free(st->arts);
	free(st->threads);
	free(st->groups);
	cli_idmap_free(&st->byid);
	cli_idmap_free(&st->bythread);
}

static int
stats_run(struct spool *sp, bool json)
{
	struct stats st;
	int rc = 1;

	memset(&st, 0, sizeof(st));
	st.sp = sp;
	cli_idmap_init(&st.byid);
	cli_idmap_init(&st.bythread);
	if (stats_read_groups(&st) == -1)
		goto out;
	if (spool_history_since(sp, 0, stats_hist, &st) == -1) {
		fprintf(stderr, "newsgate: history: %s\n", strerror(errno));
		goto out;
	}
	/* The threads are sorted now that no article points into them. */
	if (st.nthreads > 0)
		qsort(st.threads, st.nthreads, sizeof(*st.threads), thread_cmp);
	stats_size(&st);
	if (json) {
		if (print_json(&st) == -1) {
			fprintf(
			    stderr, "newsgate: stats: JSON output failed\n");
			goto out;
		}
	} else
		print_text(&st);
	rc = fflush(stdout) == 0 ? 0 : 1;
out:
	stats_free(&st);
	return rc;
}

int
cli_stats(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"spool", required_argument, NULL, 's'},
	    {"config", required_argument, NULL, 'c'},
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *spool = NULL, *conf = NULL;
	struct config c;
	struct spool *sp;
	bool json = false;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, "s:c:jh", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			spool = optarg;
			break;
		case 'c':
			conf = optarg;
			break;
		case 'j':
			json = true;
			break;
		default:
			return cli_usage(STATS_USAGE);
		}
	}
	if (optind != argc)
		return cli_usage(STATS_USAGE);
	signal(SIGPIPE, SIG_IGN);
	if (cli_config(&c, conf, spool) == -1)
		return 1;
	if ((sp = cli_spool_open(&c, SPOOL_READ)) == NULL) {
		config_fini(&c);
		return 1;
	}
	rc = stats_run(sp, json);
	spool_close(sp);
	config_fini(&c);
	return rc;
}
