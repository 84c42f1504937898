/*
 * check_rethread.c - `newsgate rethread` rewrites References, end to end:
 * a story of four articles (two of them crossposted), two unrelated ones
 * and a follow-up with References of its own are imported; rethread with
 * a threshold nobody reaches must take the three similarity links out of
 * the article files (every copy of a crosspost, still one file), the
 * .overview and OVER/XOVER of a server that keeps running, with article
 * numbers unchanged, `newsgate check` clean and `threads --tsv` agreeing;
 * --dry-run changes nothing; the follow-up's References are never
 * touched; and a rethread with the import's settings restores every
 * article file byte for byte.
 *
 * The crash test kills rethread with SIGKILL at moments spread over its
 * run, over and over, alternating two thresholds, on a spool of 240
 * articles in 48 stories: after every kill `newsgate check` must pass and
 * every article file be whole; then a rethread that is not killed
 * finishes the job (a dry run after it finds nothing to change), and a
 * last one with the import's settings restores every file byte for byte.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include "common.h"
#include "buf.h"
#include "ngtest.h"

#define WAIT_MS 60000	  /* for any one command (ASan is slow) */
#define CRASH_KILLS 24	  /* rethreads killed */
#define CRASH_STORIES 48  /* stories of the crash spool */
#define CRASH_PER_STORY 5 /* articles per story */
#define FOLLOWUP_REFS "<original-post@example.org>"

/* Four articles about one eruption (s1 and s2 crossposted to
 * us.statedept), two about other things, one day. */
static const char story[] =
    "{\"id\": \"s1\", \"date\": \"2024-05-02T08:00:00Z\", \"title\": "
    "\"Volcano erupts near Grindavik in Iceland, town evacuated\", "
    "\"text\": \"A volcano erupted near the fishing town of Grindavik in "
    "southwest Iceland on Thursday, sending lava towards the town. "
    "Residents of Grindavik were evacuated overnight. The State "
    "Department said so.\", \"source\": \"Reykjavik Daily\", "
    "\"section\": \"Pakistan News\"}\n"
    "{\"id\": \"u1\", \"date\": \"2024-05-02T08:30:00Z\", \"title\": "
    "\"Central bank holds interest rates steady\", \"text\": \"The "
    "central bank kept its key interest rate unchanged on Thursday, "
    "citing easing inflation.\", \"source\": \"Money Wire\", "
    "\"section\": \"Pakistan News\"}\n"
    "{\"id\": \"s2\", \"date\": \"2024-05-02T09:10:00Z\", \"title\": "
    "\"Iceland volcano: lava flows reach Grindavik defences\", \"text\": "
    "\"Lava from the eruption near Grindavik reached the earth barriers "
    "built to protect the town, Iceland's civil protection agency said. "
    "The State Department said so.\", \"source\": \"Nordic News\", "
    "\"section\": \"Pakistan News\"}\n"
    "{\"id\": \"s3\", \"date\": \"2024-05-02T10:45:00Z\", \"title\": "
    "\"Grindavik eruption: Blue Lagoon closed as Iceland volcano spews "
    "lava\", \"text\": \"The Blue Lagoon spa near Grindavik closed after "
    "the volcano erupted again in Iceland's Reykjanes peninsula.\", "
    "\"source\": \"Travel Today\", \"section\": \"Pakistan News\"}\n"
    "{\"id\": \"u2\", \"date\": \"2024-05-02T11:00:00Z\", \"title\": "
    "\"Local team wins the regional chess championship\", \"text\": "
    "\"The under-16 chess team took the regional title after a tense "
    "final round on Thursday.\", \"source\": \"Town Gazette\", "
    "\"section\": \"Pakistan News\"}\n"
    "{\"id\": \"s4\", \"date\": \"2024-05-02T12:20:00Z\", \"title\": "
    "\"Flights continue at Keflavik despite Grindavik volcano eruption "
    "in Iceland\", \"text\": \"Keflavik airport stays open while the "
    "volcano near Grindavik erupts, Iceland's airport operator said.\", "
    "\"source\": \"Air Travel News\", \"section\": \"Pakistan News\"}\n";

