/*
 * normalise.c - turn a source item (scraped text, JSON Lines record) into
 * a Netnews article (RFC 5536): a deterministic Message-ID, From naming
 * the source, Date, Subject, Path, MIME headers and a format=flowed body
 * (RFC 3676).
 *
 * It owns no state and does no I/O: the same item and hostname always
 * give the same article, so a re-import is idempotent. Newsgroups and Xref
 * are the caller's (route.c, spool.c).
 *
 * SECURITY: item strings are attacker-controlled. They are checked as
 * UTF-8, control characters are dropped from header values, the Subject is
 * capped at NORMALISE_SUBJECT_MAX octets and no body line passes
 * ARTICLE_LINE_MAX, whatever the input.
 */
#include "common.h"
#include "normalise.h"

#define NORMALISE_SUBJECT_MAX 900 /* octets of title kept, before RFC 2047 */
/* Longest piece of one word on a line: room left for space-stuffing and
 * the flowed trailing space within ARTICLE_LINE_MAX. */
#define NORMALISE_CHUNK_MAX (ARTICLE_LINE_MAX - 8)

bool
normalise_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	const unsigned char *end = p + len;
	uint32_t cp;
	size_t n, i;

	while (p < end) {
		if (*p < 0x80) {
			if (*p == 0)
				return false;
			p++;
			continue;
		}
		if (*p >= 0xc2 && *p <= 0xdf) {
			n = 1;
			cp = *p & 0x1f;
		} else if (*p >= 0xe0 && *p <= 0xef) {
			n = 2;
			cp = *p & 0x0f;
		} else if (*p >= 0xf0 && *p <= 0xf4) {
			n = 3;
			cp = *p & 0x07;
		} else {
			return false;
		}
		if ((size_t)(end - p) <= n)
			return false;
		for (i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (p[i] & 0x3f);
		}
		/* Overlong forms, UTF-16 surrogates, beyond U+10FFFF. */
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return false;
		p += n + 1;
	}
	return true;
}

/*
 * One header-safe line from s: control characters and runs of white space
 * become one space, leading and trailing space go, at most max octets (cut
 * on a character boundary). Appends to out.
 */
static void
normalise_line(const char *s, size_t max, struct buf *out)
{
	size_t start = out->len, n = 0;
	bool space = false;

	for (; *s != '\0' && n < max; s++) {
		unsigned char c = (unsigned char)*s;

		if (c <= ' ' || c == 0x7f) {
			space = n > 0;
			continue;
		}
		if (space) {
			buf_putc(out, ' ');
			n++;
			space = false;
		}
		buf_putc(out, c);
		n++;
	}
	while (*s != '\0' && ((unsigned char)*s <= ' ' || *s == 0x7f))
		s++;
	if (*s != '\0' && out->err == 0) {
		/* Cut: back to the start of the last whole character. */
		while (out->len > start &&
		    ((unsigned char)out->data[out->len - 1] & 0xc0) == 0x80)
			out->len--;
		if (out->len > start &&
		    (unsigned char)out->data[out->len - 1] >= 0xc0)
			out->len--;
		out->data[out->len] = '\0';
		buf_puts(out, "...");
	}
}

/* --- format=flowed --------------------------------------------------- */

struct flow {
	struct buf *out;
	size_t cols;	   /* wrap width in characters */
	size_t line_start; /* offset in out of the current line */
	size_t line_cols;  /* characters on the current line */
};

static size_t
normalise_ncols(const char *p, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++)
		if (((unsigned char)p[i] & 0xc0) != 0x80)
			n++;
	return n;
}

/*
 * End the current line: space-stuff it when it starts with a space, '>' or
 * "From " (RFC 3676 §4.4), and end it in a space when soft (a flowed
 * break, §4.2).
 */
static void
flow_end_line(struct flow *f, bool soft)
{
	struct buf *o = f->out;
	const char *l = o->data ? o->data + f->line_start : "";
	size_t len = o->len - f->line_start;

	if (len > 0 &&
	    (l[0] == ' ' || l[0] == '>' ||
		(len >= 5 && memcmp(l, "From ", 5) == 0) ||
		(soft && len == 4 && memcmp(l, "From", 4) == 0))) {
		buf_putc(o, ' ');
		if (o->err == 0) {
			memmove(o->data + f->line_start + 1,
			    o->data + f->line_start, len);
			o->data[f->line_start] = ' ';
		}
	}
	if (soft)
		buf_putc(o, ' ');
	buf_putc(o, '\n');
	f->line_start = o->len;
	f->line_cols = 0;
}

