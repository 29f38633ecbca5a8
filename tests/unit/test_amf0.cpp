// AMF0 codec: round trips of every type, real ffmpeg command and metadata
// bytes, truncation at every offset, hostile nesting and lengths, helpers.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "amf0.h"
#include "rill_bytes.h"
extern "C" {
#include "rill_error.h"
}

namespace {

typedef std::vector<uint8_t> Bytes;

struct ValDel { void operator()(amf0_value_t *v) const { amf0_free(v); } };
typedef std::unique_ptr<amf0_value_t, ValDel> Val;

// Builds AMF0 bytes by hand, independent of the encoder under test.
struct B {
    Bytes b;
    B &u8(uint8_t v) { b.push_back(v); return *this; }
    B &u16(uint16_t v) { u8(v >> 8); return u8(v & 0xff); }
    B &u32(uint32_t v) { u16(v >> 16); return u16(v & 0xffff); }
    B &f64(double d) {
        uint64_t bits;
        memcpy(&bits, &d, 8);
        for (int i = 7; i >= 0; i--) u8((uint8_t)(bits >> (i * 8)));
        return *this;
    }
    B &raw(const std::string &s) { b.insert(b.end(), s.begin(), s.end()); return *this; }
    B &key(const std::string &k) { u16((uint16_t)k.size()); return raw(k); }
    B &num(double d) { u8(0x00); return f64(d); }
    B &boolean(bool v) { u8(0x01); return u8(v ? 1 : 0); }
    B &str(const std::string &s) { u8(0x02); return key(s); }
    B &obj() { return u8(0x03); }
    B &ecma(uint32_t count) { u8(0x08); return u32(count); }
    B &end() { u16(0); return u8(0x09); }
    B &append(const Bytes &o) { b.insert(b.end(), o.begin(), o.end()); return *this; }
};

// Decode exactly one value from the whole buffer; the value must use every byte.
int decode_one(const Bytes &b, size_t n, Val *out)
{
    rill_reader_t r;
    rill_reader_init(&r, b.data(), n);
    amf0_value_t *v = nullptr;
    int rc = amf0_decode(&r, &v);
    if (rc == 0) {
        out->reset(v);
        EXPECT_EQ(r.pos, n) << "decoder did not consume the value exactly";
    }
    return rc;
}
int decode_one(const Bytes &b, Val *out) { return decode_one(b, b.size(), out); }

Bytes encode(const amf0_value_t *v)
{
    rill_writer_t w;
    rill_writer_init(&w, 0);
    int rc = amf0_encode(&w, v);
    EXPECT_EQ(rc, 0) << rill_strerror(rc);
    Bytes out(w.data, w.data + w.len);
    rill_writer_free(&w);
    return out;
}

// Decode, re-encode, and expect the very same bytes.
Val round_trip(const Bytes &b)
{
    Val v;
    int rc = decode_one(b, &v);
    EXPECT_EQ(rc, 0) << rill_strerror(rc);
    if (rc) return v;
    EXPECT_EQ(encode(v.get()), b);
    return v;
}

// Every strict prefix of one encoded value must be refused as malformed.
void expect_every_prefix_fails(const Bytes &b)
{
    for (size_t n = 0; n < b.size(); n++) {
        Val v;
        EXPECT_EQ(decode_one(b, n, &v), RILL_ERR_AMF) << "prefix of " << n << "/" << b.size();
    }
}

// ffmpeg's connect command, as librtmp/ffmpeg put it on the wire.
Bytes ffmpeg_connect()
{
    B b;
    b.str("connect").num(1.0).obj()
        .key("app").str("live")
        .key("type").str("nonprivate")
        .key("flashVer").str("FMLE/3.0 (compatible; Lavf59.27.100)")
        .key("tcUrl").str("rtmp://127.0.0.1:1935/live")
        .end();
    return b.b;
}

Bytes metadata_ecma(uint32_t count, bool with_end)
{
    B b;
    b.ecma(count)
        .key("duration").num(0)
        .key("width").num(1280)
        .key("height").num(720)
        .key("videodatarate").num(2500)
        .key("framerate").num(30)
        .key("videocodecid").num(7)
        .key("audiodatarate").num(128)
        .key("audiosamplerate").num(44100)
        .key("audiosamplesize").num(16)
        .key("stereo").boolean(true)
        .key("audiocodecid").num(10)
        .key("encoder").str("Lavf59.27.100")
        .key("filesize").num(0);
    if (with_end) b.end();
    return b.b;
}

Bytes set_data_frame(const Bytes &ecma)
{
    B b;
    b.str("@setDataFrame").str("onMetaData").append(ecma);
    return b.b;
}

// n containers of the given marker, each holding the next one.
Bytes nested(int n, uint8_t marker, bool close)
{
    B b;
    for (int i = 0; i < n; i++) {
        b.u8(marker);
        if (marker == AMF0_STRICT_ARRAY) b.u32(1);
        else {
            if (marker == AMF0_ECMA_ARRAY) b.u32(1);
            b.key("a");
        }
    }
    b.u8(AMF0_NULL);
    if (close && marker != AMF0_STRICT_ARRAY)
        for (int i = 0; i < n; i++) b.end();
    return b.b;
}

} // namespace

// ---- scalar round trips ----------------------------------------------------

