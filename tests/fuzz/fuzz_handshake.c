/* RTMP handshake, both sides. Input: C0C1 (1537) then S0S1S2 (3073) then C2
 * (1536), zero-padded when short. The server answers the C0C1 and checks the
 * C2 against the given S0S1S2; the client checks the S0S1S2 against the C0C1
 * (so a seed from a real complex exchange reaches the signed-answer paths). */
#include "fuzz_util.h"
#include "rill_error.h"
#include "rtmp_handshake.h"

#define C0C1_OFF 0
#define S012_OFF RTMP_HS_C0C1_SIZE
#define C2_OFF   (RTMP_HS_C0C1_SIZE + RTMP_HS_S0S1S2_SIZE)
#define ALL      (C2_OFF + RTMP_HS_SIZE)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *in = calloc(1, ALL);   /* heap: ASan sees any overrun */
    uint8_t *out = malloc(RTMP_HS_S0S1S2_SIZE);
    uint8_t *c2 = malloc(RTMP_HS_SIZE);
    if (!in || !out || !c2) abort();
    memcpy(in, data, size < ALL ? size : ALL);

    /* Server side. */
    int complex = -1;
    int rc = rtmp_handshake_server(in + C0C1_OFF, out, &complex);
    if (rc == 0) {
        FUZZ_CHECK(complex == 0 || complex == 1);
        FUZZ_CHECK(out[0] == RTMP_VERSION);
        if (!complex) FUZZ_CHECK(memcmp(out + 1 + RTMP_HS_SIZE, in + 1, RTMP_HS_SIZE) == 0);
        /* Our own S1 must carry a digest the client can find. */
        if (complex) FUZZ_CHECK(rtmp_handshake_find_digest(out + 1, 1, NULL) >= 0);
    } else {
        FUZZ_CHECK(rc == RILL_ERR_HANDSHAKE && in[0] != RTMP_VERSION);
    }
    int off = -1;
    int schema = rtmp_handshake_find_digest(in + 1, 0, &off);
    FUZZ_CHECK(schema == -1 || ((schema == 0 || schema == 1) && off >= 8 && off + 32 <= RTMP_HS_SIZE));
    rtmp_handshake_server_check_c2(in + S012_OFF, in + C2_OFF);

    /* Client side. */
    rc = rtmp_handshake_client_c2(in + C0C1_OFF, in + S012_OFF, c2);
    FUZZ_CHECK(rc == 0 || rc == RILL_ERR_HANDSHAKE);

    free(in);
    free(out);
    free(c2);
    return 0;
}
