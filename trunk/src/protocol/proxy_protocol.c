#include "proxy_protocol.h"
#include "rill_bytes.h"
#include "rill_error.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t V2_SIG[12] = { 0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A };

/* A port in decimal, 0..65535, no sign or leading garbage. */
static int parse_port(const char *s, int *out)
{
    if (!*s || strlen(s) > 5) return -1;
    for (const char *c = s; *c; c++)
        if (*c < '0' || *c > '9') return -1;
    long v = strtol(s, NULL, 10);
    if (v > 65535) return -1;
    *out = (int)v;
    return 0;
}

static int parse_v1(const uint8_t *p, size_t n, proxy_info_t *out)
{
    size_t lim = n < PROXY_V1_MAX ? n : PROXY_V1_MAX;
    const uint8_t *cr = memchr(p, '\r', lim);
    if (!cr) return n >= PROXY_V1_MAX ? RILL_ERR_INVAL : 0;
    size_t len = (size_t)(cr - p);
    if (len + 1 >= n) return 0;                 /* the LF has not arrived */
    if (cr[1] != '\n') return RILL_ERR_INVAL;
    char line[PROXY_V1_MAX + 1];
    memcpy(line, p, len);
    line[len] = 0;
    if (memchr(line, 0, len)) return RILL_ERR_INVAL;
    out->version = 1;
    char *save = NULL;
    char *tok[7];
    int nt = 0;
    for (char *t = strtok_r(line, " ", &save); t && nt < 7; t = strtok_r(NULL, " ", &save)) tok[nt++] = t;
    if (nt < 2 || strcmp(tok[0], "PROXY") != 0) return RILL_ERR_INVAL;
    if (strcmp(tok[1], "UNKNOWN") == 0) {
        out->local = 1;
        return (int)len + 2;
    }
    int af = !strcmp(tok[1], "TCP4") ? AF_INET : !strcmp(tok[1], "TCP6") ? AF_INET6 : -1;
    if (af < 0 || nt != 6) return RILL_ERR_INVAL;
    unsigned char buf[16];
    if (inet_pton(af, tok[2], buf) != 1 || inet_pton(af, tok[3], buf) != 1) return RILL_ERR_INVAL;
    if (parse_port(tok[4], &out->src_port) || parse_port(tok[5], &out->dst_port)) return RILL_ERR_INVAL;
    snprintf(out->src_ip, sizeof out->src_ip, "%s", tok[2]);
    snprintf(out->dst_ip, sizeof out->dst_ip, "%s", tok[3]);
    return (int)len + 2;
}

/* v2 addresses: source, destination (alen bytes each), then both ports. */
static void v2_addrs(int family, const uint8_t *a, size_t alen, proxy_info_t *out)
{
    inet_ntop(family, a, out->src_ip, sizeof out->src_ip);
    inet_ntop(family, a + alen, out->dst_ip, sizeof out->dst_ip);
    out->src_port = rill_get_u16be(a + 2 * alen);
    out->dst_port = rill_get_u16be(a + 2 * alen + 2);
}

static int parse_v2(const uint8_t *p, size_t n, proxy_info_t *out)
{
    if (n < 16) return 0;
    uint8_t ver_cmd = p[12], fam = p[13];
    uint16_t len = rill_get_u16be(p + 14);
    if ((ver_cmd >> 4) != 2) return RILL_ERR_INVAL;
    if (16u + len > PROXY_V2_MAX) return RILL_ERR_INVAL;
    if (n < 16u + len) return 0;
    out->version = 2;
    int cmd = ver_cmd & 0x0F;
    if (cmd == 0) {                             /* LOCAL: the balancer's own connection */
        out->local = 1;
        return 16 + len;
    }
    if (cmd != 1) return RILL_ERR_INVAL;
    const uint8_t *a = p + 16;
    switch (fam) {
    case 0x11:                                  /* TCP over IPv4 */
        if (len < 12) return RILL_ERR_INVAL;
        v2_addrs(AF_INET, a, 4, out);
        break;
    case 0x21:                                  /* TCP over IPv6 */
        if (len < 36) return RILL_ERR_INVAL;
        v2_addrs(AF_INET6, a, 16, out);
        break;
    case 0x00:                                  /* UNSPEC: keep the socket's address */
        out->local = 1;
        break;
    default:
        return RILL_ERR_INVAL;
    }
    return 16 + len;                            /* TLVs after the addresses are skipped */
}

int proxy_parse(const uint8_t *p, size_t n, proxy_info_t *out)
{
    memset(out, 0, sizeof(*out));
    if (n == 0) return 0;
    /* Decide on the bytes there are: any mismatch with both signatures is final. */
    size_t k = n < 12 ? n : 12;
    if (memcmp(p, V2_SIG, k) == 0) return n < 12 ? 0 : parse_v2(p, n, out);
    k = n < 6 ? n : 6;
    if (memcmp(p, "PROXY ", k) == 0) return n < 6 ? 0 : parse_v1(p, n, out);
    return RILL_ERR_INVAL;
}
