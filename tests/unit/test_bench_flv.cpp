// rill-bench's FLV stream scanner, FLV file index and JSON totals
// (research/bench/bench_flvscan.c, bench_flvfile.c, bench_report.c).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "bench_flvfile.h"
#include "bench_flvscan.h"
#include "bench_report.h"
#include "flv.h"
#include "rill_error.h"

namespace {

typedef std::vector<uint8_t> Bytes;

void tag(Bytes &out, uint8_t type, uint32_t ts, const Bytes &body)
{
    uint8_t h[FLV_TAG_HEADER_SIZE], t[4];
    flv_tag_header(h, type, (uint32_t)body.size(), ts);
    flv_tag_trailer(t, (uint32_t)body.size());
    out.insert(out.end(), h, h + sizeof h);
    out.insert(out.end(), body.begin(), body.end());
    out.insert(out.end(), t, t + 4);
}

Bytes body(std::initializer_list<uint8_t> head, size_t n, uint8_t fill)
{
    Bytes b(head);
    while (b.size() < n) b.push_back((uint8_t)(fill + b.size()));
    return b;
}

// A small stream: metadata, AVC and AAC sequence headers, then 40 ms video
// frames (a keyframe every 5) with audio in between.
Bytes stream(int frames)
{
    Bytes f(FLV_FILE_HEADER_SIZE);
    flv_file_header(f.data(), 1, 1);
    tag(f, FLV_TAG_SCRIPT, 0, body({0x02, 0x00, 0x0A}, 30, 'm'));
    tag(f, FLV_TAG_VIDEO, 0, body({0x17, 0x00, 0, 0, 0, 0x01, 0x64, 0x00, 0x1f}, 40, 1));
    tag(f, FLV_TAG_AUDIO, 0, body({0xAF, 0x00, 0x12, 0x10}, 4, 0));
    for (int i = 0; i < frames; i++) {
        uint8_t ft = i % 5 == 0 ? 0x17 : 0x27;
        tag(f, FLV_TAG_VIDEO, 40u * i, body({ft, 0x01, 0, 0, 0}, 100 + 37 * i, (uint8_t)i));
        tag(f, FLV_TAG_AUDIO, 40u * i + 20, body({0xAF, 0x01}, 50, (uint8_t)(i + 100)));
    }
    return f;
}

struct Seen {
    std::vector<bench_flv_tag_t> tags;
    std::vector<Bytes> heads, tails;
};

void on_tag(void *ctx, const bench_flv_tag_t *t)
{
    Seen *s = (Seen *)ctx;
    s->tags.push_back(*t);
    s->heads.push_back(Bytes(t->head, t->head + t->head_len));
    s->tails.push_back(Bytes(t->tail, t->tail + t->tail_len));
}

}  // namespace

TEST(BenchFlvScan, SameTagsWhateverTheSplit)
{
    Bytes f = stream(12);
    for (size_t step : {(size_t)1, (size_t)3, (size_t)11, (size_t)64, f.size()}) {
        bench_flvscan_t s;
        bench_flvscan_init(&s);
        Seen seen;
        for (size_t i = 0; i < f.size(); i += step)
            ASSERT_EQ(bench_flvscan_feed(&s, f.data() + i, std::min(step, f.size() - i), on_tag, &seen), 0)
                << "step " << step << ": " << (s.error ? s.error : "");
        ASSERT_EQ(seen.tags.size(), 3u + 24u) << "step " << step;
        EXPECT_EQ(seen.tags[0].type, FLV_TAG_SCRIPT);
        EXPECT_EQ(seen.tags[1].type, FLV_TAG_VIDEO);
        // the 5th video frame: timestamp, size, first and last bytes
        const bench_flv_tag_t &v = seen.tags[3 + 2 * 5];
        EXPECT_EQ(v.type, FLV_TAG_VIDEO);
        EXPECT_EQ(v.timestamp, 200u);
        EXPECT_EQ(v.size, 100u + 37 * 5);
        Bytes b = body({0x17, 0x01, 0, 0, 0}, 100 + 37 * 5, 5);
        EXPECT_EQ(seen.heads[3 + 2 * 5], Bytes(b.begin(), b.begin() + BENCH_FLV_HEAD));
        EXPECT_EQ(seen.tails[3 + 2 * 5], Bytes(b.end() - BENCH_FLV_TAIL, b.end()));
        // a body shorter than the tail window: the whole body
        EXPECT_EQ(seen.tails[2].size(), 4u);
    }
}

TEST(BenchFlvScan, ExtendedTimestampsAndEmptyTags)
{
    Bytes f(FLV_FILE_HEADER_SIZE);
    flv_file_header(f.data(), 1, 1);
    tag(f, FLV_TAG_AUDIO, 0x01234567, Bytes());
    bench_flvscan_t s;
    bench_flvscan_init(&s);
    Seen seen;
    ASSERT_EQ(bench_flvscan_feed(&s, f.data(), f.size(), on_tag, &seen), 0);
    ASSERT_EQ(seen.tags.size(), 1u);
    EXPECT_EQ(seen.tags[0].timestamp, 0x01234567u);
    EXPECT_EQ(seen.tags[0].size, 0u);
}

