/* A byte budget shared by many holders: each takes before it allocates and
 * gives back when it frees, so a total across connections stays bounded
 * whatever each one does. Plain counters: the holders run in one thread. */
#ifndef RILL_BUDGET_H
#define RILL_BUDGET_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rill_budget {
    uint64_t limit;         /* 0: no limit */
    uint64_t used;
    uint64_t peak;          /* highest used seen */
    uint64_t refused;       /* takes refused */
} rill_budget_t;

void rill_budget_init(rill_budget_t *b, uint64_t limit);
/* Bytes that can still be taken (UINT64_MAX without a limit). */
uint64_t rill_budget_room(const rill_budget_t *b);
/* Take n bytes: 0, or RILL_ERR_BUDGET (nothing taken, refusal counted). */
int rill_budget_take(rill_budget_t *b, uint64_t n);
void rill_budget_give(rill_budget_t *b, uint64_t n);

#ifdef __cplusplus
}
#endif
#endif
