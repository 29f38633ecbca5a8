// The edge pull's decisions: which origin next, when to back off, when
// to give up, which failures mark an origin (edge_next_origin,
// edge_after_session, edge_marks_failed).
#include <gtest/gtest.h>

#include "edge.h"
#include "edge_standby.h"
#include "rill_error.h"

#include <stdio.h>
#include <string.h>

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

// ---- the guards (edge_guard.h)

TEST(EdgeGuard, AbsentNamesAreRememberedUntilTheirTime)
{
    static edge_guard_t g;      // large: not on the stack
    memset(&g, 0, sizeof g);
    uint64_t a = edge_absent_key("v", "live", "a"), b = edge_absent_key("v", "live", "b");
    EXPECT_NE(a, b);
    EXPECT_NE(edge_absent_key("v", "livea", ""), edge_absent_key("v", "live", "a"));   // parts stay apart
    EXPECT_EQ(0, edge_absent_left(&g, a, 1000));
    edge_absent_put(&g, a, 3000);
    EXPECT_EQ(2000, edge_absent_left(&g, a, 1000));
    EXPECT_EQ(0, edge_absent_left(&g, b, 1000));
    EXPECT_EQ(0, edge_absent_left(&g, a, 3000));                  // over
    edge_absent_put(&g, a, 9000);                                  // renewed in place
    EXPECT_EQ(8000, edge_absent_left(&g, a, 1000));
}

TEST(EdgeGuard, AbsentNamesAreForgottenAtOnce)
{
    static edge_guard_t g;
    memset(&g, 0, sizeof g);
    uint64_t a = edge_absent_key("v", "live", "a"), b = edge_absent_key("v", "live", "b");
    edge_absent_put(&g, a, 3000);
    edge_absent_put(&g, b, 1500);
    EXPECT_EQ(1, edge_absent_forget_all(&g, 2000));               // b's memory had ended: one counted
    EXPECT_EQ(0, edge_absent_left(&g, a, 1000));
    EXPECT_EQ(0, edge_absent_left(&g, b, 1000));
    EXPECT_EQ(0, edge_absent_forget_all(&g, 0));
}

TEST(EdgeGuard, AbsentMemoryIsBoundedAndEvictsTheSoonestToEnd)
{
    static edge_guard_t g;
    memset(&g, 0, sizeof g);
    // far more names than slots: memory stays bounded, recent long-lived names stay
    for (int i = 0; i < 3 * EDGE_ABSENT_SLOTS; i++) {
        char name[32];
        snprintf(name, sizeof name, "n%d", i);
        edge_absent_put(&g, edge_absent_key("v", "live", name), 1000 + i);
    }
    int kept = 0;
    for (int i = 2 * EDGE_ABSENT_SLOTS; i < 3 * EDGE_ABSENT_SLOTS; i++) {
        char name[32];
        snprintf(name, sizeof name, "n%d", i);
        kept += edge_absent_left(&g, edge_absent_key("v", "live", name), 0) > 0;
    }
    EXPECT_GT(kept, EDGE_ABSENT_SLOTS / 2);                       // the newest mostly survive
}

TEST(EdgeGuard, WaitingPlaysPerAddressAreBounded)
{
    static edge_guard_t g;
    memset(&g, 0, sizeof g);
    for (int i = 0; i < 3; i++) EXPECT_EQ(0, edge_waiter_add(&g, "10.0.0.1", 3));
    EXPECT_EQ(-1, edge_waiter_add(&g, "10.0.0.1", 3));            // the 4th waits nowhere
    EXPECT_EQ(0, edge_waiter_add(&g, "10.0.0.2", 3));             // another address is not affected
    EXPECT_EQ(3, edge_waiter_count(&g, "10.0.0.1"));
    edge_waiter_remove(&g, "10.0.0.1");
    EXPECT_EQ(0, edge_waiter_add(&g, "10.0.0.1", 3));             // one left: room again
    for (int i = 0; i < 3; i++) edge_waiter_remove(&g, "10.0.0.1");
    EXPECT_EQ(0, edge_waiter_count(&g, "10.0.0.1"));
    EXPECT_EQ(1, g.nwaiters);                                      // its slot is free again
    edge_waiter_remove(&g, "10.0.0.9");                            // unknown: harmless
}

