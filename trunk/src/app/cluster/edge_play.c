/* A play on an edge vhost: answered at once when the name is known absent
 * or the edge is at its bounds; otherwise it shares (or starts) the stream's
 * upstream and waits, without answering the player yet, until that upstream
 * is ready or every origin said the stream is absent. So a player of a name
 * nobody has gets its 404 / StreamNotFound in one round trip to the origins,
 * and a client cannot keep thousands of upstream attempts going. */
#include "edge.h"
#include "net.h"
#include "rill_error.h"
#include "rill_log.h"
#include "rill_time.h"

#define WAIT_STEP_MS 100        /* a ready upstream wakes players by its first message; this is the fallback */

/* The longest a play waits for its upstream's verdict: one try of every
 * origin, the wait for the stream, and a margin. Past it the player starts
 * as before this wait existed (waiting for the stream with the answer sent). */
static int64_t wait_bound(const vhost_conf_t *vc)
{
    return (int64_t)vc->norigins * (vc->origin_connect_timeout + vc->origin_read_timeout) + vc->origin_backoff +
           vc->origin_wait_stream + 1000;
}

/* 1: still deciding; 0: start the player; else the refusal. */
static int verdict(edge_mgr_t *m, source_t *s, const char **why)
{
    edge_pull_t *g = edge_find(m, s);
    if (g) return g->ready ? 0 : 1;
    if (s->upstream_failed == EDGE_FAIL_ABSENT) {
        *why = "stream not found (every origin says it is absent)";
        return RILL_ERR_NOT_FOUND;
    }
    if (s->upstream_failed == EDGE_FAIL_BUSY) {
        *why = "edge busy: origin connection attempts at their bound (origin_connect_rate, origin_connect_inflight)";
        return RILL_ERR_TOO_MANY;
    }
    return 0;                   /* published here meanwhile, or gave up: the pump tells the player */
}

static int wait_ready(edge_mgr_t *m, source_t *s, const vhost_conf_t *vc, consumer_t *c,
                      const int *stop, int peer_fd, const char **why)
{
    int64_t until = rill_now_ms() + wait_bound(vc);
    for (int i = 0; i < 100000 && !*stop && rill_now_ms() < until; i++) {
        int rc = verdict(m, s, why);
        if (rc != 1) return rc;
        /* a player that left frees its place (waiting_plays_per_ip) now, not at the verdict */
        if (peer_fd >= 0 && net_peer_gone(peer_fd)) {
            *why = "player left while waiting for the upstream";
            return RILL_ERR_EOF;
        }
        /* the source is held by c: it outlives this wait */
        consumer_wait(c, NULL, WAIT_STEP_MS * 1000);
    }
    return 0;
}

int edge_play(edge_mgr_t *m, source_t *s, const vhost_conf_t *vc, const char *param, const char *ip,
              consumer_t *c, const int *stop, int peer_fd, const char **why)
{
    edge_pull_t *g = edge_find(m, s);
    if (g && g->ready) return edge_on_play(m, s, vc, param);
    if (!g && s->publisher) return 0;   /* published on this edge: served locally */
    if (!g) {
        /* a new upstream: nothing is asked of an origin that just said no, or past the bounds */
        uint64_t key = edge_absent_key(s->vhost, s->app, s->stream);
        if (!vc->origin_wait_stream && edge_absent_left(&m->guard, key, rill_now_ms())) {
            *why = "stream not found (every origin said so less than origin_absent_cache ago)";
            return RILL_ERR_NOT_FOUND;
        }
        if (!edge_can_connect(m, vc)) {
            *why = "edge busy: origin connection attempts at their bound (origin_connect_rate, "
                   "origin_connect_inflight)";
            return RILL_ERR_TOO_MANY;
        }
    }
    if (edge_waiter_add(&m->guard, ip, vc->waiting_plays_per_ip)) {
        *why = "edge busy: too many plays from this address waiting for an upstream (waiting_plays_per_ip)";
        return RILL_ERR_TOO_MANY;
    }
    int rc = edge_on_play(m, s, vc, param);
    if (!rc) rc = wait_ready(m, s, vc, c, stop, peer_fd, why);
    edge_waiter_remove(&m->guard, ip);
    return rc;
}
