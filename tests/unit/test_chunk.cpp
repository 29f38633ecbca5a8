// RTMP chunk stream decoder/encoder tests.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

extern "C" {
#include "rill_bytes.h"
#include "rill_error.h"
#include "rill_payload.h"
#include "rtmp_chunk.h"
}

namespace {

typedef std::vector<uint8_t> Bytes;

struct Msg {
    uint32_t csid, stream_id, timestamp;
    uint8_t type;
    Bytes data;
    bool operator==(const Msg &o) const
    {
        return csid == o.csid && stream_id == o.stream_id && timestamp == o.timestamp &&
               type == o.type && data == o.data;
    }
};

struct Decoder {
    rtmp_chunk_decoder_t d;
    explicit Decoder(size_t max_pending = 0) { rtmp_chunk_decoder_init(&d, max_pending); }
    ~Decoder() { rtmp_chunk_decoder_free(&d); }

    // Feeds b in slices of step bytes (0: all at once). Applies Set Chunk Size
    // messages like a connection would. Returns 0 or the first error.
    int feed(const Bytes &b, std::vector<Msg> *out, size_t step = 0)
    {
        size_t off = 0;
        if (step == 0) step = b.size() ? b.size() : 1;
        while (off < b.size()) {
            size_t n = std::min(step, b.size() - off);
            const uint8_t *p = b.data() + off;
            // Keep calling on this slice until it is used up; a call that
            // returns a message may leave bytes behind.
            for (;;) {
                size_t used = 0;
                rtmp_msg_t m;
                memset(&m, 0, sizeof(m));
                int rc = rtmp_chunk_decode(&d, p, n, &used, &m);
                if (rc < 0) return rc;
                EXPECT_LE(used, n);
                p += used;
                n -= used;
                if (rc == 1) {
                    EXPECT_NE(m.payload, nullptr);
                    EXPECT_EQ(m.payload->refs, 1u);
                    Msg x{m.csid, m.stream_id, m.timestamp, m.type,
                          Bytes(m.payload->data, m.payload->data + m.payload->size)};
                    rill_payload_unref(m.payload);
                    if (x.type == RTMP_MSG_ABORT && x.data.size() == 4)
                        rtmp_chunk_decoder_abort(&d, rill_get_u32be(x.data.data()));
                    if (x.type == RTMP_MSG_SET_CHUNK_SIZE && x.data.size() == 4) {
                        int r = rtmp_chunk_decoder_set_chunk_size(&d, rill_get_u32be(x.data.data()));
                        if (r < 0) return r;
                    }
                    out->push_back(x);
                    continue;
                }
                EXPECT_EQ(n, 0u);
                break;
            }
            off += step;
        }
        return 0;
    }
};

// Hand-built chunk headers for decode tests.
void basic(Bytes &b, int fmt, uint32_t csid)
{
    if (csid < 64) {
        b.push_back((uint8_t)(fmt << 6 | csid));
    } else if (csid < 320) {
        b.push_back((uint8_t)(fmt << 6));
        b.push_back((uint8_t)(csid - 64));
    } else {
        b.push_back((uint8_t)(fmt << 6 | 1));
        b.push_back((uint8_t)((csid - 64) & 0xff));
        b.push_back((uint8_t)((csid - 64) >> 8));
    }
}
void u24(Bytes &b, uint32_t v) { b.push_back(v >> 16); b.push_back(v >> 8); b.push_back(v); }
void u32be(Bytes &b, uint32_t v) { b.push_back(v >> 24); u24(b, v); }
void u32le(Bytes &b, uint32_t v) { for (int i = 0; i < 4; i++) b.push_back(v >> (8 * i)); }

void fmt0(Bytes &b, uint32_t csid, uint32_t ts, uint32_t len, uint8_t type, uint32_t sid, bool ext = false)
{
    basic(b, 0, csid);
    u24(b, ext ? 0xFFFFFF : ts);
    u24(b, len);
    b.push_back(type);
    u32le(b, sid);
    if (ext) u32be(b, ts);
}
void fmt1(Bytes &b, uint32_t csid, uint32_t delta, uint32_t len, uint8_t type, bool ext = false)
{
    basic(b, 1, csid);
    u24(b, ext ? 0xFFFFFF : delta);
    u24(b, len);
    b.push_back(type);
    if (ext) u32be(b, delta);
}
void fmt2(Bytes &b, uint32_t csid, uint32_t delta, bool ext = false)
{
    basic(b, 2, csid);
    u24(b, ext ? 0xFFFFFF : delta);
    if (ext) u32be(b, delta);
}
void fmt3(Bytes &b, uint32_t csid) { basic(b, 3, csid); }

Bytes pattern(size_t n, uint8_t seed)
{
    Bytes v(n);
    for (size_t i = 0; i < n; i++) v[i] = (uint8_t)(seed + i * 7 + (i >> 8));
    return v;
}
void append(Bytes &b, const Bytes &x, size_t off, size_t n) { b.insert(b.end(), x.begin() + off, x.begin() + off + n); }
void append(Bytes &b, const Bytes &x) { b.insert(b.end(), x.begin(), x.end()); }

// Encodes msg with rtmp_chunk_encode, gathering the iovecs into bytes.
Bytes encode(uint32_t csid, uint8_t type, uint32_t sid, uint32_t ts, const Bytes &data, uint32_t chunk_size)
{
    rill_payload_t *pl = rill_payload_from(data.data(), data.size());
    rtmp_msg_t m = {type, csid, sid, ts, pl};
    uint32_t nchunks = rtmp_chunk_count(pl->size, chunk_size);
    size_t need = rtmp_chunk_header_bytes(&m, chunk_size);
    EXPECT_LE(need, 18 + 8 * (size_t)nchunks);
    std::vector<uint8_t> hdr(need);
    std::vector<struct iovec> iov(2 * nchunks);
    size_t hdr_used = 0;
    int n = rtmp_chunk_encode(&m, chunk_size, hdr.data(), hdr.size(), &hdr_used, iov.data(), (int)iov.size());
    EXPECT_GT(n, 0);
    EXPECT_EQ(hdr_used, need);
    Bytes out;
    for (int i = 0; i < n; i++) {
        const uint8_t *p = (const uint8_t *)iov[i].iov_base;
        // Header slices come from hdr, payload slices point into the payload.
        if (i % 2 == 0) EXPECT_TRUE(p >= hdr.data() && p + iov[i].iov_len <= hdr.data() + hdr.size());
        else EXPECT_TRUE(p >= pl->data && p + iov[i].iov_len <= pl->data + pl->size);
        out.insert(out.end(), p, p + iov[i].iov_len);
    }

    // encode_to must produce the same bytes.
    rill_writer_t w;
    rill_writer_init(&w, 0);
    EXPECT_EQ(rtmp_chunk_encode_to(&m, chunk_size, &w), 0);
    EXPECT_EQ(Bytes(w.data, w.data + w.len), out);
    rill_writer_free(&w);
    rill_payload_unref(pl);
    return out;
}

} // namespace

