/*
 * check_traces.c - replay what real newsreaders sent to a news server
 * against the real `newsgate serve`, and check every status code.
 *
 * The traces (tests/e2e/traces/, copied verbatim from the project's
 * shared/client-traces/) were recorded between Thunderbird, slrn and tin
 * and INN 2.7.1. Each "#N C:" line is sent on connection N in the order
 * recorded; the reply's status code must equal the code of the next
 * "#N S:" line, and every multi-line reply is read to its "." and must end
 * every line in CRLF. A connection opens at "#N open" (the greeting is
 * checked too) and closes at "#N close".
 *
 * What the server under test must have: pakistan.news and us.statedept,
 * with articles 1-40 in pakistan.news. The fixture imports the sample
 * (article 1 of both groups, crossposted) and 39 more articles.
 *
 * Substitutions, so that the commands mean here what they meant there:
 *   - article numbers that INN answered 423 (gaps in its numbering: 7-15
 *     in the Thunderbird trace) become numbers far above our high mark,
 *     so they are gaps here too (GAP_OFFSET); every other number is kept;
 *   - in a posted article, the References id of the trace's thread root
 *     becomes the Message-ID of our article 1, a Message-ID copied from
 *     the 340 reply (tin) becomes the one our 340 reply offered (or is
 *     dropped when it offered none), and a Date becomes now; the body is
 *     made up with the trace's line count.
 *
 * Deliberate differences (documented here and in the failure messages):
 *   - lines marked "answered by proxy: --deny" were 500 replies faked by
 *     the recording proxy to see a client's fallback; newsgate has those
 *     commands, so the code is not compared (the reply is still read);
 *   - the greeting and MODE READER may be 201 instead of 200 when the
 *     server does not offer posting to this client (RFC 3977 §5.1.1);
 *   - LIST MOTD may be 215 (a message of the day) instead of 503 (none);
 *   - while the server does not list POST in CAPABILITIES, POST must be
 *     refused (440, or 500 before the command exists), the article is not
 *     sent, and the replies to commands after it are compared as usual.
 *
 * When the server does post, each trace's follow-up must then be in
 * pakistan.news with the story's Message-ID in its References (OVER):
 * threaded under the story for every reader.
 */
#include <check.h>
#include <ctype.h>
#include <limits.h>
#include <signal.h>

#include "common.h"
#include "ngtest.h"

#define GAP_OFFSET 100000	/* added to the trace's gap numbers */
#define FILLER_ARTICLES 39	/* articles 2-40 of pakistan.news */
#define CONN_MAX 8		/* connections per trace (#1 .. #8) */
#define LINE_MAX_LEN NGT_LINE_MAX /* one command or status line */
#define EV_MAX 1024		/* events per trace file */

enum ev_kind {
	EV_OPEN,    /* "#N open" */
	EV_CLOSE,   /* "#N close" */
	EV_CMD,	    /* "#N C: command" */
	EV_STATUS,  /* "#N S: code text" */
	EV_HEADER,  /* "#N C> header line" of a posted article */
	EV_ARTICLE, /* "#N C: [article: H header lines, B body lines, ...]" */
};

struct ev {
	enum ev_kind kind;
	int conn;	 /* N of "#N" */
	int code;	 /* EV_STATUS: the status code */
	bool denied;	 /* EV_STATUS: faked by the proxy (--deny) */
	int body_lines;	 /* EV_ARTICLE */
	int lineno;	 /* in the trace file, for messages */
	char text[600];	 /* the command, status line or header line */
};

struct trace {
	const char *name;
	struct ev ev[EV_MAX];
	size_t nev;
	bool gap[GAP_OFFSET]; /* article numbers INN answered 423 */
};

/* One client connection to the server under test. */
struct conn {
	struct ngt_conn *nc;  /* NULL when closed */
	char offered_id[256]; /* Message-ID from the last 340, or "" */
};

