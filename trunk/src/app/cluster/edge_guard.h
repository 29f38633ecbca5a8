/* What keeps an edge from being turned against its origins: names every
 * origin just said are absent (answered from memory for a while), a bound
 * on connection attempts per origin (per second and at once), and a bound on
 * the plays one client address keeps waiting for an upstream's answer.
 * Pure bookkeeping over memory and a clock the caller passes: no sockets, no
 * coroutines (unit-tested). */
#ifndef EDGE_GUARD_H
#define EDGE_GUARD_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EDGE_ABSENT_SLOTS 4096      /* names remembered at once; more evict the soonest to expire */
#define EDGE_ABSENT_PROBE 8         /* slots a name may sit in, from its hash on */
#define EDGE_WAITER_SLOTS 1024      /* client addresses with plays waiting at once */

typedef struct edge_guard {
    /* absent names: a 64-bit hash of vhost/app/stream and when the memory ends (0: free) */
    struct { uint64_t key; int64_t until_ms; } absent[EDGE_ABSENT_SLOTS];
    /* addresses with waiting plays; unordered, compacted on removal */
    struct { char ip[48]; int n; } waiters[EDGE_WAITER_SLOTS];
    int nwaiters;
} edge_guard_t;

uint64_t edge_absent_key(const char *vhost, const char *app, const char *stream);
/* Remember key as absent until until_ms. */
void edge_absent_put(edge_guard_t *g, uint64_t key, int64_t until_ms);
/* ms the memory of key still lasts at now_ms, 0 when it is not remembered. */
int64_t edge_absent_left(const edge_guard_t *g, uint64_t key, int64_t now_ms);
/* Forget every absent name (their origins' answers); returns how many were remembered. */
int edge_absent_forget_all(edge_guard_t *g, int64_t now_ms);
/* One more play waiting from ip: 0, or -1 when ip already has max waiting
 * (or the table is full). Every 0 is matched by one edge_waiter_remove. */
int edge_waiter_add(edge_guard_t *g, const char *ip, int max);
void edge_waiter_remove(edge_guard_t *g, const char *ip);
int edge_waiter_count(const edge_guard_t *g, const char *ip);

/* Connection attempts to one origin: a one-second window and those under way. */
typedef struct edge_rate {
    int64_t window_ms;          /* start of the current one-second window */
    int count;                  /* attempts begun in it */
    int inflight;               /* attempts begun and not yet answered */
} edge_rate_t;
/* May an attempt begin now? (does not count it) */
int edge_rate_allows(const edge_rate_t *r, int64_t now_ms, int per_sec, int max_inflight);
/* An attempt begins: counted whatever the bounds (an upstream with players
 * is not refused; the bounds keep new names from adding more). */
void edge_rate_begin(edge_rate_t *r, int64_t now_ms);
/* The attempt was answered (played, refused, failed). */
void edge_rate_end(edge_rate_t *r);

#ifdef __cplusplus
}
#endif
#endif
