/* An RTMP connection rill dials out ("dial": rill calls; a "client" is
 * always someone who called rill): connect, then publish or play, every
 * step bounded by a timeout. Forwarders publish with it; edges play (and
 * proxy publishes) with it. */
#ifndef RTMP_DIAL_H
#define RTMP_DIAL_H

#include <st.h>
#include <stdint.h>
#include "rtmp_session.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rtmp_dial {
    rtmp_session_t s;
    int open;                   /* s holds a socket */
    char peer[80];              /* "host:port" */
    uint32_t stream_id;         /* from createStream */
    double txid;
    char status[128];           /* last onStatus / _error code, for logs */
    int as_edge;                /* say so in connect (see rtmp_cmd_connect) */
} rtmp_dial_t;

void rtmp_dial_init(rtmp_dial_t *c);
/* TCP connect, handshake (complex, falling back to simple), connect(app).
 * host is an IPv4 address or a name, looked up without blocking
 * (resolve.h); a name that does not resolve is RILL_ERR_RESOLVE with
 * the reason in c->status. */
int rtmp_dial_connect(rtmp_dial_t *c, const char *host, int port, const char *app, const char *tc_url,
                        int publish, st_utime_t timeout);
/* createStream + publish "stream?params"; waits for NetStream.Publish.Start.
 * A refusal (e.g. BadName) is RILL_ERR_DENIED with c->status set. */
int rtmp_dial_publish(rtmp_dial_t *c, const char *stream, uint32_t chunk_size, st_utime_t timeout);
/* createStream + play; waits for NetStream.Play.Start. StreamNotFound is
 * RILL_ERR_NOT_FOUND; other refusals RILL_ERR_DENIED. */
int rtmp_dial_play(rtmp_dial_t *c, const char *stream, st_utime_t timeout);
void rtmp_dial_close(rtmp_dial_t *c);

#ifdef __cplusplus
}
#endif
#endif
