/*
 * server.c - the NNTP server process: listeners, the one epoll loop,
 * connections (plain and TLS), timers, signals, and what sessions ask of
 * it (session_ops): posting, password checks, STARTTLS. Owns every
 * socket and the server's state (the only file besides main.c allowed
 * mutable process state; it keeps it in one struct server passed around,
 * not in globals).
 *
 * Never parses protocol (session.c does) and never writes under the spool
 * itself: posts go through the pipeline (pipeline.c, then spool.c), into
 * the spool opened for writing when post_policy is not "nobody" (else
 * read-only). The one exception is the hand-over of a root-owned spool to
 * the unprivileged user (chown only; see server.h).
 *
 * Per connection: the session (which holds no buffer while idle), a
 * struct conn, and a slot in the activity list. Reads stop while the
 * session's input buffer is full, which happens when its output is above
 * the high-water mark (back-pressure), and while the session waits for
 * the server; output is sent with one write per refill, TCP_NODELAY set,
 * so a response never waits for a delayed ACK.
 *
 * Group commit: a POST whose article arrives is staged in the pipeline
 * at once; after the event-loop wakeup has run every ready connection,
 * one pipeline_flush() (one syncfs) makes every article staged in it
 * durable, and only then do their 240 replies go out. A failed commit
 * answers them all 441 and leaves the spool as it was.
 *
 * TLS (tls.h): every read and write goes through conn_recv/conn_send,
 * which map TLS_WANT_READ/WRITE to the epoll events to wait for. Bytes
 * that OpenSSL decrypted but the session had no room for are invisible to
 * epoll: such connections go on the ready list and are read again in the
 * same loop.
 */
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include "common.h"
#include "auth.h"
#include "cli.h"
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
#define SERVER_COMMIT_WAIT_MS                                                  \
	3 /* a commit waits this long at most for                              \
	     the posters of the last one */

enum ep_kind {
	EP_LISTENER,
	EP_SIGNAL,
	EP_CONN,
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

	ssize_t post_slot; /* index in server.posts, or -1 */
};

/* A POST staged in this wakeup, waiting for the group commit. */
struct post_wait {
	struct conn *c; /* NULL once the client has gone */
	char msgid[NNTP_MSGID_MAX + 1];
	bool committed; /* the pipeline reported it durable */
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

	struct tls_ctx *tls;   /* NULL: no certificate, no TLS */
	struct pipeline *pipe; /* NULL: the spool is read-only */
	struct auth *auth;     /* the accounts file */
	char *accounts;	       /* its absolute path */
	struct auth_throttle *throttle;
	struct post_wait *posts; /* staged this wakeup, in order */
	size_t nposts, capposts;
	size_t post_cursor;  /* where the next commit report is */
	uint64_t batch_ms;   /* when the first of posts[] was staged */
	size_t prev_batch;   /* posts the last commit made durable */
	struct conn *timers; /* connections with a timer */
	struct conn *ready;  /* TLS connections to read again */
	uid_t uid;	     /* to drop to; 0: keep */
	gid_t gid;
	char user[64]; /* its name */
};

static void conn_flush(struct server *sv, struct conn *c);
static void conn_read(struct server *sv, struct conn *c);
static const struct session_ops server_ops;

/* --- addresses ---------------------------------------------------------- */

int
server_parse_listen(const char *text, char *buf, size_t cap, const char **host,
    const char **port)
{
	char *colon, *end;

	if (!str_copy(buf, cap, text))
		return -1;
	if (buf[0] == '[') {
		/* "[v6]:port" */
		if ((end = strchr(buf, ']')) == NULL || end[1] != ':')
			return -1;
		*end = '\0';
		*host = buf + 1;
		*port = end + 2;
	} else {
		if ((colon = strrchr(buf, ':')) == NULL)
			return -1;
		*colon = '\0';
		*host = buf;
		*port = colon + 1;
	}
	if (**port == '\0' || strspn(*port, "0123456789") != strlen(*port))
		return -1;
	if (**host == '\0' || strcmp(*host, "*") == 0)
		*host = NULL;
	return 0;
}

static void
sockaddr_name(const struct sockaddr *sa, char *dst, size_t cap)
{
	char a[INET6_ADDRSTRLEN];
	unsigned port = 0;

	a[0] = '\0';
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &in->sin_addr, a, sizeof(a));
		port = ntohs(in->sin_port);
		if (!str_printf(dst, cap, "%s:%u", a, port))
			dst[0] = '\0';
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 =
		    (const struct sockaddr_in6 *)sa;

		inet_ntop(AF_INET6, &in6->sin6_addr, a, sizeof(a));
		port = ntohs(in6->sin6_port);
		if (!str_printf(dst, cap, "[%s]:%u", a, port))
			dst[0] = '\0';
	} else if (!str_copy(dst, cap, "local")) {
		dst[0] = '\0';
	}
}

static unsigned
sockaddr_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1)
		return 0;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return 0;
}

/* The per-address key: family and address, no port. */
static void
addr_key(const struct sockaddr_storage *ss, unsigned char key[17])
{
	memset(key, 0, 17);
	key[0] = (unsigned char)ss->ss_family;
	if (ss->ss_family == AF_INET)
		memcpy(key + 1, &((const struct sockaddr_in *)ss)->sin_addr, 4);
	else if (ss->ss_family == AF_INET6)
		memcpy(
		    key + 1, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
}

static struct addr_count *
addr_get(struct server *sv, const unsigned char key[17], bool create)
{
	size_t b = hash64(key, 17, 0) % SERVER_ADDR_BUCKETS;
	struct addr_count *a;

	for (a = sv->addrs[b]; a != NULL; a = a->next)
		if (memcmp(a->key, key, 17) == 0)
			return a;
	if (!create)
		return NULL;
	a = xcalloc(1, sizeof(*a));
	memcpy(a->key, key, 17);
	a->next = sv->addrs[b];
	sv->addrs[b] = a;
	return a;
}

static void
addr_put(struct server *sv, struct addr_count *a)
{
	struct addr_count **pp;

	if (a == NULL || --a->n > 0)
		return;
	for (pp = &sv->addrs[hash64(a->key, 17, 0) % SERVER_ADDR_BUCKETS];
	     *pp != a; pp = &(*pp)->next)
		;
	*pp = a->next;
	free(a);
}

/* --- listeners ---------------------------------------------------------- */

static void
listener_add(struct server *sv, int fd, const char *name, bool tls)
{
	struct listener *l;
	struct epoll_event ev;

	if (sv->nlis == SERVER_LISTENERS_MAX)
		fatalx("serve: more than %d listening sockets",
		    SERVER_LISTENERS_MAX);
	l = &sv->lis[sv->nlis++];
	l->kind = EP_LISTENER;
	l->fd = fd;
	l->tls = tls;
	if (!str_copy(l->name, sizeof(l->name), name))
		l->name[0] = '\0';
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = l;
	if (epoll_ctl(sv->ep, EPOLL_CTL_ADD, fd, &ev) == -1)
		fatal("serve: epoll_ctl listener");
}

/* Bind every address text resolves to. */
static void
listen_on(struct server *sv, const char *text, bool tls)
{
	struct addrinfo hints, *res, *ai;
	char buf[256], name[INET6_ADDRSTRLEN + 16];
	const char *host, *port;
	int fd, one = 1, rc;

	if (server_parse_listen(text, buf, sizeof(buf), &host, &port) == -1)
		fatalx("serve: listen address '%s': want ADDR:PORT", text);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0)
		fatalx(
		    "serve: listen address '%s': %s", text, gai_strerror(rc));
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family,
		    ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd == -1)
			fatal("serve: socket for %s", text);
		if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
			sizeof(one)) == -1 ||
		    (ai->ai_family == AF_INET6 &&
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
			    sizeof(one)) == -1))
			fatal("serve: setsockopt %s", text);
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == -1)
			fatal("serve: bind %s", text);
		if (listen(fd, SERVER_BACKLOG) == -1)
			fatal("serve: listen %s", text);
		sockaddr_name(ai->ai_addr, name, sizeof(name));
		if (strrchr(name, ':') &&
		    !str_printf(strrchr(name, ':'),
			sizeof(name) - (size_t)(strrchr(name, ':') - name),
			":%u", sockaddr_port(fd)))
			name[0] = '\0';
		listener_add(sv, fd, name, tls);
		log_info("listening on %s%s", name, tls ? " (TLS)" : "");
	}
	freeaddrinfo(res);
}

