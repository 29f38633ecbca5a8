// The shared ring: GOP cache, duration bound, and the slow-player cut.
#include <gtest/gtest.h>

#include <vector>

#include "hub.h"
#include "media_msg.h"
#include "rill_error.h"
#include "rtmp_msg.h"
#include "stream_ring.h"

namespace {

// A minimal AVC video payload: frame type (1 key, 2 inter), codec 7, NALU.
media_msg_t *video(uint32_t ts, bool key)
{
    uint8_t b[16] = { (uint8_t)((key ? 0x10 : 0x20) | 7), 1, 0, 0, 0, 0, 0, 0, 4, 0x65 };
    return media_msg_new(RTMP_MSG_VIDEO, ts, rill_payload_from(b, sizeof b));
}

media_msg_t *audio(uint32_t ts)
{
    uint8_t b[8] = { 0xAF, 1, 0x21, 0x10 };
    return media_msg_new(RTMP_MSG_AUDIO, ts, rill_payload_from(b, sizeof b));
}

media_msg_t *video_sh(uint32_t ts)
{
    uint8_t b[16] = { 0x17, 0, 0, 0, 0, 1, 0x64, 0, 0x1e, 0xff, 0xe1, 0, 0 };
    return media_msg_new(RTMP_MSG_VIDEO, ts, rill_payload_from(b, sizeof b));
}

}  // namespace

TEST(MediaMsg, ClassifiesAndBuildsSharedHeaders)
{
    media_msg_t *k = video(40, true);
    EXPECT_TRUE(media_is_video(k));
    EXPECT_TRUE(media_is_keyframe(k));
    EXPECT_EQ(k->hdr0_len, 12);          // 1-byte basic header + 11
    EXPECT_EQ(k->hdr3_len, 1);
    EXPECT_EQ(k->hdr0[0], 0x06);          // fmt 0, csid 6
    EXPECT_EQ(k->hdr3[0], 0xC6);          // fmt 3, csid 6
    media_msg_t *sh = video_sh(0);
    EXPECT_FALSE(media_is_keyframe(sh));  // a sequence header is not a GOP start
    EXPECT_TRUE(sh->flags & MEDIA_SEQ_HEADER);
    media_msg_t *big = video(0x1000000, false);
    EXPECT_EQ(big->hdr0_len, 16);         // extended timestamp
    EXPECT_EQ(big->hdr3_len, 5);          // repeated on fmt 3 chunks
    media_msg_unref(k);
    media_msg_unref(sh);
    media_msg_unref(big);
}

TEST(StreamRing, GopCacheStartsNewPlayerAtLastKeyframe)
{
    stream_ring_t r;
    stream_ring_init(&r, 1, 30000);
    EXPECT_EQ(stream_ring_play_start(&r), r.end);
    ASSERT_EQ(stream_ring_push(&r, video(0, true)), 0);
    for (int i = 1; i < 50; i++) ASSERT_EQ(stream_ring_push(&r, video(i * 40, false)), 0);
    ASSERT_EQ(stream_ring_push(&r, video(2000, true)), 0);  // seq 50
    ASSERT_EQ(stream_ring_push(&r, audio(2010)), 0);
    ASSERT_EQ(stream_ring_push(&r, video(2040, false)), 0);
    uint64_t start = stream_ring_play_start(&r);
    EXPECT_EQ(start, 50u);
    EXPECT_TRUE(media_is_keyframe(stream_ring_at(&r, start)));
    // Nobody needs the old GOP: trimming keeps exactly the current one.
    stream_ring_trim(&r, r.end);
    EXPECT_EQ(r.start, 50u);
    EXPECT_EQ(r.end - r.start, 3u);
    stream_ring_free(&r);
}

TEST(StreamRing, GopCacheOffStartsLive)
{
    stream_ring_t r;
    stream_ring_init(&r, 0, 30000);
    stream_ring_push(&r, video(0, true));
    stream_ring_push(&r, video(40, false));
    EXPECT_EQ(stream_ring_play_start(&r), r.end);
    stream_ring_trim(&r, r.end);
    EXPECT_EQ(r.start, r.end);
    stream_ring_free(&r);
}

