#include "edge.h"
#include "rill_error.h"
#include "rill_log.h"
#include "rill_time.h"
#include "rtmp_dial.h"
#include "rtmp_cmd.h"
#include "rtmp_ingest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEALTH_MEMORY_MS  10000   /* how long an origin that failed is tried last */
#define REBASE_STEP_MS    10      /* a new origin's first frame lands this long after the last one */

const char *edge_state_name(int s)
{
    return s == EDGE_PLAYING ? "playing" : s == EDGE_BACKOFF ? "backoff" : "connecting";
}

static void dest_key(const dest_t *d, char *out, size_t len)
{
    snprintf(out, len, "%s:%d", d->ip, d->port);
}

/* The health record of origin d (failures, connection attempts), or -1. */
static int health_slot(edge_mgr_t *m, const dest_t *d, int create)
{
    char key[80];
    dest_key(d, key, sizeof key);
    int free_slot = -1, oldest = 0;
    for (int i = 0; i < EDGE_HEALTH_SLOTS; i++) {
        if (!strcmp(m->health[i].key, key)) return i;
        if (!m->health[i].key[0] && free_slot < 0) free_slot = i;
        if (m->health[i].failed_ms < m->health[oldest].failed_ms) oldest = i;
    }
    if (!create) return -1;
    int i = free_slot >= 0 ? free_slot : oldest;
    memset(&m->health[i], 0, sizeof m->health[i]);
    snprintf(m->health[i].key, sizeof m->health[i].key, "%s", key);
    return i;
}

static void mark_failed(edge_mgr_t *m, const dest_t *d, int failed)
{
    int i = health_slot(m, d, failed);
    if (i >= 0) m->health[i].failed_ms = failed ? rill_now_ms() : 0;
}

static int recently_failed(edge_mgr_t *m, const dest_t *d)
{
    int i = health_slot(m, d, 0);
    return i >= 0 && m->health[i].failed_ms && rill_now_ms() - m->health[i].failed_ms < HEALTH_MEMORY_MS;
}

int edge_can_connect(edge_mgr_t *m, const vhost_conf_t *vc)
{
    int64_t now = rill_now_ms();
    for (int k = 0; k < vc->norigins; k++) {
        int i = health_slot(m, &vc->origins[k], 0);
        if (i < 0 || edge_rate_allows(&m->health[i].rate, now, vc->origin_connect_rate, vc->origin_connect_inflight))
            return 1;
    }
    return 0;
}

int edge_attempt_begin(edge_mgr_t *m, const vhost_conf_t *vc, const dest_t *d, int enforce)
{
    int i = health_slot(m, d, 1);
    int64_t now = rill_now_ms();
    edge_rate_t *r = &m->health[i].rate;
    if (enforce && !edge_rate_allows(r, now, vc->origin_connect_rate, vc->origin_connect_inflight)) {
        rill_warn("edge: origin %s:%d: connection attempt refused: %d under way (origin_connect_inflight %d), "
                  "%d this second (origin_connect_rate %d)", d->host, d->port, r->inflight,
                  vc->origin_connect_inflight, now - r->window_ms < 1000 ? r->count : 0, vc->origin_connect_rate);
        return RILL_ERR_TOO_MANY;
    }
    edge_rate_begin(r, now);
    return 0;
}

void edge_attempt_end(edge_mgr_t *m, const dest_t *d)
{
    int i = health_slot(m, d, 0);
    if (i >= 0) edge_rate_end(&m->health[i].rate);
}

int edge_next_origin(int n, const int *failed, int from)
{
    for (int k = 0; k < n; k++) {
        int i = from < 0 ? k : (from + 1 + k) % n;
        if (i == from) break;
        if (!failed[i]) return i;
    }
    return from < 0 ? 0 : (from + 1) % n;
}

/* The next origin to try after 'from' (-1: start), from the health records. */
static int next_origin(edge_mgr_t *m, const vhost_conf_t *vc, int from)
{
    int n = vc->norigins;
    int failed[n > 0 ? n : 1];     /* a config lists a handful */
    for (int i = 0; i < n; i++) failed[i] = recently_failed(m, &vc->origins[i]);
    return edge_next_origin(n, failed, from);
}

int edge_marks_failed(int session_rc, int got_media)
{
    /* an origin that lost the stream works; one that sent media worked */
    return session_rc != EDGE_LOST && !got_media;
}

