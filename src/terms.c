/*
 * terms.c - text to index terms (see terms.h): a one-pass UTF-8 scanner
 * that folds case, strips Latin diacritics, drops stop words and stems
 * with Snowball. Owns only its stemmer; never allocates per call. Must
 * never read past the length it is given or TERMS_SCAN_MAX.
 */
#include <libstemmer.h>
#include <pthread.h>

#include "common.h"
#include "terms.h"

struct terms {
	struct sb_stemmer *stem; /* NULL: no stemming */
};

/* One word being collected. */
struct word {
	char w[TERMS_WORD_MAX + 8]; /* folded octets, NUL-terminated */
	size_t len;		    /* octets in w */
	size_t seg;		    /* octets since the last '.' kept */
	unsigned letters;	    /* letters seen */
	unsigned upper;		    /* upper-case letters seen */
	bool first_upper;	    /* the first letter was upper case */
	bool digit;		    /* a digit seen */
	bool initial;		    /* began a text, sentence or paragraph */
	bool overflow;		    /* grew past TERMS_WORD_MAX: drop */
};

/* Snowball's English stop list (plus will, can, just). Apostrophes are
 * ASCII: the scanner maps U+2019 to '. */
/* clang-format off */
static const char *const stop_words[] = {
	"a", "about", "above", "after", "again", "against", "all", "am", "an",
	"and", "any", "are", "aren't", "as", "at", "be", "because", "been",
	"before", "being", "below", "between", "both", "but", "by", "can",
	"can't", "cannot", "could", "couldn't", "did", "didn't", "do", "does",
	"doesn't", "doing", "don't", "down", "during", "each", "few", "for",
	"from", "further", "had", "hadn't", "has", "hasn't", "have", "haven't",
	"having", "he", "he'd", "he'll", "he's", "her", "here", "here's",
	"hers", "herself", "him", "himself", "his", "how", "how's", "i", "i'd",
	"i'll", "i'm", "i've", "if", "in", "into", "is", "isn't", "it", "it's",
	"its", "itself", "just", "let's", "me", "more", "most", "mustn't",
	"my", "myself", "no", "nor", "not", "of", "off", "on", "once", "only",
	"or", "other", "ought", "our", "ours", "ourselves", "out", "over",
	"own", "same", "shan't", "she", "she'd", "she'll", "she's", "should",
	"shouldn't", "so", "some", "such", "than", "that", "that's", "the",
	"their", "theirs", "them", "themselves", "then", "there", "there's",
	"these", "they", "they'd", "they'll", "they're", "they've", "this",
	"those", "through", "to", "too", "under", "until", "up", "very", "was",
	"wasn't", "we", "we'd", "we'll", "we're", "we've", "were", "weren't",
	"what", "what's", "when", "when's", "where", "where's", "which",
	"while", "who", "who's", "whom", "why", "why's", "will", "with",
	"won't", "would", "wouldn't", "you", "you'd", "you'll", "you're",
	"you've", "your", "yours", "yourself", "yourselves"};
/* clang-format on */

/*
 * Latin-1 Supplement and Latin Extended-A letters, U+00C0..U+017F, as
 * lower-case ASCII: "Beyoncé" and "Beyonce" are one term. NULL: not a
 * letter (U+00D7, U+00F7).
 */
