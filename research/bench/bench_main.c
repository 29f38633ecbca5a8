/* rill-bench: a load generator on state-threads. Parses the command line,
 * starts each job's clients at their ramp rate, prints progress on stderr
 * and, after the run, one JSON line of totals on stdout. */
#include "bench_net.h"
#include "bench_opts.h"
#include "bench_report.h"
#include "bench_run.h"
#include "rill_error.h"
#include "rill_log.h"
#include "rill_time.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static bench_opts_t g_opts;
static bench_job_state_t g_jobs[BENCH_MAX_JOBS];
static bench_flvfile_t g_flv[BENCH_MAX_JOBS];
static int64_t g_run_start;

typedef void *(*client_fn_t)(void *);

static client_fn_t client_fn(const bench_job_t *j)
{
    if (j->kind == BENCH_PUBLISH) return bench_publisher;
    if (j->kind == BENCH_SINK) return bench_sink;
    return j->url.proto == BENCH_HTTP_FLV ? bench_flv_player : bench_rtmp_player;
}

static void *probed_client(void *arg)
{
    bench_client_t *c = arg;
    void *top, *base;
    bench_stack_paint((size_t)g_opts.stack_kb * 1024, &top, &base);
    client_fn(c->js->job)(c);
    uint32_t used = bench_stack_used(top, base);
    if (used > c->js->stack_used) c->js->stack_used = used;
    return NULL;
}

static void sleep_until(int64_t t)
{
    int64_t now = rill_now_us();
    if (t > now) st_usleep((st_utime_t)(t - now));
}

/* Starts a job's clients at its ramp rate, then waits for all of them. */
static void *spawner(void *arg)
{
    bench_job_state_t *js = arg;
    const bench_job_t *j = js->job;
    client_fn_t fn = g_opts.stack_probe ? probed_client : client_fn(j);
    int stack = g_opts.stack_kb * 1024;
    sleep_until(js->start_us);
    for (int i = 0; i < j->count; i++) {
        if (j->ramp > 0) sleep_until(js->start_us + (int64_t)((double)i * 1e6 / j->ramp));
        if (rill_now_us() >= js->end_us) break;
        bench_client_t *c = &js->clients[i];
        c->js = js;
        c->index = i;
        c->precise = j->read_interval <= 0 || i % 50 == 0;
        js->started++;
        js->connecting++;
        c->thread = st_thread_create(fn, c, 1, stack);
        if (!c->thread) bench_client_failed(c, "st_thread_create", RILL_ERR_NOMEM);
    }
    for (int i = 0; i < js->started; i++)
        if (js->clients[i].thread) st_thread_join(js->clients[i].thread, NULL);
    return NULL;
}

/* ---------------------------------------------------------------- figures */

static double job_window(const bench_job_state_t *js, uint64_t *bytes)
{
    double w = js->all_in_us ? (double)(js->end_us - js->all_in_us) / 1e6 : 0;
    if (w >= 0.5) {
        *bytes = js->bytes - js->bytes_all_in;
        return w;
    }
    *bytes = js->bytes;
    return (double)(js->end_us - js->start_us) / 1e6;
}

static void job_totals(bench_job_state_t *js, bench_totals_t *t)
{
    bench_totals_clear(t);
    t->kind = js->job->kind == BENCH_PUBLISH ? "publish" : js->job->kind == BENCH_PLAY ? "play" : "sink";
    t->url = js->job->url.text;
    t->requested = js->job->count;
    t->started = js->started;
    t->connected = js->finished;
    t->failed = js->failed;
    t->dropped = js->dropped;
    t->no_frame = js->no_frame;
    t->bytes = js->bytes;
    t->stalls = js->stalls;
    uint64_t b;
    t->window_s = job_window(js, &b);
    t->kbps = t->window_s > 0 ? (double)b * 8 / 1000 / t->window_s : -1;
    if (js->nff) {
        t->ff_p50 = bench_percentile(js->ff, js->nff, 50);
        t->ff_p99 = bench_percentile(js->ff, js->nff, 99);
        t->ff_max = bench_percentile(js->ff, js->nff, 100);
    }
    if (js->lat && js->lat->count) {
        t->lat_p50 = bench_hist_percentile(js->lat, 50);
        t->lat_p99 = bench_hist_percentile(js->lat, 99);
        t->lat_samples = js->lat->count;
    }
    t->reconnects = js->reconnects;
    if (js->reconnects) t->reconnect_stall_max_ms = js->reconnect_stall_max_ms;
}

