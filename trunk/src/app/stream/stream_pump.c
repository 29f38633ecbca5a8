#include "stream_pump.h"
#include "rill_error.h"
#include "rill_log.h"
#include "net.h"
#include "rill_time.h"
#include "rtmp_chunk_headers.h"
#include "rtmp_msg.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BATCH_IOV       512                 /* iovecs per writev, under IOV_MAX */
#define BATCH_MSGS      (BATCH_IOV / 2)
#define START_IOV       8                   /* grown on demand: a player at the live edge needs one */
#define START_MSGS      8
#define IDLE_WAIT       (1000 * 1000LL)     /* nothing to send: re-check this often */
#define MW_MSGS_WAIT_MS 100                 /* mw_msgs never holds messages longer */
/* A merging player that sleeps on its own timer (not parked on the merge
 * clock, which watches input) looks for input (Acknowledgements, pause,
 * deleteStream) this often, not on every tick: each look is a syscall that
 * also takes the socket's lock. A player that closed is noticed sooner, by
 * its next write's error. */
#define PEEK_EVERY_MS   1000
/* A player parked for the merge clock is woken by it (a tick, its input), by
 * a publish event or by a stop; this is only a bound on a wait nobody ends. */
#define MERGE_PARK_MAX  (10 * 1000 * 1000LL)
#define MERGE_PHASES    8                   /* grids merging players are dealt over (next_due) */

static int pump_init(stream_pump_t *p, rtmp_session_t *s, st_netfd_t fd, uint64_t *out_bytes, consumer_t *co,
                     int mw_latency, int mw_msgs, uint32_t stream_id)
{
    memset(p, 0, sizeof(*p));
    p->s = s;
    p->fd = fd;
    p->fdno = st_netfd_fileno(fd);
    p->out_bytes = out_bytes;
    p->co = co;
    p->mw_latency = mw_latency;
    p->mw_msgs = mw_msgs;
    if (mw_latency > 0) {
        static unsigned dealt;
        p->phase = (int64_t)(dealt++ % MERGE_PHASES) * mw_latency / MERGE_PHASES;
    }
    p->stream_id = stream_id;
    p->send_timeout = 30 * 1000000LL;
    p->what = "player";
    p->cap = START_MSGS;
    p->iov_cap = START_IOV;
    p->msgs = malloc(sizeof(*p->msgs) * START_MSGS);
    p->iov = malloc(sizeof(*p->iov) * START_IOV);
    /* Allocated at the full batch size, never reallocated: queued iovecs point into it. */
    if (stream_id != 1) p->hdrs = malloc(sizeof(*p->hdrs) * BATCH_MSGS);
    if (!p->msgs || !p->iov || (stream_id != 1 && !p->hdrs)) {
        stream_pump_free(p);
        return RILL_ERR_NOMEM;
    }
    return 0;
}

int stream_pump_init_rtmp(stream_pump_t *p, rtmp_session_t *s, consumer_t *co, int mw_latency, int mw_msgs,
                          uint32_t stream_id)
{
    return pump_init(p, s, s->fd, &s->out_bytes, co, mw_latency, mw_msgs, stream_id);
}

int stream_pump_init_flv(stream_pump_t *p, st_netfd_t fd, uint64_t *out_bytes, consumer_t *co,
                         int mw_latency, int mw_msgs)
{
    int rc = pump_init(p, NULL, fd, out_bytes, co, mw_latency, mw_msgs, 1);
    p->what = "flv player";
    return rc;
}

/* Write iovecs fully and count them. This is where the pump yields: any
 * other coroutine may run, and the ring may drop or clear what the cursor
 * pointed at (see send_all). */
static int write_iov(stream_pump_t *p, int n)
{
    p->writes++;
    size_t total = 0;
    for (int i = 0; i < n; i++) total += p->iov[i].iov_len;
    if (st_writev(p->fd, p->iov, n, p->send_timeout) != (ssize_t)total) return net_st_error();
    *p->out_bytes += total;
    p->co->src->bytes_out += total;     /* the stream's send_bytes in the API */
    return 0;
}

