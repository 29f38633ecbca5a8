#include "reload.h"
#include "rill_error.h"
#include "rill_log.h"
#include "resolve.h"
#include "server.h"
#include "rtmp_session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Connections, sources and upstreams keep pointers into the config they
 * started with, so a replaced config is kept until exit. A reload is an
 * operator's action: this list stays short. */
typedef struct retired {
    config_t *conf;
    struct retired *next;
} retired_t;

static retired_t *g_retired;

static int same_str(const char *a, const char *b) { return !strcmp(a ? a : "", b ? b : ""); }

static int same_realip(const realip_conf_t *a, const realip_conf_t *b)
{
    return a->nfrom == b->nfrom && a->recursive == b->recursive && !strcmp(a->header, b->header) &&
           (a->nfrom == 0 || !memcmp(a->from, b->from, sizeof *a->from * (size_t)a->nfrom));
}

/* What the HTTP side read at start that a reload changes now: the files'
 * dir (the next request on), the API's credentials (read per request) and
 * the trusted proxies (the next request on; a request under way keeps the
 * client it has). */
static void apply_http(server_t *srv, const config_t *old, const config_t *nw)
{
    http_static_t *files = srv->http.files;
    if (files && nw->http_server.enabled && !same_str(http_static_dir(files), nw->http_server.dir)) {
        if (http_static_set_dir(files, nw->http_server.dir) == 0)
            rill_trace("reload: http_server dir is now %s", nw->http_server.dir);
        else
            rill_warn("reload: out of memory: http_server keeps dir %s", http_static_dir(files));
    }
    const realip_conf_t *ri = &nw->http_server.realip;
    if (srv->http.server) http_server_set_realip(srv->http.server, ri);
    if (srv->http.api) http_server_set_realip(srv->http.api, ri);
    if ((srv->http.server || srv->http.api) && !same_realip(&old->http_server.realip, ri))
        rill_trace("reload: HTTP clients named by %s from the next request (%d trusted range%s, recursive %s)",
                   ri->header, ri->nfrom, ri->nfrom == 1 ? "" : "s", ri->recursive ? "on" : "off");
    const http_conf_t *oa = &old->http_api, *na = &nw->http_api;
    if (srv->http.api_routes && (oa->auth != na->auth || oa->enabled != na->enabled ||
                                 !same_str(oa->username, na->username) || !same_str(oa->password, na->password)))
        rill_trace("reload: http_api %s from the next request", !na->enabled ? "answers 404 (disabled)" :
                   na->auth ? "asks for the new credentials" : "asks for no credentials");
}

static int same_listen(const listen_conf_t *a, const listen_conf_t *b)
{
    return a->port == b->port && a->proxy_protocol == b->proxy_protocol && !strcmp(a->ip, b->ip);
}

/* What a reload cannot change while running: say so rather than pretend. */
static void warn_restart_only(const config_t *old, const config_t *nw)
{
    int same = old->nlistens == nw->nlistens;
    for (int i = 0; same && i < old->nlistens; i++) same = same_listen(&old->listens[i], &nw->listens[i]);
    if (!same) rill_warn("reload: rtmp listen changed; it takes effect at the next restart");
    if (old->http_server.enabled != nw->http_server.enabled || old->http_api.enabled != nw->http_api.enabled ||
        !same_listen(&old->http_server.listen, &nw->http_server.listen) ||
        !same_listen(&old->http_api.listen, &nw->http_api.listen))
        rill_warn("reload: http_server/http_api listen changed; it takes effect at the next restart");
    const http_conf_t *oh = &old->http_server, *nh = &nw->http_server;
    if (oh->crossdomain != nh->crossdomain || old->http_api.crossdomain != nw->http_api.crossdomain ||
        oh->header_timeout != nh->header_timeout || oh->keepalive_timeout != nh->keepalive_timeout ||
        old->max_connections != nw->max_connections)
        rill_warn("reload: crossdomain, header_timeout, keepalive_timeout and the HTTP side of max_connections "
                  "take effect at the next restart");
    if (old->daemon != nw->daemon || old->log_tank_file != nw->log_tank_file ||
        !same_str(old->log_file, nw->log_file) || !same_str(old->pid_file, nw->pid_file))
        rill_warn("reload: daemon, srs_log_tank, srs_log_file and pid take effect at the next restart");
}

int reload_config(server_t *srv, char *err, size_t errlen)
{
    config_t *old = srv->env.conf;
    config_t *nw = NULL;
    int rc = config_load(old->path, &nw, err, errlen);
    if (rc) {
        rill_error("reload refused, the running config stays: %s", err);
        return rc;
    }
    retired_t *r = calloc(1, sizeof *r);
    if (!r) {
        config_free(nw);
        snprintf(err, errlen, "%s: out of memory", old->path);
        return RILL_ERR_NOMEM;
    }
    warn_restart_only(old, nw);
    r->conf = old;
    r->next = g_retired;
    g_retired = r;

    srv->env.conf = nw;
    srv->env.fwd.conf = nw;
    srv->env.edge.conf = nw;
    edge_reconfigured(&srv->env.edge);   /* before anything that yields: a play then sees both new */
    hub_reconfigured(&srv->env.hub, nw);
    rill_log_set_level(nw->log_level);
    rtmp_session_set_input_budget(nw->input_budget);
    resolve_configure(nw->resolver, nw->resolver_timeout, nw->resolver_valid);
    apply_http(srv, old, nw);
    hls_reconfigured(&srv->hls);
    /* streams being published now: forward to the new destination lists */
    forward_reconcile(&srv->env.fwd, &srv->env.hub);
    rill_trace("reload: %s applied (%d vhosts)", nw->path, nw->nvhosts);
    return 0;
}

void reload_free_retired(void)
{
    while (g_retired) {
        retired_t *r = g_retired;
        g_retired = r->next;
        config_free(r->conf);
        free(r);
    }
}
