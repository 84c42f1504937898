/*
 * spool_check.c - placeholder while the checker is written.
 */
#include "common.h"
#include "spool_int.h"

int
spool_check(struct spool *sp, bool rebuild, spool_report_fn report, void *arg)
{
	(void)sp;
	(void)rebuild;
	(void)report;
	(void)arg;
	errno = ENOSYS;
	return -1;
}
