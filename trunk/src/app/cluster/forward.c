#include "forward.h"
#include "client.h"
#include "http_hooks.h"
#include "rill_error.h"
#include "rill_log.h"
#include "net.h"
#include "rill_time.h"
#include "rtmp_dial.h"
#include "stream_pump.h"
#include "rtmp_url.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEC              1000000LL
#define CONNECT_TIMEOUT  (3 * SEC)   /* connect + handshake + publish reply */
#define SEND_TIMEOUT     (5 * SEC)   /* a slave that stops reading this long is reconnected */
#define LOG_EVERY        10          /* repeat a failing destination's warning every N tries */

const char *forward_state_name(int s)
{
    return s == FWD_FORWARDING ? "forwarding" : s == FWD_BACKOFF ? "backoff" : "connecting";
}

/* The tcUrl of a publish to d: the slave resolves the vhost from it, so
 * name it when it is not the default. */
static void tc_url_of(char *buf, size_t len, const dest_t *d, const char *app, const char *vhost)
{
    if (strcmp(vhost, "__defaultVhost__") != 0)
        snprintf(buf, len, "rtmp://%s:%d/%s?vhost=%s", d->host, d->port, app, vhost);
    else
        snprintf(buf, len, "rtmp://%s:%d/%s", d->host, d->port, app);
}

/* Point the forwarder at dests[cur]. */
static void aim(forwarder_t *f)
{
    const dest_t *d = &f->dests[f->cur];
    snprintf(f->dest, sizeof f->dest, "%s:%d", d->host, d->port);
    tc_url_of(f->tc_url, sizeof f->tc_url, d, f->app, f->src->vhost);
}

/* Connect to d and publish stream on cl: 0, or the failure (a refusal is
 * RILL_ERR_DENIED with the peer's onStatus code in cl->status). */
static int open_publish(rtmp_dial_t *cl, const dest_t *d, const char *app, const char *tc_url, const char *stream,
                        int chunk_size, int send_buffer)
{
    rtmp_dial_init(cl);
    int rc = rtmp_dial_connect(cl, d->host, d->port, app, tc_url, 1, CONNECT_TIMEOUT);
    /* A small send buffer, as for players: a slave that stops reading must
     * block our writes (send timeout, keyframe cuts) instead of hiding
     * megabytes of media in the kernel (Linux grows it to 4 MiB: 30 s of a
     * 1 Mbit/s stream, replayed stale when the slave wakes up). */
    if (!rc) net_set_sndbuf(st_netfd_fileno(cl->s.fd), send_buffer);
    if (!rc) rc = rtmp_dial_publish(cl, stream, (uint32_t)chunk_size, CONNECT_TIMEOUT);
    return rc;
}

/* One session: connect and publish (or take the upstream an edge's publish
 * opened), then pump until something fails. */
static int forward_once(forwarder_t *f)
{
    rtmp_dial_t own;
    rtmp_dial_t *cl = f->opened ? f->opened : &own;
    f->opened = NULL;
    int rc = cl == &own ? open_publish(cl, &f->dests[f->cur], f->app, f->tc_url, f->stream, f->chunk_size,
                                       f->send_buffer)
                        : 0;
    consumer_t *co = NULL;
    if (rc) {
        if (cl->status[0]) rill_verbose("forward %s: slave answered %s", f->dest, cl->status);
    } else if (f->task.stop) {
        rc = RILL_ERR_INTERRUPTED;      /* stopped while it connected: it plays nothing more */
    } else if (!(co = source_add_consumer(f->src, st_thread_self()))) {
        rc = RILL_ERR_NOMEM;
    } else {
        /* A slave decodes from the start: GOP cache, never a cut mid-GOP. */
        co->wait_keyframe = 0;
        stream_pump_t p;
        rc = stream_pump_init_rtmp(&p, &cl->s, co, 0, 0, cl->stream_id);
        if (!rc) {
            p.what = "forwarder";
            p.send_timeout = SEND_TIMEOUT;
            f->state = FWD_FORWARDING;
            rill_trace("forward %s/%s/%s to %s: publishing", f->src->vhost, f->src->app, f->src->stream, f->dest);
            uint64_t before = cl->s.out_bytes;
            f->live_out = &cl->s.out_bytes;  /* the API reads bytes while the session runs */
            f->live_base = before;
            rc = stream_pump_queue_headers(&p);
            if (!rc) rc = stream_pump_run(&p, &f->task.stop);
            f->bytes_sent += cl->s.out_bytes - before;
            f->live_out = NULL;
            stream_pump_free(&p);
        }
        source_remove_consumer(co);
    }
    rtmp_dial_close(cl);
    if (cl != &own) free(cl);
    return rc;
}

