/* Percentiles and per-player accounting for rill-bench: pure code, no
 * sockets, so unit tests check the math directly.
 *
 * Percentiles are nearest-rank: the p-th percentile of n samples is the
 * value at rank ceil(p/100 * n) (1-based) of the sorted samples; p50 of
 * {1,2,3,4} is 2, p99 of 100 samples is the 99th smallest. */
#ifndef BENCH_STATS_H
#define BENCH_STATS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Nearest-rank percentile of n values (sorted in place). -1 when n == 0. */
double bench_percentile(double *v, size_t n, double p);

/* A histogram of millisecond values: BENCH_HIST_RES buckets per ms up to
 * BENCH_HIST_MS, then one overflow bucket (reported as BENCH_HIST_MS). */
#define BENCH_HIST_MS  10000
#define BENCH_HIST_RES 10
#define BENCH_HIST_BUCKETS (BENCH_HIST_MS * BENCH_HIST_RES + 1)
typedef struct bench_hist {
    uint64_t count;
    uint32_t b[BENCH_HIST_BUCKETS];
} bench_hist_t;

void bench_hist_add(bench_hist_t *h, double ms);    /* negative values count as 0 */
void bench_hist_merge(bench_hist_t *into, const bench_hist_t *from);
/* Nearest-rank percentile in ms, to 1/BENCH_HIST_RES ms (the bucket's
 * lower edge); -1 when empty. */
double bench_hist_percentile(const bench_hist_t *h, double p);

/* One player's media timeline: first frame and stalls. Times in us. */
typedef struct bench_pstat {
    int64_t requested;      /* play request sent (RTMP play / HTTP GET) */
    int64_t first_frame;    /* first video keyframe received; 0: not yet */
    int64_t last_media;     /* last audio or video message */
    int in_stall;           /* the current gap already counted */
    uint32_t stalls;
} bench_pstat_t;

void bench_pstat_start(bench_pstat_t *s, int64_t now);
/* A media message arrived (after checking the gap before it). Returns the
 * first-frame time in ms when this is the first video keyframe, else -1. */
double bench_pstat_media(bench_pstat_t *s, int64_t now, int is_video_keyframe, int64_t stall_us);
/* Called whenever the player wakes (data or timeout): a gap longer than
 * stall_us since the last media, after the first frame, counts one stall
 * per episode. Returns 1 when a new stall was counted. */
int bench_pstat_check(bench_pstat_t *s, int64_t now, int64_t stall_us);

#ifdef __cplusplus
}
#endif
#endif
