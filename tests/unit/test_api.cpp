// The API's JSON shapes and the Prometheus text, built from a server set up
// by hand (a config, a hub with one published source, clients in the
// registry, a forwarder and an edge upstream), plus the rate ring and the
// /proc parser they use.
#include <gtest/gtest.h>

#include <cjson/cJSON.h>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <unistd.h>

#include "api_json.h"
#include "metrics.h"
#include "rill_error.h"
#include "rill_proc.h"
#include "rill_rate.h"
#include "api_view.h"
#include "rill_time.h"
#include "rtmp_msg.h"

namespace {

// FLV video message: AVC sequence header, libx264 640x360 High 3.0.
const uint8_t kAvcSh[] = {
    0x17, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x64, 0x00, 0x1e, 0xff, 0xe1, 0x00, 0x1a, 0x67, 0x64, 0x00, 0x1e,
    0xac, 0xd9, 0x40, 0xa0, 0x2f, 0xf9, 0x70, 0x11, 0x00, 0x00, 0x03, 0x00,
    0x01, 0x00, 0x00, 0x03, 0x00, 0x32, 0x0f, 0x16, 0x2d, 0x96, 0x01, 0x00,
    0x06, 0x68, 0xeb, 0xe3, 0xcb, 0x22, 0xc0, 0xfd, 0xf8, 0xf8, 0x00,
};
// FLV audio message: AAC sequence header, LC 44100 Hz stereo (0x12 0x10).
const uint8_t kAacSh[] = { 0xaf, 0x00, 0x12, 0x10 };

struct FakeServer {
    session_env_t env;
    rtmp_conns_t rtmp;
    stats_t stats;
    api_view_t view;
    config_t *conf = nullptr;
    source_t *src = nullptr;
    client_t pub, player;
    uint64_t pub_in = 5000, pub_out = 300, pl_in = 200, pl_out = 4000;
    forwarder_t fwd;
    edge_pull_t pull;

    explicit FakeServer(const char *conf_text = "vhost __defaultVhost__ { }\nvhost other.example { }\n")
    {
        memset(&env, 0, sizeof env);
        memset(&rtmp, 0, sizeof rtmp);
        memset(&stats, 0, sizeof stats);
        view = api_view_t{};
        view.env = &env;
        view.rtmp = &rtmp;
        view.stats = &stats;
        char err[256] = "";
        EXPECT_EQ(config_load_string(conf_text, "t.conf", &conf, err, sizeof err), 0) << err;
        env.conf = conf;
        hub_init(&env.hub);
        strcpy(env.server_id, "vid-test123");
        strcpy(env.service_id, "svc12345");
        env.start_ms = rill_now_ms() - 5000;
        rill_rate_init(&stats.rate, env.start_ms);
        http_hooks_init(&env.hooks, &env.hub, &env.clients, env.server_id, env.service_id);
    }
    ~FakeServer()
    {
        hub_free(&env.hub);
        config_free(conf);
    }

    // A published stream live/demo with codec headers and some counters.
    source_t *publish(const char *stream = "demo")
    {
        const vhost_conf_t *vc = config_vhost(conf, "__defaultVhost__");
        src = hub_acquire(&env.hub, vc, "__defaultVhost__", "live", stream);
        EXPECT_NE(src, nullptr);
        EXPECT_EQ(source_publish(src, this, 105, "?token=x"), 0);
        EXPECT_EQ(source_on_message(src, RTMP_MSG_VIDEO, 0, rill_payload_from(kAvcSh, sizeof kAvcSh)), 0);
        EXPECT_EQ(source_on_message(src, RTMP_MSG_AUDIO, 0, rill_payload_from(kAacSh, sizeof kAacSh)), 0);
        src->video_frames = 250;
        src->bytes_in = 1250000;
        src->bytes_out = 2500000;
        return src;
    }

