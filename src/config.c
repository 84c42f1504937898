/*
 * config.c - newsgate.conf, an INI file. Every setting is a row of one
 * table {section, key, type, offset, min, max}; the defaults are INI text
 * (default_text below) parsed by the same code before the user's file, so
 * a default can never disagree with what the parser accepts.
 *
 * [group NAME] sections are not table rows: each names a group and its
 * routing rules. When the user's file defines any group, the default
 * groups are dropped (the file then says exactly which groups exist).
 *
 * Never writes anything; never exits on a bad file (the caller decides).
 */
#include <ctype.h>
#include <math.h>

#include "common.h"
#include "config.h"
#include "spool.h"

#define CONFIG_LINE_MAX 4096

static const char default_text[] =
    "# newsgate.conf: the embedded defaults (newsgate.conf(5))\n"
    "[spool]\n"
    "dir = ./spool\n"
    "sync = yes\n"
    "sync_interval = 0\n"
    "\n"
    "[server]\n"
    "hostname = newsgate.invalid\n"
    "listen = 127.0.0.1:1119\n"
    "max_connections = 16384\n"
    "max_per_address = 1024\n"
    "idle_timeout = 600\n"
    "max_article_bytes = 1048576\n"
    "post_policy = loopback\n"
    "post_rate = 0\n"
    "auth_plaintext = loopback\n"
    "\n"
    "[threading]\n"
    "enabled = yes\n"
    "threshold = 0.15\n"
    "window = 12h\n"
    "title_weight = 1.5\n"
    "body_weight = 1.0\n"
    "name_weight = 1.75\n"
    "max_terms = 96\n"
    "df_max = 0.05\n"
    "posts = no\n"
    "\n"
    "[group pakistan.news]\n"
    "description = News from and about Pakistan\n"
    "posting = yes\n"
    "section = Pakistan*\n"
    "keywords = Pakistan, Pakistani, Islamabad, Karachi, Lahore, "
    "Peshawar, Rawalpindi\n"
    "\n"
    "[group us.statedept]\n"
    "description = US State Department briefings and statements\n"
    "posting = yes\n"
    "source = state.gov, *State Department*, *Department of State*\n"
    "keywords = State Department, Department of State, "
    "Secretary of State, State Department spokesman\n";

enum ctype { CT_STR, CT_U32, CT_U64, CT_I64_DUR, CT_DBL, CT_BOOL, CT_LISTEN };

struct setting {
	const char *section;
	const char *key;
	enum ctype type;
	size_t off;
	double min;
	double max;
};

#define OFF(f) offsetof(struct config, f)
#define TOFF(f) (offsetof(struct config, threading) + \
    offsetof(struct thread_conf, f))

/* Sorted by section, then key, for the reader's eye only. */
static const struct setting settings[] = {
	{"server", "accounts", CT_STR, OFF(accounts), 0, 0},
	{"server", "auth_plaintext", CT_STR, OFF(auth_plaintext), 0, 0},
	{"server", "hostname", CT_STR, OFF(hostname), 0, 0},
	{"server", "idle_timeout", CT_U32, OFF(idle_timeout_s), 1, 86400},
	{"server", "listen", CT_LISTEN, 0, 0, 0},
	{"server", "max_article_bytes", CT_U64, OFF(max_article_bytes), 1024,
	    1073741824.0},
	{"server", "max_connections", CT_U32, OFF(max_connections), 1,
	    1000000},
	{"server", "max_per_address", CT_U32, OFF(max_per_address), 1,
	    1000000},
	{"server", "post_policy", CT_STR, OFF(post_policy), 0, 0},
	{"server", "post_rate", CT_U32, OFF(post_rate), 0, 1000000},
	{"server", "tls_cert", CT_STR, OFF(tls_cert), 0, 0},
	{"server", "tls_key", CT_STR, OFF(tls_key), 0, 0},
	{"server", "tls_listen", CT_STR, OFF(tls_listen), 0, 0},
	{"server", "user", CT_STR, OFF(user), 0, 0},
	{"spool", "dir", CT_STR, OFF(spool_dir), 0, 0},
	{"spool", "sync", CT_BOOL, OFF(spool_sync), 0, 0},
	{"spool", "sync_interval", CT_I64_DUR, OFF(sync_interval_s), 0,
	    86400},
	{"threading", "body_weight", CT_DBL, TOFF(body_weight), 0, 100},
	{"threading", "df_max", CT_DBL, TOFF(df_max), 0, 1},
	{"threading", "enabled", CT_BOOL, TOFF(enabled), 0, 0},
	{"threading", "max_terms", CT_U32, TOFF(max_terms), 1, 100000},
	{"threading", "name_weight", CT_DBL, TOFF(name_weight), 0, 100},
	{"threading", "posts", CT_BOOL, TOFF(posts), 0, 0},
	{"threading", "threshold", CT_DBL, TOFF(threshold), 0, 1},
	{"threading", "title_weight", CT_DBL, TOFF(title_weight), 0, 100},
	{"threading", "window", CT_I64_DUR, TOFF(window_s), 0,
	    86400.0 * 3650},
};

