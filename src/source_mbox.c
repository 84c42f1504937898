/*
 * source_mbox.c - mbox files (RFC 4155): messages separated by "From "
 * lines at the start of the file or after an empty line. ">From " quoting
 * is undone the mboxrd way (one '>' less on any ">...>From " line), which
 * also reads mboxo files right for every line they quoted. The date of
 * the "From " line is each message's fallback date.
 *
 * Each message goes to sink->message with the line of its "From " line;
 * the pipeline parses it. A message without the empty line after its
 * headers (the usual sign of a truncated file) is reported here.
 *
 * SECURITY: the file is attacker-controlled: lines and messages are
 * bounded by SOURCE_RECORD_MAX; an oversized message is reported and
 * skipped, and reading goes on at the next "From " line.
 */
#include "common.h"
#include "buf.h"
#include "source.h"

struct mbox {
	const char *name;
	const struct source_sink *sink;
	time_t mtime;
	struct buf msg;		/* the current message, LF endings */
	bool open;		/* a message is being collected */
	unsigned long line;	/* its "From " line */
	time_t date;		/* its "From " line date, or mtime */
	size_t first_empty;	/* offset of its first empty line + 1, 0:
				   none yet */
	size_t last_line_start; /* offset where its last line starts */
	bool too_long;		/* a line passed SOURCE_RECORD_MAX */
};

/* "From sender Thu Jan  2 11:09:17 2014": the date, or fallback. */
static time_t
mbox_from_date(const char *line, time_t fallback)
{
	const char *p = line + 5;
	struct tm tm;
	time_t t;

	while (*p == ' ')
		p++;
	while (*p != '\0' && *p != ' ' && *p != '\t')
		p++;
	while (*p == ' ' || *p == '\t')
		p++;
	memset(&tm, 0, sizeof(tm));
	if (strptime(p, "%a %b %d %H:%M:%S %Y", &tm) == NULL)
		return fallback;
	if ((t = timegm(&tm)) == -1)
		return fallback;
	return t;
}

/* Hand over the collected message; last: nothing follows it. */
static int
mbox_finish(struct mbox *m, bool last)
{
	struct source_pos pos = {m->name, m->line, 0};
	int rc = 0;

	if (!m->open)
		return 0;
	m->open = false;
	if (m->msg.err || m->too_long) {
		source_report(m->sink, m->name, m->line,
		    "message over %d octets", SOURCE_RECORD_MAX);
		return 0;
	}
	/* The empty line before the next "From " line belongs to the mbox
	 * (RFC 4155), unless it is the message's only one. */
	if (!last && m->msg.len > 0 && m->last_line_start + 1 == m->msg.len &&
	    m->msg.data[m->last_line_start] == '\n' &&
	    m->first_empty != m->last_line_start + 1)
		buf_truncate(&m->msg, m->last_line_start);
	if (m->first_empty == 0) {
		source_report(m->sink, m->name, m->line,
		    last ? "truncated message: no empty line after the "
			   "headers"
			 : "message without an empty line after its headers");
		return 0;
	}
	rc = m->sink->message(
	    m->sink->arg, &pos, m->msg.data, m->msg.len, m->date);
	return rc;
}

static void
mbox_start(struct mbox *m, const struct source_lines *ls)
{
	buf_reset(&m->msg);
	m->open = true;
	m->line = ls->lineno;
	m->date = mbox_from_date(ls->line, m->mtime);
	m->first_empty = 0;
	m->last_line_start = 0;
	m->too_long = false;
}

/* Add one line of the message, undoing ">From " quoting. */
static void
mbox_add(struct mbox *m, const struct source_lines *ls)
{
	const char *p = ls->line;
	size_t len = ls->len, i;

	if (ls->too_long) {
		m->too_long = true;
		return;
	}
	for (i = 0; i < len && p[i] == '>'; i++)
		;
	if (i > 0 && len - i >= 5 && memcmp(p + i, "From ", 5) == 0) {
		p++;
		len--;
	}
	m->last_line_start = m->msg.len;
	if ((len == 0 || (len == 1 && p[0] == '\r')) && m->first_empty == 0)
		m->first_empty = m->msg.len + 1;
	buf_append(&m->msg, p, len);
	buf_putc(&m->msg, '\n');
}

int
source_mbox_read(
    FILE *fp, const char *name, time_t mtime, const struct source_sink *sink)
{
	struct source_lines ls;
	struct mbox m;
	bool prev_empty = true, junk = false;
	int r, rc = 0;

	memset(&m, 0, sizeof(m));
	m.name = name;
	m.sink = sink;
	m.mtime = mtime;
	buf_init(&m.msg, SOURCE_RECORD_MAX);
	source_lines_init(&ls, fp, SOURCE_RECORD_MAX);
	while ((r = source_lines_next(&ls)) == 1) {
		bool empty = ls.len == 0 || (ls.len == 1 && ls.line[0] == '\r');

		if (!ls.too_long && prev_empty && ls.len >= 5 &&
		    memcmp(ls.line, "From ", 5) == 0) {
			if ((rc = mbox_finish(&m, false)) == -1)
				break;
			mbox_start(&m, &ls);
		} else if (m.open) {
			mbox_add(&m, &ls);
		} else if (!empty && !junk) {
			source_report(sink, name, ls.lineno,
			    "not an mbox: text before the first \"From \" "
			    "line");
			junk = true;
		}
		prev_empty = empty;
	}
	if (r == -1)
		source_report(sink, name, ls.lineno + 1, "read error: %s",
		    strerror(errno));
	if (rc != -1)
		rc = mbox_finish(&m, true);
	source_lines_fini(&ls);
	buf_free(&m.msg);
	return rc;
}
