/* rill-floor: the cost no streaming server can beat. It accepts TCP
 * connections and, every interval, writes the same batch of bytes to each
 * of them with one writev (the batch split into iovecs of at most 64 KiB,
 * as a server's shared buffers would be). No parsing, no queues, no
 * per-connection state beyond the fd: a live server delivering the same
 * bytes per second with the same write size can only cost more.
 *
 *   rill-floor -l IP:PORT [-n MAX] [-b BATCH_BYTES] [-i INTERVAL_MS] [-s SNDBUF] [-d SECONDS]
 *
 * Defaults: 4096 bytes every 32 ms (1 Mbit/s), SO_SNDBUF 65536 (rill's
 * send_buffer), no connection limit but the fd limit, runs until SIGTERM or
 * -d. A connection whose socket buffer is full gets the part that fits and
 * is counted as short; the rest of that batch is dropped for it (the
 * receiver only counts bytes). On exit it prints one line of totals. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define IOV_BYTES (64 * 1024)
#define MAX_IOV   64

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

typedef struct floor_opts {
    char ip[16];
    int port;
    int max;
    size_t batch;
    int interval_ms;
    int sndbuf;
    double seconds;
} floor_opts_t;

static int usage(void)
{
    fprintf(stderr, "usage: rill-floor -l IP:PORT [-n MAX] [-b BATCH_BYTES] [-i INTERVAL_MS] [-s SNDBUF] [-d SECONDS]\n");
    return 2;
}

static int parse(int argc, char **argv, floor_opts_t *o)
{
    memset(o, 0, sizeof *o);
    o->max = 1000000;
    o->batch = 4096;
    o->interval_ms = 32;
    o->sndbuf = 65536;
    int opt;
    while ((opt = getopt(argc, argv, "l:n:b:i:s:d:")) != -1) {
        switch (opt) {
        case 'l': {
            const char *c = strrchr(optarg, ':');
            if (!c || (size_t)(c - optarg) >= sizeof o->ip) return -1;
            memcpy(o->ip, optarg, (size_t)(c - optarg));
            o->port = atoi(c + 1);
            break;
        }
        case 'n': o->max = atoi(optarg); break;
        case 'b': o->batch = (size_t)atol(optarg); break;
        case 'i': o->interval_ms = atoi(optarg); break;
        case 's': o->sndbuf = atoi(optarg); break;
        case 'd': o->seconds = atof(optarg); break;
        default: return -1;
        }
    }
    struct in_addr a;
    if (!o->ip[0] || inet_pton(AF_INET, o->ip, &a) != 1 || o->port < 1 || o->port > 65535 || o->max < 1 ||
        o->batch < 1 || o->batch > IOV_BYTES * MAX_IOV || o->interval_ms < 1 || o->sndbuf < 0 || o->seconds < 0)
        return -1;
    return 0;
}

static int listen_on(const floor_opts_t *o)
{
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)o->port);
    inet_pton(AF_INET, o->ip, &sa.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 4096) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

typedef struct floor_state {
    int *fds;
    int n, cap;
    uint64_t bytes, writes, short_writes, accepted, closed;
} floor_state_t;

static void add_conn(floor_state_t *st, int ep, int fd, const floor_opts_t *o)
{
    if (st->n >= o->max) {
        close(fd);
        return;
    }
    if (st->n == st->cap) {
        int cap = st->cap ? st->cap * 2 : 1024;
        int *nf = realloc(st->fds, (size_t)cap * sizeof *nf);
        if (!nf) {
            close(fd);
            return;
        }
        st->fds = nf;
        st->cap = cap;
    }
    if (o->sndbuf) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &o->sndbuf, sizeof o->sndbuf);
    struct epoll_event ev = { .events = EPOLLRDHUP | EPOLLIN, .data.fd = fd };
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    st->fds[st->n++] = fd;
    st->accepted++;
}

static void drop_conn(floor_state_t *st, int ep, int fd)
{
    for (int i = 0; i < st->n; i++) {
        if (st->fds[i] != fd) continue;
        st->fds[i] = st->fds[--st->n];
        epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
        close(fd);
        st->closed++;
        return;
    }
}

static void write_batch(floor_state_t *st, int ep, const struct iovec *iov, int niov, size_t batch)
{
    for (int i = 0; i < st->n; i++) {
        ssize_t w = writev(st->fds[i], iov, niov);
        st->writes++;
        if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
            drop_conn(st, ep, st->fds[i]);
            i--;
            continue;
        }
        if (w > 0) st->bytes += (uint64_t)w;
        if (w < (ssize_t)batch) st->short_writes++;
    }
}

static void on_events(floor_state_t *st, int ep, int lfd, const floor_opts_t *o, struct epoll_event *evs, int n)
{
    for (int i = 0; i < n; i++) {
        int fd = evs[i].data.fd;
        if (fd == lfd) {
            int c;
            while ((c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) add_conn(st, ep, c, o);
            continue;
        }
        /* the sink never sends: readable means closed (or junk, which ends it too) */
        drop_conn(st, ep, fd);
    }
}