/* Let go of the batch's references and iovecs, written or not. */
static void drop_batch(stream_pump_t *p)
{
    for (int i = 0; i < p->n; i++) media_msg_unref(p->msgs[i]);
    p->n = 0;
    rill_payload_unref(p->tick);
    p->tick = NULL;
    p->niov = 0;
}

static int flush(stream_pump_t *p)
{
    int rc = 0;
    if (p->niov > 0) rc = write_iov(p, p->niov);
    drop_batch(p);
    return rc;
}

void stream_pump_free(stream_pump_t *p)
{
    drop_batch(p);
    free(p->msgs);
    free(p->iov);
    free(p->hdrs);
    p->msgs = NULL;
    p->iov = NULL;
    p->hdrs = NULL;
}

/* Room for k more iovecs, writing out what is queued when there is not. */
static int need_iov(stream_pump_t *p, int k)
{
    if (p->niov + k <= p->iov_cap) return 0;
    if (p->iov_cap < BATCH_IOV) {
        struct iovec *v = realloc(p->iov, sizeof(*v) * BATCH_IOV);
        if (v) {
            p->iov = v;
            p->iov_cap = BATCH_IOV;
            return 0;
        }
    }
    int rc = write_iov(p, p->niov);
    p->niov = 0;
    return rc;
}

static void push_iov(stream_pump_t *p, const void *base, size_t len)
{
    p->iov[p->niov].iov_base = (void *)base;
    p->iov[p->niov++].iov_len = len;
}

/* Only the array of references grows; nothing queued points into it. */
static int grow_msgs(stream_pump_t *p)
{
    media_msg_t **m = realloc(p->msgs, sizeof(*m) * BATCH_MSGS);
    if (!m) return RILL_ERR_NOMEM;
    p->msgs = m;
    p->cap = BATCH_MSGS;
    return 0;
}

/* Queue one message. The caller hands over a reference it owns: the batch
 * keeps it until its bytes are written, since the ring may drop the message
 * while a write of this batch blocks. Writing out a full batch (a yield)
 * happens before the reference is stored, so the message is never one the
 * pump does not own. */
static int add(stream_pump_t *p, media_msg_t *m)
{
    if (p->n == p->cap && !(p->cap < BATCH_MSGS && grow_msgs(p) == 0)) {
        int rc = flush(p);
        if (rc) {
            media_msg_unref(m);
            return rc;
        }
    }
    uint8_t *slot = p->hdrs ? p->hdrs[p->n] : NULL;
    p->msgs[p->n++] = m;
    if (!p->s) {
        /* FLV: tag header, payload, previous tag size; all shared, nothing copied. */
        int rc = need_iov(p, 3);
        if (rc) return rc;
        push_iov(p, m->flv_tag, sizeof m->flv_tag);
        push_iov(p, m->payload->data, m->payload->size);
        push_iov(p, m->flv_prev, sizeof m->flv_prev);
        return 0;
    }
    const uint8_t *h0 = m->hdr0, *h3 = m->hdr3;
    size_t h0_len = m->hdr0_len, h3_len = m->hdr3_len;
    if (slot) {
        /* a peer that gave another stream id: headers of our own for it, in
         * this message's slot of an array that never moves */
        rtmp_chunk_headers_t h;
        rtmp_chunk_build_headers(m->hdr0[0] & 0x3f, m->type, p->stream_id, m->timestamp, m->payload->size, &h);
        memcpy(slot, h.hdr0, h.hdr0_len);
        memcpy(slot + h.hdr0_len, h.hdr3, h.hdr3_len);
        h0 = slot;
        h0_len = h.hdr0_len;
        h3 = slot + h.hdr0_len;
        h3_len = h.hdr3_len;
    }
    uint32_t cs = p->s->out_chunk_size;
    uint32_t size = m->payload->size;
    uint32_t chunks = rtmp_chunk_count(size, cs);
    uint32_t off = 0;
    for (uint32_t i = 0; i < chunks; i++) {
        int rc = need_iov(p, 2);
        if (rc) return rc;
        uint32_t len = size - off < cs ? size - off : cs;
        push_iov(p, i ? h3 : h0, i ? h3_len : h0_len);
        push_iov(p, m->payload->data + off, len);
        off += len;
    }
    return 0;
}

