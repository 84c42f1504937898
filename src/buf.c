/*
 * buf.c - growing buffers with a ceiling and a sticky error (see buf.h).
 * Never lets len pass max; never fails on memory (xrealloc is fatal).
 */
#include "common.h"
#include "buf.h"

void
buf_init(struct buf *b, size_t max)
{
	b->data = NULL;
	b->len = b->cap = 0;
	b->max = max;
	b->err = 0;
}

char *
buf_reserve(struct buf *b, size_t len)
{
	size_t need, cap;

	if (b->err)
		return NULL;
	if (len > b->max || b->len > b->max - len) {
		b->err = EMSGSIZE;
		return NULL;
	}
	need = b->len + len + 1;
	if (need > b->cap) {
		cap = b->cap ? b->cap : 64;
		while (cap < need)
			cap = cap > SIZE_MAX / 2 ? need : cap * 2;
		b->data = xrealloc(b->data, cap);
		b->cap = cap;
	}
	return b->data + b->len;
}

void
buf_append(struct buf *b, const void *p, size_t len)
{
	char *w;

	if ((w = buf_reserve(b, len)) == NULL)
		return;
	if (len)
		memcpy(w, p, len);
	b->len += len;
	b->data[b->len] = '\0';
}

void
buf_puts(struct buf *b, const char *s)
{
	buf_append(b, s, strlen(s));
}

void
buf_putc(struct buf *b, int c)
{
	char ch = (char)c;

	buf_append(b, &ch, 1);
}

void
buf_put_u64(struct buf *b, uint64_t v)
{
	buf_put_u64w(b, v, 1);
}

void
buf_put_u64w(struct buf *b, uint64_t v, size_t width)
{
	char d[24];
	size_t n = 0;

	do
		d[sizeof(d) - ++n] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	while (n < width && n < sizeof(d))
		d[sizeof(d) - ++n] = '0';
	buf_append(b, d + sizeof(d) - n, n);
}

void
buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	char *w;
	int n;

	if (b->err)
		return;
	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0) {
		b->err = EINVAL;
		return;
	}
	if ((w = buf_reserve(b, (size_t)n)) == NULL)
		return;
	vsnprintf(w, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
}

void
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(b, fmt, ap);
	va_end(ap);
}

void
buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
	} else {
		memmove(b->data, b->data + n, b->len - n);
		b->len -= n;
	}
	if (b->data)
		b->data[b->len] = '\0';
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	b->err = 0;
	if (b->data)
		b->data[0] = '\0';
}

void
buf_truncate(struct buf *b, size_t len)
{
	if (len < b->len) {
		b->len = len;
		b->data[len] = '\0';
	}
}

const char *
buf_cstr(struct buf *b)
{
	return b->data ? b->data : "";
}

char *
buf_steal(struct buf *b)
{
	char *p = b->data ? b->data : xstrdup("");

	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}

void
buf_free(struct buf *b)
{
	if (b == NULL)
		return;
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}