TEST(ChunkDecode, Fmt0SingleMessageKnownBytes)
{
    const uint8_t raw[] = {0x03, 0x00, 0x03, 0xE8, 0x00, 0x00, 0x05, 0x14,
                           0x01, 0x00, 0x00, 0x00, 'h', 'e', 'l', 'l', 'o'};
    Decoder dec;
    std::vector<Msg> out;
    ASSERT_EQ(dec.feed(Bytes(raw, raw + sizeof(raw)), &out), 0);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].csid, 3u);
    EXPECT_EQ(out[0].timestamp, 1000u);
    EXPECT_EQ(out[0].type, RTMP_MSG_AMF0_COMMAND);
    EXPECT_EQ(out[0].stream_id, 1u);
    EXPECT_EQ(std::string(out[0].data.begin(), out[0].data.end()), "hello");
    EXPECT_EQ(dec.d.pending, 0u);
}

TEST(ChunkDecode, StopsAfterEachMessage)
{
    Bytes b;
    fmt0(b, 3, 0, 2, 20, 0);
    b.push_back(1); b.push_back(2);
    size_t first = b.size();
    fmt2(b, 3, 5);
    b.push_back(3); b.push_back(4);

    Decoder dec;
    rtmp_msg_t m;
    size_t used = 0;
    ASSERT_EQ(rtmp_chunk_decode(&dec.d, b.data(), b.size(), &used, &m), 1);
    EXPECT_EQ(used, first);
    EXPECT_EQ(m.timestamp, 0u);
    rill_payload_unref(m.payload);
    ASSERT_EQ(rtmp_chunk_decode(&dec.d, b.data() + first, b.size() - first, &used, &m), 1);
    EXPECT_EQ(used, b.size() - first);
    EXPECT_EQ(m.timestamp, 5u);
    rill_payload_unref(m.payload);
    ASSERT_EQ(rtmp_chunk_decode(&dec.d, b.data(), 0, &used, &m), 0);
    EXPECT_EQ(used, 0u);
}

// The spec's audio example: fmt 0, fmt 2, then fmt 3 messages repeat the delta.
TEST(ChunkDecode, Fmt0123Sequence)
{
    Bytes a = pattern(32, 1), v = pattern(3, 9), b;
    fmt0(b, 4, 1000, 32, 8, 12345); append(b, a);
    fmt2(b, 4, 20);                 append(b, a);
    fmt3(b, 4);                     append(b, a);
    fmt3(b, 4);                     append(b, a);
    fmt1(b, 4, 10, 3, 9);           append(b, v);   // new length and type
    fmt3(b, 4);                     append(b, v);   // delta 10 repeated

    Decoder dec;
    std::vector<Msg> out;
    ASSERT_EQ(dec.feed(b, &out), 0);
    ASSERT_EQ(out.size(), 6u);
    const uint32_t ts[] = {1000, 1020, 1040, 1060, 1070, 1080};
    for (int i = 0; i < 6; i++) {
        EXPECT_EQ(out[i].timestamp, ts[i]) << i;
        EXPECT_EQ(out[i].stream_id, 12345u) << i;
        EXPECT_EQ(out[i].type, i < 4 ? 8 : 9) << i;
        EXPECT_EQ(out[i].data, i < 4 ? a : v) << i;
    }
}

// Documented choice: after fmt 0, a fmt 3 new message adds fmt 0's timestamp
// field again, which is how ffmpeg's writer uses fmt 3 (and SRS reads it).
TEST(ChunkDecode, Fmt3AfterFmt0RepeatsTimestampField)
{
    Bytes b;
    fmt0(b, 6, 40, 1, 9, 1); b.push_back(0xAA);
    fmt3(b, 6);              b.push_back(0xBB);
    fmt3(b, 6);              b.push_back(0xCC);
    Decoder dec;
    std::vector<Msg> out;
    ASSERT_EQ(dec.feed(b, &out), 0);
    ASSERT_EQ(out.size(), 3u);
    EXPECT_EQ(out[0].timestamp, 40u);
    EXPECT_EQ(out[1].timestamp, 80u);
    EXPECT_EQ(out[2].timestamp, 120u);
}

