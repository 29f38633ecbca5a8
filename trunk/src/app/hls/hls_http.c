#include "hls_http.h"
#include "hls.h"
#include "hls_name.h"
#include "edge.h"
#include "http_hooks.h"
#include "http_flv.h"
#include "rill_error.h"
#include "rill_log.h"
#include "rill_time.h"

#include <stdio.h>
#include <string.h>

#define WAIT_STEP_US   (100 * 1000)
#define QUERY_MAX      1024     /* a playlist repeats its query on every segment line: bounded */
#define WAIT_MAX_MS    30000
/* A segment never changes under its URL (numbers start from the wall clock). */
#define SEGMENT_CACHE  "Cache-Control: public, max-age=600\r\n"
#define PLAYLIST_CACHE "Cache-Control: public, max-age=1\r\n"

static void peer_ip(http_conn_t *c, char *ip, size_t len)
{
    snprintf(ip, len, "%s", http_conn_client_ip(c));
}

/* The session of this request's player (IP, user agent, stream), if any. */
static hls_session_t *session_of(hls_mgr_t *m, http_conn_t *c, const http_request_t *req, const char *vhost,
                                 const hls_name_t *n)
{
    char ip[64];
    peer_ip(c, ip, sizeof ip);
    const char *ua = http_header_get(req, "User-Agent");
    return hls_session_find(m, vhost, n->app, n->stream, ip, ua ? ua : "");
}

/* A player's first playlist request: on_play, and token_traverse on an
 * edge, as for an RTMP or HTTP-FLV play; then its session. Both checks may
 * yield: nothing of the hub or of HLS is held across them. */
static int admit(hls_mgr_t *m, http_conn_t *c, const http_request_t *req, const vhost_conf_t *vc,
                 const hls_name_t *n, const char *param)
{
    if (session_of(m, c, req, vc->name, n)) return 0;
    char ip[64], tc_url[600];
    peer_ip(c, ip, sizeof ip);
    const char *ua = http_header_get(req, "User-Agent");
    const char *host = http_header_get(req, "Host");
    snprintf(tc_url, sizeof tc_url, "http://%.256s/%s", host ? host : vc->name, n->app);
    uint64_t in = 0, out = 0;
    client_t cl = { .id = rill_log_new_cid(), .type = CLIENT_HLS, .vhost = vc->name, .app = n->app,
                         .stream = n->stream, .param = param, .tc_url = tc_url, .in_bytes = &in, .out_bytes = &out,
                         .thread = st_thread_self(), .start_ms = rill_now_ms() };
    snprintf(cl.ip, sizeof cl.ip, "%s", ip);
    if (http_hooks_check(&m->env->hooks, vc, HOOK_PLAY, &cl) != 0) {
        rill_warn("hls %s %s/%s/%s refused by the on_play hook", ip, vc->name, n->app, n->stream);
        return RILL_ERR_DENIED;
    }
    if (vc->edge && vc->token_traverse) {
        char full[1600];
        snprintf(full, sizeof full, "%s%s", n->stream, param);
        if (edge_check_play(&m->env->edge, vc, n->app, vc->name, full) != 0) {
            rill_warn("hls %s %s/%s/%s refused by origin (token_traverse)", ip, vc->name, n->app, n->stream);
            http_hooks_client_end(&m->env->hooks, vc, &cl);    /* on_play allowed it: on_stop */
            return RILL_ERR_DENIED;
        }
    }
    /* another request of the same player may have made it meanwhile: this
     * one's on_play is ended, so a backend that counts viewers stays right */
    if (session_of(m, c, req, vc->name, n)) {
        http_hooks_client_end(&m->env->hooks, vc, &cl);
        return 0;
    }
    if (!hls_session_add(m, vc, cl.id, n->app, n->stream, ip, ua ? ua : "", param)) return RILL_ERR_NOMEM;
    return 0;
}

/* The first request of a stream may come before its first segment: wait
 * for it (a publish just started, an edge's pull on its way), bounded. */
