/* What the API, the metrics and the stats read of the server, and all they
 * see of it: the state shared with the clients (session_env.h), the RTMP
 * connections, the kbps sampler, the HTTP listeners, and a way to ask for a
 * reload. The server fills one; the API never reaches the server itself. */
#ifndef API_VIEW_H
#define API_VIEW_H

#include <stddef.h>
#include "http_server.h"
#include "stats.h"
#include "rtmp_conn.h"
#include "session_env.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct api_view {
    session_env_t *env;
    const rtmp_conns_t *rtmp;
    stats_t *stats;
    http_server_t *http_server;     /* http_server's listener; NULL when off */
    http_server_t *http_api;        /* http_api's: == http_server when they share a listen; NULL when off */
    /* rpc=reload: re-read the conf file; 0, or an error with err set */
    int (*reload)(void *ctx, char *err, size_t errlen);
    void *reload_ctx;
} api_view_t;

/* Connections of both HTTP listeners (counted once when they share one). */
int api_view_http_conns(const api_view_t *view);

#ifdef __cplusplus
}
#endif
#endif