TEST(ChunkDecode, TimestampWraps)
{
    Bytes b;
    fmt0(b, 4, 0xFFFFFFF0u, 1, 8, 1, true); b.push_back(1);
    fmt2(b, 4, 0x20);                      b.push_back(2);
    Decoder dec;
    std::vector<Msg> out;
    ASSERT_EQ(dec.feed(b, &out), 0);
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[0].timestamp, 0xFFFFFFF0u);
    EXPECT_EQ(out[1].timestamp, 0x10u);
}

TEST(ChunkDecode, ZeroLengthMessage)
{
    Bytes b;
    fmt0(b, 3, 7, 0, 20, 0);
    fmt3(b, 3);   // another empty message, ts 14
    Decoder dec;
    std::vector<Msg> out;
    ASSERT_EQ(dec.feed(b, &out), 0);
    ASSERT_EQ(out.size(), 2u);
    EXPECT_TRUE(out[0].data.empty());
    EXPECT_EQ(out[0].timestamp, 7u);
    EXPECT_EQ(out[1].timestamp, 14u);
}

TEST(ChunkDecode, ExtendedTimestampRepeatedOnFmt3)
{
    Bytes data = pattern(300, 3), b;
    fmt0(b, 4, 0x12345678, 300, 9, 1, true); append(b, data, 0, 128);
    fmt3(b, 4); u32be(b, 0x12345678);        append(b, data, 128, 128);
    fmt3(b, 4); u32be(b, 0x12345678);        append(b, data, 256, 44);
    for (size_t step : {0, 1, 5}) {
        Decoder dec;
        std::vector<Msg> out;
        ASSERT_EQ(dec.feed(b, &out, step), 0);
        ASSERT_EQ(out.size(), 1u);
        EXPECT_EQ(out[0].timestamp, 0x12345678u);
        EXPECT_EQ(out[0].data, data);
    }
}

TEST(ChunkDecode, ExtendedTimestampNotRepeatedOnFmt3)
{
    Bytes data = pattern(300, 3), b;
    fmt0(b, 4, 0x12345678, 300, 9, 1, true); append(b, data, 0, 128);
    fmt3(b, 4);                              append(b, data, 128, 128);
    fmt3(b, 4);                              append(b, data, 256, 44);
    for (size_t step : {0, 1, 3}) {
        Decoder dec;
        std::vector<Msg> out;
        ASSERT_EQ(dec.feed(b, &out, step), 0);
        ASSERT_EQ(out.size(), 1u);
        EXPECT_EQ(out[0].timestamp, 0x12345678u);
        EXPECT_EQ(out[0].data, data);
    }
}

// Without the repeat, a continuation chunk shorter than 4 bytes makes the
// peeked bytes reach into the next chunk header; they must be read again.
TEST(ChunkDecode, ExtendedTimestampNotRepeatedShortLastChunk)
{
    Bytes data = pattern(130, 5), b;
    fmt0(b, 4, 0x01000000, 130, 9, 1, true); append(b, data, 0, 128);
    fmt3(b, 4);                              append(b, data, 128, 2);
    fmt0(b, 3, 5, 1, 20, 0);                 b.push_back(0x42);
    fmt3(b, 3);                              b.push_back(0x43);   // fmt 3 on another csid, ts 10
    for (size_t step : {0, 1, 2, 7}) {
        Decoder dec;
        std::vector<Msg> out;
        ASSERT_EQ(dec.feed(b, &out, step), 0) << step;
        ASSERT_EQ(out.size(), 3u) << step;
        EXPECT_EQ(out[0].data, data);
        EXPECT_EQ(out[0].timestamp, 0x01000000u);
        EXPECT_EQ(out[1].data, Bytes{0x42});
        EXPECT_EQ(out[2].data, Bytes{0x43});
        EXPECT_EQ(out[2].timestamp, 10u);
    }
}

TEST(ChunkDecode, ExtendedDeltaOnFmt1AndFmt3NewMessage)
{
    Bytes b;
    fmt0(b, 5, 100, 2, 18, 1);                 b.push_back(1); b.push_back(2);
    fmt1(b, 5, 0x01000000, 1, 18, true);       b.push_back(3);
    fmt3(b, 5); u32be(b, 0x01000000);          b.push_back(4);   // repeated ext
    fmt3(b, 5);                                b.push_back(5);   // not repeated
    Decoder dec;
    std::vector<Msg> out;
    ASSERT_EQ(dec.feed(b, &out), 0);
    // The last 1-byte body could still be the start of a repeated extended
    // timestamp: the decoder waits until 4 bytes are there to tell.
    ASSERT_EQ(out.size(), 3u);
    Bytes more;
    fmt0(more, 3, 0, 1, 20, 0); more.push_back(6);
    ASSERT_EQ(dec.feed(more, &out), 0);
    ASSERT_EQ(out.size(), 5u);
    EXPECT_EQ(out[4].data, Bytes{6});
    EXPECT_EQ(out[1].timestamp, 100u + 0x01000000u);
    EXPECT_EQ(out[2].timestamp, 100u + 2 * 0x01000000u);
    EXPECT_EQ(out[2].data, Bytes{4});
    EXPECT_EQ(out[3].timestamp, 100u + 3 * 0x01000000u);
    EXPECT_EQ(out[3].data, Bytes{5});
}

