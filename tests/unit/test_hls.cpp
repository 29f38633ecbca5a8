// HLS: the TS muxer's helpers, the segmenter's cuts, window and playlist.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

extern "C" {
#include "hls_seg.h"
#include "hls_ts.h"
#include "media_msg.h"
#include "rill_error.h"
#include "rtmp_msg.h"
}

namespace {

const uint8_t kSps[] = { 0x67, 0x64, 0x00, 0x1f, 0xac, 0xd9, 0x40, 0x50 };
const uint8_t kPps[] = { 0x68, 0xeb, 0xe3, 0xcb };

std::vector<uint8_t> avc_seq_header(const uint8_t *sps, size_t sn)
{
    std::vector<uint8_t> v = { 0x17, 0, 0, 0, 0, 1, 0x64, 0x00, 0x1f, 0xff, 0xe1 };
    v.push_back(0);
    v.push_back((uint8_t)sn);
    v.insert(v.end(), sps, sps + sn);
    v.push_back(1);
    v.push_back(0);
    v.push_back(sizeof kPps);
    v.insert(v.end(), kPps, kPps + sizeof kPps);
    return v;
}

std::vector<uint8_t> avc_frame(bool key, int32_t cts, size_t size)
{
    std::vector<uint8_t> v = { (uint8_t)(key ? 0x17 : 0x27), 1, (uint8_t)(cts >> 16), (uint8_t)(cts >> 8), (uint8_t)cts };
    uint32_t n = (uint32_t)size;
    v.push_back((uint8_t)(n >> 24));
    v.push_back((uint8_t)(n >> 16));
    v.push_back((uint8_t)(n >> 8));
    v.push_back((uint8_t)n);
    v.push_back(key ? 0x65 : 0x41);
    for (size_t i = 1; i < size; i++) v.push_back((uint8_t)(i * 7));
    return v;
}

std::vector<uint8_t> aac_seq_header() { return { 0xaf, 0, 0x12, 0x10 }; }   // LC, 44.1 kHz, stereo
std::vector<uint8_t> aac_frame() { return { 0xaf, 1, 0x21, 0x10, 0x05, 0x00, 0x11, 0x22 }; }

int feed(hls_seg_t *g, uint8_t type, uint32_t ts, const std::vector<uint8_t> &bytes)
{
    media_msg_t *m = media_msg_new(type, ts, rill_payload_from(bytes.data(), bytes.size()));
    int rc = hls_seg_feed(g, m);
    media_msg_unref(m);
    return rc;
}

hls_seg_conf_t conf(uint32_t fragment, uint32_t window)
{
    hls_seg_conf_t c = {};
    c.fragment_ms = fragment;
    c.window_ms = window;
    c.td_ratio = 1.5;
    c.aof_ratio = 2.1;
    c.wait_keyframe = 1;
    c.uri_prefix = "s-";
    c.uri_suffix = ".ts";
    return c;
}

// 25 fps video, keyframe every `gop` frames, B-frame style cts; AAC every 23 ms.
void publish_av(hls_seg_t *g, uint32_t from_ms, uint32_t to_ms, int gop, bool audio = true)
{
    std::vector<uint8_t> sh = avc_seq_header(kSps, sizeof kSps);
    feed(g, RTMP_MSG_VIDEO, from_ms, sh);
    if (audio) feed(g, RTMP_MSG_AUDIO, from_ms, aac_seq_header());
    uint32_t a = from_ms;
    int i = 0;
    for (uint32_t v = from_ms; v < to_ms; v += 40, i++) {
        while (audio && a <= v) {
            ASSERT_EQ(0, feed(g, RTMP_MSG_AUDIO, a, aac_frame()));
            a += 23;
        }
        ASSERT_EQ(0, feed(g, RTMP_MSG_VIDEO, v, avc_frame(i % gop == 0, i % 3 == 1 ? 80 : 40, 300)));
    }
}

std::string text(rill_payload_t *pl)
{
    std::string s = pl ? std::string((const char *)pl->data, pl->size) : "";
    rill_payload_unref(pl);
    return s;
}

// Every 188-byte packet: sync byte; the first is the PAT; CCs run on per PID.
void check_ts(const rill_payload_t *seg, std::map<int, int> &cc)
{
    ASSERT_EQ(0u, seg->size % 188);
    ASSERT_GT(seg->size, 188u * 3);
    // the tables (SDT, PAT, PMT) before any media
    bool pat = false, pmt = false;
    for (uint32_t o = 0; o < seg->size; o += 188) {
        int pid = ((seg->data[o + 1] & 0x1f) << 8) | seg->data[o + 2];
        if (pid == 0) pat = true;
        else if (pid == 0x1000) pmt = true;
        else if (pid != 0x11) break;
    }
    EXPECT_TRUE(pat && pmt) << "PAT and PMT first";
    for (uint32_t o = 0; o < seg->size; o += 188) {
        const uint8_t *p = seg->data + o;
        ASSERT_EQ(0x47, p[0]);
        int pid = ((p[1] & 0x1f) << 8) | p[2];
        if (!(p[3] & 0x10)) continue;   // no payload: the counter does not move
        int c = p[3] & 0x0f;
        if (cc.count(pid)) {
            EXPECT_EQ((cc[pid] + 1) & 15, c) << "pid " << pid << " at " << o;
        }
        cc[pid] = c;
    }
}

}  // namespace

