/*
 * article.c - one Netnews article in memory (RFC 5322, RFC 5536): parsing
 * into an ordered, unfolded header list and a body, rendering back with
 * folding, and the RFC 5322 / RFC 2047 helpers.
 *
 * This is the only module that includes libetpan: dates and addresses are
 * parsed with mailimf_*, encoded-words are decoded with mailmime_*. The
 * header list itself is split here, so the order and the exact values of
 * every field survive a parse/render round trip.
 *
 * It owns no state and never touches files or sockets.
 *
 * SECURITY: article_parse() reads attacker-controlled bytes. Every line is
 * bounded by ARTICLE_LINE_MAX, the header count by ARTICLE_HEADERS_MAX and
 * the whole by the caller's size limit; NUL bytes are refused. Nothing is
 * copied but the parsed fields, so memory stays linear in the input.
 */
#include <ctype.h>

#include <libetpan/libetpan.h>

#include "common.h"
#include "article.h"

#define ARTICLE_FOLD_COLS 78 /* RFC 5322 §2.1.1: SHOULD be at most 78 */
#define ARTICLE_EW_MAX 75    /* RFC 2047 §2: octets per encoded-word */
#define ARTICLE_EW_PREFIX "=?UTF-8?"
#define ARTICLE_MSGID_MAX 250 /* RFC 5536 §3.1.3 */

/* --- the header list ------------------------------------------------ */

struct article *
article_new(void)
{
	struct article *a = xcalloc(1, sizeof(*a));

	a->body = xstrdup("");
	return a;
}

void
article_free(struct article *a)
{
	size_t i;

	if (a == NULL)
		return;
	for (i = 0; i < a->nhdrs; i++) {
		free(a->hdrs[i].name);
		free(a->hdrs[i].value);
	}
	free(a->hdrs);
	free(a->body);
	free(a);
}

/* Room for one more header at index at (0..nhdrs); returns it. */
static struct header *
article_insert_slot(struct article *a, size_t at)
{
	if (a->nhdrs == a->caphdrs) {
		a->caphdrs = a->caphdrs ? a->caphdrs * 2 : 16;
		a->hdrs = xreallocarray(a->hdrs, a->caphdrs, sizeof(*a->hdrs));
	}
	memmove(
	    &a->hdrs[at + 1], &a->hdrs[at], (a->nhdrs - at) * sizeof(*a->hdrs));
	a->nhdrs++;
	return &a->hdrs[at];
}

static void
article_remove_at(struct article *a, size_t at)
{
	free(a->hdrs[at].name);
	free(a->hdrs[at].value);
	memmove(&a->hdrs[at], &a->hdrs[at + 1],
	    (a->nhdrs - at - 1) * sizeof(*a->hdrs));
	a->nhdrs--;
}

/* Same header name? The first letter rules out most without a call:
 * header lookups run dozens of times per article. */
static inline bool
article_name_eq(const char *x, const char *y)
{
	return tolower((unsigned char)x[0]) == tolower((unsigned char)y[0]) &&
	    strcasecmp(x, y) == 0;
}

const char *
article_get(const struct article *a, const char *name)
{
	size_t i;

	for (i = 0; i < a->nhdrs; i++)
		if (article_name_eq(a->hdrs[i].name, name))
			return a->hdrs[i].value;
	return NULL;
}

void
article_set(struct article *a, const char *name, const char *value)
{
	struct header *h;
	size_t i;
	bool found = false;

	for (i = 0; i < a->nhdrs;) {
		if (!article_name_eq(a->hdrs[i].name, name)) {
			i++;
		} else if (!found) {
			found = true;
			free(a->hdrs[i].value);
			a->hdrs[i].value = xstrdup(value);
			i++;
		} else {
			article_remove_at(a, i);
		}
	}
	if (found)
		return;
	h = article_insert_slot(a, a->nhdrs);
	h->name = xstrdup(name);
	h->value = xstrdup(value);
}

