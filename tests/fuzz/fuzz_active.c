/*
 * fuzz_active.c - libFuzzer target for the spool's group files: data/active,
 * data/active.times, data/newsgroups and the writer's journal
 * (.newsgate/txn), read by the real parsers in spool.c and spool_write.c
 * through the public API (spool_open, spool_refresh, spool_groups,
 * spool_group_add, spool_group_remove).
 *
 * The input, as text: data/active, then optional sections, each opened by
 * a line of its own:
 *
 *   @@times       data/active.times     ("group created creator")
 *   @@newsgroups  data/newsgroups       ("group\tdescription")
 *   @@txn         .newsgate/txn         (the journal a writer recovers)
 *   @@active2     a new data/active for spool_refresh()
 *
 * (an absent section: no such file). Then a writer opens the spool (so
 * recovers the journal), adds a group and removes the first one, and a
 * new reader reads back what it wrote.
 *
 * Whatever the input: no crash, no leak; a reader always opens; groups
 * are sorted, validly named, with low >= 1; the journal is gone after a
 * writer opened; and what a writer writes reads back as the same groups,
 * marks, flags, creation times, creators and descriptions.
 *
 * clang -fsanitize=fuzzer builds it for libFuzzer (make fuzz); with gcc,
 * replay.c runs the saved corpus (tests/fuzz/corpus/active/) in
 * `make check`.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <ftw.h>
#include <unistd.h>

#include "common.h"
#include "spool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_ADDED "zz.fuzz.added"

static char fz_base[128], fz_dir[160];

static int
fz_rm(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(path);
}

static void
fz_cleanup(void)
{
	if (fz_base[0])
		nftw(fz_base, fz_rm, 16, FTW_DEPTH | FTW_PHYS);
}

/* A tmpfs when there is one: the writers call syncfs(). */
static const char *
fz_tmp(void)
{
	const char *t = getenv("TMPDIR");

	if (access("/dev/shm", W_OK) == 0)
		return "/dev/shm";
	return t && *t ? t : "/tmp";
}

static void
fz_path(char *dst, size_t cap, const char *rel)
{
	if (!str_printf(dst, cap, "%s/%s", fz_dir, rel))
		abort();
}

/* Replace (or, for NULL, remove) a file of the spool by rename. */
static void
fz_put(const char *rel, const struct str *s)
{
	char path[512], tmp[512];
	int fd;

	fz_path(path, sizeof(path), rel);
	if (s == NULL) {
		if (unlink(path) == -1 && errno != ENOENT)
			abort();
		return;
	}
	if (!str_printf(tmp, sizeof(tmp), "%s.fz", path))
		abort();
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd == -1 || write_all(fd, s->p, s->len) == -1 || close(fd) == -1 ||
	    rename(tmp, path) == -1)
		abort();
}

static off_t
fz_size(const char *rel)
{
	char path[512];
	struct stat st;

	fz_path(path, sizeof(path), rel);
	if (stat(path, &st) == -1)
		return errno == ENOENT ? 0 : -1;
	return st.st_size;
}

static void
fz_init(void)
{
	struct spool *w;

	log_init("fuzz_active", false, -1);
	if (!str_printf(fz_base, sizeof(fz_base), "%s/ngfuzz-acXXXXXX",
		fz_tmp()) ||
	    mkdtemp(fz_base) == NULL ||
	    !str_printf(fz_dir, sizeof(fz_dir), "%s/spool", fz_base))
		abort();
	atexit(fz_cleanup);
	if ((w = spool_open(fz_dir, "fuzz.example", SPOOL_WRITE)) == NULL)
		abort();
	spool_close(w);
}

/* --- the input ----------------------------------------------------- */

enum { FZ_ACTIVE, FZ_TIMES, FZ_NEWSGROUPS, FZ_TXN, FZ_ACTIVE2, FZ_NSECT };

static const char *const fz_markers[FZ_NSECT] = {NULL, "@@times",
    "@@newsgroups", "@@txn", "@@active2"};

