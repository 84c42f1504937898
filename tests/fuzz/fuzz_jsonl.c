/*
 * fuzz_jsonl.c - libFuzzer target for the input readers: the input is
 * written to a file and read by source_read_file() once with format
 * detection and once as each format (JSON Lines, mbox, one message,
 * scraped text). Items go on as the import pipeline takes them:
 * normalise_item(), route_item() on the default configuration, and the
 * article rendered and parsed again; messages go to article_parse().
 *
 * Whatever the input: no crash, no leak; every event has a file and a line
 * from 1; every item string is valid UTF-8; a message is bounded by
 * SOURCE_RECORD_MAX (plus the headers a JSON Lines record adds); every
 * error has a reason; an article normalise_item() makes renders to text
 * that article_parse() takes back.
 *
 * clang -fsanitize=fuzzer builds it for libFuzzer (make fuzz); with gcc,
 * replay.c runs the saved corpus (tests/fuzz/corpus/jsonl/) in
 * `make check`.
 */
#include <fcntl.h>
#include <unistd.h>

#include "common.h"
#include "article.h"
#include "config.h"
#include "normalise.h"
#include "route.h"
#include "source.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fz_base[128], fz_file[160];
static struct config fz_conf;
static bool fz_conf_loaded;

static void
fz_cleanup(void)
{
	if (fz_conf_loaded)
		config_fini(&fz_conf);
	if (fz_file[0])
		unlink(fz_file);
	if (fz_base[0])
		rmdir(fz_base);
}

static void
fz_init(void)
{
	struct buf err = BUF_INIT(SIZE_MAX);
	const char *t = getenv("TMPDIR");

	log_init("fuzz_jsonl", false, -1);
	if (!str_printf(fz_base, sizeof(fz_base), "%s/ngfuzz-jsXXXXXX",
		access("/dev/shm", W_OK) == 0 ? "/dev/shm" : t && *t ? t :
		"/tmp") ||
	    mkdtemp(fz_base) == NULL ||
	    !str_printf(fz_file, sizeof(fz_file), "%s/input.txt", fz_base))
		abort();
	atexit(fz_cleanup);
	if (config_load(&fz_conf, NULL, &err) == -1)
		abort();
	fz_conf_loaded = true;
	buf_free(&err);
}

static void
fz_pos(const struct source_pos *pos)
{
	if (pos == NULL || pos->file == NULL || pos->line < 1)
		abort();
}

static void
fz_utf8(const char *s)
{
	if (s != NULL && !normalise_utf8_valid(s, strlen(s)))
		abort();
}

static int
fz_item(void *arg, const struct source_pos *pos, const struct item *it)
{
	struct buf why = BUF_INIT(4096), r = BUF_INIT(SIZE_MAX);
	struct article *a, *b = NULL;
	const char *groups[16];

	(void)arg;
	fz_pos(pos);
	if (it == NULL)
		abort();
	fz_utf8(it->id);
	fz_utf8(it->title);
	fz_utf8(it->text);
	fz_utf8(it->section);
	fz_utf8(it->source);
	fz_utf8(it->url);
	if (route_item(&fz_conf, it, groups, NG_NELEM(groups)) >
	    NG_NELEM(groups))
		abort();
	if ((a = normalise_item(it, "fuzz.example", 1480000000, &why)) ==
	    NULL) {
		if (why.len == 0)
			abort(); /* a refusal always says why */
	} else {
		article_render(a, &r);
		buf_reset(&why);
		if (article_parse(r.data, r.len, &b, &why) == -1) {
			fprintf(stderr, "normalised article refused: %.*s\n"
			    "%.*s", (int)why.len, why.data, (int)r.len,
			    r.data);
			abort();
		}
		article_free(a);
		article_free(b);
	}
	buf_free(&why);
	buf_free(&r);
	return 0;
}

static int
fz_message(void *arg, const struct source_pos *pos, const char *data,
    size_t len, time_t mtime)
{
	struct buf why = BUF_INIT(4096);
	struct article *a;

	(void)arg;
	(void)mtime;
	fz_pos(pos);
	if (data == NULL || len > SOURCE_RECORD_MAX + 4096)
		abort();
	if (article_parse(data, len, &a, &why) == 0)
		article_free(a);
	else if (why.len == 0)
		abort();
	buf_free(&why);
	return 0;
}

static void
fz_error(void *arg, const struct source_pos *pos, const char *reason)
{
	(void)arg;
	fz_pos(pos);
	if (reason == NULL || *reason == '\0')
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum source_format fmts[] = {SOURCE_AUTO, SOURCE_JSONL,
	    SOURCE_MBOX, SOURCE_MAIL, SOURCE_TEXT};
	struct source_sink sink = {fz_item, fz_message, fz_error, NULL};
	size_t i;
	int fd;

	if (fz_file[0] == '\0')
		fz_init();
	fd = open(fz_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd == -1 || write_all(fd, data, size) == -1 || close(fd) == -1)
		abort();
	if ((int)source_detect((const char *)data, size) < SOURCE_AUTO ||
	    source_detect((const char *)data, size) > SOURCE_JSONL)
		abort();
	for (i = 0; i < NG_NELEM(fmts); i++)
		if (source_read_file(fz_file, fmts[i], &sink) != 0)
			abort(); /* only the sink may stop it */
	return 0;
}
