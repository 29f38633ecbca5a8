#include "server_http.h"
#include "hls_http.h"
#include "http_flv.h"
#include "rill_error.h"
#include "rill_log.h"

#include <string.h>

static int same_listen(const listen_conf_t *a, const listen_conf_t *b)
{
    return a->port == b->port && strcmp(a->ip, b->ip) == 0;
}

static int new_server(http_server_t **out, const char *name, const http_conf_t *l, int crossdomain,
                      const config_t *conf)
{
    /* header/keep-alive timeouts and the trusted proxies are http_server's
     * knobs, for both listeners. */
    http_server_opts_t o = {
        .name = name,
        .ip = l->listen.ip,
        .port = l->listen.port,
        .crossdomain = crossdomain,
        .header_timeout_ms = conf->http_server.header_timeout,
        .keepalive_timeout_ms = conf->http_server.keepalive_timeout,
        .max_conns = conf->max_connections,
        .realip = &conf->http_server.realip,
    };
    return http_server_new(out, &o);
}

int server_http_start(server_http_t *h, session_env_t *env, api_view_t *view, struct hls_mgr *hls)
{
    const config_t *conf = env->conf;
    const http_conf_t *hs = &conf->http_server, *api = &conf->http_api;
    memset(h, 0, sizeof *h);
    int shared = hs->enabled && api->enabled && same_listen(&hs->listen, &api->listen);
    int rc = 0;
    if (hs->enabled)
        rc = new_server(&h->server, shared ? "http+api" : "http", hs,
                        hs->crossdomain || (shared && api->crossdomain), conf);
    if (!rc && api->enabled) {
        if (shared) h->api = h->server;
        else rc = new_server(&h->api, "api", api, api->crossdomain, conf);
    }
    view->http_server = h->server;    /* the API counts their connections */
    view->http_api = h->api;
    /* Routes before listening. Exact API paths outrank "/", whatever the order;
     * the "/" routes of HLS and HTTP-FLV go before the files and decline what
     * is not their own. */
    if (!rc && h->api) rc = http_api_mount(&h->api_routes, h->api, view);
    if (!rc && h->server) rc = http_server_route(h->server, "GET /", hls_http_serve, hls);
    if (!rc && h->server) rc = http_server_route(h->server, "GET /", http_flv_serve, env);
    if (!rc && h->server) rc = http_static_new(&h->files, hs->dir);
    if (!rc && h->server) rc = http_server_route(h->server, "/", http_static_handle, h->files);
    if (!rc && h->server) rc = http_server_start(h->server);
    if (!rc && h->api && h->api != h->server) rc = http_server_start(h->api);
    if (rc) {
        rill_error("http: start failed: %s", rill_strerror(rc));
        server_http_stop(h);
    }
    return rc;
}

void server_http_stop(server_http_t *h)
{
    int rc = 0;
    if (h->api && h->api != h->server) rc |= http_server_destroy(h->api);
    if (h->server) rc |= http_server_destroy(h->server);
    /* Connections that never ended may still use the handlers' contexts. */
    if (rc == 0) {
        http_api_free(h->api_routes);
        http_static_free(h->files);
    }
    memset(h, 0, sizeof *h);
}
