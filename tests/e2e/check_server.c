/*
 * check_server.c - the real `newsgate serve` over TCP: exact reply codes
 * over raw sockets (every command the client traces in
 * ../shared/client-traces/ send), pipelining, dot-stuffing and CRLF,
 * 512/513-octet lines, NUL bytes and binary garbage, idle and vanishing
 * clients, "../" in names, connection limits, 1,000 simultaneous
 * connections and their memory, back-pressure against a slow reader,
 * freshness (an import while the server runs), signals, IPv6, inetd
 * mode, and libetpan's newsnntp client for the common flows.
 *
 * One spool is imported for the suite (unchecked fixture); each test
 * starts its own server on 127.0.0.1 port 0.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <check.h>
#include <fcntl.h>
#include <libetpan/libetpan.h>
#include <netinet/in.h>
#include <signal.h>
#include <unistd.h>

#include "common.h"
#include "buf.h"
#include "ngtest.h"

#define NBIG 2000     /* articles in us.statedept (streaming tests) */
#define NCONNS 1000   /* simultaneous connections */
#define GROUP_P "pakistan.news"
#define GROUP_U "us.statedept"

static struct ngt_dir fx; /* the suite's spool */

/* --- the fixture ------------------------------------------------------------ */

static void
mbox_msg(struct buf *b, const char *id, const char *groups,
    const char *subject, const char *body)
{
	buf_printf(b,
	    "From tester@example.invalid Tue Jan  3 10:00:00 2017\n"
	    "From: Tester <tester@example.invalid>\n"
	    "Newsgroups: %s\n"
	    "Subject: %s\n"
	    "Date: Tue, 03 Jan 2017 10:00:00 +0000\n"
	    "Message-ID: %s\n"
	    "References: <root@test.example>\n"
	    "\n%s\n\n",
	    groups, subject, id, body);
}

static void
fixture_up(void)
{
	struct buf b = BUF_INIT(SIZE_MAX);
	char id[64], subj[64];
	int i;

	ck_assert_int_eq(ngt_dir_new(&fx, "ng-e2e-server"), 0);
	/* Started as root (CI), the server drops to news or nobody, which
	 * must still reach the spool and the configurations in here. */
	ck_assert_int_eq(chmod(fx.path, 0755), 0);
	mbox_msg(&b, "<p1@test.example>", GROUP_P, "Pakistan first",
	    "first line\n.leading dot\n..two dots\n.\nlast line");
	mbox_msg(&b, "<p2@test.example>", GROUP_P "," GROUP_U,
	    "Crossposted", "to both groups");
	mbox_msg(&b, "<p3@test.example>", GROUP_P, "Pakistan third",
	    "third body");
	for (i = 1; i <= NBIG; i++) {
		ck_assert(str_printf(id, sizeof(id), "<big%d@test.example>", i));
		ck_assert(str_printf(subj, sizeof(subj), "Big number %d", i));
		mbox_msg(&b, id, GROUP_U, subj, "big body");
	}
	ck_assert_int_eq(ngt_import_text(&fx, "fixture.mbox", buf_cstr(&b)),
	    0);
	buf_free(&b);
}

static void
fixture_down(void)
{
	ngt_dir_free(&fx);
}

/* --- helpers ------------------------------------------------------------------- */

static struct ngt_server srv;

static void
start(const char *const *extra)
{
	ck_assert_int_eq(ngt_server_start(&srv, fx.spool, extra), 0);
}

static void
stop(void)
{
	ck_assert_int_eq(ngt_server_stop(&srv), 0);
}

/* Connect and read the greeting. */
static struct ngt_conn *
client(void)
{
	struct ngt_conn *c = ngt_connect(srv.port);
	char st[NGT_LINE_MAX];

	ck_assert_ptr_nonnull(c);
	/* 200: the default post_policy lets loopback clients post. */
	ck_assert_int_eq(ngt_status(c, st, sizeof(st)), 200);
	return c;
}

/* Send a command, expect code, read the block if multi-line; returns the
 * block's line count (0 for a single-line reply). */
