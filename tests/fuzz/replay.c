/*
 * replay.c - run every file of a fuzz corpus directory through a libFuzzer
 * entry point, so gcc builds can replay the saved corpus in `make check`
 * without libFuzzer. Usage: replay_fuzz_X CORPUS_DIR. Prints "N inputs ok";
 * a failing input aborts (the crash names the file on stderr first).
 */
#include <sys/stat.h>

#include <dirent.h>

#include "common.h"

#define REPLAY_INPUT_MAX (16 * 1024 * 1024) /* bytes per corpus file */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
replay_one(const char *path)
{
	FILE *fp;
	uint8_t *data;
	size_t len;
	struct stat st;

	if ((fp = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (fstat(fileno(fp), &st) == -1 || st.st_size > REPLAY_INPUT_MAX) {
		fprintf(stderr, "replay: %s: unreadable or too big\n", path);
		fclose(fp);
		return -1;
	}
	/* An exact-size copy, so ASan sees any read past the input. */
	data = xmalloc((size_t)st.st_size);
	len = fread(data, 1, (size_t)st.st_size, fp);
	fclose(fp);
	fprintf(stderr, "replay: %s\n", path);
	LLVMFuzzerTestOneInput(data, len);
	free(data);
	return 0;
}

static int
replay_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
main(int argc, char **argv)
{
	DIR *d;
	struct dirent *de;
	char **names = NULL, path[4096];
	size_t n = 0, cap = 0, i, ok = 0;
	int rc = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
		return 2;
	}
	if ((d = opendir(argv[1])) == NULL) {
		fprintf(stderr, "replay: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			names = xreallocarray(names, cap, sizeof(*names));
		}
		names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (n > 0)
		qsort(names, n, sizeof(*names), replay_cmp);
	for (i = 0; i < n; i++) {
		if (!str_printf(path, sizeof(path), "%s/%s", argv[1],
		    names[i]) || replay_one(path) == -1)
			rc = 1;
		else
			ok++;
		free(names[i]);
	}
	free(names);
	printf("%zu inputs ok\n", ok);
	return rc;
}