/* Parser state for one text (the defaults, then the file). */
struct parser {
	struct config *c;
	const char *file;	   /* for messages */
	unsigned long line;	   /* current line, 1-based */
	char section[160];	   /* current section name */
	struct group_conf *group;  /* current [group], or NULL */
	bool user;		   /* parsing the user's file */
	bool user_groups;	   /* the user's file defined a group */
	struct buf *err;
};

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static int
perr(struct parser *p, const char *fmt, ...) NG_PRINTF(2, 3);

static int
perr(struct parser *p, const char *fmt, ...)
{
	va_list ap;

	buf_printf(p->err, "%s:%lu: ", p->file, p->line);
	va_start(ap, fmt);
	buf_vprintf(p->err, fmt, ap);
	va_end(ap);
	return -1;
}

static int
parse_bool(const char *v, bool *out)
{
	if (!strcasecmp(v, "yes") || !strcasecmp(v, "true") ||
	    !strcasecmp(v, "on") || !strcmp(v, "1"))
		*out = true;
	else if (!strcasecmp(v, "no") || !strcasecmp(v, "false") ||
	    !strcasecmp(v, "off") || !strcmp(v, "0"))
		*out = false;
	else
		return -1;
	return 0;
}

/* A number with an optional unit: s, m, h, d (durations) or none. */
static int
parse_num(const char *v, bool duration, double *out)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(v, &end);
	if (end == v || errno || !isfinite(d))
		return -1;
	if (duration && *end) {
		switch (*end++) {
		case 's':
			break;
		case 'm':
			d *= 60;
			break;
		case 'h':
			d *= 3600;
			break;
		case 'd':
			d *= 86400;
			break;
		default:
			return -1;
		}
	}
	if (*end != '\0')
		return -1;
	*out = d;
	return 0;
}

static int
set_value(struct parser *p, const struct setting *s, const char *v)
{
	char *base = (char *)p->c + s->off;
	double d;
	bool b;

	switch (s->type) {
	case CT_STR:
		free(*(char **)(void *)base);
		*(char **)(void *)base = *v ? xstrdup(v) : NULL;
		return 0;
	case CT_BOOL:
		if (parse_bool(v, &b) == -1)
			return perr(p, "%s: expected yes or no", s->key);
		*(bool *)(void *)base = b;
		return 0;
	case CT_LISTEN:
		if (p->user && !p->c->listen_from_user) {
			/* The file's listen lines replace the default. */
			while (p->c->nlisten > 0)
				free(p->c->listen[--p->c->nlisten]);
			p->c->listen_from_user = true;
		}
		if (p->c->nlisten == CONFIG_LISTEN_MAX)
			return perr(p, "too many listen lines (max %d)",
			    CONFIG_LISTEN_MAX);
		p->c->listen[p->c->nlisten++] = xstrdup(v);
		return 0;
	default:
		break;
	}
	if (parse_num(v, s->type == CT_I64_DUR, &d) == -1)
		return perr(p, "%s: not a number: %s", s->key, v);
	if (d < s->min || d > s->max)
		return perr(p, "%s: %s is out of range [%g, %g]", s->key, v,
		    s->min, s->max);
	switch (s->type) {
	case CT_U32:
		if (d != floor(d))
			return perr(p, "%s: not a whole number", s->key);
		*(uint32_t *)(void *)base = (uint32_t)d;
		break;
	case CT_U64:
		if (d != floor(d))
			return perr(p, "%s: not a whole number", s->key);
		*(uint64_t *)(void *)base = (uint64_t)d;
		break;
	case CT_I64_DUR:
		*(int64_t *)(void *)base = (int64_t)d;
		break;
	case CT_DBL:
		*(double *)(void *)base = d;
		break;
	default:
		return perr(p, "%s: bad setting type", s->key);
	}
	return 0;
}