TEST(EdgeGuard, AttemptsPerOriginArePerSecondAndInFlight)
{
    edge_rate_t r = { 0, 0, 0 };
    // 3 per second, 2 at once
    EXPECT_TRUE(edge_rate_allows(&r, 10000, 3, 2));
    edge_rate_begin(&r, 10000);
    edge_rate_begin(&r, 10010);
    EXPECT_FALSE(edge_rate_allows(&r, 10020, 3, 2));              // 2 under way
    edge_rate_end(&r);
    EXPECT_TRUE(edge_rate_allows(&r, 10020, 3, 2));
    edge_rate_begin(&r, 10020);
    edge_rate_end(&r);
    edge_rate_end(&r);
    EXPECT_FALSE(edge_rate_allows(&r, 10500, 3, 2));              // 3 this second, none under way
    EXPECT_TRUE(edge_rate_allows(&r, 11000, 3, 2));               // a new second
    edge_rate_begin(&r, 11000);
    EXPECT_EQ(1, r.count);
    edge_rate_end(&r);
    edge_rate_end(&r);                                             // never below zero
    EXPECT_EQ(0, r.inflight);
}

// ---- silence detection (edge_rhythm.h)

// Feed messages at the given period(s) from t0 for ms; returns the last time.
static int64_t feed(edge_rhythm_t *r, int64_t t0, int64_t ms, int period1, int period2 = 0)
{
    int64_t a = t0, b = t0, t = t0;
    while (t < t0 + ms) {
        if (!period2 || a <= b) {
            t = a;
            a += period1;
        } else {
            t = b;
            b += period2;
        }
        edge_rhythm_note(r, t);
    }
    return t;
}

// The first silence length, in 10 ms steps after last, that is a hang.
static int hang_after(const edge_rhythm_t *r, int64_t last, int factor = 4, int min_ms = 300, int max_ms = 2000)
{
    for (int s = 0; s <= max_ms + 10; s += 10)
        if (s >= edge_silence_limit(r, last + s, factor, min_ms, max_ms)) return s;
    return -1;
}

TEST(EdgeSilence, LiveVideoWithAudioIsNoticedInAboutHalfASecond)
{
    edge_rhythm_t r = {};
    int64_t last = feed(&r, 100000, 10000, 40, 23);   // 25 fps video + AAC 44.1 kHz, 10 s
    int h = hang_after(&r, last);
    EXPECT_GE(h, 300);                                 // never under the lower bound
    EXPECT_LE(h, 500);
}

TEST(EdgeSilence, ItsOwnJitterIsNotAHang)
{
    edge_rhythm_t r = {};
    // 25 fps with a 250 ms hiccup now and then (a loaded origin): the limit
    // grows to four times the hiccup, so the next hiccup is not a hang
    int64_t t = feed(&r, 100000, 3000, 40);
    t += 250;
    edge_rhythm_note(&r, t);
    t = feed(&r, t, 2000, 40);
    EXPECT_EQ(1000, edge_silence_limit(&r, t, 4, 300, 2000));
    EXPECT_GT(hang_after(&r, t), 250);
}

TEST(EdgeSilence, AudioOnlyAndSlideShowAreNotSwitchedByMistake)
{
    edge_rhythm_t audio = {};
    int64_t last = feed(&audio, 100000, 10000, 23);    // audio only: dense, with 300 ms of slack
    for (int gap = 23; gap <= 290; gap += 10) EXPECT_LT(gap, edge_silence_limit(&audio, last + gap, 4, 300, 2000));
    edge_rhythm_t slides = {};
    last = feed(&slides, 100000, 10000, 1000);         // a 1 fps slide show, no audio
    EXPECT_EQ(2000, edge_silence_limit(&slides, last, 4, 300, 2000));   // the read timeout's patience
    // a slide a little late (1.5 s) is no hang either
    EXPECT_LT(1500, edge_silence_limit(&slides, last + 1500, 4, 300, 2000));
}