TEST(BenchFlvScan, RefusesWhatIsNotFlv)
{
    Bytes f = stream(2);
    struct {
        size_t at;
        uint8_t v;
        const char *why;
    } cases[] = {
        {0, 'X', "no FLV header"},
        {FLV_FILE_HEADER_SIZE, 7, "unknown FLV tag type"},
        {FLV_FILE_HEADER_SIZE + 1, 0xFF, "too large"},
        {FLV_FILE_HEADER_SIZE + 11 + 30, 0x55, "PreviousTagSize"},
    };
    for (auto &c : cases) {
        Bytes g = f;
        g[c.at] = c.v;
        bench_flvscan_t s;
        bench_flvscan_init(&s);
        EXPECT_EQ(bench_flvscan_feed(&s, g.data(), g.size(), nullptr, nullptr), RILL_ERR_FLV) << c.why;
        ASSERT_NE(s.error, nullptr);
        EXPECT_NE(std::string(s.error).find(c.why), std::string::npos) << s.error;
        // and it stays refused
        EXPECT_EQ(bench_flvscan_feed(&s, g.data(), 1, nullptr, nullptr), RILL_ERR_FLV);
    }
}

TEST(BenchFlvFile, IndexesTagsAndLoopLength)
{
    Bytes f = stream(10);
    bench_flvfile_t ff;
    memset(&ff, 0, sizeof ff);
    ASSERT_EQ(bench_flvfile_parse(&ff, f.data(), f.size()), 0);
    ASSERT_EQ(ff.ntags, 3u + 20u);
    EXPECT_TRUE(ff.tags[0].config);    // metadata
    EXPECT_TRUE(ff.tags[1].config);    // AVC sequence header
    EXPECT_TRUE(ff.tags[2].config);    // AAC sequence header
    EXPECT_FALSE(ff.tags[3].config);
    EXPECT_TRUE(ff.tags[3].keyframe);
    EXPECT_FALSE(ff.tags[5].keyframe);
    EXPECT_EQ(ff.first_ts, 0u);
    // last media timestamp 380 (audio of frame 9) + one 40 ms video interval
    EXPECT_EQ(ff.loop_ms, 420u);
    EXPECT_EQ(bench_flvfile_ts(&ff, 0, 5), 40u);
    EXPECT_EQ(bench_flvfile_ts(&ff, 2, 5), 40u + 2 * 420);
    EXPECT_GT(bench_flvfile_kbps(&ff), 0);
    bench_flvfile_free(&ff);

    Bytes bad = {'F', 'L', 'V'};
    EXPECT_EQ(bench_flvfile_parse(&ff, bad.data(), bad.size()), RILL_ERR_FLV);
    Bytes none(FLV_FILE_HEADER_SIZE);  // a header and no tags
    flv_file_header(none.data(), 1, 1);
    EXPECT_EQ(bench_flvfile_parse(&ff, none.data(), none.size()), RILL_ERR_FLV);
    EXPECT_EQ(bench_flvfile_load(&ff, "/nonexistent/x.flv"), RILL_ERR_IO);
}

TEST(BenchReport, JsonTotalsWithNullsAndJobs)
{
    bench_totals_t total, pub, jobs[2];
    bench_totals_clear(&total);
    bench_totals_clear(&pub);
    total.connected = 20;
    total.failed = 1;
    total.kbps = 22000.04;
    total.stalls = 3;
    total.ff_p50 = 4.25;
    total.ff_p99 = 20;
    pub.connected = 1;
    pub.kbps = 1100;
    bench_totals_clear(&jobs[0]);
    jobs[0].kind = "publish";
    jobs[0].url = "rtmp://127.0.0.1/live/\"q\"";
    bench_totals_clear(&jobs[1]);
    jobs[1].kind = "play";
    jobs[1].url = "rtmp://127.0.0.1/live/a";
    jobs[1].lat_p50 = 12.5;
    rill_writer_t w;
    rill_writer_init(&w, 0);
    ASSERT_EQ(bench_json(&w, &total, &pub, jobs, 2), 0);
    std::string j((const char *)w.data, w.len);
    rill_writer_free(&w);
    EXPECT_EQ(j.front(), '{');
    EXPECT_EQ(j.back(), '}');
    EXPECT_NE(j.find("{\"connected\":20,\"failed\":1,\"kbps\":22000.0,\"stalls\":3,\"first_frame_ms_p50\":4.2"),
              std::string::npos) << j;
    EXPECT_NE(j.find("\"first_frame_ms_p99\":20.0,\"latency_ms_p50\":null,"), std::string::npos) << j;
    EXPECT_NE(j.find("\"publish\":{\"connected\":1,\"failed\":0,\"dropped\":0,\"kbps\":1100.0,\"reconnects\":0,"
                     "\"reconnect_stall_ms_max\":null}"), std::string::npos) << j;
    EXPECT_NE(j.find("\"jobs\":[{\"kind\":\"publish\",\"url\":\"rtmp://127.0.0.1/live/\\\"q\\\"\",\"connected\":0"),
              std::string::npos) << j;
    EXPECT_NE(j.find("{\"kind\":\"play\",\"url\":\"rtmp://127.0.0.1/live/a\",\"connected\":0,\"failed\":0,\"kbps\":null"),
              std::string::npos) << j;
    EXPECT_NE(j.find("\"latency_ms_p50\":12.5"), std::string::npos) << j;
    // a publisher that reconnected: how often, and its longest silence
    pub.reconnects = 2;
    pub.reconnect_stall_max_ms = 1234.5;
    rill_writer_init(&w, 0);
    ASSERT_EQ(bench_json(&w, &total, &pub, jobs, 0), 0);
    j.assign((const char *)w.data, w.len);
    rill_writer_free(&w);
    EXPECT_NE(j.find("\"kbps\":1100.0,\"reconnects\":2,\"reconnect_stall_ms_max\":1234.5}"), std::string::npos) << j;
    // without publishers there is no "publish" object
    rill_writer_init(&w, 0);
    ASSERT_EQ(bench_json(&w, &total, nullptr, jobs, 0), 0);
    j.assign((const char *)w.data, w.len);
    rill_writer_free(&w);
    EXPECT_EQ(j.find("publish"), std::string::npos) << j;
    EXPECT_NE(j.find("\"jobs\":[]}"), std::string::npos) << j;
}
