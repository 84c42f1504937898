/*
 * server_int.h - private to the server (server.c, server_ops.c,
 * server_conf.c): its state, its connections, and the few functions the
 * three files share. Nothing outside src/server*.c includes this.
 *
 *   server.c       listeners, the event loop, connections (plain and
 *                  TLS), timers, signals
 *   server_ops.c   what sessions ask (session_ops): POST (the writer
 *                  thread and its group commit), AUTHINFO, STARTTLS
 *   server_conf.c  the configuration, the spool, the user to run as
 */
#ifndef NG_SERVER_INT_H
#define NG_SERVER_INT_H

#include <sys/socket.h>
#include <sys/types.h>

#include <netinet/in.h>
#include <pthread.h>

#include "auth.h"
#include "config.h"
#include "nntp.h"
#include "pipeline.h"
#include "server.h"
#include "session.h"
#include "spool.h"
#include "tls.h"

#define SERVER_LISTENERS_MAX 32	    /* sockets listened on */
#define SERVER_BACKLOG 1024	    /* listen(2) backlog */
#define SERVER_READ_MAX (16 * 1024) /* one read(2) at most */
#define SERVER_READS_PER_WAKE 4	    /* reads per connection per event */
#define SERVER_REFILLS_PER_WAKE 16  /* output refills before yielding */
#define SERVER_EVENTS 256	    /* epoll_wait batch */
#define SERVER_STOP_GRACE_MS 10000  /* SIGTERM: time to finish responses */
#define SERVER_ACCEPT_PAUSE_MS 100  /* after EMFILE */
#define SERVER_ADDR_BUCKETS 1024    /* per-address counter hash */
#define SERVER_WAIT_MAX_MS 60000    /* longest epoll_wait */
#define SERVER_THROTTLE_SLOTS 4096  /* addresses the auth throttle keeps */
#define SERVER_KEY_MAX 64	    /* auth throttle key: an address */
/* A commit waits this long at most for as many posts as the last had. */
#define SERVER_COMMIT_WAIT_MS 3

enum ep_kind {
	EP_LISTENER,
	EP_SIGNAL,
	EP_CONN,
	EP_WRITER, /* the writer thread's eventfd: answers are ready */
};

struct listener {
	enum ep_kind kind; /* EP_LISTENER; first: epoll data points here */
	int fd;
	bool tls; /* implicit TLS (NNTPS, RFC 8143 §2) */
	char name[INET6_ADDRSTRLEN + 16]; /* "addr:port" for logs */
};

/* Connections per client address (max_per_address). */
struct addr_count {
	struct addr_count *next;
	unsigned char key[17]; /* family, then 16 address octets */
	uint32_t n;	       /* open connections from there */
};

enum conn_timer {
	TIMER_NONE,
	TIMER_HANDSHAKE,  /* the TLS handshake must be over by then */
	TIMER_AUTH_REPLY, /* the delayed 481 of a failed AUTHINFO PASS */
};

struct conn {
	enum ep_kind kind; /* EP_CONN; first */
	int fd;
	struct session *s;
	struct conn *prev, *next; /* activity order: head is the oldest */
	uint64_t start_ms;	  /* accepted, now_ms() */
	uint64_t last_ms;	  /* last byte read or written */
	uint64_t bytes_in, bytes_out;
	uint32_t events;       /* registered with epoll */
	bool eof;	       /* the client closed its side */
	bool dead;	       /* closed; freed after the event batch */
	const char *why;       /* why the server is closing it, or NULL */
	struct addr_count *ac; /* NULL for inetd */
	char peer[INET6_ADDRSTRLEN + 8];
	char key[SERVER_KEY_MAX]; /* the address without port (IPv6: its
				     /64), the auth throttle's key */

	/* TLS */
	struct tls_conn *tls;	    /* NULL: plaintext */
	bool hs;		    /* handshake in progress */
	bool hs_starttls;	    /* ... after STARTTLS (else implicit) */
	int hs_want;		    /* TLS_WANT_READ or TLS_WANT_WRITE */
	bool starttls;		    /* 382 queued: start TLS once it is sent */
	bool rd_want_write;	    /* tls_read asked for EPOLLOUT */
	bool wr_want_read;	    /* tls_write asked for EPOLLIN */
	struct conn *rprev, *rnext; /* the ready list (TLS bytes pending) */
	bool ready;

	/* Timers (at most one at a time) */
	enum conn_timer timer;
	uint64_t timer_ms;
	struct conn *tprev, *tnext;

	struct post_req *req; /* its POST at the writer, or NULL */
};

/*
 * A POST on its way to the writer thread and back. Handed over whole
 * through the writer's queues; c is the event loop's alone (the writer
 * never reads it), the rest the writer's while it holds the request.
 */
struct post_req {
	struct post_req *next; /* in a queue */
	struct conn *c;	       /* the poster; NULL once it has gone */
	struct article *a;     /* the article, owned; the writer's pipeline
				  consumes it */
	struct thread_terms *terms; /* a's terms (pipeline_prescan), owned;
				       NULL: the writer cuts them */
	char msgid[NNTP_MSGID_MAX + 1];
	int code;	/* the answer: NNTP_OK_POSTED or NNTP_FAIL_POST */
	char *answer;	/* its text, owned */
	bool committed; /* the pipeline reported it durable */
};

