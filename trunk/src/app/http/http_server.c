/* The listener, the connection coroutines and the keep-alive loop. Routing
 * is in http_router.c, the response helpers in http_response.c. */
#include "http_server.h"
#include "http_conn.h"
#include "rill_error.h"
#include "rill_log.h"
#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#define DEF_HEADER_TIMEOUT_MS    10000
#define DEF_KEEPALIVE_TIMEOUT_MS 30000
#define DEF_SEND_TIMEOUT_MS      30000
#define DEF_MAX_CONNS            1000
#define LINGER_US                (2 * 1000000LL)   /* draining a refused client before the close */
#define LINGER_MAX_BYTES         (1024 * 1024)

struct http_server {
    http_conn_cfg_t cfg;            /* name, crossdomain, send timeout, stopping */
    char ip[64];
    int port;
    st_utime_t header_timeout, keepalive_timeout;
    int max_conns;
    http_routes_t routes;
    st_netfd_t lfd;
    task_t accept;                  /* the accept loop */
    tasks_t conns;                  /* every connection's coroutine: joined and freed by the server */
};

int http_server_new(http_server_t **out, const http_server_opts_t *o)
{
    *out = NULL;
    http_server_t *s = calloc(1, sizeof *s);
    if (!s) return RILL_ERR_NOMEM;
    snprintf(s->cfg.name, sizeof s->cfg.name, "%s", o->name ? o->name : "http");
    snprintf(s->ip, sizeof s->ip, "%s", o->ip ? o->ip : "0.0.0.0");
    s->port = o->port;
    s->cfg.crossdomain = o->crossdomain;
    s->header_timeout = (st_utime_t)(o->header_timeout_ms > 0 ? o->header_timeout_ms : DEF_HEADER_TIMEOUT_MS) * 1000;
    s->keepalive_timeout =
        (st_utime_t)(o->keepalive_timeout_ms > 0 ? o->keepalive_timeout_ms : DEF_KEEPALIVE_TIMEOUT_MS) * 1000;
    s->cfg.send_timeout = (st_utime_t)(o->send_timeout_ms > 0 ? o->send_timeout_ms : DEF_SEND_TIMEOUT_MS) * 1000;
    s->max_conns = o->max_conns > 0 ? o->max_conns : DEF_MAX_CONNS;
    s->cfg.realip = o->realip;
    if (tasks_init(&s->conns, "http connections") != 0) {
        free(s);
        return RILL_ERR_NOMEM;
    }
    *out = s;
    return 0;
}

int http_server_route(http_server_t *s, const char *pattern, http_handler_fn fn, void *ctx)
{
    return http_routes_add(&s->routes, pattern, fn, ctx);
}

int http_server_nconns(const http_server_t *s) { return s->conns.count; }

void http_server_set_realip(http_server_t *s, const realip_conf_t *realip) { s->cfg.realip = realip; }

int http_server_port(const http_server_t *s)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    if (s->lfd && getsockname(st_netfd_fileno(s->lfd), (struct sockaddr *)&sa, &len) == 0)
        return ntohs(sa.sin_port);
    return s->port;
}
const char *http_server_name(const http_server_t *s) { return s->cfg.name; }

/* ---- one connection ------------------------------------------------------ */

/* A client that sent "Expect: 100-continue" waits for this before its body
 * (curl does for bodies over 1 KiB). A body too large was refused already. */
static int send_continue(http_conn_t *c)
{
    static const char msg[] = "HTTP/1.1 100 Continue\r\n\r\n";
    const http_message_t *m = &c->parser.msg;
    const char *expect = http_header_get(m, "expect");
    c->continued = 1;
    if (!expect || strcasecmp(expect, "100-continue") != 0 || m->http_minor < 1) return 0;
    if (st_write(c->fd, msg, sizeof msg - 1, c->cfg->send_timeout) != (ssize_t)(sizeof msg - 1)) return net_st_error();
    c->out_bytes += sizeof msg - 1;
    return 0;
}

/* Read until the parser has a whole request. The first request must arrive
 * within header_timeout of the accept; later ones may idle for
 * keepalive_timeout, then must arrive within header_timeout of their first
 * byte: a client trickling bytes (slowloris) is cut at the deadline. */