TEST(ChunkDecode, CsidForms)
{
    struct { uint32_t csid; Bytes hdr; } cases[] = {
        {2, {0x02}}, {63, {0x3f}}, {64, {0x00, 0x00}}, {319, {0x00, 0xff}},
        {320, {0x01, 0x00, 0x01}}, {65599, {0x01, 0xff, 0xff}},
    };
    for (auto &c : cases) {
        Bytes b;
        fmt0(b, c.csid, 1, 1, 8, 0); b.push_back(0x11);
        EXPECT_EQ(Bytes(b.begin(), b.begin() + c.hdr.size()), c.hdr) << c.csid;
        fmt2(b, c.csid, 1);          b.push_back(0x22);
        Decoder dec;
        std::vector<Msg> out;
        ASSERT_EQ(dec.feed(b, &out, 1), 0) << c.csid;
        ASSERT_EQ(out.size(), 2u);
        EXPECT_EQ(out[0].csid, c.csid);
        EXPECT_EQ(out[1].csid, c.csid);
        EXPECT_EQ(out[1].timestamp, 2u);
        // The encoder writes the same basic header.
        Bytes e = encode(c.csid, 8, 0, 1, Bytes{0x11}, 128);
        EXPECT_EQ(Bytes(e.begin(), e.begin() + 12 + c.hdr.size()), Bytes(b.begin(), b.begin() + 12 + c.hdr.size()));
    }
}

TEST(ChunkDecode, InterleavedChunkStreams)
{
    Bytes a = pattern(300, 1), v = pattern(200, 2), b;
    fmt0(b, 4, 10, 300, 8, 1); append(b, a, 0, 128);
    fmt0(b, 6, 20, 200, 9, 1); append(b, v, 0, 128);
    fmt3(b, 4);                append(b, a, 128, 128);
    fmt3(b, 6);                append(b, v, 128, 72);
    fmt3(b, 4);                append(b, a, 256, 44);
    Decoder dec;
    std::vector<Msg> out;
    ASSERT_EQ(dec.feed(b, &out), 0);
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[0], (Msg{6, 1, 20, 9, v}));
    EXPECT_EQ(out[1], (Msg{4, 1, 10, 8, a}));
    EXPECT_EQ(dec.d.pending, 0u);
}

TEST(ChunkDecode, ChunkSizeChange)
{
    Bytes big = pattern(5000, 4), b;
    fmt0(b, 2, 0, 4, RTMP_MSG_SET_CHUNK_SIZE, 0); u32be(b, 4096);
    fmt0(b, 6, 0, 5000, 9, 1); append(b, big, 0, 4096);
    fmt3(b, 6);                append(b, big, 4096, 904);
    for (size_t step : {0, 1, 100}) {
        Decoder dec;
        std::vector<Msg> out;
        ASSERT_EQ(dec.feed(b, &out, step), 0);
        ASSERT_EQ(out.size(), 2u);
        EXPECT_EQ(dec.d.chunk_size, 4096u);
        EXPECT_EQ(out[1].data, big);
    }
}

// One stream mixing every feature, fed whole, byte by byte and in odd slices.
TEST(ChunkDecode, SplitAnywhereGivesSameMessages)
{
    Bytes a = pattern(300, 1), v = pattern(1000, 2), b;
    fmt0(b, 3, 0, 4, RTMP_MSG_SET_CHUNK_SIZE, 0); u32be(b, 256);
    fmt0(b, 4, 0x12345678, 300, 8, 1, true); append(b, a, 0, 256);
    fmt0(b, 400, 7, 1000, 9, 1);              append(b, v, 0, 256);
    fmt3(b, 4); u32be(b, 0x12345678);         append(b, a, 256, 44);
    fmt3(b, 400);                             append(b, v, 256, 256);
    fmt2(b, 4, 0x01000000, true);             append(b, a, 0, 256);
    fmt3(b, 400);                             append(b, v, 512, 256);
    fmt3(b, 4);                               append(b, a, 256, 44);   // ext not repeated
    fmt3(b, 400);                             append(b, v, 768, 232);
    fmt0(b, 70, 1, 0, 18, 2);
    fmt1(b, 400, 33, 3, 9);                   append(b, v, 0, 3);

    Decoder whole;
    std::vector<Msg> ref;
    ASSERT_EQ(whole.feed(b, &ref), 0);
    ASSERT_EQ(ref.size(), 6u);
    EXPECT_EQ(ref[1], (Msg{4, 1, 0x12345678, 8, a}));
    EXPECT_EQ(ref[2], (Msg{4, 1, 0x12345678 + 0x01000000, 8, a}));
    EXPECT_EQ(ref[3], (Msg{400, 1, 7, 9, v}));
    EXPECT_EQ(ref[4], (Msg{70, 2, 1, 18, Bytes()}));
    EXPECT_EQ(ref[5], (Msg{400, 1, 40, 9, Bytes(v.begin(), v.begin() + 3)}));
    for (size_t step : {1, 2, 3, 4, 5, 11, 127, 1000}) {
        Decoder dec;
        std::vector<Msg> out;
        ASSERT_EQ(dec.feed(b, &out, step), 0) << step;
        EXPECT_EQ(out, ref) << step;
    }
}

