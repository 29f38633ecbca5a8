/* RTMP handshake over memory: simple (echo) and complex (HMAC-SHA256
 * digest, schema 0 and 1) as Flash, ffmpeg and OBS speak it.
 *
 * A 1536-byte C1/S1 is time(4) + version(4) + two 764-byte blocks. Schema 0
 * puts the key block first (digest block at 8 + 764 = 772), schema 1 the
 * digest block first (at 8). Inside the digest block the first 4 bytes give
 * the digest position: sum(bytes) % 728 + block + 4. */
#include "rtmp_handshake.h"
#include "rill_bytes.h"
#include "rill_error.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <string.h>
#include <time.h>

#define DIGEST_LEN    32
#define FP_KEY_PART   30   /* "Genuine Adobe Flash Player 001" */
#define FMS_KEY_PART  36   /* "Genuine Adobe Flash Media Server 001" */
#define FP_KEY_FULL   (FP_KEY_PART + 32)
#define FMS_KEY_FULL  (FMS_KEY_PART + 32)
#define SIGNED_LEN    (RTMP_HS_SIZE - DIGEST_LEN)   /* C2/S2 signed prefix */

/* Version fields announced in complex C1/S1; any non-zero value selects the
 * digest handshake on the peer (ffmpeg checks S1 only when it is non-zero). */
#define CLIENT_VERSION 0x80000702u
#define SERVER_VERSION 0x04050001u

/* The 32 bytes both well-known keys end with. */
static const uint8_t key_tail[32] = {
    0xF0, 0xEE, 0xC2, 0x4A, 0x80, 0x68, 0xBE, 0xE8, 0x2E, 0x00, 0xD0, 0xD1,
    0x02, 0x9E, 0x7E, 0x57, 0x6E, 0xEC, 0x5D, 0x2D, 0x29, 0x80, 0x6F, 0xAB,
    0x93, 0xB8, 0xE6, 0x36, 0xCF, 0xEB, 0x31, 0xAE,
};

/* Full key: text + key_tail. Callers pass the length they need (partial
 * keys are just a prefix). */
static void fp_key(uint8_t out[FP_KEY_FULL])
{
    memcpy(out, "Genuine Adobe Flash Player 001", FP_KEY_PART);
    memcpy(out + FP_KEY_PART, key_tail, 32);
}

static void fms_key(uint8_t out[FMS_KEY_FULL])
{
    memcpy(out, "Genuine Adobe Flash Media Server 001", FMS_KEY_PART);
    memcpy(out + FMS_KEY_PART, key_tail, 32);
}

static void hmac256(const uint8_t *key, size_t klen, const uint8_t *data, size_t n,
                    uint8_t out[DIGEST_LEN])
{
    unsigned int olen = DIGEST_LEN;
    HMAC(EVP_sha256(), key, (int)klen, data, n, out, &olen);
}

static void fill_random(uint8_t *p, size_t n)
{
    if (RAND_bytes(p, (int)n) == 1) return;
    /* The handshake bytes need not be secret; a PRNG is fine if OpenSSL's
     * generator is unavailable. */
    static uint32_t x = 2463534242u;
    x ^= (uint32_t)time(NULL);
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13; x ^= x >> 17; x ^= x << 5;
        p[i] = (uint8_t)x;
    }
}

static int digest_offset(const uint8_t *hs, int schema)
{
    int block = schema == 0 ? 8 + 764 : 8;
    int sum = hs[block] + hs[block + 1] + hs[block + 2] + hs[block + 3];
    return sum % 728 + block + 4;
}

/* HMAC over the 1536 bytes with the 32 digest bytes at 'off' left out. */
static void hs_digest(const uint8_t *hs, int off, const uint8_t *key, size_t klen,
                      uint8_t out[DIGEST_LEN])
{
    uint8_t buf[SIGNED_LEN];
    memcpy(buf, hs, off);
    memcpy(buf + off, hs + off + DIGEST_LEN, RTMP_HS_SIZE - off - DIGEST_LEN);
    hmac256(key, klen, buf, sizeof buf, out);
}

int rtmp_handshake_find_digest(const uint8_t *hs, int server_key, int *offset)
{
    uint8_t key[FMS_KEY_FULL];
    size_t klen;
    if (server_key) { fms_key(key); klen = FMS_KEY_PART; }
    else            { fp_key(key);  klen = FP_KEY_PART; }

    static const int order[2] = { 1, 0 };   /* ffmpeg and OBS send schema 1 */
    for (int i = 0; i < 2; i++) {
        int off = digest_offset(hs, order[i]);
        uint8_t d[DIGEST_LEN];
        hs_digest(hs, off, key, klen, d);
        if (CRYPTO_memcmp(d, hs + off, DIGEST_LEN) == 0) {
            if (offset) *offset = off;
            return order[i];
        }
    }
    return -1;
}

/* Write a valid digest into a C1/S1 whose other bytes are already set. */
static void sign_hs(uint8_t *hs, int schema, int server_key)
{
    uint8_t key[FMS_KEY_FULL];
    size_t klen;
    if (server_key) { fms_key(key); klen = FMS_KEY_PART; }
    else            { fp_key(key);  klen = FP_KEY_PART; }
    int off = digest_offset(hs, schema);
    hs_digest(hs, off, key, klen, hs + off);
}

