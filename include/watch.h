/*
 * watch.h - a drop directory (`newsgate import --watch DIR`): files that
 * appear in DIR are imported, then moved to DIR/done/ when every record
 * went in (or was already there), or to DIR/failed/ next to a
 * DIR/failed/NAME.reason holding one "FILE:LINE: reason" line per record
 * that did not.
 *
 * Writers write a file elsewhere and rename(2) it into DIR: into DIR/tmp/
 * (created here) or as a dot-file in DIR, both of which are never read.
 * A file written in place is left alone while it is still being written:
 * it is taken only when it was not modified for WATCH_QUIET_MS and, when
 * the kernel can tell (a read lease, see watch.c), nobody has it open for
 * writing.
 *
 * watch.c owns the directory protocol only: what to take, when, and where
 * it goes afterwards. The import itself and the commit are the caller's
 * (cli_import.c feeds the same pipeline as a plain import), so a file is
 * moved only after what it brought is durable. A crash between the commit
 * and the move imports the file again at the next start: every article is
 * then a duplicate, and the file goes to done/.
 *
 * SECURITY: the files are as untrusted as any import (the source readers
 * bound them); names come from readdir and are used only below DIR's file
 * descriptor, never as paths of their own; symbolic links, directories and
 * other non-regular files are ignored.
 */
#ifndef NG_WATCH_H
#define NG_WATCH_H

#include <stdint.h>

#include "buf.h"

#define WATCH_INTERVAL_MS 1000	   /* default time between two scans */
#define WATCH_QUIET_MS 1000	   /* untouched this long before it is taken */
#define WATCH_ROUND_MAX 256	   /* files imported per commit */
#define WATCH_REASONS_MAX 65536	   /* octets of reasons kept per file */
#define WATCH_BACKOFF_MAX_MS 60000 /* longest wait after a spool failure */

enum watch_verdict {
	WATCH_OK,   /* every record was imported or a duplicate: done/ */
	WATCH_BAD,  /* some record was refused: failed/ */
	WATCH_STOP, /* the spool failed: nothing of this round is moved */
};

/* One file being imported. */
struct watch_file {
	const char *path;    /* DIR/NAME, to open */
	const char *name;    /* NAME, a plain file name */
	struct buf *reasons; /* append "FILE:LINE: reason\n" for each record
				not taken (bounded: WATCH_REASONS_MAX) */
	char summary[160];   /* the counts, for the log line ("imported 3,
				duplicates 0, ..."); may stay empty */
};

struct watch_ops {
	/* Import one file. Called with SIGTERM and SIGINT blocked. */
	enum watch_verdict (*import)(void *arg, struct watch_file *f);
	/* Make everything imported so far durable: 0, or -1 (then nothing
	 * staged since the last commit is stored). */
	int (*commit)(void *arg);
	void *arg;
};

/*
 * Watch dir (which must exist; tmp/, done/ and failed/ are created in it)
 * until SIGTERM or SIGINT: scan it every interval_ms, import what is ready,
 * commit, move. One line per file on stdout. A stop signal lets the file
 * being imported finish, commits and moves what was imported, and returns.
 * Returns 0 after a stop signal, -1 (with a message on stderr) when dir
 * cannot be watched (missing, not a directory, another watcher on it).
 */
int watch_run(const char *dir, uint32_t interval_ms,
    const struct watch_ops *ops) __attribute__((warn_unused_result));

#endif
