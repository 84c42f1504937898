/*
 * cmd_article.c - ARTICLE, HEAD, BODY and STAT (RFC 3977 §6.2), and the
 * two helpers the header commands share: overview fields and one header
 * read from an article file.
 *
 * Articles are stored with LF line endings (docs/spool.md); they go out
 * with CRLF, dot-stuffed, read from the file in chunks as the output
 * queue drains, so a large article never sits in memory whole. Reads only
 * through spool.h.
 */
#include <unistd.h>

#include "common.h"
#include "buf.h"
#include "nntp.h"
#include "session.h"
#include "spool.h"

#define ART_CHUNK (16 * 1024)	 /* file bytes read per step */
#define ART_HEAD_MAX (64 * 1024) /* header bytes searched for a field */

enum art_part {
	PART_ARTICLE, /* headers, empty line, body */
	PART_HEAD,    /* headers only */
	PART_BODY,    /* body only */
};

/* A streaming article response. */
struct art_gen {
	int fd; /* article file, owned */
	enum art_part part;
	bool in_head;  /* still inside the header section */
	bool bol;      /* at the beginning of an output line */
	bool carry_cr; /* the last chunk ended in CR: held back */
	uint64_t off;  /* file offset of the next read */
};

/*
 * Convert [p, p + len) of the article file to wire form. Returns true
 * when the response is complete (HEAD reached the end of the headers).
 */
static bool
art_feed(struct session *s, struct art_gen *st, const char *p, size_t len)
{
	const char *e = p + len, *nl, *end;
	char *w, *w0;
	bool done = false;

	/* Room for the worst case at once (every line empty: LF in, CRLF
	 * out), then copy spans: no append per line. */
	if ((w0 = w = buf_reserve(&s->out, 2 * len + 4)) == NULL)
		return true; /* the ceiling: the session closes */
	while (p < e) {
		nl = memchr(p, '\n', (size_t)(e - p));
		end = nl ? nl : e;
		if (nl && end > p && end[-1] == '\r')
			end--; /* stored CRLF: do not double the CR */
		if (st->in_head && st->bol && nl && end == p) {
			/* The empty line that ends the headers. */
			st->in_head = false;
			if (st->part == PART_HEAD) {
				done = true;
				break;
			}
			if (st->part == PART_ARTICLE) {
				*w++ = '\r';
				*w++ = '\n';
			}
			p = nl + 1;
			continue;
		}
		if (!(st->in_head && st->part == PART_BODY)) {
			/* RFC 3977 §3.1.1: dot-stuff. */
			if (st->bol && end > p && *p == '.')
				*w++ = '.';
			memcpy(w, p, (size_t)(end - p));
			w += end - p;
			if (nl) {
				*w++ = '\r';
				*w++ = '\n';
			}
		}
		st->bol = nl != NULL;
		p = nl ? nl + 1 : e;
	}
	s->out.len += (size_t)(w - w0);
	s->out.data[s->out.len] = '\0';
	return done;
}

static void
art_finish(struct session *s, struct art_gen *st)
{
	if (!st->bol && !(st->in_head && st->part == PART_BODY))
		session_write(s, "\r\n", 2);
	session_data_end(s);
}

/*
 * Convert n bytes just read, which sit at chunk + 1 (chunk[0] is room for
 * a CR held back from the previous read). eof: nothing follows. Returns 0
 * when the response is complete, 1 when more is to be read.
 */
static int
art_take(struct session *s, struct art_gen *st, char *chunk, size_t n, bool eof)
{
	char *p = chunk + 1;
	size_t have = n;

	st->off += n;
	if (st->carry_cr) {
		*--p = '\r';
		have++;
		st->carry_cr = false;
	}
	if (!eof && have > 0 && p[have - 1] == '\r') {
		/* Maybe the CR of a CRLF split across reads. */
		st->carry_cr = true;
		have--;
	}
	if (art_feed(s, st, p, have) || eof) {
		art_finish(s, st);
		return 0;
	}
	return 1;
}

