/* An HTTP-FLV player: GET over a plain socket, the response parsed by
 * http-parser (identity, chunked or until close), the body by the FLV
 * scanner. Everything is parsed straight out of the shared read buffer. */
#include "bench_flvscan.h"
#include "bench_net.h"
#include "bench_run.h"
#include "rill_error.h"
#include "net.h"
#include "rill_time.h"
#include "rtmp_session.h"

#include <errno.h>
#include <http_parser.h>
#include <stdio.h>

#define WAKE_US (250 * 1000LL)

typedef struct fplayer {
    bench_client_t *c;
    bench_flvscan_t scan;
    int status;                 /* HTTP status once the head is in */
    int ended;                  /* the response ended (the server closed the stream) */
    int bad;                    /* the body is not FLV */
    int64_t now;
} fplayer_t;

static void on_tag(void *ctx, const bench_flv_tag_t *t)
{
    fplayer_t *f = ctx;
    if (t->type == 9) bench_on_video(f->c, f->now, t->head, t->head_len, t->tail, t->tail_len, t->size);
    else if (t->type == 8) bench_on_audio(f->c, f->now);
}

static int on_headers(http_parser *hp)
{
    fplayer_t *f = hp->data;
    f->status = hp->status_code ? hp->status_code : -1;
    return 0;
}

static int on_body(http_parser *hp, const char *at, size_t len)
{
    fplayer_t *f = hp->data;
    if (f->status != 200) return 0;
    if (bench_flvscan_feed(&f->scan, (const uint8_t *)at, len, on_tag, f) != 0) {
        f->bad = 1;
        return -1;
    }
    return 0;
}

static int on_complete(http_parser *hp)
{
    ((fplayer_t *)hp->data)->ended = 1;
    return 0;
}

static const http_parser_settings SETTINGS = {
    .on_headers_complete = on_headers,
    .on_body = on_body,
    .on_message_complete = on_complete,
};

static int send_request(st_netfd_t fd, const bench_target_t *t, int64_t deadline)
{
    char req[BENCH_URL_MAX + 512];
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUser-Agent: rill-bench\r\nAccept: */*\r\n\r\n",
                     t->target, t->host, t->port);
    if (n <= 0 || (size_t)n >= sizeof req) return RILL_ERR_LIMIT;
    return st_write(fd, req, (size_t)n, bench_until(deadline)) == n ? 0 : net_st_error();
}

/* Read and parse until the job ends (0), or an error. *playing is set once
 * a 200 head arrived (and bench_client_connected was called). */
static int run(bench_client_t *c, st_netfd_t fd, int64_t deadline, int *playing)
{
    bench_job_state_t *js = c->js;
    fplayer_t f = { .c = c };
    bench_flvscan_init(&f.scan);
    http_parser hp;
    http_parser_init(&hp, HTTP_RESPONSE);
    hp.data = &f;
    for (;;) {
        int64_t now = rill_now_us();
        if (now >= js->end_us) return *playing ? 0 : RILL_ERR_TIMEOUT;
        if (!*playing && now >= deadline) return RILL_ERR_TIMEOUT;
        int64_t until = *playing ? js->end_us : deadline;
        int64_t wait = until - now < WAKE_US ? until - now : WAKE_US;
        ssize_t r = st_read(fd, bench_rbuf, sizeof bench_rbuf, (st_utime_t)wait);
        f.now = rill_now_us();
        if (r < 0 && errno == ETIME) {
            if (bench_pstat_check(&c->ps, f.now, bench_stall_us)) js->stalls++;
            continue;
        }
        if (r < 0) return net_st_error();
        js->bytes += (uint64_t)r;
        if (bench_pstat_check(&c->ps, f.now, bench_stall_us)) js->stalls++;
        size_t used = http_parser_execute(&hp, &SETTINGS, (const char *)bench_rbuf, (size_t)r);
        if (f.status && !*playing) {
            if (f.status != 200) return RILL_ERR_HTTP;
            *playing = 1;
            bench_client_connected(c);
        }
        if (f.bad) return RILL_ERR_FLV;
        if (r == 0 || f.ended) return RILL_ERR_EOF;
        if (used != (size_t)r || HTTP_PARSER_ERRNO(&hp) != HPE_OK) return RILL_ERR_HTTP;
        bench_after_read(c);
    }
}

void *bench_flv_player(void *arg)
{
    bench_client_t *c = arg;
    bench_job_state_t *js = c->js;
    const bench_target_t *t = &js->targets[c->index % js->ntargets];
    bench_net_use(&js->job->src);
    int64_t deadline = rill_now_us() + (int64_t)(js->job->timeout * 1e6);
    if (deadline > js->end_us) deadline = js->end_us;

    st_netfd_t fd = bench_connect(t->ip, t->port, bench_until(deadline));
    if (!fd) {
        bench_client_failed(c, "connect", errno == ETIME ? RILL_ERR_TIMEOUT : 0);
        return NULL;
    }
    net_set_nodelay(st_netfd_fileno(fd), 1);
    bench_pstat_start(&c->ps, rill_now_us());
    int playing = 0;
    int rc = send_request(fd, t, deadline);
    if (!rc) rc = run(c, fd, deadline, &playing);
    if (playing) bench_client_done(c, rc == 0, "playing", rc);
    else bench_client_failed(c, "GET", rc);
    st_netfd_close(fd);
    return NULL;
}