TEST(HlsTs, AvccToAnnexB) {
    const uint8_t in[] = { 0, 0, 0, 2, 0x65, 0x88, 0, 0, 0, 1, 0x06 };
    const uint8_t pre[] = { 0, 0, 0, 1, 0x67 };
    uint8_t out[64];
    long n = hls_avcc_to_annexb(in, sizeof in, 4, pre, sizeof pre, out, sizeof out);
    const uint8_t want[] = { 0, 0, 0, 1, 0x67, 0, 0, 0, 1, 0x65, 0x88, 0, 0, 0, 1, 0x06 };
    ASSERT_EQ((long)sizeof want, n);
    EXPECT_EQ(0, memcmp(want, out, sizeof want));
    // 2-byte lengths grow by 2 per NAL unit
    const uint8_t in2[] = { 0, 2, 0x41, 0x9a };
    EXPECT_EQ(6, hls_avcc_to_annexb(in2, sizeof in2, 2, nullptr, 0, out, sizeof out));
    // a length past the end, a bad length size, too small an output
    const uint8_t bad[] = { 0, 0, 0, 9, 0x65 };
    EXPECT_EQ(-1, hls_avcc_to_annexb(bad, sizeof bad, 4, nullptr, 0, out, sizeof out));
    EXPECT_EQ(-1, hls_avcc_to_annexb(in, sizeof in, 3, nullptr, 0, out, sizeof out));
    EXPECT_EQ(-1, hls_avcc_to_annexb(in, sizeof in, 4, nullptr, 0, out, 8));
}

TEST(HlsTs, AdtsHeader) {
    uint8_t h[7];
    hls_adts_header(h, 2, 4, 2, 100);  // LC, 44.1 kHz, stereo, 107 bytes with the header
    const uint8_t want[] = { 0xff, 0xf1, 0x50, 0x80, 0x0d, 0x7f, 0xfc };
    EXPECT_EQ(0, memcmp(want, h, 7));
}

TEST(HlsTs, BadConfigs) {
    hls_ts_t *t = nullptr;
    ASSERT_EQ(0, hls_ts_new(&t, 1, 1));
    const uint8_t short_avcc[] = { 1, 0x64, 0, 0x1f, 0xff, 0xe1, 0, 9 };
    EXPECT_EQ(RILL_ERR_CODEC, hls_ts_video_config(t, short_avcc, sizeof short_avcc));
    const uint8_t he_aac[] = { 0x2b, 0x92 };   // object type 5 (SBR): no ADTS profile for it
    EXPECT_EQ(RILL_ERR_CODEC, hls_ts_audio_config(t, he_aac, sizeof he_aac));
    // frames before a config are dropped, not errors
    const uint8_t f[] = { 0, 0, 0, 1, 0x65 };
    EXPECT_EQ(0, hls_ts_video(t, 0, 0, 1, f, sizeof f));
    rill_payload_t *pl = hls_ts_take(t);
    ASSERT_NE(nullptr, pl);
    rill_payload_unref(pl);
    hls_ts_free(t);
    EXPECT_EQ(RILL_ERR_CODEC, hls_ts_new(&t, 0, 0));
}

