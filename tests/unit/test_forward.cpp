// The forwarder's decisions after a failed session (forward_after_failure):
// next destination, backoff, and when a failure is worth a warning.
#include <gtest/gtest.h>

#include "forward.h"

namespace {
const int kMin = 1000, kMax = 30000;
}

TEST(ForwardDecide, OneDestinationBacksOffDoublingUpToTheMax)
{
    int failures = 0;
    const int64_t expect[] = { 1000, 2000, 4000, 8000, 16000, 30000, 30000 };
    for (int64_t want : expect) {
        fwd_next_t n = forward_after_failure(0, 1, failures, 0, 100, kMin, kMax);
        EXPECT_EQ(0, n.cur);
        EXPECT_EQ(want, n.wait_ms);
        EXPECT_EQ(failures + 1, n.failures);
        failures = n.failures;
    }
}

TEST(ForwardDecide, ALongSessionResetsTheBackoff)
{
    // the 6th failure in a row would wait the max; a session that ran 6 s was a success
    fwd_next_t n = forward_after_failure(0, 1, 6, 1, 6000, kMin, kMax);
    EXPECT_EQ(kMin, n.wait_ms);
    EXPECT_EQ(1, n.failures);
    EXPECT_EQ(1, n.attempt);
    // 5 s exactly is not "longer than 5 s"
    n = forward_after_failure(0, 1, 6, 1, 5000, kMin, kMax);
    EXPECT_EQ(kMax, n.wait_ms);
}

TEST(ForwardDecide, AnOriginListFailsOverAtOnceAndBacksOffAfterAWholeRound)
{
    // three origins: 0 -> 1 -> 2 at once, then back to 0 after a backoff
    fwd_next_t n = forward_after_failure(0, 3, 0, 0, 10, kMin, kMax);
    EXPECT_EQ(1, n.cur);
    EXPECT_EQ(0, n.wait_ms);
    EXPECT_EQ(0, n.failures);
    n = forward_after_failure(1, 3, n.failures, 0, 10, kMin, kMax);
    EXPECT_EQ(2, n.cur);
    EXPECT_EQ(0, n.wait_ms);
    n = forward_after_failure(2, 3, n.failures, 0, 10, kMin, kMax);
    EXPECT_EQ(0, n.cur);
    EXPECT_EQ(kMin, n.wait_ms);
    EXPECT_EQ(1, n.failures);
    // the next round waits twice as long
    for (int cur = 0; cur < 3; cur++) n = forward_after_failure(cur, 3, n.failures, 0, 10, kMin, kMax);
    EXPECT_EQ(0, n.cur);
    EXPECT_EQ(2 * kMin, n.wait_ms);
}

TEST(ForwardDecide, WarnsOnTheFirstFailureEveryTenthAndWhenASessionWasUp)
{
    EXPECT_TRUE(forward_after_failure(0, 1, 0, 0, 10, kMin, kMax).log);
    for (int f = 1; f < 10; f++) EXPECT_FALSE(forward_after_failure(0, 1, f, 0, 10, kMin, kMax).log) << f;
    EXPECT_TRUE(forward_after_failure(0, 1, 10, 0, 10, kMin, kMax).log);
    EXPECT_EQ(11, forward_after_failure(0, 1, 10, 0, 10, kMin, kMax).attempt);
    EXPECT_TRUE(forward_after_failure(0, 1, 3, 1, 10, kMin, kMax).log);     // the slave was up: news
}

TEST(ForwardDecide, BackoffMinAboveMaxWaitsTheMax)
{
    EXPECT_EQ(500, forward_after_failure(0, 1, 0, 0, 10, 800, 500).wait_ms);
}