void
article_set_newsgroups(struct article *a, const char *const *groups, size_t n)
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

void
article_prepend(struct article *a, const char *name, const char *value)
{
	struct header *h = article_insert_slot(a, 0);

	h->name = xstrdup(name);
	h->value = xstrdup(value);
}

void
article_del(struct article *a, const char *name)
{
	size_t i;

	for (i = 0; i < a->nhdrs;) {
		if (article_name_eq(a->hdrs[i].name, name))
			article_remove_at(a, i);
		else
			i++;
	}
}

/*
 * Keep the body in its canonical form: empty, or ending in exactly one LF
 * (trailing empty lines carry nothing in news and would make Lines and
 * Bytes differ between copies of the same text).
 */
static void
article_body_canon(struct article *a)
{
	while (a->body_len > 0 && a->body[a->body_len - 1] == '\n')
		a->body_len--;
	if (a->body_len > 0) {
		a->body = xrealloc(a->body, a->body_len + 2);
		a->body[a->body_len++] = '\n';
	}
	a->body[a->body_len] = '\0';
}

void
article_set_body(struct article *a, char *body, size_t len)
{
	free(a->body);
	a->body = body;
	a->body_len = len;
	article_body_canon(a);
}

/* --- parsing --------------------------------------------------------- */

/* RFC 5322 §2.2: a field name is printable US-ASCII except ':'. */
static bool
article_name_valid(const char *p, size_t len)
{
	size_t i;

	if (len == 0)
		return false;
	for (i = 0; i < len; i++)
		if (p[i] < 33 || p[i] > 126 || p[i] == ':')
			return false;
	return true;
}

/* Trailing spaces, tabs and CRs of a value carry nothing. */
static void
article_trim_value(struct buf *v)
{
	while (v->len > 0 &&
	    (v->data[v->len - 1] == ' ' || v->data[v->len - 1] == '\t' ||
		v->data[v->len - 1] == '\r'))
		v->len--;
	if (v->data)
		v->data[v->len] = '\0';
}

static void
article_add_parsed(
    struct article *a, const char *name, size_t nlen, struct buf *value)
{
	struct header *h = article_insert_slot(a, a->nhdrs);

	article_trim_value(value);
	h->name = xstrndup(name, nlen);
	h->value =
	    value->data ? xstrndup(value->data, value->len) : xstrdup("");
	buf_reset(value);
}

/*
 * One line of data starting at off: sets *llen to its length without the
 * line ending and returns the offset of the next line.
 */
static size_t
article_line(const char *data, size_t len, size_t off, size_t *llen)
{
	const char *nl = memchr(data + off, '\n', len - off);
	size_t end = nl ? (size_t)(nl - data) : len;
	size_t l = end - off;

	/* CRLF, and stray CRs before it: a CR at the end of a line
	 * would not survive storage with LF endings. */
	while (nl && l > 0 && data[off + l - 1] == '\r')
		l--;
	*llen = l;
	return nl ? end + 1 : len;
}

