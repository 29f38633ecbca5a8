/* A message payload held once and shared by reference: the GOP cache and
 * every player queue hold a reference to the same bytes, never a copy.
 * Single-threaded (state-threads), so the count needs no atomics. */
#ifndef RILL_PAYLOAD_H
#define RILL_PAYLOAD_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rill_payload {
    uint32_t refs;
    uint32_t size;         /* bytes used */
    uint32_t cap;          /* bytes allocated in data[] */
    uint8_t data[];
} rill_payload_t;

/* New payload with capacity cap, size 0, one reference. NULL on no memory. */
rill_payload_t *rill_payload_new(size_t cap);
/* New payload holding a copy of p[0..n). */
rill_payload_t *rill_payload_from(const void *p, size_t n);
/* Grow an unshared payload (refs == 1) to at least cap bytes. */
rill_payload_t *rill_payload_grow(rill_payload_t *pl, size_t cap);
static inline rill_payload_t *rill_payload_ref(rill_payload_t *pl) { if (pl) pl->refs++; return pl; }
void rill_payload_unref(rill_payload_t *pl);

#ifdef __cplusplus
}
#endif
#endif
