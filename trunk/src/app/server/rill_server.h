/* The server: listeners, the connections it accepted, the stream hub. It
 * owns every coroutine it starts (rill_task.h) and stops them all in
 * rill_server_stop, in the order doc/architecture.md "Coroutine lifecycle"
 * gives. */
#ifndef RILL_SERVER_H
#define RILL_SERVER_H

#include <st.h>
#include <stdint.h>
#include "api_view.h"
#include "rill_config.h"
#include "rill_http.h"
#include "rill_stats.h"
#include "rill_task.h"
#include "rtmp_conn.h"
#include "session_env.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rill_listener {
    struct rill_server *srv;
    st_netfd_t fd;
    rill_task_t task;       /* the accept loop */
    char addr[80];
    int proxy_protocol;     /* every client starts with a PROXY header */
} rill_listener_t;

/* Everything below the server sees only the part made for it: a client's
 * code the env, the API the view. */
typedef struct rill_server {
    session_env_t env;      /* config, hub, edge, forwarders, hooks, client registry, ids */
    rtmp_conns_t rtmp;      /* owns every RTMP connection's coroutine */
    api_view_t view;        /* what the API, metrics and stats read */
    rill_listener_t *listeners;
    int nlisteners;         /* slots made (walked at stop: a reload may change conf->nlistens) */
    rill_http_t http;       /* http_server and http_api listeners */
    rill_stats_t stats;     /* kbps sampling */
} rill_server_t;

int rill_server_start(rill_server_t *srv, rill_config_t *conf);
/* Stop every coroutine in a fixed order (stats, listeners, HTTP, RTMP
 * connections, edge upstreams, forwarders, hook notifications), joining
 * each, then free the hub. */
void rill_server_stop(rill_server_t *srv);

#ifdef __cplusplus
}
#endif
#endif
