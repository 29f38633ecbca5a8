#include "hls.h"
#include "edge.h"
#include "hls_name.h"
#include "http_hooks.h"
#include "rill_error.h"
#include "rill_log.h"
#include "rill_time.h"

#include <libavutil/log.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SWEEP_US (1000 * 1000)

hls_stream_t *hls_find(hls_mgr_t *m, const char *vhost, const char *app, const char *stream)
{
    for (hls_stream_t *h = m->streams; h; h = h->next)
        if (!strcmp(h->stream, stream) && !strcmp(h->app, app) && !strcmp(h->vhost, vhost)) return h;
    return NULL;
}

/* A segment's URI in the playlist: relative to the playlist's directory
 * when it lies under it, else absolute; after hls_entry_prefix when set. */
static int segment_uri(const vhost_conf_t *vc, const char *app, const char *stream, char *prefix,
                       size_t plen, char *suffix, size_t slen)
{
    char ts[1024], m3u8[1024];
    if (hls_name_render(vc->hls_ts_file, vc->name, app, stream, ts, sizeof ts) ||
        hls_name_render(vc->hls_m3u8_file, vc->name, app, stream, m3u8, sizeof m3u8))
        return RILL_ERR_LIMIT;
    char *seq = strstr(ts, "[seq]");
    if (!seq) return RILL_ERR_CONF;
    *seq = 0;
    const char *rel = ts;
    char *slash = strrchr(m3u8, '/');
    size_t dir = slash ? (size_t)(slash - m3u8) + 1 : 0;
    int n;
    if (vc->hls_entry_prefix) {
        size_t e = strlen(vc->hls_entry_prefix);
        n = snprintf(prefix, plen, "%s%s%s", vc->hls_entry_prefix, e && vc->hls_entry_prefix[e - 1] == '/' ? "" : "/",
                     ts);
    } else if (strncmp(ts, m3u8, dir) == 0) {
        rel = ts + dir;
        n = snprintf(prefix, plen, "%s", rel);
    } else {
        n = snprintf(prefix, plen, "/%s", ts);
    }
    if (n < 0 || (size_t)n >= plen) return RILL_ERR_LIMIT;
    n = snprintf(suffix, slen, "%s", seq + 5);
    return n < 0 || (size_t)n >= slen ? RILL_ERR_LIMIT : 0;
}

/* ---- files (hls_path) -------------------------------------------------------
 * Written by the disk thread (hls_disk.c): here only jobs are queued, in the
 * order the files must change: new segments, then the playlist naming them,
 * then the removal of those that left it. */

static int disk_paths(hls_mgr_t *m, hls_stream_t *h)
{
    const vhost_conf_t *vc = h->vc;
    char m3u8[1024], ts[1024], full[2200];
    if (!m->disk.started && hls_disk_start(&m->disk) != 0) return RILL_ERR_SYSTEM;
    if (hls_name_render(vc->hls_m3u8_file, vc->name, h->app, h->stream, m3u8, sizeof m3u8) ||
        hls_name_render(vc->hls_ts_file, vc->name, h->app, h->stream, ts, sizeof ts))
        return RILL_ERR_LIMIT;
    if (!hls_name_file_safe(m3u8) || !hls_name_file_safe(ts)) return RILL_ERR_INVAL;
    char *seq = strstr(ts, "[seq]");
    if (!seq) return RILL_ERR_CONF;
    *seq = 0;
    snprintf(full, sizeof full, "%s/%s", vc->hls_path, m3u8);
    if (!(h->disk_m3u8 = strdup(full))) return RILL_ERR_NOMEM;
    snprintf(full, sizeof full, "%s/%s", vc->hls_path, ts);
    if (!(h->disk_ts_prefix = strdup(full)) || !(h->disk_ts_suffix = strdup(seq + 5))) return RILL_ERR_NOMEM;
    h->disk_first = 1;
    h->disk_last = 0;
    h->disk = 1;
    return 0;
}

static void disk_ts_path(const hls_stream_t *h, uint64_t seq, char *out, size_t len)
{
    snprintf(out, len, "%s%llu%s", h->disk_ts_prefix, (unsigned long long)seq, h->disk_ts_suffix);
}

