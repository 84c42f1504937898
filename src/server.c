/*
 * server.c - the NNTP server process: listeners, the one epoll loop,
 * connections (plain and TLS), timers, signals. What sessions ask of it
 * (posting, password checks, STARTTLS) is server_ops.c; configuration,
 * the spool and the user to run as, server_conf.c; their shared state,
 * server_int.h. Owns every socket and the server's state (the only
 * module besides main.c allowed mutable process state; it keeps it in
 * one struct server passed around, not in globals).
 *
 * Never parses protocol (session.c does) and never writes under the spool
 * itself: posts go through the pipeline (pipeline.c, then spool.c) in the
 * writer thread, on a spool handle of its own; the sessions read through
 * a read-only one. The one exception is the hand-over of a root-owned spool to
 * the unprivileged user (chown only; see server.h).
 *
 * Per connection: the session (which holds no buffer while idle), a
 * struct conn, and a slot in the activity list. Reads stop while the
 * session's input buffer is full, which happens when its output is above
 * the high-water mark (back-pressure), and while the session waits for
 * the server; output is sent with one write per refill, TCP_NODELAY set,
 * so a response never waits for a delayed ACK.
 *
 * Posts: a POST whose article arrives goes to the writer thread
 * (server_ops.c), which stages it in the pipeline with every other post
 * that arrived meanwhile and commits them together (one syncfs); the
 * eventfd then wakes this loop, which refreshes its read-only view of the
 * spool and sends the 240s. A failed commit answers them all 441 and
 * leaves the spool as it was. Readers never wait for a commit.
 *
 * TLS (tls.h): every read and write goes through conn_recv/conn_send,
 * which map TLS_WANT_READ/WRITE to the epoll events to wait for. Bytes
 * that OpenSSL decrypted but the session had no room for are invisible to
 * epoll: such connections go on the ready list and are read again in the
 * same loop.
 */
#include <sys/epoll.h>
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
#include "server_int.h"
#include "terms.h"

static void conn_read(struct server *sv, struct conn *c);

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
void
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
	/* A post at the writer is committed all the same. */
	server_forget_post(c);
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
void
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

/* --- timers and the ready list ------------------------------------------ */

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

/* --- signals, stop ---------------------------------------------------------
 */

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
		if (c->req != NULL)
			continue; /* its 240 first (server_answers) */
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
	case EP_WRITER:
		server_answers(sv);
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
	writer_close(sv->wr);
	terms_free(sv->tk);
	spool_close(sv->sp);
	tls_ctx_free(sv->tls);
	auth_free(sv->auth);
	auth_throttle_free(sv->throttle);
	free(sv->accounts);
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
	struct epoll_event evs[SERVER_EVENTS], ev;
	struct server *sv = xcalloc(1, sizeof(*sv));
	struct buf err = BUF_INIT(4096);
	char *pid_file;
	int n, wait;

	sv->conf = *conf; /* ours now */
	sv->opts = o;
	server_apply_opts(&sv->conf, o);
	if (server_conf_check(&sv->conf, &err) == -1)
		fatalx("serve: %s", buf_cstr(&err));
	signal(SIGPIPE, SIG_IGN); /* EPIPE from write(2) instead */
	/* Read the key while we may still be root. */
	if (sv->conf.tls_cert != NULL &&
	    (sv->tls = tls_ctx_new(
		 sv->conf.tls_cert, sv->conf.tls_key, &err)) == NULL)
		fatalx("serve: %s", buf_cstr(&err));
	buf_free(&err);
	server_apply_conf(sv);
	server_raise_fd_limit();
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
	pid_file = server_absolute(o->pid_file);
	if (o->daemon && daemon(0, 0) == -1)
		fatal("serve: daemon");
	/* After daemon(): a signalfd only ever wakes an epoll for the
	 * process that created it, not for a forked child. */
	server_signals(sv);
	if (pid_file)
		server_write_pid_file(pid_file);
	server_drop(sv);
	if (sv->wr != NULL) {
		/* After daemon(): a thread does not survive the fork. */
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN;
		ev.data.ptr = &sv->wr->ev;
		if (epoll_ctl(sv->ep, EPOLL_CTL_ADD, sv->wr->ev.fd, &ev) == -1)
			fatal("serve: epoll_ctl eventfd");
		/* The event loop cuts each post's terms, the writer only
		 * weighs them: the writer thread is the busier. */
		if (sv->wr->conf.threading.enabled)
			sv->tk = terms_new("english");
		writer_run(sv->wr);
	}
	log_info("serving %s as %s%s", sv->conf.spool_dir, sv->hostname,
	    sv->wr ? "" : " (read-only)");

	while (!(sv->stopping && sv->nconns == 0) &&
	    !(o->inetd && sv->nconns == 0)) {
		wait = server_expire(sv);
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
		 * (one stat of data/active, after the writer thread's own
		 * commits are applied from memory).
		 */
		if (n > 0)
			server_catch_up(sv, true);
		for (int k = 0; k < n; k++)
			server_dispatch(sv, &evs[k]);
		server_ready(sv);
		conn_reap(sv);
	}
	log_info("stopped");
	server_free(sv, pid_file);
	return 0;
}
