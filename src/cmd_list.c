/*
 * cmd_list.c - the LIST keywords (RFC 3977 §7.6, RFC 6048) and NEWGROUPS
 * (RFC 3977 §7.3), which is a LIST ACTIVE filtered by creation time.
 *
 * Group lists are streamed as the output queue drains. Between steps the
 * spool may be refreshed by another session's command, which replaces
 * the group array, so the cursor is the last name sent, never a pointer
 * or an index.
 */
#include "common.h"
#include "nntp.h"
#include "session.h"
#include "spool.h"
#include "wildmat.h"

enum groups_kind {
	GROUPS_ACTIVE,	   /* group high low status */
	GROUPS_TIMES,	   /* group created creator */
	GROUPS_COUNTS,	   /* group high low count status (RFC 6048) */
	GROUPS_NEWSGROUPS, /* group<TAB>description */
	GROUPS_NEW,	   /* NEWGROUPS: active form, created >= since */
};

struct groups_gen {
	enum groups_kind kind;
	char pattern[NNTP_LINE_MAX + 1]; /* wildmat; "" for every group */
	time_t since;			 /* GROUPS_NEW */
	char last[SPOOL_GROUP_MAX + 1];	 /* last name looked at */
	bool started;			 /* last is meaningful */
};

/* One group's line, when it passes the filters. */
static void
groups_line(
    struct session *s, const struct groups_gen *st, const struct spool_group *g)
{
	if (st->pattern[0] != '\0' && !wildmat_match(st->pattern, g->name))
		return;
	switch (st->kind) {
	case GROUPS_NEW:
		if (g->created < st->since)
			return;
		/* FALLTHROUGH */
	case GROUPS_ACTIVE:
		session_printf(s, "%s %" PRIu64 " %" PRIu64 " %c\r\n", g->name,
		    g->high, g->low, g->flag);
		break;
	case GROUPS_TIMES:
		session_printf(s, "%s %lld %s\r\n", g->name,
		    (long long)g->created,
		    g->creator && g->creator[0] ? g->creator : "unknown");
		break;
	case GROUPS_COUNTS:
		session_printf(s,
		    "%s %" PRIu64 " %" PRIu64 " %" PRIu64 " %c\r\n", g->name,
		    g->high, g->low, session_group_count(g), g->flag);
		break;
	case GROUPS_NEWSGROUPS:
		/* RFC 3977 §7.6.6: groups without a description may be
		 * left out. */
		if (g->description && g->description[0])
			session_printf(
			    s, "%s\t%s\r\n", g->name, g->description);
		break;
	}
}

static int
groups_run(struct session *s, void *arg)
{
	struct groups_gen *st = arg;
	const struct spool_group *gs;
	size_t n, lo = 0, hi, mid;

	gs = spool_groups(s->sp, &n);
	if (st->started) {
		/* First group after the last one looked at (sorted). */
		hi = n;
		while (lo < hi) {
			mid = lo + (hi - lo) / 2;
			if (strcmp(gs[mid].name, st->last) <= 0)
				lo = mid + 1;
			else
				hi = mid;
		}
	}
	for (; lo < n; lo++) {
		groups_line(s, st, &gs[lo]);
		if (session_out_full(s)) {
			memcpy(st->last, gs[lo].name, sizeof(st->last));
			st->started = true;
			return 1;
		}
	}
	session_data_end(s);
	return 0;
}

/* The status line, then the list (one line at once for a plain name). */
static int
groups_start(
    struct session *s, enum groups_kind kind, const char *pattern, time_t since)
{
	struct groups_gen *st;
	const struct spool_group *g;

	if (pattern && !wildmat_valid(pattern))
		return session_syntax(s);
	switch (kind) {
	case GROUPS_ACTIVE:
		session_reply(s, NNTP_OK_LIST,
		    "Newsgroups in form \"group high low status\"");
		break;
	case GROUPS_TIMES:
		session_reply(s, NNTP_OK_LIST,
		    "Newsgroup creation times in form \"group time who\"");
		break;
	case GROUPS_COUNTS:
		session_reply(s, NNTP_OK_LIST,
		    "Newsgroups in form \"group high low count status\"");
		break;
	case GROUPS_NEWSGROUPS:
		session_reply(s, NNTP_OK_LIST,
		    "Newsgroup descriptions in form \"group description\"");
		break;
	case GROUPS_NEW:
		session_reply(s, NNTP_OK_NEWGROUPS, "New newsgroups follow");
		break;
	}
	st = xcalloc(1, sizeof(*st));
	st->kind = kind;
	st->since = since;
	if (pattern && strcmp(pattern, "*") != 0 &&
	    NG_NEVER(!str_copy(st->pattern, sizeof(st->pattern), pattern)))
		st->pattern[0] = '\0'; /* cannot happen: a command line */
	if (pattern && wildmat_is_literal(pattern)) {
		/* A single name: look it up, do not walk the list. */
		if (spool_group_name_valid(pattern) &&
		    (g = spool_group(s->sp, pattern)) != NULL)
			groups_line(s, st, g);
		session_data_end(s);
		free(st);
		return 0;
	}
	session_gen_start(s, groups_run, st, free);
	return 0;
}