TEST(Amf0, NumberRoundTrip)
{
    for (double d : {0.0, 1.0, -1.5, 1e300, -0.0, 44100.0, 4294967296.0}) {
        B b;
        b.num(d);
        Val v = round_trip(b.b);
        ASSERT_TRUE(v);
        EXPECT_EQ(v->type, AMF0_NUMBER);
        EXPECT_EQ(memcmp(&v->number, &d, sizeof d), 0);
    }
    Bytes one = {0x00, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0};
    Val v(amf0_new_number(1.0));
    EXPECT_EQ(encode(v.get()), one);
}

TEST(Amf0, NaNSurvives)
{
    Val v(amf0_new_number(NAN));
    Val back;
    ASSERT_EQ(decode_one(encode(v.get()), &back), 0);
    EXPECT_TRUE(std::isnan(back->number));
}

TEST(Amf0, BooleanRoundTrip)
{
    for (bool t : {true, false}) {
        B b;
        b.boolean(t);
        Val v = round_trip(b.b);
        ASSERT_TRUE(v);
        EXPECT_EQ(v->type, AMF0_BOOLEAN);
        EXPECT_EQ(v->boolean, t ? 1 : 0);
    }
    // Any non-zero byte is true; it re-encodes as 1.
    Val v;
    ASSERT_EQ(decode_one(Bytes{0x01, 0x7f}, &v), 0);
    EXPECT_EQ(v->boolean, 1);
    EXPECT_EQ(encode(v.get()), (Bytes{0x01, 0x01}));
}

TEST(Amf0, StringRoundTrip)
{
    for (const std::string &s : {std::string(), std::string("live"), std::string("a\0b", 3),
                                  std::string(65535, 'x')}) {
        B b;
        b.str(s);
        Val v = round_trip(b.b);
        ASSERT_TRUE(v);
        EXPECT_EQ(v->type, AMF0_STRING);
        EXPECT_EQ(v->str_len, s.size());
        EXPECT_EQ(std::string(v->str, v->str_len), s);
        EXPECT_EQ(v->str[v->str_len], '\0');
    }
}

TEST(Amf0, LongStringWrittenForOver65535)
{
    std::string s(70000, 'y');
    Val v(amf0_new_string(s.c_str()));
    ASSERT_TRUE(v);
    Bytes enc = encode(v.get());
    ASSERT_EQ(enc.size(), 5 + s.size());
    EXPECT_EQ(enc[0], AMF0_LONG_STRING);
    EXPECT_EQ(rill_get_u32be(&enc[1]), 70000u);
    Val back = round_trip(enc);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->type, AMF0_LONG_STRING);
    EXPECT_EQ(std::string(back->str, back->str_len), s);

    rill_writer_t w;
    rill_writer_init(&w, 0);
    ASSERT_EQ(amf0_write_string(&w, s.c_str()), 0);
    EXPECT_EQ(Bytes(w.data, w.data + w.len), enc);
    rill_writer_free(&w);
}

TEST(Amf0, ShortLongStringKeepsItsMarker)
{
    B b;
    b.u8(AMF0_LONG_STRING).u32(3).raw("abc");
    Val v = round_trip(b.b);
    ASSERT_TRUE(v);
    EXPECT_EQ(v->type, AMF0_LONG_STRING);
    EXPECT_STREQ(v->str, "abc");
}

TEST(Amf0, XmlDocumentRoundTrip)
{
    B b;
    b.u8(AMF0_XML_DOCUMENT).u32(8).raw("<a>b</a>");
    Val v = round_trip(b.b);
    ASSERT_TRUE(v);
    EXPECT_EQ(v->type, AMF0_XML_DOCUMENT);
    EXPECT_EQ(std::string(v->str, v->str_len), "<a>b</a>");
}

TEST(Amf0, NullAndUndefined)
{
    Val n = round_trip(Bytes{0x05});
    ASSERT_TRUE(n);
    EXPECT_EQ(n->type, AMF0_NULL);
    Val u = round_trip(Bytes{0x06});
    ASSERT_TRUE(u);
    EXPECT_EQ(u->type, AMF0_UNDEFINED);
    Val a(amf0_new_null()), c(amf0_new_undefined());
    EXPECT_EQ(encode(a.get()), Bytes{0x05});
    EXPECT_EQ(encode(c.get()), Bytes{0x06});
}

TEST(Amf0, DateRoundTrip)
{
    B b;
    b.u8(AMF0_DATE).f64(1700000000123.0).u16((uint16_t)-480);
    Val v = round_trip(b.b);
    ASSERT_TRUE(v);
    EXPECT_EQ(v->type, AMF0_DATE);
    EXPECT_EQ(v->number, 1700000000123.0);
    EXPECT_EQ(v->tz, -480);
}

TEST(Amf0, ReferenceRoundTrip)
{
    Val v = round_trip(Bytes{0x07, 0x01, 0x02});
    ASSERT_TRUE(v);
    EXPECT_EQ(v->type, AMF0_REFERENCE);
    EXPECT_EQ(v->ref, 0x0102);
}

// ---- containers ------------------------------------------------------------

