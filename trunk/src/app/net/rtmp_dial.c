#include "rtmp_dial.h"
#include "rill_error.h"
#include "rill_log.h"
#include "net.h"
#include "resolve.h"
#include "rill_time.h"
#include "rtmp_cmd.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define WINDOW_ACK_SIZE 2500000

void rtmp_dial_init(rtmp_dial_t *c)
{
    memset(c, 0, sizeof(*c));
}

void rtmp_dial_close(rtmp_dial_t *c)
{
    if (c->open) rtmp_session_free(&c->s);
    c->open = 0;
}

/* Time left until deadline (us), at least 1 ms so a late step still fails cleanly. */
static st_utime_t left(int64_t deadline_us)
{
    int64_t l = deadline_us - rill_now_us();
    return (st_utime_t)(l > 1000 ? l : 1000);
}

static int open_and_handshake(rtmp_dial_t *c, const char *ip, int port, int complex, int64_t deadline)
{
    st_netfd_t fd = net_connect_tcp(ip, port, left(deadline));
    /* an interrupt (the owner stopping it) is not a refusal: no next address */
    if (!fd) return errno == ETIME ? RILL_ERR_TIMEOUT : errno == EINTR ? RILL_ERR_INTERRUPTED : RILL_ERR_IO;
    /* The connect/createStream/play exchange is small writes answered by
     * small writes: without TCP_NODELAY, Nagle and delayed ACKs add about
     * 40 ms per round trip (an edge's cold start and every failover). */
    net_set_nodelay(st_netfd_fileno(fd), 1);
    int rc = rtmp_session_init(&c->s, fd);
    c->open = 1;
    if (!rc) rc = rtmp_session_handshake_client(&c->s, left(deadline), complex);
    if (rc) rtmp_dial_close(c);
    return rc;
}

/* Read until a command reply for txid (or an onStatus when txid < 0). The
 * reply is left in *cmd for the caller (free it). Media before it is dropped. */
static int wait_reply(rtmp_dial_t *c, double txid, rtmp_cmd_t *cmd, int64_t deadline)
{
    for (;;) {
        rtmp_msg_t m;
        int rc = rtmp_session_read(&c->s, &m, left(deadline));
        if (rc) return rc;
        if (m.type != RTMP_MSG_AMF0_COMMAND && m.type != RTMP_MSG_AMF3_COMMAND) {
            rill_payload_unref(m.payload);
            continue;
        }
        rc = rtmp_cmd_parse(m.payload->data, m.payload->size, m.type == RTMP_MSG_AMF3_COMMAND, cmd);
        rill_payload_unref(m.payload);
        if (rc) return rc;
        int is_reply = !strcmp(cmd->name, "_result") || !strcmp(cmd->name, "_error");
        if ((txid >= 0 && is_reply && cmd->txid == txid) || (txid < 0 && !strcmp(cmd->name, "onStatus")))
            return 0;
        rtmp_cmd_free(cmd);
    }
}

/* The code of an onStatus or _error info object. */
static const char *status_code(const rtmp_cmd_t *cmd)
{
    for (size_t i = 0; i < 3; i++) {
        const char *code = amf0_object_get_string(rtmp_cmd_arg(cmd, i), "code");
        if (code) return code;
    }
    return "";
}

static int send_cmd(rtmp_dial_t *c, rill_writer_t *w, uint32_t sid, int rc, int64_t deadline)
{
    if (!rc) rc = rtmp_session_send_amf(&c->s, RTMP_CSID_COMMAND, RTMP_MSG_AMF0_COMMAND, sid, w, left(deadline));
    rill_writer_free(w);
    return rc;
}

/* TCP connect and handshake to one of host's addresses: a name is looked up
 * now (every attempt, so a DNS change moves the next connection), and each
 * address it has is tried in turn while the connect is refused. */
static int open_host(rtmp_dial_t *c, const char *host, int port, int64_t deadline)
{
    resolve_addrs_t a;
    int rc = resolve_host(host, left(deadline), &a);
    if (rc) {
        snprintf(c->status, sizeof c->status, "%s", a.why);
        return rc;
    }
    for (int i = 0; i < a.n; i++) {
        rc = open_and_handshake(c, a.ip[i], port, 1, deadline);
        if (rc == RILL_ERR_HANDSHAKE || rc == RILL_ERR_EOF) {
            /* some servers only speak the simple handshake */
            rill_trace("rtmp client %s: complex handshake failed (%s), trying simple", c->peer, rill_strerror(rc));
            rc = open_and_handshake(c, a.ip[i], port, 0, deadline);
        }
        if (rc != RILL_ERR_IO || rill_now_us() >= deadline) break;
        if (i + 1 < a.n) rill_trace("rtmp client %s: %s refused, trying %s", c->peer, a.ip[i], a.ip[i + 1]);
    }
    return rc;
}