TEST(ChunkRoundTrip, SizesChunkSizesTimestamps)
{
    const uint32_t sizes[] = {0, 1, 127, 128, 129, 60000, 70000};
    const uint32_t chunk_sizes[] = {128, 4096, 60000};
    const uint32_t stamps[] = {0, 0xFFFFFE, 0xFFFFFF, 0x12345678};
    int n = 0;
    for (uint32_t cs : chunk_sizes)
        for (uint32_t size : sizes)
            for (uint32_t ts : stamps) {
                Bytes data = pattern(size, (uint8_t)(size + ts));
                Bytes wire = encode(3, 9, 1, ts, data, cs);
                // A second message on another csid with the 3-byte form.
                append(wire, encode(320, 8, 2, ts + 1, Bytes{1, 2, 3}, cs));
                Decoder dec;
                ASSERT_EQ(rtmp_chunk_decoder_set_chunk_size(&dec.d, cs), 0);
                std::vector<Msg> out;
                ASSERT_EQ(dec.feed(wire, &out, size < 200 ? 1 : 0), 0) << size << " " << cs << " " << ts;
                ASSERT_EQ(out.size(), 2u);
                EXPECT_EQ(out[0], (Msg{3, 1, ts, 9, data})) << size << " " << cs << " " << ts;
                EXPECT_EQ(out[1], (Msg{320, 2, ts + 1, 8, Bytes{1, 2, 3}}));
                EXPECT_EQ(dec.d.pending, 0u);
                n++;
            }
    EXPECT_EQ(n, 84);
}

TEST(ChunkEncode, KnownBytesWithExtendedTimestamp)
{
    Bytes data = pattern(130, 0);
    Bytes e = encode(5, 18, 1, 0x01020304, data, 128);
    Bytes want;
    fmt0(want, 5, 0x01020304, 130, 18, 1, true); append(want, data, 0, 128);
    want.push_back(0xC5); u32be(want, 0x01020304); append(want, data, 128, 2);
    EXPECT_EQ(e, want);
}

TEST(ChunkEncode, ZeroLengthIsOneHeader)
{
    rill_payload_t *pl = rill_payload_new(0);
    rtmp_msg_t m = {20, 3, 0, 0, pl};
    uint8_t hdr[32];
    struct iovec iov[2];
    size_t used = 0;
    EXPECT_EQ(rtmp_chunk_encode(&m, 128, hdr, sizeof(hdr), &used, iov, 2), 1);
    EXPECT_EQ(used, 12u);
    EXPECT_EQ(iov[0].iov_len, 12u);
    rill_payload_unref(pl);
}

TEST(ChunkEncode, RefusesSmallBuffersAndBadArgs)
{
    Bytes data = pattern(300, 0);
    rill_payload_t *pl = rill_payload_from(data.data(), data.size());
    rtmp_msg_t m = {9, 6, 1, 0, pl};
    uint8_t hdr[64];
    struct iovec iov[6];
    size_t used = 0;
    EXPECT_EQ(rtmp_chunk_header_bytes(&m, 128), 14u);
    EXPECT_EQ(rtmp_chunk_encode(&m, 128, hdr, 13, &used, iov, 6), RILL_ERR_INVAL);
    EXPECT_EQ(rtmp_chunk_encode(&m, 128, hdr, sizeof(hdr), &used, iov, 5), RILL_ERR_INVAL);
    EXPECT_EQ(rtmp_chunk_encode(&m, 128, hdr, sizeof(hdr), &used, iov, 6), 6);
    EXPECT_EQ(rtmp_chunk_encode(&m, 0, hdr, sizeof(hdr), &used, iov, 6), RILL_ERR_INVAL);
    m.csid = 1;
    EXPECT_EQ(rtmp_chunk_encode(&m, 128, hdr, sizeof(hdr), &used, iov, 6), RILL_ERR_INVAL);
    m.csid = 65600;
    EXPECT_EQ(rtmp_chunk_encode(&m, 128, hdr, sizeof(hdr), &used, iov, 6), RILL_ERR_INVAL);
    rill_payload_unref(pl);
}

TEST(ChunkLimits, ManyChunkStreamsWithHugeMessages)
{
    Bytes b, body = pattern(128, 0);
    for (uint32_t csid = 64; csid < 64 + 300; csid++) {
        fmt0(b, csid, 0, 0xFFFFFF, 9, 1);
        append(b, body);
    }
    Decoder dec;
    std::vector<Msg> out;
    EXPECT_EQ(dec.feed(b, &out), RILL_ERR_LIMIT);
    EXPECT_TRUE(out.empty());
    EXPECT_LE(dec.d.pending, 256u * 1024);   // 256 streams x 1 KiB, not 256 x 16 MiB
}

