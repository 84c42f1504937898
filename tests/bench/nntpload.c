/*
 * nntpload - NNTP load generator for the newsgate benchmarks (tests/bench/).
 *
 * One thread, one epoll loop, non-blocking sockets, 256 KiB reads: it must
 * leave the CPU to the server under test (the benchmark machine has two
 * cores). Articles to feed are read and converted to wire form (CRLF,
 * dot-stuffed) before the clock starts.
 *
 *   nntpload takethis -p PORT [-c CONNS] [-d WINDOW] [-C] [-X] [-G GROUP]
 *                     [-n MAX] SOURCE...
 *       Stream articles with MODE STREAM + TAKETHIS (RFC 4644), WINDOW
 *       commands in flight per connection; -C offers each with CHECK first.
 *       SOURCE: a directory of article files (the spool's articles/a/b/:
 *       numbered files, dot files skipped), an rnews batch ("#! rnews N"),
 *       or one article file. -X drops Xref, -G rewrites Newsgroups.
 *   nntpload ihave -p PORT [-c CONNS] ... SOURCE...
 *       The same with IHAVE (RFC 3977 §6.3.2): one article in flight per
 *       connection, as the protocol requires.
 *   nntpload post -p PORT [-c CONNS] ... SOURCE...
 *       The same with POST (RFC 3977 §6.3.1), as a newsreader posts:
 *       MODE READER, then POST, 340, the article, 240; one in flight per
 *       connection. The headers an injecting agent owns (Path, Xref,
 *       Lines, Injection-*, NNTP-Posting-*, X-Trace) are dropped; the
 *       Message-ID is kept, so each article is new to the server.
 *   nntpload over -p PORT -g GROUP [-x] [-R RUNS] [-r LO-HI]
 *       OVER (or XOVER with -x) of the whole group; lines/s, median of RUNS.
 *   nntpload article -p PORT -g GROUP [-c CONNS] [-d DEPTH] [-t SECONDS]
 *       Random ARTICLE by number in the group's range, DEPTH requests in
 *       flight on each of CONNS connections; ops/s and latency.
 *   nntpload idle -p PORT -c N [-P PID] [-g GROUP] [-t HOLD] [-k PROBES]
 *       Open N connections (greeting + MODE READER) and hold them; memory
 *       of PID and its descendants (VmRSS and Pss summed) before and after,
 *       per connection; then PROBES fresh clients each time a full session
 *       (connect, greeting, MODE READER, GROUP, DATE, QUIT) to show the
 *       server still answers promptly.
 *   nntpload probe -p PORT [-t SECONDS]
 *       Wait until the server greets (up to SECONDS); print the greeting.
 *
 * Delayed ACKs: a server that sends one response in two writes without
 * TCP_NODELAY (INN's nnrpd writes the 220 line, then the article) has the
 * second write held by Nagle until the client ACKs the first, and a
 * client that waits for the rest of the reply delays that ACK by 40 ms: a
 * few hundred ops/s whatever the server could do. nntpload sets
 * TCP_QUICKACK after every read so that the figures measure the server,
 * not this interplay; -N turns that off, to see what a plain client sees.
 *
 * -P PID names the server: the feed, over and article modes then also
 * report the CPU time that PID and its descendants used meanwhile
 * (server_cpu_s), a figure that other load on the machine disturbs far
 * less than the wall-clock rate; client_cpu_s is nntpload's own.
 *
 * Every mode ends with one result line of key=value pairs, first word the
 * mode, for the scripts to parse.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define READ_CHUNK (256 * 1024) /* bytes per read() */
#define OUT_HIGH (256 * 1024)	/* stop queueing requests above this */
#define LINE_MAX_IN (16 * 1024 * 1024) /* longest reply line we buffer */
#define LAT_BUCKETS 100000	       /* 10 us each: up to 1 s */

enum mode { M_TAKETHIS, M_IHAVE, M_POST, M_OVER, M_ARTICLE, M_IDLE,
	M_PROBE };

enum kind {
	K_GREET,
	K_MODE_STREAM,
	K_MODE_READER,
	K_GROUP,
	K_TAKETHIS,
	K_CHECK,
	K_IHAVE,
	K_IHAVE_ART,
	K_POST,
	K_POST_ART,
	K_OVER,
	K_ARTICLE,
	K_QUIT,
};

struct art {
	char *msgid;	 /* "<...>", NUL-terminated */
	char *wire;	 /* CRLF, dot-stuffed, ending ".\r\n" */
	size_t wire_len; /* octets in wire */
};

struct pend {
	enum kind kind;
	size_t idx;	   /* article index (feed modes) */
	double sent;	   /* CLOCK_MONOTONIC seconds */
};

struct conn {
	int fd;
	bool connecting; /* non-blocking connect not yet complete */
	bool ready;	 /* handshake done */
	bool closed;
	int hs_step;	 /* handshake commands sent so far */
	uint32_t events; /* registered with epoll */
	char *out;	 /* pending output */
	size_t out_len, out_off, out_cap;
	char *in; /* unread input */
	size_t in_len, in_cap;
	struct pend *q; /* replies awaited, a ring */
	size_t q_head, q_len, q_cap;
	bool in_multi;	    /* inside a multi-line reply */
	uint64_t multi_lines; /* lines of it so far */
	uint64_t rng;	    /* xorshift state */
	uint64_t lo, hi;    /* article range from the 211 reply */
};

struct ctx {
	enum mode mode;
	const char *host;
	int port;
	int nconn;
	int depth;
	const char *group;
	bool check;	/* CHECK before TAKETHIS */
	bool xover;	/* XOVER instead of OVER */
	bool strip_xref;
	bool quickack;	/* TCP_QUICKACK after every read */
	const char *rewrite_ng;
	long max_arts;
	int runs;
	double seconds;
	uint64_t range_lo, range_hi; /* -r; 0: from GROUP */
	long pid;		     /* -P */
	int probes;
	uint64_t seed;

	int ep;
	struct conn *conns;
	int nopen; /* conns[0..nopen) have been opened */
	bool go; /* workload may be sent */

	struct art *arts;
	size_t narts, arts_cap;
	size_t next_art;

	/* counters */
	uint64_t accepted, rejected, refused, deferred, errors;
	uint64_t ops, bytes_in;
	uint64_t over_lines;
	bool over_done;
	uint32_t *lat; /* LAT_BUCKETS + 1 */
	int failed_conns;
	char last_err[256];
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list ap;

