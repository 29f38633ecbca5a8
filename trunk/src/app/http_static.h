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
/* The handler; ctx is the http_static_t. GET and HEAD only; "dir/" paths
 * serve their index.html; nothing outside dir, even through symlinks. */
int http_static_handle(http_conn_t *c, const http_request_t *req, void *ctx);

#ifdef __cplusplus
}
#endif
#endif
