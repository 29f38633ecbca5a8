#include "stream_tick.h"
#include "rtmp_chunk.h"

#include <stdlib.h>
#include <string.h>

void stream_tick_init(stream_tick_t *t) { memset(t, 0, sizeof(*t)); }

static void slot_clear(stream_tick_slot_t *s)
{
    rill_payload_unref(s->buf);
    s->buf = NULL;
    s->start = s->end = 0;
}

void stream_tick_free(stream_tick_t *t)
{
    for (int i = 0; i < STREAM_TICK_SLOTS; i++) {
        slot_clear(&t->slots[i]);
        free(t->slots[i].offs);
        t->slots[i].offs = NULL;
        t->slots[i].offs_cap = 0;
    }
}

/* Bytes one message takes on the wire: the same headers and slices the
 * per-message path writes (stream_pump.c), so the two are byte for byte equal. */
static size_t framed_size(const media_msg_t *m, uint32_t chunk_size)
{
    uint32_t size = m->payload->size;
    if (chunk_size == STREAM_TICK_FLV) return sizeof m->flv_tag + size + sizeof m->flv_prev;
    return m->hdr0_len + size + (size_t)(rtmp_chunk_count(size, chunk_size) - 1) * m->hdr3_len;
}

static uint8_t *put(uint8_t *o, const void *p, size_t n)
{
    memcpy(o, p, n);
    return o + n;
}

static uint8_t *frame(uint8_t *o, const media_msg_t *m, uint32_t chunk_size)
{
    const uint8_t *d = m->payload->data;
    uint32_t size = m->payload->size;
    if (chunk_size == STREAM_TICK_FLV) {
        o = put(o, m->flv_tag, sizeof m->flv_tag);
        o = put(o, d, size);
        return put(o, m->flv_prev, sizeof m->flv_prev);
    }
    o = put(o, m->hdr0, m->hdr0_len);
    uint32_t first = size < chunk_size ? size : chunk_size;
    o = put(o, d, first);
    for (uint32_t off = first; off < size; off += chunk_size) {
        uint32_t len = size - off < chunk_size ? size - off : chunk_size;
        o = put(o, m->hdr3, m->hdr3_len);
        o = put(o, d + off, len);
    }
    return o;
}

/* Frame [from, r->end) into slot s. 0, or -1 (too big, no memory: the slot
 * is left as it was, for the players it still serves). */
static int build(stream_tick_slot_t *s, const stream_ring_t *r, uint64_t from, uint32_t chunk_size)
{
    uint32_t n = (uint32_t)(r->end - from);
    size_t total = 0;
    for (uint64_t q = from; q < r->end; q++) {
        total += framed_size(stream_ring_at(r, q), chunk_size);
        if (total > STREAM_TICK_MAX_BYTES) return -1;
    }
    if (n > s->offs_cap) {
        uint32_t *o = realloc(s->offs, sizeof(*o) * (n + 1));
        if (!o) return -1;
        s->offs = o;
        s->offs_cap = n;
    }
    rill_payload_t *b = rill_payload_new(total);
    if (!b) return -1;
    uint8_t *o = b->data;
    for (uint32_t i = 0; i < n; i++) {
        s->offs[i] = (uint32_t)(o - b->data);
        o = frame(o, stream_ring_at(r, from + i), chunk_size);
    }
    b->size = (uint32_t)total;
    slot_clear(s);
    s->buf = b;
    s->start = from;
    s->end = r->end;
    s->chunk_size = chunk_size;
    return 0;
}

/* The slot framed for chunk_size, or the one to reuse for it (the oldest). */
static stream_tick_slot_t *pick(stream_tick_t *t, uint32_t chunk_size)
{
    stream_tick_slot_t *old = &t->slots[0];
    for (int i = 0; i < STREAM_TICK_SLOTS; i++) {
        stream_tick_slot_t *s = &t->slots[i];
        if (s->buf && s->chunk_size == chunk_size) return s;
        if (!s->buf) old = s;   /* an empty one is the best to take */
        else if (old->buf && s->used < old->used) old = s;
    }
    return old;
}

rill_payload_t *stream_tick_get(stream_tick_t *t, const stream_ring_t *r, uint64_t cursor, uint32_t chunk_size,
                                size_t *off, size_t *len)
{
    if (cursor < r->start || cursor >= r->end || r->end - cursor > STREAM_TICK_MAX_MSGS) return NULL;
    stream_tick_slot_t *s = pick(t, chunk_size);
    if (!s->buf || s->chunk_size != chunk_size || s->end != r->end || cursor < s->start) {
        if (build(s, r, cursor, chunk_size) != 0) return NULL;
        t->builds++;
    }
    s->used = ++t->clock;
    t->hits++;
    *off = s->offs[cursor - s->start];
    *len = s->buf->size - *off;
    return rill_payload_ref(s->buf);
}
