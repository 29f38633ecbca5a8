/* RTMP chunk stream decoder and encoder.
 *
 * Decoder: bytes are consumed in two alternating states. With cur_csid == 0
 * we collect a chunk header into d->hdr (so input may be split anywhere);
 * once complete, cur_csid/cur_left say how many body bytes of which chunk
 * stream follow. Each chunk stream keeps its last header fields and its own
 * partly received message, so messages on different csids interleave.
 *
 * Timestamps: every fmt 0/1/2 header carries a timestamp field (absolute for
 * fmt 0, a delta for fmt 1/2; the extended value when the field is 0xFFFFFF).
 * A fmt 3 chunk that starts a new message adds the last such field again,
 * including after fmt 0. That is what ffmpeg's writer assumes (it picks
 * fmt 3 when the new delta equals the previous header's field, fmt 0's
 * absolute time included) and what SRS and ffmpeg's reader do.
 */
#include "rtmp_chunk.h"
#include "rill_bytes.h"
#include "rill_error.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_MAX_PENDING (64u << 20)
/* Real peers use a handful of chunk streams; the cap bounds per-connection
 * state however many csids a peer invents. */
#define MAX_STREAMS 256
#define EXT_TS 0xFFFFFFu
/* First allocation for a message body; later growth doubles. */
#define MIN_GROW 1024

struct rtmp_chunk_stream {
    uint32_t csid;
    uint32_t timestamp;   /* absolute time of the current/last message */
    uint32_t ts_field;    /* last fmt 0/1/2 timestamp field (extended value if used) */
    uint32_t length;
    uint32_t stream_id;
    uint8_t type;
    bool has_ext;         /* last fmt 0/1/2 header used an extended timestamp */
    rill_payload_t *pl;   /* partial message, NULL between messages */
};

static const uint8_t msg_hdr_len[4] = { 11, 7, 3, 0 };

void rtmp_chunk_decoder_init(rtmp_chunk_decoder_t *d, size_t max_pending)
{
    memset(d, 0, sizeof(*d));
    d->chunk_size = RTMP_DEFAULT_CHUNK_SIZE;
    d->max_pending = max_pending ? max_pending : DEFAULT_MAX_PENDING;
}

/* Pending bytes beyond the free allowance: what this decoder owes the budget. */
static size_t owed(const rtmp_chunk_decoder_t *d)
{
    return d->pending > d->budget_free ? d->pending - d->budget_free : 0;
}

/* Settle with the budget after pending changed (owed was before). */
static void settle(rtmp_chunk_decoder_t *d, size_t before)
{
    size_t after = owed(d);
    if (!d->budget) return;
    if (after > before) rill_budget_take(d->budget, after - before);   /* fits: room was checked */
    else rill_budget_give(d->budget, before - after);
}

void rtmp_chunk_decoder_free(rtmp_chunk_decoder_t *d)
{
    for (uint32_t i = 0; i < d->nactive; i++) {
        rill_payload_unref(d->streams[i]->pl);
        free(d->streams[i]);
    }
    free(d->streams);
    d->streams = NULL;
    d->nstreams = d->nactive = 0;
    size_t before = owed(d);
    d->pending = 0;
    settle(d, before);
}

int rtmp_chunk_decoder_set_chunk_size(rtmp_chunk_decoder_t *d, uint32_t size)
{
    /* Top bit set and zero are invalid per spec; above 64 KiB we refuse to
     * keep the per-chunk work bounded (as SRS does). Small sizes are legal. */
    if (size == 0 || size > RTMP_MAX_CHUNK_SIZE) return RILL_ERR_CHUNK_SIZE;
    d->chunk_size = size;
    return 0;
}

static rtmp_chunk_stream_t *find_stream(rtmp_chunk_decoder_t *d, uint32_t csid)
{
    for (uint32_t i = 0; i < d->nactive; i++)
        if (d->streams[i]->csid == csid) return d->streams[i];
    return NULL;
}

void rtmp_chunk_decoder_abort(rtmp_chunk_decoder_t *d, uint32_t csid)
{
    rtmp_chunk_stream_t *s = find_stream(d, csid);
    if (!s || !s->pl) return;
    size_t before = owed(d);
    d->pending -= s->pl->cap;
    settle(d, before);
    rill_payload_unref(s->pl);
    s->pl = NULL;
    if (d->cur_csid == csid) {
        d->cur_csid = 0;
        d->cur_left = 0;
    }
}

