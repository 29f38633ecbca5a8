/* A publisher: sends an FLV file in real time over RTMP, looping it with
 * continuous timestamps (metadata and sequence headers on the first pass
 * only), and notes when each video message left for the latency table.
 * Between messages it reads what the server sends (acknowledgements are
 * answered by rtmp_session), so one coroutine does all I/O on the session.
 *
 * With --reconnect it stands for an encoder that comes back (OBS's
 * "Automatically Reconnect"): when the connection fails it waits the delay
 * and publishes again, the encoder's clock running on meanwhile. The new
 * session starts with the metadata and sequence headers, then the GOP in
 * progress from its keyframe (at once, as an encoder that forces a
 * keyframe on reconnect would send), then real time again. */
#include "bench_net.h"
#include "bench_run.h"
#include "rill_error.h"
#include "net.h"
#include "rill_time.h"
#include "rtmp_dial.h"

#include <stdio.h>

/* Where the publisher is in the looped file: tag g of the endless sequence
 * (pass g / ntags, tag g % ntags), and what the session has sent. */
typedef struct pub_state {
    int64_t start_us;           /* the encoder's clock: timestamp 0 */
    uint64_t g;                 /* next tag to send */
    int64_t last_sent_us;       /* last media message written (any session) */
    int sent_on_session;        /* media written on the current session */
} pub_state_t;

/* Wait until due (us), reading the server's messages meanwhile. */
static int wait_until(rtmp_dial_t *cl, int64_t due)
{
    for (;;) {
        int64_t now = rill_now_us();
        if (now >= due) return 0;
        rtmp_msg_t m;
        int rc = rtmp_session_read(&cl->s, &m, (st_utime_t)(due - now));
        if (rc == RILL_ERR_TIMEOUT) return 0;
        if (rc) return rc;
        rill_payload_unref(m.payload);
    }
}

static int csid_of(uint8_t type)
{
    return type == 8 ? RTMP_CSID_AUDIO : type == 9 ? RTMP_CSID_VIDEO : RTMP_CSID_DATA;
}

static const bench_flv_tagref_t *tag_at(const bench_flvfile_t *f, uint64_t g) { return &f->tags[g % f->ntags]; }
static uint32_t ts_at(const bench_flvfile_t *f, uint64_t g) { return bench_flvfile_ts(f, g / f->ntags, g % f->ntags); }

static int send_tag(bench_client_t *c, rtmp_dial_t *cl, const bench_flv_tagref_t *t, uint32_t ts)
{
    const bench_job_t *j = c->js->job;
    return rtmp_session_send(&cl->s, (uint32_t)csid_of(t->type), t->type, cl->stream_id, ts, t->data, t->size,
                             (st_utime_t)(j->write_timeout * 1000));
}

/* A new session after a reconnect: skip to the GOP in progress on the
 * encoder's clock and send the configuration (metadata, sequence headers)
 * stamped at its keyframe. */
static int resume(bench_client_t *c, rtmp_dial_t *cl, pub_state_t *ps)
{
    const bench_flvfile_t *f = c->js->flv;
    uint32_t now_ms = (uint32_t)((rill_now_us() - ps->start_us) / 1000);
    while (ts_at(f, ps->g) <= now_ms) ps->g++;
    /* back to the last keyframe at or before now (at most two passes back) */
    uint64_t floor = ps->g > 2 * f->ntags ? ps->g - 2 * f->ntags : 0;
    for (uint64_t k = ps->g; k > floor; k--) {
        const bench_flv_tagref_t *t = tag_at(f, k - 1);
        if (t->type == 9 && t->keyframe && !t->config) {
            ps->g = k - 1;
            break;
        }
    }
    uint32_t ts = ts_at(f, ps->g);
    for (size_t i = 0; i < f->ntags; i++) {
        if (!f->tags[i].config) continue;
        int rc = send_tag(c, cl, &f->tags[i], ts);
        if (rc) return rc;
    }
    return 0;
}

