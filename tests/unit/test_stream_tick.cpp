// The shared tick buffer: a stream's messages at the live edge framed once
// (RTMP chunks at a chunk size, or FLV tags) for every player. Its bytes
// must be those the per-message path writes, to the byte: checked through
// the pump itself (one player with the buffer, one without, same cursor) for
// chunk sizes 128, 4096 and 60000, FLV, messages larger than a chunk,
// extended timestamps and metadata; and decoded back with the chunk decoder.
#include <gtest/gtest.h>

#include "pump_fixture.h"

#include <errno.h>
#include <st.h>
#include <string.h>
#include <sys/socket.h>

#include <string>
#include <vector>

extern "C" {
#include "hub.h"
#include "config.h"
#include "rtmp_chunk.h"
#include "rtmp_msg.h"
#include "rtmp_session.h"
#include "stream_pump.h"
#include "stream_tick.h"
}

namespace {

const st_utime_t kMs = 1000;

rill_payload_t *video(uint32_t seq, bool key, size_t size)
{
    rill_payload_t *pl = rill_payload_new(size);
    pl->size = (uint32_t)size;
    for (size_t i = 0; i < size; i++) pl->data[i] = (uint8_t)(seq * 7 + i);
    pl->data[0] = (uint8_t)((key ? 0x10 : 0x20) | 7);
    pl->data[1] = 1;
    return pl;
}

// A published source with time_jitter off, so timestamps pass as given
// (extended ones too).
struct Source {
    config_t *conf = nullptr;
    hub_t hub;
    source_t *src = nullptr;
    int who = 0;
    uint32_t seq = 0;
    Source()
    {
        st_once();
        char err[256];
        EXPECT_EQ(0, config_load_string("listen 127.0.0.1:1935;\nvhost __defaultVhost__ { play { "
                                             "time_jitter off; } }\n", "t.conf", &conf, err, sizeof err)) << err;
        hub_init(&hub);
        src = hub_acquire(&hub, config_vhost(conf, "__defaultVhost__"), "__defaultVhost__", "live", "s");
        EXPECT_EQ(0, source_publish(src, &who, 1, ""));
    }
    ~Source()
    {
        hub_free(&hub);
        config_free(conf);
    }
    void push(uint8_t type, uint32_t ts, size_t size, bool key = false)
    {
        rill_payload_t *pl = type == RTMP_MSG_VIDEO ? video(seq, key, size) : rill_payload_new(size);
        if (type != RTMP_MSG_VIDEO) {
            pl->size = (uint32_t)size;
            for (size_t i = 0; i < size; i++) pl->data[i] = (uint8_t)(seq + i * 3);
            if (type == RTMP_MSG_AUDIO && size) pl->data[0] = 0xaf;   // AAC, raw (not a sequence header)
            if (type == RTMP_MSG_AUDIO && size > 1) pl->data[1] = 1;
        }
        seq++;
        ASSERT_EQ(0, source_on_message(src, type, ts, pl));
    }
    // A mix a real stream has: a keyframe, frames larger and smaller than
    // chunks, audio, metadata, an empty message; timestamps from `base`.
    void push_mix(uint32_t base)
    {
        push(RTMP_MSG_VIDEO, base, 70000, true);
        push(RTMP_MSG_AUDIO, base + 10, 200);
        push(RTMP_MSG_VIDEO, base + 40, 4096);
        push(RTMP_MSG_VIDEO, base + 80, 4097);
        push(RTMP_MSG_AMF0_DATA, base + 90, 300);
        push(RTMP_MSG_AUDIO, base + 100, 128);
        push(RTMP_MSG_VIDEO, base + 120, 129);
        push(RTMP_MSG_VIDEO, base + 160, 60001);
        push(RTMP_MSG_AUDIO, base + 170, 1);
    }
};

// What one player is sent from `cursor` on: a pump (RTMP at chunk_size, or
// FLV for chunk_size 0) with or without the tick buffer.
struct Sent {
    std::vector<uint8_t> bytes;
    uint64_t tick_writes = 0;
};

// Bytes messages [from, end) take on the wire, by the spec: a fmt 0 header,
// then a fmt 3 header before each further chunk (extended timestamp in both);
// FLV: tag header, payload, previous tag size.
size_t wire_size(const source_t *src, uint64_t from, uint32_t chunk_size)
{
    size_t n = 0;
    for (uint64_t q = from; q < src->ring.end; q++) {
        const media_msg_t *m = stream_ring_at(&src->ring, q);
        uint32_t size = m->payload->size;
        uint32_t chunks = size ? (size + chunk_size - 1) / (chunk_size ? chunk_size : 1) : 1;
        bool ext = m->type != RTMP_MSG_AMF0_DATA && m->timestamp >= 0xffffff;
        if (!chunk_size) n += 11 + size + 4;
        else n += 12 + (ext ? 4 : 0) + size + (chunks - 1) * (1 + (ext ? 4 : 0));
    }
    return n;
}

Sent play_from(Source &s, uint64_t cursor, uint32_t chunk_size, bool no_tick, uint32_t stream_id = 1)
{
    const size_t expect = wire_size(s.src, cursor, chunk_size);
    Sent out;
    consumer_t *co = source_add_consumer(s.src, st_thread_self());
    co->cursor = cursor;
    co->wait_keyframe = 0;
    Pipe io(16384, 0);
    rtmp_session_t sess;
    stream_pump_t p;
    uint64_t flv_out = 0;
    if (chunk_size) {
        EXPECT_EQ(0, rtmp_session_init(&sess, io.w));
        io.w = nullptr;     // the session owns it
        sess.out_chunk_size = chunk_size;
        EXPECT_EQ(0, stream_pump_init_rtmp(&p, &sess, co, 0, 0, stream_id));
    } else {
        EXPECT_EQ(0, stream_pump_init_flv(&p, io.w, &flv_out, co, 0, 0));
    }
    p.no_tick = no_tick;
    PumpRun run;
    run.p = &p;
    run.start();
    co->thread = run.t;
    uint8_t b[65536];
    // everything expected, then 50 ms in which nothing more may come
    for (int i = 0; i < 10000; i++) {
        ssize_t n = st_read(io.r, b, sizeof b, out.bytes.size() < expect ? 3000 * kMs : 50 * kMs);
        if (n <= 0) break;
        out.bytes.insert(out.bytes.end(), b, b + n);
    }
    EXPECT_EQ(expect, out.bytes.size()) << "not the bytes the spec says";
    run.end();
    out.tick_writes = p.tick_writes;
    stream_pump_free(&p);
    source_remove_consumer(co);
    if (chunk_size) rtmp_session_free(&sess);
    return out;
}

std::vector<rtmp_msg_t> decode(const std::vector<uint8_t> &bytes, uint32_t chunk_size)
{
    rtmp_chunk_decoder_t dec;
    rtmp_chunk_decoder_init(&dec, 0);
    EXPECT_EQ(0, rtmp_chunk_decoder_set_chunk_size(&dec, chunk_size));
    std::vector<rtmp_msg_t> got;
    size_t off = 0;
    while (off < bytes.size()) {
        size_t used = 0;
        rtmp_msg_t m;
        int rc = rtmp_chunk_decode(&dec, bytes.data() + off, bytes.size() - off, &used, &m);
        EXPECT_GE(rc, 0) << "malformed chunk stream at byte " << off;
        if (rc < 0) break;
        off += used;
        if (rc == 1) got.push_back(m);
        if (rc == 0 && used == 0) break;
    }
    rtmp_chunk_decoder_free(&dec);
    return got;
}

}  // namespace