TEST(ChunkLimits, MaxPendingEnforced)
{
    Bytes data = pattern(2000, 1), b;
    fmt0(b, 4, 0, 2000, 9, 1);
    for (size_t off = 0; off < 2000; off += 128) {
        if (off) fmt3(b, 4);
        append(b, data, off, std::min<size_t>(128, 2000 - off));
    }
    {
        Decoder dec(1000);
        std::vector<Msg> out;
        EXPECT_EQ(dec.feed(b, &out), RILL_ERR_LIMIT);
        EXPECT_LE(dec.d.pending, 1000u);
    }
    {
        Decoder dec(2000);   // exactly enough
        std::vector<Msg> out;
        ASSERT_EQ(dec.feed(b, &out), 0);
        ASSERT_EQ(out.size(), 1u);
        EXPECT_EQ(out[0].data, data);
    }
    {
        // Two partial messages share the budget.
        Bytes c;
        fmt0(c, 4, 0, 1000, 9, 1); append(c, data, 0, 128);
        fmt0(c, 6, 0, 1000, 9, 1); append(c, data, 0, 128);
        for (int i = 0; i < 8; i++) {
            fmt3(c, 4); append(c, data, 0, 128);
            fmt3(c, 6); append(c, data, 0, 128);
        }
        Decoder dec(1500);
        std::vector<Msg> out;
        EXPECT_EQ(dec.feed(c, &out), RILL_ERR_LIMIT);
        EXPECT_LE(dec.d.pending, 1500u);
    }
}

// Near max_pending a message must not be regrown for every few bytes that
// arrive: each regrow copies the whole partial message, so per-piece growth
// is quadratic, and a peer filling 8 streams up to the 64 MiB cap in 4 KiB
// reads kept the (single-threaded) server busy for over 20 s. Two streams
// double to 512 KiB each; the next doubling (to 1 MiB) does not fit the
// 1.375 MiB budget, but 384 KiB more does. Count the reallocations (changes
// of d.pending) while that room fills in 1000-byte slices.
TEST(ChunkLimits, GrowthNearTheCapIsNotPerPiece)
{
    const size_t max_pending = (1u << 20) + (384u << 10);
    Bytes chunk = pattern(4096, 3), b;
    fmt0(b, 2, 0, 4, RTMP_MSG_SET_CHUNK_SIZE, 0); u32be(b, 4096);
    for (uint32_t csid = 4; csid < 6; csid++) {
        fmt0(b, csid, 0, 0xFFFFFF, 9, 1);
        append(b, chunk);
    }
    Decoder dec(max_pending);
    std::vector<Msg> out;
    ASSERT_EQ(dec.feed(b, &out), 0);
    size_t last = dec.d.pending, regrows = 0, fed = 2 * 4096;
    int rc = 0;
    while (rc == 0 && fed < 4 * max_pending) {
        for (uint32_t csid = 4; csid < 6 && rc == 0; csid++) {
            Bytes c;
            fmt3(c, csid);
            append(c, chunk);
            for (size_t off = 0; off < c.size() && rc == 0; off += 1000) {
                Bytes piece(c.begin() + off, c.begin() + std::min(c.size(), off + 1000));
                rc = dec.feed(piece, &out);
                if (dec.d.pending != last) regrows++;
                last = dec.d.pending;
            }
            fed += 4096;
        }
    }
    EXPECT_EQ(rc, RILL_ERR_LIMIT);
    EXPECT_LE(dec.d.pending, max_pending);
    EXPECT_GE(fed, max_pending * 2 / 3);    // most of the budget is used, not refused early
    // doubling 4 KiB -> 512 KiB is 7 regrows per stream, then one step into the room
    EXPECT_LE(regrows, 2u * 8 + 2) << "fed " << fed;
}

TEST(ChunkLimits, MemoryGrowsAsBytesArrive)
{
    const uint32_t len = RTMP_MAX_MSG_SIZE;
    Bytes chunk = pattern(4096, 1), b;
    fmt0(b, 2, 0, 4, RTMP_MSG_SET_CHUNK_SIZE, 0); u32be(b, 4096);
    fmt0(b, 6, 0, len, 9, 1); append(b, chunk);
    Decoder dec;
    std::vector<Msg> out;
    ASSERT_EQ(dec.feed(b, &out), 0);
    EXPECT_LE(dec.d.pending, 8192u);

    // Feed the rest; growth stays within 2x of what arrived.
    uint32_t got = 4096;
    Bytes c;
    while (got < len) {
        uint32_t k = std::min<uint32_t>(4096, len - got);
        c.clear();
        fmt3(c, 6);
        append(c, chunk, 0, k);
        ASSERT_EQ(dec.feed(c, &out), 0);
        got += k;
        if (got < len) {
            ASSERT_LE(dec.d.pending, 2 * (size_t)got) << got;
        }
    }
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[1].data.size(), len);
    EXPECT_EQ(dec.d.pending, 0u);
}

TEST(ChunkErrors, RelativeHeaderOnUnknownCsid)
{
    for (int fmt = 1; fmt <= 3; fmt++) {
        Bytes b;
        fmt0(b, 3, 0, 1, 20, 0); b.push_back(0);
        if (fmt == 1) fmt1(b, 4, 0, 1, 8);
        if (fmt == 2) fmt2(b, 4, 0);
        if (fmt == 3) fmt3(b, 4);
        b.push_back(0);
        Decoder dec;
        std::vector<Msg> out;
        EXPECT_EQ(dec.feed(b, &out), RILL_ERR_CHUNK) << fmt;
        EXPECT_EQ(out.size(), 1u);
    }
}

TEST(ChunkErrors, LengthChangeMidMessage)
{
    Bytes data = pattern(200, 0), b;
    fmt0(b, 4, 0, 200, 9, 1);  append(b, data, 0, 128);
    fmt1(b, 4, 0, 300, 9);     append(b, data, 128, 72);
    Decoder dec;
    std::vector<Msg> out;
    EXPECT_EQ(dec.feed(b, &out), RILL_ERR_CHUNK);

    // The same length again (librtmp does this) is tolerated.
    Bytes c;
    fmt0(c, 4, 0, 200, 9, 1);  append(c, data, 0, 128);
    fmt1(c, 4, 0, 200, 9);     append(c, data, 128, 72);
    Decoder ok;
    ASSERT_EQ(ok.feed(c, &out), 0);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].data, data);
}