TEST(Amf0, ObjectRoundTripKeepsOrder)
{
    B b;
    b.obj().key("z").num(1).key("a").str("x").key("m").obj().key("in").boolean(true).end()
        .key("n").u8(AMF0_NULL).end();
    Val v = round_trip(b.b);
    ASSERT_TRUE(v);
    ASSERT_EQ(v->type, AMF0_OBJECT);
    ASSERT_EQ(v->nprops, 4u);
    EXPECT_STREQ(v->props[0].key, "z");
    EXPECT_STREQ(v->props[1].key, "a");
    EXPECT_STREQ(v->props[2].key, "m");
    EXPECT_STREQ(v->props[3].key, "n");
    amf0_value_t *m = amf0_object_get(v.get(), "m");
    ASSERT_TRUE(m);
    EXPECT_EQ(amf0_object_get(m, "in")->boolean, 1);
}

TEST(Amf0, EmptyObjectAndEmptyKey)
{
    Val e = round_trip(B().obj().end().b);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->nprops, 0u);
    // 00 00 not followed by 09 is a property named "".
    Val k = round_trip(B().obj().key("").num(3).end().b);
    ASSERT_TRUE(k);
    ASSERT_EQ(k->nprops, 1u);
    EXPECT_EQ(k->props[0].key_len, 0u);
    EXPECT_EQ(amf0_object_get_number(k.get(), "", 0), 3);
}

TEST(Amf0, EcmaArrayRoundTrip)
{
    Val v = round_trip(B().ecma(2).key("a").num(1).key("b").str("c").end().b);
    ASSERT_TRUE(v);
    EXPECT_EQ(v->type, AMF0_ECMA_ARRAY);
    EXPECT_EQ(v->nprops, 2u);
    // The count is only a hint; the encoder writes the real one.
    Val w;
    ASSERT_EQ(decode_one(B().ecma(0).key("a").num(1).end().b, &w), 0);
    EXPECT_EQ(encode(w.get()), B().ecma(1).key("a").num(1).end().b);
    Val x;
    ASSERT_EQ(decode_one(B().ecma(0xffffffff).key("a").num(1).end().b, &x), 0);
    EXPECT_EQ(x->nprops, 1u);
}

TEST(Amf0, StrictArrayRoundTrip)
{
    B b;
    b.u8(AMF0_STRICT_ARRAY).u32(4).num(1).str("two").u8(AMF0_NULL)
        .u8(AMF0_STRICT_ARRAY).u32(0);
    Val v = round_trip(b.b);
    ASSERT_TRUE(v);
    ASSERT_EQ(v->type, AMF0_STRICT_ARRAY);
    ASSERT_EQ(v->nitems, 4u);
    EXPECT_EQ(v->items[0]->number, 1);
    EXPECT_STREQ(v->items[1]->str, "two");
    EXPECT_EQ(v->items[2]->type, AMF0_NULL);
    EXPECT_EQ(v->items[3]->nitems, 0u);
}

TEST(Amf0, StrictArrayGrowsPastInitialCapacity)
{
    B b;
    b.u8(AMF0_STRICT_ARRAY).u32(1000);
    for (int i = 0; i < 1000; i++) b.num(i);
    Val v = round_trip(b.b);
    ASSERT_TRUE(v);
    ASSERT_EQ(v->nitems, 1000u);
    EXPECT_EQ(v->items[999]->number, 999);
}

TEST(Amf0, TypedObjectRoundTrip)
{
    B b;
    b.u8(AMF0_TYPED_OBJECT).key("flex.Msg").key("id").num(5).end();
    Val v = round_trip(b.b);
    ASSERT_TRUE(v);
    EXPECT_EQ(v->type, AMF0_TYPED_OBJECT);
    EXPECT_STREQ(v->class_name, "flex.Msg");
    EXPECT_EQ(amf0_object_get_number(v.get(), "id", 0), 5);
}

TEST(Amf0, BuiltValuesEncodeAsExpected)
{
    Val o(amf0_new_object());
    ASSERT_EQ(amf0_object_set(o.get(), "level", amf0_new_string("status")), 0);
    ASSERT_EQ(amf0_object_set(o.get(), "n", amf0_new_number(2)), 0);
    Val arr(amf0_new_strict_array());
    ASSERT_EQ(amf0_array_push(arr.get(), amf0_new_bool(1)), 0);
    ASSERT_EQ(amf0_array_push(arr.get(), amf0_new_string_len("a\0b", 3)), 0);
    ASSERT_EQ(amf0_object_set(o.get(), "arr", arr.release()), 0);
    ASSERT_EQ(amf0_object_set(o.get(), "e", amf0_new_ecma_array()), 0);

    B want;
    want.obj().key("level").str("status").key("n").num(2)
        .key("arr").u8(AMF0_STRICT_ARRAY).u32(2).boolean(true).str(std::string("a\0b", 3))
        .key("e").ecma(0).end()
        .end();
    EXPECT_EQ(encode(o.get()), want.b);
}

TEST(Amf0, WriteShortcuts)
{
    rill_writer_t w;
    rill_writer_init(&w, 0);
    ASSERT_EQ(amf0_write_string(&w, "_result"), 0);
    ASSERT_EQ(amf0_write_number(&w, 1), 0);
    ASSERT_EQ(amf0_write_null(&w), 0);
    ASSERT_EQ(amf0_write_bool(&w, 7), 0);
    EXPECT_EQ(amf0_write_string(&w, nullptr), RILL_ERR_INVAL);
    B want;
    want.str("_result").num(1).u8(AMF0_NULL).boolean(true);
    EXPECT_EQ(Bytes(w.data, w.data + w.len), want.b);
    rill_writer_free(&w);
}

