/* A published media message as the hub holds it: immutable once pushed,
 * refcounted, shared by the ring and by every player that sends it. It
 * carries its RTMP chunk headers and FLV tag header, built once, so players
 * only point at them. */
#ifndef MEDIA_MSG_H
#define MEDIA_MSG_H

#include <stdint.h>
#include "rill_payload.h"

#ifdef __cplusplus
extern "C" {
#endif

enum media_flags {
    MEDIA_VIDEO      = 1 << 0,
    MEDIA_AUDIO      = 1 << 1,
    MEDIA_DATA       = 1 << 2,   /* onMetaData and other script data */
    MEDIA_KEYFRAME   = 1 << 3,   /* video keyframe (not a sequence header) */
    MEDIA_SEQ_HEADER = 1 << 4,   /* AVC/HEVC/AAC sequence header */
};

typedef struct media_msg {
    uint32_t refs;
    uint8_t type;              /* RTMP message type: 8, 9 or 18 */
    uint8_t flags;             /* enum media_flags */
    uint8_t hdr0_len;          /* bytes of hdr0 */
    uint8_t hdr3_len;          /* bytes of hdr3 */
    uint32_t timestamp;        /* corrected once, by the source */
    rill_payload_t *payload;
    uint8_t hdr0[18];          /* fmt 0 chunk header (stream id 1) */
    uint8_t hdr3[8];           /* fmt 3 header for the following chunks */
    uint8_t flv_tag[11];       /* FLV tag header, for HTTP-FLV players */
    uint8_t flv_prev[4];       /* PreviousTagSize after the tag */
} media_msg_t;

/* Takes over the payload reference. NULL on no memory (payload released). */
media_msg_t *media_msg_new(uint8_t type, uint32_t timestamp, rill_payload_t *payload);
static inline media_msg_t *media_msg_ref(media_msg_t *m) { m->refs++; return m; }
void media_msg_unref(media_msg_t *m);

static inline int media_is_video(const media_msg_t *m) { return (m->flags & MEDIA_VIDEO) != 0; }
static inline int media_is_keyframe(const media_msg_t *m) { return (m->flags & MEDIA_KEYFRAME) != 0; }

#ifdef __cplusplus
}
#endif
#endif
