/* URL pieces for HTTP: percent-decoding, path safety, query parameters, and
 * the http:// URLs the HTTP client accepts. Pure string code. */
#ifndef HTTP_URL_H
#define HTTP_URL_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Percent-decode n bytes of in into out (room for n + 1; out may be in).
 * plus_space: '+' becomes ' ' (query strings). Refuses (RILL_ERR_HTTP) a
 * '%' without two hex digits after it and any NUL byte, encoded or not.
 * Returns the decoded length (>= 0). */
int http_percent_decode(const char *in, size_t n, char *out, int plus_space);

/* Whether a request path may be mapped onto files: it starts with '/', has
 * no backslash, no encoded '/' or '\' (%2f, %5c), and no ".." segment either
 * as sent (raw) or decoded (so %2e%2e is caught too). 1: safe, 0: not. */
int http_path_is_safe(const char *raw, const char *decoded);

/* The decoded value of the first name=value in a query string ("a=1&b=2").
 * Returns 1 and fills out, 0 when absent, RILL_ERR_HTTP when badly encoded,
 * RILL_ERR_LIMIT when it does not fit in outlen. */
int http_query_get(const char *query, const char *name, char *out, size_t outlen);

/* A syntactically valid host name (RFC 1123 labels of letters, digits,
 * '-' and '_', up to 63 each, 253 in all; a trailing dot is not allowed). */
int host_name_valid(const char *s);

/* An http:// URL the HTTP client may use: an IPv4 literal, "localhost"
 * (127.0.0.1) or a host name (looked up, without blocking, per request). */
typedef struct http_dial_url {
    char host[256];         /* as written, for the Host header */
    char ip[16];            /* dotted IPv4 to connect to; "" for a host name */
    int port;               /* 80 when absent */
    char target[4096];      /* path and query to request; "/" when empty */
} http_dial_url_t;

/* Returns 0, or RILL_ERR_URL with why set to a short reason. */
int http_dial_url_parse(const char *url, http_dial_url_t *u, const char **why);

#ifdef __cplusplus
}
#endif
#endif
