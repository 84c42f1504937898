/*
 * source_jsonl.c - JSON Lines, one news item per line (the format of
 * ../shared/corpus/ files): an object with the string fields id, date
 * (ISO 8601, "2014-03-10T00:00:00Z"), title, text, source, url and
 * section; other fields are ignored. Parsed with jansson.
 *
 * A record with subject and no title is a mailing-list message (id, date,
 * subject, from, body, parent, as in the corpus's usenet-dev.jsonl): it
 * is built into RFC 5322 text, parent becoming References, and handed to
 * sink->message like an mbox entry.
 *
 * A bad line is reported as FILE:LINE and reading goes on; an empty line
 * is skipped. It keeps nothing after each callback returns.
 *
 * SECURITY: the file is attacker-controlled: each line is bounded by
 * SOURCE_RECORD_MAX (a longer one is skipped unread), jansson refuses
 * invalid UTF-8 and NUL ("\u0000"), duplicate keys are refused.
 */
#include <jansson.h>

#include "common.h"
#include "article.h"
#include "normalise.h"
#include "source.h"

/* Two digits at p, or -1. */
static int
jsonl_2d(const char *p)
{
	if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9')
		return -1;
	return (p[0] - '0') * 10 + (p[1] - '0');
}

/*
 * ISO 8601 / RFC 3339: "YYYY-MM-DD", optionally "THH:MM[:SS[.frac]]" (or a
 * space for T) and "Z" or "+HH:MM" / "+HHMM" / "-HH". No zone means UTC.
 * Returns -1 when it does not parse.
 */
static time_t
jsonl_iso_date(const char *s)
{
	struct tm tm;
	int y, mo, d, h = 0, mi = 0, sec = 0, zh, zm = 0, sign;
	time_t t;
	size_t i;

	for (i = 0; i < 4; i++)
		if (s[i] < '0' || s[i] > '9')
			return -1;
	y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 +
	    (s[3] - '0');
	if (s[4] != '-' || (mo = jsonl_2d(s + 5)) < 1 || mo > 12 ||
	    s[7] != '-' || (d = jsonl_2d(s + 8)) < 1 || d > 31)
		return -1;
	s += 10;
	if (*s == 'T' || *s == 't' || *s == ' ') {
		if ((h = jsonl_2d(s + 1)) < 0 || h > 23 || s[3] != ':' ||
		    (mi = jsonl_2d(s + 4)) < 0 || mi > 59)
			return -1;
		s += 6;
		if (*s == ':') {
			if ((sec = jsonl_2d(s + 1)) < 0 || sec > 60)
				return -1;
			s += 3;
			if (*s == '.' || *s == ',')
				for (s++; *s >= '0' && *s <= '9'; s++)
					;
		}
	}
	if (*s == 'Z' || *s == 'z') {
		s++;
	} else if (*s == '+' || *s == '-') {
		sign = *s == '-' ? -1 : 1;
		if ((zh = jsonl_2d(s + 1)) < 0 || zh > 23)
			return -1;
		s += 3;
		if (*s == ':')
			s++;
		if (*s != '\0' && ((zm = jsonl_2d(s)) < 0 || zm > 59))
			return -1;
		if (*s != '\0')
			s += 2;
		h -= sign * zh;
		mi -= sign * zm;
	}
	if (*s != '\0')
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h; /* timegm normalises a zone shift out of range */
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	return t;
}

/*
 * One string field: *out is the string (valid while obj lives), NULL when
 * absent or null. Numbers are accepted for id (printed into num).
 * Returns -1 for any other type.
 */
static int
jsonl_field(
    json_t *obj, const char *key, const char **out, char *num, size_t numcap)
{
	json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (json_is_string(v)) {
		*out = json_string_value(v);
		return 0;
	}
	if (num != NULL && json_is_integer(v)) {
		if (!str_printf(num, numcap, "%" JSON_INTEGER_FORMAT,
			json_integer_value(v)))
			return -1;
		*out = num;
		return 0;
	}
	return -1;
}

