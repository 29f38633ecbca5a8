// RTMP handshake: simple echo, complex digest in both schemas, client side
// checks. Digests are recomputed here independently with OpenSSL so the
// positions and keys are checked against the protocol, not only against
// the implementation itself.
#include <gtest/gtest.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstring>
#include <string>
#include <vector>

extern "C" {
#include "rill_error.h"
#include "rtmp_handshake.h"
}

namespace {

typedef std::vector<uint8_t> Bytes;

const uint8_t kTail[32] = {
    0xF0, 0xEE, 0xC2, 0x4A, 0x80, 0x68, 0xBE, 0xE8, 0x2E, 0x00, 0xD0, 0xD1,
    0x02, 0x9E, 0x7E, 0x57, 0x6E, 0xEC, 0x5D, 0x2D, 0x29, 0x80, 0x6F, 0xAB,
    0x93, 0xB8, 0xE6, 0x36, 0xCF, 0xEB, 0x31, 0xAE,
};

Bytes Key(const std::string &text, bool full)
{
    Bytes k(text.begin(), text.end());
    if (full) k.insert(k.end(), kTail, kTail + 32);
    return k;
}
Bytes FpKey(bool full) { return Key("Genuine Adobe Flash Player 001", full); }
Bytes FmsKey(bool full) { return Key("Genuine Adobe Flash Media Server 001", full); }

Bytes Hmac(const Bytes &key, const uint8_t *p, size_t n)
{
    Bytes out(32);
    unsigned int len = 32;
    HMAC(EVP_sha256(), key.data(), (int)key.size(), p, n, out.data(), &len);
    return out;
}

// Digest position as ffmpeg computes it: schema 1 -> block at 8,
// schema 0 -> block at 772.
int Offset(const uint8_t *hs, int schema)
{
    int block = schema == 0 ? 772 : 8;
    return (hs[block] + hs[block + 1] + hs[block + 2] + hs[block + 3]) % 728 + block + 4;
}

bool DigestOk(const uint8_t *hs, int schema, const Bytes &key)
{
    int off = Offset(hs, schema);
    Bytes joined(hs, hs + off);
    joined.insert(joined.end(), hs + off + 32, hs + 1536);
    Bytes d = Hmac(key, joined.data(), joined.size());
    return memcmp(d.data(), hs + off, 32) == 0;
}

// S2/C2 signature: HMAC(HMAC(full key, peer digest), first 1504 bytes).
bool AnswerOk(const uint8_t *answer, const uint8_t *peer_digest, const Bytes &full_key)
{
    Bytes k2 = Hmac(full_key, peer_digest, 32);
    Bytes sig = Hmac(k2, answer, 1504);
    return memcmp(sig.data(), answer + 1504, 32) == 0;
}

uint32_t Be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

}  // namespace

TEST(Handshake, ClientComplexC1IsSchema1WithFlashPlayerKey)
{
    Bytes c0c1(RTMP_HS_C0C1_SIZE);
    ASSERT_EQ(rtmp_handshake_client_c0c1(c0c1.data(), 1), RILL_OK);
    EXPECT_EQ(c0c1[0], 3);
    EXPECT_NE(Be32(&c0c1[5]), 0u);  // non-zero version: complex
    EXPECT_TRUE(DigestOk(&c0c1[1], 1, FpKey(false)));
    int off = -1;
    EXPECT_EQ(rtmp_handshake_find_digest(&c0c1[1], 0, &off), 1);
    EXPECT_EQ(off, Offset(&c0c1[1], 1));
}

TEST(Handshake, ClientSchema0C1)
{
    Bytes c0c1(RTMP_HS_C0C1_SIZE);
    ASSERT_EQ(rtmp_handshake_client_c0c1_schema(c0c1.data(), 0), RILL_OK);
    EXPECT_TRUE(DigestOk(&c0c1[1], 0, FpKey(false)));
    int off = -1;
    EXPECT_EQ(rtmp_handshake_find_digest(&c0c1[1], 0, &off), 0);
    EXPECT_EQ(off, Offset(&c0c1[1], 0));
    EXPECT_EQ(rtmp_handshake_client_c0c1_schema(c0c1.data(), 2), RILL_ERR_INVAL);
}

TEST(Handshake, ServerAnswersSimpleC1WithEcho)
{
    Bytes c0c1(RTMP_HS_C0C1_SIZE), s(RTMP_HS_S0S1S2_SIZE);
    ASSERT_EQ(rtmp_handshake_client_c0c1(c0c1.data(), 0), RILL_OK);
    EXPECT_EQ(Be32(&c0c1[5]), 0u);
    int complex = -1;
    ASSERT_EQ(rtmp_handshake_server(c0c1.data(), s.data(), &complex), RILL_OK);
    EXPECT_EQ(complex, 0);
    EXPECT_EQ(s[0], 3);
    EXPECT_EQ(Be32(&s[5]), 0u);  // S1 zero version: simple
    EXPECT_EQ(memcmp(&s[1 + 1536], &c0c1[1], 1536), 0);

    // The client echoes S1.
    Bytes c2(RTMP_HS_SIZE);
    ASSERT_EQ(rtmp_handshake_client_c2(c0c1.data(), s.data(), c2.data()), RILL_OK);
    EXPECT_EQ(memcmp(c2.data(), &s[1], 1536), 0);
}

