/* The stream hub: one source per vhost/app/stream. A source takes messages
 * from its one publisher, corrects timestamps once, caches metadata,
 * sequence headers and the GOP, and lets any number of consumers (players)
 * read the same messages through cursors into its ring. */
#ifndef HUB_H
#define HUB_H

#include <st.h>
#include <stdint.h>
#include "media_msg.h"
#include "config.h"
#include "rill_heap.h"
#include "rill_rate.h"
#include "send_batch.h"
#include "stream_ring.h"
#include "stream_tick.h"
#include "task.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct source source_t;
struct hub;
struct client;
typedef struct consumer consumer_t;

struct consumer {
    /* What the write pass reads for each player, in the first cache line
     * (consumers are allocated on one): the walk, the callback and its
     * context, the cursor. */
    consumer_t *wprev, *wnext;  /* in the source's waiter list: players the write pass keeps
                                 * parked stay in it, so one leaving must not walk it */
    /* The stream's write pass: each message pushed is first offered to the
     * consumers parked in consumer_wait. on_push returns 1 when it took
     * what the consumer had to send without it waking up (it stays parked;
     * its bytes are queued in the hub's pass_sends, and a send the socket
     * does not take whole wakes it with consumer_wake), or holds it for
     * later (consumer_clock_at), 0 to wake it as before. Runs in the publisher's coroutine: it must not yield. NULL:
     * always woken. */
    int (*on_push)(consumer_t *c);
    void *owner;                /* on_push's and on_clock's context (the stream pump) */
    source_t *src;
    uint64_t cursor;            /* next ring sequence number to send */
    int wait_keyframe;          /* after a cut: drop video until a keyframe */
    int waiting;                /* CONSUMER_WAITING: parked in consumer_wait() (in the source's
                                 * waiters); CONSUMER_MERGING: in consumer_merge_wait() (in its mergers) */
    st_thread_t thread;         /* the player's coroutine */
    uint32_t epoch;             /* the source's publish epoch this player has seen */
    uint64_t cuts;              /* times cut back to a keyframe */
    consumer_t *prev, *next;
    /* The merge clock (consumer_merge_wait): called on the clock's ticks
     * while the consumer is parked there, in the clock's coroutine; it must
     * not yield. Returns the time (ms) it next needs a tick, or 0 to wake
     * the consumer (it leaves the mergers). It may queue in pass_sends, as
     * on_push. */
    int64_t (*on_clock)(consumer_t *c, int64_t now_ms);
    rill_heap_node_t clock;     /* in the merge clock's heap while parked on it: key = when on_clock is due */
    int clock_input;            /* parked on the clock: its socket was seen readable (input or a close) */
    int64_t park_until;         /* parked on the clock: ms when the clock wakes it at the latest */
};

enum { CONSUMER_WAITING = 1, CONSUMER_MERGING = 2 };

struct source {
    uint32_t id;                /* unique in this process, never reused: the API's stream id */
    int64_t created_ms;
    char *vhost, *app, *stream;
    /* settings copied from the vhost when the source was made (and at a reload, hub_reconfigured) */
    int time_jitter;
    int gop_cache;
    uint32_t queue_ms;

    struct hub *hub;
    uint32_t refs;              /* holders: each hub_acquire or hub_hold, ended by one hub_release */
    void *publisher;            /* the publishing connection, or NULL */
    uint32_t publisher_cid;
    struct client *publisher_client; /* the publishing client (kicked when replaced); NULL for an edge's upstream */
    int64_t heard_ms;           /* when the publisher last sent a message (or published) */
    uint32_t last_in_ts;        /* the last audio/video timestamp in: a takeover continues from it */
    int have_last_in;
    uint32_t takeovers;         /* publishers replaced by a new publish (takeover_timeout) */
    char *publish_param;        /* the publisher's "?a=b" params, passed on upstream */
    int edge_pulled;            /* published by an edge's upstream, not by a client */
    int upstream_failed;        /* an edge gave up on every origin: players end */
    uint32_t epoch;             /* counts publish and unpublish events */
    media_msg_t *metadata, *video_sh, *audio_sh;
    stream_ring_t ring;
    stream_tick_t tick;         /* the ring's end framed once for the players at the live edge */

    /* timestamp correction state (time_jitter) */
    int jitter_started;
    uint32_t last_pkt_time;
    int64_t last_correct_time;

