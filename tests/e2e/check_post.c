/*
 * check_post.c - POST against the real `newsgate serve` (RFC 3977 §6.3.1,
 * RFC 5536/5537): raw sockets and libetpan's newsnntp_post; the reply to
 * each 441 reason, end to end; duplicate Message-IDs; a follow-up whose
 * References show in OVER and whose injection headers show in ARTICLE;
 * every connection sees a post at once; posts from several connections
 * committed together; readers served while a post waits for the spool
 * (its writer lock held, as by an import); the same three with [spool]
 * sync = no, and refusals that leave the lock free; a client that drops in the
 * middle of an article
 * leaves nothing; a read-only group; the article size ceiling exactly at
 * and one octet over; post_policy and the rate limit; a full disk (a
 * 1 MiB tmpfs: 441, then a consistent spool, then posting again once
 * there is room); the privilege drop of a server started as root.
 *
 * Each test has its own spool (the sample imported) and server.
 */
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <check.h>
#include <fcntl.h>
#include <libetpan/libetpan.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include "common.h"
#include "buf.h"
#include "ngtest.h"
#include "tui.h"

#define GROUP_P "pakistan.news"
#define GROUP_U "us.statedept"
#define GROUP_RO "local.announce"
#define ROOT_SUBJECT "United States not considering sanctions"

static struct ngt_dir d;
static struct ngt_server srv;
static char mnt[PATH_MAX]; /* a tmpfs mounted by the test, or "" */
static char root_id[256]; /* Message-ID of pakistan.news 1 */

/* A fresh spool with the sample and a read-only group. */
static void
spool_up(void)
{
	char sample[PATH_MAX];
	const char *ro[] = {"groups", "--spool", d.spool, "add", GROUP_RO,
	    "Announcements", "--read-only", NULL};

	signal(SIGPIPE, SIG_IGN);
	ck_assert_int_eq(ngt_dir_new(&d, "ng-post"), 0);
	/* Started as root, the server runs as news or nobody: it must
	 * still reach the configurations in here. */
	ck_assert_int_eq(chmod(d.path, 0755), 0);
	ck_assert(str_printf(sample, sizeof(sample), "%s/contrib/sample/",
	    ngt_top()));
	ck_assert_int_eq(ngt_import(&d, sample), 0);
	ck_assert_int_eq(ngt_run(ro, NULL, NGT_WAIT_MS), 0);
}

static void
start(const char *const *extra)
{
	struct ngt_conn *c;
	char st[NGT_LINE_MAX];

	ck_assert_int_eq(ngt_server_start(&srv, d.spool, extra), 0);
	ck_assert_ptr_nonnull(c = ngt_connect(srv.port));
	ck_assert_int_ge(ngt_status(c, st, sizeof(st)), 200);
	ck_assert_int_eq(ngt_cmd(c, st, sizeof(st), "STAT <x@y>"), 430);
	ck_assert_int_eq(ngt_cmd(c, st, sizeof(st), "GROUP " GROUP_P), 211);
	ck_assert_int_eq(ngt_cmd(c, st, sizeof(st), "STAT 1"), 223);
	ck_assert(sscanf(st, "223 1 %255s", root_id) == 1);
	ngt_close(c);
}

static void
setup(void)
{
	spool_up();
}

static void
teardown(void)
{
	if (srv.pid > 0)
		(void)ngt_server_stop(&srv);
	if (mnt[0] != '\0')
		(void)umount2(mnt, MNT_DETACH);
	mnt[0] = '\0';
	ngt_dir_free(&d);
}

/* Connect; the greeting's code. */
static struct ngt_conn *
client(int want)
{
	struct ngt_conn *c = ngt_connect(srv.port);
	char st[NGT_LINE_MAX];

	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(ngt_status(c, st, sizeof(st)), want);
	return c;
}

/* An article (LF lines) as sent after 340: CRLF, dot-stuffed, ".". */
static void
send_article(struct ngt_conn *c, const char *art)
{
	const char *p, *nl;

	for (p = art; *p; p = nl + 1) {
		nl = strchr(p, '\n');
		ck_assert_ptr_nonnull(nl);
		ck_assert_int_eq(ngt_send(c, "%s%.*s", *p == '.' ? "." : "",
				     (int)(nl - p), p),
		    0);
	}
	ck_assert_int_eq(ngt_send(c, "."), 0);
}

/* POST then the article; the final reply code, its line in st. */
static int
post(struct ngt_conn *c, const char *art, char *st, size_t cap)
{
	int code;

	if ((code = ngt_cmd(c, st, cap, "POST")) != 340)
		return code;
	send_article(c, art);
	return ngt_status(c, st, cap);
}

/* A command's multi-line answer into body (reset). */
static int
block(struct ngt_conn *c, struct buf *body, const char *verb, const char *arg)
{
	char st[NGT_LINE_MAX];
	int code;

	buf_reset(body);
	code = ngt_cmd(c, st, sizeof(st), "%s %s", verb, arg);
	if (code < 300)
		ck_assert_int_ge(ngt_body(c, body), 0);
	return code;
}