static int
article_parse_headers(const char *data, size_t len, struct article *a,
    size_t *bodyoff, struct buf *why)
{
	struct buf value = BUF_INIT(SIZE_MAX);
	const char *name = NULL;
	size_t off = 0, next, llen, nlen = 0, lineno = 0;
	const char *line, *colon;

	while (off < len) {
		line = data + off;
		next = article_line(data, len, off, &llen);
		lineno++;
		if (llen > ARTICLE_LINE_MAX) {
			buf_printf(why, "Header line over %d octets (line %zu)",
			    ARTICLE_LINE_MAX, lineno);
			goto fail;
		}
		if (llen == 0) {
			if (name)
				article_add_parsed(a, name, nlen, &value);
			buf_free(&value);
			*bodyoff = next;
			return 0;
		}
		if (line[0] == ' ' || line[0] == '\t') {
			/* RFC 5322 §2.2.3: unfolding removes the CRLF only. */
			if (name == NULL) {
				buf_printf(why,
				    "Continuation line before the "
				    "first header");
				goto fail;
			}
			buf_append(&value, line, llen);
			off = next;
			continue;
		}
		if (name)
			article_add_parsed(a, name, nlen, &value);
		if ((colon = memchr(line, ':', llen)) == NULL) {
			buf_printf(why,
			    "Header line without a colon (line %zu)", lineno);
			goto fail;
		}
		nlen = (size_t)(colon - line);
		if (!article_name_valid(line, nlen)) {
			buf_printf(
			    why, "Invalid header name (line %zu)", lineno);
			goto fail;
		}
		if (a->nhdrs >= ARTICLE_HEADERS_MAX) {
			buf_printf(why, "More than %d header fields",
			    ARTICLE_HEADERS_MAX);
			goto fail;
		}
		name = line;
		colon++;
		while (colon < line + llen && (*colon == ' ' || *colon == '\t'))
			colon++;
		buf_append(&value, colon, (size_t)(line + llen - colon));
		off = next;
	}
	buf_printf(why,
	    a->nhdrs || name ? "No empty line between headers "
			       "and body"
			     : "Empty article");
fail:
	buf_free(&value);
	return -1;
}

/* Copy the body, CRLF to LF, checking line lengths. */
static int
article_parse_body(const char *data, size_t len, size_t first_line,
    struct article *a, struct buf *why)
{
	char *body = xmalloc(len + 2), *w = body;
	size_t off = 0, next, llen, lineno = first_line;

	while (off < len) {
		next = article_line(data, len, off, &llen);
		if (llen > ARTICLE_LINE_MAX) {
			buf_printf(why, "Body line over %d octets (line %zu)",
			    ARTICLE_LINE_MAX, lineno);
			free(body);
			return -1;
		}
		memcpy(w, data + off, llen);
		w += llen;
		*w++ = '\n';
		off = next;
		lineno++;
	}
	*w = '\0';
	article_set_body(a, body, (size_t)(w - body));
	return 0;
}

/* Lines in the first len octets (the header block, with its empty line). */
static size_t
article_count_lines(const char *data, size_t len)
{
	const char *p = data, *end = data + len;
	size_t n = 0;

	while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		n++;
		p++;
	}
	return n;
}

int
article_parse(
    const char *data, size_t len, struct article **out, struct buf *why)
{
	struct article *a;
	size_t bodyoff = 0;

	*out = NULL;
	if (memchr(data, '\0', len) != NULL) {
		buf_puts(why, "NUL byte in article");
		return -1;
	}
	a = article_new();
	if (article_parse_headers(data, len, a, &bodyoff, why) == -1 ||
	    article_parse_body(data + bodyoff, len - bodyoff,
		article_count_lines(data, bodyoff) + 1, a, why) == -1) {
		article_free(a);
		return -1;
	}
	*out = a;
	return 0;
}

/* --- rendering ------------------------------------------------------- */

/* Headers that readers and peers expect on one line (RFC 5536 §3). */
static bool
article_fold_avoid(const char *name)
{
	static const char *const one_line[] = {"Path", "Newsgroups", "Xref",
	    "Message-ID", "Followup-To", "Distribution", "Supersedes"};
	size_t i;

	for (i = 0; i < NG_NELEM(one_line); i++)
		if (article_name_eq(name, one_line[i]))
			return true;
	return false;
}

/*
 * Where to end the current line of a header, given the text from p (len
 * octets) that follows col octets already on the line: the index of a
 * white space character at which to fold, or len when the rest fits. A
 * fold point needs non-white text before it on the line (RFC 5322 §3.2.2:
 * no line of only white space). The last fold point within limit is
 * taken; else the first one within hard; as the last resort the text is
 * cut at hard, on a UTF-8 character boundary.
 */