static void
group_free_fields(struct group_conf *g)
{
	size_t i;

	for (i = 0; i < g->nrules; i++)
		free(g->rules[i].pattern);
	free(g->rules);
	free(g->name);
	free(g->description);
}

static void
groups_clear(struct config *c)
{
	size_t i;

	for (i = 0; i < c->ngroups; i++)
		group_free_fields(&c->groups[i]);
	free(c->groups);
	c->groups = NULL;
	c->ngroups = 0;
}

static int
open_group(struct parser *p, const char *name)
{
	struct group_conf *g;
	size_t i;

	if (!spool_group_name_valid(name))
		return perr(p, "invalid group name: %s", name);
	if (p->user && !p->user_groups) {
		groups_clear(p->c);
		p->user_groups = true;
	}
	for (i = 0; i < p->c->ngroups; i++)
		if (strcmp(p->c->groups[i].name, name) == 0)
			return perr(p, "group %s defined twice", name);
	p->c->groups = xreallocarray(p->c->groups, p->c->ngroups + 1,
	    sizeof(*p->c->groups));
	g = &p->c->groups[p->c->ngroups++];
	memset(g, 0, sizeof(*g));
	g->name = xstrdup(name);
	g->description = xstrdup("");
	g->flag = 'y';
	p->group = g;
	return 0;
}

/* Add one rule per comma-separated pattern of v. */
static void
add_rules(struct group_conf *g, enum route_field f, char *v)
{
	char *save = NULL, *tok;

	for (tok = strtok_r(v, ",", &save); tok;
	    tok = strtok_r(NULL, ",", &save)) {
		tok = trim(tok);
		if (*tok == '\0')
			continue;
		g->rules = xreallocarray(g->rules, g->nrules + 1,
		    sizeof(*g->rules));
		g->rules[g->nrules].field = f;
		g->rules[g->nrules].pattern = xstrdup(tok);
		g->nrules++;
	}
}

static int
group_key(struct parser *p, const char *key, char *v)
{
	struct group_conf *g = p->group;
	bool b;

	if (!strcmp(key, "description")) {
		free(g->description);
		g->description = xstrdup(v);
	} else if (!strcmp(key, "posting")) {
		if (!strcasecmp(v, "moderated"))
			g->flag = 'm';
		else if (parse_bool(v, &b) == 0)
			g->flag = b ? 'y' : 'n';
		else
			return perr(p, "posting: expected yes, no or "
				       "moderated");
	} else if (!strcmp(key, "catchall")) {
		if (parse_bool(v, &g->catchall) == -1)
			return perr(p, "catchall: expected yes or no");
	} else if (!strcmp(key, "section")) {
		add_rules(g, ROUTE_SECTION, v);
	} else if (!strcmp(key, "source")) {
		add_rules(g, ROUTE_SOURCE, v);
	} else if (!strcmp(key, "keywords")) {
		add_rules(g, ROUTE_KEYWORD, v);
	} else if (!strcmp(key, "title")) {
		add_rules(g, ROUTE_TITLE, v);
	} else {
		return perr(p, "unknown key '%s' in [group %s]", key,
		    g->name);
	}
	return 0;
}

