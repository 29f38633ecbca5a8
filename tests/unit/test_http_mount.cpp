// SRS-style HTTP-FLV mounts.
#include <gtest/gtest.h>

#include "http_mount.h"
#include "rill_error.h"

TEST(HttpMount, DefaultMountCapturesAppAndStream)
{
    http_mount_match_t m;
    ASSERT_EQ(http_mount_match("[vhost]/[app]/[stream].flv", "/live/x.flv", &m), 1);
    EXPECT_STREQ(m.app, "live");
    EXPECT_STREQ(m.stream, "x");
    ASSERT_EQ(http_mount_match("[vhost]/[app]/[stream].flv", "/live/a.b.flv", &m), 1);
    EXPECT_STREQ(m.stream, "a.b");
}

TEST(HttpMount, RefusesWhatDoesNotMatch)
{
    http_mount_match_t m;
    EXPECT_EQ(http_mount_match("[vhost]/[app]/[stream].flv", "/live/x.ts", &m), 0);
    EXPECT_EQ(http_mount_match("[vhost]/[app]/[stream].flv", "/live/x/y.flv", &m), 0);
    EXPECT_EQ(http_mount_match("[vhost]/[app]/[stream].flv", "/x.flv", &m), 0);
    EXPECT_EQ(http_mount_match("[vhost]/[app]/[stream].flv", "/live/.flv", &m), 0);
    EXPECT_EQ(http_mount_match("[vhost]/[app]/[stream].flv", "/", &m), 0);
}

TEST(HttpMount, LiteralAppMount)
{
    http_mount_match_t m;
    ASSERT_EQ(http_mount_match("/live/[stream].flv", "/live/x.flv", &m), 1);
    EXPECT_STREQ(m.app, "");
    EXPECT_STREQ(m.stream, "x");
    EXPECT_EQ(http_mount_match("/live/[stream].flv", "/other/x.flv", &m), 0);
}

TEST(HttpMount, InvalidMounts)
{
    http_mount_match_t m;
    EXPECT_EQ(http_mount_match("/live/x.flv", "/live/x.flv", &m), RILL_ERR_INVAL);
    EXPECT_EQ(http_mount_match("/[app]/[vhost]/[stream].flv", "/a/b/c.flv", &m), RILL_ERR_INVAL);
    EXPECT_TRUE(http_mount_valid("[vhost]/[app]/[stream].flv"));
    EXPECT_FALSE(http_mount_valid("[vhost]/[app]/x.flv"));
}

TEST(HttpMount, LongSegmentsRefused)
{
    http_mount_match_t m;
    std::string path = "/live/" + std::string(300, 'a') + ".flv";
    EXPECT_EQ(http_mount_match("[vhost]/[app]/[stream].flv", path.c_str(), &m), 0);
}
