// HTTP: request/response parsing (every split, limits), percent-decoding and
// path safety, query parameters, MIME types, client URLs, basic auth, and
// the http_server/http_api config blocks (with set_real_ip_from and friends).
#include <gtest/gtest.h>

#include <string>
#include <vector>

extern "C" {
#include "http_auth.h"
#include "http_mime.h"
#include "http_request.h"
#include "http_url.h"
#include "config.h"
#include "rill_error.h"
}

namespace {

// Feeds text in pieces of the given sizes (the last one repeats), like reads
// from a socket. Returns the feed result of the last call; *taken counts the
// bytes the parser took.
int feed_split(http_msg_parser_t *mp, const std::string &text, size_t piece, size_t *taken) {
    size_t off = 0;
    int rc = 0;
    *taken = 0;
    while (off < text.size()) {
        size_t n = std::min(piece, text.size() - off);
        size_t used = 0;
        rc = http_msg_parser_feed(mp, text.data() + off, n, &used);
        *taken += used;
        if (rc != 0) return rc;
        EXPECT_EQ(n, used);
        off += n;
    }
    return rc;
}

// Feeds text split at one point (two pieces).
int feed_at(http_msg_parser_t *mp, const std::string &text, size_t at, size_t *taken) {
    size_t used = 0;
    *taken = 0;
    int rc = http_msg_parser_feed(mp, text.data(), at, &used);
    *taken += used;
    if (rc != 0) return rc;
    rc = http_msg_parser_feed(mp, text.data() + at, text.size() - at, &used);
    *taken += used;
    return rc;
}

// The status a request is refused with (0 when it parses whole).
int refused_status(const std::string &text) {
    http_msg_parser_t mp;
    http_req_parser_init(&mp);
    size_t taken;
    int rc = feed_split(&mp, text, 4096, &taken);
    int st = rc == RILL_ERR_HTTP ? mp.status : rc == 1 ? 0 : -1;
    http_msg_parser_free(&mp);
    return st;
}

const char *kGet =
    "GET /live/a%20b.flv?token=x%2By&empty=&plus=a+b HTTP/1.1\r\n"
    "Host: 127.0.0.1:8080\r\n"
    "User-Agent: test\r\n"
    "X-Split-Name: one\r\n"
    "x-split-name: two\r\n"
    "Empty:\r\n"
    "\r\n";

void check_get(const http_request_t *r) {
    EXPECT_EQ(HTTP_GET, r->method);
    EXPECT_STREQ("GET", http_method_name(r->method));
    EXPECT_STREQ("/live/a%20b.flv?token=x%2By&empty=&plus=a+b", r->url);
    EXPECT_STREQ("/live/a%20b.flv", r->raw_path);
    EXPECT_STREQ("/live/a b.flv", r->path);
    EXPECT_STREQ("token=x%2By&empty=&plus=a+b", r->query);
    EXPECT_EQ(5, r->nheaders);
    EXPECT_STREQ("127.0.0.1:8080", http_header_get(r, "host"));
    EXPECT_STREQ("127.0.0.1:8080", http_header_get(r, "HOST"));
    EXPECT_STREQ("one", http_header_get(r, "X-SPLIT-NAME"));  // the first of repeated ones
    EXPECT_STREQ("", http_header_get(r, "empty"));
    EXPECT_EQ(nullptr, http_header_get(r, "missing"));
    EXPECT_EQ(1, r->keep_alive);
    EXPECT_EQ(1, r->http_major);
    EXPECT_EQ(1, r->http_minor);
    EXPECT_EQ(nullptr, r->body);
    EXPECT_EQ(0u, r->body_len);
}

}  // namespace

// ---- request parsing -------------------------------------------------------

TEST(HttpRequest, EverySplitGivesTheSameRequest) {
    std::string req = kGet;
    for (size_t at = 0; at <= req.size(); at++) {
        http_msg_parser_t mp;
        http_req_parser_init(&mp);
        size_t taken;
        ASSERT_EQ(1, feed_at(&mp, req, at, &taken)) << "split at " << at;
        EXPECT_EQ(req.size(), taken);
        check_get(&mp.msg);
        http_msg_parser_free(&mp);
    }
}

TEST(HttpRequest, ByteByByte) {
    http_msg_parser_t mp;
    http_req_parser_init(&mp);
    size_t taken;
    ASSERT_EQ(1, feed_split(&mp, kGet, 1, &taken));
    check_get(&mp.msg);
    http_msg_parser_free(&mp);
}

