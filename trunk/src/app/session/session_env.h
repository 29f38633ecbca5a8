/* What the server shares with everything that serves a client, and all that
 * a client's code sees of it: the config (a reload replaces it), the stream
 * hub, the edge and the forwarders that feed and drain it, the hook
 * notifier, the client registry, and what names this process. The server
 * owns one (server_t.env) and hands its address down; nothing below the
 * server sees the server itself. */
#ifndef SESSION_ENV_H
#define SESSION_ENV_H

#include <stdint.h>
#include "edge.h"
#include "forward.h"
#include "http_hooks.h"
#include "hub.h"
#include "client.h"
#include "config.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct session_env {
    config_t *conf;
    hub_t hub;
    forward_mgr_t fwd;
    edge_mgr_t edge;
    http_hooks_t hooks;
    clients_t clients;          /* every client the API can list and kick */
    int stopping;               /* the server is shutting down: clients end with that reason */
    int64_t start_ms;
    char server_id[16];         /* SRS's "vid-xxxxxxx": this process */
    char service_id[16];        /* SRS's service id: this run */
} session_env_t;

#ifdef __cplusplus
}
#endif
#endif
