/* When is an origin hung? The edge learns its stream's rhythm: the longest
 * gap between two messages in the last seconds. Silence longer than a
 * multiple of it is a hang, bounded below (a live stream's jitter is not a
 * hang) and above (the configured read timeout, which also covers a stream
 * whose rhythm is not known yet). A 25 fps stream with audio is noticed in
 * about the lower bound; an audio-only stream or a 1 fps slide show keeps
 * the read timeout's patience. Pure (unit-tested): the caller passes the
 * clock. */
#ifndef EDGE_RHYTHM_H
#define EDGE_RHYTHM_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EDGE_RHYTHM_SECONDS 8       /* history of gaps: one bucket per second */
#define EDGE_RHYTHM_WARMUP_MS 2000  /* history needed before the rhythm is trusted */

typedef struct edge_rhythm {
    int64_t first_ms;           /* the first message ever noted (0: none) */
    int64_t last_ms;            /* the last message of the session under way (0: none yet) */
    int64_t second[EDGE_RHYTHM_SECONDS];  /* which second (ms / 1000) each bucket holds */
    int gap[EDGE_RHYTHM_SECONDS];         /* the longest gap that ended in that second */
} edge_rhythm_t;

/* A new upstream session: the time it took to connect is not a gap of the
 * stream. The history stays (the stream's rhythm does not change with the origin). */
void edge_rhythm_new_session(edge_rhythm_t *r);
/* A message arrived at now_ms. */
void edge_rhythm_note(edge_rhythm_t *r, int64_t now_ms);
/* The longest gap in the last EDGE_RHYTHM_SECONDS at now_ms. */
int edge_rhythm_longest(const edge_rhythm_t *r, int64_t now_ms);
/* ms of silence that mean a hang at now_ms: factor x the longest recent gap,
 * within min_ms..max_ms; max_ms while no message came this session, while
 * the history is shorter than EDGE_RHYTHM_WARMUP_MS, or with factor 0. */
int edge_silence_limit(const edge_rhythm_t *r, int64_t now_ms, int factor, int min_ms, int max_ms);

#ifdef __cplusplus
}
#endif
#endif