static size_t
article_fold_point(
    const char *p, size_t len, size_t col, size_t limit, size_t hard)
{
	size_t i, best = 0, room, hardroom;
	bool seen_text = false;

	room = limit > col ? limit - col : 0;
	hardroom = hard > col ? hard - col : 1;
	if (len <= room)
		return len;
	for (i = 0; i < len && i <= hardroom; i++) {
		if (p[i] == ' ' || p[i] == '\t') {
			if (!seen_text)
				continue;
			if (i <= room)
				best = i;
			else
				return best > 0 ? best : i;
		} else {
			seen_text = true;
		}
	}
	if (best > 0)
		return best;
	if (len <= hardroom)
		return len;
	i = hardroom;
	while (i > 1 && ((unsigned char)p[i] & 0xc0) == 0x80)
		i--;
	return i;
}

void
article_render_field(const char *name, const char *value, struct buf *out)
{
	char *clean = NULL, *c;
	const char *v = value;
	size_t len, col, n, limit;

	/* A value set by a caller must not break the header block. */
	if (strpbrk(v, "\r\n") != NULL) {
		clean = xstrdup(v);
		for (c = clean; (c = strpbrk(c, "\r\n")) != NULL; c++)
			*c = ' ';
		v = clean;
	}
	len = strlen(v);
	buf_puts(out, name);
	buf_putc(out, ':');
	col = strlen(name) + 2;
	if (len == 0) {
		buf_putc(out, '\n');
		free(clean);
		return;
	}
	if (col >= ARTICLE_LINE_MAX) {
		/* A name this long leaves no room: start on the next line. */
		buf_puts(out, "\n ");
		col = 1;
	} else {
		buf_putc(out, ' ');
	}
	limit =
	    article_fold_avoid(name) ? ARTICLE_LINE_MAX : ARTICLE_FOLD_COLS;
	while (len > 0) {
		n = article_fold_point(v, len, col, limit, ARTICLE_LINE_MAX);
		buf_append(out, v, n);
		v += n;
		len -= n;
		if (len == 0)
			break;
		buf_putc(out, '\n');
		col = 0;
		/* A cut (no white space there) needs one to continue. */
		if (*v != ' ' && *v != '\t') {
			buf_putc(out, ' ');
			col = 1;
		}
	}
	buf_putc(out, '\n');
	free(clean);
}

void
article_render_head(const struct article *a, struct buf *out)
{
	size_t i;

	for (i = 0; i < a->nhdrs; i++)
		article_render_field(a->hdrs[i].name, a->hdrs[i].value, out);
}

void
article_render_body(const struct article *a, struct buf *out)
{
	buf_putc(out, '\n');
	buf_append(out, a->body, a->body_len);
	if (a->body_len > 0 && a->body[a->body_len - 1] != '\n')
		buf_putc(out, '\n');
}

void
article_render(const struct article *a, struct buf *out)
{
	article_render_head(a, out);
	article_render_body(a, out);
}

uint64_t
article_body_lines(const struct article *a)
{
	uint64_t n = 0;
	const char *p = a->body, *end = a->body + a->body_len;

	while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		n++;
		p++;
	}
	if (a->body_len > 0 && a->body[a->body_len - 1] != '\n')
		n++;
	return n;
}

/* --- RFC 2047 -------------------------------------------------------- */

static bool article_atext(unsigned char c);

static bool
article_is_ws(char c)
{
	return c == ' ' || c == '\t';
}

/* Length of the UTF-8 sequence starting with c (1 for a stray byte). */
static size_t
article_utf8_len(unsigned char c)
{
	if (c >= 0xf0 && c < 0xf8)
		return 4;
	if (c >= 0xe0)
		return c < 0xf0 ? 3 : 1;
	if (c >= 0xc0)
		return 2;
	return 1;
}

/* Characters that stand for themselves in a Q word, even in a phrase
 * (RFC 2047 §5 (3)). */
