/*
 * fuzz_config.c - libFuzzer target for config_load() on the input as a
 * newsgate.conf file, and for route_item() on the [group] rules it loads.
 *
 * Whatever the input: no crash, no leak; a refused file says why as
 * "file:line: reason" and leaves nothing to free; a loaded one has a
 * spool dir, a hostname, 1 to CONFIG_LISTEN_MAX listen addresses, every
 * number within its documented range, uniquely and validly named groups
 * with trimmed, non-empty rules. Routing returns only configured group
 * names, at most max of them, and an item whose section (title) is a
 * group's literal section rule (keyword) goes to that group.
 *
 * clang -fsanitize=fuzzer builds it for libFuzzer (make fuzz); with gcc,
 * replay.c runs the saved corpus (tests/fuzz/corpus/config/) in
 * `make check`.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <unistd.h>

#include "common.h"
#include "config.h"
#include "route.h"
#include "source.h"
#include "spool.h"
#include "wildmat.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_ROUTE_MAX 64 /* groups one item may go to, here */

static char fz_base[128], fz_file[160];

static void
fz_cleanup(void)
{
	if (fz_file[0])
		unlink(fz_file);
	if (fz_base[0])
		rmdir(fz_base);
}

static void
fz_init(void)
{
	struct config c;
	struct buf err = BUF_INIT(4096);
	const char *t = getenv("TMPDIR");

	log_init("fuzz_config", false, -1);
	if (!str_printf(fz_base, sizeof(fz_base), "%s/ngfuzz-cfXXXXXX",
		access("/dev/shm", W_OK) == 0 ? "/dev/shm" : t && *t ? t :
		"/tmp") ||
	    mkdtemp(fz_base) == NULL ||
	    !str_printf(fz_file, sizeof(fz_file), "%s/newsgate.conf", fz_base))
		abort();
	atexit(fz_cleanup);
	/* The embedded defaults load on their own. */
	if (config_load(&c, NULL, &err) == -1)
		abort();
	config_fini(&c);
	buf_free(&err);
}

static bool
fz_trimmed(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && s[0] != ' ' && s[0] != '\t' &&
	    !(s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' ||
		s[n - 1] == '\r' || s[n - 1] == '\v' || s[n - 1] == '\f');
}

static bool
fz_in(double v, double lo, double hi)
{
	return v >= lo && v <= hi;
}

static void
fz_check_loaded(const struct config *c)
{
	const struct thread_conf *t = &c->threading;
	size_t i, j, k;

	if (c->spool_dir == NULL || c->hostname == NULL || c->nlisten < 1 ||
	    c->nlisten > CONFIG_LISTEN_MAX)
		abort();
	for (i = 0; i < c->nlisten; i++)
		if (c->listen[i] == NULL)
			abort();
	if (!fz_in(c->max_connections, 1, 1000000) ||
	    !fz_in(c->max_per_address, 1, 1000000) ||
	    !fz_in(c->idle_timeout_s, 1, 86400) ||
	    !fz_in((double)c->max_article_bytes, 1024, 1073741824.0) ||
	    !fz_in(t->threshold, 0, 1) ||
	    !fz_in(t->df_max, 0, 1) || !fz_in(t->title_weight, 0, 100) ||
	    !fz_in(t->body_weight, 0, 100) || !fz_in(t->name_weight, 0, 100) ||
	    !fz_in(t->max_terms, 1, 100000) ||
	    !fz_in((double)t->window_s, 0, 86400.0 * 3650))
		abort();
	for (i = 0; i < c->ngroups; i++) {
		const struct group_conf *g = &c->groups[i];

		if (g->name == NULL || !spool_group_name_valid(g->name) ||
		    config_group(c, g->name) != g || g->description == NULL ||
		    (g->flag != 'y' && g->flag != 'n' && g->flag != 'm') ||
		    (g->nrules > 0 && g->rules == NULL))
			abort();
		for (j = 0; j < i; j++)
			if (strcmp(c->groups[j].name, g->name) == 0)
				abort();
		for (k = 0; k < g->nrules; k++)
			if (g->rules[k].pattern == NULL ||
			    !fz_trimmed(g->rules[k].pattern) ||
			    strchr(g->rules[k].pattern, ',') != NULL ||
			    g->rules[k].field > ROUTE_TITLE)
				abort();
	}
	if (config_group(c, "no.such.group.here.") != NULL)
		abort();
}

/* Route it; every name returned is a configured group's own pointer.
 * Returns whether group gi was among them. */
static bool
fz_route(const struct config *c, const struct item *it, size_t gi)
{
	const char *out[FZ_ROUTE_MAX];
	size_t n, i, j, max = c->ngroups < FZ_ROUTE_MAX ? c->ngroups :
	    FZ_ROUTE_MAX;
	bool hit = false;

	n = route_item(c, it, out, max);
	if (n > max)
		abort();
	for (i = 0; i < n; i++) {
		for (j = 0; j < c->ngroups; j++)
			if (out[i] == c->groups[j].name)
				break;
		if (j == c->ngroups)
			abort();
		if (j == gi)
			hit = true;
	}
	return hit;
}

static bool
fz_has_alnum(const char *s)
{
	for (; *s; s++)
		if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9'))
			return true;
	return false;
}

static void
fz_check_routes(const struct config *c)
{
	struct item it;
	size_t i, k, tried = 0;

	memset(&it, 0, sizeof(it));
	it.title = "Pakistan and the State Department";
	it.text = "A text about Karachi.\n\nAnd more.";
	it.section = "Pakistan News";
	it.source = "state.gov";
	it.date = 0;
	(void)fz_route(c, &it, SIZE_MAX);
	memset(&it, 0, sizeof(it));
	(void)fz_route(c, &it, SIZE_MAX);
	for (i = 0; i < c->ngroups && i < FZ_ROUTE_MAX; i++) {
		const struct group_conf *g = &c->groups[i];

		for (k = 0; k < g->nrules && tried < 64; k++, tried++) {
			const char *p = g->rules[k].pattern;
			bool literal = strpbrk(p, "*?[\\") == NULL;

			memset(&it, 0, sizeof(it));
			switch (g->rules[k].field) {
			case ROUTE_SECTION:
				it.section = p;
				break;
			case ROUTE_SOURCE:
				it.source = p;
				break;
			case ROUTE_KEYWORD:
				it.text = p;
				literal = fz_has_alnum(p);
				break;
			case ROUTE_TITLE:
				it.title = p;
				literal = fz_has_alnum(p);
				break;
			}
			if (!fz_route(c, &it, i) && literal) {
				fprintf(stderr, "group %s: rule %d '%s' does "
				    "not route its own value\n", g->name,
				    (int)g->rules[k].field, p);
				abort();
			}
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config c;
	struct buf err = BUF_INIT(SIZE_MAX);
	int fd;

	if (fz_file[0] == '\0')
		fz_init();
	fd = open(fz_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd == -1 || write_all(fd, data, size) == -1 || close(fd) == -1)
		abort();
	if (config_load(&c, fz_file, &err) == -1) {
		if (err.len == 0 || memchr(err.data, ':', err.len) == NULL)
			abort(); /* a refusal always says where and why */
		buf_free(&err);
		return 0;
	}
	if (err.len != 0)
		abort();
	fz_check_loaded(&c);
	fz_check_routes(&c);
	config_fini(&c);
	buf_free(&err);
	return 0;
}