static int
expect(struct ngt_conn *c, int want, bool multi, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
expect(struct ngt_conn *c, int want, bool multi, const char *fmt, ...)
{
	char cmdline[1024], st[NGT_LINE_MAX];
	va_list ap;
	int n = 0;

	va_start(ap, fmt);
	vsnprintf(cmdline, sizeof(cmdline), fmt, ap);
	va_end(ap);
	ck_assert_msg(ngt_cmd(c, st, sizeof(st), "%s", cmdline) == want,
	    "%s: got '%s', want %d", cmdline, st, want);
	if (multi) {
		n = ngt_body(c, NULL);
		ck_assert_msg(n >= 0, "%s: bad block (%d)", cmdline, n);
	}
	return n;
}

static void
write_conf(const char *name, const char *text, char *path)
{
	ck_assert_int_eq(ngt_write(fx.path, name, text, path), 0);
}

/* Poll the server log for needle. */
static bool
log_has(const char *needle)
{
	uint64_t deadline = now_ms() + NGT_WAIT_MS;
	struct timespec ts = {0, 10 * 1000000L};
	char *log;
	bool found;

	for (;;) {
		log = ngt_server_log(&srv);
		found = strstr(log, needle) != NULL;
		free(log);
		if (found || now_ms() >= deadline)
			return found;
		nanosleep(&ts, NULL);
	}
}

static long
rss_kib(pid_t pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *fp;

	if (!str_printf(path, sizeof(path), "/proc/%ld/status", (long)pid) ||
	    (fp = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp))
		if (strncmp(line, "VmRSS:", 6) == 0)
			kib = strtol(line + 6, NULL, 10);
	fclose(fp);
	return kib;
}

/* --- the client traces --------------------------------------------------------- */

/* Every command of the Thunderbird, slrn and tin traces, answered as
 * the traces show (POST itself is check_post.c's and check_traces.c's). */
START_TEST(test_trace_commands)
{
	struct ngt_conn *c;
	char st[NGT_LINE_MAX];

	start(NULL);
	c = client();
	/* Thunderbird and slrn. */
	expect(c, 200, false, "MODE READER");
	expect(c, 412, false, "XOVER");
	expect(c, 412, false, "XHDR Path");
	ck_assert_int_eq(expect(c, 215, true, "LIST OVERVIEW.FMT"), 8);
	ck_assert_int_eq(expect(c, 215, true, "LIST"), 2);
	expect(c, 215, true, "LIST SUBSCRIPTIONS");
	expect(c, 231, true, "NEWGROUPS 261128 071221 GMT");
	ck_assert_int_eq(ngt_cmd(c, st, sizeof(st), "GROUP %s", GROUP_P), 211);
	ck_assert_str_eq(st, "211 3 1 3 " GROUP_P);
	ck_assert_int_eq(expect(c, 224, true, "XOVER 1-3"), 3);
	ck_assert_int_eq(expect(c, 224, true, "XOVER 2-6"), 2);
	expect(c, 220, true, "ARTICLE 1");
	expect(c, 221, true, "HEAD 2");
	expect(c, 423, false, "HEAD 7");
	expect(c, 223, false, "NEXT");
	/* tin. */
	/* Eight lines, plus POST and AUTHINFO USER on loopback. */
	ck_assert_int_eq(expect(c, 101, true, "CAPABILITIES"), 10);
	expect(c, 503, false, "LIST MOTD");
	ck_assert_int_eq(expect(c, 215, true, "LIST OVERVIEW.FMT"), 8);
	ck_assert_int_eq(expect(c, 215, true, "LIST COUNTS"), 2);
	ck_assert_int_eq(expect(c, 215, true, "LIST NEWSGROUPS"), 2);
	ck_assert_int_eq(expect(c, 211, true, "LISTGROUP %s", GROUP_P), 3);
	ck_assert_int_eq(expect(c, 224, true, "OVER 1-3"), 3);
	expect(c, 501, false, "XHDR");
	ck_assert_int_eq(ngt_cmd(c, st, sizeof(st), "QUIT"), 205);
	ck_assert(ngt_eof(c, NGT_WAIT_MS));
	ngt_close(c);
	stop();
}
END_TEST

/* --- framing and robustness ---------------------------------------------------- */

START_TEST(test_pipelining)
{
	struct ngt_conn *c;
	struct buf cmds = BUF_INIT(SIZE_MAX);
	char st[NGT_LINE_MAX];
	int i;

	start(NULL);
	c = client();
	buf_printf(&cmds, "GROUP %s\r\n", GROUP_P);
	for (i = 0; i < 200; i++)
		buf_printf(&cmds, "STAT %d\r\nXOVER %d\r\n", i % 3 + 1,
		    i % 3 + 1);
	buf_puts(&cmds, "DATE\r\n");
	ck_assert_int_eq(ngt_send_raw(c, cmds.data, cmds.len), 0);
	ck_assert_int_eq(ngt_status(c, st, sizeof(st)), 211);
	for (i = 0; i < 200; i++) {
		char want[64];

		ck_assert_int_eq(ngt_status(c, st, sizeof(st)), 223);
		ck_assert(str_printf(want, sizeof(want), "223 %d <p%d@test.example>",
		    i % 3 + 1, i % 3 + 1));
		ck_assert_str_eq(st, want);
		ck_assert_int_eq(ngt_status(c, st, sizeof(st)), 224);
		ck_assert_int_eq(ngt_body(c, NULL), 1);
	}
	ck_assert_int_eq(ngt_status(c, st, sizeof(st)), 111);
	ngt_close(c);
	buf_free(&cmds);
	stop();
}
END_TEST

START_TEST(test_dot_stuffing_and_crlf)
{
	struct buf body = BUF_INIT(SIZE_MAX);
	struct ngt_conn *c;
	char line[NGT_LINE_MAX];

	start(NULL);
	c = client();
	expect(c, 211, false, "GROUP %s", GROUP_P);
	/* Raw: what is on the wire. */
	ck_assert_int_eq(ngt_cmd(c, line, sizeof(line), "BODY 1"), 222);
	ck_assert_int_eq(ngt_line(c, line, sizeof(line)), 10);
	ck_assert_str_eq(line, "first line");
	ck_assert_int_ge(ngt_line(c, line, sizeof(line)), 0);
	ck_assert_str_eq(line, "..leading dot");
	ck_assert_int_ge(ngt_line(c, line, sizeof(line)), 0);
	ck_assert_str_eq(line, "...two dots");
	ck_assert_int_ge(ngt_line(c, line, sizeof(line)), 0);
	ck_assert_str_eq(line, "..");
	ck_assert_int_ge(ngt_line(c, line, sizeof(line)), 0);
	ck_assert_str_eq(line, "last line");
	ck_assert_int_ge(ngt_line(c, line, sizeof(line)), 0);
	ck_assert_str_eq(line, ".");
	/* Un-stuffed by a client: the stored text. Every line had CRLF
	 * (ngt_body returns -2 otherwise). */
	ck_assert_int_eq(ngt_cmd(c, line, sizeof(line), "ARTICLE <p1@test.example>"),
	    220);
	ck_assert_str_eq(line, "220 0 <p1@test.example> article");
	ck_assert_int_gt(ngt_body(c, &body), 5);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&body),
	    "\n\nfirst line\n.leading dot\n..two dots\n.\nlast line\n"));
	ngt_close(c);
	buf_free(&body);
	stop();
}
END_TEST