static uint64_t
group_high(struct ngt_conn *c, const char *group)
{
	char st[NGT_LINE_MAX], name[200];
	uint64_t n, lo, hi;

	ck_assert_int_eq(ngt_cmd(c, st, sizeof(st), "GROUP %s", group), 211);
	ck_assert(sscanf(st, "211 %" SCNu64 " %" SCNu64 " %" SCNu64 " %199s",
		      &n, &lo, &hi, name) == 4);
	return hi;
}

static int
check_spool(struct buf *out)
{
	const char *args[] = {"check", "--spool", d.spool, NULL};

	return ngt_run(args, out, NGT_WAIT_MS);
}

/* --- the flows --------------------------------------------------------- */

START_TEST(test_post_follow_up)
{
	struct ngt_conn *c, *other;
	struct buf b = BUF_INIT(1 << 20), art = BUF_INIT(SIZE_MAX);
	char st[NGT_LINE_MAX], id[256], want[600];
	uint64_t hi0;

	start(NULL);
	/* Another reader, connected and in the group before the post. */
	other = client(200);
	hi0 = group_high(other, GROUP_P);
	c = client(200);
	ck_assert_int_eq(ngt_cmd(c, st, sizeof(st), "MODE READER"), 200);
	/* What slrn sends: no Message-ID, no Date, a folded Subject. */
	buf_printf(&art,
	    "Newsgroups: " GROUP_P "," GROUP_U "\n"
	    "From: Slrn Tester <tester@example.invalid>\n"
	    "Subject: Re: United States not considering sanctions on "
	    "Pakistan,\n assures State Department\n"
	    "References: %s\n"
	    "User-Agent: slrn/1.0.3 (Linux)\n"
	    "\n"
	    "A follow-up.\n"
	    ".leading dot\n"
	    "..two dots\n",
	    root_id);
	ck_assert_int_eq(ngt_cmd(c, st, sizeof(st), "POST"), 340);
	ck_assert(sscanf(strrchr(st, '<'), "%255s", id) == 1);
	send_article(c, buf_cstr(&art));
	ck_assert_int_eq(ngt_status(c, st, sizeof(st)), 240);
	ck_assert(str_printf(want, sizeof(want), "240 Article received %s",
	    id));
	ck_assert_str_eq(st, want);
	/* At once, for a connection that was already there. */
	ck_assert_int_eq(group_high(other, GROUP_P), hi0 + 1);
	ck_assert_int_eq(block(other, &b, "OVER", id), 224);
	ck_assert(str_printf(want, sizeof(want), "\t%s\t%s\t", id, root_id));
	ck_assert_msg(strstr(buf_cstr(&b), want) != NULL, "OVER: %s",
	    buf_cstr(&b));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&b), "Re: United States not "
						    "considering sanctions"));
	ck_assert_int_eq(block(other, &b, "ARTICLE", id), 220);
	ck_assert_msg(strstr(buf_cstr(&b), "Path: newsgate.invalid!.POSTED."
					   "127.0.0.1!not-for-mail\n") != NULL,
	    "%s", buf_cstr(&b));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&b), "\nInjection-Date: "));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&b),
	    "\nInjection-Info: newsgate.invalid; posting-host=\"127.0.0.1\"\n"));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&b), "\nDate: "));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&b), "\nLines: 3\n"));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&b), "\nXref: newsgate.invalid "
						    GROUP_P ":"));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&b), " " GROUP_U ":"));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&b),
	    "\n\nA follow-up.\n.leading dot\n..two dots\n"));
	/* Crossposted: in the other group too. */
	ck_assert_int_eq(group_high(other, GROUP_U), 2);
	ngt_close(other);
	ngt_close(c);
	buf_free(&b);
	buf_free(&art);
	ck_assert_int_eq(check_spool(NULL), 0);
}
END_TEST

/*
 * A post without References starts a thread; with [threading] posts =
 * yes it joins the story it is about by similarity (its terms cut by the
 * event loop, weighed by the writer's threader), as an import would.
 */
static void
post_copy_of_root(struct ngt_conn *c, const char *subject, const char *body,
    struct buf *over)
{
	struct buf art = BUF_INIT(SIZE_MAX);
	char st[NGT_LINE_MAX], id[256];

	buf_printf(&art,
	    "Newsgroups: " GROUP_P "\n"
	    "From: Commenter <c@example.invalid>\n"
	    "Subject: %s\n"
	    "\n"
	    "%s",
	    subject, body);
	ck_assert_int_eq(ngt_cmd(c, st, sizeof(st), "POST"), 340);
	ck_assert(sscanf(strrchr(st, '<'), "%255s", id) == 1);
	send_article(c, buf_cstr(&art));
	ck_assert_int_eq(ngt_status(c, st, sizeof(st)), 240);
	ck_assert_int_eq(block(c, over, "OVER", id), 224);
	buf_free(&art);
}

