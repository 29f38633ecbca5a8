#include "edge_standby.h"
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

void edge_standby_push(edge_standby_t *sb, rtmp_msg_t *m)
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

void edge_standby_drain(edge_standby_t *sb)
{
    rtmp_msg_t m;
    while (!edge_standby_pop(sb, &m)) rill_payload_unref(m.payload);
}
