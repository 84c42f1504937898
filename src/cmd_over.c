/*
 * cmd_over.c - overview and header retrieval: OVER and XOVER (RFC 3977
 * §8.3, RFC 2980 §2.8), HDR (RFC 3977 §8.5), XHDR and XPAT (RFC 2980
 * §2.6, §2.9).
 *
 * Ranges are read through the spool's per-group index and streamed as
 * the output queue drains (a 100,000-line OVER never sits in memory).
 * Header values come from the overview when the field is one of its
 * columns, else from each article's header block.
 */
#include "common.h"
#include "buf.h"
#include "nntp.h"
#include "session.h"
#include "spool.h"
#include "wildmat.h"

#define HDR_BATCH 64 /* article numbers collected per index lookup */

/* --- OVER / XOVER -------------------------------------------------------- */

struct over_gen {
	char group[SPOOL_GROUP_MAX + 1];
	uint64_t next; /* first number not yet looked at */
	uint64_t hi;   /* last number of the range */
	bool current;  /* the form without argument: 420, not 423 */
	bool any;      /* the 224 line went out */
};

static int
over_line(void *arg, uint64_t num, const char *line, size_t len)
{
	struct session *s = arg;
	struct over_gen *st = s->gen_state;

	if (!st->any) {
		session_reply(s, NNTP_OK_OVER, "Overview information follows");
		st->any = true;
	}
	session_data(s, line, len);
	st->next = num + 1;
	return session_out_full(s) ? 1 : 0;
}

static int
over_run(struct session *s, void *arg)
{
	struct over_gen *st = arg;
	int rc;

	if (st->next <= st->hi) {
		rc = spool_over(
		    s->sp, st->group, st->next, st->hi, over_line, s);
		if (rc == 1)
			return 1;
		if (rc == -1 && errno != ENOENT) {
			log_warn("over: overview of %s", st->group);
			if (st->any)
				return -1; /* cannot take back the 224 */
			session_reply(
			    s, NNTP_FAIL_INTERNAL, "Cannot read the overview");
			return 0;
		}
	}
	if (st->any)
		session_data_end(s);
	else if (st->current)
		session_reply(s, NNTP_FAIL_NO_CURRENT,
		    "Current article number is invalid");
	else
		session_reply(
		    s, NNTP_FAIL_NO_ARTNUM, "No articles in that range");
	return 0;
}

/* OVER <message-id>: one line, its number field 0 (RFC 3977 §8.3.2). */
static int
over_msgid(struct session *s, const char *msgid)
{
	struct buf line = BUF_INIT(SIZE_MAX);
	struct spool_loc loc;
	struct str f;

	if (!session_is_msgid(msgid))
		return session_syntax(s);
	if (spool_lookup(s->sp, msgid, &loc) == -1 ||
	    spool_over_one(s->sp, loc.group, loc.num, &line) == -1) {
		session_reply(
		    s, NNTP_FAIL_NO_MSGID, "No article with that message-id");
		buf_free(&line);
		return 0;
	}
	session_over_field(line.data, line.len, OVER_NUM, &f);
	session_reply(s, NNTP_OK_OVER, "Overview information follows");
	session_write(s, "0", 1);
	session_write(s, f.p + f.len, line.len - f.len);
	session_write(s, "\r\n", 2);
	session_data_end(s);
	buf_free(&line);
	return 0;
}

/*
 * OVER [range|message-id], and XOVER [range]: RFC 3977 §8.3.2. The
 * dispatcher answered 412 outside a group (slrn and tin probe XOVER that
 * way) and 420 without a current article.
 */
int
cmd_over(struct session *s, int argc, char **argv)
{
	struct over_gen *st;
	uint64_t lo, hi;

	if (argc == 1 && argv[0][0] == '<')
		return over_msgid(s, argv[0]);
	if (argc == 0) {
		lo = hi = s->cur;
	} else if (session_parse_range(argv[0], &lo, &hi) == -1) {
		return session_syntax(s);
	}
	st = xcalloc(1, sizeof(*st));
	memcpy(st->group, s->group, sizeof(st->group));
	st->next = lo > s->g->low ? lo : s->g->low;
	st->hi = hi < s->g->high ? hi : s->g->high;
	st->current = argc == 0;
	session_gen_start(s, over_run, st, free);
	return 0;
}

/* --- HDR / XHDR / XPAT --------------------------------------------------- */

enum hdr_kind {
	HDR_RFC3977, /* HDR: 225, "0 value" by message-id, empty if absent */
	HDR_XHDR,    /* XHDR: 221, "<id> value" by message-id, "(none)" */
	HDR_XPAT,    /* XPAT: 221, only the lines whose value matches */
};

