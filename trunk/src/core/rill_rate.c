#include "rill_rate.h"

#include <string.h>

void rill_rate_init(rill_rate_t *r, int64_t now_ms)
{
    memset(r, 0, sizeof *r);
    rill_rate_sample(r, now_ms, 0, 0);
}

void rill_rate_sample(rill_rate_t *r, int64_t now_ms, uint64_t in, uint64_t out)
{
    r->ms[r->head] = now_ms;
    r->in[r->head] = in;
    r->out[r->head] = out;
    r->head = (r->head + 1) % RILL_RATE_SLOTS;
    if (r->n < RILL_RATE_SLOTS) r->n++;
}

static int64_t kbps(uint64_t now, uint64_t then, int64_t ms)
{
    /* A counter that went backwards (a reset) has no rate. */
    return now >= then ? (int64_t)((now - then) * 8 / (uint64_t)ms) : 0;
}

void rill_rate_kbps(const rill_rate_t *r, int64_t now_ms, uint64_t in, uint64_t out, int64_t window_ms,
                    int64_t *in_kbps, int64_t *out_kbps)
{
    *in_kbps = *out_kbps = 0;
    int pick = -1;
    /* oldest first: from head - n up to head - 1 */
    for (int k = 0; k < r->n; k++) {
        int i = (r->head - r->n + k + RILL_RATE_SLOTS) % RILL_RATE_SLOTS;
        if (now_ms - r->ms[i] <= window_ms) {
            pick = i;
            break;
        }
    }
    if (pick < 0) {
        if (r->n == 0) return;
        pick = (r->head - 1 + RILL_RATE_SLOTS) % RILL_RATE_SLOTS;  /* all older: the newest one */
    }
    int64_t ms = now_ms - r->ms[pick];
    if (ms < 1000) return;
    *in_kbps = kbps(in, r->in[pick], ms);
    *out_kbps = kbps(out, r->out[pick], ms);
}
