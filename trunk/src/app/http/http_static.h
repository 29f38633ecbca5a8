/* Static files from one directory, as an HTTP route handler. */
#ifndef HTTP_STATIC_H
#define HTTP_STATIC_H

#include "http_server.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct http_static http_static_t;

/* dir need not exist yet (requests get 404 until it does). */
int http_static_new(http_static_t **out, const char *dir);
void http_static_free(http_static_t *st);
/* Serve from another dir from the next request on (a reload). RILL_ERR_NOMEM
 * leaves the old one. Requests under way are not affected: a request reads
 * dir once, before its first yield. */
int http_static_set_dir(http_static_t *st, const char *dir);
const char *http_static_dir(const http_static_t *st);
/* The handler; ctx is the http_static_t. GET and HEAD only; "dir/" paths
 * serve their index.html; nothing outside dir, even through symlinks. */
int http_static_handle(http_conn_t *c, const http_request_t *req, void *ctx);

#ifdef __cplusplus
}
#endif
#endif