struct fz_input {
	struct str s[FZ_NSECT];
	bool has[FZ_NSECT];
};

static void
fz_parse(struct fz_input *in, const char *data, size_t size)
{
	const char *p = data, *end = data + size, *nl;
	size_t cur = FZ_ACTIVE, i, n;

	memset(in, 0, sizeof(*in));
	in->has[FZ_ACTIVE] = true;
	in->s[FZ_ACTIVE].p = p;
	while (p < end) {
		for (i = 1; i < FZ_NSECT; i++) {
			n = strlen(fz_markers[i]);
			if ((size_t)(end - p) > n && p[n] == '\n' &&
			    memcmp(p, fz_markers[i], n) == 0)
				break;
		}
		if (i < FZ_NSECT) {
			in->s[cur].len = (size_t)(p - in->s[cur].p);
			cur = i;
			p += n + 1;
			in->has[cur] = true;
			in->s[cur].p = p;
			continue;
		}
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			break;
		p = nl + 1;
	}
	in->s[cur].len = (size_t)(end - in->s[cur].p);
}

/* --- checks -------------------------------------------------------- */

/* A group as read, for comparing with what comes back. */
struct fz_group {
	char *name, *creator, *description;
	uint64_t high, low;
	time_t created;
	char flag;
};

struct fz_groups {
	struct fz_group *g;
	size_t n;
	bool dups; /* a name appears twice in active */
};

static void
fz_groups_free(struct fz_groups *gs)
{
	size_t i;

	for (i = 0; i < gs->n; i++) {
		free(gs->g[i].name);
		free(gs->g[i].creator);
		free(gs->g[i].description);
	}
	free(gs->g);
	memset(gs, 0, sizeof(*gs));
}

static int
fz_over_cb(void *arg, uint64_t num, const char *line, size_t len)
{
	(void)arg;
	(void)num;
	(void)line;
	(void)len;
	return 0;
}

/* The invariants of what a reader sees; a copy of it in *out. */
static void
fz_check_groups(struct spool *sp, struct fz_groups *out)
{
	const struct spool_group *gs, *g;
	size_t n, i;
	int fd;

	gs = spool_groups(sp, &n);
	if (n > 0 && gs == NULL)
		abort();
	fz_groups_free(out);
	out->g = xcalloc(n ? n : 1, sizeof(*out->g));
	for (i = 0; i < n; i++) {
		g = &gs[i];
		if (!spool_group_name_valid(g->name) || g->low < 1 ||
		    g->creator == NULL || g->description == NULL ||
		    strchr(g->creator, '\n') || strchr(g->description, '\n') ||
		    g->description[0] == '\t' ||
		    (i > 0 && strcmp(gs[i - 1].name, g->name) > 0))
			abort();
		if (i > 0 && strcmp(gs[i - 1].name, g->name) == 0)
			out->dups = true;
		if (spool_group(sp, g->name) == NULL ||
		    strcmp(spool_group(sp, g->name)->name, g->name) != 0)
			abort();
		if (spool_over(sp, g->name, 1, UINT64_MAX, fz_over_cb, NULL) ==
		    -1)
			abort();
		if ((fd = spool_article_open(sp, g->name, g->low)) != -1)
			close(fd);
		out->g[i].name = xstrdup(g->name);
		out->g[i].creator = xstrdup(g->creator);
		out->g[i].description = xstrdup(g->description);
		out->g[i].high = g->high;
		out->g[i].low = g->low;
		out->g[i].created = g->created;
		out->g[i].flag = g->flag;
	}
	out->n = n;
}

static bool
fz_same_group(const struct fz_group *a, const struct fz_group *b)
{
	/* A creation time of 0 is not written, nor its creator; one past
	 * INT64_MAX wraps negative on reading (not written back either). */
	bool times = a->created > 0;

	return strcmp(a->name, b->name) == 0 && a->high == b->high &&
	    a->low == b->low && a->flag == b->flag &&
	    strcmp(a->description, b->description) == 0 &&
	    (!times || (a->created == b->created &&
	    strcmp(a->creator, b->creator) == 0));
}

