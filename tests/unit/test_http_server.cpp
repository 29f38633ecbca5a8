// The HTTP server and client on state-threads, in one process: the test body
// is the client (main coroutine), the server runs in its own coroutines on
// 127.0.0.1 and an ephemeral port.
#include <gtest/gtest.h>

#include <errno.h>
#include <poll.h>
#include <st.h>
#include <stdlib.h>
#include <string.h>

#include <string>
#include <vector>

extern "C" {
#include "http_dial.h"
#include "http_server.h"
#include "rill_error.h"
#include "net.h"
}

namespace {

const st_utime_t kSec = 1000000;

struct Srv {
    http_server_t *s = nullptr;
    std::string base;
    explicit Srv(int crossdomain = 0) {
        static bool inited = false;
        if (!inited) {
            st_set_eventsys(ST_EVENTSYS_POLL);
            EXPECT_EQ(0, st_init());
            inited = true;
        }
        http_server_opts_t o = {};
        o.name = "test";
        o.ip = "127.0.0.1";
        o.port = 0;
        o.crossdomain = crossdomain;
        o.header_timeout_ms = 1000;
        o.keepalive_timeout_ms = 1000;
        EXPECT_EQ(0, http_server_new(&s, &o));
    }
    void start() {
        ASSERT_EQ(0, http_server_start(s));
        base = "http://127.0.0.1:" + std::to_string(http_server_port(s));
    }
    ~Srv() { EXPECT_EQ(0, http_server_destroy(s)); }
};

struct Resp {
    int rc = 0, status = 0;
    std::string body;
};

Resp get(const std::string &url, st_utime_t timeout = 2 * kSec) {
    Resp r;
    char *b = nullptr;
    size_t n = 0;
    r.rc = http_dial_get(url.c_str(), timeout, &r.status, &b, &n);
    if (b) r.body.assign(b, n);
    free(b);
    return r;
}

int h_hello(http_conn_t *c, const http_request_t *req, void *ctx) {
    const char *txt = (const char *)ctx;
    return http_send(c, 200, "text/plain", txt, strlen(txt), nullptr);
}

int h_echo(http_conn_t *c, const http_request_t *req, void *ctx) {
    const char *ct = http_header_get(req, "content-type");
    std::string out = std::string(ct ? ct : "-") + "|" + std::string(req->body ? req->body : "", req->body_len);
    return http_send(c, 201, "text/plain", out.data(), out.size(), nullptr);
}

int h_chunked(http_conn_t *c, const http_request_t *req, void *ctx) {
    int rc = http_send_headers(c, 200, "text/plain", HTTP_LENGTH_CHUNKED, nullptr);
    const char *parts[] = { "one ", "two ", "three" };
    for (const char *p : parts)
        if (!rc) rc = http_write(c, p, strlen(p));
    struct iovec iov[2] = { { (void *)" and", 4 }, { (void *)" four", 5 } };
    if (!rc) rc = http_writev(c, iov, 2);
    return rc ? rc : http_end(c);
}

int h_until_close(http_conn_t *c, const http_request_t *req, void *ctx) {
    int rc = http_send_headers(c, 200, "video/x-flv", HTTP_LENGTH_UNTIL_CLOSE, nullptr);
    for (int i = 0; i < 3 && !rc; i++) rc = http_write(c, "FLV", 3);
    return rc;
}

int h_slow(http_conn_t *c, const http_request_t *req, void *ctx) {
    // Sleeps far longer than the client waits; shutdown interrupts it.
    if (st_usleep(30 * kSec) != 0 && errno == EINTR) return RILL_ERR_INTERRUPTED;
    return http_send(c, 200, nullptr, "late", 4, nullptr);
}

int h_big(http_conn_t *c, const http_request_t *req, void *ctx) {
    std::string b((1 << 20) + 1, 'x');
    return http_send(c, 200, nullptr, b.data(), b.size(), nullptr);
}

int h_error(http_conn_t *c, const http_request_t *req, void *ctx) { return (int)(intptr_t)ctx; }

int h_nothing(http_conn_t *c, const http_request_t *req, void *ctx) { return 0; }

// Declines everything but *.x, like a stream route in front of files.
int h_only_x(http_conn_t *c, const http_request_t *req, void *ctx) {
    size_t n = strlen(req->path);
    if (n < 2 || strcmp(req->path + n - 2, ".x") != 0) return HTTP_DECLINED;
    return http_send(c, 200, nullptr, "x", 1, nullptr);
}

// Takes the socket over like an HTTP-FLV player: headers, raw writes, and a
// poll that notices the client closing.
int h_takeover(http_conn_t *c, const http_request_t *req, void *ctx) {
    int rc = http_send_headers(c, 200, "video/x-flv", HTTP_LENGTH_UNTIL_CLOSE, nullptr);
    if (rc) return rc;
    st_netfd_t fd = http_conn_takeover(c);
    if (st_write(fd, "RAW", 3, kSec) != 3) return RILL_ERR_IO;
    int *closed = (int *)ctx;
    if (st_netfd_poll(fd, POLLIN, 5 * kSec) == 0) {
        char b[16];
        if (st_read(fd, b, sizeof b, kSec) == 0) *closed = 1;
    }
    return 0;
}

}  // namespace