#define SESSION_OK_MS 5000   /* a session that ran this long was a success: retry quickly again */

fwd_next_t forward_after_failure(int cur, int ndests, int failures, int was_up, int64_t ran_ms, int backoff_min,
                                 int backoff_max)
{
    fwd_next_t n = { cur, 0, failures, 0, 0 };
    if (ran_ms > SESSION_OK_MS) n.failures = 0;
    n.attempt = n.failures + 1;
    /* the slave had accepted the publish: losing it is news, always logged */
    n.log = was_up || n.failures % LOG_EVERY == 0;
    if (ndests > 1) {
        /* next origin at once; back off only after a whole round failed */
        n.cur = (cur + 1) % ndests;
        if (n.cur != 0) return n;
    }
    int64_t wait = backoff_min;
    for (int i = 0; i < n.failures && wait < backoff_max; i++) wait *= 2;
    n.wait_ms = wait > backoff_max ? backoff_max : wait;
    n.failures++;
    return n;
}

static void forward_loop(void *arg)
{
    forwarder_t *f = arg;
    rill_log_set_cid(f->cid);
    while (!f->task.stop) {
        f->state = FWD_CONNECTING;
        int64_t started = rill_now_ms();
        int rc = forward_once(f);
        if (f->task.stop) break;
        fwd_next_t nx = forward_after_failure(f->cur, f->ndests, f->failures, f->state == FWD_FORWARDING,
                                              rill_now_ms() - started, f->backoff_min, f->backoff_max);
        if (nx.log)
            rill_warn("forward %s/%s/%s to %s failed: %s%s (try %d)", f->src->vhost, f->src->app, f->src->stream,
                      f->dest, rill_strerror(rc), rc == RILL_ERR_DENIED ? " (slave refused the publish)" : "",
                      nx.attempt);
        f->failures = nx.failures;
        f->reconnects++;
        if (nx.cur != f->cur) {
            f->cur = nx.cur;
            aim(f);
        }
        if (!nx.wait_ms) continue;
        f->state = FWD_BACKOFF;
        st_usleep((st_utime_t)nx.wait_ms * 1000);   /* the manager's interrupt cuts this short */
    }
}

static void free_opened(rtmp_dial_t *cl)
{
    if (!cl) return;
    rtmp_dial_close(cl);
    free(cl);
}

/* A forwarder to the first of dests that works (one, for a plain forward;
 * the origin list, for a publish proxied by an edge). opened: an upstream
 * to dests[cur] that took the publish already, for the first session (taken
 * whatever the result). */
static int start(forward_mgr_t *m, source_t *s, const vhost_conf_t *vc, const dest_t *dests,
                 int ndests, const char *app, const char *stream, const char *param, rtmp_dial_t *opened, int cur)
{
    forwarder_t *f = calloc(1, sizeof(*f));
    if (f) f->dests = calloc((size_t)ndests, sizeof(*f->dests));
    if (!f || !f->dests) {
        free(f);
        free_opened(opened);
        return RILL_ERR_NOMEM;
    }
    memcpy(f->dests, dests, sizeof(*dests) * (size_t)ndests);
    f->ndests = ndests;
    f->mgr = m;
    f->src = hub_hold(s);       /* its own hold: a forwarder joined after its publisher left still reads it */
    f->backoff_min = vc->forward_backoff_min;
    f->backoff_max = vc->forward_backoff_max;
    f->chunk_size = vc->chunk_size;
    f->send_buffer = vc->send_buffer;
    f->cid = rill_log_new_cid();
    snprintf(f->app, sizeof f->app, "%s", app);
    snprintf(f->stream, sizeof f->stream, "%s%s", stream, param);
    f->cur = cur;
    f->opened = opened;
    aim(f);
    if (task_start(&f->task, forward_loop, f, NULL) != 0) {
        hub_release(s->hub, s);
        free_opened(f->opened);
        free(f->dests);
        free(f);
        return RILL_ERR_NOMEM;
    }
    f->next = m->list;
    m->list = f;
    m->count++;
    return 0;
}

