// The client's address behind a trusted HTTP proxy (http_realip.h): the
// trusted ranges, X-Real-IP and X-Forwarded-For (recursive or not), and
// hostile headers. The directives that set it: test_http.cpp (RealipConf).
#include <gtest/gtest.h>

#include <string>
#include <vector>

extern "C" {
#include "http_realip.h"
#include "http_request.h"
}

namespace {

// A parsed request with the given header lines.
struct Req {
    http_msg_parser_t mp;
    explicit Req(const std::vector<std::string> &headers) {
        http_req_parser_init(&mp);
        std::string text = "GET /live/a.flv HTTP/1.1\r\nHost: x\r\n";
        for (auto &h : headers) text += h + "\r\n";
        text += "\r\n";
        size_t used = 0;
        EXPECT_EQ(1, http_msg_parser_feed(&mp, text.data(), text.size(), &used)) << text;
    }
    ~Req() { http_msg_parser_free(&mp); }
    const http_message_t *msg() const { return &mp.msg; }
};

struct Trust {
    realip_conf_t rc;
    std::vector<realip_cidr_t> from;
    Trust(const std::vector<std::string> &ranges, const char *header = REALIP_DEFAULT_HEADER, int recursive = 0) {
        for (auto &r : ranges) {
            realip_cidr_t c;
            EXPECT_LE(0, realip_cidr_parse(r.c_str(), &c)) << r;
            from.push_back(c);
        }
        rc.from = from.data();
        rc.nfrom = (int)from.size();
        snprintf(rc.header, sizeof rc.header, "%s", header);
        rc.recursive = recursive;
    }
};

// The client for a request from sock with these headers: its "ip" or
// "ip:port", "socket" (not used) or "bad" (a trusted proxy's bad header).
std::string client(const Trust &t, const char *sock, const std::vector<std::string> &headers) {
    Req r(headers);
    realip_addr_t a;
    const char *why = nullptr;
    int rc = realip_resolve(&t.rc, r.msg(), sock, &a, &why);
    if (rc == REALIP_SOCKET) return "socket";
    if (rc == REALIP_BAD) {
        EXPECT_NE(nullptr, why);
        return "bad";
    }
    return a.port ? std::string(a.ip) + ":" + std::to_string(a.port) : std::string(a.ip);
}

}  // namespace

TEST(RealipCidr, GoodAndBad) {
    realip_cidr_t c;
    EXPECT_EQ(0, realip_cidr_parse("127.0.0.1", &c));
    EXPECT_EQ(32, c.bits);
    EXPECT_EQ(0, realip_cidr_parse("10.0.0.0/8", &c));
    EXPECT_EQ(8, c.bits);
    EXPECT_EQ(0, realip_cidr_parse("0.0.0.0/0", &c));
    EXPECT_EQ(0, realip_cidr_parse("2001:db8::/32", &c));
    EXPECT_EQ(32, c.bits);
    EXPECT_EQ(0, realip_cidr_parse("::1", &c));
    EXPECT_EQ(128, c.bits);
    EXPECT_EQ(0, realip_cidr_parse("::ffff:10.1.0.0/112", &c));     // mapped: an IPv4 /16
    EXPECT_EQ(16, c.bits);
    EXPECT_EQ(1, realip_cidr_parse("10.1.2.3/8", &c));              // host bits: cleared, said
    EXPECT_EQ(1, realip_cidr_parse("2001:db8::1/32", &c));
    for (const char *bad : { "", "/8", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/8x", "10.0.0",
                             "localhost", "2001:db8::/129", "1.2.3.4:80", "::ffff:1.2.3.4/64", "10.0.0.0/0008" })
        EXPECT_EQ(-1, realip_cidr_parse(bad, &c)) << bad;
}

