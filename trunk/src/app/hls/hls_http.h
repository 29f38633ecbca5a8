/* HLS over rill's HTTP server, from memory: GET on a vhost's hls_m3u8_file
 * path answers the live playlist, on its hls_ts_file path a segment. */
#ifndef HLS_HTTP_H
#define HLS_HTTP_H

#include "http_server.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A route handler; ctx is the hls_mgr_t. Declines what is not an HLS
 * path of a vhost with hls enabled, so HTTP-FLV and static files can take it. */
int hls_http_serve(http_conn_t *c, const http_request_t *req, void *ctx);

#ifdef __cplusplus
}
#endif
#endif
