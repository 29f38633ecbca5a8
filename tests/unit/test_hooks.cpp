// HTTP callbacks: the bodies (SRS's fields per action), the allow/deny rule
// for answers, the on_forward answer, and the http_hooks { } directives.
#include <gtest/gtest.h>

#include <cjson/cJSON.h>
#include <string>

#include "http_hooks.h"
#include "config.h"
#include "rill_error.h"

namespace {

std::string field(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : cJSON_IsNumber(v) ? std::to_string((long long)v->valuedouble) : "<absent>";
}

cJSON *body(const hook_event_t &e)
{
    char *s = http_hooks_body(&e);
    EXPECT_NE(s, nullptr);
    cJSON *o = cJSON_Parse(s);
    free(s);
    EXPECT_TRUE(cJSON_IsObject(o));
    return o;
}

hook_event_t event(const char *action)
{
    hook_event_t e = {};
    e.action = action;
    e.server_id = "vid-abc1234";
    e.service_id = "svc00001";
    e.client_id = 105;
    e.ip = "127.0.0.5";
    e.vhost = "__defaultVhost__";
    e.app = "live";
    e.stream = "demo";
    e.param = "?token=good";
    e.tc_url = "rtmp://127.0.0.1:1935/live?token=good";
    e.stream_id = 3;
    e.send_bytes = 1234;
    e.recv_bytes = 5678;
    return e;
}

bool allows(int status, const char *b)
{
    const char *why = nullptr;
    int r = http_hooks_answer_allows(status, b, strlen(b), &why);
    if (!r) {
        EXPECT_NE(why, nullptr);
    }
    return r == 1;
}

int load(const std::string &hooks, config_t **c, std::string *err)
{
    std::string text = "vhost __defaultVhost__ { http_hooks { " + hooks + " } }\n";
    char e[512] = "";
    int rc = config_load_string(text.c_str(), "hooks.conf", c, e, sizeof e);
    *err = e;
    return rc;
}

}  // namespace

TEST(HookBody, PublishHasSrsFields)
{
    cJSON *o = body(event("on_publish"));
    EXPECT_EQ(field(o, "action"), "on_publish");
    EXPECT_EQ(field(o, "server_id"), "vid-abc1234");
    EXPECT_EQ(field(o, "service_id"), "svc00001");
    EXPECT_EQ(field(o, "client_id"), "105");
    EXPECT_EQ(field(o, "ip"), "127.0.0.5");
    EXPECT_EQ(field(o, "vhost"), "__defaultVhost__");
    EXPECT_EQ(field(o, "app"), "live");
    EXPECT_EQ(field(o, "stream"), "demo");
    EXPECT_EQ(field(o, "param"), "?token=good");
    EXPECT_EQ(field(o, "tcUrl"), "rtmp://127.0.0.1:1935/live?token=good");
    EXPECT_EQ(field(o, "stream_url"), "/live/demo");
    EXPECT_EQ(field(o, "stream_id"), "3");
    EXPECT_EQ(field(o, "pageUrl"), "<absent>");
    EXPECT_EQ(field(o, "send_bytes"), "<absent>");
    cJSON_Delete(o);
}

TEST(HookBody, ConnectPlayAndClose)
{
    hook_event_t e = event("on_connect");
    e.stream = "";
    e.stream_id = 0;
    cJSON *o = body(e);
    EXPECT_EQ(field(o, "action"), "on_connect");
    EXPECT_EQ(field(o, "pageUrl"), "");
    EXPECT_EQ(field(o, "stream"), "");
    EXPECT_EQ(field(o, "stream_url"), "<absent>") << "no stream at connect";
    cJSON_Delete(o);

    o = body(event("on_play"));
    EXPECT_EQ(field(o, "pageUrl"), "");
    EXPECT_EQ(field(o, "stream_id"), "3");
    cJSON_Delete(o);

    e = event("on_close");
    o = body(e);
    EXPECT_EQ(field(o, "send_bytes"), "1234");
    EXPECT_EQ(field(o, "recv_bytes"), "5678");
    cJSON_Delete(o);

    // a stream not in the hub yet: no stream_id; NULL strings become ""
    e = event("on_stop");
    e.stream_id = 0;
    e.param = nullptr;
    o = body(e);
    EXPECT_EQ(field(o, "stream_id"), "<absent>");
    EXPECT_EQ(field(o, "param"), "");
    cJSON_Delete(o);
}

