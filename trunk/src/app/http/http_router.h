/* Routes of one HTTP server and the dispatch of a request to them: the
 * longest matching path first, CORS preflight, 404 and 405 answered here. */
#ifndef HTTP_ROUTER_H
#define HTTP_ROUTER_H

#include "http_request.h"
#include "http_response.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A handler returns 0 when it answered (or took the connection over),
 * HTTP_DECLINED to pass the request to the next matching route (404 when
 * none is left), or a negative RILL_ERR_*: when nothing was sent yet the
 * server answers for it (NOT_FOUND 404, DENIED 403, HTTP or INVAL 400, else
 * 500; nothing for EOF, IO, TIMEOUT, INTERRUPTED, which close). A response
 * left unfinished (fewer bytes than announced, chunked without its end, no
 * length, or taken over) closes the connection after the handler returns. */
typedef int (*http_handler_fn)(http_conn_t *c, const http_request_t *req, void *ctx);
#define HTTP_DECLINED 1

typedef struct http_route {
    char *path;             /* the pattern's path */
    int method;             /* -1: any */
    int prefix;             /* path ends in '/' */
    http_handler_fn fn;
    void *ctx;
} http_route_t;

typedef struct http_routes {
    http_route_t *list;
    int n;
} http_routes_t;

/* pattern: "[METHOD ]PATH". A PATH ending in '/' matches every path under
 * it ("/" matches all), otherwise only itself. The longest match wins (an
 * exact one before a prefix of the same length; registration order breaks
 * ties). Without METHOD any method matches; GET routes also take HEAD. A
 * path that matches only routes of other methods gets 405 with Allow. */
int http_routes_add(http_routes_t *r, const char *pattern, http_handler_fn fn, void *ctx);
void http_routes_free(http_routes_t *r);
/* Answer one request on c: the CORS preflight when c's server has
 * crossdomain, else the matching routes' handlers in rank order. */
void http_routes_dispatch(const http_routes_t *r, http_conn_t *c, const http_request_t *req);

#ifdef __cplusplus
}
#endif
#endif