TEST(HlsSeg, CutsAtKeyframesWindowAndPlaylist) {
    hls_seg_conf_t c = conf(2000, 6000);
    hls_seg_t *g = hls_seg_new(&c);
    ASSERT_NE(nullptr, g);
    hls_seg_publish(g);
    EXPECT_EQ(nullptr, hls_seg_playlist(g, nullptr)) << "no playlist before the first segment";
    publish_av(g, 0, 20000, 25);   // 1 s GOPs: a cut every 2 s
    EXPECT_EQ(9u, g->segments_made);
    EXPECT_EQ(3, hls_seg_count(g)) << "6 s of 2 s segments";
    std::string pl = text(hls_seg_playlist(g, nullptr));
    EXPECT_NE(std::string::npos, pl.find("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:3\n#EXT-X-MEDIA-SEQUENCE:6\n"))
        << pl;
    EXPECT_NE(std::string::npos, pl.find("#EXTINF:2.000,\ns-6.ts\n#EXTINF:2.000,\ns-7.ts\n#EXTINF:2.000,\ns-8.ts\n")) << pl;
    EXPECT_EQ(std::string::npos, pl.find("ENDLIST"));
    EXPECT_EQ(std::string::npos, pl.find("DISCONTINUITY"));
    // a query goes on every segment URI
    std::string q = text(hls_seg_playlist(g, "token=abc"));
    EXPECT_NE(std::string::npos, q.find("s-6.ts?token=abc\n")) << q;
    // segments just out of the playlist are still served, older ones not
    for (uint64_t s = 3; s <= 8; s++) {
        rill_payload_t *seg = hls_seg_segment(g, s);
        EXPECT_NE(nullptr, seg) << s;
        rill_payload_unref(seg);
    }
    EXPECT_EQ(nullptr, hls_seg_segment(g, 2));
    EXPECT_EQ(nullptr, hls_seg_segment(g, 9));
    // PAT/PMT at the start of each, continuity counters running on across them
    std::map<int, int> cc;
    for (uint64_t s = 6; s <= 8; s++) {
        rill_payload_t *seg = hls_seg_segment(g, s);
        check_ts(seg, cc);
        rill_payload_unref(seg);
    }
    // a segment outlives the window while a request holds it
    rill_payload_t *held = hls_seg_segment(g, 6);
    publish_av(g, 20000, 40000, 25);
    EXPECT_EQ(nullptr, hls_seg_segment(g, 6));
    EXPECT_EQ(0x47, held->data[0]);
    rill_payload_unref(held);
    hls_seg_free(g);
}

TEST(HlsSeg, LongGopStretchesTheTarget) {
    hls_seg_conf_t c = conf(1000, 30000);
    hls_seg_t *g = hls_seg_new(&c);
    hls_seg_publish(g);
    publish_av(g, 0, 16000, 125);  // 5 s GOPs against a 1 s fragment
    std::string pl = text(hls_seg_playlist(g, nullptr));
    EXPECT_NE(std::string::npos, pl.find("#EXT-X-TARGETDURATION:5\n")) << pl;
    EXPECT_NE(std::string::npos, pl.find("#EXTINF:5.000,\ns-0.ts\n")) << pl;
    hls_seg_free(g);
}

TEST(HlsSeg, AudioOnlyCutsAtTheOverflowRatio) {
    hls_seg_conf_t c = conf(1000, 60000);
    hls_seg_t *g = hls_seg_new(&c);
    hls_seg_publish(g);
    feed(g, RTMP_MSG_AUDIO, 0, aac_seq_header());
    for (uint32_t a = 0; a < 10000; a += 23) ASSERT_EQ(0, feed(g, RTMP_MSG_AUDIO, a, aac_frame()));
    std::string pl = text(hls_seg_playlist(g, nullptr));
    // 1 s * 2.1: cut at the first frame at or past 2.1 s
    EXPECT_NE(std::string::npos, pl.find("#EXTINF:2.116,\ns-0.ts\n")) << pl;
    EXPECT_EQ(4u, g->segments_made);
    std::map<int, int> cc;
    rill_payload_t *seg = hls_seg_segment(g, 0);
    check_ts(seg, cc);
    rill_payload_unref(seg);
    hls_seg_free(g);
}

