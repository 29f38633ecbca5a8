/* A coroutine's stack pages, given back once it settles at a shallow depth.
 *
 * Every connection has its own coroutine, and libst maps each stack once and
 * never unmaps it (an ended coroutine's stack goes to a free list for the
 * next one). A page the coroutine touched stays resident for good: a player
 * that went 8 KB deep once (handshake HMAC, connect parsing, a log line's
 * vsnprintf) keeps 3 pages of stack while it sits parked at 1.5 KB. So:
 *
 *   - coroutines started by task.c get an explicit stack size (CORO_STACK_SIZE)
 *     and note their entry frame (coro_stack_enter, in task.c's trampoline);
 *   - a long-lived coroutine that has done its deep work calls
 *     coro_stack_trim() once, at a shallow point (a player before its pump):
 *     the pages of its own stack strictly below the caller's frame (minus a
 *     margin) are dropped with madvise(MADV_DONTNEED) and read back as zeros
 *     if it ever goes that deep again;
 *   - the steps a parked player no longer runs (handshake, connect, publish,
 *     long names) keep their buffers in frames of their own (CORO_OUT_OF_LINE),
 *     not in the frame of the function that then parks: the parked depth is
 *     what stays resident.
 */
#ifndef CORO_STACK_H
#define CORO_STACK_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* libst's default on Debian (1.9), stated so the trim knows the bounds. */
#define CORO_STACK_SIZE (64 * 1024)

/* A function whose locals must not join its caller's frame: the compiler
 * would otherwise inline a one-off step (and its buffers) into the frame of
 * a function that stays on the stack for hours. */
#define CORO_OUT_OF_LINE __attribute__((noinline))

/* At the entry of a coroutine made with CORO_STACK_SIZE: frame is the entry
 * function's __builtin_frame_address(0). Keeps it in the coroutine's
 * per-thread data. */
void coro_stack_enter(void *frame);

/* Give back the calling coroutine's stack pages below its current depth.
 * Returns the bytes advised away (0: not a coroutine of task.c, nothing
 * below, or the layout is not the one assumed). Never yields. */
size_t coro_stack_trim(void);

#ifdef __cplusplus
}
#endif
#endif
