/* Monotonic clock in milliseconds and microseconds. */
#ifndef RILL_TIME_H
#define RILL_TIME_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

int64_t rill_now_ms(void);
int64_t rill_now_us(void);

#ifdef __cplusplus
}
#endif
#endif
