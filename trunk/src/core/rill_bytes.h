/* Bounded big-endian readers and a growable byte writer over memory.
 * Readers never read past the end: a short read sets the error flag and
 * returns 0, so parsers check once at the end instead of after every field. */
#ifndef RILL_BYTES_H
#define RILL_BYTES_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rill_reader {
    const uint8_t *p;
    size_t len;
    size_t pos;
    int err;               /* set when a read ran past the end */
} rill_reader_t;

static inline void rill_reader_init(rill_reader_t *r, const void *p, size_t len)
{ r->p = (const uint8_t *)p; r->len = len; r->pos = 0; r->err = 0; }
static inline size_t rill_reader_left(const rill_reader_t *r) { return r->len - r->pos; }

uint8_t  rill_read_u8(rill_reader_t *r);
uint16_t rill_read_u16be(rill_reader_t *r);
uint32_t rill_read_u24be(rill_reader_t *r);
uint32_t rill_read_u32be(rill_reader_t *r);
uint32_t rill_read_u32le(rill_reader_t *r);
double   rill_read_f64be(rill_reader_t *r);
/* Returns a pointer into the buffer, or NULL (and sets err) when short. */
const uint8_t *rill_read_bytes(rill_reader_t *r, size_t n);
void     rill_read_skip(rill_reader_t *r, size_t n);

/* Growable output buffer. Every append returns 0 or RILL_ERR_NOMEM / RILL_ERR_LIMIT. */
typedef struct rill_writer {
    uint8_t *data;
    size_t len;
    size_t cap;
    size_t max;            /* 0: no limit */
} rill_writer_t;

void rill_writer_init(rill_writer_t *w, size_t max);
void rill_writer_free(rill_writer_t *w);
void rill_writer_reset(rill_writer_t *w);
int  rill_writer_reserve(rill_writer_t *w, size_t extra);
int  rill_write_bytes(rill_writer_t *w, const void *p, size_t n);
int  rill_write_u8(rill_writer_t *w, uint8_t v);
int  rill_write_u16be(rill_writer_t *w, uint16_t v);
int  rill_write_u24be(rill_writer_t *w, uint32_t v);
int  rill_write_u32be(rill_writer_t *w, uint32_t v);
int  rill_write_u32le(rill_writer_t *w, uint32_t v);
int  rill_write_f64be(rill_writer_t *w, double v);

/* Plain stores into fixed memory, for header builders. */
static inline void rill_put_u16be(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = v; }
static inline void rill_put_u24be(uint8_t *p, uint32_t v) { p[0] = v >> 16; p[1] = v >> 8; p[2] = v; }
static inline void rill_put_u32be(uint8_t *p, uint32_t v) { p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v; }
static inline void rill_put_u32le(uint8_t *p, uint32_t v) { p[0] = v; p[1] = v >> 8; p[2] = v >> 16; p[3] = v >> 24; }
static inline uint32_t rill_get_u24be(const uint8_t *p) { return ((uint32_t)p[0] << 16) | ((uint32_t)p[1] << 8) | p[2]; }
static inline uint32_t rill_get_u32be(const uint8_t *p) { return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3]; }
static inline uint16_t rill_get_u16be(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }

#ifdef __cplusplus
}
#endif
#endif