/* ---- forward { backend URL; }: ask, then forward where the answer says ---- */

struct fwd_query {
    forward_mgr_t *mgr;
    source_t *src;
    const vhost_conf_t *vc;
    task_t task;                /* on_unpublish or forward_stop_all stops it */
    fwd_query_t *next;
};

static void query_main(void *arg)
{
    fwd_query_t *q = arg;
    source_t *s = q->src;
    rill_log_set_cid(s->publisher_cid);
    char **urls = NULL;
    int n = 0;
    if (http_hooks_on_forward(q->mgr->hooks, q->vc, s, &urls, &n) != 0) return;
    rill_trace("forward %s/%s/%s: backend %s answered %d url(s)", s->vhost, s->app, s->stream,
               q->vc->forward_backend, n);
    /* no yield from here on: an unpublish cannot slip in between */
    for (int i = 0; i < n && !q->task.stop; i++)
        if (forward_start_url(q->mgr, s, q->vc, urls[i]) == 0)
            rill_trace("forward %s/%s/%s to %s (from the backend)", s->vhost, s->app, s->stream, urls[i]);
    http_hooks_free_urls(urls, n);
}

/* The publisher's coroutine only starts the question; it never waits for it. */
static void start_query(forward_mgr_t *m, source_t *s, const vhost_conf_t *vc)
{
    fwd_query_t *q = calloc(1, sizeof *q);
    if (!q) return;
    q->mgr = m;
    q->src = s;
    q->vc = vc;
    if (task_start(&q->task, query_main, q, NULL) != 0) {
        rill_error("forward %s/%s/%s: could not ask the backend", s->vhost, s->app, s->stream);
        free(q);
        return;
    }
    q->next = m->queries;
    m->queries = q;
}

/* Stop and free the questions about s (every one when s is NULL). All are
 * unlinked before the first join: a join yields, and another unpublish may
 * edit the list meanwhile. */
static void stop_queries(forward_mgr_t *m, const source_t *s)
{
    fwd_query_t *stopping = NULL;
    for (fwd_query_t **pp = &m->queries; *pp;) {
        fwd_query_t *q = *pp;
        if (s && q->src != s) {
            pp = &q->next;
            continue;
        }
        *pp = q->next;
        task_interrupt(&q->task);
        q->next = stopping;
        stopping = q;
    }
    while (stopping) {
        fwd_query_t *q = stopping;
        stopping = q->next;
        task_join(&q->task);
        free(q);
    }
}

static void start_configured(forward_mgr_t *m, source_t *s, const vhost_conf_t *vc, const dest_t *d)
{
    if (start(m, s, vc, d, 1, s->app, s->stream, s->publish_param, NULL, 0) != 0) {
        rill_error("forward %s/%s/%s to %s:%d: could not start", s->vhost, s->app, s->stream, d->host, d->port);
        return;
    }
    m->list->configured = 1;   /* start() put it first */
}

static void on_publish(void *ctx, source_t *s)
{
    forward_mgr_t *m = ctx;
    const vhost_conf_t *vc = config_vhost(m->conf, s->vhost);
    /* What an edge pulls is not pushed anywhere; what a client publishes on
     * an edge is, by its connection once an origin took it (forward_edge_start). */
    if (!vc || s->edge_pulled || vc->edge || !vc->forward_enabled) return;
    if (vc->forward_backend && m->hooks) start_query(m, s, vc);
    for (int i = 0; i < vc->nforward_dests; i++) start_configured(m, s, vc, &vc->forward_dests[i]);
}

int forward_start_url(forward_mgr_t *m, source_t *s, const vhost_conf_t *vc, const char *url)
{
    rtmp_url_t u;
    if (rtmp_url_parse(url, &u) != 0 || !u.stream[0]) {
        rill_warn("forward %s/%s/%s: bad url '%s'", s->vhost, s->app, s->stream, url);
        return RILL_ERR_INVAL;
    }
    dest_t d;
    memset(&d, 0, sizeof d);
    /* a name is looked up (without blocking) at each connect attempt */
    snprintf(d.host, sizeof d.host, "%s", u.host);
    d.port = u.port;
    return start(m, s, vc, &d, 1, u.app, u.stream, u.param, NULL, 0);
}