/* The i-th name of LISTEN_FDNAMES (":"-separated) into dst. */
static void
fd_name(const char *names, uint64_t i, char *dst, size_t cap)
{
	size_t len;

	dst[0] = '\0';
	for (; names != NULL && i > 0; i--)
		if ((names = strchr(names, ':')) != NULL)
			names++;
	if (names == NULL)
		return;
	len = strcspn(names, ":");
	if (len < cap) {
		memcpy(dst, names, len);
		dst[len] = '\0';
	}
}

/*
 * systemd socket activation (sd_listen_fds(3)): fds 3.. are listeners;
 * one whose FileDescriptorName is "nntps" speaks implicit TLS.
 */
static bool
listen_activated(struct server *sv)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	const char *names = getenv("LISTEN_FDNAMES");
	uint64_t p, n, i;
	char name[64], fdn[32];
	bool tls;
	int fl;

	if (pid == NULL || fds == NULL ||
	    parse_u64(pid, strlen(pid), &p) == -1 || p != (uint64_t)getpid() ||
	    parse_u64(fds, strlen(fds), &n) == -1 || n == 0)
		return false;
	for (i = 0; i < n; i++) {
		int fd = 3 + (int)i;

		if ((fl = fcntl(fd, F_GETFL)) == -1 ||
		    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1 ||
		    fcntl(fd, F_SETFD, FD_CLOEXEC) == -1)
			fatal("serve: socket-activated fd %d", fd);
		if (!str_printf(name, sizeof(name), "systemd fd %d port %u", fd,
			sockaddr_port(fd)))
			name[0] = '\0';
		fd_name(names, i, fdn, sizeof(fdn));
		if ((tls = strcmp(fdn, "nntps") == 0) && sv->tls == NULL)
			fatalx("serve: socket %s is for TLS: configure "
			       "tls_cert and tls_key",
			    name);
		listener_add(sv, fd, name, tls);
		log_info("listening on %s%s", name, tls ? " (TLS)" : "");
	}
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	return true;
}

static void
listeners_close(struct server *sv)
{
	size_t i;

	for (i = 0; i < sv->nlis; i++) {
		epoll_ctl(sv->ep, EPOLL_CTL_DEL, sv->lis[i].fd, NULL);
		close(sv->lis[i].fd);
	}
	sv->nlis = 0;
}

/* Write the bound ports, one a line, atomically (tests wait for it). */
static void
write_port_file(struct server *sv, const char *path)
{
	struct buf b = BUF_INIT(SIZE_MAX);
	char tmp[4096];
	size_t i;
	int fd;

	for (i = 0; i < sv->nlis; i++)
		buf_printf(&b, "%u\n", sockaddr_port(sv->lis[i].fd));
	if (!str_printf(tmp, sizeof(tmp), "%s.tmp", path))
		fatalx("serve: port file name too long");
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) ==
		-1 ||
	    write_all(fd, buf_cstr(&b), b.len) == -1 || close(fd) == -1 ||
	    rename(tmp, path) == -1)
		fatal("serve: port file %s", path);
	buf_free(&b);
}

/* --- connections -------------------------------------------------------- */

static void
conn_unlink(struct server *sv, struct conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		sv->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		sv->tail = c->prev;
	c->prev = c->next = NULL;
}

static void
conn_append(struct server *sv, struct conn *c)
{
	c->prev = sv->tail;
	c->next = NULL;
	if (sv->tail)
		sv->tail->next = c;
	else
		sv->head = c;
	sv->tail = c;
}

/* Activity: move to the end of the idle order. */
static void
conn_touch(struct server *sv, struct conn *c)
{
	c->last_ms = now_ms();
	if (sv->tail != c) {
		conn_unlink(sv, c);
		conn_append(sv, c);
	}
}

static void
timer_clear(struct server *sv, struct conn *c)
{
	if (c->timer == TIMER_NONE)
		return;
	if (c->tprev)
		c->tprev->tnext = c->tnext;
	else
		sv->timers = c->tnext;
	if (c->tnext)
		c->tnext->tprev = c->tprev;
	c->tprev = c->tnext = NULL;
	c->timer = TIMER_NONE;
}

/* One timer per connection: setting one replaces the other. */
static void
timer_set(struct server *sv, struct conn *c, enum conn_timer t, uint64_t at)
{
	timer_clear(sv, c);
	c->timer = t;
	c->timer_ms = at;
	c->tprev = NULL;
	c->tnext = sv->timers;
	if (sv->timers)
		sv->timers->tprev = c;
	sv->timers = c;
}

static void
ready_add(struct server *sv, struct conn *c)
{
	if (c->ready)
		return;
	c->ready = true;
	c->rprev = NULL;
	c->rnext = sv->ready;
	if (sv->ready)
		sv->ready->rprev = c;
	sv->ready = c;
}

static void
ready_del(struct server *sv, struct conn *c)
{
	if (!c->ready)
		return;
	if (c->rprev)
		c->rprev->rnext = c->rnext;
	else
		sv->ready = c->rnext;
	if (c->rnext)
		c->rnext->rprev = c->rprev;
	c->rprev = c->rnext = NULL;
	c->ready = false;
}

static void
conn_close(struct server *sv, struct conn *c, const char *why)
{
	/* The one log line of a connection. */
	log_info("conn %s: %s after %" PRIu64 " ms: %" PRIu64 " commands, "
		 "%" PRIu64 " articles, %" PRIu64 " posts, %" PRIu64
		 " bytes in, %" PRIu64 " bytes out%s%s%s",
	    c->peer, why, now_ms() - c->start_ms, c->s->stats.commands,
	    c->s->stats.articles, c->s->stats.posts, c->bytes_in, c->bytes_out,
	    c->s->tls ? ", TLS" : "", c->s->authenticated ? ", user " : "",
	    c->s->authenticated ? c->s->user : "");
	conn_unlink(sv, c);
	timer_clear(sv, c);
	ready_del(sv, c);
	if (c->post_slot >= 0) {
		/* Staged already: it is committed all the same. */
		sv->posts[c->post_slot].c = NULL;
		c->post_slot = -1;
	}
	epoll_ctl(sv->ep, EPOLL_CTL_DEL, c->fd, NULL);
	if (c->tls != NULL) {
		if (!c->hs)
			(void)tls_shutdown(c->tls); /* best effort */
		tls_conn_free(c->tls);
		c->tls = NULL;
	}
	close(c->fd);
	addr_put(sv, c->ac);
	session_free(c->s);
	c->s = NULL;
	sv->nconns--;
	/* Later events of this epoll batch may still point here. */
	c->dead = true;
	c->next = sv->dead;
	sv->dead = c;
}

