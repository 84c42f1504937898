/*
 * route.h - which groups an item goes to, by the [group] rules of the
 * configuration.
 */
#ifndef NG_ROUTE_H
#define NG_ROUTE_H

#include <stddef.h>

#include "config.h"
#include "source.h"

/*
 * Fill out[] with the names (pointers into c) of every group whose rules
 * match the item, in configuration order, at most max. When none matches,
 * the catch-all groups. Returns the count (0: unrouted).
 * Section and source rules are case-insensitive wildmats over the whole
 * field; keyword rules match a whole word or phrase, case-insensitively,
 * in the title or text (title rules: the title only).
 */
size_t route_item(const struct config *c, const struct item *it,
    const char **out, size_t max);

#endif
