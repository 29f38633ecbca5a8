#include "client.h"
#include "rill_error.h"

#include <stddef.h>

void clients_add(clients_t *r, client_t *c)
{
    rill_rate_init(&c->rate, c->start_ms);
    c->prev = NULL;
    c->next = r->list;
    if (r->list) r->list->prev = c;
    r->list = c;
    r->count++;
}

void clients_remove(clients_t *r, client_t *c)
{
    if (c->prev) c->prev->next = c->next;
    else if (r->list == c) r->list = c->next;
    else return;   /* not registered */
    if (c->next) c->next->prev = c->prev;
    c->prev = c->next = NULL;
    r->count--;
    r->closed_in += c->in_bytes ? *c->in_bytes : 0;
    r->closed_out += c->out_bytes ? *c->out_bytes : 0;
    r->closed++;
    /* A peer closing or a kick is how clients leave; anything else is an error. */
    if (c->err && c->err != RILL_ERR_EOF && c->err != RILL_ERR_INTERRUPTED) r->errors++;
}

void clients_bytes(const clients_t *r, uint64_t *in, uint64_t *out)
{
    uint64_t i = r->closed_in, o = r->closed_out;
    for (const client_t *c = r->list; c; c = c->next) {
        i += c->in_bytes ? *c->in_bytes : 0;
        o += c->out_bytes ? *c->out_bytes : 0;
    }
    *in = i;
    *out = o;
}

client_t *clients_find(const clients_t *r, uint32_t id)
{
    for (client_t *c = r->list; c; c = c->next)
        if (c->id == id) return c;
    return NULL;
}

void client_kick(client_t *c)
{
    c->stop = 1;
    if (c->thread) st_thread_interrupt(c->thread);
}

const char *client_type_name(int type)
{
    switch (type) {
    case CLIENT_PUBLISH: return "publish";
    case CLIENT_PLAY: return "play";
    case CLIENT_FLV: return "flv";
    case CLIENT_HLS: return "hls";
    }
    return "rtmp";
}