/* A reader's follow-up about the same story, References its own. */
static const char followup[] =
    "From: Reader <reader@example.org>\n"
    "Newsgroups: pakistan.news\n"
    "Subject: Re: Volcano erupts near Grindavik in Iceland\n"
    "Date: Thu, 02 May 2024 13:00:00 +0000\n"
    "Message-ID: <followup-1@example.org>\n"
    "References: " FOLLOWUP_REFS "\n"
    "\n"
    "The volcano near Grindavik in Iceland erupted again; lava reached the\n"
    "town defences and Grindavik was evacuated.\n";

/* newsgate CMD --spool SPOOL ARGS...: exit status, output into out. */
static int
run(const char *spool, struct buf *out, const char *cmd, const char *a1,
    const char *a2, const char *a3)
{
	const char *args[] = {cmd, "--spool", spool, a1, a2, a3, NULL};

	buf_reset(out);
	return ngt_run(args, out, WAIT_MS);
}

static void
read_path(const char *path, struct buf *out)
{
	char chunk[8192];
	ssize_t n;
	int fd;

	buf_reset(out);
	ck_assert_msg((fd = open(path, O_RDONLY)) != -1, "open %s", path);
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		buf_append(out, chunk, (size_t)n);
	close(fd);
	buf_putc(out, '\0');
	out->len--;
}

/* Article num of group into out. */
static void
read_article(
    const char *spool, const char *group, uint64_t num, struct buf *out)
{
	char dir[PATH_MAX], path[PATH_MAX + 32];

	ngt_group_dir(spool, group, dir, sizeof(dir));
	ck_assert(str_printf(path, sizeof(path), "%s/%" PRIu64, dir, num));
	read_path(path, out);
}

/* The unfolded value of header name in an article ("" when absent);
 * *found says whether it is there. */
static void
header(const char *art, const char *name, struct buf *out, bool *found)
{
	size_t nlen = strlen(name);
	const char *p = art, *e;

	buf_reset(out);
	*found = false;
	for (; *p && *p != '\n'; p = e + 1) {
		if ((e = strchr(p, '\n')) == NULL)
			break;
		if (*found && (*p == ' ' || *p == '\t'))
			buf_append(out, p, (size_t)(e - p));
		else if (*found)
			break;
		else if (strncasecmp(p, name, nlen) == 0 && p[nlen] == ':') {
			*found = true;
			p += nlen + 1;
			while (*p == ' ')
				p++;
			buf_append(out, p, (size_t)(e - p));
		}
	}
	buf_putc(out, '\0');
	out->len--;
}

/* Every article file of the spool: "group/num" -> content, for byte
 * comparison; the names sorted. */
struct snap {
	char **names;
	struct buf *data;
	size_t n;
};

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
snap_dir(struct snap *s, const char *spool, const char *group)
{
	char dir[PATH_MAX], path[PATH_MAX + 300], name[300];
	struct dirent *de;
	uint64_t v;
	DIR *d;

	ngt_group_dir(spool, group, dir, sizeof(dir));
	ck_assert_ptr_nonnull(d = opendir(dir));
	while ((de = readdir(d)) != NULL) {
		if (parse_u64(de->d_name, strlen(de->d_name), &v) == -1)
			continue;
		ck_assert(
		    str_printf(name, sizeof(name), "%s/%s", group, de->d_name));
		ck_assert(
		    str_printf(path, sizeof(path), "%s/%s", dir, de->d_name));
		s->names = xreallocarray(s->names, s->n + 1, sizeof(char *));
		s->data = xreallocarray(s->data, s->n + 1, sizeof(struct buf));
		s->names[s->n] = xstrdup(name);
		buf_init(&s->data[s->n], SIZE_MAX);
		read_path(path, &s->data[s->n]);
		s->n++;
	}
	closedir(d);
}

static void
snap_take(struct snap *s, const char *spool)
{
	size_t i, j;

	memset(s, 0, sizeof(*s));
	snap_dir(s, spool, "pakistan.news");
	snap_dir(s, spool, "us.statedept");
	/* Sort names and data together (few files: insertion sort). */
	for (i = 1; i < s->n; i++)
		for (j = i;
		     j > 0 && name_cmp(&s->names[j - 1], &s->names[j]) > 0;
		     j--) {
			char *t = s->names[j];
			struct buf b = s->data[j];

			s->names[j] = s->names[j - 1];
			s->names[j - 1] = t;
			s->data[j] = s->data[j - 1];
			s->data[j - 1] = b;
		}
}

