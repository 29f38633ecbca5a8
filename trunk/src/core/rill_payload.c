#include "rill_payload.h"

#include <stdlib.h>
#include <string.h>

rill_payload_t *rill_payload_new(size_t cap)
{
    if (cap > UINT32_MAX) return NULL;
    rill_payload_t *pl = malloc(sizeof(*pl) + cap);
    if (!pl) return NULL;
    pl->refs = 1;
    pl->size = 0;
    pl->cap = (uint32_t)cap;
    return pl;
}

rill_payload_t *rill_payload_from(const void *p, size_t n)
{
    rill_payload_t *pl = rill_payload_new(n);
    if (!pl) return NULL;
    if (n) memcpy(pl->data, p, n);
    pl->size = (uint32_t)n;
    return pl;
}

rill_payload_t *rill_payload_grow(rill_payload_t *pl, size_t cap)
{
    if (pl->cap >= cap) return pl;
    if (cap > UINT32_MAX) return NULL;
    rill_payload_t *np = realloc(pl, sizeof(*pl) + cap);
    if (!np) return NULL;
    np->cap = (uint32_t)cap;
    return np;
}

void rill_payload_unref(rill_payload_t *pl)
{
    if (pl && --pl->refs == 0) free(pl);
}