TEST(HlsSeg, RepublishEndlistAndDiscontinuity) {
    hls_seg_conf_t c = conf(2000, 60000);
    hls_seg_t *g = hls_seg_new(&c);
    hls_seg_publish(g);
    publish_av(g, 0, 5000, 25);
    hls_seg_unpublish(g);
    std::string pl = text(hls_seg_playlist(g, nullptr));
    EXPECT_NE(std::string::npos, pl.find("#EXTINF:0.960,\ns-2.ts\n#EXT-X-ENDLIST\n")) << pl;
    hls_seg_publish(g);
    pl = text(hls_seg_playlist(g, nullptr));
    EXPECT_EQ(std::string::npos, pl.find("ENDLIST")) << pl;
    publish_av(g, 5040, 10000, 25);
    pl = text(hls_seg_playlist(g, nullptr));
    EXPECT_NE(std::string::npos, pl.find("s-2.ts\n#EXT-X-DISCONTINUITY\n#EXTINF:2.000,\ns-3.ts\n")) << pl;
    hls_seg_free(g);
}

TEST(HlsSeg, NewCodecParametersStartADiscontinuity) {
    hls_seg_conf_t c = conf(2000, 60000);
    hls_seg_t *g = hls_seg_new(&c);
    hls_seg_publish(g);
    publish_av(g, 0, 3000, 25);
    // the same headers again (an edge's new origin of the same encoder): nothing to mark
    publish_av(g, 3000, 6000, 25);
    std::string pl = text(hls_seg_playlist(g, nullptr));
    EXPECT_EQ(std::string::npos, pl.find("DISCONTINUITY")) << pl;
    // a new SPS: cut at the next keyframe, marked
    uint8_t sps2[sizeof kSps];
    memcpy(sps2, kSps, sizeof kSps);
    sps2[7] = 0x51;
    feed(g, RTMP_MSG_VIDEO, 6000, avc_seq_header(sps2, sizeof sps2));
    for (uint32_t v = 6000, i = 0; v < 9000; v += 40, i++)
        ASSERT_EQ(0, feed(g, RTMP_MSG_VIDEO, v, avc_frame(i % 25 == 0, 0, 300)));
    pl = text(hls_seg_playlist(g, nullptr));
    EXPECT_NE(std::string::npos, pl.find("#EXT-X-DISCONTINUITY\n#EXTINF:")) << pl;
    hls_seg_free(g);
}

TEST(HlsTs, HeAacCarriesItsCoreInAdts) {
    hls_ts_t *t = nullptr;
    ASSERT_EQ(0, hls_ts_new(&t, 0, 1));
    // explicit SBR: object type 5, core 22.05 kHz stereo, extension 44.1 kHz, core AAC LC
    const uint8_t he[] = { 0x2b, 0x92, 0x08, 0x00 };
    EXPECT_EQ(0, hls_ts_audio_config(t, he, sizeof he));
    // PS (29), core 24 kHz stereo, extension 48 kHz, core LC
    const uint8_t ps[] = { 0xeb, 0x09, 0x88, 0x00 };
    EXPECT_EQ(0, hls_ts_audio_config(t, ps, sizeof ps));
    // its core an object type ADTS cannot say (11): refused
    const uint8_t ld[] = { 0x2b, 0x92, 0x2e, 0x00 };
    EXPECT_EQ(RILL_ERR_CODEC, hls_ts_audio_config(t, ld, sizeof ld));
    hls_ts_free(t);
}

// An audio config ADTS cannot carry does not cost the video: segments go on without audio.
TEST(HlsSeg, UnusableAacConfigLeavesVideoSegments) {
    hls_seg_conf_t c = conf(1000, 60000);
    hls_seg_t *g = hls_seg_new(&c);
    hls_seg_publish(g);
    feed(g, RTMP_MSG_VIDEO, 0, avc_seq_header(kSps, sizeof kSps));
    feed(g, RTMP_MSG_AUDIO, 0, { 0xaf, 0, 0xf8, 0x10 });    // object type 31 (escape): nothing ADTS can say
    for (uint32_t v = 0, i = 0; v < 5000; v += 40, i++) {
        EXPECT_EQ(0, feed(g, RTMP_MSG_AUDIO, v, aac_frame()));
        EXPECT_EQ(0, feed(g, RTMP_MSG_VIDEO, v, avc_frame(i % 25 == 0, 0, 300)));
    }
    EXPECT_GE(g->segments_made, 3u);
    EXPECT_EQ(1, g->ts_video);
    EXPECT_EQ(0, g->ts_audio);
    std::string pl = text(hls_seg_playlist(g, nullptr));
    EXPECT_EQ(std::string::npos, pl.find("DISCONTINUITY")) << pl;
    hls_seg_free(g);
}

