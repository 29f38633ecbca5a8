#include "rtmp_conn.h"
#include "coro_stack.h"
#include "flv.h"
#include "edge.h"
#include "rill_error.h"
#include "rill_log.h"
#include "net.h"
#include "rill_time.h"
#include "rtmp_cmd.h"
#include "proxy_protocol.h"
#include "rtmp_ingest.h"
#include "stream_pump.h"
#include "rtmp_url.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEC                 1000000LL
#define HANDSHAKE_TIMEOUT   (10 * SEC)  /* a silent or half-open peer is dropped */
#define COMMAND_TIMEOUT     (10 * SEC)  /* from handshake to publish/play */
#define CONTROL_TIMEOUT     (5 * SEC)
#define WINDOW_ACK_SIZE     2500000
#define PLAY_STREAM_ID      1
#define TC_URL_MAX          1023        /* a longer tcUrl is kept cut to this */


/* ---- replies -------------------------------------------------------------- */

static void conns_add(rtmp_conns_t *g, rtmp_conn_t *c)
{
    c->next = g->list;
    c->prev = NULL;
    if (g->list) g->list->prev = c;
    g->list = c;
    g->count++;
}

static void conns_remove(rtmp_conns_t *g, rtmp_conn_t *c)
{
    if (c->prev) c->prev->next = c->next;
    else g->list = c->next;
    if (c->next) c->next->prev = c->prev;
    g->count--;
}

static int send_status(rtmp_conn_t *c, const char *level, const char *code, const char *desc)
{
    rill_writer_t w;
    rill_writer_init(&w, 0);
    int rc = rtmp_cmd_on_status(&w, level, code, desc);
    if (!rc) rc = rtmp_session_send_amf(&c->s, RTMP_CSID_DATA, RTMP_MSG_AMF0_COMMAND, PLAY_STREAM_ID, &w, CONTROL_TIMEOUT);
    rill_writer_free(&w);
    return rc;
}

static int send_writer(rtmp_conn_t *c, uint32_t csid, uint8_t type, uint32_t sid, rill_writer_t *w, int rc)
{
    if (!rc) rc = rtmp_session_send_amf(&c->s, csid, type, sid, w, CONTROL_TIMEOUT);
    rill_writer_free(w);
    return rc;
}

/* ---- names ------------------------------------------------------------------ */

/* Make these the connection's names (any may point into its current block):
 * copied into one new block, then the old one is freed. */
static int set_names(rtmp_conn_t *c, const char *vhost, const char *app, const char *stream, const char *param,
                     const char *tc_url)
{
    size_t lv = strlen(vhost), la = strlen(app), ls = strlen(stream), lp = strlen(param);
    size_t lt = strnlen(tc_url, TC_URL_MAX);
    char *b = malloc(lv + la + ls + lp + lt + 5);
    if (!b) return RILL_ERR_NOMEM;
    char *p = b;
    c->vhost = memcpy(p, vhost, lv + 1);
    p += lv + 1;
    c->app = memcpy(p, app, la + 1);
    p += la + 1;
    c->stream = memcpy(p, stream, ls + 1);
    p += ls + 1;
    c->param = memcpy(p, param, lp + 1);
    p += lp + 1;
    memcpy(p, tc_url, lt);
    p[lt] = 0;
    c->tc_url = p;
    free(c->names);
    c->names = b;
    client_t *cl = &c->client;
    cl->vhost = c->vhost;
    cl->app = c->app;
    cl->stream = c->stream;
    cl->param = c->param;
    cl->tc_url = c->tc_url;
    return 0;
}

/* ---- connect -------------------------------------------------------------- */

/* Pick the vhost: ?vhost= in the params wins, then the tcUrl host. */
static const vhost_conf_t *resolve_vhost(rtmp_conn_t *c, const char *host, const char *param)
{
    char v[256];
    const char *name = host;
    if (param && rtmp_param_get(param, "vhost", v, sizeof v)) name = v;
    else if (param && rtmp_param_get(param, "domain", v, sizeof v)) name = v;
    return config_vhost(c->env->conf, name);
}