/* clang-format off */
static const char *const latin_base[0x180 - 0xC0] = {
	/* C0 */ "a", "a", "a", "a", "a", "a", "ae", "c",
	/* C8 */ "e", "e", "e", "e", "i", "i", "i", "i",
	/* D0 */ "d", "n", "o", "o", "o", "o", "o", NULL,
	/* D8 */ "o", "u", "u", "u", "u", "y", "th", "ss",
	/* E0 */ "a", "a", "a", "a", "a", "a", "ae", "c",
	/* E8 */ "e", "e", "e", "e", "i", "i", "i", "i",
	/* F0 */ "d", "n", "o", "o", "o", "o", "o", NULL,
	/* F8 */ "o", "u", "u", "u", "u", "y", "th", "y",
	/* 100 */ "a", "a", "a", "a", "a", "a", "c", "c",
	/* 108 */ "c", "c", "c", "c", "c", "c", "d", "d",
	/* 110 */ "d", "d", "e", "e", "e", "e", "e", "e",
	/* 118 */ "e", "e", "e", "e", "g", "g", "g", "g",
	/* 120 */ "g", "g", "g", "g", "h", "h", "h", "h",
	/* 128 */ "i", "i", "i", "i", "i", "i", "i", "i",
	/* 130 */ "i", "i", "ij", "ij", "j", "j", "k", "k",
	/* 138 */ "k", "l", "l", "l", "l", "l", "l", "l",
	/* 140 */ "l", "l", "l", "n", "n", "n", "n", "n",
	/* 148 */ "n", "n", "n", "n", "o", "o", "o", "o",
	/* 150 */ "o", "o", "oe", "oe", "r", "r", "r", "r",
	/* 158 */ "r", "r", "s", "s", "s", "s", "s", "s",
	/* 160 */ "s", "s", "t", "t", "t", "t", "t", "t",
	/* 168 */ "u", "u", "u", "u", "u", "u", "u", "u",
	/* 170 */ "u", "u", "u", "u", "w", "w", "y", "y",
	/* 178 */ "y", "z", "z", "z", "z", "z", "z", "s"};
/* clang-format on */

enum cclass {
	C_SEP,	 /* separator */
	C_ALNUM, /* letter or digit: part of a word */
	C_IDEO,	 /* CJK ideograph or kana: a term by itself */
	C_APOS,	 /* apostrophe */
	C_DOT,	 /* full stop */
	C_COMMA, /* comma */
	C_END,	 /* ends a sentence: ! ? : ; */
	C_NL,	 /* line break: a separator, a sentence end before a blank
		    line (so rewrapping a text changes none of its terms) */
};

struct terms *
terms_new(const char *lang)
{
	struct terms *tk = xcalloc(1, sizeof(*tk));

	if (lang != NULL)
		tk->stem = sb_stemmer_new(lang, NULL);
	return tk;
}

void
terms_free(struct terms *tk)
{
	if (tk == NULL)
		return;
	if (tk->stem != NULL)
		sb_stemmer_delete(tk->stem);
	free(tk);
}

/* The stop list as an open-addressing set, built once: every word of
 * every article is looked up in it. */
#define STOP_SLOTS 1024 /* a power of two, over twice the stop words */
static struct {
	const char *w; /* NULL: empty */
	size_t len;
} stop_set[STOP_SLOTS];
static size_t stop_maxlen;
static pthread_once_t stop_once = PTHREAD_ONCE_INIT;

static uint32_t
stop_hash(const char *p, size_t len)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	while (len-- > 0)
		h = (h ^ (unsigned char)*p++) * 16777619u;
	return h & (STOP_SLOTS - 1);
}

static void
stop_init(void)
{
	size_t k, len;
	uint32_t i;

	for (k = 0; k < NG_NELEM(stop_words); k++) {
		len = strlen(stop_words[k]);
		for (i = stop_hash(stop_words[k], len); stop_set[i].w != NULL;
		     i = (i + 1) & (STOP_SLOTS - 1))
			;
		stop_set[i].w = stop_words[k];
		stop_set[i].len = len;
		if (len > stop_maxlen)
			stop_maxlen = len;
	}
}

bool
terms_is_stop(const char *w, size_t len)
{
	uint32_t i;

	(void)pthread_once(&stop_once, stop_init);
	if (len > stop_maxlen)
		return false;
	for (i = stop_hash(w, len); stop_set[i].w != NULL;
	     i = (i + 1) & (STOP_SLOTS - 1))
		if (stop_set[i].len == len && memcmp(stop_set[i].w, w, len) == 0)
			return true;
	return false;
}

/* Decode one UTF-8 sequence at p (n > 0 octets left): the code point, or
 * -1 for an invalid sequence (one octet consumed). *used gets its length. */
