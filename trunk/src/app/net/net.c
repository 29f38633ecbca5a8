#include "net.h"
#include "rill_error.h"
#include "rill_log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* An IPv4 address and port; EINVAL when ip is not a numeric address. */
static int ipv4_addr(const char *ip, int port, struct sockaddr_in *sa)
{
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, ip, &sa->sin_addr) == 1) return 0;
    errno = EINVAL;
    return -1;
}

st_netfd_t net_listen_tcp(const char *ip, int port, int backlog)
{
    struct sockaddr_in sa;
    if (ipv4_addr(ip, port, &sa) != 0) return NULL;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return NULL;
    int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, backlog) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return NULL;
    }
    st_netfd_t nfd = st_netfd_open_socket(fd);
    if (!nfd) close(fd);
    return nfd;
}

st_netfd_t net_accept(st_netfd_t lfd, const int *stop, const char *what)
{
    while (!*stop) {
        st_netfd_t cfd = st_accept(lfd, NULL, NULL, ST_UTIME_NO_TIMEOUT);
        if (cfd) return cfd;
        if (errno == EINTR && *stop) break;
        if (errno == EMFILE || errno == ENFILE) {
            rill_warn("%s: %s, pausing", what, strerror(errno));
            st_usleep(100 * 1000);
        }
    }
    return NULL;
}

void net_refuse(st_netfd_t fd, const char *who, const char *why)
{
    char peer[64];
    net_peer_name(st_netfd_fileno(fd), peer, sizeof peer);
    rill_warn("%s %s: %s", who, peer, why);
    st_netfd_close(fd);
}

void net_peer_addr(int fd, char *ip, size_t len, int *port)
{
    struct sockaddr_in sa;
    socklen_t sl = sizeof sa;
    snprintf(ip, len, "unknown");
    *port = 0;
    if (getpeername(fd, (struct sockaddr *)&sa, &sl) == 0 && sa.sin_family == AF_INET) {
        inet_ntop(AF_INET, &sa.sin_addr, ip, (socklen_t)len);
        *port = ntohs(sa.sin_port);
    }
}

void net_peer_name(int fd, char *out, size_t len)
{
    char ip[INET_ADDRSTRLEN];
    int port;
    net_peer_addr(fd, ip, sizeof ip, &port);
    if (port) snprintf(out, len, "%s:%d", ip, port);
    else snprintf(out, len, "unknown");
}

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

st_netfd_t net_connect_tcp_from(const char *ip, int port, const char *src_ip, st_utime_t timeout)
{
    struct sockaddr_in sa, src;
    if (ipv4_addr(ip, port, &sa) != 0) return NULL;
    if (src_ip && ipv4_addr(src_ip, 0, &src) != 0) return NULL;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return NULL;
    if (src_ip) {
        /* the port is picked at connect time, so each source address has a
         * full port range per destination */
        int on = 1;
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &on, sizeof on);
        if (bind(fd, (struct sockaddr *)&src, sizeof src) < 0) {
            int e = errno;
            close(fd);
            errno = e;
            return NULL;
        }
    }
    st_netfd_t nfd = st_netfd_open_socket(fd);
    if (!nfd) {
        close(fd);
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

st_netfd_t net_connect_tcp(const char *ip, int port, st_utime_t timeout)
{
    return net_connect_tcp_from(ip, port, NULL, timeout);
}

void net_set_sndbuf(int fd, int bytes)
{
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes);
}

void net_set_rcvbuf(int fd, int bytes)
{
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
}

void net_set_nodelay(int fd, int on)
{
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
}

int net_peer_gone(int fd)
{
    char b;
    ssize_t r = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    return r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

int net_st_error(void)
{
    switch (errno) {
    case ETIME: return RILL_ERR_TIMEOUT;
    case EINTR: return RILL_ERR_INTERRUPTED;
    case 0:
    case EPIPE:
    case ECONNRESET: return RILL_ERR_EOF;
    default: return RILL_ERR_IO;
    }
}