/* ---- a publish on an edge: the origin's answer first ---------------------- */

static const dest_t *edge_publish_list(const vhost_conf_t *vc, int *n)
{
    *n = vc->npublish_origins ? vc->npublish_origins : vc->norigins;
    return vc->npublish_origins ? vc->publish_origins : vc->origins;
}

int forward_edge_open(const vhost_conf_t *vc, const char *vhost, const char *app, const char *stream,
                      forward_up_t *up)
{
    memset(up, 0, sizeof *up);
    int n;
    const dest_t *list = edge_publish_list(vc, &n);
    int rc = RILL_ERR_NOT_FOUND;
    for (int k = 0; k < n; k++) {
        const dest_t *d = &list[k];
        char tc[600];
        tc_url_of(tc, sizeof tc, d, app, vhost);
        rtmp_dial_t *cl = calloc(1, sizeof *cl);
        if (!cl) return RILL_ERR_NOMEM;
        rc = open_publish(cl, d, app, tc, stream, vc->chunk_size, vc->send_buffer);
        snprintf(up->origin, sizeof up->origin, "%s:%d", d->host, d->port);
        if (!rc) {
            up->cl = cl;
            up->cur = k;
            return 0;
        }
        snprintf(up->status, sizeof up->status, "%s", cl->status);
        free_opened(cl);
        /* An origin's refusal is the answer (another origin would see the same
         * publisher, or the same hook); an origin that cannot be reached is not. */
        if (rc == RILL_ERR_DENIED) return strstr(up->status, "BadName") ? RILL_ERR_STREAM_BUSY : RILL_ERR_DENIED;
        rill_warn("edge publish %s/%s/%s: origin %s failed: %s%s%s", vhost, app, stream, up->origin,
                  rill_strerror(rc), up->status[0] ? ", " : "", up->status);
    }
    return rc;
}

int forward_edge_start(forward_mgr_t *m, source_t *s, const vhost_conf_t *vc, forward_up_t *up)
{
    int n;
    const dest_t *list = edge_publish_list(vc, &n);
    rtmp_dial_t *cl = up->cl;
    up->cl = NULL;
    int rc = start(m, s, vc, list, n, s->app, s->stream, s->publish_param, cl, cl ? up->cur : 0);
    if (rc) rill_error("edge publish %s/%s/%s: could not start the upstream", s->vhost, s->app, s->stream);
    return rc;
}

void forward_up_close(forward_up_t *up)
{
    free_opened(up->cl);
    up->cl = NULL;
}

/* Unlink f from the manager's list (no yield) and interrupt it. */
static forwarder_t *detach(forward_mgr_t *m, forwarder_t **pp, forwarder_t *stopping)
{
    forwarder_t *f = *pp;
    *pp = f->next;
    m->count--;
    task_interrupt(&f->task);
    f->next = stopping;
    return f;
}

/* Join and free detached forwarders. The joins yield: nothing here points
 * into the manager's list, which other coroutines may edit meanwhile. */
static void stop_detached(forward_mgr_t *m, forwarder_t *stopping)
{
    while (stopping) {
        forwarder_t *f = stopping;
        stopping = f->next;
        task_join(&f->task);
        rill_trace("forward %s/%s/%s to %s: stopped, %llu bytes, %u reconnects", f->src->vhost, f->src->app,
                   f->src->stream, f->dest, (unsigned long long)f->bytes_sent, f->reconnects);
        m->closed_bytes += f->bytes_sent;
        free_opened(f->opened);      /* stopped before its first session */
        hub_release(f->src->hub, f->src);
        free(f->dests);
        free(f);
    }
}

static void on_unpublish(void *ctx, source_t *s)
{
    forward_mgr_t *m = ctx;
    /* the question first: it could still start forwarders */
    stop_queries(m, s);
    forwarder_t *stopping = NULL;
    for (forwarder_t **pp = &m->list; *pp;) {
        if ((*pp)->src != s) pp = &(*pp)->next;
        else stopping = detach(m, pp, stopping);
    }
    stop_detached(m, stopping);
}

