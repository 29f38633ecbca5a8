#include "play_session.h"
#include "coro_stack.h"
#include "edge.h"
#include "http_hooks.h"
#include "rill_error.h"
#include "rill_log.h"
#include "rill_time.h"

#include <stdio.h>
#include <string.h>

static int refuse(play_session_t *ps, int err, const char *reason)
{
    ps->reason = reason;
    const client_t *cl = ps->client;
    /* "not here" is routine (an edge asking each origin); a denial is worth a warning */
    if (err == RILL_ERR_NOT_FOUND) rill_trace("%s %s/%s/%s: %s", ps->label, cl->vhost, cl->app, cl->stream, reason);
    else rill_warn("%s %s/%s/%s refused: %s", ps->label, cl->vhost, cl->app, cl->stream, reason);
    if (ps->proto->refuse) ps->proto->refuse(ps, err);
    return err;
}

/* Each pump round: what changed at the source, then the protocol's own check. */
static int on_tick(stream_pump_t *p, void *ctx)
{
    play_session_t *ps = ctx;
    source_t *s = ps->src;
    int rc = 0;
    if (s->upstream_failed) {
        ps->reason = "edge gave up on every origin";
        rc = ps->proto->status ? ps->proto->status(ps, PLAY_EV_FAILED) : 0;
        return rc ? rc : 1;
    }
    if (p->co->epoch != s->epoch) {
        p->co->epoch = s->epoch;
        if (ps->proto->status) rc = ps->proto->status(ps, s->publisher ? PLAY_EV_PUBLISH : PLAY_EV_UNPUBLISH);
        if (rc) return rc;
    }
    return ps->proto->tick ? ps->proto->tick(ps) : 0;
}

static int on_msg(stream_pump_t *p, rtmp_msg_t *m, void *ctx)
{
    play_session_t *ps = ctx;
    return ps->proto->on_msg(ps, p, m);
}

static int pump(play_session_t *ps)
{
    stream_pump_t p;
    memset(&p, 0, sizeof p);
    int rc = ps->proto->start(ps, &p);
    if (!rc) {
        /* one ctx for both pump callbacks: the session's */
        p.on_tick = on_tick;
        p.on_msg = ps->proto->on_msg ? on_msg : NULL;
        p.ctx = ps;
        rc = stream_pump_queue_headers(&p);
    }
    /* The deep steps are behind it (handshake, connect, hooks, the edge's
     * upstream): from here the player sits shallow for as long as it plays,
     * so the stack pages below are given back, once (coro_stack.h). */
    if (!rc) coro_stack_trim();
    if (!rc) rc = stream_pump_run(&p, &ps->client->stop);
    if (!ps->reason) {
        const client_t *cl = ps->client;
        ps->reason = !cl->stop ? p.reason : ps->env->stopping ? "server stopping" : "kicked";
    }
    stream_pump_free(&p);
    return ps->client->stop ? 0 : rc;
}

/* token_traverse: the origin's say first. Out of line: its buffer must not
 * sit in play_session_run's frame under the pump for the whole play. */
static CORO_OUT_OF_LINE int traverse_check(play_session_t *ps)
{
    const client_t *cl = ps->client;
    char full[1600];
    snprintf(full, sizeof full, "%s%s", cl->stream, cl->param ? cl->param : "");
    int rc = edge_check_play(&ps->env->edge, ps->vc, cl->app, cl->vhost, full);
    if (rc == RILL_ERR_TOO_MANY)
        return refuse(ps, rc, "edge busy: origin connection attempts at their bound (token_traverse)");
    if (rc) return refuse(ps, RILL_ERR_DENIED, "refused by origin (token_traverse)");
    return 0;
}

int play_session_run(play_session_t *ps)
{
    session_env_t *env = ps->env;
    const vhost_conf_t *vc = ps->vc;
    client_t *cl = ps->client;
    if (!ps->label) ps->label = "play";
    /* auth first: before token_traverse and before a player hears "not found" */
    if (http_hooks_check(&env->hooks, vc, HOOK_PLAY, cl) != 0)
        return refuse(ps, RILL_ERR_DENIED, "refused by the on_play hook");
    ps->allowed = 1;            /* whatever follows, its end sends on_stop */
    cl->type = ps->client_type;
    if (vc->edge && vc->token_traverse) {
        int rc = traverse_check(ps);
        if (rc) return rc;
    }
    /* From here to the consumer nothing yields: what hub_find saw still holds. */
    if (!vc->edge && ps->need_publisher) {
        source_t *s = hub_find(&env->hub, cl->vhost, cl->app, cl->stream);
        if (!s || !s->publisher) return refuse(ps, RILL_ERR_NOT_FOUND, "stream not found");
    }
    if (ps->probe) {
        ps->reason = "probe";
        return ps->proto->start(ps, NULL);
    }
    ps->src = hub_acquire(&env->hub, vc, cl->vhost, cl->app, cl->stream);
    if (!ps->src) return RILL_ERR_NOMEM;
    /* held (the acquire) until play_session_end; the consumer is the player's own */
    ps->consumer = source_add_consumer(ps->src, st_thread_self());
    if (!ps->consumer) return RILL_ERR_NOMEM;
    if (vc->edge) {
        /* may wait for the upstream's answer: the consumer holds the source */
        const char *why = "could not start the edge upstream";
        int rc = edge_play(&env->edge, ps->src, vc, cl->param, cl->ip, ps->consumer, &cl->stop,
                           ps->watch_peer ? ps->peer_fd : -1, &why);
        if (rc == RILL_ERR_NOT_FOUND || rc == RILL_ERR_TOO_MANY) return refuse(ps, rc, why);
        if (rc) {
            ps->reason = why;
            return rc;
        }
    }
    if (ps->own_client) {
        cl->start_ms = rill_now_ms();
        clients_add(&env->clients, cl);
        ps->registered = 1;
    }
    rill_trace("%s %s/%s/%s%s (%s)", ps->label, cl->vhost, cl->app, cl->stream, cl->param ? cl->param : "",
               ps->src->publisher ? "live" : vc->edge ? "waiting for the upstream" : "waiting for publisher");
    return pump(ps);
}

void play_session_end(play_session_t *ps)
{
    session_env_t *env = ps->env;
    if (ps->consumer) source_remove_consumer(ps->consumer);
    ps->consumer = NULL;
    /* on_stop before the release: its body names the stream's id */
    if (ps->own_client && ps->allowed) http_hooks_client_end(&env->hooks, ps->vc, ps->client);
    ps->allowed = 0;
    if (ps->registered) clients_remove(&env->clients, ps->client);
    ps->registered = 0;
    if (ps->src) hub_release(&env->hub, ps->src);
    ps->src = NULL;
}
