#include "http_flv.h"
#include "edge.h"
#include "flv.h"
#include "http_mount.h"
#include "rill_error.h"
#include "rill_log.h"
#include "rill_net.h"
#include "rill_server.h"
#include "rill_time.h"
#include "rtmp_url.h"
#include "stream_pump.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct flv_player {
    rill_server_t *srv;
    http_conn_t *http;
    rill_client_t client;
    rill_source_t *src;
    const rill_vhost_conf_t *vc;
    char vhost[256], app[256], stream[256], param[1024], tc_url[600];
    uint64_t in_bytes, out_bytes;
    int64_t unpublished_since;  /* ms; 0 while the stream is published */
    const char *reason;
} flv_player_t;

/* The vhost: ?vhost= wins, then the Host header without its port. */
static const rill_vhost_conf_t *pick_vhost(rill_server_t *srv, const http_request_t *req, const char *param)
{
    char name[256] = "";
    if (!rtmp_param_get(param, "vhost", name, sizeof name)) {
        const char *host = http_header_get(req, "Host");
        if (host) {
            size_t n = strcspn(host, ":");
            if (n < sizeof name) {
                memcpy(name, host, n);
                name[n] = 0;
            }
        }
    }
    return rill_config_vhost(srv->conf, name);
}

/* Each round: end when the server stops, the edge gave up, or the publisher
 * has been gone longer than the vhost allows. */
static int on_tick(stream_pump_t *p, void *ctx)
{
    flv_player_t *f = ctx;
    if (http_conn_stopping(f->http)) {
        f->reason = "server stopping";
        return 1;
    }
    if (f->src->upstream_failed) {
        f->reason = "edge gave up on every origin";
        return 1;
    }
    if (f->src->publisher) {
        f->unpublished_since = 0;
        return 0;
    }
    int64_t now = rill_now_ms();
    if (!f->unpublished_since) f->unpublished_since = now;
    if (now - f->unpublished_since >= f->vc->http_remux_republish_timeout) {
        f->reason = "publisher did not come back";
        return 1;
    }
    return 0;
}

static int stream_flv(flv_player_t *f)
{
    int rc = http_send_headers(f->http, 200, "video/x-flv", HTTP_LENGTH_UNTIL_CLOSE,
                               "Cache-Control: no-cache\r\n");
    if (rc) return rc;
    st_netfd_t fd = http_conn_takeover(f->http);
    rill_set_sndbuf(st_netfd_fileno(fd), f->vc->send_buffer);
    if (f->vc->tcp_nodelay) rill_set_nodelay(st_netfd_fileno(fd), 1);
    rill_consumer_t *co = source_add_consumer(f->src, st_thread_self());
    if (!co) return RILL_ERR_NOMEM;
    stream_pump_t p;
    rc = stream_pump_init_flv(&p, fd, &f->out_bytes, co, f->vc->mw_latency, f->vc->mw_msgs);
    if (!rc) {
        /* One FLV header per response: a republish or an edge's switch of
         * origin only brings new sequence headers as tags. */
        uint8_t hdr[FLV_FILE_HEADER_SIZE];
        flv_file_header(hdr, 1, 1);
        p.on_tick = on_tick;
        p.ctx = f;
        rc = stream_pump_queue_bytes(&p, hdr, sizeof hdr);
        if (!rc) rc = stream_pump_queue_headers(&p);
        if (!rc) rc = stream_pump_run(&p, &f->client.stop);
        if (!f->reason) f->reason = f->client.stop ? "kicked" : p.reason;
        stream_pump_free(&p);
    }
    source_remove_consumer(co);
    return rc;
}

