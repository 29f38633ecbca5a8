/* A min-heap of timers: nodes embedded in their owners' records, ordered by
 * key (a time), each knowing its place so it can leave or move in
 * O(log n). The merge clock keeps its parked players in one, so a tick
 * visits only those due. Pure memory code. */
#ifndef RILL_HEAP_H
#define RILL_HEAP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rill_heap_node {
    int64_t key;
    int index;                  /* place in the heap + 1; 0 when not in one */
} rill_heap_node_t;

typedef struct rill_heap {
    rill_heap_node_t **v;
    int n, cap;
} rill_heap_t;

/* x (not in a heap) with its key set. 0 or RILL_ERR_NOMEM (not added). */
int rill_heap_push(rill_heap_t *h, rill_heap_node_t *x);
/* x out of h; no-op when it is in none. */
void rill_heap_remove(rill_heap_t *h, rill_heap_node_t *x);
/* x's key changed: back to its place. */
void rill_heap_fix(rill_heap_t *h, rill_heap_node_t *x);
/* The node with the smallest key, NULL when empty. */
static inline rill_heap_node_t *rill_heap_top(const rill_heap_t *h) { return h->n ? h->v[0] : NULL; }
/* The array only: the nodes are their owners'. */
void rill_heap_free(rill_heap_t *h);

#ifdef __cplusplus
}
#endif
#endif
