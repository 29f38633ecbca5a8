// PROXY protocol v1 and v2 headers.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "proxy_protocol.h"
#include "rill_error.h"

static int parse(const std::string &s, proxy_info_t *pi)
{
    return proxy_parse(reinterpret_cast<const uint8_t *>(s.data()), s.size(), pi);
}

TEST(ProxyV1, Tcp4)
{
    proxy_info_t pi;
    std::string h = "PROXY TCP4 192.0.2.7 127.0.0.21 51234 1935\r\n";
    ASSERT_EQ(parse(h + "\x03rest", &pi), (int)h.size());
    EXPECT_EQ(pi.version, 1);
    EXPECT_STREQ(pi.src_ip, "192.0.2.7");
    EXPECT_EQ(pi.src_port, 51234);
    EXPECT_STREQ(pi.dst_ip, "127.0.0.21");
    EXPECT_EQ(pi.dst_port, 1935);
    EXPECT_EQ(pi.local, 0);
}

TEST(ProxyV1, UnknownAndTcp6)
{
    proxy_info_t pi;
    ASSERT_EQ(parse("PROXY UNKNOWN\r\n", &pi), 15);
    EXPECT_EQ(pi.local, 1);
    ASSERT_GT(parse("PROXY TCP6 ::1 ::1 1 2\r\n", &pi), 0);
    EXPECT_STREQ(pi.src_ip, "::1");
}

TEST(ProxyV1, NeedsMoreAtEveryPrefix)
{
    std::string h = "PROXY TCP4 10.1.2.3 10.1.2.4 1000 2000\r\n";
    proxy_info_t pi;
    for (size_t i = 0; i < h.size(); i++) EXPECT_EQ(parse(h.substr(0, i), &pi), 0) << "prefix " << i;
    EXPECT_EQ(parse(h, &pi), (int)h.size());
}

TEST(ProxyV1, RefusesMalformed)
{
    proxy_info_t pi;
    EXPECT_EQ(parse("GET / HTTP/1.1\r\n", &pi), RILL_ERR_INVAL);
    EXPECT_EQ(parse("\x03\x00\x00\x00", &pi), RILL_ERR_INVAL);       // an RTMP C0: no header
    EXPECT_EQ(parse("PROXY TCP4 1.2.3.4 5.6.7.8 1 99999\r\n", &pi), RILL_ERR_INVAL);
    EXPECT_EQ(parse("PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n", &pi), RILL_ERR_INVAL);
    EXPECT_EQ(parse("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n", &pi), RILL_ERR_INVAL);
    EXPECT_EQ(parse("PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n", &pi), RILL_ERR_INVAL);
    EXPECT_EQ(parse("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX", &pi), RILL_ERR_INVAL);
    EXPECT_EQ(parse("PROXY " + std::string(200, 'A'), &pi), RILL_ERR_INVAL);   // no CRLF in 107 bytes
}

static std::vector<uint8_t> v2(uint8_t cmd, uint8_t fam, const std::vector<uint8_t> &addr)
{
    std::vector<uint8_t> b = { 0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A };
    b.push_back((uint8_t)(0x20 | cmd));
    b.push_back(fam);
    b.push_back((uint8_t)(addr.size() >> 8));
    b.push_back((uint8_t)addr.size());
    b.insert(b.end(), addr.begin(), addr.end());
    return b;
}

TEST(ProxyV2, Tcp4AndPrefixes)
{
    auto b = v2(1, 0x11, { 127, 0, 0, 9, 127, 0, 0, 21, 0xC8, 0x00, 0x07, 0x8F });
    proxy_info_t pi;
    for (size_t i = 0; i < b.size(); i++) EXPECT_EQ(proxy_parse(b.data(), i, &pi), 0) << "prefix " << i;
    ASSERT_EQ(proxy_parse(b.data(), b.size(), &pi), (int)b.size());
    EXPECT_EQ(pi.version, 2);
    EXPECT_STREQ(pi.src_ip, "127.0.0.9");
    EXPECT_EQ(pi.src_port, 0xC800);
    EXPECT_EQ(pi.dst_port, 1935);
}

TEST(ProxyV2, LocalTlvsAndBadInput)
{
    proxy_info_t pi;
    auto local = v2(0, 0x00, {});
    ASSERT_EQ(proxy_parse(local.data(), local.size(), &pi), 16);
    EXPECT_EQ(pi.local, 1);
    auto tlv = v2(1, 0x11, { 1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 0, 2, 0x04, 0x00, 0x01, 0x00 });
    EXPECT_EQ(proxy_parse(tlv.data(), tlv.size(), &pi), (int)tlv.size());
    auto shortaddr = v2(1, 0x11, { 1, 2, 3 });
    EXPECT_EQ(proxy_parse(shortaddr.data(), shortaddr.size(), &pi), RILL_ERR_INVAL);
    auto badcmd = v2(5, 0x11, std::vector<uint8_t>(12, 0));
    EXPECT_EQ(proxy_parse(badcmd.data(), badcmd.size(), &pi), RILL_ERR_INVAL);
    auto badfam = v2(1, 0x31, std::vector<uint8_t>(216, 0));   // AF_UNIX: not ours
    EXPECT_EQ(proxy_parse(badfam.data(), badfam.size(), &pi), RILL_ERR_INVAL);
    auto huge = v2(1, 0x11, std::vector<uint8_t>(12, 0));
    huge[14] = 0xFF;                                           // announces 65 KB
    EXPECT_EQ(proxy_parse(huge.data(), huge.size(), &pi), RILL_ERR_INVAL);
    uint8_t badver[16] = { 0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A, 0x11, 0x11, 0, 0 };
    EXPECT_EQ(proxy_parse(badver, sizeof badver, &pi), RILL_ERR_INVAL);
}