    void client(client_t *c, uint32_t id, int type, uint64_t *in, uint64_t *out)
    {
        memset(c, 0, sizeof *c);
        c->id = id;
        c->type = type;
        strcpy(c->ip, "127.0.0.5");
        c->port = 40000 + (int)id;
        c->vhost = "__defaultVhost__";
        c->app = "live";
        c->stream = "demo";
        c->param = "?token=x";
        c->tc_url = "rtmp://127.0.0.1/live";
        c->start_ms = rill_now_ms() - 2500;
        c->in_bytes = in;
        c->out_bytes = out;
        clients_add(&env.clients, c);
    }

    void clients()
    {
        client(&pub, 105, CLIENT_PUBLISH, &pub_in, &pub_out);
        client(&player, 107, CLIENT_FLV, &pl_in, &pl_out);
    }

    void forwarder()
    {
        memset(&fwd, 0, sizeof fwd);
        fwd.src = src;
        strcpy(fwd.dest, "127.0.0.9:1935");
        fwd.state = FWD_FORWARDING;
        fwd.bytes_sent = 1000;
        fwd.reconnects = 2;
        env.fwd.list = &fwd;
    }

    void edge()
    {
        memset(&pull, 0, sizeof pull);
        pull.src = src;
        strcpy(pull.origin, "127.0.0.8:1935");
        pull.state = EDGE_PLAYING;
        pull.switches = 1;
        pull.bytes = 777;
        env.edge.list = &pull;
    }
};

const cJSON *get(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    EXPECT_NE(v, nullptr) << "missing \"" << k << "\"";
    return v;
}

std::string str(const cJSON *o, const char *k)
{
    const cJSON *v = get(o, k);
    EXPECT_TRUE(cJSON_IsString(v)) << k << " is not a string";
    return v && cJSON_IsString(v) ? v->valuestring : "";
}

double num(const cJSON *o, const char *k)
{
    const cJSON *v = get(o, k);
    EXPECT_TRUE(cJSON_IsNumber(v)) << k << " is not a number";
    return v && cJSON_IsNumber(v) ? v->valuedouble : -1;
}

}  // namespace

// ---- rates ----------------------------------------------------------------------

TEST(Rate, KbpsFromTheOldestSampleInTheWindow)
{
    rill_rate_t r;
    rill_rate_init(&r, 0);
    int64_t in, out;
    rill_rate_kbps(&r, 500, 1000, 1000, 30000, &in, &out);
    EXPECT_EQ(in, 0) << "under a second: no rate yet";
    // 125000 bytes/s in = 1000 kbps; 250000 bytes/s out = 2000 kbps
    for (int t = 5000; t <= 60000; t += 5000) rill_rate_sample(&r, t, 125ull * t, 250ull * t);
    rill_rate_kbps(&r, 62000, 125ull * 62000, 250ull * 62000, 30000, &in, &out);
    EXPECT_EQ(in, 1000);
    EXPECT_EQ(out, 2000);
    // the rate is of the last 30 s only: a burst 40 s ago is out of the window
    rill_rate_t b;
    rill_rate_init(&b, 0);
    rill_rate_sample(&b, 5000, 10000000, 0);
    for (int t = 10000; t <= 45000; t += 5000) rill_rate_sample(&b, t, 10000000, 0);
    rill_rate_kbps(&b, 46000, 10000000, 0, 30000, &in, &out);
    EXPECT_EQ(in, 0);
}

TEST(Rate, CounterResetGivesZeroNotGarbage)
{
    rill_rate_t r;
    rill_rate_init(&r, 0);
    rill_rate_sample(&r, 5000, 1000000, 1000000);
    int64_t in, out;
    rill_rate_kbps(&r, 10000, 10, 10, 30000, &in, &out);
    EXPECT_EQ(in, 0);
    EXPECT_EQ(out, 0);
}