int main(int argc, char **argv)
{
    floor_opts_t o;
    if (parse(argc, argv, &o) != 0) return usage();
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    signal(SIGPIPE, SIG_IGN);
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);

    uint8_t *buf = malloc(o.batch);
    int lfd = listen_on(&o);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (!buf || lfd < 0 || ep < 0) {
        fprintf(stderr, "rill-floor: cannot listen on %s:%d: %s\n", o.ip, o.port, strerror(errno));
        free(buf);
        if (lfd >= 0) close(lfd);
        if (ep >= 0) close(ep);
        return 1;
    }
    for (size_t i = 0; i < o.batch; i++) buf[i] = (uint8_t)i;
    struct iovec iov[MAX_IOV];
    int niov = 0;
    for (size_t off = 0; off < o.batch; off += IOV_BYTES) {
        iov[niov].iov_base = buf + off;
        iov[niov].iov_len = o.batch - off < IOV_BYTES ? o.batch - off : IOV_BYTES;
        niov++;
    }
    struct epoll_event ev = { .events = EPOLLIN, .data.fd = lfd };
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    fprintf(stderr, "rill-floor: listening on %s:%d, %zu bytes every %d ms (%.0f kbit/s per connection)\n", o.ip,
            o.port, o.batch, o.interval_ms, (double)o.batch * 8 / o.interval_ms);

    floor_state_t st;
    memset(&st, 0, sizeof st);
    int64_t start = now_us(), next = start + o.interval_ms * 1000LL;
    int64_t end = o.seconds > 0 ? start + (int64_t)(o.seconds * 1e6) : 0;
    struct epoll_event evs[256];
    while (!g_stop) {
        int64_t now = now_us();
        if (end && now >= end) break;
        if (now >= next) {
            write_batch(&st, ep, iov, niov, o.batch);
            next += o.interval_ms * 1000LL;
            if (next < now) next = now + o.interval_ms * 1000LL;    /* fell behind: do not burst */
            continue;
        }
        int n = epoll_wait(ep, evs, 256, (int)((next - now + 999) / 1000));
        if (n > 0) on_events(&st, ep, lfd, &o, evs, n);
    }
    double secs = (double)(now_us() - start) / 1e6;
    printf("{\"connections\":%d,\"accepted\":%llu,\"closed\":%llu,\"writes\":%llu,\"short_writes\":%llu,"
           "\"bytes\":%llu,\"seconds\":%.2f}\n",
           st.n, (unsigned long long)st.accepted, (unsigned long long)st.closed, (unsigned long long)st.writes,
           (unsigned long long)st.short_writes, (unsigned long long)st.bytes, secs);
    for (int i = 0; i < st.n; i++) close(st.fds[i]);
    free(st.fds);
    free(buf);
    close(ep);
    close(lfd);
    return 0;
}
