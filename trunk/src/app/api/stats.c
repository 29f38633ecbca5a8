#include "stats.h"
#include "rill_error.h"
#include "rill_log.h"
#include "rill_proc.h"
#include "rill_time.h"

#include <string.h>

void stats_bytes(const session_env_t *env, uint64_t *in, uint64_t *out)
{
    clients_bytes(&env->clients, in, out);
    *in += edge_bytes_total(&env->edge);
    *out += forward_bytes_total(&env->fwd);
}

void stats_sample(stats_t *st, int64_t now)
{
    session_env_t *env = st->env;
    uint64_t in, out;
    stats_bytes(env, &in, &out);
    rill_rate_sample(&st->rate, now, in, out);
    for (source_t *s = env->hub.sources; s; s = s->next) rill_rate_sample(&s->rate, now, s->bytes_in, s->bytes_out);
    for (client_t *c = env->clients.list; c; c = c->next)
        rill_rate_sample(&c->rate, now, c->in_bytes ? *c->in_bytes : 0, c->out_bytes ? *c->out_bytes : 0);
    rill_proc_t p;
    if (rill_proc_self(&p) == 0) {
        if (st->cpu_ms && now > st->cpu_ms) st->cpu_percent = (p.cpu_seconds - st->cpu_s) * 100000.0 / (double)(now - st->cpu_ms);
        st->cpu_ms = now;
        st->cpu_s = p.cpu_seconds;
    }
}

static void stats_main(void *arg)
{
    stats_t *st = arg;
    rill_log_set_cid(rill_log_new_cid());
    while (!st->task.stop) {
        st_usleep((st_utime_t)STATS_INTERVAL_MS * 1000);        /* the stop interrupt cuts this short */
        if (!st->task.stop) stats_sample(st, rill_now_ms());
    }
}

int stats_start(stats_t *st, session_env_t *env)
{
    memset(st, 0, sizeof *st);
    st->env = env;
    int64_t now = rill_now_ms();
    rill_rate_init(&st->rate, now);
    rill_proc_t p;
    if (rill_proc_self(&p) == 0) {
        st->cpu_ms = now;
        st->cpu_s = p.cpu_seconds;
    }
    return task_start(&st->task, stats_main, st, NULL);
}

void stats_stop(stats_t *st)
{
    task_stop(&st->task);
}