/* The server and its spool: made by setup() in the Check parent. */
static struct ngt_dir dir;
static struct ngt_server server;
static char root_msgid[256]; /* Message-ID of pakistan.news article 1 */
static bool server_posts;    /* CAPABILITIES lists POST */
static char setup_error[8192]; /* why the fixture failed, or "" */

/* --- the server under test ------------------------------------------- */

/* pakistan.news: the sample (1) and FILLER_ARTICLES more (2, 3, ...). */
static bool
make_spool(void)
{
	char sample[PATH_MAX], jsonl[PATH_MAX];
	struct buf text = BUF_INIT(1 << 20), out = BUF_INIT(1 << 16);
	int i, rc;

	if (!str_printf(sample, sizeof(sample), "%s/contrib/sample/",
	    ngt_top()) || ngt_import(&dir, sample) == -1)
		return false;
	for (i = 1; i <= FILLER_ARTICLES; i++)
		buf_printf(&text,
		    "{\"id\": \"trace-%d\", \"date\": "
		    "\"2017-01-03T%02d:%02d:00Z\", \"title\": \"Replay "
		    "article %d on topic %c%c\", \"text\": \"Paragraph of "
		    "article %d. Word%d word%d word%d.\", \"source\": \"Trace "
		    "Replay\", \"url\": \"http://example.invalid/%d\", "
		    "\"section\": \"Replay\"}\n",
		    i, 11 + i / 60, i % 60, i, 'a' + i % 26, 'a' + i / 26, i,
		    i * 7, i * 11, i * 13, i);
	if (text.err ||
	    ngt_write(dir.path, "filler.jsonl", buf_cstr(&text), jsonl) == -1)
		return false;
	buf_free(&text);
	const char *args[] = {"import", "--spool", dir.spool, "--group",
	    "pakistan.news", jsonl, NULL};
	rc = ngt_run(args, &out, 120000);
	if (rc != 0)
		fprintf(stderr, "import %s: exit %d\n%s", jsonl, rc,
		    buf_cstr(&out));
	buf_free(&out);
	return rc == 0;
}

/* --- connections ----------------------------------------------------- */

static void
conn_open(struct conn *c)
{
	c->offered_id[0] = '\0';
	ck_assert_msg((c->nc = ngt_connect(server.port)) != NULL,
	    "connect to port %d", server.port);
}

static void
conn_close(struct conn *c)
{
	ngt_close(c->nc);
	c->nc = NULL;
}

static void
conn_send(struct conn *c, const char *line)
{
	ck_assert_msg(ngt_send(c->nc, "%s", line) == 0, "send %s", line);
}

/* Does a reply with this code to this command carry a multi-line body? */
static bool
multiline(int code, const char *cmd)
{
	switch (code) {
	case 100: case 101: case 215: case 220: case 221: case 222:
	case 224: case 225: case 230: case 231: case 282:
		return true;
	case 211:
		return strncasecmp(cmd, "LISTGROUP", 9) == 0;
	default:
		return false;
	}
}

/*
 * Read one whole reply to cmd; return its code; keep its first line.
 * Every line must end in CRLF and a multi-line body be dot-stuffed.
 */
static int
conn_reply(struct conn *c, const char *cmd, char *first, size_t cap)
{
	int code, n;

	code = ngt_status(c->nc, first, cap);
	ck_assert_msg(code >= 100, "%s: no status line (timeout, EOF, "
	    "bare LF or not a status)", cmd);
	if (multiline(code, cmd)) {
		n = ngt_body(c->nc, NULL);
		ck_assert_msg(n != -2, "%s: a body line not ended by CRLF or "
		    "not dot-stuffed", cmd);
		ck_assert_msg(n >= 0, "%s: body not ended by \".\"", cmd);
	}
	return code;
}

/* --- the trace files ------------------------------------------------- */

