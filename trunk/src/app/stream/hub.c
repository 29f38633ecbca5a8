#include "hub.h"
#include "rill_error.h"
#include "rill_log.h"
#include "rill_time.h"
#include "rtmp_msg.h"

#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

/* SRS's jitter bounds: a jump beyond these is treated as a 10 ms step. */
#define JITTER_MAX_MS       250
#define JITTER_DEFAULT_MS   10
/* Ready sockets the clock takes from its epoll set per epoll_wait. */
#define WATCH_BATCH         64
/* The clock ends parked waits on whole seconds: one tick for many players. */
#define PARK_ROUND_MS       1000
/* A parked player's own timer, a last resort should the clock be gone:
 * this long after the bound the clock keeps. */
#define PARK_LAST_RESORT    (60 * 1000 * 1000LL)
/* Ring trim by the slowest player at most this often (messages). */
#define TRIM_EVERY          64
/* A replacing publisher's first frame lands this long after the last one. */
#define REBASE_STEP_MS      10

void hub_init(hub_t *h)
{
    memset(h, 0, sizeof(*h));
    h->clock_timer = -1;
}

void hub_observe(hub_t *h, hub_observer_t *o)
{
    o->next = h->observers;
    h->observers = o;
}

static void source_free(source_t *s)
{
    stream_ring_free(&s->ring);
    stream_tick_free(&s->tick);
    media_msg_unref(s->metadata);
    media_msg_unref(s->video_sh);
    media_msg_unref(s->audio_sh);
    free(s->publish_param);
    free(s->vhost);
    free(s->app);
    free(s->stream);
    free(s);
}

void hub_free(hub_t *h)
{
    task_stop(&h->clock);
    send_batch_free(&h->pass_sends);
    rill_heap_free(&h->clock_due);
    if (h->clock_watch) st_netfd_close(h->clock_watch);
    h->clock_watch = NULL;
    if (h->clock_timer >= 0) close(h->clock_timer);
    h->clock_timer = -1;
    source_t *s = h->sources;
    while (s) {
        source_t *n = s->next;
        source_free(s);
        s = n;
    }
    h->sources = NULL;
    h->nsources = 0;
}

source_t *hub_find(hub_t *h, const char *vhost, const char *app, const char *stream)
{
    for (source_t *s = h->sources; s; s = s->next)
        if (!strcmp(s->stream, stream) && !strcmp(s->app, app) && !strcmp(s->vhost, vhost)) return s;
    return NULL;
}

source_t *hub_find_id(hub_t *h, uint32_t id)
{
    for (source_t *s = h->sources; s; s = s->next)
        if (s->id == id) return s;
    return NULL;
}

source_t *hub_acquire(hub_t *h, const vhost_conf_t *vc, const char *vhost,
                           const char *app, const char *stream)
{
    source_t *s = hub_find(h, vhost, app, stream);
    if (s) return hub_hold(s);
    s = calloc(1, sizeof(*s));
    if (!s) return NULL;
    s->vhost = strdup(vhost);
    s->app = strdup(app);
    s->stream = strdup(stream);
    if (!s->vhost || !s->app || !s->stream) {
        source_free(s);
        return NULL;
    }
    s->hub = h;
    s->id = ++h->last_id;
    s->created_ms = rill_now_ms();
    rill_rate_init(&s->rate, s->created_ms);
    s->time_jitter = vc->time_jitter;
    s->gop_cache = vc->gop_cache;
    s->queue_ms = (uint32_t)(vc->queue_length * 1000);
    stream_ring_init(&s->ring, s->gop_cache, s->queue_ms);
    s->ring.max_bytes = vc->queue_bytes;
    stream_tick_init(&s->tick);
    s->next = h->sources;
    h->sources = s;
    h->nsources++;
    return hub_hold(s);
}

void hub_reconfigured(hub_t *h, const config_t *conf)
{
    for (source_t *s = h->sources; s; s = s->next) {
        const vhost_conf_t *vc = config_vhost(conf, s->vhost);
        if (!vc || strcmp(vc->name, s->vhost)) continue;   /* its vhost is gone: it keeps what it had */
        s->gop_cache = vc->gop_cache;
        s->queue_ms = (uint32_t)(vc->queue_length * 1000);
        stream_ring_configure(&s->ring, s->gop_cache, s->queue_ms, vc->queue_bytes);
    }
}

