/*
 * session.c - one NNTP reader session: line framing (RFC 3977 §3.1), the
 * command table and the dispatcher that does every generic check, the
 * output queue, and what is generated from the table (CAPABILITIES, HELP,
 * LIST keyword dispatch).
 *
 * Owns the session's buffers and its generator state. Never touches a
 * socket (server.c does) and never writes under the spool.
 *
 * Framing: a line ends at LF; a CR before it is dropped. A line is at
 * most NNTP_LINE_MAX (512) octets counting its terminator; once 512
 * octets arrive without an LF the rest of the line is discarded and,
 * when its LF comes, answered with 501, and the session goes on.
 *
 * Between a 340 and the "." line the input is a POSTed article instead
 * (RFC 3977 §3.1.1): it is dot-unstuffed as it streams into the
 * session's article buffer, whatever its line lengths, up to the
 * configured ceiling and not an octet further.
 */
#include "common.h"
#include "buf.h"
#include "nntp.h"
#include "session.h"
#include "spool.h"

static const struct session_conf default_conf = {
    "localhost", false, SESSION_OUT_HIGH, false};

static cmd_avail_fn avail_post, avail_auth, avail_tls;

/* Sorted for bsearch(); check_session.c enforces the order. */
static const struct cmd cmds[] = {
    {"ARTICLE", cmd_article, 0, 1, CMD_REFRESH, 0,
	"ARTICLE [message-ID|number]", NULL, NULL},
    /* RFC 4643 §2.3: the password may hold spaces (cmd_auth.c). */
    {"AUTHINFO", cmd_authinfo, 2, SESSION_ARGS_MAX, 0, -1,
	"AUTHINFO USER name|PASS password", "AUTHINFO USER", avail_auth},
    {"BODY", cmd_body, 0, 1, CMD_REFRESH, 0, "BODY [message-ID|number]", NULL,
	NULL},
    {"CAPABILITIES", cmd_capabilities, 0, 1, 0, -1, "CAPABILITIES [keyword]",
	NULL, NULL},
    {"DATE", cmd_date, 0, 0, 0, -1, "DATE", NULL, NULL},
    {"GROUP", cmd_group, 1, 1, CMD_REFRESH, -1, "GROUP newsgroup", NULL, NULL},
    {"HDR", cmd_hdr, 1, 2, CMD_REFRESH, 1, "HDR header [message-ID|range]",
	"HDR", NULL},
    {"HEAD", cmd_head, 0, 1, CMD_REFRESH, 0, "HEAD [message-ID|number]", NULL,
	NULL},
    {"HELP", cmd_help, 0, 0, 0, -1, "HELP", NULL, NULL},
    {"LAST", cmd_last, 0, 0, CMD_REFRESH | CMD_NEED_GROUP | CMD_NEED_CURRENT,
	-1, "LAST", NULL, NULL},
    {"LIST", cmd_list, 0, 2, CMD_REFRESH, -1,
	"LIST [keyword [wildmat|argument]]", "LIST", NULL},
    {"LISTGROUP", cmd_listgroup, 0, 2, CMD_REFRESH, -1,
	"LISTGROUP [newsgroup [range]]", NULL, NULL},
    {"MODE", cmd_mode, 1, 1, 0, -1, "MODE READER", "READER", NULL},
    {"NEWGROUPS", cmd_newgroups, 2, 3, CMD_REFRESH, -1,
	"NEWGROUPS [yy]yymmdd hhmmss [GMT]", NULL, NULL},
    {"NEWNEWS", cmd_newnews, 3, 4, CMD_REFRESH, -1,
	"NEWNEWS wildmat [yy]yymmdd hhmmss [GMT]", "NEWNEWS", NULL},
    {"NEXT", cmd_next, 0, 0, CMD_REFRESH | CMD_NEED_GROUP | CMD_NEED_CURRENT,
	-1, "NEXT", NULL, NULL},
    {"OVER", cmd_over, 0, 1, CMD_REFRESH, 0, "OVER [message-ID|range]",
	"OVER MSGID", NULL},
    {"POST", cmd_post, 0, 0, CMD_REFRESH, -1, "POST", "POST", avail_post},
    {"QUIT", cmd_quit, 0, 0, 0, -1, "QUIT", NULL, NULL},
    {"STARTTLS", cmd_starttls, 0, 0, 0, -1, "STARTTLS", "STARTTLS", avail_tls},
    {"STAT", cmd_stat, 0, 1, CMD_REFRESH, 0, "STAT [message-ID|number]", NULL,
	NULL},
    {"XHDR", cmd_xhdr, 1, 2, CMD_REFRESH, 1, "XHDR header [message-ID|range]",
	NULL, NULL},
    {"XOVER", cmd_over, 0, 1, CMD_REFRESH, 0, "XOVER [range]", NULL, NULL},
    {"XPAT", cmd_xpat, 3, SESSION_ARGS_MAX, CMD_REFRESH, 1,
	"XPAT header message-ID|range pattern [pattern ...]", "XPAT", NULL},
};

