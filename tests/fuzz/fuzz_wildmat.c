/*
 * fuzz_wildmat.c - libFuzzer target for wildmat.c: the input is a wildmat,
 * a LF, then the text to match (the text may hold more LFs). Pattern and
 * text are passed as exact-size copies, so ASan sees any read past them.
 *
 * Whatever the input: no crash; the case-insensitive answer of a literal
 * is its ASCII-case-insensitive equality, the plain answer plain equality;
 * and for wildmats built of literals, "*", "?", "," and "!" only, over
 * valid UTF-8, wildmat_match_flags and wildmat_valid agree with a plain
 * dynamic-programming reference over code points (RFC 3977 section 4:
 * the rightmost matching pattern decides).
 *
 * clang -fsanitize=fuzzer builds it for libFuzzer (make fuzz); with gcc,
 * replay.c runs the saved corpus (tests/fuzz/corpus/wildmat/) in
 * `make check`.
 */
#include <strings.h>

#include "common.h"
#include "wildmat.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_CP_MAX 2048 /* code points per side in the reference */

/* Strict UTF-8 (no overlong form, surrogate or value past U+10FFFF, no
 * NUL) into code points; -1 when s is not that or too long. */
static ssize_t
fz_decode(const char *s, size_t len, uint32_t *out, size_t cap)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, n = 0, k, j;
	uint32_t c, min;

	while (i < len) {
		if (n == cap || u[i] == 0)
			return -1;
		if (u[i] < 0x80) {
			out[n++] = u[i++];
			continue;
		}
		if ((u[i] & 0xe0) == 0xc0)
			k = 2, c = u[i] & 0x1f, min = 0x80;
		else if ((u[i] & 0xf0) == 0xe0)
			k = 3, c = u[i] & 0x0f, min = 0x800;
		else if ((u[i] & 0xf8) == 0xf0)
			k = 4, c = u[i] & 0x07, min = 0x10000;
		else
			return -1;
		if (len - i < k)
			return -1;
		for (j = 1; j < k; j++) {
			if ((u[i + j] & 0xc0) != 0x80)
				return -1;
			c = (c << 6) | (u[i + j] & 0x3f);
		}
		if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
			return -1;
		out[n++] = c;
		i += k;
	}
	return (ssize_t)n;
}

static uint32_t
fz_fold(uint32_t c, bool nocase)
{
	return nocase && c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* One pattern (code points, '*' and '?' special) against the text. */
static bool
fz_ref_pattern(const uint32_t *p, size_t m, const uint32_t *t, size_t n,
    bool nocase)
{
	bool *row = xcalloc(n + 1, sizeof(*row)), *next;
	size_t i, j;
	bool r;

	next = xcalloc(n + 1, sizeof(*next));
	row[0] = true; /* the empty pattern matches the empty text */
	for (i = 0; i < m; i++) {
		next[0] = row[0] && p[i] == '*';
		for (j = 1; j <= n; j++) {
			if (p[i] == '*')
				next[j] = row[j] || next[j - 1];
			else if (p[i] == '?')
				next[j] = row[j - 1];
			else
				next[j] = row[j - 1] &&
				    fz_fold(p[i], nocase) ==
					fz_fold(t[j - 1], nocase);
		}
		memcpy(row, next, (n + 1) * sizeof(*row));
	}
	r = row[n];
	free(row);
	free(next);
	return r;
}

/* The whole list: the rightmost matching pattern decides. */
static bool
fz_ref_match(const uint32_t *w, size_t m, const uint32_t *t, size_t n,
    bool nocase)
{
	size_t s = 0, e;
	bool result = false, neg;

	for (;;) {
		for (e = s; e < m && w[e] != ','; e++)
			;
		neg = s < e && w[s] == '!';
		if (fz_ref_pattern(w + s + neg, e - s - neg, t, n, nocase))
			result = !neg;
		if (e == m)
			return result;
		s = e + 1;
	}
}

/* wildmat_valid for the same restricted alphabet. */
static bool
fz_ref_valid(const uint32_t *w, size_t m)
{
	size_t s = 0, e, i;

	for (;;) {
		for (e = s; e < m && w[e] != ','; e++)
			;
		i = s < e && w[s] == '!' ? s + 1 : s;
		if (i == e)
			return false;
		for (; i < e; i++)
			if (w[i] <= ' ' || w[i] == 0x7f || w[i] == '!')
				return false;
		if (e == m)
			return true;
		s = e + 1;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *nl = memchr(data, '\n', size);
	size_t plen = nl ? (size_t)(nl - (const char *)data) : size;
	size_t tlen = nl ? size - plen - 1 : 0;
	char *pat = xmalloc(plen + 1), *text = xmalloc(tlen + 1);
	char *praw = xmalloc(plen ? plen : 1), *traw = xmalloc(tlen ? tlen : 1);
	uint32_t *wc = xcalloc(FZ_CP_MAX, sizeof(*wc));
	uint32_t *tc = xcalloc(FZ_CP_MAX, sizeof(*tc));
	ssize_t m, n;
	bool r[2], lit;
	int f;

	memcpy(pat, data, plen);
	pat[plen] = '\0';
	memcpy(text, nl ? nl + 1 : "", tlen);
	text[tlen] = '\0';
	memcpy(praw, data, plen);
	memcpy(traw, nl ? nl + 1 : "", tlen);

	/* One pattern, by length (NULs and all). */
	for (f = 0; f <= WILDMAT_NOCASE; f++)
		(void)wildmat_match_pattern(praw, plen, traw, tlen, f);
	/* The list, as C strings (up to a NUL). */
	r[0] = wildmat_match(pat, text);
	r[1] = wildmat_match_flags(pat, text, WILDMAT_NOCASE);
	if (wildmat_match_flags(pat, text, 0) != r[0])
		abort();
	(void)wildmat_valid(pat);
	lit = wildmat_is_literal(pat);
	if (lit && (r[0] != (strcmp(pat, text) == 0) ||
	    r[1] != (strcasecmp(pat, text) == 0)))
		abort();
	/* "*" at the right end matches everything; "!*" nothing (unless a
	 * "\" at the end of pat escapes the ","). */
	if (strchr(pat, '\\') == NULL && strlen(pat) + 3 < 4096) {
		char w[4096];

		if (!str_printf(w, sizeof(w), "%s,*", pat) ||
		    !wildmat_match(w, text) ||
		    !str_printf(w, sizeof(w), "%s,!*", pat) ||
		    wildmat_match(w, text))
			abort();
	}
	/* The reference, for wildmats without classes or escapes. */
	if (strpbrk(pat, "[\\") == NULL &&
	    (m = fz_decode(pat, strlen(pat), wc, FZ_CP_MAX)) != -1 &&
	    (n = fz_decode(text, strlen(text), tc, FZ_CP_MAX)) != -1) {
		for (f = 0; f <= 1; f++)
			if (fz_ref_match(wc, (size_t)m, tc, (size_t)n, f) !=
			    r[f]) {
				fprintf(stderr, "wildmat '%s' text '%s' nocase "
				    "%d: got %d\n", pat, text, f, r[f]);
				abort();
			}
		if (fz_ref_valid(wc, (size_t)m) != wildmat_valid(pat))
			abort();
	}
	free(pat);
	free(text);
	free(praw);
	free(traw);
	free(wc);
	free(tc);
	return 0;
}
