/*
 * source.c - the entry point of the input readers: format names, detection
 * by content, opening a file (or stdin) and handing it to the reader of
 * its format; plus the bounded line reader the readers share.
 *
 * It never writes anything and keeps no state between files.
 *
 * SECURITY: files are attacker-controlled. Detection looks at the first
 * SOURCE_HEAD_MAX octets only; lines are bounded by the caller's max
 * (source_lines), records by SOURCE_RECORD_MAX in each reader.
 */
#include <sys/stat.h>

#include "common.h"
#include "normalise.h"
#include "source.h"

#define SOURCE_HEAD_MAX 4096 /* octets looked at by detection */

static const char *const format_names[] = {
    [SOURCE_AUTO] = "auto",
    [SOURCE_TEXT] = "text",
    [SOURCE_MAIL] = "mail",
    [SOURCE_MBOX] = "mbox",
    [SOURCE_JSONL] = "jsonl",
};

int
source_format_parse(const char *name)
{
	size_t i;

	if (name == NULL)
		return SOURCE_AUTO;
	for (i = 0; i < NG_NELEM(format_names); i++)
		if (strcasecmp(name, format_names[i]) == 0)
			return (int)i;
	/* Other names people use for the same formats. */
	if (strcasecmp(name, "json") == 0 || strcasecmp(name, "ndjson") == 0)
		return SOURCE_JSONL;
	if (strcasecmp(name, "news") == 0 || strcasecmp(name, "rfc5322") == 0)
		return SOURCE_MAIL;
	return -1;
}

const char *
source_format_name(enum source_format f)
{
	if ((size_t)f >= NG_NELEM(format_names))
		return "unknown";
	return format_names[f];
}

/* --- detection ------------------------------------------------------- */

/* Fields that mark a header block as a message, not a scraped text that
 * happens to start with "Word: ...". */
static bool
source_known_field(const char *p, size_t len)
{
	static const char *const fields[] = {"From", "Subject", "Message-ID",
	    "Newsgroups", "Date", "Path", "Received", "Return-Path", "To",
	    "MIME-Version", "Xref", "References", "Delivered-To", "Sender",
	    "Content-Type", "Reply-To", "Relay-Version"};
	size_t i;

	for (i = 0; i < NG_NELEM(fields); i++)
		if (strlen(fields[i]) == len &&
		    strncasecmp(p, fields[i], len) == 0)
			return true;
	return false;
}

/* Length of the field name of a "Name: value" line, or 0. */
static size_t
source_field_name(const char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (p[i] == ':')
			return i;
		if (p[i] < 33 || p[i] > 126)
			return 0;
	}
	return 0;
}

/*
 * A message starts with a header block: every line up to the first empty
 * one (or the end of what we see) is a field or a continuation, and at
 * least one field is a well-known one.
 */
static bool
source_looks_like_headers(const char *head, size_t len)
{
	const char *p = head, *end = head + len, *nl;
	size_t llen, nlen;
	bool known = false, first = true;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL) /* a cut line: judge what we have */
			nl = end;
		llen = (size_t)(nl - p);
		if (llen > 0 && p[llen - 1] == '\r')
			llen--;
		if (llen == 0)
			break;
		if (!first && (p[0] == ' ' || p[0] == '\t')) {
			p = nl + 1;
			continue;
		}
		if ((nlen = source_field_name(p, llen)) == 0) {
			if (nl == end && !first)
				break;
			return false;
		}
		known = known || source_known_field(p, nlen);
		first = false;
		p = nl + 1;
	}
	return !first && known;
}

enum source_format
source_detect(const char *head, size_t len)
{
	size_t i = 0;

	if (len >= 3 && memcmp(head, "\xef\xbb\xbf", 3) == 0)
		i = 3; /* a UTF-8 byte order mark */
	if (len - i >= 5 && memcmp(head + i, "From ", 5) == 0)
		return SOURCE_MBOX;
	while (i < len &&
	    (head[i] == ' ' || head[i] == '\t' || head[i] == '\r' ||
		head[i] == '\n'))
		i++;
	if (i < len && head[i] == '{')
		return SOURCE_JSONL;
	if (source_looks_like_headers(head, len))
		return SOURCE_MAIL;
	return SOURCE_TEXT;
}

/* --- reading a file -------------------------------------------------- */

/*
 * A stream that gives back the octets detection already read, then the
 * rest of the file: stdin and pipes cannot seek.
 */
struct replay {
	FILE *fp;
	char head[SOURCE_HEAD_MAX];
	size_t len; /* octets in head */
	size_t off; /* octets of head already given back */
};

static ssize_t
replay_read(void *cookie, char *dst, size_t n)
{
	struct replay *r = cookie;
	size_t k;

	if (r->off < r->len) {
		k = r->len - r->off < n ? r->len - r->off : n;
		memcpy(dst, r->head + r->off, k);
		r->off += k;
		return (ssize_t)k;
	}
	k = fread(dst, 1, n, r->fp);
	if (k == 0 && ferror(r->fp))
		return -1;
	return (ssize_t)k;
}

static int
replay_close(void *cookie)
{
	(void)cookie;
	return 0;
}

