/*
 * route.c - which groups an item goes to, by the [group] rules of the
 * configuration: wildmats over the section and source, whole words and
 * phrases in the title and text, and the catch-all groups when nothing
 * matched.
 *
 * It owns no state and never writes anything; the configuration is
 * read-only input.
 *
 * Cost: the title and text are split into words once per item (each word
 * hashed, ASCII case-folded); every keyword rule is then a scan over word
 * hashes, so routing stays linear in the text for any number of rules.
 *
 * SECURITY: the item is attacker-controlled; patterns come from the
 * administrator. The wildmat matcher backtracks only on the last '*', so
 * its cost is bounded by len(pattern) * len(field).
 */
#include "common.h"
#include "route.h"

/* --- wildmat --------------------------------------------------------- */

static unsigned char
route_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + ('a' - 'A')) : c;
}

/* Length of the UTF-8 character at p (1 for a stray byte). */
static size_t
route_charlen(const char *p)
{
	unsigned char c = (unsigned char)*p;
	size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1, i;

	for (i = 1; i < n; i++)
		if (((unsigned char)p[i] & 0xc0) != 0x80)
			return 1;
	return n;
}

/*
 * Match a bracket expression at *pp ("[...]", "[!...]" or "[^...]",
 * ranges "a-z", case-insensitive) against the byte c; advances *pp past
 * the ']'. An unterminated '[' matches itself.
 */
static bool
route_class(const char **pp, unsigned char c)
{
	const char *p = *pp + 1;
	bool neg = false, hit = false;
	unsigned char lo, hi;

	if (*p == '!' || *p == '^') {
		neg = true;
		p++;
	}
	/* The first character may be ']' itself: "[]a]". */
	if (*p == '\0' || strchr(p + 1, ']') == NULL) {
		(*pp)++;
		return c == '[';
	}
	do {
		lo = route_lower((unsigned char)*p++);
		hi = lo;
		if (*p == '-' && p[1] != ']' && p[1] != '\0') {
			hi = route_lower((unsigned char)p[1]);
			p += 2;
		}
		if (route_lower(c) >= lo && route_lower(c) <= hi)
			hit = true;
	} while (*p != ']' && *p != '\0');
	*pp = *p == ']' ? p + 1 : p;
	return hit != neg;
}

/* Case-insensitive wildmat over the whole string: '*', '?', '[...]' and
 * '\' escaping the next character. */
static bool
route_wildmat(const char *pat, const char *s)
{
	const char *star = NULL, *resume = NULL, *p = pat, *q;

	while (*s != '\0') {
		if (*p == '*') {
			while (*p == '*')
				p++;
			if (*p == '\0')
				return true;
			star = p;
			resume = s;
			continue;
		}
		q = p;
		if (*p == '?') {
			p++;
			s += route_charlen(s);
			continue;
		}
		if (*p == '[') {
			if (route_class(&q, (unsigned char)*s)) {
				p = q;
				s++;
				continue;
			}
		} else {
			if (*p == '\\' && p[1] != '\0')
				q = ++p;
			if (*p != '\0' &&
			    route_lower((unsigned char)*p) ==
				route_lower((unsigned char)*s)) {
				p = q + 1;
				s++;
				continue;
			}
		}
		if (star == NULL)
			return false;
		p = star;
		s = ++resume;
	}
	while (*p == '*')
		p++;
	return *p == '\0';
}

/* --- words and phrases ----------------------------------------------- */

struct word {
	uint64_t h; /* FNV-1a of the case-folded word */
};

struct words {
	struct word *w; /* owned */
	size_t n;
	size_t cap;
};

/*
 * Bytes that end a word: ASCII other than letters and digits, and the
 * UTF-8 punctuation news text is full of (curly quotes and apostrophes,
 * dashes, ellipsis, no-break space, guillemets), so "Pakistan’s" holds
 * the word "Pakistan". Returns the length of the separator at p, 0 for a
 * word character.
 */
