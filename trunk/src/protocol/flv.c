/* FLV tags and codec headers. Every parser is bounded: a declared length
 * that runs past the input is RILL_ERR_CODEC / RILL_ERR_FLV, never a read
 * past the end. */
#include "flv.h"
#include "rill_bytes.h"
#include "rill_error.h"

#include <string.h>

/* ---- bit reader over an H.264/H.265 NAL payload ----
 * Emulation prevention bytes (00 00 03) are dropped on the fly, so the
 * SPS is parsed in place without copying it. */

typedef struct bits {
    const uint8_t *p;
    size_t n, pos;      /* next raw byte */
    uint32_t cur;       /* current byte */
    int left;           /* bits left in cur */
    int zeros;          /* zero bytes just consumed, for the 00 00 03 check */
    int nal;            /* drop emulation prevention bytes */
    int err;
} bits_t;

static void bits_init(bits_t *b, const uint8_t *p, size_t n, int nal)
{
    memset(b, 0, sizeof *b);
    b->p = p;
    b->n = n;
    b->nal = nal;
}

static int bits_next_byte(bits_t *b)
{
    if (b->pos >= b->n) { b->err = 1; return 0; }
    uint8_t v = b->p[b->pos++];
    if (b->nal && b->zeros >= 2 && v == 3) {
        if (b->pos >= b->n) { b->err = 1; return 0; }
        v = b->p[b->pos++];
        b->zeros = 0;
    }
    b->zeros = v == 0 ? b->zeros + 1 : 0;
    b->cur = v;
    b->left = 8;
    return 1;
}

static uint32_t bits_u(bits_t *b, int count)   /* count <= 32 */
{
    uint32_t v = 0;
    for (int i = 0; i < count; i++) {
        if (b->err || (b->left == 0 && !bits_next_byte(b))) return 0;
        b->left--;
        v = (v << 1) | ((b->cur >> b->left) & 1);
    }
    return v;
}

static void bits_skip(bits_t *b, int count)
{
    while (count > 0 && !b->err) {
        int step = count > 32 ? 32 : count;
        bits_u(b, step);
        count -= step;
    }
}

/* Exp-Golomb ue(v); more than 31 leading zeros cannot be a valid value. */
static uint32_t bits_ue(bits_t *b)
{
    int zeros = 0;
    while (!b->err && bits_u(b, 1) == 0) {
        if (b->err) return 0;
        if (++zeros > 31) { b->err = 1; return 0; }
    }
    if (b->err) return 0;
    return (uint32_t)(((uint64_t)1 << zeros) - 1 + bits_u(b, zeros));
}

static int32_t bits_se(bits_t *b)
{
    uint32_t k = bits_ue(b);
    return (k & 1) ? (int32_t)((k + 1) / 2) : -(int32_t)(k / 2);
}

/* ---- H.264 SPS ---- */

static int avc_high_profile(int profile)
{
    switch (profile) {
    case 100: case 110: case 122: case 244: case 44: case 83: case 86:
    case 118: case 128: case 138: case 139: case 134: case 135:
        return 1;
    }
    return 0;
}

static void avc_skip_scaling_list(bits_t *b, int size)
{
    int last = 8, next = 8;
    for (int j = 0; j < size && !b->err; j++) {
        if (next != 0) {
            /* delta_scale is -128..127 (H.264 7.4.2.1.1.1); a larger one
             * would overflow the sum below. */
            int32_t delta = bits_se(b);
            if (delta < -128 || delta > 127) { b->err = 1; return; }
            next = (last + delta + 256) % 256;
        }
        if (next != 0) last = next;
    }
}

/* Width/height from an SPS NAL (with its 1-byte header). 0 or -1. */
/* The picture size once the cropping window c (left, right, top, bottom,
 * in units of ux by uy samples) is taken off w x h. -1 when nothing is left. */
static int cropped_size(uint64_t w, uint64_t h, uint64_t ux, uint64_t uy, const uint32_t c[4], int *width, int *height)
{
    uint64_t cw = ux * ((uint64_t)c[0] + c[1]);
    uint64_t ch = uy * ((uint64_t)c[2] + c[3]);
    if (cw >= w || ch >= h) return -1;
    *width = (int)(w - cw);
    *height = (int)(h - ch);
    return 0;
}