// ---- refused markers -------------------------------------------------------

TEST(Amf0, UnsupportedMarkersRefused)
{
    for (uint8_t m : {0x04, 0x09, 0x0d, 0x0e, 0x11, 0x12, 0xff}) {
        Val v;
        EXPECT_EQ(decode_one(Bytes{m, 0, 0, 0, 0}, &v), RILL_ERR_AMF) << "marker " << (int)m;
    }
    // Inside an object too, with nothing leaked.
    Val v;
    EXPECT_EQ(decode_one(B().obj().key("a").num(1).key("b").u8(0x11).u8(0x01).end().b, &v),
              RILL_ERR_AMF);
}

TEST(Amf0, UnencodableTypesRefused)
{
    amf0_value_t bad;
    memset(&bad, 0, sizeof bad);
    rill_writer_t w;
    rill_writer_init(&w, 0);
    for (uint8_t t : {AMF0_MOVIECLIP, AMF0_OBJECT_END, AMF0_UNSUPPORTED, AMF0_AVMPLUS}) {
        bad.type = t;
        EXPECT_EQ(amf0_encode(&w, &bad), RILL_ERR_INVAL);
    }
    EXPECT_EQ(amf0_encode(&w, nullptr), RILL_ERR_INVAL);
    EXPECT_EQ(w.len, 0u);
    rill_writer_free(&w);
}

// ---- real encoder output ---------------------------------------------------

TEST(Amf0, FfmpegConnect)
{
    Bytes buf = ffmpeg_connect();
    amf0_value_t **vals;
    size_t count;
    ASSERT_EQ(amf0_decode_all(buf.data(), buf.size(), &vals, &count), 0);
    ASSERT_EQ(count, 3u);
    EXPECT_EQ(vals[0]->type, AMF0_STRING);
    EXPECT_STREQ(vals[0]->str, "connect");
    EXPECT_EQ(vals[1]->number, 1.0);
    amf0_value_t *o = vals[2];
    ASSERT_EQ(o->type, AMF0_OBJECT);
    EXPECT_EQ(o->nprops, 4u);
    EXPECT_STREQ(amf0_object_get_string(o, "app"), "live");
    EXPECT_STREQ(amf0_object_get_string(o, "type"), "nonprivate");
    EXPECT_STREQ(amf0_object_get_string(o, "flashVer"), "FMLE/3.0 (compatible; Lavf59.27.100)");
    EXPECT_STREQ(amf0_object_get_string(o, "tcUrl"), "rtmp://127.0.0.1:1935/live");
    EXPECT_EQ(amf0_object_get_string(o, "swfUrl"), nullptr);

    rill_writer_t w;
    rill_writer_init(&w, 0);
    for (size_t i = 0; i < count; i++) ASSERT_EQ(amf0_encode(&w, vals[i]), 0);
    EXPECT_EQ(Bytes(w.data, w.data + w.len), buf);
    rill_writer_free(&w);
    amf0_free_all(vals, count);
}

TEST(Amf0, FfmpegConnectEveryTruncation)
{
    Bytes buf = ffmpeg_connect();
    // Ends of the top-level values: a prefix ending there is a shorter command.
    const size_t s1 = 3 + 7, s2 = s1 + 9;
    for (size_t n = 0; n < buf.size(); n++) {
        amf0_value_t **vals = (amf0_value_t **)1;
        size_t count = 99;
        int rc = amf0_decode_all(buf.data(), n, &vals, &count);
        if (n == 0 || n == s1 || n == s2) {
            ASSERT_EQ(rc, 0) << n;
            EXPECT_EQ(count, n == 0 ? 0u : n == s1 ? 1u : 2u);
            amf0_free_all(vals, count);
        } else {
            ASSERT_EQ(rc, RILL_ERR_AMF) << "prefix " << n;
            EXPECT_EQ(vals, nullptr);
            EXPECT_EQ(count, 0u);
        }
    }
    // The object alone, cut anywhere.
    expect_every_prefix_fails(Bytes(buf.begin() + s2, buf.end()));
}

TEST(Amf0, SetDataFrameOnMetaData)
{
    Bytes buf = set_data_frame(metadata_ecma(13, true));
    amf0_value_t **vals;
    size_t count;
    ASSERT_EQ(amf0_decode_all(buf.data(), buf.size(), &vals, &count), 0);
    ASSERT_EQ(count, 3u);
    EXPECT_STREQ(vals[0]->str, "@setDataFrame");
    EXPECT_STREQ(vals[1]->str, "onMetaData");
    amf0_value_t *m = vals[2];
    ASSERT_EQ(m->type, AMF0_ECMA_ARRAY);
    EXPECT_EQ(m->nprops, 13u);
    EXPECT_EQ(amf0_object_get_number(m, "width", 0), 1280);
    EXPECT_EQ(amf0_object_get_number(m, "height", 0), 720);
    EXPECT_EQ(amf0_object_get_number(m, "framerate", 0), 30);
    EXPECT_EQ(amf0_object_get_number(m, "videocodecid", 0), 7);
    EXPECT_EQ(amf0_object_get_number(m, "audiocodecid", 0), 10);
    EXPECT_EQ(amf0_object_get_number(m, "audiosamplerate", 0), 44100);
    EXPECT_EQ(amf0_object_get(m, "stereo")->boolean, 1);
    EXPECT_STREQ(amf0_object_get_string(m, "encoder"), "Lavf59.27.100");
    // Wrong type or absent: the default.
    EXPECT_EQ(amf0_object_get_number(m, "encoder", -1), -1);
    EXPECT_EQ(amf0_object_get_number(m, "nope", -2), -2);
    EXPECT_EQ(amf0_object_get_string(m, "width"), nullptr);

    rill_writer_t w;
    rill_writer_init(&w, 0);
    for (size_t i = 0; i < count; i++) ASSERT_EQ(amf0_encode(&w, vals[i]), 0);
    EXPECT_EQ(Bytes(w.data, w.data + w.len), buf);
    rill_writer_free(&w);
    amf0_free_all(vals, count);
}

