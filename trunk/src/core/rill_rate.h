/* Byte rates over a sliding window: a counter pair (in, out) sampled every
 * few seconds into a small ring; the rate is taken from the oldest sample
 * inside the window to the counters' current values, so it is fresh at any
 * moment without sampling more often. Pure memory code. */
#ifndef RILL_RATE_H
#define RILL_RATE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RILL_RATE_SLOTS 8           /* 8 samples 5 s apart cover a 30 s window */

typedef struct rill_rate {
    int64_t ms[RILL_RATE_SLOTS];
    uint64_t in[RILL_RATE_SLOTS], out[RILL_RATE_SLOTS];
    int n;                          /* samples held */
    int head;                       /* where the next one goes */
} rill_rate_t;

/* Start with the counters at zero at now_ms (an object's creation). */
void rill_rate_init(rill_rate_t *r, int64_t now_ms);
void rill_rate_sample(rill_rate_t *r, int64_t now_ms, uint64_t in, uint64_t out);
/* kbps (1000 bits/s) from the oldest sample no older than window_ms to the
 * current counters. 0 until a second has passed since that sample. */
void rill_rate_kbps(const rill_rate_t *r, int64_t now_ms, uint64_t in, uint64_t out, int64_t window_ms,
                    int64_t *in_kbps, int64_t *out_kbps);

#ifdef __cplusplus
}
#endif
#endif