TEST(StreamRing, TrimKeepsWhatTheSlowestPlayerNeeds)
{
    stream_ring_t r;
    stream_ring_init(&r, 1, 30000);
    for (int i = 0; i < 100; i++) stream_ring_push(&r, video(i * 40, i % 50 == 0));
    stream_ring_trim(&r, 10);               // a player still at seq 10
    EXPECT_EQ(r.start, 10u);
    stream_ring_free(&r);
}

TEST(StreamRing, DurationBoundCutsSlowPlayerToNextKeyframe)
{
    stream_ring_t r;
    stream_ring_init(&r, 1, 5000);          // queue_length 5 s
    uint64_t slow = 0;                       // a player that never reads
    for (int i = 0; i < 500; i++) ASSERT_EQ(stream_ring_push(&r, video(i * 40, i % 50 == 0)), 0);
    // 20 s of media pushed: the ring holds at most 5 s of it.
    EXPECT_LE(stream_ring_duration(&r), 5000u);
    EXPECT_GT(r.start, 0u);
    EXPECT_EQ(stream_ring_fix_cursor(&r, &slow), 1);
    EXPECT_GE(slow, r.start);
    EXPECT_TRUE(media_is_keyframe(stream_ring_at(&r, slow)));
    // A cursor inside the ring is left alone.
    uint64_t fine = r.end - 1;
    EXPECT_EQ(stream_ring_fix_cursor(&r, &fine), 0);
    EXPECT_EQ(fine, r.end - 1);
    stream_ring_free(&r);
}

TEST(StreamRing, CutWithoutKeyframeGoesLive)
{
    stream_ring_t r;
    stream_ring_init(&r, 1, 1000);
    for (int i = 0; i < 100; i++) stream_ring_push(&r, audio(i * 23));
    uint64_t slow = 0;
    EXPECT_EQ(stream_ring_fix_cursor(&r, &slow), 1);
    EXPECT_EQ(slow, r.end);
    stream_ring_free(&r);
}

TEST(StreamRing, MemoryBoundedWhateverIsPushed)
{
    stream_ring_t r;
    stream_ring_init(&r, 1, 2000);
    for (int i = 0; i < 20000; i++) stream_ring_push(&r, video(i * 40, i % 250 == 0));
    // 2 s at 25 fps: about 50 messages, never the 20000 pushed.
    EXPECT_LE(r.end - r.start, 60u);
    EXPECT_LE(r.cap, 256u);
    stream_ring_free(&r);
}

TEST(StreamRing, ClearMovesEverythingOut)
{
    stream_ring_t r;
    stream_ring_init(&r, 1, 30000);
    for (int i = 0; i < 10; i++) stream_ring_push(&r, video(i * 40, i == 0));
    stream_ring_clear(&r);
    EXPECT_EQ(r.start, r.end);
    EXPECT_EQ(r.bytes, 0u);
    EXPECT_EQ(stream_ring_play_start(&r), r.end);
    uint64_t old = 3;
    stream_ring_fix_cursor(&r, &old);
    EXPECT_EQ(old, r.end);
    stream_ring_free(&r);
}