static int serve_playlist(hls_mgr_t *m, http_conn_t *c, const http_request_t *req,
                          const vhost_conf_t *vc, const hls_name_t *n)
{
    int64_t wait = (int64_t)(vc->hls_fragment * vc->hls_aof_ratio * 1000) + 5000;
    int64_t deadline = rill_now_ms() + (wait < WAIT_MAX_MS ? wait : WAIT_MAX_MS);
    char param[QUERY_MAX + 2] = "";
    if (strlen(req->query) > QUERY_MAX) {
        rill_warn("hls %s %s/%s/%s: a query of %zu bytes refused (at most %d)", http_conn_client_ip(c), vc->name,
                  n->app, n->stream, strlen(req->query), QUERY_MAX);
        return RILL_ERR_INVAL;
    }
    if (req->query[0]) snprintf(param, sizeof param, "?%s", req->query);
    /* an origin answers a stream nobody publishes (or published) at once: no hook, no session */
    if (!vc->edge && !hls_find(m, vc->name, n->app, n->stream)) {
        source_t *s = hub_find(&m->env->hub, vc->name, n->app, n->stream);
        if (!s || !s->publisher) return RILL_ERR_NOT_FOUND;
    }
    int rc = admit(m, c, req, vc, n, param);
    if (rc) return rc;
    rill_payload_t *pl = NULL;
    for (;;) {
        /* looked up again after every sleep: the stream may have gone meanwhile */
        hls_stream_t *h = vc->edge ? hls_edge_demand(m, vc, n->app, n->stream, param)
                                   : hls_find(m, vc->name, n->app, n->stream);
        if (vc->edge && !h) return RILL_ERR_NOMEM;
        if (h) {
            h->last_req_ms = rill_now_ms();
            h->requests++;
            if ((pl = hls_seg_playlist(h->seg, req->query))) break;
        }
        if (!vc->edge) {
            source_t *s = hub_find(&m->env->hub, vc->name, n->app, n->stream);
            if (!s || !s->publisher) return RILL_ERR_NOT_FOUND;
        }
        if (rill_now_ms() >= deadline) return RILL_ERR_NOT_FOUND;
        if (st_usleep(WAIT_STEP_US) != 0 || http_conn_stopping(c)) return RILL_ERR_INTERRUPTED;
    }
    hls_session_t *x = session_of(m, c, req, vc->name, n);
    if (x) hls_session_touch(x, pl->size);
    rc = http_send(c, 200, "application/vnd.apple.mpegurl", pl->data, pl->size, PLAYLIST_CACHE);
    rill_payload_unref(pl);
    return rc;
}

static int serve_segment(hls_mgr_t *m, http_conn_t *c, const http_request_t *req,
                         const vhost_conf_t *vc, const hls_name_t *n)
{
    hls_stream_t *h = hls_find(m, vc->name, n->app, n->stream);
    rill_payload_t *pl = h ? hls_seg_segment(h->seg, n->seq) : NULL;
    if (!pl) return RILL_ERR_NOT_FOUND;
    h->last_req_ms = rill_now_ms();
    h->requests++;
    hls_session_t *x = session_of(m, c, req, vc->name, n);
    if (x) hls_session_touch(x, pl->size);
    /* the write may yield: the reference keeps the bytes whatever the window drops */
    int rc = http_send(c, 200, "video/mp2t", pl->data, pl->size, SEGMENT_CACHE);
    rill_payload_unref(pl);
    return rc;
}

int hls_http_serve(http_conn_t *c, const http_request_t *req, void *ctx)
{
    hls_mgr_t *m = ctx;
    char param[1024] = "";
    if (req->query[0]) snprintf(param, sizeof param, "?%s", req->query);
    const vhost_conf_t *vc = http_pick_vhost(m->env, req, param);
    if (!vc || !vc->hls_enabled || req->path[0] != '/') return HTTP_DECLINED;
    hls_name_t n;
    int playlist = hls_name_match(vc->hls_m3u8_file, req->path + 1, &n);
    if (!playlist && !hls_name_match(vc->hls_ts_file, req->path + 1, &n)) return HTTP_DECLINED;
    if (n.has_vhost && strcmp(n.vhost, vc->name) != 0) return HTTP_DECLINED;
    return playlist ? serve_playlist(m, c, req, vc, &n) : serve_segment(m, c, req, vc, &n);
}