static void
trace_load(struct trace *t, const char *name)
{
	char path[PATH_MAX], line[1024];
	int lineno = 0;
	FILE *fp;

	memset(t, 0, sizeof(*t));
	t->name = name;
	ck_assert(str_printf(path, sizeof(path), "%s/tests/e2e/traces/%s",
	    ngt_top(), name));
	ck_assert_msg((fp = fopen(path, "r")) != NULL, "%s: %s", path,
	    strerror(errno));
	while (fgets(line, sizeof(line), fp) != NULL) {
		struct ev *e = &t->ev[t->nev];
		char *p = line, *end;

		lineno++;
		line[strcspn(line, "\n")] = '\0';
		/* "+  0.006  #1 C: MODE READER" */
		if (*p++ != '+')
			continue;
		p += strspn(p, " ");
		p += strspn(p, "0123456789.");
		p += strspn(p, " ");
		if (*p++ != '#')
			continue;
		e->conn = (int)strtol(p, &end, 10);
		if (end == p || *end != ' ' || e->conn < 1 ||
		    e->conn > CONN_MAX)
			continue;
		p = end + 1;
		e->lineno = lineno;
		if (strcmp(p, "open") == 0) {
			e->kind = EV_OPEN;
		} else if (strcmp(p, "close") == 0) {
			e->kind = EV_CLOSE;
		} else if (strncmp(p, "C: [article:", 12) == 0) {
			e->kind = EV_ARTICLE;
			p = strchr(p, ',');
			ck_assert_msg(p != NULL, "%s:%d: article summary", name,
			    lineno);
			e->body_lines = (int)strtol(p + 1, NULL, 10);
		} else if (strncmp(p, "C: ", 3) == 0) {
			e->kind = EV_CMD;
			ck_assert(str_copy(e->text, sizeof(e->text), p + 3));
		} else if (strncmp(p, "C> ", 3) == 0) {
			e->kind = EV_HEADER;
			ck_assert(str_copy(e->text, sizeof(e->text), p + 3));
		} else if (strncmp(p, "S: ", 3) == 0) {
			e->kind = EV_STATUS;
			e->code = (int)strtol(p + 3, NULL, 10);
			e->denied = strstr(p, "answered by proxy") != NULL;
			ck_assert(str_copy(e->text, sizeof(e->text), p + 3));
		} else {
			continue;
		}
		ck_assert_int_lt(++t->nev, EV_MAX);
	}
	fclose(fp);
	ck_assert_msg(t->nev > 10, "%s: no trace lines", name);
}

/* The article number of "ARTICLE n", "HEAD n", "BODY n", "STAT n". */
static bool
cmd_number(const char *cmd, long *n)
{
	static const char *const verbs[] = {"ARTICLE ", "HEAD ", "BODY ",
	    "STAT "};
	size_t i, len;
	char *end;

	for (i = 0; i < NG_NELEM(verbs); i++) {
		len = strlen(verbs[i]);
		if (strncasecmp(cmd, verbs[i], len) != 0 ||
		    !isdigit((unsigned char)cmd[len]))
			continue;
		*n = strtol(cmd + len, &end, 10);
		return *end == '\0';
	}
	return false;
}

/* The status event that answers command event i, or NULL. */
static const struct ev *
trace_answer(const struct trace *t, size_t i)
{
	size_t j;

	for (j = i + 1; j < t->nev; j++) {
		const struct ev *e = &t->ev[j];

		if (e->conn != t->ev[i].conn)
			continue;
		if (e->kind == EV_STATUS)
			return e;
		if (e->kind == EV_CMD || e->kind == EV_CLOSE ||
		    e->kind == EV_OPEN)
			return NULL; /* elided in the trace ("...") */
	}
	return NULL;
}

/* Numbers INN answered 423 for: gaps in its numbering. */
static void
trace_find_gaps(struct trace *t)
{
	const struct ev *s;
	size_t i;
	long n;

	for (i = 0; i < t->nev; i++) {
		if (t->ev[i].kind != EV_CMD ||
		    !cmd_number(t->ev[i].text, &n) || n <= 0 ||
		    n >= GAP_OFFSET)
			continue;
		if ((s = trace_answer(t, i)) != NULL && s->code == 423)
			t->gap[n] = true;
	}
}

