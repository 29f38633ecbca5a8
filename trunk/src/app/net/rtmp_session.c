#include "rtmp_session.h"
#include "net.h"
#include "rill_error.h"
#include "rill_log.h"
#include "rtmp_cmd.h"
#include "rtmp_handshake.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* One per process, like the connections it bounds; 0 until the server sets it. */
static rill_budget_t g_input_budget;

void rtmp_session_set_input_budget(uint64_t limit)
{
    /* a reload changes the limit; what sessions hold stays counted */
    g_input_budget.limit = limit;
}

const rill_budget_t *rtmp_session_input_budget(void) { return &g_input_budget; }

int rtmp_session_init(rtmp_session_t *s, st_netfd_t fd)
{
    memset(s, 0, sizeof(*s));
    s->fd = fd;
    s->out_chunk_size = RTMP_DEFAULT_CHUNK_SIZE;
    rtmp_chunk_decoder_init(&s->dec, 0);
    s->dec.budget = &g_input_budget;
    s->dec.budget_free = RTMP_SESSION_INPUT_FREE;
    rill_writer_init(&s->wbuf, 0);
    s->rbuf = malloc(RTMP_SESSION_RBUF);
    s->rcap = RTMP_SESSION_RBUF;
    return s->rbuf ? 0 : RILL_ERR_NOMEM;
}

void rtmp_session_free(rtmp_session_t *s)
{
    if (s->fd) st_netfd_close(s->fd);
    s->fd = NULL;
    rtmp_chunk_decoder_free(&s->dec);
    rill_writer_free(&s->wbuf);
    free(s->rbuf);
    s->rbuf = NULL;
}

int rtmp_session_set_rbuf(rtmp_session_t *s, size_t cap)
{
    if (cap <= s->rcap) return 0;
    uint8_t *b = realloc(s->rbuf, cap);
    if (!b) return RILL_ERR_NOMEM;
    s->rbuf = b;
    s->rcap = cap;
    return 0;
}

void rtmp_session_trim(rtmp_session_t *s, size_t cap)
{
    rill_writer_free(&s->wbuf);
    size_t left = s->rlen - s->rpos;
    if (cap >= s->rcap || left > cap) return;
    memmove(s->rbuf, s->rbuf + s->rpos, left);
    s->rpos = 0;
    s->rlen = left;
    uint8_t *b = realloc(s->rbuf, cap);
    if (!b) return;     /* the larger buffer still works */
    s->rbuf = b;
    s->rcap = cap;
}

static int read_fully(rtmp_session_t *s, void *buf, size_t n, st_utime_t timeout)
{
    ssize_t r = st_read_fully(s->fd, buf, n, timeout);
    if (r < 0) return net_st_error();
    if ((size_t)r < n) return r == 0 ? RILL_ERR_EOF : RILL_ERR_HANDSHAKE;
    s->in_bytes += n;
    return 0;
}

static int write_all(rtmp_session_t *s, const void *buf, size_t n, st_utime_t timeout)
{
    if (st_write(s->fd, buf, n, timeout) != (ssize_t)n) return net_st_error();
    s->out_bytes += n;
    return 0;
}

int rtmp_session_handshake_server(rtmp_session_t *s, st_utime_t timeout, int *complex)
{
    /* on the heap: a coroutine's stack pages stay resident once touched */
    uint8_t *c0c1 = malloc(RTMP_HS_C0C1_SIZE + RTMP_HS_S0S1S2_SIZE);
    if (!c0c1) return RILL_ERR_NOMEM;
    uint8_t *s0s1s2 = c0c1 + RTMP_HS_C0C1_SIZE;
    int rc = read_fully(s, c0c1, RTMP_HS_C0C1_SIZE, timeout);
    if (!rc) rc = rtmp_handshake_server(c0c1, s0s1s2, complex);
    if (!rc) rc = write_all(s, s0s1s2, RTMP_HS_S0S1S2_SIZE, timeout);
    /* C2 is read but not verified: Flash-era clients send garbage there. */
    if (!rc) rc = read_fully(s, s0s1s2, RTMP_HS_SIZE, timeout);
    free(c0c1);
    return rc;
}

int rtmp_session_handshake_client(rtmp_session_t *s, st_utime_t timeout, int complex)
{
    uint8_t c0c1[RTMP_HS_C0C1_SIZE];
    uint8_t c2[RTMP_HS_SIZE];
    uint8_t *s0s1s2 = malloc(RTMP_HS_S0S1S2_SIZE);
    if (!s0s1s2) return RILL_ERR_NOMEM;
    int rc = rtmp_handshake_client_c0c1(c0c1, complex);
    if (!rc) rc = write_all(s, c0c1, sizeof c0c1, timeout);
    if (!rc) rc = read_fully(s, s0s1s2, RTMP_HS_S0S1S2_SIZE, timeout);
    if (!rc) rc = rtmp_handshake_client_c2(c0c1, s0s1s2, c2);
    if (!rc) rc = write_all(s, c2, sizeof c2, timeout);
    free(s0s1s2);
    return rc;
}

static int send_ack_if_due(rtmp_session_t *s)
{
    if (!s->ack_window || s->in_bytes - s->acked < s->ack_window) return 0;
    s->acked = s->in_bytes;
    return rtmp_session_send_control(s, RTMP_MSG_ACK, (uint32_t)s->in_bytes, 5 * 1000000LL);
}

