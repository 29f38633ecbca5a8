/* Outgoing connections for rill-bench, spread over source addresses
 * (--src-ips) so one process can open more connections to one server than
 * one source address has ephemeral ports. */
#ifndef BENCH_NET_H
#define BENCH_NET_H

#include <st.h>
#include "bench_opts.h"

/* Once, after st_init. */
int bench_net_init(void);
/* The source range the calling coroutine's connections use (NULL or an
 * empty range: the kernel picks). The range must outlive the coroutine. */
void bench_net_use(const bench_src_ips_t *src);
/* Connect to ip:port within timeout (us). NULL and errno on failure. */
st_netfd_t bench_connect(const char *ip, int port, st_utime_t timeout);

#endif