int edge_after_session(edge_retry_t *r, int norigins, int got_media, int64_t now, int give_up_ms)
{
    if (got_media) {
        r->failing_since = 0;
        r->tried = 0;
    }
    if (!r->failing_since) r->failing_since = now;
    r->tried++;
    if (give_up_ms && now - r->failing_since >= give_up_ms) return EDGE_GIVE_UP;
    if (r->tried >= norigins) {
        r->tried = 0;
        return EDGE_ROUND_DONE;
    }
    return EDGE_NEXT;
}

/* Players gone for the grace period? Tracks when they went. */
static int idle_expired(edge_pull_t *g)
{
    if (g->src->nconsumers > 0) {
        g->idle_since = 0;
        return 0;
    }
    int64_t now = rill_now_ms();
    if (!g->idle_since) g->idle_since = now;
    return now - g->idle_since >= g->vc->ingest_grace;
}

/* An onStatus that says the origin does not (or no longer) has the stream. */
static int lost_stream(const rtmp_msg_t *m)
{
    if (m->type != RTMP_MSG_AMF0_COMMAND && m->type != RTMP_MSG_AMF3_COMMAND) return 0;
    rtmp_cmd_t cmd;
    if (rtmp_cmd_parse(m->payload->data, m->payload->size, m->type == RTMP_MSG_AMF3_COMMAND, &cmd)) return 0;
    int lost = 0;
    if (!strcmp(cmd.name, "onStatus")) {
        const char *code = amf0_object_get_string(rtmp_cmd_arg(&cmd, 1), "code");
        lost = code && (strstr(code, "UnpublishNotify") || strstr(code, "StreamNotFound") ||
                        strstr(code, "Play.Stop") || strstr(code, "Play.Failed"));
    }
    rtmp_cmd_free(&cmd);
    return lost;
}

/* "?a=b" of "stream?a=b", or "". */
static const char *params_of(const char *stream)
{
    const char *q = strchr(stream, '?');
    return q ? q : "";
}

/* One upstream session: connect, play, copy messages in until it fails.
 * *last_ts and *have_last carry the timeline across origins. */