	fputs("nntpload: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void *
xrealloc(void *p, size_t n)
{
	if ((p = realloc(p, n ? n : 1)) == NULL)
		die("out of memory");
	return p;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* --- articles in ------------------------------------------------------ */

struct sbuf {
	char *p;
	size_t len, cap;
};

static void
sb_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = xrealloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static bool
header_is(const char *line, size_t len, const char *name)
{
	size_t n = strlen(name);

	return len > n && line[n] == ':' && strncasecmp(line, name, n) == 0;
}

/* Headers a server adds when it injects a posted article (RFC 5537). */
static bool
header_injected(const char *line, size_t len)
{
	static const char *const names[] = {"Path", "Xref", "Lines",
	    "Injection-Date", "Injection-Info", "NNTP-Posting-Host",
	    "NNTP-Posting-Date", "X-Trace", "X-Complaints-To"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (header_is(line, len, names[i]))
			return true;
	return false;
}

/*
 * One article (LF or CRLF lines) to wire form. Returns false (skipped) when
 * it has no Message-ID.
 */
static bool
art_convert(struct ctx *x, const char *src, size_t len, struct art *a)
{
	struct sbuf w = {0};
	const char *p = src, *end = src + len;
	bool in_head = true, dropping = false;
	char *msgid = NULL;

	while (p < end) {
		const char *nl = memchr(p, '\n', end - p);
		const char *le = nl ? nl : end;
		size_t ll = le - p;

		if (ll > 0 && p[ll - 1] == '\r')
			ll--;
		if (in_head) {
			if (ll == 0) {
				in_head = false;
				dropping = false;
			} else if (p[0] == ' ' || p[0] == '\t') {
				if (dropping)
					goto next;
			} else {
				dropping = false;
				if ((x->strip_xref && header_is(p, ll, "Xref")) ||
				    (x->mode == M_POST &&
					header_injected(p, ll))) {
					dropping = true;
					goto next;
				}
				if (x->rewrite_ng &&
				    header_is(p, ll, "Newsgroups")) {
					sb_add(&w, "Newsgroups: ", 12);
					sb_add(&w, x->rewrite_ng,
					    strlen(x->rewrite_ng));
					sb_add(&w, "\r\n", 2);
					dropping = true;
					goto next;
				}
				if (header_is(p, ll, "Message-ID") && !msgid) {
					const char *v = p + 11, *ve = p + ll;

					while (v < ve && isspace((unsigned char)*v))
						v++;
					while (ve > v &&
					    isspace((unsigned char)ve[-1]))
						ve--;
					msgid = strndup(v, ve - v);
				}
			}
		}
		if (ll > 0 && p[0] == '.' && !in_head)
			sb_add(&w, ".", 1);
		sb_add(&w, p, ll);
		sb_add(&w, "\r\n", 2);
next:
		p = nl ? nl + 1 : end;
	}
	sb_add(&w, ".\r\n", 3);
	if (msgid == NULL || msgid[0] != '<') {
		free(msgid);
		free(w.p);
		return false;
	}
	a->msgid = msgid;
	a->wire = w.p;
	a->wire_len = w.len;
	return true;
}

static void
art_push(struct ctx *x, const char *src, size_t len, const char *where)
{
	struct art a;

	if (x->max_arts > 0 && (long)x->narts >= x->max_arts)
		return;
	if (!art_convert(x, src, len, &a)) {
		fprintf(stderr, "nntpload: %s: no Message-ID, skipped\n",
		    where);
		return;
	}
	if (x->narts == x->arts_cap) {
		x->arts_cap = x->arts_cap ? x->arts_cap * 2 : 1024;
		x->arts = xrealloc(x->arts, x->arts_cap * sizeof(*x->arts));
	}
	x->arts[x->narts++] = a;
}

static char *
slurp(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	char *p;
	size_t off = 0;

	if (fd == -1 || fstat(fd, &st) == -1)
		die("%s: %s", path, strerror(errno));
	p = xrealloc(NULL, st.st_size + 1);
	while (off < (size_t)st.st_size) {
		ssize_t n = read(fd, p + off, st.st_size - off);

		if (n <= 0)
			die("%s: read: %s", path, n ? strerror(errno) : "EOF");
		off += n;
	}
	close(fd);
	p[off] = '\0';
	*len = off;
	return p;
}

static void
load_file(struct ctx *x, const char *path)
{
	size_t len;
	char *data = slurp(path, &len);
	const char *p = data, *end = data + len;

	if (len < 9 || memcmp(data, "#! rnews ", 9) != 0) {
		art_push(x, data, len, path);
		free(data);
		return;
	}
	while (p < end) { /* rnews batch: "#! rnews N\n" + N octets */
		char *e;
		unsigned long n;

		if (end - p < 9 || memcmp(p, "#! rnews ", 9) != 0)
			die("%s: bad rnews batch at offset %zu", path,
			    (size_t)(p - data));
		n = strtoul(p + 9, &e, 10);
		if (*e != '\n' || n > (size_t)(end - e - 1))
			die("%s: bad rnews count", path);
		art_push(x, e + 1, n, path);
		p = e + 1 + n;
	}
	free(data);
}

static int
cmp_name(const void *a, const void *b)
{
	const char *x = *(char *const *)a, *y = *(char *const *)b;
	size_t lx = strspn(x, "0123456789"), ly = strspn(y, "0123456789");

	if (lx && ly && !x[lx] && !y[ly] && lx != ly)
		return lx < ly ? -1 : 1; /* numbers: shorter is smaller */
	return strcmp(x, y);
}

static void
load_source(struct ctx *x, const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0;

	if (stat(path, &st) == -1)
		die("%s: %s", path, strerror(errno));
	if (!S_ISDIR(st.st_mode)) {
		load_file(x, path);
		return;
	}
	if ((d = opendir(path)) == NULL)
		die("%s: %s", path, strerror(errno));
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 1024;
			names = xrealloc(names, cap * sizeof(*names));
		}
		names[n++] = strdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_name);
	for (size_t i = 0; i < n; i++) {
		char full[4096];

		snprintf(full, sizeof(full), "%s/%s", path, names[i]);
		if (stat(full, &st) == 0 && S_ISREG(st.st_mode))
			load_file(x, full);
		free(names[i]);
	}
	free(names);
}

/* --- memory of the server ---------------------------------------------- */

/* kB value of "key:" in a /proc file, or 0. */
static uint64_t
proc_kb(const char *path, const char *key)
{
	FILE *f = fopen(path, "r");
	char line[256];
	size_t kl = strlen(key);
	uint64_t v = 0;

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
			v = strtoull(line + kl + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

static long
proc_ppid(long pid)
{
	char path[64], buf[512], *p;
	FILE *f;
	long ppid = -1;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')) != NULL)
		sscanf(p + 2, "%*c %ld", &ppid);
	fclose(f);
	return ppid;
}

/* pid and all its descendants, from /proc; *n gets the count. Freed by
 * the caller. */
static long *
proc_tree(long root, size_t *np)
{
	long *set = xrealloc(NULL, sizeof(long));
	size_t n = 1, cap = 1;
	bool grew = true;
	DIR *d;
	struct dirent *de;

	set[0] = root;
	while (grew) { /* add children of members until nothing changes */
		grew = false;
		if ((d = opendir("/proc")) == NULL)
			break;
		while ((de = readdir(d)) != NULL) {
			long pid = strtol(de->d_name, NULL, 10), pp;
			bool have = false, parent = false;

			if (pid <= 0)
				continue;
			for (size_t i = 0; i < n && !have; i++)
				have = set[i] == pid;
			if (have || (pp = proc_ppid(pid)) <= 0)
				continue;
			for (size_t i = 0; i < n && !parent; i++)
				parent = set[i] == pp;
			if (!parent)
				continue;
			if (n == cap)
				set = xrealloc(set, (cap *= 2) * sizeof(long));
			set[n++] = pid;
			grew = true;
		}
		closedir(d);
	}
	*np = n;
	return set;
}

struct mem {
	uint64_t rss_kb, pss_kb;
	int nproc;
};

/* VmRSS and Pss summed over pid and all its descendants. */
static struct mem
mem_tree(long root)
{
	struct mem m = {0};
	size_t n;
	long *set = proc_tree(root, &n);

	for (size_t i = 0; i < n; i++) {
		char path[64];
		uint64_t rss;

		snprintf(path, sizeof(path), "/proc/%ld/status", set[i]);
		if ((rss = proc_kb(path, "VmRSS")) == 0)
			continue;
		m.rss_kb += rss;
		snprintf(path, sizeof(path), "/proc/%ld/smaps_rollup", set[i]);
		m.pss_kb += proc_kb(path, "Pss");
		m.nproc++;
	}
	free(set);
	return m;
}

/* Nanoseconds on CPU of every thread of pid (schedstat: exact, where
 * /proc/PID/stat rounds each process down to a 10 ms tick). */
static double
proc_run_ns(long pid)
{
	char path[64];
	DIR *d;
	struct dirent *de;
	double ns = 0;

	snprintf(path, sizeof(path), "/proc/%ld/task", pid);
	if ((d = opendir(path)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		char tp[320];
		unsigned long long v;
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(tp, sizeof(tp), "/proc/%ld/task/%s/schedstat", pid,
		    de->d_name);
		if ((f = fopen(tp, "r")) == NULL)
			continue;
		if (fscanf(f, "%llu", &v) == 1)
			ns += v;
		fclose(f);
	}
	closedir(d);
	return ns;
}

/*
 * CPU seconds used by pid and its descendants: the time on CPU of every
 * live thread, plus that of children that exited and were reaped
 * (cutime + cstime, in ticks). Per-process reader servers (nnrpd) are
 * measured whole this way.
 */
static double
cpu_tree(long root)
{
	size_t n;
	long *set = proc_tree(root, &n);
	double sec = 0, hz = sysconf(_SC_CLK_TCK);

	for (size_t i = 0; i < n; i++) {
		char path[64], buf[1024], *p;
		long cut, cst;
		FILE *f;

		sec += proc_run_ns(set[i]) / 1e9;
		snprintf(path, sizeof(path), "/proc/%ld/stat", set[i]);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		if (fgets(buf, sizeof(buf), f) &&
		    (p = strrchr(buf, ')')) != NULL &&
		    sscanf(p + 2,
			"%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u "
			"%ld %ld",
			&cut, &cst) == 2)
			sec += (cut + cst) / hz;
		fclose(f);
	}
	free(set);
	return sec;
}

/* CPU seconds this process used. */
static double
cpu_self(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* --- connections --------------------------------------------------------- */

static void
out_add(struct conn *c, const char *s, size_t n)
{
	if (c->out_off > 0 && c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	if (c->out_len + n > c->out_cap) {
		if (c->out_off > 0) {
			memmove(c->out, c->out + c->out_off,
			    c->out_len - c->out_off);
			c->out_len -= c->out_off;
			c->out_off = 0;
		}
		if (c->out_len + n > c->out_cap) {
			c->out_cap = (c->out_len + n) * 2;
			c->out = xrealloc(c->out, c->out_cap);
		}
	}
	memcpy(c->out + c->out_len, s, n);
	c->out_len += n;
}

static void
out_printf(struct conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
out_printf(struct conn *c, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line))
		die("command too long");
	out_add(c, line, n);
}

static void
q_push(struct conn *c, enum kind k, size_t idx, double t)
{
	if (c->q_len == c->q_cap) {
		size_t ncap = c->q_cap ? c->q_cap * 2 : 64;
		struct pend *nq = xrealloc(NULL, ncap * sizeof(*nq));

		for (size_t i = 0; i < c->q_len; i++)
			nq[i] = c->q[(c->q_head + i) % c->q_cap];
		free(c->q);
		c->q = nq;
		c->q_head = 0;
		c->q_cap = ncap;
	}
	c->q[(c->q_head + c->q_len++) % c->q_cap] =
	    (struct pend){.kind = k, .idx = idx, .sent = t};
}

static struct pend
q_pop(struct conn *c)
{
	struct pend p = c->q[c->q_head];

	c->q_head = (c->q_head + 1) % c->q_cap;
	c->q_len--;
	return p;
}

static void
conn_watch(struct ctx *x, struct conn *c, uint32_t ev)
{
	struct epoll_event e = {.events = ev, .data.ptr = c};

	if (c->closed || ev == c->events)
		return;
	if (epoll_ctl(x->ep, EPOLL_CTL_MOD, c->fd, &e) == -1)
		die("epoll_ctl: %s", strerror(errno));
	c->events = ev;
}

static void
conn_close(struct ctx *x, struct conn *c)
{
	if (c->closed)
		return;
	epoll_ctl(x->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->closed = true;
	c->ready = false;
	free(c->out);
	free(c->in);
	free(c->q);
	c->out = c->in = NULL;
	c->q = NULL;
	c->out_len = c->out_off = c->out_cap = 0;
	c->in_len = c->in_cap = 0;
	c->q_len = c->q_cap = c->q_head = 0;
}

static void
conn_fail(struct ctx *x, struct conn *c, const char *why, const char *line,
    size_t len)
{
	snprintf(x->last_err, sizeof(x->last_err), "%s%s%.*s", why,
	    line ? ": " : "", line ? (int)(len > 200 ? 200 : len) : 0,
	    line ? line : "");
	x->failed_conns++;
	conn_close(x, c);
}

static int
conn_open(struct ctx *x, struct conn *c)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	struct epoll_event e;
	int one = 1;

	memset(c, 0, sizeof(*c));
	sa.sin_port = htons(x->port);
	if (inet_pton(AF_INET, x->host, &sa.sin_addr) != 1)
		die("bad address %s (an IPv4 literal)", x->host);
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd == -1) {
		c->closed = true;
		snprintf(x->last_err, sizeof(x->last_err), "socket: %s",
		    strerror(errno));
		x->failed_conns++;
		return -1;
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) == -1 &&
	    errno != EINPROGRESS) {
		snprintf(x->last_err, sizeof(x->last_err), "connect: %s",
		    strerror(errno));
		close(c->fd);
		c->closed = true;
		x->failed_conns++;
		return -1;
	}
	c->connecting = true;
	c->events = EPOLLIN | EPOLLOUT;
	e = (struct epoll_event){.events = c->events, .data.ptr = c};
	if (epoll_ctl(x->ep, EPOLL_CTL_ADD, c->fd, &e) == -1)
		die("epoll_ctl: %s", strerror(errno));
	c->rng = x->seed ^ (0x9e3779b97f4a7c15ULL * (uint64_t)(c - x->conns + 1));
	q_push(c, K_GREET, 0, now_s());
	return 0;
}

static uint64_t
rng_next(struct conn *c)
{
	uint64_t v = c->rng;

	v ^= v << 13;
	v ^= v >> 7;
	v ^= v << 17;
	return c->rng = v;
}

/* The handshake command after step hs_step, or false when done. */
static bool
handshake_next(struct ctx *x, struct conn *c)
{
	int step = c->hs_step++;

	switch (x->mode) {
	case M_TAKETHIS:
		if (step == 0) {
			out_printf(c, "MODE STREAM\r\n");
			q_push(c, K_MODE_STREAM, 0, now_s());
			return true;
		}
		return false;
	case M_IHAVE:
		return false;
	default: /* readers, and POST as a newsreader does it */
		if (step == 0) {
			out_printf(c, "MODE READER\r\n");
			q_push(c, K_MODE_READER, 0, now_s());
			return true;
		}
		if (step == 1 && x->group) {
			out_printf(c, "GROUP %s\r\n", x->group);
			q_push(c, K_GROUP, 0, now_s());
			return true;
		}
		return false;
	}
}

/* Queue work on c while the window allows. */
static void
conn_pump(struct ctx *x, struct conn *c, double t)
{
	if (!c->ready || !x->go || c->closed)
		return;
	switch (x->mode) {
	case M_TAKETHIS:
		while (c->q_len < (size_t)x->depth && x->next_art < x->narts &&
		    c->out_len - c->out_off < OUT_HIGH) {
			size_t i = x->next_art++;
			struct art *a = &x->arts[i];

			if (x->check) {
				out_printf(c, "CHECK %s\r\n", a->msgid);
				q_push(c, K_CHECK, i, t);
			} else {
				out_printf(c, "TAKETHIS %s\r\n", a->msgid);
				out_add(c, a->wire, a->wire_len);
				q_push(c, K_TAKETHIS, i, t);
			}
		}
		break;
	case M_IHAVE:
		if (c->q_len == 0 && x->next_art < x->narts) {
			size_t i = x->next_art++;

			out_printf(c, "IHAVE %s\r\n", x->arts[i].msgid);
			q_push(c, K_IHAVE, i, t);
		}
		break;
	case M_POST:
		if (c->q_len == 0 && x->next_art < x->narts) {
			out_printf(c, "POST\r\n");
			q_push(c, K_POST, x->next_art++, t);
		}
		break;
	case M_ARTICLE: {
		uint64_t lo = x->range_lo ? x->range_lo : c->lo;
		uint64_t hi = x->range_hi ? x->range_hi : c->hi;

		if (hi < lo || hi == 0)
			die("group %s is empty", x->group);
		while (c->q_len < (size_t)x->depth) {
			out_printf(c, "ARTICLE %" PRIu64 "\r\n",
			    lo + rng_next(c) % (hi - lo + 1));
			q_push(c, K_ARTICLE, 0, t);
		}
		break;
	}
	default:
		break;
	}
}

static void
conn_flush(struct ctx *x, struct conn *c)
{
	while (!c->closed && c->out_off < c->out_len) {
		ssize_t n = write(c->fd, c->out + c->out_off,
		    c->out_len - c->out_off);

		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			conn_fail(x, c, strerror(errno), NULL, 0);
			return;
		}
		c->out_off += n;
	}
	if (c->closed)
		return;
	conn_watch(x, c,
	    EPOLLIN | (c->out_off < c->out_len ? (uint32_t)EPOLLOUT : 0));
}

static bool
multi_line(enum kind k, int code)
{
	return (k == K_ARTICLE && code == 220) || (k == K_OVER && code == 224);
}

/* A complete reply (its status line, and for multi-line ones the count). */
static void
on_reply(struct ctx *x, struct conn *c, struct pend *p, int code,
    const char *line, size_t len, double t)
{
	switch (p->kind) {
	case K_GREET:
		if (code != 200 && code != 201)
			return conn_fail(x, c, "greeting", line, len);
		goto handshake;
	case K_MODE_STREAM:
		if (code != 203)
			return conn_fail(x, c, "MODE STREAM", line, len);
		goto handshake;
	case K_MODE_READER:
		if (code != 200 && code != 201)
			return conn_fail(x, c, "MODE READER", line, len);
		goto handshake;
	case K_GROUP: {
		uint64_t n, lo, hi;

		if (code != 211 || sscanf(line, "211 %" SCNu64 " %" SCNu64
					  " %" SCNu64, &n, &lo, &hi) != 3)
			return conn_fail(x, c, "GROUP", line, len);
		c->lo = lo;
		c->hi = hi;
		goto handshake;
	}
	case K_CHECK:
		if (code == 238) {
			struct art *a = &x->arts[p->idx];

			out_printf(c, "TAKETHIS %s\r\n", a->msgid);
			out_add(c, a->wire, a->wire_len);
			q_push(c, K_TAKETHIS, p->idx, t);
		} else if (code == 438) {
			x->refused++;
		} else if (code == 431) {
			x->deferred++;
		} else {
			x->errors++;
			snprintf(x->last_err, sizeof(x->last_err), "CHECK: %.*s",
			    (int)len, line);
		}
		return;
	case K_TAKETHIS:
	case K_IHAVE_ART:
		if (code == 239 || code == 235) {
			x->accepted++;
		} else if (code == 439 || code == 437) {
			x->rejected++;
			snprintf(x->last_err, sizeof(x->last_err),
			    "%s rejected: %.*s", x->arts[p->idx].msgid,
			    (int)len, line);
		} else if (code == 436) {
			x->deferred++;
		} else {
			x->errors++;
			snprintf(x->last_err, sizeof(x->last_err), "%.*s",
			    (int)len, line);
		}
		return;
	case K_IHAVE:
		if (code == 335) {
			struct art *a = &x->arts[p->idx];

			out_add(c, a->wire, a->wire_len);
			q_push(c, K_IHAVE_ART, p->idx, t);
		} else if (code == 435) {
			x->refused++;
		} else if (code == 436) {
			x->deferred++;
		} else {
			x->errors++;
			snprintf(x->last_err, sizeof(x->last_err), "IHAVE: %.*s",
			    (int)len, line);
		}
		return;
	case K_POST:
		if (code == 340) {
			struct art *a = &x->arts[p->idx];

			out_add(c, a->wire, a->wire_len);
			q_push(c, K_POST_ART, p->idx, t);
		} else {
			x->errors++;
			snprintf(x->last_err, sizeof(x->last_err), "POST: %.*s",
			    (int)len, line);
		}
		return;
	case K_POST_ART:
		if (code == 240) {
			x->accepted++;
		} else if (code == 441) {
			x->rejected++;
			snprintf(x->last_err, sizeof(x->last_err),
			    "%s rejected: %.*s", x->arts[p->idx].msgid,
			    (int)len, line);
		} else {
			x->errors++;
			snprintf(x->last_err, sizeof(x->last_err), "%.*s",
			    (int)len, line);
		}
		return;
	case K_OVER:
		if (code != 224) {
			x->errors++;
			snprintf(x->last_err, sizeof(x->last_err), "OVER: %.*s",
			    (int)len, line);
		}
		x->over_done = true;
		return;
	case K_ARTICLE:
		if (!x->go)
			return;
		if (code == 220) {
			double us = (t - p->sent) * 1e6;
			size_t b = us < 0 ? 0 : (size_t)(us / 10);

			x->ops++;
			x->lat[b < LAT_BUCKETS ? b : LAT_BUCKETS]++;
		} else {
			x->errors++;
			snprintf(x->last_err, sizeof(x->last_err),
			    "ARTICLE: %.*s", (int)len, line);
		}
		return;
	case K_QUIT:
		return;
	}
	return;
handshake:
	if (!handshake_next(x, c))
		c->ready = true;
}

/* Parse what has arrived on c. */
static void
conn_input(struct ctx *x, struct conn *c, double t)
{
	size_t off = 0;

	while (!c->closed && off < c->in_len) {
		char *p = c->in + off;
		char *nl = memchr(p, '\n', c->in_len - off);
		size_t ll;

		if (nl == NULL)
			break;
		ll = nl - p + 1;
		off += ll;
		if (c->in_multi) {
			if (ll >= 2 && p[0] == '.' && (p[1] == '\r' || p[1] == '\n')) {
				struct pend pe = q_pop(c);

				c->in_multi = false;
				if (pe.kind == K_OVER)
					x->over_lines += c->multi_lines;
				on_reply(x, c, &pe, pe.kind == K_OVER ? 224 : 220,
				    "", 0, t);
			} else {
				c->multi_lines++;
			}
			continue;
		}
		if (c->q_len == 0) {
			conn_fail(x, c, "unexpected reply", p, ll);
			return;
		}
		{
			int code = atoi(p);
			struct pend *pe = &c->q[c->q_head];

			if (ll < 4 || !isdigit((unsigned char)p[0])) {
				conn_fail(x, c, "bad reply", p, ll);
				return;
			}
			if (multi_line(pe->kind, code)) {
				c->in_multi = true;
				c->multi_lines = 0;
			} else {
				struct pend pp = q_pop(c);

				p[ll - 1] = '\0'; /* the LF */
				if (ll >= 2 && p[ll - 2] == '\r')
					p[ll - 2] = '\0';
				on_reply(x, c, &pp, code, p, strlen(p), t);
			}
		}
	}
	if (c->closed)
		return;
	if (off > 0) {
		memmove(c->in, c->in + off, c->in_len - off);
		c->in_len -= off;
	}
}

static void
conn_read(struct ctx *x, struct conn *c, double t)
{
	static const int one = 1;

	for (;;) {
		ssize_t n;

		if (c->in_cap - c->in_len < READ_CHUNK) {
			if (c->in_cap > LINE_MAX_IN)
				return conn_fail(x, c, "reply line too long",
				    NULL, 0);
			c->in_cap = c->in_len + READ_CHUNK;
			c->in = xrealloc(c->in, c->in_cap);
		}
		n = read(c->fd, c->in + c->in_len, c->in_cap - c->in_len);
		if (n == 0)
			return conn_fail(x, c, "server closed the connection",
			    NULL, 0);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return;
			return conn_fail(x, c, strerror(errno), NULL, 0);
		}
		x->bytes_in += n;
		c->in_len += n;
		if (x->quickack) /* ACK now: see the header comment */
			setsockopt(c->fd, IPPROTO_TCP, TCP_QUICKACK, &one,
			    sizeof(one));
		conn_input(x, c, t);
		if (c->closed || (size_t)n < c->in_cap - c->in_len)
			return; /* short read: nothing more for now */
	}
}

static void
conn_event(struct ctx *x, struct conn *c, uint32_t ev, double t)
{
	if (c->connecting) {
		int err = 0;
		socklen_t l = sizeof(err);

		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l) == -1 ||
		    err != 0) {
			errno = err;
			return conn_fail(x, c, "connect", strerror(err),
			    strlen(strerror(err)));
		}
		c->connecting = false;
	}
	if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP))
		conn_read(x, c, t);
	if (c->closed)
		return;
	conn_pump(x, c, t);
	conn_flush(x, c);
}

