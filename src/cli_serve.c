/* cli_serve.c - placeholder until the server lands (being written). */
#include "common.h"
#include "cli.h"

int
cli_serve(int argc, char **argv)
{
	fprintf(stderr, "newsgate serve: not built yet\n");
	return 1;
}