static void
snap_free(struct snap *s)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		free(s->names[i]);
		buf_free(&s->data[i]);
	}
	free(s->names);
	free(s->data);
	memset(s, 0, sizeof(*s));
}

/* Same files, same names, same bytes? (Count of those that differ.) */
static size_t
snap_diff(const struct snap *a, const struct snap *b, bool show)
{
	size_t i, differ = 0;

	ck_assert_uint_eq(a->n, b->n);
	for (i = 0; i < a->n; i++) {
		ck_assert_str_eq(a->names[i], b->names[i]);
		if (a->data[i].len != b->data[i].len ||
		    memcmp(a->data[i].data, b->data[i].data, a->data[i].len)) {
			if (show)
				fprintf(stderr, "%s differs\n", a->names[i]);
			differ++;
		}
	}
	return differ;
}

/* The article of the snapshot that carries text. */
static const struct buf *
snap_find(const struct snap *s, const char *group, const char *text)
{
	size_t i, gl = strlen(group);

	for (i = 0; i < s->n; i++)
		if (strncmp(s->names[i], group, gl) == 0 &&
		    s->names[i][gl] == '/' && strstr(s->data[i].data, text))
			return &s->data[i];
	ck_abort_msg("no article with %s in %s", text, group);
	return NULL;
}

/* --- OVER through a running server -------------------------------------- */

/* Field i of a tab-separated line, into out. */
static void
field(const char *line, int i, struct buf *out)
{
	const char *p = line, *t;

	for (; i > 0 && p; i--)
		if ((p = strchr(p, '\t')) != NULL)
			p++;
	buf_reset(out);
	ck_assert_ptr_nonnull(p);
	t = p + strcspn(p, "\t\n");
	buf_append(out, p, (size_t)(t - p));
	buf_putc(out, '\0');
	out->len--;
}

/*
 * OVER (or XOVER) of the whole group through the server must give, for
 * every article, the References and Bytes of its file as it is now.
 * Returns the number of lines with non-empty References.
 */
static int
over_matches_files(
    int port, const char *spool, const char *group, const char *verb)
{
	struct buf body = BUF_INIT(1 << 20), art = BUF_INIT(1 << 20),
		   f = BUF_INIT(SIZE_MAX), want = BUF_INIT(SIZE_MAX);
	char st[NGT_LINE_MAX];
	struct ngt_conn *c;
	const char *line, *nl;
	uint64_t num, count, lo, hi, bytes;
	int linked = 0, n;
	bool found;

	ck_assert_ptr_nonnull(c = ngt_connect(port));
	ck_assert_int_eq(ngt_status(c, st, sizeof(st)), 200);
	ck_assert_int_eq(ngt_cmd(c, st, sizeof(st), "GROUP %s", group), 211);
	ck_assert(sscanf(st, "211 %" SCNu64 " %" SCNu64 " %" SCNu64, &count,
		      &lo, &hi) == 3);
	ck_assert_int_eq(
	    ngt_cmd(c, st, sizeof(st), "%s %" PRIu64 "-%" PRIu64, verb, lo, hi),
	    224);
	ck_assert_int_ge(n = ngt_body(c, &body), 0);
	ck_assert_uint_eq((uint64_t)n, count);
	for (line = buf_cstr(&body); *line; line = nl + 1) {
		nl = strchr(line, '\n');
		ck_assert_ptr_nonnull(nl);
		ck_assert(sscanf(line, "%" SCNu64 "\t", &num) == 1);
		read_article(spool, group, num, &art);
		header(art.data, "References", &want, &found);
		field(line, 5, &f);
		ck_assert_msg(strcmp(f.data, want.data) == 0,
		    "%s %s:%" PRIu64 ": References \"%s\", the file \"%s\"",
		    verb, group, num, f.data, want.data);
		linked += f.len > 0;
		field(line, 6, &f);
		ck_assert_int_eq(parse_u64(f.data, f.len, &bytes), 0);
		ck_assert_uint_eq(bytes, art.len);
	}
	ngt_close(c);
	buf_free(&body);
	buf_free(&art);
	buf_free(&f);
	buf_free(&want);
	return linked;
}