TEST(HttpServerClient, GetPostAndRouting) {
    Srv srv;
    ASSERT_EQ(0, http_server_route(srv.s, "GET /hello", h_hello, (void *)"hi"));
    ASSERT_EQ(0, http_server_route(srv.s, "POST /echo", h_echo, nullptr));
    ASSERT_EQ(0, http_server_route(srv.s, "/", h_only_x, nullptr));
    ASSERT_EQ(0, http_server_route(srv.s, "/", h_hello, (void *)"root"));
    ASSERT_EQ(0, http_server_route(srv.s, "/a/", h_hello, (void *)"prefix a"));
    ASSERT_EQ(0, http_server_route(srv.s, "/a/b", h_hello, (void *)"exact a/b"));
    ASSERT_EQ(0, http_server_route(srv.s, "/a/b/", h_hello, (void *)"prefix a/b/"));
    EXPECT_EQ(RILL_ERR_INVAL, http_server_route(srv.s, "FETCH /x", h_hello, nullptr));
    EXPECT_EQ(RILL_ERR_INVAL, http_server_route(srv.s, "nope", h_hello, nullptr));
    srv.start();

    Resp r = get(srv.base + "/hello");
    EXPECT_EQ(0, r.rc);
    EXPECT_EQ(200, r.status);
    EXPECT_EQ("hi", r.body);
    EXPECT_EQ("root", get(srv.base + "/other").body);
    EXPECT_EQ("x", get(srv.base + "/stream.x").body);        // the first "/" route took it
    EXPECT_EQ("prefix a", get(srv.base + "/a/zzz").body);
    EXPECT_EQ("exact a/b", get(srv.base + "/a/b").body);
    EXPECT_EQ("prefix a/b/", get(srv.base + "/a/b/c").body);
    EXPECT_EQ("root", get(srv.base + "/a").body);             // "/a/" does not match "/a"

    char *b = nullptr;
    size_t n = 0;
    int status = 0;
    ASSERT_EQ(0, http_dial_post_json((srv.base + "/echo").c_str(), "{\"k\":1}", 2 * kSec, &status, &b, &n));
    EXPECT_EQ(201, status);
    EXPECT_EQ("application/json|{\"k\":1}", std::string(b, n));
    free(b);

    // /echo is POST only, but the "/" routes take any method.
    EXPECT_EQ("root", get(srv.base + "/echo").body);
    // HEAD goes to GET routes, without a body.
    b = nullptr;
    ASSERT_EQ(0, http_dial_request("HEAD", (srv.base + "/hello").c_str(), nullptr, nullptr, 0, 2 * kSec, &status,
                                     &b, &n));
    EXPECT_EQ(200, status);
    EXPECT_EQ(0u, n);
    free(b);
}

