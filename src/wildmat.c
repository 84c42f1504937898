/*
 * wildmat.c - RFC 3977 §4 wildmat matching over UTF-8 (see wildmat.h).
 *
 * Owns no state. Never recurses: "*" is handled by the classic
 * single-backtrack-point loop (the last "*" seen is the only place to
 * retry from), which is correct for patterns without classes of variable
 * width and bounds the work by len(pattern) * len(text).
 */
#include "common.h"
#include "wildmat.h"

/* Code points of invalid octets live above the Unicode range, so they only
 * ever equal themselves. */
#define WM_RAW 0x80000000u

/*
 * Decode one character at p (p < end) into *cp; returns its length in
 * octets (>= 1). An invalid or truncated sequence is one raw octet.
 */
static size_t
utf8_decode(const char *p, const char *end, uint32_t *cp)
{
	const unsigned char *u = (const unsigned char *)p;
	size_t avail = (size_t)(end - p), n, i;
	uint32_t c, min;

	if (u[0] < 0x80) {
		*cp = u[0];
		return 1;
	}
	if ((u[0] & 0xe0) == 0xc0) {
		n = 2, c = u[0] & 0x1f, min = 0x80;
	} else if ((u[0] & 0xf0) == 0xe0) {
		n = 3, c = u[0] & 0x0f, min = 0x800;
	} else if ((u[0] & 0xf8) == 0xf0) {
		n = 4, c = u[0] & 0x07, min = 0x10000;
	} else {
		goto raw;
	}
	if (avail < n)
		goto raw;
	for (i = 1; i < n; i++) {
		if ((u[i] & 0xc0) != 0x80)
			goto raw;
		c = (c << 6) | (u[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		goto raw;
	*cp = c;
	return n;
raw:
	*cp = WM_RAW | u[0];
	return 1;
}

static uint32_t
fold(uint32_t c, int flags)
{
	if ((flags & WILDMAT_NOCASE) && c >= 'A' && c <= 'Z')
		return c + ('a' - 'A');
	return c;
}

/*
 * Match the class starting just after "[" at *pp against c. On success
 * *pp points after the closing "]". Returns -1 when the class is not
 * closed (the caller then takes "[" literally), else 1 / 0.
 */
static int
match_class(const char **pp, const char *pe, uint32_t c, int flags)
{
	const char *p = *pp;
	bool neg = false, hit = false, first = true;
	uint32_t lo, hi;

	if (p < pe && *p == '^') {
		neg = true;
		p++;
	}
	c = fold(c, flags);
	for (;;) {
		if (p >= pe)
			return -1;
		if (*p == ']' && !first)
			break;
		first = false;
		if (*p == '\\' && p + 1 < pe)
			p++;
		p += utf8_decode(p, pe, &lo);
		hi = lo;
		if (p + 1 < pe && *p == '-' && p[1] != ']') {
			p++;
			if (*p == '\\' && p + 1 < pe)
				p++;
			p += utf8_decode(p, pe, &hi);
		}
		lo = fold(lo, flags);
		hi = fold(hi, flags);
		if (c >= lo && c <= hi)
			hit = true;
	}
	*pp = p + 1;
	return hit != neg;
}

/*
 * Match one pattern item (not "*") at *pp against the character at *tp.
 * Advances both on success; leaves them alone on failure.
 */
static bool
match_item(
    const char **pp, const char *pe, const char **tp, const char *te, int flags)
{
	const char *p = *pp, *t = *tp;
	uint32_t pc, tc;
	int r;

	t += utf8_decode(t, te, &tc);
	if (*p == '?') {
		p++;
	} else if (*p == '[') {
		const char *q = p + 1;

		if ((r = match_class(&q, pe, tc, flags)) == -1) {
			if (tc != '[')
				return false;
			p++;
		} else if (r == 0) {
			return false;
		} else {
			p = q;
		}
	} else {
		if (*p == '\\' && p + 1 < pe)
			p++;
		p += utf8_decode(p, pe, &pc);
		if (fold(pc, flags) != fold(tc, flags))
			return false;
	}
	*pp = p;
	*tp = t;
	return true;
}

bool
wildmat_match_pattern(
    const char *pat, size_t len, const char *text, size_t tlen, int flags)
{
	const char *p = pat, *pe = pat + len, *t = text, *te = text + tlen;
	const char *star_p = NULL, *star_t = NULL;
	uint32_t cp;

	while (t < te) {
		if (p < pe && *p == '*') {
			while (p < pe && *p == '*')
				p++;
			if (p == pe)
				return true;
			star_p = p;
			star_t = t;
			continue;
		}
		if (p < pe && match_item(&p, pe, &t, te, flags))
			continue;
		if (star_p == NULL)
			return false;
		/* Let the last "*" swallow one more character, retry. */
		star_t += utf8_decode(star_t, te, &cp);
		t = star_t;
		p = star_p;
	}
	while (p < pe && *p == '*')
		p++;
	return p == pe;
}

/* End of the pattern starting at p: the next unescaped ",", or the NUL. */
static const char *
pattern_end(const char *p)
{
	for (; *p != '\0' && *p != ','; p++)
		if (*p == '\\' && p[1] != '\0')
			p++;
	return p;
}

bool
wildmat_match_flags(const char *wildmat, const char *text, int flags)
{
	const char *p = wildmat, *e;
	size_t tlen = strlen(text);
	bool result = false, neg;

	for (;;) {
		e = pattern_end(p);
		neg = *p == '!';
		if (wildmat_match_pattern(
			p + neg, (size_t)(e - p - neg), text, tlen, flags))
			result = !neg; /* later patterns override */
		if (*e == '\0')
			return result;
		p = e + 1;
	}
}

bool
wildmat_match(const char *wildmat, const char *text)
{
	return wildmat_match_flags(wildmat, text, 0);
}

/* Is one pattern [p, e) well formed? */
static bool
pattern_valid(const char *p, const char *e)
{
	uint32_t cp;

	if (p < e && *p == '!')
		p++;
	if (p == e)
		return false;
	while (p < e) {
		unsigned char c = (unsigned char)*p;

		if (c <= ' ' || c == 0x7f || c == '!')
			return false;
		if (c == '\\') {
			if (++p == e)
				return false;
		} else if (c == '[') {
			const char *q = p + 1;

			if (match_class(&q, e, 0, 0) == -1)
				return false;
			p = q;
			continue;
		}
		p += utf8_decode(p, e, &cp);
		if (cp & WM_RAW)
			return false;
	}
	return true;
}

bool
wildmat_valid(const char *wildmat)
{
	const char *p = wildmat, *e;

	for (;;) {
		e = pattern_end(p);
		if (!pattern_valid(p, e))
			return false;
		if (*e == '\0')
			return true;
		p = e + 1;
	}
}

bool
wildmat_is_literal(const char *wildmat)
{
	return *wildmat != '\0' && *wildmat != '!' &&
	    strpbrk(wildmat, "*?[\\,") == NULL;
}
