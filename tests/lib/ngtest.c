/*
 * ngtest.c - end-to-end test helpers (see ngtest.h): temporary spools,
 * running newsgate, a serve process, a raw NNTP client.
 *
 * Children (import, serve) get PR_SET_PDEATHSIG, so a test that dies
 * half-way never leaves a server running behind it.
 */
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include "common.h"
#include "buf.h"
#include "ngtest.h"
#include "tui.h"

#define NGT_POLL_MS 5 /* between looks at a port file or a process */

const char *
ngt_bin(void)
{
	const char *b = getenv("NEWSGATE_BIN");

	return b && *b ? b : "build/newsgate";
}

const char *
ngt_top(void)
{
	const char *t = getenv("NEWSGATE_TOP");

	return t && *t ? t : ".";
}

long
ngt_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return -1;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			return -1;
	}
	return (long)rl.rlim_cur;
}

static void
sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* --- directories ---------------------------------------------------------- */

int
ngt_dir_new(struct ngt_dir *d, const char *prefix)
{
	memset(d, 0, sizeof(*d));
	if (tui_mkdtemp(d->path, sizeof(d->path), prefix) == -1) {
		fprintf(stderr, "ngtest: mkdtemp %s: %s\n", prefix,
		    strerror(errno));
		return -1;
	}
	if (!str_printf(d->spool, sizeof(d->spool), "%s/spool", d->path))
		return -1;
	return 0;
}

void
ngt_dir_free(struct ngt_dir *d)
{
	if (d->path[0] == '\0')
		return;
	if (getenv("NEWSGATE_KEEP") == NULL)
		(void)tui_rmrf(d->path);
	else
		fprintf(stderr, "ngtest: kept %s\n", d->path);
	d->path[0] = '\0';
}

int
ngt_write(const char *dir, const char *name, const char *content, char *out)
{
	char path[PATH_MAX];
	int fd;

	if (!str_printf(path, sizeof(path), "%s/%s", dir, name))
		return -1;
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		 0644)) == -1 ||
	    write_all(fd, content, strlen(content)) == -1 || close(fd) == -1) {
		fprintf(stderr, "ngtest: write %s: %s\n", path,
		    strerror(errno));
		return -1;
	}
	if (out && !str_copy(out, PATH_MAX, path))
		return -1;
	return 0;
}

/* --- processes ------------------------------------------------------------ */

/* In a child: die with the test, stdin from /dev/null. */
static void
child_setup(void)
{
	int fd;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if ((fd = open("/dev/null", O_RDONLY)) != -1) {
		dup2(fd, 0);
		if (fd != 0)
			close(fd);
	}
}

static void
exec_bin(const char *const *args, const char *first)
{
	const char *argv[64];
	size_t n = 0;

	argv[n++] = ngt_bin();
	if (first)
		argv[n++] = first;
	for (; args && *args && n < NG_NELEM(argv) - 1; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	execv(argv[0], (char *const *)(void *)argv);
	fprintf(stderr, "ngtest: exec %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

static int
wait_status(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return -1;
}

int
ngt_run(const char *const *args, struct buf *out, int timeout_ms)
{
	uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
	struct pollfd pfd;
	char chunk[4096];
	int p[2], st;
	ssize_t n;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) == -1)
		return -1;
	if ((pid = fork()) == -1) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		child_setup();
		dup2(p[1], 1);
		dup2(p[1], 2);
		exec_bin(args, NULL);
	}
	close(p[1]);
	pfd.fd = p[0];
	pfd.events = POLLIN;
	for (;;) {
		uint64_t now = now_ms();

		if (now >= deadline) {
			fprintf(stderr, "ngtest: %s %s: timed out\n", ngt_bin(),
			    args[0]);
			kill(pid, SIGKILL);
			break;
		}
		if (poll(&pfd, 1, (int)(deadline - now)) <= 0)
			continue;
		if ((n = read(p[0], chunk, sizeof(chunk))) <= 0) {
			if (n == -1 && errno == EINTR)
				continue;
			break;
		}
		if (out)
			buf_append(out, chunk, (size_t)n);
	}
	close(p[0]);
	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR)
			return -1;
	return wait_status(st);
}

int
ngt_import(const struct ngt_dir *d, const char *file)
{
	const char *args[] = {"import", "--spool", d->spool, file, NULL};
	struct buf out = BUF_INIT(1 << 20);
	int rc;

	rc = ngt_run(args, &out, 120000);
	if (rc != 0)
		fprintf(stderr, "ngtest: import %s: exit %d\n%s", file, rc,
		    buf_cstr(&out));
	buf_free(&out);
	return rc == 0 ? 0 : -1;
}

int
ngt_import_text(const struct ngt_dir *d, const char *name, const char *text)
{
	char path[PATH_MAX];

	if (ngt_write(d->path, name, text, path) == -1)
		return -1;
	return ngt_import(d, path);
}

/* --- the server ----------------------------------------------------------- */

