// The edge pull's decisions: which origin next, when to back off, when
// to give up, which failures mark an origin (edge_next_origin,
// edge_after_session, edge_marks_failed).
#include <gtest/gtest.h>

#include "edge.h"
#include "rill_error.h"

TEST(EdgeDecide, FirstOriginIsTheFirstHealthyOne)
{
    int none[3] = { 0, 0, 0 };
    EXPECT_EQ(0, edge_next_origin(3, none, -1));
    int first_failed[3] = { 1, 0, 0 };
    EXPECT_EQ(1, edge_next_origin(3, first_failed, -1));
    int all_failed[3] = { 1, 1, 1 };
    EXPECT_EQ(0, edge_next_origin(3, all_failed, -1));      // every one failed: list order
}

TEST(EdgeDecide, NextOriginWrapsSkipsFailedAndNeverRepeatsWhileThereAreOthers)
{
    int none[3] = { 0, 0, 0 };
    EXPECT_EQ(1, edge_next_origin(3, none, 0));
    EXPECT_EQ(0, edge_next_origin(3, none, 2));            // wraps
    int mid_failed[3] = { 0, 1, 0 };
    EXPECT_EQ(2, edge_next_origin(3, mid_failed, 0));      // skips the failed one
    int others_failed[3] = { 1, 0, 1 };
    EXPECT_EQ(2, edge_next_origin(3, others_failed, 1));   // only 'from' is healthy: not it, the next in order
    int ok_only_self[2] = { 0, 1 };
    EXPECT_EQ(1, edge_next_origin(2, ok_only_self, 0));
    int one[1] = { 0 };
    EXPECT_EQ(0, edge_next_origin(1, one, 0));             // a single origin: itself again
}

TEST(EdgeDecide, ARoundOverEveryOriginBacksOff)
{
    edge_retry_t r = { 0, 0 };
    EXPECT_EQ(EDGE_NEXT, edge_after_session(&r, 3, 0, 1000, 0));
    EXPECT_EQ(EDGE_NEXT, edge_after_session(&r, 3, 0, 1100, 0));
    EXPECT_EQ(EDGE_ROUND_DONE, edge_after_session(&r, 3, 0, 1200, 0));
    EXPECT_EQ(0, r.tried);                                 // the next round starts over
    EXPECT_EQ(1000, r.failing_since);                      // the run of failures goes on
    EXPECT_EQ(EDGE_NEXT, edge_after_session(&r, 3, 0, 1300, 0));
}

TEST(EdgeDecide, GivesUpWhenFailingLongerThanGiveUp)
{
    edge_retry_t r = { 0, 0 };
    EXPECT_EQ(EDGE_NEXT, edge_after_session(&r, 2, 0, 10000, 5000));
    EXPECT_EQ(EDGE_ROUND_DONE, edge_after_session(&r, 2, 0, 12000, 5000));
    EXPECT_EQ(EDGE_NEXT, edge_after_session(&r, 2, 0, 14999, 5000));
    EXPECT_EQ(EDGE_GIVE_UP, edge_after_session(&r, 2, 0, 15000, 5000));
    // give_up 0: never
    edge_retry_t n = { 0, 0 };
    for (int i = 0; i < 10; i++) EXPECT_NE(EDGE_GIVE_UP, edge_after_session(&n, 2, 0, 1000000LL * i, 0));
}

TEST(EdgeDecide, MediaResetsTheRunOfFailures)
{
    edge_retry_t r = { 0, 0 };
    edge_after_session(&r, 2, 0, 10000, 5000);             // failing since 10000
    // a session that played media and then failed: a fresh start, not 14 s of failure
    EXPECT_EQ(EDGE_NEXT, edge_after_session(&r, 2, 1, 24000, 5000));
    EXPECT_EQ(24000, r.failing_since);
    EXPECT_EQ(1, r.tried);
}

TEST(EdgeDecide, OnlyAnOriginThatNeverWorkedIsMarkedFailed)
{
    EXPECT_TRUE(edge_marks_failed(RILL_ERR_IO, 0));        // refused, reset, timeout before media
    EXPECT_FALSE(edge_marks_failed(RILL_ERR_IO, 1));       // it sent media, then broke
    EXPECT_FALSE(edge_marks_failed(EDGE_LOST, 0));         // it answered: the stream is not there
}