/* Read the next chunk; 1 more to do, 0 done, -1 read error. A short read
 * of a regular file is its end, which saves a read that returns 0. */
static int
art_step(struct session *s, struct art_gen *st)
{
	char chunk[ART_CHUNK + 1];
	ssize_t n;

	do
		n = pread(st->fd, chunk + 1, ART_CHUNK, (off_t)st->off);
	while (n == -1 && errno == EINTR);
	if (n == -1)
		return -1;
	return art_take(s, st, chunk, (size_t)n, (size_t)n < ART_CHUNK);
}

static int
art_gen_run(struct session *s, void *arg)
{
	struct art_gen *st = arg;
	int rc;

	while (!session_out_full(s))
		if ((rc = art_step(s, st)) != 1) {
			if (rc == -1)
				log_warn("article: read (group %s)", s->group);
			return rc;
		}
	return 1;
}

static void
art_gen_free(void *arg)
{
	struct art_gen *st = arg;

	if (st->fd != -1)
		close(st->fd);
	free(st);
}

/* --- header helpers ------------------------------------------------------ */

bool
session_over_field(const char *line, size_t len, int i, struct str *out)
{
	const char *p = line, *e = line + len, *tab;

	for (;;) {
		tab = memchr(p, '\t', (size_t)(e - p));
		if (i-- == 0) {
			out->p = p;
			out->len = (size_t)((tab ? tab : e) - p);
			return true;
		}
		if (tab == NULL)
			return false;
		p = tab + 1;
	}
}

/*
 * Find header name in the header block [h, h + len) (LF or CRLF lines;
 * the block may be cut short). Appends its unfolded value to val; true
 * when found.
 */
static bool
head_find(const char *h, size_t len, const char *name, struct buf *val)
{
	const char *p = h, *e = h + len, *nl, *v;
	size_t nlen = strlen(name);
	bool found = false;

	for (; p < e; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(e - p))) == NULL)
			nl = e;
		if (p == nl || (*p == '\r' && p + 1 == nl))
			break; /* end of headers */
		if (found) {
			if (*p != ' ' && *p != '\t')
				break; /* no continuation: done */
		} else {
			if ((size_t)(nl - p) <= nlen || p[nlen] != ':' ||
			    strncasecmp(p, name, nlen) != 0)
				continue;
			found = true;
			p += nlen + 1;
		}
		for (v = p; v < nl; v++) {
			char c = *v;

			if (c == '\r' && v + 1 == nl)
				break;
			/* RFC 3977 §8.5.2/§8.3.2: no TAB, CR, LF in values */
			buf_putc(val, c == '\t' || c == '\r' ? ' ' : c);
		}
		if (nl == e)
			break;
	}
	if (found) {
		/* Unfolding leaves the leading space of the value and of
		 * every continuation; trim the leading ones only. */
		size_t skip = 0;

		while (skip < val->len && val->data[skip] == ' ')
			skip++;
		buf_consume(val, skip);
	}
	return found;
}

/* Read the header block of an open article into b (at most
 * ART_HEAD_MAX). Returns 0, or -1 on a read error. */
static int
head_read(int fd, struct buf *b)
{
	ssize_t n;
	char *w;

	while (b->len < ART_HEAD_MAX) {
		if ((w = buf_reserve(b, ART_CHUNK)) == NULL)
			return -1;
		n = pread(fd, w, ART_CHUNK, (off_t)b->len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0)
			break;
		b->len += (size_t)n;
		b->data[b->len] = '\0';
		if (memmem(b->data, b->len, "\n\n", 2) ||
		    memmem(b->data, b->len, "\n\r\n", 3))
			break;
	}
	return 0;
}

int
session_article_header(struct spool *sp, const char *group, uint64_t num,
    const char *name, struct buf *val)
{
	struct buf head = BUF_INIT(ART_HEAD_MAX + ART_CHUNK);
	int fd, rc;

	buf_reset(val);
	if ((fd = spool_article_open(sp, group, num)) == -1)
		return -1;
	rc = head_read(fd, &head);
	close(fd);
	if (rc == 0)
		rc = head_find(head.data ? head.data : "", head.len, name, val);
	buf_free(&head);
	return rc;
}