static CORO_OUT_OF_LINE int handle_connect(rtmp_conn_t *c, const rtmp_cmd_t *cmd)
{
    const amf0_value_t *obj = rtmp_cmd_arg(cmd, 0);
    const char *app = amf0_object_get_string(obj, "app");
    const char *tc = amf0_object_get_string(obj, "tcUrl");
    double enc = amf0_object_get_number(obj, "objectEncoding", 0);
    if (!app) {
        rill_warn("%s: connect without app", c->peer);
        return RILL_ERR_COMMAND;
    }
    char appname[256], param[1024];
    if (rtmp_split_param(app, appname, sizeof appname, param, sizeof param)) return RILL_ERR_COMMAND;
    rtmp_url_t u;
    const char *host = "__defaultVhost__";
    if (tc && rtmp_url_parse(tc, &u) == 0) {
        host = u.host;
        if (!param[0]) snprintf(param, sizeof param, "%s", u.param);
    }
    c->vconf = resolve_vhost(c, host, param);
    if (set_names(c, c->vconf ? c->vconf->name : "", appname, "", param, tc ? tc : "")) return RILL_ERR_NOMEM;
    rill_writer_t w;
    rill_writer_init(&w, 0);
    if (!c->vconf) {
        rill_warn("%s: connect to vhost %s refused: no such vhost enabled", c->peer, host);
        send_writer(c, RTMP_CSID_COMMAND, RTMP_MSG_AMF0_COMMAND, 0, &w,
                    rtmp_cmd_connect_error(&w, cmd->txid, "NetConnection.Connect.Rejected", "vhost not found"));
        return RILL_ERR_DENIED;
    }
    const amf0_value_t *edge = amf0_object_get(obj, "rillEdge");
    c->from_edge = edge && edge->type == AMF0_BOOLEAN && edge->boolean;
    /* an edge waits on each small reply of ours: no Nagle delay there */
    if (c->from_edge) net_set_nodelay(st_netfd_fileno(c->s.fd), 1);
    rill_trace("connect vhost=%s app=%s tcUrl=%s param=%s%s", c->vhost, c->app, c->tc_url, c->param,
               c->from_edge ? " (edge upstream)" : "");
    if (http_hooks_check(&c->env->hooks, c->vconf, HOOK_CONNECT, &c->client) != 0) {
        send_writer(c, RTMP_CSID_COMMAND, RTMP_MSG_AMF0_COMMAND, 0, &w,
                    rtmp_cmd_connect_error(&w, cmd->txid, "NetConnection.Connect.Rejected", "refused by on_connect hook"));
        c->reason = "refused by the on_connect hook";
        return RILL_ERR_DENIED;
    }
    if (c->vconf->edge && c->vconf->token_traverse &&
        edge_check_connect(&c->env->edge, c->vconf, c->app, c->vhost, c->param) != 0) {
        rill_warn("connect refused: origin did not accept it (token_traverse)");
        send_writer(c, RTMP_CSID_COMMAND, RTMP_MSG_AMF0_COMMAND, 0, &w,
                    rtmp_cmd_connect_error(&w, cmd->txid, "NetConnection.Connect.Rejected", "refused by origin"));
        c->reason = "refused by origin (token_traverse)";
        return RILL_ERR_DENIED;
    }

    /* OBS needs the chunk size before the _result. */
    int rc = rtmp_session_send_control(&c->s, RTMP_MSG_WINDOW_ACK_SIZE, WINDOW_ACK_SIZE, CONTROL_TIMEOUT);
    if (!rc) {
        uint8_t bw[5];
        rtmp_ctrl_peer_bw(bw, WINDOW_ACK_SIZE, 2);
        rc = rtmp_session_send(&c->s, RTMP_CSID_PROTOCOL, RTMP_MSG_SET_PEER_BW, 0, 0, bw, sizeof bw, CONTROL_TIMEOUT);
    }
    if (!rc) rc = rtmp_session_set_chunk_size(&c->s, (uint32_t)c->vconf->chunk_size, CONTROL_TIMEOUT);
    if (!rc) rc = send_writer(c, RTMP_CSID_COMMAND, RTMP_MSG_AMF0_COMMAND, 0, &w, rtmp_cmd_connect_result(&w, cmd->txid, enc));
    else rill_writer_free(&w);
    if (!rc) {
        rill_writer_init(&w, 0);
        rc = send_writer(c, RTMP_CSID_COMMAND, RTMP_MSG_AMF0_COMMAND, 0, &w, rtmp_cmd_on_bw_done(&w));
    }
    return rc;
}

/* Stream name from publish/play, with its params kept (hooks use them later).
 * Then the command is freed: nothing of it is held while the client plays or
 * publishes. RILL_ERR_COMMAND when the name is missing or invalid. */