TEST(ChunkDecode, AbortDropsThePartialMessage)
{
    Bytes data = pattern(300, 1), fresh = pattern(200, 9), body, b;
    u32be(body, 4);
    fmt0(b, 4, 0, 300, 9, 1);   append(b, data, 0, 128);   // the first chunk of a 300-byte message
    fmt0(b, 2, 0, 4, RTMP_MSG_ABORT, 0); append(b, body); // Abort Message: csid 4
    fmt0(b, 4, 40, 200, 9, 1);  append(b, fresh, 0, 128);  // a new message on csid 4, another length
    fmt3(b, 4);                 append(b, fresh, 128, 72);
    Decoder dec;
    std::vector<Msg> out;
    ASSERT_EQ(0, dec.feed(b, &out));
    ASSERT_EQ(2u, out.size());
    EXPECT_EQ(RTMP_MSG_ABORT, out[0].type);
    EXPECT_EQ(fresh, out[1].data);
    EXPECT_EQ(40u, out[1].timestamp);
    EXPECT_EQ(0u, dec.d.pending) << "the aborted message's bytes are given back";
    rtmp_chunk_decoder_abort(&dec.d, 4);       // nothing held: nothing to do
    rtmp_chunk_decoder_abort(&dec.d, 77);      // a chunk stream never seen
}

TEST(ChunkErrors, SetChunkSizeRange)
{
    Decoder dec;
    EXPECT_EQ(rtmp_chunk_decoder_set_chunk_size(&dec.d, 0), RILL_ERR_CHUNK_SIZE);
    EXPECT_EQ(rtmp_chunk_decoder_set_chunk_size(&dec.d, 0x80000000u), RILL_ERR_CHUNK_SIZE);
    EXPECT_EQ(rtmp_chunk_decoder_set_chunk_size(&dec.d, 65537), RILL_ERR_CHUNK_SIZE);
    EXPECT_EQ(dec.d.chunk_size, 128u);
    EXPECT_EQ(rtmp_chunk_decoder_set_chunk_size(&dec.d, 1), 0);
    EXPECT_EQ(rtmp_chunk_decoder_set_chunk_size(&dec.d, 65536), 0);
    EXPECT_EQ(dec.d.chunk_size, 65536u);
}

// Chunk size 1 is legal: every byte is its own chunk.
TEST(ChunkDecode, ChunkSizeOne)
{
    Bytes data = pattern(5, 0);
    Bytes wire = encode(3, 20, 0, 0xFFFFFF, data, 1);
    Decoder dec;
    ASSERT_EQ(rtmp_chunk_decoder_set_chunk_size(&dec.d, 1), 0);
    std::vector<Msg> out;
    ASSERT_EQ(dec.feed(wire, &out), 0);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].data, data);
    EXPECT_EQ(out[0].timestamp, 0xFFFFFFu);
}

// Garbage in any slicing must end in messages or a clean error, never a
// crash, leak or unbounded allocation (ASan/UBSan watch this).
TEST(ChunkErrors, RandomInputIsHandled)
{
    uint32_t x = 12345;
    auto rnd = [&x]() { x = x * 1103515245u + 12345u; return x >> 8; };
    for (int round = 0; round < 200; round++) {
        Bytes b;
        fmt0(b, 3, 0, rnd() % 300, 9, 1);   // start sane so fmt 1-3 get exercised
        size_t n = 1 + rnd() % 2000;
        for (size_t i = 0; i < n; i++) {
            uint8_t v = (uint8_t)rnd();
            if (i % 50 == 0) v = (uint8_t)((v & 0xC0) | 3);   // revisit csid 3
            b.push_back(v);
        }
        Decoder dec(1 << 20);
        std::vector<Msg> out;
        int rc = dec.feed(b, &out, 1 + rnd() % 64);
        EXPECT_LE(rc, 0);
        EXPECT_LE(dec.d.pending, (size_t)1 << 20);
    }
}

// ---- the shared input budget -----------------------------------------------

TEST(Budget, TakeGiveRoomAndRefusal)
{
    rill_budget_t b;
    rill_budget_init(&b, 1000);
    EXPECT_EQ(rill_budget_room(&b), 1000u);
    EXPECT_EQ(rill_budget_take(&b, 600), 0);
    EXPECT_EQ(rill_budget_take(&b, 401), RILL_ERR_BUDGET);   // nothing taken
    EXPECT_EQ(b.used, 600u);
    EXPECT_EQ(b.refused, 1u);
    EXPECT_EQ(rill_budget_take(&b, 400), 0);
    EXPECT_EQ(rill_budget_room(&b), 0u);
    rill_budget_give(&b, 1000);
    EXPECT_EQ(b.used, 0u);
    EXPECT_EQ(b.peak, 1000u);
    rill_budget_give(&b, 5);                                  // never wraps
    EXPECT_EQ(b.used, 0u);
    b.limit = 0;                                               // no limit
    EXPECT_EQ(rill_budget_take(&b, 1ull << 40), 0);
    // A limit lowered under what is held (a reload): no room, no wrap.
    b.limit = 10;
    EXPECT_EQ(rill_budget_room(&b), 0u);
}