TEST(EdgeSilence, UnknownRhythmUsesTheReadTimeout)
{
    edge_rhythm_t r = {};
    EXPECT_EQ(2000, edge_silence_limit(&r, 5000, 4, 300, 2000));        // nothing yet
    int64_t last = feed(&r, 100000, 1000, 40);                         // under the warm-up
    EXPECT_EQ(2000, edge_silence_limit(&r, last, 4, 300, 2000));
    last = feed(&r, last, 2000, 40);
    EXPECT_EQ(300, edge_silence_limit(&r, last, 4, 300, 2000));
    EXPECT_EQ(2000, edge_silence_limit(&r, last, 0, 300, 2000));        // factor 0: off
    edge_rhythm_new_session(&r);                                        // a new origin, no message yet
    EXPECT_EQ(2000, edge_silence_limit(&r, last + 50, 4, 300, 2000));
    edge_rhythm_note(&r, last + 900);                                   // the connect time is no gap
    EXPECT_EQ(300, edge_silence_limit(&r, last + 900, 4, 300, 2000));
    EXPECT_EQ(2000, edge_silence_limit(&r, last + 900, 4, 3000, 2000)); // min above max: max
}

TEST(EdgeSilence, OldGapsAgeOut)
{
    edge_rhythm_t r = {};
    int64_t t = feed(&r, 100000, 3000, 40);
    t += 400;                                           // one long gap...
    edge_rhythm_note(&r, t);
    EXPECT_EQ(1600, edge_silence_limit(&r, t, 4, 300, 2000));
    t = feed(&r, t, (EDGE_RHYTHM_SECONDS + 1) * 1000, 40);   // ...forgotten after the history
    EXPECT_EQ(300, edge_silence_limit(&r, t, 4, 300, 2000));
}

// ---- origin_redundancy: may the standby continue by timestamp?

TEST(EdgeStandby, ContinuesWhenItOverlapsWhatWasSent)
{
    // sent up to 10000; the standby holds 8000..10120: the next frame after 10000 is in it
    EXPECT_TRUE(edge_standby_aligned(10000, 1, 8000, 10120, 5000));
    // the standby is a little behind (9900): it passes 10000 live, nothing is missed
    EXPECT_TRUE(edge_standby_aligned(10000, 1, 7000, 9900, 5000));
    // its ring starts after what was sent: frames 10000..10500 would be missing
    EXPECT_FALSE(edge_standby_aligned(10000, 1, 10500, 12000, 5000));
    // another timeline (an origin whose forward restarted): not by timestamp
    EXPECT_FALSE(edge_standby_aligned(10000, 1, 500, 2000, 5000));
    EXPECT_FALSE(edge_standby_aligned(10000, 1, 60000, 62000, 5000));
    // nothing queued yet
    EXPECT_FALSE(edge_standby_aligned(10000, 0, 0, 0, 5000));
    // across the 32-bit wrap
    EXPECT_TRUE(edge_standby_aligned(5, 1, 0xfffffff0u, 40, 5000));
}

TEST(EdgeStandby, RingKeepsTheNewestAndReleasesWhatItDrops)
{
    static edge_standby_t sb;   // large: not on the stack
    memset(&sb, 0, sizeof sb);
    const uint8_t body[4] = { 0x17, 1, 0, 0 };
    for (int i = 0; i < EDGE_STANDBY_QLEN + 2; i++) {
        rtmp_msg_t m;
        memset(&m, 0, sizeof m);
        m.type = RTMP_MSG_VIDEO;
        m.timestamp = 1000 + 40 * (uint32_t)i;
        m.payload = rill_payload_from(body, sizeof body);
        ASSERT_NE(m.payload, nullptr);
        edge_standby_push(&sb, &m);     // takes the reference; the oldest is released when full
    }
    EXPECT_EQ(EDGE_STANDBY_QLEN, sb.qn);
    int have = 0;
    EXPECT_EQ(1000u + 80u, edge_standby_oldest_ts(&sb, &have));   // the first two were dropped
    EXPECT_EQ(1, have);
    EXPECT_EQ(1000u + 40u * (EDGE_STANDBY_QLEN + 1), sb.newest_ts);
    rtmp_msg_t out;
    ASSERT_EQ(0, edge_standby_pop(&sb, &out));
    EXPECT_EQ(1080u, out.timestamp);
    rill_payload_unref(out.payload);
    edge_standby_drain(&sb);                                         // LeakSanitizer checks the rest
    EXPECT_EQ(0, sb.qn);
    EXPECT_EQ(1, edge_standby_pop(&sb, &out));
}

// ---- origin_redundancy: merging the two copies, the first one to deliver a message wins

namespace {
struct Merge {
    edge_merge_t sent, a, b;
    Merge() { memset(this, 0, sizeof *this); }
    int A(int track, uint32_t ts) { return edge_merge_take(&sent, &a, track, ts, 1, 5000); }
    int B(int track, uint32_t ts) { return edge_merge_take(&sent, &b, track, ts, 0, 5000); }
};
}