START_TEST(test_post_threading_switch)
{
	static const char *extra[] = {"--config", NULL, NULL};
	struct ngt_conn *c;
	struct buf b = BUF_INIT(1 << 20), over = BUF_INIT(1 << 16);
	char conf[PATH_MAX], subject[1024], want[600];
	const char *p, *e, *body;

	ck_assert_int_eq(ngt_write(d.path, "thread-posts.conf",
			     "[threading]\nposts = yes\n", conf),
	    0);
	extra[1] = conf;
	start(extra);
	c = client(200);
	ck_assert_int_eq(ngt_cmd(c, want, sizeof(want), "GROUP " GROUP_P), 211);
	ck_assert_int_eq(block(c, &b, "ARTICLE", "1"), 220);
	ck_assert_ptr_nonnull(p = strstr(buf_cstr(&b), "\nSubject: "));
	p += 10;
	ck_assert_ptr_nonnull(e = strchr(p, '\n'));
	ck_assert(str_printf(subject, sizeof(subject), "%.*s", (int)(e - p), p));
	ck_assert_ptr_nonnull(body = strstr(buf_cstr(&b), "\n\n"));
	body += 2;
	/* posts = yes: threaded under the story it repeats. */
	post_copy_of_root(c, subject, body, &over);
	ck_assert(str_printf(want, sizeof(want), "\t%s\t", root_id));
	ck_assert_msg(strstr(buf_cstr(&over), want) != NULL, "OVER: %s",
	    buf_cstr(&over));
	ngt_close(c);
	ck_assert_int_eq(ngt_server_stop(&srv), 0);
	/* The default (posts = no): the same post starts a thread. */
	start(NULL);
	c = client(200);
	ck_assert_int_eq(ngt_cmd(c, want, sizeof(want), "GROUP " GROUP_P), 211);
	post_copy_of_root(c, subject, body, &over);
	ck_assert_msg(strstr(buf_cstr(&over), root_id) == NULL, "OVER: %s",
	    buf_cstr(&over));
	ngt_close(c);
	buf_free(&b);
	buf_free(&over);
	ck_assert_int_eq(check_spool(NULL), 0);
}
END_TEST

START_TEST(test_post_libetpan)
{
	static const char msg[] =
	    "From: Etpan <etpan@example.invalid>\r\n"
	    "Newsgroups: " GROUP_P "\r\n"
	    "Subject: Posted by libetpan\r\n"
	    "Message-ID: <etpan.1@example.invalid>\r\n"
	    "\r\n"
	    "Body from newsnntp_post.\r\n"
	    ".a line with a leading dot\r\n";
	struct newsnntp_group_info *gi;
	newsnntp *nn;
	char *art;
	size_t len;

	start(NULL);
	ck_assert_ptr_nonnull(nn = newsnntp_new(0, NULL));
	ck_assert_int_eq(newsnntp_socket_connect(nn, "127.0.0.1",
			     (uint16_t)srv.port),
	    NEWSNNTP_NO_ERROR);
	ck_assert_int_eq(newsnntp_mode_reader(nn), NEWSNNTP_NO_ERROR);
	ck_assert_int_eq(newsnntp_post(nn, msg, sizeof(msg) - 1),
	    NEWSNNTP_NO_ERROR);
	/* The same again: a duplicate. */
	ck_assert_int_eq(newsnntp_post(nn, msg, sizeof(msg) - 1),
	    NEWSNNTP_ERROR_POSTING_FAILED);
	ck_assert_int_eq(newsnntp_group(nn, GROUP_P, &gi), NEWSNNTP_NO_ERROR);
	ck_assert_int_eq(gi->grp_last, 2);
	newsnntp_group_free(gi);
	ck_assert_int_eq(newsnntp_article_by_message_id(nn,
			     (char *)(uintptr_t) "etpan.1@example.invalid", &art,
			     &len),
	    NEWSNNTP_NO_ERROR);
	ck_assert_ptr_nonnull(strstr(art, "\r\n\r\nBody from newsnntp_post.\r\n"
					  ".a line with a leading dot\r\n"));
	newsnntp_article_free(art);
	newsnntp_quit(nn);
	newsnntp_free(nn);
}
END_TEST