/* Run the loop until done(x) or the deadline (0: none). */
static void
loop_run(struct ctx *x, bool (*done)(struct ctx *), double deadline)
{
	struct epoll_event ev[256];

	while (!done(x)) {
		int n, ms = 100;
		double t;

		if (deadline > 0) {
			double left = deadline - now_s();

			if (left <= 0)
				return;
			ms = left * 1000 < 100 ? (int)(left * 1000) + 1 : 100;
		}
		n = epoll_wait(x->ep, ev, 256, ms);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			die("epoll_wait: %s", strerror(errno));
		}
		t = now_s();
		for (int i = 0; i < n; i++)
			conn_event(x, ev[i].data.ptr, ev[i].events, t);
	}
}

static bool
all_ready(struct ctx *x)
{
	for (int i = 0; i < x->nopen; i++)
		if (!x->conns[i].closed && !x->conns[i].ready)
			return false;
	return true;
}

static bool
feed_done(struct ctx *x)
{
	if (x->next_art < x->narts)
		for (int i = 0; i < x->nconn; i++)
			if (!x->conns[i].closed)
				return false;
	for (int i = 0; i < x->nconn; i++)
		if (!x->conns[i].closed && x->conns[i].q_len > 0)
			return false;
	return true;
}

static bool
over_done(struct ctx *x)
{
	return x->over_done || x->conns[0].closed;
}

