/*
 * cli_export.c - `newsgate export --mbox GROUP`: a group, or one thread of
 * it, as an mbox file (RFC 4155) for mail clients and offline reading.
 *
 * The format, as mutt, Thunderbird and Python's mailbox read it:
 *
 *   From SENDER Www Mmm dd hh:mm:ss yyyy\n     the separator (asctime, UTC)
 *   the article, as stored (LF line endings)
 *   \n                                        an empty line after each one
 *
 * SENDER is the address of the From header (MAILER-DAEMON when it has no
 * plain one), the date its Date header. Every line of the article that
 * matches ^>*From  gets one more '>' (mboxrd: reversible, unlike mboxo,
 * and what source_mbox.c undoes on import).
 *
 * Which articles: the group's overview, in article number order; with
 * --thread ID, the article ID and every article whose References holds ID
 * or any article already taken (so a thread whose References were trimmed
 * per RFC 5537 §3.4.4 still comes out whole); with --since, only articles
 * whose Date is at or after it.
 *
 * Reads the spool only through spool.h; never writes it. The output file
 * is written beside its final name and renamed into place, so a reader
 * never sees half an export.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <unistd.h>

#include "common.h"
#include "article.h"
#include "cli.h"

#define EXPORT_USAGE                                                           \
	"export [--spool DIR] [--config FILE] --mbox GROUP "                   \
	"[--thread MESSAGE-ID] [--since DATE] [-o FILE]"
#define EXPORT_ARTICLE_MAX (64u * 1024 * 1024) /* octets read per article */
#define EXPORT_ID_MAX 250		       /* RFC 5536 §3.1.3 */

/* One article of the group, from its overview line. */
struct xart {
	uint64_t num; /* in the group */
	char *msgid;  /* owned, "<...>" */
	char *refs;   /* owned, the References field ("" when none) */
	char *from;   /* owned, the From field */
	time_t date;  /* the Date field; -1 when it does not parse */
	bool take;    /* goes into the mbox */
};

struct export
{
	struct xart *arts; /* the group, ascending numbers */
	size_t n;
	size_t cap;
};

/* A copy of field i (the caller frees). */
static char *
field_dup(const char *line, size_t len, int i)
{
	struct str f = cli_over_field(line, len, i);

	return xstrndup(f.p, f.len);
}

static int
export_collect(void *arg, uint64_t num, const char *line, size_t len)
{
	struct export *x = arg;
	struct str date = cli_over_field(line, len, 3);
	struct xart *a;
	char *d;

	if (x->n == x->cap) {
		x->cap = x->cap ? 2 * x->cap : 64;
		x->arts = xreallocarray(x->arts, x->cap, sizeof(*x->arts));
	}
	a = &x->arts[x->n++];
	a->num = num;
	a->msgid = field_dup(line, len, 4);
	a->refs = field_dup(line, len, 5);
	a->from = field_dup(line, len, 2);
	d = xstrndup(date.p, date.len);
	a->date = article_parse_date(d);
	free(d);
	a->take = true;
	return 0;
}

/* Does any Message-ID of a References field belong to the set? */
static bool
refs_hit(const struct cli_idmap *s, const char *refs)
{
	const char *p = refs, *e;

	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			return false;
		for (e = p; *e != '\0' && *e != ' ' && *e != '\t'; e++)
			;
		if (cli_idmap_get(s, p, (size_t)(e - p)) != SIZE_MAX)
			return true;
		p = e;
	}
}

/*
 * Keep only the thread of id: the closure under "refers to something
 * taken". Articles come in number order, so one pass usually suffices; the
 * loop catches a reply numbered before its parent.
 */
static size_t
export_thread(struct export *x, const char *id)
{
	struct cli_idmap s;
	size_t i, taken = 0;
	bool grew = true;

	cli_idmap_init(&s);
	cli_idmap_put(&s, id, strlen(id), 0);
	for (i = 0; i < x->n; i++)
		x->arts[i].take = false;
	while (grew) {
		grew = false;
		for (i = 0; i < x->n; i++) {
			struct xart *a = &x->arts[i];

			if (a->take ||
			    (cli_idmap_get(&s, a->msgid, strlen(a->msgid)) ==
				    SIZE_MAX &&
				!refs_hit(&s, a->refs)))
				continue;
			a->take = true;
			if (cli_idmap_get(&s, a->msgid, strlen(a->msgid)) ==
			    SIZE_MAX)
				cli_idmap_put(&s, a->msgid, strlen(a->msgid), i);
			taken++;
			grew = true;
		}
	}
	cli_idmap_free(&s);
	return taken;
}

/*
 * --since: "yyyy-mm-dd", optionally followed by 'T' or ' ' and hh:mm[:ss]
 * [.fraction] and a zone (Z, +hh:mm, +hhmm, +hh); UTC when none. -1 when
 * it does not parse.
 */
