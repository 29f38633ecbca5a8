/* A stream's tick, framed once: the messages at the end of a source's ring
 * laid out as the bytes a player is sent (RTMP chunks at one chunk size, or
 * FLV tags) in one refcounted buffer that every player at the live edge
 * writes from. A player costs one iovec instead of two per chunk, and the
 * framing is done once per tick instead of once per player.
 *
 * The buffer holds messages [start, end) of the ring and where each begins,
 * so a player whose cursor is anywhere in that range writes its suffix. It is
 * rebuilt when the ring's end moved or a player's cursor is before start.
 * A player behind the live edge (more than TICK_MAX_MSGS or TICK_MAX_BYTES
 * to send) takes the per-message path instead.
 *
 * The yield rule: a writer takes its own reference (stream_tick_get returns
 * one) and holds it across the write; a rebuild only drops the cache's. No
 * state-threads here, so it is tested directly. */
#ifndef STREAM_TICK_H
#define STREAM_TICK_H

#include <stddef.h>
#include <stdint.h>
#include "rill_payload.h"
#include "stream_ring.h"

#ifdef __cplusplus
extern "C" {
#endif

#define STREAM_TICK_FLV       0     /* chunk_size 0: FLV tags */
#define STREAM_TICK_SLOTS     3     /* framings cached at once: FLV, players' chunk size, a forwarder's */
#define STREAM_TICK_MAX_MSGS  512
#define STREAM_TICK_MAX_BYTES (1u << 20)

typedef struct stream_tick_slot {
    rill_payload_t *buf;        /* the framed bytes (the cache's reference); NULL: empty */
    uint64_t start, end;        /* ring sequence numbers it holds */
    uint32_t chunk_size;        /* RTMP chunk size it is framed for; STREAM_TICK_FLV */
    uint32_t *offs;             /* offs[i]: where message start + i begins in buf */
    uint32_t offs_cap;
    uint64_t used;              /* when it was last built or used (a counter): the oldest goes */
} stream_tick_slot_t;

typedef struct stream_tick {
    stream_tick_slot_t slots[STREAM_TICK_SLOTS];
    uint64_t clock;
    uint64_t builds;            /* buffers framed (tests, stats) */
    uint64_t hits;              /* writers served */
} stream_tick_t;

void stream_tick_init(stream_tick_t *t);
/* Drop every cached buffer (writers keep theirs). */
void stream_tick_free(stream_tick_t *t);
/* The bytes of messages [cursor, r->end) framed for chunk_size (or FLV):
 * a new reference to the shared buffer, with the slice in *off and *len.
 * NULL when the writer should take the per-message path: cursor outside
 * the ring, nothing to send, too much to send, or no memory. */
rill_payload_t *stream_tick_get(stream_tick_t *t, const stream_ring_t *r, uint64_t cursor, uint32_t chunk_size,
                                size_t *off, size_t *len);

#ifdef __cplusplus
}
#endif
#endif
