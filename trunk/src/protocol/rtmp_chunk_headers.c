#include "rtmp_chunk_headers.h"
#include "rill_bytes.h"

static uint8_t basic_header(uint8_t *p, int fmt, uint32_t csid)
{
    if (csid < 64) {
        p[0] = (uint8_t)(fmt << 6 | csid);
        return 1;
    }
    if (csid < 320) {
        p[0] = (uint8_t)(fmt << 6);
        p[1] = (uint8_t)(csid - 64);
        return 2;
    }
    p[0] = (uint8_t)(fmt << 6 | 1);
    p[1] = (uint8_t)((csid - 64) & 0xff);
    p[2] = (uint8_t)((csid - 64) >> 8);
    return 3;
}

void rtmp_chunk_build_headers(uint32_t csid, uint8_t type, uint32_t stream_id,
                              uint32_t timestamp, uint32_t length, rtmp_chunk_headers_t *out)
{
    int ext = timestamp >= 0xFFFFFF;
    uint8_t n = basic_header(out->hdr0, 0, csid);
    uint8_t *p = out->hdr0 + n;
    rill_put_u24be(p, ext ? 0xFFFFFF : timestamp);
    rill_put_u24be(p + 3, length);
    p[6] = type;
    rill_put_u32le(p + 7, stream_id);
    n += 11;
    if (ext) {
        rill_put_u32be(out->hdr0 + n, timestamp);
        n += 4;
    }
    out->hdr0_len = n;

    /* fmt 3 continuation chunks repeat the extended timestamp, as ffmpeg expects */
    n = basic_header(out->hdr3, 3, csid);
    if (ext) {
        rill_put_u32be(out->hdr3 + n, timestamp);
        n += 4;
    }
    out->hdr3_len = n;
}