TEST(Proc, ParsesStatWithSpacesAndParensInTheName)
{
    const char *stat = "4242 (ri ll) (x)) S 17 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3 0 "
                       "123 104857600 2560 18446744073709551615 1 1 0 0 0 0 0";
    rill_proc_t p;
    ASSERT_EQ(rill_proc_parse_stat(stat, 100, 4096, &p), 0);
    EXPECT_EQ(p.ppid, 17);
    EXPECT_DOUBLE_EQ(p.cpu_seconds, 3.0);
    EXPECT_EQ(p.threads, 3);
    EXPECT_EQ(p.vsize_bytes, 104857600u);
    EXPECT_EQ(p.rss_bytes, 2560u * 4096);
    EXPECT_EQ(rill_proc_parse_stat("42 (x) S 1 2", 100, 4096, &p), RILL_ERR_SYSTEM);
    EXPECT_EQ(rill_proc_parse_stat("garbage", 100, 4096, &p), RILL_ERR_SYSTEM);
    ASSERT_EQ(rill_proc_self(&p), 0);
    EXPECT_EQ(p.ppid, getppid());
    EXPECT_GT(p.rss_bytes, 0u);
}

// ---- JSON ---------------------------------------------------------------------

TEST(ApiJson, CodecNames)
{
    char l[16];
    EXPECT_STREQ(api_avc_profile_name(100), "High");
    EXPECT_STREQ(api_avc_profile_name(66), "Baseline");
    EXPECT_STREQ(api_hevc_profile_name(2), "Main10");
    api_avc_level_name(31, l);
    EXPECT_STREQ(l, "3.1");
    api_avc_level_name(30, l);
    EXPECT_STREQ(l, "3");
    api_hevc_level_name(93, l);
    EXPECT_STREQ(l, "3.1");
    api_hevc_level_name(120, l);
    EXPECT_STREQ(l, "4");
}

TEST(ApiJson, StreamHasSrsFieldsCodecsUpstreamAndForwarders)
{
    FakeServer f;
    source_t *s = f.publish();
    f.clients();
    f.forwarder();
    f.edge();
    // 10 s after creation (its zero sample is inside the 30 s window):
    // 1250000 bytes in 10 s = 1000 kbps, 2500000 out = 2000 kbps
    s->created_ms = 1000000;
    rill_rate_init(&s->rate, s->created_ms);
    rill_rate_sample(&s->rate, s->created_ms + 5000, 500000, 1000000);
    cJSON *o = api_json_stream(&f.view, s, s->created_ms + 10000);
    ASSERT_NE(o, nullptr);
    EXPECT_EQ(str(o, "id"), std::to_string(s->id));
    EXPECT_EQ(str(o, "name"), "demo");
    EXPECT_EQ(str(o, "vhost"), "__defaultVhost__");
    EXPECT_EQ(str(o, "app"), "live");
    EXPECT_EQ(str(o, "tcUrl"), "rtmp://127.0.0.1/live");
    EXPECT_EQ(str(o, "url"), "/live/demo");
    EXPECT_EQ(num(o, "clients"), 2);
    EXPECT_EQ(num(o, "players"), 1) << "the FLV player; the forwarder is not one";
    EXPECT_EQ(num(o, "frames"), 250);
    EXPECT_EQ(num(o, "recv_bytes"), 1250000);
    EXPECT_EQ(num(o, "send_bytes"), 2500000);
    const cJSON *k = get(o, "kbps");
    EXPECT_EQ(num(k, "recv_30s"), 1000);
    EXPECT_EQ(num(k, "send_30s"), 2000);
    const cJSON *p = get(o, "publish");
    EXPECT_TRUE(cJSON_IsTrue(get(p, "active")));
    EXPECT_EQ(str(p, "cid"), "105");
    const cJSON *v = get(o, "video");
    EXPECT_EQ(str(v, "codec"), "H264");
    EXPECT_EQ(str(v, "profile"), "High");
    EXPECT_EQ(str(v, "level"), "3");
    EXPECT_EQ(num(v, "width"), 640);
    EXPECT_EQ(num(v, "height"), 360);
    const cJSON *a = get(o, "audio");
    EXPECT_EQ(str(a, "codec"), "AAC");
    EXPECT_EQ(num(a, "sample_rate"), 44100);
    EXPECT_EQ(num(a, "channel"), 2);
    EXPECT_EQ(str(a, "profile"), "LC");
    const cJSON *u = get(o, "upstream");
    EXPECT_EQ(str(u, "origin"), "127.0.0.8:1935");
    EXPECT_EQ(str(u, "state"), "playing");
    EXPECT_EQ(num(u, "switches"), 1);
    EXPECT_EQ(num(u, "recv_bytes"), 777);
    EXPECT_EQ(num(u, "longest_gap_ms"), 0);     // no message noted by this fake upstream
    const cJSON *fw = get(o, "forwarders");
    ASSERT_TRUE(cJSON_IsArray(fw));
    ASSERT_EQ(cJSON_GetArraySize(fw), 1);
    const cJSON *f0 = cJSON_GetArrayItem(fw, 0);
    EXPECT_EQ(str(f0, "destination"), "127.0.0.9:1935");
    EXPECT_EQ(str(f0, "state"), "forwarding");
    EXPECT_EQ(num(f0, "send_bytes"), 1000);
    EXPECT_EQ(num(f0, "reconnects"), 2);
    cJSON_Delete(o);
    clients_remove(&f.env.clients, &f.pub);
    clients_remove(&f.env.clients, &f.player);
}

