/*
 * check_offline.c - offline reading from newsgate: the real slrnpull pulls
 * pakistan.news and us.statedept into its own spool, a second pull after
 * more imports fetches only the new articles, slrn reads the pulled spool
 * with the server stopped; and the NEWNEWS and NEWGROUPS answers that
 * offline pullers rely on are exact.
 *
 * slrnpull (the Debian package) runs as a plain program: -d its spool,
 * -h 127.0.0.1:PORT, --logfile and --debug files in the test directory
 * (the debug file is its dialogue with the server: from the answers a
 * test can tell exactly which articles it fetched). Its slrnpull.conf asks
 * for every article of both groups, never expired, whole articles.
 *
 * Times: NEWNEWS and NEWGROUPS take a time in seconds, and newsgate
 * answers with what arrived (history) or was created (active.times) at or
 * after it. The tests read those times from the spool's own files and,
 * before importing "later" articles, poll until the clock has passed the
 * last second used, so a time between two imports separates them exactly.
 * No assertion depends on how long anything took.
 *
 * Without slrnpull, slrn or tmux the tests that need them print a note and
 * pass, except under CI (CI=true), which installs them: there they fail.
 */
#include <sys/stat.h>

#include <check.h>
#include <dirent.h>
#include <limits.h>
#include <signal.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "buf.h"
#include "ngtest.h"
#include "tui.h"

#define WAIT_MS 20000	       /* for any one screen or answer */
#define RUN_TIMEOUT_MS 120000  /* one import or one slrnpull run */
#define CLOCK_WAIT_MS 5000     /* for the clock to pass a second */
#define IDS_MAX 16	       /* articles in one import here */
#define SAMPLE_SUBJECT "United States not considering sanctions on Pakistan"

/*
 * The first batch, imported with contrib/sample/: one article for each
 * group (the sample itself is in both, crossposted). Routing by the
 * embedded rules: section "Pakistan News" or a Pakistani place name goes
 * to pakistan.news, source state.gov to us.statedept.
 */
static const char BATCH_A[] =
    "{\"id\":\"off-a1\",\"date\":\"2024-05-02T08:00:00Z\","
    "\"title\":\"Flood relief convoys reach villages in Sindh\","
    "\"text\":\"Relief convoys reached flooded villages in Sindh on "
    "Thursday, officials in Karachi said. Army helicopters dropped food "
    "and tents.\",\"source\":\"Dawn\",\"section\":\"Pakistan News\"}\n"
    "{\"id\":\"off-a2\",\"date\":\"2024-05-02T09:00:00Z\","
    "\"title\":\"Department spokesman announces new visa rules\","
    "\"text\":\"The spokesman announced new visa rules for students at "
    "the daily press briefing in Washington.\","
    "\"source\":\"state.gov\",\"section\":\"Press briefings\"}\n";

/* The second batch: two for pakistan.news, one crossposted to both. */
static const char BATCH_B[] =
    "{\"id\":\"off-b1\",\"date\":\"2024-05-03T08:00:00Z\","
    "\"title\":\"Karachi port reopens after the storm\","
    "\"text\":\"Karachi port reopened on Friday after two days of high "
    "winds, the port authority said.\",\"source\":\"Dawn\","
    "\"section\":\"Pakistan News\"}\n"
    "{\"id\":\"off-b2\",\"date\":\"2024-05-03T09:00:00Z\","
    "\"title\":\"Secretary meets foreign minister of Pakistan\","
    "\"text\":\"The Secretary met the foreign minister of Pakistan in "
    "Washington to discuss trade and security.\","
    "\"source\":\"state.gov\",\"section\":\"Press briefings\"}\n"
    "{\"id\":\"off-b3\",\"date\":\"2024-05-03T10:00:00Z\","
    "\"title\":\"Smog closes schools in Lahore\","
    "\"text\":\"Schools in Lahore closed for a week because of smog, "
    "the Punjab government said.\",\"source\":\"Geo News\","
    "\"section\":\"Pakistan News\"}\n";

#define A1_SUBJECT "Flood relief convoys reach villages in Sindh"
#define A1_BODY "Relief convoys reached flooded villages"

/* Made by setup() in the Check parent process; every test works in a
 * directory of its own below it. */
static char topdir[PATH_MAX];

static void
setup(void)
{
	signal(SIGPIPE, SIG_IGN);
	if (tui_mkdtemp(topdir, sizeof(topdir), "ng-offline") == -1)
		fatal("mkdtemp");
}

static void
teardown(void)
{
	char home[PATH_MAX];
	struct tui t;

	if (topdir[0] == '\0')
		return;
	if (str_printf(home, sizeof(home), "%s/home-teardown", topdir) &&
	    tui_init(&t, topdir, home) == 0)
		tui_stop(&t);
	if (getenv("NEWSGATE_KEEP") == NULL)
		(void)tui_rmrf(topdir);
	else
		fprintf(stderr, "kept %s\n", topdir);
	topdir[0] = '\0';
}

