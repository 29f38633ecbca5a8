#include "edge_guard.h"

#include <stdio.h>
#include <string.h>

/* FNV-1a over the three parts with a separator no name holds. */
static uint64_t fnv(uint64_t h, const char *s)
{
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 0x100000001b3ULL;
    return (h ^ 0xff) * 0x100000001b3ULL;
}

uint64_t edge_absent_key(const char *vhost, const char *app, const char *stream)
{
    uint64_t h = fnv(fnv(fnv(0xcbf29ce484222325ULL, vhost), app), stream);
    return h ? h : 1;           /* 0 marks a free slot */
}

void edge_absent_put(edge_guard_t *g, uint64_t key, int64_t until_ms)
{
    size_t base = (size_t)(key % EDGE_ABSENT_SLOTS), pick = base;
    for (size_t k = 0; k < EDGE_ABSENT_PROBE; k++) {
        size_t i = (base + k) % EDGE_ABSENT_SLOTS;
        if (g->absent[i].key == key) {
            pick = i;
            break;
        }
        /* else the slot whose memory ends first (a free one ends at 0) */
        if (g->absent[i].until_ms < g->absent[pick].until_ms) pick = i;
    }
    g->absent[pick].key = key;
    g->absent[pick].until_ms = until_ms;
}

int64_t edge_absent_left(const edge_guard_t *g, uint64_t key, int64_t now_ms)
{
    size_t base = (size_t)(key % EDGE_ABSENT_SLOTS);
    for (size_t k = 0; k < EDGE_ABSENT_PROBE; k++) {
        size_t i = (base + k) % EDGE_ABSENT_SLOTS;
        if (g->absent[i].key == key) return g->absent[i].until_ms > now_ms ? g->absent[i].until_ms - now_ms : 0;
    }
    return 0;
}

int edge_absent_forget_all(edge_guard_t *g, int64_t now_ms)
{
    int n = 0;
    for (size_t i = 0; i < EDGE_ABSENT_SLOTS; i++) n += g->absent[i].until_ms > now_ms;
    memset(g->absent, 0, sizeof g->absent);
    return n;
}

static int waiter_find(const edge_guard_t *g, const char *ip)
{
    for (int i = 0; i < g->nwaiters; i++)
        if (!strcmp(g->waiters[i].ip, ip)) return i;
    return -1;
}

int edge_waiter_add(edge_guard_t *g, const char *ip, int max)
{
    int i = waiter_find(g, ip);
    if (i < 0) {
        if (g->nwaiters >= EDGE_WAITER_SLOTS || max < 1) return -1;
        i = g->nwaiters++;
        snprintf(g->waiters[i].ip, sizeof g->waiters[i].ip, "%s", ip);
        g->waiters[i].n = 0;
    }
    if (g->waiters[i].n >= max) return -1;
    g->waiters[i].n++;
    return 0;
}

void edge_waiter_remove(edge_guard_t *g, const char *ip)
{
    int i = waiter_find(g, ip);
    if (i < 0) return;
    if (--g->waiters[i].n > 0) return;
    g->waiters[i] = g->waiters[--g->nwaiters];
}

int edge_waiter_count(const edge_guard_t *g, const char *ip)
{
    int i = waiter_find(g, ip);
    return i < 0 ? 0 : g->waiters[i].n;
}

static int window_count(const edge_rate_t *r, int64_t now_ms)
{
    return now_ms - r->window_ms < 1000 ? r->count : 0;
}

int edge_rate_allows(const edge_rate_t *r, int64_t now_ms, int per_sec, int max_inflight)
{
    return window_count(r, now_ms) < per_sec && r->inflight < max_inflight;
}

void edge_rate_begin(edge_rate_t *r, int64_t now_ms)
{
    if (now_ms - r->window_ms >= 1000) {
        r->window_ms = now_ms;
        r->count = 0;
    }
    r->count++;
    r->inflight++;
}

void edge_rate_end(edge_rate_t *r)
{
    if (r->inflight > 0) r->inflight--;
}
