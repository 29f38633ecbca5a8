/* The server: listeners, the connections it accepted, the stream hub. It
 * owns every coroutine it starts (rill_task.h) and stops them all in
 * rill_server_stop, in the order doc/architecture.md "Coroutine lifecycle"
 * gives. */
#ifndef RILL_SERVER_H
#define RILL_SERVER_H

#include <st.h>
#include <stdint.h>
#include "edge.h"
#include "forward.h"
#include "http_hooks.h"
#include "hub.h"
#include "rill_client.h"
#include "rill_config.h"
#include "rill_http.h"
#include "rill_stats.h"
#include "rill_task.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rill_conn rill_conn_t;

typedef struct rill_listener {
    struct rill_server *srv;
    st_netfd_t fd;
    rill_task_t task;       /* the accept loop */
    char addr[80];
    int proxy_protocol;     /* every client starts with a PROXY header */
} rill_listener_t;

typedef struct rill_server {
    rill_config_t *conf;
    rill_hub_t hub;
    forward_mgr_t fwd;
    edge_mgr_t edge;
    rill_listener_t *listeners;
    int nlisteners;         /* slots made (walked at stop: a reload may change conf->nlistens) */
    rill_clients_t clients; /* every client the API can list and kick */
    rill_tasks_t conns_tasks; /* owns every RTMP connection's coroutine */
    rill_conn_t *conns;     /* every RTMP connection still running (for the API and max_connections) */
    int nconns;
    int stopping;
    int64_t start_ms;
    uint64_t total_conns, refused_conns;
    rill_http_t http;       /* http_server and http_api listeners */
    http_hooks_t hooks;     /* http_hooks notifications under way */
    rill_stats_t stats;     /* kbps sampling */
    char server_id[16];     /* SRS's "vid-xxxxxxx": this process */
    char service_id[16];    /* SRS's service id: this run */
} rill_server_t;

int rill_server_start(rill_server_t *srv, rill_config_t *conf);
/* Stop every coroutine in a fixed order (stats, listeners, HTTP, RTMP
 * connections, edge upstreams, forwarders, hook notifications), joining
 * each, then free the hub. */
void rill_server_stop(rill_server_t *srv);

/* The list of running connections (rtmp_conn.c keeps it). */
void rill_server_add_conn(rill_server_t *srv, rill_conn_t *c);
void rill_server_remove_conn(rill_server_t *srv, rill_conn_t *c);

#ifdef __cplusplus
}
#endif
#endif