static void
conn_reap(struct server *sv)
{
	struct conn *c;

	while ((c = sv->dead) != NULL) {
		sv->dead = c->next;
		free(c);
	}
}

static void
conn_events(struct server *sv, struct conn *c, bool want_out)
{
	struct epoll_event ev;
	uint32_t want = 0;
	bool room = session_input_room(c->s) > 0;

	if (c->hs) {
		want = c->hs_want == TLS_WANT_WRITE ? EPOLLOUT : EPOLLIN;
	} else {
		if (!c->eof && !sv->stopping && room && !c->starttls)
			want |= EPOLLIN;
		if (want_out || c->rd_want_write)
			want |= EPOLLOUT;
		if (c->wr_want_read)
			want |= EPOLLIN;
		/* Decrypted bytes epoll cannot see: read them in this loop. */
		if (c->tls != NULL && !c->eof && room && !sv->stopping &&
		    tls_pending(c->tls))
			ready_add(sv, c);
	}
	if (want == c->events)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.events = want;
	ev.data.ptr = c;
	if (epoll_ctl(sv->ep, EPOLL_CTL_MOD, c->fd, &ev) == -1)
		log_warn("conn %s: epoll_ctl", c->peer);
	c->events = want;
}

/*
 * Read or write through TLS when the connection has it: > 0 bytes, 0 at
 * EOF (read), or -1 with errno EAGAIN (wait for the events conn_events
 * derives) or another error.
 */
static ssize_t
conn_recv(struct conn *c, void *p, size_t len)
{
	ssize_t n;
	int want;

	if (c->tls == NULL)
		return read(c->fd, p, len);
	c->rd_want_write = false;
	if ((n = tls_read(c->tls, p, len, &want)) >= 0)
		return n;
	if (want == TLS_WANT_READ || want == TLS_WANT_WRITE) {
		c->rd_want_write = want == TLS_WANT_WRITE;
		errno = EAGAIN;
		return -1;
	}
	log_debug("conn %s: TLS read: %s", c->peer, tls_error(c->tls));
	errno = EPROTO;
	return -1;
}

static ssize_t
conn_send(struct conn *c, const void *p, size_t len)
{
	ssize_t n;
	int want;

	if (c->tls == NULL)
		return write(c->fd, p, len);
	c->wr_want_read = false;
	if ((n = tls_write(c->tls, p, len, &want)) >= 0)
		return n;
	if (want == TLS_WANT_READ || want == TLS_WANT_WRITE) {
		c->wr_want_read = want == TLS_WANT_READ;
		errno = EAGAIN;
		return -1;
	}
	log_debug("conn %s: TLS write: %s", c->peer, tls_error(c->tls));
	errno = EPIPE;
	return -1;
}

/* Drive the handshake; on success let the session go on. */
static void
conn_handshake(struct server *sv, struct conn *c)
{
	struct buf desc = BUF_INIT(256);
	int r = tls_handshake(c->tls);

	if (r == TLS_ERROR) {
		log_info("conn %s: TLS handshake failed: %s", c->peer,
		    tls_error(c->tls));
		conn_close(sv, c, "TLS handshake failed");
		return;
	}
	if (r != TLS_OK) {
		c->hs_want = r;
		conn_events(sv, c, false);
		return;
	}
	c->hs = false;
	timer_clear(sv, c);
	conn_touch(sv, c);
	tls_describe(c->tls, &desc);
	log_debug("conn %s: %s", c->peer, buf_cstr(&desc));
	buf_free(&desc);
	if (c->hs_starttls)
		session_tls_done(c->s);
	/* The greeting (implicit TLS), or commands that came with the
	 * handshake's last flight. */
	conn_read(sv, c);
}

/* STARTTLS: the 382 is out; the rest of the connection is TLS. */
static void
conn_tls_start(struct server *sv, struct conn *c)
{
	c->starttls = false;
	if ((c->tls = tls_conn_new(sv->tls, c->fd)) == NULL) {
		conn_close(sv, c, "TLS setup failed");
		return;
	}
	c->hs = true;
	c->hs_starttls = true;
	timer_set(sv, c, TIMER_HANDSHAKE, now_ms() + SERVER_HANDSHAKE_MS);
	conn_handshake(sv, c);
}

/*
 * Send what the session has, refilling from it (generators, pipelined
 * commands) as the socket takes it, up to SERVER_REFILLS_PER_WAKE times;
 * then close, or wait for the socket.
 */
