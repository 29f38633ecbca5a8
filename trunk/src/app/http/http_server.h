/* An HTTP/1.1 server on state-threads: one listener, one coroutine per
 * connection, keep-alive, a router, and response helpers for both whole
 * responses and long-lived streams (HTTP-FLV): the routes are in
 * http_router.h, the response helpers in http_response.h.
 *
 *   http_server_new(&s, &opts);
 *   http_server_route(s, "GET /api/v1/versions", versions, ctx);
 *   http_server_route(s, "/", static_files, dir);
 *   http_server_start(s);                 // listen; accept in a coroutine
 *   ...
 *   http_server_destroy(s);               // stop accepting, interrupt and join every connection, free
 *
 * The server owns every coroutine it starts (task.h): a connection's
 * coroutine returns, the server joins it and frees its fd and buffers;
 * destroy interrupts every connection and joins each. */
#ifndef HTTP_SERVER_H
#define HTTP_SERVER_H

#include <st.h>
#include "http_realip.h"
#include "http_request.h"
#include "http_response.h"
#include "http_router.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct http_server http_server_t;

typedef struct http_server_opts {
    const char *name;           /* for logs, e.g. "http", "api", "http+api" */
    const char *ip;             /* "0.0.0.0" for all */
    int port;
    int crossdomain;            /* CORS headers on every response; OPTIONS answered 200 */
    int header_timeout_ms;      /* a request (line, headers, body) must arrive within this; 0: 10000 */
    int keepalive_timeout_ms;   /* idle time allowed between requests; 0: 30000 */
    int send_timeout_ms;        /* each response write; 0: 30000 */
    int max_conns;              /* more are closed at accept; 0: 1000 */
    const realip_conf_t *realip;/* trusted proxies naming the client (X-Real-IP, ...); NULL: none.
                                 * Kept by pointer: it must outlive the server (or be replaced) */
} http_server_opts_t;

int http_server_new(http_server_t **out, const http_server_opts_t *opts);
/* Add a route (http_router.h says how patterns match). */
int http_server_route(http_server_t *s, const char *pattern, http_handler_fn fn, void *ctx);
/* Listen and start accepting. RILL_ERR_SYSTEM (logged) when it cannot listen. */
int http_server_start(http_server_t *s);
/* Stop accepting, interrupt every connection, join each, free. A handler
 * must return once interrupted (its st_* calls fail with EINTR). 0. */
int http_server_destroy(http_server_t *s);
int http_server_nconns(const http_server_t *s);
/* Whom the next requests believe about their client's address (a reload);
 * requests under way keep the address they got. */
void http_server_set_realip(http_server_t *s, const realip_conf_t *realip);
/* The port it listens on (useful after listening on port 0). */
int http_server_port(const http_server_t *s);
const char *http_server_name(const http_server_t *s);

#ifdef __cplusplus
}
#endif
#endif
