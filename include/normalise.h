/*
 * normalise.h - turn a source item (scraped text, JSON Lines record) into a
 * proper Netnews article (RFC 5536/5537).
 */
#ifndef NG_NORMALISE_H
#define NG_NORMALISE_H

#include <time.h>

#include "article.h"
#include "source.h"

/*
 * Build the article for an item:
 *   Message-ID  <hex-hash-of-source-identity@hostname>, the identity being
 *               the url, else source + id, else the title and text: the
 *               same item always gets the same id;
 *   From        the source (or section) with an address at hostname;
 *   Date        the item's date, else fallback_date (file mtime);
 *   Subject     the title, RFC 2047-encoded when not ASCII;
 *   Path        hostname!not-for-mail;
 *   MIME-Version, Content-Type text/plain; charset=UTF-8; format=flowed,
 *   Content-Transfer-Encoding 8bit;
 *   X-Newsgate-Source  the source id; X-Newsgate-URL the url (when known);
 *   body        the paragraphs wrapped at ARTICLE_WRAP_COLS (format=flowed
 *               soft breaks: a trailing space), no line over 998 octets.
 * Newsgroups and Xref are left to the caller (route, spool).
 * Returns a new article (caller frees) or NULL with a reason in why (no
 * title, invalid UTF-8).
 */
struct article *normalise_item(const struct item *it, const char *hostname,
    time_t fallback_date, struct buf *why);

/* Wrap a text at cols as format=flowed (RFC 3676), appending to out. */
void normalise_wrap_flowed(const char *text, size_t cols, struct buf *out);

/* Is this valid UTF-8 (no NUL)? */
bool normalise_utf8_valid(const char *s, size_t len);

#endif