// The tick path and the per-message path send the same bytes, for every
// framing, from a cursor at the start of the mix and from one inside it
// (a player that joined the tick late writes a suffix of the buffer).
TEST(StreamTick, ByteExactAgainstThePerMessagePath)
{
    const uint32_t bases[] = { 1000, 0xfffff0 };    // the second crosses into extended timestamps
    for (uint32_t base : bases) {
        Source s;
        s.push_mix(base);
        s.push_mix(base + 200);
        uint64_t start = s.src->ring.start, mid = start + 5;
        for (uint32_t cs : { 128u, 4096u, 60000u, 0u }) {
            for (uint64_t from : { start, mid }) {
                SCOPED_TRACE("chunk size " + std::to_string(cs) + " base " + std::to_string(base) + " from " +
                             std::to_string(from - start));
                Sent a = play_from(s, from, cs, true);
                Sent b = play_from(s, from, cs, false);
                EXPECT_EQ(0u, a.tick_writes);
                EXPECT_EQ(1u, b.tick_writes) << "the player did not write from the shared buffer";
                ASSERT_FALSE(a.bytes.empty());
                EXPECT_EQ(a.bytes.size(), b.bytes.size());
                EXPECT_TRUE(a.bytes == b.bytes) << "the tick buffer differs from the per-message path";
                if (!cs) continue;
                std::vector<rtmp_msg_t> msgs = decode(b.bytes, cs);
                EXPECT_EQ(s.src->ring.end - from, msgs.size());
                for (size_t i = 0; i < msgs.size(); i++) {
                    const media_msg_t *m = stream_ring_at(&s.src->ring, from + i);
                    EXPECT_EQ(m->type, msgs[i].type);
                    EXPECT_EQ(1u, msgs[i].stream_id);
                    if (m->type != RTMP_MSG_AMF0_DATA) {
                        EXPECT_EQ(m->timestamp, msgs[i].timestamp) << i;
                    }
                    ASSERT_EQ(m->payload->size, msgs[i].payload->size);
                    EXPECT_EQ(0, memcmp(m->payload->data, msgs[i].payload->data, m->payload->size)) << i;
                    rill_payload_unref(msgs[i].payload);
                }
            }
        }
    }
}

