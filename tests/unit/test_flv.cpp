// FLV tag bodies and codec headers: legacy and Enhanced RTMP video probe,
// AVC/HEVC decoder configurations from real libx264/libx265 output, AAC
// AudioSpecificConfig, FLV file/tag headers, and truncation everywhere.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

extern "C" {
#include "flv.h"
#include "rill_error.h"
}

namespace {

typedef std::vector<uint8_t> Bytes;

Bytes Cat(Bytes a, const Bytes &b)
{
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

// avcC from ffmpeg/libx264, testsrc2 640x360, High profile level 3.0:
// SPS 67 64 00 1e ... (26 bytes, bottom crop 8), PPS, and the 4 High
// profile extension bytes fd f8 f8 00.
const Bytes kAvc640x360 = {
    0x01, 0x64, 0x00, 0x1e, 0xff, 0xe1, 0x00, 0x1a, 0x67, 0x64, 0x00, 0x1e,
    0xac, 0xd9, 0x40, 0xa0, 0x2f, 0xf9, 0x70, 0x11, 0x00, 0x00, 0x03, 0x00,
    0x01, 0x00, 0x00, 0x03, 0x00, 0x32, 0x0f, 0x16, 0x2d, 0x96, 0x01, 0x00,
    0x06, 0x68, 0xeb, 0xe3, 0xcb, 0x22, 0xc0, 0xfd, 0xf8, 0xf8, 0x00,
};
const size_t kAvc640x360NoExt = kAvc640x360.size() - 4;

// libx264 642x362 (crop right 14, bottom 14 from 656x368).
const Bytes kAvc642x362 = {
    0x01, 0x64, 0x00, 0x1e, 0xff, 0xe1, 0x00, 0x1b, 0x67, 0x64, 0x00, 0x1e,
    0xac, 0xd9, 0x40, 0xa4, 0x2f, 0xe2, 0x24, 0xc0, 0x44, 0x00, 0x00, 0x03,
    0x00, 0x04, 0x00, 0x00, 0x03, 0x00, 0xc8, 0x3c, 0x58, 0xb6, 0x58, 0x01,
    0x00, 0x06, 0x68, 0xeb, 0xe3, 0xcb, 0x22, 0xc0, 0xfd, 0xf8, 0xf8, 0x00,
};

// libx264 -profile:v baseline 320x240, level 1.3.
const Bytes kAvcBaseline320x240 = {
    0x01, 0x42, 0xc0, 0x0d, 0xff, 0xe1, 0x00, 0x18, 0x67, 0x42, 0xc0, 0x0d,
    0xd9, 0x01, 0x41, 0xfb, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00, 0x10, 0x00,
    0x00, 0x03, 0x03, 0x20, 0xf1, 0x42, 0xa4, 0x80, 0x01, 0x00, 0x05, 0x68,
    0xcb, 0x83, 0xcb, 0x20,
};

// hvcC from ffmpeg/libx265 1280x720 Main level 3.1 (93), VPS/SPS/PPS only
// (the SEI array dropped). The SPS profile_tier_level holds 00 00 03
// emulation prevention bytes.
const Bytes kHevc1280x720 = {
    0x01, 0x01, 0x60, 0x00, 0x00, 0x00, 0x90, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x5d, 0xf0, 0x00, 0xfc, 0xfd, 0xf8, 0xf8, 0x00, 0x00, 0x0f, 0x03, 0xa0,
    0x00, 0x01, 0x00, 0x18, 0x40, 0x01, 0x0c, 0x01, 0xff, 0xff, 0x01, 0x60,
    0x00, 0x00, 0x03, 0x00, 0x90, 0x00, 0x00, 0x03, 0x00, 0x00, 0x03, 0x00,
    0x5d, 0x95, 0x98, 0x09, 0xa1, 0x00, 0x01, 0x00, 0x2b, 0x42, 0x01, 0x01,
    0x01, 0x60, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00, 0x00, 0x03, 0x00, 0x00,
    0x03, 0x00, 0x5d, 0xa0, 0x02, 0x80, 0x80, 0x2d, 0x16, 0x59, 0x59, 0xa4,
    0x93, 0x2b, 0xc0, 0x5a, 0x02, 0x00, 0x00, 0x03, 0x00, 0x02, 0x00, 0x00,
    0x03, 0x00, 0x32, 0x10, 0xa2, 0x00, 0x01, 0x00, 0x07, 0x44, 0x01, 0xc1,
    0x72, 0xb4, 0x62, 0x40,
};

// libx265 642x362, level 2.1 (63): coded 648x368 with a conformance window.
const Bytes kHevc642x362 = {
    0x01, 0x01, 0x60, 0x00, 0x00, 0x00, 0x90, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x3f, 0xf0, 0x00, 0xfc, 0xfd, 0xf8, 0xf8, 0x00, 0x00, 0x0f, 0x03, 0xa0,
    0x00, 0x01, 0x00, 0x18, 0x40, 0x01, 0x0c, 0x01, 0xff, 0xff, 0x01, 0x60,
    0x00, 0x00, 0x03, 0x00, 0x90, 0x00, 0x00, 0x03, 0x00, 0x00, 0x03, 0x00,
    0x3f, 0x95, 0x98, 0x09, 0xa1, 0x00, 0x01, 0x00, 0x2c, 0x42, 0x01, 0x01,
    0x01, 0x60, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00, 0x00, 0x03, 0x00, 0x00,
    0x03, 0x00, 0x3f, 0xa0, 0x05, 0x12, 0x01, 0x71, 0xc9, 0x26, 0x59, 0x59,
    0xa4, 0x93, 0x2b, 0xc0, 0x5a, 0x02, 0x00, 0x00, 0x03, 0x00, 0x02, 0x00,
    0x00, 0x03, 0x00, 0x32, 0x10, 0xa2, 0x00, 0x01, 0x00, 0x07, 0x44, 0x01,
    0xc1, 0x72, 0xb4, 0x62, 0x40,
};

const Bytes kAvcSeqPrefix = { 0x17, 0x00, 0x00, 0x00, 0x00 };
const Bytes kHevcLegacySeqPrefix = { 0x1c, 0x00, 0x00, 0x00, 0x00 };
const Bytes kHvc1SeqStart = { 0x90, 'h', 'v', 'c', '1' };

// MSB-first bit writer, for hand-made SPS and AudioSpecificConfig.
struct BitWriter {
    Bytes out;
    int bits = 0;
    void U(uint64_t v, int n)
    {
        for (int i = n - 1; i >= 0; i--) {
            if (bits % 8 == 0) out.push_back(0);
            if ((v >> i) & 1) out.back() |= (uint8_t)(0x80 >> (bits % 8));
            bits++;
        }
    }
    void Ue(uint32_t v)
    {
        uint64_t x = (uint64_t)v + 1;
        int len = 0;
        while ((x >> len) > 1) len++;
        U(0, len);
        U(x, len + 1);
    }
    void Trailing() { U(1, 1); while (bits % 8) U(0, 1); }
};

// RBSP -> NAL payload: insert emulation prevention bytes.
Bytes Escape(const Bytes &rbsp)
{
    Bytes out;
    int zeros = 0;
    for (uint8_t b : rbsp) {
        if (zeros >= 2 && b <= 3) { out.push_back(3); zeros = 0; }
        out.push_back(b);
        zeros = b == 0 ? zeros + 1 : 0;
    }
    return out;
}

Bytes AvcRecord(const Bytes &sps)
{
    Bytes r = { 0x01, sps.size() > 1 ? sps[1] : (uint8_t)0, 0x00, 0x1e, 0xff, 0xe1,
                (uint8_t)(sps.size() >> 8), (uint8_t)sps.size() };
    r = Cat(r, sps);
    return Cat(r, { 0x01, 0x00, 0x02, 0x68, 0xce });
}

}  // namespace

// ---- video probe: legacy ----

TEST(FlvVideoProbe, AvcKeyframeNalu)
{
    const uint8_t m[] = { 0x17, 0x01, 0x00, 0x00, 0x42, 0x00, 0x00, 0x00, 0x02, 0x09, 0xf0 };
    flv_video_info_t v;
    ASSERT_EQ(flv_video_probe(m, sizeof m, &v), RILL_OK);
    EXPECT_EQ(v.codec, FLV_VIDEO_H264);
    EXPECT_EQ(v.keyframe, 1);
    EXPECT_EQ(v.seq_header, 0);
    EXPECT_EQ(v.end_of_seq, 0);
    EXPECT_EQ(v.enhanced, 0);
    EXPECT_EQ(v.fourcc, 0u);
    EXPECT_EQ(v.header_size, 5u);
}

TEST(FlvVideoProbe, AvcSequenceHeader)
{
    Bytes m = Cat(kAvcSeqPrefix, kAvc640x360);
    flv_video_info_t v;
    ASSERT_EQ(flv_video_probe(m.data(), m.size(), &v), RILL_OK);
    EXPECT_EQ(v.codec, FLV_VIDEO_H264);
    EXPECT_EQ(v.seq_header, 1);
    EXPECT_EQ(v.keyframe, 1);
    EXPECT_EQ(v.header_size, 5u);
}

TEST(FlvVideoProbe, AvcInterframeAndEndOfSequence)
{
    const uint8_t inter[] = { 0x27, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x41 };
    flv_video_info_t v;
    ASSERT_EQ(flv_video_probe(inter, sizeof inter, &v), RILL_OK);
    EXPECT_EQ(v.codec, FLV_VIDEO_H264);
    EXPECT_EQ(v.keyframe, 0);
    EXPECT_EQ(v.seq_header, 0);

    const uint8_t eos[] = { 0x17, 0x02, 0x00, 0x00, 0x00 };
    ASSERT_EQ(flv_video_probe(eos, sizeof eos, &v), RILL_OK);
    EXPECT_EQ(v.end_of_seq, 1);
    EXPECT_EQ(v.seq_header, 0);
}

TEST(FlvVideoProbe, AvcVideoInfoCommandFrame)
{
    const uint8_t cmd[] = { 0x57, 0x00 };
    flv_video_info_t v;
    ASSERT_EQ(flv_video_probe(cmd, sizeof cmd, &v), RILL_OK);
    EXPECT_EQ(v.codec, FLV_VIDEO_H264);
    EXPECT_EQ(v.keyframe, 0);
    EXPECT_EQ(v.seq_header, 0);
}

TEST(FlvVideoProbe, HevcLegacyId12)
{
    Bytes seq = Cat(kHevcLegacySeqPrefix, kHevc1280x720);
    flv_video_info_t v;
    ASSERT_EQ(flv_video_probe(seq.data(), seq.size(), &v), RILL_OK);
    EXPECT_EQ(v.codec, FLV_VIDEO_HEVC);
    EXPECT_EQ(v.seq_header, 1);
    EXPECT_EQ(v.enhanced, 0);
    EXPECT_EQ(v.header_size, 5u);

    const uint8_t key[] = { 0x1c, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x26, 0x01, 0xaf };
    ASSERT_EQ(flv_video_probe(key, sizeof key, &v), RILL_OK);
    EXPECT_EQ(v.codec, FLV_VIDEO_HEVC);
    EXPECT_EQ(v.keyframe, 1);
    EXPECT_EQ(v.seq_header, 0);

    const uint8_t inter[] = { 0x2c, 0x01, 0x00, 0x00, 0x21 };
    ASSERT_EQ(flv_video_probe(inter, sizeof inter, &v), RILL_OK);
    EXPECT_EQ(v.keyframe, 0);

    video_params_t p;
    ASSERT_EQ(flv_video_parse_seq_header(seq.data(), seq.size(), &p), RILL_OK);
    EXPECT_EQ(p.profile, 1);
    EXPECT_EQ(p.level, 93);
    EXPECT_EQ(p.width, 1280);
    EXPECT_EQ(p.height, 720);
}

TEST(FlvVideoProbe, OtherLegacyCodecsHaveOneByteHeader)
{
    const uint8_t vp6[] = { 0x14, 0x00 };
    flv_video_info_t v;
    ASSERT_EQ(flv_video_probe(vp6, sizeof vp6, &v), RILL_OK);
    EXPECT_EQ(v.codec, FLV_VIDEO_VP6);
    EXPECT_EQ(v.keyframe, 1);
    EXPECT_EQ(v.header_size, 1u);
}

TEST(FlvVideoProbe, TooShortIsAnError)
{
    flv_video_info_t v;
    const uint8_t m[] = { 0x17, 0x01, 0x00, 0x00 };
    EXPECT_EQ(flv_video_probe(m, 0, &v), RILL_ERR_FLV);
    for (size_t n = 1; n < sizeof m + 1; n++)
        EXPECT_EQ(flv_video_probe(m, n, &v), RILL_ERR_FLV) << n;
}

// ---- video probe: Enhanced RTMP ----

TEST(FlvVideoProbe, EnhancedHvc1SequenceStart)
{
    Bytes m = Cat(kHvc1SeqStart, kHevc1280x720);
    flv_video_info_t v;
    ASSERT_EQ(flv_video_probe(m.data(), m.size(), &v), RILL_OK);
    EXPECT_EQ(v.enhanced, 1);
    EXPECT_EQ(v.fourcc, FLV_FOURCC('h', 'v', 'c', '1'));
    EXPECT_EQ(v.codec, FLV_VIDEO_HEVC);
    EXPECT_EQ(v.seq_header, 1);
    EXPECT_EQ(v.keyframe, 1);
    EXPECT_EQ(v.header_size, 5u);

    video_params_t p;
    ASSERT_EQ(flv_video_parse_seq_header(m.data(), m.size(), &p), RILL_OK);
    EXPECT_EQ(p.profile, 1);
    EXPECT_EQ(p.level, 93);
    EXPECT_EQ(p.width, 1280);
    EXPECT_EQ(p.height, 720);
}

TEST(FlvVideoProbe, EnhancedHvc1CodedFramesKeyframe)
{
    const uint8_t m[] = { 0x91, 'h', 'v', 'c', '1', 0x00, 0x00, 0x28,
                          0x00, 0x00, 0x00, 0x03, 0x26, 0x01, 0xaf };
    flv_video_info_t v;
    ASSERT_EQ(flv_video_probe(m, sizeof m, &v), RILL_OK);
    EXPECT_EQ(v.enhanced, 1);
    EXPECT_EQ(v.codec, FLV_VIDEO_HEVC);
    EXPECT_EQ(v.keyframe, 1);
    EXPECT_EQ(v.seq_header, 0);
    EXPECT_EQ(v.header_size, 8u);  // composition time present
    // Seven bytes cannot hold the composition time.
    EXPECT_EQ(flv_video_probe(m, 7, &v), RILL_ERR_FLV);
}

TEST(FlvVideoProbe, EnhancedHvc1CodedFramesX)
{
    const uint8_t key[] = { 0x93, 'h', 'v', 'c', '1', 0x00, 0x00, 0x00, 0x03, 0x26 };
    flv_video_info_t v;
    ASSERT_EQ(flv_video_probe(key, sizeof key, &v), RILL_OK);
    EXPECT_EQ(v.keyframe, 1);
    EXPECT_EQ(v.seq_header, 0);
    EXPECT_EQ(v.header_size, 5u);  // no composition time

    const uint8_t inter[] = { 0xa3, 'h', 'v', 'c', '1', 0x00, 0x00, 0x00, 0x03, 0x02 };
    ASSERT_EQ(flv_video_probe(inter, sizeof inter, &v), RILL_OK);
    EXPECT_EQ(v.keyframe, 0);
    EXPECT_EQ(v.header_size, 5u);
}

TEST(FlvVideoProbe, EnhancedOtherPacketsAndFourccs)
{
    flv_video_info_t v;
    const uint8_t end[] = { 0x92, 'h', 'v', 'c', '1' };
    ASSERT_EQ(flv_video_probe(end, sizeof end, &v), RILL_OK);
    EXPECT_EQ(v.end_of_seq, 1);

    const uint8_t av1[] = { 0x91, 'a', 'v', '0', '1', 0x12, 0x00 };
    ASSERT_EQ(flv_video_probe(av1, sizeof av1, &v), RILL_OK);
    EXPECT_EQ(v.codec, FLV_VIDEO_AV1);
    EXPECT_EQ(v.header_size, 5u);  // only AVC/HEVC carry a composition time

    const uint8_t avc[] = { 0x91, 'a', 'v', 'c', '1', 0x00, 0x00, 0x00, 0x00 };
    ASSERT_EQ(flv_video_probe(avc, sizeof avc, &v), RILL_OK);
    EXPECT_EQ(v.codec, FLV_VIDEO_H264);
    EXPECT_EQ(v.header_size, 8u);

    const uint8_t vp9[] = { 0xa1, 'v', 'p', '0', '9', 0x00 };
    ASSERT_EQ(flv_video_probe(vp9, sizeof vp9, &v), RILL_OK);
    EXPECT_EQ(v.fourcc, FLV_FOURCC('v', 'p', '0', '9'));
    EXPECT_EQ(v.keyframe, 0);

    const uint8_t meta[] = { 0x94, 'h', 'v', 'c', '1', 0x02 };
    ASSERT_EQ(flv_video_probe(meta, sizeof meta, &v), RILL_OK);
    EXPECT_EQ(v.seq_header, 0);

    // Multitrack (6) has a different layout: not classified.
    const uint8_t multi[] = { 0x96, 0x00, 'h', 'v', 'c', '1' };
    EXPECT_EQ(flv_video_probe(multi, sizeof multi, &v), RILL_ERR_FLV);

    for (size_t n = 0; n < 5; n++) EXPECT_EQ(flv_video_probe(end, n, &v), RILL_ERR_FLV);
}

TEST(FlvVideoProbe, EnhancedAvc1SequenceStart)
{
    Bytes m = Cat({ 0x90, 'a', 'v', 'c', '1' }, kAvc640x360);
    video_params_t p;
    ASSERT_EQ(flv_video_parse_seq_header(m.data(), m.size(), &p), RILL_OK);
    EXPECT_EQ(p.width, 640);
    EXPECT_EQ(p.height, 360);
}

TEST(FlvVideoProbe, EnhancedAv1SequenceStartProfileLevel)
{
    // av1C: marker|version 0x81, seq_profile 0, seq_level_idx_0 8.
    const uint8_t m[] = { 0x90, 'a', 'v', '0', '1', 0x81, 0x08, 0x0c, 0x00 };
    video_params_t p;
    ASSERT_EQ(flv_video_parse_seq_header(m, sizeof m, &p), RILL_OK);
    EXPECT_EQ(p.profile, 0);
    EXPECT_EQ(p.level, 8);
    EXPECT_EQ(flv_video_parse_seq_header(m, sizeof m - 1, &p), RILL_ERR_CODEC);
}

TEST(FlvVideoProbe, ParseSeqHeaderRejectsNonSequenceHeader)
{
    const uint8_t m[] = { 0x17, 0x01, 0x00, 0x00, 0x00, 0x00 };
    video_params_t p;
    EXPECT_EQ(flv_video_parse_seq_header(m, sizeof m, &p), RILL_ERR_CODEC);
    const uint8_t vp6[] = { 0x14, 0x00 };
    EXPECT_EQ(flv_video_parse_seq_header(vp6, sizeof vp6, &p), RILL_ERR_CODEC);
}

// ---- AVC decoder configuration ----

TEST(AvcConfig, Libx264High640x360)
{
    video_params_t p;
    ASSERT_EQ(avc_parse_decoder_config(kAvc640x360.data(), kAvc640x360.size(), &p), RILL_OK);
    EXPECT_EQ(p.profile, 100);
    EXPECT_EQ(p.level, 30);
    EXPECT_EQ(p.width, 640);
    EXPECT_EQ(p.height, 360);

    // Same through the FLV message.
    Bytes m = Cat(kAvcSeqPrefix, kAvc640x360);
    ASSERT_EQ(flv_video_parse_seq_header(m.data(), m.size(), &p), RILL_OK);
    EXPECT_EQ(p.width, 640);
    EXPECT_EQ(p.height, 360);
    EXPECT_EQ(p.profile, 100);
}

TEST(AvcConfig, Libx264CroppedOddSize)
{
    video_params_t p;
    ASSERT_EQ(avc_parse_decoder_config(kAvc642x362.data(), kAvc642x362.size(), &p), RILL_OK);
    EXPECT_EQ(p.width, 642);
    EXPECT_EQ(p.height, 362);
}

TEST(AvcConfig, Libx264Baseline)
{
    video_params_t p;
    ASSERT_EQ(avc_parse_decoder_config(kAvcBaseline320x240.data(), kAvcBaseline320x240.size(), &p), RILL_OK);
    EXPECT_EQ(p.profile, 66);
    EXPECT_EQ(p.level, 13);
    EXPECT_EQ(p.width, 320);
    EXPECT_EQ(p.height, 240);
}

TEST(AvcConfig, HighProfileWithoutExtensionIsAccepted)
{
    video_params_t p;
    ASSERT_EQ(avc_parse_decoder_config(kAvc640x360.data(), kAvc640x360NoExt, &p), RILL_OK);
    EXPECT_EQ(p.width, 640);
}

TEST(AvcConfig, HandMadeInterlacedSpsWithCropAndEmulationBytes)
{
    // Main profile 720x576 interlaced (frame_mbs_only 0), crop bottom 1
    // -> 4 lines; pic order type 1 with a cycle to exercise se().
    BitWriter w;
    w.U(0x67, 8);
    w.U(77, 8); w.U(0, 8); w.U(30, 8);
    w.Ue(0);            // sps id
    w.Ue(0);            // log2_max_frame_num_minus4
    w.Ue(1);            // poc type 1
    w.U(0, 1);
    w.Ue(3); w.Ue(4);   // offset_for_non_ref_pic -2, top_to_bottom +2
    w.Ue(2); w.Ue(1); w.Ue(2);
    w.Ue(1);            // max_num_ref_frames
    w.U(0, 1);
    w.Ue(44);           // 45 mbs wide
    w.Ue(17);           // 18 map units -> 36 mbs of field pairs
    w.U(0, 1);          // frame_mbs_only 0
    w.U(0, 1);          // mbaff
    w.U(1, 1);          // direct_8x8
    w.U(1, 1);          // cropping
    w.Ue(0); w.Ue(0); w.Ue(0); w.Ue(1);
    w.U(0, 1);          // no VUI
    w.Trailing();
    Bytes sps = Escape(w.out);
    video_params_t p;
    Bytes rec = AvcRecord(sps);
    ASSERT_EQ(avc_parse_decoder_config(rec.data(), rec.size(), &p), RILL_OK);
    EXPECT_EQ(p.profile, 77);
    EXPECT_EQ(p.width, 720);
    EXPECT_EQ(p.height, 572);
}

TEST(AvcConfig, HighProfile422WithScalingMatrix)
{
    // High 4:2:2 (122), chroma_format_idc 2, a scaling list present, and a
    // sizes whose ue() coding produces 00 00 runs escaped with 03.
    BitWriter w;
    w.U(0x67, 8);
    w.U(122, 8); w.U(0, 8); w.U(40, 8);
    w.Ue(0);
    w.Ue(2);            // chroma_format_idc 4:2:2
    w.Ue(0); w.Ue(0);   // bit depths
    w.U(0, 1);
    w.U(1, 1);          // seq_scaling_matrix_present
    w.U(1, 1);          // list 0 present: 16 entries, all delta 0 (se 0 = '1')
    for (int i = 0; i < 16; i++) w.Ue(0);
    for (int i = 1; i < 8; i++) w.U(0, 1);
    w.Ue(0); w.Ue(2);   // frame num, poc type 2
    w.Ue(1); w.U(0, 1);
    w.Ue(4095);         // 4096 mbs wide: long zero prefix
    w.Ue(0);            // 1 mb high
    w.U(1, 1); w.U(1, 1);
    w.U(1, 1);          // cropping: 4:2:2 -> x unit 2, y unit 1
    w.Ue(1); w.Ue(2); w.Ue(3); w.Ue(4);
    w.U(0, 1);
    w.Trailing();
    Bytes rec = AvcRecord(Escape(w.out));
    video_params_t p;
    ASSERT_EQ(avc_parse_decoder_config(rec.data(), rec.size(), &p), RILL_OK);
    EXPECT_EQ(p.width, 4096 * 16 - 2 * 3);
    EXPECT_EQ(p.height, 16 - 7);
}

TEST(AvcConfig, HugeScalingDeltaIsRefusedNotOverflowed)
{
    // Found by fuzz_flv: a High profile SPS whose scaling list carries a
    // delta_scale of about 2^31 (a 31-zero ue() prefix); adding it to the
    // last scale overflowed an int (UBSan aborts this test without the fix).
    // The SPS is now refused; the record is cut short after it anyway.
    const uint8_t m[] = {
        0x17, 0x00, 0x00, 0x00, 0x00, 0x01, 0x64, 0x00, 0x0d, 0xff, 0xe1, 0x00,
        0x19, 0x67, 0x64, 0x00, 0x00, 0xff, 0x47, 0x0a, 0x00, 0x00, 0x00, 0x00,
        0xff, 0xff, 0xff, 0x0e, 0x35, 0x35, 0x00, 0x27, 0x35, 0x35, 0x35, 0x35,
        0x35, 0x35, 0x35, 0x35, 0x35, 0xf8, 0x00,
    };
    video_params_t p;
    EXPECT_EQ(flv_video_parse_seq_header(m, sizeof m, &p), RILL_ERR_CODEC);
    EXPECT_EQ(p.width, 0);
    EXPECT_EQ(p.height, 0);
}

TEST(AvcConfig, UnparsableSpsLeavesSizeZero)
{
    Bytes rec = AvcRecord({ 0x67, 0x64 });
    video_params_t p;
    ASSERT_EQ(avc_parse_decoder_config(rec.data(), rec.size(), &p), RILL_OK);
    EXPECT_EQ(p.width, 0);
    EXPECT_EQ(p.height, 0);

    // A NAL that is not an SPS.
    rec = AvcRecord({ 0x68, 0xce, 0x38, 0x80 });
    ASSERT_EQ(avc_parse_decoder_config(rec.data(), rec.size(), &p), RILL_OK);
    EXPECT_EQ(p.width, 0);
}

TEST(AvcConfig, BadVersionRejected)
{
    Bytes rec = kAvc640x360;
    rec[0] = 0;
    video_params_t p;
    EXPECT_EQ(avc_parse_decoder_config(rec.data(), rec.size(), &p), RILL_ERR_CODEC);
}

TEST(AvcConfig, TruncationAtEveryLength)
{
    video_params_t p;
    for (const Bytes *rec : { &kAvc640x360, &kAvc642x362, &kAvcBaseline320x240 }) {
        for (size_t n = 0; n < rec->size(); n++) {
            // A High profile record may end right after the PPS (no
            // extension); that is a complete record, not a truncation.
            if (rec->size() - n == 4 && (*rec)[1] == 100) {
                EXPECT_EQ(avc_parse_decoder_config(rec->data(), n, &p), RILL_OK);
                continue;
            }
            EXPECT_EQ(avc_parse_decoder_config(rec->data(), n, &p), RILL_ERR_CODEC) << n;
        }
    }
    Bytes m = Cat(kAvcSeqPrefix, kAvcBaseline320x240);
    for (size_t n = 0; n < m.size(); n++)
        EXPECT_LT(flv_video_parse_seq_header(m.data(), n, &p), 0) << n;
}

// ---- HEVC decoder configuration ----

TEST(HevcConfig, Libx265Main1280x720)
{
    video_params_t p;
    ASSERT_EQ(hevc_parse_decoder_config(kHevc1280x720.data(), kHevc1280x720.size(), &p), RILL_OK);
    EXPECT_EQ(p.profile, 1);
    EXPECT_EQ(p.level, 93);
    EXPECT_EQ(p.width, 1280);
    EXPECT_EQ(p.height, 720);
}

TEST(HevcConfig, Libx265ConformanceWindow)
{
    video_params_t p;
    ASSERT_EQ(hevc_parse_decoder_config(kHevc642x362.data(), kHevc642x362.size(), &p), RILL_OK);
    EXPECT_EQ(p.level, 63);
    EXPECT_EQ(p.width, 642);
    EXPECT_EQ(p.height, 362);
}

TEST(HevcConfig, HandMadeProfileLevelWithoutArrays)
{
    // Main 10 (2), level 4.1 (123), zero arrays: profile/level only.
    Bytes rec(23, 0);
    rec[0] = 1;
    rec[1] = 0x02;
    rec[12] = 123;
    video_params_t p;
    ASSERT_EQ(hevc_parse_decoder_config(rec.data(), rec.size(), &p), RILL_OK);
    EXPECT_EQ(p.profile, 2);
    EXPECT_EQ(p.level, 123);
    EXPECT_EQ(p.width, 0);
}

TEST(HevcConfig, TruncationAtEveryLength)
{
    video_params_t p;
    for (const Bytes *rec : { &kHevc1280x720, &kHevc642x362 })
        for (size_t n = 0; n < rec->size(); n++)
            EXPECT_EQ(hevc_parse_decoder_config(rec->data(), n, &p), RILL_ERR_CODEC) << n;
    Bytes m = Cat(kHvc1SeqStart, kHevc642x362);
    for (size_t n = 0; n < m.size(); n++)
        EXPECT_LT(flv_video_parse_seq_header(m.data(), n, &p), 0) << n;
    m = Cat(kHevcLegacySeqPrefix, kHevc642x362);
    for (size_t n = 0; n < m.size(); n++)
        EXPECT_LT(flv_video_parse_seq_header(m.data(), n, &p), 0) << n;
}

// ---- audio ----

TEST(FlvAudio, AacSequenceHeader44100Stereo)
{
    const uint8_t m[] = { 0xaf, 0x00, 0x12, 0x10 };
    flv_audio_info_t a;
    ASSERT_EQ(flv_audio_probe(m, sizeof m, &a), RILL_OK);
    EXPECT_EQ(a.codec, FLV_AUDIO_AAC);
    EXPECT_EQ(a.seq_header, 1);
    EXPECT_EQ(a.sound_rate, 3);
    EXPECT_EQ(a.sound_size, 1);
    EXPECT_EQ(a.sound_type, 1);

    audio_params_t p;
    ASSERT_EQ(flv_audio_parse_seq_header(m, sizeof m, &p), RILL_OK);
    EXPECT_EQ(p.object_type, 2);
    EXPECT_EQ(p.sample_rate, 44100);
    EXPECT_EQ(p.channels, 2);
}

TEST(FlvAudio, AacRawFrameIsNotSequenceHeader)
{
    const uint8_t m[] = { 0xaf, 0x01, 0x21, 0x10, 0x04 };
    flv_audio_info_t a;
    ASSERT_EQ(flv_audio_probe(m, sizeof m, &a), RILL_OK);
    EXPECT_EQ(a.seq_header, 0);
    audio_params_t p;
    EXPECT_EQ(flv_audio_parse_seq_header(m, sizeof m, &p), RILL_ERR_CODEC);
}

TEST(FlvAudio, Mp3AndShortMessages)
{
    const uint8_t mp3[] = { 0x2e, 0xff };
    flv_audio_info_t a;
    ASSERT_EQ(flv_audio_probe(mp3, sizeof mp3, &a), RILL_OK);
    EXPECT_EQ(a.codec, FLV_AUDIO_MP3);
    EXPECT_EQ(a.sound_rate, 3);
    EXPECT_EQ(a.sound_size, 1);
    EXPECT_EQ(a.sound_type, 0);
    EXPECT_EQ(a.seq_header, 0);
    audio_params_t p;
    EXPECT_EQ(flv_audio_parse_seq_header(mp3, sizeof mp3, &p), RILL_ERR_CODEC);

    const uint8_t aac[] = { 0xaf, 0x00 };
    EXPECT_EQ(flv_audio_probe(aac, 0, &a), RILL_ERR_FLV);
    EXPECT_EQ(flv_audio_probe(aac, 1, &a), RILL_ERR_FLV);
}

TEST(AacConfig, Lc48000Stereo)
{
    const uint8_t asc[] = { 0x11, 0x90 };
    audio_params_t p;
    ASSERT_EQ(aac_parse_audio_specific_config(asc, sizeof asc, &p), RILL_OK);
    EXPECT_EQ(p.object_type, 2);
    EXPECT_EQ(p.sample_rate, 48000);
    EXPECT_EQ(p.channels, 2);
}

TEST(AacConfig, MonoAnd71)
{
    const uint8_t mono[] = { 0x12, 0x08 };   // LC 44100 mono
    audio_params_t p;
    ASSERT_EQ(aac_parse_audio_specific_config(mono, sizeof mono, &p), RILL_OK);
    EXPECT_EQ(p.channels, 1);
    const uint8_t c71[] = { 0x11, 0xb8 };    // LC 48000 config 7 -> 8 channels
    ASSERT_EQ(aac_parse_audio_specific_config(c71, sizeof c71, &p), RILL_OK);
    EXPECT_EQ(p.channels, 8);
}

TEST(AacConfig, ExplicitRateAndEscapedObjectType)
{
    BitWriter w;
    w.U(31, 5); w.U(10, 6);     // object type 32 + 10 = 42
    w.U(15, 4); w.U(22222, 24); // explicit rate
    w.U(1, 4);
    w.Trailing();
    audio_params_t p;
    ASSERT_EQ(aac_parse_audio_specific_config(w.out.data(), w.out.size(), &p), RILL_OK);
    EXPECT_EQ(p.object_type, 42);
    EXPECT_EQ(p.sample_rate, 22222);
    EXPECT_EQ(p.channels, 1);
    for (size_t n = 0; n < 5; n++)  // bits end inside the channel field
        EXPECT_EQ(aac_parse_audio_specific_config(w.out.data(), n, &p), RILL_ERR_CODEC) << n;
}

TEST(AacConfig, HeAacExplicitSignallingReportsOutputRate)
{
    BitWriter w;
    w.U(5, 5); w.U(6, 4);       // SBR, core 24000
    w.U(2, 4);                  // stereo
    w.U(3, 4);                  // extension rate 48000
    w.U(2, 5);                  // core object type LC
    w.Trailing();
    audio_params_t p;
    ASSERT_EQ(aac_parse_audio_specific_config(w.out.data(), w.out.size(), &p), RILL_OK);
    EXPECT_EQ(p.object_type, 5);
    EXPECT_EQ(p.sample_rate, 48000);
    EXPECT_EQ(p.channels, 2);
    for (size_t n = 0; n < w.out.size(); n++)
        EXPECT_EQ(aac_parse_audio_specific_config(w.out.data(), n, &p), RILL_ERR_CODEC) << n;
}

TEST(AacConfig, InvalidValuesRejected)
{
    audio_params_t p;
    const uint8_t reserved_rate[] = { 0x16, 0x90 };  // index 13
    EXPECT_EQ(aac_parse_audio_specific_config(reserved_rate, 2, &p), RILL_ERR_CODEC);
    const uint8_t zero_type[] = { 0x02, 0x10 };
    EXPECT_EQ(aac_parse_audio_specific_config(zero_type, 2, &p), RILL_ERR_CODEC);
}

TEST(AacConfig, TruncationAtEveryLength)
{
    const uint8_t m[] = { 0xaf, 0x00, 0x12, 0x10 };
    audio_params_t p;
    for (size_t n = 0; n < sizeof m; n++)
        EXPECT_LT(flv_audio_parse_seq_header(m, n, &p), 0) << n;
    for (size_t n = 0; n < 2; n++)
        EXPECT_EQ(aac_parse_audio_specific_config(m + 2, n, &p), RILL_ERR_CODEC) << n;
}

// ---- robustness: random and mutated input never crashes ----

TEST(FlvRobustness, RandomAndMutatedInputs)
{
    uint32_t x = 12345;
    auto rnd = [&x]() { x ^= x << 13; x ^= x >> 17; x ^= x << 5; return x; };
    const Bytes *recs[] = { &kAvc640x360, &kAvc642x362, &kAvcBaseline320x240,
                            &kHevc1280x720, &kHevc642x362 };
    video_params_t vp;
    audio_params_t ap;
    flv_video_info_t vi;
    flv_audio_info_t ai;
    for (int i = 0; i < 20000; i++) {
        Bytes b = *recs[i % 5];
        int flips = 1 + rnd() % 4;
        for (int k = 0; k < flips; k++) b[rnd() % b.size()] ^= (uint8_t)(1u << (rnd() % 8));
        size_t n = rnd() % (b.size() + 1);
        // Exact-size heap copies so ASan sees any overread.
        Bytes c(b.begin(), b.begin() + n);
        uint8_t *d = c.empty() ? nullptr : c.data();
        avc_parse_decoder_config(d, n, &vp);
        hevc_parse_decoder_config(d, n, &vp);
        aac_parse_audio_specific_config(d, n, &ap);
        flv_video_probe(d, n, &vi);
        flv_audio_probe(d, n, &ai);
        flv_video_parse_seq_header(d, n, &vp);
        flv_audio_parse_seq_header(d, n, &ap);
        size_t pos;
        if (flv_read_file_header(d, n, &pos) == RILL_OK) {
            flv_tag_t t;
            while (flv_read_tag(d, n, &pos, &t) == 1) {}
        }
    }
}

// ---- FLV file and tag headers ----

TEST(FlvFile, FileHeader)
{
    uint8_t h[FLV_FILE_HEADER_SIZE];
    flv_file_header(h, 1, 1);
    const uint8_t want[] = { 'F', 'L', 'V', 1, 5, 0, 0, 0, 9, 0, 0, 0, 0 };
    EXPECT_EQ(memcmp(h, want, sizeof want), 0);
    flv_file_header(h, 0, 1);
    EXPECT_EQ(h[4], 1);
    flv_file_header(h, 1, 0);
    EXPECT_EQ(h[4], 4);

    size_t pos = 0;
    ASSERT_EQ(flv_read_file_header(h, sizeof h, &pos), RILL_OK);
    EXPECT_EQ(pos, 13u);
    for (size_t n = 0; n < sizeof h; n++)
        EXPECT_EQ(flv_read_file_header(h, n, &pos), RILL_ERR_FLV) << n;
    uint8_t bad[FLV_FILE_HEADER_SIZE];
    memcpy(bad, h, sizeof bad);
    bad[0] = 'G';
    EXPECT_EQ(flv_read_file_header(bad, sizeof bad, &pos), RILL_ERR_FLV);
    memcpy(bad, h, sizeof bad);
    bad[3] = 2;
    EXPECT_EQ(flv_read_file_header(bad, sizeof bad, &pos), RILL_ERR_FLV);
    memcpy(bad, h, sizeof bad);
    bad[8] = 8;  // header size below 9
    EXPECT_EQ(flv_read_file_header(bad, sizeof bad, &pos), RILL_ERR_FLV);
}

TEST(FlvFile, TagHeaderLayout)
{
    uint8_t t[FLV_TAG_HEADER_SIZE];
    flv_tag_header(t, FLV_TAG_VIDEO, 0x123456, 0x89abcdef);
    const uint8_t want[] = { 9, 0x12, 0x34, 0x56, 0xab, 0xcd, 0xef, 0x89, 0, 0, 0 };
    EXPECT_EQ(memcmp(t, want, sizeof want), 0);
    uint8_t tr[4];
    flv_tag_trailer(tr, 0x123456);
    const uint8_t want_tr[] = { 0x00, 0x12, 0x34, 0x61 };
    EXPECT_EQ(memcmp(tr, want_tr, 4), 0);
}

namespace {

struct Tag { uint8_t type; uint32_t ts; Bytes data; };

Bytes BuildFlv(const std::vector<Tag> &tags)
{
    Bytes out(FLV_FILE_HEADER_SIZE);
    flv_file_header(out.data(), 1, 1);
    for (const Tag &t : tags) {
        uint8_t h[FLV_TAG_HEADER_SIZE], tr[4];
        flv_tag_header(h, t.type, (uint32_t)t.data.size(), t.ts);
        flv_tag_trailer(tr, (uint32_t)t.data.size());
        out.insert(out.end(), h, h + sizeof h);
        out.insert(out.end(), t.data.begin(), t.data.end());
        out.insert(out.end(), tr, tr + 4);
    }
    return out;
}

}  // namespace

TEST(FlvFile, BuildReadRoundTripWithLargeTimestamps)
{
    std::vector<Tag> tags = {
        { FLV_TAG_SCRIPT, 0, { 0x02, 0x00, 0x0a } },
        { FLV_TAG_VIDEO, 0, Cat(kAvcSeqPrefix, kAvc640x360) },
        { FLV_TAG_AUDIO, 0, { 0xaf, 0x00, 0x12, 0x10 } },
        { FLV_TAG_VIDEO, 0x00ffffff, { 0x27, 0x01, 0x00, 0x00, 0x00 } },
        { FLV_TAG_AUDIO, 0x01000000, { 0xaf, 0x01, 0x21 } },
        { FLV_TAG_VIDEO, 0xfffffffe, {} },
    };
    Bytes f = BuildFlv(tags);
    size_t pos = 0;
    ASSERT_EQ(flv_read_file_header(f.data(), f.size(), &pos), RILL_OK);
    for (const Tag &want : tags) {
        flv_tag_t t;
        ASSERT_EQ(flv_read_tag(f.data(), f.size(), &pos, &t), 1);
        EXPECT_EQ(t.type, want.type);
        EXPECT_EQ(t.timestamp, want.ts);
        ASSERT_EQ(t.size, want.data.size());
        if (t.size) {
            EXPECT_EQ(memcmp(t.data, want.data.data(), t.size), 0);
        }
        // Previous tag size right after the data.
        const uint8_t *pts = t.data + t.size;
        uint32_t prev = ((uint32_t)pts[0] << 24) | (pts[1] << 16) | (pts[2] << 8) | pts[3];
        EXPECT_EQ(prev, t.size + 11);
    }
    flv_tag_t t;
    EXPECT_EQ(flv_read_tag(f.data(), f.size(), &pos, &t), 0);
    EXPECT_EQ(pos, f.size());
}

TEST(FlvFile, TruncatedFileAtEveryLength)
{
    std::vector<Tag> tags = {
        { FLV_TAG_VIDEO, 40, Cat(kAvcSeqPrefix, kAvcBaseline320x240) },
        { FLV_TAG_AUDIO, 1 << 24, { 0xaf, 0x00, 0x11, 0x90 } },
    };
    Bytes f = BuildFlv(tags);
    size_t end1 = FLV_FILE_HEADER_SIZE + 11 + tags[0].data.size() + 4;
    for (size_t n = 0; n < f.size(); n++) {
        Bytes c(f.begin(), f.begin() + n);  // exact size for ASan
        size_t pos = 0;
        if (flv_read_file_header(c.data(), n, &pos) != RILL_OK) {
            EXPECT_LT(n, (size_t)FLV_FILE_HEADER_SIZE);
            continue;
        }
        flv_tag_t t;
        int rc, count = 0;
        while ((rc = flv_read_tag(c.data(), n, &pos, &t)) == 1) count++;
        // Only a cut exactly at a tag boundary is a clean end.
        if (n == FLV_FILE_HEADER_SIZE || n == end1)
            EXPECT_EQ(rc, 0) << n;
        else
            EXPECT_EQ(rc, RILL_ERR_FLV) << n;
    }
}

TEST(FlvFile, FilterBitMaskedFromType)
{
    Bytes f = BuildFlv({ { FLV_TAG_AUDIO | 0x20, 5, { 0xaf, 0x01 } } });
    size_t pos = 0;
    ASSERT_EQ(flv_read_file_header(f.data(), f.size(), &pos), RILL_OK);
    flv_tag_t t;
    ASSERT_EQ(flv_read_tag(f.data(), f.size(), &pos, &t), 1);
    EXPECT_EQ(t.type, FLV_TAG_AUDIO);
}