/* LIST keywords (RFC 3977 §7.6, RFC 6048), same shape; sorted. */
static const struct cmd list_cmds[] = {
    {"ACTIVE", cmd_list_active, 0, 1, 0, -1, "LIST ACTIVE [wildmat]", "ACTIVE",
	NULL},
    {"ACTIVE.TIMES", cmd_list_active_times, 0, 1, 0, -1,
	"LIST ACTIVE.TIMES [wildmat]", "ACTIVE.TIMES", NULL},
    {"COUNTS", cmd_list_counts, 0, 1, 0, -1, "LIST COUNTS [wildmat]", "COUNTS",
	NULL},
    {"DISTRIB.PATS", cmd_list_distrib_pats, 0, 0, 0, -1, "LIST DISTRIB.PATS",
	"DISTRIB.PATS", NULL},
    {"HEADERS", cmd_list_headers, 0, 1, 0, -1, "LIST HEADERS [MSGID|RANGE]",
	"HEADERS", NULL},
    {"MOTD", cmd_list_motd, 0, 0, CMD_HIDDEN, -1, "LIST MOTD", "MOTD", NULL},
    {"NEWSGROUPS", cmd_list_newsgroups, 0, 1, 0, -1,
	"LIST NEWSGROUPS [wildmat]", "NEWSGROUPS", NULL},
    {"OVERVIEW.FMT", cmd_list_overview_fmt, 0, 0, 0, -1, "LIST OVERVIEW.FMT",
	"OVERVIEW.FMT", NULL},
    {"SUBSCRIPTIONS", cmd_list_subscriptions, 0, 1, 0, -1,
	"LIST SUBSCRIPTIONS [wildmat]", "SUBSCRIPTIONS", NULL},
};

const struct cmd *
session_cmds(size_t *n)
{
	*n = NG_NELEM(cmds);
	return cmds;
}

const struct cmd *
session_list_cmds(size_t *n)
{
	*n = NG_NELEM(list_cmds);
	return list_cmds;
}

static int
cmd_compare(const void *key, const void *elem)
{
	return strcasecmp(key, ((const struct cmd *)elem)->name);
}

const struct cmd *
session_cmd_find(const struct cmd *tab, size_t n, const char *name)
{
	return bsearch(name, tab, n, sizeof(*tab), cmd_compare);
}

/* --- lifecycle ---------------------------------------------------------- */

struct session *
session_new(struct spool *sp, const struct session_conf *conf)
{
	struct session *s = xcalloc(1, sizeof(*s));

	s->sp = sp;
	s->conf = conf ? conf : &default_conf;
	buf_init(&s->in, SESSION_IN_MAX);
	buf_init(&s->out, SESSION_OUT_MAX);
	return s;
}

static void
gen_end(struct session *s)
{
	if (s->gen_free)
		s->gen_free(s->gen_state);
	s->gen = NULL;
	s->gen_state = NULL;
	s->gen_free = NULL;
}

void
session_free(struct session *s)
{
	if (s == NULL)
		return;
	gen_end(s);
	buf_free(&s->in);
	buf_free(&s->out);
	buf_free(&s->post.art);
	free(s);
}