TEST(Handshake, ServerAnswersAllZeroC1Simple)
{
    Bytes c0c1(RTMP_HS_C0C1_SIZE, 0), s(RTMP_HS_S0S1S2_SIZE);
    c0c1[0] = 3;
    int complex = -1;
    ASSERT_EQ(rtmp_handshake_server(c0c1.data(), s.data(), &complex), RILL_OK);
    EXPECT_EQ(complex, 0);
    EXPECT_EQ(memcmp(&s[1 + 1536], &c0c1[1], 1536), 0);
}

class HandshakeSchema : public ::testing::TestWithParam<int> {};

TEST_P(HandshakeSchema, ServerValidatesComplexC1AndAnswersInSameSchema)
{
    int schema = GetParam();
    Bytes c0c1(RTMP_HS_C0C1_SIZE), s(RTMP_HS_S0S1S2_SIZE);
    ASSERT_EQ(rtmp_handshake_client_c0c1_schema(c0c1.data(), schema), RILL_OK);
    int complex = -1;
    ASSERT_EQ(rtmp_handshake_server(c0c1.data(), s.data(), &complex), RILL_OK);
    EXPECT_EQ(complex, 1);
    EXPECT_EQ(s[0], 3);

    const uint8_t *s1 = &s[1], *s2 = &s[1 + 1536];
    EXPECT_NE(Be32(s1 + 4), 0u);  // ffmpeg checks S1 only when non-zero
    EXPECT_TRUE(DigestOk(s1, schema, FmsKey(false)));
    // S2 signed from the C1 digest with the full FMS key.
    const uint8_t *c1_digest = &c0c1[1] + Offset(&c0c1[1], schema);
    EXPECT_TRUE(AnswerOk(s2, c1_digest, FmsKey(true)));

    // Client side: accepts S1/S2 and builds a complex C2.
    Bytes c2(RTMP_HS_SIZE);
    ASSERT_EQ(rtmp_handshake_client_c2(c0c1.data(), s.data(), c2.data()), RILL_OK);
    EXPECT_NE(memcmp(c2.data(), s1, 1536), 0);
    const uint8_t *s1_digest = s1 + Offset(s1, schema);
    EXPECT_TRUE(AnswerOk(c2.data(), s1_digest, FpKey(true)));
    EXPECT_EQ(rtmp_handshake_server_check_c2(s.data(), c2.data()), 1);

    // An echoed S1 is not a complex C2.
    EXPECT_EQ(rtmp_handshake_server_check_c2(s.data(), s1), 0);
}

INSTANTIATE_TEST_SUITE_P(Schemas, HandshakeSchema, ::testing::Values(0, 1));

TEST(Handshake, RepeatedComplexRoundsAllValidate)
{
    // Random contents move the digest around; many rounds cover offsets.
    for (int i = 0; i < 200; i++) {
        Bytes c0c1(RTMP_HS_C0C1_SIZE), s(RTMP_HS_S0S1S2_SIZE), c2(RTMP_HS_SIZE);
        ASSERT_EQ(rtmp_handshake_client_c0c1_schema(c0c1.data(), i & 1), RILL_OK);
        int complex = 0;
        ASSERT_EQ(rtmp_handshake_server(c0c1.data(), s.data(), &complex), RILL_OK);
        ASSERT_EQ(complex, 1);
        ASSERT_EQ(rtmp_handshake_client_c2(c0c1.data(), s.data(), c2.data()), RILL_OK);
        ASSERT_EQ(rtmp_handshake_server_check_c2(s.data(), c2.data()), 1);
    }
}

TEST(Handshake, CorruptedDigestFallsBackToSimple)
{
    Bytes c0c1(RTMP_HS_C0C1_SIZE), s(RTMP_HS_S0S1S2_SIZE);
    ASSERT_EQ(rtmp_handshake_client_c0c1(c0c1.data(), 1), RILL_OK);
    int off = Offset(&c0c1[1], 1);
    c0c1[1 + off + 5] ^= 0x01;
    int complex = -1;
    ASSERT_EQ(rtmp_handshake_server(c0c1.data(), s.data(), &complex), RILL_OK);
    EXPECT_EQ(complex, 0);
    EXPECT_EQ(Be32(&s[5]), 0u);
    EXPECT_EQ(memcmp(&s[1 + 1536], &c0c1[1], 1536), 0);
}