int
cmd_list_active(struct session *s, int argc, char **argv)
{
	return groups_start(s, GROUPS_ACTIVE, argc ? argv[0] : NULL, 0);
}

int
cmd_list_active_times(struct session *s, int argc, char **argv)
{
	return groups_start(s, GROUPS_TIMES, argc ? argv[0] : NULL, 0);
}

int
cmd_list_counts(struct session *s, int argc, char **argv)
{
	return groups_start(s, GROUPS_COUNTS, argc ? argv[0] : NULL, 0);
}

int
cmd_list_newsgroups(struct session *s, int argc, char **argv)
{
	return groups_start(s, GROUPS_NEWSGROUPS, argc ? argv[0] : NULL, 0);
}

/* RFC 3977 §7.3: NEWGROUPS date time [GMT]. */
int
cmd_newgroups(struct session *s, int argc, char **argv)
{
	time_t since;

	if (session_parse_datetime(
		argv[0], argv[1], argc > 2 ? argv[2] : NULL, &since) == -1)
		return session_syntax(s);
	return groups_start(s, GROUPS_NEW, NULL, since);
}

/*
 * RFC 3977 §8.4. slrn uses overview only when the first seven lines are
 * the classic "Subject: ... Bytes: Lines:" (it matches them literally);
 * RFC 3977 clients expect ":bytes" and ":lines", which §8.4.2 says
 * servers SHOULD send. Like INN 2.8: the RFC 3977 form to clients that
 * sent CAPABILITIES (they are RFC 3977 clients), the classic form to the
 * rest. The data is the same either way. See docs/protocol.md.
 */
int
cmd_list_overview_fmt(struct session *s, int argc, char **argv)
{
	session_reply(s, NNTP_OK_LIST, "Order of fields in overview database");
	session_printf(s,
	    "Subject:\r\nFrom:\r\nDate:\r\nMessage-ID:\r\n"
	    "References:\r\n");
	if (s->rfc3977)
		session_printf(s, ":bytes\r\n:lines\r\n");
	else
		session_printf(s, "Bytes:\r\nLines:\r\n");
	session_printf(s, "Xref:full\r\n");
	session_data_end(s);
	return 0;
}

/* RFC 3977 §8.6: HDR takes any header (":") and two metadata items. */
int
cmd_list_headers(struct session *s, int argc, char **argv)
{
	if (argc == 1 && strcasecmp(argv[0], "MSGID") != 0 &&
	    strcasecmp(argv[0], "RANGE") != 0)
		return session_syntax(s);
	session_reply(s, NNTP_OK_LIST, "Headers and metadata items supported");
	session_printf(s, ":\r\n:bytes\r\n:lines\r\n");
	session_data_end(s);
	return 0;
}

/* RFC 6048 §2.3 (RFC 3977 §7.6.5): we keep no distribution patterns, an
 * empty list says so. */
int
cmd_list_distrib_pats(struct session *s, int argc, char **argv)
{
	session_reply(s, NNTP_OK_LIST,
	    "Default distributions in form \"weight:wildmat:value\"");
	session_data_end(s);
	return 0;
}

/* RFC 6048 §2.5: no message of the day; 503 as INN answers (tin asks). */
int
cmd_list_motd(struct session *s, int argc, char **argv)
{
	session_reply(
	    s, NNTP_ERR_UNAVAILABLE, "No message of the day available");
	return 0;
}

/*
 * RFC 6048 §2.6: recommended subscriptions. slrn --create subscribes to
 * these; we recommend none (the reader chooses from LIST), as INN does by
 * default.
 */
int
cmd_list_subscriptions(struct session *s, int argc, char **argv)
{
	if (argc == 1 && !wildmat_valid(argv[0]))
		return session_syntax(s);
	session_reply(
	    s, NNTP_OK_LIST, "Recommended subscriptions in form \"group\"");
	session_data_end(s);
	return 0;
}
