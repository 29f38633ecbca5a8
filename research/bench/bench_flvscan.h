/* An incremental FLV stream scanner for players that only need to know
 * what arrived: bytes in (any split), one callback per tag with its type,
 * size, timestamp, first bytes and last bytes. Bodies are never copied or
 * buffered, so a player costs a few dozen bytes of state. Pure code. */
#ifndef BENCH_FLVSCAN_H
#define BENCH_FLVSCAN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BENCH_FLV_MAX_TAG (8u * 1024 * 1024)    /* no real frame is near this */
#define BENCH_FLV_HEAD 8        /* first body bytes kept (codec headers) */
#define BENCH_FLV_TAIL 16       /* last body bytes kept (latency keys) */

typedef struct bench_flv_tag {
    uint8_t type;               /* 8 audio, 9 video, 18 script */
    uint32_t size;              /* body bytes */
    uint32_t timestamp;         /* ms, with the extended byte */
    const uint8_t *head;        /* min(size, 8) first bytes */
    size_t head_len;
    const uint8_t *tail;        /* min(size, 16) last bytes */
    size_t tail_len;
} bench_flv_tag_t;

typedef void (*bench_flv_cb)(void *ctx, const bench_flv_tag_t *tag);

typedef struct bench_flvscan {
    int state;
    uint8_t hdr[11];            /* file header, tag header or PreviousTagSize being collected */
    uint32_t hlen;
    uint32_t skip;              /* header bytes beyond the 9 of the file header */
    uint8_t type;
    uint32_t size, timestamp, left;
    uint8_t head[BENCH_FLV_HEAD];
    uint32_t head_len;
    uint8_t tail[BENCH_FLV_TAIL];
    uint32_t tail_len;
    uint64_t tags;
    const char *error;          /* why the stream was refused */
} bench_flvscan_t;

void bench_flvscan_init(bench_flvscan_t *s);
/* Feed n bytes; cb runs once per complete tag body. 0, or RILL_ERR_FLV (no
 * FLV header, an unknown tag type, a tag over 8 MiB, a PreviousTagSize
 * that does not match) with s->error set; the stream is then unusable. */
int bench_flvscan_feed(bench_flvscan_t *s, const uint8_t *p, size_t n, bench_flv_cb cb, void *ctx);

#ifdef __cplusplus
}
#endif
#endif
