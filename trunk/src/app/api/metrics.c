/* Every value is read from live state when scraped; nothing is counted per
 * message for the metrics' sake. */
#include "metrics.h"
#include "rill_error.h"
#include "rill_proc.h"
#include "api_view.h"
#include "stats.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int put(rill_writer_t *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int put(rill_writer_t *w, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0) return RILL_ERR_INVAL;
    return rill_write_bytes(w, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

int metrics_label_value(rill_writer_t *w, const char *v)
{
    int rc = 0;
    for (; *v && !rc; v++) {
        if (*v == '\\') rc = rill_write_bytes(w, "\\\\", 2);
        else if (*v == '"') rc = rill_write_bytes(w, "\\\"", 2);
        else if (*v == '\n') rc = rill_write_bytes(w, "\\n", 2);
        else rc = rill_write_u8(w, (uint8_t)*v);
    }
    return rc;
}

static int family(rill_writer_t *w, const char *name, const char *type, const char *help)
{
    return put(w, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A sample's value: integers as integers, the rest with enough digits. */
static int value(rill_writer_t *w, double v)
{
    /* range first: NaN never reaches the cast */
    if (v > -1e18 && v < 1e18 && v == (double)(long long)v) return put(w, " %lld\n", (long long)v);
    return put(w, " %.15g\n", v);
}

/* A family with one unlabelled sample. */
static int single(rill_writer_t *w, const char *name, const char *type, const char *help, double v)
{
    int rc = family(w, name, type, help);
    if (!rc) rc = rill_write_bytes(w, name, strlen(name));
    return rc ? rc : value(w, v);
}

static int stream_sample(rill_writer_t *w, const char *name, const source_t *s, double v)
{
    int rc = put(w, "%s{vhost=\"", name);
    if (!rc) rc = metrics_label_value(w, s->vhost);
    if (!rc) rc = rill_write_bytes(w, "\",app=\"", 7);
    if (!rc) rc = metrics_label_value(w, s->app);
    if (!rc) rc = rill_write_bytes(w, "\",stream=\"", 10);
    if (!rc) rc = metrics_label_value(w, s->stream);
    if (!rc) rc = rill_write_bytes(w, "\"}", 2);
    return rc ? rc : value(w, v);
}

/* Per-stream families: one sample for each source. */
enum { PS_PLAYERS, PS_PUBLISHED, PS_RECV, PS_SENT, PS_FRAMES, PS_COUNT };

static double per_stream_value(int which, const source_t *s)
{
    switch (which) {
    case PS_PLAYERS: return s->nconsumers;
    case PS_PUBLISHED: return s->publisher != NULL;
    case PS_RECV: return (double)s->bytes_in;
    case PS_SENT: return (double)s->bytes_out;
    default: return (double)s->video_frames;
    }
}

static int per_stream(rill_writer_t *w, api_view_t *view)
{
    static const struct { const char *name, *type, *help; } fams[PS_COUNT] = {
        { "rill_stream_consumers", "gauge", "Players and forwarders reading the stream." },
        { "rill_stream_published", "gauge", "1 while the stream has a publisher (or an edge upstream)." },
        { "rill_stream_received_bytes_total", "counter", "Media payload bytes the stream received." },
        { "rill_stream_sent_bytes_total", "counter", "Bytes sent to the stream's consumers, framing included." },
        { "rill_stream_video_frames_total", "counter", "Video frames the stream received." },
    };
    int rc = 0;
    for (int k = 0; k < PS_COUNT && !rc; k++) {
        rc = family(w, fams[k].name, fams[k].type, fams[k].help);
        for (const source_t *s = view->env->hub.sources; s && !rc; s = s->next)
            rc = stream_sample(w, fams[k].name, s, per_stream_value(k, s));
    }
    return rc;
}

int metrics_write(api_view_t *view, int64_t now, rill_writer_t *w)
{
    int clients[5] = { 0 };
    for (const client_t *c = view->env->clients.list; c; c = c->next)
        if (c->type >= 0 && c->type < 5) clients[c->type]++;
    int published = 0;
    for (const source_t *s = view->env->hub.sources; s; s = s->next) published += s->publisher != NULL;
    int fwd_states[3] = { 0 }, edge_states[3] = { 0 };
    uint64_t reconnects = 0, switches = 0;
    for (const forwarder_t *f = view->env->fwd.list; f; f = f->next) {
        if (f->state >= 0 && f->state < 3) fwd_states[f->state]++;
        reconnects += f->reconnects;
    }
    for (const edge_pull_t *g = view->env->edge.list; g; g = g->next) {
        if (g->state >= 0 && g->state < 3) edge_states[g->state]++;
        switches += g->switches;
    }
    uint64_t in, out, cin, cout;
    stats_bytes(view->env, &in, &out);
    clients_bytes(&view->env->clients, &cin, &cout);
    int http = api_view_http_conns(view);
    rill_proc_t p;
    int proc_ok = rill_proc_self(&p) == 0;

    int rc = single(w, "rill_uptime_seconds", "gauge", "Seconds since the server started.",
                    (double)(now - view->env->start_ms) / 1000.0);
    if (!rc) rc = family(w, "rill_connections", "gauge", "Open connections by protocol.");
    if (!rc) rc = put(w, "rill_connections{proto=\"rtmp\"} %d\nrill_connections{proto=\"http\"} %d\n", view->rtmp->count, http);
    if (!rc) rc = single(w, "rill_connections_accepted_total", "counter", "RTMP connections accepted.",
                         (double)view->rtmp->total);
    if (!rc) rc = family(w, "rill_clients", "gauge", "Clients by type (rtmp: connected, not yet publishing or playing).");
    static const char *types[5] = { "rtmp", "publish", "play", "flv", "hls" };
    for (int i = 0; i < 5 && !rc; i++) rc = put(w, "rill_clients{type=\"%s\"} %d\n", types[i], clients[i]);
    if (!rc) rc = single(w, "rill_publishers", "gauge", "Clients publishing.", clients[CLIENT_PUBLISH]);
    if (!rc) rc = single(w, "rill_players", "gauge", "Clients playing (RTMP, HTTP-FLV, HLS sessions).",
                         clients[CLIENT_PLAY] + clients[CLIENT_FLV] + clients[CLIENT_HLS]);
    if (!rc) rc = single(w, "rill_streams", "gauge", "Streams the hub holds (published or awaited by players).",
                         view->env->hub.nsources);
    if (!rc) rc = single(w, "rill_streams_published", "gauge", "Streams with a publisher or an edge upstream.", published);
    if (!rc) rc = single(w, "rill_received_bytes_total", "counter",
                         "Bytes received from clients and edge upstreams.", (double)in);
    if (!rc) rc = single(w, "rill_sent_bytes_total", "counter", "Bytes sent to clients and by forwarders.", (double)out);
    if (!rc) rc = single(w, "rill_client_received_bytes_total", "counter", "Bytes received from clients.", (double)cin);
    if (!rc) rc = single(w, "rill_client_sent_bytes_total", "counter", "Bytes sent to clients.", (double)cout);
    if (!rc) rc = single(w, "rill_clients_closed_total", "counter", "Clients that left.", (double)view->env->clients.closed);
    if (!rc) rc = family(w, "rill_errors_total", "counter",
                         "Errors: clients that ended with an error, connections refused at max_connections, "
                         "hook calls with no usable answer.");
    if (!rc) rc = put(w, "rill_errors_total{kind=\"client\"} %llu\nrill_errors_total{kind=\"refused\"} %llu\n"
                      "rill_errors_total{kind=\"hook\"} %llu\n", (unsigned long long)view->env->clients.errors,
                      (unsigned long long)view->rtmp->refused, (unsigned long long)view->env->hooks.failed);
    if (!rc) rc = family(w, "rill_hook_calls_total", "counter", "HTTP callbacks by result.");
    if (!rc) rc = put(w, "rill_hook_calls_total{result=\"allowed\"} %llu\nrill_hook_calls_total{result=\"denied\"} %llu\n"
                      "rill_hook_calls_total{result=\"failed\"} %llu\n", (unsigned long long)view->env->hooks.allowed,
                      (unsigned long long)view->env->hooks.denied, (unsigned long long)view->env->hooks.failed);
    if (!rc) rc = family(w, "rill_forwarders", "gauge", "Forwarders (and edge publish upstreams) by state.");
    for (int i = 0; i < 3 && !rc; i++) rc = put(w, "rill_forwarders{state=\"%s\"} %d\n", forward_state_name(i), fwd_states[i]);
    if (!rc) rc = single(w, "rill_forward_sent_bytes_total", "counter", "Bytes sent by forwarders.",
                         (double)forward_bytes_total(&view->env->fwd));
    if (!rc) rc = single(w, "rill_forward_reconnects", "gauge", "Reconnects of the running forwarders.", (double)reconnects);
    if (!rc) rc = family(w, "rill_edge_upstreams", "gauge", "Edge upstreams (one per pulled stream) by state.");
    for (int i = 0; i < 3 && !rc; i++) rc = put(w, "rill_edge_upstreams{state=\"%s\"} %d\n", edge_state_name(i), edge_states[i]);
    if (!rc) rc = single(w, "rill_edge_received_bytes_total", "counter", "Bytes received from origins.",
                         (double)edge_bytes_total(&view->env->edge));
    if (!rc) rc = single(w, "rill_edge_switches", "gauge", "Origin switches of the running edge upstreams.", (double)switches);
    if (!rc && proc_ok) rc = single(w, "process_cpu_seconds_total", "counter", "User and system CPU time.", p.cpu_seconds);
    if (!rc && proc_ok) rc = single(w, "process_resident_memory_bytes", "gauge", "Resident memory.", (double)p.rss_bytes);
    if (!rc) rc = per_stream(w, view);
    return rc;
}