TEST(EdgeMerge, EachMessageOnceFromWhicheverCopyComesFirst)
{
    Merge m;
    const int V = EDGE_TRACK_VIDEO, Au = EDGE_TRACK_AUDIO;
    // the standby joins behind (its GOP from the origin's cache): nothing of it goes out
    EXPECT_EQ(EDGE_MERGE_SEND, m.A(V, 1000));
    EXPECT_EQ(EDGE_MERGE_SEND, m.A(Au, 1003));
    EXPECT_EQ(EDGE_MERGE_DROP, m.B(V, 960));
    EXPECT_EQ(EDGE_MERGE_DROP, m.B(V, 1000));    // the active one's copy went out
    EXPECT_EQ(EDGE_MERGE_DROP, m.B(Au, 1003));
    // the standby delivers 1040 first: it goes out, the active one's copy is dropped
    EXPECT_EQ(EDGE_MERGE_SEND, m.B(V, 1040));
    EXPECT_EQ(EDGE_MERGE_DROP, m.A(V, 1040));
    // the active one hangs: the standby carries the stream alone
    EXPECT_EQ(EDGE_MERGE_SEND, m.B(V, 1080));
    EXPECT_EQ(EDGE_MERGE_SEND, m.B(Au, 1026));
    EXPECT_EQ(EDGE_MERGE_SEND, m.B(V, 1120));
    // it comes back with its backlog: all copies
    EXPECT_EQ(EDGE_MERGE_DROP, m.A(V, 1080));
    EXPECT_EQ(EDGE_MERGE_DROP, m.A(Au, 1026));
    EXPECT_EQ(EDGE_MERGE_DROP, m.A(V, 1120));
    EXPECT_EQ(EDGE_MERGE_SEND, m.A(V, 1160));
    EXPECT_EQ(EDGE_MERGE_DROP, m.B(V, 1160));
}

TEST(EdgeMerge, EqualTimestampsInATrackAreToldApartByRank)
{
    Merge m;
    const int V = EDGE_TRACK_VIDEO;
    EXPECT_EQ(EDGE_MERGE_SEND, m.A(V, 2000));
    EXPECT_EQ(EDGE_MERGE_DROP, m.B(V, 2000));
    // two more messages at 2000: the standby has the second first
    EXPECT_EQ(EDGE_MERGE_SEND, m.B(V, 2000));
    EXPECT_EQ(EDGE_MERGE_DROP, m.A(V, 2000));
    EXPECT_EQ(EDGE_MERGE_SEND, m.A(V, 2000));
    EXPECT_EQ(EDGE_MERGE_DROP, m.B(V, 2000));
    EXPECT_EQ(EDGE_MERGE_SEND, m.B(V, 2040));
    EXPECT_EQ(1, m.sent.t[V].n);
}

TEST(EdgeMerge, AStandbyAheadWithAHoleIsNotMerged)
{
    Merge m;
    const int V = EDGE_TRACK_VIDEO;
    EXPECT_EQ(EDGE_MERGE_SEND, m.A(V, 1000));
    // the standby's first messages are 200 ms ahead: 1040..1160 would be missing
    EXPECT_EQ(EDGE_MERGE_DROP, m.B(V, 1200));
    EXPECT_EQ(EDGE_MERGE_DROP, m.B(V, 1240));
    EXPECT_EQ(EDGE_MERGE_SEND, m.A(V, 1040));
    // once level with what was sent, its next message may go
    Merge n;
    EXPECT_EQ(EDGE_MERGE_SEND, n.A(V, 1000));
    EXPECT_EQ(EDGE_MERGE_DROP, n.B(V, 1000));
    EXPECT_EQ(EDGE_MERGE_SEND, n.B(V, 1040));
}