/* Bring the files up to the segmenter: never yields. */
static void disk_sync(hls_mgr_t *m, hls_stream_t *h)
{
    hls_seg_t *g = h->seg;
    if (!h->disk || (g->segments_made == h->disk_made && g->playlist == h->disk_pl)) return;
    char path[2400];
    uint64_t fresh = g->segments_made - h->disk_made;
    if (fresh > (uint64_t)g->nsegs) fresh = (uint64_t)g->nsegs;
    for (int i = g->nsegs - (int)fresh; i < g->nsegs; i++) {
        disk_ts_path(h, g->segs[i].seq, path, sizeof path);
        if (hls_disk_write(&m->disk, path, g->segs[i].data) != 0) continue;
        if (h->disk_first > h->disk_last) h->disk_first = g->segs[i].seq;
        h->disk_last = g->segs[i].seq;
    }
    h->disk_made = g->segments_made;
    if (g->playlist != h->disk_pl) {
        rill_payload_unref(h->disk_pl);
        h->disk_pl = rill_payload_ref(g->playlist);
        if (g->playlist) hls_disk_write(&m->disk, h->disk_m3u8, g->playlist);
    }
    if (!h->vc->hls_cleanup || hls_seg_count(g) <= 0) return;
    uint64_t keep = g->segs[g->window_start].seq;
    for (; h->disk_first <= h->disk_last && h->disk_first < keep; h->disk_first++) {
        disk_ts_path(h, h->disk_first, path, sizeof path);
        hls_disk_unlink(&m->disk, path);
    }
}

/* Disposed: every file of the stream goes. */
static void disk_remove_all(hls_mgr_t *m, hls_stream_t *h)
{
    if (!h->disk) return;
    char path[2400];
    for (; h->disk_first <= h->disk_last; h->disk_first++) {
        disk_ts_path(h, h->disk_first, path, sizeof path);
        hls_disk_unlink(&m->disk, path);
    }
    hls_disk_unlink(&m->disk, h->disk_m3u8);
}

static hls_stream_t *stream_new(hls_mgr_t *m, const vhost_conf_t *vc, const char *app, const char *stream)
{
    char prefix[1400], suffix[1024];
    if (strlen(app) >= 256 || strlen(stream) >= 256 || strlen(vc->name) >= 256) return NULL;
    if (segment_uri(vc, app, stream, prefix, sizeof prefix, suffix, sizeof suffix) != 0) {
        rill_warn("hls %s/%s/%s: segment names too long", vc->name, app, stream);
        return NULL;
    }
    hls_stream_t *h = calloc(1, sizeof *h);
    if (!h) return NULL;
    hls_seg_conf_t sc = {
        .fragment_ms = (uint32_t)(vc->hls_fragment * 1000),
        .window_ms = (uint32_t)(vc->hls_window * 1000),
        .td_ratio = vc->hls_td_ratio,
        .aof_ratio = vc->hls_aof_ratio,
        .wait_keyframe = vc->hls_wait_keyframe,
        .uri_prefix = prefix,
        .uri_suffix = suffix,
    };
    h->seg = hls_seg_new(&sc);
    if (!h->seg) {
        free(h);
        return NULL;
    }
    /* Numbers from the wall clock: a restarted server never reuses a
     * segment URL that a cache in front may still hold. */
    h->seg->next_seq = (uint64_t)time(NULL);
    snprintf(h->vhost, sizeof h->vhost, "%s", vc->name);
    snprintf(h->app, sizeof h->app, "%s", app);
    snprintf(h->stream, sizeof h->stream, "%s", stream);
    h->vc = vc;
    h->last_req_ms = rill_now_ms();
    int drc = vc->hls_path_set ? disk_paths(m, h) : 0;
    if (drc)
        rill_warn("hls %s/%s/%s: no files for it (%s)", vc->name, app, stream,
                  drc == RILL_ERR_INVAL  ? "its names would leave hls_path"
                  : m->disk.started      ? "paths too long"
                                         : "the writer thread did not start");
    h->next = m->streams;
    m->streams = h;
    m->count++;
    return h;
}

/* Feed the segmenter from s, starting with what the source holds: its
 * headers and the cached GOP, so a first segment comes within one fragment. */
static void attach(hls_stream_t *h, source_t *s)
{
    h->src = s;
    s->hls = h;
    h->ended_ms = 0;
    hls_seg_publish(h->seg);
    if (s->video_sh) hls_seg_feed(h->seg, s->video_sh);
    if (s->audio_sh) hls_seg_feed(h->seg, s->audio_sh);
    if (!s->ring.has_gop) return;
    for (uint64_t q = s->ring.gop_start; q < s->ring.end; q++) {
        media_msg_t *msg = stream_ring_at(&s->ring, q);
        if (!(msg->flags & MEDIA_SEQ_HEADER)) hls_seg_feed(h->seg, msg);
    }
}