static time_t
parse_since(const char *s)
{
	const char *p;
	struct tm tm;
	time_t t;
	int sign, hh, mm = 0, n;

	memset(&tm, 0, sizeof(tm));
	if ((p = strptime(s, "%Y-%m-%d", &tm)) == NULL)
		return -1;
	if ((*p == 'T' || *p == ' ') && p[1] != '\0') {
		if ((p = strptime(p + 1, "%H:%M", &tm)) == NULL)
			return -1;
		if (*p == ':' && (p = strptime(p + 1, "%S", &tm)) == NULL)
			return -1;
		if (*p == '.' || *p == ',')
			for (p++; *p >= '0' && *p <= '9'; p++)
				;
	}
	if ((t = timegm(&tm)) == -1)
		return -1;
	if (*p == 'Z' && p[1] == '\0')
		return t;
	if (*p == '\0')
		return t;
	if (*p != '+' && *p != '-')
		return -1;
	sign = *p++ == '-' ? -1 : 1;
	if (sscanf(p, "%2d%n", &hh, &n) != 1 || n != 2)
		return -1;
	p += 2;
	if (*p == ':')
		p++;
	if (*p != '\0' &&
	    (sscanf(p, "%2d%n", &mm, &n) != 1 || n != 2 || p[2] != '\0'))
		return -1;
	if (hh > 23 || mm > 59)
		return -1;
	return t - sign * ((time_t)hh * 3600 + (time_t)mm * 60);
}

/* The envelope sender of the "From " line: the plain address of From. */
static void
mbox_sender(const char *from, char *dst, size_t cap)
{
	const char *p = from, *lt, *gt;
	size_t len, i;

	if ((lt = strchr(from, '<')) != NULL &&
	    (gt = strchr(lt, '>')) != NULL) {
		p = lt + 1;
		len = (size_t)(gt - p);
	} else {
		while (*p == ' ')
			p++;
		len = strcspn(p, " \t(");
	}
	for (i = 0; i < len; i++)
		if ((unsigned char)p[i] <= ' ' || (unsigned char)p[i] >= 0x7f)
			break;
	if (len == 0 || i < len || memchr(p, '@', len) == NULL || len >= cap) {
		str_copy(dst, cap, "MAILER-DAEMON");
		return;
	}
	memcpy(dst, p, len);
	dst[len] = '\0';
}

/* One message: separator, quoted lines, the empty line after it. */
static void
mbox_write(FILE *out, const struct xart *a, const struct buf *art)
{
	const char *p = art->data, *end = art->data + art->len, *nl, *q;
	char sender[256], date[64];
	time_t t = a->date == -1 ? 0 : a->date;
	struct tm tm;

	mbox_sender(a->from, sender, sizeof(sender));
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(date, sizeof(date), "%a %b %e %H:%M:%S %Y", &tm) == 0)
		str_copy(date, sizeof(date), "Thu Jan  1 00:00:00 1970");
	fprintf(out, "From %s %s\n", sender, date);
	for (; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		for (q = p; q < nl && *q == '>'; q++)
			;
		if ((size_t)(nl - q) >= 5 && memcmp(q, "From ", 5) == 0)
			fputc('>', out);
		fwrite(p, 1, (size_t)(nl - p), out);
		fputc('\n', out);
		if (nl == end)
			break;
	}
	fputc('\n', out);
}

/* Write every article taken; the number written, or -1. */
static long
export_write(
    struct spool *sp, const char *group, const struct export *x, FILE *out)
{
	struct buf art = BUF_INIT(EXPORT_ARTICLE_MAX);
	long written = 0;
	size_t i;

	for (i = 0; i < x->n; i++) {
		if (!x->arts[i].take)
			continue;
		buf_reset(&art);
		if (spool_article_read(sp, group, x->arts[i].num, &art) == -1) {
			if (errno == ENOENT)
				continue; /* expired since the overview */
			fprintf(stderr, "newsgate: %s:%" PRIu64 ": %s\n", group,
			    x->arts[i].num, strerror(errno));
			continue;
		}
		mbox_write(out, &x->arts[i], &art);
		written++;
		if (ferror(out))
			break;
	}
	buf_free(&art);
	return ferror(out) ? -1 : written;
}

/* Open the output: stdout, or a temporary file beside path. */
static FILE *
export_open(const char *path, char *tmp, size_t cap)
{
	mode_t mask;
	FILE *fp;
	int fd;

	if (path == NULL || strcmp(path, "-") == 0)
		return stdout;
	if (!str_printf(tmp, cap, "%s.XXXXXX", path)) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1)
		return NULL;
	mask = umask(0);
	umask(mask);
	if (fchmod(fd, 0666 & ~mask) == -1 || (fp = fdopen(fd, "w")) == NULL) {
		close(fd);
		unlink(tmp);
		return NULL;
	}
	return fp;
}

