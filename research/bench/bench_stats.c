#include "bench_stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static size_t rank(size_t n, double p)
{
    if (p <= 0) return 1;
    if (p >= 100) return n;
    size_t r = (size_t)ceil(p / 100.0 * (double)n - 1e-9);
    return r < 1 ? 1 : r > n ? n : r;
}

double bench_percentile(double *v, size_t n, double p)
{
    if (n == 0) return -1;
    qsort(v, n, sizeof *v, cmp_double);
    return v[rank(n, p) - 1];
}

void bench_hist_add(bench_hist_t *h, double ms)
{
    size_t i = ms <= 0 ? 0 : ms >= BENCH_HIST_MS ? BENCH_HIST_BUCKETS - 1 : (size_t)(ms * BENCH_HIST_RES);
    h->b[i]++;
    h->count++;
}

void bench_hist_merge(bench_hist_t *into, const bench_hist_t *from)
{
    for (size_t i = 0; i < BENCH_HIST_BUCKETS; i++) into->b[i] += from->b[i];
    into->count += from->count;
}

double bench_hist_percentile(const bench_hist_t *h, double p)
{
    if (h->count == 0) return -1;
    uint64_t want = rank((size_t)h->count, p), seen = 0;
    for (size_t i = 0; i < BENCH_HIST_BUCKETS; i++) {
        seen += h->b[i];
        if (seen >= want) return (double)i / BENCH_HIST_RES;
    }
    return BENCH_HIST_MS;
}

void bench_pstat_start(bench_pstat_t *s, int64_t now)
{
    memset(s, 0, sizeof *s);
    s->requested = now;
}

int bench_pstat_check(bench_pstat_t *s, int64_t now, int64_t stall_us)
{
    if (!s->first_frame || s->in_stall || now - s->last_media <= stall_us) return 0;
    s->in_stall = 1;
    s->stalls++;
    return 1;
}

double bench_pstat_media(bench_pstat_t *s, int64_t now, int is_video_keyframe, int64_t stall_us)
{
    bench_pstat_check(s, now, stall_us);
    s->in_stall = 0;
    s->last_media = now;
    if (s->first_frame || !is_video_keyframe) return -1;
    s->first_frame = now;
    return (double)(now - s->requested) / 1000.0;
}