static CORO_OUT_OF_LINE int take_stream_name(rtmp_conn_t *c, rtmp_cmd_t *cmd)
{
    const char *name = rtmp_cmd_arg_string(cmd, 1);
    char stream[256], param[1024];
    int rc = !name || rtmp_split_param(name, stream, sizeof stream, param, sizeof param) || !stream[0]
             ? RILL_ERR_COMMAND : 0;
    /* a control character would end a log line or a playlist line early */
    for (const char *p = stream; !rc && *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f) rc = RILL_ERR_COMMAND;
    if (!rc && param[0]) {
        char v[256];
        if (rtmp_param_get(param, "vhost", v, sizeof v)) {
            const vhost_conf_t *vc = config_vhost(c->env->conf, v);
            if (vc) c->vconf = vc;
        }
    }
    if (!rc) rc = set_names(c, c->vconf->name, c->app, stream, param[0] ? param : c->param, c->tc_url);
    rtmp_cmd_free(cmd);
    return rc;
}

/* ---- publish ------------------------------------------------------------ */

/* The stream has a publisher: replace it when it has been silent for the
 * vhost's takeover_timeout (a frozen encoder, the forward of a master that
 * died without closing it). The old one is kicked; its teardown sees it is
 * no longer the publisher and leaves the stream alone. */
static int take_over(rtmp_conn_t *c)
{
    source_t *s = c->src;
    int64_t now = rill_now_ms();
    if (!source_can_take_over(s, now, c->vconf->takeover_timeout)) return RILL_ERR_STREAM_BUSY;
    uint32_t old_cid = s->publisher_cid;
    int64_t silent = source_silent_ms(s, now);
    client_t *old = NULL;
    int rc = source_take_over(s, c, c->cid, c->param, &old);
    if (rc) return rc;
    rill_warn("publish %s/%s/%s takes over from publisher cid %u, silent for %lld ms (takeover_timeout %d)",
              c->vhost, c->app, c->stream, old_cid, (long long)silent, c->vconf->takeover_timeout);
    if (old) client_kick(old);
    return 0;
}

static void refuse_busy(rtmp_conn_t *c, const char *where)
{
    rill_warn("publish %s/%s/%s refused: stream busy %s", c->vhost, c->app, c->stream, where);
    send_status(c, "error", "NetStream.Publish.BadName", "Stream already publishing");
    c->reason = "stream busy";
}

/* A publish on an edge: the origin's answer first (forward_edge_open, which
 * yields). While the edge pulls this stream for its players, the hub's source
 * is the pull's: the publish goes up from the forwarders' relay instead, and
 * the players get it back through the pull. 0 with c->src ready to publish
 * (up holds the upstream, when an origin took it), or the refusal, answered. */
static int edge_publish_upstream(rtmp_conn_t *c, forward_up_t *up)
{
    char stream[1300];
    snprintf(stream, sizeof stream, "%s%s", c->stream, c->param);
    int rc = forward_edge_open(c->vconf, c->vhost, c->app, stream, up);
    if (rc == RILL_ERR_STREAM_BUSY) {
        char where[360];
        snprintf(where, sizeof where, "at origin %s", up->origin);
        refuse_busy(c, where);
        return rc;
    }
    if (rc == RILL_ERR_DENIED) {
        rill_warn("publish %s/%s/%s refused by origin %s: %s", c->vhost, c->app, c->stream, up->origin, up->status);
        send_status(c, "error", "NetStream.Publish.Rejected", "refused by origin");
        c->reason = "refused by origin";
        return rc;
    }
    if (rc == RILL_ERR_NOMEM || c->client.stop) return rc ? rc : RILL_ERR_INTERRUPTED;
    if (rc) rill_warn("publish %s/%s/%s: no origin reached (%s); forwarding will retry", c->vhost, c->app,
                      c->stream, rill_strerror(rc));
    /* after the yield: who holds the hub's source now decides */
    if (c->src->edge_pulled) {
        source_t *r = hub_acquire(&c->env->fwd.relay, c->vconf, c->vhost, c->app, c->stream);
        if (!r) {
            forward_up_close(up);
            return RILL_ERR_NOMEM;
        }
        hub_release(&c->env->hub, c->src);
        c->src = r;
        rill_trace("publish %s/%s/%s: the edge pulls it for players, the publish goes to %s", c->vhost, c->app,
                   c->stream, up->cl ? up->origin : "the origins");
    }
    return 0;
}