/* C2/S2 of the complex form: random 1504 bytes signed with a key derived
 * from the peer's C1/S1 digest and our own full key. */
static void build_answer(uint8_t *out, const uint8_t *peer_digest, int server_key)
{
    uint8_t key[FMS_KEY_FULL], k2[DIGEST_LEN];
    size_t klen;
    if (server_key) { fms_key(key); klen = FMS_KEY_FULL; }
    else            { fp_key(key);  klen = FP_KEY_FULL; }
    hmac256(key, klen, peer_digest, DIGEST_LEN, k2);
    fill_random(out, SIGNED_LEN);
    hmac256(k2, DIGEST_LEN, out, SIGNED_LEN, out + SIGNED_LEN);
}

/* Does a C2/S2 carry the signature expected for our own C1/S1 digest? */
static int answer_valid(const uint8_t *answer, const uint8_t *our_digest, int server_key)
{
    uint8_t key[FMS_KEY_FULL], k2[DIGEST_LEN], sig[DIGEST_LEN];
    size_t klen;
    if (server_key) { fms_key(key); klen = FMS_KEY_FULL; }
    else            { fp_key(key);  klen = FP_KEY_FULL; }
    hmac256(key, klen, our_digest, DIGEST_LEN, k2);
    hmac256(k2, DIGEST_LEN, answer, SIGNED_LEN, sig);
    return CRYPTO_memcmp(sig, answer + SIGNED_LEN, DIGEST_LEN) == 0;
}

int rtmp_handshake_server(const uint8_t *c0c1, uint8_t *s0s1s2, int *complex)
{
    if (c0c1[0] != RTMP_VERSION) return RILL_ERR_HANDSHAKE;
    const uint8_t *c1 = c0c1 + 1;
    uint8_t *s1 = s0s1s2 + 1, *s2 = s1 + RTMP_HS_SIZE;

    s0s1s2[0] = RTMP_VERSION;
    rill_put_u32be(s1, (uint32_t)time(NULL));
    fill_random(s1 + 8, RTMP_HS_SIZE - 8);

    int coff = 0;
    int schema = rtmp_handshake_find_digest(c1, 0, &coff);
    if (schema < 0) {
        /* Simple handshake: zero version tells the client not to look for
         * a digest in S1; S2 echoes C1. */
        rill_put_u32be(s1 + 4, 0);
        memcpy(s2, c1, RTMP_HS_SIZE);
        if (complex) *complex = 0;
        return RILL_OK;
    }
    /* Answer in the client's schema: Flash only checks that one. */
    rill_put_u32be(s1 + 4, SERVER_VERSION);
    sign_hs(s1, schema, 1);
    build_answer(s2, c1 + coff, 1);
    if (complex) *complex = 1;
    return RILL_OK;
}

int rtmp_handshake_client_c0c1_schema(uint8_t *c0c1, int schema)
{
    if (schema != 0 && schema != 1) return RILL_ERR_INVAL;
    uint8_t *c1 = c0c1 + 1;
    c0c1[0] = RTMP_VERSION;
    rill_put_u32be(c1, (uint32_t)time(NULL));
    rill_put_u32be(c1 + 4, CLIENT_VERSION);
    fill_random(c1 + 8, RTMP_HS_SIZE - 8);
    sign_hs(c1, schema, 0);
    return RILL_OK;
}

int rtmp_handshake_client_c0c1(uint8_t *c0c1, int complex)
{
    if (complex) return rtmp_handshake_client_c0c1_schema(c0c1, 1);
    uint8_t *c1 = c0c1 + 1;
    c0c1[0] = RTMP_VERSION;
    rill_put_u32be(c1, (uint32_t)time(NULL));
    rill_put_u32be(c1 + 4, 0);
    fill_random(c1 + 8, RTMP_HS_SIZE - 8);
    return RILL_OK;
}

int rtmp_handshake_client_c2(const uint8_t *c0c1, const uint8_t *s0s1s2, uint8_t *c2)
{
    if (s0s1s2[0] != RTMP_VERSION) return RILL_ERR_HANDSHAKE;
    const uint8_t *c1 = c0c1 + 1;
    const uint8_t *s1 = s0s1s2 + 1, *s2 = s1 + RTMP_HS_SIZE;

    int coff = 0, soff = 0;
    if (rtmp_handshake_find_digest(c1, 0, &coff) < 0 ||
        rtmp_handshake_find_digest(s1, 1, &soff) < 0) {
        /* Either side spoke the simple form: echo S1. */
        memcpy(c2, s1, RTMP_HS_SIZE);
        return RILL_OK;
    }
    /* A server that proves the digest must also sign S2 for our C1,
     * as ffmpeg requires. */
    if (!answer_valid(s2, c1 + coff, 1)) return RILL_ERR_HANDSHAKE;
    build_answer(c2, s1 + soff, 0);
    return RILL_OK;
}

int rtmp_handshake_server_check_c2(const uint8_t *s0s1s2, const uint8_t *c2)
{
    int soff = 0;
    if (rtmp_handshake_find_digest(s0s1s2 + 1, 1, &soff) < 0) return 0;
    return answer_valid(c2, s0s1s2 + 1 + soff, 0);
}
