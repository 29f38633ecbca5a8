/* Every API route goes through api_entry, which checks basic auth (when
 * enabled) before the endpoint runs; endpoints build JSON with cJSON. The
 * credentials are read from the running config at each request, so a
 * reload changes them for the next one. */
#include "http_api.h"
#include "api_json.h"
#include "http_auth.h"
#include "http_url.h"
#include "metrics.h"
#include "rill_error.h"
#include "rill_log.h"
#include "api_view.h"
#include "rill_time.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef RILL_VERSION
#define RILL_VERSION "0.0.0"
#endif

#define MAX_API_ROUTES 64
#define DEFAULT_COUNT  100      /* list pages: SRS's count=10 is too few to see a node at a glance */
#define MAX_COUNT      10000

/* SRS's error codes in "code" */
#define ERR_VHOST_NOT_FOUND  2014
#define ERR_STREAM_NOT_FOUND 2048
#define ERR_CLIENT_NOT_FOUND 2049

typedef struct api_route {
    http_api_t *api;
    http_api_fn fn;
} api_route_t;

struct http_api {
    http_server_t *hs;
    struct api_view *view;
    char pid[16];
    api_route_t routes[MAX_API_ROUTES];     /* fixed: the server keeps pointers to them */
    int nroutes;
};

static int api_entry(http_conn_t *c, const http_request_t *req, void *ctx)
{
    api_route_t *r = ctx;
    const http_conf_t *conf = &r->api->view->env->conf->http_api;
    if (!conf->enabled) {
        /* a reload turned the API off: its listener stays until a restart, its answers stop now */
        rill_trace("api %s %s: http_api is disabled", http_conn_peer(c), req->url);
        return http_send_error(c, 404, NULL);
    }
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

struct api_view *http_api_view(const http_api_t *a) { return a->view; }

cJSON *http_api_reply(const http_api_t *a, int code)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    /* SRS sends the ids and the pid as strings. */
    if (!cJSON_AddNumberToObject(o, "code", code) || !cJSON_AddStringToObject(o, "server", a->view->env->server_id) ||
        !cJSON_AddStringToObject(o, "service", a->view->env->service_id) || !cJSON_AddStringToObject(o, "pid", a->pid)) {
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

/* {"code":code,...} with an HTTP error status. */
static int api_error(http_api_t *a, http_conn_t *c, int status, int code)
{
    return http_api_send_json(c, status, http_api_reply(a, code));
}

/* The {id} after a route's prefix: 1 and *id for a number, 0 when there is
 * none (the list), -1 when it is not an id. */
static int rest_id(const http_request_t *req, const char *prefix, uint32_t *id)
{
    size_t n = strlen(prefix);
    if (strncmp(req->path, prefix, n) != 0) return 0;    /* the list route, without the '/' */
    const char *p = req->path + n;
    if (!*p) return 0;
    char *end;
    unsigned long v = strtoul(p, &end, 10);
    if (*p < '0' || *p > '9' || (*end && strcmp(end, "/")) || v == 0 || v > UINT32_MAX) return -1;
    *id = (uint32_t)v;
    return 1;
}

/* start/count query parameters, as SRS reads them. */
static void page(const http_request_t *req, int *start, int *count)
{
    char v[32];
    *start = 0;
    *count = DEFAULT_COUNT;
    if (http_query_get(req->query, "start", v, sizeof v) == 1 && atoi(v) > 0) *start = atoi(v);
    if (http_query_get(req->query, "count", v, sizeof v) == 1) {
        int n = atoi(v);
        *count = n < 1 ? 1 : n > MAX_COUNT ? MAX_COUNT : n;
    }
}

/* Reply with o plus key: item, or a NULL item as no memory. */
static int reply_with(http_api_t *a, http_conn_t *c, const char *key, cJSON *item)
{
    cJSON *o = item ? http_api_reply(a, 0) : NULL;
    if (!o) {
        cJSON_Delete(item);
        return RILL_ERR_NOMEM;
    }
    cJSON_AddItemToObject(o, key, item);
    return http_api_send_json(c, 200, o);
}

_Static_assert(offsetof(source_t, id) == 0 && offsetof(client_t, id) == 0,
               "send_list sorts sources and clients by their first field");

static int by_id(const void *x, const void *y)
{
    uint32_t a = **(const uint32_t *const *)x, b = **(const uint32_t *const *)y;
    return a < b ? -1 : a > b;
}

/* A collection of the API: /api/v1/streams and /api/v1/clients, each a
 * linked list of records whose first field is a uint32_t id. */
typedef struct api_list {
    const char *path;           /* "/api/v1/streams/": an id may follow */
    const char *one, *many;     /* the reply's key for one item, for the list */
    int not_found;              /* SRS's code for an unknown id */
    const void *(*find)(api_view_t *view, uint32_t id);
    const void *(*first)(const api_view_t *view, int *count);
    const void *(*next)(const void *item);
    cJSON *(*json)(api_view_t *view, const void *item, int64_t now);
} api_list_t;

static const void *stream_find(api_view_t *view, uint32_t id) { return hub_find_id(&view->env->hub, id); }
static const void *stream_first(const api_view_t *view, int *count)
{
    *count = view->env->hub.nsources;
    return view->env->hub.sources;
}
static const void *stream_next(const void *x) { return ((const source_t *)x)->next; }
static cJSON *stream_json(api_view_t *view, const void *x, int64_t now) { return api_json_stream(view, x, now); }

static const void *client_find(api_view_t *view, uint32_t id) { return clients_find(&view->env->clients, id); }
static const void *client_first(const api_view_t *view, int *count)
{
    *count = view->env->clients.count;
    return view->env->clients.list;
}
static const void *client_next(const void *x) { return ((const client_t *)x)->next; }
static cJSON *client_json(api_view_t *view, const void *x, int64_t now) { return api_json_client(view, x, now); }

static const api_list_t streams_list = { "/api/v1/streams/", "stream", "streams", ERR_STREAM_NOT_FOUND,
                                         stream_find, stream_first, stream_next, stream_json };
static const api_list_t clients_list = { "/api/v1/clients/", "client", "clients", ERR_CLIENT_NOT_FOUND,
                                         client_find, client_first, client_next, client_json };

/* A page of the list, oldest id first. */
static int send_list(http_api_t *a, http_conn_t *c, const http_request_t *req, const api_list_t *l)
{
    int max;
    const void *first = l->first(a->view, &max);
    const void **items = malloc(sizeof *items * (size_t)(max + 1));
    if (!items) return RILL_ERR_NOMEM;
    int n = 0;
    for (const void *it = first; it && n <= max; it = l->next(it)) items[n++] = it;
    int start, count;
    page(req, &start, &count);
    qsort(items, (size_t)n, sizeof *items, by_id);
    int64_t now = rill_now_ms();
    cJSON *o = http_api_reply(a, 0);
    cJSON *arr = o ? cJSON_AddArrayToObject(o, l->many) : NULL;
    int rc = arr && cJSON_AddNumberToObject(o, "total", n) ? 0 : RILL_ERR_NOMEM;
    for (int i = start; i < n && i < start + count && !rc; i++) {
        cJSON *it = l->json(a->view, items[i], now);
        if (it) cJSON_AddItemToArray(arr, it);
        else rc = RILL_ERR_NOMEM;
    }
    free(items);
    if (rc) {
        cJSON_Delete(o);
        return rc;
    }
    return http_api_send_json(c, 200, o);
}

/* GET PATH{id}: one item (404 with SRS's code when unknown); GET PATH: a page. */
static int api_list(http_api_t *a, http_conn_t *c, const http_request_t *req, const api_list_t *l)
{
    uint32_t id;
    int r = rest_id(req, l->path, &id);
    if (r == 0) return send_list(a, c, req, l);
    const void *it = r > 0 ? l->find(a->view, id) : NULL;
    if (!it) return api_error(a, c, 404, l->not_found);
    return reply_with(a, c, l->one, l->json(a->view, it, rill_now_ms()));
}

static int api_summaries(http_api_t *a, http_conn_t *c, const http_request_t *req)
{
    return reply_with(a, c, "data", api_json_summary(a->view, rill_now_ms()));
}

static int api_streams(http_api_t *a, http_conn_t *c, const http_request_t *req) { return api_list(a, c, req, &streams_list); }
static int api_clients(http_api_t *a, http_conn_t *c, const http_request_t *req) { return api_list(a, c, req, &clients_list); }

/* DELETE /api/v1/clients/{id}: kick. Repeating it is harmless: once the
 * client has gone it answers 404 with SRS's client-not-found code. */
static int api_kick(http_api_t *a, http_conn_t *c, const http_request_t *req)
{
    uint32_t id;
    client_t *cl = rest_id(req, "/api/v1/clients/", &id) > 0 ? clients_find(&a->view->env->clients, id) : NULL;
    if (!cl) return api_error(a, c, 404, ERR_CLIENT_NOT_FOUND);
    rill_trace("api %s: kick client %u (%s %s/%s/%s)", http_conn_peer(c), cl->id, client_type_name(cl->type),
               cl->vhost, cl->app, cl->stream);
    client_kick(cl);
    return http_api_send_json(c, 200, http_api_reply(a, 0));
}

static int api_vhosts(http_api_t *a, http_conn_t *c, const http_request_t *req)
{
    api_view_t *view = a->view;
    const config_t *conf = view->env->conf;
    int64_t now = rill_now_ms();
    const char *prefix = "/api/v1/vhosts/";
    if (strncmp(req->path, prefix, strlen(prefix)) == 0 && req->path[strlen(prefix)]) {
        const char *name = req->path + strlen(prefix);
        for (int i = 0; i < conf->nvhosts; i++)
            if (!strcmp(conf->vhosts[i].name, name))
                return reply_with(a, c, "vhost", api_json_vhost(view, &conf->vhosts[i], now));
        return api_error(a, c, 404, ERR_VHOST_NOT_FOUND);
    }
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; i < conf->nvhosts && arr; i++) {
        cJSON *v = api_json_vhost(view, &conf->vhosts[i], now);
        if (!v) {
            cJSON_Delete(arr);
            arr = NULL;
        } else {
            cJSON_AddItemToArray(arr, v);
        }
    }
    return reply_with(a, c, "vhosts", arr);
}

static int api_metrics(http_api_t *a, http_conn_t *c, const http_request_t *req)
{
    rill_writer_t w;
    rill_writer_init(&w, 0);
    int rc = metrics_write(a->view, rill_now_ms(), &w);
    if (!rc) rc = http_send(c, 200, METRICS_CONTENT_TYPE, w.data, w.len, NULL);
    rill_writer_free(&w);
    return rc;
}

/* SRS's raw API, of which rill has rpc=reload: re-read the conf file. A file
 * with an error is refused (code != 0, with the FILE:LINE reason) and the
 * running config stays. */
static int api_raw(http_api_t *a, http_conn_t *c, const http_request_t *req)
{
    char rpc[32] = "";
    http_query_get(req->query, "rpc", rpc, sizeof rpc);
    if (strcmp(rpc, "reload") != 0) return api_error(a, c, 400, RILL_ERR_INVAL);
    char err[1024] = "";
    int rc = RILL_ERR_INVAL;
    if (a->view->reload) rc = a->view->reload(a->view->reload_ctx, err, sizeof err);
    else snprintf(err, sizeof err, "reload is not available");
    cJSON *o = http_api_reply(a, rc);
    if (o && rc && !cJSON_AddStringToObject(o, "error", err)) {
        cJSON_Delete(o);
        o = NULL;
    }
    return http_api_send_json(c, rc ? 400 : 200, o);
}

int http_api_mount(http_api_t **out, http_server_t *hs, struct api_view *view)
{
    *out = NULL;
    http_api_t *a = calloc(1, sizeof *a);
    if (!a) return RILL_ERR_NOMEM;
    a->hs = hs;
    a->view = view;
    snprintf(a->pid, sizeof a->pid, "%d", (int)getpid());
    static const struct { const char *pattern; http_api_fn fn; } routes[] = {
        { "GET /api/v1/versions", api_versions },
        { "GET /api/v1/health", api_health },
        { "GET /api/v1/summaries", api_summaries },
        { "GET /api/v1/streams", api_streams },
        { "GET /api/v1/streams/", api_streams },
        { "GET /api/v1/clients", api_clients },
        { "GET /api/v1/clients/", api_clients },
        { "DELETE /api/v1/clients/", api_kick },
        { "GET /api/v1/vhosts", api_vhosts },
        { "GET /api/v1/vhosts/", api_vhosts },
        { "GET /metrics", api_metrics },
        { "GET /api/v1/raw", api_raw },
    };
    int rc = 0;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0] && !rc; i++) rc = http_api_route(a, routes[i].pattern, routes[i].fn);
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