// Partial messages of several decoders (connections) draw on one budget:
// the decoder whose growth would exceed it fails with RILL_ERR_BUDGET, the
// others keep going, and every byte comes back when messages complete or
// decoders are freed.
TEST(Budget, SharedByDecodersAndGivenBack)
{
    rill_budget_t budget;
    rill_budget_init(&budget, 3 * 64 * 1024);
    Bytes chunk = pattern(4096, 5), start;
    fmt0(start, 2, 0, 4, RTMP_MSG_SET_CHUNK_SIZE, 0); u32be(start, 4096);
    fmt0(start, 6, 0, 1 << 20, 9, 1); append(start, chunk);
    Bytes more;
    fmt3(more, 6); append(more, chunk);

    std::vector<Decoder *> decs;
    std::vector<Msg> out;
    for (int i = 0; i < 4; i++) {
        decs.push_back(new Decoder());
        decs.back()->d.budget = &budget;
        ASSERT_EQ(decs.back()->feed(start, &out), 0);
    }
    // Each grows toward 64 KiB: four do not fit in 192 KiB. The first ones
    // get their room; a decoder refused is done (its connection closes).
    std::vector<bool> refused(4, false);
    for (int round = 0; round < 15; round++) {
        for (int i = 0; i < 4; i++) {
            if (refused[i]) continue;
            int rc = decs[i]->feed(more, &out);
            if (rc == RILL_ERR_BUDGET) refused[i] = true;
            else ASSERT_EQ(rc, 0) << "decoder " << i << " round " << round;
        }
    }
    EXPECT_FALSE(refused[0]);
    EXPECT_FALSE(refused[1]);
    EXPECT_TRUE(refused[3]);
    EXPECT_EQ(decs[0]->d.pending, 64u * 1024);
    EXPECT_LE(budget.used, budget.limit);
    EXPECT_GE(budget.refused, 1u);
    size_t held = 0;
    for (Decoder *d : decs) held += d->d.pending;
    EXPECT_EQ(budget.used, held);
    // Closing the refused connections gives their bytes back.
    for (int i = 3; i >= 0; i--) {
        if (!refused[i]) continue;
        delete decs[i];
        decs.erase(decs.begin() + i);
    }
    held = 0;
    for (Decoder *d : decs) held += d->d.pending;
    EXPECT_EQ(budget.used, held);
    EXPECT_LT(budget.used, budget.limit);
    // A small complete message gives back what it held too.
    {
        Decoder d;
        d.d.budget = &budget;
        Bytes m;
        fmt0(m, 3, 0, 100, 20, 0); append(m, chunk, 0, 100);
        uint64_t before = budget.used;
        ASSERT_EQ(d.feed(m, &out), 0);
        EXPECT_EQ(budget.used, before);
    }
    for (Decoder *d : decs) delete d;
    EXPECT_EQ(budget.used, 0u);
}

// What a decoder holds up to budget_free is its own: with the shared budget
// exhausted by others, ordinary messages still pass; only growth beyond the
// allowance is refused, and only that part was ever taken from the budget.
TEST(Budget, FreeAllowanceIsNotTakenFromTheBudget)
{
    rill_budget_t budget;
    rill_budget_init(&budget, 1 << 20);
    ASSERT_EQ(rill_budget_take(&budget, 1 << 20), 0);   // others hold it all
    Decoder d;
    d.d.budget = &budget;
    d.d.budget_free = 64 * 1024;
    Bytes data = pattern(60000, 7), b;
    fmt0(b, 2, 0, 4, RTMP_MSG_SET_CHUNK_SIZE, 0); u32be(b, 4096);
    for (int i = 0; i < 3; i++) {   // three 60 kB frames, one after the other
        fmt0(b, 6, 40 * i, 60000, 9, 1);
        for (size_t off = 0; off < data.size(); off += 4096) {
            if (off) fmt3(b, 6);
            append(b, data, off, std::min<size_t>(4096, data.size() - off));
        }
    }
    std::vector<Msg> out;
    ASSERT_EQ(d.feed(b, &out, 1000), 0);
    ASSERT_EQ(out.size(), 4u);
    EXPECT_EQ(out[3].data, data);
    EXPECT_EQ(budget.used, 1u << 20);
    // A 200 kB message needs the budget past 64 KiB: refused while it is full...
    Bytes big = pattern(4096, 8), c;
    fmt0(c, 7, 0, 200000, 9, 1); append(c, big);
    for (int i = 0; i < 20; i++) { fmt3(c, 7); append(c, big); }
    EXPECT_EQ(d.feed(c, &out), RILL_ERR_BUDGET);
    EXPECT_EQ(budget.used, 1u << 20);
    EXPECT_LE(d.d.pending, 64u * 1024);
    // ...and passes with room, taking only what is beyond the allowance.
    rill_budget_give(&budget, 1 << 20);
    Decoder e;
    e.d.budget = &budget;
    e.d.budget_free = 64 * 1024;
    Bytes c2;
    fmt0(c2, 2, 0, 4, RTMP_MSG_SET_CHUNK_SIZE, 0); u32be(c2, 4096);
    append(c2, c);
    ASSERT_EQ(e.feed(c2, &out), 0);
    EXPECT_EQ(budget.used, e.d.pending - 64 * 1024);
    EXPECT_GT(budget.used, 0u);
}
