/* cli_threads.c - placeholder until threading lands (being written). */
#include "common.h"
#include "cli.h"

int
cli_threads(int argc, char **argv)
{
	fprintf(stderr, "newsgate threads: not built yet\n");
	return 1;
}

int
cli_rethread(int argc, char **argv)
{
	fprintf(stderr, "newsgate rethread: not built yet\n");
	return 1;
}
