/*
 * cmd_post.c - POST (RFC 3977 §6.3.1): who may post, the 340 reply with
 * a Message-ID the client may use (INN does the same; tin copies it), and
 * what happens at the article's "." line: the checks an injecting agent
 * makes (RFC 5536, RFC 5537 §3.5), each refusal a 441 with a reason a
 * person understands, then the headers the injecting agent adds. The
 * article then goes to the server (session_ops.post), which puts it
 * through the import pipeline: parse, dedupe, thread, commit. There is no
 * other write path; this file never touches the spool but to look up
 * groups.
 *
 * SECURITY: the article is attacker-controlled. session.c holds at most
 * the configured max_article_bytes of it; article_parse() bounds lines
 * (998 octets), header fields (256) and refuses NUL. Header values quoted
 * back in a 441 are cut short and stripped of control characters.
 */
#include <sys/random.h>

#include "common.h"
#include "article.h"
#include "nntp.h"
#include "session.h"
#include "spool.h"

#define POST_QUOTE_MAX 80	/* octets of a client's value in a 441 */
#define POST_FUTURE_MAX_S 86400 /* RFC 5537 §3.5: Date at most this ahead */

/* A client's value, safe to quote in a reply line. */
static const char *
quote(const char *v, char *dst, size_t cap)
{
	size_t i;

	for (i = 0; v[i] != '\0' && i + 1 < cap && i < POST_QUOTE_MAX; i++)
		dst[i] =
		    (unsigned char)v[i] < 0x20 || v[i] == 0x7f ? '?' : v[i];
	dst[i] = '\0';
	return dst;
}

/* A fresh Message-ID for the 340 reply: seconds and 64 random bits. */
static void
offer_msgid(struct session *s)
{
	struct {
		uint64_t ms;
		const void *self;
	} seed = {now_ms(), s};
	uint64_t r;

	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
		r = hash64(&seed, sizeof(seed), (uint64_t)time(NULL));
	if (!str_printf(s->post.msgid, sizeof(s->post.msgid),
		"<%" PRIx64 ".%016" PRIx64 "@%s>", (uint64_t)time(NULL), r,
		s->conf->hostname) ||
	    !article_msgid_valid(s->post.msgid))
		(void)str_printf(s->post.msgid, sizeof(s->post.msgid),
		    "<%" PRIx64 ".%016" PRIx64 "@newsgate.invalid>",
		    (uint64_t)time(NULL), r);
}

/* The per-connection rate limit (GCRA): 0, or the ms until the next POST
 * is allowed. A burst of post_rate POSTs, then one per 60/post_rate s. */
static uint64_t
rate_wait_ms(struct session *s)
{
	uint64_t now = now_ms(), interval, tolerance, tat;

	uint32_t rate = s->srv != NULL ? s->srv->post_rate : 0;

	if (rate == 0)
		return 0;
	interval = 60000 / rate;
	if (interval == 0)
		interval = 1;
	tolerance = interval * (rate - 1);
	tat = s->post.tat_ms > now ? s->post.tat_ms : now;
	if (tat > now + tolerance)
		return tat - (now + tolerance);
	s->post.tat_ms = tat + interval;
	return 0;
}

/* RFC 3977 §6.3.1. */
int
cmd_post(struct session *s, int argc, char **argv)
{
	const struct session_server *c = s->srv;
	uint64_t wait_ms;

	if (!session_may_post(s)) {
		/* RFC 4643 §2.1: 480 when AUTHINFO would let it post. */
		if (s->conf->posting && c != NULL &&
		    c->post_policy != SESSION_POST_NOBODY && c->ops != NULL &&
		    c->ops->post != NULL && c->ops->auth != NULL &&
		    !s->authenticated) {
			s->stats.errors++;
			session_reply(s, NNTP_FAIL_AUTH_NEEDED,
			    "Authentication required for posting");
			return 0;
		}
		s->stats.errors++;
		session_reply(
		    s, NNTP_FAIL_POST_NOT_PERMITTED, "Posting not permitted");
		return 0;
	}
	if ((wait_ms = rate_wait_ms(s)) > 0) {
		s->stats.errors++;
		session_reply(s, NNTP_FAIL_POST_NOT_PERMITTED,
		    "Posting rate limit reached (%" PRIu32 " per minute): "
		    "try again in %" PRIu64 " s",
		    c->post_rate, (wait_ms + 999) / 1000);
		return 0;
	}
	offer_msgid(s);
	session_reply(
	    s, NNTP_CONT_POST, "Ok, recommended Message-ID %s", s->post.msgid);
	s->post.reading = true;
	s->post.bol = true;
	s->post.too_big = false;
	buf_free(&s->post.art);
	buf_init(&s->post.art, SIZE_MAX); /* session.c keeps the ceiling */
	return 0;
}