static void
conn_flush(struct server *sv, struct conn *c)
{
	const char *p;
	size_t len;
	ssize_t n;
	int refills = 0;
	bool yielded = false;

	if (c->hs) {
		conn_events(sv, c, false);
		return;
	}
	for (;;) {
		p = session_out_data(c->s, &len);
		if (len == 0) {
			if (!session_pending(c->s))
				break;
			if (refills++ == SERVER_REFILLS_PER_WAKE) {
				yielded = true; /* let the others run */
				break;
			}
			if (session_run(c->s) == -1) {
				conn_close(sv, c, "output overflow");
				return;
			}
			continue;
		}
		if ((n = conn_send(c, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			conn_close(sv, c,
			    errno == EPIPE || errno == ECONNRESET
				? "reset"
				: "write error");
			return;
		}
		session_out_consume(c->s, (size_t)n);
		c->bytes_out += (size_t)n;
		conn_touch(sv, c);
		if ((size_t)n < len && c->tls == NULL)
			break; /* the socket is full: wait for EPOLLOUT */
	}
	session_out_data(c->s, &len);
	if (len == 0 && !yielded) {
		if (c->starttls) {
			conn_tls_start(sv, c);
			return;
		}
		if (c->s->closing) {
			conn_close(sv, c, c->why ? c->why : "quit");
			return;
		}
		if (c->eof) {
			conn_close(sv, c, "client closed");
			return;
		}
		session_trim(c->s);
	}
	conn_events(sv, c, len > 0 || yielded);
}

static void
conn_read(struct server *sv, struct conn *c)
{
	size_t room;
	ssize_t n;
	int i;

	ready_del(sv, c);
	for (i = 0; i < SERVER_READS_PER_WAKE && !c->eof; i++) {
		if ((room = session_input_room(c->s)) == 0)
			break;
		if (room > sizeof(sv->rbuf))
			room = sizeof(sv->rbuf);
		if ((n = conn_recv(c, sv->rbuf, room)) == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			conn_close(sv, c,
			    errno == ECONNRESET	  ? "reset"
				: errno == EPROTO ? "TLS error"
						  : "read error");
			return;
		}
		if (n == 0) {
			c->eof = true;
			break;
		}
		c->bytes_in += (size_t)n;
		conn_touch(sv, c);
		if (session_input(c->s, sv->rbuf, (size_t)n) == -1) {
			conn_close(sv, c, "output overflow");
			return;
		}
		if (c->s->secret_seen) {
			/* A password went through this buffer. */
			explicit_bzero(sv->rbuf, (size_t)n);
			c->s->secret_seen = false;
		}
		if ((size_t)n < room && c->tls == NULL)
			break;
	}
	conn_flush(sv, c);
}

/* A refusal that needs no connection state: best effort, then close. */
static void
refuse(int fd, const char *peer, const char *why, bool tls)
{
	char line[128];
	int len;

	/* On a TLS port a plaintext reply would be noise: just close. */
	len = snprintf(
	    line, sizeof(line), "%d %s\r\n", NNTP_FAIL_TERMINATING, why);
	if (!tls && len > 0 && write(fd, line, (size_t)len) == -1) {
		/* nothing to do: we close anyway */
	}
	close(fd);
	log_info("conn %s: refused: %s", peer, why);
}

/* The client's address without port; is it this machine? */
static bool
peer_address(const struct sockaddr_storage *ss, char *addr, size_t cap,
    char *key, size_t keycap)
{
	const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
	struct in6_addr net;

	addr[0] = key[0] = '\0';
	if (ss->ss_family == AF_INET) {
		inet_ntop(AF_INET, &in->sin_addr, addr, (socklen_t)cap);
		(void)str_copy(key, keycap, addr);
		return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	}
	if (ss->ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &in6->sin6_addr, addr, (socklen_t)cap);
		/* auth.h: an IPv6 client owns its /64. */
		net = in6->sin6_addr;
		memset(net.s6_addr + 8, 0, 8);
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
			(void)str_copy(key, keycap, addr);
		else if (inet_ntop(AF_INET6, &net, key, (socklen_t)keycap))
			(void)str_printf(
			    key + strlen(key), keycap - strlen(key), "/64");
		return IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr) ||
		    (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) &&
			in6->sin6_addr.s6_addr[12] == 127);
	}
	/* inetd on a pipe or a UNIX socket: a local client. */
	(void)str_copy(key, keycap, "local");
	return ss->ss_family == AF_UNIX || ss->ss_family == AF_UNSPEC;
}

static void
conn_new(struct server *sv, int fd, const struct sockaddr_storage *ss,
    bool counted, bool tls)
{
	struct epoll_event ev;
	struct addr_count *ac = NULL;
	unsigned char key[17];
	struct conn *c;
	char peer[INET6_ADDRSTRLEN + 8];
	int one = 1;

	sockaddr_name((const struct sockaddr *)ss, peer, sizeof(peer));
	if (counted) {
		if (sv->nconns >= sv->conf.max_connections) {
			refuse(
			    fd, peer, "Too many connections, try later", tls);
			return;
		}
		addr_key(ss, key);
		ac = addr_get(sv, key, true);
		if (++ac->n > sv->conf.max_per_address) {
			addr_put(sv, ac);
			refuse(fd, peer,
			    "Too many connections from your "
			    "address",
			    tls);
			return;
		}
		/* Responses go out in one write; never wait for an ACK. */
		if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
			sizeof(one)) == -1 &&
		    errno != EOPNOTSUPP && errno != ENOTSUP)
			log_debug(
			    "conn %s: TCP_NODELAY: %s", peer, strerror(errno));
	}
	c = xcalloc(1, sizeof(*c));
	c->kind = EP_CONN;
	c->fd = fd;
	c->ac = ac;
	c->post_slot = -1;
	c->start_ms = c->last_ms = now_ms();
	memcpy(c->peer, peer, sizeof(c->peer));
	c->s = session_new(sv->sp, &sv->sconf);
	c->s->srv = &sv->ssrv;
	c->s->host = c;
	c->s->loopback = peer_address(
	    ss, c->s->peer, sizeof(c->s->peer), c->key, sizeof(c->key));
	conn_append(sv, c);
	sv->nconns++;
	memset(&ev, 0, sizeof(ev));
	ev.events = c->events = EPOLLIN;
	ev.data.ptr = c;
	if (epoll_ctl(sv->ep, EPOLL_CTL_ADD, fd, &ev) == -1) {
		log_warn("conn %s: epoll_ctl", peer);
		conn_close(sv, c, "epoll error");
		return;
	}
	log_debug("conn %s: open%s", peer, tls ? " (TLS)" : "");
	if (tls) {
		if ((c->tls = tls_conn_new(sv->tls, fd)) == NULL) {
			conn_close(sv, c, "TLS setup failed");
			return;
		}
		c->s->tls = true;
		c->hs = true;
		c->hs_want = TLS_WANT_READ;
		timer_set(
		    sv, c, TIMER_HANDSHAKE, now_ms() + SERVER_HANDSHAKE_MS);
	}
	/* Queued now; under TLS it goes out after the handshake. */
	session_greet(c->s);
	if (tls)
		conn_handshake(sv, c);
	else
		conn_flush(sv, c);
}

static void
server_accept(struct server *sv, struct listener *l)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd;

	for (;;) {
		len = sizeof(ss);
		fd = accept4(l->fd, (struct sockaddr *)&ss, &len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd != -1) {
			conn_new(sv, fd, &ss, true, l->tls);
			continue;
		}
		switch (errno) {
		case EINTR:
		case ECONNABORTED:
		case EPROTO:
			continue;
		case EMFILE:
		case ENFILE:
		case ENOBUFS:
		case ENOMEM:
			/* Out of descriptors: stop accepting for a moment
			 * instead of spinning on a ready listener. */
			log_warn("serve: accept on %s", l->name);
			sv->accept_resume_ms =
			    now_ms() + SERVER_ACCEPT_PAUSE_MS;
			return;
		default:
			return; /* EAGAIN: done */
		}
	}
}

/* --- what sessions ask: POST, AUTHINFO, STARTTLS ---------------------------
 */

/* The pipeline's report that an article is durable. Reports come in the
 * order the articles were staged. */
static void
server_committed(void *arg, const char *msgid, const char *xref)
{
	struct server *sv = arg;
	size_t i;

	for (i = sv->post_cursor; i < sv->nposts; i++)
		if (strcmp(sv->posts[i].msgid, msgid) == 0)
			goto found;
	for (i = 0; i < sv->post_cursor && i < sv->nposts; i++)
		if (strcmp(sv->posts[i].msgid, msgid) == 0)
			goto found;
	return; /* not a post of this wakeup */
found:
	sv->posts[i].committed = true;
	sv->post_cursor = i + 1;
}

