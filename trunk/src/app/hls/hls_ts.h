/* MPEG-TS from FLV payloads, in memory: libavformat's mpegts muxer writes
 * through a custom AVIO into a growing payload. H.264 frames go from AVCC
 * (length-prefixed NAL units) to Annex B with SPS/PPS before each keyframe;
 * raw AAC frames get ADTS headers from the AudioSpecificConfig. No sockets,
 * no state-threads: the segmenter calls it from the publisher's coroutine and
 * it never yields.
 *
 *   hls_ts_new(&t, has_video, has_audio);
 *   hls_ts_video_config(t, avcc, n); hls_ts_audio_config(t, asc, n);
 *   hls_ts_video(t, dts, cts, key, data, n); hls_ts_audio(t, dts, data, n); ...
 *   pl = hls_ts_take(t);        // flush; the bytes since the last take (a segment)
 *   hls_ts_free(t);
 *
 * Every take starts the next bytes with PAT and PMT, so each segment decodes
 * on its own; continuity counters run on across takes (one muxer per publish). */
#ifndef HLS_TS_H
#define HLS_TS_H

#include <stddef.h>
#include <stdint.h>
#include "rill_payload.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hls_ts hls_ts_t;

/* Tracks are fixed for the muxer's life. RILL_ERR_NOMEM or RILL_ERR_CODEC. */
int hls_ts_new(hls_ts_t **out, int has_video, int has_audio);
void hls_ts_free(hls_ts_t *t);
/* The codec data of a sequence header, after its FLV bytes: the
 * AVCDecoderConfigurationRecord, the AudioSpecificConfig. RILL_ERR_CODEC
 * when malformed (the previous one stays). */
int hls_ts_video_config(hls_ts_t *t, const uint8_t *avcc, size_t n);
int hls_ts_audio_config(hls_ts_t *t, const uint8_t *asc, size_t n);
/* One frame: dts in ms (64-bit, never backwards per track: a step back is
 * clamped), cts the composition offset (pts = dts + cts). data: the NAL units
 * as the FLV tag holds them; the raw AAC frame. A frame before its track's
 * config is dropped (0). */
int hls_ts_video(hls_ts_t *t, int64_t dts_ms, int32_t cts_ms, int key, const uint8_t *data, size_t n);
int hls_ts_audio(hls_ts_t *t, int64_t dts_ms, const uint8_t *data, size_t n);
/* Flush what the muxer buffers and hand over every byte written since the
 * last take (one reference, the caller's); NULL on no memory. The next
 * bytes start with PAT/PMT. */
rill_payload_t *hls_ts_take(hls_ts_t *t);
/* Bytes written since the last take. */
size_t hls_ts_pending(const hls_ts_t *t);

/* Pure helpers (unit-tested). */
/* AVCC frame -> Annex B into out (cap bytes). sps_pps: Annex B SPS+PPS to put
 * first (NULL: none). Returns the bytes written, or -1 when the frame is
 * malformed or does not fit. len_size: 1, 2 or 4. */
long hls_avcc_to_annexb(const uint8_t *in, size_t n, int len_size, const uint8_t *sps_pps, size_t sps_pps_len,
                        uint8_t *out, size_t cap);
/* The 7-byte ADTS header for a raw AAC frame of n bytes. */
void hls_adts_header(uint8_t out[7], int object_type, int freq_index, int channels, size_t n);

#ifdef __cplusplus
}
#endif
#endif
