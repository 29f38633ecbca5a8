/* End-to-end latency when publisher and players share one process: the
 * publisher notes when it sent each video message, keyed by the message's
 * size and its last bytes (servers change timestamps -- nginx-rtmp starts
 * every player at 0 -- but never payloads); a player that receives a
 * message with the same key knows how long it took. Pure code. */
#ifndef BENCH_LAT_H
#define BENCH_LAT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BENCH_LAT_TAIL  16      /* bytes of the payload's end in the key */
#define BENCH_LAT_SLOTS 16384   /* direct-mapped; a collision only loses a sample */

/* The key of a payload of size bytes whose last min(size, 16) bytes are tail. */
uint64_t bench_lat_key(uint32_t size, const uint8_t *tail, size_t tail_len);

typedef struct bench_lat_table {
    struct { uint64_t key; int64_t sent_us; } e[BENCH_LAT_SLOTS];
    uint64_t puts;
} bench_lat_table_t;

void bench_lat_put(bench_lat_table_t *t, uint64_t key, int64_t sent_us);
/* 1 and *sent_us when the key was sent within max_age_us of now, else 0. */
int bench_lat_get(const bench_lat_table_t *t, uint64_t key, int64_t now_us, int64_t max_age_us, int64_t *sent_us);

#ifdef __cplusplus
}
#endif
#endif