static size_t
route_sep_len(const unsigned char *p)
{
	if (*p < 0x80)
		return (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			(*p >= '0' && *p <= '9')
		    ? 0
		    : 1;
	if (p[0] == 0xe2 && p[1] == 0x80 && p[2] >= 0x90 && p[2] <= 0xa6)
		return 3; /* U+2010..U+2026 */
	if (p[0] == 0xc2 && (p[1] == 0xa0 || p[1] == 0xab || p[1] == 0xbb))
		return 2;
	return 0;
}

/*
 * Byte classes for route_split: 0 separates words, else the case-folded
 * byte. Bytes from 0x80 are word bytes, but 0xc2 and 0xe2 may start UTF-8
 * punctuation (route_sep_len decides).
 */
#define ROUTE_F(c)                                                             \
	((c) >= 0x80 || ((c) >= '0' && (c) <= '9') ||                          \
		    ((c) >= 'a' && (c) <= 'z')                                 \
		? (c)                                                          \
		: ((c) >= 'A' && (c) <= 'Z') ? (c) + 32                        \
					     : 0)
#define ROUTE_F4(c)                                                            \
	ROUTE_F(c), ROUTE_F((c) + 1), ROUTE_F((c) + 2), ROUTE_F((c) + 3)
#define ROUTE_F16(c)                                                           \
	ROUTE_F4(c), ROUTE_F4((c) + 4), ROUTE_F4((c) + 8), ROUTE_F4((c) + 12)
#define ROUTE_F64(c)                                                           \
	ROUTE_F16(c), ROUTE_F16((c) + 16), ROUTE_F16((c) + 32),                \
	    ROUTE_F16((c) + 48)
static const unsigned char route_fold[256] = {
    ROUTE_F64(0), ROUTE_F64(64), ROUTE_F64(128), ROUTE_F64(192)};

static void
route_push(struct words *ws, uint64_t h)
{
	if (ws->n == ws->cap) {
		ws->cap = ws->cap ? ws->cap * 2 : 256;
		ws->w = xreallocarray(ws->w, ws->cap, sizeof(*ws->w));
	}
	ws->w[ws->n++].h = h;
}

/* Split text into words; each gets its hash. */
static void
route_split(const char *text, struct words *ws)
{
	const unsigned char *p = (const unsigned char *)text;
	unsigned char f;
	uint64_t h = 0;
	bool inword = false;

	ws->n = 0;
	if (text == NULL)
		return;
	for (; *p != '\0'; p++) {
		f = route_fold[*p];
		if (f >= 0xc2 && (f == 0xc2 || f == 0xe2) &&
		    route_sep_len(p) > 0) {
			p += route_sep_len(p) - 1;
			f = 0;
		}
		if (f == 0) {
			if (inword)
				route_push(ws, h);
			inword = false;
			continue;
		}
		if (!inword) {
			h = 0xcbf29ce484222325ULL;
			inword = true;
		}
		h = (h ^ f) * 0x100000001b3ULL;
	}
	if (inword)
		route_push(ws, h);
}

/* Does the phrase (its words in ph) occur in ws? */
static bool
route_has_phrase(const struct words *ws, const struct words *ph)
{
	size_t i, j;

	if (ph->n == 0 || ph->n > ws->n)
		return false;
	for (i = 0; i + ph->n <= ws->n; i++) {
		if (ws->w[i].h != ph->w[0].h)
			continue;
		for (j = 1; j < ph->n && ws->w[i + j].h == ph->w[j].h; j++)
			;
		if (j == ph->n)
			return true;
	}
	return false;
}

/* The item's words, split on first use. */
struct route_ctx {
	const struct item *it;
	struct words title, text, phrase;
	bool split;
};

static bool
route_rule_matches(struct route_ctx *rc, const struct route_rule *r)
{
	const struct item *it = rc->it;

	switch (r->field) {
	case ROUTE_SECTION:
		return it->section && route_wildmat(r->pattern, it->section);
	case ROUTE_SOURCE:
		return it->source && route_wildmat(r->pattern, it->source);
	case ROUTE_KEYWORD:
	case ROUTE_TITLE:
		if (!rc->split) {
			route_split(it->title, &rc->title);
			route_split(it->text, &rc->text);
			rc->split = true;
		}
		route_split(r->pattern, &rc->phrase);
		return route_has_phrase(&rc->title, &rc->phrase) ||
		    (r->field == ROUTE_KEYWORD &&
			route_has_phrase(&rc->text, &rc->phrase));
	}
	return false;
}

size_t
route_item(
    const struct config *c, const struct item *it, const char **out, size_t max)
{
	struct route_ctx rc;
	size_t n = 0, i, j;

	memset(&rc, 0, sizeof(rc));
	rc.it = it;
	for (i = 0; i < c->ngroups && n < max; i++) {
		const struct group_conf *g = &c->groups[i];

		for (j = 0; j < g->nrules; j++) {
			if (route_rule_matches(&rc, &g->rules[j])) {
				out[n++] = g->name;
				break;
			}
		}
	}
	free(rc.title.w);
	free(rc.text.w);
	free(rc.phrase.w);
	if (n > 0)
		return n;
	for (i = 0; i < c->ngroups && n < max; i++)
		if (c->groups[i].catchall)
			out[n++] = c->groups[i].name;
	return n;
}