START_TEST(test_long_lines)
{
	struct ngt_conn *c;
	char line[200000], st[NGT_LINE_MAX];

	start(NULL);
	c = client();
	/* 512 octets with CRLF: processed. */
	memcpy(line, "XPAT Subject 1- ", 16);
	memset(line + 16, 'a', 494);
	line[16 + 240] = ' ';
	memcpy(line + 510, "\r\n", 2);
	ck_assert_int_eq(ngt_send_raw(c, line, 512), 0);
	ck_assert_int_eq(ngt_status(c, st, sizeof(st)), 412);
	/* 513: 501, and the session goes on. */
	memset(line + 16 + 241, 'b', 254);
	memcpy(line + 511, "\r\n", 2);
	ck_assert_int_eq(ngt_send_raw(c, line, 513), 0);
	ck_assert_int_eq(ngt_status(c, st, sizeof(st)), 501);
	expect(c, 211, false, "GROUP %s", GROUP_P);
	/* 200 kB without a newline, then one: one 501. */
	memset(line, 'x', sizeof(line));
	ck_assert_int_eq(ngt_send_raw(c, line, sizeof(line)), 0);
	ck_assert_int_eq(ngt_send_raw(c, "\r\nDATE\r\n", 8), 0);
	ck_assert_int_eq(ngt_status(c, st, sizeof(st)), 501);
	ck_assert_int_eq(ngt_status(c, st, sizeof(st)), 111);
	ngt_close(c);
	stop();
}
END_TEST

START_TEST(test_nul_and_garbage)
{
	struct ngt_conn *c;
	char junk[65536], st[NGT_LINE_MAX];
	unsigned x = 7;
	size_t i;

	start(NULL);
	c = client();
	ck_assert_int_eq(ngt_send_raw(c, "GROUP pak\0istan.news\r\n", 22), 0);
	ck_assert_int_eq(ngt_status(c, st, sizeof(st)), 501);
	for (i = 0; i < sizeof(junk); i++) {
		x = x * 1103515245 + 12345;
		junk[i] = (char)(x >> 16);
	}
	ck_assert_int_eq(ngt_send_raw(c, junk, sizeof(junk)), 0);
	ck_assert_int_eq(ngt_send_raw(c, "\r\nQUIT\r\n", 8), 0);
	/* Whatever the garbage got, the replies are well-formed lines and
	 * QUIT ends them. */
	for (;;) {
		int code = ngt_status(c, st, sizeof(st));

		ck_assert_msg(code >= 100 && code < 600, "reply '%s'", st);
		if (code == 205)
			break;
		ck_assert(code == 500 || code == 501 || code == 412 ||
		    code == 411 || code == 430 || code == 423);
	}
	ngt_close(c);
	c = client();
	expect(c, 211, false, "GROUP %s", GROUP_P);
	ngt_close(c);
	stop();
}
END_TEST

