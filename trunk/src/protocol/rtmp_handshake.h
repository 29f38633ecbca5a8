/* RTMP handshake, both sides, over memory. The complex (digest) handshake
 * with schema 0 and 1 uses HMAC-SHA256 from OpenSSL; a C1 without a valid
 * digest gets the simple handshake (S2 echoes C1). */
#ifndef RTMP_HANDSHAKE_H
#define RTMP_HANDSHAKE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RTMP_HS_SIZE      1536          /* C1, S1, C2, S2 */
#define RTMP_HS_C0C1_SIZE (1 + RTMP_HS_SIZE)
#define RTMP_HS_S0S1S2_SIZE (1 + 2 * RTMP_HS_SIZE)
#define RTMP_VERSION      3

/* Server: from C0C1 build S0S1S2. *complex is set to 1 when C1 carried a
 * valid digest (schema 0 or 1) and the reply is the complex form, 0 for the
 * simple form. RILL_ERR_HANDSHAKE when C0 is not version 3. */
int rtmp_handshake_server(const uint8_t *c0c1, uint8_t *s0s1s2, int *complex);

/* Client: build C0C1; complex selects a digest C1 (schema 1, as ffmpeg). */
int rtmp_handshake_client_c0c1(uint8_t *c0c1, int complex);
/* Client: check S0S1S2 and build C2. When the client sent a complex C1 and
 * S1 carries a valid server digest, C2 is the complex answer; otherwise C2
 * echoes S1. RILL_ERR_HANDSHAKE when S0 is not version 3. */
int rtmp_handshake_client_c2(const uint8_t *c0c1, const uint8_t *s0s1s2, uint8_t *c2);

/* Lower level, for tests and diagnostics. Build a complex C0C1 with the
 * digest in schema 0 (key block first) or 1 (digest block first). */
int rtmp_handshake_client_c0c1_schema(uint8_t *c0c1, int schema);
/* Look for a valid digest in a 1536-byte C1 (server_key 0: Flash Player key)
 * or S1 (server_key 1: FMS key), trying schema 1 then 0. Returns the schema
 * and sets *offset to the digest position, or -1 when neither validates. */
int rtmp_handshake_find_digest(const uint8_t *hs, int server_key, int *offset);
/* Server: 1 when C2 is the complex answer to our S1 (signed from the S1
 * digest), else 0. Clients that did the simple form echo S1 instead, and
 * servers commonly accept any C2, so this is informational. */
int rtmp_handshake_server_check_c2(const uint8_t *s0s1s2, const uint8_t *c2);

#ifdef __cplusplus
}
#endif
#endif