/* The Message-ID of an article from its header block, into id. */
static bool
msgid_from_head(const char *h, size_t len, char *id, size_t cap)
{
	struct buf v = BUF_INIT(NNTP_MSGID_MAX * 4);
	bool ok = false;
	size_t n;

	if (head_find(h, len, "Message-ID", &v) && v.len > 0) {
		n = strcspn(v.data, " ");
		v.data[n] = '\0';
		ok = session_is_msgid(v.data) && str_copy(id, cap, v.data);
	}
	buf_free(&v);
	return ok;
}

/* The Message-ID of article num from the overview (no file read). */
static bool
msgid_from_over(
    struct spool *sp, const char *group, uint64_t num, char *id, size_t cap)
{
	struct buf line = BUF_INIT(SIZE_MAX);
	struct str f;
	bool ok = false;

	if (spool_over_one(sp, group, num, &line) == 0 &&
	    session_over_field(line.data, line.len, OVER_MSGID, &f) &&
	    f.len > 0 && f.len < cap) {
		memcpy(id, f.p, f.len);
		id[f.len] = '\0';
		ok = session_is_msgid(id);
	}
	buf_free(&line);
	return ok;
}

/* --- the commands -------------------------------------------------------- */

/* Where the article asked for is: group and number, and its message-id
 * when the client gave one. Replies and returns false when there is none. */
struct art_ref {
	char group[SPOOL_GROUP_MAX + 1];
	uint64_t num;
	bool by_msgid;
	char msgid[NNTP_MSGID_MAX + 1];
};

static bool
art_resolve(struct session *s, int argc, char **argv, struct art_ref *r)
{
	struct spool_loc loc;

	r->by_msgid = false;
	r->msgid[0] = '\0';
	if (argc == 1 && argv[0][0] == '<') {
		if (!session_is_msgid(argv[0])) {
			session_syntax(s);
			return false;
		}
		if (spool_lookup(s->sp, argv[0], &loc) == -1) {
			session_reply(s, NNTP_FAIL_NO_MSGID,
			    "No article with that message-id");
			return false;
		}
		memcpy(r->group, loc.group, sizeof(r->group));
		r->num = loc.num;
		r->by_msgid = true;
		if (!str_copy(r->msgid, sizeof(r->msgid), argv[0]))
			return false; /* cannot happen: checked above */
		return true;
	}
	/* The dispatcher checked that a group is selected (412) and, for
	 * the form without argument, that the current article is valid. */
	memcpy(r->group, s->group, sizeof(r->group));
	if (argc == 0) {
		r->num = s->cur;
		return true;
	}
	if (session_parse_number(argv[0], &r->num) == -1) {
		session_syntax(s);
		return false;
	}
	if (r->num < s->g->low || r->num > s->g->high) {
		session_reply(
		    s, NNTP_FAIL_NO_ARTNUM, "No article with that number");
		return false;
	}
	return true;
}

/* The reply when article r turned out not to exist. */
static void
art_missing(struct session *s, const struct art_ref *r, int argc)
{
	if (r->by_msgid)
		session_reply(
		    s, NNTP_FAIL_NO_MSGID, "No article with that message-id");
	else if (argc == 0)
		session_reply(s, NNTP_FAIL_NO_CURRENT,
		    "Current article number is invalid");
	else
		session_reply(
		    s, NNTP_FAIL_NO_ARTNUM, "No article with that number");
}

