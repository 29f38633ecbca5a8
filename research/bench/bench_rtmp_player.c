/* An RTMP player: rtmp_dial connects and plays; then the media loop reads
 * into the shared buffer and decodes chunks itself, so the session's own
 * 64 KiB read buffer is freed as soon as the play has started. Control
 * messages are applied as they are decoded; the replies they need
 * (Acknowledgement, ping response) are sent once the buffer is consumed. */
#include "bench_net.h"
#include "bench_run.h"
#include "rill_error.h"
#include "net.h"
#include "rill_time.h"
#include "rtmp_dial.h"

#include <errno.h>
#include <stdlib.h>

#define WAKE_US (250 * 1000LL)      /* stalls are noticed within this */

typedef struct rplayer {
    bench_client_t *c;
    rtmp_session_t *s;
    int ping_due;
    uint32_t ping_value;
} rplayer_t;

static void on_media(rplayer_t *p, const rtmp_msg_t *m, int64_t now)
{
    const rill_payload_t *pl = m->payload;
    if (m->type == RTMP_MSG_VIDEO) {
        size_t tl = pl->size < BENCH_LAT_TAIL ? pl->size : BENCH_LAT_TAIL;
        bench_on_video(p->c, now, pl->data, pl->size, pl->data + pl->size - tl, tl, pl->size);
    } else if (m->type == RTMP_MSG_AUDIO) {
        bench_on_audio(p->c, now);
    }
}

/* Apply one control message. 0 or a RILL_ERR_*. */
static int on_control(rplayer_t *p, const rtmp_msg_t *m)
{
    const uint8_t *d = m->payload->data;
    uint32_t n = m->payload->size;
    switch (m->type) {
    case RTMP_MSG_SET_CHUNK_SIZE:
        return n < 4 ? RILL_ERR_CHUNK_SIZE : rtmp_chunk_decoder_set_chunk_size(&p->s->dec, rill_get_u32be(d));
    case RTMP_MSG_WINDOW_ACK_SIZE:
        if (n >= 4) p->s->ack_window = rill_get_u32be(d);
        return 0;
    case RTMP_MSG_USER_CONTROL:
        if (n >= 6 && rill_get_u16be(d) == RTMP_UC_PING_REQUEST) {
            p->ping_due = 1;
            p->ping_value = rill_get_u32be(d + 2);
        }
        return 0;
    }
    return 0;
}

/* Decode everything in b[0..n); never yields. */
static int consume(rplayer_t *p, const uint8_t *b, size_t n, int64_t now)
{
    while (n) {
        rtmp_msg_t m;
        size_t used = 0;
        int rc = rtmp_chunk_decode(&p->s->dec, b, n, &used, &m);
        b += used;
        n -= used;
        if (rc < 0) return rc;
        if (rc == 0) break;
        rc = m.type <= RTMP_MSG_SET_PEER_BW ? on_control(p, &m) : 0;
        if (m.type > RTMP_MSG_SET_PEER_BW) on_media(p, &m, now);
        rill_payload_unref(m.payload);
        if (rc) return rc;
    }
    return 0;
}

/* The replies owed for what was consumed (these may yield). */
static int replies(rplayer_t *p)
{
    rtmp_session_t *s = p->s;
    int rc = 0;
    if (p->ping_due) {
        p->ping_due = 0;
        rc = rtmp_session_send_user(s, RTMP_UC_PING_RESPONSE, p->ping_value, 5 * 1000000LL);
    }
    if (!rc && s->ack_window && s->in_bytes - s->acked >= s->ack_window) {
        s->acked = s->in_bytes;
        rc = rtmp_session_send_control(s, RTMP_MSG_ACK, (uint32_t)s->in_bytes, 5 * 1000000LL);
    }
    return rc;
}

/* Plays until the job ends (returns 0) or the connection fails. */
static int media_loop(bench_client_t *c, rtmp_dial_t *cl)
{
    bench_job_state_t *js = c->js;
    rplayer_t p = { c, &cl->s, 0, 0 };
    rtmp_session_t *s = &cl->s;
    /* bytes the session read past the play reply */
    int rc = consume(&p, s->rbuf + s->rpos, s->rlen - s->rpos, rill_now_us());
    free(s->rbuf);
    s->rbuf = NULL;
    s->rpos = s->rlen = 0;
    if (!rc) rc = replies(&p);
    while (!rc) {
        int64_t now = rill_now_us();
        if (now >= js->end_us) return 0;
        int64_t wait = js->end_us - now < WAKE_US ? js->end_us - now : WAKE_US;
        ssize_t r = st_read(s->fd, bench_rbuf, sizeof bench_rbuf, (st_utime_t)wait);
        now = rill_now_us();
        if (r < 0 && errno == ETIME) {
            if (bench_pstat_check(&c->ps, now, bench_stall_us)) js->stalls++;
            continue;
        }
        if (r <= 0) return r == 0 ? RILL_ERR_EOF : net_st_error();
        js->bytes += (uint64_t)r;
        s->in_bytes += (uint64_t)r;
        if (bench_pstat_check(&c->ps, now, bench_stall_us)) js->stalls++;
        rc = consume(&p, bench_rbuf, (size_t)r, now);
        if (!rc) rc = replies(&p);
        if (!rc) bench_after_read(c);
    }
    return rc;
}

void *bench_rtmp_player(void *arg)
{
    bench_client_t *c = arg;
    bench_job_state_t *js = c->js;
    const bench_target_t *t = &js->targets[c->index % js->ntargets];
    bench_net_use(&js->job->src);
    int64_t deadline = rill_now_us() + (int64_t)(js->job->timeout * 1e6);
    if (deadline > js->end_us) deadline = js->end_us;

    rtmp_dial_t cl;
    rtmp_dial_init(&cl);
    int rc = rtmp_dial_connect(&cl, t->ip, t->port, t->app, t->tc_url, 0, bench_until(deadline));
    if (rc) {
        bench_client_failed(c, "connect", rc);
        rtmp_dial_close(&cl);
        return NULL;
    }
    net_set_nodelay(st_netfd_fileno(cl.s.fd), 1);
    bench_pstat_start(&c->ps, rill_now_us());
    rc = rtmp_dial_play(&cl, t->stream, bench_until(deadline));
    if (rc) {
        bench_client_failed(c, cl.status[0] ? cl.status : "play", rc);
        rtmp_dial_close(&cl);
        return NULL;
    }
    bench_client_connected(c);
    rc = media_loop(c, &cl);
    bench_client_done(c, rc == 0, "playing", rc);
    rtmp_dial_close(&cl);
    return NULL;
}