// The hub's timestamp correction: monotonic for players whatever comes in.
TEST(Source, TimeJitterFullKeepsTimestampsMonotonic)
{
    vhost_conf_t vc = {};
    vc.time_jitter = JITTER_FULL;
    vc.gop_cache = 1;
    vc.queue_length = 30;
    hub_t hub;
    hub_init(&hub);
    source_t *s = hub_acquire(&hub, &vc, "v", "live", "x");
    ASSERT_NE(s, nullptr);
    int me = 0;
    ASSERT_EQ(source_publish(s, &me, 1, ""), 0);
    EXPECT_EQ(source_publish(s, &me, 2, ""), RILL_ERR_STREAM_BUSY);
    uint32_t in[] = { 16778000, 16778040, 16778020, 16778080, 100, 140, 0xFFFFFFF0u, 30 };
    uint32_t last = 0;
    for (uint32_t t : in) {
        uint8_t b[] = { 0x27, 1, 0, 0, 0 };
        ASSERT_EQ(source_on_message(s, RTMP_MSG_VIDEO, t, rill_payload_from(b, sizeof b)), 0);
        uint32_t out = stream_ring_at(&s->ring, s->ring.end - 1)->timestamp;
        EXPECT_GE(out, last) << "input " << t;
        last = out;
    }
    EXPECT_LT(last, 1000u);  // jumps became small steps, starting at 0
    source_unpublish(s);
    hub_release(&hub, s);
    EXPECT_EQ(hub.nsources, 0);
    hub_free(&hub);
}

TEST(StreamRing, ConfiguredInUseGopCacheOffAtOnceOnAtTheNextKeyframe)
{
    stream_ring_t r;
    stream_ring_init(&r, 1, 30000);
    ASSERT_EQ(stream_ring_push(&r, video(0, true)), 0);
    ASSERT_EQ(stream_ring_push(&r, video(40, false)), 0);
    EXPECT_EQ(stream_ring_play_start(&r), 0u);
    stream_ring_configure(&r, 0, 30000, 0);
    EXPECT_EQ(stream_ring_play_start(&r), r.end);                  // new players start live at once
    stream_ring_trim(&r, r.end);
    EXPECT_EQ(r.start, r.end);                                      // the old GOP is no longer kept
    ASSERT_EQ(stream_ring_push(&r, video(80, true)), 0);
    EXPECT_EQ(stream_ring_play_start(&r), r.end);                  // off: a keyframe starts nothing
    stream_ring_configure(&r, 1, 1000, 0);
    ASSERT_EQ(stream_ring_push(&r, video(120, false)), 0);
    EXPECT_EQ(stream_ring_play_start(&r), r.end);                  // on: nothing cached before a keyframe
    ASSERT_EQ(stream_ring_push(&r, video(160, true)), 0);
    uint64_t key = r.end - 1;
    for (int i = 1; i <= 20; i++) ASSERT_EQ(stream_ring_push(&r, video(160 + i * 40, false)), 0);
    EXPECT_EQ(stream_ring_play_start(&r), key);
    for (int i = 21; i <= 40; i++) ASSERT_EQ(stream_ring_push(&r, video(160 + i * 40, false)), 0);
    EXPECT_LE(stream_ring_duration(&r), 1000u);                    // the new duration bound holds
    EXPECT_GT(r.start, key);
    stream_ring_free(&r);
}

TEST(Source, ReloadedVhostBoundsApplyToALiveStream)
{
    config_t *conf = NULL;
    char err[256];
    ASSERT_EQ(0, config_load_string("listen 1935;\nvhost __defaultVhost__ { gop_cache off; queue_length 5; }\n",
                                    "t.conf", &conf, err, sizeof err)) << err;
    vhost_conf_t made = {};
    made.gop_cache = 1;
    made.queue_length = 30;
    hub_t hub;
    hub_init(&hub);
    source_t *a = hub_acquire(&hub, &made, "__defaultVhost__", "live", "a");
    source_t *b = hub_acquire(&hub, &made, "gone", "live", "b");
    int me = 0;
    source_publish(a, &me, 1, "");
    source_on_message(a, RTMP_MSG_VIDEO, 0, rill_payload_from((const uint8_t *)"\x17\x01\0\0\0\0\0\0\x04\x65", 10));
    EXPECT_TRUE(a->ring.has_gop);
    hub_reconfigured(&hub, conf);
    EXPECT_EQ(0, a->gop_cache);
    EXPECT_FALSE(a->ring.has_gop);
    EXPECT_EQ(5000u, a->ring.max_ms);
    EXPECT_EQ(1, b->gop_cache);                                     // its vhost is not in the file: unchanged
    EXPECT_EQ(30000u, b->ring.max_ms);
    source_unpublish(a);
    hub_release(&hub, a);
    hub_release(&hub, b);
    hub_free(&hub);
    config_free(conf);
}