START_TEST(test_dotdot_names)
{
	struct ngt_conn *c;

	start(NULL);
	c = client();
	expect(c, 411, false, "GROUP ../../../etc");
	expect(c, 411, false, "GROUP pakistan/../pakistan.news");
	expect(c, 411, false, "LISTGROUP ..");
	expect(c, 430, false, "ARTICLE <../../../../etc/passwd>");
	expect(c, 430, false, "STAT <../data/active>");
	expect(c, 430, false, "OVER <..>");
	ck_assert_int_eq(expect(c, 215, true, "LIST ACTIVE ../*"), 0);
	ck_assert_int_eq(expect(c, 215, true, "LIST ACTIVE ../x"), 0);
	ck_assert_int_eq(expect(c, 230, true,
			     "NEWNEWS ../* 19700101 000000 GMT"),
	    0);
	ngt_close(c);
	stop();
}
END_TEST

/* A client that connects and says nothing is closed at idle_timeout
 * with 400; the others are not disturbed. */
START_TEST(test_idle_client)
{
	const char *extra[] = {"--config", NULL, NULL};
	struct ngt_conn *idle, *c;
	char conf[PATH_MAX], st[NGT_LINE_MAX];

	write_conf("idle.conf", "[server]\nidle_timeout = 1\n", conf);
	extra[1] = conf;
	start(extra);
	idle = client();
	ck_assert_int_eq(ngt_status(idle, st, sizeof(st)), 400);
	ck_assert_str_eq(st, "400 Idle timeout");
	ck_assert(ngt_eof(idle, NGT_WAIT_MS));
	c = client();
	expect(c, 211, false, "GROUP %s", GROUP_P);
	ngt_close(idle);
	ngt_close(c);
	ck_assert(log_has("idle timeout after"));
	stop();
}
END_TEST