/* session_ops.post: stage now, answer after the group commit. */
static void
server_post(void *arg, struct session *s, const char *text, size_t len,
    const char *msgid)
{
	struct server *sv = arg;
	struct conn *c = s->host;
	struct buf why = BUF_INIT(1024);
	struct post_wait *w;
	enum pipeline_result r;

	if (sv->pipe == NULL) {
		session_post_done(
		    s, NNTP_FAIL_POST, "Posting is not available");
		return;
	}
	/* Listed first: a commit inside pipeline_message() (a full batch)
	 * reports this article too. */
	if (sv->nposts == sv->capposts) {
		sv->capposts = sv->capposts ? 2 * sv->capposts : 64;
		sv->posts =
		    xreallocarray(sv->posts, sv->capposts, sizeof(*sv->posts));
	}
	if (sv->nposts == 0)
		sv->batch_ms = now_ms();
	w = &sv->posts[sv->nposts];
	w->c = c;
	w->committed = false;
	(void)str_copy(w->msgid, sizeof(w->msgid), msgid);
	c->post_slot = (ssize_t)sv->nposts++;
	r = pipeline_message(
	    sv->pipe, text, len, time(NULL), PIPE_POST, &why, NULL);
	if (r == PIPE_STAGED) {
		buf_free(&why);
		return; /* server_commit() answers */
	}
	sv->nposts--;
	c->post_slot = -1;
	if (r == PIPE_FAILED)
		log_warnx(
		    "conn %s: post %s: %s", c->peer, msgid, buf_cstr(&why));
	session_post_done(s, NNTP_FAIL_POST, buf_cstr(&why));
	buf_free(&why);
}

/*
 * End of a wakeup: make every post staged in it durable, then answer.
 * Posters that send one article at a time (every newsreader) get their
 * 240s together and post again together, so the next batch waits, up to
 * SERVER_COMMIT_WAIT_MS, until it is as large as the last one: a commit
 * costs a few device flushes whatever its size. force: commit now.
 * Returns the ms until a deferred commit is due, else -1.
 */
static int
server_commit(struct server *sv, bool force)
{
	char line[NNTP_MSGID_MAX + 64];
	struct post_wait *w;
	struct conn *c;
	uint64_t now;
	int e = 0;
	size_t i, ok = 0;

	if (sv->nposts == 0)
		return -1;
	now = now_ms();
	if (!force && sv->nposts < sv->prev_batch &&
	    now < sv->batch_ms + SERVER_COMMIT_WAIT_MS)
		return (int)(sv->batch_ms + SERVER_COMMIT_WAIT_MS - now);
	if (pipeline_flush(sv->pipe) == -1) {
		e = errno;
		log_warn("serve: commit of %zu posts", sv->nposts);
	}
	for (i = 0; i < sv->nposts; i++) {
		w = &sv->posts[i];
		if ((c = w->c) == NULL)
			continue;
		c->post_slot = -1;
		if (w->committed) {
			ok++;
			/* RFC 3977 §6.3.1.2; the id as INN gives it. */
			(void)str_printf(line, sizeof(line),
			    "Article received %s", w->msgid);
			session_post_done(c->s, NNTP_OK_POSTED, line);
			log_debug("conn %s: posted %s", c->peer, w->msgid);
		} else {
			(void)str_printf(line, sizeof(line),
			    "Posting failed: the spool could not store it "
			    "(%s)",
			    strerror(e ? e : EIO));
			session_post_done(c->s, NNTP_FAIL_POST, line);
		}
	}
	/* Answered: now let them go on (a flush may close one). */
	for (i = 0; i < sv->nposts; i++)
		if ((c = sv->posts[i].c) != NULL && !c->dead)
			conn_flush(sv, c);
	sv->prev_batch = ok;
	sv->nposts = 0;
	sv->post_cursor = 0;
	return -1;
}

/* session_ops.auth (auth.h's throttle protocol). */
static void
server_auth(void *arg, struct session *s, const char *user, const char *pass)
{
	struct server *sv = arg;
	struct conn *c = s->host;
	uint64_t now = now_ms();
	int64_t delay;

	if (auth_throttle_locked(sv->throttle, c->key, now)) {
		log_info("conn %s: AUTHINFO refused: too many failures from "
			 "%s",
		    c->peer, c->key);
		session_auth_done(s, NNTP_FAIL_AUTH,
		    "Too many failed attempts: try again later", true);
		return;
	}
	switch (auth_check(sv->auth, user, pass)) {
	case AUTH_OK:
		auth_throttle_success(sv->throttle, c->key);
		log_info("conn %s: authenticated as %s", c->peer, user);
		session_auth_done(
		    s, NNTP_OK_AUTH, "Authentication accepted", false);
		return;
	case AUTH_ERROR:
		session_auth_done(s, NNTP_FAIL_INTERNAL,
		    "Accounts unavailable, try later", false);
		return;
	case AUTH_FAIL:
		break;
	}
	delay = auth_throttle_fail(sv->throttle, c->key, now);
	log_info("conn %s: authentication failed for %s", c->peer,
	    auth_user_valid(user) ? user : "(invalid user name)");
	if (delay < 0) {
		session_auth_done(s, NNTP_FAIL_AUTH,
		    "Authentication failed: too many failures", true);
		return;
	}
	/* The 481 comes after the delay; meanwhile nothing is read from
	 * this client (its session waits) and nobody else is held up. */
	timer_set(sv, c, TIMER_AUTH_REPLY, now + (uint64_t)delay);
}

/* session_ops.starttls: switch once the 382 is out (conn_flush). */
static void
server_starttls(void *arg, struct session *s)
{
	struct conn *c = s->host;

	c->starttls = true;
}

static const struct session_ops server_ops = {
    server_post, server_auth, server_starttls};

/* A connection's timer is due. */
static void
timer_fire(struct server *sv, struct conn *c)
{
	enum conn_timer t = c->timer;

	timer_clear(sv, c);
	switch (t) {
	case TIMER_HANDSHAKE:
		conn_close(sv, c, "TLS handshake timeout");
		break;
	case TIMER_AUTH_REPLY:
		session_auth_done(
		    c->s, NNTP_FAIL_AUTH, "Authentication failed", false);
		conn_flush(sv, c);
		break;
	case TIMER_NONE:
		break;
	}
}

/* TLS connections holding decrypted input that epoll cannot see. */
static void
server_ready(struct server *sv)
{
	struct conn *c, *next, *list = sv->ready;

	/* Detach the list: conn_read() may put a connection back, for the
	 * next round. */
	sv->ready = NULL;
	for (c = list; c != NULL; c = c->rnext)
		c->ready = false;
	for (c = list; c != NULL; c = next) {
		next = c->rnext;
		c->rprev = c->rnext = NULL;
		if (!c->dead)
			conn_read(sv, c);
	}
}

/* --- configuration ------------------------------------------------------ */

/* The settings config.c keeps as text, checked here. */
static int
policy_parse(const char *v, enum session_post_policy *out)
{
	static const struct {
		const char *name;
		enum session_post_policy p;
	} tab[] = {
	    {"anyone", SESSION_POST_ANYONE},
	    {"authenticated", SESSION_POST_AUTHENTICATED},
	    {"loopback", SESSION_POST_LOOPBACK},
	    {"nobody", SESSION_POST_NOBODY},
	};
	size_t i;

	for (i = 0; i < NG_NELEM(tab); i++)
		if (v != NULL && strcasecmp(v, tab[i].name) == 0) {
			*out = tab[i].p;
			return 0;
		}
	return -1;
}

static int
plain_parse(const char *v, enum session_plain_auth *out)
{
	if (v != NULL && strcasecmp(v, "loopback") == 0)
		*out = SESSION_PLAIN_LOOPBACK;
	else if (v != NULL && strcasecmp(v, "yes") == 0)
		*out = SESSION_PLAIN_YES;
	else if (v != NULL && strcasecmp(v, "no") == 0)
		*out = SESSION_PLAIN_NO;
	else
		return -1;
	return 0;
}