static int
art_send(struct session *s, int argc, char **argv, enum art_part part)
{
	static const int codes[] = {
	    NNTP_OK_ARTICLE, NNTP_OK_HEAD, NNTP_OK_BODY};
	static const char *const what[] = {"article", "head", "body"};
	struct buf head = BUF_INIT(ART_HEAD_MAX + ART_CHUNK);
	char chunk[ART_CHUNK + 1];
	struct art_gen *st;
	struct art_ref r;
	ssize_t n;
	int fd;

	if (!art_resolve(s, argc, argv, &r))
		return 0;
	if ((fd = spool_article_open(s->sp, r.group, r.num)) == -1) {
		if (errno == ENOENT) {
			art_missing(s, &r, argc);
		} else {
			log_warn("article: open %s:%" PRIu64, r.group, r.num);
			session_reply(
			    s, NNTP_FAIL_INTERNAL, "Cannot read that article");
		}
		return 0;
	}
	/* One read serves the message-id and, mostly, the whole article. */
	do
		n = pread(fd, chunk + 1, ART_CHUNK, 0);
	while (n == -1 && errno == EINTR);
	if (n == -1) {
		log_warn("article: read %s:%" PRIu64, r.group, r.num);
		session_reply(
		    s, NNTP_FAIL_INTERNAL, "Cannot read that article");
		close(fd);
		return 0;
	}
	if (!r.by_msgid) {
		if (!msgid_from_head(
			chunk + 1, (size_t)n, r.msgid, sizeof(r.msgid)) &&
		    (head_read(fd, &head) == -1 ||
			!msgid_from_head(head.data ? head.data : "", head.len,
			    r.msgid, sizeof(r.msgid))) &&
		    !msgid_from_over(
			s->sp, r.group, r.num, r.msgid, sizeof(r.msgid)))
			memcpy(r.msgid, "<0>", 4);
		buf_free(&head);
		s->cur = r.num; /* RFC 3977 §6.2.1.2 */
	}
	/* RFC 3977 §6.2.1.2: by message-id the number is 0. */
	session_reply(s, codes[part], "%" PRIu64 " %s %s",
	    r.by_msgid ? 0 : r.num, r.msgid, what[part]);
	s->stats.articles++;
	st = xcalloc(1, sizeof(*st));
	st->fd = fd;
	st->part = part;
	st->in_head = true;
	st->bol = true;
	if (art_take(s, st, chunk, (size_t)n, (size_t)n < ART_CHUNK) == 0) {
		art_gen_free(st);
		return 0;
	}
	session_gen_start(s, art_gen_run, st, art_gen_free);
	return 0;
}

int
cmd_article(struct session *s, int argc, char **argv)
{
	return art_send(s, argc, argv, PART_ARTICLE);
}

int
cmd_head(struct session *s, int argc, char **argv)
{
	return art_send(s, argc, argv, PART_HEAD);
}

int
cmd_body(struct session *s, int argc, char **argv)
{
	return art_send(s, argc, argv, PART_BODY);
}

/* RFC 3977 §6.2.4: like ARTICLE without the text; the overview (or the
 * history, by message-id) answers without opening the file. */
int
cmd_stat(struct session *s, int argc, char **argv)
{
	struct buf head = BUF_INIT(ART_HEAD_MAX + ART_CHUNK);
	struct art_ref r;
	bool ok;
	int fd;

	if (!art_resolve(s, argc, argv, &r))
		return 0;
	if (r.by_msgid) {
		session_reply(s, NNTP_OK_STAT, "0 %s", r.msgid);
		return 0;
	}
	if (!msgid_from_over(s->sp, r.group, r.num, r.msgid, sizeof(r.msgid))) {
		if ((fd = spool_article_open(s->sp, r.group, r.num)) == -1) {
			art_missing(s, &r, argc);
			return 0;
		}
		ok = head_read(fd, &head) == 0 &&
		    msgid_from_head(head.data ? head.data : "", head.len,
			r.msgid, sizeof(r.msgid));
		close(fd);
		buf_free(&head);
		if (!ok)
			memcpy(r.msgid, "<0>", 4);
	}
	s->cur = r.num;
	session_reply(s, NNTP_OK_STAT, "%" PRIu64 " %s", r.num, r.msgid);
	return 0;
}
