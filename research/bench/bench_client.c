/* What every kind of client reports to its job: connected, failed, done,
 * and the media it received. */
#include "bench_run.h"
#include "flv.h"
#include "rill_error.h"
#include "rill_time.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

uint8_t bench_rbuf[BENCH_RBUF_SIZE];
bench_lat_table_t *bench_lat;
int64_t bench_stall_us = 1000000;

#define MAX_REPORTED_FAILURES 5
#define LAT_MAX_AGE_US (60 * 1000000LL)

st_utime_t bench_until(int64_t t_us)
{
    int64_t l = t_us - rill_now_us();
    return (st_utime_t)(l > 1000 ? l : 1000);
}

static void all_in_check(bench_job_state_t *js)
{
    if (js->all_in_us || js->connecting || js->started < js->job->count) return;
    js->all_in_us = rill_now_us();
    js->bytes_all_in = js->bytes;
}

static void log_failure(bench_client_t *c, const char *what, int rc)
{
    bench_job_state_t *js = c->js;
    if (js->reported_failures >= MAX_REPORTED_FAILURES) return;
    js->reported_failures++;
    fprintf(stderr, "rill-bench: %s #%d of %s: %s (%s)%s\n", js->job->kind == BENCH_PUBLISH ? "publisher" : "client",
            c->index, js->job->url.text, what, rc ? rill_strerror(rc) : strerror(errno),
            js->reported_failures == MAX_REPORTED_FAILURES ? " [further failures not shown]" : "");
}

void bench_client_connected(bench_client_t *c)
{
    bench_job_state_t *js = c->js;
    js->connecting--;
    js->playing++;
    all_in_check(js);
}

void bench_client_failed(bench_client_t *c, const char *what, int rc)
{
    bench_job_state_t *js = c->js;
    js->connecting--;
    js->failed++;
    log_failure(c, what, rc);
    all_in_check(js);
}

void bench_client_done(bench_client_t *c, int ended, const char *why, int rc)
{
    bench_job_state_t *js = c->js;
    js->playing--;
    if (ended) {
        js->finished++;
        if (js->job->kind == BENCH_PLAY && !c->ps.first_frame) js->no_frame++;
    } else {
        js->dropped++;
        log_failure(c, why, rc);
    }
    /* a stall still going on at the end counts too */
    if (bench_pstat_check(&c->ps, rill_now_us(), bench_stall_us)) js->stalls++;
}

static void media(bench_client_t *c, int64_t now, int key)
{
    uint32_t before = c->ps.stalls;
    double ff = bench_pstat_media(&c->ps, now, key, bench_stall_us);
    c->js->stalls += c->ps.stalls - before;
    if (ff >= 0 && c->js->nff < (size_t)c->js->job->count) c->js->ff[c->js->nff++] = ff;
}

void bench_on_video(bench_client_t *c, int64_t now, const uint8_t *p, size_t n, const uint8_t *tail,
                    size_t tail_len, uint32_t size)
{
    flv_video_info_t vi;
    if (flv_video_probe(p, n, &vi) != 0 || vi.seq_header || vi.end_of_seq) return;
    media(c, now, vi.keyframe);
    if (!bench_lat || !c->precise) return;
    int64_t sent;
    /* a message sent before this player asked to play came from the GOP
     * cache: its age says nothing about the live path */
    if (bench_lat_get(bench_lat, bench_lat_key(size, tail, tail_len), now, LAT_MAX_AGE_US, &sent) &&
        sent >= c->ps.requested)
        bench_hist_add(c->js->lat, (double)(now - sent) / 1000.0);
}

void bench_after_read(bench_client_t *c)
{
    bench_job_state_t *js = c->js;
    if (c->precise || !c->ps.first_frame) return;
    int64_t pause = (int64_t)(js->job->read_interval * 1000), left = js->end_us - rill_now_us();
    if (pause > left) pause = left;
    if (pause > 0) st_usleep((st_utime_t)pause);
}

void bench_on_audio(bench_client_t *c, int64_t now)
{
    media(c, now, 0);
}