    void *hls;                  /* the HLS segmenter this source feeds (hls.c), or NULL */
    consumer_t *consumers;
    int nconsumers;
    consumer_t *waiters;
    consumer_t *mergers;        /* parked in consumer_merge_wait: the merge clock's, not the pass's */
    uint64_t since_trim;        /* messages pushed since the ring was last trimmed */
    uint32_t unflushed;         /* messages pushed (source_push) since the last write pass */

    uint64_t msgs_in, bytes_in, video_frames;
    uint64_t bytes_out;         /* sent to its consumers (players, forwarders), framing included */
    rill_rate_t rate;           /* bytes_in/bytes_out, sampled by the stats coroutine */
    source_t *next;
};

/* Modules that follow streams (forward, hooks, stats, HLS) observe publish
 * and unpublish instead of living in the source. Called in the publisher's
 * coroutine; on_unpublish runs before the source drops its cache. on_message
 * sees each message once the ring holds it; it must not yield (the
 * publisher's read loop waits on it). */
typedef struct hub_observer {
    void (*on_publish)(void *ctx, source_t *s);
    void (*on_unpublish)(void *ctx, source_t *s);
    void (*on_message)(void *ctx, source_t *s, media_msg_t *m);
    void *ctx;
    struct hub_observer *next;
} hub_observer_t;

typedef struct hub {
    source_t *sources;
    int nsources;
    uint32_t last_id;
    hub_observer_t *observers;
    /* The merge clock: one coroutine that ticks for every merging consumer
     * of every stream (consumer_merge_wait). Started by the first one that
     * parks, stopped by hub_free. */
    task_t clock;
    int64_t clock_wake;         /* ms of the clock's next tick; 0: none planned */
    rill_heap_t clock_due;      /* the merging consumers, the next due first */
    /* An epoll set of the parked consumers' sockets (their input): the clock
     * waits on it beside its timer, so parked players are out of
     * state-threads' poll set and still see input at once. */
    st_netfd_t clock_watch;
    /* The clock's timer: a timerfd in that epoll set, armed for clock_wake.
     * Not a state-threads sleep: Debian's libst rounds a sleeper's time
     * left down to whole ms when it polls, so the last part of every
     * sleep (up to 1 ms) is spent in poll() calls with no timeout. */
    int clock_timer;
    int64_t clock_armed;        /* ms clock_timer is armed for; 0: disarmed */
    /* The sends of a write pass or a clock tick, handed to the kernel
     * together when it ends (and when full): nothing is queued across a
     * yield. */
    send_batch_t pass_sends;
} hub_t;

void hub_init(hub_t *h);
void hub_observe(hub_t *h, hub_observer_t *o);
/* Stops the merge clock (yields: joins it), then frees every source. */
void hub_free(hub_t *h);
source_t *hub_find(hub_t *h, const char *vhost, const char *app, const char *stream);
source_t *hub_find_id(hub_t *h, uint32_t id);
/* Find or make the source, and hold it: it stays until the matching
 * hub_release, whatever other coroutines do while the holder yields (the
 * yield rule, doc/architecture.md). NULL on no memory. */
source_t *hub_acquire(hub_t *h, const vhost_conf_t *vc, const char *vhost,
                           const char *app, const char *stream);
/* After a config reload: every stream takes its vhost's gop_cache,
 * queue_length and queue_bytes now (stream_ring_configure); time_jitter
 * stays as the stream was made (its correction state runs on). */
void hub_reconfigured(hub_t *h, const config_t *conf);
/* Hold a source found with hub_find (or one more hold on an acquired one). */
static inline source_t *hub_hold(source_t *s) { s->refs++; return s; }
/* End one hold; the source is freed when nobody holds it and it has neither
 * publisher nor consumers. */
void hub_release(hub_t *h, source_t *s);

/* RILL_ERR_STREAM_BUSY when another publisher holds it. */
int source_publish(source_t *s, void *who, uint32_t cid, const char *param);

/* Publish takeover: a new publish of a stream whose publisher has been
 * silent for takeover_ms replaces it (a frozen encoder, a master that died
 * without closing its forward). Never an edge's upstream, never a live one. */
/* ms since the publisher last sent a message; -1 without a publisher. */
int64_t source_silent_ms(const source_t *s, int64_t now_ms);
int source_can_take_over(const source_t *s, int64_t now_ms, int takeover_ms);
/* who becomes the publisher at once. Nothing is dropped and no unpublish
 * is seen: players, forwarders and the cache stay, and the new publisher's
 * headers, GOP and frames follow in the ring (its timestamps rebased with
 * source_rebase). *old is the old publisher's client, for its owner to
 * close (NULL when it had none). 0 or RILL_ERR_NOMEM. */