TEST(EdgeMerge, ARestartedTimelineIsNotMerged)
{
    Merge m;
    const int V = EDGE_TRACK_VIDEO;
    EXPECT_EQ(EDGE_MERGE_SEND, m.A(V, 30000));
    EXPECT_EQ(EDGE_MERGE_DROP, m.B(V, 30000));
    // the standby's origin restarted the stream: its timestamps went back
    EXPECT_EQ(EDGE_MERGE_APART, m.B(V, 40));
    // one level with what was sent that jumps far ahead: another timeline
    Merge j;
    EXPECT_EQ(EDGE_MERGE_SEND, j.A(V, 1000));
    EXPECT_EQ(EDGE_MERGE_DROP, j.B(V, 1000));
    EXPECT_EQ(EDGE_MERGE_APART, j.B(V, 90000));
    // the active one's timeline restarting wins: it goes on, the standby (old timeline) is not next
    Merge r;
    EXPECT_EQ(EDGE_MERGE_SEND, r.A(V, 30000));
    EXPECT_EQ(EDGE_MERGE_DROP, r.B(V, 30000));
    EXPECT_EQ(EDGE_MERGE_SEND, r.A(V, 0));
    EXPECT_EQ(EDGE_MERGE_SEND, r.A(V, 40));
    EXPECT_EQ(EDGE_MERGE_APART, r.B(V, 30040));
    // a part sent again (an origin's publisher reconnected: its GOP again, 2 s back):
    // dropped from either copy until it passes what was sent, no new timeline
    Merge g;
    EXPECT_EQ(EDGE_MERGE_SEND, g.A(V, 10000));
    EXPECT_EQ(EDGE_MERGE_DROP, g.B(V, 10000));
    EXPECT_EQ(EDGE_MERGE_DROP, g.B(V, 8000));
    EXPECT_EQ(EDGE_MERGE_DROP, g.A(V, 8000));
    EXPECT_EQ(EDGE_MERGE_DROP, g.A(V, 10000));
    EXPECT_EQ(EDGE_MERGE_SEND, g.A(V, 10040));
    EXPECT_EQ(EDGE_MERGE_DROP, g.B(V, 9960));
    EXPECT_EQ(EDGE_MERGE_DROP, g.B(V, 10000));
    EXPECT_EQ(EDGE_MERGE_DROP, g.B(V, 10040));   // level again
    EXPECT_EQ(EDGE_MERGE_SEND, g.B(V, 10080));
    // across the 32-bit wrap
    Merge w;
    EXPECT_EQ(EDGE_MERGE_SEND, w.A(V, 0xffffffd8u));
    EXPECT_EQ(EDGE_MERGE_DROP, w.B(V, 0xffffffd8u));
    EXPECT_EQ(EDGE_MERGE_SEND, w.B(V, 0x10u));
    EXPECT_EQ(EDGE_MERGE_DROP, w.A(V, 0x10u));
}

// ---- an ordinary switch: does the new origin continue the timeline players got?

namespace {
struct Rejoin {
    edge_merge_t sent, old_copy, copy;
    uint32_t print[2];
    Rejoin() { memset(this, 0, sizeof *this); }
    static uint32_t body(uint32_t ts, int track, uint8_t seed = 0)
    {
        uint8_t b[8] = { (uint8_t)track, seed, (uint8_t)ts, (uint8_t)(ts >> 8), (uint8_t)(ts >> 16), 1, 2, 3 };
        return edge_msg_print(b, sizeof b);
    }
    // the old origin sent this (through the merge as the active copy)
    void sent_msg(int track, uint32_t ts)
    {
        ASSERT_EQ(EDGE_MERGE_SEND, edge_merge_take(&sent, &old_copy, track, ts, 1, 5000));
        print[track] = body(ts, track);
    }
    int check(int track, uint32_t ts, uint8_t seed = 0)
    {
        return edge_rejoin_check(&sent, print, &copy, track, ts, body(ts, track, seed), 5000);
    }
};
}