static int avc_parse_sps(const uint8_t *nal, size_t n, int *width, int *height)
{
    bits_t b;
    bits_init(&b, nal, n, 1);
    if ((bits_u(&b, 8) & 0x1f) != 7) return -1;
    int profile = (int)bits_u(&b, 8);
    bits_u(&b, 16);                          /* constraint flags, level */
    bits_ue(&b);                             /* seq_parameter_set_id */

    uint32_t chroma = 1, separate = 0;
    if (avc_high_profile(profile)) {
        chroma = bits_ue(&b);
        if (chroma > 3) return -1;
        if (chroma == 3) separate = bits_u(&b, 1);
        bits_ue(&b);                         /* bit_depth_luma_minus8 */
        bits_ue(&b);                         /* bit_depth_chroma_minus8 */
        bits_u(&b, 1);                       /* qpprime_y_zero_transform_bypass */
        if (bits_u(&b, 1)) {                 /* seq_scaling_matrix_present */
            int lists = chroma != 3 ? 8 : 12;
            for (int i = 0; i < lists && !b.err; i++)
                if (bits_u(&b, 1)) avc_skip_scaling_list(&b, i < 6 ? 16 : 64);
        }
    }
    bits_ue(&b);                             /* log2_max_frame_num_minus4 */
    uint32_t poc_type = bits_ue(&b);
    if (poc_type == 0) {
        bits_ue(&b);                         /* log2_max_pic_order_cnt_lsb_minus4 */
    } else if (poc_type == 1) {
        bits_u(&b, 1);
        bits_se(&b);
        bits_se(&b);
        uint32_t cycle = bits_ue(&b);
        if (cycle > 255) return -1;
        for (uint32_t i = 0; i < cycle && !b.err; i++) bits_se(&b);
    } else if (poc_type > 2) {
        return -1;
    }
    bits_ue(&b);                             /* max_num_ref_frames */
    bits_u(&b, 1);                           /* gaps_in_frame_num_allowed */
    uint32_t w_mbs = bits_ue(&b) + 1;
    uint32_t h_units = bits_ue(&b) + 1;
    uint32_t frame_mbs_only = bits_u(&b, 1);
    if (!frame_mbs_only) bits_u(&b, 1);      /* mb_adaptive_frame_field */
    bits_u(&b, 1);                           /* direct_8x8_inference */
    uint32_t crop[4] = { 0, 0, 0, 0 };       /* left, right, top, bottom */
    if (bits_u(&b, 1))
        for (int i = 0; i < 4; i++) crop[i] = bits_ue(&b);
    if (b.err || w_mbs > 4096 || h_units > 4096) return -1;

    uint64_t w = (uint64_t)w_mbs * 16;
    uint64_t h = (uint64_t)h_units * 16 * (2 - frame_mbs_only);
    /* Crop units depend on chroma subsampling (H.264 7.4.2.1.1). */
    uint32_t array_type = separate ? 0 : chroma;
    uint64_t ux = 1, uy = 2 - frame_mbs_only;
    if (array_type != 0) {
        ux = array_type == 3 ? 1 : 2;
        uy *= array_type == 1 ? 2 : 1;
    }
    return cropped_size(w, h, ux, uy, crop, width, height);
}

int avc_parse_decoder_config(const uint8_t *p, size_t n, video_params_t *out)
{
    memset(out, 0, sizeof *out);
    rill_reader_t r;
    rill_reader_init(&r, p, n);
    uint8_t version = rill_read_u8(&r);
    out->profile = rill_read_u8(&r);
    rill_read_u8(&r);                        /* profile_compatibility */
    out->level = rill_read_u8(&r);
    rill_read_u8(&r);                        /* lengthSizeMinusOne */
    int nsps = rill_read_u8(&r) & 0x1f;
    if (r.err || version != 1) return RILL_ERR_CODEC;

    for (int i = 0; i < nsps; i++) {
        uint16_t len = rill_read_u16be(&r);
        const uint8_t *sps = rill_read_bytes(&r, len);
        if (!sps) return RILL_ERR_CODEC;
        /* A SPS that does not parse leaves the size unknown (0), it does
         * not make the record invalid. */
        if (i == 0 && avc_parse_sps(sps, len, &out->width, &out->height) < 0)
            out->width = out->height = 0;
    }
    int npps = rill_read_u8(&r);
    for (int i = 0; i < npps && !r.err; i++) rill_read_skip(&r, rill_read_u16be(&r));
    if (r.err) return RILL_ERR_CODEC;

    /* High profiles may append chroma/bit depth and SPS extensions; many
     * encoders leave them out, so only a partial extension is an error. */
    if (avc_high_profile(out->profile) && rill_reader_left(&r) > 0) {
        rill_read_skip(&r, 3);
        int next = rill_read_u8(&r);
        for (int i = 0; i < next && !r.err; i++) rill_read_skip(&r, rill_read_u16be(&r));
        if (r.err) return RILL_ERR_CODEC;
    }
    return RILL_OK;
}

