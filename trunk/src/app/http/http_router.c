/* Routes, CORS preflight and dispatch of one request. */
#include "http_router.h"
#include "coro_stack.h"
#include "http_conn.h"
#include "http_url.h"
#include "rill_error.h"
#include "rill_log.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ROUTES 128     /* an index fits a uint8_t */

static int method_from_name(const char *s, size_t n)
{
    for (int m = 0; m < 64; m++) {
        const char *name = http_method_str((enum http_method)m);
        if (!name || name[0] == '<') break;
        if (strlen(name) == n && memcmp(name, s, n) == 0) return m;
    }
    return -1;
}

int http_routes_add(http_routes_t *s, const char *pattern, http_handler_fn fn, void *ctx)
{
    if (!pattern || !fn) return RILL_ERR_INVAL;
    if (s->n >= MAX_ROUTES) return RILL_ERR_LIMIT;
    int method = -1;
    const char *path = pattern;
    if (pattern[0] != '/') {
        const char *sp = strchr(pattern, ' ');
        if (!sp || (method = method_from_name(pattern, (size_t)(sp - pattern))) < 0) return RILL_ERR_INVAL;
        path = sp + 1;
    }
    if (path[0] != '/') return RILL_ERR_INVAL;
    http_route_t *r = realloc(s->list, sizeof *r * (size_t)(s->n + 1));
    if (!r) return RILL_ERR_NOMEM;
    s->list = r;
    r = &s->list[s->n];
    r->path = strdup(path);
    if (!r->path) return RILL_ERR_NOMEM;
    r->method = method;
    r->prefix = path[strlen(path) - 1] == '/';
    r->fn = fn;
    r->ctx = ctx;
    s->n++;
    return 0;
}

void http_routes_free(http_routes_t *s)
{
    for (int i = 0; i < s->n; i++) free(s->list[i].path);
    free(s->list);
    s->list = NULL;
    s->n = 0;
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
    case RILL_ERR_TOO_MANY: return 503;     /* a bound refused it: try again later */
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
        if (st == 500) rill_warn("%s %s %s: %s", c->cfg->name, c->peer, req->url, rill_strerror(rc));
        if (c->state == RESP_NONE && st) http_send_error(c, st, NULL);
        else c->keep = 0;
    } else if (c->state == RESP_NONE && !c->taken_over) {
        rill_warn("%s %s %s: the handler sent no response", c->cfg->name, c->peer, req->url);
        http_send_error(c, 500, NULL);
    }
    /* Anything not finished leaves the connection in an unknown state. */
    if (c->state != RESP_DONE || c->taken_over) c->keep = 0;
}

/* Out of line: its buffers stay off the stack of the handlers dispatched
 * (an HTTP-FLV player parks in one for hours; coro_stack.h). */
static CORO_OUT_OF_LINE void send_405(const http_routes_t *s, http_conn_t *c, const http_request_t *req)
{
    char allow[256] = "Allow: ";
    size_t len = strlen(allow);
    int seen[64] = { 0 };
    for (int i = 0; i < s->n; i++) {
        const http_route_t *r = &s->list[i];
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

void http_routes_dispatch(const http_routes_t *s, http_conn_t *c, const http_request_t *req)
{
    if (c->cfg->crossdomain && req->method == HTTP_OPTIONS) {
        /* A CORS preflight: the answer is the CORS headers every response has. */
        http_send(c, 200, NULL, NULL, 0, "Access-Control-Max-Age: 86400\r\n");
        return;
    }
    if (!http_path_is_safe(req->raw_path, req->path)) {
        rill_warn("%s %s: refused path %.256s", c->cfg->name, c->peer, req->url);
        http_send_error(c, 400, NULL);
        return;
    }
    /* Small: this frame stays under the handler (an HTTP-FLV player's whole
     * play). A route's rank is the length of a path's matching prefix. */
    uint8_t cand[MAX_ROUTES];
    uint32_t rank[MAX_ROUTES];
    int n = 0, path_matched = 0;
    for (int i = 0; i < s->n; i++) {
        size_t rk = match_rank(&s->list[i], req->path);
        if (!rk) continue;
        if (rk > UINT32_MAX) rk = UINT32_MAX;
        path_matched = 1;
        if (!method_ok(&s->list[i], req->method)) continue;
        /* Insertion keeps equal ranks in registration order. */
        int j = n++;
        while (j > 0 && rank[j - 1] < rk) {
            cand[j] = cand[j - 1];
            rank[j] = rank[j - 1];
            j--;
        }
        cand[j] = (uint8_t)i;
        rank[j] = (uint32_t)rk;
    }
    for (int k = 0; k < n; k++) {
        const http_route_t *r = &s->list[cand[k]];
        int rc = r->fn(c, req, r->ctx);
        if (rc == HTTP_DECLINED && c->state == RESP_NONE && !c->taken_over) continue;
        after_handler(c, req, rc == HTTP_DECLINED ? 0 : rc);
        return;
    }
    if (path_matched) send_405(s, c, req);
    else http_send_error(c, 404, NULL);
}
