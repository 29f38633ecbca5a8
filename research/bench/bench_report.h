/* rill-bench's totals and the JSON line it ends with. Pure code. */
#ifndef BENCH_REPORT_H
#define BENCH_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include "rill_bytes.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Figures of one job, or of all players and sinks together. A value < 0
 * means "not measured" and is written as null. */
typedef struct bench_totals {
    const char *kind;           /* "play", "publish", "sink" or NULL for the totals */
    const char *url;
    int requested;              /* -n */
    int started;
    int connected;              /* playing (publishing) at the end of the run */
    int failed;                 /* never got to play: refused, timed out, or still connecting at the end */
    int dropped;                /* played, then lost the connection before the end */
    int no_frame;               /* played to the end without a video keyframe */
    uint64_t bytes;             /* received (players, sinks) or sent (publishers) */
    double kbps;                /* aggregate kbit/s over window_s */
    double window_s;            /* from the last player connected to the end */
    uint64_t stalls;
    double ff_p50, ff_p99, ff_max;  /* first frame, ms */
    double lat_p50, lat_p99;        /* end to end, ms */
    uint64_t lat_samples;
    uint64_t reconnects;        /* publish --reconnect: publishing again after a failure */
    double reconnect_stall_max_ms;  /* longest time a publisher sent nothing across a reconnect */
} bench_totals_t;

void bench_totals_clear(bench_totals_t *t);
/* Append the JSON object: the totals' fields at the top level (connected,
 * failed, kbps, stalls, first_frame_ms_p50, first_frame_ms_p99,
 * latency_ms_p50, ...), the publishers' figures under "publish" (when pub:
 * connected, failed, dropped, kbps, reconnects, reconnect_stall_ms_max),
 * and every job under "jobs". 0 or RILL_ERR_NOMEM. */
int bench_json(rill_writer_t *w, const bench_totals_t *total, const bench_totals_t *pub,
               const bench_totals_t *jobs, int njobs);

#ifdef __cplusplus
}
#endif
#endif