/* ---- H.265 SPS ---- */

static int hevc_parse_sps(const uint8_t *nal, size_t n, int *width, int *height)
{
    bits_t b;
    bits_init(&b, nal, n, 1);
    if (((bits_u(&b, 16) >> 9) & 0x3f) != 33) return -1;   /* nal_unit_type */
    bits_u(&b, 4);                            /* sps_video_parameter_set_id */
    int sub_layers = (int)bits_u(&b, 3);      /* sps_max_sub_layers_minus1 */
    bits_u(&b, 1);                            /* temporal_id_nesting */

    /* profile_tier_level: 96 bits of general profile and level, then
     * per sub-layer presence flags and data. */
    bits_skip(&b, 96);
    int prof_present[8] = { 0 }, level_present[8] = { 0 };
    for (int i = 0; i < sub_layers; i++) {
        prof_present[i] = (int)bits_u(&b, 1);
        level_present[i] = (int)bits_u(&b, 1);
    }
    if (sub_layers > 0)
        for (int i = sub_layers; i < 8; i++) bits_u(&b, 2);
    for (int i = 0; i < sub_layers; i++) {
        if (prof_present[i]) bits_skip(&b, 88);
        if (level_present[i]) bits_skip(&b, 8);
    }

    bits_ue(&b);                              /* sps_seq_parameter_set_id */
    uint32_t chroma = bits_ue(&b);
    if (chroma > 3) return -1;
    uint32_t separate = chroma == 3 ? bits_u(&b, 1) : 0;
    uint32_t w = bits_ue(&b), h = bits_ue(&b);
    uint32_t win[4] = { 0, 0, 0, 0 };         /* left, right, top, bottom */
    if (bits_u(&b, 1))
        for (int i = 0; i < 4; i++) win[i] = bits_ue(&b);
    if (b.err || w == 0 || h == 0 || w > 65536 || h > 65536) return -1;

    /* Window offsets are in chroma sample units (H.265 Table 6-1). */
    uint32_t array_type = separate ? 0 : chroma;
    uint64_t ux = (array_type == 1 || array_type == 2) ? 2 : 1;
    uint64_t uy = array_type == 1 ? 2 : 1;
    return cropped_size(w, h, ux, uy, win, width, height);
}

int hevc_parse_decoder_config(const uint8_t *p, size_t n, video_params_t *out)
{
    memset(out, 0, sizeof *out);
    rill_reader_t r;
    rill_reader_init(&r, p, n);
    rill_read_u8(&r);                         /* configurationVersion */
    out->profile = rill_read_u8(&r) & 0x1f;   /* after profile_space, tier */
    rill_read_skip(&r, 4 + 6);                /* compatibility, constraint flags */
    out->level = rill_read_u8(&r);
    rill_read_skip(&r, 9);                    /* segmentation .. lengthSize */
    int narrays = rill_read_u8(&r);
    if (r.err) return RILL_ERR_CODEC;

    int have_sps = 0;
    for (int a = 0; a < narrays; a++) {
        int type = rill_read_u8(&r) & 0x3f;
        int count = rill_read_u16be(&r);
        for (int i = 0; i < count; i++) {
            uint16_t len = rill_read_u16be(&r);
            const uint8_t *nal = rill_read_bytes(&r, len);
            if (!nal) return RILL_ERR_CODEC;
            if (type == 33 && !have_sps) {
                have_sps = 1;
                if (hevc_parse_sps(nal, len, &out->width, &out->height) < 0)
                    out->width = out->height = 0;
            }
        }
        if (r.err) return RILL_ERR_CODEC;
    }
    return RILL_OK;
}

/* ---- AV1 / VP9 configuration records: profile and level only ---- */

static int av1_parse_config(const uint8_t *p, size_t n, video_params_t *out)
{
    memset(out, 0, sizeof *out);
    if (n < 4 || p[0] != 0x81) return RILL_ERR_CODEC;   /* marker 1, version 1 */
    out->profile = p[1] >> 5;
    out->level = p[1] & 0x1f;
    return RILL_OK;
}