void
session_greet(struct session *s)
{
	/* RFC 3977 §5.1.1: 200 posting allowed, 201 not. */
	if (session_may_post(s))
		session_reply(s, NNTP_OK_BANNER_POST,
		    "%s newsgate ready (posting ok)", s->conf->hostname);
	else
		session_reply(s, NNTP_OK_BANNER_NOPOST,
		    "%s newsgate ready (no posting)", s->conf->hostname);
}

/* --- output ------------------------------------------------------------- */

void
session_write(struct session *s, const void *p, size_t len)
{
	buf_append(&s->out, p, len);
}

void
session_printf(struct session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&s->out, fmt, ap);
	va_end(ap);
}

void
session_reply(struct session *s, int code, const char *fmt, ...)
{
	char line[NNTP_LINE_MAX];
	va_list ap;
	int n, m;

	/* Format once into a line; the rare longer reply goes the slow
	 * way (twice through vsnprintf, in buf_vprintf). */
	n = snprintf(line, sizeof(line), "%d ", code);
	va_start(ap, fmt);
	m = vsnprintf(line + n, sizeof(line) - (size_t)n - 2, fmt, ap);
	va_end(ap);
	if (m >= 0 && (size_t)(n + m) < sizeof(line) - 2) {
		memcpy(line + n + m, "\r\n", 2);
		buf_append(&s->out, line, (size_t)(n + m) + 2);
		return;
	}
	buf_printf(&s->out, "%d ", code);
	va_start(ap, fmt);
	buf_vprintf(&s->out, fmt, ap);
	va_end(ap);
	buf_append(&s->out, "\r\n", 2);
}

int
session_syntax(struct session *s)
{
	if (s->cmd)
		session_reply(s, NNTP_ERR_SYNTAX, "Syntax: %s", s->cmd->help);
	else
		session_reply(s, NNTP_ERR_SYNTAX, "Syntax error");
	return 0;
}

void
session_data(struct session *s, const char *p, size_t len)
{
	/* RFC 3977 §3.1.1: a line starting with "." gets one more. */
	if (len > 0 && p[0] == '.')
		buf_append(&s->out, ".", 1);
	buf_append(&s->out, p, len);
	buf_append(&s->out, "\r\n", 2);
}

void
session_data_end(struct session *s)
{
	buf_append(&s->out, ".\r\n", 3);
}

bool
session_out_full(const struct session *s)
{
	return s->out.len - s->out_off >= s->conf->out_high;
}

const char *
session_out_data(const struct session *s, size_t *len)
{
	*len = s->out.len - s->out_off;
	return s->out.data ? s->out.data + s->out_off : "";
}

void
session_out_consume(struct session *s, size_t n)
{
	assert(n <= s->out.len - s->out_off);
	s->out_off += n;
	if (s->out_off == s->out.len) {
		buf_reset(&s->out);
		s->out_off = 0;
	} else if (s->out_off >= s->out.len / 2) {
		/* Compact, so the queue cannot creep towards its ceiling. */
		buf_consume(&s->out, s->out_off);
		s->out_off = 0;
	}
}

void
session_trim(struct session *s)
{
	if (s->in.len == 0)
		buf_free(&s->in);
	if (s->out.len == s->out_off && s->gen == NULL) {
		buf_free(&s->out);
		s->out_off = 0;
	}
}

void
session_stop(struct session *s, const char *reason)
{
	if (s->closing)
		return;
	if (s->gen == NULL)
		session_reply(s, NNTP_FAIL_TERMINATING, "%s", reason);
	s->closing = true;
	buf_reset(&s->in);
}

void
session_gen_start(
    struct session *s, session_gen_fn *fn, void *state, session_gen_free_fn *fr)
{
	assert(s->gen == NULL);
	s->gen = fn;
	s->gen_state = state;
	s->gen_free = fr;
}

/* --- small shared helpers ----------------------------------------------- */

void
session_select(struct session *s, const struct spool_group *g)
{
	if (!str_copy(s->group, sizeof(s->group), g->name))
		s->group[0] = '\0'; /* cannot happen: same bound */
	s->cur = session_group_count(g) > 0 ? g->low : 0;
}

uint64_t
session_group_count(const struct spool_group *g)
{
	return g->high >= g->low && g->low > 0 ? g->high - g->low + 1 : 0;
}