TEST(ApiJson, UnpublishedStreamHasNullCodecsAndNoCid)
{
    FakeServer f;
    source_t *s = f.publish();
    source_unpublish(s);
    consumer_t *co = source_add_consumer(s, nullptr);   // a player waiting keeps it
    cJSON *o = api_json_stream(&f.view, s, rill_now_ms());
    ASSERT_NE(o, nullptr);
    const cJSON *p = get(o, "publish");
    EXPECT_TRUE(cJSON_IsFalse(get(p, "active")));
    EXPECT_EQ(cJSON_GetObjectItemCaseSensitive(p, "cid"), nullptr);
    EXPECT_TRUE(cJSON_IsNull(get(o, "video")));
    EXPECT_TRUE(cJSON_IsNull(get(o, "audio")));
    EXPECT_EQ(cJSON_GetObjectItemCaseSensitive(o, "upstream"), nullptr) << "only an edge's streams have one";
    EXPECT_EQ(cJSON_GetArraySize(get(o, "forwarders")), 0);
    cJSON_Delete(o);
    source_remove_consumer(co);
}

TEST(ApiJson, ClientFields)
{
    FakeServer f;
    f.publish();
    f.clients();
    cJSON *o = api_json_client(&f.view, &f.player, rill_now_ms());
    ASSERT_NE(o, nullptr);
    EXPECT_EQ(str(o, "id"), "107");
    EXPECT_EQ(str(o, "ip"), "127.0.0.5");
    EXPECT_EQ(str(o, "vhost"), "__defaultVhost__");
    EXPECT_EQ(str(o, "app"), "live");
    EXPECT_EQ(str(o, "stream"), "demo");
    EXPECT_EQ(str(o, "stream_id"), std::to_string(f.src->id));
    EXPECT_EQ(str(o, "type"), "flv");
    EXPECT_TRUE(cJSON_IsFalse(get(o, "publish")));
    EXPECT_NEAR(num(o, "alive"), 2.5, 0.5);
    EXPECT_EQ(num(o, "send_bytes"), 4000);
    EXPECT_EQ(num(o, "recv_bytes"), 200);
    EXPECT_TRUE(cJSON_IsObject(get(o, "kbps")));
    cJSON_Delete(o);
    o = api_json_client(&f.view, &f.pub, rill_now_ms());
    EXPECT_EQ(str(o, "type"), "publish");
    EXPECT_TRUE(cJSON_IsTrue(get(o, "publish")));
    cJSON_Delete(o);
    // a client that is only connected has no stream yet
    client_t c;
    uint64_t zero = 0;
    f.client(&c, 200, CLIENT_RTMP, &zero, &zero);
    c.stream = "";
    o = api_json_client(&f.view, &c, rill_now_ms());
    EXPECT_EQ(str(o, "type"), "rtmp");
    EXPECT_TRUE(cJSON_IsNull(get(o, "stream_id")));
    cJSON_Delete(o);
    clients_remove(&f.env.clients, &c);
    clients_remove(&f.env.clients, &f.pub);
    clients_remove(&f.env.clients, &f.player);
    // the registry keeps what they did
    uint64_t in, out;
    clients_bytes(&f.env.clients, &in, &out);
    EXPECT_EQ(in, 5200u);
    EXPECT_EQ(out, 4300u);
    EXPECT_EQ(f.env.clients.closed, 3u);
}