TEST(Amf0, MetaDataEveryTruncation)
{
    Bytes ecma = metadata_ecma(13, true);
    for (size_t n = 0; n < ecma.size(); n++) {
        Val v;
        int rc = decode_one(ecma, n, &v);
        if (n == ecma.size() - 3) {
            // Only the missing end marker after all announced props is tolerated.
            ASSERT_EQ(rc, 0);
            EXPECT_EQ(v->nprops, 13u);
        } else {
            EXPECT_EQ(rc, RILL_ERR_AMF) << "prefix " << n << "/" << ecma.size();
        }
    }
    Bytes buf = set_data_frame(ecma);
    const size_t s1 = 3 + 13, s2 = s1 + 3 + 10;
    for (size_t n = 0; n < buf.size(); n++) {
        amf0_value_t **vals;
        size_t count;
        int rc = amf0_decode_all(buf.data(), n, &vals, &count);
        bool ok = n == 0 || n == s1 || n == s2 || n == buf.size() - 3;
        ASSERT_EQ(rc, ok ? 0 : RILL_ERR_AMF) << "prefix " << n;
        if (rc == 0) amf0_free_all(vals, count);
    }
}

TEST(Amf0, EcmaArrayWithoutEndMarker)
{
    // Some encoders stop after the last property at the end of the message.
    Bytes buf = set_data_frame(metadata_ecma(13, false));
    amf0_value_t **vals;
    size_t count;
    ASSERT_EQ(amf0_decode_all(buf.data(), buf.size(), &vals, &count), 0);
    ASSERT_EQ(count, 3u);
    EXPECT_EQ(vals[2]->nprops, 13u);
    EXPECT_EQ(amf0_object_get_number(vals[2], "filesize", -1), 0);
    // Re-encoded with the marker.
    EXPECT_EQ(encode(vals[2]), metadata_ecma(13, true));
    amf0_free_all(vals, count);

    // A count of 0 (hint unknown) still allows it.
    Val v;
    ASSERT_EQ(decode_one(metadata_ecma(0, false), &v), 0);
    EXPECT_EQ(v->nprops, 13u);
    // Fewer properties than announced is a truncation, not a short array.
    EXPECT_EQ(decode_one(metadata_ecma(14, false), &v), RILL_ERR_AMF);
    // Objects never get this leniency.
    EXPECT_EQ(decode_one(B().obj().key("a").num(1).b, &v), RILL_ERR_AMF);
    // Only at top level: nested arrays cut short are truncations.
    EXPECT_EQ(decode_one(B().u8(AMF0_STRICT_ARRAY).u32(1).ecma(1).key("a").num(1).b, &v),
              RILL_ERR_AMF);
    EXPECT_EQ(decode_one(B().obj().key("m").append(metadata_ecma(13, false)).b, &v), RILL_ERR_AMF);
    // Nor a half-written marker.
    EXPECT_EQ(decode_one(B().ecma(1).key("a").num(1).u16(0).b, &v), RILL_ERR_AMF);
    EXPECT_EQ(decode_one(B().ecma(1).key("a").num(1).u8(0).b, &v), RILL_ERR_AMF);
}

TEST(Amf0, EveryTypeTruncated)
{
    std::vector<Bytes> samples = {
        B().num(2).b,
        B().boolean(true).b,
        B().str("abc").b,
        B().str("").b,
        B().u8(AMF0_LONG_STRING).u32(2).raw("ab").b,
        B().u8(AMF0_XML_DOCUMENT).u32(2).raw("<a").b,
        B().u8(AMF0_DATE).f64(1).u16(0).b,
        B().u8(AMF0_REFERENCE).u16(3).b,
        B().obj().end().b,
        B().obj().key("k").obj().key("j").num(1).end().end().b,
        B().u8(AMF0_STRICT_ARRAY).u32(2).num(1).str("x").b,
        B().u8(AMF0_STRICT_ARRAY).u32(0).b,
        B().u8(AMF0_TYPED_OBJECT).key("C").key("a").num(1).end().b,
        // Nested, so the missing-end-marker leniency does not apply.
        B().obj().key("e").ecma(1).key("a").obj().key("b").num(1).end().end().end().b,
    };
    for (const Bytes &s : samples) {
        Val v = round_trip(s);
        EXPECT_TRUE(v);
        expect_every_prefix_fails(s);
    }
}

// ---- hostile input ---------------------------------------------------------

