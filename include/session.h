/*
 * session.h - one NNTP reader session (RFC 3977), independent of sockets:
 * bytes in (session_input), bytes out (session_out_*). server.c moves the
 * bytes; tests and the fuzzer drive a session directly.
 *
 * The session owns line framing, the command table and its dispatcher,
 * and the output queue. Handlers (cmd_*.c) see struct session and the
 * helpers below; they only do their own command's work, because the
 * dispatcher has already checked line length, arity, argument length,
 * the selected group and the current article.
 *
 * Long responses (OVER of a whole group, ARTICLE of a big article, LIST
 * of many groups) are generated incrementally: a handler writes its first
 * part and installs a generator, which session_run() calls again whenever
 * the output queue is below its high-water mark. So memory per session is
 * bounded by about SESSION_OUT_HIGH plus one step, whatever the response.
 *
 * Posting, AUTHINFO and STARTTLS need the server (the pipeline, the
 * accounts, the socket): the session does the protocol and the policy and
 * asks through struct session_ops; while the server works it waits
 * (s->wait: no command runs and nothing is read), and the server ends the
 * wait with session_post_done(), session_auth_done() or session_tls_done().
 *
 * SECURITY: every input byte is attacker-controlled. Bounds: a command
 * line is at most NNTP_LINE_MAX octets including CRLF (longer lines are
 * discarded and answered 501, RFC 3977 §3.1); at most SESSION_ARGS_MAX
 * arguments; unprocessed pipelined input at most SESSION_IN_MAX octets
 * (the server stops reading beyond that); output at most SESSION_OUT_MAX
 * (a sticky error closes the session). Group names and message-ids are
 * validated before they reach the spool. A POSTed article is held up to
 * the configured max_article_bytes and no further: past it the rest is
 * read and dropped up to its "." line and the POST answered 441; it is
 * then parsed by article_parse() (article.h has its limits). A password
 * (AUTHINFO PASS) is handed to the server and the session's copies of the
 * line are wiped.
 */
#ifndef NG_SESSION_H
#define NG_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "buf.h"
#include "common.h"
#include "nntp.h"
#include "spool.h"

#define SESSION_OUT_HIGH (64 * 1024)	  /* default high-water mark */
#define SESSION_OUT_MAX (4 * 1024 * 1024) /* hard ceiling on output */
#define SESSION_IN_MAX (16 * 1024)	  /* unprocessed input held */
#define SESSION_ARGS_MAX 16		  /* arguments after the verb */
#define INET6_ADDRSTRLEN_MAX 46		  /* INET6_ADDRSTRLEN */

#define SESSION_ARTICLE_MAX_DEFAULT (1024 * 1024) /* when conf says 0 */

struct session;
struct article;
struct cmd;

/* Who may post (newsgate.conf post_policy). */
enum session_post_policy {
	SESSION_POST_NOBODY = 0,
	SESSION_POST_LOOPBACK,	    /* loopback clients, and authenticated
				       ones from anywhere */
	SESSION_POST_AUTHENTICATED, /* authenticated clients */
	SESSION_POST_ANYONE,
};

/* Where AUTHINFO may be used without TLS (newsgate.conf auth_plaintext;
 * RFC 4643 §2.2 lets a server require TLS first, with 483). */
enum session_plain_auth {
	SESSION_PLAIN_LOOPBACK = 0, /* from loopback clients only */
	SESSION_PLAIN_YES,	    /* from anywhere */
	SESSION_PLAIN_NO,	    /* never: TLS first, even on loopback */
};

/*
 * What a session asks of its server. Each call starts work the session
 * waits for (s->wait is set before the call); the server ends it, during
 * the call or later, with the matching session_*_done(). arg is
 * session_server.ops_arg; s->host says which connection.
 */
