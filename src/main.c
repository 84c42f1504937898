/*
 * main.c - the newsgate program: dispatch to a subcommand (cli_*.c).
 * Owns nothing else.
 */
#include "common.h"
#include "cli.h"

struct subcmd {
	const char *name;
	int (*fn)(int, char **);
	const char *summary;
};

/* Sorted by name. */
static const struct subcmd subcmds[] = {
	{"check", cli_check, "verify the spool; --rebuild its indexes"},
	{"export", cli_export, "a group or a thread as an mbox file"},
	{"groups", cli_groups, "list, add or remove groups"},
	{"import", cli_import, "import articles from files, dirs or stdin"},
	{"passwd", cli_passwd, "add a posting account or change its password"},
	{"rethread", cli_rethread, "recompute similarity threads"},
	{"serve", cli_serve, "run the NNTP server"},
	{"stats", cli_stats, "groups, threads, biggest stories, newest"},
	{"threads", cli_threads, "show the thread trees of a group"},
};

static int
usage(FILE *fp)
{
	size_t i;

	fprintf(fp, "usage: newsgate COMMAND [OPTIONS] [ARGS]\n\ncommands:\n");
	for (i = 0; i < NG_NELEM(subcmds); i++)
		fprintf(fp, "  %-10s %s\n", subcmds[i].name,
		    subcmds[i].summary);
	fprintf(fp, "\nSee newsgate(1).\n");
	return fp == stdout ? 0 : 2;
}

int
main(int argc, char **argv)
{
	size_t i;

	log_init("newsgate", false, 0);
	if (argc < 2)
		return usage(stderr);
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0)
		return usage(stdout);
	if (strcmp(argv[1], "--version") == 0) {
		printf("newsgate 0.1\n");
		return 0;
	}
	for (i = 0; i < NG_NELEM(subcmds); i++)
		if (strcmp(argv[1], subcmds[i].name) == 0)
			return subcmds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "newsgate: unknown command '%s'\n", argv[1]);
	return usage(stderr);
}