TEST(Handshake, CorruptedSignedByteFallsBackToSimple)
{
    // A byte outside the digest but covered by it.
    Bytes c0c1(RTMP_HS_C0C1_SIZE), s(RTMP_HS_S0S1S2_SIZE);
    ASSERT_EQ(rtmp_handshake_client_c0c1(c0c1.data(), 1), RILL_OK);
    c0c1[1 + 1535] ^= 0x80;
    int complex = -1;
    ASSERT_EQ(rtmp_handshake_server(c0c1.data(), s.data(), &complex), RILL_OK);
    EXPECT_EQ(complex, 0);
}

TEST(Handshake, BadC0VersionRefused)
{
    Bytes c0c1(RTMP_HS_C0C1_SIZE), s(RTMP_HS_S0S1S2_SIZE);
    ASSERT_EQ(rtmp_handshake_client_c0c1(c0c1.data(), 1), RILL_OK);
    for (int v : {0, 6, 0xff}) {
        c0c1[0] = (uint8_t)v;
        int complex = -1;
        EXPECT_EQ(rtmp_handshake_server(c0c1.data(), s.data(), &complex), RILL_ERR_HANDSHAKE);
    }
}

TEST(Handshake, ClientRefusesBadS0)
{
    Bytes c0c1(RTMP_HS_C0C1_SIZE), s(RTMP_HS_S0S1S2_SIZE), c2(RTMP_HS_SIZE);
    ASSERT_EQ(rtmp_handshake_client_c0c1(c0c1.data(), 1), RILL_OK);
    int complex = 0;
    ASSERT_EQ(rtmp_handshake_server(c0c1.data(), s.data(), &complex), RILL_OK);
    s[0] = 6;  // RTMPE
    EXPECT_EQ(rtmp_handshake_client_c2(c0c1.data(), s.data(), c2.data()), RILL_ERR_HANDSHAKE);
}

TEST(Handshake, ClientRejectsBadS2Signature)
{
    Bytes c0c1(RTMP_HS_C0C1_SIZE), s(RTMP_HS_S0S1S2_SIZE), c2(RTMP_HS_SIZE);
    ASSERT_EQ(rtmp_handshake_client_c0c1(c0c1.data(), 1), RILL_OK);
    int complex = 0;
    ASSERT_EQ(rtmp_handshake_server(c0c1.data(), s.data(), &complex), RILL_OK);
    s[1 + 1536 + 100] ^= 0x01;
    EXPECT_EQ(rtmp_handshake_client_c2(c0c1.data(), s.data(), c2.data()), RILL_ERR_HANDSHAKE);
}

TEST(Handshake, ClientEchoesS1WhenServerDigestInvalid)
{
    Bytes c0c1(RTMP_HS_C0C1_SIZE), s(RTMP_HS_S0S1S2_SIZE), c2(RTMP_HS_SIZE);
    ASSERT_EQ(rtmp_handshake_client_c0c1(c0c1.data(), 1), RILL_OK);
    int complex = 0;
    ASSERT_EQ(rtmp_handshake_server(c0c1.data(), s.data(), &complex), RILL_OK);
    int off = -1;
    ASSERT_GE(rtmp_handshake_find_digest(&s[1], 1, &off), 0);
    s[1 + off] ^= 0xff;
    EXPECT_LT(rtmp_handshake_find_digest(&s[1], 1, &off), 0);
    ASSERT_EQ(rtmp_handshake_client_c2(c0c1.data(), s.data(), c2.data()), RILL_OK);
    EXPECT_EQ(memcmp(c2.data(), &s[1], 1536), 0);
}

TEST(Handshake, ComplexClientAgainstSimpleServerEchoesS1)
{
    // A server that does only the simple form: S1 random, S2 = C1.
    Bytes c0c1(RTMP_HS_C0C1_SIZE), s(RTMP_HS_S0S1S2_SIZE, 0x5a), c2(RTMP_HS_SIZE);
    ASSERT_EQ(rtmp_handshake_client_c0c1(c0c1.data(), 1), RILL_OK);
    s[0] = 3;
    memset(&s[5], 0, 4);
    memcpy(&s[1 + 1536], &c0c1[1], 1536);
    ASSERT_EQ(rtmp_handshake_client_c2(c0c1.data(), s.data(), c2.data()), RILL_OK);
    EXPECT_EQ(memcmp(c2.data(), &s[1], 1536), 0);
}

TEST(Handshake, DigestKeysAreNotInterchangeable)
{
    // A C1 signed with the player key must not validate as an S1 and back.
    Bytes c0c1(RTMP_HS_C0C1_SIZE), s(RTMP_HS_S0S1S2_SIZE);
    ASSERT_EQ(rtmp_handshake_client_c0c1(c0c1.data(), 1), RILL_OK);
    int off;
    EXPECT_LT(rtmp_handshake_find_digest(&c0c1[1], 1, &off), 0);
    int complex = 0;
    ASSERT_EQ(rtmp_handshake_server(c0c1.data(), s.data(), &complex), RILL_OK);
    EXPECT_LT(rtmp_handshake_find_digest(&s[1], 0, &off), 0);
}