static bool
reap(struct ngt_server *srv, int *status)
{
	int st;
	pid_t r;

	if (srv->pid == 0)
		return true;
	r = waitpid(srv->pid, &st, WNOHANG);
	if (r == srv->pid) {
		*status = wait_status(st);
		srv->pid = 0;
		return true;
	}
	return false;
}

int
ngt_server_start(struct ngt_server *srv, const char *spool,
    const char *const *extra)
{
	char pf[PATH_MAX], line[32];
	const char *args[48];
	uint64_t deadline;
	size_t n = 0;
	int fd, st;
	ssize_t got;
	uint64_t port;

	memset(srv, 0, sizeof(*srv));
	if (tui_mkdtemp(srv->dir, sizeof(srv->dir), "ng-serve") == -1 ||
	    !str_printf(srv->log, sizeof(srv->log), "%s/serve.log",
		srv->dir) ||
	    !str_printf(pf, sizeof(pf), "%s/port", srv->dir))
		return -1;
	args[n++] = "--spool";
	args[n++] = spool;
	args[n++] = "--listen";
	args[n++] = "127.0.0.1:0";
	args[n++] = "--port-file";
	args[n++] = pf;
	for (; extra && *extra && n < NG_NELEM(args) - 1; extra++)
		args[n++] = *extra;
	args[n] = NULL;
	if ((srv->pid = fork()) == -1) {
		srv->pid = 0;
		return -1;
	}
	if (srv->pid == 0) {
		child_setup();
		if ((fd = open(srv->log, O_WRONLY | O_CREAT | O_APPEND,
			 0644)) != -1) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		exec_bin(args, "serve");
	}
	deadline = now_ms() + NGT_WAIT_MS;
	while (now_ms() < deadline) {
		if ((fd = open(pf, O_RDONLY | O_CLOEXEC)) != -1) {
			got = read(fd, line, sizeof(line) - 1);
			close(fd);
			if (got > 0) {
				line[got] = '\0';
				line[strcspn(line, "\n")] = '\0';
				if (parse_u64(line, strlen(line), &port) == 0 &&
				    port > 0 && port < 65536) {
					srv->port = (int)port;
					return 0;
				}
			}
		}
		if (reap(srv, &st)) {
			char *log = ngt_server_log(srv);

			fprintf(stderr, "ngtest: serve exited %d:\n%s", st,
			    log);
			free(log);
			return -1;
		}
		sleep_ms(NGT_POLL_MS);
	}
	fprintf(stderr, "ngtest: serve wrote no port file\n");
	ngt_server_stop(srv);
	return -1;
}

int
ngt_server_signal(struct ngt_server *srv, int sig)
{
	return srv->pid > 0 ? kill(srv->pid, sig) : -1;
}

bool
ngt_server_alive(struct ngt_server *srv)
{
	int st;

	return !reap(srv, &st);
}

int
ngt_server_stop(struct ngt_server *srv)
{
	uint64_t deadline = now_ms() + NGT_WAIT_MS;
	int st = -1;

	if (srv->pid > 0) {
		kill(srv->pid, SIGTERM);
		while (!reap(srv, &st)) {
			if (now_ms() >= deadline) {
				fprintf(stderr, "ngtest: serve ignored "
						"SIGTERM\n");
				kill(srv->pid, SIGKILL);
				deadline = UINT64_MAX;
			}
			sleep_ms(NGT_POLL_MS);
		}
	}
	if (srv->dir[0] && getenv("NEWSGATE_KEEP") == NULL)
		(void)tui_rmrf(srv->dir);
	srv->dir[0] = '\0';
	return st;
}

char *
ngt_server_log(const struct ngt_server *srv)
{
	struct buf b = BUF_INIT(1 << 24);
	char chunk[4096];
	ssize_t n;
	int fd;

	if ((fd = open(srv->log, O_RDONLY | O_CLOEXEC)) != -1) {
		while ((n = read(fd, chunk, sizeof(chunk))) > 0)
			buf_append(&b, chunk, (size_t)n);
		close(fd);
	}
	return buf_steal(&b);
}

/* --- the client ----------------------------------------------------------- */

struct ngt_conn *
ngt_connect(int port)
{
	struct sockaddr_in sin;
	struct ngt_conn *c;
	int fd;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		fprintf(stderr, "ngtest: socket: %s\n", strerror(errno));
		return NULL;
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		fprintf(stderr, "ngtest: connect %d: %s\n", port,
		    strerror(errno));
		close(fd);
		return NULL;
	}
	c = xcalloc(1, sizeof(*c));
	c->fd = fd;
	c->timeout_ms = NGT_WAIT_MS;
	return c;
}

void
ngt_close(struct ngt_conn *c)
{
	if (c == NULL)
		return;
	close(c->fd);
	free(c);
}