TEST(Amf0, DeepNestingRefused)
{
    for (uint8_t m : {AMF0_OBJECT, AMF0_ECMA_ARRAY, AMF0_STRICT_ARRAY, AMF0_TYPED_OBJECT}) {
        for (bool close : {false, true}) {
            Bytes b;
            if (m == AMF0_TYPED_OBJECT) {
                B t;
                for (int i = 0; i < 10000; i++) t.u8(AMF0_TYPED_OBJECT).key("C").key("a");
                t.u8(AMF0_NULL);
                if (close) for (int i = 0; i < 10000; i++) t.end();
                b = t.b;
            } else {
                b = nested(10000, m, close);
            }
            Val v;
            EXPECT_EQ(decode_one(b, &v), RILL_ERR_AMF_DEPTH) << "marker " << (int)m;
        }
    }
    // Alternating containers count alike.
    B mix;
    for (int i = 0; i < 5000; i++) mix.obj().key("a").u8(AMF0_STRICT_ARRAY).u32(1);
    mix.u8(AMF0_NULL);
    Val v;
    EXPECT_EQ(decode_one(mix.b, &v), RILL_ERR_AMF_DEPTH);
    amf0_value_t **vals;
    size_t count;
    EXPECT_EQ(amf0_decode_all(mix.b.data(), mix.b.size(), &vals, &count), RILL_ERR_AMF_DEPTH);
}

TEST(Amf0, DepthLimitIsExact)
{
    Val v;
    ASSERT_EQ(decode_one(nested(AMF0_MAX_DEPTH, AMF0_OBJECT, true), &v), 0);
    EXPECT_EQ(decode_one(nested(AMF0_MAX_DEPTH + 1, AMF0_OBJECT, true), &v), RILL_ERR_AMF_DEPTH);
    ASSERT_EQ(decode_one(nested(AMF0_MAX_DEPTH, AMF0_STRICT_ARRAY, true), &v), 0);
    EXPECT_EQ(decode_one(nested(AMF0_MAX_DEPTH + 1, AMF0_STRICT_ARRAY, true), &v),
              RILL_ERR_AMF_DEPTH);
}

TEST(Amf0, EncodeAndCloneRefuseTooDeep)
{
    // Built by hand past the limit: the encoder refuses and appends nothing.
    Val root(amf0_new_object());
    amf0_value_t *cur = root.get();
    for (int i = 1; i < AMF0_MAX_DEPTH; i++) {
        amf0_value_t *child = amf0_new_object();
        ASSERT_EQ(amf0_object_set(cur, "a", child), 0);
        cur = child;
    }
    Bytes ok = encode(root.get());
    Val back;
    ASSERT_EQ(decode_one(ok, &back), 0);
    Val c(amf0_clone(root.get()));
    ASSERT_TRUE(c);
    EXPECT_EQ(encode(c.get()), ok);

    ASSERT_EQ(amf0_object_set(cur, "a", amf0_new_ecma_array()), 0);
    rill_writer_t w;
    rill_writer_init(&w, 0);
    ASSERT_EQ(amf0_write_null(&w), 0);
    EXPECT_EQ(amf0_encode(&w, root.get()), RILL_ERR_AMF_DEPTH);
    EXPECT_EQ(w.len, 1u);
    rill_writer_free(&w);
    EXPECT_EQ(amf0_clone(root.get()), nullptr);
}

TEST(Amf0, HugeDeclaredLengthsRefused)
{
    Val v;
    // Strings announcing more than is there.
    EXPECT_EQ(decode_one(B().u8(AMF0_STRING).u16(0xffff).raw("ab").b, &v), RILL_ERR_AMF);
    EXPECT_EQ(decode_one(B().u8(AMF0_LONG_STRING).u32(0xffffffff).raw("ab").b, &v), RILL_ERR_AMF);
    EXPECT_EQ(decode_one(B().u8(AMF0_XML_DOCUMENT).u32(0x80000000).raw("ab").b, &v), RILL_ERR_AMF);
    // Keys and class names.
    EXPECT_EQ(decode_one(B().obj().u16(0xffff).raw("k").b, &v), RILL_ERR_AMF);
    EXPECT_EQ(decode_one(B().u8(AMF0_TYPED_OBJECT).u16(0xffff).raw("C").b, &v), RILL_ERR_AMF);
    // 4 billion items with three present: refused, nothing preallocated (ASan
    // would report an allocation of that size).
    EXPECT_EQ(decode_one(B().u8(AMF0_STRICT_ARRAY).u32(0xffffffff).num(1).num(2).num(3).b, &v),
              RILL_ERR_AMF);
    EXPECT_EQ(decode_one(B().u8(AMF0_STRICT_ARRAY).u32(0xffffffff).b, &v), RILL_ERR_AMF);
    // Fits the byte count but the items run out.
    EXPECT_EQ(decode_one(B().u8(AMF0_STRICT_ARRAY).u32(9).num(1).b, &v), RILL_ERR_AMF);
}

TEST(Amf0, ValueCountBounded)
{
    // AMF0_MAX_VALUES one-byte nulls would be ~30 MiB of nodes; one more is refused.
    B ok;
    ok.u8(AMF0_STRICT_ARRAY).u32(AMF0_MAX_VALUES - 1);
    ok.b.resize(ok.b.size() + AMF0_MAX_VALUES - 1, AMF0_NULL);
    Val v;
    ASSERT_EQ(decode_one(ok.b, &v), 0);
    EXPECT_EQ(v->nitems, AMF0_MAX_VALUES - 1);
    v.reset();

    B bad;
    bad.u8(AMF0_STRICT_ARRAY).u32(AMF0_MAX_VALUES);
    bad.b.resize(bad.b.size() + AMF0_MAX_VALUES, AMF0_NULL);
    EXPECT_EQ(decode_one(bad.b, &v), RILL_ERR_AMF);

    // The budget covers the whole message in decode_all.
    Bytes many(AMF0_MAX_VALUES + 1, AMF0_NULL);
    amf0_value_t **vals;
    size_t count;
    EXPECT_EQ(amf0_decode_all(many.data(), many.size(), &vals, &count), RILL_ERR_AMF);
}