struct session_ops {
	/* A POSTed article that passed every check, parsed, the injection
	 * headers added; the callee owns it (article_free()). msgid is its
	 * Message-ID (valid during the call). Stage and commit it, then
	 * session_post_done(). */
	void (*post)(void *arg, struct session *s, struct article *a,
	    const char *msgid);
	/* AUTHINFO PASS: check the password (the strings are valid during
	 * the call only), then session_auth_done(). */
	void (*auth)(
	    void *arg, struct session *s, const char *user, const char *pass);
	/* STARTTLS: 382 is queued and the unread input discarded. Once the
	 * 382 is sent, read nothing more in plaintext: run the handshake,
	 * then session_tls_done() (or close the connection on failure). */
	void (*starttls)(void *arg, struct session *s);
};

/* Settings a server passes to its sessions; may be replaced (SIGHUP)
 * between commands, so sessions never cache what they read here. */
struct session_conf {
	const char *hostname;  /* shown in the greeting */
	bool posting;	       /* the server takes posts at all (its spool is
				  writable); who may is post_policy's */
	size_t out_high;       /* output high-water mark, bytes (> 0) */
	bool server_refreshes; /* the server calls spool_refresh() once per
				  event-loop wakeup, before any command it
				  reads; commands then skip their own */
};

/*
 * What a server offers its sessions beyond reading: posting, accounts and
 * TLS (s->srv; NULL, as in tests and the fuzzer: POST is 440, AUTHINFO
 * 502, STARTTLS 580). Replaced on SIGHUP like session_conf.
 */
struct session_server {
	const struct session_ops *ops;
	void *ops_arg; /* first argument of every op */
	enum session_post_policy post_policy;
	enum session_plain_auth auth_plaintext;
	bool tls;		    /* STARTTLS can be offered (a certificate
				       is loaded) */
	uint64_t max_article_bytes; /* POST size ceiling, octets as sent
				       (CRLF counted, dot-stuffing not); 0:
				       SESSION_ARTICLE_MAX_DEFAULT */
	uint32_t post_rate;	    /* POSTs per minute per connection (a
				       burst of that many at once); 0: no
				       limit */
};

/* What a session is waiting for from its server (see session_ops). */
enum session_wait {
	SESSION_WAIT_NONE = 0,
	SESSION_WAIT_POST, /* the article's commit */
	SESSION_WAIT_AUTH, /* the password check (and its delay) */
	SESSION_WAIT_TLS,  /* the 382 to be sent and the handshake */
};

/* A command handler: argv[0..argc-1] are the arguments after the verb
 * (NUL-terminated, valid only during the call). Returns 0 to go on, -1 to
 * close the connection once the output is sent. */
typedef int cmd_fn(struct session *s, int argc, char **argv);

/*
 * A generator continues a long response. It writes while
 * !session_out_full(s) and returns 1 when there is more to come, 0 when
 * the response is complete, -1 to close the connection (an error in the
 * middle of a multi-line response, which cannot be taken back).
 */
typedef int session_gen_fn(struct session *s, void *state);
typedef void session_gen_free_fn(void *state);

enum cmd_flags {
	CMD_NEED_GROUP = 0x01,	 /* 412 unless a group is selected */
	CMD_NEED_CURRENT = 0x02, /* 420 unless the current article is valid */
	CMD_REFRESH = 0x04,	 /* spool_refresh() before the handler */
	CMD_HIDDEN = 0x08,	 /* not advertised in CAPABILITIES */
};

/* Is a command's capability usable by this session now? (RFC 3977 §3.3.2:
 * CAPABILITIES changes after STARTTLS and AUTHINFO.) */
typedef bool cmd_avail_fn(const struct session *s);

/*
 * One row of the command table (and of the LIST keyword table).
 * spec: index of the optional "message-id | number | range" argument, or
 * -1. When the argument at spec is a message-id no group is needed; when
 * it is anything else a selected group is needed (412); when it is absent
 * the group (412) and the current article (420) are needed (RFC 3977
 * §6.2.1.2, errata 1524). This is how XOVER and XHDR outside a group get
 * 412, which slrn and tin use to detect them.
 */