TEST(HookBody, StringsAreEscaped)
{
    hook_event_t e = event("on_publish");
    e.stream = "a\"b\\c\n";
    char *s = http_hooks_body(&e);
    cJSON *o = cJSON_Parse(s);
    ASSERT_NE(o, nullptr) << s;
    EXPECT_EQ(field(o, "stream"), "a\"b\\c\n");
    cJSON_Delete(o);
    free(s);
}

TEST(HookAnswer, ZeroOrCodeZeroAllows)
{
    EXPECT_TRUE(allows(200, "0"));
    EXPECT_TRUE(allows(200, "0\n"));
    EXPECT_TRUE(allows(200, " 0 \r\n"));
    EXPECT_TRUE(allows(200, "{\"code\":0}"));
    EXPECT_TRUE(allows(200, "{\"code\": 0, \"data\": {\"x\": 1}}"));
}

TEST(HookAnswer, AnythingElseDenies)
{
    EXPECT_FALSE(allows(200, "{\"code\":1}"));
    EXPECT_FALSE(allows(200, "{\"code\":403,\"msg\":\"no\"}"));
    EXPECT_FALSE(allows(200, "{\"code\":\"0\"}")) << "a string code is not code 0";
    EXPECT_FALSE(allows(200, "{}"));
    EXPECT_FALSE(allows(200, "1"));
    EXPECT_FALSE(allows(200, "-1"));
    EXPECT_FALSE(allows(200, "00"));
    EXPECT_FALSE(allows(200, "0.0"));
    EXPECT_FALSE(allows(200, "0 0"));
    EXPECT_FALSE(allows(200, "garbage"));
    EXPECT_FALSE(allows(200, "[0]"));
    EXPECT_FALSE(allows(200, "null"));
    EXPECT_FALSE(allows(200, ""));
    EXPECT_FALSE(allows(200, "   "));
    EXPECT_FALSE(allows(403, "0")) << "the status must be 200";
    EXPECT_FALSE(allows(500, "{\"code\":0}"));
    EXPECT_FALSE(allows(204, ""));
    EXPECT_EQ(http_hooks_answer_allows(200, nullptr, 0, nullptr), 0);
}

TEST(HookAnswer, ForwardUrls)
{
    char **urls = nullptr;
    int n = -1;
    const char *why = nullptr;
    const char *ok = "{\"code\":0,\"data\":{\"urls\":[\"rtmp://127.0.0.2:1936/live/a\",7,\"rtmp://127.0.0.3/x/y?k=v\"]}}";
    ASSERT_EQ(http_hooks_parse_forward(200, ok, strlen(ok), &urls, &n, &why), 0);
    ASSERT_EQ(n, 2) << "the number is skipped";
    EXPECT_STREQ(urls[0], "rtmp://127.0.0.2:1936/live/a");
    EXPECT_STREQ(urls[1], "rtmp://127.0.0.3/x/y?k=v");
    http_hooks_free_urls(urls, n);

    const char *none = "{\"code\":0}";
    ASSERT_EQ(http_hooks_parse_forward(200, none, strlen(none), &urls, &n, &why), 0);
    EXPECT_EQ(n, 0);
    http_hooks_free_urls(urls, n);

    const char *denied = "{\"code\":1,\"data\":{\"urls\":[\"rtmp://127.0.0.2/a/b\"]}}";
    EXPECT_EQ(http_hooks_parse_forward(200, denied, strlen(denied), &urls, &n, &why), RILL_ERR_DENIED);
    EXPECT_EQ(n, 0);
    const char *bad = "{\"code\":0,\"data\":{\"urls\":\"rtmp://x\"}}";
    EXPECT_EQ(http_hooks_parse_forward(200, bad, strlen(bad), &urls, &n, &why), RILL_ERR_HTTP);
    EXPECT_EQ(http_hooks_parse_forward(200, "0", 1, &urls, &n, &why), RILL_ERR_HTTP);
    EXPECT_EQ(http_hooks_parse_forward(200, "", 0, &urls, &n, &why), RILL_ERR_HTTP);
    EXPECT_EQ(http_hooks_parse_forward(502, ok, strlen(ok), &urls, &n, &why), RILL_ERR_HTTP);
}