static int publish_loop(rtmp_conn_t *c);

static CORO_OUT_OF_LINE int do_publish(rtmp_conn_t *c, rtmp_cmd_t *cmd)
{
    int rc = take_stream_name(c, cmd);
    if (rc == RILL_ERR_NOMEM) return rc;
    if (rc) {
        send_status(c, "error", "NetStream.Publish.BadName", "invalid stream name");
        c->reason = "bad stream name";
        return RILL_ERR_COMMAND;
    }
    if (http_hooks_check(&c->env->hooks, c->vconf, HOOK_PUBLISH, &c->client) != 0) {
        send_status(c, "error", "NetStream.Publish.Rejected", "refused by the on_publish hook");
        c->reason = "refused by the on_publish hook";
        return RILL_ERR_DENIED;
    }
    c->src = hub_acquire(&c->env->hub, c->vconf, c->vhost, c->app, c->stream);
    if (!c->src) return RILL_ERR_NOMEM;
    forward_up_t up;
    memset(&up, 0, sizeof up);
    /* An edge asks the origin, unless a client publishes the stream here
     * already: then the local rules decide (busy, or a takeover whose
     * publisher goes on through the forwarder that runs). */
    int ask = c->vconf->edge && !(c->src->publisher && !c->src->edge_pulled);
    rc = ask ? edge_publish_upstream(c, &up) : 0;
    if (rc) {                   /* answered (the origin's refusal), or no memory, or stopped */
        forward_up_close(&up);
        return rc;
    }
    rc = source_publish(c->src, c, c->cid, c->param);
    int fresh = !rc;
    if (rc == RILL_ERR_STREAM_BUSY) rc = take_over(c);
    if (rc == RILL_ERR_STREAM_BUSY) {
        char where[96];
        snprintf(where, sizeof where, "(publisher cid %u, last heard %lld ms ago)", c->src->publisher_cid,
                 (long long)source_silent_ms(c->src, rill_now_ms()));
        refuse_busy(c, where);
    }
    if (fresh && c->vconf->edge) {
        rc = forward_edge_start(&c->env->fwd, c->src, c->vconf, &up);
        if (rc) source_unpublish(c->src);   /* nothing takes it upstream: the name is free again */
    }
    forward_up_close(&up);
    if (rc) return rc;
    /* no yield since the publish: the source is ours */
    c->src->publisher_client = &c->client;
    c->role = RTMP_ROLE_PUBLISH;
    if (rtmp_session_set_rbuf(&c->s, RTMP_SESSION_RBUF_MEDIA) != 0) return RILL_ERR_NOMEM;
    /* Bounds what the kernel takes in for us while we hang (SIGSTOP, a dead
     * host): the encoder's writes block soon and it reconnects elsewhere. */
    if (c->vconf->recv_buffer) net_set_rcvbuf(st_netfd_fileno(c->s.fd), c->vconf->recv_buffer);
    c->client.type = CLIENT_PUBLISH;
    rill_trace("publish %s/%s/%s%s", c->vhost, c->app, c->stream, c->param);
    rc = send_status(c, "status", "NetStream.Publish.Start", "Started publishing stream.");
    if (rc) return rc;
    /* the stream's write pass runs before each read that may block */
    c->s.before_read = rtmp_ingest_flush;
    c->s.before_read_ctx = c->src;
    rc = publish_loop(c);
    c->s.before_read = NULL;
    c->s.before_read_ctx = NULL;
    return rc;
}