TEST(HttpServerClient, BodyFramings) {
    Srv srv;
    ASSERT_EQ(0, http_server_route(srv.s, "/chunked", h_chunked, nullptr));
    ASSERT_EQ(0, http_server_route(srv.s, "/close", h_until_close, nullptr));
    srv.start();
    Resp r = get(srv.base + "/chunked");
    EXPECT_EQ(0, r.rc);
    EXPECT_EQ("one two three and four", r.body);
    r = get(srv.base + "/close");
    EXPECT_EQ(0, r.rc);
    EXPECT_EQ("FLVFLVFLV", r.body);
}

TEST(HttpServerClient, HandlerErrorsBecomeStatuses) {
    Srv srv;
    ASSERT_EQ(0, http_server_route(srv.s, "/nf", h_error, (void *)(intptr_t)RILL_ERR_NOT_FOUND));
    ASSERT_EQ(0, http_server_route(srv.s, "/denied", h_error, (void *)(intptr_t)RILL_ERR_DENIED));
    ASSERT_EQ(0, http_server_route(srv.s, "/bad", h_error, (void *)(intptr_t)RILL_ERR_INVAL));
    ASSERT_EQ(0, http_server_route(srv.s, "/nomem", h_error, (void *)(intptr_t)RILL_ERR_NOMEM));
    ASSERT_EQ(0, http_server_route(srv.s, "/nothing", h_nothing, nullptr));
    ASSERT_EQ(0, http_server_route(srv.s, "POST /post-only", h_echo, nullptr));
    srv.start();
    // Only a POST route matches: 405 (the client cannot see Allow, the integration test does).
    EXPECT_EQ(405, get(srv.base + "/post-only").status);
    EXPECT_EQ(404, get(srv.base + "/nf").status);
    EXPECT_EQ(403, get(srv.base + "/denied").status);
    EXPECT_EQ(400, get(srv.base + "/bad").status);
    EXPECT_EQ(500, get(srv.base + "/nomem").status);
    EXPECT_EQ(500, get(srv.base + "/nothing").status);
    EXPECT_EQ(404, get(srv.base + "/unrouted").status);
}

TEST(HttpServerClient, CorsPreflight) {
    Srv srv(1);
    ASSERT_EQ(0, http_server_route(srv.s, "GET /hello", h_hello, (void *)"hi"));
    srv.start();
    int status = 0;
    ASSERT_EQ(0, http_dial_request("OPTIONS", (srv.base + "/hello").c_str(), nullptr, nullptr, 0, 2 * kSec, &status,
                                     nullptr, nullptr));
    EXPECT_EQ(200, status);
}

TEST(HttpServerClient, ClientTimeoutAndShutdownInterruptsHandlers) {
    Srv srv;
    ASSERT_EQ(0, http_server_route(srv.s, "/slow", h_slow, nullptr));
    srv.start();
    st_utime_t t0 = st_utime();
    Resp r = get(srv.base + "/slow", 300 * 1000);
    st_utime_t dt = st_utime() - t0;
    EXPECT_EQ(RILL_ERR_TIMEOUT, r.rc);
    EXPECT_GE(dt, 250 * 1000);
    EXPECT_LT(dt, 1 * kSec);
    // A second client still blocked in /slow, plus an idle connection.
    st_netfd_t idle = net_connect_tcp("127.0.0.1", http_server_port(srv.s), kSec);
    ASSERT_NE(nullptr, idle);
    st_netfd_t slow = net_connect_tcp("127.0.0.1", http_server_port(srv.s), kSec);
    ASSERT_NE(nullptr, slow);
    const char *req = "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n";
    ASSERT_EQ((ssize_t)strlen(req), st_write(slow, req, strlen(req), kSec));
    st_usleep(100 * 1000);
    EXPECT_GE(http_server_nconns(srv.s), 2);
    t0 = st_utime();
    EXPECT_EQ(0, http_server_destroy(srv.s));   // interrupts the sleeping handler and the idle reader
    srv.s = nullptr;
    EXPECT_LT(st_utime() - t0, 1 * kSec);
    st_netfd_close(idle);
    st_netfd_close(slow);
}

