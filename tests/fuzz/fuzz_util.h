/* Helpers shared by the fuzz targets: a deterministic split of the input
 * into pieces (what the network would hand a reader), and a C string copy. */
#ifndef FUZZ_UTIL_H
#define FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* FNV-1a: piece sizes follow from the bytes themselves, so seeds stay plain
 * captures (no control prefix) and every run of one input splits it the same. */
static inline uint64_t fuzz_hash(const uint8_t *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ull;
    return h ? h : 1;
}

typedef struct fuzz_split { uint64_t s; } fuzz_split_t;

static inline void fuzz_split_init(fuzz_split_t *sp, const uint8_t *p, size_t n)
{
    sp->s = fuzz_hash(p, n);
}

static inline uint64_t fuzz_rand(fuzz_split_t *sp)
{
    sp->s ^= sp->s << 13;
    sp->s ^= sp->s >> 7;
    sp->s ^= sp->s << 17;
    return sp->s;
}

/* Next piece size (>= 1, <= left): mostly small, sometimes a read buffer's worth. */
static inline size_t fuzz_piece(fuzz_split_t *sp, size_t left)
{
    uint64_t r = fuzz_rand(sp);
    size_t k;
    switch (r & 7) {
    case 0: case 1: case 2: k = 1 + (size_t)((r >> 8) % 8); break;
    case 3: case 4: k = 1 + (size_t)((r >> 8) % 200); break;
    case 5: k = 1 + (size_t)((r >> 8) % 4096); break;
    default: k = left; break;
    }
    return k < left ? k : left;
}

/* NUL-terminated copy (embedded NULs end the string early, as in C callers). */
static inline char *fuzz_strndup(const uint8_t *p, size_t n)
{
    char *s = malloc(n + 1);
    if (!s) abort();
    if (n) memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

#define FUZZ_CHECK(cond) do { if (!(cond)) { fuzz_fail(#cond, __FILE__, __LINE__); } } while (0)
#include <stdio.h>
static inline void fuzz_fail(const char *what, const char *file, int line)
{
    fprintf(stderr, "fuzz check failed: %s at %s:%d\n", what, file, line);
    abort();
}

#endif