static int session(edge_pull_t *g, const dest_t *d, uint32_t *last_ts, int *have_last, int *got_media)
{
    const vhost_conf_t *vc = g->vc;
    source_t *s = g->src;
    /* The connect carries the player's params too (an origin's on_connect hook checks them). */
    const char *p = params_of(g->stream);
    char tc[1800];
    if (strcmp(s->vhost, "__defaultVhost__") != 0)
        snprintf(tc, sizeof tc, "rtmp://%s:%d/%s%s%svhost=%s", d->ip, d->port, s->app, p, p[0] ? "&" : "?",
                 s->vhost);
    else
        snprintf(tc, sizeof tc, "rtmp://%s:%d/%s%s", d->ip, d->port, s->app, p);
    snprintf(g->origin, sizeof g->origin, "%s:%d", d->host, d->port);
    g->state = EDGE_CONNECTING;

    /* A cold upstream (no player started yet) is held to the attempt bounds. */
    int rc = edge_attempt_begin(g->mgr, vc, d, !g->ready);
    if (rc) return rc;
    rtmp_dial_t cl;
    rtmp_dial_init(&cl);
    cl.as_edge = 1;
    st_utime_t read_to = (st_utime_t)vc->origin_read_timeout * 1000;
    rc = rtmp_dial_connect(&cl, d->ip, d->port, s->app, tc, 0, (st_utime_t)vc->origin_connect_timeout * 1000);
    if (!rc) rc = rtmp_session_set_rbuf(&cl.s, RTMP_SESSION_RBUF_MEDIA);
    if (!rc) rc = rtmp_dial_play(&cl, g->stream, read_to);
    edge_attempt_end(g->mgr, d);
    if (rc) {
        rill_warn("edge %s/%s/%s: origin %s: %s%s%s", s->vhost, s->app, s->stream, g->origin, rill_strerror(rc),
                  cl.status[0] ? ", " : "", cl.status);
        rtmp_dial_close(&cl);
        return rc == RILL_ERR_NOT_FOUND ? EDGE_LOST : rc;
    }
    rill_trace("edge %s/%s/%s: playing from origin %s", s->vhost, s->app, s->stream, g->origin);
    g->state = EDGE_PLAYING;
    g->ready = 1;
    int first = 1;
    uint32_t offset = 0;
    uint64_t before = cl.s.in_bytes;
    g->live_in = &cl.s.in_bytes;    /* the API reads bytes while the session runs */
    g->live_base = before;
    edge_rhythm_t *rh = &g->rhythm;
    edge_rhythm_new_session(rh);
    int64_t since = rill_now_ms();  /* silence is counted from here until the first message */
    for (;;) {
        if (g->task.stop) break;
        if (idle_expired(g)) {
            rc = EDGE_IDLE;
            break;
        }
        /* How long may the origin stay silent from now? */
        int64_t now = rill_now_ms();
        int limit = edge_silence_limit(rh, now, vc->origin_silence_factor, vc->origin_silence_min,
                                       vc->origin_read_timeout);
        int64_t silent = now - (rh->last_ms ? rh->last_ms : since);
        if (silent >= limit) {
            rill_warn("edge %s/%s/%s: origin %s: silent for %lld ms (limit %d ms: %d x the longest gap %d ms of "
                      "the last %d s, within %d..%d ms), failing over", s->vhost, s->app, s->stream, g->origin,
                      (long long)silent, limit, vc->origin_silence_factor, edge_rhythm_longest(rh, now),
                      EDGE_RHYTHM_SECONDS, vc->origin_silence_min, vc->origin_read_timeout);
            rc = RILL_ERR_TIMEOUT;
            break;
        }
        int64_t wait_ms = limit - silent;
        if (g->idle_since) {
            /* no players: wake when the grace period ends, not at the next message */
            int64_t left = g->vc->ingest_grace - (now - g->idle_since);
            if (left < wait_ms) wait_ms = left > 1 ? left : 1;
        }
        rtmp_msg_t m;
        rc = rtmp_session_read(&cl.s, &m, (st_utime_t)wait_ms * 1000);
        if (rc == RILL_ERR_TIMEOUT) continue;   /* the checks above decide */
        if (rc) {
            /* m was not filled: an interrupt at shutdown ends here too */
            if (!g->task.stop)
                rill_warn("edge %s/%s/%s: origin %s: %s", s->vhost, s->app, s->stream, g->origin, rill_strerror(rc));
            break;
        }
        edge_rhythm_note(rh, rill_now_ms());
        if (lost_stream(&m)) {
            rill_warn("edge %s/%s/%s: origin %s lost the stream", s->vhost, s->app, s->stream, g->origin);
            rill_payload_unref(m.payload);
            rc = EDGE_LOST;
            break;
        }
        if (m.type == RTMP_MSG_AUDIO || m.type == RTMP_MSG_VIDEO || m.type == RTMP_MSG_AGGREGATE) {
            if (first) {
                /* Continue the timeline: this origin's first frame follows the last one sent. */
                offset = *have_last ? *last_ts + REBASE_STEP_MS - m.timestamp : 0;
                first = 0;
                *got_media = 1;
            }
            *last_ts = m.timestamp + offset;
            *have_last = 1;
        }
        int r = rtmp_ingest(s, &m, offset);
        rill_payload_unref(m.payload);
        if (r < 0) {
            rc = r;
            break;
        }
    }
    g->bytes += cl.s.in_bytes - before;
    g->live_in = NULL;
    rtmp_dial_close(&cl);
    return rc;
}

static void unlink_pull(edge_mgr_t *m, edge_pull_t *g)
{
    for (edge_pull_t **pp = &m->list; *pp; pp = &(*pp)->next) {
        if (*pp == g) {
            *pp = g->next;
            m->count--;
            return;
        }
    }
}

/* End a cold upstream's waiting players with a reason (enum edge_fail). */
static void fail_cold(edge_pull_t *g, int why)
{
    source_fail(g->src);
    g->src->upstream_failed = why;
}

