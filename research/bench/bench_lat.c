#include "bench_lat.h"

uint64_t bench_lat_key(uint32_t size, const uint8_t *tail, size_t tail_len)
{
    /* FNV-1a over the tail, the size in the high half: 0 is never a key */
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < tail_len; i++) {
        h ^= tail[i];
        h *= 16777619u;
    }
    return ((uint64_t)(size + 1) << 32) | h;
}

static size_t slot(uint64_t key)
{
    uint64_t x = key * 0x9E3779B97F4A7C15ull;
    return (size_t)(x >> 40) & (BENCH_LAT_SLOTS - 1);
}

void bench_lat_put(bench_lat_table_t *t, uint64_t key, int64_t sent_us)
{
    size_t i = slot(key);
    t->e[i].key = key;
    t->e[i].sent_us = sent_us;
    t->puts++;
}

int bench_lat_get(const bench_lat_table_t *t, uint64_t key, int64_t now_us, int64_t max_age_us, int64_t *sent_us)
{
    size_t i = slot(key);
    if (t->e[i].key != key || now_us - t->e[i].sent_us > max_age_us) return 0;
    *sent_us = t->e[i].sent_us;
    return 1;
}
