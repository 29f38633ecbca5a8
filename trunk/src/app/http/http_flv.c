#include "http_flv.h"
#include "coro_stack.h"
#include "flv.h"
#include "http_mount.h"
#include "rill_error.h"
#include "rill_log.h"
#include "net.h"
#include "rill_time.h"
#include "rtmp_url.h"
#include "play_session.h"
#include "stream_pump.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct flv_player {
    http_conn_t *http;
    client_t client;
    play_session_t play;
    const char *vhost, *app, *stream, *param, *tc_url, *label;   /* in names, at their length */
    uint64_t in_bytes, out_bytes;
    int64_t unpublished_since;  /* ms; 0 while the stream is published */
    char names[];               /* the strings above, each NUL-terminated */
} flv_player_t;

/* Copy s (cut to max bytes) to *p, move *p past it, and return the copy. */
static const char *put_name(char **p, const char *s, size_t max)
{
    size_t n = strnlen(s, max);
    char *r = memcpy(*p, s, n);
    r[n] = 0;
    *p += n + 1;
    return r;
}

const vhost_conf_t *http_pick_vhost(session_env_t *env, const http_request_t *req, const char *param)
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
    return config_vhost(env->conf, name);
}

/* Each round: end when the server stops or the publisher has been gone
 * longer than the vhost allows. */
static int flv_tick(play_session_t *ps)
{
    flv_player_t *f = ps->ctx;
    if (http_conn_stopping(f->http)) {
        ps->reason = "server stopping";
        return 1;
    }
    if (ps->src->publisher) {
        f->unpublished_since = 0;
        return 0;
    }
    int64_t now = rill_now_ms();
    if (!f->unpublished_since) f->unpublished_since = now;
    if (now - f->unpublished_since >= ps->vc->http_remux_republish_timeout) {
        ps->reason = "publisher did not come back";
        return 1;
    }
    return 0;
}

/* The edge gave up: end the response (a publish change alone does not). */
static int flv_status(play_session_t *ps, int event)
{
    return event == PLAY_EV_FAILED;
}

/* The FLV header's track flags. A player (ffprobe, ffplay, mpegts.js) waits
 * for every track the header announces, so a single-track stream announced
 * as both keeps it probing for seconds. With guess_has_av the flags come from
 * the sequence headers the stream has when the player arrives; one that
 * arrives before any (a cold edge, a publisher not there yet) is told both,
 * unless has_audio / has_video say otherwise. */
static const uint8_t *flv_file_header_bytes(const vhost_conf_t *vc, const source_t *s)
{
    static uint8_t hdrs[4][FLV_FILE_HEADER_SIZE];   /* outlive the write: one per flag pair */
    int audio = 1, video = 1;
    if (vc->http_remux_guess_has_av && (s->audio_sh || s->video_sh)) {
        audio = s->audio_sh != NULL;
        video = s->video_sh != NULL;
    }
    audio &= vc->http_remux_has_audio;
    video &= vc->http_remux_has_video;
    uint8_t *hdr = hdrs[audio * 2 + video];
    flv_file_header(hdr, audio, video);
    return hdr;
}

/* Headers, then (unless HEAD) the socket is the pump's. */
static int flv_start(play_session_t *ps, stream_pump_t *p)
{
    flv_player_t *f = ps->ctx;
    int rc = http_send_headers(f->http, 200, "video/x-flv", HTTP_LENGTH_UNTIL_CLOSE, "Cache-Control: no-cache\r\n");
    if (rc || !p) return rc;
    st_netfd_t fd = http_conn_takeover(f->http);
    net_set_sndbuf(st_netfd_fileno(fd), ps->vc->send_buffer);
    if (ps->vc->tcp_nodelay) net_set_nodelay(st_netfd_fileno(fd), 1);
    rc = stream_pump_init_flv(p, fd, &f->out_bytes, ps->consumer, ps->mw_latency, ps->mw_msgs);
    /* One FLV header per response: a republish or an edge's switch of
     * origin only brings new sequence headers as tags. */
    if (!rc) rc = stream_pump_queue_bytes(p, flv_file_header_bytes(ps->vc, ps->src), FLV_FILE_HEADER_SIZE);
    return rc;
}

static const play_proto_t flv_proto = { .start = flv_start, .status = flv_status, .tick = flv_tick };

/* The request's vhost, app, stream and params into a new player record.
 * Out of line, and the record on the heap: the player's coroutine parks
 * under http_flv_serve for as long as it plays, and its stack depth there is
 * what stays resident (coro_stack.h). NULL with *rc: HTTP_DECLINED (not a
 * stream of ours) or RILL_ERR_NOMEM. */