bool
session_is_msgid(const char *arg)
{
	size_t i, len = strlen(arg);

	/* RFC 3977 §3.6: "<", 1 to 248 printable octets but ">", ">". */
	if (len < 3 || len > NNTP_MSGID_MAX || arg[0] != '<' ||
	    arg[len - 1] != '>')
		return false;
	for (i = 1; i < len - 1; i++)
		if (arg[i] < 0x21 || arg[i] > 0x7e || arg[i] == '>')
			return false;
	return true;
}

int
session_parse_number(const char *arg, uint64_t *n)
{
	size_t len = strlen(arg);

	/* RFC 3977 §3.2.1.1: 1 to 16 digits. */
	if (len == 0 || len > 16)
		return -1;
	return parse_u64(arg, len, n);
}

int
session_parse_range(const char *arg, uint64_t *lo, uint64_t *hi)
{
	const char *dash = strchr(arg, '-');
	size_t len;

	if (dash == NULL) {
		if (session_parse_number(arg, lo) == -1)
			return -1;
		*hi = *lo;
		return 0;
	}
	len = (size_t)(dash - arg);
	if (len == 0 || len > 16 || parse_u64(arg, len, lo) == -1)
		return -1;
	if (dash[1] == '\0') {
		*hi = UINT64_MAX;
		return 0;
	}
	return session_parse_number(dash + 1, hi);
}

/* --- dispatch ----------------------------------------------------------- */

static const struct spool_group *
selected_group(struct session *s)
{
	const struct spool_group *g;

	if (s->group[0] == '\0')
		return NULL;
	if ((g = spool_group(s->sp, s->group)) == NULL) {
		/* Removed since it was selected. */
		s->group[0] = '\0';
		s->cur = 0;
	}
	return g;
}

/* Every generic check, then the handler (STYLE.md "Commands are data"). */
static int
session_exec(struct session *s, const struct cmd *c, int argc, char **argv)
{
	bool need_group = c->flags & CMD_NEED_GROUP;
	bool need_cur = c->flags & CMD_NEED_CURRENT;
	int i;

	s->cmd = c;
	if (argc < c->min_args || argc > c->max_args)
		return session_syntax(s);
	for (i = 0; i < argc; i++)
		if (strlen(argv[i]) > NNTP_ARG_MAX)
			return session_syntax(s);
	if ((c->flags & CMD_REFRESH) && !s->conf->server_refreshes) {
		if (spool_refresh(s->sp) == -1) {
			/* Serve what we have; spool.c has logged why. */
		}
	}
	if (c->spec >= 0) {
		if (argc <= c->spec)
			need_group = need_cur = true;
		else if (argv[c->spec][0] != '<')
			need_group = true;
	}
	s->g = selected_group(s);
	if (need_group && s->g == NULL) {
		session_reply(
		    s, NNTP_FAIL_NO_SELECTED, "No newsgroup selected");
		return 0;
	}
	if (need_cur && s->cur == 0) {
		session_reply(s, NNTP_FAIL_NO_CURRENT,
		    "Current article number is invalid");
		return 0;
	}
	return c->fn(s, argc, argv);
}

/* Split line (modified in place) into verb and arguments, run it. */
static int
dispatch(struct session *s, char *line, size_t len)
{
	char *argv[SESSION_ARGS_MAX + 1], *p = line, *verb = NULL;
	char raw[NNTP_LINE_MAX + 1];
	const struct cmd *c;
	int argc = -1, rc;
	size_t i;

	s->stats.commands++;
	s->cmd = NULL;
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)line[i];

		/* NUL, CR and other controls have no place in a command. */
		if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
			session_reply(
			    s, NNTP_ERR_SYNTAX, "Invalid character in command");
			return 0;
		}
	}
	line[len] = '\0';
	memcpy(raw, line, len + 1); /* the handler may want it unsplit */
	for (;;) {
		while (*p == ' ' || *p == '\t')
			*p++ = '\0';
		if (*p == '\0')
			break;
		if (argc == SESSION_ARGS_MAX) {
			session_reply(s, NNTP_ERR_SYNTAX, "Too many arguments");
			return 0;
		}
		if (argc == -1)
			verb = p;
		else
			argv[argc] = p;
		argc++;
		while (*p != '\0' && *p != ' ' && *p != '\t')
			p++;
	}
	if (verb == NULL) {
		session_reply(s, NNTP_ERR_COMMAND, "Empty command");
		return 0;
	}
	argv[argc] = NULL;
	if ((c = session_cmd_find(cmds, NG_NELEM(cmds), verb)) == NULL) {
		session_reply(s, NNTP_ERR_COMMAND, "Unknown command");
		return 0;
	}
	s->line = raw;
	rc = session_exec(s, c, argc, argv);
	s->line = NULL;
	if (c->fn == cmd_authinfo) {
		/* A password may have been in it. */
		explicit_bzero(raw, sizeof(raw));
		explicit_bzero(line, len);
		s->secret_seen = true;
	}
	return rc;
}