static bool
never(struct ctx *x)
{
	(void)x;
	return false;
}

static int
live_conns(struct ctx *x)
{
	int n = 0;

	for (int i = 0; i < x->nopen; i++)
		n += !x->conns[i].closed;
	return n;
}

static void
open_all(struct ctx *x)
{
	x->conns = xrealloc(NULL, x->nconn * sizeof(*x->conns));
	for (int i = 0; i < x->nconn; i++)
		conn_open(x, &x->conns[i]);
	x->nopen = x->nconn;
	loop_run(x, all_ready, now_s() + 60);
	if (!all_ready(x) || live_conns(x) < x->nconn)
		die("%d of %d connections failed to set up: %s",
		    x->nconn - live_conns(x), x->nconn, x->last_err);
}

static void
quit_all(struct ctx *x)
{
	for (int i = 0; i < x->nconn; i++) {
		struct conn *c = &x->conns[i];

		if (c->closed)
			continue;
		out_printf(c, "QUIT\r\n");
		c->ready = false;
		conn_flush(x, c);
		conn_close(x, c);
	}
}

/* --- modes ------------------------------------------------------------- */

static int
run_feed(struct ctx *x)
{
	double t0, t1, c0, c1, u0, u1;
	size_t bytes = 0;

	if (x->narts == 0)
		die("no articles to feed");
	for (size_t i = 0; i < x->narts; i++)
		bytes += x->arts[i].wire_len;
	if (x->mode == M_IHAVE || x->mode == M_POST)
		x->depth = 1;
	open_all(x);
	x->go = true;
	c0 = x->pid > 0 ? cpu_tree(x->pid) : 0;
	u0 = cpu_self();
	t0 = now_s();
	for (int i = 0; i < x->nconn; i++) {
		conn_pump(x, &x->conns[i], t0);
		conn_flush(x, &x->conns[i]);
	}
	loop_run(x, feed_done, 0);
	t1 = now_s();
	c1 = x->pid > 0 ? cpu_tree(x->pid) : 0;
	u1 = cpu_self();
	if (live_conns(x) < x->nconn)
		fprintf(stderr, "nntpload: %d connection(s) lost: %s\n",
		    x->nconn - live_conns(x), x->last_err);
	else if (x->rejected || x->errors)
		fprintf(stderr, "nntpload: last problem: %s\n", x->last_err);
	quit_all(x);
	printf("%s articles=%zu offered=%zu accepted=%" PRIu64
	       " rejected=%" PRIu64 " refused=%" PRIu64 " deferred=%" PRIu64
	       " errors=%" PRIu64 " seconds=%.3f rate=%.1f accepted_rate=%.1f"
	       " mbytes=%.1f conns=%d window=%d server_cpu_s=%.3f"
	       " client_cpu_s=%.2f\n",
	    x->mode == M_TAKETHIS ? "takethis"
	    : x->mode == M_IHAVE  ? "ihave"
				  : "post",
	    x->narts,
	    x->next_art, x->accepted, x->rejected, x->refused, x->deferred,
	    x->errors, t1 - t0, x->next_art / (t1 - t0),
	    x->accepted / (t1 - t0), bytes / 1048576.0, x->nconn, x->depth,
	    c1 - c0, u1 - u0);
	return x->accepted + x->refused == x->narts && live_conns(x) == 0 &&
		   x->errors == 0
	    ? 0
	    : 1;
}

