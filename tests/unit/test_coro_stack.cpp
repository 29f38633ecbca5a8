// coro_stack: a coroutine started by task.c gives back the stack pages below
// its frame, keeps what is above it, and can go deep again afterwards; a
// coroutine not started by task.c (or the main thread) trims nothing.
#include <gtest/gtest.h>

#include <st.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "coro_stack.h"
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

const uintptr_t kPage = (uintptr_t)sysconf(_SC_PAGESIZE);

// Touch `bytes` of stack below the caller: what a handshake or a log line does once.
CORO_OUT_OF_LINE int go_deep(size_t bytes)
{
    volatile char buf[24 * 1024];
    size_t n = bytes < sizeof buf ? bytes : sizeof buf;
    memset((char *)buf, 0x5a, n);
    int sum = 0;
    for (size_t i = 0; i < n; i += 512) sum += buf[i];
    return sum;
}

// Resident pages of [lo, hi) (page-aligned).
int resident(uintptr_t lo, uintptr_t hi)
{
    size_t n = (hi - lo) / kPage;
    unsigned char vec[64];
    if (n > sizeof vec || mincore((void *)lo, hi - lo, vec) != 0) return -1;
    int r = 0;
    for (size_t i = 0; i < n; i++) r += vec[i] & 1;
    return r;
}

struct Probe {
    task_t task = {};
    size_t trimmed = 0, trimmed_again = 0;
    int deep_before = -1, deep_after = -1, deep_again = -1;
    int canary_ok = 0, deep_ok = 0;
};

void probe_body(void *arg)
{
    Probe *p = static_cast<Probe *>(arg);
    volatile uint64_t canary = 0x0123456789abcdefULL;   // in this frame: above what is trimmed
    uintptr_t here = (uintptr_t)__builtin_frame_address(0) & ~(kPage - 1);
    int sum = go_deep(20 * 1024);
    // 3 to 4 pages under this frame's page: all touched by go_deep
    uintptr_t lo = here - 4 * kPage, hi = here - 2 * kPage;
    p->deep_before = resident(lo, hi);
    p->trimmed = coro_stack_trim();
    p->deep_after = resident(lo, hi);
    p->canary_ok = canary == 0x0123456789abcdefULL;
    // deep again: the pages come back (as zeros, then written)
    p->deep_ok = go_deep(20 * 1024) == sum;
    p->deep_again = resident(lo, hi);
    p->trimmed_again = coro_stack_trim();
}

void *plain_body(void *arg)
{
    *static_cast<size_t *>(arg) = coro_stack_trim() + 1;
    return nullptr;
}

}  // namespace

TEST(CoroStack, TrimGivesBackThePagesBelowTheFrameAndKeepsItsOwn)
{
    st_once();
    Probe p;
    ASSERT_EQ(0, task_start(&p.task, probe_body, &p, nullptr));
    task_join(&p.task);
    EXPECT_EQ(2, p.deep_before);
    EXPECT_GE(p.trimmed, 16 * 1024u);                 // at least what go_deep touched under the margin
    EXPECT_LT(p.trimmed, (size_t)CORO_STACK_SIZE);
    EXPECT_EQ(0, p.deep_after);
    EXPECT_EQ(1, p.canary_ok);
    EXPECT_EQ(1, p.deep_ok);
    EXPECT_EQ(2, p.deep_again);
    EXPECT_GE(p.trimmed_again, 16 * 1024u);
}

TEST(CoroStack, NothingOutsideTaskCoroutines)
{
    st_once();
    EXPECT_EQ(0u, coro_stack_trim());                 // the main thread
    size_t got = 0;
    st_thread_t t = st_thread_create(plain_body, &got, 1, 0);
    ASSERT_NE(nullptr, t);
    st_thread_join(t, nullptr);
    EXPECT_EQ(1u, got);                               // ran, trimmed nothing
}