/* Every refusal, end to end: 441 and the reason. */
START_TEST(test_post_refusals)
{
	static const struct {
		const char *art;
		const char *reply;
	} bad[] = {
	    {"Newsgroups: pakistan.news\nSubject: s\n\nb\n",
		"441 Missing From header"},
	    {"From: a@b.example\nNewsgroups: pakistan.news\n\nb\n",
		"441 Missing Subject header"},
	    {"From: a@b.example\nSubject: s\n\nb\n",
		"441 Missing Newsgroups header"},
	    {"From: Anonymous\nNewsgroups: pakistan.news\nSubject: s\n\nb\n",
		"441 From: has no address"},
	    {"From: a@b.example\nNewsgroups: foo.bar\nSubject: s\n\nb\n",
		"441 No such newsgroup: foo.bar"},
	    {"From: a@b.example\nNewsgroups: " GROUP_RO "\nSubject: s\n\nb\n",
		"441 Posting to " GROUP_RO " is not allowed (read-only "
		"group)"},
	    {"From: a@b.example\nNewsgroups: pakistan.news\nSubject: s\n"
	     "Message-ID: no-brackets@x\n\nb\n",
		"441 Invalid Message-ID: no-brackets@x"},
	    {"From: a@b.example\nNewsgroups: pakistan.news\nSubject: s\n"
	     "Date: someday\n\nb\n",
		"441 Unparseable Date header: someday"},
	    {"From: a@b.example\nNewsgroups: pakistan.news\nSubject: s\n"
	     "Injection-Info: other.example\n\nb\n",
		"441 Article was already injected (it has an Injection-Info "
		"header)"},
	    {"From: a@b.example\nNewsgroups: pakistan.news\nSubject: s\n"
	     "Control: cancel <x@y>\n\nb\n",
		"441 Control messages are not accepted here"},
	    {"From: a@b.example\nNewsgroups: pakistan.news\nSubject: s\n"
	     "no colon\n\nb\n",
		"441 Header line without a colon (line 4)"},
	};
	struct buf art = BUF_INIT(SIZE_MAX);
	char st[NGT_LINE_MAX];
	struct ngt_conn *c;
	size_t i;

	start(NULL);
	c = client(200);
	for (i = 0; i < NG_NELEM(bad); i++) {
		ck_assert_int_eq(post(c, bad[i].art, st, sizeof(st)), 441);
		ck_assert_str_eq(st, bad[i].reply);
	}
	/* A header line over 998 octets, 257 header fields, a NUL. */
	buf_puts(&art, "From: a@b.example\nNewsgroups: pakistan.news\n"
		       "Subject: ");
	for (i = 0; i < 999; i++)
		buf_putc(&art, 's');
	buf_puts(&art, "\n\nb\n");
	ck_assert_int_eq(post(c, buf_cstr(&art), st, sizeof(st)), 441);
	ck_assert_str_eq(st, "441 Header line over 998 octets (line 3)");
	buf_reset(&art);
	buf_puts(&art, "From: a@b.example\nNewsgroups: pakistan.news\n"
		       "Subject: s\n");
	for (i = 0; i < 254; i++)
		buf_printf(&art, "X-Header-%zu: v\n", i);
	buf_puts(&art, "\nb\n");
	ck_assert_int_eq(post(c, buf_cstr(&art), st, sizeof(st)), 441);
	ck_assert_str_eq(st, "441 More than 256 header fields");
	ck_assert_int_eq(ngt_cmd(c, st, sizeof(st), "POST"), 340);
	{
		static const char nul[] = "From: a@b.example\r\n"
					  "Newsgroups: pakistan.news\r\n"
					  "Subject: s\r\n\r\n"
					  "nul\0byte\r\n.\r\n";

		ck_assert_int_eq(ngt_send_raw(c, nul, sizeof(nul) - 1), 0);
	}
	ck_assert_int_eq(ngt_status(c, st, sizeof(st)), 441);
	ck_assert_str_eq(st, "441 NUL byte in article");
	/* Nothing was stored; the connection goes on. */
	ck_assert_int_eq(group_high(c, GROUP_P), 1);
	ngt_close(c);
	buf_free(&art);
}
END_TEST

/* A Message-ID that is there already, imported or posted. */
START_TEST(test_post_duplicates)
{
	char st[NGT_LINE_MAX], art[512], want[400];
	struct ngt_conn *c;

	start(NULL);
	c = client(200);
	ck_assert(str_printf(art, sizeof(art),
	    "From: a@b.example\nNewsgroups: " GROUP_P "\nSubject: dup\n"
	    "Message-ID: %s\n\nb\n",
	    root_id));
	ck_assert_int_eq(post(c, art, st, sizeof(st)), 441);
	ck_assert(str_printf(want, sizeof(want), "441 Duplicate Message-ID %s",
	    root_id));
	ck_assert_str_eq(st, want);
	ck_assert_int_eq(post(c,
			     "From: a@b.example\nNewsgroups: " GROUP_P
			     "\nSubject: once\nMessage-ID: <once@x.example>\n"
			     "\nb\n",
			     st, sizeof(st)),
	    240);
	ck_assert_int_eq(post(c,
			     "From: a@b.example\nNewsgroups: " GROUP_P
			     "\nSubject: twice\nMessage-ID: <once@x.example>\n"
			     "\nb\n",
			     st, sizeof(st)),
	    441);
	ck_assert_str_eq(st, "441 Duplicate Message-ID <once@x.example>");
	ck_assert_int_eq(group_high(c, GROUP_P), 2);
	ngt_close(c);
}
END_TEST

