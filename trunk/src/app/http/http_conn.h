/* One HTTP connection as the server, the router and the responses see it.
 * Inside the http wing only: handlers use http_response.h. */
#ifndef HTTP_CONN_H
#define HTTP_CONN_H

#include <st.h>
#include <stdint.h>
#include "http_realip.h"
#include "http_request.h"
#include "rill_bytes.h"
#include "task.h"

struct http_server;

#define HTTP_CONN_RBUF 8192

/* What every connection of one server reads of it (set by the server). */
typedef struct http_conn_cfg {
    char name[32];                  /* for logs */
    int crossdomain;                /* CORS headers; OPTIONS answered */
    st_utime_t send_timeout;
    int stopping;                   /* the server is shutting down */
    const realip_conf_t *realip;    /* whom to believe about the client's address; NULL: nobody */
} http_conn_cfg_t;

enum http_resp_state { RESP_NONE = 0, RESP_STREAMING, RESP_DONE };
enum http_resp_mode { MODE_LENGTH = 1, MODE_CHUNKED, MODE_UNTIL_CLOSE };

struct http_conn {
    struct http_server *srv;        /* the server's own (http_server.c) */
    const http_conn_cfg_t *cfg;     /* the server's, for the router and the responses */
    st_netfd_t fd;
    task_t task;                    /* a member of srv->conns; its stop flag is 'stop' */
    uint32_t cid;
    char sock_peer[64];             /* the socket's peer, "ip:port" */
    char sock_ip[REALIP_IP_LEN];
    int sock_port;
    /* the client of the current request: the socket's peer, or the address
     * a trusted proxy named (http_realip.h) */
    char peer[128];                 /* for logs: "ip:port", or "ip[:port] via ip:port" */
    char ip[REALIP_IP_LEN];
    int port;                       /* 0 when a proxy named no port */
    int realip_warned;              /* a bad header was logged on this connection */
    st_utime_t accepted;
    int stop;                       /* set by the server on shutdown */
    http_msg_parser_t parser;
    uint8_t *rbuf;                  /* HTTP_CONN_RBUF bytes; freed when a handler takes the socket over */
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

#endif