static int
run_over(struct ctx *x)
{
	double *rates = xrealloc(NULL, x->runs * sizeof(double));
	double *cpus = xrealloc(NULL, x->runs * sizeof(double));
	struct conn *c;
	uint64_t lines = 0;

	x->nconn = 1;
	open_all(x);
	c = &x->conns[0];
	for (int r = 0; r < x->runs; r++) {
		uint64_t lo = x->range_lo ? x->range_lo : c->lo;
		uint64_t hi = x->range_hi ? x->range_hi : c->hi;
		double c0 = x->pid > 0 ? cpu_tree(x->pid) : 0;
		double t0 = now_s(), t1;

		x->over_done = false;
		x->over_lines = 0;
		out_printf(c, "%s %" PRIu64 "-%" PRIu64 "\r\n",
		    x->xover ? "XOVER" : "OVER", lo, hi);
		q_push(c, K_OVER, 0, t0);
		conn_flush(x, c);
		loop_run(x, over_done, 0);
		t1 = now_s();
		if (c->closed || x->errors)
			die("OVER failed: %s", x->last_err);
		lines = x->over_lines;
		rates[r] = lines / (t1 - t0);
		cpus[r] = x->pid > 0 ? cpu_tree(x->pid) - c0 : 0;
		fprintf(stderr, "nntpload: over run %d: %" PRIu64
				" lines in %.3f s, %.0f lines/s\n",
		    r + 1, lines, t1 - t0, rates[r]);
	}
	quit_all(x);
	/* CPU time: the mean over the runs (one OVER can take less than
	 * the 10 ms tick of the accounting). */
	{
		double sum = 0;

		for (int r = 0; r < x->runs; r++)
			sum += cpus[r];
		printf("over lines=%" PRIu64 " runs=%d rate=%.0f mbytes_in=%.1f"
		       " server_cpu_s=%.4f\n",
		    lines, x->runs, median(rates, x->runs),
		    x->bytes_in / 1048576.0, sum / x->runs);
	}
	free(rates);
	free(cpus);
	return 0;
}

