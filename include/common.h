/*
 * common.h - what every module of newsgate uses: allocation that cannot
 * fail, logging, bounded string copies, number parsing, and the poisoned
 * identifiers that must never be used.
 *
 * Include this first in every .c file (after any system header a module
 * needs that is not already pulled in here).
 */
#ifndef NG_COMMON_H
#define NG_COMMON_H

#include <sys/types.h>

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NG_NODISCARD __attribute__((warn_unused_result))
#define NG_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define NG_NORETURN __attribute__((noreturn))
#define NG_UNUSED __attribute__((unused))

#define NG_NELEM(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Defensive checks that must also hold in release builds: they log the
 * broken condition once and evaluate to its truth value, so the caller can
 * refuse the request instead of crashing the server.
 */
void ng_check_failed(const char *cond, const char *file, int line);
#define NG_ALWAYS(c) \
	((c) ? true : (ng_check_failed(#c, __FILE__, __LINE__), false))
#define NG_NEVER(c) \
	((c) ? (ng_check_failed("!(" #c ")", __FILE__, __LINE__), true) : false)

/* Out of memory is fatal: these never return NULL. */
void *xmalloc(size_t len);
void *xcalloc(size_t n, size_t len);
void *xrealloc(void *p, size_t len);
void *xreallocarray(void *p, size_t n, size_t len);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t len);

/*
 * Logging: one line per event, to stderr (with a time stamp) or syslog.
 * log_warn appends strerror(errno); log_warnx does not.
 */
void log_init(const char *prog, bool use_syslog, int verbosity);
void log_warn(const char *fmt, ...) NG_PRINTF(1, 2);
void log_warnx(const char *fmt, ...) NG_PRINTF(1, 2);
void log_info(const char *fmt, ...) NG_PRINTF(1, 2);
void log_debug(const char *fmt, ...) NG_PRINTF(1, 2);
/* Start-up failures: log and exit(1). fatal appends strerror(errno). */
void fatal(const char *fmt, ...) NG_PRINTF(1, 2) NG_NORETURN;
void fatalx(const char *fmt, ...) NG_PRINTF(1, 2) NG_NORETURN;

/*
 * A slice of someone else's memory. It stays valid as long as the memory it
 * points into; every function taking one says how long that is.
 */
struct str {
	const char *p;
	size_t len;
};
#define STR_LIT(s) ((struct str){(s), sizeof(s) - 1})

/* Bounded copies into fixed buffers: false on truncation (dst still
 * NUL-terminated). Not NG_NODISCARD: gcc cannot silence that with a cast,
 * and a copy known to fit need not be checked. */
bool str_copy(char *dst, size_t cap, const char *src);
bool str_printf(char *dst, size_t cap, const char *fmt, ...)
    NG_PRINTF(3, 4);
bool str_eq_nocase(struct str a, const char *b);

/*
 * Parse exactly len bytes of decimal digits into *out. Returns 0, or -1 on
 * an empty string, a non-digit or overflow. Never reads past len.
 */
int parse_u64(const char *s, size_t len, uint64_t *out) NG_NODISCARD;

/* write(2) until done; -1 with errno on failure. */
int write_all(int fd, const void *p, size_t len) NG_NODISCARD;

/* 64-bit FNV-1a: stable across runs and machines (used in on-disk ids). */
uint64_t hash64(const void *p, size_t len, uint64_t seed);

/* Monotonic milliseconds, for timeouts and rates. */
uint64_t now_ms(void);

/* Identifiers that must never be used (see STYLE.md). */
#ifndef NG_NO_POISON
#pragma GCC poison strcpy strcat sprintf vsprintf gets strtok atoi
#endif

#endif
