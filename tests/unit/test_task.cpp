// task: start with an owner, interrupt, join; groups whose reaper
// joins the members that end on their own.
#include <gtest/gtest.h>

#include <st.h>

#include "rill_error.h"
#include "task.h"

namespace {

void st_once()
{
    static bool inited = false;
    if (!inited) {
        st_set_eventsys(ST_EVENTSYS_POLL);
        ASSERT_EQ(0, st_init());
        inited = true;
    }
}

struct Worker {
    task_t task = {};
    int loops = 0;
    int finished = 0;
    int released = 0;
    int run_ms = -1;            // >= 0: end on its own after this long
    int linger_ms = 0;          // after the stop, this long before returning (a teardown that yields)
};

void worker_body(void *arg)
{
    Worker *w = static_cast<Worker *>(arg);
    st_utime_t until = w->run_ms >= 0 ? st_utime() + (st_utime_t)w->run_ms * 1000 : 0;
    while (!*w->task.stopp && (!until || st_utime() < until)) {
        w->loops++;
        st_usleep(5 * 1000);
    }
    for (st_utime_t end = st_utime() + (st_utime_t)w->linger_ms * 1000; st_utime() < end;)
        st_usleep(1000);       // interrupts do not end this on purpose: a teardown that must finish
    w->finished = 1;
}

void worker_release(void *arg) { static_cast<Worker *>(arg)->released++; }

}  // namespace

TEST(Task, StopInterruptsASleepingBodyAndJoinsIt)
{
    st_once();
    Worker w;
    ASSERT_EQ(0, task_start(&w.task, worker_body, &w, nullptr));
    st_usleep(20 * 1000);
    EXPECT_GT(w.loops, 0);
    st_utime_t t0 = st_utime();
    task_stop(&w.task);
    EXPECT_EQ(1, w.finished);                   // the body returned before stop did
    EXPECT_LT(st_utime() - t0, 500 * 1000u);    // interrupted, not a sleep run out (5 ms loops anyway)
    EXPECT_EQ(nullptr, w.task.thread);
    task_stop(&w.task);                    // a second stop is a no-op
}

TEST(Task, StopSetsTheFlagTheBodyAlreadyChecks)
{
    st_once();
    Worker w;
    int kicked = 0;
    ASSERT_EQ(0, task_start(&w.task, worker_body, &w, &kicked));
    st_usleep(10 * 1000);
    task_stop(&w.task);
    EXPECT_EQ(1, kicked);
    EXPECT_EQ(0, w.task.stop);
    EXPECT_EQ(1, w.finished);
}

namespace {
struct Joiner {
    Worker *target;
    int joined_while_running = -1;
};

void joiner_body(void *arg)
{
    Joiner *j = static_cast<Joiner *>(arg);
    task_interrupt(&j->target->task);
    task_join(&j->target->task);
    j->joined_while_running = !j->target->finished;
}
}  // namespace

TEST(Task, AJoinerInterruptedWhileJoiningStillWaitsForTheEnd)
{
    st_once();
    Worker w;
    w.linger_ms = 60;           // its teardown takes a while after the stop
    ASSERT_EQ(0, task_start(&w.task, worker_body, &w, nullptr));
    st_usleep(10 * 1000);
    Joiner j{ &w };
    task_t jt = {};
    ASSERT_EQ(0, task_start(&jt, joiner_body, &j, nullptr));
    st_usleep(10 * 1000);       // the joiner now waits in task_join
    st_thread_interrupt(jt.thread);     // e.g. a publisher kicked while it joins its forwarder
    task_join(&jt);
    EXPECT_EQ(0, j.joined_while_running);    // st_thread_join's EINTR did not end the wait early
    EXPECT_EQ(1, w.finished);
}

TEST(TaskGroup, AMemberThatEndsOnItsOwnIsReapedAndReleased)
{
    st_once();
    tasks_t g;
    ASSERT_EQ(0, tasks_init(&g, "test"));
    Worker w;
    w.run_ms = 10;
    ASSERT_EQ(0, tasks_start(&g, &w.task, worker_body, &w, nullptr, worker_release));
    EXPECT_EQ(1, g.count);
    for (int i = 0; i < 100 && !w.released; i++) st_usleep(5 * 1000);
    EXPECT_EQ(1, w.finished);
    EXPECT_EQ(1, w.released);
    EXPECT_EQ(0, g.count);
    tasks_stop(&g);
    EXPECT_EQ(1, w.released);       // not twice
}

TEST(TaskGroup, StopInterruptsEveryMemberAtOnceJoinsAndReleasesEach)
{
    st_once();
    tasks_t g;
    ASSERT_EQ(0, tasks_init(&g, "test"));
    const int n = 20;
    Worker w[n];
    for (int i = 0; i < n; i++) {
        w[i].linger_ms = 50;        // each takes 50 ms to tear down
        ASSERT_EQ(0, tasks_start(&g, &w[i].task, worker_body, &w[i], nullptr, worker_release));
    }
    Worker early;
    early.run_ms = 0;               // ends at once: reaped or joined by the stop, released once either way
    ASSERT_EQ(0, tasks_start(&g, &early.task, worker_body, &early, nullptr, worker_release));
    st_usleep(10 * 1000);
    st_utime_t t0 = st_utime();
    tasks_stop(&g);
    st_utime_t took = st_utime() - t0;
    for (int i = 0; i < n; i++) {
        EXPECT_EQ(1, w[i].finished) << i;
        EXPECT_EQ(1, w[i].released) << i;
    }
    EXPECT_EQ(1, early.released);
    EXPECT_EQ(0, g.count);
    // interrupted together: about one teardown, far from twenty (1 s)
    EXPECT_LT(took, 600 * 1000u);
    Worker late;
    EXPECT_NE(0, tasks_start(&g, &late.task, worker_body, &late, nullptr, worker_release));
}