static double
lat_pct(struct ctx *x, double pct)
{
	uint64_t total = 0, acc = 0;

	for (size_t i = 0; i <= LAT_BUCKETS; i++)
		total += x->lat[i];
	for (size_t i = 0; i <= LAT_BUCKETS; i++) {
		acc += x->lat[i];
		if (acc * 100.0 >= total * pct)
			return (i + 0.5) * 0.01; /* ms */
	}
	return 0;
}

static int
run_article(struct ctx *x)
{
	double t0, t1, c0, c1, u0, u1;
	uint64_t b0;

	x->lat = xrealloc(NULL, (LAT_BUCKETS + 1) * sizeof(*x->lat));
	memset(x->lat, 0, (LAT_BUCKETS + 1) * sizeof(*x->lat));
	open_all(x);
	x->go = true;
	b0 = x->bytes_in;
	c0 = x->pid > 0 ? cpu_tree(x->pid) : 0;
	u0 = cpu_self();
	t0 = now_s();
	for (int i = 0; i < x->nconn; i++) {
		conn_pump(x, &x->conns[i], t0);
		conn_flush(x, &x->conns[i]);
	}
	loop_run(x, never, t0 + x->seconds);
	t1 = now_s();
	c1 = x->pid > 0 ? cpu_tree(x->pid) : 0;
	u1 = cpu_self();
	x->go = false;
	if (live_conns(x) < x->nconn)
		fprintf(stderr, "nntpload: %d connection(s) lost: %s\n",
		    x->nconn - live_conns(x), x->last_err);
	if (x->errors)
		fprintf(stderr, "nntpload: last error: %s\n", x->last_err);
	for (int i = 0; i < x->nconn; i++)
		conn_close(x, &x->conns[i]);
	printf("article conns=%d depth=%d ops=%" PRIu64 " errors=%" PRIu64
	       " seconds=%.3f rate=%.0f mbytes_s=%.1f p50_ms=%.2f"
	       " p99_ms=%.2f server_cpu_s=%.3f client_cpu_s=%.2f\n",
	    x->nconn, x->depth, x->ops, x->errors, t1 - t0,
	    x->ops / (t1 - t0), (x->bytes_in - b0) / 1048576.0 / (t1 - t0),
	    lat_pct(x, 50), lat_pct(x, 99), c1 - c0, u1 - u0);
	return x->errors || live_conns(x) ? 1 : 0;
}

