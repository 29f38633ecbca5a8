#include "bench_net.h"
#include "net.h"

static int src_key = -1;
static uint64_t next_src;       /* round robin over the range */

int bench_net_init(void)
{
    return st_key_create(&src_key, NULL);
}

void bench_net_use(const bench_src_ips_t *src)
{
    st_thread_setspecific(src_key, (void *)src);
}

/* The calling coroutine's next source address (round robin over its
 * range), or NULL when it has none. */
static const char *next_source(char ip[16])
{
    const bench_src_ips_t *src = src_key >= 0 ? st_thread_getspecific(src_key) : NULL;
    if (!src || !src->first) return NULL;
    bench_src_ip_at(src, next_src++, ip);
    return ip;
}

st_netfd_t bench_connect(const char *ip, int port, st_utime_t timeout)
{
    char src[16];
    return net_connect_tcp_from(ip, port, next_source(src), timeout);
}

/* rtmp_dial.c connects through net_connect_tcp(); the bench links with
 * -Wl,--wrap=net_connect_tcp so those connections get a source address too. */
st_netfd_t __wrap_net_connect_tcp(const char *ip, int port, st_utime_t timeout);
st_netfd_t __wrap_net_connect_tcp(const char *ip, int port, st_utime_t timeout)
{
    return bench_connect(ip, port, timeout);
}