/* Read and ingest until the publisher leaves, is replaced, or fails. */
static int publish_loop(rtmp_conn_t *c)
{
    int rc = 0;
    int got_media = 0;
    /* after a takeover this publisher's timeline continues the stream's */
    int rebased = 0;
    uint32_t offset = 0;
    for (;;) {
        if (c->client.stop) {
            c->reason = c->env->stopping ? "server stopping" : "kicked";
            return 0;
        }
        st_utime_t to = (st_utime_t)(got_media ? c->vconf->normal_timeout : c->vconf->firstpkt_timeout) * 1000;
        rtmp_msg_t m;
        rc = rtmp_session_read(&c->s, &m, to);
        if (rc) {
            if (rc == RILL_ERR_TIMEOUT) c->reason = got_media ? "publish timeout (normal_timeout)" : "no media (firstpkt_timeout)";
            return rc;
        }
        if (m.type == RTMP_MSG_AMF0_COMMAND || m.type == RTMP_MSG_AMF3_COMMAND) {
            rtmp_cmd_t pc;
            if (rtmp_cmd_parse(m.payload->data, m.payload->size, m.type == RTMP_MSG_AMF3_COMMAND, &pc) == 0) {
                int end = !strcmp(pc.name, "FCUnpublish") || !strcmp(pc.name, "deleteStream") ||
                          !strcmp(pc.name, "closeStream");
                rtmp_cmd_free(&pc);
                if (end) {
                    rill_payload_unref(m.payload);
                    c->reason = "unpublished";
                    return 0;
                }
            }
        } else if (c->src->publisher != c) {
            /* replaced (takeover) with a message still buffered: not ours to push */
            rill_payload_unref(m.payload);
            return 0;
        } else {
            if (!rebased && (m.type == RTMP_MSG_AUDIO || m.type == RTMP_MSG_VIDEO || m.type == RTMP_MSG_AGGREGATE)) {
                offset = source_rebase(c->src, m.timestamp);
                rebased = 1;
            }
            rc = rtmp_ingest(c->src, &m, offset);
            if (rc == 1) got_media = 1;
            if (rc > 0) rc = 0;
        }
        rill_payload_unref(m.payload);
        if (rc) return rc;
    }
}

/* ---- play ------------------------------------------------------------------ */

/* Player control: pause, deleteStream. */
static int play_on_msg(play_session_t *ps, stream_pump_t *p, rtmp_msg_t *m)
{
    rtmp_conn_t *c = ps->ctx;
    if (m->type != RTMP_MSG_AMF0_COMMAND && m->type != RTMP_MSG_AMF3_COMMAND) return 0;
    rtmp_cmd_t pc;
    if (rtmp_cmd_parse(m->payload->data, m->payload->size, m->type == RTMP_MSG_AMF3_COMMAND, &pc) != 0) return 0;
    int rc = 0;
    if (!strcmp(pc.name, "deleteStream") || !strcmp(pc.name, "closeStream")) {
        ps->reason = "player stopped";
        rc = 1;
    } else if (!strcmp(pc.name, "pause")) {
        const amf0_value_t *v = rtmp_cmd_arg(&pc, 1);
        p->paused = v && v->type == AMF0_BOOLEAN && v->boolean;
        if (!p->paused) {
            /* resume live: skip what piled up, restart at a keyframe */
            p->co->cursor = c->play.src->ring.end;
            p->co->wait_keyframe = 1;
        }
        rc = send_status(c, "status", p->paused ? "NetStream.Pause.Notify" : "NetStream.Unpause.Notify",
                         p->paused ? "Paused stream." : "Unpaused stream.");
    }
    rtmp_cmd_free(&pc);
    return rc;
}

/* Tell the player when its publisher leaves or comes back, or the edge gave up. */
static int play_status(play_session_t *ps, int event)
{
    rtmp_conn_t *c = ps->ctx;
    if (event == PLAY_EV_FAILED) {
        send_status(c, "error", "NetStream.Play.Failed", "Every origin failed.");
        return RILL_ERR_NOT_FOUND;
    }
    if (event == PLAY_EV_PUBLISH) return send_status(c, "status", "NetStream.Play.PublishNotify", "Now published.");
    return send_status(c, "status", "NetStream.Play.UnpublishNotify", "Stream unpublished.");
}

static void play_refuse(play_session_t *ps, int err)
{
    rtmp_conn_t *c = ps->ctx;
    if (err == RILL_ERR_NOT_FOUND) send_status(c, "error", "NetStream.Play.StreamNotFound", "Stream not found.");
    else send_status(c, "error", "NetStream.Play.Rejected", ps->reason);
}

