/* Samples the byte counters of the server, every stream and every client a
 * few times a minute (one coroutine), so the API and the metrics can give
 * 30-second kbps without per-message work, and tracks the process's CPU. */
#ifndef STATS_H
#define STATS_H

#include <st.h>
#include <stdint.h>
#include "rill_rate.h"
#include "task.h"
#include "session_env.h"

#ifdef __cplusplus
extern "C" {
#endif

#define STATS_INTERVAL_MS  5000
#define STATS_KBPS_WINDOW_MS     30000

typedef struct stats {
    session_env_t *env;
    task_t task;                /* the server stops it first at shutdown */
    rill_rate_t rate;           /* the server's bytes in/out */
    int64_t cpu_ms;             /* when cpu_s was read */
    double cpu_s;
    double cpu_percent;         /* over the last interval */
} stats_t;

int stats_start(stats_t *st, session_env_t *env);
void stats_stop(stats_t *st);
/* One sampling pass (the coroutine's work; tests call it directly). */
void stats_sample(stats_t *st, int64_t now_ms);
/* Every byte the server received and sent: clients (present and past),
 * edge upstreams and forwarders. */
void stats_bytes(const session_env_t *env, uint64_t *in, uint64_t *out);

#ifdef __cplusplus
}
#endif
#endif
