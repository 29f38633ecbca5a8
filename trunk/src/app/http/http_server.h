/* An HTTP/1.1 server on state-threads: one listener, one coroutine per
 * connection, keep-alive, a router, and response helpers for both whole
 * responses and long-lived streams (HTTP-FLV).
 *
 *   http_server_new(&s, &opts);
 *   http_server_route(s, "GET /api/v1/versions", versions, ctx);
 *   http_server_route(s, "/", static_files, dir);
 *   http_server_start(s);                 // listen; accept in a coroutine
 *   ...
 *   http_server_destroy(s);               // stop accepting, interrupt and join every connection, free
 *
 * The server owns every coroutine it starts (rill_task.h): a connection's
 * coroutine returns, the server joins it and frees its fd and buffers;
 * destroy interrupts every connection and joins each. */
#ifndef HTTP_SERVER_H
#define HTTP_SERVER_H

#include <st.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>
#include "http_request.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct http_server http_server_t;
typedef struct http_conn http_conn_t;

/* A handler returns 0 when it answered (or took the connection over),
 * HTTP_DECLINED to pass the request to the next matching route (404 when
 * none is left), or a negative RILL_ERR_*: when nothing was sent yet the
 * server answers for it (NOT_FOUND 404, DENIED 403, HTTP or INVAL 400, else
 * 500; nothing for EOF, IO, TIMEOUT, INTERRUPTED, which close). A response
 * left unfinished (fewer bytes than announced, chunked without its end, no
 * length, or taken over) closes the connection after the handler returns. */
typedef int (*http_handler_fn)(http_conn_t *c, const http_request_t *req, void *ctx);
#define HTTP_DECLINED 1

typedef struct http_server_opts {
    const char *name;           /* for logs, e.g. "http", "api", "http+api" */
    const char *ip;             /* "0.0.0.0" for all */
    int port;
    int crossdomain;            /* CORS headers on every response; OPTIONS answered 200 */
    int header_timeout_ms;      /* a request (line, headers, body) must arrive within this; 0: 10000 */
    int keepalive_timeout_ms;   /* idle time allowed between requests; 0: 30000 */
    int send_timeout_ms;        /* each response write; 0: 30000 */
    int max_conns;              /* more are closed at accept; 0: 1000 */
} http_server_opts_t;

int http_server_new(http_server_t **out, const http_server_opts_t *opts);
/* pattern: "[METHOD ]PATH". A PATH ending in '/' matches every path under
 * it ("/" matches all), otherwise only itself. The longest match wins (an
 * exact one before a prefix of the same length; registration order breaks
 * ties). Without METHOD any method matches; GET routes also take HEAD. A
 * path that matches only routes of other methods gets 405 with Allow. */
int http_server_route(http_server_t *s, const char *pattern, http_handler_fn fn, void *ctx);
/* Listen and start accepting. RILL_ERR_SYSTEM (logged) when it cannot listen. */
int http_server_start(http_server_t *s);
/* Stop accepting, interrupt every connection, join each, free. A handler
 * must return once interrupted (its st_* calls fail with EINTR). 0. */
int http_server_destroy(http_server_t *s);
int http_server_nconns(const http_server_t *s);
/* The port it listens on (useful after listening on port 0). */
int http_server_port(const http_server_t *s);
const char *http_server_name(const http_server_t *s);

/* ---- responses ------------------------------------------------------------
 * extra_headers: NULL or complete header lines, each ending in "\r\n".
 * On HEAD only the headers go out: the body helpers then write nothing. */

/* A whole response: headers with Content-Length, then body. */
int http_send(http_conn_t *c, int status, const char *content_type, const void *body, size_t len,
              const char *extra_headers);
/* A short text/plain body naming the status ("404 Not Found\n"). */
int http_send_error(http_conn_t *c, int status, const char *extra_headers);

#define HTTP_LENGTH_CHUNKED     (-1)    /* Transfer-Encoding: chunked (HTTP/1.0 clients: until close) */
#define HTTP_LENGTH_UNTIL_CLOSE (-2)    /* no length: the body ends when the connection closes */
/* Headers only; the body follows with http_write/http_writev (and http_end).
 * length >= 0 announces Content-Length, else one of the modes above. */
int http_send_headers(http_conn_t *c, int status, const char *content_type, int64_t length,
                      const char *extra_headers);
/* Body bytes in the framing the headers chose: one chunk when chunked
 * (nothing for n == 0), raw otherwise (never more than announced). */
int http_write(http_conn_t *c, const void *p, size_t n);
/* The same for iovecs (one writev; the chunk framing is added around them). */
int http_writev(http_conn_t *c, const struct iovec *iov, int iovcnt);
/* Ends the body: the last chunk when chunked, else nothing. */
int http_end(http_conn_t *c);

/* ---- long-lived handlers ----------------------------------------------------
 * A streaming handler (HTTP-FLV) sends headers, then may take the socket to
 * run its own loop (writev, and st_netfd_poll(fd, POLLIN, ...) to notice the
 * client closing). The server closes the fd after the handler returns; the
 * handler never closes it. Server shutdown interrupts the handler's
 * coroutine: its blocking st_* calls return EINTR (http_conn_stopping then
 * says why). */
st_netfd_t http_conn_takeover(http_conn_t *c);
int http_conn_stopping(const http_conn_t *c);
const char *http_conn_peer(const http_conn_t *c);
/* Bytes written to this connection so far (headers included). */
uint64_t http_conn_out_bytes(const http_conn_t *c);
/* The server's send timeout, for handlers writing on their own. */
st_utime_t http_conn_send_timeout(const http_conn_t *c);

#ifdef __cplusplus
}
#endif
#endif
