// rill-bench's command line, URLs and source address ranges (research/bench/bench_opts.c).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "bench_opts.h"
#include "rill_error.h"

namespace {

struct Parsed {
    int rc = 0;
    int help = 0;
    bench_opts_t o;
    char err[512] = "";
};

// Parse a command line given as words after the program name.
Parsed parse(std::vector<std::string> words)
{
    static Parsed p;  // bench_opts_t is large: keep it off the test's stack
    p = Parsed();
    std::vector<char *> argv;
    std::string prog = "rill-bench";
    argv.push_back(&prog[0]);
    for (auto &w : words) argv.push_back(&w[0]);
    p.rc = bench_opts_parse((int)argv.size(), argv.data(), &p.o, &p.help, p.err, sizeof p.err);
    return p;
}

}  // namespace

TEST(BenchOpts, PlayWithEveryOption)
{
    Parsed p = parse({"play", "-n", "500", "-d", "20", "-r", "250", "--src-ips", "127.0.0.50-127.0.0.60", "--timeout",
                      "3", "--delay", "1.5", "rtmp://127.0.0.1:19350/live/cam"});
    ASSERT_EQ(p.rc, 0) << p.err;
    ASSERT_EQ(p.o.njobs, 1);
    const bench_job_t &j = p.o.jobs[0];
    EXPECT_EQ(j.kind, BENCH_PLAY);
    EXPECT_EQ(j.count, 500);
    EXPECT_DOUBLE_EQ(j.duration, 20);
    EXPECT_DOUBLE_EQ(j.ramp, 250);
    EXPECT_DOUBLE_EQ(j.timeout, 3);
    EXPECT_DOUBLE_EQ(j.delay, 1.5);
    EXPECT_EQ(j.src.first, 0x7F000032u);
    EXPECT_EQ(j.src.last, 0x7F00003Cu);
    EXPECT_EQ(j.url.proto, BENCH_RTMP);
    EXPECT_STREQ(j.url.text, "rtmp://127.0.0.1:19350/live/cam");
    EXPECT_DOUBLE_EQ(j.read_interval, 0);

    p = parse({"--read-interval", "20", "play", "rtmp://127.0.0.1/live/a", "sink", "--read-interval", "5",
               "tcp://127.0.0.1:9"});
    ASSERT_EQ(p.rc, 0) << p.err;
    EXPECT_DOUBLE_EQ(p.o.jobs[0].read_interval, 20);
    EXPECT_DOUBLE_EQ(p.o.jobs[1].read_interval, 5);
}

TEST(BenchOpts, DefaultsAndGlobalDefaultsForJobs)
{
    Parsed p = parse({"play", "rtmp://127.0.0.1/live/a"});
    ASSERT_EQ(p.rc, 0) << p.err;
    EXPECT_EQ(p.o.jobs[0].count, 1);
    EXPECT_DOUBLE_EQ(p.o.jobs[0].duration, BENCH_DEF_DURATION);
    EXPECT_DOUBLE_EQ(p.o.jobs[0].ramp, BENCH_DEF_RAMP);
    EXPECT_DOUBLE_EQ(p.o.report, BENCH_DEF_REPORT);
    EXPECT_EQ(p.o.stack_kb, BENCH_DEF_STACK_KB);
    EXPECT_DOUBLE_EQ(p.o.stall_ms, BENCH_DEF_STALL_MS);
    EXPECT_EQ(p.o.jobs[0].src.first, 0u);

    // -d, -r before the first job apply to every job, which may override them
    p = parse({"-d", "9", "-r", "50", "--report", "0", "--stack-kb", "32", "publish", "-i", "f.flv",
               "rtmp://127.0.0.1/live/a", "play", "-d", "4", "-n", "3", "http://127.0.0.1:8080/live/a.flv"});
    ASSERT_EQ(p.rc, 0) << p.err;
    ASSERT_EQ(p.o.njobs, 2);
    EXPECT_EQ(p.o.jobs[0].kind, BENCH_PUBLISH);
    EXPECT_STREQ(p.o.jobs[0].file, "f.flv");
    EXPECT_DOUBLE_EQ(p.o.jobs[0].duration, 9);
    EXPECT_EQ(p.o.jobs[0].chunk_size, (uint32_t)BENCH_DEF_CHUNK);
    EXPECT_LT(p.o.jobs[0].reconnect, 0) << "no reconnect unless asked";
    EXPECT_DOUBLE_EQ(p.o.jobs[0].write_timeout, BENCH_DEF_WRITE_TIMEOUT_MS);
    EXPECT_EQ(p.o.jobs[0].send_buffer, 0);
    EXPECT_EQ(p.o.jobs[1].kind, BENCH_PLAY);
    EXPECT_EQ(p.o.jobs[1].url.proto, BENCH_HTTP_FLV);
    EXPECT_DOUBLE_EQ(p.o.jobs[1].duration, 4);
    EXPECT_DOUBLE_EQ(p.o.jobs[1].ramp, 50);
    EXPECT_DOUBLE_EQ(p.o.report, 0);
    EXPECT_EQ(p.o.stack_kb, 32);
    EXPECT_DOUBLE_EQ(bench_opts_run_seconds(&p.o), 9);
}