int rtmp_dial_connect(rtmp_dial_t *c, const char *host, int port, const char *app, const char *tc_url,
                        int publish, st_utime_t timeout)
{
    int64_t deadline = rill_now_us() + (int64_t)timeout;
    snprintf(c->peer, sizeof c->peer, "%s:%d", host, port);
    c->status[0] = 0;
    int rc = open_host(c, host, port, deadline);
    if (rc) return rc;
    rc = rtmp_session_send_control(&c->s, RTMP_MSG_WINDOW_ACK_SIZE, WINDOW_ACK_SIZE, left(deadline));
    if (rc) return rc;
    rill_writer_t w;
    rill_writer_init(&w, 0);
    c->txid = 1;
    rc = send_cmd(c, &w, 0, rtmp_cmd_connect(&w, c->txid, app, tc_url, publish, c->as_edge), deadline);
    if (rc) return rc;
    rtmp_cmd_t reply;
    rc = wait_reply(c, c->txid, &reply, deadline);
    if (rc) return rc;
    snprintf(c->status, sizeof c->status, "%s", status_code(&reply));
    if (strcmp(reply.name, "_result") != 0) rc = RILL_ERR_DENIED;
    rtmp_cmd_free(&reply);
    return rc;
}

/* A message stream id is 32 bits on the wire: a whole number in range. */
static int valid_stream_id(double v)
{
    return isfinite(v) && v >= 0 && v <= 4294967295.0 && v == floor(v);
}

static int create_stream(rtmp_dial_t *c, int64_t deadline)
{
    rill_writer_t w;
    rill_writer_init(&w, 0);
    c->txid++;
    int rc = send_cmd(c, &w, 0, rtmp_cmd_simple(&w, "createStream", c->txid, NULL), deadline);
    if (rc) return rc;
    rtmp_cmd_t reply;
    rc = wait_reply(c, c->txid, &reply, deadline);
    if (rc) return rc;
    const amf0_value_t *id = rtmp_cmd_arg(&reply, 1);
    if (strcmp(reply.name, "_result") != 0 || !id || id->type != AMF0_NUMBER) {
        rc = RILL_ERR_DENIED;
    } else if (!valid_stream_id(id->number)) {
        /* casting NaN, a negative or a huge double is undefined behaviour */
        snprintf(c->status, sizeof c->status, "createStream answered stream id %g", id->number);
        rill_warn("rtmp client %s: createStream answered %g, not a stream id (an integer 0..4294967295): refused",
                  c->peer, id->number);
        rc = RILL_ERR_COMMAND;
    } else {
        c->stream_id = (uint32_t)id->number;
    }
    rtmp_cmd_free(&reply);
    return rc;
}

/* Wait for an onStatus: ok_code is success, anything at level error fails. */
static int wait_status(rtmp_dial_t *c, const char *ok_code, int64_t deadline)
{
    for (;;) {
        rtmp_cmd_t st;
        int rc = wait_reply(c, -1, &st, deadline);
        if (rc) return rc;
        const char *code = status_code(&st);
        const char *level = "";
        for (size_t i = 0; i < 3 && !level[0]; i++) {
            const char *l = amf0_object_get_string(rtmp_cmd_arg(&st, i), "level");
            if (l) level = l;
        }
        snprintf(c->status, sizeof c->status, "%s", code);
        int done = !strcmp(code, ok_code);
        int failed = !strcmp(level, "error") || strstr(code, "Failed") || strstr(code, "BadName") ||
                     strstr(code, "NotFound") || strstr(code, "Rejected");
        rtmp_cmd_free(&st);
        if (done) return 0;
        if (failed) return strstr(c->status, "NotFound") ? RILL_ERR_NOT_FOUND : RILL_ERR_DENIED;
    }
}

int rtmp_dial_publish(rtmp_dial_t *c, const char *stream, uint32_t chunk_size, st_utime_t timeout)
{
    int64_t deadline = rill_now_us() + (int64_t)timeout;
    rill_writer_t w;
    int rc = 0;
    const char *pre[] = { "releaseStream", "FCPublish" };
    for (int i = 0; i < 2 && !rc; i++) {
        rill_writer_init(&w, 0);
        c->txid++;
        rc = send_cmd(c, &w, 0, rtmp_cmd_simple(&w, pre[i], c->txid, stream), deadline);
    }
    if (!rc) rc = create_stream(c, deadline);
    if (!rc && chunk_size) rc = rtmp_session_set_chunk_size(&c->s, chunk_size, left(deadline));
    if (rc) return rc;
    rill_writer_init(&w, 0);
    c->txid++;
    rc = send_cmd(c, &w, c->stream_id, rtmp_cmd_publish(&w, c->txid, stream), deadline);
    if (!rc) rc = wait_status(c, "NetStream.Publish.Start", deadline);
    return rc;
}

int rtmp_dial_play(rtmp_dial_t *c, const char *stream, st_utime_t timeout)
{
    int64_t deadline = rill_now_us() + (int64_t)timeout;
    int rc = create_stream(c, deadline);
    if (rc) return rc;
    rill_writer_t w;
    rill_writer_init(&w, 0);
    c->txid++;
    rc = send_cmd(c, &w, c->stream_id, rtmp_cmd_play(&w, c->txid, stream), deadline);
    if (!rc) rc = wait_status(c, "NetStream.Play.Start", deadline);
    return rc;
}
