/* Inside the HTTP server: shared by http_server.c (connections),
 * http_router.c (routes, CORS, dispatch) and http_response.c (writing).
 * Nothing else includes this. */
#ifndef HTTP_SERVER_INT_H
#define HTTP_SERVER_INT_H

#include "http_server.h"
#include "rill_bytes.h"
#include "rill_task.h"

typedef struct http_route {
    char *path;             /* the pattern's path */
    int method;             /* -1: any */
    int prefix;             /* path ends in '/' */
    http_handler_fn fn;
    void *ctx;
} http_route_t;

struct http_server {
    char name[32];
    char ip[64];
    int port;
    int crossdomain;
    st_utime_t header_timeout, keepalive_timeout, send_timeout;
    int max_conns;
    http_route_t *routes;
    int nroutes;
    st_netfd_t lfd;
    rill_task_t accept;             /* the accept loop */
    rill_tasks_t conns;             /* every connection's coroutine: joined and freed by the server */
    int stopping;
};

enum http_resp_state { RESP_NONE = 0, RESP_STREAMING, RESP_DONE };
enum http_resp_mode { MODE_LENGTH = 1, MODE_CHUNKED, MODE_UNTIL_CLOSE };

struct http_conn {
    http_server_t *srv;
    st_netfd_t fd;
    rill_task_t task;               /* a member of srv->conns; its stop flag is 'stop' */
    uint32_t cid;
    char peer[64];
    st_utime_t accepted;
    int stop;                       /* set by the server on shutdown */
    http_msg_parser_t parser;
    char rbuf[8192];
    size_t rpos, rlen;
    int continued;                  /* "100 Continue" sent for the current request */
    uint64_t in_bytes, out_bytes;
    /* the response to the current request */
    const http_request_t *req;      /* NULL when answering a refused request */
    int keep;                       /* keep the connection for another request */
    int state;                      /* enum http_resp_state */
    int mode;                       /* enum http_resp_mode */
    int status;
    uint64_t remaining;             /* MODE_LENGTH: body bytes still owed */
    uint64_t resp_bytes;            /* this response, headers included */
    int taken_over;
    rill_writer_t hbuf;             /* header block being built */
};

/* errno of a failed st_* call as a RILL_ERR_* code. */
int http_st_error(void);
/* Route one request and answer it (http_router.c). */
void http_dispatch(http_conn_t *c, const http_request_t *req);
void http_router_free(http_server_t *s);

#endif
