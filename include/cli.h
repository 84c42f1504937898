/*
 * cli.h - the subcommands of the newsgate program (cli_*.c). Each takes
 * the arguments after its name (argv[0] is the subcommand) and returns the
 * process exit status. main.c dispatches by name.
 */
#ifndef NG_CLI_H
#define NG_CLI_H

#include "common.h"
#include "config.h"
#include "spool.h"

int cli_import(int argc, char **argv);
int cli_groups(int argc, char **argv);
int cli_check(int argc, char **argv);
int cli_serve(int argc, char **argv);
int cli_threads(int argc, char **argv);
int cli_rethread(int argc, char **argv);
int cli_passwd(int, char **);
int cli_export(int argc, char **argv);
int cli_stats(int argc, char **argv);

/*
 * Load the configuration named by --config (NULL: defaults), then apply a
 * --spool override. Prints the error and returns -1 on failure.
 */
int cli_config(struct config *c, const char *path, const char *spool);

/*
 * Open the configured spool. In SPOOL_WRITE mode, also create every group
 * of the configuration that the spool lacks. Prints the error and returns
 * NULL on failure.
 */
struct spool *cli_spool_open(const struct config *c, enum spool_mode mode);

/* Field i (0: the article number) of an overview line, as a slice of
 * line; empty when the line has fewer fields. */
struct str cli_over_field(const char *line, size_t len, int i);

/* Message-ID (or any key) -> index: open addressing over slices that
 * must outlive the map, never removed. */
struct cli_idmap_slot {
	const char *key; /* NULL: empty */
	size_t len;
	size_t val;
};

struct cli_idmap {
	struct cli_idmap_slot *slots;
	size_t cap; /* a power of two, kept above twice n */
	size_t n;
};

void cli_idmap_init(struct cli_idmap *m);
void cli_idmap_free(struct cli_idmap *m);
/* The value of key, or SIZE_MAX when absent. */
size_t cli_idmap_get(const struct cli_idmap *m, const char *key, size_t len);
/* Insert a key known to be absent. */
void cli_idmap_put(struct cli_idmap *m, const char *key, size_t len,
    size_t val);

/* Print usage of one subcommand to stderr and return 2. */
int cli_usage(const char *synopsis);

#endif