static int add_stream(rtmp_chunk_decoder_t *d, uint32_t csid, rtmp_chunk_stream_t **out)
{
    if (d->nactive >= MAX_STREAMS) return RILL_ERR_LIMIT;
    if (d->nactive == d->nstreams) {
        uint32_t n = d->nstreams ? d->nstreams * 2 : 8;
        rtmp_chunk_stream_t **t = realloc(d->streams, n * sizeof(*t));
        if (!t) return RILL_ERR_NOMEM;
        d->streams = t;
        d->nstreams = n;
    }
    rtmp_chunk_stream_t *s = calloc(1, sizeof(*s));
    if (!s) return RILL_ERR_NOMEM;
    s->csid = csid;
    d->streams[d->nactive++] = s;
    *out = s;
    return 0;
}

/* Next run of up to want input bytes: pushed-back bytes first, then p[*pos..n).
 * Pushed-back bytes are at most 4 and already counted in *used; they can
 * only complete a message by themselves in contrived cases (a zero-length
 * fmt 3 message right after them), which then waits for the next input. */
static size_t take(rtmp_chunk_decoder_t *d, const uint8_t *p, size_t n, size_t *pos,
                   size_t want, const uint8_t **out)
{
    size_t k;
    if (d->back_len) {
        k = want < d->back_len ? want : d->back_len;
        *out = d->back + d->back_off;
        d->back_off += k;
        d->back_len -= k;
        return k;
    }
    k = n - *pos;
    if (k > want) k = want;
    *out = p + *pos;
    *pos += k;
    return k;
}

static uint32_t basic_len(uint8_t b0)
{
    uint8_t c = b0 & 0x3f;
    return c == 0 ? 2 : c == 1 ? 3 : 1;
}

static uint32_t basic_csid(const uint8_t *h)
{
    uint8_t c = h[0] & 0x3f;
    if (c == 0) return 64 + h[1];
    if (c == 1) return 64 + h[1] + ((uint32_t)h[2] << 8);
    return c;
}

/* Total header bytes needed given what is in d->hdr so far. The stream
 * state matters for fmt 3, which may carry a repeated extended timestamp. */
static int header_need(rtmp_chunk_decoder_t *d, uint32_t *need)
{
    if (d->hdr_len < 1) { *need = 1; return 0; }
    uint32_t fmt = d->hdr[0] >> 6, bl = basic_len(d->hdr[0]);
    if (d->hdr_len < bl) { *need = bl; return 0; }

    rtmp_chunk_stream_t *s = find_stream(d, basic_csid(d->hdr));
    if (fmt != 0 && !s) return RILL_ERR_CHUNK;   /* nothing to be relative to */

    uint32_t ml = bl + msg_hdr_len[fmt];
    if (d->hdr_len < ml) { *need = ml; return 0; }
    if (fmt < 3)
        *need = rill_get_u24be(d->hdr + bl) == EXT_TS ? ml + 4 : ml;
    else
        *need = s->has_ext ? ml + 4 : ml;   /* peek; maybe given back */
    return 0;
}

/* Apply a complete header in d->hdr. Returns 1 when it completed a
 * zero-length message (filled into *msg), 0 when body bytes follow. */
/* Hand the chunk stream's finished message to the caller. */
static void deliver(rtmp_chunk_stream_t *s, rtmp_msg_t *msg)
{
    msg->csid = s->csid;
    msg->type = s->type;
    msg->stream_id = s->stream_id;
    msg->timestamp = s->timestamp;
    msg->payload = s->pl;
    s->pl = NULL;
}