static int read_request(http_conn_t *c, int first)
{
    http_server_t *s = c->srv;
    http_msg_parser_t *mp = &c->parser;
    st_utime_t deadline = first ? c->accepted + s->header_timeout : 0;
    for (;;) {
        if (c->rpos < c->rlen) {
            if (!deadline) deadline = st_utime() + s->header_timeout;
            size_t used = 0;
            int rc = http_msg_parser_feed(mp, c->rbuf + c->rpos, c->rlen - c->rpos, &used);
            c->rpos += used;
            if (rc == 1) return 0;
            if (rc < 0) return rc;
            c->rpos = c->rlen = 0;
            if (mp->headers_done && !c->continued) {
                rc = send_continue(c);
                if (rc) return rc;
            }
        }
        st_utime_t timeout = s->keepalive_timeout;
        if (deadline) {
            st_utime_t now = st_utime();
            if (now >= deadline) return RILL_ERR_TIMEOUT;
            timeout = deadline - now;
        }
        ssize_t r = st_read(c->fd, c->rbuf, HTTP_CONN_RBUF, timeout);
        if (r < 0) return net_st_error();
        if (r == 0) {
            int rc = http_msg_parser_eof(mp);
            return rc == 1 ? 0 : rc == 0 ? RILL_ERR_EOF : rc;
        }
        c->in_bytes += (uint64_t)r;
        c->rpos = 0;
        c->rlen = (size_t)r;
    }
}

/* The socket's peer stands for the client until a request says otherwise. */
static void client_is_socket(http_conn_t *c)
{
    snprintf(c->peer, sizeof c->peer, "%s", c->sock_peer);
    snprintf(c->ip, sizeof c->ip, "%s", c->sock_ip);
    c->port = c->sock_port;
}

/* Who this request's client is: a trusted proxy's header names it, anyone
 * else's is ignored. A bad header keeps the socket's address and is logged
 * once per connection (a proxy's keep-alive connection carries many). */
static void find_client(http_conn_t *c, const http_request_t *req)
{
    realip_addr_t a;
    const char *why = NULL;
    client_is_socket(c);
    int r = realip_resolve(c->cfg->realip, req, c->sock_ip, &a, &why);
    if (r == REALIP_BAD) {
        if (!c->realip_warned)
            rill_warn("%s %s: %s from a trusted proxy is not used (%s): the client is the proxy", c->cfg->name,
                      c->sock_peer, c->cfg->realip->header, why);
        c->realip_warned = 1;
        return;
    }
    if (r != REALIP_HEADER) return;
    snprintf(c->ip, sizeof c->ip, "%s", a.ip);
    c->port = a.port;
    int v6 = strchr(a.ip, ':') != NULL;
    if (!a.port) snprintf(c->peer, sizeof c->peer, "%s via %s", a.ip, c->sock_peer);
    else snprintf(c->peer, sizeof c->peer, v6 ? "[%s]:%d via %s" : "%s:%d via %s", a.ip, a.port, c->sock_peer);
}

static void reset_response(http_conn_t *c, const http_request_t *req)
{
    c->req = req;
    c->state = RESP_NONE;
    c->status = 0;
    c->mode = 0;
    c->remaining = 0;
    c->resp_bytes = 0;
    c->taken_over = 0;
}

static void log_request(http_conn_t *c, const http_request_t *req, st_utime_t t0)
{
    rill_trace("%s %s %s %.256s -> %d, %llu bytes, %.1f ms", c->cfg->name, c->peer, http_method_name(req->method),
               req->url, c->status, (unsigned long long)c->resp_bytes, (double)(st_utime() - t0) / 1000.0);
}

/* A refused client may still be sending (a huge header block): closing at
 * once would make the kernel reset the connection, which can destroy our
 * answer before the client reads it. Stop writing, drain a while, then close. */
static void linger(http_conn_t *c)
{
    shutdown(st_netfd_fileno(c->fd), SHUT_WR);
    st_utime_t deadline = st_utime() + LINGER_US;
    size_t drained = 0;
    while (drained < LINGER_MAX_BYTES && !c->stop) {
        st_utime_t now = st_utime();
        if (now >= deadline) break;
        ssize_t r = st_read(c->fd, c->rbuf, HTTP_CONN_RBUF, deadline - now);
        if (r <= 0) break;
        drained += (size_t)r;
    }
}