TEST(EdgeRejoin, TheSameMessageAtTheLastPositionSentIsTheSameTimeline)
{
    const int V = EDGE_TRACK_VIDEO, A = EDGE_TRACK_AUDIO;
    Rejoin r;
    for (uint32_t t = 10000; t <= 11000; t += 40) r.sent_msg(V, t);
    for (uint32_t t = 10000; t <= 11010; t += 23) r.sent_msg(A, t);   // the last audio one at 10989
    Rejoin a = r;
    // the new origin's GOP from the same keyframe: a part players had, then the last one sent
    for (uint32_t t = 10000; t < 11000; t += 40) EXPECT_EQ(EDGE_REJOIN_WAIT, r.check(V, t)) << t;
    EXPECT_EQ(EDGE_REJOIN_SAME, r.check(V, 11000));
    // then the merge, with the new origin as the active copy, drops what players had and sends the rest
    edge_merge_t act;
    memset(&act, 0, sizeof act);
    EXPECT_EQ(EDGE_MERGE_DROP, edge_merge_take(&r.sent, &act, V, 10960, 1, 5000));
    EXPECT_EQ(EDGE_MERGE_DROP, edge_merge_take(&r.sent, &act, V, 11000, 1, 5000));
    EXPECT_EQ(EDGE_MERGE_DROP, edge_merge_take(&r.sent, &act, A, 10989, 1, 5000));
    EXPECT_EQ(EDGE_MERGE_SEND, edge_merge_take(&r.sent, &act, A, 11012, 1, 5000));
    EXPECT_EQ(EDGE_MERGE_SEND, edge_merge_take(&r.sent, &act, V, 11040, 1, 5000));
    // audio decides as well as video
    EXPECT_EQ(EDGE_REJOIN_WAIT, a.check(A, 10966));
    EXPECT_EQ(EDGE_REJOIN_SAME, a.check(A, 10989));
}

TEST(EdgeRejoin, AnotherTimelineIsApartOrLeftToTheCallersBound)
{
    const int V = EDGE_TRACK_VIDEO, A = EDGE_TRACK_AUDIO;
    Rejoin base;
    for (uint32_t t = 10000; t <= 11000; t += 40) base.sent_msg(V, t);
    // other bytes at the last position sent (a publisher of its own, same timestamps)
    Rejoin r = base;
    EXPECT_EQ(EDGE_REJOIN_WAIT, r.check(V, 10960, 7));
    EXPECT_EQ(EDGE_REJOIN_APART, r.check(V, 11000, 7));
    // timestamps that pass the last one sent without meeting it
    r = base;
    EXPECT_EQ(EDGE_REJOIN_WAIT, r.check(V, 10990));
    EXPECT_EQ(EDGE_REJOIN_APART, r.check(V, 11030));
    // a new GOP that begins after what was sent: nothing to drop, rebased as before
    r = base;
    EXPECT_EQ(EDGE_REJOIN_APART, r.check(V, 11040));
    // more than the skew away, either way
    r = base;
    EXPECT_EQ(EDGE_REJOIN_APART, r.check(V, 5000));
    r = base;
    EXPECT_EQ(EDGE_REJOIN_APART, r.check(V, 90000));
    // behind within the skew (an origin late, or an encoder that restarted): it waits; the caller bounds it
    r = base;
    for (uint32_t t = 7000; t <= 9000; t += 40) EXPECT_EQ(EDGE_REJOIN_WAIT, r.check(V, t)) << t;
    // a track nothing was sent on decides nothing
    r = base;
    EXPECT_EQ(EDGE_REJOIN_WAIT, r.check(A, 11000));
    EXPECT_EQ(EDGE_REJOIN_WAIT, r.check(A, 99999));
}

TEST(EdgeRejoin, EqualTimestampsAreToldApartByRank)
{
    const int V = EDGE_TRACK_VIDEO;
    Rejoin base;
    base.sent_msg(V, 1000);
    base.sent_msg(V, 1000);     // two messages at 1000: the second one is the last sent
    Rejoin r = base;
    EXPECT_EQ(EDGE_REJOIN_WAIT, r.check(V, 1000));
    EXPECT_EQ(EDGE_REJOIN_SAME, r.check(V, 1000));
    // only one at 1000 on the new origin, then past: apart
    r = base;
    EXPECT_EQ(EDGE_REJOIN_WAIT, r.check(V, 1000));
    EXPECT_EQ(EDGE_REJOIN_APART, r.check(V, 1040));
    // across the 32-bit wrap
    Rejoin w;
    w.sent_msg(V, 0x10u);
    EXPECT_EQ(EDGE_REJOIN_WAIT, w.check(V, 0xffffffd8u));
    EXPECT_EQ(EDGE_REJOIN_SAME, w.check(V, 0x10u));
}

TEST(EdgeRejoin, ThePrintTellsBytesAndSizeApart)
{
    const uint8_t a[4] = { 1, 2, 3, 4 }, b[4] = { 1, 2, 3, 5 };
    EXPECT_EQ(edge_msg_print(a, 4), edge_msg_print(a, 4));
    EXPECT_NE(edge_msg_print(a, 4), edge_msg_print(b, 4));
    EXPECT_NE(edge_msg_print(a, 3), edge_msg_print(a, 4));
}
