/* --stack-probe: paint the unused part of a coroutine's stack with a
 * pattern at its start, and at its end find how deep the pattern was
 * overwritten. It touches every page of every stack, so it is off by
 * default (RSS then only counts the pages a coroutine really used). */
#include "bench_run.h"

#define PATTERN 0xA5
/* state-threads keeps the thread record and its keys at the top of the
 * stack; leave room below the painted area for the guard page side too. */
#define TOP_MARGIN    4096
#define BOTTOM_MARGIN 8192

__attribute__((noinline)) void bench_stack_paint(size_t stack_size, void **top, void **base)
{
    volatile uint8_t *here = (volatile uint8_t *)__builtin_frame_address(0);
    volatile uint8_t *hi = here - 1024;     /* below this function's frame and the red zone */
    volatile uint8_t *lo = here - (stack_size - TOP_MARGIN - BOTTOM_MARGIN);
    for (volatile uint8_t *p = lo; p < hi; p++) *p = PATTERN;
    *top = (void *)here;
    *base = (void *)lo;
}

uint32_t bench_stack_used(void *top, void *base)
{
    const uint8_t *p = base, *end = top;
    while (p < end && *p == PATTERN) p++;
    return (uint32_t)(end - p);
}
