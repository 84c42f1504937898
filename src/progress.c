/*
 * progress.c - a one-line progress bar on stderr while stdout and stderr
 * are terminals; nothing at all in scripts and pipes.
 */
#include <unistd.h>

#include "common.h"
#include "progress.h"

#define PROGRESS_WIDTH 30 /* cells in the bar */

void
progress_start(struct progress *p, const char *label, uint64_t total)
{
	memset(p, 0, sizeof(*p));
	p->active = isatty(STDOUT_FILENO) && isatty(STDERR_FILENO);
	p->label = label;
	p->total = total;
	p->start_ms = p->last_ms = now_ms();
}

static void
fmt_eta(char *dst, size_t cap, double s)
{
	if (s < 0 || s > 99 * 3600)
		(void)str_copy(dst, cap, "--:--");
	else if (s >= 3600)
		(void)str_printf(dst, cap, "%d:%02d:%02d", (int)s / 3600,
		    ((int)s / 60) % 60, (int)s % 60);
	else
		(void)str_printf(dst, cap, "%02d:%02d", (int)s / 60,
		    (int)s % 60);
}

void
progress_update(struct progress *p, uint64_t done, uint64_t items)
{
	uint64_t t = now_ms();
	double secs, rate, frac;
	char bar[PROGRESS_WIDTH + 1], eta[16];
	int i, fill;

	p->done = done;
	p->items = items;
	if (!p->active || t - p->last_ms < 100)
		return;
	p->last_ms = t;
	secs = (double)(t - p->start_ms) / 1000.0;
	rate = secs > 0 ? (double)items / secs : 0;
	if (p->total == 0) {
		fprintf(stderr, "\r%s: %" PRIu64 " articles, %.0f/s\033[K",
		    p->label, items, rate);
		return;
	}
	frac = (double)done / (double)p->total;
	if (frac > 1)
		frac = 1;
	fill = (int)(frac * PROGRESS_WIDTH);
	for (i = 0; i < PROGRESS_WIDTH; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[PROGRESS_WIDTH] = '\0';
	fmt_eta(eta, sizeof(eta),
	    frac > 0 ? secs / frac - secs : -1);
	fprintf(stderr, "\r%s [%s] %3d%% %" PRIu64 " articles %.0f/s ETA %s"
	    "\033[K", p->label, bar, (int)(frac * 100), items, rate, eta);
}

void
progress_end(struct progress *p)
{
	if (p->active)
		fprintf(stderr, "\r\033[K");
	p->active = false;
}
