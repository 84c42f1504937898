/*
 * server.c - the NNTP server process: listeners, the one epoll loop,
 * connections, signals. Owns every socket and the server's state (the
 * only file besides main.c allowed mutable process state; it keeps it in
 * one struct server passed around, not in globals).
 *
 * Never parses protocol (session.c does) and never writes under the spool
 * (it opens it read-only; only on first start with no spool at all does
 * spool.c create an empty one with the configured groups).
 *
 * Per connection: the session (which holds no buffer while idle), a
 * struct conn, and a slot in the activity list. Reads stop while the
 * session's input buffer is full, which happens when its output is above
 * the high-water mark (back-pressure); output is sent with one write per
 * refill, TCP_NODELAY set, so a response never waits for a delayed ACK.
 */
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <unistd.h>

#include "common.h"
#include "cli.h"
#include "config.h"
#include "nntp.h"
#include "server.h"
#include "session.h"
#include "spool.h"

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

enum ep_kind {
	EP_LISTENER,
	EP_SIGNAL,
	EP_CONN,
};

struct listener {
	enum ep_kind kind; /* EP_LISTENER; first: epoll data points here */
	int fd;
	char name[INET6_ADDRSTRLEN + 16]; /* "addr:port" for logs */
};

/* Connections per client address (max_per_address). */
struct addr_count {
	struct addr_count *next;
	unsigned char key[17]; /* family, then 16 address octets */
	uint32_t n;	       /* open connections from there */
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
	struct session_conf sconf; /* what sessions see; updated in
				      place on SIGHUP */
	char hostname[256];	   /* sconf.hostname points here */
	struct conn *head, *tail;  /* every connection, by activity */
	struct conn *dead;	   /* closed in this batch, to free */
	size_t nconns;
	struct addr_count *addrs[SERVER_ADDR_BUCKETS];
	bool stopping; /* SIGTERM seen */
	uint64_t stop_deadline_ms;
	uint64_t accept_resume_ms;  /* accepting paused until; 0: not */
	char rbuf[SERVER_READ_MAX]; /* read scratch, shared */
};

static void conn_flush(struct server *sv, struct conn *c);

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
listener_add(struct server *sv, int fd, const char *name)
{
	struct listener *l;
	struct epoll_event ev;

	if (sv->nlis == SERVER_LISTENERS_MAX)
		fatalx("serve: more than %d listening sockets",
		    SERVER_LISTENERS_MAX);
	l = &sv->lis[sv->nlis++];
	l->kind = EP_LISTENER;
	l->fd = fd;
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
listen_on(struct server *sv, const char *text)
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
		listener_add(sv, fd, name);
		log_info("listening on %s", name);
	}
	freeaddrinfo(res);
}