/* Send tags in real time until the job ends (0) or the connection fails. */
static int stream_file(bench_client_t *c, rtmp_dial_t *cl, pub_state_t *ps)
{
    bench_job_state_t *js = c->js;
    const bench_flvfile_t *f = js->flv;
    for (;; ps->g++) {
        const bench_flv_tagref_t *t = tag_at(f, ps->g);
        if (ps->g % f->ntags == 0 && ps->g) js->loops++;
        if (ps->g >= f->ntags && t->config) continue;
        uint32_t ts = ts_at(f, ps->g);
        int64_t due = ps->start_us + (int64_t)ts * 1000;
        if (due >= js->end_us) return 0;
        int rc = wait_until(cl, due);
        if (rc) return rc;
        int64_t now = rill_now_us();
        if (bench_lat && t->type == 9 && !t->config) {
            size_t tl = t->size < BENCH_LAT_TAIL ? t->size : BENCH_LAT_TAIL;
            bench_lat_put(bench_lat, bench_lat_key(t->size, t->data + t->size - tl, tl), now);
        }
        rc = send_tag(c, cl, t, ts);
        if (rc) return rc;
        js->bytes += t->size;
        if (t->type != 8 && t->type != 9) continue;
        now = rill_now_us();
        if (!ps->sent_on_session && ps->last_sent_us) {
            /* the encoder's side of a failover: nothing went out for this long */
            double stall_ms = (double)(now - ps->last_sent_us) / 1000.0;
            js->reconnects++;
            if (stall_ms > js->reconnect_stall_max_ms) js->reconnect_stall_max_ms = stall_ms;
            fprintf(stderr, "rill-bench: publisher #%d of %s: publishing again, %.0f ms without sending "
                    "(reconnect %llu)\n", c->index, js->job->url.text, stall_ms,
                    (unsigned long long)js->reconnects);
        }
        ps->sent_on_session = 1;
        ps->last_sent_us = now;
    }
}

/* One connection: connect, publish, stream until the end or a failure.
 * Returns 0 at the job's end, else the failure; *published tells whether
 * the server accepted the publish. */
static int session(bench_client_t *c, pub_state_t *ps, int *published)
{
    bench_job_state_t *js = c->js;
    const bench_job_t *j = js->job;
    const bench_target_t *t = &js->targets[c->index % js->ntargets];
    int64_t deadline = rill_now_us() + (int64_t)(j->timeout * 1e6);
    if (deadline > js->end_us) deadline = js->end_us;
    rtmp_dial_t cl;
    rtmp_dial_init(&cl);
    *published = 0;
    int rc = rtmp_dial_connect(&cl, t->ip, t->port, t->app, t->tc_url, 1, bench_until(deadline));
    /* small enough that a peer that stops reading blocks a write soon */
    if (!rc && j->send_buffer) net_set_sndbuf(st_netfd_fileno(cl.s.fd), j->send_buffer);
    if (!rc) rc = rtmp_dial_publish(&cl, t->stream, j->chunk_size, bench_until(deadline));
    if (!rc) {
        *published = 1;
        net_set_nodelay(st_netfd_fileno(cl.s.fd), 1);
        ps->sent_on_session = 0;
        if (ps->start_us) {
            rc = resume(c, &cl, ps);
        } else {
            ps->start_us = rill_now_us();
            bench_client_connected(c);
        }
        if (!rc) rc = stream_file(c, &cl, ps);
    } else if (cl.status[0] && js->reported_failures < 5) {
        fprintf(stderr, "rill-bench: publisher #%d of %s: %s\n", c->index, j->url.text, cl.status);
    }
    rtmp_dial_close(&cl);
    return rc;
}

void *bench_publisher(void *arg)
{
    bench_client_t *c = arg;
    bench_job_state_t *js = c->js;
    const bench_job_t *j = js->job;
    bench_net_use(&j->src);
    pub_state_t ps = { 0, 0, 0, 0 };
    for (unsigned tries = 1;; tries++) {
        int published;
        int rc = session(c, &ps, &published);
        if (!rc) {
            bench_client_done(c, 1, "publishing", 0);
            return NULL;
        }
        int64_t next = rill_now_us() + (int64_t)(j->reconnect * 1e6);
        if (j->reconnect < 0 || next >= js->end_us) {
            /* no (more) reconnects: this publisher ends here */
            if (ps.start_us) bench_client_done(c, 0, "publishing", rc);
            else bench_client_failed(c, "publish", rc);
            return NULL;
        }
        fprintf(stderr, "rill-bench: publisher #%d of %s: %s (%s); reconnecting in %.1f s (try %u)\n", c->index,
                j->url.text, published ? "connection lost" : "could not publish", rill_strerror(rc), j->reconnect,
                tries);
        int64_t wait = next - rill_now_us();
        if (st_usleep((st_utime_t)(wait > 0 ? wait : 0)) < 0) {
            if (ps.start_us) bench_client_done(c, 0, "publishing", RILL_ERR_INTERRUPTED);
            else bench_client_failed(c, "publish", RILL_ERR_INTERRUPTED);
            return NULL;
        }
    }
}
