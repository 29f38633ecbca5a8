/* The server: listeners, the connections it accepted, the stream hub. It
 * owns every coroutine it starts (task.h) and stops them all in
 * server_stop, in the order doc/architecture.md "Coroutine lifecycle"
 * gives. */
#ifndef SERVER_H
#define SERVER_H

#include <st.h>
#include <stdint.h>
#include "api_view.h"
#include "hls.h"
#include "config.h"
#include "server_http.h"
#include "stats.h"
#include "task.h"
#include "rtmp_conn.h"
#include "session_env.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct listener {
    struct server *srv;
    st_netfd_t fd;
    task_t task;            /* the accept loop */
    char addr[80];
    int proxy_protocol;     /* every client starts with a PROXY header */
} listener_t;

/* Everything below the server sees only the part made for it: a client's
 * code the env, the API the view. */
typedef struct server {
    session_env_t env;      /* config, hub, edge, forwarders, hooks, client registry, ids */
    rtmp_conns_t rtmp;      /* owns every RTMP connection's coroutine */
    api_view_t view;        /* what the API, metrics and stats read */
    listener_t *listeners;
    int nlisteners;         /* slots made (walked at stop: a reload may change conf->nlistens) */
    server_http_t http;       /* http_server and http_api listeners */
    hls_mgr_t hls;          /* HLS segmenters, sessions, files */
    stats_t stats;     /* kbps sampling */
} server_t;

int server_start(server_t *srv, config_t *conf);
/* Stop every coroutine in a fixed order (stats, listeners, HTTP, RTMP
 * connections, edge upstreams, forwarders, HLS, hook notifications), joining
 * each, then free the hub. */
void server_stop(server_t *srv);

#ifdef __cplusplus
}
#endif
#endif
