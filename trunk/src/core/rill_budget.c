#include "rill_budget.h"
#include "rill_error.h"

#include <string.h>

void rill_budget_init(rill_budget_t *b, uint64_t limit)
{
    memset(b, 0, sizeof(*b));
    b->limit = limit;
}

uint64_t rill_budget_room(const rill_budget_t *b)
{
    if (!b->limit) return UINT64_MAX;
    /* a lowered limit (reload) can leave used above it until holders give back */
    return b->used < b->limit ? b->limit - b->used : 0;
}

int rill_budget_take(rill_budget_t *b, uint64_t n)
{
    if (n > rill_budget_room(b)) {
        b->refused++;
        return RILL_ERR_BUDGET;
    }
    b->used += n;
    if (b->used > b->peak) b->peak = b->used;
    return 0;
}

void rill_budget_give(rill_budget_t *b, uint64_t n)
{
    /* giving back more than was taken is a holder's bug: clamp, never wrap */
    b->used = n < b->used ? b->used - n : 0;
}