static void
fz_dump(const char *what, const struct fz_groups *gs)
{
	size_t i;

	fprintf(stderr, "%s:\n", what);
	for (i = 0; i < gs->n; i++)
		fprintf(stderr, "  %s %" PRIu64 " %" PRIu64 " %c %lld [%s] "
		    "[%s]\n", gs->g[i].name, gs->g[i].high, gs->g[i].low,
		    gs->g[i].flag, (long long)gs->g[i].created,
		    gs->g[i].creator, gs->g[i].description);
}

/* back must be before, less its first group when removed, plus FZ_ADDED
 * when added (after its place in the order). */
static void
fz_compare(const struct fz_groups *before, bool removed, bool added,
    const struct fz_groups *back)
{
	size_t i = removed ? 1 : 0, j = 0;
	bool seen_added = false;

	for (; i < before->n || j < back->n;) {
		if (added && !seen_added && j < back->n &&
		    strcmp(back->g[j].name, FZ_ADDED) == 0) {
			if (back->g[j].high != 0 || back->g[j].low != 1 ||
			    back->g[j].flag != 'y' || back->g[j].created <= 0 ||
			    strcmp(back->g[j].creator, "fuzzer") != 0 ||
			    strcmp(back->g[j].description, "Added here") != 0)
				goto bad;
			seen_added = true;
			j++;
			continue;
		}
		if (i == before->n || j == back->n ||
		    !fz_same_group(&before->g[i], &back->g[j]))
			goto bad;
		i++;
		j++;
	}
	if (added != seen_added)
		goto bad;
	return;
bad:
	fz_dump("written", before);
	fz_dump("read back", back);
	abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const files[FZ_NSECT] = {"data/active",
	    "data/active.times", "data/newsgroups", NULL, NULL};
	struct fz_groups before = {NULL, 0, false}, back = {NULL, 0, false};
	struct fz_input in;
	struct spool *sp, *w;
	struct str empty = {"", 0};
	char first[SPOOL_GROUP_MAX + 1] = "";
	bool added = false, removed = false;
	size_t i;

	if (fz_dir[0] == '\0')
		fz_init();
	fz_parse(&in, (const char *)data, size);
	for (i = 0; i < FZ_NSECT; i++)
		if (files[i] != NULL)
			fz_put(files[i], in.has[i] ? &in.s[i] : NULL);
	fz_put(".newsgate/txn", &empty);

	/* A reader. */
	if ((sp = spool_open(fz_dir, "fuzz.example", SPOOL_READ)) == NULL)
		abort();
	fz_check_groups(sp, &before);
	if (in.has[FZ_ACTIVE2]) {
		fz_put("data/active", &in.s[FZ_ACTIVE2]);
		if (spool_refresh(sp) == -1)
			abort();
		fz_check_groups(sp, &before);
	}
	spool_close(sp);

	/* A writer: recovers the journal, adds a group, removes one. */
	if (in.has[FZ_TXN])
		fz_put(".newsgate/txn", &in.s[FZ_TXN]);
	if ((w = spool_open(fz_dir, "fuzz.example", SPOOL_WRITE)) == NULL ||
	    fz_size(".newsgate/txn") != 0)
		abort();
	if (spool_group_add(w, FZ_ADDED, "Added here", 'y', "fuzzer") == 0)
		added = true;
	else if (errno != EEXIST)
		abort();
	if (before.n > 0 && strcmp(before.g[0].name, FZ_ADDED) != 0 &&
	    str_copy(first, sizeof(first), before.g[0].name)) {
		if (spool_group_remove(w, first) == -1)
			abort();
		removed = true;
	}
	spool_close(w);

	/* What the writer wrote reads back the same. */
	if ((sp = spool_open(fz_dir, "fuzz.example", SPOOL_READ)) == NULL)
		abort();
	fz_check_groups(sp, &back);
	spool_close(sp);
	if (!before.dups && !back.dups)
		fz_compare(&before, removed, added, &back);
	fz_groups_free(&before);
	fz_groups_free(&back);
	return 0;
}
