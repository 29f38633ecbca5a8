// The stream pump on state-threads, in one process: a publisher coroutine
// pushes into a real source, the pump writes to one end of a socketpair with
// a small send buffer, and the test body reads the other end slowly. These
// are the cases a player meets with real encoders: a batch larger than one
// write (a 10 s GOP), the ring trimmed or cleared while a write blocks, and a
// peer whose stream id is not 1 (per-message headers).
#include <gtest/gtest.h>

#include "pump_fixture.h"

#include <errno.h>
#include <st.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <vector>

extern "C" {
#include "hub.h"
#include "config.h"
#include "rill_error.h"
#include "rill_time.h"
#include "rtmp_chunk.h"
#include "rtmp_msg.h"
#include "rtmp_session.h"
#include "stream_pump.h"
}

namespace {

const st_utime_t kMs = 1000;

// A video payload whose every byte after the AVC header is its sequence
// number's low byte, so a reader can tell a payload from freed memory.
rill_payload_t *frame(uint32_t seq, bool key, size_t size)
{
    rill_payload_t *pl = rill_payload_new(size);
    pl->size = (uint32_t)size;
    memset(pl->data, (int)(seq & 0xff), size);
    pl->data[0] = (uint8_t)((key ? 0x10 : 0x20) | 7);
    pl->data[1] = 1;                    // AVC NALU
    pl->data[2] = pl->data[3] = pl->data[4] = 0;
    return pl;
}

struct Stream {
    config_t *conf = nullptr;
    hub_t hub;
    source_t *src = nullptr;
    int pub_who = 0;