static void pull_loop(void *arg)
{
    edge_pull_t *g = arg;
    edge_mgr_t *m = g->mgr;
    source_t *s = g->src;
    const vhost_conf_t *vc = g->vc;
    rill_log_set_cid(g->cid);
    uint32_t last_ts = 0;
    int have_last = 0;
    int idx = next_origin(m, vc, -1);
    edge_retry_t retry = { 0, 0 };
    int prev = -1;
    int absent = 0;             /* sessions of this round that found no stream, while cold */
    int waited = 0;             /* a round found no stream and the vhost waits for it (origin_wait_stream) */
    uint64_t key = edge_absent_key(s->vhost, s->app, s->stream);
    while (!g->task.stop) {
        if (!g->ready && !vc->origin_wait_stream && edge_absent_left(&m->guard, key, rill_now_ms())) {
            /* every origin said so a moment ago (another upstream of this name): ask nobody */
            fail_cold(g, EDGE_FAIL_ABSENT);
            break;
        }
        if (prev >= 0 && prev != idx) g->switches++;
        int got_media = 0;
        int rc = session(g, &vc->origins[idx], &last_ts, &have_last, &got_media);
        prev = idx;
        if (g->task.stop || rc == EDGE_IDLE) break;
        if (rc == RILL_ERR_TOO_MANY) {
            /* a cold upstream past the attempt bounds: its players are refused at
             * once; one waiting for its stream counts it as one more "absent" */
            if (!waited) {
                fail_cold(g, EDGE_FAIL_BUSY);
                break;
            }
            rc = EDGE_LOST;
        }
        if (!g->ready && rc == EDGE_LOST && !got_media) absent++;
        mark_failed(m, &vc->origins[idx], edge_marks_failed(rc, got_media));
        int verdict = edge_after_session(&retry, vc->norigins, got_media, rill_now_ms(), vc->origin_give_up);
        if (verdict == EDGE_GIVE_UP) {
            rill_error("edge %s/%s/%s: every origin failed for %d ms, closing players", s->vhost, s->app, s->stream,
                       vc->origin_give_up);
            source_fail(s);
            break;
        }
        idx = next_origin(m, vc, idx);
        if (verdict == EDGE_ROUND_DONE && !g->ready) {
            if (absent >= vc->norigins) {
                /* every origin says the stream is not there: remember it, and
                 * answer the players unless the vhost waits for the stream */
                if (vc->origin_absent_cache) edge_absent_put(&m->guard, key, rill_now_ms() + vc->origin_absent_cache);
                if (rill_now_ms() - g->started_ms >= vc->origin_wait_stream) {
                    rill_trace("edge %s/%s/%s: every origin says the stream is absent", s->vhost, s->app, s->stream);
                    fail_cold(g, EDGE_FAIL_ABSENT);
                    break;
                }
                waited = 1;
            } else {
                g->ready = 1;   /* origins unreachable: players start and wait, as for an outage */
            }
            absent = 0;
        }
        if (verdict == EDGE_ROUND_DONE) {
            /* a whole round failed: pause before the next, still watching for idleness */
            g->state = EDGE_BACKOFF;
            int64_t until = rill_now_ms() + vc->origin_backoff;
            while (!g->task.stop && rill_now_ms() < until && !idle_expired(g)) st_usleep(50 * 1000);
            if (idle_expired(g)) break;
        }
    }
    /* Decided and unlinked without yielding, so a player arriving now starts a
     * fresh pull; the manager's group joins this coroutine and frees g. */
    unlink_pull(m, g);
    rill_trace("edge %s/%s/%s: upstream stopped (%s), %llu bytes, %u switches", s->vhost, s->app, s->stream,
               g->task.stop                               ? "server stopping"
               : s->upstream_failed == EDGE_FAIL_ABSENT   ? "absent on every origin"
               : s->upstream_failed == EDGE_FAIL_BUSY     ? "origin attempt bounds"
               : s->upstream_failed                       ? "origins failed"
                                                          : "no players",
               (unsigned long long)g->bytes, g->switches);
    source_unpublish(s);
    s->edge_pulled = 0;
    hub_release(m->hub, s);
    m->closed_bytes += g->bytes;
}

uint64_t edge_pull_bytes(const edge_pull_t *g)
{
    return g->bytes + (g->live_in ? *g->live_in - g->live_base : 0);
}

uint64_t edge_bytes_total(const edge_mgr_t *m)
{
    uint64_t n = m->closed_bytes;
    for (const edge_pull_t *g = m->list; g; g = g->next) n += edge_pull_bytes(g);
    return n;
}

edge_pull_t *edge_find(edge_mgr_t *m, const source_t *s)
{
    for (edge_pull_t *g = m->list; g; g = g->next)
        if (g->src == s) return g;
    return NULL;
}