/* Blocking helpers for the probe client. */
static int
probe_line(int fd, char *buf, size_t cap, int timeout_ms)
{
	size_t len = 0;

	while (len + 1 < cap) {
		struct pollfd pf = {.fd = fd, .events = POLLIN};
		ssize_t n;

		if (poll(&pf, 1, timeout_ms) != 1)
			return -1;
		if ((n = read(fd, buf + len, 1)) != 1)
			return -1;
		if (buf[len++] == '\n')
			break;
	}
	buf[len] = '\0';
	return atoi(buf);
}

static int
probe_cmd(int fd, const char *cmd, char *buf, size_t cap)
{
	size_t n = strlen(cmd);

	if (write(fd, cmd, n) != (ssize_t)n)
		return -1;
	return probe_line(fd, buf, cap, 10000);
}

/* One full short session; its duration in ms, or -1. */
static double
probe_session(struct ctx *x, char *greet, size_t cap)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	char line[1024] = "", cmd[300];
	double t0 = now_s();
	int fd, code;

	sa.sin_port = htons(x->port);
	inet_pton(AF_INET, x->host, &sa.sin_addr);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1)
		goto fail;
	code = probe_line(fd, line, sizeof(line), 10000);
	if (greet)
		snprintf(greet, cap, "%s", line);
	if (code != 200 && code != 201)
		goto fail;
	if (x->mode == M_PROBE) {
		close(fd);
		return (now_s() - t0) * 1000;
	}
	code = probe_cmd(fd, "MODE READER\r\n", line, sizeof(line));
	if (code != 200 && code != 201)
		goto fail;
	if (x->group) {
		snprintf(cmd, sizeof(cmd), "GROUP %s\r\n", x->group);
		if (probe_cmd(fd, cmd, line, sizeof(line)) != 211)
			goto fail;
	}
	if (probe_cmd(fd, "DATE\r\n", line, sizeof(line)) != 111)
		goto fail;
	probe_cmd(fd, "QUIT\r\n", line, sizeof(line));
	close(fd);
	return (now_s() - t0) * 1000;
fail:
	line[strcspn(line, "\r\n")] = '\0';
	snprintf(x->last_err, sizeof(x->last_err), "probe: %.200s",
	    line[0] ? line : "no reply");
	close(fd);
	return -1;
}

static int
run_probe(struct ctx *x)
{
	double end = now_s() + x->seconds;
	char greet[1024] = "";

	for (;;) {
		double ms = probe_session(x, greet, sizeof(greet));

		if (ms >= 0) {
			greet[strcspn(greet, "\r\n")] = '\0';
			printf("probe ms=%.2f greeting=%s\n", ms, greet);
			return 0;
		}
		if (now_s() > end)
			die("no server on %s:%d", x->host, x->port);
		usleep(100000);
	}
}