/* The command line wins over the file (at start and on SIGHUP). */
static void
apply_opts(struct config *c, const struct server_opts *o)
{
	static const struct {
		size_t conf_off, opt_off;
	} tab[] = {
	    {offsetof(struct config, tls_listen),
		offsetof(struct server_opts, tls_listen)},
	    {offsetof(struct config, tls_cert),
		offsetof(struct server_opts, tls_cert)},
	    {offsetof(struct config, tls_key),
		offsetof(struct server_opts, tls_key)},
	    {offsetof(struct config, user), offsetof(struct server_opts, user)},
	};
	size_t i;

	for (i = 0; i < NG_NELEM(tab); i++) {
		char **dst = (char **)(void *)((char *)c + tab[i].conf_off);
		const char *v =
		    *(const char *const *)(const void *)((const char *)o +
			tab[i].opt_off);

		if (v == NULL)
			continue;
		free(*dst);
		*dst = *v ? xstrdup(v) : NULL;
	}
}

static int
conf_check(const struct config *c, struct buf *err)
{
	enum session_post_policy pp;
	enum session_plain_auth pa;

	if (policy_parse(c->post_policy, &pp) == -1) {
		buf_printf(err,
		    "post_policy: '%s': want anyone, authenticated, "
		    "loopback or nobody",
		    c->post_policy ? c->post_policy : "");
		return -1;
	}
	if (plain_parse(c->auth_plaintext, &pa) == -1) {
		buf_printf(err,
		    "auth_plaintext: '%s': want loopback, yes or no",
		    c->auth_plaintext ? c->auth_plaintext : "");
		return -1;
	}
	if ((c->tls_cert == NULL) != (c->tls_key == NULL)) {
		buf_puts(err, "tls_cert and tls_key go together");
		return -1;
	}
	return 0;
}

static void
server_apply_conf(struct server *sv)
{
	if (!str_copy(sv->hostname, sizeof(sv->hostname), sv->conf.hostname))
		log_warnx("serve: hostname truncated to %s", sv->hostname);
	sv->sconf.hostname = sv->hostname;
	sv->sconf.posting = sv->pipe != NULL;
	sv->sconf.out_high = SESSION_OUT_HIGH;
	sv->sconf.server_refreshes = true;
	sv->ssrv.ops = &server_ops;
	sv->ssrv.ops_arg = sv;
	(void)policy_parse(sv->conf.post_policy, &sv->ssrv.post_policy);
	(void)plain_parse(sv->conf.auth_plaintext, &sv->ssrv.auth_plaintext);
	sv->ssrv.tls = sv->tls != NULL;
	sv->ssrv.max_article_bytes = sv->conf.max_article_bytes;
	sv->ssrv.post_rate = sv->conf.post_rate;
}

/* An absolute path (the daemon leaves the working directory). */
static char *
absolute(const char *path)
{
	char cwd[4096];
	struct buf b = BUF_INIT(SIZE_MAX);

	if (path == NULL)
		return NULL;
	if (path[0] == '/' || getcwd(cwd, sizeof(cwd)) == NULL)
		return xstrdup(path);
	buf_printf(&b, "%s/%s", cwd, path);
	return buf_steal(&b);
}

/* The accounts file named by the configuration (auth.h). */
static void
server_accounts(struct server *sv)
{
	char def[4096];
	char *path;

	if (sv->conf.accounts != NULL)
		path = absolute(sv->conf.accounts);
	else if (auth_default_path(sv->conf.spool_dir, def, sizeof(def)))
		path = absolute(def);
	else
		fatalx("serve: spool path too long");
	if (sv->accounts != NULL && strcmp(path, sv->accounts) == 0) {
		free(path);
		return;
	}
	auth_free(sv->auth);
	free(sv->accounts);
	sv->accounts = path;
	sv->auth = auth_new(path);
}

/* --- signals, reload, stop ---------------------------------------------- */

/* SIGHUP: limits, timeouts, names, posting policy and the accounts file
 * change at once; listeners, TLS certificates, the user and the spool
 * directory need a restart. */
static void
server_reload(struct server *sv)
{
	struct buf err = BUF_INIT(1024);
	struct config nc;

	if (cli_config(&nc, sv->opts->config_path, sv->opts->spool_dir) == -1) {
		log_warnx("reload: keeping the previous configuration");
		return;
	}
	apply_opts(&nc, sv->opts);
	if (conf_check(&nc, &err) == -1) {
		log_warnx("reload: %s: keeping the previous configuration",
		    buf_cstr(&err));
		buf_free(&err);
		config_fini(&nc);
		return;
	}
	buf_free(&err);
	if (strcmp(nc.spool_dir, sv->conf.spool_dir) != 0)
		log_warnx("reload: spool %s: a restart is needed to change it",
		    nc.spool_dir);
	if ((nc.tls_cert == NULL) != (sv->conf.tls_cert == NULL) ||
	    (nc.tls_cert != NULL &&
		(strcmp(nc.tls_cert, sv->conf.tls_cert) ||
		    strcmp(nc.tls_key, sv->conf.tls_key))))
		log_warnx("reload: TLS certificates change at a restart");
	config_fini(&sv->conf);
	sv->conf = nc;
	server_apply_conf(sv);
	if (sv->pipe == NULL && sv->ssrv.post_policy != SESSION_POST_NOBODY)
		log_warnx("reload: the spool is open read-only: posting needs "
			  "a restart");
	server_accounts(sv);
	log_info("reload: configuration %s loaded",
	    sv->conf.path ? sv->conf.path : "(defaults)");
}

static void
server_stop(struct server *sv)
{
	struct conn *c, *next;

	if (sv->stopping)
		return;
	sv->stopping = true;
	sv->stop_deadline_ms = now_ms() + SERVER_STOP_GRACE_MS;
	log_info("stopping: %zu connections open", sv->nconns);
	listeners_close(sv);
	for (c = sv->head; c != NULL; c = next) {
		next = c->next;
		if (!c->s->closing)
			c->why = "shutdown";
		session_stop(c->s, "Server shutting down");
		conn_flush(sv, c);
	}
}

static void
server_signal(struct server *sv)
{
	struct signalfd_siginfo si;
	ssize_t n;

	while ((n = read(sv->sig.fd, &si, sizeof(si))) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP)
			server_reload(sv);
		else
			server_stop(sv);
	}
}

/* Due timers, idle connections, and everyone at the end of the stop
 * grace time. Returns the ms until the next of them. */