/* A directory of the test's own, with its spool path (not created). */
static void
test_dir(struct ngt_dir *d, const char *name)
{
	memset(d, 0, sizeof(*d));
	ck_assert(str_printf(d->path, sizeof(d->path), "%s/%s", topdir,
	    name));
	ck_assert_int_eq(mkdir(d->path, 0755), 0);
	ck_assert(str_printf(d->spool, sizeof(d->spool), "%s/spool",
	    d->path));
}

/* A whole file, NUL-terminated (the caller frees); NULL when missing. */
static char *
slurp(const char *path)
{
	struct buf b = BUF_INIT(16 << 20);
	char chunk[4096];
	size_t n;
	FILE *fp;

	if ((fp = fopen(path, "r")) == NULL)
		return NULL;
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		buf_append(&b, chunk, n);
	fclose(fp);
	buf_putc(&b, '\0');
	return buf_steal(&b);
}

/* --- importing, with the Message-IDs committed ---------------------------- */

struct ids {
	char id[IDS_MAX][256];	/* "<...>" */
	char loc[IDS_MAX][256]; /* "pakistan.news:3 us.statedept:2" */
	size_t n;
};

/* newsgate import --verbose FILE; the "committed <id> LOC" lines. */
static void
import_file_ids(const struct ngt_dir *d, const char *file, struct ids *out)
{
	const char *args[] = {"import", "--spool", d->spool, "--verbose",
	    file, NULL};
	struct buf o = BUF_INIT(1 << 20);
	const char *p, *nl;
	char line[1024];
	int rc;

	memset(out, 0, sizeof(*out));
	rc = ngt_run(args, &o, RUN_TIMEOUT_MS);
	ck_assert_msg(rc == 0, "import %s exited %d:\n%s", file, rc,
	    buf_cstr(&o));
	for (p = buf_cstr(&o); *p != '\0'; p = *nl ? nl + 1 : nl) {
		nl = p + strcspn(p, "\n");
		if ((size_t)(nl - p) >= sizeof(line))
			continue;
		memcpy(line, p, (size_t)(nl - p));
		line[nl - p] = '\0';
		if (strncmp(line, "committed <", 11) != 0)
			continue;
		ck_assert_uint_lt(out->n, IDS_MAX);
		ck_assert_int_eq(sscanf(line, "committed %255s %255[^\n]",
		    out->id[out->n], out->loc[out->n]), 2);
		out->n++;
	}
	buf_free(&o);
}

static void
import_text_ids(const struct ngt_dir *d, const char *name, const char *text,
    struct ids *out)
{
	char path[PATH_MAX];

	ck_assert_int_eq(ngt_write(d->path, name, text, path), 0);
	import_file_ids(d, path, out);
}

static void
import_sample(const struct ngt_dir *d)
{
	char sample[PATH_MAX];

	ck_assert(str_printf(sample, sizeof(sample), "%s/contrib/sample/",
	    ngt_top()));
	ck_assert_int_eq(ngt_import(d, sample), 0);
}

/* Append the articles of from to to. */
static void
ids_add(struct ids *to, const struct ids *from)
{
	size_t i;

	for (i = 0; i < from->n; i++) {
		ck_assert_uint_lt(to->n, IDS_MAX);
		ck_assert(str_copy(to->id[to->n], sizeof(to->id[0]),
		    from->id[i]));
		ck_assert(str_copy(to->loc[to->n], sizeof(to->loc[0]),
		    from->loc[i]));
		to->n++;
	}
}

/* Import contrib/sample/ (one article, crossposted to both groups). */
static void
import_sample_ids(const struct ngt_dir *d, struct ids *out)
{
	char sample[PATH_MAX];

	ck_assert(str_printf(sample, sizeof(sample), "%s/contrib/sample/",
	    ngt_top()));
	import_file_ids(d, sample, out);
	ck_assert_uint_eq(out->n, 1);
}

/* --- words in sorted order: sets compared as strings ---------------------- */

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The words of text (separated by white space), sorted, joined by one
 * space, into out. Duplicates are kept, so a word sent twice shows.
 */
static void
sorted_words(const char *text, char *out, size_t cap)
{
	char *copy = xstrdup(text), *save = NULL, *w;
	struct buf b = BUF_INIT(1 << 20);
	char *words[256];
	size_t n = 0, i;

	for (w = strtok_r(copy, " \t\r\n", &save); w != NULL;
	     w = strtok_r(NULL, " \t\r\n", &save)) {
		ck_assert_uint_lt(n, NG_NELEM(words));
		words[n++] = w;
	}
	qsort(words, n, sizeof(*words), cmp_str);
	for (i = 0; i < n; i++)
		buf_printf(&b, "%s%s", i > 0 ? " " : "", words[i]);
	ck_assert_msg(str_copy(out, cap, b.len ? buf_cstr(&b) : ""),
	    "%zu words do not fit", n);
	buf_free(&b);
	free(copy);
}

/* The Message-IDs of ids whose location names group (any group: NULL),
 * sorted as sorted_words() does. */
