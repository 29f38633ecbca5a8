#include "edge_standby.h"
#include "edge.h"
#include "rill_error.h"
#include "rill_log.h"
#include "rill_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_media(const rtmp_msg_t *m)
{
    return m->type == RTMP_MSG_AUDIO || m->type == RTMP_MSG_VIDEO;
}

static void push(edge_standby_t *sb, rtmp_msg_t *m)
{
    if (sb->qn == EDGE_STANDBY_QLEN) {
        rill_payload_unref(sb->q[sb->qhead].payload);
        sb->qhead = (sb->qhead + 1) % EDGE_STANDBY_QLEN;
        sb->qn--;
    }
    sb->q[(sb->qhead + sb->qn) % EDGE_STANDBY_QLEN] = *m;
    sb->qn++;
    if (is_media(m)) {
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
        if (is_media(m)) {
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

static void standby_loop(void *arg)
{
    edge_standby_t *sb = arg;
    edge_pull_t *g = sb->g;
    const vhost_conf_t *vc = g->vc;
    source_t *s = g->src;
    rill_log_set_cid(g->cid);
    int rc = edge_origin_connect(g, &vc->origins[sb->idx], &sb->cl, 0);
    if (!rc) {
        sb->state = EDGE_PLAYING;
        rill_trace("edge %s/%s/%s: standby playing from origin %s", s->vhost, s->app, s->stream, sb->origin);
    }
    while (!rc && !sb->task.stop) {
        rtmp_msg_t m;
        rc = rtmp_session_read(&sb->cl.s, &m, (st_utime_t)vc->origin_read_timeout * 1000);
        if (rc) break;
        if (edge_lost_stream(&m)) {
            rill_payload_unref(m.payload);
            rc = EDGE_LOST;
            break;
        }
        push(sb, &m);           /* takes the reference */
    }
    if (rc && !sb->task.stop) {
        rill_warn("edge %s/%s/%s: standby origin %s: %s", s->vhost, s->app, s->stream, sb->origin,
                  rc == EDGE_LOST ? "lost the stream" : rill_strerror(rc));
        sb->failed = 1;
        sb->ended_ms = rill_now_ms();
    }
    if (!sb->handover) rtmp_dial_close(&sb->cl);
}

edge_standby_t *edge_standby_start(edge_pull_t *g, int idx)
{
    edge_standby_t *sb = calloc(1, sizeof *sb);
    if (!sb) return NULL;
    sb->g = g;
    sb->idx = idx;
    sb->state = EDGE_CONNECTING;
    const dest_t *d = &g->vc->origins[idx];
    snprintf(sb->origin, sizeof sb->origin, "%s:%d", d->host, d->port);
    rtmp_dial_init(&sb->cl);
    if (task_start(&sb->task, standby_loop, sb, NULL) != 0) {
        free(sb);
        return NULL;
    }
    return sb;
}

void edge_standby_handover(edge_standby_t *sb)
{
    sb->handover = 1;
    task_stop(&sb->task);
}

void edge_standby_free(edge_standby_t *sb)
{
    if (!sb) return;
    task_stop(&sb->task);
    if (sb->handover) rtmp_dial_close(&sb->cl);
    rtmp_msg_t m;
    while (!edge_standby_pop(sb, &m)) rill_payload_unref(m.payload);
    free(sb);
}