struct hdr_gen {
	enum hdr_kind kind;
	char group[SPOOL_GROUP_MAX + 1];
	char name[NNTP_ARG_MAX + 1];	 /* header or metadata name */
	char pattern[NNTP_LINE_MAX + 1]; /* XPAT: the patterns, joined */
	int field;			 /* overview column, or -1 */
	uint64_t next;			 /* first number not looked at */
	uint64_t hi;			 /* last number of the range */
	bool current;			 /* form without range: 420 */
	bool any;			 /* the status line went out */
	bool done;			 /* the range is exhausted */
	uint64_t nums[HDR_BATCH];	 /* articles to read the header of */
	size_t nnums, inum;
	struct buf val; /* scratch: one value */
};

/* The overview column holding a header (RFC 3977 §8.4 names), or -1. */
static int
hdr_column(const char *name)
{
	static const struct {
		const char *name;
		int field;
	} map[] = {
	    {"Subject", OVER_SUBJECT},
	    {"From", OVER_FROM},
	    {"Date", OVER_DATE},
	    {"Message-ID", OVER_MSGID},
	    {"References", OVER_REFERENCES},
	    {":bytes", OVER_BYTES},
	    {":lines", OVER_LINES},
	    {"Xref", OVER_XREF},
	};
	size_t i;

	for (i = 0; i < NG_NELEM(map); i++)
		if (strcasecmp(name, map[i].name) == 0)
			return map[i].field;
	return -1;
}

static void
hdr_status(struct session *s, struct hdr_gen *st)
{
	if (st->any)
		return;
	st->any = true;
	if (st->kind == HDR_RFC3977)
		session_reply(s, NNTP_OK_HDR, "Headers follow");
	else
		session_reply(s, NNTP_OK_XHDR, "%s header follows", st->name);
}

/* One result line; id is the message-id for that form, else NULL. */
static void
hdr_emit(struct session *s, struct hdr_gen *st, uint64_t num, const char *id,
    const char *v, size_t len)
{
	hdr_status(s, st);
	if (st->kind == HDR_XPAT) {
		buf_reset(&st->val);
		buf_append(&st->val, v, len);
		if (!wildmat_match(st->pattern, buf_cstr(&st->val)))
			return;
	}
	if (id == NULL)
		session_printf(s, "%" PRIu64 " ", num);
	else if (st->kind == HDR_RFC3977)
		session_write(s, "0 ", 2);
	else
		session_printf(s, "%s ", id);
	if (len == 0 && st->kind == HDR_XHDR)
		session_write(s, "(none)", 6);
	else
		session_write(s, v, len);
	session_write(s, "\r\n", 2);
}

/* The value of column field in an overview line (Xref without its
 * "Xref: " label, as in the header). */
static struct str
hdr_from_over(const char *line, size_t len, int field)
{
	struct str f = {"", 0};

	if (!session_over_field(line, len, field, &f))
		return (struct str){"", 0};
	if (field == OVER_XREF && f.len >= 5 &&
	    strncasecmp(f.p, "Xref:", 5) == 0) {
		f.p += 5, f.len -= 5;
		while (f.len > 0 && *f.p == ' ')
			f.p++, f.len--;
	}
	return f;
}

static int
hdr_line(void *arg, uint64_t num, const char *line, size_t len)
{
	struct session *s = arg;
	struct hdr_gen *st = s->gen_state;
	struct str f;

	st->next = num + 1;
	if (st->field >= 0) {
		f = hdr_from_over(line, len, st->field);
		hdr_emit(s, st, num, NULL, f.p, f.len);
		return session_out_full(s) ? 1 : 0;
	}
	/* Read the files outside the callback: collect a batch. */
	st->nums[st->nnums++] = num;
	return st->nnums == HDR_BATCH ? 1 : 0;
}

static int
hdr_run(struct session *s, void *arg)
{
	struct hdr_gen *st = arg;
	uint64_t num;
	int rc;

	for (;;) {
		while (st->inum < st->nnums) {
			if (session_out_full(s))
				return 1;
			num = st->nums[st->inum++];
			rc = session_article_header(
			    s->sp, st->group, num, st->name, &st->val);
			if (rc == -1)
				continue; /* gone since the index said so */
			hdr_emit(s, st, num, NULL,
			    st->val.data ? st->val.data : "", st->val.len);
		}
		st->nnums = st->inum = 0;
		if (session_out_full(s))
			return 1;
		if (st->done || st->next > st->hi)
			break;
		rc =
		    spool_over(s->sp, st->group, st->next, st->hi, hdr_line, s);
		if (rc == -1 && errno != ENOENT) {
			log_warn("hdr: overview of %s", st->group);
			if (st->any)
				return -1;
			session_reply(
			    s, NNTP_FAIL_INTERNAL, "Cannot read the overview");
			return 0;
		}
		if (rc != 1)
			st->done = true; /* the index has no more */
	}
	if (st->any)
		session_data_end(s);
	else if (st->current)
		session_reply(s, NNTP_FAIL_NO_CURRENT,
		    "Current article number is invalid");
	else
		session_reply(
		    s, NNTP_FAIL_NO_ARTNUM, "No articles in that range");
	return 0;
}