/* Every crosspost in us.statedept is the very file of pakistan.news. */
static void
crossposts_one_file(const char *spool, const struct snap *s)
{
	char dir[PATH_MAX], path[PATH_MAX + 300], other[PATH_MAX + 300];
	struct buf xref = BUF_INIT(SIZE_MAX);
	struct stat a, b;
	const char *p;
	uint64_t num;
	bool found;
	size_t i;
	int seen = 0;

	for (i = 0; i < s->n; i++) {
		if (strncmp(s->names[i], "us.statedept/", 13) != 0)
			continue;
		header(s->data[i].data, "Xref", &xref, &found);
		ck_assert(found);
		ck_assert_ptr_nonnull(p = strstr(xref.data, "pakistan.news:"));
		ck_assert_int_eq(
		    parse_u64(p + 14, strcspn(p + 14, " "), &num), 0);
		ngt_group_dir(spool, "us.statedept", dir, sizeof(dir));
		ck_assert(str_printf(
		    path, sizeof(path), "%s/%s", dir, s->names[i] + 13));
		ngt_group_dir(spool, "pakistan.news", dir, sizeof(dir));
		ck_assert(
		    str_printf(other, sizeof(other), "%s/%" PRIu64, dir, num));
		ck_assert_int_eq(stat(path, &a), 0);
		ck_assert_int_eq(stat(other, &b), 0);
		ck_assert_msg(a.st_ino == b.st_ino, "%s and %s are two files",
		    path, other);
		ck_assert_int_eq(a.st_nlink, 2);
		seen++;
	}
	ck_assert_int_ge(seen, 1);
	buf_free(&xref);
}

/* `newsgate check` exit 0, or fail showing what it said. */
static void
check_clean(const char *spool, const char *when)
{
	struct buf out = BUF_INIT(1 << 20);
	int rc = run(spool, &out, "check", NULL, NULL, NULL);

	ck_assert_msg(
	    rc == 0, "check after %s: %d\n%s", when, rc, buf_cstr(&out));
	buf_free(&out);
}

/* Each TSV line's root, for the article whose source id is src. */
static void
tsv_root(const char *tsv, const char *src, char *id, char *root)
{
	char want[32];
	const char *p;

	ck_assert(str_printf(want, sizeof(want), "\t%s\n", src));
	ck_assert_ptr_nonnull(p = strstr(tsv, want));
	while (p > tsv && p[-1] != '\n')
		p--;
	ck_assert(sscanf(p, "%255s\t%255s\t", id, root) == 2);
}