int stream_pump_queue_bytes(stream_pump_t *p, const void *data, size_t len)
{
    int rc = need_iov(p, 1);
    if (!rc) push_iov(p, data, len);
    return rc;
}

int stream_pump_queue_headers(stream_pump_t *p)
{
    source_t *s = p->co->src;
    /* referenced up front: an add that must write (no memory for more
     * iovecs) yields, and a republish meanwhile may free the source's */
    media_msg_t *hdrs[3] = { s->metadata, s->video_sh, s->audio_sh };
    for (int i = 0; i < 3; i++)
        if (hdrs[i]) media_msg_ref(hdrs[i]);
    int rc = 0;
    for (int i = 0; i < 3; i++) {
        if (!hdrs[i]) continue;
        if (!rc) rc = add(p, hdrs[i]);     /* takes the reference, written or not */
        else media_msg_unref(hdrs[i]);
    }
    return rc;
}

/* After a cut, video is dropped until a keyframe so the decoder never sees
 * frames that reference what was skipped. */
static int skip_for_keyframe(consumer_t *co, const media_msg_t *m)
{
    if (!co->wait_keyframe || !media_is_video(m) || (m->flags & MEDIA_SEQ_HEADER)) return 0;
    if (media_is_keyframe(m)) {
        co->wait_keyframe = 0;
        return 0;
    }
    return 1;
}

static void sync_cursor(stream_pump_t *p)
{
    consumer_t *co = p->co;
    source_t *s = co->src;
    if (consumer_sync(co))
        rill_warn("%s fell behind %s/%s/%s: cut to keyframe (%llu cuts)", p->what, s->vhost, s->app, s->stream,
                  (unsigned long long)co->cuts);
}

/* Back to the starting sizes once a player is at the live edge: a new
 * player's first rounds (its GOP) grow the arrays to the full batch, about
 * 10 KB it would otherwise keep while one iovec is all it needs. Only with
 * nothing queued, so no iovec points into what is freed. */
static void shrink_batch(stream_pump_t *p)
{
    if (p->niov || p->n || (p->iov_cap <= START_IOV && p->cap <= START_MSGS)) return;
    struct iovec *v = malloc(sizeof(*v) * START_IOV);
    media_msg_t **m = malloc(sizeof(*m) * START_MSGS);
    if (!v || !m) {
        free(v);
        free(m);
        return;
    }
    free(p->iov);
    free(p->msgs);
    p->iov = v;
    p->msgs = m;
    p->iov_cap = START_IOV;
    p->cap = START_MSGS;
}

/* A player at the live edge writes its messages as a slice of the stream's
 * tick buffer (stream_tick.h): one iovec. Not with bytes already queued (a
 * new player's headers), after a cut (video is skipped to a keyframe), nor
 * for a peer with another stream id (its headers differ). The batch holds a
 * reference to the buffer across the write, since a rebuild by another
 * player drops the cache's. Returns 1 when it queued the slice. */
static int queue_tick(stream_pump_t *p)
{
    consumer_t *co = p->co;
    source_t *s = co->src;
    if (p->no_tick || p->niov || p->n || co->wait_keyframe || p->stream_id != 1) return 0;
    size_t off, len;
    uint32_t cs = p->s ? p->s->out_chunk_size : STREAM_TICK_FLV;
    rill_payload_t *b = stream_tick_get(&s->tick, &s->ring, co->cursor, cs, &off, &len);
    if (!b) return 0;
    shrink_batch(p);
    p->tick = b;
    push_iov(p, b->data + off, len);
    co->cursor = s->ring.end;
    p->tick_writes++;
    return 1;
}

