#include "coro_stack.h"

#include <st.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

/* Below the trim's own frame, what madvise's libc wrapper and the
 * System V red zone (128 bytes under the stack pointer) may hold while it
 * runs; the page holding that much is kept. */
#define MARGIN 1024

static int g_key = -1;          /* per-thread: the entry frame; -2: no key */
static uintptr_t g_page;

void coro_stack_enter(void *frame)
{
    if (g_key == -1 && st_key_create(&g_key, NULL) != 0) g_key = -2;
    if (g_key >= 0) st_thread_setspecific(g_key, frame);
}

/* The bounds. libst 1.9 maps each stack as a guard page, the stack, a
 * guard page, all its own mapping (stk.c); st_thread_create puts the
 * thread record and the per-thread data at the top of the stack, then
 * _st_thread_main's frame, then our entry function's (task.c's
 * trampoline): together about 600 bytes on Debian's build. So with E the
 * entry frame and S the size asked for, the stack's top lies in
 * (E, E + PAGE) and its bottom in (E - S, E - S + PAGE). Trimming from
 * E - S + 2 pages leaves a page of slack on top of that (and the guard
 * page under the bottom is still this stack's own mapping); the two bottom
 * pages are only reached by a coroutine about to overflow anyway. The
 * layout is checked where it can be from outside: the thread record
 * (st_thread_self()) must sit just above the entry frame, or nothing is
 * trimmed. */
size_t coro_stack_trim(void)
{
    if (g_key < 0) return 0;
    uintptr_t entry = (uintptr_t)st_thread_getspecific(g_key);
    if (!entry) return 0;
    if (!g_page) g_page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t page = g_page;
    uintptr_t rec = (uintptr_t)st_thread_self();
    if (rec <= entry || rec - entry >= page / 2) return 0;
    uintptr_t here = (uintptr_t)__builtin_frame_address(0);
    if (here >= entry || entry - here >= CORO_STACK_SIZE / 2) return 0;
    uintptr_t lo = (entry - CORO_STACK_SIZE + 2 * page + page - 1) & ~(page - 1);
    uintptr_t hi = (here - MARGIN) & ~(page - 1);
    if (hi <= lo) return 0;
    if (madvise((void *)lo, hi - lo, MADV_DONTNEED) != 0) return 0;
    return hi - lo;
}