TEST(HttpRequest, BodyWithContentLengthAndChunked) {
    std::string post = "POST /api/v1/x HTTP/1.1\r\nContent-Length: 11\r\nContent-Type: application/json\r\n\r\n"
                       "{\"a\":12345}";
    std::string chunked = "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
    for (size_t piece : {1, 2, 3, 7, 4096}) {
        http_msg_parser_t mp;
        http_req_parser_init(&mp);
        size_t taken;
        ASSERT_EQ(1, feed_split(&mp, post, piece, &taken));
        EXPECT_EQ(HTTP_POST, mp.msg.method);
        ASSERT_EQ(11u, mp.msg.body_len);
        EXPECT_EQ(std::string("{\"a\":12345}"), std::string(mp.msg.body, mp.msg.body_len));
        EXPECT_EQ('\0', mp.msg.body[11]);
        http_msg_parser_free(&mp);

        http_req_parser_init(&mp);
        ASSERT_EQ(1, feed_split(&mp, chunked, piece, &taken));
        EXPECT_EQ(std::string("hello world"), std::string(mp.msg.body, mp.msg.body_len));
        http_msg_parser_free(&mp);
    }
}

TEST(HttpRequest, PipelinedRequestsStopAtEachEnd) {
    std::string two = "GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\nConnection: close\r\n\r\n";
    http_msg_parser_t mp;
    http_req_parser_init(&mp);
    size_t used = 0;
    ASSERT_EQ(1, http_msg_parser_feed(&mp, two.data(), two.size(), &used));
    EXPECT_EQ(19u, used);
    EXPECT_STREQ("/a", mp.msg.path);
    EXPECT_EQ(1, mp.msg.keep_alive);
    // Until next() the parser holds its message.
    size_t again = 0;
    EXPECT_EQ(1, http_msg_parser_feed(&mp, two.data() + used, two.size() - used, &again));
    EXPECT_EQ(0u, again);
    http_msg_parser_next(&mp);
    ASSERT_EQ(1, http_msg_parser_feed(&mp, two.data() + used, two.size() - used, &again));
    EXPECT_EQ(two.size() - used, again);
    EXPECT_STREQ("/b", mp.msg.path);
    EXPECT_EQ(0, mp.msg.keep_alive);
    http_msg_parser_free(&mp);
}

