#include "hls_seg.h"
#include "flv.h"
#include "rill_error.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A stream that never sends a keyframe must not grow one segment forever. */
#define MAX_SEGMENT_BYTES (64u << 20)

hls_seg_t *hls_seg_new(const hls_seg_conf_t *conf)
{
    hls_seg_t *g = calloc(1, sizeof *g);
    if (!g) return NULL;
    g->conf = *conf;
    g->uri_prefix = strdup(conf->uri_prefix ? conf->uri_prefix : "");
    g->uri_suffix = strdup(conf->uri_suffix ? conf->uri_suffix : "");
    if (!g->uri_prefix || !g->uri_suffix) {
        hls_seg_free(g);
        return NULL;
    }
    g->conf.uri_prefix = g->uri_prefix;
    g->conf.uri_suffix = g->uri_suffix;
    double td = conf->fragment_ms / 1000.0 * conf->td_ratio;
    g->target_s = (uint32_t)td + ((double)(uint32_t)td < td);
    if (g->target_s == 0) g->target_s = 1;
    return g;
}

void hls_seg_free(hls_seg_t *g)
{
    if (!g) return;
    hls_ts_free(g->ts);
    rill_payload_unref(g->vsh);
    rill_payload_unref(g->ash);
    for (int i = 0; i < g->nsegs; i++) rill_payload_unref(g->segs[i].data);
    free(g->segs);
    rill_payload_unref(g->playlist);
    free(g->uri_prefix);
    free(g->uri_suffix);
    free(g);
}

/* The hub's 32-bit millisecond timestamps on a 64-bit line (wraps, small steps back). */
static int64_t unwrap(hls_seg_t *g, uint32_t t)
{
    if (!g->ts_started) {
        g->ts_started = 1;
        g->ts_high = t;
    } else {
        g->ts_high += (int32_t)(t - g->ts_last32);
        if (g->ts_high < 0) g->ts_high = 0;
    }
    g->ts_last32 = t;
    return g->ts_high;
}

static rill_payload_t *render(const hls_seg_t *g, const char *query)
{
    int n = hls_seg_count(g);
    if (n <= 0) return NULL;
    size_t qlen = query && query[0] ? strlen(query) + 1 : 0;
    size_t cap = 200 + (size_t)n * (64 + strlen(g->uri_prefix) + strlen(g->uri_suffix) + qlen);
    rill_payload_t *pl = rill_payload_new(cap);
    if (!pl) return NULL;
    char *p = (char *)pl->data;
    size_t o = 0;
    const hls_segment_t *first = &g->segs[g->window_start];
    o += (size_t)snprintf(p + o, cap - o, "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:%u\n"
                          "#EXT-X-MEDIA-SEQUENCE:%" PRIu64 "\n", g->target_s, first->seq);
    if (g->disc_seq) o += (size_t)snprintf(p + o, cap - o, "#EXT-X-DISCONTINUITY-SEQUENCE:%" PRIu64 "\n", g->disc_seq);
    for (int i = g->window_start; i < g->nsegs; i++) {
        const hls_segment_t *s = &g->segs[i];
        /* the first one's tag is still in the playlist: the sequence counts only those that left */
        if (s->discontinuity) o += (size_t)snprintf(p + o, cap - o, "#EXT-X-DISCONTINUITY\n");
        o += (size_t)snprintf(p + o, cap - o, "#EXTINF:%.3f,\n%s%" PRIu64 "%s%s%s\n", s->duration_ms / 1000.0,
                              g->uri_prefix, s->seq, g->uri_suffix, qlen ? "?" : "", qlen ? query : "");
    }
    if (g->ended) o += (size_t)snprintf(p + o, cap - o, "#EXT-X-ENDLIST\n");
    pl->size = (uint32_t)(o < cap ? o : cap - 1);
    return pl;
}

static void refresh_playlist(hls_seg_t *g)
{
    rill_payload_unref(g->playlist);
    /* no memory: no playlist until the next change (requests get 404 meanwhile) */
    g->playlist = render(g, NULL);
}