/* [spool] sync = no: commits without a flush, the same writer path. */
static const char *const *
no_sync(void)
{
	static char conf[PATH_MAX];
	static const char *extra[] = {"--config", conf, NULL};

	ck_assert_int_eq(
	    ngt_write(d.path, "nosync.conf", "[spool]\nsync = no\n", conf), 0);
	return extra;
}

/* Eight connections post at once: one group commit, every article there
 * once, with its own number. */
static void
post_concurrent(const char *const *extra)
{
	enum { N = 8, ROUNDS = 5 };
	struct ngt_conn *cs[N];
	struct buf b = BUF_INIT(1 << 20);
	char st[NGT_LINE_MAX];
	int i, r;

	start(extra);
	for (i = 0; i < N; i++)
		cs[i] = client(200);
	for (r = 0; r < ROUNDS; r++) {
		for (i = 0; i < N; i++)
			ck_assert_int_eq(ngt_send(cs[i], "POST"), 0);
		for (i = 0; i < N; i++) {
			ck_assert_int_eq(ngt_status(cs[i], st, sizeof(st)), 340);
			ck_assert_int_eq(ngt_send(cs[i],
					     "From: c%d@example.invalid\r\n"
					     "Newsgroups: " GROUP_P "\r\n"
					     "Subject: round %d from %d\r\n"
					     "\r\nbody\r\n.",
					     i, r, i),
			    0);
		}
		for (i = 0; i < N; i++)
			ck_assert_int_eq(ngt_status(cs[i], st, sizeof(st)), 240);
	}
	ck_assert_int_eq(group_high(cs[0], GROUP_P), 1 + N * ROUNDS);
	ck_assert_int_eq(block(cs[0], &b, "XOVER", "1-"), 224);
	for (r = 0; r < ROUNDS; r++)
		for (i = 0; i < N; i++) {
			char subj[64];

			ck_assert(str_printf(subj, sizeof(subj),
			    "\tround %d from %d\t", r, i));
			ck_assert_msg(strstr(buf_cstr(&b), subj) != NULL, "%s",
			    subj);
		}
	for (i = 0; i < N; i++)
		ngt_close(cs[i]);
	buf_free(&b);
	ck_assert_int_eq(check_spool(NULL), 0);
}

START_TEST(test_post_concurrent)
{
	post_concurrent(NULL);
}
END_TEST

/* The same with sync = no. */
START_TEST(test_post_concurrent_no_sync)
{
	post_concurrent(no_sync());
}
END_TEST

/* While the spool's writer lock is held (an import committing), a post
 * waits for it; readers do not, whether commits sync or not; posting goes
 * on once the lock is free. */
static void
post_waits_readers_do_not(const char *const *extra)
{
	char st[NGT_LINE_MAX], lock[PATH_MAX];
	struct ngt_conn *poster, *reader;
	struct pollfd pf;
	int fd;

	start(extra);
	poster = client(200);
	reader = client(200);
	ck_assert(str_printf(lock, sizeof(lock), "%s/.newsgate/lock",
	    d.spool));
	ck_assert_int_ne(fd = open(lock, O_RDWR), -1);
	ck_assert_int_eq(flock(fd, LOCK_EX), 0);
	ck_assert_int_eq(ngt_cmd(poster, st, sizeof(st), "POST"), 340);
	ck_assert_int_eq(ngt_send(poster, "From: a@b.example\r\n"
					  "Newsgroups: " GROUP_P "\r\n"
					  "Subject: waits for the lock\r\n"
					  "\r\nbody\r\n."),
	    0);
	/* The reader is served meanwhile, the poster has no answer. */
	ck_assert_int_eq(ngt_cmd(reader, st, sizeof(st), "GROUP " GROUP_P),
	    211);
	ck_assert_int_eq(ngt_cmd(reader, st, sizeof(st), "STAT 1"), 223);
	ck_assert_int_eq(ngt_cmd(reader, st, sizeof(st), "DATE"), 111);
	pf.fd = poster->fd;
	pf.events = POLLIN;
	ck_assert_int_eq(poll(&pf, 1, 0), 0);
	ck_assert_int_eq(flock(fd, LOCK_UN), 0);
	close(fd);
	ck_assert_int_eq(ngt_status(poster, st, sizeof(st)), 240);
	/* And every reader sees it once the poster has its 240. */
	ck_assert_int_eq(group_high(reader, GROUP_P), 2);
	/* Posting goes on as before once the lock is free. */
	ck_assert_int_eq(post(poster,
			     "From: a@b.example\nNewsgroups: " GROUP_P
			     "\nSubject: after the lock\n\nbody\n",
			     st, sizeof(st)),
	    240);
	ck_assert_int_eq(post(reader,
			     "From: a@b.example\nNewsgroups: " GROUP_P
			     "\nSubject: and another\n\nbody\n",
			     st, sizeof(st)),
	    240);
	ck_assert_int_eq(group_high(reader, GROUP_P), 4);
	ngt_close(poster);
	ngt_close(reader);
	ck_assert_int_eq(check_spool(NULL), 0);
}

