/* Sockets on state-threads: listen, connect, peer names, socket options,
 * and what a failed st_* call's errno means. */
#ifndef NET_H
#define NET_H

#include <st.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Listen on ip:port (ip "0.0.0.0" for all). NULL and errno on failure. */
st_netfd_t net_listen_tcp(const char *ip, int port, int backlog);
/* The next connection accepted on lfd; NULL once *stop is set (the owner's
 * interrupt). Out of fds (EMFILE, ENFILE) it logs "what: error, pausing",
 * waits 100 ms and tries again, so a full server sheds load and stays up. */
st_netfd_t net_accept(st_netfd_t lfd, const int *stop, const char *what);
/* Close a connection refused at a limit, logging "who PEER: why". */
void net_refuse(st_netfd_t fd, const char *who, const char *why);
/* The peer's address and port, split. */
void net_peer_addr(int fd, char *ip, size_t len, int *port);
/* "ip:port" of the peer of a connected fd. */
void net_peer_name(int fd, char *out, size_t len);
/* Connect to ip:port with a timeout (us). NULL and errno on failure. */
st_netfd_t net_connect_tcp(const char *ip, int port, st_utime_t timeout);
/* The same from a local source address (NULL: the kernel's choice). */
st_netfd_t net_connect_tcp_from(const char *ip, int port, const char *src_ip, st_utime_t timeout);
void net_set_sndbuf(int fd, int bytes);
/* Caps the receive buffer (and ends the kernel's autotuning of it). */
void net_set_rcvbuf(int fd, int bytes);
void net_set_nodelay(int fd, int on);
/* Has the peer closed (or reset) the connection? One recv() that peeks,
 * without waiting: 1 on end of stream or a socket error, 0 while it is open
 * (with or without bytes waiting to be read). */
int net_peer_gone(int fd);

/* errno after a failed st_* read, write or connect as a RILL_ERR_* code:
 * TIMEOUT, INTERRUPTED, EOF (reset, broken pipe) or IO. The one mapper. */
int net_st_error(void);

#ifdef __cplusplus
}
#endif
#endif