/* Whether the stream's passes (the write pass of each push, the merge
 * clock) may write this player from the tick buffer while its coroutine
 * stays parked: it has nothing else to do first (a cut, a publish event to
 * tell, input to read, a stop, a pause, bytes of its own queued) and its
 * messages are the shared ones (stream id 1). */
static int pass_ok(const stream_pump_t *p)
{
    const consumer_t *co = p->co;
    const source_t *s = co->src;
    return !p->no_pass && !p->no_tick && !p->pass_buf && !*p->stop && !p->paused && !p->niov && !p->n &&
           !co->wait_keyframe &&
           p->stream_id == 1 && co->epoch == s->epoch && co->cursor >= s->ring.start &&
           !(p->s && rtmp_session_has_buffered(p->s));
}

/* The pass's send to this player came back (send_batch_done_fn), before
 * the pass or the tick that queued it yields. All of it taken: the player
 * stays parked. Part of it: the rest is queued, with the buffer's reference,
 * for the coroutine, woken, to write waiting for POLLOUT (the cursor is
 * already past those messages). None (it would block, or an error its own
 * write will meet): woken to go on as if the pass had not been. */
static void pass_sent(void *ctx, ssize_t w)
{
    stream_pump_t *p = ctx;
    consumer_t *co = p->co;
    source_t *s = co->src;
    rill_payload_t *b = p->pass_buf;
    p->pass_buf = NULL;
    if (w <= 0) {
        rill_payload_unref(b);
        if (p->mw_latency > 0) p->last_write = p->pass_prev_write;     /* still due */
        consumer_wake(co);
        return;
    }
    *p->out_bytes += (uint64_t)w;
    s->bytes_out += (uint64_t)w;
    co->cursor = p->pass_end;
    p->tick_writes++;
    p->pass_writes++;
    if ((size_t)w == p->pass_len) {
        rill_payload_unref(b);
        return;
    }
    p->pass_handbacks++;
    p->tick = b;
    push_iov(p, b->data + p->pass_off + w, p->pass_len - (size_t)w);
    consumer_wake(co);
}

/* Queue the player's new messages, a slice of the tick buffer, in the hub's
 * pass_sends: sent without blocking when the pass or tick ends (pass_sent).
 * 1 when queued, 0 when the coroutine must take over. Never yields. */
static int pass_write(stream_pump_t *p)
{
    consumer_t *co = p->co;
    source_t *s = co->src;
    size_t off, len;
    rill_payload_t *b = stream_tick_get(&s->tick, &s->ring, co->cursor, p->pass_cs, &off, &len);
    if (!b) return 0;
    if (len > UINT32_MAX) {
        rill_payload_unref(b);
        return 0;
    }
    p->pass_buf = b;
    p->pass_off = (uint32_t)off;
    p->pass_len = (uint32_t)len;
    p->pass_end = s->ring.end;
    send_batch_add(&s->hub->pass_sends, p->fdno, b->data + off, len, p, pass_sent);
    return 1;
}

/* mw_msgs with mw_latency 0: a player parked for the pass with fewer new
 * messages than mw_msgs stays parked, and they wait for more, or until
 * MW_MSGS_WAIT_MS after the first of them came, when the clock's tick writes
 * what there is (hold_due). Before, each such message woke the player only
 * for it to wait again. Never yields. */
static int pass_hold(stream_pump_t *p)
{
    if (!p->hold_until) {
        p->hold_until = rill_now_ms() + MW_MSGS_WAIT_MS;
        consumer_clock_at(p->co, p->hold_until);
    }
    return 1;
}

