/* One accepted RTMP client: handshake, connect, then publish or play. */
#ifndef RTMP_CONN_H
#define RTMP_CONN_H

#include <st.h>
#include <stdint.h>
#include <sys/uio.h>
#include "hub.h"
#include "play_session.h"
#include "client.h"
#include "rtmp_session.h"
#include "task.h"
#include "session_env.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rtmp_conn rtmp_conn_t;

enum rtmp_conn_role { RTMP_ROLE_NONE = 0, RTMP_ROLE_PUBLISH, RTMP_ROLE_PLAY };

struct rtmp_conn {
    session_env_t *env;
    struct rtmp_conns *group;   /* the running connections it is one of */
    uint32_t cid;
    char peer[64];
    task_t task;                /* a member of group->tasks; its stop flag is client.stop */
    int64_t start_ms;
    rtmp_session_t s;
    const vhost_conf_t *vconf;
    /* What it connected to, each "" until known: one heap block (names) at
     * their length, built again when one changes (connect, then publish or
     * play). The client's pointers (what the API and hooks show) follow. */
    const char *vhost, *app, *stream, *param, *tc_url;
    char *names;
    int role;
    int proxy;                  /* expect a PROXY header first */
    int from_edge;              /* connect said rillEdge: a rill edge's upstream */
    source_t *src;              /* a publisher's source (a player's is in play) */
    play_session_t play;
    client_t client;            /* what the API lists; client.stop ends the connection */
    const char *reason;         /* why it ended, for the summary line */
    rtmp_conn_t *prev, *next;
};

/* The RTMP connections running: the group that owns their coroutines and
 * the list the API counts and max_connections checks. The server owns one. */
typedef struct rtmp_conns {
    tasks_t tasks;
    rtmp_conn_t *list;
    int count;
    uint64_t total, refused;    /* accepted, and refused at max_connections, since start */
} rtmp_conns_t;

int rtmp_conns_init(rtmp_conns_t *g);
/* Interrupt every connection and join each (the server's shutdown step). */
void rtmp_conns_stop(rtmp_conns_t *g);

/* Start a coroutine for an accepted fd (takes it), owned by g. proxy: the client's bytes start with a PROXY
 * protocol header, required. */
int rtmp_conn_spawn(session_env_t *env, rtmp_conns_t *g, st_netfd_t fd, int proxy);

#ifdef __cplusplus
}
#endif
#endif
