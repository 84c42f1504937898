/*
 * server.h - the NNTP server process (`newsgate serve`): listeners (plain,
 * and implicit TLS), one epoll loop over non-blocking sockets, connections
 * with bounded input and output queues, TLS (tls.h) and STARTTLS, idle
 * and handshake timeouts, connection limits, signals (SIGTERM and SIGINT
 * stop gracefully, SIGHUP reloads the configuration). Protocol work is
 * the session's (session.h); the server moves bytes and does what a
 * session asks: posts go through the import pipeline (pipeline.h) with a
 * group commit per event-loop wakeup, passwords are checked with auth.h
 * and its throttle.
 *
 * Started as root, the server drops to an unprivileged user once the
 * listeners are bound and the TLS key is read: the configured `user`;
 * else the owner of the spool directory when that is not root; else
 * "news" when it exists; else "nobody". A spool owned by root is handed
 * to that user first (its tree chowned) so that posts can still be
 * written; `user = root` keeps root.
 *
 * SECURITY: every connection is attacker-controlled. Bounds: the
 * configuration's max_connections and max_per_address (answered 400 and
 * closed), idle_timeout_s, SERVER_HANDSHAKE_MS for a TLS handshake, the
 * session's input and output ceilings (and the article ceiling during a
 * POST); reads stop while a client's output is above the high-water mark
 * or while its session waits (a commit, a delayed 481, a handshake).
 */
#ifndef NG_SERVER_H
#define NG_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

#define SERVER_LISTEN_MAX 16			   /* --listen options */
#define SERVER_TLS_LISTEN_DEFAULT "127.0.0.1:1563" /* with a certificate */
#define SERVER_HANDSHAKE_MS 30000 /* a TLS handshake must end by then */

struct server_opts {
	const char *config_path; /* --config, re-read on SIGHUP; NULL */
	const char *spool_dir;	 /* --spool override, re-applied on SIGHUP */
	const char *listen[SERVER_LISTEN_MAX]; /* --listen; none: the
						  configuration's */
	size_t nlisten;
	const char *port_file; /* write the bound ports here, one a line */
	const char *pid_file;  /* write the pid here (removed at exit) */
	bool daemon;	       /* detach; logs go to syslog */
	bool inetd;	       /* serve one connection on fd 0, no listeners */
	/* Overrides of the configuration's settings of the same names,
	 * re-applied on SIGHUP; NULL: the configuration's. */
	const char *tls_listen; /* --tls-listen ADDR:PORT */
	const char *tls_cert;	/* --tls-cert FILE */
	const char *tls_key;	/* --tls-key FILE */
	const char *user;	/* --user NAME */
};

/*
 * Run the server with configuration conf (owned by the server from now
 * on: it is replaced on SIGHUP and freed at exit) until SIGTERM/SIGINT.
 * Listeners come from systemd socket activation (LISTEN_FDS) when
 * present, else from opts->listen, else from conf. Returns the process
 * exit status; start-up failures are fatal().
 */
int server_run(struct config *conf, const struct server_opts *opts);

/*
 * Parse "ADDR:PORT" ("127.0.0.1:119", "[::1]:1119", "*:119", ":119",
 * "localhost:1119") into host (NULL for every address) and port, both
 * pointing into buf (a copy of the text, at least strlen(text) + 1
 * bytes). Returns -1 when it has no port.
 */
int server_parse_listen(const char *text, char *buf, size_t cap,
    const char **host, const char **port) __attribute__((warn_unused_result));

#endif
