#include "edge.h"
#include "edge_standby.h"
#include "flv.h"
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
#define STANDBY_AHEAD_MIN_MS 80   /* a standby this far ahead (at least) means the active one stalls */
#define STANDBY_MAX_SKEW_MS  5000 /* further apart: not one timeline */
#define STANDBY_CHECK_MS     20   /* how often the active session looks at its standby */
#define REJOIN_WAIT_MS       200  /* the longest a new origin's messages are held to tell its timeline */
#define REJOIN_LIVE_GAP_MS   15   /* a held message this long after the previous one: its GOP burst is over */
#define REJOIN_BEHIND_MS     80   /* live and further behind what was sent: not worth waiting for */

const char *edge_state_name(int s)
{
    return s == EDGE_PLAYING ? "playing" : s == EDGE_BACKOFF ? "backoff" : "connecting";
}

static void dest_key(const dest_t *d, char *out, size_t len)
{
    snprintf(out, len, "%s:%d", d->host, d->port);
}

/* The health record of origin d (failures, connection attempts), or -1. */
static int health_slot(edge_mgr_t *m, const dest_t *d, int create)
{
    char key[272];
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
int edge_lost_stream(const rtmp_msg_t *m)
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

int edge_origin_connect(edge_pull_t *g, const dest_t *d, rtmp_dial_t *cl, int enforce)
{
    const vhost_conf_t *vc = g->vc;
    source_t *s = g->src;
    /* The connect carries the player's params too (an origin's on_connect hook checks them). */
    const char *p = params_of(g->stream);
    char tc[1800];
    if (strcmp(s->vhost, "__defaultVhost__") != 0)
        snprintf(tc, sizeof tc, "rtmp://%s:%d/%s%s%svhost=%s", d->host, d->port, s->app, p, p[0] ? "&" : "?",
                 s->vhost);
    else
        snprintf(tc, sizeof tc, "rtmp://%s:%d/%s%s", d->host, d->port, s->app, p);
    rtmp_dial_init(cl);
    cl->as_edge = 1;
    int rc = edge_attempt_begin(g->mgr, vc, d, enforce);
    if (rc) return rc;
    rc = rtmp_dial_connect(cl, d->host, d->port, s->app, tc, 0, (st_utime_t)vc->origin_connect_timeout * 1000);
    if (!rc) rc = rtmp_session_set_rbuf(&cl->s, RTMP_SESSION_RBUF_MEDIA);
    if (!rc) rc = rtmp_dial_play(cl, g->stream, (st_utime_t)vc->origin_read_timeout * 1000);
    edge_attempt_end(g->mgr, d);
    return rc;
}

/* A sequence header the source already has, byte for byte? */
static int same_header(const source_t *s, const rtmp_msg_t *m)
{
    const media_msg_t *have = NULL;
    const uint8_t *p = m->payload->data;
    size_t n = m->payload->size;
    if (m->type == RTMP_MSG_VIDEO) {
        flv_video_info_t vi;
        if (flv_video_probe(p, n, &vi) || !vi.seq_header) return 0;
        have = s->video_sh;
    } else if (m->type == RTMP_MSG_AUDIO) {
        flv_audio_info_t ai;
        if (flv_audio_probe(p, n, &ai) || !ai.seq_header) return 0;
        have = s->audio_sh;
    }
    return have && have->payload->size == n && !memcmp(have->payload->data, p, n);
}

static int media_track(const rtmp_msg_t *m)
{
    return m->type == RTMP_MSG_VIDEO ? EDGE_TRACK_VIDEO : m->type == RTMP_MSG_AUDIO ? EDGE_TRACK_AUDIO : -1;
}

static int is_seq_header(const rtmp_msg_t *m) { return edge_msg_is_seq_header(m); }

/* origin_redundancy: should this copy of m go to players? copy: where its
 * upstream is; primary: it is the active one. A sequence header the players
 * have (byte for byte) is dropped from either copy; one that differs goes
 * from the active one, or from the standby when it is level with what was
 * sent. Metadata,
 * aggregates and commands come from the active one alone. */
static int merge_pass(edge_pull_t *g, edge_merge_t *copy, const rtmp_msg_t *m, int primary)
{
    int track = media_track(m);
    if (track < 0) return primary ? EDGE_MERGE_SEND : EDGE_MERGE_DROP;
    if (is_seq_header(m)) {
        const edge_merge_pos_t *c = &copy->t[track], *f = &g->sent.t[track];
        if (f->have && same_header(g->src, m)) return EDGE_MERGE_DROP;
        return primary || (c->have && f->have && c->ts == f->ts && c->n == f->n) ? EDGE_MERGE_SEND : EDGE_MERGE_DROP;
    }
    return edge_merge_take(&g->sent, copy, track, m->timestamp, primary, STANDBY_MAX_SKEW_MS);
}

/* Copy one message into the edge's stream on the pull's timeline. */
static int ingest(edge_pull_t *g, const rtmp_msg_t *m)
{
    edge_timeline_t *tl = &g->tl;
    if (m->type == RTMP_MSG_AUDIO || m->type == RTMP_MSG_VIDEO || m->type == RTMP_MSG_AGGREGATE) {
        if (tl->first && tl->have_last && is_seq_header(m)) {
            /* a new origin's headers come first, at its timestamp 0 (its
             * cache): they go out at the last timestamp sent, and its first
             * frame sets the offset (else the timeline would jump by the
             * stream's age on the new origin, with time_jitter off) */
            int r = rtmp_ingest(g->src, m, tl->last_ts - m->timestamp);
            return r < 0 ? r : 0;
        }
        if (tl->first) {
            /* Continue the timeline: this origin's first frame follows the last one sent. */
            tl->offset = tl->have_last ? tl->last_ts + REBASE_STEP_MS - m->timestamp : 0;
            tl->first = 0;
        }
        tl->last_ts = m->timestamp + tl->offset;
        tl->last_raw = m->timestamp;
        tl->have_last = 1;
        int track = media_track(m);
        if (track >= 0 && !is_seq_header(m))
            g->sent_print[track] = edge_msg_print(m->payload->data, m->payload->size);
    }
    int r = rtmp_ingest(g->src, m, tl->offset);
    return r < 0 ? r : 0;
}

static int forward(edge_pull_t *g, rtmp_msg_t *m, int *got_media);

/* Has the new origin's copy reached what was sent on every track players got? */
static int caught_up(const edge_merge_t *sent, const edge_merge_t *copy)
{
    for (int t = 0; t < 2; t++) {
        const edge_merge_pos_t *f = &sent->t[t], *c = &copy->t[t];
        if (f->have && !(c->have && (int32_t)(c->ts - f->ts) >= 0 && (c->ts != f->ts || c->n >= f->n))) return 0;
    }
    return 1;
}

/* An ordinary switch decided (edge_rejoin_check): forward what was held,
 * dropping what players had (same) or rebased after it (another timeline). */
static int release_held(edge_pull_t *g, int same, int *got_media)
{
    edge_standby_t *h = g->held;
    source_t *s = g->src;
    g->held = NULL;
    g->rejoin = same ? EDGE_REJOIN_CATCHING_UP : EDGE_REJOIN_DONE;
    if (same) {
        g->rejoins++;
        g->tl.first = 0;            /* the same timeline: the offset stays */
        memset(&g->active_pos, 0, sizeof g->active_pos);
        rill_trace("edge %s/%s/%s: origin %s continues the timeline players got (the same message at timestamp %u): "
                   "what they had is dropped", s->vhost, s->app, s->stream, g->origin, g->tl.last_raw);
    } else {
        rill_trace("edge %s/%s/%s: origin %s is on another timeline than the last one: rebased after timestamp %u",
                   s->vhost, s->app, s->stream, g->origin, g->tl.last_raw);
    }
    int rc = 0;
    rtmp_msg_t m;
    while (!edge_standby_pop(h, &m)) {
        if (!rc) rc = forward(g, &m, got_media);
        rill_payload_unref(m.payload);
    }
    free(h);
    return rc;
}

/* Hold a new origin's message (a reference of its own) until its timeline is known. */
static int hold(edge_pull_t *g, const rtmp_msg_t *m, int *got_media)
{
    edge_standby_t *h = g->held;
    rtmp_msg_t c = *m;
    c.payload = rill_payload_ref(m->payload);
    edge_standby_push(h, &c);       /* never full here: a full ring decides below */
    int v = EDGE_REJOIN_WAIT;
    int track = media_track(m);
    int frame = track >= 0 && !is_seq_header(m);
    if (m->type == RTMP_MSG_AGGREGATE)
        v = EDGE_REJOIN_APART;      /* not compared message by message */
    else if (frame)
        v = edge_rejoin_check(&g->sent, g->sent_print, &h->pos, track, m->timestamp,
                              edge_msg_print(m->payload->data, m->payload->size), STANDBY_MAX_SKEW_MS);
    int64_t now = rill_now_ms();
    /* past the bounds, or live (its burst over) well behind what was sent
     * (a publisher of its own that started later): another timeline */
    int behind = frame && g->sent.t[track].have && now - g->held_last_ms >= REJOIN_LIVE_GAP_MS &&
                 (int32_t)(g->sent.t[track].ts - m->timestamp) > REJOIN_BEHIND_MS;
    g->held_last_ms = now;
    if (v == EDGE_REJOIN_WAIT && (h->qn == EDGE_STANDBY_QLEN || now >= g->held_until || behind))
        v = EDGE_REJOIN_APART;
    return v == EDGE_REJOIN_WAIT ? 0 : release_held(g, v == EDGE_REJOIN_SAME, got_media);
}

/* Copy one message from the active origin into the edge's stream (with a
 * standby, unless the standby delivered it first; after an ordinary switch
 * that continues the timeline, unless players had it). */
static int forward(edge_pull_t *g, rtmp_msg_t *m, int *got_media)
{
    int media = m->type == RTMP_MSG_AUDIO || m->type == RTMP_MSG_VIDEO || m->type == RTMP_MSG_AGGREGATE;
    if (media) *got_media = 1;
    int redundancy = g->vc->origin_redundancy;
    if (!redundancy && g->rejoin == EDGE_REJOIN_UNDECIDED && g->tl.first && media && g->tl.have_last) {
        /* a new origin after one that sent media: hold it until its timeline is known */
        g->held = calloc(1, sizeof *g->held);
        g->held_last_ms = rill_now_ms();
        g->held_until = g->held_last_ms + REJOIN_WAIT_MS;
        g->rejoin = g->held ? EDGE_REJOIN_DECIDING : EDGE_REJOIN_DONE;   /* without memory: rebased */
    }
    if (g->held) return hold(g, m, got_media);
    if (g->tl.first && media) {
        /* a new origin's timeline: what was sent on the last one says nothing here */
        memset(&g->sent, 0, sizeof g->sent);
        memset(&g->active_pos, 0, sizeof g->active_pos);
    }
    /* what goes to players is noted either way; the verdict applies with a
     * standby, or while catching up with what players got */
    int catching_up = g->rejoin == EDGE_REJOIN_CATCHING_UP;
    int v = merge_pass(g, &g->active_pos, m, 1);
    if (catching_up && caught_up(&g->sent, &g->active_pos)) g->rejoin = EDGE_REJOIN_DONE;
    if (v == EDGE_MERGE_DROP && (redundancy || catching_up)) return 0;
    return ingest(g, m);
}

/* ---- origin_redundancy: the standby's coroutine, owned by its pull */

/* A message from the standby: forward it when it is the next one players
 * need (it came before the active one's copy). Its position is noted either
 * way, so that it can merge as soon as the active one's timeline is set. */
static int standby_merge(edge_standby_t *sb, const rtmp_msg_t *m)
{
    edge_pull_t *g = sb->g;
    int track = media_track(m);
    if (track < 0) return 0;
    if (sb->apart || g->tl.first || !g->tl.have_last) {
        /* only noted: against nothing sent, the verdict is "drop" */
        edge_merge_t none;
        memset(&none, 0, sizeof none);
        if (!is_seq_header(m)) edge_merge_take(&none, &sb->pos, track, m->timestamp, 0, STANDBY_MAX_SKEW_MS);
        return 0;
    }
    int v = merge_pass(g, &sb->pos, m, 0);
    if (v == EDGE_MERGE_APART) {
        source_t *s = g->src;
        rill_warn("edge %s/%s/%s: standby %s left the active origin's timeline (timestamp %u, sent %u): not merged",
                  s->vhost, s->app, s->stream, sb->origin, m->timestamp, g->tl.last_raw);
        sb->apart = 1;
        return 0;
    }
    if (v != EDGE_MERGE_SEND) return 0;
    sb->merged++;
    return ingest(g, m);
}

static void standby_loop(void *arg)
{
    edge_standby_t *sb = arg;
    edge_pull_t *g = sb->g;
    const vhost_conf_t *vc = g->vc;
    source_t *s = g->src;
    rill_log_set_cid(g->cid);
    int rc = edge_origin_connect(g, &vc->origins[sb->idx], &sb->cl, 0);
    if (!rc) {
        sb->state = EDGE_PLAYING;
        rill_trace("edge %s/%s/%s: standby playing from origin %s", s->vhost, s->app, s->stream, sb->origin);
        /* what it merges reaches the players at the live edge through the
         * stream's write pass, run before each read that may block */
        sb->cl.s.before_read = rtmp_ingest_flush;
        sb->cl.s.before_read_ctx = s;
    }
    while (!rc && !sb->task.stop) {
        rtmp_msg_t m;
        rc = rtmp_session_read(&sb->cl.s, &m, (st_utime_t)vc->origin_read_timeout * 1000);
        if (rc) break;
        if (sb->task.stop) {
            /* stopped while its read was done and it waited to run: the pull may have ended, nothing more goes in */
            rill_payload_unref(m.payload);
            break;
        }
        if (edge_lost_stream(&m)) {
            rill_payload_unref(m.payload);
            rc = EDGE_LOST;
            break;
        }
        rc = standby_merge(sb, &m);
        if (rc) {
            rill_payload_unref(m.payload);
            break;
        }
        edge_standby_push(sb, &m);  /* takes the reference */
    }
    if (rc && !sb->task.stop) {
        rill_warn("edge %s/%s/%s: standby origin %s: %s", s->vhost, s->app, s->stream, sb->origin,
                  rc == EDGE_LOST ? "lost the stream" : rill_strerror(rc));
        sb->failed = 1;
        sb->ended_ms = rill_now_ms();
    }
    if (!sb->handover) rtmp_dial_close(&sb->cl);
}

/* Start a standby on origin idx; NULL on no memory. */
static edge_standby_t *standby_start(edge_pull_t *g, int idx)
{
    edge_standby_t *sb = calloc(1, sizeof *sb);
    if (!sb) return NULL;
    sb->g = g;
    sb->idx = idx;
    sb->state = EDGE_CONNECTING;
    const dest_t *d = &g->vc->origins[idx];
    snprintf(sb->origin, sizeof sb->origin, "%s:%d", d->host, d->port);
    rtmp_dial_init(&sb->cl);
    if (task_start(&sb->task, standby_loop, sb, NULL) != 0) {
        free(sb);
        return NULL;
    }
    return sb;
}

/* Stop its coroutine and keep its connection and messages (yields: joins). */
static void standby_handover(edge_standby_t *sb)
{
    sb->handover = 1;
    task_stop(&sb->task);
}

/* Stop its coroutine (yields: joins), close its connection, release its messages, free it. */
static void standby_free(edge_standby_t *sb)
{
    if (!sb) return;
    task_stop(&sb->task);
    if (sb->handover) rtmp_dial_close(&sb->cl);
    edge_standby_drain(sb);
    free(sb);
}

#define BACKOFF_MIN_MS 10        /* origin_backoff 0 still pauses: a round of refusals never spins */

static int64_t backoff_ms(const vhost_conf_t *vc)
{
    return vc->origin_backoff > BACKOFF_MIN_MS ? vc->origin_backoff : BACKOFF_MIN_MS;
}

/* Redundancy: keep a standby on another origin; replace one that failed a while ago. */
static void tend_standby(edge_pull_t *g, int active)
{
    const vhost_conf_t *vc = g->vc;
    if (!vc->origin_redundancy || vc->norigins < 2) return;
    edge_standby_t *sb = g->standby;
    if (sb && (sb->idx == active || (sb->failed && rill_now_ms() - sb->ended_ms >= backoff_ms(vc)))) {
        g->standby = NULL;
        g->bytes += sb->cl.s.in_bytes;
        standby_free(sb);      /* joins a coroutine that has ended: no wait */
        sb = NULL;
    }
    if (!sb) g->standby = standby_start(g, next_origin(g->mgr, vc, active));
}

/* Should the active origin give way to the standby now? It is silent past
 * its limit (a hang) or the standby is ahead of it by more than the
 * stream's rhythm allows (a stall). */
static int standby_ahead(edge_pull_t *g, edge_timeline_t *tl, int64_t now)
{
    edge_standby_t *sb = g->standby;
    if (!sb || sb->failed || sb->state != EDGE_PLAYING || !sb->have_media || !tl->have_last) return 0;
    /* not before the rhythm is known: a stream's first second is bursts */
    if (!g->rhythm.first_ms || now - g->rhythm.first_ms < EDGE_RHYTHM_WARMUP_MS) return 0;
    int limit = 2 * edge_rhythm_longest(&g->rhythm, now);
    if (limit < STANDBY_AHEAD_MIN_MS) limit = STANDBY_AHEAD_MIN_MS;
    int32_t ahead = (int32_t)(sb->newest_ts - tl->last_raw);
    return ahead > limit && ahead < STANDBY_MAX_SKEW_MS;
}

/* One upstream session on a connected client: copy messages in until it
 * fails. tl carries the timeline across origins. */
static int run(edge_pull_t *g, rtmp_dial_t *cl, edge_timeline_t *tl, int *got_media)
{
    const vhost_conf_t *vc = g->vc;
    source_t *s = g->src;
    rill_trace("edge %s/%s/%s: playing from origin %s", s->vhost, s->app, s->stream, g->origin);
    g->state = EDGE_PLAYING;
    g->ready = 1;
    uint64_t before = cl->s.in_bytes;
    g->live_in = &cl->s.in_bytes;   /* the API reads bytes while the session runs */
    g->live_base = before;
    edge_rhythm_t *rh = &g->rhythm;
    edge_rhythm_new_session(rh);
    int64_t since = rill_now_ms();  /* silence is counted from here until the first message */
    int rc = 0;
    for (;;) {
        if (g->task.stop) break;
        if (idle_expired(g)) {
            rc = EDGE_IDLE;
            break;
        }
        tend_standby(g, g->active);
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
        if (standby_ahead(g, tl, now)) {
            rill_warn("edge %s/%s/%s: origin %s: %u ms behind the standby %s, switching", s->vhost, s->app,
                      s->stream, g->origin, g->standby->newest_ts - tl->last_raw, g->standby->origin);
            rc = RILL_ERR_TIMEOUT;
            break;
        }
        int64_t wait_ms = limit - silent;
        /* with a standby, look at it often: a stall shows there first */
        if (g->standby && wait_ms > STANDBY_CHECK_MS) wait_ms = STANDBY_CHECK_MS;
        if (g->idle_since) {
            /* no players: wake when the grace period ends, not at the next message */
            int64_t left = g->vc->ingest_grace - (now - g->idle_since);
            if (left < wait_ms) wait_ms = left > 1 ? left : 1;
        }
        rtmp_msg_t m;
        /* the stream's write pass runs before each read that may block (the
         * session may be a standby's that took over: set on each read) */
        cl->s.before_read = rtmp_ingest_flush;
        cl->s.before_read_ctx = g->src;
        rc = rtmp_session_read(&cl->s, &m, (st_utime_t)wait_ms * 1000);
        if (rc == RILL_ERR_TIMEOUT) continue;   /* the checks above decide */
        if (rc) {
            /* m was not filled: an interrupt at shutdown ends here too */
            if (!g->task.stop)
                rill_warn("edge %s/%s/%s: origin %s: %s", s->vhost, s->app, s->stream, g->origin, rill_strerror(rc));
            break;
        }
        edge_rhythm_note(rh, rill_now_ms());
        if (edge_lost_stream(&m)) {
            rill_warn("edge %s/%s/%s: origin %s lost the stream", s->vhost, s->app, s->stream, g->origin);
            rill_payload_unref(m.payload);
            rc = EDGE_LOST;
            break;
        }
        int r = forward(g, &m, got_media);
        rill_payload_unref(m.payload);
        if (r < 0) {
            rc = r;
            break;
        }
    }
    g->bytes += cl->s.in_bytes - before;
    g->live_in = NULL;
    if (g->held) {
        /* the session ended while deciding: nothing held went to players */
        edge_standby_drain(g->held);
        free(g->held);
        g->held = NULL;
    }
    return rc;
}

/* One upstream session from origin d: connect, play, run. */
static int session(edge_pull_t *g, const dest_t *d, edge_timeline_t *tl, int *got_media)
{
    source_t *s = g->src;
    snprintf(g->origin, sizeof g->origin, "%s:%d", d->host, d->port);
    g->state = EDGE_CONNECTING;
    /* A cold upstream (no player started yet) is held to the attempt bounds. */
    rtmp_dial_t cl;
    int rc = edge_origin_connect(g, d, &cl, !g->ready);
    if (rc) {
        rill_warn("edge %s/%s/%s: origin %s: %s%s%s", s->vhost, s->app, s->stream, g->origin, rill_strerror(rc),
                  cl.status[0] ? ", " : "", cl.status);
        rtmp_dial_close(&cl);
        return rc == RILL_ERR_NOT_FOUND ? EDGE_LOST : rc;
    }
    tl->first = 1;
    g->rejoin = EDGE_REJOIN_UNDECIDED;
    rc = run(g, &cl, tl, got_media);
    rtmp_dial_close(&cl);
    return rc;
}

/* The active origin failed: continue from the standby by timestamp if it is
 * on the same timeline and overlaps what players got. 1: it ran (rc in
 * *out); 0: no usable standby (the ordinary failover follows). */
static int take_standby(edge_pull_t *g, edge_timeline_t *tl, int *got_media, int *out)
{
    edge_standby_t *sb = g->standby;
    source_t *s = g->src;
    if (!sb || sb->failed || sb->state != EDGE_PLAYING || !tl->have_last) return 0;
    if (sb->apart) {
        rill_warn("edge %s/%s/%s: standby %s left the active origin's timeline: ordinary switch", s->vhost, s->app,
                  s->stream, sb->origin);
        return 0;
    }
    int have_oldest;
    uint32_t oldest = edge_standby_oldest_ts(sb, &have_oldest);
    if (!edge_standby_aligned(tl->last_raw, have_oldest, oldest, sb->newest_ts, STANDBY_MAX_SKEW_MS)) {
        rill_warn("edge %s/%s/%s: standby %s is not on the active origin's timeline (last sent %u, standby %u..%u): "
                  "ordinary switch", s->vhost, s->app, s->stream, sb->origin, tl->last_raw, oldest, sb->newest_ts);
        return 0;
    }
    g->standby = NULL;
    standby_handover(sb);      /* joins its coroutine; the connection and ring are ours */
    rill_trace("edge %s/%s/%s: switching to the standby %s at timestamp %u (its ring %u..%u, %llu messages "
               "delivered first)", s->vhost, s->app, s->stream, sb->origin, tl->last_raw, oldest, sb->newest_ts,
               (unsigned long long)sb->merged);
    g->active = sb->idx;
    snprintf(g->origin, sizeof g->origin, "%s", sb->origin);
    g->switches++;
    g->hitless_switches++;
    tl->first = 0;                  /* same timeline: the offset stays */
    /* Its ring through the merge as the active copy: what players had (all
     * of it when it merged) is dropped, the rest follows in order. Metadata
     * and commands in it are the ones players got at the start. */
    memset(&g->active_pos, 0, sizeof g->active_pos);
    int rc = 0;
    rtmp_msg_t m;
    while (!edge_standby_pop(sb, &m)) {
        if (!rc && media_track(&m) >= 0) rc = forward(g, &m, got_media);
        rill_payload_unref(m.payload);
    }
    g->bytes += sb->cl.s.in_bytes;  /* what it received as a standby; run() counts from here */
    if (!rc) rc = run(g, &sb->cl, tl, got_media);
    standby_free(sb);          /* closes the connection */
    *out = rc;
    return 1;
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

/* A pull whose stream no origin has played yet takes a reloaded vhost's
 * origin list at once: what it asked so far was the old list. 1: taken. */
static int cold_takes_reload(edge_pull_t *g)
{
    edge_mgr_t *m = g->mgr;
    if (g->ready || g->gen == m->gen) return 0;
    g->gen = m->gen;
    const vhost_conf_t *nv = config_vhost(m->conf, g->src->vhost);
    if (!nv || strcmp(nv->name, g->src->vhost) || !nv->edge || nv->norigins < 1 || nv == g->vc) return 0;
    g->vc = nv;
    rill_trace("edge %s/%s/%s: not played yet; asks the reloaded origin list (%d origin%s)", g->src->vhost,
               g->src->app, g->src->stream, nv->norigins, nv->norigins == 1 ? "" : "s");
    return 1;
}

static void pull_loop(void *arg)
{
    edge_pull_t *g = arg;
    edge_mgr_t *m = g->mgr;
    source_t *s = g->src;
    const vhost_conf_t *vc = g->vc;
    rill_log_set_cid(g->cid);
    edge_timeline_t *tl = &g->tl;   /* zeroed with g */
    int idx = next_origin(m, vc, -1);
    edge_retry_t retry = { 0, 0 };
    int prev = -1;
    int absent = 0;             /* sessions of this round that found no stream, while cold */
    int waited = 0;             /* a round found no stream and the vhost waits for it (origin_wait_stream) */
    uint64_t key = edge_absent_key(s->vhost, s->app, s->stream);
    while (!g->task.stop) {
        if (cold_takes_reload(g)) {
            vc = g->vc;
            idx = next_origin(m, vc, -1);
            retry = (edge_retry_t){ 0, 0 };
            prev = -1;
            absent = 0;
            waited = 0;
        }
        if (!g->ready && !vc->origin_wait_stream && edge_absent_left(&m->guard, key, rill_now_ms())) {
            /* every origin said so a moment ago (another upstream of this name): ask nobody */
            fail_cold(g, EDGE_FAIL_ABSENT);
            break;
        }
        if (prev >= 0 && prev != idx) g->switches++;
        int got_media = 0;
        g->active = idx;
        int rc = session(g, &vc->origins[idx], tl, &got_media);
        prev = idx;
        /* redundancy: continue from the standby by timestamp, as long as one
         * takes over; a run of takeovers that deliver nothing is bounded */
        for (int idle = 0; idle < 16 && !g->task.stop && rc != EDGE_IDLE && rc != RILL_ERR_TOO_MANY;) {
            int failed_idx = g->active;
            int out, took_media = 0;
            if (!take_standby(g, tl, &took_media, &out)) break;
            mark_failed(m, &vc->origins[failed_idx], edge_marks_failed(rc, 0));
            got_media |= took_media;
            idle = took_media ? 0 : idle + 1;
            rc = out;
            prev = idx = g->active;
        }
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
        if (verdict == EDGE_ROUND_DONE && !g->ready && g->gen != m->gen) {
            absent = 0;         /* a reload came during the round: it asked the old list; ask the new one now */
            continue;
        }
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
            int64_t until = rill_now_ms() + backoff_ms(vc);
            while (!g->task.stop && rill_now_ms() < until && !idle_expired(g) && (g->ready || g->gen == m->gen))
                st_usleep(50 * 1000);
            if (idle_expired(g)) break;
        }
    }
    /* Decided and unlinked without yielding, so a player arriving now starts a
     * fresh pull; the manager's group joins this coroutine and frees g. The
     * standby is only interrupted here: joining it yields, so after. */
    edge_standby_t *sb = g->standby;
    g->standby = NULL;
    if (sb) {
        task_interrupt(&sb->task);
        g->bytes += sb->cl.s.in_bytes;
    }
    unlink_pull(m, g);
    rill_trace("edge %s/%s/%s: upstream stopped (%s), %llu bytes, %u switches", s->vhost, s->app, s->stream,
               s->upstream_failed == EDGE_FAIL_ABSENT     ? "absent on every origin"
               : s->upstream_failed == EDGE_FAIL_BUSY     ? "origin attempt bounds"
               : s->upstream_failed                       ? "origins failed"
               : g->unedged                               ? "the vhost is no longer an edge"
               : g->task.stop                             ? "server stopping"
                                                          : "no players",
               (unsigned long long)g->bytes, g->switches);
    source_unpublish(s);
    s->edge_pulled = 0;
    standby_free(sb);
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
    /* vc taken before a reload made the vhost an origin: the player waits for a publisher here */
    const vhost_conf_t *cur = config_vhost(m->conf, s->vhost);
    if (cur && !strcmp(cur->name, s->vhost) && !cur->edge) return 0;
    g = calloc(1, sizeof(*g));
    if (!g) return RILL_ERR_NOMEM;
    g->mgr = m;
    g->src = s;
    g->vc = vc;
    g->gen = m->gen - 1;        /* vc may predate a reload (taken before a hook yielded): checked at the first step */
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
        snprintf(tc, sizeof tc, "rtmp://%s:%d/%s%s%s%s", d->host, d->port, app,
                 param && param[0] ? param : "", strcmp(vhost, "__defaultVhost__") ? (param && param[0] ? "&vhost=" : "?vhost=") : "",
                 strcmp(vhost, "__defaultVhost__") ? vhost : "");
        if (edge_attempt_begin(m, vc, d, 1)) return RILL_ERR_TOO_MANY;
        rtmp_dial_t cl;
        rtmp_dial_init(&cl);
        cl.as_edge = 1;
        rc = rtmp_dial_connect(&cl, d->host, d->port, app, tc, 0, (st_utime_t)vc->origin_connect_timeout * 1000);
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

void edge_reconfigured(edge_mgr_t *m)
{
    m->gen++;
    int n = edge_absent_forget_all(&m->guard, rill_now_ms());
    if (n) rill_trace("reload: %d stream name%s remembered absent on the old origin lists forgotten", n, n == 1 ? "" : "s");
    for (edge_pull_t *g = m->list; g; g = g->next) {
        const vhost_conf_t *nv = config_vhost(m->conf, g->src->vhost);
        if (!nv || strcmp(nv->name, g->src->vhost) || nv->edge) continue;   /* gone: it keeps its list */
        rill_trace("edge %s/%s/%s: the vhost is no longer an edge, its upstream stops", g->src->vhost, g->src->app,
                   g->src->stream);
        g->unedged = 1;
        task_interrupt(&g->task);
    }
}

void edge_stop_all(edge_mgr_t *m)
{
    tasks_stop(&m->tasks);
}