struct cmd {
	const char *name; /* upper case; the table is sorted by it */
	cmd_fn *fn;
	unsigned char min_args; /* arguments after the verb (or keyword) */
	unsigned char max_args;
	unsigned flags;		/* enum cmd_flags */
	signed char spec;	/* see above */
	const char *help;	/* synopsis for HELP and 501 replies */
	const char *capability; /* CAPABILITIES line (or LIST keyword) */
	cmd_avail_fn *avail;	/* NULL: the capability is always listed */
};

struct session_stats {
	uint64_t commands; /* command lines dispatched */
	uint64_t articles; /* ARTICLE/HEAD/BODY responses sent */
	uint64_t errors;   /* 4xx/5xx replies other than 411/423/430 */
	uint64_t posts;	   /* articles posted (240) */
};

/* A POST in progress: the article as it arrives (RFC 3977 §6.3.1.1). */
struct session_post {
	bool reading;	/* between 340 and the "." line */
	bool bol;	/* at the beginning of a line */
	bool too_big;	/* passed the ceiling: the rest is dropped */
	struct buf art; /* dot-unstuffed, line endings as sent;
			   at most the ceiling (then freed) */
	char msgid[NNTP_MSGID_MAX + 1]; /* offered in the 340 reply */
	uint64_t tat_ms; /* rate limit: GCRA theoretical arrival time
			    (now_ms() clock) */
};

struct session {
	struct spool *sp;		 /* shared, not owned */
	const struct session_conf *conf; /* not owned */
	char group[SPOOL_GROUP_MAX + 1]; /* selected group; "" for none */
	uint64_t cur;			 /* current article number; 0:
					    invalid */
	const struct spool_group *g;	 /* the selected group's entry, set
					    by the dispatcher for CMD_NEED_GROUP
					    and specs; valid during the
					    handler only */
	const struct cmd *cmd;		 /* command being handled */
	bool rfc3977;	     /* client sent CAPABILITIES (LIST OVERVIEW.FMT
				answers :bytes/:lines, see docs/protocol.md) */
	bool closing;	     /* QUIT or fatal: no more commands; the
				connection closes once the output is sent */
	bool discarding;     /* inside an over-long line: drop up to its LF */
	struct buf in;	     /* received, not yet processed; <= SESSION_IN_MAX,
				NULL data when empty and trimmed */
	struct buf out;	     /* output queue; bytes before out_off are sent */
	size_t out_off;	     /* sent prefix of out */
	session_gen_fn *gen; /* long response in progress, or NULL */
	void *gen_state;     /* owned by the generator */
	session_gen_free_fn *gen_free;
	struct session_stats stats;

	/* Set by the server after session_new(). */
	const struct session_server *srv; /* not owned; NULL: none */
	void *host; /* the server's connection; not owned */
	char peer[INET6_ADDRSTRLEN_MAX]; /* client address (no port), for
					    Injection-Info; "" unknown */
	bool loopback;			 /* the client is on this machine */
	bool tls;			 /* the connection is under TLS */

	enum session_wait wait; /* while not NONE: no command runs, the
				   server reads nothing */
	bool discard_input;	/* STARTTLS: drop the unread input */
	bool secret_seen;	/* AUTHINFO PASS went by: the server wipes its
				   read buffer (and clears this) */
	bool authenticated;	/* AUTHINFO succeeded (RFC 4643) */
	bool user_given;	/* AUTHINFO USER seen, PASS expected */
	char user[AUTH_USER_MAX + 1]; /* that user (or the authenticated
					 one); "" when over-long */
	struct session_post post;
	const char *line; /* the command line being handled, unsplit (no
			     CRLF); valid during the handler */
};

/* --- lifecycle and I/O (server.c, tests, fuzzer) ----------------------- */

/* conf NULL: built-in defaults (no posting, host "localhost"). */
struct session *session_new(struct spool *sp, const struct session_conf *conf);
void session_free(struct session *s); /* accepts NULL */

