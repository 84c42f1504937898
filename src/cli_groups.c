/*
 * cli_groups.c - `newsgate groups`: list, add and remove groups
 * (data/active, data/active.times, data/newsgroups, through spool.c).
 */
#include <getopt.h>

#include "common.h"
#include "cli.h"

#define GROUPS_USAGE \
	"groups [--spool DIR] [--config FILE] list | add NAME [DESCRIPTION] " \
	"[--read-only] | remove NAME"

static void
groups_list(struct spool *sp)
{
	const struct spool_group *g;
	size_t i, n;

	g = spool_groups(sp, &n);
	if (n == 0) {
		printf("no groups\n");
		return;
	}
	printf("%-28s %10s %10s %8s  %s\n", "group", "low", "high", "count",
	    "description");
	for (i = 0; i < n; i++) {
		uint64_t count = g[i].high >= g[i].low ?
		    g[i].high - g[i].low + 1 : 0;

		printf("%-28s %10" PRIu64 " %10" PRIu64 " %8" PRIu64
		       "  %s%s\n", g[i].name, g[i].low, g[i].high, count,
		    g[i].description, g[i].flag == 'y' ? "" :
		    g[i].flag == 'n' ? " (read-only)" : " (moderated)");
	}
}

int
cli_groups(int argc, char **argv)
{
	static const struct option opts[] = {
		{"spool", required_argument, NULL, 's'},
		{"config", required_argument, NULL, 'c'},
		{"read-only", no_argument, NULL, 'r'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *spool = NULL, *conf = NULL, *verb;
	struct config c;
	struct spool *sp;
	char flag = 'y';
	int ch, rc = 0;

	while ((ch = getopt_long(argc, argv, "s:c:rh", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			spool = optarg;
			break;
		case 'c':
			conf = optarg;
			break;
		case 'r':
			flag = 'n';
			break;
		default:
			return cli_usage(GROUPS_USAGE);
		}
	}
	argc -= optind;
	argv += optind;
	verb = argc > 0 ? argv[0] : "list";
	if (strcmp(verb, "list") != 0 && strcmp(verb, "add") != 0 &&
	    strcmp(verb, "remove") != 0)
		return cli_usage(GROUPS_USAGE);
	if ((strcmp(verb, "list") == 0 && argc > 1) ||
	    (strcmp(verb, "add") == 0 && (argc < 2 || argc > 3)) ||
	    (strcmp(verb, "remove") == 0 && argc != 2))
		return cli_usage(GROUPS_USAGE);
	if (cli_config(&c, conf, spool) == -1)
		return 1;
	if ((sp = cli_spool_open(&c, SPOOL_WRITE)) == NULL) {
		config_fini(&c);
		return 1;
	}
	if (strcmp(verb, "list") == 0) {
		groups_list(sp);
	} else if (strcmp(verb, "add") == 0) {
		if (!spool_group_name_valid(argv[1])) {
			fprintf(stderr, "newsgate: invalid group name: %s\n",
			    argv[1]);
			rc = 1;
		} else if (spool_group_add(sp, argv[1],
		    argc > 2 ? argv[2] : "", flag, "newsgate") == -1) {
			fprintf(stderr, "newsgate: add %s: %s\n", argv[1],
			    errno == EEXIST ? "group exists" :
			    strerror(errno));
			rc = 1;
		} else {
			printf("added %s\n", argv[1]);
		}
	} else if (spool_group_remove(sp, argv[1]) == -1) {
		fprintf(stderr, "newsgate: remove %s: %s\n", argv[1],
		    errno == ENOENT ? "no such group" : strerror(errno));
		rc = 1;
	} else {
		printf("removed %s\n", argv[1]);
	}
	spool_close(sp);
	config_fini(&c);
	return rc;
}
