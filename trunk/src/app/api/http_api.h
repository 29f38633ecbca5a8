/* The HTTP API (SRS-shaped JSON under /api/v1/): routes behind optional
 * basic auth, and the helpers every API handler uses. Adding an endpoint:
 *
 *   static int summaries(http_api_t *a, http_conn_t *c, const http_request_t *req)
 *   {
 *       cJSON *o = http_api_reply(a, 0);           // {"code":0,"server":...,"service":...,"pid":...}
 *       cJSON_AddItemToObject(o, "data", ...);
 *       return http_api_send_json(c, 200, o);      // sends and frees o
 *   }
 *   http_api_route(a, "GET /api/v1/summaries", summaries);   // in http_api_mount()
 */
#ifndef HTTP_API_H
#define HTTP_API_H

#include <cjson/cJSON.h>
#include "http_server.h"
#include "config.h"

#ifdef __cplusplus
extern "C" {
#endif

struct api_view;
typedef struct http_api http_api_t;
typedef int (*http_api_fn)(http_api_t *a, http_conn_t *c, const http_request_t *req);

/* Register the API routes on hs (which may also serve files). Auth follows
 * view->env->conf->http_api at each request (a reload applies at once). */
int http_api_mount(http_api_t **out, http_server_t *hs, struct api_view *view);
void http_api_free(http_api_t *a);

/* A route behind the API's auth (see http_server_route for patterns). */
int http_api_route(http_api_t *a, const char *pattern, http_api_fn fn);
struct api_view *http_api_view(const http_api_t *a);
/* A new reply object with SRS's envelope: code, server, service, pid. */
cJSON *http_api_reply(const http_api_t *a, int code);
/* Send obj as application/json with status, and free it. NULL obj: 500. */
int http_api_send_json(http_conn_t *c, int status, cJSON *obj);

#ifdef __cplusplus
}
#endif
#endif