/* Totals over every player and sink job. */
static int all_totals(bench_totals_t *jt, bench_totals_t *total, bench_totals_t *pub, int *has_pub)
{
    bench_totals_clear(total);
    bench_totals_clear(pub);
    *has_pub = 0;
    size_t nff = 0;
    for (int i = 0; i < g_opts.njobs; i++) nff += g_jobs[i].nff;
    double *ff = malloc((nff ? nff : 1) * sizeof *ff);
    bench_hist_t *lat = calloc(1, sizeof *lat);
    if (!ff || !lat) {
        free(ff);
        free(lat);
        return RILL_ERR_NOMEM;
    }
    nff = 0;
    for (int i = 0; i < g_opts.njobs; i++) {
        bench_job_state_t *js = &g_jobs[i];
        memcpy(ff + nff, js->ff, js->nff * sizeof *ff);
        nff += js->nff;
        if (js->lat) bench_hist_merge(lat, js->lat);
        job_totals(js, &jt[i]);
        bench_totals_t *into = js->job->kind == BENCH_PUBLISH ? pub : total;
        if (js->job->kind == BENCH_PUBLISH) *has_pub = 1;
        into->requested += jt[i].requested;
        into->started += jt[i].started;
        into->connected += jt[i].connected;
        into->failed += jt[i].failed;
        into->dropped += jt[i].dropped;
        into->no_frame += jt[i].no_frame;
        into->bytes += jt[i].bytes;
        into->stalls += jt[i].stalls;
        into->reconnects += jt[i].reconnects;
        if (jt[i].reconnect_stall_max_ms > into->reconnect_stall_max_ms)
            into->reconnect_stall_max_ms = jt[i].reconnect_stall_max_ms;
        if (jt[i].kbps >= 0) into->kbps = (into->kbps < 0 ? 0 : into->kbps) + jt[i].kbps;
        if (into->window_s < 0 || jt[i].window_s < into->window_s) into->window_s = jt[i].window_s;
    }
    if (nff) {
        total->ff_p50 = bench_percentile(ff, nff, 50);
        total->ff_p99 = bench_percentile(ff, nff, 99);
        total->ff_max = bench_percentile(ff, nff, 100);
    }
    if (lat->count) {
        total->lat_p50 = bench_hist_percentile(lat, 50);
        total->lat_p99 = bench_hist_percentile(lat, 99);
        total->lat_samples = lat->count;
    }
    free(ff);
    free(lat);
    return 0;
}

/* ---------------------------------------------------------------- progress */

static void progress_line(bench_job_state_t *js, uint64_t *last_bytes, double dt)
{
    const bench_job_t *j = js->job;
    double kbps = dt > 0 ? (double)(js->bytes - *last_bytes) * 8 / 1000 / dt : 0;
    *last_bytes = js->bytes;
    char ff[64] = "", lat[64] = "";
    if (js->nff) {
        double *tmp = malloc(js->nff * sizeof *tmp);
        if (tmp) {
            memcpy(tmp, js->ff, js->nff * sizeof *tmp);
            snprintf(ff, sizeof ff, " | first frame p50 %.0f p99 %.0f ms", bench_percentile(tmp, js->nff, 50),
                     bench_percentile(tmp, js->nff, 99));
            free(tmp);
        }
    }
    if (js->lat && js->lat->count)
        snprintf(lat, sizeof lat, " | latency p50 %.1f p99 %.1f ms", bench_hist_percentile(js->lat, 50),
                 bench_hist_percentile(js->lat, 99));
    const char *kind = j->kind == BENCH_PUBLISH ? "publish" : j->kind == BENCH_PLAY ? "play" : "sink";
    fprintf(stderr, "[%6.1fs] %s#%d %s: %s %d/%d failed %d dropped %d | %.0f kbps | stalls %llu%s%s\n",
            (double)(rill_now_us() - g_run_start) / 1e6, kind, js->index + 1, j->url.text,
            j->kind == BENCH_PUBLISH ? "publishing" : "connected", js->playing, j->count, js->failed, js->dropped,
            kbps, (unsigned long long)js->stalls, ff, lat);
}

static void *reporter(void *arg)
{
    (void)arg;
    uint64_t last[BENCH_MAX_JOBS] = { 0 };
    int64_t prev = rill_now_us();
    for (;;) {
        if (st_usleep((st_utime_t)(g_opts.report * 1e6)) < 0) return NULL;   /* interrupted: done */
        int64_t now = rill_now_us();
        for (int i = 0; i < g_opts.njobs; i++)
            if (now >= g_jobs[i].start_us) progress_line(&g_jobs[i], &last[i], (double)(now - prev) / 1e6);
        prev = now;
    }
}

/* ---------------------------------------------------------------- set-up */