static bool
article_q_plain(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '!' || c == '*' || c == '+' ||
	    c == '-' || c == '/';
}

static void
article_encode_q(const unsigned char *p, size_t len, struct buf *out)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i, ch,
	    room = ARTICLE_EW_MAX - strlen(ARTICLE_EW_PREFIX "Q?") - 2,
	    used = 0, cost, j;

	buf_puts(out, ARTICLE_EW_PREFIX "Q?");
	for (i = 0; i < len; i += ch) {
		ch = article_utf8_len(p[i]);
		if (ch > len - i)
			ch = len - i;
		for (cost = 0, j = 0; j < ch; j++)
			cost += article_q_plain(p[i + j]) || p[i + j] == ' '
			    ? 1
			    : 3;
		if (used + cost > room) {
			buf_puts(out, "?= " ARTICLE_EW_PREFIX "Q?");
			used = 0;
		}
		for (j = 0; j < ch; j++) {
			unsigned char c = p[i + j];

			if (c == ' ')
				buf_putc(out, '_');
			else if (article_q_plain(c))
				buf_putc(out, c);
			else {
				buf_putc(out, '=');
				buf_putc(out, hex[c >> 4]);
				buf_putc(out, hex[c & 15]);
			}
		}
		used += cost;
	}
	buf_puts(out, "?=");
}

static void
article_encode_b(const unsigned char *p, size_t len, struct buf *out)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	/* 75 - "=?UTF-8?B?" - "?=" = 63 characters: 15 groups, 45 octets. */
	const size_t maxraw = 45;
	size_t i = 0, n, ch, k;

	while (i < len) {
		/* As many whole characters as fit. */
		for (n = 0; i + n < len;) {
			ch = article_utf8_len(p[i + n]);
			if (ch > len - i - n)
				ch = len - i - n;
			if (n + ch > maxraw)
				break;
			n += ch;
		}
		if (i > 0)
			buf_putc(out, ' ');
		buf_puts(out, ARTICLE_EW_PREFIX "B?");
		for (k = 0; k < n; k += 3) {
			uint32_t v = (uint32_t)p[i + k] << 16;

			if (k + 1 < n)
				v |= (uint32_t)p[i + k + 1] << 8;
			if (k + 2 < n)
				v |= p[i + k + 2];
			buf_putc(out, b64[v >> 18 & 63]);
			buf_putc(out, b64[v >> 12 & 63]);
			buf_putc(out, k + 1 < n ? b64[v >> 6 & 63] : '=');
			buf_putc(out, k + 2 < n ? b64[v & 63] : '=');
		}
		buf_puts(out, "?=");
		i += n;
	}
}

/* Encoded-words for p: Q when not much longer than B, since Q stays
 * readable, else B. */
static void
article_encode_run(const unsigned char *p, size_t len, struct buf *out)
{
	size_t i, special = 0;

	for (i = 0; i < len; i++)
		if (!article_q_plain(p[i]) && p[i] != ' ')
			special++;
	if ((len + special * 2) * 2 <= (len + 2) / 3 * 4 * 3)
		article_encode_q(p, len, out);
	else
		article_encode_b(p, len, out);
}

/* Does this word need encoding: 8-bit or control bytes, or text that a
 * decoder would take for an encoded-word? */
static bool
article_word_needs_ew(const char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)p[i] >= 0x7f || (unsigned char)p[i] < 0x20)
			return true;
	return len >= 2 && memmem(p, len, "=?", 2) != NULL;
}

/*
 * Plain words stay plain; the run from the first word that needs encoding
 * to the last one becomes encoded-words (RFC 2047 §5: white space between
 * adjacent encoded-words is not shown, so the run's inner spaces go inside
 * the words). Q when the run is mostly ASCII, else B.
 */
