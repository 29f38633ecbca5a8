#include "stream_ring.h"
#include "rill_error.h"

#include <stdlib.h>
#include <string.h>

void stream_ring_init(stream_ring_t *r, int gop_cache, uint32_t max_ms)
{
    memset(r, 0, sizeof(*r));
    r->gop_cache = gop_cache;
    r->max_ms = max_ms;
}

/* Video that needs a keyframe before it: what a GOP is made of. */
static int is_frame(const media_msg_t *m)
{
    return media_is_video(m) && !(m->flags & MEDIA_SEQ_HEADER);
}

static void count(stream_ring_t *r, const media_msg_t *m, int64_t d)
{
    r->bytes += (uint64_t)(d * (int64_t)m->payload->size);
    if (media_is_keyframe(m)) r->nkeys += (uint64_t)d;
    if (is_frame(m)) r->nframes += (uint64_t)d;
}

static void drop_front(stream_ring_t *r)
{
    media_msg_t *m = stream_ring_at(r, r->start);
    r->slots[r->start & (r->cap - 1)] = NULL;
    count(r, m, -1);
    media_msg_unref(m);
    r->start++;
    if (r->has_gop && r->gop_start < r->start) {
        r->has_gop = 0;
        r->gop_start = r->end;
    }
}

void stream_ring_clear(stream_ring_t *r)
{
    while (r->start < r->end) drop_front(r);
    r->has_gop = 0;
    r->gop_start = r->end;
}

void stream_ring_free(stream_ring_t *r)
{
    stream_ring_clear(r);
    free(r->slots);
    r->slots = NULL;
    r->cap = 0;
}

void stream_ring_configure(stream_ring_t *r, int gop_cache, uint32_t max_ms, uint64_t max_bytes)
{
    r->gop_cache = gop_cache;
    r->max_ms = max_ms;
    r->max_bytes = max_bytes;
    if (!gop_cache) {
        r->has_gop = 0;
        r->gop_start = r->end;
    }
}

static int grow(stream_ring_t *r)
{
    uint32_t ncap = r->cap ? r->cap * 2 : 256;
    media_msg_t **ns = calloc(ncap, sizeof(*ns));
    if (!ns) return RILL_ERR_NOMEM;
    for (uint64_t s = r->start; s < r->end; s++) ns[s & (ncap - 1)] = stream_ring_at(r, s);
    free(r->slots);
    r->slots = ns;
    r->cap = ncap;
    return 0;
}

uint32_t stream_ring_duration(const stream_ring_t *r)
{
    if (r->start == r->end) return 0;
    uint32_t first = stream_ring_at(r, r->start)->timestamp;
    uint32_t last = stream_ring_at(r, r->end - 1)->timestamp;
    int32_t d = (int32_t)(last - first);
    return d > 0 ? (uint32_t)d : 0;
}

/* Over max_bytes: drop the oldest GOP (up to the next keyframe) until under.
 * The counters say whether a later keyframe exists, so the scan only walks
 * what is dropped. Without video frames every message stands alone. */
static int bound_bytes(stream_ring_t *r)
{
    while (r->max_bytes && r->bytes > r->max_bytes) {
        int front_key = media_is_keyframe(stream_ring_at(r, r->start));
        if (r->nkeys > (uint64_t)front_key) {
            do drop_front(r);
            while (!media_is_keyframe(stream_ring_at(r, r->start)));
        } else if (r->nframes) {
            return RILL_ERR_GOP_TOO_BIG;
        } else if (r->end - r->start > 1) {
            drop_front(r);
        } else {
            break;   /* one message of audio or data: it is what a player needs next */
        }
    }
    return 0;
}

int stream_ring_push(stream_ring_t *r, media_msg_t *m)
{
    if (r->end - r->start == r->cap && grow(r) != 0) {
        media_msg_unref(m);
        return RILL_ERR_NOMEM;
    }
    r->slots[r->end & (r->cap - 1)] = m;
    count(r, m, 1);
    if (media_is_keyframe(m) && r->gop_cache) {
        /* A new GOP begins: the old one is no longer needed for new players. */
        r->gop_start = r->end;
        r->has_gop = 1;
    }
    r->end++;
    if (!r->has_gop) r->gop_start = r->end;
    /* Bound by duration; keep at least the newest message. */
    while (r->end - r->start > 1 && stream_ring_duration(r) > r->max_ms) drop_front(r);
    return bound_bytes(r);
}

void stream_ring_trim(stream_ring_t *r, uint64_t keep_from)
{
    if (r->has_gop && r->gop_start < keep_from) keep_from = r->gop_start;
    while (r->start < r->end && r->start < keep_from) drop_front(r);
}

uint64_t stream_ring_play_start(const stream_ring_t *r)
{
    return r->has_gop ? r->gop_start : r->end;
}

int stream_ring_fix_cursor(const stream_ring_t *r, uint64_t *cursor)
{
    if (*cursor > r->end) {
        *cursor = r->end;   /* the ring was cleared under a player */
        return 0;
    }
    if (*cursor >= r->start) return 0;
    uint64_t s = r->start;
    while (s < r->end && !media_is_keyframe(stream_ring_at(r, s))) s++;
    *cursor = s;
    return 1;
}