static void
line_too_long(struct session *s)
{
	s->stats.commands++;
	session_reply(
	    s, NNTP_ERR_SYNTAX, "Command line over %d octets", NNTP_LINE_MAX);
}

int
session_line(struct session *s, const char *line)
{
	char copy[NNTP_LINE_MAX + 1];
	size_t len = strlen(line);
	int rc = 0;

	if (s->closing)
		return -1;
	if (len > NNTP_LINE_MAX - 2) {
		line_too_long(s);
	} else {
		memcpy(copy, line, len + 1);
		rc = dispatch(s, copy, len);
	}
	if (rc == -1)
		s->closing = true;
	if (session_run(s) == -1)
		return -1;
	return rc;
}

/*
 * Process buffered input from *off: one line, or the start of an
 * over-long one. Returns false when no complete line is there.
 */
static bool
next_line(struct session *s, size_t *off)
{
	char line[NNTP_LINE_MAX + 1];
	const char *p = s->in.data + *off, *nl;
	size_t avail = s->in.len - *off, n;

	if ((nl = memchr(p, '\n', avail)) == NULL) {
		if (s->discarding || avail >= NNTP_LINE_MAX) {
			/* 512 octets and no LF yet: over-long, drop it. */
			s->discarding = true;
			*off = s->in.len;
		}
		return false;
	}
	n = (size_t)(nl - p) + 1;
	*off += n;
	if (s->discarding || n > NNTP_LINE_MAX) {
		s->discarding = false;
		line_too_long(s);
		return true;
	}
	n--;
	if (n > 0 && p[n - 1] == '\r')
		n--;
	memcpy(line, p, n);
	if (dispatch(s, line, n) == -1)
		s->closing = true;
	return true;
}

/* --- a POSTed article ----------------------------------------------------- */

static uint64_t
article_max(const struct session *s)
{
	return s->srv != NULL && s->srv->max_article_bytes > 0
	    ? s->srv->max_article_bytes
	    : SESSION_ARTICLE_MAX_DEFAULT;
}

/* Keep [p, p + n) of the article, unless it passed the ceiling. */
static void
article_keep(struct session *s, const char *p, size_t n)
{
	struct session_post *po = &s->post;

	if (po->too_big)
		return;
	if (po->art.len + n > article_max(s)) {
		/* Never hold more than the ceiling: drop it all now. */
		po->too_big = true;
		buf_free(&po->art);
		return;
	}
	buf_append(&po->art, p, n);
}

/* Would article_input() consume something of what is buffered? Only a
 * "." or ".\r" at the start of a line waits for more. */
static bool
article_can_progress(const struct session *s)
{
	const char *p = s->in.data;

	if (!s->post.bol || p[0] != '.')
		return true;
	if (s->in.len >= 3 || memchr(p, '\n', s->in.len) != NULL)
		return true;
	return s->in.len == 2 && p[1] != '\r';
}

/*
 * Take article data from *off: up to the end of one line, or all there
 * is. RFC 3977 §3.1.1: a line "." ends the article, and a leading "." of
 * any other line is a stuffed one, removed. Returns false when it needs
 * more input; true when it made progress (or the article is complete).
 */