void
article_encode_words(const char *utf8, struct buf *out)
{
	size_t len = strlen(utf8), i, ws, we, first = len, last = 0;

	for (i = 0; i < len;) {
		while (i < len && article_is_ws(utf8[i]))
			i++;
		ws = i;
		while (i < len && !article_is_ws(utf8[i]))
			i++;
		we = i;
		if (we > ws && article_word_needs_ew(utf8 + ws, we - ws)) {
			if (first == len)
				first = ws;
			last = we;
		}
	}
	if (first == len) {
		buf_append(out, utf8, len);
		return;
	}
	buf_append(out, utf8, first);
	article_encode_run(
	    (const unsigned char *)utf8 + first, last - first, out);
	buf_append(out, utf8 + last, len - last);
}

void
article_encode_phrase(const char *utf8, struct buf *out)
{
	size_t len = strlen(utf8), i;
	bool plain = len > 0 && utf8[0] != ' ' && utf8[len - 1] != ' ';

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)utf8[i];

		if (c >= 0x7f || c < 0x20) {
			/* RFC 2047 §5 (3): whole words only, never quoted. */
			article_encode_run(
			    (const unsigned char *)utf8, len, out);
			return;
		}
		if (!article_atext(c) && !(c == ' ' && utf8[i + 1] != ' '))
			plain = false;
	}
	if (plain && strstr(utf8, "=?") == NULL) {
		buf_append(out, utf8, len);
		return;
	}
	buf_putc(out, '"');
	for (i = 0; i < len; i++) {
		if (utf8[i] == '"' || utf8[i] == '\\')
			buf_putc(out, '\\');
		buf_putc(out, utf8[i]);
	}
	buf_putc(out, '"');
}

/*
 * The end of an encoded-word starting at p ("=?charset?E?text?="), or NULL
 * when p does not start one (RFC 2047 §2: no spaces, at most 75 octets;
 * longer words from old software are accepted up to the line limit).
 */
static const char *
article_ew_end(const char *p, const char *end)
{
	const char *q = p + 2, *e;
	int marks = 0;

	if (end - p < 8 || p[0] != '=' || p[1] != '?')
		return NULL;
	for (; q < end && marks < 2; q++) {
		if (*q == '?')
			marks++;
		else if ((unsigned char)*q <= ' ' || (unsigned char)*q >= 0x7f)
			return NULL;
	}
	if (marks < 2 || q - p < 6 ||
	    (q[-2] != 'B' && q[-2] != 'b' && q[-2] != 'Q' && q[-2] != 'q') ||
	    q[-3] != '?')
		return NULL;
	for (e = q; e + 1 < end; e++) {
		if (e[0] == '?' && e[1] == '=')
			return e + 2;
		if ((unsigned char)*e <= ' ' || (unsigned char)*e >= 0x7f)
			return NULL;
	}
	return NULL;
}

/* Decode one encoded-word with libetpan into UTF-8; false on failure. */
static bool
article_ew_decode(const char *p, size_t len, struct buf *out)
{
	char *res = NULL;
	size_t idx = 0, i;

	if (mailmime_encoded_phrase_parse(
		"us-ascii", p, len, &idx, "utf-8", &res) != MAILIMF_NO_ERROR ||
	    res == NULL)
		return false;
	/* Decoded control characters would break the header line. */
	for (i = 0; res[i] != '\0'; i++)
		buf_putc(out, (unsigned char)res[i] < 0x20 ? ' ' : res[i]);
	free(res);
	return true;
}

void
article_decode_words(const char *text, struct buf *out)
{
	const char *p = text, *end = text + strlen(text), *e, *ws;

	if (strstr(text, "=?") == NULL) {
		buf_append(out, text, (size_t)(end - text));
		return;
	}
	while (p < end) {
		if ((e = article_ew_end(p, end)) != NULL &&
		    article_ew_decode(p, (size_t)(e - p), out)) {
			p = e;
			/* White space between two encoded-words is dropped. */
			for (ws = p; ws < end && article_is_ws(*ws); ws++)
				;
			if (ws > p && article_ew_end(ws, end) != NULL)
				p = ws;
			continue;
		}
		buf_putc(out, *p++);
	}
}