TEST(BenchOpts, PublishReconnectMode)
{
    Parsed p = parse({"publish", "--reconnect", "1.5", "--write-timeout", "800", "--send-buffer", "65536", "-i",
                      "f.flv", "rtmp://127.0.0.1/live/a"});
    ASSERT_EQ(p.rc, 0) << p.err;
    EXPECT_DOUBLE_EQ(p.o.jobs[0].reconnect, 1.5);
    EXPECT_DOUBLE_EQ(p.o.jobs[0].write_timeout, 800);
    EXPECT_EQ(p.o.jobs[0].send_buffer, 65536);
    p = parse({"publish", "--reconnect", "0", "-i", "f.flv", "rtmp://127.0.0.1/live/a"});
    ASSERT_EQ(p.rc, 0) << p.err;
    EXPECT_DOUBLE_EQ(p.o.jobs[0].reconnect, 0) << "0: reconnect at once";
    EXPECT_NE(std::string(bench_usage()).find("--reconnect S"), std::string::npos);
}

TEST(BenchOpts, SinkAndHelp)
{
    Parsed p = parse({"sink", "-n", "10", "tcp://127.0.0.1:9000"});
    ASSERT_EQ(p.rc, 0) << p.err;
    EXPECT_EQ(p.o.jobs[0].kind, BENCH_SINK);
    EXPECT_EQ(p.o.jobs[0].url.proto, BENCH_TCP);
    p = parse({"--help"});
    EXPECT_EQ(p.rc, 0);
    EXPECT_EQ(p.help, 1);
    EXPECT_NE(std::string(bench_usage()).find("play"), std::string::npos);
}

TEST(BenchOpts, RefusesBadCommandLines)
{
    struct {
        std::vector<std::string> words;
        const char *why;  // a piece of the error text
    } cases[] = {
        {{}, "nothing to do"},
        {{"play"}, "no URL"},
        {{"play", "-n", "0", "rtmp://127.0.0.1/live/a"}, "-n 0"},
        {{"play", "-n", "x", "rtmp://127.0.0.1/live/a"}, "-n x"},
        {{"play", "-n"}, "needs a value"},
        {{"play", "-d", "-1", "rtmp://127.0.0.1/live/a"}, "-d -1"},
        {{"play", "--src-ips", "127.0.0.9-127.0.0.1", "rtmp://127.0.0.1/live/a"}, "--src-ips"},
        {{"play", "-i", "f.flv", "rtmp://127.0.0.1/live/a"}, "unknown option for play"},
        {{"play", "rtmp://127.0.0.1/live/a", "rtmp://127.0.0.1/live/b"}, "already has the URL"},
        {{"play", "ftp://127.0.0.1/x"}, "expected an rtmp:// or http:// url"},
        {{"play", "-n", "2", "ftp://127.0.0.1/x", "sink", "tcp://127.0.0.1:1"}, "expected an rtmp:// or http://"},
        {{"play", "tcp://127.0.0.1:9000"}, "expected an rtmp:// or http://"},
        {{"play", "rtmp://example.com/live/a"}, "IPv4"},
        {{"play", "rtmp://127.0.0.1/live"}, "no stream"},
        {{"play", "http://example.com/live/a.flv"}, "host names"},
        {{"publish", "rtmp://127.0.0.1/live/a"}, "-i FILE.flv is required"},
        {{"publish", "-i", "f.flv", "http://127.0.0.1/live/a.flv"}, "only rtmp://"},
        {{"publish", "--reconnect", "-1", "-i", "f.flv", "rtmp://127.0.0.1/live/a"}, "--reconnect -1"},
        {{"publish", "--reconnect", "-i", "f.flv", "rtmp://127.0.0.1/live/a"}, "--reconnect -i"},
        {{"publish", "--write-timeout", "5", "-i", "f.flv", "rtmp://127.0.0.1/live/a"}, "--write-timeout 5"},
        {{"publish", "--send-buffer", "1k", "-i", "f.flv", "rtmp://127.0.0.1/live/a"}, "--send-buffer 1k"},
        {{"play", "--reconnect", "1", "rtmp://127.0.0.1/live/a"}, "unknown option for play"},
        {{"sink", "rtmp://127.0.0.1/live/a"}, "tcp://IP:PORT"},
        {{"sink", "tcp://127.0.0.1"}, "tcp://IP:PORT"},
        {{"sink", "tcp://127.0.0.1:0"}, "bad port"},
        {{"--bogus", "play", "rtmp://127.0.0.1/live/a"}, "--bogus"},
        {{"--stack-kb", "4", "play", "rtmp://127.0.0.1/live/a"}, "--stack-kb 4"},
        {{"play", "play", "rtmp://127.0.0.1/live/a"}, "has no URL"},
    };
    for (auto &c : cases) {
        Parsed p = parse(c.words);
        std::string line;
        for (auto &w : c.words) line += w + " ";
        EXPECT_EQ(p.rc, RILL_ERR_INVAL) << line;
        EXPECT_NE(std::string(p.err).find(c.why), std::string::npos) << line << "-> " << p.err;
    }
}

