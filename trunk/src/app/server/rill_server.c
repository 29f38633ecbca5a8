#include "rill_server.h"
#include "rill_error.h"
#include "rill_log.h"
#include "rill_net.h"
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
    rill_listener_t *l = arg;
    rill_server_t *srv = l->srv;
    rill_log_set_cid(rill_log_new_cid());
    while (!l->task.stop) {
        st_netfd_t cfd = st_accept(l->fd, NULL, NULL, ST_UTIME_NO_TIMEOUT);
        if (!cfd) {
            if (errno == EINTR && l->task.stop) break;
            if (errno == EMFILE || errno == ENFILE) {
                rill_warn("accept on %s: %s, pausing", l->addr, strerror(errno));
                st_usleep(100 * 1000);
            }
            continue;
        }
        srv->rtmp.total++;
        if (srv->rtmp.count >= srv->env.conf->max_connections) {
            char peer[64];
            rill_peer_name(st_netfd_fileno(cfd), peer, sizeof peer);
            rill_warn("refuse %s: max_connections %d reached", peer, srv->env.conf->max_connections);
            srv->rtmp.refused++;
            st_netfd_close(cfd);
            continue;
        }
        if (rtmp_conn_spawn(&srv->env, &srv->rtmp, cfd, l->proxy_protocol) != 0) rill_error("could not start a connection coroutine");
    }
}

/* Random ids in SRS's shape, for the API and callbacks to name this server. */
static void make_ids(rill_server_t *srv)
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

int rill_server_start(rill_server_t *srv, rill_config_t *conf)
{
    memset(srv, 0, sizeof(*srv));
    make_ids(srv);
    srv->env.conf = conf;
    srv->env.start_ms = rill_now_ms();
    rtmp_session_set_input_budget(conf->input_budget);
    hub_init(&srv->env.hub);
    forward_init(&srv->env.fwd, &srv->env.hub, conf);
    srv->env.fwd.hooks = &srv->env.hooks;
    /* the reload (rill_reload.c, above this file) is wired in by main */
    srv->view = (api_view_t){ .env = &srv->env, .rtmp = &srv->rtmp, .stats = &srv->stats };
    if (edge_init(&srv->env.edge, &srv->env.hub, conf) ||
        http_hooks_init(&srv->env.hooks, &srv->env.hub, &srv->env.clients, srv->env.server_id, srv->env.service_id) ||
        rtmp_conns_init(&srv->rtmp)) {
        rill_server_stop(srv);
        return RILL_ERR_NOMEM;
    }
    srv->listeners = calloc((size_t)conf->nlistens, sizeof(*srv->listeners));
    if (!srv->listeners) {
        rill_server_stop(srv);
        return RILL_ERR_NOMEM;
    }
    for (int i = 0; i < conf->nlistens; i++) {
        rill_listener_t *l = &srv->listeners[i];
        srv->nlisteners++;  /* the slots made: stop walks these, whatever a reload says later */
        l->srv = srv;
        snprintf(l->addr, sizeof l->addr, "%s:%d", conf->listens[i].ip, conf->listens[i].port);
        l->proxy_protocol = conf->listens[i].proxy_protocol;
        l->fd = rill_listen_tcp(conf->listens[i].ip, conf->listens[i].port, 1024);
        if (!l->fd) {
            rill_error("listen on %s: %s", l->addr, strerror(errno));
            rill_server_stop(srv);
            return RILL_ERR_SYSTEM;
        }
        if (rill_task_start(&l->task, accept_loop, l, NULL) != 0) {
            rill_server_stop(srv);
            return RILL_ERR_NOMEM;
        }
        rill_trace("rtmp listen at %s%s", l->addr, l->proxy_protocol ? " (PROXY protocol)" : "");
    }
    int rc = rill_stats_start(&srv->stats, &srv->env);
    if (!rc) rc = rill_http_start(&srv->http, &srv->env, &srv->view);
    if (rc) {
        rill_server_stop(srv);
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
void rill_server_stop(rill_server_t *srv)
{
    srv->env.stopping = 1;
    rill_stats_stop(&srv->stats);
    for (int i = 0; i < srv->nlisteners; i++) rill_task_interrupt(&srv->listeners[i].task);
    for (int i = 0; i < srv->nlisteners; i++) {
        rill_listener_t *l = &srv->listeners[i];
        rill_task_join(&l->task);
        if (l->fd) st_netfd_close(l->fd);
        l->fd = NULL;
    }
    rill_http_stop(&srv->http);
    srv->view.http_server = srv->view.http_api = NULL;
    rtmp_conns_stop(&srv->rtmp);
    edge_stop_all(&srv->env.edge);
    forward_stop_all(&srv->env.fwd);
    http_hooks_stop(&srv->env.hooks);
    hub_free(&srv->env.hub);
    free(srv->listeners);
    srv->listeners = NULL;
    srv->nlisteners = 0;
}
