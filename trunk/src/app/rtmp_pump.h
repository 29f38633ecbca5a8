/* Sends a source's messages to one RTMP peer: a player on this server, or a
 * slave a forwarder publishes to. It reads the consumer's cursor, batches
 * messages into one writev (iovecs point at the shared chunk headers and
 * payloads), merges writes over mw_latency, and reads the peer's control
 * messages while it waits, all in one coroutine with one I/O wait. */
#ifndef RTMP_PUMP_H
#define RTMP_PUMP_H

#include <st.h>
#include <stdint.h>
#include <sys/uio.h>
#include "hub.h"
#include "rtmp_session.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rtmp_pump rtmp_pump_t;
/* An incoming non-control message (the pump frees it after). Return 1 to
 * end the pump normally, a negative error to end it with that error. */
typedef int (*rtmp_pump_msg_fn)(rtmp_pump_t *p, rtmp_msg_t *m, void *ctx);
/* Called before each round (e.g. to tell a player the publisher changed). */
typedef int (*rtmp_pump_tick_fn)(rtmp_pump_t *p, void *ctx);

struct rtmp_pump {
    rtmp_session_t *s;
    rill_consumer_t *co;
    int mw_latency;             /* ms; 0 writes at once */
    int mw_msgs;                /* with mw_latency 0: smallest batch */
    uint32_t stream_id;         /* 1 uses the messages' shared headers */
    st_utime_t send_timeout;
    int paused;
    rtmp_pump_msg_fn on_msg;
    rtmp_pump_tick_fn on_tick;
    void *ctx;
    const char *reason;         /* why it ended */
    const char *what;           /* "player", "forwarder": for logs */
    /* the batch in flight */
    media_msg_t **msgs;         /* references held until the write is done */
    uint8_t (*hdrs)[32];        /* per-message headers when stream_id != 1 */
    int n, cap;
    struct iovec *iov;
    int niov;
};

int rtmp_pump_init(rtmp_pump_t *p, rtmp_session_t *s, rill_consumer_t *co, int mw_latency, int mw_msgs,
                   uint32_t stream_id);
void rtmp_pump_free(rtmp_pump_t *p);
/* Queue the source's metadata and sequence headers (a new player's start). */
int rtmp_pump_queue_headers(rtmp_pump_t *p);
/* Run until *stop, an error, or on_msg ends it. Returns 0 or RILL_ERR_*. */
int rtmp_pump_run(rtmp_pump_t *p, const int *stop);

#ifdef __cplusplus
}
#endif
#endif
