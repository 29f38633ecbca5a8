/* HTTP-FLV live playback: GET on a vhost's http_remux mount streams the
 * source as FLV from the same hub as RTMP players (same ring, same batching,
 * nothing copied per player). */
#ifndef HTTP_FLV_H
#define HTTP_FLV_H

#include "http_server.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A route handler; ctx is the session_env_t. Declines requests that match
 * no enabled mount, so static files can take them. */
int http_flv_serve(http_conn_t *c, const http_request_t *req, void *ctx);

#ifdef __cplusplus
}
#endif
#endif
