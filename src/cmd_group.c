/*
 * cmd_group.c - selecting a group and moving in it: GROUP, LISTGROUP,
 * LAST, NEXT (RFC 3977 §6.1). Every lookup by number goes through the
 * spool's per-group overview index (spool_over), never a scan of the
 * group; LISTGROUP streams its numbers as the output queue drains.
 */
#include "common.h"
#include "nntp.h"
#include "session.h"
#include "spool.h"

/* An unknown or invalid name is simply "no such group" (RFC 3977
 * §6.1.1.2); invalid names ("../x") never reach the spool. */
static const struct spool_group *
group_find(struct session *s, const char *name)
{
	const struct spool_group *g = NULL;

	if (spool_group_name_valid(name))
		g = spool_group(s->sp, name);
	if (g == NULL)
		session_reply(s, NNTP_FAIL_NO_GROUP, "No such newsgroup");
	return g;
}

static void
group_reply(struct session *s, const struct spool_group *g)
{
	/* RFC 3977 §6.1.1.2: an empty group is "0 high+1 high"; low is
	 * never 0. */
	uint64_t count = session_group_count(g);
	uint64_t low = count ? g->low : g->high + 1;

	session_reply(s, NNTP_OK_GROUP,
	    "%" PRIu64 " %" PRIu64 " %" PRIu64 " %s", count, low,
	    count ? g->high : low - 1, g->name);
}

int
cmd_group(struct session *s, int argc, char **argv)
{
	const struct spool_group *g;

	if ((g = group_find(s, argv[0])) == NULL)
		return 0;
	session_select(s, g);
	group_reply(s, g);
	return 0;
}

/* LISTGROUP's numbers: the cursor survives between steps. */
struct listgroup_gen {
	char group[SPOOL_GROUP_MAX + 1];
	uint64_t next; /* first number not yet looked at */
	uint64_t hi;   /* last number of the range */
};

static int
listgroup_line(void *arg, uint64_t num, const char *line, size_t len)
{
	struct session *s = arg;
	struct listgroup_gen *st = s->gen_state;

	session_printf(s, "%" PRIu64 "\r\n", num);
	st->next = num + 1;
	return session_out_full(s) ? 1 : 0;
}

static int
listgroup_run(struct session *s, void *arg)
{
	struct listgroup_gen *st = arg;
	int rc;

	if (st->next <= st->hi) {
		rc = spool_over(
		    s->sp, st->group, st->next, st->hi, listgroup_line, s);
		if (rc == 1)
			return 1;
		if (rc == -1 && errno != ENOENT) {
			log_warn("listgroup: overview of %s", st->group);
			return -1;
		}
	}
	session_data_end(s);
	return 0;
}

/*
 * RFC 3977 §6.1.2: LISTGROUP [group [range]] selects the group like GROUP
 * (with no group argument: the selected one, else 412), then lists the
 * numbers of the articles in the range (default: the whole group).
 */
int
cmd_listgroup(struct session *s, int argc, char **argv)
{
	const struct spool_group *g;
	struct listgroup_gen *st;
	uint64_t lo, hi;

	if (argc == 0) {
		if ((g = s->g) == NULL) {
			session_reply(
			    s, NNTP_FAIL_NO_SELECTED, "No newsgroup selected");
			return 0;
		}
	} else if ((g = group_find(s, argv[0])) == NULL) {
		return 0;
	}
	lo = g->low;
	hi = g->high;
	if (argc == 2 && session_parse_range(argv[1], &lo, &hi) == -1)
		return session_syntax(s);
	session_select(s, g);
	group_reply(s, g);
	st = xcalloc(1, sizeof(*st));
	memcpy(st->group, g->name, sizeof(st->group));
	st->next = lo > g->low ? lo : g->low;
	st->hi = hi < g->high ? hi : g->high;
	session_gen_start(s, listgroup_run, st, free);
	return 0;
}

/* The first article found by spool_over, with its message-id. */
struct found {
	uint64_t num; /* 0: none */
	char msgid[NNTP_MSGID_MAX + 1];
	bool stop_at_first; /* NEXT: the first; LAST: the last */
};

static int
found_line(void *arg, uint64_t num, const char *line, size_t len)
{
	struct found *f = arg;
	struct str id;

	f->num = num;
	if (session_over_field(line, len, OVER_MSGID, &id) &&
	    id.len < sizeof(f->msgid)) {
		memcpy(f->msgid, id.p, id.len);
		f->msgid[id.len] = '\0';
	} else {
		memcpy(f->msgid, "<0>", 4);
	}
	return f->stop_at_first ? 1 : 0;
}

static int
moved(struct session *s, const struct found *f)
{
	s->cur = f->num;
	session_reply(
	    s, NNTP_OK_STAT, "%" PRIu64 " %s Article found", f->num, f->msgid);
	return 0;
}

/* RFC 3977 §6.1.4 (errata 2003): the next article after the current. */
int
cmd_next(struct session *s, int argc, char **argv)
{
	struct found f = {0, "", true};

	if (s->cur < s->g->high &&
	    spool_over(s->sp, s->group, s->cur + 1, s->g->high, found_line,
		&f) == -1 &&
	    errno != ENOENT) {
		session_reply(
		    s, NNTP_FAIL_INTERNAL, "Cannot read the overview");
		return 0;
	}
	if (f.num == 0) {
		session_reply(
		    s, NNTP_FAIL_NO_NEXT, "No next article in this group");
		return 0;
	}
	return moved(s, &f);
}

/*
 * RFC 3977 §6.1.3: the previous article. The index only runs forward, so
 * look back through windows that grow 8-fold: a gap of any size costs a
 * handful of index lookups, never a scan of the group.
 */
int
cmd_last(struct session *s, int argc, char **argv)
{
	struct found f = {0, "", false};
	uint64_t hi, lo, window = 64;

	hi = s->cur - 1;
	if (hi > s->g->high)
		hi = s->g->high;
	while (s->cur > s->g->low && hi >= s->g->low && f.num == 0) {
		lo = hi - s->g->low + 1 > window ? hi - window + 1 : s->g->low;
		if (spool_over(s->sp, s->group, lo, hi, found_line, &f) == -1 &&
		    errno != ENOENT) {
			session_reply(
			    s, NNTP_FAIL_INTERNAL, "Cannot read the overview");
			return 0;
		}
		if (lo == s->g->low)
			break;
		hi = lo - 1;
		if (window < UINT64_MAX / 8)
			window *= 8;
	}
	if (f.num == 0) {
		session_reply(
		    s, NNTP_FAIL_NO_PREV, "No previous article in this group");
		return 0;
	}
	return moved(s, &f);
}