START_TEST(test_disconnect_mid_command)
{
	struct ngt_conn *c;
	int i;

	start(NULL);
	/* Half a command, then gone. */
	c = client();
	ck_assert_int_eq(ngt_send_raw(c, "GROUP pakis", 11), 0);
	ngt_close(c);
	/* A long response nobody reads. */
	for (i = 0; i < 5; i++) {
		c = client();
		ck_assert_int_eq(ngt_send(c, "GROUP %s\r\nOVER 1-\r\nARTICLE 1",
				     GROUP_U),
		    0);
		ngt_close(c);
	}
	/* Reset instead of a close. */
	c = client();
	{
		struct linger lg = {1, 0};

		setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	ck_assert_int_eq(ngt_send(c, "LIST"), 0);
	ngt_close(c);
	c = client();
	expect(c, 211, false, "GROUP %s", GROUP_P);
	ck_assert_int_eq(expect(c, 224, true, "XOVER 1-"), 3);
	ngt_close(c);
	ck_assert(ngt_server_alive(&srv));
	stop();
}
END_TEST

/* --- limits and scale ------------------------------------------------------------ */

START_TEST(test_connection_limits)
{
	const char *extra[] = {"--config", NULL, NULL};
	struct ngt_conn *c[4], *over;
	char conf[PATH_MAX], st[NGT_LINE_MAX];
	int i;

	write_conf("limits.conf", "[server]\nmax_per_address = 3\n", conf);
	extra[1] = conf;
	start(extra);
	for (i = 0; i < 3; i++)
		c[i] = client();
	ck_assert_ptr_nonnull(over = ngt_connect(srv.port));
	ck_assert_int_eq(ngt_status(over, st, sizeof(st)), 400);
	ck_assert_str_eq(st, "400 Too many connections from your address");
	ck_assert(ngt_eof(over, NGT_WAIT_MS));
	ngt_close(over);
	/* One closes: there is room again. */
	ck_assert_int_eq(ngt_cmd(c[0], st, sizeof(st), "QUIT"), 205);
	ck_assert(ngt_eof(c[0], NGT_WAIT_MS));
	ngt_close(c[0]);
	c[0] = client();
	expect(c[0], 211, false, "GROUP %s", GROUP_P);
	/* SIGHUP reloads the limit. */
	write_conf("limits.conf", "[server]\nmax_per_address = 4\n", NULL);
	ck_assert_int_eq(ngt_server_signal(&srv, SIGHUP), 0);
	ck_assert(log_has("reload: configuration"));
	c[3] = client();
	expect(c[3], 111, false, "DATE");
	for (i = 0; i < 4; i++)
		ngt_close(c[i]);
	stop();
}
END_TEST

START_TEST(test_max_connections)
{
	const char *extra[] = {"--config", NULL, NULL};
	struct ngt_conn *c[2], *over;
	char conf[PATH_MAX], st[NGT_LINE_MAX];

	write_conf("max.conf", "[server]\nmax_connections = 2\n", conf);
	extra[1] = conf;
	start(extra);
	c[0] = client();
	c[1] = client();
	ck_assert_ptr_nonnull(over = ngt_connect(srv.port));
	ck_assert_int_eq(ngt_status(over, st, sizeof(st)), 400);
	ck_assert(ngt_eof(over, NGT_WAIT_MS));
	ngt_close(over);
	ngt_close(c[0]);
	ngt_close(c[1]);
	stop();
}
END_TEST

/*
 * 1,000 clients at once, all answered; a normal reader is served in the
 * middle of them; idle connections cost well under 32 KiB each.
 */
START_TEST(test_thousand_connections)
{
	static struct ngt_conn *cs[NCONNS];
	struct ngt_conn *reader;
	char st[NGT_LINE_MAX];
	long before, after, per;
	int i;

	ck_assert_int_gt(ngt_raise_nofile(), NCONNS + 64);
	start(NULL);
	reader = client();
	expect(reader, 211, false, "GROUP %s", GROUP_P);
	before = rss_kib(srv.pid);
	for (i = 0; i < NCONNS; i++)
		ck_assert_ptr_nonnull(cs[i] = ngt_connect(srv.port));
	for (i = 0; i < NCONNS; i++)
		ck_assert_int_eq(ngt_status(cs[i], st, sizeof(st)), 200);
	for (i = 0; i < NCONNS; i++)
		ck_assert_int_eq(ngt_send(cs[i], "GROUP %s", GROUP_P), 0);
	ck_assert_int_gt(expect(reader, 220, true, "ARTICLE 1"), 5);
	for (i = 0; i < NCONNS; i++)
		ck_assert_int_eq(ngt_status(cs[i], st, sizeof(st)), 211);
	after = rss_kib(srv.pid);
	per = (after - before) * 1024 / NCONNS;
	fprintf(stderr, "test_thousand_connections: %ld bytes of RSS per "
			"idle connection\n",
	    per);
	ck_assert_int_lt(per, 32 * 1024);
	for (i = 0; i < NCONNS; i++)
		ngt_close(cs[i]);
	expect(reader, 111, false, "DATE");
	ngt_close(reader);
	stop();
}
END_TEST

/* A reader with a tiny receive window: the server's queue fills, it
 * stops generating and reading, and everything still arrives in order.
 * (That the queue stays near its high-water mark is asserted exactly in
 * check_session.c and by fuzz_command.c.) */
START_TEST(test_slow_reader_backpressure)
{
	struct sockaddr_in sin;
	struct ngt_conn *c;
	char st[NGT_LINE_MAX];
	int small = 4096, fd;

	start(NULL);
	ck_assert((fd = socket(AF_INET, SOCK_STREAM, 0)) != -1);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)srv.port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	c = xcalloc(1, sizeof(*c));
	c->fd = fd;
	c->timeout_ms = NGT_WAIT_MS;
	ck_assert_int_eq(ngt_status(c, st, sizeof(st)), 200);
	/* Three whole-group overviews and more, asked for at once. */
	ck_assert_int_eq(ngt_send(c, "GROUP %s\r\nOVER 1-\r\nXOVER 1-\r\n"
				     "XHDR Subject 1-\r\nLISTGROUP\r\nDATE",
			     GROUP_U),
	    0);
	ck_assert_int_eq(ngt_status(c, st, sizeof(st)), 211);
	ck_assert_int_eq(ngt_status(c, st, sizeof(st)), 224);
	ck_assert_int_eq(ngt_body(c, NULL), NBIG + 1);
	ck_assert_int_eq(ngt_status(c, st, sizeof(st)), 224);
	ck_assert_int_eq(ngt_body(c, NULL), NBIG + 1);
	ck_assert_int_eq(ngt_status(c, st, sizeof(st)), 221);
	ck_assert_int_eq(ngt_body(c, NULL), NBIG + 1);
	ck_assert_int_eq(ngt_status(c, st, sizeof(st)), 211);
	ck_assert_int_eq(ngt_body(c, NULL), NBIG + 1);
	ck_assert_int_eq(ngt_status(c, st, sizeof(st)), 111);
	ngt_close(c);
	stop();
}
END_TEST

/* --- freshness, signals, listeners ----------------------------------------------- */