START_TEST(test_rethread_rewrites)
{
	struct buf out = BUF_INIT(1 << 20), v = BUF_INIT(SIZE_MAX);
	struct snap s0, s1, s2;
	struct ngt_dir d;
	struct ngt_server srv;
	char path[PATH_MAX], id[6][256], root[6][256];
	const char *src[] = {"s1", "s2", "s3", "s4", "u1", "u2"};
	const struct buf *fu;
	bool found;
	int i;

	signal(SIGPIPE, SIG_IGN);
	ck_assert_int_eq(ngt_dir_new(&d, "ng-rethread"), 0);
	ck_assert_int_eq(chmod(d.path, 0755), 0);
	ck_assert_int_eq(ngt_write(d.path, "story.jsonl", story, path), 0);
	ck_assert_int_eq(run(d.spool, &out, "import", path, NULL, NULL), 0);
	ck_assert_int_eq(ngt_import_text(&d, "followup.eml", followup), 0);
	snap_take(&s0, d.spool);
	ck_assert_uint_eq(s0.n, 9); /* 7 articles, 2 crossposted */
	crossposts_one_file(d.spool, &s0);
	ck_assert_int_eq(ngt_server_start(&srv, d.spool, NULL), 0);
	ck_assert_int_eq(
	    over_matches_files(srv.port, d.spool, "pakistan.news", "OVER"), 4);

	/* The import's settings: nothing to change. */
	ck_assert_int_eq(run(d.spool, &out, "rethread", NULL, NULL, NULL), 0);
	ck_assert_msg(strstr(out.data, "0 articles rewritten") &&
		strstr(out.data, "0 new, 0 removed"),
	    "%s", out.data);
	/* A dry run changes nothing, whatever it finds. */
	ck_assert_int_eq(
	    run(d.spool, &out, "rethread", "--dry-run", "--threshold", "0.99"),
	    0);
	ck_assert_msg(strstr(out.data, "3 removed"), "%s", out.data);
	ck_assert_ptr_null(strstr(out.data, "rewritten"));
	snap_take(&s1, d.spool);
	ck_assert_uint_eq(snap_diff(&s0, &s1, true), 0);
	snap_free(&s1);

	/* A threshold nobody reaches: the three similarity links go. */
	ck_assert_int_eq(
	    run(d.spool, &out, "rethread", "--threshold", "0.99", NULL), 0);
	ck_assert_msg(strstr(out.data, "3 removed") &&
		strstr(out.data, "\n3 articles rewritten\n"),
	    "%s", out.data);
	check_clean(d.spool, "rethread --threshold 0.99");
	snap_take(&s1, d.spool);
	/* s2 and s3, s4 changed; s2 in both groups: 4 files of 9. */
	ck_assert_uint_eq(snap_diff(&s0, &s1, false), 4);
	for (i = 0; i < (int)s1.n; i++) {
		header(s1.data[i].data, "X-Newsgate-Thread", &v, &found);
		ck_assert_msg(!found, "%s still linked", s1.names[i]);
		header(s1.data[i].data, "References", &v, &found);
		ck_assert(!found || strcmp(v.data, FOLLOWUP_REFS) == 0);
	}
	fu = snap_find(&s1, "pakistan.news", "<followup-1@example.org>");
	header(fu->data, "References", &v, &found);
	ck_assert(found);
	ck_assert_str_eq(v.data, FOLLOWUP_REFS);
	ck_assert_str_eq(fu->data,
	    snap_find(&s0, "pakistan.news", "<followup-1@example.org>")->data);
	crossposts_one_file(d.spool, &s1);
	/* The server, still running, shows the new overview. */
	ck_assert_int_eq(
	    over_matches_files(srv.port, d.spool, "pakistan.news", "OVER"), 1);
	ck_assert_int_eq(
	    over_matches_files(srv.port, d.spool, "pakistan.news", "XOVER"), 1);
	ck_assert_int_eq(
	    over_matches_files(srv.port, d.spool, "us.statedept", "OVER"), 0);
	ck_assert_int_eq(run(d.spool, &out, "threads", "--tsv", NULL, NULL), 0);
	for (i = 0; i < 6; i++) {
		tsv_root(out.data, src[i], id[i], root[i]);
		ck_assert_str_eq(root[i], id[i]); /* each its own thread */
	}
	/* Rerun with the same settings: nothing left to do. */
	ck_assert_int_eq(
	    run(d.spool, &out, "rethread", "--threshold", "0.99", NULL), 0);
	ck_assert_msg(
	    strstr(out.data, "\n0 articles rewritten\n"), "%s", out.data);

	/* Back to the import's settings: every file as import wrote it. */
	ck_assert_int_eq(run(d.spool, &out, "rethread", NULL, NULL, NULL), 0);
	ck_assert_msg(strstr(out.data, "3 new, 0 removed") &&
		strstr(out.data, "\n3 articles rewritten\n"),
	    "%s", out.data);
	check_clean(d.spool, "rethread back");
	snap_take(&s2, d.spool);
	ck_assert_uint_eq(snap_diff(&s0, &s2, true), 0);
	crossposts_one_file(d.spool, &s2);
	ck_assert_int_eq(
	    over_matches_files(srv.port, d.spool, "pakistan.news", "OVER"), 4);
	ck_assert_int_eq(
	    over_matches_files(srv.port, d.spool, "us.statedept", "XOVER"), 1);
	ck_assert_int_eq(run(d.spool, &out, "threads", "--tsv", NULL, NULL), 0);
	for (i = 0; i < 6; i++)
		tsv_root(out.data, src[i], id[i], root[i]);
	for (i = 1; i < 4; i++)
		ck_assert_str_eq(root[i], id[0]);
	ck_assert_int_eq(ngt_server_stop(&srv), 0);
	snap_free(&s0);
	snap_free(&s1);
	snap_free(&s2);
	buf_free(&out);
	buf_free(&v);
	ngt_dir_free(&d);
}
END_TEST

static void
write_path(const char *path, const struct buf *b)
{
	int fd;

	(void)unlink(path);
	ck_assert_int_ne(
	    fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644), -1);
	ck_assert_int_eq(write_all(fd, b->data, b->len), 0);
	close(fd);
}

