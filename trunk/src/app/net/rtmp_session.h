/* One RTMP connection's transport on state-threads, for both sides: the
 * handshake, reading whole messages (protocol control handled here: chunk
 * size, acknowledgement window, ping), and sending messages. It knows
 * nothing of streams; the connection logic above it decides what to do. */
#ifndef RTMP_SESSION_H
#define RTMP_SESSION_H

#include <st.h>
#include <stdint.h>
#include <sys/uio.h>
#include "rill_budget.h"
#include "rill_bytes.h"
#include "rtmp_chunk.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The command phase reads a few hundred bytes at a time, so the read buffer
 * starts at what a playing player keeps: one of 4 KB shrunk at play left a
 * 3.5 KB hole behind each player that glibc filled badly (0.7 KB more heap
 * per player, research/heap). */
#define RTMP_SESSION_RBUF       512
#define RTMP_SESSION_RBUF_MEDIA (64 * 1024)   /* publishers and upstreams read media */
#define RTMP_SESSION_RBUF_PLAY  512           /* a playing player: Acknowledgements, pause, deleteStream */
/* A read that finds data does not yield (ST switches only when it would
 * block), so a peer that keeps the socket full would keep the CPU: each
 * session lets the other coroutines run once per this many bytes read. */
#define RTMP_SESSION_YIELD_EVERY (1024 * 1024)

typedef struct rtmp_session {
    st_netfd_t fd;
    rtmp_chunk_decoder_t dec;
    uint8_t *rbuf;
    size_t rpos, rlen, rcap;
    uint32_t out_chunk_size;
    uint64_t in_bytes, out_bytes;
    uint32_t ack_window;        /* the peer's Window Ack Size: we acknowledge each one */
    uint64_t acked;             /* in_bytes at our last Acknowledgement */
    uint64_t since_yield;       /* bytes read since this session last let others run */
    rill_writer_t wbuf;         /* scratch for small messages */
    /* Called by rtmp_session_read before each read of the socket (which may
     * block) once every buffered byte is decoded: a publisher's session runs
     * the stream's write pass there (rtmp_ingest_flush). NULL: none. */
    void (*before_read)(struct rtmp_session *s, void *ctx);
    void *before_read_ctx;
} rtmp_session_t;

/* Every session's partly received messages draw on one server-wide budget
 * (input_budget), so many connections each starting a huge message cannot
 * add up to more than it: the one whose message would exceed it is closed.
 * The first MiB a session holds is its own: real frames are smaller, so a
 * publisher never pays for others' abuse. At most input_budget plus
 * max_connections MiB are held in all. */
#define RTMP_SESSION_INPUT_FREE (1024 * 1024)
void rtmp_session_set_input_budget(uint64_t limit);
const rill_budget_t *rtmp_session_input_budget(void);

/* Takes ownership of fd (closed by rtmp_session_free). */
int rtmp_session_init(rtmp_session_t *s, st_netfd_t fd);
void rtmp_session_free(rtmp_session_t *s);

/* Grow the read buffer (for a connection that will read media). */
int rtmp_session_set_rbuf(rtmp_session_t *s, size_t cap);

/* A player that plays sends a few small messages a minute: give back the
 * write buffer the command phase's replies grew and shrink the read buffer to
 * cap (when what is unread fits), a few KB of each of thousands of players.
 * Either grows again on demand. */
void rtmp_session_trim(rtmp_session_t *s, size_t cap);

/* Server side handshake; *complex tells which form the client used. */
int rtmp_session_handshake_server(rtmp_session_t *s, st_utime_t timeout, int *complex);
/* Client side; complex selects the digest form (ffmpeg's), else simple. */
int rtmp_session_handshake_client(rtmp_session_t *s, st_utime_t timeout, int complex);

/* Next non-control message (control messages are applied on the way).
 * Timeouts: RILL_ERR_TIMEOUT; interrupt: RILL_ERR_INTERRUPTED; EOF: RILL_ERR_EOF. */
int rtmp_session_read(rtmp_session_t *s, rtmp_msg_t *msg, st_utime_t timeout);
/* 1 when bytes are buffered but not yet decoded. */
static inline int rtmp_session_has_buffered(const rtmp_session_t *s) { return s->rpos < s->rlen; }

/* Send one message, copied into the session's scratch buffer. */
int rtmp_session_send(rtmp_session_t *s, uint32_t csid, uint8_t type, uint32_t stream_id,
                      uint32_t timestamp, const void *body, size_t len, st_utime_t timeout);
/* Send the AMF body built in w as a command (type 20). */
int rtmp_session_send_amf(rtmp_session_t *s, uint32_t csid, uint8_t type, uint32_t stream_id,
                          const rill_writer_t *w, st_utime_t timeout);
int rtmp_session_set_chunk_size(rtmp_session_t *s, uint32_t size, st_utime_t timeout);
int rtmp_session_send_control(rtmp_session_t *s, uint8_t type, uint32_t value, st_utime_t timeout);
int rtmp_session_send_user(rtmp_session_t *s, uint16_t event, uint32_t value, st_utime_t timeout);
/* Write iovecs fully. */
int rtmp_session_writev(rtmp_session_t *s, const struct iovec *iov, int n, st_utime_t timeout);

/* Map an st I/O failure (errno) to a RILL_ERR_* code. */

#ifdef __cplusplus
}
#endif
#endif
