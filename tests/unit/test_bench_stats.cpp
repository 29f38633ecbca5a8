// rill-bench's percentile math, latency histogram, per-player stall and
// first-frame accounting, and the latency table (research/bench/bench_stats.c, bench_lat.c).
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "bench_lat.h"
#include "bench_stats.h"

TEST(BenchStats, NearestRankPercentiles)
{
    std::vector<double> v = {4, 1, 3, 2};
    EXPECT_DOUBLE_EQ(bench_percentile(v.data(), v.size(), 50), 2);   // rank ceil(0.5*4) = 2
    EXPECT_DOUBLE_EQ(bench_percentile(v.data(), v.size(), 75), 3);
    EXPECT_DOUBLE_EQ(bench_percentile(v.data(), v.size(), 99), 4);
    EXPECT_DOUBLE_EQ(bench_percentile(v.data(), v.size(), 100), 4);
    EXPECT_DOUBLE_EQ(bench_percentile(v.data(), v.size(), 0), 1);
    std::vector<double> one = {7.5};
    EXPECT_DOUBLE_EQ(bench_percentile(one.data(), 1, 50), 7.5);
    EXPECT_DOUBLE_EQ(bench_percentile(one.data(), 1, 99), 7.5);
    EXPECT_DOUBLE_EQ(bench_percentile(nullptr, 0, 50), -1);
    std::vector<double> h;
    for (int i = 100; i >= 1; i--) h.push_back(i);
    EXPECT_DOUBLE_EQ(bench_percentile(h.data(), h.size(), 50), 50);
    EXPECT_DOUBLE_EQ(bench_percentile(h.data(), h.size(), 99), 99);
    EXPECT_DOUBLE_EQ(bench_percentile(h.data(), h.size(), 99.5), 100);
    // 20 players (the integration test's count): p50 is the 10th, p99 the 20th
    std::vector<double> t;
    for (int i = 1; i <= 20; i++) t.push_back(i * 10);
    EXPECT_DOUBLE_EQ(bench_percentile(t.data(), t.size(), 50), 100);
    EXPECT_DOUBLE_EQ(bench_percentile(t.data(), t.size(), 99), 200);
}

TEST(BenchStats, HistogramPercentiles)
{
    std::unique_ptr<bench_hist_t> h(new bench_hist_t());
    EXPECT_DOUBLE_EQ(bench_hist_percentile(h.get(), 50), -1);
    for (int i = 1; i <= 100; i++) bench_hist_add(h.get(), i);
    EXPECT_EQ(h->count, 100u);
    EXPECT_DOUBLE_EQ(bench_hist_percentile(h.get(), 50), 50);
    EXPECT_DOUBLE_EQ(bench_hist_percentile(h.get(), 99), 99);
    // tenths of a millisecond are kept; below 0 is 0; beyond the range is the overflow bucket
    std::unique_ptr<bench_hist_t> f(new bench_hist_t());
    bench_hist_add(f.get(), 0.37);
    EXPECT_DOUBLE_EQ(bench_hist_percentile(f.get(), 50), 0.3);
    bench_hist_add(f.get(), -5);
    EXPECT_DOUBLE_EQ(bench_hist_percentile(f.get(), 50), 0);
    bench_hist_add(f.get(), 1e9);
    EXPECT_DOUBLE_EQ(bench_hist_percentile(f.get(), 100), BENCH_HIST_MS);
    // merging sums the counts
    bench_hist_merge(h.get(), f.get());
    EXPECT_EQ(h->count, 103u);
    EXPECT_DOUBLE_EQ(bench_hist_percentile(h.get(), 100), BENCH_HIST_MS);
}

TEST(BenchStats, FirstFrameIsTheFirstKeyframeAfterTheRequest)
{
    bench_pstat_t s;
    const int64_t stall = 1000000;
    bench_pstat_start(&s, 1000000);
    EXPECT_EQ(bench_pstat_media(&s, 1010000, 0, stall), -1);   // audio, or a non-key frame: not yet
    EXPECT_EQ(bench_pstat_media(&s, 1025500, 1, stall), 25.5);  // the first keyframe, 25.5 ms after
    EXPECT_EQ(bench_pstat_media(&s, 1030000, 1, stall), -1);    // only once
    EXPECT_EQ(s.first_frame, 1025500);
}

TEST(BenchStats, OneStallPerEpisode)
{
    bench_pstat_t s;
    const int64_t stall = 1000000;
    bench_pstat_start(&s, 0);
    // no stall before the first frame, however long it takes
    EXPECT_EQ(bench_pstat_check(&s, 5000000, stall), 0);
    bench_pstat_media(&s, 5000000, 1, stall);
    EXPECT_EQ(bench_pstat_check(&s, 5900000, stall), 0);
    EXPECT_EQ(bench_pstat_check(&s, 6000000, stall), 0);       // exactly 1 s: not yet
    EXPECT_EQ(bench_pstat_check(&s, 6000001, stall), 1);       // over 1 s: one stall
    EXPECT_EQ(bench_pstat_check(&s, 8000000, stall), 0);       // the same episode
    EXPECT_EQ(s.stalls, 1u);
    bench_pstat_media(&s, 8500000, 0, stall);                   // media again: the episode ends
    EXPECT_EQ(s.stalls, 1u);
    bench_pstat_media(&s, 9000000, 0, stall);
    // a gap noticed only when media arrives counts too
    bench_pstat_media(&s, 10500000, 0, stall);
    EXPECT_EQ(s.stalls, 2u);
    EXPECT_EQ(bench_pstat_check(&s, 11000000, stall), 0);
}

TEST(BenchLat, KeysMatchOnlyTheSamePayload)
{
    const uint8_t a[] = "0123456789abcdefXYZ";
    const uint8_t b[] = "0123456789abcdefXYz";
    uint64_t ka = bench_lat_key(1000, a + 3, 16);
    EXPECT_EQ(ka, bench_lat_key(1000, a + 3, 16));
    EXPECT_NE(ka, bench_lat_key(1001, a + 3, 16));
    EXPECT_NE(ka, bench_lat_key(1000, b + 3, 16));
    EXPECT_NE(bench_lat_key(0, a, 0), 0u);

    std::unique_ptr<bench_lat_table_t> t(new bench_lat_table_t());
    int64_t sent = 0;
    EXPECT_EQ(bench_lat_get(t.get(), ka, 100, 1000000, &sent), 0);
    bench_lat_put(t.get(), ka, 5000);
    ASSERT_EQ(bench_lat_get(t.get(), ka, 6000, 1000000, &sent), 1);
    EXPECT_EQ(sent, 5000);
    // too old: not an answer
    EXPECT_EQ(bench_lat_get(t.get(), ka, 5000 + 1000001, 1000000, &sent), 0);
    // a later send of the same key replaces the earlier one
    bench_lat_put(t.get(), ka, 7000);
    ASSERT_EQ(bench_lat_get(t.get(), ka, 8000, 1000000, &sent), 1);
    EXPECT_EQ(sent, 7000);
    // many keys: most are still found (direct-mapped, a collision only loses a sample)
    int found = 0;
    for (uint32_t i = 0; i < 250; i++) bench_lat_put(t.get(), bench_lat_key(5000 + i, a, 16), 9000 + i);
    for (uint32_t i = 0; i < 250; i++)
        if (bench_lat_get(t.get(), bench_lat_key(5000 + i, a, 16), 10000, 1000000, &sent) && sent == 9000 + i) found++;
    EXPECT_GE(found, 240);
}
