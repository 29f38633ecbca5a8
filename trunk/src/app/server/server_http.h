/* The HTTP side of the server, from the config: http_server { } (static
 * files; HTTP-FLV next) and http_api { } on one or two listeners. */
#ifndef SERVER_HTTP_H
#define SERVER_HTTP_H

#include "api_view.h"
#include "http_api.h"
#include "http_server.h"
#include "http_static.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct server_http {
    http_server_t *server;      /* http_server's listener; NULL when off */
    http_server_t *api;         /* http_api's listener: == server when they share a listen; NULL when off */
    http_static_t *files;       /* the "/" route on server */
    http_api_t *api_routes;
} server_http_t;

/* Build, route and start what env->conf enables; the listeners go into
 * view->http_server and view->http_api. On error nothing is left
 * running (and the error was logged). */
struct hls_mgr;

int server_http_start(server_http_t *h, session_env_t *env, api_view_t *view, struct hls_mgr *hls);
/* Stop both listeners and every HTTP connection; free everything. */
void server_http_stop(server_http_t *h);

#ifdef __cplusplus
}
#endif
#endif