static int
run_idle(struct ctx *x)
{
	struct mem m0 = {0}, m1 = {0};
	double *ms = xrealloc(NULL, (x->probes + 1) * sizeof(double));
	int batch = 256, opened = 0, failed_probes = 0, held;
	double t0, t_open;

	if (x->pid > 0)
		m0 = mem_tree(x->pid);
	x->conns = xrealloc(NULL, x->nconn * sizeof(*x->conns));
	t0 = now_s();
	/* In batches, so that no listen queue overflows. */
	while (opened < x->nconn) {
		int n = x->nconn - opened < batch ? x->nconn - opened : batch;

		for (int i = 0; i < n; i++)
			conn_open(x, &x->conns[opened + i]);
		opened += n;
		x->nopen = opened;
		loop_run(x, all_ready, now_s() + 30);
		if (!all_ready(x)) {
			int r = 0;

			for (int i = 0; i < opened; i++)
				r += x->conns[i].ready;
			die("connections %d..%d: only %d of %d set up within "
			    "30 s", opened - n, opened, r, opened);
		}
	}
	t_open = now_s() - t0;
	held = live_conns(x);
	if (held < x->nconn)
		fprintf(stderr, "nntpload: %d of %d connections refused: %s\n",
		    x->nconn - held, x->nconn, x->last_err);
	/* Let the server settle (lazy allocations, forked children). */
	loop_run(x, never, now_s() + 1.0);
	if (x->pid > 0)
		m1 = mem_tree(x->pid);
	/* Is the server still prompt for a normal reader? */
	for (int i = 0; i < x->probes; i++) {
		if ((ms[i] = probe_session(x, NULL, 0)) < 0) {
			failed_probes++;
			ms[i] = 1e9;
		}
		loop_run(x, never, now_s() + 0.01);
	}
	if (x->seconds > 0)
		loop_run(x, never, t0 + x->seconds);
	{
		int still = live_conns(x);
		double p50 = median(ms, x->probes);
		double worst = ms[x->probes - 1];
		int64_t d_rss = (int64_t)m1.rss_kb - (int64_t)m0.rss_kb;
		int64_t d_pss = (int64_t)m1.pss_kb - (int64_t)m0.pss_kb;

		if (failed_probes)
			fprintf(stderr, "nntpload: %d probe(s) failed: %s\n",
			    failed_probes, x->last_err);
		for (int i = 0; i < x->nconn; i++)
			conn_close(x, &x->conns[i]);
		printf("idle conns=%d held=%d still_open=%d open_s=%.2f"
		       " rss0_kb=%" PRIu64 " rss1_kb=%" PRIu64
		       " pss0_kb=%" PRIu64 " pss1_kb=%" PRIu64 " procs=%d"
		       " rss_per_conn_kb=%.1f pss_per_conn_kb=%.1f"
		       " probe_p50_ms=%.2f probe_max_ms=%.2f"
		       " probes_failed=%d\n",
		    x->nconn, held, still, t_open, m0.rss_kb, m1.rss_kb,
		    m0.pss_kb, m1.pss_kb, m1.nproc,
		    held ? (double)d_rss / held : 0,
		    held ? (double)d_pss / held : 0, p50,
		    worst >= 1e9 ? -1 : worst, failed_probes);
		free(ms);
		return held == x->nconn && still == held && !failed_probes
		    ? 0
		    : 1;
	}
}

static void
usage(void)
{
	fputs("usage: nntpload takethis|ihave|post|over|article|idle|probe "
	      "-p PORT [options] [SOURCE...]\n"
	      "  -h ADDR  server address (127.0.0.1)   -p PORT  server port\n"
	      "  -c N     connections                 -d N     in flight per "
	      "connection\n"
	      "  -g GROUP group                       -t SEC   duration / "
	      "hold / wait\n"
	      "  -R N     runs (over)                 -r LO-HI article range\n"
	      "  -C       CHECK before TAKETHIS       -x       XOVER, not OVER\n"
	      "  -X       drop Xref                   -G GROUP rewrite "
	      "Newsgroups\n"
	      "  -n N     feed at most N articles     -P PID   server pid "
	      "(idle: memory)\n"
	      "  -k N     probe clients (idle)        -s SEED  random seed\n"
	      "  -N       no TCP_QUICKACK (a plain client's delayed ACKs)\n",
	    stderr);
	exit(2);
}

int
main(int argc, char **argv)
{
	struct ctx x = {
		.host = "127.0.0.1",
		.nconn = 1,
		.depth = 0,
		.runs = 1,
		.seconds = 5,
		.probes = 20,
		.seed = 0x2545f4914f6cdd1dULL,
		.quickack = true,
	};
	struct rlimit rl;
	int opt;

	if (argc < 2)
		usage();
	if (!strcmp(argv[1], "takethis"))
		x.mode = M_TAKETHIS;
	else if (!strcmp(argv[1], "ihave"))
		x.mode = M_IHAVE;
	else if (!strcmp(argv[1], "post"))
		x.mode = M_POST;
	else if (!strcmp(argv[1], "over"))
		x.mode = M_OVER;
	else if (!strcmp(argv[1], "article"))
		x.mode = M_ARTICLE;
	else if (!strcmp(argv[1], "idle"))
		x.mode = M_IDLE;
	else if (!strcmp(argv[1], "probe"))
		x.mode = M_PROBE;
	else
		usage();
	argv++;
	argc--;
	while ((opt = getopt(argc, argv, "h:p:c:d:g:t:R:r:CxXG:n:P:k:s:N")) !=
	    -1) {
		switch (opt) {
		case 'h': x.host = optarg; break;
		case 'p': x.port = atoi(optarg); break;
		case 'c': x.nconn = atoi(optarg); break;
		case 'd': x.depth = atoi(optarg); break;
		case 'g': x.group = optarg; break;
		case 't': x.seconds = atof(optarg); break;
		case 'R': x.runs = atoi(optarg); break;
		case 'r':
			if (sscanf(optarg, "%" SCNu64 "-%" SCNu64, &x.range_lo,
				&x.range_hi) != 2)
				usage();
			break;
		case 'C': x.check = true; break;
		case 'x': x.xover = true; break;
		case 'N': x.quickack = false; break;
		case 'X': x.strip_xref = true; break;
		case 'G': x.rewrite_ng = optarg; break;
		case 'n': x.max_arts = atol(optarg); break;
		case 'P': x.pid = atol(optarg); break;
		case 'k': x.probes = atoi(optarg); break;
		case 's': x.seed = strtoull(optarg, NULL, 0) | 1; break;
		default: usage();
		}
	}
	if (x.port <= 0 || x.nconn <= 0 || x.runs <= 0 || x.probes <= 0)
		usage();
	if (x.depth <= 0)
		x.depth = x.mode == M_TAKETHIS ? 64 : 8;
	if ((x.mode == M_OVER || x.mode == M_ARTICLE) && !x.group)
		die("-g GROUP is needed");
	/* Room for many connections (idle mode holds thousands). */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if ((x.ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		die("epoll_create1: %s", strerror(errno));
	switch (x.mode) {
	case M_TAKETHIS:
	case M_IHAVE:
	case M_POST: {
		double t0 = now_s();

		if (optind >= argc)
			die("no article source given");
		for (int i = optind; i < argc; i++)
			load_source(&x, argv[i]);
		fprintf(stderr, "nntpload: %zu articles loaded in %.2f s\n",
		    x.narts, now_s() - t0);
		return run_feed(&x);
	}
	case M_OVER: return run_over(&x);
	case M_ARTICLE: return run_article(&x);
	case M_IDLE: return run_idle(&x);
	case M_PROBE: return run_probe(&x);
	}
	return 2;
}
