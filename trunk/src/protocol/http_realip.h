/* The client's own address behind an HTTP proxy (nginx's realip module):
 * a request from a trusted address (set_real_ip_from) names its client in
 * a header (real_ip_header: X-Real-IP, X-Forwarded-For or another), and
 * that address stands for the socket's. A request from any other address
 * keeps its socket address whatever it sends. Pure memory code. */
#ifndef HTTP_REALIP_H
#define HTTP_REALIP_H

#include <stdint.h>
#include "http_request.h"

#ifdef __cplusplus
extern "C" {
#endif

#define REALIP_DEFAULT_HEADER "X-Real-IP"
#define REALIP_MAX_ADDR       64      /* an address token longer than this is bad */
#define REALIP_IP_LEN         46      /* INET6_ADDRSTRLEN */

/* An address and a prefix length: "ADDR" (a host) or "ADDR/BITS". */
typedef struct realip_cidr {
    int family;                 /* AF_INET or AF_INET6 */
    uint8_t addr[16];           /* host bits cleared */
    int bits;
} realip_cidr_t;

/* What http_server { } says (config.h holds it). */
typedef struct realip_conf {
    realip_cidr_t *from;        /* set_real_ip_from, none by default: nothing is trusted */
    int nfrom;
    char header[64];            /* real_ip_header, default X-Real-IP */
    int recursive;              /* real_ip_recursive, default off */
} realip_conf_t;

/* Parse "ADDR" or "ADDR/BITS" (IPv4 or IPv6). 0; -1 when it is not one;
 * 1 when it is but had host bits set (they are cleared: worth a warning). */
int realip_cidr_parse(const char *s, realip_cidr_t *out);

/* Whether ip (IPv4 or IPv6 text; an IPv4-mapped IPv6 address counts as its
 * IPv4 one) is in one of the trusted ranges. */
int realip_trusted(const realip_conf_t *rc, const char *ip);

typedef struct realip_addr {
    char ip[REALIP_IP_LEN];     /* normalized: dotted quad, or inet_ntop's IPv6 form */
    int port;                   /* 0 when the header gave none */
} realip_addr_t;

enum realip_result {
    REALIP_SOCKET = 0,          /* keep the socket address: peer not trusted, or no such header */
    REALIP_HEADER = 1,          /* *out is the client */
    REALIP_BAD = -1,            /* a trusted peer sent a bad header: keep the socket address, *why says why */
};

/* The client of request m that arrived from sock_ip. With the header
 * X-Forwarded-For (every line of it, in order, as one list) the rightmost
 * address is the client; with recursive on, addresses are skipped from the
 * right while they are trusted (the client is the last untrusted one, or
 * the leftmost when all are), and a bad address met while skipping ends the
 * walk at the last good one. Any other header holds exactly one address
 * (and must appear once). An address is IPv4 or IPv6, optionally with a
 * port ("1.2.3.4:5678", "[::1]:5678", "[::1]"). */
int realip_resolve(const realip_conf_t *rc, const http_message_t *m, const char *sock_ip, realip_addr_t *out,
                   const char **why);

#ifdef __cplusplus
}
#endif
#endif
