/* Routes, CORS preflight and dispatch of one request. */
#include "http_server_int.h"
#include "http_url.h"
#include "rill_error.h"
#include "rill_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ROUTES 128

static int method_from_name(const char *s, size_t n)
{
    for (int m = 0; m < 64; m++) {
        const char *name = http_method_str((enum http_method)m);
        if (!name || name[0] == '<') break;
        if (strlen(name) == n && memcmp(name, s, n) == 0) return m;
    }
    return -1;
}

int http_server_route(http_server_t *s, const char *pattern, http_handler_fn fn, void *ctx)
{
    if (!pattern || !fn) return RILL_ERR_INVAL;
    if (s->nroutes >= MAX_ROUTES) return RILL_ERR_LIMIT;
    int method = -1;
    const char *path = pattern;
    if (pattern[0] != '/') {
        const char *sp = strchr(pattern, ' ');
        if (!sp || (method = method_from_name(pattern, (size_t)(sp - pattern))) < 0) return RILL_ERR_INVAL;
        path = sp + 1;
    }
    if (path[0] != '/') return RILL_ERR_INVAL;
    http_route_t *r = realloc(s->routes, sizeof *r * (size_t)(s->nroutes + 1));
    if (!r) return RILL_ERR_NOMEM;
    s->routes = r;
    r = &s->routes[s->nroutes];
    r->path = strdup(path);
    if (!r->path) return RILL_ERR_NOMEM;
    r->method = method;
    r->prefix = path[strlen(path) - 1] == '/';
    r->fn = fn;
    r->ctx = ctx;
    s->nroutes++;
    return 0;
}

void http_router_free(http_server_t *s)
{
    for (int i = 0; i < s->nroutes; i++) free(s->routes[i].path);
    free(s->routes);
    s->routes = NULL;
    s->nroutes = 0;
}

/* 0: no match; else a rank: longer paths first, exact before prefix. */
static size_t match_rank(const http_route_t *r, const char *path)
{
    size_t n = strlen(r->path);
    if (r->prefix) return strncmp(path, r->path, n) == 0 ? 2 * n : 0;
    return strcmp(path, r->path) == 0 ? 2 * n + 1 : 0;
}

static int method_ok(const http_route_t *r, int method)
{
    return r->method < 0 || r->method == method || (r->method == HTTP_GET && method == HTTP_HEAD);
}

/* The status the server answers for a handler's error, 0 for none. */
static int status_for(int rc)
{
    switch (rc) {
    case RILL_ERR_NOT_FOUND: return 404;
    case RILL_ERR_DENIED: return 403;
    case RILL_ERR_HTTP:
    case RILL_ERR_INVAL: return 400;
    case RILL_ERR_EOF:
    case RILL_ERR_IO:
    case RILL_ERR_TIMEOUT:
    case RILL_ERR_INTERRUPTED: return 0;
    default: return 500;
    }
}

static void after_handler(http_conn_t *c, const http_request_t *req, int rc)
{
    if (rc < 0) {
        int st = status_for(rc);
        if (st == 500) rill_warn("%s %s %s: %s", c->srv->name, c->peer, req->url, rill_strerror(rc));
        if (c->state == RESP_NONE && st) http_send_error(c, st, NULL);
        else c->keep = 0;
    } else if (c->state == RESP_NONE && !c->taken_over) {
        rill_warn("%s %s %s: the handler sent no response", c->srv->name, c->peer, req->url);
        http_send_error(c, 500, NULL);
    }
    /* Anything not finished leaves the connection in an unknown state. */
    if (c->state != RESP_DONE || c->taken_over) c->keep = 0;
}

static void send_405(http_conn_t *c, const http_request_t *req)
{
    char allow[256] = "Allow: ";
    size_t len = strlen(allow);
    int seen[64] = { 0 };
    for (int i = 0; i < c->srv->nroutes; i++) {
        const http_route_t *r = &c->srv->routes[i];
        if (!match_rank(r, req->path) || r->method < 0 || r->method >= 64 || seen[r->method]) continue;
        seen[r->method] = 1;
        len += (size_t)snprintf(allow + len, sizeof allow - len, "%s%s", len > 7 ? ", " : "",
                                http_method_str((enum http_method)r->method));
        if (r->method == HTTP_GET && !seen[HTTP_HEAD]) {
            seen[HTTP_HEAD] = 1;
            len += (size_t)snprintf(allow + len, sizeof allow - len, ", HEAD");
        }
        if (len >= sizeof allow - 40) break;
    }
    snprintf(allow + len, sizeof allow - len, "\r\n");
    http_send_error(c, 405, allow);
}

void http_dispatch(http_conn_t *c, const http_request_t *req)
{
    http_server_t *s = c->srv;
    if (s->crossdomain && req->method == HTTP_OPTIONS) {
        /* A CORS preflight: the answer is the CORS headers every response has. */
        http_send(c, 200, NULL, NULL, 0, "Access-Control-Max-Age: 86400\r\n");
        return;
    }
    if (!http_path_is_safe(req->raw_path, req->path)) {
        rill_warn("%s %s: refused path %.256s", s->name, c->peer, req->url);
        http_send_error(c, 400, NULL);
        return;
    }
    int cand[MAX_ROUTES];
    size_t rank[MAX_ROUTES];
    int n = 0, path_matched = 0;
    for (int i = 0; i < s->nroutes; i++) {
        size_t rk = match_rank(&s->routes[i], req->path);
        if (!rk) continue;
        path_matched = 1;
        if (!method_ok(&s->routes[i], req->method)) continue;
        /* Insertion keeps equal ranks in registration order. */
        int j = n++;
        while (j > 0 && rank[j - 1] < rk) {
            cand[j] = cand[j - 1];
            rank[j] = rank[j - 1];
            j--;
        }
        cand[j] = i;
        rank[j] = rk;
    }
    for (int k = 0; k < n; k++) {
        const http_route_t *r = &s->routes[cand[k]];
        int rc = r->fn(c, req, r->ctx);
        if (rc == HTTP_DECLINED && c->state == RESP_NONE && !c->taken_over) continue;
        after_handler(c, req, rc == HTTP_DECLINED ? 0 : rc);
        return;
    }
    if (path_matched) send_405(c, req);
    else http_send_error(c, 404, NULL);
}