static int
parse_line(struct parser *p, char *line)
{
	char *s = trim(line), *eq, *key, *val;
	size_t i;

	if (*s == '\0' || *s == '#' || *s == ';')
		return 0;
	if (*s == '[') {
		char *end = strchr(s, ']');

		if (end == NULL || end[1] != '\0')
			return perr(p, "section header without ']'");
		*end = '\0';
		s = trim(s + 1);
		p->group = NULL;
		if (!strncmp(s, "group", 5) && (s[5] == ' ' || s[5] == '\t')) {
			if (!str_copy(p->section, sizeof(p->section), "group"))
				return perr(p, "section name too long");
			return open_group(p, trim(s + 6));
		}
		for (i = 0; i < NG_NELEM(settings); i++)
			if (!strcmp(settings[i].section, s))
				break;
		if (i == NG_NELEM(settings))
			return perr(p, "unknown section [%s]", s);
		if (!str_copy(p->section, sizeof(p->section), s))
			return perr(p, "section name too long");
		return 0;
	}
	if ((eq = strchr(s, '=')) == NULL)
		return perr(p, "expected 'key = value'");
	*eq = '\0';
	key = trim(s);
	val = trim(eq + 1);
	if (p->section[0] == '\0')
		return perr(p, "'%s' outside any section", key);
	if (p->group)
		return group_key(p, key, val);
	for (i = 0; i < NG_NELEM(settings); i++)
		if (!strcmp(settings[i].section, p->section) &&
		    !strcmp(settings[i].key, key))
			return set_value(p, &settings[i], val);
	return perr(p, "unknown key '%s' in [%s]", key, p->section);
}

static int
parse_text(struct parser *p, const char *text)
{
	char line[CONFIG_LINE_MAX];
	const char *nl;

	p->line = 0;
	while (*text) {
		size_t len;

		p->line++;
		nl = strchr(text, '\n');
		len = nl ? (size_t)(nl - text) : strlen(text);
		if (len >= sizeof(line))
			return perr(p, "line too long (max %d octets)",
			    CONFIG_LINE_MAX - 1);
		memcpy(line, text, len);
		line[len] = '\0';
		if (memchr(line, '\0', len) != NULL)
			return perr(p, "NUL byte");
		if (parse_line(p, line) == -1)
			return -1;
		text += len + (nl != NULL);
	}
	return 0;
}

static int
read_file(const char *path, struct buf *out, struct buf *err)
{
	char chunk[8192];
	FILE *fp;
	size_t n;

	if ((fp = fopen(path, "r")) == NULL) {
		buf_printf(err, "%s: %s", path, strerror(errno));
		return -1;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		buf_append(out, chunk, n);
	if (ferror(fp) || out->err) {
		buf_printf(err, "%s: %s", path,
		    out->err ? "file too large" : strerror(errno));
		fclose(fp);
		return -1;
	}
	fclose(fp);
	if (memchr(buf_cstr(out), '\0', out->len) != NULL) {
		buf_printf(err, "%s: NUL byte in file", path);
		return -1;
	}
	return 0;
}

int
config_load(struct config *c, const char *path, struct buf *err)
{
	struct parser p;
	struct buf text = BUF_INIT(16 * 1024 * 1024);

	memset(c, 0, sizeof(*c));
	memset(&p, 0, sizeof(p));
	p.c = c;
	p.err = err;
	p.file = "(defaults)";
	if (parse_text(&p, default_text) == -1)
		goto fail;
	if (path != NULL) {
		c->path = xstrdup(path);
		if (read_file(path, &text, err) == -1)
			goto fail;
		memset(p.section, 0, sizeof(p.section));
		p.group = NULL;
		p.user = true;
		p.file = path;
		if (parse_text(&p, buf_cstr(&text)) == -1)
			goto fail;
	}
	buf_free(&text);
	if (c->spool_dir == NULL || c->hostname == NULL) {
		buf_printf(err, "%s: spool dir and hostname must not be "
				"empty", path ? path : "(defaults)");
		config_fini(c);
		return -1;
	}
	return 0;
fail:
	buf_free(&text);
	config_fini(c);
	return -1;
}

void
config_fini(struct config *c)
{
	size_t i;

	if (c == NULL)
		return;
	free(c->path);
	free(c->spool_dir);
	free(c->hostname);
	for (i = 0; i < c->nlisten; i++)
		free(c->listen[i]);
	free(c->tls_listen);
	free(c->tls_cert);
	free(c->tls_key);
	free(c->post_policy);
	free(c->auth_plaintext);
	free(c->accounts);
	free(c->user);
	groups_clear(c);
	memset(c, 0, sizeof(*c));
}

const char *
config_default_text(void)
{
	return default_text;
}

const struct group_conf *
config_group(const struct config *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->ngroups; i++)
		if (strcmp(c->groups[i].name, name) == 0)
			return &c->groups[i];
	return NULL;
}
