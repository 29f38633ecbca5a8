/* Live heap blocks by size, for finding what each player holds (issue 15).
 * An LD_PRELOAD shim over glibc's allocator: it counts every block alive by
 * its usable size (malloc_usable_size), so two dumps taken before and after
 * N players show which sizes the players added.
 *
 *   cc -O2 -shared -fPIC -o objs/heapcount.so research/heap/heapcount.c
 *   HEAPCOUNT_OUT=/tmp/hc LD_PRELOAD=objs/heapcount.so objs/rill -c ...
 *   gdb -p PID -batch -ex 'call (void)heapcount_dump()'     # writes /tmp/hc.1, /tmp/hc.2, ...
 *
 * Each dump: one line per size with blocks alive, "usable_size count". Single
 * threaded programs only (rill is): the counters are not atomic. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
extern void *__libc_memalign(size_t, size_t);

#define MAX_TRACKED (256 * 1024)        /* larger blocks are counted in one bucket */
static long counts[MAX_TRACKED / 8 + 1];

static void count(void *p, int d)
{
    if (!p) return;
    size_t n = malloc_usable_size(p) / 8;
    if (n > MAX_TRACKED / 8) n = MAX_TRACKED / 8;
    counts[n] += d;
}

void *malloc(size_t n)
{
    void *p = __libc_malloc(n);
    count(p, 1);
    return p;
}

void *calloc(size_t k, size_t n)
{
    void *p = __libc_calloc(k, n);
    count(p, 1);
    return p;
}

void *realloc(void *old, size_t n)
{
    count(old, -1);
    void *p = __libc_realloc(old, n);
    if (p) count(p, 1);
    else if (n) count(old, 1);      /* failed: the old block stays */
    return p;
}

void free(void *p)
{
    count(p, -1);
    __libc_free(p);
}

void *memalign(size_t align, size_t n)
{
    void *p = __libc_memalign(align, n);
    count(p, 1);
    return p;
}

void *aligned_alloc(size_t align, size_t n) { return memalign(align, n); }

int posix_memalign(void **out, size_t align, size_t n)
{
    void *p = memalign(align, n);
    if (!p) return 12;      /* ENOMEM */
    *out = p;
    return 0;
}

void heapcount_dump(void)
{
    static int seq;
    const char *base = getenv("HEAPCOUNT_OUT");
    char path[512];
    snprintf(path, sizeof path, "%s.%d", base ? base : "/tmp/heapcount", ++seq);
    FILE *f = fopen(path, "w");
    if (!f) return;
    for (size_t i = 0; i <= MAX_TRACKED / 8; i++)
        if (counts[i]) fprintf(f, "%zu %ld\n", i * 8, counts[i]);
    fclose(f);
}
