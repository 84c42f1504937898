/*
 * common.c - allocation, logging, bounded strings and small helpers shared
 * by every module. Owns no state but the logging settings, which main.c
 * sets once at start-up through log_init().
 */
#include <sys/types.h>

#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

/* Set once by log_init() before any other thread or session exists. */
static struct {
	const char *prog;
	bool syslog;
	int verbosity;
} logcfg = {"newsgate", false, 0};

void
ng_check_failed(const char *cond, const char *file, int line)
{
	log_warnx("internal check failed: %s at %s:%d", cond, file, line);
}

void *
xmalloc(size_t len)
{
	void *p;

	if ((p = malloc(len ? len : 1)) == NULL)
		fatal("malloc %zu", len);
	return p;
}

void *
xcalloc(size_t n, size_t len)
{
	void *p;

	if ((p = calloc(n ? n : 1, len ? len : 1)) == NULL)
		fatal("calloc %zu*%zu", n, len);
	return p;
}

void *
xrealloc(void *p, size_t len)
{
	if ((p = realloc(p, len ? len : 1)) == NULL)
		fatal("realloc %zu", len);
	return p;
}

void *
xreallocarray(void *p, size_t n, size_t len)
{
	if (len && n > SIZE_MAX / len) {
		errno = ENOMEM;
		fatal("reallocarray %zu*%zu", n, len);
	}
	return xrealloc(p, n * len);
}

char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *
xstrndup(const char *s, size_t len)
{
	char *p = xmalloc(len + 1);

	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

void
log_init(const char *prog, bool use_syslog, int verbosity)
{
	logcfg.prog = prog;
	logcfg.syslog = use_syslog;
	logcfg.verbosity = verbosity;
	if (use_syslog)
		openlog(prog, LOG_PID | LOG_NDELAY, LOG_NEWS);
}

static void
log_emit(int pri, const char *fmt, va_list ap, int errnum)
{
	char msg[1024], stamp[32];
	struct tm tm;
	time_t t;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (errnum) {
		size_t n = strlen(msg);

		snprintf(msg + n, sizeof(msg) - n, ": %s", strerror(errnum));
	}
	if (logcfg.syslog) {
		syslog(pri, "%s", msg);
		return;
	}
	t = time(NULL);
	gmtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(stderr, "%s %s: %s\n", stamp, logcfg.prog, msg);
}

#define LOG_BODY(pri, errnum)                 \
	do {                                  \
		va_list ap;                   \
		va_start(ap, fmt);            \
		log_emit(pri, fmt, ap, errnum); \
		va_end(ap);                   \
	} while (0)

void
log_warn(const char *fmt, ...)
{
	int e = errno;

	LOG_BODY(LOG_WARNING, e ? e : EIO);
	errno = e;
}

void
log_warnx(const char *fmt, ...)
{
	int e = errno;

	LOG_BODY(LOG_WARNING, 0);
	errno = e;
}

void
log_info(const char *fmt, ...)
{
	int e = errno;

	if (logcfg.verbosity >= 0)
		LOG_BODY(LOG_INFO, 0);
	errno = e;
}

void
log_debug(const char *fmt, ...)
{
	int e = errno;

	if (logcfg.verbosity > 0)
		LOG_BODY(LOG_DEBUG, 0);
	errno = e;
}

void
fatal(const char *fmt, ...)
{
	int e = errno;

	LOG_BODY(LOG_CRIT, e ? e : EIO);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	LOG_BODY(LOG_CRIT, 0);
	exit(1);
}

bool
str_copy(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);

	if (cap == 0)
		return false;
	if (n >= cap) {
		memcpy(dst, src, cap - 1);
		dst[cap - 1] = '\0';
		return false;
	}
	memcpy(dst, src, n + 1);
	return true;
}

bool
str_printf(char *dst, size_t cap, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(dst, cap, fmt, ap);
	va_end(ap);
	return n >= 0 && (size_t)n < cap;
}

bool
str_eq_nocase(struct str a, const char *b)
{
	size_t n = strlen(b);

	return a.len == n && strncasecmp(a.p, b, n) == 0;
}

int
parse_u64(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (len == 0)
		return -1;
	for (i = 0; i < len; i++) {
		unsigned d = (unsigned char)s[i] - '0';

		if (d > 9 || v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int
write_all(int fd, const void *p, size_t len)
{
	const char *c = p;

	while (len > 0) {
		ssize_t n = write(fd, c, len);

		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		c += n;
		len -= (size_t)n;
	}
	return 0;
}

uint64_t
hash64(const void *p, size_t len, uint64_t seed)
{
	const unsigned char *c = p;
	uint64_t h = 0xcbf29ce484222325ULL ^ seed;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= c[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}