TEST(HttpRequest, KeepAliveRules) {
    struct { const char *req; int ka; } cases[] = {
        { "GET / HTTP/1.1\r\n\r\n", 1 },
        { "GET / HTTP/1.1\r\nConnection: close\r\n\r\n", 0 },
        { "GET / HTTP/1.0\r\n\r\n", 0 },
        { "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 1 },
        { "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", 0 },
    };
    for (auto &c : cases) {
        http_msg_parser_t mp;
        http_req_parser_init(&mp);
        size_t taken;
        ASSERT_EQ(1, feed_split(&mp, c.req, 4096, &taken)) << c.req;
        EXPECT_EQ(c.ka, mp.msg.keep_alive) << c.req;
        http_msg_parser_free(&mp);
    }
}

TEST(HttpRequest, TargetForms) {
    http_msg_parser_t mp;
    http_req_parser_init(&mp);
    size_t taken;
    ASSERT_EQ(1, feed_split(&mp, "GET http://example.com:8080/x/y?z=1 HTTP/1.1\r\n\r\n", 4096, &taken));
    EXPECT_STREQ("/x/y", mp.msg.path);
    EXPECT_STREQ("z=1", mp.msg.query);
    http_msg_parser_free(&mp);

    http_req_parser_init(&mp);
    ASSERT_EQ(1, feed_split(&mp, "OPTIONS * HTTP/1.1\r\n\r\n", 4096, &taken));
    EXPECT_EQ(HTTP_OPTIONS, mp.msg.method);
    EXPECT_STREQ("*", mp.msg.path);
    http_msg_parser_free(&mp);

    http_req_parser_init(&mp);
    ASSERT_EQ(1, feed_split(&mp, "GET / HTTP/1.1\r\n\r\n", 4096, &taken));
    EXPECT_STREQ("/", mp.msg.path);
    EXPECT_STREQ("", mp.msg.query);
    http_msg_parser_free(&mp);
}

TEST(HttpRequest, EofBeforeAndDuringARequest) {
    http_msg_parser_t mp;
    http_req_parser_init(&mp);
    EXPECT_EQ(0, http_msg_parser_eof(&mp));  // nothing started: a clean close
    size_t used;
    EXPECT_EQ(0, http_msg_parser_feed(&mp, "GET / HT", 8, &used));
    EXPECT_EQ(RILL_ERR_HTTP, http_msg_parser_eof(&mp));
    EXPECT_EQ(400, mp.status);
    http_msg_parser_free(&mp);
}

// ---- request limits ----------------------------------------------------------

TEST(HttpRequest, MalformedIs400) {
    const char *bad[] = {
        "GARBAGE\r\n\r\n",
        "GET / HTTP/9.x\r\n\r\n",
        "GET / HTTP/1.1\r\nBad{Header: x\r\n\r\n",
        "GET / HTTP/1.1\r\nNo-Colon\r\n\r\n",
        "GET / HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
        "GET / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",  // smuggling
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "GET /a%zz HTTP/1.1\r\n\r\n",      // invalid escape
        "GET /a%2 HTTP/1.1\r\n\r\n",       // truncated escape
        "GET /a%00b HTTP/1.1\r\n\r\n",     // encoded NUL
        "GET /a\x01 HTTP/1.1\r\n\r\n",     // control byte in the target
        "GET\r\n\r\n",
    };
    for (const char *r : bad) EXPECT_EQ(400, refused_status(r)) << r;
}

TEST(HttpRequest, LongTargetIs414) {
    std::string ok = "GET /" + std::string(HTTP_MAX_URL - 1, 'a') + " HTTP/1.1\r\n\r\n";
    EXPECT_EQ(0, refused_status(ok));
    std::string big = "GET /" + std::string(HTTP_MAX_URL, 'a') + " HTTP/1.1\r\n\r\n";
    EXPECT_EQ(414, refused_status(big));
    // Refused as the bytes arrive, never held: one byte at a time too.
    http_msg_parser_t mp;
    http_req_parser_init(&mp);
    size_t taken;
    EXPECT_EQ(RILL_ERR_HTTP, feed_split(&mp, big, 1, &taken));
    EXPECT_EQ(414, mp.status);
    EXPECT_LE(taken, (size_t)HTTP_MAX_URL + 8);
    http_msg_parser_free(&mp);
}

TEST(HttpRequest, BigHeadersAre431) {
    std::string ok = "GET / HTTP/1.1\r\nX: " + std::string(HTTP_MAX_HEADER_BYTES - 1, 'v') + "\r\n\r\n";
    EXPECT_EQ(0, refused_status(ok));
    std::string big = "GET / HTTP/1.1\r\nX: " + std::string(HTTP_MAX_HEADER_BYTES, 'v') + "\r\n\r\n";
    EXPECT_EQ(431, refused_status(big));
    std::string many_small = "GET / HTTP/1.1\r\n";
    for (int i = 0; i < 2000; i++) many_small += "A" + std::to_string(i) + ": 12345678\r\n";
    EXPECT_EQ(431, refused_status(many_small + "\r\n"));
    // A header value padded with whitespace http-parser skips: its own cap.
    std::string spaces = "GET / HTTP/1.1\r\nX:" + std::string(100000, ' ') + "v\r\n\r\n";
    EXPECT_EQ(431, refused_status(spaces));
}

TEST(HttpRequest, HeaderCountLimitIs431) {
    auto with = [](int n) {
        std::string r = "GET / HTTP/1.1\r\n";
        for (int i = 0; i < n; i++) r += "H" + std::to_string(i) + ": v\r\n";
        return r + "\r\n";
    };
    EXPECT_EQ(0, refused_status(with(HTTP_MAX_HEADERS)));
    EXPECT_EQ(431, refused_status(with(HTTP_MAX_HEADERS + 1)));
    EXPECT_EQ(431, refused_status(with(10000)));
}

TEST(HttpRequest, BigBodyIs413) {
    std::string announced = "POST / HTTP/1.1\r\nContent-Length: " + std::to_string(HTTP_MAX_REQ_BODY + 1) + "\r\n\r\n";
    EXPECT_EQ(413, refused_status(announced));  // refused before any body byte
    std::string chunked = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (int i = 0; i < 17; i++) chunked += "1000\r\n" + std::string(4096, 'x') + "\r\n";
    EXPECT_EQ(413, refused_status(chunked + "0\r\n\r\n"));
    std::string fits = "POST / HTTP/1.1\r\nContent-Length: " + std::to_string(HTTP_MAX_REQ_BODY) + "\r\n\r\n" +
                       std::string(HTTP_MAX_REQ_BODY, 'b');
    EXPECT_EQ(0, refused_status(fits));
}

TEST(HttpRequest, ConnectIsRefused) {
    EXPECT_EQ(405, refused_status("CONNECT example.com:443 HTTP/1.1\r\n\r\n"));
}

// ---- responses -----------------------------------------------------------------

TEST(HttpResponse, ContentLengthEverySplit) {
    std::string r = "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 8\r\n\r\n{\"a\":1}\n";
    for (size_t at = 0; at <= r.size(); at++) {
        http_msg_parser_t mp;
        http_resp_parser_init(&mp, 0);
        size_t taken;
        ASSERT_EQ(1, feed_at(&mp, r, at, &taken)) << at;
        EXPECT_EQ(201, mp.msg.status);
        EXPECT_STREQ("application/json", http_header_get(&mp.msg, "content-type"));
        EXPECT_EQ(std::string("{\"a\":1}\n"), std::string(mp.msg.body, mp.msg.body_len));
        http_msg_parser_free(&mp);
    }
}

TEST(HttpResponse, ChunkedEverySplit) {
    std::string r = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "4\r\nWiki\r\n5;ext=1\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nTrailer: x\r\n\r\n";
    for (size_t at = 0; at <= r.size(); at++) {
        http_msg_parser_t mp;
        http_resp_parser_init(&mp, 0);
        size_t taken;
        ASSERT_EQ(1, feed_at(&mp, r, at, &taken)) << at;
        EXPECT_EQ(200, mp.msg.status);
        EXPECT_EQ(std::string("Wikipedia in\r\n\r\nchunks."), std::string(mp.msg.body, mp.msg.body_len));
        http_msg_parser_free(&mp);
    }
}

TEST(HttpResponse, BodyUntilCloseAndHead) {
    http_msg_parser_t mp;
    http_resp_parser_init(&mp, 0);
    std::string r = "HTTP/1.0 200 OK\r\n\r\nuntil the end";
    size_t taken;
    ASSERT_EQ(0, feed_split(&mp, r, 5, &taken));
    ASSERT_EQ(1, http_msg_parser_eof(&mp));
    EXPECT_EQ(std::string("until the end"), std::string(mp.msg.body, mp.msg.body_len));
    http_msg_parser_free(&mp);

    // The answer to HEAD announces a length but carries no body.
    http_resp_parser_init(&mp, 1);
    ASSERT_EQ(1, feed_split(&mp, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", 4096, &taken));
    EXPECT_EQ(0u, mp.msg.body_len);
    http_msg_parser_free(&mp);
}

TEST(HttpResponse, BoundedAndMalformed) {
    http_msg_parser_t mp;
    http_resp_parser_init(&mp, 0);
    std::string big = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(HTTP_MAX_RESP_BODY + 1) + "\r\n\r\n";
    size_t taken;
    EXPECT_EQ(RILL_ERR_HTTP, feed_split(&mp, big, 4096, &taken));
    http_msg_parser_free(&mp);

    http_resp_parser_init(&mp, 0);
    std::string chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (int i = 0; i < 300; i++) chunked += "1000\r\n" + std::string(4096, 'x') + "\r\n";
    EXPECT_EQ(RILL_ERR_HTTP, feed_split(&mp, chunked, 65536, &taken));
    http_msg_parser_free(&mp);

    http_resp_parser_init(&mp, 0);
    EXPECT_EQ(RILL_ERR_HTTP, feed_split(&mp, "HTTP/1.1 2x0 OK\r\n\r\n", 4096, &taken));
    http_msg_parser_free(&mp);

    http_resp_parser_init(&mp, 0);
    EXPECT_EQ(0, feed_split(&mp, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", 4096, &taken));
    EXPECT_EQ(RILL_ERR_HTTP, http_msg_parser_eof(&mp));
    http_msg_parser_free(&mp);
}

// ---- percent-decoding and paths ------------------------------------------------

TEST(HttpUrl, PercentDecode) {
    char out[64];
    EXPECT_EQ(3, http_percent_decode("a%20b", 5, out, 0));
    EXPECT_STREQ("a b", out);
    EXPECT_EQ(3, http_percent_decode("a+b", 3, out, 0));
    EXPECT_STREQ("a+b", out);
    EXPECT_EQ(3, http_percent_decode("a+b", 3, out, 1));
    EXPECT_STREQ("a b", out);
    EXPECT_EQ(2, http_percent_decode("%2e%2E", 6, out, 0));
    EXPECT_STREQ("..", out);
    EXPECT_EQ(1, http_percent_decode("%fF", 3, out, 0));
    EXPECT_EQ('\xff', out[0]);
    EXPECT_EQ(RILL_ERR_HTTP, http_percent_decode("%", 1, out, 0));
    EXPECT_EQ(RILL_ERR_HTTP, http_percent_decode("a%4", 3, out, 0));
    EXPECT_EQ(RILL_ERR_HTTP, http_percent_decode("%g0", 3, out, 0));
    EXPECT_EQ(RILL_ERR_HTTP, http_percent_decode("%00", 3, out, 0));
    EXPECT_EQ(RILL_ERR_HTTP, http_percent_decode("a\0b", 3, out, 0));
    // Only the given bytes are read, even with a '%' at the end of them.
    EXPECT_EQ(RILL_ERR_HTTP, http_percent_decode("ab%41", 3, out, 0));
}

TEST(HttpUrl, PathSafety) {
    struct { const char *raw; int safe; } cases[] = {
        { "/", 1 },
        { "/index.html", 1 },
        { "/live/a..b.flv", 1 },
        { "/...", 1 },
        { "/a/./b", 1 },
        { "/..", 0 },
        { "/../etc/passwd", 0 },
        { "/a/../../etc/passwd", 0 },
        { "/a/..", 0 },
        { "/%2e%2e/%2e%2e/etc/passwd", 0 },
        { "/%2E%2E/etc/passwd", 0 },
        { "/.%2e/etc/passwd", 0 },
        { "/a%2f..%2fetc", 0 },
        { "/a%2F..", 0 },
        { "/..%5cetc", 0 },
        { "/a\\..\\etc", 0 },
        { "/a%5c", 0 },
        { "relative", 0 },
        { "*", 0 },
    };
    for (auto &c : cases) {
        char dec[256];
        int n = http_percent_decode(c.raw, strlen(c.raw), dec, 0);
        ASSERT_GE(n, 0) << c.raw;
        EXPECT_EQ(c.safe, http_path_is_safe(c.raw, dec)) << c.raw;
    }
    EXPECT_EQ(0, http_path_is_safe(nullptr, "/"));
}

TEST(HttpUrl, QueryGet) {
    const char *q = "token=x%2By&empty=&plus=a+b&flag&dup=1&dup=2&n%61me=v";
    char out[32];
    EXPECT_EQ(1, http_query_get(q, "token", out, sizeof out));
    EXPECT_STREQ("x+y", out);
    EXPECT_EQ(1, http_query_get(q, "empty", out, sizeof out));
    EXPECT_STREQ("", out);
    EXPECT_EQ(1, http_query_get(q, "plus", out, sizeof out));
    EXPECT_STREQ("a b", out);
    EXPECT_EQ(1, http_query_get(q, "flag", out, sizeof out));
    EXPECT_STREQ("", out);
    EXPECT_EQ(1, http_query_get(q, "dup", out, sizeof out));
    EXPECT_STREQ("1", out);
    EXPECT_EQ(1, http_query_get(q, "name", out, sizeof out));
    EXPECT_STREQ("v", out);
    EXPECT_EQ(0, http_query_get(q, "tok", out, sizeof out));
    EXPECT_EQ(0, http_query_get("", "a", out, sizeof out));
    EXPECT_EQ(RILL_ERR_LIMIT, http_query_get("a=123456", "a", out, 4));
    EXPECT_EQ(RILL_ERR_HTTP, http_query_get("a=%zz", "a", out, sizeof out));
}

// ---- MIME types ------------------------------------------------------------------

TEST(HttpMime, ByExtension) {
    struct { const char *name, *type; } cases[] = {
        { "/index.html", "text/html; charset=utf-8" },
        { "/A.HTM", "text/html; charset=utf-8" },
        { "/app.js", "text/javascript; charset=utf-8" },
        { "/s.css", "text/css; charset=utf-8" },
        { "/d.json", "application/json" },
        { "/i.png", "image/png" },
        { "/i.jpg", "image/jpeg" },
        { "/i.JPEG", "image/jpeg" },
        { "/i.svg", "image/svg+xml" },
        { "/favicon.ico", "image/x-icon" },
        { "/live/s.m3u8", "application/vnd.apple.mpegurl" },
        { "/live/s-1.ts", "video/mp2t" },
        { "/v.flv", "video/x-flv" },
        { "/v.mp4", "video/mp4" },
        { "/r.txt", "text/plain; charset=utf-8" },
        { "/m.wasm", "application/wasm" },
        { "/app.js.map", "application/json" },
        { "/noext", "application/octet-stream" },
        { "/dir.d/noext", "application/octet-stream" },
        { "/trailingdot.", "application/octet-stream" },
        { "/x.unknown", "application/octet-stream" },
    };
    for (auto &c : cases) EXPECT_STREQ(c.type, http_mime_type(c.name)) << c.name;
}

// ---- client URLs -----------------------------------------------------------------

TEST(HttpClientUrl, Accepted) {
    http_dial_url_t u;
    const char *why = nullptr;
    ASSERT_EQ(0, http_dial_url_parse("http://127.0.0.1:8085/api/v1/streams?x=1", &u, &why));
    EXPECT_STREQ("127.0.0.1", u.host);
    EXPECT_STREQ("127.0.0.1", u.ip);
    EXPECT_EQ(8085, u.port);
    EXPECT_STREQ("/api/v1/streams?x=1", u.target);

    ASSERT_EQ(0, http_dial_url_parse("http://localhost/hook", &u, &why));
    EXPECT_STREQ("localhost", u.host);
    EXPECT_STREQ("127.0.0.1", u.ip);
    EXPECT_EQ(80, u.port);
    EXPECT_STREQ("/hook", u.target);

    ASSERT_EQ(0, http_dial_url_parse("HTTP://LocalHost:1985", &u, &why));
    EXPECT_STREQ("127.0.0.1", u.ip);
    EXPECT_STREQ("/", u.target);

    // a name: looked up (without blocking) when the request is made
    ASSERT_EQ(0, http_dial_url_parse("http://hooks.example.com:8085/x", &u, &why));
    EXPECT_STREQ("hooks.example.com", u.host);
    EXPECT_STREQ("", u.ip);
    EXPECT_EQ(8085, u.port);
}

TEST(HttpClientUrl, Refused) {
    const char *bad[] = {
        "https://127.0.0.1/x",          // no TLS
        "ftp://127.0.0.1/x",
        "http://a..b/x",                // not a host name
        "http://[::1]:80/x",
        "http://user:pw@127.0.0.1/x",
        "http://127.0.0.1:99999/x",
        "127.0.0.1:8080/x",
        "/relative",
        "",
        "http://",
    };
    for (const char *b : bad) {
        http_dial_url_t u;
        const char *why = nullptr;
        EXPECT_EQ(RILL_ERR_URL, http_dial_url_parse(b, &u, &why)) << b;
        EXPECT_NE(nullptr, why) << b;
    }
    http_dial_url_t u;
    const char *why = nullptr;
    http_dial_url_parse("https://127.0.0.1/x", &u, &why);
    EXPECT_NE(nullptr, strstr(why, "https"));
    http_dial_url_parse("http://a..b/x", &u, &why);
    EXPECT_NE(nullptr, strstr(why, "host name"));
    std::string huge = "http://127.0.0.1/" + std::string(5000, 'a');
    EXPECT_EQ(RILL_ERR_URL, http_dial_url_parse(huge.c_str(), &u, &why));
}

// ---- basic auth ------------------------------------------------------------------

TEST(HttpAuth, BasicCredentials) {
    // "admin:s3cret:x" base64: the password may hold ':'.
    EXPECT_EQ(1, http_basic_auth_check("Basic YWRtaW46czNjcmV0Ong=", "admin", "s3cret:x"));
    EXPECT_EQ(1, http_basic_auth_check("basic   YWRtaW46czNjcmV0Ong=", "admin", "s3cret:x"));
    EXPECT_EQ(0, http_basic_auth_check("Basic YWRtaW46czNjcmV0Ong=", "admin", "s3cret"));
    EXPECT_EQ(0, http_basic_auth_check("Basic YWRtaW46czNjcmV0Ong=", "Admin", "s3cret:x"));
    EXPECT_EQ(0, http_basic_auth_check("Bearer YWRtaW46czNjcmV0Ong=", "admin", "s3cret:x"));
    EXPECT_EQ(0, http_basic_auth_check("Basic !!!!", "admin", "s3cret:x"));
    EXPECT_EQ(0, http_basic_auth_check("Basic YWRtaW4=", "admin", ""));  // "admin", no colon
    EXPECT_EQ(0, http_basic_auth_check("Basic ", "", ""));
    EXPECT_EQ(0, http_basic_auth_check(nullptr, "admin", "x"));
    std::string huge = "Basic " + std::string(10000, 'Q');
    EXPECT_EQ(0, http_basic_auth_check(huge.c_str(), "admin", "x"));
}

// ---- config ------------------------------------------------------------------------

namespace {
struct Conf {
    config_t *c = nullptr;
    std::string err;
    explicit Conf(const std::string &text) {
        char e[512] = "";
        if (config_load_string(text.c_str(), "t.conf", &c, e, sizeof e) != 0) err = e;
    }
    ~Conf() { config_free(c); }
};
}  // namespace

TEST(HttpConf, Defaults) {
    Conf k("");
    ASSERT_NE(nullptr, k.c) << k.err;
    const http_conf_t &s = k.c->http_server, &a = k.c->http_api;
    EXPECT_EQ(0, s.enabled);
    EXPECT_STREQ("0.0.0.0", s.listen.ip);
    EXPECT_EQ(8080, s.listen.port);
    EXPECT_STREQ("./objs/nginx/html", s.dir);
    EXPECT_EQ(1, s.crossdomain);
    EXPECT_EQ(10000, s.header_timeout);
    EXPECT_EQ(30000, s.keepalive_timeout);
    EXPECT_EQ(0, a.enabled);
    EXPECT_EQ(1985, a.listen.port);
    EXPECT_EQ(1, a.crossdomain);
    EXPECT_EQ(0, a.auth);
    EXPECT_EQ(nullptr, a.username);
}

TEST(HttpConf, GoodValues) {
    Conf k("listen 127.0.0.1:1935;\n"
           "http_server { enabled on; listen 127.0.0.2:8081; dir /tmp/www; crossdomain off;\n"
           "              header_timeout 2000; keepalive_timeout 500; https { enabled off; } }\n"
           "http_api { enabled on; listen 1986; crossdomain off; raw_api { enabled on; }\n"
           "           auth { enabled on; username u; password 'p w'; } }\n");
    ASSERT_NE(nullptr, k.c) << k.err;
    const http_conf_t &s = k.c->http_server, &a = k.c->http_api;
    EXPECT_EQ(1, s.enabled);
    EXPECT_STREQ("127.0.0.2", s.listen.ip);
    EXPECT_EQ(8081, s.listen.port);
    EXPECT_STREQ("/tmp/www", s.dir);
    EXPECT_EQ(0, s.crossdomain);
    EXPECT_EQ(2000, s.header_timeout);
    EXPECT_EQ(500, s.keepalive_timeout);
    EXPECT_EQ(2, s.line);
    EXPECT_EQ(1, a.enabled);
    EXPECT_STREQ("0.0.0.0", a.listen.ip);
    EXPECT_EQ(1986, a.listen.port);
    EXPECT_EQ(0, a.crossdomain);
    EXPECT_EQ(1, a.auth);
    EXPECT_STREQ("u", a.username);
    EXPECT_STREQ("p w", a.password);
}

TEST(HttpConf, SharedListenIsAllowed) {
    Conf k("http_server { enabled on; listen 127.0.0.1:8080; }\nhttp_api { enabled on; listen 127.0.0.1:8080; }\n");
    EXPECT_NE(nullptr, k.c) << k.err;
}

TEST(HttpConf, BadValues) {
    struct { const char *conf, *err; } cases[] = {
        { "http_server { enabled yes; }", "t.conf:1: enabled 'yes' must be on or off" },
        { "http_server { listen 0; }", "t.conf:1: listen '0' is not [ip:]port with a port in 1..65535" },
        { "http_server { listen 1 2; }", "t.conf:1: directive 'listen' takes 1 argument, got 2" },
        { "http_server { header_timeout 10; }", "t.conf:1: header_timeout '10' is out of range 100..3600000" },
        { "http_server { keepalive_timeout x; }", "t.conf:1: keepalive_timeout 'x' is not a number" },
        { "http_server { auth { } }", "t.conf:1: unknown directive 'auth'" },
        { "http_api { dir /tmp; }", "t.conf:1: unknown directive 'dir'" },
        { "http_api { crossdomain maybe; }", "t.conf:1: crossdomain 'maybe' must be on or off" },
        { "http_api { auth on; }", "t.conf:1: directive 'auth' needs a { } block" },
        { "http_api { auth { enabled on; user x; } }", "t.conf:1: unknown directive 'user'" },
        { "http_server on;", "t.conf:1: directive 'http_server' needs a { } block" },
        { "http_server { enabled on; }\nhttp_server { }", "t.conf:2: directive 'http_server' is duplicate (first at t.conf:1)" },
        { "\nhttp_api { enabled on; auth { enabled on; username u; } }",
          "t.conf:2: http_api auth is enabled without a username and a password" },
        { "listen 1935;\nhttp_server { enabled on; listen 127.0.0.1:1935; }",
          "t.conf:2: http_server listen 127.0.0.1:1935 clashes with the rtmp listen 0.0.0.0:1935" },
        { "http_server { enabled on; listen 8080; }\nhttp_api { enabled on; listen 127.0.0.1:8080; }",
          "t.conf:2: http_api listen 127.0.0.1:8080 clashes with http_server listen 0.0.0.0:8080 (give both "
          "the same address to share one listener)" },
    };
    for (auto &c : cases) {
        Conf k(c.conf);
        EXPECT_EQ(nullptr, k.c) << c.conf;
        EXPECT_EQ(c.err, k.err) << c.conf;
    }
    // Disabled blocks are not checked for clashes.
    Conf off("listen 1935;\nhttp_server { listen 1935; }\n");
    EXPECT_NE(nullptr, off.c) << off.err;
}

// set_real_ip_from, real_ip_header, real_ip_recursive in http_server { } (the
// address logic itself: test_http_realip.cpp).
TEST(RealipConf, Default) {
    Conf k("http_server { enabled on; }\n");
    ASSERT_NE(nullptr, k.c) << k.err;
    const realip_conf_t &r = k.c->http_server.realip;
    EXPECT_EQ(0, r.nfrom);
    EXPECT_STREQ("X-Real-IP", r.header);
    EXPECT_EQ(0, r.recursive);
    Conf empty("");
    ASSERT_NE(nullptr, empty.c) << empty.err;
    EXPECT_EQ(0, empty.c->http_server.realip.nfrom);
    EXPECT_STREQ("X-Real-IP", empty.c->http_server.realip.header);
}

TEST(RealipConf, GoodValues) {
    Conf k("http_server {\n enabled on;\n set_real_ip_from 127.0.0.1;\n set_real_ip_from 10.0.0.0/8;\n"
           " set_real_ip_from 2001:db8::/32;\n real_ip_header X-Forwarded-For;\n real_ip_recursive on;\n}\n");
    ASSERT_NE(nullptr, k.c) << k.err;
    const realip_conf_t &r = k.c->http_server.realip;
    EXPECT_EQ(3, r.nfrom);
    EXPECT_STREQ("X-Forwarded-For", r.header);
    EXPECT_EQ(1, r.recursive);
    EXPECT_TRUE(realip_trusted(&r, "127.0.0.1"));
    EXPECT_TRUE(realip_trusted(&r, "10.2.3.4"));
    EXPECT_TRUE(realip_trusted(&r, "2001:db8::9"));
    EXPECT_FALSE(realip_trusted(&r, "127.0.0.2"));
    Conf x("http_server { real_ip_header X-Real-IP; real_ip_recursive off; set_real_ip_from 10.1.2.3/8; }\n");
    ASSERT_NE(nullptr, x.c) << x.err;   // host bits: a warning, not an error
    EXPECT_TRUE(realip_trusted(&x.c->http_server.realip, "10.9.9.9"));
}

TEST(RealipConf, BadValues) {
    struct { const char *conf, *err; } cases[] = {
        { "http_server {\n set_real_ip_from 10.0.0.0/33;\n}",
          "t.conf:2: set_real_ip_from '10.0.0.0/33' is not an IPv4 or IPv6 address or CIDR (ADDRESS/BITS)" },
        { "http_server {\n\n set_real_ip_from nginx.example;\n}",
          "t.conf:3: set_real_ip_from 'nginx.example' is not an IPv4 or IPv6 address or CIDR (ADDRESS/BITS)" },
        { "http_server { set_real_ip_from; }", "t.conf:1: directive 'set_real_ip_from' takes 1 argument, got 0" },
        { "http_server { set_real_ip_from 1.2.3.4 5.6.7.8; }",
          "t.conf:1: directive 'set_real_ip_from' takes 1 argument, got 2" },
        { "http_server {\n real_ip_header 'X Real';\n}",
          "t.conf:2: real_ip_header 'X Real' is not a header name (X-Real-IP, X-Forwarded-For, ...)" },
        { "http_server { real_ip_header proxy_protocol; }",
          "t.conf:1: real_ip_header proxy_protocol: rill's HTTP listeners take no PROXY header (X-Real-IP or "
          "X-Forwarded-For)" },
        { "http_server { real_ip_recursive yes; }", "t.conf:1: real_ip_recursive 'yes' must be on or off" },
        { "http_server { real_ip_header a; real_ip_header b; }",
          "t.conf:1: directive 'real_ip_header' is duplicate (first at t.conf:1)" },
        { "http_api { set_real_ip_from 127.0.0.1; }", "t.conf:1: unknown directive 'set_real_ip_from'" },
    };
    for (auto &c : cases) {
        Conf k(c.conf);
        EXPECT_EQ(nullptr, k.c) << c.conf;
        EXPECT_EQ(c.err, k.err) << c.conf;
    }
}