int
ngt_send_raw(struct ngt_conn *c, const void *p, size_t len)
{
	const char *s = p;
	ssize_t n;

	while (len > 0) {
		n = send(c->fd, s, len, MSG_NOSIGNAL);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		s += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
vsend(struct ngt_conn *c, const char *fmt, va_list ap)
{
	struct buf b = BUF_INIT(1 << 20);
	int rc;

	buf_vprintf(&b, fmt, ap);
	buf_append(&b, "\r\n", 2);
	rc = b.err ? -1 : ngt_send_raw(c, b.data, b.len);
	buf_free(&b);
	return rc;
}

int
ngt_send(struct ngt_conn *c, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vsend(c, fmt, ap);
	va_end(ap);
	return rc;
}

/* More bytes into rbuf; -1 on EOF, error or timeout. */
static int
fill(struct ngt_conn *c, int timeout_ms)
{
	struct pollfd pfd = {c->fd, POLLIN, 0};
	ssize_t n;
	int r;

	if (c->off > 0) {
		memmove(c->rbuf, c->rbuf + c->off, c->len - c->off);
		c->len -= c->off;
		c->off = 0;
	}
	if (c->len == sizeof(c->rbuf))
		return -1; /* a line longer than the buffer */
	do
		r = poll(&pfd, 1, timeout_ms);
	while (r == -1 && errno == EINTR);
	if (r <= 0)
		return -1;
	do
		n = recv(c->fd, c->rbuf + c->len, sizeof(c->rbuf) - c->len, 0);
	while (n == -1 && errno == EINTR);
	if (n <= 0)
		return -1;
	c->len += (size_t)n;
	return 0;
}

ssize_t
ngt_line(struct ngt_conn *c, char *line, size_t cap)
{
	char *nl;
	size_t n, copy;
	bool crlf;

	while ((nl = memchr(c->rbuf + c->off, '\n', c->len - c->off)) ==
	    NULL)
		if (fill(c, c->timeout_ms) == -1)
			return -1;
	n = (size_t)(nl - (c->rbuf + c->off));
	crlf = n > 0 && nl[-1] == '\r';
	copy = crlf ? n - 1 : n;
	if (copy >= cap)
		copy = cap - 1;
	memcpy(line, c->rbuf + c->off, copy);
	line[copy] = '\0';
	c->off += n + 1;
	return crlf ? (ssize_t)copy : -2;
}

int
ngt_status(struct ngt_conn *c, char *status, size_t cap)
{
	char line[NGT_LINE_MAX];
	uint64_t code;

	if (ngt_line(c, line, sizeof(line)) < 3 ||
	    parse_u64(line, 3, &code) == -1 ||
	    (line[3] != ' ' && line[3] != '\0'))
		return -1;
	if (status && !str_copy(status, cap, line))
		return -1;
	return (int)code;
}

int
ngt_cmd(struct ngt_conn *c, char *status, size_t cap, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vsend(c, fmt, ap);
	va_end(ap);
	if (rc == -1)
		return -1;
	return ngt_status(c, status, cap);
}

int
ngt_body(struct ngt_conn *c, struct buf *body)
{
	char line[NGT_RBUF];
	ssize_t n;
	int count = 0;

	for (;;) {
		if ((n = ngt_line(c, line, sizeof(line))) < 0)
			return (int)n;
		if (line[0] == '.') {
			if (n == 1)
				return count;
			if (line[1] != '.')
				return -2; /* not dot-stuffed */
		}
		if (body) {
			buf_append(body, line + (line[0] == '.'),
			    (size_t)n - (line[0] == '.'));
			buf_putc(body, '\n');
		}
		count++;
	}
}

bool
ngt_eof(struct ngt_conn *c, int timeout_ms)
{
	uint64_t deadline = now_ms() + (uint64_t)timeout_ms, now;
	struct pollfd pfd = {c->fd, POLLIN, 0};
	char tmp[4096];
	ssize_t n;

	c->off = c->len = 0; /* whatever is still coming is discarded */
	for (;;) {
		if ((now = now_ms()) >= deadline ||
		    poll(&pfd, 1, (int)(deadline - now)) == 0)
			return false;
		if ((n = recv(c->fd, tmp, sizeof(tmp), 0)) == 0)
			return true;
		if (n == -1 && errno != EINTR && errno != EAGAIN)
			return errno == ECONNRESET;
	}
}

int
ngt_slurp(const char *path, struct buf *b)
{
	char chunk[8192];
	ssize_t n;
	int fd;

	buf_reset(b);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		buf_append(b, chunk, (size_t)n);
	close(fd);
	return n == -1 ? -1 : 0;
}

void
ngt_group_dir(const char *spool, const char *group, char *out, size_t cap)
{
	char *p;

	if (!str_printf(out, cap, "%s/articles/%s", spool, group)) {
		out[0] = '\0'; /* too long: opening it fails, visibly */
		return;
	}
	for (p = out + strlen(spool) + strlen("/articles/"); *p; p++)
		if (*p == '.')
			*p = '/';
}