/* The command as sent here: gap numbers moved above our high mark. */
static void
substitute_cmd(const struct trace *t, const char *cmd, char *out,
    size_t cap)
{
	long n;

	if (cmd_number(cmd, &n) && n > 0 && n < GAP_OFFSET && t->gap[n]) {
		ck_assert(str_printf(out, cap, "%.*s%ld",
		    (int)strcspn(cmd, " ") + 1, cmd, n + GAP_OFFSET));
		return;
	}
	ck_assert(str_copy(out, cap, cmd));
}

/* The trace's code, or one of the documented alternatives. */
static bool
code_matches(const char *cmd, int want, int got)
{
	if (got == want)
		return true;
	if (want == 200 && got == 201 &&
	    (cmd == NULL || strcasecmp(cmd, "MODE READER") == 0))
		return true; /* no posting for this client (§5.1.1) */
	if (strcasecmp(cmd ? cmd : "", "LIST MOTD") == 0 && want == 503 &&
	    got == 215)
		return true; /* a message of the day exists */
	return false;
}

/* Replace the trace's ids in a posted header line; false: drop it. */
static bool
substitute_header(const char *hdr, const struct conn *c, char *out,
    size_t cap)
{
	const char *lt;

	if (strncasecmp(hdr, "Date:", 5) == 0) {
		/* Now: the recorded date may be ahead of this machine's
		 * clock, which a server refuses (RFC 5537 §3.5). */
		time_t t = time(NULL);
		struct tm tm;

		ck_assert_ptr_nonnull(gmtime_r(&t, &tm));
		ck_assert_int_gt(strftime(out, cap,
		    "Date: %a, %d %b %Y %H:%M:%S +0000", &tm), 0);
		return true;
	}
	if (strncasecmp(hdr, "Message-ID:", 11) == 0) {
		if (c->offered_id[0] == '\0')
			return false;
		ck_assert(str_printf(out, cap, "Message-ID: %s",
		    c->offered_id));
		return true;
	}
	if ((strncasecmp(hdr, "References:", 11) == 0 ||
	    strncasecmp(hdr, "In-Reply-To:", 12) == 0) &&
	    (lt = strchr(hdr, '<')) != NULL) {
		ck_assert(str_printf(out, cap, "%.*s%s", (int)(lt - hdr), hdr,
		    root_msgid));
		return true;
	}
	ck_assert(str_copy(out, cap, hdr));
	return true;
}

/* Send the article of a POST: the trace's headers, a made-up body. */
static void
send_article(const struct trace *t, size_t art, struct conn *c)
{
	char line[LINE_MAX_LEN];
	size_t j, first = art;
	int i;

	while (first > 0 && t->ev[first - 1].kind == EV_HEADER &&
	    t->ev[first - 1].conn == t->ev[art].conn)
		first--;
	for (j = first; j < art; j++) {
		if (t->ev[j].text[0] == ' ' || t->ev[j].text[0] == '\t') {
			conn_send(c, t->ev[j].text); /* continuation */
			continue;
		}
		if (substitute_header(t->ev[j].text, c, line, sizeof(line)))
			conn_send(c, line);
		else
			while (j + 1 < art && (t->ev[j + 1].text[0] == ' ' ||
			    t->ev[j + 1].text[0] == '\t'))
				j++; /* and its continuation lines */
	}
	conn_send(c, "");
	for (i = 1; i <= t->ev[art].body_lines; i++) {
		ck_assert(str_printf(line, sizeof(line),
		    "Line %d of a follow-up replayed from %s.", i, t->name));
		conn_send(c, line);
	}
	conn_send(c, ".");
}

/* Remember the Message-ID a 340 reply offers ("340 ... <id>"). */
static void
note_offered_id(struct conn *c, const char *status)
{
	const char *lt = strrchr(status, '<'), *gt;

	c->offered_id[0] = '\0';
	if (lt != NULL && (gt = strchr(lt, '>')) != NULL && gt[1] == '\0')
		(void)str_copy(c->offered_id, sizeof(c->offered_id), lt);
}