START_TEST(test_import_while_serving)
{
	static const char art[] =
	    "From: Tester <tester@example.invalid>\n"
	    "Newsgroups: " GROUP_P "\n"
	    "Subject: Fresh news\n"
	    "Date: Tue, 03 Jan 2017 11:00:00 +0000\n"
	    "Message-ID: <fresh@test.example>\n"
	    "\n"
	    "Just in.\n";
	struct ngt_dir d;
	struct ngt_conn *c;
	struct buf body = BUF_INIT(SIZE_MAX);
	char st[NGT_LINE_MAX], date[32];
	uint64_t deadline;
	time_t t0 = time(NULL) - 2;
	struct tm tm;

	ck_assert_int_eq(ngt_dir_new(&d, "ng-e2e-fresh"), 0);
	ck_assert_int_eq(ngt_import_text(&d, "seed.mbox",
			     "From x Tue Jan  3 10:00:00 2017\n"
			     "From: Tester <tester@example.invalid>\n"
			     "Newsgroups: " GROUP_P "\n"
			     "Subject: Old news\n"
			     "Date: Tue, 03 Jan 2017 10:00:00 +0000\n"
			     "Message-ID: <old@test.example>\n\nBefore.\n"),
	    0);
	ck_assert_int_eq(ngt_server_start(&srv, d.spool, NULL), 0);
	c = client();
	ck_assert_int_eq(ngt_cmd(c, st, sizeof(st), "GROUP %s", GROUP_P), 211);
	ck_assert_str_eq(st, "211 1 1 1 " GROUP_P);
	ck_assert_int_eq(ngt_import_text(&d, "fresh.eml", art), 0);
	/* Visible at once: the next command sees it. Poll anyway, with a
	 * deadline, in case the import's rename is still in flight. */
	deadline = now_ms() + NGT_WAIT_MS;
	do
		ck_assert_int_eq(ngt_cmd(c, st, sizeof(st), "GROUP %s",
				     GROUP_P),
		    211);
	while (strcmp(st, "211 2 1 2 " GROUP_P) != 0 && now_ms() < deadline);
	ck_assert_str_eq(st, "211 2 1 2 " GROUP_P);
	ck_assert_int_eq(ngt_cmd(c, st, sizeof(st), "OVER 2"), 224);
	ck_assert_int_eq(ngt_body(c, &body), 1);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&body), "\tFresh news\t"));
	buf_reset(&body);
	gmtime_r(&t0, &tm);
	ck_assert(strftime(date, sizeof(date), "%Y%m%d %H%M%S", &tm) > 0);
	ck_assert_int_eq(ngt_cmd(c, st, sizeof(st), "NEWNEWS %s %s GMT",
			     GROUP_P, date),
	    230);
	ck_assert_int_ge(ngt_body(c, &body), 1);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&body), "<fresh@test.example>\n"));
	expect(c, 220, true, "ARTICLE <fresh@test.example>");
	ngt_close(c);
	buf_free(&body);
	stop();
	ngt_dir_free(&d);
}
END_TEST

/* SIGTERM: idle clients get 400 and the server exits 0. */
START_TEST(test_sigterm_graceful)
{
	struct ngt_conn *c;
	char st[NGT_LINE_MAX];

	start(NULL);
	c = client();
	expect(c, 211, false, "GROUP %s", GROUP_P);
	ck_assert_int_eq(ngt_server_signal(&srv, SIGTERM), 0);
	ck_assert_int_eq(ngt_status(c, st, sizeof(st)), 400);
	ck_assert_str_eq(st, "400 Server shutting down");
	ck_assert(ngt_eof(c, NGT_WAIT_MS));
	ngt_close(c);
	stop();
}
END_TEST

START_TEST(test_ipv6_listener)
{
	const char *extra[] = {"--listen", "[::1]:0", NULL};
	struct sockaddr_in6 sin6;
	struct ngt_conn c6;
	char path[PATH_MAX], text[64], st[NGT_LINE_MAX];
	ssize_t n;
	int fd;

	/* No IPv6 loopback here: nothing to test. */
	if ((fd = socket(AF_INET6, SOCK_STREAM, 0)) == -1)
		return;
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_addr = in6addr_loopback;
	if (bind(fd, (struct sockaddr *)&sin6, sizeof(sin6)) == -1) {
		close(fd);
		return;
	}
	close(fd);
	start(extra);
	ck_assert(str_printf(path, sizeof(path), "%s/port", srv.dir));
	ck_assert((fd = open(path, O_RDONLY)) != -1);
	ck_assert_int_gt(n = read(fd, text, sizeof(text) - 1), 0);
	close(fd);
	text[n] = '\0';
	ck_assert_ptr_nonnull(strchr(text, '\n'));
	sin6.sin6_port = htons((uint16_t)strtol(strchr(text, '\n') + 1,
	    NULL, 10));
	ck_assert((fd = socket(AF_INET6, SOCK_STREAM, 0)) != -1);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sin6, sizeof(sin6)),
	    0);
	memset(&c6, 0, sizeof(c6));
	c6.fd = fd;
	c6.timeout_ms = NGT_WAIT_MS;
	ck_assert_int_eq(ngt_status(&c6, st, sizeof(st)), 200);
	expect(&c6, 211, false, "GROUP %s", GROUP_P);
	close(fd);
	ck_assert(log_has("conn [::1]:"));
	stop();
}
END_TEST

