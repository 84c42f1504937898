/*
 * cmd_info.c - the commands about the session itself: DATE, MODE READER,
 * QUIT (RFC 3977 §7.1, §5.3, §5.4). No spool access.
 */
#include "common.h"
#include "nntp.h"
#include "session.h"

/* RFC 3977 §7.1: 111 yyyymmddhhmmss, in UTC. */
int
cmd_date(struct session *s, int argc, char **argv)
{
	char stamp[32];
	time_t t = time(NULL);
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(stamp, sizeof(stamp), "%Y%m%d%H%M%S", &tm) == 0) {
		session_reply(s, NNTP_FAIL_INTERNAL, "Clock unavailable");
		return 0;
	}
	session_reply(s, NNTP_INFO_DATE, "%s", stamp);
	return 0;
}

/*
 * RFC 3977 §5.3: we are not a mode-switching server, so MODE READER just
 * says whether this client may post now (200/201), as the greeting did,
 * never 501: Thunderbird and slrn send it first on every connection.
 * After AUTHINFO the answer may change (RFC 4643 §2.2).
 */
int
cmd_mode(struct session *s, int argc, char **argv)
{
	if (strcasecmp(argv[0], "READER") != 0)
		return session_syntax(s);
	if (session_may_post(s))
		session_reply(s, NNTP_OK_BANNER_POST, "Posting allowed");
	else
		session_reply(s, NNTP_OK_BANNER_NOPOST, "Posting prohibited");
	return 0;
}

/* RFC 3977 §5.4. */
int
cmd_quit(struct session *s, int argc, char **argv)
{
	session_reply(s, NNTP_OK_QUIT, "Bye");
	return -1;
}
