#include "media_msg.h"
#include "flv.h"
#include "rtmp_msg.h"
#include "rtmp_chunk_headers.h"

#include <stdlib.h>

static uint8_t classify(uint8_t type, const rill_payload_t *pl)
{
    if (type == RTMP_MSG_VIDEO) {
        flv_video_info_t vi;
        uint8_t f = MEDIA_VIDEO;
        if (flv_video_probe(pl->data, pl->size, &vi) == 0) {
            if (vi.seq_header) f |= MEDIA_SEQ_HEADER;
            else if (vi.keyframe) f |= MEDIA_KEYFRAME;
        }
        return f;
    }
    if (type == RTMP_MSG_AUDIO) {
        flv_audio_info_t ai;
        uint8_t f = MEDIA_AUDIO;
        if (flv_audio_probe(pl->data, pl->size, &ai) == 0 && ai.seq_header) f |= MEDIA_SEQ_HEADER;
        return f;
    }
    return MEDIA_DATA;
}

static uint32_t csid_for(uint8_t type)
{
    if (type == RTMP_MSG_VIDEO) return RTMP_CSID_VIDEO;
    if (type == RTMP_MSG_AUDIO) return RTMP_CSID_AUDIO;
    return RTMP_CSID_DATA;
}

media_msg_t *media_msg_new(uint8_t type, uint32_t timestamp, rill_payload_t *payload)
{
    media_msg_t *m = malloc(sizeof(*m));
    if (!m) {
        rill_payload_unref(payload);
        return NULL;
    }
    m->refs = 1;
    m->type = type;
    m->timestamp = timestamp;
    m->payload = payload;
    m->flags = classify(type, payload);
    /* onMetaData goes out at timestamp 0, as nginx-rtmp always and SRS with
     * time_jitter full send it: libavformat takes script data at a non-zero
     * time in the middle of a stream (an edge's switch of origin) for a new
     * subtitle stream, and ffprobe 5.1 then crashes. m->timestamp keeps the
     * stream time for the ring. */
    uint32_t wire_ts = (m->flags & MEDIA_DATA) ? 0 : timestamp;
    rtmp_chunk_headers_t h;
    rtmp_chunk_build_headers(csid_for(type), type, 1, wire_ts, payload->size, &h);
    m->hdr0_len = h.hdr0_len;
    m->hdr3_len = h.hdr3_len;
    for (int i = 0; i < h.hdr0_len; i++) m->hdr0[i] = h.hdr0[i];
    for (int i = 0; i < h.hdr3_len; i++) m->hdr3[i] = h.hdr3[i];
    flv_tag_header(m->flv_tag, type, payload->size, wire_ts);
    flv_tag_trailer(m->flv_prev, payload->size);
    return m;
}

void media_msg_unref(media_msg_t *m)
{
    if (m && --m->refs == 0) {
        rill_payload_unref(m->payload);
        free(m);
    }
}