TEST(HttpServerClient, TakeoverSeesTheClientClose) {
    Srv srv;
    int closed = 0;
    ASSERT_EQ(0, http_server_route(srv.s, "/live.flv", h_takeover, &closed));
    srv.start();
    st_netfd_t fd = net_connect_tcp("127.0.0.1", http_server_port(srv.s), kSec);
    ASSERT_NE(nullptr, fd);
    const char *req = "GET /live.flv HTTP/1.1\r\nHost: x\r\n\r\n";
    ASSERT_EQ((ssize_t)strlen(req), st_write(fd, req, strlen(req), kSec));
    std::string got;
    char buf[4096];
    while (got.find("RAW") == std::string::npos) {
        ssize_t r = st_read(fd, buf, sizeof buf, 2 * kSec);
        ASSERT_GT(r, 0);
        got.append(buf, (size_t)r);
    }
    EXPECT_NE(std::string::npos, got.find("Connection: close"));
    EXPECT_EQ(std::string::npos, got.find("Content-Length"));
    st_netfd_close(fd);
    for (int i = 0; i < 100 && !closed; i++) st_usleep(10 * 1000);
    EXPECT_EQ(1, closed);
    for (int i = 0; i < 100 && http_server_nconns(srv.s) > 0; i++) st_usleep(10 * 1000);
    EXPECT_EQ(0, http_server_nconns(srv.s));
}

TEST(HttpServerClient, ClientRefusals) {
    Srv srv;
    ASSERT_EQ(0, http_server_route(srv.s, "/big", h_big, nullptr));
    srv.start();
    EXPECT_EQ(RILL_ERR_HTTP, get(srv.base + "/big").rc);                 // over 1 MiB of body
    EXPECT_EQ(RILL_ERR_URL, get("https://127.0.0.1:1/x").rc);
    EXPECT_EQ(RILL_ERR_URL, get("http://exa..mple.com/x").rc);        // not a host name
    // (names are looked up now: test_resolve.cpp, against a DNS server of its own)
    // Nothing listens on the server's port once it is gone.
    int port = http_server_port(srv.s);
    EXPECT_EQ(0, http_server_destroy(srv.s));
    srv.s = nullptr;
    Resp r = get("http://127.0.0.1:" + std::to_string(port) + "/x");
    EXPECT_TRUE(r.rc == RILL_ERR_IO || r.rc == RILL_ERR_EOF) << rill_strerror(r.rc);
}

// Reads from fd until the server closes it; returns what arrived.
static std::string read_to_close(st_netfd_t fd, st_utime_t timeout) {
    std::string got;
    char buf[4096];
    for (;;) {
        ssize_t r = st_read(fd, buf, sizeof buf, timeout);
        if (r <= 0) break;
        got.append(buf, (size_t)r);
    }
    return got;
}

TEST(HttpServerClient, KeepAliveIdleTimeoutClosesTheConnection) {
    Srv srv;  // keep-alive timeout 1 s
    ASSERT_EQ(0, http_server_route(srv.s, "GET /hello", h_hello, (void *)"hi"));
    srv.start();
    st_netfd_t fd = net_connect_tcp("127.0.0.1", http_server_port(srv.s), kSec);
    ASSERT_NE(nullptr, fd);
    const char *req = "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";
    ASSERT_EQ((ssize_t)strlen(req), st_write(fd, req, strlen(req), kSec));
    st_utime_t t0 = st_utime();
    std::string got = read_to_close(fd, 5 * kSec);
    st_utime_t dt = st_utime() - t0;
    EXPECT_NE(std::string::npos, got.find("Connection: keep-alive"));
    EXPECT_NE(std::string::npos, got.find("\r\n\r\nhi"));
    EXPECT_GE(dt, 900 * 1000);
    EXPECT_LT(dt, 3 * kSec);
    st_netfd_close(fd);
}

TEST(HttpServerClient, ExpectContinueBeforeTheBody) {
    Srv srv;
    ASSERT_EQ(0, http_server_route(srv.s, "POST /echo", h_echo, nullptr));
    srv.start();
    st_netfd_t fd = net_connect_tcp("127.0.0.1", http_server_port(srv.s), kSec);
    ASSERT_NE(nullptr, fd);
    const char *head = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: a/b\r\nContent-Length: 4\r\n"
                       "Expect: 100-continue\r\nConnection: close\r\n\r\n";
    ASSERT_EQ((ssize_t)strlen(head), st_write(fd, head, strlen(head), kSec));
    char buf[256];
    ssize_t r = st_read(fd, buf, sizeof buf, 2 * kSec);
    ASSERT_GT(r, 0);
    EXPECT_EQ("HTTP/1.1 100 Continue\r\n\r\n", std::string(buf, (size_t)r));
    ASSERT_EQ(4, st_write(fd, "body", 4, kSec));
    std::string got = read_to_close(fd, 2 * kSec);
    EXPECT_EQ(0u, got.find("HTTP/1.1 201 Created"));
    EXPECT_NE(std::string::npos, got.find("a/b|body"));
    st_netfd_close(fd);
}