START_TEST(test_post_waits_readers_do_not)
{
	post_waits_readers_do_not(NULL);
}
END_TEST

START_TEST(test_post_waits_readers_do_not_no_sync)
{
	post_waits_readers_do_not(no_sync());
}
END_TEST

/* sync = no: posts refused and taken together (a duplicate, a malformed
 * one, a good one), then a refusal alone: each gets its own answer, and
 * the spool's lock is not kept (an outside writer takes it at once
 * afterwards). */
START_TEST(test_post_no_sync_refusals_release_lock)
{
	enum { N = 3 };
	struct ngt_conn *cs[N];
	char st[NGT_LINE_MAX], lock[PATH_MAX];
	static const char *const arts[N] = {
	    "From: a@b.example\r\nNewsgroups: " GROUP_P "\r\n"
	    "Subject: dup\r\nMessage-ID: <dup@x.example>\r\n\r\nb\r\n.",
	    "Newsgroups: " GROUP_P "\r\nSubject: no From\r\n\r\nb\r\n.",
	    "From: a@b.example\r\nNewsgroups: " GROUP_P "\r\n"
	    "Subject: good\r\n\r\nb\r\n.",
	};
	static const int want[N] = {441, 441, 240};
	int fd, i;

	start(no_sync());
	for (i = 0; i < N; i++)
		cs[i] = client(200);
	ck_assert_int_eq(post(cs[0],
			     "From: a@b.example\nNewsgroups: " GROUP_P
			     "\nSubject: first\nMessage-ID: <dup@x.example>"
			     "\n\nb\n",
			     st, sizeof(st)),
	    240);
	for (i = 0; i < N; i++)
		ck_assert_int_eq(ngt_cmd(cs[i], st, sizeof(st), "POST"), 340);
	for (i = 0; i < N; i++)
		ck_assert_int_eq(ngt_send(cs[i], "%s", arts[i]), 0);
	for (i = 0; i < N; i++)
		ck_assert_int_eq(ngt_status(cs[i], st, sizeof(st)), want[i]);
	/* A refusal alone. */
	ck_assert_int_eq(post(cs[1],
			     "Newsgroups: " GROUP_P "\nSubject: x\n\nb\n",
			     st, sizeof(st)),
	    441);
	ck_assert_int_eq(ngt_cmd(cs[1], st, sizeof(st), "DATE"), 111);
	ck_assert(str_printf(lock, sizeof(lock), "%s/.newsgate/lock",
	    d.spool));
	ck_assert_int_ne(fd = open(lock, O_RDWR), -1);
	ck_assert_int_eq(flock(fd, LOCK_EX | LOCK_NB), 0);
	ck_assert_int_eq(flock(fd, LOCK_UN), 0);
	close(fd);
	ck_assert_int_eq(group_high(cs[2], GROUP_P), 3);
	for (i = 0; i < N; i++)
		ngt_close(cs[i]);
	ck_assert_int_eq(check_spool(NULL), 0);
}
END_TEST

/* A client that vanishes before the "." line leaves nothing. */
START_TEST(test_post_disconnect_midway)
{
	struct ngt_conn *c;
	struct buf out = BUF_INIT(1 << 16);
	char st[NGT_LINE_MAX];

	start(NULL);
	c = client(200);
	ck_assert_int_eq(ngt_cmd(c, st, sizeof(st), "POST"), 340);
	ck_assert_int_eq(ngt_send(c, "From: a@b.example\r\nNewsgroups: "
				     GROUP_P "\r\nSubject: half\r\n"
				     "Message-ID: <half@x.example>\r\n\r\n"
				     "the first half"),
	    0);
	ngt_close(c);
	/* Another client: the server is fine and has none of it. */
	c = client(200);
	ck_assert_int_eq(ngt_cmd(c, st, sizeof(st), "STAT <half@x.example>"),
	    430);
	ck_assert_int_eq(group_high(c, GROUP_P), 1);
	/* And the Message-ID is free for a real post. */
	ck_assert_int_eq(post(c,
			     "From: a@b.example\nNewsgroups: " GROUP_P
			     "\nSubject: whole\nMessage-ID: <half@x.example>\n"
			     "\nall of it\n",
			     st, sizeof(st)),
	    240);
	ngt_close(c);
	ck_assert_int_eq(ngt_server_stop(&srv), 0);
	ck_assert_int_eq(check_spool(&out), 0);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&out), "consistent"));
	buf_free(&out);
}
END_TEST

/* max_article_bytes: exactly the ceiling is taken, one octet more is
 * not, and the connection goes on. */
