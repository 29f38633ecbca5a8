/* FLV tags and the codec headers inside them: probe an audio/video message
 * (codec, keyframe, sequence header; legacy and Enhanced RTMP forms), parse
 * AVC/HEVC decoder configurations and AAC AudioSpecificConfig, and build FLV
 * file and tag headers. Pure memory code. */
#ifndef FLV_H
#define FLV_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum flv_tag_type { FLV_TAG_AUDIO = 8, FLV_TAG_VIDEO = 9, FLV_TAG_SCRIPT = 18 };

enum flv_video_codec {
    FLV_VIDEO_H263  = 2,
    FLV_VIDEO_VP6   = 4,
    FLV_VIDEO_H264  = 7,
    FLV_VIDEO_HEVC  = 12,   /* legacy id used by Chinese CDNs; Enhanced RTMP uses fourcc hvc1 */
    FLV_VIDEO_AV1   = 13,
};
enum flv_audio_codec { FLV_AUDIO_MP3 = 2, FLV_AUDIO_AAC = 10, FLV_AUDIO_SPEEX = 11 };

#define FLV_FOURCC(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (uint32_t)(d))

typedef struct flv_video_info {
    int codec;              /* enum flv_video_codec; Enhanced RTMP hvc1 maps to FLV_VIDEO_HEVC, av01 to AV1 */
    uint32_t fourcc;        /* Enhanced RTMP fourcc, or 0 for the legacy form */
    int enhanced;           /* 1 when the Enhanced RTMP (ExVideoTagHeader) form */
    int keyframe;           /* frame type 1 */
    int seq_header;         /* AVC/HEVC sequence header (decoder configuration record) */
    int end_of_seq;
    uint32_t header_size;   /* bytes before codec data: 5 legacy AVC/HEVC, 5 or 8 enhanced */
} flv_video_info_t;

typedef struct flv_audio_info {
    int codec;              /* enum flv_audio_codec */
    int seq_header;         /* AAC AudioSpecificConfig */
    int sound_rate;         /* the FLV rate field 0..3 */
    int sound_size;
    int sound_type;
} flv_audio_info_t;

/* RILL_ERR_FLV when the message is too short to classify. */
int flv_video_probe(const uint8_t *p, size_t n, flv_video_info_t *out);
int flv_audio_probe(const uint8_t *p, size_t n, flv_audio_info_t *out);

typedef struct video_params {
    int profile;            /* AVC profile_idc / HEVC general_profile_idc */
    int level;              /* AVC level_idc / HEVC general_level_idc */
    int width, height;      /* from the SPS; 0 when it could not be parsed */
} video_params_t;

typedef struct audio_params {
    int object_type;        /* AAC audio object type (2 = LC) */
    int sample_rate;        /* Hz */
    int channels;
} audio_params_t;

/* Parse the codec data after the FLV header bytes (the decoder configuration
 * record). RILL_ERR_CODEC on malformed input. */
int avc_parse_decoder_config(const uint8_t *p, size_t n, video_params_t *out);
int hevc_parse_decoder_config(const uint8_t *p, size_t n, video_params_t *out);
int aac_parse_audio_specific_config(const uint8_t *p, size_t n, audio_params_t *out);

/* Parse the sequence header inside a whole video/audio message payload. */
int flv_video_parse_seq_header(const uint8_t *p, size_t n, video_params_t *out);
int flv_audio_parse_seq_header(const uint8_t *p, size_t n, audio_params_t *out);

#define FLV_FILE_HEADER_SIZE 13 /* 9-byte header + PreviousTagSize0 */
#define FLV_TAG_HEADER_SIZE  11
void flv_file_header(uint8_t out[FLV_FILE_HEADER_SIZE], int has_audio, int has_video);
void flv_tag_header(uint8_t out[FLV_TAG_HEADER_SIZE], uint8_t type, uint32_t size, uint32_t timestamp);
/* PreviousTagSize after a tag of data size 'size'. */
void flv_tag_trailer(uint8_t out[4], uint32_t size);

/* Reading an FLV file from memory (load tools, tests). */
typedef struct flv_tag {
    uint8_t type;
    uint32_t timestamp;
    const uint8_t *data;
    uint32_t size;
} flv_tag_t;
/* Checks the file header; *pos set past it. */
int flv_read_file_header(const uint8_t *p, size_t n, size_t *pos);
/* 1 and *tag set; 0 at a clean end; RILL_ERR_FLV on a truncated/bad tag. */
int flv_read_tag(const uint8_t *p, size_t n, size_t *pos, flv_tag_t *tag);

#ifdef __cplusplus
}
#endif
#endif