void hub_release(hub_t *h, source_t *s)
{
    if (s->refs == 0) {
        rill_error("stream %s/%s/%s released more often than held", s->vhost, s->app, s->stream);
    } else {
        s->refs--;
    }
    if (s->refs || s->publisher || s->consumers) return;
    for (source_t **pp = &h->sources; *pp; pp = &(*pp)->next) {
        if (*pp == s) {
            *pp = s->next;
            h->nsources--;
            source_free(s);
            return;
        }
    }
}

/* A parked consumer is in one of two lists, by c->waiting: the source's
 * waiters (woken or written by a push) or its mergers (the clock's). */
static consumer_t **park_list(consumer_t *c)
{
    return c->waiting == CONSUMER_MERGING ? &c->src->mergers : &c->src->waiters;
}

static void park(consumer_t *c, int how)
{
    c->waiting = how;
    consumer_t **list = park_list(c);
    c->wprev = NULL;
    c->wnext = *list;
    if (*list) (*list)->wprev = c;
    *list = c;
}

static void waiter_remove(consumer_t *c)
{
    if (!c->waiting) return;
    rill_heap_remove(&c->src->hub->clock_due, &c->clock);    /* when on the clock too */
    if (c->wprev) c->wprev->wnext = c->wnext;
    else *park_list(c) = c->wnext;
    if (c->wnext) c->wnext->wprev = c->wprev;
    c->wprev = c->wnext = NULL;
    c->waiting = 0;
}

void consumer_wake(consumer_t *c)
{
    waiter_remove(c);
    st_thread_interrupt(c->thread);
}

static void wake_list(consumer_t **list)
{
    while (*list) consumer_wake(*list);
}

static void wake_all(source_t *s)
{
    wake_list(&s->waiters);
    wake_list(&s->mergers);
}

/* New messages: the one write pass of the stream. Each parked consumer
 * whose on_push takes them there and then stays parked (no scheduler
 * wake-up, no context switch); the others are woken. Their sends go to the
 * kernel together at the end. on_push never yields and never edits the
 * list; a full batch sent mid-walk wakes only consumers already walked
 * (never n), so the walk is safe. */
static void push_all(source_t *s)
{
    consumer_t *n;
    for (consumer_t *c = s->waiters; c; c = n) {
        n = c->wnext;
        /* the walk is a chain of cache misses: the next player's first
         * line loads while this one is queued */
        if (n) __builtin_prefetch(n);
        if (c->on_push && c->on_push(c)) continue;
        consumer_wake(c);
    }
    send_batch_flush(&s->hub->pass_sends);
}

/* Make who the publisher (no event): 0 or RILL_ERR_NOMEM. */
static int set_publisher(source_t *s, void *who, uint32_t cid, const char *param)
{
    char *p = strdup(param ? param : "");
    if (!p) return RILL_ERR_NOMEM;
    free(s->publish_param);
    s->publish_param = p;
    s->publisher = who;
    s->publisher_cid = cid;
    s->publisher_client = NULL;     /* its owner registers it */
    s->heard_ms = rill_now_ms();
    return 0;
}

int source_publish(source_t *s, void *who, uint32_t cid, const char *param)
{
    if (s->publisher) return RILL_ERR_STREAM_BUSY;
    int rc = set_publisher(s, who, cid, param);
    if (rc) return rc;
    s->epoch++;
    wake_all(s);
    for (hub_observer_t *o = s->hub->observers; o; o = o->next)
        if (o->on_publish) o->on_publish(o->ctx, s);
    return 0;
}

int64_t source_silent_ms(const source_t *s, int64_t now_ms)
{
    return s->publisher ? now_ms - s->heard_ms : -1;
}

int source_can_take_over(const source_t *s, int64_t now_ms, int takeover_ms)
{
    /* an edge's upstream has its own silence rule (origin_read_timeout) */
    if (!s->publisher || s->edge_pulled || takeover_ms <= 0) return 0;
    return source_silent_ms(s, now_ms) >= takeover_ms;
}

int source_take_over(source_t *s, void *who, uint32_t cid, const char *param, struct client **old)
{
    struct client *was = s->publisher_client;
    /* The epoch stays: players see no unpublish, and observers (forwarders,
     * hooks' stats) keep their sessions; they only get new media. */
    int rc = set_publisher(s, who, cid, param);
    if (rc) return rc;
    *old = was;
    s->takeovers++;
    return 0;
}

uint32_t source_rebase(const source_t *s, uint32_t first_ts)
{
    return s->have_last_in ? s->last_in_ts + REBASE_STEP_MS - first_ts : 0;
}

