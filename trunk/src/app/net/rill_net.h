/* Sockets on state-threads: listen, connect, peer names, socket options,
 * and what a failed st_* call's errno means. */
#ifndef RILL_NET_H
#define RILL_NET_H

#include <st.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Listen on ip:port (ip "0.0.0.0" for all). NULL and errno on failure. */
st_netfd_t rill_listen_tcp(const char *ip, int port, int backlog);
/* The peer's address and port, split. */
void rill_peer_addr(int fd, char *ip, size_t len, int *port);
/* "ip:port" of the peer of a connected fd. */
void rill_peer_name(int fd, char *out, size_t len);
/* Connect to ip:port with a timeout (us). NULL and errno on failure. */
st_netfd_t rill_connect_tcp(const char *ip, int port, st_utime_t timeout);
/* The same from a local source address (NULL: the kernel's choice). */
st_netfd_t rill_connect_tcp_from(const char *ip, int port, const char *src_ip, st_utime_t timeout);
void rill_set_sndbuf(int fd, int bytes);
void rill_set_nodelay(int fd, int on);

/* errno after a failed st_* read, write or connect as a RILL_ERR_* code:
 * TIMEOUT, INTERRUPTED, EOF (reset, broken pipe) or IO. The one mapper. */
int rill_st_error(void);

#ifdef __cplusplus
}
#endif
#endif