// The video track turning into a codec HLS does not carry here (HEVC from
// another origin): the audio goes on in segments of its own, cut at once.
TEST(HlsSeg, VideoThatLeavesDoesNotFreezeThePlaylist) {
    hls_seg_conf_t c = conf(1000, 60000);
    hls_seg_t *g = hls_seg_new(&c);
    hls_seg_publish(g);
    publish_av(g, 0, 3000, 25);
    uint64_t before = g->segments_made;
    feed(g, RTMP_MSG_VIDEO, 3000, { 0x1c, 0, 0, 0, 0, 1, 2, 3 });   // codec 12 (HEVC) sequence header
    for (uint32_t a = 3000; a < 9000; a += 23) {
        ASSERT_EQ(0, feed(g, RTMP_MSG_AUDIO, a, aac_frame()));
        feed(g, RTMP_MSG_VIDEO, a, { 0x2c, 1, 0, 0, 0, 1, 2, 3 });
    }
    EXPECT_GE(g->segments_made, before + 2) << "audio-only segments after the video left";
    EXPECT_EQ(0, g->ts_video);
    EXPECT_EQ(1, g->ts_audio);
    hls_seg_free(g);
}

TEST(HlsSeg, UnsupportedCodecIsIgnored) {
    hls_seg_conf_t c = conf(1000, 60000);
    hls_seg_t *g = hls_seg_new(&c);
    hls_seg_publish(g);
    // MP3 audio (codec 2): no segments from it
    for (uint32_t a = 0; a < 5000; a += 26) EXPECT_EQ(0, feed(g, RTMP_MSG_AUDIO, a, { 0x2f, 0xff, 0xfb, 0x90 }));
    EXPECT_EQ(0u, g->segments_made);
    EXPECT_EQ(nullptr, hls_seg_playlist(g, nullptr));
    hls_seg_free(g);
}

extern "C" {
#include "hls_disk.h"
#include "hls_name.h"
}

// A full queue drops writes, never removals: 5000 files written without a
// yield (904 dropped), then all of them removed, none left on disk.
TEST(HlsDisk, RemovalsAreNeverDropped) {
    static bool inited = false;
    if (!inited) {
        st_set_eventsys(ST_EVENTSYS_POLL);
        ASSERT_EQ(0, st_init());
        inited = true;
    }
    char dir[] = "/tmp/rill-hlsdisk-XXXXXX";
    ASSERT_NE(nullptr, mkdtemp(dir));
    hls_disk_t d;
    ASSERT_EQ(0, hls_disk_start(&d));
    rill_payload_t *pl = rill_payload_from((const uint8_t *)"x", 1);
    const int n = 5000;
    int queued = 0;
    for (int i = 0; i < n; i++) {
        std::string p = std::string(dir) + "/f" + std::to_string(i);
        queued += hls_disk_write(&d, p.c_str(), pl) == 0;
    }
    EXPECT_EQ(4096, queued);
    EXPECT_EQ(904u, d.dropped);
    for (int i = 0; i < n; i++) {
        std::string p = std::string(dir) + "/f" + std::to_string(i);
        EXPECT_EQ(0, hls_disk_unlink(&d, p.c_str())) << i;
    }
    hls_disk_stop(&d);
    st_usleep(1000);    // the stop joined the thread, blocking the scheduler: let it read the clock again
    EXPECT_EQ(4096u, d.files_written);
    EXPECT_EQ((uint64_t)n, d.files_removed);                         // a name never written is already gone
    EXPECT_EQ(904u, d.dropped);
    rill_payload_unref(pl);
    EXPECT_EQ(0, rmdir(dir)) << "nothing left in it";
}