/* Keep hls_window seconds in the playlist and as much again of those that left it. */
static void slide(hls_seg_t *g)
{
    uint64_t in = 0, out = 0;
    for (int i = g->window_start; i < g->nsegs; i++) in += g->segs[i].duration_ms;
    while (in > g->conf.window_ms && g->nsegs - g->window_start > 1) {
        const hls_segment_t *s = &g->segs[g->window_start++];
        in -= s->duration_ms;
        if (s->discontinuity) g->disc_seq++;
    }
    for (int i = 0; i < g->window_start; i++) out += g->segs[i].duration_ms;
    int drop = 0;
    while (drop < g->window_start && out > g->conf.window_ms) {
        out -= g->segs[drop].duration_ms;
        rill_payload_unref(g->segs[drop].data);     /* a request writing it holds its own reference */
        drop++;
    }
    if (drop) {
        memmove(g->segs, g->segs + drop, sizeof *g->segs * (size_t)(g->nsegs - drop));
        g->nsegs -= drop;
        g->window_start -= drop;
    }
}

/* Close the open segment; it ends where the frame at end_ms begins. */
static int cut(hls_seg_t *g, int64_t end_ms)
{
    rill_payload_t *pl = hls_ts_take(g->ts);
    if (!pl) return RILL_ERR_NOMEM;
    if (pl->size == 0) {
        rill_payload_unref(pl);
        return 0;
    }
    if (g->nsegs == g->cap) {
        int cap = g->cap ? g->cap * 2 : 16;
        hls_segment_t *a = realloc(g->segs, sizeof *a * (size_t)cap);
        if (!a) {
            rill_payload_unref(pl);
            return RILL_ERR_NOMEM;
        }
        g->segs = a;
        g->cap = cap;
    }
    int64_t d = end_ms - g->open_start;
    if (d < 1) d = 1;
    if (d > UINT32_MAX) d = UINT32_MAX;
    hls_segment_t *s = &g->segs[g->nsegs++];
    s->seq = g->next_seq++;
    s->duration_ms = (uint32_t)d;
    s->discontinuity = g->open_disc;
    s->data = pl;
    g->segments_made++;
    uint32_t rounded = (uint32_t)((d + 500) / 1000);
    if (rounded > g->target_s) g->target_s = rounded;
    slide(g);
    refresh_playlist(g);
    return 0;
}

static void open_segment(hls_seg_t *g, int64_t at)
{
    g->open = 1;
    g->open_start = at;
    g->open_disc = g->disc_next;
    g->disc_next = 0;
}

/* Drop the muxer and its open segment; the next one starts a discontinuity. */
static void reset(hls_seg_t *g)
{
    hls_ts_free(g->ts);
    g->ts = NULL;
    g->open = 0;
    g->restart = 0;
    g->disc_next = 1;
}

static int start_muxer(hls_seg_t *g)
{
    int rc = hls_ts_new(&g->ts, g->video_ok, g->audio_ok);
    if (rc) return rc;
    g->ts_video = g->video_ok;
    g->ts_audio = g->audio_ok;
    if (g->video_ok) rc = hls_ts_video_config(g->ts, g->vsh->data, g->vsh->size);
    if (rc) {
        reset(g);
        return rc;
    }
    if (g->audio_ok && hls_ts_audio_config(g->ts, g->ash->data, g->ash->size) != 0) {
        /* an AAC config ADTS cannot say: the stream goes on without audio
         * (its header kept, so the same one again changes nothing) */
        int disc = g->disc_next;
        reset(g);
        g->disc_next = disc;
        g->audio_ok = 0;
        return g->video_ok ? start_muxer(g) : RILL_ERR_CODEC;
    }
    return 0;
}

static int on_header(hls_seg_t *g, int video, int supported, const uint8_t *p, size_t n)
{
    rill_payload_t **slot = video ? &g->vsh : &g->ash;
    int *ok = video ? &g->video_ok : &g->audio_ok;
    int in_mux = g->ts && (video ? g->ts_video : g->ts_audio);
    if (!supported) {
        /* a codec HLS does not carry here: the stream goes on without that track */
        if (*ok && g->ts) g->restart = 1;
        rill_payload_unref(*slot);
        *slot = NULL;
        *ok = 0;
        return 0;
    }
    if (*slot && (*slot)->size == n && memcmp((*slot)->data, p, n) == 0) return 0;
    rill_payload_t *h = rill_payload_from(p, n);
    if (!h) return RILL_ERR_NOMEM;
    int changed = *slot != NULL;
    rill_payload_unref(*slot);
    *slot = h;
    *ok = 1;
    if (!g->ts) return 0;
    if (!in_mux) {
        g->restart = 1;         /* a new track: a new muxer (and PMT) at the next cut point */
        return 0;
    }
    int rc = video ? hls_ts_video_config(g->ts, p, n) : hls_ts_audio_config(g->ts, p, n);
    if (rc) {
        *ok = 0;
        g->restart = 1;
        return rc;
    }
    /* new encoding parameters: a segment of their own, marked */
    if (changed) g->disc_next = 1;
    return 0;
}

