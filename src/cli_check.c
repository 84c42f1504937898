/*
 * cli_check.c - `newsgate check [--rebuild]`: verify the spool's
 * invariants, one line per problem; rebuild every derived file from the
 * article files on request. Exit 0 when the spool is consistent at the end.
 */
#include <getopt.h>

#include "common.h"
#include "cli.h"

static void
report(void *arg, const char *problem)
{
	printf("%s\n", problem);
}

int
cli_check(int argc, char **argv)
{
	static const struct option opts[] = {
		{"spool", required_argument, NULL, 's'},
		{"config", required_argument, NULL, 'c'},
		{"rebuild", no_argument, NULL, 'r'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *spool = NULL, *conf = NULL;
	bool rebuild = false;
	struct config c;
	struct spool *sp;
	int ch, n, rc;

	while ((ch = getopt_long(argc, argv, "s:c:rh", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			spool = optarg;
			break;
		case 'c':
			conf = optarg;
			break;
		case 'r':
			rebuild = true;
			break;
		default:
			return cli_usage(
			    "check [--spool DIR] [--config FILE] [--rebuild]");
		}
	}
	if (optind != argc)
		return cli_usage(
		    "check [--spool DIR] [--config FILE] [--rebuild]");
	if (cli_config(&c, conf, spool) == -1)
		return 1;
	if ((sp = cli_spool_open(&c,
	    rebuild ? SPOOL_WRITE : SPOOL_READ)) == NULL) {
		config_fini(&c);
		return 1;
	}
	n = spool_check(sp, rebuild, report, NULL);
	if (n == -1) {
		fprintf(stderr, "newsgate: check %s: %s\n", c.spool_dir,
		    strerror(errno));
		rc = 1;
	} else if (n == 0) {
		printf("spool %s: consistent\n", c.spool_dir);
		rc = 0;
	} else if (rebuild) {
		printf("spool %s: %d problem%s found, derived files rebuilt\n",
		    c.spool_dir, n, n == 1 ? "" : "s");
		rc = 0;
	} else {
		printf("spool %s: %d problem%s (newsgate check --rebuild "
		       "repairs derived files)\n", c.spool_dir, n,
		    n == 1 ? "" : "s");
		rc = 1;
	}
	spool_close(sp);
	config_fini(&c);
	return rc;
}