/* systemd socket activation (sd_listen_fds(3)): fds 3.. are listeners. */
static bool
listen_activated(struct server *sv)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	uint64_t p, n, i;
	char name[64];
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
		listener_add(sv, fd, name);
		log_info("listening on %s", name);
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
conn_close(struct server *sv, struct conn *c, const char *why)
{
	/* The one log line of a connection. */
	log_info("conn %s: %s after %" PRIu64 " ms: %" PRIu64 " commands, "
		 "%" PRIu64 " articles, %" PRIu64 " bytes in, %" PRIu64
		 " bytes out",
	    c->peer, why, now_ms() - c->start_ms, c->s->stats.commands,
	    c->s->stats.articles, c->bytes_in, c->bytes_out);
	conn_unlink(sv, c);
	epoll_ctl(sv->ep, EPOLL_CTL_DEL, c->fd, NULL);
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

	if (!c->eof && !sv->stopping && session_input_room(c->s) > 0)
		want |= EPOLLIN;
	if (want_out)
		want |= EPOLLOUT;
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
		if ((n = write(c->fd, p, len)) == -1) {
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
		if ((size_t)n < len)
			break; /* the socket is full: wait for EPOLLOUT */
	}
	session_out_data(c->s, &len);
	if (len == 0 && !yielded) {
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

	for (i = 0; i < SERVER_READS_PER_WAKE && !c->eof; i++) {
		if ((room = session_input_room(c->s)) == 0)
			break;
		if (room > sizeof(sv->rbuf))
			room = sizeof(sv->rbuf);
		if ((n = read(c->fd, sv->rbuf, room)) == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			conn_close(sv, c,
			    errno == ECONNRESET ? "reset" : "read error");
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
		if ((size_t)n < room)
			break;
	}
	conn_flush(sv, c);
}

/* A refusal that needs no connection state: best effort, then close. */
static void
refuse(int fd, const char *peer, const char *why)
{
	char line[128];
	int len;

	len = snprintf(
	    line, sizeof(line), "%d %s\r\n", NNTP_FAIL_TERMINATING, why);
	if (len > 0 && write(fd, line, (size_t)len) == -1) {
		/* nothing to do: we close anyway */
	}
	close(fd);
	log_info("conn %s: refused: %s", peer, why);
}

static void
conn_new(
    struct server *sv, int fd, const struct sockaddr_storage *ss, bool counted)
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
			refuse(fd, peer, "Too many connections, try later");
			return;
		}
		addr_key(ss, key);
		ac = addr_get(sv, key, true);
		if (++ac->n > sv->conf.max_per_address) {
			addr_put(sv, ac);
			refuse(fd, peer,
			    "Too many connections from your "
			    "address");
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
	c->start_ms = c->last_ms = now_ms();
	memcpy(c->peer, peer, sizeof(c->peer));
	c->s = session_new(sv->sp, &sv->sconf);
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
	log_debug("conn %s: open", peer);
	session_greet(c->s);
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
			conn_new(sv, fd, &ss, true);
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

/* --- signals, reload, stop ---------------------------------------------- */

static void
server_apply_conf(struct server *sv)
{
	if (!str_copy(sv->hostname, sizeof(sv->hostname), sv->conf.hostname))
		log_warnx("serve: hostname truncated to %s", sv->hostname);
	sv->sconf.hostname = sv->hostname;
	/* POST arrives with the posting issue; until then never 200. */
	sv->sconf.posting = false;
	sv->sconf.out_high = SESSION_OUT_HIGH;
	sv->sconf.server_refreshes = true;
}

/* SIGHUP: limits, timeouts and names change at once; listeners and the
 * spool directory need a restart. */
static void
server_reload(struct server *sv)
{
	struct config nc;

	if (cli_config(&nc, sv->opts->config_path, sv->opts->spool_dir) == -1) {
		log_warnx("reload: keeping the previous configuration");
		return;
	}
	if (strcmp(nc.spool_dir, sv->conf.spool_dir) != 0)
		log_warnx("reload: spool %s: a restart is needed to change it",
		    nc.spool_dir);
	config_fini(&sv->conf);
	sv->conf = nc;
	server_apply_conf(sv);
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

/* Idle connections, and everyone at the end of the stop grace time. */
static int
server_expire(struct server *sv)
{
	uint64_t now = now_ms(), idle_ms, wait = SERVER_WAIT_MAX_MS;
	struct conn *c;
	size_t i;

	idle_ms = (uint64_t)sv->conf.idle_timeout_s * 1000;
	while ((c = sv->head) != NULL && now - c->last_ms >= idle_ms) {
		session_stop(c->s, "Idle timeout");
		c->why = "idle timeout";
		conn_flush(sv, c);
		if (sv->head == c)
			conn_close(sv, c, "idle timeout");
	}
	if (c != NULL && c->last_ms + idle_ms - now < wait)
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

static struct spool *
server_spool_open(const struct config *c)
{
	struct spool *sp;

	if ((sp = spool_open(c->spool_dir, c->hostname, SPOOL_READ)) != NULL)
		return sp;
	if (errno != ENOENT)
		fatal("serve: spool %s", c->spool_dir);
	/* First start: let spool.c create an empty spool with the
	 * configured groups, then serve it read-only. */
	if ((sp = cli_spool_open(c, SPOOL_WRITE)) == NULL)
		fatalx("serve: cannot create a spool in %s", c->spool_dir);
	spool_close(sp);
	log_info("created an empty spool in %s", c->spool_dir);
	if ((sp = spool_open(c->spool_dir, c->hostname, SPOOL_READ)) == NULL)
		fatal("serve: spool %s", c->spool_dir);
	return sp;
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
		if (ev->events & (EPOLLIN | EPOLLHUP | EPOLLERR))
			conn_read(sv, c); /* also flushes */
		else if (ev->events & EPOLLOUT)
			conn_flush(sv, c);
		break;
	}
}

int
server_run(struct config *conf, const struct server_opts *o)
{
	struct epoll_event evs[SERVER_EVENTS];
	struct sockaddr_storage ss;
	struct server *sv = xcalloc(1, sizeof(*sv));
	char *pid_file;
	size_t i;
	int n, wait;

	sv->conf = *conf; /* ours now */
	sv->opts = o;
	signal(SIGPIPE, SIG_IGN); /* EPIPE from write(2) instead */
	server_apply_conf(sv);
	raise_fd_limit();
	if ((sv->ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		fatal("serve: epoll_create1");
	sv->sp = server_spool_open(&sv->conf);
	if (o->inetd) {
		memset(&ss, 0, sizeof(ss));
		socklen_t len = sizeof(ss);
		if (getpeername(0, (struct sockaddr *)&ss, &len) == -1)
			ss.ss_family = AF_UNSPEC;
		if (fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK) == -1)
			fatal("serve: stdin");
		conn_new(sv, 0, &ss, false);
	} else if (!listen_activated(sv)) {
		if (o->nlisten > 0)
			for (i = 0; i < o->nlisten; i++)
				listen_on(sv, o->listen[i]);
		else
			for (i = 0; i < sv->conf.nlisten; i++)
				listen_on(sv, sv->conf.listen[i]);
		if (sv->nlis == 0)
			fatalx("serve: nothing to listen on");
	}
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
	log_info("serving %s as %s", sv->conf.spool_dir, sv->hostname);

	while (!(sv->stopping && sv->nconns == 0) &&
	    !(o->inetd && sv->nconns == 0)) {
		wait = server_expire(sv);
		if (sv->stopping && sv->nconns == 0)
			break;
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
		conn_reap(sv);
	}
	conn_reap(sv);
	log_info("stopped");
	listeners_close(sv);
	spool_close(sv->sp);
	if (pid_file) {
		unlink(pid_file);
		free(pid_file);
	}
	close(sv->sig.fd);
	close(sv->ep);
	config_fini(&sv->conf);
	free(sv);
	return 0;
}