TEST(HlsName, OnlyNamesThatStayUnderHlsPathBecomeFiles) {
    char out[256];
    EXPECT_EQ(1, hls_name_file_safe("live/cam.m3u8"));
    EXPECT_EQ(1, hls_name_file_safe("hls/a.com/live/cam-[seq].ts"));
    EXPECT_EQ(1, hls_name_file_safe("live/..cam..-[seq].ts"));           // dots inside a name are fine
    // a stream named to climb out of hls_path, rendered as a publisher would make it
    ASSERT_EQ(0, hls_name_render("[app]/[stream].m3u8", "v", "live", "../../srv/www/cam", out, sizeof out));
    EXPECT_EQ(0, hls_name_file_safe(out));
    ASSERT_EQ(0, hls_name_render("[app]/[stream]-[seq].ts", "v", "..", "cam", out, sizeof out));
    EXPECT_EQ(0, hls_name_file_safe(out));
    EXPECT_EQ(0, hls_name_file_safe("/etc/cam.m3u8"));
    EXPECT_EQ(0, hls_name_file_safe("live/./cam.m3u8"));
    EXPECT_EQ(0, hls_name_file_safe("live//cam.m3u8"));
    EXPECT_EQ(0, hls_name_file_safe("live/..\\cam.m3u8"));
    EXPECT_EQ(0, hls_name_file_safe("live/ca\nm.m3u8"));
    EXPECT_EQ(0, hls_name_file_safe("live/cam/"));
    EXPECT_EQ(0, hls_name_file_safe(""));
}

TEST(HlsName, RenderAndMatch) {
    char out[128];
    ASSERT_EQ(0, hls_name_render("[app]/[stream]-[seq].ts", "v", "live", "cam", out, sizeof out));
    EXPECT_STREQ("live/cam-[seq].ts", out);
    ASSERT_EQ(0, hls_name_render("hls/[vhost]/[app]/[stream].m3u8", "a.com", "live", "s", out, sizeof out));
    EXPECT_STREQ("hls/a.com/live/s.m3u8", out);
    EXPECT_EQ(-1, hls_name_render("[app]/[stream].m3u8", "v", "live", "a-long-stream-name", out, 12));

    hls_name_t n;
    ASSERT_EQ(1, hls_name_match("[app]/[stream]-[seq].ts", "live/a-b-12.ts", &n));
    EXPECT_STREQ("live", n.app);
    EXPECT_STREQ("a-b", n.stream);
    EXPECT_EQ(12u, n.seq);
    EXPECT_EQ(1, n.has_seq);
    ASSERT_EQ(1, hls_name_match("[app]/[stream].m3u8", "live/cam.m3u8", &n));
    EXPECT_STREQ("cam", n.stream);
    EXPECT_EQ(0, n.has_seq);
    ASSERT_EQ(1, hls_name_match("hls/[vhost]/[app]/[stream].m3u8", "hls/a.com/live/s.m3u8", &n));
    EXPECT_STREQ("a.com", n.vhost);
    // no [app] in the template: the first path segment is the app
    ASSERT_EQ(1, hls_name_match("x/[stream]-[seq].ts", "x/s-3.ts", &n));
    EXPECT_STREQ("x", n.app);
    EXPECT_EQ(0, hls_name_match("[app]/[stream].m3u8", "live/cam.flv", &n));
    EXPECT_EQ(0, hls_name_match("[app]/[stream].m3u8", "live/a/b.m3u8", &n));
    EXPECT_EQ(0, hls_name_match("[app]/[stream]-[seq].ts", "live/cam-x.ts", &n));
    EXPECT_EQ(0, hls_name_match("[app]/[stream]-[seq].ts", "live/cam-99999999999999999999.ts", &n));
    EXPECT_EQ(0, hls_name_match("[app]/[stream].m3u8", "/.m3u8", &n));
    // hostile paths: a long one is refused at once; three variables in one
    // path segment backtrack over at most 255 characters each
    std::string longp(5000, 'a');
    EXPECT_EQ(0, hls_name_match("[app]/[stream].m3u8", longp.c_str(), &n));
    std::string seg = "a/" + std::string(900, '-') + "x";
    auto t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(0, hls_name_match("[app]/[vhost]-[stream]-[seq].ts", seg.c_str(), &n));
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_LT(ms, 2000.0) << "bounded backtracking";
}