/*
 * A rewrite caught half way, made by hand: the journal names the three
 * articles, the crosspost's copy in us.statedept is still the old file,
 * pakistan.news has its new .overview but still the old index (whose
 * offsets, past the first line that changed, now point beyond their
 * lines). Readers must still find every line, `check` must accept it, and
 * the next writer must finish the rewrite.
 */
START_TEST(test_rethread_recovery)
{
	struct buf out = BUF_INIT(1 << 20), ov_old = BUF_INIT(SIZE_MAX),
		   j = BUF_INIT(SIZE_MAX), art = BUF_INIT(SIZE_MAX),
		   v = BUF_INIT(SIZE_MAX);
	struct snap s1, s2;
	struct ngt_dir d;
	struct ngt_server srv;
	struct ngt_conn *c;
	char path[PATH_MAX + 64], dir[PATH_MAX], st[NGT_LINE_MAX];
	uint64_t num;
	bool found;

	signal(SIGPIPE, SIG_IGN);
	ck_assert_int_eq(ngt_dir_new(&d, "ng-rethread-rec"), 0);
	ck_assert_int_eq(ngt_write(d.path, "story.jsonl", story, path), 0);
	ck_assert_int_eq(run(d.spool, &out, "import", path, NULL, NULL), 0);
	ck_assert(str_printf(path, sizeof(path),
	    "%s/.newsgate/index/pakistan.news.idx", d.spool));
	read_path(path, &ov_old);
	read_article(d.spool, "us.statedept", 2, &art); /* s2, linked */
	header(art.data, "X-Newsgate-Thread", &v, &found);
	ck_assert(found);
	ck_assert_int_eq(ngt_server_start(&srv, d.spool, NULL), 0);
	ck_assert_int_eq(
	    run(d.spool, &out, "rethread", "--threshold", "0.99", NULL), 0);
	snap_take(&s1, d.spool);

	/* Undo part of it by hand, as a kill would have left it. */
	write_path(path, &ov_old);
	ngt_group_dir(d.spool, "us.statedept", dir, sizeof(dir));
	ck_assert(str_printf(path, sizeof(path), "%s/2", dir));
	write_path(path, &art);
	buf_puts(&j, "newsgate-rewrite 1\n");
	for (num = 3; num <= 6; num++) {
		read_article(d.spool, "pakistan.news", num, &v);
		if (strstr(v.data, "\nX-Newsgate-Source: s2\n"))
			buf_printf(&j,
			    "pakistan.news:%" PRIu64 " us.statedept:2\t\t\n",
			    num);
		else if (strstr(v.data, "\nX-Newsgate-Source: s3\n") ||
		    strstr(v.data, "\nX-Newsgate-Source: s4\n"))
			buf_printf(&j, "pakistan.news:%" PRIu64 "\t\t\n", num);
	}
	buf_puts(&j, "end\n");
	ck_assert(str_printf(path, sizeof(path), "%s/.newsgate/txn", d.spool));
	write_path(path, &j);

	/* Readers (a server started before: a new one would take the
	 * writer lock at start and finish the rewrite): every line found,
	 * the right one, despite the index. */
	ck_assert_ptr_nonnull(c = ngt_connect(srv.port));
	ck_assert_int_eq(ngt_status(c, st, sizeof(st)), 200);
	ck_assert_int_eq(
	    ngt_cmd(c, st, sizeof(st), "GROUP pakistan.news"), 211);
	buf_reset(&out);
	for (num = 1; num <= 6; num++) {
		char want[32];

		ck_assert_int_eq(
		    ngt_cmd(c, st, sizeof(st), "OVER %" PRIu64, num), 224);
		ck_assert_int_eq(ngt_body(c, &out), 1);
		ck_assert(str_printf(want, sizeof(want), "%" PRIu64 "\t", num));
		ck_assert_msg(strncmp(out.data, want, strlen(want)) == 0,
		    "OVER %" PRIu64 " gave %s", num, out.data);
		buf_reset(&out);
	}
	ck_assert_int_eq(ngt_cmd(c, st, sizeof(st), "OVER 1-6"), 224);
	ck_assert_int_eq(ngt_body(c, &out), 6);
	buf_reset(&out);
	ngt_close(c);
	/* check (no lock) accepts a rewrite in flight. */
	check_clean(d.spool, "a rewrite left half done");

	/* The next writer finishes it: a rethread with nothing to do. */
	ck_assert_int_eq(
	    run(d.spool, &out, "rethread", "--threshold", "0.99", NULL), 0);
	ck_assert_msg(
	    strstr(out.data, "\n0 articles rewritten\n"), "%s", out.data);
	check_clean(d.spool, "recovery");
	snap_take(&s2, d.spool);
	ck_assert_uint_eq(snap_diff(&s1, &s2, true), 0);
	crossposts_one_file(d.spool, &s2);
	ck_assert_int_eq(
	    over_matches_files(srv.port, d.spool, "pakistan.news", "OVER"), 0);
	ck_assert_int_eq(ngt_server_stop(&srv), 0);
	snap_free(&s1);
	snap_free(&s2);
	buf_free(&out);
	buf_free(&ov_old);
	buf_free(&j);
	buf_free(&art);
	buf_free(&v);
	ngt_dir_free(&d);
}
END_TEST

