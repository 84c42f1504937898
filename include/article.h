/*
 * article.h - one Netnews article in memory: an ordered header list and a
 * body, plus the RFC 5322 / RFC 2047 / MIME helpers built on libetpan.
 * article.c is the only file that includes libetpan.
 *
 * SECURITY: article_parse() reads attacker-controlled bytes (POST, IHAVE,
 * imported files). It is bounded by ARTICLE_LINE_MAX per line (RFC 5536
 * §2: 998 octets), ARTICLE_HEADERS_MAX headers and the caller's size limit;
 * NUL bytes are refused.
 */
#ifndef NG_ARTICLE_H
#define NG_ARTICLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"

#define ARTICLE_LINE_MAX 998	/* octets per line, without CRLF */
#define ARTICLE_HEADERS_MAX 256 /* header fields per article */
#define ARTICLE_WRAP_COLS 72	/* format=flowed wrap width */

struct header {
	char *name;  /* owned, as written ("Message-ID") */
	char *value; /* owned, unfolded: CR/LF of folding removed, no
			leading space */
};

struct article {
	struct header *hdrs; /* owned, in order; names may repeat */
	size_t nhdrs;
	size_t caphdrs;
	char *body;	 /* owned, LF line endings, not dot-stuffed,
			    NUL-terminated; may be empty */
	size_t body_len; /* bytes in body */
};

struct article *article_new(void);
void article_free(struct article *a);

/*
 * Parse a wire or file article (CRLF or LF line endings, not dot-stuffed)
 * into *out. On refusal returns -1 and writes a reason a person understands
 * into why (for example "Header line over 998 octets"); the caller replies
 * 441 with it or reports it as FILE:LINE.
 */
int article_parse(const char *data, size_t len, struct article **out,
    struct buf *why) __attribute__((warn_unused_result));

/* First header with this name (case-insensitive), or NULL. The pointer is
 * valid until the header is changed. */
const char *article_get(const struct article *a, const char *name);
/* Replace the first header of that name (appending when absent); removes
 * any later duplicates. The value is copied. */
void article_set(struct article *a, const char *name, const char *value);
/* Set Newsgroups to the n names, comma-separated. */
void article_set_newsgroups(
    struct article *a, const char *const *groups, size_t n);
/* Insert a header at the front (Path, Xref go first by convention). */
void article_prepend(struct article *a, const char *name, const char *value);
/* Remove every header of that name. */
void article_del(struct article *a, const char *name);
/* Take ownership of body (NUL-terminated, LF line endings). */
void article_set_body(struct article *a, char *body, size_t len);

/*
 * Render as stored in the spool: headers (long ones folded at whitespace
 * so no line passes ARTICLE_LINE_MAX), an empty line, the body, LF line
 * endings, ending in exactly one LF.
 */
void article_render(const struct article *a, struct buf *out);
/* The two parts of article_render(): the header lines; the empty line and
 * the body. */
void article_render_head(const struct article *a, struct buf *out);
void article_render_body(const struct article *a, struct buf *out);
/* One header line as article_render() writes it (folded, CR/LF in the
 * value turned into spaces). */
void article_render_field(const char *name, const char *value, struct buf *out);

/* Body lines as counted for the Lines header / overview. */
uint64_t article_body_lines(const struct article *a);

/*
 * RFC 2047: encode a UTF-8 header text as encoded-words when it is not
 * plain ASCII (B or Q encoding, each word at most 75 octets), else copy.
 */
void article_encode_words(const char *utf8, struct buf *out);
/*
 * A display name for an address header (RFC 5322 §3.4 phrase): atoms as
 * they are, other ASCII as a quoted-string, non-ASCII as encoded-words
 * only (RFC 2047 §5 (3): never inside quotes).
 */
void article_encode_phrase(const char *utf8, struct buf *out);
/* RFC 2047: decode encoded-words to UTF-8 (invalid words left as they
 * are). */
void article_decode_words(const char *text, struct buf *out);

/*
 * RFC 5322 date-time to time_t (UTC); -1 when it does not parse.
 * article_format_date writes the RFC 5322 form ("Tue, 03 Jan 2017
 * 10:00:00 +0000") into dst (at least 40 bytes).
 */
time_t article_parse_date(const char *text);
void article_format_date(time_t t, char *dst, size_t cap);

/* Message-ID syntax per RFC 5536 §3.1.3: "<" id-left "@" id-right ">",
 * printable ASCII, no spaces, at most 250 octets. */
bool article_msgid_valid(const char *id);

/*
 * Content fingerprint for dedupe: a hash of the decoded Subject (a leading
 * "Re: " kept) and the body, case-folded, with every run of non-alphanumeric
 * characters taken as one separator, so wrapping and spacing do not count.
 * Stable across versions: it is stored in the spool.
 */
uint64_t article_fingerprint(const struct article *a);

/* The address part of a From header ("a@b" in "Name <a@b>"), or false. */
bool article_from_valid(const char *from);

#endif