START_TEST(test_post_size_limit)
{
	char conf[PATH_MAX], st[NGT_LINE_MAX];
	const char *extra[] = {"--config", conf, NULL};
	struct buf art = BUF_INIT(SIZE_MAX);
	struct ngt_conn *c;

	ck_assert_int_eq(ngt_write(d.path, "limit.conf",
			     "[server]\nmax_article_bytes = 2048\n", conf),
	    0);
	start(extra);
	c = client(200);
	/* 2048 octets as sent: LF lines here, CRLF on the wire (4 header
	 * lines, 37 of 49 + CRLF, and one of 238 + CRLF). */
	buf_puts(&art, "From: a@b.example\nNewsgroups: " GROUP_P
		       "\nSubject: exactly\n\n");
	ck_assert_int_eq(art.len + 4, 66);
	for (int i = 0; i < 37; i++)
		buf_puts(&art, "0123456789012345678901234567890123456789012345678"
			       "\n");
	for (int i = 0; i < 2048 - 66 - 37 * 51 - 2; i++)
		buf_putc(&art, 'x');
	buf_putc(&art, '\n');
	ck_assert_int_eq(post(c, buf_cstr(&art), st, sizeof(st)), 240);
	buf_truncate(&art, art.len - 1);
	buf_puts(&art, "y\n");
	ck_assert_int_eq(post(c, buf_cstr(&art), st, sizeof(st)), 441);
	ck_assert_str_eq(st, "441 Article too large (max 2048 bytes)");
	ck_assert_int_eq(ngt_cmd(c, st, sizeof(st), "DATE"), 111);
	ngt_close(c);
	buf_free(&art);
}
END_TEST

START_TEST(test_post_policy_and_rate)
{
	char conf[PATH_MAX], st[NGT_LINE_MAX];
	const char *extra[] = {"--config", conf, NULL};
	struct ngt_conn *c;

	ck_assert_int_eq(ngt_write(d.path, "p.conf",
			     "[server]\npost_policy = nobody\n", conf),
	    0);
	start(extra);
	c = client(201);
	ck_assert_int_eq(ngt_cmd(c, st, sizeof(st), "MODE READER"), 201);
	ck_assert_int_eq(ngt_cmd(c, st, sizeof(st), "POST"), 440);
	ngt_close(c);
	ck_assert_int_eq(ngt_server_stop(&srv), 0);
	ck_assert_int_eq(ngt_write(d.path, "p.conf",
			     "[server]\npost_policy = anyone\npost_rate = 2\n",
			     NULL),
	    0);
	start(extra);
	c = client(200);
	ck_assert_int_eq(post(c, "From: a@b.example\nNewsgroups: " GROUP_P
				 "\nSubject: one\n\nb\n",
			     st, sizeof(st)),
	    240);
	ck_assert_int_eq(post(c, "From: a@b.example\nNewsgroups: " GROUP_P
				 "\nSubject: two\n\nb\n",
			     st, sizeof(st)),
	    240);
	ck_assert_int_eq(ngt_cmd(c, st, sizeof(st), "POST"), 440);
	ck_assert_msg(strncmp(st, "440 Posting rate limit reached", 30) == 0,
	    "%s", st);
	ngt_close(c);
}
END_TEST

/* --- a full disk ------------------------------------------------------------ */

/* Write filler until the file system is full; returns the fd. */
static int
fill(const char *path)
{
	static char block[4096];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	ck_assert_int_ne(fd, -1);
	memset(block, 'f', sizeof(block));
	while (write(fd, block, sizeof(block)) > 0)
		;
	return fd;
}