static bool
article_input(struct session *s, size_t *off)
{
	struct session_post *po = &s->post;
	const char *p = s->in.data + *off, *nl;
	size_t avail = s->in.len - *off, n;

	if (avail == 0)
		return false;
	if (po->bol && p[0] == '.') {
		if (avail < 2 || (p[1] == '\r' && avail < 3))
			return false; /* cannot tell yet */
		if (p[1] == '\n' || (p[1] == '\r' && p[2] == '\n')) {
			*off += p[1] == '\n' ? 2 : 3;
			po->reading = false;
			session_post_article(s);
			return true;
		}
		p++, avail--, (*off)++; /* unstuff */
	}
	if ((nl = memchr(p, '\n', avail)) != NULL) {
		n = (size_t)(nl - p) + 1;
		po->bol = true;
	} else {
		n = avail;
		po->bol = false;
	}
	article_keep(s, p, n);
	*off += n;
	return true;
}

int
session_run(struct session *s)
{
	size_t off = 0;
	int r;

	for (;;) {
		if (s->out.err)
			break;
		if (s->gen != NULL) {
			if (session_out_full(s))
				break;
			if ((r = s->gen(s, s->gen_state)) == 1)
				continue;
			gen_end(s);
			if (r == -1)
				s->closing = true;
		}
		if (s->wait != SESSION_WAIT_NONE || s->closing)
			break;
		if (s->post.reading) {
			if (!article_input(s, &off))
				break;
			continue;
		}
		if (session_out_full(s) || off == s->in.len ||
		    !next_line(s, &off))
			break;
	}
	if (s->discard_input) {
		/* RFC 4642 §2.2.2: nothing sent before the handshake may
		 * count as sent under TLS. */
		s->discard_input = false;
		explicit_bzero(s->in.data, s->in.len);
		buf_reset(&s->in);
		off = 0;
	}
	if (off > 0) {
		if (s->secret_seen)
			explicit_bzero(s->in.data, off);
		buf_consume(&s->in, off);
	}
	if (s->closing)
		buf_reset(&s->in);
	if (s->out.err) {
		errno = s->out.err;
		return -1;
	}
	return 0;
}

int
session_input(struct session *s, const char *data, size_t len)
{
	if (s->closing)
		return 0;
	buf_append(&s->in, data, len);
	/* The server reads at most session_input_room(). */
	if (NG_NEVER(s->in.err != 0)) {
		errno = s->in.err;
		return -1;
	}
	return session_run(s);
}

size_t
session_input_room(const struct session *s)
{
	/* While the server works for us (and after STARTTLS, until the
	 * handshake), nothing more is read. */
	if (s->closing || s->wait != SESSION_WAIT_NONE)
		return 0;
	return SESSION_IN_MAX - s->in.len;
}

bool
session_pending(const struct session *s)
{
	/* A response in progress finishes even when closing. */
	if (s->gen != NULL)
		return true;
	if (s->closing || s->wait != SESSION_WAIT_NONE || s->in.len == 0)
		return false;
	if (s->post.reading)
		return article_can_progress(s);
	return memchr(s->in.data, '\n', s->in.len) != NULL;
}

/* --- answers from the server --------------------------------------------- */

void
session_post_done(struct session *s, int code, const char *text)
{
	assert(s->wait == SESSION_WAIT_POST);
	s->wait = SESSION_WAIT_NONE;
	if (code == NNTP_OK_POSTED)
		s->stats.posts++;
	else
		s->stats.errors++;
	session_reply(s, code, "%s", text);
}

void
session_auth_done(struct session *s, int code, const char *text, bool close)
{
	assert(s->wait == SESSION_WAIT_AUTH);
	s->wait = SESSION_WAIT_NONE;
	s->user_given = false;
	if (code == NNTP_OK_AUTH)
		s->authenticated = true;
	else
		s->stats.errors++;
	session_reply(s, code, "%s", text);
	if (close)
		s->closing = true;
}

void
session_tls_done(struct session *s)
{
	assert(s->wait == SESSION_WAIT_TLS);
	s->wait = SESSION_WAIT_NONE;
	s->tls = true;
	/* RFC 4642 §2.2.2: forget what the client said in plaintext. */
	s->user_given = false;
	s->user[0] = '\0';
	s->rfc3977 = false;
	s->group[0] = '\0';
	s->cur = 0;
}