TEST(Amf0, MutatedInputNeverCrashes)
{
    Bytes base = set_data_frame(metadata_ecma(13, true));
    Bytes conn = ffmpeg_connect();
    base.insert(base.end(), conn.begin(), conn.end());
    std::mt19937 rng(12345);
    for (int iter = 0; iter < 5000; iter++) {
        Bytes b = base;
        int flips = 1 + (int)(rng() % 4);
        for (int i = 0; i < flips; i++) b[rng() % b.size()] = (uint8_t)rng();
        b.resize(rng() % (b.size() + 1));
        amf0_value_t **vals;
        size_t count;
        int rc = amf0_decode_all(b.data(), b.size(), &vals, &count);
        if (rc == 0) {
            // Whatever decoded must encode again.
            rill_writer_t w;
            rill_writer_init(&w, 0);
            for (size_t i = 0; i < count; i++) EXPECT_EQ(amf0_encode(&w, vals[i]), 0);
            rill_writer_free(&w);
            amf0_free_all(vals, count);
        } else {
            EXPECT_TRUE(rc == RILL_ERR_AMF || rc == RILL_ERR_AMF_DEPTH) << rc;
        }
    }
}

// ---- decode API edges ------------------------------------------------------

TEST(Amf0, SequentialDecodeAdvancesReader)
{
    Bytes buf = ffmpeg_connect();
    rill_reader_t r;
    rill_reader_init(&r, buf.data(), buf.size());
    amf0_value_t *a, *b, *c;
    ASSERT_EQ(amf0_decode(&r, &a), 0);
    EXPECT_EQ(r.pos, 10u);
    ASSERT_EQ(amf0_decode(&r, &b), 0);
    ASSERT_EQ(amf0_decode(&r, &c), 0);
    EXPECT_EQ(rill_reader_left(&r), 0u);
    amf0_value_t *d = nullptr;
    EXPECT_EQ(amf0_decode(&r, &d), RILL_ERR_AMF);
    EXPECT_EQ(d, nullptr);
    amf0_free(a);
    amf0_free(b);
    amf0_free(c);

    // A reader already in error is not read.
    rill_reader_init(&r, buf.data(), buf.size());
    r.err = 1;
    EXPECT_EQ(amf0_decode(&r, &d), RILL_ERR_AMF);
}

TEST(Amf0, DecodeAllEmptyAndTrailingGarbage)
{
    amf0_value_t **vals = (amf0_value_t **)1;
    size_t count = 5;
    ASSERT_EQ(amf0_decode_all(nullptr, 0, &vals, &count), 0);
    EXPECT_EQ(count, 0u);
    amf0_free_all(vals, count);
    Bytes b = B().num(1).u8(0x11).b;
    EXPECT_EQ(amf0_decode_all(b.data(), b.size(), &vals, &count), RILL_ERR_AMF);
    amf0_free_all(nullptr, 0);
}

// ---- helpers ---------------------------------------------------------------

TEST(Amf0, ObjectSetGetRemove)
{
    Val o(amf0_new_object());
    ASSERT_EQ(amf0_object_set(o.get(), "a", amf0_new_number(1)), 0);
    ASSERT_EQ(amf0_object_set(o.get(), "b", amf0_new_string("x")), 0);
    ASSERT_EQ(amf0_object_set(o.get(), "c", amf0_new_null()), 0);
    // Replacing keeps the position and does not duplicate.
    ASSERT_EQ(amf0_object_set(o.get(), "a", amf0_new_number(2)), 0);
    ASSERT_EQ(o->nprops, 3u);
    EXPECT_STREQ(o->props[0].key, "a");
    EXPECT_EQ(amf0_object_get_number(o.get(), "a", 0), 2);
    EXPECT_STREQ(amf0_object_get_string(o.get(), "b"), "x");
    EXPECT_EQ(amf0_object_get(o.get(), "c")->type, AMF0_NULL);
    EXPECT_EQ(amf0_object_get(o.get(), "d"), nullptr);

    EXPECT_EQ(amf0_object_remove(o.get(), "b"), 1);
    EXPECT_EQ(amf0_object_remove(o.get(), "b"), 0);
    ASSERT_EQ(o->nprops, 2u);
    EXPECT_STREQ(o->props[0].key, "a");
    EXPECT_STREQ(o->props[1].key, "c");
    EXPECT_EQ(encode(o.get()), B().obj().key("a").num(2).key("c").u8(AMF0_NULL).end().b);

    // Many keys: growth past the first allocation.
    for (int i = 0; i < 100; i++)
        ASSERT_EQ(amf0_object_set(o.get(), ("k" + std::to_string(i)).c_str(), amf0_new_number(i)), 0);
    EXPECT_EQ(o->nprops, 102u);
    EXPECT_EQ(amf0_object_get_number(o.get(), "k77", 0), 77);
}