void source_unpublish(source_t *s)
{
    if (!s->publisher) return;
    for (hub_observer_t *o = s->hub->observers; o; o = o->next)
        if (o->on_unpublish) o->on_unpublish(o->ctx, s);
    s->publisher = NULL;
    s->publisher_cid = 0;
    s->publisher_client = NULL;
    s->have_last_in = 0;
    s->epoch++;
    /* The next publisher brings its own headers and GOP: drop the old ones so
     * a new player never mixes two sessions. Players' cursors jump to the end. */
    stream_ring_clear(&s->ring);
    stream_tick_free(&s->tick);
    media_msg_unref(s->metadata);
    media_msg_unref(s->video_sh);
    media_msg_unref(s->audio_sh);
    s->metadata = s->video_sh = s->audio_sh = NULL;
    for (consumer_t *c = s->consumers; c; c = c->next) {
        c->cursor = s->ring.end;
        c->wait_keyframe = 0;
    }
    wake_all(s);
}

void source_fail(source_t *s)
{
    s->upstream_failed = 1;
    s->epoch++;
    wake_all(s);
}

/* Correct a timestamp once for every player (time_jitter). */
static uint32_t correct_time(source_t *s, uint32_t ts)
{
    if (s->time_jitter == JITTER_OFF) return ts;
    if (!s->jitter_started) {
        s->jitter_started = 1;
        s->last_pkt_time = ts;
        if (s->time_jitter == JITTER_ZERO) s->last_correct_time = 0;
        return (uint32_t)s->last_correct_time;
    }
    int64_t delta = (int32_t)(ts - s->last_pkt_time);
    if (s->time_jitter == JITTER_FULL) {
        if (delta > JITTER_MAX_MS || delta < -JITTER_MAX_MS) delta = JITTER_DEFAULT_MS;
    }
    /* Never backwards: players expect monotonic timestamps. */
    if (delta < 0) delta = 0;
    s->last_correct_time += delta;
    s->last_pkt_time = ts;
    return (uint32_t)s->last_correct_time;
}

static void replace(media_msg_t **slot, media_msg_t *m)
{
    media_msg_unref(*slot);
    *slot = media_msg_ref(m);
}

static void trim_by_slowest(source_t *s)
{
    uint64_t low = s->ring.end;
    for (consumer_t *c = s->consumers; c; c = c->next)
        if (c->cursor < low) low = c->cursor;
    stream_ring_trim(&s->ring, low);
}

int source_push(source_t *s, uint8_t type, uint32_t timestamp, rill_payload_t *pl)
{
    s->msgs_in++;
    s->bytes_in += pl->size;
    s->heard_ms = rill_now_ms();
    if (type == RTMP_MSG_AUDIO || type == RTMP_MSG_VIDEO) {
        s->last_in_ts = timestamp;
        s->have_last_in = 1;
    }
    media_msg_t *m = media_msg_new(type, correct_time(s, timestamp), pl);
    if (!m) return RILL_ERR_NOMEM;
    if (m->flags & MEDIA_SEQ_HEADER) replace(media_is_video(m) ? &s->video_sh : &s->audio_sh, m);
    else if (m->flags & MEDIA_DATA) replace(&s->metadata, m);
    else if (media_is_video(m)) s->video_frames++;
    /* our own reference for the observers: a trim may drop m from the ring */
    media_msg_ref(m);
    int rc = stream_ring_push(&s->ring, m);
    if (rc == RILL_ERR_GOP_TOO_BIG)
        rill_warn("stream %s/%s/%s: one GOP of %llu messages holds %llu bytes, over queue_bytes %llu: "
                  "ending this publish", s->vhost, s->app, s->stream,
                  (unsigned long long)(s->ring.end - s->ring.start), (unsigned long long)s->ring.bytes,
                  (unsigned long long)s->ring.max_bytes);
    if (rc) {
        media_msg_unref(m);
        return rc;
    }
    if (++s->since_trim >= TRIM_EVERY || media_is_keyframe(m)) {
        s->since_trim = 0;
        trim_by_slowest(s);
    }
    /* an observer that keeps m takes its own reference */
    for (hub_observer_t *o = s->hub->observers; o; o = o->next)
        if (o->on_message) o->on_message(o->ctx, s, m);
    media_msg_unref(m);
    if (++s->unflushed >= SOURCE_PUSH_BATCH) source_flush(s);
    return 0;
}

void source_flush(source_t *s)
{
    if (!s->unflushed) return;
    s->unflushed = 0;
    push_all(s);
}