static int job_setup(bench_job_state_t *js, int i, char *err, size_t errlen)
{
    const bench_job_t *j = &g_opts.jobs[i];
    js->job = j;
    js->opts = &g_opts;
    js->index = i;
    js->start_us = g_run_start + (int64_t)(j->delay * 1e6);
    js->end_us = js->start_us + (int64_t)(j->duration * 1e6);
    js->ntargets = j->kind == BENCH_PUBLISH ? j->count : j->kind == BENCH_PLAY ? j->streams : 1;
    js->targets = calloc((size_t)js->ntargets, sizeof *js->targets);
    js->clients = calloc((size_t)j->count, sizeof *js->clients);
    js->ff = calloc((size_t)j->count, sizeof *js->ff);
    js->lat = j->kind == BENCH_PLAY ? calloc(1, sizeof *js->lat) : NULL;
    if (!js->targets || !js->clients || !js->ff || (j->kind == BENCH_PLAY && !js->lat)) {
        snprintf(err, errlen, "out of memory");
        return RILL_ERR_NOMEM;
    }
    for (int k = 0; k < js->ntargets; k++) {
        char url[BENCH_URL_MAX];
        int rc = bench_url_expand(j->url.text, k, url, sizeof url);
        if (!rc) rc = bench_target_parse(url, &js->targets[k], err, errlen);
        if (rc) return rc;
    }
    if (j->kind == BENCH_PUBLISH) {
        int rc = bench_flvfile_load(&g_flv[i], j->file);
        if (rc) {
            snprintf(err, errlen, "%s: %s", j->file, rc == RILL_ERR_IO ? strerror(errno) : rill_strerror(rc));
            return rc;
        }
        js->flv = &g_flv[i];
    }
    return 0;
}

static void job_free(bench_job_state_t *js)
{
    free(js->targets);
    free(js->clients);
    free(js->ff);
    free(js->lat);
    if (js->flv) bench_flvfile_free(&g_flv[js->index]);
    memset(js, 0, sizeof *js);
}

static void raise_nofile(int need)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if ((rlim_t)need > rl.rlim_cur)
        fprintf(stderr, "rill-bench: warning: %d connections but only %llu file descriptors (ulimit -n)\n", need,
                (unsigned long long)rl.rlim_cur);
}

int main(int argc, char **argv)
{
    char err[512] = "";
    int help = 0;
    if (bench_opts_parse(argc, argv, &g_opts, &help, err, sizeof err) != 0) {
        fprintf(stderr, "rill-bench: %s\n%s", err, bench_usage());
        return 2;
    }
    if (help) {
        fputs(bench_usage(), stdout);
        return 0;
    }
    int conns = 16, has_pub = 0;
    for (int i = 0; i < g_opts.njobs; i++) {
        conns += g_opts.jobs[i].count;
        has_pub |= g_opts.jobs[i].kind == BENCH_PUBLISH;
    }
    raise_nofile(conns);
    signal(SIGPIPE, SIG_IGN);
    if (st_set_eventsys(ST_EVENTSYS_POLL) != 0 || st_init() != 0 || bench_net_init() != 0) {
        fprintf(stderr, "rill-bench: state-threads init failed: %s\n", strerror(errno));
        return 1;
    }
    rill_log_set_level(RILL_LOG_WARN);
    bench_stall_us = (int64_t)(g_opts.stall_ms * 1000);
    if (has_pub) bench_lat = calloc(1, sizeof *bench_lat);

    g_run_start = rill_now_us();
    int rc = 0;
    for (int i = 0; i < g_opts.njobs && !rc; i++) rc = job_setup(&g_jobs[i], i, err, sizeof err);
    for (int i = 0; i < g_opts.njobs && !rc; i++) {
        g_jobs[i].spawner = st_thread_create(spawner, &g_jobs[i], 1, 64 * 1024);
        if (!g_jobs[i].spawner) rc = RILL_ERR_NOMEM;
    }
    if (rc) {
        fprintf(stderr, "rill-bench: %s\n", err[0] ? err : rill_strerror(rc));
        for (int i = 0; i < g_opts.njobs; i++) {
            if (g_jobs[i].spawner) st_thread_join(g_jobs[i].spawner, NULL);
            job_free(&g_jobs[i]);
        }
        free(bench_lat);
        return 1;
    }
    st_thread_t rep = g_opts.report > 0 ? st_thread_create(reporter, NULL, 1, 64 * 1024) : NULL;
    for (int i = 0; i < g_opts.njobs; i++) st_thread_join(g_jobs[i].spawner, NULL);
    if (rep) {
        st_thread_interrupt(rep);
        st_thread_join(rep, NULL);
    }

    bench_totals_t jt[BENCH_MAX_JOBS], total, pub;
    rc = all_totals(jt, &total, &pub, &has_pub);
    for (int i = 0; !rc && i < g_opts.njobs; i++)
        if (g_opts.stack_probe)
            fprintf(stderr, "rill-bench: job %d: deepest stack use %u bytes of %d KiB\n", i + 1, g_jobs[i].stack_used,
                    g_opts.stack_kb);
    rill_writer_t w;
    rill_writer_init(&w, 0);
    if (!rc) rc = bench_json(&w, &total, has_pub ? &pub : NULL, jt, g_opts.njobs);
    if (!rc) printf("%.*s\n", (int)w.len, (const char *)w.data);
    fflush(stdout);
    rill_writer_free(&w);
    for (int i = 0; i < g_opts.njobs; i++) job_free(&g_jobs[i]);
    free(bench_lat);
    return rc ? 1 : 0;
}