/* Every group of Newsgroups exists here and takes posts. */
static int
check_groups(struct session *s, const char *ng, struct buf *why)
{
	char name[SPOOL_GROUP_MAX + 1], q[POST_QUOTE_MAX + 1];
	const struct spool_group *g;
	const char *p = ng, *e;
	size_t len, n = 0;

	for (; *p != '\0'; p = e) {
		p += strspn(p, ", \t");
		e = p + strcspn(p, ", \t");
		if ((len = (size_t)(e - p)) == 0)
			continue;
		if (++n > SPOOL_XPOST_MAX) {
			buf_printf(why, "Too many newsgroups (max %d)",
			    SPOOL_XPOST_MAX);
			return -1;
		}
		if (len > SPOOL_GROUP_MAX) {
			buf_printf(why, "No such newsgroup: %s",
			    quote(p, q, sizeof(q)));
			return -1;
		}
		memcpy(name, p, len);
		name[len] = '\0';
		if (!spool_group_name_valid(name) ||
		    (g = spool_group(s->sp, name)) == NULL) {
			buf_printf(why, "No such newsgroup: %s",
			    quote(name, q, sizeof(q)));
			return -1;
		}
		/* The active flag (RFC 3977 §7.6.3): only 'y' takes posts. */
		if (g->flag == 'm') {
			buf_printf(why,
			    "%s is moderated and has no moderator here",
			    g->name);
			return -1;
		}
		if (g->flag != 'y') {
			buf_printf(why,
			    "Posting to %s is not allowed (read-only group)",
			    g->name);
			return -1;
		}
	}
	if (n == 0) {
		buf_puts(why, "Missing Newsgroups header");
		return -1;
	}
	return 0;
}

/* RFC 5536 §3.1 mandatory fields and RFC 5537 §3.5 (1)-(3). */
static int
check_article(struct session *s, const struct article *a, struct buf *why)
{
	char q[POST_QUOTE_MAX + 1];
	const char *v;
	time_t t;

	if ((v = article_get(a, "From")) == NULL || *v == '\0') {
		buf_puts(why, "Missing From header");
		return -1;
	}
	if (!article_from_valid(v)) {
		buf_puts(why, "From: has no address");
		return -1;
	}
	if ((v = article_get(a, "Subject")) == NULL || *v == '\0') {
		buf_puts(why, "Missing Subject header");
		return -1;
	}
	if ((v = article_get(a, "Newsgroups")) == NULL) {
		buf_puts(why, "Missing Newsgroups header");
		return -1;
	}
	if (check_groups(s, v, why) == -1)
		return -1;
	if ((v = article_get(a, "Message-ID")) != NULL &&
	    !article_msgid_valid(v)) {
		buf_printf(
		    why, "Invalid Message-ID: %s", quote(v, q, sizeof(q)));
		return -1;
	}
	if ((v = article_get(a, "Date")) != NULL) {
		if ((t = article_parse_date(v)) == (time_t)-1) {
			buf_printf(why, "Unparseable Date header: %s",
			    quote(v, q, sizeof(q)));
			return -1;
		}
		if (t > time(NULL) + POST_FUTURE_MAX_S) {
			buf_puts(why,
			    "Date header is more than a day in the "
			    "future");
			return -1;
		}
	}
	/* §3.5 (1): an article that was injected already is refused. */
	if (article_get(a, "Injection-Info") != NULL) {
		buf_puts(why,
		    "Article was already injected (it has an "
		    "Injection-Info header)");
		return -1;
	}
	if (article_get(a, "Control") != NULL ||
	    article_get(a, "Also-Control") != NULL) {
		buf_puts(why, "Control messages are not accepted here");
		return -1;
	}
	return 0;
}