int source_on_message(source_t *s, uint8_t type, uint32_t timestamp, rill_payload_t *pl)
{
    int rc = source_push(s, type, timestamp, pl);
    source_flush(s);
    return rc;
}

consumer_t *source_add_consumer(source_t *s, st_thread_t thread)
{
    /* on a cache line of its own: the write pass reads the first one of each player */
    consumer_t *c = aligned_alloc(64, (sizeof(*c) + 63) / 64 * 64);
    if (!c) return NULL;
    memset(c, 0, sizeof(*c));
    c->src = s;
    c->thread = thread;
    c->cursor = stream_ring_play_start(&s->ring);
    c->epoch = s->epoch;
    /* Joining without a cached keyframe: wait for one before any video. */
    c->wait_keyframe = !s->ring.has_gop;
    c->next = s->consumers;
    if (s->consumers) s->consumers->prev = c;
    s->consumers = c;
    s->nconsumers++;
    return c;
}

void source_remove_consumer(consumer_t *c)
{
    source_t *s = c->src;
    waiter_remove(c);
    if (c->prev) c->prev->next = c->next;
    else s->consumers = c->next;
    if (c->next) c->next->prev = c->prev;
    s->nconsumers--;
    free(c);
}

int consumer_wait(consumer_t *c, st_netfd_t fd, st_utime_t timeout)
{
    int readable = 0;
    park(c, CONSUMER_WAITING);
    /* a push interrupts this wait (unless the write pass took it) */
    if (fd) readable = st_netfd_poll(fd, POLLIN, timeout) == 0;
    else st_usleep(timeout);
    waiter_remove(c);     /* timed out or readable: still listed */
    return readable;
}

/* One tick: on_clock for each merging consumer that is due, in the order
 * they are due. Never yields, and on_clock never edits the lists, so the
 * walk is safe. Returns the next tick wanted (ms), 0 when nobody is parked. */
static int64_t clock_tick(hub_t *h, int64_t now)
{
    rill_heap_node_t *top;
    while ((top = rill_heap_top(&h->clock_due)) && top->key <= now) {
        consumer_t *c = (consumer_t *)((char *)top - offsetof(consumer_t, clock));
        int64_t at = now < c->park_until && c->on_clock ? c->on_clock(c, now) : 0;
        if (!at) {
            consumer_wake(c);
            continue;
        }
        if (at > c->park_until) at = c->park_until;
        top->key = at > now ? at : now + 1;
        rill_heap_fix(&h->clock_due, top);
    }
    /* a send not taken whole wakes its consumer: out of the heap */
    send_batch_flush(&h->pass_sends);
    top = rill_heap_top(&h->clock_due);
    return top ? top->key : 0;
}

/* Wake the parked consumers whose sockets have input (or closed): what the
 * clock's epoll set holds ready now. Each socket is in the set one-shot: it
 * is reported once, though it stays in the set until its coroutine runs and
 * takes it out. The timer is in the set too (no consumer): read to clear. */
static void clock_wake_ready(hub_t *h)
{
    struct epoll_event ev[WATCH_BATCH];
    int n;
    do {
        n = epoll_wait(st_netfd_fileno(h->clock_watch), ev, WATCH_BATCH, 0);
        for (int i = 0; i < n; i++) {
            consumer_t *c = ev[i].data.ptr;
            if (!c) {
                uint64_t expired;
                if (read(h->clock_timer, &expired, sizeof expired) < 0) { /* already read: nothing due */ }
                continue;
            }
            c->clock_input = 1;
            if (c->waiting) consumer_wake(c);
        }
    } while (n == WATCH_BATCH);
}

/* Arm the timer for h->clock_wake (0: disarm), when it changed. */
static void clock_arm(hub_t *h)
{
    if (h->clock_armed == h->clock_wake) return;
    struct itimerspec its;
    memset(&its, 0, sizeof its);
    its.it_value.tv_sec = h->clock_wake / 1000;
    its.it_value.tv_nsec = (h->clock_wake % 1000) * 1000000;
    if (timerfd_settime(h->clock_timer, TFD_TIMER_ABSTIME, &its, NULL) == 0) h->clock_armed = h->clock_wake;
    else rill_warn("merge clock: timerfd_settime: %s", strerror(errno));
}

/* Ticks when h->clock_wake comes, and wakes the consumers whose input
 * comes in between; it waits on its epoll set alone (the timer is in it).
 * A consumer that parks wanting an earlier tick sets clock_wake and
 * interrupts the wait: that only replans, it walks nobody (players handed
 * back by a tick park again every tick). */
