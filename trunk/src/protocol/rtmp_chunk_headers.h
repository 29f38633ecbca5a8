/* The two chunk headers of one outgoing message: fmt 0 for its first chunk
 * and fmt 3 for every other. They do not depend on the chunk size, so a
 * message's headers are built once and shared by every player. */
#ifndef RTMP_CHUNK_HEADERS_H
#define RTMP_CHUNK_HEADERS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rtmp_chunk_headers {
    uint8_t hdr0[18];   /* basic header (up to 3) + 11 + extended timestamp 4 */
    uint8_t hdr3[7];    /* basic header (up to 3) + extended timestamp 4 */
    uint8_t hdr0_len;
    uint8_t hdr3_len;
} rtmp_chunk_headers_t;

void rtmp_chunk_build_headers(uint32_t csid, uint8_t type, uint32_t stream_id,
                              uint32_t timestamp, uint32_t length, rtmp_chunk_headers_t *out);

#ifdef __cplusplus
}
#endif
#endif