TEST(Source, SequenceHeadersAndMetadataCachedAndDroppedOnUnpublish)
{
    vhost_conf_t vc = {};
    vc.time_jitter = JITTER_OFF;
    vc.gop_cache = 1;
    vc.queue_length = 30;
    hub_t hub;
    hub_init(&hub);
    source_t *s = hub_acquire(&hub, &vc, "v", "live", "x");
    int me = 0;
    source_publish(s, &me, 1, "");
    uint8_t sh[] = { 0x17, 0, 0, 0, 0, 1, 0x64 };
    uint8_t ash[] = { 0xAF, 0, 0x12, 0x10 };
    uint8_t meta[] = { 2, 0, 10, 'o', 'n', 'M', 'e', 't', 'a', 'D', 'a', 't', 'a', 5 };
    source_on_message(s, RTMP_MSG_AMF0_DATA, 0, rill_payload_from(meta, sizeof meta));
    source_on_message(s, RTMP_MSG_VIDEO, 0, rill_payload_from(sh, sizeof sh));
    source_on_message(s, RTMP_MSG_AUDIO, 0, rill_payload_from(ash, sizeof ash));
    ASSERT_NE(s->metadata, nullptr);
    ASSERT_NE(s->video_sh, nullptr);
    ASSERT_NE(s->audio_sh, nullptr);
    // The cache and the ring share one message: no copy.
    EXPECT_EQ(s->video_sh->refs, 2u);
    uint32_t epoch = s->epoch;
    source_unpublish(s);
    EXPECT_EQ(s->video_sh, nullptr);
    EXPECT_EQ(s->metadata, nullptr);
    EXPECT_NE(s->epoch, epoch);
    hub_release(&hub, s);
    hub_free(&hub);
}

// A holder keeps the source across a yield: another holder leaving, with no
// publisher and no consumers, must not free it (a player that acquired a
// stream, then waits for a hook or sends a status, while another one leaves).
TEST(Source, HeldUntilEveryHolderReleases)
{
    vhost_conf_t vc = {};
    vc.gop_cache = 1;
    vc.queue_length = 30;
    hub_t hub;
    hub_init(&hub);
    source_t *a = hub_acquire(&hub, &vc, "v", "live", "x");
    source_t *b = hub_acquire(&hub, &vc, "v", "live", "x");
    ASSERT_EQ(a, b);
    EXPECT_EQ(a->refs, 2u);
    hub_release(&hub, b);
    EXPECT_EQ(hub.nsources, 1) << "freed while still held";
    EXPECT_EQ(hub_find(&hub, "v", "live", "x"), a);
    hub_hold(a);                 // e.g. an edge upstream's own hold
    hub_release(&hub, a);
    EXPECT_EQ(hub.nsources, 1);
    hub_release(&hub, a);
    EXPECT_EQ(hub.nsources, 0);
    hub_free(&hub);
}

// ---- the byte bound (queue_bytes) -------------------------------------------

namespace {

// A video frame of size bytes (AVC, key or inter).
media_msg_t *sized_video(uint32_t ts, bool key, size_t size)
{
    std::vector<uint8_t> b(size, 0);
    b[0] = (uint8_t)((key ? 0x10 : 0x20) | 7);
    b[1] = 1;
    return media_msg_new(RTMP_MSG_VIDEO, ts, rill_payload_from(b.data(), b.size()));
}

media_msg_t *sized_audio(uint32_t ts, size_t size)
{
    std::vector<uint8_t> b(size, 0);
    b[0] = 0xAF;
    b[1] = 1;
    return media_msg_new(RTMP_MSG_AUDIO, ts, rill_payload_from(b.data(), b.size()));
}

}  // namespace

