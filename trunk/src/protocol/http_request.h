/* HTTP/1.1 messages over memory, parsed by http-parser: bytes in (any
 * split), one request or response out. Every part is bounded, and a refused
 * request says which status to answer (400, 413, 414, 431). No sockets. */
#ifndef HTTP_REQUEST_H
#define HTTP_REQUEST_H

#include <http_parser.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HTTP_MAX_URL          8192        /* request target; longer: 414 */
#define HTTP_MAX_HEADER_BYTES 16384       /* names + values; more: 431 */
#define HTTP_MAX_HEADERS      100         /* more: 431 */
#define HTTP_MAX_REQ_BODY     65536       /* more: 413 */
#define HTTP_MAX_RESP_BODY    (1 << 20)   /* responses the client reads */

typedef struct http_header {
    char *name;
    char *value;
} http_header_t;

/* One message. Request fields are set by the request parser, status by the
 * response parser; the rest by both. Strings are NUL-terminated. */
typedef struct http_message {
    /* request */
    int method;             /* enum http_method (HTTP_GET, ...) */
    char *url;              /* the request target as sent */
    char *raw_path;         /* its path, still percent-encoded ("*" for OPTIONS *) */
    char *path;             /* the path percent-decoded (no NUL bytes in it) */
    char *query;            /* the query without '?', not decoded; "" when none */
    /* response */
    int status;
    /* both */
    int http_major, http_minor;
    http_header_t *headers;  /* nheaders of them, grown as they come (a connection keeps its request) */
    int nheaders, headers_cap;
    char *body;             /* body_len bytes plus a NUL; NULL when empty */
    size_t body_len;
    int keep_alive;         /* http_should_keep_alive() */
    int upgrade;            /* Upgrade or CONNECT: the connection is not HTTP after this */
} http_message_t;

typedef http_message_t http_request_t;
typedef http_message_t http_response_t;

typedef struct http_msg_parser {
    http_parser p;
    http_message_t msg;     /* valid once feed returned 1 */
    size_t max_body;
    size_t url_len, header_bytes, name_len, value_len;
    int in_value;           /* the last header callback was a value */
    int started;            /* a byte of this message has been seen */
    int headers_done;       /* the headers are in msg; the body may still come */
    int done;
    int head_response;      /* a response to HEAD: no body follows */
    int status;             /* refused: the status to answer */
    const char *reason;     /* refused: why, for the log */
} http_msg_parser_t;

/* Requests (a server reading clients). */
void http_req_parser_init(http_msg_parser_t *mp);
/* Responses (a client); head: the request was HEAD, so no body follows. */
void http_resp_parser_init(http_msg_parser_t *mp, int head);
void http_msg_parser_free(http_msg_parser_t *mp);

/* Feed n bytes; *used says how many were taken. Returns 1 when a whole
 * message is in mp->msg (the bytes after it were not taken: a pipelined next
 * request), 0 when more bytes are needed, RILL_ERR_HTTP when refused (then
 * mp->status and mp->reason say why). */
int http_msg_parser_feed(http_msg_parser_t *mp, const void *data, size_t n, size_t *used);
/* The peer closed. Returns 1 when that ended a message (a response whose
 * body runs to the close), 0 when nothing had started, else RILL_ERR_HTTP. */
int http_msg_parser_eof(http_msg_parser_t *mp);
/* Drop the message and get ready for the next one on the same connection. */
void http_msg_parser_next(http_msg_parser_t *mp);

/* Header value by name, case-insensitive; the first of repeated ones. */
const char *http_header_get(const http_message_t *m, const char *name);
/* A method's name ("GET"), or "?" */
const char *http_method_name(int method);

#ifdef __cplusplus
}
#endif
#endif
