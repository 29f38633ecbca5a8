/* A publisher: sends an FLV file in real time over RTMP, looping it with
 * continuous timestamps (metadata and sequence headers on the first pass
 * only), and notes when each video message left for the latency table.
 * Between messages it reads what the server sends (acknowledgements are
 * answered by rtmp_session), so one coroutine does all I/O on the session. */
#include "bench_net.h"
#include "bench_run.h"
#include "rill_error.h"
#include "net.h"
#include "rill_time.h"
#include "rtmp_dial.h"

#define SEND_TIMEOUT_US (10 * 1000000LL)

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

static int stream_file(bench_client_t *c, rtmp_dial_t *cl)
{
    bench_job_state_t *js = c->js;
    const bench_flvfile_t *f = js->flv;
    int64_t start = rill_now_us();
    for (uint64_t loop = 0;; loop++) {
        for (size_t i = 0; i < f->ntags; i++) {
            const bench_flv_tagref_t *t = &f->tags[i];
            if (loop && t->config) continue;
            uint32_t ts = bench_flvfile_ts(f, loop, i);
            int64_t due = start + (int64_t)ts * 1000;
            if (due >= js->end_us) return 0;
            int rc = wait_until(cl, due);
            if (rc) return rc;
            int64_t now = rill_now_us();
            if (bench_lat && t->type == 9 && !t->config) {
                size_t tl = t->size < BENCH_LAT_TAIL ? t->size : BENCH_LAT_TAIL;
                bench_lat_put(bench_lat, bench_lat_key(t->size, t->data + t->size - tl, tl), now);
            }
            rc = rtmp_session_send(&cl->s, (uint32_t)csid_of(t->type), t->type, cl->stream_id, ts, t->data,
                                   t->size, SEND_TIMEOUT_US);
            if (rc) return rc;
            js->bytes += t->size;
        }
        js->loops++;
    }
}

void *bench_publisher(void *arg)
{
    bench_client_t *c = arg;
    bench_job_state_t *js = c->js;
    const bench_target_t *t = &js->targets[c->index % js->ntargets];
    bench_net_use(&js->job->src);
    int64_t deadline = rill_now_us() + (int64_t)(js->job->timeout * 1e6);
    if (deadline > js->end_us) deadline = js->end_us;

    rtmp_dial_t cl;
    rtmp_dial_init(&cl);
    int rc = rtmp_dial_connect(&cl, t->ip, t->port, t->app, t->tc_url, 1, bench_until(deadline));
    if (!rc) rc = rtmp_dial_publish(&cl, t->stream, js->job->chunk_size, bench_until(deadline));
    if (rc) {
        bench_client_failed(c, cl.status[0] ? cl.status : "publish", rc);
        rtmp_dial_close(&cl);
        return NULL;
    }
    net_set_nodelay(st_netfd_fileno(cl.s.fd), 1);
    bench_client_connected(c);
    rc = stream_file(c, &cl);
    bench_client_done(c, rc == 0, "publishing", rc);
    rtmp_dial_close(&cl);
    return NULL;
}