static int play_start(play_session_t *ps, stream_pump_t *p)
{
    rtmp_conn_t *c = ps->ctx;
    int fd = st_netfd_fileno(c->s.fd);
    net_set_sndbuf(fd, c->vconf->send_buffer);
    if (c->vconf->tcp_nodelay) net_set_nodelay(fd, 1);
    int rc = rtmp_session_send_user(&c->s, RTMP_UC_STREAM_BEGIN, PLAY_STREAM_ID, CONTROL_TIMEOUT);
    if (!rc) rc = send_status(c, "status", "NetStream.Play.Reset", "Playing and resetting stream.");
    if (!rc) rc = send_status(c, "status", "NetStream.Play.Start", "Started playing stream.");
    if (!rc) {
        rill_writer_t w;
        rill_writer_init(&w, 0);
        rc = send_writer(c, RTMP_CSID_DATA, RTMP_MSG_AMF0_DATA, PLAY_STREAM_ID, &w, rtmp_data_sample_access(&w));
    }
    if (!rc) rtmp_session_trim(&c->s, RTMP_SESSION_RBUF_PLAY);
    if (!rc) rc = stream_pump_init_rtmp(p, &c->s, ps->consumer, ps->mw_latency, ps->mw_msgs, PLAY_STREAM_ID);
    return rc;
}

static const play_proto_t rtmp_play_proto = {
    .refuse = play_refuse, .start = play_start, .status = play_status, .on_msg = play_on_msg,
};

static int do_play(rtmp_conn_t *c, rtmp_cmd_t *cmd)
{
    int rc = take_stream_name(c, cmd);
    if (rc == RILL_ERR_NOMEM) return rc;
    if (rc) {
        send_status(c, "error", "NetStream.Play.StreamNotFound", "invalid stream name");
        c->reason = "bad stream name";
        return RILL_ERR_COMMAND;
    }
    play_session_t *ps = &c->play;
    ps->env = c->env;
    ps->vc = c->vconf;
    ps->client = &c->client;
    ps->client_type = CLIENT_PLAY;
    /* An edge asks: say at once that the stream is not here so it tries another origin. */
    ps->need_publisher = c->from_edge;
    /* An edge's upstream carries one stream to many players: no merge delay there. */
    ps->mw_latency = c->from_edge ? 0 : c->vconf->mw_latency;
    ps->mw_msgs = c->from_edge ? 0 : c->vconf->mw_msgs;
    /* a player that closes while it waits for the edge's upstream frees its
     * place at the next wait step (its socket is peeked; bytes it sent that
     * were not read yet hide a close until the wait ends) */
    ps->watch_peer = 1;
    ps->peer_fd = st_netfd_fileno(c->s.fd);
    ps->proto = &rtmp_play_proto;
    ps->ctx = c;
    rc = play_session_run(ps);
    if (ps->allowed) c->role = RTMP_ROLE_PLAY;
    if (rc == RILL_ERR_NOT_FOUND && c->from_edge && !ps->src) ps->reason = "stream not found (edge upstream)";
    c->reason = ps->reason;
    return rc;
}

/* ---- command phase ---------------------------------------------------------- */

/* A player stays in run() (under do_play) for as long as it plays: the
 * one-off steps (PROXY header, connect, publish, stream name, other
 * commands) are CORO_OUT_OF_LINE, so their buffers (kilobytes: names,
 * params, a parsed URL) are on the stack only while they run and the
 * parked player's depth stays within a page (coro_stack.h). */

/* Commands answered with a bare _result, or ignored; anything else closes. */
static CORO_OUT_OF_LINE int simple_command(rtmp_conn_t *c, const rtmp_cmd_t *cmd)
{
    static const char *answered[] = { "releaseStream", "FCPublish", "FCUnpublish", "_checkbw", NULL };
    static const char *ignored[] = { "_result", "_error", "onBWDone", "receiveAudio", "receiveVideo",
                                     "FCSubscribe", "setPeerInfo", "deleteStream", "closeStream", "onStatus", NULL };
    rill_writer_t w;
    for (int i = 0; answered[i]; i++) {
        if (strcmp(cmd->name, answered[i])) continue;
        rill_writer_init(&w, 0);
        return send_writer(c, RTMP_CSID_COMMAND, RTMP_MSG_AMF0_COMMAND, 0, &w, rtmp_cmd_result(&w, cmd->txid, NULL));
    }
    for (int i = 0; ignored[i]; i++)
        if (!strcmp(cmd->name, ignored[i])) return 0;
    if (!strcmp(cmd->name, "createStream")) {
        rill_writer_init(&w, 0);
        return send_writer(c, RTMP_CSID_COMMAND, RTMP_MSG_AMF0_COMMAND, 0, &w,
                           rtmp_cmd_result_number(&w, cmd->txid, PLAY_STREAM_ID));
    }
    if (!strcmp(cmd->name, "getStreamLength")) {
        rill_writer_init(&w, 0);
        return send_writer(c, RTMP_CSID_COMMAND, RTMP_MSG_AMF0_COMMAND, 0, &w, rtmp_cmd_result_number(&w, cmd->txid, 0));
    }
    rill_warn("%s: unknown command '%s'", c->peer, cmd->name);
    c->reason = "unknown command";
    return RILL_ERR_COMMAND;
}