START_TEST(test_post_disk_full)
{
	char spool[PATH_MAX], filler[PATH_MAX];
	char st[NGT_LINE_MAX], sample[PATH_MAX];
	const char *imp[] = {"import", "--spool", spool, sample, NULL};
	const char *chk[] = {"check", "--spool", spool, NULL};
	struct buf out = BUF_INIT(1 << 16), art = BUF_INIT(SIZE_MAX);
	struct ngt_conn *c;
	int fd, code, i, ok = 0;

	if (geteuid() != 0) {
		printf("test_post_disk_full: skipped: mounting a small tmpfs "
		       "needs root\n");
		return;
	}
	ck_assert(str_printf(mnt, sizeof(mnt), "%s/tmpfs", d.path));
	ck_assert_int_eq(mkdir(mnt, 0755), 0);
	if (mount("ng-post-test", mnt, "tmpfs", 0, "size=1m,mode=0755") ==
	    -1) {
		ck_assert_msg(!tui_in_ci(), "mount tmpfs: %s", strerror(errno));
		printf("test_post_disk_full: skipped: mount tmpfs: %s\n",
		    strerror(errno));
		mnt[0] = '\0';
		return;
	}
	ck_assert(str_printf(spool, sizeof(spool), "%s/spool", mnt));
	ck_assert(str_printf(filler, sizeof(filler), "%s/filler", mnt));
	ck_assert(str_printf(sample, sizeof(sample), "%s/contrib/sample/",
	    ngt_top()));
	ck_assert_int_eq(ngt_run(imp, NULL, NGT_WAIT_MS), 0);
	ck_assert_int_eq(ngt_server_start(&srv, spool, NULL), 0);
	c = client(200);
	/* Fill the disk, then post bigger and bigger articles: each is
	 * refused with 441, until one fits into what is left. */
	fd = fill(filler);
	for (i = 0; i < 64 * 1024; i++)
		buf_putc(&art, i % 64 == 63 ? '\n' : 'a' + i % 26);
	for (i = 0; i < 4; i++) {
		struct buf a = BUF_INIT(SIZE_MAX);

		buf_printf(&a, "From: a@b.example\nNewsgroups: " GROUP_P
			       "\nSubject: full %d\n\n%s",
		    i, buf_cstr(&art));
		code = post(c, buf_cstr(&a), st, sizeof(st));
		buf_free(&a);
		ck_assert_msg(code == 441 || code == 240, "%s", st);
		if (code == 441)
			ck_assert_msg(strstr(st, "space") != NULL ||
				strstr(st, "Posting failed") != NULL,
			    "%s", st);
		ok += code == 240;
	}
	ck_assert_msg(ok < 4, "a full disk took every post");
	/* The server is fine, the spool consistent. */
	ck_assert_int_eq(ngt_cmd(c, st, sizeof(st), "DATE"), 111);
	close(fd);
	ck_assert_int_eq(unlink(filler), 0);
	ck_assert_int_eq(post(c, "From: a@b.example\nNewsgroups: " GROUP_P
				 "\nSubject: room again\n\nb\n",
			     st, sizeof(st)),
	    240);
	ngt_close(c);
	ck_assert_int_eq(ngt_server_stop(&srv), 0);
	ck_assert_int_eq(ngt_run(chk, &out, NGT_WAIT_MS), 0);
	ck_assert_msg(strstr(buf_cstr(&out), "consistent") != NULL, "%s",
	    buf_cstr(&out));
	ck_assert_int_eq(umount(mnt), 0);
	mnt[0] = '\0';
	buf_free(&out);
	buf_free(&art);
}
END_TEST

/* --- privileges --------------------------------------------------------------- */

/* Started as root: binds, then runs as news (or nobody), with the spool
 * handed over, and posting still works. */
START_TEST(test_drops_root)
{
	char path[64], line[256], st[NGT_LINE_MAX], who[32];
	struct passwd *pw;
	struct ngt_conn *c;
	struct stat sb;
	unsigned uid = 0;
	FILE *fp;

	if (geteuid() != 0) {
		printf("test_drops_root: skipped: not started as root\n");
		return;
	}
	pw = getpwnam("news");
	if (pw == NULL)
		pw = getpwnam("nobody");
	ck_assert_ptr_nonnull(pw);
	ck_assert(str_copy(who, sizeof(who), pw->pw_name));
	start(NULL);
	ck_assert(str_printf(path, sizeof(path), "/proc/%ld/status",
	    (long)srv.pid));
	ck_assert_ptr_nonnull(fp = fopen(path, "r"));
	while (fgets(line, sizeof(line), fp))
		if (sscanf(line, "Uid: %u", &uid) == 1)
			break;
	fclose(fp);
	ck_assert_int_eq(uid, pw->pw_uid);
	ck_assert_int_eq(stat(d.spool, &sb), 0);
	ck_assert_int_eq(sb.st_uid, pw->pw_uid);
	c = client(200);
	ck_assert_int_eq(post(c, "From: a@b.example\nNewsgroups: " GROUP_P
				 "\nSubject: as news\n\nb\n",
			     st, sizeof(st)),
	    240);
	ngt_close(c);
	{
		char *log = ngt_server_log(&srv), want[64];

		ck_assert(str_printf(want, sizeof(want), "running as user %s",
		    who));
		ck_assert_msg(strstr(log, want) != NULL, "%s", log);
		free(log);
	}
}
END_TEST

static Suite *
post_suite(void)
{
	Suite *s = suite_create("post");
	TCase *tc = tcase_create("e2e");

	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_post_follow_up);
	tcase_add_test(tc, test_post_threading_switch);
	tcase_add_test(tc, test_post_libetpan);
	tcase_add_test(tc, test_post_refusals);
	tcase_add_test(tc, test_post_duplicates);
	tcase_add_test(tc, test_post_concurrent);
	tcase_add_test(tc, test_post_concurrent_no_sync);
	tcase_add_test(tc, test_post_waits_readers_do_not);
	tcase_add_test(tc, test_post_waits_readers_do_not_no_sync);
	tcase_add_test(tc, test_post_no_sync_refusals_release_lock);
	tcase_add_test(tc, test_post_disconnect_midway);
	tcase_add_test(tc, test_post_size_limit);
	tcase_add_test(tc, test_post_policy_and_rate);
	tcase_add_test(tc, test_post_disk_full);
	tcase_add_test(tc, test_drops_root);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(post_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