static int
source_read_stream(FILE *fp, const char *path, enum source_format fmt,
    time_t mtime, const struct source_sink *sink)
{
	static const cookie_io_functions_t io = {
	    replay_read, NULL, NULL, replay_close};
	struct replay *r = xcalloc(1, sizeof(*r));
	FILE *in;
	int rc;

	r->fp = fp;
	r->len = fread(r->head, 1, sizeof(r->head), fp);
	if (ferror(fp)) {
		source_report(sink, path, 1, "read error: %s", strerror(errno));
		free(r);
		return 0;
	}
	if (fmt == SOURCE_AUTO)
		fmt = source_detect(r->head, r->len);
	if ((in = fopencookie(r, "r", io)) == NULL)
		fatal("fopencookie");
	switch (fmt) {
	case SOURCE_MAIL:
		rc = source_mail_read(in, path, mtime, sink);
		break;
	case SOURCE_MBOX:
		rc = source_mbox_read(in, path, mtime, sink);
		break;
	case SOURCE_JSONL:
		rc = source_jsonl_read(in, path, mtime, sink);
		break;
	case SOURCE_TEXT:
	default:
		rc = source_text_read(in, path, mtime, sink);
		break;
	}
	fclose(in);
	free(r);
	return rc;
}

/*
 * source_read_file() passes the readers a sink of its own that stamps every
 * event with how far into the file the stream is, for progress bars.
 */
struct tracked {
	const struct source_sink *sink; /* the caller's */
	FILE *fp;			/* the stream being read */
};

static struct source_pos
tracked_pos(const struct tracked *t, const struct source_pos *pos)
{
	struct source_pos p = *pos;
	off_t off = ftello(t->fp);

	p.offset = off > 0 ? (uint64_t)off : 0;
	return p;
}

static int
tracked_item(void *arg, const struct source_pos *pos, const struct item *it)
{
	struct tracked *t = arg;
	struct source_pos p = tracked_pos(t, pos);

	return t->sink->item(t->sink->arg, &p, it);
}

static int
tracked_message(void *arg, const struct source_pos *pos, const char *data,
    size_t len, time_t mtime)
{
	struct tracked *t = arg;
	struct source_pos p = tracked_pos(t, pos);

	return t->sink->message(t->sink->arg, &p, data, len, mtime);
}

static void
tracked_error(void *arg, const struct source_pos *pos, const char *reason)
{
	struct tracked *t = arg;
	struct source_pos p = tracked_pos(t, pos);

	t->sink->error(t->sink->arg, &p, reason);
}

int
source_read_file(
    const char *path, enum source_format fmt, const struct source_sink *sink)
{
	struct tracked tr;
	struct source_sink ts = {
	    tracked_item, tracked_message, tracked_error, &tr};
	struct stat st;
	FILE *fp;
	time_t mtime = time(NULL);
	int rc;

	if (strcmp(path, "-") == 0) {
		fp = stdin;
	} else if ((fp = fopen(path, "rb")) == NULL) {
		source_report(
		    sink, path, 1, "cannot open: %s", strerror(errno));
		return 0;
	}
	if (fstat(fileno(fp), &st) == 0) {
		if (S_ISDIR(st.st_mode)) {
			source_report(sink, path, 1, "is a directory");
			if (fp != stdin)
				fclose(fp);
			return 0;
		}
		if (S_ISREG(st.st_mode))
			mtime = st.st_mtime;
	}
	tr.sink = sink;
	tr.fp = fp;
	rc = source_read_stream(fp, path, fmt, mtime, &ts);
	if (fp != stdin)
		fclose(fp);
	return rc;
}

/* --- shared helpers -------------------------------------------------- */

void
source_report(const struct source_sink *sink, const char *file,
    unsigned long line, const char *fmt, ...)
{
	struct source_pos pos = {file, line, 0};
	struct buf b = BUF_INIT(1024);
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	sink->error(sink->arg, &pos, buf_cstr(&b));
	buf_free(&b);
}

unsigned long
source_utf8_bad_line(const char *s, size_t len, unsigned long first_line)
{
	const char *p = s, *end = s + len, *nl;
	unsigned long line = first_line;

	if (normalise_utf8_valid(s, len))
		return 0;
	for (; p < end; p = nl + 1, line++) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if (!normalise_utf8_valid(p, (size_t)(nl - p)))
			return line;
	}
	return line;
}

void
source_lines_init(struct source_lines *ls, FILE *fp, size_t max)
{
	memset(ls, 0, sizeof(*ls));
	ls->fp = fp;
	ls->max = max;
}

int
source_lines_next(struct source_lines *ls)
{
	int c = EOF;

	ls->len = 0;
	ls->too_long = ls->no_lf = ls->has_nul = false;
	if (ls->cap == 0) {
		ls->cap = 256;
		ls->line = xmalloc(ls->cap);
	}
	ls->line[0] = '\0';
	while ((c = getc_unlocked(ls->fp)) != EOF && c != '\n') {
		if (ls->too_long)
			continue;
		if (ls->len >= ls->max) {
			ls->too_long = true;
			ls->len = 0;
			continue;
		}
		if (ls->len + 1 >= ls->cap) {
			ls->cap = ls->cap * 2 > ls->max + 1 ? ls->max + 1
							    : ls->cap * 2;
			ls->line = xrealloc(ls->line, ls->cap);
		}
		if (c == '\0')
			ls->has_nul = true;
		ls->line[ls->len++] = (char)c;
	}
	if (ferror(ls->fp))
		return -1;
	if (c == EOF && ls->len == 0 && !ls->too_long)
		return 0;
	ls->no_lf = c == EOF;
	ls->line[ls->len] = '\0';
	ls->lineno++;
	return 1;
}

void
source_lines_fini(struct source_lines *ls)
{
	free(ls->line);
	ls->line = NULL;
	ls->cap = ls->len = 0;
}