static void detach(hls_stream_t *h)
{
    if (!h->src) return;
    h->src->hls = NULL;
    h->src = NULL;
}

static void stream_free(hls_mgr_t *m, hls_stream_t *h);

static int same_str(const char *a, const char *b) { return !strcmp(a ? a : "", b ? b : ""); }

/* Does a stream made with a's settings cut and name its segments as b's would? */
static int same_segments(const vhost_conf_t *a, const vhost_conf_t *b)
{
    return a->hls_fragment == b->hls_fragment && a->hls_window == b->hls_window &&
           a->hls_td_ratio == b->hls_td_ratio && a->hls_aof_ratio == b->hls_aof_ratio &&
           a->hls_wait_keyframe == b->hls_wait_keyframe && same_str(a->hls_m3u8_file, b->hls_m3u8_file) &&
           same_str(a->hls_ts_file, b->hls_ts_file) && same_str(a->hls_entry_prefix, b->hls_entry_prefix) &&
           a->hls_path_set == b->hls_path_set && (!a->hls_path_set || same_str(a->hls_path, b->hls_path));
}

static void unlink_stream(hls_mgr_t *m, hls_stream_t *h)
{
    for (hls_stream_t **pp = &m->streams; *pp; pp = &(*pp)->next) {
        if (*pp == h) {
            *pp = h->next;
            m->count--;
            return;
        }
    }
}

/* h under vc's settings: h itself when they cut and name segments alike;
 * else a new stream in its place (a reload changed them), fed from h's
 * source and keeping an edge's hold, h's files removed. NULL: no memory
 * (h is kept). Never yields. */
static hls_stream_t *under(hls_mgr_t *m, hls_stream_t *h, const vhost_conf_t *vc)
{
    /* a caller that took vc before a reload (a request that waited on a
     * hook) must not take the stream back to the old settings */
    if (vc != config_vhost(m->env->conf, vc->name)) return h;
    if (same_segments(h->vc, vc)) {
        h->vc = vc;
        return h;
    }
    hls_stream_t *nh = stream_new(m, vc, h->app, h->stream);
    if (!nh) return NULL;
    rill_trace("hls %s/%s/%s: settings reloaded, the playlist starts over (fragment %.1fs, window %.0fs)", h->vhost,
               h->app, h->stream, vc->hls_fragment, vc->hls_window);
    nh->held = h->held;
    nh->consumer = h->consumer;
    h->held = NULL;
    h->consumer = NULL;
    source_t *s = h->src;
    detach(h);
    unlink_stream(m, h);
    stream_free(m, h);
    if (s) {
        attach(nh, s);
        disk_sync(m, nh);
    }
    return nh;
}

static void on_publish(void *ctx, source_t *s)
{
    hls_mgr_t *m = ctx;
    const vhost_conf_t *vc = config_vhost(m->env->conf, s->vhost);
    if (!vc || !vc->hls_enabled) return;
    hls_stream_t *h = hls_find(m, s->vhost, s->app, s->stream);
    /* an edge segments what players asked for (hls_edge_demand), nothing more */
    if (!h && vc->edge) return;
    if (!h && !(h = stream_new(m, vc, s->app, s->stream))) {
        rill_warn("hls %s/%s/%s: no memory, no HLS for this publish", s->vhost, s->app, s->stream);
        return;
    }
    hls_stream_t *nh = under(m, h, vc);
    if (!nh) {
        rill_warn("hls %s/%s/%s: no memory, no HLS for this publish", s->vhost, s->app, s->stream);
        return;
    }
    h = nh;
    detach(h);
    attach(h, s);
    disk_sync(m, h);
    rill_trace("hls %s/%s/%s: segmenting (fragment %.1fs, window %.0fs)", s->vhost, s->app, s->stream,
               vc->hls_fragment, vc->hls_window);
}

static void on_unpublish(void *ctx, source_t *s)
{
    hls_stream_t *h = s->hls;
    if (!h) return;
    hls_seg_unpublish(h->seg);
    disk_sync(ctx, h);
    h->ended_ms = rill_now_ms();
    detach(h);
}