static void serve(http_conn_t *c)
{
    for (int first = 1;; first = 0) {
        int rc = read_request(c, first);
        if (rc == RILL_ERR_HTTP) {
            /* Refused while reading: answer with the parser's status and close. */
            http_msg_parser_t *mp = &c->parser;
            rill_warn("%s %s: refused request: %d %s", c->cfg->name, c->peer, mp->status,
                      mp->reason ? mp->reason : "");
            reset_response(c, NULL);
            c->keep = 0;
            if (http_send_error(c, mp->status ? mp->status : 400, NULL) == 0) linger(c);
            return;
        }
        if (rc == RILL_ERR_TIMEOUT) {
            if (c->parser.started || first) rill_trace("%s %s: request timed out, closing", c->cfg->name, c->peer);
            return;
        }
        if (rc) return;     /* closed, interrupted or failed: nothing to answer */

        const http_request_t *req = &c->parser.msg;
        st_utime_t t0 = st_utime();
        find_client(c, req);
        reset_response(c, req);
        /* Decided before any header goes out, so Connection: says the truth. */
        c->keep = req->keep_alive && !c->stop && !c->cfg->stopping;
        http_routes_dispatch(&c->srv->routes, c, req);
        log_request(c, req, t0);
        if (!c->keep || c->state != RESP_DONE || c->stop) return;
        http_msg_parser_next(&c->parser);
        c->continued = 0;
        client_is_socket(c);
        /* a client that pipelines requests never makes a read or a write
         * wait: without this turn it would keep every other coroutine
         * (players, publishers, the merge clock) waiting */
        st_usleep(0);
    }
}

/* After the join (the server owns the connection): the fd and buffers. */
static void conn_free(void *arg)
{
    http_conn_t *c = arg;
    http_msg_parser_free(&c->parser);
    rill_writer_free(&c->hbuf);
    free(c->rbuf);
    if (c->fd) st_netfd_close(c->fd);
    free(c);
}

static void conn_main(void *arg)
{
    http_conn_t *c = arg;
    rill_log_set_cid(c->cid);
    rill_verbose("%s accept %s", c->cfg->name, c->peer);
    serve(c);
    rill_verbose("%s close %s: in %llu bytes, out %llu bytes", c->cfg->name, c->peer,
                 (unsigned long long)c->in_bytes, (unsigned long long)c->out_bytes);
}

static int conn_spawn(http_server_t *s, st_netfd_t fd)
{
    http_conn_t *c = calloc(1, sizeof *c);
    if (!c) {
        st_netfd_close(fd);
        return RILL_ERR_NOMEM;
    }
    c->srv = s;
    c->cfg = &s->cfg;
    c->fd = fd;
    c->cid = rill_log_new_cid();
    c->accepted = st_utime();
    net_peer_addr(st_netfd_fileno(fd), c->sock_ip, sizeof c->sock_ip, &c->sock_port);
    net_peer_name(st_netfd_fileno(fd), c->sock_peer, sizeof c->sock_peer);
    client_is_socket(c);
    http_req_parser_init(&c->parser);
    rill_writer_init(&c->hbuf, 64 * 1024);
    c->rbuf = malloc(HTTP_CONN_RBUF);
    if (!c->rbuf) {
        conn_free(c);
        return RILL_ERR_NOMEM;
    }
    int rc = tasks_start(&s->conns, &c->task, conn_main, c, &c->stop, conn_free);
    if (rc) conn_free(c);
    return rc;
}

static void accept_loop(void *arg)
{
    http_server_t *s = arg;
    rill_log_set_cid(rill_log_new_cid());
    char what[128], who[48], why[32];
    snprintf(what, sizeof what, "%s accept on %s:%d", s->cfg.name, s->ip, s->port);
    snprintf(who, sizeof who, "%s refuse", s->cfg.name);
    snprintf(why, sizeof why, "%d connections", s->max_conns);
    st_netfd_t cfd;
    while ((cfd = net_accept(s->lfd, &s->accept.stop, what))) {
        if (s->conns.count >= s->max_conns) {
            net_refuse(cfd, who, why);
            continue;
        }
        if (conn_spawn(s, cfd) != 0) rill_error("%s: could not start a connection coroutine", s->cfg.name);
    }
}

int http_server_start(http_server_t *s)
{
    s->lfd = net_listen_tcp(s->ip, s->port, 1024);
    if (!s->lfd) {
        rill_error("%s: listen on %s:%d: %s", s->cfg.name, s->ip, s->port, strerror(errno));
        return RILL_ERR_SYSTEM;
    }
    if (task_start(&s->accept, accept_loop, s, NULL) != 0) {
        st_netfd_close(s->lfd);
        s->lfd = NULL;
        return RILL_ERR_NOMEM;
    }
    rill_trace("%s listen at %s:%d", s->cfg.name, s->ip, http_server_port(s));
    return 0;
}

int http_server_destroy(http_server_t *s)
{
    if (!s) return 0;
    s->cfg.stopping = 1;
    /* No new connections, then every connection interrupted and joined. */
    task_stop(&s->accept);
    if (s->lfd) st_netfd_close(s->lfd);
    s->lfd = NULL;
    tasks_stop(&s->conns);
    http_routes_free(&s->routes);
    free(s);
    return 0;
}