static int
server_expire(struct server *sv)
{
	uint64_t now = now_ms(), idle_ms, wait = SERVER_WAIT_MAX_MS;
	struct conn *c, *next;
	size_t i;

	for (c = sv->timers; c != NULL; c = next) {
		next = c->tnext;
		if (c->timer_ms <= now)
			timer_fire(sv, c);
		else if (c->timer_ms - now < wait)
			wait = c->timer_ms - now;
	}
	now = now_ms(); /* the timers may have touched connections */
	idle_ms = (uint64_t)sv->conf.idle_timeout_s * 1000;
	while ((c = sv->head) != NULL && now >= c->last_ms &&
	    now - c->last_ms >= idle_ms) {
		session_stop(c->s, "Idle timeout");
		c->why = "idle timeout";
		conn_flush(sv, c);
		if (sv->head == c)
			conn_close(sv, c, "idle timeout");
	}
	if (c != NULL && c->last_ms + idle_ms > now &&
	    c->last_ms + idle_ms - now < wait)
		wait = c->last_ms + idle_ms - now;
	if (sv->stopping) {
		if (now >= sv->stop_deadline_ms) {
			while (sv->head != NULL)
				conn_close(sv, sv->head, "shutdown timeout");
			return 0;
		}
		if (sv->stop_deadline_ms - now < wait)
			wait = sv->stop_deadline_ms - now;
	}
	if (sv->accept_resume_ms != 0) {
		if (now >= sv->accept_resume_ms) {
			sv->accept_resume_ms = 0;
			for (i = 0; i < sv->nlis; i++)
				server_accept(sv, &sv->lis[i]);
		} else if (sv->accept_resume_ms - now < wait) {
			wait = sv->accept_resume_ms - now;
		}
	}
	return (int)wait;
}

/* --- start-up ------------------------------------------------------------ */

static void
raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			log_warn("serve: raise the open file limit");
	}
}

/* The configured groups, in a spool that has none yet (first start). */
static void
add_conf_groups(struct spool *sp, const struct config *c)
{
	size_t i, n;

	(void)spool_groups(sp, &n);
	if (n > 0)
		return;
	for (i = 0; i < c->ngroups; i++)
		if (spool_group_add(sp, c->groups[i].name,
			c->groups[i].description, c->groups[i].flag,
			"newsgate") == -1 &&
		    errno != EEXIST)
			fatal("serve: add group %s", c->groups[i].name);
	log_info("created the configured groups in %s", c->spool_dir);
}

/*
 * The spool: opened for writing, with a pipeline for posts, unless
 * post_policy is "nobody" or it cannot be written (then read-only, and
 * POST is refused). A missing spool is created with the configured
 * groups.
 */
static void
server_spool_open(struct server *sv)
{
	const struct config *c = &sv->conf;
	struct spool *sp;

	if (sv->ssrv.post_policy != SESSION_POST_NOBODY) {
		if ((sp = spool_open(c->spool_dir, c->hostname, SPOOL_WRITE)) !=
		    NULL) {
			add_conf_groups(sp, c);
			sv->sp = sp;
			sv->pipe = pipeline_new(c, sp, NULL);
			if (sv->pipe == NULL)
				fatalx("serve: cannot start the pipeline");
			pipeline_on_commit(sv->pipe, server_committed, sv);
			return;
		}
		log_warn("serve: spool %s cannot be written; serving it "
			 "without posting",
		    c->spool_dir);
	}
	if ((sp = spool_open(c->spool_dir, c->hostname, SPOOL_READ)) == NULL) {
		if (errno != ENOENT)
			fatal("serve: spool %s", c->spool_dir);
		/* First start: let spool.c create an empty spool with the
		 * configured groups, then serve it read-only. */
		if ((sp = cli_spool_open(c, SPOOL_WRITE)) == NULL)
			fatalx(
			    "serve: cannot create a spool in %s", c->spool_dir);
		spool_close(sp);
		log_info("created an empty spool in %s", c->spool_dir);
		if ((sp = spool_open(c->spool_dir, c->hostname, SPOOL_READ)) ==
		    NULL)
			fatal("serve: spool %s", c->spool_dir);
	}
	sv->sp = sp;
}

/* chown every file under the directory dfd (closed here), symlinks
 * themselves and never their targets. */
static int
chown_tree(int dfd, uid_t uid, gid_t gid, size_t *n)
{
	struct dirent *de;
	DIR *d;
	int fd, rc = 0;

	if (fchown(dfd, uid, gid) == -1 || (d = fdopendir(dfd)) == NULL) {
		close(dfd);
		return -1;
	}
	(*n)++;
	while (rc == 0 && (errno = 0, de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (de->d_type == DT_DIR || de->d_type == DT_UNKNOWN) {
			fd = openat(dirfd(d), de->d_name,
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (fd != -1) {
				rc = chown_tree(fd, uid, gid, n);
				continue;
			}
			if (errno != ENOTDIR && errno != ELOOP)
				rc = -1;
		}
		if (rc == 0 &&
		    fchownat(dirfd(d), de->d_name, uid, gid,
			AT_SYMLINK_NOFOLLOW) == -1)
			rc = -1;
		(*n)++;
	}
	if (rc == 0 && errno != 0)
		rc = -1;
	closedir(d);
	return rc;
}

/*
 * Started as root: whom to become (server.h). A spool that belongs to
 * root is handed to that user when posts are to be written to it.
 */
static void
server_user(struct server *sv)
{
	const char *want = sv->conf.user;
	struct passwd *pw = NULL;
	struct stat st;
	size_t n = 0;
	int fd;

	if (geteuid() != 0)
		return; /* nothing to drop */
	if (want != NULL && strcmp(want, "root") == 0) {
		log_warnx("serve: running as root (user = root)");
		return;
	}
	if (want != NULL) {
		if ((pw = getpwnam(want)) == NULL)
			fatalx("serve: user %s: no such user", want);
	} else {
		if (stat(sv->conf.spool_dir, &st) == 0 && st.st_uid != 0)
			pw = getpwuid(st.st_uid);
		if (pw == NULL)
			pw = getpwnam("news");
		if (pw == NULL)
			pw = getpwnam("nobody");
		if (pw == NULL)
			fatalx("serve: no user news or nobody to run as: set "
			       "user in newsgate.conf");
	}
	if (pw->pw_uid == 0) {
		log_warnx("serve: running as root (user %s)", pw->pw_name);
		return;
	}
	sv->uid = pw->pw_uid;
	sv->gid = pw->pw_gid;
	if (!str_copy(sv->user, sizeof(sv->user), pw->pw_name))
		fatalx("serve: user name too long: %s", pw->pw_name);
	if ((fd = open(sv->conf.spool_dir,
		 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		fatal("serve: spool %s", sv->conf.spool_dir);
	if (fstat(fd, &st) == -1)
		fatal("serve: spool %s", sv->conf.spool_dir);
	/* Only a writer needs the spool to be its own. */
	if (st.st_uid != 0 || sv->pipe == NULL) {
		close(fd);
		return;
	}
	if (chown_tree(fd, sv->uid, sv->gid, &n) == -1)
		fatal("serve: hand the spool %s to user %s", sv->conf.spool_dir,
		    sv->user);
	log_info("handed the spool %s (%zu files) to user %s",
	    sv->conf.spool_dir, n, sv->user);
}

/* Become sv->user for good (the listeners and the TLS key are ours). */
static void
server_drop(struct server *sv)
{
	int fd;

	if (sv->uid == 0)
		return;
	fd = open(sv->conf.spool_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (initgroups(sv->user, sv->gid) == -1 || setgid(sv->gid) == -1 ||
	    setuid(sv->uid) == -1)
		fatal("serve: become user %s", sv->user);
	if (setuid(0) != -1)
		fatalx("serve: still root after becoming %s", sv->user);
	log_info("running as user %s", sv->user);
	if (sv->pipe != NULL && fd != -1 &&
	    (faccessat(fd, "articles", W_OK, AT_EACCESS) == -1 ||
		faccessat(fd, "data", W_OK, AT_EACCESS) == -1))
		log_warnx("serve: user %s cannot write the spool %s: posts "
			  "will fail (chown -R %s it)",
		    sv->user, sv->conf.spool_dir, sv->user);
	if (fd != -1)
		close(fd);
}

static void
server_signals(struct server *sv)
{
	struct epoll_event ev;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) == -1 ||
	    (sv->sig.fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) == -1)
		fatal("serve: signals");
	sv->sig.kind = EP_SIGNAL;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = &sv->sig;
	if (epoll_ctl(sv->ep, EPOLL_CTL_ADD, sv->sig.fd, &ev) == -1)
		fatal("serve: epoll_ctl signalfd");
}

static void
write_pid_file(const char *path)
{
	char line[32];
	int fd, len;

	len = snprintf(line, sizeof(line), "%ld\n", (long)getpid());
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) ==
		-1 ||
	    write_all(fd, line, (size_t)len) == -1 || close(fd) == -1)
		fatal("serve: pid file %s", path);
}

static void
server_listen(struct server *sv, const struct server_opts *o)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	const char *tls;
	size_t i;

	if (o->inetd) {
		memset(&ss, 0, sizeof(ss));
		if (getpeername(0, (struct sockaddr *)&ss, &len) == -1)
			ss.ss_family = AF_UNSPEC;
		if (fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK) == -1)
			fatal("serve: stdin");
		conn_new(sv, 0, &ss, false, false);
		return;
	}
	if (listen_activated(sv))
		return;
	if (o->nlisten > 0)
		for (i = 0; i < o->nlisten; i++)
			listen_on(sv, o->listen[i], false);
	else
		for (i = 0; i < sv->conf.nlisten; i++)
			listen_on(sv, sv->conf.listen[i], false);
	/* Implicit TLS on its own port once there is a certificate;
	 * "tls_listen = none" keeps STARTTLS only. */
	tls = sv->conf.tls_listen ? sv->conf.tls_listen
				  : SERVER_TLS_LISTEN_DEFAULT;
	if (sv->tls != NULL && strcmp(tls, "none") != 0)
		listen_on(sv, tls, true);
	if (sv->nlis == 0)
		fatalx("serve: nothing to listen on");
}

