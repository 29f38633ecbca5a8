/* Host names to IPv4 addresses without blocking the scheduler: c-ares,
 * driven by waiting on its sockets with st_poll, every lookup bounded by a
 * timeout. getaddrinfo() would stop every coroutine until it returns.
 *
 * Each lookup has a c-ares channel of its own (no state shared between
 * coroutines, nothing cached: a name is looked up at every connect attempt,
 * so a DNS change moves the next connection). /etc/hosts is read first, then
 * the DNS servers: the configured ones (`resolver`), else /etc/resolv.conf's. */
#ifndef RESOLVE_H
#define RESOLVE_H

#include <st.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RESOLVE_MAX 8          /* addresses kept from one answer */
#define RESOLVE_TIMEOUT_MS 2000 /* resolver_timeout's default */

typedef struct resolve_addrs {
    int n;
    char ip[RESOLVE_MAX][16];  /* dotted IPv4 */
    char why[96];                   /* on failure: c-ares' reason, for logs */
} resolve_addrs_t;

/* The servers ("ip[:port],ip[:port]"; NULL or "" for /etc/resolv.conf's)
 * and the longest a lookup may take (ms, > 0). Set at load and at each
 * reload; a lookup in progress keeps the settings it started with. */
int resolve_configure(const char *servers, int timeout_ms);

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