// The client's address as a handler sees it: "ip|port|peer".
int h_client(http_conn_t *c, const http_request_t *req, void *ctx) {
    std::string out = std::string(http_conn_client_ip(c)) + "|" + std::to_string(http_conn_client_port(c)) + "|" +
                      http_conn_peer(c) + "\n";
    return http_send(c, 200, "text/plain", out.data(), out.size(), nullptr);
}

TEST(HttpServerClient, ClientAddressFromATrustedProxyPerRequest) {
    Srv srv;
    realip_cidr_t from;
    ASSERT_EQ(0, realip_cidr_parse("127.0.0.1", &from));
    realip_conf_t trust = { &from, 1, "X-Real-IP", 0 };
    realip_conf_t nobody = { nullptr, 0, "X-Real-IP", 0 };
    http_server_set_realip(srv.s, &trust);
    ASSERT_EQ(0, http_server_route(srv.s, "GET /who", h_client, nullptr));
    srv.start();
    // One kept-alive connection, pipelined: the header's address, then the
    // socket's when a request has none, then a bad one (the socket's, logged once).
    auto ask = [&](const std::string &reqs) {
        st_netfd_t fd = net_connect_tcp("127.0.0.1", http_server_port(srv.s), kSec);
        EXPECT_NE(nullptr, fd);
        if (!fd) return std::string();
        EXPECT_EQ((ssize_t)reqs.size(), st_write(fd, reqs.data(), reqs.size(), kSec));
        std::string got = read_to_close(fd, 2 * kSec);
        st_netfd_close(fd);
        std::string bodies;
        for (size_t p = got.find("\r\n\r\n"); p != std::string::npos; p = got.find("\r\n\r\n", p + 4)) {
            size_t e = got.find('\n', p + 4);
            if (e != std::string::npos) bodies += got.substr(p + 4, e - p - 4) + ";";
        }
        return bodies;
    };
    std::string got = ask("GET /who HTTP/1.1\r\nHost: x\r\nX-Real-IP: 127.0.0.5:77\r\n\r\n"
                          "GET /who HTTP/1.1\r\nHost: x\r\n\r\n"
                          "GET /who HTTP/1.1\r\nHost: x\r\nX-Real-IP: [2001:db8::5]\r\n\r\n"
                          "GET /who HTTP/1.1\r\nHost: x\r\nX-Real-IP: nonsense\r\nConnection: close\r\n\r\n");
    std::vector<std::string> parts;
    for (size_t s = 0, e; (e = got.find(';', s)) != std::string::npos; s = e + 1) parts.push_back(got.substr(s, e - s));
    ASSERT_EQ(4u, parts.size()) << got;
    EXPECT_EQ(0u, parts[0].find("127.0.0.5|77|127.0.0.5:77 via 127.0.0.1:")) << parts[0];
    EXPECT_EQ(0u, parts[1].find("127.0.0.1|")) << parts[1];
    EXPECT_EQ(std::string::npos, parts[1].find("via")) << parts[1];
    EXPECT_EQ(0u, parts[2].find("2001:db8::5|0|2001:db8::5 via 127.0.0.1:")) << parts[2];
    EXPECT_EQ(0u, parts[3].find("127.0.0.1|")) << parts[3];
    // Nobody trusted (a reload): the same header is ignored from the next request.
    http_server_set_realip(srv.s, &nobody);
    got = ask("GET /who HTTP/1.1\r\nHost: x\r\nX-Real-IP: 127.0.0.5\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(0u, got.find("127.0.0.1|")) << got;
}
