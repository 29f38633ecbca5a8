/* A sink: connect and read whatever comes, for the raw-write floor
 * (research/floor). Every byte counts as media for stalls; there are no
 * frames, so no first-frame figures. */
#include "bench_net.h"
#include "bench_run.h"
#include "rill_error.h"
#include "rill_time.h"
#include "net.h"
#include "rtmp_session.h"

#include <errno.h>

#define WAKE_US (250 * 1000LL)

void *bench_sink(void *arg)
{
    bench_client_t *c = arg;
    bench_job_state_t *js = c->js;
    const bench_target_t *t = &js->targets[0];
    bench_net_use(&js->job->src);
    int64_t deadline = rill_now_us() + (int64_t)(js->job->timeout * 1e6);
    if (deadline > js->end_us) deadline = js->end_us;
    st_netfd_t fd = bench_connect(t->ip, t->port, bench_until(deadline));
    if (!fd) {
        bench_client_failed(c, "connect", errno == ETIME ? RILL_ERR_TIMEOUT : 0);
        return NULL;
    }
    bench_pstat_start(&c->ps, rill_now_us());
    bench_client_connected(c);
    int rc = 0;
    for (;;) {
        int64_t now = rill_now_us();
        if (now >= js->end_us) break;
        int64_t wait = js->end_us - now < WAKE_US ? js->end_us - now : WAKE_US;
        ssize_t r = st_read(fd, bench_rbuf, sizeof bench_rbuf, (st_utime_t)wait);
        now = rill_now_us();
        if (r < 0 && errno == ETIME) {
            if (bench_pstat_check(&c->ps, now, bench_stall_us)) js->stalls++;
            continue;
        }
        if (r <= 0) {
            rc = r == 0 ? RILL_ERR_EOF : net_st_error();
            break;
        }
        js->bytes += (uint64_t)r;
        if (!c->ps.first_frame) c->ps.first_frame = c->ps.last_media = now;   /* stalls count from the first byte */
        bench_on_audio(c, now);     /* any bytes are "media" here */
        bench_after_read(c);
    }
    bench_client_done(c, rc == 0, "reading", rc);
    st_netfd_close(fd);
    return NULL;
}
