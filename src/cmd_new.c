/*
 * cmd_new.c - NEWNEWS (RFC 3977 §7.4) and the date/time argument parser
 * it shares with NEWGROUPS (RFC 3977 §7.3.2).
 *
 * NEWNEWS walks the history from the requested time through
 * spool_history_since(), streaming as the output queue drains. The
 * history is append-only in arrival order, so the resume point is an
 * arrival time plus how many entries of that second were already seen.
 */
#include "common.h"
#include "nntp.h"
#include "session.h"
#include "spool.h"
#include "wildmat.h"

static bool
digits(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return s[n] == '\0';
}

static int
two(const char *s)
{
	return (s[0] - '0') * 10 + (s[1] - '0');
}

int
session_parse_datetime(
    const char *date, const char *tm_arg, const char *gmt, time_t *out)
{
	static const int mdays[] = {
	    31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	struct tm tm, now;
	time_t t = time(NULL);
	size_t dlen = strlen(date);
	int year;

	if (gmt != NULL && strcasecmp(gmt, "GMT") != 0)
		return -1;
	if ((dlen != 6 && dlen != 8) || !digits(date, dlen) ||
	    !digits(tm_arg, 6))
		return -1;
	if (dlen == 8) {
		year = two(date) * 100 + two(date + 2);
		date += 4;
	} else {
		/* RFC 3977 §7.3.2: the current century unless that puts
		 * the year in the future, then the previous one. */
		if (gmtime_r(&t, &now) == NULL)
			return -1;
		year = (now.tm_year + 1900) / 100 * 100 + two(date);
		if (year > now.tm_year + 1900)
			year -= 100;
		date += 2;
	}
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = year - 1900;
	tm.tm_mon = two(date) - 1;
	tm.tm_mday = two(date + 2);
	tm.tm_hour = two(tm_arg);
	tm.tm_min = two(tm_arg + 2);
	tm.tm_sec = two(tm_arg + 4);
	if (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 ||
	    tm.tm_mday > mdays[tm.tm_mon] || tm.tm_hour > 23 ||
	    tm.tm_min > 59 || tm.tm_sec > 60)
		return -1;
	if (gmt != NULL) {
		t = timegm(&tm);
	} else {
		tm.tm_isdst = -1;
		t = mktime(&tm);
	}
	if (t == (time_t)-1)
		return -1;
	*out = t;
	return 0;
}

struct newnews_gen {
	char pattern[NNTP_LINE_MAX + 1]; /* wildmat over group names */
	bool all;			 /* pattern is "*" */
	time_t t;			 /* resume: arrival time */
	uint64_t n;			 /* entries of time t already seen */
	uint64_t skip;			 /* left to skip in this pass */
};

/* Is any group of "group:num[ group:num...]" matched by the wildmat? */
static bool
location_matches(const struct newnews_gen *st, const char *loc)
{
	char group[SPOOL_GROUP_MAX + 1];
	const char *p = loc, *end, *colon;
	size_t len;

	while (*p != '\0') {
		end = p + strcspn(p, " ");
		for (colon = end; colon > p && colon[-1] != ':'; colon--)
			;
		if (colon > p) {
			len = (size_t)(colon - 1 - p);
			if (len > 0 && len < sizeof(group)) {
				memcpy(group, p, len);
				group[len] = '\0';
				if (wildmat_match(st->pattern, group))
					return true;
			}
		}
		p = *end ? end + 1 : end;
	}
	return false;
}

static int
newnews_ent(void *arg, const struct spool_hist *h)
{
	struct session *s = arg;
	struct newnews_gen *st = s->gen_state;

	if (st->skip > 0 && h->arrival == st->t) {
		st->skip--;
		return 0;
	}
	st->skip = 0;
	if (session_out_full(s))
		return 1;
	if (h->location[0] != '\0' &&
	    (st->all || location_matches(st, h->location)))
		session_data(s, h->msgid, strlen(h->msgid));
	if (h->arrival == st->t) {
		st->n++;
	} else {
		st->t = h->arrival;
		st->n = 1;
	}
	return 0;
}

static int
newnews_run(struct session *s, void *arg)
{
	struct newnews_gen *st = arg;
	int rc;

	st->skip = st->n;
	rc = spool_history_since(s->sp, st->t, newnews_ent, s);
	if (rc == 1)
		return 1;
	if (rc == -1) {
		log_warn("newnews: history");
		return -1; /* the 230 went out */
	}
	session_data_end(s);
	return 0;
}

/* RFC 3977 §7.4: NEWNEWS wildmat date time [GMT]. */
int
cmd_newnews(struct session *s, int argc, char **argv)
{
	struct newnews_gen *st;
	time_t since;

	if (!wildmat_valid(argv[0]) ||
	    session_parse_datetime(
		argv[1], argv[2], argc > 3 ? argv[3] : NULL, &since) == -1)
		return session_syntax(s);
	st = xcalloc(1, sizeof(*st));
	if (!str_copy(st->pattern, sizeof(st->pattern), argv[0])) {
		free(st);
		return session_syntax(s);
	}
	st->all = strcmp(argv[0], "*") == 0;
	st->t = since;
	session_reply(s, NNTP_OK_NEWNEWS, "List of new articles follows");
	session_gen_start(s, newnews_run, st, free);
	return 0;
}