static int vp9_parse_config(const uint8_t *p, size_t n, video_params_t *out)
{
    memset(out, 0, sizeof *out);
    if (n < 8) return RILL_ERR_CODEC;         /* FullBox header + 4 bytes */
    out->profile = p[4];
    out->level = p[5];
    return RILL_OK;
}

/* ---- AAC AudioSpecificConfig ---- */

static const int aac_rates[13] = {
    96000, 88200, 64000, 48000, 44100, 32000, 24000,
    22050, 16000, 12000, 11025, 8000, 7350,
};

static int aac_object_type(bits_t *b)
{
    int t = (int)bits_u(b, 5);
    return t == 31 ? 32 + (int)bits_u(b, 6) : t;
}

static int aac_rate(bits_t *b)
{
    uint32_t idx = bits_u(b, 4);
    if (idx == 15) return (int)bits_u(b, 24);
    return idx < 13 ? aac_rates[idx] : -1;
}

int aac_parse_audio_specific_config(const uint8_t *p, size_t n, audio_params_t *out)
{
    memset(out, 0, sizeof *out);
    bits_t b;
    bits_init(&b, p, n, 0);
    int type = aac_object_type(&b);
    int rate = aac_rate(&b);
    int chan = (int)bits_u(&b, 4);
    /* Explicit SBR/PS signalling: the output rate follows. */
    if (!b.err && (type == 5 || type == 29)) {
        rate = aac_rate(&b);
        aac_object_type(&b);
    }
    if (b.err || type == 0 || rate <= 0) return RILL_ERR_CODEC;
    out->object_type = type;
    out->sample_rate = rate;
    out->channels = chan == 7 ? 8 : (chan < 7 ? chan : 0);   /* 0: in a PCE */
    return RILL_OK;
}

/* ---- FLV audio/video tag bodies ---- */

int flv_video_probe(const uint8_t *p, size_t n, flv_video_info_t *out)
{
    memset(out, 0, sizeof *out);
    if (n < 1) return RILL_ERR_FLV;

    if (p[0] & 0x80) {
        /* Enhanced RTMP: IsExHeader | FrameType(3) | PacketType(4) | FourCC */
        if (n < 5) return RILL_ERR_FLV;
        int frame_type = (p[0] >> 4) & 7;
        int pkt = p[0] & 0x0f;
        if (pkt > 5) return RILL_ERR_FLV;    /* multitrack/ModEx: other layouts */
        out->enhanced = 1;
        out->fourcc = rill_get_u32be(p + 1);
        switch (out->fourcc) {
        case FLV_FOURCC('h', 'v', 'c', '1'): out->codec = FLV_VIDEO_HEVC; break;
        case FLV_FOURCC('a', 'v', 'c', '1'): out->codec = FLV_VIDEO_H264; break;
        case FLV_FOURCC('a', 'v', '0', '1'): out->codec = FLV_VIDEO_AV1; break;
        default: out->codec = 0; break;      /* e.g. vp09: fourcc tells */
        }
        out->keyframe = frame_type == 1;
        out->seq_header = pkt == 0;
        out->end_of_seq = pkt == 2;
        out->header_size = 5;
        /* Only AVC/HEVC CodedFrames carry a composition time. */
        if (pkt == 1 && (out->codec == FLV_VIDEO_HEVC || out->codec == FLV_VIDEO_H264)) {
            if (n < 8) return RILL_ERR_FLV;
            out->header_size = 8;
        }
        return RILL_OK;
    }

    int frame_type = p[0] >> 4;
    out->codec = p[0] & 0x0f;
    out->keyframe = frame_type == 1;
    out->header_size = 1;
    /* Frame type 5 is a one-byte video info/command, no packet type. */
    if ((out->codec == FLV_VIDEO_H264 || out->codec == FLV_VIDEO_HEVC) && frame_type != 5) {
        if (n < 5) return RILL_ERR_FLV;
        out->seq_header = p[1] == 0;
        out->end_of_seq = p[1] == 2;
        out->header_size = 5;
    }
    return RILL_OK;
}

