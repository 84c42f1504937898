/*
 * cli_common.c - what every subcommand shares: loading the configuration
 * with a --spool override, and usage messages.
 */
#include <assert.h>

#include "common.h"
#include "cli.h"

int
cli_config(struct config *c, const char *path, const char *spool)
{
	struct buf err = BUF_INIT(4096);

	if (config_load(c, path, &err) == -1) {
		fprintf(stderr, "newsgate: %s\n", buf_cstr(&err));
		buf_free(&err);
		return -1;
	}
	buf_free(&err);
	if (spool != NULL) {
		free(c->spool_dir);
		c->spool_dir = xstrdup(spool);
	}
	return 0;
}

int
cli_usage(const char *synopsis)
{
	fprintf(stderr, "usage: newsgate %s\n", synopsis);
	return 2;
}

struct spool *
cli_spool_open(const struct config *c, enum spool_mode mode)
{
	struct spool *sp;
	size_t i;

	if ((sp = spool_open(c->spool_dir, c->hostname, mode)) == NULL) {
		fprintf(stderr, "newsgate: spool %s: %s\n", c->spool_dir,
		    errno == ENOENT ? "no spool there (import something "
				      "first)" : strerror(errno));
		return NULL;
	}
	if (mode != SPOOL_WRITE)
		return sp;
	spool_set_sync(sp, c->spool_sync);
	for (i = 0; i < c->ngroups; i++) {
		const struct group_conf *g = &c->groups[i];

		if (spool_group(sp, g->name) != NULL)
			continue;
		if (spool_group_add(sp, g->name, g->description, g->flag,
		    "newsgate") == -1 && errno != EEXIST) {
			fprintf(stderr, "newsgate: add group %s: %s\n",
			    g->name, strerror(errno));
			spool_close(sp);
			return NULL;
		}
	}
	return sp;
}

struct str
cli_over_field(const char *line, size_t len, int i)
{
	const char *p = line, *end = line + len, *tab;

	for (; i > 0; i--) {
		if ((tab = memchr(p, '\t', (size_t)(end - p))) == NULL)
			return (struct str){end, 0};
		p = tab + 1;
	}
	if ((tab = memchr(p, '\t', (size_t)(end - p))) == NULL)
		tab = end;
	return (struct str){p, (size_t)(tab - p)};
}

/* --- a map of Message-IDs ----------------------------------------------- */

void
cli_idmap_init(struct cli_idmap *m)
{
	m->cap = 64;
	m->slots = xcalloc(m->cap, sizeof(*m->slots));
	m->n = 0;
}

void
cli_idmap_free(struct cli_idmap *m)
{
	free(m->slots);
	memset(m, 0, sizeof(*m));
}

static struct cli_idmap_slot *
cli_idmap_slot(const struct cli_idmap *m, const char *key, size_t len)
{
	size_t i = (size_t)hash64(key, len, 0) & (m->cap - 1);

	while (m->slots[i].key != NULL &&
	    (m->slots[i].len != len || memcmp(m->slots[i].key, key, len) != 0))
		i = (i + 1) & (m->cap - 1);
	return &m->slots[i];
}

size_t
cli_idmap_get(const struct cli_idmap *m, const char *key, size_t len)
{
	const struct cli_idmap_slot *s = cli_idmap_slot(m, key, len);

	return s->key ? s->val : SIZE_MAX;
}

void
cli_idmap_put(struct cli_idmap *m, const char *key, size_t len, size_t val)
{
	struct cli_idmap_slot *s;
	size_t i;

	if (2 * (m->n + 1) > m->cap) {
		struct cli_idmap bigger = {NULL, 2 * m->cap, 0};

		bigger.slots = xcalloc(bigger.cap, sizeof(*bigger.slots));
		for (i = 0; i < m->cap; i++)
			if (m->slots[i].key != NULL)
				*cli_idmap_slot(&bigger, m->slots[i].key,
				    m->slots[i].len) = m->slots[i];
		bigger.n = m->n;
		free(m->slots);
		*m = bigger;
	}
	s = cli_idmap_slot(m, key, len);
	assert(s->key == NULL);
	s->key = key;
	s->len = len;
	s->val = val;
	m->n++;
}
