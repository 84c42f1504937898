/*
 * source.h - the input readers (source_*.c): each turns one input file or
 * stream into a sequence of events for the import pipeline.
 *
 *   - an item: a news article that is not yet a Netnews article (scraped
 *     text, a JSON Lines record); normalise.c turns it into one;
 *   - a message: one RFC 5322 / Netnews message (a file, an mbox entry);
 *   - an error: FILE:LINE and a reason; the reader goes on with the next
 *     record whenever the format allows it.
 *
 * SECURITY: every byte of the input is attacker-controlled. Readers bound
 * each record (SOURCE_RECORD_MAX) and each line, refuse NUL bytes and
 * invalid UTF-8 in text formats, and never stop the batch for one bad
 * record.
 */
#ifndef NG_SOURCE_H
#define NG_SOURCE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#define SOURCE_RECORD_MAX (1024 * 1024) /* bytes per article or JSON line */

enum source_format {
	SOURCE_AUTO = 0, /* detect by content */
	SOURCE_TEXT,	 /* scraped article text (contrib/sample/) */
	SOURCE_MAIL,	 /* one RFC 5322 / Netnews message */
	SOURCE_MBOX,	 /* RFC 4155 mbox, many messages */
	SOURCE_JSONL,	 /* JSON Lines: id date title text source url section */
};

/* A news article before normalisation. Strings are UTF-8, owned by the
 * reader, valid only during the callback. Absent fields are NULL. */
struct item {
	const char *id;	     /* identity at the source: JSONL id, file name */
	const char *title;   /* headline, one line */
	const char *text;    /* paragraphs separated by "\n\n"; may be "" */
	const char *section; /* site section ("Pakistan News") */
	const char *source;  /* publisher / feed name */
	const char *url;
	time_t date; /* publication time; the readers fill in the
			file's mtime (the fallback date) when the
			record has none, so it is -1 only when even
			that is unknown */
};

/* Where an event came from, for reports: "file:line". */
struct source_pos {
	const char *file;   /* as given on the command line; "-" for stdin */
	unsigned long line; /* first line of the record, 1-based */
	uint64_t offset;    /* bytes of the file read so far (progress);
			       0 when unknown. Set by source_read_file. */
};

struct source_sink {
	/* Each returns 0 to go on, -1 to stop the whole import (a commit
	 * failure, not a bad record). */
	int (*item)(
	    void *arg, const struct source_pos *pos, const struct item *it);
	int (*message)(void *arg, const struct source_pos *pos,
	    const char *data, size_t len, time_t file_mtime);
	void (*error)(
	    void *arg, const struct source_pos *pos, const char *reason);
	void *arg;
};

/* Parse a --format name; SOURCE_AUTO for NULL; -1 when unknown. */
int source_format_parse(const char *name);
const char *source_format_name(enum source_format f);

/* Detect the format of a file from its first bytes. */
enum source_format source_detect(const char *head, size_t len);

/*
 * Read one file ("-" = stdin) in the given format (SOURCE_AUTO: detect)
 * and feed the sink. Returns 0 when the file was read to the end (records
 * may still have been rejected through sink->error), -1 when the sink
 * asked to stop. An unreadable file is reported through sink->error.
 */
int source_read_file(
    const char *path, enum source_format fmt, const struct source_sink *sink);

/* The per-format readers, on an open stream. name is used in reports and
 * as the item id of a scraped file; mtime is the fallback date. */
int source_text_read(
    FILE *fp, const char *name, time_t mtime, const struct source_sink *sink);
int source_mail_read(
    FILE *fp, const char *name, time_t mtime, const struct source_sink *sink);
int source_mbox_read(
    FILE *fp, const char *name, time_t mtime, const struct source_sink *sink);
int source_jsonl_read(
    FILE *fp, const char *name, time_t mtime, const struct source_sink *sink);

/* --- shared by the readers (source_*.c) only ----------------------- */

/*
 * Bounded line reading: a line longer than max is not kept (too_long is
 * set and the rest of it skipped), so a file without newlines cannot
 * grow memory past max.
 */
struct source_lines {
	FILE *fp;
	char *line;	      /* owned; the current line without its LF (a
				 CR before it kept), NUL-terminated */
	size_t len;	      /* octets in line */
	size_t cap;	      /* allocated */
	size_t max;	      /* longest line kept, octets */
	unsigned long lineno; /* 1-based number of the current line */
	bool too_long;	      /* the line passed max; line is empty */
	bool no_lf;	      /* the line ended at end of file, no LF */
	bool has_nul;	      /* the line holds a NUL byte */
};

void source_lines_init(struct source_lines *ls, FILE *fp, size_t max);
/* 1: a line is in ls->line; 0: end of file; -1: read error (errno). */
int source_lines_next(struct source_lines *ls);
void source_lines_fini(struct source_lines *ls);

/* Report through the sink: "file:line: reason". */
void source_report(const struct source_sink *sink, const char *file,
    unsigned long line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Where the first invalid UTF-8 sequence or NUL of s is: its line
 * (1-based, counting from first_line), or 0 when s is valid. */
unsigned long source_utf8_bad_line(
    const char *s, size_t len, unsigned long first_line);

#endif
