/* Answering a request on an HTTP connection: whole responses, streamed
 * bodies in three framings, and what a long-lived handler (HTTP-FLV) needs
 * to take the socket over. The connection itself belongs to the server
 * (http_server.h); a handler only writes through these. */
#ifndef HTTP_RESPONSE_H
#define HTTP_RESPONSE_H

#include <st.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>
#include "http_request.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct http_conn http_conn_t;

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
 * says why). No other request is read on a connection taken over: its read
 * and header buffers are freed here. */
st_netfd_t http_conn_takeover(http_conn_t *c);
int http_conn_stopping(const http_conn_t *c);
/* The current request's client, for logs: "ip:port", or "ip[:port] via
 * ip:port" when a trusted proxy named it (http_server_opts_t.realip). */
const char *http_conn_peer(const http_conn_t *c);
/* The same client's address alone ("127.0.0.5", "2001:db8::1") and its
 * port (0 when the proxy named none): what the API, hooks and per-address
 * bounds use. */
const char *http_conn_client_ip(const http_conn_t *c);
int http_conn_client_port(const http_conn_t *c);
/* The connection's socket (to watch it for a close, never to read or write). */
int http_conn_fileno(const http_conn_t *c);
/* Bytes written to this connection so far (headers included). */
uint64_t http_conn_out_bytes(const http_conn_t *c);
/* The server's send timeout, for handlers writing on their own. */
st_utime_t http_conn_send_timeout(const http_conn_t *c);

#ifdef __cplusplus
}
#endif
#endif