/* --- policy -----------------------------------------------------------------
 */

bool
session_may_post(const struct session *s)
{
	const struct session_server *c = s->srv;

	if (!s->conf->posting || c == NULL || c->ops == NULL ||
	    c->ops->post == NULL)
		return false;
	switch (c->post_policy) {
	case SESSION_POST_ANYONE:
		return true;
	case SESSION_POST_LOOPBACK:
		return s->loopback || s->authenticated;
	case SESSION_POST_AUTHENTICATED:
		return s->authenticated;
	case SESSION_POST_NOBODY:
		break;
	}
	return false;
}

bool
session_auth_usable(const struct session *s)
{
	const struct session_server *c = s->srv;

	if (c == NULL || c->ops == NULL || c->ops->auth == NULL ||
	    s->authenticated)
		return false;
	if (s->tls)
		return true;
	switch (c->auth_plaintext) {
	case SESSION_PLAIN_YES:
		return true;
	case SESSION_PLAIN_LOOPBACK:
		return s->loopback;
	case SESSION_PLAIN_NO:
		break;
	}
	return false;
}

bool
session_tls_usable(const struct session *s)
{
	const struct session_server *c = s->srv;

	return c != NULL && c->tls && c->ops != NULL &&
	    c->ops->starttls != NULL && !s->tls && !s->authenticated;
}

static bool
avail_post(const struct session *s)
{
	return session_may_post(s);
}

/* RFC 4643 §2.2: not listed after success, nor where it cannot be used. */
static bool
avail_auth(const struct session *s)
{
	return session_auth_usable(s);
}

/* RFC 4642 §2.2.2: not listed once under TLS. */
static bool
avail_tls(const struct session *s)
{
	return session_tls_usable(s);
}

/* --- commands generated from the tables --------------------------------- */

/* RFC 3977 §5.2. VERSION first; the rest from the table. */
int
cmd_capabilities(struct session *s, int argc, char **argv)
{
	size_t i, j;

	s->rfc3977 = true;
	session_reply(s, NNTP_INFO_CAPABILITIES, "Capability list:");
	session_printf(s, "VERSION 2\r\n");
	for (i = 0; i < NG_NELEM(cmds); i++) {
		if (cmds[i].capability == NULL ||
		    (cmds[i].flags & CMD_HIDDEN) ||
		    (cmds[i].avail != NULL && !cmds[i].avail(s)))
			continue;
		session_printf(s, "%s", cmds[i].capability);
		if (cmds[i].fn == cmd_list)
			for (j = 0; j < NG_NELEM(list_cmds); j++)
				if (!(list_cmds[j].flags & CMD_HIDDEN))
					session_printf(
					    s, " %s", list_cmds[j].capability);
		session_printf(s, "\r\n");
	}
	session_printf(s, "IMPLEMENTATION newsgate 0.1\r\n");
	session_data_end(s);
	return 0;
}

/* RFC 3977 §7.2: free text; ours is every synopsis from the tables. */
int
cmd_help(struct session *s, int argc, char **argv)
{
	size_t i, j;

	session_reply(s, NNTP_INFO_HELP, "Legal commands");
	for (i = 0; i < NG_NELEM(cmds); i++) {
		if (cmds[i].fn != cmd_list) {
			session_printf(s, "  %s\r\n", cmds[i].help);
			continue;
		}
		for (j = 0; j < NG_NELEM(list_cmds); j++)
			session_printf(s, "  %s\r\n", list_cmds[j].help);
	}
	session_data_end(s);
	return 0;
}

/* RFC 3977 §7.6.1: LIST with no keyword is LIST ACTIVE; an unknown
 * keyword is 501. The keyword row gets the same generic checks. */
int
cmd_list(struct session *s, int argc, char **argv)
{
	const struct cmd *k;

	k = session_cmd_find(
	    list_cmds, NG_NELEM(list_cmds), argc > 0 ? argv[0] : "ACTIVE");
	if (k == NULL) {
		session_reply(s, NNTP_ERR_SYNTAX, "Unknown LIST keyword");
		return 0;
	}
	if (argc > 0)
		argc--, argv++;
	return session_exec(s, k, argc, argv);
}
