/* Sends a source's messages to one peer, framed as RTMP chunks (a player on
 * this server, a slave a forwarder publishes to) or as FLV tags (an HTTP-FLV
 * player). It reads the consumer's cursor, batches messages into one writev
 * (iovecs point at each message's shared headers and payload: nothing is
 * copied per peer), merges writes over mw_latency, and reads what the peer
 * sends while it waits, all in one coroutine with one I/O wait.
 *
 * A player that writes at once (mw_latency 0) and is parked at the live edge
 * is written by the stream's write pass instead (hub.c push_all): the
 * publisher's coroutine writes the new message from the shared tick buffer,
 * non-blocking, and the player's coroutine stays parked. Only a socket that
 * takes part of it (or none) wakes the coroutine, which writes the rest
 * waiting for POLLOUT as it always did. Such a player waits out of the poll
 * set: the hub's merge clock watches its input (an epoll set of its own). A merging
 * player (mw_latency > 0)
 * parked at the live edge is written the same way by the hub's merge clock,
 * once per point of its mw_latency grid (consumer_merge_wait). */
#ifndef STREAM_PUMP_H
#define STREAM_PUMP_H

#include <st.h>
#include <stdint.h>
#include <sys/uio.h>
#include "hub.h"
#include "rtmp_session.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct stream_pump stream_pump_t;
/* An incoming non-control RTMP message (the pump frees it after). Return 1
 * to end the pump normally, a negative error to end it with that error. */
typedef int (*stream_pump_msg_fn)(stream_pump_t *p, rtmp_msg_t *m, void *ctx);
/* Called before each round (e.g. to tell a player the publisher changed). */
typedef int (*stream_pump_tick_fn)(stream_pump_t *p, void *ctx);

struct stream_pump {
    /* What the stream's write pass reads and writes for each player, first
     * and together: a pass visits every player at the live edge, and each
     * cache line it touches is a miss per player per message. */
    consumer_t *co;
    uint64_t *out_bytes;        /* where sent bytes are counted */
    int fdno;                   /* fd's number */
    uint32_t pass_cs;           /* the chunk size the pass frames with (STREAM_TICK_FLV for FLV), taken at park */
    int mw_latency;             /* ms; 0 writes at once */
    int mw_msgs;                /* with mw_latency 0: smallest batch */
    /* the pass's send queued in the hub's pass_sends, until its flush */
    rill_payload_t *pass_buf;   /* the tick buffer (a reference held) */
    uint32_t pass_off, pass_len; /* the slice sent */
    uint64_t pass_end;          /* the cursor once it is sent */
    uint64_t tick_writes;       /* batches written from the shared tick buffer */
    uint64_t pass_writes;       /* writes the stream's write pass made to this peer, no wake-up */
    int64_t hold_until;         /* ms, 0: none; mw_latency 0, parked: fewer than mw_msgs messages wait
                                 * for more until then (pass_hold), when the clock's tick writes them */

    rtmp_session_t *s;          /* RTMP framing; NULL for FLV */
    st_netfd_t fd;              /* the peer's socket */
    uint32_t stream_id;         /* 1 uses the messages' shared headers */
    st_utime_t send_timeout;
    int paused;
    stream_pump_msg_fn on_msg;
    stream_pump_tick_fn on_tick;
    void *ctx;
    const char *reason;         /* why it ended */
    const char *what;           /* "player", "forwarder": for logs */
    /* the batch in flight */
    media_msg_t **msgs;         /* references held until the write is done */
    uint8_t (*hdrs)[32];        /* per-message headers when stream_id != 1 */
    int n, cap;
    struct iovec *iov;
    int niov, iov_cap;
    uint64_t writes;            /* writev calls made: each one may have yielded */
    rill_payload_t *tick;       /* the shared tick buffer the batch writes from (a reference held) */
    int no_tick;                /* always take the per-message path (tests compare the two) */
    int64_t next_peek;          /* ms: when a merging player on its own timer next looks for input */
    int64_t last_write;         /* ms: when its last batch was written */
    int64_t pass_prev_write;    /* last_write before the clock's send, put back if it took nothing */
    int64_t phase;              /* ms: a merging player's grid is shifted by this (next_due) */
    const int *stop;            /* stream_pump_run's stop flag while it runs */
    int no_pass;                /* never written by the stream's write pass (tests compare the two) */
    uint64_t pass_handbacks;    /* of pass_writes, those the socket took only part of: finished here */
    uint64_t waits;             /* times its coroutine parked or slept (each ends in a wake-up) */
};

/* RTMP framing over an RTMP session. */
int stream_pump_init_rtmp(stream_pump_t *p, rtmp_session_t *s, consumer_t *co, int mw_latency, int mw_msgs,
                          uint32_t stream_id);
/* FLV tags over a raw socket (the HTTP response headers already sent). */
int stream_pump_init_flv(stream_pump_t *p, st_netfd_t fd, uint64_t *out_bytes, consumer_t *co,
                         int mw_latency, int mw_msgs);
void stream_pump_free(stream_pump_t *p);
/* Queue the source's metadata and sequence headers (a new player's start). */
int stream_pump_queue_headers(stream_pump_t *p);
/* Queue raw bytes (the FLV file header); they must outlive the next write. */
int stream_pump_queue_bytes(stream_pump_t *p, const void *data, size_t len);
/* Run until *stop, an error, or on_msg ends it. Returns 0 or RILL_ERR_*. */
int stream_pump_run(stream_pump_t *p, const int *stop);

#ifdef __cplusplus
}
#endif
#endif
