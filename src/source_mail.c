/*
 * source_mail.c - one RFC 5322 / Netnews message per file. The reader only
 * bounds and hands over the bytes; article.c parses them (libetpan) in the
 * pipeline, which reports a malformed message with this file's name.
 *
 * SECURITY: the file is attacker-controlled; it is read up to
 * SOURCE_RECORD_MAX octets and refused whole beyond that.
 */
#include "common.h"
#include "buf.h"
#include "source.h"

int
source_mail_read(
    FILE *fp, const char *name, time_t mtime, const struct source_sink *sink)
{
	struct buf data = BUF_INIT(SOURCE_RECORD_MAX);
	struct source_pos pos = {name, 1, 0};
	char chunk[65536];
	size_t n;
	int rc = 0;

	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0 && !data.err)
		buf_append(&data, chunk, n);
	if (ferror(fp))
		source_report(sink, name, 1, "read error: %s", strerror(errno));
	else if (data.err)
		source_report(
		    sink, name, 1, "message over %d octets", SOURCE_RECORD_MAX);
	else if (data.len == 0)
		source_report(sink, name, 1, "empty message");
	else
		rc = sink->message(sink->arg, &pos, data.data, data.len, mtime);
	buf_free(&data);
	return rc;
}