TEST(RealipCidr, Trusted) {
    Trust t({ "127.0.0.1", "10.0.0.0/8", "192.168.1.128/25", "2001:db8::/32" });
    EXPECT_TRUE(realip_trusted(&t.rc, "127.0.0.1"));
    EXPECT_FALSE(realip_trusted(&t.rc, "127.0.0.2"));
    EXPECT_TRUE(realip_trusted(&t.rc, "10.255.1.2"));
    EXPECT_FALSE(realip_trusted(&t.rc, "11.0.0.0"));
    EXPECT_TRUE(realip_trusted(&t.rc, "192.168.1.200"));
    EXPECT_FALSE(realip_trusted(&t.rc, "192.168.1.127"));
    EXPECT_TRUE(realip_trusted(&t.rc, "2001:db8:1::5"));
    EXPECT_FALSE(realip_trusted(&t.rc, "2001:db9::1"));
    EXPECT_TRUE(realip_trusted(&t.rc, "::ffff:10.0.0.1"));           // mapped counts as IPv4
    EXPECT_FALSE(realip_trusted(&t.rc, "unknown"));
    EXPECT_FALSE(realip_trusted(&t.rc, ""));
    Trust none({});
    EXPECT_FALSE(realip_trusted(&none.rc, "127.0.0.1"));
    EXPECT_FALSE(realip_trusted(nullptr, "127.0.0.1"));
}

TEST(Realip, XRealIpFromTrustedAndUntrusted) {
    Trust t({ "127.0.0.1" });
    EXPECT_EQ("127.0.0.5", client(t, "127.0.0.1", { "X-Real-IP: 127.0.0.5" }));
    EXPECT_EQ("127.0.0.5", client(t, "127.0.0.1", { "x-real-ip:   127.0.0.5  " }));
    EXPECT_EQ("127.0.0.5:4321", client(t, "127.0.0.1", { "X-Real-IP: 127.0.0.5:4321" }));
    EXPECT_EQ("2001:db8::7", client(t, "127.0.0.1", { "X-Real-IP: 2001:db8:0::7" }));
    EXPECT_EQ("2001:db8::7", client(t, "127.0.0.1", { "X-Real-IP: [2001:db8::7]" }));
    EXPECT_EQ("2001:db8::7:80", client(t, "127.0.0.1", { "X-Real-IP: [2001:db8::7]:80" }));
    EXPECT_EQ("1.2.3.4", client(t, "127.0.0.1", { "X-Real-IP: ::ffff:1.2.3.4" }));
    // An untrusted peer's header is never read, however it looks.
    EXPECT_EQ("socket", client(t, "127.0.0.2", { "X-Real-IP: 127.0.0.5" }));
    EXPECT_EQ("socket", client(t, "127.0.0.2", { "X-Real-IP: garbage" }));
    // A trusted peer without the header: the socket (a health check, say).
    EXPECT_EQ("socket", client(t, "127.0.0.1", {}));
    EXPECT_EQ("socket", client(t, "127.0.0.1", { "X-Forwarded-For: 127.0.0.5" }));
    // Nothing trusted (the default): nothing read.
    Trust none({});
    EXPECT_EQ("socket", client(none, "127.0.0.1", { "X-Real-IP: 127.0.0.5" }));
}

TEST(Realip, BadHeadersFromATrustedPeerKeepTheSocket) {
    Trust t({ "127.0.0.1" });
    const char *bad[] = { "X-Real-IP:", "X-Real-IP: garbage", "X-Real-IP: 1.2.3", "X-Real-IP: 1.2.3.4.5",
                          "X-Real-IP: 1.2.3.4:0", "X-Real-IP: 1.2.3.4:65536", "X-Real-IP: 1.2.3.4:80x",
                          "X-Real-IP: 1.2.3.4, 5.6.7.8", "X-Real-IP: [1.2.3.4]", "X-Real-IP: [::1",
                          "X-Real-IP: [::1]x", "X-Real-IP: 1.2.3.4 5", "X-Real-IP: -1.2.3.4", "X-Real-IP: 999.1.1.1" };
    for (const char *h : bad) EXPECT_EQ("bad", client(t, "127.0.0.1", { h })) << h;
    // over-long, and repeated (which one would be the proxy's?)
    EXPECT_EQ("bad", client(t, "127.0.0.1", { "X-Real-IP: " + std::string(5000, '1') }));
    EXPECT_EQ("bad", client(t, "127.0.0.1", { "X-Real-IP: 127.0.0." + std::string(200, '0') + "5" }));
    EXPECT_EQ("bad", client(t, "127.0.0.1", { "X-Real-IP: 1.2.3.4", "X-Real-IP: 5.6.7.8" }));
}