int http_flv_serve(http_conn_t *c, const http_request_t *req, void *ctx)
{
    rill_server_t *srv = ctx;
    char param[1024] = "";
    if (req->query[0]) snprintf(param, sizeof param, "?%s", req->query);
    const rill_vhost_conf_t *vc = pick_vhost(srv, req, param);
    if (!vc || !vc->http_remux_enabled) return HTTP_DECLINED;
    http_mount_match_t mm;
    if (http_mount_match(vc->http_remux_mount, req->path, &mm) != 1) return HTTP_DECLINED;
    if (!mm.app[0]) {
        /* a literal mount ("/live/[stream].flv"): the app is its first segment */
        const char *p = req->path + (req->path[0] == '/');
        size_t n = strcspn(p, "/");
        if (n == 0 || n >= sizeof mm.app) return HTTP_DECLINED;
        memcpy(mm.app, p, n);
        mm.app[n] = 0;
    }

    flv_player_t f;
    memset(&f, 0, sizeof f);
    f.srv = srv;
    f.http = c;
    f.vc = vc;
    snprintf(f.vhost, sizeof f.vhost, "%s", vc->name);
    snprintf(f.app, sizeof f.app, "%s", mm.app);
    snprintf(f.stream, sizeof f.stream, "%s", mm.stream);
    snprintf(f.param, sizeof f.param, "%s", param);
    const char *host = http_header_get(req, "Host");
    snprintf(f.tc_url, sizeof f.tc_url, "http://%.256s/%s", host ? host : vc->name, f.app);

    /* The client is described before the checks (hooks send it), registered after. */
    rill_client_t *cl = &f.client;
    cl->id = rill_log_new_cid();
    rill_log_set_cid(cl->id);
    cl->type = RILL_CLIENT_FLV;
    const char *peer = http_conn_peer(c);
    size_t iplen = strcspn(peer, ":");
    snprintf(cl->ip, sizeof cl->ip, "%.*s", (int)(iplen < sizeof cl->ip ? iplen : sizeof cl->ip - 1), peer);
    cl->port = peer[iplen] == ':' ? atoi(peer + iplen + 1) : 0;
    cl->vhost = f.vhost;
    cl->app = f.app;
    cl->stream = f.stream;
    cl->param = f.param;
    cl->tc_url = f.tc_url;
    cl->in_bytes = &f.in_bytes;
    cl->out_bytes = &f.out_bytes;
    cl->thread = st_thread_self();

    /* auth first, as for RTMP: before token_traverse and before a 404 */
    if (http_hooks_check(&srv->hooks, vc, RILL_HOOK_PLAY, cl) != 0) {
        rill_warn("flv %s %s/%s/%s refused by the on_play hook", peer, f.vhost, f.app, f.stream);
        return RILL_ERR_DENIED;
    }
    if (vc->edge && vc->token_traverse) {
        char full[1400];
        snprintf(full, sizeof full, "%s%s", f.stream, f.param);
        if (edge_check_play(&srv->edge, vc, f.app, f.vhost, full) != 0) {
            rill_warn("flv %s %s/%s/%s refused by origin (token_traverse)", http_conn_peer(c), f.vhost, f.app, f.stream);
            http_hooks_client_end(&srv->hooks, vc, cl);
            return RILL_ERR_DENIED;
        }
    }
    if (vc->edge) {
        f.src = hub_acquire(&srv->hub, vc, f.vhost, f.app, f.stream);
    } else {
        f.src = hub_find(&srv->hub, f.vhost, f.app, f.stream);
        if (!f.src || !f.src->publisher) {
            http_hooks_client_end(&srv->hooks, vc, cl);     /* on_stop for the play on_play allowed */
            return RILL_ERR_NOT_FOUND;
        }
        hub_hold(f.src);
    }
    if (!f.src) return RILL_ERR_NOMEM;

    cl->start_ms = rill_now_ms();
    rill_clients_add(&srv->clients, cl);
    rill_trace("flv play %s %s/%s/%s%s (%s)", peer, f.vhost, f.app, f.stream, f.param,
               f.src->publisher ? "live" : "waiting for the upstream");

    int rc = 0;
    if (vc->edge) rc = edge_on_play(&srv->edge, f.src, vc, f.param);
    /* the consumer added in stream_flv keeps the source alive from here */
    if (!rc) rc = stream_flv(&f);
    http_hooks_client_end(&srv->hooks, vc, cl);
    cl->err = rc;
    rill_clients_remove(&srv->clients, cl);
    hub_release(&srv->hub, f.src);
    rill_trace("close %s flv player %s/%s/%s: %.1fs, out %llu bytes, reason: %s", peer, f.vhost, f.app, f.stream,
               (rill_now_ms() - cl->start_ms) / 1000.0, (unsigned long long)f.out_bytes,
               f.reason ? f.reason : rc ? rill_strerror(rc) : "closed");
    /* The response is under way: errors now only close the connection. */
    return rc == RILL_ERR_NOMEM && f.out_bytes == 0 ? rc : 0;
}
