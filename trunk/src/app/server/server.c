#include "server.h"
#include "rill_error.h"
#include "rill_log.h"
#include "net.h"
#include "resolve.h"
#include "rill_time.h"
#include "rtmp_conn.h"
#include "rtmp_session.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

static void accept_loop(void *arg)
{
    listener_t *l = arg;
    server_t *srv = l->srv;
    rill_log_set_cid(rill_log_new_cid());
    char what[96];
    snprintf(what, sizeof what, "accept on %s", l->addr);
    st_netfd_t cfd;
    while ((cfd = net_accept(l->fd, &l->task.stop, what))) {
        srv->rtmp.total++;
        if (srv->rtmp.count >= srv->env.conf->max_connections) {
            char why[64];
            snprintf(why, sizeof why, "max_connections %d reached", srv->env.conf->max_connections);
            net_refuse(cfd, "refuse", why);
            srv->rtmp.refused++;
            continue;
        }
        if (rtmp_conn_spawn(&srv->env, &srv->rtmp, cfd, l->proxy_protocol) != 0) rill_error("could not start a connection coroutine");
    }
}

/* Random ids in SRS's shape, for the API and callbacks to name this server. */
static void make_ids(server_t *srv)
{
    static const char abc[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    unsigned char r[15] = { 0 };
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r) {
        uint64_t x = (uint64_t)rill_now_us() ^ ((uint64_t)getpid() << 32);
        for (size_t i = 0; i < sizeof r; i++, x = x * 6364136223846793005ULL + 1442695040888963407ULL)
            r[i] = (unsigned char)(x >> 56);
    }
    strcpy(srv->env.server_id, "vid-");
    for (int i = 0; i < 7; i++) srv->env.server_id[4 + i] = abc[r[i] % 36];
    srv->env.server_id[11] = '\0';
    for (int i = 0; i < 8; i++) srv->env.service_id[i] = abc[r[7 + i] % 36];
    srv->env.service_id[8] = '\0';
}

int server_start(server_t *srv, config_t *conf)
{
    memset(srv, 0, sizeof(*srv));
    make_ids(srv);
    srv->env.conf = conf;
    srv->env.start_ms = rill_now_ms();
    rtmp_session_set_input_budget(conf->input_budget);
    resolve_configure(conf->resolver, conf->resolver_timeout, conf->resolver_valid);
    hub_init(&srv->env.hub);
    forward_init(&srv->env.fwd, &srv->env.hub, conf);
    srv->env.fwd.hooks = &srv->env.hooks;
    /* the reload (reload.c, above this file) is wired in by main */
    srv->view = (api_view_t){ .env = &srv->env, .rtmp = &srv->rtmp, .stats = &srv->stats };
    if (edge_init(&srv->env.edge, &srv->env.hub, conf) ||
        http_hooks_init(&srv->env.hooks, &srv->env.hub, &srv->env.clients, srv->env.server_id, srv->env.service_id) ||
        rtmp_conns_init(&srv->rtmp) || hls_start(&srv->hls, &srv->env)) {
        server_stop(srv);
        return RILL_ERR_NOMEM;
    }
    srv->listeners = calloc((size_t)conf->nlistens, sizeof(*srv->listeners));
    if (!srv->listeners) {
        server_stop(srv);
        return RILL_ERR_NOMEM;
    }
    for (int i = 0; i < conf->nlistens; i++) {
        listener_t *l = &srv->listeners[i];
        srv->nlisteners++;  /* the slots made: stop walks these, whatever a reload says later */
        l->srv = srv;
        snprintf(l->addr, sizeof l->addr, "%s:%d", conf->listens[i].ip, conf->listens[i].port);
        l->proxy_protocol = conf->listens[i].proxy_protocol;
        l->fd = net_listen_tcp(conf->listens[i].ip, conf->listens[i].port, 1024);
        if (!l->fd) {
            rill_error("listen on %s: %s", l->addr, strerror(errno));
            server_stop(srv);
            return RILL_ERR_SYSTEM;
        }
        if (task_start(&l->task, accept_loop, l, NULL) != 0) {
            server_stop(srv);
            return RILL_ERR_NOMEM;
        }
        rill_trace("rtmp listen at %s%s", l->addr, l->proxy_protocol ? " (PROXY protocol)" : "");
    }
    int rc = stats_start(&srv->stats, &srv->env);
    if (!rc) rc = server_http_start(&srv->http, &srv->env, &srv->view, &srv->hls);
    if (rc) {
        server_stop(srv);
        return rc;
    }
    return 0;
}

/* The shutdown order (doc/architecture.md, "Coroutine lifecycle"): first
 * what reads every list (stats), then what brings new work (listeners),
 * then the clients (HTTP, then RTMP: a publisher's teardown stops its
 * forwarders and queues its hook notifications), then the upstreams and
 * forwarders left, and last the notifications the clients queued. Each
 * step interrupts every coroutine of its kind at once, then joins each. */
void server_stop(server_t *srv)
{
    srv->env.stopping = 1;
    stats_stop(&srv->stats);
    for (int i = 0; i < srv->nlisteners; i++) task_interrupt(&srv->listeners[i].task);
    for (int i = 0; i < srv->nlisteners; i++) {
        listener_t *l = &srv->listeners[i];
        task_join(&l->task);
        if (l->fd) st_netfd_close(l->fd);
        l->fd = NULL;
    }
    server_http_stop(&srv->http);
    srv->view.http_server = srv->view.http_api = NULL;
    rtmp_conns_stop(&srv->rtmp);
    edge_stop_all(&srv->env.edge);
    forward_stop_all(&srv->env.fwd);
    /* after the publishers and upstreams: each unpublish told it already */
    hls_stop(&srv->hls);
    http_hooks_stop(&srv->env.hooks);
    hub_free(&srv->env.hub);
    free(srv->listeners);
    srv->listeners = NULL;
    srv->nlisteners = 0;
}