TEST(StreamRing, ByteBoundDropsOldestGopWhenTimestampsRepeat)
{
    stream_ring_t r;
    stream_ring_init(&r, 1, 30000);
    r.max_bytes = 100 * 1000;
    // GOPs of 10 frames of 3000 bytes (30 kB), all at one timestamp: the
    // duration bound never acts, the byte bound keeps at most 3 GOPs.
    uint64_t slow = 0;   // a player that never reads
    int cuts = 0;
    for (int i = 0; i < 2000; i++) {
        ASSERT_EQ(stream_ring_push(&r, sized_video(1000, i % 10 == 0, 3000)), 0) << i;
        ASSERT_LE(r.bytes, r.max_bytes) << i;
        ASSERT_TRUE(media_is_keyframe(stream_ring_at(&r, r.start))) << i;
        cuts += stream_ring_fix_cursor(&r, &slow);
    }
    EXPECT_EQ(r.end - r.start, 30u);   // whole GOPs: 3 of 10 frames
    EXPECT_EQ(r.nkeys, 3u);
    EXPECT_EQ(r.nframes, 30u);
    EXPECT_EQ(r.bytes, 90000u);
    EXPECT_LE(r.cap, 256u);
    // The slow player was cut forward, always to a keyframe held.
    EXPECT_GT(cuts, 100);
    EXPECT_GE(slow, r.start);
    EXPECT_TRUE(media_is_keyframe(stream_ring_at(&r, slow)));
    // New players still start at the cached GOP.
    EXPECT_EQ(stream_ring_play_start(&r), r.end - 10);
    stream_ring_free(&r);
}

TEST(StreamRing, OneGopOverTheByteBoundIsRefused)
{
    stream_ring_t r;
    stream_ring_init(&r, 1, 30000);
    r.max_bytes = 64 * 1024;
    ASSERT_EQ(stream_ring_push(&r, video_sh(0)), 0);
    ASSERT_EQ(stream_ring_push(&r, sized_video(0, true, 4096)), 0);
    int rc = 0, n = 0;
    // One keyframe, then inter frames at the same timestamp: what a hostile
    // publisher sends to grow a ring bounded by duration only.
    while (rc == 0 && n < 1000) {
        rc = stream_ring_push(&r, sized_video(0, false, 4096));
        n++;
    }
    EXPECT_EQ(rc, RILL_ERR_GOP_TOO_BIG);
    // The sequence header before the keyframe went first (it is cached
    // apart from the ring); then the 17th frame of 4 KiB was one too many.
    EXPECT_EQ(n, 16);
    // The ring stays consistent: the frame is held, the GOP is intact.
    EXPECT_EQ(r.end - r.start, 17u);
    EXPECT_TRUE(media_is_keyframe(stream_ring_at(&r, r.start)));
    EXPECT_EQ(r.nkeys, 1u);
    EXPECT_EQ(r.nframes, 17u);
    EXPECT_GT(r.bytes, r.max_bytes);
    stream_ring_clear(&r);
    EXPECT_EQ(r.bytes, 0u);
    EXPECT_EQ(r.nkeys, 0u);
    EXPECT_EQ(r.nframes, 0u);
    stream_ring_free(&r);
}

TEST(StreamRing, ByteBoundWithoutKeyframesRefusesVideo)
{
    // Inter frames only (no keyframe ever): nothing can be dropped at a GOP
    // boundary, and a player could not start anywhere in it either.
    stream_ring_t r;
    stream_ring_init(&r, 0, 30000);
    r.max_bytes = 64 * 1024;
    int rc = 0;
    for (int i = 0; i < 100 && rc == 0; i++) rc = stream_ring_push(&r, sized_video(0, false, 8192));
    EXPECT_EQ(rc, RILL_ERR_GOP_TOO_BIG);
    stream_ring_free(&r);
}