/* Read a PROXY header and take the real client address from it. Reads
 * exactly the header: 15 bytes (the shortest one), then what its form needs,
 * so not one byte of the RTMP handshake behind it is taken. */
static CORO_OUT_OF_LINE int read_proxy_header(rtmp_conn_t *c)
{
    uint8_t buf[PROXY_V2_MAX];
    size_t have = 15;
    int64_t deadline = rill_now_us() + HANDSHAKE_TIMEOUT;
    proxy_info_t pi;
    for (;;) {
        size_t got = c->s.in_bytes;
        ssize_t r = st_read_fully(c->s.fd, buf + got, have - got, (st_utime_t)(deadline - rill_now_us()));
        if (r < 0) return net_st_error();
        if ((size_t)r < have - got) return RILL_ERR_EOF;
        c->s.in_bytes = have;
        int rc = proxy_parse(buf, have, &pi);
        if (rc < 0) return RILL_ERR_HANDSHAKE;
        if (rc > 0) break;
        /* v2: the fixed 16 bytes tell the rest; v1: one more byte until CRLF */
        if (have >= 16 && buf[0] == 0x0D) have = 16 + rill_get_u16be(buf + 14);
        else have++;
        if (have > sizeof buf) return RILL_ERR_HANDSHAKE;
    }
    if (!pi.local) {
        snprintf(c->client.ip, sizeof c->client.ip, "%s", pi.src_ip);
        c->client.port = pi.src_port;
        char via[64];
        snprintf(via, sizeof via, "%s", c->peer);
        snprintf(c->peer, sizeof c->peer, "%.46s:%d", pi.src_ip, pi.src_port);
        rill_trace("client %s via %s (PROXY v%d)", c->peer, via, pi.version);
    }
    return 0;
}

static int run(rtmp_conn_t *c)
{
    int complex = 0;
    int rc = c->proxy ? read_proxy_header(c) : 0;
    if (rc) {
        c->reason = rc == RILL_ERR_TIMEOUT ? "no PROXY header in time" : "no valid PROXY header";
        return rc;
    }
    rc = rtmp_session_handshake_server(&c->s, HANDSHAKE_TIMEOUT, &complex);
    if (rc) {
        c->reason = rc == RILL_ERR_TIMEOUT ? "handshake timeout" : "bad handshake";
        return rc;
    }
    rill_verbose("handshake done (%s)", complex ? "complex" : "simple");
    int connected = 0;
    /* one deadline for the whole phase: a peer that keeps sending other
     * messages (pings, _checkbw, media) must not hold its slot for ever */
    int64_t deadline = rill_now_us() + COMMAND_TIMEOUT;
    for (;;) {
        if (c->client.stop) {
            c->reason = c->env->stopping ? "server stopping" : "kicked";
            return 0;
        }
        rtmp_msg_t m;
        int64_t left = deadline - rill_now_us();
        rc = left > 0 ? rtmp_session_read(&c->s, &m, (st_utime_t)left) : RILL_ERR_TIMEOUT;
        if (rc) {
            if (rc == RILL_ERR_TIMEOUT) c->reason = "no publish or play in time";
            return rc;
        }
        if (m.type != RTMP_MSG_AMF0_COMMAND && m.type != RTMP_MSG_AMF3_COMMAND) {
            rill_payload_unref(m.payload);
            continue;
        }
        rtmp_cmd_t cmd;
        rc = rtmp_cmd_parse(m.payload->data, m.payload->size, m.type == RTMP_MSG_AMF3_COMMAND, &cmd);
        rill_payload_unref(m.payload);
        if (rc) {
            c->reason = "malformed command";
            return rc;
        }
        if (!strcmp(cmd.name, "connect")) {
            rc = connected ? RILL_ERR_COMMAND : handle_connect(c, &cmd);
            connected = 1;
        } else if (!connected) {
            rill_warn("%s: '%s' before connect", c->peer, cmd.name);
            rc = RILL_ERR_COMMAND;
        } else if (!strcmp(cmd.name, "publish")) {
            return do_publish(c, &cmd);     /* frees cmd once it has the stream's name */
        } else if (!strcmp(cmd.name, "play")) {
            return do_play(c, &cmd);        /* the same */
        } else {
            rc = simple_command(c, &cmd);
        }
        rtmp_cmd_free(&cmd);
        if (rc) return rc;
    }
}

