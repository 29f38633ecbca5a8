#include "rill_bytes.h"
#include "rill_error.h"

#include <stdlib.h>
#include <string.h>

static int need(rill_reader_t *r, size_t n)
{
    if (r->err || r->len - r->pos < n) {
        r->err = 1;
        return 0;
    }
    return 1;
}

uint8_t rill_read_u8(rill_reader_t *r)
{
    if (!need(r, 1)) return 0;
    return r->p[r->pos++];
}

/* An integer of n bytes read by one of the rill_get_* helpers; 0 (and
 * r->err) when fewer than n bytes are left. */
#define READ_GET(get, n)                          \
    do {                                          \
        if (!need(r, n)) return 0;                \
        const uint8_t *p = r->p + r->pos;         \
        r->pos += n;                              \
        return get(p);                            \
    } while (0)

static inline uint32_t get_u32le(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

uint16_t rill_read_u16be(rill_reader_t *r) { READ_GET(rill_get_u16be, 2); }
uint32_t rill_read_u24be(rill_reader_t *r) { READ_GET(rill_get_u24be, 3); }
uint32_t rill_read_u32be(rill_reader_t *r) { READ_GET(rill_get_u32be, 4); }
uint32_t rill_read_u32le(rill_reader_t *r) { READ_GET(get_u32le, 4); }

double rill_read_f64be(rill_reader_t *r)
{
    if (!need(r, 8)) return 0;
    uint64_t bits = 0;
    for (int i = 0; i < 8; i++) bits = (bits << 8) | r->p[r->pos + i];
    r->pos += 8;
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

const uint8_t *rill_read_bytes(rill_reader_t *r, size_t n)
{
    if (!need(r, n)) return NULL;
    const uint8_t *p = r->p + r->pos;
    r->pos += n;
    return p;
}

void rill_read_skip(rill_reader_t *r, size_t n)
{
    if (need(r, n)) r->pos += n;
}

void rill_writer_init(rill_writer_t *w, size_t max)
{
    w->data = NULL;
    w->len = w->cap = 0;
    w->max = max;
}

void rill_writer_free(rill_writer_t *w)
{
    free(w->data);
    w->data = NULL;
    w->len = w->cap = 0;
}

void rill_writer_reset(rill_writer_t *w) { w->len = 0; }

int rill_writer_reserve(rill_writer_t *w, size_t extra)
{
    if (extra > SIZE_MAX / 2 - w->len) return RILL_ERR_LIMIT;
    size_t want = w->len + extra;
    if (w->max && want > w->max) return RILL_ERR_LIMIT;
    if (want <= w->cap) return 0;
    size_t cap = w->cap ? w->cap : 64;
    while (cap < want) cap *= 2;
    if (w->max && cap > w->max) cap = w->max;
    uint8_t *d = realloc(w->data, cap);
    if (!d) return RILL_ERR_NOMEM;
    w->data = d;
    w->cap = cap;
    return 0;
}

int rill_write_bytes(rill_writer_t *w, const void *p, size_t n)
{
    int rc = rill_writer_reserve(w, n);
    if (rc) return rc;
    if (n) memcpy(w->data + w->len, p, n);
    w->len += n;
    return 0;
}

int rill_write_u8(rill_writer_t *w, uint8_t v) { return rill_write_bytes(w, &v, 1); }

/* An integer of n bytes, laid out by one of the rill_put_* helpers. */
#define WRITE_PUT(put, n)                     \
    do {                                      \
        uint8_t b[n];                         \
        put(b, v);                            \
        return rill_write_bytes(w, b, n);     \
    } while (0)

int rill_write_u16be(rill_writer_t *w, uint16_t v) { WRITE_PUT(rill_put_u16be, 2); }
int rill_write_u24be(rill_writer_t *w, uint32_t v) { WRITE_PUT(rill_put_u24be, 3); }
int rill_write_u32be(rill_writer_t *w, uint32_t v) { WRITE_PUT(rill_put_u32be, 4); }
int rill_write_u32le(rill_writer_t *w, uint32_t v) { WRITE_PUT(rill_put_u32le, 4); }

int rill_write_f64be(rill_writer_t *w, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    uint8_t b[8];
    for (int i = 7; i >= 0; i--) { b[i] = (uint8_t)bits; bits >>= 8; }
    return rill_write_bytes(w, b, 8);
}