TEST(Realip, XForwardedForTakesTheRightmost) {
    Trust t({ "127.0.0.1", "10.0.0.0/8" }, "X-Forwarded-For");
    EXPECT_EQ("127.0.0.5", client(t, "127.0.0.1", { "X-Forwarded-For: 127.0.0.5" }));
    // A client's own claims sit on the left: without recursion the last hop counts.
    EXPECT_EQ("127.0.0.5", client(t, "127.0.0.1", { "X-Forwarded-For: 6.6.6.6, 127.0.0.5" }));
    EXPECT_EQ("10.0.0.9", client(t, "127.0.0.1", { "X-Forwarded-For: 6.6.6.6, 127.0.0.5, 10.0.0.9" }));
    // Several lines are one list, in order.
    EXPECT_EQ("127.0.0.5", client(t, "127.0.0.1", { "X-Forwarded-For: 6.6.6.6", "X-Forwarded-For: 127.0.0.5" }));
    EXPECT_EQ("127.0.0.5", client(t, "127.0.0.1", { "X-Forwarded-For: 127.0.0.5 , ,", "X-Forwarded-For: ," }));
    // The padding a client puts on the left does not hide it.
    EXPECT_EQ("127.0.0.5",
              client(t, "127.0.0.1", { "X-Forwarded-For: " + std::string(8000, 'x') + ", 127.0.0.5" }));
    EXPECT_EQ("bad", client(t, "127.0.0.1", { "X-Forwarded-For: 127.0.0.5, junk" }));
    EXPECT_EQ("bad", client(t, "127.0.0.1", { "X-Forwarded-For: , ," }));
    EXPECT_EQ("bad", client(t, "127.0.0.1", { "X-Forwarded-For: " + std::string(100, '9') }));
    EXPECT_EQ("socket", client(t, "127.0.0.2", { "X-Forwarded-For: 127.0.0.5" }));
    EXPECT_EQ("socket", client(t, "127.0.0.1", { "X-Real-IP: 127.0.0.5" }));
}

TEST(Realip, XForwardedForRecursive) {
    Trust t({ "127.0.0.1", "10.0.0.0/8", "2001:db8::/32" }, "X-Forwarded-For", 1);
    // The last address that is not trusted.
    EXPECT_EQ("127.0.0.5", client(t, "127.0.0.1", { "X-Forwarded-For: 6.6.6.6, 127.0.0.5, 10.0.0.9" }));
    EXPECT_EQ("127.0.0.5", client(t, "127.0.0.1", { "X-Forwarded-For: 127.0.0.5, 2001:db8::1, 10.0.0.9" }));
    EXPECT_EQ("127.0.0.5", client(t, "127.0.0.1", { "X-Forwarded-For: 127.0.0.5", "X-Forwarded-For: 10.1.1.1" }));
    // All trusted: the leftmost.
    EXPECT_EQ("10.0.0.1", client(t, "127.0.0.1", { "X-Forwarded-For: 10.0.0.1, 10.0.0.2" }));
    // A bad entry met while skipping ends the walk at the last good one.
    EXPECT_EQ("10.0.0.2", client(t, "127.0.0.1", { "X-Forwarded-For: 6.6.6.6, junk, 10.0.0.2" }));
    // The walk is bounded: 40 trusted hops stop at the 32nd from the right.
    std::string many = "X-Forwarded-For: 6.6.6.6";
    for (int i = 40; i >= 1; i--) many += ", 10.0.0." + std::to_string(i);
    EXPECT_EQ("10.0.0.32", client(t, "127.0.0.1", { many }));
    // Without recursion the same header gives the last hop.
    Trust flat({ "127.0.0.1", "10.0.0.0/8" }, "X-Forwarded-For", 0);
    EXPECT_EQ("10.0.0.9", client(flat, "127.0.0.1", { "X-Forwarded-For: 6.6.6.6, 127.0.0.5, 10.0.0.9" }));
}

TEST(Realip, OtherHeaderNames) {
    Trust t({ "127.0.0.1" }, "CF-Connecting-IP");
    EXPECT_EQ("127.0.0.5", client(t, "127.0.0.1", { "CF-Connecting-IP: 127.0.0.5", "X-Real-IP: 9.9.9.9" }));
    EXPECT_EQ("socket", client(t, "127.0.0.1", { "X-Real-IP: 9.9.9.9" }));
}
