/*
 * terms.h - text to index terms for similarity threading: UTF-8 aware
 * tokenising and case folding, English stop words, Snowball stemming
 * (libstemmer). Used by thread.c; has no state but the stemmer.
 *
 * SECURITY: the text is attacker-controlled (imported or posted
 * articles). A scan reads at most TERMS_SCAN_MAX octets and reports at
 * most the caller's max terms; words longer than TERMS_WORD_MAX octets are
 * skipped; invalid UTF-8 bytes are separators.
 */
#ifndef NG_TERMS_H
#define NG_TERMS_H

#include <stdbool.h>
#include <stddef.h>

#define TERMS_WORD_MAX 48	    /* octets in one folded word */
#define TERMS_SCAN_MAX (256 * 1024) /* octets of text looked at */

/* What the source text said about a term. */
#define TERM_CAP 0x1	 /* first letter was upper case */
#define TERM_INITIAL 0x2 /* first word of a text, sentence or paragraph */
#define TERM_NUM 0x4	 /* holds a digit (not stemmed) */
#define TERM_ALLCAPS 0x8 /* every letter upper case, two or more */

struct term {
	const char *p;	/* folded (and stemmed) word, NUL-terminated;
			   valid until the callback returns */
	size_t len;	/* octets in p, 1..TERMS_WORD_MAX */
	unsigned flags; /* TERM_* */
};

/* Called once per kept term; returns 0 to go on, non-zero to stop. */
typedef int (*terms_fn)(void *arg, const struct term *t);

struct terms;

/* A tokeniser with the Snowball stemmer for lang ("english"); NULL lang or
 * an unknown one: no stemming. Never fails (out of memory is fatal). */
struct terms *terms_new(const char *lang);
void terms_free(struct terms *tk);

/*
 * Cut len octets of UTF-8 text into terms: case-folded words of letters
 * and digits ("U.S." is "u.s", "900,000" is "900000", "3.5" stays, a
 * hyphen separates), stop words and one-letter words dropped, the rest
 * stemmed; each CJK ideograph or kana is a term of its own. Calls fn for
 * at most max terms. Returns the number of terms reported.
 */
size_t terms_scan(struct terms *tk, const char *text, size_t len, size_t max,
    terms_fn fn, void *arg);

/* Is this folded word (before stemming) an English stop word? */
bool terms_is_stop(const char *w, size_t len);

#endif