/* Turn one parsed object into an item and emit it; reports bad fields. */
static int
jsonl_record(json_t *obj, const char *name, unsigned long line, time_t mtime,
    const struct source_sink *sink)
{
	static const char *const keys[] = {
	    "title", "text", "source", "url", "section"};
	const char *vals[NG_NELEM(keys)], *date;
	struct source_pos pos = {name, line, 0};
	struct item it;
	char num[32];
	size_t i;

	memset(&it, 0, sizeof(it));
	if (jsonl_field(obj, "id", &it.id, num, sizeof(num)) == -1) {
		source_report(sink, name, line, "id: not a string");
		return 0;
	}
	for (i = 0; i < NG_NELEM(keys); i++) {
		if (jsonl_field(obj, keys[i], &vals[i], NULL, 0) == -1) {
			source_report(
			    sink, name, line, "%s: not a string", keys[i]);
			return 0;
		}
	}
	it.title = vals[0];
	it.text = vals[1];
	it.source = vals[2];
	it.url = vals[3];
	it.section = vals[4];
	if (jsonl_field(obj, "date", &date, NULL, 0) == -1) {
		source_report(sink, name, line, "date: not a string");
		return 0;
	}
	it.date = mtime;
	if (date != NULL && *date != '\0' &&
	    (it.date = jsonl_iso_date(date)) == -1 &&
	    (it.date = article_parse_date(date)) == -1) {
		source_report(
		    sink, name, line, "date: cannot parse \"%.40s\"", date);
		return 0;
	}
	return sink->item(sink->arg, &pos, &it);
}

/* Append s as one header line's worth: control characters as spaces. */
static void
jsonl_hdr_text(struct buf *out, const char *s)
{
	for (; *s != '\0'; s++)
		buf_putc(out, (unsigned char)*s < ' ' ? ' ' : *s);
}

/*
 * Mailing-list archives write "user at host (Full Name)"; make it
 * "Full Name <user@host>". Anything else is kept as it is.
 */
static void
jsonl_from(struct buf *out, const char *from)
{
	const char *at = strstr(from, " at "), *sp, *open, *close;
	struct buf name = BUF_INIT(SIZE_MAX);

	sp = at ? strchr(at + 4, ' ') : NULL;
	if (at == NULL || memchr(from, ' ', (size_t)(at - from)) != NULL ||
	    at == from) {
		jsonl_hdr_text(out, from);
		return;
	}
	open = sp ? strchr(sp, '(') : NULL;
	close = open ? strrchr(open, ')') : NULL;
	if (open && close && close > open + 1) {
		buf_append(&name, open + 1, (size_t)(close - open - 1));
		article_encode_phrase(buf_cstr(&name), out);
		buf_putc(out, ' ');
	}
	buf_putc(out, '<');
	buf_append(out, from, (size_t)(at - from));
	buf_putc(out, '@');
	buf_append(out, at + 4, sp ? (size_t)(sp - at - 4) : strlen(at + 4));
	buf_putc(out, '>');
	buf_free(&name);
}

/* "<id>" from an id with or without its angle brackets; false when that
 * is no valid Message-ID. */
static bool
jsonl_msgid(struct buf *out, const char *id)
{
	size_t start = out->len;

	if (id == NULL)
		return false;
	buf_printf(out, id[0] == '<' ? "%s" : "<%s>", id);
	if (article_msgid_valid(buf_cstr(out) + start))
		return true;
	buf_truncate(out, start);
	return false;
}

/*
 * A mailing-list record (id, date, subject, from, body, parent: the
 * corpus's usenet-dev.jsonl) is a message, not a news item: build it as
 * RFC 5322 text, with References from parent, and hand it over whole.
 */