/* May a segment start with this frame, and is one due? */
static int should_cut(const hls_seg_t *g, int video, int key, int64_t at)
{
    int64_t d = at - g->open_start;
    int point, due;
    if (g->ts_video) {
        /* a video track that left (a codec HLS does not carry here) waits for no keyframe */
        point = (video && (key || !g->conf.wait_keyframe)) || !g->video_ok;
        due = d >= g->conf.fragment_ms;
    } else {
        point = 1;
        due = d >= (int64_t)(g->conf.fragment_ms * g->conf.aof_ratio);
    }
    if (hls_ts_pending(g->ts) > MAX_SEGMENT_BYTES) return 1;
    return point && (due || g->restart || g->disc_next);
}

static int on_frame(hls_seg_t *g, int video, int64_t at, int32_t cts, int key, const uint8_t *p, size_t n)
{
    int rc = 0;
    g->frames_in++;
    if (g->ts && should_cut(g, video, key, at)) {
        rc = cut(g, at);
        if (!rc && g->restart) reset(g);
        else if (!rc) open_segment(g, at);
    }
    if (!rc && !g->ts) {
        /* a video stream's first segment starts at a keyframe */
        if ((!g->video_ok && !g->audio_ok) || (g->video_ok && !(video && key))) {
            g->frames_dropped++;
            return 0;
        }
        rc = start_muxer(g);
        if (!rc) open_segment(g, at);
    }
    if (!rc) rc = video ? hls_ts_video(g->ts, at, cts, key, p, n) : hls_ts_audio(g->ts, at, p, n);
    if (rc) {
        reset(g);
        g->frames_dropped++;
        return rc;
    }
    g->last_ts = at;
    return 0;
}

int hls_seg_feed(hls_seg_t *g, const media_msg_t *m)
{
    if (m->flags & MEDIA_DATA) return 0;
    const uint8_t *p = m->payload->data;
    size_t n = m->payload->size;
    if (media_is_video(m)) {
        flv_video_info_t vi;
        if (flv_video_probe(p, n, &vi) != 0 || n < 5) return 0;
        int h264 = vi.codec == FLV_VIDEO_H264 && !vi.enhanced;
        if (vi.seq_header) return on_header(g, 1, h264, p + 5, n - 5);
        if (!h264 || !g->video_ok || p[1] != 1) return 0;     /* 1: NAL units (not end of sequence) */
        int32_t cts = (int32_t)(((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 8) | p[4]);
        if (cts & 0x800000) cts -= 0x1000000;
        return on_frame(g, 1, unwrap(g, m->timestamp), cts, vi.keyframe, p + 5, n - 5);
    }
    flv_audio_info_t ai;
    if (flv_audio_probe(p, n, &ai) != 0 || n < 2) return 0;
    int aac = ai.codec == FLV_AUDIO_AAC;
    if (ai.seq_header) return on_header(g, 0, aac, p + 2, n - 2);
    if (!aac || !g->audio_ok) return 0;
    return on_frame(g, 0, unwrap(g, m->timestamp), 0, 1, p + 2, n - 2);
}

void hls_seg_publish(hls_seg_t *g)
{
    if (g->ts) reset(g);
    if (g->segments_made) g->disc_next = 1;
    rill_payload_unref(g->vsh);
    rill_payload_unref(g->ash);
    g->vsh = g->ash = NULL;
    g->video_ok = g->audio_ok = 0;
    g->ts_started = 0;          /* a new publisher may start its clock anew */
    g->ended = 0;
    refresh_playlist(g);
}

void hls_seg_unpublish(hls_seg_t *g)
{
    /* the last frame's own duration is not known: the segment ends at it */
    if (g->ts && g->open) cut(g, g->last_ts);
    if (g->ts) reset(g);
    g->ended = 1;
    refresh_playlist(g);
}

rill_payload_t *hls_seg_playlist(hls_seg_t *g, const char *query)
{
    if (query && query[0]) return render(g, query);
    return rill_payload_ref(g->playlist);
}

rill_payload_t *hls_seg_segment(hls_seg_t *g, uint64_t seq)
{
    if (g->nsegs == 0 || seq < g->segs[0].seq || seq >= g->next_seq) return NULL;
    /* sequence numbers are consecutive from segs[0] */
    uint64_t i = seq - g->segs[0].seq;
    if (i >= (uint64_t)g->nsegs) return NULL;
    return rill_payload_ref(g->segs[i].data);
}
