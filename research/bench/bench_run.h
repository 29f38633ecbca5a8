/* rill-bench's run-time state on state-threads: one bench_job_state_t per
 * job (its clients, its counters) and what every client shares: one read
 * buffer, the latency table, the stall threshold. */
#ifndef BENCH_RUN_H
#define BENCH_RUN_H

#include <st.h>
#include <stdint.h>
#include "bench_flvfile.h"
#include "bench_lat.h"
#include "bench_opts.h"
#include "bench_stats.h"

/* Every client reads into this one buffer and parses what it got before it
 * can yield again (parsers keep their own small state), so a player costs
 * no read buffer of its own. */
#define BENCH_RBUF_SIZE (64 * 1024)
extern uint8_t bench_rbuf[BENCH_RBUF_SIZE];

typedef struct bench_job_state bench_job_state_t;

/* One client (player, sink or publisher) of a job. */
typedef struct bench_client {
    bench_job_state_t *js;
    int index;
    int precise;                /* reads at once (no --read-interval): its latency samples count */
    st_thread_t thread;
    bench_pstat_t ps;
} bench_client_t;

struct bench_job_state {
    const bench_job_t *job;
    const bench_opts_t *opts;
    int index;
    bench_target_t *targets;    /* play: one per stream (--streams); publish: one per publisher */
    int ntargets;
    const bench_flvfile_t *flv; /* publish */
    int64_t start_us, end_us;   /* monotonic */
    bench_client_t *clients;    /* count of them */
    st_thread_t spawner;
    /* counters */
    int started, connecting, playing, failed, dropped, finished, no_frame;
    uint64_t bytes, stalls;
    double *ff;                 /* first-frame samples (ms), one per player at most */
    size_t nff;
    bench_hist_t *lat;          /* end-to-end latency samples */
    int64_t all_in_us;          /* when the last client finished connecting */
    uint64_t bytes_all_in;
    int reported_failures;      /* failures logged so far (a few are enough) */
    uint32_t stack_used;        /* --stack-probe: deepest use seen */
    uint64_t loops;             /* publish: times the file was sent */
    uint64_t reconnects;        /* publish --reconnect: sessions that sent media again after a failure */
    double reconnect_stall_max_ms;  /* the longest time without sending across a reconnect */
};

extern bench_lat_table_t *bench_lat;    /* NULL without a local publisher */
extern int64_t bench_stall_us;

/* A client finished connecting (ok) or gave up. */
void bench_client_connected(bench_client_t *c);
void bench_client_failed(bench_client_t *c, const char *what, int rc);
/* A connected client stops: at the end of the run (ended) or not. */
void bench_client_done(bench_client_t *c, int ended, const char *why, int rc);
/* Media accounting shared by RTMP and HTTP-FLV players. */
void bench_on_video(bench_client_t *c, int64_t now, const uint8_t *p, size_t n, const uint8_t *tail,
                    size_t tail_len, uint32_t size);
void bench_on_audio(bench_client_t *c, int64_t now);

/* After a read with data: --read-interval's pause (players that have their
 * first frame and are not precise), never past the job's end. */
void bench_after_read(bench_client_t *c);

/* Microseconds until t (at least 1000: a deadline already past still gets
 * a short wait, so a late step fails cleanly). */
st_utime_t bench_until(int64_t t_us);

/* Coroutine bodies, arg is a bench_client_t. */
void *bench_rtmp_player(void *arg);
void *bench_flv_player(void *arg);
void *bench_sink(void *arg);
void *bench_publisher(void *arg);

/* --stack-probe */
void bench_stack_paint(size_t stack_size, void **top, void **base);
uint32_t bench_stack_used(void *top, void *base);

#endif