/* --- dates ----------------------------------------------------------- */

/* RFC 5322 §4.3: two-digit years are 19xx from 50, else 20xx; three-digit
 * years add 1900. */
static int
article_full_year(int y)
{
	if (y < 50)
		return y + 2000;
	if (y < 1000)
		return y + 1900;
	return y;
}

time_t
article_parse_date(const char *text)
{
	struct mailimf_date_time *dt = NULL;
	size_t idx = 0;
	struct tm tm;
	time_t t;
	int zone;

	if (mailimf_date_time_parse(text, strlen(text), &idx, &dt) !=
	    MAILIMF_NO_ERROR)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = article_full_year(dt->dt_year) - 1900;
	tm.tm_mon = dt->dt_month - 1;
	tm.tm_mday = dt->dt_day;
	tm.tm_hour = dt->dt_hour;
	tm.tm_min = dt->dt_min;
	tm.tm_sec = dt->dt_sec;
	zone = dt->dt_zone;
	mailimf_date_time_free(dt);
	if (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 ||
	    tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
	    tm.tm_sec > 60 || zone < -9959 || zone > 9959)
		return -1;
	if ((t = timegm(&tm)) == -1)
		return -1;
	/* dt_zone is +HHMM as a number: +0130 is 130. */
	t -= (time_t)(zone / 100) * 3600 + (time_t)(zone % 100) * 60;
	return t;
}