    explicit Stream(const char *play_block)
    {
        st_once();
        std::string text = std::string("listen 127.0.0.1:1935;\nvhost __defaultVhost__ { play { ") + play_block +
                           " } }\n";
        char err[256];
        EXPECT_EQ(0, config_load_string(text.c_str(), "t.conf", &conf, err, sizeof err)) << err;
        hub_init(&hub);
        src = hub_acquire(&hub, config_vhost(conf, "__defaultVhost__"), "__defaultVhost__", "live", "s");
        EXPECT_EQ(0, source_publish(src, &pub_who, 1, ""));
    }
    ~Stream()
    {
        hub_free(&hub);
        config_free(conf);
    }
    void push(uint32_t seq, bool key, size_t size)
    {
        ASSERT_EQ(0, source_on_message(src, RTMP_MSG_VIDEO, seq * 40, frame(seq, key, size)));
    }
};

// Publishes frames [from, to) one every `gap` with a keyframe every `gop`,
// then optionally unpublishes and publishes again (a new session).
struct Publisher {
    Stream *st;
    uint32_t from, to, gop;
    size_t size;
    st_utime_t gap;
    uint32_t republish_at = 0;          // 0: never
    st_thread_t t = nullptr;
    static void *main(void *arg)
    {
        Publisher *p = (Publisher *)arg;
        for (uint32_t i = p->from; i < p->to; i++) {
            if (p->republish_at && i == p->republish_at) {
                source_unpublish(p->st->src);
                EXPECT_EQ(0, source_publish(p->st->src, &p->st->pub_who, 1, ""));
            }
            bool key = (i - p->from) % p->gop == 0 || i == p->republish_at;
            p->st->push(i, key, p->size);
            st_usleep(p->gap);
        }
        return nullptr;
    }
    void start() { t = st_thread_create(main, this, 1, 0); }
    void join() { st_thread_join(t, nullptr); }
};

// What a player saw: FLV tags parsed from the byte stream.
struct Tag {
    uint8_t type;
    uint32_t ts;
    uint32_t seq;
    bool key;
    bool intact;    // every payload byte carries the same sequence number
};

struct FlvReader {
    std::vector<uint8_t> buf;
    std::vector<Tag> tags;
    void feed(const uint8_t *p, size_t n)
    {
        buf.insert(buf.end(), p, p + n);
        size_t off = 0;
        while (buf.size() - off >= 11) {
            const uint8_t *h = &buf[off];
            uint32_t size = (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
            if (buf.size() - off < 11 + size + 4) break;
            Tag t;
            t.type = h[0];
            t.ts = (uint32_t)h[7] << 24 | (uint32_t)h[4] << 16 | (uint32_t)h[5] << 8 | h[6];
            const uint8_t *d = h + 11;
            t.key = (d[0] >> 4) == 1;
            t.seq = t.ts / 40;
            t.intact = size > 5;
            for (uint32_t i = 5; i < size && t.intact; i++) t.intact = d[i] == (uint8_t)(t.seq & 0xff);
            tags.push_back(t);
            off += 11 + size + 4;
        }
        buf.erase(buf.begin(), buf.begin() + (long)off);
    }
};

// Read slowly (chunk bytes, then a pause) until `last` was seen or the bound.
void read_slowly(st_netfd_t fd, FlvReader &rd, uint32_t last, size_t chunk, st_utime_t pause, int max_reads)
{
    std::vector<uint8_t> b(chunk);
    for (int i = 0; i < max_reads; i++) {
        if (!rd.tags.empty() && rd.tags.back().seq >= last) return;
        ssize_t n = st_read(fd, b.data(), b.size(), 2000 * kMs);
        if (n <= 0) return;
        rd.feed(b.data(), (size_t)n);
        st_usleep(pause);
    }
}

// Timestamps never go back; after every jump in sequence the first frame is
// a keyframe; no payload is anything but what was published.
void check_player_view(const FlvReader &rd)
{
    ASSERT_FALSE(rd.tags.empty());
    EXPECT_TRUE(rd.tags[0].key) << "first frame is not a keyframe";
    for (size_t i = 0; i < rd.tags.size(); i++) {
        const Tag &t = rd.tags[i];
        EXPECT_TRUE(t.intact) << "tag " << i << " (seq " << t.seq << ") payload corrupted";
        if (i == 0) continue;
        const Tag &p = rd.tags[i - 1];
        EXPECT_GE(t.ts, p.ts) << "timestamp went back at tag " << i;
        if (t.seq != p.seq + 1) {
            EXPECT_TRUE(t.key) << "after a cut (seq " << p.seq << " -> " << t.seq
                               << ") the first frame is not a keyframe";
        }
    }
}

}  // namespace

// A 10 s GOP's worth of cached frames is far more than one write takes; while
// the player's writes block, the publisher goes on and the ring's duration
// bound drops the messages the player was about to send. The batch owns
// references to what it queued, and the cursor is cut forward to a keyframe.
TEST(StreamPump, BatchLargerThanOneWriteWhileTheRingTrims)
{
    Stream st("gop_cache on; queue_length 10;");
    // one long GOP already cached: 250 frames of 8 KiB (2 MiB)
    for (uint32_t i = 0; i < 250; i++) st.push(i, i == 0, 8192);
    consumer_t *co = source_add_consumer(st.src, st_thread_self());
    ASSERT_NE(nullptr, co);
    ASSERT_EQ(co->cursor, st.src->ring.start);
    Pipe io;
    stream_pump_t p;
    uint64_t out = 0;
    ASSERT_EQ(0, stream_pump_init_flv(&p, io.w, &out, co, 0, 0));
    PumpRun run;
    run.p = &p;
    run.start();
    // keyframes every 10 frames, 200 frames pushed while the player reads slowly
    Publisher pub{ &st, 250, 450, 10, 8192, 2 * kMs };
    pub.start();
    FlvReader rd;
    read_slowly(io.r, rd, 449, 4096, 2 * kMs, 20000);
    pub.join();
    // caught up: the next frames go out from the stream's tick buffer, and
    // the arrays its 2 MiB GOP grew to the full batch are given back
    co->thread = run.t;
    for (uint32_t i = 450; i < 453; i++) {
        st.push(i, i == 450, 8192);
        read_slowly(io.r, rd, i, 65536, 0, 100);
    }
    run.end();
    EXPECT_GT(p.tick_writes, 0u);
    EXPECT_LE(p.iov_cap, 64);
    EXPECT_LE(p.cap, 32);
    stream_pump_free(&p);
    EXPECT_GT(co->cuts, 0u) << "the ring never dropped what the player needed: the case was not exercised";
    source_remove_consumer(co);
    check_player_view(rd);
    EXPECT_EQ(452u, rd.tags.back().seq) << "the player did not reach the live end";
}

// The publisher leaves and a new one comes while a player's write blocks:
// the ring is cleared under the batch, and the round ends at the new publish.
TEST(StreamPump, RingClearedWhileAWriteBlocks)
{
    Stream st("gop_cache on; queue_length 30;");
    // a player that joined 12 s ago and has not been written to since: one long batch
    consumer_t *co = source_add_consumer(st.src, st_thread_self());
    for (uint32_t i = 0; i < 300; i++) st.push(i, i % 50 == 0, 8192);
    ASSERT_EQ(0u, co->cursor);
    Pipe io;
    stream_pump_t p;
    uint64_t out = 0;
    ASSERT_EQ(0, stream_pump_init_flv(&p, io.w, &out, co, 0, 0));
    PumpRun run;
    run.p = &p;
    run.start();
    Publisher pub{ &st, 300, 400, 25, 8192, 2 * kMs };
    pub.republish_at = 320;
    pub.start();
    FlvReader rd;
    read_slowly(io.r, rd, 399, 4096, 1 * kMs, 20000);
    pub.join();
    run.end();
    stream_pump_free(&p);
    source_remove_consumer(co);
    check_player_view(rd);
    EXPECT_EQ(399u, rd.tags.back().seq);
}

// A peer that named another stream id (a slave behind an on_forward backend)
// gets headers built per message; a batch of more messages than the pump
// starts with must not move them while iovecs point at them.
TEST(StreamPump, OtherStreamIdHeadersSurviveAGrowingBatch)
{
    Stream st("gop_cache on; queue_length 30;");
    const uint32_t kMsgs = 100;
    for (uint32_t i = 0; i < kMsgs; i++) st.push(i, i == 0, 100);
    consumer_t *co = source_add_consumer(st.src, st_thread_self());
    Pipe io;
    rtmp_session_t sess;
    ASSERT_EQ(0, rtmp_session_init(&sess, io.w));
    io.w = nullptr;   // the session owns it now
    stream_pump_t p;
    ASSERT_EQ(0, stream_pump_init_rtmp(&p, &sess, co, 0, 0, 5));
    PumpRun run;
    run.p = &p;
    run.start();
    rtmp_chunk_decoder_t dec;
    rtmp_chunk_decoder_init(&dec, 0);
    std::vector<rtmp_msg_t> got;
    uint8_t b[4096];
    for (int i = 0; i < 1000 && got.size() < kMsgs; i++) {
        ssize_t n = st_read(io.r, b, sizeof b, 2000 * kMs);
        if (n <= 0) break;
        size_t off = 0;
        while (off < (size_t)n) {
            size_t used = 0;
            rtmp_msg_t m;
            int rc = rtmp_chunk_decode(&dec, b + off, (size_t)n - off, &used, &m);
            ASSERT_GE(rc, 0) << "the peer got a malformed chunk stream";
            off += used;
            if (rc == 1) got.push_back(m);
        }
    }
    run.end();
    stream_pump_free(&p);
    source_remove_consumer(co);
    rtmp_session_free(&sess);
    ASSERT_EQ(kMsgs, got.size());
    for (uint32_t i = 0; i < kMsgs; i++) {
        EXPECT_EQ(5u, got[i].stream_id) << "message " << i;
        EXPECT_EQ(i * 40, got[i].timestamp) << "message " << i;
        EXPECT_EQ(100u, got[i].payload->size);
        EXPECT_EQ((uint8_t)(i & 0xff), got[i].payload->data[50]) << "message " << i;
        rill_payload_unref(got[i].payload);
    }
    rtmp_chunk_decoder_free(&dec);
}

// Merged writes on time: with mw_latency M a message waits at most M (plus
// scheduling noise) before it is written. A player that wrote just after a
// point of the shared grid is due on the next point, not one later (which
// made messages wait up to 2M).
TEST(StreamPump, MergedWritesWaitAtMostMwLatency)
{
    const int kMw = 200;
    Stream st("gop_cache on; queue_length 30;");
    consumer_t *co = source_add_consumer(st.src, st_thread_self());
    Pipe io;
    stream_pump_t p;
    uint64_t out = 0;
    ASSERT_EQ(0, stream_pump_init_flv(&p, io.w, &out, co, kMw, 0));
    PumpRun run;
    run.p = &p;
    run.start();
    co->thread = run.t;     // a push wakes the pump, not the reader
    // a frame every 10 ms for 1.6 s; the reader notes when each arrives
    std::map<uint32_t, int64_t> pushed;
    struct Pub {
        Stream *st;
        std::map<uint32_t, int64_t> *pushed;
        static void *main(void *arg)
        {
            Pub *p = (Pub *)arg;
            for (uint32_t i = 0; i < 160; i++) {
                (*p->pushed)[i] = rill_now_ms();
                p->st->push(i, i % 50 == 0, 500);
                st_usleep(10 * kMs);
            }
            return nullptr;
        }
    } pub{ &st, &pushed };
    st_thread_t pt = st_thread_create(Pub::main, &pub, 1, 0);
    FlvReader rd;
    std::vector<int64_t> waits;
    std::vector<uint8_t> b(65536);
    for (int i = 0; i < 1000 && (rd.tags.empty() || rd.tags.back().seq < 159); i++) {
        ssize_t n = st_read(io.r, b.data(), b.size(), 2000 * kMs);
        if (n <= 0) break;
        size_t before = rd.tags.size();
        rd.feed(b.data(), (size_t)n);
        int64_t now = rill_now_ms();
        for (size_t k = before; k < rd.tags.size(); k++)
            if (rd.tags[k].seq >= 10) waits.push_back(now - pushed[rd.tags[k].seq]);
    }
    st_thread_join(pt, nullptr);
    run.end();
    stream_pump_free(&p);
    source_remove_consumer(co);
    ASSERT_FALSE(rd.tags.empty());
    EXPECT_EQ(159u, rd.tags.back().seq);
    // Messages come evenly, so their waits spread over [0, M]: p50 about M/2
    // and p90 about 0.9 M, where the second tick made them about M and 1.8 M.
    // Percentiles, not the worst: a loaded machine adds noise to a few.
    ASSERT_GT(waits.size(), 100u);
    std::sort(waits.begin(), waits.end());
    int64_t p50 = waits[waits.size() / 2], p90 = waits[waits.size() * 9 / 10];
    EXPECT_LT(p50, kMw * 3 / 4) << "p50 wait " << p50 << " ms, p90 " << p90 << " ms with mw_latency " << kMw;
    EXPECT_LT(p90, kMw * 7 / 5) << "p50 wait " << p50 << " ms, p90 " << p90 << " ms with mw_latency " << kMw;
    EXPECT_GT(p90, kMw / 2) << "writes were not merged at all";
}

namespace {

// Reads what arrives on fd into out until nothing comes for 300 ms.
void drain(st_netfd_t fd, std::vector<uint8_t> &out, int max_reads)
{
    uint8_t b[65536];
    for (int i = 0; i < max_reads; i++) {
        ssize_t n = st_read(fd, b, sizeof b, 300 * kMs);
        if (n <= 0) return;
        out.insert(out.end(), b, b + n);
    }
}

// Two players of one stream, each pump run in a coroutine of its own on a
// socketpair with the kernel's default buffers: p[0] is written by the
// stream's write pass, p[1] never (no_pass), so its bytes are the per-player
// path's. finish() reads both sockets dry and ends and frees the pumps.
struct PassPair {
    Stream st;
    Pipe io[2] = { Pipe(0, 0), Pipe(0, 0) };
    stream_pump_t p[2];
    uint64_t out[2] = { 0, 0 };
    PumpRun run[2];
    consumer_t *co[2] = { nullptr, nullptr };
    std::vector<uint8_t> got[2];
    bool ok = true;             // both pumps made and running (the test ASSERTs it)
    bool inited[2] = { false, false };
    bool ended = false;
    PassPair(bool uring, int mw_msgs) : st("gop_cache on; queue_length 30;")
    {
        st.hub.pass_sends.no_uring = uring ? 0 : 1;
        for (int i = 0; i < 2; i++) {
            co[i] = source_add_consumer(st.src, st_thread_self());
            inited[i] = co[i] && stream_pump_init_flv(&p[i], io[i].w, &out[i], co[i], 0, mw_msgs) == 0;
            ok = ok && inited[i];
        }
        if (!ok) return;
        p[1].no_pass = 1;
        for (int i = 0; i < 2; i++) run[i].run_for(&p[i]);
    }
    void finish()
    {
        for (int i = 0; i < 2; i++) drain(io[i].r, got[i], 1000);
        for (int i = 0; i < 2; i++) run[i].end();
        ended = true;
    }
    ~PassPair()
    {
        for (int i = 0; i < 2 && ok && !ended; i++) run[i].end();     // a failed ASSERT left them running
        for (int i = 0; i < 2; i++) {
            if (inited[i]) stream_pump_free(&p[i]);
            if (co[i]) source_remove_consumer(co[i]);
        }
    }
};

}  // namespace

// The stream's write pass: a player parked at the live edge with mw_latency
// 0 is written by the publisher's coroutine from the tick buffer, and its own
// coroutine never wakes to write (its writev count stays). The bytes are
// those of the per-player path, which a second player taking it (no_pass)
// gets: byte for byte the same. Messages pushed without a pass (a publisher
// that read several at once) go out in one write at the next flush.
static void pass_writes_parked_players(bool uring)
{
    if (uring && !send_batch_uring_allowed()) GTEST_SKIP() << "io_uring is not allowed here";
    PassPair pp(uring, 0);
    ASSERT_TRUE(pp.ok);
    Stream &st = pp.st;
    stream_pump_t *p = pp.p;
    st_usleep(10 * kMs);    // both parked
    // frames small enough that the unread socket never fills (65 KB in all)
    st.push(0, true, 1000); // no GOP yet: each player wakes for this keyframe
    st_usleep(10 * kMs);
    uint64_t writes = p[0].writes;
    for (uint32_t i = 1; i < 60; i++) {
        st.push(i, i % 25 == 0, 1000 + i);
        st_usleep(1 * kMs);
    }
    // a publisher that read five messages at once: pushed, then one pass
    for (uint32_t i = 60; i < 65; i++)
        ASSERT_EQ(0, source_push(st.src, RTMP_MSG_VIDEO, i * 40, frame(i, false, 1000 + i)));
    EXPECT_EQ(59u, p[0].pass_writes) << "the pass ran before the flush";
    source_flush(st.src);
    pp.finish();
    EXPECT_EQ(writes, p[0].writes) << "the pass's player woke to write";
    EXPECT_EQ(60u, p[0].pass_writes) << "one write per message, then one for the five";
    EXPECT_EQ(0u, p[1].pass_writes);
    EXPECT_GT(pp.got[0].size(), 65u * 1000);
    EXPECT_TRUE(pp.got[0] == pp.got[1]) << "the pass wrote other bytes than the per-player path";
    EXPECT_EQ(pp.out[0], pp.out[1]);
    FlvReader rd;
    rd.feed(pp.got[0].data(), pp.got[0].size());
    check_player_view(rd);
    ASSERT_EQ(65u, rd.tags.size());
    EXPECT_EQ(uring, send_batch_uring(&st.hub.pass_sends) != 0) << "the pass's sends did not go the way asked";
}

// The same, its sends through io_uring (one io_uring_enter per pass) and
// one send() at a time (where io_uring is not allowed).
TEST(StreamPump, WritePassWritesParkedPlayersWithoutWakingThem) { pass_writes_parked_players(true); }
TEST(StreamPump, WritePassWritesParkedPlayersWithoutWakingThemOneSendAtATime) { pass_writes_parked_players(false); }

// mw_latency 0 with mw_msgs 3: a player parked for the pass holds fewer
// than three new messages without waking, the pass writes them once the
// third comes, and a lone message left is written by the clock's tick
// MW_MSGS_WAIT_MS (100 ms) after it came, still without a wake-up. Its bytes
// are the per-player path's (a player the pass skips).
static void pass_holds_for_mw_msgs(bool uring)
{
    if (uring && !send_batch_uring_allowed()) GTEST_SKIP() << "io_uring is not allowed here";
    PassPair pp(uring, 3);
    ASSERT_TRUE(pp.ok);
    Stream &st = pp.st;
    stream_pump_t *p = pp.p;
    st_usleep(10 * kMs);
    st.push(0, true, 1000);     // no GOP yet: each player wakes for this keyframe, writes it
    st_usleep(150 * kMs);       // (p[1] at once too: nothing written for 100 ms) and parks
    uint64_t writes = p[0].writes, waits = p[0].waits;
    ASSERT_EQ(0, p[0].hold_until) << "parked holding nothing";
    // three at a time, no yield between them (a push never yields), so no
    // hold can outlast its 100 ms on a loaded machine
    for (uint32_t i = 1; i <= 30; i += 3) {
        for (uint32_t j = i; j < i + 3; j++) st.push(j, false, 1000 + j);
        st_usleep(1 * kMs);
    }
    EXPECT_EQ(10u, p[0].pass_writes) << "one write per three messages";
    EXPECT_EQ(0, p[0].hold_until);
    st.push(31, false, 1031);   // held: the clock writes it
    EXPECT_NE(0, p[0].hold_until);
    int64_t t0 = rill_now_ms();
    for (int i = 0; i < 100 && p[0].pass_writes == 10; i++) st_usleep(10 * kMs);
    int64_t held = rill_now_ms() - t0;
    EXPECT_EQ(11u, p[0].pass_writes) << "the clock did not write the held message";
    EXPECT_GE(held, 90) << "written before its 100 ms";
    EXPECT_LE(held, 1000) << "held far past its 100 ms (the wait's bound is 10 s)";
    pp.finish();
    EXPECT_EQ(writes, p[0].writes) << "the player woke to write";
    EXPECT_EQ(waits, p[0].waits) << "the player woke";
    EXPECT_GT(p[1].writes, 10u) << "the per-player path did not batch as asked";
    EXPECT_TRUE(pp.got[0] == pp.got[1]) << "the pass wrote other bytes than the per-player path";
    FlvReader rd;
    rd.feed(pp.got[0].data(), pp.got[0].size());
    check_player_view(rd);
    ASSERT_EQ(32u, rd.tags.size());
    EXPECT_EQ(uring, send_batch_uring(&st.hub.pass_sends) != 0) << "the pass's sends did not go the way asked";
}

TEST(StreamPump, WritePassHoldsFewerThanMwMsgsWithoutWaking) { pass_holds_for_mw_msgs(true); }
TEST(StreamPump, WritePassHoldsFewerThanMwMsgsWithoutWakingOneSendAtATime) { pass_holds_for_mw_msgs(false); }

// A socket that takes only part of a message in the pass: the rest is
// handed back to the player's coroutine, which writes it when the socket
// drains (POLLOUT), before anything newer. A slow reader with small buffers
// and frames larger than them gets every frame, whole and in order.
static void pass_hands_back_a_partial_write(bool uring)
{
    if (uring && !send_batch_uring_allowed()) GTEST_SKIP() << "io_uring is not allowed here";
    Stream st("gop_cache on; queue_length 30;");
    st.hub.pass_sends.no_uring = uring ? 0 : 1;
    Pipe io(8192, 8192);
    consumer_t *co = source_add_consumer(st.src, st_thread_self());
    stream_pump_t p;
    uint64_t out = 0;
    ASSERT_EQ(0, stream_pump_init_flv(&p, io.w, &out, co, 0, 0));
    PumpRun run;
    run.run_for(&p);
    st_usleep(10 * kMs);
    Publisher pub{ &st, 0, 80, 40, 20000, 5 * kMs };
    pub.start();
    FlvReader rd;
    read_slowly(io.r, rd, 79, 16384, 1 * kMs, 20000);
    pub.join();
    run.end();
    EXPECT_GT(p.pass_writes, 0u);
    EXPECT_GT(p.pass_handbacks, 0u) << "no partial write in the pass: the case was not exercised";
    stream_pump_free(&p);
    source_remove_consumer(co);
    check_player_view(rd);
    ASSERT_EQ(80u, rd.tags.size()) << "a frame was lost or cut";
    EXPECT_EQ(uring, send_batch_uring(&st.hub.pass_sends) != 0) << "the pass's sends did not go the way asked";
}

// A partial pass send handed back, then the stream unpublished and
// published again before the player runs: the status its tick writes (as
// an RTMP player's UnpublishNotify) comes after the rest of the frame, never
// inside it, where it would cut the stream's chunks for good.
namespace {
struct StatusMark {
    uint32_t epoch;
    int marks = 0;
};
int mark_on_epoch(stream_pump_t *p, void *ctx)
{
    StatusMark *m = (StatusMark *)ctx;
    if (p->co->src->epoch == m->epoch) return 0;
    m->epoch = p->co->src->epoch;
    m->marks++;
    return st_write(p->fd, "MARK", 4, 1000 * kMs) == 4 ? 0 : RILL_ERR_IO;
}
}  // namespace

static void status_after_a_handed_back_rest(bool uring)
{
    if (uring && !send_batch_uring_allowed()) GTEST_SKIP() << "io_uring is not allowed here";
    Stream st("gop_cache on; queue_length 30;");
    st.hub.pass_sends.no_uring = uring ? 0 : 1;
    Pipe io(8192, 8192);
    consumer_t *co = source_add_consumer(st.src, st_thread_self());
    stream_pump_t p;
    uint64_t out = 0;
    ASSERT_EQ(0, stream_pump_init_flv(&p, io.w, &out, co, 0, 0));
    StatusMark mark{ st.src->epoch };
    p.on_tick = mark_on_epoch;
    p.ctx = &mark;
    PumpRun run;
    run.run_for(&p);
    st_usleep(10 * kMs);
    st.push(0, true, 1000);             // the player wakes for it, writes it, parks
    st_usleep(20 * kMs);
    std::vector<uint8_t> got;
    drain(io.r, got, 10);
    size_t first = got.size();
    uint64_t handbacks = p.pass_handbacks;
    st.push(1, false, 60000);           // the pass: part of it fits the socket, the rest is handed back
    EXPECT_EQ(handbacks + 1, p.pass_handbacks) << "no partial write in the pass: the case was not exercised";
    source_unpublish(st.src);           // no yield since the pass: the player has not run
    ASSERT_EQ(0, source_publish(st.src, &st.pub_who, 1, ""));
    drain(io.r, got, 100);
    run.end();
    stream_pump_free(&p);
    source_remove_consumer(co);
    EXPECT_EQ(1, mark.marks);
    size_t tag1 = 11 + 60000 + 4;
    ASSERT_GE(got.size(), first + tag1 + 4);
    EXPECT_EQ(0, memcmp(&got[first + tag1], "MARK", 4)) << "the status did not come right after the whole frame";
    FlvReader rd;
    rd.feed(got.data(), first + tag1);
    ASSERT_EQ(2u, rd.tags.size());
    EXPECT_TRUE(rd.tags[1].intact) << "the frame was cut by the status";
}

TEST(StreamPump, StatusAfterAHandedBackRest) { status_after_a_handed_back_rest(true); }
TEST(StreamPump, StatusAfterAHandedBackRestOneSendAtATime) { status_after_a_handed_back_rest(false); }

// The same, its sends through io_uring (one io_uring_enter per pass) and
// one send() at a time (where io_uring is not allowed).
TEST(StreamPump, WritePassHandsAPartialWriteBackToThePlayer) { pass_hands_back_a_partial_write(true); }
TEST(StreamPump, WritePassHandsAPartialWriteBackToThePlayerOneSendAtATime) { pass_hands_back_a_partial_write(false); }

// A merging player parked on the clock whose reader stopped reading: the
// clock's send takes nothing, and the player's coroutine, woken, is due at
// once and waits for POLLOUT under its send timeout, so the player ends
// then. (A build that counted the clock's send as written kept the player
// parked and retried it on every point of its grid, never timing it out.)
TEST(StreamPump, MergingPlayerWhoseReaderStopsEndsAtItsSendTimeout)
{
    Stream st("gop_cache on; queue_length 30;");
    Pipe io(8192, 8192);
    consumer_t *co = source_add_consumer(st.src, st_thread_self());
    stream_pump_t p;
    uint64_t out = 0;
    ASSERT_EQ(0, stream_pump_init_flv(&p, io.w, &out, co, 100, 0));
    p.send_timeout = 300 * kMs;
    PumpRun run;
    run.run_for(&p);
    st_usleep(10 * kMs);
    // small frames for 2 s: the player writes them on its grid, parked on the clock
    Publisher pub{ &st, 0, 200, 25, 200, 10 * kMs };
    pub.start();
    st_usleep(300 * kMs);
    ASSERT_GT(p.pass_writes, 0u) << "the clock did not write the player: the case is not set up";
    ASSERT_EQ(0, p.niov) << "the player is not at the live edge";
    // its reader stops, with the socket full to the brim: the clock's next
    // send takes nothing at all (the bytes are junk; nobody reads them)
    std::vector<char> junk(65536, 'j');
    while (send(st_netfd_fileno(io.w), junk.data(), junk.size(), MSG_DONTWAIT) > 0) {
    }
    while (send(st_netfd_fileno(io.w), junk.data(), 1, MSG_DONTWAIT) > 0) {
    }
    int64_t t0 = rill_now_ms();
    int64_t ended = -1;
    for (int i = 0; i < 300 && ended < 0; i++) {
        if (run.done) ended = rill_now_ms() - t0;
        else st_usleep(10 * kMs);
    }
    pub.join();
    if (run.done) st_thread_join(run.t, nullptr);
    else run.end();
    EXPECT_GE(ended, 0) << "the player never ended: its socket stayed full and nothing timed it out";
    EXPECT_LT(ended, 1500) << "it ended, but long after its 300 ms send timeout";
    EXPECT_EQ(RILL_ERR_TIMEOUT, run.rc) << rill_strerror(run.rc);
    stream_pump_free(&p);
    source_remove_consumer(co);
}

// The merge clock: merging players (mw_latency > 0) parked at the live edge
// are written by the hub's one clock coroutine on their grid, and their own
// coroutines stay parked: a player costs no wake-up per tick. The bytes are
// those of a player that sleeps to its own due point (no_pass), byte for
// byte, and a message still waits at most about mw_latency.
TEST(StreamPump, MergeClockWritesParkedPlayersWithoutWakingThem)
{
    const int kMw = 100;
    Stream st("gop_cache on; queue_length 30;");
    Pipe io[2] = { Pipe(0, 0), Pipe(0, 0) };
    stream_pump_t p[2];
    uint64_t out[2] = { 0, 0 };
    PumpRun run[2];
    consumer_t *co[2];
    for (int i = 0; i < 2; i++) {
        co[i] = source_add_consumer(st.src, st_thread_self());
        ASSERT_EQ(0, stream_pump_init_flv(&p[i], io[i].w, &out[i], co[i], kMw, 0));
        p[i].no_pass = i == 1;
        run[i].run_for(&p[i]);
    }
    st_usleep(10 * kMs);
    // 80 frames over 800 ms: 8 ticks; the socket never fills (88 KB in all)
    Publisher pub{ &st, 0, 80, 25, 1100, 10 * kMs };
    pub.start();
    pub.join();
    std::vector<uint8_t> got[2];
    for (int i = 0; i < 2; i++) drain(io[i].r, got[i], 1000);
    for (int i = 0; i < 2; i++) run[i].end();
    EXPECT_GE(p[0].pass_writes, 6u) << "the clock wrote too few batches";
    EXPECT_LE(p[0].pass_writes, 12u) << "the clock did not merge";
    // its one write of its own: the first keyframe (it joined with no GOP cached, so waits for one)
    EXPECT_LE(p[0].writes, 1u) << "the clock's player woke to write";
    EXPECT_LE(p[0].waits, 3u) << "the clock's player woke per tick";
    EXPECT_GE(p[1].waits, 8u) << "the player that sleeps on its own did not: the comparison is void";
    EXPECT_EQ(0u, p[1].pass_writes);
    EXPECT_TRUE(got[0] == got[1]) << "the clock wrote other bytes than the per-player path";
    FlvReader rd;
    rd.feed(got[0].data(), got[0].size());
    check_player_view(rd);
    ASSERT_EQ(80u, rd.tags.size());
    for (int i = 0; i < 2; i++) {
        stream_pump_free(&p[i]);
        source_remove_consumer(co[i]);
    }
}

// A socket that takes only part of the clock's batch: the rest goes back to
// the player's coroutine, which writes it on POLLOUT before anything newer;
// a slow reader with small buffers gets every frame, whole and in order.
TEST(StreamPump, MergeClockHandsAPartialWriteBackToThePlayer)
{
    Stream st("gop_cache on; queue_length 30;");
    Pipe io(8192, 8192);
    consumer_t *co = source_add_consumer(st.src, st_thread_self());
    stream_pump_t p;
    uint64_t out = 0;
    ASSERT_EQ(0, stream_pump_init_flv(&p, io.w, &out, co, 50, 0));
    PumpRun run;
    run.run_for(&p);
    st_usleep(10 * kMs);
    Publisher pub{ &st, 0, 80, 40, 6000, 5 * kMs };
    pub.start();
    FlvReader rd;
    read_slowly(io.r, rd, 79, 16384, 1 * kMs, 20000);
    pub.join();
    run.end();
    EXPECT_GT(p.pass_writes, 0u);
    EXPECT_GT(p.pass_handbacks, 0u) << "no partial write by the clock: the case was not exercised";
    stream_pump_free(&p);
    source_remove_consumer(co);
    check_player_view(rd);
    ASSERT_EQ(80u, rd.tags.size()) << "a frame was lost or cut";
}

// A player parked at the live edge (written by the push's pass with
// mw_latency 0, by the merge clock's ticks with mw_latency > 0) waits out of
// state-threads' poll set; the merge clock watches its socket. A peer that
// closes while nothing is published is noticed at once, not on a tick or a
// once-a-second look, and without the player waking on its own before.
static void parked_player_notices_peer_closing(int mw_latency)
{
    Stream st("gop_cache on; queue_length 30;");
    Pipe io(0, 0);
    consumer_t *co = source_add_consumer(st.src, st_thread_self());
    stream_pump_t p;
    uint64_t out = 0;
    ASSERT_EQ(0, stream_pump_init_flv(&p, io.w, &out, co, mw_latency, 0));
    PumpRun run;
    run.run_for(&p);
    st_usleep(10 * kMs);
    st.push(0, true, 1000);     // no GOP yet: the player wakes for this keyframe
    st_usleep(10 * kMs);        // and parks again
    st.push(1, false, 1000);
    for (int i = 0; i < 300 && p.pass_writes == 0; i++) st_usleep(10 * kMs);
    std::vector<uint8_t> got;
    drain(io.r, got, 10);
    EXPECT_EQ(1u, p.pass_writes) << "the second frame was not written by a pass";
    uint64_t waits = p.waits;
    int64_t closed = rill_now_ms();
    st_netfd_close(io.r);
    io.r = nullptr;
    for (int i = 0; i < 300 && run.t && !p.reason; i++) st_usleep(2 * kMs);
    int64_t took = rill_now_ms() - closed;
    EXPECT_TRUE(p.reason != nullptr) << "the pump did not notice its peer closing in 0.6 s";
    EXPECT_LT(took, 250) << "noticed after " << took << " ms";
    EXPECT_LE(p.waits, waits + 1) << "the parked player woke on its own";
    run.end();
    stream_pump_free(&p);
    source_remove_consumer(co);
}

TEST(StreamPump, ClockNoticesAParkedLowLatencyPlayerClosing) { parked_player_notices_peer_closing(0); }

// mw_latency 1 s: the close comes just after a tick and the next is about
// 1 s off, so only the watch can see it within the bound.
TEST(StreamPump, ClockNoticesAParkedMergingPlayerClosing) { parked_player_notices_peer_closing(1000); }

// Many parked players whose peers all close at once (the end of a show): the
// clock wakes them in batches from its epoll set, each once, and every one
// notices within the bound; a socket reported ready stays ready until its
// player runs, so the clock must not report it again meanwhile.
TEST(StreamPump, ClockWakesManyParkedPlayersClosingAtOnce)
{
    const int kN = 150;     // more than two of the clock's epoll batches
    Stream st("gop_cache on; queue_length 30;");
    std::vector<Pipe> io(kN);
    std::vector<stream_pump_t> p(kN);
    std::vector<uint64_t> out(kN, 0);
    std::vector<PumpRun> run(kN);
    std::vector<consumer_t *> co(kN);
    for (int i = 0; i < kN; i++) {
        co[i] = source_add_consumer(st.src, st_thread_self());
        ASSERT_EQ(0, stream_pump_init_flv(&p[i], io[i].w, &out[i], co[i], 0, 0));
        run[i].run_for(&p[i]);
    }
    st_usleep(10 * kMs);
    st.push(0, true, 1000);
    st_usleep(20 * kMs);
    st.push(1, false, 1000);
    int passed = 0;
    for (int i = 0; i < kN; i++) passed += p[i].pass_writes == 1;
    EXPECT_EQ(kN, passed) << "players not parked for the pass";
    int64_t closed = rill_now_ms();
    for (int i = 0; i < kN; i++) {
        st_netfd_close(io[i].r);
        io[i].r = nullptr;
    }
    int ended = 0;
    for (int t = 0; t < 300 && ended < kN; t++) {
        st_usleep(2 * kMs);
        ended = 0;
        for (int i = 0; i < kN; i++) ended += p[i].reason != nullptr;
    }
    int64_t took = rill_now_ms() - closed;
    EXPECT_EQ(kN, ended) << "players that did not notice their peer closing";
    EXPECT_LT(took, 250) << "all noticed after " << took << " ms";
    for (int i = 0; i < kN; i++) {
        run[i].end();
        stream_pump_free(&p[i]);
        source_remove_consumer(co[i]);
    }
}

// The bound of a wait on the merge clock is kept by the clock (its timer is
// a timerfd in its epoll set), rounded up to a whole second so that many
// players' bounds come due on one tick; the player's own state-threads
// timer (the bound + 60 s, a last resort) never comes due: a state-threads
// sleep ends in up to 1 ms of poll() calls with no timeout (the calls saved
// are counted in doc/benchmark.md). Input ends the wait at once.
TEST(StreamPump, ClockEndsAParkedWaitAtItsBound)
{
    Stream st("gop_cache on; queue_length 30;");
    Pipe io(0, 0);
    consumer_t *co = source_add_consumer(st.src, st_thread_self());
    for (int merging = 0; merging < 2; merging++) {
        int64_t t0 = rill_now_ms();
        int rc = merging ? consumer_merge_wait(co, st_netfd_fileno(io.w), t0 + 100 * 1000, 300 * kMs)
                         : consumer_wait_clocked(co, st_netfd_fileno(io.w), 0, 300 * kMs);
        int64_t took = rill_now_ms() - t0;
        EXPECT_EQ(0, rc) << "woken with input, merging " << merging;
        EXPECT_GE(took, 300) << "woken before its bound, merging " << merging;
        EXPECT_LT(took, 1400) << "not woken by the clock at its bound, merging " << merging;
        EXPECT_EQ(0, co->waiting);
    }
    // input ends it at once, with 1
    ASSERT_EQ(1, (int)write(st_netfd_fileno(io.r), "x", 1));
    int64_t t0 = rill_now_ms();
    EXPECT_EQ(1, consumer_wait_clocked(co, st_netfd_fileno(io.w), 0, 5000 * kMs));
    EXPECT_LT(rill_now_ms() - t0, 250);
    source_remove_consumer(co);
}
