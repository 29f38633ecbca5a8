#include "rill_heap.h"
#include "rill_error.h"

#include <stdlib.h>

static void place(rill_heap_t *h, int i, rill_heap_node_t *x)
{
    h->v[i] = x;
    x->index = i + 1;
}

static void sift_up(rill_heap_t *h, int i)
{
    rill_heap_node_t *x = h->v[i];
    while (i > 0) {
        int parent = (i - 1) / 2;
        if (h->v[parent]->key <= x->key) break;
        place(h, i, h->v[parent]);
        i = parent;
    }
    place(h, i, x);
}

static void sift_down(rill_heap_t *h, int i)
{
    rill_heap_node_t *x = h->v[i];
    for (;;) {
        int child = 2 * i + 1;
        if (child >= h->n) break;
        if (child + 1 < h->n && h->v[child + 1]->key < h->v[child]->key) child++;
        if (x->key <= h->v[child]->key) break;
        place(h, i, h->v[child]);
        i = child;
    }
    place(h, i, x);
}

int rill_heap_push(rill_heap_t *h, rill_heap_node_t *x)
{
    if (h->n == h->cap) {
        int cap = h->cap ? h->cap * 2 : 64;
        rill_heap_node_t **v = realloc(h->v, sizeof(*v) * (size_t)cap);
        if (!v) return RILL_ERR_NOMEM;
        h->v = v;
        h->cap = cap;
    }
    place(h, h->n++, x);
    sift_up(h, h->n - 1);
    return 0;
}

void rill_heap_fix(rill_heap_t *h, rill_heap_node_t *x)
{
    int i = x->index - 1;
    if (i < 0) return;
    if (i > 0 && h->v[(i - 1) / 2]->key > x->key) sift_up(h, i);
    else sift_down(h, i);
}

void rill_heap_remove(rill_heap_t *h, rill_heap_node_t *x)
{
    int i = x->index - 1;
    if (i < 0) return;
    x->index = 0;
    rill_heap_node_t *last = h->v[--h->n];
    if (i == h->n) return;
    place(h, i, last);
    rill_heap_fix(h, last);
}

void rill_heap_free(rill_heap_t *h)
{
    free(h->v);
    h->v = NULL;
    h->n = h->cap = 0;
}