static void on_message(void *ctx, source_t *s, media_msg_t *msg)
{
    hls_stream_t *h = s->hls;
    if (!h) return;
    /* the edge's consumer only keeps the pull alive: it never holds the ring back */
    if (h->consumer) h->consumer->cursor = s->ring.end;
    int rc = hls_seg_feed(h->seg, msg);
    disk_sync(ctx, h);
    if (rc) rill_warn("hls %s/%s/%s: %s, starting over at the next keyframe", s->vhost, s->app, s->stream,
                      rill_strerror(rc));
}

static void stream_free(hls_mgr_t *m, hls_stream_t *h)
{
    detach(h);
    disk_remove_all(m, h);
    rill_payload_unref(h->disk_pl);
    free(h->disk_m3u8);
    free(h->disk_ts_prefix);
    free(h->disk_ts_suffix);
    if (h->consumer) source_remove_consumer(h->consumer);
    h->consumer = NULL;
    if (h->held) hub_release(&m->env->hub, h->held);
    h->held = NULL;
    hls_seg_free(h->seg);
    free(h);
}

hls_stream_t *hls_edge_demand(hls_mgr_t *m, const vhost_conf_t *vc, const char *app, const char *stream,
                              const char *param)
{
    session_env_t *env = m->env;
    hls_stream_t *h = hls_find(m, vc->name, app, stream);
    if (h && !(h = under(m, h, vc))) return NULL;
    if (!h && !(h = stream_new(m, vc, app, stream))) return NULL;
    h->last_req_ms = rill_now_ms();
    if (!h->held) {
        h->held = hub_acquire(&env->hub, vc, vc->name, app, stream);
        if (!h->held) return NULL;
        h->consumer = source_add_consumer(h->held, NULL);
        if (!h->consumer) return NULL;
    }
    source_t *s = h->held;
    /* starts the pull, or keeps the one under way from going idle */
    if (edge_on_play(&env->edge, s, vc, param) != 0) return NULL;
    /* a pull that starts publishes at once: on_publish may have put a new
     * stream in h's place (settings reloaded) and freed h */
    if (!(h = hls_find(m, vc->name, app, stream))) return NULL;
    if (s->publisher && s->hls != h) {
        if (s->hls) detach(s->hls);
        attach(h, s);
        disk_sync(m, h);
        rill_trace("hls %s/%s/%s: segmenting on demand", vc->name, app, stream);
    }
    return h;
}

/* ---- sessions ------------------------------------------------------------ */

static int64_t session_timeout_ms(const vhost_conf_t *vc)
{
    /* as SRS's hls_ctx: twice the window */
    return (int64_t)(vc->hls_window * 2000);
}

hls_session_t *hls_session_find(hls_mgr_t *m, const char *vhost, const char *app, const char *stream,
                                const char *ip, const char *ua)
{
    for (hls_session_t *x = m->sessions; x; x = x->next)
        if (!strcmp(x->client.ip, ip) && !strcmp(x->ua, ua) && !strcmp(x->stream, stream) && !strcmp(x->app, app) &&
            !strcmp(x->vhost, vhost))
            return x;
    return NULL;
}

hls_session_t *hls_session_add(hls_mgr_t *m, const vhost_conf_t *vc, uint32_t id, const char *app,
                               const char *stream, const char *ip, const char *ua, const char *param)
{
    hls_session_t *x = calloc(1, sizeof *x);
    if (!x) return NULL;
    x->vc = vc;
    snprintf(x->vhost, sizeof x->vhost, "%s", vc->name);
    snprintf(x->app, sizeof x->app, "%s", app);
    snprintf(x->stream, sizeof x->stream, "%s", stream);
    snprintf(x->ua, sizeof x->ua, "%s", ua);
    snprintf(x->param, sizeof x->param, "%s", param);
    client_t *c = &x->client;
    c->id = id;
    c->type = CLIENT_HLS;
    snprintf(c->ip, sizeof c->ip, "%s", ip);
    c->vhost = x->vhost;
    c->app = x->app;
    c->stream = x->stream;
    c->param = x->param;
    c->tc_url = "";
    c->in_bytes = &x->in_bytes;
    c->out_bytes = &x->out_bytes;
    c->start_ms = x->last_ms = rill_now_ms();
    clients_add(&m->env->clients, c);
    x->next = m->sessions;
    m->sessions = x;
    m->nsessions++;
    rill_trace("hls session %s %s/%s/%s%s \"%s\"", ip, x->vhost, app, stream, param, ua);
    return x;
}

void hls_session_touch(hls_session_t *x, uint64_t bytes)
{
    x->last_ms = rill_now_ms();
    x->out_bytes += bytes;
}