int flv_audio_probe(const uint8_t *p, size_t n, flv_audio_info_t *out)
{
    memset(out, 0, sizeof *out);
    if (n < 1) return RILL_ERR_FLV;
    out->codec = p[0] >> 4;
    out->sound_rate = (p[0] >> 2) & 3;
    out->sound_size = (p[0] >> 1) & 1;
    out->sound_type = p[0] & 1;
    if (out->codec == FLV_AUDIO_AAC) {
        if (n < 2) return RILL_ERR_FLV;
        out->seq_header = p[1] == 0;
    }
    return RILL_OK;
}

int flv_video_parse_seq_header(const uint8_t *p, size_t n, video_params_t *out)
{
    flv_video_info_t info;
    memset(out, 0, sizeof *out);
    int rc = flv_video_probe(p, n, &info);
    if (rc < 0) return rc;
    if (!info.seq_header) return RILL_ERR_CODEC;
    const uint8_t *cfg = p + info.header_size;
    size_t len = n - info.header_size;
    if (info.codec == FLV_VIDEO_H264) return avc_parse_decoder_config(cfg, len, out);
    if (info.codec == FLV_VIDEO_HEVC) return hevc_parse_decoder_config(cfg, len, out);
    if (info.codec == FLV_VIDEO_AV1 && info.enhanced) return av1_parse_config(cfg, len, out);
    if (info.fourcc == FLV_FOURCC('v', 'p', '0', '9')) return vp9_parse_config(cfg, len, out);
    return RILL_ERR_CODEC;
}

int flv_audio_parse_seq_header(const uint8_t *p, size_t n, audio_params_t *out)
{
    flv_audio_info_t info;
    memset(out, 0, sizeof *out);
    int rc = flv_audio_probe(p, n, &info);
    if (rc < 0) return rc;
    if (info.codec != FLV_AUDIO_AAC || !info.seq_header) return RILL_ERR_CODEC;
    return aac_parse_audio_specific_config(p + 2, n - 2, out);
}

/* ---- FLV file layout ---- */

void flv_file_header(uint8_t out[FLV_FILE_HEADER_SIZE], int has_audio, int has_video)
{
    out[0] = 'F'; out[1] = 'L'; out[2] = 'V';
    out[3] = 1;
    out[4] = (uint8_t)((has_audio ? 4 : 0) | (has_video ? 1 : 0));
    rill_put_u32be(out + 5, 9);
    rill_put_u32be(out + 9, 0);               /* PreviousTagSize0 */
}

void flv_tag_header(uint8_t out[FLV_TAG_HEADER_SIZE], uint8_t type, uint32_t size, uint32_t timestamp)
{
    out[0] = type;
    rill_put_u24be(out + 1, size);
    rill_put_u24be(out + 4, timestamp & 0xffffff);
    out[7] = (uint8_t)(timestamp >> 24);      /* TimestampExtended: high byte */
    rill_put_u24be(out + 8, 0);               /* StreamID */
}

void flv_tag_trailer(uint8_t out[4], uint32_t size)
{
    rill_put_u32be(out, size + FLV_TAG_HEADER_SIZE);
}

int flv_read_file_header(const uint8_t *p, size_t n, size_t *pos)
{
    if (n < 9 || memcmp(p, "FLV", 3) != 0 || p[3] != 1) return RILL_ERR_FLV;
    uint32_t hsize = rill_get_u32be(p + 5);
    if (hsize < 9 || hsize > n || n - hsize < 4) return RILL_ERR_FLV;
    *pos = (size_t)hsize + 4;                 /* skip PreviousTagSize0 */
    return RILL_OK;
}

int flv_read_tag(const uint8_t *p, size_t n, size_t *pos, flv_tag_t *tag)
{
    if (*pos > n) return RILL_ERR_FLV;
    if (*pos == n) return 0;
    const uint8_t *t = p + *pos;
    size_t left = n - *pos;
    if (left < FLV_TAG_HEADER_SIZE) return RILL_ERR_FLV;
    uint32_t size = rill_get_u24be(t + 1);
    /* The PreviousTagSize after the data must be there too; its value is
     * not checked, writers get it wrong and nothing depends on it. */
    if (left - FLV_TAG_HEADER_SIZE < (size_t)size + 4) return RILL_ERR_FLV;
    tag->type = t[0] & 0x1f;                  /* without the filter bit */
    tag->timestamp = rill_get_u24be(t + 4) | ((uint32_t)t[7] << 24);
    tag->data = t + FLV_TAG_HEADER_SIZE;
    tag->size = size;
    *pos += FLV_TAG_HEADER_SIZE + (size_t)size + 4;
    return 1;
}