/* Apply a protocol control message. Returns 1 when it was one (and was consumed). */
static int handle_control(rtmp_session_t *s, const rtmp_msg_t *m, int *err)
{
    const uint8_t *p = m->payload->data;
    uint32_t n = m->payload->size;
    *err = 0;
    switch (m->type) {
    case RTMP_MSG_SET_CHUNK_SIZE:
        if (n < 4) { *err = RILL_ERR_CHUNK_SIZE; return 1; }
        *err = rtmp_chunk_decoder_set_chunk_size(&s->dec, rill_get_u32be(p));
        if (*err) rill_warn("peer set chunk size %u: refused", rill_get_u32be(p));
        return 1;
    case RTMP_MSG_WINDOW_ACK_SIZE:
        if (n >= 4) s->ack_window = rill_get_u32be(p);
        return 1;
    case RTMP_MSG_ABORT:
        if (n >= 4) rtmp_chunk_decoder_abort(&s->dec, rill_get_u32be(p));
        return 1;
    case RTMP_MSG_ACK:
    case RTMP_MSG_SET_PEER_BW:
        return 1;
    case RTMP_MSG_USER_CONTROL:
        if (n >= 6 && rill_get_u16be(p) == RTMP_UC_PING_REQUEST)
            *err = rtmp_session_send_user(s, RTMP_UC_PING_RESPONSE, rill_get_u32be(p + 2), 5 * 1000000LL);
        return 1;
    }
    return 0;
}

int rtmp_session_read(rtmp_session_t *s, rtmp_msg_t *msg, st_utime_t timeout)
{
    for (;;) {
        while (s->rpos < s->rlen) {
            size_t used = 0;
            int rc = rtmp_chunk_decode(&s->dec, s->rbuf + s->rpos, s->rlen - s->rpos, &used, msg);
            s->rpos += used;
            if (rc == RILL_ERR_BUDGET)
                rill_warn("input budget: refused to buffer more of a partial message (this connection holds "
                          "%zu bytes, all connections %llu of input_budget %llu): closing this connection",
                          s->dec.pending, (unsigned long long)g_input_budget.used,
                          (unsigned long long)g_input_budget.limit);
            if (rc < 0) return rc;
            if (rc == 0) break;
            int err;
            if (handle_control(s, msg, &err)) {
                rill_payload_unref(msg->payload);
                msg->payload = NULL;
                if (err) return err;
                continue;
            }
            return 0;
        }
        s->rpos = s->rlen = 0;
        if (s->before_read) s->before_read(s, s->before_read_ctx);
        ssize_t r = st_read(s->fd, s->rbuf, s->rcap, timeout);
        if (r < 0) return net_st_error();
        if (r == 0) return RILL_ERR_EOF;
        s->rlen = (size_t)r;
        s->in_bytes += (uint64_t)r;
        int rc = send_ack_if_due(s);
        if (rc) return rc;
        s->since_yield += (uint64_t)r;
        if (s->since_yield >= RTMP_SESSION_YIELD_EVERY) {
            s->since_yield = 0;
            if (st_usleep(0) < 0) return net_st_error();    /* interrupted meanwhile */
        }
    }
}

int rtmp_session_send(rtmp_session_t *s, uint32_t csid, uint8_t type, uint32_t stream_id,
                      uint32_t timestamp, const void *body, size_t len, st_utime_t timeout)
{
    rill_payload_t *pl = rill_payload_from(body, len);
    if (!pl) return RILL_ERR_NOMEM;
    rtmp_msg_t m = { .type = type, .csid = csid, .stream_id = stream_id, .timestamp = timestamp, .payload = pl };
    rill_writer_reset(&s->wbuf);
    int rc = rtmp_chunk_encode_to(&m, s->out_chunk_size, &s->wbuf);
    rill_payload_unref(pl);
    if (rc) return rc;
    return write_all(s, s->wbuf.data, s->wbuf.len, timeout);
}

int rtmp_session_send_amf(rtmp_session_t *s, uint32_t csid, uint8_t type, uint32_t stream_id,
                          const rill_writer_t *w, st_utime_t timeout)
{
    return rtmp_session_send(s, csid, type, stream_id, 0, w->data, w->len, timeout);
}

int rtmp_session_send_control(rtmp_session_t *s, uint8_t type, uint32_t value, st_utime_t timeout)
{
    uint8_t b[4];
    rtmp_ctrl_u32(b, value);
    return rtmp_session_send(s, RTMP_CSID_PROTOCOL, type, 0, 0, b, sizeof b, timeout);
}

int rtmp_session_set_chunk_size(rtmp_session_t *s, uint32_t size, st_utime_t timeout)
{
    int rc = rtmp_session_send_control(s, RTMP_MSG_SET_CHUNK_SIZE, size, timeout);
    if (!rc) s->out_chunk_size = size;
    return rc;
}

int rtmp_session_send_user(rtmp_session_t *s, uint16_t event, uint32_t value, st_utime_t timeout)
{
    uint8_t b[6];
    rtmp_ctrl_user(b, event, value);
    return rtmp_session_send(s, RTMP_CSID_PROTOCOL, RTMP_MSG_USER_CONTROL, 0, 0, b, sizeof b, timeout);
}

int rtmp_session_writev(rtmp_session_t *s, const struct iovec *iov, int n, st_utime_t timeout)
{
    size_t total = 0;
    for (int i = 0; i < n; i++) total += iov[i].iov_len;
    if (st_writev(s->fd, iov, n, timeout) != (ssize_t)total) return net_st_error();
    s->out_bytes += total;
    return 0;
}
