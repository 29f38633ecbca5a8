#include "bench_report.h"
#include "rill_error.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void bench_totals_clear(bench_totals_t *t)
{
    memset(t, 0, sizeof *t);
    t->kbps = t->window_s = -1;
    t->ff_p50 = t->ff_p99 = t->ff_max = -1;
    t->lat_p50 = t->lat_p99 = -1;
    t->reconnect_stall_max_ms = -1;
}

static int put(rill_writer_t *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int put(rill_writer_t *w, const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0) return RILL_ERR_INVAL;
    return rill_write_bytes(w, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

/* A number with d decimals, or null when negative / not finite. */
static int num(rill_writer_t *w, const char *key, double v, int d)
{
    if (!(v >= 0) || !isfinite(v)) return put(w, "\"%s\":null", key);
    return put(w, "\"%s\":%.*f", key, d, v);
}

static int str(rill_writer_t *w, const char *key, const char *s)
{
    int rc = put(w, "\"%s\":\"", key);
    for (const unsigned char *p = (const unsigned char *)s; !rc && *p; p++) {
        if (*p == '"' || *p == '\\') rc = put(w, "\\%c", *p);
        else if (*p < 0x20) rc = put(w, "\\u%04x", *p);
        else rc = rill_write_u8(w, *p);
    }
    return rc ? rc : put(w, "\"");
}

static int fields(rill_writer_t *w, const bench_totals_t *t)
{
    int rc = 0;
    if (t->kind) rc = str(w, "kind", t->kind);
    if (!rc && t->url) rc = put(w, ",");
    if (!rc && t->url) rc = str(w, "url", t->url);
    if (!rc && t->kind) rc = put(w, ",");
    if (!rc) rc = put(w, "\"connected\":%d,\"failed\":%d,", t->connected, t->failed);
    if (!rc) rc = num(w, "kbps", t->kbps, 1);
    if (!rc) rc = put(w, ",\"stalls\":%llu,", (unsigned long long)t->stalls);
    if (!rc) rc = num(w, "first_frame_ms_p50", t->ff_p50, 1);
    if (!rc) rc = put(w, ",");
    if (!rc) rc = num(w, "first_frame_ms_p99", t->ff_p99, 1);
    if (!rc) rc = put(w, ",");
    if (!rc) rc = num(w, "latency_ms_p50", t->lat_p50, 1);
    if (!rc) rc = put(w, ",");
    if (!rc) rc = num(w, "latency_ms_p99", t->lat_p99, 1);
    if (!rc) rc = put(w, ",");
    if (!rc) rc = num(w, "first_frame_ms_max", t->ff_max, 1);
    if (!rc) rc = put(w, ",\"requested\":%d,\"started\":%d,\"dropped\":%d,\"no_frame\":%d,\"bytes\":%llu,",
                      t->requested, t->started, t->dropped, t->no_frame, (unsigned long long)t->bytes);
    if (!rc) rc = num(w, "window_s", t->window_s, 2);
    if (!rc) rc = put(w, ",\"latency_samples\":%llu", (unsigned long long)t->lat_samples);
    return rc;
}

int bench_json(rill_writer_t *w, const bench_totals_t *total, const bench_totals_t *pub,
               const bench_totals_t *jobs, int njobs)
{
    int rc = put(w, "{");
    if (!rc) rc = fields(w, total);
    if (!rc && pub) {
        rc = put(w, ",\"publish\":{\"connected\":%d,\"failed\":%d,\"dropped\":%d,", pub->connected, pub->failed,
                 pub->dropped);
        if (!rc) rc = num(w, "kbps", pub->kbps, 1);
        if (!rc) rc = put(w, ",\"reconnects\":%llu,", (unsigned long long)pub->reconnects);
        if (!rc) rc = num(w, "reconnect_stall_ms_max", pub->reconnect_stall_max_ms, 1);
        if (!rc) rc = put(w, "}");
    }
    if (!rc) rc = put(w, ",\"jobs\":[");
    for (int i = 0; !rc && i < njobs; i++) {
        rc = put(w, i ? ",{" : "{");
        if (!rc) rc = fields(w, &jobs[i]);
        if (!rc) rc = put(w, "}");
    }
    if (!rc) rc = put(w, "]}");
    return rc;
}