/* Queue the greeting (200/201, RFC 3977 §5.1). */
void session_greet(struct session *s);

/*
 * Take len received bytes (len <= session_input_room(s)) and process as
 * many complete command lines as the output queue allows. Returns 0, or
 * -1 when the connection must close now (the output ceiling was hit).
 * After QUIT, s->closing is set and further input is ignored.
 */
int session_input(struct session *s, const char *data, size_t len) NG_NODISCARD;
size_t session_input_room(const struct session *s);

/* Make progress without new input: continue a generator, then process
 * buffered lines, until the output passes the high-water mark. Same
 * return as session_input. */
int session_run(struct session *s) NG_NODISCARD;

/* Is there work that session_run() would do if the output had room? */
bool session_pending(const struct session *s);

/*
 * Handle one command line (no CRLF). For tests and the fuzzer: it also
 * runs a long response until the output passes the high-water mark.
 * Returns the handler's result (0, or -1 to close).
 */
int session_line(struct session *s, const char *line);

/* The unsent output, and how much of it was sent. */
const char *session_out_data(const struct session *s, size_t *len);
void session_out_consume(struct session *s, size_t n);
/* Release empty buffers (an idle connection keeps no buffer). */
void session_trim(struct session *s);

/*
 * The server is closing this session (shutdown, idle timeout): take no
 * more commands; when no response is in progress, queue "400 reason"
 * (RFC 3977 §3.2.1), else let the response finish. s->closing is set.
 */
void session_stop(struct session *s, const char *reason);

/* --- answers from the server (see struct session_ops) ------------------- */

/* The POST is done: queue "code text" (240 <msgid>, or 441 reason) and go
 * on with the input. */
void session_post_done(struct session *s, int code, const char *text);
/* AUTHINFO PASS is done: code 281 (authenticated), 481, or 403; close:
 * close the connection after the reply (too many failures). */
void session_auth_done(
    struct session *s, int code, const char *text, bool close);
/* The STARTTLS handshake succeeded: the session is under TLS and forgets
 * what the client said before it (RFC 4642 §2.2.2). */
void session_tls_done(struct session *s);

/* --- policy ----------------------------------------------------------------
 */

/* Would POST be accepted from this session now? (greeting, MODE READER
 * 200, CAPABILITIES POST) */
bool session_may_post(const struct session *s);
/* Can AUTHINFO be used now (not authenticated yet, and TLS or a plaintext
 * connection that auth_plaintext allows)? */
bool session_auth_usable(const struct session *s);
/* Can STARTTLS be used now (a certificate, no TLS yet, not
 * authenticated)? */
bool session_tls_usable(const struct session *s);

/* --- the tables (tests check their order) ------------------------------ */

const struct cmd *session_cmds(size_t *n);
const struct cmd *session_list_cmds(size_t *n);
/* Case-insensitive lookup in a sorted table; NULL when absent. */
const struct cmd *session_cmd_find(
    const struct cmd *tab, size_t n, const char *name);

/* --- helpers for handlers ---------------------------------------------- */

/* "code text\r\n". */
void session_reply(struct session *s, int code, const char *fmt, ...)
    NG_PRINTF(3, 4);
/* 501 with the command's synopsis; returns 0 so handlers can return it. */
int session_syntax(struct session *s);
/* Raw output. */
void session_write(struct session *s, const void *p, size_t len);
void session_printf(struct session *s, const char *fmt, ...) NG_PRINTF(2, 3);
/* One line of a multi-line block: dot-stuffed, CRLF added (the text must
 * hold no LF). And the terminating ".". */
void session_data(struct session *s, const char *p, size_t len);
void session_data_end(struct session *s);
/* Is the output at or above the high-water mark? */
bool session_out_full(const struct session *s);
/* Install a generator for the rest of the response (state owned by it,
 * released with fr, which may be NULL). */
