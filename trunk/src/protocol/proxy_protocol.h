/* The PROXY protocol header (v1 text and v2 binary) that a balancer such as
 * HAProxy (`send-proxy`, `send-proxy-v2`) puts before a client's bytes, so
 * the server sees the real client address. Pure memory code. */
#ifndef PROXY_PROTOCOL_H
#define PROXY_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PROXY_V1_MAX 107        /* the longest v1 line, CRLF included */
#define PROXY_V2_MAX (16 + 536) /* fixed header + the largest address block rill reads */

typedef struct proxy_info {
    int version;                /* 1 or 2 */
    int local;                  /* v1 UNKNOWN / v2 LOCAL: no address (health checks) */
    char src_ip[64];
    int src_port;
    char dst_ip[64];
    int dst_port;
} proxy_info_t;

/* Parse a header at the start of p[0..n). Returns its length (> 0) when
 * complete, 0 when more bytes are needed, RILL_ERR_INVAL when the bytes are
 * not a valid PROXY header (the connection must be refused). */
int proxy_parse(const uint8_t *p, size_t n, proxy_info_t *out);

#ifdef __cplusplus
}
#endif
#endif
