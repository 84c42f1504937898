/*
 * cli_import.c - `newsgate import`: read files, directories or stdin with
 * the source readers and feed every article to the pipeline. Reports each
 * rejected record as FILE:LINE: reason on stderr, the counts on the last
 * line of stdout, and exits non-zero when anything was rejected.
 * With --watch DIR, watch.c hands it the files dropped into DIR one by one
 * (same sink, same pipeline) and moves each once it is committed.
 */
#include <sys/resource.h>
#include <sys/stat.h>

#include <dirent.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include "common.h"
#include "cli.h"
#include "pipeline.h"
#include "progress.h"
#include "queue.h"
#include "source.h"
#include "watch.h"

#define IMPORT_USAGE \
	"import [--spool DIR] [--config FILE] [--group NAME] " \
	"[--format text|mail|mbox|jsonl] [--verbose] FILE|DIR|- ...\n" \
	"       newsgate import [options] --watch DIR [--interval-ms N]"

struct import {
	struct pipeline *pl;
	struct progress prog;
	uint64_t done_bytes; /* bytes of the files finished so far */
	bool verbose;	     /* print each committed article */
	bool failed;	     /* the spool failed: stop */
	uint64_t errors;     /* records reported by the readers */
	int fmt;	     /* --format, for --watch */
	struct buf *reasons; /* --watch: the current file's reports */
};

/* A record not taken: "FILE:LINE: reason" on stderr (and for --watch). */
static void
report(struct import *im, const struct source_pos *pos, const char *why)
{
	progress_end(&im->prog);
	fprintf(stderr, "%s:%lu: %s\n", pos->file, pos->line, why);
	if (im->reasons)
		buf_printf(im->reasons, "%s:%lu: %s\n", pos->file, pos->line,
		    why);
}

static void
on_commit(void *arg, const char *msgid, const char *xref)
{
	struct import *im = arg;

	if (im->verbose)
		printf("committed %s %s\n", msgid, xref);
}

static int
handle(struct import *im, const struct source_pos *pos,
    enum pipeline_result r, struct buf *why)
{
	const struct pipeline_stats *st = pipeline_stats(im->pl);

	switch (r) {
	case PIPE_STAGED:
		break;
	case PIPE_DUPLICATE:
		if (im->verbose)
			printf("%s:%lu: duplicate: %s\n", pos->file,
			    pos->line, buf_cstr(why));
		break;
	case PIPE_REJECTED:
	case PIPE_UNROUTED:
		report(im, pos, buf_cstr(why));
		break;
	case PIPE_FAILED:
		report(im, pos, buf_cstr(why));
		im->failed = true;
		return -1;
	}
	progress_update(&im->prog, im->done_bytes + pos->offset,
	    st->staged + st->duplicates + st->rejected + st->unrouted);
	return 0;
}

static int
sink_item(void *arg, const struct source_pos *pos, const struct item *it)
{
	struct import *im = arg;
	struct buf why = BUF_INIT(4096);
	int rc;

	rc = handle(im, pos, pipeline_item(im->pl, it, it->date, &why), &why);
	buf_free(&why);
	return rc;
}

static int
sink_message(void *arg, const struct source_pos *pos, const char *data,
    size_t len, time_t mtime)
{
	struct import *im = arg;
	struct buf why = BUF_INIT(4096);
	int rc;

	rc = handle(im, pos,
	    pipeline_message(im->pl, data, len, mtime, PIPE_IMPORT, &why,
		NULL),
	    &why);
	buf_free(&why);
	return rc;
}