int source_take_over(source_t *s, void *who, uint32_t cid, const char *param, struct client **old);
/* The offset a publisher adds to every timestamp so its first audio/video
 * message (at first_ts) lands 10 ms after the last one the stream got: 0
 * for a fresh publish, the edge's origin switch rule after a takeover. */
uint32_t source_rebase(const source_t *s, uint32_t first_ts);
void source_unpublish(source_t *s);
/* An edge gave up on its origins: players are told and closed. */
void source_fail(source_t *s);
/* Audio, video or script data from the publisher. Takes the payload
 * reference. Metadata (onMetaData, @setDataFrame stripped) as type 18.
 * source_on_message is source_push then source_flush. */
int source_on_message(source_t *s, uint8_t type, uint32_t timestamp, rill_payload_t *pl);
/* Into the ring and to the observers, without the write pass: a publisher
 * that reads several messages at once (its socket had them: it fell behind)
 * pushes them all, then flushes once, so each player parked at the live edge
 * gets them in one write instead of one write per message. The pass also
 * runs after SOURCE_PUSH_BATCH messages without a flush. */
#define SOURCE_PUSH_BATCH 64
int source_push(source_t *s, uint8_t type, uint32_t timestamp, rill_payload_t *pl);
/* The stream's write pass over what was pushed since the last one (see
 * consumer_t.on_push); wakes the consumers it did not write. Never yields. */
void source_flush(source_t *s);

/* Consumers. The new consumer starts at the cached GOP (or live). */
consumer_t *source_add_consumer(source_t *s, st_thread_t thread);
void source_remove_consumer(consumer_t *c);
/* Park until a message is pushed (and on_push, when set, did not take it),
 * fd (if any) is readable, or the timeout (us) passes: the player's one I/O
 * wait. Returns 1 when fd is readable. */
int consumer_wait(consumer_t *c, st_netfd_t fd, st_utime_t timeout);
/* Park a merging consumer (a player with mw_latency > 0 at the live edge)
 * for the hub's merge clock: until its on_clock returns 0, its socket fd
 * has input (or closes), a publish event wakes it, its thread is
 * interrupted, or timeout (us) passes. The clock first calls on_clock at
 * first_ms, then whenever on_clock asks. One coroutine ticks for every
 * merging player (the players of a stream share a few mw_latency grids, so
 * a tick writes many in one pass) instead of each player waking on a timer
 * of its own: a context switch per player per tick. Pushes do not touch a
 * merging consumer. The clock watches fd in an epoll set of its own, not
 * in state-threads' poll set, where every fd waited on costs every
 * scheduler pass. The clock also ends the wait at timeout (rounded up to a
 * whole second, so that the players' bounds come due together): no timer
 * of the player's own comes due. Returns 1 when fd has input, 0 when woken otherwise, or
 * RILL_ERR_NOMEM / RILL_ERR_IO when it could not park (nothing parked: the
 * caller waits on its own). */
int consumer_merge_wait(consumer_t *c, int fd, int64_t first_ms, st_utime_t timeout);
/* consumer_wait, its fd watched by the merge clock (as above) instead of
 * state-threads' poll set, for a player the write pass of each push keeps
 * written (mw_latency 0): parked for pushes and for input, with no tick of
 * the clock unless first_ms (not 0) asks for one then (messages held for
 * mw_msgs). A pass comes with every message published, and 2000 players
 * parked in the poll set were a quarter of a low-latency server's CPU.
 * Returns as consumer_merge_wait. */
int consumer_wait_clocked(consumer_t *c, int fd, int64_t first_ms, st_utime_t timeout);
/* A consumer parked on the clock (either wait above) wants its next tick at
 * at_ms (not after its bound): from on_push, which holds messages for it.
 * Never yields. */
void consumer_clock_at(consumer_t *c, int64_t at_ms);
/* Wake a consumer parked in any of the waits above (a send of the write
 * pass or of the clock that the socket did not take whole). Never yields. */
void consumer_wake(consumer_t *c);
/* Messages ready to send now. */
static inline uint64_t consumer_available(const consumer_t *c) { return c->src->ring.end - c->cursor; }
/* Bring the cursor back into the ring (cut to a keyframe if it fell behind).
 * Returns 1 when a cut happened. */
int consumer_sync(consumer_t *c);

#ifdef __cplusplus
}
#endif
#endif