/*
 * The writer thread: the only user of the writable spool handle and of
 * the pipeline, so that a commit (a few device flushes) or an import
 * holding the spool's writer lock never stalls the event loop. Posts
 * queued while it commits form the next commit (group commit).
 */
struct writer {
	pthread_t thread;
	bool running;
	pthread_mutex_t mu;		    /* guards todo, done, ntodo, stop */
	pthread_cond_t cv;		    /* todo grew, or stop */
	struct post_req *todo, **todo_tail; /* to commit, in order */
	size_t ntodo;
	struct post_req *done, **done_tail; /* answered */
	struct spool_commit *commits;	    /* made since the event loop
					       last took done (spool.h) */
	bool stop;
	struct {
		enum ep_kind kind; /* EP_WRITER; epoll data points here */
		int fd;		   /* eventfd */
	} ev;
	/* The thread's own, untouched by the event loop once it runs: */
	struct config conf; /* loaded at start; not replaced on SIGHUP */
	struct spool *sp;   /* opened SPOOL_WRITE */
	struct pipeline *pipe;
	struct post_req **batch; /* staged in the current commit */
	size_t nbatch, capbatch, cursor;
	size_t prev_batch;    /* posts the last commit took */
	uint64_t unsynced_ms; /* sync = no: now_ms() when the oldest commit
				 not yet synced was seen; 0: none */
};

struct server {
	int ep;
	struct {
		enum ep_kind kind; /* EP_SIGNAL */
		int fd;
	} sig;
	struct listener lis[SERVER_LISTENERS_MAX];
	size_t nlis;
	struct spool *sp;
	struct config conf; /* current; replaced on SIGHUP */
	const struct server_opts *opts;
	struct session_conf sconf;  /* what sessions see; updated in
				       place on SIGHUP */
	struct session_server ssrv; /* the same for posting, accounts, TLS */
	char hostname[256];	    /* sconf.hostname points here */
	struct conn *head, *tail;   /* every connection, by activity */
	struct conn *dead;	    /* closed in this batch, to free */
	size_t nconns;
	struct addr_count *addrs[SERVER_ADDR_BUCKETS];
	bool stopping; /* SIGTERM seen */
	uint64_t stop_deadline_ms;
	uint64_t accept_resume_ms;  /* accepting paused until; 0: not */
	char rbuf[SERVER_READ_MAX]; /* read scratch, shared */

	struct tls_ctx *tls; /* NULL: no certificate, no TLS */
	struct writer *wr;   /* NULL: no posting (read-only spool) */
	struct terms *tk;    /* cuts a post's terms for the writer's
				threader; NULL: no posting or no threading */
	struct auth *auth;   /* the accounts file */
	char *accounts;	     /* its absolute path */
	struct auth_throttle *throttle;
	struct conn *timers; /* connections with a timer */
	struct conn *ready;  /* TLS connections to read again */
	uid_t uid;	     /* to drop to; 0: keep */
	gid_t gid;
	char user[64]; /* its name */
};

/* --- server.c ------------------------------------------------------------ */

/* Send what the session has; close or wait for the socket (server.c). */
void conn_flush(struct server *sv, struct conn *c);
/* One timer per connection: setting one replaces the other. */
void timer_set(
    struct server *sv, struct conn *c, enum conn_timer t, uint64_t at);

/* --- server_ops.c ----------------------------------------------------------
 */

extern const struct session_ops server_ops;
/* Open the writable spool (created with the configured groups when
 * missing) and the pipeline, for a writer not started yet. Returns NULL
 * (logged) when the spool cannot be written. */
struct writer *writer_open(const struct server *sv);
/* Start its thread (after daemon(): threads do not survive a fork). */
void writer_run(struct writer *w);
/* Commit what is queued, stop the thread, close the spool; NULL ok. */
void writer_close(struct writer *w);
/* Bring the event loop's spool handle up to date: the writer thread's
 * commits from memory, anything else from the files (spool_refresh);
 * without look, the files only when a commit could not be applied. */
void server_catch_up(struct server *sv, bool look);
/* The eventfd said answers are ready: deliver them. */
void server_answers(struct server *sv);
/* A connection closes: its POST, if any, is committed all the same. */
void server_forget_post(struct conn *c);

/* --- server_conf.c ---------------------------------------------------------
 */

/* The command line's TLS and --user options over c. */
void server_apply_opts(struct config *c, const struct server_opts *o);
/* The settings config.c keeps as text: -1 with the reason in err. */
int server_conf_check(const struct config *c, struct buf *err) NG_NODISCARD;
/* What sessions see, from sv->conf (and whether posting is possible). */
void server_apply_conf(struct server *sv);
/* path made absolute (caller frees; NULL for NULL). */
char *server_absolute(const char *path);
/* Open (or re-open, when its path changed) the accounts file. */
void server_accounts(struct server *sv);
/* SIGHUP. */
void server_reload(struct server *sv);
void server_raise_fd_limit(void);
/* The spool: for writing with a pipeline unless post_policy is nobody
 * or it cannot be written; created when missing. Fatal on failure. */
void server_spool_open(struct server *sv);
/* Started as root: whom to become; hand a root-owned spool over. */
void server_user(struct server *sv);
/* Become that user for good. */
void server_drop(struct server *sv);
void server_write_pid_file(const char *path);

#endif
