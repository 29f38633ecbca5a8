/* Every client connection the API can list and kick: RTMP publishers and
 * players, HTTP-FLV players, HLS sessions. A connection embeds one and
 * registers it while it lives; the registry never owns the connection. */
#ifndef CLIENT_H
#define CLIENT_H

#include <st.h>
#include <stdint.h>
#include "rill_rate.h"

#ifdef __cplusplus
extern "C" {
#endif

enum client_type {
    CLIENT_RTMP = 0,            /* connected, neither publishing nor playing yet */
    CLIENT_PUBLISH,
    CLIENT_PLAY,                /* RTMP player */
    CLIENT_FLV,                 /* HTTP-FLV player */
    CLIENT_HLS,                 /* HLS player: a session of requests (IP, user agent, stream) */
};

typedef struct client {
    uint32_t id;                /* the connection's context id */
    int type;
    char ip[64];
    int port;
    const char *vhost, *app, *stream, *param; /* the owner's strings; "" until known */
    const char *tc_url;         /* the owner's string, "" when none */
    int64_t start_ms;
    const uint64_t *in_bytes, *out_bytes;     /* the owner's counters */
    st_thread_t thread;         /* the owner's coroutine, interrupted by a kick */
    int stop;                   /* set by a kick or shutdown; the owner checks it */
    int connected;              /* passed on_connect: its end sends on_close */
    int err;                    /* the owner's result at the end (RILL_ERR_*), counted as an error */
    rill_rate_t rate;           /* sampled by the stats coroutine (kbps) */
    struct client *prev, *next;
} client_t;

typedef struct clients {
    client_t *list;
    int count;
    /* what clients that left had done, so totals never go backwards */
    uint64_t closed_in, closed_out;
    uint64_t closed, errors;    /* clients that left; those that ended with an error */
} clients_t;

/* Set c->start_ms before adding: its rate starts there. */
void clients_add(clients_t *r, client_t *c);
/* Unlink c and add its bytes (and c->err) to the closed totals. */
void clients_remove(clients_t *r, client_t *c);
/* Bytes received and sent by every client, present and past. */
void clients_bytes(const clients_t *r, uint64_t *in, uint64_t *out);
client_t *clients_find(const clients_t *r, uint32_t id);
/* Ask a client to leave: its owner closes it. */
void client_kick(client_t *c);
const char *client_type_name(int type);

#ifdef __cplusplus
}
#endif
#endif