/* Replay one command event (and the article of a POST). */
static void
replay_cmd(const struct trace *t, size_t i, struct conn *conns)
{
	const struct ev *e = &t->ev[i];
	const struct ev *want = trace_answer(t, i);
	struct conn *c = &conns[e->conn - 1];
	char cmd[LINE_MAX_LEN], first[LINE_MAX_LEN], what[LINE_MAX_LEN + 64];
	int got;

	ck_assert_msg(c->nc != NULL, "%s:%d: command on a closed connection",
	    t->name, e->lineno);
	substitute_cmd(t, e->text, cmd, sizeof(cmd));
	ck_assert(str_printf(what, sizeof(what), "%s:%d: #%d %s", t->name,
	    e->lineno, e->conn, cmd));
	conn_send(c, cmd);
	got = conn_reply(c, cmd, first, sizeof(first));

	if (strcasecmp(cmd, "POST") == 0 && !server_posts) {
		/* Posting is not offered yet: refused, article not sent. */
		ck_assert_msg(got == 440 || got == 500,
		    "%s: POST not in CAPABILITIES, yet answered %s", what,
		    first);
		return;
	}
	if (want != NULL && !want->denied)
		ck_assert_msg(code_matches(cmd, want->code, got),
		    "%s: expected %d (trace line %d: %s), got: %s", what,
		    want->code, want->lineno, want->text, first);
	if (got == 340) {
		size_t art;

		note_offered_id(c, first);
		for (art = i + 1; art < t->nev; art++)
			if (t->ev[art].conn == e->conn &&
			    t->ev[art].kind == EV_ARTICLE)
				break;
		ck_assert_msg(art < t->nev, "%s: no article after 340", what);
		send_article(t, art, c);
		got = conn_reply(c, "POST article", first, sizeof(first));
		want = trace_answer(t, art);
		ck_assert_msg(want == NULL || got == want->code,
		    "%s: the article: expected %d, got: %s", what,
		    want ? want->code : 0, first);
	}
}

static void
replay(const char *name)
{
	static struct trace t; /* large: not on the stack */
	struct conn conns[CONN_MAX];
	char first[LINE_MAX_LEN], what[256];
	const struct ev *want;
	size_t i;
	int got, n = 0;

	trace_load(&t, name);
	trace_find_gaps(&t);
	memset(conns, 0, sizeof(conns));
	for (i = 0; i < t.nev; i++) {
		const struct ev *e = &t.ev[i];
		struct conn *c = &conns[e->conn - 1];

		switch (e->kind) {
		case EV_OPEN:
			conn_close(c);
			conn_open(c);
			ck_assert(str_printf(what, sizeof(what),
			    "%s:%d: #%d greeting", name, e->lineno, e->conn));
			got = conn_reply(c, what, first, sizeof(first));
			want = trace_answer(&t, i);
			ck_assert_msg(want == NULL ||
			    code_matches(NULL, want->code, got),
			    "%s: expected %d, got: %s", what,
			    want ? want->code : 0, first);
			break;
		case EV_CLOSE:
			conn_close(c);
			break;
		case EV_CMD:
			replay_cmd(&t, i, conns);
			n++;
			break;
		default:
			break; /* statuses are read with their commands */
		}
	}
	for (i = 0; i < CONN_MAX; i++)
		conn_close(&conns[i]);
	printf("%s: %d commands replayed\n", name, n);
}

/* --- fixture --------------------------------------------------------- */

