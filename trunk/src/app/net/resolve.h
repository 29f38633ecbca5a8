/* Host names to IPv4 addresses without blocking the scheduler: c-ares,
 * driven by waiting on its sockets with st_poll, every lookup bounded by a
 * timeout. getaddrinfo() would stop every coroutine until it returns.
 *
 * Each lookup has a c-ares channel of its own (no state shared between
 * coroutines). A name is looked up at every connect attempt, unless an
 * answer for it is still valid: as nginx does, an answer is kept for its
 * TTL, or for `resolver ... valid=TIME` when set; a DNS change moves the
 * next connection once that has run out (at once with TTL 0, which /etc/hosts
 * answers and dnsmasq's hosts files have). Failures are not kept. /etc/hosts
 * is read first, then the DNS servers: the configured ones (`resolver`),
 * else /etc/resolv.conf's. */
#ifndef RESOLVE_H
#define RESOLVE_H

#include <st.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RESOLVE_MAX 8          /* addresses kept from one answer */
#define RESOLVE_TIMEOUT_MS 2000 /* resolver_timeout's default */
#define RESOLVE_VALID_TTL (-1)  /* valid='s default: keep an answer for its TTL */

typedef struct resolve_addrs {
    int n;
    char ip[RESOLVE_MAX][16];  /* dotted IPv4 */
    char why[96];                   /* on failure: c-ares' reason, for logs */
} resolve_addrs_t;

/* The servers ("ip[:port],ip[:port]"; NULL or "" for /etc/resolv.conf's),
 * the longest a lookup may take (ms, > 0) and how long an answer is kept
 * (ms >= 0, or RESOLVE_VALID_TTL). Set at load and at each reload (other
 * servers or another valid forget the answers kept); a lookup in progress
 * keeps the settings it started with. */
int resolve_configure(const char *servers, int timeout_ms, int valid_ms);
/* Forget every answer kept. */
void resolve_forget(void);

/* host -> its IPv4 addresses, in the order of the answer. A numeric
 * address is returned as it is, without a lookup. Waits at most the
 * configured timeout and at most `timeout` (us). 0, or RILL_ERR_RESOLVE
 * (no such name, no address, the servers failed: out->why says which),
 * RILL_ERR_TIMEOUT, RILL_ERR_INTERRUPTED (st_thread_interrupt), RILL_ERR_NOMEM. */
int resolve_host(const char *host, st_utime_t timeout, resolve_addrs_t *out);

#ifdef __cplusplus
}
#endif
#endif
