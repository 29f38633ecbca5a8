#include "edge_rhythm.h"

void edge_rhythm_new_session(edge_rhythm_t *r)
{
    r->last_ms = 0;
}

void edge_rhythm_note(edge_rhythm_t *r, int64_t now_ms)
{
    if (!r->first_ms) r->first_ms = now_ms;
    if (r->last_ms && now_ms >= r->last_ms) {
        int64_t sec = now_ms / 1000;
        int i = (int)(sec % EDGE_RHYTHM_SECONDS);
        if (r->second[i] != sec) {
            r->second[i] = sec;
            r->gap[i] = 0;
        }
        int64_t gap = now_ms - r->last_ms;
        if (gap > r->gap[i]) r->gap[i] = gap > 0x7fffffff ? 0x7fffffff : (int)gap;
    }
    r->last_ms = now_ms;
}

int edge_rhythm_longest(const edge_rhythm_t *r, int64_t now_ms)
{
    int64_t sec = now_ms / 1000;
    int longest = 0;
    for (int i = 0; i < EDGE_RHYTHM_SECONDS; i++)
        if (sec - r->second[i] < EDGE_RHYTHM_SECONDS && r->gap[i] > longest) longest = r->gap[i];
    return longest;
}

int edge_silence_limit(const edge_rhythm_t *r, int64_t now_ms, int factor, int min_ms, int max_ms)
{
    if (factor <= 0 || !r->last_ms || now_ms - r->first_ms < EDGE_RHYTHM_WARMUP_MS || min_ms >= max_ms)
        return max_ms;
    int64_t v = (int64_t)factor * edge_rhythm_longest(r, now_ms);
    if (v < min_ms) v = min_ms;
    if (v > max_ms) v = max_ms;
    return (int)v;
}
