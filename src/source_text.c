/*
 * source_text.c - the scraped article text of contrib/sample/: the site
 * section on the first line, then the headline (often repeated), then
 * paragraphs separated by empty lines, then the site's navigation
 * ("Similar News", "Recent News", "Back to top"), which is dropped.
 *
 * One file is one item: its id is the file's base name (none for stdin),
 * its date the file's mtime. It keeps nothing after the callback returns.
 *
 * SECURITY: the file is attacker-controlled: it is read whole up to
 * SOURCE_RECORD_MAX octets, NUL bytes and invalid UTF-8 are refused.
 */
#include "common.h"
#include "buf.h"
#include "source.h"

#define TEXT_NAV_LINE_MAX 60 /* octets: longer lines are article text */

/* Lines that start the trailing navigation block of news sites. */
static bool
text_nav_start(const char *p, size_t len)
{
	static const char *const nav[] = {"Similar News", "Recent News",
	    "Back to top", "Related News", "Most Popular", "Share this",
	    "Comments", "Related Articles", "Related Stories", "Read more",
	    "Read More News", "Also Read", "More News", "Latest News",
	    "Top Stories", "Trending", "Trending Now", "Advertisement", "Share",
	    "Share this article", "Follow us", "Tags", "Leave a comment",
	    "Leave a Reply", "You may also like", "More from", "Popular News",
	    "Editor's Picks", "Most Read", "Top News"};
	size_t i, n;

	while (len > 0 &&
	    (p[len - 1] == ':' || p[len - 1] == ' ' || p[len - 1] == '\t'))
		len--;
	for (i = 0; i < NG_NELEM(nav); i++) {
		n = strlen(nav[i]);
		if (n == len && strncasecmp(p, nav[i], n) == 0)
			return true;
	}
	return false;
}

/* A line, trimmed of white space at both ends. */
struct text_line {
	const char *p;
	size_t len;
};

/* Split data into trimmed lines (CR, spaces and tabs removed). */
static struct text_line *
text_split(const char *data, size_t len, size_t *nlines)
{
	struct text_line *l = NULL;
	size_t n = 0, cap = 0;
	const char *p = data, *end = data + len, *nl, *a, *b;

	while (p < end) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		for (a = p; a < nl && (*a == ' ' || *a == '\t' || *a == '\r');
		     a++)
			;
		for (b = nl;
		     b > a && (b[-1] == ' ' || b[-1] == '\t' || b[-1] == '\r');
		     b--)
			;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			l = xreallocarray(l, cap, sizeof(*l));
		}
		l[n].p = a;
		l[n].len = (size_t)(b - a);
		n++;
		p = nl + 1;
	}
	*nlines = n;
	return l;
}

static bool
text_line_eq(const struct text_line *a, const struct text_line *b)
{
	return a->len == b->len && memcmp(a->p, b->p, a->len) == 0;
}

/* Where the trailing navigation block starts: the first nav line after
 * which every line is short. end when there is none. */
static size_t
text_nav_cut(const struct text_line *l, size_t from, size_t end)
{
	size_t i, cut = end;

	for (i = end; i > from; i--) {
		const struct text_line *x = &l[i - 1];

		if (x->len > TEXT_NAV_LINE_MAX)
			break;
		if (x->len > 0 && text_nav_start(x->p, x->len))
			cut = i - 1;
	}
	return cut;
}

static const char *
text_basename(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

/* Build and emit the item of a file already checked as UTF-8. */
static int
text_emit(const char *data, size_t len, const char *name, time_t mtime,
    const struct source_sink *sink)
{
	struct buf section = BUF_INIT(SIZE_MAX), title = BUF_INIT(SIZE_MAX);
	struct buf text = BUF_INIT(SIZE_MAX);
	struct source_pos pos = {name, 1, 0};
	struct text_line *l;
	struct item it;
	size_t n, i = 0, end, head;
	bool gap = false;
	int rc = 0;

	l = text_split(data, len, &n);
	while (i < n && l[i].len == 0)
		i++;
	if (i == n) {
		source_report(sink, name, 1, "empty article text");
		free(l);
		return 0;
	}
	pos.line = i + 1;
	/* One line alone is a headline; otherwise section, headline. */
	for (end = i + 1; end < n && l[end].len == 0; end++)
		;
	if (end < n) {
		buf_append(&section, l[i].p, l[i].len);
		i = end;
	}
	head = i;
	buf_append(&title, l[head].p, l[head].len);
	/* The headline again (sites print it twice): once is enough. */
	for (i = head + 1;
	     i < n && (l[i].len == 0 || text_line_eq(&l[i], &l[head])); i++)
		;
	end = text_nav_cut(l, i, n);
	for (; i < end; i++) {
		if (l[i].len == 0) {
			gap = text.len > 0;
			continue;
		}
		if (text.len > 0)
			buf_puts(&text, gap ? "\n\n" : "\n");
		gap = false;
		buf_append(&text, l[i].p, l[i].len);
	}
	memset(&it, 0, sizeof(it));
	/* stdin has no name: the Message-ID then comes from the text. */
	it.id = strcmp(name, "-") == 0 ? NULL : text_basename(name);
	it.title = buf_cstr(&title);
	it.text = buf_cstr(&text);
	it.section = section.len ? buf_cstr(&section) : NULL;
	it.date = mtime;
	rc = sink->item(sink->arg, &pos, &it);
	free(l);
	buf_free(&section);
	buf_free(&title);
	buf_free(&text);
	return rc;
}

int
source_text_read(
    FILE *fp, const char *name, time_t mtime, const struct source_sink *sink)
{
	struct buf data = BUF_INIT(SOURCE_RECORD_MAX);
	char chunk[65536];
	const char *p;
	size_t n;
	unsigned long bad;
	int rc = 0;

	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0 && !data.err)
		buf_append(&data, chunk, n);
	if (ferror(fp)) {
		source_report(sink, name, 1, "read error: %s", strerror(errno));
		goto out;
	}
	if (data.err) {
		source_report(sink, name, 1, "article text over %d octets",
		    SOURCE_RECORD_MAX);
		goto out;
	}
	p = buf_cstr(&data);
	n = data.len;
	if (n >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0) {
		p += 3; /* a UTF-8 byte order mark */
		n -= 3;
	}
	if ((bad = source_utf8_bad_line(p, n, 1)) != 0) {
		const char *nul = memchr(p, '\0', n);

		source_report(sink, name, bad,
		    nul &&
			    source_utf8_bad_line(p, (size_t)(nul - p) + 1, 1) ==
				bad
			? "NUL byte in article text"
			: "invalid UTF-8 in article text");
		goto out;
	}
	rc = text_emit(p, n, name, mtime, sink);
out:
	buf_free(&data);
	return rc;
}
