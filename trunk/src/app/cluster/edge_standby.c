#include "edge_standby.h"
#include "flv.h"
#include "rill_error.h"
#include "rill_log.h"
#include "rill_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int edge_msg_is_seq_header(const rtmp_msg_t *m)
{
    const uint8_t *p = m->payload->data;
    size_t n = m->payload->size;
    if (m->type == RTMP_MSG_VIDEO) {
        flv_video_info_t vi;
        return !flv_video_probe(p, n, &vi) && vi.seq_header;
    }
    flv_audio_info_t ai;
    return m->type == RTMP_MSG_AUDIO && !flv_audio_probe(p, n, &ai) && ai.seq_header;
}

/* A frame on the stream's timeline: its timestamp says where the copy is. */
static int is_frame(const rtmp_msg_t *m)
{
    return (m->type == RTMP_MSG_AUDIO || m->type == RTMP_MSG_VIDEO) && !edge_msg_is_seq_header(m);
}

void edge_standby_push(edge_standby_t *sb, rtmp_msg_t *m)
{
    if (sb->qn == EDGE_STANDBY_QLEN) {
        rill_payload_unref(sb->q[sb->qhead].payload);
        sb->qhead = (sb->qhead + 1) % EDGE_STANDBY_QLEN;
        sb->qn--;
    }
    sb->q[(sb->qhead + sb->qn) % EDGE_STANDBY_QLEN] = *m;
    sb->qn++;
    if (is_frame(m)) {
        sb->newest_ts = m->timestamp;
        sb->have_media = 1;
    }
}

int edge_standby_pop(edge_standby_t *sb, rtmp_msg_t *out)
{
    if (!sb->qn) return 1;
    *out = sb->q[sb->qhead];
    sb->qhead = (sb->qhead + 1) % EDGE_STANDBY_QLEN;
    sb->qn--;
    return 0;
}

uint32_t edge_standby_oldest_ts(const edge_standby_t *sb, int *have)
{
    for (int k = 0; k < sb->qn; k++) {
        const rtmp_msg_t *m = &sb->q[(sb->qhead + k) % EDGE_STANDBY_QLEN];
        if (is_frame(m)) {
            *have = 1;
            return m->timestamp;
        }
    }
    *have = 0;
    return 0;
}

int edge_standby_aligned(uint32_t last_sent, int have_oldest, uint32_t oldest, uint32_t newest, int max_skew_ms)
{
    if (!have_oldest) return 0;
    int32_t skew = (int32_t)(newest - last_sent);
    if (skew > max_skew_ms || skew < -max_skew_ms) return 0;    /* another timeline */
    return (int32_t)(oldest - last_sent) <= 0 || skew <= 0;
}

void edge_standby_drain(edge_standby_t *sb)
{
    rtmp_msg_t m;
    while (!edge_standby_pop(sb, &m)) rill_payload_unref(m.payload);
}

/* a before b (-1), the same (0), after (1); timestamps compare as serial numbers */
static int pos_cmp(uint32_t ts, int n, const edge_merge_pos_t *b)
{
    int32_t d = (int32_t)(ts - b->ts);
    if (d) return d < 0 ? -1 : 1;
    return n < b->n ? -1 : n > b->n;
}

int edge_merge_take(edge_merge_t *sent, edge_merge_t *copy, int track, uint32_t ts, int primary, int max_skew_ms)
{
    edge_merge_pos_t *c = &copy->t[track], *f = &sent->t[track];
    edge_merge_pos_t prev = *c;
    /* back by more than the skew: a new timeline; by less: a part sent again
     * (an origin whose publisher reconnected sends its GOP again) */
    int restarted = prev.have && (int32_t)(ts - prev.ts) < -max_skew_ms;
    c->n = prev.have && prev.ts == ts ? prev.n + 1 : 1;
    c->ts = ts;
    c->have = 1;
    if (primary) {
        /* past what was sent, or a new timeline of its own: it wins */
        if (!f->have || restarted || pos_cmp(ts, c->n, f) > 0) {
            *f = *c;
            return EDGE_MERGE_SEND;
        }
        return EDGE_MERGE_DROP;
    }
    if (restarted) return EDGE_MERGE_APART;
    if (!f->have || pos_cmp(ts, c->n, f) <= 0) return EDGE_MERGE_DROP;
    if ((int32_t)(ts - f->ts) > max_skew_ms) return EDGE_MERGE_APART;
    /* the next one only: its previous message was the last one sent */
    if (!prev.have || prev.ts != f->ts || prev.n != f->n) return EDGE_MERGE_DROP;
    *f = *c;
    return EDGE_MERGE_SEND;
}

int edge_rejoin_check(const edge_merge_t *sent, const uint32_t sent_print[2], edge_merge_t *copy, int track,
                      uint32_t ts, uint32_t print, int max_skew_ms)
{
    edge_merge_pos_t *c = &copy->t[track];
    const edge_merge_pos_t *f = &sent->t[track];
    c->n = c->have && c->ts == ts ? c->n + 1 : 1;
    c->ts = ts;
    c->have = 1;
    if (!f->have) return EDGE_REJOIN_WAIT;
    int32_t d = (int32_t)(ts - f->ts);
    if (d > max_skew_ms || d < -max_skew_ms) return EDGE_REJOIN_APART;
    int k = pos_cmp(ts, c->n, f);
    if (k < 0) return EDGE_REJOIN_WAIT;
    return k == 0 && print == sent_print[track] ? EDGE_REJOIN_SAME : EDGE_REJOIN_APART;
}

uint32_t edge_msg_print(const uint8_t *p, size_t n)
{
    uint32_t h = 2166136261u ^ (uint32_t)n;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 16777619u;
    return h;
}
