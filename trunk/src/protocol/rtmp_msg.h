/* An RTMP message: header fields plus a shared payload reference. */
#ifndef RTMP_MSG_H
#define RTMP_MSG_H

#include <stdint.h>
#include "rill_payload.h"

#ifdef __cplusplus
extern "C" {
#endif

enum rtmp_msg_type {
    RTMP_MSG_SET_CHUNK_SIZE   = 1,
    RTMP_MSG_ABORT            = 2,
    RTMP_MSG_ACK              = 3,
    RTMP_MSG_USER_CONTROL     = 4,
    RTMP_MSG_WINDOW_ACK_SIZE  = 5,
    RTMP_MSG_SET_PEER_BW      = 6,
    RTMP_MSG_AUDIO            = 8,
    RTMP_MSG_VIDEO            = 9,
    RTMP_MSG_AMF3_DATA        = 15,
    RTMP_MSG_AMF3_SHARED_OBJ  = 16,
    RTMP_MSG_AMF3_COMMAND     = 17,
    RTMP_MSG_AMF0_DATA        = 18,
    RTMP_MSG_AMF0_SHARED_OBJ  = 19,
    RTMP_MSG_AMF0_COMMAND     = 20,
    RTMP_MSG_AGGREGATE        = 22,
};

enum rtmp_user_control {
    RTMP_UC_STREAM_BEGIN      = 0,
    RTMP_UC_STREAM_EOF        = 1,
    RTMP_UC_STREAM_DRY        = 2,
    RTMP_UC_SET_BUFFER_LENGTH = 3,
    RTMP_UC_STREAM_IS_RECORDED = 4,
    RTMP_UC_PING_REQUEST      = 6,
    RTMP_UC_PING_RESPONSE     = 7,
};

/* Chunk stream ids rill uses when sending. */
enum {
    RTMP_CSID_PROTOCOL = 2,
    RTMP_CSID_COMMAND  = 3,
    RTMP_CSID_AUDIO    = 4,   /* SRS and ffmpeg conventions differ; any id works */
    RTMP_CSID_VIDEO    = 6,
    RTMP_CSID_DATA     = 5,
};

typedef struct rtmp_msg {
    uint8_t type;
    uint32_t csid;          /* chunk stream it arrived on (decode) or goes on (encode) */
    uint32_t stream_id;     /* message stream id */
    uint32_t timestamp;     /* absolute, 32-bit RTMP time in ms */
    rill_payload_t *payload;/* owned reference; size is payload->size */
} rtmp_msg_t;

#ifdef __cplusplus
}
#endif
#endif