/* inetd: one session on stdin/stdout, then exit 0. */
START_TEST(test_inetd_mode)
{
	struct ngt_conn c;
	char st[NGT_LINE_MAX];
	int sv[2], status;
	pid_t pid;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert((pid = fork()) != -1);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(sv[1], 0);
		dup2(sv[1], 1);
		dup2(null, 2);
		close(sv[0]);
		execl(ngt_bin(), ngt_bin(), "serve", "--inetd", "--spool",
		    fx.spool, (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	memset(&c, 0, sizeof(c));
	c.fd = sv[0];
	c.timeout_ms = NGT_WAIT_MS;
	/* A UNIX socket is a local client: 200. */
	ck_assert_int_eq(ngt_status(&c, st, sizeof(st)), 200);
	expect(&c, 211, false, "GROUP %s", GROUP_P);
	expect(&c, 220, true, "ARTICLE 3");
	ck_assert_int_eq(ngt_cmd(&c, st, sizeof(st), "QUIT"), 205);
	ck_assert(ngt_eof(&c, NGT_WAIT_MS));
	close(sv[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}
END_TEST

/* GROUP on a fresh connection to port; true when it answered 211. */
static bool
serves(int port)
{
	struct ngt_conn *c = ngt_connect(port);
	char st[NGT_LINE_MAX];
	bool ok;

	if (c == NULL)
		return false;
	ok = ngt_status(c, st, sizeof(st)) == 200 &&
	    ngt_cmd(c, st, sizeof(st), "GROUP %s", GROUP_P) == 211;
	ngt_close(c);
	return ok;
}

static bool
gone(pid_t pid)
{
	uint64_t deadline = now_ms() + NGT_WAIT_MS;
	struct timespec ts = {0, 5 * 1000000L};

	while (now_ms() < deadline) {
		if (kill(pid, 0) == -1 && errno == ESRCH)
			return true;
		nanosleep(&ts, NULL);
	}
	return false;
}

/* --daemon detaches (the command returns), writes the pid file, serves,
 * and removes the pid file when SIGTERM stops it. */
START_TEST(test_daemon_pid_file)
{
	char pidf[PATH_MAX], portf[PATH_MAX], text[32];
	/* user root: a server that dropped root could not remove its pid
	 * file from this root-owned directory. */
	const char *args[] = {"serve", "--daemon", "--spool", fx.spool,
	    "--listen", "127.0.0.1:0", "--port-file", portf, "--pid-file",
	    pidf, "--user", "root", NULL};
	uint64_t deadline, pid = 0, port = 0;
	bool served;
	ssize_t n;
	int fd;

	ck_assert(str_printf(pidf, sizeof(pidf), "%s/daemon.pid", fx.path));
	ck_assert(str_printf(portf, sizeof(portf), "%s/daemon.port", fx.path));
	ck_assert_int_eq(ngt_run(args, NULL, NGT_WAIT_MS), 0);
	deadline = now_ms() + NGT_WAIT_MS;
	while (pid == 0 && now_ms() < deadline) {
		if ((fd = open(pidf, O_RDONLY)) != -1) {
			n = read(fd, text, sizeof(text) - 1);
			close(fd);
			if (n > 1 && text[n - 1] == '\n' &&
			    parse_u64(text, (size_t)n - 1, &pid) == -1)
				pid = 0;
		}
	}
	ck_assert_int_gt(pid, 1);
	/* Nothing may fail between here and the kill: the daemon is not
	 * our child and would outlive the test. */
	served = (fd = open(portf, O_RDONLY)) != -1 &&
	    (n = read(fd, text, sizeof(text) - 1)) > 1 &&
	    parse_u64(text, strcspn(text, "\n"), &port) == 0 &&
	    serves((int)port);
	if (fd != -1)
		close(fd);
	kill((pid_t)pid, SIGTERM);
	ck_assert(served);
	ck_assert(gone((pid_t)pid));
	ck_assert_int_eq(access(pidf, F_OK), -1);
}
END_TEST

/* systemd socket activation: the listening socket arrives as fd 3 with
 * LISTEN_PID and LISTEN_FDS (sd_listen_fds(3)); no --listen given. */
START_TEST(test_socket_activation)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int lfd, p[2], status, port = 0;
	char pidtext[32];
	pid_t pid;

	ck_assert((lfd = socket(AF_INET, SOCK_STREAM, 0)) != -1);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(lfd, 16), 0);
	ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&sin, &len), 0);
	port = ntohs(sin.sin_port);
	ck_assert_int_eq(pipe(p), 0);
	ck_assert((pid = fork()) != -1);
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		dup2(lfd, 3);
		if (lfd != 3)
			close(lfd);
		(void)!str_printf(pidtext, sizeof(pidtext), "%ld",
		    (long)getpid());
		setenv("LISTEN_PID", pidtext, 1);
		setenv("LISTEN_FDS", "1", 1);
		execl(ngt_bin(), ngt_bin(), "serve", "--spool", fx.spool,
		    (char *)NULL);
		_exit(127);
	}
	close(lfd);
	close(p[0]);
	close(p[1]);
	ck_assert(serves(port));
	ck_assert(serves(port));
	kill(pid, SIGTERM);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}
END_TEST

