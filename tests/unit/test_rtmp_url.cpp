// RTMP URLs, stream params and the command builders/parsers.
#include <gtest/gtest.h>

#include <string>

#include "rill_error.h"
#include "rtmp_cmd.h"
#include "rtmp_url.h"

TEST(RtmpUrl, ParsesHostPortAppStreamParams)
{
    rtmp_url_t u;
    ASSERT_EQ(rtmp_url_parse("rtmp://127.0.0.1:19350/live/x?token=a&vhost=v", &u), 0);
    EXPECT_STREQ(u.host, "127.0.0.1");
    EXPECT_EQ(u.port, 19350);
    EXPECT_STREQ(u.app, "live");
    EXPECT_STREQ(u.stream, "x");
    EXPECT_STREQ(u.param, "?token=a&vhost=v");
    ASSERT_EQ(rtmp_url_parse("rtmp://example.com/live", &u), 0);
    EXPECT_EQ(u.port, 1935);
    EXPECT_STREQ(u.app, "live");
    EXPECT_STREQ(u.stream, "");
    ASSERT_EQ(rtmp_url_parse("rtmp://h/app?vhost=a", &u), 0);
    EXPECT_STREQ(u.app, "app");
    EXPECT_STREQ(u.param, "?vhost=a");
}

TEST(RtmpUrl, RefusesBadUrls)
{
    rtmp_url_t u;
    EXPECT_EQ(rtmp_url_parse("http://h/live", &u), RILL_ERR_INVAL);
    EXPECT_EQ(rtmp_url_parse("rtmp://:1935/live", &u), RILL_ERR_INVAL);
    EXPECT_EQ(rtmp_url_parse("rtmp://h:0/live", &u), RILL_ERR_INVAL);
    EXPECT_EQ(rtmp_url_parse("rtmp://h:99999/live", &u), RILL_ERR_INVAL);
    std::string longhost = "rtmp://" + std::string(300, 'a') + "/live";
    EXPECT_EQ(rtmp_url_parse(longhost.c_str(), &u), RILL_ERR_INVAL);
}

TEST(RtmpUrl, SplitsAndReadsParams)
{
    char name[32], param[64], v[32];
    ASSERT_EQ(rtmp_split_param("stream?token=abc&vhost=x", name, sizeof name, param, sizeof param), 0);
    EXPECT_STREQ(name, "stream");
    EXPECT_STREQ(param, "?token=abc&vhost=x");
    EXPECT_TRUE(rtmp_param_get(param, "token", v, sizeof v));
    EXPECT_STREQ(v, "abc");
    EXPECT_TRUE(rtmp_param_get(param, "vhost", v, sizeof v));
    EXPECT_STREQ(v, "x");
    EXPECT_FALSE(rtmp_param_get(param, "tok", v, sizeof v));
    ASSERT_EQ(rtmp_split_param("plain", name, sizeof name, param, sizeof param), 0);
    EXPECT_STREQ(param, "");
    EXPECT_EQ(rtmp_split_param(std::string(40, 'x').c_str(), name, sizeof name, param, sizeof param), RILL_ERR_INVAL);
}

TEST(RtmpCmd, ConnectResultRoundTrip)
{
    rill_writer_t w;
    rill_writer_init(&w, 0);
    ASSERT_EQ(rtmp_cmd_connect_result(&w, 1, 0), 0);
    rtmp_cmd_t c;
    ASSERT_EQ(rtmp_cmd_parse(w.data, w.len, 0, &c), 0);
    EXPECT_STREQ(c.name, "_result");
    EXPECT_EQ(c.txid, 1);
    const amf0_value_t *info = rtmp_cmd_arg(&c, 1);
    ASSERT_NE(info, nullptr);
    EXPECT_STREQ(amf0_object_get_string(info, "code"), "NetConnection.Connect.Success");
    rtmp_cmd_free(&c);
    rill_writer_free(&w);
}

TEST(RtmpCmd, ClientCommandsParseBack)
{
    rill_writer_t w;
    rill_writer_init(&w, 0);
    ASSERT_EQ(rtmp_cmd_connect(&w, 1, "live", "rtmp://127.0.0.1/live", 1, 1), 0);
    rtmp_cmd_t c;
    ASSERT_EQ(rtmp_cmd_parse(w.data, w.len, 0, &c), 0);
    EXPECT_STREQ(c.name, "connect");
    EXPECT_STREQ(amf0_object_get_string(rtmp_cmd_arg(&c, 0), "app"), "live");
    const amf0_value_t *edge = amf0_object_get(rtmp_cmd_arg(&c, 0), "rillEdge");
    ASSERT_NE(edge, nullptr);
    EXPECT_EQ(edge->type, AMF0_BOOLEAN);
    rtmp_cmd_free(&c);
    rill_writer_reset(&w);
    ASSERT_EQ(rtmp_cmd_play(&w, 4, "x?token=1"), 0);
    ASSERT_EQ(rtmp_cmd_parse(w.data, w.len, 0, &c), 0);
    EXPECT_STREQ(rtmp_cmd_arg_string(&c, 1), "x?token=1");
    rtmp_cmd_free(&c);
    // AMF3 command form: one leading byte, then AMF0.
    rill_writer_t w3;
    rill_writer_init(&w3, 0);
    rill_write_u8(&w3, 0);
    rill_write_bytes(&w3, w.data, w.len);
    ASSERT_EQ(rtmp_cmd_parse(w3.data, w3.len, 1, &c), 0);
    EXPECT_STREQ(c.name, "play");
    rtmp_cmd_free(&c);
    rill_writer_free(&w3);
    rill_writer_free(&w);
}

TEST(RtmpCmd, RefusesNonCommands)
{
    rtmp_cmd_t c;
    uint8_t num_only[] = { 0, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0 };
    EXPECT_NE(rtmp_cmd_parse(num_only, sizeof num_only, 0, &c), 0);
    uint8_t truncated[] = { 2, 0, 7, 'c', 'o', 'n' };
    EXPECT_NE(rtmp_cmd_parse(truncated, sizeof truncated, 0, &c), 0);
    EXPECT_NE(rtmp_cmd_parse(nullptr, 0, 1, &c), 0);
}

TEST(RtmpCmd, MetadataUnwrapStripsSetDataFrame)
{
    rill_writer_t in, out;
    rill_writer_init(&in, 0);
    rill_writer_init(&out, 0);
    amf0_write_string(&in, "@setDataFrame");
    amf0_write_string(&in, "onMetaData");
    amf0_value_t *o = amf0_new_ecma_array();
    amf0_object_set(o, "width", amf0_new_number(640));
    amf0_encode(&in, o);
    amf0_free(o);
    ASSERT_EQ(rtmp_metadata_unwrap(in.data, in.len, &out), 1);
    amf0_value_t **vals;
    size_t n;
    ASSERT_EQ(amf0_decode_all(out.data, out.len, &vals, &n), 0);
    ASSERT_EQ(n, 2u);
    EXPECT_STREQ(vals[0]->str, "onMetaData");
    EXPECT_EQ(amf0_object_get_number(vals[1], "width", 0), 640);
    amf0_free_all(vals, n);
    // Other script data is not metadata.
    rill_writer_reset(&in);
    rill_writer_reset(&out);
    amf0_write_string(&in, "onTextData");
    amf0_write_null(&in);
    EXPECT_EQ(rtmp_metadata_unwrap(in.data, in.len, &out), 0);
    rill_writer_free(&in);
    rill_writer_free(&out);
}