TEST(Amf0, RemoveDropsRepeatedDecodedKeys)
{
    Val v;
    ASSERT_EQ(decode_one(B().obj().key("x").num(1).key("y").num(2).key("x").num(3).end().b, &v), 0);
    EXPECT_EQ(amf0_object_get_number(v.get(), "x", 0), 1);   // first wins
    EXPECT_EQ(amf0_object_remove(v.get(), "x"), 1);
    EXPECT_EQ(amf0_object_get(v.get(), "x"), nullptr);
    EXPECT_EQ(v->nprops, 1u);
}

TEST(Amf0, HelpersOnWrongTypes)
{
    Val n(amf0_new_number(1));
    // Ownership is taken even on failure: ASan's leak check covers this.
    EXPECT_EQ(amf0_object_set(n.get(), "a", amf0_new_string("leak?")), RILL_ERR_INVAL);
    EXPECT_EQ(amf0_object_set(nullptr, "a", amf0_new_null()), RILL_ERR_INVAL);
    EXPECT_EQ(amf0_array_push(n.get(), amf0_new_null()), RILL_ERR_INVAL);
    Val o(amf0_new_object());
    EXPECT_EQ(amf0_array_push(o.get(), amf0_new_null()), RILL_ERR_INVAL);
    // A failed constructor passed straight in.
    EXPECT_EQ(amf0_object_set(o.get(), "a", nullptr), RILL_ERR_NOMEM);
    EXPECT_EQ(amf0_array_push(o.get(), nullptr), RILL_ERR_NOMEM);
    EXPECT_EQ(amf0_object_get(n.get(), "a"), nullptr);
    EXPECT_EQ(amf0_object_get(nullptr, "a"), nullptr);
    EXPECT_EQ(amf0_object_remove(n.get(), "a"), 0);
    EXPECT_EQ(amf0_object_get_number(nullptr, "a", 9), 9);
    // ECMA arrays and typed objects take properties too.
    Val e(amf0_new_ecma_array());
    EXPECT_EQ(amf0_object_set(e.get(), "k", amf0_new_bool(0)), 0);
    EXPECT_EQ(amf0_object_get(e.get(), "k")->boolean, 0);
    amf0_free(nullptr);
}

TEST(Amf0, CloneIsDeepAndIndependent)
{
    Bytes buf = set_data_frame(metadata_ecma(13, true));
    B extra;
    extra.u8(AMF0_TYPED_OBJECT).key("C").key("d").u8(AMF0_DATE).f64(5).u16(60)
        .key("s").u8(AMF0_STRICT_ARRAY).u32(2).u8(AMF0_REFERENCE).u16(1).u8(AMF0_UNDEFINED)
        .key("x").u8(AMF0_XML_DOCUMENT).u32(1).raw("<").end();
    for (const Bytes &b : {Bytes(buf.begin() + 29, buf.end()), ffmpeg_connect(), extra.b}) {
        Val v;
        rill_reader_t r;
        rill_reader_init(&r, b.data(), b.size());
        amf0_value_t *raw;
        ASSERT_EQ(amf0_decode(&r, &raw), 0);
        v.reset(raw);
        Val c(amf0_clone(v.get()));
        ASSERT_TRUE(c);
        EXPECT_EQ(encode(c.get()), encode(v.get()));
    }
    Val o(amf0_new_object());
    ASSERT_EQ(amf0_object_set(o.get(), "s", amf0_new_string("one")), 0);
    Val c(amf0_clone(o.get()));
    ASSERT_EQ(amf0_object_set(o.get(), "s", amf0_new_string("two")), 0);
    EXPECT_STREQ(amf0_object_get_string(c.get(), "s"), "one");
    EXPECT_EQ(amf0_clone(nullptr), nullptr);
}

TEST(Amf0, EncodeErrorsLeaveWriterUnchanged)
{
    // A key too long for its u16 length.
    Val o(amf0_new_object());
    std::string k(70000, 'k');
    ASSERT_EQ(amf0_object_set(o.get(), "ok", amf0_new_number(1)), 0);
    ASSERT_EQ(amf0_object_set(o.get(), k.c_str(), amf0_new_null()), 0);
    rill_writer_t w;
    rill_writer_init(&w, 0);
    ASSERT_EQ(amf0_write_number(&w, 3), 0);
    EXPECT_EQ(amf0_encode(&w, o.get()), RILL_ERR_INVAL);
    EXPECT_EQ(w.len, 9u);
    rill_writer_free(&w);

    // A capped writer: the value does not fit, nothing half-written stays.
    rill_writer_init(&w, 16);
    ASSERT_EQ(amf0_write_null(&w), 0);
    Bytes meta = metadata_ecma(13, true);
    Val m;
    ASSERT_EQ(decode_one(meta, &m), 0);
    EXPECT_EQ(amf0_encode(&w, m.get()), RILL_ERR_LIMIT);
    EXPECT_EQ(w.len, 1u);
    EXPECT_EQ(amf0_write_string(&w, "0123456789abcdef"), RILL_ERR_LIMIT);
    EXPECT_EQ(amf0_write_number(&w, 1), 0);
    EXPECT_EQ(amf0_write_number(&w, 1), RILL_ERR_LIMIT);
    EXPECT_EQ(w.len, 10u);
    rill_writer_free(&w);
}