/* --- libetpan's client ------------------------------------------------------------- */

START_TEST(test_libetpan_flows)
{
	struct newsnntp_group_info *gi;
	newsnntp *nn;
	clist *l;
	clistiter *it;
	char *art;
	size_t len;
	int n;

	start(NULL);
	ck_assert_ptr_nonnull(nn = newsnntp_new(0, NULL));
	ck_assert_int_eq(newsnntp_socket_connect(nn, "127.0.0.1",
			     (uint16_t)srv.port),
	    NEWSNNTP_NO_ERROR);
	ck_assert_int_eq(newsnntp_mode_reader(nn), NEWSNNTP_NO_ERROR);
	ck_assert_int_eq(newsnntp_list(nn, &l), NEWSNNTP_NO_ERROR);
	ck_assert_int_eq(clist_count(l), 2);
	gi = clist_content(clist_begin(l));
	ck_assert_str_eq(gi->grp_name, GROUP_P);
	ck_assert_int_eq(gi->grp_last, 3);
	newsnntp_list_free(l);
	ck_assert_int_eq(newsnntp_list_overview_fmt(nn, &l), NEWSNNTP_NO_ERROR);
	ck_assert_int_eq(clist_count(l), 8);
	newsnntp_list_overview_fmt_free(l);
	ck_assert_int_eq(newsnntp_group(nn, GROUP_U, &gi), NEWSNNTP_NO_ERROR);
	ck_assert_int_eq(gi->grp_count, NBIG + 1);
	ck_assert_int_eq(gi->grp_first, 1);
	newsnntp_group_free(gi);
	ck_assert_int_eq(newsnntp_xover_range(nn, 1, NBIG + 1, &l),
	    NEWSNNTP_NO_ERROR);
	ck_assert_int_eq(clist_count(l), NBIG + 1);
	n = 0;
	for (it = clist_begin(l); it != NULL; it = clist_next(it)) {
		struct newsnntp_xover_resp_item *x = clist_content(it);

		ck_assert_int_eq(x->ovr_article, (uint32_t)++n);
		ck_assert_ptr_nonnull(x->ovr_message_id);
	}
	newsnntp_xover_resp_list_free(l);
	ck_assert_int_eq(newsnntp_article(nn, 2, &art, &len),
	    NEWSNNTP_NO_ERROR);
	ck_assert_ptr_nonnull(strstr(art, "Subject: Big number 1\r\n"));
	newsnntp_article_free(art);
	/* libetpan adds the angle brackets itself. */
	ck_assert_int_eq(newsnntp_article_by_message_id(nn,
			     (char *)(uintptr_t) "p1@test.example", &art,
			     &len),
	    NEWSNNTP_NO_ERROR);
	ck_assert_ptr_nonnull(strstr(art, "\r\n.leading dot\r\n"));
	newsnntp_article_free(art);
	ck_assert_int_eq(newsnntp_article(nn, NBIG + 5, &art, &len),
	    NEWSNNTP_ERROR_INVALID_ARTICLE_NUMBER);
	ck_assert_int_eq(newsnntp_group(nn, "no.such.group", &gi),
	    NEWSNNTP_ERROR_NO_SUCH_NEWS_GROUP);
	ck_assert_int_eq(newsnntp_list_newsgroups(nn, "pakistan.*", &l),
	    NEWSNNTP_NO_ERROR);
	ck_assert_int_eq(clist_count(l), 1);
	newsnntp_list_newsgroups_free(l);
	newsnntp_quit(nn);
	newsnntp_free(nn);
	stop();
}
END_TEST

static Suite *
server_suite(void)
{
	Suite *s = suite_create("server");
	TCase *tc = tcase_create("e2e");

	tcase_set_timeout(tc, 120);
	tcase_add_unchecked_fixture(tc, fixture_up, fixture_down);
	tcase_add_test(tc, test_trace_commands);
	tcase_add_test(tc, test_pipelining);
	tcase_add_test(tc, test_dot_stuffing_and_crlf);
	tcase_add_test(tc, test_long_lines);
	tcase_add_test(tc, test_nul_and_garbage);
	tcase_add_test(tc, test_dotdot_names);
	tcase_add_test(tc, test_idle_client);
	tcase_add_test(tc, test_disconnect_mid_command);
	tcase_add_test(tc, test_connection_limits);
	tcase_add_test(tc, test_max_connections);
	tcase_add_test(tc, test_thousand_connections);
	tcase_add_test(tc, test_slow_reader_backpressure);
	tcase_add_test(tc, test_import_while_serving);
	tcase_add_test(tc, test_sigterm_graceful);
	tcase_add_test(tc, test_ipv6_listener);
	tcase_add_test(tc, test_inetd_mode);
	tcase_add_test(tc, test_daemon_pid_file);
	tcase_add_test(tc, test_socket_activation);
	tcase_add_test(tc, test_libetpan_flows);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(server_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