/* The clock's tick for a low-latency player (pump_on_clock): its held
 * messages' time came. Returns as pump_on_clock (INT64_MAX: no tick wanted,
 * the clock keeps only the wait's bound). */
static int64_t hold_due(stream_pump_t *p, int64_t now)
{
    if (!p->hold_until) return INT64_MAX;       /* none held: written by a pass since */
    if (now < p->hold_until) return p->hold_until;
    p->hold_until = 0;
    if (consumer_available(p->co) == 0) return INT64_MAX;
    return pass_write(p) ? INT64_MAX : 0;
}

/* The stream's write pass (consumer_t.on_push), in the publisher's
 * coroutine, set only while this player is parked at the live edge with
 * nothing of its own to do (park_clocked checked pass_ok): a player that
 * writes at once (mw_latency 0) gets the new messages there, and is not
 * woken (returns 1). What park_clocked checked only the player's own
 * coroutine changes, or an event that wakes it (a publish, an unpublish);
 * so this looks at the few things a push changes, and touches as little
 * of the player as it can: it runs for every player on every message. */
static int pump_on_push(consumer_t *co)
{
    stream_pump_t *p = co->owner;
    /* Not *p->stop: a stop (a kick, the server stopping) interrupts the
     * coroutine, which leaves the list when it runs; until then the pass
     * may send it what comes, as to a player not yet stopped. That flag
     * sits in the client, one more cache miss per player per message
     * (perf at 2000 players: rill 12.3 % of the samples with it, 9.9 %
     * without). */
    if (p->pass_buf || co->cursor < co->src->ring.start) return 0;
    if (p->mw_msgs) {
        if (consumer_available(co) < (uint64_t)p->mw_msgs) return pass_hold(p);
        p->hold_until = 0;      /* its tick stays; hold_due finds nothing held then */
    }
    return pass_write(p);
}

/* Send everything the ring held past the cursor when the round began. The
 * yield rule: a write may block, and while it does the publisher pushes,
 * trims and may clear the ring. So each message is referenced before it is
 * queued (the batch owns it, not the ring), and after any write the cursor
 * is checked again: it is cut forward to a keyframe if the ring dropped what
 * it pointed at, and the round ends if the publish changed (on_tick tells the
 * player first). */
static int send_all(stream_pump_t *p)
{
    consumer_t *co = p->co;
    source_t *s = co->src;
    uint32_t epoch = s->epoch;
    sync_cursor(p);
    if (queue_tick(p)) return flush(p);
    uint64_t end = s->ring.end;
    while (co->cursor < end) {
        media_msg_t *m = stream_ring_at(&s->ring, co->cursor++);
        if (skip_for_keyframe(co, m)) continue;
        uint64_t writes = p->writes;
        int rc = add(p, media_msg_ref(m));
        if (rc) return rc;
        if (p->writes != writes) {
            if (s->epoch != epoch) break;
            sync_cursor(p);
        }
    }
    return flush(p);
}

/* Read whatever the peer sent: for RTMP control is applied by the session
 * and the rest goes to on_msg; an HTTP-FLV client sends nothing that
 * matters, so its bytes are only read to notice it closing. */
static int read_incoming(stream_pump_t *p)
{
    if (!p->s) {
        char junk[512];
        ssize_t r = st_read(p->fd, junk, sizeof junk, 0);
        if (r == 0) return RILL_ERR_EOF;
        if (r < 0) return errno == ETIME ? 0 : net_st_error();
        return 0;
    }
    for (;;) {
        rtmp_msg_t m;
        int rc = rtmp_session_read(p->s, &m, 0);
        if (rc == RILL_ERR_TIMEOUT) return 0;
        if (rc) return rc;
        rc = p->on_msg ? p->on_msg(p, &m, p->ctx) : 0;
        rill_payload_unref(m.payload);
        if (rc) return rc;
    }
}