static CORO_OUT_OF_LINE flv_player_t *flv_player_new(session_env_t *env, http_conn_t *c, const http_request_t *req,
                                                     const vhost_conf_t **vcp, int *rc)
{
    *rc = HTTP_DECLINED;
    char param[1024] = "";
    if (req->query[0]) snprintf(param, sizeof param, "?%s", req->query);
    const vhost_conf_t *vc = http_pick_vhost(env, req, param);
    if (!vc || !vc->http_remux_enabled) return NULL;
    http_mount_match_t mm;
    if (http_mount_match(vc->http_remux_mount, req->path, &mm) != 1) return NULL;
    if (!mm.app[0]) {
        /* a literal mount ("/live/[stream].flv"): the app is its first segment */
        const char *p = req->path + (req->path[0] == '/');
        size_t n = strcspn(p, "/");
        if (n == 0 || n >= sizeof mm.app) return NULL;
        memcpy(mm.app, p, n);
        mm.app[n] = 0;
    }
    const char *host = http_header_get(req, "Host");
    char tc_url[600], label[96];
    snprintf(tc_url, sizeof tc_url, "http://%.256s/%.255s", host ? host : vc->name, mm.app);
    snprintf(label, sizeof label, "flv %s %s", req->method == HTTP_HEAD ? "head" : "play", http_conn_peer(c));
    /* the strings at their length after the record: a player keeps them while it plays */
    size_t len = strnlen(vc->name, 255) + strnlen(mm.app, 255) + strnlen(mm.stream, 255) + strlen(param) +
                 strlen(tc_url) + strlen(label) + 6;
    flv_player_t *f = calloc(1, sizeof *f + len);
    if (!f) {
        *rc = RILL_ERR_NOMEM;
        return NULL;
    }
    f->http = c;
    char *p = f->names;
    f->vhost = put_name(&p, vc->name, 255);
    f->app = put_name(&p, mm.app, 255);
    f->stream = put_name(&p, mm.stream, 255);
    f->param = put_name(&p, param, sizeof param);
    f->tc_url = put_name(&p, tc_url, sizeof tc_url);
    f->label = put_name(&p, label, sizeof label);
    *vcp = vc;
    *rc = 0;
    return f;
}

int http_flv_serve(http_conn_t *c, const http_request_t *req, void *ctx)
{
    session_env_t *env = ctx;
    const vhost_conf_t *vc = NULL;
    int rc;
    flv_player_t *f = flv_player_new(env, c, req, &vc, &rc);
    if (!f) return rc;

    /* The client is described before the checks (hooks send it); the session registers it. */
    client_t *cl = &f->client;
    uint32_t conn_cid = rill_log_cid();     /* the connection's, back for its next request after a refusal */
    cl->id = rill_log_new_cid();
    rill_log_set_cid(cl->id);
    snprintf(cl->ip, sizeof cl->ip, "%s", http_conn_client_ip(c));
    cl->port = http_conn_client_port(c);
    cl->vhost = f->vhost;
    cl->app = f->app;
    cl->stream = f->stream;
    cl->param = f->param;
    cl->tc_url = f->tc_url;
    cl->in_bytes = &f->in_bytes;
    cl->out_bytes = &f->out_bytes;
    cl->thread = st_thread_self();
    cl->start_ms = rill_now_ms();

    play_session_t *ps = &f->play;
    ps->env = env;
    ps->vc = vc;
    ps->client = cl;
    ps->client_type = CLIENT_FLV;
    ps->own_client = 1;
    ps->need_publisher = 1;     /* an origin answers 404 rather than hold a response open */
    ps->probe = req->method == HTTP_HEAD;
    ps->mw_latency = vc->mw_latency;
    ps->mw_msgs = vc->mw_msgs;
    ps->label = f->label;
    /* nothing is read from an HTTP-FLV player after its request: a close shows at once */
    ps->watch_peer = 1;
    ps->peer_fd = http_conn_fileno(c);
    ps->proto = &flv_proto;
    ps->ctx = f;
    rc = play_session_run(ps);
    cl->err = rc;
    play_session_end(ps);
    /* refused: nothing sent yet; a probe: the access log line says it all */
    if (rc == RILL_ERR_DENIED || rc == RILL_ERR_NOT_FOUND || rc == RILL_ERR_TOO_MANY || ps->probe) {
        free(f);
        rill_log_set_cid(conn_cid);
        return rc;
    }
    rill_trace("close %s flv player %s/%s/%s: %.1fs, out %llu bytes, reason: %s", http_conn_peer(c), f->vhost, f->app,
               f->stream, (rill_now_ms() - cl->start_ms) / 1000.0, (unsigned long long)f->out_bytes,
               ps->reason ? ps->reason : rc ? rill_strerror(rc) : "closed");
    /* The response is under way: errors now only close the connection. */
    rc = rc == RILL_ERR_NOMEM && f->out_bytes == 0 ? rc : 0;
    free(f);
    return rc;
}
