/*
 * progress.h - a one-line progress bar on a terminal (stderr), silent when
 * stdout is not a terminal. Long work (import, rethread, check --rebuild)
 * uses it.
 */
#ifndef NG_PROGRESS_H
#define NG_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

struct progress {
	bool active;	   /* drawing (stdout and stderr are terminals) */
	const char *label; /* "import", "rethread" */
	uint64_t total;	   /* units of work in all; 0 when unknown */
	uint64_t done;	   /* units done so far */
	uint64_t items;	   /* articles handled, for the rate */
	uint64_t start_ms; /* now_ms() at progress_start */
	uint64_t last_ms;  /* last redraw, to redraw at most 10 times/s */
};

void progress_start(struct progress *p, const char *label, uint64_t total);
void progress_update(struct progress *p, uint64_t done, uint64_t items);
/* Erase the bar (the caller prints its summary line after). */
void progress_end(struct progress *p);

#endif