TEST(BenchOpts, SourceAddressRanges)
{
    bench_src_ips_t r;
    ASSERT_EQ(bench_src_ips_parse("127.0.0.50-127.0.0.52", &r), 0);
    char ip[16];
    bench_src_ip_at(&r, 0, ip);
    EXPECT_STREQ(ip, "127.0.0.50");
    bench_src_ip_at(&r, 2, ip);
    EXPECT_STREQ(ip, "127.0.0.52");
    bench_src_ip_at(&r, 3, ip);  // wraps around
    EXPECT_STREQ(ip, "127.0.0.50");
    ASSERT_EQ(bench_src_ips_parse("127.0.0.255-127.0.1.1", &r), 0);  // crosses an octet
    bench_src_ip_at(&r, 1, ip);
    EXPECT_STREQ(ip, "127.0.1.0");
    ASSERT_EQ(bench_src_ips_parse("127.0.0.7", &r), 0);
    EXPECT_EQ(r.first, r.last);
    EXPECT_EQ(bench_src_ips_parse("127.0.0.7-", &r), RILL_ERR_INVAL);
    EXPECT_EQ(bench_src_ips_parse("127.0.0.300", &r), RILL_ERR_INVAL);
    EXPECT_EQ(bench_src_ips_parse("0.0.0.0", &r), RILL_ERR_INVAL);
    EXPECT_EQ(bench_src_ips_parse("10.0.0.0-10.2.0.0", &r), RILL_ERR_INVAL);  // more than 65536
}

TEST(BenchOpts, UrlTemplates)
{
    char out[64];
    ASSERT_EQ(bench_url_expand("rtmp://h/live/s{i}", 7, out, sizeof out), 0);
    EXPECT_STREQ(out, "rtmp://h/live/s7");
    ASSERT_EQ(bench_url_expand("{i}/{i}", 12, out, sizeof out), 0);
    EXPECT_STREQ(out, "12/12");
    ASSERT_EQ(bench_url_expand("no template {j}", 1, out, sizeof out), 0);
    EXPECT_STREQ(out, "no template {j}");
    char small[8];
    EXPECT_EQ(bench_url_expand("abcdefgh", 0, small, sizeof small), RILL_ERR_LIMIT);
    EXPECT_EQ(bench_url_expand("abc{i}", 123456, small, sizeof small), RILL_ERR_LIMIT);
}

TEST(BenchOpts, Targets)
{
    static bench_target_t t;
    char err[256];
    ASSERT_EQ(bench_target_parse("rtmp://127.0.0.1:19350/live/cam?token=x", &t, err, sizeof err), 0) << err;
    EXPECT_EQ(t.proto, BENCH_RTMP);
    EXPECT_STREQ(t.ip, "127.0.0.1");
    EXPECT_EQ(t.port, 19350);
    EXPECT_STREQ(t.app, "live");
    EXPECT_STREQ(t.tc_url, "rtmp://127.0.0.1:19350/live");
    EXPECT_STREQ(t.stream, "cam?token=x");
    ASSERT_EQ(bench_target_parse("rtmp://localhost/live/a", &t, err, sizeof err), 0) << err;
    EXPECT_STREQ(t.ip, "127.0.0.1");
    EXPECT_EQ(t.port, 1935);

    ASSERT_EQ(bench_target_parse("http://127.0.0.2:8080/live/cam.flv?x=1", &t, err, sizeof err), 0) << err;
    EXPECT_EQ(t.proto, BENCH_HTTP_FLV);
    EXPECT_STREQ(t.ip, "127.0.0.2");
    EXPECT_EQ(t.port, 8080);
    EXPECT_STREQ(t.host, "127.0.0.2");
    EXPECT_STREQ(t.target, "/live/cam.flv?x=1");

    ASSERT_EQ(bench_target_parse("tcp://127.0.0.3:9000", &t, err, sizeof err), 0) << err;
    EXPECT_EQ(t.proto, BENCH_TCP);
    EXPECT_STREQ(t.ip, "127.0.0.3");
    EXPECT_EQ(t.port, 9000);
    EXPECT_EQ(bench_target_parse("tcp://127.0.0.3:x", &t, err, sizeof err), RILL_ERR_INVAL);
    EXPECT_EQ(bench_target_parse("udp://127.0.0.3:9", &t, err, sizeof err), RILL_ERR_INVAL);
}