TEST(StreamRing, ByteBoundAudioOnlyDropsMessageByMessage)
{
    stream_ring_t r;
    stream_ring_init(&r, 1, 30000);
    r.max_bytes = 64 * 1024;
    for (int i = 0; i < 5000; i++) {
        ASSERT_EQ(stream_ring_push(&r, sized_audio(7, 1000)), 0) << i;
        ASSERT_LE(r.bytes, r.max_bytes);
    }
    EXPECT_EQ(r.end - r.start, 65u);    // 65 * 1000 <= 65536
    // One audio message larger than the bound stays: it is all there is.
    ASSERT_EQ(stream_ring_push(&r, sized_audio(7, 100000)), 0);
    EXPECT_EQ(r.end - r.start, 1u);
    stream_ring_free(&r);
}

TEST(StreamRing, ByteCountersFollowTrimAndDurationBound)
{
    stream_ring_t r;
    stream_ring_init(&r, 0, 1000);
    r.max_bytes = 1 << 20;
    for (int i = 0; i < 500; i++) stream_ring_push(&r, sized_video(i * 40, i % 25 == 0, 100 + i));
    uint64_t bytes = 0, keys = 0, frames = 0;
    for (uint64_t s = r.start; s < r.end; s++) {
        media_msg_t *m = stream_ring_at(&r, s);
        bytes += m->payload->size;
        keys += media_is_keyframe(m);
        frames += media_is_video(m);
    }
    EXPECT_EQ(r.bytes, bytes);
    EXPECT_EQ(r.nkeys, keys);
    EXPECT_EQ(r.nframes, frames);
    stream_ring_trim(&r, r.end);
    EXPECT_EQ(r.bytes, 0u);
    EXPECT_EQ(r.nkeys, 0u);
    EXPECT_EQ(r.nframes, 0u);
    stream_ring_free(&r);
}

// The hub passes the vhost's queue_bytes to the ring; a player behind is cut
// to a keyframe; one GOP over the bound fails the publisher's message.
TEST(Source, QueueBytesCutsPlayersAndRefusesAnOversizedGop)
{
    vhost_conf_t vc = {};
    vc.time_jitter = JITTER_FULL;
    vc.gop_cache = 1;
    vc.queue_length = 30;
    vc.queue_bytes = 100 * 1000;
    hub_t hub;
    hub_init(&hub);
    source_t *s = hub_acquire(&hub, &vc, "v", "live", "x");
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->ring.max_bytes, 100000u);
    int me = 0;
    ASSERT_EQ(source_publish(s, &me, 1, ""), 0);
    consumer_t *c = source_add_consumer(s, nullptr);
    ASSERT_NE(c, nullptr);
    std::vector<uint8_t> key(3000, 0), inter(3000, 0);
    key[0] = 0x17, key[1] = 1;
    inter[0] = 0x27, inter[1] = 1;
    for (int i = 0; i < 100; i++) {
        const std::vector<uint8_t> &b = i % 10 == 0 ? key : inter;
        ASSERT_EQ(source_on_message(s, RTMP_MSG_VIDEO, 5000, rill_payload_from(b.data(), b.size())), 0);
    }
    EXPECT_LE(s->ring.bytes, 100000u);
    EXPECT_EQ(consumer_sync(c), 1);
    EXPECT_EQ(c->cursor, s->ring.start);
    EXPECT_TRUE(media_is_keyframe(stream_ring_at(&s->ring, c->cursor)));
    int rc = 0;
    for (int i = 0; i < 100 && rc == 0; i++)
        rc = source_on_message(s, RTMP_MSG_VIDEO, 5000, rill_payload_from(inter.data(), inter.size()));
    EXPECT_EQ(rc, RILL_ERR_GOP_TOO_BIG);
    // What the connection does next: unpublish; the player stays for a republish.
    source_unpublish(s);
    EXPECT_EQ(s->ring.bytes, 0u);
    EXPECT_EQ(c->cursor, s->ring.end);
    source_remove_consumer(c);
    hub_release(&hub, s);
    EXPECT_EQ(hub.nsources, 0);
    hub_free(&hub);
}