TEST(ApiJson, VhostAndSummary)
{
    FakeServer f;
    f.publish();
    f.clients();
    cJSON *v = api_json_vhost(&f.view, config_vhost(f.conf, "__defaultVhost__"), rill_now_ms());
    ASSERT_NE(v, nullptr);
    EXPECT_EQ(str(v, "id"), "__defaultVhost__");
    EXPECT_EQ(str(v, "name"), "__defaultVhost__");
    EXPECT_EQ(num(v, "clients"), 2);
    EXPECT_EQ(num(v, "streams"), 1);
    EXPECT_EQ(num(v, "recv_bytes"), 1250000);
    EXPECT_TRUE(cJSON_IsObject(get(v, "kbps")));
    cJSON_Delete(v);
    v = api_json_vhost(&f.view, config_vhost(f.conf, "other.example"), rill_now_ms());
    EXPECT_EQ(num(v, "clients"), 0);
    EXPECT_EQ(num(v, "streams"), 0);
    cJSON_Delete(v);

    cJSON *d = api_json_summary(&f.view, rill_now_ms());
    ASSERT_NE(d, nullptr);
    EXPECT_TRUE(cJSON_IsTrue(get(d, "ok")));
    const cJSON *self = get(d, "self");
    EXPECT_EQ(num(self, "pid"), getpid());
    EXPECT_GT(num(self, "mem_kbyte"), 0);
    EXPECT_GE(num(self, "cpu_percent"), 0);
    EXPECT_NEAR(num(self, "srs_uptime"), 5, 1);
    const cJSON *sys = get(d, "system");
    EXPECT_EQ(num(sys, "srs_recv_bytes"), 5200);
    EXPECT_EQ(num(sys, "srs_send_bytes"), 4300);
    const cJSON *c = get(d, "connections");
    EXPECT_EQ(num(c, "clients"), 2);
    EXPECT_EQ(num(get(d, "streams"), "published"), 1);
    EXPECT_TRUE(cJSON_IsObject(get(d, "kbps")));
    cJSON_Delete(d);
    clients_remove(&f.env.clients, &f.pub);
    clients_remove(&f.env.clients, &f.player);
}

// ---- Prometheus text ------------------------------------------------------------