/* Ask the server once for what the tests need to know. */
static void
probe_server(void)
{
	struct conn c = {NULL, ""};
	char line[LINE_MAX_LEN], id[256];
	struct buf caps = BUF_INIT(1 << 16);

	conn_open(&c);
	ck_assert_int_ge(ngt_status(c.nc, line, sizeof(line)), 200);
	ck_assert_int_eq(ngt_cmd(c.nc, line, sizeof(line), "CAPABILITIES"),
	    101);
	ck_assert_int_ge(ngt_body(c.nc, &caps), 1);
	server_posts = strstr(buf_cstr(&caps), "\nPOST\n") != NULL ||
	    strncmp(buf_cstr(&caps), "POST\n", 5) == 0;
	buf_free(&caps);
	ck_assert_int_eq(ngt_cmd(c.nc, line, sizeof(line),
	    "GROUP pakistan.news"), 211);
	ck_assert_int_eq(ngt_cmd(c.nc, line, sizeof(line), "STAT 1"), 223);
	ck_assert_msg(sscanf(line, "223 1 %255s", id) == 1, "STAT 1: %s",
	    line);
	ck_assert(str_copy(root_msgid, sizeof(root_msgid), id));
	conn_close(&c);
	if (!server_posts)
		printf("note: the server does not offer POST yet: the "
		       "traces' POSTs are expected to be refused\n");
}

static void
setup(void)
{
	signal(SIGPIPE, SIG_IGN);
	if (ngt_dir_new(&dir, "ng-traces") == -1)
		fatal("mkdtemp");
	if (!make_spool())
		(void)str_copy(setup_error, sizeof(setup_error),
		    "importing the test spool failed (see above)");
	else if (ngt_server_start(&server, dir.spool, NULL) == -1)
		(void)str_copy(setup_error, sizeof(setup_error),
		    "newsgate serve did not start (see above)");
}

static void
teardown(void)
{
	if (server.pid > 0)
		(void)ngt_server_stop(&server);
	ngt_dir_free(&dir);
}

/* Follow-ups of the story in pakistan.news: OVER lines whose References
 * field holds the story's Message-ID. */
static int
followups(void)
{
	struct conn c = {NULL, ""};
	struct buf over = BUF_INIT(1 << 22);
	char line[LINE_MAX_LEN];
	const char *p, *nl;
	int n = 0;

	conn_open(&c);
	ck_assert_int_ge(ngt_status(c.nc, line, sizeof(line)), 200);
	ck_assert_int_eq(ngt_cmd(c.nc, line, sizeof(line),
	    "GROUP pakistan.news"), 211);
	ck_assert_int_eq(ngt_cmd(c.nc, line, sizeof(line), "OVER 1-"), 224);
	ck_assert_int_ge(ngt_body(c.nc, &over), 1);
	for (p = buf_cstr(&over); (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
		const char *f = p;
		int i;

		/* number, Subject, From, Date, Message-ID, References */
		for (i = 0; i < 5 && f != NULL && f < nl; i++)
			if ((f = memchr(f, '\t', (size_t)(nl - f))) != NULL)
				f++;
		if (f != NULL && f < nl &&
		    strncmp(f, root_msgid, strlen(root_msgid)) == 0)
			n++;
	}
	buf_free(&over);
	conn_close(&c);
	return n;
}

/* Replay a trace; when the server posts, its follow-up is threaded. */
static void
replay_checked(const char *name)
{
	int before;

	ck_assert_msg(setup_error[0] == '\0', "%s", setup_error);
	probe_server();
	before = followups();
	replay(name);
	if (server_posts)
		ck_assert_msg(followups() == before + 1,
		    "%s: the follow-up is not threaded under the story", name);
}

/* Each test probes first: the probe's results live in the test process. */
START_TEST(test_trace_slrn)
{
	replay_checked("slrn.txt");
}
END_TEST

START_TEST(test_trace_tin)
{
	replay_checked("tin.txt");
}
END_TEST

START_TEST(test_trace_thunderbird)
{
	replay_checked("thunderbird.txt");
}
END_TEST

static Suite *
traces_suite(void)
{
	Suite *s = suite_create("traces");
	TCase *tc = tcase_create("replay");

	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_trace_slrn);
	tcase_add_test(tc, test_trace_tin);
	tcase_add_test(tc, test_trace_thunderbird);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(traces_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