static void
sink_error(void *arg, const struct source_pos *pos, const char *reason)
{
	struct import *im = arg;

	report(im, pos, reason);
	im->errors++;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Paths of the regular files to read, directories expanded (sorted, no
 * dot files), in argument order. */
static void
collect(const char *path, char ***list, size_t *n, uint64_t *bytes)
{
	struct stat st;
	struct dirent *de;
	char **names = NULL;
	size_t nn = 0, i;
	DIR *d;

	bool known = strcmp(path, "-") != 0 && stat(path, &st) == 0;

	if (!known || !S_ISDIR(st.st_mode)) {
		/* stdin, a file, or something unreadable: the reader reports
		 * what it cannot open. */
		if (known && S_ISREG(st.st_mode))
			*bytes += (uint64_t)st.st_size;
		*list = xreallocarray(*list, *n + 1, sizeof(**list));
		(*list)[(*n)++] = xstrdup(path);
		return;
	}
	if ((d = opendir(path)) == NULL) {
		*list = xreallocarray(*list, *n + 1, sizeof(**list));
		(*list)[(*n)++] = xstrdup(path); /* reported when read */
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		names = xreallocarray(names, nn + 1, sizeof(*names));
		names[nn++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (nn > 1)
		qsort(names, nn, sizeof(*names), name_cmp);
	for (i = 0; i < nn; i++) {
		struct buf p = BUF_INIT(SIZE_MAX);

		buf_printf(&p, "%s%s%s", path,
		    path[strlen(path) - 1] == '/' ? "" : "/", names[i]);
		collect(buf_cstr(&p), list, n, bytes);
		buf_free(&p);
		free(names[i]);
	}
	free(names);
}

/*
 * A plain import reads in a second thread: the reader parses the files,
 * routes and normalises each item (pipeline_prepare_item) and hands the
 * records over in order; this thread stages them, reports and shows
 * progress. The result is the same as reading here.
 */
#define READER_QUEUE 1024   /* records waiting for this thread */
#define READER_HANDOVER 32 /* records handed over at once */
/* The reader runs ahead of the others by design (READER_QUEUE records):
 * it needs only the CPU they leave, so it runs this much nicer, which
 * keeps it from taking a core from the writer or the threading worker
 * when the three share two (docs/performance.md). Linux: per thread. */
#define READER_NICE 10

enum rec_kind { REC_ITEM, REC_MESSAGE, REC_ERROR, REC_FILE_DONE };

struct rec {
	struct qnode q; /* first */
	enum rec_kind kind;
	struct source_pos pos; /* pos.file: the reader's files[] or file */
	char *file;	       /* owned when pos.file is not files[] */
	struct pipeline_prep *prep; /* REC_ITEM */
	char *data;		    /* REC_MESSAGE: the message;
				       REC_ERROR: the reason */
	size_t len;
	time_t mtime;
	uint64_t size; /* REC_FILE_DONE: bytes of the file */
};

struct reader {
	struct import *im;
	char **files;
	size_t nfiles;
	size_t cur; /* index of the file being read */
	int fmt;
	struct queue q;
	struct qlist pend;
};

static void
rec_free(struct rec *r)
{
	pipeline_prep_free(r->prep);
	free(r->data);
	free(r->file);
	free(r);
}

/* A record for pos (NULL: none). */
static struct rec *
rec_new(struct reader *rd, enum rec_kind kind, const struct source_pos *pos)
{
	struct rec *r = xcalloc(1, sizeof(*r));

	r->kind = kind;
	if (pos) {
		r->pos = *pos;
		if (strcmp(pos->file, rd->files[rd->cur]) == 0)
			r->pos.file = rd->files[rd->cur];
		else
			r->pos.file = r->file = xstrdup(pos->file);
	}
	return r;
}

/* Queue a record (filled: it may be handed over at once); -1 (the
 * import stops) when this thread closed the queue. */
static int
reader_put(struct reader *rd, struct rec *r)
{
	struct qnode *n, *next;

	qlist_add(&rd->pend, &r->q);
	if (rd->pend.n < READER_HANDOVER && r->kind != REC_FILE_DONE)
		return 0;
	if (queue_push(&rd->q, &rd->pend) == 0)
		return 0;
	for (n = rd->pend.head; n != NULL; n = next) {
		next = n->next;
		rec_free((struct rec *)n);
	}
	rd->pend = (struct qlist){0};
	return -1;
}

static int
rsink_item(void *arg, const struct source_pos *pos, const struct item *it)
{
	struct reader *rd = arg;
	struct rec *r = rec_new(rd, REC_ITEM, pos);

	r->prep = pipeline_prepare_item(rd->im->pl, it, it->date);
	return reader_put(rd, r);
}

static int
rsink_message(void *arg, const struct source_pos *pos, const char *data,
    size_t len, time_t mtime)
{
	struct reader *rd = arg;
	struct rec *r = rec_new(rd, REC_MESSAGE, pos);

	r->data = xmalloc(len + 1);
	memcpy(r->data, data, len);
	r->data[len] = '\0';
	r->len = len;
	r->mtime = mtime;
	return reader_put(rd, r);
}

static void
rsink_error(void *arg, const struct source_pos *pos, const char *reason)
{
	struct reader *rd = arg;
	struct rec *r = rec_new(rd, REC_ERROR, pos);

	r->data = xstrdup(reason);
	(void)reader_put(rd, r);
}

static void *
reader_main(void *arg)
{
	struct reader *rd = arg;
	struct source_sink sink = {rsink_item, rsink_message, rsink_error,
	    rd};
	struct rec *r;
	struct stat sb;
	int prio;

	pthread_setname_np(pthread_self(), "newsgate-read");
	errno = 0;
	prio = getpriority(PRIO_PROCESS, (id_t)gettid());
	if (errno == 0)
		(void)setpriority(
		    PRIO_PROCESS, (id_t)gettid(), prio + READER_NICE);
	for (rd->cur = 0; rd->cur < rd->nfiles; rd->cur++) {
		if (source_read_file(rd->files[rd->cur],
			(enum source_format)rd->fmt, &sink) == -1)
			break;
		r = rec_new(rd, REC_FILE_DONE, NULL);
		if (strcmp(rd->files[rd->cur], "-") != 0 &&
		    stat(rd->files[rd->cur], &sb) == 0)
			r->size = (uint64_t)sb.st_size;
		if (reader_put(rd, r) == -1)
			break;
	}
	(void)queue_push(&rd->q, &rd->pend);
	queue_close(&rd->q);
	return NULL;
}

/* One record, in this thread. */
static void
import_rec(struct import *im, struct rec *r)
{
	struct buf why = BUF_INIT(4096);

	switch (r->kind) {
	case REC_ITEM:
		(void)handle(im, &r->pos,
		    pipeline_stage_prepared(im->pl, r->prep, &why), &why);
		r->prep = NULL;
		break;
	case REC_MESSAGE:
		(void)sink_message(im, &r->pos, r->data, r->len, r->mtime);
		break;
	case REC_ERROR:
		sink_error(im, &r->pos, r->data);
		break;
	case REC_FILE_DONE:
		im->done_bytes += r->size;
		break;
	}
	buf_free(&why);
}

/* Read files with the reader thread; stops early when the spool fails.
 * Returns -1 when the thread cannot start (then nothing was read). */
static int
import_files(struct import *im, char **files, size_t nfiles, int fmt)
{
	struct reader rd = {0};
	struct qnode *n, *next;
	struct qlist l;
	pthread_t th;

	rd.im = im;
	rd.files = files;
	rd.nfiles = nfiles;
	rd.fmt = fmt;
	queue_init(&rd.q, READER_QUEUE);
	if (pthread_create(&th, NULL, reader_main, &rd) != 0) {
		queue_fini(&rd.q);
		return -1;
	}
	while (queue_pop_all(&rd.q, &l, true) > 0)
		for (n = l.head; n != NULL; n = next) {
			next = n->next;
			if (!im->failed) {
				import_rec(im, (struct rec *)n);
				if (im->failed)
					queue_close(&rd.q);
			}
			rec_free((struct rec *)n);
		}
	pthread_join(th, NULL);
	queue_fini(&rd.q);
	return 0;
}

/* --watch: one dropped file through the same sink as a plain import. */
static enum watch_verdict
watch_import(void *arg, struct watch_file *f)
{
	struct import *im = arg;
	struct source_sink sink = {sink_item, sink_message, sink_error, im};
	const struct pipeline_stats *st = pipeline_stats(im->pl);
	struct pipeline_stats was = *st;
	uint64_t errors = im->errors;

	im->reasons = f->reasons;
	im->failed = false;
	(void)source_read_file(f->path, (enum source_format)im->fmt, &sink);
	im->reasons = NULL;
	str_printf(f->summary, sizeof(f->summary),
	    "imported %" PRIu64 ", duplicates %" PRIu64 ", rejected %" PRIu64
	    ", unrouted %" PRIu64,
	    st->staged - was.staged, st->duplicates - was.duplicates,
	    st->rejected - was.rejected + im->errors - errors,
	    st->unrouted - was.unrouted);
	if (im->failed)
		return WATCH_STOP;
	return st->rejected != was.rejected || st->unrouted != was.unrouted ||
		im->errors != errors
	    ? WATCH_BAD
	    : WATCH_OK;
}

static int
watch_commit(void *arg)
{
	struct import *im = arg;

	if (pipeline_flush(im->pl) == 0)
		return 0;
	fprintf(stderr, "newsgate: commit failed: %s\n", strerror(errno));
	return -1;
}

int
cli_import(int argc, char **argv)
{
	static const struct option opts[] = {
		{"spool", required_argument, NULL, 's'},
		{"config", required_argument, NULL, 'c'},
		{"group", required_argument, NULL, 'g'},
		{"format", required_argument, NULL, 'f'},
		{"verbose", no_argument, NULL, 'v'},
		{"watch", required_argument, NULL, 'w'},
		{"interval-ms", required_argument, NULL, 'i'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *spool = NULL, *conf = NULL, *group = NULL, *watch = NULL;
	struct watch_ops wops = {watch_import, watch_commit, NULL};
	uint64_t interval_ms = WATCH_INTERVAL_MS;
	struct source_sink sink = {sink_item, sink_message, sink_error, NULL};
	const struct pipeline_stats *st;
	struct import im = {0};
	struct config c;
	struct spool *sp;
	char **files = NULL;
	uint64_t total = 0;
	size_t nfiles = 0, i;
	int ch, fmt = SOURCE_AUTO, rc;

	while ((ch = getopt_long(argc, argv, "s:c:g:f:vh", opts, NULL)) !=
	    -1) {
		switch (ch) {
		case 's':
			spool = optarg;
			break;
		case 'c':
			conf = optarg;
			break;
		case 'g':
			group = optarg;
			break;
		case 'f':
			if ((fmt = source_format_parse(optarg)) == -1) {
				fprintf(stderr, "newsgate: unknown format "
						"'%s'\n", optarg);
				return 2;
			}
			break;
		case 'v':
			im.verbose = true;
			break;
		case 'w':
			watch = optarg;
			break;
		case 'i':
			if (parse_u64(optarg, strlen(optarg), &interval_ms) ==
				-1 ||
			    interval_ms < 10 || interval_ms > 3600000)
				return cli_usage(IMPORT_USAGE);
			break;
		default:
			return cli_usage(IMPORT_USAGE);
		}
	}
	if ((optind == argc) == (watch == NULL))
		return cli_usage(IMPORT_USAGE);
	signal(SIGPIPE, SIG_IGN);
	if (cli_config(&c, conf, spool) == -1)
		return 1;
	if ((sp = cli_spool_open(&c, SPOOL_WRITE)) == NULL) {
		config_fini(&c);
		return 1;
	}
	if ((im.pl = pipeline_new(&c, sp, group)) == NULL) {
		spool_close(sp);
		config_fini(&c);
		return 1;
	}
	pipeline_on_commit(im.pl, on_commit, &im);
	if (im.verbose || watch)
		setvbuf(stdout, NULL, _IOLBF, 0);
	if (watch) {
		im.fmt = fmt;
		wops.arg = &im;
		rc = watch_run(watch, (uint32_t)interval_ms, &wops) == -1;
		pipeline_free(im.pl);
		spool_close(sp);
		config_fini(&c);
		return rc;
	}
	/* Threading overlaps reading and storing (same result). */
	pipeline_parallel(im.pl);
	for (i = optind; i < (size_t)argc; i++)
		collect(argv[i], &files, &nfiles, &total);
	progress_start(&im.prog, "import", total);
	sink.arg = &im;
	for (i = import_files(&im, files, nfiles, fmt) == 0 ? nfiles : 0;
	     i < nfiles && !im.failed; i++) {
		struct stat sb;

		if (source_read_file(files[i], (enum source_format)fmt,
			&sink) == -1)
			break;
		if (strcmp(files[i], "-") != 0 && stat(files[i], &sb) == 0)
			im.done_bytes += (uint64_t)sb.st_size;
	}
	if (!im.failed && pipeline_flush(im.pl) == -1) {
		fprintf(stderr, "newsgate: commit to %s failed: %s\n",
		    c.spool_dir, strerror(errno));
		im.failed = true;
	}
	progress_end(&im.prog);
	st = pipeline_stats(im.pl);
	printf("imported %" PRIu64 ", duplicates %" PRIu64
	       ", rejected %" PRIu64 ", unrouted %" PRIu64 "\n",
	    st->committed, st->duplicates, st->rejected + im.errors,
	    st->unrouted);
	rc = (im.failed || st->rejected || st->unrouted || im.errors) ? 1 : 0;
	pipeline_free(im.pl);
	spool_close(sp);
	config_fini(&c);
	for (i = 0; i < nfiles; i++)
		free(files[i]);
	free(files);
	return rc;
}