/* --- crash safety ----------------------------------------------------------
 */

/* A made-up word for story s, part k: letters only, so the stemmer and
 * the stop list leave it alone, and unique to the story. */
static void
word(char *dst, size_t cap, int s, int k)
{
	static const char *const syl[] = {"ka", "lo", "mi", "nu", "re", "su",
	    "ta", "vo", "zi", "pe", "qu", "da"};
	int v = s * 7 + k * 131 + 1000;

	(void)str_printf(dst, cap, "%s%s%s%sx", syl[v % 12], syl[(v / 12) % 12],
	    syl[(v / 144) % 12], syl[k % 12]);
}

static void
write_crash_items(const char *dir, char *out)
{
	struct buf b = BUF_INIT(SIZE_MAX);
	char w[6][32];
	int s, a, k;

	for (s = 0; s < CRASH_STORIES; s++) {
		for (k = 0; k < 6; k++)
			word(w[k], sizeof(w[k]), s, k);
		for (a = 0; a < CRASH_PER_STORY; a++)
			buf_printf(&b,
			    "{\"id\": \"c%d-%d\", \"date\": "
			    "\"2024-06-01T%02d:%02d:00Z\", \"title\": "
			    "\"%s %s %s report %d\", \"text\": \"The %s and "
			    "%s of %s were seen again by %s; item %d of %d, "
			    "Islamabad.%s\", \"source\": \"wire%d\", "
			    "\"section\": \"Pakistan News\"}\n",
			    s, a, (s * CRASH_PER_STORY + a) / 60 % 24,
			    (s * CRASH_PER_STORY + a) % 60, w[0], w[1], w[2], a,
			    w[a % 6], w[(a + 1) % 6], w[3], w[4 + a % 2], a, s,
			    (s + a) % 3 == 0 ? " The State Department said so."
					     : "",
			    a);
	}
	ck_assert_int_eq(ngt_write(dir, "crash.jsonl", buf_cstr(&b), out), 0);
	buf_free(&b);
}

/* Run rethread; kill it after delay_us (0: never). Exit status or 128 +
 * signal. */