static int32_t
utf8_decode(const unsigned char *p, size_t n, size_t *used)
{
	int32_t cp, min;
	size_t len, i;

	*used = 1;
	if (p[0] < 0x80)
		return p[0];
	if (p[0] >= 0xC2 && p[0] <= 0xDF)
		len = 2, cp = p[0] & 0x1F, min = 0x80;
	else if (p[0] >= 0xE0 && p[0] <= 0xEF)
		len = 3, cp = p[0] & 0x0F, min = 0x800;
	else if (p[0] >= 0xF0 && p[0] <= 0xF4)
		len = 4, cp = p[0] & 0x07, min = 0x10000;
	else
		return -1;
	if (len > n)
		return -1;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return -1;
		cp = (cp << 6) | (p[i] & 0x3F);
	}
	if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return -1;
	*used = len;
	return cp;
}

static bool
is_ideograph(int32_t cp)
{
	return (cp >= 0x3040 && cp <= 0x30FF) ||
	    (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x4E00 && cp <= 0x9FFF) ||
	    (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x20000 && cp <= 0x2FFFF);
}

/* Letters of alphabetic scripts beyond Latin-1 that we keep as they are
 * (after the simple case folding in fold_other()). */
static bool
is_other_letter(int32_t cp)
{
	return (cp >= 0x0180 && cp <= 0x02AF) || /* Latin Ext-B, IPA */
	    (cp >= 0x0370 && cp <= 0x03FF) ||	 /* Greek */
	    (cp >= 0x0400 && cp <= 0x052F) ||	 /* Cyrillic */
	    (cp >= 0x0531 && cp <= 0x0587) ||	 /* Armenian */
	    (cp >= 0x05D0 && cp <= 0x05EA) ||	 /* Hebrew */
	    (cp >= 0x0620 && cp <= 0x064A) ||	 /* Arabic letters */
	    (cp >= 0x0660 && cp <= 0x0669) ||	 /* Arabic digits */
	    (cp >= 0x0671 && cp <= 0x06D3) ||	 /* Arabic, Persian */
	    (cp >= 0x0900 && cp <= 0x0DFF) ||	 /* Indic */
	    (cp >= 0x0E00 && cp <= 0x0E7F) ||	 /* Thai */
	    (cp >= 0x10A0 && cp <= 0x10FF) ||	 /* Georgian */
	    (cp >= 0x1E00 && cp <= 0x1EFF) ||	 /* Latin Ext Additional */
	    (cp >= 0xAC00 && cp <= 0xD7AF);	 /* Hangul */
}

