/*
 * buf.h - growing byte buffers with a hard ceiling and a sticky error.
 *
 * Append freely; check b->err once at the end. Once an append would pass
 * b->max, the buffer sets err = EMSGSIZE and ignores every later append, so
 * a client can never grow memory past the ceiling it was given.
 * data is always NUL-terminated when non-NULL (one spare byte beyond len,
 * not counted in max).
 */
#ifndef NG_BUF_H
#define NG_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

struct buf {
	char *data;  /* owned; NULL until the first append */
	size_t len;  /* bytes used, excluding the trailing NUL */
	size_t cap;  /* bytes allocated, including room for the NUL */
	size_t max;  /* ceiling on len; SIZE_MAX for "no limit" */
	int err;     /* 0, or EMSGSIZE once an append hit max (sticky) */
};

#define BUF_INIT(m) {NULL, 0, 0, (m), 0}

void buf_init(struct buf *b, size_t max);
void buf_append(struct buf *b, const void *p, size_t len);
void buf_puts(struct buf *b, const char *s);
void buf_putc(struct buf *b, int c);
/* Append v in decimal (the hot paths avoid printf). */
void buf_put_u64(struct buf *b, uint64_t v);
/* The same, zero-padded to at least width digits (at most 24). */
void buf_put_u64w(struct buf *b, uint64_t v, size_t width);
void buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void buf_vprintf(struct buf *b, const char *fmt, va_list ap);
/* Make room for len more bytes without changing len; returns the write
 * position, or NULL (and sets err) past max. */
char *buf_reserve(struct buf *b, size_t len);
/* Drop the first n bytes (a consumed prefix). */
void buf_consume(struct buf *b, size_t n);
/* Empty the buffer and clear err; keeps the allocation. */
void buf_reset(struct buf *b);
/* Truncate to len (<= b->len). */
void buf_truncate(struct buf *b, size_t len);
/* Returns data as a C string ("" when empty); valid until the next append. */
const char *buf_cstr(struct buf *b);
/* Hand the allocation to the caller (NUL-terminated, never NULL). */
char *buf_steal(struct buf *b);
void buf_free(struct buf *b);

#endif
