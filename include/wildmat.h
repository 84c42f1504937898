/*
 * wildmat.h - RFC 3977 §4 wildmats over UTF-8 text.
 *
 * A wildmat is a list of patterns separated by ",". Each pattern may start
 * with "!" (negation). The rightmost pattern that matches decides: a plain
 * one means "match", a negated one "no match"; when no pattern matches the
 * answer is "no match" (RFC 3977 §4.2).
 *
 * Inside a pattern "*" matches any run of characters, "?" exactly one
 * character (a whole UTF-8 sequence, not one octet). As INN's uwildmat does,
 * "[...]" is a character class ("[^...]" its complement, "a-z" a range of
 * code points) and "\" makes the next character literal; RFC 3977 reserves
 * these characters, so no valid RFC 3977 wildmat changes meaning.
 * Octets that are not valid UTF-8 match only themselves (and "?" / "*").
 *
 * SECURITY: both pattern and text are attacker-controlled (LIST ACTIVE,
 * NEWNEWS). Matching never recurses and runs in O(len(pattern) *
 * len(text)) time; callers bound both by the 512-octet command line and
 * the group-name limit.
 */
#ifndef NG_WILDMAT_H
#define NG_WILDMAT_H

#include <stdbool.h>
#include <stddef.h>

#define WILDMAT_NOCASE 0x1 /* ASCII letters match either case */

/* Does text match the wildmat (a comma-separated list, see above)? */
bool wildmat_match(const char *wildmat, const char *text);
bool wildmat_match_flags(const char *wildmat, const char *text, int flags);

/*
 * One pattern of len octets (no list, no "!"), against text of tlen
 * octets. Neither needs to be NUL-terminated.
 */
bool wildmat_match_pattern(
    const char *pat, size_t len, const char *text, size_t tlen, int flags);

/*
 * Is this a well-formed wildmat: valid UTF-8, no empty pattern, no control
 * characters or spaces, "!" only at the start of a pattern, every "[" and
 * "\" complete? Commands answer 501 to one that is not.
 */
bool wildmat_valid(const char *wildmat);

/* Is this wildmat a single literal name (no wildcard, class, escape, list
 * or negation)? Callers use it to look the name up instead of scanning. */
bool wildmat_is_literal(const char *wildmat);

#endif
