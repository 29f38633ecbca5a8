/* One stream's recent messages, held once for all its players. Players do
 * not have queues of their own: each keeps a cursor (a sequence number) into
 * this ring, so a message costs one reference whatever the number of players.
 *
 * The ring keeps the current GOP (from the last video keyframe) when the GOP
 * cache is on, and whatever the slowest player still needs, but never more
 * than max_ms of media (queue_length) nor, when max_bytes is set, more than
 * max_bytes of payload (queue_bytes): over it, the oldest GOP goes. The
 * duration bound alone does not hold memory: a publisher repeating one
 * timestamp has no duration at all. A player whose cursor has fallen off
 * the front is cut forward to the next keyframe. No state-threads here, so it
 * is tested directly. */
#ifndef STREAM_RING_H
#define STREAM_RING_H

#include <stdint.h>
#include "media_msg.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct stream_ring {
    media_msg_t **slots;
    uint32_t cap;               /* power of two */
    uint64_t start;             /* oldest held sequence number */
    uint64_t end;               /* next sequence number to push */
    uint64_t gop_start;         /* seq of the last video keyframe; == end when none held */
    int has_gop;
    int gop_cache;
    uint32_t max_ms;            /* media duration bound */
    uint64_t bytes;             /* payload bytes held */
    uint64_t max_bytes;         /* payload bound (queue_bytes); 0: none */
    uint64_t nkeys;             /* video keyframes held */
    uint64_t nframes;           /* video frames held (not sequence headers) */
} stream_ring_t;

void stream_ring_init(stream_ring_t *r, int gop_cache, uint32_t max_ms);
void stream_ring_free(stream_ring_t *r);
/* New bounds for a ring in use (a reload): they apply from the next push;
 * a GOP cache turned off is dropped at once, one turned on starts at the
 * next keyframe. */
void stream_ring_configure(stream_ring_t *r, int gop_cache, uint32_t max_ms, uint64_t max_bytes);
/* Drop everything (publisher left); cursors will be moved to end. */
void stream_ring_clear(stream_ring_t *r);
/* Append a message (the ring takes the reference). RILL_ERR_NOMEM on failure
 * (the reference is released). Trims the front by duration, then by bytes:
 * whole GOPs from the oldest (audio and data alone go message by message).
 * RILL_ERR_GOP_TOO_BIG when the one GOP left is still over max_bytes: the
 * message stays held and the ring stays valid, but the publish should end. */
int stream_ring_push(stream_ring_t *r, media_msg_t *m);
/* Free messages before keep_from, except the cached GOP. */
void stream_ring_trim(stream_ring_t *r, uint64_t keep_from);

static inline media_msg_t *stream_ring_at(const stream_ring_t *r, uint64_t seq)
{ return r->slots[seq & (r->cap - 1)]; }
/* Where a new player starts: the cached GOP's keyframe, else the live end. */
uint64_t stream_ring_play_start(const stream_ring_t *r);
/* Make a cursor valid. When it fell off the front, move it to the first
 * keyframe held (or the end) and return 1: the player was cut. */
int stream_ring_fix_cursor(const stream_ring_t *r, uint64_t *cursor);
/* Media duration held, in ms. */
uint32_t stream_ring_duration(const stream_ring_t *r);

#ifdef __cplusplus
}
#endif
#endif