static void session_end(hls_mgr_t *m, hls_session_t *x, const char *why)
{
    rill_trace("close hls session %s %s/%s/%s: %.1fs, out %llu bytes, reason: %s", x->client.ip, x->vhost, x->app,
               x->stream, (rill_now_ms() - x->client.start_ms) / 1000.0, (unsigned long long)x->out_bytes, why);
    /* on_stop: the notification copies what it sends, never yields here */
    http_hooks_client_end(&m->env->hooks, x->vc, &x->client);
    clients_remove(&m->env->clients, &x->client);
    free(x);
}

/* ---- the sweeper ---------------------------------------------------------- */

static int expired(const hls_stream_t *h, int64_t now)
{
    int64_t dispose = (int64_t)h->vc->hls_dispose * 1000;
    if (h->vc->edge) return now - h->last_req_ms >= (dispose ? dispose : 1000);   /* edge: nobody asks */
    return dispose && h->ended_ms && now - h->ended_ms >= dispose;             /* origin: gone long enough */
}

static void sweep(hls_mgr_t *m)
{
    int64_t now = rill_now_ms();
    for (hls_stream_t **pp = &m->streams; *pp;) {
        hls_stream_t *h = *pp;
        if (!expired(h, now)) {
            pp = &h->next;
            continue;
        }
        *pp = h->next;
        m->count--;
        rill_trace("hls %s/%s/%s: disposed (%s), %llu segments made", h->vhost, h->app, h->stream,
                   h->vc->edge ? "no request" : "unpublished", (unsigned long long)h->seg->segments_made);
        stream_free(m, h);
    }
    for (hls_session_t **pp = &m->sessions; *pp;) {
        hls_session_t *x = *pp;
        if (!x->client.stop && now - x->last_ms < session_timeout_ms(x->vc)) {
            pp = &x->next;
            continue;
        }
        *pp = x->next;
        m->nsessions--;
        session_end(m, x, x->client.stop ? "kicked" : "no request");
    }
}

void hls_reconfigured(hls_mgr_t *m)
{
    for (hls_stream_t *h = m->streams, *next; h; h = next) {
        next = h->next;
        const vhost_conf_t *vc = config_vhost(m->env->conf, h->vhost);
        if (!h->src) {
            /* not fed now: its next publish (or an edge's next request) takes the new settings */
        } else if (vc && vc->hls_enabled && !strcmp(vc->name, h->vhost)) {
            if (!under(m, h, vc))
                rill_warn("hls %s/%s/%s: no memory, the old settings stay", h->vhost, h->app, h->stream);
        } else {
            /* HLS is off for it now: it ends as at an unpublish, and is disposed as usual */
            rill_trace("hls %s/%s/%s: hls off after the reload, segmenting stops", h->vhost, h->app, h->stream);
            hls_seg_unpublish(h->seg);
            disk_sync(m, h);
            h->ended_ms = rill_now_ms();
            detach(h);
            /* an edge's hold kept the pull going for HLS alone: it ends */
            if (h->consumer) source_remove_consumer(h->consumer);
            h->consumer = NULL;
            if (h->held) hub_release(&m->env->hub, h->held);
            h->held = NULL;
        }
    }
}

static void sweeper_main(void *arg)
{
    hls_mgr_t *m = arg;
    rill_log_set_cid(rill_log_new_cid());
    while (!m->sweeper.stop) {
        st_usleep(SWEEP_US);
        if (m->sweeper.stop) break;
        sweep(m);   /* never yields */
    }
}

int hls_start(hls_mgr_t *m, session_env_t *env)
{
    memset(m, 0, sizeof *m);
    m->env = env;
    av_log_set_level(AV_LOG_ERROR);
    m->obs.on_publish = on_publish;
    m->obs.on_unpublish = on_unpublish;
    m->obs.on_message = on_message;
    m->obs.ctx = m;
    hub_observe(&env->hub, &m->obs);
    return task_start(&m->sweeper, sweeper_main, m, NULL);
}

void hls_stop(hls_mgr_t *m)
{
    if (!m->env) return;
    task_stop(&m->sweeper);
    while (m->sessions) {
        hls_session_t *x = m->sessions;
        m->sessions = x->next;
        session_end(m, x, "server stopping");
    }
    m->nsessions = 0;
    while (m->streams) {
        hls_stream_t *h = m->streams;
        m->streams = h->next;
        stream_free(m, h);
    }
    m->count = 0;
    /* after the streams: their files' removal is queued, and runs now */
    hls_disk_stop(&m->disk);
}