int edge_on_play(edge_mgr_t *m, source_t *s, const vhost_conf_t *vc, const char *param)
{
    edge_pull_t *g = edge_find(m, s);
    if (g) {
        g->idle_since = 0;
        return 0;
    }
    if (s->publisher) return 0;   /* published on this edge: served locally */
    g = calloc(1, sizeof(*g));
    if (!g) return RILL_ERR_NOMEM;
    g->mgr = m;
    g->src = s;
    g->vc = vc;
    g->cid = rill_log_new_cid();
    g->started_ms = rill_now_ms();
    snprintf(g->stream, sizeof g->stream, "%s%s", s->stream, param ? param : "");
    s->upstream_failed = 0;
    s->edge_pulled = 1;
    int rc = source_publish(s, g, g->cid, param);
    if (rc) {
        s->edge_pulled = 0;
        free(g);
        return rc;
    }
    if (tasks_start(&m->tasks, &g->task, pull_loop, g, NULL, free) != 0) {
        source_unpublish(s);
        s->edge_pulled = 0;
        free(g);
        return RILL_ERR_NOMEM;
    }
    hub_hold(s);    /* the pull's own hold, released when it ends */
    g->next = m->list;
    m->list = g;
    m->count++;
    rill_trace("edge %s/%s/%s: starting upstream", s->vhost, s->app, s->stream);
    return 0;
}

/* token_traverse: ask the origins whether they accept this client. An origin
 * that cannot be reached is skipped; the first that answers decides. */
static int traverse(edge_mgr_t *m, const vhost_conf_t *vc, const char *app, const char *vhost,
                    const char *param, const char *stream)
{
    int rc = RILL_ERR_IO;
    /* A play check connects with the play's params: the origin checks the connect too. */
    if (stream && !param) param = params_of(stream);
    for (int k = 0; k < vc->norigins; k++) {
        const dest_t *d = &vc->origins[next_origin(m, vc, k - 1)];
        char tc[1800];
        snprintf(tc, sizeof tc, "rtmp://%s:%d/%s%s%s%s", d->ip, d->port, app,
                 param && param[0] ? param : "", strcmp(vhost, "__defaultVhost__") ? (param && param[0] ? "&vhost=" : "?vhost=") : "",
                 strcmp(vhost, "__defaultVhost__") ? vhost : "");
        if (edge_attempt_begin(m, vc, d, 1)) return RILL_ERR_TOO_MANY;
        rtmp_dial_t cl;
        rtmp_dial_init(&cl);
        cl.as_edge = 1;
        rc = rtmp_dial_connect(&cl, d->ip, d->port, app, tc, 0, (st_utime_t)vc->origin_connect_timeout * 1000);
        int reached = rc == 0 || rc == RILL_ERR_DENIED;
        if (!rc && stream) {
            rc = rtmp_dial_play(&cl, stream, (st_utime_t)vc->origin_read_timeout * 1000);
            /* allowed, the stream is just not there yet */
            if (rc == RILL_ERR_NOT_FOUND) rc = 0;
            /* closed on us after the connect: the origin refused the play */
            if (rc == RILL_ERR_EOF) rc = RILL_ERR_DENIED;
        }
        rill_trace("token traverse %s %s%s at origin %s: %s%s%s", stream ? "play" : "connect", app,
                   stream ? "" : (param ? param : ""), cl.peer, rc ? rill_strerror(rc) : "allowed",
                   cl.status[0] ? ", " : "", cl.status);
        rtmp_dial_close(&cl);
        edge_attempt_end(m, d);
        if (reached || rc == RILL_ERR_DENIED) return rc ? RILL_ERR_DENIED : 0;
        mark_failed(m, d, 1);
    }
    return rc;
}

int edge_check_connect(edge_mgr_t *m, const vhost_conf_t *vc, const char *app, const char *vhost,
                       const char *param)
{
    return traverse(m, vc, app, vhost, param, NULL);
}

int edge_check_play(edge_mgr_t *m, const vhost_conf_t *vc, const char *app, const char *vhost,
                    const char *stream_with_param)
{
    return traverse(m, vc, app, vhost, NULL, stream_with_param);
}

int edge_init(edge_mgr_t *m, hub_t *hub, const config_t *conf)
{
    memset(m, 0, sizeof(*m));
    m->hub = hub;
    m->conf = conf;
    return tasks_init(&m->tasks, "edge upstreams");
}

void edge_stop_all(edge_mgr_t *m)
{
    tasks_stop(&m->tasks);
}