static void clock_main(void *arg)
{
    hub_t *h = arg;
    while (!h->clock.stop) {
        if (h->clock_wake && rill_now_ms() >= h->clock_wake) {
            h->clock_wake = clock_tick(h, rill_now_ms());
            continue;   /* a long tick may have made the next one due */
        }
        clock_arm(h);
        if (st_netfd_poll(h->clock_watch, POLLIN, ST_UTIME_NO_TIMEOUT) == 0) clock_wake_ready(h);
    }
}

/* The clock, its epoll set and its timer, started by the first consumer
 * that parks. */
static int clock_start(hub_t *h)
{
    if (h->clock.thread) return 0;
    if (!h->clock_watch) {
        int fd = epoll_create1(EPOLL_CLOEXEC);
        if (fd < 0) return RILL_ERR_SYSTEM;
        h->clock_watch = st_netfd_open(fd);
        if (!h->clock_watch) {
            close(fd);
            return RILL_ERR_NOMEM;
        }
    }
    if (h->clock_timer < 0) {
        int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);  /* rill_now_ms's clock */
        if (tfd < 0) return RILL_ERR_SYSTEM;
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
        if (epoll_ctl(st_netfd_fileno(h->clock_watch), EPOLL_CTL_ADD, tfd, &ev) != 0) {
            close(tfd);
            return RILL_ERR_SYSTEM;
        }
        h->clock_timer = tfd;
        h->clock_armed = 0;
    }
    return task_start(&h->clock, clock_main, h, NULL) != 0 ? RILL_ERR_NOMEM : 0;
}

/* Park in list `how` with fd watched by the clock and on its ticks: from
 * first_ms when it is not 0, and at the bound (timeout) in any case. */
static int clock_park(consumer_t *c, int how, int fd, int64_t first_ms, st_utime_t timeout)
{
    hub_t *h = c->src->hub;
    int rc = clock_start(h);
    if (rc) return rc;
    struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT, .data.ptr = c };
    if (epoll_ctl(st_netfd_fileno(h->clock_watch), EPOLL_CTL_ADD, fd, &ev) != 0) return RILL_ERR_SYSTEM;
    int64_t bound = rill_now_ms() + (int64_t)(timeout / 1000);
    c->park_until = (bound + PARK_ROUND_MS - 1) / PARK_ROUND_MS * PARK_ROUND_MS;
    int64_t key = first_ms && first_ms < c->park_until ? first_ms : c->park_until;
    c->clock.key = key;
    if (rill_heap_push(&h->clock_due, &c->clock) != 0) {
        epoll_ctl(st_netfd_fileno(h->clock_watch), EPOLL_CTL_DEL, fd, NULL);
        return RILL_ERR_NOMEM;
    }
    c->clock_input = 0;
    park(c, how);
    /* earlier than the clock's plan (or it has none): it replans */
    if (!h->clock_wake || key < h->clock_wake) {
        h->clock_wake = key;
        st_thread_interrupt(h->clock.thread);
    }
    st_usleep(timeout + PARK_LAST_RESORT);
    waiter_remove(c);     /* timed out or interrupted: still listed */
    epoll_ctl(st_netfd_fileno(h->clock_watch), EPOLL_CTL_DEL, fd, NULL);
    return c->clock_input;
}

int consumer_merge_wait(consumer_t *c, int fd, int64_t first_ms, st_utime_t timeout)
{
    return clock_park(c, CONSUMER_MERGING, fd, first_ms, timeout);
}

int consumer_wait_clocked(consumer_t *c, int fd, int64_t first_ms, st_utime_t timeout)
{
    return clock_park(c, CONSUMER_WAITING, fd, first_ms, timeout);
}

void consumer_clock_at(consumer_t *c, int64_t at_ms)
{
    hub_t *h = c->src->hub;
    if (at_ms > c->park_until) at_ms = c->park_until;
    c->clock.key = at_ms;
    rill_heap_fix(&h->clock_due, &c->clock);
    /* earlier than the clock's plan: it replans (as clock_park) */
    if (!h->clock_wake || at_ms < h->clock_wake) {
        h->clock_wake = at_ms;
        st_thread_interrupt(h->clock.thread);
    }
}

int consumer_sync(consumer_t *c)
{
    int cut = stream_ring_fix_cursor(&c->src->ring, &c->cursor);
    if (cut) {
        c->cuts++;
        if (c->cursor == c->src->ring.end) c->wait_keyframe = 1;
    }
    return cut;
}