static void
hdr_gen_free(void *arg)
{
	struct hdr_gen *st = arg;

	buf_free(&st->val);
	free(st);
}

/* The message-id form: one line. */
static int
hdr_msgid(struct session *s, struct hdr_gen *st, const char *msgid)
{
	struct buf line = BUF_INIT(SIZE_MAX);
	struct spool_loc loc;
	struct str f;
	int rc = -1;

	if (!session_is_msgid(msgid))
		return session_syntax(s);
	if (spool_lookup(s->sp, msgid, &loc) == 0) {
		if (st->field >= 0) {
			rc = spool_over_one(s->sp, loc.group, loc.num, &line);
			if (rc == 0) {
				f = hdr_from_over(
				    line.data, line.len, st->field);
				hdr_emit(s, st, 0, msgid, f.p, f.len);
			}
		} else if ((rc = session_article_header(s->sp, loc.group,
				loc.num, st->name, &st->val)) != -1) {
			hdr_emit(s, st, 0, msgid,
			    st->val.data ? st->val.data : "", st->val.len);
			rc = 0;
		}
	}
	if (rc == -1)
		session_reply(
		    s, NNTP_FAIL_NO_MSGID, "No article with that message-id");
	else
		session_data_end(s);
	buf_free(&line);
	return 0;
}

/* argv: header [range|message-id] [XPAT patterns...]. */
static int
hdr_start(struct session *s, int argc, char **argv, enum hdr_kind kind)
{
	struct hdr_gen *st;
	uint64_t lo, hi;
	int i, rc;

	if (argv[0][0] == ':' && hdr_column(argv[0]) == -1) {
		/* RFC 3977 §8.5.2: metadata we do not have (LIST HEADERS
		 * names :bytes and :lines only). */
		session_reply(s, NNTP_ERR_UNAVAILABLE, "No such metadata item");
		return 0;
	}
	if (argc >= 2 && argv[1][0] != '<' &&
	    session_parse_range(argv[1], &lo, &hi) == -1)
		return session_syntax(s);
	st = xcalloc(1, sizeof(*st));
	st->kind = kind;
	st->field = hdr_column(argv[0]);
	buf_init(&st->val, SIZE_MAX);
	if (!str_copy(st->name, sizeof(st->name), argv[0]))
		goto syntax;
	for (i = 2; i < argc; i++) {
		/* INN joins XPAT's patterns with spaces (values have
		 * spaces); the result is one wildmat, matched as a list. */
		if (!wildmat_valid(argv[i]))
			goto syntax;
		if ((i > 2 &&
			!str_copy(st->pattern + strlen(st->pattern),
			    sizeof(st->pattern) - strlen(st->pattern), " ")) ||
		    !str_copy(st->pattern + strlen(st->pattern),
			sizeof(st->pattern) - strlen(st->pattern), argv[i]))
			goto syntax;
	}
	if (argc >= 2 && argv[1][0] == '<') {
		rc = hdr_msgid(s, st, argv[1]);
		hdr_gen_free(st);
		return rc;
	}
	if (argc < 2) {
		lo = hi = s->cur;
		st->current = true;
	}
	memcpy(st->group, s->group, sizeof(st->group));
	st->next = lo > s->g->low ? lo : s->g->low;
	st->hi = hi < s->g->high ? hi : s->g->high;
	session_gen_start(s, hdr_run, st, hdr_gen_free);
	return 0;
syntax:
	hdr_gen_free(st);
	return session_syntax(s);
}

int
cmd_hdr(struct session *s, int argc, char **argv)
{
	return hdr_start(s, argc, argv, HDR_RFC3977);
}

int
cmd_xhdr(struct session *s, int argc, char **argv)
{
	return hdr_start(s, argc, argv, HDR_XHDR);
}

int
cmd_xpat(struct session *s, int argc, char **argv)
{
	return hdr_start(s, argc, argv, HDR_XPAT);
}