void
article_format_date(time_t t, char *dst, size_t cap)
{
	static const char days[7][4] = {
	    "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May",
	    "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));
	(void)snprintf(dst, cap, "%s, %02d %s %04d %02d:%02d:%02d +0000",
	    days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* --- identifiers and addresses --------------------------------------- */

/* RFC 5322 §3.2.3 atext. */
static bool
article_atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/* dot-atom-text: atext runs separated by single dots. */
static bool
article_dot_atom(const char *p, size_t len)
{
	size_t i;

	if (len == 0 || p[0] == '.' || p[len - 1] == '.')
		return false;
	for (i = 0; i < len; i++) {
		if (p[i] == '.') {
			if (p[i + 1] == '.')
				return false;
		} else if (!article_atext((unsigned char)p[i]) || p[i] == '\0')
			return false;
	}
	return true;
}

/* RFC 5536 §3.1.3: no-fold-quote for id-left (printable, no '>'). */
static bool
article_no_fold_quote(const char *p, size_t len)
{
	size_t i;

	if (len < 2 || p[0] != '"' || p[len - 1] != '"')
		return false;
	for (i = 1; i < len - 1; i++) {
		if (p[i] == '\\') {
			if (++i >= len - 1)
				return false;
		} else if (p[i] == '"') {
			return false;
		}
	}
	return true;
}

/* RFC 5536 §3.1.3: no-fold-literal, mdtext excludes '[', ']', '\'. */
static bool
article_no_fold_literal(const char *p, size_t len)
{
	size_t i;

	if (len < 2 || p[0] != '[' || p[len - 1] != ']')
		return false;
	for (i = 1; i < len - 1; i++)
		if (p[i] == '[' || p[i] == ']' || p[i] == '\\')
			return false;
	return true;
}

bool
article_msgid_valid(const char *id)
{
	size_t len = strlen(id), i, at = 0;

	if (len < 5 || len > ARTICLE_MSGID_MAX || id[0] != '<' ||
	    id[len - 1] != '>')
		return false;
	for (i = 1; i < len - 1; i++) {
		if (id[i] < 33 || id[i] > 126 || id[i] == '>' || id[i] == '<')
			return false;
		if (id[i] == '@')
			at = i; /* the last '@': id-left may quote one */
	}
	if (at == 0)
		return false;
	return (article_dot_atom(id + 1, at - 1) ||
		   article_no_fold_quote(id + 1, at - 1)) &&
	    (article_dot_atom(id + at + 1, len - at - 2) ||
		article_no_fold_literal(id + at + 1, len - at - 2));
}

/*
 * An addr-spec as RFC 5322 §3.4.1 writes it: dot-atom or quoted local
 * part, dot-atom or literal domain. libetpan also takes obsolete forms
 * ("a b@c" read as "ab@c"), so the address must also appear in the header
 * text as it is.
 */
static bool
article_addr_ok(const char *addr, const char *header)
{
	const char *at;
	size_t llen;

	if (addr == NULL || (at = strrchr(addr, '@')) == NULL ||
	    strstr(header, addr) == NULL)
		return false;
	llen = (size_t)(at - addr);
	return (article_dot_atom(addr, llen) ||
		   article_no_fold_quote(addr, llen)) &&
	    (article_dot_atom(at + 1, strlen(at + 1)) ||
		article_no_fold_literal(at + 1, strlen(at + 1)));
}

/* Skip white space and RFC 5322 comments (nested parentheses, quoted
 * pairs) from idx; returns the new index. */
static size_t
article_skip_cfws(const char *s, size_t len, size_t idx)
{
	int depth = 0;

	for (; idx < len; idx++) {
		if (depth > 0 && s[idx] == '\\' && idx + 1 < len)
			idx++;
		else if (s[idx] == '(')
			depth++;
		else if (depth > 0 && s[idx] == ')')
			depth--;
		else if (depth == 0 && s[idx] != ' ' && s[idx] != '\t')
			break;
	}
	return depth == 0 ? idx : len + 1;
}

bool
article_from_valid(const char *from)
{
	struct mailimf_mailbox_list *ml = NULL;
	clistiter *it;
	size_t len = strlen(from), idx = 0;
	bool ok;

	if (mailimf_mailbox_list_parse(from, len, &idx, &ml) !=
	    MAILIMF_NO_ERROR)
		return false;
	ok = article_skip_cfws(from, len, idx) == len &&
	    clist_count(ml->mb_list) > 0;
	for (it = clist_begin(ml->mb_list); ok && it; it = clist_next(it)) {
		const struct mailimf_mailbox *mb = clist_content(it);

		ok = article_addr_ok(mb->mb_addr_spec, from);
	}
	mailimf_mailbox_list_free(ml);
	return ok;
}

/* --- fingerprint ----------------------------------------------------- */

#define FP_OFFSET 0xcbf29ce484222325ULL
#define FP_PRIME 0x100000001b3ULL

static bool
article_fp_word(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c >= 0x80;
}

/*
 * FNV-1a over the text's words, ASCII case-folded, each word followed by
 * one space: "Hello,  World!\n" hashes as "hello world ".
 */
static uint64_t
article_fp_text(uint64_t h, const char *p, size_t len)
{
	size_t i;
	bool inword = false;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];

		if (article_fp_word(c)) {
			if (c >= 'A' && c <= 'Z')
				c += 'a' - 'A';
			h = (h ^ c) * FP_PRIME;
			inword = true;
		} else if (inword) {
			h = (h ^ ' ') * FP_PRIME;
			inword = false;
		}
	}
	if (inword)
		h = (h ^ ' ') * FP_PRIME;
	return h;
}

uint64_t
article_fingerprint(const struct article *a)
{
	struct buf subj = BUF_INIT(SIZE_MAX);
	const char *s = article_get(a, "Subject");
	uint64_t h = FP_OFFSET;

	if (s)
		article_decode_words(s, &subj);
	h = article_fp_text(h, buf_cstr(&subj), subj.len);
	buf_free(&subj);
	/* A separator that no word contains: "a b" + "" differs from
	 * "a" + "b". */
	h = (h ^ '\n') * FP_PRIME;
	h = article_fp_text(h, a->body, a->body_len);
	return h ? h : 1; /* 0 means "no fingerprint" to the spool */
}
