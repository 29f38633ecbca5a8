/* Every API route goes through api_entry, which checks basic auth (when
 * enabled) before the endpoint runs; endpoints build JSON with cJSON. */
#include "http_api.h"
#include "http_auth.h"
#include "rill_error.h"
#include "rill_log.h"
#include "rill_server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef RILL_VERSION
#define RILL_VERSION "0.0.0"
#endif

#define MAX_API_ROUTES 64

typedef struct api_route {
    http_api_t *api;
    http_api_fn fn;
} api_route_t;

struct http_api {
    http_server_t *hs;
    struct rill_server *srv;
    const rill_http_conf_t *conf;
    char pid[16];
    api_route_t routes[MAX_API_ROUTES];     /* fixed: the server keeps pointers to them */
    int nroutes;
};

static int api_entry(http_conn_t *c, const http_request_t *req, void *ctx)
{
    api_route_t *r = ctx;
    const rill_http_conf_t *conf = r->api->conf;
    if (conf->auth &&
        !http_basic_auth_check(http_header_get(req, "authorization"), conf->username, conf->password)) {
        rill_trace("api %s %s: unauthorized", http_conn_peer(c), req->url);
        return http_send_error(c, 401, "WWW-Authenticate: Basic realm=\"rill\", charset=\"UTF-8\"\r\n");
    }
    return r->fn(r->api, c, req);
}

int http_api_route(http_api_t *a, const char *pattern, http_api_fn fn)
{
    if (a->nroutes >= MAX_API_ROUTES) return RILL_ERR_LIMIT;
    api_route_t *r = &a->routes[a->nroutes];
    r->api = a;
    r->fn = fn;
    int rc = http_server_route(a->hs, pattern, api_entry, r);
    if (rc == 0) a->nroutes++;
    return rc;
}

struct rill_server *http_api_server(const http_api_t *a) { return a->srv; }

cJSON *http_api_reply(const http_api_t *a, int code)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    /* SRS sends the ids and the pid as strings. */
    if (!cJSON_AddNumberToObject(o, "code", code) || !cJSON_AddStringToObject(o, "server", a->srv->server_id) ||
        !cJSON_AddStringToObject(o, "service", a->srv->service_id) || !cJSON_AddStringToObject(o, "pid", a->pid)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

int http_api_send_json(http_conn_t *c, int status, cJSON *obj)
{
    char *text = obj ? cJSON_PrintUnformatted(obj) : NULL;
    cJSON_Delete(obj);
    if (!text) return RILL_ERR_NOMEM;
    int rc = http_send(c, status, "application/json", text, strlen(text), NULL);
    cJSON_free(text);
    return rc;
}

/* ---- endpoints ------------------------------------------------------------ */

static int api_versions(http_api_t *a, http_conn_t *c, const http_request_t *req)
{
    int major = 0, minor = 0, revision = 0;
    sscanf(RILL_VERSION, "%d.%d.%d", &major, &minor, &revision);
    cJSON *o = http_api_reply(a, 0);
    cJSON *d = o ? cJSON_AddObjectToObject(o, "data") : NULL;
    if (!d || !cJSON_AddNumberToObject(d, "major", major) || !cJSON_AddNumberToObject(d, "minor", minor) ||
        !cJSON_AddNumberToObject(d, "revision", revision) || !cJSON_AddStringToObject(d, "version", RILL_VERSION)) {
        cJSON_Delete(o);
        return RILL_ERR_NOMEM;
    }
    return http_api_send_json(c, 200, o);
}

static int api_health(http_api_t *a, http_conn_t *c, const http_request_t *req)
{
    cJSON *o = cJSON_CreateObject();
    if (o && !cJSON_AddNumberToObject(o, "code", 0)) {
        cJSON_Delete(o);
        o = NULL;
    }
    return o ? http_api_send_json(c, 200, o) : RILL_ERR_NOMEM;
}

int http_api_mount(http_api_t **out, http_server_t *hs, struct rill_server *srv, const rill_http_conf_t *conf)
{
    *out = NULL;
    http_api_t *a = calloc(1, sizeof *a);
    if (!a) return RILL_ERR_NOMEM;
    a->hs = hs;
    a->srv = srv;
    a->conf = conf;
    snprintf(a->pid, sizeof a->pid, "%d", (int)getpid());
    int rc = http_api_route(a, "GET /api/v1/versions", api_versions);
    if (!rc) rc = http_api_route(a, "GET /api/v1/health", api_health);
    if (rc) {
        free(a);
        return rc;
    }
    *out = a;
    return 0;
}

void http_api_free(http_api_t *a)
{
    free(a);
}