static int header_done(rtmp_chunk_decoder_t *d, rtmp_msg_t *msg)
{
    const uint8_t *h = d->hdr;
    uint32_t fmt = h[0] >> 6, bl = basic_len(h[0]), csid = basic_csid(h);
    rtmp_chunk_stream_t *s = find_stream(d, csid);
    int rc;

    if (!s && (rc = add_stream(d, csid, &s)) < 0) return rc;
    const uint8_t *m = h + bl;
    bool starts = s->pl == NULL;

    if (fmt < 3) {
        uint32_t field = rill_get_u24be(m);
        s->has_ext = field == EXT_TS;
        if (s->has_ext) field = rill_get_u32be(m + msg_hdr_len[fmt]);
        s->ts_field = field;
        if (fmt <= 1) {
            uint32_t len = rill_get_u24be(m + 3);
            /* librtmp may repeat a full header mid-message; only a changed
             * length makes the bytes already received meaningless. */
            if (!starts && len != s->length) return RILL_ERR_CHUNK;
            if (starts) {
                s->length = len;
                s->type = m[6];
                if (fmt == 0)
                    s->stream_id = (uint32_t)m[7] | ((uint32_t)m[8] << 8) |
                                   ((uint32_t)m[9] << 16) | ((uint32_t)m[10] << 24);
            }
        }
        if (starts) s->timestamp = fmt == 0 ? field : s->timestamp + field;
    } else {
        /* The 4 bytes after a fmt 3 header with has_ext set are the repeated
         * extended timestamp if they equal it (ffmpeg, most servers); old
         * encoders omit them, so otherwise they are body: read them again. */
        if (s->has_ext && rill_get_u32be(h + bl) != s->ts_field) {
            memcpy(d->back, h + bl, 4);
            d->back_off = 0;
            d->back_len = 4;
        }
        if (starts) s->timestamp += s->ts_field;
    }
    d->hdr_len = 0;

    if (starts) {
        s->pl = rill_payload_new(0);   /* grows as bytes arrive */
        if (!s->pl) return RILL_ERR_NOMEM;
    }
    uint32_t left = s->length - s->pl->size;
    if (left == 0) {   /* zero-length message */
        deliver(s, msg);
        return 1;
    }
    d->cur_csid = csid;
    d->cur_left = left < d->chunk_size ? left : d->chunk_size;
    return 0;
}

/* Make room for extra more bytes in s->pl, doubling (up to the message
 * length) so a large announced length costs nothing until data arrives.
 * When doubling does not fit the budget (this decoder's max_pending or the
 * shared one, whichever has less room), take all that is left of it in one
 * step: growing by just what arrived would copy the whole message for every
 * read, quadratic work that kept the server busy for seconds per peer. */
static int reserve_body(rtmp_chunk_decoder_t *d, rtmp_chunk_stream_t *s, size_t extra)
{
    size_t old = s->pl->cap, need = (size_t)s->pl->size + extra;
    if (need <= old) return 0;
    size_t cap = old * 2 > MIN_GROW ? old * 2 : MIN_GROW;
    if (cap > s->length) cap = s->length;
    if (cap < need) cap = need;
    uint64_t room = d->max_pending > d->pending ? d->max_pending - d->pending : 0;
    bool shared = false;
    if (d->budget) {
        uint64_t free_left = d->budget_free > d->pending ? d->budget_free - d->pending : 0;
        uint64_t shared_room = rill_budget_room(d->budget);
        if (shared_room < UINT64_MAX - free_left) shared_room += free_left;
        if (shared_room < room) {
            room = shared_room;
            shared = true;
        }
    }
    if (cap - old > room) cap = old + (size_t)room;   /* the rest of the budget */
    if (cap < need) {
        if (shared) d->budget->refused++;
        return shared ? RILL_ERR_BUDGET : RILL_ERR_LIMIT;
    }
    rill_payload_t *np = rill_payload_grow(s->pl, cap);
    if (!np) return RILL_ERR_NOMEM;
    s->pl = np;
    size_t before = owed(d);
    d->pending += cap - old;
    settle(d, before);
    return 0;
}

int rtmp_chunk_decode(rtmp_chunk_decoder_t *d, const uint8_t *p, size_t n,
                      size_t *used, rtmp_msg_t *msg)
{
    size_t pos = 0;
    const uint8_t *b;
    int rc = 0;

    for (;;) {
        if (d->cur_csid == 0) {
            uint32_t need;
            if ((rc = header_need(d, &need)) < 0) break;
            if (d->hdr_len < need) {
                size_t k = take(d, p, n, &pos, need - d->hdr_len, &b);
                if (k == 0) break;                       /* rc == 0: need input */
                memcpy(d->hdr + d->hdr_len, b, k);
                d->hdr_len += (uint8_t)k;
                continue;
            }
            if ((rc = header_done(d, msg)) != 0) break;  /* message or error */
            continue;
        }

        rtmp_chunk_stream_t *s = find_stream(d, d->cur_csid);
        size_t k = take(d, p, n, &pos, d->cur_left, &b);
        if (k == 0) break;
        if ((rc = reserve_body(d, s, k)) < 0) break;
        memcpy(s->pl->data + s->pl->size, b, k);
        s->pl->size += (uint32_t)k;
        d->cur_left -= (uint32_t)k;
        if (d->cur_left) continue;
        d->cur_csid = 0;
        if (s->pl->size < s->length) continue;

        size_t before = owed(d);
        d->pending -= s->pl->cap;
        settle(d, before);
        deliver(s, msg);
        rc = 1;
        break;
    }
    *used = pos;
    return rc;
}

