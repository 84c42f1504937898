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
	time_t date;	     /* publication time; -1 when unknown */
};

/* Where an event came from, for reports: "file:line". */
struct source_pos {
	const char *file;   /* as given on the command line; "-" for stdin */
	unsigned long line; /* first line of the record, 1-based */
};

struct source_sink {
	/* Each returns 0 to go on, -1 to stop the whole import (a commit
	 * failure, not a bad record). */
	int (*item)(void *arg, const struct source_pos *pos,
	    const struct item *it);
	int (*message)(void *arg, const struct source_pos *pos,
	    const char *data, size_t len, time_t file_mtime);
	void (*error)(void *arg, const struct source_pos *pos,
	    const char *reason);
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
int source_read_file(const char *path, enum source_format fmt,
    const struct source_sink *sink);

/* The per-format readers, on an open stream. name is used in reports and
 * as the item id of a scraped file; mtime is the fallback date. */
int source_text_read(FILE *fp, const char *name, time_t mtime,
    const struct source_sink *sink);
int source_mail_read(FILE *fp, const char *name, time_t mtime,
    const struct source_sink *sink);
int source_mbox_read(FILE *fp, const char *name, time_t mtime,
    const struct source_sink *sink);
int source_jsonl_read(FILE *fp, const char *name, time_t mtime,
    const struct source_sink *sink);

#endif