void session_gen_start(struct session *s, session_gen_fn *fn, void *state,
    session_gen_free_fn *fr);
/* Select a group: its name, and the current article = its first one
 * (invalid when it is empty), RFC 3977 §6.1.1.2. */
void session_select(struct session *s, const struct spool_group *g);
/* Articles in a group, as GROUP reports them: an estimate, high - low + 1,
 * and 0 when empty (RFC 3977 §6.1.1.2 allows an estimate). */
uint64_t session_group_count(const struct spool_group *g);

/* Argument forms. */
bool session_is_msgid(const char *arg); /* "<...>", RFC 3977 §3.6 */
int session_parse_number(const char *arg, uint64_t *n) NG_NODISCARD;
/* "n", "n-", "n-m" (RFC 3977 §3.2.1.1); "n-" ends at UINT64_MAX. */
int session_parse_range(
    const char *arg, uint64_t *lo, uint64_t *hi) NG_NODISCARD;

/* --- handlers (cmd_*.c) ------------------------------------------------ */

cmd_fn cmd_capabilities, cmd_help;   /* session.c: generated from the table */
cmd_fn cmd_date, cmd_mode, cmd_quit; /* cmd_info.c */
cmd_fn cmd_group, cmd_listgroup, cmd_last, cmd_next; /* cmd_group.c */
cmd_fn cmd_article, cmd_head, cmd_body, cmd_stat;    /* cmd_article.c */
cmd_fn cmd_over, cmd_hdr, cmd_xhdr, cmd_xpat;	     /* cmd_over.c */
cmd_fn cmd_list;				     /* session.c */
cmd_fn cmd_list_active, cmd_list_active_times, cmd_list_counts,
    cmd_list_distrib_pats, cmd_list_headers, cmd_list_motd, cmd_list_newsgroups,
    cmd_list_overview_fmt, cmd_list_subscriptions,
    cmd_newgroups;		   /* cmd_list.c */
cmd_fn cmd_newnews;		   /* cmd_new.c */
cmd_fn cmd_post;		   /* cmd_post.c */
cmd_fn cmd_authinfo, cmd_starttls; /* cmd_auth.c */

/* The "." line of a POSTed article arrived: check it, add the injection
 * headers, hand it to the server or answer 441 (cmd_post.c). */
void session_post_article(struct session *s);

/*
 * RFC 3977 §7.3.2: date "yymmdd" or "yyyymmdd", time "hhmmss", and gmt
 * "GMT" or NULL (then the server's local time). A two-digit year is in
 * the current century when not after the current year, else in the
 * previous one. Returns -1 on bad syntax or an impossible date (cmd_new.c).
 */
int session_parse_datetime(const char *date, const char *time, const char *gmt,
    time_t *out) NG_NODISCARD;

/* --- shared by the article and header commands (in cmd_article.c) ------ */

/*
 * The overview fields of our spool (data/overview.fmt), numbered as in an
 * overview line: 0 is the article number.
 */
enum over_field {
	OVER_NUM = 0,
	OVER_SUBJECT,
	OVER_FROM,
	OVER_DATE,
	OVER_MSGID,
	OVER_REFERENCES,
	OVER_BYTES,
	OVER_LINES,
	OVER_XREF, /* "Xref: host group:n ..." (full form) */
	OVER_NFIELDS
};

/* Field i of an overview line (as spool_over gives it), as a slice into
 * line; false when the line has fewer fields. */
bool session_over_field(const char *line, size_t len, int i, struct str *out);

/*
 * The first header called name (case-insensitive) of an article, read
 * from its file: unfolded, with TAB, CR and LF turned into spaces, into
 * val (reset first). Returns 1 found, 0 absent, -1 with errno when the
 * article cannot be read (ENOENT: no such article).
 */
int session_article_header(struct spool *sp, const char *group, uint64_t num,
    const char *name, struct buf *val) NG_NODISCARD;

#endif