static enum cclass
classify(int32_t cp)
{
	if (cp < 0)
		return C_SEP;
	if (cp < 0x80) {
		if ((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') ||
		    (cp >= '0' && cp <= '9'))
			return C_ALNUM;
		switch (cp) {
		case '\'':
			return C_APOS;
		case '.':
			return C_DOT;
		case ',':
			return C_COMMA;
		case '!':
		case '?':
		case ':':
		case ';':
			return C_END;
		case '\n':
			return C_NL;
		default:
			return C_SEP;
		}
	}
	if (cp == 0x2019 || cp == 0x2018 || cp == 0x02BC)
		return C_APOS;
	if ((cp >= 0xC0 && cp < 0x180 && latin_base[cp - 0xC0] != NULL) ||
	    is_other_letter(cp))
		return C_ALNUM;
	if (is_ideograph(cp))
		return C_IDEO;
	if (cp == 0x2026 || cp == 0x3002) /* ellipsis, ideographic stop */
		return C_END;
	return C_SEP;
}

/* Is the Latin Extended-A letter cp an upper-case one? */
static bool
latin_ext_upper(int32_t cp)
{
	if (cp == 0x178)
		return true;
	if ((cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17E))
		return cp % 2 == 1;
	if (cp == 0x138 || cp == 0x149 || cp == 0x17F)
		return false;
	return cp % 2 == 0;
}

/* Simple case folding outside Latin-1/Ext-A; *upper says if it changed. */
static int32_t
fold_other(int32_t cp, bool *upper)
{
	int32_t lc = cp;

	if (cp >= 0x391 && cp <= 0x3A9 && cp != 0x3A2)
		lc = cp + 0x20;
	else if (cp >= 0x410 && cp <= 0x42F)
		lc = cp + 0x20;
	else if (cp >= 0x400 && cp <= 0x40F)
		lc = cp + 0x50;
	else if (cp >= 0x1E00 && cp <= 0x1EFF && cp % 2 == 0)
		lc = cp + 1;
	*upper = lc != cp;
	return lc;
}

static void
word_put(struct word *wd, const char *p, size_t n)
{
	if (wd->len + n > TERMS_WORD_MAX) {
		wd->overflow = true;
		return;
	}
	memcpy(wd->w + wd->len, p, n);
	wd->len += n;
	wd->seg += n;
}

static void
word_put_cp(struct word *wd, int32_t cp)
{
	char u[4];
	size_t n;

	if (cp < 0x800) {
		u[0] = (char)(0xC0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xE0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		u[2] = (char)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		u[0] = (char)(0xF0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
		u[3] = (char)(0x80 | (cp & 0x3F));
		n = 4;
	}
	word_put(wd, u, n);
}

/* Append one letter or digit, folded. */
static void
word_add(struct word *wd, int32_t cp)
{
	bool upper = false;
	char c;

	if (cp < 0x80) {
		c = (char)cp;
		if (cp >= '0' && cp <= '9') {
			wd->digit = true;
			word_put(wd, &c, 1);
			return;
		}
		if (cp >= 'A' && cp <= 'Z') {
			upper = true;
			c = (char)(cp - 'A' + 'a');
		}
		word_put(wd, &c, 1);
	} else if (cp >= 0xC0 && cp < 0x180) {
		const char *b = latin_base[cp - 0xC0];

		upper = cp < 0x100 ? cp < 0xDF : latin_ext_upper(cp);
		word_put(wd, b, strlen(b));
	} else if (cp >= 0x660 && cp <= 0x669) {
		wd->digit = true;
		word_put_cp(wd, cp);
		return;
	} else {
		cp = fold_other(cp, &upper);
		word_put_cp(wd, cp);
	}
	if (wd->letters == 0)
		wd->first_upper = upper;
	wd->letters++;
	wd->upper += upper;
}

struct scan {
	struct terms *tk;
	terms_fn fn;
	void *arg;
	size_t max;   /* terms still allowed */
	size_t count; /* terms reported */
	bool stop;    /* fn asked to stop, or max reached */
};

static void
scan_emit(struct scan *sc, const char *p, size_t len, unsigned flags)
{
	struct term t;
	char w[TERMS_WORD_MAX + 1];

	if (sc->stop)
		return;
	if (len > TERMS_WORD_MAX)
		len = TERMS_WORD_MAX;
	memcpy(w, p, len);
	w[len] = '\0';
	t.p = w;
	t.len = len;
	t.flags = flags;
	sc->count++;
	if (sc->fn(sc->arg, &t) != 0 || sc->count >= sc->max)
		sc->stop = true;
}

/* The word is complete: filter, stem, report; then start a new one. */
static void
word_flush(struct scan *sc, struct word *wd)
{
	const sb_symbol *st;
	unsigned flags = 0;
	size_t len = wd->len;
	const char *p = wd->w;

	/* A trailing apostrophe or dot is not part of the word. */
	while (len > 0 && (p[len - 1] == '\'' || p[len - 1] == '.'))
		len--;
	if (len == 0 || wd->overflow || (len == 1 && !wd->digit))
		goto done;
	wd->w[len] = '\0';
	if (wd->first_upper)
		flags |= TERM_CAP;
	if (wd->letters >= 2 && wd->upper == wd->letters)
		flags |= TERM_ALLCAPS;
	if (wd->initial)
		flags |= TERM_INITIAL;
	if (wd->digit) {
		scan_emit(sc, p, len, flags | TERM_NUM);
		goto done;
	}
	if (terms_is_stop(p, len))
		goto done;
	if (memchr(p, '.', len) != NULL) { /* an acronym: U.S. */
		scan_emit(sc, p, len, flags);
		goto done;
	}
	if (sc->tk->stem != NULL) {
		st = sb_stemmer_stem(
		    sc->tk->stem, (const sb_symbol *)p, (int)len);
		if (st != NULL && sb_stemmer_length(sc->tk->stem) > 0) {
			p = (const char *)st;
			len = (size_t)sb_stemmer_length(sc->tk->stem);
		}
	}
	scan_emit(sc, p, len, flags);
done:
	memset(wd, 0, sizeof(*wd));
}

/* Look at the code point after position i (for '.', ',' and '''). */
static enum cclass
peek_class(const unsigned char *s, size_t i, size_t n, int32_t *cp)
{
	size_t used;

	if (i >= n) {
		*cp = -1;
		return C_SEP;
	}
	*cp = utf8_decode(s + i, n - i, &used);
	return classify(*cp);
}

/* Does a '.' at i continue the word: 3.5, or an acronym like U.S.? */
static bool
dot_joins(const struct word *wd, const unsigned char *s, size_t i, size_t n)
{
	int32_t next;

	if (wd->len == 0 || peek_class(s, i + 1, n, &next) != C_ALNUM)
		return false;
	if (wd->digit && wd->letters == 0)
		return next >= '0' && next <= '9';
	/* One letter, a dot, one letter, then a dot or the end. */
	return wd->seg == 1 && !wd->digit &&
	    peek_class(s, i + 2, n, &next) != C_ALNUM;
}

/* Is the line starting at i empty (only blanks)? */
static bool
blank_line_next(const unsigned char *s, size_t i, size_t n)
{
	while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r'))
		i++;
	return i >= n || s[i] == '\n';
}

size_t
terms_scan(struct terms *tk, const char *text, size_t len, size_t max,
    terms_fn fn, void *arg)
{
	const unsigned char *s = (const unsigned char *)text;
	struct scan sc = {tk, fn, arg, max, 0, max == 0};
	struct word wd;
	bool initial = true;
	size_t i = 0, used;
	int32_t cp, next;

	memset(&wd, 0, sizeof(wd));
	if (len > TERMS_SCAN_MAX)
		len = TERMS_SCAN_MAX;
	while (i < len && !sc.stop) {
		cp = utf8_decode(s + i, len - i, &used);
		switch (classify(cp)) {
		case C_ALNUM:
			if (wd.len == 0 && !wd.overflow) {
				wd.initial = initial;
				initial = false;
			}
			word_add(&wd, cp);
			break;
		case C_IDEO:
			word_flush(&sc, &wd);
			scan_emit(&sc, text + i, used, 0);
			initial = false;
			break;
		case C_APOS:
			if (wd.len > 0 &&
			    peek_class(s, i + used, len, &next) == C_ALNUM)
				word_put(&wd, "'", 1);
			else
				word_flush(&sc, &wd);
			break;
		case C_DOT:
			if (dot_joins(&wd, s, i, len)) {
				word_put(&wd, ".", 1);
				wd.seg = 0;
				break;
			}
			word_flush(&sc, &wd);
			initial = true;
			break;
		case C_COMMA:
			/* 900,000: a thousands separator is dropped. */
			if (wd.digit && wd.letters == 0 &&
			    peek_class(s, i + 1, len, &next) == C_ALNUM &&
			    next >= '0' && next <= '9')
				break;
			word_flush(&sc, &wd);
			break;
		case C_END:
			word_flush(&sc, &wd);
			initial = true;
			break;
		case C_NL:
			word_flush(&sc, &wd);
			initial |= blank_line_next(s, i + 1, len);
			break;
		case C_SEP:
			word_flush(&sc, &wd);
			break;
		}
		i += used;
	}
	word_flush(&sc, &wd);
	return sc.count;
}