static int
jsonl_message(json_t *obj, const char *name, unsigned long line, time_t mtime,
    const struct source_sink *sink)
{
	static const char *const keys[] = {
	    "id", "date", "subject", "from", "body", "parent"};
	const char *v[NG_NELEM(keys)];
	struct source_pos pos = {name, line, 0};
	struct buf m = BUF_INIT(SOURCE_RECORD_MAX + 4096);
	char date[40];
	time_t t = mtime;
	size_t i;
	int rc = 0;

	for (i = 0; i < NG_NELEM(keys); i++) {
		if (jsonl_field(obj, keys[i], &v[i], NULL, 0) == -1) {
			source_report(
			    sink, name, line, "%s: not a string", keys[i]);
			return 0;
		}
	}
	if (v[1] && (t = jsonl_iso_date(v[1])) == -1 &&
	    (t = article_parse_date(v[1])) == -1) {
		source_report(
		    sink, name, line, "date: cannot parse \"%.40s\"", v[1]);
		return 0;
	}
	buf_puts(&m, "Message-ID: ");
	if (!jsonl_msgid(&m, v[0]))
		buf_truncate(&m, 0);
	else
		buf_putc(&m, '\n');
	if (v[3]) {
		buf_puts(&m, "From: ");
		jsonl_from(&m, v[3]);
		buf_putc(&m, '\n');
	}
	buf_puts(&m, "Subject: ");
	{
		struct buf subj = BUF_INIT(SIZE_MAX);

		jsonl_hdr_text(&subj, v[2]);
		article_encode_words(buf_cstr(&subj), &m);
		buf_free(&subj);
	}
	article_format_date(t, date, sizeof(date));
	buf_printf(&m, "\nDate: %s\n", date);
	buf_puts(&m, "References: ");
	if (!jsonl_msgid(&m, v[5]))
		buf_truncate(&m, m.len - strlen("References: "));
	else
		buf_putc(&m, '\n');
	buf_puts(&m,
	    "MIME-Version: 1.0\n"
	    "Content-Type: text/plain; charset=UTF-8\n"
	    "Content-Transfer-Encoding: 8bit\n\n");
	buf_puts(&m, v[4] ? v[4] : "");
	if (m.err)
		source_report(sink, name, line, "message over %d octets",
		    SOURCE_RECORD_MAX);
	else
		rc = sink->message(sink->arg, &pos, m.data, m.len, t);
	buf_free(&m);
	return rc;
}

/* Parse one line; report what is wrong with it. */
static int
jsonl_line(const struct source_lines *ls, const char *name, time_t mtime,
    const struct source_sink *sink)
{
	const char *p = ls->line;
	size_t len = ls->len;
	json_error_t err;
	json_t *obj;
	int rc;

	if (ls->lineno == 1 && len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0) {
		p += 3; /* a UTF-8 byte order mark */
		len -= 3;
	}
	while (len > 0 &&
	    (p[len - 1] == '\r' || p[len - 1] == ' ' || p[len - 1] == '\t'))
		len--;
	while (len > 0 && (*p == ' ' || *p == '\t')) {
		p++;
		len--;
	}
	if (len == 0)
		return 0;
	if (ls->has_nul) {
		source_report(sink, name, ls->lineno, "NUL byte in line");
		return 0;
	}
	if (!normalise_utf8_valid(p, len)) {
		source_report(sink, name, ls->lineno, "invalid UTF-8");
		return 0;
	}
	obj = json_loadb(p, len, JSON_REJECT_DUPLICATES, &err);
	if (obj == NULL) {
		source_report(sink, name, ls->lineno, "bad JSON: %s", err.text);
		return 0;
	}
	if (!json_is_object(obj)) {
		source_report(sink, name, ls->lineno, "not a JSON object");
		rc = 0;
	} else if (json_object_get(obj, "title") == NULL &&
	    json_is_string(json_object_get(obj, "subject"))) {
		rc = jsonl_message(obj, name, ls->lineno, mtime, sink);
	} else {
		rc = jsonl_record(obj, name, ls->lineno, mtime, sink);
	}
	json_decref(obj);
	return rc;
}

int
source_jsonl_read(
    FILE *fp, const char *name, time_t mtime, const struct source_sink *sink)
{
	struct source_lines ls;
	int r, rc = 0;

	source_lines_init(&ls, fp, SOURCE_RECORD_MAX);
	while ((r = source_lines_next(&ls)) == 1) {
		if (ls.too_long) {
			source_report(sink, name, ls.lineno,
			    "line over %d octets", SOURCE_RECORD_MAX);
			continue;
		}
		if ((rc = jsonl_line(&ls, name, mtime, sink)) == -1)
			break;
	}
	if (r == -1)
		source_report(sink, name, ls.lineno + 1, "read error: %s",
		    strerror(errno));
	source_lines_fini(&ls);
	return rc == -1 ? -1 : 0;
}