/* ---- encoder ---- */

static uint32_t csid_len(uint32_t csid)
{
    return csid < 64 ? 1 : csid < 320 ? 2 : 3;
}

static bool encodable(const rtmp_msg_t *msg, uint32_t chunk_size)
{
    uint32_t size = msg->payload ? msg->payload->size : 0;
    return chunk_size > 0 && msg->csid >= 2 && msg->csid <= RTMP_MAX_CSID &&
           size <= RTMP_MAX_MSG_SIZE;
}

/* Writes one chunk header (fmt 0 when first, else fmt 3); returns its size. */
static size_t put_header(uint8_t *p, const rtmp_msg_t *msg, bool first)
{
    uint32_t csid = msg->csid, size = msg->payload ? msg->payload->size : 0;
    bool ext = msg->timestamp >= EXT_TS;
    uint8_t fmt = first ? 0 : 3;
    size_t n = 0;

    if (csid < 64) {
        p[n++] = (uint8_t)(fmt << 6 | csid);
    } else if (csid < 320) {
        p[n++] = (uint8_t)(fmt << 6);
        p[n++] = (uint8_t)(csid - 64);
    } else {
        p[n++] = (uint8_t)(fmt << 6 | 1);
        p[n++] = (uint8_t)((csid - 64) & 0xff);
        p[n++] = (uint8_t)((csid - 64) >> 8);
    }
    if (first) {
        rill_put_u24be(p + n, ext ? EXT_TS : msg->timestamp);
        rill_put_u24be(p + n + 3, size);
        p[n + 6] = msg->type;
        rill_put_u32le(p + n + 7, msg->stream_id);
        n += 11;
    }
    /* Repeated on fmt 3 chunks too: ffmpeg and SRS expect it there. */
    if (ext) {
        rill_put_u32be(p + n, msg->timestamp);
        n += 4;
    }
    return n;
}

size_t rtmp_chunk_header_bytes(const rtmp_msg_t *msg, uint32_t chunk_size)
{
    if (!encodable(msg, chunk_size)) return 0;
    uint32_t size = msg->payload ? msg->payload->size : 0;
    size_t per = csid_len(msg->csid) + (msg->timestamp >= EXT_TS ? 4 : 0);
    return per + 11 + (size_t)(rtmp_chunk_count(size, chunk_size) - 1) * per;
}

int rtmp_chunk_encode(const rtmp_msg_t *msg, uint32_t chunk_size,
                      uint8_t *hdr, size_t hdr_cap, size_t *hdr_used,
                      struct iovec *iov, int iov_cap)
{
    if (!encodable(msg, chunk_size)) return RILL_ERR_INVAL;
    uint32_t size = msg->payload ? msg->payload->size : 0;
    uint32_t nchunks = rtmp_chunk_count(size, chunk_size);
    uint32_t niov = size ? 2 * nchunks : 1;
    if (hdr_cap < rtmp_chunk_header_bytes(msg, chunk_size) ||
        iov_cap < 0 || niov > (uint32_t)iov_cap)
        return RILL_ERR_INVAL;

    size_t off = 0;
    int k = 0;
    for (uint32_t i = 0, pos = 0; i < nchunks; i++) {
        size_t h = put_header(hdr + off, msg, i == 0);
        iov[k].iov_base = hdr + off;
        iov[k++].iov_len = h;
        off += h;
        if (size) {
            uint32_t len = size - pos < chunk_size ? size - pos : chunk_size;
            iov[k].iov_base = msg->payload->data + pos;
            iov[k++].iov_len = len;
            pos += len;
        }
    }
    *hdr_used = off;
    return k;
}

int rtmp_chunk_encode_to(const rtmp_msg_t *msg, uint32_t chunk_size, struct rill_writer *out)
{
    if (!encodable(msg, chunk_size)) return RILL_ERR_INVAL;
    uint32_t size = msg->payload ? msg->payload->size : 0;
    int rc = rill_writer_reserve(out, rtmp_chunk_header_bytes(msg, chunk_size) + size);
    if (rc < 0) return rc;

    uint8_t h[18];
    uint32_t pos = 0;
    do {
        if ((rc = rill_write_bytes(out, h, put_header(h, msg, pos == 0))) < 0) return rc;
        uint32_t len = size - pos < chunk_size ? size - pos : chunk_size;
        if (len && (rc = rill_write_bytes(out, msg->payload->data + pos, len)) < 0) return rc;
        pos += len;
    } while (pos < size);
    return 0;
}