static void
ids_in(const struct ids *ids, const char *group, char *out, size_t cap)
{
	struct buf b = BUF_INIT(1 << 20);
	char g[300];
	size_t i;

	ck_assert(group == NULL || str_printf(g, sizeof(g), "%s:", group));
	for (i = 0; i < ids->n; i++)
		if (group == NULL || strstr(ids->loc[i], g) != NULL)
			buf_printf(&b, "%s\n", ids->id[i]);
	sorted_words(b.len ? buf_cstr(&b) : "", out, cap);
	buf_free(&b);
}

/* --- times ---------------------------------------------------------------- */

/* The largest number in column col (0-based, white-space separated) of a
 * spool file: arrival times of data/history, creation times of
 * data/active.times. */
static time_t
max_column(const char *spool, const char *file, int col)
{
	char path[PATH_MAX], *text, *line, *save = NULL, *w, *wsave;
	time_t max = 0;
	int i;

	ck_assert(str_printf(path, sizeof(path), "%s/%s", spool, file));
	ck_assert_msg((text = slurp(path)) != NULL, "no %s", path);
	for (line = strtok_r(text, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		wsave = NULL;
		w = strtok_r(line, " \t", &wsave);
		for (i = 0; w != NULL && i < col; i++)
			w = strtok_r(NULL, " \t", &wsave);
		if (w != NULL && (time_t)strtoll(w, NULL, 10) > max)
			max = (time_t)strtoll(w, NULL, 10);
	}
	free(text);
	ck_assert_msg(max > 0, "no times in %s", path);
	return max;
}

/* Poll the clock until it shows a second after t (no fixed sleep). */
static void
wait_past(time_t t)
{
	uint64_t deadline = now_ms() + CLOCK_WAIT_MS;
	struct timespec ts = {0, 10 * 1000 * 1000};

	while (time(NULL) <= t) {
		ck_assert_msg(now_ms() < deadline,
		    "the clock did not pass %lld", (long long)t);
		nanosleep(&ts, NULL);
	}
}

/* "yyyymmdd hhmmss" (or "yymmdd hhmmss" when short) in UTC. */
static void
nntp_time(time_t t, bool short_year, char *out, size_t cap)
{
	char full[32];
	struct tm tm;

	ck_assert_ptr_nonnull(gmtime_r(&t, &tm));
	ck_assert_uint_gt(strftime(full, sizeof(full), "%Y%m%d %H%M%S", &tm),
	    0);
	ck_assert(str_copy(out, cap, short_year ? full + 2 : full));
}

/* --- NNTP over a raw socket ------------------------------------------------ */

static struct ngt_conn *
connect_reader(int port)
{
	char st[NGT_LINE_MAX];
	struct ngt_conn *c;
	int code;

	ck_assert_ptr_nonnull(c = ngt_connect(port));
	code = ngt_status(c, st, sizeof(st));
	ck_assert_msg(code == 200 || code == 201, "greeting: %s", st);
	return c;
}

/* A multi-line command; its body's lines sorted into out. */
static void
listing(struct ngt_conn *c, int want, char *out, size_t cap,
    const char *cmd)
{
	struct buf body = BUF_INIT(1 << 20);
	char st[NGT_LINE_MAX];
	int code;

	code = ngt_cmd(c, st, sizeof(st), "%s", cmd);
	ck_assert_msg(code == want, "%s: %s", cmd, st);
	ck_assert_int_ge(ngt_body(c, &body), 0);
	sorted_words(body.len ? buf_cstr(&body) : "", out, cap);
	buf_free(&body);
}

/* NEWNEWS wildmat SINCE GMT: the Message-IDs, sorted. */
static void
newnews(struct ngt_conn *c, const char *wildmat, time_t since, char *out,
    size_t cap)
{
	char when[32], cmd[512];

	nntp_time(since, false, when, sizeof(when));
	ck_assert(str_printf(cmd, sizeof(cmd), "NEWNEWS %s %s GMT", wildmat,
	    when));
	listing(c, 230, out, cap, cmd);
}

/* --- slrnpull -------------------------------------------------------------- */

struct pull {
	char root[PATH_MAX];  /* its spool: slrnpull.conf, news/, data/ */
	char dir[PATH_MAX];   /* the test directory: logs go here */
	char home[PATH_MAX];  /* HOME of every run */
	int round;	      /* runs so far */
	char log[PATH_MAX];   /* the last run's --logfile */
	char dbg[PATH_MAX];   /* the last run's --debug file */
	char out[8192];	      /* the last run's stdout and stderr */
};

static void
pull_init(struct pull *p, const struct ngt_dir *d)
{
	char path[PATH_MAX];

	memset(p, 0, sizeof(*p));
	ck_assert(str_copy(p->dir, sizeof(p->dir), d->path));
	ck_assert(str_printf(p->root, sizeof(p->root), "%s/slrnpull",
	    d->path));
	ck_assert(str_printf(p->home, sizeof(p->home), "%s/home-pull",
	    d->path));
	ck_assert_int_eq(mkdir(p->root, 0755), 0);
	ck_assert_int_eq(mkdir(p->home, 0700), 0);
	/* Where slrn (use_slrnpull) queues posts; slrn refuses to start in
	 * spool mode without it, and slrnpull does not make it. */
	ck_assert(str_printf(path, sizeof(path), "%s/out.going", p->root));
	ck_assert_int_eq(mkdir(path, 0755), 0);
	/* Group, articles to fetch (0: all), days to expiry (0: never),
	 * headers only (0: whole articles). */
	ck_assert_int_eq(ngt_write(p->root, "slrnpull.conf",
	    "# newsgate test: both groups, everything, kept\n"
	    "default 0 0 0\n"
	    "pakistan.news\n"
	    "us.statedept\n", NULL), 0);
}

/* One slrnpull run against the server on port; extra: one more option
 * (--new-groups) or NULL. Asserts it exits 0. */
static void
pull_run(struct pull *p, const char *slrnpull, int port, const char *extra)
{
	char host[64], env_home[PATH_MAX + 8];
	const char *envp[] = {env_home, "PATH=/usr/bin:/bin", "LANG=C",
	    "TZ=UTC", NULL};
	int rc;

	p->round++;
	ck_assert(str_printf(host, sizeof(host), "127.0.0.1:%d", port));
	ck_assert(str_printf(env_home, sizeof(env_home), "HOME=%s",
	    p->home));
	ck_assert(str_printf(p->log, sizeof(p->log), "%s/pull%d.log", p->dir,
	    p->round));
	ck_assert(str_printf(p->dbg, sizeof(p->dbg), "%s/pull%d.debug",
	    p->dir, p->round));
	const char *argv[] = {slrnpull, "-d", p->root, "-h", host,
	    "--no-post", "--logfile", p->log, "--debug", p->dbg, extra, NULL};
	rc = tui_run(argv, envp, p->out, sizeof(p->out), RUN_TIMEOUT_MS);
	ck_assert_msg(rc == 0, "slrnpull run %d exited %d:\n%s", p->round,
	    rc, p->out);
}

/*
 * The articles the last run fetched, from its dialogue with the server.
 * slrnpull pipelines its commands (the debug file prefixes only the first
 * of a batch with '>'), so this reads the answers, which all start with
 * '<': "211 n low high GROUP" sets the group, "220|221|222 N <id>" is an
 * article, its head or its body (slrnpull asks for head and body
 * separately). Each as "group:N", sorted, once.
 */
static void
pull_fetched(const struct pull *p, char *out, size_t cap)
{
	char *text, *line, *save = NULL, group[256] = "";
	struct buf b = BUF_INIT(1 << 20), seen = BUF_INIT(1 << 20);
	unsigned long n;
	char item[300];
	int code;

	ck_assert_msg((text = slurp(p->dbg)) != NULL, "no %s", p->dbg);
	for (line = strtok_r(text, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		if (line[0] != '<')
			continue;
		if (sscanf(line + 1, "211 %*u %*u %*u %255s", group) == 1)
			continue;
		if (sscanf(line + 1, "%d %lu <", &code, &n) != 2 ||
		    code < 220 || code > 222)
			continue;
		ck_assert(str_printf(item, sizeof(item), " %s:%lu ", group,
		    n));
		if (seen.len > 0 && strstr(buf_cstr(&seen), item) != NULL)
			continue;
		buf_printf(&seen, "%s", seen.len ? item + 1 : item);
		buf_printf(&b, "%s:%lu\n", group, n);
	}
	free(text);
	buf_free(&seen);
	sorted_words(b.len ? buf_cstr(&b) : "", out, cap);
	buf_free(&b);
}

/* Did the last run get an answer starting with prefix ("231 ")? */
static bool
pull_answered(const struct pull *p, const char *prefix)
{
	char *text, *line, *save = NULL;
	bool found = false;

	ck_assert_msg((text = slurp(p->dbg)) != NULL, "no %s", p->dbg);
	for (line = strtok_r(text, "\n", &save); line != NULL && !found;
	     line = strtok_r(NULL, "\n", &save))
		found = line[0] == '<' &&
		    strncmp(line + 1, prefix, strlen(prefix)) == 0;
	free(text);
	return found;
}

/* path = root/news/GROUP-AS-DIRS[/num] (num < 0: the directory). */
static void
pulled_path(const struct pull *p, const char *group, long num, char *path,
    size_t cap)
{
	char gdir[256], *q;

	ck_assert(str_copy(gdir, sizeof(gdir), group));
	for (q = gdir; *q != '\0'; q++)
		if (*q == '.')
			*q = '/';
	if (num < 0)
		ck_assert(str_printf(path, cap, "%s/news/%s", p->root, gdir));
	else
		ck_assert(str_printf(path, cap, "%s/news/%s/%ld", p->root,
		    gdir, num));
}

/* The numeric file names in the pulled group directory, sorted. */
static void
pulled_numbers(const struct pull *p, const char *group, char *out,
    size_t cap)
{
	struct buf b = BUF_INIT(1 << 20);
	char path[PATH_MAX];
	struct dirent *de;
	long nums[256];
	size_t n = 0, i;
	DIR *dp;

	pulled_path(p, group, -1, path, sizeof(path));
	ck_assert_msg((dp = opendir(path)) != NULL, "no %s", path);
	while ((de = readdir(dp)) != NULL) {
		if (de->d_name[0] == '\0' ||
		    strspn(de->d_name, "0123456789") != strlen(de->d_name))
			continue;
		ck_assert_uint_lt(n, NG_NELEM(nums));
		nums[n++] = strtol(de->d_name, NULL, 10);
	}
	closedir(dp);
	/* Numerically: an insertion sort of a handful. */
	for (i = 1; i < n; i++)
		for (size_t j = i; j > 0 && nums[j - 1] > nums[j]; j--) {
			long t = nums[j];

			nums[j] = nums[j - 1];
			nums[j - 1] = t;
		}
	for (i = 0; i < n; i++)
		buf_printf(&b, "%s%ld", i ? " " : "", nums[i]);
	ck_assert(str_copy(out, cap, b.len ? buf_cstr(&b) : ""));
	buf_free(&b);
}

/* The pulled article group/num: LF line ends, carrying Message-ID id. */
static void
assert_pulled(const struct pull *p, const char *group, long num,
    const char *id)
{
	char path[PATH_MAX], hdr[320], *text;

	pulled_path(p, group, num, path, sizeof(path));
	ck_assert_msg((text = slurp(path)) != NULL, "not pulled: %s", path);
	ck_assert(str_printf(hdr, sizeof(hdr), "\nMessage-ID: %s\n", id));
	ck_assert_msg(strstr(text, hdr) != NULL, "%s is not %s:\n%s", path,
	    id, text);
	ck_assert_msg(strchr(text, '\r') == NULL, "CR in %s", path);
	ck_assert_msg(strstr(text, "\n\n") != NULL, "%s has no body", path);
	free(text);
}

/* The Message-ID of ids at location "group:num". */
static const char *
id_at(const struct ids *ids, const char *group, int num)
{
	char want[300];
	size_t i, len;
	const char *p;

	ck_assert(str_printf(want, sizeof(want), "%s:%d", group, num));
	len = strlen(want);
	for (i = 0; i < ids->n; i++)
		for (p = ids->loc[i]; (p = strstr(p, want)) != NULL; p += len)
			if ((p == ids->loc[i] || p[-1] == ' ') &&
			    (p[len] == '\0' || p[len] == ' '))
				return ids->id[i];
	ck_abort_msg("no article at %s", want);
	return NULL;
}

/* The file's inode and modification time, to see it was not rewritten. */
static void
file_stamp(const struct pull *p, const char *rel, struct stat *st)
{
	char path[PATH_MAX];

	ck_assert(str_printf(path, sizeof(path), "%s/%s", p->root, rel));
	ck_assert_int_eq(stat(path, st), 0);
}

/* Import the sample and batch A, serve, pull once. */
static void
first_pull(struct ngt_dir *d, struct ngt_server *srv, struct ids *a,
    struct pull *p, const char *slrnpull)
{
	char got[1024];
	struct ids more;

	import_sample_ids(d, a);
	import_text_ids(d, "a.jsonl", BATCH_A, &more);
	ck_assert_uint_eq(more.n, 2);
	ids_add(a, &more);
	ck_assert_int_eq(ngt_server_start(srv, d->spool, NULL), 0);
	pull_init(p, d);
	pull_run(p, slrnpull, srv->port, NULL);

	pulled_numbers(p, "pakistan.news", got, sizeof(got));
	ck_assert_str_eq(got, "1 2");
	pulled_numbers(p, "us.statedept", got, sizeof(got));
	ck_assert_str_eq(got, "1 2");
}

START_TEST(test_slrnpull_pulls_then_only_new)
{
	char slrnpull[PATH_MAX], got[1024], *log;
	struct ngt_server srv;
	struct ngt_dir d;
	struct ids a, b;
	struct pull p;
	struct stat before, after;

	if (!tui_need("slrnpull", slrnpull, sizeof(slrnpull)))
		return;
	test_dir(&d, "pull");
	first_pull(&d, &srv, &a, &p, slrnpull);

	/* Every article of both groups, the crosspost in each. */
	pull_fetched(&p, got, sizeof(got));
	ck_assert_str_eq(got, "pakistan.news:1 pakistan.news:2 "
			      "us.statedept:1 us.statedept:2");
	assert_pulled(&p, "pakistan.news", 2,
	    id_at(&a, "pakistan.news", 2));
	assert_pulled(&p, "us.statedept", 2, id_at(&a, "us.statedept", 2));
	assert_pulled(&p, "pakistan.news", 1, id_at(&a, "pakistan.news", 1));
	assert_pulled(&p, "us.statedept", 1, id_at(&a, "us.statedept", 1));
	file_stamp(&p, "news/pakistan/news/1", &before);

	/* More news: pakistan.news 3-5, the crosspost us.statedept 3. */
	import_text_ids(&d, "b.jsonl", BATCH_B, &b);
	ck_assert_uint_eq(b.n, 3);
	(void)id_at(&b, "pakistan.news", 3);
	(void)id_at(&b, "pakistan.news", 5);
	(void)id_at(&b, "us.statedept", 3);

	pull_run(&p, slrnpull, srv.port, NULL);
	pull_fetched(&p, got, sizeof(got));
	ck_assert_str_eq(got, "pakistan.news:3 pakistan.news:4 "
			      "pakistan.news:5 us.statedept:3");
	pulled_numbers(&p, "pakistan.news", got, sizeof(got));
	ck_assert_str_eq(got, "1 2 3 4 5");
	pulled_numbers(&p, "us.statedept", got, sizeof(got));
	ck_assert_str_eq(got, "1 2 3");
	assert_pulled(&p, "pakistan.news", 3, id_at(&b, "pakistan.news", 3));
	assert_pulled(&p, "pakistan.news", 4, id_at(&b, "pakistan.news", 4));
	assert_pulled(&p, "pakistan.news", 5, id_at(&b, "pakistan.news", 5));
	assert_pulled(&p, "us.statedept", 3, id_at(&b, "us.statedept", 3));
	/* The old articles were left as they were. */
	file_stamp(&p, "news/pakistan/news/1", &after);
	ck_assert(before.st_ino == after.st_ino &&
	    before.st_mtim.tv_sec == after.st_mtim.tv_sec &&
	    before.st_mtim.tv_nsec == after.st_mtim.tv_nsec);

	/* Nothing new: nothing fetched, and slrnpull says so. */
	pull_run(&p, slrnpull, srv.port, NULL);
	pull_fetched(&p, got, sizeof(got));
	ck_assert_str_eq(got, "");
	ck_assert_ptr_nonnull(log = slurp(p.log));
	ck_assert_msg(strstr(log, "pakistan.news: no new articles") != NULL &&
	    strstr(log, "us.statedept: no new articles") != NULL,
	    "slrnpull's log:\n%s", log);
	free(log);

	ck_assert_int_eq(ngt_server_stop(&srv), 0);
}
END_TEST

/* The slrnrc of a user reading what slrnpull pulled (its README). */
static void
write_pull_slrnrc(const char *home, const struct pull *p)
{
	char path[PATH_MAX];
	FILE *fp;

	ck_assert(str_printf(path, sizeof(path), "%s/.slrnrc", home));
	ck_assert_ptr_nonnull(fp = fopen(path, "w"));
	fprintf(fp,
	    "set server_object \"spool\"\n"
	    "set spool_inn_root \"%s\"\n"
	    "set spool_root \"%s/news\"\n"
	    "set spool_nov_root \"%s/news\"\n"
	    "set use_slrnpull 1\n"
	    "set read_active 1\n"
	    "set hostname \"newsgate.invalid\"\n"
	    "set username \"tester\"\n"
	    "set realname \"Newsgate Tester\"\n",
	    p->root, p->root, p->root);
	ck_assert_int_eq(fclose(fp), 0);
}

START_TEST(test_slrn_reads_pulled_spool_offline)
{
	char slrnpull[PATH_MAX], slrn[PATH_MAX], tmux[PATH_MAX];
	char home[PATH_MAX], cmd[3 * PATH_MAX];
	struct ngt_server srv;
	struct ngt_dir d;
	struct ids a;
	struct pull p;
	struct tui t;

	if (!tui_need("tmux", tmux, sizeof(tmux)) ||
	    !tui_need("slrn", slrn, sizeof(slrn)) ||
	    !tui_need("slrnpull", slrnpull, sizeof(slrnpull)))
		return;
	test_dir(&d, "offline");
	first_pull(&d, &srv, &a, &p, slrnpull);
	/* Offline from here on: no server. */
	ck_assert_int_eq(ngt_server_stop(&srv), 0);

	ck_assert(str_printf(home, sizeof(home), "%s/home-slrn", d.path));
	ck_assert_int_eq(tui_init(&t, topdir, home), 0);
	write_pull_slrnrc(home, &p);
	ck_assert(str_printf(cmd, sizeof(cmd),
	    "exec '%s' --spool -f '%s/.jnewsrc' --create", slrn, home));
	ck_assert_int_eq(tui_start(&t, cmd), 0);
	ck_assert_msg(tui_wait(&t, "News Groups:", WAIT_MS),
	    "slrn did not show its group list");
	ck_assert_msg(tui_wait(&t, "pakistan.news", WAIT_MS) &&
	    tui_wait(&t, "us.statedept", WAIT_MS), "a group is missing");

	ck_assert_msg(tui_cursor_to(&t, "->", "pakistan.news", 10, WAIT_MS),
	    "cannot select pakistan.news");
	ck_assert_int_eq(tui_keys(&t, "Enter"), 0);
	ck_assert_msg(tui_wait(&t, "Group: pakistan.news", WAIT_MS),
	    "pakistan.news did not open");
	ck_assert_msg(tui_wait(&t, SAMPLE_SUBJECT, WAIT_MS) &&
	    tui_wait(&t, A1_SUBJECT, WAIT_MS),
	    "the pulled articles are not listed");
	ck_assert_msg(tui_cursor_to(&t, "->", A1_SUBJECT, 10, WAIT_MS),
	    "cannot select the flood article");
	ck_assert_int_eq(tui_keys(&t, "Space"), 0);
	ck_assert_msg(tui_wait(&t, A1_BODY, WAIT_MS),
	    "the pulled article's body did not display");
	ck_assert_msg(strstr(t.screen, "^M") == NULL, "CR in the article:\n%s",
	    t.screen);
	tui_stop(&t);
}
END_TEST

START_TEST(test_slrnpull_new_groups)
{
	char slrnpull[PATH_MAX], path[PATH_MAX], *text;
	struct ngt_server srv;
	struct ngt_dir d;
	struct pull p;

	if (!tui_need("slrnpull", slrnpull, sizeof(slrnpull)))
		return;
	test_dir(&d, "newgroups-pull");
	import_sample(&d);
	ck_assert_int_eq(ngt_server_start(&srv, d.spool, NULL), 0);
	pull_init(&p, &d);
	/* The first --new-groups run only notes the time (slrnpull asks for
	 * groups newer than its last run); make that time later than the
	 * groups the import created. */
	wait_past(max_column(d.spool, "data/active.times", 1));
	pull_run(&p, slrnpull, srv.port, "--new-groups");

	const char *add[] = {"groups", "--spool", d.spool, "add",
	    "test.offline", "Offline reading tests", NULL};
	ck_assert_int_eq(ngt_run(add, NULL, RUN_TIMEOUT_MS), 0);
	pull_run(&p, slrnpull, srv.port, "--new-groups");
	ck_assert_msg(pull_answered(&p, "231 "),
	    "slrnpull got no NEWGROUPS answer:\n%s", p.out);
	ck_assert(str_printf(path, sizeof(path), "%s/data/new.groups",
	    p.root));
	ck_assert_msg((text = slurp(path)) != NULL, "no %s", path);
	/* Exactly the new group, in active form. */
	ck_assert_msg(strncmp(text, "test.offline ", 13) == 0 &&
	    strchr(text, '\n') == strrchr(text, '\n') &&
	    strstr(text, "pakistan.news") == NULL,
	    "new.groups:\n%s", text);
	free(text);
	ck_assert_int_eq(ngt_server_stop(&srv), 0);
}
END_TEST

/* --- NEWNEWS, NEWGROUPS over a raw socket ----------------------------------- */

START_TEST(test_newnews_exact)
{
	char got[8192], want[8192], when[32], cmd[128];
	struct ngt_server srv;
	struct ngt_conn *c;
	struct ngt_dir d;
	struct ids a, b, more, again;
	time_t t_a, t_b;

	test_dir(&d, "newnews");
	import_sample_ids(&d, &a);
	import_text_ids(&d, "a.jsonl", BATCH_A, &more);
	ck_assert_uint_eq(more.n, 2);
	ids_add(&a, &more);
	ck_assert_int_eq(ngt_server_start(&srv, d.spool, NULL), 0);
	c = connect_reader(srv.port);

	/* Since long before: every article, once. */
	newnews(c, "*", 946684800, got, sizeof(got)); /* 2000-01-01 */
	ids_in(&a, NULL, want, sizeof(want));
	ck_assert_str_eq(got, want);

	/* Since a time after the first imports and before the next. */
	t_a = max_column(d.spool, "data/history", 1);
	wait_past(t_a);
	import_text_ids(&d, "b.jsonl", BATCH_B, &b);
	ck_assert_uint_eq(b.n, 3);

	newnews(c, "*", t_a + 1, got, sizeof(got));
	ids_in(&b, NULL, want, sizeof(want));
	ck_assert_str_eq(got, want);
	/* By group: the crosspost is in both, listed once in each. */
	newnews(c, "pakistan.news", t_a + 1, got, sizeof(got));
	ids_in(&b, "pakistan.news", want, sizeof(want));
	ck_assert_str_eq(got, want);
	newnews(c, "us.*", t_a + 1, got, sizeof(got));
	ids_in(&b, "us.statedept", want, sizeof(want));
	ck_assert_str_eq(got, want);
	newnews(c, "pakistan.*,!us.*", t_a + 1, got, sizeof(got));
	ids_in(&b, "pakistan.news", want, sizeof(want));
	ck_assert_str_eq(got, want);
	newnews(c, "no.such.group", t_a + 1, got, sizeof(got));
	ck_assert_str_eq(got, "");
	/* The two-digit year form means the same. */
	nntp_time(t_a + 1, true, when, sizeof(when));
	ck_assert(str_printf(cmd, sizeof(cmd), "NEWNEWS * %s GMT", when));
	listing(c, 230, got, sizeof(got), cmd);
	ids_in(&b, NULL, want, sizeof(want));
	ck_assert_str_eq(got, want);

	/* Importing the same items again adds nothing. */
	import_text_ids(&d, "b-again.jsonl", BATCH_B, &again);
	ck_assert_uint_eq(again.n, 0);
	newnews(c, "*", t_a + 1, got, sizeof(got));
	ck_assert_str_eq(got, want);

	/* Since after the last import: nothing. */
	t_b = max_column(d.spool, "data/history", 1);
	newnews(c, "*", t_b + 1, got, sizeof(got));
	ck_assert_str_eq(got, "");

	/* Everything still, since long before. */
	ids_add(&a, &b);
	newnews(c, "*", 946684800, got, sizeof(got));
	ids_in(&a, NULL, want, sizeof(want));
	ck_assert_str_eq(got, want);

	ngt_close(c);
	ck_assert_int_eq(ngt_server_stop(&srv), 0);
}
END_TEST

/* The LIST ACTIVE line of group, for comparing with NEWGROUPS. */
static void
active_line(struct ngt_conn *c, const char *group, char *out, size_t cap)
{
	struct buf body = BUF_INIT(1 << 16);
	char st[NGT_LINE_MAX];

	ck_assert_int_eq(ngt_cmd(c, st, sizeof(st), "LIST ACTIVE %s", group),
	    215);
	ck_assert_int_eq(ngt_body(c, &body), 1);
	ck_assert(str_copy(out, cap, buf_cstr(&body)));
	out[strcspn(out, "\n")] = '\0';
	buf_free(&body);
}

START_TEST(test_newgroups_exact)
{
	char got[4096], want[4096], when[32], cmd[128];
	char line1[512], line2[512];
	struct ngt_server srv;
	struct ngt_conn *c;
	struct ngt_dir d;
	time_t t0, t1;

	test_dir(&d, "newgroups");
	import_sample(&d);
	ck_assert_int_eq(ngt_server_start(&srv, d.spool, NULL), 0);
	c = connect_reader(srv.port);

	/* Since long before: the two groups the import created. */
	listing(c, 231, got, sizeof(got), "NEWGROUPS 20000101 000000 GMT");
	ck_assert_str_eq(got, "1 1 1 1 pakistan.news us.statedept y y");

	t0 = max_column(d.spool, "data/active.times", 1);
	wait_past(t0);
	const char *add1[] = {"groups", "--spool", d.spool, "add",
	    "test.offline", "Offline reading tests", NULL};
	const char *add2[] = {"groups", "--spool", d.spool, "--read-only",
	    "add", "test.readonly", NULL};
	ck_assert_int_eq(ngt_run(add1, NULL, RUN_TIMEOUT_MS), 0);
	ck_assert_int_eq(ngt_run(add2, NULL, RUN_TIMEOUT_MS), 0);

	/* Since a time between: exactly the two new groups, each line as
	 * LIST ACTIVE gives it (the read-only one flagged n). The form
	 * slrn sends: two-digit year. */
	nntp_time(t0 + 1, true, when, sizeof(when));
	ck_assert(str_printf(cmd, sizeof(cmd), "NEWGROUPS %s GMT", when));
	listing(c, 231, got, sizeof(got), cmd);
	active_line(c, "test.offline", line1, sizeof(line1));
	active_line(c, "test.readonly", line2, sizeof(line2));
	ck_assert_msg(strncmp(line1, "test.offline ", 13) == 0 &&
	    line1[strlen(line1) - 1] == 'y', "%s", line1);
	ck_assert_msg(strncmp(line2, "test.readonly ", 14) == 0 &&
	    line2[strlen(line2) - 1] == 'n', "%s", line2);
	ck_assert(str_printf(cmd, sizeof(cmd), "%s\n%s", line1, line2));
	sorted_words(cmd, want, sizeof(want));
	ck_assert_str_eq(got, want);

	/* Since after the last one: none. */
	t1 = max_column(d.spool, "data/active.times", 1);
	nntp_time(t1 + 1, false, when, sizeof(when));
	ck_assert(str_printf(cmd, sizeof(cmd), "NEWGROUPS %s GMT", when));
	listing(c, 231, got, sizeof(got), cmd);
	ck_assert_str_eq(got, "");

	/* A removed group is no longer new. */
	const char *rm[] = {"groups", "--spool", d.spool, "remove",
	    "test.offline", NULL};
	ck_assert_int_eq(ngt_run(rm, NULL, RUN_TIMEOUT_MS), 0);
	nntp_time(t0 + 1, false, when, sizeof(when));
	ck_assert(str_printf(cmd, sizeof(cmd), "NEWGROUPS %s GMT", when));
	listing(c, 231, got, sizeof(got), cmd);
	sorted_words(line2, want, sizeof(want));
	ck_assert_str_eq(got, want);

	ngt_close(c);
	ck_assert_int_eq(ngt_server_stop(&srv), 0);
}
END_TEST

static Suite *
offline_suite(void)
{
	Suite *s = suite_create("offline");
	TCase *tp = tcase_create("slrnpull");
	TCase *tn = tcase_create("newnews");

	tcase_add_unchecked_fixture(tp, setup, teardown);
	tcase_set_timeout(tp, 180);
	tcase_add_test(tp, test_slrnpull_pulls_then_only_new);
	tcase_add_test(tp, test_slrn_reads_pulled_spool_offline);
	tcase_add_test(tp, test_slrnpull_new_groups);
	suite_add_tcase(s, tp);

	tcase_add_unchecked_fixture(tn, setup, teardown);
	tcase_set_timeout(tn, 120);
	tcase_add_test(tn, test_newnews_exact);
	tcase_add_test(tn, test_newgroups_exact);
	suite_add_tcase(s, tn);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(offline_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
