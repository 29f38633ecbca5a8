/* Edge: a vhost with `cluster { mode remote; origin A B ...; }` pulls each
 * stream on demand. The first player of a stream starts one upstream (a
 * "pull") that plays it from an origin into the local source; every later
 * player shares it. The pull fails over to the next origin on refusal,
 * reset, EOF, a connect timeout, silence, or an origin saying it does not
 * have the stream; players stay connected through a switch and get the new
 * origin's headers and GOP with timestamps that continue where they were,
 * or, when the new origin carries the same timeline (the same bytes at the
 * last timestamp they got), only what they had not got yet.
 * When the last player leaves, the pull stops after a grace period. */
#ifndef EDGE_H
#define EDGE_H

#include <st.h>
#include <stdint.h>
#include "edge_guard.h"
#include "edge_rhythm.h"
#include "edge_standby.h"
#include "rtmp_dial.h"
#include "hub.h"
#include "config.h"
#include "task.h"

#ifdef __cplusplus
extern "C" {
#endif

enum edge_state { EDGE_CONNECTING = 0, EDGE_PLAYING, EDGE_BACKOFF };
/* A session after an ordinary switch: not decided yet; its first messages
 * held while deciding; on the timeline players got, dropping what they had
 * until level on every track; done (rebased, level, or nothing to decide). */
enum edge_rejoin_state { EDGE_REJOIN_UNDECIDED = 0, EDGE_REJOIN_DECIDING, EDGE_REJOIN_CATCHING_UP, EDGE_REJOIN_DONE };

/* The timeline players see, carried from one origin to the next. */
typedef struct edge_timeline {
    uint32_t last_ts;           /* the last media timestamp sent, players' timeline */
    uint32_t last_raw;          /* the same, on the origin's timeline */
    uint32_t offset;            /* players' = origin's + offset */
    int have_last;
    int first;                  /* a new origin's first media message sets the offset */
} edge_timeline_t;

typedef struct edge_pull {
    struct edge_mgr *mgr;
    source_t *src;
    const vhost_conf_t *vc;
    char stream[1300];          /* stream name + the first player's params */
    task_t task;           /* a member of the manager's group: joined and freed by it */
    uint32_t cid;
    int state;
    char origin[300];           /* the origin in use (host:port) */
    uint32_t switches;          /* origin changes after the first */
    uint64_t bytes;             /* received from origins, sessions that ended */
    const uint64_t *live_in;    /* the session under way's counter, NULL between sessions */
    uint64_t live_base;
    int64_t idle_since;         /* ms when the last consumer left, 0 while there are some */
    /* Players wait (no Play.Start, no HTTP headers) until the upstream is
     * ready: an origin played the stream, or a first round of origins ended
     * without every one saying it is absent (then players wait as before). */
    int ready;
    int64_t started_ms;
    uint32_t gen;               /* the manager's gen when vc was taken */
    int unedged;                /* stopped by a reload that made its vhost an origin */
    edge_rhythm_t rhythm;       /* the stream's message rhythm, for silence detection */
    int active;                 /* the origin in use, in the vhost's list */
    struct edge_standby *standby; /* origin_redundancy: the second upstream, or NULL */
    edge_timeline_t tl;         /* the pull's timeline (the standby forwards on it too) */
    edge_merge_t sent;          /* origin_redundancy: what went to players, per track */
    edge_merge_t active_pos;    /* where the active upstream's copy is */
    uint32_t hitless_switches;  /* switches that continued from the standby by timestamp */
    /* An ordinary switch: does the new origin continue the players' timeline
     * (edge_rejoin_check)? Its first media messages wait in held (a ring as
     * a standby's, no coroutine) until that is known. */
    uint32_t sent_print[2];     /* the print of the last media message sent, per track */
    struct edge_standby *held;  /* the new origin's messages while deciding, or NULL */
    int64_t held_until;         /* ms: the longest the decision waits */
    int64_t held_last_ms;       /* when the last held message arrived */
    int rejoin;                 /* this session's enum edge_rejoin_state */
    uint32_t rejoins;           /* ordinary switches that continued the timeline */
    struct edge_pull *next;
} edge_pull_t;

#define EDGE_HEALTH_SLOTS 64

typedef struct edge_mgr {
    const config_t *conf;
    hub_t *hub;
    edge_pull_t *list;        /* pulls running (an pull that decided to end is off it) */
    int count;
    tasks_t tasks;         /* owns every pull's coroutine, ended or not */
    uint64_t closed_bytes;      /* received by pulls that ended */
    /* origins that failed recently, so a new stream does not start on a dead one */
    struct { char key[272]; int64_t failed_ms; edge_rate_t rate; } health[EDGE_HEALTH_SLOTS];  /* "host:port" */
    edge_guard_t guard;         /* absent names, waiting plays per address */
    uint32_t gen;               /* counts reloads: a pull's vc older than it is another list's */
} edge_mgr_t;

/* Why an edge's source failed (source_t.upstream_failed). */
enum edge_fail { EDGE_FAIL_GAVE_UP = 1, EDGE_FAIL_ABSENT, EDGE_FAIL_BUSY };

int edge_init(edge_mgr_t *m, hub_t *hub, const config_t *conf);
/* A player arrived at an edge vhost's source: make sure an upstream pulls it. */
int edge_on_play(edge_mgr_t *m, source_t *s, const vhost_conf_t *vc, const char *param);
/* A play on an edge vhost, its source held by consumer c: refuse at once a
 * name every origin said is absent (RILL_ERR_NOT_FOUND) or a play past the
 * bounds (RILL_ERR_TOO_MANY), else start or share the upstream and wait
 * until it is ready. 0: start the player; *why says why a refusal.
 * peer_fd: the player's socket, watched while it waits (a player that
 * closes ends the wait with RILL_ERR_EOF); -1: not watched. */
int edge_play(edge_mgr_t *m, source_t *s, const vhost_conf_t *vc, const char *param, const char *ip,
              consumer_t *c, const int *stop, int peer_fd, const char **why);
/* May a new upstream connect to one of vc's origins now (the rate bounds)? */
int edge_can_connect(edge_mgr_t *m, const vhost_conf_t *vc);
/* Count an attempt to d (begin/end); begin returns 0, or RILL_ERR_TOO_MANY
 * when the bounds refuse it and enforce is set (nothing counted then). */
int edge_attempt_begin(edge_mgr_t *m, const vhost_conf_t *vc, const dest_t *d, int enforce);
void edge_attempt_end(edge_mgr_t *m, const dest_t *d);
/* token_traverse: 0 when an origin accepts the same connect (or play), else
 * RILL_ERR_DENIED (refused) or another error (no origin could be asked). */
int edge_check_connect(edge_mgr_t *m, const vhost_conf_t *vc, const char *app, const char *vhost,
                       const char *param);
int edge_check_play(edge_mgr_t *m, const vhost_conf_t *vc, const char *app, const char *vhost,
                    const char *stream_with_param);
edge_pull_t *edge_find(edge_mgr_t *m, const source_t *s);
/* Bytes received from origins: by one pull so far; by every pull ever. */
uint64_t edge_pull_bytes(const edge_pull_t *g);
uint64_t edge_bytes_total(const edge_mgr_t *m);
const char *edge_state_name(int state);

/* The pull's decisions, pure (unit-tested). */
/* The next origin after 'from' (-1: the first) among n, in list order,
 * skipping those failed[i] says failed recently unless every one did; never
 * 'from' itself while there are others. */
int edge_next_origin(int n, const int *failed, int from);
/* A session's result besides 0 and RILL_ERR_*: */
enum edge_session_result {
    EDGE_LOST = 1,              /* the origin lost (or never had) the stream: try the next */
    EDGE_IDLE = 2,              /* no players left for the grace period */
};
/* What a session's end means. */
enum edge_verdict { EDGE_NEXT = 0, EDGE_ROUND_DONE, EDGE_GIVE_UP };
typedef struct edge_retry {
    int64_t failing_since;      /* ms when this run of failures began (0: none) */
    int tried;                  /* origins tried in the current round */
} edge_retry_t;
/* After a session: got_media resets the run of failures; a run longer than
 * give_up_ms (0: never) gives up; a round over every origin backs off. */
int edge_after_session(edge_retry_t *r, int norigins, int got_media, int64_t now_ms, int give_up_ms);
/* Should a failed session mark its origin as failed (tried last for a while)? */
int edge_marks_failed(int session_rc, int got_media);
/* Connect to origin d and play the pull's stream on cl (cl is initialised
 * here; the caller closes it whatever the result). enforce: the attempt
 * bounds may refuse it (RILL_ERR_TOO_MANY). */
int edge_origin_connect(edge_pull_t *g, const dest_t *d, rtmp_dial_t *cl, int enforce);
/* An onStatus saying the origin does not (or no longer) have the stream. */
int edge_lost_stream(const rtmp_msg_t *m);
/* After a config reload: names every origin said were absent were asked of
 * the old origin lists, so the next play of any name asks the new ones; the
 * pulls of a vhost that is no longer an edge stop (its players wait for a
 * publisher here, as on an origin). Never yields. */
void edge_reconfigured(edge_mgr_t *m);
/* Shutdown: interrupt every pull, join each, free. */
void edge_stop_all(edge_mgr_t *m);

#ifdef __cplusplus
}
#endif
#endif
