/* One accepted RTMP client: handshake, connect, then publish or play. */
#ifndef RTMP_CONN_H
#define RTMP_CONN_H

#include <st.h>
#include <stdint.h>
#include <sys/uio.h>
#include "hub.h"
#include "play_session.h"
#include "rill_client.h"
#include "rtmp_session.h"
#include "rill_task.h"

#ifdef __cplusplus
extern "C" {
#endif

struct rill_server;

enum rill_conn_role { RILL_ROLE_NONE = 0, RILL_ROLE_PUBLISH, RILL_ROLE_PLAY };

struct rill_conn {
    struct rill_server *srv;
    uint32_t cid;
    char peer[64];
    rill_task_t task;           /* a member of the server's connections; its stop flag is client.stop */
    int64_t start_ms;
    rtmp_session_t s;
    const rill_vhost_conf_t *vconf;
    char vhost[256], app[256], stream[256], param[1024], tc_url[1024];
    int role;
    int proxy;                  /* expect a PROXY header first */
    int from_edge;              /* connect said rillEdge: a rill edge's upstream */
    rill_source_t *src;         /* a publisher's source (a player's is in play) */
    play_session_t play;
    rill_client_t client;       /* what the API lists; client.stop ends the connection */
    const char *reason;         /* why it ended, for the summary line */
    struct rill_conn *prev, *next;
};

/* Start a coroutine for an accepted fd (takes it), owned by the server's
 * group of connections. proxy: the client's bytes start with a PROXY
 * protocol header, required. */
int rtmp_conn_spawn(struct rill_server *srv, st_netfd_t fd, int proxy);

#ifdef __cplusplus
}
#endif
#endif
