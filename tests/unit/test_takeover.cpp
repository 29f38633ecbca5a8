// Publish takeover at the source: when a new publish may replace the
// current publisher, what the replacement keeps (players' ring, cached
// headers, no unpublish), and how the new publisher's timestamps continue.
#include <gtest/gtest.h>

#include <string.h>

extern "C" {
#include "hub.h"
#include "client.h"
#include "config.h"
#include "rill_error.h"
#include "rtmp_msg.h"
}

namespace {

rill_payload_t *video(bool key, bool seq_header)
{
    rill_payload_t *pl = rill_payload_new(16);
    pl->size = 16;
    memset(pl->data, 0, 16);
    pl->data[0] = (uint8_t)((key ? 0x10 : 0x20) | 7);
    pl->data[1] = seq_header ? 0 : 1;
    return pl;
}

struct Observed {
    int publishes = 0, unpublishes = 0;
};

void on_pub(void *ctx, source_t *) { static_cast<Observed *>(ctx)->publishes++; }
void on_unpub(void *ctx, source_t *) { static_cast<Observed *>(ctx)->unpublishes++; }

struct Stream {
    config_t *conf = nullptr;
    hub_t hub;
    source_t *src = nullptr;
    hub_observer_t obs;
    Observed seen;
    int first = 0, second = 0;
    client_t first_client;

    explicit Stream(const char *vhost_body = "")
    {
        std::string text = std::string("listen 127.0.0.1:1935;\nvhost __defaultVhost__ { ") + vhost_body + " }\n";
        char err[256];
        EXPECT_EQ(0, config_load_string(text.c_str(), "t.conf", &conf, err, sizeof err)) << err;
        hub_init(&hub);
        memset(&obs, 0, sizeof obs);
        obs.on_publish = on_pub;
        obs.on_unpublish = on_unpub;
        obs.ctx = &seen;
        hub_observe(&hub, &obs);
        src = hub_acquire(&hub, config_vhost(conf, "__defaultVhost__"), "__defaultVhost__", "live", "s");
        memset(&first_client, 0, sizeof first_client);
    }
    ~Stream()
    {
        hub_release(&hub, src);
        hub_free(&hub);
        config_free(conf);
    }
    void push(uint32_t ts, bool key, bool seq_header = false)
    {
        ASSERT_EQ(0, source_on_message(src, RTMP_MSG_VIDEO, ts, video(key, seq_header)));
    }
};

TEST(Takeover, OnlyASilentClientPublisherIsReplaced)
{
    Stream st;
    EXPECT_EQ(-1, source_silent_ms(st.src, 0));
    EXPECT_EQ(0, source_can_take_over(st.src, st.src->heard_ms + 5000, 1000)) << "no publisher: a plain publish";
    ASSERT_EQ(0, source_publish(st.src, &st.first, 1, ""));
    int64_t t0 = st.src->heard_ms;
    EXPECT_EQ(0, source_can_take_over(st.src, t0 + 999, 1000)) << "a live publisher is never replaced";
    EXPECT_EQ(1, source_can_take_over(st.src, t0 + 1000, 1000));
    EXPECT_EQ(0, source_can_take_over(st.src, t0 + 600000, 0)) << "takeover_timeout 0: never";
    // Every message counts as heard.
    st.push(0, true, true);
    EXPECT_GE(st.src->heard_ms, t0);
    EXPECT_EQ(0, source_can_take_over(st.src, st.src->heard_ms + 999, 1000));
    // An edge's upstream has its own silence rule.
    st.src->edge_pulled = 1;
    EXPECT_EQ(0, source_can_take_over(st.src, st.src->heard_ms + 600000, 1000));
    st.src->edge_pulled = 0;
    source_unpublish(st.src);
}

TEST(Takeover, ReplacementKeepsPlayersAndCacheWithoutUnpublish)
{
    Stream st;
    ASSERT_EQ(0, source_publish(st.src, &st.first, 7, "?a=1"));
    st.src->publisher_client = &st.first_client;
    st.push(0, true, true);    // sequence header
    st.push(0, true);
    st.push(40, false);
    uint32_t epoch = st.src->epoch;
    uint64_t end = st.src->ring.end;
    media_msg_t *sh = st.src->video_sh;
    ASSERT_NE(nullptr, sh);

    client_t *old = nullptr;
    ASSERT_EQ(0, source_take_over(st.src, &st.second, 9, "?b=2", &old));
    EXPECT_EQ(&st.first_client, old) << "the old publisher's client is handed back to be closed";
    EXPECT_EQ(&st.second, st.src->publisher);
    EXPECT_EQ(9u, st.src->publisher_cid);
    EXPECT_STREQ("?b=2", st.src->publish_param);
    EXPECT_EQ(nullptr, st.src->publisher_client) << "the new owner registers its own client";
    EXPECT_EQ(1u, st.src->takeovers);
    EXPECT_EQ(epoch, st.src->epoch) << "players are told nothing";
    EXPECT_EQ(end, st.src->ring.end) << "nothing dropped";
    EXPECT_EQ(sh, st.src->video_sh);
    EXPECT_EQ(1, st.seen.publishes);
    EXPECT_EQ(0, st.seen.unpublishes) << "forwarders keep their sessions";
    // The new publisher's headers replace the cached ones.
    st.push(source_rebase(st.src, 0), true, true);
    EXPECT_NE(sh, st.src->video_sh);
    source_unpublish(st.src);
    EXPECT_EQ(1, st.seen.unpublishes);
}

TEST(Takeover, NewTimestampsContinueWhereTheStreamWas)
{
    Stream st("play { time_jitter off; }");
    ASSERT_EQ(0, source_publish(st.src, &st.first, 1, ""));
    EXPECT_EQ(0u, source_rebase(st.src, 1234)) << "a fresh publish keeps its timestamps";
    st.push(5000, true, true);
    st.push(5000, true);
    st.push(5040, false);
    client_t *old = nullptr;
    ASSERT_EQ(0, source_take_over(st.src, &st.second, 2, "", &old));
    // The new encoder starts at 0: its first frame lands 10 ms after 5040.
    uint32_t off = source_rebase(st.src, 0);
    EXPECT_EQ(5050u, 0 + off);
    st.push(0 + off, true, true);
    st.push(0 + off, true);
    st.push(40 + off, false);
    const stream_ring_t *r = &st.src->ring;
    media_msg_t *last = stream_ring_at(r, r->end - 1);
    EXPECT_EQ(5090u, last->timestamp) << "time_jitter off: the rebase alone keeps them going";
    // An encoder far ahead (a later start) is brought back too: never a jump.
    ASSERT_EQ(0, source_take_over(st.src, &st.first, 3, "", &old));
    off = source_rebase(st.src, 900000);
    EXPECT_EQ(5100u, 900000 + off);
    // After an unpublish the next publisher starts fresh.
    source_unpublish(st.src);
    EXPECT_EQ(0u, source_rebase(st.src, 77));
}

TEST(Takeover, UnpublishOfTheReplacedPublisherIsNotTheStreams)
{
    // The old connection's teardown checks it is still the publisher; the
    // source says so by its publisher pointer.
    Stream st;
    ASSERT_EQ(0, source_publish(st.src, &st.first, 1, ""));
    client_t *old = nullptr;
    ASSERT_EQ(0, source_take_over(st.src, &st.second, 2, "", &old));
    EXPECT_NE(static_cast<void *>(&st.first), st.src->publisher);
    EXPECT_EQ(RILL_ERR_STREAM_BUSY, source_publish(st.src, &st.first, 3, ""));
    source_unpublish(st.src);
}

}  // namespace