/* Add one word (no white space in it) to the current line. */
static void
flow_word(struct flow *f, const char *w, size_t len)
{
	size_t wc = normalise_ncols(w, len), n;

	if (f->line_cols > 0 && f->line_cols + 1 + wc > f->cols)
		flow_end_line(f, true);
	else if (f->line_cols > 0) {
		buf_putc(f->out, ' ');
		f->line_cols++;
	}
	/* A word too long for any line is cut into hard lines. */
	while (len > NORMALISE_CHUNK_MAX) {
		n = NORMALISE_CHUNK_MAX;
		while (n > 1 && ((unsigned char)w[n] & 0xc0) == 0x80)
			n--;
		buf_append(f->out, w, n);
		f->line_cols += normalise_ncols(w, n);
		flow_end_line(f, false);
		w += n;
		len -= n;
		wc = normalise_ncols(w, len);
	}
	buf_append(f->out, w, len);
	f->line_cols += wc;
}

/* Wrap one input line (no LF in it) into flowed output lines. */
static void
flow_line(struct flow *f, const char *p, size_t len)
{
	size_t i = 0, ws;

	while (i < len) {
		while (i < len && (unsigned char)p[i] <= ' ')
			i++;
		ws = i;
		while (i < len && (unsigned char)p[i] > ' ')
			i++;
		if (i > ws)
			flow_word(f, p + ws, i - ws);
	}
	flow_end_line(f, false);
}

void
normalise_wrap_flowed(const char *text, size_t cols, struct buf *out)
{
	struct flow f = {out, cols ? cols : ARTICLE_WRAP_COLS, out->len, 0};
	const char *p = text, *nl, *q;
	size_t len;
	bool blank_pending = false, any = false;

	for (; *p != '\0'; p = *nl ? nl + 1 : nl) {
		if ((nl = strchr(p, '\n')) == NULL)
			nl = p + strlen(p);
		len = (size_t)(nl - p);
		for (q = p; q < nl && (unsigned char)*q <= ' '; q++)
			;
		if (q == nl) {
			/* Runs of empty lines become one paragraph break. */
			blank_pending = any;
			continue;
		}
		if (blank_pending)
			buf_putc(out, '\n');
		f.line_start = out->len;
		blank_pending = false;
		flow_line(&f, p, len);
		any = true;
	}
}

/* --- the article ----------------------------------------------------- */

static bool
normalise_has(const char *s)
{
	if (s == NULL)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s > ' ')
			return true;
	return false;
}

/* Check every string field of the item as UTF-8. */
static const char *
normalise_check_utf8(const struct item *it)
{
	static const struct {
		size_t off;
		const char *name;
	} fields[] = {
	    {offsetof(struct item, id), "id"},
	    {offsetof(struct item, title), "title"},
	    {offsetof(struct item, text), "text"},
	    {offsetof(struct item, section), "section"},
	    {offsetof(struct item, source), "source"},
	    {offsetof(struct item, url), "url"},
	};
	size_t i;

	for (i = 0; i < NG_NELEM(fields); i++) {
		const char *s;

		memcpy(&s, (const char *)it + fields[i].off, sizeof(s));
		if (s != NULL && !normalise_utf8_valid(s, strlen(s)))
			return fields[i].name;
	}
	return NULL;
}

/*
 * The Message-ID: a hash of the most stable identity the item has (its
 * url, else source and id, else its title and text), tagged by kind so two
 * kinds never collide: "<hex16.hex8@hostname>".
 */
static void
normalise_msgid(const struct item *it, const char *hostname, struct buf *out)
{
	struct buf id = BUF_INIT(SIZE_MAX);
	uint64_t h1, h2;

	if (normalise_has(it->url)) {
		buf_puts(&id, "url");
		buf_putc(&id, '\0');
		buf_puts(&id, it->url);
	} else if (normalise_has(it->id)) {
		buf_puts(&id, "id");
		buf_putc(&id, '\0');
		buf_puts(&id,
		    it->source	      ? it->source
			: it->section ? it->section
				      : "");
		buf_putc(&id, '\0');
		buf_puts(&id, it->id);
	} else {
		buf_puts(&id, "text");
		buf_putc(&id, '\0');
		buf_puts(&id, it->title);
		buf_putc(&id, '\0');
		buf_puts(&id, it->text ? it->text : "");
	}
	h1 = hash64(id.data, id.len, 0);
	h2 = hash64(id.data, id.len, 0x9e3779b97f4a7c15ULL);
	buf_printf(out, "<%016" PRIx64 ".%08" PRIx32 "@%s>", h1,
	    (uint32_t)(h2 >> 32), hostname);
	buf_free(&id);
}