/* Finish the output: 0, or -1 (the temporary file removed). */
static int
export_close(FILE *fp, const char *path, const char *tmp, bool ok)
{
	if (fp == stdout)
		return fflush(stdout) == 0 && ok ? 0 : -1;
	if (fflush(fp) != 0 || fsync(fileno(fp)) == -1)
		ok = false;
	if (fclose(fp) != 0)
		ok = false;
	if (ok && rename(tmp, path) == 0)
		return 0;
	unlink(tmp);
	return -1;
}

static void
export_free(struct export *x)
{
	size_t i;

	for (i = 0; i < x->n; i++) {
		free(x->arts[i].msgid);
		free(x->arts[i].refs);
		free(x->arts[i].from);
	}
	free(x->arts);
}

/* Select, then write: the exit status. */
static int
export_run(struct spool *sp, const char *group, const char *thread,
    time_t since, const char *path)
{
	const struct spool_group *g;
	struct export x = {0};
	char tmp[4096];
	FILE *out;
	size_t i;
	long n;
	int rc = 1;

	if ((g = spool_group(sp, group)) == NULL) {
		fprintf(stderr, "newsgate: no such group: %s\n", group);
		return 1;
	}
	if (spool_over(sp, group, g->low, g->high, export_collect, &x) == -1) {
		fprintf(stderr, "newsgate: overview of %s: %s\n", group,
		    strerror(errno));
		goto out;
	}
	if (thread != NULL && export_thread(&x, thread) == 0) {
		fprintf(stderr, "newsgate: no article of thread %s in %s\n",
		    thread, group);
		goto out;
	}
	for (i = 0; since != -1 && i < x.n; i++)
		if (x.arts[i].date == -1 || x.arts[i].date < since)
			x.arts[i].take = false;
	if ((out = export_open(path, tmp, sizeof(tmp))) == NULL) {
		fprintf(stderr, "newsgate: %s: %s\n", path, strerror(errno));
		goto out;
	}
	n = export_write(sp, group, &x, out);
	if (export_close(out, path, tmp, n != -1) == -1) {
		fprintf(stderr, "newsgate: write %s: %s\n",
		    out == stdout ? "standard output" : path, strerror(errno));
		goto out;
	}
	if (out != stdout)
		fprintf(stderr, "exported %ld article%s to %s\n", n,
		    n == 1 ? "" : "s", path);
	rc = 0;
out:
	export_free(&x);
	return rc;
}

int
cli_export(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"spool", required_argument, NULL, 's'},
	    {"config", required_argument, NULL, 'c'},
	    {"mbox", required_argument, NULL, 'm'},
	    {"thread", required_argument, NULL, 't'},
	    {"since", required_argument, NULL, 'S'},
	    {"output", required_argument, NULL, 'o'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *spool = NULL, *conf = NULL, *group = NULL, *path = NULL;
	char thread[EXPORT_ID_MAX + 3], *tp = NULL;
	time_t since = -1;
	struct config c;
	struct spool *sp;
	int ch, rc;

	while (
	    (ch = getopt_long(argc, argv, "s:c:m:t:S:o:h", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			spool = optarg;
			break;
		case 'c':
			conf = optarg;
			break;
		case 'm':
			group = optarg;
			break;
		case 't':
			/* The angle brackets are optional on the command
			 * line. */
			if (!str_printf(thread, sizeof(thread),
				optarg[0] == '<' ? "%s" : "<%s>", optarg) ||
			    !article_msgid_valid(thread)) {
				fprintf(stderr,
				    "newsgate: bad Message-ID: "
				    "%s\n",
				    optarg);
				return 2;
			}
			tp = thread;
			break;
		case 'S':
			if ((since = parse_since(optarg)) == -1) {
				fprintf(stderr,
				    "newsgate: bad date '%s' "
				    "(yyyy-mm-dd or ISO 8601)\n",
				    optarg);
				return 2;
			}
			break;
		case 'o':
			path = optarg;
			break;
		default:
			return cli_usage(EXPORT_USAGE);
		}
	}
	if (group == NULL || optind != argc)
		return cli_usage(EXPORT_USAGE);
	signal(SIGPIPE, SIG_IGN);
	if (cli_config(&c, conf, spool) == -1)
		return 1;
	if ((sp = cli_spool_open(&c, SPOOL_READ)) == NULL) {
		config_fini(&c);
		return 1;
	}
	rc = export_run(sp, group, tp, since, path);
	spool_close(sp);
	config_fini(&c);
	return rc;
}