/* Append v as an RFC 2045 quoted-string value. */
static void
put_quoted(struct buf *b, const char *v)
{
	buf_putc(b, '"');
	for (; *v != '\0'; v++) {
		if (*v == '"' || *v == '\\')
			buf_putc(b, '\\');
		buf_putc(b, *v);
	}
	buf_putc(b, '"');
}

/*
 * What the injecting agent adds (RFC 5537 §3.5): Message-ID (the one
 * offered in the 340 reply) and Date when missing, Injection-Date unless
 * the poster set one (a delayed posting, §3.4), Injection-Info, and
 * ".POSTED" on the Path (the pipeline puts our path identity in front).
 * Xref and Lines are the spool's.
 */
static void
inject(struct session *s, struct article *a)
{
	struct buf b = BUF_INIT(SIZE_MAX);
	char date[64];
	const char *v;

	article_format_date(time(NULL), date, sizeof(date));
	if (article_get(a, "Message-ID") == NULL)
		article_set(a, "Message-ID", s->post.msgid);
	if (article_get(a, "Date") == NULL)
		article_set(a, "Date", date);
	if (article_get(a, "Injection-Date") == NULL)
		article_set(a, "Injection-Date", date);
	buf_puts(&b, s->conf->hostname);
	if (s->peer[0] != '\0') {
		buf_puts(&b, "; posting-host=");
		put_quoted(&b, s->peer);
	}
	if (s->authenticated && s->user[0] != '\0') {
		buf_puts(&b, "; posting-account=");
		put_quoted(&b, s->user);
	}
	article_set(a, "Injection-Info", buf_cstr(&b));
	buf_reset(&b);
	/* §3.2.1: "!.POSTED", with the client's address when it fits the
	 * path syntax; then what the poster had (tin: "not-for-mail"). */
	buf_puts(&b, ".POSTED");
	if (s->peer[0] != '\0' && strchr(s->peer, ':') == NULL)
		buf_printf(&b, ".%s", s->peer);
	v = article_get(a, "Path");
	buf_printf(&b, "!%s", v != NULL && *v != '\0' ? v : "not-for-mail");
	article_del(a, "Path");
	article_prepend(a, "Path", buf_cstr(&b));
	buf_free(&b);
}

/* Does the article have the empty line after its headers? */
static bool
has_body_separator(const struct buf *art)
{
	const char *p = art->data;

	if (p[0] == '\n' || (p[0] == '\r' && art->len > 1 && p[1] == '\n'))
		return true;
	return memmem(p, art->len, "\n\n", 2) != NULL ||
	    memmem(p, art->len, "\n\r\n", 3) != NULL;
}

void
session_post_article(struct session *s)
{
	struct session_post *po = &s->post;
	struct buf why = BUF_INIT(1024);
	char msgid[NNTP_MSGID_MAX + 1];
	struct article *a = NULL;

	if (po->too_big) {
		buf_printf(&why, "Article too large (max %" PRIu64 " bytes)",
		    s->srv->max_article_bytes ? s->srv->max_article_bytes
					      : SESSION_ARTICLE_MAX_DEFAULT);
		goto refuse;
	}
	if (po->art.len == 0) {
		buf_puts(&why, "Empty article");
		goto refuse;
	}
	/* RFC 5322 §3.5: the body is optional, and so the empty line. */
	if (!has_body_separator(&po->art))
		buf_append(&po->art, "\r\n", 2);
	if (article_parse(po->art.data, po->art.len, &a, &why) == -1)
		goto refuse;
	buf_free(&po->art);
	if (check_article(s, a, &why) == -1)
		goto refuse;
	inject(s, a);
	(void)str_copy(msgid, sizeof(msgid), article_get(a, "Message-ID"));
	s->wait = SESSION_WAIT_POST;
	/* The parsed article itself: the server does not parse it again. */
	s->srv->ops->post(s->srv->ops_arg, s, a, msgid);
	buf_free(&why);
	return;
refuse:
	article_free(a);
	buf_free(&po->art);
	s->stats.errors++;
	session_reply(s, NNTP_FAIL_POST, "%s", buf_cstr(&why));
	buf_free(&why);
}