static void
server_dispatch(struct server *sv, struct epoll_event *ev)
{
	enum ep_kind *kind = ev->data.ptr;
	struct conn *c;

	switch (*kind) {
	case EP_LISTENER:
		if (sv->accept_resume_ms == 0 && !sv->stopping)
			server_accept(sv, (struct listener *)(void *)kind);
		break;
	case EP_SIGNAL:
		server_signal(sv);
		break;
	case EP_CONN:
		c = (struct conn *)(void *)kind;
		if (c->dead)
			break;
		if (c->hs) {
			conn_handshake(sv, c);
			break;
		}
		/* Gone while its session waits (nothing is read then). */
		if ((ev->events & (EPOLLHUP | EPOLLERR)) &&
		    c->s->wait != SESSION_WAIT_NONE) {
			conn_close(sv, c, "reset");
			break;
		}
		if ((ev->events & (EPOLLIN | EPOLLHUP | EPOLLERR)) ||
		    (c->rd_want_write && (ev->events & EPOLLOUT)))
			conn_read(sv, c); /* also flushes */
		else if (ev->events & EPOLLOUT)
			conn_flush(sv, c);
		break;
	}
}

static void
server_free(struct server *sv, char *pid_file)
{
	conn_reap(sv);
	listeners_close(sv);
	pipeline_free(sv->pipe);
	spool_close(sv->sp);
	tls_ctx_free(sv->tls);
	auth_free(sv->auth);
	auth_throttle_free(sv->throttle);
	free(sv->accounts);
	free(sv->posts);
	if (pid_file) {
		(void)unlink(pid_file); /* may fail once we dropped root */
		free(pid_file);
	}
	close(sv->sig.fd);
	close(sv->ep);
	config_fini(&sv->conf);
	free(sv);
}

int
server_run(struct config *conf, const struct server_opts *o)
{
	struct epoll_event evs[SERVER_EVENTS];
	struct server *sv = xcalloc(1, sizeof(*sv));
	struct buf err = BUF_INIT(4096);
	char *pid_file;
	int n, wait, due;

	sv->conf = *conf; /* ours now */
	sv->opts = o;
	apply_opts(&sv->conf, o);
	if (conf_check(&sv->conf, &err) == -1)
		fatalx("serve: %s", buf_cstr(&err));
	signal(SIGPIPE, SIG_IGN); /* EPIPE from write(2) instead */
	/* Read the key while we may still be root. */
	if (sv->conf.tls_cert != NULL &&
	    (sv->tls = tls_ctx_new(
		 sv->conf.tls_cert, sv->conf.tls_key, &err)) == NULL)
		fatalx("serve: %s", buf_cstr(&err));
	buf_free(&err);
	server_apply_conf(sv);
	raise_fd_limit();
	if ((sv->ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		fatal("serve: epoll_create1");
	server_spool_open(sv);
	server_user(sv);
	server_apply_conf(sv); /* posting: now that the spool is open */
	sv->throttle = auth_throttle_new(SERVER_THROTTLE_SLOTS);
	server_accounts(sv);
	server_listen(sv, o);
	if (o->port_file)
		write_port_file(sv, o->port_file);
	pid_file = absolute(o->pid_file);
	if (o->daemon && daemon(0, 0) == -1)
		fatal("serve: daemon");
	/* After daemon(): a signalfd only ever wakes an epoll for the
	 * process that created it, not for a forked child. */
	server_signals(sv);
	if (pid_file)
		write_pid_file(pid_file);
	server_drop(sv);
	log_info("serving %s as %s%s", sv->conf.spool_dir, sv->hostname,
	    sv->pipe ? "" : " (read-only)");

	while (!(sv->stopping && sv->nconns == 0) &&
	    !(o->inetd && sv->nconns == 0)) {
		wait = server_expire(sv);
		/* Posts a timer let through; a deferred commit. */
		if ((due = server_commit(sv, sv->stopping)) >= 0 && due < wait)
			wait = due;
		if (sv->stopping && sv->nconns == 0)
			break;
		if (sv->ready != NULL)
			wait = 0;
		if ((n = epoll_wait(sv->ep, evs, SERVER_EVENTS, wait)) == -1) {
			if (errno == EINTR)
				continue;
			fatal("serve: epoll_wait");
		}
		/*
		 * One look at the spool per wakeup, before any command read
		 * in it: a client that saw an import finish and then sent a
		 * command is read in a later wakeup, so it sees the import
		 * (spool_refresh is one stat of data/active).
		 */
		if (n > 0 && spool_refresh(sv->sp) == -1) {
			/* Serve what we have; spool.c has logged why. */
		}
		for (int k = 0; k < n; k++)
			server_dispatch(sv, &evs[k]);
		server_ready(sv);
		/* The group commit: every post of this wakeup at once. */
		(void)server_commit(sv, sv->stopping);
		conn_reap(sv);
	}
	log_info("stopped");
	server_free(sv, pid_file);
	return 0;
}