static int listed(const vhost_conf_t *vc, const dest_t *d)
{
    if (!vc || vc->edge || !vc->forward_enabled) return 0;
    for (int i = 0; i < vc->nforward_dests; i++)
        if (vc->forward_dests[i].port == d->port && !strcmp(vc->forward_dests[i].host, d->host)) return 1;
    return 0;
}

void forward_reconcile(forward_mgr_t *m, hub_t *hub)
{
    /* A publish relayed past an edge's pull whose vhost is an origin now:
     * the pull stopped (edge_reconfigured), so its players would not get it
     * back; closed, its encoder publishes here again. Kicking never yields. */
    for (source_t *s = m->relay.sources; s; s = s->next) {
        const vhost_conf_t *vc = config_vhost(m->conf, s->vhost);
        if (!s->publisher_client || !vc || strcmp(vc->name, s->vhost) || vc->edge) continue;
        rill_trace("reload: publish %s/%s/%s went past the edge's pull; the vhost is an origin now: closed to "
                   "publish here", s->vhost, s->app, s->stream);
        client_kick(s->publisher_client);
    }
    /* First every forwarder no longer listed, unlinked in one walk without a yield. */
    forwarder_t *stopping = NULL;
    for (forwarder_t **pp = &m->list; *pp;) {
        forwarder_t *f = *pp;
        const vhost_conf_t *vc = config_vhost(m->conf, f->src->vhost);
        if (!f->configured || listed(vc, &f->dests[0])) {
            pp = &f->next;
            continue;
        }
        rill_trace("reload: forward %s/%s/%s to %s no longer listed", f->src->vhost, f->src->app, f->src->stream,
                   f->dest);
        stopping = detach(m, pp, stopping);
    }
    /* Then the new destinations: starting never yields, so the source walk is safe. */
    for (source_t *s = hub->sources; s; s = s->next) {
        if (!s->publisher || s->edge_pulled) continue;
        const vhost_conf_t *vc = config_vhost(m->conf, s->vhost);
        if (!vc || vc->edge || !vc->forward_enabled) continue;
        for (int i = 0; i < vc->nforward_dests; i++) {
            const dest_t *d = &vc->forward_dests[i];
            int running = 0;
            for (forwarder_t *f = m->list; f && !running; f = f->next)
                running = f->src == s && f->configured && f->dests[0].port == d->port && !strcmp(f->dests[0].host, d->host);
            if (running) continue;
            rill_trace("reload: forward %s/%s/%s to %s:%d added", s->vhost, s->app, s->stream, d->host, d->port);
            start_configured(m, s, vc, d);
        }
    }
    /* Last, the joins (they yield). */
    stop_detached(m, stopping);
}

void forward_init(forward_mgr_t *m, hub_t *hub, const config_t *conf)
{
    memset(m, 0, sizeof(*m));
    m->conf = conf;
    m->obs.on_publish = on_publish;
    m->obs.on_unpublish = on_unpublish;
    m->obs.ctx = m;
    hub_observe(hub, &m->obs);
    hub_init(&m->relay);
    m->relay.last_id = 0x80000000u;     /* its sources' ids apart from the hub's */
    m->relay_obs.on_unpublish = on_unpublish;
    m->relay_obs.ctx = m;
    hub_observe(&m->relay, &m->relay_obs);
}

uint64_t forwarder_bytes(const forwarder_t *f)
{
    return f->bytes_sent + (f->live_out ? *f->live_out - f->live_base : 0);
}

uint64_t forward_bytes_total(const forward_mgr_t *m)
{
    uint64_t n = m->closed_bytes;
    for (const forwarder_t *f = m->list; f; f = f->next) n += forwarder_bytes(f);
    return n;
}

void forward_stop_all(forward_mgr_t *m)
{
    stop_queries(m, NULL);
    forwarder_t *stopping = NULL;
    while (m->list) stopping = detach(m, &m->list, stopping);
    stop_detached(m, stopping);
    /* its forwarders were the relay's last players: its merge clock ends with it */
    hub_free(&m->relay);
}