namespace {

// Checks the exposition format line by line: HELP then TYPE before a
// family's samples, each sample `name{labels} value`, counters in _total.
// Returns the samples as "name{labels}" -> value.
std::map<std::string, double> parse_prometheus(const std::string &text)
{
    std::map<std::string, double> out;
    std::map<std::string, std::string> types;
    static const std::regex help(R"(^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .+$)");
    static const std::regex type(R"(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$)");
    static const std::regex sample(
        R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*")(,[a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*")*\})? (-?[0-9.e+E-]+|NaN|\+Inf|-Inf)$)");
    std::istringstream in(text);
    std::string line, last_help;
    EXPECT_FALSE(text.empty());
    EXPECT_EQ(text.back(), '\n');
    while (std::getline(in, line)) {
        std::smatch m;
        if (std::regex_match(line, m, help)) {
            last_help = m[1];
            continue;
        }
        if (std::regex_match(line, m, type)) {
            EXPECT_EQ(m[1], last_help) << "TYPE without its HELP: " << line;
            EXPECT_EQ(types.count(m[1]), 0u) << "family declared twice: " << line;
            types[m[1]] = m[2];
            std::string name = m[1];
            if (m[2] == "counter") {
                EXPECT_TRUE(name.size() > 6 && name.substr(name.size() - 6) == "_total") << line;
            }
            continue;
        }
        bool ok = std::regex_match(line, m, sample);
        EXPECT_TRUE(ok) << "not a sample line: '" << line << "'";
        if (!ok) continue;
        EXPECT_EQ(types.count(m[1]), 1u) << "sample before its TYPE: " << line;
        std::string key = line.substr(0, line.rfind(' '));
        EXPECT_EQ(out.count(key), 0u) << "duplicate series " << key;
        out[key] = std::stod(line.substr(line.rfind(' ') + 1));
    }
    return out;
}

}  // namespace

TEST(Metrics, ParsesAsPrometheusTextWithPerStreamLabels)
{
    FakeServer f;
    f.publish();
    f.clients();
    f.forwarder();
    f.rtmp.refused = 3;
    f.rtmp.total = 9;
    rill_writer_t w;
    rill_writer_init(&w, 0);
    ASSERT_EQ(metrics_write(&f.view, rill_now_ms(), &w), 0);
    std::string text((const char *)w.data, w.len);
    rill_writer_free(&w);
    auto s = parse_prometheus(text);
    EXPECT_EQ(s["rill_clients{type=\"publish\"}"], 1);
    EXPECT_EQ(s["rill_clients{type=\"flv\"}"], 1);
    EXPECT_EQ(s["rill_publishers"], 1);
    EXPECT_EQ(s["rill_players"], 1);
    EXPECT_EQ(s["rill_streams"], 1);
    EXPECT_EQ(s["rill_streams_published"], 1);
    EXPECT_EQ(s["rill_connections_accepted_total"], 9);
    EXPECT_EQ(s["rill_errors_total{kind=\"refused\"}"], 3);
    EXPECT_EQ(s["rill_received_bytes_total"], 5200);
    EXPECT_EQ(s["rill_sent_bytes_total"], 4300 + 1000) << "clients and the forwarder";
    EXPECT_EQ(s["rill_forwarders{state=\"forwarding\"}"], 1);
    EXPECT_EQ(s["rill_stream_received_bytes_total{vhost=\"__defaultVhost__\",app=\"live\",stream=\"demo\"}"], 1250000);
    EXPECT_EQ(s["rill_stream_published{vhost=\"__defaultVhost__\",app=\"live\",stream=\"demo\"}"], 1);
    EXPECT_EQ(s.count("process_resident_memory_bytes"), 1u);
    clients_remove(&f.env.clients, &f.pub);
    clients_remove(&f.env.clients, &f.player);
}

TEST(Metrics, LabelValuesAreEscaped)
{
    FakeServer f;
    f.publish("we\"ird\\na\nme");
    rill_writer_t w;
    rill_writer_init(&w, 0);
    ASSERT_EQ(metrics_write(&f.view, rill_now_ms(), &w), 0);
    std::string text((const char *)w.data, w.len);
    rill_writer_free(&w);
    auto s = parse_prometheus(text);
    EXPECT_EQ(s.count("rill_stream_published{vhost=\"__defaultVhost__\",app=\"live\",stream=\"we\\\"ird\\\\na\\nme\"}"), 1u)
        << text;
}