/* Whether the peer sent anything (or closed) since the last read, without
 * waiting: one recv() that peeks. A read through state-threads that finds
 * nothing parks the coroutine in the poll set for a scheduler pass even with
 * no timeout: a context switch and a poll() entry per merging player, when
 * players send an Acknowledgement only every few seconds. */
static int peer_sent(stream_pump_t *p)
{
    char b;
    ssize_t r = recv(p->fdno, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    return r >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
}

/* When a merging player's next batch is due: the last point of its
 * mw_latency grid at or before last_write + mw_latency. Never after last_write
 * + mw_latency: a message that came just after a write waits at most
 * mw_latency, and a player that wrote a little after a grid point (the
 * tick's burst) is due on the next one, not one later. Players share
 * MERGE_PHASES grids, each shifted by mw_latency / MERGE_PHASES (pump_init
 * deals them out in turn): one grid for all would make the last player of a
 * tick's pass wait for the writes of every other (40 ms for 2000 players at
 * 1 Mbit/s), while a few grids keep the clock's ticks few. */
static int64_t next_due(const stream_pump_t *p, int64_t last_write)
{
    int64_t m = p->mw_latency;
    return (last_write - p->phase + m) / m * m + p->phase;
}

/* The first point of its grid after now: a merging player with nothing to
 * send at its due point writes what came by the next one. */
static int64_t next_point(const stream_pump_t *p, int64_t now)
{
    int64_t m = p->mw_latency;
    return ((now - p->phase) / m + 1) * m + p->phase;
}

/* The merge clock's tick (consumer_t.on_clock), in the clock's coroutine,
 * for a merging player parked on it: its batch, when due, is written from
 * the tick buffer, so a merging player at the live edge costs no wake-up
 * per tick (the clock watches its input). Returns when it next needs a
 * tick, 0 to wake the coroutine (anything else to do, a write the socket
 * did not take whole). Never yields. */
static int64_t pump_on_clock(consumer_t *co, int64_t now)
{
    stream_pump_t *p = co->owner;
    if (!pass_ok(p) || !co->src->publisher) return 0;
    if (p->mw_latency == 0) return hold_due(p, now);
    int64_t due = next_due(p, p->last_write);
    if (now < due) return due;
    if (consumer_available(co) == 0) return next_point(p, now);
    if (!pass_write(p)) return 0;
    /* a send the socket takes none of puts it back (pass_sent) and wakes
     * the coroutine, which writes waiting for POLLOUT under send_timeout */
    p->pass_prev_write = p->last_write;
    p->last_write = now;
    return next_due(p, now);
}

/* A merging player at the live edge parks for the merge clock (hub.h)
 * instead of sleeping to its own due point. Returns -1 when it must wait
 * on its own (something to do first; no publisher: an HTTP-FLV player
 * counts the time since the unpublish on its own wake-ups; no clock), else
 * it parked and is awake again: 1 when its socket has input. */
static int park_for_clock(stream_pump_t *p, int64_t now, int64_t due_at)
{
    if (!pass_ok(p) || !p->co->src->publisher) return -1;
    int64_t first = now < due_at ? due_at : next_point(p, now);
    shrink_batch(p);
    p->pass_cs = p->s ? p->s->out_chunk_size : STREAM_TICK_FLV;
    int rc = consumer_merge_wait(p->co, p->fdno, first, MERGE_PARK_MAX);
    return rc < 0 ? -1 : rc;
}

/* A player the push's pass writes (mw_latency 0) parks at the live edge
 * with its input watched by the merge clock, out of the poll set; hold (ms,
 * 0: none) when it holds messages for mw_msgs until then. Returns as
 * park_for_clock. */
static int park_clocked(stream_pump_t *p, int64_t hold)
{
    if (p->mw_latency > 0 || !pass_ok(p) || !p->co->src->publisher) return -1;
    shrink_batch(p);
    p->pass_cs = p->s ? p->s->out_chunk_size : STREAM_TICK_FLV;
    p->hold_until = hold;
    p->co->on_push = pump_on_push;
    int rc = consumer_wait_clocked(p->co, p->fdno, hold, MERGE_PARK_MAX);
    p->co->on_push = NULL;
    p->hold_until = 0;          /* awake: the loop decides again */
    return rc < 0 ? -1 : rc;
}

/* The rest of a pass's partial send (pass_sent) goes out before anything
 * else is written to the player: a status (on_tick) or a reply to its input
 * (read_incoming) in the middle of it would cut an RTMP chunk in two. */
static int finish_handback(stream_pump_t *p)
{
    return p->tick && p->niov > 0 ? flush(p) : 0;
}

int stream_pump_run(stream_pump_t *p, const int *stop)
{
    int rc = 0;
    p->stop = stop;
    p->last_write = 0;
    p->co->on_push = NULL;     /* set while parked for it (park_clocked) */
    p->co->on_clock = pump_on_clock;
    p->co->owner = p;
    while (!rc) {
        if (*stop) {
            rc = RILL_ERR_INTERRUPTED;
            break;
        }
        if ((rc = finish_handback(p)) != 0) break;
        if (p->on_tick && (rc = p->on_tick(p, p->ctx)) != 0) break;
        uint64_t avail = p->paused ? 0 : consumer_available(p->co);
        int64_t now = rill_now_ms();
        int64_t elapsed = now - p->last_write;
        int64_t due_at = p->mw_latency > 0 ? next_due(p, p->last_write) : 0;
        int due;
        if (p->mw_latency > 0) due = avail > 0 && now >= due_at;
        else due = avail > 0 && (avail >= (uint64_t)p->mw_msgs || elapsed >= MW_MSGS_WAIT_MS);
        if (due || p->n > 0 || p->niov > 0) {
            rc = send_all(p);
            p->last_write = rill_now_ms();
            continue;
        }
        int readable;
        p->waits++;
        if (p->paused) {
            readable = st_netfd_poll(p->fd, POLLIN, IDLE_WAIT) == 0;
        } else if (p->mw_latency > 0 && (readable = park_for_clock(p, now, due_at)) >= 0) {
            /* parked on the clock */
        } else if (p->mw_latency > 0 && now < due_at) {
            /* Merging: sleep out the rest of mw_latency on a timer, not in
             * poll(): with state-threads' poll backend every fd waited on
             * costs every scheduler pass, and thousands of merging players
             * would all be in that set. Input is read without waiting after. */
            st_usleep((st_utime_t)(due_at - now) * 1000);
            readable = 0;
            if (rill_now_ms() >= p->next_peek) {
                p->next_peek = rill_now_ms() + PEEK_EVERY_MS;
                readable = peer_sent(p);
            }
        } else if (avail > 0 && (readable = park_clocked(p, p->last_write + MW_MSGS_WAIT_MS)) >= 0) {
            /* fewer than mw_msgs: held, parked, for more or until then */
        } else if (avail > 0) {
            readable = consumer_wait(p->co, p->fd, (st_utime_t)(MW_MSGS_WAIT_MS - elapsed) * 1000);
        } else if ((readable = park_clocked(p, 0)) >= 0) {
            /* parked, input watched by the clock */
        } else {
            readable = consumer_wait(p->co, p->fd, IDLE_WAIT);
        }
        if (readable || (p->s && rtmp_session_has_buffered(p->s))) {
            rc = finish_handback(p);
            if (!rc) rc = read_incoming(p);
        }
    }
    /* What is left of a batch after an error, a stop or an interrupt is not
     * written: a peer that stopped reading would hold a stopping server for
     * another send timeout. */
    p->co->on_push = NULL;
    p->co->on_clock = NULL;
    p->co->owner = NULL;
    drop_batch(p);
    if (rc == 1) rc = 0;
    if (rc && !p->reason) p->reason = rc == RILL_ERR_EOF ? "peer closed" : rill_strerror(rc);
    return rc;
}
