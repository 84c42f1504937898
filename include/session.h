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
 * SECURITY: every input byte is attacker-controlled. Bounds: a command
 * line is at most NNTP_LINE_MAX octets including CRLF (longer lines are
 * discarded and answered 501, RFC 3977 §3.1); at most SESSION_ARGS_MAX
 * arguments; unprocessed pipelined input at most SESSION_IN_MAX octets
 * (the server stops reading beyond that); output at most SESSION_OUT_MAX
 * (a sticky error closes the session). Group names and message-ids are
 * validated before they reach the spool.
 */
#ifndef NG_SESSION_H
#define NG_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "common.h"
#include "nntp.h"
#include "spool.h"

#define SESSION_OUT_HIGH (64 * 1024)	  /* default high-water mark */
#define SESSION_OUT_MAX (4 * 1024 * 1024) /* hard ceiling on output */
#define SESSION_IN_MAX (16 * 1024)	  /* unprocessed input held */
#define SESSION_ARGS_MAX 16		  /* arguments after the verb */

/* Settings a server passes to its sessions; may be replaced (SIGHUP)
 * between commands, so sessions never cache what they read here. */
struct session_conf {
	const char *hostname;  /* shown in the greeting */
	bool posting;	       /* POST allowed: greeting/MODE READER 200 */
	size_t out_high;       /* output high-water mark, bytes (> 0) */
	bool server_refreshes; /* the server calls spool_refresh() once per
				  event-loop wakeup, before any command it
				  reads; commands then skip their own */
};

struct session;
struct cmd;

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
};

struct session_stats {
	uint64_t commands; /* command lines dispatched */
	uint64_t articles; /* ARTICLE/HEAD/BODY responses sent */
	uint64_t errors;   /* 4xx/5xx replies other than 411/423/430 */
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
    cmd_newgroups;  /* cmd_list.c */
cmd_fn cmd_newnews; /* cmd_new.c */

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