TEST(HookAnswer, DeepNestingIsRefusedBeforeParsing)
{
    // cJSON recurses once a level: 700 levels would outgrow a 64 KiB coroutine stack
    std::string deep = "{\"code\":0,\"x\":" + std::string(700, '[') + std::string(700, ']') + "}";
    EXPECT_FALSE(allows(200, deep.c_str()));
    std::string fine = "{\"code\":0,\"x\":" + std::string(20, '[') + std::string(20, ']') + "}";
    EXPECT_TRUE(allows(200, fine.c_str()));
    // brackets inside strings are not nesting
    std::string quoted = "{\"code\":0,\"x\":\"" + std::string(700, '[') + "\\\"\"}";
    EXPECT_TRUE(allows(200, quoted.c_str()));
}

TEST(HookAnswer, ForwardUrlsAreBoundedAndDistinct)
{
    std::string body = "{\"code\":0,\"data\":{\"urls\":[\"rtmp://127.0.0.2/a/s\",\"rtmp://127.0.0.2/a/s\"";
    for (int i = 0; i < 1000; i++) body += ",\"rtmp://127.0.0.3/a/s" + std::to_string(i) + "\"";
    body += "]}}";
    char **urls = nullptr;
    int n = -1;
    const char *why = nullptr;
    ASSERT_EQ(0, http_hooks_parse_forward(200, body.c_str(), body.size(), &urls, &n, &why));
    EXPECT_EQ(16, n) << "the first 16 distinct URLs";
    EXPECT_STREQ("rtmp://127.0.0.2/a/s", urls[0]);
    EXPECT_STREQ("rtmp://127.0.0.3/a/s0", urls[1]);
    http_hooks_free_urls(urls, n);
}

TEST(HookConf, DefaultsAndUrls)
{
    config_t *c = nullptr;
    std::string err;
    ASSERT_EQ(load("enabled on; on_connect http://127.0.0.1:8085/api/v1/clients http://localhost:8085/b; "
                   "on_play http://127.0.0.2/p; on_dvr http://127.0.0.1/dvr; on_hls http://127.0.0.1/hls;", &c, &err), 0)
        << err;
    const vhost_conf_t *v = config_vhost(c, "__defaultVhost__");
    EXPECT_EQ(v->hooks_enabled, 1);
    EXPECT_EQ(v->hooks_timeout, 3000);
    ASSERT_EQ(v->nhooks[HOOK_CONNECT], 2);
    EXPECT_STREQ(v->hooks[HOOK_CONNECT][1], "http://localhost:8085/b");
    EXPECT_EQ(v->nhooks[HOOK_PLAY], 1);
    EXPECT_EQ(v->nhooks[HOOK_PUBLISH], 0);
    config_free(c);

    ASSERT_EQ(load("timeout 500; on_stop http://127.0.0.1/s;", &c, &err), 0) << err;
    v = config_vhost(c, "__defaultVhost__");
    EXPECT_EQ(v->hooks_enabled, 0) << "off unless enabled";
    EXPECT_EQ(v->hooks_timeout, 500);
    config_free(c);

    ASSERT_EQ(config_load_string("vhost v { }\n", "x.conf", &c, nullptr, 0), 0);
    v = config_vhost(c, "v");
    EXPECT_EQ(v->hooks_enabled, 0);
    EXPECT_EQ(v->hooks_timeout, 3000);
    for (int i = 0; i < HOOK_COUNT; i++) EXPECT_EQ(v->nhooks[i], 0);
    config_free(c);
}

TEST(HookConf, BadValuesNameTheLine)
{
    config_t *c = nullptr;
    std::string err;
    EXPECT_EQ(load("on_connect https://127.0.0.1/x;", &c, &err), RILL_ERR_CONF);
    EXPECT_NE(err.find("hooks.conf:1:"), std::string::npos) << err;
    EXPECT_NE(err.find("on_connect"), std::string::npos) << err;
    EXPECT_EQ(load("on_publish http://hooks..example.com/x;", &c, &err), RILL_ERR_CONF) << "not a host name";
    EXPECT_EQ(load("on_play;", &c, &err), RILL_ERR_CONF);
    EXPECT_EQ(load("on_play 127.0.0.1/x;", &c, &err), RILL_ERR_CONF);
    EXPECT_EQ(load("timeout 0;", &c, &err), RILL_ERR_CONF);
    EXPECT_EQ(load("timeout abc;", &c, &err), RILL_ERR_CONF);
    EXPECT_EQ(load("enabled yes;", &c, &err), RILL_ERR_CONF);
    EXPECT_EQ(load("on_play http://127.0.0.1/a; on_play http://127.0.0.1/b;", &c, &err), RILL_ERR_CONF)
        << "a second line would silently replace the first";
    EXPECT_EQ(load("on_everything http://127.0.0.1/a;", &c, &err), RILL_ERR_CONF);
}