/* From: "Source Name <news@hostname>", the name as an RFC 5322 phrase. */
static void
normalise_from(const struct item *it, const char *hostname, struct buf *out)
{
	struct buf name = BUF_INIT(SIZE_MAX);

	if (normalise_has(it->source))
		normalise_line(it->source, 200, &name);
	else if (normalise_has(it->section))
		normalise_line(it->section, 200, &name);
	else
		buf_puts(&name, "newsgate");
	article_encode_phrase(buf_cstr(&name), out);
	buf_printf(out, " <news@%s>", hostname);
	buf_free(&name);
}

/* The body: the paragraphs, flowed; a title-only item gets its title (and
 * url), since a news article needs a body (INN refuses an empty one). */
static void
normalise_body(const struct item *it, const char *title, struct buf *out)
{
	if (normalise_has(it->text)) {
		normalise_wrap_flowed(it->text, ARTICLE_WRAP_COLS, out);
		return;
	}
	normalise_wrap_flowed(title, ARTICLE_WRAP_COLS, out);
	if (normalise_has(it->url)) {
		buf_putc(out, '\n');
		normalise_wrap_flowed(it->url, ARTICLE_WRAP_COLS, out);
	}
}

struct article *
normalise_item(const struct item *it, const char *hostname,
    time_t fallback_date, struct buf *why)
{
	struct buf v = BUF_INIT(SIZE_MAX), title = BUF_INIT(SIZE_MAX);
	struct article *a;
	const char *bad;
	char date[40];
	size_t len;
	time_t t;

	if (!normalise_has(it->title)) {
		buf_puts(why, "Item has no title");
		return NULL;
	}
	if ((bad = normalise_check_utf8(it)) != NULL) {
		buf_printf(why, "Invalid UTF-8 in %s", bad);
		return NULL;
	}
	normalise_msgid(it, hostname, &v);
	if (!article_msgid_valid(buf_cstr(&v))) {
		buf_printf(
		    why, "Hostname \"%s\" makes no valid Message-ID", hostname);
		buf_free(&v);
		return NULL;
	}
	a = article_new();
	buf_reset(&v);
	buf_printf(&v, "%s!not-for-mail", hostname);
	article_set(a, "Path", buf_cstr(&v));
	buf_reset(&v);
	normalise_from(it, hostname, &v);
	article_set(a, "From", buf_cstr(&v));
	normalise_line(it->title, NORMALISE_SUBJECT_MAX, &title);
	buf_reset(&v);
	article_encode_words(buf_cstr(&title), &v);
	article_set(a, "Subject", buf_cstr(&v));
	t = it->date != -1 ? it->date : fallback_date;
	if (t == -1)
		t = time(NULL);
	article_format_date(t, date, sizeof(date));
	article_set(a, "Date", date);
	buf_reset(&v);
	normalise_msgid(it, hostname, &v);
	article_set(a, "Message-ID", buf_cstr(&v));
	article_set(a, "MIME-Version", "1.0");
	article_set(
	    a, "Content-Type", "text/plain; charset=UTF-8; format=flowed");
	article_set(a, "Content-Transfer-Encoding", "8bit");
	if (normalise_has(it->id)) {
		buf_reset(&v);
		normalise_line(it->id, 400, &v);
		article_set(a, "X-Newsgate-Source", buf_cstr(&v));
	}
	if (normalise_has(it->url)) {
		buf_reset(&v);
		normalise_line(it->url, ARTICLE_LINE_MAX - 20, &v);
		article_set(a, "X-Newsgate-URL", buf_cstr(&v));
	}
	buf_reset(&v);
	normalise_body(it, buf_cstr(&title), &v);
	len = v.len;
	article_set_body(a, buf_steal(&v), len);
	buf_free(&title);
	return a;
}
