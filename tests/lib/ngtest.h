/*
 * ngtest.h - helpers for end-to-end tests of the real newsgate binary:
 * a temporary directory with a spool, `newsgate import`, a `newsgate
 * serve` on 127.0.0.1 port 0, and a raw NNTP client over a socket.
 *
 * Environment: NEWSGATE_BIN is the binary under test (make check sets it;
 * default build/newsgate), NEWSGATE_TOP the source tree (default "."),
 * NEWSGATE_KEEP=1 keeps the temporary directories for a post-mortem.
 *
 * Every wait polls with a deadline (NGT_WAIT_MS unless said otherwise),
 * never a fixed sleep, and no helper asserts on elapsed time. Helpers
 * return -1 (or NULL) on failure after printing why on stderr, so a test
 * can simply ck_assert on the result.
 *
 * Typical use:
 *
 *	struct ngt_dir d;
 *	struct ngt_server srv;
 *	struct ngt_conn *c;
 *	char st[NGT_LINE_MAX];
 *
 *	ck_assert_int_eq(ngt_dir_new(&d, "ng-e2e"), 0);
 *	ck_assert_int_eq(ngt_import_text(&d, "a.eml", ARTICLE_TEXT), 0);
 *	ck_assert_int_eq(ngt_server_start(&srv, d.spool, NULL), 0);
 *	ck_assert_ptr_nonnull(c = ngt_connect(srv.port));
 *	ck_assert_int_eq(ngt_status(c, st, sizeof(st)), 201);
 *	ck_assert_int_eq(ngt_cmd(c, st, sizeof(st), "GROUP %s", "x.y"), 211);
 *	ngt_close(c);
 *	ngt_server_stop(&srv);
 *	ngt_dir_free(&d);
 */
#ifndef NG_NGTEST_H
#define NG_NGTEST_H

#include <sys/types.h>

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

#define NGT_WAIT_MS 20000  /* default deadline for any one wait */
#define NGT_LINE_MAX 4096  /* status lines read into caller buffers */
#define NGT_RBUF 8192	   /* per-connection read buffer */

/* The binary under test and the source tree. */
const char *ngt_bin(void);
const char *ngt_top(void);

/* Raise this process's open-file limit to its hard limit (tests that
 * open 1,000+ sockets). Returns the new soft limit. */
long ngt_raise_nofile(void);

/* --- temporary directories ---------------------------------------------- */

struct ngt_dir {
	char path[PATH_MAX];  /* a fresh private directory */
	char spool[PATH_MAX]; /* path/spool (created by import or serve) */
};

/* Make a fresh directory under $TMPDIR (or /tmp) named prefix.XXXXXX. */
int ngt_dir_new(struct ngt_dir *d, const char *prefix);
/* Remove it (unless NEWSGATE_KEEP is set). Idempotent. */
void ngt_dir_free(struct ngt_dir *d);

/* Write content to dir/name; the full path into out (PATH_MAX bytes),
 * which may be NULL. */
int ngt_write(const char *dir, const char *name, const char *content,
    char *out);
/* Read a whole file into b (emptied first): 0, or -1 when it cannot be
 * opened (b left empty). */
int ngt_slurp(const char *path, struct buf *b);
/* The article directory of group in spool: SPOOL/articles/a/b/c. */
void ngt_group_dir(const char *spool, const char *group, char *out,
    size_t cap);

/* --- running newsgate --------------------------------------------------- */

/*
 * Run the binary with args (NULL-terminated, without argv[0]); stdin from
 * /dev/null; stdout and stderr together into out (may be NULL). Returns
 * the exit status, 128 + signal, or -1. Killed after timeout_ms.
 */
int ngt_run(const char *const *args, struct buf *out, int timeout_ms);

/* newsgate import --spool d->spool FILE (a file or a directory). */
int ngt_import(const struct ngt_dir *d, const char *file);
/* Write text (an RFC 5322 message, an mbox, scraped text...) to
 * d->path/name and import it. Exit status 0 expected. */
int ngt_import_text(const struct ngt_dir *d, const char *name,
    const char *text);

/*
 * A running `newsgate serve`. Start it on a spool with
 * `--spool SPOOL --listen 127.0.0.1:0 --port-file PF` plus extra args
 * (NULL-terminated, may be NULL), stderr to a log file; wait until the
 * port file appears. The server must be stopped by ngt_server_stop.
 */
struct ngt_server {
	pid_t pid;	      /* 0 when not running */
	int port;	      /* its first listener */
	char dir[PATH_MAX];   /* private: port file, log */
	char log[PATH_MAX];   /* the server's stderr */
};

int ngt_server_start(struct ngt_server *srv, const char *spool,
    const char *const *extra);
/* Send sig (SIGHUP to reload...). */
int ngt_server_signal(struct ngt_server *srv, int sig);
/* SIGTERM, wait for the exit (SIGKILL after NGT_WAIT_MS); removes the
 * private dir. Returns the exit status (128 + signal when killed). */
int ngt_server_stop(struct ngt_server *srv);
/* The log so far (caller frees). */
char *ngt_server_log(const struct ngt_server *srv);
/* Is the server process still running? */
bool ngt_server_alive(struct ngt_server *srv);

/* --- an NNTP client over a raw socket ---------------------------------- */

struct ngt_conn {
	int fd;
	int timeout_ms;	   /* per read; NGT_WAIT_MS by default */
	char rbuf[NGT_RBUF];
	size_t len, off;   /* unread bytes are rbuf[off, len) */
};

/* Connect to 127.0.0.1:port (blocking socket). The greeting is not read:
 * read it with ngt_status(). */
struct ngt_conn *ngt_connect(int port);
void ngt_close(struct ngt_conn *c); /* accepts NULL */

/* Send a command: the formatted text and CRLF. */
int ngt_send(struct ngt_conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Send bytes as they are (NUL bytes, bare LF, half lines...). */
int ngt_send_raw(struct ngt_conn *c, const void *p, size_t len);

/*
 * Read one line into line (NUL-terminated, its CRLF removed). Returns
 * its length; -1 on EOF, error or timeout; -2 when it ended in a bare LF
 * (a protocol error: every NNTP line ends in CRLF).
 */
ssize_t ngt_line(struct ngt_conn *c, char *line, size_t cap);
/* Read a status line; returns its code, -1 when none came. The line
 * goes to status when not NULL. */
int ngt_status(struct ngt_conn *c, char *status, size_t cap);
/* Send a command and read its status line. */
int ngt_cmd(struct ngt_conn *c, char *status, size_t cap, const char *fmt,
    ...) __attribute__((format(printf, 4, 5)));
/*
 * Read a multi-line block up to its "." line. Lines are un-dot-stuffed
 * and appended to body (when not NULL) each ending in "\n". Returns the
 * number of lines, -1 on EOF/timeout, -2 when a line did not end in CRLF.
 */
int ngt_body(struct ngt_conn *c, struct buf *body);
/* Is the connection closed by the server (EOF within timeout_ms)? */
bool ngt_eof(struct ngt_conn *c, int timeout_ms);

#endif
