#include "bench_flvscan.h"
#include "rill_bytes.h"
#include "rill_error.h"

#include <string.h>

enum { S_FILE, S_SKIP, S_TAG, S_BODY, S_PREV, S_BAD };

void bench_flvscan_init(bench_flvscan_t *s)
{
    memset(s, 0, sizeof *s);
    s->state = S_FILE;
}

static int bad(bench_flvscan_t *s, const char *why)
{
    s->state = S_BAD;
    s->error = why;
    return RILL_ERR_FLV;
}

/* Collect up to want header bytes; returns bytes taken. */
static size_t collect(bench_flvscan_t *s, const uint8_t *p, size_t n, uint32_t want)
{
    size_t k = want - s->hlen;
    if (k > n) k = n;
    memcpy(s->hdr + s->hlen, p, k);
    s->hlen += (uint32_t)k;
    return k;
}

static void keep_tail(bench_flvscan_t *s, const uint8_t *p, size_t k)
{
    if (k >= BENCH_FLV_TAIL) {
        memcpy(s->tail, p + k - BENCH_FLV_TAIL, BENCH_FLV_TAIL);
        s->tail_len = BENCH_FLV_TAIL;
        return;
    }
    size_t keep = s->tail_len < BENCH_FLV_TAIL - k ? s->tail_len : BENCH_FLV_TAIL - k;
    memmove(s->tail, s->tail + s->tail_len - keep, keep);
    memcpy(s->tail + keep, p, k);
    s->tail_len = (uint32_t)(keep + k);
}

static void tag_done(bench_flvscan_t *s, bench_flv_cb cb, void *ctx)
{
    s->tags++;
    if (!cb) return;
    bench_flv_tag_t t = { s->type, s->size, s->timestamp, s->head, s->head_len, s->tail, s->tail_len };
    cb(ctx, &t);
}

int bench_flvscan_feed(bench_flvscan_t *s, const uint8_t *p, size_t n, bench_flv_cb cb, void *ctx)
{
    size_t i = 0;
    while (i < n) {
        switch (s->state) {
        case S_FILE:
            i += collect(s, p + i, n - i, 9);
            if (s->hlen < 9) break;
            if (memcmp(s->hdr, "FLV", 3) != 0) return bad(s, "no FLV header");
            {
                uint32_t off = rill_get_u32be(s->hdr + 5);
                if (off < 9 || off > 1024) return bad(s, "bad FLV header size");
                s->skip = off - 9 + 4;      /* the rest of the header, then PreviousTagSize0 */
            }
            s->hlen = 0;
            s->state = S_SKIP;
            break;
        case S_SKIP: {
            size_t k = n - i < s->skip ? n - i : s->skip;
            s->skip -= (uint32_t)k;
            i += k;
            if (!s->skip) s->state = S_TAG;
            break;
        }
        case S_TAG:
            i += collect(s, p + i, n - i, 11);
            if (s->hlen < 11) break;
            s->hlen = 0;
            s->type = s->hdr[0] & 0x1F;
            if (s->hdr[0] & 0x20) return bad(s, "encrypted FLV tag");
            if (s->type != 8 && s->type != 9 && s->type != 18) return bad(s, "unknown FLV tag type");
            s->size = rill_get_u24be(s->hdr + 1);
            s->timestamp = rill_get_u24be(s->hdr + 4) | ((uint32_t)s->hdr[7] << 24);
            if (s->size > BENCH_FLV_MAX_TAG) return bad(s, "FLV tag too large");
            s->left = s->size;
            s->head_len = s->tail_len = 0;
            if (s->left == 0) {
                tag_done(s, cb, ctx);
                s->state = S_PREV;
            } else {
                s->state = S_BODY;
            }
            break;
        case S_BODY: {
            size_t k = n - i < s->left ? n - i : s->left;
            if (s->head_len < BENCH_FLV_HEAD) {
                size_t h = BENCH_FLV_HEAD - s->head_len;
                if (h > k) h = k;
                memcpy(s->head + s->head_len, p + i, h);
                s->head_len += (uint32_t)h;
            }
            keep_tail(s, p + i, k);
            s->left -= (uint32_t)k;
            i += k;
            if (!s->left) {
                tag_done(s, cb, ctx);
                s->state = S_PREV;
            }
            break;
        }
        case S_PREV:
            i += collect(s, p + i, n - i, 4);
            if (s->hlen < 4) break;
            s->hlen = 0;
            if (rill_get_u32be(s->hdr) != s->size + 11) return bad(s, "PreviousTagSize does not match the tag");
            s->state = S_TAG;
            break;
        default:
            return RILL_ERR_FLV;
        }
    }
    return 0;
}
