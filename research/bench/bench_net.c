#include "bench_net.h"
#include "rill_net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

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

static int fail_close(int fd)
{
    int e = errno;
    close(fd);
    errno = e;
    return -1;
}

/* Bind fd to the next source address of the calling coroutine's range. The
 * port is picked at connect time (IP_BIND_ADDRESS_NO_PORT), so each source
 * address has a full port range per destination. */
static int bind_source(int fd)
{
    const bench_src_ips_t *src = src_key >= 0 ? st_thread_getspecific(src_key) : NULL;
    if (!src || !src->first) return 0;
    char ip[16];
    bench_src_ip_at(src, next_src++, ip);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    inet_pton(AF_INET, ip, &sa.sin_addr);
    int on = 1;
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &on, sizeof on);
    return bind(fd, (struct sockaddr *)&sa, sizeof sa);
}

st_netfd_t bench_connect(const char *ip, int port, st_utime_t timeout)
{
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, ip, &sa.sin_addr) != 1) {
        errno = EINVAL;
        return NULL;
    }
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return NULL;
    if (bind_source(fd) < 0) {
        fail_close(fd);
        return NULL;
    }
    st_netfd_t nfd = st_netfd_open_socket(fd);
    if (!nfd) {
        fail_close(fd);
        return NULL;
    }
    if (st_connect(nfd, (struct sockaddr *)&sa, sizeof sa, timeout) < 0) {
        int e = errno;
        st_netfd_close(nfd);
        errno = e;
        return NULL;
    }
    return nfd;
}

/* rtmp_client.c connects through rill_connect_tcp(); the bench links with
 * -Wl,--wrap=rill_connect_tcp so those connections get a source address too. */
st_netfd_t __wrap_rill_connect_tcp(const char *ip, int port, st_utime_t timeout);
st_netfd_t __wrap_rill_connect_tcp(const char *ip, int port, st_utime_t timeout)
{
    return bench_connect(ip, port, timeout);
}