/* The connection's coroutine. Its teardown (consumer, unpublish, hooks,
 * the hub, the client list) runs here, where it may still yield; the
 * memory is freed by the server after the join (conn_release). */
static void conn_main(void *arg)
{
    rtmp_conn_t *c = arg;
    rill_log_set_cid(c->cid);
    rill_trace("accept rtmp client %s", c->peer);
    int rc = run(c);
    if (c->role == RTMP_ROLE_PUBLISH && c->src && c->src->publisher != c) {
        /* a takeover kicked it: the stream is the new publisher's */
        c->reason = "replaced by a new publish after its silence (takeover_timeout)";
        rc = 0;
    } else if (c->role == RTMP_ROLE_PUBLISH && c->src) {
        source_unpublish(c->src);
        rill_trace("unpublish %s/%s/%s", c->vhost, c->app, c->stream);
    }
    if (rc && !c->reason) c->reason = rill_strerror(rc);
    http_hooks_client_end(&c->env->hooks, c->vconf, &c->client);
    play_session_end(&c->play);
    if (c->src) hub_release(c->src->hub, c->src);   /* the hub's, or the edge relay's */
    int64_t alive = rill_now_ms() - c->start_ms;
    rill_trace("close %s %s %s/%s/%s: %.1fs, in %llu bytes, out %llu bytes, reason: %s (%s)", c->peer,
               c->role == RTMP_ROLE_PUBLISH ? "publisher" : c->role == RTMP_ROLE_PLAY ? "player" : "client",
               c->vhost[0] ? c->vhost : "-", c->app[0] ? c->app : "-", c->stream[0] ? c->stream : "-",
               alive / 1000.0, (unsigned long long)c->s.in_bytes, (unsigned long long)c->s.out_bytes,
               c->reason ? c->reason : "closed", rc ? rill_strerror(rc) : "ok");
    c->client.err = rc;
    clients_remove(&c->env->clients, &c->client);
    conns_remove(c->group, c);
}

int rtmp_conns_init(rtmp_conns_t *g)
{
    memset(g, 0, sizeof *g);
    return tasks_init(&g->tasks, "rtmp connections");
}

void rtmp_conns_stop(rtmp_conns_t *g) { tasks_stop(&g->tasks); }

static void conn_release(void *arg)
{
    rtmp_conn_t *c = arg;
    rtmp_session_free(&c->s);
    free(c->names);
    free(c);
}

int rtmp_conn_spawn(session_env_t *env, rtmp_conns_t *g, st_netfd_t fd, int proxy)
{
    rtmp_conn_t *c = calloc(1, sizeof(*c));
    if (!c) {
        st_netfd_close(fd);
        return RILL_ERR_NOMEM;
    }
    c->env = env;
    c->group = g;
    c->proxy = proxy;
    c->cid = rill_log_new_cid();
    c->start_ms = rill_now_ms();
    net_peer_name(st_netfd_fileno(fd), c->peer, sizeof c->peer);
    if (rtmp_session_init(&c->s, fd) != 0) {
        conn_release(c);
        return RILL_ERR_NOMEM;
    }
    client_t *cl = &c->client;
    cl->id = c->cid;
    cl->type = CLIENT_RTMP;
    net_peer_addr(st_netfd_fileno(fd), cl->ip, sizeof cl->ip, &cl->port);
    /* "" until connect names them (set_names) */
    c->vhost = c->app = c->stream = c->param = c->tc_url = "";
    cl->vhost = cl->app = cl->stream = cl->param = cl->tc_url = "";
    cl->start_ms = c->start_ms;
    cl->in_bytes = &c->s.in_bytes;
    cl->out_bytes = &c->s.out_bytes;
    /* The new coroutine runs only when this one yields: registering after the start is safe. */
    int rc = tasks_start(&g->tasks, &c->task, conn_main, c, &cl->stop, conn_release);
    if (rc) {
        conn_release(c);
        return rc;
    }
    cl->thread = c->task.thread;    /* an API kick interrupts it */
    conns_add(g, c);
    clients_add(&env->clients, cl);
    return 0;
}
