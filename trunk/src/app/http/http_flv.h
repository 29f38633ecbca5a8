/* HTTP-FLV live playback: GET on a vhost's http_remux mount streams the
 * source as FLV from the same hub as RTMP players (same ring, same batching,
 * nothing copied per player). */
#ifndef HTTP_FLV_H
#define HTTP_FLV_H

#include "http_server.h"
#include "config.h"
#include "session_env.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The vhost of an HTTP request: ?vhost= in param wins, then the Host header
 * without its port (NULL: none enabled). */
const vhost_conf_t *http_pick_vhost(session_env_t *env, const http_request_t *req, const char *param);

/* A route handler; ctx is the session_env_t. Declines requests that match
 * no enabled mount, so static files can take them. */
int http_flv_serve(http_conn_t *c, const http_request_t *req, void *ctx);

#ifdef __cplusplus
}
#endif
#endif