// A peer that named another stream id gets headers of its own: never the
// shared buffer, whose headers say stream id 1.
TEST(StreamTick, OtherStreamIdTakesThePerMessagePath)
{
    Source s;
    s.push_mix(0);
    Sent a = play_from(s, s.src->ring.start, 4096, false, 5);
    EXPECT_EQ(0u, a.tick_writes);
    std::vector<rtmp_msg_t> msgs = decode(a.bytes, 4096);
    ASSERT_EQ(s.src->ring.end - s.src->ring.start, msgs.size());
    for (rtmp_msg_t &m : msgs) {
        EXPECT_EQ(5u, m.stream_id);
        rill_payload_unref(m.payload);
    }
}

// Players at the same position share one buffer; one further on writes its
// suffix; one further back, or a new message, rebuilds it; a player too far
// behind is sent per message; framings are cached side by side.
TEST(StreamTick, SharedByPlayersAtTheLiveEdge)
{
    Source s;
    for (uint32_t i = 0; i < 6; i++) s.push(RTMP_MSG_VIDEO, i * 40, 1000, i == 0);
    stream_tick_t *t = &s.src->tick;
    const stream_ring_t *r = &s.src->ring;
    size_t off1, len1, off2, len2, off3, len3;
    rill_payload_t *a = stream_tick_get(t, r, r->end - 3, 4096, &off1, &len1);
    rill_payload_t *b = stream_tick_get(t, r, r->end - 3, 4096, &off2, &len2);
    ASSERT_NE(nullptr, a);
    EXPECT_EQ(a, b);
    EXPECT_EQ(off1, off2);
    EXPECT_EQ(1u, t->builds);
    rill_payload_t *c = stream_tick_get(t, r, r->end - 1, 4096, &off3, &len3);
    EXPECT_EQ(a, c) << "a player further on writes a suffix of the same buffer";
    EXPECT_GT(off3, off1);
    EXPECT_EQ(off1 + len1, off3 + len3);
    // FLV beside it: its own buffer, the RTMP one stays
    rill_payload_t *f = stream_tick_get(t, r, r->end - 3, STREAM_TICK_FLV, &off2, &len2);
    EXPECT_NE(a, f);
    rill_payload_t *a2 = stream_tick_get(t, r, r->end - 3, 4096, &off2, &len2);
    EXPECT_EQ(a, a2);
    EXPECT_EQ(2u, t->builds);
    // a cursor before the buffer's start: rebuilt, covering both
    rill_payload_t *d = stream_tick_get(t, r, r->end - 5, 4096, &off2, &len2);
    EXPECT_NE(a, d);
    EXPECT_EQ(3u, t->builds);
    // the yield rule: the writers' references survive the rebuild and a new
    // message; their bytes are intact (ASan would see a use after free)
    s.push(RTMP_MSG_VIDEO, 6 * 40, 1000);
    rill_payload_t *e = stream_tick_get(t, r, r->end - 1, 4096, &off2, &len2);
    EXPECT_NE(d, e);
    EXPECT_EQ(4u, t->builds);
    EXPECT_EQ(a->data[off1 + len1 - 1], c->data[off3 + len3 - 1]);
    // nothing to send, a cursor outside the ring, too much to send: per message
    EXPECT_EQ(nullptr, stream_tick_get(t, r, r->end, 4096, &off2, &len2));
    EXPECT_EQ(nullptr, stream_tick_get(t, r, r->end + 1, 4096, &off2, &len2));
    for (uint32_t i = 0; i < STREAM_TICK_MAX_MSGS; i++) s.push(RTMP_MSG_AUDIO, 240 + i * 10, 10);
    ASSERT_EQ(0u, r->start) << "the ring dropped messages: the case below is not what it says";
    EXPECT_EQ(nullptr, stream_tick_get(t, r, r->end - STREAM_TICK_MAX_MSGS - 1, 4096, &off2, &len2));
    rill_payload_t *g = stream_tick_get(t, r, r->end - STREAM_TICK_MAX_MSGS, 4096, &off2, &len2);
    EXPECT_NE(nullptr, g);
    for (rill_payload_t *x : { a, b, c, f, a2, d, e, g }) rill_payload_unref(x);
    // the unpublish drops the cache; the writers' references are their own
    source_unpublish(s.src);
    for (int i = 0; i < STREAM_TICK_SLOTS; i++) EXPECT_EQ(nullptr, t->slots[i].buf);
}