static int
run_killed(const char *spool, const char *threshold, long delay_us)
{
	const char *argv[] = {ngt_bin(), "rethread", "--spool", spool,
	    "--threshold", threshold, NULL};
	int status;
	pid_t pid;

	if ((pid = fork()) == 0) {
		int devnull = open("/dev/null", O_RDWR);

		dup2(devnull, 0);
		dup2(devnull, 1);
		dup2(devnull, 2);
		execv(argv[0], (char *const *)(uintptr_t)argv);
		_exit(127);
	}
	ck_assert_int_gt(pid, 0);
	if (delay_us > 0) {
		struct timespec ts = {
		    delay_us / 1000000, (delay_us % 1000000) * 1000};

		while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
			;
		kill(pid, SIGKILL);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

/* Every article file is a whole article. */
static void
all_whole(const char *spool)
{
	struct snap s;
	size_t i;

	snap_take(&s, spool);
	for (i = 0; i < s.n; i++) {
		const struct buf *b = &s.data[i];

		ck_assert_msg(b->len > 0 && b->data[b->len - 1] == '\n' &&
			strstr(b->data, "\nMessage-ID: <") &&
			strstr(b->data, "\nXref: ") && strstr(b->data, "\n\n"),
		    "%s is not a whole article", s.names[i]);
	}
	snap_free(&s);
}

/* Is a rewrite's journal there (the kill came in the middle of one)? */
static bool
rewrite_journal(const char *spool)
{
	struct buf b = BUF_INIT(SIZE_MAX);
	char path[PATH_MAX];
	bool yes;

	ck_assert(str_printf(path, sizeof(path), "%s/.newsgate/txn", spool));
	read_path(path, &b);
	yes = strncmp(buf_cstr(&b), "newsgate-rewrite 1\n", 19) == 0;
	buf_free(&b);
	return yes;
}

START_TEST(test_rethread_sigkill)
{
	struct buf out = BUF_INIT(1 << 20);
	struct snap s0, s1;
	struct ngt_dir d;
	char file[PATH_MAX], when[128];
	const char *thr[] = {"0.99", "0.15"};
	const char *seed_env = getenv("NEWSGATE_CRASH_SEED");
	long seed = seed_env ? strtol(seed_env, NULL, 10) : 20240601;
	long full_us;
	uint64_t t0;
	int r, rc, killed = 0, mid = 0;

	srand48(seed);
	ck_assert_int_eq(ngt_dir_new(&d, "ng-rethread-crash"), 0);
	write_crash_items(d.path, file);
	ck_assert_int_eq(run(d.spool, &out, "import", file, NULL, NULL), 0);
	snap_take(&s0, d.spool);
	/* The import's settings reproduce the import: nothing to rewrite. */
	ck_assert_int_eq(
	    run(d.spool, &out, "rethread", "--dry-run", NULL, NULL), 0);
	ck_assert_msg(strstr(out.data, "0 new, 0 removed") &&
		strstr(out.data, " 0 to another parent"),
	    "%s", out.data);
	/* How long one rethread takes, to spread the kills over it. */
	t0 = now_ms();
	ck_assert_int_eq(run_killed(d.spool, thr[0], 0), 0);
	full_us = (long)(now_ms() - t0) * 1000;
	snap_take(&s1, d.spool);
	ck_assert_uint_gt(snap_diff(&s0, &s1, false), 20);
	snap_free(&s1);
	for (r = 0; killed < CRASH_KILLS && r < 4 * CRASH_KILLS; r++) {
		/* Each round switches threshold, so every round rewrites. */
		long delay = 1 + (long)(drand48() * (double)full_us * 1.2);

		rc = run_killed(d.spool, thr[(r + 1) % 2], delay);
		if (rc == 128 + SIGKILL) {
			killed++;
			mid += rewrite_journal(d.spool);
		} else
			ck_assert_int_eq(rc, 0);
		ck_assert(str_printf(when, sizeof(when),
		    "round %d (seed %ld, kill after %ld us)", r, seed, delay));
		check_clean(d.spool, when);
		all_whole(d.spool);
	}
	fprintf(stderr,
	    "rethread crash: seed %ld, %d of %d rethreads killed, %d in the "
	    "middle of a rewrite\n",
	    seed, killed, r, mid);
	ck_assert_int_eq(killed, CRASH_KILLS);
	/* A rethread that runs to the end finishes the job. */
	ck_assert_int_eq(run_killed(d.spool, thr[0], 0), 0);
	check_clean(d.spool, "the last rethread");
	ck_assert_int_eq(
	    run(d.spool, &out, "rethread", "--dry-run", "--threshold", thr[0]),
	    0);
	ck_assert_msg(strstr(out.data, "0 to another parent, 0 new, 0 removed"),
	    "%s", out.data);
	/* And the import's settings give back the import's files. */
	ck_assert_int_eq(run(d.spool, &out, "rethread", NULL, NULL, NULL), 0);
	check_clean(d.spool, "rethread back");
	snap_take(&s1, d.spool);
	ck_assert_uint_eq(snap_diff(&s0, &s1, true), 0);
	crossposts_one_file(d.spool, &s1);
	snap_free(&s0);
	snap_free(&s1);
	buf_free(&out);
	ngt_dir_free(&d);
}
END_TEST

static Suite *
rethread_suite(void)
{
	Suite *s = suite_create("rethread");
	TCase *tc = tcase_create("rewrite");
	TCase *tk = tcase_create("sigkill");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_rethread_rewrites);
	tcase_add_test(tc, test_rethread_recovery);
	suite_add_tcase(s, tc);
	tcase_set_timeout(tk, 300);
	tcase_add_test(tk, test_rethread_sigkill);
	suite_add_tcase(s, tk);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(rethread_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
